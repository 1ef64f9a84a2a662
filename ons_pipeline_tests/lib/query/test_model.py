"""The query model: validation against the schema, canonical text and JSON round trips, units."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ons_pipeline.lib.query.model import (
    Agg,
    Aggregation,
    BinOp,
    Const,
    Duration,
    Fill,
    FilterOp,
    ModelError,
    OrderKey,
    QueryModel,
    Selection,
    TagFilter,
    TimeRange,
    TopN,
    Transform,
    TransformKind,
    ValueFilter,
    format_time,
    parse_expr,
    parse_time,
)

RANGE = TimeRange(parse_time("2024-01-01"), parse_time("2024-02-01"))


def sel(text: str, alias: str = "v") -> Selection:
    return Selection(parse_expr(text), alias)


def test_fields_the_loader_never_writes_cannot_be_queried() -> None:
    with pytest.raises(ModelError, match="has no field 'val_geracao_total'"):
        QueryModel("geracao_usina", (sel("mean(val_geracao_total)"),), RANGE)
    with pytest.raises(ModelError, match="has no field 'value'"):
        QueryModel("curva_carga", (sel("mean(value)"),), RANGE)
    with pytest.raises(ModelError, match="no tag 'region'"):
        QueryModel("curva_carga", (sel("mean(val_cargaenergiahomwmed)"),), RANGE,
                   tag_filters=(TagFilter("region", FilterOp.EQ, ("S",)),))  # fmt: skip
    with pytest.raises(ModelError, match="unknown table"):
        QueryModel("nope", (sel("mean(x)"),), RANGE)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"selections": (sel("mean(val_cmo) + val_cmo"),)}, "mixing aggregated and raw"),
        ({"selections": (sel("val_cmo"),), "window": Duration.parse("1h")}, "needs aggregated"),
        ({"window": Duration.parse("1h"), "time_range": TimeRange(None, 10)}, "needs a start"),
        ({"fill": Fill.PREVIOUS}, "fill applies to time windows"),
        ({"fill": Fill.VALUE, "window": Duration.parse("1h")}, "finite fill_value"),
        ({"selections": (sel("mean(val_cmo) / max(val_cmo)"),), "top": TopN(3, "id_subsistema")},
         "single aggregate"),
        ({"selections": (sel("moving_average(mean(val_cmo), 3)"),)}, "needs a time window"),
        ({"selections": (sel("mean(val_cmo)", "id_subsistema"),)}, "clash"),
        ({"selections": (sel("mean(val_cmo)", "a"), sel("max(val_cmo)", "a"))}, "unique"),
        ({"order_by": (OrderKey("nope"),)}, "cannot order by"),
        ({"limit": 0}, "positive"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
    ],
)  # fmt: skip
def test_inconsistent_models_are_rejected(kwargs: dict, message: str) -> None:
    base = {"table": "cmo_semihorario", "selections": (sel("mean(val_cmo)"),), "time_range": RANGE}
    with pytest.raises(ModelError, match=message):
        QueryModel(**{**base, **kwargs})


def test_transforms_only_at_the_top_and_well_formed() -> None:
    with pytest.raises(ModelError, match="nested"):
        Transform(TransformKind.DIFFERENCE, Transform(TransformKind.CUMULATIVE_SUM, Agg(
            Aggregation.SUM, "x")))  # fmt: skip
    with pytest.raises(ModelError):
        Transform(TransformKind.MOVING_AVERAGE, Agg(Aggregation.SUM, "x"), n=1)
    with pytest.raises(ModelError):
        Transform(TransformKind.DERIVATIVE, Agg(Aggregation.SUM, "x"), unit=Duration(1, "mo"))
    with pytest.raises(ModelError, match="whole selection"):
        QueryModel("cmo_semihorario", (sel("difference(mean(val_cmo)) * 2"),), RANGE,
                   window=Duration.parse("1h"))  # fmt: skip


def test_tag_values_with_nul_or_cr_are_refused() -> None:
    for bad in ("a\x00b", "a\rb"):
        with pytest.raises(ModelError):
            TagFilter("id_subsistema", FilterOp.EQ, (bad,))


EXPRESSIONS = [
    "mean(val_cmo)",
    "mean(a) / (mean(a) + mean(b) + mean(c)) * 100",
    "a - (b - c)",
    "a - b - c",
    "(a + b) * c",
    "a * -2",
    "moving_average(mean(a) / mean(b), 3)",
    "derivative(max(a), 1h)",
    "difference(min(a))",
    "cumulative_sum(sum(a))",
    "count(a) * 0.5",
]


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_canonical_text_round_trips(text: str) -> None:
    expr = parse_expr(text)
    assert parse_expr(str(expr)) == expr
    assert str(parse_expr(str(expr))) == str(expr)


names = st.sampled_from(["a", "b", "val_cmo"])
leaf = st.one_of(
    st.builds(Agg, st.sampled_from(list(Aggregation)), names),
    st.builds(Const, st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(
        lambda v: round(v, 3))),
)  # fmt: skip
exprs = st.recursive(
    leaf, lambda children: st.builds(BinOp, st.sampled_from("+-*/"), children, children),
    max_leaves=8,
)  # fmt: skip


@given(exprs)
def test_any_expression_round_trips_through_text(expr: object) -> None:
    assert str(parse_expr(str(expr))) == str(expr)


def test_json_form_round_trips_and_is_stable() -> None:
    model = QueryModel(
        "balanco_subsistema",
        (sel("moving_average(mean(val_gereolica) / mean(val_carga), 3)", "r"),
         sel("max(val_gersolar)", "peak")),
        TimeRange(parse_time("2024-01-01T00:00:00.5Z"), parse_time("2024-02-01")),
        tag_filters=(TagFilter("id_subsistema", FilterOp.EQ, ("S", "NE")),),
        value_filters=(ValueFilter("val_carga", ">", 10.0),),
        window=Duration.parse("1d"), group_tags=("id_subsistema",), fill=Fill.VALUE,
        fill_value=0.0, timezone="America/Sao_Paulo", order_by=(OrderKey("peak", True),),
        limit=5,
    )  # fmt: skip
    data = model.to_dict()
    assert QueryModel.from_dict(data) == model
    assert data["time_range"] == {"start": "2024-01-01T00:00:00.5Z", "end": "2024-02-01T00:00:00Z"}
    assert model.units() == {"r": "", "peak": "MWmed"}
    with pytest.raises(ModelError):
        QueryModel.from_dict({"table": "curva_carga"})


def test_units_follow_the_schema() -> None:
    model = QueryModel(
        "balanco_subsistema",
        (sel("mean(val_gereolica) / (mean(val_gereolica) + mean(val_gersolar)) * 100", "share"),
         sel("sum(val_gereolica) + sum(val_gersolar)", "renewables"),
         sel("count(val_carga)", "n"),
         sel("derivative(mean(val_carga), 1h)", "trend")),
        RANGE, window=Duration.parse("1d"),
    )  # fmt: skip
    # issue #12: a sum of hourly MWmed is energy (MWh); it was labelled MWmed
    assert model.units() == {"share": "%", "renewables": "MWh", "n": "", "trend": "MWmed/1h"}


def test_units_through_aggregation() -> None:
    """A sum of average power is energy (hourly: MWh; daily values say their grain); averages
    and extremes keep the field's unit; a sum of a percentage or a price has none."""

    def units(table: str, *exprs: str) -> list[str]:
        model = QueryModel(table, tuple(sel(e, f"c{i}") for i, e in enumerate(exprs)), RANGE)
        return list(model.units().values())

    assert units("curva_carga", "sum(val_cargaenergiahomwmed)", "mean(val_cargaenergiahomwmed)",
                 "max(val_cargaenergiahomwmed)") == ["MWh", "MWmed", "MWmed"]  # fmt: skip
    assert units("geracao_usina", "sum(val_geracao)") == ["MWh"]
    assert units("intercambio", "-1 * sum(val_intercambiomwmed)") == ["MWh"]
    assert units("ena_diario", "sum(ena_bruta_regiao_mwmed)",
                 "mean(ena_bruta_regiao_percentualmlt)",
                 "sum(ena_bruta_regiao_percentualmlt)") == ["MWmed×1d", "%MLT", ""]  # fmt: skip
    assert units("cmo_semihorario", "mean(val_cmo)", "sum(val_cmo)") == ["R$/MWh", ""]
    assert units("ear_diario", "last(ear_verif_subsistema_percentual)") == ["%"]
    assert units("generation_data", "sum(value)", "mean(value)") == ["MWh", "MW"]
    assert units("balanco_subsistema", "sum(val_gereolica) / sum(val_carga) * 100") == ["%"]


