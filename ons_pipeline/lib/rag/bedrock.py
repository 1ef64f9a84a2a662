"""Amazon Bedrock behind the RAG interfaces, chosen by settings (``ONS_RAG_RETRIEVER=bedrock``,
``ONS_BEDROCK_MODEL_ID``; see :func:`ons_pipeline.lib.rag.service.default_retriever`).

- :class:`BedrockKnowledgeBaseRetriever` — an existing knowledge base (``bedrock-agent-runtime``
  ``Retrieve``) as a :class:`~ons_pipeline.lib.rag.index.Retriever`; :meth:`~BedrockKnowledge\
BaseRetriever.check` (``bedrock-agent`` ``GetKnowledgeBase``) confirms it exists and is ACTIVE.
- :class:`BedrockComposer` — a model (``bedrock-runtime`` ``Converse``) as an
  :class:`~ons_pipeline.lib.rag.compose.AnswerComposer`: it gets the numbered context block and
  must cite ``[n]``; citations that name no source are dropped, and the confidence is the
  deterministic composer's (an LLM's self-assessment is not a measurement).

Clients are injected or made from :class:`~ons_pipeline.lib.settings.BedrockSettings` (region,
endpoint, timeout, standard retries); nothing calls AWS on import. Failures become
:class:`~ons_pipeline.lib.rag.errors.BedrockError` / ``BedrockTimeout`` naming the operation and
AWS's error code (the API answers 502/504); refused access is also a security event
(``bedrock.access_denied``). Credentials come from the usual boto3 chain and are never logged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.influx.secrets import security_event
from ons_pipeline.lib.rag.compose import Answer, RagContext, TemplateComposer
from ons_pipeline.lib.rag.errors import BedrockError, BedrockTimeout
from ons_pipeline.lib.rag.index import Passage
from ons_pipeline.lib.rag.knowledge import KnowledgeDoc
from ons_pipeline.lib.settings import BedrockSettings

log = logging.getLogger(__name__)

_CITE = re.compile(r"\[(\d+)\]")
_ACCESS_DENIED = {"AccessDeniedException", "UnrecognizedClientException", "AccessDenied"}
_CHUNK_ID = "x-amz-bedrock-kb-chunk-id"
_SOURCE_URI = "x-amz-bedrock-kb-source-uri"

SYSTEM_PROMPT = (
    "You answer questions about Brazil's power grid (ONS data). Use only the numbered sources "
    "in the context, cite every fact with its number in brackets, e.g. [1], answer in the "
    "language of the question, and say so when the sources do not answer it."
)


def bedrock_client(service: str, settings: BedrockSettings) -> Any:
    """A boto3 client of a Bedrock service: timeouts and botocore's standard retries (throttling
    and 5xx, with backoff) from ``settings``; the endpoint only when one is configured (else
    boto3's own resolution, which honours ``AWS_ENDPOINT_URL_<SERVICE>``)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=settings.timeout_s,
        read_timeout=settings.timeout_s,
        retries={"mode": "standard", "total_max_attempts": settings.max_attempts},
    )
    aws = AwsSettings(region=settings.region, endpoint_url=settings.endpoint_url)
    return boto3.client(service, config=config, **aws.client_kwargs())


def call_bedrock(operation: str, resource: str, timeout_s: float, fn: Callable[[], Any]) -> Any:
    """``fn()`` with botocore's failures as :class:`BedrockError` / :class:`BedrockTimeout`."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        ReadTimeoutError,
    )

    try:
        return fn()
    except (ReadTimeoutError, ConnectTimeoutError):
        log.warning("Bedrock %s on %s timed out after %s s", operation, resource, timeout_s)
        raise BedrockTimeout(
            "bedrock_timeout",
            f"Amazon Bedrock {operation} did not answer within {timeout_s:g} s",
            {"operation": operation, "resource": resource},
        ) from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "ClientError")
        if code in _ACCESS_DENIED:
            security_event(
                "bedrock.access_denied", operation=operation, resource=resource, error_code=code
            )
        log.warning(
            "Bedrock %s on %s failed: %s: %s", operation, resource, code, error.get("Message")
        )
        raise BedrockError(
            "bedrock_error",
            f"Amazon Bedrock {operation} failed: {code}",
            {"operation": operation, "resource": resource, "aws_error": code},
        ) from None
    except BotoCoreError as exc:
        log.warning("Bedrock %s on %s failed: %s", operation, resource, type(exc).__name__)
        raise BedrockError(
            "bedrock_error",
            f"Amazon Bedrock {operation} failed: {type(exc).__name__}",
            {"operation": operation, "resource": resource, "aws_error": type(exc).__name__},
        ) from None


def _location(location: dict[str, Any]) -> str:
    """The URI/URL of a ``RetrievalResultLocation`` (S3, web, Confluence, SharePoint, ...)."""
    for key, value in location.items():
        if key.endswith("Location") and isinstance(value, dict):
            for name in ("uri", "url", "id", "query"):
                if value.get(name):
                    return str(value[name])
    return str(location.get("type", ""))


def _text(content: dict[str, Any]) -> str:
    """The text of a ``RetrievalResultContent``: ``text``, or a structured row's cells."""
    if content.get("text"):
        return str(content["text"])
    row = content.get("row") or []
    return "; ".join(f"{c.get('columnName')}: {c.get('columnValue')}" for c in row)


