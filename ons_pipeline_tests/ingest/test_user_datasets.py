"""Datasets the shipped mapping lacks, declared by a user mapping file (the example file
``examples/mappings/ons_extra.toml``): a real weekly CMO file through the raw-file sensor and the
ingest job into the real stores, the daily load, generated files, and the file format's number
options."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest

from ons_pipeline.defs.ingest import ingest_jobs, ingest_sensors
from ons_pipeline.defs.ingest.jobs import ingest_raw_object_job
from ons_pipeline.defs.ingest.sensors import raw_files_sensor
from ons_pipeline.defs.migration.assets import migration_assets
from ons_pipeline.lib import schema
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.ingest.normalize import UnknownDatasetError, normalize_bytes, normalize_file
from ons_pipeline.lib.settings import InfluxSettings
from ons_pipeline.local.generator import generate_day, generate_raw_ons, write_ons_csv
from ons_pipeline_tests.conftest import influxql
from ons_pipeline_tests.ingest.conftest import (
    EXAMPLE_MAPPING,
    EXTRA_SAMPLES,
    SAMPLES,
    verify_requests,
)

WEEKLY = EXTRA_SAMPLES / "cmo_semanal_2024_excerpt.csv"
FIELDS = ("val_cmomediasemanal", "val_cmoleve", "val_cmomedia", "val_cmopesada")


@pytest.fixture
def extra(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ONS_MAPPING_EXTRA", str(EXAMPLE_MAPPING))
    return EXAMPLE_MAPPING


def rows_of_file(path: Path) -> dict[tuple[str, str], dict[str, float]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(";")
    out = {}
    for line in lines[1:]:
        row = dict(zip(header, line.split(";"), strict=True))
        out[(row["id_subsistema"], row["din_instante"])] = {f: float(row[f]) for f in FIELDS}
    return out


def test_the_real_weekly_cmo_file_needs_the_mapping_entry(extra: Path) -> None:
    normalized = normalize_file(WEEKLY)
    assert (normalized.table, normalized.rows_read, normalized.rows) == ("cmo_semanal", 28, 28)
    assert normalized.bad_rows == [] and normalized.ignored_columns == []
    rows = pa.concat_tables([normalized.days[d] for d in sorted(normalized.days)]).to_pylist()
    # each week on its Friday, local midnight (UTC-3 in 2024): one UTC day per week
    assert sorted(normalized.days) == [
        date(2024, 3, 22),
        date(2024, 3, 29),
        date(2024, 4, 5),
        date(2024, 4, 12),
        date(2024, 4, 19),
        date(2024, 4, 26),
        date(2024, 5, 3),
    ]
    sul = next(r for r in rows if r["id_subsistema"] == "S" and r["time"].day == 5)
    assert sul["time"] == datetime(2024, 4, 5, 3, tzinfo=UTC)
    assert [sul[f] for f in FIELDS] == [15.65, 15.35, 15.74, 16.11]
    assert len(normalized.whole) == 28  # each subsystem's Friday is held whole (daily slots)


def test_without_the_mapping_entry_the_file_is_refused_with_the_way_out() -> None:
    with pytest.raises(UnknownDatasetError) as info:
        normalize_file(WEEKLY)
    message = str(info.value)
    assert "matches no known ONS dataset" in message and "ONS_MAPPING_EXTRA" in message


def test_the_daily_load_files_of_2013_and_2014(extra: Path) -> None:
    r2013 = normalize_file(SAMPLES / "carga_energia_2013_excerpt.csv")
    assert (r2013.table, r2013.rows, r2013.dropped_empty, r2013.bad_rows) == (
        "carga_energia",
        108,
        1,
        [],
    )
    r2014 = normalize_file(EXTRA_SAMPLES / "carga_energia_2014_excerpt.csv")
    assert (r2014.rows, r2014.dropped_empty, r2014.bad_rows) == (104, 4, [])


@pytest.mark.parametrize("table", ["cmo_semanal", "carga_energia"])
def test_generated_files_of_the_new_datasets_normalise_back(
    extra: Path, tmp_path: Path, table: str
) -> None:
    days = [date(2024, 1, d) for d in range(1, 15)]  # two Fridays for the weekly CMO
    path = tmp_path / f"{table}.csv"
    write_ons_csv([generate_raw_ons(table, d, number_style="shortest") for d in days], path)
    normalized = normalize_file(path)
    assert normalized.table == table and normalized.bad_rows == []
    got = pa.concat_tables([normalized.days[d] for d in sorted(normalized.days)])
    expected = pa.concat_tables([generate_day(table, d) for d in days])
    times = len(set(expected.column("time").to_pylist()))
    assert times == (2 if table == "cmo_semanal" else 14)  # Fridays only / every day
    assert got.equals(expected.sort_by([("time", "ascending"), ("id_subsistema", "ascending")]))


def test_a_dataset_with_comma_decimals(tmp_path: Path) -> None:
    path = tmp_path / "user.toml"
    path.write_text(
        """
