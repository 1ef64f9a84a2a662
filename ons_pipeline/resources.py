"""Dagster resources: typed, injected, configured from ``ONS_*`` environment variables."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import Field

from ons_pipeline.lib.influx.client import InfluxClient, InfluxConfig, RetryPolicy
from ons_pipeline.lib.influx.secrets import resolve_influx_config, secure_client
from ons_pipeline.lib.migration.exporter import ExportTarget
from ons_pipeline.lib.settings import AwsSettings, Settings


class AwsResource(dg.ConfigurableResource):
    """AWS side: S3 bucket and prefixes, Timestream databases and export mode."""

    region: str = "us-east-1"
    endpoint_url: str | None = Field(
        default=None, description="Local AWS endpoint (moto); None for real AWS."
    )
    bucket: str = "ons-pipeline"
    parquet_prefix: str = "parquet"
    unload_prefix: str = "unload"
    raw_prefix: str = "raw"
    deadletter_prefix: str = "deadletter"
    timestream_database: str = "ons"
    timestream_legacy_database: str = "ons_energy_data"
    export_mode: str = Field(default="query", description="'query' (paged) or 'unload'.")

    @classmethod
    def from_settings(cls, aws: AwsSettings) -> "AwsResource":
        return cls(
            region=aws.region,
            endpoint_url=aws.endpoint_url,
            bucket=aws.bucket,
            parquet_prefix=aws.parquet_prefix,
            unload_prefix=aws.unload_prefix,
            raw_prefix=aws.raw_prefix,
            deadletter_prefix=aws.deadletter_prefix,
            timestream_database=aws.timestream_database,
            timestream_legacy_database=aws.timestream_legacy_database,
            export_mode=aws.export_mode,
        )

    def settings(self) -> AwsSettings:
        return AwsSettings(
            region=self.region,
            endpoint_url=self.endpoint_url,
            bucket=self.bucket,
            parquet_prefix=self.parquet_prefix,
            unload_prefix=self.unload_prefix,
            raw_prefix=self.raw_prefix,
            deadletter_prefix=self.deadletter_prefix,
            timestream_database=self.timestream_database,
            timestream_legacy_database=self.timestream_legacy_database,
            export_mode=self.export_mode,
        )

    def client(self, service: str) -> Any:
        return self.settings().client(service)

    def export_target(self) -> ExportTarget:
        return ExportTarget(
            bucket=self.bucket,
            parquet_prefix=self.parquet_prefix,
            unload_prefix=self.unload_prefix,
            ons_database=self.timestream_database,
            legacy_database=self.timestream_legacy_database,
        )


def default_settings() -> Settings:
    return Settings.from_env()


class InfluxDBResource(dg.ConfigurableResource):
    """The target InfluxDB (v1 write + InfluxQL API; any engine).

    Credentials come from env vars (``ONS_INFLUX_PASSWORD``/``ONS_INFLUX_TOKEN``) or, when neither
    is set, from the Secrets Manager secret ``ONS_INFLUX_SECRET_ARN``, read at run time (never
    stored in the resource's config). Plain http is refused outside loopback unless
    ``allow_insecure``; auth and TLS failures are logged as security events.
    """

    url: str = "http://127.0.0.1:8086"
    database: str = "ons"
    retention_policy: str | None = None
    username: str | None = None
    password: str | None = None
    token: str | None = None
    auth_scheme: str | None = None
    verify_tls: bool = True
    ca_bundle: str | None = None
    timeout: float = 30.0
    gzip: bool = False
    engine: str = "1"
    org: str | None = None
    allow_insecure: bool = False
    batch_lines: int = Field(default=10_000, description="Lines per write request.")
    write_connections: int = Field(
        default=2, description="Concurrent write requests per load (keeps the server busy)."
    )
    secret_arn: str | None = Field(
        default=None,
        description="Secrets Manager secret with the InfluxDB credentials (ONS_INFLUX_SECRET_ARN),"
        " read at run time when no password or token is set.",
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "InfluxDBResource":
        """Non-secret values are read now; password and token stay ``dg.EnvVar`` references so
        they are resolved at run time and never stored in run config or shown in the UI."""
        config = InfluxConfig.from_env(
            {k: v for k, v in env.items() if "PASSWORD" not in k and "TOKEN" not in k}
        )
        secrets: dict[str, Any] = {}
        if env.get("ONS_INFLUX_PASSWORD"):
            secrets["password"] = dg.EnvVar("ONS_INFLUX_PASSWORD")
        if env.get("ONS_INFLUX_TOKEN"):
            secrets["token"] = dg.EnvVar("ONS_INFLUX_TOKEN")
        auth = env.get("ONS_INFLUX_AUTH") or None
        return cls(
            url=config.url,
            database=config.database,
            retention_policy=config.retention_policy,
            username=config.username,
            auth_scheme=auth,
            verify_tls=config.verify_tls,
            ca_bundle=config.ca_bundle,
            timeout=config.timeout,
            gzip=config.gzip,
            engine=config.engine,
            org=config.org,
            allow_insecure=config.allow_insecure,
            batch_lines=int(env.get("ONS_INFLUX_BATCH_LINES", "10000")),
            write_connections=int(env.get("ONS_INFLUX_WRITE_CONNECTIONS", "2")),
            secret_arn=env.get("ONS_INFLUX_SECRET_ARN") or None,
            **secrets,
        )

    def config(self) -> InfluxConfig:
        """The full configuration, credentials from the secret resolved (at run time)."""
        return resolve_influx_config(self.config_fields(), self.secret_arn)

    def config_fields(self) -> dict[str, Any]:
        """The InfluxConfig fields as configured (secrets not resolved)."""
        return dict(
            url=self.url,
            database=self.database,
            retention_policy=self.retention_policy,
            username=self.username,
            password=self.password,
            token=self.token,
            auth_scheme=self.auth_scheme,
            verify_tls=self.verify_tls,
            ca_bundle=self.ca_bundle,
            timeout=self.timeout,
            gzip=self.gzip,
            engine=self.engine,
            org=self.org,
            allow_insecure=self.allow_insecure,
        )

    def client(self, retry: RetryPolicy | None = None) -> InfluxClient:
        return secure_client(self.config_fields(), retry, secret_arn=self.secret_arn)
