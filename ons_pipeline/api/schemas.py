"""The API's own JSON schemas (pydantic): the request bodies, the structured errors, health and
tables, and the legacy platform's exact shapes. The answers of the query and RAG services are
:mod:`ons_pipeline.lib.query.response` and :mod:`ons_pipeline.lib.rag.response`. FastAPI publishes
all of them at ``/openapi.json``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from ons_pipeline.lib.query.service import (
    MAX_PREVIOUS,
    MAX_QUESTION_CHARS,
    MAX_ROWS_LIMIT,
    MAX_TIMEOUT_S,
    InputLanguage,
    QueryInput,
    TargetLanguage,
)

# -- errors -----------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable error code, e.g. sql_error, influx_timeout")
    message: str
    status: int = Field(description="The HTTP status of the response")
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorResponse(BaseModel):
    """Every v2 error: 400 bad query, 401 API key, 422 invalid request or untranslatable question,
    429 rate limit, 501 Flux on an engine without Flux, 502 InfluxDB or Bedrock failed or
    unreachable, 504 InfluxDB or Bedrock timeout, 500 unexpected."""

    error: ErrorDetail
    query_id: str


V2_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in [
        (400, "Bad query: SQL/InfluxQL error, unsafe statement, InfluxDB rejected it"),
        (401, "Missing or invalid API key"),
        (429, "Too many requests for this API key (per server process): see Retry-After"),
        (
            422,
            "Invalid request, or a question not (entirely) understood: details list what was "
            "not understood (not_understood) and suggestions",
        ),
        (501, "Flux asked of an InfluxDB engine without Flux (1.x, 3.x)"),
        (502, "InfluxDB (or Bedrock) unreachable, failing or refusing the server's credentials"),
        (504, "InfluxDB (or Bedrock) did not answer in time"),
        (500, "Unexpected server error"),
    ]
}


# -- requests ---------------------------------------------------------------------------------

Question = Annotated[str, StringConstraints(min_length=1, max_length=MAX_QUESTION_CHARS)]


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
    max_rows: int | None = Field(None, ge=1, le=MAX_ROWS_LIMIT)
    timeout_s: float | None = Field(None, gt=0, le=MAX_TIMEOUT_S)
    use_cache: bool = True
    strict: bool = Field(
        False,
        description="Also refuse a question with filler words ('por favor'), which are otherwise "
        "ignored with a warning",
    )
    lenient: bool = Field(
        False,
        description="Answer a question even when some words were not understood (they are listed "
        "in warnings). Default: any word, filter, period, number or measure not understood "
        "refuses the question (422 with what was not understood and suggestions); in lenient "
        "mode a measure, period, subsystem, filter, number or combination still refuses it",
    )

    previous: list[Question] = Field(
        default_factory=list,
        max_length=MAX_PREVIOUS,
        description="For questions: the conversation's earlier questions, oldest first. A "
        "question that only names what changes ('e no Nordeste?', 'and in 2023?', 'e a "
        "mínima?') is read as the one before it with those parts replaced "
        "(translation.read_as says how)",
    )

    def to_input(self) -> QueryInput:
        """The query service's request."""
        fields = self.model_dump()
        return QueryInput(**{**fields, "previous": tuple(fields["previous"])})


class ContextRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(
        min_length=1, max_length=1000, validation_alias=AliasChoices("question", "query")
    )
    now: AwareDatetime | None = None
    k: int = Field(3, ge=1, le=10, description="Knowledge documents to retrieve")
    max_points: int = Field(48, ge=0, le=1000, description="Points shown per time-series source")
    timeseries: bool = Field(True, description="False: knowledge base only")


# -- health -----------------------------------------------------------------------------------


class HealthResponse(BaseModel):
    status: Literal["healthy", "degraded"]
    timestamp: int
    version: str
    influxdb: dict[str, Any]
    knowledge_base: dict[str, Any]
    cache: dict[str, Any]


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


LEGACY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": LegacyError,
        "description": "Missing, empty or too long question, or a query (InfluxQL, Flux, "
        "Timestream SQL) the read-only API refuses or cannot run",
    },
    401: {"model": LegacyError, "description": "Missing or invalid API key"},
    429: {"model": LegacyError, "description": "Too many requests for this API key: Retry-After"},
    500: {"model": LegacyError, "description": "Server error"},
}
