"""Discovery: a Timestream database's tables → a mapping file a user reviews, then loads with
``ONS_MAPPING_EXTRA``.

What each table is asked (two metadata queries and one query over the sample window):

* ``DESCRIBE``: the dimensions, the ``measure_name`` column, the measure columns — ``MULTI``
  attributes with their types, or ``measure_value::<type>`` of single-measure records;
* ``SHOW MEASURES``: every measure name with its data type (``multi`` for multi-measure records)
  and the dimensions its records carry;
* one sampled count over a window (default: the 7 days before today, UTC): rows, distinct
  timestamps, distinct series, and per dimension its distinct values and non-NULL rows.

How the answers become a table entry:

* dimensions → tags; a dimension some measure's records lack, or NULL in the sample, → an
  optional tag;
* multi-measure records of one name → ``layout = "multi"``, each attribute a typed field;
* single-measure records → ``layout = "single"``, each measure name a field of its type (the
  export pivots the records of one time and series into one row);
* grain: the sample window over its distinct timestamps, rounded to a usual step; series: the
  sample's distinct series;
* names InfluxDB and the mapping accept (lower case, ``_``): a renamed table keeps its Timestream
  name in ``timestream_table``, renamed columns in ``source_columns``.

Warnings (written above each entry): high-cardinality dimensions (candidates for fields),
dimensions unique per record, types that need care (BIGINT, VARCHAR, BOOLEAN, TIMESTAMP), an
empty sample (grain and series guessed), renamed names. Tables the mapping cannot express —
several multi-measure record names, multi- and single-measure records mixed, a measure name
held with several types — are written commented out, with the reason.
"""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ons_pipeline.lib.migration.timestream import (
    QueryClient,
    described_columns,
    query_rows,
    show_measures_query,
    show_tables_query,
)
from ons_pipeline.lib.ons_time import Window
from ons_pipeline.lib.schema import TIME_COLUMN, MeasureType

HIGH_CARDINALITY = 1_000  # distinct values of one dimension in the sample
UNIQUE_SHARE = 0.5  # distinct values / rows above which a dimension looks unique per record
DEFAULT_SAMPLE_DAYS = 7
_STEPS = [
    ("1s", 1), ("5s", 5), ("10s", 10), ("15s", 15), ("30s", 30), ("1m", 60), ("5m", 300),
    ("10m", 600), ("15m", 900), ("30m", 1_800), ("1h", 3_600), ("2h", 7_200), ("3h", 10_800),
    ("6h", 21_600), ("12h", 43_200), ("1d", 86_400), ("7d", 604_800),
]  # fmt: skip
_CARE = {
    MeasureType.BIGINT: "BIGINT: written as an InfluxDB integer field ('i'); sums can overflow "
    "int64 in queries",
    MeasureType.VARCHAR: "VARCHAR: a string field, which InfluxDB cannot aggregate (mean, sum); "
    "if it has few distinct values a tag may serve better",
    MeasureType.BOOLEAN: "BOOLEAN: a boolean field; count() works, numeric aggregates do not",
    MeasureType.TIMESTAMP: "TIMESTAMP: InfluxDB has no timestamp field type; written as integer "
    "nanoseconds since the epoch",
}


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def safe_name(text: str, prefix: str = "t") -> str:
    """A name the mapping and InfluxDB accept: lower case letters, digits and ``_``."""
    name = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    if not name or not name[0].isalpha():
        name = f"{prefix}_{name}".rstrip("_")
    return "time_" if name == TIME_COLUMN else name


def default_sample_window(days: int = DEFAULT_SAMPLE_DAYS, end: date | None = None) -> Window:
    """The ``days`` UTC days before ``end`` (default: today)."""
    last = end or datetime.now(UTC).date()
    stop = datetime(last.year, last.month, last.day, tzinfo=UTC)
    return Window(stop - timedelta(days=days), stop)


