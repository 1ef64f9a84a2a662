"""Operations: InfluxDB health probe, pipeline metrics to CloudWatch, alerts to SNS, cost estimate.

Pure logic, no Dagster import (the Dagster wrappers are in ``ons_pipeline.defs.monitoring``).

- :func:`probe_influxdb`: ``/ping``, a write+read round trip of one probe point in the
  ``_ons_health`` measurement (a fresh nonce, read back by its exact timestamp) and the latency of
  a small InfluxQL query. Never raises for an unreachable or failing server: the report says so.
- :class:`MetricsPublisher`: ``PutMetricData`` under the namespace ``ONS/Pipeline``
  (``ONS_METRICS_NAMESPACE``) with exactly one dimension, ``Environment=<env>``
  (``ONS_METRICS_ENVIRONMENT``, default ``local``): the CloudWatch alarms in ``infra/`` match that
  exact dimension set (``FailedBatches`` Sum, ``CheckFailures`` Sum, ``LoadLagSeconds`` Maximum,
  ``PointsPerSecond`` Average).
- :class:`RunMetrics` / :class:`LoadFigures`: the figures of a run from the load assets'
  materialization (or failure) metadata, and the metrics they become.
- :func:`evaluate_run`, :func:`evaluate_health`, :func:`evaluate_lag`:
  alerts; :class:`AlertState` re-sends a standing alert only after ``realert_seconds`` and
  reports when it clears; :class:`AlertPublisher` publishes to SNS (``ONS_ALARM_TOPIC_ARN``; on
  the local moto endpoint a topic is created when none is configured).
- :func:`estimate_monthly_cost`: Timestream for InfluxDB instance + storage per month from the
  price table shipped in ``prices.toml`` (dated, sourced, and flagged unverified until checked).
"""

from __future__ import annotations

import json
import math
import socket
import time
import tomllib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ons_pipeline.lib.influx.client import InfluxClient, InfluxError, quote_ident, quote_literal
from ons_pipeline.lib.migration.loader import LoadReport
from ons_pipeline.lib.ops.notify import publish_message
from ons_pipeline.lib.settings import Thresholds

HEALTH_MEASUREMENT = "_ons_health"
ALERTS_TOPIC_NAME = "ons-pipeline-alerts"  # the local alerts topic (moto)
PRICES_FILE = Path(__file__).with_name("prices.toml")
_PUT_BATCH = 20  # PutMetricData accepts more today; 20 works with every endpoint
_MAX_VALUES = 150  # distinct values of one datum's Values/Counts (PutMetricData limit)


# -- configuration ----------------------------------------------------------------------------


