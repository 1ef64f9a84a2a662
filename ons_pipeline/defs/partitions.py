"""The daily partitioning shared by every migration asset: one UTC day per partition."""

from datetime import date

import dagster as dg

from ons_pipeline.environment import load_settings

MIGRATION_START = load_settings().migration.start

daily_partitions = dg.DailyPartitionsDefinition(start_date=MIGRATION_START, timezone="UTC")


def partition_day(context: dg.AssetExecutionContext | dg.OpExecutionContext) -> date:
    return date.fromisoformat(context.partition_key)


def _first_month(start: str) -> str:
    day = date.fromisoformat(start)
    if day.day == 1:
        return day.isoformat()
    return date(day.year + day.month // 12, day.month % 12 + 1, 1).isoformat()


# Rollups by local month: keys are the months' first days, from the first whole month of data.
monthly_partitions = dg.MonthlyPartitionsDefinition(
    start_date=_first_month(MIGRATION_START), timezone="UTC"
)
