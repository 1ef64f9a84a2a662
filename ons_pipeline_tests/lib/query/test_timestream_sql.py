"""Timestream SQL of the replaced platform → query model → InfluxDB, with numbers checked against
pandas on the data written; unsupported constructs fail with the construct and its position."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pandas as pd
import pytest

from ons_pipeline.lib.query.model import FilterOp
from ons_pipeline.lib.query.timestream_sql import SqlError, execute_sql, parse_sql
from ons_pipeline_tests.lib.query.conftest import START, Dataset

NOW = datetime(2024, 3, 4, 0, 0, tzinfo=UTC)  # ago(7d) covers the fixture data up to here
END = pd.Timestamp(NOW)


def legacy(frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, closed: str = "left"):
    lo = frame.time >= start
    hi = frame.time <= end if closed == "both" else frame.time < end
    return frame[lo & hi]


def test_the_platform_query_shape(dataset: Dataset) -> None:
    sql = """
        SELECT region, energy_source, bin(time, 1h) AS binned_time,
               avg(measure_value::double) AS avg_value, max(measure_value::double) AS max_value,
               count(*) AS n
        FROM "ons_energy_data"."generation_data"
        WHERE time BETWEEN ago(7d) AND now() AND region = 'southeast'
          AND measure_name = 'value'
        GROUP BY region, energy_source, bin(time, 1h)
        ORDER BY binned_time DESC, energy_source
        LIMIT 10
    """
    result = execute_sql(sql, dataset.url, dataset.db, now=NOW)
    assert result.names == ["region", "energy_source", "binned_time", "avg_value", "max_value", "n"]
    frame = legacy(dataset.frames["generation_data"], END - pd.Timedelta(days=7), END, "both")
    frame = frame[frame.region == "southeast"].assign(hour=lambda f: f.time.dt.floor("h"))
    grouped = frame.groupby(["hour", "energy_source"]).value.agg(["mean", "max", "count"])
    grouped = grouped.sort_index(level=[0, 1], ascending=[False, True]).head(10)
    assert len(result.rows) == 10
    for row, ((hour, source), want) in zip(result.rows, grouped.iterrows(), strict=True):
        assert row[:3] == ("southeast", source, hour.value)
        assert math.isclose(row[3], want["mean"]) and row[4] == want["max"]
        assert row[5] == want["count"]
    # the inclusive BETWEEN end: the point at now() itself is counted (data at 2024-03-04T00:00)
    assert result.rows[0][2] == END.value


def test_raw_rows_with_measure_name_and_dimensions(dataset: Dataset) -> None:
    sql = ("SELECT time, region, measure_name, measure_value::double FROM consumption_data "
           "WHERE time > ago(1h) ORDER BY time DESC LIMIT 10")  # fmt: skip
    translation = parse_sql(sql, NOW)
    assert translation.model.table == "consumption_data"
    result = execute_sql(translation, dataset.url, dataset.db)
    assert result.names == ["time", "region", "measure_name", "measure_value::double"]
    assert result.rows == []  # no consumption data written: an empty, well-shaped answer
    sql = ("SELECT time, region, energy_source, quality_flag, measure_name, measure_value::double "
           "FROM generation_data WHERE time > ago(3h) AND energy_source = 'wind' "
           "ORDER BY time DESC, region LIMIT 6")  # fmt: skip
    rows = execute_sql(sql, dataset.url, dataset.db, now=NOW).rows
    frame = dataset.frames["generation_data"]
    frame = frame[(frame.time > END - pd.Timedelta(hours=3)) & (frame.energy_source == "wind")]
    frame = frame.sort_values(["time", "region"], ascending=[False, True]).head(6)
    assert rows == [
        (r.time.value, r.region, "wind", r.quality_flag, "value", r.value)
        for r in frame.itertuples()
    ]


def test_multi_measure_columns_on_ons_tables(dataset: Dataset) -> None:
    sql = """
        SELECT id_subsistema, max(val_gerhidraulica) / avg(val_gereolica) AS ratio,
               sum(val_gersolar) + sum(val_gereolica) AS renewables, count(*)
        FROM "ons"."balanco_subsistema"
        WHERE time >= '2024-03-01 00:00:00'
          AND time < from_iso8601_timestamp('2024-03-02T00:00:00Z')
          AND (id_subsistema = 'S' OR id_subsistema = 'NE')
        GROUP BY 1 ORDER BY ratio DESC
    """
    result = execute_sql(sql, dataset.url, dataset.db, now=NOW)
    frame = dataset.frames["balanco_subsistema"]
    frame = frame[(frame.time >= START) & (frame.time < START + pd.Timedelta(days=1))]
    frame = frame[frame.id_subsistema.isin(["S", "NE"])]
    g = frame.groupby("id_subsistema")
    ratio = g.val_gerhidraulica.max() / g.val_gereolica.mean()
    renewables = g.val_gersolar.sum() + g.val_gereolica.sum()
    assert [r[0] for r in result.rows] == list(ratio.sort_values(ascending=False).index)
    for sub, got_ratio, got_renew, n in result.rows:
        assert math.isclose(got_ratio, ratio[sub]) and math.isclose(got_renew, renewables[sub])
        assert n == 24
    assert result.names == ["id_subsistema", "ratio", "renewables", "_col3"]
    # issue #12: a sum of hourly MWmed is energy in MWh (it was labelled MWmed)
    assert result.columns[1].unit == "" and result.columns[2].unit == "MWh"


def test_in_lists_daily_bins_and_inclusive_between(dataset: Dataset) -> None:
    sql = """
        SELECT bin(time, 1d) AS day, nom_usina, max(val_geracao) AS peak
        FROM geracao_usina
        WHERE nom_usina IN ('Itá', 'Mauá 3') AND nom_usina <> 'Mauá 3'
          AND time BETWEEN '2024-03-01' AND '2024-03-02'
        GROUP BY bin(time, 1d), nom_usina ORDER BY day
    """
    translation = parse_sql(sql, NOW)
    (flt,) = translation.model.tag_filters[:1]
    assert flt.op is FilterOp.EQ and flt.values == ("Itá", "Mauá 3")
    rows = execute_sql(translation, dataset.url, dataset.db).rows
    frame = dataset.frames["geracao_usina"]
    frame = frame[(frame.nom_usina == "Itá") & (frame.time >= START)
                  & (frame.time <= START + pd.Timedelta(days=1))]  # fmt: skip
    want = frame.groupby(frame.time.dt.floor("D")).val_geracao.max()
    assert [(r[0], r[1], r[2]) for r in rows] == [(t.value, "Itá", v) for t, v in want.items()]
    assert len(rows) == 2  # BETWEEN includes the point at 2024-03-02T00:00


def test_ago_and_now_arithmetic(dataset: Dataset) -> None:
    sql = ("SELECT avg(val_cmo) AS v FROM cmo_semihorario "
           "WHERE time >= now() - 2d AND time < ago(1d) AND id_subsistema = 'N'")  # fmt: skip
    (row,) = execute_sql(sql, dataset.url, dataset.db, now=NOW).rows
    frame = dataset.frames["cmo_semihorario"]
    frame = frame[
        (frame.time >= END - pd.Timedelta(days=2)) & (frame.time < END - pd.Timedelta(days=1))
    ]
    assert math.isclose(row[0], frame[frame.id_subsistema == "N"].val_cmo.mean())


@pytest.mark.parametrize(
    ("sql", "construct", "column"),
    [
        ("SELECT a.x FROM generation_data a JOIN t b ON a.id = b.id", "JOIN", 35),
        (
            "SELECT avg(measure_value::double) FROM generation_data WHERE region LIKE 'so%'",
            "LIKE",
            69,
        ),
        (
            "SELECT approx_percentile(measure_value::double, 0.9) FROM generation_data",
            "approx_percentile",
            8,
        ),
        (
            "SELECT avg(measure_value::double) FROM generation_data WHERE region = 'a' OR "
            "energy_source = 'b'",
            "OR",
            75,
        ),
        (
            "SELECT avg(val_cmo) FROM cmo_semihorario WHERE measure_name = 'value'",
            "measure_name",
            63,
        ),
        ("SELECT avg(val_missing) FROM cmo_semihorario", "val_missing", 12),
        ("SELECT avg(measure_value::double) FROM cmo_semihorario", "measure_value", 12),
        ("SELECT avg(measure_value::bigint) FROM generation_data", "measure_value::bigint", 12),
        ("SELECT DISTINCT region FROM generation_data", "DISTINCT", 8),
        ("SELECT region FROM (SELECT * FROM generation_data)", "subquery", 20),
        (
            "SELECT avg(measure_value::double) FROM generation_data GROUP BY region HAVING "
            "avg(measure_value::double) > 1",
            "HAVING",
            72,
        ),
        ("SELECT region, avg(measure_value::double) FROM generation_data", "region", 8),
        ("SELECT avg(measure_value::double) FROM nope", "FROM", 40),
        (
            "SELECT avg(measure_value::double) OVER (PARTITION BY region) FROM generation_data",
            "window functions (OVER)",
            35,
        ),
        (
            "SELECT avg(measure_value::double) FROM generation_data WHERE time > interval '1' day",
            "INTERVAL literals (use 7d, 1h)",
            69,
        ),
        ("WITH x AS (SELECT 1) SELECT * FROM x", "WITH (common table expressions)", 1),
    ],
)
def test_unsupported_constructs_give_a_precise_error(sql: str, construct: str, column: int) -> None:
    with pytest.raises(SqlError) as error:
        parse_sql(sql, NOW)
    assert error.value.construct == construct, str(error.value)
    assert (error.value.line, error.value.column) == (1, column), str(error.value)
    assert f"line 1, column {column}" in str(error.value)
    assert error.value.to_dict()["position"] == column - 1


def test_errors_on_later_lines_point_there() -> None:
    sql = "SELECT avg(measure_value::double)\nFROM generation_data\nWHERE region ~ 'x'"
    with pytest.raises(SqlError) as error:
        parse_sql(sql, NOW)
    assert (error.value.line, error.value.column) == (3, 14)


def test_quotes_in_sql_literals_stay_literal() -> None:
    translation = parse_sql(
        "SELECT avg(measure_value::double) FROM generation_data WHERE region = 'a''b\" OR 1=1'",
        NOW,
    )
    assert translation.model.tag_filters[0].values == ("a'b\" OR 1=1",)


@pytest.mark.parametrize("func", ["max", "min"])
def test_a_binned_extreme_is_stamped_with_its_bin_not_its_point(
    dataset: Dataset, func: str
) -> None:
    """Timestream's ``bin(time, 1d)`` is the bucket's start whatever the aggregate; the time of
    the extreme point is what InfluxQL's ``top``/``bottom`` would give."""
    sql = f"""
        SELECT id_subsistema, bin(time, 1d) AS day, {func}(val_cmo) AS v
        FROM cmo_semihorario WHERE time >= '2024-03-01' AND time < '2024-03-03'
        GROUP BY id_subsistema, bin(time, 1d) ORDER BY id_subsistema, day
    """
    rows = execute_sql(sql, dataset.url, dataset.db, now=NOW).rows
    frame = dataset.frames["cmo_semihorario"]
    frame = frame[(frame.time >= START) & (frame.time < START + pd.Timedelta(days=2))]
    want = frame.groupby(["id_subsistema", frame.time.dt.floor("D")]).val_cmo.agg(func)
    assert rows == [(sub, day.value, value) for (sub, day), value in want.items()]


