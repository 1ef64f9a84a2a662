"""A mapping outside the package, through real Dagster runs, moto and the real InfluxDB: a user
file adds tables (one of single-measure records of several types, the example file's weekly CMO)
and replaces a shipped one; all migrate and verify exactly."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from ons_pipeline.defs.keys import influxdb_key
from ons_pipeline.defs.migration.assets import migration_assets
from ons_pipeline.defs.migration.jobs import migration_jobs, table_job_name
from ons_pipeline.lib import schema
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.settings import InfluxSettings
from ons_pipeline.local.generator import generate_day
from ons_pipeline.local.staging import stage_day
from ons_pipeline_tests.conftest import influxql
from ons_pipeline_tests.defs.test_migration import assert_day_verified, materialize_day
from ons_pipeline_tests.lib.test_schema import EXAMPLE, USER_FILE

DAY = date(2024, 1, 5)  # a Friday: the weekly CMO has its row


@pytest.fixture
def resources(moto_server, s3_bucket, influx_url, influx_db) -> dict:  # type: ignore[no-untyped-def]
    return {
        "aws": AwsSettings(endpoint_url=moto_server.url, bucket=s3_bucket),
        "influxdb": InfluxSettings.of(url=influx_url, database=influx_db, batch_lines=2_000),
    }


def count(url: str, db: str, measurement: str) -> int:
    body = influxql(url, f'SELECT count(*) FROM "{measurement}"', db)
    series = body["results"][0].get("series")
    return sum(int(v) for v in series[0]["values"][0][1:]) if series else 0


def test_a_user_file_adds_and_replaces_tables_and_they_migrate(
    resources: dict, influx_url: str, influx_db: str, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    user = tmp_path / "user.toml"
    user.write_text(USER_FILE, encoding="utf-8")
    monkeypatch.setenv("ONS_MAPPING_EXTRA", f"{EXAMPLE}{os.pathsep}{user}")
    names = ["curva_carga", "telemetria", "cmo_semanal"]
    assets = migration_assets()  # built now: the definitions see the merged mapping
    keys = {k for a in assets for k in (a.keys if isinstance(a, dg.AssetsDefinition) else [a.key])}
    assert {influxdb_key(n) for n in names} <= keys
    assert {j.name for j in migration_jobs()} >= {table_job_name(n) for n in names}
    aws: AwsSettings = resources["aws"]
    sources = {}
    for name in names:
        spec = schema.table(name)
        staged = stage_day(spec, DAY, mode="query", endpoint_url=str(aws.endpoint_url), target=aws)
        sources[name] = staged.rows
    assert_day_verified(materialize_day(resources, DAY, names), names)
    # the replaced table writes where the user's entry says
    spec = schema.table("curva_carga")
    assert spec.measurement == "carga_horaria"
    assert count(influx_url, influx_db, "curva_carga") == 0
    assert count(influx_url, influx_db, "carga_horaria") == sources["curva_carga"] > 0
    assert sources["cmo_semanal"] == 4 and count(influx_url, influx_db, "cmo_semanal") > 12
    # the single-measure records keep their types in InfluxDB
    body = influxql(influx_url, 'SHOW FIELD KEYS FROM "telemetria"', influx_db)
    types = {name: kind for name, kind in body["results"][0]["series"][0]["values"]}
    assert types == {
        "potencia": "float",
        "partidas": "integer",
        "estado": "string",
        "disponivel": "boolean",
    }
    day_rows = generate_day(schema.table("telemetria"), DAY)
    present = sum(day_rows.num_rows - day_rows.column(f).null_count for f in types)
    assert count(influx_url, influx_db, "telemetria") == present
