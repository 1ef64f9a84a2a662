"""Files apply in the order they were uploaded, whatever the order their runs finish in.

With two run slots (or a run retried, or ``ons-pipeline load`` beside a run) a file uploaded
earlier could finish after a correction uploaded later and write its older values over the
correction in both stores; the day's exact verification passed, both stores agreeing. Each file
now stamps the points it speaks of (``FileClaims.stamps``) and gives way on those a later file
already spoke of. On moto and a real InfluxDB.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.ingest.files import ObjectChangedError, SupersededLoadError
from ons_pipeline.lib.partitions import FileClaims, ParquetStore, Partition, Stamps
from ons_pipeline.lib.settings import InfluxSettings
from ons_pipeline_tests.ingest.test_corrections import _edit, stores
from ons_pipeline_tests.ingest.test_ingest import DAY, NEXT, ingest, local, raw_csv

TABLE = "curva_carga"
VALUE = "val_cargaenergiahomwmed"
EARLY = datetime(2024, 2, 1, 9, 0, 0, tzinfo=UTC)  # when the day's first file was uploaded


def southeast(hours: dict[int, str], whole: bool) -> bytes:
    """DAY's Southeast rows (all of them when ``whole``, else only ``hours``), with ``hours``'
    values replaced ("" withdraws a point)."""

    def edit(rows: list[dict[str, Any]]) -> None:
        def hour(row: dict[str, Any]) -> int | None:
            at = row["din_instante"]
            return (
                int(at[11:13]) if at.startswith(DAY.isoformat()) and at.endswith(":00:00") else None
            )

        rows[:] = [r for r in rows if r["id_subsistema"] == "SE" and (whole or hour(r) in hours)]
        for row in rows:
            if hour(row) in hours:
                row[VALUE] = hours[hour(row)]

    return _edit(raw_csv(TABLE, [DAY]), edit)


def southeast_at(
    aws: AwsSettings, url: str, db: str, hour: int, minute: int = 0
) -> tuple[list[Any], list[Any]]:
    """(InfluxDB, Parquet) values of the Southeast at ``hour:minute`` (local) of DAY."""
    in_influx, in_parquet = stores(aws, url, db, TABLE, DAY, NEXT)
    assert in_influx == in_parquet
    at = local(DAY, hour, minute)
    found = [
        [
            fields.get(VALUE)
            for (tags, moment), fields in held.items()
            if tags[0] == "SE" and moment == at
        ]
        for held in (in_influx, in_parquet)
    ]
    return found[0], found[1]


def upload(seconds: int) -> datetime:
    return EARLY + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("later_noon", "held"), [("2.0", [2.0]), ("", [])], ids=["value", "withdrawal"]
)
def test_a_file_uploaded_earlier_whose_run_finishes_later_gives_way(
    aws: AwsSettings,
    influxdb: InfluxSettings,
    influx_url: str,
    influx_db: str,
    later_noon: str,
    held: list[float],
) -> None:
    """B (uploaded last) corrects the Southeast's noon; A (uploaded before B, its run finishing
    after B's) republishes the whole Southeast day with another noon and another 13:00. B's noon
    stands; A's 13:00, of which B said nothing, is applied."""
    ingest(aws, influxdb, raw_csv(TABLE, [DAY]), "raw/curva/day.csv", uploaded=upload(0))
    b = ingest(
        aws,
        influxdb,
        southeast({12: later_noon}, whole=False),
        "raw/curva/b.csv",
        etag="b1",
        uploaded=upload(20),
    )
    assert not b.failed_batches
    a = ingest(
        aws,
        influxdb,
        southeast({12: "1.0", 13: "5.0"}, whole=True),
        "raw/curva/a.csv",
        etag="a1",
        uploaded=upload(10),
    )
    assert not a.failed_batches
    assert southeast_at(aws, influx_url, influx_db, 12) == (held, held)
    assert southeast_at(aws, influx_url, influx_db, 13) == ([5.0], [5.0])
    assert a.gave_way == 1
    # a file uploaded after both applies over both
    ingest(
        aws,
        influxdb,
        southeast({12: "7.0"}, whole=False),
        "raw/curva/c.csv",
        etag="c1",
        uploaded=upload(30),
    )
    assert southeast_at(aws, influx_url, influx_db, 12) == ([7.0], [7.0])


