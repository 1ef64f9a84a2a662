"""Dead-letter store: local directory and S3 (moto), replayed into the real InfluxDB."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from ons_pipeline.lib.influx.client import (
    AuthError,
    BadDataError,
    InfluxConfig,
    InfluxWriter,
    RetriesExhaustedError,
    TlsError,
)
from ons_pipeline.lib.migration.deadletter import (
    STATUS_REPLAYED,
    DeadLetterError,
    DeadLetterMeta,
    DeadLetterStore,
    LocalDeadLetterStore,
    S3DeadLetterStore,
    make_id,
)
from ons_pipeline.local.servers import ServerInfo
from ons_pipeline_tests.conftest import influxql

S = 1_000_000_000


class Clock:
    """A clock the tests advance by hand."""

    def __init__(self) -> None:
        self.now = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def batch(measurement: str, n: int, start_s: int = 1_700_000_000) -> bytes:
    return "".join(
        f"{measurement},sub=SE v={i}.25 {(start_s + i) * S}\n" for i in range(n)
    ).encode()


def meta_for(
    table: str = "curva_carga",
    partition: str = "2024-01-01",
    batch_index: int = 0,
    database: str | None = None,
    error: Exception | None = None,
) -> DeadLetterMeta:
    return DeadLetterMeta.from_error(
        error or RetriesExhaustedError("POST /write failed after 6 attempt(s)", attempts=6),
        table=table,
        partition=partition,
        batch_index=batch_index,
        database=database,
    )


def count(url: str, db: str, measurement: str) -> int:
    body = influxql(url, f'SELECT count("v") FROM "{measurement}"', db)
    series = body["results"][0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


StoreFactory = Callable[[], DeadLetterStore]


@pytest.fixture(params=["local", "s3"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    clock = Clock()
    if request.param == "local":
        return lambda: LocalDeadLetterStore(tmp_path / "dlq", clock=clock)
    bucket = request.getfixturevalue("s3_bucket")
    return lambda: S3DeadLetterStore(bucket, prefix="deadletter/run1", clock=clock)


# -- storage ----------------------------------------------------------------------------------


def test_put_is_deterministic_and_does_not_duplicate(make_store: StoreFactory) -> None:
    store = make_store()
    data = batch("carga", 5)
    first = store.put(data, meta_for())
    again = store.put(data, meta_for())  # the same batch failing again
    assert first == again
    assert first.startswith("curva_carga/2024-01-01/000000-")
    entries = store.list()
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.attempts, entry.failures, entry.lines, entry.bytes) == (12, 2, 5, len(data))
    assert entry.first_failure < entry.last_failure
    assert entry.error_class == "RetriesExhaustedError"
    assert store.get(first) == data
    # Other content at the same index, another batch, another partition: separate entries.
    store.put(batch("carga", 6), meta_for())
    store.put(data, meta_for(batch_index=1))
    store.put(data, meta_for(partition="2024-01-02"))
    store.put(data, meta_for(table="balanco"))
    assert len(store.list()) == 5
    assert len(store.list(table="curva_carga")) == 4
    assert [m.batch_index for m in store.list("curva_carga", "2024-01-01")] == [0, 0, 1]
    assert len(store.list(partition="2024-01-02")) == 1
    # A fresh store object on the same location sees the same entries.
    assert {m.id for m in make_store().list()} == {m.id for m in store.list()}


def test_get_delete_and_bad_ids(make_store: StoreFactory) -> None:
    store = make_store()
    entry_id = store.put(batch("m", 2), meta_for())
    assert store.meta(entry_id).sha256
    assert store.delete(entry_id) is True
    assert store.list() == []
    assert store.delete(entry_id) is False
    with pytest.raises(DeadLetterError, match="no dead-letter entry"):
        store.get(entry_id)
    for bad in ("../../etc/passwd", "a/b/c", "../x/000001-0123456789abcdef", ""):
        with pytest.raises(DeadLetterError, match="not a dead-letter id"):
            store.get(bad)


def test_awkward_names_stay_inside_the_store(tmp_path: Path) -> None:
    store = LocalDeadLetterStore(tmp_path / "dlq")
    entry_id = store.put(b"m v=1 1\n", meta_for(table="../evil/..", partition="2024|SE/NE"))
    assert entry_id.count("/") == 2 and ".." not in entry_id.split("/")
    files = [p for p in (tmp_path / "dlq").rglob("*") if p.is_file()]
    assert len(files) == 2 and all(p.is_relative_to(tmp_path / "dlq") for p in files)
    [entry] = store.list(table="../evil/..", partition="2024|SE/NE")
    assert (entry.table, entry.partition) == ("../evil/..", "2024|SE/NE")
    assert make_id("t", "p", 3, "ab" * 32) == "t/p/000003-abababababababab"


def test_corrupted_payload_is_detected(tmp_path: Path) -> None:
    store = LocalDeadLetterStore(tmp_path)
    entry_id = store.put(b"m v=1 1\n", meta_for())
    (tmp_path / (entry_id + ".lp.gz")).write_bytes(gzip.compress(b"m v=2 1\n"))
    with pytest.raises(DeadLetterError, match="SHA-256"):
        store.get(entry_id)


def test_error_messages_are_stored_without_secrets(tmp_path: Path) -> None:
    store = LocalDeadLetterStore(tmp_path)
    error = RuntimeError(
        "GET /query?u=admin&p=hunter2&q=x failed; Authorization: Token abc.def; pw Sekr1t"
    )
    meta = DeadLetterMeta.from_error(
        error, table="t", partition="p", batch_index=0, secrets=("Sekr1t",)
    )
    entry_id = store.put(b"m v=1 1\n", meta)
    sidecar = (tmp_path / (entry_id + ".json")).read_text()
    for secret in ("hunter2", "abc.def", "Sekr1t"):
        assert secret not in sidecar
    assert json.loads(sidecar)["error_class"] == "RuntimeError"


def test_s3_layout_is_payload_plus_sidecar(moto_server: ServerInfo, s3_bucket: str) -> None:
    store = S3DeadLetterStore(s3_bucket, prefix="/deadletter/")
    data = batch("m", 3)
    entry_id = store.put(data, meta_for(database="ons"))
    client = boto3.client("s3")
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket)["Contents"])
    assert keys == [f"deadletter/{entry_id}.json", f"deadletter/{entry_id}.lp.gz"]
    body = client.get_object(Bucket=s3_bucket, Key=f"deadletter/{entry_id}.lp.gz")["Body"].read()
    assert gzip.decompress(body) == data
    sidecar = json.loads(
        client.get_object(Bucket=s3_bucket, Key=f"deadletter/{entry_id}.json")["Body"].read()
    )
    assert sidecar["database"] == "ons" and sidecar["lines"] == 3
    assert sidecar["id"] == entry_id and sidecar["status"] == "pending"


# -- replay into the real InfluxDB -------------------------------------------------------------


def test_replay_writes_good_batches_and_keeps_bad_ones(
    make_store: StoreFactory, influx_url: str, influx_db: str
) -> None:
    store = make_store()
    good = [batch("carga", 50, start_s=1_700_000_000 + 100 * i) for i in range(3)]
    for index, data in enumerate(good):
        store.put(data, meta_for(batch_index=index, database=influx_db))
    bad_id = store.put(b"carga v=1 1\nnot line protocol\n", meta_for(batch_index=9))
    with InfluxWriter(InfluxConfig(url=influx_url, database=influx_db)) as writer:
        report = store.replay(writer)
    assert len(report.replayed) == 3 and bad_id not in report.replayed and report.lines == 150
    assert list(report.failed) == [bad_id] and not report.ok
    assert "unable to parse" in report.failed[bad_id]
    assert count(influx_url, influx_db, "carga") == 151  # 150 + the valid line of the bad batch
    [left] = store.list()
    assert left.id == bad_id
    assert left.error_class == "BadDataError" and "not line protocol" in left.error_message
    assert (left.failures, left.attempts) == (2, 7)


def test_replay_twice_never_duplicates(
    make_store: StoreFactory, influx_url: str, influx_db: str
) -> None:
    store = make_store()
    data = batch("ena", 40)
    entry_id = store.put(data, meta_for(database=influx_db))
    with InfluxWriter(InfluxConfig(url=influx_url, database=influx_db)) as writer:
        first = store.replay(writer, keep_replayed=True)
        assert first.replayed == [entry_id] and first.ok
        [kept] = store.list(include_replayed=True)
        assert kept.status == STATUS_REPLAYED and kept.replayed_at
        assert store.list() == []
        second = store.replay(writer)
        assert second.skipped == [entry_id] and second.replayed == []
        # The same batch fails again later and is replayed again: still one copy of each point.
        assert store.put(data, meta_for(database=influx_db)) == entry_id
        third = store.replay(writer, [entry_id])
        assert third.replayed == [entry_id]
    assert store.list(include_replayed=True) == []
    assert count(influx_url, influx_db, "ena") == 40


def test_replay_selects_by_ids_and_predicate(
    make_store: StoreFactory, influx_url: str, influx_db: str
) -> None:
    store = make_store()
    a = store.put(batch("a", 3), meta_for(partition="2024-01-01", database=influx_db))
    b = store.put(batch("b", 3), meta_for(partition="2024-01-02", database=influx_db))
    c = store.put(batch("c", 3), meta_for(table="other", database=influx_db))
    with InfluxWriter(InfluxConfig(url=influx_url, database=influx_db)) as writer:
        assert store.replay(writer, [b]).replayed == [b]
        assert store.replay(writer, lambda m: m.table == "other").replayed == [c]
        assert store.replay(writer, table="curva_carga", partition="2024-01-01").replayed == [a]
    assert [count(influx_url, influx_db, m) for m in "abc"] == [3, 3, 3]


class FailingWriter:
    """A writer whose every write fails with ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    def write(self, data: bytes, lines: int | None = None, precision: str = "ns", **_: Any) -> None:
        self.calls += 1
        raise self.error


