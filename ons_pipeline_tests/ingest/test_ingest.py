"""Ingest into the real stores (moto S3, InfluxDB): corrections, quarantine, the Dagster job."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import dagster as dg
import pyarrow as pa
import pytest

from ons_pipeline.defs.ingest import ingest_jobs, ingest_sensors
from ons_pipeline.defs.ingest.jobs import ingest_raw_object_job
from ons_pipeline.defs.ingest.sensors import touched_partitions
from ons_pipeline.defs.keys import influxdb_key, parquet_key
from ons_pipeline.defs.migration.assets import migration_assets
from ons_pipeline.lib import ons_time, schema
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.ingest.files import (
    TooManyBadRowsError,
    ingest_bytes,
    quarantine_keys,
)
from ons_pipeline.lib.ons_time import day_window
from ons_pipeline.lib.partitions import ParquetStore, Partition
from ons_pipeline.lib.settings import InfluxSettings
from ons_pipeline.local.generator import generate_day, generate_raw_ons, write_ons_csv
from ons_pipeline_tests.conftest import influxql
from ons_pipeline_tests.ingest.conftest import verify_requests

DAY = date(2024, 1, 5)
NEXT = date(2024, 1, 6)


def raw_csv(table: str, days: list[date], edit=None) -> bytes:  # type: ignore[no-untyped-def]
    """ONS CSV bytes of generated local days; ``edit`` may change the list of row dicts."""
    raw = pa.concat_tables([generate_raw_ons(table, d) for d in days])
    if edit is not None:
        rows = raw.to_pylist()
        edit(rows)
        raw = pa.Table.from_pylist(rows, schema=raw.schema)
    lines = [";".join(raw.column_names)]
    lines += [";".join(r.values()) for r in raw.to_pylist()]
    return ("\n".join(lines) + "\n").encode()


def points(url: str, db: str, table: str, start: datetime, end: datetime) -> dict:
    spec = schema.table(table)
    body = influxql(
        url,
        f'SELECT * FROM "{spec.measurement}" WHERE time >= {ons_time.to_ns(start)} '
        f"AND time < {ons_time.to_ns(end)} GROUP BY *",
        db,
    )
    out = {}
    for series in body["results"][0].get("series", []):
        tags = tuple(series["tags"][t] for t in spec.tags)
        for values in series["values"]:
            row = dict(zip(series["columns"], values, strict=True))
            moment = row.pop("time")
            out[(tags, moment)] = {k: v for k, v in row.items() if v is not None}
    return out


def ingest(aws: AwsSettings, influxdb: InfluxSettings, data: bytes, key: str, **kwargs):  # type: ignore[no-untyped-def]
    with influxdb.client() as client:
        return ingest_bytes(
            data,
            f"s3://{aws.bucket}/{key}",
            aws=aws,
            s3=aws.client("s3"),
            client=client,
            raw_key=key,
            etag=kwargs.pop("etag", "e1"),
            **kwargs,
        )


def local(day: date, hour: int, minute: int = 0) -> int:
    """UTC ns of a local clock time of ``day``."""
    return ons_time.to_ns(ons_time.to_utc(datetime(day.year, day.month, day.day, hour, minute)))


def test_correction_replaces_what_it_covers_and_deletes_only_what_it_withdraws(
    aws: AwsSettings, influxdb: InfluxSettings, influx_url: str, influx_db: str
) -> None:
    table = "balanco_subsistema"
    spec = schema.table(table)
    first = ingest(aws, influxdb, raw_csv(table, [DAY, NEXT]), "raw/balanco/a.csv")
    expected = sum(generate_day(table, d).num_rows for d in (DAY, NEXT))
    assert first.points_written == expected and first.points_deleted == 0
    window = (datetime(2024, 1, 5, tzinfo=UTC), datetime(2024, 1, 8, tzinfo=UTC))
    before = points(influx_url, influx_db, table, *window)
    assert len(before) == expected

    ne = ("NE", "NORDESTE")
    removed = (("N", "NORTE"), local(DAY, 10))  # published without values: withdrawn
    changed = (("SE", "SUDESTE/CENTRO-OESTE"), local(DAY, 11))
    blanked = (ne, local(DAY, 12))
    missing = (("S", "SUL"), local(DAY, 13))  # no row at all: the file says nothing, kept

    def correct(rows: list[dict]) -> None:
        def at(row: dict) -> tuple:
            utc = ons_time.to_utc(datetime.fromisoformat(row["din_instante"]))
            return ((row["id_subsistema"], row["nom_subsistema"]), ons_time.to_ns(utc))

        rows[:] = [r for r in rows if at(r) != missing]
        for row in rows:
            if at(row) == removed:
                for name in spec.field_names:
                    row[name] = ""
            if at(row) == changed:
                row["val_carga"] = "12345.67800000"
            if at(row) == blanked:
                row["val_gersolar"] = ""

    second = ingest(aws, influxdb, raw_csv(table, [DAY], correct), "raw/balanco/a-fix.csv")
    after = points(influx_url, influx_db, table, *window)
    assert removed in before and removed not in after
    assert after[changed]["val_carga"] == 12345.678
    assert "val_gersolar" in before[blanked] and "val_gersolar" not in after[blanked]
    assert after[blanked]["val_carga"] == before[blanked]["val_carga"]  # rewritten, not lost
    assert after[missing] == before[missing]
    assert len(after) == expected - 1
    # only the withdrawn point and the point with an emptied field were deleted, one by one
    recon = [d.reconciliation for d in second.days]
    assert sum(r.deleted_points for r in recon) == 1
    assert sum(r.rewritten_points for r in recon) == 1
    assert sum(r.delete_statements for r in recon) == 2
    assert sum(r.kept_points for r in recon) == 1  # S's series-day is not whole in the file
    # the next local day (outside the correction's coverage) is untouched
    next_start, next_end = ons_time.local_day_bounds_utc(NEXT)
    for key, fields in before.items():
        if ons_time.to_ns(next_start) <= key[1] < ons_time.to_ns(next_end):
            assert after[key] == fields
    # the Parquet partitions hold exactly what InfluxDB holds
    s3 = aws.client("s3")
    for utc_day in (DAY, NEXT, date(2024, 1, 7)):
        part = ParquetStore.of(aws, s3).read(Partition(table, utc_day), spec)
        in_influx = points(
            influx_url, influx_db, table, day_window(utc_day).start, day_window(utc_day).end
        )
        assert part.num_rows == len(in_influx), utc_day
    # UTC 01-06 holds the last hours of local 01-05: covered, but unchanged, so left alone
    assert [d.day for d in second.days] == [DAY] and second.unchanged_days == [NEXT]


def test_a_growing_yearly_file_only_costs_its_new_days(
    aws: AwsSettings, influxdb: InfluxSettings, influx_url: str, influx_db: str
) -> None:
    table = "cmo_semihorario"
    ingest(aws, influxdb, raw_csv(table, [DAY]), "raw/cmo/CMO_2024.csv")
    grown = ingest(aws, influxdb, raw_csv(table, [DAY, NEXT]), "raw/cmo/CMO_2024.csv", etag="e2")
    assert grown.unchanged_days == [DAY]
    assert [d.day for d in grown.days] == [NEXT, date(2024, 1, 7)]
    assert grown.points_deleted == 0
    window = (datetime(2024, 1, 5, tzinfo=UTC), datetime(2024, 1, 8, tzinfo=UTC))
    expected = sum(generate_day(table, d).num_rows for d in (DAY, NEXT))
    assert len(points(influx_url, influx_db, table, *window)) == expected
    again = ingest(aws, influxdb, raw_csv(table, [DAY, NEXT]), "raw/cmo/CMO_2024.csv", etag="e3")
    assert again.days == [] and again.points_written == 0


def test_quarantine_keeps_bad_rows_and_loads_the_good_ones(
    aws: AwsSettings, influxdb: InfluxSettings, influx_url: str, influx_db: str
) -> None:
    table = "curva_carga"
    ingest(aws, influxdb, raw_csv(table, [DAY]), "raw/curva/day.csv")
    window = ons_time.local_day_bounds_utc(DAY)
    before = points(influx_url, influx_db, table, *window)

    def break_two(rows: list[dict]) -> None:
        rows[4]["val_cargaenergiahomwmed"] = "4.828,07"  # comma decimal
        rows[9]["din_instante"] = "2024-01-05 25:00:00"

    data = raw_csv(table, [DAY], break_two)
    report = ingest(aws, influxdb, data, "raw/curva/day-v2.csv", etag="e2")
    bad = report.normalized.bad_rows
    assert [(b.row, b.column) for b in bad] == [
        (6, "val_cargaenergiahomwmed"),
        (11, "din_instante"),
    ]
    json_key, csv_key = quarantine_keys("quarantine", "raw", "raw/curva/day-v2.csv", "e2")
    assert report.quarantine_keys == [json_key, csv_key]
    assert json_key == "quarantine/rows/curva/day-v2.csv@e2.json"
    s3 = aws.client("s3")
    document = json.loads(s3.get_object(Bucket=aws.bucket, Key=json_key)["Body"].read())
    assert [r["row"] for r in document["bad_rows"]] == [6, 11]
    assert "not a number" in document["bad_rows"][0]["reason"]
    lines = s3.get_object(Bucket=aws.bucket, Key=csv_key)["Body"].read().decode().splitlines()
    assert lines[1].endswith(";4.828,07") and len(lines) == 3
    after = points(influx_url, influx_db, table, *window)
    # good rows loaded; the point of the bad-value row is protected (its time and series parsed);
    # the point of the bad-time row is kept too: the file has no readable row for it
    assert report.normalized.rows == len(before) - 2
    assert after == before


def test_too_many_bad_rows_loads_nothing(
    aws: AwsSettings, influxdb: InfluxSettings, influx_url: str, influx_db: str
) -> None:
    def ruin(rows: list[dict]) -> None:
        for row in rows[:120]:
            row["val_cmo"] = "n/a"

    with pytest.raises(TooManyBadRowsError, match="nothing was loaded"):
        ingest(aws, influxdb, raw_csv("cmo_semihorario", [DAY], ruin), "raw/cmo/x.csv")
    window = day_window(DAY)
    assert points(influx_url, influx_db, "cmo_semihorario", window.start, window.end) == {}
    keys = [o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=aws.bucket)["Contents"]]
    assert "quarantine/rows/cmo/x.csv@e1.json" in keys


def test_ingest_job_records_partitions_and_the_verify_run_rechecks_them(
    aws: AwsSettings, influxdb: InfluxSettings, influx_url: str, influx_db: str
) -> None:
    """Ingest, then a correction through the Dagster job; the verify sensor asks for the touched
    days, and the verify run re-runs the project's integrity checks on them: they pass."""
    table = "curva_carga"
    key = "raw/curva_carga/2024-01-05.csv"
    s3 = aws.client("s3")
    resources = {"aws": aws, "influxdb": influxdb}
    defs = dg.Definitions(
        assets=migration_assets(),
        jobs=ingest_jobs(),
        sensors=ingest_sensors(),
        resources=resources,
    )

    def run(body: bytes) -> dg.ExecuteInProcessResult:
        etag = s3.put_object(Bucket=aws.bucket, Key=key, Body=body)["ETag"]
        config = {"key": key, "etag": etag}
        return ingest_raw_object_job.execute_in_process(
            run_config={"ops": {"normalize_and_load": {"config": config}}},
            resources=resources,
            instance=instance,
        )

    def drop_sul_noon(rows: list[dict]) -> None:  # withdrawn: republished without a value
        for r in rows:
            if r["id_subsistema"] == "S" and r["din_instante"] == "2024-01-05 12:00:00":
                r["val_cargaenergiahomwmed"] = ""

    with dg.instance_for_test() as instance:
        assert run(raw_csv(table, [DAY])).success
        result = run(raw_csv(table, [DAY], drop_sul_noon))
        assert result.success
        materialized = {
            (m.asset_key, m.partition)
            for m in result.asset_materializations_for_node("normalize_and_load")
        }
        # the correction changed UTC 2024-01-05 only (01-06 holds unchanged hours of local 01-05)
        assert materialized == {
            (parquet_key(table), "2024-01-05"),
            (influxdb_key(table), "2024-01-05"),
        }
        loaded = next(
            m
            for m in result.asset_materializations_for_node("normalize_and_load")
            if m.asset_key == influxdb_key(table)
        )
        assert loaded.metadata["points deleted (correction)"].value == 1
        assert loaded.metadata["points kept (not in the file)"].value == 0
        assert touched_partitions(instance, result.run_id) == {"2024-01-05": [table]}
        requests = verify_requests(result, instance, defs)
        assert [(r.partition_key, r.asset_selection) for r in requests] == [
            ("2024-01-05", [influxdb_key(table)])
        ]
        checks = {k.name for k in requests[0].asset_check_keys or []}
        assert checks == {"gx_structure", "gx_plausibility", "exact_verification"}
        # the verify run: reload the merged partition (idempotent) and run the day's checks
        request = requests[0]
        verify = defs.resolve_job_def("ingest_verify").get_subset(
            asset_selection=set(request.asset_selection or []),
            asset_check_selection=set(request.asset_check_keys or []),
        )
        again = verify.execute_in_process(
            partition_key=request.partition_key, instance=instance, tags=request.tags
        )
        assert again.success
        evaluations = {e.check_name: e.passed for e in again.get_asset_check_evaluations()}
        assert evaluations == {
            "gx_structure": True,
            "gx_plausibility": True,
            "exact_verification": True,
        }
    in_influx = points(influx_url, influx_db, table, *ons_time.local_day_bounds_utc(DAY))
    assert len(in_influx) == generate_day(table, DAY).num_rows - 1


