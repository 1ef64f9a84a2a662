"""A fast subset of ``benchmarks/faults.py``: the injectors, and a migration hit by a kill -9 of
its run worker and by an InfluxDB crash mid-load, each resumed, then compared point by point."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import boto3
import dagster as dg
import pytest
import requests
from botocore.exceptions import ClientError

from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.settings import InfluxSettings
from ons_pipeline.local.faults import (
    RESET,
    FaultProxy,
    InfluxOutage,
    NotYet,
    Request,
    Trigger,
    compare,
    influx_points,
    influx_write,
    kill9,
    later,
    s3_error,
    s3_write_under,
    sender,
    source_points,
)
from ons_pipeline.local.servers import InfluxServer, ServerInfo
from ons_pipeline_tests.conftest import influxql
from ons_pipeline_tests.defs.cli import migrate_command, stage_exports
from ons_pipeline_tests.defs.test_migration import materialize_day, stage

DAY = date(2024, 3, 5)


@pytest.fixture
def own_influx(tmp_path: Path) -> Iterator[ServerInfo]:
    """An InfluxDB of this test alone: it is crashed and restarted."""
    server = InfluxServer(tmp_path / "servers")
    info = server.start()
    yield info
    InfluxServer(tmp_path / "servers", port=info.port).stop()


def test_proxy_resets_the_nth_write_cuts_and_refuses_dead_letters(
    influx_url: str, influx_db: str, moto_server: ServerInfo, s3_bucket: str
) -> None:
    port = int(influx_url.rsplit(":", 1)[1])
    with FaultProxy(port) as proxy, requests.Session() as session:
        trigger = proxy.add(Trigger(influx_write, 2, lambda r: RESET))
        url = f"{proxy.url}/write"
        assert session.post(url, params={"db": influx_db}, data="m v=1 1").status_code == 204
        with pytest.raises(requests.ConnectionError):
            session.post(url, params={"db": influx_db}, data="m v=2 2")
        assert isinstance(trigger, Trigger) and trigger.fired.is_set()
        assert session.post(url, params={"db": influx_db}, data="m v=3 3").status_code == 204
        proxy.cut()
        with pytest.raises(requests.ConnectionError):
            session.post(url, params={"db": influx_db}, data="m v=4 4")
        proxy.restore()
        assert session.post(url, params={"db": influx_db}, data="m v=5 5").status_code == 204
    body = influxql(influx_url, 'SELECT count(v) FROM "m"', influx_db)
    assert body["results"][0]["series"][0]["values"][0][1] == 3  # 1, 3 and 5

    moto_port = int(moto_server.url.rsplit(":", 1)[1])
    with FaultProxy(moto_port) as proxy:
        refused = s3_write_under(s3_bucket, "deadletter")
        proxy.add(lambda r: s3_error(403, "AccessDenied", "no") if refused(r) else None)
        s3 = boto3.client("s3", endpoint_url=proxy.url)
        with pytest.raises(ClientError, match="AccessDenied"):
            s3.put_object(Bucket=s3_bucket, Key="deadletter/x/y.json", Body=b"{}")
        s3.put_object(Bucket=s3_bucket, Key="parquet/x/y.parquet", Body=b"x" * 2_000_000)
        assert proxy.stats.replied == 1
        # A server that closes the connection after a big answer: the whole answer gets through,
        # once (a reset there would make the client retry: hidden, repeated requests).
        body = os.urandom(8_000_000)
        s3.put_object(Bucket=s3_bucket, Key="big", Body=body)
        for _ in range(3):
            assert s3.get_object(Bucket=s3_bucket, Key="big")["Body"].read() == body
        assert proxy.stats.requests[f"GET /{s3_bucket}"] == 3


def test_sender_is_the_process_that_opened_the_connection(influx_url: str) -> None:
    port = int(influx_url.rsplit(":", 1)[1])
    with FaultProxy(port) as proxy:
        found: list[int | None] = []

        def who(request: Request) -> None:
            found.append(sender(request, proxy, os.getpid()))

        proxy.add(Trigger(lambda r: r.path.startswith("/ping"), 1, who))
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"import requests, time; requests.get('{proxy.url}/ping'); time.sleep(30)",
            ]
        )
        try:
            deadline = time.monotonic() + 20
            while not found and time.monotonic() < deadline:
                time.sleep(0.05)
            assert found == [child.pid]
        finally:
            kill9(child.pid)
            child.wait()
    with pytest.raises(ValueError):
        Trigger(influx_write, 0, lambda r: None)
    assert issubclass(NotYet, Exception)


def test_influx_crash_mid_load_is_absorbed_or_fails_loudly_and_the_rerun_completes(
    tmp_path: Path, own_influx: ServerInfo, moto_server: ServerInfo, s3_bucket: str
) -> None:
    """InfluxDB killed (SIGKILL) at the 4th write of a day and started again on the same port and
    data 1 s later: the load's retries carry it through; nothing lost, nothing extra."""
    table = "cmo_semihorario"
    outage = InfluxOutage(tmp_path / "servers")
    with FaultProxy(own_influx.port) as proxy:
        restarts = []

        def crash(request: Request) -> str:
            outage.stop(crash=True)
            restarts.append(later(1.0, outage.start))
            return RESET

        proxy.add(Trigger(influx_write, 4, crash))
        aws = AwsSettings(endpoint_url=moto_server.url, bucket=s3_bucket)
        influx = InfluxSettings.of(url=proxy.url, database="faults", batch_lines=20)
        resources = {"aws": aws, "influxdb": influx}
        stage(resources, [table], [DAY])
        with dg.instance_for_test() as instance:
            result = materialize_day(resources, DAY, [table], instance)
            for thread in restarts:
                thread.join()
            assert restarts, "the crash must land inside the load"
            assert outage.stops == 1
            if not result.success:  # retries ran out before the restart: the day failed loudly
                stage(resources, [table], [DAY])
                assert materialize_day(resources, DAY, [table], instance).success
    counts = compare(source_points(table, DAY), influx_points(own_influx.url, "faults", table, DAY))
    assert counts.points > 150 and counts.clean, counts


