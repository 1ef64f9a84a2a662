"""Schema mapping: Timestream tables → canonical Arrow schema → InfluxDB measurement, tags, fields.

The mapping is declared in ``tables.toml`` beside this module (or the file ``ONS_MAPPING_FILE``
names), merged with user files (``ONS_MAPPING_EXTRA``) that add tables or replace them, and
validated when loaded: errors name the file, the table and the key. Every other module
(generator, exporter, converter, loader, checks, query layer) takes its column names and types
from here, through :func:`tables` and :func:`table`.

Canonical partition layout (the Parquet on S3 and what the converter reads): a ``time`` column of
``timestamp[ns, UTC]``, then the tag columns as strings, then the field columns, typed.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa

from ons_pipeline.lib.env import Env

TIME_COLUMN = "time"
TIME_TYPE = pa.timestamp("ns", tz="UTC")
MAPPING_FILE = Path(__file__).with_name("tables.toml")


@dataclass(frozen=True)
class MappingSettings:
    """Where the schema mapping comes from: the project's mapping file (``ONS_MAPPING_FILE``,
    default the one shipped in the package) and user files whose tables add to it or replace
    its tables of the same name (``ONS_MAPPING_EXTRA``: paths separated by ``os.pathsep``,
    applied in order)."""

    file: Path = MAPPING_FILE
    extra: tuple[Path, ...] = ()

    @property
    def files(self) -> tuple[Path, ...]:
        return (self.file, *self.extra)

    @classmethod
    def from_env(cls, source: Mapping[str, str] | None = None) -> MappingSettings:
        env = Env(os.environ if source is None else source)
        base = env.text("ONS_MAPPING_FILE")
        extra = env.text("ONS_MAPPING_EXTRA") or ""
        return cls(
            file=Path(base).expanduser() if base else MAPPING_FILE,
            extra=tuple(Path(p).expanduser() for p in extra.split(os.pathsep) if p.strip()),
        )


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
    """Where a table comes from: ONS open data, the replaced platform, or any other Timestream
    table (one ``ons-pipeline discover`` found, or a user declared)."""

    ONS = "ons"
    LEGACY = "legacy"
    TIMESTREAM = "timestream"


class Layout(StrEnum):
    """How a table's records carry its measures."""

    MULTI = "multi"  # multi-measure records under one measure_name: each measure is a field
    SINGLE = "single"  # single-measure records: each measure_name is a field (pivoted by time)


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
    # the tags that identify a series; the others only describe it (a name beside its code), so a
    # file may rename them: empty means every tag identifies
    key_tags: tuple[str, ...] = ()
    raw_time_column: str | None = None
    raw_renames: dict[str, str] = field(default_factory=dict)
    series: int = 5  # expected number of series (sizes runs; the data may have more or fewer)
    origin: str = ""  # the mapping file that declared the table
    database: str | None = None  # Timestream database; default by source (ONS or legacy)
    timestream_table: str | None = None  # Timestream table name when it is not ``name``
    layout: Layout = Layout.MULTI
    source_columns: dict[str, str] = field(default_factory=dict)  # tag/field → source name
    raw_columns: tuple[str, ...] = ()  # the raw file's header, in order (empty: derived)
    raw_decimal: str = "."  # decimal separator of the raw file's numbers

    @property
    def identity_tags(self) -> tuple[str, ...]:
        """The tags that identify a series (``key_tags``, else all of them)."""
        return self.key_tags or self.tags

    @property
    def source_table(self) -> str:
        """The table's name in Timestream."""
        return self.timestream_table or self.name

    def source_column(self, column: str) -> str:
        """The Timestream name of a tag (dimension) or field (measure)."""
        return self.source_columns.get(column, column)

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
# Timestream database and table names: 3 to 256 letters, digits, '_', '.' and '-'
_TIMESTREAM_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,256}$")
_ALLOWED_KEYS = {
    "description",
    "source",
    "measure_name",
    "grain",
    "tags",
    "optional_tags",
    "key_tags",
    "fields",
    "units",
    "measurement",
    "raw_time_column",
    "raw_renames",
    "series",
    "database",
    "timestream_table",
    "layout",
    "source_columns",
    "raw_columns",
    "raw_decimal",
}
_REQUIRED_KEYS = {"description", "source", "grain", "tags", "fields"}
_GRAIN = re.compile(r"^(\d+)([smhd])$")
_GRAIN_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_DECIMALS = (".", ",")


