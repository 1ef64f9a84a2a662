"""Retrieval over the knowledge base: dense embeddings plus a lexical (BM25) score.

Each document is embedded twice — its head (title, pt/en aliases, first paragraph) and its whole
text — and scores the better of the two cosine similarities. all-MiniLM-L6-v2 was trained on
English, so the Portuguese vocabulary of the domain (``reservatórios``, ``afluência``) is also
matched lexically: accent-folded BM25 over title, aliases and body, normalised to ``[0, 1]`` by the
best document. The final score is ``semantic_weight * cosine + (1 - semantic_weight) * lexical``;
both parts are reported.

Document embeddings are computed once and cached to disk (``.npy``), keyed by the model name and a
hash of the texts, so a restart or a second process does not recompute them.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ons_pipeline.lib.rag.embeddings import Embedder
from ons_pipeline.lib.rag.knowledge import KnowledgeDoc


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOPWORDS = _words(
    """
    a o as os um uma uns umas de do da dos das no na nos nas em por para pelo pela pelos pelas com
    sem e ou que qual quais quem como onde quando e sao foi era ser esta estao isso isto esse essa
    ao aos se sua seu suas seus mais menos muito ja nao sim entre sobre ate desde
    the an of in on at to for by with and or is are was were be been what which who how when where
    why does do did it its this that these those from as than then there their
    me explique explain defina define significa mean means
    """
)
# Places and periods are filters of a data question, not its topic: the translator reads them.
# Left in, "reservatórios do Nordeste" would retrieve the subsystems document before EAR.
_ENTITY_WORDS = _words(
    """
    sudeste centro oeste sul nordeste norte se co ne n s brasil pais southeast south northeast
    north center central west midwest brazil country ontem hoje amanha semana semanas mes meses ano
    anos dia dias hora horas ultima ultimo ultimas ultimos passada passado yesterday today tomorrow
    week weeks month months year years day days hour hours last past previous
    janeiro fevereiro marco abril maio junho julho agosto setembro outubro novembro dezembro
    january february march april may june july august september october november december
    media medio medias medios average mean maximo maxima max maximum minimo minima min minimum
    pico peak total soma sum tendencia trend quanto quanta how much many
    """
)
_TOKEN = re.compile(r"[a-z0-9%$]+")


def fold(text: str) -> str:
    """Lower case without accents."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def _stem(token: str) -> str:
    for suffix, repl in (("oes", "ao"), ("aes", "ao"), ("is", "l"), ("es", ""), ("s", "")):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            return token[: -len(suffix)] + repl
    return token


def terms(text: str) -> list[str]:
    """Folded, stemmed content words."""
    return [
        _stem(t)
        for t in _TOKEN.findall(fold(text))
        if t not in _STOPWORDS and t not in _ENTITY_WORDS and not t.isdigit()
    ]


@dataclass(frozen=True)
class Passage:
    """A retrieved document with its scores (``score`` = the combined one)."""

    doc: KnowledgeDoc
    score: float
    semantic: float
    lexical: float
    rank: int


class Retriever(Protocol):
    """Question → best passages; a managed knowledge base (Bedrock) implements the same."""

    @property
    def name(self) -> str: ...

    def retrieve(self, question: str, k: int = 4) -> list[Passage]: ...


class _BM25:
    def __init__(self, documents: list[list[str]], k1: float = 1.4, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.docs = [Counter(d) for d in documents]
        self.lengths = [len(d) for d in documents]
        self.avg = (sum(self.lengths) / len(self.lengths)) if self.lengths else 0.0
        df: Counter[str] = Counter()
        for doc in self.docs:
            df.update(doc.keys())
        n = len(documents)
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}

    def scores(self, query: list[str]) -> np.ndarray:
        out = np.zeros(len(self.docs))
        for i, doc in enumerate(self.docs):
            norm = self.k1 * (1 - self.b + self.b * self.lengths[i] / (self.avg or 1))
            total = 0.0
            for term in set(query):
                tf = doc.get(term, 0)
                if tf:
                    total += self.idf[term] * tf * (self.k1 + 1) / (tf + norm)
            out[i] = total
        return out


