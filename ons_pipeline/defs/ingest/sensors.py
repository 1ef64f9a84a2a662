"""Sensors of continuous loading: new raw objects → ingest runs; ingest runs → check runs.

``ons_raw_files`` lists the raw prefix with ``dagster_aws.s3.sensor.get_objects`` and a cursor on
(last-modified, key): every object version after the cursor gets one run of ``ingest_raw_object``
with run key ``<key>@<ETag>``, so an identical re-upload is not run again (Dagster skips known run
keys, and the sensor checks them first) while a changed one is. A version uploaded again after
another (A → B → A: a correction reverted) is a change: it runs again, its run key
``<key>@<ETag>@<last-modified>``. Objects listed late (S3 stamps
the upload's start) are still found within ``ONS_INGEST_LOOKBACK`` seconds behind the cursor.
Before requesting a run the sensor reads the object's header (a ranged GET, or the Parquet
footer): an object that is not an ONS file of a known dataset is reported (tick log and a JSON
under ``<quarantine prefix>/objects/``) and skipped; it never stops the sensor. An S3 error that
may pass (throttling, network) ends the tick before that object, which the next tick retries.

``ons_ingest_verify`` watches successful ingest runs and requests, per UTC day they touched, a
run of ``ingest_verify`` for that day's ``influxdb/<table>`` assets and the checks of both stores.
"""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
from dagster_aws.s3.sensor import get_objects

from ons_pipeline.defs.ingest.jobs import (
    NOT_LOADED_TAG,
    RAW_ETAG_TAG,
    RAW_KEY_TAG,
    ingest_raw_object_job,
    ingest_verify_job,
)
from ons_pipeline.defs.keys import (
    INFLUXDB,
    PARQUET,
    influxdb_key,
    loaded_table,
    parquet_key,
)
from ons_pipeline.environment import load_settings
from ons_pipeline.lib.influx.secrets import security_event
from ons_pipeline.lib.ingest.files import (
    RejectedObjectError,
    clean_etag,
    probe_object,
    run_key,
    write_rejection,
)
from ons_pipeline.lib.settings import IngestSettings
from ons_pipeline.resources import AwsResource

RAW_SENSOR = "ons_raw_files"
VERIFY_SENSOR = "ons_ingest_verify"
RUN_KEY_TAG = "dagster/run_key"
# The run queue serves higher priorities first: new data is loaded before days are re-checked.
PRIORITY_TAG = "dagster/priority"
INGEST_PRIORITY = "10"
VERIFY_PRIORITY = "-10"
# S3 answers that may succeed later: end the tick, retry the object next time.
TRANSIENT_S3_CODES = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "InternalError",
    "ServiceUnavailable",
    "503",
    "500",
}
# S3 (or KMS) refusing the pipeline's credentials: not a bad file, a failure to fix first
DENIED_S3_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "AllAccessDisabled",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "KMS.AccessDeniedException",
    "KMS.DisabledException",
    "KMS.KMSInvalidStateException",
    "403",
}

settings = load_settings().ingest


def _status(running: bool) -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED


class RawCursor:
    """``{"last_modified": ISO, "key": str, "recent": {run_key: ISO}}`` kept as the sensor cursor.

    ``recent`` holds the object versions handled within the look-back window, so objects found
    behind the cursor are handled once.
    """

    def __init__(
        self,
        last_modified: datetime | None = None,
        key: str = "",
        recent: dict[str, str] | None = None,
    ) -> None:
        self.last_modified = last_modified
        self.key = key
        self.recent = dict(recent or {})

    @classmethod
    def parse(cls, text: str | None) -> "RawCursor":
        if not text:
            return cls()
        try:
            data = json.loads(text)
            moment = datetime.fromisoformat(data["last_modified"])
            return cls(moment, str(data.get("key", "")), dict(data.get("recent", {})))
        except (ValueError, KeyError, TypeError):
            return cls()  # an unreadable cursor restarts the listing; run keys prevent repeats

    def position(self) -> tuple[datetime, str] | None:
        return (self.last_modified, self.key) if self.last_modified else None

    def advance(self, moment: datetime, key: str, version: str) -> None:
        if self.last_modified is None or (moment, key) > (self.last_modified, self.key):
            self.last_modified, self.key = moment, key
        self.recent[version] = moment.isoformat()

    def prune(self, lookback: timedelta) -> None:
        if self.last_modified is None:
            return
        horizon = self.last_modified - lookback
        self.recent = {k: v for k, v in self.recent.items() if datetime.fromisoformat(v) >= horizon}

    def dump(self) -> str:
        return json.dumps(
            {
                "last_modified": self.last_modified.isoformat() if self.last_modified else None,
                "key": self.key,
                "recent": self.recent,
            },
            sort_keys=True,
        )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


