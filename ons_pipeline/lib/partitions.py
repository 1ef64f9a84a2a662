"""Parquet partitions on S3: one prefix per table-day, ``<prefix>/<table>/date=YYYY-MM-DD/``.

Writing a partition replaces it: files get deterministic names (``part-00000.parquet``...) and any
other object left under the prefix by an earlier run is deleted, so a re-run never duplicates.
Reading streams record batches (memory bounded by the batch, not the partition) and validates
every batch against the mapping and the partition's window, with errors that name the table,
partition, file, row and column.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ons_pipeline.lib.migration.timestream import Window, delete_prefix
from ons_pipeline.lib.schema import TIME_COLUMN, MeasureType, TableSpec

DEFAULT_ROWS_PER_FILE = 1_000_000
DEFAULT_BATCH_ROWS = 10_000


class PartitionError(ValueError):
    """A partition's data does not match the mapping or its window."""


def day_window(day: date) -> Window:
    """The UTC day ``[day 00:00Z, day+1 00:00Z)``: the unit of partitioning."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return Window(start, start + timedelta(days=1))


def day_range(first: date, last: date) -> list[date]:
    """Every day of ``[first, last]`` (inclusive, as people name date ranges)."""
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


def partition_prefix(base_prefix: str, table: str, day: date) -> str:
    return f"{base_prefix.strip('/')}/{table}/date={day.isoformat()}/"


@dataclass
class PartitionWrite:
    keys: list[str] = field(default_factory=list)
    rows: int = 0
    bytes: int = 0
    removed_stale: int = 0


def validate_table(
    table: pa.Table | pa.RecordBatch,
    spec: TableSpec,
    window: Window,
    where: str,
    row_offset: int = 0,
) -> pa.Table:
    """Cast to the canonical schema and check keys, window and finite numbers.

    Dictionary-encoded string tags are kept encoded (the converter renders each distinct value
    once). Raises ``PartitionError`` naming ``where`` (table, partition, file), the row and the
    column.
    """
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    schema = spec.arrow_schema()
    names = table.schema.names
    missing = [n for n in schema.names if n not in names]
    unknown = [n for n in names if n not in schema.names]
    if missing or unknown:
        raise PartitionError(f"{where}: missing columns {missing}, unknown columns {unknown}")
    arrays = []
    fields = []
    for target in schema:
        column = table.column(target.name)
        if _is_string_dictionary(column.type) and pa.types.is_string(target.type):
            target = target.with_type(column.type)
        fields.append(target)
        try:
            column = pc.cast(column, target.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise PartitionError(
                f"{where}: column {target.name!r} has type {column.type}, expected {target.type}"
            ) from exc
        if not target.nullable and column.null_count:
            row = row_offset + pc.index(pc.is_null(column), True).as_py()
            raise PartitionError(f"{where}: row {row}: column {target.name!r} is NULL")
        if pa.types.is_floating(target.type):
            bad = pc.invert(pc.fill_null(pc.is_finite(column), True))
            if pc.any(bad).as_py():
                row = pc.index(bad, True).as_py()
                value = column[row].as_py()
                raise PartitionError(
                    f"{where}: row {row_offset + row}: column {target.name!r} is {value} "
                    "(NaN and infinity cannot be stored in InfluxDB)"
                )
        arrays.append(column)
    canonical = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    times = pc.cast(canonical.column(TIME_COLUMN), pa.int64())
    outside = pc.or_(pc.less(times, window.start_ns), pc.greater_equal(times, window.end_ns))
    if pc.any(outside).as_py():
        row = pc.index(outside, True).as_py()
        moment = canonical.column(TIME_COLUMN)[row].as_py()
        raise PartitionError(
            f"{where}: row {row_offset + row}: time {moment} is outside the partition window "
            f"{window}"
        )
    return canonical


def _is_string_dictionary(type_: pa.DataType) -> bool:
    return pa.types.is_dictionary(type_) and pa.types.is_string(type_.value_type)


def _sort_rows(table: pa.Table, spec: TableSpec) -> pa.Table:
    keys = [(TIME_COLUMN, "ascending"), *((t, "ascending") for t in spec.tags)]
    return table.sort_by(keys)


def write_partition(
    s3: Any,
    bucket: str,
    prefix: str,
    tables: Iterable[pa.Table],
    spec: TableSpec,
    window: Window,
    rows_per_file: int = DEFAULT_ROWS_PER_FILE,
) -> PartitionWrite:
    """Write a partition's rows as Parquet files under ``prefix``, replacing what was there."""
    result = PartitionWrite()
    pending: list[pa.Table] = []
    pending_rows = 0
    where = f"table {spec.name!r}, partition {prefix}"

    def flush(chunk: pa.Table) -> None:
        key = f"{prefix}part-{len(result.keys):05d}.parquet"
        sink = pa.BufferOutputStream()
        pq.write_table(_sort_rows(chunk, spec), sink, compression="zstd")
        body = sink.getvalue()
        s3.put_object(Bucket=bucket, Key=key, Body=body.to_pybytes())
        result.keys.append(key)
        result.rows += chunk.num_rows
        result.bytes += body.size

    for table in tables:
        canonical = validate_table(
            table, spec, window, where, row_offset=result.rows + pending_rows
        )
        pending.append(canonical)
        pending_rows += canonical.num_rows
        while pending_rows >= rows_per_file:
            combined = pa.concat_tables(pending)
            flush(combined.slice(0, rows_per_file))
            rest = combined.slice(rows_per_file)
            pending, pending_rows = [rest], rest.num_rows
    if pending_rows or not result.keys:
        flush(pa.concat_tables(pending) if pending else spec.arrow_schema().empty_table())
    keep = set(result.keys)
    paginator = s3.get_paginator("list_objects_v2")
    stale = [
        {"Key": obj["Key"]}
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
        for obj in page.get("Contents", [])
        if obj["Key"] not in keep
    ]
    for start in range(0, len(stale), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": stale[start : start + 1000]})
    result.removed_stale = len(stale)
    return result


def list_partition(s3: Any, bucket: str, prefix: str) -> list[str]:
    paginator = s3.get_paginator("list_objects_v2")
    return sorted(
        obj["Key"]
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
        for obj in page.get("Contents", [])
        if obj["Key"].endswith(".parquet")
    )


def iter_partition(
    s3: Any,
    bucket: str,
    prefix: str,
    spec: TableSpec,
    window: Window,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    dictionary_tags: bool = False,
) -> Iterator[pa.Table]:
    """Validated canonical batches of a partition, one file downloaded at a time.

    ``dictionary_tags`` reads tag columns dictionary-encoded (faster line-protocol conversion).
    """
    keys = list_partition(s3, bucket, prefix)
    if not keys:
        raise PartitionError(
            f"table {spec.name!r}: partition s3://{bucket}/{prefix} has no Parquet files "
            "(export it first)"
        )
    row_offset = 0
    with tempfile.TemporaryDirectory(prefix="ons-partition-") as tmp:
        for key in keys:
            local = Path(tmp) / "part.parquet"
            s3.download_file(bucket, key, str(local))
            where = f"table {spec.name!r}, partition s3://{bucket}/{prefix}, file {key}"
            try:
                parquet = pq.ParquetFile(
                    local, read_dictionary=list(spec.tags) if dictionary_tags else None
                )
                batches = parquet.iter_batches(batch_size=batch_rows)
                for batch in batches:
                    yield validate_table(batch, spec, window, where, row_offset)
                    row_offset += batch.num_rows
            except (pa.ArrowInvalid, OSError) as exc:
                raise PartitionError(f"{where}: unreadable Parquet: {exc}") from exc
            finally:
                local.unlink(missing_ok=True)


def read_partition_table(
    s3: Any, bucket: str, prefix: str, spec: TableSpec, window: Window
) -> pa.Table:
    """A whole partition in memory (small partitions, tests and verification tools)."""
    tables = list(iter_partition(s3, bucket, prefix, spec, window))
    return pa.concat_tables(tables) if tables else spec.arrow_schema().empty_table()


def delete_partition(s3: Any, bucket: str, prefix: str) -> int:
    return delete_prefix(s3, bucket, prefix)


def value_columns(spec: TableSpec) -> list[str]:
    """Fields that hold numbers (the ones aggregated and range-checked)."""
    numeric = {MeasureType.DOUBLE, MeasureType.BIGINT}
    return [f.name for f in spec.fields if f.type in numeric]