# -- metrics ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    """One CloudWatch datum; ``unit`` is a CloudWatch StandardUnit. ``dimensions`` are added to
    ``Environment``; ``values``/``counts`` (a distribution: CloudWatch computes percentiles from
    it) replace ``value`` when given."""

    name: str
    value: float
    unit: str = "None"
    timestamp: datetime | None = None
    dimensions: tuple[tuple[str, str], ...] = ()
    values: tuple[float, ...] = ()
    counts: tuple[float, ...] = ()


class MetricsPublisher:
    """``PutMetricData`` under ``namespace`` with the dimension ``Environment=<env>`` (plus a
    metric's own dimensions, if any)."""

    def __init__(self, cloudwatch: Any, namespace: str, environment: str) -> None:
        if not namespace or not environment:
            raise ValueError("a metrics namespace and an environment are required")
        self.cloudwatch = cloudwatch
        self.namespace = namespace
        self.environment = environment

    @property
    def dimensions(self) -> list[dict[str, str]]:
        return [{"Name": "Environment", "Value": self.environment}]

    def publish(self, metrics: Iterable[Metric], now: datetime | None = None) -> int:
        """Publish finite values (CloudWatch rejects NaN/inf); returns how many were sent."""
        moment = now or datetime.now(UTC)
        data: list[dict[str, Any]] = []
        for m in metrics:
            datum: dict[str, Any] = {
                "MetricName": m.name,
                "Dimensions": self.dimensions + [{"Name": k, "Value": v} for k, v in m.dimensions],
                "Unit": m.unit,
                "Timestamp": m.timestamp or moment,
            }
            if m.values:
                pairs = [
                    (float(v), float(c))
                    for v, c in zip(m.values, m.counts or [1.0] * len(m.values), strict=True)
                    if math.isfinite(float(v))
                ]
                for start in range(0, len(pairs), _MAX_VALUES):
                    chunk = pairs[start : start + _MAX_VALUES]
                    data.append(
                        {**datum, "Values": [v for v, _ in chunk], "Counts": [c for _, c in chunk]}
                    )
            elif m.value is not None and math.isfinite(float(m.value)):
                data.append({**datum, "Value": float(m.value)})
        for start in range(0, len(data), _PUT_BATCH):
            self.cloudwatch.put_metric_data(
                Namespace=self.namespace, MetricData=data[start : start + _PUT_BATCH]
            )
        return len(data)


# -- health probe -----------------------------------------------------------------------------


@dataclass
class HealthReport:
    """What one probe saw; latencies in milliseconds, ``None`` when that step did not run."""

    url: str
    database: str
    checked_at: datetime
    reachable: bool = False
    write_read_ok: bool = False
    version: str | None = None
    ping_ms: float | None = None
    write_ms: float | None = None
    read_ms: float | None = None
    query_ms: float | None = None
    error: str | None = None
    error_type: str | None = None

    @property
    def healthy(self) -> bool:
        return self.reachable and self.write_read_ok and self.error is None

    @property
    def write_read_ms(self) -> float | None:
        if self.write_ms is None or self.read_ms is None:
            return None
        return self.write_ms + self.read_ms

    def metrics(self) -> list[Metric]:
        out = [Metric("InfluxDBHealthy", 1.0 if self.healthy else 0.0, "None", self.checked_at)]
        for name, value in (
            ("InfluxDBPingLatencyMs", self.ping_ms),
            ("InfluxDBWriteReadLatencyMs", self.write_read_ms),
            ("InfluxDBQueryLatencyMs", self.query_ms),
        ):
            if value is not None:
                out.append(Metric(name, value, "Milliseconds", self.checked_at))
        return out

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["checked_at"] = self.checked_at.isoformat()
        data["healthy"] = self.healthy
        data["write_read_ms"] = self.write_read_ms
        return data


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000.0, 3)


def probe_influxdb(
    client: InfluxClient,
    database: str | None = None,
    *,
    probe_tag: str | None = None,
    now: datetime | None = None,
) -> HealthReport:
    """Ping, write one ``_ons_health`` point and read it back, time a small query.

    Give ``client`` a short retry policy and timeout: a probe must answer quickly (a sensor
    evaluation has about a minute). Errors are caught and reported (already redacted by the
    client); nothing is raised for a failing server.
    """
    db = database or client.config.database
    checked_at = now or datetime.now(UTC)
    report = HealthReport(url=client.config.url, database=db, checked_at=checked_at)
    measurement = quote_ident(HEALTH_MEASUREMENT)
    step = "ping"
    try:
        start = time.perf_counter()
        report.version = client.ping()
        report.ping_ms = _ms(start)
        report.reachable = True

        step = "write"
        nonce = uuid.uuid4().hex
        stamp = time.time_ns()
        tag = (probe_tag or socket.gethostname() or "probe").replace("\\", "")
        for char in (",", "=", " "):
            tag = tag.replace(char, "\\" + char)
        line = f'{HEALTH_MEASUREMENT},probe={tag} ok=1i,nonce="{nonce}" {stamp}\n'
        start = time.perf_counter()
        client.write(line.encode(), lines=1, precision="ns", database=db)
        report.write_ms = _ms(start)

        step = "read"
        start = time.perf_counter()
        rows = client.query(
            f'SELECT "nonce" FROM {measurement} WHERE time = {stamp} '
            f'AND "nonce" = {quote_literal(nonce)}',
            database=db,
        )
        report.read_ms = _ms(start)
        values = [v for r in rows for s in r.get("series", []) for v in s.get("values", [])]
        report.write_read_ok = any(len(v) > 1 and v[1] == nonce for v in values)
        if not report.write_read_ok:
            report.error = "the probe point written was not read back"
            report.error_type = "ProbeMismatch"

        step = "query"
        start = time.perf_counter()
        client.query(f'SELECT count("ok") FROM {measurement} WHERE time > now() - 1h', database=db)
        report.query_ms = _ms(start)
    except InfluxError as error:
        report.error = f"{step}: {error}"
        report.error_type = type(error).__name__
    return report