def test_not_equal_on_an_optional_dimension_leaves_out_records_without_it(
    dataset: Dataset,
) -> None:
    """SQL: NULL <> 'x' is not true. InfluxDB's tag != 'x' alone would keep the series that
    lack the tag."""
    frame = dataset.frames["generation_data"]
    frame = frame[(frame.time >= START) & (frame.time < START + pd.Timedelta(days=1))]
    want = frame[frame.quality_flag.notna()].groupby("region").value.count()
    for condition in ("quality_flag <> 'suspect'", "quality_flag NOT IN ('bad', 'suspect')"):
        sql = f"""
            SELECT region, count(measure_value::double) AS n FROM generation_data
            WHERE time >= '2024-03-01' AND time < '2024-03-02' AND {condition}
            GROUP BY region ORDER BY region
        """
        rows = execute_sql(sql, dataset.url, dataset.db, now=NOW).rows
        assert rows == sorted(want.items()), condition
        assert all(n < len(frame) / 4 for _, n in rows)  # the records without a flag are out


def test_aggregates_without_group_by_give_one_row_when_nothing_matches(
    dataset: Dataset,
) -> None:
    sql = """
        SELECT count(val_cmo) AS n, avg(val_cmo) AS mean, count(val_cmo) * 2 + 1 AS k
        FROM cmo_semihorario WHERE id_subsistema = 'se' AND time > ago(1d)
    """
    result = execute_sql(sql, dataset.url, dataset.db, now=NOW)
    assert result.names == ["n", "mean", "k"]
    assert result.rows == [(0, None, 1)]
    grouped = sql.replace("FROM", ", id_subsistema FROM") + " GROUP BY id_subsistema"
    assert execute_sql(grouped, dataset.url, dataset.db, now=NOW).rows == []  # no group: no row


