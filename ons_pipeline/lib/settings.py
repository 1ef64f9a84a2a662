"""Configuration from environment variables, with defaults that point at the local servers.

Every setting has an ``ONS_*`` variable (see README, "Configuration"). When a variable is unset and
``ons-pipeline servers start`` has started local servers, their loopback URLs are used, so the same
commands work locally and, with the variables set, against real AWS and Timestream for InfluxDB.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ons_pipeline.local.servers import InfluxServer, MotoServer, ServerInfo

# Credentials moto accepts; used only when the AWS endpoint is the local moto server.
LOCAL_AWS_CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
}


def _running(info: tuple[str, ServerInfo | None]) -> ServerInfo | None:
    state, server = info
    return server if state == "running" else None


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class AwsSettings:
    """Where the AWS side lives: region, endpoint (moto locally), bucket and prefixes."""

    region: str = "us-east-1"
    endpoint_url: str | None = None
    bucket: str = "ons-pipeline"
    parquet_prefix: str = "parquet"
    unload_prefix: str = "unload"
    raw_prefix: str = "raw"
    deadletter_prefix: str = "deadletter"
    timestream_database: str = "ons"
    timestream_legacy_database: str = "ons_energy_data"
    export_mode: str = "query"
    query_page_bytes: int = 1_000_000

    @property
    def is_local(self) -> bool:
        return bool(self.endpoint_url) and "127.0.0.1" in str(self.endpoint_url)

    def client_kwargs(self) -> dict[str, str]:
        """Keyword arguments for ``boto3.client``: endpoint and, for moto, its dummy credentials."""
        kwargs: dict[str, str] = {"region_name": self.region}
        if self.endpoint_url:
            kwargs["endpoint_url"] = self.endpoint_url
        if self.is_local and not os.environ.get("AWS_ACCESS_KEY_ID"):
            kwargs.update(LOCAL_AWS_CREDENTIALS)
        return kwargs

    def client(self, service: str) -> Any:
        """A boto3 client; the endpoint is always explicit (Timestream clients otherwise run
        endpoint discovery against AWS even when ``AWS_ENDPOINT_URL`` is set).

        Throttling and 5xx are retried by botocore's adaptive mode (client-side rate limiting,
        which also respects Timestream's query rate); data errors are never retried.
        """
        import boto3
        from botocore.config import Config

        config = Config(retries={"mode": "adaptive", "max_attempts": 10})
        return boto3.client(service, config=config, **self.client_kwargs())


@dataclass(frozen=True)
class Settings:
    """Everything the pipeline needs to find its stores."""

    influx_env: Mapping[str, str] = field(default_factory=dict)
    aws: AwsSettings = field(default_factory=AwsSettings)
    state_dir: Path = Path(".ons-pipeline")
    seed: int = 0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        state_dir = Path(env.get("ONS_STATE_DIR", ".ons-pipeline")).resolve()
        influx_env = {k: v for k, v in env.items() if k.startswith("ONS_INFLUX_")}
        if "ONS_INFLUX_URL" not in influx_env:
            local = _running(InfluxServer(state_dir).status())
            if local is not None:
                influx_env["ONS_INFLUX_URL"] = local.url
        endpoint = env.get("ONS_AWS_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL")
        if not endpoint:
            local_moto = _running(MotoServer(state_dir).status())
            if local_moto is not None:
                endpoint = local_moto.url
        defaults = AwsSettings()
        aws = AwsSettings(
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or defaults.region,
            endpoint_url=endpoint or None,
            bucket=env.get("ONS_S3_BUCKET", defaults.bucket),
            parquet_prefix=env.get("ONS_S3_PARQUET_PREFIX", defaults.parquet_prefix),
            unload_prefix=env.get("ONS_S3_UNLOAD_PREFIX", defaults.unload_prefix),
            raw_prefix=env.get("ONS_S3_RAW_PREFIX", defaults.raw_prefix),
            deadletter_prefix=env.get("ONS_S3_DEADLETTER_PREFIX", defaults.deadletter_prefix),
            timestream_database=env.get("ONS_TIMESTREAM_DATABASE", defaults.timestream_database),
            timestream_legacy_database=env.get(
                "ONS_TIMESTREAM_LEGACY_DATABASE", defaults.timestream_legacy_database
            ),
            export_mode=env.get("ONS_EXPORT_MODE", defaults.export_mode),
            query_page_bytes=int(env.get("ONS_QUERY_PAGE_BYTES", defaults.query_page_bytes)),
        )
        if aws.export_mode not in {"query", "unload"}:
            raise ValueError(
                f"ONS_EXPORT_MODE must be 'query' or 'unload', not {aws.export_mode!r}"
            )
        return cls(
            influx_env=influx_env,
            aws=aws,
            state_dir=state_dir,
            seed=int(env.get("ONS_SEED", "0")),
        )
