"""Two writers of one day at the same moment, on moto and InfluxDB: the partition's manifest and
the files' claims are published by conditional writes (S3 ``If-Match``/``If-None-Match``), so
the second writer applies its change to what the first published, never over it.

Production allows two ingest runs at once, ``ons-pipeline load`` runs outside Dagster, and the
migration exports days while files arrive: each of these lost a writer's rows or claims when
the last plain PUT won.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ons_pipeline.lib import schema
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.migration.exporter import export_days
from ons_pipeline.lib.partitions import (
    MANIFEST,
    FileClaims,
    ParquetStore,
    Partition,
    PartitionChangedError,
)
from ons_pipeline.lib.settings import InfluxSettings
from ons_pipeline_tests.defs.test_migration import stage as stage_days
from ons_pipeline_tests.ingest.test_corrections import _edit
from ons_pipeline_tests.ingest.test_ingest import DAY, ingest, local, points, raw_csv
from ons_pipeline_tests.integrity.conftest import generated

TABLE = "curva_carga"


def only(subsystem: str, noon: str) -> bytes:
    """The local day DAY as ONS publishes it, only ``subsystem``'s rows, its 12:00 replaced."""

    def edit(rows: list[dict[str, Any]]) -> None:
        rows[:] = [r for r in rows if r["id_subsistema"] == subsystem]
        for row in rows:
            if row["din_instante"].endswith("12:00:00"):
                row["val_cargaenergiahomwmed"] = noon

    return _edit(raw_csv(TABLE, [DAY]), edit)


def noon_in_parquet(aws: AwsSettings, subsystem: str) -> list[float]:
    store, spec = ParquetStore.of(aws), schema.table(TABLE)
    rows = pa.concat_tables(
        store.read(Partition(TABLE, d), spec) for d in (DAY, DAY + timedelta(days=1))
    )
    at = pc.and_(
        pc.equal(pc.cast(rows.column("time"), pa.int64()), local(DAY, 12)),
        pc.equal(rows.column("id_subsistema").cast(pa.string()), subsystem),
    )
    return rows.filter(at).column("val_cargaenergiahomwmed").to_pylist()


def noon_in_influxdb(influx_url: str, influx_db: str, subsystem: str) -> list[float]:
    start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
    stored = points(influx_url, influx_db, TABLE, start, start + timedelta(days=2))
    return [
        fields["val_cargaenergiahomwmed"]
        for (tags, at), fields in stored.items()
        if subsystem in tags and at == local(DAY, 12)
    ]


