"""RAG context for the query layer (pure: no web framework).

- :mod:`.knowledge` — the ONS concept documents shipped in ``ons_pipeline/knowledge``
- :mod:`.embeddings` — ``Embedder``; ``MiniLMEmbedder`` (all-MiniLM-L6-v2, offline)
- :mod:`.index` — ``KnowledgeIndex``: hybrid (embeddings + BM25) retrieval, disk-cached vectors
- :mod:`.timeseries` — ``needs_timeseries``, ``Evidence`` (exact range, query, points used)
- :mod:`.compose` — numbered context block, ``TemplateComposer`` (answers citing [1], [2], …)
- :mod:`.pipeline` — ``RagPipeline.run(question, now)`` → ``RagResult``
- :mod:`.bedrock` — an existing Bedrock knowledge base / model behind the same interfaces,
  chosen by ``ONS_RAG_RETRIEVER`` / ``ONS_BEDROCK_MODEL_ID`` (:mod:`.service`); :mod:`.errors`
"""

from ons_pipeline.lib.rag.compose import Answer, AnswerComposer, RagContext, TemplateComposer
from ons_pipeline.lib.rag.embeddings import Embedder, HashingEmbedder, MiniLMEmbedder
from ons_pipeline.lib.rag.index import KnowledgeIndex, Passage, Retriever
from ons_pipeline.lib.rag.knowledge import KnowledgeDoc, load_knowledge
from ons_pipeline.lib.rag.pipeline import RagPipeline, RagResult
from ons_pipeline.lib.rag.timeseries import Decision, Evidence, build_evidence, needs_timeseries

__all__ = [
    "Answer",
    "AnswerComposer",
    "Decision",
    "Embedder",
    "Evidence",
    "HashingEmbedder",
    "KnowledgeDoc",
    "KnowledgeIndex",
    "MiniLMEmbedder",
    "Passage",
    "RagContext",
    "RagPipeline",
    "RagResult",
    "Retriever",
    "TemplateComposer",
    "build_evidence",
    "load_knowledge",
    "needs_timeseries",
]
