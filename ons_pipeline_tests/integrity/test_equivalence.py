"""Identical results: the platform's Timestream SQL on DuckDB (Parquet) vs InfluxQL (InfluxDB)."""

from __future__ import annotations

import math
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from ons_pipeline.lib import schema
from ons_pipeline.lib.integrity.equivalence import (
    DuckDBSource,
    QueryCase,
    compare_days,
    gamma,
    run_case,
    to_duckdb_sql,
)
from ons_pipeline.lib.partitions import ParquetStore
from ons_pipeline_tests.integrity.conftest import PARQUET, load_day, put_day

DAYS = [date(2018, 11, 3), date(2018, 11, 4)]
TABLES = ["curva_carga", "balanco_subsistema", "geracao_usina", "generation_data"]
DATABASES = {"ons": "ons", "legacy": "ons_energy_data"}


def compare_stores(s3, bucket: str, influx, tables: list[str], first: date, last: date):  # type: ignore[no-untyped-def]
    """The query suite over ``tables`` and ``first``..``last``: the Parquet partitions (as
    Timestream would answer) against InfluxDB."""
    return compare_days(
        ParquetStore(s3, bucket, PARQUET),
        influx,
        tables,
        first,
        last,
        DATABASES,
        influx.config.database,
    )


def test_duration_literals_become_intervals_outside_quotes() -> None:
    sql = "SELECT bin(time, 1h), '1h' FROM \"30m\" WHERE time > ago(7d) - 15m"
    assert to_duckdb_sql(sql) == (
        "SELECT bin(time, INTERVAL '1 hours'), '1h' FROM \"30m\" "
        "WHERE time > ago(INTERVAL '7 days') - INTERVAL '15 minutes'"
    )
    assert gamma(0) == 0 and 0 < gamma(10_000) < 1.2e-12


def test_the_query_suite_gives_identical_results_then_catches_an_altered_point(
    s3, s3_bucket, influx
) -> None:  # type: ignore[no-untyped-def]
    for table in TABLES:
        for day in DAYS:
            put_day(s3, s3_bucket, table, day)
            load_day(s3, s3_bucket, influx, table, day)
    report = compare_stores(s3, s3_bucket, influx, TABLES, DAYS[0], DAYS[-1])
    assert report.ok, report.summary()
    assert len(report.results) >= 20
    shapes = " ".join(r.case.sql for r in report.results)
    for construct in (
        "bin(time, 1h)",
        "avg(",
        "sum(",
        "max(",
        "min(",
        "count(*)",
        "LIMIT 10",
        "BETWEEN",
        "measure_value::double",
        "= 'N'",
        "> 1000",
    ):
        assert construct in shapes, construct
    bounded = [r for r in report.results if r.bounded_values]
    assert bounded and all(r.max_diff <= r.max_bound for r in bounded)
    assert max(r.max_bound for r in bounded) < 1e-4  # far below the data's 1e-3 resolution

    # One plant's generation off by 0.001 MWmed at one hour: sums, means and raw points differ.
    spec = schema.table("geracao_usina")
    rows = put_day(s3, s3_bucket, "geracao_usina", DAYS[1])
    index = int(pc.index(rows.column("id_subsistema"), "N").as_py())
    victim = rows.slice(index, 1).to_pylist()[0]
    moment = pc.cast(rows.column("time"), pa.int64())[index].as_py()
    tags = ",".join(f"{t}=" + victim[t].replace(" ", "\\ ").replace(",", "\\,") for t in spec.tags)
    value = victim["val_geracao"] + 0.001
    influx.write(f"geracao_usina,{tags} val_geracao={value!r} {moment}\n".encode())
    report = compare_stores(s3, s3_bucket, influx, ["geracao_usina"], DAYS[0], DAYS[-1])
    failed = {r.case.name for r in report.failed}
    assert "geracao_usina: raw points of id_subsistema = 'N'" in failed
    assert any("daily generation per plant type" in name for name in failed)
    assert not report.ok and "bound" in report.markdown()


def test_a_query_the_translation_cannot_run_fails_with_its_reason(influx) -> None:  # type: ignore[no-untyped-def]
    with DuckDBSource() as duck:
        duck.register(schema.table("curva_carga"), "ons", [])
        case = QueryCase("bad", "curva_carga", 'SELECT median(x) FROM "ons"."curva_carga"')
        result = run_case(case, duck, influx, influx.config.database)
    assert not result.passed and result.error and not math.isnan(result.max_diff)


def test_tables_of_a_user_mapping_give_identical_results(
    s3, s3_bucket, influx, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The platform's shapes over tables only a user file declares: single-measure records of
    several types (only their numbers are aggregated) and the example file's weekly CMO."""
    import os

    from ons_pipeline_tests.lib.test_schema import EXAMPLE, USER_FILE

    user = tmp_path / "user.toml"
    user.write_text(USER_FILE, encoding="utf-8")
    monkeypatch.setenv("ONS_MAPPING_EXTRA", f"{EXAMPLE}{os.pathsep}{user}")
    tables = ["telemetria", "cmo_semanal"]
    days = [date(2024, 1, 5), date(2024, 1, 6)]  # a Friday (the weekly row) and the next day
    for table in tables:
        for day in days if table == "telemetria" else days[:1]:  # no weekly row on Saturday
            put_day(s3, s3_bucket, table, day)
            load_day(s3, s3_bucket, influx, table, day)
    report = compare_stores(s3, s3_bucket, influx, tables, days[0], days[-1])
    assert report.ok, report.summary()
    sqls = [r.case.sql for r in report.results]
    assert any('"plant_ops"."telemetria"' in s for s in sqls)  # the table's own database
    assert {r.case.table for r in report.results} == set(tables)
    assert not any("estado" in s or "disponivel" in s for s in sqls if "max(" in s)
