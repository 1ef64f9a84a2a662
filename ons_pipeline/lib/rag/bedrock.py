"""Production backends on Amazon Bedrock behind the same interfaces (optional).

- :class:`BedrockKnowledgeBaseRetriever` — a managed knowledge base (``bedrock-agent-runtime``
  ``Retrieve``) as a :class:`~ons_pipeline.lib.rag.index.Retriever`.
- :class:`BedrockComposer` — an LLM (``bedrock-runtime`` ``Converse``) as an
  :class:`~ons_pipeline.lib.rag.compose.AnswerComposer`: it gets the numbered context block and
  must cite ``[n]``; citations that name no source are dropped, and the confidence is the
  deterministic composer's (an LLM's self-assessment is not a measurement).

The boto3 clients are injected (tests use stubs; nothing here calls AWS on import or in tests);
without one, ``AwsSettings.client`` builds it from the environment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ons_pipeline.lib.rag.compose import Answer, RagContext, TemplateComposer
from ons_pipeline.lib.rag.index import Passage
from ons_pipeline.lib.rag.knowledge import KnowledgeDoc

_CITE = re.compile(r"\[(\d+)\]")

SYSTEM_PROMPT = (
    "You answer questions about Brazil's power grid (ONS data). Use only the numbered sources "
    "in the context, cite every fact with its number in brackets, e.g. [1], answer in the "
    "language of the question, and say so when the sources do not answer it."
)


def _client(service: str, client: Any | None) -> Any:
    if client is not None:
        return client
    from ons_pipeline.lib.settings import Settings

    return Settings.from_env().aws.client(service)


@dataclass
class BedrockKnowledgeBaseRetriever:
    knowledge_base_id: str
    client: Any | None = None

    @property
    def name(self) -> str:
        return f"bedrock-kb({self.knowledge_base_id})"

    def retrieve(self, question: str, k: int = 4) -> list[Passage]:
        client = _client("bedrock-agent-runtime", self.client)
        response = client.retrieve(
            knowledgeBaseId=self.knowledge_base_id,
            retrievalQuery={"text": question},
            retrievalConfiguration={"vectorSearchConfiguration": {"numberOfResults": max(1, k)}},
        )
        passages = []
        for rank, item in enumerate(response.get("retrievalResults", [])[:k], start=1):
            text = str((item.get("content") or {}).get("text", ""))
            location = item.get("location") or {}
            uri = str((location.get("s3Location") or {}).get("uri", "")) or str(
                location.get("type", "")
            )
            meta = item.get("metadata") or {}
            title = str(meta.get("title") or uri.rsplit("/", 1)[-1] or f"result {rank}")
            doc = KnowledgeDoc(
                id=str(meta.get("id") or uri or f"bedrock-{rank}"),
                title=title,
                body=text or title,
                source="Amazon Bedrock knowledge base",
                path=uri,
            )
            score = float(item.get("score", 0.0))
            passages.append(Passage(doc=doc, score=score, semantic=score, lexical=0.0, rank=rank))
        return passages


@dataclass
class BedrockComposer:
    model_id: str
    client: Any | None = None
    max_tokens: int = 800

    @property
    def name(self) -> str:
        return f"bedrock({self.model_id})"

    def compose(self, context: RagContext) -> Answer:
        client = _client("bedrock-runtime", self.client)
        response = client.converse(
            modelId=self.model_id,
            system=[{"text": SYSTEM_PROMPT}],
            messages=[{"role": "user", "content": [{"text": context.text}]}],
            inferenceConfig={"maxTokens": self.max_tokens, "temperature": 0.0},
        )
        parts = response["output"]["message"]["content"]
        text = "".join(str(p.get("text", "")) for p in parts).strip()
        valid = {c["ref"] for c in context.citations()}
        used = tuple(dict.fromkeys(int(n) for n in _CITE.findall(text) if int(n) in valid))
        baseline = TemplateComposer().compose(context)
        return Answer(text, used, baseline.confidence, self.name)
