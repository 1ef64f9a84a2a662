"""Parquet partitions on S3: one prefix per table-day, ``<prefix>/<table>/date=YYYY-MM-DD/``.

A partition is published as one unit: its data files carry the name of their *generation*
(``part-<generation>-00000.parquet``...) and a manifest (``_manifest.json``, one S3 object, written
after every data file) names the current generation and its files. Readers read exactly the
files of the manifest, so a replacement that fails halfway (a crash, S3 down) leaves the previous
generation whole and readable, never a mix; the next successful write removes the leftovers.
Partitions written before manifests existed (no ``_manifest.json``) are read as all their
``.parquet`` files. A partition never holds two rows of the same series and time: two such rows
mean a source dimension the mapping does not know (their points would collapse into one).

A partition that ONS files were loaded into (continuous loading) also holds ``_ons_files.json``:
what those files said beyond their rows (points withdrawn, points left as they were, series-days
held whole), by the series' key tags, and the files whose load has begun and not finished (marked
before a file's first write, its claims added once its rows are in). Never removed, it tells an
export of that day that the partition's rows are newer than the export and which of the exported
rows the files did away with (:func:`files_over`).

Reading streams record batches (memory bounded by the batch, not the partition) and validates
every batch against the mapping and the partition's window, with errors that name the table,
partition, file, row and column.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.influx.client import RetryPolicy
from ons_pipeline.lib.ons_time import (
    NS_PER_DAY,
    Window,
    day_window,
    in_repeated_hour,
    utc_ns_to_local_ns,
)
from ons_pipeline.lib.schema import TIME_COLUMN, TableSpec

DEFAULT_ROWS_PER_FILE = 1_000_000
DEFAULT_BATCH_ROWS = 10_000
MANIFEST = "_manifest.json"
FILE_CLAIMS = "_ons_files.json"


class PartitionError(ValueError):
    """A partition's data does not match the mapping or its window."""


class PartitionChangedError(RuntimeError):
    """The partition was rewritten (an ONS file loaded) while another write prepared its rows."""


CONDITIONAL_ATTEMPTS = 8
# the pause before trying a lost conditional write again (jittered: two writers that lost to
# each other do not retry in step)
CONFLICT_RETRY = RetryPolicy(max_attempts=CONDITIONAL_ATTEMPTS, base_delay=0.05, max_delay=1.0)
ANY_GENERATION: Any = object()  # ``write(based_on=...)``: publish over whatever is current

KeyTime = tuple[tuple[str, ...], int]  # a series by its key tags, and a time (ns) or local day


# a file's upload time (ns since 1970), then its key: the order files apply in
FileOrder = tuple[int, str]
FieldKey = tuple[str, KeyTime]  # a field of a point, or of a series-day


