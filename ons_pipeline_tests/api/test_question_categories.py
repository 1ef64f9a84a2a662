"""Issue #12 on the real InfluxDB: for each kind of question analysts ask — the latest data when
no period is given, compared periods, weekends, directions of interchange, shares of a named
denominator, extremes with their time, "which subsystem", units of sums, legacy wording — the
answer equals the same computation done with pandas on the generated data, and says what it did.

The test data covers 2024-03-01 … 2024-03-07 (local days; plants 03-01 … 03-02).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from ons_pipeline_tests.api.conftest import ApiData, frame, rfc3339

TZ = "America/Sao_Paulo"


def close(a: float | None, b: float) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def ask(client: TestClient, query: str, **body: object) -> dict:
    response = client.post("/v2/query", json={"query": query, **body})
    data = response.json()
    assert response.status_code == 200, data
    return data


def local_days(df: pd.DataFrame) -> pd.Series:
    return df.time.dt.tz_convert(TZ).dt.floor("D")


def day(df: pd.DataFrame, date: str) -> pd.DataFrame:
    return df[local_days(df) == pd.Timestamp(date, tz=TZ)]


def test_no_period_means_the_latest_data_not_the_clock(
    make_client: Callable[..., TestClient], api_data: ApiData
) -> None:
    """The demo's suggested question on data far older than the clock: the latest week of data."""
    client = make_client()
    client.app.state.processor.clock = lambda: datetime(2025, 6, 1, 12, tzinfo=UTC)  # type: ignore[attr-defined]
    data = ask(client, "carga média do Sudeste por dia")
    assert data["time_range"]["start"] == "2024-03-01T03:00:00Z"
    assert data["time_range"]["end"] == "2024-03-08T03:00:00Z"
    df = frame(api_data, "curva_carga")
    df = df[df.id_subsistema == "SE"]
    expected = df.groupby(local_days(df)).val_cargaenergiahomwmed.mean()
    got = {row[0]: row[-1] for row in data["rows"]}
    assert len(got) == 7
    for moment, value in expected.items():
        assert close(got[rfc3339(moment)], value)
    assumptions = data["translation"]["assumptions"]
    assert any("latest 7 days of data (2024-03-01 to 2024-03-07)" in a for a in assumptions)
    assert data["interpretation"] == (
        "média da carga horária (MWmed), subsistema SE, por dia, de 2024-03-01 a 2024-03-07 "
        "(horário local), sem período na pergunta: os últimos 7 dias com dados "
        "(2024-03-01 a 2024-03-07)"
    )


def test_answers_say_what_they_did_in_the_question_language(client: TestClient) -> None:
    en = ask(client, "average load in the south on March 2, 2024")
    assert en["interpretation"] == (
        "mean of hourly load (MWmed), subsystem S, on 2024-03-02 (local time)"
    )
    pt = ask(client, "Quanto o Nordeste exportou para o Sudeste em 2 de março de 2024?")
    assert pt["interpretation"] == (
        "soma do intercâmbio horário verificado (MWh), de NE para SE, em 2024-03-02 (horário local)"
    )


def test_periods_compared(client: TestClient, api_data: ApiData) -> None:
    data = ask(client, "carga média do Sul de 1 a 3 de março de 2024 vs de 5 a 7 de março de 2024")
    df = frame(api_data, "curva_carga")
    df = df[df.id_subsistema == "S"]
    days = local_days(df)
    first = df[
        (days >= pd.Timestamp("2024-03-01", tz=TZ)) & (days <= pd.Timestamp("2024-03-03", tz=TZ))
    ]
    second = df[
        (days >= pd.Timestamp("2024-03-05", tz=TZ)) & (days <= pd.Timestamp("2024-03-07", tz=TZ))
    ]
    assert [c["name"] for c in data["columns"]][:2] == ["time", "period"]
    got = {row[1]: row[-1] for row in data["rows"]}
    assert close(got["2024-03-01/2024-03-03"], first.val_cargaenergiahomwmed.mean())
    assert close(got["2024-03-05/2024-03-07"], second.val_cargaenergiahomwmed.mean())
    assert "comparando" in data["interpretation"]


def test_weekends_combined_into_one_value(client: TestClient, api_data: ApiData) -> None:
    data = ask(client, "Qual foi a carga média do Norte nos fins de semana de março de 2024?")
    df = frame(api_data, "curva_carga")
    df = df[df.id_subsistema == "N"]
    weekend = df[df.time.dt.tz_convert(TZ).dt.day_of_week >= 5]  # Sat 2 and Sun 3 in the data
    assert data["row_count"] == 1
    assert close(data["rows"][0][-1], weekend.val_cargaenergiahomwmed.mean())
    assert "fins de semana" in data["interpretation"]


