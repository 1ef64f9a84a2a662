"""The migration spine: Timestream exports → Parquet partitions on S3 → InfluxDB."""
