"""Time-series evidence for the RAG context: whether a question needs data, and what was used.

:func:`needs_timeseries` decides from the question and its translation: a conceptual question
("o que é EAR?", "what is the CMO?") with no period and no aggregation of its own is answered from
the knowledge base alone; a question whose translation has a model and nothing left not
understood is run. A measure, period, subsystem, filter, number or combination not understood
stops the data query (it would answer a broader question than asked), and so does any other word
not understood, except in a conceptual question, whose explaining words are no part of the data.

:func:`build_evidence` turns a query result into an :class:`Evidence`: the exact query text and
language, the measurement and tag filters, the exact half-open time range, per-series summaries
over *all* returned rows (count, mean, min/max with their times, first, last) and the points shown
(all of them, or a stated selection when there are more than ``max_points``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ons_pipeline.lib.query.execute import QueryResult
from ons_pipeline.lib.query.model import QueryModel, format_time
from ons_pipeline.lib.query.nl import STRUCTURAL_GAPS, Translation
from ons_pipeline.lib.rag.index import fold

ModelExecutor = Callable[[QueryModel], QueryResult]
"""Runs a model (InfluxQL on InfluxDB, with whatever cache the caller has)."""

_CONCEPTUAL = re.compile(
    r"\b(?:o\s+que\s+(?:e|sao|significa|quer\s+dizer)|que\s+e\s+(?:o|a)|qual\s+(?:e\s+)?a\s+"
    r"diferenca|diferenca\s+entre|defin[ai]|definicao|explique|explica|como\s+(?:funciona|e\s+"
    r"calculad|se\s+calcula)|por\s*que|para\s+que\s+serve|significado"
    r"|what\s+(?:is|are|does)|define|definition|explain|how\s+(?:does|is)\s+.*\b(?:work|"
    r"calculated|computed|defined)|difference\s+between|why|meaning\s+of)\b"
)


@dataclass(frozen=True)
class Decision:
    """Whether to run time-series queries, and why."""

    needed: bool
    reason: str


def needs_timeseries(question: str, translation: Translation | None) -> Decision:
    """See the module docstring."""
    if translation is None or translation.model is None:
        return Decision(False, "no measure of the data was recognised in the question")
    conceptual = bool(_CONCEPTUAL.search(fold(question)))
    gaps = [u for u in translation.unmapped if u.kind in STRUCTURAL_GAPS or not conceptual]
    if gaps:
        return Decision(
            False,
            "part of the question could not be mapped to the data ("
            + "; ".join(str(u) for u in gaps)
            + ")",
        )
    defaults = {a.split(":", 1)[0] for a in translation.assumptions}
    explicit_period = "no period given" not in defaults
    explicit_aggregation = "no aggregation given" not in defaults
    if conceptual and not (explicit_period or explicit_aggregation):
        return Decision(False, "a conceptual question with no period or aggregation of its own")
    return Decision(True, f"the question asks for {translation.model.table} data")


# -- evidence ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stat:
    """Summary of one value column of one series, over every returned row."""

    column: str
    unit: str
    count: int
    mean: float | None
    min: float | None
    min_time: str | None
    max: float | None
    max_time: str | None
    first: float | None
    first_time: str | None
    last: float | None
    last_time: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class SeriesSummary:
    tags: dict[str, str | None]
    rows: int
    stats: tuple[Stat, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"tags": self.tags, "rows": self.rows, "stats": [s.to_dict() for s in self.stats]}


@dataclass
class Evidence:
    """What one time-series query contributed (see the module docstring)."""

    purpose: str  # "question" or "enrichment"
    model: QueryModel
    query: str
    language: str
    columns: list[dict[str, str]]
    points: list[dict[str, Any]]
    points_total: int
    points_selection: str
    series: list[SeriesSummary]
    elapsed_ms: float
    doc_id: str | None = None
    error: str | None = None
    ref: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    answered_from: dict[str, Any] | None = None  # AnswerSource.to_dict(): raw or rollups

    @property
    def measurement(self) -> str:
        return self.model.measurement

    @property
    def table(self) -> str:
        return self.model.table

    @property
    def time_range(self) -> dict[str, Any]:
        tr = self.model.time_range
        return {
            "start": None if tr.start is None else format_time(tr.start),
            "end": None if tr.end is None else format_time(tr.end),
            "start_ns": tr.start,
            "end_ns": tr.end,
            "closed": "[start, end)",
        }

    @property
    def filters(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for flt in self.model.tag_filters:
            key = flt.tag if str(flt.op) == "=" else f"{flt.tag} {flt.op}"
            out.setdefault(key, []).extend(flt.values)
        return out

    @property
    def fields(self) -> list[str]:
        return self.model.fields_used()

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "type": "time_series",
            "purpose": self.purpose,
            "doc_id": self.doc_id,
            "measurement": self.measurement,
            "table": self.table,
            "fields": self.fields,
            "tags": self.filters,
            "group_by": list(self.model.group_tags),
            "window": None if self.model.window is None else str(self.model.window),
            "time_range": self.time_range,
            "query": {"language": self.language, "text": self.query},
            "model": self.model.to_dict(),
            "columns": self.columns,
            "record_count": self.points_total,
            "points": self.points,
            "points_selection": self.points_selection,
            "series": [s.to_dict() for s in self.series],
            "elapsed_ms": round(self.elapsed_ms, 3),
            "error": self.error,
            "answered_from": self.answered_from,
        }


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(float(value)) else None


def _time(value: Any) -> str | None:
    return format_time(value) if isinstance(value, int) else None


def _stat(column: str, unit: str, rows: list[tuple[Any, ...]], ti: int | None, vi: int) -> Stat:
    values = [(r[ti] if ti is not None else None, _number(r[vi])) for r in rows]
    present = [(t, v) for t, v in values if v is not None]
    if not present:
        return Stat(column, unit, 0, None, None, None, None, None, None, None, None, None)
    lo = min(present, key=lambda p: p[1])
    hi = max(present, key=lambda p: p[1])
    return Stat(
        column=column,
        unit=unit,
        count=len(present),
        mean=math.fsum(v for _, v in present) / len(present),
        min=lo[1],
        min_time=_time(lo[0]),
        max=hi[1],
        max_time=_time(hi[0]),
        first=present[0][1],
        first_time=_time(present[0][0]),
        last=present[-1][1],
        last_time=_time(present[-1][0]),
    )


def _select_points(total: int, limit: int) -> tuple[list[int], str]:
    if total <= limit:
        return list(range(total)), "all"
    if limit <= 0:
        return [], f"none of {total} (see the series summaries)"
    step = (total - 1) / (limit - 1) if limit > 1 else 0
    picks = sorted({round(i * step) for i in range(limit)})
    return picks, f"{len(picks)} of {total}, evenly spaced (first and last included)"


def build_evidence(
    result: QueryResult,
    purpose: str = "question",
    max_points: int = 48,
    doc_id: str | None = None,
) -> Evidence:
    """Summaries over every row of ``result`` and a bounded set of points (see module doc)."""
    cols = list(result.columns)
    time_i = next((i for i, c in enumerate(cols) if c.kind == "time"), None)
    tag_is = [i for i, c in enumerate(cols) if c.kind == "tag"]
    val_is = [i for i, c in enumerate(cols) if c.kind == "value"]
    groups: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    for row in result.rows:
        groups.setdefault(tuple(row[i] for i in tag_is), []).append(row)
    series = []
    for key, rows in groups.items():
        tags = {cols[i].name: v for i, v in zip(tag_is, key, strict=True)}
        stats = tuple(_stat(cols[i].name, cols[i].unit, rows, time_i, i) for i in val_is)
        series.append(SeriesSummary(tags, len(rows), stats))
    picks, selection = _select_points(len(result.rows), max_points)
    points = []
    for index in picks:
        row = result.rows[index]
        points.append(
            {
                "time": _time(row[time_i]) if time_i is not None else None,
                "tags": {cols[i].name: row[i] for i in tag_is},
                "values": {cols[i].name: row[i] for i in val_is},
            }
        )
    return Evidence(
        purpose=purpose,
        model=result.model,
        query=result.influxql,
        language="influxql",
        columns=[{"name": c.name, "kind": c.kind, "unit": c.unit} for c in cols],
        points=points,
        points_total=len(result.rows),
        points_selection=selection,
        series=series,
        elapsed_ms=result.elapsed_ms,
        doc_id=doc_id,
        answered_from=None if result.source is None else result.source.to_dict(),
    )


def failed_evidence(model: QueryModel, query: str, error: str, purpose: str) -> Evidence:
    """An evidence entry for a query that could not run (cited as such, with no numbers)."""
    return Evidence(
        purpose=purpose,
        model=model,
        query=query,
        language="influxql",
        columns=[],
        points=[],
        points_total=0,
        points_selection="none (the query failed)",
        series=[],
        elapsed_ms=0.0,
        error=error,
    )
