"""The local instance's pooled SQLite event log: same records as Dagster's own storage."""

import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.event_log.sqlite import sqlite_event_log
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from ons_pipeline.local.dagster_storage import PooledSqliteEventLogStorage

DAYS = dg.DailyPartitionsDefinition(start_date="2024-01-01")


with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.PreviewWarning)  # partitioned checks are in preview
    CHECK = dg.AssetCheckSpec("positive", asset="load", partitions_def=DAYS)


@dg.multi_asset(
    specs=[dg.AssetSpec("load", partitions_def=DAYS, skippable=True)],
    check_specs=[CHECK],
    can_subset=True,
)
def load(context: dg.AssetExecutionContext) -> Iterator[object]:
    """Records what a migration day records: a materialization and a partitioned check result."""
    day = context.partition_key
    yield dg.AssetMaterialization("load", partition=day, metadata={"points": 3})
    yield dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey("load"), check_name="positive", passed=True, partition=day
    )


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test(
        temp_dir=str(tmp_path),
        overrides={
            "event_log_storage": {
                "module": "ons_pipeline.local.dagster_storage",
                "class": "PooledSqliteEventLogStorage",
            }
        },
    ) as test_instance:
        assert isinstance(test_instance.event_log_storage, PooledSqliteEventLogStorage)
        yield test_instance


def test_materializations_and_check_results_are_recorded(instance: dg.DagsterInstance) -> None:
    for day in ("2024-01-01", "2024-01-02"):
        assert dg.materialize([load], partition_key=day, instance=instance).success
    records = instance.fetch_materializations(dg.AssetKey("load"), limit=10).records
    assert sorted(r.partition_key for r in records) == ["2024-01-01", "2024-01-02"]
    check = dg.AssetCheckKey(dg.AssetKey("load"), "positive")
    executions = instance.event_log_storage.get_asset_check_execution_history(check, limit=10)
    assert sorted(e.partition for e in executions) == ["2024-01-01", "2024-01-02"]
    assert all(e.status.value == "SUCCEEDED" for e in executions)


def test_has_table_answers_from_the_pool_even_inside_a_transaction(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = instance.event_log_storage
    assert isinstance(storage, PooledSqliteEventLogStorage)
    engines: list[object] = []
    real = sqlite_event_log.create_engine
    monkeypatch.setattr(
        sqlite_event_log, "create_engine", lambda *a, **k: engines.append(a) or real(*a, **k)
    )
    answers: list[bool] = []

    def ask() -> None:  # Dagster asks while it holds an index connection open
        with storage.index_connection():
            answers.extend(storage.has_table(name) for name in ("asset_check_executions",) * 50)
            answers.append(storage.has_table("no_such_table"))

    asker = threading.Thread(target=ask, daemon=True)
    asker.start()
    asker.join(timeout=30)
    assert not asker.is_alive(), "has_table deadlocked inside an open connection"
    assert answers == [True] * 50 + [False]
    assert storage.supports_asset_checks
    assert engines == []  # Dagster's own has_table opened a new engine for every question


def test_wipe_forgets_the_tables_seen(instance: dg.DagsterInstance) -> None:
    storage = instance.event_log_storage
    assert storage.has_table("asset_check_executions")
    storage.wipe()
    assert storage.has_table("asset_check_executions")  # recreated by wipe, asked again
    assert dg.materialize([load], partition_key="2024-01-03", instance=instance).success


def test_the_asset_key_columns_are_inspected_once(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dagster reads the asset key table's columns before every asset event; the pool asks once
    and records the same events."""
    inspected: list[str] = []
    real = SqliteEventLogStorage._has_asset_key_col_on_connection

    def counted(self, conn, column_name):  # type: ignore[no-untyped-def]
        inspected.append(column_name)
        return real(self, conn, column_name)

    monkeypatch.setattr(SqliteEventLogStorage, "_has_asset_key_col_on_connection", counted)
    for day in ("2024-01-04", "2024-01-05", "2024-01-06"):
        assert dg.materialize([load], partition_key=day, instance=instance).success
    assert inspected == ["last_materialization_timestamp"]
    records = instance.fetch_materializations(dg.AssetKey("load"), limit=10).records
    assert sorted(r.partition_key for r in records) == ["2024-01-04", "2024-01-05", "2024-01-06"]