@pytest.mark.parametrize(
    ("question", "origin", "destination", "sign"),
    [
        ("Quanto o Nordeste exportou para o Sudeste em 2 de março de 2024?", "NE", "SE", 1),
        ("Quanto o Sudeste recebeu do Nordeste em 2 de março de 2024?", "NE", "SE", 1),
        ("How much did the Southeast export to the Northeast on March 2, 2024?", "NE", "SE", -1),
        ("Quanto o Sul importou do Sudeste em 2 de março de 2024?", "SE", "S", 1),
    ],
)
def test_interchange_directions(
    client: TestClient, api_data: ApiData, question: str, origin: str, destination: str, sign: int
) -> None:
    """Energy sent from one subsystem to another: the pair's series as ONS orients it, summed
    (MWh), with its sign reversed when asked the other way."""
    data = ask(client, question)
    df = day(frame(api_data, "intercambio"), "2024-03-02")
    df = df[(df.id_subsistema_origem == origin) & (df.id_subsistema_destino == destination)]
    assert data["row_count"] == 1 and data["columns"][-1]["unit"] == "MWh"
    assert close(data["rows"][0][-1], sign * df.val_intercambiomwmed.sum())


def test_the_largest_interchange_of_a_pair_each_way_at_its_time(
    client: TestClient, api_data: ApiData
) -> None:
    """'o maior intercâmbio entre X e Y' without a direction: the largest flow each way, each
    in a row of its own at its time (the stored series' maximum was the answer, labelled both
    ways, a large flow the other way invisible)."""
    data = ask(
        client, "qual foi o maior intercâmbio entre Nordeste e Sudeste em 2 de março de 2024?"
    )
    df = day(frame(api_data, "intercambio"), "2024-03-02")
    df = df[(df.id_subsistema_origem == "NE") & (df.id_subsistema_destino == "SE")]
    names = [c["name"] for c in data["columns"]]
    assert names[-2:] == ["max_flow_NE_to_SE", "max_flow_SE_to_NE"]
    assert data["row_count"] == 2
    top, bottom = df.loc[df.val_intercambiomwmed.idxmax()], df.loc[df.val_intercambiomwmed.idxmin()]
    rows = {row[0]: row for row in data["rows"]}
    assert close(rows[rfc3339(top.time)][-2], top.val_intercambiomwmed)
    assert close(rows[rfc3339(bottom.time)][-1], -bottom.val_intercambiomwmed)


def test_net_export_and_import_of_a_subsystem(client: TestClient, api_data: ApiData) -> None:
    df = day(frame(api_data, "balanco_subsistema"), "2024-03-02")
    ne = df[df.id_subsistema == "NE"].val_intercambio.sum()
    exported = ask(client, "Quanto o Nordeste exportou em 2 de março de 2024?")
    assert close(exported["rows"][0][-1], ne)
    imported = ask(client, "How much power did the Northeast import on March 2, 2024?")
    assert close(imported["rows"][0][-1], -ne)


def test_share_of_a_named_denominator(client: TestClient, api_data: ApiData) -> None:
    """ "Participação da eólica na carga": wind generation / load over the period, in %."""
    df = day(frame(api_data, "balanco_subsistema"), "2024-03-02")
    ne = df[df.id_subsistema == "NE"]
    data = ask(
        client, "Qual a participação da geração eólica na carga do Nordeste em 2 de março de 2024?"
    )
    assert data["row_count"] == 1 and data["columns"][-1]["unit"] == "%"
    assert close(data["rows"][0][-1], ne.val_gereolica.sum() / ne.val_carga.sum() * 100)
    total = ne.val_gerhidraulica + ne.val_gertermica + ne.val_gereolica + ne.val_gersolar
    of_generation = ask(client, "wind share of total generation in the northeast on March 2, 2024")
    assert close(of_generation["rows"][0][-1], ne.val_gereolica.sum() / total.sum() * 100)


def test_single_extreme_with_its_time(client: TestClient, api_data: ApiData) -> None:
    """ "The minimum hourly load on <day>": one value and its hour, not 24 hourly minima."""
    data = ask(client, "What was the minimum hourly load in the South on March 3, 2024?")
    df = day(frame(api_data, "curva_carga"), "2024-03-03")
    df = df[df.id_subsistema == "S"].dropna(subset=["val_cargaenergiahomwmed"])
    low = df.loc[df.val_cargaenergiahomwmed.idxmin()]
    assert data["row_count"] == 1
    assert data["rows"][0][0] == rfc3339(low.time)
    assert close(data["rows"][0][-1], low.val_cargaenergiahomwmed)


