"""The one Definitions object of the project (workspace.yaml and pyproject.toml point here)."""

import warnings

import dagster as dg

from ons_pipeline.defs.ingest import ingest_jobs, ingest_sensors
from ons_pipeline.defs.integrity import integrity_assets, integrity_sensors
from ons_pipeline.defs.migration import migration_assets, migration_jobs, rollback
from ons_pipeline.defs.monitoring import monitoring_assets, monitoring_sensors
from ons_pipeline.defs.rollup import rollup_assets, rollup_jobs, rollup_sensors
from ons_pipeline.environment import load_settings
from ons_pipeline.resources import pipeline_resources

# The migration job spans tables whose runs are sized differently (BackfillPolicy per table, by
# expected rows): Dagster warns and uses the smallest for job-launched backfills. Asset backfills
# (`ons-pipeline migrate`, the UI's asset backfills) use each table's own policy.
warnings.filterwarnings("ignore", message=".*materializes assets with varying BackfillPolicies")

defs = dg.Definitions(
    assets=[*migration_assets(), *monitoring_assets(), *integrity_assets(), *rollup_assets()],
    jobs=[*migration_jobs(), rollback, *ingest_jobs(), *rollup_jobs()],
    sensors=[*monitoring_sensors(), *ingest_sensors(), *integrity_sensors(), *rollup_sensors()],
    resources=pipeline_resources(load_settings()),
    # Every job, the implicit asset job of backfills included, runs its steps in the run's own
    # process: one interpreter start and one Great Expectations import per run, not per step.
    executor=dg.in_process_executor,
)
