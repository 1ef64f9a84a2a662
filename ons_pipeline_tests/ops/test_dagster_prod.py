"""The production Dagster instance (deploy/dagster.prod.yaml): valid for Dagster 1.13, its
PostgreSQL storage working against a real PostgreSQL (Debian's, TLS + password, as in RDS) with a
job executed and read back, and its EcsRunLauncher built against an ECS task definition (moto)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster._core.instance.config import dagster_instance_config

from ons_pipeline.defs.monitoring.cost import COST_KEY, influxdb_monthly_cost
from ons_pipeline.local.servers import ServerInfo
from ons_pipeline_tests.ops.conftest import Postgres

REPO = Path(__file__).resolve().parents[2]
PROD = REPO / "deploy" / "dagster.prod.yaml"
LOCAL = REPO / "dagster.yaml"


def instance_dir(tmp_path: Path, config: dict[str, Any]) -> Path:
    home = tmp_path / f"home-{uuid.uuid4().hex[:6]}"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return home


@pytest.fixture
def pg_env(postgres: Postgres, monkeypatch: pytest.MonkeyPatch) -> Postgres:
    """The environment the ECS containers get (infra/README.md, step 6), pointing at the local
    PostgreSQL."""
    monkeypatch.setenv("DAGSTER_PG_HOST", "127.0.0.1")
    monkeypatch.setenv("DAGSTER_PG_PORT", str(postgres.info.port))
    monkeypatch.setenv("DAGSTER_PG_DB", postgres.dagster_db)
    monkeypatch.setenv("DAGSTER_PG_USERNAME", postgres.dagster_user)
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", postgres.dagster_password)
    return postgres


def test_production_config_is_valid_and_says_what_the_infra_expects() -> None:
    text = PROD.read_text()
    config = yaml.safe_load(text)
    home = PROD.parent
    validated, _ = dagster_instance_config(str(home), config_filename=PROD.name)
    assert set(validated) == set(config)
    pg = config["storage"]["postgres"]["postgres_db"]
    assert {k: v for k, v in pg.items() if k not in {"params", "scheme"}} == {
        "hostname": {"env": "DAGSTER_PG_HOST"},
        "port": {"env": "DAGSTER_PG_PORT"},
        "db_name": {"env": "DAGSTER_PG_DB"},
        "username": {"env": "DAGSTER_PG_USERNAME"},
        "password": {"env": "DAGSTER_PG_PASSWORD"},
    }
    assert pg["params"] == {"sslmode": "require"}
    assert pg["scheme"] == "postgresql+psycopg2"  # SQLAlchemy 2.1 would pick psycopg 3
    launcher = config["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_aws.ecs", "EcsRunLauncher")
    assert launcher["config"]["task_definition"] == {"env": "DAGSTER_RUN_TASK_DEFINITION"}
    assert launcher["config"]["container_name"] == "run"
    assert launcher["config"]["secrets_tag"] is None
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["run_retries"]["enabled"] and config["run_retries"]["max_retries"] >= 1
    assert config["run_retries"]["retry_on_asset_or_op_failure"] is False
    assert config["run_monitoring"]["enabled"] is True
    assert config["concurrency"]["runs"]["max_concurrent_runs"] >= 1
    # The values infra/README.md documents for step 6 are the ones used here.
    readme = (REPO / "infra" / "README.md").read_text()
    for name in ("DAGSTER_RUN_TASK_DEFINITION", "DAGSTER_PG_HOST", "DAGSTER_PG_PASSWORD"):
        assert name in readme and name in text
    # And the local file stays the local one.
    local = yaml.safe_load(LOCAL.read_text())
    assert "storage" not in local and "run_launcher" not in local
    assert local["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert local["concurrency"]["runs"]["max_concurrent_runs"] >= 1
    # a step that failed (refused credentials, bad data) is not re-run by Dagster, here either
    assert local["run_retries"]["retry_on_asset_or_op_failure"] is False


def test_production_storage_runs_a_job_on_a_real_postgresql(
    pg_env: Postgres, tmp_path: Path
) -> None:
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

    config = yaml.safe_load(PROD.read_text())
    del config["run_launcher"]  # the default launcher; the ECS one is checked below
    instance = dg.DagsterInstance.from_config(str(instance_dir(tmp_path, config)))
    try:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert instance.run_retries_enabled and instance.run_monitoring_enabled
        result = dg.materialize([influxdb_monthly_cost], instance=instance, tags={"ons": "pg"})
        assert result.success
        run_id = result.run_id
    finally:
        instance.dispose()

    # A fresh instance (another process, in production) reads the run back from PostgreSQL.
    reader = dg.DagsterInstance.from_config(str(instance_dir(tmp_path, config)))
    try:
        run = reader.get_run_by_id(run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags["ons"] == "pg"
        event = reader.get_latest_materialization_event(COST_KEY)
        assert event is not None and event.run_id == run_id
        total = event.asset_materialization.metadata["total per month"].value  # type: ignore[union-attr]
        assert total > 0
        records = reader.get_run_records(dg.RunsFilter(run_ids=[run_id]))
        assert len(records) == 1
    finally:
        reader.dispose()

    # The rows are in PostgreSQL itself, written over TLS by the dagster role.
    with pg_env.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT status FROM runs WHERE run_id = %s", (run_id,))
        assert cursor.fetchall() == [("SUCCESS",)]
        cursor.execute("SELECT count(*) FROM event_logs WHERE run_id = %s", (run_id,))
        assert cursor.fetchone()[0] > 5
        cursor.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        assert cursor.fetchone() == (True,)
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == (pg_env.dagster_user,)


def test_a_wrong_database_password_fails_clearly_without_showing_it(
    pg_env: Postgres,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = "wrong-" + uuid.uuid4().hex
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", wrong)
    # dagster-postgres retries a refused connection with exponential backoff: skip the waits.
    monkeypatch.setattr("dagster_postgres.utils.time", SimpleNamespace(sleep=lambda _: None))
    config = yaml.safe_load(PROD.read_text())
    del config["run_launcher"]
    with pytest.raises(Exception, match="too many retries for DB connection") as caught:
        instance = dg.DagsterInstance.from_config(str(instance_dir(tmp_path, config)))
        try:
            instance.get_runs(limit=1)
        finally:
            instance.dispose()
    chain, error = [], caught.value
    while error is not None:
        chain.append(f"{type(error).__name__}: {error}")
        error = error.__cause__ or error.__context__
    text = "\n".join(chain) + caplog.text
    assert 'password authentication failed for user "dagster"' in text
    assert wrong not in text


def test_production_ecs_run_launcher_builds_against_the_run_task_definition(
    pg_env: Postgres, moto_server: ServerInfo, aws: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    from dagster_aws.ecs import EcsRunLauncher

    family = f"ons-pipeline-run-{uuid.uuid4().hex[:6]}"
    arn = aws("ecs").register_task_definition(
        family=family,
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="1024",
        memory="4096",
        containerDefinitions=[{"name": "run", "image": "ons-pipeline:test", "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    monkeypatch.setenv("DAGSTER_RUN_TASK_DEFINITION", family)
    home = tmp_path / "prod-home"
    home.mkdir()
    shutil.copy(PROD, home / "dagster.yaml")  # the file exactly as shipped
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        launcher = instance.run_launcher
        assert isinstance(launcher, EcsRunLauncher)
        assert launcher.task_definition == arn
        assert launcher.container_name == "run" and launcher.secrets_tags == []
        assert launcher.supports_check_run_worker_health  # what run_monitoring relies on
    finally:
        instance.dispose()
