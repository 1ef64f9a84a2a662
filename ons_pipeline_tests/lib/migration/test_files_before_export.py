"""ONS files loaded into a day before (or while) the migration exports it, on moto and InfluxDB.

What a day's files said lives in the partition itself (``_ons_files.json``), not in Dagster's
event log: an export keeps the files' rows and does not bring back what they withdrew, also when
the file came through ``ons-pipeline load`` (no Dagster run); a file loaded while the day is
being exported fails the day instead of being overwritten by older rows.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ons_pipeline.lib import ons_time, schema
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.migration.exporter import ExportResult, export_days, export_partition
from ons_pipeline.lib.migration.pipeline import Stages, TableMigration
from ons_pipeline.lib.partitions import (
    FILE_CLAIMS,
    ParquetStore,
    Partition,
    PartitionChangedError,
)
from ons_pipeline.lib.settings import InfluxSettings, MigrationSettings
from ons_pipeline_tests.defs.test_migration import stage as stage_days
from ons_pipeline_tests.ingest.test_corrections import _edit
from ons_pipeline_tests.ingest.test_ingest import DAY, ingest, raw_csv
from ons_pipeline_tests.lib.migration.test_export_range import source_rows

TABLE = "curva_carga"
SE_NOON = ons_time.to_ns(datetime(DAY.year, DAY.month, DAY.day, 15, tzinfo=UTC))  # 12:00 local


@pytest.fixture
def aws(moto_server, s3_bucket) -> AwsSettings:  # type: ignore[no-untyped-def]
    return AwsSettings(
        endpoint_url=moto_server.url,
        bucket=s3_bucket,
        export_mode="unload",
        timestream_database=f"ons_{uuid.uuid4().hex[:8]}",
    )


@pytest.fixture
def influxdb(influx_url, influx_db) -> InfluxSettings:  # type: ignore[no-untyped-def]
    return InfluxSettings.of(url=influx_url, database=influx_db)


def edited(value: str) -> bytes:
    """The local day DAY as ONS publishes it, SE's 12:00 value replaced by ``value``."""

    def edit(rows: list[dict[str, Any]]) -> None:
        for row in rows:
            if row["id_subsistema"] == "SE" and row["din_instante"].endswith("12:00:00"):
                row["val_cargaenergiahomwmed"] = value

    return _edit(raw_csv(TABLE, [DAY]), edit)


def se_noon(aws: AwsSettings) -> list[float]:
    rows = ParquetStore.of(aws).read(Partition(TABLE, DAY), schema.table(TABLE))
    at = pc.and_(
        pc.equal(pc.cast(rows.column("time"), pa.int64()), SE_NOON),
        pc.equal(rows.column("id_subsistema").cast(pa.string()), "SE"),
    )
    return rows.filter(at).column("val_cargaenergiahomwmed").to_pylist()


def test_an_export_after_a_file_keeps_its_rows_and_not_what_it_withdrew(
    aws: AwsSettings, influxdb: InfluxSettings
) -> None:
    """Loaded by ``ingest_bytes`` alone (as ``ons-pipeline load`` does: no Dagster record), the
    file withdrew SE's 12:00 (a row without a value); the export brought Timestream's back."""
    stage_days({"aws": aws}, [TABLE], [DAY], mode="unload")
    ingest(aws, influxdb, edited(""), "raw/curva/withdrawn.csv")
    s3 = aws.client("s3")
    assert s3.head_object(
        Bucket=aws.bucket, Key=ParquetStore.of(aws).prefix(Partition(TABLE, DAY)) + FILE_CLAIMS
    )
    result = export_days(schema.table(TABLE), [DAY], aws.client("timestream-query"), s3, aws)[DAY]
    assert isinstance(result, ExportResult), result
    assert result.rows == source_rows(DAY) - 1 and result.file_rows
    assert se_noon(aws) == []
    # the same in query mode, a day at a time
    query = AwsSettings(**{**aws.__dict__, "export_mode": "query"})
    stage_days({"aws": query}, [TABLE], [DAY], mode="query")
    again = export_partition(
        schema.table(TABLE), DAY, "query", query.client("timestream-query"), s3, query
    )
    assert again.rows == source_rows(DAY) - 1 and se_noon(aws) == []


