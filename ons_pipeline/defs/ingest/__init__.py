"""Continuous loading: raw ONS files on S3 → Parquet partitions → InfluxDB, driven by sensors.

``ingest_jobs()`` and ``ingest_sensors()`` are what ``definitions.py`` adds to the code location.
"""

from typing import Any

import dagster as dg

from ons_pipeline.defs.ingest.jobs import ingest_raw_object_job, ingest_verify_job
from ons_pipeline.defs.ingest.sensors import ingest_verify_sensor, raw_files_sensor


def ingest_jobs() -> list[Any]:
    """The ingest job and the verification asset job."""
    return [ingest_raw_object_job, ingest_verify_job]


def ingest_sensors() -> list[dg.SensorDefinition]:
    return [raw_files_sensor, ingest_verify_sensor]
