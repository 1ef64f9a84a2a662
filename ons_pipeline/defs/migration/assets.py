"""Assets of the three stores, per table: Timestream table → Parquet on S3 → InfluxDB.

One multi-asset per table materialises both ``parquet/<table>`` and ``influxdb/<table>`` and runs
their checks, over as many days as the run covers (its ``BackfillPolicy`` sizes runs by expected
rows: see ``MigrationSettings``). Each day still gets its own materializations and check results,
and can be run alone; selecting only ``influxdb/<table>`` (re)loads days from their Parquet
partitions, only ``parquet/<table>`` (re)exports them.
"""

from datetime import date
from typing import Any

import dagster as dg

from ons_pipeline.defs.keys import (
    DAY_MIGRATED,
    EXACT_VERIFICATION,
    GX_PLAUSIBILITY,
    GX_STRUCTURE,
    INFLUXDB,
    PARQUET,
    TIMESTREAM,
    influxdb_key,
    parquet_key,
    timestream_key,
)
from ons_pipeline.defs.migration.checks import (
    check_specs,
    gx_evaluations,
    verification_evaluation,
)
from ons_pipeline.defs.partitions import daily_partitions
from ons_pipeline.environment import load_settings
from ons_pipeline.lib.migration.deadletter import S3DeadLetterStore
from ons_pipeline.lib.migration.exporter import ExportResult, export_days, export_partition
from ons_pipeline.lib.migration.pipeline import DayOutcome, Stages, TableMigration
from ons_pipeline.lib.migration.timestream import check_source_columns, database_for
from ons_pipeline.lib.partitions import ParquetStore
from ons_pipeline.lib.schema import TableSpec, tables
from ons_pipeline.lib.settings import MigrationSettings
from ons_pipeline.resources import AwsResource, InfluxDBResource

GX_CHECKS = (GX_STRUCTURE, GX_PLAUSIBILITY)


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
            "expected rows per day": spec.rows_per_day,
        },
    )


def raw_retention() -> str:
    """The raw group's retention as declared (the UI shows it on every load asset)."""
    for group in load_settings().retention.groups():
        if group.policy is None:
            return f"{group.name}: database default policy, {group.duration}"
    return "database default policy"


def backfill_policy(spec: TableSpec, migration: MigrationSettings) -> dg.BackfillPolicy:
    """Runs of about ``run_rows`` expected rows (at most ``max_days_per_run`` days): a year of a
    daily table is one run, a year of plant generation a few."""
    return dg.BackfillPolicy.multi_run(migration.days_per_run(spec.rows_per_day))


