"""Issue #12, category by category, at the translator: numbers, sub-periods, comparisons,
directions of interchange, shares, single extremes, rankings, plants and fuels, units, legacy
wording, honesty (what is not understood) and the answer in words. The numbers these models give
on InfluxDB are checked in ``ons_pipeline_tests/api/test_question_categories.py``."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ons_pipeline.lib.query import numbers, periods
from ons_pipeline.lib.query.model import Aggregation, QueryModel, format_time
from ons_pipeline.lib.query.nl import Translation, translate

ZONE = ZoneInfo("America/Sao_Paulo")
NOW = datetime(2024, 4, 10, 15, tzinfo=ZONE)  # a Wednesday
LATEST = datetime(2024, 3, 31, 23, tzinfo=ZONE)


def tr(question: str) -> Translation:
    return translate(question, NOW, latest=lambda table: LATEST)


def model(question: str) -> QueryModel:
    result = tr(question)
    assert result.model is not None and not result.unmapped, (question, result.unmapped)
    return result.model


def local(ns: int | None) -> str:
    assert ns is not None
    moment = datetime.fromisoformat(format_time(ns).replace("Z", "+00:00")).astimezone(ZONE)
    if (moment.hour, moment.minute) == (0, 0):
        return f"{moment:%Y-%m-%d}"
    return f"{moment:%Y-%m-%dT%H:%M}"


def span(m: QueryModel) -> tuple[str, str]:
    return local(m.time_range.start), local(m.time_range.end)


def selects(m: QueryModel) -> list[str]:
    return [str(s.expr) for s in m.selections]


def where(m: QueryModel) -> dict[str, tuple[str, ...]]:
    return {f.tag: f.values for f in m.tag_filters}


# -- numbers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("5", 5), ("cinco", 5), ("vinte e cinco", 25), ("twenty-five", 25), ("cento e vinte", 120),
     ("two hundred", 200), ("cinco mil", 5000), ("dois mil e quinhentos", 2500), ("quinze", 15),
     ("2.5", None), ("3,7", None), ("dois tres", None)],
)  # fmt: skip
def test_numbers_in_words_and_digits(text: str, value: int | None) -> None:
    assert numbers.parse(text) == value


@pytest.mark.parametrize(
    ("question", "n", "bottom", "tag"),
    [
        ("os três maiores usinas em março de 2024", 3, False, "nom_usina"),
        ("as vinte e cinco usinas que mais geraram em 2023", 25, False, "nom_usina"),
        ("top twenty plants in Bahia in 2023", 20, False, "nom_usina"),
        ("the 5 plants that generated the least in the South in March 2024", 5, True, "nom_usina"),
        ("os dois subsistemas com maior carga em março de 2024", 2, False, "id_subsistema"),
        ("os quatro estados com maior geração eólica em 2023", 4, False, "id_estado"),
    ],
)
def test_top_n_in_words(question: str, n: int, bottom: bool, tag: str) -> None:
    top = model(question).top
    assert top is not None and (top.n, top.bottom, top.tag) == (n, bottom, tag)


@pytest.mark.parametrize(
    "question",
    ["top 2,5 usinas em 2023", "as cinco mil maiores usinas em 2023", "top 0 usinas em 2023",
     "Top -3 usinas em 2023", "média móvel de 1 dia da carga do Sul em março de 2024"],
)  # fmt: skip
def test_numbers_not_understood_are_reported(question: str) -> None:
    assert tr(question).unmapped, question


# -- periods --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phrase", "start", "end"),
    [
        ("na primeira quinzena de março de 2024", "2024-03-01", "2024-03-16"),
        ("na segunda quinzena de fevereiro de 2024", "2024-02-16", "2024-03-01"),
        ("in the second half of March 2024", "2024-03-16", "2024-04-01"),
        ("na primeira semana de março de 2024", "2024-03-01", "2024-03-08"),
        ("na terceira semana de fevereiro de 2024", "2024-02-15", "2024-02-22"),
        ("na última semana de março de 2024", "2024-03-25", "2024-04-01"),
        ("nos 10 primeiros dias de março de 2024", "2024-03-01", "2024-03-11"),
        ("in the last two weeks of February 2024", "2024-02-16", "2024-03-01"),
        ("no último fim de semana de março de 2024", "2024-03-30", "2024-04-01"),
        ("em março", "2024-03-01", "2024-04-01"),
        ("no mês de fevereiro", "2024-02-01", "2024-03-01"),
        ("em dezembro", "2023-12-01", "2024-01-01"),
        ("nos últimos 10 dias", "2024-03-31T15:00", "2024-04-10T15:00"),
        ("desde 15 de março de 2024", "2024-03-15", "2024-04-10T15:00"),
        ("desde o início de 2024", "2024-01-01", "2024-04-10T15:00"),
        ("de janeiro até março de 2024", "2024-01-01", "2024-04-01"),
        ("de 10 de janeiro a 20 de fevereiro de 2024", "2024-01-10", "2024-02-21"),
        ("no verão de 2024", "2023-12-01", "2024-03-01"),
        ("no inverno de 2023", "2023-06-01", "2023-09-01"),
        ("in the 2023/2024 wet season", "2023-11-01", "2024-05-01"),
        ("no período úmido 2023/2024", "2023-11-01", "2024-05-01"),
        ("no período seco de 2023", "2023-05-01", "2023-11-01"),
        ("no primeiro semestre de 2023", "2023-01-01", "2023-07-01"),
        ("no último trimestre de 2023", "2023-10-01", "2024-01-01"),
        ("na semana 10 de 2024", "2024-03-04", "2024-03-11"),
        ("no fim de março de 2024", "2024-03-31", "2024-04-01"),
    ],
)
def test_sub_periods(phrase: str, start: str, end: str) -> None:
    assert span(model(f"carga média do Sul {phrase}")) == (start, end)


def test_weekends_and_weekdays_keep_those_days_combined() -> None:
    m = model("carga média do Sul nos fins de semana de março de 2024")
    assert m.combine_periods and span(m) == ("2024-03-01", "2024-04-01")
    assert [p.label for p in m.periods] == [
        "2024-03-02/2024-03-03", "2024-03-09/2024-03-10", "2024-03-16/2024-03-17",
        "2024-03-23/2024-03-24", "2024-03-30/2024-03-31",
    ]  # fmt: skip
    weekdays = model("average load in the South on weekdays in March 2024")
    assert weekdays.periods[0].label == "2024-03-01" and len(weekdays.periods) == 5
    sundays = model("carga média do Sul aos domingos de março de 2024")
    assert [p.label for p in sundays.periods][:2] == ["2024-03-03", "2024-03-10"]
    # per hour on weekends: the hourly rows of each weekend, not combined
    hourly = model("carga horária do Sul nos fins de semana de março de 2024")
    assert not hourly.combine_periods and str(hourly.window) == "1h"


@pytest.mark.parametrize(
    "question",
    [
        "carga média do Sul em março de 2024 vs março de 2023",
        "carga média do Sul em março de 2024 comparada com março de 2023",
        "carga média do Sul em março de 2024 em relação ao mesmo mês do ano anterior",
        "average load in the South in March 2024 compared with March 2023",
        "carga média do Sul em março de 2024 e em março de 2023",
    ],
)
def test_periods_compared(question: str) -> None:
    m = model(question)
    assert [p.label for p in m.periods] == ["2024-03", "2023-03"] and not m.combine_periods
    assert m.result_tags()[0] == "period" and m.window is None
    assert span(m) == ("2023-03-01", "2024-04-01")


@pytest.mark.parametrize(
    ("question", "labels"),
    [
        ("carga do SIN em outubro de 2023 em relação ao mês anterior", ["2023-10", "2023-09"]),
        ("carga do SIN em outubro de 2023 sobre igual período do ano passado",
         ["2023-10", "2022-10"]),
        ("load of the SIN in 2023 compared with the previous year", ["2023", "2022"]),
        ("carga do Sul na semana de 4 a 10 de março de 2024 comparada com a semana anterior",
         ["2024-03-04/2024-03-10", "2024-02-26/2024-03-03"]),
    ],
)  # fmt: skip
def test_periods_compared_with_the_one_before(question: str, labels: list[str]) -> None:
    assert [p.label for p in model(question).periods] == labels


def test_periods_that_cannot_be_read_are_reported() -> None:
    for question in (
        "carga do Sul até 10 de março de 2024",
        "carga do Sul em 31/02/2024",
        "carga do Sul na semana 60 de 2024",
        "carga do Sul em março de 2030",
        "carga do Sul na Quaresma de 2023",  # Lent: not a period read
        "carga do Sul no início da manhã em março",
    ):
        assert {u.kind for u in tr(question).unmapped} & {"period", "filter"}, question


def test_no_period_is_the_latest_week_of_data() -> None:
    result = tr("carga média do Sudeste por dia")
    assert result.model is not None and span(result.model) == ("2024-03-25", "2024-04-01")
    assert "no period given: the latest 7 days of data (2024-03-25 to 2024-03-31)" in (
        result.assumptions
    )
    clock = translate("carga média do Sudeste por dia", NOW)  # latest data unknown: the clock
    assert clock.model is not None and span(clock.model) == ("2024-04-03T15:00", "2024-04-10T15:00")
    assert periods.label(periods.Span(NOW, NOW.replace(hour=16))) == (
        "2024-04-10T15:00/2024-04-10T16:00"
    )


# -- interchange ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "pair", "expr"),
    [
        ("Quanto o Nordeste exportou para o Sudeste em março de 2024?", ("NE", "SE"),
         "sum(val_intercambiomwmed)"),
        ("Quanto o Sudeste recebeu do Nordeste em março de 2024?", ("NE", "SE"),
         "sum(val_intercambiomwmed)"),
        ("Quanto o Sudeste enviou ao Nordeste em março de 2024?", ("NE", "SE"),
         "(-1) * sum(val_intercambiomwmed)"),
        ("How much did the South import from the Southeast in March 2024?", ("SE", "S"),
         "sum(val_intercambiomwmed)"),
        ("Qual foi a maior exportação horária do Sul para o Sudeste em março de 2024?",
         ("SE", "S"), "(-1) * min(val_intercambiomwmed)"),
    ],
)  # fmt: skip
def test_direction_verbs(question: str, pair: tuple[str, str], expr: str) -> None:
    m = model(question)
    assert m.table == "intercambio" and selects(m) == [expr] and m.window is None
    assert (where(m)["id_subsistema_origem"], where(m)["id_subsistema_destino"]) == (
        (pair[0],),
        (pair[1],),
    )
    assert m.units()[m.selections[0].alias] == ("MWh" if "sum" in expr else "MWmed")


def test_net_export_and_import() -> None:
    exported = model("Quanto o Nordeste exportou em março de 2024?")
    assert exported.table == "balanco_subsistema" and selects(exported) == ["sum(val_intercambio)"]
    imported = model("How much power did the Southeast import in February 2024?")
    assert selects(imported) == ["(-1) * sum(val_intercambio)"]
    assert where(imported) == {"id_subsistema": ("SE",)}


def test_flows_the_data_cannot_answer_are_refused() -> None:
    assert tr("Quanto o Sul exportou para o Norte em março de 2024?").unmapped  # no interconnection
    assert tr("Quanto o Sudeste exportou para o Norte e para o Sul em março de 2024?").unmapped


# -- shares ---------------------------------------------------------------------------------------


def test_shares_name_their_denominator() -> None:
    of_load = model("participação da hidráulica na carga do SIN em fevereiro de 2024")
    assert selects(of_load) == ["sum(val_gerhidraulica) / sum(val_carga) * 100"]
    assert of_load.window is None and where(of_load) == {"id_subsistema": ("SIN",)}
    served = model("Quanto da carga do Nordeste foi atendida pela geração eólica em março de 2024?")
    assert selects(served) == ["sum(val_gereolica) / sum(val_carga) * 100"]
    of_generation = model("participação da eólica na geração total do Nordeste em março de 2024")
    assert "sum(val_gerhidraulica) + sum(val_gertermica)" in selects(of_generation)[0]
    default = tr("participação da eólica no Nordeste em março de 2024")
    assert "share of what not given: of total generation" in default.assumptions
    daily = model("participação da eólica na carga do Nordeste por dia em março de 2024")
    assert str(daily.window) == "1d"


# -- single values, series and extremes -----------------------------------------------------------


def test_single_extremes_with_their_time_and_series() -> None:
    single = model("Qual foi a carga mínima horária do Sul em 3 de março de 2024?")
    assert selects(single) == ["min(val_cargaenergiahomwmed)"] and single.window is None
    english = model("the maximum hourly load in the Northeast on March 5, 2024")
    assert selects(english) == ["max(val_cargaenergiahomwmed)"] and english.window is None
    per_hour = model("carga máxima do Sul por hora em 3 de março de 2024")
    assert str(per_hour.window) == "1h"
    series = model("carga horária do Sul em 3 de março de 2024")
    assert str(series.window) == "1h"
    daily_means = model("carga média diária do Norte na segunda quinzena de fevereiro de 2024")
    assert str(daily_means.window) == "1d"
    asked = model("Qual foi a geração eólica do Nordeste em março de 2024?")
    assert asked.window is None and selects(asked) == ["mean(val_gereolica)"]
    shown = model("geração eólica do Nordeste em março de 2024")
    assert str(shown.window) == "1h"


# -- rankings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "tag", "bottom", "agg"),
    [
        ("Qual subsistema teve a maior carga em março de 2024?", "id_subsistema", False, "mean"),
        ("Qual subsistema registrou o maior pico de carga em março de 2024?", "id_subsistema",
         False, "max"),
        ("Which region had the lowest CMO in March 2024?", "id_subsistema", True, "mean"),
        ("Qual usina gerou mais no Nordeste em março de 2024?", "nom_usina", False, "sum"),
        ("Which state generated the most wind power in 2023?", "id_estado", False, "sum"),
        ("Qual fonte mais gerou no Nordeste em março de 2024?", "nom_tipousina", False, "sum"),
        ("Which fuel generated the most in the Southeast in 2023?", "nom_tipocombustivel", False,
         "sum"),
    ],
)  # fmt: skip
def test_which_is_a_top_1(question: str, tag: str, bottom: bool, agg: str) -> None:
    m = model(question)
    assert m.top is not None and (m.top.n, m.top.tag, m.top.bottom) == (1, tag, bottom)
    assert selects(m)[0].startswith(f"{agg}(")


def test_ranking_subsystems_of_the_balance_leaves_out_the_sin_total() -> None:
    m = model("Qual subsistema teve a maior geração eólica em março de 2024?")
    assert m.table == "balanco_subsistema" and where(m) == {"id_subsistema": ("SIN",)}
    assert m.tag_filters[0].op.value == "!="


# -- plants, fuels, sources -----------------------------------------------------------------------


def test_plants_fuels_and_types() -> None:
    gas = model("Quanto as usinas a gás geraram em 2023?")
    assert gas.table == "geracao_usina" and where(gas) == {"nom_tipocombustivel": ("Gás",)}
    assert selects(gas) == ["sum(val_geracao)"] and gas.window is None
    by_fuel = model("Geração por tipo de combustível no Nordeste em março de 2024")
    assert by_fuel.group_tags == ("nom_tipocombustivel",)
    named = model("Average hourly generation of Jirau in March 2024")
    assert where(named) == {"nom_usina": ("Jirau",)} and named.window is None
    plant = model("Geração da usina Belo Monte por dia em março de 2024")
    assert where(plant) == {"nom_usina": ("Belo Monte",)} and str(plant.window) == "1d"
    state = model("Top eight plants in Pará by generation in 2023")
    assert where(state) == {"id_estado": ("PA",)}
    which = model("Which plant generated the most solar energy in 2023?")
    assert "nom_usina" not in where(which)  # "Which" is never a plant's name


# -- units ----------------------------------------------------------------------------------------


def test_units_through_aggregation() -> None:
    def unit(question: str) -> str:
        m = model(question)
        return m.units()[m.selections[0].alias]

    assert unit("Quanta energia o Sul consumiu em março de 2024, em MWh?") == "MWh"
    assert unit("carga total do Norte em fevereiro de 2024") == "MWh"
    assert unit("carga média do Norte em fevereiro de 2024") == "MWmed"
    assert unit("total solar generation in Brazil in 2023 in GWh") == "GWh"
    assert unit("ENA do Sul em % da MLT em março de 2024") == "%MLT"
    cumulative = model("geração eólica acumulada do Nordeste por dia em março de 2024")
    assert selects(cumulative) == ["cumulative_sum(sum(val_gereolica))"]


# -- legacy platform wording ----------------------------------------------------------------------


def test_legacy_wording_reads_the_legacy_tables() -> None:
    industrial = model("consumo industrial do Sudeste em março de 2024")
    assert industrial.table == "consumption_data"
    assert where(industrial) == {
        "region": ("southeast",), "consumer_type": ("industrial",),
        "measurement_type": ("verified",),
    }  # fmt: skip
    line = model("fluxo na linha de transmissão Norte-Sudeste por dia em março de 2024")
    assert line.table == "transmission_data" and where(line)["line_id"] == ("N-SE",)
    old = model("geração solar programada do Nordeste na plataforma antiga em março de 2024")
    assert old.table == "generation_data"
    assert where(old)["energy_source"] == ("solar",)
    assert where(old)["measurement_type"] == ("scheduled",)
    # the ONS word for consumption stays the ONS load
    assert model("consumo médio do Sul em março de 2024").table == "curva_carga"


# -- honesty --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("carga do subsistema Centro-Sul em março de 2024", "filter"),
        ("carga média da região Amazônica em março de 2024", "filter"),
        ("average load in the Midwest-South region in March 2024", "subsystem"),
        ("carga do Sudeste na Quaresma de 2024", "period"),
        ("carga média do Sudeste no fim da noite de ontem", "period"),
        ("Qual o PLD do Sudeste em março de 2024?", "measure"),
        ("carga prevista do Sudeste para amanhã", "word"),
        ("carga do Sul em março de 2024 exceto domingos", "word"),
    ],
)
def test_nothing_not_understood_is_dropped(question: str, kind: str) -> None:
    result = tr(question)
    assert kind in {u.kind for u in result.unmapped}, result.unmapped
    assert all(u.reason for u in result.unmapped)


def test_filler_words_are_ignored_and_said_to_be() -> None:
    result = tr("Por favor, qual a carga média do Sul em março de 2024?")
    assert result.complete and result.ignored == ("Por favor",)
    # one slip is read as the word, and said to be; further off, the word is suggested
    slip = tr("carga do Sudestee em março de 2024")
    assert slip.complete and "read 'Sudestee' as 'sudeste'" in slip.assumptions
    assert slip.model is not None and slip.model.tag_filters[0].values == ("SE",)
    suggestion = tr("carga do Sdestee em março de 2024")
    assert any("sudeste" in s for u in suggestion.unmapped for s in u.suggestions)


# -- the answer in words --------------------------------------------------------------------------


def test_interpretation_in_the_question_language() -> None:
    assert tr("average load in the Northeast from March 1 to March 7, 2024").interpretation == (
        "mean of hourly load (MWmed), subsystem NE, 2024-03-01 to 2024-03-07 (local time)"
    )
    assert tr("carga média do Nordeste de 1 a 7 de março de 2024").interpretation == (
        "média da carga horária (MWmed), subsistema NE, de 2024-03-01 a 2024-03-07 (horário local)"
    )
    assert tr("Qual subsistema teve a maior carga em março de 2024?").interpretation == (
        "média da carga horária (MWmed), o subsistema de maior valor, de 2024-03-01 a "
        "2024-03-31 (horário local)"
    )
    assert tr("as 3 maiores usinas eólicas em 2023").interpretation.startswith(
        "soma da geração horária por usina (MWh), tipo de usina EOLIELÉTRICA, as 3 usinas de "
        "maior valor"
    )
    shares = tr("participação da eólica na carga do Nordeste em março de 2024").interpretation
    assert shares.startswith("participação (%): soma da geração eólica horária / soma da carga")
    weekends = tr("average load in the South on weekends in March 2024").interpretation
    assert "on weekends, 2024-03-01 to 2024-03-31" in weekends
    assert Aggregation.MEAN.value == "mean"
