"""Raw ONS files (``;`` CSV or Parquet, as ONS publishes them) → canonical tables per UTC day.

The dataset is recognised from the header with the schema mapping (``tables.toml`` and the user
files of ``ONS_MAPPING_EXTRA``; every table with a ``raw_time_column``): a file is dataset ``t``
when it has ``t``'s time column, every tag column and at least one field column, after
lower-casing, trimming and ``raw_renames`` (the ``id_subsistena`` typo).
Extra columns are ignored and reported; a field the file lacks (intercâmbio's programmed value) is
NULL in its rows and listed in ``missing_fields`` (the stored values of that field are not the
file's to change). A file that matches no dataset raises :class:`UnknownDatasetError` naming the
file, its header and the closest dataset with the columns it misses.

Row rules (every quirk of ../shared/DESIGN.md §4 and the sample README):

* bytes: UTF-8 (a BOM is ignored), LF or CRLF, ``;`` without quoting; blank lines are skipped;
  what tools make of an ONS file is read and said in ``notes`` (:func:`text_bytes`: gzip,
  Windows-1252, CR-only line ends; a quoted header; a ``;`` closing every data row); lines of
  spaces or Ctrl-Z and rows repeated verbatim are skipped; a header further down (files joined
  into one) is skipped and the rows below it are read by its column order (any order, case or
  ``raw_renames`` spelling of the same columns); one naming other columns refuses the file;
* codes and names: surrounding spaces stripped (padded codes); case, accents, dots and
  parentheses kept as published (they are tag values); ``-`` is kept as a tag value (ONS writes
  ``ceg = -`` for conjuntos); an empty tag makes the row bad;
* values: ``.`` decimals in every ONS style (``4828.07250000``, ``0E-8``, ``51691.2265625``,
  ``2.3``, negative numbers) parsed to float64; empty and ``-`` are NULL; anything else (``1,5``,
  ``NaN``, ``inf``, text) makes the row bad (NaN in Parquet is missing); ``-0`` becomes ``0``;
  a file whose numbers have a decimal comma and none a point that can only be a decimal one, or
  a dataset declared with ``raw_decimal = ","``, reads ``4828,0725`` and ``1.234,5`` instead;
* time: local Brasília clock (``YYYY-MM-DD HH:MM:SS`` or ``YYYY-MM-DD``; day-first slashes, a
  ``T``, no seconds and a zero fraction are rewritten to it; labels up to ``24:00`` refuse the
  file; a daily Parquet's UTC-midnight instants are the dates they name) → UTC with
  :func:`ons_time.parse_local` (daily datasets read a time part as an offset in the day, so the
  2013 ``00:00:01`` row stays on its day; in any other a date alone is its 00:00, as R's
  ``write.csv`` writes midnight, so on the DST-start day it is the non-existent hour). A time
  naming no real date or clock time (``2019-02-29``, ``06-31``, second 60) or outside the years
  1678–2261 that int64 nanoseconds hold makes the row bad. The non-existent DST-start hour is
  **dropped** when its values are empty or zero (ONS's placeholders: empty, or ``0E-8`` for Sul
  in 2018) and makes the row bad when it carries a real value. A fall-back hour written twice for
  a series is read as the first, then the second occurrence; any other repeated series+time
  makes the later rows bad;
* a row whose values are all NULL is dropped (counted): a point needs a field, so a whole empty
  day (curva carga 2014-02-01) gives zero points and no error; its series + time is kept in
  ``empty`` (a correction that publishes a point empty withdraws it).

Bad rows never stop a file: each is reported as :class:`BadRow` with the file, the row (the
**1-based physical line number** in a CSV, header = line 1; the 1-based row number in Parquet),
the column and the reason, and keeps its verbatim text for the quarantine; good rows are returned.

What a file says (used by ``ons_pipeline.lib.ingest.files`` to decide what it replaces):

* ``days``: the good rows, per UTC day; each replaces the stored point with its series + time;
* ``empty``: series + time of rows published without any value (ONS's way of writing "no data"):
  the stored point is withdrawn;
* ``protected``: series + time of bad rows whose key parsed: the stored point is kept as it is;
* ``whole``: the (series, local day) pairs the file holds **completely**: a row (good, empty or
  bad) at every local clock slot of that day at the dataset's grain — 24 hourly slots, 48
  half-hourly, 1 daily; 23 on the DST-start day; 24 on the fall-back day, whose repeated hour ONS
  writes once (a second occurrence falls in the same slot). Only there can a stored point the file
  has no row for (an off-grid time, a stale daily ``00:00:01``) be deleted. A bad row whose series
  or time cannot be read makes no series whole on the local day its text names (on any day when
  it names none): the file may be saying something about that day that we cannot read;
* ``coverage``: per UTC day, the UTC intervals of the local days the file mentions (any row with
  a valid time): where to look for stored points at all.
"""

from __future__ import annotations

import io
import json
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, NoReturn

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ons_pipeline.lib import ons_time
from ons_pipeline.lib.influx.lineprotocol import BAD_TAG_VALUE, unstorable_reason
from ons_pipeline.lib.ons_time import day_window
from ons_pipeline.lib.partitions import validate_table
from ons_pipeline.lib.schema import TIME_COLUMN, MeasureType, Source, TableSpec, tables

FileFormat = Literal["csv", "parquet", "xlsx"]

SEPARATOR = ";"
MAX_LINE_BYTES = 64 * 1024  # an ONS row is well under 1 KiB; pyarrow's blocks are 1 MiB
PLACEHOLDERS = ("", "-")
_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_INTEGER = r"^[+-]?\d+$"
_BOM = b"\xef\xbb\xbf"
_NS_PER_DAY = ons_time.NS_PER_DAY
_SUPPORTED_FIELD_TYPES = {MeasureType.DOUBLE, MeasureType.BIGINT, MeasureType.VARCHAR}


class NormalizeError(ValueError):
    """A file cannot be normalised at all (unreadable, unknown dataset, bad header)."""


class UnknownDatasetError(NormalizeError):
    """The file's header matches no ONS dataset of the schema mapping."""


@dataclass(frozen=True)
class BadRow:
    """A row that could not be loaded: where it is, why, and its verbatim text."""

    source: str
    row: int  # CSV: 1-based physical line (header = 1); Parquet: 1-based row number
    column: str | None
    reason: str
    text: str
    raw: bytes | None = None  # the line's bytes when its text is not them (not valid UTF-8)

    def __str__(self) -> str:
        where = f"{self.source}: row {self.row}"
        if self.column:
            where += f", column {self.column!r}"
        return f"{where}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "reason": self.reason, "text": self.text}


Interval = tuple[int, int]  # [start_ns, end_ns) in UTC
SeriesTime = tuple[tuple[str, ...], int]  # (tag values in spec order, time ns)
SeriesDay = tuple[tuple[str, ...], date]  # (tag values in spec order, local Sao Paulo day)


@dataclass
class NormalizedFile:
    """One raw file, normalised: canonical rows per UTC day plus everything that was left out."""

    source: str
    spec: TableSpec = field(repr=False)
    format: FileFormat
    header: list[str]
    rows_read: int = 0
    days: dict[date, pa.Table] = field(default_factory=dict)
    coverage: dict[date, tuple[Interval, ...]] = field(default_factory=dict)
    bad_rows: list[BadRow] = field(default_factory=list)
    dropped_empty: int = 0
    dropped_dst: int = 0
    second_occurrences: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    missing_fields: list[str] = field(default_factory=list)
    protected: frozenset[SeriesTime] = frozenset()  # series+time of bad rows: never deleted
    empty: frozenset[SeriesTime] = frozenset()  # series+time of rows without values: withdrawn
    whole: frozenset[SeriesDay] = frozenset()  # (series, local day) held at every clock slot
    series_days: int = 0  # (series, local day) pairs the file has rows for
    duplicates_dropped: int = 0  # rows repeated verbatim (same series, time and values)
    notes: list[str] = field(default_factory=list)  # how the file was read, when not as ONS writes

    @property
    def table(self) -> str:
        """The dataset (table of the schema mapping)."""
        return self.spec.name

    @property
    def rows(self) -> int:
        """Good rows (= points to write)."""
        return sum(t.num_rows for t in self.days.values())

    @property
    def bad_fraction(self) -> float:
        return len(self.bad_rows) / self.rows_read if self.rows_read else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "dataset": self.table,
            "format": self.format,
            "rows read": self.rows_read,
            "rows normalised": self.rows,
            "bad rows": len(self.bad_rows),
            "empty rows dropped": self.dropped_empty,
            "DST-gap rows dropped": self.dropped_dst,
            "fall-back second occurrences": self.second_occurrences,
            "UTC days": [d.isoformat() for d in sorted(self.days)],
            "covered UTC days": [d.isoformat() for d in sorted(self.coverage)],
            "series-days held whole (replaced)": len(self.whole),
            "series-days held in part (upserted)": self.series_days - len(self.whole),
            "ignored columns": self.ignored_columns,
            "missing fields (NULL)": self.missing_fields,
            "repeated rows dropped": self.duplicates_dropped,
            "read as": self.notes,
        }

    def quarantine_json(self, **extra: Any) -> bytes:
        """The bad rows with their reasons (file, row, column, verbatim text) as JSON."""
        document = {
            "source": self.source,
            "dataset": self.table,
            "format": self.format,
            "header": self.header,
            "rows_read": self.rows_read,
            "bad_rows": [b.as_dict() for b in self.bad_rows],
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **extra,
        }
        return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")

    def quarantine_csv(self) -> bytes:
        """The bad rows as an ONS CSV (original header, verbatim lines): fix and re-upload."""
        lines = [SEPARATOR.join(self.header).encode("utf-8")]
        lines += [b.raw if b.raw is not None else b.text.encode("utf-8") for b in self.bad_rows]
        return b"\n".join(lines) + b"\n"


