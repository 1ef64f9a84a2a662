"""What the commands share: table selection, output, the Dagster home and the opened clients."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import click

from ons_pipeline.environment import load_settings
from ons_pipeline.lib import schema

REPO_ROOT = Path(__file__).resolve().parents[2]


def table_names(value: str | None) -> list[str]:
    """``all``, ``ons``, ``legacy`` or ``a,b,c`` → table names (an unknown name is an error)."""
    if not value or value == "all":
        return list(schema.tables())
    if value == "ons":
        return schema.ons_tables()
    if value == "legacy":
        return schema.legacy_tables()
    names = [v.strip() for v in value.split(",") if v.strip()]
    for name in names:
        schema.table(name)  # clear error for an unknown table
    return names


def emit(payload: Any, as_json: bool, text: str) -> None:
    click.echo(json.dumps(payload, indent=2, default=str) if as_json else text)


def ensure_bucket(s3: Any, bucket: str) -> None:
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket)


def dagster_home() -> Path:
    """$DAGSTER_HOME, or ./.dagster_home holding a copy of the repo's dagster.yaml."""
    home = Path(os.environ.get("DAGSTER_HOME") or ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    source = REPO_ROOT / "dagster.yaml"
    if source.exists() and (not config.exists() or config.read_bytes() != source.read_bytes()):
        shutil.copyfile(source, config)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def dagster_bin(name: str) -> str:
    """A Dagster executable of this interpreter's environment (``dagster``, ``dagster-daemon``)."""
    candidate = Path(sys.executable).with_name(name)
    return str(candidate) if candidate.exists() else name


def stop_process_group(process: subprocess.Popen[Any], timeout: float) -> None:
    """SIGTERM the process group ``process`` leads (started with ``start_new_session``), then
    SIGKILL it if it has not exited within ``timeout`` seconds."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def influx_client() -> Any:
    """The audited client (credentials from env or Secrets Manager, TLS rules, security log)."""
    return load_settings().influx.client()


def deadletter_store() -> Any:
    from ons_pipeline.lib.migration.deadletter import S3DeadLetterStore

    aws = load_settings().aws
    return S3DeadLetterStore(aws.bucket, aws.deadletter_prefix, client=aws.client("s3"))
