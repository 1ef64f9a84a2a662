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


# --- a review of the conditional writes, with reproductions (each fails without its fix) -------

PROGRAMMED, VERIFIED = "val_intercambioprogmwmed", "val_intercambiomwmed"


def test_a_retry_gives_way_for_the_fields_the_file_lacks(
    aws: AwsSettings,
    influxdb: InfluxSettings,
    influx_url: str,
    influx_db: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A's file has no programmed-interchange column; B (uploaded after A, published while A
    loaded) withdrew a point's programmed value. A's retry kept in InfluxDB the value its first
    attempt had taken from the older partition, while the partition had none: the stores
    disagreed, the ingest reported success. Now A's retry gives the point back to B (uploaded
    later) in InfluxDB as well: B's value, without the programmed one."""
    from ons_pipeline.lib.ingest import files as files_mod
    from ons_pipeline_tests.ingest.test_corrections import stores
    from ons_pipeline_tests.ingest.test_ingest import NEXT

    table = "intercambio"
    ingest(aws, influxdb, raw_csv(table, [DAY, NEXT]), "raw/intercambio/migrated.csv")

    def at_ten_from_n(edit: Any) -> Any:
        def rows_of(rows: list[dict[str, Any]]) -> None:
            rows[:] = [
                r
                for r in rows
                if r["din_instante"] == "2024-01-05 10:00:00" and r["id_subsistema_origem"] == "N"
            ]
            for r in rows:
                edit(r)

        return rows_of

    def a_edit(row: dict[str, Any]) -> None:
        del row[PROGRAMMED]
        row[VERIFIED] = "1234.5"

    def b_edit(row: dict[str, Any]) -> None:
        row[VERIFIED], row[PROGRAMMED] = "999.0", ""

    a_file = _edit(raw_csv(table, [DAY]), at_ten_from_n(a_edit))
    b_file = _edit(raw_csv(table, [DAY]), at_ten_from_n(b_edit))
    reconcile = files_mod.reconcile
    state = {"busy": False, "done": False}

    def b_lands_after_a_planned(client, spec, claims):  # type: ignore[no-untyped-def]
        if not state["busy"] and not state["done"]:
            state["busy"] = True
            ingest(aws, influxdb, b_file, "raw/intercambio/b.csv", etag="b1")
            state["busy"], state["done"] = False, True
        return reconcile(client, spec, claims)

    monkeypatch.setattr(files_mod, "reconcile", b_lands_after_a_planned)
    assert not ingest(aws, influxdb, a_file, "raw/intercambio/a.csv", etag="a1").failed_batches
    in_influx, in_parquet = stores(aws, influx_url, influx_db, table, DAY, NEXT)
    assert in_influx == in_parquet
    changed = [fields for fields in in_parquet.values() if fields.get(VERIFIED) == 999.0]
    assert len(changed) >= 1 and all(PROGRAMMED not in fields for fields in changed)
    assert not [fields for fields in in_parquet.values() if fields.get(VERIFIED) == 1234.5]


