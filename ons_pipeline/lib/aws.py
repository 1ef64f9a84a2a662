"""The AWS side: region, endpoint (moto locally), the S3 bucket and its prefixes, the Timestream
databases, and boto3 clients made from them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

# Credentials moto accepts; used only when the AWS endpoint is the local moto server.
LOCAL_AWS_CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
}
EXPORT_MODES = ("query", "unload")


class SettingsError(ValueError):
    """A setting holds a value the pipeline cannot use (the message names its variable)."""


@dataclass(frozen=True)
class AwsSettings:
    """Where the AWS side lives: region, endpoint (moto locally), bucket and prefixes."""

    region: str = "us-east-1"
    endpoint_url: str | None = None
    bucket: str = "ons-pipeline"
    parquet_prefix: str = "parquet"
    unload_prefix: str = "unload"
    raw_prefix: str = "raw"
    quarantine_prefix: str = "quarantine"
    deadletter_prefix: str = "deadletter"
    timestream_database: str = "ons"
    timestream_legacy_database: str = "ons_energy_data"
    export_mode: str = "query"
    query_page_bytes: int = 1_000_000

    def __post_init__(self) -> None:
        if self.export_mode not in EXPORT_MODES:
            raise SettingsError(
                f"ONS_EXPORT_MODE must be 'query' or 'unload', not {self.export_mode!r}"
            )

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
