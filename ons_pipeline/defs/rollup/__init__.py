"""Rollups and retention: daily and monthly rollup assets kept in step with the raw days, the
retention asset, their jobs and the automation sensor (thin wrappers over ``lib.rollup`` and
``lib.influx.retention``)."""

from ons_pipeline.defs.rollup.assets import (
    influxdb_retention,
    rollup_assets,
    rollup_jobs,
    rollup_sensors,
)

__all__ = ["influxdb_retention", "rollup_assets", "rollup_jobs", "rollup_sensors"]