def sample_query(database: str, table: str, dimensions: list[str], window: Window) -> str:
    """One scan of the sample window: rows, distinct timestamps and series, and per dimension
    (by position: ``d0_values``, ``d0_present``, ...) distinct values and non-NULL rows."""
    series = " || '|' || ".join(f"coalesce({_ident(d)}, '')" for d in dimensions) or "''"
    columns = [
        'count(*) AS "rows"',
        'approx_distinct(to_nanoseconds(time)) AS "times"',
        f'approx_distinct({series}) AS "series"',
    ]
    for index, name in enumerate(dimensions):
        columns.append(f'approx_distinct({_ident(name)}) AS "d{index}_values"')
        columns.append(f'count({_ident(name)}) AS "d{index}_present"')
    return (
        f"SELECT {', '.join(columns)} FROM {_ident(database)}.{_ident(table)} "
        f"WHERE time >= from_nanoseconds({window.start_ns}) "
        f"AND time < from_nanoseconds({window.end_ns})"
    )


@dataclass(frozen=True)
class Sample:
    """What the sampled count found."""

    rows: int = 0
    times: int = 0
    series: int = 0
    values: dict[str, int] = field(default_factory=dict)  # dimension → distinct values
    present: dict[str, int] = field(default_factory=dict)  # dimension → non-NULL rows


@dataclass
class DiscoveredTable:
    """One Timestream table: its mapping entry (``None`` when it cannot be mapped), the reasons
    to review it and what the sample found."""

    table: str  # the Timestream name
    name: str  # the mapping entry's name
    entry: dict[str, Any] | None
    warnings: list[str] = field(default_factory=list)
    skipped: str | None = None
    sample: Sample = field(default_factory=Sample)

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "name": self.name,
            "entry": self.entry,
            "warnings": self.warnings,
            "skipped": self.skipped,
            "sample": {
                "rows": self.sample.rows,
                "times": self.sample.times,
                "series": self.sample.series,
                "values": self.sample.values,
                "present": self.sample.present,
            },
        }


@dataclass
class Discovery:
    """Every table of one database, and the sample window they were measured over."""

    database: str
    window: Window
    tables: list[DiscoveredTable]

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "sample_window": [self.window.start.isoformat(), self.window.end.isoformat()],
            "tables": [t.as_dict() for t in self.tables],
        }


def list_tables(client: QueryClient, database: str) -> list[str]:
    """``SHOW TABLES FROM <database>``: the table names (first column of each row)."""
    names = []
    for row in query_rows(client, show_tables_query(database)):
        values = list(row.values())
        if values and values[0]:
            names.append(str(values[0]))
    return names


