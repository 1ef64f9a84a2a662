"""Continuous loading: a raw ONS object on S3 → Parquet partitions → InfluxDB, with corrections.

**What a file replaces.** A file never deletes a point it says nothing about. For each stored point
of a local day the file mentions, the file's rows decide (``DayClaims.fate``):

* a good row with the point's series + time **replaces** the point (upsert; a field the row
  leaves empty is removed from the point, which is rewritten without it);
* a bad row with that series + time **protects** it: the stored point stays as it is;
* a row with that series + time but no value at all **withdraws** it: the point is deleted (ONS
  publishes missing data as empty values; this is how a correction removes a point);
* a row at the point's time whose identifying tags (``key_tags`` of the mapping: the code) are
  the point's but whose descriptive tags differ (a name spelt anew, ``SUDESTE`` → ``Sudeste``)
  **renames** it: the point is deleted and the row written (two series of one code would count
  every value twice);
* no row at that series + time: the point is deleted (**vanished**) only when the file holds that
  series' *whole local day* — a row at every local clock slot of the day at the dataset's grain
  (``normalize.NormalizedFile.whole``): a complete re-publication of the series-day, so a stored
  point it lacks (an off-grid time, a stale daily ``00:00:01``) is no longer published — except
  in the hour repeated when DST ends, whose two instants share one clock slot that ONS files
  write once: the occurrence the file does not name is kept;
* a bad row, a withdrawal and a whole series-day name the series by its code (``key_tags``),
  whatever the name beside it;
* otherwise the point is **kept**: a partial file — a fixed quarantine CSV, a patch of some hours
  or of some series, an excerpt — upserts its own points and leaves everything else of the day.

The same holds for fields: a field the file has no column for (real ONS intercâmbio files have no
programmed value) is never changed. A replaced point keeps its stored value of that field, and a
withdrawn or vanished point that has one stays with that field only (``plan_partition``).

A series absent from the file, or with a single missing row on the day, is never replaced whole:
missing rows are not evidence (a quarantine CSV is made of exactly the rows that were missing from
the load). The counts of each fate are in ``Reconciliation`` and the run's metadata ("points kept
(not in the file)" says how much of the touched days a partial file left alone).

For each UTC day a file mentions, in this order:

1. **Compare** with the day's Parquet partition ``<parquet prefix>/<table>/date=D/`` — the same
   partitions the migration writes, so a day has one canonical copy whatever its origin. If
   applying the file's rows by the rule above leaves the partition exactly as it is, the day is
   skipped: ONS re-publishes a growing yearly file every day, and only new or corrected days cost
   anything.
2. **Corrections in InfluxDB** — the points InfluxDB holds in the local days the file mentions are
   read (series + time + which fields are set) and given their fate. Only withdrawn, vanished and
   rewritten points are deleted, never a whole range: runs of consecutive doomed points of one
   series become one ``DELETE … time >= a AND time <= b``.
3. **Load** — the file's rows through ``loader.load_tables`` (batched, retried, dead-lettered).
   InfluxDB overwrites the same series + time, so re-running an object never duplicates.
4. **Partition** — rewritten with ``ParquetStore.write`` as the existing rows the file keeps
   (by the same rule, so both stores agree) plus the file's rows, and only when every batch was
   written: a day that failed still differs from the file, so the next attempt redoes it.

Bad rows are kept under ``<quarantine prefix>/rows/<raw key>@<etag>.json`` (reasons) and ``.csv``
(the original header and lines, ready to fix and re-upload: the fixed file upserts its rows).
Objects that cannot be ingested at all (unknown dataset, not CSV/Parquet, too big) get a report
under ``<quarantine prefix>/objects/``.

Two files loading into one table-day at once (two runs, or ``ons-pipeline load`` beside a run) are
safe: the partition's manifest and the files' claims are published by conditional writes, and a
file whose day changed meanwhile plans and loads again over what the other published. A version of
an object overwritten while it loads stops (:class:`ObjectChangedError`), or fails loudly when it
had already written rows the newer version's partition does not hold (:class:`SupersededLoadError`).

Files apply in the order they were uploaded, not the order their runs finish: each file stamps
the points it writes or withdraws and the series-days it holds whole (``FileClaims.stamps``, when
its load begins), and a file uploaded earlier leaves those points as they are (:class:`NewerFiles`).
"""

from __future__ import annotations

import functools
import io
import json
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.influx.client import InfluxClient, quote_ident, quote_literal
from ons_pipeline.lib.ingest.normalize import (
    GZIP_MAGIC,
    ZIP_MAGIC,
    FileFormat,
    Interval,
    NormalizedFile,
    NormalizeError,
    SeriesTime,
    clock_slots,
    detect_dataset,
    gunzip,
    normalize_bytes,
    read_header,
    sniff_format,
    workbook_header,
)
from ons_pipeline.lib.migration.deadletter import INGESTED_FROM, DeadLetterStore
from ons_pipeline.lib.migration.loader import LoadReport, load_tables
from ons_pipeline.lib.ons_time import NS_PER_DAY, in_repeated_hour
from ons_pipeline.lib.partitions import (
    CONDITIONAL_ATTEMPTS,
    CONFLICT_RETRY,
    FileClaims,
    FileOrder,
    KeyTime,
    ParquetStore,
    Partition,
    PartitionChangedError,
    PartitionWrite,
    Spoken,
    Stamps,
)
from ons_pipeline.lib.rollup.publish import withdraw_coverage
from ons_pipeline.lib.schema import TIME_COLUMN, TableSpec
from ons_pipeline.lib.settings import IngestSettings

DELETE_STATEMENTS_PER_REQUEST = 100


class IngestError(RuntimeError):
    """An object could not be ingested completely (see the message for what is left)."""


class ObjectChangedError(IngestError):
    """The object was overwritten since the sensor saw it: a newer run owns the new version.
    ``report``: what this version had already done (the days it published) when it stopped."""

    def __init__(self, message: str, report: IngestReport | None = None) -> None:
        super().__init__(message)
        self.report = report


class SupersededLoadError(IngestError):
    """A newer version of the object was published into a day after this version had written its
    rows to InfluxDB: InfluxDB may hold this version's values where the partition holds the
    newer one's. Never reported as superseded: the day needs the newer version loaded again."""


class TooManyBadRowsError(IngestError):
    """More bad rows than allowed: probably a format change, so nothing was loaded."""


# --- S3 objects -------------------------------------------------------------------------------


def clean_etag(etag: str | None) -> str:
    return (etag or "").strip().strip('"')


