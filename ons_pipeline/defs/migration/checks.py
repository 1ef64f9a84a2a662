"""Asset checks of the migration: GX suites on each Parquet partition, exact verification of each
loaded InfluxDB partition. Jobs that select an asset run its checks in the same run.

* ``parquet/<table>``: ``gx_structure`` (**blocking**: columns, keys, window, duplicates, finite
  values — when it fails, ``influxdb/<table>`` does not run for that day) and ``gx_plausibility``
  (WARN: value ranges, solar at night...; the data is still loaded, faithfully). One step reads
  the partition once and runs one GX validation for both.
* ``influxdb/<table>``: ``exact_verification`` (**blocking**, so a mismatch fails the run and the
  failure sensor reports it): counts per series and an order-independent checksum of every
  (series, time, field value) in the Parquet vs InfluxDB read back; differences name the series,
  the time ranges and the points.
"""

import warnings
from datetime import date
from typing import Any

import dagster as dg

from ons_pipeline.defs.keys import (
    EXACT_VERIFICATION,
    GX_PLAUSIBILITY,
    GX_STRUCTURE,
    INFLUXDB,
    influxdb_key,
    parquet_key,
)
from ons_pipeline.defs.partitions import daily_partitions
from ons_pipeline.lib.integrity.validation import (
    ValidationReport,
    describe_rules,
    validate_partition,
)
from ons_pipeline.lib.integrity.verification import verify_partition
from ons_pipeline.lib.partitions import ParquetStore
from ons_pipeline.lib.schema import TableSpec, tables
from ons_pipeline.resources import AwsResource, InfluxDBResource


def _gx_metadata(report: ValidationReport, blocking: bool) -> dict[str, Any]:
    outcomes = report.blocking if blocking else report.warnings
    failed = [o for o in outcomes if not o.success]
    return {
        "result": dg.MetadataValue.md(report.markdown(blocking)),
        "rows": dg.MetadataValue.int(report.rows),
        "expectations": dg.MetadataValue.int(len(outcomes)),
        "failed expectations": dg.MetadataValue.int(len(failed)),
        "unexpected values": dg.MetadataValue.int(sum(o.unexpected_count or 0 for o in failed)),
        "details": dg.MetadataValue.json([o.to_dict() for o in failed]),
        "files": dg.MetadataValue.json(report.files),
        "validation s": dg.MetadataValue.float(round(report.seconds, 3)),
    }


def build_gx_checks(spec: TableSpec) -> dg.AssetChecksDefinition:
    key = parquet_key(spec.name)
    rules = describe_rules(spec)
    blocking = [r for r in rules if r["blocking"]]
    plausible = [r for r in rules if not r["blocking"]]

    def listing(items: list[dict[str, Any]]) -> str:
        return "; ".join(f"{r['expectation']} [{r['target']}]" for r in items)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)  # partitioned checks are in preview
        specs = [
            dg.AssetCheckSpec(
                GX_STRUCTURE,
                asset=key,
                blocking=True,
                partitions_def=daily_partitions,
                description=(
                    "Great Expectations suite that must pass before the day is loaded into "
                    f"InfluxDB (blocking): {listing(blocking)}."
                ),
            ),
            dg.AssetCheckSpec(
                GX_PLAUSIBILITY,
                asset=key,
                blocking=False,
                partitions_def=daily_partitions,
                description=(
                    "Great Expectations plausibility suite (warning only: the source is "
                    f"migrated faithfully, implausible values are flagged): {listing(plausible)}."
                ),
            ),
        ]

    @dg.multi_asset_check(
        specs=specs,
        name=f"gx_{spec.name}",
        description=f"GX validation of the Parquet partition of {spec.name} (one read, one run).",
    )
    def gx_checks(context: dg.AssetCheckExecutionContext, aws: AwsResource) -> Any:
        day = date.fromisoformat(context.partition_key)
        report = validate_partition(ParquetStore.of(aws), spec, day)
        context.log.info(
            f"GX {spec.name} {day}: {report.rows} rows, {len(report.outcomes)} expectations in "
            f"{report.seconds:.2f}s; blocking failures {len(report.blocking_failures)}, "
            f"warnings {len(report.warning_failures)}"
        )
        if report.blocking_failures:
            context.log.error(report.summary(blocking=True))
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name=GX_STRUCTURE,
            passed=report.passed,
            severity=dg.AssetCheckSeverity.ERROR,
            description=report.summary(blocking=True)[:2000],
            metadata=_gx_metadata(report, blocking=True),
        )
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name=GX_PLAUSIBILITY,
            passed=not report.warning_failures,
            severity=dg.AssetCheckSeverity.WARN,
            description=report.summary(blocking=False)[:2000],
            metadata=_gx_metadata(report, blocking=False),
        )

    return gx_checks


def build_verification_check(spec: TableSpec) -> dg.AssetChecksDefinition:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)

        @dg.asset_check(
            asset=influxdb_key(spec.name),
            name=EXACT_VERIFICATION,
            blocking=True,
            partitions_def=daily_partitions,
            pool=INFLUXDB,
            description=(
                f"Exact verification of measurement `{spec.measurement}` for the day against "
                "its Parquet partition: points and values per series and an order-independent "
                "checksum over (series, time ns, every field value bit-exact), InfluxDB read "
                "back with chunked InfluxQL. Retries while InfluxDB has fewer points (still "
                "flushing), then names the series, time ranges and points that differ."
            ),
        )
        def exact_verification(
            context: dg.AssetCheckExecutionContext, aws: AwsResource, influxdb: InfluxDBResource
        ) -> dg.AssetCheckResult:
            day = date.fromisoformat(context.partition_key)
            with influxdb.client() as client:
                result = verify_partition(
                    ParquetStore.of(aws), client, spec, day, database=influxdb.database
                )
            context.log.info(result.summary(max_series=3))
            return dg.AssetCheckResult(
                passed=result.ok,
                severity=dg.AssetCheckSeverity.ERROR,
                description=result.summary()[:2000],
                metadata={
                    "result": dg.MetadataValue.md(result.markdown()),
                    "source points": dg.MetadataValue.int(result.source_rows),
                    "influxdb points": dg.MetadataValue.int(result.influx_rows),
                    "source values": dg.MetadataValue.int(result.source_values),
                    "influxdb values": dg.MetadataValue.int(result.influx_values),
                    "series": dg.MetadataValue.int(result.series),
                    "differing series": dg.MetadataValue.int(len(result.diffs)),
                    "source checksum": result.source_checksum,
                    "influxdb checksum": result.influx_checksum,
                    "reads": dg.MetadataValue.int(result.attempts),
                    "verification s": dg.MetadataValue.float(round(result.seconds, 3)),
                    "diffs": dg.MetadataValue.json([d.to_dict() for d in result.diffs[:20]]),
                },
            )

    return exact_verification


def migration_checks() -> list[dg.AssetChecksDefinition]:
    """Every table's GX checks and exact verification check."""
    checks: list[dg.AssetChecksDefinition] = []
    for spec in tables().values():
        checks += [build_gx_checks(spec), build_verification_check(spec)]
    return checks
