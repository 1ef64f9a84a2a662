"""Migration state, read from the Dagster instance: which days are loaded into InfluxDB.

The one home of "is this day migrated?": the newest ``influxdb/<table>`` materialization of the
day is newer than any rollback observation of it. The CLI's backfill, the demo and the migration
report all ask here.
"""

import os
from collections.abc import Callable
from datetime import date
from pathlib import Path

import dagster as dg

from ons_pipeline.defs.keys import ROLLED_BACK, influxdb_key
from ons_pipeline.lib.migration.loader import LoadReport
from ons_pipeline.lib.ons_time import day_range


def pending_days(tables: list[str], first: date, last: date, home: Path) -> list[date]:
    """Days in [first, last] not yet loaded into InfluxDB for every table."""
    os.environ["DAGSTER_HOME"] = str(home)
    days = day_range(first, last)
    keys = [d.isoformat() for d in days]
    with dg.DagsterInstance.get() as instance:
        done: set[str] | None = None
        for table in tables:
            loaded = loaded_partitions(instance, influxdb_key(table), keys)
            done = loaded if done is None else done & loaded
    done = done or set()
    return [d for d in days if d.isoformat() not in done]


def _latest_by_partition(records: list[dg.EventLogRecord], only_rollbacks: bool) -> dict[str, int]:
    latest: dict[str, int] = {}
    for record in records:
        event = record.asset_materialization or record.asset_observation
        if event is None or event.partition is None:
            continue
        if only_rollbacks and ROLLED_BACK not in event.metadata:
            continue
        latest[event.partition] = max(latest.get(event.partition, -1), record.storage_id)
    return latest


def all_records(
    fetch: Callable[..., dg.EventRecordsResult], records_filter: dg.AssetRecordsFilter
) -> list[dg.EventLogRecord]:
    records: list[dg.EventLogRecord] = []
    cursor = None
    while True:
        page = fetch(records_filter, limit=10_000, cursor=cursor)
        records += page.records
        if not page.has_more:
            return records
        cursor = page.cursor


def loaded_partitions(instance: dg.DagsterInstance, key: dg.AssetKey, days: list[str]) -> set[str]:
    """Days whose latest load is newer than any rollback of that day."""
    records_filter = dg.AssetRecordsFilter(asset_key=key, asset_partitions=days)
    loads = _latest_by_partition(
        all_records(instance.fetch_materializations, records_filter), only_rollbacks=False
    )
    rollbacks = _latest_by_partition(
        all_records(instance.fetch_observations, records_filter), only_rollbacks=True
    )
    return {day for day, storage_id in loads.items() if storage_id > rollbacks.get(day, -1)}


def metadata_totals(
    instance: dg.DagsterInstance, key: dg.AssetKey, partitions: list[str]
) -> dict[str, float]:
    """Rows, points and seconds of the newest materialization of each partition (the export
    asset records rows and seconds under the same names as a load)."""
    totals = {"rows": 0, "points": 0, "seconds": 0.0}
    if not partitions:
        return totals
    records = all_records(
        instance.fetch_materializations,
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=partitions),
    )
    records.sort(key=lambda r: r.storage_id, reverse=True)
    latest: dict[str, dg.AssetMaterialization] = {}
    for record in records:  # newest first
        materialization = record.asset_materialization
        if materialization and materialization.partition not in latest:
            latest[str(materialization.partition)] = materialization
    for partition, materialization in latest.items():
        report = LoadReport.from_metadata(key.path[-1], partition, materialization.metadata)
        totals["rows"] += report.rows
        totals["points"] += report.points
        totals["seconds"] += report.seconds
    return totals