def test_auth_or_tls_failure_stops_the_replay(tmp_path: Path) -> None:
    store = LocalDeadLetterStore(tmp_path)
    for index in range(3):
        store.put(batch("m", 2, start_s=index * 10), meta_for(batch_index=index))
    writer = FailingWriter(AuthError("InfluxDB refused the credentials (HTTP 401)", status=401))
    report = store.replay(writer)
    assert writer.calls == 1 and report.aborted and len(report.failed) == 1
    entries = store.list()
    assert [e.failures for e in entries] == [2, 1, 1]
    assert entries[0].error_class == "AuthError"
    tls = FailingWriter(TlsError("certificate verify failed"))
    report = store.replay(tls)
    assert tls.calls == 1 and "TLS failed" in (report.aborted or "")
    bad = FailingWriter(BadDataError("rejected", status=400, server_message="rejected"))
    report = store.replay(bad)
    assert bad.calls == 3 and len(report.failed) == 3 and report.aborted is None


def test_an_unreadable_sidecar_is_skipped_not_fatal(tmp_path: Path) -> None:
    store = LocalDeadLetterStore(tmp_path)
    good = store.put(b"m v=1 1\n", meta_for(batch_index=0))
    broken = store.put(b"m v=2 2\n", meta_for(batch_index=1))
    (tmp_path / (broken + ".json")).write_text("{not json")
    assert [m.id for m in store.list()] == [good]
