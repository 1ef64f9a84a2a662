"""The shared vocabulary of the Dagster definitions: asset keys, groups, pools and check names.

Every domain under ``defs/`` names the stores through these, so no domain imports another.
"""

import dagster as dg

TIMESTREAM = "timestream"
PARQUET = "parquet"
INFLUXDB = "influxdb"

GX_STRUCTURE = "gx_structure"
GX_PLAUSIBILITY = "gx_plausibility"
EXACT_VERIFICATION = "exact_verification"

ROLLED_BACK = "rolled back"  # observation metadata key: the day was deleted from InfluxDB
# load materialization metadata key: False when a later stage (verification...) failed the day
DAY_MIGRATED = "day migrated"
INGEST_JOB = "ingest_raw_object"  # continuous loading's job: its partitions are not exports


def timestream_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([TIMESTREAM, table])


def parquet_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([PARQUET, table])


def influxdb_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([INFLUXDB, table])


def loaded_table(key: dg.AssetKey | None) -> str | None:
    """The table of an ``influxdb/<table>`` key; None for any other key."""
    if key is not None and len(key.path) == 2 and key.path[0] == INFLUXDB:
        return key.path[1]
    return None


ROLLUP = "rollup"
ROLLUP_MONTHLY = "rollup_monthly"
RETENTION_KEY = dg.AssetKey("influxdb_retention")


def rollup_key(table: str) -> dg.AssetKey:
    """Daily rollups of a table (one partition per local day)."""
    return dg.AssetKey([ROLLUP, table])


def rollup_monthly_key(table: str) -> dg.AssetKey:
    """Monthly rollups of a table (one partition per local month)."""
    return dg.AssetKey([ROLLUP_MONTHLY, table])