def test_ingest_job_fails_clearly_on_an_unknown_dataset(
    aws: AwsSettings, influxdb: InfluxSettings
) -> None:
    key = "raw/other/prices.csv"
    s3 = aws.client("s3")
    s3.put_object(Bucket=aws.bucket, Key=key, Body=b"date;price\n2024-01-01;3\n")
    with dg.instance_for_test() as instance:
        result = ingest_raw_object_job.execute_in_process(
            run_config={"ops": {"normalize_and_load": {"config": {"key": key}}}},
            resources={"aws": aws, "influxdb": influxdb},
            instance=instance,
            raise_on_error=False,
        )
    assert not result.success
    failure = result.failure_data_for_node("normalize_and_load")
    assert failure is not None and "prices.csv" in str(failure.error.message)
    keys = [
        o["Key"] for o in s3.list_objects_v2(Bucket=aws.bucket, Prefix="quarantine/")["Contents"]
    ]
    assert keys and keys[0].startswith("quarantine/objects/other/prices.csv@")


def test_superseded_version_is_a_no_op(aws: AwsSettings, influxdb: InfluxSettings) -> None:
    key = "raw/curva_carga/old.csv"
    s3 = aws.client("s3")
    s3.put_object(Bucket=aws.bucket, Key=key, Body=raw_csv("curva_carga", [DAY]))
    with dg.instance_for_test() as instance:
        result = ingest_raw_object_job.execute_in_process(
            run_config={"ops": {"normalize_and_load": {"config": {"key": key, "etag": "0" * 32}}}},
            resources={"aws": aws, "influxdb": influxdb},
            instance=instance,
        )
    assert result.success
    assert result.asset_materializations_for_node("normalize_and_load") == []


def test_generated_ons_file_is_written_as_ons_does(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # write_ons_csv and our raw_csv helper agree: the ingest tests use real ONS formatting
    path = tmp_path / "x.csv"
    write_ons_csv([generate_raw_ons("curva_carga", DAY)], path)
    assert path.read_bytes() == raw_csv("curva_carga", [DAY])
