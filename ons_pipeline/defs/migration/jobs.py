"""Migration jobs: every table at once, or one table; both partitioned by day."""

from __future__ import annotations

import dagster as dg

from ons_pipeline.defs.keys import influxdb_key, parquet_key
from ons_pipeline.defs.partitions import daily_partitions
from ons_pipeline.lib.schema import tables

MIGRATION_JOB = "migration"


def table_job_name(table: str) -> str:
    return f"migrate_{table}"


def jobs_for(selected: list[str]) -> list[str]:
    """The job(s) that migrate exactly ``selected`` tables."""
    if set(selected) == set(tables()):
        return [MIGRATION_JOB]
    return [table_job_name(t) for t in selected]


def _selection(names: list[str]) -> dg.AssetSelection:
    keys = [k for n in names for k in (parquet_key(n), influxdb_key(n))]
    return dg.AssetSelection.assets(*keys)


def migration_jobs() -> list[dg.UnresolvedAssetJobDefinition]:  # type: ignore[name-defined]
    # In-process: a day's steps share one process (no per-step interpreter start-up on 2 cores);
    # days run in parallel as separate runs, bounded by dagster.yaml's run queue and pools.
    executor = dg.in_process_executor
    jobs = [
        dg.define_asset_job(
            MIGRATION_JOB,
            selection=_selection(list(tables())),
            partitions_def=daily_partitions,
            executor_def=executor,
            description="Export every table's day from Timestream to Parquet on S3 and load it "
            "into InfluxDB. Backfill it over a date range to migrate history.",
        )
    ]
    jobs += [
        dg.define_asset_job(
            table_job_name(name),
            selection=_selection([name]),
            partitions_def=daily_partitions,
            executor_def=executor,
            description=f"Migrate table {name} (export + load) for one day.",
        )
        for name in tables()
    ]
    return jobs
