"""Migration state: a day whose newest exact verification failed is not migrated, whoever failed it
(a migration run's check or a later ``ons-pipeline verify``), and ``migrate`` takes it again."""

from collections.abc import Iterator
from datetime import date
from typing import Any

import dagster as dg
import pytest

from ons_pipeline.defs.keys import EXACT_VERIFICATION, influxdb_key, parquet_key
from ons_pipeline.defs.partitions import daily_partitions
from ons_pipeline.defs.state import VERDICT, pending_partitions

TABLE = "curva_carga"
DAYS = [date(2019, 3, 1), date(2019, 3, 2), date(2019, 3, 3)]
KEY = influxdb_key(TABLE)
EXPORTED = parquet_key(TABLE)


def run_days(instance: dg.DagsterInstance, verdicts: dict[date, bool]) -> None:
    """One multi-day run that exports and loads ``verdicts``' days and records their verification
    results, as a migration run does."""

    @dg.multi_asset(
        specs=[
            dg.AssetSpec(EXPORTED, partitions_def=daily_partitions, skippable=True),
            dg.AssetSpec(KEY, partitions_def=daily_partitions, skippable=True),
        ],
        check_specs=[dg.AssetCheckSpec(EXACT_VERIFICATION, asset=KEY, blocking=True)],
        can_subset=True,
    )
    def loads(context: dg.AssetExecutionContext) -> Iterator[Any]:
        for key in context.partition_keys:
            yield dg.AssetMaterialization(EXPORTED, partition=key, metadata={"rows": 96})
            yield dg.AssetMaterialization(KEY, partition=key, metadata={"points": 96})
            passed = verdicts[date.fromisoformat(key)]
            yield dg.AssetCheckEvaluation(
                asset_key=KEY, check_name=EXACT_VERIFICATION, passed=passed, partition=key
            )

    days = sorted(verdicts)
    result = dg.materialize(
        [loads],
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": days[0].isoformat(),
            "dagster/asset_partition_range_end": days[-1].isoformat(),
        },
    )
    assert result.success


def pending(instance: dg.DagsterInstance) -> list[date]:
    return pending_partitions(instance, [TABLE], DAYS)[TABLE]


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def test_a_day_whose_verification_failed_in_a_multi_day_run_is_pending(instance) -> None:  # type: ignore[no-untyped-def]
    assert pending(instance) == DAYS  # never loaded
    run_days(instance, {DAYS[0]: True, DAYS[1]: False, DAYS[2]: True})
    assert pending(instance) == [DAYS[1]]
    # migrate re-runs that day alone; now it passes
    run_days(instance, {DAYS[1]: True})
    assert pending(instance) == []


def test_a_later_failed_verify_puts_a_migrated_day_back_and_a_reload_clears_it(instance) -> None:  # type: ignore[no-untyped-def]
    run_days(instance, dict.fromkeys(DAYS, True))
    assert pending(instance) == []
    instance.report_runless_asset_event(
        dg.AssetObservation(KEY, partition=DAYS[2].isoformat(), metadata={VERDICT: "failed"})
    )
    assert pending(instance) == [DAYS[2]]
    run_days(instance, {DAYS[2]: True})
    assert pending(instance) == []


def test_a_day_exported_again_whose_load_failed_is_pending(instance) -> None:  # type: ignore[no-untyped-def]
    """The re-run exported the day, then its load failed (an observation, no materialization):
    InfluxDB may hold a mix of old and new values, so the day is not migrated any more."""
    run_days(instance, dict.fromkeys(DAYS, True))
    day = DAYS[1].isoformat()
    instance.report_runless_asset_event(
        dg.AssetMaterialization(EXPORTED, partition=day, metadata={"rows": 96})
    )
    instance.report_runless_asset_event(
        dg.AssetObservation(KEY, partition=day, description="load failed: 503")
    )
    assert pending(instance) == [DAYS[1]]
    run_days(instance, {DAYS[1]: True})
    assert pending(instance) == []
