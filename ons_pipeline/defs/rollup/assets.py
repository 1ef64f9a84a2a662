"""Rollup assets and the retention asset (thin wrappers over ``ons_pipeline.lib.rollup`` and
``ons_pipeline.lib.influx.retention``).

* ``rollup/<table>``: one partition per local day (the key is the local date), computed from the
  raw Parquet partitions of every UTC day it overlaps, which is why it depends on those days of
  ``influxdb/<table>`` (for Brasília, the day and the next one). Loaded into
  ``<measurement>_1d``, verified exactly (check ``exact_verification``, blocking) and kept on S3.
* ``rollup_monthly/<table>``: one partition per local month, from the month's daily rollups.

Kept in step by an automation condition: a day of ``influxdb/<table>`` loaded again (a re-run,
a corrected file through continuous loading) makes the local days that read it stale, and their
month after them; the ``rollups_in_step`` sensor requests them (any partition, not only the
latest), once every day they read is there. No continuous query runs on the server: every rollup
is a materialisation the UI shows, with its check.
"""

import hashlib
import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, timedelta
from functools import partial
from typing import Any

import dagster as dg

from ons_pipeline.defs.keys import (
    EXACT_VERIFICATION,
    INFLUXDB,
    RETENTION_KEY,
    ROLLUP,
    influxdb_key,
    rollup_key,
    rollup_monthly_key,
)
from ons_pipeline.defs.migration.checks import verification_metadata
from ons_pipeline.defs.partitions import daily_partitions, monthly_partitions
from ons_pipeline.defs.state import day_states
from ons_pipeline.environment import load_settings
from ons_pipeline.lib.influx.client import InfluxClient
from ons_pipeline.lib.influx.retention import apply_retention, markdown
from ons_pipeline.lib.partitions import ParquetStore
from ons_pipeline.lib.rollup.build import roll_days, roll_months
from ons_pipeline.lib.rollup.publish import Published, RollupPublishError
from ons_pipeline.lib.rollup.spec import DAY, MONTH, RollupTable, partition_offsets, rollup_tables
from ons_pipeline.lib.rollup.store import RollupStore
from ons_pipeline.lib.schema import rollup_config
from ons_pipeline.lib.settings import RetentionSettings
from ons_pipeline.resources import AwsResource, InfluxDBResource

# Any partition (not only the latest) whose upstream days were loaded again. (Rollups read the
# Parquet partitions, the source every load is verified against, never a failed load's points.)
IN_STEP = (
    dg.AutomationCondition.eager()
    .without(dg.AutomationCondition.in_latest_time_window())
    .with_label("in step with the days it reads")
)


def _retention(group: str) -> str:
    g = load_settings().retention.group(group)
    return f"{g.name}: {g.policy or 'default policy'}, {g.duration}"


def rollup_client(influxdb: InfluxDBResource, rt: RollupTable) -> InfluxClient:
    """A client that writes to and reads from the rollups' retention policy."""
    if rt.policy is None:
        return influxdb.client()
    return replace(
        influxdb, connection={**influxdb.connection, "retention_policy": rt.policy}
    ).client()


def ensure_policy(client: InfluxClient, database: str) -> None:
    """Create (or lengthen) the rollup group's retention policy before writing to it."""
    settings = load_settings().retention
    group = settings.group(_group_name())
    statuses = apply_retention(
        client, [group], database=database, allow_shorten=settings.allow_shorten
    )
    refused = [s for s in statuses if s.action == "refused"]
    if refused:
        raise dg.Failure(description=refused[0].note)


def _group_name() -> str:
    return rollup_config().retention


def _check_spec(key: dg.AssetKey, partitions: dg.PartitionsDefinition, level: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)  # partitioned checks are in preview
        return dg.AssetCheckSpec(
            EXACT_VERIFICATION,
            asset=key,
            blocking=True,
            partitions_def=partitions,
            description=(
                f"Exact verification of the {level} rollup points read back from InfluxDB "
                "against the rollup computed: points per series and an order-independent "
                "checksum over every stat, bit-exact. The bucket is marked covered (and read by "
                "the query layer) only after it passes."
            ),
        )


