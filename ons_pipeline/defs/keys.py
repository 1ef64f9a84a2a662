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


def timestream_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([TIMESTREAM, table])


def parquet_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([PARQUET, table])


def influxdb_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([INFLUXDB, table])