class KnowledgeIndex:
    """Hybrid retriever over :class:`KnowledgeDoc` s (see the module docstring)."""

    def __init__(
        self,
        docs: Sequence[KnowledgeDoc],
        embedder: Embedder,
        cache_dir: Path | None = None,
        semantic_weight: float = 0.6,
    ) -> None:
        if not docs:
            raise ValueError("the knowledge index needs documents")
        if not 0.0 <= semantic_weight <= 1.0:
            raise ValueError("semantic_weight is in [0, 1]")
        self.docs = list(docs)
        self.embedder = embedder
        self.cache_dir = cache_dir
        self.semantic_weight = semantic_weight
        self._vectors: np.ndarray | None = None
        self._lock = threading.Lock()
        self.cache_hit: bool | None = None
        self._bm25 = _BM25(
            [
                terms(" ".join([d.title] * 2 + list(d.aliases) * 3 + [d.plain_body]))
                for d in self.docs
            ]
        )

    @property
    def name(self) -> str:
        return f"knowledge-index({self.embedder.name})"

    def _texts(self) -> list[str]:
        texts: list[str] = []
        for doc in self.docs:
            texts.extend(doc.search_texts())
        return texts

    def fingerprint(self) -> str:
        digest = hashlib.sha256(self.embedder.name.encode())
        for text in self._texts():
            digest.update(b"\x00" + text.encode())
        return digest.hexdigest()[:24]

    def vectors(self) -> np.ndarray:
        """The documents' embeddings (2 rows per document), from the disk cache when valid."""
        with self._lock:
            if self._vectors is None:
                self._vectors = self._load_or_compute()
            return self._vectors

    def _cache_file(self) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / f"kb-{self.fingerprint()}.npy"

    def _load_or_compute(self) -> np.ndarray:
        texts = self._texts()
        file = self._cache_file()
        if file is not None and file.exists():
            try:
                cached = np.load(file)
                if cached.shape[0] == len(texts):
                    self.cache_hit = True
                    return cached.astype(np.float32)
            except (OSError, ValueError):
                pass
        vectors = self.embedder.encode(texts).astype(np.float32)
        self.cache_hit = False
        if file is not None:
            try:
                file.parent.mkdir(parents=True, exist_ok=True)
                tmp = file.with_suffix(".tmp.npy")
                np.save(tmp, vectors)
                tmp.replace(file)
                meta = {"model": self.embedder.name, "docs": [d.id for d in self.docs]}
                file.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")
            except OSError:
                pass  # the cache is an optimisation only
        return vectors

    def semantic_scores(self, question: str) -> np.ndarray:
        """Cosine similarity of the question with each document (best of its two texts)."""
        query = self.embedder.encode([question])[0]
        sims = self.vectors() @ query
        return sims.reshape(len(self.docs), 2).max(axis=1)

    def lexical_scores(self, question: str) -> np.ndarray:
        raw = self._bm25.scores(terms(question))
        best = float(raw.max()) if raw.size else 0.0
        return raw / best if best > 0 else raw

    def retrieve(self, question: str, k: int = 4) -> list[Passage]:
        semantic = self.semantic_scores(question)
        lexical = self.lexical_scores(question)
        combined = self.semantic_weight * semantic + (1 - self.semantic_weight) * lexical
        order = sorted(range(len(self.docs)), key=lambda i: (-combined[i], self.docs[i].id))
        return [
            Passage(
                doc=self.docs[i],
                score=round(float(combined[i]), 6),
                semantic=round(float(semantic[i]), 6),
                lexical=round(float(lexical[i]), 6),
                rank=rank + 1,
            )
            for rank, i in enumerate(order[: max(0, k)])
        ]