def _events(
    key: dg.AssetKey, rt: RollupTable, level: str, published: list[Published], database: str
) -> Iterator[Any]:
    for p in published:
        partition = p.bucket.key.isoformat()
        v = p.verification
        if v.ok:
            yield dg.AssetMaterialization(
                asset_key=key,
                partition=partition,
                metadata={
                    "points": dg.MetadataValue.int(p.points),
                    "source values": dg.MetadataValue.int(p.source_values),
                    "measurement": rt.measurement(level),
                    "retention policy": rt.policy or "(default)",
                    "database": database,
                    "window (UTC)": str(p.bucket.window),
                    "checksum": v.influx_checksum,
                },
            )
        yield dg.AssetCheckEvaluation(
            asset_key=key,
            check_name=EXACT_VERIFICATION,
            passed=v.ok,
            partition=partition,
            severity=dg.AssetCheckSeverity.ERROR,
            blocking=True,
            description=v.summary()[:2000],
            metadata=verification_metadata(v),
        )


def _run(
    context: dg.AssetExecutionContext,
    key: dg.AssetKey,
    rt: RollupTable,
    level: str,
    influxdb: InfluxDBResource,
    publish: Callable[..., list[Published]],
) -> Iterator[Any]:
    """Publish one level's buckets (``publish(client, database=, batch_lines=, progress=)``, as
    :func:`roll_days` and :func:`roll_months` take them) and report each bucket's events."""
    with rollup_client(influxdb, rt) as client:
        ensure_policy(client, influxdb.database)
        try:
            published = publish(
                client,
                database=influxdb.database,
                batch_lines=influxdb.batch_lines,
                progress=context.log.debug,
            )
        except RollupPublishError as error:
            yield from _events(key, rt, level, error.published, influxdb.database)
            raise dg.Failure(description=str(error)[:4000]) from error
    yield from _events(key, rt, level, published, influxdb.database)
    context.log.info(
        f"{rt.measurement(level)}: {len(published)} bucket(s), "
        f"{sum(p.points for p in published):,} points published and covered"
    )


def refuse_days_influxdb_lacks(
    instance: dg.DagsterInstance, rt: RollupTable, local_days: list[date]
) -> None:
    """Rollups are computed from the Parquet partitions: a UTC day those local days read that
    was rolled back (or whose newest exact verification failed) holds other points in InfluxDB,
    so its rollup would answer for points the raw measurement does not have."""
    before, after = partition_offsets(rt.timezone)
    utc_days = sorted(
        {(d + timedelta(days=k)).isoformat() for d in local_days for k in range(before, after + 1)}
    )
    states = day_states(instance, rt.table, utc_days)
    rolled = [d for d, st in states.items() if st.rolled_back_at is not None and not st.loaded]
    failed = [d for d, st in states.items() if st.verified is False]
    if rolled or failed:
        reasons = ([f"rolled back: {', '.join(rolled)}"] if rolled else []) + (
            [f"failed their exact verification: {', '.join(failed)}"] if failed else []
        )
        raise dg.Failure(
            description=(
                f"{rt.table}: not rolled up, the UTC days it reads differ in InfluxDB from their "
                f"Parquet partitions ({'; '.join(reasons)}); `ons-pipeline migrate` loads them "
                "again, then the rollups can be built"
            )
        )


