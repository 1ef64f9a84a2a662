"""Structured errors and their HTTP statuses: bad queries (400), API key (401), invalid requests
and untranslatable questions (422), Flux on 1.x (501), InfluxDB failures (502), timeouts (504),
unexpected errors (500) — each validated against the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from ons_pipeline.lib.settings import InfluxSettings
from ons_pipeline_tests.api.conftest import ApiData
from ons_pipeline_tests.api.openapi_check import OpenApiValidator
from ons_pipeline_tests.api.stubs import closed_port_url, silent_server, stub_server

FLUX_CSV = (
    "#datatype,string,long,dateTime:RFC3339,string,double\r\n"
    "#group,false,false,false,true,false\r\n"
    "#default,_result,,,,\r\n"
    ",result,table,_time,id_subsistema,mean_val_cmo\r\n"
    ",,0,2024-03-05T00:00:00Z,S,101.5\r\n"
    ",,0,2024-03-06T00:00:00Z,S,99.25\r\n"
    "\r\n"
)


def error_of(client: TestClient, status: int, **body: object) -> dict:
    response = client.post("/v2/query", json=body)
    data = response.json()
    assert response.status_code == status, data
    OpenApiValidator(client).validate("/v2/query", "post", status, data)
    assert data["error"]["status"] == status
    assert response.headers["X-Query-Id"] == data["query_id"]
    return data["error"]


def test_bad_queries_are_400(client: TestClient) -> None:
    err = error_of(client, 400, query="SELECT FROM WHERE", language="influxql")
    assert err["code"] == "query_error" and "InfluxDB" in err["message"]
    err = error_of(
        client,
        400,
        query='SELECT avg(measure_value::double) FROM "ons_energy_data"."generation_data" '
        "WHERE region LIKE 'so%'",
    )
    assert err["code"] == "sql_error" and err["details"]["construct"] == "LIKE"
    assert err["details"]["line"] == 1 and err["details"]["column"] > 0
    # a field the loader never wrote is an error, not an empty answer
    err = error_of(client, 400, query="SELECT avg(val_missing) FROM cmo_semihorario")
    assert err["code"] == "sql_error" and "val_missing" in err["message"]


@pytest.mark.parametrize(
    "query",
    [
        'SELECT * INTO "copy" FROM "curva_carga"',
        'DROP DATABASE "ons"',
        'SELECT * FROM "curva_carga"; DROP MEASUREMENT "curva_carga"',
        "SHOW USERS",
        'DELETE FROM "curva_carga"',
    ],
)
def test_writes_and_admin_statements_are_refused(
    client: TestClient, api_data: ApiData, query: str
) -> None:
    err = error_of(client, 400, query=query, language="influxql")
    assert err["code"] == "forbidden_statement"


def test_flux_that_writes_or_calls_out_is_refused(client: TestClient) -> None:
    """Refused before any server is asked (a 1.x server would answer 501 for any Flux)."""
    for flux in (
        'from(bucket: "ons") |> range(start: -1h) |> to(bucket: "copy")',
        'import "http"\nhttp.post(url: "http://169.254.169.254/", data: bytes(v: ""))',
    ):
        err = error_of(client, 400, query=flux, language="flux")
        assert err["code"] == "forbidden_statement", flux


def test_questions_that_cannot_be_mapped_are_422(client: TestClient) -> None:
    err = error_of(client, 422, query="qual é a cor do céu?")
    assert err["code"] == "untranslatable_question"
    err = error_of(client, 422, query="PLD do Sudeste ontem")
    assert err["code"] == "untranslatable_question" and "PLD" in err["message"]
    # a model was built, but part of the question was not understood: no silently wrong query
    err = error_of(client, 422, query="carga e PLD do Sudeste ontem")
    assert err["code"] == "incomplete_translation"
    assert err["details"]["model"]["table"] == "curva_carga"
    kinds = {u["kind"] for u in err["details"]["translation"]["unmapped"]}
    assert "measure" in kinds
    # issue #12: a word not understood refuses the question (it was answered with a warning),
    # with what was not understood and suggestions; lenient mode keeps the older behaviour
    err = error_of(client, 422, query="Como andam os reservatórios do Nordeste?")
    assert err["code"] == "incomplete_translation"
    assert [u["text"] for u in err["details"]["not_understood"]] == ["andam"]
    assert err["details"]["suggestions"] and err["details"]["interpretation"]
    ok = client.post(
        "/v2/query",
        json={"query": "Como andam os reservatórios do Nordeste?", "lenient": True},
    )
    assert ok.status_code == 200 and "andam" in ok.json()["warnings"][0]


@pytest.mark.parametrize(
    ("question", "kind", "text"),
    [
        ("carga do subsistema Centro-Sul em março de 2024", "filter", "Centro"),
        ("geração das usinas a hidrogênio em 2023", "word", "hidrogênio"),
        ("carga do Sudeste na Quaresma de 2024", "period", "Quaresma"),
        ("carga do Sul no fim da madrugada de 3 de março", "period", "fim da madrugada"),
        ("carga do Norte em 31/02/2024", "period", "31/02/2024"),
        ("top 2,5 usinas em março de 2024", "number", "2,5"),
        ("as cinco mil maiores usinas em 2023", "number", "cinco mil"),
        ("average load in the Midwest-South region in 2024", "subsystem", "Midwest-South region"),
    ],
)
def test_what_is_not_understood_is_refused_never_broadened(
    client: TestClient, question: str, kind: str, text: str
) -> None:
    """A filter, period, number or word not understood: 422 naming it, in lenient mode too for
    filters, periods and numbers — never an answer for all subsystems, the whole month..."""
    err = error_of(client, 422, query=question)
    assert err["code"] in ("incomplete_translation", "untranslatable_question"), err
    found = {(u["kind"], u["text"]) for u in err["details"]["not_understood"]}
    assert (kind, text) in found, found
    assert err["details"]["suggestions"]
    if kind != "word":
        assert error_of(client, 422, query=question, lenient=True)["details"]["not_understood"]


def test_filler_words_are_ignored_with_a_warning(client: TestClient) -> None:
    ok = client.post("/v2/query", json={"query": "Por favor, qual a carga média do Sul ontem?"})
    assert ok.status_code == 200, ok.json()
    assert any("Por favor" in w for w in ok.json()["warnings"])
    err = error_of(client, 422, query="Por favor, qual a carga média do Sul ontem?", strict=True)
    assert err["code"] == "incomplete_translation"
    assert error_of(client, 422, query="x", strict=True, lenient=True)["code"] == (
        "validation_error"
    )


def test_invalid_requests_are_422(client: TestClient) -> None:
    err = error_of(client, 422, query="")
    assert err["code"] == "validation_error" and err["details"]["errors"]
    assert error_of(client, 422, query="x", bogus=1)["code"] == "validation_error"
    assert error_of(client, 422, query="x", max_rows=0)["code"] == "validation_error"
    assert error_of(client, 422, query="x", language="cobol")["code"] == "validation_error"
    err = error_of(client, 422, query="carga do Sul ontem", timezone="Mars/Olympus")
    assert err["code"] == "validation_error" and "Mars/Olympus" in err["message"]
    response = client.post(
        "/v2/query", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "validation_error"


def test_flux_on_1x_is_501_and_never_sent(make_client: Callable[..., TestClient]) -> None:
    with stub_server({"/query": (200, "application/json", '{"results":[]}')}) as (url, seen):
        client = make_client(influx=InfluxSettings.of(url=url, database="ons"))
        err = error_of(client, 501, query="CMO do Sul por dia ontem", target="flux")
        assert err["code"] == "flux_not_supported" and "2.x" in err["message"]
        assert (
            err["details"]["flux"].startswith('from(bucket: "ons")')
            or "from(" in err["details"]["flux"]
        )
        assert err["details"]["influxql"].startswith("SELECT")
        raw = 'from(bucket: "ons") |> range(start: -1d) |> filter(fn: (r) => r._measurement == "x")'
        err = error_of(client, 501, query=raw)
        assert err["code"] == "flux_not_supported" and err["details"]["flux"] == raw
        # a dry run renders the Flux without running it
        dry = client.post(
            "/v2/query",
            json={"query": "CMO do Sul por dia ontem", "target": "flux", "execute": False},
        )
        assert dry.status_code == 200
        body = dry.json()
        assert body["query"] == {
            "language": "flux",
            "text": body["renderings"]["flux"],
            "executed": False,
        }
        assert seen == []  # nothing reached the server, least of all the InfluxQL endpoint


def test_flux_on_2x_goes_to_the_v2_endpoint(make_client: Callable[..., TestClient]) -> None:
    routes = {"/api/v2/query": (200, "application/csv", FLUX_CSV)}
    with stub_server(routes) as (url, seen):
        config = InfluxSettings.of(url=url, database="ons", engine="2", token="t", org="ons")
        client = make_client(influx=config)
        response = client.post(
            "/v2/query", json={"query": "CMO médio do Sul por dia ontem", "target": "flux"}
        )
        assert response.status_code == 200, response.json()
        body = response.json()
        OpenApiValidator(client).validate("/v2/query", "post", 200, body)
        # the question's one query goes to the v2 endpoint; beside it at most the lookup of where
        # the data starts (InfluxQL metadata, failing here: the answer does not depend on it)
        assert [s for s in seen if s != "GET /query"] == ["POST /api/v2/query"]
        assert seen.count("GET /query") <= 1
        assert body["query"]["language"] == "flux" and body["query"]["executed"]
        assert [c["name"] for c in body["columns"]] == ["time", "id_subsistema", "mean_val_cmo"]
        assert body["columns"][2]["unit"] == "R$/MWh"
        assert body["rows"] == [
            ["2024-03-05T00:00:00Z", "S", 101.5],
            ["2024-03-06T00:00:00Z", "S", 99.25],
        ]


def test_influx_failures_are_502(make_client: Callable[..., TestClient]) -> None:
    client = make_client(influx=InfluxSettings.of(url=closed_port_url(), database="ons"))
    assert error_of(client, 502, query="carga do Sul ontem")["code"] == "influx_unreachable"
    with stub_server({"/query": (500, "text/plain", "boom")}) as (url, _):
        client = make_client(influx=InfluxSettings.of(url=url, database="ons"))
        assert error_of(client, 502, query="carga do Sul ontem")["code"] == "influx_error"
    with stub_server({"/query": (401, "application/json", '{"error":"auth"}')}) as (url, _):
        client = make_client(influx=InfluxSettings.of(url=url, database="ons"))
        assert error_of(client, 502, query="carga do Sul ontem")["code"] == "influx_auth"
    with stub_server({"/query": (200, "text/html", "<html>")}) as (url, _):
        client = make_client(influx=InfluxSettings.of(url=url, database="ons"))
        assert error_of(client, 502, query="carga do Sul ontem")["code"] == "influx_error"


def test_missing_database_is_502(make_client: Callable[..., TestClient], api_data: ApiData) -> None:
    client = make_client(influx=InfluxSettings.of(url=api_data.url, database="no_such_db_xyz"))
    err = error_of(client, 502, query="carga do Sul ontem")
    assert err["code"] == "influx_error" and "database not found" in err["message"]


def test_timeout_is_504(make_client: Callable[..., TestClient]) -> None:
    with silent_server() as url:
        client = make_client(influx=InfluxSettings.of(url=url, database="ons"))
        err = error_of(client, 504, query="carga do Sul ontem", timeout_s=0.3)
        assert err["code"] == "influx_timeout" and err["details"]["query"].startswith("SELECT")


def test_unexpected_errors_are_500(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    processor = client.app.state.processor  # type: ignore[attr-defined]

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(processor, "process", boom)
    err = error_of(client, 500, query="carga do Sul ontem")
    assert err["code"] == "internal_error" and "secret detail" not in err["message"]


def test_unknown_route_is_structured(client: TestClient) -> None:
    response = client.get("/v2/nope")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
