"""Fixtures of the Dagster definition tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ons_pipeline.local.servers import ServerInfo


@pytest.fixture
def cli_env(
    tmp_path: Path, influx_url: str, influx_db: str, moto_server: ServerInfo, s3_bucket: str
) -> dict[str, str]:
    """The environment of an ``ons-pipeline`` command against the test servers: a fresh Dagster
    home, no local servers of its own (``ONS_STATE_DIR`` points nowhere)."""
    return {
        **os.environ,
        "ONS_STATE_DIR": str(tmp_path / "no-local-servers"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "ONS_INFLUX_URL": influx_url,
        "ONS_INFLUX_DATABASE": influx_db,
        "ONS_AWS_ENDPOINT_URL": moto_server.url,
        "ONS_S3_BUCKET": s3_bucket,
    }