def parse_grain(text: str) -> timedelta:
    match = _GRAIN.match(text)
    if not match or int(match.group(1)) < 1:
        raise SchemaError(f"grain {text!r} is not like '30m', '1h', '1d' or '7d'")
    return timedelta(**{_GRAIN_UNITS[match.group(2)]: int(match.group(1))})


class _Keys:
    """Typed reads of one table's keys; every error names the table and the key."""

    def __init__(self, name: str, raw: dict[str, Any]) -> None:
        self.name = name
        self.raw = raw

    def error(self, key: str, problem: str) -> SchemaError:
        return SchemaError(f"table {self.name!r}, key {key!r}: {problem}")

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.raw.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"must be a non-empty string, not {value!r}")
        return value

    def names(self, key: str) -> tuple[str, ...]:
        value = self.raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, f"must be a list of strings, not {value!r}")
        duplicates = sorted({v for v in value if value.count(v) > 1})
        if duplicates:
            raise self.error(key, f"lists {duplicates} more than once")
        return tuple(value)

    def table(self, key: str) -> dict[str, str]:
        value = self.raw.get(key, {})
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise self.error(key, f'must be a table of strings (name = "value"), not {value!r}')
        return dict(value)

    def choice(self, key: str, options: type[StrEnum], default: str) -> Any:
        value = self.raw.get(key, default)
        try:
            return options(value)
        except ValueError:
            choices = [o.value for o in options]
            raise self.error(key, f"must be one of {choices}, not {value!r}") from None


