"""``POST /v2/query``: a question, InfluxQL, Flux or Timestream SQL through the query service."""

from __future__ import annotations

from fastapi import APIRouter

from ons_pipeline.api.deps import Processor, QueryId
from ons_pipeline.api.schemas import V2_ERRORS, QueryRequest
from ons_pipeline.lib.query.response import QueryResponse

router = APIRouter(tags=["query"])


@router.post(
    "/v2/query",
    response_model=QueryResponse,
    responses=V2_ERRORS,
    summary="Run a question, InfluxQL, Flux or Timestream SQL query",
)
def v2_query(body: QueryRequest, processor: Processor, query_id: QueryId) -> QueryResponse:
    return processor.process(body.to_input(), query_id)
