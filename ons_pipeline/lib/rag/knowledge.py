"""The knowledge base: short ONS concept documents shipped in ``ons_pipeline/knowledge``.

Each document is Markdown with a TOML front matter between ``+++`` lines::

    +++
    id = "ear"                                   # defaults to the file name
    title = "EAR — Energia Armazenada"
    aliases = ["reservatórios", "stored energy"]  # pt and en names, used by retrieval
    tables = ["ear_diario"]                       # tables the concept is measured in
    source = "ONS — Dados Abertos, EAR diário por subsistema"

    [live]                                        # optional: live data that enriches the doc
    table = "ear_diario"
    select = ["last(ear_verif_subsistema_percentual)"]
    group_by = ["id_subsistema"]
    lookback = "7d"
    +++
    Markdown body ...

The ``live`` query is a :class:`~ons_pipeline.lib.query.model.QueryModel` template: when the
document is retrieved, it is run over ``[now - lookback, now)`` and its result is cited beside it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ons_pipeline.knowledge import KNOWLEDGE_DIR
from ons_pipeline.lib import schema

_FRONT_MATTER = re.compile(r"\A\+\+\+\s*\n(.*?)\n\+\+\+\s*\n", re.DOTALL)
_MD_MARKUP = re.compile(r"[#*_`>|]+")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")


class KnowledgeError(ValueError):
    """A knowledge document is malformed."""


@dataclass(frozen=True)
class LiveQuery:
    """A query template run over ``[now - lookback, now)`` to enrich a retrieved document."""

    table: str
    select: tuple[str, ...]
    lookback: str = "7d"
    group_by: tuple[str, ...] = ()
    window: str | None = None

    def to_model_dict(self, start: str, end: str) -> dict[str, Any]:
        """``QueryModel.from_dict`` input for the range ``[start, end)`` (RFC 3339)."""
        return {
            "table": self.table,
            "select": list(self.select),
            "group_by": list(self.group_by),
            "window": self.window,
            "time_range": {"start": start, "end": end},
        }


@dataclass(frozen=True)
class KnowledgeDoc:
    """One concept document."""

    id: str
    title: str
    body: str
    aliases: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    source: str = ""
    path: str = ""
    live: LiveQuery | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def plain_body(self) -> str:
        """The body without Markdown markup, whitespace collapsed."""
        text = _LINK.sub(r"\1", self.body)
        text = _MD_MARKUP.sub(" ", text)
        return re.sub(r"\s+", " ", text).strip()

    @property
    def summary(self) -> str:
        """The first paragraph of the body (plain text)."""
        for block in re.split(r"\n\s*\n", self.body.strip()):
            block = block.strip()
            if block and not block.startswith("#"):
                doc = KnowledgeDoc(self.id, self.title, block)
                return doc.plain_body
        return self.plain_body

    def excerpt(self, limit: int = 200) -> str:
        """The summary cut at a word boundary to at most ``limit`` characters."""
        text = self.summary
        if len(text) <= limit:
            return text
        cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:.")
        return cut + "…"

    def search_texts(self) -> tuple[str, str]:
        """What is embedded: (title, aliases and summary), (title and whole body)."""
        head = f"{self.title}. {', '.join(self.aliases)}. {self.summary}"
        return head, f"{self.title}. {self.plain_body}"


def parse_doc(text: str, doc_id: str, path: str = "") -> KnowledgeDoc:
    """Parse one document (front matter + Markdown)."""
    match = _FRONT_MATTER.match(text)
    if not match:
        raise KnowledgeError(f"{path or doc_id}: no +++ TOML front matter")
    try:
        meta = tomllib.loads(match.group(1))
    except tomllib.TOMLDecodeError as exc:
        raise KnowledgeError(f"{path or doc_id}: front matter: {exc}") from None
    body = text[match.end() :].strip()
    if not body:
        raise KnowledgeError(f"{path or doc_id}: empty body")
    if "title" not in meta:
        raise KnowledgeError(f"{path or doc_id}: no title")
    live = None
    if "live" in meta:
        raw = meta["live"]
        try:
            live = LiveQuery(
                table=raw["table"],
                select=tuple(raw["select"]),
                lookback=raw.get("lookback", "7d"),
                group_by=tuple(raw.get("group_by", ())),
                window=raw.get("window"),
            )
        except (KeyError, TypeError) as exc:
            raise KnowledgeError(
                f"{path or doc_id}: [live] needs table and select ({exc})"
            ) from None
    known = {"id", "title", "aliases", "tables", "source", "live"}
    return KnowledgeDoc(
        id=str(meta.get("id", doc_id)),
        title=str(meta["title"]),
        body=body,
        aliases=tuple(str(a) for a in meta.get("aliases", ())),
        tables=tuple(str(t) for t in meta.get("tables", ())),
        source=str(meta.get("source", "")),
        path=path,
        live=live,
        extra={k: v for k, v in meta.items() if k not in known},
    )


def for_mapping(docs: list[KnowledgeDoc], mapped: Collection[str]) -> list[KnowledgeDoc]:
    """The documents about data this deployment holds: one naming ``tables`` of which none is
    in the schema mapping is left out (a dataset only a user mapping file adds, such as CMO
    semanal); a live query on a table not in the mapping is dropped."""
    kept = []
    for doc in docs:
        if doc.tables and not set(doc.tables) & set(mapped):
            continue
        if doc.live is not None and doc.live.table not in mapped:
            doc = replace(doc, live=None)
        kept.append(doc)
    return kept


def load_knowledge(
    directory: Path | None = None, mapped: Collection[str] | None = None
) -> list[KnowledgeDoc]:
    """Every ``*.md`` document of ``directory`` (default: the shipped knowledge base), by id,
    kept :func:`for_mapping` the tables ``mapped`` (default: the current schema mapping)."""
    root = directory or KNOWLEDGE_DIR
    docs = []
    for file in sorted(root.glob("*.md")):
        if file.name.upper() == "README.MD":
            continue
        location = f"knowledge/{file.name}" if directory is None else str(file)
        docs.append(parse_doc(file.read_text(encoding="utf-8"), file.stem, location))
    ids = [d.id for d in docs]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise KnowledgeError(f"duplicate knowledge document ids: {duplicates}")
    if not docs:
        raise KnowledgeError(f"no knowledge documents in {root}")
    return for_mapping(docs, list(schema.tables()) if mapped is None else mapped)