def build_migration_asset(spec: TableSpec, migration: MigrationSettings) -> dg.AssetsDefinition:
    parquet, influx = parquet_key(spec.name), influxdb_key(spec.name)

    @dg.multi_asset(
        name=f"{spec.name}_migration",
        specs=[
            dg.AssetSpec(
                parquet,
                deps=[timestream_key(spec.name)],
                partitions_def=daily_partitions,
                group_name=PARQUET,
                kinds={"s3", "parquet"},
                skippable=True,
                description=(
                    f"One Parquet partition per UTC day of Timestream table `{spec.name}` on S3 "
                    f"(`<parquet prefix>/{spec.name}/date=YYYY-MM-DD/`), ns timestamps intact. "
                    "Re-materializing a day replaces its objects."
                ),
            ),
            dg.AssetSpec(
                influx,
                deps=[parquet],
                partitions_def=daily_partitions,
                group_name=INFLUXDB,
                kinds={"influxdb"},
                skippable=True,
                metadata={"retention": raw_retention()},
                description=(
                    f"Points of measurement `{spec.measurement}` in InfluxDB, one UTC day per "
                    "partition, converted losslessly from the Parquet partition (tags: "
                    f"{', '.join(spec.tags)}; fields: {', '.join(spec.field_names)}). Batches "
                    "that fail after retries go to the dead-letter store and fail the day; "
                    "re-loading a day overwrites, never duplicates."
                ),
            ),
        ],
        check_specs=check_specs(spec),
        can_subset=True,
        backfill_policy=backfill_policy(spec, migration),
        description=f"Migrate table `{spec.name}`: export, validate, load and verify its days.",
    )
    def migrate(
        context: dg.AssetExecutionContext, aws: AwsResource, influxdb: InfluxDBResource
    ) -> Any:
        days = [date.fromisoformat(k) for k in context.partition_keys]
        selected = set(context.selected_asset_keys)
        checks = set(context.selected_asset_check_keys)
        stages = Stages(
            export=parquet in selected,
            validate=bool(checks & {dg.AssetCheckKey(parquet, n) for n in GX_CHECKS}),
            load=influx in selected,
            verify=dg.AssetCheckKey(influx, EXACT_VERIFICATION) in checks,
        )
        s3 = aws.client("s3")
        timestream = aws.client("timestream-query") if stages.export else None
        settings = load_settings().migration

        store = ParquetStore.of(aws, s3)

        def export(day: date) -> ExportResult:
            return export_partition(spec, day, aws.export_mode, timestream, s3, aws)

        def export_range(group: list[date]) -> dict[date, ExportResult | Exception]:
            return export_days(spec, group, timestream, s3, aws, settings.export_threads)

        def check_source() -> None:
            database = database_for(spec, aws.timestream_database, aws.timestream_legacy_database)
            if not check_source_columns(timestream, spec, database):
                context.log.warning(
                    f"Timestream did not describe {database}.{spec.source_table}: its columns "
                    "were not checked against the mapping"
                )

        failed: list[DayOutcome] = []
        client = influxdb.client() if stages.load or stages.verify else None
        try:
            if client is not None and stages.load:
                client.ensure_database(influxdb.database)
            migration = TableMigration(
                spec,
                store,
                export=export,
                export_days=export_range if aws.export_mode == "unload" else None,
                check_source=check_source,
                client=client,
                settings=settings,
                deadletter=S3DeadLetterStore(aws.bucket, aws.deadletter_prefix, client=s3),
                batch_lines=influxdb.batch_lines,
                writers=influxdb.write_connections,
                database=influxdb.database,
            )
            for group in migration.run(days, stages):
                for outcome in group:
                    yield from _events(spec, outcome, stages, checks, store, influxdb.database)
                    if not outcome.ok:
                        failed.append(outcome)
                        context.log.error(f"{spec.name} {outcome.partition.key}: {outcome.error}")
                context.log.info(_progress(spec, group))
        finally:
            if client is not None:
                client.close()
        if failed:
            raise dg.Failure(
                description=(
                    f"{spec.name}: {len(failed)} of {len(days)} day(s) failed; the others are "
                    "migrated. `ons-pipeline migrate` redoes the failed days (dead-lettered "
                    f"batches: `ons-pipeline dlq list --table {spec.name}`).\n"
                    + "\n".join(f"{o.partition.key}: {o.error}"[:500] for o in failed[:20])
                ),
                metadata={"failed days": dg.MetadataValue.json([o.partition.key for o in failed])},
            )

    return migrate


def _events(
    spec: TableSpec,
    outcome: DayOutcome,
    stages: Stages,
    checks: set[dg.AssetCheckKey],
    store: ParquetStore,
    database: str,
) -> list[Any]:
    """The day's materializations and check evaluations, in the order they happened."""
    key = outcome.partition.key
    events: list[Any] = []
    if outcome.export is not None:
        events.append(
            dg.AssetMaterialization(
                asset_key=parquet_key(spec.name),
                partition=key,
                metadata=outcome.export.to_metadata(store.bucket),
            )
        )
    if outcome.validation is not None:
        events += gx_evaluations(spec, outcome.validation, checks)
    load = outcome.load
    if load is not None and load.ok:
        events.append(
            dg.AssetMaterialization(
                asset_key=influxdb_key(spec.name),
                partition=key,
                metadata={
                    **load.to_metadata(),
                    # written, but a later stage (exact verification...) may still fail the day
                    DAY_MIGRATED: outcome.ok,
                    "reloaded after a short read-back": outcome.reloaded,
                    "measurement": spec.measurement,
                    "database": database,
                    "source": store.uri(outcome.partition),
                },
            )
        )
    elif load is not None:
        events.append(
            dg.AssetObservation(
                asset_key=influxdb_key(spec.name),
                partition=key,
                metadata={**load.to_metadata(), "dead-letter ids": load.dead_letter_ids},
                description=f"load failed: {outcome.error}"[:2000],
            )
        )
    if outcome.verification is not None and stages.verify:
        events.append(verification_evaluation(spec, outcome.verification))
    return events


def _progress(spec: TableSpec, group: list[DayOutcome]) -> str:
    points = sum(o.load.points for o in group if o.load is not None)
    failed = sum(not o.ok for o in group)
    return (
        f"{spec.name} {group[0].partition.key}…{group[-1].partition.key}: {len(group)} day(s), "
        f"{points:,} points, {failed} failed"
    )


def migration_assets() -> list[dg.AssetsDefinition | dg.AssetSpec]:
    migration = load_settings().migration
    assets: list[dg.AssetsDefinition | dg.AssetSpec] = []
    for spec in tables().values():
        assets += [timestream_source(spec), build_migration_asset(spec, migration)]
    return assets
