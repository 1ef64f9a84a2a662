"""`ons-pipeline migrate` as the user runs it, against the test servers (its environment is the
``cli_env`` fixture of conftest.py): its command line, and the Timestream answers its exports
read (staged on the moto server)."""

from __future__ import annotations

import sys
from datetime import date

from ons_pipeline.lib import schema
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.local.staging import stage_day


def migrate_command(tables: str, first: date, last: date, timeout_s: int = 300) -> list[str]:
    """``ons-pipeline migrate`` of ``tables`` (comma-separated) over ``first``..``last``."""
    return [
        sys.executable,
        "-m",
        "ons_pipeline.cli.main",
        "migrate",
        "--tables",
        tables,
        "--start",
        first.isoformat(),
        "--end",
        last.isoformat(),
        "--timeout",
        str(timeout_s),
    ]


def stage_exports(
    env: dict[str, str],
    table: str,
    days: list[date],
    page_bytes: int = 1_000_000,
    answers: int = 1,
) -> None:
    """Stage each day's query-mode export of ``table`` ``answers`` times: real Timestream
    answers a repeated query again, the stand-in once per staged answer."""
    target = AwsSettings(endpoint_url=env["ONS_AWS_ENDPOINT_URL"], bucket=env["ONS_S3_BUCKET"])
    for day in days:
        for _ in range(answers):
            stage_day(
                schema.table(table),
                day,
                mode="query",
                endpoint_url=env["ONS_AWS_ENDPOINT_URL"],
                target=target,
                page_bytes=page_bytes,
            )