def _table_from_mapping(name: str, raw: dict[str, Any], origin: str = "") -> TableSpec:
    if not _NAME.match(name):
        raise SchemaError(f"table {name!r}: the name must match {_NAME.pattern}")
    if not isinstance(raw, dict):
        raise SchemaError(f"table {name!r}: must be a table of keys, not {raw!r}")
    keys = _Keys(name, raw)
    unknown = sorted(set(raw) - _ALLOWED_KEYS)
    if unknown:
        raise keys.error(unknown[0], f"unknown key (unknown keys: {unknown}; known: "
                         f"{sorted(_ALLOWED_KEYS)})")  # fmt: skip
    missing = sorted(_REQUIRED_KEYS - set(raw))
    if missing:
        raise keys.error(missing[0], f"missing (missing keys: {missing})")
    description = keys.text("description") or ""
    source: Source = keys.choice("source", Source, "ons")
    default_layout = Layout.SINGLE if source is Source.LEGACY else Layout.MULTI
    layout: Layout = keys.choice("layout", Layout, default_layout.value)
    tags = keys.names("tags")
    fields_raw = keys.table("fields")
    units = keys.table("units")
    if not fields_raw:
        raise keys.error("fields", "at least one field is required")
    fields: list[FieldSpec] = []
    for fname, ftype in fields_raw.items():
        try:
            mtype = MeasureType(ftype)
        except ValueError:
            raise keys.error(
                "fields",
                f"field {fname!r} has type {ftype!r}; expected one of "
                f"{[t.value for t in MeasureType]}",
            ) from None
        fields.append(FieldSpec(fname, mtype, units.get(fname, "")))
    for key, columns in (("tags", tags), ("fields", tuple(fields_raw))):
        for column in columns:
            if not _NAME.match(column):
                raise keys.error(key, f"column {column!r} must match {_NAME.pattern}")
    names = [TIME_COLUMN, *tags, *fields_raw]
    duplicates = sorted({c for c in names if names.count(c) > 1})
    if duplicates:
        raise keys.error("fields", f"columns used twice (tags, fields and 'time'): {duplicates}")
    optional = frozenset(keys.names("optional_tags"))
    if not optional <= set(tags):
        raise keys.error("optional_tags", f"{sorted(optional - set(tags))} are not tags")
    key_tags = tuple(keys.names("key_tags"))
    if not set(key_tags) <= set(tags) or set(key_tags) & optional:
        raise keys.error("key_tags", f"{list(key_tags)} must be required tags of {list(tags)}")
    if set(units) - set(fields_raw):
        strays = sorted(set(units) - set(fields_raw))
        raise keys.error("units", f"units for unknown fields {strays}")
    series = raw.get("series", 5)
    if not isinstance(series, int) or isinstance(series, bool) or series < 1:
        raise keys.error("series", f"must be a positive integer, not {series!r}")
    grain_text = raw["grain"]
    if not isinstance(grain_text, str):
        raise keys.error("grain", f"must be a string like '1h', not {grain_text!r}")
    try:
        grain = parse_grain(grain_text)
    except SchemaError as exc:
        raise keys.error("grain", str(exc)) from None
    measure_name = keys.text("measure_name")
    if layout is Layout.MULTI and measure_name is None:
        raise keys.error("measure_name", "missing (multi-measure records need their name)")
    if layout is Layout.SINGLE and source is not Source.LEGACY and measure_name is not None:
        raise keys.error(
            "measure_name", "not used with layout 'single' (each field is a measure_name)"
        )
    if source is Source.LEGACY:
        if layout is not Layout.SINGLE:
            raise keys.error("layout", "legacy tables hold single-measure records")
        if measure_name != "value" or list(fields_raw.items()) != [("value", "DOUBLE")]:
            raise keys.error("fields", "legacy tables hold one DOUBLE measure named 'value'")
    measurement = keys.text("measurement", name) or name
    database = keys.text("database")
    timestream_table = keys.text("timestream_table")
    for key, value in (("database", database), ("timestream_table", timestream_table)):
        if value is not None and not _TIMESTREAM_NAME.match(value):
            pattern = _TIMESTREAM_NAME.pattern
            raise keys.error(key, f"{value!r} is not a Timestream name ({pattern})")
    source_columns = keys.table("source_columns")
    strays = sorted(set(source_columns) - set(tags) - set(fields_raw))
    if strays:
        raise keys.error("source_columns", f"{strays} are neither tags nor fields")
    renamed = list(source_columns.values())
    clashes = sorted({v for v in renamed if renamed.count(v) > 1})
    if clashes:
        raise keys.error("source_columns", f"source names used twice: {clashes}")
    raw_time_column = keys.text("raw_time_column")
    raw_columns = keys.names("raw_columns")
    renames = keys.table("raw_renames")
    if raw_columns:
        if raw_time_column is None:
            raise keys.error("raw_columns", "needs raw_time_column (the file's time column)")
        known = {renames.get(c, c) for c in raw_columns}
        lacking = [c for c in (raw_time_column, *tags) if c not in known]
        if lacking:
            raise keys.error("raw_columns", f"the header lacks {lacking}")
    raw_decimal = keys.text("raw_decimal", ".") or "."
    if raw_decimal not in _DECIMALS:
        raise keys.error("raw_decimal", f"must be '.' or ',', not {raw_decimal!r}")
    return TableSpec(
        name=name,
        description=description,
        source=source,
        measure_name=measure_name or "",
        grain=grain,
        tags=tags,
        fields=tuple(fields),
        measurement=measurement,
        optional_tags=optional,
        key_tags=key_tags,
        raw_time_column=raw_time_column,
        raw_renames=renames,
        series=series,
        origin=origin,
        database=database,
        timestream_table=timestream_table,
        layout=layout,
        source_columns=source_columns,
        raw_columns=raw_columns,
        raw_decimal=raw_decimal,
    )


