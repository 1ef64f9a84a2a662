"""Timestream export: exact SQL, typed parsing, NextToken paging and UNLOAD, via boto3 and moto."""

from __future__ import annotations

import dataclasses
import json
import math
import struct
import uuid
from datetime import UTC, date, datetime, timedelta

import boto3
import pyarrow as pa
import pytest

from ons_pipeline.lib import schema
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.migration.exporter import export_partition, unload_destination
from ons_pipeline.lib.migration.timestream import (
    ExportError,
    check_source_columns,
    count_answer,
    count_query,
    describe_answer,
    describe_query,
    export_query,
    export_query_mode,
    export_unload_mode,
    iter_query_pages,
    page_to_table,
    show_measures_answer,
    show_measures_query,
    split_s3_url,
    stage_query_results,
    stage_unload,
    table_to_pages,
)
from ons_pipeline.lib.ons_time import Window, day_window, to_ns
from ons_pipeline.lib.partitions import ParquetStore, Partition
from ons_pipeline.lib.schema import FieldSpec, Layout, MeasureType, Source, TableSpec

ALL_TYPES = TableSpec(
    name="all_types",
    description="every Timestream measure type",
    source=Source.ONS,
    measure_name="m",
    grain=timedelta(hours=1),
    tags=("site", "opt"),
    optional_tags=frozenset({"opt"}),
    fields=(
        FieldSpec("d", MeasureType.DOUBLE),
        FieldSpec("i", MeasureType.BIGINT),
        FieldSpec("s", MeasureType.VARCHAR),
        FieldSpec("b", MeasureType.BOOLEAN),
        FieldSpec("t", MeasureType.TIMESTAMP),
    ),
    measurement="all_types",
)
DAY = date(2018, 11, 4)
WINDOW = day_window(DAY)


def all_types_table(rows: int) -> pa.Table:
    base = WINDOW.start_ns
    times = [base + k * 420_000_000_000 + 123_456_789 for k in range(rows)]  # every 7 min
    doubles = [5e-324, -0.0, 1.7976931348623157e308, 0.1 + 0.2, 36803.90999999, -3.6]
    return pa.table(
        {
            "time": pa.array(times, pa.int64()).cast(schema.TIME_TYPE),
            "site": [f'São Salvador, "{k % 3}" \\ x=y' for k in range(rows)],
            "opt": [None if k % 2 else "flag" for k in range(rows)],
            "d": [None if k % 5 == 4 else doubles[k % len(doubles)] for k in range(rows)],
            "i": [(-(2**63)) if k == 0 else (2**63 - 1 - k) for k in range(rows)],
            "s": [None if k % 4 == 3 else f"linha\n{k} ção" for k in range(rows)],
            "b": [k % 3 == 0 for k in range(rows)],
            "t": pa.array([base + 1 + k for k in range(rows)], pa.int64()).cast(schema.TIME_TYPE),
        },
        schema=ALL_TYPES.arrow_schema(),
    )


def bits(values: list[float | None]) -> list[bytes | None]:
    return [None if v is None else struct.pack("<d", v) for v in values]


@pytest.fixture
def query_client(moto_server):  # type: ignore[no-untyped-def]
    # Explicit endpoint: Timestream clients otherwise run endpoint discovery against AWS.
    return boto3.client("timestream-query", endpoint_url=moto_server.url)


@pytest.fixture
def s3(moto_server):  # type: ignore[no-untyped-def]
    return boto3.client("s3")  # AWS_ENDPOINT_URL is the moto server's


@pytest.fixture
def target(s3_bucket: str) -> AwsSettings:
    return AwsSettings(bucket=s3_bucket)


def test_export_query_is_half_open_and_never_between() -> None:
    spec = schema.table("curva_carga")
    sql = export_query(spec, "ons", WINDOW)
    assert "BETWEEN" not in sql.upper()
    assert f"time >= from_nanoseconds({WINDOW.start_ns})" in sql
    assert f"time < from_nanoseconds({WINDOW.end_ns})" in sql
    assert '"ons"."curva_carga"' in sql
    legacy = export_query(schema.table("generation_data"), "ons_energy_data", WINDOW)
    assert 'measure_value::double AS "value"' in legacy


def test_window_rejects_naive_and_empty() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Window(datetime(2024, 1, 1), datetime(2024, 1, 2))
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="empty window"):
        Window(moment, moment)
    assert to_ns(datetime(2262, 4, 11, tzinfo=UTC)) == 9_223_286_400_000_000_000


