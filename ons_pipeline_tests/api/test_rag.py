"""RAG: the decision, citations that name the exact time range, query and points used (checked
against the generated data), live enrichment of retrieved documents, and retrieval quality of the
real embedding model."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from ons_pipeline.lib.query.model import QueryModel
from ons_pipeline.lib.rag.bedrock import BedrockComposer, BedrockKnowledgeBaseRetriever
from ons_pipeline.lib.rag.compose import fmt_number
from ons_pipeline.lib.rag.index import KnowledgeIndex
from ons_pipeline.lib.rag.knowledge import load_knowledge
from ons_pipeline.lib.rag.pipeline import RagPipeline
from ons_pipeline.lib.settings import InfluxSettings
from ons_pipeline_tests.api.conftest import NOW, ApiData, frame, rfc3339
from ons_pipeline_tests.api.openapi_check import OpenApiValidator
from ons_pipeline_tests.api.stubs import closed_port_url


def context(client: TestClient, question: str, **extra: object) -> dict:
    response = client.post("/v2/context", json={"question": question, **extra})
    body = response.json()
    assert response.status_code == 200, body
    OpenApiValidator(client).validate("/v2/context", "post", 200, body)
    return body


def close(a: float | None, b: float) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def test_data_question_cites_exact_range_query_and_points(
    client: TestClient, api_data: ApiData
) -> None:
    body = context(client, "Qual foi a carga média do Sudeste em 2024-03-05?")
    assert body["needs_timeseries"] is True and body["language"] == "pt"
    ts = body["citations"][0]
    assert ts["ref"] == 1 and ts["type"] == "time_series" and ts["purpose"] == "question"
    assert ts["measurement"] == "curva_carga" and ts["tags"] == {"id_subsistema": ["SE"]}
    tr = ts["time_range"]
    assert (tr["start"], tr["end"]) == ("2024-03-05T03:00:00Z", "2024-03-06T03:00:00Z")
    assert tr["start_ns"] == pd.Timestamp(tr["start"]).value
    df = frame(api_data, "curva_carga", tr["start"], tr["end"])
    want = df[df.id_subsistema == "SE"].val_cargaenergiahomwmed.mean()
    assert ts["record_count"] == 1 and ts["points_selection"] == "all"
    (point,) = ts["points"]
    assert point["time"] == tr["start"] and close(
        point["values"]["mean_val_cargaenergiahomwmed"], want
    )
    assert ts["query"]["language"] == "influxql"
    assert ts["answered_from"]["kind"] == "raw"
    assert ts["answered_from"]["measurements"] == ["curva_carga"]
    assert f"time >= '{tr['start']}' AND time < '{tr['end']}'" in ts["query"]["text"]
    assert "\"id_subsistema\" = 'SE'" in ts["query"]["text"]
    # the context block names all of it under [1]
    block = body["context"]
    assert "[1] Time series" in block and tr["start"] in block and ts["query"]["text"] in block
    assert repr(point["values"]["mean_val_cargaenergiahomwmed"]) in block
    # the answer cites the data and the documents it used
    answer = body["answer"]
    assert 1 in answer["citations_used"] and "[1]" in answer["text"]
    assert fmt_number(want, "pt") + " MWmed" in answer["text"]  # e.g. 41.843,14 MWmed
    cited_docs = [c for c in body["citations"] if c["type"] == "knowledge_base"]
    assert "carga" in [c["doc_id"] for c in cited_docs]
    for ref in answer["citations_used"]:
        assert f"[{ref}]" in answer["text"]


def _bullets(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("•")]


def test_an_extreme_answer_states_when(client: TestClient, api_data: ApiData) -> None:
    """The maximum's line says when it happened (Brasília time and the cited UTC instant) —
    asked 'when' or not, in /v2/context and in the legacy answer alike; a whole-range mean
    states no time (its row's time is only the range's start)."""
    df = frame(api_data, "curva_carga", "2024-03-01T03:00:00Z", "2024-04-01T03:00:00Z")
    ne = df[df.id_subsistema == "NE"].set_index("time").val_cargaenergiahomwmed
    at = ne.idxmax()
    local = at.tz_convert("America/Sao_Paulo")
    when = f"em {local:%d/%m/%Y %H:%M} (horário de Brasília; {rfc3339(at)})"
    for question in (
        "qual foi a carga máxima do Nordeste em março de 2024 e quando?",
        "qual foi a carga máxima do Nordeste em março de 2024?",
    ):
        body = context(client, question)
        (point,) = body["citations"][0]["points"]
        assert point["time"] == rfc3339(at)
        (line,) = _bullets(body["answer"]["text"])
        assert line.endswith(fmt_number(ne.max(), "pt") + " MWmed, " + when), line
        legacy = client.post("/query", json={"question": question}).json()
        assert when in legacy["answer"], legacy["answer"]
    # the day (a 1-day window, local) with the highest mean
    se = df[df.id_subsistema == "SE"]
    days = se.groupby(se.time.dt.tz_convert("America/Sao_Paulo").dt.floor("D"))
    day = days.val_cargaenergiahomwmed.mean().idxmax()
    body = context(client, "which day had the highest load in the Southeast in March 2024?")
    (line,) = _bullets(body["answer"]["text"])
    utc = rfc3339(day.tz_convert("UTC"))
    assert line.endswith(f"in the 1d window starting {day:%Y-%m-%d} (Brasília time; {utc})"), line
    # a mean over the whole range: no time
    body = context(client, "Qual foi a carga média do Sudeste em 2024-03-05?")
    (line,) = _bullets(body["answer"]["text"])
    assert line.endswith(" MWmed") and "Brasília" not in line


def test_points_and_summaries_of_a_series(client: TestClient, api_data: ApiData) -> None:
    body = context(client, "carga do Sul por hora em 2024-03-04", max_points=10)
    ts = body["citations"][0]
    tr = ts["time_range"]
    df = frame(api_data, "curva_carga", tr["start"], tr["end"])
    df = df[df.id_subsistema == "S"].sort_values("time")
    assert ts["record_count"] == len(df) == 24
    assert len(ts["points"]) == 10 and ts["points_selection"].startswith("10 of 24")
    by_time = {rfc3339(t): v for t, v in zip(df.time, df.val_cargaenergiahomwmed, strict=True)}
    assert ts["points"][0]["time"] == rfc3339(df.time.iloc[0])
    assert ts["points"][-1]["time"] == rfc3339(df.time.iloc[-1])
    for point in ts["points"]:
        assert close(point["values"]["mean_val_cargaenergiahomwmed"], by_time[point["time"]])
    (stat,) = ts["series"][0]["stats"]
    values = df.val_cargaenergiahomwmed
    assert stat["count"] == 24 and close(stat["mean"], values.mean())
    assert close(stat["min"], values.min()) and close(stat["max"], values.max())
    assert stat["max_time"] == rfc3339(df.time.iloc[int(values.to_numpy().argmax())])
    assert close(stat["last"], values.iloc[-1]) and stat["unit"] == "MWmed"


def test_conceptual_question_uses_the_knowledge_base_and_live_data(
    client: TestClient, api_data: ApiData
) -> None:
    body = context(client, "o que é EAR?")
    assert body["needs_timeseries"] is False and "conceptual" in body["decision_reason"]
    kb = [c for c in body["citations"] if c["type"] == "knowledge_base"]
    assert kb[0]["doc_id"] == "ear" and kb[0]["location"] == "knowledge/ear.md"
    live = [c for c in body["citations"] if c["type"] == "time_series"]
    assert len(live) == 1 and live[0]["purpose"] == "enrichment" and live[0]["doc_id"] == "ear"
    assert live[0]["ref"] == kb[0]["ref"] + 1
    tr = live[0]["time_range"]
    start = rfc3339(pd.Timestamp(NOW) - pd.Timedelta(days=7))
    assert (tr["start"], tr["end"]) == (start, rfc3339(pd.Timestamp(NOW)))
    df = frame(api_data, "ear_diario", tr["start"], tr["end"]).sort_values("time")
    want = df.groupby("id_subsistema").ear_verif_subsistema_percentual.last()
    got = {p["tags"]["id_subsistema"]: p["values"] for p in live[0]["points"]}
    assert set(got) == set(want.index)
    for sub, value in want.items():
        assert close(got[sub]["last_ear_verif_subsistema_percentual"], value)
    assert set(body["answer"]["citations_used"]) >= {kb[0]["ref"], live[0]["ref"]}


def test_questions_with_gaps_are_answered_from_documents(client: TestClient) -> None:
    body = context(client, "What is the difference between PLD and CMO?")
    assert body["language"] == "en" and body["needs_timeseries"] is False
    assert "pld" in body["decision_reason"].lower()
    assert body["citations"][0]["doc_id"] == "pld-cmo"
    assert "Not understood" in body["answer"]["text"]
    # knowledge only, on request
    only_kb = context(client, "Qual foi a carga média do Sudeste em 2024-03-05?", timeseries=False)
    assert all(c["type"] == "knowledge_base" for c in only_kb["citations"])


def test_influx_failure_is_cited_not_fatal(make_client: Callable[..., TestClient]) -> None:
    client = make_client(influx=InfluxSettings.of(url=closed_port_url(), database="ons"))
    body = context(client, "Qual foi a carga média do Sudeste em 2024-03-05?")
    ts = body["citations"][0]
    assert ts["error"] and "unreachable" in ts["error"] and ts["points"] == []
    assert "[1]" in body["answer"]["text"]


# -- retrieval with the real model --------------------------------------------------------------

HYBRID_CASES = [
    ("reservatórios", "ear"),
    ("nível dos reservatórios", "ear"),
    ("Como estão os reservatórios do Nordeste?", "ear"),
    ("stored energy in reservoirs", "ear"),
    ("Qual a diferença entre PLD e CMO?", "pld-cmo"),
    ("what is the marginal cost of operation?", "cmo"),
    ("horário de verão", "horario-verao"),
    ("bandeira vermelha", "bandeiras"),
    ("fluxo de energia do Norte para o Sudeste", "intercambio"),
    ("what does %MLT mean?", "mlt"),
    ("how much wind power", "geracao-fonte"),
    ("thermal plants merit order", "despacho-termico"),
    ("quanto choveu", "ena"),
    ("unidade MWmed", "mwmed"),
    ("rainy season", "periodo-umido-seco"),
    ("maiores usinas da Bahia", "geracao-usina"),
    ("o que é o SIN?", "sin"),
    ("quais são os subsistemas?", "subsistemas"),
    ("o que é o ONS?", "ons"),
    ("explique o CMO", "cmo"),
    ("what is the energy balance?", "balanco"),
]
SEMANTIC_CASES = [
    ("reservatórios", "ear"),
    ("what is the marginal cost of operation?", "cmo"),
    ("daylight saving time in the data", "horario-verao"),
    ("what does %MLT mean?", "mlt"),
    ("rainy season", "periodo-umido-seco"),
    ("bandeira vermelha", "bandeiras"),
    ("Qual a diferença entre PLD e CMO?", "pld-cmo"),
    ("fluxo de energia do Norte para o Sudeste", "intercambio"),
]


def test_hybrid_retrieval(knowledge_index: KnowledgeIndex) -> None:
    misses = []
    for question, doc_id in HYBRID_CASES:
        top = knowledge_index.retrieve(question, 3)[0]
        if top.doc.id != doc_id:
            misses.append((question, doc_id, top.doc.id))
    assert not misses


def test_embeddings_alone_retrieve_sensibly(knowledge_index: KnowledgeIndex) -> None:
    ids = [d.id for d in knowledge_index.docs]
    for question, doc_id in SEMANTIC_CASES:
        scores = knowledge_index.semantic_scores(question)
        assert ids[int(np.argmax(scores))] == doc_id, question
    vectors = knowledge_index.vectors()
    assert vectors.shape == (2 * len(ids), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_embeddings_are_cached_on_disk(knowledge_index: KnowledgeIndex) -> None:
    again = KnowledgeIndex(
        knowledge_index.docs, knowledge_index.embedder, cache_dir=knowledge_index.cache_dir
    )
    assert np.array_equal(again.vectors(), knowledge_index.vectors())
    assert again.cache_hit is True


def test_knowledge_base_documents() -> None:
    docs = load_knowledge()
    assert 15 <= len(docs) <= 25
    for doc in docs:
        assert doc.title and len(doc.plain_body) > 200 and doc.aliases, doc.id
        assert len(doc.excerpt()) <= 200
        if doc.live is not None:  # every live query is a valid model over the schema
            model = QueryModel.from_dict(
                doc.live.to_model_dict("2024-03-01T00:00:00Z", "2024-03-08T00:00:00Z")
            )
            assert model.table == doc.live.table
    wanted = {"sin", "subsistemas", "carga", "ear", "ena", "mlt", "cmo", "pld-cmo", "intercambio",
              "geracao-fonte", "bandeiras", "horario-verao", "mwmed"}  # fmt: skip
    assert wanted <= {d.id for d in docs}


# -- managed backends behind the same interfaces (stub clients, no AWS) -------------------------


class _StubAgentRuntime:
    def __init__(self) -> None:
        self.calls: list[dict] = []

    def retrieve(self, **kwargs: object) -> dict:
        self.calls.append(kwargs)
        return {
            "retrievalResults": [
                {
                    "content": {"text": "A EAR é a energia armazenada nos reservatórios."},
                    "location": {"type": "S3", "s3Location": {"uri": "s3://kb/ear.md"}},
                    "score": 0.81,
                    "metadata": {"title": "EAR"},
                }
            ]
        }


class _StubRuntime:
    def __init__(self, text: str) -> None:
        self.text = text
        self.prompt = ""

    def converse(self, **kwargs: object) -> dict:
        messages = kwargs["messages"]
        self.prompt = messages[0]["content"][0]["text"]  # type: ignore[index]
        return {"output": {"message": {"content": [{"text": self.text}]}}}


def test_bedrock_backends_with_stub_clients(client: TestClient, api_data: ApiData) -> None:
    agent = _StubAgentRuntime()
    retriever = BedrockKnowledgeBaseRetriever("KB123", client=agent)
    runtime = _StubRuntime("A EAR do Sudeste foi X [1], ver [2]; e [9] não existe.")
    processor = client.app.state.processor  # type: ignore[attr-defined]
    pipeline = RagPipeline(
        retriever, lambda m: processor.execute_model(m)[0], BedrockComposer("m", client=runtime)
    )
    result = pipeline.run("EAR do Sudeste em 2024-03-05", now=NOW)
    assert agent.calls[0]["knowledgeBaseId"] == "KB123"
    assert [c["type"] for c in result.citations] == ["time_series", "knowledge_base"]
    assert result.citations[1]["location"] == "s3://kb/ear.md"
    assert runtime.prompt == result.context.text and "[1] Time series" in runtime.prompt
    assert result.answer.citations_used == (1, 2)  # [9] names no source: dropped
    assert 0 < result.answer.confidence <= 1


@pytest.mark.parametrize("question", ["carga média do Sul ontem", "o que é ENA?"])
def test_context_is_deterministic(client: TestClient, question: str) -> None:
    first, second = context(client, question), context(client, question)
    for key in ("context", "citations", "answer"):
        a, b = first[key], second[key]
        if key == "citations":
            for item in a + b:
                item.pop("elapsed_ms", None)
        assert a == b
