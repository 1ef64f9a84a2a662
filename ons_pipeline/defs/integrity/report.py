"""The migration report and the query-equivalence (dual-read) assets.

``reports/migration`` gathers, per table, the partitions done/failed/pending (from the load
asset's materializations and failures, rollbacks honoured), rows and points, exact verification
results and checksums, GX results, coverage and gaps, and the failed batches waiting in the
dead-letter store; it is shown as Markdown in the UI and written to S3
(``reports/migration-report.md``, plus a timestamped copy) and, if configured, to a local file.

``reports/query_equivalence`` runs the platform's Timestream SQL query shapes on DuckDB over the
exported Parquet and as InfluxQL on InfluxDB, and compares the answers (the check to pass before
switching read traffic); its latest result is included in the migration report.

``reports/storage`` reads back the retention of every group of measurements and the series
cardinality of every measurement (raw and rollups) and tag; its latest result is included too.
"""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from ons_pipeline.defs.keys import (
    EXACT_VERIFICATION,
    GX_PLAUSIBILITY,
    GX_STRUCTURE,
    influxdb_key,
    parquet_key,
)
from ons_pipeline.defs.partitions import MIGRATION_START, daily_partitions
from ons_pipeline.defs.state import loaded_partitions
from ons_pipeline.environment import load_settings
from ons_pipeline.lib.influx.retention import markdown as retention_markdown
from ons_pipeline.lib.influx.retention import read_retention
from ons_pipeline.lib.integrity.cardinality import Target, measure
from ons_pipeline.lib.integrity.cardinality import markdown as cardinality_markdown
from ons_pipeline.lib.integrity.report import (
    DONE,
    FAILED,
    RUNNING,
    DeadLetterSummary,
    MigrationReport,
    PartitionStatus,
    TableStatus,
    render_markdown,
)
from ons_pipeline.lib.migration.deadletter import DeadLetterStore, S3DeadLetterStore
from ons_pipeline.lib.migration.loader import LoadReport
from ons_pipeline.lib.ons_time import day_range
from ons_pipeline.lib.partitions import ParquetStore
from ons_pipeline.lib.rollup.spec import LEVELS, rollup_tables
from ons_pipeline.lib.schema import TableSpec, tables
from ons_pipeline.resources import AwsResource, InfluxDBResource

REPORTS = "reports"
REPORT_KEY = dg.AssetKey([REPORTS, "migration"])
EQUIVALENCE_KEY = dg.AssetKey([REPORTS, "query_equivalence"])
STORAGE_KEY = dg.AssetKey([REPORTS, "storage"])
REPORT_OBJECT = "reports/migration-report.md"
MAX_ERROR_LOOKUPS = 50
HISTORY = 10_000


class ReportConfig(dg.Config):
    first_day: str | None = Field(
        default=None, description="First day (YYYY-MM-DD); default: the first day with activity."
    )
    last_day: str | None = Field(
        default=None, description="Last day (YYYY-MM-DD); default: the last day with activity."
    )
    path: str | None = Field(
        default=None,
        description="Also write the report to this file (default $ONS_REPORT_PATH).",
    )


def _latest_checks(
    instance: dg.DagsterInstance, key: dg.AssetCheckKey
) -> dict[str, tuple[bool, dict[str, Any], str]]:
    """Per partition: (passed, metadata, description) of the latest evaluation of a check."""
    latest: dict[str, tuple[int, bool, dict[str, Any], str]] = {}
    records = instance.event_log_storage.get_asset_check_execution_history(key, limit=HISTORY)
    for record in records:
        event = record.event.dagster_event if record.event else None
        evaluation = event.event_specific_data if event else None
        partition = getattr(evaluation, "partition", None) or record.partition
        if evaluation is None or partition is None or not hasattr(evaluation, "passed"):
            continue
        if partition in latest and latest[partition][0] > record.id:
            continue
        metadata = {k: getattr(v, "value", v) for k, v in evaluation.metadata.items()}
        latest[partition] = (record.id, bool(evaluation.passed), metadata, evaluation.description)
    return {p: (ok, meta, text or "") for p, (_, ok, meta, text) in latest.items()}


