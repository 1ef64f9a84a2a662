"""ONS local clock time (America/Sao_Paulo) ↔ UTC, vectorised over Arrow/NumPy arrays.

ONS files stamp rows with Brasília clock time and no offset. Until February 2019 Brazil had
daylight saving time (DST), so:

* the **spring-forward** hour does not exist (e.g. ``2018-11-04 00:00`` jumped to ``01:00``). ONS
  files still carry a row for it in some years (with empty values). Parsing never shifts such a
  time silently: the row is reported in ``LocalTimes.nonexistent`` and its UTC value is NULL;
* the **fall-back** hour happens twice (``2018-02-17 23:00``). ONS files show it once, so the
  label is resolved to its **first occurrence** (the DST one, ``2018-02-18 01:00Z``); such rows are
  flagged in ``LocalTimes.ambiguous``;
* local days last 23 or 25 hours on those days (``local_day_bounds_utc``).

In a daily dataset a date-only string (``YYYY-MM-DD``) denotes a local day and maps to the day's
first instant, which is ``01:00`` local on a spring-forward day; elsewhere it is the local
``00:00`` of that day (R's ``write.csv`` writes midnight so), nonexistent on a spring-forward day
like ``YYYY-MM-DD 00:00:00`` written in full. The offsets come from ``zoneinfo`` (the IANA
database): a table of the zone's transitions is built once per year and then applied with
``searchsorted``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ONS_TIMEZONE = "America/Sao_Paulo"
SAO_PAULO = ZoneInfo(ONS_TIMEZONE)
UTC_NS = pa.timestamp("ns", tz="UTC")
NS_PER_SECOND = 1_000_000_000
NS_PER_DAY = 86_400 * NS_PER_SECOND
LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S"
# what LOCAL_FORMAT reads, seconds 0-59 only: strptime also takes 60 and 61 (leap seconds) and
# moves the instant to the next minute
LOCAL_PATTERN = r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:[0-5]\d)?$"
_PARTS = r"^(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2}) (?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})$"
# the local years whose clock times int64 nanoseconds hold, with a day to spare on each side for
# the offset and the transition table (the range is 1677-09-21 … 2262-04-11 UTC)
FIRST_YEAR, LAST_YEAR = 1678, 2261
BEYOND_RANGE = (
    f"is outside the range nanosecond timestamps can represent (years {FIRST_YEAR}-{LAST_YEAR})"
)
_SCAN_STEP_S = 3 * 3600  # offsets are assumed to change at most once within this step


class NonexistentTimeError(ValueError):
    """A local clock time that was skipped by a DST transition."""


@dataclass(frozen=True)
class LocalTimes:
    """Result of parsing local timestamps.

    ``utc`` is NULL for NULL/empty input and for nonexistent local times; ``nonexistent`` and
    ``ambiguous`` are boolean masks over the input rows.
    """

    utc: pa.TimestampArray
    nonexistent: np.ndarray
    ambiguous: np.ndarray

    @property
    def nonexistent_rows(self) -> list[int]:
        return np.flatnonzero(self.nonexistent).tolist()

    @property
    def ambiguous_rows(self) -> list[int]:
        return np.flatnonzero(self.ambiguous).tolist()


# --- transition table -----------------------------------------------------------------------


def _offset_s(tz: ZoneInfo, utc_second: int) -> int:
    offset = datetime.fromtimestamp(utc_second, tz=UTC).astimezone(tz).utcoffset()
    assert offset is not None
    return int(offset.total_seconds())


@cache
def _year_transitions(tz: ZoneInfo, year: int) -> tuple[tuple[int, int], ...]:
    """``(utc_second, offset_after_s)`` of each offset change within a UTC year."""
    start = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp())
    found: list[tuple[int, int]] = []
    previous = _offset_s(tz, start)
    second = start
    while second < end:
        step_end = min(second + _SCAN_STEP_S, end)
        after = _offset_s(tz, step_end)
        if after != previous:
            low, high = second, step_end  # offset(low) == previous, offset(high) != previous
            while high - low > 1:
                middle = (low + high) // 2
                if _offset_s(tz, middle) == previous:
                    low = middle
                else:
                    high = middle
            found.append((high, after))
            previous = after
        second = step_end
    return tuple(found)


@cache
def _table(tz: ZoneInfo, first_year: int, last_year: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Transition instants (ns), offsets after them (ns), and the offset before the first."""
    base = _offset_s(tz, int(datetime(first_year, 1, 1, tzinfo=UTC).timestamp()))
    pairs = [p for year in range(first_year, last_year + 1) for p in _year_transitions(tz, year)]
    instants = np.array([p[0] for p in pairs], dtype=np.int64) * NS_PER_SECOND
    offsets = np.array([p[1] for p in pairs], dtype=np.int64) * NS_PER_SECOND
    return instants, offsets, base * NS_PER_SECOND