@pytest.fixture(scope="module")
def gappy(influx_url: str):  # type: ignore[no-untyped-def]
    """Energy balance and interchange whose records each lack some measures (ONS leaves solar
    empty in older years, and any value may be missing), in a database of their own."""
    import uuid

    import numpy as np

    from ons_pipeline.lib import schema
    from ons_pipeline_tests.conftest import influx_write, influxql
    from ons_pipeline_tests.lib.query.conftest import _lines, build_frames

    frames = build_frames(seed=3)
    rng = np.random.default_rng(5)
    for table in ("balanco_subsistema",):
        frame = frames[table]
        for name in schema.table(table).field_names:
            frame.loc[rng.random(len(frame)) < 0.1, name] = np.nan
    inter = frames["balanco_subsistema"][["time", "val_carga", "val_intercambio"]].copy()
    inter = inter.assign(
        id_subsistema_origem="N",
        nom_subsistema_origem="NORTE",
        id_subsistema_destino="NE",
        nom_subsistema_destino="NORDESTE",
        val_intercambiomwmed=inter.val_carga,
        val_intercambioprogmwmed=inter.val_intercambio,
    ).drop_duplicates("time")
    frames = {"balanco_subsistema": frames["balanco_subsistema"], "intercambio": inter}
    db = f"gappy_{uuid.uuid4().hex[:10]}"
    influxql(influx_url, f'CREATE DATABASE "{db}"')
    lines: list[str] = []
    for table, frame in frames.items():
        spec = schema.table(table)
        lines += _lines(spec.measurement, frame, list(spec.tags), list(spec.field_names))
    influx_write(influx_url, db, "\n".join(lines).encode())
    yield (
        db,
        {
            t: f.dropna(subset=list(schema.table(t).field_names), how="all")
            for t, f in frames.items()
        },
    )
    influxql(influx_url, f'DROP DATABASE "{db}"')