def _latest_metadata(
    instance: dg.DagsterInstance, key: dg.AssetKey, days: list[str]
) -> dict[str, dict[str, Any]]:
    out: dict[str, tuple[int, dict[str, Any]]] = {}
    cursor = None
    while True:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=days),
            limit=HISTORY,
            cursor=cursor,
        )
        for record in page.records:
            event = record.asset_materialization
            if event is None or event.partition is None:
                continue
            if event.partition in out and out[event.partition][0] > record.storage_id:
                continue
            meta = {k: getattr(v, "value", v) for k, v in event.metadata.items()}
            out[event.partition] = (record.storage_id, meta)
        if not page.has_more:
            break
        cursor = page.cursor
    return {p: m for p, (_, m) in out.items()}


def _run_error(instance: dg.DagsterInstance, day: str, table: str) -> str | None:
    runs = instance.get_runs(
        filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.FAILURE], tags={"dagster/partition": day}
        ),
        limit=5,
    )
    for run in runs:
        records = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE
        ).records
        for record in records:
            event = record.event_log_entry.dagster_event
            step = event.step_key if event else ""
            if event is None or table not in (step or ""):
                continue
            error = event.event_specific_data.error  # type: ignore[union-attr]
            while error is not None and error.cause is not None:
                error = error.cause
            if error is not None:
                return f"{step}: {error.message.strip().splitlines()[0]}"
    return None


def table_status(
    instance: dg.DagsterInstance,
    spec: TableSpec,
    days: list[str],
    store: DeadLetterStore | None,
) -> TableStatus:
    key = influxdb_key(spec.name)
    done = loaded_partitions(instance, spec.name, days)
    statuses = instance.get_status_by_partition(key, days, daily_partitions) or {}
    metadata = _latest_metadata(instance, key, days)
    verified = _latest_checks(instance, dg.AssetCheckKey(key, EXACT_VERIFICATION))
    structure = _latest_checks(instance, dg.AssetCheckKey(parquet_key(spec.name), GX_STRUCTURE))
    plausible = _latest_checks(instance, dg.AssetCheckKey(parquet_key(spec.name), GX_PLAUSIBILITY))
    partitions: list[PartitionStatus] = []
    lookups = 0
    for day in days:
        status = PartitionStatus(day)
        raw = statuses.get(day)
        name = getattr(raw, "value", str(raw or "")).upper()
        if day in done:
            status.state = DONE
            load = LoadReport.from_metadata(spec.name, day, metadata.get(day, {}))
            status.rows, status.points = load.rows, load.points
        elif "FAILED" in name:
            status.state = FAILED
        elif "IN_PROGRESS" in name:
            status.state = RUNNING
        if day in verified:
            ok, meta, text = verified[day]
            status.verified = ok
            status.checksum = str(meta.get("influxdb checksum") or "") or None
            if not ok:
                status.error = text.splitlines()[0] if text else None
        if day in structure:
            ok, _, text = structure[day]
            status.gx_passed = ok
            if not ok and status.state != DONE:
                status.state = FAILED
                status.error = f"blocking GX check failed — {' '.join(text.split())[:250]}"
        if day in plausible:
            status.gx_warnings = _int(plausible[day][1].get("failed expectations")) or 0
        if status.state == FAILED and status.error is None and lookups < MAX_ERROR_LOOKUPS:
            lookups += 1
            status.error = _run_error(instance, day, spec.name)
        partitions.append(status)
    dead = []
    if store is not None:
        grouped: dict[str, list[Any]] = {}
        try:
            entries = store.list(table=spec.name)
        except Exception as exc:  # the report must render even if the store is unreachable
            entries = []
            dead.append(DeadLetterSummary("?", 0, 0, f"dead-letter store unreadable: {exc}"))
        for entry in entries:
            grouped.setdefault(entry.partition, []).append(entry)
        for partition, entries in sorted(grouped.items()):
            dead.append(
                DeadLetterSummary(
                    partition=partition,
                    batches=len(entries),
                    lines=sum(e.lines for e in entries),
                    error=f"{entries[0].error_class}: {entries[0].error_message}",
                )
            )
    return TableStatus(spec.name, spec.measurement, partitions, dead)


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def activity_range(instance: dg.DagsterInstance, specs: list[TableSpec]) -> tuple[date, date]:
    """First and last day any table's load or export was attempted (default report window)."""
    days: set[str] = set()
    for spec in specs:
        for key in (influxdb_key(spec.name), parquet_key(spec.name)):
            statuses = instance.get_status_by_partition(
                key, daily_partitions.get_partition_keys(), daily_partitions
            )
            days |= {d for d, s in (statuses or {}).items() if s is not None}
    if not days:
        today = datetime.now(UTC).date()
        return today, today
    return date.fromisoformat(min(days)), date.fromisoformat(max(days))