class S3AccessDenied(RuntimeError):
    """S3 or KMS refused the credentials reading a raw object."""


def _is_transient(exc: Exception) -> bool:
    from botocore.exceptions import (
        ConnectionError as BotoConnectionError,
    )
    from botocore.exceptions import (
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    if isinstance(
        exc, BotoConnectionError | ConnectTimeoutError | EndpointConnectionError | ReadTimeoutError
    ):
        return True
    return _error_code(exc) in TRANSIENT_S3_CODES


def _latest_run(instance: dg.DagsterInstance, key: str) -> dg.DagsterRun | None:
    """The latest run launched under run key ``key``."""
    records = instance.get_run_records(filters=dg.RunsFilter(tags={RUN_KEY_TAG: key}), limit=1)
    return records[0].dagster_run if records else None


def _loaded(run: dg.DagsterRun) -> bool:
    """Whether the run loaded its version, or still may: not when it failed or was canceled,
    nor when the object was gone (or replaced) by the time it ran."""
    if run.status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
        return False
    return NOT_LOADED_TAG not in run.tags


def _last_ingested_etag(instance: dg.DagsterInstance, key: str) -> str | None:
    """The ETag the latest ingest run of the object ``key`` was asked to load."""
    records = instance.get_run_records(filters=dg.RunsFilter(tags={RAW_KEY_TAG: key}), limit=1)
    return records[0].dagster_run.tags.get(RAW_ETAG_TAG) if records else None


def _another_version_recent(cursor: RawCursor, key: str, version: str) -> bool:
    """Whether the cursor's recent uploads hold another version of ``key`` (only then can this
    upload be a revert: the run records are asked no more than that)."""
    return any(
        upload.rsplit("@", 1)[0] != version and upload.rsplit("@", 2)[0] == key
        for upload in cursor.recent
    )


def _reverted_within_its_second(
    instance: dg.DagsterInstance, key: str, version: str, etag: str | None
) -> bool:
    """A version handled before whose key's latest ingest loaded another one (A → B → A with the
    first and last upload in one second: S3 stamps whole seconds, so the two uploads look alike)."""
    if _latest_run(instance, version) is None:
        return False  # requested or rejected in an earlier tick, never run under another version
    return _last_ingested_etag(instance, key) not in (None, clean_etag(etag))


def evaluate_raw_files(
    context: dg.SensorEvaluationContext,
    aws: AwsResource,
    config: IngestSettings = settings,
) -> dg.SensorResult:
    """One tick of ``ons_raw_files`` (separate from the decorator so tests can call it)."""
    s3 = aws.client("s3")
    cursor = RawCursor.parse(context.cursor)
    lookback = timedelta(seconds=config.lookback_s)
    prefix = aws.raw_prefix.strip("/") + "/" if aws.raw_prefix.strip("/") else ""
    # With the whole bucket as raw prefix, the pipeline's own objects are not raw files.
    own = tuple(
        p.strip("/") + "/"
        for p in (
            aws.parquet_prefix,
            aws.unload_prefix,
            aws.deadletter_prefix,
            aws.quarantine_prefix,
        )
        if not prefix and p.strip("/")
    )
    # get_objects keeps LastModified > since; S3 stamps whole seconds, so one more second keeps
    # the objects that share the cursor's second (they are then compared on the key).
    since = cursor.last_modified - lookback - timedelta(seconds=1) if cursor.last_modified else None
    try:
        objects = get_objects(aws.bucket, prefix=prefix, since_last_modified=since, client=s3)
    except Exception as exc:
        if _error_code(exc) == "NoSuchBucket":
            return dg.SensorResult(skip_reason=f"bucket {aws.bucket!r} does not exist (yet)")
        raise
    objects = sorted(objects, key=lambda o: (_aware(o["LastModified"]), o["Key"]))
    requests: list[dg.RunRequest] = []
    rejected: list[str] = []
    already: list[str] = []
    position = cursor.position()
    for obj in objects:
        key, size = obj["Key"], int(obj.get("Size", 0))
        moment = _aware(obj["LastModified"])
        version = run_key(key, obj.get("ETag"))
        # one upload: an older version uploaded again (A → B → A) is a new upload of A
        upload = f"{version}@{moment.isoformat()}"
        if key.endswith("/") or (own and key.startswith(own)):
            continue  # a "folder" marker, or one of the pipeline's own objects
        if upload in cursor.recent and not (
            _another_version_recent(cursor, key, version)
            and _reverted_within_its_second(context.instance, key, version, obj.get("ETag"))
        ):
            cursor.advance(moment, key, upload)  # handled already
            continue
        if position is not None and (moment, key) <= position and config.lookback_s == 0:
            continue
        if len(requests) >= config.max_objects_per_tick:
            break  # the rest waits for the next tick; the cursor stops before it
        previous = _latest_run(context.instance, version)
        if previous is not None:  # re-uploaded, or a cursor that was reset
            unchanged = _last_ingested_etag(context.instance, key) == clean_etag(obj.get("ETag"))
            if unchanged and _loaded(previous):
                already.append(version)  # unchanged since its last run
                cursor.advance(moment, key, upload)
                continue
            # a revert to a version loaded before another, or one whose run did not load it
            # (failed, or the object was gone): loaded again, under its own run key
            version = upload
            if _latest_run(context.instance, version) is not None:
                already.append(version)
                cursor.advance(moment, key, upload)
                continue
        try:
            dataset = probe_object(
                s3,
                aws.bucket,
                key,
                size=size,
                etag=obj.get("ETag"),
                max_bytes=config.max_object_bytes,
            )
        except RejectedObjectError as exc:
            rejected.append(_reject(context, s3, aws, config, key, obj.get("ETag"), str(exc)))
        except Exception as exc:
            if _is_transient(exc):
                context.log.warning(f"s3://{aws.bucket}/{key}: {exc}; retrying next tick")
                break
            if _error_code(exc) in DENIED_S3_CODES:
                # the tick fails (loud, the cursor unsaved): the object is tried again once the
                # credentials or KMS permissions are fixed, never rejected as a bad file
                security_event(
                    "s3.access_denied",
                    bucket=aws.bucket,
                    key=key,
                    error_code=_error_code(exc),
                    operation="read a raw object",
                )
                raise S3AccessDenied(
                    f"s3://{aws.bucket}/{key}: S3 refused the pipeline's credentials "
                    f"({_error_code(exc)}); not a bad file: fix the role's S3/KMS permissions, "
                    "the sensor reads it again on its next tick"
                ) from None
            reason = f"{type(exc).__name__}: {exc}"
            rejected.append(_reject(context, s3, aws, config, key, obj.get("ETag"), reason))
        else:
            etag = clean_etag(obj.get("ETag"))
            requests.append(
                dg.RunRequest(
                    run_key=version,
                    run_config={
                        "ops": {"normalize_and_load": {"config": {"key": key, "etag": etag}}}
                    },
                    tags={
                        RAW_KEY_TAG: key,
                        RAW_ETAG_TAG: etag,
                        "ons/dataset": dataset,
                        PRIORITY_TAG: INGEST_PRIORITY,
                    },
                )
            )
        cursor.advance(moment, key, upload)
    cursor.prune(lookback)
    if already:
        context.log.info(f"already ingested (same key and ETag), not run again: {already}")
    skip_reason = None
    if not requests:
        parts = ["no new raw object"]
        if already:
            parts = [f"{len(already)} object(s) unchanged since their run"]
        if rejected:
            parts.append(f"{len(rejected)} rejected: " + "; ".join(rejected))
        skip_reason = "; ".join(parts)
    return dg.SensorResult(run_requests=requests, cursor=cursor.dump(), skip_reason=skip_reason)


def _reject(
    context: dg.SensorEvaluationContext,
    s3: Any,
    aws: AwsResource,
    config: IngestSettings,
    key: str,
    etag: str | None,
    reason: str,
) -> str:
    where = ""
    try:
        report = write_rejection(
            s3, aws.bucket, aws.quarantine_prefix, aws.raw_prefix, key, clean_etag(etag), reason
        )
        where = f" (report s3://{aws.bucket}/{report})"
    except Exception as exc:  # the report is a courtesy: never let it stop the tick
        where = f" (report not written: {exc})"
    context.log.warning(f"skipped s3://{aws.bucket}/{key}: {reason}{where}")
    return f"{key}: {reason}"


@dg.sensor(
    name=RAW_SENSOR,
    job=ingest_raw_object_job,
    minimum_interval_seconds=settings.sensor_interval_s,
    default_status=_status(settings.sensor_running),
    description=(
        "New or changed ONS files under the raw prefix → one `ingest_raw_object` run each "
        "(run key = key@ETag). Interval: ONS_INGEST_SENSOR_INTERVAL seconds; default status: "
        "ONS_INGEST_SENSOR (running|stopped). Unusable objects are reported under "
        "`quarantine/objects/` and skipped."
    ),
)
def raw_files_sensor(context: dg.SensorEvaluationContext, aws: AwsResource) -> dg.SensorResult:
    return evaluate_raw_files(context, aws)


def touched_partitions(instance: dg.DagsterInstance, run_id: str) -> dict[str, list[str]]:
    """UTC day → tables whose ``influxdb/<table>`` partition an ingest run materialised."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    out: dict[str, set[str]] = {}
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is None or event.partition is None:
            continue
        table = loaded_table(event.asset_key)
        if table is not None:
            out.setdefault(event.partition, set()).add(table)
    return {day: sorted(names) for day, names in sorted(out.items())}


def verify_requests(
    run_id: str, touched: dict[str, list[str]], check_keys: list[dg.AssetCheckKey] | None
) -> list[dg.RunRequest]:
    requests = []
    for day, names in touched.items():
        assets = [influxdb_key(n) for n in names]
        checks = None
        if check_keys is not None:
            wanted = set(assets) | {parquet_key(n) for n in names}
            checks = sorted(
                (k for k in check_keys if k.asset_key in wanted), key=lambda k: k.to_user_string()
            )
        requests.append(
            dg.RunRequest(
                run_key=f"{run_id}:{day}",
                partition_key=day,
                asset_selection=assets,
                asset_check_keys=checks,
                tags={"ons/ingest_run": run_id, PRIORITY_TAG: VERIFY_PRIORITY},
            )
        )
    return requests


@dg.run_status_sensor(
    name=VERIFY_SENSOR,
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[ingest_raw_object_job],
    request_job=ingest_verify_job,
    minimum_interval_seconds=settings.sensor_interval_s,
    default_status=_status(settings.verify_running),
    description=(
        "After each successful ingest run, re-run the asset checks of every UTC day it touched "
        "(`influxdb/<table>` re-materialised from the merged Parquet partition). Default "
        "status: ONS_INGEST_VERIFY (running|stopped)."
    ),
)
def ingest_verify_sensor(context: dg.RunStatusSensorContext) -> Any:
    touched = touched_partitions(context.instance, context.dagster_run.run_id)
    check_keys = None
    repository = context.repository_def
    if repository is not None:
        check_keys = [
            key
            for key in repository.asset_graph.asset_check_keys
            if key.asset_key.path[0] in {PARQUET, INFLUXDB}
        ]
    return verify_requests(context.dagster_run.run_id, touched, check_keys)