def test_count_star_counts_records_of_a_multi_measure_table(influx_url: str, gappy) -> None:  # type: ignore[no-untyped-def]
    """count(*) counted the first measure's values (an outside review: 799 records of 840), and
    so did count(time) and count(<dimension>); sum(x)/count(*) was too high."""
    db, frames = gappy
    balance, inter = frames["balanco_subsistema"], frames["intercambio"]
    assert balance.val_gerhidraulica.isna().any()  # the first measure lacks some records

    def run(sql: str) -> list[tuple]:  # type: ignore[type-arg]
        return execute_sql(sql, influx_url, db, now=NOW).rows

    assert run("SELECT count(*) FROM balanco_subsistema") == [(len(balance),)]
    assert run("SELECT count(time) AS n FROM intercambio") == [(len(inter),)]
    by_sub = run(
        "SELECT id_subsistema, count(*) AS n, sum(val_carga) / count(*) AS per_record, "
        "count(id_subsistema) AS named FROM balanco_subsistema GROUP BY id_subsistema "
        "ORDER BY n DESC, id_subsistema"
    )
    groups = balance.groupby("id_subsistema")
    want = sorted(
        ((s, len(g), g.val_carga.sum() / len(g), len(g)) for s, g in groups),
        key=lambda r: (-r[1], r[0]),
    )
    assert [r[0] for r in by_sub] == [w[0] for w in want]
    for got, expected in zip(by_sub, want, strict=True):
        assert got[1] == expected[1] and got[3] == expected[3]
        assert math.isclose(got[2], expected[2], rel_tol=1e-12)
    (solar,) = run("SELECT count(*) FROM balanco_subsistema WHERE val_gersolar > 1000")
    assert solar == ((balance.val_gersolar > 1000).sum(),)
    daily = run(
        "SELECT bin(time, 1d) AS day, count(*) AS n, max(val_carga) AS peak "
        "FROM balanco_subsistema WHERE id_subsistema = 'SE' AND time >= '2024-03-01' "
        "GROUP BY bin(time, 1d) ORDER BY day"
    )
    se = balance[balance.id_subsistema == "SE"]
    days = se.groupby(se.time.dt.floor("D"))
    assert daily == [(t.value, len(g), g.val_carga.max()) for t, g in days]


