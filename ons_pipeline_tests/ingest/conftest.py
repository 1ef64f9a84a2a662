"""Fixtures of the continuous-loading tests: sample paths, resources on the real servers."""

from __future__ import annotations

import warnings
from pathlib import Path

import dagster as dg
import pytest

from ons_pipeline.defs.ingest.sensors import ingest_verify_sensor
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.schema import MAPPING_FILE, TableSpec, load_mappings
from ons_pipeline.lib.settings import InfluxSettings
from ons_pipeline_tests.conftest import run_ended_context

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "ons_samples"
EXTRA_SAMPLES = Path(__file__).resolve().parent / "data"

# The daily "carga de energia" and weekly CMO datasets are not in tables.toml: the example user
# mapping file adds them, to show that a new dataset needs only a mapping entry.
EXAMPLE_MAPPING = Path(__file__).resolve().parents[2] / "examples" / "mappings" / "ons_extra.toml"


@pytest.fixture(scope="session")
def extended_mapping() -> dict[str, TableSpec]:
    return load_mappings([MAPPING_FILE, EXAMPLE_MAPPING])


@pytest.fixture
def aws(moto_server, s3_bucket) -> AwsSettings:  # type: ignore[no-untyped-def]
    return AwsSettings(endpoint_url=moto_server.url, bucket=s3_bucket)


@pytest.fixture
def influxdb(influx_url, influx_db) -> InfluxSettings:  # type: ignore[no-untyped-def]
    return InfluxSettings.of(url=influx_url, database=influx_db, batch_lines=2_000)


def verify_requests(
    ingested: dg.ExecuteInJobResult, instance: dg.DagsterInstance, defs: dg.Definitions
) -> list[dg.RunRequest]:
    """What the ``ons_ingest_verify`` sensor asks for after the successful ingest run
    ``ingested``: one verify run per UTC day it touched."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)  # repository_def is in beta
        context = run_ended_context(
            "ons_ingest_verify", ingested, instance, repository_def=defs.get_repository_def()
        )
    return list(ingest_verify_sensor(context) or [])
