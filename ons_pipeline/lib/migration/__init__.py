"""The migration spine: Timestream export, Parquet partitions, loads, dead letters, rollback."""