# -- pipeline run metrics ---------------------------------------------------------------------


@dataclass(frozen=True)
class LoadFigures:
    """One load asset partition, from its materialization (or failure) metadata."""

    table: str
    partition: str | None
    points: int
    seconds: float
    batches: int
    retries: int
    failed_batches: int
    succeeded: bool = True
    error: str | None = None

    @classmethod
    def from_metadata(
        cls,
        table: str,
        partition: str | None,
        metadata: Mapping[str, Any],
        *,
        succeeded: bool = True,
        error: str | None = None,
    ) -> LoadFigures:
        """From a load asset's metadata (:meth:`LoadReport.to_metadata`)."""
        report = LoadReport.from_metadata(table, partition or "", metadata)
        return cls(
            table=table,
            partition=partition,
            points=report.points,
            seconds=report.seconds,
            batches=report.batches,
            retries=report.write.retries,
            failed_batches=report.failed_batches,
            succeeded=succeeded,
            error=error,
        )


@dataclass
class RunMetrics:
    """The figures of one pipeline run."""

    loads: list[LoadFigures] = field(default_factory=list)
    check_failures: int = 0
    checks: int = 0
    load_lag_seconds: float | None = None
    run_failed: bool = False
    run_id: str | None = None
    job_name: str | None = None

    @property
    def points(self) -> int:
        return sum(load.points for load in self.loads)

    @property
    def seconds(self) -> float:
        return sum(load.seconds for load in self.loads)

    @property
    def batches(self) -> int:
        return sum(load.batches for load in self.loads)

    @property
    def retries(self) -> int:
        return sum(load.retries for load in self.loads)

    @property
    def failed_batches(self) -> int:
        return sum(load.failed_batches for load in self.loads)

    @property
    def points_per_second(self) -> float | None:
        """Points over the loads' total time (not a mean of rates: small loads weigh little)."""
        return self.points / self.seconds if self.seconds > 0 and self.points else None

    @property
    def batch_latency_seconds(self) -> float | None:
        """Mean wall time per written batch (conversion and write overlap)."""
        return self.seconds / self.batches if self.batches else None

    def metrics(
        self, thresholds: Thresholds | None = None, now: datetime | None = None
    ) -> list[Metric]:
        """CloudWatch data. ``PointsPerSecond`` only for runs of at least
        ``min_points_for_throughput`` points (the alarm averages it; tiny loads would skew it)."""
        limits = thresholds or Thresholds()
        out: list[Metric] = [
            Metric("FailedBatches", float(self.failed_batches), "Count", now),
            Metric("CheckFailures", float(self.check_failures), "Count", now),
            Metric("RunFailures", 1.0 if self.run_failed else 0.0, "Count", now),
        ]
        if self.loads:
            out += [
                Metric("PointsLoaded", float(self.points), "Count", now),
                Metric("WriteRetries", float(self.retries), "Count", now),
            ]
        pps = self.points_per_second
        if pps is not None and self.points >= limits.min_points_for_throughput:
            out.append(Metric("PointsPerSecond", pps, "Count/Second", now))
        latency = self.batch_latency_seconds
        if latency is not None:
            out.append(Metric("BatchLatencySeconds", latency, "Seconds", now))
        if self.load_lag_seconds is not None:
            out.append(Metric("LoadLagSeconds", self.load_lag_seconds, "Seconds", now))
        return out

    def summary(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "job": self.job_name,
            "loads": len(self.loads),
            "points": self.points,
            "points/s": round(self.points_per_second or 0.0, 1),
            "batch latency s": round(self.batch_latency_seconds or 0.0, 4),
            "retries": self.retries,
            "failed batches": self.failed_batches,
            "check failures": self.check_failures,
            "checks": self.checks,
            "load lag s": None if self.load_lag_seconds is None else round(self.load_lag_seconds),
            "run failed": self.run_failed,
        }


