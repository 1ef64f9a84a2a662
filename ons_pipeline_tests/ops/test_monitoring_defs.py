"""The Dagster side of monitoring: the health sensor, the run-status sensors fed by a real
migration (moto + the real InfluxDB), alerts through SNS → SQS, the cost asset, registration."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import dagster as dg
import pytest
import requests

from ons_pipeline.defs.keys import influxdb_key, parquet_key
from ons_pipeline.defs.migration.assets import migration_assets
from ons_pipeline.defs.monitoring.cost import influxdb_monthly_cost
from ons_pipeline.defs.monitoring.health import (
    HEALTH_KEY,
    influxdb_health,
    influxdb_health_sensor,
    newest_loaded_until,
)
from ons_pipeline.defs.monitoring.run_metrics import (
    PIPELINE_METRICS_KEY,
    pipeline_metrics_on_failure,
    pipeline_metrics_on_success,
)
from ons_pipeline.lib import schema
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.ons_time import day_window
from ons_pipeline.lib.settings import InfluxSettings, MonitoringSettings, Settings
from ons_pipeline.local.servers import free_port
from ons_pipeline.local.staging import stage_day
from ons_pipeline.resources import Monitoring
from ons_pipeline_tests.conftest import run_ended_context
from ons_pipeline_tests.ops.conftest import Inbox, metric_values

DAY = date(2024, 3, 5)


def migrate(
    moto_url: str, bucket: str, influx: InfluxSettings, tables: list[str], day: date = DAY
) -> tuple[dg.DagsterInstance, dg.ExecuteInProcessResult]:
    aws = AwsSettings(endpoint_url=moto_url, bucket=bucket)
    for name in tables:
        stage_day(
            schema.table(name),
            day,
            mode="query",
            endpoint_url=moto_url,
            target=aws,
            s3=aws.client("s3"),
        )
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        migration_assets(),
        partition_key=day.isoformat(),
        resources={"aws": aws, "influxdb": influx},
        selection=[k for t in tables for k in (parquet_key(t), influxdb_key(t))],
        instance=instance,
        raise_on_error=False,
    )
    return instance, result


def monitoring(moto_url: str, environment: str, topic: str | None) -> Monitoring:
    return Monitoring(
        MonitoringSettings(environment=environment, alarm_topic_arn=topic),
        AwsSettings(endpoint_url=moto_url),
    )


def test_health_sensor_records_an_observation_and_publishes_metrics(
    moto_server: Any, influx_url: str, influx_db: str, aws: Any, metrics_env: str, inbox: Inbox
) -> None:
    instance = dg.DagsterInstance.ephemeral()
    resources = {
        "influxdb": InfluxSettings.of(url=influx_url, database=influx_db),
        "monitoring": monitoring(moto_server.url, metrics_env, inbox.topic_arn),
    }
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        result = influxdb_health_sensor(context)
    assert isinstance(result, dg.SensorResult) and not result.run_requests
    (observation,) = result.asset_events
    assert isinstance(observation, dg.AssetObservation) and observation.asset_key == HEALTH_KEY
    metadata = {k: getattr(v, "value", v) for k, v in observation.metadata.items()}
    assert metadata["healthy"] is True and metadata["version"].startswith("1.6")
    assert metadata["query ms"] >= 0 and metadata["write+read ms"] >= 0
    assert metadata["metrics published"] == {"sent": 4}  # nothing loaded yet: no lag
    cloudwatch = aws("cloudwatch")
    assert metric_values(cloudwatch, metrics_env, "InfluxDBHealthy", "Minimum") == [1.0]
    assert len(metric_values(cloudwatch, metrics_env, "InfluxDBQueryLatencyMs", "Maximum")) == 1
    assert inbox.messages() == []


def test_health_sensor_alerts_once_while_influxdb_is_down_then_resolves(
    moto_server: Any, influx_url: str, influx_db: str, aws: Any, metrics_env: str, inbox: Inbox
) -> None:
    instance = dg.DagsterInstance.ephemeral()
    down = InfluxSettings.of(url=f"http://127.0.0.1:{free_port()}", database="ons", timeout=2)
    watch = monitoring(moto_server.url, metrics_env, inbox.topic_arn)
    cursor = None
    for _ in range(2):
        with dg.build_sensor_context(
            instance=instance, cursor=cursor, resources={"influxdb": down, "monitoring": watch}
        ) as context:
            result = influxdb_health_sensor(context)
        cursor = result.cursor
    messages = inbox.messages()
    assert len(messages) == 1, "a standing alert is not repeated within the hour"
    assert messages[0]["Subject"].startswith(f"[ons-pipeline {metrics_env}] CRITICAL: InfluxDB")
    assert set(metric_values(aws("cloudwatch"), metrics_env, "InfluxDBHealthy", "Maximum")) == {0.0}
    up = InfluxSettings.of(url=influx_url, database=influx_db)
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"influxdb": up, "monitoring": watch}
    ) as context:
        influxdb_health_sensor(context)
    (resolved,) = inbox.messages()
    assert "RESOLVED: influxdb_unhealthy" in resolved["Subject"]

    # The on-demand asset fails when InfluxDB is unhealthy, with the probe in its metadata.
    failed = dg.materialize(
        [influxdb_health],
        resources={"influxdb": down, "monitoring": watch},
        instance=instance,
        raise_on_error=False,
    )
    assert not failed.success


def test_run_status_sensor_publishes_the_figures_of_a_real_load(
    moto_server: Any,
    s3_bucket: str,
    influx_url: str,
    influx_db: str,
    aws: Any,
    metrics_env: str,
    inbox: Inbox,
) -> None:
    influx = InfluxSettings.of(url=influx_url, database=influx_db, batch_lines=50)
    instance, result = migrate(moto_server.url, s3_bucket, influx, ["curva_carga", "ear_diario"])
    assert result.success
    event = instance.get_latest_materialization_event(influxdb_key("curva_carga"))
    points = int(event.asset_materialization.metadata["points"].value)  # type: ignore[union-attr]
    context = run_ended_context(
        "pipeline_metrics_on_success",
        result,
        instance,
        resources={"monitoring": monitoring(moto_server.url, metrics_env, inbox.topic_arn)},
    )
    assert pipeline_metrics_on_success(context) is None
    cloudwatch = aws("cloudwatch")
    loaded = metric_values(cloudwatch, metrics_env, "PointsLoaded")
    ear = instance.get_latest_materialization_event(influxdb_key("ear_diario"))
    ear_points = int(ear.asset_materialization.metadata["points"].value)  # type: ignore[union-attr]
    assert loaded == [points + ear_points]
    assert metric_values(cloudwatch, metrics_env, "FailedBatches") == [0.0]
    assert metric_values(cloudwatch, metrics_env, "CheckFailures") == [0.0]
    assert metric_values(cloudwatch, metrics_env, "RunFailures") == [0.0]
    assert metric_values(cloudwatch, metrics_env, "BatchLatencySeconds", "Maximum")[0] > 0
    lag = metric_values(cloudwatch, metrics_env, "LoadLagSeconds", "Maximum")
    until = newest_loaded_until(instance)
    assert until is not None and until.date() == date(2024, 3, 6)
    assert len(lag) == 1 and lag[0] > 0
    assert inbox.messages() == [], "a clean run raises no alert"
    (record,) = instance.fetch_observations(PIPELINE_METRICS_KEY, limit=5).records
    recorded = record.asset_observation.metadata  # type: ignore[union-attr]
    assert recorded["points"].value == points + ear_points
    assert recorded["failed batches"].value == 0


def test_failure_sensor_reports_failed_batches_and_alerts(
    moto_server: Any,
    s3_bucket: str,
    influx_url: str,
    influx_db: str,
    aws: Any,
    metrics_env: str,
    inbox: Inbox,
) -> None:
    # A field of the wrong type already in that day's shard: every batch of the day is rejected.
    spec = schema.table("curva_carga")
    field = spec.field_names[0]
    stamp = day_window(DAY).start_ns
    requests.post(
        f"{influx_url}/write",
        params={"db": influx_db},
        data=f'{spec.measurement} {field}="text" {stamp}\n',
        timeout=10,
    ).raise_for_status()
    influx = InfluxSettings.of(url=influx_url, database=influx_db, batch_lines=50)
    instance, result = migrate(moto_server.url, s3_bucket, influx, ["curva_carga"])
    assert not result.success
    context = run_ended_context(
        "pipeline_metrics_on_failure",
        result,
        instance,
        failed=True,
        resources={"monitoring": monitoring(moto_server.url, metrics_env, inbox.topic_arn)},
    )
    assert pipeline_metrics_on_failure(context) is None
    cloudwatch = aws("cloudwatch")
    failed = metric_values(cloudwatch, metrics_env, "FailedBatches")
    assert failed and failed[0] >= 1
    assert metric_values(cloudwatch, metrics_env, "RunFailures") == [1.0]
    messages = inbox.messages()
    keys = {m["MessageAttributes"]["alert"]["Value"] for m in messages}
    assert keys == {"failed_batches"}
    body = json.loads(messages[0]["Message"].split("\n\n", 1)[1])
    assert body["details"]["partitions"] == [f"curva_carga {DAY.isoformat()}"]


def test_cost_asset_reports_the_estimate_with_its_provenance() -> None:
    result = dg.materialize(
        [influxdb_monthly_cost],
        run_config={
            "ops": {
                "influxdb_monthly_cost": {
                    "config": {
                        "instance_type": "db.influx.2xlarge",
                        "storage_type": "InfluxIOIncludedT2",
                        "allocated_storage_gb": 400,
                        "deployment_type": "WITH_MULTIAZ_STANDBY",
                    }
                }
            }
        },
    )
    metadata = result.asset_materializations_for_node("influxdb_monthly_cost")[0].metadata
    assert metadata["total per month"].value > metadata["instance per month"].value > 0
    assert metadata["prices as of"].value and "aws.amazon.com" in metadata["prices source"].value
    assert "per month" in metadata["breakdown"].value
    bad = dg.materialize(
        [influxdb_monthly_cost],
        run_config={"ops": {"influxdb_monthly_cost": {"config": {"instance_type": "m5.large"}}}},
        raise_on_error=False,
    )
    assert not bad.success


def test_definitions_register_monitoring(monkeypatch: pytest.MonkeyPatch) -> None:
    from ons_pipeline.definitions import defs

    names = {sensor.name for sensor in defs.sensors}
    assert {
        "influxdb_health_sensor",
        "pipeline_metrics_on_success",
        "pipeline_metrics_on_failure",
    } <= names
    graph = defs.resolve_asset_graph()
    assert {HEALTH_KEY, PIPELINE_METRICS_KEY, dg.AssetKey("influxdb_monthly_cost")} <= set(
        graph.get_all_asset_keys()
    )
    env = {
        "ONS_METRICS_ENVIRONMENT": "prod",
        "ONS_METRICS_NAMESPACE": "ONS/Pipeline",
        "ONS_ALARM_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:ons-alarms",
    }
    settings = Settings.from_env(env).monitoring
    assert (settings.environment, settings.alarm_topic_arn) == ("prod", env["ONS_ALARM_TOPIC_ARN"])
    assert settings.sensors_running  # a deployment that names its environment runs the sensors


def test_alerts_go_to_a_local_topic_when_none_is_configured(
    moto_server: Any, aws: Any, metrics_env: str
) -> None:
    from ons_pipeline.lib.ops.monitoring import ALERTS_TOPIC_NAME, Alert
    from ons_pipeline.lib.ops.notify import ensure_local_topic
    from ons_pipeline_tests.ops.conftest import subscribe_inbox

    local = subscribe_inbox(aws, ensure_local_topic(aws("sns"), ALERTS_TOPIC_NAME))
    assert local.topic_arn.endswith(f":{ALERTS_TOPIC_NAME}")
    watch = monitoring(moto_server.url, metrics_env, None)
    sent = watch.send_alerts(
        [Alert("x", "warning", "local alert")], "test", dg.get_dagster_logger()
    )
    assert sent["topic"] == local.topic_arn
    assert [m["Subject"] for m in local.messages()] == [
        f"[ons-pipeline {metrics_env}] WARNING: local alert"
    ]
    remote = Monitoring(MonitoringSettings(environment=metrics_env), AwsSettings())
    assert remote.topic_arn(aws("sns")) is None  # real AWS without a topic: alerts only logged
