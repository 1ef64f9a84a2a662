"""A query-language answer (InfluxQL, Flux or Timestream SQL sent to the legacy ``POST /query``)
in the replaced platform's terms: its data points ``{timestamp, measurement, field, value, tags}``,
its ``query_type`` and an answer text summarising the rows (DESIGN.md §7).

Pure: it reads a :class:`~ons_pipeline.lib.query.response.QueryResponse`, runs nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ons_pipeline.lib import schema
from ons_pipeline.lib.query import detect
from ons_pipeline.lib.query.response import QueryResponse

LANGUAGE_NAMES = {"influxql": "InfluxQL", "flux": "Flux", "timestream_sql": "Timestream SQL"}
_FIELD_OF = re.compile(r"^(?:[a-z_]+\()?([A-Za-z_]\w*)\)?$")


@dataclass(frozen=True)
class LegacyPoint:
    timestamp: str  # RFC 3339, "" when the row has no time
    measurement: str
    field: str
    value: float | int | str | bool
    tags: dict[str, Any]


@dataclass(frozen=True)
class LegacyData:
    """What the legacy body says of one executed query."""

    query_type: str  # "aggregation", "top_n", "raw" (a model), "as_written" (InfluxQL/Flux)
    query: str  # the text that ran on InfluxDB
    measurement: str
    points: list[LegacyPoint]
    record_count: int
    answer: str


_FROM = re.compile(
    r'\bFROM\s+(/|(?:(?:"[^"]+"|[A-Za-z_]\w*)\s*\.\s*\.?\s*)*("[^"]+"|[A-Za-z_]\w*))', re.I
)


def _names_a_table(text: str) -> bool:
    """Whether a ``FROM`` of ``text`` reads a /regex/, a quoted name or a table or measurement
    the schema maps — what a query does and a question ("select the peak from the list") not."""
    names = {n.lower() for n in schema.tables()} | {
        s.measurement.lower() for s in schema.tables().values()
    }
    for found in _FROM.finditer(text):
        regex, last = found.group(1), found.group(2)
        if regex == "/" or (last or "").startswith('"') or (last or "").lower() in names:
            return True
    return False


_STATEMENT = re.compile(
    r"^(?:DROP|DELETE|CREATE|ALTER|GRANT|REVOKE|KILL|INSERT|UPDATE)\s+(?:DATABASE|MEASUREMENT|"
    r"SERIES|SHARD|RETENTION|CONTINUOUS|SUBSCRIPTION|USER|QUERY|ALL|FROM|TABLE|INTO|ON)\b",
    re.I,
)


def query_language(text: str) -> str | None:
    """The query language ``text`` is written in (``influxql``, ``flux``, ``timestream_sql``),
    or ``None`` for a question. Stricter than :func:`detect.detect_language`, since the legacy
    route takes questions first: an InfluxQL ``SHOW`` must be one the read-only API runs (``show
    me the load`` is a question), and a ``SELECT`` must read a table (quoted, a regex, or one the
    schema maps). A write or admin statement (``DROP MEASUREMENT …``) is InfluxQL, which the
    read-only API refuses."""
    language, _ = detect.detect_language(text)
    if _STATEMENT.match(detect.strip_leading(text)):
        return detect.INFLUXQL  # a write or admin statement: for the read-only guard to refuse
    if language == detect.QUESTION:
        return None
    if language == detect.FLUX:
        return language
    head = detect.strip_leading(text)
    first = head.split(None, 1)[0].upper() if head.split() else ""
    if first in ("SHOW", "EXPLAIN"):
        statement = head if first == "SHOW" else detect.strip_leading(head[len("EXPLAIN") :])
        shows = detect.is_readonly_show(statement)
        return language if shows or (first == "EXPLAIN" and _names_a_table(head)) else None
    return language if _names_a_table(text) else None


def _field_names(resp: QueryResponse) -> dict[str, str]:
    """Column → the field it reads (``_col0`` of ``avg(val_cmo)`` is ``val_cmo``)."""
    if resp.model is None:
        return {}
    out = {}
    for item in resp.model.select:
        match = _FIELD_OF.match(item.expr)
        out[item.as_] = match.group(1) if match else item.as_
    return out


def _query_type(resp: QueryResponse) -> str:
    if resp.model is None:
        return "as_written"
    if resp.model.top is not None:
        return "top_n"
    aggregated = resp.model.window is not None or any("(" in s.expr for s in resp.model.select)
    return "aggregation" if aggregated else "raw"


def _measurement(resp: QueryResponse) -> str:
    if resp.model is not None:
        return resp.model.measurement
    if resp.answered_from is not None and resp.answered_from.measurements:
        return ",".join(resp.answered_from.measurements)
    return ""


def _number(value: Any, unit: str) -> str:
    text = f"{value:,.2f}" if isinstance(value, float) else str(value)
    return f"{text} {unit}".rstrip()


def legacy_data(resp: QueryResponse, max_points: int = 1000, max_lines: int = 10) -> LegacyData:
    """``resp`` (executed) as the legacy body's time-series data and answer text."""
    names = _field_names(resp)
    measurement = _measurement(resp)
    cols = resp.columns
    time_i = next((i for i, c in enumerate(cols) if c.kind == "time"), None)
    tag_i = [i for i, c in enumerate(cols) if c.kind == "tag"]
    value_i = [i for i, c in enumerate(cols) if c.kind == "value"]
    points: list[LegacyPoint] = []
    lines: list[str] = []
    for row in resp.rows:
        tags = {cols[i].name: row[i] for i in tag_i if row[i] is not None}
        stamp = row[time_i] if time_i is not None and row[time_i] is not None else ""
        rendered = []
        for i in value_i:
            value = row[i]
            if value is None:
                continue
            field = names.get(cols[i].name, cols[i].name)
            if len(points) < max_points:
                points.append(LegacyPoint(str(stamp), measurement, field, value, tags))
            rendered.append(f"{field} = {_number(value, cols[i].unit)}")
        if len(lines) < max_lines:
            head = " ".join([str(stamp)] if stamp else [])
            head = " ".join([head, *(f"{k}={v}" for k, v in tags.items())]).strip()
            lines.append("• " + (f"{head}: " if head else "") + (", ".join(rendered) or "no value"))
    language = LANGUAGE_NAMES.get(resp.input.language, resp.input.language)
    ran = LANGUAGE_NAMES.get(resp.query.language, resp.query.language)
    count = resp.row_count
    text = f"{language} query run on InfluxDB"
    text += f" (as {ran})" if ran != language else ""
    text += f": {count} row{'s' if count != 1 else ''}"
    text += f" from {measurement}." if measurement else "."
    if resp.truncated:
        text += " The result was cut at this many rows."
    if count > len(lines):
        lines.append(f"… {count - len(lines)} more row(s) in time_series_data.")
    return LegacyData(
        query_type=_query_type(resp),
        query=resp.query.text,
        measurement=measurement,
        points=points,
        record_count=count,
        answer="\n".join([text, *lines]) if lines else text + " No rows matched.",
    )
