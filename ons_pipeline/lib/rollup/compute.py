"""Compute rollups with Arrow and NumPy: raw canonical rows → one row per series and local day;
daily rollup rows → one row per series and local month.

Exact by construction where exactness exists: counts are counts, minima and maxima are values
of the data with the time InfluxQL reports (the first point holding the extreme); sums and means
are floating-point sums, which differ from any other summation order only within the summation
bound (README, "Retention and rollups"). A series without a value in a bucket gets no row (the
loader writes no point without a field, so InfluxDB has none either).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ons_pipeline.lib.ons_time import Window
from ons_pipeline.lib.rollup.spec import (
    COUNT,
    MAX,
    MAX_TIME,
    MEAN,
    MIN,
    MIN_TIME,
    SUM,
    RollupTable,
    column,
)
from ons_pipeline.lib.schema import TIME_COLUMN, MeasureType, TableSpec


def _series_codes(table: pa.Table, tags: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the index of its series (distinct tag tuple, nulls included), and the first row
    of each series."""
    n = table.num_rows
    if not tags:
        return np.zeros(n, dtype=np.int64), np.zeros(1 if n else 0, dtype=np.int64)
    parts = []
    for tag in tags:
        col = table.column(tag).combine_chunks()
        if pa.types.is_dictionary(col.type):
            col = col.cast(pa.string())
        # InfluxDB has no empty tag: NULL and "" are the same series ("\x01" marks them)
        absent = pc.or_kleene(pc.is_null(col), pc.equal(col, ""))
        parts.append(pc.if_else(absent, "\x01", col))
    joined = pc.binary_join_element_wise(*parts, "\x00") if len(parts) > 1 else parts[0]
    encoded = pc.dictionary_encode(joined)
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    _, first = np.unique(codes, return_index=True)
    return codes, first


def _values(array: pa.ChunkedArray | pa.Array, kind: MeasureType) -> tuple[np.ndarray, np.ndarray]:
    arr = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    valid = pc.is_valid(arr).to_numpy(zero_copy_only=False)
    dtype = np.float64 if kind is MeasureType.DOUBLE else np.int64
    values = pc.fill_null(arr, 0).to_numpy(zero_copy_only=False).astype(dtype)
    return values, valid


def _first_per_group(codes: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group, row) of the first row of each group in ``order``."""
    ordered = codes[order]
    head = np.ones(len(ordered), dtype=bool)
    head[1:] = ordered[1:] != ordered[:-1]
    return ordered[head], order[head]


def _extreme(
    codes: np.ndarray, values: np.ndarray, times: np.ndarray, groups: int, largest: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Per group, the extreme value and the time of its first occurrence."""
    key = -values if largest else values
    order = np.lexsort((times, key, codes))
    group, row = _first_per_group(codes, order)
    best = np.zeros(groups, dtype=values.dtype)
    when = np.zeros(groups, dtype=np.int64)
    best[group], when[group] = values[row], times[row]
    return best, when


def _total(codes: np.ndarray, values: np.ndarray, groups: int, kind: MeasureType) -> np.ndarray:
    """Per group, the sum of ``values`` (floating-point for DOUBLE, exact integers otherwise)."""
    if kind is MeasureType.DOUBLE:
        return np.bincount(codes, weights=values, minlength=groups)
    total = np.zeros(groups, dtype=np.int64)
    np.add.at(total, codes, values)
    return total


Stats = dict[str, tuple[np.ndarray, np.ndarray]]


