"""Fixtures of the continuous-loading tests: sample paths, resources on the real servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.schema import MAPPING_FILE, TableSpec, load_mapping
from ons_pipeline.lib.settings import InfluxSettings

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "ons_samples"
EXTRA_SAMPLES = Path(__file__).resolve().parent / "data"

# The daily "carga de energia" dataset is not in tables.toml; tests add it to a copy of the
# mapping to show that a new dataset needs only a mapping entry.
CARGA_ENERGIA = """
[tables.carga_energia]
description = "Carga de energia diária por subsistema (test-only entry)"
source = "ons"
measure_name = "carga"
grain = "1d"
tags = ["id_subsistema", "nom_subsistema"]
fields = { val_cargaenergiamwmed = "DOUBLE" }
raw_time_column = "din_instante"
"""


@pytest.fixture(scope="session")
def extended_mapping(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TableSpec]:
    path = tmp_path_factory.mktemp("mapping") / "tables.toml"
    path.write_text(MAPPING_FILE.read_text(encoding="utf-8") + CARGA_ENERGIA, encoding="utf-8")
    return load_mapping(path)


@pytest.fixture
def aws(moto_server, s3_bucket) -> AwsSettings:  # type: ignore[no-untyped-def]
    return AwsSettings(endpoint_url=moto_server.url, bucket=s3_bucket)


@pytest.fixture
def influxdb(influx_url, influx_db) -> InfluxSettings:  # type: ignore[no-untyped-def]
    return InfluxSettings.of(url=influx_url, database=influx_db, batch_lines=2_000)