def test_which_subsystem_is_a_top_1(client: TestClient, api_data: ApiData) -> None:
    df = day(frame(api_data, "curva_carga"), "2024-03-04")
    means = df.groupby("id_subsistema").val_cargaenergiahomwmed.mean()
    data = ask(client, "Qual subsistema teve a maior carga em 4 de março de 2024?")
    assert [(r[1], round(r[-1], 6)) for r in data["rows"]] == [
        (means.idxmax(), round(means.max(), 6))
    ]
    low = ask(client, "which region had the lowest load on March 4, 2024?")
    assert [r[1] for r in low["rows"]] == [means.idxmin()]


def test_which_plant_and_numbers_in_words(client: TestClient, api_data: ApiData) -> None:
    df = day(frame(api_data, "geracao_usina"), "2024-03-01")
    totals = df.groupby("nom_usina").val_geracao.sum().sort_values(ascending=False)
    data = ask(client, "Quais as três usinas que mais geraram em 1º de março de 2024?")
    assert [r[1] for r in data["rows"]] == list(totals.index[:3])
    assert data["columns"][-1]["unit"] == "MWh"
    one = ask(client, "Qual usina gerou mais em 1º de março de 2024?")
    assert [r[1] for r in one["rows"]] == [totals.index[0]]


def test_amounts_are_energy_in_mwh(client: TestClient, api_data: ApiData) -> None:
    df = day(frame(api_data, "curva_carga"), "2024-03-02")
    south = df[df.id_subsistema == "S"].val_cargaenergiahomwmed
    data = ask(client, "Quanta energia o Sul consumiu em 2 de março de 2024, em MWh?")
    assert data["columns"][-1]["unit"] == "MWh" and close(data["rows"][0][-1], south.sum())
    mean = ask(client, "Qual foi a carga média do Sul em 2 de março de 2024?")
    assert mean["columns"][-1]["unit"] == "MWmed" and close(mean["rows"][0][-1], south.mean())


def test_legacy_platform_wording(client: TestClient, api_data: ApiData) -> None:
    df = day(frame(api_data, "generation_data"), "2024-03-02")
    df = df[(df.region == "northeast") & (df.energy_source == "wind")]
    df = df[df.measurement_type == "verified"]
    data = ask(client, "geração eólica média do Nordeste na plataforma antiga em 2/3/2024")
    assert data["model"]["table"] == "generation_data"
    assert close(data["rows"][0][-1], df.value.mean())


def test_counts_and_means_under_a_condition_on_values(
    client: TestClient, api_data: ApiData
) -> None:
    """ "Quantas meias horas o CMO ficou acima de X": the points above X, counted by InfluxDB."""
    df = day(frame(api_data, "cmo_semihorario"), "2024-03-05")
    se = df[df.id_subsistema == "SE"].val_cmo.dropna()
    threshold = round(float(se.median()), 2)
    data = ask(
        client, f"quantas meias horas o cmo do SE ficou acima de {threshold} em 5 de março de 2024"
    )
    assert data["model"]["value_filters"] == [{"field": "val_cmo", "op": ">", "value": threshold}]
    assert data["rows"][0][-1] == int((se > threshold).sum()) > 0
    mean = ask(client, f"média do CMO do SE quando acima de {threshold} em 5 de março de 2024")
    assert close(mean["rows"][0][-1], float(se[se > threshold].mean()))
    hours = ask(
        client, f"quantas horas o cmo do SE ficou acima de {threshold} em 5 de março de 2024"
    )
    assert close(hours["rows"][0][-1], (se > threshold).sum() / 2)  # half-hours, halved


def test_each_plants_latest_value(client: TestClient, api_data: ApiData) -> None:
    df = frame(api_data, "geracao_usina").dropna(subset=["val_geracao"])
    latest = df.sort_values("time").groupby("nom_usina").tail(1).set_index("nom_usina")
    data = ask(client, "usinas gerando agora", now="2024-03-03T12:00:00Z")
    got = {r[1]: r[-1] for r in data["rows"]}
    assert got.keys() == set(latest.index)
    assert all(close(got[name], row.val_geracao) for name, row in latest.iterrows())


def test_difference_of_scheduled_and_verified_interchange(
    client: TestClient, api_data: ApiData
) -> None:
    df = day(frame(api_data, "intercambio"), "2024-03-02")
    df = df[(df.id_subsistema_origem == "N") & (df.id_subsistema_destino == "SE")]
    data = ask(
        client,
        "Qual a diferença entre o intercâmbio programado e o verificado do Norte para o Sudeste "
        "em 2 de março de 2024?",
    )
    verified, scheduled = df.val_intercambiomwmed.mean(), df.val_intercambioprogmwmed.mean()
    assert data["row_count"] == 1 and data["columns"][-1]["unit"] == "MWmed"
    assert close(data["rows"][0][-1], verified - scheduled)
    assert close(data["rows"][0][-2], scheduled) and close(data["rows"][0][-3], verified)