def test_a_file_loaded_while_the_day_is_exported_fails_the_day_and_is_kept(
    aws: AwsSettings, influxdb: InfluxSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The export read the partition (no file yet), a correction was loaded, then the export
    published Timestream's rows over it: both stores held the old value, verification passing."""
    stage_days({"aws": aws}, [TABLE], [DAY], mode="unload")
    write = ParquetStore.write
    arrived: list[bool] = []

    def a_correction_arrives_first(self, partition, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not arrived:
            arrived.append(True)
            ingest(aws, influxdb, edited("1.0"), "raw/curva/fix.csv", etag="e2")
        return write(self, partition, *args, **kwargs)

    monkeypatch.setattr(ParquetStore, "write", a_correction_arrives_first)
    s3 = aws.client("s3")
    result = export_days(schema.table(TABLE), [DAY], aws.client("timestream-query"), s3, aws)[DAY]
    assert isinstance(result, PartitionChangedError), result
    # the manifest is published only if it is as the export listed it
    assert "another writer published this partition" in str(result)
    assert se_noon(aws) == [1.0]  # the correction's partition, not the export's


@pytest.mark.parametrize("earlier_file", [False, True], ids=["first-file", "day-had-a-file"])
@pytest.mark.parametrize("export", ["day", "range"])
def test_a_file_loaded_after_the_export_published_fails_the_load(
    aws: AwsSettings, influxdb: InfluxSettings, earlier_file: bool, export: str
) -> None:
    """Exported and published, then a correction was loaded (partition and InfluxDB), then the
    run loaded the exported rows over InfluxDB's corrected point and verified them against the
    export: a pass, InfluxDB holding the old value and Parquet the new one (also when the day
    already had a file: its claims' object existed before, only its ETag tells). The range
    export publishes a day without files with no check of its own: this is what catches it."""
    if earlier_file:
        ingest(aws, influxdb, edited("5.0"), "raw/curva/earlier.csv", etag="e0")
    stage_days({"aws": aws}, [TABLE], [DAY], mode="unload")
    spec, s3 = schema.table(TABLE), aws.client("s3")

    def export_then_a_correction(day):  # type: ignore[no-untyped-def]
        result = export_partition(spec, day, "unload", aws.client("timestream-query"), s3, aws)
        ingest(aws, influxdb, edited("1.0"), "raw/curva/fix.csv", etag="e3")
        return result

    def export_range_then_a_correction(group):  # type: ignore[no-untyped-def]
        results = export_days(spec, group, aws.client("timestream-query"), s3, aws)
        ingest(aws, influxdb, edited("1.0"), "raw/curva/fix.csv", etag="e3")
        return results

    store = ParquetStore.of(aws, s3)
    with influxdb.client() as client:
        migration = TableMigration(
            spec,
            store,
            export=export_then_a_correction,
            export_days=export_range_then_a_correction if export == "range" else None,
            client=client,
            settings=MigrationSettings(),
        )
        stages = Stages(export=True, validate=False, load=True, verify=True)
        (outcomes,) = list(migration.run([DAY], stages))
    (outcome,) = outcomes
    assert not outcome.ok and "while this run loaded it" in (outcome.error or "")


# --- found by a review of the above (each failed before its fix) ------------------------------


def hour(row: dict[str, Any]) -> int:
    return int(row["din_instante"][11:13])


def file_where(keep: Any = lambda _r: True, noon: str | None = None) -> bytes:
    """The local day DAY as ONS publishes it, the rows ``keep`` keeps (SE's 12:00 as ``noon``)."""

    def edit(rows: list[dict[str, Any]]) -> None:
        rows[:] = [r for r in rows if keep(r)]
        for row in rows:
            at_noon = row["din_instante"].endswith("12:00:00")
            if noon is not None and row["id_subsistema"] == "SE" and at_noon:
                row["val_cargaenergiahomwmed"] = noon

    return _edit(raw_csv(TABLE, [DAY]), edit)


def export_day(aws: AwsSettings, day: Any = DAY) -> Any:
    spec, s3 = schema.table(TABLE), aws.client("s3")
    return export_days(spec, [day], aws.client("timestream-query"), s3, aws)[day]


def test_a_day_a_file_only_named_is_exported(aws: AwsSettings, influxdb: InfluxSettings) -> None:
    """A file ending at 20:00 local names the next UTC day (its claims) without rows there: the
    export of that day failed for ever ('no Parquet files')."""
    from ons_pipeline_tests.ingest.test_ingest import NEXT

    ingest(aws, influxdb, file_where(lambda r: hour(r) <= 20), "raw/curva/partial.csv")
    stage_days({"aws": aws}, [TABLE], [NEXT], mode="unload")
    result = export_day(aws, NEXT)
    assert isinstance(result, ExportResult) and result.rows == source_rows(NEXT), result


@pytest.mark.parametrize("first", ["abc", ""], ids=["unreadable-then-withdrawn", "reverse"])
def test_a_point_one_file_could_not_read_and_another_withdrew_stays_withdrawn(
    aws: AwsSettings, influxdb: InfluxSettings, first: str
) -> None:
    second = "" if first else "abc"
    ingest(aws, influxdb, edited(first), "raw/curva/a.csv", etag="a")
    ingest(aws, influxdb, edited(second), "raw/curva/b.csv", etag="b")
    assert se_noon(aws) == []
    stage_days({"aws": aws}, [TABLE], [DAY], mode="unload")
    assert isinstance(export_day(aws), ExportResult)
    assert se_noon(aws) == []  # Timestream's value came back


def test_a_file_that_only_adds_claims_during_the_export_fails_the_day(
    aws: AwsSettings, influxdb: InfluxSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The partition already had files; a file withdrawing a point the partition does not hold
    changes no row (no new generation): only its claims tell, and the export ignored them."""

    def not_se_noon(row: dict[str, Any]) -> bool:
        return not (row["id_subsistema"] == "SE" and row["din_instante"].endswith("12:00:00"))

    ingest(aws, influxdb, file_where(not_se_noon), "raw/curva/a.csv", etag="a")
    stage_days({"aws": aws}, [TABLE], [DAY], mode="unload")
    write = ParquetStore.write
    arrived: list[bool] = []

    def a_file_arrives_first(self, partition, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not arrived:
            arrived.append(True)
            ingest(aws, influxdb, edited(""), "raw/curva/b.csv", etag="b")
        return write(self, partition, *args, **kwargs)

    monkeypatch.setattr(ParquetStore, "write", a_file_arrives_first)
    result = export_day(aws)
    assert isinstance(result, PartitionChangedError) or se_noon(aws) == [], result
    assert isinstance(result, PartitionChangedError)


def test_a_file_whose_load_failed_holds_its_day_until_it_is_loaded(
    aws: AwsSettings, influxdb: InfluxSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole-day claims of a file whose load failed counted without its rows: the export
    dropped Timestream's hours the file would have replaced (60 of 96 rows published)."""
    from ons_pipeline.lib.ingest import files as ingest_files

    ingest(aws, influxdb, file_where(lambda r: hour(r) < 12), "raw/curva/a.csv", etag="a")

    def influxdb_down(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("InfluxDB down")

    with monkeypatch.context() as patched:
        patched.setattr(ingest_files, "load_tables", influxdb_down)
        with pytest.raises(RuntimeError):
            ingest(aws, influxdb, raw_csv(TABLE, [DAY]), "raw/curva/full.csv", etag="f")
    stage_days({"aws": aws}, [TABLE], [DAY], mode="unload")
    held = export_day(aws)
    assert isinstance(held, PartitionChangedError) and "raw/curva/full.csv" in str(held)
    ingest(aws, influxdb, raw_csv(TABLE, [DAY]), "raw/curva/full.csv", etag="f")  # run again
    result = export_day(aws)
    assert isinstance(result, ExportResult) and result.rows == source_rows(DAY), result


def test_a_file_loaded_between_the_exports_reads_fails_the_day(
    aws: AwsSettings, influxdb: InfluxSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The export read the claims, then a file was loaded, then the export read the partition:
    old claims with new rows (a point the new file withdrew came back)."""
    ingest(aws, influxdb, file_where(lambda r: hour(r) <= 12, noon="5.0"), "raw/curva/a.csv")
    stage_days({"aws": aws}, [TABLE], [DAY], mode="unload")
    generation = ParquetStore.generation
    armed = [True]

    def a_file_arrives(self, partition):  # type: ignore[no-untyped-def]
        if armed and threading.current_thread().name.startswith("partition-write"):
            armed.clear()
            ingest(aws, influxdb, edited(""), "raw/curva/b.csv", etag="b")  # withdraws SE noon
        return generation(self, partition)

    monkeypatch.setattr(ParquetStore, "generation", a_file_arrives)
    result = export_day(aws)
    assert not armed and (not isinstance(result, ExportResult) or se_noon(aws) == [])


def test_a_file_loaded_before_the_verify_stage_reload_fails_the_day(
    aws: AwsSettings, influxdb: InfluxSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verification found InfluxDB short (a file withdrew a point after the load) and reloaded
    the exported rows, bringing the point back, and the second verification passed."""
    from ons_pipeline.lib.migration import pipeline

    stage_days({"aws": aws}, [TABLE], [DAY], mode="unload")
    spec, s3 = schema.table(TABLE), aws.client("s3")
    verify_days = pipeline.verify_days
    armed = [True]

    def a_file_arrives_first(*args: Any, **kwargs: Any) -> Any:
        if armed:
            armed.clear()
            ingest(aws, influxdb, edited(""), "raw/curva/fix.csv", etag="e3")
        return verify_days(*args, **kwargs)

    monkeypatch.setattr(pipeline, "verify_days", a_file_arrives_first)

    def export(day):  # type: ignore[no-untyped-def]
        return export_partition(spec, day, "unload", aws.client("timestream-query"), s3, aws)

    with influxdb.client() as client:
        migration = TableMigration(
            spec,
            ParquetStore.of(aws, s3),
            export=export,
            client=client,
            settings=MigrationSettings(),
        )
        stages = Stages(export=True, validate=False, load=True, verify=True)
        (outcomes,) = list(migration.run([DAY], stages))
    (outcome,) = outcomes
    assert not armed and not outcome.ok and "while this run loaded it" in (outcome.error or "")


@pytest.mark.parametrize(
    ("verified", "held"), [("1234.5", 1234.5), ("", None)], ids=["value", "withdrawal"]
)
def test_an_export_keeps_the_fields_the_files_had_no_column_for(
    aws: AwsSettings, influxdb: InfluxSettings, verified: str, held: float | None
) -> None:
    """An intercâmbio file (ONS's have no programmed column) loaded before the migration reached
    its day, then the export: the file's rows replaced the exported ones whole, and the
    programmed values Timestream held for those points were lost in both stores, silently (the
    verification compares the stores with each other). A field no file spoke of keeps its
    exported value, for a withdrawn point too."""
    table, verified_field, programmed = (
        "intercambio",
        "val_intercambiomwmed",
        "val_intercambioprogmwmed",
    )
    spec = schema.table(table)
    stage_days({"aws": aws}, [table], [DAY], mode="unload")
    s3 = aws.client("s3")
    store = ParquetStore.of(aws)

    def at_ten_from_n(rows: pa.Table) -> pa.Table:
        return rows.filter(
            pc.and_(
                pc.equal(rows.column("id_subsistema_origem").cast(pa.string()), "N"),
                pc.equal(pc.cast(rows.column("time"), pa.int64()), ten),
            )
        )

    ten = ons_time.to_ns(datetime(DAY.year, DAY.month, DAY.day, 13, tzinfo=UTC))  # 10:00 local
    export_days(spec, [DAY], aws.client("timestream-query"), s3, aws)
    source = at_ten_from_n(store.read(Partition(table, DAY), spec)).sort_by("id_subsistema_destino")
    assert source.num_rows and all(v is not None for v in source.column(programmed).to_pylist())
    store_prefix = store.prefix(Partition(table, DAY))
    for obj in s3.list_objects_v2(Bucket=aws.bucket, Prefix=store_prefix).get("Contents", []):
        s3.delete_object(Bucket=aws.bucket, Key=obj["Key"])  # the day not migrated yet

    def edit(rows: list[dict[str, Any]]) -> None:
        rows[:] = [
            r
            for r in rows
            if r["din_instante"] == f"{DAY} 10:00:00" and r["id_subsistema_origem"] == "N"
        ]
        for row in rows:
            del row[programmed]
            row[verified_field] = verified

    ingest(aws, influxdb, _edit(raw_csv(table, [DAY]), edit), "raw/intercambio/a.csv")
    export_days(spec, [DAY], aws.client("timestream-query"), s3, aws)
    after = at_ten_from_n(store.read(Partition(table, DAY), spec)).sort_by("id_subsistema_destino")
    assert after.column(programmed).to_pylist() == source.column(programmed).to_pylist()
    assert set(after.column(verified_field).to_pylist()) == {held}
