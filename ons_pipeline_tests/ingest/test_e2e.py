"""End to end: files put into S3 reach the real InfluxDB through the running sensor and daemon."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import boto3
import dagster as dg
import pytest
import yaml

from ons_pipeline.cli.common import stop_process_group
from ons_pipeline.cli.demo import demo_drop_and_wait
from ons_pipeline.lib import ons_time
from ons_pipeline.local.generator import generate_day
from ons_pipeline_tests.conftest import influxql
from ons_pipeline_tests.ingest.conftest import SAMPLES

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SAMPLE = (SAMPLES / "curva_carga_2018_excerpt.csv").read_bytes()
REMOVED_LINE = b"N;NORTE;2018-11-04 05:00:00;"


@pytest.fixture
def daemon(
    tmp_path: Path, moto_server, s3_bucket, influx_url, influx_db, monkeypatch
) -> Iterator[dict[str, str]]:  # type: ignore[no-untyped-def]
    """A real ``dagster-daemon`` on a temporary instance, pointed at the test servers."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    # The project's instance settings, with the run queue polled every second instead of 5.
    instance_config = yaml.safe_load((REPO / "dagster.yaml").read_text())
    instance_config["run_coordinator"]["config"] = {"dequeue_interval_seconds": 1}
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance_config))
    env = {
        "ONS_STATE_DIR": str(tmp_path / "no-local-servers"),
        "DAGSTER_HOME": str(home),
        "ONS_INFLUX_URL": influx_url,
        "ONS_INFLUX_DATABASE": influx_db,
        "ONS_AWS_ENDPOINT_URL": moto_server.url,
        "ONS_S3_BUCKET": s3_bucket,
        "ONS_INGEST_SENSOR": "running",
        # The check re-runs (a run per touched day, Great Expectations inside) would double the
        # wall time on 2 cores; test_ingest.py runs that sensor and job against the same stores.
        "ONS_INGEST_VERIFY": "stopped",
        # rollup runs would compete for the run slots and cores with the loads waited for below
        "ONS_ROLLUPS_SENSOR": "stopped",
        "ONS_INGEST_SENSOR_INTERVAL": "1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    log = (tmp_path / "daemon.log").open("wb")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("dagster-daemon")),
            "run",
            "-m",
            "ons_pipeline.definitions",
        ],
        cwd=REPO,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield env
    finally:
        stop_process_group(process, timeout=20)
        log.close()


def wait_for(what: str, check: Callable[[], bool], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    raise AssertionError(f"timed out waiting for {what}; daemon log tail:\n{tail}")


def count(url: str, db: str, where: str = "") -> int:
    body = influxql(url, f'SELECT count("val_cargaenergiahomwmed") FROM "curva_carga" {where}', db)
    series = body["results"][0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


def test_files_dropped_in_s3_are_loaded_by_the_running_sensor(
    daemon: dict[str, str], influx_url: str, influx_db: str, tmp_path: Path
) -> None:
    s3 = boto3.client("s3", endpoint_url=daemon["ONS_AWS_ENDPOINT_URL"])
    bucket = daemon["ONS_S3_BUCKET"]
    log = tmp_path / "daemon.log"
    key = "raw/curva_carga/CURVA_CARGA_2018-11.csv"
    s3.put_object(Bucket=bucket, Key=key, Body=SAMPLE)
    wait_for("the first file in InfluxDB", lambda: count(influx_url, influx_db) == 140, 60, log)

    # a correction re-publishes the same period with one value withdrawn (the row left empty, as
    # ONS writes missing data): that point disappears
    removed_at = ons_time.to_ns(datetime(2018, 11, 4, 7, tzinfo=UTC))  # 05:00 local (-02)
    at_removed = f"WHERE time = {removed_at}"
    assert count(influx_url, influx_db, at_removed) == 4
    corrected = b"".join(
        REMOVED_LINE + b"\n" if line.startswith(REMOVED_LINE) else line
        for line in SAMPLE.splitlines(keepends=True)
    )
    assert corrected != SAMPLE
    s3.put_object(Bucket=bucket, Key=key, Body=corrected)
    wait_for("the correction", lambda: count(influx_url, influx_db, at_removed) == 3, 90, log)
    assert count(influx_url, influx_db) == 139

    # the demo's helper finds the running daemon and waits for its own file
    report = demo_drop_and_wait(
        "curva_carga",
        date(2018, 11, 8),
        timeout=90,
        home=Path(daemon["DAGSTER_HOME"]),
        echo=lambda _: None,
    )
    assert report.status == "SUCCESS"
    assert report.points == generate_day("curva_carga", date(2018, 11, 8)).num_rows

    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs(filters=dg.RunsFilter(job_name="ingest_raw_object"))
        assert len(runs) == 3 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        assert {r.tags["dagster/sensor_name"] for r in runs} == {"ons_raw_files"}
