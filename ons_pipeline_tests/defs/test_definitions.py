"""The code location loads, validates, and the real webserver serves the project's assets."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from ons_pipeline.lib import schema
from ons_pipeline.local.servers import free_port

REPO = Path(__file__).resolve().parents[2]


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def test_dagster_definitions_validate(tmp_path: Path) -> None:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "ONS_STATE_DIR": str(tmp_path / "s")}
    result = subprocess.run(
        [_bin("dagster"), "definitions", "validate", "-w", str(REPO / "workspace.yaml")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


@pytest.mark.slow
def test_webserver_serves_every_table_asset(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "ONS_STATE_DIR": str(tmp_path / "s")}
    process = subprocess.Popen(
        [_bin("dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        keys: set[str] = set()
        deadline = time.monotonic() + 120
        query = {"query": "{ assetNodes { assetKey { path } groupName } }"}
        while time.monotonic() < deadline:
            try:
                body = requests.post(f"http://127.0.0.1:{port}/graphql", json=query, timeout=5)
                nodes = body.json().get("data", {}).get("assetNodes") or []
                keys = {"/".join(n["assetKey"]["path"]) for n in nodes}
                if keys:
                    break
            except (requests.ConnectionError, ValueError):
                pass
            time.sleep(1)
        for name in schema.tables():
            for prefix in ("timestream", "parquet", "influxdb"):
                assert f"{prefix}/{name}" in keys, f"{prefix}/{name} missing from the UI"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
