"""Load canonical record batches into InfluxDB: convert, batch, write, dead-letter what fails.

Conversion (the caller's thread) and HTTP writes (``writers`` threads) overlap through a small
bounded queue, so memory stays bounded by a few batches whatever the data size, and the converter
and the server share the two cores instead of taking turns. One :class:`Loader` serves many
partitions (the days of a multi-day run) with the same writer threads and keeps one
:class:`LoadReport` per partition.

A batch the server rejects (bad data) or that exhausts its retries is persisted in the dead-letter
store and the load goes on; the caller fails the partition if any of its batches failed. When the
dead-letter store itself fails, the batch is counted as failed (not kept: the Parquet partition
still holds it, so re-running the partition writes it again) and the error says so. Authentication
and TLS failures stop the load at once: every other batch would fail the same way, and they are
never retried blindly. Before a report is returned, its points are accounted for exactly:
``points + failed_points + skipped_rows == rows``, or the load fails loudly.
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
    SECURITY_ERRORS,
    InfluxClient,
    InfluxError,
    WriteStats,
    points_written,
    redact,
)
from ons_pipeline.lib.influx.lineprotocol import EncodedBatch, iter_encoded
from ons_pipeline.lib.migration.deadletter import GENERATION, DeadLetterMeta, DeadLetterStore
from ons_pipeline.lib.schema import TableSpec

DEFAULT_BATCH_LINES = 10_000
_QUEUE_DEPTH = 4
_PUT_WAIT_S = 1.0


class LoadAccountingError(RuntimeError):
    """A load could not account for every row (a bug or a lost batch): the partition failed."""


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

    @property
    def ok(self) -> bool:
        return not self.failed_batches

    def check_accounting(self) -> None:
        """Every row is a point written, a point failed (dead-lettered) or a row without field."""
        accounted = self.points + self.failed_points + self.skipped_rows
        if accounted != self.rows:
            raise LoadAccountingError(
                f"{self.table} {self.partition}: {self.rows} rows but {self.points} points "
                f"written + {self.failed_points} failed + {self.skipped_rows} skipped = "
                f"{accounted}; the partition is not loaded completely (re-run it)"
            )

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


@dataclass
class _Job:
    partition: str
    index: int
    batch: EncodedBatch


class Loader:
    """Writes the points of one table's partitions through a pool of writer threads.

    ``load(partition, tables)`` converts in the calling thread and queues the batches; writes run
    concurrently; ``finish()`` waits for every batch and returns the reports, checked. Use it as
    a context manager so the writer threads always stop.
    """

    def __init__(
        self,
        spec: TableSpec,
        client: InfluxClient,
        *,
        deadletter: DeadLetterStore | None = None,
        batch_lines: int = DEFAULT_BATCH_LINES,
        writers: int = 1,
    ) -> None:
        self.spec = spec
        self.client = client
        self.deadletter = deadletter
        self.batch_lines = batch_lines
        self.reports: dict[str, LoadReport] = {}
        self._started: dict[str, float] = {}
        self._generations: dict[str, str] = {}
        self._extras: dict[str, dict[str, str]] = {}
        self._finished: dict[str, float] = {}
        self._pending: queue.Queue[_Job | None] = queue.Queue(maxsize=_QUEUE_DEPTH)
        self._fatal: list[BaseException] = []
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(
                target=self._writer, name=f"influx-writer-{spec.name}-{n}", daemon=True
            )
            for n in range(max(1, writers))
        ]
        for thread in self._threads:
            thread.start()
        self._closed = False

    def __enter__(self) -> Loader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- producer side ------------------------------------------------------------------------

    def load(
        self,
        partition: str,
        tables: Iterable[pa.Table],
        *,
        generation: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> LoadReport:
        """Convert and queue every row of ``tables`` as points of the partition ``partition``;
        ``generation`` (the Parquet partition's, when known) and ``extra`` go with any
        dead-lettered batch."""
        report = self.reports.setdefault(partition, LoadReport(self.spec.name, partition))
        if generation is not None:
            self._generations[partition] = generation
        if extra:
            self._extras[partition] = dict(extra)
        self._started.setdefault(partition, time.perf_counter())
        for table in tables:
            report.rows += table.num_rows
            for batch in iter_encoded(table, self.spec, max_lines=self.batch_lines):
                report.skipped_rows += batch.skipped_rows
                if batch.lines == 0:
                    continue
                self._raise_fatal()
                self._put(_Job(partition, report.batches, batch))
                report.batches += 1
        return report

    def _put(self, job: _Job) -> None:
        while True:
            try:
                self._pending.put(job, timeout=_PUT_WAIT_S)
                return
            except queue.Full:
                self._raise_fatal()
                if not any(t.is_alive() for t in self._threads):
                    raise RuntimeError("every InfluxDB writer thread stopped") from None

    def _raise_fatal(self) -> None:
        if self._fatal:
            raise self._fatal[0]

    def drain(self) -> dict[str, LoadReport]:
        """Wait until every queued batch is written; the reports of the partitions loaded so far,
        each accounted for exactly. The writers stay up for more."""
        self._pending.join()
        return self._checked()

    def finish(self) -> dict[str, LoadReport]:
        """Wait for every queued batch and stop the writers; the reports, checked."""
        self.close()
        return self._checked()

    def _checked(self) -> dict[str, LoadReport]:
        self._raise_fatal()
        for partition, report in self.reports.items():
            end = self._finished.get(partition, time.perf_counter())
            report.seconds = max(0.0, end - self._started[partition])
            report.check_accounting()
        return dict(self.reports)

    def close(self) -> None:
        """Stop the writer threads after the queued batches (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for thread in self._threads:
            if thread.is_alive():
                self._pending.put(None)
        for thread in self._threads:
            thread.join()

    # -- writer side --------------------------------------------------------------------------

    def _writer(self) -> None:
        while True:
            job = self._pending.get()
            try:
                if job is None:
                    return
                if not self._fatal:  # after a fatal error the queue is only drained
                    self._write(job)
            except BaseException as exc:  # anything unexpected: the load fails, loudly
                self._fatal.append(exc)
            finally:
                self._pending.task_done()

    def _write(self, job: _Job) -> None:
        try:
            stats = self.client.write(job.batch.data, lines=job.batch.lines, precision="ns")
        except SECURITY_ERRORS as exc:
            self._fatal.append(exc)
            return
        except Exception as exc:  # bad data, retries exhausted, anything else: kept
            self._fail(job, exc)
            return
        with self._lock:
            report = self.reports[job.partition]
            report.write.add(stats)
            report.points += job.batch.lines
            self._finished[job.partition] = time.perf_counter()

    def _fail(self, job: _Job, error: BaseException) -> None:
        config = self.client.config
        message = redact(f"{type(error).__name__}: {error}", config.secrets)
        # Some points of the batch may be stored already: earlier requests of a split payload,
        # or all but the rejected ones of a partial write. They count as written; the batch is
        # kept whole (replaying it rewrites the same series+time: idempotent).
        written = points_written(error) if isinstance(error, InfluxError) else 0
        known = written is not None
        written = min(written or 0, job.batch.lines)
        if written:
            message += f" ({written} of its {job.batch.lines} points were stored)"
        elif not known:
            message += " (a partial write that did not say how many points it dropped)"
        entry_id = None
        if self.deadletter is not None:
            meta = DeadLetterMeta.from_error(
                error,
                table=self.spec.name,
                partition=job.partition,
                batch_index=job.index,
                lines=job.batch.lines,
                database=config.database,
                retention_policy=config.retention_policy,
                precision="ns",
                secrets=config.secrets,
            )
            if job.partition in self._generations:
                meta.extra[GENERATION] = self._generations[job.partition]
            meta.extra.update(self._extras.get(job.partition, {}))
            if written or not known:
                meta.extra["partially applied"] = "true"
                meta.extra["points stored"] = str(written) if known else "unknown"
            try:
                entry_id = self.deadletter.put(job.batch.data, meta)
            except Exception as store_error:  # the batch is not kept: say so, count it failed
                message += (
                    f"; the dead-letter store failed too ({type(store_error).__name__}: "
                    f"{redact(str(store_error), config.secrets)}), so the batch was not kept: "
                    "re-run the partition to write it again"
                )
        with self._lock:
            report = self.reports[job.partition]
            report.failed_batches += 1
            report.points += written
            report.failed_points += job.batch.lines - written
            report.errors.append(f"batch {job.index}: {message}")
            if entry_id is not None:
                report.dead_letter_ids.append(entry_id)
            self._finished[job.partition] = time.perf_counter()


def load_tables(
    tables: Iterable[pa.Table],
    spec: TableSpec,
    client: InfluxClient,
    *,
    partition: str,
    deadletter: DeadLetterStore | None = None,
    batch_lines: int = DEFAULT_BATCH_LINES,
    writers: int = 1,
    generation: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> LoadReport:
    """Write every row of ``tables`` as points of ``spec``'s measurement (one partition)."""
    with Loader(
        spec, client, deadletter=deadletter, batch_lines=batch_lines, writers=writers
    ) as loader:
        loader.load(partition, tables, generation=generation, extra=extra)
        return loader.finish()[partition]
