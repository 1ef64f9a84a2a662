"""Amazon Timestream (LiveAnalytics) side: export SQL, typed result parsing, UNLOAD output, staging.

The export of a table-day is one SQL statement over a half-open window ``[start, end)`` (never
``BETWEEN``: adjacent windows would share their boundary rows). ``query`` mode pages through
``Query`` with every ``NextToken``; ``unload`` mode runs ``UNLOAD`` to S3 and reads the files its
manifest lists. Both produce canonical Arrow tables (``schema.TableSpec.arrow_schema()``) without
loss: ns timestamps, typed measures, NULLs.

The staging half renders canonical tables as Timestream would answer (Query pages of ~1 MB with
``NextToken``, or UNLOAD's Parquet + manifest) so the real boto3 export path runs against moto.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Generator, Iterable, Iterator, Sequence
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ons_pipeline.lib.ons_time import Window
from ons_pipeline.lib.schema import (
    TIME_COLUMN,
    TIME_TYPE,
    FieldSpec,
    Layout,
    MeasureType,
    Source,
    TableSpec,
)

NS_PER_SECOND = 1_000_000_000
UNLOAD_TIME_COLUMN = "time_ns"


class ExportError(RuntimeError):
    """The source returned something the export cannot turn into the table's records."""


class QueryClient(Protocol):
    def query(self, **kwargs: Any) -> dict[str, Any]: ...


def database_for(spec: TableSpec, ons_database: str, legacy_database: str) -> str:
    """The table's Timestream database: its mapping's ``database``, else by its source."""
    if spec.database:
        return spec.database
    return legacy_database if spec.source is Source.LEGACY else ons_database


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _column(spec: TableSpec, name: str) -> str:
    """A tag or multi-measure field as selected: its source column, renamed when it differs."""
    source = spec.source_column(name)
    return _ident(source) if source == name else f"{_ident(source)} AS {_ident(name)}"


def pivoted(spec: TableSpec) -> bool:
    """Single-measure records whose measure names become fields (one row per time and series)."""
    return spec.layout is Layout.SINGLE and spec.source is not Source.LEGACY


def _pivot_field(spec: TableSpec, field: FieldSpec) -> str:
    # One record per (series, time, measure_name) in Timestream: max() picks that one value.
    value = f"measure_value::{field.type.value.lower()}"
    name = _literal(spec.source_column(field.name))
    return f"max(CASE WHEN measure_name = {name} THEN {value} END) AS {_ident(field.name)}"


def _select_list(spec: TableSpec, time_expression: str) -> str:
    columns = [time_expression, *(_column(spec, t) for t in spec.tags)]
    if spec.source is Source.LEGACY:
        columns += ["measure_name", f"measure_value::double AS {_ident('value')}"]
    elif pivoted(spec):
        columns += [_pivot_field(spec, f) for f in spec.fields]
    else:
        columns.append("measure_name")
        columns += [_column(spec, f.name) for f in spec.fields]
    return ", ".join(columns)


def _from_window(spec: TableSpec, database: str, window: Window) -> str:
    """``FROM`` the table ``WHERE`` time is in the half-open window (and, for pivoted tables,
    the measure is mapped), then ``GROUP BY`` time and series for pivoted tables."""
    text = (
        f"FROM {_ident(database)}.{_ident(spec.source_table)} "
        f"WHERE time >= from_nanoseconds({window.start_ns}) "
        f"AND time < from_nanoseconds({window.end_ns})"
    )
    if pivoted(spec):
        names = ", ".join(_literal(spec.source_column(f)) for f in spec.field_names)
        group = ", ".join(["time", *(_ident(spec.source_column(t)) for t in spec.tags)])
        text += f" AND measure_name IN ({names}) GROUP BY {group}"
    return text


def export_query(
    spec: TableSpec, database: str, window: Window, *, for_unload: bool = False
) -> str:
    """The exact SQL that exports one window of one table (ordered by time, then series)."""
    time_expression = f"to_nanoseconds(time) AS {UNLOAD_TIME_COLUMN}" if for_unload else "time"
    order = ", ".join(["time", *(_ident(spec.source_column(t)) for t in spec.tags)])
    return (
        f"SELECT {_select_list(spec, time_expression)} "
        f"{_from_window(spec, database, window)} "
        f"ORDER BY {order}"
    )