def test_several_aggregates_of_one_measure(client: TestClient, api_data: ApiData) -> None:
    df = day(frame(api_data, "curva_carga"), "2024-03-02")
    south = df[df.id_subsistema == "S"].val_cargaenergiahomwmed.dropna()
    data = ask(client, "carga do Sul em 2 de março de 2024: média, mínimo e máximo")
    assert [c["name"] for c in data["columns"]][-3:] == [
        "mean_val_cargaenergiahomwmed",
        "min_val_cargaenergiahomwmed",
        "max_val_cargaenergiahomwmed",
    ]
    row = data["rows"][0]
    assert close(row[-3], south.mean()) and close(row[-2], south.min())
    assert close(row[-1], south.max())


def test_windows_ranked_without_a_period_are_ranked_over_all_the_data(
    make_client: Callable[..., TestClient], api_data: ApiData
) -> None:
    """ "Em que dia a carga foi maior": the days of all the data (from its first point, looked up
    on the server), not of the latest week; "a maior carga até hoje" likewise."""
    client = make_client()
    client.app.state.processor.clock = lambda: datetime(2025, 6, 1, 12, tzinfo=UTC)  # type: ignore[attr-defined]
    df = frame(api_data, "curva_carga")
    df = df[df.id_subsistema == "SE"].dropna(subset=["val_cargaenergiahomwmed"])
    means = df.groupby(local_days(df)).val_cargaenergiahomwmed.mean()
    data = ask(client, "em que dia a carga do SE foi maior")
    assert data["time_range"]["start"] == rfc3339(local_days(df).min())
    assert [(r[0], round(r[-1], 6)) for r in data["rows"]] == [
        (rfc3339(means.idxmax()), round(means.max(), 6))
    ]
    assert any("all the data" in a for a in data["translation"]["assumptions"])
    record = ask(client, "maior carga do SE até hoje")
    high = df.loc[df.val_cargaenergiahomwmed.idxmax()]
    assert [(r[0], round(r[-1], 6)) for r in record["rows"]] == [
        (rfc3339(high.time), round(high.val_cargaenergiahomwmed, 6))
    ]


def test_the_sins_stored_energy_summed_over_the_subsystems(
    client: TestClient, api_data: ApiData
) -> None:
    """ "EAR do SIN": ear_diario has no SIN series; each day's subsystems summed, and its % the
    sum stored over the sum of capacities (not a mean of percentages)."""
    df = day(frame(api_data, "ear_diario"), "2024-03-04")
    data = ask(client, "EAR do SIN em 04/03/2024")
    share = df.ear_verif_subsistema_mwmes.sum() / df.ear_max_subsistema.sum() * 100
    assert len(df) == 4 and data["row_count"] == 1
    assert close(data["rows"][0][-1], share)
    stored = ask(client, "energia armazenada do SIN em MWmês em 04/03/2024")
    assert close(stored["rows"][0][-1], df.ear_verif_subsistema_mwmes.sum())


def test_a_share_now_is_the_share_at_the_latest_hour(client: TestClient, api_data: ApiData) -> None:
    df = frame(api_data, "balanco_subsistema")
    sin = df[(df.id_subsistema == "SIN") & (df.time < pd.Timestamp("2024-03-05T12:00:00Z"))]
    latest = sin.sort_values("time").iloc[-1]
    total = latest.val_gerhidraulica + latest.val_gertermica + latest.val_gereolica
    total += latest.val_gersolar
    data = ask(
        client, "what's the hydro share of SIN generation right now?", now="2024-03-05T12:00:00Z"
    )
    assert data["row_count"] == 1 and data["columns"][-1]["unit"] == "%"
    assert close(data["rows"][0][-1], latest.val_gerhidraulica / total * 100)


def test_a_profile_by_hour_of_the_day(client: TestClient, api_data: ApiData) -> None:
    """Each local hour's mean over the days of the period (the half-hourly CMO: both half
    hours of every day), as pandas groups the points by their local hour."""
    for table, field, question in (
        (
            "balanco_subsistema",
            "val_gersolar",
            "média da geração solar do NE por hora do dia de 1 a 7 de março de 2024",
        ),
        ("cmo_semihorario", "val_cmo", "average NE CMO by hour of the day, March 1-7, 2024"),
    ):
        df = frame(api_data, table)
        df = df[(df.id_subsistema == "NE") & (local_days(df) <= pd.Timestamp("2024-03-07", tz=TZ))]
        expected = df.groupby(df.time.dt.tz_convert(TZ).dt.hour)[field].mean()
        data = ask(client, question)
        assert data["columns"][0]["kind"] == "tag" and data["row_count"] == 24, question
        assert data["model"]["by_hour_of_day"] is True
        got = {row[0]: row[-1] for row in data["rows"]}
        assert sorted(got) == [f"{h:02d}:00" for h in range(24)]
        for hour, value in expected.items():
            assert close(got[f"{hour:02d}:00"], value), (question, hour)


