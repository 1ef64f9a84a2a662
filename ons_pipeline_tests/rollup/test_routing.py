"""Routed answers equal raw answers, on the real InfluxDB, for every routable kind of model; the
rest (and anything the rollups do not cover) is answered from the raw measurement."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from ons_pipeline.lib.query.influxql import calendar_periods, statements
from ons_pipeline.lib.query.model import (
    Agg,
    Aggregation,
    BinOp,
    Const,
    Duration,
    FilterOp,
    OrderKey,
    Period,
    QueryModel,
    Selection,
    TagFilter,
    TimeRange,
    ValueFilter,
)
from ons_pipeline.lib.query.nl import translate
from ons_pipeline.lib.query.rollups import NotRoutable, answer, cells, plan, raw_statements
from ons_pipeline.lib.rollup.spec import DAY, MONTH, RollupTable, rollup_tables
from ons_pipeline_tests.conftest import influxql
from ons_pipeline_tests.rollup.conftest import (
    Loaded,
    assert_same_answer,
    load_raw,
    publish,
    raw_and_routed,
    utc_days,
)

TZ = "America/Sao_Paulo"
NOW = datetime(2018, 4, 15, 12, tzinfo=UTC)
TABLES = ("curva_carga", "balanco_subsistema", "ear_diario")


def rt(table: str) -> RollupTable:
    return rollup_tables()[table]


def local(day: date) -> int:
    return rt("curva_carga").day_start_ns(day)


def model(table: str, exprs: list, start: date, end: date, **options) -> QueryModel:  # type: ignore[no-untyped-def]
    selections = tuple(Selection(e, f"v{i}") for i, e in enumerate(exprs))
    if options.get("window") is not None:
        options.setdefault("timezone", TZ)
    return QueryModel(table, selections, TimeRange(local(start), local(end)), **options)


def uncover(loaded: Loaded, table: str, level: str, bucket: date) -> None:
    """Delete the coverage marker of one bucket (its local start day): no longer read."""
    influxql(
        loaded.url,
        f'DELETE FROM "rollup_coverage" WHERE "table" = \'{table}\' AND "level" = \'{level}\' '
        f"AND time = {local(bucket)}",
        loaded.database,
    )


LOAD = "val_cargaenergiahomwmed"
SE = TagFilter("id_subsistema", FilterOp.EQ, ("SE",))


@pytest.fixture(scope="module")
def loaded(loaded_db: Loaded) -> Loaded:
    days = utc_days(date(2018, 1, 31), date(2018, 4, 1))
    for table in TABLES:
        load_raw(loaded_db, table, days)
        publish(loaded_db, rt(table), date(2018, 1, 31), date(2018, 3, 31))
    return loaded_db


# -- planning (no server) -------------------------------------------------------------------------


def test_a_range_of_whole_months_reads_months_and_its_edges_read_days() -> None:
    feb_to_mar = model(
        "curva_carga", [Agg(Aggregation.MEAN, LOAD)], date(2018, 2, 1), date(2018, 4, 1)
    )
    p = plan(feb_to_mar, rt("curva_carga"))
    assert [(r.level, r.buckets) for r in p.reads] == [(MONTH, 2)]
    ragged = model(
        "curva_carga", [Agg(Aggregation.MEAN, LOAD)], date(2018, 1, 30), date(2018, 3, 3)
    )
    p = plan(ragged, rt("curva_carga"))
    assert [(r.level, r.buckets) for r in p.reads] == [(MONTH, 1), (DAY, 2), (DAY, 2)]
    assert p.reads[1].end == local(date(2018, 2, 1)) and p.reads[2].start == local(date(2018, 3, 1))
    days_only = plan(ragged, rt("curva_carga"), months=False)
    assert [(r.level, r.buckets) for r in days_only.reads] == [(DAY, 32)]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"value_filters": (ValueFilter(LOAD, ">", 1.0),)}, "value filters"),
        ({"window": Duration(1, "h"), "timezone": TZ}, "finer"),
        ({"window": Duration(1, "mo"), "timezone": "UTC"}, "windows in UTC"),
        (
            {
                "time_range": TimeRange(
                    local(date(2018, 3, 1)) + 3_600 * 10**9, local(date(2018, 3, 5))
                )
            },
            "not a local midnight",
        ),
        ({"window": Duration(1, "d"), "timezone": TZ}, "UTC-offset change"),  # DST ends in Feb
    ],
)
def test_what_needs_raw_points_is_not_routed(change: dict, reason: str) -> None:  # type: ignore[type-arg]
    base = model("curva_carga", [Agg(Aggregation.MEAN, LOAD)], date(2018, 2, 1), date(2018, 3, 1))
    with pytest.raises(NotRoutable, match=reason):
        plan(replace(base, **change), rt("curva_carga"))


def test_daily_windows_of_a_daily_table_read_its_own_points() -> None:
    daily = model(
        "ear_diario",
        [Agg(Aggregation.MAX, "ear_verif_subsistema_percentual")],
        date(2018, 3, 1),
        date(2018, 4, 1),
        window=Duration(1, "d"),
    )
    with pytest.raises(NotRoutable, match="daily table"):
        plan(daily, rt("ear_diario"))


def test_aggregates_the_rollups_do_not_keep_are_not_routed() -> None:
    base = model("curva_carga", [Agg(Aggregation.MEDIAN, LOAD)], date(2018, 2, 1), date(2018, 3, 1))
    with pytest.raises(NotRoutable, match="median"):
        plan(base, rt("curva_carga"))


# -- answers on the real server -----------------------------------------------------------------


def test_monthly_means_come_from_the_monthly_rollup(loaded: Loaded) -> None:
    m = model(
        "curva_carga",
        [Agg(Aggregation.MEAN, LOAD)],
        date(2018, 2, 1),
        date(2018, 4, 1),
        tag_filters=(SE,),
        window=Duration(1, "mo"),
    )
    routed = assert_same_answer(loaded, m)
    assert routed.source is not None
    assert routed.source.measurements == ("rollups.curva_carga_1mo",)
    assert routed.source.buckets == {MONTH: 2}
    assert len(routed.rows) == 2


@pytest.mark.parametrize(
    "exprs",
    [
        [Agg(Aggregation.MAX, LOAD)],  # a lone selector: InfluxQL reports the time of the point
        [Agg(Aggregation.MIN, LOAD)],
        [Agg(Aggregation.MAX, LOAD), Agg(Aggregation.MIN, LOAD)],  # two: the range's start
        [Agg(Aggregation.COUNT, LOAD), Agg(Aggregation.SUM, LOAD), Agg(Aggregation.MEAN, LOAD)],
        [BinOp("/", Agg(Aggregation.SUM, LOAD), Const(1000))],  # GWh
        [BinOp("/", Agg(Aggregation.MAX, LOAD), Const(1000))],  # still a lone selector
    ],
)
def test_whole_range_aggregates_per_subsystem_over_months_and_edge_days(
    loaded: Loaded, exprs: list
) -> None:  # type: ignore[type-arg]
    m = model(
        "curva_carga", exprs, date(2018, 1, 31), date(2018, 3, 20), group_tags=("id_subsistema",)
    )
    routed = assert_same_answer(loaded, m)
    assert routed.source is not None and set(routed.source.levels) == {MONTH, DAY}


@pytest.mark.parametrize(
    ("options", "summed_by_the_server"),
    [
        ({}, True),  # the five subsystems in each bucket: InfluxDB adds them up
        ({"group_tags": ("id_subsistema",)}, False),  # one series per group: its rows are read
        ({"tag_filters": (SE,)}, False),
        ({"tag_filters": (TagFilter("id_subsistema", FilterOp.EQ, ("SE", "S")),)}, True),
    ],
)
def test_sums_of_many_series_are_added_by_the_server_and_one_series_is_read(
    loaded: Loaded,
    options: dict,
    summed_by_the_server: bool,  # type: ignore[type-arg]
) -> None:
    exprs = [Agg(Aggregation.MEAN, LOAD), Agg(Aggregation.SUM, LOAD), Agg(Aggregation.COUNT, LOAD)]
    m = model("curva_carga", exprs, date(2018, 1, 31), date(2018, 3, 20), **options)
    routed = assert_same_answer(loaded, m)
    assert routed.source is not None and set(routed.source.levels) == {MONTH, DAY}
    assert ("sum(" in routed.influxql) is summed_by_the_server, routed.influxql


def test_shares_and_sums_of_several_fields(loaded: Loaded) -> None:
    wind, solar = Agg(Aggregation.MEAN, "val_gereolica"), Agg(Aggregation.MEAN, "val_gersolar")
    share = BinOp("*", BinOp("/", wind, BinOp("+", wind, solar)), Const(100))
    m = model(
        "balanco_subsistema",
        [share, Agg(Aggregation.SUM, "val_gerhidraulica"), Agg(Aggregation.COUNT, "val_gersolar")],
        date(2018, 2, 1),
        date(2018, 4, 1),
        group_tags=("id_subsistema",),
        window=Duration(1, "mo"),
    )
    assert_same_answer(loaded, m)


def test_daily_windows_without_an_offset_change(loaded: Loaded) -> None:
    m = model(
        "balanco_subsistema",
        [Agg(Aggregation.MEAN, "val_carga"), Agg(Aggregation.MAX, "val_carga")],
        date(2018, 3, 1),
        date(2018, 4, 1),
        tag_filters=(TagFilter("id_subsistema", FilterOp.IEQ, ("sin", "ne")),),
        group_tags=("id_subsistema",),
        window=Duration(1, "d"),
    )
    routed = assert_same_answer(loaded, m)
    assert len(routed.rows) == 2 * 31
    assert routed.source is not None and routed.source.levels == (DAY,)


def test_each_days_extreme_comes_at_its_own_time(loaded: Loaded) -> None:
    """A daily window's lone maximum (minimum) is at the time of its point, from the raw data
    (InfluxQL's top/bottom) and from the rollups alike — ``max()`` would stamp it at midnight."""
    for func in (Aggregation.MAX, Aggregation.MIN):
        m = model(
            "curva_carga",
            [Agg(func, LOAD)],
            date(2018, 3, 1),
            date(2018, 3, 11),
            tag_filters=(TagFilter("id_subsistema", FilterOp.EQ, ("NE",)),),
            window=Duration(1, "d"),
        )
        routed = assert_same_answer(loaded, m)
        assert len(routed.rows) == 10
        midnights = {local(date(2018, 3, d)) for d in range(1, 11)}
        assert sum(row[0] in midnights for row in routed.rows) < 3  # peaks are not at 00:00


def test_ordered_and_limited(loaded: Loaded) -> None:
    m = model(
        "curva_carga",
        [Agg(Aggregation.MEAN, LOAD)],
        date(2018, 2, 1),
        date(2018, 4, 1),
        group_tags=("id_subsistema",),
        order_by=(OrderKey("v0", descending=True),),
        limit=2,
    )
    routed = assert_same_answer(loaded, m)
    assert len(routed.rows) == 2


def test_combined_and_compared_periods(loaded: Loaded) -> None:
    weekends = [
        Period(local(d), local(d + timedelta(days=2)), d.isoformat())
        for d in (date(2018, 3, 3), date(2018, 3, 10), date(2018, 3, 17), date(2018, 3, 24))
    ]
    combined = model(
        "curva_carga",
        [Agg(Aggregation.MEAN, LOAD), Agg(Aggregation.MAX, LOAD)],
        date(2018, 3, 1),
        date(2018, 4, 1),
        periods=tuple(weekends),
        combine_periods=True,
    )
    assert_same_answer(loaded, combined)
    months = (
        Period(local(date(2018, 2, 1)), local(date(2018, 3, 1)), "2018-02"),
        Period(local(date(2018, 3, 1)), local(date(2018, 4, 1)), "2018-03"),
    )
    compared = model(
        "ear_diario",
        [Agg(Aggregation.MEAN, "ear_verif_subsistema_percentual")],
        date(2018, 2, 1),
        date(2018, 4, 1),
        group_tags=("id_subsistema",),
        periods=months,
    )
    assert_same_answer(loaded, compared)


@pytest.mark.parametrize(
    "question",
    [
        "carga média mensal do Sudeste em fevereiro e março de 2018",
        "carga máxima do Nordeste em março de 2018",
        "carga média do SIN nos fins de semana de março de 2018",
        "EAR média do Sul por mês de fevereiro a março de 2018",
        "geração eólica total do Nordeste em março de 2018",
        "carga média por subsistema em fevereiro de 2018",
        "carga média do Sudeste por dia em março de 2018",
    ],
)
def test_questions_are_answered_from_the_rollups_as_from_the_raw_data(
    loaded: Loaded, question: str
) -> None:
    translation = translate(question, NOW)
    assert translation.model is not None and translation.complete, translation.unmapped
    assert_same_answer(loaded, translation.model)


def test_a_day_not_covered_sends_the_question_to_the_raw_measurement(loaded: Loaded) -> None:
    m = model("curva_carga", [Agg(Aggregation.MEAN, LOAD)], date(2018, 3, 10), date(2018, 3, 20))
    assert_same_answer(loaded, m)
    uncover(loaded, "curva_carga", DAY, date(2018, 3, 15))
    try:
        raw, routed = raw_and_routed(loaded, m)
        assert routed.source is not None and routed.source.kind == "raw"
        assert "coverage" in routed.source.reason
        assert routed.rows == raw.rows
        # a whole-month question over March still reads the month, which stays covered
        march = replace(m, time_range=TimeRange(local(date(2018, 3, 1)), local(date(2018, 4, 1))))
        assert_same_answer(loaded, march)
    finally:
        publish(loaded, rt("curva_carga"), date(2018, 3, 15), date(2018, 3, 15))
    assert_same_answer(loaded, m)


def test_monthly_coverage_missing_falls_back_to_the_days(loaded: Loaded) -> None:
    m = model(
        "ear_diario",
        [Agg(Aggregation.MAX, "ear_verif_subsistema_percentual")],
        date(2018, 2, 1),
        date(2018, 4, 1),
        group_tags=("id_subsistema",),
    )
    uncover(loaded, "ear_diario", MONTH, date(2018, 3, 1))
    try:
        routed = assert_same_answer(loaded, m)
        assert routed.source is not None and routed.source.levels == (DAY,)
    finally:
        publish(loaded, rt("ear_diario"), date(2018, 3, 1), date(2018, 3, 31))


def test_the_routed_answer_has_the_shape_of_the_raw_statements() -> None:
    months = (
        Period(local(date(2018, 2, 1)), local(date(2018, 3, 1)), "fev"),
        Period(local(date(2018, 3, 1)), local(date(2018, 4, 1)), "mar"),
    )
    mean = [Agg(Aggregation.MEAN, LOAD), Agg(Aggregation.MAX, LOAD)]
    shapes = [
        model("curva_carga", mean, date(2018, 1, 5), date(2018, 4, 1), window=Duration(1, "mo")),
        model("curva_carga", mean, date(2018, 1, 1), date(2018, 4, 1), window=Duration(1, "y")),
        model("curva_carga", mean, date(2018, 2, 1), date(2018, 4, 1), periods=months),
        model(
            "curva_carga",
            mean,
            date(2018, 2, 1),
            date(2018, 4, 1),
            periods=months,
            window=Duration(1, "mo"),
        ),
        model(
            "curva_carga", mean, date(2018, 2, 1), date(2018, 4, 1), periods=months,
            combine_periods=True,
        ),
        model("curva_carga", mean, date(2018, 3, 1), date(2018, 4, 1), window=Duration(1, "d")),
        model("curva_carga", mean, date(2018, 3, 1), date(2018, 4, 1)),
    ]  # fmt: skip
    for m in shapes:
        p = plan(m, rt("curva_carga"))
        ours = [(s.aliases, s.label, s.period) for s in raw_statements(p)]
        theirs = [(s.aliases, s.label, s.period) for s in statements(m)]
        assert ours == theirs, m


@pytest.mark.parametrize(
    ("first", "last", "window"),
    [
        (date(2017, 12, 31), date(2024, 1, 1), Duration(1, "mo")),
        (date(2018, 2, 17), date(2018, 11, 5), Duration(3, "mo")),
        (date(2018, 1, 1), date(2025, 1, 1), Duration(1, "y")),
        (date(2019, 5, 4), date(2023, 2, 1), Duration(2, "y")),
    ],
)
def test_calendar_windows_are_influxql_s(first: date, last: date, window: Duration) -> None:
    m = model("curva_carga", [Agg(Aggregation.MEAN, LOAD)], first, last, window=window)
    ours = [(c.lo, c.hi, c.label) for c in cells(m, rt("curva_carga"))]
    assert ours == calendar_periods(m)


def test_recombination_keeps_the_first_time_of_an_extreme_and_sums_counts() -> None:
    # two daily buckets holding the same maximum: InfluxQL reports the earlier point
    m = model("curva_carga", [Agg(Aggregation.MAX, LOAD)], date(2018, 3, 5), date(2018, 3, 7))
    p = plan(m, rt("curva_carga"))
    day5, day6 = local(date(2018, 3, 5)), local(date(2018, 3, 6))
    columns = ["time", f"{LOAD}_count", f"{LOAD}_max", f"{LOAD}_max_time"]
    results = [
        {"statement_id": 0, "series": [{"columns": ["time", "count"], "values": [[0, 2]]}]},
        {
            "statement_id": 1,
            "series": [
                {
                    "columns": columns,
                    "values": [[day6, 24, 9.5, day6 + 7], [day5, 24, 9.5, day5 + 9]],
                }
            ],
        },
    ]
    answered = answer(p, results)
    assert answered is not None
    assert answered[0]["series"][0]["values"] == [[day5 + 9, 9.5]]
    results[0]["series"][0]["values"] = [[0, 1]]  # one of the two days not covered
    assert answer(p, results) is None


def test_the_query_benchmarks_questions_are_read_whole_and_routed() -> None:
    """``benchmarks/query.py`` stops at a question it cannot read: each of its questions is read
    completely at the benchmark's own "now", and each but the daily table's maximum (a daily
    table's points are its days) plans a read of the rollups."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[2] / "benchmarks" / "query.py"
    spec = importlib.util.spec_from_file_location("query_benchmark", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    raw = []
    for template in bench.QUESTIONS:
        question = template.format(a=2018, b=2024)
        found = bench.reader().translate(question, datetime(2025, 3, 1, tzinfo=UTC))
        assert found.complete and found.model is not None, (question, found.unmapped)
        try:
            plan(found.model, rt(found.model.table))
        except NotRoutable:
            raw.append(question)
    assert raw == ["EAR máxima do Sudeste de 2018 a 2024"]