def test_pages_round_trip_every_type_exactly() -> None:
    table = all_types_table(40)
    pages = table_to_pages([table], ALL_TYPES, page_bytes=2_000)
    assert len(pages) > 3, "small page size must produce several pages"
    assert all("NextToken" in p for p in pages[:-1]) and "NextToken" not in pages[-1]
    parsed = pa.concat_tables(page_to_table(p, ALL_TYPES) for p in pages)
    assert parsed.schema == ALL_TYPES.arrow_schema()
    for name in ("time", "site", "opt", "i", "s", "b", "t"):
        assert parsed.column(name).to_pylist() == table.column(name).to_pylist(), name
    assert bits(parsed.column("d").to_pylist()) == bits(table.column("d").to_pylist())


def test_multi_page_query_through_boto3_follows_every_next_token(moto_server, query_client) -> None:  # type: ignore[no-untyped-def]
    table = all_types_table(200)
    sql = export_query(ALL_TYPES, "ons", WINDOW)
    pages = table_to_pages([table], ALL_TYPES, page_bytes=4_000)
    stage_query_results(moto_server.url, {sql: pages})
    seen = list(iter_query_pages(query_client, sql))
    assert len(seen) == len(pages) > 5
    exported = pa.concat_tables(export_query_mode_from(seen))
    assert exported.num_rows == 200
    assert exported.column("i").to_pylist() == table.column("i").to_pylist()


def export_query_mode_from(pages: list[dict]) -> list[pa.Table]:
    return [page_to_table(p, ALL_TYPES) for p in pages]


def test_unexpected_measure_name_is_a_clear_error() -> None:
    pages = table_to_pages([all_types_table(2)], ALL_TYPES)
    pages[0]["Rows"][1]["Data"][3] = {"ScalarValue": "other"}
    with pytest.raises(ExportError, match=r"measure_name \['other'\]"):
        page_to_table(pages[0], ALL_TYPES)


def test_null_dimension_in_required_tag_names_the_row() -> None:
    pages = table_to_pages([all_types_table(3)], ALL_TYPES)
    pages[0]["Rows"][2]["Data"][1] = {"NullValue": True}
    with pytest.raises(ExportError, match="'site' is NULL at row 2"):
        page_to_table(pages[0], ALL_TYPES)


def test_export_partition_query_mode_replaces_the_day(
    moto_server, query_client, s3_bucket, s3, target
) -> None:  # type: ignore[no-untyped-def]
    table = all_types_table(24)
    sql = export_query(ALL_TYPES, "ons", WINDOW)
    prefix = Partition(ALL_TYPES.name, DAY).prefix(target.parquet_prefix)
    s3.put_object(Bucket=s3_bucket, Key=prefix + "part-00007.parquet", Body=b"left by a crash")
    for _ in range(2):  # a re-run replaces the partition
        stage_query_results(moto_server.url, {sql: table_to_pages([table], ALL_TYPES, 3_000)})
        result = export_partition(ALL_TYPES, DAY, "query", query_client, s3, target)
        assert result.rows == 24 and result.pages > 1
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket, Prefix=prefix)["Contents"]]
    store = ParquetStore(s3, s3_bucket)
    (data_file,) = store.keys(Partition(ALL_TYPES.name, DAY))  # one generation, one file
    assert listed == [prefix + "_manifest.json", data_file]  # the crash's leftover is gone
    stored = store.read(Partition(ALL_TYPES.name, DAY), ALL_TYPES)
    assert stored.column("time").to_pylist() == table.column("time").to_pylist()
    assert stored.column("t").to_pylist() == table.column("t").to_pylist()


def test_unload_mode_reads_manifest_and_cleans_up(
    moto_server, query_client, s3_bucket, s3, target
) -> None:  # type: ignore[no-untyped-def]
    destination = unload_destination(target, ALL_TYPES.name, DAY)
    table = all_types_table(30)
    stage_unload(
        s3, moto_server.url, ALL_TYPES, "ons", WINDOW, destination, [table], rows_per_file=7
    )
    result = export_partition(ALL_TYPES, DAY, "unload", query_client, s3, target)
    assert result.rows == 30
    unload_prefix = destination.split("/", 3)[3]
    assert "Contents" not in s3.list_objects_v2(Bucket=s3_bucket, Prefix=unload_prefix)
    stored = ParquetStore(s3, s3_bucket).read(Partition(ALL_TYPES.name, DAY), ALL_TYPES)
    assert stored.column("time").to_pylist() == table.column("time").to_pylist()
    assert bits(stored.column("d").to_pylist()) == bits(table.column("d").to_pylist())