def unload_query(spec: TableSpec, database: str, window: Window, destination: str) -> str:
    """``UNLOAD`` of one window to Parquet; time goes out as BIGINT ns so no precision is lost."""
    select = export_query(spec, database, window, for_unload=True)
    return f"UNLOAD ({select}) TO '{destination}' WITH (format = 'PARQUET', compression = 'SNAPPY')"


# ---------------------------------------------------------------------------------------------
# Query mode: pages → canonical Arrow


def iter_query_pages(client: QueryClient, sql: str, max_pages: int = 1_000_000) -> Iterator[dict]:
    """Every page of a query, following ``NextToken`` until the last page."""
    token: str | None = None
    for _ in range(max_pages):
        kwargs: dict[str, Any] = {"QueryString": sql}
        if token:
            kwargs["NextToken"] = token
        page = client.query(**kwargs)
        yield page
        token = page.get("NextToken")
        if not token:
            return
    raise ExportError(f"query did not finish after {max_pages} pages: {sql}")


def parse_timestamps(values: pa.Array) -> pa.Array:
    """Timestream's ``YYYY-MM-DD HH:MM:SS.fffffffff`` strings → timestamp[ns, UTC], exactly."""
    values = pc.cast(values, pa.string())
    seconds = pc.strptime(
        pc.utf8_slice_codeunits(values, 0, 19), format="%Y-%m-%d %H:%M:%S", unit="s"
    )
    fraction = pc.utf8_rpad(pc.utf8_slice_codeunits(values, 20, 29), 9, "0")
    ns = pc.add(
        pc.multiply(pc.cast(seconds, pa.int64()), pa.scalar(NS_PER_SECOND, pa.int64())),
        pc.cast(fraction, pa.int64()),
    )
    return pc.cast(ns, TIME_TYPE)


def _typed_column(values: Sequence[str | None], scalar_type: str, name: str) -> pa.Array:
    strings = pa.array(values, pa.string())
    if scalar_type == "TIMESTAMP":
        return parse_timestamps(strings)
    if scalar_type == "VARCHAR":
        return strings
    if scalar_type == "DOUBLE":
        return pc.cast(strings, pa.float64())
    if scalar_type == "BIGINT":
        return pc.cast(strings, pa.int64())
    if scalar_type == "BOOLEAN":
        return pc.equal(pc.utf8_lower(strings), "true")
    raise ExportError(f"column {name!r}: unsupported Timestream type {scalar_type!r}")


def page_to_table(page: dict[str, Any], spec: TableSpec) -> pa.Table:
    """One Query response page → a canonical table (validated against the mapping)."""
    info = page.get("ColumnInfo") or []
    rows = page.get("Rows") or []
    if not info:
        if rows:
            raise ExportError(f"table {spec.name!r}: a page has rows but no ColumnInfo")
        return spec.arrow_schema().empty_table()
    names = [c["Name"] for c in info]
    types = [c["Type"].get("ScalarType", "?") for c in info]
    raw_columns: list[Sequence[str | None]]
    if rows:
        cells = ([d.get("ScalarValue") for d in r["Data"]] for r in rows)
        raw_columns = list(zip(*cells, strict=True))
    else:
        raw_columns = [[] for _ in names]
    columns = {
        name: _typed_column(values, stype, name)
        for name, stype, values in zip(names, types, raw_columns, strict=True)
    }
    return _to_canonical(columns, spec, where=f"table {spec.name!r} query page")


def _to_canonical(columns: dict[str, pa.Array], spec: TableSpec, where: str) -> pa.Table:
    if UNLOAD_TIME_COLUMN in columns:
        columns[TIME_COLUMN] = pc.cast(
            pc.cast(columns.pop(UNLOAD_TIME_COLUMN), pa.int64()), TIME_TYPE
        )
    measure_names = columns.pop("measure_name", None)
    if measure_names is not None and len(measure_names):
        unexpected = pc.unique(pc.drop_null(measure_names)).to_pylist()
        unexpected = [m for m in unexpected if m != spec.measure_name]
        if unexpected:
            raise ExportError(
                f"{where}: measure_name {unexpected} found; the mapping expects only "
                f"{spec.measure_name!r} — add them to tables.toml or filter the export"
            )
    schema = spec.arrow_schema()
    missing = [n for n in schema.names if n not in columns]
    if missing:
        raise ExportError(f"{where}: missing columns {missing}; got {sorted(columns)}")
    unknown = sorted(set(columns) - set(schema.names))
    if unknown:
        raise ExportError(f"{where}: unknown columns {unknown} not in the mapping")
    arrays = []
    for target in schema:
        array = columns[target.name]
        try:
            array = pc.cast(array, target.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ExportError(
                f"{where}: column {target.name!r} has type {array.type}, expected {target.type}"
            ) from exc
        if not target.nullable and array.null_count:
            row = pc.index(pc.is_null(array), True).as_py()
            raise ExportError(f"{where}: column {target.name!r} is NULL at row {row}")
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=schema)


