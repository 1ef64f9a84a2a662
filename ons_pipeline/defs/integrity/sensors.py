"""Notifications: a run-failure sensor and a completion sensor publishing to Amazon SNS.

Both run by default (``dagster dev`` / the daemon start them). The failure message names the job,
the partition, the tables of the failed steps and their errors (the innermost cause, not
Dagster's wrapper), and the failed asset checks with their findings (a blocking GX suite, an
exact verification naming the differing series). The completion message of a migration run gives
the tables, rows, points and verification results of the day.
"""

from typing import Any

import dagster as dg

from ons_pipeline.defs.keys import EXACT_VERIFICATION, loaded_table
from ons_pipeline.lib.ops.notify import RunNotification, StepError, publish, resolve_topic, table_of
from ons_pipeline.lib.schema import tables
from ons_pipeline.resources import MonitoringResource

MIGRATION_JOB_PREFIXES = ("migration", "migrate_", "__ASSET_JOB")


def _innermost(error: Any) -> str:
    while error is not None and getattr(error, "cause", None) is not None:
        error = error.cause
    if error is None:
        return ""
    return " ".join(str(error.message).split())[:1000]


def _records(instance: dg.DagsterInstance, run_id: str, kind: dg.DagsterEventType) -> list[Any]:
    return list(instance.get_records_for_run(run_id, of_type=kind).records)


def _checks(instance: dg.DagsterInstance, run_id: str, failed_only: bool) -> list[dict[str, Any]]:
    out = []
    for record in _records(instance, run_id, dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        event = record.event_log_entry.dagster_event
        evaluation = event.event_specific_data if event else None
        if evaluation is None or (failed_only and evaluation.passed):
            continue
        out.append(
            {
                "asset": evaluation.asset_key.to_user_string(),
                "check": evaluation.check_name,
                "partition": getattr(evaluation, "partition", None),
                "passed": evaluation.passed,
                "severity": getattr(evaluation.severity, "value", str(evaluation.severity)),
                "finding": (evaluation.description or "")[:1500],
            }
        )
    return out


def _tables_of_run(run: dg.DagsterRun, steps: list[str]) -> list[str]:
    names = list(tables())
    found: list[str] = []
    selection = getattr(run, "asset_selection", None) or set()
    for key in selection:
        name = key.path[-1]
        if name in names and name not in found:
            found.append(name)
    if run.job_name.startswith("migrate_") and run.job_name[len("migrate_") :] in names:
        found.append(run.job_name[len("migrate_") :])
    for step in steps:
        name = table_of(step, names)
        if name and name not in found:
            found.append(name)
    return sorted(set(found))


def failure_notification(context: dg.RunFailureSensorContext) -> RunNotification:
    run = context.dagster_run
    steps = []
    for event in context.get_step_failure_events():
        error = event.event_specific_data.error if event.event_specific_data else None  # type: ignore[union-attr]
        steps.append(
            StepError(
                step=event.step_key or "",
                table=table_of(event.step_key or "", list(tables())),
                error=_innermost(error),
            )
        )
    checks = _checks(context.instance, run.run_id, failed_only=True)
    run_error = context.failure_event.message if context.failure_event else None
    error = checks[0]["finding"] if checks else (steps[0].error if steps else run_error)
    return RunNotification(
        event="failure",
        job=run.job_name,
        run_id=run.run_id,
        partition=run.tags.get("dagster/partition"),
        tables=_tables_of_run(run, [s.step for s in steps]),
        error=error,
        steps=steps,
        checks=checks,
    )


def completion_notification(context: dg.RunStatusSensorContext) -> RunNotification:
    run = context.dagster_run
    rows = points = 0
    loaded: list[str] = []
    for record in _records(context.instance, run.run_id, dg.DagsterEventType.ASSET_MATERIALIZATION):
        materialization = record.asset_materialization
        table = loaded_table(materialization.asset_key) if materialization else None
        if materialization is None or table is None:
            continue
        loaded.append(table)
        meta = materialization.metadata
        rows += int(getattr(meta.get("rows"), "value", 0) or 0)
        points += int(getattr(meta.get("points"), "value", 0) or 0)
    checks = _checks(context.instance, run.run_id, failed_only=False)
    verified = [c for c in checks if c["check"] == EXACT_VERIFICATION]
    return RunNotification(
        event="completed",
        job=run.job_name,
        run_id=run.run_id,
        partition=run.tags.get("dagster/partition"),
        tables=sorted(set(loaded)) or _tables_of_run(run, []),
        figures={
            "rows": rows,
            "points": points,
            "tables loaded": len(set(loaded)),
            "partitions verified exactly": sum(1 for c in verified if c["passed"]),
            "verification mismatches": sum(1 for c in verified if not c["passed"]),
            "GX warnings": sum(1 for c in checks if not c["passed"]),
        },
    )


def _send(context: Any, monitoring: MonitoringResource, note: RunNotification) -> str | None:
    sns = monitoring.aws.client("sns")
    topic = resolve_topic(
        sns, local=monitoring.aws.is_local, arn=monitoring.settings.notification_topic_arn
    )
    if topic is None:
        context.log.warning("no SNS topic: set ONS_SNS_TOPIC_ARN to receive notifications")
        return None
    message_id = publish(sns, topic, note)
    context.log.info(f"published to {topic}: {note.subject} ({message_id})")
    return message_id


@dg.run_failure_sensor(
    name="migration_failure_notification",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Publishes every failed run (job, partition, tables, errors, failed checks) to "
    "SNS ($ONS_SNS_TOPIC_ARN).",
)
def migration_failure_notification(
    context: dg.RunFailureSensorContext, monitoring: MonitoringResource
) -> None:
    _send(context, monitoring, failure_notification(context))


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="migration_completion_notification",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Publishes each completed migration run (tables, partition, rows, points, "
    "verification) to SNS ($ONS_SNS_TOPIC_ARN).",
)
def migration_completion_notification(
    context: dg.RunStatusSensorContext, monitoring: MonitoringResource
) -> dg.SkipReason | None:
    if not context.dagster_run.job_name.startswith(MIGRATION_JOB_PREFIXES):
        return dg.SkipReason(f"{context.dagster_run.job_name} is not a migration job")
    _send(context, monitoring, completion_notification(context))
    return None


def integrity_sensors() -> list[dg.SensorDefinition]:
    return [migration_failure_notification, migration_completion_notification]
