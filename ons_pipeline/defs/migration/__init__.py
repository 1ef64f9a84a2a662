"""The migration spine: Timestream exports → Parquet partitions on S3 → InfluxDB, with the checks
that guard each day (run by the migration assets), the migration jobs and the rollback job."""

from ons_pipeline.defs.migration.assets import migration_assets
from ons_pipeline.defs.migration.jobs import migration_jobs
from ons_pipeline.defs.migration.rollback import rollback

__all__ = ["migration_assets", "migration_jobs", "rollback"]