def export_query_mode(
    client: QueryClient, spec: TableSpec, database: str, window: Window
) -> Generator[pa.Table, None, None]:
    """Canonical tables, one per page, of a window exported through paginated ``Query``."""
    sql = export_query(spec, database, window)
    for page in iter_query_pages(client, sql):
        yield page_to_table(page, spec)


# ---------------------------------------------------------------------------------------------
# What the source says of itself: its columns, and its own count of a window


def describe_query(database: str, table: str) -> str:
    return f"DESCRIBE {_ident(database)}.{_ident(table)}"


def show_measures_query(database: str, table: str) -> str:
    return f"SHOW MEASURES FROM {_ident(database)}.{_ident(table)}"


def show_tables_query(database: str) -> str:
    return f"SHOW TABLES FROM {_ident(database)}"


def _datum(datum: dict[str, Any]) -> Any:
    """A Query ``Datum`` as Python: scalars as text, arrays as lists, rows as lists."""
    if datum.get("NullValue"):
        return None
    if "ArrayValue" in datum:
        return [_datum(d) for d in datum["ArrayValue"]]
    if "RowValue" in datum:
        return [_datum(d) for d in datum["RowValue"].get("Data", [])]
    return datum.get("ScalarValue")


def page_rows(page: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of one Query page as ``{column: value}`` (arrays and rows as lists)."""
    names = [c.get("Name", "") for c in page.get("ColumnInfo") or []]
    return [
        dict(zip(names, (_datum(d) for d in row.get("Data", [])), strict=False))
        for row in page.get("Rows") or []
    ]


def query_rows(client: QueryClient, sql: str) -> list[dict[str, Any]]:
    """Every row of a (small) query, following ``NextToken``."""
    return [row for page in iter_query_pages(client, sql) for row in page_rows(page)]


def described_columns(client: QueryClient, database: str, table: str) -> list[tuple[str, str, str]]:
    """``DESCRIBE``: (column, type, Timestream attribute type) in Timestream's order."""
    columns = []
    for row in query_rows(client, describe_query(database, table)):
        values = list(row.values())
        if len(values) >= 3:
            columns.append((str(values[0]), str(values[1]).lower(), str(values[2]).upper()))
    return columns


def measure_types(client: QueryClient, database: str, table: str) -> dict[str, list[str]]:
    """``SHOW MEASURES``: measure name → its data types (``double``, ..., or ``multi``)."""
    found: dict[str, list[str]] = {}
    for row in query_rows(client, show_measures_query(database, table)):
        name, kind = row.get("measure_name"), row.get("data_type")
        if name is not None and kind is not None:
            found.setdefault(str(name), []).append(str(kind).lower())
    return found


def unmapped_columns(client: QueryClient, spec: TableSpec, database: str) -> list[str] | None:
    """Problems between the source table's columns (``DESCRIBE``; for pivoted tables also
    ``SHOW MEASURES``) and the mapping, each described: a dimension the mapping does not know
    (rows that differ only there would collapse into one point), a measure it does not know
    (never migrated), a mapped column the source lacks or holds with another type. ``None``
    when the source gave no description to check."""
    described = described_columns(client, database, spec.source_table)
    if not described:
        return None
    columns = {name: kind for name, _, kind in described}
    types = {name: kind for name, kind, _ in described}
    dimensions = {c for c, kind in columns.items() if kind == "DIMENSION"}
    measures = {c for c, kind in columns.items() if kind in {"MULTI", "MEASURE_VALUE"}}
    tags = {spec.source_column(t) for t in spec.tags}
    problems = [
        f"dimension {d!r} is not in the mapping: rows that differ only in it would collapse "
        "into one point (map it as a tag)"
        for d in sorted(dimensions - tags)
    ]
    problems += [
        f"the mapping's tag {c!r} is not a dimension of the source table"
        for c in sorted(tags - dimensions)
    ]
    if spec.source is Source.LEGACY:
        wanted = {"measure_value::double": "double"}
    elif pivoted(spec):
        wanted = {f"measure_value::{f.type.value.lower()}": "" for f in spec.fields}
    else:
        wanted = {spec.source_column(f.name): f.type.value.lower() for f in spec.fields}
    problems += [
        f"measure {m!r} is not in the mapping: it would not be migrated (map it as a field)"
        for m in sorted(measures - set(wanted))
    ]
    problems += [
        f"the mapping's column {c!r} is not in the source table"
        for c in sorted(set(wanted) - measures)
    ]
    problems += [
        f"column {c!r} is {types[c].upper()} in the source, {kind.upper()} in the mapping"
        for c, kind in sorted(wanted.items())
        if kind and c in types and types[c] != kind
    ]
    if pivoted(spec):
        problems += _measure_problems(client, spec, database)
    return problems


def _measure_problems(client: QueryClient, spec: TableSpec, database: str) -> list[str]:
    found = measure_types(client, database, spec.source_table)
    if not found:
        return []
    mapped = {spec.source_column(f.name): f.type.value.lower() for f in spec.fields}
    problems = [
        f"measure {m!r} is not in the mapping: it would not be migrated (map it as a field)"
        for m in sorted(set(found) - set(mapped))
    ]
    problems += [
        f"the mapping's measure {m!r} is not in the source table"
        for m in sorted(set(mapped) - set(found))
    ]
    problems += [
        f"measure {m!r} is held as {'/'.join(found[m]).upper()} in the source, "
        f"{kind.upper()} in the mapping (records of another type would not be migrated)"
        for m, kind in sorted(mapped.items())
        if m in found and found[m] != [kind]
    ]
    return problems


def check_source_columns(client: QueryClient, spec: TableSpec, database: str) -> bool:
    """Raise :class:`ExportError` naming every column problem; ``False`` when the source gave no
    description (nothing checked), ``True`` when it matches the mapping."""
    problems = unmapped_columns(client, spec, database)
    if problems:
        raise ExportError(
            f"Timestream table {database}.{spec.source_table} does not match the mapping: "
            + "; ".join(problems)
        )
    return problems is not None


def count_query(spec: TableSpec, database: str, window: Window) -> str:
    """Timestream's own count of a window: rows and, per measure, values."""
    counts = ['count(*) AS "rows"']
    if spec.source is Source.LEGACY:
        counts.append(f"count(measure_value::double) AS {_ident('value')}")
    elif pivoted(spec):  # counted on the pivoted rows the export reads
        counts += [f"count({_ident(f.name)}) AS {_ident(f.name)}" for f in spec.fields]
        inner = f"SELECT {_select_list(spec, 'time')} {_from_window(spec, database, window)}"
        return f"SELECT {', '.join(counts)} FROM ({inner})"
    else:
        counts += [
            f"count({_ident(spec.source_column(f.name))}) AS {_ident(f.name)}" for f in spec.fields
        ]
    return f"SELECT {', '.join(counts)} {_from_window(spec, database, window)}"


def source_counts(
    client: QueryClient, spec: TableSpec, database: str, window: Window
) -> dict[str, int] | None:
    """Timestream's count of the window (``rows`` and each measure's values), from the first page
    that holds it (a running query answers empty pages with a ``NextToken`` first); ``None``
    when no page did (a source that does not count)."""
    for page in iter_query_pages(client, count_query(spec, database, window)):
        rows = page.get("Rows") or []
        if rows:
            names = [c["Name"] for c in page.get("ColumnInfo") or []]
            data = rows[0]["Data"]
            return {n: int(d.get("ScalarValue") or 0) for n, d in zip(names, data, strict=True)}
    return None


def reconcile_counts(counts: dict[str, int], table: pa.Table, spec: TableSpec, where: str) -> None:
    """Fail when the exported rows differ from the source's own count (rows or a measure)."""
    exported = {"rows": table.num_rows}
    exported.update({f.name: table.num_rows - table.column(f.name).null_count for f in spec.fields})
    differing = {n: (counts[n], exported[n]) for n in counts if exported.get(n) != counts[n]}
    if differing:
        detail = ", ".join(f"{n}: source {a}, exported {b}" for n, (a, b) in differing.items())
        raise ExportError(f"{where}: the export does not match Timestream's own count ({detail})")


# ---------------------------------------------------------------------------------------------
# UNLOAD mode


def split_s3_url(url: str) -> tuple[str, str]:
    if not url.startswith("s3://"):
        raise ExportError(f"not an s3:// URL: {url!r}")
    bucket, _, key = url[5:].partition("/")
    return bucket, key


def unload_result(page: dict[str, Any]) -> dict[str, str]:
    """The single row UNLOAD answers: ``rows``, ``metadataFile``, ``manifestFile``."""
    names = [c["Name"] for c in page.get("ColumnInfo") or []]
    rows = page.get("Rows") or []
    if not rows or "manifestFile" not in names:
        raise ExportError(f"UNLOAD returned no manifest (columns {names})")
    return {n: d.get("ScalarValue", "") for n, d in zip(names, rows[0]["Data"], strict=True)}


def read_unload_output(
    s3: Any,
    manifest_url: str,
    spec: TableSpec,
    keys: list[str] | None = None,
    unloaded: int | None = None,
) -> Iterator[pa.Table]:
    """Canonical tables from the Parquet files an UNLOAD manifest lists, their rows checked
    against each file's count, the manifest's total and ``unloaded`` (the UNLOAD's own answer).

    ``keys`` receives the keys of the result files the manifest lists."""
    bucket, key = split_s3_url(manifest_url)
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    if keys is not None:
        keys.extend(split_s3_url(entry["url"])[1] for entry in manifest.get("result_files", []))
    expected_total = manifest.get("query_metadata", {}).get("total_row_count")
    total = 0
    for entry in manifest.get("result_files", []):
        file_bucket, file_key = split_s3_url(entry["url"])
        body = s3.get_object(Bucket=file_bucket, Key=file_key)["Body"].read()
        try:
            parquet = pq.ParquetFile(io.BytesIO(body))
        except pa.ArrowInvalid as exc:
            raise ExportError(f"UNLOAD file {entry['url']}: not valid Parquet: {exc}") from exc
        rows = 0
        for batch in parquet.iter_batches():
            rows += batch.num_rows
            columns = {name: batch.column(name) for name in batch.schema.names}
            yield _to_canonical(columns, spec, where=f"UNLOAD file {entry['url']}")
        declared = entry.get("file_metadata", {}).get("row_count")
        if declared is not None and declared != rows:
            raise ExportError(f"UNLOAD file {entry['url']}: {rows} rows, manifest says {declared}")
        total += rows
    if expected_total is not None and expected_total != total:
        raise ExportError(
            f"UNLOAD {manifest_url}: read {total} rows, manifest says {expected_total}"
        )
    if unloaded is not None and unloaded != total:
        raise ExportError(
            f"UNLOAD {manifest_url}: read {total} rows from the files the manifest lists, "
            f"the UNLOAD unloaded {unloaded}"
        )


def delete_unload_output(s3: Any, bucket: str, prefix: str, keys: list[str]) -> None:
    """Remove an UNLOAD's output: the objects it named (``keys``, once read whole: one request),
    else everything under its prefix (a failed UNLOAD can leave partial files)."""
    if keys and all(k.startswith(prefix) for k in keys):
        s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True}
        )
        return
    delete_prefix(s3, bucket, prefix)


