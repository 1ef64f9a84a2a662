"""The Bedrock switch: settings alone (``ONS_RAG_RETRIEVER=bedrock``,
``ONS_BEDROCK_KNOWLEDGE_BASE_ID``, ``ONS_BEDROCK_MODEL_ID``) turn the real app onto an existing
Bedrock knowledge base and model, with real boto3 clients:

- ``GetKnowledgeBase`` (is it there and ACTIVE?) runs against moto, which implements it;
- ``Retrieve`` and ``Converse``, which moto does not implement, are answered by a loopback HTTP
  server with RECORDED RESPONSE SHAPES from the AWS API reference (``bedrock_recorded.py``),
  themselves validated against botocore's service model below.

boto3 finds each endpoint through ``AWS_ENDPOINT_URL_<SERVICE>`` (as a deployment behind VPC
endpoints could). The time series come from the real InfluxDB."""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.validate import ParamValidator
from fastapi.testclient import TestClient

from ons_pipeline.api.app import create_app
from ons_pipeline.lib.influx.secrets import SECURITY_LOGGER
from ons_pipeline.lib.query.backend import InfluxBackend
from ons_pipeline.lib.query.service import QueryProcessor
from ons_pipeline.lib.rag.bedrock import BedrockComposer, BedrockKnowledgeBaseRetriever
from ons_pipeline.lib.rag.compose import TemplateComposer
from ons_pipeline.lib.rag.index import KnowledgeIndex
from ons_pipeline.lib.rag.service import RagService, default_composer, default_retriever
from ons_pipeline.lib.settings import Settings, SettingsError
from ons_pipeline.local.servers import ServerInfo
from ons_pipeline_tests.api.bedrock_recorded import (
    ANSWER_TEXT,
    CONVERSE_RESPONSE,
    RETRIEVE_RESPONSE,
)
from ons_pipeline_tests.api.conftest import API_KEY, ApiData
from ons_pipeline_tests.api.openapi_check import OpenApiValidator
from ons_pipeline_tests.api.stubs import silent_server

MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
QUESTION = "Qual foi a EAR do Sudeste em 2024-03-05?"
# Credentials only this module uses (moto accepts any): none may appear in a log or a response.
ACCESS_KEY = "AKIAONSTESTONLY7Q2Z"
SECRET_KEY = "bedrock-test-secret-Zq8xV1pL4mN7"
SESSION_TOKEN = "bedrock-test-session-Hj5kT2wR9cY3"


# -- the recorded shapes are the real API's ------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "operation", "body"),
    [
        ("bedrock-agent-runtime", "Retrieve", RETRIEVE_RESPONSE),
        ("bedrock-runtime", "Converse", CONVERSE_RESPONSE),
    ],
)
def test_recorded_shapes_match_botocores_service_model(
    service: str, operation: str, body: dict[str, Any]
) -> None:
    shape = botocore.session.get_session().get_service_model(service)
    output = shape.operation_model(operation).output_shape
    report = ParamValidator().validate(body, output)
    assert not report.has_errors(), report.generate_report()
    # and validation is not vacuous: a missing required member or a wrong type is caught
    broken = json.loads(json.dumps(body))
    if operation == "Retrieve":
        broken["retrievalResults"][0]["score"] = "high"
    else:
        del broken["stopReason"]
    assert ParamValidator().validate(broken, output).has_errors()


# -- a loopback Bedrock runtime endpoint serving the recorded shapes ------------------------------


class BedrockStub:
    """``POST /knowledgebases/{id}/retrieve`` and ``POST /model/{id}/converse``; ``fail`` set
    to ``(status, error type)`` answers every call with that AWS error."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail: tuple[int, str] | None = None
        self.url = ""

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        if self.fail is not None:
            status, code = self.fail
            return (
                status,
                {"x-amzn-ErrorType": f"{code}:http://internal.amazon.com/"},
                {"message": f"{code} (stub)"},
            )
        if re.fullmatch(r"/knowledgebases/[^/]+/retrieve", path):
            n = body["retrievalConfiguration"]["vectorSearchConfiguration"]["numberOfResults"]
            return 200, {}, {"retrievalResults": RETRIEVE_RESPONSE["retrievalResults"][:n]}
        if re.fullmatch(r"/model/[^/]+/converse", path):
            return 200, {}, CONVERSE_RESPONSE
        return 404, {"x-amzn-ErrorType": "UnknownOperationException"}, {"message": path}


@contextmanager
def bedrock_stub() -> Iterator[BedrockStub]:
    stub = BedrockStub()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            from urllib.parse import unquote

            path = unquote(self.path.split("?", 1)[0])
            stub.calls.append({"path": path, "body": body, "headers": dict(self.headers)})
            status, headers, answer = stub.answer(path, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def bedrock(moto_server: ServerInfo, monkeypatch: pytest.MonkeyPatch) -> Iterator[BedrockStub]:
    """The stub runtime endpoints, moto for bedrock-agent, this module's credentials."""
    with bedrock_stub() as stub:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENT", moto_server.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME", stub.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", stub.url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
        # boto3's default session keeps the credentials it first found: a fresh one reads these.
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
        yield stub


