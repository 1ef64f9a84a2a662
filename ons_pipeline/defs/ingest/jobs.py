"""The ingest job (one raw object → partitions → InfluxDB) and the verification job."""

from typing import Any

import dagster as dg
from pydantic import Field

from ons_pipeline.defs.keys import INFLUXDB, INGEST_JOB, influxdb_key, parquet_key
from ons_pipeline.defs.partitions import daily_partitions
from ons_pipeline.environment import load_settings
from ons_pipeline.lib.ingest.files import (
    IngestReport,
    ObjectChangedError,
    SupersededLoadError,
    TooManyBadRowsError,
    fetch_object,
    ingest_bytes,
    write_rejection,
)
from ons_pipeline.lib.ingest.normalize import NormalizeError
from ons_pipeline.lib.migration.deadletter import S3DeadLetterStore
from ons_pipeline.lib.schema import tables
from ons_pipeline.resources import AwsResource, InfluxDBResource

VERIFY_JOB = "ingest_verify"
RAW_KEY_TAG = "ons/raw_key"
RAW_ETAG_TAG = "ons/raw_etag"
# set on a run that loaded nothing of its version (deleted or replaced before it was read): a
# later upload of the same bytes is then loaded, not taken as done
NOT_LOADED_TAG = "ons/not_loaded"
MAX_LOGGED_BAD_ROWS = 20


class IngestConfig(dg.Config):
    """Which object version to ingest (the sensor fills it in; set it by hand to re-ingest)."""

    key: str = Field(
        description="S3 key of the raw ONS file (in the bucket of the `aws` resource)."
    )
    etag: str = Field(
        default="",
        description="Ingest only this version (ETag); '' ingests whatever the key holds now.",
    )


def _materializations(report: IngestReport, uri: str) -> list[dg.AssetMaterialization]:
    events = []
    for day in report.days:
        if not daily_partitions.has_partition_key(day.partition_key):
            continue  # before the first partition, or today's (not yet complete) day
        load = day.load
        if load is not None and load.failed_batches:
            continue  # not materialised: the run fails and the day is redone next time
        events.append(
            dg.AssetMaterialization(
                asset_key=parquet_key(day.table),
                partition=day.partition_key,
                description=f"merged from {uri}",
                metadata={
                    "rows": dg.MetadataValue.int(day.partition.rows),
                    "rows from this file": dg.MetadataValue.int(day.rows),
                    "rows kept from before": dg.MetadataValue.int(day.partition_rows_kept),
                    "rows given way (a file uploaded later)": dg.MetadataValue.int(day.gave_way),
                    "bytes": dg.MetadataValue.int(day.partition.bytes),
                    "s3 keys": dg.MetadataValue.json(day.partition.keys),
                    "source": uri,
                    "etag": report.etag,
                },
            )
        )
        events.append(
            dg.AssetMaterialization(
                asset_key=influxdb_key(day.table),
                partition=day.partition_key,
                description=f"loaded from {uri}",
                metadata={
                    "points": dg.MetadataValue.int(load.points if load else 0),
                    "points deleted (correction)": dg.MetadataValue.int(
                        day.reconciliation.deleted_points
                    ),
                    "points rewritten (emptied fields)": dg.MetadataValue.int(
                        day.reconciliation.rewritten_points
                    ),
                    "points kept (bad rows)": dg.MetadataValue.int(
                        day.reconciliation.protected_points
                    ),
                    "points kept (not in the file)": dg.MetadataValue.int(
                        day.reconciliation.kept_points
                    ),
                    "source": uri,
                    "etag": report.etag,
                },
            )
        )
    return events


