"""Build rollup buckets from their sources and publish them: local days from the raw Parquet
partitions (every UTC partition a local day overlaps), local months from the days' rollups kept
on S3."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date

import pyarrow as pa

from ons_pipeline.lib.influx.client import InfluxClient
from ons_pipeline.lib.partitions import ParquetStore, Partition
from ons_pipeline.lib.rollup.compute import combine_buckets, rollup_bucket
from ons_pipeline.lib.rollup.publish import (
    Bucket,
    Published,
    RollupPublishError,
    covered_keys,
    publish_buckets,
    require_policy,
)
from ons_pipeline.lib.rollup.spec import DAY, MONTH, RollupTable
from ons_pipeline.lib.rollup.store import RollupStore


def day_buckets(parquet: ParquetStore, rt: RollupTable, days: Sequence[date]) -> Iterator[Bucket]:
    """Each local day's rollup rows, from the raw partitions it overlaps (each partition read
    once for consecutive days). A missing partition raises (the day is not complete)."""
    spec = rt.level_spec(DAY)
    cache: dict[date, pa.Table] = {}
    for day in sorted(days):
        window = rt.day_window(day)
        needed = rt.utc_days(window)
        for old in [d for d in cache if d not in needed]:
            del cache[old]
        for utc_day in needed:
            if utc_day not in cache:
                cache[utc_day] = parquet.read(Partition(rt.table, utc_day), rt.source)
        raw = pa.concat_tables([cache[d] for d in needed])
        yield Bucket(day, window, rollup_bucket(raw, rt, window, spec))


def month_buckets(
    rollups: RollupStore, rt: RollupTable, months: Sequence[date]
) -> Iterator[Bucket]:
    """Each local month's rollup rows from its days' rollups on S3 (every day must be there)."""
    day_spec, month_spec = rt.level_spec(DAY), rt.level_spec(MONTH)
    for month in sorted(months):
        window = rt.month_window(month)
        days = rt.days_between(window.start_ns, window.end_ns)
        parts = pa.concat_tables([rollups.read(rt.table, DAY, d, day_spec) for d in days])
        yield Bucket(month.replace(day=1), window, combine_buckets(parts, rt, window, month_spec))


def roll_days(
    client: InfluxClient,
    parquet: ParquetStore,
    rollups: RollupStore,
    rt: RollupTable,
    days: Sequence[date],
    *,
    database: str,
    batch_lines: int = 10_000,
    progress: Callable[[str], None] | None = None,
) -> list[Published]:
    """Compute, publish and keep (on S3) the daily rollups of ``days``."""
    require_policy(client, rt)
    buckets = list(day_buckets(parquet, rt, days))

    def keep(bucket: Bucket) -> None:
        rollups.write(rt.table, DAY, bucket.key, bucket.rows)

    return publish_buckets(
        client,
        rt,
        DAY,
        buckets,
        database=database,
        batch_lines=batch_lines,
        after_verify=keep,
        progress=progress,
    )


def roll_months(
    client: InfluxClient,
    rollups: RollupStore,
    rt: RollupTable,
    months: Sequence[date],
    *,
    database: str,
    batch_lines: int = 10_000,
    progress: Callable[[str], None] | None = None,
) -> list[Published]:
    """Compute and publish the monthly rollups of ``months`` from their days' rollups, each of
    which must be covered: a day whose data changed since its rollup was kept (its coverage
    withdrawn) is rolled up again first, or the month would count its old points."""
    require_policy(client, rt)
    for month in sorted(months):
        window = rt.month_window(month)
        days = rt.days_between(window.start_ns, window.end_ns)
        covered = set(covered_keys(client, rt, DAY, window.start_ns, window.end_ns))
        stale = [d for d in days if rt.day_start_ns(d) not in covered]
        if stale:
            shown = ", ".join(d.isoformat() for d in stale[:10]) + (" …" if len(stale) > 10 else "")
            raise RollupPublishError(
                f"{rt.measurement(MONTH)} {month:%Y-%m}: {len(stale)} day(s) not rolled up since "
                f"their data last changed ({shown}): materialize rollup/{rt.table} for them first"
            )
    buckets = list(month_buckets(rollups, rt, months))
    return publish_buckets(
        client, rt, MONTH, buckets, database=database, batch_lines=batch_lines, progress=progress
    )