# --- dataset detection ------------------------------------------------------------------------


def _clean_name(name: str) -> str:
    # a header written in quotes ("id_subsistema", as spreadsheet exports write it) is unquoted
    return name.strip().strip("\ufeff").strip().strip('"').strip().lower()


def _ons_specs(specs: Mapping[str, TableSpec] | None) -> list[TableSpec]:
    """The datasets a raw file can be: tables of the mapping with a raw-file description."""
    chosen = tables() if specs is None else specs
    return [s for s in chosen.values() if s.source is not Source.LEGACY and s.raw_time_column]


def detect_dataset(
    columns: Iterable[str], source: str = "<file>", specs: Mapping[str, TableSpec] | None = None
) -> TableSpec:
    """The ONS dataset whose columns this header has (see module docstring)."""
    header = [_clean_name(c) for c in columns]
    scored: list[tuple[int, int, TableSpec, list[str]]] = []
    for spec in _ons_specs(specs):
        names = {spec.raw_renames.get(c, c) for c in header}
        required = [spec.raw_time_column or "", *spec.tags]
        missing = [c for c in required if c not in names]
        found_fields = [f for f in spec.field_names if f in names]
        if not found_fields:
            missing += [" | ".join(spec.field_names)]
        scored.append((len(missing), -len(found_fields), spec, missing))
    matches = [entry for entry in scored if entry[0] == 0]
    if not matches:
        if not scored:
            raise UnknownDatasetError(f"{source}: the schema mapping has no ONS dataset")
        _, _, closest, missing = min(scored, key=lambda e: (e[0], e[1]))
        shown = [c if len(c) <= 60 else c[:57] + "..." for c in header[:40]]
        if len(header) > 40:
            shown.append(f"... {len(header) - 40} more")
        raise UnknownDatasetError(
            f"{source}: header {shown} matches no known ONS dataset "
            f"({', '.join(s.name for s in _ons_specs(specs))}); closest is "
            f"{closest.name!r}, which also needs {missing}. A new dataset is declared in a "
            "mapping file (ONS_MAPPING_EXTRA; see README, 'Schema mapping')"
        )
    matches.sort(key=lambda e: e[1])
    if len(matches) > 1 and matches[0][1] == matches[1][1]:
        names = [m[2].name for m in matches if m[1] == matches[0][1]]
        raise UnknownDatasetError(f"{source}: header {header} matches several datasets {names}")
    return matches[0][2]


def _column_map(header: list[str], spec: TableSpec, source: str) -> dict[str, int]:
    """Canonical column name → index in the file; errors on duplicates."""
    mapping: dict[str, int] = {}
    for index, raw in enumerate(header):
        name = _clean_name(raw)
        name = spec.raw_renames.get(name, name)
        if name in mapping:
            raise NormalizeError(f"{source}: column {name!r} appears twice in the header")
        mapping[name] = index
    return mapping


# --- reading ----------------------------------------------------------------------------------


GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"  # xlsx is a zip of XML parts
MAX_UNCOMPRESSED_BYTES = 4 * 1024**3
# a valid non-ASCII UTF-8 sequence: a file that has one is UTF-8, whatever else is wrong in it
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def gunzip(data: bytes, source: str, limit: int = MAX_UNCOMPRESSED_BYTES) -> bytes:
    """The content of gzip data (every member), refused beyond ``limit`` bytes or damaged."""
    parts: list[bytes] = []
    total, rest = 0, data
    while rest:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            chunk = inflater.decompress(rest, limit + 1 - total)
        except zlib.error as exc:
            raise NormalizeError(f"{source}: damaged gzip data ({exc})") from None
        total += len(chunk)
        parts.append(chunk)
        if total > limit or inflater.unconsumed_tail:
            raise NormalizeError(f"{source}: more than {limit:,} bytes once decompressed")
        if not inflater.eof:
            raise NormalizeError(f"{source}: truncated gzip data")
        rest = inflater.unused_data.lstrip(b"\x00")
    return b"".join(parts)


def text_bytes(data: bytes) -> tuple[bytes, list[str]]:
    """A CSV's bytes as UTF-8 with LF or CRLF line ends, and notes of what was changed: CR-only
    line ends (classic Mac) and ``\\r\\r\\n`` (a CRLF file rewritten in Windows text mode) become
    LF; a file with no valid UTF-8 beyond ASCII that reads as Windows-1252 (Excel's "CSV" on a
    pt-BR Windows) is re-encoded. A file that is partly UTF-8 is left as it is: its undecodable
    lines are bad rows."""
    notes: list[str] = []
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # Excel's "Unicode text"
        try:
            data = data.decode("utf-16").encode("utf-8")
            notes.append("encoding: UTF-16, not UTF-8")
        except UnicodeDecodeError:
            pass
    if b"\r" in data:
        if b"\n" not in data:
            data = data.replace(b"\r", b"\n")
            notes.append("line breaks: carriage returns only (classic Mac)")
        elif b"\r\r" in data:
            data = re.sub(rb"\r+\n", b"\n", data)
            notes.append("line breaks: repeated carriage returns before each line feed")
    body = data[len(_BOM) :] if data.startswith(_BOM) else data
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        if not _UTF8_MULTIBYTE.search(body):
            try:
                text = body.decode("cp1252")
            except UnicodeDecodeError:
                pass
            else:
                data = text.encode("utf-8")
                notes.append("encoding: Windows-1252 (Latin-1), not UTF-8")
    return data, notes


def sniff_format(data: bytes, name: str = "") -> FileFormat:
    """Parquet or an Excel workbook by their magic bytes, else CSV."""
    if data[:4] == b"PAR1" or name.lower().endswith(".parquet"):
        return "parquet"
    if data[:4] == ZIP_MAGIC:
        return "xlsx"
    return "csv"


def workbook_header(data: bytes, source: str) -> list[str]:
    """The column names of an Excel workbook's first sheet (its first non-empty row)."""
    return _read_xlsx(data, source, header_only=True).header


def read_header(data: bytes, source: str = "<file>") -> list[str]:
    """The column names of a CSV's first non-blank line (a prefix of the file is enough)."""
    data, _ = text_bytes(data)
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    for raw in data.split(b"\n"):
        line = raw.rstrip(b"\r")
        if not line.strip(b" \t\x1a"):
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NormalizeError(f"{source}: the header is not UTF-8 ({exc})") from None
        return text.split(SEPARATOR)
    raise NormalizeError(f"{source}: no header line (empty file)")


@dataclass
class _RawRows:
    """String columns of the data rows, their row numbers and verbatim texts (lazy)."""

    header: list[str]
    columns: list[pa.Array]
    rows: np.ndarray  # int64, 1-based line/row numbers
    texts: Any  # callable(index array) -> list[str]
    # structural problems: (row, column, reason, text, the line's bytes when not its text)
    bad: list[tuple[int, str | None, str, str, bytes | None]]
    notes: list[str] = field(default_factory=list)
    unterminated: bool = False  # a CSV whose last line has no line end (cut short?)