def test_the_spread_between_two_subsystems_is_their_difference(
    client: TestClient, api_data: ApiData
) -> None:
    df = day(frame(api_data, "cmo_semihorario"), "2024-03-02")
    se = df[df.id_subsistema == "SE"].set_index("time").val_cmo
    ne = df[df.id_subsistema == "NE"].set_index("time").val_cmo
    data = ask(client, "spread médio de CMO SE-NE em 2 de março de 2024")
    assert data["model"]["difference"] == {
        "tag": "id_subsistema",
        "minuend": "SE",
        "subtrahend": "NE",
    }
    got = {row[1]: row[-1] for row in data["rows"]}
    assert close(got["SE"], se.mean()) and close(got["NE"], ne.mean())
    # the difference of the two means (the mean of the half-hourly differences when both have
    # every half-hour; the generated data has gaps)
    assert close(got["SE − NE"], se.mean() - ne.mean())
    assert any(
        "difference of the" in a or "diferença d" in a for a in data["translation"]["assumptions"]
    )
    hourly = ask(client, "SE-NE CMO spread on March 2, 2024")
    spread = {row[0]: row[-1] for row in hourly["rows"] if row[1] == "SE − NE"}
    both = (se - ne).dropna()
    assert len(spread) == len(both) > 40
    for moment, value in both.items():
        assert close(spread[rfc3339(moment)], value)


def test_a_profile_by_day_of_the_week(client: TestClient, api_data: ApiData) -> None:
    """Each local weekday's mean over the weeks of the period, as pandas groups the points."""
    df = frame(api_data, "curva_carga")
    df = df[(df.id_subsistema == "SE") & (local_days(df) <= pd.Timestamp("2024-03-07", tz=TZ))]
    expected = df.groupby(df.time.dt.tz_convert(TZ).dt.day_of_week).val_cargaenergiahomwmed.mean()
    data = ask(client, "média da carga do SE por dia da semana de 1 a 7 de março de 2024")
    assert data["model"]["by_day_of_week"] is True and data["row_count"] == 7
    got = {row[0]: row[-1] for row in data["rows"]}
    for weekday, value in expected.items():
        assert close(got[str(weekday + 1)], value), weekday


def test_how_a_stock_moved_over_a_period(client: TestClient, api_data: ApiData) -> None:
    """ "Quanto o armazenamento caiu em março, em pontos percentuais": the last day's stored
    energy % minus the first day's (the data holds 1–7 March)."""
    df = frame(api_data, "ear_diario")
    se = df[df.id_subsistema == "SE"].sort_values("time")
    data = ask(client, "Quanto o armazenamento do SE caiu em março de 2024, em pontos percentuais?")
    expected = (
        se.ear_verif_subsistema_percentual.iloc[-1] - se.ear_verif_subsistema_percentual.iloc[0]
    )
    assert data["row_count"] == 1 and close(data["rows"][0][-1], expected)


def test_energy_on_average_per_day_is_the_mean_days_energy(
    client: TestClient, api_data: ApiData
) -> None:
    """ "Quanto o SE consumiu em média por dia": the energy of the period's mean day (MWh a
    day), equal to each local day's total averaged over the days (every day complete)."""
    df = frame(api_data, "curva_carga")
    se = df[df.id_subsistema == "SE"]
    daily = se.groupby(local_days(se)).val_cargaenergiahomwmed.sum()
    data = ask(client, "Quanto o SE consumiu em média por dia de 1 a 7 de março de 2024?")
    assert len(daily) == 7 and data["row_count"] == 1
    assert close(data["rows"][0][-1], daily.mean())
    assert "MWh/d" in data["interpretation"]


def test_a_period_before_the_first_point_is_refused_with_where_the_data_starts(
    client: TestClient, api_data: ApiData
) -> None:
    first = frame(api_data, "curva_carga").time.min().tz_convert(TZ)
    response = client.post("/v2/query", json={"query": "carga do SE em fevereiro de 2024"})
    error = response.json()["error"]
    assert response.status_code == 422 and error["code"] == "incomplete_translation"
    assert f"the data starts on {first:%Y-%m-%d}" in str(error["details"])
    across = ask(client, "carga média do SE de 15 de fevereiro a 2 de março de 2024")
    assert f"the data starts on {first:%Y-%m-%d}" in across["translation"]["assumptions"]


def test_the_sins_stored_energy_on_the_last_day_of_each_month(
    client: TestClient, api_data: ApiData
) -> None:
    """ "Armazenamento do SIN em % no último dia de cada mês de 2024": the SIN's day (summed over
    the subsystems) on each month's last day the data holds; the data ends on 7 March, so March
    gives that day, and the months before the data are left out."""
    df = frame(api_data, "ear_diario")
    last = day(df, "2024-03-07")
    share = last.ear_verif_subsistema_mwmes.sum() / last.ear_max_subsistema.sum() * 100
    data = ask(client, "Preciso do armazenamento do SIN em % no último dia de cada mês de 2024.")
    assert len(last) == 4 and data["row_count"] == 1
    assert close(data["rows"][0][-1], share)
    assert "2024-03-07" in data["interpretation"]


