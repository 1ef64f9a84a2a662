"""POST /v2/query on the real InfluxDB: numbers against the generated data, the schema, the cache,
errors and statuses."""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from ons_pipeline.lib.query.response import QueryResponse
from ons_pipeline_tests.api.conftest import NOW, ApiData, frame, rfc3339
from ons_pipeline_tests.api.openapi_check import OpenApiValidator


def close(a: float | None, b: float) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def post(client: TestClient, validator: OpenApiValidator | None = None, **body: object) -> dict:
    response = client.post("/v2/query", json=body)
    data = response.json()
    if validator is not None:
        validator.validate("/v2/query", "post", response.status_code, data)
    data["_status"] = response.status_code
    return data


def answered(client: TestClient, api_data: ApiData, question: str) -> tuple[dict, pd.DataFrame]:
    """The answer to ``question`` (which must succeed) and the written rows of its table and
    time range."""
    data = post(client, query=question)
    assert data["_status"] == 200, data
    rng = data["time_range"]
    return data, frame(api_data, data["model"]["table"], rng["start"], rng["end"])


@pytest.fixture
def validator(client: TestClient) -> OpenApiValidator:
    return OpenApiValidator(client)


def test_question_mean_by_subsystem(
    client: TestClient, validator: OpenApiValidator, api_data: ApiData
) -> None:
    data = post(client, validator, query="carga média por subsistema entre 2024-03-02 e 2024-03-04")
    assert data["_status"] == 200, data
    QueryResponse.model_validate({k: v for k, v in data.items() if k != "_status"})
    assert data["input"]["language"] == "question" and data["input"]["detected"]
    assert data["query"]["language"] == "influxql" and data["query"]["executed"]
    assert data["renderings"]["flux"] and "from(bucket:" in data["renderings"]["flux"]
    tr = data["time_range"]
    df = frame(api_data, "curva_carga", tr["start"], tr["end"])
    expected = df.groupby("id_subsistema").val_cargaenergiahomwmed.mean()
    names = [c["name"] for c in data["columns"]]
    assert names[:2] == ["time", "id_subsistema"]
    assert data["columns"][2]["unit"] == "MWmed"
    got = {row[1]: row[2] for row in data["rows"]}
    assert set(got) == set(expected.index) == {"SE", "S", "NE", "N"}
    for sub, value in expected.items():
        assert close(got[sub], value), sub
    assert len(data["series"]) == 4 and data["row_count"] == 4
    assert tr["start"] == "2024-03-02T03:00:00Z" and tr["end"] == "2024-03-05T03:00:00Z"
    assert data["cache"]["hit"] is False
    assert data["timings"]["total_ms"] >= data["timings"]["execute_ms"] > 0


def test_question_per_local_day(client: TestClient, api_data: ApiData) -> None:
    data = post(client, query="geração eólica no nordeste por dia em março de 2024")
    assert data["_status"] == 200, data
    df = frame(api_data, "balanco_subsistema")
    df = df[df.id_subsistema == "NE"]
    local_day = df.time.dt.tz_convert("America/Sao_Paulo").dt.floor("D")
    expected = df.groupby(local_day).val_gereolica.mean()
    got = {row[0]: row[-1] for row in data["rows"]}
    assert len(got) == len(expected) == 7
    for day, value in expected.items():
        assert close(got[rfc3339(day)], value)


def test_raw_influxql(client: TestClient, validator: OpenApiValidator, api_data: ApiData) -> None:
    query = (
        'SELECT max("val_cmo") AS "peak", count("val_cmo") FROM "cmo_semihorario" '
        "WHERE time >= '2024-03-03T00:00:00Z' AND time < '2024-03-05T00:00:00Z' "
        'GROUP BY "id_subsistema"'
    )
    data = post(client, validator, query=query)
    assert data["_status"] == 200, data
    assert data["input"]["language"] == "influxql" and data["model"] is None
    df = frame(api_data, "cmo_semihorario", "2024-03-03T00:00:00Z", "2024-03-05T00:00:00Z")
    expected = df.groupby("id_subsistema").val_cmo.agg(["max", "count"])
    cols = {c["name"]: c for c in data["columns"]}
    assert cols["peak"]["kind"] == "value" and cols["count"]["unit"] == ""
    for row in data["rows"]:
        record = dict(zip(cols, row, strict=True))
        want = expected.loc[record["id_subsistema"]]
        assert close(record["peak"], want["max"]) and record["count"] == want["count"]
    assert len(data["rows"]) == 4
    # the unit of a raw column named after a field comes from the schema
    raw = post(client, query='SELECT "val_cmo" FROM "cmo_semihorario" LIMIT 3')
    assert {c["name"]: c["unit"] for c in raw["columns"]}["val_cmo"] == "R$/MWh"