def test_count_of_an_optional_dimension_leaves_out_its_nulls(dataset: Dataset) -> None:
    """The legacy quality_flag is missing on some records: count(quality_flag) counted them."""
    frame = dataset.frames["generation_data"]
    ((got,),) = execute_sql(
        "SELECT count(quality_flag) FROM generation_data", dataset.url, dataset.db, now=NOW
    ).rows
    assert got == frame.quality_flag.notna().sum() < len(frame)


def test_a_raw_select_of_one_measure_keeps_every_record(influx_url: str, gappy) -> None:  # type: ignore[no-untyped-def]
    """InfluxDB returns no row where every selected field is missing: a record without solar
    vanished from `SELECT time, val_gersolar` (rows and LIMIT windows shifted); SQL gives it
    with NULL (an outside review)."""
    db, frames = gappy
    balance = frames["balanco_subsistema"]
    ne = balance[balance.id_subsistema == "NE"].sort_values("time")
    assert ne.val_gersolar.isna().any()
    rows = execute_sql(
        "SELECT time, id_subsistema, val_gersolar FROM balanco_subsistema "
        "WHERE id_subsistema = 'NE' ORDER BY time LIMIT 40",
        influx_url,
        db,
        now=NOW,
    ).rows
    want = [
        (r.time.value, "NE", None if r.val_gersolar != r.val_gersolar else r.val_gersolar)
        for r in ne.head(40).itertuples()
    ]
    assert rows == want


def test_a_division_by_zero_is_null_not_zero(dataset: Dataset) -> None:
    """InfluxQL's x / 0 is 0: `max(x) / min(x)` over a field whose minimum is 0 answered 0, a
    wrong number that looks right (an outside review). SQL gives NULL."""
    rows = execute_sql(
        "SELECT id_subsistema, max(val_cmo) / (min(val_cmo) - min(val_cmo)) AS r, "
        "max(val_cmo) / 2 AS half, count(val_cmo) AS n FROM cmo_semihorario "
        "GROUP BY id_subsistema ORDER BY id_subsistema",
        dataset.url,
        dataset.db,
        now=NOW,
    ).rows
    frame = dataset.frames["cmo_semihorario"]
    groups = frame.groupby("id_subsistema").val_cmo
    assert [r[0] for r in rows] == sorted(groups.groups)
    for sub, ratio, half, n in rows:
        assert ratio is None
        assert math.isclose(half, groups.max()[sub] / 2) and n == groups.count()[sub]
        assert isinstance(n, int)