def create_knowledge_base(moto_url: str) -> dict[str, Any]:
    """An 'existing' knowledge base, created in moto the way an operator creates one."""
    agent = boto3.client("bedrock-agent", endpoint_url=moto_url, region_name="us-east-1")
    return agent.create_knowledge_base(
        name=f"ons-kb-{uuid.uuid4().hex[:6]}",
        roleArn="arn:aws:iam::123456789012:role/ons-kb",
        knowledgeBaseConfiguration={
            "type": "VECTOR",
            "vectorKnowledgeBaseConfiguration": {
                "embeddingModelArn": (
                    "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"
                )
            },
        },
        storageConfiguration={
            "type": "OPENSEARCH_SERVERLESS",
            "opensearchServerlessConfiguration": {
                "collectionArn": "arn:aws:aoss:us-east-1:123456789012:collection/ons",
                "vectorIndexName": "ons",
                "fieldMapping": {"vectorField": "v", "textField": "t", "metadataField": "m"},
            },
        },
    )["knowledgeBase"]


@pytest.fixture
def knowledge_base(moto_server: ServerInfo) -> dict[str, Any]:
    return create_knowledge_base(moto_server.url)


def bedrock_app(api_data: ApiData, **env: str) -> TestClient:
    """The app as ``ons-pipeline serve`` builds it: from settings only."""
    settings = Settings.from_env(
        {
            "ONS_INFLUX_URL": api_data.url,
            "ONS_INFLUX_DATABASE": api_data.db,
            "ONS_API_KEY": API_KEY,
            **env,
        }
    )
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    client.headers["X-API-Key"] = API_KEY
    return client


def bedrock_env(kb_id: str, **extra: str) -> dict[str, str]:
    return {
        "ONS_RAG_RETRIEVER": "bedrock",
        "ONS_BEDROCK_KNOWLEDGE_BASE_ID": kb_id,
        "ONS_BEDROCK_MODEL_ID": MODEL,
        **extra,
    }


def secret_free(text: str) -> bool:
    return not any(s in text for s in (SECRET_KEY, SESSION_TOKEN, ACCESS_KEY))


# -- the switch -----------------------------------------------------------------------------------


def test_settings_switch_the_app_to_the_knowledge_base_and_model(
    bedrock: BedrockStub,
    knowledge_base: dict[str, Any],
    api_data: ApiData,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="ons_pipeline")
    caplog.set_level(logging.INFO)
    kb_id = knowledge_base["knowledgeBaseId"]
    client = bedrock_app(api_data, **bedrock_env(kb_id))
    health = client.get("/v2/health").json()["knowledge_base"]
    assert health == {"ready": False, "backend": "bedrock"}  # health never calls Bedrock

    response = client.post("/v2/context", json={"question": QUESTION, "k": 2})
    body = response.json()
    assert response.status_code == 200, body
    OpenApiValidator(client).validate("/v2/context", "post", 200, body)
    assert body["retriever"] == f"bedrock-kb({kb_id})"
    assert body["answer"]["composer"] == f"bedrock({MODEL})"
    assert body["answer"]["text"] == ANSWER_TEXT
    assert body["answer"]["citations_used"] == [1, 2]  # [9] names no source: dropped
    # [1] the time series from InfluxDB, then the knowledge base's passages, in its order.
    kinds = [(c["ref"], c["type"]) for c in body["citations"]]
    assert kinds == [(1, "time_series"), (2, "knowledge_base"), (3, "knowledge_base")]
    ear, ena = body["citations"][1], body["citations"][2]
    assert ear["location"] == "s3://ons-kb-docs/conceitos/ear.md"
    assert ear["doc_id"] == "1%3A0%3AqG7tdZEBv3c1mZ2k8x4R"  # the chunk: unique per passage
    assert ear["title"] == "ear.md" and ear["relevance_score"] == pytest.approx(0.7183)
    assert "Energia Armazenada" in ear["excerpt"] and "ENA" in ena["excerpt"]
    assert "[2]" in body["context"] and "Energia Armazenada" in body["context"]
    # What went over the wire, as the real services expect it.
    retrieve, converse = bedrock.calls
    assert retrieve["path"] == f"/knowledgebases/{kb_id}/retrieve"
    assert retrieve["body"]["retrievalQuery"] == {"text": QUESTION}
    assert retrieve["body"]["retrievalConfiguration"] == {
        "vectorSearchConfiguration": {"numberOfResults": 2}
    }
    assert converse["path"] == f"/model/{MODEL}/converse"
    assert converse["body"]["messages"] == [
        {"role": "user", "content": [{"text": body["context"]}]}
    ]
    assert converse["body"]["inferenceConfig"] == {"maxTokens": 800, "temperature": 0.0}
    assert "cite every fact" in converse["body"]["system"][0]["text"]
    assert retrieve["headers"]["Authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}"
    )

    # GetKnowledgeBase ran against moto once (moto says "Active"; AWS says "ACTIVE").
    health = client.get("/v2/health").json()["knowledge_base"]
    assert health["ready"] is True and health["backend"] == "bedrock"
    assert health["status"] == "ACTIVE" and health["name"] == knowledge_base["name"]
    assert health["knowledge_base_id"] == kb_id

    # The legacy contract, same switch.
    legacy = client.post("/query", json={"question": QUESTION})
    data = legacy.json()
    assert legacy.status_code == 200, data
    assert data["metadata"]["model_used"] == f"bedrock({MODEL}) + bedrock-kb({kb_id})"
    kb_sources = [s for s in data["sources"] if s["type"] == "knowledge_base"]
    assert [s["location"] for s in kb_sources] == [
        "s3://ons-kb-docs/conceitos/ear.md",
        "s3://ons-kb-docs/conceitos/ena.md",
        "s3://ons-kb-docs/conceitos/subsistemas.md",
    ]
    assert all(len(s["excerpt"]) <= 200 for s in kb_sources)
    assert data["answer"] == ANSWER_TEXT
    assert len(bedrock.calls) == 4
    # No credential in any log line or response.
    assert secret_free(caplog.text) and secret_free(legacy.text) and secret_free(response.text)


