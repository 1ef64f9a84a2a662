"""InfluxDB health: a sensor that probes every few minutes and records an observation, and an
asset to run the same probe on demand. Both publish the health metrics and ``LoadLagSeconds``
(the CloudWatch lag alarm treats two hours without a value as breaching, so it must be published
periodically, not only when a load runs)."""

import time
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg

from ons_pipeline.defs.keys import influxdb_key
from ons_pipeline.environment import load_settings
from ons_pipeline.lib.influx.client import InfluxError, RetryPolicy
from ons_pipeline.lib.ons_time import day_window
from ons_pipeline.lib.ops.monitoring import (
    AlertState,
    HealthReport,
    Metric,
    evaluate_health,
    evaluate_lag,
    load_lag_seconds,
    probe_influxdb,
)
from ons_pipeline.lib.schema import tables
from ons_pipeline.resources import InfluxDBResource, MonitoringResource

MONITORING = "monitoring"
HEALTH_KEY = dg.AssetKey("influxdb_health")
PROBE_TIMEOUT_S = 10.0
PROBE_RETRY = RetryPolicy(max_attempts=2, base_delay=0.2, max_delay=1.0)
SETTINGS = load_settings().monitoring
DEFAULT_STATUS = (
    dg.DefaultSensorStatus.RUNNING if SETTINGS.sensors_running else dg.DefaultSensorStatus.STOPPED
)


def newest_loaded_until(instance: dg.DagsterInstance) -> datetime | None:
    """End of the newest day materialized by any load asset (``influxdb/<table>``)."""
    newest: str | None = None
    for name in tables():
        keys = instance.get_materialized_partitions(influxdb_key(name))
        if keys:
            candidate = max(keys)
            newest = candidate if newest is None or candidate > newest else newest
    return day_window(date.fromisoformat(newest)).end if newest else None


def probe(influxdb: InfluxDBResource) -> HealthReport:
    """Probe with a short timeout and one retry (a sensor tick has about a minute)."""
    timeout = min(float(influxdb.connection.get("timeout") or PROBE_TIMEOUT_S), PROBE_TIMEOUT_S)
    probing = replace(influxdb, connection={**influxdb.connection, "timeout": timeout})
    try:
        client = probing.client(PROBE_RETRY)
    except InfluxError as error:  # TLS policy, unreadable secret, bad config
        return HealthReport(
            url=influxdb.url,
            database=influxdb.database,
            checked_at=datetime.now(UTC),
            error=f"configuration: {error}",
            error_type=type(error).__name__,
        )
    with client:
        return probe_influxdb(client)


@dataclass
class HealthOutcome:
    report: HealthReport
    lag_seconds: float | None
    metadata: dict[str, Any]


def run_health_check(
    influxdb: InfluxDBResource,
    monitoring: MonitoringResource,
    instance: dg.DagsterInstance,
    log: Any,
    state: AlertState | None = None,
) -> HealthOutcome:
    """Probe, publish metrics, alert (de-duplicated through ``state`` when given)."""
    report = probe(influxdb)
    until = newest_loaded_until(instance)
    lag = load_lag_seconds(until)
    metrics = report.metrics()
    if lag is not None:
        metrics.append(Metric("LoadLagSeconds", lag, "Seconds", report.checked_at))
    published = monitoring.publish_metrics(metrics, log)
    limits = monitoring.thresholds()
    alerts = evaluate_health(report, limits) + evaluate_lag(lag, limits)
    cleared: list[str] = []
    if state is not None:
        alerts, cleared = state.update(alerts, time.time(), limits.realert_seconds)
    sent = monitoring.send_alerts(alerts, "influxdb_health", log, cleared)
    metadata: dict[str, Any] = {
        "healthy": dg.MetadataValue.bool(report.healthy),
        "url": report.url,
        "database": report.database,
        "version": report.version or "",
        "ping ms": report.ping_ms,
        "write ms": report.write_ms,
        "read ms": report.read_ms,
        "write+read ms": report.write_read_ms,
        "query ms": report.query_ms,
        "error": report.error or "",
        "error type": report.error_type or "",
        "load lag s": None if lag is None else round(lag),
        "newest loaded until": until.isoformat() if until else "",
        "metrics published": published,
        "alerts": sent,
        "checked at": report.checked_at.isoformat(),
    }
    metadata = {k: v for k, v in metadata.items() if v is not None}
    if report.healthy:
        log.info(f"InfluxDB healthy: ping {report.ping_ms} ms, query {report.query_ms} ms")
    else:
        log.warning(f"InfluxDB unhealthy: {report.error}")
    return HealthOutcome(report, lag, metadata)


@dg.asset(
    key=HEALTH_KEY,
    group_name=MONITORING,
    kinds={"influxdb", "cloudwatch"},
    description=(
        "Health of the target InfluxDB: /ping, a write+read round trip of a probe point in the "
        "`_ons_health` measurement, and the latency of a small InfluxQL query. The sensor "
        "`influxdb_health_sensor` records it every few minutes as an observation; materializing "
        "runs the probe now. Also publishes InfluxDBHealthy, latencies and LoadLagSeconds to "
        "CloudWatch and alerts to SNS. Fails when InfluxDB is unhealthy."
    ),
)
def influxdb_health(
    context: dg.AssetExecutionContext,
    influxdb: InfluxDBResource,
    monitoring: MonitoringResource,
) -> dg.MaterializeResult:
    outcome = run_health_check(influxdb, monitoring, context.instance, context.log)
    if not outcome.report.healthy:
        raise dg.Failure(
            description=f"InfluxDB is unhealthy: {outcome.report.error}",
            metadata=outcome.metadata,
        )
    return dg.MaterializeResult(metadata=outcome.metadata)


@dg.sensor(
    name="influxdb_health_sensor",
    minimum_interval_seconds=SETTINGS.health_interval_s,
    default_status=DEFAULT_STATUS,
    description=(
        "Every few minutes: probe InfluxDB (ping, write+read, query latency), record an "
        "observation of `influxdb_health`, publish health metrics and LoadLagSeconds to "
        "CloudWatch, alert on SNS (a standing alert is repeated hourly; a RESOLVED notice "
        "follows when it clears). Launches no run."
    ),
)
def influxdb_health_sensor(
    context: dg.SensorEvaluationContext,
    influxdb: InfluxDBResource,
    monitoring: MonitoringResource,
) -> dg.SensorResult:
    state = AlertState.from_json(context.cursor)
    outcome = run_health_check(influxdb, monitoring, context.instance, context.log, state)
    return dg.SensorResult(
        asset_events=[dg.AssetObservation(asset_key=HEALTH_KEY, metadata=outcome.metadata)],
        cursor=state.to_json(),
    )