def test_todays_value_of_a_daily_table_is_its_latest_up_to_now(
    client: TestClient, api_data: ApiData
) -> None:
    """ "EAR do SE hoje" before today's point is published (the data ends on 7 March; NOW is
    the 8th) answered nothing; it is the latest point up to now, with its date. On a day whose
    point is in, that day's."""
    df = frame(api_data, "ear_diario")
    se = df[df.id_subsistema == "SE"].sort_values("time")
    data = ask(client, "EAR do SE hoje, em %")
    assert data["row_count"] == 1
    assert close(data["rows"][0][-1], se.iloc[-1].ear_verif_subsistema_percentual)
    assert data["rows"][0][0] == rfc3339(se.iloc[-1].time)
    fifth = day(se, "2024-03-05").iloc[0]
    on_the_day = ask(client, "EAR do SE hoje, em %", now="2024-03-05T18:00:00Z")
    assert close(on_the_day["rows"][0][-1], fifth.ear_verif_subsistema_percentual)


def test_a_ranking_of_a_daily_table_today_reads_the_latest_points(
    client: TestClient, api_data: ApiData
) -> None:
    """ "Qual subsistema tem o reservatório mais cheio hoje?" ranked today's points only: an
    empty answer until they are published (an outside review). It ranks the latest ones."""
    df = frame(api_data, "ear_diario").sort_values("time")
    latest = df.groupby("id_subsistema").ear_verif_subsistema_percentual.last()
    data = ask(client, "Qual subsistema tem o reservatório mais cheio hoje?")
    assert data["row_count"] == 1
    assert data["rows"][0][1] == latest.idxmax()
    assert close(data["rows"][0][-1], latest.max())


def test_several_extremes_each_with_its_time(client: TestClient, api_data: ApiData) -> None:
    """ "min and max … with times" was refused (InfluxDB gives a statement of several
    aggregates its range's start as time): each extreme is asked apart and comes at its own
    time; a mean asked beside them sits at the start of the period."""
    df = day(frame(api_data, "curva_carga"), "2024-03-03")
    south = df[df.id_subsistema == "S"].dropna(subset=["val_cargaenergiahomwmed"])
    low = south.loc[south.val_cargaenergiahomwmed.idxmin()]
    high = south.loc[south.val_cargaenergiahomwmed.idxmax()]
    data = ask(client, "min and max load in the South on March 3, 2024, with times")
    names = [c["name"] for c in data["columns"]]
    lo, hi = names.index("min_val_cargaenergiahomwmed"), names.index("max_val_cargaenergiahomwmed")
    rows = {row[0]: row for row in data["rows"]}
    assert data["row_count"] == 2 and data["model"]["extreme_times"] is True
    assert close(rows[rfc3339(low.time)][lo], low.val_cargaenergiahomwmed)
    assert close(rows[rfc3339(high.time)][hi], high.val_cargaenergiahomwmed)
    both = ask(client, "média e máximo da carga do Sul em 3 de março de 2024, com dia e hora")
    names = [c["name"] for c in both["columns"]]
    by_time = {row[0]: row for row in both["rows"]}
    start = rfc3339(pd.Timestamp("2024-03-03T03:00:00Z"))
    assert close(
        by_time[start][names.index("mean_val_cargaenergiahomwmed")],
        south.val_cargaenergiahomwmed.mean(),
    )
    assert close(
        by_time[rfc3339(high.time)][names.index("max_val_cargaenergiahomwmed")],
        high.val_cargaenergiahomwmed,
    )


