"""Fixtures of the operations tests: a real PostgreSQL (Debian's package), AWS clients on the
moto server, an SNS topic read through an SQS subscription, CloudWatch read-back."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from ons_pipeline.local.postgres import PostgresServer, find_pg_bindir
from ons_pipeline.local.servers import ServerInfo

NAMESPACE = "ONS/Pipeline"


# -- PostgreSQL ---------------------------------------------------------------------------------


@dataclass
class Postgres:
    server: PostgresServer
    info: ServerInfo
    dagster_user: str
    dagster_password: str
    dagster_db: str

    def connect(self, **overrides: Any) -> Any:
        import psycopg2

        params = {
            **self.server.dsn(self.dagster_db, self.dagster_user),
            "password": self.dagster_password,
            "sslmode": "require",
        }
        params.update(overrides)
        return psycopg2.connect(**params)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    """Debian's PostgreSQL on a free loopback port with TLS and password auth; as the
    ``postgres`` user when the tests run as root; stopped by PID at the end of the session."""
    if find_pg_bindir() is None:
        pytest.skip(
            "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin: "
            "`apt-get install -y postgresql` (Debian package) to run the production-storage tests"
        )
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("running as root needs setpriv (util-linux) to start PostgreSQL as postgres")
    import psycopg2

    superuser_password = secrets.token_urlsafe(18)
    server = PostgresServer(tmp_path_factory.mktemp("pg"), password=superuser_password, ssl=True)
    info = server.start(timeout=60)
    try:
        db = Postgres(server, info, "dagster", secrets.token_urlsafe(18), "dagster")
        admin = psycopg2.connect(**server.dsn(), sslmode="require")
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute("CREATE ROLE dagster LOGIN PASSWORD %s", (db.dagster_password,))
            cursor.execute("CREATE DATABASE dagster OWNER dagster")
        admin.close()
        yield db
    finally:
        server.stop()


# -- AWS on moto --------------------------------------------------------------------------------


@pytest.fixture
def aws(moto_server: ServerInfo) -> Any:
    """``aws("cloudwatch")`` → a boto3 client on the moto server."""

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=moto_server.url, region_name="us-east-1")

    return client


@pytest.fixture
def metrics_env() -> str:
    """A fresh Environment dimension value: each test reads back only its own metrics."""
    return f"test-{uuid.uuid4().hex[:10]}"


def metric_values(
    cloudwatch: Any, environment: str, name: str, stat: str = "Sum", namespace: str = NAMESPACE
) -> list[float]:
    now = datetime.now(UTC)
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {
                        "Namespace": namespace,
                        "MetricName": name,
                        "Dimensions": [{"Name": "Environment", "Value": environment}],
                    },
                    "Period": 60,
                    "Stat": stat,
                },
            }
        ],
        StartTime=now - timedelta(hours=2),
        EndTime=now + timedelta(hours=1),
    )
    return list(answer["MetricDataResults"][0]["Values"])


def metric_dimensions(cloudwatch: Any, environment: str) -> dict[str, list[list[dict]]]:
    """``{metric name: [dimension set, ...]}`` of this environment's metrics."""
    found: dict[str, list[list[dict]]] = {}
    paginator = cloudwatch.get_paginator("list_metrics")
    for page in paginator.paginate(Namespace=NAMESPACE):
        for metric in page["Metrics"]:
            dims = metric.get("Dimensions", [])
            if {"Name": "Environment", "Value": environment} in dims:
                found.setdefault(metric["MetricName"], []).append(dims)
    return found


@dataclass
class Inbox:
    """An SNS topic with an SQS queue subscribed: what was published, as received."""

    topic_arn: str
    sqs: Any
    queue_url: str

    def messages(self) -> list[dict[str, Any]]:
        out = []
        while True:
            answer = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            batch = answer.get("Messages", [])
            if not batch:
                return out
            for message in batch:
                out.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )


def subscribe_inbox(aws: Any, topic_arn: str) -> Inbox:
    sqs = aws("sqs")
    queue_url = sqs.create_queue(QueueName=f"inbox-{uuid.uuid4().hex[:10]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    aws("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return Inbox(topic_arn, sqs, queue_url)


@pytest.fixture
def inbox(aws: Any) -> Inbox:
    """A fresh alarm topic (as ONS_ALARM_TOPIC_ARN would name) read through SQS."""
    topic = aws("sns").create_topic(Name=f"alarms-{uuid.uuid4().hex[:10]}")["TopicArn"]
    return subscribe_inbox(aws, topic)
