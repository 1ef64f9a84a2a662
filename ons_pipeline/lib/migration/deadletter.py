"""Dead-letter store for line-protocol batches that could not be written to InfluxDB.

Each failed batch is two objects under ``<table>/<partition>/<batch:06d>-<sha16>``: the gzipped
payload (``.lp.gz``) and a JSON sidecar (``.json``) with its :class:`DeadLetterMeta`. The id is
derived from table, partition, batch index and the payload's SHA-256, so putting the same failing
batch again updates one entry (attempts, last failure) instead of adding a duplicate. The sidecar is
written after the payload: an entry without a sidecar is incomplete and not listed.

Two backends share the logic: :class:`LocalDeadLetterStore` (a directory) and
:class:`S3DeadLetterStore` (a bucket + prefix, boto3). ``replay`` re-writes entries through an
``InfluxWriter``; that is idempotent because InfluxDB overwrites a point with the same series and
time, so replaying twice never duplicates data. An entry that later events superseded (its partition
rewritten, rolled back, or loaded and verified again) is not replayed: it would put back older
values or deleted points; the caller decides which entries are superseded and why.
"""

from __future__ import annotations

import builtins
import contextlib
import gzip
import hashlib
import json
import logging
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from ons_pipeline.lib.influx.client import SECURITY_ERRORS, AuthError, redact
from ons_pipeline.lib.influx.points import count_points

log = logging.getLogger(__name__)
PAYLOAD_SUFFIX = ".lp.gz"
META_SUFFIX = ".json"
STATUS_PENDING = "pending"
STATUS_REPLAYED = "replayed"
STATUS_SUPERSEDED = "superseded"  # newer data (or a rollback) made replaying it wrong or useless
# Extra key: the generation of the partition (lib/partitions.py) when the batch was written; a
# partition rewritten since holds newer rows than the batch, which must not overwrite them.
GENERATION = "partition generation"
# the raw ONS file a batch of continuous loading came from: redo its ingest, never a replay alone
INGESTED_FROM = "ingested from"
_ID_RE = re.compile(r"^([^/]+)/([^/]+)/(\d{6,})-([0-9a-f]{16})$")
_MAX_MESSAGE = 4000


class DeadLetterError(RuntimeError):
    """An entry is missing, malformed or corrupted."""


class BatchWriter(Protocol):
    """What ``replay`` needs from a writer (``InfluxWriter`` satisfies it)."""

    def write(
        self,
        data: bytes,
        lines: int | None = None,
        precision: str = "ns",
        *,
        database: str | None = None,
        retention_policy: str | None = None,
    ) -> Any: ...


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _component(value: str, what: str) -> str:
    if not value:
        raise ValueError(f"dead-letter {what} cannot be empty")
    encoded = quote(value, safe="-_=")
    if encoded.startswith("."):
        encoded = "%2E" + encoded[1:]
    return encoded


def make_id(table: str, partition: str, batch_index: int, sha256: str) -> str:
    """The deterministic id of a batch: ``<table>/<partition>/<batch:06d>-<sha256[:16]>``."""
    if batch_index < 0:
        raise ValueError("batch_index cannot be negative")
    return (
        f"{_component(table, 'table')}/{_component(partition, 'partition')}/"
        f"{batch_index:06d}-{sha256[:16]}"
    )


def _check_id(entry_id: str) -> str:
    if not _ID_RE.match(entry_id) or any(p in {".", ".."} for p in entry_id.split("/")):
        raise DeadLetterError(f"not a dead-letter id: {entry_id!r}")
    return entry_id


@dataclass
class DeadLetterMeta:
    """The sidecar of one failed batch. ``put`` fills id, sha256, bytes, lines and the times."""

    table: str
    partition: str
    batch_index: int
    error_class: str = ""
    error_message: str = ""
    attempts: int = 1
    precision: str = "ns"
    database: str | None = None
    retention_policy: str | None = None
    lines: int = 0
    bytes: int = 0
    sha256: str = ""
    id: str = ""
    first_failure: str = ""
    last_failure: str = ""
    failures: int = 1
    status: str = STATUS_PENDING
    replayed_at: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_error(
        cls,
        error: BaseException,
        *,
        table: str,
        partition: str,
        batch_index: int,
        precision: str = "ns",
        database: str | None = None,
        retention_policy: str | None = None,
        lines: int = 0,
        attempts: int | None = None,
        secrets: tuple[str | None, ...] = (),
        extra: dict[str, str] | None = None,
    ) -> DeadLetterMeta:
        """Metadata for a batch that failed with ``error`` (its message stripped of secrets)."""
        return cls(
            table=table,
            partition=partition,
            batch_index=batch_index,
            error_class=type(error).__name__,
            error_message=redact(str(error), secrets)[:_MAX_MESSAGE],
            attempts=attempts if attempts is not None else int(getattr(error, "attempts", 1)),
            precision=precision,
            database=database,
            retention_policy=retention_policy,
            lines=lines,
            extra=dict(extra or {}),
        )

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> DeadLetterMeta:
        try:
            raw = json.loads(data)
        except ValueError as exc:
            raise DeadLetterError(f"malformed dead-letter sidecar: {exc}") from None
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


