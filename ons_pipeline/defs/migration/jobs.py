"""Migration jobs: every table at once, or one table; both partitioned by day."""

from __future__ import annotations

import dagster as dg

from ons_pipeline.defs.keys import influxdb_key, parquet_key
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
    # In-process: a run's steps (one per table) share one process; runs cover many days each
    # (the assets' BackfillPolicy) and are bounded by dagster.yaml's run queue and pools.
    executor = dg.in_process_executor
    jobs = [
        dg.define_asset_job(
            MIGRATION_JOB,
            selection=_selection(list(tables())),
            executor_def=executor,
            description="Export every table's day from Timestream to Parquet on S3 and load it "
            "into InfluxDB. Backfill it over a date range to migrate history.",
        )
    ]
    jobs += [
        dg.define_asset_job(
            table_job_name(name),
            selection=_selection([name]),
            executor_def=executor,
            description=f"Migrate table {name}: export, check, load and verify its days.",
        )
        for name in tables()
    ]
    return jobs