def load_lag_seconds(
    newest_loaded_until: datetime | None, now: datetime | None = None
) -> float | None:
    """Seconds between now and the end of the newest loaded data (0 if in the future)."""
    if newest_loaded_until is None:
        return None
    moment = now or datetime.now(UTC)
    return max(0.0, (moment - newest_loaded_until).total_seconds())


# -- alerts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    """``key`` identifies the condition (for de-duplication); ``severity`` critical|warning."""

    key: str
    severity: str
    summary: str
    value: float | None = None
    threshold: float | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


STANDING_RUN_ALERTS = frozenset({"low_throughput"})
"""Run alerts that describe a state (repeat only after ``realert_seconds``, then clear); the
others (failed batches, failed checks, failed loads) are events, sent for every run."""


def evaluate_run(run: RunMetrics, thresholds: Thresholds) -> list[Alert]:
    """Alerts of one run. The lag is a periodic check's business (:func:`evaluate_lag`): a
    backfill of old days would otherwise raise it for every run."""
    alerts: list[Alert] = []
    where = f"run {run.run_id} ({run.job_name})" if run.run_id else "a run"
    if run.failed_batches > thresholds.max_failed_batches:
        tables = sorted({f"{x.table} {x.partition}" for x in run.loads if x.failed_batches})
        alerts.append(
            Alert(
                "failed_batches",
                "critical",
                f"{run.failed_batches} batch(es) failed in {where}; kept in the dead-letter store",
                run.failed_batches,
                thresholds.max_failed_batches,
                {"partitions": tables},
            )
        )
    if run.check_failures > thresholds.max_check_failures:
        alerts.append(
            Alert(
                "check_failures",
                "critical",
                f"{run.check_failures} data check(s) failed in {where}",
                run.check_failures,
                thresholds.max_check_failures,
            )
        )
    failed_loads = [x for x in run.loads if not x.succeeded and not x.failed_batches]
    if failed_loads:
        alerts.append(
            Alert(
                "load_failed",
                "critical",
                f"{len(failed_loads)} load(s) failed in {where}: {failed_loads[0].error or '?'}"[
                    :400
                ],
                len(failed_loads),
                0,
                {"partitions": [f"{x.table} {x.partition}" for x in failed_loads]},
            )
        )
    pps = run.points_per_second
    if (
        pps is not None
        and run.points >= thresholds.min_points_for_throughput
        and pps < thresholds.min_points_per_second
    ):
        alerts.append(
            Alert(
                "low_throughput",
                "warning",
                f"load throughput {pps:.0f} points/s in {where} is below "
                f"{thresholds.min_points_per_second:.0f}",
                pps,
                thresholds.min_points_per_second,
            )
        )
    return alerts


def evaluate_health(report: HealthReport, thresholds: Thresholds) -> list[Alert]:
    if not report.healthy:
        return [
            Alert(
                "influxdb_unhealthy",
                "critical",
                f"InfluxDB at {report.url} is unhealthy: {report.error or 'probe failed'}"[:400],
                0.0,
                1.0,
                {"error_type": report.error_type, "database": report.database},
            )
        ]
    alerts = []
    if report.query_ms is not None and report.query_ms > thresholds.max_query_latency_ms:
        alerts.append(
            Alert(
                "influxdb_slow_query",
                "warning",
                f"InfluxDB query latency {report.query_ms:.0f} ms above "
                f"{thresholds.max_query_latency_ms:.0f} ms",
                report.query_ms,
                thresholds.max_query_latency_ms,
            )
        )
    write_read = report.write_read_ms
    if write_read is not None and write_read > thresholds.max_write_read_latency_ms:
        alerts.append(
            Alert(
                "influxdb_slow_write_read",
                "warning",
                f"InfluxDB write+read probe took {write_read:.0f} ms (limit "
                f"{thresholds.max_write_read_latency_ms:.0f} ms)",
                write_read,
                thresholds.max_write_read_latency_ms,
            )
        )
    return alerts


