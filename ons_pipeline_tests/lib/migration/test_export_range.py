"""UNLOAD of many days in one statement (lib/migration/exporter.export_days) through boto3, the
local Timestream stand-in (moto) and S3."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import boto3
import pyarrow as pa
import pytest

from ons_pipeline.lib import schema
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.influx.client import InfluxClient, InfluxConfig
from ons_pipeline.lib.migration.exporter import ExportResult, export_days, split_days
from ons_pipeline.lib.migration.pipeline import Stages, TableMigration
from ons_pipeline.lib.migration.timestream import ExportError, unload_query
from ons_pipeline.lib.ons_time import Window, day_window
from ons_pipeline.lib.partitions import MANIFEST, ParquetStore, Partition
from ons_pipeline.lib.settings import MigrationSettings
from ons_pipeline.local.generator import generate_canonical
from ons_pipeline.local.timestream_standin import parse_unload
from ons_pipeline_tests.defs.test_migration import stage as stage_days

TABLE = "curva_carga"
FIRST = date(2023, 7, 1)


def days(count: int, start: date = FIRST) -> list[date]:
    return [start + timedelta(days=k) for k in range(count)]


def source_rows(day: date) -> int:
    window = day_window(day)
    return sum(t.num_rows for t in generate_canonical(TABLE, window.start, window.end, seed=0))


@pytest.fixture
def aws(moto_server, s3_bucket) -> AwsSettings:  # type: ignore[no-untyped-def]
    # A database of its own: the stand-in's staged days are shared by the whole session.
    return AwsSettings(
        endpoint_url=moto_server.url,
        bucket=s3_bucket,
        export_mode="unload",
        timestream_database=f"ons_{uuid.uuid4().hex[:8]}",
    )


def stage(aws: AwsSettings, staged: list[date]) -> None:
    stage_days({"aws": aws}, [TABLE], staged, mode="unload")


class CountingQuery:
    """The Timestream query client, counting the UNLOAD statements it is asked to run."""

    def __init__(self, client: Any) -> None:
        self.client, self.statements = client, []

    def query(self, **kwargs: Any) -> dict[str, Any]:
        if "NextToken" not in kwargs and kwargs["QueryString"].startswith("UNLOAD"):
            self.statements.append(kwargs["QueryString"])
        return self.client.query(**kwargs)  # type: ignore[no-any-return]


def test_consecutive_days_are_one_statement_and_each_day_its_own_partition(aws) -> None:  # type: ignore[no-untyped-def]
    wanted = days(5) + days(2, FIRST + timedelta(days=10))  # two runs of consecutive days
    stage(aws, wanted)
    query = CountingQuery(aws.client("timestream-query"))
    s3 = aws.client("s3")
    results = export_days(schema.table(TABLE), wanted, query, s3, aws)
    assert len(query.statements) == 2
    assert all(isinstance(r, ExportResult) for r in results.values()), results
    store = ParquetStore.of(aws, s3)
    for day in wanted:
        result = results[day]
        assert isinstance(result, ExportResult)
        assert result.rows == source_rows(day) > 0
        assert result.statement == (
            f"UNLOAD of {FIRST}…{FIRST + timedelta(days=4)}"
            if day < FIRST + timedelta(days=5)
            else f"UNLOAD of {FIRST + timedelta(days=10)}…{FIRST + timedelta(days=11)}"
        )
        stored = store.read(Partition(TABLE, day), schema.table(TABLE))
        assert stored.num_rows == result.rows
        times = stored.column("time").cast(pa.int64()).to_pylist()
        assert day_window(day).start_ns <= min(times) and max(times) < day_window(day).end_ns
        assert store.generation(Partition(TABLE, day)) == result.generation
    leftovers = s3.list_objects_v2(Bucket=aws.bucket, Prefix=aws.unload_prefix + "/")
    assert leftovers.get("KeyCount", 0) == 0, "the UNLOAD output is removed once read"


def test_exporting_a_range_again_replaces_each_days_objects_and_nothing_else(aws) -> None:  # type: ignore[no-untyped-def]
    wanted = days(4)
    neighbour = FIRST + timedelta(days=4)  # a partition just after the range: left alone
    stage(aws, [*wanted, neighbour])
    spec, s3 = schema.table(TABLE), aws.client("s3")
    store = ParquetStore.of(aws, s3)
    assert isinstance(
        export_days(spec, [neighbour], aws.client("timestream-query"), s3, aws)[neighbour],
        ExportResult,
    )
    kept = store.listed(Partition(TABLE, neighbour))
    first = export_days(spec, wanted, aws.client("timestream-query"), s3, aws)
    second = export_days(spec, wanted, aws.client("timestream-query"), s3, aws, write_threads=1)
    for day in wanted:
        old, new = first[day], second[day]
        assert isinstance(old, ExportResult) and isinstance(new, ExportResult)
        assert new.removed_stale == len(old.keys)  # the older generation's files
        listed = store.listed(Partition(TABLE, day))
        assert sorted(listed) == sorted([*new.keys, store.prefix(Partition(TABLE, day)) + MANIFEST])
        assert store.read(Partition(TABLE, day), spec).num_rows == source_rows(day)
    assert store.listed(Partition(TABLE, neighbour)) == kept
    listed = store.listed_days_etags(TABLE, wanted[1], wanted[2])
    assert {d: sorted(keys) for d, keys in listed.items()} == {
        d: sorted(store.listed(Partition(TABLE, d))) for d in wanted[1:3]
    }


def test_a_range_export_reads_no_object_of_the_days_it_listed(aws) -> None:  # type: ignore[no-untyped-def]
    """One LIST of the range tells each day's manifest (its ETag, for the conditional publish)
    and whether ONS files were loaded into it: no per-day GET, first export or again."""
    wanted = days(3)
    stage(aws, wanted)
    spec, s3 = schema.table(TABLE), aws.client("s3")
    asked: list[str] = []
    s3.meta.events.register(
        "before-parameter-build.s3.GetObject",
        lambda params, **_: asked.append(params["Key"]),
    )
    store = ParquetStore.of(aws, s3)
    for _ in range(2):
        results = export_days(spec, wanted, aws.client("timestream-query"), s3, aws)
        assert all(isinstance(r, ExportResult) for r in results.values()), results
    assert [k for k in asked if k.startswith(store.base + "/")] == []
    for day in wanted:
        result = results[day]
        assert isinstance(result, ExportResult)
        assert store.generation(Partition(TABLE, day)) == result.generation
        assert store.read(Partition(TABLE, day), spec).num_rows == source_rows(day)


def test_a_failed_range_listing_falls_back_to_each_days_own(aws, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    wanted = days(2)
    stage(aws, wanted)
    spec, s3 = schema.table(TABLE), aws.client("s3")
    first = export_days(spec, wanted, aws.client("timestream-query"), s3, aws)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("LIST refused")

    monkeypatch.setattr(ParquetStore, "listed_days_etags", refuse)
    second = export_days(spec, wanted, aws.client("timestream-query"), s3, aws)
    store = ParquetStore.of(aws, s3)
    for day in wanted:
        old, new = first[day], second[day]
        assert isinstance(old, ExportResult) and isinstance(new, ExportResult), new
        assert new.removed_stale == len(old.keys)
        assert store.generation(Partition(TABLE, day)) == new.generation


def test_a_failed_statement_fails_each_of_its_days_and_publishes_nothing(aws) -> None:  # type: ignore[no-untyped-def]
    stage(aws, days(3))
    # The days after them were never staged: Timestream answers no result row for them.
    wanted = days(3) + days(2, FIRST + timedelta(days=5))
    real = aws.client("timestream-query")

    class Failing(CountingQuery):
        def query(self, **kwargs: Any) -> dict[str, Any]:
            if f"from={FIRST + timedelta(days=5)}" in kwargs["QueryString"]:
                raise real.exceptions.InternalServerException(
                    {"Error": {"Code": "InternalServerException", "Message": "boom"}}, "Query"
                )
            return super().query(**kwargs)

    s3 = aws.client("s3")
    results = export_days(schema.table(TABLE), wanted, Failing(real), s3, aws)
    assert [isinstance(results[d], ExportResult) for d in wanted] == [True] * 3 + [False] * 2
    assert all("boom" in str(results[d]) for d in wanted[3:])
    store = ParquetStore.of(aws, s3)
    assert [store.generation(Partition(TABLE, d)) is None for d in wanted[3:]] == [True, True]


def test_a_day_whose_partition_cannot_be_written_fails_alone(aws) -> None:  # type: ignore[no-untyped-def]
    wanted = days(3)
    stage(aws, wanted)
    real_s3 = aws.client("s3")
    broken = f"date={wanted[1].isoformat()}/part-"

    class BrokenS3:
        def __init__(self) -> None:
            self.exceptions = real_s3.exceptions

        def __getattr__(self, name: str) -> Any:
            return getattr(real_s3, name)

        def put_object(self, **kwargs: Any) -> Any:
            if broken in kwargs["Key"]:
                raise OSError("S3 went away")
            return real_s3.put_object(**kwargs)

    results = export_days(
        schema.table(TABLE), wanted, aws.client("timestream-query"), BrokenS3(), aws
    )
    assert isinstance(results[wanted[0]], ExportResult)
    assert isinstance(results[wanted[1]], OSError)
    assert isinstance(results[wanted[2]], ExportResult)


def test_rows_outside_the_days_are_refused_by_name() -> None:
    spec = schema.table(TABLE)
    window = Window(day_window(FIRST).start, day_window(FIRST + timedelta(days=2)).end)
    rows = pa.concat_tables(list(generate_canonical(TABLE, window.start, window.end, seed=0)))
    parts = split_days(rows, days(3), "here")
    assert sum(p.num_rows for p in parts.values()) == rows.num_rows
    with pytest.raises(ExportError, match=r"here: \d+ row\(s\) outside the statement's window"):
        split_days(rows, days(2), "here")
    assert spec.name == TABLE


@pytest.mark.parametrize("name", ["curva_carga", "geracao_usina", "generation_data"])
def test_the_stand_in_reads_the_statements_the_exporter_writes(name: str) -> None:
    spec = schema.table(name)
    window = Window(day_window(FIRST).start, day_window(FIRST + timedelta(days=30)).end)
    statement = parse_unload(unload_query(spec, "ons", window, "s3://b/unload/x/"))
    assert statement is not None
    assert (statement.database, statement.table) == ("ons", spec.source_table)
    assert (statement.start_ns, statement.end_ns) == (window.start_ns, window.end_ns)
    assert statement.destination == "s3://b/unload/x/"


def test_a_run_exports_each_group_in_one_statement(aws, influx_url, influx_db) -> None:  # type: ignore[no-untyped-def]
    wanted = days(6)
    stage(aws, wanted)
    spec = schema.table(TABLE)
    query = CountingQuery(aws.client("timestream-query"))
    s3 = boto3.client("s3", endpoint_url=aws.endpoint_url)
    with InfluxClient(InfluxConfig(url=influx_url, database=influx_db)) as client:
        migration = TableMigration(
            spec,
            ParquetStore.of(aws, s3),
            export=lambda day: pytest.fail("days are exported by range"),
            export_days=lambda group: export_days(spec, group, query, s3, aws),
            client=client,
            settings=MigrationSettings(group_rows=spec.rows_per_day * 3),
            database=influx_db,
        )
        client.ensure_database(influx_db)
        outcomes = [o for g in migration.run(wanted, Stages()) for o in g]
    assert len(query.statements) == 2  # two groups of three days
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert [o.load.points for o in outcomes] == [source_rows(d) for d in wanted]  # type: ignore[union-attr]
