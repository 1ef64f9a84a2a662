"""The integrity checks inside real Dagster runs (moto + the real InfluxDB): a backfill where one
day has bad rows, the migration report, and the SNS notifications of failure and completion."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import boto3
import dagster as dg
import pyarrow as pa
import pytest
import requests

from ons_pipeline.defs.integrity.report import migration_report
from ons_pipeline.defs.integrity.sensors import (
    migration_completion_notification,
    migration_failure_notification,
)
from ons_pipeline.defs.keys import (
    EXACT_VERIFICATION,
    GX_PLAUSIBILITY,
    GX_STRUCTURE,
    influxdb_key,
    parquet_key,
)
from ons_pipeline.defs.migration.assets import migration_assets
from ons_pipeline.defs.migration.jobs import migration_jobs, table_job_name
from ons_pipeline.lib import schema
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.migration.timestream import export_query, stage_query_results, table_to_pages
from ons_pipeline.lib.ons_time import day_window
from ons_pipeline.lib.ops.notify import LOCAL_TOPIC_NAME, resolve_topic
from ons_pipeline.lib.settings import InfluxSettings, MonitoringSettings, Settings
from ons_pipeline.local.staging import stage_day
from ons_pipeline.resources import Monitoring
from ons_pipeline_tests.conftest import run_ended_context
from ons_pipeline_tests.integrity.conftest import generated

TABLE = "curva_carga"
DAYS = [date(2018, 11, 1) + timedelta(days=k) for k in range(3)]
GOOD, BAD, ODD = DAYS  # ODD: an implausible (negative) load, loaded with a warning
TIMESTREAM_DB = "ons_integrity_tests"  # staged SQL of its own on the shared moto server


def _count(url: str, db: str, day: date) -> int:
    window = day_window(day)
    body = requests.post(
        f"{url}/query",
        params={
            "db": db,
            "q": f'SELECT count("val_cargaenergiahomwmed") FROM "{TABLE}" '
            f"WHERE time >= {window.start_ns} AND time < {window.end_ns}",
        },
        timeout=30,
    ).json()
    series = body["results"][0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


def _stage(aws: AwsSettings, day: date, rows: pa.Table) -> None:
    spec = schema.table(TABLE)
    sql = export_query(spec, TIMESTREAM_DB, day_window(day))
    stage_query_results(str(aws.endpoint_url), {sql: table_to_pages([rows], spec)})


@pytest.fixture(scope="module")
def backfill(moto_server, influx_url) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    bucket = f"integrity-{uuid.uuid4().hex[:10]}"
    database = f"integrity_{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=moto_server.url).create_bucket(Bucket=bucket)
    requests.post(f"{influx_url}/query", params={"q": f'CREATE DATABASE "{database}"'}, timeout=30)
    aws = AwsSettings(
        endpoint_url=moto_server.url, bucket=bucket, timestream_database=TIMESTREAM_DB
    )
    resources = {
        "aws": aws,
        "influxdb": InfluxSettings.of(url=influx_url, database=database, batch_lines=2_000),
    }
    stage_day(
        schema.table(TABLE),
        GOOD,
        mode="query",
        endpoint_url=moto_server.url,
        target=aws,
    )
    rows = generated(TABLE, BAD).to_pylist()
    for row in rows[10:13]:  # a tag value InfluxDB cannot store (a newline): blocking
        row["nom_subsistema"] = row["nom_subsistema"] + "\nX"
    _stage(aws, BAD, pa.Table.from_pylist(rows, schema.table(TABLE).arrow_schema()))
    rows = generated(TABLE, ODD).to_pylist()
    rows[5]["val_cargaenergiahomwmed"] = -42.0
    _stage(aws, ODD, pa.Table.from_pylist(rows, schema.table(TABLE).arrow_schema()))

    defs = dg.Definitions(
        assets=migration_assets(),
        jobs=migration_jobs(),
        resources=resources,
    )
    job = defs.resolve_job_def(table_job_name(TABLE))
    instance = dg.DagsterInstance.ephemeral()
    results = {
        day: job.execute_in_process(
            partition_key=day.isoformat(), instance=instance, raise_on_error=False
        )
        for day in DAYS
    }
    yield {
        "results": results,
        "instance": instance,
        "resources": resources,
        "aws": aws,
        "url": influx_url,
        "database": database,
    }
    requests.post(f"{influx_url}/query", params={"q": f'DROP DATABASE "{database}"'}, timeout=30)


def _evaluation(result: dg.ExecuteInProcessResult, check: str) -> Any:
    evaluations = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    return next(e for e in evaluations if e.check_name == check)  # type: ignore[union-attr]


def test_bad_day_fails_its_blocking_gx_check_and_is_not_loaded(backfill) -> None:  # type: ignore[no-untyped-def]
    result = backfill["results"][BAD]
    assert not result.success
    structure = _evaluation(result, GX_STRUCTURE)
    assert not structure.passed and structure.asset_key == parquet_key(TABLE)
    details = structure.metadata["details"].value
    storable = next(d for d in details if d["expectation"] == "ExpectColumnValuesToMatchRegex")
    assert storable["unexpected_count"] == 3 and storable["blocking"]
    assert "ExpectColumnValuesToMatchRegex" in structure.metadata["result"].value
    loads = [
        e for e in result.get_asset_materialization_events() if e.asset_key == influxdb_key(TABLE)
    ]
    assert loads == [], "the day must not be loaded"
    assert _count(backfill["url"], backfill["database"], BAD) == 0


def test_other_days_of_the_backfill_load_and_verify_exactly(backfill) -> None:  # type: ignore[no-untyped-def]
    for day in (GOOD, ODD):
        result = backfill["results"][day]
        assert result.success, day
        verification = _evaluation(result, EXACT_VERIFICATION)
        assert verification.passed and verification.asset_key == influxdb_key(TABLE)
        meta = verification.metadata
        assert meta["source checksum"].value == meta["influxdb checksum"].value
        assert meta["influxdb points"].value == _count(backfill["url"], backfill["database"], day)
        assert meta["influxdb points"].value > 0
    warning = _evaluation(backfill["results"][ODD], GX_PLAUSIBILITY)
    assert not warning.passed and warning.severity == dg.AssetCheckSeverity.WARN
    assert "-42.0" in warning.description
    assert _evaluation(backfill["results"][GOOD], GX_PLAUSIBILITY).passed


def test_migration_report_renders_done_failed_and_checksums(backfill, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "report.md"
    result = dg.materialize(
        [migration_report],
        instance=backfill["instance"],
        resources={"aws": backfill["aws"]},
        run_config={
            "ops": {
                "reports__migration": {
                    "config": {
                        "first_day": GOOD.isoformat(),
                        "last_day": (ODD + timedelta(days=1)).isoformat(),
                        "path": str(target),
                    }
                }
            }
        },
    )
    assert result.success
    text = target.read_text()
    row = next(line for line in text.splitlines() if line.startswith(f"| {TABLE} |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1:4] == ["2", "1", "1"]  # done, failed, pending (the day after ODD)
    assert cells[6] == "2/2"  # both loaded days verified exactly
    assert f"**{TABLE} {BAD}** failed" in text and "blocking GX check failed" in text
    assert f"gap {BAD} not migrated" in text
    metadata = result.asset_materializations_for_node("reports__migration")[0].metadata
    assert metadata["report"].value == text
    body = (
        boto3.client("s3")
        .get_object(Bucket=backfill["aws"].bucket, Key="reports/migration-report.md")["Body"]
        .read()
        .decode()
    )
    assert body == text


@pytest.fixture
def subscribed_queue(moto_server) -> Iterator[tuple[Any, str, str]]:  # type: ignore[no-untyped-def]
    sns = boto3.client("sns", endpoint_url=moto_server.url)
    sqs = boto3.client("sqs", endpoint_url=moto_server.url)
    topic = sns.create_topic(Name=f"ons-test-{uuid.uuid4().hex[:8]}")["TopicArn"]
    queue = sqs.create_queue(QueueName=f"ons-test-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["QueueArn"])
    yield sqs, queue, topic


def _received(sqs: Any, queue: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def test_failure_and_completion_are_published_to_sns(backfill, subscribed_queue) -> None:  # type: ignore[no-untyped-def]
    sqs, queue, topic = subscribed_queue
    instance, aws = backfill["instance"], backfill["aws"]
    monitoring = Monitoring(MonitoringSettings(notification_topic_arn=topic), aws)
    failed = backfill["results"][BAD]
    context = run_ended_context(
        "migration_failure_notification",
        failed,
        instance,
        failed=True,
        resources={"monitoring": monitoring},
    )
    migration_failure_notification(context)
    envelope = _received(sqs, queue)[0]
    message = json.loads(envelope["Message"])
    assert message["event"] == "failure" and message["partition"] == BAD.isoformat()
    assert message["tables"] == [TABLE] and message["job"] == table_job_name(TABLE)
    assert "ExpectColumnValuesToMatchRegex" in message["error"]
    assert message["checks"][0]["check"] == GX_STRUCTURE
    assert envelope["Subject"].startswith(f"ons-pipeline: migrate_{TABLE} FAILED {BAD}")

    done = backfill["results"][GOOD]
    context = run_ended_context(
        "migration_completion_notification", done, instance, resources={"monitoring": monitoring}
    )
    migration_completion_notification(context)
    message = json.loads(_received(sqs, queue)[0]["Message"])
    assert message["event"] == "completed" and message["partition"] == GOOD.isoformat()
    assert message["tables"] == [TABLE]
    assert message["figures"]["points"] == _count(backfill["url"], backfill["database"], GOOD)
    assert message["figures"]["partitions verified exactly"] == 1


def test_local_topic_is_created_when_none_is_configured(moto_server) -> None:  # type: ignore[no-untyped-def]
    sns = boto3.client("sns", endpoint_url=moto_server.url)
    arn = resolve_topic(sns, local=True, arn=None)
    assert arn is not None and arn.endswith(f":{LOCAL_TOPIC_NAME}")
    assert resolve_topic(sns, local=False, arn=None) is None
    assert resolve_topic(sns, local=False, arn="arn:x") == "arn:x"
    assert Settings.from_env({"ONS_SNS_TOPIC_ARN": "arn:y"}).monitoring.notification_topic_arn