def delete_prefix(s3: Any, bucket: str, prefix: str) -> int:
    """Delete every object under a prefix; returns how many."""
    deleted = 0
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            deleted += len(keys)
    return deleted


def export_unload_mode(
    client: QueryClient,
    s3: Any,
    spec: TableSpec,
    database: str,
    window: Window,
    destination: str,
) -> Generator[pa.Table, None, None]:
    """Canonical tables from an UNLOAD to ``destination``; its output is removed afterwards,
    also when the UNLOAD or the read fails (a failed UNLOAD can leave partial files)."""
    bucket, prefix = split_s3_url(destination)
    sql = unload_query(spec, database, window, destination)
    written: list[str] = []  # filled only once the whole output has been read
    try:
        # While the statement runs, Timestream answers pages without rows and a NextToken; the
        # result row (manifest, metadata, row count) comes on a later page.
        pages = iter_query_pages(client, sql)
        page = next((p for p in pages if p.get("Rows")), None)
        if page is None:
            raise ExportError(f"UNLOAD finished without a result row: {sql}")
        result = unload_result(page)
        try:
            unloaded = int(result["rows"])
        except (KeyError, ValueError):
            raise ExportError(f"UNLOAD answered no row count ({sorted(result)}): {sql}") from None
        files: list[str] = []
        yield from read_unload_output(s3, result["manifestFile"], spec, files, unloaded)
        written = [
            *(
                split_s3_url(result[k])[1]
                for k in ("manifestFile", "metadataFile")
                if result.get(k)
            ),
            *files,
        ]
    finally:
        delete_unload_output(s3, bucket, prefix, written)