[tables.preco_regional]
description = "A user's regional price file with comma decimals"
source = "ons"
measure_name = "preco"
grain = "1d"
tags = ["regiao"]
fields = { preco_medio = "DOUBLE" }
raw_time_column = "data"
raw_columns = ["data", "regiao", "preco_medio"]
raw_decimal = ","
""",
        encoding="utf-8",
    )
    specs = schema.load_mapping(path)
    body = (
        "data;regiao;preco_medio\n2024-01-02;SE;1234,56\n2024-01-02;S;1.234,56\n"
        "2024-01-02;NE;12.34\n"
    )
    normalized = normalize_bytes(body.encode(), "precos.csv", specs=specs)
    rows = pa.concat_tables(list(normalized.days.values())).to_pylist()
    # the dots between thousands are read; a point that can only be a decimal one is refused
    assert sorted((r["regiao"], r["preco_medio"]) for r in rows) == [
        ("S", 1234.56),
        ("SE", 1234.56),
    ]
    [bad] = normalized.bad_rows
    assert (bad.row, bad.column) == (4, "preco_medio") and "'12.34'" in bad.reason


def test_a_real_weekly_cmo_file_through_the_sensor_and_the_ingest_job(
    extra: Path, aws: AwsSettings, influxdb: InfluxSettings, influx_url: str, influx_db: str
) -> None:
    """The S3 sensor recognises the real file by the user mapping, the ingest job loads it,
    the verify run re-checks every touched day (exact verification included), and InfluxDB
    holds the file's values."""
    s3 = aws.client("s3")
    key = "raw/cmo_semanal/CMO_SEMANAL_2024.csv"
    etag = s3.put_object(Bucket=aws.bucket, Key=key, Body=WEEKLY.read_bytes())["ETag"].strip('"')
    resources = {"aws": aws, "influxdb": influxdb}
    defs = dg.Definitions(
        assets=migration_assets(), jobs=ingest_jobs(), sensors=ingest_sensors(), resources=resources
    )
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources={"aws": aws})
        result = raw_files_sensor(context)
        assert isinstance(result, dg.SensorResult)
        [request] = result.run_requests or []
        assert request.run_key == f"{key}@{etag}"
        assert request.tags["ons/dataset"] == "cmo_semanal"
        loaded = ingest_raw_object_job.execute_in_process(
            run_config=request.run_config,
            tags={**request.tags, "dagster/run_key": request.run_key or ""},
            resources=resources,
            instance=instance,
        )
        assert loaded.success
        requests = verify_requests(loaded, instance, defs)
        assert len(requests) == 7  # one per week's UTC day
        for verify_request in requests:
            verify = defs.resolve_job_def("ingest_verify").get_subset(
                asset_selection=set(verify_request.asset_selection or []),
                asset_check_selection=set(verify_request.asset_check_keys or []),
            )
            again = verify.execute_in_process(
                partition_key=verify_request.partition_key,
                instance=instance,
                tags=verify_request.tags,
            )
            assert again.success
            checks = {e.check_name: e.passed for e in again.get_asset_check_evaluations()}
            assert checks["exact_verification"] is True and all(checks.values()), checks
    body = influxql(influx_url, 'SELECT * FROM "cmo_semanal" GROUP BY *', influx_db)
    stored = {}
    for series in body["results"][0]["series"]:
        for values in series["values"]:
            row = dict(zip(series["columns"], values, strict=True))
            day = datetime.fromtimestamp(row["time"] / 1e9, UTC).date().isoformat()
            stored[(series["tags"]["id_subsistema"], day)] = {f: row[f] for f in FIELDS}
    assert stored == rows_of_file(WEEKLY)


def test_without_the_mapping_the_sensor_reports_the_weekly_file_and_skips_it(
    aws: AwsSettings,
) -> None:
    s3 = aws.client("s3")
    s3.put_object(Bucket=aws.bucket, Key="raw/CMO_SEMANAL_2024.csv", Body=WEEKLY.read_bytes())
    with dg.instance_for_test() as instance:
        result = raw_files_sensor(
            dg.build_sensor_context(instance=instance, resources={"aws": aws})
        )
    assert isinstance(result, dg.SensorResult) and result.run_requests == []
    [report] = s3.list_objects_v2(Bucket=aws.bucket, Prefix="quarantine/objects/")["Contents"]
    reason = json.loads(s3.get_object(Bucket=aws.bucket, Key=report["Key"])["Body"].read())
    assert "matches no known ONS dataset" in reason["reason"]