def _year_of_ns(ns: int) -> int:
    return int(np.datetime64(int(ns), "ns").astype("datetime64[Y]").astype(np.int64)) + 1970


def _table_for(tz: ZoneInfo, ns_values: np.ndarray) -> tuple[np.ndarray, np.ndarray, int] | None:
    if ns_values.size == 0:
        return None
    first = _year_of_ns(int(ns_values.min()) - NS_PER_DAY)
    last = _year_of_ns(int(ns_values.max()) + NS_PER_DAY)
    return _table(tz, first, last)


def _offsets_at(table: tuple[np.ndarray, np.ndarray, int], utc_ns: np.ndarray) -> np.ndarray:
    instants, offsets, base = table
    index = np.searchsorted(instants, utc_ns, side="right") - 1
    if offsets.size == 0:
        return np.full(utc_ns.shape, base, dtype=np.int64)
    return np.where(index < 0, base, offsets[np.clip(index, 0, None)])


# --- vectorised core --------------------------------------------------------------------------


def local_ns_to_utc_ns(
    local_ns: np.ndarray, tz: ZoneInfo = SAO_PAULO
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Naive local clock times (int64 ns) → ``(utc_ns, nonexistent, ambiguous)``.

    Ambiguous times resolve to their first occurrence. For nonexistent times ``utc_ns`` holds the
    instant the clock jumped (the first instant at or after that clock time); use the mask.
    """
    local_ns = np.asarray(local_ns, dtype=np.int64)
    table = _table_for(tz, local_ns)
    if table is None:
        empty = np.zeros(0, dtype=bool)
        return np.zeros(0, dtype=np.int64), empty, empty
    instants, offsets, base = table
    candidates = np.unique(np.concatenate([offsets, [base]]))
    best = np.full(local_ns.shape, np.iinfo(np.int64).max, dtype=np.int64)
    valid_count = np.zeros(local_ns.shape, dtype=np.int64)
    for offset in candidates:
        utc = local_ns - offset
        valid = _offsets_at(table, utc) == offset
        valid_count += valid
        best = np.where(valid & (utc < best), utc, best)
    nonexistent = valid_count == 0
    ambiguous = valid_count > 1
    if nonexistent.any():
        # A clock time in the gap [T + before, T + after) maps to its transition instant T, the
        # first transition after the earliest candidate instant.
        earliest = local_ns[nonexistent] - candidates.max()
        index = np.searchsorted(instants, earliest, side="right")
        best[nonexistent] = instants[np.clip(index, 0, instants.size - 1)]
    return best, nonexistent, ambiguous


def utc_ns_to_local_ns(utc_ns: np.ndarray, tz: ZoneInfo = SAO_PAULO) -> np.ndarray:
    """UTC instants (int64 ns) → naive local clock times (int64 ns)."""
    utc_ns = np.asarray(utc_ns, dtype=np.int64)
    table = _table_for(tz, utc_ns)
    if table is None:
        return np.zeros(0, dtype=np.int64)
    return utc_ns + _offsets_at(table, utc_ns)


def in_repeated_hour(utc_ns: np.ndarray, tz: ZoneInfo = SAO_PAULO) -> np.ndarray:
    """Whether each UTC instant's local clock time occurs twice (the hour repeated when daylight
    saving time ends): a file of local clock times can name only one of the two instants."""
    utc_ns = np.asarray(utc_ns, dtype=np.int64)
    if utc_ns.size == 0:
        return np.zeros(0, dtype=bool)
    _, _, ambiguous = local_ns_to_utc_ns(utc_ns_to_local_ns(utc_ns, tz), tz)
    return ambiguous


# --- Arrow helpers ----------------------------------------------------------------------------


def _as_string_array(values: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        values = pa.array(values, pa.string())
    return pc.cast(values, pa.string())


@dataclass(frozen=True)
class CheckedTimes:
    """Local clock strings checked: ``valid`` rows are ``YYYY-MM-DD HH:MM:SS`` or ``YYYY-MM-DD``
    naming a real calendar date and clock time (no 2019-02-29, 06-31, 24:00 or second 60);
    ``representable`` rows are valid and within ``FIRST_YEAR``…``LAST_YEAR``; ``seconds`` holds
    their local clock as seconds since 1970-01-01 (0 elsewhere)."""

    strings: pa.Array
    present: np.ndarray
    valid: np.ndarray
    representable: np.ndarray
    seconds: np.ndarray


def check_local(values: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> CheckedTimes:
    """Check local clock strings calendar-exactly (surrounding spaces ignored; NULL and empty
    are not ``present``). Arrow's ``strptime`` would roll 2019-02-29 over to 03-01."""
    strings = pc.utf8_trim_whitespace(_as_string_array(values))
    length = pc.fill_null(pc.utf8_length(strings), 0).to_numpy(zero_copy_only=False)
    present = length > 0
    shaped = pc.fill_null(pc.match_substring_regex(strings, LOCAL_PATTERN), False)
    padded = pc.if_else(
        pc.and_(shaped, pa.array(length == 10)),
        pc.binary_join_element_wise(strings, "00:00:00", " "),
        pc.if_else(shaped, strings, pa.scalar(None, pa.string())),
    )
    parts = pc.extract_regex(padded, _PARTS)
    year, month, day, hour, minute, second = (
        pc.fill_null(pc.cast(pc.struct_field(parts, [i]), pa.int64()), 0).to_numpy(
            zero_copy_only=False
        )
        for i in range(6)
    )
    months = (year - 1970) * 12 + np.clip(month - 1, 0, 11)
    first = months.astype("datetime64[M]").astype("datetime64[D]")
    month_days = ((months + 1).astype("datetime64[M]").astype("datetime64[D]") - first).astype(
        np.int64
    )
    valid = pc.fill_null(pc.is_valid(parts), False).to_numpy(zero_copy_only=False)
    valid = np.asarray(valid, dtype=bool) & present
    valid &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
    valid &= (hour <= 23) & (minute <= 59) & (second <= 59)
    representable = valid & (year >= FIRST_YEAR) & (year <= LAST_YEAR)
    days = first.astype(np.int64) + day - 1
    seconds = days * 86_400 + hour * 3600 + minute * 60 + second
    seconds = np.where(representable, seconds, 0).astype(np.int64)
    return CheckedTimes(strings, present, valid, representable, seconds)