@dataclass(frozen=True)
class Stamps:
    """Which files, in upload order, spoke of what: for each field of each point the last file
    to write or withdraw it (``points``); for each field of each series-day the files that held
    it whole (``days``: their rows are that series-day's points, those they lack withdrawn); and
    the points such a file left as they were (``spared``: its bad rows)."""

    points: Mapping[FieldKey, FileOrder] = field(default_factory=dict)
    days: Mapping[FieldKey, frozenset[FileOrder]] = field(default_factory=dict)
    spared: Mapping[KeyTime, frozenset[FileOrder]] = field(default_factory=dict)

    def __or__(self, other: Stamps) -> Stamps:
        points = dict(self.points)
        for key, order in other.points.items():
            if key not in points or order > points[key]:
                points[key] = order
        spared = _union(self.spared, other.spared)
        # a series-day held whole again by a later file needs its earlier holders only where
        # the later one spared a point (a file re-published every day must not grow the claims)
        sparing = {(series, order) for (series, _), group in spared.items() for order in group}
        days = {
            key: frozenset(
                o for o in group if o == max(group) or (key[1][0], max(group)) in sparing
            )
            for key, group in _union(self.days, other.days).items()
        }
        return Stamps(points, days, spared)

    def to_obj(self) -> dict[str, Any]:
        orders = sorted(
            set(self.points.values())
            | {o for group in self.days.values() for o in group}
            | {o for group in self.spared.values() for o in group}
        )
        index = {order: i for i, order in enumerate(orders)}
        by_point: dict[KeyTime, dict[FileOrder, list[str]]] = {}
        for (name, key), order in self.points.items():
            by_point.setdefault(key, {}).setdefault(order, []).append(name)
        points: dict[tuple[tuple[str, ...], int, tuple[str, ...]], list[int]] = {}
        for (series, at), spoken in by_point.items():
            for order, names in spoken.items():
                points.setdefault((series, index[order], tuple(sorted(names))), []).append(at)
        days: dict[tuple[tuple[str, ...], int, int], list[str]] = {}
        for (name, (series, day)), group in self.days.items():
            for order in group:
                days.setdefault((series, day, index[order]), []).append(name)
        return {
            "files": [list(order) for order in orders],
            "points": [[list(s), i, list(f), sorted(t)] for (s, i, f), t in sorted(points.items())],
            "days": [[list(s), d, i, sorted(f)] for (s, d, i), f in sorted(days.items())],
            "spared": [
                [list(series), at, sorted(index[o] for o in group)]
                for (series, at), group in sorted(self.spared.items())
            ],
        }

    @classmethod
    def from_obj(cls, raw: Mapping[str, Any]) -> Stamps:
        orders = [(int(at), str(key)) for at, key in raw.get("files", [])]
        points: dict[FieldKey, FileOrder] = {}
        for series, file, names, times in raw.get("points", []):
            named, order = tuple(series), orders[file]
            for name in names:
                points.update(((name, (named, at)), order) for at in times)
        days: dict[FieldKey, set[FileOrder]] = {}
        for series, day, file, names in raw.get("days", []):
            named = tuple(series)
            for name in names:
                days.setdefault((name, (named, day)), set()).add(orders[file])
        spared = {
            (tuple(series), at): frozenset(orders[i] for i in files)
            for series, at, files in raw.get("spared", [])
        }
        return cls(points, {k: frozenset(v) for k, v in days.items()}, spared)

    def spoken(self, after: FileOrder | None = None) -> Spoken:
        """What the stamped files spoke of, point by point; with ``after``, only the files
        uploaded after it (another version of the same object is not one of them: which
        version stands is the object's ETag's to say)."""

        def counts(stamp: FileOrder) -> bool:
            return after is None or (stamp > after and stamp[1] != after[1])

        points: dict[KeyTime, set[str]] = {}
        for (name, key), stamp in self.points.items():
            if counts(stamp):
                points.setdefault(key, set()).add(name)
        days: dict[KeyTime, dict[str, frozenset[FileOrder]]] = {}
        for (name, day), group in self.days.items():
            holders = frozenset(o for o in group if counts(o))
            if holders:
                days.setdefault(day, {})[name] = holders
        return Spoken({k: frozenset(v) for k, v in points.items()}, days, self.spared)


@dataclass(frozen=True)
class Spoken:
    """:class:`Stamps` by point: the fields of each point files wrote or withdrew, the fields of
    each series-day files held whole (with those files) and the points such files spared."""

    points: Mapping[KeyTime, frozenset[str]] = field(default_factory=dict)
    days: Mapping[KeyTime, Mapping[str, frozenset[FileOrder]]] = field(default_factory=dict)
    spared: Mapping[KeyTime, frozenset[FileOrder]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.points or self.days)

    def at(self, key: KeyTime, local_day: int, repeated: bool) -> frozenset[str]:
        """The fields spoken of at ``key`` (series by key tags, time) of ``local_day``; of a
        point of the hour repeated when DST ends, only by its own stamp (a whole day cannot say
        which instant it leaves out)."""
        names = set(self.points.get(key, ()))
        whole = None if repeated else self.days.get((key[0], local_day))
        if whole:
            spared = self.spared.get(key, frozenset())
            names |= {name for name, group in whole.items() if group - spared}
        return frozenset(names)


def _union(
    first: Mapping[Any, frozenset[FileOrder]], second: Mapping[Any, frozenset[FileOrder]]
) -> dict[Any, frozenset[FileOrder]]:
    merged = dict(first)
    for key, group in second.items():
        merged[key] = merged.get(key, frozenset()) | group
    return merged


