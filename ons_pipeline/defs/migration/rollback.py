"""Rollback job: delete a table's date range from InfluxDB, record it, and mark the days pending."""

from datetime import date

import dagster as dg

from ons_pipeline.defs.keys import ROLLED_BACK, influxdb_key
from ons_pipeline.lib.migration.rollback import rollback_days
from ons_pipeline.lib.ons_time import day_range
from ons_pipeline.lib.schema import table
from ons_pipeline.resources import AwsResource, InfluxDBResource

ROLLBACK_PREFIX = "rollbacks"


class RollbackConfig(dg.Config):
    table: str
    first_day: str  # YYYY-MM-DD, inclusive
    last_day: str  # YYYY-MM-DD, inclusive


@dg.op
def rollback_influxdb_range(
    context: dg.OpExecutionContext,
    config: RollbackConfig,
    aws: AwsResource,
    influxdb: InfluxDBResource,
) -> dg.Output[str]:
    """Delete the days from InfluxDB; the record (values deleted per series and field) goes to
    S3 under ``rollbacks/`` and into the run's metadata. Each day gets a "rolled back"
    observation on its load partition, so the next migration backfill loads it again."""
    spec = table(config.table)
    first, last = date.fromisoformat(config.first_day), date.fromisoformat(config.last_day)
    days = [d.isoformat() for d in day_range(first, last)]

    def mark(metadata: dict[str, object]) -> None:
        for day in days:
            context.log_event(
                dg.AssetObservation(
                    asset_key=influxdb_key(spec.name),
                    partition=day,
                    metadata={ROLLED_BACK: True, **metadata},
                )
            )

    # the days stop counting as migrated before any point goes: a failure after the delete
    # (the record's S3 write, the count after it) leaves them pending, not "migrated" and empty
    mark({"rollback": "begun"})
    with influxdb.client() as client:
        record = rollback_days(client, spec, first, last)
    key = f"{ROLLBACK_PREFIX}/{spec.name}/{record.requested_at.replace(':', '')}.json"
    try:
        aws.client("s3").put_object(Bucket=aws.bucket, Key=key, Body=record.to_json())
    except Exception as exc:
        raise dg.Failure(
            f"rolled back {spec.name} {first}…{last}: {record.values_deleted} values deleted "
            f"from InfluxDB, but the record could not be written to s3://{aws.bucket}/{key} "
            f"({type(exc).__name__}: {exc}); the days are pending for `ons-pipeline migrate`",
            metadata={"values deleted": dg.MetadataValue.int(record.values_deleted)},
        ) from exc
    mark({"record": f"s3://{aws.bucket}/{key}"})
    context.log.info(
        f"rolled back {spec.name} {first}…{last}: {record.values_deleted} values in "
        f"{len(record.deleted)} series deleted; record s3://{aws.bucket}/{key}"
    )
    return dg.Output(
        key,
        metadata={
            "table": spec.name,
            "days": dg.MetadataValue.json(days),
            "values deleted": dg.MetadataValue.int(record.values_deleted),
            "series": dg.MetadataValue.int(len(record.deleted)),
            "remaining after delete": dg.MetadataValue.int(record.remaining_after),
            "record": f"s3://{aws.bucket}/{key}",
        },
    )


@dg.job(description="Delete a table's date range from InfluxDB and record what was deleted.")
def rollback() -> None:
    rollback_influxdb_range()
