"""Flux rendering checked by InfluxData's Flux language server (WebAssembly, under node): every
rendered program must have no syntax or semantic diagnostic, and literals must parse back to the
exact input (Flux's own parser builds the AST)."""

from __future__ import annotations

import contextlib
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ons_pipeline.lib.query.flux import flux_string, render_flux
from ons_pipeline.lib.query.fluxcheck import FluxChecker
from ons_pipeline.lib.query.influxql import ieq_pattern
from ons_pipeline.lib.query.model import (
    Fill,
    FilterOp,
    OrderKey,
    TagFilter,
    TimeRange,
    TopN,
    ValueFilter,
    parse_time,
)
from ons_pipeline.lib.query.nl import translate
from ons_pipeline.lib.query.timestream_sql import parse_sql
from ons_pipeline_tests.lib.query.conftest import model

CORPUS = Path(__file__).with_name("nl_corpus.toml")


SE_NE = (TagFilter("id_subsistema", FilterOp.EQ, ("SE", "NE")),)
MODELS = [
    model("curva_carga", "mean(val_cargaenergiahomwmed)", window="1h",
          group_tags=("id_subsistema",)),
    model("balanco_subsistema", "mean(val_gereolica)", "max(val_gereolica)", "min(val_gereolica)",
          "sum(val_gereolica)", "count(val_gereolica)", "median(val_gereolica)",
          "spread(val_gereolica)", "stddev(val_gereolica)", "first(val_gereolica)",
          "last(val_gereolica)"),
    model("balanco_subsistema", "mean(val_gereolica) / (mean(val_gerhidraulica) + "
          "mean(val_gertermica) + mean(val_gereolica) + mean(val_gersolar)) * 100", window="1d",
          timezone="America/Sao_Paulo", tag_filters=SE_NE, group_tags=("id_subsistema",)),
    model("balanco_subsistema", "moving_average(mean(val_gertermica) / mean(val_carga), 3)",
          "derivative(max(val_gerhidraulica), 1h)", "difference(min(val_carga))",
          "cumulative_sum(sum(val_gersolar))", window="1h", group_tags=("id_subsistema",)),
    model("geracao_usina", "sum(val_geracao)", top=TopN(5, "nom_usina")),
    model("geracao_usina", "mean(val_geracao)", top=TopN(1, "nom_usina", bottom=True),
          window="1d", group_tags=("id_subsistema",)),
    model("cmo_semihorario", "val_cmo", value_filters=(ValueFilter("val_cmo", ">", -2.5),),
          tag_filters=(TagFilter("id_subsistema", FilterOp.NE, ("SE", "N")),),
          order_by=(OrderKey("time", True),), limit=7),
    model("cmo_semihorario", "val_cmo * 2 - 1", "derivative(val_cmo, 1h)"),
    model("curva_carga", "sum(val_cargaenergiahomwmed)", window="1mo",
          timezone="America/Sao_Paulo", group_tags=("id_subsistema",)),
    model("curva_carga", "count(val_cargaenergiahomwmed)", window="6h", fill=Fill.VALUE,
          fill_value=0.0),
    model("curva_carga", "mean(val_cargaenergiahomwmed)", window="6h", fill=Fill.PREVIOUS),
    model("curva_carga", "mean(val_cargaenergiahomwmed)", window="6h", fill=Fill.LINEAR),
    model("curva_carga", "mean(val_cargaenergiahomwmed)", window="6h", fill=Fill.NULL),
    model("geracao_usina", "mean(val_geracao)",
          value_filters=(ValueFilter("val_geracao", "<=", 5),),
          tag_filters=(TagFilter("nom_usina", FilterOp.IEQ, ("Itá", "Mauá 3")),),
          window="1h", group_tags=("nom_usina",), order_by=(OrderKey("c0", True),), limit=3),
    model("generation_data", "mean(value)", window="1h",
          group_tags=("region", "energy_source", "quality_flag")),
    model("ear_diario", "mean(ear_verif_subsistema_percentual)", time_range=TimeRange(
        None, parse_time("2024-03-04T00:00:00Z"))),
]  # fmt: skip


def assert_valid(checker: FluxChecker, source: str) -> None:
    diagnostics = checker.check(source)
    assert not diagnostics, "\n".join(map(str, diagnostics)) + "\n\n" + source


@pytest.mark.parametrize("index", range(len(MODELS)))
def test_rendered_flux_has_no_diagnostics(flux_checker: FluxChecker, index: int) -> None:
    assert_valid(flux_checker, render_flux(MODELS[index], bucket="ons"))


def test_the_checker_reports_errors(flux_checker: FluxChecker) -> None:
    """Negative control: the checker sees syntax and semantic errors."""
    assert flux_checker.check('from(bucket: "ons") |> range(start: -1h')
    assert flux_checker.check('from(bucket: "ons") |> rnge(start: -1h)')
    assert flux_checker.check("from(bucket: 1) |> range(start: -1h)")
    assert flux_checker.check('from(bucket: "x") |> range(start: -1h) |> mean(foo: 1)')
    assert not flux_checker.check('from(bucket: "x") |> range(start: -1h) |> mean()')


