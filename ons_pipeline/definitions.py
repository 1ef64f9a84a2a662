"""The one Definitions object of the project (workspace.yaml and pyproject.toml point here)."""

import dagster as dg

from ons_pipeline.defs.ingest import ingest_jobs, ingest_sensors
from ons_pipeline.defs.integrity import integrity_assets, integrity_sensors
from ons_pipeline.defs.migration import migration_assets, migration_checks, migration_jobs, rollback
from ons_pipeline.defs.monitoring import monitoring_assets, monitoring_sensors
from ons_pipeline.environment import load_settings
from ons_pipeline.resources import pipeline_resources

defs = dg.Definitions(
    assets=[*migration_assets(), *monitoring_assets(), *integrity_assets()],
    asset_checks=migration_checks(),
    jobs=[*migration_jobs(), rollback, *ingest_jobs()],
    sensors=[*monitoring_sensors(), *ingest_sensors(), *integrity_sensors()],
    resources=pipeline_resources(load_settings()),
)