def test_a_bedrock_model_answers_over_the_local_knowledge_index(
    bedrock: BedrockStub, api_data: ApiData, knowledge_index: KnowledgeIndex
) -> None:
    settings = Settings.from_env(
        {
            "ONS_INFLUX_URL": api_data.url,
            "ONS_INFLUX_DATABASE": api_data.db,
            "ONS_BEDROCK_MODEL_ID": MODEL,
        }
    )
    assert settings.api.rag_retriever == "local"
    processor = QueryProcessor(InfluxBackend.connect(settings.influx), settings.api)
    rag = RagService(processor, retriever=knowledge_index)  # the composer from the settings
    result = rag.run(QUESTION)
    assert result.answer.composer == f"bedrock({MODEL})" and result.answer.text == ANSWER_TEXT
    assert [c["path"] for c in bedrock.calls] == [f"/model/{MODEL}/converse"]
    processor.backend.close()


def test_without_bedrock_settings_nothing_changes() -> None:
    api = Settings.from_env({"ONS_RAG_EMBEDDER": "hashing"}).api
    assert api.rag_retriever == "local" and api.bedrock.model_id is None
    assert isinstance(default_retriever(api), KnowledgeIndex)
    assert isinstance(default_composer(api), TemplateComposer)
    chosen = Settings.from_env(
        {
            "ONS_RAG_RETRIEVER": "Bedrock",
            "ONS_BEDROCK_KNOWLEDGE_BASE_ID": "KB12345678",
            "ONS_BEDROCK_REGION": "sa-east-1",
            "ONS_BEDROCK_TIMEOUT": "5",
        }
    ).api
    retriever = default_retriever(chosen)
    assert isinstance(retriever, BedrockKnowledgeBaseRetriever)
    assert retriever.knowledge_base_id == "KB12345678" and retriever.settings.region == "sa-east-1"
    assert retriever.settings.timeout_s == 5.0 and retriever.client is None  # no call yet
    with pytest.raises(SettingsError, match="ONS_BEDROCK_KNOWLEDGE_BASE_ID"):
        Settings.from_env({"ONS_RAG_RETRIEVER": "bedrock"})
    with pytest.raises(SettingsError, match="ONS_RAG_RETRIEVER"):
        Settings.from_env({"ONS_RAG_RETRIEVER": "opensearch"})
    assert Settings.from_env({"AWS_REGION": "eu-west-1"}).api.bedrock.region == "eu-west-1"
    composer = default_composer(Settings.from_env({"ONS_BEDROCK_MODEL_ID": MODEL}).api)
    assert isinstance(composer, BedrockComposer) and composer.model_id == MODEL


# -- failures -------------------------------------------------------------------------------------