def build_daily_rollup(rt: RollupTable) -> dg.AssetsDefinition:
    key = rollup_key(rt.table)
    start, end = partition_offsets(rt.timezone)
    spec = rt.level_spec(DAY)
    migration = load_settings().migration
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        # the newest local day reads a UTC day not loaded yet: it waits (or fails if forced)
        mapping = dg.TimeWindowPartitionMapping(
            start_offset=start, end_offset=end, allow_nonexistent_upstream_partitions=True
        )

    @dg.multi_asset(
        name=f"{rt.table}_rollup_daily",
        specs=[
            dg.AssetSpec(
                key,
                deps=[dg.AssetDep(influxdb_key(rt.table), partition_mapping=mapping)],
                partitions_def=daily_partitions,
                group_name=ROLLUP,
                kinds={"influxdb", "parquet"},
                skippable=True,
                automation_condition=IN_STEP,
                description=(
                    f"Daily rollups of `{rt.table}`: per series and local day ({rt.timezone}; the "
                    f"partition key is the local date), for every field the count, sum, mean, "
                    f"min, max and the times of min and max, in measurement `{spec.measurement}`."
                    " Computed with Arrow from the raw Parquet partitions of the UTC days the "
                    "local day overlaps, loaded, verified exactly, kept on S3 for the monthly "
                    "level, then marked covered for the query layer."
                ),
                metadata={
                    "measurement": spec.measurement,
                    "retention": _retention(_group_name()),
                    "time zone": rt.timezone,
                    "fields": ", ".join(f.name for f in rt.fields),
                },
            )
        ],
        check_specs=[_check_spec(key, daily_partitions, "daily")],
        can_subset=True,
        backfill_policy=dg.BackfillPolicy.multi_run(migration.days_per_run(rt.source.rows_per_day)),
        description=f"Roll up the local days of `{rt.table}`.",
    )
    def daily(
        context: dg.AssetExecutionContext, aws: AwsResource, influxdb: InfluxDBResource
    ) -> Iterator[Any]:
        days = [date.fromisoformat(k) for k in context.partition_keys]
        refuse_days_influxdb_lacks(context.instance, rt, days)
        s3 = aws.client("s3")
        parquet = ParquetStore.of(aws, s3)
        store = RollupStore(s3, aws.bucket, aws.parquet_prefix)
        publish = partial(roll_days, parquet=parquet, rollups=store, rt=rt, days=days)
        yield from _run(context, key, rt, DAY, influxdb, publish)

    return daily


def build_monthly_rollup(rt: RollupTable) -> dg.AssetsDefinition:
    key = rollup_monthly_key(rt.table)
    spec = rt.level_spec(MONTH)

    @dg.multi_asset(
        name=f"{rt.table}_rollup_monthly",
        specs=[
            dg.AssetSpec(
                key,
                deps=[rollup_key(rt.table)],
                partitions_def=monthly_partitions,
                group_name=ROLLUP,
                kinds={"influxdb"},
                skippable=True,
                automation_condition=IN_STEP,
                description=(
                    f"Monthly rollups of `{rt.table}` per series and local month, in measurement "
                    f"`{spec.measurement}`: combined from the month's daily rollups (counts and "
                    "sums added, extremes of extremes with their first time, mean = sum / "
                    "count), verified exactly, then marked covered."
                ),
                metadata={
                    "measurement": spec.measurement,
                    "retention": _retention(_group_name()),
                    "time zone": rt.timezone,
                },
            )
        ],
        check_specs=[_check_spec(key, monthly_partitions, "monthly")],
        can_subset=True,
        backfill_policy=dg.BackfillPolicy.multi_run(24),
        description=f"Roll up the local months of `{rt.table}`.",
    )
    def monthly(
        context: dg.AssetExecutionContext, aws: AwsResource, influxdb: InfluxDBResource
    ) -> Iterator[Any]:
        months = [date.fromisoformat(k) for k in context.partition_keys]
        windows = [rt.month_window(m) for m in months]
        days = [d for w in windows for d in rt.days_between(w.start_ns, w.end_ns)]
        refuse_days_influxdb_lacks(context.instance, rt, days)
        store = RollupStore(aws.client("s3"), aws.bucket, aws.parquet_prefix)
        publish = partial(roll_months, rollups=store, rt=rt, months=months)
        yield from _run(context, key, rt, MONTH, influxdb, publish)

    return monthly