@dg.op(
    name="normalize_and_load",
    pool=INFLUXDB,
    out=dg.Out(dg.Nothing),
    description=(
        "Normalise one raw ONS file (CSV ';' or Parquet) into the canonical schema, merge it into "
        "the daily Parquet partitions (`parquet/<table>`), delete from InfluxDB the points a "
        "correction withdraws, load the rows (`influxdb/<table>`). Bad rows are quarantined. A "
        "partial file (a fixed quarantine CSV, a patch) only upserts its rows; only series-days "
        "the file holds whole are replaced (README, 'Continuous loading')."
    ),
)
def normalize_and_load(
    context: dg.OpExecutionContext,
    config: IngestConfig,
    aws: AwsResource,
    influxdb: InfluxDBResource,
) -> Any:
    settings = load_settings().ingest
    s3 = aws.client("s3")
    uri = f"s3://{aws.bucket}/{config.key}"
    try:
        raw = fetch_object(s3, aws.bucket, config.key, config.etag or None)
    except ObjectChangedError as exc:
        context.log.warning(f"nothing to do: {exc}")
        context.instance.add_run_tags(context.run_id, {NOT_LOADED_TAG: "object gone or replaced"})
        yield dg.Output(None, metadata={"superseded": str(exc)})
        return
    store = S3DeadLetterStore(aws.bucket, aws.deadletter_prefix, client=s3)
    try:
        with influxdb.client() as client:
            report = ingest_bytes(
                raw.body,
                uri,
                aws=aws,
                s3=s3,
                client=client,
                raw_key=raw.key,
                etag=raw.etag,
                deadletter=store,
                batch_lines=influxdb.batch_lines,
                max_bad_fraction=settings.max_bad_fraction,
                uploaded=raw.last_modified,
            )
    except ObjectChangedError as exc:  # a newer version was uploaded meanwhile: its run loads it
        context.log.warning(f"stopped: {exc}")
        for event in _materializations(exc.report, uri) if exc.report else ():
            context.log_event(event)  # the days this version had published before it stopped
        yield dg.Output(None, metadata={"superseded": str(exc)})
        return
    except SupersededLoadError as exc:
        raise dg.Failure(description=str(exc)) from exc
    except TooManyBadRowsError as exc:
        raise dg.Failure(description=str(exc)) from exc
    except NormalizeError as exc:
        key = write_rejection(
            s3, aws.bucket, aws.quarantine_prefix, aws.raw_prefix, raw.key, raw.etag, str(exc)
        )
        raise dg.Failure(description=f"{exc} (report: s3://{aws.bucket}/{key})") from exc
    normalized = report.normalized
    for bad in normalized.bad_rows[:MAX_LOGGED_BAD_ROWS]:
        context.log.warning(f"bad row kept in quarantine: {bad}")
    if len(normalized.bad_rows) > MAX_LOGGED_BAD_ROWS:
        context.log.warning(f"... {len(normalized.bad_rows) - MAX_LOGGED_BAD_ROWS} more bad rows")
    for event in _materializations(report, uri):
        context.log_event(event)
    context.log.info(
        f"{uri}: {normalized.table}, {normalized.rows:,} rows, {len(normalized.bad_rows)} bad; "
        f"{len(report.days)} UTC day(s) changed, {len(report.unchanged_days)} unchanged; "
        f"{report.points_written:,} points written, {report.points_deleted:,} deleted, "
        f"{report.points_kept:,} not in the file kept"
    )
    if report.gave_way:
        context.log.warning(
            f"{uri}: {report.gave_way:,} row(s) of this file left as a file uploaded after it "
            "(its run finished first) wrote or withdrew them"
        )
    metadata = {
        "dataset": normalized.table,
        "source": uri,
        "etag": raw.etag,
        "rows read": dg.MetadataValue.int(normalized.rows_read),
        "rows normalised": dg.MetadataValue.int(normalized.rows),
        "bad rows": dg.MetadataValue.int(len(normalized.bad_rows)),
        "empty rows dropped": dg.MetadataValue.int(normalized.dropped_empty),
        "DST-gap rows dropped": dg.MetadataValue.int(normalized.dropped_dst),
        "points written": dg.MetadataValue.int(report.points_written),
        "points deleted": dg.MetadataValue.int(report.points_deleted),
        "points kept (not in the file)": dg.MetadataValue.int(report.points_kept),
        "rows given way (files uploaded later)": dg.MetadataValue.int(report.gave_way),
        "series-days replaced whole": dg.MetadataValue.int(len(normalized.whole)),
        "series-days upserted (partial)": dg.MetadataValue.int(
            normalized.series_days - len(normalized.whole)
        ),
        "UTC days changed": dg.MetadataValue.json([d.partition_key for d in report.days]),
        "UTC days unchanged": dg.MetadataValue.json([d.isoformat() for d in report.unchanged_days]),
        "quarantine": dg.MetadataValue.json(
            [f"s3://{aws.bucket}/{k}" for k in report.quarantine_keys]
        ),
        "duration s": dg.MetadataValue.float(round(report.seconds, 3)),
    }
    if report.failed_batches:
        raise dg.Failure(
            description=(
                f"{uri}: {report.failed_batches} batch(es) failed and were kept in the dead-letter "
                f"store (`ons-pipeline dlq list --table {normalized.table}`); the Parquet "
                "partitions of the failed days were left as they were. Re-execute this run once "
                "InfluxDB accepts writes (it redoes those days, partition included; `dlq "
                f"replay` would change InfluxDB only and refuses these batches). First error: "
                f"{report.errors()[0]}"
            ),
            metadata={
                **metadata,
                "dead-letter ids": dg.MetadataValue.json(report.dead_letter_ids()),
            },
        )
    yield dg.Output(None, metadata=metadata)


@dg.job(
    name=INGEST_JOB,
    executor_def=dg.in_process_executor,
    tags={"ons/ingest": "raw"},
    description=(
        "Continuous loading of one raw ONS object: normalise, merge into the daily Parquet "
        "partitions, apply corrections in InfluxDB and load. Launched by the `ons_raw_files` "
        "sensor (one run per object version, run key = key@ETag)."
    ),
)
def ingest_raw_object_job() -> None:
    normalize_and_load()


def _verify_selection() -> dg.AssetSelection:
    names = list(tables())
    return dg.AssetSelection.assets(
        *[influxdb_key(n) for n in names]
    ) | dg.AssetSelection.checks_for_assets(*[parquet_key(n) for n in names])


ingest_verify_job = dg.define_asset_job(
    VERIFY_JOB,
    selection=_verify_selection(),  # daily partitions, inferred from the assets
    executor_def=dg.in_process_executor,
    description=(
        "After an ingest run: re-materialise the touched `influxdb/<table>` day from its merged "
        "Parquet partition (idempotent: same series+time overwrite) so that the day's asset "
        "checks on `influxdb/<table>` and `parquet/<table>` run again."
    ),
)