def test_a_series_day_a_later_file_held_whole_keeps_its_points_out(
    aws: AwsSettings, influxdb: InfluxSettings, influx_url: str, influx_db: str
) -> None:
    """B (uploaded last) republished the Southeast day whole (a row at every hour); A (uploaded
    before, finishing after) has a point between two hours, 13:30, that B does not publish: it
    stays out, as when A's run finished first and B's whole day then left it out."""
    ingest(aws, influxdb, raw_csv(TABLE, [DAY]), "raw/curva/day.csv", uploaded=upload(0))
    ingest(
        aws,
        influxdb,
        southeast({12: "2.0"}, whole=True),
        "raw/curva/b.csv",
        etag="b1",
        uploaded=upload(20),
    )

    def half_past_one(rows: list[dict[str, Any]]) -> None:
        rows[:] = [r for r in rows if r["din_instante"] == f"{DAY} 13:00:00"]
        for row in rows:
            row["din_instante"], row[VALUE] = f"{DAY} 13:30:00", "5.0"

    a_file = _edit(southeast({}, whole=True), half_past_one)
    a = ingest(aws, influxdb, a_file, "raw/curva/a.csv", etag="a1", uploaded=upload(10))
    assert a.gave_way == 1
    assert southeast_at(aws, influx_url, influx_db, 13, 30) == ([], [])
    assert southeast_at(aws, influx_url, influx_db, 12) == ([2.0], [2.0])
    # the same file uploaded after B: its point is published
    ingest(aws, influxdb, a_file, "raw/curva/a.csv", etag="a2", uploaded=upload(30))
    assert southeast_at(aws, influx_url, influx_db, 13, 30) == ([5.0], [5.0])


