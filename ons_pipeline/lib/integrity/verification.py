"""Exact verification of a loaded partition: the Parquet source against InfluxDB, read back.

Row counts alone (what AWS's migration scripts check) miss an altered value, a point written to
the wrong series, or a lost duplicate. Here both sides are reduced to the same *digest*:

* per series (measurement + non-empty tags, as InfluxDB identifies a series): the number of
  points, the number of values of each field, the first and last time;
* an order-independent checksum: the wrapping 64-bit sum of one digest per point, where a point's
  digest mixes (series key, time in ns, every non-null field's name and value **bit for bit**:
  float64 bits, int64, booleans, UTF-8 strings) through splitmix64. A sum does not depend on the
  order rows arrive in (InfluxDB answers series by series, the Parquet is sorted by time), and
  any single change to a key, time or value changes it (with probability 1 - 2^-64);
* the same counts and sums per series and per time bucket (1 hour by default), so that a
  difference is located: **which** series and **which** time ranges differ. The differing ranges
  are then read again on both sides (only those) and compared point by point, naming the times
  and the values.

The source side streams the partition's record batches (``ParquetStore.batches``); the InfluxDB side
streams ``SELECT * ... GROUP BY *`` with ``chunked=true`` (one chunk in memory at a time), parsed
so that ``-0`` stays ``-0.0`` (Python's JSON reader would make it the integer 0 and lose the sign).
Rows of the source without any field value are skipped, as the loader skips them (InfluxDB has no
point without a field); a null or empty tag is absent from the series key on both sides.

InfluxDB 1.x serves points as soon as the write is acknowledged, but other engines (2.x, 3.x,
Timestream for InfluxDB) may lag: while InfluxDB has fewer points than the source, the read is
retried a bounded number of times with exponential backoff before the difference is reported.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ons_pipeline.lib.influx.client import InfluxClient, quote_ident, quote_literal
from ons_pipeline.lib.ons_time import Window, day_window
from ons_pipeline.lib.partitions import ParquetStore, Partition
from ons_pipeline.lib.schema import TIME_COLUMN, MeasureType, TableSpec

NS_PER_SECOND = 1_000_000_000
BUCKET_NS = 3_600 * NS_PER_SECOND
DEFAULT_ATTEMPTS = 5
DEFAULT_DELAY = 0.5
MAX_POINTS = 20
MAX_RANGES_DRILLED = 10

SeriesKey = tuple[tuple[str, str], ...]
"""A series' identity: its (tag, value) pairs with non-empty values, sorted by tag."""

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_TRUE, _FALSE = np.uint64(0x5151_5151_5151_5151), np.uint64(0xA3A3_A3A3_A3A3_A3A3)


# -- hashing --------------------------------------------------------------------------------------


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, element-wise on uint64 (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> _S30)) * _MIX1
        z = (z ^ (z >> _S27)) * _MIX2
        return z ^ (z >> _S31)


