"""Raw ONS files: string columns as ONS writes them, typed ONS Parquet, the CSV/Parquet writers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ons_pipeline.lib import ons_time
from ons_pipeline.lib.schema import Source
from ons_pipeline.lib.schema import table as table_spec
from ons_pipeline.local.generator.canonical import NULL_RATE, UNITS_PER_ONE, dense_ons
from ons_pipeline.local.generator.climate import seeded_rng
from ons_pipeline.local.generator.system import DAY_NS

NumberStyle = Literal["fixed8", "shortest", "float32"]
DstGap = Literal["absent", "empty"]
RepeatedHour = Literal["drop", "repeat"]

# Row order of the subsystems within one instant in the real ONS files.
_ONS_ROW_ORDER = {
    "curva_carga": ("N", "NE", "S", "SE"),
    "balanco_subsistema": ("NE", "N", "SIN", "SE", "S"),
    "cmo_semihorario": ("NE", "N", "SE", "S"),
    "ear_diario": ("NE", "N", "SE", "S"),
    "ena_diario": ("N", "NE", "S", "SE"),
    "cmo_semanal": ("N", "NE", "S", "SE"),
    "carga_energia": ("N", "NE", "S", "SE"),
}
_TIME_FIRST = {"intercambio", "geracao_usina"}  # ONS files whose first column is din_instante


# --- public API: raw ONS files ----------------------------------------------------------------


def raw_columns(table: str, *, header_typo: bool = False) -> list[str]:
    """The ONS file's column names, in the file's order (the mapping's ``raw_columns``, else the
    order of the datasets ONS publishes: codes and names, time, values)."""
    spec = table_spec(table)
    if spec.source is not Source.ONS or spec.raw_time_column is None:
        raise ValueError(f"table {table!r} is not an ONS dataset")
    tags = list(spec.tags)
    if spec.raw_columns:
        renames = spec.raw_renames
        columns = [renames.get(c, c) for c in spec.raw_columns]
    elif table in _TIME_FIRST:
        columns = [spec.raw_time_column, *tags, *spec.field_names]
    else:
        columns = [*tags[:2], spec.raw_time_column, *tags[2:], *spec.field_names]
    if header_typo:
        typos = {canonical: typo for typo, canonical in spec.raw_renames.items()}
        columns = [typos.get(c, c) for c in columns]
    return columns


def render_numbers(units: np.ndarray, nulls: np.ndarray, style: NumberStyle) -> pa.StringArray:
    """Integers of 1e-8 → strings as ONS writes them; NULL → empty string.

    ``fixed8``: ``4828.07250000``, zero as ``0E-8``; ``shortest``: Python's repr (``2699.626``,
    ``110.0``); ``float32``: the float32 value with 8 decimals, trailing zeros stripped
    (``51691.2265625``, ``92.709198``).
    """
    units = np.asarray(units, dtype=np.int64)
    if style == "fixed8":
        magnitude = np.abs(units)
        whole = pc.cast(pa.array(magnitude // UNITS_PER_ONE), pa.string())
        fraction = pc.utf8_lpad(pc.cast(pa.array(magnitude % UNITS_PER_ONE), pa.string()), 8, "0")
        sign = pa.array(np.where(units < 0, "-", ""), pa.string())
        text = pc.binary_join_element_wise(
            pc.binary_join_element_wise(sign, whole, ""), fraction, "."
        )
        text = pc.if_else(pa.array(units == 0), "0E-8", text)
    elif style == "shortest":
        text = pa.array([repr(v) for v in (units / UNITS_PER_ONE).tolist()], pa.string())
    elif style == "float32":
        widened = (units / UNITS_PER_ONE).astype(np.float32).astype(np.float64).tolist()
        rendered = (f"{v:.8f}".rstrip("0") for v in widened)
        text = pa.array([s + "0" if s.endswith(".") else s for s in rendered], pa.string())
    else:
        raise ValueError(f"unknown number style {style!r}; use 'fixed8', 'shortest' or 'float32'")
    return pc.if_else(pa.array(np.asarray(nulls, dtype=bool)), "", text)


def generate_raw_ons(
    table: str,
    local_day: date,
    seed: int = 0,
    *,
    number_style: NumberStyle | Mapping[str, NumberStyle] = "fixed8",
    dst_gap: DstGap = "absent",
    repeated_hour: RepeatedHour = "drop",
    padded_codes: bool = False,
    header_typo: bool = False,
    daily_time: bool = False,
    null_rate: float = NULL_RATE,
) -> pa.Table:
    """One local day of an ONS dataset as ONS publishes it: all columns strings.

    ``number_style``: one style, or a style per value column (others ``fixed8``).
    ``dst_gap='empty'``: the nonexistent spring-forward hour is written with empty values (ONS
    2014–2017); ``'absent'``: not written (2000–2013). ``repeated_hour='drop'`` writes the
    fall-back hour once (ONS); ``'repeat'`` writes both occurrences with the same label.
    ``padded_codes``: about 10 % of rows have their ``id_*`` codes right-padded with spaces.
    ``header_typo``: known header typos (``id_subsistena`` in balanço). ``daily_time``: daily
    dates written ``YYYY-MM-DD 00:00:00``.
    """
    spec = table_spec(table)
    columns = raw_columns(table)  # validates the table
    dense = dense_ons(table, local_day, seed, null_rate)
    n = dense.n_series
    if dense.times.size == 0:  # a weekly dataset on another day of the week: no rows
        header = raw_columns(table, header_typo=header_typo)
        return pa.table({c: pa.array([], pa.string()) for c in header})
    daily = spec.grain >= timedelta(days=1)
    ids = dense.series["id_subsistema"].to_pylist() if "id_subsistema" in dense.series else []
    order = np.array(
        [ids.index(s) for s in _ONS_ROW_ORDER[table]] if table in _ONS_ROW_ORDER else range(n),
        dtype=np.int64,
    )
    if daily:
        slot_instant = [0]
        slot_label = [local_day.isoformat() + (" 00:00:00" if daily_time else "")]
    else:
        slot_instant, slot_label = _slots(
            dense.times, local_day, spec.grain, dst_gap, repeated_hour
        )
    slots = len(slot_label)
    instant = np.repeat(np.array(slot_instant, dtype=np.int64), order.size)
    series = np.tile(order, slots)
    gap = instant < 0
    flat = np.where(gap, 0, instant) * n + series
    result: dict[str, pa.Array] = {
        spec.raw_time_column or "din_instante": pa.array(slot_label, pa.string()).take(
            pa.array(np.repeat(np.arange(slots), order.size))
        )
    }
    rng = seeded_rng(seed, table, local_day.isoformat(), "raw")
    padded = rng.random(instant.size) < 0.1 if padded_codes else np.zeros(instant.size, bool)
    for tag in spec.tags:
        values = dense.series[tag].take(pa.array(series))
        if tag.startswith("id_") and padded.any():
            values = pc.if_else(pa.array(padded), pc.utf8_rpad(values, 12, " "), values)
        result[tag] = values
    styles = (
        {name: number_style for name in spec.field_names}
        if isinstance(number_style, str)
        else {name: number_style.get(name, "fixed8") for name in spec.field_names}
    )
    for name in spec.field_names:
        units = dense.values[name].ravel()[flat]
        nulls = dense.nulls[name].ravel()[flat] | gap
        result[name] = render_numbers(units, nulls, styles[name])
    header = raw_columns(table, header_typo=header_typo)
    blank = pa.array([""] * instant.size, pa.string())  # a column the mapping does not load
    return pa.Table.from_arrays([result.get(c, blank) for c in columns], names=header)


def _slots(
    times: np.ndarray, day: date, grain: timedelta, dst_gap: DstGap, repeated_hour: RepeatedHour
) -> tuple[list[int], list[str]]:
    """Rows of a raw day: (instant index or -1 for a nonexistent label, local label)."""
    step_ns = int(grain.total_seconds()) * ons_time.NS_PER_SECOND
    midnight = (day - date(1970, 1, 1)).days * DAY_NS
    grid = midnight + np.arange(DAY_NS // step_ns, dtype=np.int64) * step_ns
    _, nonexistent, _ = ons_time.local_ns_to_utc_ns(grid)
    labels = pc.cast(
        pa.array(grid // ons_time.NS_PER_SECOND, pa.timestamp("s")), pa.string()
    ).to_pylist()
    by_label: dict[str, list[int]] = {}
    for index, label in enumerate(ons_time.format_local(times).to_pylist()):
        by_label.setdefault(label, []).append(index)
    instants: list[int] = []
    names: list[str] = []
    for label, missing in zip(labels, nonexistent.tolist(), strict=True):
        if missing:
            if dst_gap == "empty":
                instants.append(-1)
                names.append(label)
            continue
        found = by_label.get(label, [])
        for index in found if repeated_hour == "repeat" else found[:1]:
            instants.append(index)
            names.append(label)
    return instants, names


def to_typed_ons(raw: pa.Table, table: str) -> pa.Table:
    """A raw (string) ONS table → typed columns as in ONS Parquet files.

    The time column becomes a naive local ``timestamp[ns]``, values ``float64`` (empty → NULL);
    codes and names stay strings, as written.
    """
    spec = table_spec(table)
    arrays = []
    for name, column in zip(raw.column_names, raw.columns, strict=True):
        text = pc.cast(column, pa.string())
        if name == spec.raw_time_column:
            padded = pc.if_else(
                pc.equal(pc.utf8_length(text), 10),
                pc.binary_join_element_wise(text, "00:00:00", " "),
                text,
            )
            arrays.append(
                pc.cast(
                    pc.strptime(padded, format=ons_time.LOCAL_FORMAT, unit="s"), pa.timestamp("ns")
                )
            )
        elif name in spec.field_names:
            blank = pc.equal(text, "")
            arrays.append(
                pc.cast(pc.if_else(blank, pa.scalar(None, pa.string()), text), pa.float64())
            )
        else:
            arrays.append(text)
    return pa.Table.from_arrays(arrays, names=raw.column_names)


# --- writers ----------------------------------------------------------------------------------

_FORBIDDEN = "[;\r\n]"


def write_ons_csv(tables: Iterable[pa.Table], path: str | Path, *, crlf: bool = False) -> int:
    """Write tables as one ONS CSV (``;``, UTF-8, no quoting, LF or CRLF); returns data rows.

    NULL is written as an empty field. Raises ``ValueError`` if a value holds ``;`` or a line
    break, or if the tables' columns differ.
    """
    eol = "\r\n" if crlf else "\n"
    header: list[str] | None = None
    rows = 0
    with open(path, "wb") as out:
        for chunk in tables:
            if header is None:
                header = chunk.column_names
                out.write((";".join(header) + eol).encode("utf-8"))
            elif chunk.column_names != header:
                raise ValueError(f"columns {chunk.column_names} differ from {header}")
            if not chunk.num_rows:
                continue
            cells = [pc.fill_null(pc.cast(c, pa.string()), "") for c in chunk.columns]
            for name, cell in zip(header, cells, strict=True):
                if pc.any(pc.match_substring_regex(cell, _FORBIDDEN)).as_py():
                    raise ValueError(f"column {name!r} holds ';' or a line break")
            lines = pc.binary_join_element_wise(*cells, ";").to_pylist()
            out.write((eol.join(lines) + eol).encode("utf-8"))
            rows += chunk.num_rows
    return rows


def write_ons_parquet(
    tables: Iterable[pa.Table],
    path: str | Path,
    *,
    table: str | None = None,
    row_group_size: int | None = None,
) -> int:
    """Write tables as one Parquet file; with ``table``, typed as ONS Parquet (``to_typed_ons``).

    Returns data rows. Nothing is written when ``tables`` is empty.
    """
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        for chunk in tables:
            if table is not None:
                chunk = to_typed_ons(chunk, table)
            if writer is None:
                writer = pq.ParquetWriter(str(path), chunk.schema, compression="zstd")
            writer.write_table(chunk, row_group_size=row_group_size)
            rows += chunk.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows


def generate_ons_file(
    table: str,
    start_day: date,
    days: int,
    path: str | Path,
    fmt: Literal["csv", "parquet"] = "csv",
    seed: int = 0,
    *,
    crlf: bool = False,
    typed: bool = True,
    **raw_options: object,
) -> int:
    """Write ``days`` local days of an ONS dataset to one file, day by day; returns data rows.

    ``raw_options`` go to ``generate_raw_ons``; ``typed`` applies to Parquet.
    """
    chunks = (
        generate_raw_ons(table, start_day + timedelta(days=i), seed, **raw_options)  # type: ignore[arg-type]
        for i in range(days)
    )
    if fmt == "csv":
        return write_ons_csv(chunks, path, crlf=crlf)
    if fmt == "parquet":
        return write_ons_parquet(chunks, path, table=table if typed else None)
    raise ValueError(f"unknown format {fmt!r}; use 'csv' or 'parquet'")