def test_a_knowledge_base_that_does_not_exist_is_502(
    bedrock: BedrockStub,
    api_data: ApiData,
    moto_server: ServerInfo,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    client = bedrock_app(api_data, **bedrock_env("NOSUCHKB01"))
    response = client.post("/v2/context", json={"question": QUESTION})
    error = response.json()["error"]
    assert response.status_code == 502, error
    assert error["code"] == "bedrock_error"
    assert error["details"] == {
        "operation": "GetKnowledgeBase",
        "resource": "NOSUCHKB01",
        "aws_error": "ResourceNotFoundException",
    }
    legacy = client.post("/query", json={"question": QUESTION})
    assert legacy.status_code == 500 and set(legacy.json()) == {"error", "query_id"}
    assert client.get("/v2/health").json()["knowledge_base"]["ready"] is False
    assert bedrock.calls == []  # never retrieved from an unchecked knowledge base

    def checks() -> int:
        return caplog.text.count("Bedrock GetKnowledgeBase on NOSUCHKB01 failed")

    # Two requests, one GetKnowledgeBase: a failed check is not repeated for 30 s ...
    assert checks() == 1
    rag = client.app.state.rag  # type: ignore[attr-defined]
    clock = rag._clock
    rag._clock = lambda: clock() + 31
    # ... then it is.
    assert client.post("/v2/context", json={"question": QUESTION}).status_code == 502
    assert checks() == 2


def test_refused_and_throttled_calls_fail_loudly_after_retries(
    bedrock: BedrockStub,
    knowledge_base: dict[str, Any],
    api_data: ApiData,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    client = bedrock_app(api_data, **bedrock_env(knowledge_base["knowledgeBaseId"]))
    bedrock.fail = (403, "AccessDeniedException")
    response = client.post("/v2/context", json={"question": QUESTION})
    assert response.status_code == 502
    assert response.json()["error"]["details"]["aws_error"] == "AccessDeniedException"
    assert len(bedrock.calls) == 1  # a refusal is not retried
    (event,) = [
        r.security_event  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == SECURITY_LOGGER and r.security_event["event"] == "bedrock.access_denied"  # type: ignore[attr-defined]
    ]
    assert event["operation"] == "Retrieve"
    assert event["resource"] == knowledge_base["knowledgeBaseId"]

    bedrock.calls.clear()
    bedrock.fail = (429, "ThrottlingException")
    response = client.post("/v2/context", json={"question": QUESTION})
    assert response.status_code == 502
    assert response.json()["error"]["details"]["aws_error"] == "ThrottlingException"
    assert len(bedrock.calls) == 3  # botocore's standard retries: ONS_BEDROCK_MAX_ATTEMPTS
    assert secret_free(caplog.text) and secret_free(response.text)


def test_a_model_that_does_not_answer_is_504_and_a_counted_timeout(
    bedrock: BedrockStub,
    knowledge_base: dict[str, Any],
    api_data: ApiData,
    moto_server: ServerInfo,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environment = f"test-{uuid.uuid4().hex[:10]}"
    with silent_server() as silent:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", silent)
        client = bedrock_app(
            api_data,
            **bedrock_env(
                knowledge_base["knowledgeBaseId"],
                ONS_BEDROCK_TIMEOUT="0.5",
                ONS_BEDROCK_MAX_ATTEMPTS="1",
                ONS_METRICS_ENVIRONMENT=environment,
                ONS_AWS_ENDPOINT_URL=moto_server.url,
                ONS_API_METRICS_INTERVAL="3600",
            ),
        )
        response = client.post("/v2/context", json={"question": QUESTION})
        legacy = client.post("/query", json={"question": QUESTION})
    error = response.json()["error"]
    assert response.status_code == 504 and error["code"] == "bedrock_timeout"
    assert error["details"]["operation"] == "Converse"
    assert legacy.status_code == 500  # the legacy contract has no 504
    assert client.app.state.api_metrics.flush() > 0  # type: ignore[attr-defined]
    from ons_pipeline_tests.api.test_observability import stats

    cw = boto3.client("cloudwatch", endpoint_url=moto_server.url, region_name="us-east-1")
    assert stats(cw, environment, "ApiTimeouts", "POST /v2/context") == 1
    assert stats(cw, environment, "ApiTimeouts", "POST /query") == 1
    assert stats(cw, environment, "Api5xxErrors", "POST /query") == 1


def test_the_switch_is_documented() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for variable in (
        "ONS_RAG_RETRIEVER",
        "ONS_BEDROCK_KNOWLEDGE_BASE_ID",
        "ONS_BEDROCK_MODEL_ID",
        "ONS_BEDROCK_REGION",
        "ONS_BEDROCK_ENDPOINT_URL",
        "ONS_BEDROCK_TIMEOUT",
    ):
        assert variable in readme, variable
    assert "recorded response shapes" in readme.lower()