def within_range(instants: pa.Array) -> np.ndarray:
    """Whether each timestamp (any unit) falls within ``FIRST_YEAR``…``LAST_YEAR`` (NULL: True):
    outside, a cast to nanoseconds fails or wraps around."""
    per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[instants.type.unit]
    low = int(datetime(FIRST_YEAR, 1, 1, tzinfo=UTC).timestamp()) * per_second
    high = int(datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC).timestamp()) * per_second
    values = pc.cast(instants, pa.int64())
    inside = pc.and_(pc.greater_equal(values, low), pc.less(values, high))
    return np.asarray(pc.fill_null(inside, True).to_numpy(zero_copy_only=False), dtype=bool)


def parse_local(
    values: pa.Array | pa.ChunkedArray | Sequence[str | None],
    *,
    daily: bool = False,
    tz: ZoneInfo = SAO_PAULO,
) -> LocalTimes:
    """Parse ONS local timestamps (``YYYY-MM-DD HH:MM:SS`` or ``YYYY-MM-DD``) to UTC.

    Surrounding spaces are ignored; NULL or empty input gives NULL. With ``daily=True``
    ``YYYY-MM-DD`` means the local day and maps to its first instant, and a time part is read as
    an offset from the day's first instant, so daily files written ``YYYY-MM-DD 00:00:00`` never
    report a nonexistent midnight. Otherwise ``YYYY-MM-DD`` is ``YYYY-MM-DD 00:00:00`` (a tool
    that writes midnight as the date alone): nonexistent on a DST-start day. Raises
    ``ValueError`` naming the first malformed row (not a real calendar date and clock time:
    :func:`check_local`), or the first outside the years nanoseconds can hold.
    """
    checked = check_local(values)
    strings, present = checked.strings, checked.present
    bad = present & ~checked.valid
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"row {row}: {strings[row].as_py()!r} is not a local time like "
            "'YYYY-MM-DD HH:MM:SS' or 'YYYY-MM-DD'"
        )
    far = present & ~checked.representable
    if far.any():
        row = int(np.flatnonzero(far)[0])
        raise ValueError(f"row {row}: {strings[row].as_py()!r} {BEYOND_RANGE}")
    local_ns = checked.seconds * NS_PER_SECOND
    as_day = present & daily
    day_ns = local_ns - np.mod(local_ns, NS_PER_DAY)
    utc_ns, nonexistent, ambiguous = local_ns_to_utc_ns(np.where(as_day, day_ns, local_ns), tz)
    # Days: first instant of the day (+ the time part for daily rows like 00:00:01).
    utc_ns = np.where(as_day, utc_ns + (local_ns - day_ns), utc_ns)
    nonexistent = nonexistent & ~as_day & present
    ambiguous = ambiguous & ~as_day & present
    mask = ~present | nonexistent
    utc = pa.array(utc_ns, type=UTC_NS, mask=mask)
    return LocalTimes(utc=utc, nonexistent=nonexistent, ambiguous=ambiguous)


