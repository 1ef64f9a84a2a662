"""The RAG flow: translate → decide → run the data queries → retrieve documents → enrich them with
live data → number the sources → context block → answer.

Every dependency is an interface: the translator (:class:`~ons_pipeline.lib.query.nl.Translator`),
the retriever (:class:`~ons_pipeline.lib.rag.index.Retriever`: the local embedded knowledge base or
a managed one), the executor (a callable running a :class:`QueryModel`, with the caller's cache)
and the composer (:class:`~ons_pipeline.lib.rag.compose.AnswerComposer`: templates or an LLM).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ons_pipeline.lib import schema
from ons_pipeline.lib.ons_time import to_ns
from ons_pipeline.lib.query.execute import ExecutionError
from ons_pipeline.lib.query.influxql import RenderError, render_influxql
from ons_pipeline.lib.query.model import Duration, ModelError, QueryModel, format_time
from ons_pipeline.lib.query.nl import RuleTranslator, Translation, Translator
from ons_pipeline.lib.rag.compose import (
    KB_MIN_SCORE,
    KB_RELATIVE,
    Answer,
    AnswerComposer,
    KnowledgeCitation,
    RagContext,
    TemplateComposer,
    build_context_text,
    relevant,
)
from ons_pipeline.lib.rag.index import Passage, Retriever
from ons_pipeline.lib.rag.knowledge import KnowledgeDoc
from ons_pipeline.lib.rag.timeseries import (
    Decision,
    Evidence,
    ModelExecutor,
    build_evidence,
    failed_evidence,
    needs_timeseries,
)


@dataclass
class RagResult:
    """The numbered context (question, language, decision, translation, sources) and the answer
    composed on it."""

    context: RagContext
    answer: Answer
    passages: list[Passage]
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def citations(self) -> list[dict[str, Any]]:
        return self.context.citations()


def _lookback(text: str) -> timedelta:
    duration = Duration.parse(text)
    if duration.is_calendar:
        raise ModelError(f"a live lookback needs a fixed duration, not {text}")
    return timedelta(microseconds=duration.ns // 1000)


def live_model(doc: KnowledgeDoc, now: datetime, translation: Translation | None) -> QueryModel:
    """The enrichment query of ``doc`` over ``[now - lookback, now)``; the question's tag filters
    (e.g. its subsystem) are kept when the document's table has those tags."""
    assert doc.live is not None
    end = now.astimezone(UTC)
    start = end - _lookback(doc.live.lookback)
    data = doc.live.to_model_dict(format_time(to_ns(start)), format_time(to_ns(end)))
    if translation is not None and translation.model is not None:
        tags = set(schema.table(doc.live.table).tags)
        data["where"] = [
            {"tag": f.tag, "op": str(f.op), "values": list(f.values)}
            for f in translation.model.tag_filters
            if f.tag in tags
        ]
    return QueryModel.from_dict(data)


class RagPipeline:
    """See the module docstring. ``executor=None`` gives a knowledge-only pipeline."""

    def __init__(
        self,
        retriever: Retriever,
        executor: ModelExecutor | None,
        composer: AnswerComposer | None = None,
        translator: Translator | None = None,
        *,
        k: int = 3,
        max_points: int = 48,
        enrich: int = 2,
        kb_min_score: float = KB_MIN_SCORE,
        kb_relative: float = KB_RELATIVE,
    ) -> None:
        self.retriever = retriever
        self.executor = executor
        self.composer = composer or TemplateComposer(
            kb_min_score=kb_min_score, kb_relative=kb_relative
        )
        self.translator = translator or RuleTranslator()
        self.k = k
        self.max_points = max_points
        self.enrich = enrich
        self.kb_min_score = kb_min_score
        self.kb_relative = kb_relative

    def _run(self, model: QueryModel, purpose: str, doc_id: str | None = None) -> Evidence:
        assert self.executor is not None
        try:
            result = self.executor(model)
        except (ExecutionError, RenderError, ModelError) as exc:
            try:
                text = render_influxql(model)
            except (RenderError, ModelError):
                text = ""
            ev = failed_evidence(model, text, str(exc), purpose)
            ev.doc_id = doc_id
            return ev
        return build_evidence(result, purpose, self.max_points, doc_id)

    def run(self, question: str, now: datetime | None = None, k: int | None = None) -> RagResult:
        timings: dict[str, float] = {}
        began = time.perf_counter()
        moment = now or datetime.now(UTC)
        translation = self.translator.translate(question, moment)
        timings["translate"] = (time.perf_counter() - began) * 1000
        decision = needs_timeseries(question, translation)
        if decision.needed and self.executor is None:
            decision = Decision(False, "no time-series backend is configured")

        mark = time.perf_counter()
        question_evidence: list[Evidence] = []
        if decision.needed and translation.model is not None:
            question_evidence.append(self._run(translation.model, "question"))
        timings["timeseries"] = (time.perf_counter() - mark) * 1000

        mark = time.perf_counter()
        passages = self.retriever.retrieve(question, self.k if k is None else k)
        timings["retrieve"] = (time.perf_counter() - mark) * 1000

        mark = time.perf_counter()
        covered = {e.table for e in question_evidence}
        enrichments: dict[str, Evidence] = {}
        if self.executor is not None:
            for passage in relevant(passages, self.kb_min_score, self.kb_relative):
                doc = passage.doc
                if len(enrichments) >= self.enrich:
                    break
                if doc.live is None or doc.live.table in covered:
                    continue
                try:
                    model = live_model(doc, moment, translation)
                except ModelError:
                    continue
                enrichments[doc.id] = self._run(model, "enrichment", doc.id)
                covered.add(doc.live.table)
        timings["enrich"] = (time.perf_counter() - mark) * 1000

        ref = 0
        evidence: list[Evidence] = []
        for ev in question_evidence:
            ref += 1
            ev.ref = ref
            evidence.append(ev)
        knowledge: list[KnowledgeCitation] = []
        for passage in passages:
            ref += 1
            knowledge.append(KnowledgeCitation(ref, passage))
            ev = enrichments.get(passage.doc.id)
            if ev is not None:
                ref += 1
                ev.ref = ref
                evidence.append(ev)
        context = RagContext(
            question=question,
            language=translation.language,
            decision=decision,
            translation=translation,
            evidence=evidence,
            knowledge=knowledge,
        )
        context.text = build_context_text(context)
        mark = time.perf_counter()
        answer = self.composer.compose(context)
        timings["compose"] = (time.perf_counter() - mark) * 1000
        timings["total"] = (time.perf_counter() - began) * 1000
        return RagResult(context=context, answer=answer, passages=passages, timings_ms=timings)