def test_a_later_file_published_while_an_earlier_one_loads_is_restored_in_influxdb(
    aws: AwsSettings,
    influxdb: InfluxSettings,
    influx_url: str,
    influx_db: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """B (uploaded after A) was loaded and published after A had planned its day and before A
    wrote: A's first attempt wrote its noon over B's in InfluxDB, and its retry (the partition
    changed) gives the noon back to B in InfluxDB too, not only in Parquet."""
    from ons_pipeline.lib.ingest import files as files_mod

    ingest(aws, influxdb, raw_csv(TABLE, [DAY]), "raw/curva/day.csv", uploaded=upload(0))
    reconcile = files_mod.reconcile
    arrived: list[bool] = []

    def b_lands_after_a_planned(client, spec, claims):  # type: ignore[no-untyped-def]
        if not arrived:
            arrived.append(True)
            b_file = southeast({12: "2.0"}, whole=False)
            ingest(aws, influxdb, b_file, "raw/curva/b.csv", etag="b1", uploaded=upload(20))
        return reconcile(client, spec, claims)

    monkeypatch.setattr(files_mod, "reconcile", b_lands_after_a_planned)
    a = ingest(
        aws,
        influxdb,
        southeast({12: "1.0", 13: "5.0"}, whole=True),
        "raw/curva/a.csv",
        etag="a1",
        uploaded=upload(10),
    )
    assert arrived and not a.failed_batches and a.gave_way == 1
    assert southeast_at(aws, influx_url, influx_db, 12) == ([2.0], [2.0])
    assert southeast_at(aws, influx_url, influx_db, 13) == ([5.0], [5.0])


def test_the_ingest_job_applies_objects_in_upload_order(
    aws: AwsSettings, influxdb: InfluxSettings, influx_url: str, influx_db: str
) -> None:
    """Two objects uploaded one after the other (or in one second: then by key, as the sensor
    runs them), their runs finishing in the other order: the later object's values stand."""
    import dagster as dg

    from ons_pipeline.defs.ingest.jobs import ingest_raw_object_job

    s3 = aws.client("s3")
    ingest(aws, influxdb, raw_csv(TABLE, [DAY]), "raw/curva/day.csv", uploaded=upload(0))
    etags = {
        key: s3.put_object(Bucket=aws.bucket, Key=key, Body=body)["ETag"].strip('"')
        for key, body in [
            ("raw/curva/a.csv", southeast({12: "1.0"}, whole=False)),
            ("raw/curva/b.csv", southeast({12: "2.0"}, whole=False)),
        ]
    }
    for key in ("raw/curva/b.csv", "raw/curva/a.csv"):  # b's run first, a's after
        config = {"key": key, "etag": etags[key]}
        with dg.instance_for_test() as instance:
            result = ingest_raw_object_job.execute_in_process(
                run_config={"ops": {"normalize_and_load": {"config": config}}},
                resources={"aws": aws, "influxdb": influxdb},
                instance=instance,
            )
        assert result.success
    assert southeast_at(aws, influx_url, influx_db, 12) == ([2.0], [2.0])


def test_stamps_survive_their_json_and_the_newest_file_wins() -> None:
    """The stamps are kept in ``_ons_files.json``: written and read back exactly, merged by the
    newest file per field, and claims written before stamps existed read as none."""
    older, newer = (10, "s3://b/raw/a.csv"), (20, "s3://b/raw/b.csv")
    point, other = (("SE",), 1_704_463_200_000_000_000), (("S",), 1_704_463_200_000_000_000)
    day = (("SE",), 19727)
    first = Stamps(
        {("v", point): newer, ("p", point): older, ("v", other): older},
        {("v", day): frozenset({older})},
        {point: frozenset({older})},
    )
    claims = FileClaims(stamps=first, pending_stamps={"s3://b/raw/c.csv@e": first})
    assert FileClaims.from_json(claims.to_json()) == claims
    merged = first | Stamps(
        {("v", point): older, ("v", other): newer}, {("v", day): frozenset({newer})}
    )
    assert merged.points == {("v", point): newer, ("p", point): older, ("v", other): newer}
    # held whole again by a later file: the earlier holder is dropped unless the later spared
    assert merged.days == {("v", day): frozenset({newer})}
    spared = Stamps(spared={point: frozenset({newer})})
    assert (first | spared | merged).days == {("v", day): frozenset({older, newer})}
    legacy = b'{"withdrawn": [], "protected": [], "whole": [], "pending": ["k@e"]}'
    assert FileClaims.from_json(legacy) == FileClaims(pending=frozenset({"k@e"}))


def test_a_day_claims_records_when_each_file_spoke(
    aws: AwsSettings, influxdb: InfluxSettings
) -> None:
    """The partition's claims name, for each point, the last file (in upload order) to speak of
    it — the record the next file's plan reads."""
    ingest(aws, influxdb, raw_csv(TABLE, [DAY]), "raw/curva/day.csv", uploaded=upload(0))
    ingest(
        aws,
        influxdb,
        southeast({12: "2.0"}, whole=False),
        "raw/curva/b.csv",
        etag="b1",
        uploaded=upload(20),
    )
    claims = ParquetStore.of(aws).claims(Partition(TABLE, DAY))
    assert claims is not None
    b_order = (
        int(upload(20).timestamp()) * 1_000_000_000 + 999_999_999,
        f"s3://{aws.bucket}/raw/curva/b.csv",
    )
    assert claims.stamps.points[(VALUE, (("SE",), local(DAY, 12)))] == b_order
    # a series-day held whole is stamped as one entry, not point by point
    assert (VALUE, (("SE",), local(DAY, 13))) not in claims.stamps.points
    local_day = (DAY - date(1970, 1, 1)).days
    (whole,) = claims.stamps.days[(VALUE, (("SE",), local_day))]
    assert whole[1].endswith("day.csv")
    assert not claims.pending_stamps


@pytest.mark.parametrize("hook", ["reconcile", "load_tables"])
def test_a_later_file_that_changes_nothing_still_wins_over_an_earlier_one_loading(
    aws: AwsSettings,
    influxdb: InfluxSettings,
    influx_url: str,
    influx_db: str,
    monkeypatch: pytest.MonkeyPatch,
    hook: str,
) -> None:
    """B (uploaded after A) re-publishes the Southeast's noon exactly as stored, so its day is
    unchanged, while A (noon = 1.0) is between its plan and its publish: B only recorded its
    stamps, A's publish did not depend on them and A's noon stood (a second review found it).
    B now publishes the day when another load is under way in it, and A's noon gives way."""
    from ons_pipeline.lib.ingest import files as files_mod

    ingest(aws, influxdb, raw_csv(TABLE, [DAY]), "raw/curva/day.csv", uploaded=upload(0))
    before = southeast_at(aws, influx_url, influx_db, 12)
    real = getattr(files_mod, hook)
    arrived: list[Any] = []

    def b_lands(*args: Any, **kwargs: Any) -> Any:
        out = real(*args, **kwargs)
        if not arrived:
            arrived.append(True)
            b_file = _edit(raw_csv(TABLE, [DAY]), _only_noon_of("SE"))
            ingest(aws, influxdb, b_file, "raw/curva/b.csv", etag="b1", uploaded=upload(20))
        return out

    monkeypatch.setattr(files_mod, hook, b_lands)
    a_file = southeast({12: "1.0"}, whole=False)
    a = ingest(aws, influxdb, a_file, "raw/curva/a.csv", etag="a1", uploaded=upload(10))
    assert arrived and not a.failed_batches
    assert southeast_at(aws, influx_url, influx_db, 12) == before


def _only_noon_of(subsystem: str) -> Any:
    def edit(rows: list[dict[str, Any]]) -> None:
        rows[:] = [
            r
            for r in rows
            if r["id_subsistema"] == subsystem and r["din_instante"] == f"{DAY} 12:00:00"
        ]

    return edit


def test_a_file_published_every_day_keeps_its_claims_small(
    aws: AwsSettings, influxdb: InfluxSettings
) -> None:
    """A file re-uploaded with the same days every day (ONS's growing yearly files) held each
    series-day whole again: each upload added its stamp beside the earlier ones, and the day's
    claims grew by the same size each time (a second review measured +22 KB per upload)."""
    data = raw_csv(TABLE, [DAY, NEXT])
    s3 = aws.client("s3")
    key = f"{ParquetStore.of(aws).prefix(Partition(TABLE, NEXT))}_ons_files.json"
    sizes = []
    for n in range(4):
        ingest(aws, influxdb, data, "raw/curva/yearly.csv", etag=f"v{n}", uploaded=upload(n * 60))
        sizes.append(s3.head_object(Bucket=aws.bucket, Key=key)["ContentLength"])
    assert sizes[-1] <= sizes[0] + 200, sizes


def test_a_newer_version_of_an_object_never_gives_way_to_an_older_one(
    aws: AwsSettings,
    influxdb: InfluxSettings,
    influx_url: str,
    influx_db: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Versions of one object are ordered by its ETag (the older one stops as superseded), not
    by stamps: a newer version counted as uploaded earlier (an upload time read with less
    precision) gave way to the older version's stamps, and the older one's values stood."""
    from ons_pipeline.lib.ingest import files as files_mod

    ingest(aws, influxdb, raw_csv(TABLE, [DAY]), "raw/curva/day.csv", uploaded=upload(0))
    s3 = aws.client("s3")
    key = "raw/curva/k.csv"
    s3.put_object(Bucket=aws.bucket, Key=key, Body=southeast({12: "1.0"}, whole=False))
    old_etag = s3.head_object(Bucket=aws.bucket, Key=key)["ETag"].strip('"')
    real = files_mod.reconcile
    arrived: list[bool] = []

    def newer_version_lands(*args: Any, **kwargs: Any) -> Any:
        if not arrived:
            arrived.append(True)
            body = southeast({12: "2.0"}, whole=False)
            etag = s3.put_object(Bucket=aws.bucket, Key=key, Body=body)["ETag"].strip('"')
            ingest(aws, influxdb, body, key, etag=etag, uploaded=upload(10))
        return real(*args, **kwargs)

    monkeypatch.setattr(files_mod, "reconcile", newer_version_lands)
    with pytest.raises(SupersededLoadError):
        ingest(
            aws,
            influxdb,
            southeast({12: "1.0"}, whole=False),
            key,
            etag=old_etag,
            uploaded=upload(20),
        )
    assert southeast_at(aws, influx_url, influx_db, 12) == ([2.0], [2.0])


def test_a_version_superseded_before_it_wrote_leaves_no_mark_nor_stamps(
    aws: AwsSettings,
    influxdb: InfluxSettings,
    influx_url: str,
    influx_db: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """v1 of an object began loading a day, then v2 (of another day) was uploaded and v1 stopped
    as superseded before writing: its pending mark stayed in the day (exports failed until the
    file was loaded again) and its stamps made an earlier file give way to values never
    written. Both are now removed."""
    ingest(aws, influxdb, raw_csv(TABLE, [DAY]), "raw/curva/day.csv", uploaded=upload(0))
    s3 = aws.client("s3")
    key = "raw/curva/k.csv"
    v1 = southeast({12: "2.0"}, whole=False)
    etag = s3.put_object(Bucket=aws.bucket, Key=key, Body=v1)["ETag"].strip('"')
    begin = ParquetStore.begin_file

    def v2_uploaded_once_v1_began(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        begin(self, *args, **kwargs)
        s3.put_object(Bucket=aws.bucket, Key=key, Body=raw_csv(TABLE, [NEXT]))

    monkeypatch.setattr(ParquetStore, "begin_file", v2_uploaded_once_v1_began)
    with pytest.raises(ObjectChangedError):
        ingest(aws, influxdb, v1, key, etag=etag, uploaded=upload(20))
    monkeypatch.undo()
    claims = ParquetStore.of(aws).claims(Partition(TABLE, DAY))
    assert claims is not None and not claims.pending and not claims.pending_stamps
    earlier = southeast({12: "1.0"}, whole=False)
    ingest(aws, influxdb, earlier, "raw/curva/a.csv", etag="a1", uploaded=upload(10))
    assert southeast_at(aws, influx_url, influx_db, 12) == ([1.0], [1.0])


def test_a_version_superseded_after_deleting_points_restores_them(
    aws: AwsSettings,
    influxdb: InfluxSettings,
    influx_url: str,
    influx_db: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """v1 withdrew the Southeast's noon (a delete in InfluxDB, no row written); another file
    published the day before v1 did, and v2 of the object was uploaded: v1 stopped as
    superseded as if it had done nothing, InfluxDB without the noon the partition still held."""
    ingest(aws, influxdb, raw_csv(TABLE, [DAY]), "raw/curva/day.csv", uploaded=upload(0))
    before = southeast_at(aws, influx_url, influx_db, 12)
    s3 = aws.client("s3")
    key = "raw/curva/k.csv"
    v1 = southeast({12: ""}, whole=False)
    etag = s3.put_object(Bucket=aws.bucket, Key=key, Body=v1)["ETag"].strip('"')
    write = ParquetStore.write
    arrived: list[bool] = []

    def others_arrive_before_v1_publishes(self, partition, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not arrived and partition.day == DAY:
            arrived.append(True)
            south = _edit(raw_csv(TABLE, [DAY]), _only_noon_of("S"))
            ingest(aws, influxdb, south, "raw/curva/s.csv", etag="s1", uploaded=upload(30))
            s3.put_object(Bucket=aws.bucket, Key=key, Body=raw_csv(TABLE, [NEXT]))
        return write(self, partition, *args, **kwargs)

    monkeypatch.setattr(ParquetStore, "write", others_arrive_before_v1_publishes)
    with pytest.raises(SupersededLoadError):
        ingest(aws, influxdb, v1, key, etag=etag, uploaded=upload(20))
    assert arrived
    assert southeast_at(aws, influx_url, influx_db, 12) == before
