"""The monitoring library: health probe on the real InfluxDB, metrics read back from CloudWatch
(moto), alerts received through SNS → SQS, the cost estimate and its price table."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ons_pipeline.lib.influx.client import InfluxClient, InfluxConfig, RetryPolicy
from ons_pipeline.lib.ops.monitoring import (
    HEALTH_MEASUREMENT,
    PRICES_FILE,
    Alert,
    AlertPublisher,
    AlertState,
    LoadFigures,
    MetricsPublisher,
    RunMetrics,
    estimate_monthly_cost,
    evaluate_health,
    evaluate_lag,
    evaluate_run,
    load_lag_seconds,
    load_prices,
    probe_influxdb,
)
from ons_pipeline.lib.settings import Settings, Thresholds
from ons_pipeline.local.servers import free_port
from ons_pipeline_tests.conftest import influxql
from ons_pipeline_tests.ops.conftest import Inbox, metric_dimensions, metric_values

REPO = Path(__file__).resolve().parents[2]
FAST = RetryPolicy(max_attempts=1)


def load_metadata(points: int, seconds: float, batches: int, failed: int = 0) -> dict:
    """Metadata keys exactly as the load asset writes them."""
    return {
        "rows": points,
        "points": points,
        "batches": batches,
        "failed batches": failed,
        "retries": 2,
        "duration s": seconds,
        "points/s": points / seconds,
        "measurement": "m",
    }


# -- health probe ---------------------------------------------------------------------------


def test_probe_of_a_healthy_influxdb_writes_and_reads_back(influx_url: str, influx_db: str) -> None:
    with InfluxClient(InfluxConfig(url=influx_url, database=influx_db), FAST) as client:
        report = probe_influxdb(client, probe_tag="unit test")
    assert report.healthy, report.error
    assert report.version and report.version.startswith("1.6")
    for value in (report.ping_ms, report.write_ms, report.read_ms, report.query_ms):
        assert value is not None and 0 <= value < 5_000
    body = influxql(influx_url, f'SELECT "nonce", "ok" FROM "{HEALTH_MEASUREMENT}"', influx_db)
    series = body["results"][0]["series"][0]
    assert series["values"][0][2] == 1 and len(series["values"][0][1]) == 32
    names = [m.name for m in report.metrics()]
    assert names == [
        "InfluxDBHealthy",
        "InfluxDBPingLatencyMs",
        "InfluxDBWriteReadLatencyMs",
        "InfluxDBQueryLatencyMs",
    ]
    assert report.metrics()[0].value == 1.0
    assert json.dumps(report.as_dict())  # serialisable as metadata


def test_probe_reports_an_unreachable_server_and_a_missing_database(influx_url: str) -> None:
    dead = InfluxConfig(url=f"http://127.0.0.1:{free_port()}", database="ons", timeout=2)
    with InfluxClient(dead, FAST) as client:
        down = probe_influxdb(client)
    assert not down.healthy and not down.reachable
    assert down.error and down.error.startswith("ping:") and down.error_type
    assert [(m.name, m.value) for m in down.metrics()] == [("InfluxDBHealthy", 0.0)]

    with InfluxClient(InfluxConfig(url=influx_url, database="no_such_db"), FAST) as client:
        missing = probe_influxdb(client)
    assert missing.reachable and not missing.healthy
    assert missing.error and "write:" in missing.error and "database not found" in missing.error
    alerts = evaluate_health(missing, Thresholds())
    assert [a.key for a in alerts] == ["influxdb_unhealthy"]
    assert alerts[0].severity == "critical"


# -- metrics ---------------------------------------------------------------------------------


def test_run_metrics_from_load_metadata() -> None:
    big = LoadFigures.from_metadata("geracao_usina", "2024-01-01", load_metadata(300_000, 1.5, 30))
    small = LoadFigures.from_metadata("ear_diario", "2024-01-01", load_metadata(5, 0.5, 1))
    run = RunMetrics(loads=[big, small], check_failures=1, checks=3, load_lag_seconds=3600.0)
    assert (run.points, run.batches, run.retries, run.failed_batches) == (300_005, 31, 4, 0)
    assert run.points_per_second == pytest.approx(300_005 / 2.0)
    assert run.batch_latency_seconds == pytest.approx(2.0 / 31)
    metrics = {m.name: m for m in run.metrics(Thresholds())}
    assert metrics["PointsPerSecond"].unit == "Count/Second"
    assert metrics["CheckFailures"].value == 1 and metrics["FailedBatches"].value == 0
    assert metrics["LoadLagSeconds"].value == 3600.0
    assert metrics["BatchLatencySeconds"].unit == "Seconds"
    # A small load alone does not publish a throughput (it would drag the alarm's average).
    tiny = RunMetrics(loads=[small])
    assert "PointsPerSecond" not in {m.name for m in tiny.metrics(Thresholds())}
    # A failed load without metadata still counts.
    failed = LoadFigures.from_metadata("x", None, {}, succeeded=False, error="AuthError: no")
    assert (failed.points, failed.failed_batches, failed.succeeded) == (0, 0, False)


def test_metrics_reach_cloudwatch_with_exactly_the_environment_dimension(
    aws, metrics_env: str
) -> None:  # type: ignore[no-untyped-def]
    config = Settings.from_env({"ONS_METRICS_ENVIRONMENT": metrics_env}).monitoring
    assert config.namespace == "ONS/Pipeline"
    publisher = MetricsPublisher(aws("cloudwatch"), config.namespace, config.environment)
    loads = [
        LoadFigures.from_metadata("curva_carga", "2024-01-02", load_metadata(50_000, 0.5, 5, 2))
    ]
    run = RunMetrics(loads=loads, check_failures=1, load_lag_seconds=7200.0)
    sent = publisher.publish([*run.metrics(), *RunMetrics().metrics()])
    assert sent == len(run.metrics()) + 3
    cloudwatch = aws("cloudwatch")
    assert sum(metric_values(cloudwatch, metrics_env, "FailedBatches")) == 2
    assert sum(metric_values(cloudwatch, metrics_env, "CheckFailures")) == 1
    assert metric_values(cloudwatch, metrics_env, "LoadLagSeconds", "Maximum") == [7200.0]
    assert metric_values(cloudwatch, metrics_env, "PointsPerSecond", "Average") == [100_000.0]
    # The alarms in infra/ match one exact dimension set: Environment=<env>, nothing else.
    dims = metric_dimensions(cloudwatch, metrics_env)
    for name in ("FailedBatches", "CheckFailures", "LoadLagSeconds", "PointsPerSecond"):
        assert dims[name] == [[{"Name": "Environment", "Value": metrics_env}]], name
    assert publisher.publish([]) == 0


def test_non_finite_values_are_not_sent(aws, metrics_env: str) -> None:  # type: ignore[no-untyped-def]
    from ons_pipeline.lib.ops.monitoring import Metric

    publisher = MetricsPublisher(aws("cloudwatch"), "ONS/Pipeline", metrics_env)
    assert publisher.publish([Metric("X", float("nan")), Metric("X", float("inf"))]) == 0


# -- alerts ----------------------------------------------------------------------------------


def test_threshold_breaches_are_published_to_sns_and_received(aws, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    limits = Thresholds()
    run = RunMetrics(
        loads=[
            LoadFigures.from_metadata("curva_carga", "2024-01-02", load_metadata(20_000, 40, 2, 1)),
            LoadFigures("ena_diario", "2024-01-02", 0, 0, 0, 0, 0, False, "AuthError: refused"),
        ],
        check_failures=2,
        run_id="r1",
        job_name="migration",
    )
    alerts = evaluate_run(run, limits)
    assert [a.key for a in alerts] == [
        "failed_batches",
        "check_failures",
        "load_failed",
        "low_throughput",
    ]
    assert evaluate_run(RunMetrics(), limits) == []
    AlertPublisher(aws("sns"), inbox.topic_arn, "test").publish(alerts, "run r1")
    received = inbox.messages()
    subjects = sorted(m["Subject"] for m in received)
    assert len(received) == 4
    assert any(s.startswith("[ons-pipeline test] CRITICAL: 1 batch(es) failed") for s in subjects)
    assert all(len(s) <= 100 for s in subjects)
    failed = next(m for m in received if m["MessageAttributes"]["alert"]["Value"] == "load_failed")
    assert "AuthError: refused" in failed["Message"]
    assert failed["MessageAttributes"]["severity"]["Value"] == "critical"
    body = json.loads(failed["Message"].split("\n\n", 1)[1])
    assert body["details"]["partitions"] == ["ena_diario 2024-01-02"]


def test_alert_state_repeats_hourly_and_reports_clearing() -> None:
    lag = Alert("load_lag", "warning", "old")
    state = AlertState()
    assert state.update([lag], now=0, realert_seconds=3600) == ([lag], [])
    assert state.update([lag], now=60, realert_seconds=3600) == ([], [])
    restored = AlertState.from_json(state.to_json())
    assert restored.update([lag], now=3600, realert_seconds=3600) == ([lag], [])
    assert restored.update([], now=3700, realert_seconds=3600) == ([], ["load_lag"])
    assert AlertState.from_json("not json").sent == {}


def test_lag_thresholds_and_config_from_env() -> None:
    now = datetime(2024, 1, 3, 12, tzinfo=UTC)
    assert load_lag_seconds(datetime(2024, 1, 3, tzinfo=UTC), now) == 12 * 3600
    assert load_lag_seconds(now + timedelta(hours=1), now) == 0.0
    assert load_lag_seconds(None, now) is None
    limits = Settings.from_env(
        {"ONS_ALERT_MAX_LOAD_LAG_SECONDS": "3600", "ONS_ALERT_MAX_FAILED_BATCHES": "3"}
    ).monitoring.thresholds
    assert (limits.max_load_lag_seconds, limits.max_failed_batches) == (3600.0, 3)
    assert isinstance(limits.max_failed_batches, int)
    assert [a.key for a in evaluate_lag(7200, limits)] == ["load_lag"]
    assert evaluate_lag(1800, limits) == []
    with pytest.raises(ValueError, match="ONS_ALERT_MIN_POINTS_PER_SECOND"):
        Settings.from_env({"ONS_ALERT_MIN_POINTS_PER_SECOND": "fast"})
    config = Settings.from_env(
        {
            "ONS_METRICS_NAMESPACE": "ONS/Other",
            "ONS_METRICS_ENVIRONMENT": "prod",
            "ONS_ALARM_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alarms",
        }
    ).monitoring
    assert (config.namespace, config.environment) == ("ONS/Other", "prod")
    assert config.alarm_topic_arn and Settings.from_env({}).monitoring.environment == "local"


# -- cost estimate ---------------------------------------------------------------------------


def tfvars(env: str) -> dict[str, str]:
    text = (REPO / "infra" / "envs" / f"{env}.tfvars").read_text()
    return dict(re.findall(r'^(influxdb_\w+)\s*=\s*"?([^"\n]+?)"?\s*$', text, re.MULTILINE))


def test_price_table_states_date_source_and_that_it_must_be_checked() -> None:
    prices = load_prices()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", prices.as_of)
    assert prices.source.startswith("https://aws.amazon.com/timestream/pricing")
    assert isinstance(prices.verified, bool)
    text = PRICES_FILE.read_text()
    assert "CHECK THESE PRICES" in text
    assert set(prices.storage_gb_month) == {
        "InfluxIOIncludedT1",
        "InfluxIOIncludedT2",
        "InfluxIOIncludedT3",
    }
    assert "db.influx.medium" in prices.instance_hourly
    assert prices.storage_label["InfluxIOIncludedT2"] == "Influx IO Included 12K IOPS"
    # The package ships the table (pyproject's package-data includes lib/*.toml).
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"ons_pipeline.lib.ops" = ["*.toml"]' in pyproject  # prices.toml ships


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_every_environment_of_the_terraform_is_priced(env: str) -> None:
    values = tfvars(env)
    estimate = estimate_monthly_cost(
        values["influxdb_instance_type"],
        values["influxdb_storage_type"],
        int(values["influxdb_allocated_storage"]),
        values["influxdb_deployment_type"],
    )
    prices = load_prices()
    factor = 2 if values["influxdb_deployment_type"] == "WITH_MULTIAZ_STANDBY" else 1
    instance = prices.instance_hourly[values["influxdb_instance_type"]] * 730 * factor
    storage = (
        prices.storage_gb_month[values["influxdb_storage_type"]]
        * int(values["influxdb_allocated_storage"])
        * factor
    )
    assert estimate.instance_monthly == pytest.approx(instance, abs=0.01)
    assert estimate.storage_monthly == pytest.approx(storage, abs=0.01)
    assert estimate.total_monthly == pytest.approx(instance + storage, abs=0.02)
    assert (estimate.warning is None) == prices.verified


def test_cost_estimate_multi_az_doubles_and_rejects_impossible_configurations() -> None:
    single = estimate_monthly_cost("db.influx.large", "InfluxIOIncludedT2", 400, "SINGLE_AZ")
    multi = estimate_monthly_cost(
        "db.influx.large", "InfluxIOIncludedT2", 400, "WITH_MULTIAZ_STANDBY"
    )
    assert multi.total_monthly == pytest.approx(2 * single.total_monthly, abs=0.02)
    assert single.storage_label == "Influx IO Included 12K IOPS"
    with pytest.raises(ValueError, match=r"db\.influx\.medium"):
        estimate_monthly_cost("db.r6g.large", "InfluxIOIncludedT1", 50)
    with pytest.raises(ValueError, match="400"):
        estimate_monthly_cost("db.influx.large", "InfluxIOIncludedT3", 100)
    with pytest.raises(ValueError, match="unknown storage"):
        estimate_monthly_cost("db.influx.large", "gp3", 100)
    with pytest.raises(ValueError, match="deployment"):
        estimate_monthly_cost("db.influx.large", "InfluxIOIncludedT1", 100, "MULTI")
