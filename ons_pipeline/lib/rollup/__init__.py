"""Rollups: per-series daily and monthly aggregates of the tables, computed from the Parquet
partitions, loaded as their own measurements, verified, and recorded as covered.

- :mod:`.spec` — ``RollupTable`` (measurements, fields, local day and month buckets)
- :mod:`.compute` — raw rows → daily rollup rows; daily rows → monthly rows (Arrow, NumPy)
- :mod:`.store` — the daily rollups' Parquet on S3 (the monthly level's source)
- :mod:`.publish` — replace buckets in InfluxDB, verify them exactly, record their coverage
"""