def run_key(key: str, etag: str | None) -> str:
    """The sensor's run key of one version of an object: key + ETag."""
    return f"{key}@{clean_etag(etag)}"


@dataclass(frozen=True)
class RawObject:
    bucket: str
    key: str
    etag: str
    last_modified: datetime | None
    body: bytes

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def fetch_object(s3: Any, bucket: str, key: str, etag: str | None = None) -> RawObject:
    """Download an object; with ``etag``, only that version (else :class:`ObjectChangedError`)."""
    from botocore.exceptions import ClientError

    kwargs: dict[str, str] = {"Bucket": bucket, "Key": key}
    if etag:
        kwargs["IfMatch"] = f'"{clean_etag(etag)}"'
    try:
        response = s3.get_object(**kwargs)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in {"PreconditionFailed", "412"}:
            raise ObjectChangedError(
                f"s3://{bucket}/{key} changed since ETag {clean_etag(etag)}: the newer version "
                "has its own run"
            ) from None
        if code in {"NoSuchKey", "404"}:
            raise ObjectChangedError(f"s3://{bucket}/{key} no longer exists") from None
        raise
    body = response["Body"].read()
    got = clean_etag(response.get("ETag"))
    if etag and got and got != clean_etag(etag):
        raise ObjectChangedError(f"s3://{bucket}/{key} has ETag {got}, not {clean_etag(etag)}")
    return RawObject(bucket, key, got, response.get("LastModified"), body)


def _relative(raw_key: str, raw_prefix: str) -> str:
    prefix = raw_prefix.strip("/") + "/"
    return raw_key[len(prefix) :] if raw_key.startswith(prefix) else raw_key


def quarantine_keys(quarantine_prefix: str, raw_prefix: str, raw_key: str, etag: str) -> list[str]:
    """Where the bad rows of one object version go: ``.json`` (reasons) and ``.csv`` (lines)."""
    stem = (
        f"{quarantine_prefix.strip('/')}/rows/{_relative(raw_key, raw_prefix)}@{clean_etag(etag)}"
    )
    return [f"{stem}.json", f"{stem}.csv"]


def rejection_key(quarantine_prefix: str, raw_prefix: str, raw_key: str, etag: str) -> str:
    rel = _relative(raw_key, raw_prefix)
    return f"{quarantine_prefix.strip('/')}/objects/{rel}@{clean_etag(etag)}.json"


def write_rejection(
    s3: Any,
    bucket: str,
    quarantine_prefix: str,
    raw_prefix: str,
    raw_key: str,
    etag: str,
    reason: str,
) -> str:
    """Record why a whole object was not ingested; returns the report's key."""
    key = rejection_key(quarantine_prefix, raw_prefix, raw_key, etag)
    body = {
        "source": f"s3://{bucket}/{raw_key}",
        "etag": clean_etag(etag),
        "reason": reason,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(body, indent=2, ensure_ascii=False).encode("utf-8"),
        ContentType="application/json",
    )
    return key


def write_quarantine(
    s3: Any,
    bucket: str,
    quarantine_prefix: str,
    raw_prefix: str,
    normalized: NormalizedFile,
    raw_key: str,
    etag: str,
) -> list[str]:
    """Keep a file's bad rows (JSON with reasons + CSV of the original lines); returns keys."""
    if not normalized.bad_rows:
        return []
    json_key, csv_key = quarantine_keys(quarantine_prefix, raw_prefix, raw_key, etag)
    s3.put_object(
        Bucket=bucket,
        Key=json_key,
        Body=normalized.quarantine_json(etag=clean_etag(etag)),
        ContentType="application/json",
    )
    s3.put_object(
        Bucket=bucket, Key=csv_key, Body=normalized.quarantine_csv(), ContentType="text/csv"
    )
    return [json_key, csv_key]


# --- what a file replaces ---------------------------------------------------------------------

SeriesDayIndex = tuple[tuple[str, ...], int]  # (series, local day as days since 1970-01-01)

_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class DayClaims:
    """What one file says about the points of one UTC day (see the module docstring)."""

    rows: pa.Table  # good rows: each replaces the stored point with its series + time
    coverage: tuple[Interval, ...]  # the local days the file mentions, within this UTC day
    empty: frozenset[SeriesTime] = frozenset()  # rows without values: their points are withdrawn
    protected: frozenset[SeriesTime] = frozenset()  # bad rows: their points stay as they are
    whole: frozenset[SeriesDayIndex] = frozenset()  # series-days held at every clock slot
    absent_fields: tuple[str, ...] = ()  # fields the file has no column for: never changed

    def fate(
        self,
        key: SeriesTime,
        local_day: int,
        incoming: Mapping[SeriesTime, frozenset[str]],
        repeated_hour: bool = False,
        renamed: bool = False,
    ) -> str:
        """What the file does to a stored point: ``replaced``, ``protected``, ``withdrawn``,
        ``renamed``, ``vanished`` (the last three deleted) or ``kept``. ``renamed``: the file has
        a row of the point's identifying tags and time under other descriptive tags (a name
        beside the same code), which replaces it. A point in the hour repeated when DST ends
        never vanishes: a file of local clock times holds that slot once and cannot say which of
        the two instants it leaves out."""
        if key in incoming:
            return "replaced"
        if key in self.protected:
            return "protected"
        if key in self.empty:
            return "withdrawn"
        if renamed:
            return "renamed"
        if (key[0], local_day) in self.whole and not repeated_hour:
            return "vanished"
        return "kept"