def test_unload_rows_missing_from_the_manifest_fail_the_day(
    moto_server, query_client, s3_bucket, s3, target
) -> None:  # type: ignore[no-untyped-def]
    # a manifest that lists (and counts) fewer files than the UNLOAD wrote: its own totals agree,
    # only the UNLOAD's answer ("rows") says 30
    destination = unload_destination(target, ALL_TYPES.name, DAY)
    manifest_url = stage_unload(
        s3, moto_server.url, ALL_TYPES, "ons", WINDOW, destination, [all_types_table(30)], 7
    )
    bucket, key = split_s3_url(manifest_url)
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    manifest["result_files"] = manifest["result_files"][:2]
    manifest["query_metadata"]["total_row_count"] = 14
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest).encode())
    with pytest.raises(ExportError, match=r"read 14 rows .* the UNLOAD unloaded 30"):
        export_partition(ALL_TYPES, DAY, "unload", query_client, s3, target)
    assert not ParquetStore(s3, s3_bucket).keys(Partition(ALL_TYPES.name, DAY))


def test_failed_unload_read_removes_partial_output(
    moto_server, query_client, s3_bucket, s3
) -> None:  # type: ignore[no-untyped-def]
    destination = f"s3://{s3_bucket}/unload/all_types/date={DAY}/"
    manifest = stage_unload(
        s3, moto_server.url, ALL_TYPES, "ons", WINDOW, destination, [all_types_table(10)], 4
    )
    # Corrupt one result file, as a failed UNLOAD can leave behind.
    listing = s3.list_objects_v2(Bucket=s3_bucket, Prefix="unload/")["Contents"]
    broken = next(o["Key"] for o in listing if o["Key"].endswith("part00001.parquet"))
    s3.put_object(Bucket=s3_bucket, Key=broken, Body=b"not parquet")
    assert manifest.startswith(f"s3://{s3_bucket}/unload/")
    with pytest.raises(ExportError, match="not valid Parquet"):
        list(export_unload_mode(query_client, s3, ALL_TYPES, "ons", WINDOW, destination))
    assert "Contents" not in s3.list_objects_v2(Bucket=s3_bucket, Prefix="unload/")


def test_nan_in_source_fails_with_table_partition_row_and_column(
    moto_server, query_client, s3_bucket, s3, target
) -> None:  # type: ignore[no-untyped-def]
    table = all_types_table(6)
    doubles = table.column("d").to_pylist()
    doubles[4] = math.nan
    table = table.set_column(3, "d", pa.array(doubles, pa.float64()))
    sql = export_query(ALL_TYPES, "ons", WINDOW)
    stage_query_results(moto_server.url, {sql: table_to_pages([table], ALL_TYPES)})
    with pytest.raises(ValueError, match=r"all_types.*date=2018-11-04.*row 4.*'d' is nan"):
        export_partition(ALL_TYPES, DAY, "query", query_client, s3, target)


def test_export_query_mode_yields_empty_day_as_empty(moto_server, query_client) -> None:  # type: ignore[no-untyped-def]
    window = day_window(date(2030, 1, 1))
    tables = list(export_query_mode(query_client, ALL_TYPES, "ons", window))
    assert sum(t.num_rows for t in tables) == 0


def test_a_source_dimension_the_mapping_does_not_know_stops_the_export(
    moto_server, query_client
) -> None:  # type: ignore[no-untyped-def]
    database = f"db_{uuid.uuid4().hex[:8]}"
    spec = schema.table("curva_carga")
    stage_query_results(
        moto_server.url,
        {
            describe_query(database, spec.name): [
                describe_answer(spec, extra_dimensions=["id_usina"]),
                describe_answer(spec),
            ]
        },
    )
    with pytest.raises(ExportError, match=r"dimension 'id_usina' is not in the mapping"):
        check_source_columns(query_client, spec, database)
    assert check_source_columns(query_client, spec, database) is True  # described, matching
    assert check_source_columns(query_client, spec, database) is False  # no answer: unchecked


