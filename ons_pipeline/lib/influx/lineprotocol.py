"""Arrow record batches → InfluxDB line protocol, vectorised with ``pyarrow.compute``.

No Python code runs per row. Each distinct series key (escaped measurement and tag set, tags
sorted by key) is rendered once per batch: the tag columns are dictionary-encoded (the
dictionaries of dictionary-typed columns, as Parquet's ``read_dictionary`` gives them, are used as
they are; of plain string tags only the one with most distinct values is hashed, and the others
share its codes when their values follow from it, checked over the whole column), their codes
(together with the null pattern of the fields, when fields have nulls) are combined into one group
index by integer arithmetic, and the group's line prefix is rendered once.
Each line is then a sequence of Arrow string views (16 bytes each: the text inline up to 12 bytes,
else a pointer into a buffer): the group's prefix, each value, the text between values, the time.
Casting the views of a block of lines to a string array concatenates them; its value buffer *is*
the payload. Doubles with up to 4 decimals below 1e5 (up to 6 below 1e8) are written from lookup
tables straight into views, the same text Arrow's formatter writes; all other values, and times
(each run of equal times once), are rendered by Arrow's cast kernels.

Lossless rules (each checked against a real InfluxDB 1.6.7; 1.8 and 2.x parse line protocol with
the same Go ``models`` package — second-hand, not run here):

* time: integer ns since the epoch, from a timestamp column of any unit and zone (cast exactly) or
  an integer column already in ns; null or outside InfluxDB's range → :class:`LineProtocolError`.
* DOUBLE: Arrow's shortest round-trip text (``0.1``, ``1e+20``, ``-0``, ``5e-324``, ``123``), read
  back bit-identical. NaN and ±inf have no line-protocol form → :class:`LineProtocolError` naming
  the column and row (never silently dropped). float32 is widened to float64 exactly.
* BIGINT and other integers → ``123i`` (uint64 above 2^63-1 → error); TIMESTAMP fields → integer ns
  ``…i``; booleans → ``true``/``false``; strings → double-quoted with ``\\`` and ``"`` escaped.
  A literal newline inside a string field is kept as is: InfluxDB's parser accepts it inside
  quotes and reads it back unchanged (so one point may span two physical lines).
* null field values and null or empty tag values are omitted (InfluxDB rejects ``k=``; a missing
  tag reads back as empty, so null and "" are not distinguished). A row with no field value left
  is skipped and counted (``skipped_rows``).
* measurement (``,`` and space escaped), tag keys, tag values and field keys (``,``, ``=`` and space
  escaped); other bytes, unicode included, pass through as UTF-8. Tags are sorted by key.

Names and tag values InfluxDB cannot store faithfully raise :class:`LineProtocolError`: a newline
(no escape exists), a backslash at the end or before ``\\``, ``,``, ``=`` or space (InfluxDB keeps
or drops such backslashes depending on context and mis-splits lines around them), an empty key,
the key ``time``, a measurement starting with ``#`` (a comment: silently dropped) or a measurement
or field key starting with a tab or NUL (silently stripped).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ons_pipeline.lib.schema import TIME_COLUMN, TableSpec

__all__ = [
    "BAD_TAG_VALUE",
    "DEFAULT_MAX_LINES",
    "TIME_MAX_NS",
    "TIME_MIN_NS",
    "EncodedBatch",
    "LineEncoder",
    "LineProtocolError",
    "encode",
    "encode_columns",
    "escape_key",
    "escape_measurement",
    "escape_string_value",
    "iter_encoded",
    "unstorable_reason",
]

# InfluxDB's valid point times (models.MinNanoTime / MaxNanoTime).
TIME_MIN_NS = -9_223_372_036_854_775_806
TIME_MAX_NS = 9_223_372_036_854_775_806
DEFAULT_MAX_LINES = 10_000
DEFAULT_CHUNK_ROWS = 1 << 18

# A name or tag value InfluxDB cannot read back as written (see the module docstring).
_BAD_VALUE = r"\n|\\(?:[\\, =]|$)"
BAD_TAG_VALUE = _BAD_VALUE
_BAD_VALUE_RE = re.compile(_BAD_VALUE)
_RADIX_LIMIT = 1 << 62


class LineProtocolError(ValueError):
    """The data cannot be written as InfluxDB line protocol without loss."""


@dataclass(frozen=True)
class EncodedBatch:
    """Line protocol for ``lines`` points, covering input rows ``[first_row, first_row + rows)``.

    ``data`` is UTF-8 line protocol, one point per line, each ending in ``\\n`` (a string field may
    hold a literal newline, so split on points with :meth:`LineEncoder.lines`, not on bytes).
    """

    data: bytes
    lines: int
    skipped_rows: int
    first_row: int = 0

    @property
    def rows(self) -> int:
        """Input rows covered: written lines plus skipped rows."""
        return self.lines + self.skipped_rows


class _Kind(Enum):
    FLOAT = "float"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    STRING = "string"
    TIMESTAMP = "timestamp"


_SUFFIX = {_Kind.INTEGER: "i", _Kind.TIMESTAMP: "i", _Kind.STRING: '"'}
_QUOTE = {_Kind.STRING: '"'}


def _check_name(what: str, name: str) -> None:
    if not isinstance(name, str) or not name:
        raise LineProtocolError(f"{what} must be a non-empty string, got {name!r}")
    match = _BAD_VALUE_RE.search(name)
    if match:
        raise LineProtocolError(f"{what} {name!r}: {_reason(match.group(0))}")


def unstorable_reason(value: str) -> str | None:
    """Why InfluxDB cannot store ``value`` as a name or tag value faithfully (``None``: it can)."""
    match = _BAD_VALUE_RE.search(value)
    return None if match is None else _reason(match.group(0))


def _reason(bad: str) -> str:
    if bad == "\n":
        return "contains a newline, which line protocol cannot escape"
    return (
        "has a backslash at the end or before a backslash, comma, space or equals sign, "
        "which InfluxDB does not read back as written"
    )


def escape_measurement(name: str) -> str:
    """Escape a measurement name (after checking InfluxDB can store it)."""
    _check_name("measurement", name)
    if name[0] in "#\t\0":
        raise LineProtocolError(
            f"measurement {name!r} starts with {name[0]!r}: InfluxDB drops or strips it"
        )
    return name.replace(",", "\\,").replace(" ", "\\ ")


def escape_key(name: str, what: str = "key") -> str:
    """Escape a tag key, tag value or field key (after checking InfluxDB can store it)."""
    _check_name(what, name)
    return name.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def escape_string_value(value: str) -> str:
    """Quote a string field value."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class _Field:
    name: str
    key: str  # escaped
    kind: _Kind | None  # None: inferred from the batch


