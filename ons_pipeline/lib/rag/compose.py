"""The context block handed to a language model, and a deterministic answer composer.

Sources are numbered ``[1]``, ``[2]``, … in one sequence: first the time-series queries the
question itself asked for, then each retrieved knowledge document followed by the live data that
enriches it. The context block names, for each time-series source, the measurement, the tag
filters, the exact half-open time range, the query text, the series summaries and the points used;
for each document, its title, location and excerpt.

:class:`TemplateComposer` writes the answer from templates (pt or en, the question's language),
citing every number with the source it came from; a one-row extreme (max, min, first, last, a raw
value, or the window an ordered aggregate picked) also states when — local time
(``ONS_API_TIMEZONE``, Brasília by default) and the UTC instant the citation carries. An LLM
(e.g. Bedrock, see
:mod:`~ons_pipeline.lib.rag.bedrock`) can implement :class:`AnswerComposer` with the same context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ons_pipeline.lib.query.model import Agg, Aggregation, FieldRef, strip_transform, zone_info
from ons_pipeline.lib.query.nl import Translation
from ons_pipeline.lib.rag.index import Passage
from ons_pipeline.lib.rag.timeseries import Decision, Evidence, SeriesSummary, Stat

KB_MIN_SCORE = 0.25
KB_RELATIVE = 0.9  # a document is used when its score is >= this share of the best one


def relevant(passages: list[Passage], min_score: float, relative: float) -> list[Passage]:
    """Passages worth citing: above ``min_score`` and within ``relative`` of the best."""
    if not passages:
        return []
    best = max(p.score for p in passages)
    return [p for p in passages if p.score >= min_score and p.score >= relative * best]


@dataclass(frozen=True)
class KnowledgeCitation:
    ref: int
    passage: Passage

    def to_dict(self, excerpt_chars: int = 200) -> dict[str, Any]:
        doc = self.passage.doc
        return {
            "ref": self.ref,
            "type": "knowledge_base",
            "doc_id": doc.id,
            "title": doc.title,
            "location": doc.path,
            "source": doc.source,
            "excerpt": doc.excerpt(excerpt_chars),
            "relevance_score": self.passage.score,
            "semantic_score": self.passage.semantic,
            "lexical_score": self.passage.lexical,
        }


@dataclass
class RagContext:
    """Everything an answer may use, numbered."""

    question: str
    language: str
    decision: Decision
    translation: Translation | None
    evidence: list[Evidence]
    knowledge: list[KnowledgeCitation]
    text: str = ""

    def citations(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = [e.to_dict() for e in self.evidence]
        items += [k.to_dict() for k in self.knowledge]
        return sorted(items, key=lambda c: c["ref"])

    @property
    def question_evidence(self) -> list[Evidence]:
        return [e for e in self.evidence if e.purpose == "question"]


@dataclass(frozen=True)
class Answer:
    text: str
    citations_used: tuple[int, ...]
    confidence: float
    composer: str


class AnswerComposer(Protocol):
    @property
    def name(self) -> str: ...

    def compose(self, context: RagContext) -> Answer: ...


# -- formatting -------------------------------------------------------------------------------


def fmt_number(value: float | None, language: str, digits: int = 2) -> str:
    if value is None:
        return "—"
    text = f"{value:,.{digits}f}"
    if language == "pt":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def _tags_label(tags: dict[str, Any], language: str, ev: Evidence | None = None) -> str:
    """The series' tags, after the query's tag filters (which name a series too)."""
    merged: dict[str, Any] = {}
    if ev is not None:
        merged.update({k: "|".join(v) for k, v in ev.filters.items()})
    merged.update(tags)
    if not merged:
        return "total"
    return ", ".join(f"{k}={v}" for k, v in merged.items())


def _with_unit(value: str, unit: str) -> str:
    return f"{value} {unit}" if unit else value


# -- context block ----------------------------------------------------------------------------


def _evidence_block(ev: Evidence) -> list[str]:
    tr = ev.time_range
    filters = "; ".join(f"{k} in {v}" for k, v in ev.filters.items()) or "none"
    head = (
        f"[{ev.ref}] Time series — measurement {ev.measurement!r} (table {ev.table}), fields "
        f"{', '.join(ev.fields)}; tag filters: {filters}; time range [{tr['start']}, {tr['end']}) "
        f"UTC"
    )
    source = ev.answered_from or {}
    if source.get("kind") == "rollup":
        head += f"; answered from the rollups {', '.join(source.get('measurements', []))}"
    if ev.model.window is not None:
        head += f"; window {ev.model.window}"
    if ev.model.group_tags:
        head += f"; grouped by {', '.join(ev.model.group_tags)}"
    if ev.purpose == "enrichment":
        head += f"; live context for document {ev.doc_id!r}"
    lines = [head, f"    Query ({ev.language}): {ev.query}"]
    if ev.error:
        lines.append(f"    The query failed: {ev.error}")
        return lines
    lines.append(f"    Rows returned: {ev.points_total}")
    for summary in ev.series:
        for st in summary.stats:
            label = _tags_label(summary.tags, "en", ev)
            lines.append(
                f"    Series {label} / {st.column} ({st.unit or 'no unit'}): n={st.count}, "
                f"mean={st.mean!r}, min={st.min!r} at {st.min_time}, "
                f"max={st.max!r} at {st.max_time}, first={st.first!r} at {st.first_time}, "
                f"last={st.last!r} at {st.last_time}"
            )
    if ev.points:
        lines.append(f"    Points used ({ev.points_selection}):")
        for point in ev.points:
            tags = ",".join(f"{k}={v}" for k, v in point["tags"].items())
            values = ", ".join(f"{k}={v!r}" for k, v in point["values"].items())
            lines.append(f"      {point['time']} {tags} {values}".rstrip())
    return lines


def _knowledge_block(kc: KnowledgeCitation) -> list[str]:
    doc = kc.passage.doc
    return [
        f"[{kc.ref}] Knowledge base — {doc.title!r} ({doc.path}; relevance {kc.passage.score:.3f})",
        f"    {doc.plain_body}",
    ]


def build_context_text(context: RagContext) -> str:
    """The context block for a language model (instructions, question, numbered sources)."""
    lines = [
        "Answer the question using only the numbered sources below; cite each fact with its "
        "number, e.g. [1]. Times are UTC; ranges are half-open [start, end).",
        f"Question ({context.language}): {context.question}",
    ]
    tr = context.translation
    if tr is not None and tr.interpretation:
        lines.append("Interpreted as: " + tr.interpretation)
    if tr is not None and tr.assumptions:
        lines.append("Assumptions applied: " + "; ".join(tr.assumptions))
    if tr is not None and tr.unmapped:
        lines.append("Not understood: " + "; ".join(str(u) for u in tr.unmapped))
    lines.append(f"Time-series decision: {context.decision.reason}")
    lines.append("Sources:")
    blocks: list[tuple[int, list[str]]] = [(e.ref, _evidence_block(e)) for e in context.evidence]
    blocks += [(k.ref, _knowledge_block(k)) for k in context.knowledge]
    for _, block in sorted(blocks, key=lambda b: b[0]):
        lines.extend(block)
    return "\n".join(lines)


# -- template answers -------------------------------------------------------------------------

_SELECTORS = {Aggregation.MAX, Aggregation.MIN, Aggregation.FIRST, Aggregation.LAST}

_TEXT = {
    "pt": {
        "data": "Dados do ONS [{ref}] — {fields} ({measurement}), de {start} a {end} (UTC):",
        "data_enrich": "Valores recentes de {title} [{ref}], de {start} a {end} (UTC):",
        "scalar": "• {tags}: {column} = {value}",
        "at_instant": ", em {local} ({zone}; {utc})",
        "at_window": ", no intervalo de {window} que começa em {local} ({zone}; {utc})",
        "brasilia": "horário de Brasília",
        "local_format": "%d/%m/%Y %H:%M",
        "date_format": "%d/%m/%Y",
        "series": (
            "• {tags}: {column} — média {mean} em {n} pontos; mínimo {min} ({min_time}); "
            "máximo {max} ({max_time}); último {last} ({last_time})"
        ),
        "empty": "A consulta [{ref}] não retornou dados para {start} a {end}.",
        "failed": "A consulta [{ref}] falhou: {error}",
        "more": "• … e mais {n} séries (ver [{ref}]).",
        "kb": "{title}: {summary} [{ref}]",
        "interpretation": "Pergunta interpretada como: {text}.",
        "assumptions": "Premissas: {items}.",
        "unmapped": "Não entendido: {items}.",
        "nothing": (
            "Não encontrei dados nem documentos que respondam à pergunta. Motivo: {reason}."
        ),
        "no_data_reason": "Sem consulta de dados: {reason}.",
    },
    "en": {
        "data": "ONS data [{ref}] — {fields} ({measurement}), from {start} to {end} (UTC):",
        "data_enrich": "Recent values for {title} [{ref}], from {start} to {end} (UTC):",
        "scalar": "• {tags}: {column} = {value}",
        "at_instant": ", at {local} ({zone}; {utc})",
        "at_window": ", in the {window} window starting {local} ({zone}; {utc})",
        "brasilia": "Brasília time",
        "local_format": "%Y-%m-%d %H:%M",
        "date_format": "%Y-%m-%d",
        "series": (
            "• {tags}: {column} — mean {mean} over {n} points; minimum {min} ({min_time}); "
            "maximum {max} ({max_time}); last {last} ({last_time})"
        ),
        "empty": "The query [{ref}] returned no data for {start} to {end}.",
        "failed": "The query [{ref}] failed: {error}",
        "more": "• … and {n} more series (see [{ref}]).",
        "kb": "{title}: {summary} [{ref}]",
        "interpretation": "Question read as: {text}.",
        "assumptions": "Assumptions: {items}.",
        "unmapped": "Not understood: {items}.",
        "nothing": "I found neither data nor documents answering the question. Reason: {reason}.",
        "no_data_reason": "No data query: {reason}.",
    },
}

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _first_sentences(text: str, limit: int = 260) -> str:
    out = ""
    for sentence in _SENTENCE_END.split(text):
        if out and len(out) + len(sentence) + 1 > limit:
            break
        out = f"{out} {sentence}".strip()
    if len(out) > limit:
        out = out[: limit - 1].rsplit(" ", 1)[0] + "…"
    return out.rstrip(".") + "." if not out.endswith("…") else out


@dataclass
class TemplateComposer:
    """Deterministic, template-based answers that cite their sources (see module docstring)."""

    max_series: int = 8
    max_kb: int = 2
    kb_min_score: float = KB_MIN_SCORE
    kb_relative: float = KB_RELATIVE
    timezone: str = "America/Sao_Paulo"  # local time of the instants answers state
    _name: str = field(default="template-composer", repr=False)

    @property
    def name(self) -> str:
        return self._name

    def _series_lines(self, ev: Evidence, t: dict[str, str], lang: str) -> list[str]:
        lines = []
        for summary in ev.series[: self.max_series]:
            lines.extend(self._stat_line(ev, summary, st, t, lang) for st in summary.stats)
        if len(ev.series) > self.max_series:
            lines.append(t["more"].format(n=len(ev.series) - self.max_series, ref=ev.ref))
        return lines

    def _stat_line(
        self, ev: Evidence, summary: SeriesSummary, st: Stat, t: dict[str, str], lang: str
    ) -> str:
        tags = _tags_label(summary.tags, lang, ev)
        if summary.rows == 1 or st.count == 1:
            line = t["scalar"].format(
                tags=tags, column=st.column, value=_with_unit(fmt_number(st.last, lang), st.unit)
            )
            return line + self._when(ev, st, t)
        return t["series"].format(
            tags=tags,
            column=st.column,
            n=st.count,
            mean=_with_unit(fmt_number(st.mean, lang), st.unit),
            min=_with_unit(fmt_number(st.min, lang), st.unit),
            min_time=st.min_time,
            max=_with_unit(fmt_number(st.max, lang), st.unit),
            max_time=st.max_time,
            last=_with_unit(fmt_number(st.last, lang), st.unit),
            last_time=st.last_time,
        )

    def _when(self, ev: Evidence, st: Stat, t: dict[str, str]) -> str:
        """Where a one-row value's time says when it happened — a selector (max, min, first,
        last) or raw value at its instant, an aggregate of a time window (the day that had the
        highest mean) at its window — that time, local and as the cited UTC instant; nothing for
        an aggregate of the whole range (its time is only the range's start)."""
        if st.last_time is None:
            return ""
        window = ev.model.window
        selection = next((s for s in ev.model.selections if s.alias == st.column), None)
        if window is None:
            inner = strip_transform(selection.expr)[0] if selection is not None else None
            instant = isinstance(inner, FieldRef) or (
                isinstance(inner, Agg) and inner.func in _SELECTORS
            )
            if not instant:
                return ""
        zone_name = ev.model.timezone or self.timezone
        local = datetime.fromisoformat(st.last_time.replace("Z", "+00:00")).astimezone(
            zone_info(zone_name)
        )
        whole_days = window is not None and (window.is_calendar or window.unit in ("d", "w"))
        midnight = (local.hour, local.minute, local.second) == (0, 0, 0)
        text = local.strftime(t["date_format" if whole_days and midnight else "local_format"])
        zone = t["brasilia"] if zone_name == "America/Sao_Paulo" else zone_name
        key = "at_instant" if window is None else "at_window"
        return t[key].format(local=text, zone=zone, utc=st.last_time, window=window)

    def _evidence_lines(
        self, ev: Evidence, t: dict[str, str], lang: str, title: str | None = None
    ) -> list[str]:
        tr = ev.time_range
        if ev.error:
            return [t["failed"].format(ref=ev.ref, error=ev.error)]
        if not ev.points_total:
            return [t["empty"].format(ref=ev.ref, start=tr["start"], end=tr["end"])]
        if title is not None:
            head = t["data_enrich"].format(
                title=title, ref=ev.ref, start=tr["start"], end=tr["end"]
            )
        else:
            head = t["data"].format(
                ref=ev.ref,
                fields=", ".join(ev.fields),
                measurement=ev.measurement,
                start=tr["start"],
                end=tr["end"],
            )
        return [head, *self._series_lines(ev, t, lang)]

    def compose(self, context: RagContext) -> Answer:
        lang = context.language if context.language in _TEXT else "en"
        t = _TEXT[lang]
        lines: list[str] = []
        used: list[int] = []
        data_conf = 0.0
        tr = context.translation
        if tr is not None and tr.interpretation and context.question_evidence:
            lines.append(t["interpretation"].format(text=tr.interpretation))
        for ev in context.question_evidence:
            lines.extend(self._evidence_lines(ev, t, lang))
            used.append(ev.ref)
            if not ev.error:
                data_conf = max(data_conf, data_confidence(ev, context.translation))
        tr_model = context.translation.model if context.translation is not None else None
        if not context.question_evidence and tr_model is not None:
            lines.append(t["no_data_reason"].format(reason=context.decision.reason))
        enrich = {e.doc_id: e for e in context.evidence if e.purpose == "enrichment"}
        kb_conf = 0.0
        keep = relevant([k.passage for k in context.knowledge], self.kb_min_score, self.kb_relative)
        shown = [k for k in context.knowledge if any(k.passage is p for p in keep)]
        for kc in shown[: self.max_kb]:
            doc = kc.passage.doc
            lines.append(
                t["kb"].format(title=doc.title, summary=_first_sentences(doc.summary), ref=kc.ref)
            )
            used.append(kc.ref)
            kb_conf = max(kb_conf, min(1.0, max(0.0, kc.passage.score)))
            ev = enrich.get(doc.id)
            if ev is not None:
                lines.extend(self._evidence_lines(ev, t, lang, title=doc.title))
                used.append(ev.ref)
        if tr is not None and context.question_evidence and tr.assumptions:
            lines.append(t["assumptions"].format(items="; ".join(tr.assumptions)))
        if tr is not None and tr.unmapped:
            lines.append(t["unmapped"].format(items="; ".join(str(u) for u in tr.unmapped)))
        if not used:
            lines.append(t["nothing"].format(reason=context.decision.reason))
        confidence = 0.7 * data_conf + 0.3 * kb_conf if data_conf else 0.9 * kb_conf
        return Answer(
            text="\n".join(lines),
            citations_used=tuple(used),
            confidence=round(min(1.0, confidence), 3),
            composer=self.name,
        )


def data_confidence(ev: Evidence, translation: Translation | None) -> float:
    """Heuristic: a complete translation with no defaults is 0.95; each default applied costs
    0.05, leftover words 0.15; an empty result is 0.3."""
    if not ev.points_total:
        return 0.3
    if translation is None:
        return 0.95
    score = 0.95 - 0.05 * len(translation.assumptions)
    if translation.unmapped:
        score -= 0.15
    return max(0.3, score)