def day_claims(normalized: NormalizedFile) -> dict[date, DayClaims]:
    """The claims of a normalised file, per UTC day it mentions."""
    spec = normalized.spec
    empty_table = spec.arrow_schema().empty_table()

    def by_utc_day(keys: Iterable[SeriesTime]) -> dict[date, set[SeriesTime]]:
        out: dict[date, set[SeriesTime]] = {}
        for key in keys:
            out.setdefault(_EPOCH + timedelta(days=key[1] // NS_PER_DAY), set()).add(key)
        return out

    empty = by_utc_day(normalized.empty)
    protected = by_utc_day(normalized.protected)
    whole: dict[int, set[SeriesDayIndex]] = {}  # by local day
    for series, local_day in normalized.whole:
        index = (local_day - _EPOCH).days
        whole.setdefault(index, set()).add((series, index))
    days = set(normalized.coverage) | set(normalized.days) | set(empty) | set(protected)

    def whole_within(day: date) -> frozenset[SeriesDayIndex]:
        # a UTC day meets two local days: the end of the previous one (UTC-2/-3) and its own
        index = (day - _EPOCH).days
        return frozenset(whole.get(index - 1, set()) | whole.get(index, set()))

    return {
        day: DayClaims(
            rows=normalized.days.get(day, empty_table),
            coverage=normalized.coverage.get(day, ()),
            empty=frozenset(empty.get(day, ())),
            protected=frozenset(protected.get(day, ())),
            whole=whole_within(day),
            absent_fields=tuple(normalized.missing_fields),
        )
        for day in sorted(days)
    }


def file_claims(claims: DayClaims, spec: TableSpec, order: FileOrder | None = None) -> FileClaims:
    """What a file says of one day beyond its rows, as the partition records it (each series by
    its key tags), with the file's stamps when its upload ``order`` is known."""
    said = FileClaims(
        _by_key(claims.empty, spec), _by_key(claims.protected, spec), _by_key(claims.whole, spec)
    )
    if order is None:
        return said
    return replace(said, stamps=file_stamps(claims, spec, order))


def file_stamps(claims: DayClaims, spec: TableSpec, order: FileOrder) -> Stamps:
    """What a file speaks of in one day (see :class:`Stamps`): each field it has a column for,
    of the series-days it holds whole and of the other points it writes or withdraws (a whole
    series-day speaks of all its points but those of the hour repeated when DST ends, which are
    stamped one by one: a file that holds every day whole stamps a few entries per series)."""
    present = [f for f in spec.field_names if f not in claims.absent_fields]
    whole_days = _by_key(claims.whole, spec)
    rows = claims.rows
    if whole_days and rows.num_rows:
        instants = pc.cast(rows.column(TIME_COLUMN), pa.int64()).to_numpy(zero_copy_only=False)
        local_days, _ = clock_slots(instants, spec.grain)
        series = _series_strings(rows, spec, spec.identity_tags)
        in_whole = pc.is_in(
            _suffixed(series, local_days),
            value_set=pa.array([_joined(*k) for k in whole_days], pa.string()),
        ).to_numpy(zero_copy_only=False)
        rows = rows.filter(pa.array(~in_whole | in_repeated_hour(instants)))
    spoken = set(_key_times(rows, spec)) | _by_key(claims.empty, spec)
    whole = frozenset({order})
    return Stamps(
        {(name, key): order for key in spoken for name in present},
        {(name, day): whole for day in whole_days for name in present},
        dict.fromkeys(_by_key(claims.protected, spec), whole),
    )


def _by_key(keys: Iterable[tuple[tuple[str, ...], int]], spec: TableSpec) -> frozenset[KeyTime]:
    """Series named by all their tags → by their key tags."""
    return frozenset(_coded(keys, spec))


def _coded(keys: Iterable[tuple[tuple[str, ...], int]], spec: TableSpec) -> list[KeyTime]:
    """Each series named by all its tags → by its key tags (its code), in order."""
    picks = [spec.tags.index(t) for t in spec.identity_tags]
    return [(tuple(series[i] for i in picks), at) for series, at in keys]


def _key_times(table: pa.Table, spec: TableSpec) -> list[KeyTime]:
    """Each row's series by its key tags, and its time (ns)."""
    tags = [
        pc.fill_null(table.column(t).cast(pa.string()), "").to_pylist() for t in spec.identity_tags
    ]
    times = pc.cast(table.column(TIME_COLUMN), pa.int64()).to_pylist()
    return [(tuple(values), at) for *values, at in zip(*tags, times, strict=True)]


@dataclass(frozen=True)
class NewerFiles:
    """What files uploaded after this one already said of a day (``FileClaims.stamps``), by key
    tags: the fields of points they wrote or withdrew, the fields of series-days they held whole
    and the points those left as they were. Their word stands, whichever run finishes last."""

    spoken: Spoken = field(default_factory=Spoken)

    @classmethod
    def than(cls, known: FileClaims | None, order: FileOrder) -> NewerFiles:
        if known is None:
            return cls()
        return cls(known.all_stamps().spoken(after=order))

    def __bool__(self) -> bool:
        return bool(self.spoken)

    def fields_of(self, keys: list[KeyTime], grain: timedelta) -> list[frozenset[str]]:
        """For each point (series by key tags, time), the fields these files spoke of."""
        if not self or not keys:
            return [frozenset()] * len(keys)
        instants = np.array([at for _, at in keys], dtype=np.int64)
        local_days, _ = clock_slots(instants, grain)
        repeated = in_repeated_hour(instants).tolist()
        return [
            self.spoken.at(key, day, twice)
            for key, day, twice in zip(keys, local_days.tolist(), repeated, strict=True)
        ]

    def apply(
        self, claims: DayClaims, existing: pa.Table, spec: TableSpec
    ) -> tuple[DayClaims, int]:
        """``claims`` less what these files spoke of, and how many rows and withdrawals that
        touched: a row keeps only its fields they did not speak of (over the stored point; left
        out when none is left), a withdrawal likewise."""
        if not self:
            return claims, 0
        present = frozenset(f for f in spec.field_names if f not in claims.absent_fields)
        stored_keys = _key_times(existing, spec)
        stored_at = {key: i for i, key in enumerate(stored_keys)}
        stored_rows: list[dict[str, Any]] | None = None

        def stored(key: KeyTime) -> dict[str, Any] | None:
            nonlocal stored_rows
            if key not in stored_at:
                return None
            if stored_rows is None:
                stored_rows = existing.to_pylist()
            return dict(stored_rows[stored_at[key]])

        row_keys = _key_times(claims.rows, spec)
        untouched: list[int] = []
        rewritten: list[dict[str, Any]] = []
        given = 0

        def ours(spoken: frozenset[str]) -> frozenset[str] | None:
            """The fields that stay the file's at a point (``None``: no later file spoke)."""
            nonlocal given
            theirs = spoken & present
            given += bool(theirs)
            return present - theirs if theirs else None

        mine: list[dict[str, Any]] | None = None
        for i, (key, spoken) in enumerate(
            zip(row_keys, self.fields_of(row_keys, spec.grain), strict=True)
        ):
            kept = ours(spoken)
            if kept is None:
                untouched.append(i)
            elif kept:
                mine = mine if mine is not None else claims.rows.to_pylist()
                base = stored(key) or {**mine[i], **dict.fromkeys(present - kept)}
                rewritten.append({**base, **{f: mine[i][f] for f in kept}})
        withdrawals = sorted(claims.empty)
        ids = _coded(withdrawals, spec)
        empty: set[SeriesTime] = set()
        for full, key, spoken in zip(
            withdrawals, ids, self.fields_of(ids, spec.grain), strict=True
        ):
            kept = ours(spoken)
            if kept is None:
                empty.add(full)
            if not kept:
                continue
            base = stored(key)
            if base is None:
                empty.add(full)
                continue
            base.update(dict.fromkeys(kept))
            if all(base[f] is None for f in spec.field_names):
                empty.add(full)
            else:
                rewritten.append(base)
        rows = claims.rows.take(pa.array(untouched, pa.int64()))
        if rewritten:
            extra = pa.Table.from_pylist(rewritten, schema=claims.rows.schema)
            rows = pa.concat_tables([rows, extra])
        return replace(claims, rows=rows, empty=frozenset(empty)), given


def _series_strings(
    table: pa.Table, spec: TableSpec, tags: tuple[str, ...] | None = None
) -> pa.Array:
    columns = [pc.fill_null(pc.cast(table.column(t), pa.string()), "") for t in tags or spec.tags]
    return pc.binary_join_element_wise(*columns, "\x1f")


def _joined(series: tuple[str, ...], suffix: int) -> str:
    return "\x1f".join(series) + "\x1e" + str(suffix)


def _suffixed(series: pa.Array, numbers: pa.Array | np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(series, pc.cast(pa.array(numbers), pa.string()), "\x1e")


# --- Parquet partitions -----------------------------------------------------------------------


@dataclass
class PartitionMerge:
    """A day's partition and what a file makes of it (the same rule as the InfluxDB step)."""

    prefix: str
    exists: bool
    existing: pa.Table
    kept: pa.Table  # existing rows the file leaves as they are (not mentioned, or protected)
    rows: pa.Table  # the file's rows, completed with the stored values of its absent fields
    generation: str | None = None  # the partition's, read before its rows
    claims: DayClaims | None = None  # the file's, less what files uploaded after it said
    gave_way: int = 0  # the file's rows and withdrawals a file uploaded after it had said
    newer: NewerFiles | None = None  # what those files said
    known: tuple[FileClaims | None, str | None] | None = None  # the day's claims and ETag, as read

    def unchanged(self, spec: TableSpec) -> bool:
        """Applying the file leaves the partition exactly as it is."""
        if not self.exists:
            return self.rows.num_rows == 0
        order = [(TIME_COLUMN, "ascending"), *((t, "ascending") for t in spec.tags)]
        names = spec.arrow_schema().names
        merged = self.merged(spec)
        return merged.num_rows == self.existing.num_rows and (
            merged.sort_by(order).equals(self.existing.select(names).sort_by(order))
        )

    def merged(self, spec: TableSpec) -> pa.Table:
        names = spec.arrow_schema().names
        return pa.concat_tables([self.kept.select(names), self.rows.select(names)])


def plan_partition(
    store: ParquetStore,
    spec: TableSpec,
    day: date,
    claims: DayClaims,
    order: FileOrder | None = None,
) -> PartitionMerge:
    """:func:`_plan_once`, read again when a newer generation replaces the partition under the
    read (its files removed as it downloaded them)."""
    for attempt in range(1, CONDITIONAL_ATTEMPTS + 1):
        try:
            return _plan_once(store, spec, day, claims, order)
        except PartitionChangedError:
            if attempt == CONDITIONAL_ATTEMPTS:
                raise
            CONFLICT_RETRY.sleep(CONFLICT_RETRY.backoff(attempt))
    raise AssertionError("unreachable")


def _plan_once(
    store: ParquetStore,
    spec: TableSpec,
    day: date,
    claims: DayClaims,
    order: FileOrder | None = None,
) -> PartitionMerge:
    """Read a day's partition (if any): the rows the file keeps, and the file's rows completed.

    Fields the file has no column for (``claims.absent_fields``) are not the file's to change: a
    replaced row takes them from the stored row, and a withdrawn or vanished point that has some
    of them stays with those values only. With the file's upload ``order``, the same holds for
    the fields of points that files uploaded after it already spoke of (:class:`NewerFiles`).
    """
    partition = Partition(spec.name, day)
    prefix = store.prefix(partition)
    empty = spec.arrow_schema().empty_table()
    generation = store.generation(partition)
    # the stamps after the generation: a file that stamps later publishes a newer generation
    known = store.claims_and_etag(partition)
    newer = NewerFiles.than(known[0], order) if order else NewerFiles()
    exists = bool(store.keys(partition))
    existing = store.read(partition, spec) if exists else empty
    claims, gave_way = newer.apply(claims, existing, spec)
    rows = claims.rows

    def merge(kept: pa.Table, rows: pa.Table) -> PartitionMerge:
        return PartitionMerge(
            prefix, exists, existing, kept, rows, generation, claims, gave_way, newer, known
        )

    if existing.num_rows == 0:
        return merge(existing, rows)
    times = pc.cast(existing.column(TIME_COLUMN), pa.int64())
    series = _series_strings(existing, spec)
    keys = _suffixed(series, times)
    new_keys = _suffixed(_series_strings(rows, spec), pc.cast(rows.column(TIME_COLUMN), pa.int64()))
    instants = times.to_numpy(zero_copy_only=False)
    local_days, _ = clock_slots(instants, spec.grain)

    def among(values: pa.Array, strings: Iterable[str]) -> pa.Array:
        return pc.is_in(values, value_set=pa.array(list(strings), pa.string()))

    # a bad row, a withdrawal or a whole series-day names its series by code (as DayClaims.fate)
    identity = spec.identity_tags
    picks = [spec.tags.index(t) for t in identity]

    def coded(claimed: Iterable[tuple[tuple[str, ...], int]]) -> Iterable[str]:
        return (_joined(tuple(s[i] for i in picks), at) for s, at in claimed)

    id_series = _series_strings(existing, spec, identity)
    id_keys = _suffixed(id_series, times)
    replaced = pc.is_in(keys, value_set=new_keys)
    protected = among(id_keys, coded(claims.protected))
    withdrawn = among(id_keys, coded(claims.empty))
    vanished = pc.and_(
        among(_suffixed(id_series, local_days), coded(claims.whole)),
        pa.array(~in_repeated_hour(instants)),  # as DayClaims.fate
    )
    new_id_keys = _suffixed(
        _series_strings(rows, spec, identity), pc.cast(rows.column(TIME_COLUMN), pa.int64())
    )
    renamed = pc.is_in(id_keys, value_set=new_id_keys)  # as DayClaims.fate
    doomed = pc.and_(
        pc.invert(pc.or_(replaced, protected)), pc.or_(pc.or_(withdrawn, vanished), renamed)
    )
    kept = existing.filter(pc.invert(pc.or_(replaced, doomed)))
    theirs = newer.fields_of(_key_times(existing, spec), spec.grain) if newer else []
    theirs = theirs or [frozenset()] * existing.num_rows
    if claims.absent_fields or any(theirs):
        # a point the file names anew is its row's (by code), not a second series
        rows = _complete_rows(
            rows,
            new_id_keys,
            existing,
            id_keys,
            pc.and_(doomed, pc.invert(renamed)),
            spec,
            claims.absent_fields,
            theirs,
        )
    return merge(kept, rows)


def _complete_rows(
    rows: pa.Table,
    new_keys: pa.Array,
    existing: pa.Table,
    keys: pa.Array,
    doomed: pa.Array,
    spec: TableSpec,
    absent: tuple[str, ...],
    theirs: list[frozenset[str]],
) -> pa.Table:
    """The file's rows with the stored values of the fields it lacks (points matched by
    ``keys``: series by code and time), plus the doomed stored points reduced to the fields
    that are not the file's to change: those it lacks, and those a file uploaded after it spoke
    of (``theirs``, per stored row) — when they have any."""
    stored = pc.index_in(new_keys, value_set=keys)  # null for a point not stored yet
    for name in absent:
        position = rows.schema.get_field_index(name)
        column = existing.column(name).take(stored)
        rows = rows.set_column(position, rows.schema.field(position), column)
    positions = np.flatnonzero(doomed.to_numpy(zero_copy_only=False))
    residual = existing.take(pa.array(positions, pa.int64()))
    if residual.num_rows:
        has_any = pa.array(np.zeros(residual.num_rows, dtype=bool))
        for name in spec.field_names:
            keep = pa.array([name in absent or name in theirs[i] for i in positions], pa.bool_())
            index = residual.schema.get_field_index(name)
            field_ = residual.schema.field(index)
            column = pc.if_else(
                keep, residual.column(name), pa.nulls(residual.num_rows, field_.type)
            )
            residual = residual.set_column(index, field_, column)
            has_any = pc.or_(has_any, pc.is_valid(column))
        residual = residual.filter(has_any)
    names = spec.arrow_schema().names
    return pa.concat_tables([rows.select(names), residual.select(names)])


# --- InfluxDB corrections ---------------------------------------------------------------------


@dataclass
class Reconciliation:
    """What the correction step found in InfluxDB for one table-day."""

    existing_points: int = 0
    deleted_points: int = 0  # withdrawn (row without values) or vanished (from a whole series-day)
    rewritten_points: int = 0  # points whose fields the file now leaves empty
    protected_points: int = 0  # kept because the file's row for them was bad
    kept_points: int = 0  # kept because the file does not mention them (partial files)
    delete_statements: int = 0
    doomed: dict[SeriesTime, frozenset[str]] = field(default_factory=dict, repr=False)


def existing_points(
    client: InfluxClient, spec: TableSpec, intervals: Iterable[Interval]
) -> dict[SeriesTime, frozenset[str]]:
    """Series + time → the fields set, for the points of ``spec`` in ``intervals``."""
    found: dict[SeriesTime, frozenset[str]] = {}
    fields = set(spec.field_names)
    for start, end in intervals:
        statement = (
            f"SELECT * FROM {quote_ident(spec.measurement)} "
            f"WHERE time >= {start} AND time < {end} GROUP BY *"
        )
        for row in client.iter_query_rows(statement, epoch="ns"):
            key = (tuple(row.tags.get(t, "") for t in spec.tags), int(row.values["time"]))
            found[key] = frozenset(
                name for name, value in row.values.items() if name in fields and value is not None
            )
    return found


def new_points(table: pa.Table, spec: TableSpec) -> dict[SeriesTime, frozenset[str]]:
    """Series + time → the fields set, for canonical rows."""
    tags = [pc.fill_null(table.column(t), "").to_pylist() for t in spec.tags]
    times = pc.cast(table.column(TIME_COLUMN), pa.int64()).to_pylist()
    valid = {f: pc.is_valid(table.column(f)).to_pylist() for f in spec.field_names}
    out: dict[SeriesTime, frozenset[str]] = {}
    for index, moment in enumerate(times):
        key = (tuple(column[index] for column in tags), moment)
        out[key] = frozenset(f for f, flags in valid.items() if flags[index])
    return out


def _delete_runs(
    existing: Mapping[SeriesTime, frozenset[str]], doomed: set[SeriesTime]
) -> list[tuple[tuple[str, ...], int, int]]:
    """(series, first, last) runs of consecutive existing points that are all to be deleted."""
    by_series: dict[tuple[str, ...], list[int]] = {}
    for series, moment in existing:
        by_series.setdefault(series, []).append(moment)
    runs: list[tuple[tuple[str, ...], int, int]] = []
    for series, moments in sorted(by_series.items()):
        run: list[int] = []
        for moment in sorted(moments):
            if (series, moment) in doomed:
                run.append(moment)
                continue
            if run:
                runs.append((series, run[0], run[-1]))
                run = []
        if run:
            runs.append((series, run[0], run[-1]))
    return runs


def reconcile(client: InfluxClient, spec: TableSpec, claims: DayClaims) -> Reconciliation:
    """Delete the points of the covered period that the file withdraws (see module doc)."""
    result = Reconciliation()
    existing = existing_points(client, spec, claims.coverage)
    result.existing_points = len(existing)
    if not existing:
        return result
    incoming = new_points(claims.rows, spec)
    positions = [spec.tags.index(t) for t in spec.identity_tags]

    def coded(keys: Iterable[tuple[tuple[str, ...], int]]) -> frozenset[SeriesTime]:
        return frozenset((tuple(s[i] for i in positions), t) for s, t in keys)

    identities = coded(incoming)
    # bad rows, withdrawals and whole series-days name their series by code
    by_code = replace(
        claims,
        empty=coded(claims.empty),
        protected=coded(claims.protected),
        whole=coded(claims.whole),
    )
    absent = frozenset(claims.absent_fields)
    keys = list(existing)
    instants = np.array([t for _, t in keys], dtype=np.int64)
    local_days, _ = clock_slots(instants, spec.grain)
    repeated = in_repeated_hour(instants).tolist()
    doomed: set[SeriesTime] = set()
    for key, local_day, twice in zip(keys, local_days.tolist(), repeated, strict=True):
        code = (tuple(key[0][i] for i in positions), key[1])
        if key in incoming:
            fate = "replaced"
        else:
            fate = by_code.fate(code, local_day, {}, twice, code in identities)
        if fate == "replaced":
            if existing[key] - incoming[key] - absent:
                doomed.add(key)
                result.rewritten_points += 1
        elif fate == "protected":
            result.protected_points += 1
        elif fate == "kept":
            result.kept_points += 1
        else:
            doomed.add(key)
            result.deleted_points += 1
    if not doomed:
        return result
    result.delete_statements = delete_points(client, spec, existing, doomed)
    result.doomed = {key: existing[key] for key in doomed}
    return result


def delete_points(
    client: InfluxClient,
    spec: TableSpec,
    existing: Mapping[SeriesTime, frozenset[str]],
    doomed: set[SeriesTime],
) -> int:
    """Delete the ``doomed`` points of ``existing`` (runs of consecutive ones per series, in as
    few requests as the engine allows); the number of statements."""
    runs = _delete_runs(existing, doomed)
    statements = []
    for series, first, last in runs:
        conditions = [
            f"{quote_ident(tag)} = {quote_literal(value)}"
            for tag, value in zip(spec.tags, series, strict=True)
        ]
        conditions += [f"time >= {first}", f"time <= {last}"]
        statements.append(
            f"DELETE FROM {quote_ident(spec.measurement)} WHERE " + " AND ".join(conditions)
        )
    if client.config.engine == "1":
        for start in range(0, len(statements), DELETE_STATEMENTS_PER_REQUEST):
            chunk = statements[start : start + DELETE_STATEMENTS_PER_REQUEST]
            client.query("; ".join(chunk), epoch=None)
    else:
        for series, first, last in runs:
            client.delete_range(
                spec.measurement, first, last + 1, tags=dict(zip(spec.tags, series, strict=True))
            )
    return len(statements)


# --- one object, end to end -------------------------------------------------------------------


@dataclass
class DayIngest:
    """What ingesting one file did to one UTC day of one table."""

    table: str
    day: date
    rows: int
    coverage: tuple[Interval, ...]
    partition: PartitionWrite
    partition_rows_kept: int
    reconciliation: Reconciliation
    load: LoadReport | None
    gave_way: int = 0  # rows and withdrawals left to a file uploaded after this one

    @property
    def partition_key(self) -> str:
        return self.day.isoformat()

    def summary(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "day": self.partition_key,
            "rows": self.rows,
            "covered": [
                f"{datetime.fromtimestamp(s / 1e9, UTC):%H:%M}–"
                f"{datetime.fromtimestamp(e / 1e9, UTC):%H:%M}Z"
                for s, e in self.coverage
            ],
            "partition rows": self.partition.rows,
            "partition rows kept from before": self.partition_rows_kept,
            "points written": self.load.points if self.load else 0,
            "points deleted": self.reconciliation.deleted_points,
            "points rewritten without emptied fields": self.reconciliation.rewritten_points,
            "points kept (bad rows)": self.reconciliation.protected_points,
            "points kept (not in the file)": self.reconciliation.kept_points,
            "failed batches": self.load.failed_batches if self.load else 0,
            "rows given way (a file uploaded later)": self.gave_way,
        }


@dataclass
class IngestReport:
    source: str
    etag: str
    normalized: NormalizedFile
    days: list[DayIngest] = field(default_factory=list)  # the days the file changed
    unchanged_days: list[date] = field(default_factory=list)
    quarantine_keys: list[str] = field(default_factory=list)
    seconds: float = 0.0
    gave_way: int = 0  # rows and withdrawals left to files uploaded later, on every day

    @property
    def table(self) -> str:
        return self.normalized.table

    @property
    def points_written(self) -> int:
        return sum(d.load.points for d in self.days if d.load)

    @property
    def points_deleted(self) -> int:
        return sum(
            d.reconciliation.deleted_points + d.reconciliation.rewritten_points for d in self.days
        )

    @property
    def points_kept(self) -> int:
        """Stored points of the touched days that the file does not mention (left as they were)."""
        return sum(d.reconciliation.kept_points for d in self.days)

    @property
    def failed_batches(self) -> int:
        return sum(d.load.failed_batches for d in self.days if d.load)

    def errors(self) -> list[str]:
        return [e for d in self.days if d.load for e in d.load.errors]

    def dead_letter_ids(self) -> list[str]:
        return [i for d in self.days if d.load for i in d.load.dead_letter_ids]

    def summary(self) -> dict[str, Any]:
        return {
            **self.normalized.summary(),
            "etag": self.etag,
            "points written": self.points_written,
            "points deleted": self.points_deleted,
            "points kept (not in the file)": self.points_kept,
            "failed batches": self.failed_batches,
            "rows given way (files uploaded later)": self.gave_way,
            "quarantine": self.quarantine_keys,
            "days": [d.summary() for d in self.days],
            "unchanged days": [d.isoformat() for d in self.unchanged_days],
            "seconds": round(self.seconds, 3),
        }


def check_bad_fraction(normalized: NormalizedFile, max_bad_fraction: float) -> None:
    if normalized.bad_rows and normalized.bad_fraction > max_bad_fraction:
        first = "; ".join(str(b) for b in normalized.bad_rows[:3])
        raise TooManyBadRowsError(
            f"{normalized.source}: {len(normalized.bad_rows)} of {normalized.rows_read} rows are "
            f"bad (> {max_bad_fraction:.0%}); nothing was loaded. First: {first}"
        )


def ingest_normalized(
    normalized: NormalizedFile,
    *,
    store: ParquetStore,
    client: InfluxClient,
    deadletter: DeadLetterStore | None = None,
    batch_lines: int = 10_000,
    etag: str = "",
    still_current: Callable[[], bool] | None = None,
    uploaded: datetime | None = None,
) -> IngestReport:
    """Corrections, load and partition for every UTC day the file covers and changes.

    A day whose partition already holds exactly the file's rows for the covered period is left
    alone (ONS re-publishes a growing yearly file every day: only the new or corrected days cost
    anything). The partition is rewritten last, and only when every batch was written, so a
    failed day still differs from the file and is redone by the next attempt. A day another file
    was published into meanwhile is planned and loaded again over what it published. Before
    each day's load, ``still_current`` says whether this version of the object is still the
    object's: when a newer version was uploaded, its own run stands (:class:`ObjectChangedError`).

    Files apply in the order they were ``uploaded`` (default: now), then by name: what a file
    uploaded later already wrote or withdrew stands, whichever run finishes first (see
    ``FileClaims.stamps``).
    """
    started = time.perf_counter()
    spec = normalized.spec
    report = IngestReport(normalized.source, clean_etag(etag), normalized)
    client.ensure_database()
    source = f"{normalized.source}@{clean_etag(etag)}"
    order = file_order(normalized.source, uploaded)
    for day, claims in day_claims(normalized).items():
        partition = Partition(spec.name, day)
        stamps = file_stamps(claims, spec, order)
        plan = plan_partition(store, spec, day, claims, order)
        known = plan.known[0] if plan.known else None
        # another file loading into the day meanwhile may be older: it must see this file's
        # stamps before it publishes, so this file publishes the day too (the same rows)
        others = known is not None and any(p != source for p in known.pending)
        if plan.unchanged(spec) and not others:  # its rows are in already: its claims too
            report.unchanged_days.append(day)
            report.gave_way += plan.gave_way
            store.commit_file(
                partition, source, _said(plan, spec, stamps), plan.known, still_current
            )
            continue
        # first the mark that this file is being loaded into the day (an export meanwhile, or
        # after this load failed, fails the day) with its stamps, then the plan read after it;
        # its claims count once its rows are in
        store.begin_file(partition, source, stamps)
        # the day's rollups no longer answer for it until they are built again
        withdraw_coverage(client, spec.name, partition.window.start_ns, partition.window.end_ns)
        written: pa.Table | None = None  # the rows an attempt of this day wrote to InfluxDB
        # what the attempts wrote to InfluxDB, and the points they deleted there
        touched: list[pa.Table] = []
        deleted: dict[SeriesTime, frozenset[str]] = {}
        for attempt in range(1, CONDITIONAL_ATTEMPTS + 1):
            plan = plan_partition(store, spec, day, claims, order)
            load_rows = functools.partial(
                load_tables,
                spec=spec,
                client=client,
                partition=day.isoformat(),
                deadletter=deadletter,
                batch_lines=batch_lines,
                generation=plan.generation or "",
            )

            # after the plan: a newer version uploaded before it is seen here, one published
            # after it makes this write's publish fail and this check run again
            if still_current is not None and not still_current():
                report.seconds = time.perf_counter() - started
                if written is not None or deleted:
                    # the newer version's partition is the truth: its rows over this version's,
                    # and the points only this version wrote deleted
                    if plan.existing.num_rows:
                        load_rows([plan.existing])
                    ours = new_points(written, spec) if written is not None else {}
                    only_ours = set(ours) - set(new_points(plan.existing, spec))
                    if only_ours:
                        held = existing_points(client, spec, claims.coverage)
                        delete_points(client, spec, held, only_ours & set(held))
                    raise SupersededLoadError(
                        f"{normalized.source}: a newer version of the object was published into "
                        f"{partition.key} after this version wrote its rows to InfluxDB (or "
                        "deleted points there); the day "
                        "was written to InfluxDB again from its partition (the newer version's) "
                        f"and the {len(only_ours)} point(s) only this version held were deleted: "
                        "check the day (its exact verification, the `ingest_verify` job)"
                    )
                # nothing of this version reached the day: its mark and stamps go (the newer
                # version need not cover this day to clear them)
                store.abandon_file(partition, source)
                raise ObjectChangedError(
                    f"{normalized.source}: a newer version of the object was uploaded while "
                    f"this one was loading ({partition.key}): this version is superseded",
                    report,
                )
            if (touched or deleted) and plan.newer:
                # an earlier attempt wrote or deleted points a file uploaded after this one has
                # spoken of since: InfluxDB takes them back from the partition (that file's)
                _give_way(client, spec, touched, deleted, plan, claims.coverage, load_rows)
            rows = plan.rows
            # a retry's rows carry the stored values of the fields the file lacks: reconciled
            # as written, so what the first attempt loaded for them gives way too
            absent = claims.absent_fields if attempt == 1 else ()
            recon = reconcile(
                client, spec, replace(_effective(plan), rows=rows, absent_fields=absent)
            )
            deleted.update(recon.doomed)
            load = None
            if rows.num_rows:
                touched.append(rows)
                load = load_rows([rows], extra={INGESTED_FROM: normalized.source})
                written = rows
            write = PartitionWrite()
            if load is None or not load.failed_batches:
                try:
                    write = store.write(
                        partition, [plan.merged(spec)], spec, based_on=plan.generation
                    )
                except PartitionChangedError:
                    # another file was loaded into this day meanwhile: apply this one to what
                    # that file published (serially, as if it came after), never over it
                    if attempt == CONDITIONAL_ATTEMPTS:
                        raise
                    CONFLICT_RETRY.sleep(CONFLICT_RETRY.backoff(attempt))
                    continue
                store.commit_file(
                    partition, source, _said(plan, spec, stamps), still_current=still_current
                )
            break
        report.days.append(
            DayIngest(
                spec.name,
                day,
                rows.num_rows,
                claims.coverage,
                write,
                plan.kept.num_rows,
                recon,
                load,
                plan.gave_way,
            )
        )
        report.gave_way += plan.gave_way
    report.seconds = time.perf_counter() - started
    return report


def file_order(source: str, uploaded: datetime | None = None) -> FileOrder:
    """The order a file applies in: its upload time, then its name. S3 stamps an object with
    the second of its upload: it counts as uploaded at that second's end, so objects of one
    second apply in name order (as the sensor runs them). A file without an upload time (a local
    file given to ``ons-pipeline load``) counts as uploaded now."""
    if uploaded is None:
        return (time.time_ns(), source)
    moment = uploaded if uploaded.tzinfo else uploaded.replace(tzinfo=UTC)
    return (int(moment.timestamp()) * 1_000_000_000 + 999_999_999, source)


def _said(plan: PartitionMerge, spec: TableSpec, stamps: Stamps) -> FileClaims:
    """What the file said of the day, as its claims record it once its rows are in."""
    return replace(file_claims(_effective(plan), spec), stamps=stamps)


def _effective(plan: PartitionMerge) -> DayClaims:
    assert plan.claims is not None  # set by every plan
    return plan.claims


def _give_way(
    client: InfluxClient,
    spec: TableSpec,
    touched: list[pa.Table],
    deleted: Mapping[SeriesTime, frozenset[str]],
    plan: PartitionMerge,
    coverage: Iterable[Interval],
    load_rows: Callable[..., LoadReport],
) -> None:
    """Points earlier attempts wrote (``touched``) or deleted that a file uploaded after this
    one has spoken of since: deleted, then written again as the partition (that file's) holds
    them; this attempt then applies what is still this file's."""
    assert plan.newer is not None
    ids = [key for rows in touched for key in _key_times(rows, spec)] + _coded(deleted, spec)
    back = {
        key
        for key, spoken in zip(ids, plan.newer.fields_of(ids, spec.grain), strict=True)
        if spoken
    }
    if not back:
        return
    held = existing_points(client, spec, coverage)
    held_keys = list(held)
    gone = {
        key for key, code in zip(held_keys, _coded(held_keys, spec), strict=True) if code in back
    }
    if gone:
        delete_points(client, spec, held, gone)
    keep = [key in back for key in _key_times(plan.existing, spec)]
    if any(keep):
        load_rows([plan.existing.filter(pa.array(keep, pa.bool_()))])


def ingest_bytes(
    data: bytes,
    source: str,
    *,
    aws: AwsSettings,
    s3: Any,
    client: InfluxClient,
    raw_key: str | None = None,
    etag: str = "",
    deadletter: DeadLetterStore | None = None,
    batch_lines: int = 10_000,
    max_bad_fraction: float = 0.5,
    fmt: FileFormat | None = None,
    uploaded: datetime | None = None,
) -> IngestReport:
    """Normalise, quarantine the bad rows, then ingest (the whole path for one file, which
    applies as of its ``uploaded`` time: the object's ``LastModified``; now when not given)."""
    normalized = normalize_bytes(data, source, fmt=fmt or sniff_format(data, source))
    quarantined = write_quarantine(
        s3, aws.bucket, aws.quarantine_prefix, aws.raw_prefix, normalized, raw_key or source, etag
    )
    check_bad_fraction(normalized, max_bad_fraction)

    def still_current() -> bool:
        """Whether ``raw_key`` still holds this version (a removed object tells nothing)."""
        if not raw_key or not etag:
            return True
        try:
            head = s3.head_object(Bucket=aws.bucket, Key=raw_key)
        except s3.exceptions.ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code", "")) in {"404", "NoSuchKey"}:
                return True
            raise
        return clean_etag(head.get("ETag")) == clean_etag(etag)

    report = ingest_normalized(
        normalized,
        store=ParquetStore.of(aws, s3),
        client=client,
        deadletter=deadletter,
        batch_lines=batch_lines,
        etag=etag,
        still_current=still_current,
        uploaded=uploaded,
    )
    report.quarantine_keys = quarantined
    return report


# --- what the sensor checks before launching a run --------------------------------------------

PROBE_BYTES = 64 * 1024


class RejectedObjectError(IngestError):
    """The object is not an ingestible ONS file (reported, then skipped by the sensor)."""


class _RangeReader(io.RawIOBase):
    """A read-only, seekable view of one S3 object version through ranged GETs (Parquet footers)."""

    def __init__(self, s3: Any, bucket: str, key: str, size: int, etag: str | None) -> None:
        self._s3, self._bucket, self._key, self._size = s3, bucket, key, size
        self._etag = clean_etag(etag)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        end = self._size if size is None or size < 0 else min(self._size, self._pos + size)
        if end <= self._pos:
            return b""
        kwargs: dict[str, str] = {"Range": f"bytes={self._pos}-{end - 1}"}
        if self._etag:
            kwargs["IfMatch"] = f'"{self._etag}"'
        body = self._s3.get_object(Bucket=self._bucket, Key=self._key, **kwargs)["Body"].read()
        self._pos += len(body)
        return body

    def readall(self) -> bytes:
        return self.read(-1)


def probe_object(
    s3: Any,
    bucket: str,
    key: str,
    *,
    size: int,
    etag: str | None = None,
    max_bytes: int = IngestSettings.max_object_bytes,
) -> str:
    """The dataset of an object from its first bytes (CSV header, Parquet footer), cheaply.

    Raises :class:`RejectedObjectError` for an object that cannot be ingested (empty, too big,
    binary, unknown dataset); S3 errors (throttling, network) propagate unchanged.
    """
    uri = f"s3://{bucket}/{key}"
    if size <= 0:
        raise RejectedObjectError(f"{uri}: empty object")
    if size > max_bytes:
        raise RejectedObjectError(
            f"{uri}: {size:,} bytes is more than ONS_INGEST_MAX_BYTES ({max_bytes:,})"
        )
    kwargs: dict[str, str] = {"Range": f"bytes=0-{min(size, PROBE_BYTES) - 1}"}
    if etag:
        kwargs["IfMatch"] = f'"{clean_etag(etag)}"'
    head = s3.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].read()
    try:
        if head[:2] == GZIP_MAGIC:  # the (compressed) object, to read what it holds
            del kwargs["Range"]
            packed = s3.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].read()
            try:  # a CSV's header is in its first bytes: only those are inflated
                first = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(packed, PROBE_BYTES)
            except zlib.error as exc:
                raise RejectedObjectError(f"{uri}: damaged gzip data ({exc})") from None
            if first[:4] == b"PAR1" or first[:2] == GZIP_MAGIC:
                whole = gunzip(packed, uri)
                while whole[:2] == GZIP_MAGIC:
                    whole = gunzip(whole, uri)
                if whole[:4] != b"PAR1":
                    return detect_dataset(read_header(whole[:PROBE_BYTES], uri), uri).name
                return detect_dataset(pq.read_schema(pa.BufferReader(whole)).names, uri).name
            return detect_dataset(read_header(first, uri), uri).name
        if head[:4] == ZIP_MAGIC:  # an Excel workbook: its header is in the whole archive
            del kwargs["Range"]
            whole = s3.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].read()
            return detect_dataset(workbook_header(whole, uri), uri).name
        if head[:4] == b"PAR1":
            reader = _RangeReader(s3, bucket, key, size, etag)
            try:
                columns = pq.read_schema(pa.PythonFile(reader, mode="r")).names
            except (pa.ArrowInvalid, OSError) as exc:
                raise RejectedObjectError(f"{uri}: unreadable Parquet ({exc})") from None
        else:
            if b"\x00" in head:
                raise RejectedObjectError(f"{uri}: binary content, neither ';' CSV nor Parquet")
            if b"\n" not in head and b"\r" not in head and size > len(head):
                raise RejectedObjectError(f"{uri}: no line break in the first {PROBE_BYTES} bytes")
            columns = read_header(head, uri)
        return detect_dataset(columns, uri).name
    except NormalizeError as exc:
        raise RejectedObjectError(str(exc)) from None