# ---------------------------------------------------------------------------------------------
# Staging: canonical tables rendered the way Timestream answers


_ARROW_TO_SCALAR = {
    MeasureType.DOUBLE: "DOUBLE",
    MeasureType.BIGINT: "BIGINT",
    MeasureType.VARCHAR: "VARCHAR",
    MeasureType.BOOLEAN: "BOOLEAN",
    MeasureType.TIMESTAMP: "TIMESTAMP",
}


def column_info(spec: TableSpec) -> list[dict[str, Any]]:
    """The export query's result columns (``measure_name`` only for unpivoted records)."""
    columns = [{"Name": TIME_COLUMN, "Type": {"ScalarType": "TIMESTAMP"}}]
    columns += [{"Name": t, "Type": {"ScalarType": "VARCHAR"}} for t in spec.tags]
    if not pivoted(spec):
        columns.append({"Name": "measure_name", "Type": {"ScalarType": "VARCHAR"}})
    columns += [
        {"Name": f.name, "Type": {"ScalarType": _ARROW_TO_SCALAR[f.type]}} for f in spec.fields
    ]
    return columns


def _render_column(array: pa.ChunkedArray | pa.Array, measure: MeasureType | None) -> list[Any]:
    if pa.types.is_timestamp(array.type):
        return pc.strftime(array, format="%Y-%m-%d %H:%M:%S").to_pylist()
    if measure is MeasureType.DOUBLE:
        return [None if v is None else repr(v) for v in array.to_pylist()]
    if measure is MeasureType.BOOLEAN:
        return [None if v is None else ("true" if v else "false") for v in array.to_pylist()]
    return [None if v is None else str(v) for v in array.to_pylist()]


