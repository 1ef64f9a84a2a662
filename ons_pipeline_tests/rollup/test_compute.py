"""Rollup computation and buckets, without servers: against direct computations on the rows."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from ons_pipeline.lib.ons_time import Window, local_day_start_utc, to_ns
from ons_pipeline.lib.rollup.compute import combine_buckets, rollup_bucket
from ons_pipeline.lib.rollup.spec import (
    DAY,
    MONTH,
    RollupTable,
    months_between,
    partition_offsets,
    rollup_tables,
)
from ons_pipeline.lib.schema import FieldSpec, MeasureType, Source, TableSpec
from ons_pipeline.local.generator import generate_canonical

S = 1_000_000_000
TZ = "America/Sao_Paulo"

SPEC = TableSpec(
    name="probe",
    description="test table",
    source=Source.ONS,
    measure_name="probe",
    grain=timedelta(hours=1),
    tags=("sub", "kind"),
    optional_tags=frozenset({"kind"}),
    fields=(FieldSpec("x", MeasureType.DOUBLE), FieldSpec("n", MeasureType.BIGINT)),
    measurement="probe",
)
RT = RollupTable(SPEC, "UTC", "rollups", "rollup_coverage")
WINDOW = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC))


def rows(records: list[tuple]) -> pa.Table:  # type: ignore[type-arg]
    data = {
        "time": [WINDOW.start_ns + t * S for t, *_ in records],
        "sub": [r[1] for r in records],
        "kind": [r[2] for r in records],
        "x": [r[3] for r in records],
        "n": [r[4] for r in records],
    }
    return pa.table(data).cast(SPEC.arrow_schema())


def by_series(table: pa.Table) -> dict[tuple[str, str | None], dict]:  # type: ignore[type-arg]
    return {(r["sub"], r["kind"]): r for r in table.to_pylist()}


def test_counts_sums_extremes_with_first_time_and_nulls() -> None:
    raw = rows(
        [
            (10, "A", None, 5.0, 1),
            (20, "A", None, 7.0, None),
            (30, "A", None, 7.0, 4),  # ties the maximum later: the first time is kept
            (40, "A", None, -0.0, 2),
            (50, "A", None, 0.0, -3),  # ties -0.0: the first is kept
            (15, "B", "k", None, 9),  # x never set for B
            (25, "C", "", None, None),  # no value at all: no point, no row
            (-5, "A", None, 100.0, 100),  # outside the window: ignored
        ]
    )
    out = by_series(rollup_bucket(raw, RT, WINDOW, RT.level_spec(DAY)))
    assert set(out) == {("A", None), ("B", "k")}
    a = out[("A", None)]
    assert a["time"].timestamp() * S == WINDOW.start_ns
    assert (a["x_count"], a["x_sum"], a["x_mean"]) == (5, 19.0, 19.0 / 5)
    assert (a["x_max"], a["x_max_time"]) == (7.0, WINDOW.start_ns + 20 * S)
    assert a["x_min"] == 0.0 and math.copysign(1, a["x_min"]) == -1  # the value at that time
    assert a["x_min_time"] == WINDOW.start_ns + 40 * S
    assert (a["n_count"], a["n_sum"], a["n_min"], a["n_max"]) == (4, 4, -3, 4)
    assert isinstance(a["n_sum"], int) and a["n_min_time"] == WINDOW.start_ns + 50 * S
    b = out[("B", "k")]
    assert b["x_count"] == 0 and b["x_sum"] is None and b["x_min_time"] is None
    assert (b["n_count"], b["n_sum"]) == (1, 9)


def test_an_empty_tag_and_a_null_tag_are_one_series() -> None:
    raw = rows([(1, "A", None, 1.0, 1), (2, "A", "", 2.0, 2)])
    out = rollup_bucket(raw, RT, WINDOW, RT.level_spec(DAY))
    assert out.num_rows == 1 and out.column("x_count").to_pylist() == [2]


def test_a_month_from_its_days_equals_the_month_from_the_rows() -> None:
    rt = rollup_tables()["balanco_subsistema"]
    month = rt.month_window(date(2018, 2, 1))  # DST ends on 2018-02-18 (a 25-hour day)
    raw = pa.concat_tables(
        list(generate_canonical(rt.table, month.start - timedelta(hours=3), month.end, seed=3))
    )
    days = [
        rollup_bucket(raw, rt, rt.day_window(d), rt.level_spec(DAY))
        for d in rt.days_between(month.start_ns, month.end_ns)
    ]
    assert len(days) == 28
    combined = by_key(combine_buckets(pa.concat_tables(days), rt, month, rt.level_spec(MONTH)))
    direct = by_key(rollup_bucket(raw, rt, month, rt.level_spec(MONTH)))
    assert combined.keys() == direct.keys() and len(direct) == 5
    for key, row in direct.items():
        other = combined[key]
        for name, value in row.items():
            if name.endswith(("_sum", "_mean")) and value is not None:
                assert other[name] == pytest.approx(value, rel=1e-12, abs=1e-9), (key, name)
            else:
                assert other[name] == value, (key, name)


def by_key(table: pa.Table) -> dict[str, dict]:  # type: ignore[type-arg]
    return {r["id_subsistema"]: r for r in table.to_pylist()}


def test_local_days_and_months_are_utc_windows_of_23_24_or_25_hours() -> None:
    rt = rollup_tables()["curva_carga"]
    zone = ZoneInfo(TZ)
    for day, hours in ((date(2018, 11, 4), 23), (date(2018, 2, 17), 25), (date(2024, 3, 5), 24)):
        window = rt.day_window(day)
        assert window.start == local_day_start_utc(day, zone)
        assert (window.end - window.start) == timedelta(hours=hours)
        assert rt.is_day_start(window.start_ns) and not rt.is_day_start(window.start_ns + S)
    march = rt.month_window(date(2024, 3, 17))
    assert march.start == datetime(2024, 3, 1, 3, tzinfo=UTC)
    assert rt.utc_days(march)[0] == date(2024, 3, 1) and rt.utc_days(march)[-1] == date(2024, 4, 1)
    every = date(1990, 1, 1)
    while every < date(2030, 1, 1):
        assert rt.day_start_ns(every) == to_ns(local_day_start_utc(every, zone)), every
        every += timedelta(days=1)


@pytest.mark.parametrize(
    ("zone", "offsets"),
    [("America/Sao_Paulo", (0, 1)), ("Asia/Tokyo", (-1, 0)), ("UTC", (0, 0)),
     ("Europe/London", (-1, 0))],
)  # fmt: skip
def test_a_local_day_reads_the_utc_days_it_overlaps(zone: str, offsets: tuple[int, int]) -> None:
    assert partition_offsets(zone) == offsets


def test_months_between() -> None:
    assert months_between(date(2023, 11, 20), date(2024, 2, 1)) == [
        date(2023, 11, 1), date(2023, 12, 1), date(2024, 1, 1), date(2024, 2, 1)
    ]  # fmt: skip