def test_value_types_are_stable(client: TestClient, api_data: ApiData) -> None:
    """A DOUBLE column is floats only (InfluxDB's JSON writes 0.0 as 0), a count stays ints, and
    the tags SELECT * returns as columns are tags."""
    df = frame(api_data, "balanco_subsistema", "2024-03-02T00:00:00Z", "2024-03-02T12:00:00Z")
    assert (df.val_gersolar == 0).any()  # whole values the JSON sends as ints
    sql = (
        "SELECT bin(time, 1h) AS h, avg(val_gersolar) AS a, count(val_gersolar) AS n "
        "FROM balanco_subsistema WHERE time BETWEEN '2024-03-02 00:00:00' AND "
        "'2024-03-02 12:00:00' GROUP BY bin(time, 1h) ORDER BY h"
    )
    influxql = (
        "SELECT * FROM \"balanco_subsistema\" WHERE time >= '2024-03-02T00:00:00Z' "
        "AND time < '2024-03-02T12:00:00Z'"
    )
    raw_max = 'SELECT max("val_gersolar") FROM "balanco_subsistema" GROUP BY "id_subsistema"'
    for query, ints in ((sql, {"n"}), (influxql, set()), (raw_max, set())):
        data = post(client, query=query)
        assert data["_status"] == 200, data
        for i, col in enumerate(data["columns"]):
            if col["kind"] != "value":
                continue
            kinds = {type(row[i]) for row in data["rows"] if row[i] is not None}
            assert kinds == ({int} if col["name"] in ints else {float}), (query, col, kinds)
    cols = {c["name"]: c["kind"] for c in data["columns"]}
    star = post(client, query=influxql)
    kinds = {c["name"]: c["kind"] for c in star["columns"]}
    assert kinds["id_subsistema"] == kinds["nom_subsistema"] == "tag", kinds
    assert kinds["val_gersolar"] == "value" and cols["id_subsistema"] == "tag"
    assert {s["tags"]["id_subsistema"] for s in star["series"]} == set(df.id_subsistema)
    assert star["row_count"] == len(df)


def test_timestream_sql(client: TestClient, validator: OpenApiValidator, api_data: ApiData) -> None:
    sql = """
        SELECT region, avg(measure_value::double) AS avg_value, count(*) AS n
        FROM "ons_energy_data"."generation_data"
        WHERE time BETWEEN ago(2d) AND now() AND energy_source = 'wind'
          AND measure_name = 'value'
        GROUP BY region ORDER BY region
    """
    data = post(client, validator, query=sql)
    assert data["_status"] == 200, data
    assert data["input"]["language"] == "timestream_sql"
    assert data["model"]["table"] == "generation_data"
    end = pd.Timestamp(NOW)
    df = frame(api_data, "generation_data")
    df = df[(df.time >= end - pd.Timedelta(days=2)) & (df.time <= end)]
    df = df[df.energy_source == "wind"]
    expected = df.groupby("region").value.agg(["mean", "count"]).sort_index()
    # columns in the SELECT's order, as the legacy platform returned them
    assert [c["name"] for c in data["columns"]] == ["region", "avg_value", "n"]
    assert [r[0] for r in data["rows"]] == list(expected.index)
    for row, (_, want) in zip(data["rows"], expected.iterrows(), strict=True):
        assert close(row[1], want["mean"]) and row[2] == want["count"]
    assert data["columns"][1]["unit"] == "MW"


def test_top_plants(client: TestClient, api_data: ApiData) -> None:
    data = post(client, query="top 3 usinas eólicas por geração total em 2024-03-01")
    assert data["_status"] == 200, data
    tr = data["time_range"]
    df = frame(api_data, "geracao_usina", tr["start"], tr["end"])
    df = df[df.nom_tipousina == "EOLIELÉTRICA"]
    expected = df.groupby("nom_usina").val_geracao.sum().sort_values(ascending=False).head(3)
    got = [(r[1], r[-1]) for r in data["rows"]]
    assert [g[0] for g in got] == list(expected.index)
    for (_, value), want in zip(got, expected, strict=True):
        assert math.isclose(value, want, rel_tol=1e-9)


def test_cache_hit_and_normalised_keys(client: TestClient) -> None:
    first = post(client, query="carga média do Sul ontem")
    second = post(client, query="carga média do Sul ontem")
    assert first["cache"]["hit"] is False and second["cache"]["hit"] is True
    assert second["rows"] == first["rows"] and second["timings"]["execute_ms"] == 0
    assert second["cache"]["key"] == first["cache"]["key"]
    # the same model from another wording and language shares the entry
    english = post(client, query="average load in the south yesterday")
    assert english["model"] == first["model"]
    assert english["cache"]["hit"] is True and english["cache"]["key"] == first["cache"]["key"]
    # raw queries: whitespace and comments do not change the key
    q1 = post(client, query='SELECT count("val_cmo") FROM "cmo_semihorario"')
    q2 = post(client, query='SELECT   count("val_cmo")\n  FROM "cmo_semihorario" -- all of it')
    assert q2["cache"]["hit"] is True and q2["rows"] == q1["rows"]
    # opting out
    q3 = post(client, query='SELECT count("val_cmo") FROM "cmo_semihorario"', use_cache=False)
    assert q3["cache"]["hit"] is False


