"""Dagster resources: the settings sections themselves, injected as ``dg.ResourceParam``.

Every setting is declared once, in :mod:`ons_pipeline.lib.settings`, and read from the environment
there; the resources are those values (secrets included, resolved when a client is made and never
stored in run config or shown in the UI), plus the :class:`Monitoring` publisher built on them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.ops.monitoring import (
    ALERTS_TOPIC_NAME,
    Alert,
    AlertPublisher,
    MetricsPublisher,
)
from ons_pipeline.lib.ops.notify import resolve_topic
from ons_pipeline.lib.settings import InfluxSettings, MonitoringSettings, Settings, Thresholds


@dataclass(frozen=True)
class Monitoring:
    """Pipeline metrics to CloudWatch (namespace ``ONS_METRICS_NAMESPACE``, one dimension
    ``Environment=ONS_METRICS_ENVIRONMENT``) and alerts to SNS (``ONS_ALARM_TOPIC_ARN``; on the
    local moto endpoint a topic is created when none is set). Publishing failures are logged and
    reported in metadata, never raised: monitoring must not break the pipeline."""

    settings: MonitoringSettings = field(default_factory=MonitoringSettings)
    aws: AwsSettings = field(default_factory=AwsSettings)

    @property
    def environment(self) -> str:
        return self.settings.environment

    def thresholds(self) -> Thresholds:
        return self.settings.thresholds

    def publisher(self) -> MetricsPublisher:
        return MetricsPublisher(
            self.aws.client("cloudwatch"), self.settings.namespace, self.settings.environment
        )

    def topic_arn(self, sns: Any) -> str | None:
        return resolve_topic(
            sns, self.aws.is_local, self.settings.alarm_topic_arn, ALERTS_TOPIC_NAME
        )

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
            sns = self.aws.client("sns")
            topic = self.topic_arn(sns)
            if topic is None:
                log.warning("no alarm topic (ONS_ALARM_TOPIC_ARN): alerts only logged")
                return {"sent": [], "error": "no alarm topic configured"}
            publisher = AlertPublisher(sns, topic, self.settings.environment)
            publisher.publish(alerts, source)
            publisher.publish_cleared(cleared, source)
        except Exception as exc:  # reported, never raised
            log.error(f"publishing alerts to SNS failed: {type(exc).__name__}: {exc}")
            return {"sent": [], "error": f"{type(exc).__name__}: {exc}"[:500]}
        return {"sent": [a.key for a in alerts], "cleared": list(cleared), "topic": topic}


# Annotations of the injected resources (``def asset(aws: AwsResource)``).
AwsResource = dg.ResourceParam[AwsSettings]
InfluxDBResource = dg.ResourceParam[InfluxSettings]
MonitoringResource = dg.ResourceParam[Monitoring]


def pipeline_resources(settings: Settings) -> dict[str, object]:
    """The resources every definition of the code location uses, from one settings object."""
    return {
        "aws": settings.aws,
        "influxdb": settings.influx,
        "monitoring": Monitoring(settings.monitoring, settings.aws),
    }