_KIND_TYPES: dict[_Kind, pa.DataType] = {
    _Kind.FLOAT: pa.float64(),
    _Kind.INTEGER: pa.int64(),
    _Kind.BOOLEAN: pa.bool_(),
    _Kind.STRING: pa.string(),
    _Kind.TIMESTAMP: pa.timestamp("ns"),
}
# Which declared kinds a column of a given Arrow kind may be cast to (exactly, or it raises).
_ACCEPTS: dict[_Kind, set[_Kind]] = {
    _Kind.FLOAT: {_Kind.FLOAT},
    _Kind.INTEGER: {_Kind.INTEGER, _Kind.FLOAT},
    _Kind.BOOLEAN: {_Kind.BOOLEAN},
    _Kind.STRING: {_Kind.STRING},
    _Kind.TIMESTAMP: {_Kind.TIMESTAMP},
}


def _kind_of(column: str, type_: pa.DataType) -> _Kind:
    if pa.types.is_dictionary(type_):
        type_ = type_.value_type
    if pa.types.is_floating(type_):
        return _Kind.FLOAT
    if pa.types.is_integer(type_):
        return _Kind.INTEGER
    if pa.types.is_boolean(type_):
        return _Kind.BOOLEAN
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return _Kind.STRING
    if pa.types.is_timestamp(type_):
        return _Kind.TIMESTAMP
    raise LineProtocolError(f"field column {column!r} has type {type_}, which has no field type")