def _retention_version(settings: RetentionSettings) -> str:
    payload = [(g.name, g.policy, g.duration, g.shard_duration) for g in settings.groups()]
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()[:12]


@dg.asset(
    key=RETENTION_KEY,
    group_name=INFLUXDB,
    kinds={"influxdb"},
    code_version=_retention_version(load_settings().retention),
    automation_condition=dg.AutomationCondition.on_missing()
    | dg.AutomationCondition.code_version_changed(),
    description=(
        "Retention of each group of measurements, as declared in `tables.toml` "
        "([retention.<group>]; ONS_RETENTION_<GROUP> per environment): applied to InfluxDB "
        "(1.x retention policies, 2.x buckets; InfluxDB 3 sets it per database at creation) and "
        "read back. Raw history is kept forever unless declared otherwise; a shorter duration "
        "than the server's is refused unless ONS_RETENTION_ALLOW_SHORTEN=true."
    ),
)
def influxdb_retention(
    context: dg.AssetExecutionContext, influxdb: InfluxDBResource
) -> dg.MaterializeResult:
    settings = load_settings().retention
    with influxdb.client() as client:
        statuses = apply_retention(
            client,
            settings.groups(),
            database=influxdb.database,
            allow_shorten=settings.allow_shorten,
        )
    metadata: dict[str, Any] = {
        "retention": dg.MetadataValue.md(markdown(statuses)),
        "groups": dg.MetadataValue.json([s.to_dict() for s in statuses]),
        "database": influxdb.database,
    }
    for s in statuses:
        metadata[f"{s.group} kept"] = s.applied or "—"
    bad = [s for s in statuses if not s.ok]
    if bad:
        raise dg.Failure(
            description="retention not applied: " + "; ".join(f"{s.group}: {s.note}" for s in bad),
            metadata=metadata,
        )
    context.log.info(f"retention: {[(s.group, s.policy, s.applied, s.action) for s in statuses]}")
    return dg.MaterializeResult(metadata=metadata)


def rollup_assets() -> list[dg.AssetsDefinition]:
    assets: list[dg.AssetsDefinition] = [influxdb_retention]
    for rt in rollup_tables().values():
        assets += [build_daily_rollup(rt), build_monthly_rollup(rt)]
    return assets


ROLLUP_SELECTION = dg.AssetSelection.groups(ROLLUP) | dg.AssetSelection.assets(RETENTION_KEY)

ROLLUPS_SENSOR = "rollups_in_step"


def rollup_sensors() -> list[dg.SensorDefinition]:
    """The automation sensor that keeps the rollups in step; its default status is
    ``ONS_ROLLUPS_SENSOR`` (``ons-pipeline migrate`` stops it in the daemon it starts)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        running = load_settings().rollups.sensor_running
        return [
            dg.AutomationConditionSensorDefinition(
                ROLLUPS_SENSOR,
                target=ROLLUP_SELECTION,
                default_status=(
                    dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED
                ),
                minimum_interval_seconds=60,
                description=(
                    "Keeps the rollups in step with the raw days they read (and applies the "
                    "retention configuration when it changes): requests every stale partition "
                    "of `rollup/<table>` and `rollup_monthly/<table>`. Default status: "
                    "ONS_ROLLUPS_SENSOR (running|stopped)."
                ),
            )
        ]


def rollup_jobs() -> list[Any]:
    """One job per partitioning (daily, monthly): backfill them over a range of history."""
    names = list(rollup_tables())
    return [
        dg.define_asset_job(
            "rollups_daily",
            selection=dg.AssetSelection.assets(*[rollup_key(t) for t in names]),
            executor_def=dg.in_process_executor,
            description="Daily rollups of every rolled-up table (local days).",
        ),
        dg.define_asset_job(
            "rollups_monthly",
            selection=dg.AssetSelection.assets(*[rollup_monthly_key(t) for t in names]),
            executor_def=dg.in_process_executor,
            description="Monthly rollups of every rolled-up table (local months).",
        ),
    ]