def hash_text(text: str) -> int:
    """A stable 64-bit hash of a string (BLAKE2b)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def series_key(tags: Mapping[str, str | None]) -> SeriesKey:
    return tuple(sorted((k, v) for k, v in tags.items() if v))


def series_text(measurement: str, key: SeriesKey) -> str:
    """``measurement,tag=value,...`` (unescaped: for people, not for line protocol)."""
    return measurement + "".join(f",{k}={v}" for k, v in key)


def _series_hash(measurement: str, key: SeriesKey) -> np.uint64:
    return np.uint64(hash_text("\x00".join([measurement, *(f"{k}={v}" for k, v in key)])))


def _value_bits(array: pa.Array, kind: MeasureType | None) -> tuple[np.ndarray, np.ndarray]:
    """(uint64 bits of each value, validity) of a column, exactly as typed."""
    n = len(array)
    valid = np.asarray(pc.is_valid(array).to_numpy(zero_copy_only=False), dtype=bool)
    if n == 0:
        return np.zeros(0, np.uint64), valid
    if kind is MeasureType.DOUBLE:
        values = pc.fill_null(pc.cast(array, pa.float64()), 0.0).to_numpy(zero_copy_only=False)
        return np.ascontiguousarray(values, dtype=np.float64).view(np.uint64), valid
    if kind in (MeasureType.BIGINT, MeasureType.TIMESTAMP):
        if pa.types.is_timestamp(array.type):
            array = pc.cast(array, pa.int64())
        values = pc.fill_null(pc.cast(array, pa.int64()), 0).to_numpy(zero_copy_only=False)
        return np.ascontiguousarray(values, dtype=np.int64).view(np.uint64), valid
    if kind is MeasureType.BOOLEAN:
        flags = pc.fill_null(pc.cast(array, pa.bool_()), False).to_numpy(zero_copy_only=False)
        return np.where(np.asarray(flags, dtype=bool), _TRUE, _FALSE), valid
    # strings (and anything unexpected, as text): one hash per distinct value
    text = pc.cast(array, pa.string()) if not pa.types.is_string(array.type) else array
    encoded = pc.dictionary_encode(pc.fill_null(text, ""))
    distinct = np.array([hash_text(v) for v in encoded.dictionary.to_pylist()], dtype=np.uint64)
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    return distinct[indices] if len(distinct) else np.zeros(n, np.uint64), valid


# InfluxDB's field types (``SHOW FIELD KEYS``) of the mapping's measure types.
INFLUX_TYPES = {
    MeasureType.DOUBLE: "float",
    MeasureType.BIGINT: "integer",
    MeasureType.TIMESTAMP: "integer",
    MeasureType.VARCHAR: "string",
    MeasureType.BOOLEAN: "boolean",
}


@dataclass(frozen=True)
class FieldColumn:
    """One field's values in a batch of points: its name and stored type (``float``,
    ``integer``...), the 64 value bits per point and which points have a value."""

    name: str
    type: str
    bits: np.ndarray
    valid: np.ndarray


def point_hashes(
    series_hashes: np.ndarray, times_ns: np.ndarray, fields: list[FieldColumn]
) -> np.ndarray:
    """One 64-bit digest per point from its series hash, time and typed field values (a value
    stored as another type than the mapping's — 5.0 for 5 — changes it)."""
    with np.errstate(over="ignore"):
        digest = mix64(series_hashes ^ mix64(times_ns.astype(np.int64).view(np.uint64)))
        values = np.zeros(len(times_ns), dtype=np.uint64)
        for f in fields:
            bits, valid = f.bits, f.valid
            contribution = mix64(bits ^ np.uint64(hash_text(f"{f.name}\x00{f.type}")))
            values += np.where(valid, contribution, np.uint64(0))
        return mix64(digest + values)


# -- digests --------------------------------------------------------------------------------------


@dataclass
class SeriesDigest:
    key: SeriesKey
    rows: int
    values: dict[str, int]
    checksum: int
    bucket_rows: np.ndarray
    bucket_sums: np.ndarray
    bucket_values: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Digest:
    """One side's digest of a window: per series, and in total."""

    side: str
    measurement: str
    window: Window
    bucket_ns: int
    series: dict[SeriesKey, SeriesDigest]

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.series.values())

    @property
    def values(self) -> int:
        return sum(sum(s.values.values()) for s in self.series.values())

    @property
    def checksum(self) -> int:
        return sum(s.checksum for s in self.series.values()) % (1 << 64)

    @property
    def checksum_hex(self) -> str:
        return f"{self.checksum:016x}"

    def slice(self, window: Window) -> Digest:
        """The digest of a sub-window made of whole buckets (e.g. one UTC day of a longer run)."""
        first = (window.start_ns - self.window.start_ns) // self.bucket_ns
        last = -(-(window.end_ns - self.window.start_ns) // self.bucket_ns)
        if first < 0 or (window.start_ns - self.window.start_ns) % self.bucket_ns:
            raise ValueError(f"{window} does not start on a bucket of {self.window}")
        part = slice(int(first), int(last))
        series: dict[SeriesKey, SeriesDigest] = {}
        for key, s in self.series.items():
            rows = s.bucket_rows[part]
            if not rows.any():
                continue
            values = {n: v[part] for n, v in s.bucket_values.items()}
            with np.errstate(over="ignore"):
                checksum = int(s.bucket_sums[part].sum(dtype=np.uint64))
            series[key] = SeriesDigest(
                key=key,
                rows=int(rows.sum()),
                values={n: int(v.sum()) for n, v in values.items() if v.any()},
                checksum=checksum,
                bucket_rows=rows.copy(),
                bucket_sums=s.bucket_sums[part].copy(),
                bucket_values=values,
            )
        return Digest(self.side, self.measurement, window, self.bucket_ns, series)


class _Accumulator:
    """Counts and wrapping sums per (series, bucket), grown as series are discovered."""

    def __init__(self, side: str, measurement: str, window: Window, bucket_ns: int) -> None:
        self.side = side
        self.measurement = measurement
        self.window = window
        self.bucket_ns = bucket_ns
        self.buckets = max(1, -(-(window.end_ns - window.start_ns) // bucket_ns))
        self.index: dict[SeriesKey, int] = {}
        self.hashes: list[np.uint64] = []
        self.rows = np.zeros((8, self.buckets), dtype=np.int64)
        self.sums = np.zeros((8, self.buckets), dtype=np.uint64)
        self.values: dict[str, np.ndarray] = {}  # per field: value counts per (series, bucket)

    def series_id(self, key: SeriesKey) -> int:
        found = self.index.get(key)
        if found is not None:
            return found
        sid = len(self.index)
        self.index[key] = sid
        self.hashes.append(_series_hash(self.measurement, key))
        if sid >= self.rows.shape[0]:
            self.rows = np.vstack([self.rows, np.zeros_like(self.rows)])
            self.sums = np.vstack([self.sums, np.zeros_like(self.sums)])
            for name, counts in self.values.items():
                self.values[name] = np.vstack([counts, np.zeros_like(counts)])
        return sid

    def add(
        self,
        sids: np.ndarray,
        times: np.ndarray,
        fields: list[tuple[str, np.ndarray, np.ndarray]],
    ) -> None:
        if len(times) == 0:
            return
        hashes = np.array(self.hashes, dtype=np.uint64)[sids]
        digests = point_hashes(hashes, times, fields)
        offset = (times - self.window.start_ns) // self.bucket_ns
        buckets = np.clip(offset, 0, self.buckets - 1)
        flat = sids * self.buckets + buckets
        np.add.at(self.rows.reshape(-1), flat, 1)
        with np.errstate(over="ignore"):
            np.add.at(self.sums.reshape(-1), flat, digests)
        for f in fields:
            counts = self.values.get(f.name)
            if counts is None:
                counts = self.values[f.name] = np.zeros_like(self.rows)
            np.add.at(counts.reshape(-1), flat, f.valid.astype(np.int64))

    def digest(self) -> Digest:
        series: dict[SeriesKey, SeriesDigest] = {}
        for key, sid in self.index.items():
            rows = int(self.rows[sid].sum())
            with np.errstate(over="ignore"):
                checksum = int(self.sums[sid].sum(dtype=np.uint64))
            bucket_values = {n: c[sid].copy() for n, c in self.values.items()}
            series[key] = SeriesDigest(
                key=key,
                rows=rows,
                values={n: int(v.sum()) for n, v in bucket_values.items() if v.any()},
                checksum=checksum,
                bucket_rows=self.rows[sid].copy(),
                bucket_sums=self.sums[sid].copy(),
                bucket_values=bucket_values,
            )
        return Digest(self.side, self.measurement, self.window, self.bucket_ns, series)


def _kind(spec: TableSpec, name: str) -> MeasureType | None:
    for f in spec.fields:
        if f.name == name:
            return f.type
    return None


def _tag_key_codes(table: pa.Table, tags: list[str]) -> tuple[np.ndarray, list[SeriesKey]]:
    """Per row, an index into the list of distinct series keys of ``table``."""
    n = table.num_rows
    if not tags:
        return np.zeros(n, dtype=np.int64), [()]
    columns = [pc.fill_null(table.column(t).combine_chunks(), "") for t in tags]
    joined = pc.binary_join_element_wise(*columns, "\x00")
    encoded = pc.dictionary_encode(joined)
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    _, first_rows = np.unique(codes, return_index=True)
    keys: list[SeriesKey] = [()] * len(encoded.dictionary)
    for code, row in zip(np.unique(codes), first_rows, strict=True):
        keys[int(code)] = series_key({t: columns[i][int(row)].as_py() for i, t in enumerate(tags)})
    return codes, keys


def add_source_table(acc: _Accumulator, table: pa.Table, spec: TableSpec) -> None:
    """Add canonical rows (as partitions hold them) to a digest accumulator."""
    if table.num_rows == 0:
        return
    present = [f for f in spec.field_names if f in table.schema.names]
    has_value = None
    for name in present:
        valid = pc.is_valid(table.column(name))
        has_value = valid if has_value is None else pc.or_(has_value, valid)
    if has_value is not None and not pc.all(has_value).as_py():
        table = table.filter(has_value)  # the loader writes no point for a row without fields
        if table.num_rows == 0:
            return
    table = table.combine_chunks()
    codes, keys = _tag_key_codes(table, [t for t in spec.tags if t in table.schema.names])
    sids = np.array([acc.series_id(k) for k in keys], dtype=np.int64)[codes]
    times = pc.cast(table.column(TIME_COLUMN), pa.int64()).to_numpy().astype(np.int64)
    fields = []
    for name in present:
        kind = _kind(spec, name)
        bits, valid = _value_bits(table.column(name).combine_chunks(), kind)
        fields.append(FieldColumn(name, INFLUX_TYPES.get(kind, "unknown"), bits, valid))  # type: ignore[arg-type]
    acc.add(sids, times, fields)


def source_digest(
    tables: Iterable[pa.Table], spec: TableSpec, window: Window, bucket_ns: int = BUCKET_NS
) -> Digest:
    """The digest of canonical record batches (e.g. ``ParquetStore.batches``), streamed."""
    acc = _Accumulator("source", spec.measurement, window, bucket_ns)
    for table in tables:
        add_source_table(acc, table, spec)
    return acc.digest()


# -- InfluxDB side ------------------------------------------------------------------------------


def _parse_int(text: str) -> int | float:
    # InfluxDB writes the float -0.0 as "-0": keep its sign (json would return the int 0).
    return -0.0 if text == "-0" else int(text)


def stream_results(
    client: InfluxClient, influxql: str, database: str | None = None, chunk_size: int = 10_000
) -> Iterator[list[dict[str, Any]]]:
    """The ``results`` of each chunk of a ``chunked=true`` query, ``-0`` kept as ``-0.0``.

    Like ``InfluxClient.iter_query_chunks`` (same transport, retries and error handling), with
    the number parsing that bit-exact comparison needs.
    """
    return client.iter_query_chunks(influxql, database, "ns", chunk_size, parse_int=_parse_int)


def _column_array(values: tuple[Any, ...], kind: MeasureType | None) -> pa.Array:
    if kind is MeasureType.DOUBLE:
        try:
            return pa.array(values, type=pa.float64())
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            return pa.array([None if v is None else float(v) for v in values], pa.float64())
    if kind in (MeasureType.BIGINT, MeasureType.TIMESTAMP):
        return pa.array(values, type=pa.int64())
    if kind is MeasureType.BOOLEAN:
        return pa.array(values, type=pa.bool_())
    if kind is MeasureType.VARCHAR:
        return pa.array(values, type=pa.string())
    # a field the mapping does not know: hashed as its JSON text, so it never matches the source
    return pa.array([None if v is None else json.dumps(v) for v in values], pa.string())


def _select(spec: TableSpec, window: Window, key: SeriesKey | None = None) -> str:
    conditions = [f"time >= {window.start_ns}", f"time < {window.end_ns}"]
    if key is not None:
        tags = dict(key)
        for tag in sorted(set(spec.tags) | set(tags)):
            conditions.append(f"{quote_ident(tag)} = {quote_literal(tags.get(tag, ''))}")
    return (
        f"SELECT * FROM {quote_ident(spec.measurement)} WHERE {' AND '.join(conditions)} GROUP BY *"
    )


def iter_influx_series(
    client: InfluxClient,
    spec: TableSpec,
    window: Window,
    database: str | None = None,
    key: SeriesKey | None = None,
    chunk_size: int = 10_000,
) -> Iterator[tuple[SeriesKey, list[str], list[list[Any]]]]:
    """(series key, columns, rows) of each chunk of the window's points in InfluxDB."""
    query = _select(spec, window, key)
    for results in stream_results(client, query, database, chunk_size):
        for result in results:
            for series in result.get("series", []) or []:
                tags = series.get("tags") or {}
                yield series_key(tags), list(series.get("columns", [])), series.get("values", [])


def influx_digest(
    client: InfluxClient,
    spec: TableSpec,
    window: Window,
    database: str | None = None,
    bucket_ns: int = BUCKET_NS,
    chunk_size: int = 10_000,
) -> Digest:
    """The digest of the window's points read back from InfluxDB (streamed, chunk by chunk),
    each value with the type InfluxDB stores its field as."""
    acc = _Accumulator("influxdb", spec.measurement, window, bucket_ns)
    types = field_types(client, spec.measurement, database)
    pending = _PendingRows()
    for key, columns, rows in iter_influx_series(client, spec, window, database, None, chunk_size):
        if rows:
            pending.extend(acc.series_id(key), columns, rows)
        if pending.size >= _DIGEST_ROWS:  # one vectorised pass per many series, not per series
            pending.flush(acc, spec, types)
    pending.flush(acc, spec, types)
    return acc.digest()


_DIGEST_ROWS = 100_000


class _PendingRows:
    """Rows read back from InfluxDB, gathered across series until digested together."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.sids: list[np.ndarray] = []
        self.times: list[Any] = []
        self.values: dict[str, list[Any]] = {}
        self.size = 0

    def extend(self, sid: int, columns: list[str], rows: list[list[Any]]) -> None:
        transposed = list(zip(*rows, strict=True))
        self.sids.append(np.full(len(rows), sid, dtype=np.int64))
        self.times.extend(transposed[0])
        for name in self.values.keys() - set(columns[1:]):
            self.values[name].extend([None] * len(rows))
        for name, values in zip(columns[1:], transposed[1:], strict=True):
            column = self.values.setdefault(name, [None] * self.size)
            column.extend(values)
        self.size += len(rows)

    def flush(self, acc: _Accumulator, spec: TableSpec, types: Mapping[str, str]) -> None:
        if not self.size:
            return
        times = np.fromiter(self.times, dtype=np.int64, count=self.size)
        fields = []
        for name, values in self.values.items():
            kind = _kind(spec, name)
            bits, valid = _value_bits(_column_array(tuple(values), kind), kind)
            fields.append(FieldColumn(name, types.get(name, "unknown"), bits, valid))
        acc.add(np.concatenate(self.sids), times, fields)
        self._reset()


def field_types(client: InfluxClient, measurement: str, database: str | None) -> dict[str, str]:
    """Each field's type in InfluxDB (``SHOW FIELD KEYS``); a field stored as different types in
    different shards gets them all, joined by ``|``."""
    results = client.query(f"SHOW FIELD KEYS FROM {quote_ident(measurement)}", database)
    types: dict[str, set[str]] = {}
    for result in results:
        for series in result.get("series", []) or []:
            for name, kind in series.get("values", []):
                types.setdefault(name, set()).add(kind)
    return {name: "|".join(sorted(kinds)) for name, kinds in types.items()}


def type_mismatches(spec: TableSpec, stored: Mapping[str, str]) -> dict[str, str]:
    """Fields InfluxDB stores as another type than the mapping says, described."""
    out = {}
    for f in spec.fields:
        expected = INFLUX_TYPES[f.type]
        if f.name in stored and stored[f.name] != expected:
            out[f.name] = (
                f"stored as {stored[f.name]} in InfluxDB; the mapping says {f.type.value} "
                f"({expected})"
            )
    return out


# -- comparison -----------------------------------------------------------------------------------


@dataclass
class RangeDiff:
    """A time range ``[start_ns, end_ns)`` of one series whose points differ."""

    start_ns: int
    end_ns: int
    source_rows: int
    influx_rows: int

    def describe(self) -> str:
        return (
            f"[{format_ns(self.start_ns)}, {format_ns(self.end_ns)}): "
            f"{self.source_rows} point(s) in the source, {self.influx_rows} in InfluxDB"
        )


@dataclass
class PointDiff:
    """One time of one series where the two sides disagree (``None``: no point there)."""

    time_ns: int
    source: dict[str, Any] | None
    influx: dict[str, Any] | None

    def describe(self) -> str:
        when = format_ns(self.time_ns)
        if self.source is None:
            return f"{when}: only in InfluxDB {_values(self.influx)}"
        if self.influx is None:
            return f"{when}: missing in InfluxDB (source {_values(self.source)})"
        names = sorted(set(self.source) | set(self.influx))
        parts = [
            f"{n} {_show(self.source.get(n))} (source) ≠ {_show(self.influx.get(n))} (InfluxDB)"
            for n in names
            if not same_value(self.source.get(n), self.influx.get(n))
        ]
        return f"{when}: " + "; ".join(parts)


@dataclass
class SeriesDiff:
    key: SeriesKey
    series: str
    status: str  # "differs" | "missing in InfluxDB" | "only in InfluxDB"
    source_rows: int
    influx_rows: int
    source_values: dict[str, int]
    influx_values: dict[str, int]
    source_checksum: int
    influx_checksum: int
    ranges: list[RangeDiff] = field(default_factory=list)
    points: list[PointDiff] = field(default_factory=list)

    def describe(self) -> str:
        head = f"{self.series}: {self.status}"
        if self.status == "differs":
            head += f" ({self.source_rows} point(s) in the source, {self.influx_rows} in InfluxDB"
            counts = {
                n
                for n in set(self.source_values) | set(self.influx_values)
                if self.source_values.get(n, 0) != self.influx_values.get(n, 0)
            }
            if counts:
                head += ", value counts differ for " + ", ".join(sorted(counts))
            elif self.source_rows == self.influx_rows:
                head += ", same counts, checksum differs"
            head += ")"
        else:
            head += f" ({max(self.source_rows, self.influx_rows)} point(s))"
        lines = [head]
        lines += [f"    in {r.describe()}" for r in self.ranges]
        lines += [f"      {p.describe()}" for p in self.points]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "series": self.series,
            "tags": dict(self.key),
            "status": self.status,
            "source_rows": self.source_rows,
            "influx_rows": self.influx_rows,
            "source_values": self.source_values,
            "influx_values": self.influx_values,
            "source_checksum": f"{self.source_checksum:016x}",
            "influx_checksum": f"{self.influx_checksum:016x}",
            "ranges": [
                {
                    "start": format_ns(r.start_ns),
                    "end": format_ns(r.end_ns),
                    "source_rows": r.source_rows,
                    "influx_rows": r.influx_rows,
                }
                for r in self.ranges
            ],
            "points": [
                {
                    "time": format_ns(p.time_ns),
                    "source": _jsonable(p.source),
                    "influx": _jsonable(p.influx),
                }
                for p in self.points
            ],
        }


def _ranges(
    window: Window, bucket_ns: int, mask: np.ndarray, src: np.ndarray, dst: np.ndarray
) -> list[RangeDiff]:
    ranges: list[RangeDiff] = []
    for b in np.flatnonzero(mask):
        start = window.start_ns + int(b) * bucket_ns
        end = min(start + bucket_ns, window.end_ns)
        last = ranges[-1] if ranges else None
        if last is not None and last.end_ns == start:
            last.end_ns = end
            last.source_rows += int(src[b])
            last.influx_rows += int(dst[b])
        else:
            ranges.append(RangeDiff(start, end, int(src[b]), int(dst[b])))
    return ranges


def compare(source: Digest, influx: Digest) -> list[SeriesDiff]:
    """The series whose digests differ, with the differing time ranges (bucket precision)."""
    if source.window != influx.window or source.bucket_ns != influx.bucket_ns:
        raise ValueError("digests of different windows or bucket sizes cannot be compared")
    diffs: list[SeriesDiff] = []
    for key in sorted(set(source.series) | set(influx.series)):
        s, d = source.series.get(key), influx.series.get(key)
        buckets = (s or d).bucket_rows.shape[0]  # type: ignore[union-attr]
        zeros_i = np.zeros(buckets, dtype=np.int64)
        zeros_u = np.zeros(buckets, dtype=np.uint64)
        s_rows = s.bucket_rows if s else zeros_i
        d_rows = d.bucket_rows if d else zeros_i
        s_sums = s.bucket_sums if s else zeros_u
        d_sums = d.bucket_sums if d else zeros_u
        mask = (s_rows != d_rows) | (s_sums != d_sums)
        if not mask.any():
            continue
        status = "differs" if s and d else ("missing in InfluxDB" if s else "only in InfluxDB")
        diffs.append(
            SeriesDiff(
                key=key,
                series=series_text(source.measurement, key),
                status=status,
                source_rows=s.rows if s else 0,
                influx_rows=d.rows if d else 0,
                source_values=dict(s.values) if s else {},
                influx_values=dict(d.values) if d else {},
                source_checksum=s.checksum if s else 0,
                influx_checksum=d.checksum if d else 0,
                ranges=_ranges(source.window, source.bucket_ns, mask, s_rows, d_rows),
            )
        )
    return diffs


# -- drill-down -----------------------------------------------------------------------------------


def same_value(a: Any, b: Any) -> bool:
    """Bit-exact equality (floats by their IEEE-754 bits: -0.0 ≠ 0.0)."""
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        try:
            return struct.pack("<d", float(a)) == struct.pack("<d", float(b))
        except (TypeError, ValueError, OverflowError):
            return False
    return a == b


def _row_values(row: Mapping[str, Any], spec: TableSpec) -> dict[str, Any]:
    out = {}
    for name, value in row.items():
        if name == TIME_COLUMN or value is None:
            continue
        if _kind(spec, name) is MeasureType.DOUBLE and isinstance(value, int | float):
            value = float(value)
        out[name] = value
    return out


def _source_points(
    tables: Iterable[pa.Table], spec: TableSpec, targets: list[tuple[SeriesKey, int, int]]
) -> dict[tuple[SeriesKey, int], dict[str, Any]]:
    wanted = {k for k, _, _ in targets}
    found: dict[tuple[SeriesKey, int], dict[str, Any]] = {}
    for table in tables:
        if table.num_rows == 0:
            continue
        table = table.combine_chunks()
        codes, keys = _tag_key_codes(table, [t for t in spec.tags if t in table.schema.names])
        hits = [i for i, k in enumerate(keys) if k in wanted]
        if not hits:
            continue
        mask = np.isin(codes, hits)
        rows = table.filter(pa.array(mask))
        row_codes = codes[mask]
        times = pc.cast(rows.column(TIME_COLUMN), pa.int64()).to_pylist()
        for i, record in enumerate(rows.to_pylist()):
            key = keys[int(row_codes[i])]
            moment = times[i]
            if any(k == key and lo <= moment < hi for k, lo, hi in targets):
                values = _row_values({**record, TIME_COLUMN: None}, spec)
                values = {n: v for n, v in values.items() if n in spec.field_names}
                if values:
                    found[(key, moment)] = values
    return found


def _influx_points(
    client: InfluxClient,
    spec: TableSpec,
    key: SeriesKey,
    start: int,
    end: int,
    database: str | None,
) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    window = Window(_dt(start), _dt(end))
    for got, columns, rows in iter_influx_series(client, spec, window, database, key):
        if got != key:
            continue
        for row in rows:
            record = dict(zip(columns, row, strict=True))
            found[int(record["time"])] = _row_values(record, spec)
    return found


def drill_down(
    diffs: list[SeriesDiff],
    source_tables: Callable[[], Iterable[pa.Table]],
    client: InfluxClient,
    spec: TableSpec,
    database: str | None = None,
    max_points: int = MAX_POINTS,
) -> None:
    """Fill each diff's ``points`` with the times whose values differ (up to ``max_points``)."""
    targets = [(d.key, r.start_ns, r.end_ns) for d in diffs for r in d.ranges]
    targets = targets[:MAX_RANGES_DRILLED]
    if not targets:
        return
    source = _source_points(source_tables(), spec, targets)
    budget = max_points
    for diff in diffs:
        for r in diff.ranges:
            if (diff.key, r.start_ns, r.end_ns) not in targets or budget <= 0:
                continue
            if min(r.source_rows, r.influx_rows) == 0 and max(r.source_rows, r.influx_rows) > 3:
                continue  # a whole range missing (or extra): the range itself says it all
            target = _influx_points(client, spec, diff.key, r.start_ns, r.end_ns, database)
            src = {
                t: v for (k, t), v in source.items() if k == diff.key and r.start_ns <= t < r.end_ns
            }
            for moment in sorted(set(src) | set(target)):
                a, b = src.get(moment), target.get(moment)
                if a is not None and b is not None and _same_point(a, b):
                    continue
                diff.points.append(PointDiff(moment, a, b))
                budget -= 1
                if budget <= 0:
                    break


def _same_point(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return set(a) == set(b) and all(same_value(a[n], b[n]) for n in a)


# -- results --------------------------------------------------------------------------------------


@dataclass
class VerificationResult:
    """The outcome of verifying one table's window; ``ok`` only when both digests are equal."""

    table: str
    partition: str
    window: Window
    source_rows: int
    influx_rows: int
    source_values: int
    influx_values: int
    source_checksum: str
    influx_checksum: str
    series: int
    diffs: list[SeriesDiff]
    attempts: int
    seconds: float
    type_mismatches: dict[str, str] = field(default_factory=dict)  # field → what differs

    @classmethod
    def of(
        cls,
        table: str,
        partition: str,
        window: Window,
        source: Digest,
        influx: Digest,
        diffs: list[SeriesDiff],
        *,
        attempts: int,
        seconds: float,
        type_mismatches: dict[str, str],
    ) -> VerificationResult:
        """The result of comparing the two digests of ``window``."""
        return cls(
            table=table,
            partition=partition,
            window=window,
            source_rows=source.rows,
            influx_rows=influx.rows,
            source_values=source.values,
            influx_values=influx.values,
            source_checksum=source.checksum_hex,
            influx_checksum=influx.checksum_hex,
            series=len(set(source.series) | set(influx.series)),
            diffs=diffs,
            attempts=attempts,
            seconds=seconds,
            type_mismatches=type_mismatches,
        )

    @property
    def ok(self) -> bool:
        return not self.diffs

    def summary(self, max_series: int = 10) -> str:
        where = f"{self.table} {self.partition or self.window}"
        if self.ok:
            return (
                f"{where}: verified — {self.source_rows:,} points in {self.series} series, "
                f"{self.source_values:,} values, checksum {self.source_checksum} on both sides"
            )
        lines = [
            f"{where}: MISMATCH — {len(self.diffs)} of {self.series} series differ "
            f"(source {self.source_rows:,} points / {self.source_values:,} values, checksum "
            f"{self.source_checksum}; InfluxDB {self.influx_rows:,} points / "
            f"{self.influx_values:,} values, checksum {self.influx_checksum}; "
            f"{self.attempts} read(s))"
        ]
        lines += [f"  field {n}: {text}" for n, text in self.type_mismatches.items()]
        lines += ["  " + d.describe() for d in self.diffs[:max_series]]
        if len(self.diffs) > max_series:
            lines.append(f"  ... and {len(self.diffs) - max_series} more series")
        return "\n".join(lines)

    def markdown(self, max_series: int = 20) -> str:
        if self.ok:
            return f"✅ {self.summary()}"
        lines = [
            f"❌ **{self.table} {self.partition}**: {len(self.diffs)} of {self.series} series "
            f"differ — source {self.source_rows:,} points (checksum `{self.source_checksum}`), "
            f"InfluxDB {self.influx_rows:,} points (checksum `{self.influx_checksum}`)",
            "",
            *(f"- field `{n}`: {text}" for n, text in self.type_mismatches.items()),
            "",
            "| series | status | source points | InfluxDB points | time ranges | points |",
            "|---|---|---|---|---|---|",
        ]
        for d in self.diffs[:max_series]:
            ranges = "<br>".join(
                f"{format_ns(r.start_ns)} → {format_ns(r.end_ns)}" for r in d.ranges[:5]
            )
            points = "<br>".join(p.describe() for p in d.points[:5])
            lines.append(
                f"| `{d.series}` | {d.status} | {d.source_rows} | {d.influx_rows} | "
                f"{ranges} | {points.replace('|', '/')} |"
            )
        if len(self.diffs) > max_series:
            lines.append(f"\n... and {len(self.diffs) - max_series} more series")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "partition": self.partition,
            "window": [format_ns(self.window.start_ns), format_ns(self.window.end_ns)],
            "ok": self.ok,
            "source_rows": self.source_rows,
            "influx_rows": self.influx_rows,
            "source_values": self.source_values,
            "influx_values": self.influx_values,
            "source_checksum": self.source_checksum,
            "influx_checksum": self.influx_checksum,
            "series": self.series,
            "attempts": self.attempts,
            "seconds": round(self.seconds, 3),
            "diffs": [d.to_dict() for d in self.diffs],
            "type_mismatches": self.type_mismatches,
        }


def verify(
    source_tables: Callable[[], Iterable[pa.Table]],
    client: InfluxClient,
    spec: TableSpec,
    window: Window,
    *,
    partition: str = "",
    database: str | None = None,
    bucket_ns: int = BUCKET_NS,
    attempts: int = DEFAULT_ATTEMPTS,
    delay: float = DEFAULT_DELAY,
    max_points: int = MAX_POINTS,
    sleep: Callable[[float], None] = time.sleep,
) -> VerificationResult:
    """Compare the source (``source_tables()`` streams it; called again to drill down) with
    InfluxDB over ``window``; retry the read while InfluxDB has fewer points (still flushing)."""
    if attempts < 1:
        raise ValueError("attempts must be >= 1")
    began = time.perf_counter()
    source = source_digest(source_tables(), spec, window, bucket_ns)
    tries = 0
    while True:
        tries += 1
        influx = influx_digest(client, spec, window, database, bucket_ns)
        diffs = compare(source, influx)
        if not diffs or influx.rows >= source.rows or tries >= attempts:
            break
        sleep(delay * 2 ** (tries - 1))
    mismatched: dict[str, str] = {}
    if diffs:
        drill_down(diffs, source_tables, client, spec, database, max_points)
        mismatched = type_mismatches(spec, field_types(client, spec.measurement, database))
    return VerificationResult.of(
        spec.name,
        partition,
        window,
        source,
        influx,
        diffs,
        attempts=tries,
        seconds=time.perf_counter() - began,
        type_mismatches=mismatched,
    )


def verify_days(
    tables: Mapping[date, pa.Table],
    client: InfluxClient,
    spec: TableSpec,
    *,
    database: str | None = None,
    attempts: int = DEFAULT_ATTEMPTS,
    delay: float = DEFAULT_DELAY,
    max_points: int = MAX_POINTS,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[date, VerificationResult]:
    """Verify many loaded days of one table with one read of InfluxDB: both sides are digested
    over the span of the days (hourly buckets) and compared day by day, so each day gets the
    result a verification of that day alone would give (its counts, checksums and differences;
    days between the given ones are not judged). Only differing days are drilled into."""
    if attempts < 1:
        raise ValueError("attempts must be >= 1")
    days = sorted(tables)
    if not days:
        return {}
    began = time.perf_counter()
    span = Window(day_window(days[0]).start, day_window(days[-1]).end)
    source = source_digest((tables[d] for d in days), spec, span)
    sources = {day: source.slice(day_window(day)) for day in days}
    tries = 0
    while True:
        tries += 1
        influx = influx_digest(client, spec, span, database)
        judged = {day: (influx.slice(day_window(day)), sources[day]) for day in days}
        diffs = {day: compare(src, dst) for day, (dst, src) in judged.items()}
        flushing = any(diffs[day] and dst.rows < src.rows for day, (dst, src) in judged.items())
        if not flushing or tries >= attempts:
            break
        sleep(delay * 2 ** (tries - 1))
    share = (time.perf_counter() - began) / len(days)
    mismatched: dict[str, str] = {}
    if any(diffs.values()):
        mismatched = type_mismatches(spec, field_types(client, spec.measurement, database))
    results: dict[date, VerificationResult] = {}
    for day in days:
        dst, src = judged[day]
        started = time.perf_counter()
        if diffs[day]:
            drill_down(diffs[day], lambda d=day: [tables[d]], client, spec, database, max_points)
        results[day] = VerificationResult.of(
            spec.name,
            day.isoformat(),
            day_window(day),
            src,
            dst,
            diffs[day],
            attempts=tries,
            seconds=share + time.perf_counter() - started,
            type_mismatches=mismatched if diffs[day] else {},
        )
    return results


def verify_partition(
    store: ParquetStore,
    client: InfluxClient,
    spec: TableSpec,
    day: date,
    **options: Any,
) -> VerificationResult:
    """Verify one loaded table-day: its Parquet partition ↔ InfluxDB."""
    partition = Partition(spec.name, day)

    def tables() -> Iterable[pa.Table]:
        return store.batches(partition, spec)

    return verify(tables, client, spec, partition.window, partition=partition.key, **options)


# -- formatting -----------------------------------------------------------------------------------


def _dt(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // NS_PER_SECOND, UTC).replace(
        microsecond=(ns % NS_PER_SECOND) // 1_000
    )


def format_ns(ns: int) -> str:
    """RFC 3339 UTC, fraction only when needed: ``2018-11-04T10:00:00Z``."""
    seconds, frac = divmod(ns, NS_PER_SECOND)
    text = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + "Z"


def _show(value: Any) -> str:
    if value is None:
        return "∅"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    return repr(value)


def _values(values: Mapping[str, Any] | None) -> str:
    if not values:
        return "{}"
    return "{" + ", ".join(f"{k}={_show(v)}" for k, v in sorted(values.items())) + "}"


def _jsonable(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: (repr(v) if isinstance(v, float) else v) for k, v in values.items()}