def test_time_parsing_and_formatting() -> None:
    assert format_time(parse_time("2024-03-10T12:00:00-03:00")) == "2024-03-10T15:00:00Z"
    assert (
        format_time(parse_time("2024-03-10 12:00", "America/Sao_Paulo")) == "2024-03-10T15:00:00Z"
    )
    assert format_time(parse_time("2024-03-10T00:00:00.000000001Z")).endswith(".000000001Z")
    with pytest.raises(ModelError):
        parse_time("2024-02-30")
    with pytest.raises(ModelError):
        TimeRange(10, 10)


def test_a_profile_by_hour_of_the_day_combines_hourly_partials() -> None:
    from ons_pipeline.lib.query import rollups
    from ons_pipeline.lib.query.flux import render_flux
    from ons_pipeline.lib.query.influxql import render_influxql

    profile = QueryModel(
        "cmo_semihorario",
        (sel("mean(val_cmo)", "mean_cmo"), sel("max(val_cmo)", "max_cmo")),
        RANGE,
        group_tags=("id_subsistema",),
        by_hour_of_day=True,
        time_alias="hour",
    )
    text = render_influxql(profile)
    assert 'sum("val_cmo")' in text and 'count("val_cmo")' in text and 'max("val_cmo")' in text
    assert 'GROUP BY time(1h), "id_subsistema" fill(none)' in text
    assert QueryModel.from_dict(profile.to_dict()) == profile
    with pytest.raises(ModelError, match="InfluxQL only"):
        render_flux(profile)
    with pytest.raises(rollups.NotRoutable, match="hour of the day"):
        rollups._check_model(profile, None)  # type: ignore[arg-type]
    for wrong, message in (
        ({"window": Duration.parse("1d")}, "no window"),
        ({"selections": (sel("last(val_cmo)"),)}, "combine over the days"),
        ({"time_range": TimeRange(None, RANGE.end)}, "needs a time range"),
        ({"selections": (sel("val_cmo"),)}, "aggregated selections"),
    ):
        kwargs = {
            "table": "cmo_semihorario",
            "selections": (sel("mean(val_cmo)"),),
            "time_range": RANGE,
            "by_hour_of_day": True,
            **wrong,
        }
        with pytest.raises(ModelError, match=message):
            QueryModel(**kwargs)  # type: ignore[arg-type]


