"""The daily partitioning shared by every migration asset: one UTC day per partition."""

from datetime import date

import dagster as dg

from ons_pipeline.environment import load_settings

MIGRATION_START = load_settings().migration.start

daily_partitions = dg.DailyPartitionsDefinition(start_date=MIGRATION_START, timezone="UTC")


def partition_day(context: dg.AssetExecutionContext | dg.OpExecutionContext) -> date:
    return date.fromisoformat(context.partition_key)