def _line_table(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Starts, content ends (without CR/LF) and next-line starts of every physical line."""
    newlines = np.flatnonzero(arr == 10)
    starts = np.concatenate([[0], newlines + 1]).astype(np.int64)
    nexts = np.concatenate([newlines + 1, [arr.size]]).astype(np.int64)
    ends = np.concatenate([newlines, [arr.size]]).astype(np.int64)
    if starts.size and starts[-1] == arr.size:  # the file ends with a newline
        starts, ends, nexts = starts[:-1], ends[:-1], nexts[:-1]
    has_cr = (ends > starts) & (arr[np.maximum(ends - 1, 0)] == 13)
    ends = ends - has_cr
    return starts, ends, nexts


def _read_csv(data: bytes, source: str, notes: list[str] | None = None) -> _RawRows:
    notes = list(notes or [])
    offset = len(_BOM) if data.startswith(_BOM) else 0
    arr = np.frombuffer(data, dtype=np.uint8)[offset:]
    starts, ends, nexts = _line_table(arr)

    def per_line(positions: np.ndarray) -> np.ndarray:
        lines = np.searchsorted(starts, positions, side="right") - 1
        return np.bincount(lines, minlength=starts.size)

    # a line of spaces, tabs or a DOS end-of-file mark (Ctrl-Z) holds nothing: blank
    # (and a row of empty cells, ";;;", as a spreadsheet writes below its data)
    blank = per_line(np.flatnonzero(~np.isin(arr, (9, 10, 13, 26, 32, 34, 59)))) == 0
    content = np.flatnonzero(~blank)
    if content.size == 0:
        raise NormalizeError(f"{source}: no header line (empty file)")
    header_line = int(content[0])
    header_bytes = arr[starts[header_line] : ends[header_line]].tobytes()
    header = read_header(header_bytes, source)
    expected = len(header) - 1
    # the header again further down (files joined into one) is read as a row here and taken
    # out, with the order of its columns, by _read_by_headers once the dataset is known

    found = per_line(np.flatnonzero(arr == 59))
    data_line = ~blank & (np.arange(starts.size) > header_line)
    # every data row ending in one empty field more than the header names (a trailing ';' the
    # header lacks): the separator closes the row, it opens no field
    trailing = data_line & (found == expected + 1) & (ends > starts)
    trailing &= arr[np.maximum(ends - 1, 0)] == 59
    if trailing.any() and not header_bytes.rstrip().endswith(b";"):
        cut = np.delete(np.frombuffer(data, dtype=np.uint8), offset + ends[trailing] - 1)
        note = "a ';' closing each data row (not the header): read as the row's end"
        return _read_csv(cut.tobytes(), source, [*notes, note])
    carriage = np.flatnonzero(arr == 13)
    followed = carriage + 1
    lone = followed >= arr.size
    lone[~lone] = arr[followed[~lone]] != 10
    stray_cr = per_line(carriage[lone]) > 0

    def text_of(line: int) -> str:
        return arr[starts[line] : ends[line]].tobytes().decode("utf-8", errors="replace")

    bad: list[tuple[int, str | None, str, str, bytes | None]] = []
    wrong_count = data_line & (found != expected)
    for line in np.flatnonzero(wrong_count).tolist():
        bad.append(
            (
                line + 1,
                None,
                f"expected {expected + 1} fields separated by ';', found {int(found[line]) + 1}",
                text_of(line),
                None,
            )
        )
    cr_inside = data_line & ~wrong_count & stray_cr
    for line in np.flatnonzero(cr_inside).tolist():
        bad.append((line + 1, None, "carriage return inside the line", text_of(line), None))
    keep = data_line & ~wrong_count & ~cr_inside
    # Invalid UTF-8: only searched line by line when the file as a whole does not decode.
    try:
        data[offset:].decode("utf-8")
    except UnicodeDecodeError:
        for line in np.flatnonzero(keep).tolist():
            try:
                arr[starts[line] : ends[line]].tobytes().decode("utf-8")
            except UnicodeDecodeError as exc:
                reason = f"not valid UTF-8 ({exc.reason})"
                raw_bytes = arr[starts[line] : ends[line]].tobytes()
                bad.append((line + 1, None, reason, text_of(line), raw_bytes))
                keep[line] = False
    # A line far longer than any ONS row (a runaway field, a binary blob): a bad row, not a
    # parser failure that names no line
    lengths = ends - starts
    for line in np.flatnonzero(keep & (lengths > MAX_LINE_BYTES)).tolist():
        reason = f"a line of {int(lengths[line]):,} bytes: longer than any ONS row"
        bad.append((line + 1, None, reason, text_of(line)[:200] + " …", None))
        keep[line] = False
    kept = np.flatnonzero(keep)
    if kept.size:
        # Contiguous runs of kept lines are copied as slices (one run when nothing was dropped).
        breaks = np.flatnonzero(np.diff(kept) != 1)
        run_first = kept[np.concatenate([[0], breaks + 1])]
        run_last = kept[np.concatenate([breaks, [kept.size - 1]])]
        body = b"".join(
            data[offset + int(starts[a]) : offset + int(nexts[b])]
            for a, b in zip(run_first.tolist(), run_last.tolist(), strict=True)
        )
        if not body.endswith(b"\n"):
            body += b"\n"
        names = [f"c{i}" for i in range(len(header))]
        table = pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pacsv.ParseOptions(
                delimiter=SEPARATOR,
                quote_char=False,
                double_quote=False,
                escape_char=False,
                newlines_in_values=False,
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )
        if table.num_rows != kept.size:
            raise NormalizeError(
                f"{source}: read {table.num_rows} rows but the file has {kept.size} data lines"
            )
        columns = [_unquoted(c.combine_chunks()) for c in table.columns]
    else:
        columns = [pa.array([], pa.string()) for _ in header]

    def texts(indices: np.ndarray) -> list[str]:
        return [text_of(int(kept[i])) for i in indices]

    # the last kept line is the file's last line and has no line end: it may be cut short
    unterminated = bool(kept.size) and int(kept[-1]) == starts.size - 1
    unterminated &= int(arr[-1]) not in (10, 13)
    rows = (kept + 1).astype(np.int64)
    return _RawRows(header, columns, rows, texts, bad, notes, unterminated)


def _without_cut_short(raw: _RawRows) -> _RawRows:
    """The rows without the last one when the file ends inside it, cut in a number
    (:func:`_cut_short`): that row becomes a bad row naming the column."""
    if not raw.unterminated or len(raw.rows) < 2:
        return raw
    cut = _cut_short(raw.header, raw.columns)
    if cut is None:
        return raw
    last = len(raw.rows) - 1
    [text] = raw.texts(np.array([last]))
    bad = [*raw.bad, (int(raw.rows[last]), cut, _CUT_SHORT, text, None)]
    columns = [c.slice(0, last) for c in raw.columns]
    return _RawRows(raw.header, columns, raw.rows[:last], raw.texts, bad, raw.notes)


def _canonical_name(name: str, spec: TableSpec) -> str:
    cleaned = _clean_name(name)
    return spec.raw_renames.get(cleaned, cleaned)


def _is_header_line(cells: list[str], spellings: set[str]) -> bool:
    """A line more than half of whose cells are column names: a header, never a data row."""
    named = sum(_clean_name(c) in spellings for c in cells)
    return 2 * named > len(cells)


def _read_by_headers(raw: _RawRows, spec: TableSpec, source: str) -> _RawRows:
    """The rows of a file with a header further down (files joined into one) read by the header
    above them: a line whose cells are the file's column names again (any order or case, or a
    spelling ``raw_renames`` knows) is taken out, and the rows below it are read by its order,
    their verbatim texts given in the first header's order (the quarantine CSV has that one).
    A header naming other columns refuses the file, naming its line: the rows below it cannot
    be read by the first header's positions."""
    names = [_canonical_name(h, spec) for h in raw.header]
    spellings = set(names) | {_clean_name(h) for h in raw.header}
    spellings |= {typo for typo, name in spec.raw_renames.items() if name in names}

    def refuse(line: int, text: str) -> NoReturn:
        shown = text if len(text) <= 300 else text[:297] + "..."
        raise NormalizeError(
            f"{source}: line {line} is a header naming other columns than the first header "
            f"{raw.header} (files of different layouts joined into one?): {shown!r}. Split the "
            "file at that line and load each part"
        )

    for row, _column, _reason, text, _bytes in raw.bad:
        if _is_header_line(text.split(SEPARATOR), spellings):
            refuse(row, text)  # a header with another number of columns
    if (
        not raw.columns
        or len(raw.rows) == 0
        or not all(
            pa.types.is_string(c.type) or pa.types.is_large_string(c.type) for c in raw.columns
        )
    ):
        return raw
    cleaned = [
        pc.utf8_lower(pc.utf8_trim(pc.fill_null(c, ""), characters=' \t\r\ufeff"'))
        for c in raw.columns
    ]
    value_set = pa.array(sorted(spellings), pa.string())
    named = np.zeros(len(raw.rows), np.int64)
    for column in cleaned:
        named += _bool(pc.is_in(column, value_set=value_set))
    candidates = np.flatnonzero(2 * named > len(raw.columns))
    if candidates.size == 0:
        return raw
    texts = raw.texts(candidates)
    # (row index of the header, file position → position of that column in the first header)
    sections: list[tuple[int, list[int]]] = []
    notes = list(raw.notes)
    for index, text in zip(candidates.tolist(), texts, strict=True):
        line = int(raw.rows[index])
        found = [_canonical_name(c.as_py(), spec) for c in (col[index] for col in raw.columns)]
        if sorted(found) != sorted(names):
            refuse(line, text)
        order = [names.index(name) for name in found]
        sections.append((index, order))
        if order == list(range(len(names))):
            notes.append(f"line {line}: the header again (files joined), skipped")
        else:
            notes.append(
                f"line {line}: the header again with its columns in another order (files "
                "joined): the rows below it read by it"
            )
    header_rows = np.array([index for index, _ in sections], dtype=np.int64)
    keep = np.setdiff1d(np.arange(len(raw.rows)), header_rows)
    # each kept row's section: the order of the header above it (the first header's at the top)
    section_of = np.searchsorted(header_rows, keep, side="right")
    orders = [list(range(len(names))), *(order for _, order in sections)]
    columns: list[pa.Array] = []
    for target in range(len(names)):
        pieces = []
        for section, order in enumerate(orders):
            picked = keep[section_of == section]
            if picked.size:
                pieces.append(raw.columns[order.index(target)].take(pa.array(picked)))
        columns.append(pa.concat_arrays(pieces) if pieces else raw.columns[target].slice(0, 0))
    rows = raw.rows[keep]

    def reordered(indices: np.ndarray) -> list[str]:
        indices = np.asarray(indices, dtype=np.int64)
        out = []
        for index, text in zip(indices.tolist(), raw.texts(keep[indices]), strict=True):
            order = orders[int(section_of[index])]
            cells = text.split(SEPARATOR)
            if len(cells) == len(order) and order != sorted(order):
                cells = [cells[order.index(target)] for target in range(len(order))]
            out.append(SEPARATOR.join(cells))
        return out

    return _RawRows(raw.header, columns, rows, reordered, raw.bad, notes, raw.unterminated)