def test_two_files_loaded_into_one_day_at_once_both_stay(
    aws: AwsSettings,
    influxdb: InfluxSettings,
    influx_url: str,
    influx_db: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """File A (SE only) planned the day, file B (S only) was loaded meanwhile, then A published
    its partition: B's rows were gone from the Parquet partition (InfluxDB still had them)."""
    write = ParquetStore.write
    arrived: list[bool] = []

    def b_arrives_while_a_writes(self, partition, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not arrived:
            arrived.append(True)
            ingest(aws, influxdb, only("S", "2.0"), "raw/curva/b.csv", etag="b1")
        return write(self, partition, *args, **kwargs)

    monkeypatch.setattr(ParquetStore, "write", b_arrives_while_a_writes)
    report = ingest(aws, influxdb, only("SE", "1.0"), "raw/curva/a.csv", etag="a1")
    assert not report.failed_batches
    assert noon_in_parquet(aws, "SE") == [1.0] and noon_in_parquet(aws, "S") == [2.0]
    assert noon_in_influxdb(influx_url, influx_db, "SE") == [1.0]
    assert noon_in_influxdb(influx_url, influx_db, "S") == [2.0]
    store = ParquetStore.of(aws)
    for day in (DAY, DAY + timedelta(days=1)):
        claims = store.claims(Partition(TABLE, day))
        assert claims is None or claims.pending == frozenset()


def test_a_file_published_between_an_exports_check_and_its_publish_is_kept(
    aws: AwsSettings, influxdb: InfluxSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The export checked that no file had been loaded into the day, a correction was then
    loaded and published, and the export's manifest replaced it with Timestream's rows."""
    stage_days({"aws": aws}, [TABLE], [DAY], mode="unload")
    put_if = ParquetStore._put_if
    arrived: list[bool] = []

    def a_correction_lands_just_before(self, key, body, etag):  # type: ignore[no-untyped-def]
        if key.endswith(MANIFEST) and not arrived:
            arrived.append(True)
            ingest(aws, influxdb, only("SE", "1.0"), "raw/curva/fix.csv", etag="f1")
        return put_if(self, key, body, etag)

    monkeypatch.setattr(ParquetStore, "_put_if", a_correction_lands_just_before)
    s3 = aws.client("s3")
    results = export_days(schema.table(TABLE), [DAY], aws.client("timestream-query"), s3, aws)
    assert isinstance(results[DAY], PartitionChangedError), results[DAY]
    assert "another writer published this partition" in str(results[DAY])
    assert noon_in_parquet(aws, "SE") == [1.0]


class _Interleaved:
    """An S3 client whose first PUT of ``key`` runs ``meanwhile`` just before it."""

    def __init__(self, s3: Any, key: str, meanwhile: Any) -> None:
        self._s3, self._key, self._meanwhile, self._done = s3, key, meanwhile, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)

    def put_object(self, **kwargs: Any) -> Any:
        if kwargs["Key"] == self._key and not self._done:
            self._done = True
            self._meanwhile()
        return self._s3.put_object(**kwargs)


def test_claims_of_two_files_committed_at_once_are_both_kept(moto_server, s3_bucket) -> None:  # type: ignore[no-untyped-def]
    """Two files' claims written at the same moment: the last PUT dropped the first's."""
    s3 = boto3.client("s3", endpoint_url=moto_server.url)
    partition = Partition(TABLE, DAY)
    other = ParquetStore(s3, s3_bucket)
    key = other.prefix(partition) + "_ons_files.json"
    a = FileClaims(withdrawn=frozenset({(("SE",), 1)}))
    b = FileClaims(withdrawn=frozenset({(("S",), 2)}))
    other.begin_file(partition, "raw/a.csv@1")
    other.begin_file(partition, "raw/b.csv@1")
    store = ParquetStore(
        _Interleaved(s3, key, lambda: other.commit_file(partition, "raw/b.csv@1", b)),
        s3_bucket,
    )
    store.commit_file(partition, "raw/a.csv@1", a)
    claims = other.claims(partition)
    assert claims is not None
    assert claims.withdrawn == a.withdrawn | b.withdrawn and claims.pending == frozenset()


def test_a_write_leaves_the_files_of_a_later_writer_in_flight(moto_server, s3_bucket) -> None:  # type: ignore[no-untyped-def]
    """Removing leftovers after publishing took every file not its own, also those another
    writer (begun after this one published) was writing: its manifest then named lost files."""
    s3 = boto3.client("s3", endpoint_url=moto_server.url)
    store, spec = ParquetStore(s3, s3_bucket), schema.table("cmo_semihorario")
    partition = Partition("cmo_semihorario", DAY)
    rows = generated("cmo_semihorario", DAY)
    store.write(partition, [rows], spec)
    prefix = store.prefix(partition)
    earlier = f"{prefix}part-20000101T000000000000-0badc0de-00000.parquet"
    later = f"{prefix}part-29991231T235959000000-0badc0de-00000.parquet"
    for key in (earlier, later):
        s3.put_object(Bucket=s3_bucket, Key=key, Body=b"in flight")
    written = store.write(partition, [rows], spec)
    listed = set(store.listed(partition))
    assert later in listed and earlier not in listed
    assert set(written.keys) <= listed and store.keys(partition) == written.keys
