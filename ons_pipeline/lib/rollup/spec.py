"""What a rollup is: per series, over one local day or local month (the *bucket*), for every numeric
field ``f`` of a table: ``f_count`` (points with a value), ``f_sum``, ``f_mean``, ``f_min``,
``f_max``, and ``f_min_time`` / ``f_max_time`` (ns of the first point holding the extreme, as
InfluxQL's ``min()``/``max()`` pick it). One point per series and bucket, at the bucket's start,
in measurement ``<measurement>_1d`` or ``<measurement>_1mo`` of the rollup retention group.

Buckets follow the local calendar of ``[rollups] timezone`` (ONS publishes Brasília time), so a
question over local days, months or years reads whole buckets; a bucket's bounds are UTC
instants (a local day lasts 23, 24 or 25 hours where DST applied).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

from ons_pipeline.lib import schema
from ons_pipeline.lib.influx.client import quote_ident, quote_literal
from ons_pipeline.lib.ons_time import Window, local_day_start_utc, to_ns
from ons_pipeline.lib.schema import FieldSpec, MeasureType, TableSpec

DAY = "1d"
MONTH = "1mo"
LEVELS = (DAY, MONTH)
COUNT, SUM, MEAN, MIN, MAX, MIN_TIME, MAX_TIME = (
    "count", "sum", "mean", "min", "max", "min_time", "max_time",
)  # fmt: skip
STATS = (COUNT, SUM, MEAN, MIN, MAX, MIN_TIME, MAX_TIME)
NUMERIC = (MeasureType.DOUBLE, MeasureType.BIGINT)
TABLE_TAG = "table"  # tags of the coverage measurement
LEVEL_TAG = "level"


def column(field_name: str, stat: str) -> str:
    """The rollup field holding ``stat`` of a source field: ``val_carga_sum``."""
    return f"{field_name}_{stat}"


@dataclass(frozen=True)
class RollupTable:
    """The rollups of one source table: where they live and what they hold."""

    source: TableSpec
    timezone: str
    policy: str | None  # retention policy of the rollup group (None: the default one)
    coverage_measurement: str
    zone: ZoneInfo = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", ZoneInfo(self.timezone))

    @property
    def table(self) -> str:
        return self.source.name

    @property
    def fields(self) -> tuple[FieldSpec, ...]:
        """The numeric fields of the source (the ones rolled up)."""
        return tuple(f for f in self.source.fields if f.type in NUMERIC)

    def measurement(self, level: str) -> str:
        return f"{self.source.measurement}_{level}"

    def level_spec(self, level: str) -> TableSpec:
        """The rollup measurement as a table mapping (for the converter, loader and verifier)."""
        if level not in LEVELS:
            raise ValueError(f"unknown rollup level {level!r}; levels: {LEVELS}")
        fields: list[FieldSpec] = []
        for f in self.fields:
            fields += [
                FieldSpec(column(f.name, COUNT), MeasureType.BIGINT),
                FieldSpec(column(f.name, SUM), f.type, f.unit),
                FieldSpec(column(f.name, MEAN), MeasureType.DOUBLE, f.unit),
                FieldSpec(column(f.name, MIN), f.type, f.unit),
                FieldSpec(column(f.name, MAX), f.type, f.unit),
                FieldSpec(column(f.name, MIN_TIME), MeasureType.BIGINT, "ns"),
                FieldSpec(column(f.name, MAX_TIME), MeasureType.BIGINT, "ns"),
            ]
        return replace(
            self.source,
            name=f"{self.source.name}_{level}",
            description=f"{level} rollup of {self.source.name}",
            grain=timedelta(days=1 if level == DAY else 31),
            fields=tuple(fields),
            measurement=self.measurement(level),
            raw_time_column=None,
            raw_renames={},
        )

    # -- buckets ----------------------------------------------------------------------------
    def day_start_ns(self, day: date) -> int:
        """First instant (ns) of local day ``day``: its midnight, or the instant the clock
        jumped past it (DST start)."""
        return _day_start_ns(self.timezone, day)

    def day_window(self, day: date) -> Window:
        """The local day ``day`` as a UTC window."""
        return Window(_moment(self.day_start_ns(day)), _moment(self.day_start_ns(day + _ONE_DAY)))

    def month_window(self, month: date) -> Window:
        """The local month of ``month`` (any day of it) as a UTC window."""
        first = month.replace(day=1)
        return Window(
            _moment(self.day_start_ns(first)), _moment(self.day_start_ns(_next_month(first)))
        )

    def window(self, level: str, key: date) -> Window:
        return self.day_window(key) if level == DAY else self.month_window(key)

    def utc_days(self, window: Window) -> list[date]:
        """The UTC days (partitions) a window overlaps."""
        first = window.start.astimezone(UTC).date()
        last = (window.end - timedelta(microseconds=1)).astimezone(UTC).date()
        return [first + timedelta(days=k) for k in range((last - first).days + 1)]

    def local_date(self, ns: int) -> date:
        return _local_date(self.timezone, ns)

    def is_day_start(self, ns: int) -> bool:
        """Whether ``ns`` is the first instant of a local day."""
        return self.day_start_ns(self.local_date(ns)) == ns

    def is_month_start(self, ns: int) -> bool:
        return self.is_day_start(ns) and self.local_date(ns).day == 1

    def days_between(self, start_ns: int, end_ns: int) -> list[date]:
        """Local days of ``[start, end)`` (both local day starts)."""
        first, last = self.local_date(start_ns), self.local_date(end_ns)
        return [first + timedelta(days=k) for k in range((last - first).days)]


@lru_cache(maxsize=65_536)
def _local_date(timezone: str, ns: int) -> date:
    return _moment(ns).astimezone(ZoneInfo(timezone)).date()


@lru_cache(maxsize=65_536)
def _day_start_ns(timezone: str, day: date) -> int:
    zone = ZoneInfo(timezone)
    moment = datetime(day.year, day.month, day.day, tzinfo=zone)  # fold 0: first occurrence
    utc = moment.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) == moment.replace(tzinfo=None):
        return to_ns(utc)
    # midnight skipped by a DST jump: the day starts where the jump ends
    return to_ns(local_day_start_utc(day, zone))


_ONE_DAY = timedelta(days=1)


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def months_between(first: date, last: date) -> list[date]:
    """First days of the months from ``first``'s to ``last``'s (inclusive)."""
    out, cursor = [], first.replace(day=1)
    while cursor <= last:
        out.append(cursor)
        cursor = _next_month(cursor)
    return out


def _moment(ns: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1_000)


def partition_offsets(timezone: str) -> tuple[int, int]:
    """``(start, end)`` offsets, in UTC days, of the UTC partitions a local day overlaps: a
    local day west of UTC (Brasília) spills into the next UTC day, east of UTC into the one
    before. Checked over every offset the zone has used since 1970."""
    zone = ZoneInfo(timezone)
    offsets = set()
    for year in range(1970, 2051):
        for month in (1, 4, 7, 10):
            offsets.add(datetime(year, month, 15, tzinfo=zone).utcoffset() or timedelta(0))
    start = -1 if any(o > timedelta(0) for o in offsets) else 0
    end = 1 if any(o < timedelta(0) for o in offsets) else 0
    return start, end


@cache
def rollup_tables() -> dict[str, RollupTable]:
    """The project's rolled-up tables (``[rollups]`` of ``tables.toml``)."""
    config = schema.rollup_config()
    group = schema.retention_groups()[config.retention]
    return {
        name: RollupTable(
            schema.table(name), config.timezone, group.policy, config.coverage_measurement
        )
        for name in config.tables
    }


def coverage_query(
    rt: RollupTable, level: str, start_ns: int, end_ns: int, retention_policy: str | None
) -> str:
    """InfluxQL counting the covered buckets of ``level`` in ``[start, end)``."""
    source = quote_ident(rt.coverage_measurement)
    if retention_policy:
        source = f"{quote_ident(retention_policy)}.{source}"
    return (
        f"SELECT count({quote_ident('series')}) FROM {source} WHERE "
        f"{quote_ident(TABLE_TAG)} = {quote_literal(rt.table)} AND "
        f"{quote_ident(LEVEL_TAG)} = {quote_literal(level)} AND "
        f"time >= {start_ns} AND time < {end_ns}"
    )
