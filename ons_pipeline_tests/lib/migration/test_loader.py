"""The loader never loses a batch silently (issue 11, items 1, 5 and 10), on the real servers.

* the dead-letter store failing while InfluxDB also fails: every batch is counted failed, with
  one or two writer threads, and the load ends (it used to hang or report success);
* a payload split (client-side size limit, or a 413) with string values holding newlines: the
  points arrive whole (splitting at raw newlines cut them in two);
* a partial write (InfluxDB keeps some points of a request and drops the others): the stored
  points count as written, the dropped ones as failed, the batch is dead-lettered as partially
  applied and replaying it completes the day.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pyarrow as pa
import pytest
import requests

from ons_pipeline.lib.influx.client import InfluxClient, InfluxConfig
from ons_pipeline.lib.influx.lineprotocol import encode
from ons_pipeline.lib.influx.points import count_points, halve, point_ends, split_points
from ons_pipeline.lib.migration.deadletter import S3DeadLetterStore
from ons_pipeline.lib.migration.loader import Loader, LoadReport, load_tables
from ons_pipeline.lib.schema import FieldSpec, MeasureType, Source, TableSpec
from ons_pipeline_tests.conftest import influxql

SPEC = TableSpec(
    name="notes",
    description="a table with a string field",
    source=Source.ONS,
    measure_name="notes",
    grain=timedelta(hours=1),
    tags=("id_subsistema",),
    fields=(FieldSpec("val", MeasureType.DOUBLE), FieldSpec("note", MeasureType.VARCHAR)),
    measurement="notes",
)
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def rows(n: int, start: datetime = T0, note: str = 'linha 1\nlinha 2 "aspas" \\ fim') -> pa.Table:
    return pa.table(
        {
            "time": pa.array(
                [start + timedelta(hours=k) for k in range(n)], pa.timestamp("ns", tz="UTC")
            ),
            "id_subsistema": [f"S{k % 3}" for k in range(n)],
            "val": [k + 0.5 for k in range(n)],
            "note": [f"{note} #{k}" for k in range(n)],
        }
    )


def count(url: str, db: str, field: str = "val") -> int:
    body = influxql(url, f'SELECT count("{field}") FROM "notes"', db)
    series = body["results"][0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


def test_point_boundaries_follow_influxdbs_scanner() -> None:
    data = encode(rows(5), SPEC).data
    assert data.count(b"\n") == 10  # five points, each with a newline inside its string value
    assert len(point_ends(data)) == 5 == count_points(data)
    for piece in split_points(data, 80):  # smaller than one point: one point per piece
        assert count_points(piece) == 1 and piece.endswith(b"\n")
    first, second = halve(data)  # type: ignore[misc]
    assert count_points(first) + count_points(second) == 5 and first + second == data
    # quotes only matter in a field value, and escapes are skipped
    tricky = b'm\\ x,t="a v="b\\" \\n c" 1\nm,t=\\" v=2 2\n# comment\n\n'
    assert count_points(tricky) == 2
    assert halve(b"m v=1 1\n") is None


@pytest.mark.parametrize("writers", [1, 2])
def test_a_failing_dead_letter_store_fails_the_batches_and_never_hangs(
    influx_url: str, moto_server, writers: int
) -> None:  # type: ignore[no-untyped-def]
    # InfluxDB refuses every write (no such database) and the dead-letter bucket does not exist.
    config = InfluxConfig(url=influx_url, database=f"missing_{uuid.uuid4().hex[:8]}")
    store = S3DeadLetterStore(
        f"no-such-bucket-{uuid.uuid4().hex[:8]}",
        "deadletter",
        client=boto3.client("s3", endpoint_url=moto_server.url),
    )
    outcome: dict[str, LoadReport] = {}

    def run() -> None:
        with InfluxClient(config) as client:
            outcome["report"] = load_tables(
                [rows(50)],
                SPEC,
                client,
                partition="2024-01-01",
                deadletter=store,
                batch_lines=10,
                writers=writers,
            )

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=120)
    assert not worker.is_alive(), "the load hung"
    report = outcome["report"]
    assert (report.batches, report.failed_batches) == (5, 5)
    assert (report.points, report.failed_points, report.rows) == (0, 50, 50)
    assert report.dead_letter_ids == []
    assert all("dead-letter store failed too" in e for e in report.errors)
    assert all("re-run the partition" in e for e in report.errors)


def test_a_split_payload_keeps_string_values_with_newlines_whole(
    influx_url: str, influx_db: str
) -> None:
    with InfluxClient(InfluxConfig(url=influx_url, database=influx_db)) as client:
        client.max_batch_bytes = 300  # a few points per request: the payload is split
        report = load_tables([rows(40)], SPEC, client, partition="2024-01-01", batch_lines=40)
        assert report.write.requests > 1 and report.ok
    assert count(influx_url, influx_db) == 40
    body = influxql(
        influx_url, 'SELECT "note" FROM "notes" WHERE "id_subsistema" = \'S1\'', influx_db
    )
    notes = [v[1] for v in body["results"][0]["series"][0]["values"]]
    assert notes[0] == 'linha 1\nlinha 2 "aspas" \\ fim #1'


def test_a_partial_write_counts_stored_and_dropped_points_and_replay_completes(
    influx_url: str, influx_db: str, moto_server, s3_bucket: str
) -> None:  # type: ignore[no-untyped-def]
    # The field "val" already exists as an integer in the shard of the first week: InfluxDB
    # keeps the batch's points of the second week and drops those of the first (partial write).
    first_week = T0 + timedelta(days=1)
    requests.post(
        f"{influx_url}/write",
        params={"db": influx_db, "precision": "ns"},
        data=f"notes,id_subsistema=X val=1i {int(first_week.timestamp()) * 10**9}\n",
        timeout=10,
    ).raise_for_status()
    data = pa.concat_tables([rows(10, T0 + timedelta(days=2)), rows(10, T0 + timedelta(days=9))])
    store = S3DeadLetterStore(
        s3_bucket, "deadletter", client=boto3.client("s3", endpoint_url=moto_server.url)
    )
    with InfluxClient(InfluxConfig(url=influx_url, database=influx_db)) as client:
        with Loader(SPEC, client, deadletter=store, batch_lines=100) as loader:
            loader.load("2024-01-03", [data])
            report = loader.finish()["2024-01-03"]
        assert report.failed_batches == 1
        assert (report.points, report.failed_points) == (10, 10)  # second week stored
        report.check_accounting()
        assert "10 of its 20 points were stored" in report.errors[0]
        (entry,) = store.list(table="notes")
        assert entry.extra["partially applied"] == "true"
        assert entry.extra["points stored"] == "10"
        assert count(influx_url, influx_db) == 1 + 10
        # Once the conflicting point is gone, replaying the entry writes the whole batch again.
        influxql(influx_url, 'DROP SERIES FROM "notes" WHERE "id_subsistema" = \'X\'', influx_db)
        influxql(influx_url, 'DROP MEASUREMENT "notes"', influx_db)
        replay = store.replay(client, [entry.id])
    assert replay.ok, replay.failed
    assert count(influx_url, influx_db) == 20
