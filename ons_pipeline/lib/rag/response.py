"""The RAG context answer (pydantic): :class:`ContextResponse`, printed by ``ons-pipeline ask
--json`` and published by the API at ``POST /v2/context``. Series summaries are the
:class:`~ons_pipeline.lib.rag.timeseries.SeriesSummary` dataclasses themselves."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from ons_pipeline.lib.query.response import (
    AnsweredFrom,
    ColumnInfo,
    QueryModelInfo,
    TimeRangeInfo,
    TranslationInfo,
)
from ons_pipeline.lib.rag.timeseries import SeriesSummary


class PointInfo(BaseModel):
    time: str | None
    tags: dict[str, Any]
    values: dict[str, Any]


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
    series: list[SeriesSummary] = Field(description="Summaries over every returned row")
    elapsed_ms: float
    error: str | None
    answered_from: AnsweredFrom | None = Field(
        default=None,
        description="Which measurement answered: the table's own, or its rollups (the query "
        "text is what ran on them)",
    )


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
