"""Assets of the three stores, per table: Timestream table → Parquet on S3 → InfluxDB."""

from typing import Any

import dagster as dg

from ons_pipeline.defs.keys import (
    INFLUXDB,
    PARQUET,
    TIMESTREAM,
    influxdb_key,
    parquet_key,
    timestream_key,
)
from ons_pipeline.defs.partitions import daily_partitions, partition_day
from ons_pipeline.lib.migration.deadletter import S3DeadLetterStore
from ons_pipeline.lib.migration.exporter import export_partition
from ons_pipeline.lib.migration.loader import load_tables
from ons_pipeline.lib.partitions import ParquetStore, Partition, PartitionError
from ons_pipeline.lib.schema import TableSpec, tables
from ons_pipeline.resources import AwsResource, InfluxDBResource


def timestream_source(spec: TableSpec) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=timestream_key(spec.name),
        description=f"Timestream table `{spec.name}` (source of the migration). {spec.description}",
        group_name=TIMESTREAM,
        kinds={"timestream"},
        metadata={
            "tags (dimensions)": ", ".join(spec.tags),
            "measures": ", ".join(f"{f.name} {f.type.value}" for f in spec.fields),
            "measure_name": spec.measure_name,
            "time precision": spec.time_precision,
        },
    )


def build_export_asset(spec: TableSpec) -> dg.AssetsDefinition:
    @dg.asset(
        key=parquet_key(spec.name),
        deps=[timestream_key(spec.name)],
        partitions_def=daily_partitions,
        group_name=PARQUET,
        kinds={"s3", "parquet"},
        pool=TIMESTREAM,
        description=(
            f"One Parquet partition per UTC day of Timestream table `{spec.name}` on S3 "
            f"(`<parquet prefix>/{spec.name}/date=YYYY-MM-DD/`), ns timestamps intact. "
            "Re-materializing a day replaces its objects."
        ),
    )
    def export(context: dg.AssetExecutionContext, aws: AwsResource) -> dg.MaterializeResult:
        day = partition_day(context)
        result = export_partition(
            spec,
            day,
            aws.export_mode,
            aws.client("timestream-query"),
            aws.client("s3"),
            aws,
        )
        context.log.info(
            f"{spec.name} {day}: {result.rows} rows in {result.pages} pages/files "
            f"({result.mode} mode) → {len(result.keys)} object(s), {result.seconds:.2f}s"
        )
        return dg.MaterializeResult(
            metadata={
                "rows": dg.MetadataValue.int(result.rows),
                "bytes": dg.MetadataValue.int(result.bytes),
                "source pages/files": dg.MetadataValue.int(result.pages),
                "export mode": result.mode,
                "window": str(result.window),
                "s3 keys": dg.MetadataValue.json([f"s3://{aws.bucket}/{k}" for k in result.keys]),
                "stale objects removed": dg.MetadataValue.int(result.removed_stale),
                "duration s": dg.MetadataValue.float(round(result.seconds, 3)),
            }
        )

    return export


def build_load_asset(spec: TableSpec) -> dg.AssetsDefinition:
    @dg.asset(
        key=influxdb_key(spec.name),
        deps=[parquet_key(spec.name)],
        partitions_def=daily_partitions,
        group_name=INFLUXDB,
        kinds={"influxdb"},
        pool=INFLUXDB,
        description=(
            f"Points of measurement `{spec.measurement}` in InfluxDB, one UTC day per partition, "
            f"converted losslessly from the Parquet partition (tags: {', '.join(spec.tags)}; "
            f"fields: {', '.join(spec.field_names)}). Batches that fail after retries go to the "
            "dead-letter store and fail the partition; re-loading a day overwrites, never "
            "duplicates."
        ),
    )
    def load(
        context: dg.AssetExecutionContext, aws: AwsResource, influxdb: InfluxDBResource
    ) -> dg.MaterializeResult:
        day = partition_day(context)
        s3 = aws.client("s3")
        parquet = ParquetStore.of(aws, s3)
        partition = Partition(spec.name, day)
        store = S3DeadLetterStore(aws.bucket, aws.deadletter_prefix, client=s3)
        with influxdb.client() as client:
            client.ensure_database(influxdb.database)
            batches = parquet.batches(partition, spec, dictionary_tags=True)
            try:
                report = load_tables(
                    batches,
                    spec,
                    client,
                    partition=day.isoformat(),
                    deadletter=store,
                    batch_lines=influxdb.batch_lines,
                    writers=influxdb.write_connections,
                )
            except PartitionError as exc:
                raise dg.Failure(description=str(exc)) from exc
        metadata: dict[str, Any] = {
            **report.to_metadata(),
            "measurement": spec.measurement,
            "database": influxdb.database,
            "source": parquet.uri(partition),
        }
        context.log.info(f"{spec.name} {day}: {report.to_metadata()}")
        if report.failed_batches:
            raise dg.Failure(
                description=(
                    f"{spec.name} {day}: {report.failed_batches} of {report.batches} batches "
                    f"({report.failed_points} points) failed and were kept in the dead-letter "
                    f"store (`ons-pipeline dlq list --table {spec.name}`, then `dlq replay`). "
                    f"First error: {report.errors[0]}"
                ),
                metadata={
                    **metadata,
                    "dead-letter ids": dg.MetadataValue.json(report.dead_letter_ids),
                },
            )
        return dg.MaterializeResult(metadata=metadata)

    return load


def migration_assets() -> list[dg.AssetsDefinition | dg.AssetSpec]:
    assets: list[dg.AssetsDefinition | dg.AssetSpec] = []
    for spec in tables().values():
        assets += [timestream_source(spec), build_export_asset(spec), build_load_asset(spec)]
    return assets