def gather_report(
    instance: dg.DagsterInstance,
    specs: list[TableSpec],
    first: date | None,
    last: date | None,
    store: DeadLetterStore | None,
) -> MigrationReport:
    if first is None or last is None:
        lo, hi = activity_range(instance, specs)
        first, last = first or lo, last or hi
    first = max(first, date.fromisoformat(MIGRATION_START))
    last = max(last, first)
    days = [d.isoformat() for d in day_range(first, last)]
    statuses = [table_status(instance, spec, days, store) for spec in specs]
    report = MigrationReport(datetime.now(UTC), first, last, statuses)
    report.equivalence = _latest_result(instance, EQUIVALENCE_KEY)
    report.storage = _latest_result(instance, STORAGE_KEY)
    return report


def _latest_result(instance: dg.DagsterInstance, key: dg.AssetKey) -> str | None:
    """The ``result`` Markdown of an asset's latest materialization."""
    latest = instance.get_latest_materialization_event(key)
    if latest is None or latest.asset_materialization is None:
        return None
    value = latest.asset_materialization.metadata.get("result")
    return None if value is None else str(getattr(value, "value", value))


@dg.asset(
    key=REPORT_KEY,
    group_name=REPORTS,
    kinds={"markdown", "s3"},
    description=(
        "Migration report per table: partitions done/failed/pending, rows and points, exact "
        "verification (checksums matched), GX results, coverage and gaps, failed batches in the "
        "dead-letter store, latest query-equivalence result. Markdown here and on S3 "
        f"(`{REPORT_OBJECT}`)."
    ),
)
def migration_report(
    context: dg.AssetExecutionContext, config: ReportConfig, aws: AwsResource
) -> dg.MaterializeResult:
    s3 = aws.client("s3")
    store = S3DeadLetterStore(aws.bucket, aws.deadletter_prefix, client=s3)
    report = gather_report(
        context.instance,
        list(tables().values()),
        date.fromisoformat(config.first_day) if config.first_day else None,
        date.fromisoformat(config.last_day) if config.last_day else None,
        store,
    )
    text = render_markdown(report)
    stamp = report.generated_at.strftime("%Y%m%dT%H%M%SZ")
    body = text.encode()
    for key in (REPORT_OBJECT, f"reports/migration-report-{stamp}.md"):
        s3.put_object(
            Bucket=aws.bucket, Key=key, Body=body, ContentType="text/markdown; charset=utf-8"
        )
    metadata: dict[str, Any] = {
        "report": dg.MetadataValue.md(text),
        "s3": dg.MetadataValue.url(f"s3://{aws.bucket}/{REPORT_OBJECT}"),
        "window": f"{report.first_day} … {report.last_day}",
        **{k: dg.MetadataValue.int(v) for k, v in report.figures().items()},
    }
    path = config.path or load_settings().report_path
    if path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        metadata["path"] = dg.MetadataValue.path(str(target.resolve()))
    context.log.info(f"migration report: {report.figures()}")
    return dg.MaterializeResult(metadata=metadata)


def storage_targets(database_policy: str | None) -> list[Target]:
    """Every raw measurement and every rollup level, with the series the mapping expects."""
    targets = [
        Target(spec.measurement, database_policy, spec.series, "raw") for spec in tables().values()
    ]
    for rt in rollup_tables().values():
        for level in LEVELS:
            policy = rt.policy or database_policy
            targets.append(
                Target(rt.measurement(level), policy, rt.source.series, f"rollup {level}")
            )
    return targets