def evaluate_lag(lag_seconds: float | None, thresholds: Thresholds) -> list[Alert]:
    if lag_seconds is None or lag_seconds <= thresholds.max_load_lag_seconds:
        return []
    return [
        Alert(
            "load_lag",
            "warning",
            f"newest data in InfluxDB is {lag_seconds / 3600:.1f} h old (limit "
            f"{thresholds.max_load_lag_seconds / 3600:.1f} h)",
            lag_seconds,
            thresholds.max_load_lag_seconds,
        )
    ]


@dataclass
class AlertState:
    """Standing alerts of a periodic check: ``{key: last sent (epoch s)}``, JSON-serialisable
    (a sensor keeps it in its cursor)."""

    sent: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str | None) -> AlertState:
        if not text:
            return cls()
        try:
            data = json.loads(text)
            return cls({str(k): float(v) for k, v in dict(data.get("sent", {})).items()})
        except (ValueError, TypeError, AttributeError):
            return cls()

    def to_json(self) -> str:
        return json.dumps({"sent": self.sent}, sort_keys=True)

    def update(
        self, alerts: Sequence[Alert], now: float, realert_seconds: float
    ) -> tuple[list[Alert], list[str]]:
        """(alerts to send now, keys that cleared since the last check)."""
        due: list[Alert] = []
        current = {alert.key for alert in alerts}
        for alert in alerts:
            last = self.sent.get(alert.key)
            if last is None or now - last >= realert_seconds:
                due.append(alert)
                self.sent[alert.key] = now
        cleared = sorted(set(self.sent) - current)
        for key in cleared:
            del self.sent[key]
        return due, cleared


