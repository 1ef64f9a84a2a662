"""Session fixtures: a real InfluxDB and a moto server on loopback, started by the tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import requests

from ons_pipeline.local.servers import InfluxServer, MotoServer, ServerInfo

# Every boto3 client in the test process talks to the local moto server and nothing else.
_AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def server_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("servers")


@pytest.fixture(scope="session")
def influx_server(server_state_dir: Path) -> Iterator[ServerInfo]:
    server = InfluxServer(server_state_dir)
    info = server.start()
    yield info
    server.stop()


@pytest.fixture(scope="session")
def moto_server(server_state_dir: Path) -> Iterator[ServerInfo]:
    server = MotoServer(server_state_dir)
    info = server.start()
    saved = {k: os.environ.get(k) for k in [*_AWS_TEST_ENV, "AWS_ENDPOINT_URL"]}
    os.environ.update(_AWS_TEST_ENV)
    os.environ["AWS_ENDPOINT_URL"] = info.url
    yield info
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    server.stop()


@pytest.fixture(scope="session")
def influx_url(influx_server: ServerInfo) -> str:
    return influx_server.url


def run_ended_context(
    sensor: str,
    result: dg.ExecuteInJobResult,
    instance: dg.DagsterInstance,
    *,
    failed: bool = False,
    **options: object,
) -> dg.RunStatusSensorContext:
    """The context Dagster hands the run status sensor ``sensor`` when ``result``'s run ends
    (``failed``: the run-failure sensor's context)."""
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor,
        dagster_event=result.get_run_failure_event() if failed else result.get_run_success_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        **options,  # type: ignore[arg-type]
    )
    return context.for_run_failure() if failed else context


def influx_write(url: str, db: str, data: bytes | str) -> None:
    """POST line protocol (ns timestamps) to the test server; it must answer 204."""
    response = requests.post(
        f"{url}/write", params={"db": db, "precision": "ns"}, data=data, timeout=60
    )
    assert response.status_code == 204, response.text


def influxql(url: str, query: str, db: str | None = None) -> dict:
    """Run InfluxQL on the test server and return the JSON body (raises on HTTP errors)."""
    params = {"q": query, "epoch": "ns"}
    if db:
        params["db"] = db
    response = requests.post(f"{url}/query", params=params, timeout=30)
    response.raise_for_status()
    return response.json()


@pytest.fixture
def influx_db(influx_url: str) -> Iterator[str]:
    """A fresh, empty database for one test."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    influxql(influx_url, f'CREATE DATABASE "{name}"')
    yield name
    influxql(influx_url, f'DROP DATABASE "{name}"')


@pytest.fixture
def s3_bucket(moto_server: ServerInfo) -> str:
    """A fresh bucket on the moto server for one test."""
    import boto3

    name = f"test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_server.url).create_bucket(Bucket=name)
    return name