_CUT_SHORT = (
    "the file ends inside this line (no line end) with fewer decimals than every other value "
    "of the column written with fixed decimals: cut short?"
)


_FIXED_DECIMALS = r"^\s*[+-]?\d+\.(?P<d>\d+)\s*$"
# what a cut leaves of such a number: its digits up to the cut (none, or no point, after it)
_CUT_NUMBER = re.compile(r"\s*[+-]?\d+(?:\.(\d*))?\s*")


def _cut_short(header: list[str], columns: list[pa.Array]) -> str | None:
    """The column whose last value has fewer decimals than all the others, when they all have
    the same number of them (a file written with fixed decimals, ``4198.85714300``, and cut
    after ``4198.85``, ``4198.`` or ``4198``); None when no column looks so. Only values written
    with fixed decimals are judged: an empty cell, ``-`` or ``0E-8`` (all common in ONS files)
    says nothing about the column's decimals."""
    for name, column in zip(header, columns, strict=True):
        if len(column) < 2 or not pa.types.is_string(column.type):
            continue
        others = column.slice(0, len(column) - 1)
        decimals = pc.utf8_length(
            pc.struct_field(pc.extract_regex(others, _FIXED_DECIMALS), [0])
        ).drop_null()
        if len(decimals) == 0:
            continue  # not a column of decimal numbers
        low, high = (v.as_py() for v in pc.min_max(decimals).values())
        last = _CUT_NUMBER.fullmatch(column[len(column) - 1].as_py() or "")
        if last is None:
            continue
        if low == high and low >= 2 and len(last.group(1) or "") < low:
            return name
    return None


def _unquoted(column: pa.Array) -> pa.Array:
    """Cells written in double quotes ("SE", as spreadsheet exports write them) without the
    quotes ("" inside is one quote): kept verbatim they named a new series ``"SE"``. A separator
    inside quotes is not supported: its line has too many fields and is a bad row."""
    quoted = pc.match_substring_regex(column, r'^\s*".*"\s*$')
    if not pc.any(quoted).as_py():
        return column
    inner = pc.replace_substring_regex(column, r'^\s*"(.*)"\s*$', r"\1")
    inner = pc.replace_substring(inner, '""', '"')
    return pc.if_else(quoted, inner, column)


def _read_parquet(data: bytes, source: str) -> _RawRows:
    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowInvalid, OSError) as exc:
        raise NormalizeError(f"{source}: unreadable Parquet: {exc}") from None
    header = list(table.column_names)
    columns = [c.combine_chunks() for c in table.columns]

    def texts(indices: np.ndarray) -> list[str]:
        picked = pa.array(np.asarray(indices, dtype=np.int64))
        cells = [
            pc.fill_null(pc.cast(c.take(picked), pa.string()), "").to_pylist() for c in columns
        ]
        return [SEPARATOR.join(values) for values in zip(*cells, strict=True)] if cells else []

    rows = np.arange(1, table.num_rows + 1, dtype=np.int64)
    return _RawRows(header, columns, rows, texts, [])


def _xlsx_cell(value: Any) -> str:
    """A cell as ONS's CSV writes it: a date-time as the local clock (Excel's float noise below
    a millisecond rounded away), a number in its shortest exact form, empty as ""."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.microsecond:
            rounded = (value + timedelta(milliseconds=1)).replace(microsecond=0)
            if abs((rounded - value).total_seconds()) < 0.001:
                value = rounded
        if value.microsecond:
            return value.isoformat(sep=" ")  # a fraction: refused like the CSV's
        return value.strftime(ons_time.LOCAL_FORMAT)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _read_xlsx(data: bytes, source: str, header_only: bool = False) -> _RawRows:
    """An Excel workbook's first sheet: its first non-empty row is the header; cells as the CSV
    writes them; the row numbers are the sheet's."""
    import zipfile

    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise NormalizeError(f"{source}: a zip archive that is no Excel workbook ({exc})") from None
    try:
        sheet = book.worksheets[0]
        notes = [f"Excel workbook: sheet {sheet.title!r}"]
        if len(book.worksheets) > 1:
            notes[0] += f", the first of {len(book.worksheets)} (the others are not read)"
        header: list[str] | None = None
        cells: list[list[str]] = []
        numbers: list[int] = []
        bad: list[tuple[int, str | None, str, str, bytes | None]] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            row = [_xlsx_cell(v) for v in values]
            while row and not row[-1].strip():
                row.pop()
            if not row:
                continue
            if header is None:
                header = row
                if header_only:
                    break
                continue
            if len(row) > len(header):
                bad.append(
                    (
                        number,
                        None,
                        f"expected {len(header)} cells, found {len(row)}",
                        SEPARATOR.join(row),
                        None,
                    )
                )
                continue
            cells.append(row + [""] * (len(header) - len(row)))
            numbers.append(number)
    finally:
        book.close()
    if header is None:
        raise NormalizeError(f"{source}: no header row (empty sheet)")
    columns = [pa.array([r[i] for r in cells], pa.string()) for i in range(len(header))]

    def texts(indices: np.ndarray) -> list[str]:
        return [SEPARATOR.join(cells[int(i)]) for i in indices]

    rows = np.array(numbers, dtype=np.int64)
    return _RawRows(header, columns, rows, texts, bad, notes)


# --- normalisation ----------------------------------------------------------------------------


def _trimmed(column: pa.Array) -> pa.Array:
    return pc.utf8_trim_whitespace(pc.cast(column, pa.string()))


