"""The monitoring resource: where metrics and alerts go (CloudWatch, SNS) and the thresholds."""

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import dagster as dg
from pydantic import Field

from ons_pipeline.lib.ops.monitoring import (
    DEFAULT_ENVIRONMENT,
    DEFAULT_NAMESPACE,
    Alert,
    AlertPublisher,
    MetricsPublisher,
    MonitoringConfig,
    Thresholds,
    ensure_local_topic,
)
from ons_pipeline.lib.settings import AwsSettings

_DEFAULTS = Thresholds()


class MonitoringResource(dg.ConfigurableResource):
    """Pipeline metrics to CloudWatch (namespace ``ONS_METRICS_NAMESPACE``, one dimension
    ``Environment=ONS_METRICS_ENVIRONMENT``) and alerts to SNS (``ONS_ALARM_TOPIC_ARN``; on the
    local moto endpoint a topic is created when none is set). Publishing failures are logged and
    reported in metadata, never raised: monitoring must not break the pipeline."""

    namespace: str = DEFAULT_NAMESPACE
    environment: str = DEFAULT_ENVIRONMENT
    alarm_topic_arn: str | None = None
    region: str = "us-east-1"
    endpoint_url: str | None = Field(default=None, description="Local AWS endpoint (moto).")
    max_failed_batches: int = _DEFAULTS.max_failed_batches
    max_check_failures: int = _DEFAULTS.max_check_failures
    max_load_lag_seconds: float = _DEFAULTS.max_load_lag_seconds
    min_points_per_second: float = _DEFAULTS.min_points_per_second
    min_points_for_throughput: int = _DEFAULTS.min_points_for_throughput
    max_query_latency_ms: float = _DEFAULTS.max_query_latency_ms
    max_write_read_latency_ms: float = _DEFAULTS.max_write_read_latency_ms
    realert_seconds: float = _DEFAULTS.realert_seconds

    @classmethod
    def from_env(cls, env: Mapping[str, str], aws: AwsSettings) -> "MonitoringResource":
        config = MonitoringConfig.from_env(env)
        limits = config.thresholds
        return cls(
            namespace=config.namespace,
            environment=config.environment,
            alarm_topic_arn=config.alarm_topic_arn,
            region=aws.region,
            endpoint_url=aws.endpoint_url,
            max_failed_batches=limits.max_failed_batches,
            max_check_failures=limits.max_check_failures,
            max_load_lag_seconds=limits.max_load_lag_seconds,
            min_points_per_second=limits.min_points_per_second,
            min_points_for_throughput=limits.min_points_for_throughput,
            max_query_latency_ms=limits.max_query_latency_ms,
            max_write_read_latency_ms=limits.max_write_read_latency_ms,
            realert_seconds=limits.realert_seconds,
        )

    def thresholds(self) -> Thresholds:
        return Thresholds(
            max_failed_batches=self.max_failed_batches,
            max_check_failures=self.max_check_failures,
            max_load_lag_seconds=self.max_load_lag_seconds,
            min_points_per_second=self.min_points_per_second,
            min_points_for_throughput=self.min_points_for_throughput,
            max_query_latency_ms=self.max_query_latency_ms,
            max_write_read_latency_ms=self.max_write_read_latency_ms,
            realert_seconds=self.realert_seconds,
        )

    def aws(self) -> AwsSettings:
        return AwsSettings(region=self.region, endpoint_url=self.endpoint_url)

    def publisher(self) -> MetricsPublisher:
        return MetricsPublisher(self.aws().client("cloudwatch"), self.namespace, self.environment)

    def topic_arn(self, sns: Any) -> str | None:
        if self.alarm_topic_arn:
            return self.alarm_topic_arn
        if self.aws().is_local:
            return ensure_local_topic(sns)
        return None

    def publish_metrics(self, metrics: Iterable[Any], log: logging.Logger | Any) -> dict[str, Any]:
        """Publish; returns ``{"sent": n}`` or ``{"sent": 0, "error": ...}``."""
        try:
            sent = self.publisher().publish(list(metrics))
        except Exception as exc:  # monitoring never fails the pipeline; the error is reported
            log.error(f"publishing metrics to CloudWatch failed: {type(exc).__name__}: {exc}")
            return {"sent": 0, "error": f"{type(exc).__name__}: {exc}"[:500]}
        return {"sent": sent}

    def send_alerts(
        self,
        alerts: Sequence[Alert],
        source: str,
        log: logging.Logger | Any,
        cleared: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Publish alerts (and cleared notices) to SNS; returns what was done."""
        if not alerts and not cleared:
            return {"sent": []}
        for alert in alerts:
            log.warning(f"ALERT {alert.severity}: {alert.summary}")
        try:
            sns = self.aws().client("sns")
            topic = self.topic_arn(sns)
            if topic is None:
                log.warning("no alarm topic (ONS_ALARM_TOPIC_ARN): alerts only logged")
                return {"sent": [], "error": "no alarm topic configured"}
            publisher = AlertPublisher(sns, topic, self.environment)
            publisher.publish(alerts, source)
            publisher.publish_cleared(cleared, source)
        except Exception as exc:  # reported, never raised
            log.error(f"publishing alerts to SNS failed: {type(exc).__name__}: {exc}")
            return {"sent": [], "error": f"{type(exc).__name__}: {exc}"[:500]}
        return {"sent": [a.key for a in alerts], "cleared": list(cleared), "topic": topic}