def test_query_mode_export_is_reconciled_with_timestreams_own_count(
    moto_server, query_client, s3_bucket, s3, target
) -> None:  # type: ignore[no-untyped-def]
    # The pages hold 24 rows; Timestream counts 25 for the window (a page lost in between, or
    # rows the query did not return): the day fails and nothing is published.
    table = all_types_table(24)
    more = all_types_table(25)
    stage_query_results(
        moto_server.url,
        {
            export_query(ALL_TYPES, "ons", WINDOW): table_to_pages([table], ALL_TYPES),
            count_query(ALL_TYPES, "ons", WINDOW): [count_answer(ALL_TYPES, [more])],
        },
    )
    with pytest.raises(ExportError, match=r"rows: source 25, exported 24"):
        export_partition(ALL_TYPES, DAY, "query", query_client, s3, target)
    store = ParquetStore(s3, s3_bucket)
    assert store.manifest(Partition(ALL_TYPES.name, DAY)) is None  # nothing published
    # The same pages with a matching count export, and the result says it was reconciled.
    stage_query_results(
        moto_server.url,
        {
            export_query(ALL_TYPES, "ons", WINDOW): table_to_pages([table], ALL_TYPES),
            count_query(ALL_TYPES, "ons", WINDOW): [count_answer(ALL_TYPES, [table])],
        },
    )
    result = export_partition(ALL_TYPES, DAY, "query", query_client, s3, target)
    assert result.rows == 24 and result.source_count == 24


def test_a_count_answered_after_empty_pages_is_still_reconciled(
    moto_server, query_client, s3_bucket, s3, target
) -> None:  # type: ignore[no-untyped-def]
    # A running Timestream query answers empty pages with a NextToken before its row: the count
    # on the later page is the source's answer, not "not answered" (which would skip the check).
    counted = count_answer(ALL_TYPES, [all_types_table(25)])
    running = {"Rows": [], "ColumnInfo": counted["ColumnInfo"], "NextToken": "t1", "QueryId": "q"}
    stage_query_results(
        moto_server.url,
        {
            export_query(ALL_TYPES, "ons", WINDOW): table_to_pages(
                [all_types_table(24)], ALL_TYPES
            ),
            count_query(ALL_TYPES, "ons", WINDOW): [running, dict(running), counted],
        },
    )
    with pytest.raises(ExportError, match=r"rows: source 25, exported 24"):
        export_partition(ALL_TYPES, DAY, "query", query_client, s3, target)
    assert ParquetStore(s3, s3_bucket).manifest(Partition(ALL_TYPES.name, DAY)) is None


# Single-measure records of every type, in a table and columns renamed by the mapping: the
# export pivots each (time, series) into one row of typed fields.
PIVOTED = dataclasses.replace(
    ALL_TYPES,
    name="all_types_single",
    measurement="all_types_single",
    source=Source.TIMESTREAM,
    layout=Layout.SINGLE,
    measure_name="",
    timestream_table="All-Types",
    source_columns={"site": "Site Name", "d": "d.value"},
)


def test_single_measure_records_are_pivoted_by_the_export_and_its_count() -> None:
    sql = export_query(PIVOTED, "db", WINDOW)
    assert sql == (
        'SELECT time, "Site Name" AS "site", "opt", '
        "max(CASE WHEN measure_name = 'd.value' THEN measure_value::double END) AS \"d\", "
        "max(CASE WHEN measure_name = 'i' THEN measure_value::bigint END) AS \"i\", "
        "max(CASE WHEN measure_name = 's' THEN measure_value::varchar END) AS \"s\", "
        "max(CASE WHEN measure_name = 'b' THEN measure_value::boolean END) AS \"b\", "
        "max(CASE WHEN measure_name = 't' THEN measure_value::timestamp END) AS \"t\" "
        'FROM "db"."All-Types" '
        f"WHERE time >= from_nanoseconds({WINDOW.start_ns}) "
        f"AND time < from_nanoseconds({WINDOW.end_ns}) "
        "AND measure_name IN ('d.value', 'i', 's', 'b', 't') "
        'GROUP BY time, "Site Name", "opt" ORDER BY time, "Site Name", "opt"'
    )
    count = count_query(PIVOTED, "db", WINDOW)
    inner = sql[: sql.index(" ORDER BY")]
    assert count == (
        'SELECT count(*) AS "rows", count("d") AS "d", count("i") AS "i", count("s") AS "s", '
        f'count("b") AS "b", count("t") AS "t" FROM ({inner})'
    )


