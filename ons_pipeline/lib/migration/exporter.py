"""Export table-days from Timestream to their Parquet partitions on S3.

``query`` mode pages through one day at a time; ``unload`` mode (production) UNLOADs a run of
consecutive days in one statement — Timestream allows one UNLOAD per second, so a statement per
day would cap a backfill at 86,400 table-days a day however fast the rest is — and splits the
rows into the days' partitions."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.migration.timestream import (
    ExportError,
    QueryClient,
    Window,
    database_for,
    export_query_mode,
    export_unload_mode,
    reconcile_counts,
    source_counts,
)
from ons_pipeline.lib.ons_time import consecutive_runs, day_window
from ons_pipeline.lib.partitions import (
    FILE_CLAIMS,
    FileClaims,
    ParquetStore,
    Partition,
    PartitionChangedError,
    files_over,
)
from ons_pipeline.lib.schema import TIME_COLUMN, TableSpec

EXPORT_MODES = ("query", "unload")


@dataclass
class ExportResult:
    table: str
    day: date
    window: Window
    mode: str
    rows: int = 0
    pages: int = 0
    bytes: int = 0
    seconds: float = 0.0
    keys: list[str] = field(default_factory=list)
    removed_stale: int = 0
    source_count: int | None = None  # Timestream's own count of the day (query mode)
    generation: str | None = None  # of the Parquet partition written
    statement: str = ""  # the source statement that exported the day (a range for UNLOAD)
    data: pa.Table | None = field(default=None, repr=False)  # the partition's rows, as written
    file_rows: int | None = None  # rows of ONS files loaded into the day first, kept over it
    claims_etag: str | None = None  # of the files' claims the export kept (None: no file)

    def to_metadata(self, bucket: str) -> dict[str, Any]:
        """The figures as materialization metadata (plain values)."""
        return {
            "rows": self.rows,
            "bytes": self.bytes,
            "source pages/files": self.pages,
            "export mode": self.mode,
            "window": str(self.window),
            "s3 keys": [f"s3://{bucket}/{k}" for k in self.keys],
            "stale objects removed": self.removed_stale,
            "generation": self.generation or "",
            "exported by": self.statement,
            "source count": "manifest"
            if self.mode == "unload"
            else (self.source_count if self.source_count is not None else "not answered"),
            "duration s": round(self.seconds, 3),
            "rows from ONS files kept": self.file_rows or 0,
        }


def unload_destination(target: AwsSettings, table: str, day: date) -> str:
    return f"s3://{target.bucket}/{target.unload_prefix.strip('/')}/{table}/date={day.isoformat()}/"


def source_tables(
    spec: TableSpec,
    day: date,
    mode: str,
    query_client: QueryClient,
    s3: Any,
    target: AwsSettings,
) -> Generator[pa.Table, None, None]:
    """The source rows of one UTC day, as canonical tables (pages or UNLOAD files)."""
    window = day_window(day)
    database = database_for(spec, target.timestream_database, target.timestream_legacy_database)
    if mode == "query":
        return export_query_mode(query_client, spec, database, window)
    if mode == "unload":
        destination = unload_destination(target, spec.name, day)
        return export_unload_mode(query_client, s3, spec, database, window, destination)
    raise ValueError(f"export mode must be one of {EXPORT_MODES}, not {mode!r}")


def export_partition(
    spec: TableSpec,
    day: date,
    mode: str,
    query_client: QueryClient,
    s3: Any,
    target: AwsSettings,
) -> ExportResult:
    """Export the UTC day ``[day, day+1)`` of ``spec`` and replace its Parquet partition.

    The rows are reconciled with Timestream's own count before the partition is published: in
    ``query`` mode by a ``count`` query of the window (rows and each measure), in ``unload`` mode
    by the row counts of the UNLOAD manifest. A difference fails the day, nothing published.
    A day that ONS files were loaded into first keeps their rows and claims over the export
    (:func:`~ons_pipeline.lib.partitions.files_over`); one they are loaded into meanwhile fails."""
    started = time.perf_counter()
    window = day_window(day)
    result = ExportResult(table=spec.name, day=day, window=window, mode=mode)
    result.statement = f"{'Query' if mode == 'query' else 'UNLOAD'} of {day}"
    pages = 0
    source = source_tables(spec, day, mode, query_client, s3, target)

    def counted() -> Iterator[pa.Table]:
        nonlocal pages
        for table in source:
            pages += 1
            yield table

    store = ParquetStore.of(target, s3)
    partition = Partition(spec.name, day)
    try:
        files = _files_in(store, partition, spec)
        check = _unchanged(store, partition, files)
        if mode == "query":  # the pages are read whole, then checked against the source's count
            tables = list(counted())
            database = database_for(
                spec, target.timestream_database, target.timestream_legacy_database
            )
            counts = source_counts(query_client, spec, database, window)
            if counts is not None:
                rows = pa.concat_tables(tables) if tables else spec.arrow_schema().empty_table()
                reconcile_counts(counts, rows, spec, f"table {spec.name!r}, day {day}")
                result.source_count = counts["rows"]
            written = store.write(
                partition, _kept_over(tables, files, spec), spec, precondition=check
            )
        else:
            exported = counted() if files is None else _kept_over(counted(), files, spec)
            written = store.write(partition, exported, spec, precondition=check)
    finally:
        source.close()  # runs the source's clean-up (UNLOAD output) also when writing failed
    result.rows = written.rows
    result.bytes = written.bytes
    result.keys = written.keys
    result.generation = written.generation
    result.removed_stale = written.removed_stale
    result.data = written.table
    result.pages = pages
    result.file_rows = files.rows.num_rows if files is not None else None
    result.claims_etag = files.etag if files is not None else None
    result.seconds = time.perf_counter() - started
    return result


# Days one UNLOAD covers at most (its output is read whole, so this also bounds memory with the
# pipeline's groups, which are smaller for big tables).
MAX_DAYS_PER_UNLOAD = 100


@dataclass(frozen=True)
class _Files:
    """A partition that ONS files were loaded into, as the export found it."""

    claims: FileClaims
    rows: pa.Table
    generation: str | None
    etag: str | None  # of the claims' object: any file loaded since changes it


def _files_in(
    store: ParquetStore,
    partition: Partition,
    spec: TableSpec,
    listed: Mapping[str, str] | None = None,
) -> _Files | None:
    """The partition's file rows and claims when ONS files were loaded into it (``listed``: its
    objects, when the caller listed them, saves a request for the days without). The generation
    is read first: a file's pending mark precedes its rows and its claims follow them, so a file
    loaded after that read changes the claims' ETag or the generation, which the check before
    publishing compares."""
    if listed is not None and store.prefix(partition) + FILE_CLAIMS not in listed:
        return None
    generation = store.generation(partition)
    claims, etag = store.claims_and_etag(partition)
    if claims is None:
        return None
    if claims.pending:
        raise PartitionChangedError(
            f"{store.uri(partition)}: the load of {', '.join(sorted(claims.pending))} into this "
            "day has not finished (running, or failed): once that file is loaded (its ingest run "
            "again), `ons-pipeline migrate` exports the day"
        )
    rows = (
        store.read(partition, spec) if store.keys(partition) else spec.arrow_schema().empty_table()
    )
    return _Files(claims, rows, generation, etag)


def _unchanged(
    store: ParquetStore, partition: Partition, files: _Files | None
) -> Callable[[], None]:
    """A check, just before the export publishes, that no ONS file was loaded into the day since
    the export looked (its rows would be replaced by older ones, in both stores)."""

    def check() -> None:
        claims, etag = store.claims_and_etag(partition)
        if files is None:
            changed = claims is not None
        else:
            changed = etag != files.etag or store.generation(partition) != files.generation
        if changed:
            raise PartitionChangedError(
                f"{store.uri(partition)}: an ONS file was loaded into this day while it was "
                "exported; nothing was published: `ons-pipeline migrate` exports it again"
            )

    return check


def _kept_over(
    tables: Iterable[pa.Table], files: _Files | None, spec: TableSpec
) -> Iterable[pa.Table]:
    if files is None:
        return tables
    exported = list(tables)
    rows = pa.concat_tables(exported) if exported else spec.arrow_schema().empty_table()
    return [files_over(rows, files.rows, files.claims, spec)]


def unload_range_destination(target: AwsSettings, table: str, first: date, last: date) -> str:
    prefix = target.unload_prefix.strip("/")
    return f"s3://{target.bucket}/{prefix}/{table}/from={first.isoformat()}_to={last.isoformat()}/"


def export_days(
    spec: TableSpec,
    days: list[date],
    query_client: QueryClient,
    s3: Any,
    target: AwsSettings,
    write_threads: int = 4,
) -> dict[date, ExportResult | Exception]:
    """UNLOAD ``days`` of ``spec``, one statement per run of consecutive days (at most
    :data:`MAX_DAYS_PER_UNLOAD`), and replace each day's partition (``write_threads`` days at a
    time: a partition costs a few S3 requests, which wait on the network, not on the CPU). Each
    day gets its result or the error that stopped it: a failed statement fails its days, a
    failed write only its day. The rows read are checked against the UNLOAD manifest's counts,
    and ONS files loaded into a day are kept over it, as for one day."""
    results: dict[date, ExportResult | Exception] = {}
    for run in consecutive_runs(days, MAX_DAYS_PER_UNLOAD):
        try:
            results.update(_export_run(spec, run, query_client, s3, target, write_threads))
        except Exception as error:  # the statement or its output: every day of the run
            results.update(dict.fromkeys(run, error))
    return results


def _export_run(
    spec: TableSpec,
    days: list[date],
    query_client: QueryClient,
    s3: Any,
    target: AwsSettings,
    write_threads: int,
) -> dict[date, ExportResult | Exception]:
    started = time.perf_counter()
    first, last = days[0], days[-1]
    window = Window(day_window(first).start, day_window(last).end)
    database = database_for(spec, target.timestream_database, target.timestream_legacy_database)
    destination = unload_range_destination(target, spec.name, first, last)
    source = export_unload_mode(query_client, s3, spec, database, window, destination)
    try:
        tables = list(source)
    finally:
        source.close()
    rows = pa.concat_tables(tables) if tables else spec.arrow_schema().empty_table()
    by_day = split_days(rows, days, f"table {spec.name!r}, UNLOAD of {first}…{last}")
    share = (time.perf_counter() - started) / len(days)
    store = ParquetStore.of(target, s3)
    try:
        listing: dict[date, dict[str, str]] | None = store.listed_days_etags(spec.name, first, last)
    except Exception:  # each day lists its own objects instead: a LIST fails only its day
        listing = None
    statement = f"UNLOAD of {first}…{last}" if first != last else f"UNLOAD of {first}"

    def write(day: date) -> ExportResult | Exception:
        began = time.perf_counter()
        try:
            partition = Partition(spec.name, day)
            existing = None if listing is None else listing.get(day, {})
            files = _files_in(store, partition, spec, existing)
            rows = _kept_over([by_day[day]], files, spec)
            # A day without files as listed needs no check of its own before publishing: the
            # manifest is published only if it is still as listed (a file's load publishes a
            # new one), and a file whose load begins later fails this run's load of the day
            # (``TableMigration``'s check after loading), so the day is exported again.
            check = None
            if files is not None or existing is None:
                check = _unchanged(store, partition, files)
            written = store.write(partition, rows, spec, existing=existing, precondition=check)
        except Exception as error:  # this day only
            return error
        return ExportResult(
            table=spec.name,
            day=day,
            window=day_window(day),
            mode="unload",
            rows=written.rows,
            pages=len(tables),
            bytes=written.bytes,
            seconds=share + time.perf_counter() - began,
            keys=written.keys,
            removed_stale=written.removed_stale,
            generation=written.generation,
            statement=statement,
            data=written.table,
            file_rows=files.rows.num_rows if files is not None else None,
            claims_etag=files.etag if files is not None else None,
        )

    with ThreadPoolExecutor(max(1, write_threads), "partition-write") as pool:
        return dict(zip(by_day, pool.map(write, by_day), strict=True))


def split_days(rows: pa.Table, days: list[date], where: str) -> dict[date, pa.Table]:
    """The rows of each of the consecutive ``days`` (every row must fall in one of them)."""
    bounds = np.array(
        [day_window(d).start_ns for d in days] + [day_window(days[-1]).end_ns], dtype=np.int64
    )
    times = pc.cast(rows.column(TIME_COLUMN), pa.int64()).to_numpy(zero_copy_only=False)
    index = np.searchsorted(bounds, times, side="right") - 1
    outside = (index < 0) | (index >= len(days))
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        raise ExportError(
            f"{where}: {int(outside.sum())} row(s) outside the statement's window, the first at "
            f"row {row} ({rows.column(TIME_COLUMN)[row]})"
        )
    order = np.argsort(index, kind="stable")
    ordered = rows.take(pa.array(order))
    edges = np.searchsorted(index[order], np.arange(len(days) + 1))
    return {
        day: ordered.slice(int(edges[k]), int(edges[k + 1] - edges[k]))
        for k, day in enumerate(days)
    }
