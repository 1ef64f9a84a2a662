"""The project's own server management against the real binaries."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import requests

from ons_pipeline.local.servers import InfluxServer, MotoServer, ServerError
from ons_pipeline_tests.conftest import influx_write, influxql


def test_influx_write_and_read_back_through_influxql(influx_url: str, influx_db: str) -> None:
    lines = (
        "curva_carga,id_subsistema=SE,nom_subsistema=SUDESTE "
        "val_cargaenergiahomwmed=36803.90999999 "
        "1541257200000000000\n"
        "curva_carga,id_subsistema=S,nom_subsistema=SUL val_cargaenergiahomwmed=9988.92500427 "
        "1541257200000000000\n"
    )
    influx_write(influx_url, influx_db, lines)
    body = influxql(
        influx_url,
        'SELECT "val_cargaenergiahomwmed" FROM "curva_carga" GROUP BY "id_subsistema"',
        influx_db,
    )
    series = {s["tags"]["id_subsistema"]: s["values"] for s in body["results"][0]["series"]}
    assert series == {
        "S": [[1541257200000000000, 9988.92500427]],
        "SE": [[1541257200000000000, 36803.90999999]],
    }


def test_start_is_idempotent_and_stale_state_is_replaced(tmp_path: Path) -> None:
    server = InfluxServer(tmp_path)
    first = server.start()
    try:
        again = InfluxServer(tmp_path).start()
        assert again.pid == first.pid, "a running server must be reused, not duplicated"
        # Simulate a crash: kill the process, leave the state file behind.
        os.kill(first.pid, signal.SIGKILL)
        os.waitpid(first.pid, 0)
        assert server.status()[0] == "stale"
        restarted = server.start()
        assert restarted.pid != first.pid
        assert server.status()[0] == "running"
        assert requests.get(f"{restarted.url}/ping", timeout=5).status_code == 204
    finally:
        server.stop()
    assert server.status()[0] == "stopped"
    assert server.stop() is False


def test_missing_binary_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ServerError, match="apt-get install -y influxdb"):
        InfluxServer(tmp_path, binary=str(tmp_path / "no-influxd")).start()


def test_moto_server_answers(moto_server) -> None:  # type: ignore[no-untyped-def]
    assert MotoServer(Path(moto_server.state_dir).parent).status()[0] == "running"
    import boto3

    s3 = boto3.client("s3")
    assert moto_server.url in s3.meta.endpoint_url
    s3.create_bucket(Bucket="probe-bucket")
    assert "probe-bucket" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