def test_a_pivoted_day_exports_exactly_in_both_modes_and_a_short_count_fails(
    moto_server, query_client, s3_bucket, s3, target
) -> None:  # type: ignore[no-untyped-def]
    table = all_types_table(24)
    store = ParquetStore(s3, s3_bucket)
    partition = Partition(PIVOTED.name, DAY)
    stage_query_results(
        moto_server.url,
        {
            export_query(PIVOTED, "ons", WINDOW): table_to_pages([table], PIVOTED, 3_000),
            count_query(PIVOTED, "ons", WINDOW): [count_answer(PIVOTED, [all_types_table(25)])],
        },
    )
    with pytest.raises(ExportError, match=r"rows: source 25, exported 24"):
        export_partition(PIVOTED, DAY, "query", query_client, s3, target)
    assert store.manifest(partition) is None  # nothing published
    stage_query_results(
        moto_server.url,
        {
            export_query(PIVOTED, "ons", WINDOW): table_to_pages([table], PIVOTED, 3_000),
            count_query(PIVOTED, "ons", WINDOW): [count_answer(PIVOTED, [table])],
        },
    )
    result = export_partition(PIVOTED, DAY, "query", query_client, s3, target)
    assert (result.rows, result.source_count) == (24, 24) and result.pages > 1
    assert store.read(partition, PIVOTED).equals(table)
    destination = unload_destination(target, PIVOTED.name, DAY)
    stage_unload(s3, moto_server.url, PIVOTED, "ons", WINDOW, destination, [table])
    assert export_partition(PIVOTED, DAY, "unload", query_client, s3, target).rows == 24
    stored = store.read(partition, PIVOTED)
    assert stored.column("i").to_pylist() == table.column("i").to_pylist()
    assert bits(stored.column("d").to_pylist()) == bits(table.column("d").to_pylist())


def test_single_measure_sources_are_checked_against_show_measures(
    moto_server, query_client
) -> None:  # type: ignore[no-untyped-def]
    database = f"db_{uuid.uuid4().hex[:8]}"
    extra = dataclasses.replace(
        PIVOTED, fields=(*PIVOTED.fields, FieldSpec("x", MeasureType.DOUBLE))
    )
    retyped = dataclasses.replace(
        PIVOTED, fields=(FieldSpec("d", MeasureType.BIGINT), *PIVOTED.fields[1:])
    )
    measures = show_measures_query(database, "All-Types")
    stage_query_results(
        moto_server.url,
        {
            describe_query(database, "All-Types"): [describe_answer(PIVOTED)] * 3,
            measures: [show_measures_answer(s) for s in (extra, retyped, PIVOTED)],
        },
    )
    with pytest.raises(ExportError, match=r"measure 'x' is not in the mapping"):
        check_source_columns(query_client, PIVOTED, database)
    with pytest.raises(ExportError, match=r"measure 'd.value' is held as BIGINT in the source"):
        check_source_columns(query_client, PIVOTED, database)
    assert check_source_columns(query_client, PIVOTED, database) is True
    described = {row[0]: row[2] for row in (
        [d["ScalarValue"] for d in r["Data"]] for r in describe_answer(PIVOTED)["Rows"]
    )}  # fmt: skip
    assert described["measure_value::timestamp"] == "MEASURE_VALUE"
    assert list(described)[:2] == ["Site Name", "opt"]  # dimensions first, as Timestream lists


def test_measure_columns_the_mapping_does_not_read_stop_the_export(
    moto_server, query_client
) -> None:  # type: ignore[no-untyped-def]
    """Records of another type in a single-measure table (``measure_value::bigint`` beside the
    legacy platform's doubles) would not be exported: the check names them."""
    database = f"db_{uuid.uuid4().hex[:8]}"
    spec = schema.table("generation_data")
    answer = describe_answer(spec)
    answer["Rows"].append(
        {"Data": [{"ScalarValue": v} for v in ("measure_value::bigint", "bigint", "MEASURE_VALUE")]}
    )
    stage_query_results(moto_server.url, {describe_query(database, spec.name): [answer]})
    with pytest.raises(ExportError, match=r"measure 'measure_value::bigint' is not in the mapping"):
        check_source_columns(query_client, spec, database)
