"""``ons-pipeline query`` / ``ask`` / ``serve`` (registered on a click group as cli.py does)."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
import requests
from click.testing import CliRunner

from ons_pipeline.api.schemas import ErrorResponse
from ons_pipeline.cli.query import register
from ons_pipeline.lib.query.response import QueryResponse
from ons_pipeline_tests.api.conftest import ApiData, frame


@pytest.fixture
def cli() -> click.Group:
    @click.group()
    def main() -> None:
        """test group"""

    register(main)
    return main


@pytest.fixture
def env(api_data: ApiData, tmp_path: Path) -> dict[str, str]:
    return {
        "ONS_INFLUX_URL": api_data.url,
        "ONS_INFLUX_DATABASE": api_data.db,
        "ONS_STATE_DIR": str(tmp_path),
    }


def test_query_json_prints_the_api_schema(cli: click.Group, env: dict, api_data: ApiData) -> None:
    result = CliRunner().invoke(
        cli,
        ["query", "CMO médio por subsistema em 2024-03-04", "--format", "json",
         "--now", "2024-03-08T12:00:00Z"],
        env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    body = QueryResponse.model_validate(json.loads(result.output))
    assert body.time_range is not None
    df = frame(api_data, "cmo_semihorario", body.time_range.start, body.time_range.end)
    expected = df.groupby("id_subsistema").val_cmo.mean()
    got = {row[1]: row[2] for row in body.rows}
    assert set(got) == set(expected.index)
    for sub, value in expected.items():
        assert math.isclose(got[sub], value, rel_tol=1e-9)


def test_a_query_that_starts_with_an_sql_comment_is_the_query_not_an_option(
    cli: click.Group, env: dict
) -> None:
    sql = "-- the mean CMO\nSELECT avg(val_cmo) AS mean FROM cmo_semihorario"
    result = CliRunner().invoke(cli, ["query", sql, "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    body = QueryResponse.model_validate(json.loads(result.output))
    assert body.input.language == "timestream_sql" and body.input.text == sql
    assert len(body.rows) == 1 and body.rows[0][-1] is not None


def test_query_table_and_errors(cli: click.Group, env: dict) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["query", 'SELECT count("val_cmo") FROM "cmo_semihorario"'], env=env
    )
    assert result.exit_code == 0, result.output
    assert "count" in result.output and "query (influxql, executed)" in result.output
    bad = runner.invoke(cli, ["query", "qual é a cor do céu?", "--format", "json"], env=env)
    assert bad.exit_code == 1
    error = ErrorResponse.model_validate(json.loads(bad.output))
    assert error.error.code == "untranslatable_question" and error.error.status == 422
    flux = runner.invoke(cli, ["query", "carga do Sul ontem", "--target", "flux"], env=env)
    assert flux.exit_code == 1 and "flux_not_supported" in flux.output
    dry = runner.invoke(
        cli, ["query", "carga do Sul ontem", "--target", "flux", "--dry-run"], env=env
    )
    assert dry.exit_code == 0 and "from(bucket:" in dry.output


def test_query_says_what_it_answered_and_what_it_did_not_understand(
    cli: click.Group, env: dict
) -> None:
    runner = CliRunner()
    # no period: the latest week of data (the test data ends on 2024-03-07), whatever the clock
    ok = runner.invoke(cli, ["query", "carga média do Sudeste por dia"], env=env)
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith("answer to: média da carga horária (MWmed), subsistema SE, por dia")
    assert "7 row(s)" in ok.output and "2024-03-01 a 2024-03-07" in ok.output
    bad = runner.invoke(cli, ["query", "Como andam os reservatórios do Nordeste?"], env=env)
    assert bad.exit_code == 1
    assert "not understood (word): 'andam'" in bad.output and "try: " in bad.output
    lenient = runner.invoke(
        cli, ["query", "Como andam os reservatórios do Nordeste?", "--lenient"], env=env
    )
    assert lenient.exit_code == 0 and "warning: words not understood" in lenient.output


def test_a_follow_up_with_the_earlier_question(cli: click.Group, env: dict) -> None:
    """``--previous`` sends the conversation: "e no Nordeste?" is the question before it with
    the place replaced, and the table says what it was read as."""
    runner = CliRunner()
    first = "carga média do Sudeste em 2024-03-04"
    alone = runner.invoke(cli, ["query", "e no Nordeste?"], env=env)
    assert alone.exit_code == 1
    follow = runner.invoke(cli, ["query", "e no Nordeste?", "--previous", first], env=env)
    assert follow.exit_code == 0, follow.output
    assert "subsistema NE" in follow.output and "read as: carga média no Nordeste" in follow.output


def test_serve_refuses_a_public_host_without_key(cli: click.Group, env: dict) -> None:
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"], env={**env, "ONS_API_KEY": ""})
    assert result.exit_code != 0 and "ONS_API_KEY" in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_runs_the_api(env: dict) -> None:
    port = _free_port()
    script = (
        "import click\nfrom ons_pipeline.cli.query import register\n"
        "@click.group()\ndef main():\n    pass\nregister(main)\nmain()\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, "serve", "--port", str(port), "--no-preload",
         "--log-level", "warning"],
        env={**os.environ, **env, "ONS_API_KEY": "serve-test-key"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None, process.stderr.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the API did not start"
            time.sleep(0.2)
        response = requests.post(
            f"{base}/v2/query",
            json={"query": 'SELECT count("val_cmo") FROM "cmo_semihorario"'},
            headers={"X-API-Key": "serve-test-key"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        assert response.json()["rows"][0][-1] > 0
        assert requests.post(f"{base}/v2/query", json={"query": "x"}, timeout=5).status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_ask_prints_a_cited_answer(
    cli: click.Group,
    env: dict,
    knowledge_index: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the session's index (model loaded once) instead of loading the model again
    monkeypatch.setattr("ons_pipeline.lib.rag.service.default_retriever", lambda _: knowledge_index)
    result = CliRunner().invoke(
        cli,
        ["ask", "Qual foi a carga média do Sudeste em 2024-03-05?", "--now",
         "2024-03-08T12:00:00Z"],
        env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "[1]" in result.output
    assert "[1] curva_carga [2024-03-05T03:00:00Z, 2024-03-06T03:00:00Z) 1 row(s): SELECT" in (
        result.output
    )
    as_json = CliRunner().invoke(cli, ["ask", "o que é ENA?", "--json"], env=env)
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)["citations"][0]["doc_id"] == "ena"