def test_a_follow_up_is_read_with_the_conversations_earlier_questions(
    client: TestClient, api_data: ApiData
) -> None:
    """ "e no Nordeste?" alone names no measure and was refused; sent with the conversation's
    earlier questions (``previous``) it is the question before it with the place replaced, and
    a chain of follow-ups carries every part not replaced (the period, then the place)."""
    df = frame(api_data, "curva_carga")
    first = "qual foi a carga máxima do Sudeste em 3 de março de 2024?"
    alone = client.post("/v2/query", json={"query": "e no Nordeste?"})
    assert alone.status_code == 422
    data = ask(client, "e no Nordeste?", previous=[first])
    ne = day(df[df.id_subsistema == "NE"], "2024-03-03")
    assert close(data["rows"][0][-1], ne.val_cargaenergiahomwmed.max())
    assert (
        data["translation"]["read_as"]
        == "qual foi a carga máxima no Nordeste em 3 de março de 2024?"
    )
    chained = ask(client, "e a mínima?", previous=[first, "e no Nordeste?"])
    assert close(chained["rows"][0][-1], ne.val_cargaenergiahomwmed.min())
    assert chained["rows"][0][0] == rfc3339(ne.loc[ne.val_cargaenergiahomwmed.idxmin()].time)
    again = ask(client, "and on March 4?", previous=[first, "e no Nordeste?", "e a mínima?"])
    fourth = day(df[df.id_subsistema == "NE"], "2024-03-04")
    assert close(again["rows"][0][-1], fourth.val_cargaenergiahomwmed.min())
    # a whole question is read alone, whatever came before it
    whole = ask(client, "carga média do Sul em 3 de março de 2024", previous=[first])
    south = day(df[df.id_subsistema == "S"], "2024-03-03")
    assert close(whole["rows"][0][-1], south.val_cargaenergiahomwmed.mean())
    assert whole["translation"]["read_as"] is None
    # what the data has not stays refused, conversation or not
    refused = client.post("/v2/query", json={"query": "e a previsão?", "previous": [first]})
    assert refused.status_code == 422
    too_many = client.post("/v2/query", json={"query": "e no Sul?", "previous": [first] * 11})
    assert too_many.status_code == 422


def test_the_last_time_a_condition_held_and_sources_added(
    client: TestClient, api_data: ApiData
) -> None:
    """ "When was the last time … below X?" is the latest point that met the condition, with its
    time (it was refused); "eólica + solar" is one sum of the two sources (it was refused)."""
    ear = frame(api_data, "ear_diario")
    se = ear[ear.id_subsistema == "SE"].sort_values("time")
    threshold = round(float(se.ear_verif_subsistema_percentual.median()), 4)
    below = se[se.ear_verif_subsistema_percentual < threshold].iloc[-1]
    data = ask(client, f"When was the last time Southeast reservoirs were below {threshold:.4f}%?")
    assert data["row_count"] == 1
    assert data["rows"][0][0] == rfc3339(below.time)
    assert close(data["rows"][0][-1], below.ear_verif_subsistema_percentual)
    balance = day(frame(api_data, "balanco_subsistema"), "2024-03-03")
    ne = balance[balance.id_subsistema == "NE"]
    added = ask(client, "geração eólica + solar do NE em 3 de março de 2024, em MWh")
    assert added["row_count"] == 1
    assert close(added["rows"][0][-1], ne.val_gereolica.sum() + ne.val_gersolar.sum())


def test_each_days_peak_with_its_hour(client: TestClient, api_data: ApiData) -> None:
    """ "Daily peak … with the hour": each day's maximum at the time of its point (InfluxQL's
    max() per window is stamped at the window's start; it is asked as top(f, 1))."""
    df = frame(api_data, "curva_carga")
    south = df[df.id_subsistema == "S"].dropna(subset=["val_cargaenergiahomwmed"])
    south = south[(local_days(south) >= pd.Timestamp("2024-03-02", tz=TZ))]
    south = south[(local_days(south) <= pd.Timestamp("2024-03-04", tz=TZ))]
    data = ask(client, "daily peak load in the South from March 2 to 4, 2024, with the hour")
    expected = south.loc[south.groupby(local_days(south)).val_cargaenergiahomwmed.idxmax()]
    assert [row[0] for row in data["rows"]] == [rfc3339(t) for t in expected.time]
    for row, value in zip(data["rows"], expected.val_cargaenergiahomwmed, strict=True):
        assert close(row[-1], value)


def test_days_whose_value_passed_a_threshold_are_counted(
    client: TestClient, api_data: ApiData
) -> None:
    """ "Quantos dias a carga média passou de X?": each local day's mean compared, the days that
    passed counted (InfluxQL compares points, not a day's mean); without an aggregate, a day
    passed when it did at some hour (its maximum). Both as pandas counts them."""
    df = frame(api_data, "curva_carga")
    se = df[df.id_subsistema == "SE"].dropna(subset=["val_cargaenergiahomwmed"])
    daily = se.groupby(local_days(se)).val_cargaenergiahomwmed
    means, peaks = daily.mean(), daily.max()
    threshold = round(float(means.median()), 2)
    data = ask(
        client,
        f"quantos dias de 1 a 7 de março de 2024 a carga média diária do Sudeste passou de "
        f"{threshold}?",
    )
    assert data["model"]["window_filter"] == {"op": ">", "value": threshold, "count": True}
    assert data["columns"][-1]["name"] == "windows"
    assert data["rows"][0][-1] == int((means > threshold).sum()) > 0
    peak_line = round(float(peaks.median()), 2)
    peaks_data = ask(client, f"how many days in March 1-7, 2024 did SE load exceed {peak_line} MW?")
    assert peaks_data["rows"][0][-1] == int((peaks > peak_line).sum()) > 0
    assert any("at some point" in a for a in peaks_data["translation"]["assumptions"])
    # per subsystem: one count each, 0 for a subsystem whose days never passed it
    each = ask(
        client,
        f"quantos dias de 1 a 7 de março de 2024 a carga média de cada subsistema passou de "
        f"{threshold}?",
    )
    counted = {row[1]: row[-1] for row in each["rows"]}
    for code, group in df.dropna(subset=["val_cargaenergiahomwmed"]).groupby("id_subsistema"):
        day_means = group.groupby(local_days(group)).val_cargaenergiahomwmed.mean()
        assert counted[code] == int((day_means > threshold).sum()), code


