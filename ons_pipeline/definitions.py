"""The one Definitions object of the project (workspace.yaml and pyproject.toml point here)."""

import dagster as dg

from ons_pipeline.defs.migration.assets import migration_assets
from ons_pipeline.defs.migration.jobs import migration_jobs
from ons_pipeline.defs.migration.rollback import rollback
from ons_pipeline.resources import AwsResource, InfluxDBResource, default_settings

settings = default_settings()

defs = dg.Definitions(
    assets=migration_assets(),
    jobs=[*migration_jobs(), rollback],
    resources={
        "aws": AwsResource.from_settings(settings.aws),
        "influxdb": InfluxDBResource.from_env(settings.influx_env),
    },
)
