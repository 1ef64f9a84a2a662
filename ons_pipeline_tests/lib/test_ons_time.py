"""America/Sao_Paulo local time ↔ UTC, with the pre-2019 DST days ONS files contain."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ons_pipeline.lib import ons_time as ot

SAMPLES = Path(__file__).parents[1] / "data" / "ons_samples"
TZ = ZoneInfo("America/Sao_Paulo")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def column(path: Path, name: str) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    index = lines[0].split(";").index(name)
    return [line.split(";")[index] for line in lines[1:]]


# --- parsing ----------------------------------------------------------------------------------


def test_dst_start_hour_is_reported_not_shifted() -> None:
    parsed = ot.parse_local(
        ["2018-11-03 23:00:00", "2018-11-04 00:00:00", "2018-11-04 00:30:00", "2018-11-04 01:00:00"]
    )
    assert parsed.nonexistent_rows == [1, 2]
    assert parsed.utc.to_pylist() == [utc(2018, 11, 4, 2), None, None, utc(2018, 11, 4, 3)]
    assert parsed.ambiguous_rows == []


def test_dst_end_hour_resolves_to_first_occurrence() -> None:
    parsed = ot.parse_local(
        ["2018-02-17 22:00:00", "2018-02-17 23:00:00", "2018-02-17 23:59:59", "2018-02-18 00:00:00"]
    )
    assert parsed.utc.to_pylist() == [
        utc(2018, 2, 18, 0),
        utc(2018, 2, 18, 1),
        utc(2018, 2, 18, 1, 59, 59),
        utc(2018, 2, 18, 3),
    ]
    assert parsed.ambiguous_rows == [1, 2]
    assert parsed.nonexistent_rows == []


def test_parse_result_type_and_nulls() -> None:
    parsed = ot.parse_local(pa.chunked_array([["2023-01-01 00:00:00", None], ["", "   "]]))
    assert parsed.utc.type == pa.timestamp("ns", tz="UTC")
    assert parsed.utc.to_pylist() == [utc(2023, 1, 1, 3), None, None, None]
    assert not parsed.nonexistent.any()
    assert not parsed.ambiguous.any()


def test_padded_strings_are_trimmed() -> None:
    assert ot.parse_local([" 2023-01-01 00:00:00  "]).utc.to_pylist() == [utc(2023, 1, 1, 3)]


@pytest.mark.parametrize(
    "bad",
    [
        "2018-13-01",
        "2018-11-04 24:00:00",
        "04/11/2018",
        "2018-11-4",
        "2018-11-04 10:59:60",  # strptime reads it as 11:00:00
        "2018-11-04 10:00:61",
        "2019-02-29 07:00:00",  # strptime rolls it over to 2019-03-01
        "2019-06-31",  # ... and this to 2019-07-01
        "2100-02-29 00:00:00",  # not a leap year (divisible by 100)
    ],
)
def test_malformed_values_raise_naming_the_row(bad: str) -> None:
    with pytest.raises(ValueError, match=r"row 1: .*is not a local time"):
        ot.parse_local(["2018-11-04", bad])


@pytest.mark.parametrize(
    "far", ["2300-06-01 01:00:00", "9999-12-31 23:00:00", "1600-01-01", "0201-06-01 02:00:00"]
)
def test_times_nanoseconds_cannot_hold_raise_naming_the_row(far: str) -> None:
    """(2300 wrapped around to 1715 silently; 1600 failed with an OverflowError naming nothing.)"""
    with pytest.raises(ValueError, match=r"row 1: .*outside the range nanosecond timestamps"):
        ot.parse_local(["2018-11-04", far])


def test_the_first_and_last_representable_years_parse_exactly() -> None:
    first, last = f"{ot.FIRST_YEAR}-01-01 00:00:00", f"{ot.LAST_YEAR}-12-31 23:59:59"
    parsed = ot.parse_local([first, last, "2024-02-29 12:00:00"])
    expected = [ot.to_utc(datetime.fromisoformat(t)) for t in (first, last, "2024-02-29 12:00:00")]
    assert parsed.utc.to_pylist() == expected
    checked = ot.check_local([first, last, "1677-12-31 23:59:59", "2262-01-01", "", None])
    assert checked.representable.tolist() == [True, True, False, False, False, False]
    assert checked.valid.tolist() == [True, True, True, True, False, False]


def test_date_only_strings_of_a_daily_dataset_map_to_the_local_day_start() -> None:
    parsed = ot.parse_local(["2023-01-01", "2018-11-04", "2018-02-17", "2018-02-18"], daily=True)
    assert parsed.utc.to_pylist() == [
        utc(2023, 1, 1, 3),
        utc(2018, 11, 4, 3),
        utc(2018, 2, 17, 2),
        utc(2018, 2, 18, 3),
    ]
    assert parsed.nonexistent_rows == []  # 2018-11-04 has no 00:00, but the day exists


def test_date_only_strings_elsewhere_are_midnight_written_short() -> None:
    """R's write.csv writes an hourly file's midnight as the date alone: on the DST-start day
    that is the nonexistent 00:00, as written in full (it was the day's first instant, 01:00,
    and pushed the real 01:00 row out as a duplicate)."""
    short = ["2023-01-01", "2018-11-04", "2018-02-17", "2018-02-18"]
    parsed = ot.parse_local(short)
    full = ot.parse_local([f"{d} 00:00:00" for d in short])
    assert parsed.utc.to_pylist() == full.utc.to_pylist()
    assert parsed.utc.to_pylist() == [
        utc(2023, 1, 1, 3),
        None,
        utc(2018, 2, 17, 2),
        utc(2018, 2, 18, 3),
    ]
    assert parsed.nonexistent_rows == full.nonexistent_rows == [1]


def test_daily_mode_reads_midnight_as_the_day() -> None:
    values = ["2018-11-04 00:00:00", "2013-02-02 00:00:00", "2013-02-02 00:00:01"]
    hourly = ot.parse_local(values)
    assert hourly.nonexistent_rows == [0]
    daily = ot.parse_local(values, daily=True)
    assert daily.nonexistent_rows == []
    assert daily.utc.to_pylist() == [
        utc(2018, 11, 4, 3),
        utc(2013, 2, 2, 2),
        utc(2013, 2, 2, 2, 0, 1),
    ]


def test_real_curva_carga_2018_dst_start_rows() -> None:
    """The real file keeps a row for the nonexistent 2018-11-04 00:00 (empty values)."""
    path = SAMPLES / "curva_carga_2018_excerpt.csv"
    instants = column(path, "din_instante")
    parsed = ot.parse_local(instants)
    rows = parsed.nonexistent_rows
    assert [instants[r] for r in rows] == ["2018-11-04 00:00:00"] * 4
    values = column(path, "val_cargaenergiahomwmed")
    assert sorted(values[r] for r in rows) == ["", "", "", "0E-8"]
    valid = pc.drop_null(parsed.utc)
    assert len(valid) == 144 - 4
    # 2018-11-04 has 23 local hours (01:00..23:00) → 23 distinct UTC instants in the excerpt.
    day_start, day_end = ot.local_day_bounds_utc(date(2018, 11, 4))
    in_day = [t for t in valid.to_pylist() if day_start <= t < day_end]
    assert len(set(in_day)) == 23


def test_real_daily_file_with_time_part() -> None:
    instants = column(SAMPLES / "carga_energia_2013_excerpt.csv", "din_instante")
    parsed = ot.parse_local(instants, daily=True)
    assert not parsed.nonexistent.any()
    odd = instants.index("2013-02-02 00:00:01")
    assert parsed.utc[odd].as_py() == utc(2013, 2, 2, 2, 0, 1)


# --- day bounds -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "hours"),
    [
        (date(2013, 10, 20), 23),  # DST start, 2000–2013 style (row missing in ONS files)
        (date(2014, 10, 19), 23),
        (date(2017, 10, 15), 23),
        (date(2018, 11, 4), 23),
        (date(2017, 2, 18), 25),  # DST ended 2017-02-19 00:00: 23:00 on the 18th repeats
        (date(2018, 2, 17), 25),  # DST ended 2018-02-18 00:00
        (date(2019, 2, 16), 25),  # the last DST end
        (date(2017, 2, 19), 24),
        (date(2018, 2, 18), 24),
        (date(2019, 11, 3), 24),  # DST abolished in 2019
        (date(2023, 1, 1), 24),
    ],
)
def test_local_day_length(day: date, hours: int) -> None:
    start, end = ot.local_day_bounds_utc(day)
    assert end - start == timedelta(hours=hours)
    assert ot.local_grid_utc_ns(day, timedelta(hours=1)).size == hours
    assert ot.local_grid_utc_ns(day, timedelta(minutes=30)).size == 2 * hours


def test_dst_day_bounds() -> None:
    assert ot.local_day_bounds_utc(date(2018, 11, 4)) == (utc(2018, 11, 4, 3), utc(2018, 11, 5, 2))
    assert ot.local_day_bounds_utc(date(2018, 2, 17)) == (utc(2018, 2, 17, 2), utc(2018, 2, 18, 3))
    assert ot.local_day_bounds_utc(date(2023, 6, 1)) == (utc(2023, 6, 1, 3), utc(2023, 6, 2, 3))


def test_local_day_bounds_match_zoneinfo_2000_to_2021() -> None:
    day = date(2000, 1, 1)
    while day < date(2021, 1, 1):
        expected = datetime.combine(day, time(), tzinfo=TZ).astimezone(UTC)
        assert ot.local_day_start_utc(day) == expected, day
        day += timedelta(days=1)


def test_utc_day_bounds() -> None:
    assert ot.utc_day_bounds(date(2018, 11, 4)) == (utc(2018, 11, 4), utc(2018, 11, 5))


def test_local_days_of_a_utc_window() -> None:
    assert ot.local_days(utc(2018, 11, 4, 2), utc(2018, 11, 5, 3)) == [
        date(2018, 11, 3),
        date(2018, 11, 4),
        date(2018, 11, 5),
    ]
    assert ot.local_days(utc(2023, 1, 1, 3), utc(2023, 1, 2, 3)) == [date(2023, 1, 1)]
    assert ot.local_days(utc(2023, 1, 1, 3), utc(2023, 1, 1, 3)) == []


# --- formatting and round trips ---------------------------------------------------------------


def test_format_local() -> None:
    instants = pa.array(
        [utc(2018, 11, 4, 2), utc(2018, 11, 4, 3), utc(2018, 2, 18, 1), utc(2018, 2, 18, 2), None],
        pa.timestamp("ns", tz="UTC"),
    )
    assert ot.format_local(instants).to_pylist() == [
        "2018-11-03 23:00:00",
        "2018-11-04 01:00:00",
        "2018-02-17 23:00:00",
        "2018-02-17 23:00:00",
        None,
    ]
    assert ot.format_local(instants, daily=True).to_pylist()[:2] == ["2018-11-03", "2018-11-04"]


def test_every_hour_2012_to_2020_round_trips() -> None:
    """format → parse gives the instant back, except the repeat of a fall-back hour."""
    start = int(utc(2012, 1, 1).timestamp()) * ot.NS_PER_SECOND
    end = int(utc(2021, 1, 1).timestamp()) * ot.NS_PER_SECOND
    instants = np.arange(start, end, 1800 * ot.NS_PER_SECOND, dtype=np.int64)
    labels = ot.format_local(instants)
    parsed = ot.parse_local(labels)
    back = pc.cast(parsed.utc, pa.int64()).to_numpy(zero_copy_only=False)
    assert not parsed.nonexistent.any()
    repeated = back != instants
    assert np.all(back[repeated] == instants[repeated] - 3600 * ot.NS_PER_SECOND)
    # One repeated hour (2 half-hours) per DST end: 2012…2019 → 8 ends.
    assert repeated.sum() == 8 * 2
    assert parsed.ambiguous.sum() == 8 * 4


def _reference(naive: datetime) -> tuple[datetime | None, bool]:
    first = naive.replace(tzinfo=TZ, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=TZ, fold=1).astimezone(UTC)
    if first.astimezone(TZ).replace(tzinfo=None) != naive:
        return None, False
    return min(first, second), first != second


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.datetimes(min_value=datetime(1985, 1, 1), max_value=datetime(2037, 12, 31)),
        min_size=1,
        max_size=30,
    )
)
def test_parse_matches_zoneinfo(moments: list[datetime]) -> None:
    moments = [m.replace(microsecond=0) for m in moments]
    parsed = ot.parse_local([m.strftime("%Y-%m-%d %H:%M:%S") for m in moments])
    for row, moment in enumerate(moments):
        expected, ambiguous = _reference(moment)
        assert parsed.utc[row].as_py() == expected, moment
        assert bool(parsed.nonexistent[row]) == (expected is None)
        assert bool(parsed.ambiguous[row]) == ambiguous


@pytest.mark.parametrize(
    ("naive", "expected"),
    [
        (datetime(2018, 11, 4, 1), utc(2018, 11, 4, 3)),
        (datetime(2018, 2, 17, 23, 30), utc(2018, 2, 18, 1, 30)),
        (datetime(2023, 7, 1, 12), utc(2023, 7, 1, 15)),
    ],
)
def test_scalar_conversions(naive: datetime, expected: datetime) -> None:
    assert ot.to_utc(naive) == expected
    assert ot.to_local(expected) == naive


def test_scalar_nonexistent_raises() -> None:
    with pytest.raises(ot.NonexistentTimeError):
        ot.to_utc(datetime(2018, 11, 4, 0, 30))
    with pytest.raises(ValueError, match="aware"):
        ot.to_utc(datetime(2018, 11, 4, 1, tzinfo=UTC))


def test_agrees_with_arrow_assume_timezone() -> None:
    """Cross-check against Arrow's own tz kernel (an independent implementation)."""
    start = int(datetime(2014, 1, 1).timestamp())
    local = np.arange(start, start + 6 * 366 * 86_400, 1800, dtype=np.int64) * ot.NS_PER_SECOND
    utc_ns, nonexistent, ambiguous = ot.local_ns_to_utc_ns(local)
    naive = pa.array(local, pa.timestamp("ns"))
    try:
        early = pc.assume_timezone(
            naive, ot.ONS_TIMEZONE, ambiguous="earliest", nonexistent="earliest"
        )
        late = pc.assume_timezone(naive, ot.ONS_TIMEZONE, ambiguous="latest", nonexistent="latest")
    except pa.ArrowInvalid as exc:  # no tz database available to Arrow
        pytest.skip(str(exc))
    early_ns = pc.cast(early, pa.int64()).to_numpy()
    late_ns = pc.cast(late, pa.int64()).to_numpy()
    gap = early_ns != late_ns
    assert np.array_equal(nonexistent | ambiguous, gap)
    assert np.array_equal(utc_ns[~nonexistent], early_ns[~nonexistent])


def test_the_hour_repeated_when_dst_ends_is_both_of_its_instants_and_nothing_else() -> None:
    # local 2018-02-17 23:00-24:00 happens twice: 01:00-02:00 UTC (-02) and 02:00-03:00 (-03)
    start = ot.to_ns(datetime(2018, 2, 17, 20, tzinfo=UTC))
    hours = np.arange(start, start + 12 * 3600 * 10**9, 15 * 60 * 10**9, dtype=np.int64)
    repeated = ot.in_repeated_hour(hours)
    first = ot.to_ns(datetime(2018, 2, 18, 1, tzinfo=UTC))
    last = ot.to_ns(datetime(2018, 2, 18, 3, tzinfo=UTC))
    assert repeated.tolist() == [first <= h < last for h in hours.tolist()]
    spring = ot.to_ns(datetime(2018, 11, 4, 0, tzinfo=UTC))  # DST starts: no repeat
    assert not ot.in_repeated_hour(np.arange(spring, spring + 86_400 * 10**9, 3600 * 10**9)).any()