def _dimension_names(value: Any) -> list[str]:
    """The dimensions of a ``SHOW MEASURES`` row: an array of rows (``dimension_name``,
    ``data_type``) as Timestream answers, or that array written as text."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                return []
    names = []
    for item in value or []:
        if isinstance(item, dict):
            name = item.get("dimension_name")
        elif isinstance(item, list | tuple) and item:
            name = item[0]
        else:
            name = None
        if name:
            names.append(str(name))
    return names


def _measures(client: QueryClient, database: str, table: str) -> list[tuple[str, str, list[str]]]:
    """``SHOW MEASURES``: (measure name, data type, dimensions) per row."""
    rows = query_rows(client, show_measures_query(database, table))
    return [
        (
            str(r.get("measure_name")),
            str(r.get("data_type") or "").lower(),
            _dimension_names(r.get("dimensions")),
        )
        for r in rows
        if r.get("measure_name") is not None
    ]


def _sample(
    client: QueryClient, database: str, table: str, dimensions: list[str], window: Window
) -> Sample:
    rows = query_rows(client, sample_query(database, table, dimensions, window))
    if not rows:
        return Sample()
    row = rows[0]

    def number(key: str) -> int:
        value = row.get(key)
        return int(value) if value not in (None, "") else 0

    return Sample(
        rows=number("rows"),
        times=number("times"),
        series=number("series"),
        values={d: number(f"d{i}_values") for i, d in enumerate(dimensions)},
        present={d: number(f"d{i}_present") for i, d in enumerate(dimensions)},
    )


def grain_of(window: Window, times: int) -> str | None:
    """The usual step nearest (in ratio) to the window over its distinct timestamps."""
    if times < 1:
        return None
    step = (window.end - window.start).total_seconds() / times
    return min(_STEPS, key=lambda s: abs(math.log(s[1] / step)))[0]


def _unique_names(sources: list[str], taken: set[str], prefix: str) -> dict[str, str]:
    """Source name → a safe, unused mapping name."""
    out: dict[str, str] = {}
    for source in sources:
        base = safe_name(source, prefix)
        name, k = base, 2
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        taken.add(name)
        out[source] = name
    return out


def discover_table(
    client: QueryClient,
    database: str,
    table: str,
    window: Window,
    *,
    taken: set[str] | None = None,
    high_cardinality: int = HIGH_CARDINALITY,
) -> DiscoveredTable:
    """One table's mapping entry and warnings (see the module docstring)."""
    taken = set() if taken is None else taken
    name = _unique_names([table], taken, "t")[table]
    found = DiscoveredTable(table=table, name=name, entry=None)
    columns = described_columns(client, database, table)
    dimensions = [c for c, _, kind in columns if kind == "DIMENSION"]
    multi = {c: t for c, t, kind in columns if kind == "MULTI"}
    measures = _measures(client, database, table)
    if not columns:
        found.skipped = "DESCRIBE returned nothing (no access, or not a table)"
        return found
    if not measures:
        found.skipped = "SHOW MEASURES returned nothing: the table holds no records"
        return found
    kinds = {kind for _, kind, _ in measures}
    types_by_name: dict[str, list[str]] = {}
    for measure, kind, _ in measures:
        types_by_name.setdefault(measure, []).append(kind)
    names = sorted({m for m, _, _ in measures})
    if "multi" in kinds and kinds != {"multi"}:
        found.skipped = (
            "multi-measure and single-measure records in one table: map each kind as its own "
            f"table by hand (measures: {', '.join(names)})"
        )
        return found
    if kinds == {"multi"} and len(names) > 1:
        found.skipped = (
            f"several multi-measure record names ({', '.join(names)}) with attributes the "
            "metadata does not tell apart: map one table per record name by hand"
        )
        return found
    mixed = sorted(m for m, kinds_of in types_by_name.items() if len(set(kinds_of)) > 1)
    if mixed:
        found.skipped = (
            f"measure(s) {mixed} held with several types "
            f"({', '.join('/'.join(types_by_name[m]) for m in mixed)}): choose one per measure"
        )
        return found

    found.sample = sample = _sample(client, database, table, dimensions, window)
    tag_names = _unique_names(dimensions, {TIME_COLUMN}, "d")
    warnings = found.warnings
    if name != table:
        warnings.append(f"table {table!r} is named {name!r} here (timestream_table keeps it)")
    entry: dict[str, Any] = {
        "description": f"Timestream table {database}.{table} (found by ons-pipeline discover)",
        "source": "timestream",
        "database": database,
    }
    if name != table:
        entry["timestream_table"] = table
    field_types: dict[str, MeasureType] = {}
    if kinds == {"multi"}:
        entry["layout"] = "multi"
        entry["measure_name"] = names[0]
        field_types = {c: _measure_type(t) for c, t in multi.items()}
    else:
        entry["layout"] = "single"
        field_types = {m: _measure_type(types_by_name[m][0]) for m in names}
    grain = grain_of(window, sample.times)
    if grain is None:
        warnings.append(
            f"no records in the sample window {window}: grain '1h' and 5 series are guesses "
            "(run discover with --sample-end on a day with data)"
        )
    entry["grain"] = grain or "1h"
    entry["series"] = max(1, sample.series) if sample.rows else 5
    entry["tags"] = [tag_names[d] for d in dimensions]
    carried = [set(dims) for _, _, dims in measures]
    optional = [
        d
        for d in dimensions
        if any(d not in dims for dims in carried if dims)
        or (sample.rows and sample.present.get(d, sample.rows) < sample.rows)
    ]
    if optional:
        entry["optional_tags"] = [tag_names[d] for d in optional]
    for d in dimensions:
        values = sample.values.get(d, 0)
        if sample.rows >= 100 and values >= UNIQUE_SHARE * sample.rows:
            warnings.append(
                f"dimension {d!r} has ~{values} distinct values in {sample.rows} sampled rows: "
                "it looks unique per record, a tag would make one series per record (map it as "
                "a VARCHAR field instead)"
            )
        elif values >= high_cardinality:
            warnings.append(
                f"dimension {d!r} has ~{values} distinct values in the sample: a high-"
                "cardinality tag (candidate for a field, unless queries filter or group by it)"
            )
    field_names = _unique_names(list(field_types), set(entry["tags"]) | {TIME_COLUMN}, "m")
    entry["fields"] = {field_names[m]: t.value for m, t in field_types.items()}
    for measure, mtype in field_types.items():
        if mtype in _CARE:
            warnings.append(f"measure {measure!r} is {_CARE[mtype]}")
    renamed = {
        **{tag_names[d]: d for d in dimensions if tag_names[d] != d},
        **{field_names[m]: m for m in field_types if field_names[m] != m},
    }
    if renamed:
        entry["source_columns"] = renamed
        warnings.append(
            "renamed to names InfluxDB and the mapping accept (source_columns keeps the "
            f"Timestream names): {', '.join(f'{v!r} → {k!r}' for k, v in renamed.items())}"
        )
    found.entry = entry
    return found


