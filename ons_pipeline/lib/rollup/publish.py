"""Publish rollup buckets to InfluxDB so that no reader ever uses half of one.

A bucket is *covered* when its marker (a point of the coverage measurement, tags ``table`` and
``level``, at the bucket's start) exists; the query layer reads a rollup only over covered
buckets. Replacing buckets therefore goes:

1. withdraw the buckets' coverage markers (readers fall back to the raw measurement);
2. delete the rollup points in the buckets' span (a series gone from a corrected day goes too);
3. write the new points;
4. verify them exactly against what was computed (counts per series and an order-independent
   checksum of every value, bit for bit — the same check as every load);
5. hand each verified bucket to ``after_verify`` (the daily level keeps its Parquet on S3);
6. write the coverage markers.

A failure at any step raises and leaves the buckets uncovered: never a partial rollup read as
whole. Running again redoes every step (writes overwrite, deletes are idempotent).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from ons_pipeline.lib.influx.client import InfluxClient, quote_ident
from ons_pipeline.lib.influx.lineprotocol import escape_key, escape_measurement
from ons_pipeline.lib.integrity.verification import VerificationResult, verify
from ons_pipeline.lib.migration.loader import LoadReport, load_tables
from ons_pipeline.lib.ons_time import Window
from ons_pipeline.lib.rollup.spec import (
    COUNT,
    DAY,
    LEVEL_TAG,
    MONTH,
    TABLE_TAG,
    RollupTable,
    column,
    coverage_query,
    rollup_tables,
)


class RollupPublishError(RuntimeError):
    """A rollup could not be published; its buckets are left uncovered. ``published`` holds the
    buckets verified before the failure was found (with failed verifications, if any)."""

    def __init__(self, message: str, published: Sequence[Published] = ()) -> None:
        super().__init__(message)
        self.published = list(published)


@dataclass(frozen=True)
class Bucket:
    """One bucket to publish: its key (the local day, or the month's first day), window and
    rollup rows."""

    key: date
    window: Window
    rows: pa.Table


@dataclass
class Published:
    """One published bucket: its verification and what its coverage marker records."""

    bucket: Bucket
    verification: VerificationResult
    source_values: int

    @property
    def points(self) -> int:
        return self.bucket.rows.num_rows


def source_values(rt: RollupTable, rows: pa.Table) -> int:
    """How many source values a bucket's rollup rows summarise (sum of every field's count)."""
    total = 0
    for f in rt.fields:
        name = column(f.name, COUNT)
        if name in rows.schema.names and rows.num_rows:
            total += int(pc.sum(rows.column(name)).as_py() or 0)
    return total


def delete_target(client: InfluxClient, rt: RollupTable, database: str) -> str:
    """Where deletes of rollup data go: the database (1.x deletes across its policies) or, on
    2.x, the group's bucket."""
    if client.config.engine == "2" and rt.policy:
        return f"{database}_{rt.policy}"
    return database


def withdraw_coverage(
    client: InfluxClient, table: str, start_ns: int, end_ns: int, database: str | None = None
) -> bool:
    """The raw points of ``table`` in ``[start, end)`` are about to change (a load, a correction,
    a rollback): the daily and monthly rollup buckets that overlap them stop being covered, so
    readers answer from the raw measurement until the rollups are built again. ``False`` when the
    table has no rollups (nothing to withdraw)."""
    rt = rollup_tables().get(table)
    if rt is None or end_ns <= start_ns or client.config.engine == "3":
        return False  # (InfluxDB 3 deletes nothing over the v1 API: no rollup is ever covered)
    target = delete_target(client, rt, database or client.config.database)
    first = rt.local_date(start_ns)  # the local day (and month) the first changed point is in
    for level, since in ((DAY, first), (MONTH, first.replace(day=1))):
        client.delete_range(
            rt.coverage_measurement,
            rt.day_start_ns(since),
            end_ns,
            {TABLE_TAG: rt.table, LEVEL_TAG: level},
            database=target,
        )
    return True


def coverage_lines(
    rt: RollupTable, level: str, published: Sequence[Published]
) -> tuple[bytes, int]:
    """Line protocol of the buckets' coverage markers."""
    measurement = escape_measurement(rt.coverage_measurement)
    tags = f"{LEVEL_TAG}={escape_key(level)},{TABLE_TAG}={escape_key(rt.table)}"
    lines = []
    for p in published:
        check = p.verification.influx_checksum
        lines.append(
            f"{measurement},{tags} series={p.points}i,values={p.source_values}i,"
            f'checksum="{check}" {p.bucket.window.start_ns}\n'
        )
    return "".join(lines).encode(), len(lines)


