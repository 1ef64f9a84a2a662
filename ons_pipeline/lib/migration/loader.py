"""Load canonical record batches into InfluxDB: convert, batch, write, dead-letter what fails.

Conversion (this thread) and HTTP writes (one writer thread) overlap through a small bounded
queue, so memory stays bounded by a few batches whatever the partition size, and the converter
and the server share the two cores instead of taking turns. A batch the server rejects (bad data)
or that exhausts its retries is persisted in the dead-letter store and the load goes on; the
caller fails the partition if any batch failed. Authentication and TLS failures stop the load at
once: every other batch would fail the same way, and they are never retried blindly.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ons_pipeline.lib.influx.client import (
    AuthError,
    InfluxClient,
    TlsError,
    WriteStats,
    redact,
)
from ons_pipeline.lib.influx.lineprotocol import EncodedBatch, iter_encoded
from ons_pipeline.lib.migration.deadletter import DeadLetterMeta, DeadLetterStore
from ons_pipeline.lib.schema import TableSpec

DEFAULT_BATCH_LINES = 10_000
_QUEUE_DEPTH = 4
_FATAL = (AuthError, TlsError)


@dataclass
class LoadReport:
    """What a load did; ``failed_batches`` > 0 means the partition is incomplete."""

    table: str
    partition: str
    rows: int = 0
    points: int = 0
    skipped_rows: int = 0
    batches: int = 0
    failed_batches: int = 0
    failed_points: int = 0
    dead_letter_ids: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    write: WriteStats = field(default_factory=WriteStats)
    seconds: float = 0.0

    @property
    def points_per_second(self) -> float:
        return self.points / self.seconds if self.seconds else 0.0

    def to_metadata(self) -> dict[str, int | float]:
        """The figures as materialization metadata (plain values; one name per figure)."""
        return {
            "rows": self.rows,
            "points": self.points,
            "skipped rows (no field)": self.skipped_rows,
            "batches": self.batches,
            "failed batches": self.failed_batches,
            "failed points": self.failed_points,
            "retries": self.write.retries,
            "bytes": self.write.bytes,
            "duration s": round(self.seconds, 3),
            "points/s": round(self.points_per_second, 1),
        }

    @classmethod
    def from_metadata(cls, table: str, partition: str, metadata: Mapping[str, Any]) -> LoadReport:
        """The report written by :meth:`to_metadata` (Dagster ``MetadataValue``s or plain values;
        a missing or unreadable figure counts as 0)."""

        def number(name: str) -> float:
            value = getattr(metadata.get(name), "value", metadata.get(name))
            try:
                result = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return 0.0
            return result if math.isfinite(result) else 0.0

        return cls(
            table=table,
            partition=partition,
            rows=int(number("rows")),
            points=int(number("points")),
            skipped_rows=int(number("skipped rows (no field)")),
            batches=int(number("batches")),
            failed_batches=int(number("failed batches")),
            failed_points=int(number("failed points")),
            write=WriteStats(retries=int(number("retries")), bytes=int(number("bytes"))),
            seconds=number("duration s"),
        )


def load_tables(
    tables: Iterable[pa.Table],
    spec: TableSpec,
    client: InfluxClient,
    *,
    partition: str,
    deadletter: DeadLetterStore | None = None,
    batch_lines: int = DEFAULT_BATCH_LINES,
    writers: int = 1,
) -> LoadReport:
    """Write every row of ``tables`` as points of ``spec``'s measurement."""
    report = LoadReport(table=spec.name, partition=partition)
    started = time.perf_counter()
    pending: queue.Queue[tuple[int, EncodedBatch] | None] = queue.Queue(maxsize=_QUEUE_DEPTH)
    fatal: list[BaseException] = []
    lock = threading.Lock()

    def writer() -> None:
        while True:
            item = pending.get()
            if item is None:
                return
            if fatal:
                continue  # drain the queue so the producer never blocks
            index, batch = item
            try:
                stats = client.write(batch.data, lines=batch.lines, precision="ns")
            except _FATAL as exc:
                fatal.append(exc)
                continue
            except Exception as exc:  # bad data, retries exhausted, anything else: kept
                _dead_letter(report, lock, deadletter, spec, partition, index, batch, exc, client)
                continue
            with lock:
                report.write.add(stats)
                report.points += batch.lines

    threads = [
        threading.Thread(target=writer, name=f"influx-writer-{spec.name}-{n}", daemon=True)
        for n in range(writers)
    ]
    for thread in threads:
        thread.start()
    try:
        for table in tables:
            report.rows += table.num_rows
            for batch in iter_encoded(table, spec, max_lines=batch_lines):
                report.skipped_rows += batch.skipped_rows
                if batch.lines == 0:
                    continue
                if fatal:
                    raise fatal[0]
                pending.put((report.batches, batch))
                report.batches += 1
    finally:
        for _ in threads:
            pending.put(None)
        for thread in threads:
            thread.join()
        report.seconds = time.perf_counter() - started
    if fatal:
        raise fatal[0]
    return report


def _dead_letter(
    report: LoadReport,
    lock: threading.Lock,
    store: DeadLetterStore | None,
    spec: TableSpec,
    partition: str,
    index: int,
    batch: EncodedBatch,
    error: BaseException,
    client: InfluxClient,
) -> None:
    message = redact(f"{type(error).__name__}: {error}", client.config.secrets)
    entry_id = None
    if store is not None:
        entry_id = store.put(
            batch.data,
            DeadLetterMeta.from_error(
                error,
                table=spec.name,
                partition=partition,
                batch_index=index,
                lines=batch.lines,
                database=client.config.database,
                retention_policy=client.config.retention_policy,
                precision="ns",
                secrets=client.config.secrets,
            ),
        )
    with lock:
        report.failed_batches += 1
        report.failed_points += batch.lines
        report.errors.append(f"batch {index}: {message}")
        if entry_id is not None:
            report.dead_letter_ids.append(entry_id)