@dataclass
class BedrockKnowledgeBaseRetriever:
    """An existing Bedrock knowledge base. ``client``: ``bedrock-agent-runtime``; ``agent``:
    ``bedrock-agent`` (for :meth:`check`); both made from ``settings`` when not given."""

    knowledge_base_id: str
    client: Any | None = None
    agent: Any | None = None
    settings: BedrockSettings = field(default_factory=BedrockSettings)
    info: dict[str, Any] | None = None  # what check() found

    @property
    def name(self) -> str:
        return f"bedrock-kb({self.knowledge_base_id})"

    def _runtime(self) -> Any:
        if self.client is None:
            self.client = bedrock_client("bedrock-agent-runtime", self.settings)
        return self.client

    def check(self) -> dict[str, Any]:
        """``GetKnowledgeBase``: the knowledge base exists and is ACTIVE, or BedrockError."""
        if self.agent is None:
            self.agent = bedrock_client("bedrock-agent", self.settings)
        agent = self.agent
        kb = call_bedrock(
            "GetKnowledgeBase",
            self.knowledge_base_id,
            self.settings.timeout_s,
            lambda: agent.get_knowledge_base(knowledgeBaseId=self.knowledge_base_id),
        )["knowledgeBase"]
        status = str(kb.get("status", ""))
        if status.upper() != "ACTIVE":
            raise BedrockError(
                "bedrock_error",
                f"Bedrock knowledge base {self.knowledge_base_id} is {status or 'unknown'}, "
                "not ACTIVE",
                {"operation": "GetKnowledgeBase", "resource": self.knowledge_base_id},
            )
        self.info = {
            "knowledge_base_id": self.knowledge_base_id,
            "name": kb.get("name"),
            "status": status.upper(),
            "arn": kb.get("knowledgeBaseArn"),
        }
        return self.info

    def retrieve(self, question: str, k: int = 4) -> list[Passage]:
        client = self._runtime()
        response = call_bedrock(
            "Retrieve",
            self.knowledge_base_id,
            self.settings.timeout_s,
            lambda: client.retrieve(
                knowledgeBaseId=self.knowledge_base_id,
                retrievalQuery={"text": question},
                retrievalConfiguration={
                    "vectorSearchConfiguration": {"numberOfResults": max(1, k)}
                },
            ),
        )
        passages = []
        for rank, item in enumerate(response.get("retrievalResults", [])[:k], start=1):
            text = _text(item.get("content") or {})
            meta = item.get("metadata") or {}
            uri = _location(item.get("location") or {}) or str(meta.get(_SOURCE_URI, ""))
            title = str(meta.get("title") or uri.rsplit("/", 1)[-1] or f"result {rank}")
            doc_id = meta.get(_CHUNK_ID) or item.get("documentId") or meta.get("id") or uri
            doc = KnowledgeDoc(
                id=str(doc_id or f"bedrock-{rank}"),
                title=title,
                body=text or title,
                source=f"Amazon Bedrock knowledge base {self.knowledge_base_id}",
                path=uri,
            )
            score = float(item.get("score") or 0.0)
            passages.append(Passage(doc=doc, score=score, semantic=score, lexical=0.0, rank=rank))
        return passages


@dataclass
class BedrockComposer:
    """Answers by a Bedrock model (``Converse``); ``client``: ``bedrock-runtime``."""

    model_id: str
    client: Any | None = None
    max_tokens: int = 800
    settings: BedrockSettings = field(default_factory=BedrockSettings)

    @property
    def name(self) -> str:
        return f"bedrock({self.model_id})"

    def compose(self, context: RagContext) -> Answer:
        if self.client is None:
            self.client = bedrock_client("bedrock-runtime", self.settings)
        client = self.client
        response = call_bedrock(
            "Converse",
            self.model_id,
            self.settings.timeout_s,
            lambda: client.converse(
                modelId=self.model_id,
                system=[{"text": SYSTEM_PROMPT}],
                messages=[{"role": "user", "content": [{"text": context.text}]}],
                inferenceConfig={"maxTokens": self.max_tokens, "temperature": 0.0},
            ),
        )
        parts = ((response.get("output") or {}).get("message") or {}).get("content") or []
        text = "".join(str(p.get("text", "")) for p in parts).strip()
        if not text:
            raise BedrockError(
                "bedrock_error",
                f"Amazon Bedrock Converse returned no text (stopReason "
                f"{response.get('stopReason')})",
                {"operation": "Converse", "resource": self.model_id},
            )
        valid = {c["ref"] for c in context.citations()}
        used = tuple(dict.fromkeys(int(n) for n in _CITE.findall(text) if int(n) in valid))
        baseline = TemplateComposer().compose(context)
        return Answer(text, used, baseline.confidence, self.name)
