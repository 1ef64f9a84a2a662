"""The API's JSON schemas (pydantic): the stable v2 query and context responses, the structured
errors, and the legacy platform's exact shapes. FastAPI publishes them at ``/openapi.json``."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, AwareDatetime, BaseModel, ConfigDict, Field

# -- shared -----------------------------------------------------------------------------------


class InputLanguage(StrEnum):
    AUTO = "auto"
    QUESTION = "question"
    INFLUXQL = "influxql"
    FLUX = "flux"
    TIMESTREAM_SQL = "timestream_sql"


class TargetLanguage(StrEnum):
    INFLUXQL = "influxql"
    FLUX = "flux"


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable error code, e.g. sql_error, influx_timeout")
    message: str
    status: int = Field(description="The HTTP status of the response")
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorResponse(BaseModel):
    """Every v2 error: 400 bad query, 401 API key, 422 invalid request or untranslatable question,
    501 Flux on an engine without Flux, 502 InfluxDB failed or unreachable, 504 InfluxDB timeout,
    500 unexpected."""

    error: ErrorDetail
    query_id: str


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
    kind: str = Field(description="measure, period, subsystem, filter, combination or word")
    text: str
    reason: str


class TranslationInfo(BaseModel):
    question_language: str = Field(description="pt or en")
    complete: bool
    unmapped: list[UnmappedInfo]
    assumptions: list[str]


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


class ModelTimeRange(BaseModel):
    start: str | None
    end: str | None


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


# -- v2 query ---------------------------------------------------------------------------------


class QueryRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"query": "Qual foi a carga média do Sudeste ontem?"},
                {"query": 'SELECT mean("val_cmo") FROM "cmo_semihorario" WHERE time > now() - 1d'},
                {
                    "query": "CMO do Sul por dia em março de 2024",
                    "target": "flux",
                    "execute": False,
                },
            ]
        },
    )
    query: str = Field(
        min_length=1,
        max_length=100_000,
        validation_alias=AliasChoices("query", "question"),
        description="A question (pt-BR or en), InfluxQL, Flux or Timestream SQL ('question' is "
        "accepted as an alias of this field)",
    )
    language: InputLanguage = Field(
        InputLanguage.AUTO, description="What `query` is; auto-detected by default"
    )
    target: TargetLanguage = Field(
        TargetLanguage.INFLUXQL,
        description="For questions and SQL: run the InfluxQL rendering (every engine) or the Flux "
        "one (InfluxDB 2.x only)",
    )
    execute: bool = Field(True, description="False: translate and render only (dry run)")
    now: AwareDatetime | None = Field(
        None, description="Anchor of relative periods ('ontem', ago(7d)); default: the clock"
    )
    timezone: str | None = Field(None, description="Zone of relative periods in questions")
    max_rows: int | None = Field(None, ge=1, le=100_000)
    timeout_s: float | None = Field(None, gt=0, le=300)
    use_cache: bool = True
    strict: bool = Field(
        False,
        description="Refuse a question with any word not understood (default: only a measure, "
        "period, subsystem, filter or combination not understood refuses it)",
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
    warnings: list[str]


# -- v2 context (RAG) -------------------------------------------------------------------------


class ContextRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(
        min_length=1, max_length=1000, validation_alias=AliasChoices("question", "query")
    )
    now: AwareDatetime | None = None
    k: int = Field(3, ge=1, le=10, description="Knowledge documents to retrieve")
    max_points: int = Field(48, ge=0, le=1000, description="Points shown per time-series source")
    timeseries: bool = Field(True, description="False: knowledge base only")


class PointInfo(BaseModel):
    time: str | None
    tags: dict[str, Any]
    values: dict[str, Any]


class StatInfo(BaseModel):
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


class SeriesSummaryInfo(BaseModel):
    tags: dict[str, Any]
    rows: int
    stats: list[StatInfo]


class QueryText(BaseModel):
    language: str
    text: str


class TimeSeriesCitation(BaseModel):
    ref: int
    type: Literal["time_series"]
    purpose: Literal["question", "enrichment"]
    doc_id: str | None
    measurement: str
    table: str
    fields: list[str]
    tags: dict[str, list[str]] = Field(description="Tag filters of the query")
    group_by: list[str]
    window: str | None
    time_range: TimeRangeInfo
    query: QueryText
    model: QueryModelInfo
    columns: list[ColumnInfo]
    record_count: int = Field(description="Rows the query returned")
    points: list[PointInfo] = Field(description="The points shown to the model")
    points_selection: str
    series: list[SeriesSummaryInfo] = Field(description="Summaries over every returned row")
    elapsed_ms: float
    error: str | None


class KnowledgeCitationInfo(BaseModel):
    ref: int
    type: Literal["knowledge_base"]
    doc_id: str
    title: str
    location: str
    source: str
    excerpt: str
    relevance_score: float
    semantic_score: float
    lexical_score: float


Citation = Annotated[TimeSeriesCitation | KnowledgeCitationInfo, Field(discriminator="type")]


class AnswerInfo(BaseModel):
    text: str
    citations_used: list[int]
    confidence: float
    composer: str


class ContextTranslation(TranslationInfo):
    model: QueryModelInfo | None


class ContextResponse(BaseModel):
    query_id: str
    question: str
    language: str
    needs_timeseries: bool
    decision_reason: str
    translation: ContextTranslation | None
    context: str = Field(description="The context block for a language model, sources numbered")
    citations: list[Citation]
    answer: AnswerInfo
    retriever: str
    timings_ms: dict[str, float]


# -- health -----------------------------------------------------------------------------------


class HealthResponse(BaseModel):
    status: Literal["healthy", "degraded"]
    timestamp: int
    version: str
    influxdb: dict[str, Any]
    knowledge_base: dict[str, Any]
    cache: dict[str, Any]


# -- legacy platform (exact shapes) -----------------------------------------------------------


class LegacyQueryRequest(BaseModel):
    """``{"question": "..."}`` or ``{"query": "..."}``, 1–1000 characters."""

    question: str | None = None
    query: str | None = None


class LegacySource(BaseModel):
    id: str
    type: Literal["knowledge_base", "time_series"]
    relevance_score: float
    excerpt: str = Field(max_length=200)
    location: str
    query: str | None = Field(None, description="Time-series sources only")
    record_count: int | None = Field(None, description="Time-series sources only")


class LegacyMetadata(BaseModel):
    query_type: str
    citation_count: int
    model_used: str
    has_timeseries_context: bool
    timeseries_confidence: float


class LegacyDataPoint(BaseModel):
    timestamp: str
    measurement: str
    field: str
    value: float | int | str | bool
    tags: dict[str, Any]


class LegacyTimeSeriesData(BaseModel):
    query_type: str
    influxdb_query: str
    data_points: list[LegacyDataPoint]
    record_count: int
    processing_time_ms: float


class LegacyQueryResponse(BaseModel):
    query_id: str
    question: str
    answer: str
    confidence_score: float = Field(ge=0, le=1)
    sources: list[LegacySource]
    processing_time_ms: float
    timestamp: int = Field(description="Epoch seconds")
    metadata: LegacyMetadata
    time_series_data: LegacyTimeSeriesData | None = None


class LegacyError(BaseModel):
    error: str
    query_id: str


class LegacyHealth(BaseModel):
    status: Literal["healthy", "degraded"]
    timestamp: int
    version: str


class FieldInfo(BaseModel):
    name: str
    type: str
    unit: str


class TableInfo(BaseModel):
    table: str
    measurement: str
    description: str
    source: str
    grain: str
    tags: list[str]
    fields: list[FieldInfo]