def publish_buckets(
    client: InfluxClient,
    rt: RollupTable,
    level: str,
    buckets: Sequence[Bucket],
    *,
    database: str,
    batch_lines: int = 10_000,
    after_verify: Callable[[Bucket], None] | None = None,
    progress: Callable[[str], None] | None = None,
    verify_attempts: int = 5,
) -> list[Published]:
    """Replace ``buckets`` of ``level`` in InfluxDB, one contiguous span at a time; see the
    module docstring. ``client`` must write to the rollup group's retention policy."""
    require_policy(client, rt)
    spans: list[list[Bucket]] = []
    for bucket in sorted(buckets, key=lambda b: b.window.start_ns):
        if spans and spans[-1][-1].window.end_ns == bucket.window.start_ns:
            spans[-1].append(bucket)
        else:
            spans.append([bucket])
    published: list[Published] = []
    for span in spans:
        try:
            published += _publish_span(
                client,
                rt,
                level,
                span,
                database,
                batch_lines,
                after_verify,
                progress,
                verify_attempts,
            )
        except RollupPublishError as error:
            error.published[:0] = published
            raise
    return published


def require_policy(client: InfluxClient, rt: RollupTable) -> None:
    """Refuse a client that would write the rollups outside their group's retention policy."""
    if rt.policy is not None and client.config.retention_policy != rt.policy:
        raise ValueError(
            f"the client writes to retention policy {client.config.retention_policy!r}, "
            f"the rollups live in {rt.policy!r}"
        )


def _publish_span(
    client: InfluxClient,
    rt: RollupTable,
    level: str,
    buckets: Sequence[Bucket],
    database: str,
    batch_lines: int,
    after_verify: Callable[[Bucket], None] | None,
    progress: Callable[[str], None] | None,
    verify_attempts: int,
) -> list[Published]:
    say = progress or (lambda _step: None)
    spec = rt.level_spec(level)
    start, end = buckets[0].window.start_ns, buckets[-1].window.end_ns
    target = delete_target(client, rt, database)
    say("withdraw coverage")
    client.delete_range(
        rt.coverage_measurement,
        start,
        end,
        {TABLE_TAG: rt.table, LEVEL_TAG: level},
        database=target,
    )
    say("delete old rollup points")
    client.delete_range(spec.measurement, start, end, database=target)
    say("write")
    report: LoadReport = load_tables(
        [b.rows for b in buckets if b.rows.num_rows],
        spec,
        client,
        partition=f"{buckets[0].key}…{buckets[-1].key}",
        batch_lines=batch_lines,
    )
    if not report.ok:
        raise RollupPublishError(
            f"{spec.measurement}: {report.failed_batches} batch(es) failed to write "
            f"({'; '.join(report.errors[:3])}); the buckets stay uncovered"
        )
    say("verify")
    published: list[Published] = []
    failed: list[str] = []
    for bucket in buckets:
        result = verify(
            lambda b=bucket: [b.rows],
            client,
            spec,
            bucket.window,
            partition=bucket.key.isoformat(),
            database=database,
            bucket_ns=bucket.window.end_ns - bucket.window.start_ns,
            attempts=verify_attempts,
        )
        published.append(Published(bucket, result, source_values(rt, bucket.rows)))
        if not result.ok:
            failed.append(f"{bucket.key}: {result.summary()}")
    if failed:
        raise RollupPublishError(
            f"{spec.measurement}: {len(failed)} bucket(s) differ from what was computed; they "
            "stay uncovered:\n" + "\n".join(failed[:10]),
            published,
        )
    if after_verify is not None:
        say("keep")
        for bucket in buckets:
            after_verify(bucket)
    say("record coverage")
    data, lines = coverage_lines(rt, level, published)
    client.write(data, lines, precision="ns", database=database)
    return published


def covered_keys(
    client: InfluxClient, rt: RollupTable, level: str, start_ns: int, end_ns: int
) -> list[int]:
    """Start times (ns) of the covered buckets of ``level`` in ``[start, end)``."""
    text = coverage_query(rt, level, start_ns, end_ns, rt.policy).replace(
        f"count({quote_ident('series')})", quote_ident("series"), 1
    )
    out: list[int] = []
    for result in client.query(text, epoch="ns"):
        for series in result.get("series", []) or []:
            out += [int(row[0]) for row in series.get("values", [])]
    return out
