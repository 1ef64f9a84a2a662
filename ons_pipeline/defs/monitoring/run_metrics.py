"""Pipeline metrics after every run: figures from the load assets' materialization (or failure)
metadata and the run's data checks, published to CloudWatch, alerted on SNS and recorded as an
observation of the ``pipeline_metrics`` asset."""

import time
from collections.abc import Mapping
from typing import Any

import dagster as dg

from ons_pipeline.defs.keys import loaded_table
from ons_pipeline.defs.monitoring.health import DEFAULT_STATUS, MONITORING, newest_loaded_until
from ons_pipeline.lib.ops.monitoring import (
    STANDING_RUN_ALERTS,
    AlertState,
    LoadFigures,
    RunMetrics,
    evaluate_run,
    load_lag_seconds,
)
from ons_pipeline.resources import MonitoringResource

PIPELINE_METRICS_KEY = dg.AssetKey("pipeline_metrics")
_RUN_ALERT_STATE = "ons_pipeline/monitoring/run_alert_state"
_EVENT_TYPES = {
    dg.DagsterEventType.ASSET_MATERIALIZATION,
    dg.DagsterEventType.ASSET_OBSERVATION,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
}

pipeline_metrics = dg.AssetSpec(
    key=PIPELINE_METRICS_KEY,
    group_name=MONITORING,
    kinds={"cloudwatch"},
    description=(
        "What each pipeline run published to CloudWatch (namespace ONS/Pipeline, dimension "
        "Environment): PointsPerSecond, PointsLoaded, BatchLatencySeconds, WriteRetries, "
        "FailedBatches, CheckFailures, RunFailures, LoadLagSeconds. Recorded as observations by "
        "the run-status sensors."
    ),
)


def _plain(metadata: Mapping[str, Any]) -> dict[str, Any]:
    return {key: getattr(value, "value", value) for key, value in metadata.items()}


def _table_of_step(step_key: str | None) -> str | None:
    """The table a migration step (``<table>_migration``) works on."""
    suffix = "_migration"
    if step_key and step_key.endswith(suffix):
        return step_key[: -len(suffix)]
    return None


def collect_run_metrics(instance: dg.DagsterInstance, run: dg.DagsterRun) -> RunMetrics:
    """The load figures and check results in ``run``'s event log: a loaded day is a
    materialization of its InfluxDB asset, a failed load an observation of it (with the same
    figures), and a step that failed before loading anything a failed load without figures."""
    metrics = RunMetrics(run_id=run.run_id, job_name=run.job_name)
    partition = run.tags.get("dagster/partition")
    for entry in instance.all_logs(run.run_id, of_type=_EVENT_TYPES):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type in (
            dg.DagsterEventType.ASSET_MATERIALIZATION,
            dg.DagsterEventType.ASSET_OBSERVATION,
        ):
            record = entry.asset_materialization or entry.asset_observation
            table = loaded_table(record.asset_key if record else None)
            if record is None or table is None:
                continue
            failed = event.event_type == dg.DagsterEventType.ASSET_OBSERVATION
            if failed and "failed batches" not in record.metadata:
                continue  # not a load (e.g. a rollback's record)
            metrics.loads.append(
                LoadFigures.from_metadata(
                    table,
                    record.partition,
                    _plain(record.metadata),
                    succeeded=not failed,
                    error=record.description if failed else None,
                )
            )
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
            table = _table_of_step(event.step_key)
            if table is None or any(load.table == table for load in metrics.loads):
                continue
            data = event.step_failure_data
            error = data.error.message.strip().splitlines()[0] if data and data.error else None
            metrics.loads.append(
                LoadFigures.from_metadata(table, partition, {}, succeeded=False, error=error)
            )
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = entry.asset_check_evaluation
            if evaluation is not None:
                metrics.checks += 1
                metrics.check_failures += 0 if evaluation.passed else 1
    return metrics


def _standing_state(instance: dg.DagsterInstance) -> AlertState:
    try:
        values = instance.run_storage.get_cursor_values({_RUN_ALERT_STATE})
    except Exception:  # storage without a key-value table: no de-duplication
        return AlertState()
    return AlertState.from_json(values.get(_RUN_ALERT_STATE))


def _save_standing_state(instance: dg.DagsterInstance, state: AlertState) -> None:
    try:
        instance.run_storage.set_cursor_values({_RUN_ALERT_STATE: state.to_json()})
    except Exception as exc:
        dg.get_dagster_logger().warning(f"could not save the run alert state: {exc}")


def emit_run_metrics(
    context: dg.RunStatusSensorContext, monitoring: MonitoringResource
) -> dg.SkipReason | None:
    """Publish the figures of the run that triggered ``context``."""
    run = context.dagster_run
    metrics = collect_run_metrics(context.instance, run)
    if not metrics.loads and not metrics.checks:
        return dg.SkipReason(f"run {run.run_id} loaded nothing into InfluxDB and ran no check")
    metrics.run_failed = run.status == dg.DagsterRunStatus.FAILURE
    metrics.load_lag_seconds = load_lag_seconds(newest_loaded_until(context.instance))
    limits = monitoring.thresholds()
    published = monitoring.publish_metrics(metrics.metrics(limits), context.log)
    alerts = evaluate_run(metrics, limits)
    events = [a for a in alerts if a.key not in STANDING_RUN_ALERTS]
    state = _standing_state(context.instance)
    standing, cleared = state.update(
        [a for a in alerts if a.key in STANDING_RUN_ALERTS], time.time(), limits.realert_seconds
    )
    sent = monitoring.send_alerts(events + standing, f"run {run.run_id}", context.log, cleared)
    _save_standing_state(context.instance, state)
    context.instance.report_runless_asset_event(
        dg.AssetObservation(
            asset_key=PIPELINE_METRICS_KEY,
            metadata={
                **{k: v for k, v in metrics.summary().items() if v is not None},
                "tables": sorted({f"{x.table} {x.partition}" for x in metrics.loads}),
                "metrics published": published,
                "alerts": sent,
            },
        )
    )
    context.log.info(f"pipeline metrics of run {run.run_id}: {metrics.summary()}")
    return None


@dg.run_status_sensor(
    name="pipeline_metrics_on_success",
    run_status=dg.DagsterRunStatus.SUCCESS,
    default_status=DEFAULT_STATUS,
    description="After a successful run: load figures and check results to CloudWatch and SNS.",
)
def pipeline_metrics_on_success(
    context: dg.RunStatusSensorContext, monitoring: MonitoringResource
) -> dg.SkipReason | None:
    return emit_run_metrics(context, monitoring)


@dg.run_failure_sensor(
    name="pipeline_metrics_on_failure",
    default_status=DEFAULT_STATUS,
    description=(
        "After a failed run: failed batches, failed loads and check results to CloudWatch, "
        "alerts to SNS."
    ),
)
def pipeline_metrics_on_failure(
    context: dg.RunFailureSensorContext, monitoring: MonitoringResource
) -> dg.SkipReason | None:
    return emit_run_metrics(context, monitoring)
