"""``POST /v2/context``: the RAG context block, its numbered citations and an answer."""

from __future__ import annotations

from fastapi import APIRouter

from ons_pipeline.api.deps import QueryId, Rag
from ons_pipeline.api.schemas import V2_ERRORS, ContextRequest
from ons_pipeline.lib.rag.response import ContextResponse

router = APIRouter(tags=["rag"])


@router.post(
    "/v2/context",
    response_model=ContextResponse,
    responses=V2_ERRORS,
    summary="RAG context with citations for a question",
)
def v2_context(body: ContextRequest, rag: Rag, query_id: QueryId) -> ContextResponse:
    result = rag.run(body.question, body.now, body.k, body.max_points, body.timeseries)
    return rag.respond(result, query_id)
