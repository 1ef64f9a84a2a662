"""The checks that guard each migrated day, declared on the migration asset that runs them.

* ``parquet/<table>``: ``gx_structure`` (**blocking**: columns, keys, window, duplicates, finite
  values — when it fails, the day is not loaded into InfluxDB) and ``gx_plausibility`` (WARN: value
  ranges, solar at night...; the data is still loaded, faithfully).
* ``influxdb/<table>``: ``exact_verification`` (**blocking**: a mismatch fails the day and the
  run, and ``ons-pipeline migrate`` redoes the day): counts per series and an order-independent
  checksum of every (series, time, field value) in the Parquet vs InfluxDB read back; differences
  name the series, the time ranges and the points.

A run covers many days; each day gets its own evaluation (an ``AssetCheckEvaluation`` for that
partition), so the UI shows every day's result, as for a run of that day alone.
"""

import warnings
from typing import Any

import dagster as dg

from ons_pipeline.defs.keys import (
    EXACT_VERIFICATION,
    GX_PLAUSIBILITY,
    GX_STRUCTURE,
    influxdb_key,
    parquet_key,
)
from ons_pipeline.defs.partitions import daily_partitions
from ons_pipeline.lib.integrity.validation import ValidationReport, describe_rules
from ons_pipeline.lib.integrity.verification import VerificationResult
from ons_pipeline.lib.schema import TableSpec


def check_specs(spec: TableSpec) -> list[dg.AssetCheckSpec]:
    """The three checks of one table, for the migration asset's ``check_specs``."""
    rules = describe_rules(spec)

    def listing(blocking: bool) -> str:
        return "; ".join(
            f"{r['expectation']} [{r['target']}]" for r in rules if r["blocking"] is blocking
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)  # partitioned checks are in preview
        return [
            dg.AssetCheckSpec(
                GX_STRUCTURE,
                asset=parquet_key(spec.name),
                blocking=True,
                partitions_def=daily_partitions,
                description=(
                    "Great Expectations suite that must pass before the day is loaded into "
                    f"InfluxDB (blocking): {listing(True)}."
                ),
            ),
            dg.AssetCheckSpec(
                GX_PLAUSIBILITY,
                asset=parquet_key(spec.name),
                blocking=False,
                partitions_def=daily_partitions,
                description=(
                    "Great Expectations plausibility suite (warning only: the source is "
                    f"migrated faithfully, implausible values are flagged): {listing(False)}."
                ),
            ),
            dg.AssetCheckSpec(
                EXACT_VERIFICATION,
                asset=influxdb_key(spec.name),
                blocking=True,
                partitions_def=daily_partitions,
                description=(
                    f"Exact verification of measurement `{spec.measurement}` for the day against "
                    "its Parquet partition: points and values per series and an order-independent "
                    "checksum over (series, time ns, every field value bit-exact), InfluxDB read "
                    "back with chunked InfluxQL. Retries while InfluxDB has fewer points (still "
                    "flushing), then names the series, time ranges and points that differ."
                ),
            ),
        ]


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


def gx_evaluations(
    spec: TableSpec, report: ValidationReport, selected: set[dg.AssetCheckKey]
) -> list[dg.AssetCheckEvaluation]:
    """The day's ``gx_structure`` and ``gx_plausibility`` results (the selected ones)."""
    key = parquet_key(spec.name)
    evaluations = []
    for name, blocking, passed, severity in (
        (GX_STRUCTURE, True, report.passed, dg.AssetCheckSeverity.ERROR),
        (GX_PLAUSIBILITY, False, not report.warning_failures, dg.AssetCheckSeverity.WARN),
    ):
        if dg.AssetCheckKey(key, name) not in selected:
            continue
        evaluations.append(
            dg.AssetCheckEvaluation(
                asset_key=key,
                check_name=name,
                passed=passed,
                partition=report.partition,
                severity=severity,
                blocking=blocking,
                description=report.summary(blocking=blocking)[:2000],
                metadata=_gx_metadata(report, blocking),
            )
        )
    return evaluations


def verification_evaluation(spec: TableSpec, result: VerificationResult) -> dg.AssetCheckEvaluation:
    """The day's ``exact_verification`` result."""
    return dg.AssetCheckEvaluation(
        asset_key=influxdb_key(spec.name),
        check_name=EXACT_VERIFICATION,
        passed=result.ok,
        partition=result.partition,
        severity=dg.AssetCheckSeverity.ERROR,
        blocking=True,
        description=result.summary()[:2000],
        metadata=verification_metadata(result),
    )


def verification_metadata(result: VerificationResult) -> dict[str, Any]:
    return {
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
    }