@pytest.mark.slow
def test_run_worker_killed_mid_load_fails_the_command_and_migrate_again_completes(
    cli_env: dict[str, str], influx_url: str, influx_db: str
) -> None:
    """The user's path: `ons-pipeline migrate` (an asset backfill run by the daemon it starts);
    the run worker that sends the 3rd write is killed with SIGKILL. The command fails naming the
    day; `ons-pipeline migrate` again loads it; every point equals the source."""
    table = "geracao_usina"
    port = int(influx_url.rsplit(":", 1)[1])
    env = {
        **cli_env,
        "ONS_INFLUX_BATCH_LINES": "1000",
        "ONS_INGEST_SENSOR": "stopped",
        "ONS_INGEST_VERIFY": "stopped",
    }
    command = migrate_command(table, DAY, DAY, timeout_s=240)
    with FaultProxy(port) as proxy:
        env["ONS_INFLUX_URL"] = proxy.url
        # One page per day and a spare answer: real Timestream answers a repeated query again.
        stage_exports(env, table, [DAY], page_bytes=1 << 30, answers=2)
        killed: list[int] = []
        migrate = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

        def kill_worker(request: Request) -> str:
            pid = sender(request, proxy, migrate.pid)
            if pid is None:
                raise NotYet
            kill9(pid)
            killed.append(pid)
            return RESET

        proxy.add(Trigger(influx_write, 3, kill_worker))
        output, _ = migrate.communicate(timeout=300)
        assert killed, output
        assert migrate.returncode != 0, output
        assert f"1 table-day(s) failed: {table} {DAY}" in output, output
        proxy.clear()
        again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0, again.stdout + again.stderr
    counts = compare(source_points(table, DAY), influx_points(influx_url, influx_db, table, DAY))
    assert counts.points > 10_000 and counts.clean, counts
