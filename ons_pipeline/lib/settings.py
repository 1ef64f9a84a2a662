"""Configuration: one :class:`Settings` object, parsed from ``ONS_*`` environment variables here
and nowhere else (see README, "Configuration").

Every section is a frozen dataclass whose defaults point at the local servers' conventions;
``Settings.from_env`` is pure (it reads only the mapping it is given). The process-wide settings,
with the local servers' URLs filled in when they run, come from
:func:`ons_pipeline.environment.load_settings`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ons_pipeline.lib.aws import AwsSettings, SettingsError
from ons_pipeline.lib.env import Env
from ons_pipeline.lib.influx.client import InfluxClient, InfluxConfig, RetryPolicy, check_url
from ons_pipeline.lib.influx.secrets import resolve_influx_config, secure_client
from ons_pipeline.lib.schema import (
    MappingSettings,
    RetentionGroup,
    SchemaError,
    check_duration,
    retention_groups,
)

__all__ = ["AwsSettings", "SettingsError"]


# -- InfluxDB -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InfluxSettings:
    """The target InfluxDB: its :class:`InfluxConfig` fields as configured (password and token
    may instead come from the Secrets Manager secret ``secret_arn``, read when a client is made,
    never stored here) and the load knobs."""

    connection: Mapping[str, Any] = field(default_factory=dict, repr=False)  # holds secrets
    secret_arn: str | None = None
    secret_aws: AwsSettings = field(default_factory=AwsSettings)  # where the secret is read
    batch_lines: int = 10_000
    write_connections: int = 2

    def __post_init__(self) -> None:
        unknown = set(self.connection) - {f.name for f in fields(InfluxConfig)}
        if unknown:
            raise SettingsError(f"unknown InfluxDB settings: {sorted(unknown)}")
        if self.batch_lines < 1 or self.write_connections < 1:
            raise SettingsError("ONS_INFLUX_BATCH_LINES and _WRITE_CONNECTIONS must be >= 1")
        if self.connection.get("url"):  # whatever the credentials' source: never in the URL
            check_url(str(self.connection["url"]))

    @classmethod
    def of(cls, **values: Any) -> InfluxSettings:
        """From keyword arguments: InfluxConfig fields, ``secret_arn`` and the load knobs."""
        own = {f.name for f in fields(cls)} - {"connection"}
        return cls(
            connection={k: v for k, v in values.items() if k not in own},
            **{k: v for k, v in values.items() if k in own},
        )

    @property
    def database(self) -> str:
        return str(self.connection.get("database") or InfluxConfig.database)

    @property
    def url(self) -> str:
        return str(self.connection.get("url") or InfluxConfig.url)

    def config(self) -> InfluxConfig:
        """The full configuration, credentials from the secret resolved (now)."""
        return resolve_influx_config(self.connection, self.secret_arn, aws=self.secret_aws)

    def client(self, retry: RetryPolicy | None = None, **kwargs: Any) -> InfluxClient:
        """An audited client (TLS policy applied, auth/TLS failures logged as security events)."""
        return secure_client(
            self.connection, retry, secret_arn=self.secret_arn, aws=self.secret_aws, **kwargs
        )


def _influx(env: Env, aws: AwsSettings) -> InfluxSettings:
    arn = env.text("ONS_INFLUX_SECRET_ARN")
    connection: dict[str, Any] = {
        "url": env.text("ONS_INFLUX_URL", InfluxConfig.url),
        "database": env.text("ONS_INFLUX_DATABASE", InfluxConfig.database),
        "retention_policy": env.text("ONS_INFLUX_RETENTION_POLICY"),
        "username": env.text("ONS_INFLUX_USERNAME"),
        "password": env.text("ONS_INFLUX_PASSWORD"),
        "token": env.text("ONS_INFLUX_TOKEN"),
        "auth_scheme": env.text("ONS_INFLUX_AUTH"),
        "verify_tls": env.flag("ONS_INFLUX_VERIFY_TLS", True),
        "ca_bundle": env.text("ONS_INFLUX_CA_BUNDLE"),
        "timeout": env.number("ONS_INFLUX_TIMEOUT", InfluxConfig.timeout),
        "gzip": env.flag("ONS_INFLUX_GZIP", False),
        "engine": env.text("ONS_INFLUX_ENGINE", "1"),
        "org": env.text("ONS_INFLUX_ORG"),
        "allow_insecure": env.flag("ONS_INFLUX_ALLOW_INSECURE", False),
    }
    if not arn or connection["password"] or connection["token"]:
        InfluxConfig(**connection)  # invalid settings fail now, naming the problem
    return InfluxSettings(
        connection=connection,
        secret_arn=arn,
        secret_aws=aws,
        batch_lines=env.integer("ONS_INFLUX_BATCH_LINES", 10_000),
        write_connections=env.integer("ONS_INFLUX_WRITE_CONNECTIONS", 2),
    )


# -- historical migration -------------------------------------------------------------------------


@dataclass(frozen=True)
class MigrationSettings:
    """How the historical backfill is cut into runs and how a run works through its days.

    A run covers up to ``run_rows`` expected rows of one table (its expected rows per day, from
    the mapping's ``series`` and ``grain``) and at most ``max_days_per_run`` days; tables whose
    run size comes out the same share runs. Inside a run, days are exported (in UNLOAD mode: their
    partitions written) ``export_threads`` at a time, and validated, loaded and verified in groups
    of about ``group_rows`` rows while the next group is exported."""

    start: str = "2018-01-01"  # ONS_MIGRATION_START: the first day of the partitions
    run_rows: int = 2_000_000  # ONS_MIGRATION_RUN_ROWS
    max_days_per_run: int = 366  # ONS_MIGRATION_MAX_DAYS_PER_RUN
    group_rows: int = 400_000  # ONS_MIGRATION_GROUP_ROWS
    export_threads: int = 4  # ONS_EXPORT_THREADS: days exported (query) or written (unload) at once

    def days_per_run(self, rows_per_day: int) -> int:
        return max(1, min(self.max_days_per_run, self.run_rows // max(1, rows_per_day)))

    def days_per_group(self, rows_per_day: int) -> int:
        return max(1, min(100, self.group_rows // max(1, rows_per_day)))


def _migration(env: Env) -> MigrationSettings:
    d = MigrationSettings()
    return MigrationSettings(
        start=env.text("ONS_MIGRATION_START", d.start) or d.start,
        run_rows=env.integer("ONS_MIGRATION_RUN_ROWS", d.run_rows, 1),
        max_days_per_run=env.integer("ONS_MIGRATION_MAX_DAYS_PER_RUN", d.max_days_per_run, 1),
        group_rows=env.integer("ONS_MIGRATION_GROUP_ROWS", d.group_rows, 1),
        export_threads=env.integer("ONS_EXPORT_THREADS", d.export_threads, 1),
    )


# -- continuous loading -------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestSettings:
    """Knobs of continuous loading (``ONS_INGEST_*``)."""

    sensor_interval_s: int = 30  # ONS_INGEST_SENSOR_INTERVAL: minimum seconds between ticks
    sensor_running: bool = True  # ONS_INGEST_SENSOR: running | stopped (default status)
    verify_running: bool = True  # ONS_INGEST_VERIFY: running | stopped (the checks sensor)
    max_objects_per_tick: int = 100  # ONS_INGEST_MAX_PER_TICK
    max_object_bytes: int = 512 * 1024 * 1024  # ONS_INGEST_MAX_BYTES
    lookback_s: int = 300  # ONS_INGEST_LOOKBACK: late-listed objects older than the cursor
    max_bad_fraction: float = 0.5  # ONS_INGEST_MAX_BAD_FRACTION: above it nothing is loaded


def _ingest(env: Env) -> IngestSettings:
    d = IngestSettings()
    return IngestSettings(
        sensor_interval_s=env.integer("ONS_INGEST_SENSOR_INTERVAL", d.sensor_interval_s, 1),
        sensor_running=env.running("ONS_INGEST_SENSOR"),
        verify_running=env.running("ONS_INGEST_VERIFY"),
        max_objects_per_tick=env.integer("ONS_INGEST_MAX_PER_TICK", d.max_objects_per_tick, 1),
        max_object_bytes=env.integer("ONS_INGEST_MAX_BYTES", d.max_object_bytes),
        lookback_s=env.integer("ONS_INGEST_LOOKBACK", d.lookback_s, 0),
        max_bad_fraction=env.number("ONS_INGEST_MAX_BAD_FRACTION", d.max_bad_fraction),
    )


# -- monitoring ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """When to alert (``ONS_ALERT_<FIELD>``, e.g. ``ONS_ALERT_MAX_LOAD_LAG_SECONDS``). Defaults
    match the CloudWatch alarms in ``infra/modules/monitoring``.

    ``min_points_per_second`` applies only to runs that wrote at least
    ``min_points_for_throughput`` points: a small daily table is dominated by fixed costs.
    """

    max_failed_batches: int = 0
    max_check_failures: int = 0
    max_load_lag_seconds: float = 129_600.0  # 36 h: daily partitions
    min_points_per_second: float = 1_000.0
    min_points_for_throughput: int = 10_000
    max_query_latency_ms: float = 2_000.0
    max_write_read_latency_ms: float = 5_000.0
    realert_seconds: float = 3_600.0


@dataclass(frozen=True)
class MonitoringSettings:
    """Where metrics and alerts go: CloudWatch namespace and ``Environment`` dimension
    (``ONS_METRICS_NAMESPACE``, ``ONS_METRICS_ENVIRONMENT``), the SNS topic
    (``ONS_ALARM_TOPIC_ARN``), the thresholds and the health probe's interval."""

    namespace: str = "ONS/Pipeline"
    environment: str = "local"
    alarm_topic_arn: str | None = None
    notification_topic_arn: str | None = None  # ONS_SNS_TOPIC_ARN: run failures and completions
    thresholds: Thresholds = field(default_factory=Thresholds)
    health_interval_s: int = 300  # ONS_HEALTH_INTERVAL_SECONDS
    # Sensors run by default where the deployment says where metrics go (ONS_METRICS_ENVIRONMENT
    # is set in the ECS containers); on a laptop they wait to be switched on in the UI.
    sensors_running: bool = False


def _monitoring(env: Env) -> MonitoringSettings:
    d = MonitoringSettings()
    limits: dict[str, Any] = {}
    for spec in fields(Thresholds):
        default = spec.default
        value = env.number(f"ONS_ALERT_{spec.name.upper()}", float(default))  # type: ignore[arg-type]
        limits[spec.name] = int(value) if isinstance(default, int) else value
    environment = env.text("ONS_METRICS_ENVIRONMENT")
    return MonitoringSettings(
        namespace=env.text("ONS_METRICS_NAMESPACE", d.namespace) or d.namespace,
        environment=environment or d.environment,
        alarm_topic_arn=env.text("ONS_ALARM_TOPIC_ARN"),
        notification_topic_arn=env.text("ONS_SNS_TOPIC_ARN"),
        thresholds=Thresholds(**limits),
        health_interval_s=env.integer("ONS_HEALTH_INTERVAL_SECONDS", d.health_interval_s, 1),
        sensors_running=environment is not None,
    )


@dataclass(frozen=True)
class InstanceSettings:
    """The Timestream for InfluxDB instance as deployed (priced by the cost asset); defaults are
    the dev tfvars' values."""

    instance_type: str = "db.influx.medium"  # ONS_INFLUX_INSTANCE_TYPE
    storage_type: str = "InfluxIOIncludedT1"  # ONS_INFLUX_STORAGE_TYPE
    allocated_storage_gb: int = 50  # ONS_INFLUX_ALLOCATED_STORAGE
    deployment_type: str = "SINGLE_AZ"  # ONS_INFLUX_DEPLOYMENT_TYPE


def _instance(env: Env) -> InstanceSettings:
    d = InstanceSettings()
    return InstanceSettings(
        instance_type=env.text("ONS_INFLUX_INSTANCE_TYPE", d.instance_type) or d.instance_type,
        storage_type=env.text("ONS_INFLUX_STORAGE_TYPE", d.storage_type) or d.storage_type,
        allocated_storage_gb=env.integer("ONS_INFLUX_ALLOCATED_STORAGE", d.allocated_storage_gb),
        deployment_type=env.text("ONS_INFLUX_DEPLOYMENT_TYPE", d.deployment_type)
        or d.deployment_type,
    )


# -- query API ------------------------------------------------------------------------------------

RAG_RETRIEVERS = ("local", "bedrock")


@dataclass(frozen=True)
class BedrockSettings:
    """An existing Amazon Bedrock knowledge base and, optionally, a Bedrock model for answers
    (``ONS_BEDROCK_*``); used when ``ONS_RAG_RETRIEVER=bedrock`` (the model also without)."""

    knowledge_base_id: str | None = None  # ONS_BEDROCK_KNOWLEDGE_BASE_ID
    model_id: str | None = None  # ONS_BEDROCK_MODEL_ID: Converse answers; unset = templates
    region: str = "us-east-1"  # ONS_BEDROCK_REGION (default: AWS_REGION)
    endpoint_url: str | None = None  # ONS_BEDROCK_ENDPOINT_URL: every Bedrock service (tests)
    timeout_s: float = 30.0  # ONS_BEDROCK_TIMEOUT: connect and read timeout of one call
    max_attempts: int = 3  # ONS_BEDROCK_MAX_ATTEMPTS: botocore standard retries, first included
    max_tokens: int = 800  # ONS_BEDROCK_MAX_TOKENS: answer length limit of the model

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.max_attempts < 1 or self.max_tokens < 1:
            raise SettingsError("ONS_BEDROCK_TIMEOUT, _MAX_ATTEMPTS and _MAX_TOKENS must be > 0")


@dataclass(frozen=True)
class ApiSettings:
    """The query API and its RAG context (``ONS_API_*``, ``ONS_RAG_*``)."""

    api_key: str | None = field(default=None, repr=False)  # ONS_API_KEY
    # ONS_API_FINGERPRINT_KEY: keys the fingerprints of API keys in security events, the same
    # on every task; unset, a random one per process (never the API key: its own fingerprint
    # would then let anyone holding the logs test guesses of it offline)
    fingerprint_key: str | None = field(default=None, repr=False)
    cache_ttl_s: float = 300.0  # ONS_API_CACHE_TTL (0 disables)
    cache_max_entries: int = 512  # ONS_API_CACHE_SIZE
    query_timeout_s: float = 30.0  # ONS_API_QUERY_TIMEOUT
    max_rows: int = 10_000  # ONS_API_MAX_ROWS
    timezone: str = "America/Sao_Paulo"  # ONS_API_TIMEZONE: zone of relative periods
    rag_cache_dir: Path | None = None  # ONS_RAG_CACHE_DIR (default $ONS_STATE_DIR/rag)
    rag_embedder: str = "minilm"  # ONS_RAG_EMBEDDER: minilm | hashing
    # Token bucket per API key, in each process (each ECS task): see README, "Rate limiting".
    rate_limit_per_s: float = 20.0  # ONS_API_RATE_LIMIT: sustained requests/s per key (0 = off)
    rate_limit_burst: int = 40  # ONS_API_RATE_BURST: requests a key may send at once
    # Request metrics to CloudWatch (namespace and Environment from the monitoring settings).
    metrics: bool = False  # ONS_API_METRICS (default: on when ONS_METRICS_ENVIRONMENT is set)
    metrics_interval_s: float = 60.0  # ONS_API_METRICS_INTERVAL: seconds between publications
    rag_retriever: str = "local"  # ONS_RAG_RETRIEVER: local (MiniLM index) | bedrock
    bedrock: BedrockSettings = field(default_factory=BedrockSettings)
    rollups: bool = True  # ONS_QUERY_ROLLUPS: answer routable models from the rollups

    def __post_init__(self) -> None:
        if self.query_timeout_s <= 0 or self.max_rows < 1 or self.cache_ttl_s < 0:
            raise SettingsError("query timeout and max rows must be positive, cache TTL >= 0")
        if self.rate_limit_per_s < 0 or self.rate_limit_burst < 1:
            raise SettingsError("ONS_API_RATE_LIMIT must be >= 0 and ONS_API_RATE_BURST >= 1")
        if self.metrics_interval_s < 1:
            raise SettingsError("ONS_API_METRICS_INTERVAL must be >= 1 second")
        if self.rag_retriever not in RAG_RETRIEVERS:
            raise SettingsError(
                f"ONS_RAG_RETRIEVER must be one of {RAG_RETRIEVERS}, not {self.rag_retriever!r}"
            )
        if self.rag_retriever == "bedrock" and not self.bedrock.knowledge_base_id:
            raise SettingsError("ONS_RAG_RETRIEVER=bedrock needs ONS_BEDROCK_KNOWLEDGE_BASE_ID")


def _bedrock(env: Env, aws: AwsSettings) -> BedrockSettings:
    d = BedrockSettings()
    return BedrockSettings(
        knowledge_base_id=env.text("ONS_BEDROCK_KNOWLEDGE_BASE_ID"),
        model_id=env.text("ONS_BEDROCK_MODEL_ID"),
        region=env.text("ONS_BEDROCK_REGION", aws.region) or aws.region,
        endpoint_url=env.text("ONS_BEDROCK_ENDPOINT_URL"),
        timeout_s=env.number("ONS_BEDROCK_TIMEOUT", d.timeout_s),
        max_attempts=env.integer("ONS_BEDROCK_MAX_ATTEMPTS", d.max_attempts),
        max_tokens=env.integer("ONS_BEDROCK_MAX_TOKENS", d.max_tokens),
    )


def _api(env: Env, state_dir: Path, aws: AwsSettings | None = None) -> ApiSettings:
    d = ApiSettings()
    rag_dir = env.text("ONS_RAG_CACHE_DIR")
    metrics_default = env.text("ONS_METRICS_ENVIRONMENT") is not None
    return ApiSettings(
        api_key=env.text("ONS_API_KEY"),
        fingerprint_key=env.text("ONS_API_FINGERPRINT_KEY"),
        cache_ttl_s=env.number("ONS_API_CACHE_TTL", d.cache_ttl_s),
        cache_max_entries=env.integer("ONS_API_CACHE_SIZE", d.cache_max_entries),
        query_timeout_s=env.number("ONS_API_QUERY_TIMEOUT", d.query_timeout_s),
        max_rows=env.integer("ONS_API_MAX_ROWS", d.max_rows),
        timezone=env.text("ONS_API_TIMEZONE", d.timezone) or d.timezone,
        rag_cache_dir=Path(rag_dir) if rag_dir else state_dir / "rag",
        rag_embedder=(env.text("ONS_RAG_EMBEDDER", d.rag_embedder) or d.rag_embedder).lower(),
        rate_limit_per_s=env.number("ONS_API_RATE_LIMIT", d.rate_limit_per_s),
        rate_limit_burst=env.integer("ONS_API_RATE_BURST", d.rate_limit_burst),
        metrics=env.flag("ONS_API_METRICS", metrics_default),
        metrics_interval_s=env.number("ONS_API_METRICS_INTERVAL", d.metrics_interval_s),
        rag_retriever=(env.text("ONS_RAG_RETRIEVER", d.rag_retriever) or d.rag_retriever).lower(),
        bedrock=_bedrock(env, aws or AwsSettings()),
        rollups=env.flag("ONS_QUERY_ROLLUPS", d.rollups),
    )


# -- retention ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionSettings:
    """Retention of each group of measurements: the ``[retention.<group>]`` durations of
    ``tables.toml``, each overridden by ``ONS_RETENTION_<GROUP>`` (``INF`` or an InfluxQL
    duration); ``ONS_RETENTION_ALLOW_SHORTEN`` lets a shorter duration than the server's be
    applied (it deletes data)."""

    durations: Mapping[str, str] = field(default_factory=dict)
    allow_shorten: bool = False

    def groups(self) -> list[RetentionGroup]:
        """The declared groups with the overridden durations."""
        out = []
        for group in retention_groups().values():
            duration = self.durations.get(group.name)
            out.append(replace(group, duration=duration) if duration else group)
        return out

    def group(self, name: str) -> RetentionGroup:
        for group in self.groups():
            if group.name == name:
                return group
        raise SettingsError(f"no retention group {name!r} in tables.toml")


@dataclass(frozen=True)
class RollupSettings:
    """How the rollups are kept in step (``ONS_ROLLUPS_*``)."""

    sensor_running: bool = True  # ONS_ROLLUPS_SENSOR: running | stopped (rollups_in_step default)


def _rollups(env: Env) -> RollupSettings:
    return RollupSettings(sensor_running=env.running("ONS_ROLLUPS_SENSOR"))


def _retention(env: Env) -> RetentionSettings:
    durations: dict[str, str] = {}
    for name in retention_groups():
        variable = f"ONS_RETENTION_{name.upper()}"
        value = env.text(variable)
        if value is not None:
            try:
                durations[name] = check_duration(value, variable)
            except SchemaError as exc:
                raise SettingsError(str(exc)) from None
    return RetentionSettings(durations, env.flag("ONS_RETENTION_ALLOW_SHORTEN", False))


# -- everything -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Everything the pipeline, the CLI and the API need to find their stores and knobs."""

    aws: AwsSettings = field(default_factory=AwsSettings)
    influx: InfluxSettings = field(default_factory=InfluxSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)
    instance: InstanceSettings = field(default_factory=InstanceSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    migration: MigrationSettings = field(default_factory=MigrationSettings)
    report_path: str | None = None  # ONS_REPORT_PATH: also write the migration report there
    state_dir: Path = Path(".ons-pipeline")  # ONS_STATE_DIR: local servers, caches
    seed: int = 0  # ONS_SEED: the generator's seed (local data)
    mapping: MappingSettings = field(default_factory=MappingSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    rollups: RollupSettings = field(default_factory=RollupSettings)

    @classmethod
    def from_env(cls, source: Mapping[str, str] | None = None) -> Settings:
        """Parse ``source`` (default: ``os.environ``); a bad value raises :class:`SettingsError`
        naming its variable."""
        env = Env(os.environ if source is None else source)
        state_dir = Path(env.text("ONS_STATE_DIR", ".ons-pipeline") or ".ons-pipeline").resolve()
        defaults = AwsSettings()
        aws = AwsSettings(
            region=env.text("AWS_REGION") or env.text("AWS_DEFAULT_REGION") or defaults.region,
            endpoint_url=env.text("ONS_AWS_ENDPOINT_URL") or env.text("AWS_ENDPOINT_URL"),
            bucket=env.text("ONS_S3_BUCKET", defaults.bucket) or defaults.bucket,
            parquet_prefix=env.text("ONS_S3_PARQUET_PREFIX", defaults.parquet_prefix) or "",
            unload_prefix=env.text("ONS_S3_UNLOAD_PREFIX", defaults.unload_prefix) or "",
            raw_prefix=env.text("ONS_S3_RAW_PREFIX", defaults.raw_prefix) or "",
            quarantine_prefix=env.text("ONS_S3_QUARANTINE_PREFIX", defaults.quarantine_prefix)
            or "",
            deadletter_prefix=env.text("ONS_S3_DEADLETTER_PREFIX", defaults.deadletter_prefix)
            or "",
            timestream_database=env.text("ONS_TIMESTREAM_DATABASE", defaults.timestream_database)
            or "",
            timestream_legacy_database=env.text(
                "ONS_TIMESTREAM_LEGACY_DATABASE", defaults.timestream_legacy_database
            )
            or "",
            export_mode=env.text("ONS_EXPORT_MODE", defaults.export_mode) or "",
            query_page_bytes=env.integer("ONS_QUERY_PAGE_BYTES", defaults.query_page_bytes),
        )
        return cls(
            aws=aws,
            influx=_influx(env, aws),
            ingest=_ingest(env),
            monitoring=_monitoring(env),
            instance=_instance(env),
            api=_api(env, state_dir, aws),
            migration=_migration(env),
            report_path=env.text("ONS_REPORT_PATH"),
            state_dir=state_dir,
            seed=env.integer("ONS_SEED", 0),
            mapping=MappingSettings.from_env(env.source),
            retention=_retention(env),
            rollups=_rollups(env),
        )