def _ns_array(values: pa.Array | pa.ChunkedArray | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps (any unit) or int64 ns → (int64 ns, null mask)."""
    if isinstance(values, np.ndarray):
        if np.issubdtype(values.dtype, np.datetime64):
            values = values.astype("datetime64[ns]").astype(np.int64)
        return values.astype(np.int64), np.zeros(values.shape, dtype=bool)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_timestamp(values.type):
        values = pc.cast(values, pa.timestamp("ns", tz=values.type.tz))
    ints = pc.cast(values, pa.int64())
    nulls = ints.is_null().to_numpy(zero_copy_only=False)
    return pc.fill_null(ints, 0).to_numpy(zero_copy_only=False).astype(np.int64), nulls


def format_local(
    utc: pa.Array | pa.ChunkedArray | np.ndarray,
    *,
    daily: bool = False,
    tz: ZoneInfo = SAO_PAULO,
) -> pa.StringArray:
    """UTC instants → local clock strings ``YYYY-MM-DD HH:MM:SS`` (``YYYY-MM-DD`` if daily).

    Sub-second parts are dropped. NULL stays NULL.
    """
    ns, nulls = _ns_array(utc)
    local = utc_ns_to_local_ns(ns, tz)
    stamps = pa.array(local // NS_PER_SECOND, type=pa.timestamp("s"), mask=nulls)
    if daily:
        return pc.cast(pc.cast(stamps, pa.date32()), pa.string())
    return pc.cast(stamps, pa.string())


def local_dates(
    utc: pa.Array | pa.ChunkedArray | np.ndarray, tz: ZoneInfo = SAO_PAULO
) -> np.ndarray:
    """The local calendar day of each UTC instant, as ``datetime64[D]``."""
    ns, _ = _ns_array(utc)
    return utc_ns_to_local_ns(ns, tz).astype("datetime64[ns]").astype("datetime64[D]")


# --- scalar helpers ---------------------------------------------------------------------------


def to_ns(moment: datetime) -> int:
    """An aware datetime → integer ns since the epoch (exact to the microsecond)."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} is naive; pass an aware datetime")
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * NS_PER_SECOND + delta.microseconds * 1000


def _from_ns(ns: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)


