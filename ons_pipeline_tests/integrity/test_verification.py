"""Exact verification against the real InfluxDB: altered, deleted, re-loaded, flushing, -0.0."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from ons_pipeline.lib import schema
from ons_pipeline.lib.integrity.verification import (
    format_ns,
    series_key,
    series_text,
    verify_partition,
)
from ons_pipeline.lib.integrity.verification import verify as verify_function
from ons_pipeline.lib.ons_time import day_window
from ons_pipeline.lib.partitions import ParquetStore
from ons_pipeline_tests.integrity.conftest import PARQUET, generated, load_day, put_day

DAY = date(2018, 11, 4)  # the 23-hour DST-start day in Brasília


def verify(s3, bucket, influx, table, **options):  # type: ignore[no-untyped-def]
    options.setdefault("attempts", 1)
    store = ParquetStore(s3, bucket, PARQUET)
    return verify_partition(store, influx, schema.table(table), DAY, **options)


def test_loaded_day_verifies_then_one_altered_point_is_named(s3, s3_bucket, influx) -> None:  # type: ignore[no-untyped-def]
    table = "balanco_subsistema"  # multi-field: six fields per point
    rows = put_day(s3, s3_bucket, table, DAY)
    load_day(s3, s3_bucket, influx, table, DAY)
    result = verify(s3, s3_bucket, influx, table)
    assert result.ok, result.summary()
    assert result.source_rows == result.influx_rows == rows.num_rows
    assert result.source_checksum == result.influx_checksum
    assert result.series == 5

    # Alter one value of one point by the smallest step a float allows (one ulp).
    spec = schema.table(table)
    victim = rows.slice(37, 1).to_pylist()[0]
    moment = pc.cast(rows.column("time"), pa.int64())[37].as_py()
    old = victim["val_gereolica"]
    new = math.nextafter(old, math.inf)
    tags = ",".join(f"{t}={victim[t].replace(' ', chr(92) + ' ')}" for t in spec.tags)
    influx.write(f"{spec.measurement},{tags} val_gereolica={new!r} {moment}\n".encode())
    result = verify(s3, s3_bucket, influx, table)
    assert not result.ok
    assert len(result.diffs) == 1
    diff = result.diffs[0]
    expected = series_text(spec.measurement, series_key({t: victim[t] for t in spec.tags}))
    assert diff.series == expected and diff.status == "differs"
    assert diff.source_rows == diff.influx_rows  # same counts: only the checksum tells
    assert [(r.start_ns <= moment < r.end_ns) for r in diff.ranges] == [True]
    assert len(diff.points) == 1 and diff.points[0].time_ns == moment
    summary = result.summary()
    assert expected in summary and format_ns(moment) in summary
    assert repr(old) in summary and repr(new) in summary
    assert "checksum differs" in summary


def test_deleted_day_fails_on_counts_and_reloading_passes(s3, s3_bucket, influx) -> None:  # type: ignore[no-untyped-def]
    table = "geracao_usina"  # ~535 series
    rows = put_day(s3, s3_bucket, table, DAY)
    load_day(s3, s3_bucket, influx, table, DAY)
    assert verify(s3, s3_bucket, influx, table).ok
    window = day_window(DAY)
    influx.delete_range(schema.table(table).measurement, window.start_ns, window.end_ns)
    sleeps: list[float] = []
    result = verify(s3, s3_bucket, influx, table, attempts=3, delay=0.01, sleep=sleeps.append)
    assert not result.ok
    assert result.source_rows == rows.num_rows and result.influx_rows == 0
    assert result.attempts == 3 and sleeps == [0.01, 0.02]  # bounded retry while "flushing"
    assert len(result.diffs) == result.series
    assert {d.status for d in result.diffs} == {"missing in InfluxDB"}
    first = result.diffs[0]
    assert first.ranges[0].start_ns == window.start_ns and first.influx_rows == 0
    assert "missing in InfluxDB" in result.summary()
    load_day(s3, s3_bucket, influx, table, DAY)
    result = verify(s3, s3_bucket, influx, table)
    assert result.ok, result.summary()
    assert result.source_rows == rows.num_rows


def test_points_appearing_while_retrying_pass(s3, s3_bucket, influx) -> None:  # type: ignore[no-untyped-def]
    table = "curva_carga"
    put_day(s3, s3_bucket, table, DAY)

    def flush(seconds: float) -> None:  # the server "flushes" during the first wait
        if not flushed:
            flushed.append(load_day(s3, s3_bucket, influx, table, DAY))

    flushed: list[int] = []
    result = verify(s3, s3_bucket, influx, table, attempts=4, delay=0.01, sleep=flush)
    assert result.ok and result.attempts == 2 and flushed


def test_negative_zero_is_compared_bit_exactly(s3, s3_bucket, influx) -> None:  # type: ignore[no-untyped-def]
    table = "cmo_semihorario"
    rows = generated(table, DAY)
    values = rows.column("val_cmo").to_pylist()
    values[3] = -0.0
    rows = rows.set_column(rows.schema.get_field_index("val_cmo"), "val_cmo", pa.array(values))
    put_day(s3, s3_bucket, table, DAY, rows)
    load_day(s3, s3_bucket, influx, table, DAY)
    assert verify(s3, s3_bucket, influx, table).ok  # -0.0 read back as -0.0, not 0
    spec = schema.table(table)
    victim = rows.slice(3, 1).to_pylist()[0]
    moment = pc.cast(rows.column("time"), pa.int64())[3].as_py()
    tags = ",".join(f"{t}={victim[t]}" for t in spec.tags)
    influx.write(f"{spec.measurement},{tags} val_cmo=0 {moment}\n".encode())
    result = verify(s3, s3_bucket, influx, table)
    assert not result.ok
    assert "-0.0 (source) ≠ 0.0 (InfluxDB)" in result.summary()


def test_a_value_stored_as_another_type_is_a_mismatch(influx) -> None:  # type: ignore[no-untyped-def]
    # The mapping says BIGINT; InfluxDB holds the same numbers as floats (5.0 for 5). Both read
    # back as the same JSON numbers: only the stored type tells them apart.
    spec = schema.TableSpec(
        name="counts",
        description="",
        source=schema.Source.ONS,
        measure_name="counts",
        grain=timedelta(hours=1),
        tags=("id",),
        fields=(schema.FieldSpec("n", schema.MeasureType.BIGINT),),
        measurement="counts",
    )
    window = day_window(DAY)
    table = pa.table(
        {
            "time": pa.array(
                [window.start_ns + k * 3_600 * 10**9 for k in range(5)], pa.int64()
            ).cast(schema.TIME_TYPE),
            "id": ["a"] * 5,
            "n": pa.array(range(5), pa.int64()),
        }
    )
    lines = "".join(f"counts,id=a n={k} {window.start_ns + k * 3_600 * 10**9}\n" for k in range(5))
    influx.write(lines.encode())
    result = verify_function(lambda: [table], influx, spec, window, attempts=1)
    assert not result.ok
    assert result.source_rows == result.influx_rows == 5
    assert "stored as float in InfluxDB; the mapping says BIGINT" in result.summary()
    assert result.type_mismatches == {
        "n": "stored as float in InfluxDB; the mapping says BIGINT (integer)"
    }