@dataclass
class ReplayReport:
    """What a replay did: ids replayed, failed (id → error), superseded (id → why), skipped
    (already replayed or superseded before); lines re-written."""

    replayed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    superseded: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    lines: int = 0
    aborted: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and self.aborted is None


Selector = Iterable[str] | Callable[[DeadLetterMeta], bool] | None
# Why an entry must not be replayed any more (``None``: it may be).
Supersession = Callable[[DeadLetterMeta], str | None]


class DeadLetterStore(ABC):
    """Backend-independent dead-letter logic over four object primitives."""

    def __init__(self, clock: Callable[[], datetime] = _now) -> None:
        self._clock = clock

    # -- primitives ---------------------------------------------------------------------------
    @abstractmethod
    def _put_object(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def _get_object(self, key: str) -> bytes:
        """The object's bytes; ``KeyError`` when it does not exist."""

    @abstractmethod
    def _delete_object(self, key: str) -> None: ...

    @abstractmethod
    def _list_keys(self, prefix: str) -> Iterator[str]:
        """Keys (relative to the store) starting with ``prefix``."""

    # -- operations ---------------------------------------------------------------------------
    def _load_meta(self, entry_id: str) -> DeadLetterMeta | None:
        try:
            return DeadLetterMeta.from_json(self._get_object(entry_id + META_SUFFIX))
        except KeyError:
            return None

    def _save_meta(self, meta: DeadLetterMeta) -> None:
        self._put_object(meta.id + META_SUFFIX, meta.to_json())

    def put(self, batch_bytes: bytes, meta: DeadLetterMeta) -> str:
        """Persist a failed batch; returns its id. The same batch again updates the one entry."""
        payload = bytes(batch_bytes)
        digest = hashlib.sha256(payload).hexdigest()
        entry_id = make_id(meta.table, meta.partition, meta.batch_index, digest)
        now = _iso(self._clock())
        existing = self._load_meta(entry_id)
        message = redact(meta.error_message)[:_MAX_MESSAGE]
        if existing is None:
            self._put_object(entry_id + PAYLOAD_SUFFIX, gzip.compress(payload, mtime=0))
            record = replace(
                meta,
                id=entry_id,
                sha256=digest,
                bytes=len(payload),
                lines=meta.lines or count_points(payload),
                error_message=message,
                first_failure=meta.first_failure or now,
                last_failure=now,
                failures=1,
                status=STATUS_PENDING,
                replayed_at=None,
            )
        else:
            record = replace(
                existing,
                error_class=meta.error_class,
                error_message=message,
                attempts=existing.attempts + meta.attempts,
                failures=existing.failures + 1,
                last_failure=now,
                status=STATUS_PENDING,
                replayed_at=None,
                extra={**existing.extra, **meta.extra},
            )
        self._save_meta(record)
        return entry_id

    def list(
        self,
        table: str | None = None,
        partition: str | None = None,
        include_replayed: bool = False,
    ) -> builtins.list[DeadLetterMeta]:
        """Pending entries (their sidecars; with ``include_replayed`` also the replayed and
        superseded ones), optionally of one table / partition, in batch order."""
        prefix = ""
        if table is not None:
            prefix = _component(table, "table") + "/"
            if partition is not None:
                prefix += _component(partition, "partition") + "/"
        found: builtins.list[DeadLetterMeta] = []
        for key in self._list_keys(prefix):
            if not key.endswith(META_SUFFIX):
                continue
            try:
                meta = DeadLetterMeta.from_json(self._get_object(key))
            except KeyError:  # deleted meanwhile
                continue
            except (DeadLetterError, TypeError) as exc:
                log.warning("skipping unreadable dead-letter sidecar %s: %s", key, exc)
                continue
            if partition is not None and meta.partition != partition:
                continue
            if table is not None and meta.table != table:
                continue
            if meta.status != STATUS_PENDING and not include_replayed:
                continue
            found.append(meta)
        found.sort(key=lambda m: (m.table, m.partition, m.batch_index, m.id))
        return found

    def meta(self, entry_id: str) -> DeadLetterMeta:
        """The sidecar of one entry."""
        meta = self._load_meta(_check_id(entry_id))
        if meta is None:
            raise DeadLetterError(f"no dead-letter entry {entry_id!r}")
        return meta

    def get(self, entry_id: str) -> bytes:
        """The line-protocol payload of one entry, checked against its SHA-256."""
        meta = self.meta(entry_id)
        try:
            payload = gzip.decompress(self._get_object(entry_id + PAYLOAD_SUFFIX))
        except KeyError:
            raise DeadLetterError(f"dead-letter entry {entry_id!r} has no payload") from None
        except (OSError, EOFError) as exc:
            raise DeadLetterError(f"dead-letter payload {entry_id!r} unreadable: {exc}") from None
        if hashlib.sha256(payload).hexdigest() != meta.sha256:
            raise DeadLetterError(f"dead-letter payload {entry_id!r} does not match its SHA-256")
        return payload

    def delete(self, entry_id: str) -> bool:
        """Remove an entry (sidecar first, so a half-deleted entry is never listed)."""
        _check_id(entry_id)
        existed = self._load_meta(entry_id) is not None
        self._delete_object(entry_id + META_SUFFIX)
        self._delete_object(entry_id + PAYLOAD_SUFFIX)
        return existed

    def _select(
        self, ids: Selector, table: str | None, partition: str | None
    ) -> builtins.list[DeadLetterMeta]:
        if ids is None or callable(ids):
            entries = self.list(table=table, partition=partition, include_replayed=True)
            return [m for m in entries if ids is None or ids(m)]
        return [self.meta(entry_id) for entry_id in ids]

    def replay(
        self,
        writer: BatchWriter,
        ids: Selector = None,
        *,
        table: str | None = None,
        partition: str | None = None,
        keep_replayed: bool = False,
        superseded: Supersession | None = None,
    ) -> ReplayReport:
        """Re-write entries (all, the given ids, or those a predicate accepts) through ``writer``.

        A replayed entry is deleted (or, with ``keep_replayed``, marked ``replayed``); a failure
        stays with its attempt count and error updated. An entry ``superseded`` gives a reason for
        is not written but marked ``superseded`` with that reason (kept, listed with ``--all``).
        An :class:`AuthError` stops the replay: every other entry would fail the same way.
        """
        report = ReplayReport()
        for meta in self._select(ids, table, partition):
            if meta.status != STATUS_PENDING:
                report.skipped.append(meta.id)
                continue
            reason = superseded(meta) if superseded is not None else None
            if reason:
                extra = {**meta.extra, "superseded": reason}
                self._save_meta(replace(meta, status=STATUS_SUPERSEDED, extra=extra))
                report.superseded[meta.id] = reason
                continue
            try:
                payload = self.get(meta.id)
            except DeadLetterError as exc:
                report.failed[meta.id] = str(exc)
                continue
            try:
                writer.write(
                    payload,
                    meta.lines,
                    meta.precision,
                    database=meta.database,
                    retention_policy=meta.retention_policy,
                )
            except Exception as error:  # any failure is recorded on the entry
                message = redact(str(error))[:_MAX_MESSAGE]
                self._save_meta(
                    replace(
                        meta,
                        error_class=type(error).__name__,
                        error_message=message,
                        attempts=meta.attempts + int(getattr(error, "attempts", 1)),
                        failures=meta.failures + 1,
                        last_failure=_iso(self._clock()),
                    )
                )
                report.failed[meta.id] = f"{type(error).__name__}: {message}"
                if isinstance(error, SECURITY_ERRORS):  # the next entry would fail the same way
                    what = "authentication" if isinstance(error, AuthError) else "TLS"
                    report.aborted = f"{what} failed, replay stopped: {message}"
                    break
                continue
            report.replayed.append(meta.id)
            report.lines += meta.lines
            if keep_replayed:
                self._save_meta(
                    replace(meta, status=STATUS_REPLAYED, replayed_at=_iso(self._clock()))
                )
            else:
                self.delete(meta.id)
        return report


class LocalDeadLetterStore(DeadLetterStore):
    """Entries as files under a directory (atomic writes: temp file + rename)."""

    def __init__(self, directory: Path | str, clock: Callable[[], datetime] = _now) -> None:
        super().__init__(clock)
        self.root = Path(directory).resolve()

    def __repr__(self) -> str:
        return f"LocalDeadLetterStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise DeadLetterError(f"key escapes the store: {key!r}")
        return path

    def _put_object(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _get_object(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def _delete_object(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def _list_keys(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix) if prefix else self.root
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.startswith(".tmp-"):
                yield path.relative_to(self.root).as_posix()


class S3DeadLetterStore(DeadLetterStore):
    """Entries as objects under ``s3://bucket/prefix/`` (boto3 client, default from the env)."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "deadletter",
        client: Any | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        super().__init__(clock)
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def __repr__(self) -> str:
        return f"S3DeadLetterStore('s3://{self.bucket}/{self.prefix}')"

    def _put_object(self, key: str, data: bytes) -> None:
        content_type = "application/json" if key.endswith(META_SUFFIX) else "application/gzip"
        self.client.put_object(
            Bucket=self.bucket, Key=self.prefix + key, Body=data, ContentType=content_type
        )

    def _get_object(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}:
                raise KeyError(key) from None
            raise
        return bytes(response["Body"].read())

    def _delete_object(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)

    def _list_keys(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for item in page.get("Contents", []):
                yield str(item["Key"])[len(self.prefix) :]
