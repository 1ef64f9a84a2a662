"""The query service's answer (pydantic): :class:`QueryResponse`, printed as is by
``ons-pipeline query --format json`` and published by the API at ``POST /v2/query``; its parts
(columns with units, the query model, the translation, the time range) are shared with the RAG
context response (:mod:`ons_pipeline.lib.rag.response`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ons_pipeline.lib.query.model import QueryModel, format_time
from ons_pipeline.lib.query.nl import Translation


class TimeRangeInfo(BaseModel):
    start: str | None = Field(description="RFC 3339 UTC, inclusive (null: unbounded)")
    end: str | None = Field(description="RFC 3339 UTC, exclusive (null: unbounded)")
    start_ns: int | None
    end_ns: int | None
    closed: Literal["[start, end)"] = "[start, end)"


class ColumnInfo(BaseModel):
    name: str
    kind: Literal["time", "tag", "value"]
    unit: str = Field(
        description="Unit from the schema ('' when none or unknown); time is RFC 3339"
    )


class SeriesInfo(BaseModel):
    tags: dict[str, str | None]
    columns: list[str]
    values: list[list[Any]]


class UnmappedInfo(BaseModel):
    kind: str = Field(description="measure, period, subsystem, filter, number, combination or word")
    text: str
    reason: str
    suggestions: list[str] = Field(default_factory=list, description="What it may have meant")


class TranslationInfo(BaseModel):
    question_language: str = Field(description="pt or en")
    complete: bool
    unmapped: list[UnmappedInfo]
    assumptions: list[str]
    interpretation: str = Field(
        "", description="The interpreted question in words, in the question's language"
    )
    ignored: list[str] = Field(default_factory=list, description="Filler words ignored")
    read_as: str | None = Field(
        None,
        description="A follow-up of the request's previous questions: the whole question it "
        "was read as",
    )


class SelectItem(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    expr: str
    as_: str = Field(alias="as")


class TagFilterInfo(BaseModel):
    tag: str
    op: str
    values: list[str]


class ValueFilterInfo(BaseModel):
    field: str
    op: str
    value: float


class TopInfo(BaseModel):
    n: int
    tag: str
    bottom: bool


class OrderInfo(BaseModel):
    column: str
    desc: bool


class PeriodInfo(BaseModel):
    start: str
    end: str
    label: str


class ModelTimeRange(BaseModel):
    start: str | None
    end: str | None


class DifferenceInfo(BaseModel):
    tag: str
    minuend: str
    subtrahend: str


class WindowFilterInfo(BaseModel):
    op: str
    value: float
    count: bool


class QueryModelInfo(BaseModel):
    """The query model (``QueryModel.to_dict``): one table, its selections and options."""

    model_config = ConfigDict(populate_by_name=True)
    table: str
    measurement: str
    select: list[SelectItem]
    time_range: ModelTimeRange
    where: list[TagFilterInfo]
    value_filters: list[ValueFilterInfo]
    window: str | None
    group_by: list[str]
    fill: str
    fill_value: float | None
    timezone: str | None
    top: TopInfo | None
    order_by: list[OrderInfo]
    limit: int | None
    time_alias: str
    output_columns: list[str] | None
    periods: list[PeriodInfo] = Field(
        default_factory=list,
        description="Several time ranges: compared (rows tagged with 'period') or combined",
    )
    combine_periods: bool = False
    by_hour_of_day: bool = Field(
        default=False,
        description="A profile: one row per local hour of the day (the time_alias column, "
        "'00:00' … '23:00'), each hour combined over the days of the range",
    )
    by_day_of_week: bool = Field(
        default=False,
        description="A profile: one row per ISO weekday of the time_alias column ('1' Monday … "
        "'7' Sunday), each combined over the weeks of the range",
    )
    extreme_times: bool = Field(
        default=False,
        description="Each maximum, minimum, first or last value in its own row at the time of "
        "its point; the other aggregates in a row at the range's start",
    )
    window_start_times: bool = Field(
        default=False,
        description="A lone maximum or minimum per fixed time window at its window's start (as "
        "SQL's bin() groups it), not at the time of its point",
    )
    difference: DifferenceInfo | None = Field(
        default=None,
        description="Beside the rows of two groups of a tag, a row 'minuend − subtrahend' of "
        "their values at each time",
    )
    window_filter: WindowFilterInfo | None = Field(
        default=None,
        description="Only the time windows whose aggregate passes 'op value'; with count, one "
        "row per group whose 'windows' column counts them",
    )


class InputInfo(BaseModel):
    text: str
    language: Literal["question", "influxql", "flux", "timestream_sql"]
    detected: bool = Field(description="True when the language was auto-detected")
    reason: str


class RenderedQuery(BaseModel):
    language: Literal["influxql", "flux"]
    text: str
    executed: bool


class Renderings(BaseModel):
    influxql: str | None = None
    flux: str | None = None


class Timings(BaseModel):
    parse_ms: float
    render_ms: float
    execute_ms: float = Field(description="InfluxDB time (0 on a cache hit or a dry run)")
    total_ms: float


class CacheInfo(BaseModel):
    hit: bool
    key: str = Field(description="SHA-256 of the normalised query")
    age_s: float | None = None
    ttl_s: float


class DataRange(BaseModel):
    first: str | None
    last: str | None


class AnsweredFrom(BaseModel):
    """Which measurement answered: the table's own (``raw``), its rollups (``rollup``), or the
    query as the user wrote it (``as_written``: InfluxQL and Flux are never rewritten)."""

    kind: Literal["raw", "rollup", "as_written"]
    measurements: list[str] = Field(
        description="Measurements read, qualified by retention policy when not the default one"
    )
    reason: str = Field(description="Why this source answered (or why the rollups did not)")
    levels: list[str] = Field(default_factory=list, description="Rollup levels read: 1mo, 1d")
    buckets: dict[str, int] = Field(
        default_factory=dict, description="Rollup buckets read per level"
    )
    influxql: str | None = Field(
        None, description="The InfluxQL that ran on the rollups (query.text is the model's own)"
    )


class QueryResponse(BaseModel):
    query_id: str
    input: InputInfo
    model: QueryModelInfo | None = Field(description="Null for raw InfluxQL and Flux")
    query: RenderedQuery
    renderings: Renderings
    engine: str = Field(description="InfluxDB engine configured: 1, 2 or 3")
    columns: list[ColumnInfo]
    rows: list[list[Any]] = Field(description="Rows in column order; time as RFC 3339 UTC")
    series: list[SeriesInfo] = Field(description="The same rows grouped by their tag values")
    row_count: int
    truncated: bool
    time_range: TimeRangeInfo | None = Field(description="The range the query asked for")
    data_range: DataRange | None = Field(description="First and last time in the rows")
    timings: Timings
    cache: CacheInfo
    translation: TranslationInfo | None
    interpretation: str | None = Field(
        None,
        description="What was answered, in words and in the question's language (questions only)",
    )
    warnings: list[str]
    answered_from: AnsweredFrom | None = Field(
        None, description="The measurement that answered (null on a dry run)"
    )


def time_range_info(model: QueryModel | None) -> TimeRangeInfo | None:
    if model is None:
        return None
    tr = model.time_range
    return TimeRangeInfo(
        start=None if tr.start is None else format_time(tr.start),
        end=None if tr.end is None else format_time(tr.end),
        start_ns=tr.start,
        end_ns=tr.end,
    )


def translation_info(tr: Translation) -> TranslationInfo:
    return TranslationInfo(
        question_language=tr.language,
        complete=tr.complete,
        unmapped=[
            UnmappedInfo(kind=u.kind, text=u.text, reason=u.reason, suggestions=list(u.suggestions))
            for u in tr.unmapped
        ],
        assumptions=list(tr.assumptions),
        interpretation=tr.interpretation,
        ignored=list(tr.ignored),
        read_as=tr.read_as or None,
    )


def model_info(model: QueryModel | None) -> QueryModelInfo | None:
    return None if model is None else QueryModelInfo.model_validate(model.to_dict())