@pytest.mark.parametrize("at_read", [2, 4], ids=["before its mark", "in its retry loop"])
def test_a_plan_read_while_another_file_publishes_reads_again(
    at_read: int,
    aws: AwsSettings,
    influxdb: InfluxSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """B published (and removed the files A was about to download) between A's reading of the
    manifest and of its files: A failed with a bare 404, leaving its pending mark on the day."""
    ingest(aws, influxdb, raw_csv(TABLE, [DAY]), "raw/curva/base.csv", etag="base")
    keys = ParquetStore.keys
    state = {"busy": False, "reads": 0}

    def b_publishes_after_a_read_the_manifest(self, partition):  # type: ignore[no-untyped-def]
        found = keys(self, partition)
        if state["busy"] or partition.day != DAY:
            return found
        state["reads"] += 1
        if state["reads"] == at_read:
            state["busy"] = True
            ingest(aws, influxdb, only("S", "2.0"), "raw/curva/b.csv", etag="b1")
            state["busy"] = False
        return found

    monkeypatch.setattr(ParquetStore, "keys", b_publishes_after_a_read_the_manifest)
    ingest(aws, influxdb, only("SE", "1.0"), "raw/curva/a.csv", etag="a1")
    monkeypatch.setattr(ParquetStore, "keys", keys)
    assert noon_in_parquet(aws, "SE") == [1.0] and noon_in_parquet(aws, "S") == [2.0]
    claims = ParquetStore.of(aws).claims(Partition(TABLE, DAY))
    assert claims is not None and claims.pending == frozenset()


def test_two_exports_of_one_day_leave_a_readable_partition(
    aws: AwsSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Export Y began after X, published first and removed X's unpublished file; X then
    published on Y's manifest: a manifest naming a removed file (the day unreadable)."""
    from ons_pipeline.lib import partitions as partitions_mod

    stage_days({"aws": aws}, [TABLE], [DAY], mode="unload")
    spec, s3 = schema.table(TABLE), aws.client("s3")
    refuse = partitions_mod._refuse_duplicates
    state = {"busy": False, "done": False}

    def y_exports_between_xs_files_and_its_publish(table, spec_, where):  # type: ignore[no-untyped-def]
        refuse(table, spec_, where)
        if not state["busy"] and not state["done"]:
            state["busy"] = True
            y = export_days(spec, [DAY], aws.client("timestream-query"), s3, aws)[DAY]
            assert not isinstance(y, Exception), y
            state["busy"], state["done"] = False, True

    monkeypatch.setattr(
        partitions_mod, "_refuse_duplicates", y_exports_between_xs_files_and_its_publish
    )
    x = export_days(spec, [DAY], aws.client("timestream-query"), s3, aws)[DAY]
    assert isinstance(x, PartitionChangedError), x
    store = ParquetStore.of(aws)
    partition = Partition(TABLE, DAY)
    assert set(store.keys(partition)) <= set(store.listed(partition))
    assert store.read(partition, spec).num_rows > 0


def test_a_partition_without_manifest_ignores_files_no_manifest_named(
    moto_server, s3_bucket
) -> None:  # type: ignore[no-untyped-def]
    """A partition written before manifests read every .parquet under it, also the files of a
    write that never published: its rows twice, refused, the day blocked for good."""
    import pyarrow.parquet as pq

    s3 = boto3.client("s3", endpoint_url=moto_server.url)
    store, spec = ParquetStore(s3, s3_bucket), schema.table("cmo_semihorario")
    partition = Partition("cmo_semihorario", DAY)
    rows = generated("cmo_semihorario", DAY)
    prefix = store.prefix(partition)
    for name in ("part-00000.parquet", "part-20240105T101010123456-0badc0de-00000.parquet"):
        sink = pa.BufferOutputStream()
        pq.write_table(rows, sink)
        s3.put_object(Bucket=s3_bucket, Key=prefix + name, Body=sink.getvalue().to_pybytes())
    assert store.keys(partition) == [prefix + "part-00000.parquet"]
    assert store.read(partition, spec).num_rows == rows.num_rows


def test_an_older_version_of_an_object_does_not_retry_over_the_newer(
    aws: AwsSettings,
    influxdb: InfluxSettings,
    influx_url: str,
    influx_db: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """v1 and v2 of one key loading at once: v2 published first, then v1's retry re-applied
    itself over it, both stores ending with the older version's value."""
    s3 = aws.client("s3")
    key = "raw/curva/year.csv"
    v1, v2 = only("SE", "1.0"), only("SE", "2.0")
    first = s3.put_object(Bucket=aws.bucket, Key=key, Body=v1)["ETag"]
    write = ParquetStore.write
    arrived: list[bool] = []

    def v2_arrives_while_v1_writes(self, partition, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not arrived:
            arrived.append(True)
            second = s3.put_object(Bucket=aws.bucket, Key=key, Body=v2)["ETag"]
            ingest(aws, influxdb, v2, key, etag=second)
        return write(self, partition, *args, **kwargs)

    monkeypatch.setattr(ParquetStore, "write", v2_arrives_while_v1_writes)
    from ons_pipeline.lib.ingest.files import SupersededLoadError

    # v1 had written its rows to InfluxDB before v2 published: loud, the day rewritten from v2's
    with pytest.raises(SupersededLoadError):
        ingest(aws, influxdb, v1, key, etag=first)
    assert noon_in_parquet(aws, "SE") == [2.0]
    assert noon_in_influxdb(influx_url, influx_db, "SE") == [2.0]


def test_an_older_version_committing_keeps_the_mark_of_the_newer_one_loading(
    aws: AwsSettings,
    influxdb: InfluxSettings,
    influx_url: str,
    influx_db: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """v2 was uploaded and began loading the day while v1 published it: v1's commit cleared
    v2's pending mark and stamps (every version of the key's), so an export meanwhile would
    not have failed the day. Only a version that is still the object's clears other marks."""
    s3 = aws.client("s3")
    store = ParquetStore.of(aws)
    key = "raw/curva/year.csv"
    first = s3.put_object(Bucket=aws.bucket, Key=key, Body=only("SE", "1.0"))["ETag"]
    write = ParquetStore.write
    marked: list[tuple[Partition, str]] = []

    def v2_begins_while_v1_writes(self, partition, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not marked:
            second = s3.put_object(Bucket=aws.bucket, Key=key, Body=only("SE", "2.0"))["ETag"]
            marked.append((partition, f"s3://{aws.bucket}/{key}@{second.strip(chr(34))}"))
            store.begin_file(partition, marked[0][1])
        return write(self, partition, *args, **kwargs)

    monkeypatch.setattr(ParquetStore, "write", v2_begins_while_v1_writes)
    with pytest.raises(Exception, match="newer version"):
        ingest(aws, influxdb, only("SE", "1.0"), key, etag=first)
    monkeypatch.setattr(ParquetStore, "write", write)
    partition, v2 = marked[0]
    claims, _ = store.claims_and_etag(partition)
    assert claims is not None and v2 in claims.pending, "v1 cleared v2's mark"
    ingest(aws, influxdb, only("SE", "2.0"), key, etag=v2.rsplit("@", 1)[1])
    claims, _ = store.claims_and_etag(partition)
    assert claims is not None and not claims.pending and not claims.pending_stamps
    assert noon_in_parquet(aws, "SE") == [2.0]
    assert noon_in_influxdb(influx_url, influx_db, "SE") == [2.0]


def test_an_ingest_run_whose_object_is_overwritten_mid_load_stops_as_superseded(
    aws: AwsSettings,
    influxdb: InfluxSettings,
    influx_url: str,
    influx_db: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Dagster ingest run of v1 sees v2 uploaded while it loads: the run ends without
    error, says it was superseded, and leaves the day to v2's run (which loads v2)."""
    import dagster as dg

    from ons_pipeline.defs.ingest.jobs import ingest_raw_object_job
    from ons_pipeline.lib.ingest import files as files_mod

    s3 = aws.client("s3")
    key = "raw/curva/year.csv"
    first = s3.put_object(Bucket=aws.bucket, Key=key, Body=only("SE", "1.0"))["ETag"]
    plan = files_mod.plan_partition
    uploaded: list[bool] = []

    def v2_uploaded_during_the_plan(*args: Any, **kwargs: Any) -> Any:
        if not uploaded:
            uploaded.append(True)
            s3.put_object(Bucket=aws.bucket, Key=key, Body=only("SE", "2.0"))
        return plan(*args, **kwargs)

    monkeypatch.setattr(files_mod, "plan_partition", v2_uploaded_during_the_plan)

    def run(etag: str) -> dg.ExecuteInProcessResult:
        with dg.instance_for_test() as instance:
            return ingest_raw_object_job.execute_in_process(
                run_config={"ops": {"normalize_and_load": {"config": {"key": key, "etag": etag}}}},
                resources={"aws": aws, "influxdb": influxdb},
                instance=instance,
            )

    v1 = run(first.strip('"'))
    assert v1.success and uploaded
    outputs = [
        e
        for e in v1.all_node_events
        if e.is_successful_output and e.step_output_data.metadata.get("superseded")
    ]
    assert outputs, "the run says it was superseded"
    second = s3.head_object(Bucket=aws.bucket, Key=key)["ETag"]
    assert run(second.strip('"')).success
    assert noon_in_parquet(aws, "SE") == [2.0]
    assert noon_in_influxdb(influx_url, influx_db, "SE") == [2.0]


@pytest.mark.parametrize(("newer", "held"), [("2.0", [2.0]), ("", [])], ids=["value", "withdrawal"])
def test_a_version_superseded_after_its_load_fails_loudly(
    aws: AwsSettings,
    influxdb: InfluxSettings,
    influx_url: str,
    influx_db: str,
    monkeypatch: pytest.MonkeyPatch,
    newer: str,
    held: list[float],
) -> None:
    """v2 was uploaded and loaded between v1's check and v1's InfluxDB write: v1's rows were in
    InfluxDB, v2's in the partition, and v1's run ended as 'superseded', successful. It fails
    now, naming the day and what to do (a final read of the change found it), and InfluxDB holds
    the partition's points again — not a point v2 withdrew (a later review found it kept)."""
    import dagster as dg

    from ons_pipeline.defs.ingest.jobs import ingest_raw_object_job
    from ons_pipeline.lib.ingest import files as files_mod
    from ons_pipeline.lib.ingest.files import SupersededLoadError

    s3 = aws.client("s3")
    key = "raw/curva/year.csv"
    first = s3.put_object(Bucket=aws.bucket, Key=key, Body=only("SE", "1.0"))["ETag"]
    load = files_mod.load_tables
    state: dict[str, Any] = {"done": False, "busy": False, "newer": newer}

    def newer_runs_before_this_loads(*args: Any, **kwargs: Any) -> Any:
        if not state["done"] and not state["busy"]:
            state["busy"] = True
            body = only("SE", state["newer"])
            newer = s3.put_object(Bucket=aws.bucket, Key=key, Body=body)["ETag"]
            ingest(aws, influxdb, body, key, etag=newer)
            state["busy"], state["done"] = False, True
        return load(*args, **kwargs)

    monkeypatch.setattr(files_mod, "load_tables", newer_runs_before_this_loads)
    with pytest.raises(SupersededLoadError, match="written to InfluxDB again from its partition"):
        ingest(aws, influxdb, only("SE", "1.0"), key, etag=first)
    assert noon_in_parquet(aws, "SE") == held
    assert noon_in_influxdb(influx_url, influx_db, "SE") == held  # the newer version's again
    if not held:
        return
    state.update(done=False, newer="3.0")  # the Dagster run of a fresh version, the same way
    s3.put_object(Bucket=aws.bucket, Key=key, Body=only("SE", "1.0"))
    third = s3.head_object(Bucket=aws.bucket, Key=key)["ETag"].strip('"')
    with dg.instance_for_test() as instance:
        result = ingest_raw_object_job.execute_in_process(
            run_config={"ops": {"normalize_and_load": {"config": {"key": key, "etag": third}}}},
            resources={"aws": aws, "influxdb": influxdb},
            instance=instance,
            raise_on_error=False,
        )
    assert not result.success
    failure = result.failure_data_for_node("normalize_and_load")
    assert failure is not None and "wrote its rows to InfluxDB" in str(failure.user_failure_data)