def test_every_corpus_and_sql_model_renders_valid_flux(flux_checker: FluxChecker) -> None:
    doc = tomllib.loads(CORPUS.read_text(encoding="utf-8"))
    now = datetime.fromisoformat(doc["now"].replace("Z", "+00:00"))
    count = 0
    for case in doc["case"]:
        result = translate(case["q"], now)
        if result.model is not None:
            assert_valid(flux_checker, render_flux(result.model, "ons"))
            count += 1
    sql = [
        "SELECT region, bin(time, 1h) AS t, avg(measure_value::double) AS v FROM "
        '"ons_energy_data"."generation_data" WHERE time BETWEEN ago(7d) AND now() AND '
        "region = 'southeast' AND measure_name = 'value' GROUP BY region, bin(time, 1h) "
        "ORDER BY t DESC LIMIT 5",
        "SELECT time, region, measure_value::double FROM consumption_data WHERE time > ago(1h)",
        "SELECT id_subsistema, max(val_gerhidraulica) / avg(val_gereolica) AS r FROM "
        "balanco_subsistema WHERE time >= '2024-01-01' GROUP BY id_subsistema ORDER BY r DESC",
    ]
    for text in sql:
        assert_valid(flux_checker, render_flux(parse_sql(text, now).model, "ons"))
    assert count > 150


def _string_literals(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "StringLiteral":
            found.append(node["value"])
        elif node.get("type") == "BinaryExpression" and node.get("operator") == "+":
            # literals joined with "+" (flux_string splits at "$\\"): their value too
            with contextlib.suppress(AssertionError):
                found.append(_string_value(node))
        for value in node.values():
            found += _string_literals(value)
    elif isinstance(node, list):
        for item in node:
            found += _string_literals(item)
    return found


INJECTIONS = [
    '" or true or r.x == "',
    'a" |> drop(columns: ["x"]) |> yield() //',
    "${r._value}",
    "back\\slash\\",
    '\\"',
    "line\nbreak\ttab",
    "/regex/ ) } ]",
    "ünïcødé ✓",
]


@pytest.mark.parametrize("value", INJECTIONS)
def test_injected_text_stays_one_string_literal(flux_checker: FluxChecker, value: str) -> None:
    for op in (FilterOp.EQ, FilterOp.IEQ, FilterOp.NE):
        m = model("geracao_usina", "sum(val_geracao)", tag_filters=(TagFilter("nom_usina", op,
                  (value,)),))  # fmt: skip
        source = render_flux(m, bucket=value)
        assert_valid(flux_checker, source)
        literals = _string_literals(flux_checker.ast(source))
        expected = ieq_pattern((value,)) if op is FilterOp.IEQ else value
        assert expected in literals and value in literals  # the bucket and the filter
        benign = render_flux(
            model("geracao_usina", "sum(val_geracao)",
                  tag_filters=(TagFilter("nom_usina", op, ("plain",)),)), bucket="plain"
        )  # fmt: skip
        assert len(flux_checker.ast(source)["body"]) == len(flux_checker.ast(benign)["body"])


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
               max_size=40))  # fmt: skip
def test_flux_string_round_trips_through_flux_parser(flux_checker: FluxChecker, value: str) -> None:
    ast = flux_checker.ast(f"x = {flux_string(value)}\n")
    (statement,) = ast["body"]
    assert _string_value(statement["init"]) == value


def _string_value(node: dict) -> str:
    """The value of a string literal, or of literals joined with ``+`` (in parentheses)."""
    if node["type"] == "ParenExpression":
        return _string_value(node["expression"])
    if node["type"] == "BinaryExpression" and node["operator"] == "+":
        return _string_value(node["left"]) + _string_value(node["right"])
    assert node["type"] == "StringLiteral", node
    return node["value"]


@pytest.mark.parametrize(
    "value", ["$\\", "$\\0", '$"', '$") |> drop() |> yield(name: "x', "$${", "a$\n"]
)
def test_a_dollar_before_an_escape_stays_inside_the_string(
    flux_checker: FluxChecker, value: str
) -> None:
    # Flux's scanner pairs "$" with the next character: "$\\" once escaped the closing quote.
    ast = flux_checker.ast(f"x = {flux_string(value)}\n")
    (statement,) = ast["body"]
    assert _string_value(statement["init"]) == value


def test_flux_time_range_is_half_open_like_the_model() -> None:
    source = render_flux(MODELS[0], "ons")
    assert "range(start: 2024-03-01T00:00:00Z, stop: 2024-03-04T00:00:00Z)" in source
    open_start = render_flux(MODELS[-1], "ons")
    assert "range(start: 1970-01-01T00:00:00Z, stop: 2024-03-04T00:00:00Z)" in open_start


def test_now_is_not_used_by_rendering() -> None:
    assert render_flux(MODELS[2], "ons") == render_flux(MODELS[2], "ons")
    assert datetime.now(UTC)  # rendering is a pure function of the model


def test_weeks_start_on_monday(flux_checker: FluxChecker) -> None:
    # Flux aligns windows to the epoch (a Thursday) as InfluxQL does: weeks are shifted to Monday
    weekly = model("curva_carga", "mean(val_cargaenergiahomwmed)", window="1w",
                   timezone="America/Sao_Paulo")  # fmt: skip
    source = render_flux(weekly, "ons")
    assert "aggregateWindow(every: 1w, offset: 4d, fn: mean" in source
    assert flux_checker.check(source) == []
    daily = render_flux(model("curva_carga", "mean(val_cargaenergiahomwmed)", window="1d"), "ons")
    assert "offset" not in daily