def test_cache_keys_keep_regex_and_string_literals(client: TestClient, api_data: ApiData) -> None:
    """``--`` inside a /regex/ is no comment and its spaces are no whitespace to collapse: two
    queries differing only there are two entries, each answered from its own data."""
    df = frame(api_data, "curva_carga")
    template = 'SELECT count("val_cargaenergiahomwmed") FROM "curva_carga" WHERE "nom_subsistema" '
    answers = {}
    for regex, names in (
        ("/--|SUDESTE/", {"SUDESTE"}),
        ("/--|NORTE$/", {"NORTE"}),
        ("/--|SUL  /", set()),
        ("/--|SUL /", set()),
    ):
        data = post(client, query=template + "=~ " + regex)
        assert data["_status"] == 200 and data["cache"]["hit"] is False, (regex, data)
        want = int(df["nom_subsistema"].isin(names).sum())
        assert (data["rows"][0][1] if data["rows"] else 0) == want, (regex, data["rows"])
        answers[regex] = data["cache"]["key"]
    assert len(set(answers.values())) == 4
    # a string literal holding "--" or "  " is kept as written too
    one = post(client, query=template + "= 'SUL  --x'")
    two = post(client, query=template + "= 'SUL --y'")
    assert one["cache"]["key"] != two["cache"]["key"] and two["cache"]["hit"] is False


def test_cache_disabled_with_zero_ttl(make_client: Callable[..., TestClient]) -> None:
    client = make_client(cache_ttl_s=0)
    post(client, query="carga média do Sul ontem")
    assert post(client, query="carga média do Sul ontem")["cache"]["hit"] is False


def test_dry_run_and_max_rows(client: TestClient) -> None:
    dry = post(client, query="CMO do Sudeste por hora ontem", execute=False)
    assert dry["_status"] == 200 and dry["query"]["executed"] is False and dry["rows"] == []
    assert [c["name"] for c in dry["columns"]][:1] == ["time"]
    full = post(client, query="CMO do Sudeste por hora ontem")
    assert full["row_count"] == 24 and not full["truncated"]
    cut = post(client, query="CMO do Sudeste por hora ontem", max_rows=5)
    assert cut["row_count"] == 5 and cut["truncated"] and cut["rows"] == full["rows"][:5]


def test_unknown_plant_is_named_not_silent(client: TestClient, api_data: ApiData) -> None:
    known = set(api_data.frames["geracao_usina"].nom_usina)
    assert "Santo Antônio do Jari" in known
    # a known plant typed without accents: answered, no warning
    found = post(client, query="geração total da usina Santo Antonio do Jari em 2024-03-01")
    assert found["_status"] == 200, found
    assert found["rows"] and not [w for w in found["warnings"] if "in the data" in w]
    # a misspelt plant: refused, naming the closest plants the data holds (not an empty answer)
    typo = post(client, query="geração total da usina Santo Antonio do Jary em 2024-03-01")
    assert typo["_status"] == 422, typo
    (unknown,) = typo["error"]["details"]["not_understood"]
    assert unknown["text"] == "Santo Antonio do Jary"
    assert "Santo Antônio do Jari" in unknown["suggestions"], unknown
    # a name nothing resembles: refused too
    none = post(client, query="geração total da usina Xyzabc em 2024-03-01")
    assert (
        none["_status"] == 422 and not none["error"]["details"]["not_understood"][0]["suggestions"]
    )


def test_a_plant_the_data_holds_is_read_wherever_it_stands(
    client: TestClient, api_data: ApiData
) -> None:
    # no "usina" and no "geração de" before the name: the name itself is known from the data
    data, df = answered(client, api_data, "Santo Antonio do Jari generation on 2024-03-01, total")
    expected = df[df.nom_usina == "Santo Antônio do Jari"].val_geracao.sum()
    assert expected > 0 and math.isclose(data["rows"][0][-1], expected, rel_tol=1e-9), data["rows"]


def test_scheduled_and_verified_flow_against_the_data(
    client: TestClient, api_data: ApiData
) -> None:
    # SE -> NE: the data holds the NE -> SE series, so both values are its values negated
    data, df = answered(
        client, api_data, "intercâmbio programado e verificado de SE para NE em 2024-03-02"
    )
    pair = df[(df.id_subsistema_origem == "NE") & (df.id_subsistema_destino == "SE")]
    hourly = (
        pair.set_index("time")
        .resample("1h")[["val_intercambiomwmed", "val_intercambioprogmwmed"]]
        .mean()
    )
    got = {pd.Timestamp(r[0]).value: (r[1], r[2]) for r in data["rows"]}
    assert len(got) == len(hourly) == 24
    for moment, row in hourly.iterrows():
        verified, scheduled = got[moment.value]
        assert close(verified, -row.val_intercambiomwmed)
        assert close(scheduled, -row.val_intercambioprogmwmed)
