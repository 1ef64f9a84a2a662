"""The replaced platform's contract (DESIGN.md §7): GET /health, POST /query with
{"question"|"query"} behind the API key, its exact body and error shapes; and the API key on every
data route."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from ons_pipeline_tests.api.conftest import API_KEY, ApiData, frame, rfc3339
from ons_pipeline_tests.api.openapi_check import OpenApiValidator

TOP_KEYS = {
    "query_id", "question", "answer", "confidence_score", "sources", "processing_time_ms",
    "timestamp", "metadata",
}  # fmt: skip
METADATA_KEYS = {
    "query_type", "citation_count", "model_used", "has_timeseries_context",
    "timeseries_confidence",
}  # fmt: skip
SOURCE_KEYS = {"id", "type", "relevance_score", "excerpt", "location"}
TS_KEYS = {"query_type", "influxdb_query", "data_points", "record_count", "processing_time_ms"}
POINT_KEYS = {"timestamp", "measurement", "field", "value", "tags"}


def legacy(client: TestClient, body: object, path: str = "/query", **headers: str) -> tuple:
    response = client.post(path, json=body, headers=headers or None)
    data = response.json()
    OpenApiValidator(client).validate(path, "post", response.status_code, data)
    return response.status_code, data


@pytest.mark.parametrize("path", ["/query", "/v1/query"])
def test_the_legacy_body_with_time_series(client: TestClient, api_data: ApiData, path: str) -> None:
    status, body = legacy(
        client, {"question": "Qual foi a carga média do Sudeste em 2024-03-05?"}, path
    )
    assert status == 200, body
    assert set(body) == TOP_KEYS | {"time_series_data"}
    uuid.UUID(body["query_id"])
    assert isinstance(body["timestamp"], int) and body["processing_time_ms"] > 0
    assert 0 <= body["confidence_score"] <= 1 and body["answer"]
    assert set(body["metadata"]) == METADATA_KEYS
    assert body["metadata"]["query_type"] == "hybrid"
    assert body["metadata"]["has_timeseries_context"] is True
    assert body["metadata"]["citation_count"] >= 2
    for source in body["sources"]:
        assert source["type"] in ("knowledge_base", "time_series")
        assert len(source["excerpt"]) <= 200 and 0 <= source["relevance_score"] <= 1
        if source["type"] == "time_series":
            assert set(source) == SOURCE_KEYS | {"query", "record_count"}
            assert source["query"].startswith("SELECT") and source["record_count"] == 1
        else:
            assert set(source) == SOURCE_KEYS
    ts = body["time_series_data"]
    assert set(ts) == TS_KEYS and ts["record_count"] == 1 and ts["query_type"] == "aggregation"
    (point,) = ts["data_points"]
    assert set(point) == POINT_KEYS
    assert point["measurement"] == "curva_carga" and point["field"] == "val_cargaenergiahomwmed"
    assert point["timestamp"] == "2024-03-05T03:00:00Z"
    df = frame(api_data, "curva_carga", "2024-03-05T03:00:00Z", "2024-03-06T03:00:00Z")
    want = df[df.id_subsistema == "SE"].val_cargaenergiahomwmed.mean()
    assert math.isclose(point["value"], want, rel_tol=1e-9)
    assert ts["influxdb_query"] == next(
        s["query"] for s in body["sources"] if s["type"] == "time_series"
    )


def test_query_alias_and_knowledge_only_answers(client: TestClient) -> None:
    status, body = legacy(client, {"query": "o que é CMO?"})
    assert status == 200, body
    assert body["question"] == "o que é CMO?"
    assert body["metadata"]["has_timeseries_context"] is False
    assert body["metadata"]["query_type"] == "knowledge_base"
    assert "time_series_data" not in body
    kb = [s for s in body["sources"] if s["type"] == "knowledge_base"]
    assert kb[0]["id"] == "cmo" and kb[0]["location"] == "knowledge/cmo.md"


def test_a_timestream_sql_query_runs_in_the_legacy_body(
    client: TestClient, api_data: ApiData
) -> None:
    """The old platform's clients sent SQL in "query": it runs (as InfluxQL) and answers with
    its rows, not with knowledge-base text and a 'not understood' note."""
    sql = (
        "SELECT bin(time, 1d) AS day, max(val_cargaenergiahomwmed) FROM curva_carga "
        "WHERE id_subsistema = 'NE' AND time BETWEEN '2024-03-02' AND '2024-03-04' "
        "GROUP BY bin(time, 1d)"
    )
    status, body = legacy(client, {"query": sql})
    assert status == 200, body
    assert set(body) == TOP_KEYS | {"time_series_data"} and body["question"] == sql
    assert body["metadata"]["query_type"] == "time_series"
    assert body["metadata"]["has_timeseries_context"] is True
    assert [s["type"] for s in body["sources"]] == ["time_series"]
    ts = body["time_series_data"]
    assert ts["query_type"] == "aggregation" and ts["influxdb_query"].startswith("SELECT max(")
    df = frame(api_data, "curva_carga", "2024-03-02T00:00:00Z", "2024-03-04T00:00:01Z")
    df = df[df.id_subsistema == "NE"]
    want = df.groupby(df.time.dt.floor("1D")).val_cargaenergiahomwmed.max()
    assert ts["record_count"] == len(want) == 3 and len(ts["data_points"]) == 3
    for point, (day, value) in zip(ts["data_points"], want.items(), strict=True):
        assert set(point) == POINT_KEYS and point["timestamp"] == rfc3339(day)
        assert point["measurement"] == "curva_carga"
        assert point["field"] == "val_cargaenergiahomwmed" and point["tags"] == {}
        assert math.isclose(point["value"], value, rel_tol=1e-9)
        assert f"{rfc3339(day)}: val_cargaenergiahomwmed = {value:,.2f} MWmed" in body["answer"]
    assert "3 rows" in body["answer"] and "not understood" not in body["answer"]


def test_influxql_in_question_runs_and_a_refused_query_is_a_legacy_400(
    client: TestClient, api_data: ApiData
) -> None:
    influxql = (
        'SELECT max("val_cmo") FROM "cmo_semihorario" WHERE time >= \'2024-03-03T00:00:00Z\' '
        "AND time < '2024-03-04T00:00:00Z' GROUP BY \"id_subsistema\""
    )
    status, body = legacy(client, {"question": influxql})
    assert status == 200, body
    ts = body["time_series_data"]
    assert ts["influxdb_query"] == influxql and ts["query_type"] == "as_written"
    df = frame(api_data, "cmo_semihorario", "2024-03-03T00:00:00Z", "2024-03-04T00:00:00Z")
    want = df.groupby("id_subsistema").val_cmo.max()
    got = {p["tags"]["id_subsistema"]: p["value"] for p in ts["data_points"]}
    assert got.keys() == set(want.index) and ts["record_count"] == len(want)
    assert all(math.isclose(got[k], want[k], rel_tol=1e-9) for k in got)
    assert {p["field"] for p in ts["data_points"]} == {"max"}
    # a SHOW the read-only API runs is a query too
    status, body = legacy(
        client, {"query": 'SHOW TAG VALUES FROM "curva_carga" WITH KEY = "id_subsistema"'}
    )
    assert status == 200 and body["time_series_data"]["record_count"] == 4, body
    # refused or unrunnable queries: the legacy error, pointing to /v2/query
    for text in (
        'DROP MEASUREMENT "curva_carga"',
        'SELECT * INTO "x" FROM "curva_carga"',
        'from(bucket: "ons") |> range(start: -1d)',  # Flux on InfluxDB 1.x
        "SELECT avg(val_cmo) FROM cmo_semihorario WHERE time >= ago(1d) GROUP BY nope(",
    ):
        status, body = legacy(client, {"query": text})
        assert status == 400 and set(body) == {"error", "query_id"}, (text, body)
        assert "/v2/query" in body["error"], body
    assert legacy(client, {"question": "SHOW DATABASES"})[0] == 200


@pytest.mark.parametrize(
    "question",
    [
        "show me the average load in the Southeast on 2024-03-05",
        "select the highest load from the Southeast on 2024-03-05",
        "with the data, what was the average load in the Southeast on 2024-03-05?",
    ],
)
def test_questions_that_look_like_statements_stay_questions(
    client: TestClient, question: str
) -> None:
    status, body = legacy(client, {"question": question})
    assert status == 200, body
    assert not body["metadata"]["model_used"].startswith("direct query")


@pytest.mark.parametrize(
    "payload",
    [{}, {"question": ""}, {"question": "   "}, {"question": "x" * 1001}, {"question": 5}, [1]],
)
def test_bad_requests_are_400_in_the_legacy_shape(client: TestClient, payload: object) -> None:
    status, body = legacy(client, payload)
    assert status == 400 and set(body) == {"error", "query_id"}
    uuid.UUID(body["query_id"])


def test_limits_and_malformed_json(client: TestClient) -> None:
    status, _ = legacy(client, {"question": "carga do Sul ontem " + "x" * 981})
    assert status == 200  # exactly 1000 characters is accepted
    response = client.post("/query", content=b"{nope", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and set(response.json()) == {"error", "query_id"}


def test_legacy_health(client: TestClient) -> None:
    for path in ("/health", "/v1/health"):
        response = client.get(path, headers={"X-API-Key": ""})
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "healthy" and isinstance(body["timestamp"], int)
    v2 = client.get("/v2/health").json()
    assert v2["influxdb"]["reachable"] is True and v2["knowledge_base"]["ready"] is True


# -- the API key ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/query", "/v1/query", "/v2/query", "/v2/context"])
def test_data_routes_need_the_key(client: TestClient, path: str) -> None:
    payload = {"question": "carga do Sul ontem"}
    client.headers.pop("X-API-Key")
    missing = client.post(path, json=payload)
    wrong = client.post(path, json=payload, headers={"X-API-Key": API_KEY[:-1] + "X"})
    bearer_wrong = client.post(path, json=payload, headers={"Authorization": "Bearer nope"})
    for response in (missing, wrong, bearer_wrong):
        assert response.status_code == 401
        body = response.json()
        if path.startswith("/v2"):
            assert body["error"]["code"] == "unauthorized"
        else:
            assert set(body) == {"error", "query_id"}
    ok = client.post(path, json=payload, headers={"Authorization": f"Bearer {API_KEY}"})
    assert ok.status_code == 200, ok.json()


def test_no_configured_key_fails_closed(make_client: Callable[..., TestClient]) -> None:
    client = make_client(api_key=None)
    response = client.post("/v2/query", json={"query": "carga do Sul ontem"})
    assert response.status_code == 401 and "ONS_API_KEY" in response.json()["error"]["message"]
    assert client.post("/query", json={"question": "x"}).status_code == 401
    # open routes
    assert client.get("/health").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/v2/tables").status_code == 200


def test_openapi_documents_every_route_and_the_key(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    for path in ("/query", "/v1/query", "/health", "/v2/query", "/v2/context", "/v2/health"):
        assert path in doc["paths"], path
    schemes = doc["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["Bearer"]["scheme"].lower() == "bearer"
    responses = doc["paths"]["/v2/query"]["post"]["responses"]
    assert {"200", "400", "401", "422", "501", "502", "504"} <= set(responses)
    tables = {t["table"]: t for t in client.get("/v2/tables").json()}
    units = {f["name"]: f["unit"] for f in tables["cmo_semihorario"]["fields"]}
    assert units == {"val_cmo": "R$/MWh"}