def test_steps_when_one_subsystem_was_above_the_other_are_counted(
    client: TestClient, api_data: ApiData
) -> None:
    """ "In how many half-hours was the South CMO higher than the Southeast's?": the half-hours
    where their difference was above 0 (it was refused: a condition needed a number)."""
    df = day(frame(api_data, "cmo_semihorario"), "2024-03-05")
    wide = df.pivot_table(index="time", columns="id_subsistema", values="val_cmo").dropna()
    data = ask(
        client,
        "On March 5, 2024, in how many half-hours was the South CMO higher than the Southeast CMO?",
    )
    assert data["model"]["difference"] == {
        "tag": "id_subsistema",
        "minuend": "S",
        "subtrahend": "SE",
    }
    assert data["row_count"] == 1 and data["rows"][0][1] == "S − SE"
    assert data["rows"][0][-1] == int((wide["S"] > wide["SE"]).sum())
    lower = ask(
        client, "quantas meias horas de 5 de março de 2024 o CMO do Sul ficou abaixo do SE?"
    )
    assert lower["rows"][0][-1] == int((wide["S"] < wide["SE"]).sum())


def test_two_plants_compared_with_their_difference(client: TestClient, api_data: ApiData) -> None:
    """ "Quem gerou mais, A ou B? E qual foi a diferença?": each plant's energy and A − B, the
    plants named as the data spells them."""
    df = day(frame(api_data, "geracao_usina"), "2024-03-01")
    totals = df.groupby("nom_usina").val_geracao.sum().sort_values(ascending=False)
    a, b = totals.index[0], totals.index[1]
    data = ask(
        client, f'Quem gerou mais em 1º de março de 2024, "{a}" ou "{b}"? E qual foi a diferença?'
    )
    rows = {row[1]: row[-1] for row in data["rows"]}
    assert close(rows[a], totals[a]) and close(rows[b], totals[b])
    assert close(rows[f"{a} − {b}"], totals[a] - totals[b])


def test_days_that_passed_a_threshold_counted_in_each_period_compared(
    client: TestClient, api_data: ApiData
) -> None:
    """ "Quantos dias de … vs de … a carga média passou de X?": one count per period."""
    df = frame(api_data, "curva_carga")
    se = df[df.id_subsistema == "SE"].dropna(subset=["val_cargaenergiahomwmed"])
    means = se.groupby(local_days(se)).val_cargaenergiahomwmed.mean()
    threshold = round(float(means.median()), 2)
    data = ask(
        client,
        "quantos dias de 1 a 3 de março de 2024 vs de 4 a 7 de março de 2024 a carga média "
        f"diária do Sudeste passou de {threshold}?",
    )
    counts = [row[-1] for row in data["rows"]]
    first = means[means.index < pd.Timestamp("2024-03-04", tz=TZ)]
    second = means[means.index >= pd.Timestamp("2024-03-04", tz=TZ)]
    assert counts == [int((first > threshold).sum()), int((second > threshold).sum())]
    assert [row[0] for row in data["rows"]] == ["2024-03-01T03:00:00Z", "2024-03-04T03:00:00Z"]


def test_a_profile_by_hour_of_the_day_over_some_days_of_the_week(
    client: TestClient, api_data: ApiData
) -> None:
    """The hourly profile of the weekdays only (it was refused: a profile took no days of the
    week): each local hour's mean over those days, as pandas has it."""
    df = frame(api_data, "curva_carga")
    df = df[(df.id_subsistema == "S") & (local_days(df) <= pd.Timestamp("2024-03-07", tz=TZ))]
    weekdays = df[df.time.dt.tz_convert(TZ).dt.day_of_week < 5]
    expected = weekdays.groupby(weekdays.time.dt.tz_convert(TZ).dt.hour).val_cargaenergiahomwmed
    data = ask(client, "average hourly load profile of the South on weekdays, March 1-7, 2024")
    got = {row[0]: row[-1] for row in data["rows"]}
    assert data["model"]["by_hour_of_day"] and data["row_count"] == 24
    for hour, value in expected.mean().items():
        assert close(got[f"{hour:02d}:00"], value), hour