def _measure_type(text: str) -> MeasureType:
    try:
        return MeasureType(text.upper())
    except ValueError:
        return MeasureType.VARCHAR


def discover(
    client: QueryClient,
    database: str,
    *,
    tables: list[str] | None = None,
    window: Window | None = None,
    high_cardinality: int = HIGH_CARDINALITY,
) -> Discovery:
    """Every table of ``database`` (or those named), described for a mapping file."""
    window = window or default_sample_window()
    names = tables if tables is not None else list_tables(client, database)
    taken: set[str] = set()
    found = [
        discover_table(client, database, t, window, taken=taken, high_cardinality=high_cardinality)
        for t in names
    ]
    return Discovery(database, window, found)


# -- the mapping file ---------------------------------------------------------------------------

_KEY_ORDER = (
    "description", "source", "database", "timestream_table", "layout", "measure_name", "grain",
    "series", "tags", "optional_tags", "fields", "source_columns",
)  # fmt: skip


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def _comment(text: str, first: str = "# ", rest: str = "#   ") -> list[str]:
    words, lines, line = text.split(), [], first
    for word in words:
        if len(line) + len(word) > 98 and line.strip() not in ("#", first.strip()):
            lines.append(line.rstrip())
            line = rest
        line += word + " "
    lines.append(line.rstrip())
    return lines


def render_mapping(discovery: Discovery, command: str = "ons-pipeline discover") -> str:
    """The mapping file of a discovery: a header, then per table its warnings as comments and
    its entry (commented out, with the reason, when it cannot be mapped)."""
    window = discovery.window
    lines = [
        f"# Schema mapping found by `{command}` in Timestream database {discovery.database!r}",
        f"# on {datetime.now(UTC).date().isoformat()}; sample window "
        f"[{window.start.isoformat()}, {window.end.isoformat()}).",
        "# Review every WARNING, add units and descriptions, then load it with",
        "#   ONS_MAPPING_EXTRA=<this file> (it adds these tables, or replaces those of the same",
        "#   name). See README, 'Schema mapping'.",
        "",
    ]
    for table in discovery.tables:
        if table.entry is None:
            lines += _comment(f"NOT MAPPED: Timestream table {table.table!r}: {table.skipped}")
            lines.append("")
            continue
        for warning in table.warnings:
            lines += _comment(f"WARNING: {warning}")
        lines.append(f"[tables.{table.name}]")
        keys = [k for k in _KEY_ORDER if k in table.entry]
        keys += [k for k in table.entry if k not in keys]
        lines += [f"{k} = {_toml(table.entry[k])}" for k in keys]
        lines.append("")
    return "\n".join(lines)