def table_to_pages(
    tables: Iterable[pa.Table], spec: TableSpec, page_bytes: int = 1_000_000
) -> list[dict[str, Any]]:
    """Query response pages (about ``page_bytes`` of JSON each) holding the tables' rows."""
    info = column_info(spec)
    pages: list[dict[str, Any]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for table in tables:
        table = table.select(list(spec.columns))
        rendered = [_render_column(table.column(TIME_COLUMN), None)]
        rendered += [_render_column(table.column(t), None) for t in spec.tags]
        if not pivoted(spec):
            rendered.append([spec.measure_name] * table.num_rows)
        rendered += [_render_column(table.column(f.name), f.type) for f in spec.fields]
        for values in zip(*rendered, strict=False):
            row = {
                "Data": [{"NullValue": True} if v is None else {"ScalarValue": v} for v in values]
            }
            current.append(row)
            size += 24 + sum(len(v) + 18 if v is not None else 20 for v in values)
            if size >= page_bytes:
                pages.append({"Rows": current, "ColumnInfo": info})
                current, size = [], 0
    if current or not pages:
        pages.append({"Rows": current, "ColumnInfo": info})
    query_id = uuid.uuid4().hex
    for index, page in enumerate(pages):
        page["QueryId"] = query_id
        page["QueryStatus"] = {"ProgressPercentage": 100.0 * (index + 1) / len(pages)}
        if index + 1 < len(pages):
            page["NextToken"] = f"{query_id}-page-{index + 1}"
    return pages


def stage_query_results(endpoint_url: str, results: dict[str, list[dict[str, Any]]]) -> None:
    """Queue canned Query responses on a moto server (consumed in order per exact SQL)."""
    import requests

    response = requests.post(
        f"{endpoint_url}/moto-api/static/timestream/query-results",
        json={"results": results},
        timeout=60,
    )
    response.raise_for_status()


_DESCRIBE_COLUMNS = ("Column", "Type", "Timestream attribute type")


def _varchar_answer(names: Sequence[str], rows: Iterable[Sequence[str]]) -> dict[str, Any]:
    return {
        "Rows": [{"Data": [{"ScalarValue": v} for v in row]} for row in rows],
        "ColumnInfo": [{"Name": n, "Type": {"ScalarType": "VARCHAR"}} for n in names],
    }


def describe_answer(spec: TableSpec, extra_dimensions: Sequence[str] = ()) -> dict[str, Any]:
    """What ``DESCRIBE`` answers for a table laid out as the mapping says (plus, for tests,
    dimensions the mapping does not know): dimensions, ``measure_name``, ``time``, then the
    measure columns, as Timestream orders them."""
    tags = [spec.source_column(t) for t in spec.tags]
    rows = [[t, "varchar", "DIMENSION"] for t in (*tags, *extra_dimensions)]
    rows.append(["measure_name", "varchar", "MEASURE_NAME"])
    rows.append([TIME_COLUMN, "timestamp", "TIMESTAMP"])
    if spec.source is Source.LEGACY or pivoted(spec):
        kinds = dict.fromkeys(f.type.value.lower() for f in spec.fields)
        rows += [[f"measure_value::{k}", k, "MEASURE_VALUE"] for k in kinds]
    else:
        rows += [[spec.source_column(f.name), f.type.value.lower(), "MULTI"] for f in spec.fields]
    return _varchar_answer(_DESCRIBE_COLUMNS, rows)


_DIMENSIONS_TYPE = {
    "ArrayColumnInfo": {
        "Type": {
            "RowColumnInfo": [
                {"Name": "dimension_name", "Type": {"ScalarType": "VARCHAR"}},
                {"Name": "data_type", "Type": {"ScalarType": "VARCHAR"}},
            ]
        }
    }
}


def show_measures_answer(
    spec: TableSpec, dimensions: dict[str, Sequence[str]] | None = None
) -> dict[str, Any]:
    """What ``SHOW MEASURES`` answers: one row per measure name with its data type (``multi``
    for multi-measure records) and the dimensions its records carry (an array of rows), by
    default every tag of the table; ``dimensions`` gives them per measure name."""
    tags = [spec.source_column(t) for t in spec.tags]
    if spec.source is Source.LEGACY or pivoted(spec):
        measures = [(spec.source_column(f.name), f.type.value.lower()) for f in spec.fields]
    else:
        measures = [(spec.measure_name, "multi")]
    rows = []
    for name, kind in measures:
        dims = list((dimensions or {}).get(name, tags))
        array = [
            {"RowValue": {"Data": [{"ScalarValue": d}, {"ScalarValue": "varchar"}]}} for d in dims
        ]
        rows.append({"Data": [{"ScalarValue": name}, {"ScalarValue": kind}, {"ArrayValue": array}]})
    return {
        "Rows": rows,
        "ColumnInfo": [
            {"Name": "measure_name", "Type": {"ScalarType": "VARCHAR"}},
            {"Name": "data_type", "Type": {"ScalarType": "VARCHAR"}},
            {"Name": "dimensions", "Type": _DIMENSIONS_TYPE},
        ],
    }


def show_tables_answer(tables: Sequence[str]) -> dict[str, Any]:
    """What ``SHOW TABLES FROM <database>`` answers."""
    return _varchar_answer(("Table",), ([t] for t in tables))


def count_answer(spec: TableSpec, tables: Iterable[pa.Table]) -> dict[str, Any]:
    """What Timestream's count of a window answers for these rows."""
    rows = pa.concat_tables(list(tables) or [spec.arrow_schema().empty_table()])
    values = {"rows": rows.num_rows}
    values.update({f.name: rows.num_rows - rows.column(f.name).null_count for f in spec.fields})
    return {
        "Rows": [{"Data": [{"ScalarValue": str(v)} for v in values.values()]}],
        "ColumnInfo": [{"Name": n, "Type": {"ScalarType": "BIGINT"}} for n in values],
    }


def unload_rows(spec: TableSpec, tables: Iterable[pa.Table]) -> pa.Table:
    """Canonical rows in the form UNLOAD writes them: time as BIGINT ns, the tags, the measure
    name (unpivoted records), the fields."""
    combined = pa.concat_tables(
        [t.select(list(spec.columns)) for t in tables] or [spec.arrow_schema().empty_table()]
    )
    out_columns = {
        UNLOAD_TIME_COLUMN: pc.cast(combined.column(TIME_COLUMN), pa.int64()),
        **{t: combined.column(t) for t in spec.tags},
    }
    if not pivoted(spec):
        out_columns["measure_name"] = pa.array([spec.measure_name] * combined.num_rows, pa.string())
    out_columns.update({f.name: combined.column(f.name) for f in spec.fields})
    return pa.table(out_columns)


def write_unload_output(
    s3: Any,
    destination: str,
    rows: pa.Table,
    columns: list[dict[str, Any]],
    rows_per_file: int = 500_000,
    running_pages: int = 2,
) -> list[dict[str, Any]]:
    """Write what Timestream's UNLOAD writes to ``destination`` (Parquet results, manifest,
    metadata) and return its answer as Timestream gives it: ``running_pages`` pages without rows
    (each with a NextToken) while the statement runs, then the page with the result row."""
    bucket, prefix = split_s3_url(destination)
    prefix = prefix.rstrip("/")
    query_id = uuid.uuid4().hex
    result_files = []
    for index, offset in enumerate(range(0, max(rows.num_rows, 1), rows_per_file)):
        chunk = rows.slice(offset, rows_per_file)
        buffer = io.BytesIO()
        pq.write_table(chunk, buffer, compression="snappy")
        key = f"{prefix}/results/{query_id}_part{index:05d}.parquet"
        s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
        result_files.append(
            {
                "url": f"s3://{bucket}/{key}",
                "file_metadata": {
                    "content_length_in_bytes": buffer.tell(),
                    "row_count": chunk.num_rows,
                },
            }
        )
    manifest_key = f"{prefix}/{query_id}_manifest.json"
    metadata_key = f"{prefix}/{query_id}_metadata.json"
    manifest = {
        "result_files": result_files,
        "query_metadata": {
            "content_length_in_bytes": sum(
                f["file_metadata"]["content_length_in_bytes"] for f in result_files
            ),
            "total_row_count": rows.num_rows,
            "result_format": "PARQUET",
            "result_version": "Amazon Timestream version 1.0.0",
        },
        "author": {"name": "Amazon Timestream", "manifest_file_version": "1.0"},
    }
    s3.put_object(Bucket=bucket, Key=manifest_key, Body=json.dumps(manifest).encode())
    s3.put_object(
        Bucket=bucket, Key=metadata_key, Body=json.dumps({"ColumnInfo": columns}).encode()
    )
    answer = {
        "QueryId": query_id,
        "Rows": [
            {
                "Data": [
                    {"ScalarValue": str(rows.num_rows)},
                    {"ScalarValue": f"s3://{bucket}/{metadata_key}"},
                    {"ScalarValue": f"s3://{bucket}/{manifest_key}"},
                ]
            }
        ],
        "ColumnInfo": [
            {"Name": "rows", "Type": {"ScalarType": "BIGINT"}},
            {"Name": "metadataFile", "Type": {"ScalarType": "VARCHAR"}},
            {"Name": "manifestFile", "Type": {"ScalarType": "VARCHAR"}},
        ],
        "QueryStatus": {"ProgressPercentage": 100.0},
    }
    running = [
        {
            "QueryId": query_id,
            "Rows": [],
            "ColumnInfo": answer["ColumnInfo"],
            "NextToken": f"{query_id}-{page}",
            "QueryStatus": {"ProgressPercentage": round(100.0 * page / (running_pages + 1), 1)},
        }
        for page in range(running_pages)
    ]
    return [*running, answer]


def stage_unload(
    s3: Any,
    endpoint_url: str,
    spec: TableSpec,
    database: str,
    window: Window,
    destination: str,
    tables: Iterable[pa.Table],
    rows_per_file: int = 500_000,
    running_pages: int = 2,
) -> str:
    """Write what one exact UNLOAD statement would and queue its answer for that statement's SQL
    (the local stand-in answers any other window from its staged days); returns the manifest
    URL."""
    pages = write_unload_output(
        s3, destination, unload_rows(spec, tables), column_info(spec), rows_per_file, running_pages
    )
    sql = unload_query(spec, database, window, destination)
    stage_query_results(endpoint_url, {sql: pages})
    return str(pages[-1]["Rows"][0]["Data"][2]["ScalarValue"])