def load_mapping(path: Path = MAPPING_FILE, *, extra: bool = False) -> dict[str, TableSpec]:
    """Parse and validate one mapping file; errors name the file, the table and the key. An
    ``extra`` file (``ONS_MAPPING_EXTRA``) adds tables only: retention and rollups are the
    project's, declared once in its mapping file, and an extra file declaring them is refused
    rather than silently ignored."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemaError(f"{path}: cannot read the mapping file ({exc.strerror})") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(f"{path}: {exc}") from exc
    unknown = sorted(set(document) - {"tables", "retention", "rollups"})
    if unknown:
        raise SchemaError(f"{path}: key {unknown[0]!r}: unknown; a mapping file holds only "
                          "[tables.<name>], [retention.<group>] and [rollups] entries")  # fmt: skip
    for section in ("retention", "rollups") if extra else ():
        if section in document:
            raise SchemaError(
                f"{path}: [{section}] belongs in the project mapping file (ONS_MAPPING_FILE); "
                "an ONS_MAPPING_EXTRA file adds [tables.<name>] entries only"
            )
    tables = document.get("tables")
    if not isinstance(tables, dict) or not tables:
        raise SchemaError(f"{path}: no [tables.<name>] entries")
    try:
        return {name: _table_from_mapping(name, raw, str(path)) for name, raw in tables.items()}
    except SchemaError as exc:
        raise SchemaError(f"{path}: {exc}") from exc


def load_mappings(paths: Sequence[Path]) -> dict[str, TableSpec]:
    """The merged mapping of ``paths`` in order (the project file, then the extra files): a later
    file's table adds to the earlier ones or replaces the one of the same name, whole. Two tables
    may not write one measurement."""
    merged: dict[str, TableSpec] = {}
    for index, path in enumerate(paths):
        merged.update(load_mapping(path, extra=index > 0))
    by_measurement: dict[str, TableSpec] = {}
    for spec in merged.values():
        other = by_measurement.setdefault(spec.measurement, spec)
        if other is not spec:
            raise SchemaError(
                f"{spec.origin}: table {spec.name!r}, key 'measurement': measurement "
                f"{spec.measurement!r} is also written by table {other.name!r} ({other.origin})"
            )
    return merged


def _stamp(path: Path) -> tuple[str, int, int]:
    try:
        info = path.stat()
    except OSError:
        return (str(path), -1, -1)  # loading it names the file
    return (str(path), info.st_mtime_ns, info.st_size)


@lru_cache(maxsize=16)
def _load_stamped(stamps: tuple[tuple[str, int, int], ...]) -> dict[str, TableSpec]:
    return load_mappings([Path(p) for p, _, _ in stamps])


def tables(mapping: MappingSettings | None = None) -> dict[str, TableSpec]:
    """The project's table mapping: ``ONS_MAPPING_FILE`` (default: the shipped ``tables.toml``)
    merged with the ``ONS_MAPPING_EXTRA`` files. Read from the environment at every call and
    cached by the files' modification times, so a changed setting or file is seen at once."""
    if mapping is None:
        mapping = MappingSettings.from_env()
    return _load_stamped(tuple(_stamp(p) for p in mapping.files))


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


def _declaring(section: str) -> Path:
    """The project mapping file (``ONS_MAPPING_FILE``) when it declares ``section``, else the
    shipped one: a user's project file may govern retention and rollups, or leave them as
    shipped."""
    path = MappingSettings.from_env().file
    if path != MAPPING_FILE:
        try:
            if section in tomllib.loads(path.read_text(encoding="utf-8")):
                return path
        except (OSError, tomllib.TOMLDecodeError):
            pass  # tables() names the unreadable file
    return MAPPING_FILE


def retention_groups() -> dict[str, RetentionGroup]:
    """The project's retention groups (``[retention.<group>]`` of the mapping file)."""
    return _retention_of(_declaring("retention"))


@cache
def _retention_of(path: Path) -> dict[str, RetentionGroup]:
    return load_retention(path)


def rollup_config() -> RollupConfig:
    """The project's rollup declaration (``[rollups]`` of the mapping file)."""
    return _rollups_of(_declaring("rollups"), tuple(sorted(tables())))


@cache
def _rollups_of(path: Path, known: tuple[str, ...]) -> RollupConfig:
    return load_rollups(path, known={name: tables()[name] for name in known})
