"""Operations: InfluxDB health, pipeline metrics (CloudWatch), alerts (SNS), cost estimate.

Thin Dagster wrappers over :mod:`ons_pipeline.lib.ops.monitoring`; they publish through the
``monitoring`` resource (:class:`ons_pipeline.resources.Monitoring`).
"""

import dagster as dg

from ons_pipeline.defs.monitoring.cost import influxdb_monthly_cost
from ons_pipeline.defs.monitoring.health import influxdb_health, influxdb_health_sensor
from ons_pipeline.defs.monitoring.run_metrics import (
    pipeline_metrics,
    pipeline_metrics_on_failure,
    pipeline_metrics_on_success,
)

__all__ = ["monitoring_assets", "monitoring_sensors"]


def monitoring_assets() -> list[dg.AssetsDefinition | dg.AssetSpec]:
    return [influxdb_health, influxdb_monthly_cost, pipeline_metrics]


def monitoring_sensors() -> list[dg.SensorDefinition]:
    return [influxdb_health_sensor, pipeline_metrics_on_success, pipeline_metrics_on_failure]
