"""The daily partitioning shared by every migration asset: one UTC day per partition."""

import os
from datetime import date

import dagster as dg

MIGRATION_START = os.environ.get("ONS_MIGRATION_START", "2018-01-01")

daily_partitions = dg.DailyPartitionsDefinition(start_date=MIGRATION_START, timezone="UTC")


def partition_day(context: dg.AssetExecutionContext | dg.OpExecutionContext) -> date:
    return date.fromisoformat(context.partition_key)
