"""What the routes take from the app: its services (set by ``create_app``) and the request's id."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ons_pipeline.lib.query.backend import InfluxBackend
from ons_pipeline.lib.query.service import QueryProcessor, new_query_id
from ons_pipeline.lib.rag.service import RagService


def query_id_of(request: Request) -> str:
    """The id the middleware gave this request (a fresh one outside it)."""
    qid = getattr(request.state, "query_id", None)
    return qid if isinstance(qid, str) else new_query_id()


def _backend(request: Request) -> InfluxBackend:
    backend: InfluxBackend = request.app.state.backend
    return backend


def _processor(request: Request) -> QueryProcessor:
    processor: QueryProcessor = request.app.state.processor
    return processor


def _rag(request: Request) -> RagService:
    rag: RagService = request.app.state.rag
    return rag


QueryId = Annotated[str, Depends(query_id_of)]
Backend = Annotated[InfluxBackend, Depends(_backend)]
Processor = Annotated[QueryProcessor, Depends(_processor)]
Rag = Annotated[RagService, Depends(_rag)]
