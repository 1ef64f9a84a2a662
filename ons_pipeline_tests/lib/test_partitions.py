"""Parquet partitions on S3 (moto): published as one unit, never with a collapsed series+time
(issue 11, items 3 and 8)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import boto3
import pyarrow as pa
import pytest

from ons_pipeline.lib import schema
from ons_pipeline.lib.partitions import (
    MANIFEST,
    ParquetStore,
    Partition,
    PartitionError,
    overlay,
)
from ons_pipeline_tests.integrity.conftest import generated

TABLE = "cmo_semihorario"
DAY = date(2024, 3, 5)


@pytest.fixture
def store(moto_server, s3_bucket) -> ParquetStore:  # type: ignore[no-untyped-def]
    return ParquetStore(boto3.client("s3", endpoint_url=moto_server.url), s3_bucket, "parquet")


def test_a_replacement_that_fails_halfway_leaves_the_previous_generation_whole(
    store: ParquetStore,
) -> None:
    spec, partition = schema.table(TABLE), Partition(TABLE, DAY)
    old = generated(TABLE, DAY)
    first = store.write(partition, [old], spec, rows_per_file=50)
    assert len(first.keys) > 1 and store.generation(partition) == first.generation
    new = old.set_column(
        old.schema.get_field_index("val_cmo"), "val_cmo", pa.array([1.0] * old.num_rows)
    )

    def failing() -> Iterator[pa.Table]:
        yield new.slice(0, 120)  # two files of the new generation reach S3...
        raise ConnectionError("S3 went away")  # ...then the export dies

    with pytest.raises(ConnectionError):
        store.write(partition, failing(), spec, rows_per_file=50)
    # Readers still see exactly the old generation, not a mix.
    assert store.generation(partition) == first.generation
    stored = store.read(partition, spec)
    assert stored.num_rows == old.num_rows
    assert stored.column("val_cmo").to_pylist() == first.table.column("val_cmo").to_pylist()
    listed = store.listed(partition)
    assert len(listed) > len(first.keys) + 1  # the dead write's files are there, unread
    # The next successful write publishes its generation and removes every leftover.
    second = store.write(partition, [new], spec, rows_per_file=50)
    manifest = store.prefix(partition) + MANIFEST
    assert sorted(store.listed(partition)) == sorted([*second.keys, manifest])
    assert store.read(partition, spec).column("val_cmo").to_pylist() == [1.0] * old.num_rows


def test_rows_sharing_a_series_and_time_are_refused_naming_them(store: ParquetStore) -> None:
    # A source dimension the mapping does not know: two rows differ only there.
    spec, partition = schema.table(TABLE), Partition(TABLE, DAY)
    rows = generated(TABLE, DAY)
    with pytest.raises(PartitionError, match=r"2 rows share their series \(.*\) and") as caught:
        store.write(partition, [pa.concat_tables([rows, rows.slice(7, 1)])], spec)
    assert "id_subsistema" in str(caught.value) and "a dimension the mapping does not know" in str(
        caught.value
    )
    assert store.manifest(partition) is None  # nothing was published


def test_a_null_and_an_empty_tag_are_one_series(store: ParquetStore) -> None:
    # InfluxDB stores no empty tag value: the two rows would be one point, one value lost.
    table = "generation_data"  # legacy: quality_flag is an optional tag
    spec, partition = schema.table(table), Partition(table, DAY)
    row = generated(table, DAY).slice(0, 1)
    tag = "quality_flag"
    position = row.schema.get_field_index(tag)
    field = row.schema.field(position)
    nulled = row.set_column(position, field, pa.nulls(1, field.type))
    emptied = row.set_column(position, field, pa.array([""], field.type))
    with pytest.raises(PartitionError, match=r"2 rows share their series \(.*\) and time"):
        store.write(partition, [pa.concat_tables([nulled, emptied])], spec)
    assert store.manifest(partition) is None


def test_one_code_at_one_time_under_two_names_is_refused(store: ParquetStore) -> None:
    # nom_subsistema describes the series id_subsistema names: two points would count it twice
    spec, partition = schema.table(TABLE), Partition(TABLE, DAY)
    rows = generated(TABLE, DAY)
    again = rows.slice(7, 1)
    position = again.schema.get_field_index("nom_subsistema")
    renamed = again.set_column(
        position,
        again.schema.field(position),
        pa.array(["Outro nome"], again.schema.field(position).type),
    )
    with pytest.raises(PartitionError, match=r"share their series \(id_subsistema\) and time"):
        store.write(partition, [pa.concat_tables([rows, renamed])], spec)
    assert store.manifest(partition) is None


def test_overlay_replaces_a_series_respelt_by_the_newer_rows() -> None:
    spec = schema.table(TABLE)
    base = generated(TABLE, DAY)
    position = base.schema.get_field_index("nom_subsistema")
    field = base.schema.field(position)
    first = base.slice(0, 1)
    top = first.set_column(position, field, pa.array(["Novo nome"], field.type))
    merged = overlay(base, top, spec)
    assert merged.num_rows == base.num_rows  # replaced, not added beside
    key = first.column("id_subsistema")[0].as_py(), first.column("time")[0].as_py()
    names = [
        r["nom_subsistema"] for r in merged.to_pylist() if (r["id_subsistema"], r["time"]) == key
    ]
    assert names == ["Novo nome"]


def test_files_over_an_export_keep_their_rows_and_do_away_with_what_they_claimed() -> None:
    """``files_over``: the files' rows; of the export, what the files did not replace, withdraw
    or leave out of a series-day they held whole (a point they could not read stays)."""
    from ons_pipeline.lib.ons_time import NS_PER_DAY, utc_ns_to_local_ns
    from ons_pipeline.lib.partitions import FileClaims, files_over

    spec = schema.table(TABLE)
    exported = generated(TABLE, DAY)
    times = pa.compute.cast(exported.column("time"), pa.int64()).to_pylist()
    local_days = (utc_ns_to_local_ns(pa.array(times).to_numpy()) // NS_PER_DAY).tolist()
    rows = [
        dict(r, ns=t, day=d)
        for r, t, d in zip(exported.to_pylist(), times, local_days, strict=True)
    ]
    ids = sorted({r["id_subsistema"] for r in rows})
    held, withdrawn_id, unread = ids[0], ids[1], ids[2]
    day = max(local_days)  # the local day DAY (the UTC day also holds the evening before)
    in_file = [i for i, r in enumerate(rows) if r["id_subsistema"] == held and r["day"] == day][:2]
    gone = next(r for r in rows if r["id_subsistema"] == withdrawn_id)
    kept = next(r for r in rows if r["id_subsistema"] == unread)
    claims = FileClaims(
        withdrawn=frozenset({((withdrawn_id,), gone["ns"]), ((unread,), kept["ns"])}),
        protected=frozenset({((unread,), kept["ns"])}),
        whole=frozenset({((held,), day)}),
    )
    merged = files_over(exported, exported.take(in_file), claims, spec)
    got = {
        (r["id_subsistema"], t)
        for r, t in zip(
            merged.to_pylist(),
            pa.compute.cast(merged.column("time"), pa.int64()).to_pylist(),
            strict=True,
        )
    }
    want = {
        (r["id_subsistema"], r["ns"])
        for i, r in enumerate(rows)
        if not (r["id_subsistema"] == held and r["day"] == day and i not in in_file)
        and r is not gone
    }
    assert got == want and merged.num_rows == len(want)
    assert (unread, kept["ns"]) in got  # withdrawn too, but unreadable in a file: as it was
    assert any(r["id_subsistema"] == held and r["day"] != day for r in rows)  # kept: not held


def test_claims_combine_as_the_files_loaded_and_a_later_version_supersedes_a_failed_one(
    store: ParquetStore,
) -> None:
    """The same file's claims committed twice (a retry, the yearly file published again) kept
    no point it could not read; a version whose load never finished held its day for ever after
    a later version of the same object was loaded."""
    from ons_pipeline.lib.partitions import FileClaims

    at = 1_704_466_800_000_000_000  # 2024-01-05 12:00 local
    day = 19727  # 2024-01-05 as days since 1970-01-01
    file = FileClaims(protected=frozenset({(("SE",), at)}), whole=frozenset({(("SE",), day)}))
    assert file.then(file).protected == file.protected
    assert not file.then(FileClaims(withdrawn=frozenset({(("SE",), at)}))).protected
    partition = Partition(TABLE, DAY)
    store.begin_file(partition, "raw/x.csv@v1")  # its load fails: pending
    store.begin_file(partition, "raw/x.csv@v2")
    store.commit_file(partition, "raw/x.csv@v2", file)
    claims = store.claims(partition)
    assert claims is not None and claims.pending == frozenset() and claims.protected
