"""Integrity of the migration: query equivalence, the migration report and SNS notifications
(thin Dagster wrappers over ``ons_pipeline.lib.integrity``). The checks that guard each partition
live beside their assets in ``defs/migration/checks.py``."""

import dagster as dg

from ons_pipeline.defs.integrity.report import migration_report, query_equivalence, storage_report
from ons_pipeline.defs.integrity.sensors import integrity_sensors


def integrity_assets() -> list[dg.AssetsDefinition]:
    return [migration_report, query_equivalence, storage_report]


__all__ = ["integrity_assets", "integrity_sensors"]