class AlertPublisher:
    """Publishes alerts to one SNS topic; subject ≤ 100 characters, body text + JSON."""

    def __init__(self, sns: Any, topic_arn: str, environment: str) -> None:
        self.sns = sns
        self.topic_arn = topic_arn
        self.environment = environment

    def publish(self, alerts: Sequence[Alert], source: str) -> list[str]:
        ids = []
        for alert in alerts:
            subject = f"[ons-pipeline {self.environment}] {alert.severity.upper()}: {alert.summary}"
            body = {
                "environment": self.environment,
                "source": source,
                **asdict(alert),
                "details": dict(alert.details),
                "time": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            message = f"{alert.summary}\n\n{json.dumps(body, indent=2, default=str)}"
            ids.append(self._publish(subject, message, alert.severity, alert.key))
        return ids

    def publish_cleared(self, keys: Sequence[str], source: str) -> list[str]:
        subject = f"[ons-pipeline {self.environment}] RESOLVED: {{}}"
        message = f"{{}} is no longer alerting ({source})."
        return [
            self._publish(subject.format(key), message.format(key), "resolved", key) for key in keys
        ]

    def _publish(self, subject: str, message: str, severity: str, key: str) -> str:
        attributes = {"severity": severity, "alert": key, "environment": self.environment}
        return publish_message(self.sns, self.topic_arn, subject, message, attributes)


# -- cost estimate ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceTable:
    as_of: str
    source: str
    verified: bool
    region: str
    currency: str
    hours_per_month: float
    multi_az_multiplier: float
    instance_hourly: Mapping[str, float]
    storage_gb_month: Mapping[str, float]
    storage_label: Mapping[str, str]
    storage_min_gb: Mapping[str, int]
    note: str = ""


def load_prices(path: Path | str | None = None) -> PriceTable:
    """The price table (``prices.toml`` in this package unless ``path`` is given)."""
    with open(path or PRICES_FILE, "rb") as handle:
        data = tomllib.load(handle)
    meta = data["meta"]
    return PriceTable(
        as_of=str(meta["as_of"]),
        source=str(meta["source"]),
        verified=bool(meta["verified"]),
        region=str(meta["region"]),
        currency=str(meta["currency"]),
        hours_per_month=float(meta["hours_per_month"]),
        multi_az_multiplier=float(meta["multi_az_multiplier"]),
        instance_hourly={k: float(v) for k, v in data["instance_hourly"].items()},
        storage_gb_month={k: float(v) for k, v in data["storage_gb_month"].items()},
        storage_label={k: str(v) for k, v in data.get("storage_label", {}).items()},
        storage_min_gb={k: int(v) for k, v in data.get("storage_min_gb", {}).items()},
        note=str(meta.get("note", "")),
    )


DEPLOYMENT_TYPES = ("SINGLE_AZ", "WITH_MULTIAZ_STANDBY")


@dataclass(frozen=True)
class CostEstimate:
    instance_type: str
    storage_type: str
    storage_label: str
    allocated_storage_gb: int
    deployment_type: str
    instance_hourly: float
    instance_monthly: float
    storage_monthly: float
    total_monthly: float
    currency: str
    region: str
    hours_per_month: float
    prices_as_of: str
    prices_source: str
    prices_verified: bool

    @property
    def warning(self) -> str | None:
        if self.prices_verified:
            return None
        return (
            f"prices dated {self.prices_as_of} are NOT verified: check {self.prices_source} and "
            "update ons_pipeline/lib/ops/prices.toml before relying on this estimate"
        )

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["warning"] = self.warning
        return data


def estimate_monthly_cost(
    instance_type: str,
    storage_type: str,
    allocated_storage_gb: int,
    deployment_type: str = "SINGLE_AZ",
    prices: PriceTable | None = None,
) -> CostEstimate:
    """Monthly cost of one Timestream for InfluxDB instance: instance-hours + allocated storage,
    both doubled (``multi_az_multiplier``) for a Multi-AZ standby deployment."""
    table = prices or load_prices()
    if instance_type not in table.instance_hourly:
        raise ValueError(
            f"unknown instance class {instance_type!r}; priced: {sorted(table.instance_hourly)}"
        )
    if storage_type not in table.storage_gb_month:
        raise ValueError(
            f"unknown storage type {storage_type!r}; priced: {sorted(table.storage_gb_month)}"
        )
    if deployment_type not in DEPLOYMENT_TYPES:
        raise ValueError(f"deployment type must be one of {DEPLOYMENT_TYPES}")
    minimum = table.storage_min_gb.get(storage_type, 20)
    if not (minimum <= allocated_storage_gb <= 16_384):
        raise ValueError(
            f"{storage_type} needs {minimum}–16384 GB of allocated storage, "
            f"not {allocated_storage_gb}"
        )
    factor = table.multi_az_multiplier if deployment_type == "WITH_MULTIAZ_STANDBY" else 1.0
    hourly = table.instance_hourly[instance_type]
    instance = hourly * table.hours_per_month * factor
    storage = table.storage_gb_month[storage_type] * allocated_storage_gb * factor
    return CostEstimate(
        instance_type=instance_type,
        storage_type=storage_type,
        storage_label=table.storage_label.get(storage_type, storage_type),
        allocated_storage_gb=allocated_storage_gb,
        deployment_type=deployment_type,
        instance_hourly=hourly,
        instance_monthly=round(instance, 2),
        storage_monthly=round(storage, 2),
        total_monthly=round(instance + storage, 2),
        currency=table.currency,
        region=table.region,
        hours_per_month=table.hours_per_month,
        prices_as_of=table.as_of,
        prices_source=table.source,
        prices_verified=table.verified,
    )