def _put_field_stats(
    stats: Stats,
    name: str,
    codes: np.ndarray,
    count: np.ndarray,
    total: np.ndarray,
    lows: tuple[np.ndarray, np.ndarray],
    highs: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """Every stat of field ``name`` into ``stats``, from its count and total per group and the
    candidate (value, time) minima and maxima of the rows (``codes``: each row's group); returns
    which groups have a value."""
    groups = len(count)
    has = count > 0
    low, low_t = _extreme(codes, *lows, groups, largest=False)
    high, high_t = _extreme(codes, *highs, groups, largest=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / np.where(has, count, 1)
    stats[column(name, COUNT)] = (count, np.ones(groups, dtype=bool))
    stats[column(name, SUM)] = (total, has)
    stats[column(name, MEAN)] = (mean.astype(np.float64), has)
    stats[column(name, MIN)] = (low, has)
    stats[column(name, MAX)] = (high, has)
    stats[column(name, MIN_TIME)] = (low_t, has)
    stats[column(name, MAX_TIME)] = (high_t, has)
    return has


def _assemble(
    rt: RollupTable,
    level_spec: TableSpec,
    start_ns: int,
    tag_rows: pa.Table,
    stats: Stats,
    keep: np.ndarray,
) -> pa.Table:
    """The rollup rows of the series in ``keep``: time = bucket start, tags, stats (null where
    the series has no value of that field)."""
    n = int(keep.sum())
    index = np.nonzero(keep)[0]
    arrays: list[pa.Array] = [
        pa.array(np.full(n, start_ns, dtype=np.int64)).cast(pa.timestamp("ns", tz="UTC"))
    ]
    for tag in rt.source.tags:
        arrays.append(tag_rows.column(tag).take(pa.array(index)).combine_chunks().cast(pa.string()))
    for spec in level_spec.fields:
        values, valid = stats[spec.name]
        arrays.append(pa.array(values[index], mask=~valid[index], type=spec.type.arrow_type))
    return pa.Table.from_arrays(arrays, schema=level_spec.arrow_schema())


def rollup_bucket(
    raw: pa.Table, rt: RollupTable, window: Window, level_spec: TableSpec
) -> pa.Table:
    """One bucket's rollup rows from raw canonical rows (any extra rows outside ``window`` are
    ignored): per series, every stat of every numeric field."""
    times_all = pc.cast(raw.column(TIME_COLUMN), pa.int64())
    inside = pc.and_(
        pc.greater_equal(times_all, window.start_ns), pc.less(times_all, window.end_ns)
    )
    rows = raw.filter(inside)
    codes, first = _series_codes(rows, rt.source.tags)
    groups = len(first)
    times = pc.cast(rows.column(TIME_COLUMN), pa.int64()).to_numpy(zero_copy_only=False)
    stats: Stats = {}
    any_value = np.zeros(groups, dtype=bool)
    for f in rt.fields:
        values, valid = _values(rows.column(f.name), f.type)
        c, v, t = codes[valid], values[valid], times[valid]
        count = np.bincount(c, minlength=groups).astype(np.int64)
        total = _total(c, v, groups, f.type)
        any_value |= _put_field_stats(stats, f.name, c, count, total, (v, t), (v, t))
    tag_rows = rows.select(list(rt.source.tags)).take(pa.array(first)) if groups else rows
    return _assemble(rt, level_spec, window.start_ns, tag_rows, stats, any_value)


def combine_buckets(
    parts: pa.Table, rt: RollupTable, window: Window, level_spec: TableSpec
) -> pa.Table:
    """One coarser bucket (a month) from finer rollup rows (its days): counts and sums added,
    the extreme of the extremes with its first time, the mean as sum / count."""
    codes, first = _series_codes(parts, rt.source.tags)
    groups = len(first)
    stats: Stats = {}
    any_value = np.zeros(groups, dtype=bool)
    for f in rt.fields:
        counts, _ = _values(parts.column(column(f.name, COUNT)), MeasureType.BIGINT)
        has_row = counts > 0
        c = codes[has_row]
        count = np.zeros(groups, dtype=np.int64)
        np.add.at(count, c, counts[has_row])
        sums, _ = _values(parts.column(column(f.name, SUM)), f.type)
        total = _total(c, sums[has_row], groups, f.type)
        lows, _ = _values(parts.column(column(f.name, MIN)), f.type)
        low_ts, _ = _values(parts.column(column(f.name, MIN_TIME)), MeasureType.BIGINT)
        highs, _ = _values(parts.column(column(f.name, MAX)), f.type)
        high_ts, _ = _values(parts.column(column(f.name, MAX_TIME)), MeasureType.BIGINT)
        any_value |= _put_field_stats(
            stats,
            f.name,
            c,
            count,
            total,
            (lows[has_row], low_ts[has_row]),
            (highs[has_row], high_ts[has_row]),
        )
    tag_rows = parts.select(list(rt.source.tags)).take(pa.array(first)) if groups else parts
    return _assemble(rt, level_spec, window.start_ns, tag_rows, stats, any_value)