def _naive_ns(moment: datetime) -> int:
    return to_ns(moment.replace(tzinfo=UTC))


def to_utc(local: datetime, tz: ZoneInfo = SAO_PAULO) -> datetime:
    """A naive local clock time → aware UTC datetime (first occurrence if repeated).

    Raises ``NonexistentTimeError`` for a clock time skipped by DST.
    """
    if local.tzinfo is not None:
        raise ValueError(f"{local!r} is aware; pass a naive local clock time")
    utc, nonexistent, _ = local_ns_to_utc_ns(np.array([_naive_ns(local)]), tz)
    if nonexistent[0]:
        raise NonexistentTimeError(f"{local} does not exist in {tz.key} (DST start)")
    return _from_ns(int(utc[0]))


def to_local(moment: datetime, tz: ZoneInfo = SAO_PAULO) -> datetime:
    """An aware datetime → naive local clock time."""
    local = utc_ns_to_local_ns(np.array([to_ns(moment)]), tz)
    return _from_ns(int(local[0])).replace(tzinfo=None)


def local_day_start_utc(day: date, tz: ZoneInfo = SAO_PAULO) -> datetime:
    """First instant of a local day (its midnight, or the instant the clock jumped past it)."""
    midnight = _naive_ns(datetime.combine(day, time()))
    utc, _, _ = local_ns_to_utc_ns(np.array([midnight]), tz)
    return _from_ns(int(utc[0]))


def local_day_bounds_utc(day: date, tz: ZoneInfo = SAO_PAULO) -> tuple[datetime, datetime]:
    """The half-open UTC window ``[start, end)`` of a local day (23, 24 or 25 hours long)."""
    return local_day_start_utc(day, tz), local_day_start_utc(day + timedelta(days=1), tz)


def utc_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The half-open UTC window ``[day 00:00Z, day+1 00:00Z)``."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def local_date_of(moment: datetime, tz: ZoneInfo = SAO_PAULO) -> date:
    """The local calendar day containing an aware instant."""
    return to_local(moment, tz).date()


def local_days(start: datetime, end: datetime, tz: ZoneInfo = SAO_PAULO) -> list[date]:
    """Local days that overlap the half-open UTC window ``[start, end)``, in order."""
    if end <= start:
        return []
    first = local_date_of(start, tz)
    last = local_date_of(_from_ns(to_ns(end) - 1000), tz)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def local_grid_utc_ns(day: date, step: timedelta, tz: ZoneInfo = SAO_PAULO) -> np.ndarray:
    """UTC instants (int64 ns) of a local day's time grid: ``start, start + step, ... < end``."""
    start, end = local_day_bounds_utc(day, tz)
    step_ns = int(step.total_seconds()) * NS_PER_SECOND
    return np.arange(to_ns(start), to_ns(end), step_ns, dtype=np.int64)


# --- UTC windows and days ---------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A half-open UTC time window ``[start, end)``."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for moment in (self.start, self.end):
            if moment.tzinfo is None:
                raise ValueError(f"window bounds must be timezone-aware, got {moment!r}")
        if self.end <= self.start:
            raise ValueError(f"empty window [{self.start}, {self.end})")

    @property
    def start_ns(self) -> int:
        return to_ns(self.start)

    @property
    def end_ns(self) -> int:
        return to_ns(self.end)

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"


def day_window(day: date) -> Window:
    """The UTC day ``[day 00:00Z, day+1 00:00Z)``: the unit of partitioning."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return Window(start, start + timedelta(days=1))


def day_range(first: date, last: date) -> list[date]:
    """Every day of ``[first, last]`` (inclusive, as people name date ranges)."""
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


def consecutive_runs(days: Iterable[date], longest: int | None = None) -> list[list[date]]:
    """``days`` (sorted, duplicates dropped) cut into runs of consecutive days, each at most
    ``longest`` days long."""
    runs: list[list[date]] = []
    for day in sorted(set(days)):
        last = runs[-1] if runs else None
        if (
            last
            and last[-1] + timedelta(days=1) == day
            and (longest is None or len(last) < longest)
        ):
            last.append(day)
        else:
            runs.append([day])
    return runs
