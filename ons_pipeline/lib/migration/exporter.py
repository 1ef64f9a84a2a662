"""Export one table-day from Timestream to its Parquet partition on S3 (``query`` or ``unload``)."""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyarrow as pa

from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.migration.timestream import (
    QueryClient,
    Window,
    database_for,
    export_query_mode,
    export_unload_mode,
    reconcile_counts,
    source_counts,
)
from ons_pipeline.lib.ons_time import day_window
from ons_pipeline.lib.partitions import ParquetStore, Partition
from ons_pipeline.lib.schema import TableSpec

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
    data: pa.Table | None = field(default=None, repr=False)  # the partition's rows, as written

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
            "source count": "manifest"
            if self.mode == "unload"
            else (self.source_count if self.source_count is not None else "not answered"),
            "duration s": round(self.seconds, 3),
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
    by the row counts of the UNLOAD manifest. A difference fails the day, nothing published."""
    started = time.perf_counter()
    window = day_window(day)
    result = ExportResult(table=spec.name, day=day, window=window, mode=mode)
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
            written = store.write(partition, tables, spec)
        else:
            written = store.write(partition, counted(), spec)
    finally:
        source.close()  # runs the source's clean-up (UNLOAD output) also when writing failed
    result.rows = written.rows
    result.bytes = written.bytes
    result.keys = written.keys
    result.generation = written.generation
    result.removed_stale = written.removed_stale
    result.data = written.table
    result.pages = pages
    result.seconds = time.perf_counter() - started
    return result