@dg.asset(
    key=STORAGE_KEY,
    group_name=REPORTS,
    kinds={"influxdb", "markdown"},
    description=(
        "Storage design checked on InfluxDB: the retention each group of measurements is kept "
        "for (declared vs read back), and series cardinality per measurement and per tag "
        "(`SHOW SERIES` / `SHOW SERIES CARDINALITY` / `SHOW TAG VALUES`): whether the mapping's "
        "descriptive tags follow from the identifying one and add no series. Included in the "
        "migration report."
    ),
)
def storage_report(
    context: dg.AssetExecutionContext, influxdb: InfluxDBResource
) -> dg.MaterializeResult:
    settings = load_settings().retention
    policy = influxdb.connection.get("retention_policy") or None
    with influxdb.client() as client:
        statuses = read_retention(client, settings.groups(), database=influxdb.database)
        figures = measure(client, storage_targets(policy), influxdb.database)
    text = (
        "### Retention\n\n"
        + retention_markdown(statuses)
        + "\n\n### Series cardinality\n\n"
        + cardinality_markdown(figures)
    )
    flagged = [f for f in figures if f.series is not None and f.dependent is False]
    context.log.info(f"storage: {len(figures)} measurements, {len(flagged)} with multiplying tags")
    return dg.MaterializeResult(
        metadata={
            "result": dg.MetadataValue.md(text),
            "retention": dg.MetadataValue.json([s.to_dict() for s in statuses]),
            "cardinality": dg.MetadataValue.json([f.to_dict() for f in figures]),
            "series (raw)": dg.MetadataValue.int(
                sum(f.series or 0 for f in figures if f.target.kind == "raw")
            ),
            "measurements with multiplying tags": dg.MetadataValue.int(len(flagged)),
        }
    )


class EquivalenceConfig(dg.Config):
    tables: list[str] = Field(default_factory=list, description="Tables (default: every table).")
    first_day: str | None = Field(default=None, description="First day (default: last_day - 2).")
    last_day: str | None = Field(
        default=None, description="Last day (default: the latest day loaded for every table)."
    )


def _default_last_day(instance: dg.DagsterInstance, names: list[str]) -> date:
    latest: date | None = None
    for name in names:
        keys = instance.get_materialized_partitions(influxdb_key(name))
        if not keys:
            continue
        day = date.fromisoformat(max(keys))
        latest = day if latest is None else min(latest, day)
    return latest or datetime.now(UTC).date()


@dg.asset(
    key=EQUIVALENCE_KEY,
    group_name=REPORTS,
    kinds={"duckdb", "influxdb"},
    description=(
        "Dual-read check before switching traffic: the platform's Timestream SQL query shapes "
        "(bin(time) aggregates per subsystem, filters, max/min/avg/sum/count, top-N, raw "
        "selections) run by DuckDB over the exported Parquet and as InfluxQL on InfluxDB; "
        "counts/min/max/raw values must be identical, sums and means within the proven "
        "floating-point summation bound."
    ),
)
def query_equivalence(
    context: dg.AssetExecutionContext,
    config: EquivalenceConfig,
    aws: AwsResource,
    influxdb: InfluxDBResource,
) -> dg.MaterializeResult:
    from ons_pipeline.lib.integrity.equivalence import compare_days

    names = config.tables or list(tables())
    last = (
        date.fromisoformat(config.last_day)
        if config.last_day
        else _default_last_day(context.instance, names)
    )
    first = date.fromisoformat(config.first_day) if config.first_day else last - timedelta(2)
    with influxdb.client() as client:
        report = compare_days(
            ParquetStore.of(aws),
            client,
            names,
            first,
            last,
            {"ons": aws.timestream_database, "legacy": aws.timestream_legacy_database},
            influxdb.database,
        )
    context.log.info(report.summary())
    metadata = {
        "result": dg.MetadataValue.md(report.markdown()),
        "query shapes": dg.MetadataValue.int(len(report.results)),
        "identical": dg.MetadataValue.int(len(report.results) - len(report.failed)),
        "failed": dg.MetadataValue.int(len(report.failed)),
        "window": f"{first} … {last}",
        "details": dg.MetadataValue.json([r.to_dict() for r in report.results]),
    }
    if not report.ok:
        raise dg.Failure(
            description=f"{len(report.failed)} query shape(s) differ:\n"
            + "\n".join(r.describe() for r in report.failed[:10]),
            metadata=metadata,
        )
    return dg.MaterializeResult(metadata=metadata)