def _bool(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def _codes(tag_arrays: dict[str, pa.Array], tags: tuple[str, ...]) -> np.ndarray:
    """One integer per distinct combination of ``tags`` (null as "")."""
    key = pc.binary_join_element_wise(*[pc.fill_null(tag_arrays[t], "") for t in tags], "\x1f")
    return np.asarray(
        pc.dictionary_encode(key).indices.to_numpy(zero_copy_only=False), dtype=np.int64
    )


def _time_strings(column: pa.Array) -> pa.Array:
    """Any ONS time column (string, naive timestamp, date) → trimmed local clock strings."""
    if pa.types.is_timestamp(column.type):  # naive: local clock
        seconds = pc.cast(column, pa.timestamp("s"), safe=False)
        whole = pc.fill_null(pc.equal(pc.cast(seconds, column.type), column), True)
        # a fraction of a second is written out, so that the row is refused as the CSV's would
        # be (the ONS clock has whole seconds), never cut to the second before it
        return pc.if_else(
            whole,
            pc.strftime(seconds, format=ons_time.LOCAL_FORMAT),
            pc.strftime(column, format=ons_time.LOCAL_FORMAT),
        )
    if pa.types.is_date(column.type):
        return pc.cast(column, pa.string())
    return _trimmed(column)


def _utc_midnights(column: pa.Array) -> bool:
    """Whether a zoned daily column holds dates written as UTC instants: every instant before
    03:00 UTC (UTC midnight, or the 2013 "00:00:01" written so), which would fall on the evening
    before in Brasília; a local midnight is 03:00 UTC (02:00 in summer time, the same date)."""
    ns = pc.cast(pc.cast(column, ons_time.UTC_NS), pa.int64()).drop_null()
    values = ns.to_numpy(zero_copy_only=False)
    return bool(values.size) and bool((values % _NS_PER_DAY < 3 * 3600 * 10**9).all())


# local clock forms people's tools write, each rewritten to ONS's own (and said so): slashed
# dates (their order decided by :func:`_date_order`), a 'T', no seconds, a zero fraction
_PADDING = ((r"^(\d)/", r"0\1/"), (r"^(\d{2})/(\d)/", r"\1/0\2/"))
_SLASHED = r"^(\d{2})/(\d{2})/(\d{4})"
_CLOCK_FORMS = (
    (r"^(\d{4}-\d{2}-\d{2})T", r"\1 ", "a 'T' between date and time"),
    (r"^(\d{4}-\d{2}-\d{2} )(\d):", r"\10\2:", None),  # RE2: group 1, then "0"
    (r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2})$", r"\1:00", "times without seconds"),
    (r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\.0+$", r"\1", "a zero fraction of a second"),
)


def _read_dates(years: np.ndarray, months: np.ndarray, days: np.ndarray) -> tuple[int, int]:
    """(rows that are no date, runs of consecutive days the dates fall into)."""
    keys, counts = np.unique(years * 10_000 + months * 100 + days, return_counts=True)
    invalid, dates = 0, []
    for key, count in zip(keys.tolist(), counts.tolist(), strict=True):
        try:
            dates.append(date(key // 10_000, key // 100 % 100, key % 100))
        except ValueError:  # month 13, 31/04
            invalid += count
    runs = sum(1 for i, d in enumerate(dates) if i == 0 or (d - dates[i - 1]).days != 1)
    return invalid, runs


def _date_order(text: pa.Array, day_first: bool = False) -> tuple[str, str] | None:
    """How a column's dd/mm/yyyy-or-mm/dd/yyyy dates are read: (RE2 replacement, note).

    ONS and pt-BR write the day first; a US spreadsheet the month. A reading that leaves more
    than a stray few rows (1 in 20) without a date is out; of the readings left, the one whose
    dates fall into fewer runs of consecutive days (an ONS file is a run of hourly or daily
    points); day first on a tie, or when the file writes its numbers the pt-BR way
    (``day_first``). Rows that are no date in the reading taken are bad rows."""
    parts = pc.extract_regex(text, r"^(?P<a>\d{2})/(?P<b>\d{2})/(?P<y>\d{4})")
    if parts.null_count == len(parts):
        return None
    parts = parts.drop_null()
    first, second, year = (
        pc.cast(parts.field(i), pa.int32()).to_numpy(zero_copy_only=False) for i in range(3)
    )
    day_bad, day_runs = _read_dates(year, second, first)
    month_bad, month_runs = _read_dates(year, first, second)
    stray = len(first) / 20
    day_in, month_in = day_bad < stray, month_bad < stray
    day = (r"\3-\2-\1", "dates written dd/mm/yyyy")
    if month_in and not day_in:
        return r"\3-\1-\2", "dates written mm/dd/yyyy (month first: a day above 12 after the month)"
    if (day_in and not month_in) or day_first:
        return day
    if (month_runs, month_bad) < (day_runs, day_bad):
        why = f"read so its dates are {month_runs} run(s) of days, day first {day_runs}"
        return r"\3-\1-\2", f"dates written mm/dd/yyyy (month first: {why})"
    if (day_runs, day_bad) < (month_runs, month_bad):
        return day
    if bool((first != second).any()):
        return (
            r"\3-\2-\1",
            "dates written dd/mm/yyyy (no date shows which comes first: day first, as ONS)",
        )
    return day


def _clock_text(text: pa.Array, day_first: bool = False) -> tuple[pa.Array, list[str]]:
    """Local clock strings in ONS's form, and the forms found (``day_first``: see
    :func:`_date_order`)."""
    found: list[str] = []
    if pc.any(pc.match_substring_regex(text, r"^\d{1,2}/\d{1,2}/\d{4}")).as_py():
        for pattern, replacement in _PADDING:
            text = pc.replace_substring_regex(text, pattern, replacement)
        order = _date_order(text, day_first)
        if order is not None:
            text = pc.replace_substring_regex(text, _SLASHED, order[0])
            found.append(f"times: {order[1]}")
    for pattern, replacement, form in _CLOCK_FORMS:
        if pc.any(pc.match_substring_regex(text, pattern)).as_py():
            text = pc.replace_substring_regex(text, pattern, replacement)
            if form is not None:
                found.append(f"times: {form}")
    return text, found


# a number written with a decimal comma (its thousands, if any, grouped by dots): "4828,07",
# "12.345,678"; and one that can only be a decimal point ("4828.0725", "2.3")
_COMMA_NUMBER = r"^[+-]?(\d+|\d{1,3}(\.\d{3})+),\d*([eE][+-]?\d+)?$"
_DOT_NUMBER = r"^[+-]?\d*\.\d*([eE][+-]?\d+)?$"
_GROUPED = r"^[+-]?\d{1,3}(\.\d{3})+(,\d*)?$"
_GROUPED_COMMA = r"^[+-]?\d{1,3}(\.\d{3})+,\d*([eE][+-]?\d+)?$"


def _comma_decimals(columns: list[pa.Array]) -> bool | None:
    """Whether a file's numbers use the decimal comma: some value has both separators the pt-BR
    way ("13.712,900") and none a point that can only be a decimal one ("4828.07"), or values
    have commas and none a point at all ("5401,888"). One "12,5" beside ONS's "457.403" is a
    stray comma, not a reason to read 457.403 as 457403. ``None``: both conventions appear."""
    commas = both = dots = points = False
    for column in columns:
        text = _trimmed(column)
        commas |= bool(pc.any(pc.match_substring_regex(text, _COMMA_NUMBER)).as_py())
        both |= bool(pc.any(pc.match_substring_regex(text, _GROUPED_COMMA)).as_py())
        dots |= bool(pc.any(pc.match_substring_regex(text, _DOT_NUMBER)).as_py())
        only_point = pc.and_(
            pc.match_substring_regex(text, _DOT_NUMBER),
            pc.invert(pc.match_substring_regex(text, _GROUPED)),
        )
        points |= bool(pc.any(only_point).as_py())
    if (both and not points) or (commas and not dots):
        return True
    return None if commas and dots else False


def _parse_field(
    column: pa.Array, ftype: MeasureType, decimal: str = "."
) -> tuple[pa.Array, np.ndarray, str | None]:
    """A field column → (typed values, bad mask, reason). ``decimal``: the file's decimal
    separator (with ``,`` a ``.`` is refused: it would be a thousands separator)."""
    if ftype is MeasureType.VARCHAR:
        text = _trimmed(column)
        blank = pc.is_in(text, pa.array(PLACEHOLDERS))
        return (
            pc.if_else(blank, pa.scalar(None, pa.string()), text),
            np.zeros(len(text), bool),
            None,
        )
    target = ftype.arrow_type
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        values = pc.cast(column, target)
        bad = np.zeros(len(values), bool)
        if pa.types.is_floating(target):
            # NaN is how numpy and Spark write a missing value: missing, as an empty CSV cell
            values = pc.if_else(pc.fill_null(pc.is_nan(values), False), None, values)
            bad = ~_bool(pc.or_kleene(pc.is_finite(values), pc.is_null(values)))
            values = pc.if_else(pa.array(bad), pa.scalar(None, target), values)
        return values, bad, "not a finite number"
    text = _trimmed(column)
    # a null cell (Parquet text or decimal columns) is missing, as an empty CSV cell
    blank = _bool(pc.or_kleene(pc.is_in(text, pa.array(PLACEHOLDERS)), pc.is_null(text)))
    if decimal != ".":
        grouped = pc.fill_null(pc.match_substring_regex(text, _GROUPED), False)
        text = pc.if_else(grouped, pc.replace_substring(text, ".", ""), text)
        dotted = _bool(pc.match_substring(text, "."))
        text = pc.if_else(pa.array(dotted), "?", pc.replace_substring(text, decimal, "."))
    floating = pa.types.is_floating(target)
    ok = _bool(pc.match_substring_regex(text, _NUMBER if floating else _INTEGER))
    in_range = np.ones(len(ok), bool)
    if not floating:  # digits beyond the type's range would fail the whole cast
        texts = text.to_pylist()
        in_range = np.array(
            [not good or _fits(v, target) for v, good in zip(texts, ok, strict=True)], bool
        )
    usable = pa.array(~blank & ok & in_range)
    cleaned = pc.if_else(usable, text, pa.scalar(None, pa.string()))
    values = pc.cast(cleaned, target)
    if floating:
        # beyond the double range: 1e400 parses as inf, 1e-400 as 0 (a nonzero digit says so)
        finite = _bool(pc.or_kleene(pc.is_finite(values), pc.is_null(values)))
        underflow = _bool(pc.equal(values, 0.0)) & _bool(
            pc.match_substring_regex(cleaned, r"^[^eE]*[1-9]")
        )
        in_range = finite & ~underflow
        values = pc.if_else(pa.array(~blank & ok & in_range), values, pa.scalar(None, target))
        values = pc.add(values, pa.scalar(0.0, target))  # -0 → 0
    bad = ~blank & ~(ok & in_range)
    if (ok & ~in_range & ~blank).any():
        return values, bad, f"not a number, or beyond the range of {target}"
    return values, bad, "not a number"


def _fits(text: str, target: pa.DataType) -> bool:
    bits = target.bit_width
    value = int(text)
    if pa.types.is_unsigned_integer(target):
        return 0 <= value < 2**bits
    return -(2 ** (bits - 1)) <= value < 2 ** (bits - 1)


def normalize_bytes(
    data: bytes,
    source: str = "<file>",
    *,
    fmt: FileFormat | None = None,
    specs: Mapping[str, TableSpec] | None = None,
) -> NormalizedFile:
    """Normalise one raw ONS file's bytes (see the module docstring for every rule)."""
    notes: list[str] = []
    while data[:2] == GZIP_MAGIC and len(notes) < 3:  # "CURVA_CARGA_2024.csv.gz": the file
        data = gunzip(data, source)
        notes.append("gzip-compressed: read decompressed")
        fmt = sniff_format(data, source.removesuffix(".gz").removesuffix(".GZ"))
    fmt = "xlsx" if data[:4] == ZIP_MAGIC else fmt or sniff_format(data, source)
    if fmt == "parquet":
        raw = _read_parquet(data, source)
    elif fmt == "xlsx":
        raw = _read_xlsx(data, source)
    else:
        data, changed = text_bytes(data)
        raw = _read_csv(data, source, [*notes, *changed])
        notes = []
    spec = detect_dataset(raw.header, source, specs)
    if fmt != "parquet":
        raw = _without_cut_short(_read_by_headers(raw, spec, source))
    for f in spec.fields:
        if f.type not in _SUPPORTED_FIELD_TYPES:
            raise NormalizeError(f"{source}: field {f.name!r} has unsupported type {f.type}")
    mapping = _column_map(raw.header, spec, source)
    wanted = {spec.raw_time_column or "", *spec.tags, *spec.field_names}
    result = NormalizedFile(
        source=source,
        spec=spec,
        format=fmt,
        header=raw.header,
        rows_read=len(raw.rows) + len(raw.bad),
        ignored_columns=[raw.header[i] for n, i in mapping.items() if n not in wanted],
        missing_fields=[f for f in spec.field_names if f not in mapping],
        notes=[*notes, *raw.notes],
    )
    _normalize_rows(raw, spec, mapping, result)
    return result


def normalize_file(
    path: str | Path, *, specs: Mapping[str, TableSpec] | None = None
) -> NormalizedFile:
    path = Path(path)
    data = path.read_bytes()
    return normalize_bytes(data, str(path), fmt=sniff_format(data, path.name), specs=specs)


def _normalize_rows(
    raw: _RawRows, spec: TableSpec, mapping: dict[str, int], result: NormalizedFile
) -> None:
    source = result.source
    n = len(raw.rows)
    problems: dict[int, tuple[str | None, str]] = {}  # row index → first (column, reason)
    bad_mask = np.zeros(n, bool)

    def flag(mask: np.ndarray, column: str | None, reason_of: Any) -> None:
        for index in np.flatnonzero(mask & ~bad_mask).tolist():
            problems[index] = (column, reason_of(index))
        bad_mask[mask] = True

    # tags
    tag_arrays: dict[str, pa.Array] = {}
    for tag in spec.tags:
        values = pc.fill_null(_trimmed(raw.columns[mapping[tag]]), "")  # Parquet's NULL too
        empty = _bool(pc.equal(values, ""))
        if tag in spec.optional_tags:
            values = pc.if_else(pa.array(empty), pa.scalar(None, pa.string()), values)
        else:
            flag(empty, tag, lambda _i: "empty value (a tag is required)")
        # refused here, as a bad row, not by the encoder after the run has deleted what it replaces
        unstorable = _bool(pc.match_substring_regex(values, BAD_TAG_VALUE))
        if unstorable.any():
            texts = values.to_pylist()
            flag(unstorable, tag, lambda i, t=texts: f"{t[i]!r} {unstorable_reason(t[i])}")
        tag_arrays[tag] = values

    # the numbers' convention (a pt-BR file also writes its dates day first)
    decimal = spec.raw_decimal
    numeric_text = [
        raw.columns[mapping[f.name]]
        for f in spec.fields
        if f.name in mapping
        and f.type in (MeasureType.DOUBLE, MeasureType.BIGINT)
        and not pa.types.is_floating(raw.columns[mapping[f.name]].type)
        and not pa.types.is_integer(raw.columns[mapping[f.name]].type)
    ]
    convention = _comma_decimals(numeric_text) if decimal == "." else False
    if convention:
        decimal = ","
        result.notes.append("numbers written '12.345,67' (decimal comma, '.' between thousands)")
    elif convention is None:
        result.notes.append(
            "numbers written both with a decimal point and with a decimal comma: read with the "
            "point (ONS's); those with a comma are bad rows"
        )
    # time
    time_name = spec.raw_time_column or ""
    time_column = raw.columns[mapping[time_name]]
    aware = pa.types.is_timestamp(time_column.type) and time_column.type.tz is not None
    if aware:
        # instants nanoseconds cannot hold (a Parquet column in µs of year 2300): bad rows, not
        # a failed cast naming no row
        beyond = ~ons_time.within_range(time_column)
        if beyond.any():
            shown_beyond = pc.cast(time_column, pa.string()).to_pylist()
            flag(beyond, time_name, lambda i: f"{shown_beyond[i]!r} {ons_time.BEYOND_RANGE}")
            time_column = pc.if_else(
                pa.array(beyond), pa.scalar(None, time_column.type), time_column
            )
    if aware and spec.grain >= timedelta(days=1) and _utc_midnights(time_column):
        # a daily dataset's dates written as UTC-midnight instants (pandas, Spark): the dates
        # they name, not the evening before in Brasília
        utc_clock = pc.cast(pc.cast(time_column, ons_time.UTC_NS), pa.int64())
        time_column = pc.cast(pc.cast(utc_clock, pa.timestamp("ns")), pa.date32())
        aware = False
        result.notes.append("dates written as UTC-midnight timestamps: read as those dates")
    fraction = far = None
    if aware:
        utc_all = pc.cast(time_column, ons_time.UTC_NS)
        time_ok = _bool(pc.is_valid(utc_all))
        local_text = written_times = None
        # ONS times are whole seconds: 12:59:59.999 is refused, never stored beside 13:00
        whole = pc.cast(pc.cast(utc_all, pa.timestamp("s", "UTC"), safe=False), ons_time.UTC_NS)
        fraction = _bool(pc.not_equal(whole, utc_all)) & time_ok
    else:
        written_times = _time_strings(time_column)
        local_text, forms = _clock_text(written_times, day_first=bool(convention))
        result.notes += forms
        end_labels = pc.any(pc.match_substring_regex(local_text, r"\s24:00(:00)?$")).as_py()
        if end_labels and not pc.any(pc.match_substring_regex(local_text, r"\s00:00")).as_py():
            raise NormalizeError(
                f"{source}: column {time_name!r} has times at 24:00: the file labels each "
                "interval by its end (01:00 … 24:00), ONS by its start (00:00 … 23:00); read as "
                "they are, every row would be one step late. Label the rows by their start"
            )
        # calendar-exact (no 2019-02-29) and within the years int64 nanoseconds hold
        checked = ons_time.check_local(local_text)
        time_ok = checked.representable
        far = checked.valid & ~checked.representable
    # a bad time is quoted as written ("03/13/2024 05:00"), not as rewritten
    time_texts = written_times.to_pylist() if local_text is not None and not time_ok.all() else None
    if far is not None and far.any():
        flag(far, time_name, lambda i: f"{time_texts[i]!r} {ons_time.BEYOND_RANGE}")
    flag(
        ~time_ok,
        time_name,
        lambda i: (
            f"{time_texts[i]!r} is not a local time like 'YYYY-MM-DD HH:MM:SS' or 'YYYY-MM-DD'"
            if time_texts is not None and time_texts[i]
            else "missing time"
        ),
    )
    if fraction is not None and fraction.any():
        shown = pc.cast(time_column, pa.string()).to_pylist()
        flag(
            fraction,
            time_name,
            lambda i: f"{shown[i]!r} has a fraction of a second (ONS times are whole seconds)",
        )
        time_ok &= ~fraction

    field_arrays: dict[str, pa.Array] = {}
    for f in spec.fields:
        if f.name not in mapping:
            field_arrays[f.name] = pa.nulls(n, f.type.arrow_type)
            continue
        column = raw.columns[mapping[f.name]]
        values, bad, reason = _parse_field(column, f.type, decimal)
        if bad.any():
            shown = _trimmed(column).to_pylist() if not pa.types.is_floating(column.type) else None
            flag(
                bad,
                f.name,
                lambda i, shown=shown, reason=reason: (
                    f"{reason}: {shown[i]!r}" if shown is not None else str(reason)
                ),
            )
        field_arrays[f.name] = values

    has_value = np.zeros(n, bool)
    nonzero = np.zeros(n, bool)
    for f in spec.fields:
        valid = _bool(pc.is_valid(field_arrays[f.name]))
        has_value |= valid
        if f.type in (MeasureType.DOUBLE, MeasureType.BIGINT):
            nonzero |= valid & _bool(pc.not_equal(field_arrays[f.name], 0))
        else:
            nonzero |= valid

    # local → UTC for the rows whose time parsed
    utc = np.zeros(n, np.int64)
    nonexistent = np.zeros(n, bool)
    ambiguous = np.zeros(n, bool)
    parsed_rows = np.flatnonzero(time_ok)
    if aware:
        utc[parsed_rows] = pc.cast(utc_all, pa.int64()).to_numpy(zero_copy_only=False)[parsed_rows]
    elif parsed_rows.size:
        assert local_text is not None
        daily = spec.grain >= timedelta(days=1)
        local = ons_time.parse_local(local_text.take(pa.array(parsed_rows)), daily=daily)
        utc[parsed_rows] = pc.fill_null(pc.cast(local.utc, pa.int64()), 0).to_numpy(
            zero_copy_only=False
        )
        nonexistent[parsed_rows] = local.nonexistent
        ambiguous[parsed_rows] = local.ambiguous

    # coverage: the local days of every row with a valid time
    if aware:
        local_days = ons_time.local_dates(pa.array(utc[parsed_rows], ons_time.UTC_NS))
        covered = sorted({date.fromisoformat(str(d)) for d in np.unique(local_days)})
    else:
        assert local_text is not None
        day_text = pc.utf8_slice_codeunits(local_text.take(pa.array(parsed_rows)), 0, 10)
        covered = sorted(date.fromisoformat(d) for d in pc.unique(day_text).to_pylist())
    result.coverage = coverage_by_utc_day(covered)

    # the DST-start hour: dropped when empty or zero, bad when it carries a value
    dst_with_value = nonexistent & nonzero
    flag(
        dst_with_value,
        time_name,
        lambda i: (
            "local time does not exist (DST start: the clock jumped this hour) "
            "but the row carries values"
        ),
    )
    dst_drop = nonexistent & ~dst_with_value & time_ok

    series_codes = _codes(tag_arrays, spec.tags)
    # a series is what its key tags name: the same code and time under another spelling of a
    # descriptive tag (SUDESTE / Sudeste) is the same point written twice
    identity_codes = (
        series_codes if spec.identity_tags == spec.tags else _codes(tag_arrays, spec.identity_tags)
    )

    # the fall-back hour written twice: second occurrence = one hour later; every row whose
    # time parsed takes its place in the count (a bad first row is still the first)
    candidates = ambiguous
    if candidates.any():
        order, first, rank = _groups(np.flatnonzero(candidates), identity_codes, utc)
        second, of = order[rank == 1], first[rank == 1]
        # a second occurrence follows its first with no other hour of its series between them
        # (earlier or later); with one, the row is the file repeated (appended to itself)
        after = time_ok & ~ambiguous
        follows = np.array(
            [
                not (after[i + 1 : j] & (identity_codes[i + 1 : j] == identity_codes[j])).any()
                for i, j in zip(of.tolist(), second.tolist(), strict=True)
            ],
            bool,
        )
        second = second[follows]
        if second.size:
            shifted = utc[second] + 3600 * ons_time.NS_PER_SECOND
            same_clock = ons_time.utc_ns_to_local_ns(shifted) == ons_time.utc_ns_to_local_ns(
                utc[second]
            )
            utc[second[same_clock]] = shifted[same_clock]
            result.second_occurrences = int(same_clock.sum())

    # duplicates of series+time among the remaining rows with values: the first one wins; a row
    # repeated with the same series, time and values (a file appended twice) says nothing new
    alive = np.flatnonzero(time_ok & ~nonexistent & ~bad_mask & has_value)
    repeated = np.zeros(n, bool)
    if alive.size > 1:
        order, first, rank = _groups(alive, identity_codes, utc)
        later, earliest = order[rank > 0], first[rank > 0]
        same = series_codes[later] == series_codes[earliest]
        for name in spec.field_names:
            a = field_arrays[name].take(pa.array(later))
            b = field_arrays[name].take(pa.array(earliest))
            equal = pc.or_kleene(pc.equal(a, b), pc.and_(pc.is_null(a), pc.is_null(b)))
            same &= _bool(equal)
        repeated[later[same]] = True
        result.duplicates_dropped = int(same.sum())
        duplicate = np.zeros(n, bool)
        duplicate[later[~same]] = True
        first_row = dict(zip(later.tolist(), earliest.tolist(), strict=True))
        same = "series" if spec.identity_tags == spec.tags else ", ".join(spec.identity_tags)
        flag(
            duplicate,
            None,
            lambda i: f"duplicate of row {int(raw.rows[first_row[i]])} (same {same} and time)",
        )

    dst_drop &= ~bad_mask
    empty = ~bad_mask & ~dst_drop & ~has_value
    good = ~bad_mask & ~dst_drop & has_value & ~repeated
    result.dropped_dst = int(dst_drop.sum())
    result.dropped_empty = int(empty.sum())

    # bad rows: structural ones from the reader, then per-cell ones, in file order
    bad_rows = [BadRow(source, *entry) for entry in raw.bad]
    if problems:
        indices = np.array(sorted(problems), dtype=np.int64)
        texts = raw.texts(indices)
        for index, text in zip(indices.tolist(), texts, strict=True):
            column, reason = problems[index]
            bad_rows.append(BadRow(source, int(raw.rows[index]), column, reason, text))
    result.bad_rows = sorted(bad_rows, key=lambda b: b.row)

    # what the file mentions: every row whose series and time parsed (good, empty or bad)
    mentioned = time_ok & ~nonexistent
    for tag in spec.tags:
        if tag not in spec.optional_tags:
            mentioned &= ~_bool(pc.equal(tag_arrays[tag], ""))
    # series+time of bad rows whose key parsed: a correction never deletes those points
    keyed = bad_mask & mentioned
    if keyed.any():
        result.protected = frozenset(_series_times(spec, tag_arrays, utc, np.flatnonzero(keyed)))
    if empty.any():
        picked = np.flatnonzero(empty & mentioned)
        result.empty = frozenset(_series_times(spec, tag_arrays, utc, picked))
    unreadable = [entry[3] for entry in raw.bad]
    unkeyed = np.flatnonzero(bad_mask & ~mentioned)
    if unkeyed.size:
        unreadable += raw.texts(unkeyed)
    result.whole, result.series_days = _whole_series_days(
        spec, tag_arrays, series_codes, utc, np.flatnonzero(mentioned), unreadable
    )

    # canonical rows, split per UTC day
    keep = pa.array(np.flatnonzero(good))
    arrays = [pa.array(utc, ons_time.UTC_NS).take(keep)]
    arrays += [tag_arrays[t].take(keep) for t in spec.tags]
    arrays += [field_arrays[f].take(keep) for f in spec.field_names]
    canonical = pa.Table.from_arrays(arrays, schema=spec.arrow_schema())
    result.days = split_by_utc_day(canonical, spec, source)


def _series_times(
    spec: TableSpec, tag_arrays: Mapping[str, pa.Array], utc: np.ndarray, rows: np.ndarray
) -> Iterable[SeriesTime]:
    picked = pa.array(rows)
    tag_values = [pc.fill_null(tag_arrays[t].take(picked), "").to_pylist() for t in spec.tags]
    return zip(zip(*tag_values, strict=True), utc[rows].tolist(), strict=True)


def clock_slots(utc_ns: np.ndarray, grain: timedelta) -> tuple[np.ndarray, np.ndarray]:
    """(local day as days since 1970-01-01, local clock slot of that day) of UTC instants.

    The slot is the local time of day divided by the grain (0 for daily data), so the repeated
    fall-back hour and its first occurrence share a slot, and a 00:00:01 daily row is slot 0.
    """
    local = ons_time.utc_ns_to_local_ns(np.asarray(utc_ns, dtype=np.int64))
    step = min(int(grain.total_seconds()) * ons_time.NS_PER_SECOND, _NS_PER_DAY)
    return np.floor_divide(local, _NS_PER_DAY), np.mod(local, _NS_PER_DAY) // step


def slots_per_day(day: date, grain: timedelta) -> int:
    """How many local clock slots ``day`` has at ``grain`` (23 hours on the DST-start day)."""
    grid = ons_time.local_grid_utc_ns(day, min(grain, timedelta(days=1)))
    days, slots = clock_slots(grid, grain)
    return int(np.unique(slots[days == (day - date(1970, 1, 1)).days]).size)


_DATE_IN_TEXT = r"(\d{4}-\d{2}-\d{2})"


def _whole_series_days(
    spec: TableSpec,
    tag_arrays: Mapping[str, pa.Array],
    series_codes: np.ndarray,
    utc: np.ndarray,
    rows: np.ndarray,
    unreadable: list[str],
) -> tuple[frozenset[SeriesDay], int]:
    """The (series, local day) pairs with a row at every clock slot; and how many pairs have rows.

    ``unreadable``: texts of bad rows whose series or time did not parse; the local days they name
    have no whole series (none at all when one of them names no date).
    """
    if rows.size == 0:
        return frozenset(), 0
    days, slots = clock_slots(utc[rows], spec.grain)
    codes = series_codes[rows]
    # (series, day, slot) packed in one int64: distinct cells, then cells per (series, day)
    first_day = int(days.min())
    n_days = int(days.max()) - first_day + 1
    n_slots = int(slots.max()) + 1
    pair = codes * n_days + (days - first_day)
    cells = np.unique(pair * n_slots + slots)
    packed, counts = np.unique(cells // n_slots, return_counts=True)
    pairs = np.stack([packed // n_days, packed % n_days + first_day])
    blocked: set[int] = set()
    for text in unreadable:
        named = [
            (date.fromisoformat(d) - date(1970, 1, 1)).days
            for d in re.findall(_DATE_IN_TEXT, text)
            if _is_date(d)
        ]
        if not named:
            return frozenset(), int(pairs.shape[1])
        blocked.update(named)
    needed = {
        int(d): slots_per_day(date(1970, 1, 1) + timedelta(days=int(d)), spec.grain)
        for d in np.unique(pairs[1]).tolist()
    }
    complete = [
        i
        for i, (d, count) in enumerate(zip(pairs[1].tolist(), counts.tolist(), strict=True))
        if d not in blocked and count == needed[d]
    ]
    if not complete:
        return frozenset(), int(pairs.shape[1])
    # one representative row per series gives its tag values
    first_row: dict[int, int] = {}
    for code, row in zip(codes.tolist(), rows.tolist(), strict=True):
        first_row.setdefault(code, row)
    representatives = np.array(list(first_row.values()), dtype=np.int64)
    series = (key for key, _ in _series_times(spec, tag_arrays, utc, representatives))
    keys = dict(zip(first_row, series, strict=True))
    whole = frozenset(
        (keys[int(pairs[0][i])], date(1970, 1, 1) + timedelta(days=int(pairs[1][i])))
        for i in complete
    )
    return whole, int(pairs.shape[1])


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _groups(
    rows: np.ndarray, series_codes: np.ndarray, utc: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows ordered by (series, time, row); for each, the first row of its group and its rank."""
    order = rows[np.lexsort((rows, utc[rows], series_codes[rows]))]
    starts = np.ones(order.size, bool)
    starts[1:] = (series_codes[order][1:] != series_codes[order][:-1]) | (
        utc[order][1:] != utc[order][:-1]
    )
    group = np.cumsum(starts) - 1
    start_positions = np.flatnonzero(starts)
    rank = np.arange(order.size) - start_positions[group]
    return order, order[start_positions][group], rank


def coverage_by_utc_day(local_days: Iterable[date]) -> dict[date, tuple[Interval, ...]]:
    """UTC intervals of the given local (Sao Paulo) days, merged and cut at UTC midnights."""
    intervals: list[list[int]] = []
    for day in sorted(set(local_days)):
        start, end = ons_time.local_day_bounds_utc(day)
        s, e = ons_time.to_ns(start), ons_time.to_ns(end)
        if intervals and intervals[-1][1] >= s:
            intervals[-1][1] = max(intervals[-1][1], e)
        else:
            intervals.append([s, e])
    out: dict[date, list[Interval]] = {}
    for s, e in intervals:
        cursor = s
        while cursor < e:
            day_index = cursor // _NS_PER_DAY
            boundary = (day_index + 1) * _NS_PER_DAY
            piece_end = min(e, boundary)
            utc_day = date(1970, 1, 1) + timedelta(days=int(day_index))
            out.setdefault(utc_day, []).append((cursor, piece_end))
            cursor = piece_end
    return {d: tuple(v) for d, v in sorted(out.items())}


def split_by_utc_day(canonical: pa.Table, spec: TableSpec, source: str) -> dict[date, pa.Table]:
    """Canonical rows → {UTC day: rows sorted by time then tags}, validated per partition."""
    if canonical.num_rows == 0:
        return {}
    times = pc.cast(canonical.column(TIME_COLUMN), pa.int64()).to_numpy(zero_copy_only=False)
    day_index = np.floor_divide(times, _NS_PER_DAY)
    out: dict[date, pa.Table] = {}
    for value in np.unique(day_index).tolist():
        day = date(1970, 1, 1) + timedelta(days=int(value))
        part = canonical.filter(pa.array(day_index == value))
        part = part.sort_by([(TIME_COLUMN, "ascending"), *((t, "ascending") for t in spec.tags)])
        out[day] = validate_table(
            part, spec, day_window(day), f"table {spec.name!r}, {source}, UTC day {day}"
        )
    return out


def write_local(normalized: NormalizedFile, out: Path) -> list[Path]:
    """Write the day tables as ``<out>/<table>/date=D/part-00000.parquet`` and the quarantine
    (``<out>/quarantine/<name>.json`` and ``.csv``) when there are bad rows."""
    written: list[Path] = []
    for day, table in sorted(normalized.days.items()):
        target = out / normalized.table / f"date={day.isoformat()}" / "part-00000.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, target, compression="zstd")
        written.append(target)
    if normalized.bad_rows:
        stem = Path(normalized.source).name
        folder = out / "quarantine"
        folder.mkdir(parents=True, exist_ok=True)
        for suffix, body in (
            (".json", normalized.quarantine_json()),
            (".csv", normalized.quarantine_csv()),
        ):
            target = folder / f"{stem}{suffix}"
            target.write_bytes(body)
            written.append(target)
    return written
