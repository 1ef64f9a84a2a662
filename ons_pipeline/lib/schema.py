"""Schema mapping: Timestream tables → canonical Arrow schema → InfluxDB measurement, tags, fields.

The mapping is declared in ``tables.toml`` beside this module and validated when loaded. Every
other module (generator, exporter, converter, loader, checks, query layer) takes its column names
and types from here.

Canonical partition layout (the Parquet on S3 and what the converter reads): a ``time`` column of
``timestamp[ns, UTC]``, then the tag columns as strings, then the field columns, typed.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa

TIME_COLUMN = "time"
TIME_TYPE = pa.timestamp("ns", tz="UTC")
MAPPING_FILE = Path(__file__).with_name("tables.toml")


class SchemaError(ValueError):
    """The schema mapping is invalid, or data does not match it."""


class MeasureType(StrEnum):
    """Timestream measure types."""

    DOUBLE = "DOUBLE"
    BIGINT = "BIGINT"
    VARCHAR = "VARCHAR"
    BOOLEAN = "BOOLEAN"
    TIMESTAMP = "TIMESTAMP"

    @property
    def arrow_type(self) -> pa.DataType:
        return _ARROW_TYPES[self]


_ARROW_TYPES: dict[MeasureType, pa.DataType] = {
    MeasureType.DOUBLE: pa.float64(),
    MeasureType.BIGINT: pa.int64(),
    MeasureType.VARCHAR: pa.string(),
    MeasureType.BOOLEAN: pa.bool_(),
    # InfluxDB has no timestamp field type: TIMESTAMP measures are written as integer ns.
    MeasureType.TIMESTAMP: pa.timestamp("ns", tz="UTC"),
}


class Source(StrEnum):
    ONS = "ons"
    LEGACY = "legacy"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: MeasureType
    unit: str = ""


@dataclass(frozen=True)
class TableSpec:
    """How one Timestream table maps to one InfluxDB measurement."""

    name: str
    description: str
    source: Source
    measure_name: str
    grain: timedelta
    tags: tuple[str, ...]
    fields: tuple[FieldSpec, ...]
    measurement: str
    optional_tags: frozenset[str] = frozenset()
    raw_time_column: str | None = None
    raw_renames: dict[str, str] = field(default_factory=dict)
    series: int = 5  # expected number of series (sizes runs; the data may have more or fewer)

    @property
    def rows_per_day(self) -> int:
        """Expected rows of one UTC day: series × samples per day."""
        return self.series * max(1, round(timedelta(days=1) / self.grain))

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def columns(self) -> tuple[str, ...]:
        return (TIME_COLUMN, *self.tags, *self.field_names)

    @property
    def time_precision(self) -> str:
        """Precision of the source's timestamps: the legacy platform wrote milliseconds."""
        return "ms" if self.source is Source.LEGACY else "ns"

    def field_spec(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise SchemaError(f"table {self.name!r} has no field {name!r}; fields: {self.field_names}")

    def arrow_schema(self) -> pa.Schema:
        columns = [pa.field(TIME_COLUMN, TIME_TYPE, nullable=False)]
        columns += [pa.field(t, pa.string(), nullable=t in self.optional_tags) for t in self.tags]
        columns += [pa.field(f.name, f.type.arrow_type) for f in self.fields]
        return pa.schema(columns)


_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ALLOWED_KEYS = {
    "description",
    "source",
    "measure_name",
    "grain",
    "tags",
    "optional_tags",
    "fields",
    "units",
    "measurement",
    "raw_time_column",
    "raw_renames",
    "series",
}
_REQUIRED_KEYS = {"description", "source", "measure_name", "grain", "tags", "fields"}
_GRAIN = re.compile(r"^(\d+)([smhd])$")
_GRAIN_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_grain(text: str) -> timedelta:
    match = _GRAIN.match(text)
    if not match:
        raise SchemaError(f"grain {text!r} is not like '30m', '1h' or '1d'")
    return timedelta(**{_GRAIN_UNITS[match.group(2)]: int(match.group(1))})


def _table_from_mapping(name: str, raw: dict[str, Any]) -> TableSpec:
    where = f"table {name!r}"
    if not _NAME.match(name):
        raise SchemaError(f"{where}: name must match {_NAME.pattern}")
    unknown = set(raw) - _ALLOWED_KEYS
    if unknown:
        raise SchemaError(f"{where}: unknown keys {sorted(unknown)}")
    missing = _REQUIRED_KEYS - set(raw)
    if missing:
        raise SchemaError(f"{where}: missing keys {sorted(missing)}")
    try:
        source = Source(raw["source"])
    except ValueError:
        raise SchemaError(f"{where}: source must be one of {[s.value for s in Source]}") from None
    tags = tuple(raw["tags"])
    fields_raw: dict[str, str] = raw["fields"]
    units: dict[str, str] = raw.get("units", {})
    if not fields_raw:
        raise SchemaError(f"{where}: at least one field is required")
    fields: list[FieldSpec] = []
    for fname, ftype in fields_raw.items():
        try:
            mtype = MeasureType(ftype)
        except ValueError:
            raise SchemaError(
                f"{where}: field {fname!r} has type {ftype!r}; "
                f"expected one of {[t.value for t in MeasureType]}"
            ) from None
        fields.append(FieldSpec(fname, mtype, units.get(fname, "")))
    names = [TIME_COLUMN, *tags, *fields_raw]
    for column in names[1:]:
        if not _NAME.match(column):
            raise SchemaError(f"{where}: column {column!r} must match {_NAME.pattern}")
    duplicates = sorted({c for c in names if names.count(c) > 1})
    if duplicates:
        raise SchemaError(f"{where}: columns used twice (tags, fields and 'time'): {duplicates}")
    optional = frozenset(raw.get("optional_tags", ()))
    if not optional <= set(tags):
        raise SchemaError(f"{where}: optional_tags {sorted(optional - set(tags))} are not tags")
    if set(units) - set(fields_raw):
        raise SchemaError(
            f"{where}: units for unknown fields {sorted(set(units) - set(fields_raw))}"
        )
    series = raw.get("series", 5)
    if not isinstance(series, int) or isinstance(series, bool) or series < 1:
        raise SchemaError(f"{where}: series must be a positive integer, not {series!r}")
    if source is Source.LEGACY and (
        raw["measure_name"] != "value" or list(fields_raw.items()) != [("value", "DOUBLE")]
    ):
        raise SchemaError(f"{where}: legacy tables hold one DOUBLE measure named 'value'")
    return TableSpec(
        name=name,
        description=raw["description"],
        source=source,
        measure_name=raw["measure_name"],
        grain=parse_grain(raw["grain"]),
        tags=tags,
        fields=tuple(fields),
        measurement=raw.get("measurement", name),
        optional_tags=optional,
        raw_time_column=raw.get("raw_time_column"),
        raw_renames=dict(raw.get("raw_renames", {})),
        series=series,
    )


def load_mapping(path: Path = MAPPING_FILE) -> dict[str, TableSpec]:
    """Parse and validate a mapping file; errors name the file and the table."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(f"{path}: {exc}") from exc
    tables = document.get("tables")
    if not isinstance(tables, dict) or not tables:
        raise SchemaError(f"{path}: no [tables.<name>] entries")
    try:
        return {name: _table_from_mapping(name, raw) for name, raw in tables.items()}
    except SchemaError as exc:
        raise SchemaError(f"{path}: {exc}") from exc


@cache
def tables() -> dict[str, TableSpec]:
    """The project's table mapping (from ``tables.toml``)."""
    return load_mapping()


def table(name: str) -> TableSpec:
    try:
        return tables()[name]
    except KeyError:
        raise SchemaError(f"unknown table {name!r}; known tables: {sorted(tables())}") from None


def ons_tables() -> list[str]:
    return [name for name, spec in tables().items() if spec.source is Source.ONS]


def legacy_tables() -> list[str]:
    return [name for name, spec in tables().items() if spec.source is Source.LEGACY]


# -- retention groups and rollups (``[retention.<group>]`` and ``[rollups]`` in the mapping) -------

_DURATION = re.compile(r"^(?:INF|(?:\d+(?:ns|u|µ|ms|s|m|h|d|w))+)$")


@dataclass(frozen=True)
class RetentionGroup:
    """A group of measurements kept for one duration: ``policy`` ``None`` is the database's
    default retention policy (where the loaders write the tables), ``duration`` ``"INF"`` or an
    InfluxQL duration."""

    name: str
    description: str
    policy: str | None
    duration: str
    shard_duration: str | None = None

    @property
    def forever(self) -> bool:
        return self.duration.upper() == "INF"


@dataclass(frozen=True)
class RollupConfig:
    """Which tables are rolled up, over the local days and months of ``timezone``, into which
    retention group; ``coverage_measurement`` records every bucket rolled up."""

    timezone: str
    retention: str
    coverage_measurement: str
    tables: tuple[str, ...]


def check_duration(text: str, where: str) -> str:
    """``text`` if it is ``INF`` or an InfluxQL duration (``30d``, ``1h30m``); else SchemaError."""
    if not isinstance(text, str) or not _DURATION.match(text.strip()):
        raise SchemaError(f"{where}: {text!r} is not INF or an InfluxQL duration like '400d'")
    return text.strip()


def load_retention(path: Path = MAPPING_FILE) -> dict[str, RetentionGroup]:
    """The ``[retention.<group>]`` entries: exactly one group on the default policy."""
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    raw = document.get("retention")
    if not isinstance(raw, dict) or not raw:
        raise SchemaError(f"{path}: no [retention.<group>] entries")
    groups: dict[str, RetentionGroup] = {}
    for name, entry in raw.items():
        where = f"{path}: retention group {name!r}"
        if not _NAME.match(name):
            raise SchemaError(f"{where}: name must match {_NAME.pattern}")
        unknown = set(entry) - {"description", "policy", "duration", "shard_duration"}
        if unknown:
            raise SchemaError(f"{where}: unknown keys {sorted(unknown)}")
        policy = str(entry.get("policy", ""))
        if policy and not _NAME.match(policy):
            raise SchemaError(f"{where}: policy must match {_NAME.pattern}")
        shard = entry.get("shard_duration")
        groups[name] = RetentionGroup(
            name=name,
            description=str(entry.get("description", "")),
            policy=policy or None,
            duration=check_duration(entry.get("duration", "INF"), where),
            shard_duration=None if shard is None else check_duration(shard, where),
        )
    defaults = [g.name for g in groups.values() if g.policy is None]
    if len(defaults) != 1:
        raise SchemaError(f"{path}: exactly one retention group has policy '', not {defaults}")
    policies = [g.policy for g in groups.values() if g.policy]
    if len(set(policies)) != len(policies):
        raise SchemaError(f"{path}: retention groups share a policy: {policies}")
    return groups


def load_rollups(
    path: Path = MAPPING_FILE, known: dict[str, TableSpec] | None = None
) -> RollupConfig:
    """The ``[rollups]`` entry, checked against the tables and the retention groups."""
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    raw = document.get("rollups")
    where = f"{path}: [rollups]"
    if not isinstance(raw, dict):
        raise SchemaError(f"{where} is missing")
    unknown = set(raw) - {"timezone", "retention", "coverage_measurement", "tables"}
    if unknown:
        raise SchemaError(f"{where}: unknown keys {sorted(unknown)}")
    specs = known if known is not None else load_mapping(path)
    groups = load_retention(path)
    names = tuple(raw.get("tables", ()))
    missing = [n for n in names if n not in specs]
    if missing:
        raise SchemaError(f"{where}: unknown tables {missing}")
    group = str(raw.get("retention", ""))
    if group not in groups:
        raise SchemaError(f"{where}: retention {group!r} is not a [retention.<group>]")
    coverage = str(raw.get("coverage_measurement", "rollup_coverage"))
    if not _NAME.match(coverage):
        raise SchemaError(f"{where}: coverage_measurement must match {_NAME.pattern}")
    return RollupConfig(
        timezone=str(raw.get("timezone", "UTC")),
        retention=group,
        coverage_measurement=coverage,
        tables=names,
    )


@cache
def retention_groups() -> dict[str, RetentionGroup]:
    """The project's retention groups (from ``tables.toml``)."""
    return load_retention()


@cache
def rollup_config() -> RollupConfig:
    """The project's rollup declaration (from ``tables.toml``)."""
    return load_rollups(known=tables())
