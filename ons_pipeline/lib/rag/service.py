"""The RAG service: the retriever (the local knowledge index or a Bedrock knowledge base, by
``ONS_RAG_RETRIEVER``; built lazily, once), the composer (templates or a Bedrock model), the
pipeline wired to the query service's cached executor, and the mapping to
:class:`ContextResponse`. Used by the API (``POST /v2/context``, the legacy ``/query``) and by
``ons-pipeline ask``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ons_pipeline.lib.query.execute import QueryResult
from ons_pipeline.lib.query.model import QueryModel
from ons_pipeline.lib.query.nl import RuleTranslator
from ons_pipeline.lib.query.response import model_info, translation_info
from ons_pipeline.lib.query.service import QueryProcessor, new_query_id
from ons_pipeline.lib.rag.bedrock import BedrockComposer, BedrockKnowledgeBaseRetriever
from ons_pipeline.lib.rag.compose import AnswerComposer, TemplateComposer
from ons_pipeline.lib.rag.embeddings import embedder_named
from ons_pipeline.lib.rag.index import KnowledgeIndex, Retriever
from ons_pipeline.lib.rag.knowledge import load_knowledge
from ons_pipeline.lib.rag.pipeline import RagPipeline, RagResult
from ons_pipeline.lib.rag.response import (
    AnswerInfo,
    ContextResponse,
    ContextTranslation,
)
from ons_pipeline.lib.settings import ApiSettings

RETRY_AFTER_S = 30.0  # a retriever that failed to build is not tried again before this


def default_retriever(settings: ApiSettings) -> Retriever:
    """``ONS_RAG_RETRIEVER``: ``local`` (default) is the shipped knowledge base, embedded with
    the configured embedder (all-MiniLM-L6-v2 by default), its embeddings cached in the RAG
    cache directory; ``bedrock`` is the existing knowledge base
    ``ONS_BEDROCK_KNOWLEDGE_BASE_ID``."""
    if settings.rag_retriever == "bedrock":
        assert settings.bedrock.knowledge_base_id  # ApiSettings refuses bedrock without one
        return BedrockKnowledgeBaseRetriever(
            settings.bedrock.knowledge_base_id, settings=settings.bedrock
        )
    embedder = embedder_named(settings.rag_embedder)
    return KnowledgeIndex(load_knowledge(), embedder, cache_dir=settings.rag_cache_dir)


def default_composer(settings: ApiSettings) -> AnswerComposer:
    """Answers by the Bedrock model ``ONS_BEDROCK_MODEL_ID`` when set (with either retriever),
    else by the deterministic templates."""
    model = settings.bedrock.model_id
    if model:
        return BedrockComposer(
            model, max_tokens=settings.bedrock.max_tokens, settings=settings.bedrock
        )
    return TemplateComposer(timezone=settings.timezone)


class RagService:
    def __init__(
        self,
        processor: QueryProcessor,
        retriever: Retriever | None = None,
        retriever_factory: Callable[[], Retriever] | None = None,
        composer: AnswerComposer | None = None,
    ) -> None:
        self.processor = processor
        self._retriever = retriever
        self._factory = retriever_factory or (lambda: default_retriever(processor.settings))
        self.composer = composer or default_composer(processor.settings)
        self._lock = threading.Lock()
        self._failed: tuple[float, Exception] | None = None
        self._clock = time.monotonic

    @property
    def ready(self) -> bool:
        return self._retriever is not None

    @property
    def loaded(self) -> Retriever | None:
        """The retriever if it was built already (never builds it)."""
        return self._retriever

    @property
    def retriever(self) -> Retriever:
        """The retriever, built on first use. A failed build is raised again, without another
        attempt, for ``RETRY_AFTER_S``: every request must not call ``GetKnowledgeBase`` (a
        low-quota control-plane API) while a knowledge base is missing or refused."""
        with self._lock:
            if self._retriever is None:
                if self._failed is not None and self._clock() - self._failed[0] < RETRY_AFTER_S:
                    raise self._failed[1]
                try:
                    retriever = self._factory()
                    if isinstance(retriever, KnowledgeIndex):
                        retriever.vectors()  # embed (or load the cached embeddings) now
                    elif isinstance(retriever, BedrockKnowledgeBaseRetriever):
                        retriever.check()  # it exists and is ACTIVE (else BedrockError, 502)
                except Exception as exc:
                    self._failed = (self._clock(), exc)
                    raise
                self._retriever, self._failed = retriever, None
            return self._retriever

    @property
    def embedder_name(self) -> str:
        """The embedding model's name (the retriever's for a managed one), without loading it."""
        retriever = self._retriever
        if isinstance(retriever, KnowledgeIndex):
            return retriever.embedder.name
        return retriever.name if retriever is not None else "none"

    @property
    def backend(self) -> str:
        """``local`` or ``bedrock`` (of the retriever, or of the settings before it is built)."""
        retriever = self._retriever
        if retriever is None:
            return self.processor.settings.rag_retriever
        return "bedrock" if isinstance(retriever, BedrockKnowledgeBaseRetriever) else "local"

    def knowledge_status(self) -> dict[str, Any]:
        """Readiness of the knowledge base, and its size and embedder once loaded (never loads:
        health checks must stay fast)."""
        status: dict[str, Any] = {"ready": self.ready, "backend": self.backend}
        retriever = self._retriever
        if isinstance(retriever, BedrockKnowledgeBaseRetriever):
            status.update(retriever.info or {})
        if isinstance(retriever, KnowledgeIndex):
            status.update(
                documents=len(retriever.docs),
                embedder=retriever.embedder.name,
                embeddings_from_disk_cache=retriever.cache_hit,
            )
        return status

    def _executor(self, model: QueryModel) -> QueryResult:
        return self.processor.execute_model(model)[0]

    def run(
        self,
        question: str,
        now: datetime | None = None,
        k: int = 3,
        max_points: int = 48,
        timeseries: bool = True,
    ) -> RagResult:
        pipeline = RagPipeline(
            self.retriever,
            self._executor if timeseries else None,
            self.composer,
            RuleTranslator(
                timezone=self.processor.settings.timezone,
                latest=self.processor.latest_data if timeseries else None,
                plants=self.processor.known_plants if timeseries else None,
                earliest=self.processor.earliest_data if timeseries else None,
            ),
            k=k,
            max_points=max_points,
        )
        return pipeline.run(question, now or self.processor.clock(), k)

    def respond(self, result: RagResult, query_id: str | None = None) -> ContextResponse:
        """A run's result as the context response (what ``POST /v2/context`` answers)."""
        ctx = result.context
        tr = ctx.translation
        translation = None
        if tr is not None:
            translation = ContextTranslation(
                **translation_info(tr).model_dump(), model=model_info(tr.model)
            )
        return ContextResponse.model_validate(
            {
                "query_id": query_id or new_query_id(),
                "question": ctx.question,
                "language": ctx.language,
                "needs_timeseries": ctx.decision.needed,
                "decision_reason": ctx.decision.reason,
                "translation": translation,
                "context": ctx.text,
                "citations": result.citations,
                "answer": AnswerInfo(
                    text=result.answer.text,
                    citations_used=list(result.answer.citations_used),
                    confidence=result.answer.confidence,
                    composer=result.answer.composer,
                ),
                "retriever": self.retriever.name,
                "timings_ms": {k: round(v, 3) for k, v in result.timings_ms.items()},
            }
        )
