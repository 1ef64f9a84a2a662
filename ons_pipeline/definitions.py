"""The one Definitions object of the project (workspace.yaml and pyproject.toml point here)."""

import os

import dagster as dg

from ons_pipeline.defs.ingest import ingest_jobs, ingest_sensors
from ons_pipeline.defs.integrity import integrity_assets, integrity_sensors
from ons_pipeline.defs.migration import migration_assets, migration_checks, migration_jobs, rollback
from ons_pipeline.defs.monitoring import (
    MonitoringResource,
    monitoring_assets,
    monitoring_sensors,
)
from ons_pipeline.resources import AwsResource, InfluxDBResource, default_settings

settings = default_settings()

defs = dg.Definitions(
    assets=[*migration_assets(), *monitoring_assets(), *integrity_assets()],
    asset_checks=migration_checks(),
    jobs=[*migration_jobs(), rollback, *ingest_jobs()],
    sensors=[*monitoring_sensors(), *ingest_sensors(), *integrity_sensors()],
    resources={
        "aws": AwsResource.from_settings(settings.aws),
        "influxdb": InfluxDBResource.from_env(settings.influx_env),
        "monitoring": MonitoringResource.from_env(os.environ, settings.aws),
    },
)