def test_a_difference_of_two_groups_is_for_means_and_sums_of_grouped_rows() -> None:
    from ons_pipeline.lib.query.execute import merge_results
    from ons_pipeline.lib.query.influxql import statements

    spread = QueryModel(
        "cmo_semihorario",
        (sel("mean(val_cmo)", "mean_cmo"),),
        RANGE,
        tag_filters=(TagFilter("id_subsistema", FilterOp.EQ, ("SE", "NE")),),
        group_tags=("id_subsistema",),
        difference=("id_subsistema", "SE", "NE"),
    )
    assert QueryModel.from_dict(spread.to_dict()) == spread
    result = {
        "statement_id": 0,
        "series": [
            {"tags": {"id_subsistema": code}, "columns": ["time", "mean_cmo"], "values": [[0, v]]}
            for code, v in (("NE", 100.0), ("SE", 130.5))
        ],
    }
    rows = merge_results(spread, statements(spread), [result])
    assert sorted(rows) == [(0, "NE", 100.0), (0, "SE", 130.5), (0, "SE − NE", 30.5)]
    for wrong, message in (
        ({"group_tags": ()}, "grouped"),
        ({"selections": (sel("max(val_cmo)"),)}, "means and sums only"),
        ({"difference": ("id_subsistema", "SE", "SE")}, "two values"),
    ):
        kwargs = {**spread.__dict__, **wrong}
        kwargs.pop("spec", None)
        with pytest.raises(ModelError, match=message):
            QueryModel(**kwargs)