@dataclass(frozen=True)
class FileClaims:
    """What the ONS files loaded into a partition said beyond their rows, each series named by
    its key tags: points withdrawn (rows without values), points left as they were (unreadable
    rows) and series-days held whole (days as days since 1970-01-01, local); and the files whose
    load into the day has begun but not finished (``pending``: their claims are not in yet).

    ``stamps`` say which file spoke last, in upload order, of each field of each point (see
    :class:`Stamps`): a file uploaded earlier whose run ends later gives way on those, so files
    apply in the order they were uploaded, whatever the order their runs finish in. A file's
    stamps count from the moment its load begins (``pending_stamps``, by file, until its claims
    are committed; dropped when a newer version of the same object commits instead)."""

    withdrawn: frozenset[KeyTime] = frozenset()
    protected: frozenset[KeyTime] = frozenset()
    whole: frozenset[KeyTime] = frozenset()
    pending: frozenset[str] = frozenset()
    stamps: Stamps = field(default_factory=Stamps)
    pending_stamps: Mapping[str, Stamps] = field(default_factory=dict)

    def dooms(self, key: KeyTime) -> bool:
        """Whether these claims withdraw the point ``key`` or leave it out of a whole day."""
        series, at = key
        day = int(utc_ns_to_local_ns(np.array([at], dtype=np.int64))[0] // NS_PER_DAY)
        repeated = bool(in_repeated_hour(np.array([at], dtype=np.int64))[0])
        return key in self.withdrawn or ((series, day) in self.whole and not repeated)

    def then(self, later: FileClaims) -> FileClaims:
        """These claims, then a later file's: a point one file left as it was and another
        withdrew (or left out of a whole day) is gone, in either order, as loading them did."""
        protected = {k for k in self.protected if not later.dooms(k) or k in later.protected} | {
            k for k in later.protected if not self.dooms(k) or k in self.protected
        }
        return FileClaims(
            self.withdrawn | later.withdrawn,
            frozenset(protected),
            self.whole | later.whole,
            self.pending | later.pending,
            self.stamps | later.stamps,
            {**self.pending_stamps, **later.pending_stamps},
        )

    def all_stamps(self) -> Stamps:
        """The stamps of committed files and of files whose load has begun."""
        stamps = self.stamps
        for pending in self.pending_stamps.values():
            stamps = stamps | pending
        return stamps

    def to_json(self) -> bytes:
        def listed(keys: frozenset[KeyTime]) -> list[list[Any]]:
            return [[list(series), at] for series, at in sorted(keys)]

        return json.dumps(
            {
                "withdrawn": listed(self.withdrawn),
                "protected": listed(self.protected),
                "whole": listed(self.whole),
                "pending": sorted(self.pending),
                "stamps": self.stamps.to_obj(),
                "pending_stamps": {k: v.to_obj() for k, v in sorted(self.pending_stamps.items())},
            }
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> FileClaims:
        raw = json.loads(data)

        def keys(name: str) -> frozenset[KeyTime]:
            return frozenset((tuple(k[0]), k[1]) for k in raw.get(name, []))

        pending = frozenset(str(p) for p in raw.get("pending", []))
        return cls(
            keys("withdrawn"),
            keys("protected"),
            keys("whole"),
            pending,
            Stamps.from_obj(raw.get("stamps", {})),
            {str(k): Stamps.from_obj(v) for k, v in raw.get("pending_stamps", {}).items()},
        )


def files_over(
    exported: pa.Table, files: pa.Table, claims: FileClaims, spec: TableSpec
) -> pa.Table:
    """An export of a day that ONS files were loaded into first, as if the files came after it:
    the files' rows (``files``: the partition as they left it), and the exported rows they did
    not replace, withdraw or leave out of a series-day they held whole (a point of the hour
    repeated at DST's end, or one of a row the files could not read, stays). A field no file
    spoke of at a point (a column the files lack: ONS intercâmbio files have no programmed
    value) keeps its exported value, as loading the files after the export would have."""
    spoken = _spoken_fields(claims, spec)
    if exported.num_rows and (claims.withdrawn or claims.whole):
        tags, times, days, repeated = _keyed(exported, spec)
        gone = [
            (key, at) not in claims.protected
            and ((key, at) in claims.withdrawn or ((key, day) in claims.whole and not again))
            for key, at, day, again in zip(tags, times, days, repeated, strict=True)
        ]
        residual = []
        if any(gone):
            positions = [i for i, g in enumerate(gone) if g]
            for i, row in zip(positions, exported.take(positions).to_pylist(), strict=True):
                theirs = spoken((tags[i], times[i]), days[i], repeated[i])
                kept = {f: None if f in theirs else row[f] for f in spec.field_names}
                if any(v is not None for v in kept.values()):
                    residual.append({**row, **kept})
        exported = exported.filter(pa.array([not g for g in gone]))
        if residual:
            extra = pa.Table.from_pylist(residual, schema=exported.schema)
            exported = pa.concat_tables([exported, extra])
    return overlay(exported, _filled(files, exported, spoken, spec), spec)


def _keyed(
    table: pa.Table, spec: TableSpec
) -> tuple[list[tuple[str, ...]], list[int], list[int], list[bool]]:
    """Each row's series by key tags, time (ns), local day and whether DST repeats its hour."""
    series = _series_times(table, spec, spec.identity_tags)
    names = list(spec.identity_tags)
    tags = list(zip(*(series.column(t).cast(pa.string()).to_pylist() for t in names), strict=True))
    times = pc.cast(table.column(TIME_COLUMN), pa.int64()).to_numpy(zero_copy_only=False)
    days = np.floor_divide(utc_ns_to_local_ns(times), NS_PER_DAY).tolist()
    return tags, times.tolist(), days, in_repeated_hour(times).tolist()


def _spoken_fields(
    claims: FileClaims, spec: TableSpec
) -> Callable[[KeyTime, int, bool], frozenset[str]]:
    """The fields the files spoke of at a point (series by key tags, time; its local day and
    whether DST repeats its hour), from their stamps; every field where no stamp says (claims
    written before stamps existed)."""
    every = frozenset(spec.field_names)
    spoken = claims.all_stamps().spoken()

    def fields(key: KeyTime, local_day: int, repeated: bool) -> frozenset[str]:
        return spoken.at(key, local_day, repeated) or every

    return fields


def _filled(
    files: pa.Table,
    exported: pa.Table,
    spoken: Callable[[KeyTime, int, bool], frozenset[str]],
    spec: TableSpec,
) -> pa.Table:
    """The files' rows, each field no file spoke of at its point taken from the exported row."""
    if not files.num_rows or not exported.num_rows or len(spec.field_names) < 2:
        return files
    tags, times, days, repeated = _keyed(files, spec)
    partial = [
        i
        for i in range(files.num_rows)
        if spoken((tags[i], times[i]), days[i], repeated[i]) != frozenset(spec.field_names)
    ]
    if not partial:
        return files
    ex_tags, ex_times, _, _ = _keyed(exported, spec)
    at = {key: i for i, key in enumerate(zip(ex_tags, ex_times, strict=True))}
    rows, sources = files.to_pylist(), exported.to_pylist()
    for i in partial:
        j = at.get((tags[i], times[i]))
        if j is None:
            continue
        source = sources[j]
        theirs = spoken((tags[i], times[i]), days[i], repeated[i])
        rows[i].update({f: source[f] for f in spec.field_names if f not in theirs})
    return pa.Table.from_pylist(rows, schema=files.schema)


@dataclass(frozen=True, order=True)
class Partition:
    """One table-day, the unit of export, load, validation and rollback."""

    table: str
    day: date

    @classmethod
    def of(cls, table: str, key: str) -> Partition:
        """From a Dagster partition key (``YYYY-MM-DD``)."""
        return cls(table, date.fromisoformat(key))

    @property
    def key(self) -> str:
        return self.day.isoformat()

    @property
    def window(self) -> Window:
        return day_window(self.day)

    def prefix(self, base_prefix: str) -> str:
        """``<base>/<table>/date=YYYY-MM-DD/``."""
        return f"{base_prefix.strip('/')}/{self.table}/date={self.key}/"


@dataclass
class PartitionWrite:
    keys: list[str] = field(default_factory=list)
    rows: int = 0
    bytes: int = 0
    removed_stale: int = 0
    generation: str = ""
    written: list[pa.Table] = field(default_factory=list, repr=False)

    @property
    def table(self) -> pa.Table:
        """The rows as written (canonical, sorted): what a reader of the partition gets back."""
        return pa.concat_tables(self.written)


def validate_table(
    table: pa.Table | pa.RecordBatch,
    spec: TableSpec,
    window: Window,
    where: str,
    row_offset: int = 0,
) -> pa.Table:
    """Cast to the canonical schema and check keys, window and finite numbers.

    Dictionary-encoded string tags are kept encoded (the converter renders each distinct value
    once). Raises ``PartitionError`` naming ``where`` (table, partition, file), the row and the
    column.
    """
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    schema = spec.arrow_schema()
    names = table.schema.names
    missing = [n for n in schema.names if n not in names]
    unknown = [n for n in names if n not in schema.names]
    if missing or unknown:
        raise PartitionError(f"{where}: missing columns {missing}, unknown columns {unknown}")
    arrays = []
    fields = []
    for target in schema:
        column = table.column(target.name)
        if _is_string_dictionary(column.type) and pa.types.is_string(target.type):
            target = target.with_type(column.type)
        fields.append(target)
        try:
            column = pc.cast(column, target.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise PartitionError(
                f"{where}: column {target.name!r} has type {column.type}, expected {target.type}"
            ) from exc
        if not target.nullable and column.null_count:
            row = row_offset + pc.index(pc.is_null(column), True).as_py()
            raise PartitionError(f"{where}: row {row}: column {target.name!r} is NULL")
        if pa.types.is_floating(target.type):
            bad = pc.invert(pc.fill_null(pc.is_finite(column), True))
            if pc.any(bad).as_py():
                row = pc.index(bad, True).as_py()
                value = column[row].as_py()
                raise PartitionError(
                    f"{where}: row {row_offset + row}: column {target.name!r} is {value} "
                    "(NaN and infinity cannot be stored in InfluxDB)"
                )
        arrays.append(column)
    canonical = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    times = pc.cast(canonical.column(TIME_COLUMN), pa.int64())
    outside = pc.or_(pc.less(times, window.start_ns), pc.greater_equal(times, window.end_ns))
    if pc.any(outside).as_py():
        row = pc.index(outside, True).as_py()
        moment = canonical.column(TIME_COLUMN)[row].as_py()
        raise PartitionError(
            f"{where}: row {row_offset + row}: time {moment} is outside the partition window "
            f"{window}"
        )
    return canonical


_GENERATION_FILE = re.compile(r"/part-\d{8}T\d{6}(?:\d{6})?-[0-9a-f]{8}-\d{5}\.parquet$")


def _not_older(key: str, prefix: str, generation: str) -> bool:
    """Whether ``key`` is a data file of a generation started no earlier than ``generation``
    (another writer's, begun after this one published: not this write's to remove)."""
    name = key[len(prefix) :]
    if not name.startswith("part-"):
        return False
    return name[len("part-") :].split("-", 1)[0] >= generation.split("-", 1)[0]


def _refuse_duplicates(table: pa.Table, spec: TableSpec, where: str) -> None:
    """Two rows of one series at one time would be one point in InfluxDB: one value lost."""
    if table.num_rows < 2:
        return
    series = _series_times(table, spec, spec.identity_tags)  # SUDESTE and Sudeste: one series
    keys = series.column_names
    counts = series.group_by(keys, use_threads=False).aggregate([([], "count_all")])
    repeated = counts.filter(pc.greater(counts.column("count_all"), 1))
    if repeated.num_rows:
        example = repeated.slice(0, 1).to_pylist()[0]
        rows = pc.sum(repeated.column("count_all")).as_py()
        named = ", ".join(spec.identity_tags)
        raise PartitionError(
            f"{where}: {rows} rows share their series ({named}) and time with another row "
            f"({repeated.num_rows} series+time, e.g. {example}): the source has a dimension "
            "the mapping does not know, duplicate records, or one series under two spellings of "
            "a descriptive tag; InfluxDB would keep one value or count the series twice "
            "(the mapping's key_tags say which tags identify a series)"
        )


def overlay(base: pa.Table, top: pa.Table, spec: TableSpec) -> pa.Table:
    """``top``'s rows, and ``base``'s rows at every series and time ``top`` has no row for (a
    series named by its key tags: ``top`` may spell a descriptive tag anew)."""
    if not top.num_rows or not base.num_rows:
        return top if not base.num_rows else base
    keys = [TIME_COLUMN, *spec.identity_tags]

    def joinable(table: pa.Table) -> pa.Table:  # a join wants the same key types on both sides
        series = _series_times(table, spec, spec.identity_tags)
        columns = [
            c.cast(pa.string()) if _is_string_dictionary(c.type) else c for c in series.columns
        ]
        return pa.table(columns, names=keys)

    left = joinable(base).append_column("_row", pa.array(np.arange(base.num_rows)))
    kept = left.join(joinable(top), keys, join_type="left anti", use_threads=False)
    rows = pc.sort_indices(kept.column("_row"))
    below = base.take(pc.take(kept.column("_row"), rows))
    return pa.concat_tables([below, top.cast(below.schema)])


def _series_times(table: pa.Table, spec: TableSpec, tags: tuple[str, ...]) -> pa.Table:
    """Time and ``tags`` of each row, as InfluxDB tells series apart: it has no empty tag value,
    so a null and an empty tag name the same series."""
    columns = [table.column(TIME_COLUMN)]
    for tag in tags:
        values = table.column(tag)
        if values.null_count:
            if _is_string_dictionary(values.type):
                values = values.cast(pa.string())
            values = pc.fill_null(values, "")
        columns.append(values)
    return pa.table(columns, names=[TIME_COLUMN, *tags])


def _is_string_dictionary(type_: pa.DataType) -> bool:
    return pa.types.is_dictionary(type_) and pa.types.is_string(type_.value_type)


def _sort_rows(table: pa.Table, spec: TableSpec) -> pa.Table:
    keys = [(TIME_COLUMN, "ascending"), *((t, "ascending") for t in spec.tags)]
    return table.sort_by(keys)


class ParquetStore:
    """The Parquet partitions of every table on S3: ``s3://<bucket>/<prefix>/<table>/date=.../``."""

    def __init__(self, s3: Any, bucket: str, prefix: str = "parquet") -> None:
        self.s3 = s3
        self.bucket = bucket
        self.base = prefix

    @classmethod
    def of(cls, aws: AwsSettings, s3: Any = None) -> ParquetStore:
        return cls(s3 or aws.client("s3"), aws.bucket, aws.parquet_prefix)

    def prefix(self, partition: Partition) -> str:
        return partition.prefix(self.base)

    def uri(self, partition: Partition) -> str:
        return f"s3://{self.bucket}/{self.prefix(partition)}"

    def manifest(self, partition: Partition) -> dict[str, Any] | None:
        """The partition's manifest (generation, files, rows), ``None`` when it has none."""
        return self._manifest_and_etag(partition)[0]

    def _manifest_and_etag(self, partition: Partition) -> tuple[dict[str, Any] | None, str | None]:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=self.prefix(partition) + MANIFEST)
        except self.s3.exceptions.NoSuchKey:
            return None, None
        return dict(json.loads(body["Body"].read())), str(body.get("ETag", ""))

    def claims(self, partition: Partition) -> FileClaims | None:
        """What ONS files loaded into the partition said (``None``: no file was loaded into it)."""
        return self.claims_and_etag(partition)[0]

    def claims_and_etag(self, partition: Partition) -> tuple[FileClaims | None, str | None]:
        """The claims and the ETag of the object holding them (``(None, None)``: none)."""
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=self.prefix(partition) + FILE_CLAIMS)
        except self.s3.exceptions.NoSuchKey:
            return None, None
        return FileClaims.from_json(body["Body"].read()), str(body.get("ETag", ""))

    def begin_file(self, partition: Partition, source: str, stamps: Stamps | None = None) -> None:
        """Record, before any of its writes, that the ONS file ``source`` (``key@etag``) is being
        loaded into the partition: an export meanwhile (or after the load failed) fails the day;
        and its ``stamps``, so that a file uploaded before it gives way from now on."""

        def begun(known: FileClaims | None) -> FileClaims:
            known = known or FileClaims()
            pending_stamps = dict(known.pending_stamps)
            if stamps is not None:
                pending_stamps[source] = stamps
            return replace(known, pending=known.pending | {source}, pending_stamps=pending_stamps)

        self._update_claims(partition, begun)

    def commit_file(
        self,
        partition: Partition,
        source: str,
        claims: FileClaims,
        read: tuple[FileClaims | None, str | None] | None = None,
        still_current: Callable[[], bool] | None = None,
    ) -> None:
        """Record, once its rows are in the partition, what the file ``source`` said; a load of
        an earlier version of the same object that never finished is superseded by this one.

        Another version's mark goes only while ``source`` is still the object's version (asked
        after the mark was read: a version marks a day only once it is uploaded), so a version
        superseded meanwhile never clears the mark of the newer one loading."""
        key = source.rsplit("@", 1)[0]

        def committed(known: FileClaims | None) -> FileClaims:
            merged = claims if known is None else known.then(claims)
            others = {p for p in merged.pending if p != source and p.rsplit("@", 1)[0] == key}
            if others and still_current is not None and not still_current():
                others = set()
            gone = others | {source}
            pending = frozenset(merged.pending - gone)
            # this load's stamps, or an unfinished earlier version's, give way to the claims'
            pending_stamps = {p: s for p, s in merged.pending_stamps.items() if p not in gone}
            return replace(merged, pending=pending, pending_stamps=pending_stamps)

        self._update_claims(partition, committed, read)

    def abandon_file(self, partition: Partition, source: str) -> None:
        """Forget a load of ``source`` that began and left nothing in the day (a newer version
        of its object stands): its pending mark and its stamps."""

        def abandoned(known: FileClaims | None) -> FileClaims | None:
            if known is None or source not in known.pending:
                return known
            stamps = {p: s for p, s in known.pending_stamps.items() if p != source}
            return replace(known, pending=known.pending - {source}, pending_stamps=stamps)

        self._update_claims(partition, abandoned)

    def _update_claims(
        self,
        partition: Partition,
        change: Callable[[FileClaims | None], FileClaims | None],
        read: tuple[FileClaims | None, str | None] | None = None,
    ) -> None:
        """Apply ``change`` to the partition's claims as one conditional write (S3 ``If-Match``
        / ``If-None-Match``): a file loading into the same day at the same moment makes the
        write fail, and the change is applied again to what that file wrote, never over it.
        ``read``: the claims and ETag as just read (the first attempt trusts them; a stale read
        only makes its write fail)."""
        key = self.prefix(partition) + FILE_CLAIMS
        for attempt in range(CONDITIONAL_ATTEMPTS):
            known, etag = (
                read if read is not None and attempt == 0 else self.claims_and_etag(partition)
            )
            wanted = change(known)
            if wanted == known:
                return
            assert wanted is not None  # a change only keeps "no claims" as they are
            if self._put_if(key, wanted.to_json(), etag):
                return
            CONFLICT_RETRY.sleep(CONFLICT_RETRY.backoff(attempt + 1))
        raise PartitionChangedError(
            f"s3://{self.bucket}/{key}: {CONDITIONAL_ATTEMPTS} attempts to update the files' "
            "claims each lost to another writer of this day; nothing of this file was recorded "
            "as loaded: its ingest fails and is run again"
        )

    def _put_if(self, key: str, body: bytes, etag: str | None) -> bool:
        """PUT ``key`` only if it still has ``etag`` (``None``: only if it does not exist);
        ``False`` when another writer got there first."""
        from botocore.exceptions import ClientError

        condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, **condition)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}:
                return False
            raise
        return True

    def generation(self, partition: Partition) -> str | None:
        """The current generation of the partition (``None``: none, or written before manifests)."""
        manifest = self.manifest(partition)
        return str(manifest["generation"]) if manifest else None

    def keys(self, partition: Partition) -> list[str]:
        """The partition's Parquet objects: those of its manifest, else every ``.parquet``
        written before manifests (a generation's files count only once a manifest names
        them: those of a write that never published are not the partition's)."""
        manifest = self.manifest(partition)
        if manifest is not None:
            return list(manifest["files"])
        return sorted(
            k
            for k in self.listed(partition)
            if k.endswith(".parquet") and not _GENERATION_FILE.search(k)
        )

    def listed(self, partition: Partition) -> list[str]:
        """Every object under the partition's prefix (published or not)."""
        paginator = self.s3.get_paginator("list_objects_v2")
        return [
            obj["Key"]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix(partition))
            for obj in page.get("Contents", [])
        ]

    def listed_days_etags(self, table: str, first: date, last: date) -> dict[date, dict[str, str]]:
        """Every object under the partitions of ``table`` from ``first`` to ``last``, by day, each
        with its ETag: one paged LIST for the range instead of one per day."""
        common = Partition(table, first).prefix(self.base).rsplit("date=", 1)[0] + "date="
        after = Partition(table, first).prefix(self.base)[:-1]  # keys of ``first`` sort after
        found: dict[date, dict[str, str]] = {}
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=common, StartAfter=after):
            for obj in page.get("Contents", []):
                key = str(obj["Key"])
                text = key[len(common) : len(common) + 10]
                try:
                    day = date.fromisoformat(text)
                except ValueError:
                    continue  # not a partition's object
                if day > last:
                    return found
                if day >= first and key.startswith(Partition(table, day).prefix(self.base)):
                    found.setdefault(day, {})[key] = str(obj.get("ETag", ""))
        return found

    def write(
        self,
        partition: Partition,
        tables: Iterable[pa.Table],
        spec: TableSpec,
        rows_per_file: int = DEFAULT_ROWS_PER_FILE,
        existing: Mapping[str, str] | None = None,
        precondition: Callable[[], None] | None = None,
        based_on: Any = ANY_GENERATION,
    ) -> PartitionWrite:
        """Write a partition's rows as a new generation of Parquet files and publish it (the
        manifest), replacing what was there (``existing``: the partition's objects with their
        ETags, when the caller listed them before the write); rows sharing a series and time
        are refused.

        The manifest is published by a conditional write on the manifest as it was when the
        write began (or as ``existing`` listed it, which saves reading it), so another writer's
        generation published meanwhile is never overwritten: :class:`PartitionChangedError`,
        nothing published (the files written are removed by a later write). ``based_on``: the
        generation the caller's rows were derived from (``None``: no manifest); any other
        current generation raises the same."""
        s3, bucket, prefix, window = self.s3, self.bucket, self.prefix(partition), partition.window
        if existing is not None and based_on is ANY_GENERATION:
            current, etag = None, existing.get(prefix + MANIFEST)  # a LIST's ETag is the GET's
        else:
            current, etag = self._manifest_and_etag(partition)  # what this write replaces
        if based_on is not ANY_GENERATION and (current or {}).get("generation") != based_on:
            raise PartitionChangedError(
                f"{self.uri(partition)}: generation {(current or {}).get('generation')} was "
                f"published after these rows were derived from {based_on}; nothing was written"
            )
        now_ns = time.time_ns()
        started = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now_ns // 10**9))
        generation = f"{started}{now_ns // 1000 % 10**6:06d}-{uuid.uuid4().hex[:8]}"
        result = PartitionWrite(generation=generation)
        pending: list[pa.Table] = []
        pending_rows = 0
        where = f"table {spec.name!r}, partition {prefix}"

        def flush(chunk: pa.Table) -> None:
            key = f"{prefix}part-{generation}-{len(result.keys):05d}.parquet"
            sink = pa.BufferOutputStream()
            rows = _sort_rows(chunk, spec)
            pq.write_table(rows, sink, compression="zstd")
            body = sink.getvalue()
            s3.put_object(Bucket=bucket, Key=key, Body=body.to_pybytes())
            result.written.append(rows)
            result.keys.append(key)
            result.rows += chunk.num_rows
            result.bytes += body.size

        for table in tables:
            canonical = validate_table(
                table, spec, window, where, row_offset=result.rows + pending_rows
            )
            pending.append(canonical)
            pending_rows += canonical.num_rows
            while pending_rows >= rows_per_file:
                combined = pa.concat_tables(pending)
                flush(combined.slice(0, rows_per_file))
                rest = combined.slice(rows_per_file)
                pending, pending_rows = [rest], rest.num_rows
        if pending_rows or not result.keys:
            flush(pa.concat_tables(pending) if pending else spec.arrow_schema().empty_table())
        _refuse_duplicates(pa.concat_tables(result.written), spec, where)
        manifest = {
            "generation": generation,
            "files": result.keys,
            "rows": result.rows,
            "table": spec.name,
            "day": partition.key,
            "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        if precondition is not None:
            precondition()
        if not self._put_if(prefix + MANIFEST, json.dumps(manifest).encode(), etag):
            raise PartitionChangedError(
                f"{self.uri(partition)}: another writer published this partition during this "
                "write (an ONS file's load, or another export); nothing was published"
            )
        keep = {*result.keys, prefix + MANIFEST, prefix + FILE_CLAIMS}
        listed = self.listed(partition) if existing is None else existing
        stale = [
            {"Key": key}
            for key in listed
            if key not in keep and not _not_older(key, prefix, generation)
        ]
        for start in range(0, len(stale), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": stale[start : start + 1000]})
        result.removed_stale = len(stale)
        return result

    def batches(
        self,
        partition: Partition,
        spec: TableSpec,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        dictionary_tags: bool = False,
    ) -> Iterator[pa.Table]:
        """Validated canonical batches of a partition, one file downloaded at a time.

        ``dictionary_tags`` reads tag columns dictionary-encoded (faster line-protocol conversion).
        """
        keys = self.keys(partition)
        uri = self.uri(partition)
        if not keys:
            raise PartitionError(
                f"table {spec.name!r}: partition {uri} has no Parquet files (export it first)"
            )
        row_offset = 0
        with tempfile.TemporaryDirectory(prefix="ons-partition-") as tmp:
            for key in keys:
                local = Path(tmp) / "part.parquet"
                self._download(partition, key, local)
                where = f"table {spec.name!r}, partition {uri}, file {key}"
                try:
                    parquet = pq.ParquetFile(
                        local, read_dictionary=list(spec.tags) if dictionary_tags else None
                    )
                    for batch in parquet.iter_batches(batch_size=batch_rows):
                        yield validate_table(batch, spec, partition.window, where, row_offset)
                        row_offset += batch.num_rows
                except (pa.ArrowInvalid, OSError) as exc:
                    raise PartitionError(f"{where}: unreadable Parquet: {exc}") from exc
                finally:
                    local.unlink(missing_ok=True)

    def _download(self, partition: Partition, key: str, local: Path) -> None:
        """Download one of the partition's files; one removed meanwhile because a newer
        generation was published raises :class:`PartitionChangedError` (read it again)."""
        from botocore.exceptions import ClientError

        try:
            self.s3.download_file(self.bucket, key, str(local))
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in {"404", "NoSuchKey", "NotFound"} and key not in self.keys(partition):
                raise PartitionChangedError(
                    f"{self.uri(partition)}: a newer generation was published while it was "
                    f"read ({key} is no longer the partition's)"
                ) from None
            raise

    def download(self, partition: Partition, dest: Path) -> list[Path]:
        """Copy the partition's files under ``dest/<table>/<day>/``; the local paths."""
        paths: list[Path] = []
        for key in self.keys(partition):
            local = dest / partition.table / partition.key / key.rsplit("/", 1)[-1]
            local.parent.mkdir(parents=True, exist_ok=True)
            self.s3.download_file(self.bucket, key, str(local))
            paths.append(local)
        return paths

    def read(self, partition: Partition, spec: TableSpec) -> pa.Table:
        """A whole partition in memory, validated (small partitions, tests, verification tools)."""
        tables = list(self.batches(partition, spec))
        return pa.concat_tables(tables) if tables else spec.arrow_schema().empty_table()

    def read_raw(self, partition: Partition) -> tuple[pa.Table | None, list[str]]:
        """Every Parquet file of a partition as one table, as written (no cast, no validation).

        ``None`` when the partition has no files. Files with different schemas are unified
        permissively so that the checks, not Arrow, report what differs.
        """
        keys = self.keys(partition)
        if not keys:
            return None, keys
        tables = []
        for key in keys:
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            tables.append(pq.read_table(pa.BufferReader(body)))
        return pa.concat_tables(tables, promote_options="permissive"), keys