def _cast(column: str, array: pa.Array, target: pa.DataType) -> pa.Array:
    if pa.types.is_timestamp(target) and pa.types.is_timestamp(array.type):
        target = pa.timestamp("ns", tz=array.type.tz)
    if array.type == target:
        return array
    try:
        return pc.cast(array, target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise LineProtocolError(
            f"column {column!r} cannot be cast to {target} exactly: {exc}"
        ) from exc


def _first(mask: pa.Array | np.ndarray) -> int:
    """Index of the first true value of a boolean mask."""
    if isinstance(mask, np.ndarray):
        return int(np.argmax(mask))
    return int(pc.index(mask, True).as_py())


class LineEncoder:
    """Encode record batches with fixed columns as points of one measurement.

    ``threads`` > 1 renders slices of each chunk in parallel (Arrow kernels release the GIL).
    """

    def __init__(
        self,
        measurement: str,
        tag_columns: Sequence[str],
        field_columns: Sequence[str],
        time_column: str = TIME_COLUMN,
        *,
        field_types: dict[str, pa.DataType] | None = None,
        threads: int = 1,
    ) -> None:
        if not field_columns:
            raise LineProtocolError("line protocol needs at least one field column")
        names = [*tag_columns, *field_columns]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise LineProtocolError(f"columns used twice as tag or field keys: {duplicates}")
        for name in names:
            if name == "time":
                raise LineProtocolError("InfluxDB rejects a tag or field key named 'time'")
        self.measurement = measurement
        self.time_column = time_column
        self.threads = max(1, threads)
        self._measurement = escape_measurement(measurement)
        # Go's bytes.Compare order = UTF-8 byte order = code point order.
        self._tags = [(t, escape_key(t, "tag key")) for t in sorted(tag_columns)]
        kinds = {name: _kind_of(name, type_) for name, type_ in (field_types or {}).items()}
        fields = []
        for name in field_columns:
            key = escape_key(name, "field key")
            if name[0] in "\t\0":
                raise LineProtocolError(f"field key {name!r} starts with a tab or NUL")
            fields.append(_Field(name, key, kinds.get(name)))
        self._fields = fields
        self.tag_columns = tuple(tag_columns)
        self.field_columns = tuple(field_columns)

    @classmethod
    def for_table(cls, spec: TableSpec, *, threads: int = 1) -> LineEncoder:
        """The encoder of a mapped table: its measurement, tags and typed fields."""
        return cls(
            spec.measurement,
            spec.tags,
            spec.field_names,
            TIME_COLUMN,
            field_types={f.name: f.type.arrow_type for f in spec.fields},
            threads=threads,
        )

    # -- public -----------------------------------------------------------------------------------
    def lines(self, batch: pa.RecordBatch | pa.Table) -> pa.StringArray:
        """One line (ending in ``\\n``) per input row; null where the row has no field value."""
        batch = _as_batch(batch)
        prepared = self._prepare(batch, 0)
        rows = len(prepared.time)
        blocks = list(self._blocks(prepared, max(rows, 1)))
        data, line_offsets = blocks[0] if blocks else (pa.py_buffer(b""), np.zeros(1, np.int64))
        lengths = np.diff(line_offsets)
        keep = prepared.keep
        if keep is not None:
            lengths, kept = np.zeros(batch.num_rows, np.int64), lengths
            lengths[keep] = kept
        offsets = np.zeros(batch.num_rows + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        if offsets[-1] < 2**31:
            offsets, type_ = offsets.astype(np.int32), pa.string()
        else:
            type_ = pa.large_string()
        validity = None if keep is None else pa.array(keep).buffers()[1]
        nulls = 0 if keep is None else int(np.sum(~keep))
        return pa.Array.from_buffers(
            type_, batch.num_rows, [validity, pa.py_buffer(offsets), data], nulls
        )

    def encode(self, data: pa.RecordBatch | pa.Table) -> EncodedBatch:
        """All rows of ``data`` as one payload."""
        parts: list[pa.Buffer] = []
        lines = rows = 0
        for start, chunk in _chunks(data, DEFAULT_CHUNK_ROWS * 4):
            for text, offsets in self._blocks(self._prepare(chunk, start), _BLOCK_LINES):
                parts.append(text)
                lines += len(offsets) - 1
            rows += chunk.num_rows
        return EncodedBatch(b"".join(parts), lines, rows - lines, 0)

    def iter_encoded(
        self,
        data: pa.RecordBatch | pa.Table | Iterable[pa.RecordBatch],
        max_lines: int = DEFAULT_MAX_LINES,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> Iterator[EncodedBatch]:
        """Payloads of at most ``max_lines`` points; memory bounded by ``chunk_rows`` rows.

        Skipped rows are counted in the batch that follows them (trailing ones in a last batch
        with ``lines == 0``), so the batches' ``first_row`` and ``rows`` tile the input.
        """
        if max_lines < 1:
            raise ValueError("max_lines must be >= 1")
        chunk_rows = max(chunk_rows // max_lines, 1) * max_lines  # full batches across chunks
        block = max(_BLOCK_LINES // max_lines, 1) * max_lines  # and across blocks
        next_row = 0  # first input row not yet reported in a batch
        total = 0
        for start, chunk in _chunks(data, chunk_rows):
            total = start + chunk.num_rows
            prepared = self._prepare(chunk, start)
            kept = None if prepared.keep is None else prepared.kept_rows()
            first = 0  # kept rows before this block
            for text, offsets in self._blocks(prepared, block):
                n = len(offsets) - 1
                bounds = [*range(0, n, max_lines), n]
                cuts = offsets[bounds].tolist()
                last = np.asarray(bounds[1:], np.int64) + first - 1  # last kept row per payload
                ends = ((last if kept is None else kept[last]) + 1 + start).tolist()
                for i, end_row in enumerate(ends):
                    lines = bounds[i + 1] - bounds[i]
                    payload = text[cuts[i] : cuts[i + 1]].to_pybytes()
                    yield EncodedBatch(payload, lines, end_row - next_row - lines, next_row)
                    next_row = end_row
                first += n
        if total > next_row:
            yield EncodedBatch(b"", 0, total - next_row, next_row)

    # -- internals --------------------------------------------------------------------------------
    def _prepare(self, batch: pa.RecordBatch, start: int) -> _Prepared:
        """Columns cast and checked, and the rows to keep."""
        missing = [
            c
            for c in (self.time_column, *self.tag_columns, *self.field_columns)
            if c not in batch.schema.names
        ]
        if missing:
            raise LineProtocolError(f"batch lacks columns {missing}; has {batch.schema.names}")
        time = batch.column(self.time_column)
        if pa.types.is_timestamp(time.type):
            time = _cast(self.time_column, time, pa.timestamp("ns", tz=time.type.tz))
            time = time.view(pa.int64())
        elif pa.types.is_integer(time.type):
            time = _cast(self.time_column, time, pa.int64())
        else:
            raise LineProtocolError(
                f"time column {self.time_column!r} has type {time.type}; expected a timestamp"
            )
        if time.null_count:
            row = start + _first(time.is_null())
            raise LineProtocolError(
                f"time column {self.time_column!r}, row {row}: null time (InfluxDB would stamp "
                "the point with its own clock)"
            )
        if len(time):
            low, high = pc.min_max(time).values()
            if low.as_py() < TIME_MIN_NS or high.as_py() > TIME_MAX_NS:
                row = _first(pc.or_(pc.less(time, TIME_MIN_NS), pc.greater(time, TIME_MAX_NS)))
                raise LineProtocolError(
                    f"time column {self.time_column!r}, row {start + row}: {time[row].as_py()} "
                    "ns is outside InfluxDB's time range"
                )
        tags = []
        for tag, _ in self._tags:
            array = batch.column(tag)
            value_type = array.type.value_type if pa.types.is_dictionary(array.type) else array.type
            if pa.types.is_null(value_type):
                array = pa.nulls(len(array), pa.string())
            elif not (pa.types.is_string(value_type) or pa.types.is_large_string(value_type)):
                raise LineProtocolError(
                    f"tag column {tag!r} has type {array.type}; expected string"
                )
            tags.append(array)
        fields = []
        kinds = []
        any_valid: pa.Array | None = None
        every_row_has_a_field = False
        for spec in self._fields:
            array = batch.column(spec.name)
            if pa.types.is_null(array.type):  # no value at all: any kind will do
                array = pa.nulls(len(array), _KIND_TYPES[spec.kind or _Kind.FLOAT])
            kind = _kind_of(spec.name, array.type)
            if spec.kind is not None:
                if spec.kind not in _ACCEPTS[kind]:
                    raise LineProtocolError(
                        f"field column {spec.name!r} has type {array.type}; "
                        f"its table spec expects {spec.kind.value}"
                    )
                kind = spec.kind
            if pa.types.is_dictionary(array.type):
                array = _cast(spec.name, array, array.type.value_type)
            array = _cast(spec.name, array, _KIND_TYPES[kind])
            if kind is _Kind.FLOAT:
                finite = pc.is_finite(array)
                if pc.all(finite).as_py() is False:  # None: all null
                    row = _first(pc.invert(finite))
                    raise LineProtocolError(
                        f"field column {spec.name!r}, row {start + row}: {array[row].as_py()} "
                        "cannot be written to InfluxDB (line protocol has no NaN or infinity)"
                    )
            fields.append(array)
            kinds.append(kind)
            if array.null_count == 0:
                every_row_has_a_field = True
            elif not every_row_has_a_field:
                valid = array.is_valid()
                any_valid = valid if any_valid is None else pc.or_(any_valid, valid)
        keep = None
        if not every_row_has_a_field and any_valid is not None and not pc.all(any_valid).as_py():
            keep = any_valid.to_numpy(zero_copy_only=False)
            mask = pa.array(keep)
            time = pc.filter(time, mask)
            tags = [pc.filter(a, mask) for a in tags]
            fields = [pc.filter(a, mask) for a in fields]
        return _Prepared(time, tags, fields, kinds, keep, batch.num_rows, start)

    def _blocks(self, prepared: _Prepared, block: int) -> Iterator[tuple[pa.Buffer, np.ndarray]]:
        """Text of the kept rows ``block`` lines at a time, and where each line starts (and the
        end). With threads, consecutive parts (whole blocks) are rendered in parallel."""
        rows = len(prepared.time)
        if self.threads == 1 or rows < _MIN_ROWS_PER_THREAD * 2:
            lines = self._render(prepared, 0, rows)
            for a in range(0, rows, block):
                yield lines.text(a, min(a + block, rows))
            return
        part = -(-rows // self.threads)
        part = -(-part // block) * block
        bounds = [*range(0, rows, part), rows]

        def render(a: int, b: int) -> list[tuple[pa.Buffer, np.ndarray]]:
            lines = self._render(prepared, a, b)
            return [lines.text(x, min(x + block, b - a)) for x in range(0, b - a, block)]

        with ThreadPoolExecutor(self.threads) as pool:
            parts = list(pool.map(render, bounds[:-1], bounds[1:]))
        for texts in parts:
            yield from texts

    def _encode_tags(self, tags: list[pa.Array]) -> list[tuple[pa.Array, np.ndarray, int | None]]:
        """Each tag's distinct values, each row's code and the other tag whose codes it shares.

        Hashing a plain string column costs ~10 ns a row. Of several plain tags, only the one
        with most distinct values is hashed; a tag whose value follows from that one's (as the
        state and type follow from the plant's id) is checked with a gather and one comparison of
        the whole column, and shares its codes.
        """
        encoded: list[tuple[pa.Array, np.ndarray, int | None] | None] = [None] * len(tags)
        lead = _lead(tags)
        if lead is not None:
            dictionary, lead_codes = _dictionary(tags[lead])
            encoded[lead] = (dictionary, lead_codes, None)
            sample = np.zeros(len(dictionary) + 1, np.intp)  # a row of each code
            sample[lead_codes] = np.arange(len(lead_codes))
            for t, array in enumerate(tags):
                if t != lead:
                    per_code = _follows(array, lead_codes, sample)
                    if per_code is not None:
                        encoded[t] = (per_code, lead_codes, lead)
        return [
            e if e is not None else (*_dictionary(tags[t]), None) for t, e in enumerate(encoded)
        ]

    @staticmethod
    def _reject_tag(
        tag: str,
        dictionary: pa.Array,
        bad: pa.Array,
        codes: np.ndarray,
        prepared: _Prepared,
        offset: int,
    ) -> None:
        """Raise for the first row holding a bad tag value (dictionaries may hold unused ones)."""
        used = np.bincount(codes, minlength=len(dictionary) + 1)[: len(dictionary)] > 0
        bad_used = bad.to_numpy(zero_copy_only=False) & used
        if not bad_used.any():
            return
        entry = _first(bad_used)
        kept_row = offset + _first(codes == entry)
        value = dictionary[entry].as_py()
        match = _BAD_VALUE_RE.search(value)
        assert match is not None
        raise LineProtocolError(
            f"tag column {tag!r}, row {prepared.start + prepared.input_row(kept_row)}: "
            f"value {value!r} {_reason(match.group(0))}"
        )

    def _render(self, prepared: _Prepared, a: int, b: int) -> _Lines:
        """Lines of kept rows ``[a, b)``."""
        rows = b - a
        if rows == 0:
            return _Lines([], [], 0)
        time = prepared.time.slice(a, rows)
        tags = [t.slice(a, rows) for t in prepared.tags]
        fields = [f.slice(a, rows) for f in prepared.fields]
        kinds = prepared.kinds
        # Group index: tag codes and field null pattern → one dense id per distinct combination.
        encoded = self._encode_tags(tags)
        codes: list[np.ndarray] = []
        cards: list[int] = []
        position: list[int] = []  # where each tag's codes are in the group table
        tag_pieces: list[pa.Array] = []
        for (tag, key), (dictionary, tag_codes, alias) in zip(self._tags, encoded, strict=True):
            bad = pc.match_substring_regex(dictionary, _BAD_VALUE)
            if pc.any(bad).as_py():
                self._reject_tag(tag, dictionary, bad, tag_codes, prepared, a)
            escaped = dictionary
            for char in ",= ":
                escaped = pc.replace_substring(escaped, char, "\\" + char)
            piece = pc.binary_join_element_wise(f",{key}=", escaped, "")
            piece = pc.if_else(pc.equal(pc.binary_length(dictionary), 0), "", piece)
            tag_pieces.append(pa.concat_arrays([piece, pa.array([""])]))
            if alias is None:
                position.append(len(codes))
                codes.append(tag_codes)
                cards.append(len(dictionary) + 1)
            else:  # the same codes as another tag: nothing to add to the group index
                position.append(-1)
        shared = [alias for _, _, alias in encoded]
        position = [p if shared[t] is None else position[shared[t]] for t, p in enumerate(position)]
        nullable: list[int] = []
        valid_rows: list[np.ndarray | None] = []
        for array in fields:
            if array.null_count:
                valid = array.is_valid().to_numpy(zero_copy_only=False)
                codes.append(valid.view(np.uint8))
                cards.append(2)
                nullable.append(len(valid_rows))
                valid_rows.append(valid)
            else:
                valid_rows.append(None)
        group, table = _group_rows(codes, cards)
        groups = len(table[0]) if table else 1
        valid = np.ones((len(fields), groups), bool)
        for offset, j in enumerate(nullable, start=len(codes) - len(nullable)):
            valid[j] = table[offset].astype(bool)
        # Literal text around the values, per group: T0 v1 T1 v2 … vn Tn time "\n", where T0 holds
        # the series key and each T holds the closing of one value and the key of the next.
        openings: list[tuple[np.ndarray, list[str]]] = []
        before = np.zeros(groups, bool)
        for j, spec in enumerate(self._fields):
            key = spec.key + "=" + _QUOTE.get(kinds[j], "")
            openings.append((np.where(valid[j], np.where(before, 2, 1), 0), ["", key, "," + key]))
            before |= valid[j]
        head: list[pa.Array | str] = [self._measurement]
        head += [pieces.take(pa.array(table[position[t]])) for t, pieces in enumerate(tag_pieces)]
        head.append(" ")
        head.append(_variants(openings[0][1], openings[0][0]))
        texts: list[pa.Array | str] = [_join(head)]
        for j in range(len(fields)):
            suffix = _SUFFIX.get(kinds[j], "")
            closing = valid[j].astype(np.int64)
            if j + 1 < len(fields):
                code_next, variants_next = openings[j + 1]
                texts.append(
                    _variants(
                        [c + o for c in ("", suffix) for o in variants_next],
                        closing * 3 + code_next,
                    )
                )
            else:
                texts.append(_variants([" ", suffix + " "], closing))
        # Every piece of every line as a string view, row after row: casting them to one string
        # array concatenates them, and its value buffer is the payload.
        pieces: list[_Piece] = []
        for j, text in enumerate(texts[:-1]):
            pieces.append(_text_piece(text, group))
            pieces.append(_value_piece(fields[j], valid_rows[j]))
        last = texts[-1]
        if not isinstance(last, str):
            pieces.append(_text_piece(last, group))
            last = ""
        pieces += _time_pieces(time, last)
        return _assemble([p for p in pieces if p.longest])


_MIN_ROWS_PER_THREAD = 16_384
_BLOCK_LINES = 1 << 14  # lines put together at a time: their views and text stay in the CPU cache


@dataclass
class _Prepared:
    """A chunk's columns, cast and checked, restricted to the rows with a field value."""

    time: pa.Array  # int64 ns
    tags: list[pa.Array]  # in the encoder's sorted tag order
    fields: list[pa.Array]
    kinds: list[_Kind]
    keep: np.ndarray | None  # None: every row kept
    rows: int
    start: int  # input row of the chunk's first row

    def kept_rows(self) -> np.ndarray:
        return np.arange(self.rows) if self.keep is None else np.flatnonzero(self.keep)

    def input_row(self, kept_row: int) -> int:
        return kept_row if self.keep is None else int(np.flatnonzero(self.keep)[kept_row])


def encode(data: pa.RecordBatch | pa.Table, spec: TableSpec, *, threads: int = 1) -> EncodedBatch:
    """All rows of ``data`` (canonical columns of ``spec``) as one line-protocol payload."""
    return LineEncoder.for_table(spec, threads=threads).encode(data)


def iter_encoded(
    data: pa.RecordBatch | pa.Table | Iterable[pa.RecordBatch],
    spec: TableSpec,
    max_lines: int = DEFAULT_MAX_LINES,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    threads: int = 1,
) -> Iterator[EncodedBatch]:
    """Payloads of at most ``max_lines`` points of ``spec``'s measurement, in input order."""
    encoder = LineEncoder.for_table(spec, threads=threads)
    return encoder.iter_encoded(data, max_lines, chunk_rows)


def encode_columns(
    data: pa.RecordBatch | pa.Table,
    measurement: str,
    tag_columns: Sequence[str],
    field_columns: Sequence[str],
    time_column: str = TIME_COLUMN,
    *,
    threads: int = 1,
) -> EncodedBatch:
    """Like :func:`encode` without a table spec: field types come from the Arrow types."""
    return LineEncoder(
        measurement, tag_columns, field_columns, time_column, threads=threads
    ).encode(data)


@dataclass
class _Lines:
    """Consecutive lines, each made of one string view per piece.

    Casting the views of some lines to a string array concatenates them: its value buffer is
    their text. Done a block of lines at a time, views and text stay in the CPU cache.
    """

    pieces: list[_Piece]
    buffers: list[pa.Buffer]  # those of the pieces' views, numbered in this order
    longest: int  # bytes of a line, at most
    # views of the first (largest) block, reused: constant pieces are written once
    scratch: tuple[pa.Buffer, np.ndarray] | None = field(default=None, repr=False)

    def text(self, a: int, b: int) -> tuple[pa.Buffer, np.ndarray]:
        """The text of lines ``[a, b)`` and where each line starts in it (and the end)."""
        k, rows = len(self.pieces), b - a
        if self.scratch is None or len(self.scratch[1]) < rows:
            memory = pa.allocate_buffer(rows * k * _VIEW.itemsize)
            self.scratch = memory, np.frombuffer(memory, _VIEW).reshape(rows, k)
            for j, piece in enumerate(self.pieces):
                if piece.render is None and piece.index is None and len(piece.views) == 1:
                    self.scratch[1][:, j] = piece.views[0]
        memory, views = self.scratch
        views = views[:rows]
        buffers = list(self.buffers)
        with np.errstate(all="ignore"):  # renderers meet anything in null slots
            for j, piece in enumerate(self.pieces):
                if piece.render is not None:
                    views[:, j] = piece.render(a, b, buffers).view(_VIEW).reshape(-1)
                elif piece.index is not None:
                    views[:, j] = piece.views[piece.index[a:b]]
                elif len(piece.views) > 1:
                    views[:, j] = piece.views[a:b]
        array = pa.Array.from_buffers(pa.string_view(), rows * k, [None, memory, *buffers])
        large = self.longest * rows >= 2**31
        text = array.cast(pa.large_string() if large else pa.string())
        offsets = np.frombuffer(text.buffers()[1], np.int64 if large else np.int32)
        offsets = offsets[: len(text) + 1 : k]  # a fresh array: no offset, starting at 0
        data = text.buffers()[2]
        return data[: int(offsets[-1])] if data is not None else pa.py_buffer(b""), offsets


# An Arrow string view: int32 length, then the first 12 bytes inline (length <= 12) or 4 bytes of
# prefix, int32 buffer index and int32 offset. Handled as two little-endian uint64 words.
_VIEW = np.dtype("V16")
_INLINE = 12
_LOW32 = np.uint64(0xFFFF_FFFF)


@dataclass
class _Piece:
    """One piece of each line, as string views over ``buffers``.

    ``views`` holds one view per row (``index`` None and as many views as rows), one for all
    rows (a single view, ``index`` None) or one per group (``index``: each row's group); or
    ``render`` writes them.
    """

    views: np.ndarray | None  # _VIEW
    buffers: list[pa.Buffer]
    longest: int  # bytes, at most; 0: the piece is empty in every line
    index: np.ndarray | None = None
    # or: the views of rows [a, b) as (b - a, 2) words, appending the buffers they need
    render: Callable[[int, int, list[pa.Buffer]], np.ndarray] | None = None


def _words(views: np.ndarray) -> np.ndarray:
    """The (n, 2) uint64 words of views."""
    return views.view(np.uint64).reshape(-1, 2)


def _array_views(array: pa.Array) -> _Piece:
    """Views of a string array (nulls: empty); its data buffers are kept, not copied."""
    views = array.cast(pa.string_view())
    buffers = views.buffers()
    words = np.frombuffer(buffers[1], np.uint64).reshape(-1, 2)[views.offset :][: len(views)]
    if views.null_count:
        words = words.copy()
        words[~views.is_valid().to_numpy(zero_copy_only=False)] = 0
    lengths = (words[:, 0] & _LOW32).astype(np.int64)
    longest = int(lengths.max()) if len(lengths) else 0
    return _Piece(words.view(_VIEW).reshape(-1), [b for b in buffers[2:] if b is not None], longest)


def _text_piece(text: pa.Array | str, group: np.ndarray | None) -> _Piece:
    """Per-group (or constant) text."""
    if isinstance(text, str):
        return _array_views(pa.array([text], pa.string()))
    piece = _array_views(text)
    if group is None:  # one group
        piece.views = piece.views[:1]
    else:
        piece.index = group
    return piece


def _value_piece(array: pa.Array, valid: np.ndarray | None) -> _Piece:
    """The text of each value (empty where null)."""
    type_ = array.type
    if pa.types.is_floating(type_):
        return _float_piece(array, valid)
    if pa.types.is_boolean(type_):
        words = np.where(
            array.fill_null(False).to_numpy(zero_copy_only=False)[:, None], _TRUE, _FALSE
        )
        if valid is not None:
            words[~valid] = 0
        return _Piece(words.view(_VIEW).reshape(-1), [], 5)
    if pa.types.is_string(type_):
        if pc.any(pc.match_substring_regex(array, r'["\\]')).as_py():
            array = pc.replace_substring(array, "\\", "\\\\")
            array = pc.replace_substring(array, '"', '\\"')
        return _array_views(array)
    if pa.types.is_timestamp(type_):
        array = array.view(pa.int64())
    return _array_views(pc.cast(array, pa.string()))


# -- doubles ---------------------------------------------------------------------------------------
# Arrow writes the shortest round-trip text without an exponent for 1e-6 <= |x| < 1e10. A double x
# with 1e-6 <= |x| < 1e8 (or 0) that is the double nearest to k / 10**d (d <= 6 decimals, so k
# has at most 14 digits) has k / 10**d as its shortest text: two decimals of at most 15 significant
# digits never round to the same double. Those are written here from lookup tables (integer part,
# decimal part); every other value is left to Arrow's formatter.
_MAX_DECIMALS = 6
_FAST_BELOW = 1e8
_LOW56 = np.uint64((1 << 56) - 1)


@functools.cache
def _integer_table() -> np.ndarray:
    """ASCII of 0…9999 (no leading zeros) from the lowest byte; its length in the top byte."""
    n = np.arange(10_000)
    length = 1 + (n >= 10) + (n >= 100) + (n >= 1000)
    word = np.zeros(len(n), np.uint64)
    for p in range(4):  # p-th character from the left
        digit = (n // 10 ** np.maximum(length - 1 - p, 0)) % 10
        word |= np.where(p < length, 48 + digit, 0).astype(np.uint64) << np.uint64(8 * p)
    return word | (length.astype(np.uint64) << np.uint64(56))


@functools.cache
def _padded_table() -> np.ndarray:
    """ASCII of 0…9999 as four digits (leading zeros) from the lowest byte."""
    n = np.arange(10_000)
    word = np.zeros(len(n), np.uint64)
    for p in range(4):
        word |= (48 + (n // 10 ** (3 - p)) % 10).astype(np.uint64) << np.uint64(8 * p)
    return word


@functools.cache
def _fraction_table(decimals: int) -> np.ndarray:
    """``.`` and the digits of f / 10**decimals for f < 10**decimals without trailing zeros
    (nothing for 0) from the lowest byte; its length in the top byte."""
    f = np.arange(10**decimals)
    word = np.full(len(f), ord("."), np.uint64)
    length = np.zeros(len(f), np.int64)
    for p in range(decimals):
        digit = (f // 10 ** (decimals - 1 - p)) % 10
        word |= (48 + digit).astype(np.uint64) << np.uint64(8 * (p + 1))
        length = np.where(digit != 0, p + 2, length)
    word &= (np.uint64(1) << (length.astype(np.uint64) << np.uint64(3))) - np.uint64(1)
    return word | (length.astype(np.uint64) << np.uint64(56))


def _decimals(values: np.ndarray, valid: np.ndarray | None) -> int | None:
    """Decimals that cover a sample of the values, or None when most need Arrow's formatter."""
    sample = values[:1024] if valid is None else values[:8192][valid[:8192]][:1024]
    if len(sample) == 0:
        return _MAX_DECIMALS
    a = np.abs(sample)
    covered = []
    for decimals in range(_MAX_DECIMALS + 1):
        scale = 10.0**decimals
        covered.append(int(np.count_nonzero((np.rint(a * scale) / scale == a) & (a < _FAST_BELOW))))
    if covered[-1] * 2 < len(sample):
        return None
    return covered.index(covered[-1])


def _float_piece(array: pa.Array, valid: np.ndarray | None) -> _Piece:
    """Shortest round-trip text of float64 values (finite where valid)."""
    values = np.frombuffer(array.buffers()[1], np.float64)[array.offset :][: len(array)]
    with np.errstate(all="ignore"):  # null slots hold anything
        decimals = _decimals(values, valid)
    if decimals is None:
        return _array_views(pc.cast(array, pa.string()))

    def render(a: int, b: int, buffers: list[pa.Buffer]) -> np.ndarray:
        block_valid = None if valid is None else valid[a:b]
        return _render_floats(values[a:b], block_valid, decimals, buffers)

    return _Piece(None, [], _LONGEST_DOUBLE, render=render)


_LONGEST_DOUBLE = len("-2.2250738585072014e-308")


def _render_floats(
    values: np.ndarray,
    valid: np.ndarray | None,
    decimals: int,
    buffers: list[pa.Buffer],
) -> np.ndarray:
    """Views (n, 2 words) of the values' text; the buffers they need appended to ``buffers``."""
    # None: no sign bit set (-0 has one); an int64 view is negative exactly where it is set
    negative = np.signbit(values) if values.view(np.int64).min() < 0 else None
    a = values if negative is None else np.abs(values)
    scale = 10.0**decimals
    k = a * scale
    np.rint(k, out=k)
    fast = k / scale == a
    if valid is not None:
        fast &= valid
    all_fast = bool(fast.all())
    largest = a.max() if all_fast else np.max(a, where=fast, initial=0.0)
    if largest >= _FAST_BELOW:
        fast &= a < _FAST_BELOW
        all_fast = False
    if not all_fast:  # keep the table indices in range
        k = np.where(fast, k, 0.0)
    if decimals <= _SMALL_DECIMALS and largest < _SMALL_BELOW:
        whole = a.astype(np.intp) if all_fast else None  # |x| < 1e5: truncation is floor
        out = _render_small(k.astype(np.intp), whole, negative, decimals)
    else:
        out = _render_large(k, negative, decimals, buffers)
    if not all_fast:
        out[~fast] = 0
        others = np.flatnonzero(~fast if valid is None else valid & ~fast)
        if len(others):
            piece = _array_views(pc.cast(pa.array(values[others]), pa.string()))
            words = _words(piece.views)
            if piece.buffers:
                words = words.copy()
                words[(words[:, 0] & _LOW32) > _INLINE, 1] += np.uint64(len(buffers))
            out[others] = words
            buffers += piece.buffers
    return out


# Values below 1e5 with at most 4 decimals: at most 11 bytes, always inline, and each view word is
# the sum of a word for the sign and integer part and one for the decimal part placed after it.
_SMALL_BELOW = 100_000
_SMALL_DECIMALS = 4


@functools.cache
def _whole_views() -> np.ndarray:
    """The two view words of the text of i (i < 1e5) and of -i (at i + 1e5); length <= 6."""
    n = np.arange(_SMALL_BELOW)
    length = 1 + sum((n >= 10**p).astype(np.int64) for p in range(1, 5))
    text = np.zeros(len(n), np.uint64)
    for p in range(5):  # p-th character from the left
        digit = (n // 10 ** np.maximum(length - 1 - p, 0)) % 10
        text |= np.where(p < length, 48 + digit, 0).astype(np.uint64) << np.uint64(8 * p)
    text = np.concatenate([text, (text << np.uint64(8)) | np.uint64(ord("-"))])
    length = np.concatenate([length, length + 1]).astype(np.uint64)
    words = np.stack([length | ((text & _LOW32) << np.uint64(32)), text >> np.uint64(32)], 1)
    return words.view(np.int64)  # the same bits, indexable and addable to int64 arrays


@functools.cache
def _fraction_views(decimals: int) -> np.ndarray:
    """The two view words of the decimal part f (``.`` and digits) placed after ``i`` bytes (i <
    8), at 8f + i."""
    table = _fraction_table(decimals)
    length = (table >> np.uint64(56))[:, None]
    text = (table & _LOW56)[:, None]
    start = np.arange(8, dtype=np.uint64)[None, :] * np.uint64(8)  # bits before the text
    word0 = length | (((text << start) & _LOW32) << np.uint64(32))
    up = np.where(start >= 32, start - np.uint64(32), np.uint64(0))
    down = np.where(start >= 32, np.uint64(0), np.uint64(32) - start)
    word1 = (text << up) >> down
    return np.stack([word0.reshape(-1), word1.reshape(-1)], 1).view(np.int64)


def _render_small(
    k: np.ndarray, whole: np.ndarray | None, negative: np.ndarray | None, decimals: int
) -> np.ndarray:
    """``k`` = |x| * 10**decimals (x < 1e5) and ``whole`` = k // 10**decimals, if known → inline
    views: the integer part's words plus the decimal part's."""
    if whole is None:
        whole = k // 10**decimals  # faster than np.divmod
    fraction = np.subtract(k, whole * 10**decimals, out=k)
    if negative is not None:
        whole += negative * _SMALL_BELOW
    words = np.take(_whole_views(), whole, axis=0)
    fraction <<= 3
    fraction |= words[:, 0] & 7  # the integer part's length
    words += np.take(_fraction_views(decimals), fraction, axis=0)  # no byte in common
    return words.view(np.uint64)


def _render_large(
    k: np.ndarray,
    negative: np.ndarray | None,
    decimals: int,
    buffers: list[pa.Buffer],
) -> np.ndarray:
    """``k`` = |x| * 10**decimals (x < 1e8) → views, in a buffer above 12 bytes."""
    u64 = np.uint64
    scale = 10**decimals
    whole = k.astype(np.intp)
    whole, fraction = np.divmod(whole, scale)
    # integer part: up to 8 digits
    if len(whole) and int(whole.max()) >= 10_000:
        high, low = np.divmod(whole, 10_000)
        top = _integer_table()[high]
        top_length = top >> u64(56)
        top &= _LOW56
        int_word = np.where(high > 0, top | (_padded_table()[low] << (top_length << u64(3))), 0)
        low_word = _integer_table()[low]
        int_length = np.where(high > 0, top_length + u64(4), low_word >> u64(56))
        int_word |= np.where(high > 0, u64(0), low_word & _LOW56)
    else:
        int_word = _integer_table()[whole]
        int_length = int_word >> u64(56)
        int_word &= _LOW56
    fraction_word = _fraction_table(decimals)[fraction]
    length = fraction_word >> u64(56)
    fraction_word &= _LOW56
    shift = int_length << u64(3)
    low_bytes = fraction_word << shift  # bytes 0-7 of the text (a shift by 64 gives 0)
    low_bytes |= int_word
    np.subtract(u64(64), shift, out=shift)
    high_bytes = fraction_word >> shift  # bytes 8-15
    length += int_length
    if negative is not None:
        sign = negative.astype(u64)
        shift = sign << u64(3)
        high_bytes = (high_bytes << shift) | (low_bytes >> (u64(64) - shift))
        low_bytes = (low_bytes << shift) | (sign * u64(ord("-")))
        length += sign
    out = np.empty((len(k), 2), u64)
    np.left_shift(low_bytes, u64(32), out=out[:, 0])
    out[:, 0] |= length
    np.right_shift(low_bytes, u64(32), out=out[:, 1])
    out[:, 1] |= high_bytes << u64(32)
    if len(length) and int(length.max()) > _INLINE:  # 13 to 16 bytes: in a buffer of their own
        rows = np.flatnonzero(length > _INLINE)
        text = np.empty((len(rows), 2), u64)
        text[:, 0] = low_bytes[rows]
        text[:, 1] = high_bytes[rows]
        out[rows, 1] = (np.arange(len(rows), dtype=u64) << u64(36)) | u64(len(buffers))
        buffers.append(pa.py_buffer(text))
    return out


def _inline(text: bytes) -> np.ndarray:
    word = len(text).to_bytes(4, "little") + text.ljust(_INLINE, b"\0")
    return np.frombuffer(word, np.uint64)


_TRUE = _inline(b"true")
_FALSE = _inline(b"false")


def _time_pieces(time: pa.Array, before: str) -> list[_Piece]:
    """``before`` (the same for all rows), the decimal ns time and the line end.

    Each run of equal times (rows sorted by time) is formatted once, together with the rest.
    """
    if len(time) >= 1024:
        values = time.to_numpy(zero_copy_only=False)
        change = values[1:] != values[:-1]
        runs = int(np.count_nonzero(change)) + 1
        if runs * 4 <= len(values):
            starts = np.flatnonzero(np.concatenate(([True], change)))
            text = pc.cast(pa.array(values[starts]), pa.string())
            piece = _array_views(pc.binary_join_element_wise(before, text, "\n", ""))
            lengths = np.diff(starts, append=len(values))
            piece.index = np.repeat(np.arange(runs), lengths)  # each row's run
            return [piece]
    return [
        _array_views(pa.array([before])),
        _array_views(pc.cast(time, pa.string())),
        _array_views(pa.array(["\n"])),
    ]


def _assemble(pieces: list[_Piece]) -> _Lines:
    """Lines made of ``pieces`` in order, their buffers numbered in that order."""
    buffers: list[pa.Buffer] = []
    for piece in pieces:
        if piece.buffers and buffers:  # renumber the piece's buffers after those before it
            assert piece.views is not None
            words = _words(piece.views).copy()
            words[(words[:, 0] & _LOW32) > _INLINE, 1] += np.uint64(len(buffers))
            piece.views = words.view(_VIEW).reshape(-1)
        buffers += piece.buffers
    return _Lines(pieces, buffers, sum(p.longest for p in pieces))


def _variants(variants: list[str], code: np.ndarray) -> pa.Array | str:
    """Per-group text chosen among ``variants`` (a plain string when the same for all)."""
    first = int(code[0])
    if (code == first).all():
        return variants[first]
    return pa.array(variants).take(pa.array(code))


def _join(pieces: list[pa.Array | str]) -> pa.Array | str:
    if all(isinstance(p, str) for p in pieces):
        return "".join(pieces)  # type: ignore[arg-type]
    return pc.binary_join_element_wise(*pieces, "")


def _is_plain(array: pa.Array) -> bool:
    return pa.types.is_string(array.type) and array.null_count == 0


def _lead(tags: list[pa.Array]) -> int | None:
    """The plain string tag with most distinct values in a sample (None: fewer than two)."""
    plain = [t for t, array in enumerate(tags) if _is_plain(array)]
    if len(plain) < 2:
        return None
    return max(plain, key=lambda t: len(pc.unique(tags[t].slice(0, 4096))))


def _follows(array: pa.Array, codes: np.ndarray, sample: np.ndarray) -> pa.Array | None:
    """The value of ``array`` at ``sample[code]`` for each code, if every row holds the value of
    its code's sample row (None otherwise): rebuilt from them, the column is the same bytes."""
    if not _is_plain(array):
        return None
    per_code = array.take(pa.array(sample))
    rebuilt = per_code.take(pa.array(codes))
    return per_code if _same_strings(array, rebuilt) else None


def _same_strings(a: pa.Array, b: pa.Array) -> bool:
    """Whether two string arrays without nulls hold the same strings."""
    ends_a = np.frombuffer(a.buffers()[1], np.int32)[a.offset : a.offset + len(a) + 1]
    ends_b = np.frombuffer(b.buffers()[1], np.int32)[b.offset : b.offset + len(b) + 1]
    start_a, stop_a, start_b, stop_b = (
        int(ends_a[0]),
        int(ends_a[-1]),
        int(ends_b[0]),
        int(ends_b[-1]),
    )
    if stop_a - start_a != stop_b - start_b:
        return False
    if not np.array_equal(ends_a - start_a, ends_b - start_b):
        return False
    data_a, data_b = a.buffers()[2], b.buffers()[2]
    if data_a is None or data_b is None:  # no bytes at all
        return stop_a == start_a
    return data_a[start_a:stop_a].equals(data_b[start_b:stop_b])


def _dictionary(array: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Distinct values (as ``string``) and each row's code; null rows get ``len(dictionary)``."""
    if not pa.types.is_dictionary(array.type):
        array = pc.dictionary_encode(array)
    dictionary = array.dictionary
    if not pa.types.is_string(dictionary.type):
        dictionary = pc.cast(dictionary, pa.string())
    if dictionary.null_count:
        dictionary = pc.fill_null(dictionary, "")
    indices = array.indices
    if indices.null_count:
        indices = pc.fill_null(indices, len(dictionary))
    return dictionary, indices.to_numpy(zero_copy_only=False)


def _group_rows(
    codes: list[np.ndarray], cards: list[int]
) -> tuple[np.ndarray | None, list[np.ndarray]]:
    """Dense group id per row (None: one group) and each input's code per group."""
    if not codes:
        return None, []
    table: list[np.ndarray] = []  # per input already densified: code per group
    key: np.ndarray | None = None
    group: np.ndarray | None = None
    radix = 1
    pending: list[int] = []
    for i, (column, card) in enumerate(zip(codes, cards, strict=True)):
        if radix * card >= _RADIX_LIMIT:
            assert key is not None
            group, uniques = _densify(key, radix)
            table = _decode(table, pending, cards, uniques)
            key, radix, pending = group.astype(np.int64), len(uniques), []
        if key is None:
            key = column.astype(np.int64)
        else:
            key *= card
            key += column
        radix *= card
        pending.append(i)
    assert key is not None
    group, uniques = _densify(key, radix)
    table = _decode(table, pending, cards, uniques)
    if len(uniques) == 1:
        return None, table
    return group, table


def _decode(
    table: list[np.ndarray], pending: list[int], cards: list[int], uniques: np.ndarray
) -> list[np.ndarray]:
    """Each input's code per group, from the groups' combined keys."""
    rest = uniques
    decoded: dict[int, np.ndarray] = {}
    for i in reversed(pending):
        rest, decoded[i] = np.divmod(rest, cards[i])
    return [column[rest] for column in table] + [decoded[i] for i in pending]


_SCRATCH = threading.local()


def _densify(key: np.ndarray, radix: int) -> tuple[np.ndarray, np.ndarray]:
    """Dense ids of keys in ``[0, radix)`` (in key order) and the distinct keys."""
    if radix > min(max(4 * len(key), 1 << 16), 1 << 20):
        encoded = pc.dictionary_encode(pa.array(key))
        group = encoded.indices.to_numpy(zero_copy_only=False).astype(np.intp)
        return group, encoded.dictionary.to_numpy()
    # Lookup tables of radix entries, kept per thread: fresh ones cost page faults.
    present, lookup = getattr(_SCRATCH, "tables", (np.zeros(0, bool), np.zeros(0, np.intp)))
    if len(present) < radix:
        present, lookup = np.zeros(radix, bool), np.empty(radix, np.intp)
        _SCRATCH.tables = (present, lookup)
    present[key] = True
    uniques = np.flatnonzero(present[:radix])
    present[uniques] = False  # all clear again
    lookup[uniques] = np.arange(len(uniques))
    return np.take(lookup, key), uniques


def _as_batch(data: pa.RecordBatch | pa.Table) -> pa.RecordBatch:
    if isinstance(data, pa.Table):
        if data.num_rows == 0:
            return pa.RecordBatch.from_pylist([], schema=data.schema)
        return _single_batch(data)
    return data


def _single_batch(table: pa.Table) -> pa.RecordBatch:
    """The table as one record batch (no copy when every column is one chunk already)."""
    if any(column.num_chunks != 1 for column in table.columns):
        table = table.combine_chunks()
    (batch,) = table.to_batches()
    return batch


def _chunks(
    data: pa.RecordBatch | pa.Table | Iterable[pa.RecordBatch], rows: int
) -> Iterator[tuple[int, pa.RecordBatch]]:
    """(first row, batch) over the input, in batches of ``rows`` rows (the last one shorter).

    Small input batches (Parquet row groups, say) are coalesced, so payloads stay full and the
    per-chunk cost is paid once per ``rows`` rows; one large batch is sliced without copying.
    """
    if isinstance(data, pa.RecordBatch):
        batches: Iterable[pa.RecordBatch] = [data]
    elif isinstance(data, pa.Table):
        batches = data.to_batches()
    else:
        batches = data
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    start = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        pending_rows += batch.num_rows
        while pending_rows >= rows:
            table = pa.Table.from_batches(pending)
            yield start, _single_batch(table.slice(0, rows))
            start += rows
            pending_rows -= rows
            pending = table.slice(rows).to_batches() if pending_rows else []
    if pending_rows:
        yield start, _single_batch(pa.Table.from_batches(pending))
