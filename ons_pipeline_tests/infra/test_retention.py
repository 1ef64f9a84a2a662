"""Retention in Terraform: one variable per environment, passed to the pipeline as
ONS_RETENTION_<GROUP> (the groups of tables.toml), raw history kept forever by default."""

from __future__ import annotations

import re

import pytest

from ons_pipeline.lib.schema import SchemaError, check_duration, retention_groups
from ons_pipeline.lib.settings import Settings
from ons_pipeline_tests.infra.hcl import ROOT_DIR, module


def _variable() -> dict:  # type: ignore[type-arg]
    return module(ROOT_DIR).variables["influxdb_retention"]


def test_every_group_has_a_default_and_raw_history_is_kept_forever() -> None:
    default = _variable()["default"]
    assert default == {name: g.duration for name, g in retention_groups().items()}
    assert default["raw"] == "INF"


def test_the_dagster_tasks_get_one_variable_per_group_the_settings_read() -> None:
    root = module(ROOT_DIR)
    text = "\n".join(root.texts.values())
    assert '"ONS_RETENTION_${upper(group)}" => duration' in text
    assert "merge(local.influx_environment, local.retention_environment," in text
    env = {f"ONS_RETENTION_{g.upper()}": d for g, d in {"raw": "520w", "rollups": "3650d"}.items()}
    groups = {g.name: g.duration for g in Settings.from_env(env).retention.groups()}
    assert groups == {"raw": "520w", "rollups": "3650d"}


@pytest.mark.parametrize("value", ["INF", "3650d", "520w", "1h30m", "forever", "30 d", "-1d", ""])
def test_terraform_and_the_pipeline_accept_the_same_durations(value: str) -> None:
    text = "\n".join(module(ROOT_DIR).texts.values())
    pattern = re.search(r'can\(regex\("([^"]+)", duration\)\)', text)
    assert pattern is not None
    in_terraform = re.fullmatch(pattern.group(1).replace("\\\\", "\\"), value) is not None
    try:
        check_duration(value, "test")
        in_pipeline = True
    except SchemaError:
        in_pipeline = False
    assert in_terraform == in_pipeline