def test_a_profile_by_day_of_the_week_reads_local_days() -> None:
    from ons_pipeline.lib.query.influxql import render_influxql

    weekly = QueryModel(
        "curva_carga",
        (sel("mean(val_cargaenergiahomwmed)", "mean_load"),),
        RANGE,
        timezone="America/Sao_Paulo",
        by_day_of_week=True,
        time_alias="weekday",
    )
    assert "GROUP BY time(1d) fill(none) tz('America/Sao_Paulo')" in render_influxql(weekly)
    assert QueryModel.from_dict(weekly.to_dict()) == weekly
    with pytest.raises(ModelError, match="one profile at a time"):
        QueryModel(
            "curva_carga",
            (sel("mean(val_cargaenergiahomwmed)"),),
            RANGE,
            by_day_of_week=True,
            by_hour_of_day=True,
        )


def test_a_window_filter_keeps_or_counts_the_windows_that_passed() -> None:
    from ons_pipeline.lib.query.execute import merge_results
    from ons_pipeline.lib.query.influxql import statements
    from ons_pipeline.lib.query.model import WindowFilter

    days = QueryModel(
        "cmo_semihorario",
        (sel("mean(val_cmo)", "mean_cmo"),),
        RANGE,
        window=Duration.parse("1d"),
        group_tags=("id_subsistema",),
        window_filter=WindowFilter(">", 100.0, count=True),
    )
    assert QueryModel.from_dict(days.to_dict()) == days
    result = {
        "statement_id": 0,
        "series": [
            {
                "tags": {"id_subsistema": code},
                "columns": ["time", "mean_cmo"],
                "values": [[t * 86_400 * 10**9, v] for t, v in enumerate(values)],
            }
            for code, values in (("NE", (90.0, 100.0, 101.0)), ("SE", (20.0, None)))
        ],
    }
    counted = merge_results(days, statements(days), [result])
    # equal is not above; a window without a value never passes; a group with none gets 0
    assert sorted(counted) == [(RANGE.start, "NE", 1), (RANGE.start, "SE", 0)]
    listed = merge_results(
        days.__class__(**{**_fields(days), "window_filter": WindowFilter(">=", 100.0)}),
        statements(days),
        [result],
    )
    assert sorted(listed) == [(86_400 * 10**9, "NE", 100.0), (2 * 86_400 * 10**9, "NE", 101.0)]
    for wrong, message in (
        ({"window": None}, "per time window"),
        ({"selections": (sel("mean(val_cmo)", "a"), sel("max(val_cmo)", "b"))}, "one aggregate"),
        ({"fill": Fill.NULL}, "no transform or fill"),
    ):
        with pytest.raises(ModelError, match=message):
            QueryModel(**{**_fields(days), **wrong})
    with pytest.raises(ModelError, match="unknown comparison"):
        WindowFilter("~", 1.0)


def _fields(model: QueryModel) -> dict:
    fields = dict(model.__dict__)
    fields.pop("spec", None)
    return fields
