"""The query model rendered to InfluxQL and run on the real InfluxDB: numbers checked against the
same aggregates computed independently with pandas from the data written."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ons_pipeline.lib.influx.client import InfluxClient, InfluxConfig, quote_ident, quote_literal
from ons_pipeline.lib.ons_time import to_ns
from ons_pipeline.lib.query.errors import BackendUnavailable
from ons_pipeline.lib.query.execute import execute
from ons_pipeline.lib.query.influxql import (
    regex_literal,
    render_influxql,
    statements,
)
from ons_pipeline.lib.query.model import (
    Fill,
    FilterOp,
    OrderKey,
    TagFilter,
    TimeRange,
    TopN,
    ValueFilter,
)
from ons_pipeline.lib.query.text import fold
from ons_pipeline_tests.lib.query.conftest import (
    RANGE_END,
    START,
    TRICKY_PLANTS,
    Dataset,
    model,
)

T0 = START
T1 = RANGE_END


def in_range(frame: pd.DataFrame, start: pd.Timestamp = T0, end: pd.Timestamp = T1) -> pd.DataFrame:
    return frame[(frame["time"] >= start) & (frame["time"] < end)]


def close(a: float | None, b: float) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def test_mean_per_hour_by_subsystem(dataset: Dataset) -> None:
    m = model("curva_carga", "mean(val_cargaenergiahomwmed)", window="1h",
              group_tags=("id_subsistema",))  # fmt: skip
    result = execute(m, dataset.url, dataset.db)
    frame = in_range(dataset.frames["curva_carga"])
    assert len(result.rows) == len(frame)
    expected = {
        (r.time.value, r.id_subsistema): r.val_cargaenergiahomwmed for r in frame.itertuples()
    }
    for moment, sub, value in result.rows:
        assert close(value, expected[(moment, sub)])
    assert result.names == ["time", "id_subsistema", "c0"]
    assert result.columns[2].unit == "MWmed"


def test_aggregates_over_the_range(dataset: Dataset) -> None:
    m = model(
        "balanco_subsistema",
        "mean(val_gereolica)", "max(val_gereolica)", "min(val_gereolica)", "sum(val_gereolica)",
        "count(val_gereolica)", "median(val_gereolica)", "spread(val_gereolica)",
        tag_filters=(TagFilter("id_subsistema", FilterOp.EQ, ("NE",)),),
    )  # fmt: skip
    (row,) = execute(m, dataset.url, dataset.db).rows
    values = in_range(dataset.frames["balanco_subsistema"])
    values = values[values.id_subsistema == "NE"]["val_gereolica"]
    expected = [values.mean(), values.max(), values.min(), values.sum(), len(values),
                values.median(), values.max() - values.min()]  # fmt: skip
    assert row[0] == T0.value
    for got, want in zip(row[1:], expected, strict=True):
        assert close(got, want)


def test_share_of_wind_per_day_in_brasilia_days(dataset: Dataset) -> None:
    expr = ("mean(val_gereolica) / (mean(val_gerhidraulica) + mean(val_gertermica) "
            "+ mean(val_gereolica) + mean(val_gersolar)) * 100")  # fmt: skip
    m = model("balanco_subsistema", expr, window="1d", timezone="America/Sao_Paulo",
              tag_filters=(TagFilter("id_subsistema", FilterOp.EQ, ("NE",)),))  # fmt: skip
    result = execute(m, dataset.url, dataset.db)
    assert result.columns[1].unit == "%"
    frame = in_range(dataset.frames["balanco_subsistema"])
    frame = frame[frame.id_subsistema == "NE"].copy()
    frame["day"] = frame["time"].dt.tz_convert("America/Sao_Paulo").dt.floor("D")
    daily = frame.groupby("day")[
        ["val_gereolica", "val_gerhidraulica", "val_gertermica", "val_gersolar"]
    ].mean()
    share = daily["val_gereolica"] / daily.sum(axis=1) * 100
    got = {moment: value for moment, value in result.rows}
    assert len(got) == len(share) == 4  # 3 UTC days span 4 Brasília days
    for day, value in share.items():
        assert close(got[day.tz_convert("UTC").value], value)


def test_moving_average_of_a_ratio_and_derivative(dataset: Dataset) -> None:
    m = model(
        "balanco_subsistema",
        "moving_average(mean(val_gertermica) / mean(val_carga), 3)",
        "derivative(max(val_gerhidraulica), 1h)",
        window="1h",
        group_tags=("id_subsistema",),
        tag_filters=(TagFilter("id_subsistema", FilterOp.EQ, ("S", "NE")),),
    )
    assert len(statements(m)) == 2  # the ratio's transform runs over a subquery
    result = execute(m, dataset.url, dataset.db)
    frame = in_range(dataset.frames["balanco_subsistema"])
    for sub in ("S", "NE"):
        part = frame[frame.id_subsistema == sub].sort_values("time")
        ratio = (part.val_gertermica / part.val_carga).rolling(3).mean()
        deriv = part.val_gerhidraulica.diff()
        rows = {r[0]: r for r in result.rows if r[1] == sub}
        for moment, want_ma, want_d in zip(part.time, ratio, deriv, strict=True):
            row = rows.get(moment.value)
            if math.isnan(want_ma) and math.isnan(want_d):
                assert row is None
                continue
            assert row is not None
            if not math.isnan(want_ma):
                assert close(row[2], want_ma)
            if not math.isnan(want_d):
                assert close(row[3], want_d)


def test_top_and_bottom_plants(dataset: Dataset) -> None:
    frame = in_range(dataset.frames["geracao_usina"])
    totals = frame.groupby("nom_usina")["val_geracao"].sum().sort_values(ascending=False)
    top = execute(model("geracao_usina", "sum(val_geracao)", top=TopN(3, "nom_usina")),
                  dataset.url, dataset.db)  # fmt: skip
    assert [r[1] for r in top.rows] == list(totals.index[:3])
    assert all(close(r[2], totals[r[1]]) for r in top.rows)
    bottom = execute(
        model("geracao_usina", "sum(val_geracao)", top=TopN(2, "nom_usina", bottom=True)),
        dataset.url, dataset.db,
    )  # fmt: skip
    assert [r[1] for r in bottom.rows] == list(totals.index[::-1][:2])


def test_top_per_subsystem_and_day(dataset: Dataset) -> None:
    m = model("geracao_usina", "mean(val_geracao)", top=TopN(1, "nom_usina"), window="1d",
              group_tags=("id_subsistema",))  # fmt: skip
    result = execute(m, dataset.url, dataset.db)
    frame = in_range(dataset.frames["geracao_usina"]).copy()
    frame["day"] = frame.time.dt.floor("D")
    means = frame.groupby(["day", "id_subsistema", "nom_usina"])["val_geracao"].mean()
    best = means.groupby(level=[0, 1]).idxmax()
    assert len(result.rows) == len(best)
    for moment, plant, sub, value in result.rows:
        key = best[(pd.Timestamp(moment, tz="UTC"), sub)]
        assert key[2] == plant and close(value, means[key])


def test_raw_values_with_value_filter_order_and_limit(dataset: Dataset) -> None:
    m = model(
        "cmo_semihorario", "val_cmo",
        tag_filters=(TagFilter("id_subsistema", FilterOp.NE, ("SE", "N")),),
        value_filters=(ValueFilter("val_cmo", ">", 250.0),),
        order_by=(OrderKey("time", True),), limit=7,
    )  # fmt: skip
    result = execute(m, dataset.url, dataset.db)
    frame = in_range(dataset.frames["cmo_semihorario"])
    frame = frame[frame.id_subsistema.isin(["S", "NE"]) & (frame.val_cmo > 250)]
    frame = frame.sort_values(["time", "id_subsistema"], ascending=[False, True]).head(7)
    assert result.names == ["time", "id_subsistema", "nom_subsistema", "c0"]
    assert sorted((r[0], r[3]) for r in result.rows) == sorted(
        (t.value, v) for t, v in zip(frame.time, frame.val_cmo, strict=True)
    )


def test_calendar_months_in_local_time(dataset: Dataset) -> None:
    # March 2024 ends inside the data in Brasília time: two calendar windows
    start, end = pd.Timestamp("2024-03-01T03:00Z"), pd.Timestamp("2024-03-05T00:00Z")
    m = model("curva_carga", "sum(val_cargaenergiahomwmed)", window="1mo",
              timezone="America/Sao_Paulo", time_range=TimeRange(start.value, end.value),
              group_tags=("id_subsistema",))  # fmt: skip
    result = execute(m, dataset.url, dataset.db)
    frame = in_range(dataset.frames["curva_carga"], start, end)
    sums = frame.groupby("id_subsistema")["val_cargaenergiahomwmed"].sum()
    assert {r[1]: r[0] for r in result.rows} == dict.fromkeys(sums.index, start.value)
    assert all(close(r[2], sums[r[1]]) for r in result.rows)


def test_weeks_start_on_monday_in_local_time(dataset: Dataset) -> None:
    # the data runs Friday 2024-03-01 to Tuesday 03-05 (UTC): two ISO weeks, not one
    # Thursday-to-Wednesday window as InfluxDB's epoch-aligned time(1w) alone would give
    whole = TimeRange(START.value, (START + pd.Timedelta(days=5)).value)
    m = model("curva_carga", "mean(val_cargaenergiahomwmed)", window="1w",
              timezone="America/Sao_Paulo", time_range=whole,
              tag_filters=(TagFilter("id_subsistema", FilterOp.EQ, ("SE",)),))  # fmt: skip
    result = execute(m, dataset.url, dataset.db)
    frame = dataset.frames["curva_carga"]
    frame = frame[frame.id_subsistema == "SE"].copy()
    local = frame["time"].dt.tz_convert("America/Sao_Paulo")
    frame["week"] = local.dt.floor("D") - pd.to_timedelta(local.dt.day_of_week, unit="D")
    weekly = frame.groupby("week")["val_cargaenergiahomwmed"].mean()
    got = dict(result.rows)
    assert len(weekly) == 2 and set(got) == {w.tz_convert("UTC").value for w in weekly.index}
    assert all(pd.Timestamp(t, tz="UTC").tz_convert("America/Sao_Paulo").weekday() == 0
               for t in got)  # fmt: skip
    for week, value in weekly.items():
        assert close(got[week.tz_convert("UTC").value], value)


def test_fill_zero_and_previous(dataset: Dataset) -> None:
    start = T1 - pd.Timedelta(hours=2)
    end = T1 + pd.Timedelta(days=10)  # past the data: empty windows
    m = model("curva_carga", "count(val_cargaenergiahomwmed)", window="1d", fill=Fill.VALUE,
              fill_value=0.0, time_range=TimeRange(start.value, end.value),
              tag_filters=(TagFilter("id_subsistema", FilterOp.EQ, ("S",)),))  # fmt: skip
    counts = [r[1] for r in execute(m, dataset.url, dataset.db).rows]
    data_end = START + pd.Timedelta(hours=120)
    assert counts[:3] == [2, 24, 24] and set(counts[3:]) == {0}
    assert sum(counts) == len(in_range(dataset.frames["curva_carga"], start, data_end)) // 4


def test_case_insensitive_plant_match_with_tricky_names(dataset: Dataset) -> None:
    frame = in_range(dataset.frames["geracao_usina"])
    for plant in TRICKY_PLANTS:
        m = model("geracao_usina", "sum(val_geracao)",
                  tag_filters=(TagFilter("nom_usina", FilterOp.IEQ, (plant.upper(),)),),
                  )  # fmt: skip
        (row,) = execute(m, dataset.url, dataset.db).rows
        assert close(row[1], frame[frame.nom_usina == plant].val_geracao.sum()), plant


def test_a_plant_named_without_its_accents_is_found(dataset: Dataset) -> None:
    """People type "Maua 3" and "SANTO ANTONIO DO JARI": the match ignores accents and case."""
    frame = in_range(dataset.frames["geracao_usina"])
    for plant in ("Itá", "Mauá 3", "Santo Antônio do Jari"):
        typed = fold(plant).upper()
        assert typed != plant.upper()  # the accents are gone
        m = model("geracao_usina", "sum(val_geracao)",
                  tag_filters=(TagFilter("nom_usina", FilterOp.IEQ, (typed,)),))  # fmt: skip
        (row,) = execute(m, dataset.url, dataset.db).rows
        assert close(row[1], frame[frame.nom_usina == plant].val_geracao.sum()), plant
    m = model("geracao_usina", "count(val_geracao)",
              tag_filters=(TagFilter("nom_usina", FilterOp.IEQ, ("Ita 3",)),))  # fmt: skip
    rows = execute(m, dataset.url, dataset.db).rows  # still the whole name: neither plant
    assert sum(r[1] or 0 for r in rows) == 0


def test_exact_match_of_every_tricky_tag_value(dataset: Dataset) -> None:
    frame = in_range(dataset.frames["geracao_usina"])
    for plant in TRICKY_PLANTS:
        m = model("geracao_usina", "count(val_geracao)",
                  tag_filters=(TagFilter("nom_usina", FilterOp.EQ, (plant,)),))  # fmt: skip
        (row,) = execute(m, dataset.url, dataset.db).rows
        assert row[1] == (frame.nom_usina == plant).sum(), plant


def test_runs_through_the_project_influx_client(dataset: Dataset) -> None:
    client = InfluxClient(InfluxConfig(url=dataset.url, database=dataset.db))
    with client:
        result = execute(model("cmo_semihorario", "max(val_cmo)"), client)
    frame = in_range(dataset.frames["cmo_semihorario"])
    assert close(result.rows[0][1], frame.val_cmo.max())


def test_server_errors_are_structured(dataset: Dataset) -> None:
    with pytest.raises(BackendUnavailable) as error:
        execute(model("cmo_semihorario", "max(val_cmo)"), dataset.url, "no_such_db_xyz")
    assert error.value.code == "influx_error" and "database not found" in error.value.message
    assert error.value.details["query"].startswith("SELECT")
    with pytest.raises(BackendUnavailable) as error:
        execute(model("cmo_semihorario", "max(val_cmo)"), "http://127.0.0.1:9", dataset.db)
    assert error.value.code == "influx_unreachable"


# -- quoting and injection ---------------------------------------------------------------------

INJECTIONS = [
    "x' OR '1'='1",
    '\'; DROP DATABASE "x"; --',
    'a" OR "b"="b',
    "back\\slash\\",
    "\\'",
    "line\nbreak",
    "/regex/",
    "${x}",
    "tab\there",
    "ünïcødé ✓",
]


def scan_string(text: str, quote: str) -> tuple[str, int]:
    """InfluxQL's string scanner (influxql/scanner.go ScanString): value and end position."""
    assert text[0] == quote
    out, i = [], 1
    while i < len(text):
        ch = text[i]
        if ch == quote:
            return "".join(out), i + 1
        assert ch != "\n", "raw newline in a string"
        if ch == "\\":
            nxt = text[i + 1]
            assert nxt in "n\\'\"", f"bad escape \\{nxt}"
            out.append("\n" if nxt == "n" else nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    raise AssertionError("unterminated string")


@pytest.mark.parametrize("value", INJECTIONS)
def test_quoting_round_trips(value: str) -> None:
    for quoted, quote in ((quote_literal(value), "'"), (quote_ident(value), '"')):
        decoded, end = scan_string(quoted, quote)
        assert decoded == value and end == len(quoted)
    literal = regex_literal(value.replace("\n", ""))
    assert literal.startswith("/") and literal.endswith("/")
    assert "/" not in literal[1:-1].replace("\\/", "")


def test_injection_attempts_only_ever_match_literally(dataset: Dataset) -> None:
    before = requests.get(f"{dataset.url}/query", params={"q": "SHOW DATABASES"}, timeout=10).json()
    plants = in_range(dataset.frames["geracao_usina"]).nom_usina
    for value in INJECTIONS + TRICKY_PLANTS:
        for op in (FilterOp.EQ, FilterOp.IEQ):
            m = model("geracao_usina", "count(val_geracao)",
                      tag_filters=(TagFilter("nom_usina", op, (value,)),))  # fmt: skip
            rows = execute(m, dataset.url, dataset.db).rows
            if op is FilterOp.IEQ:
                expected = int((plants.map(fold) == fold(value)).sum())
            else:
                expected = int((plants == value).sum())
            got = rows[0][1] if rows else 0
            assert got == expected, (value, op, render_influxql(m))
    after = requests.get(f"{dataset.url}/query", params={"q": "SHOW DATABASES"}, timeout=10).json()
    assert before == after


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"),
               max_size=30))  # fmt: skip
def test_any_text_is_a_literal(dataset: Dataset, value: str) -> None:
    """Whatever the text, the statement parses and matches no plant (or exactly the one named)."""
    m = model("geracao_usina", "count(val_geracao)", value_filters=(),
              tag_filters=(TagFilter("nom_usina", FilterOp.EQ, (value,)),),
              group_tags=(), time_range=TimeRange(to_ns(T0.to_pydatetime()), T1.value))  # fmt: skip
    rows = execute(m, dataset.url, dataset.db).rows
    expected = int((in_range(dataset.frames["geracao_usina"]).nom_usina == value).sum())
    assert (rows[0][1] if rows else 0) == expected
