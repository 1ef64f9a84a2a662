"""Migration state, read from the Dagster instance: which table-days are migrated.

The one home of "is this day migrated?". A day of a table is migrated when

* it was exported from Timestream (a ``parquet/<table>`` materialization not written by continuous
  loading: an ONS file loaded before the migration reached the day holds only the file's rows),
* its newest ``influxdb/<table>`` materialization is newer than any rollback of that day and than
  its newest export (a day exported again — its load then failed, or only the Parquet asset was
  run — holds in InfluxDB what the new partition may not), and
* the newest exact-verification verdict on that day passed and came after that materialization.

Verdicts are the ``exact_verification`` check evaluations of migration runs and the observations
``ons-pipeline verify`` records (:data:`VERDICT`), whichever is newer: a failed verification, in a
run or later from the command line, puts the day back in ``ons-pipeline migrate``'s list. The CLI's
backfill, the demo and the migration report all ask here.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import dagster as dg

from ons_pipeline.defs.keys import (
    EXACT_VERIFICATION,
    INGEST_JOB,
    ROLLED_BACK,
    influxdb_key,
    parquet_key,
)
from ons_pipeline.lib.migration.deadletter import GENERATION, INGESTED_FROM, DeadLetterMeta
from ons_pipeline.lib.migration.loader import LoadReport
from ons_pipeline.lib.partitions import ParquetStore, Partition

# Observation metadata key of `ons-pipeline verify`: "passed" | "failed".
VERDICT = "exact verification"
_PAGE = 10_000


@dataclass(frozen=True)
class DayState:
    """What the instance knows about one table-day (timestamps, ``None`` when never)."""

    loaded_at: float | None = None
    rolled_back_at: float | None = None
    verified_at: float | None = None
    verified: bool | None = None
    exported: bool = False
    exported_at: float | None = None  # the newest export's (continuous loading's writes aside)

    @property
    def loaded(self) -> bool:
        return (
            self.loaded_at is not None
            and (self.rolled_back_at is None or self.loaded_at > self.rolled_back_at)
            and (self.exported_at is None or self.loaded_at >= self.exported_at)
        )

    @property
    def migrated(self) -> bool:
        return (
            self.exported
            and self.loaded
            and bool(self.verified)
            and self.verified_at is not None
            and self.verified_at >= self.loaded_at  # type: ignore[operator]
        )


def all_records(
    fetch: Callable[..., dg.EventRecordsResult], records_filter: dg.AssetRecordsFilter
) -> list[dg.EventLogRecord]:
    records: list[dg.EventLogRecord] = []
    cursor = None
    while True:
        page = fetch(records_filter, limit=_PAGE, cursor=cursor)
        records += page.records
        if not page.has_more:
            return records
        cursor = page.cursor


def day_states(
    instance: dg.DagsterInstance, table: str, days: Iterable[str]
) -> dict[str, DayState]:
    """The state of each of ``days`` (``YYYY-MM-DD``) of ``table``."""
    keys = list(days)
    key = influxdb_key(table)
    records_filter = dg.AssetRecordsFilter(asset_key=key, asset_partitions=keys)
    loaded: dict[str, float] = {}
    for record in all_records(instance.fetch_materializations, records_filter):
        event = record.asset_materialization
        if event is not None and event.partition is not None:
            loaded[event.partition] = max(loaded.get(event.partition, 0.0), record.timestamp)
    rolled: dict[str, float] = {}
    verdicts: dict[str, tuple[float, bool]] = {}
    for record in all_records(instance.fetch_observations, records_filter):
        event = record.asset_observation
        if event is None or event.partition is None:
            continue
        if ROLLED_BACK in event.metadata:
            rolled[event.partition] = max(rolled.get(event.partition, 0.0), record.timestamp)
        if VERDICT in event.metadata:
            passed = getattr(event.metadata[VERDICT], "value", None) == "passed"
            _newer(verdicts, event.partition, record.timestamp, passed)
    wanted = set(keys)
    for execution in _check_history(instance, dg.AssetCheckKey(key, EXACT_VERIFICATION)):
        evaluation = execution.event.asset_check_evaluation if execution.event else None
        if evaluation is None or execution.partition not in wanted:
            continue
        _newer(verdicts, execution.partition, execution.event.timestamp, evaluation.passed)  # type: ignore[union-attr]
    exports = {
        day: max((at for job, at in written if job != INGEST_JOB), default=None)
        for day, written in partition_writes(instance, table, keys).items()
    }
    return {
        day: DayState(
            exported=exports.get(day) is not None,
            exported_at=exports.get(day),
            loaded_at=loaded.get(day),
            rolled_back_at=rolled.get(day),
            verified_at=verdicts[day][0] if day in verdicts else None,
            verified=verdicts[day][1] if day in verdicts else None,
        )
        for day in keys
    }


def partition_writers(
    instance: dg.DagsterInstance, table: str, days: list[str]
) -> dict[str, list[str]]:
    """Per day, the job of each write of its ``parquet/<table>`` partition, oldest first (the
    migration's, or continuous loading's :data:`INGEST_JOB`)."""
    return {
        day: [job for job, _ in writes]
        for day, writes in partition_writes(instance, table, days).items()
    }


def partition_writes(
    instance: dg.DagsterInstance, table: str, days: list[str]
) -> dict[str, list[tuple[str, float]]]:
    """Per day, each write of its ``parquet/<table>`` partition as (job, time), oldest first."""
    records = all_records(
        instance.fetch_materializations,
        dg.AssetRecordsFilter(asset_key=parquet_key(table), asset_partitions=days),
    )
    writes: dict[str, list[tuple[str, float]]] = {}
    for record in sorted(records, key=lambda r: r.storage_id):
        event = record.asset_materialization
        if event is not None and event.partition is not None:
            job = record.event_log_entry.job_name or ""
            writes.setdefault(event.partition, []).append((job, record.timestamp))
    return writes


def _newer(verdicts: dict[str, tuple[float, bool]], day: str, at: float, passed: bool) -> None:
    if day not in verdicts or at >= verdicts[day][0]:
        verdicts[day] = (at, passed)


def _check_history(instance: dg.DagsterInstance, check: dg.AssetCheckKey) -> list[object]:
    from dagster._core.storage.asset_check_execution_record import (
        AssetCheckExecutionRecordStatus,
    )

    done = {AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED}
    history: list[object] = []
    cursor = None
    while True:
        page = instance.event_log_storage.get_asset_check_execution_history(
            check, limit=_PAGE, cursor=cursor, status=done
        )
        history += page
        if len(page) < _PAGE:
            return history
        cursor = page[-1].id


def loaded_partitions(instance: dg.DagsterInstance, table: str, days: list[str]) -> set[str]:
    """Days whose latest load is newer than any rollback of that day (verified or not)."""
    return {day for day, state in day_states(instance, table, days).items() if state.loaded}


def pending_partitions(
    instance: dg.DagsterInstance, tables: Iterable[str], days: list[date]
) -> dict[str, list[date]]:
    """Per table, the days of ``days`` not migrated (never loaded, rolled back, not verified,
    or whose newest verification failed)."""
    out: dict[str, list[date]] = {}
    for table in tables:
        states = day_states(instance, table, [d.isoformat() for d in days])
        out[table] = [d for d in days if not states[d.isoformat()].migrated]
    return out


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


def dead_letter_supersession(
    instance: dg.DagsterInstance, store: ParquetStore
) -> Callable[[DeadLetterMeta], str | None]:
    """Why a dead-lettered batch must not be replayed any more, from the partition and the
    instance: its Parquet partition was rewritten since (a re-export or a correction: the batch
    holds older rows), its day was rolled back after it failed (replaying would bring deleted
    points back), or its day was loaded and verified again after it failed (nothing left to do)."""
    generations: dict[tuple[str, str], str] = {}
    states: dict[tuple[str, str], DayState] = {}

    def reason(meta: DeadLetterMeta) -> str | None:
        try:
            day = date.fromisoformat(meta.partition)
        except ValueError:
            return None  # not a day partition: nothing to compare with
        key = (meta.table, meta.partition)
        partition = Partition(meta.table, day)
        source = meta.extra.get(INGESTED_FROM)
        if source is not None:  # its rows are not in the partition: a replay would split them
            return (
                f"a batch of continuous loading from {source}: re-execute that object's ingest "
                "run, which rewrites the Parquet partition as well; a replay would change "
                "InfluxDB only"
            )
        recorded = meta.extra.get(GENERATION)
        if recorded is not None:
            if key not in generations:
                generations[key] = store.generation(partition) or ""
            if generations[key] != recorded:
                return (
                    f"{store.uri(partition)} was rewritten after this batch failed (generation "
                    f"{recorded or 'none'} → {generations[key] or 'none'}): it holds older rows"
                )
        if key not in states:
            states[key] = day_states(instance, meta.table, [meta.partition])[meta.partition]
        state = states[key]
        failed_at = _epoch(meta.last_failure)
        if state.rolled_back_at is not None and state.rolled_back_at > failed_at:
            return f"the day was rolled back at {_iso(state.rolled_back_at)}, after it failed"
        if state.migrated and state.loaded_at is not None and state.loaded_at > failed_at:
            return f"the day was loaded and verified again at {_iso(state.loaded_at)}"
        return None

    return reason


def _epoch(moment: str) -> float:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp() if moment else 0.0


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
