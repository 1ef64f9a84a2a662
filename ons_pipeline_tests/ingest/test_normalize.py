"""Normalisation of raw ONS files: the real excerpts, DST, empty days, quirks and broken rows."""

from __future__ import annotations

import decimal
import gzip
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from ons_pipeline.lib import ons_time, schema
from ons_pipeline.lib.ingest.normalize import (
    NormalizedFile,
    NormalizeError,
    UnknownDatasetError,
    coverage_by_utc_day,
    detect_dataset,
    normalize_bytes,
    normalize_file,
    write_local,
)
from ons_pipeline.local.generator import (
    generate_day,
    generate_raw_ons,
    write_ons_csv,
    write_ons_parquet,
)
from ons_pipeline_tests.ingest.conftest import EXTRA_SAMPLES, SAMPLES

HOUR_NS = 3_600 * ons_time.NS_PER_SECOND

# file → (dataset, rows read, rows normalised, empty rows dropped, DST-gap rows dropped)
EXPECTED = {
    "balanco_energia_subsistema_2023_excerpt.csv": ("balanco_subsistema", 120, 120, 0, 0),
    "cmo_semihorario_2022_excerpt.csv": ("cmo_semihorario", 288, 288, 0, 0),
    "curva_carga_2018_excerpt.csv": ("curva_carga", 144, 140, 0, 4),
    "ear_diario_subsistema_2023_excerpt.csv": ("ear_diario", 100, 100, 0, 0),
    "ena_diario_subsistema_2023_excerpt.csv": ("ena_diario", 136, 136, 0, 0),
    "geracao_usina_2021_excerpt.csv": ("geracao_usina", 280, 280, 0, 0),
    "intercambio_nacional_2024_excerpt.csv": ("intercambio", 96, 96, 0, 0),
}


def all_rows(result: NormalizedFile) -> pa.Table:
    tables = [result.days[d] for d in sorted(result.days)]
    return pa.concat_tables(tables) if tables else result.spec.arrow_schema().empty_table()


def local_day_of(table: pa.Table) -> list[date]:
    return [date.fromisoformat(str(d)) for d in ons_time.local_dates(table.column("time"))]


def covered_ns(result: NormalizedFile, start: int, end: int) -> int:
    return sum(
        max(0, min(e, end) - max(s, start)) for day in result.coverage.values() for s, e in day
    )


def test_every_real_excerpt_is_covered_by_the_expectations() -> None:
    names = {p.name for p in SAMPLES.glob("*.csv")}
    assert names == set(EXPECTED) | {"carga_energia_2013_excerpt.csv"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_excerpt_normalises(name: str) -> None:
    dataset, read, rows, empty, dst = EXPECTED[name]
    result = normalize_file(SAMPLES / name)
    assert (result.table, result.rows_read, result.rows) == (dataset, read, rows)
    assert (result.dropped_empty, result.dropped_dst, result.bad_rows) == (empty, dst, [])
    spec = schema.table(dataset)
    for day, table in result.days.items():
        assert table.schema == spec.arrow_schema()
        times = pc.cast(table.column("time"), pa.int64())
        assert pc.min(times).as_py() >= ons_time.to_ns(
            datetime(day.year, day.month, day.day, tzinfo=UTC)
        )
        assert table.num_rows == table.group_by(["time", *spec.tags]).aggregate([]).num_rows
    # every UTC day with rows is covered; coverage never extends past the local days of the file
    assert set(result.days) <= set(result.coverage)


def test_dst_start_2018_empty_hour_rows_are_dropped() -> None:
    result = normalize_file(SAMPLES / "curva_carga_2018_excerpt.csv")
    rows = all_rows(result)
    days = local_day_of(rows)
    on_dst_day = rows.filter(pa.array([d == date(2018, 11, 4) for d in days]))
    # 23 local hours × 4 subsystems: the rows of the nonexistent 00:00 (N, NE, SE empty; S 0E-8)
    # are dropped, not shifted onto 01:00
    assert on_dst_day.num_rows == 23 * 4
    assert result.dropped_dst == 4 and result.bad_rows == []
    start, end = ons_time.local_day_bounds_utc(date(2018, 11, 4))
    times = sorted(set(pc.cast(on_dst_day.column("time"), pa.int64()).to_pylist()))
    assert times == list(range(ons_time.to_ns(start), ons_time.to_ns(end), HOUR_NS))
    first = on_dst_day.filter(pc.equal(on_dst_day.column("id_subsistema"), "N")).slice(0, 1)
    assert first.column("time")[0].as_py() == datetime(2018, 11, 4, 3, tzinfo=UTC)  # 01:00 -02
    assert first.column("val_cargaenergiahomwmed")[0].as_py() == 5438.173


def test_dst_hour_with_a_real_value_is_a_bad_row() -> None:
    text = (
        "id_subsistema;nom_subsistema;din_instante;val_cargaenergiahomwmed\n"
        "N;NORTE;2018-11-03 23:00:00;4500.00000000\n"
        "N;NORTE;2018-11-04 00:00:00;4400.00000000\n"
        "N;NORTE;2018-11-04 01:00:00;4300.00000000\n"
    )
    result = normalize_bytes(text.encode(), "dst.csv")
    assert result.rows == 2
    [bad] = result.bad_rows
    assert (bad.row, bad.column) == (3, "din_instante")
    assert "does not exist" in bad.reason
    assert bad.text == "N;NORTE;2018-11-04 00:00:00;4400.00000000"


def test_empty_day_2014_02_01_gives_zero_points_without_error() -> None:
    result = normalize_file(EXTRA_SAMPLES / "curva_carga_2014_excerpt.csv")
    assert result.table == "curva_carga" and result.bad_rows == []
    assert result.rows_read == 168 and result.dropped_empty == 72
    days = local_day_of(all_rows(result))
    assert date(2014, 2, 1) not in days
    assert days.count(date(2014, 1, 31)) == 12 * 4 and days.count(date(2014, 2, 2)) == 12 * 4
    # the empty day is still covered: a correction would replace it with nothing
    start, end = ons_time.local_day_bounds_utc(date(2014, 2, 1))
    assert covered_ns(result, ons_time.to_ns(start), ons_time.to_ns(end)) == ons_time.to_ns(
        end
    ) - ons_time.to_ns(start)


def test_daily_carga_files_with_an_extended_mapping(extended_mapping) -> None:  # type: ignore[no-untyped-def]
    # Not a dataset of tables.toml: a clear error naming the file and what is missing.
    with pytest.raises(UnknownDatasetError) as info:
        normalize_file(SAMPLES / "carga_energia_2013_excerpt.csv")
    message = str(info.value)
    assert "carga_energia_2013_excerpt.csv" in message and "val_cargaenergiamwmed" in message
    # With a mapping entry, both real daily files normalise.
    r2013 = normalize_file(SAMPLES / "carga_energia_2013_excerpt.csv", specs=extended_mapping)
    assert (r2013.table, r2013.rows_read, r2013.rows, r2013.bad_rows) == (
        "carga_energia",
        109,
        108,
        [],
    )
    assert r2013.dropped_empty == 1  # the spurious empty `S;Sul;2013-02-02 00:00:01;` row
    names = set(pc.unique(all_rows(r2013).column("nom_subsistema")).to_pylist())
    assert "Sudeste/Centro-Oeste" in names  # mixed case kept as published
    first = all_rows(r2013).slice(0, 1).to_pylist()[0]
    assert first["time"] == datetime(2013, 1, 20, 2, tzinfo=UTC)  # local midnight, DST (-02)
    r2014 = normalize_file(EXTRA_SAMPLES / "carga_energia_2014_excerpt.csv", specs=extended_mapping)
    assert r2014.bad_rows == [] and r2014.dropped_empty == 4
    assert date(2014, 2, 1) not in local_day_of(all_rows(r2014))


def test_header_typo_id_subsistena() -> None:
    result = normalize_file(SAMPLES / "balanco_energia_subsistema_2023_excerpt.csv")
    assert result.table == "balanco_subsistema" and result.ignored_columns == []
    rows = all_rows(result)
    assert set(pc.unique(rows.column("id_subsistema")).to_pylist()) == {"N", "NE", "S", "SE", "SIN"}
    one = rows.filter(pc.equal(rows.column("id_subsistema"), "NE")).slice(0, 1).to_pylist()[0]
    assert one["val_gereolica"] == 13305.26171875  # float32 artefact kept exactly
    assert one["time"] == datetime(2023, 1, 1, 3, tzinfo=UTC)
    sin = rows.filter(pc.equal(rows.column("id_subsistema"), "SIN"))
    assert sin.column("val_intercambio").to_pylist() == [11.47] + [0.0] * 23  # then 0E-8


def test_values_and_tags_as_published() -> None:
    geracao = all_rows(normalize_file(SAMPLES / "geracao_usina_2021_excerpt.csv"))  # CRLF
    assert pc.sum(pc.equal(geracao.column("ceg"), "-")).as_py() == 131  # '-' is a tag value
    assert "HIDROELÉTRICA" in geracao.column("nom_tipousina").to_pylist()
    assert {"Conj. Abil I", "Mauá 3"} <= set(geracao.column("nom_usina").to_pylist())
    assert not any(v.endswith("\r") for v in geracao.column("ceg").to_pylist())
    cmo = all_rows(normalize_file(SAMPLES / "cmo_semihorario_2022_excerpt.csv"))
    assert pc.min(cmo.column("val_cmo")).as_py() == -6.18  # SE 2022-01-01 07:00 (line 60)
    ear = all_rows(normalize_file(SAMPLES / "ear_diario_subsistema_2023_excerpt.csv"))
    assert 51691.2265625 in ear.column("ear_max_subsistema").to_pylist()
    inter = normalize_file(SAMPLES / "intercambio_nacional_2024_excerpt.csv")
    assert inter.missing_fields == ["val_intercambioprogmwmed"]
    assert all_rows(inter).column("val_intercambioprogmwmed").null_count == 96


@pytest.mark.parametrize("table", schema.ons_tables())
def test_generated_raw_days_round_trip_to_canonical(table: str, tmp_path: Path) -> None:
    """Raw quirks (padded codes, header typo, DST gap rows, 00:00:00 on daily dates, CRLF, the
    fall-back hour written twice, number styles) normalise back to the canonical day."""
    cases = [
        (
            date(2018, 11, 4),
            {"dst_gap": "empty", "padded_codes": True, "header_typo": True, "daily_time": True},
        ),
        (date(2018, 2, 17), {"repeated_hour": "repeat", "number_style": "shortest"}),
    ]
    for day, options in cases:
        raw = generate_raw_ons(table, day, **options)  # type: ignore[arg-type]
        csv_path, parquet_path = tmp_path / f"{day}.csv", tmp_path / f"{day}.parquet"
        write_ons_csv([raw], csv_path, crlf=True)
        write_ons_parquet([raw], parquet_path, table=table)
        expected = generate_day(table, day)
        for path in (csv_path, parquet_path):
            result = normalize_file(path)
            assert result.bad_rows == [] and result.table == table
            assert all_rows(result).equals(expected), (table, day, path.suffix)


def test_numbers_beyond_the_double_range_are_bad_rows_not_zero_or_infinity() -> None:
    text = (
        "id_subsistema;nom_subsistema;din_instante;val_cargaenergiahomwmed\n"
        "N;NORTE;2024-01-05 00:00:00;4828.07250000\n"  # 2 good
        "N;NORTE;2024-01-05 01:00:00;1e-400\n"  # 3 underflows to 0
        "N;NORTE;2024-01-05 02:00:00;-1E+400\n"  # 4 overflows to -inf
        "N;NORTE;2024-01-05 03:00:00;4.9e-324\n"  # 5 good: the smallest subnormal
        "N;NORTE;2024-01-05 04:00:00;0.000e-500\n"  # 6 good: zero, however written
    )
    result = normalize_bytes(text.encode(), "raw/curva_carga/range.csv")
    assert [(b.row, b.column) for b in result.bad_rows] == [
        (3, "val_cargaenergiahomwmed"),
        (4, "val_cargaenergiahomwmed"),
    ]
    assert "beyond the range of double" in result.bad_rows[0].reason
    values = all_rows(result).column("val_cargaenergiahomwmed").to_pylist()
    assert values == [4828.0725, 5e-324, 0.0]


def test_a_second_of_60_or_61_is_a_bad_row_not_the_next_minute() -> None:
    text = (
        "id_subsistema;nom_subsistema;din_instante;val_cargaenergiahomwmed\n"
        "N;NORTE;2024-01-05 10:00:00;1.0\n"  # 2 good
        "N;NORTE;2024-01-05 10:59:60;2.0\n"  # 3 was loaded at 11:00
        "N;NORTE;2024-01-05 23:59:60;3.0\n"  # 4 was loaded at 00:00 of the next day
        "N;NORTE;2024-01-05 10:00:61;4.0\n"  # 5 was loaded at 10:01:01
    )
    result = normalize_bytes(text.encode(), "raw/curva_carga/seconds.csv")
    assert [(b.row, b.column) for b in result.bad_rows] == [
        (3, "din_instante"),
        (4, "din_instante"),
        (5, "din_instante"),
    ]
    assert all_rows(result).column("val_cargaenergiahomwmed").to_pylist() == [1.0]


def test_broken_rows_are_reported_with_row_and_column() -> None:
    text = (
        "id_subsistema;nom_subsistema;din_instante;val_cargaenergiahomwmed\r\n"  # line 1
        "N;NORTE;2024-01-05 00:00:00;4828.07250000\r\n"  # 2 good
        "\r\n"  # 3 blank: skipped
        "NE;NORDESTE;2024-01-05 00:00:00;12,5\r\n"  # 4 comma decimal
        "S;SUL;2024-13-05 00:00:00;100.0\r\n"  # 5 bad month
        "SE;SUDESTE;2024-01-05 00:00:00\r\n"  # 6 a field short
        ";SUDESTE;2024-01-05 01:00:00;1.0\r\n"  # 7 empty code
        "N;NORTE;2024-01-05 00:00:00;4900.0\r\n"  # 8 duplicate of line 2
        "S;SUL;2024-01-05 00:00:00;NaN\r\n"  # 9 not a number
        "  SE  ;SUDESTE;2024-01-05 00:00:00;-\r\n"  # 10 '-' placeholder: an empty row
        "SE   ;SUDESTE;2024-01-05 01:00:00;0E-8\r\n"  # 11 good, padded code
    )
    result = normalize_bytes(text.encode(), "raw/curva_carga/broken.csv")
    found = [(b.row, b.column) for b in result.bad_rows]
    assert found == [
        (4, "val_cargaenergiahomwmed"),
        (5, "din_instante"),
        (6, None),
        (7, "id_subsistema"),
        (8, None),
        (9, "val_cargaenergiahomwmed"),
    ]
    reasons = {b.row: b.reason for b in result.bad_rows}
    assert "'12,5'" in reasons[4] and "not a number" in reasons[4]
    assert "expected 4 fields" in reasons[6] and "found 3" in reasons[6]
    assert "duplicate of row 2" in reasons[8]
    assert str(result.bad_rows[0]).startswith("raw/curva_carga/broken.csv: row 4, column")
    assert result.bad_rows[2].text == "SE;SUDESTE;2024-01-05 00:00:00"
    rows = all_rows(result).to_pylist()
    assert [(r["id_subsistema"], r["val_cargaenergiahomwmed"]) for r in rows] == [
        ("N", 4828.0725),
        ("SE", 0.0),
    ]
    assert result.dropped_empty == 1 and result.rows_read == 9
    # bad rows whose series and time parsed are protected from correction deletes
    assert (("N", "NORTE"), ons_time.to_ns(datetime(2024, 1, 5, 3, tzinfo=UTC))) in result.protected
    quarantine = json.loads(result.quarantine_json(etag="abc"))
    assert [r["row"] for r in quarantine["bad_rows"]] == [4, 5, 6, 7, 8, 9]
    assert quarantine["etag"] == "abc" and quarantine["dataset"] == "curva_carga"
    lines = result.quarantine_csv().decode().splitlines()
    assert lines[0] == "id_subsistema;nom_subsistema;din_instante;val_cargaenergiahomwmed"
    assert lines[1] == "NE;NORDESTE;2024-01-05 00:00:00;12,5" and len(lines) == 7


def test_parquet_rows_are_numbered_from_one(tmp_path: Path) -> None:
    raw = generate_raw_ons("cmo_semihorario", date(2022, 1, 1))
    values = raw.column("val_cmo").to_pylist()
    values[5] = "abc"
    raw = raw.set_column(raw.schema.get_field_index("val_cmo"), "val_cmo", pa.array(values))
    path = tmp_path / "cmo.parquet"
    pq.write_table(raw, path)
    result = normalize_file(path)
    [bad] = result.bad_rows
    assert (bad.row, bad.column, result.format) == (6, "val_cmo", "parquet")
    assert result.rows == raw.num_rows - 1


def test_unknown_and_unreadable_files() -> None:
    with pytest.raises(UnknownDatasetError, match=r"prices\.csv.*matches no known ONS dataset"):
        normalize_bytes(b"date;price\n2024-01-01;3\n", "prices.csv")
    with pytest.raises(NormalizeError, match=r"empty\.csv: no header"):
        normalize_bytes(b"\n\n", "empty.csv")
    with pytest.raises(NormalizeError, match="unreadable Parquet"):
        normalize_bytes(b"PAR1 not really", "x.parquet")
    with pytest.raises(NormalizeError, match="appears twice"):
        normalize_bytes(
            b"id_subsistema;id_subsistema;nom_subsistema;din_instante;val_cmo\n", "d.csv"
        )
    spec = detect_dataset([" ID_SUBSISTENA ", "nom_subsistema", "din_instante", "val_carga"])
    assert spec.name == "balanco_subsistema"


def test_invalid_utf8_rows_are_quarantined() -> None:
    """A UTF-8 file with a line that is not: that line is a bad row (the file is UTF-8, as its
    other accented line shows); a file with no UTF-8 beyond ASCII is read as Windows-1252."""
    data = (
        b"id_subsistema;nom_subsistema;din_instante;val_cmo\n"
        b"N;NORT\xc3\x89;2022-01-01 00:00:00;1.0\n"
        b"S;SUL\xe9;2022-01-01 00:00:00;2.0\n"
    )
    result = normalize_bytes(data, "mixed.csv")
    assert result.rows == 1 and [b.row for b in result.bad_rows] == [3]
    assert "UTF-8" in result.bad_rows[0].reason
    latin = normalize_bytes(data.replace(b"\xc3\x89", b"\xc9"), "latin.csv")
    assert latin.rows == 2 and not latin.bad_rows
    assert latin.notes == ["encoding: Windows-1252 (Latin-1), not UTF-8"]
    names = sorted(pc.unique(all_rows(latin).column("nom_subsistema")).to_pylist())
    assert names == ["NORTÉ", "SULé"]


def test_coverage_is_cut_at_utc_midnight_and_follows_dst() -> None:
    coverage = coverage_by_utc_day([date(2018, 11, 4)])  # a 23-hour local day
    assert list(coverage) == [date(2018, 11, 4), date(2018, 11, 5)]
    (s1, e1), (s2, e2) = coverage[date(2018, 11, 4)][0], coverage[date(2018, 11, 5)][0]
    assert e1 == s2 == ons_time.to_ns(datetime(2018, 11, 5, tzinfo=UTC))
    assert s1 == ons_time.to_ns(datetime(2018, 11, 4, 3, tzinfo=UTC))
    assert e2 == ons_time.to_ns(datetime(2018, 11, 5, 2, tzinfo=UTC))
    assert (e1 - s1) + (e2 - s2) == 23 * HOUR_NS
    merged = coverage_by_utc_day([date(2024, 1, 5), date(2024, 1, 6)])
    assert merged[date(2024, 1, 6)] == (
        (
            ons_time.to_ns(datetime(2024, 1, 6, tzinfo=UTC)),
            ons_time.to_ns(datetime(2024, 1, 7, tzinfo=UTC)),
        ),
    )


def test_write_local(tmp_path: Path) -> None:
    result = normalize_bytes(
        b"id_subsistema;nom_subsistema;din_instante;val_cmo\nN;NORTE;2022-01-01 00:00:00;1\nS;X\n",
        "cmo.csv",
    )
    written = write_local(result, tmp_path)
    names = sorted(p.relative_to(tmp_path).as_posix() for p in written)
    assert names == [
        "cmo_semihorario/date=2022-01-01/part-00000.parquet",
        "quarantine/cmo.csv.csv",
        "quarantine/cmo.csv.json",
    ]
    table = pq.read_table(tmp_path / names[0])
    assert table.num_rows == 1
    assert table.column("time")[0].as_py() == datetime(2022, 1, 1, 3, tzinfo=UTC)
    assert (tmp_path / names[1]).read_text().endswith("S;X\n")


def test_parquet_with_utc_instants_is_taken_as_is(tmp_path: Path) -> None:
    canonical = generate_day("cmo_semihorario", date(2018, 11, 4))
    path = tmp_path / "instants.parquet"
    pq.write_table(canonical.rename_columns(["din_instante", *canonical.column_names[1:]]), path)
    result = normalize_file(path)
    assert result.bad_rows == [] and all_rows(result).equals(canonical)
    assert list(result.coverage) == [date(2018, 11, 4), date(2018, 11, 5)]


# --- what a file holds whole (the series-days a correction may replace) -----------------------

SUBSYSTEMS_2018 = [("N", "NORTE"), ("NE", "NORDESTE"), ("S", "SUL"), ("SE", "SUDESTE")]


def test_whole_series_days_of_the_real_excerpts(extended_mapping) -> None:  # type: ignore[no-untyped-def]
    # 2018-11-03 starts at 12:00 in the excerpt (partial); 11-04, the 23-hour DST-start day, is
    # whole: its 00:00 placeholder does not exist and the 23 real hours are all there
    curva = normalize_file(SAMPLES / "curva_carga_2018_excerpt.csv")
    assert curva.whole == {(s, date(2018, 11, 4)) for s in SUBSYSTEMS_2018}
    assert curva.series_days == 8 and curva.empty == frozenset()
    assert curva.summary()["series-days held in part (upserted)"] == 4
    # daily: one row per series-day is the whole day
    ear = normalize_file(SAMPLES / "ear_diario_subsistema_2023_excerpt.csv")
    assert len(ear.whole) == ear.series_days == 100
    # the 2013 daily file: S's day 2013-02-02 is whole (00:00:00 row); the spurious empty
    # 00:00:01 row falls in the same slot and is a withdrawn point, not a gap
    carga = normalize_file(SAMPLES / "carga_energia_2013_excerpt.csv", specs=extended_mapping)
    assert (("S", "Sul"), date(2013, 2, 2)) in carga.whole
    spurious = ons_time.to_ns(datetime(2013, 2, 2, 2, 0, 1, tzinfo=UTC))
    assert carga.empty == {(("S", "Sul"), spurious)}
    # a day published empty (curva carga 2014-02-01) is whole for the series it lists
    empty_day = normalize_file(EXTRA_SAMPLES / "curva_carga_2014_excerpt.csv")
    listed = {s for s, d in empty_day.whole if d == date(2014, 2, 1)}
    assert listed and len(empty_day.empty) == 72
    assert {d for _, d in empty_day.whole} == {date(2014, 2, 1)}


@pytest.mark.parametrize("repeated_hour", ["drop", "repeat"])
def test_the_fall_back_day_is_whole_with_its_hour_written_once_or_twice(
    repeated_hour: str, tmp_path: Path
) -> None:
    day = date(2018, 2, 17)  # 25 hours: 23:00 happens twice
    path = tmp_path / "fall_back.csv"
    write_ons_csv([generate_raw_ons("curva_carga", day, repeated_hour=repeated_hour)], path)
    result = normalize_file(path)
    assert {d for _, d in result.whole} == {day} and len(result.whole) == 4


def test_partial_files_and_unreadable_rows_hold_no_whole_day(tmp_path: Path) -> None:
    header = b"id_subsistema;nom_subsistema;din_instante;val_cargaenergiahomwmed\n"
    # a quarantine re-upload: two hours of one series (one withdrawn)
    patch = normalize_bytes(
        header + b"N;NORTE;2024-01-05 05:00:00;5071.55\nN;NORTE;2024-01-05 14:00:00;\n", "p.csv"
    )
    assert patch.whole == frozenset() and patch.series_days == 1
    assert patch.empty == {(("N", "NORTE"), ons_time.to_ns(datetime(2024, 1, 5, 17, tzinfo=UTC)))}
    # two whole days; a row whose time cannot be read names 2024-01-05: that day is not whole
    days = [date(2024, 1, 5), date(2024, 1, 6)]
    path = tmp_path / "two_days.csv"
    write_ons_csv([generate_raw_ons("curva_carga", d) for d in days], path)
    data = path.read_bytes()
    assert {d for _, d in normalize_bytes(data, "ok.csv").whole} == set(days)
    bad_time = normalize_bytes(data + b"N;NORTE;2024-01-05 25:00:00;1.0\n", "bad-time.csv")
    assert {d for _, d in bad_time.whole} == {date(2024, 1, 6)}
    # a row that names no day at all: no day of the file is whole
    garbage = normalize_bytes(data + b"N;NORTE\n", "garbage.csv")
    assert garbage.whole == frozenset() and len(garbage.bad_rows) == 1


def test_a_line_that_is_not_utf8_is_quarantined_byte_for_byte() -> None:
    """The quarantine CSV held U+FFFD for each Latin-1 byte: re-uploaded, it loaded garbled tag
    values ('HIDROEL\\ufffdTRICA') as new series."""
    header = "id_subsistema;nom_subsistema;din_instante;val_cargaenergiahomwmed\n"
    good = "N;NORTE ÁGUA;2024-01-05 00:00:00;1.0\n"  # UTF-8: the file is UTF-8
    latin = "S;SUL ÁGUA;2024-01-05 00:00:00;2.0\n".encode("latin-1")
    result = normalize_bytes(header.encode() + good.encode() + latin, "raw/curva_carga/l1.csv")
    (bad,) = result.bad_rows
    assert "UTF-8" in bad.reason
    assert result.quarantine_csv().splitlines()[1] == latin.rstrip(b"\n")
    again = normalize_bytes(result.quarantine_csv(), "raw/curva_carga/l1-fixed.csv")
    # alone, the line is a Windows-1252 file: read as written, never garbled
    assert all_rows(again).column("nom_subsistema").to_pylist() == ["SUL ÁGUA"]


def test_quoted_cells_are_read_without_their_quotes() -> None:
    """A spreadsheet export quotes its text cells: '"SE"' was loaded as a new series '"SE"'."""
    text = (
        "id_subsistema;nom_subsistema;din_instante;val_cargaenergiahomwmed\n"
        '"SE";"SUDESTE";"2024-01-05 00:00:00";"1.5"\n'
        'N;"NORTE ""N""";2024-01-05 00:00:00;2.5\n'
    )
    result = normalize_bytes(text.encode(), "raw/curva_carga/quoted.csv")
    assert not result.bad_rows
    rows = all_rows(result).to_pylist()
    assert {(r["id_subsistema"], r["nom_subsistema"]) for r in rows} == {
        ("SE", "SUDESTE"),
        ("N", 'NORTE "N"'),
    }
    assert sorted(r["val_cargaenergiahomwmed"] for r in rows) == [1.5, 2.5]


def test_one_code_and_time_under_two_spellings_is_a_duplicate_row() -> None:
    # The name describes the subsystem, the code identifies it: written as two points, every
    # sum over subsystems would count that hour's load twice.
    text = (
        "id_subsistema;nom_subsistema;din_instante;val_cargaenergiahomwmed\r\n"
        "N;NORTE;2024-01-05 00:00:00;4828.0\r\n"  # 2
        "N;Norte;2024-01-05 00:00:00;4828.0\r\n"  # 3 the same point, spelt anew
        "N;Norte;2024-01-05 01:00:00;4900.0\r\n"  # 4 another hour: kept
    )
    result = normalize_bytes(text.encode(), "raw/curva_carga/two_spellings.csv")
    [bad] = result.bad_rows
    assert bad.row == 3 and "duplicate of row 2 (same id_subsistema and time)" in bad.reason
    assert all_rows(result).column("val_cargaenergiahomwmed").to_pylist() == [4828.0, 4900.0]


def test_a_plant_is_its_code_whatever_its_fuel_or_name(tmp_path: Path) -> None:
    # geracao_usina: a corrected fuel or name for one id_ons at one hour is the same plant-hour
    raw = generate_raw_ons("geracao_usina", date(2024, 1, 5))
    first = raw.slice(0, 1).to_pylist()[0]
    renamed = dict(first, nom_tipocombustivel=first["nom_tipocombustivel"] + " (corrigido)")
    twice = pa.concat_tables([raw, pa.Table.from_pylist([renamed], raw.schema)])
    path = tmp_path / "geracao_usina_fuel.csv"
    write_ons_csv([twice], path)
    result = normalize_file(path)
    [bad] = result.bad_rows
    assert bad.row == twice.num_rows + 1 and "(same id_ons and time)" in bad.reason
    write_ons_csv([raw], tmp_path / "geracao_usina.csv")
    assert result.rows == normalize_file(tmp_path / "geracao_usina.csv").rows


@pytest.mark.parametrize("zone", [None, "America/Sao_Paulo"])
def test_a_timestamp_with_a_fraction_of_a_second_is_refused_not_cut(
    tmp_path: Path, zone: str | None
) -> None:
    # Cut to the second, 00:00:00.5 would become 00:00:00 and overwrite that point's value;
    # kept (a zoned column, as pandas writes one), 12:59:59.999 would be a second point of the
    # hour beside 13:00
    times = [datetime(2024, 1, 5, 0, 0), datetime(2024, 1, 5, 0, 0, 0, 500_000)]
    column = pa.array(times, pa.timestamp("ms"))
    if zone is not None:
        column = pc.assume_timezone(column, zone)
    raw = pa.table(
        {
            "id_subsistema": ["N", "N"],
            "nom_subsistema": ["NORTE", "NORTE"],
            "din_instante": column,
            "val_cargaenergiahomwmed": [4828.0, 1.0],
        }
    )
    path = tmp_path / "carga.parquet"
    pq.write_table(raw, path)
    result = normalize_file(path)
    [bad] = result.bad_rows
    assert (bad.row, bad.column) == (2, "din_instante")
    assert all_rows(result).column("val_cargaenergiahomwmed").to_pylist() == [4828.0]


def test_a_bad_first_row_of_the_repeated_hour_still_counts_as_its_first_occurrence() -> None:
    """DST end (2019-02-16 23:00 local happens twice): a file whose first 23:00 row is bad and
    second good gave the good value to the first occurrence (overwriting it) and never corrected
    the second: the occurrences are counted over every row whose series and time parsed."""
    header = b"id_subsistema;nom_subsistema;din_instante;val_cargaenergiahomwmed\n"
    rows = b"N;NORTE;2019-02-16 23:00:00;abc\nN;NORTE;2019-02-16 23:00:00;3333.0\n"
    result = normalize_bytes(header + rows, "raw/curva_carga/fix.csv")
    first = ons_time.to_ns(datetime(2019, 2, 17, 1, tzinfo=UTC))  # 23:00 at -02
    second = ons_time.to_ns(datetime(2019, 2, 17, 2, tzinfo=UTC))  # 23:00 at -03
    (bad,) = result.bad_rows
    assert bad.row == 2 and result.second_occurrences == 1
    [table] = result.days.values()
    assert table.column("time").cast(pa.int64()).to_pylist() == [second]
    assert table.column("val_cargaenergiahomwmed").to_pylist() == [3333.0]
    assert (("N", "NORTE"), first) in result.protected  # the first occurrence stays as it was


def test_a_fall_back_day_appended_to_itself_invents_no_second_occurrence() -> None:
    """DST end 2018-02-17, its 23:00 written once, the file appended to itself: the repeated
    23:00 row came after the next day's rows yet was read as the hour's second occurrence — a
    point invented at 02:00Z with the first hour's value (overwriting a stored second one)."""
    midnight = b"N;NORTE;2018-02-18 00:00:00;200\n"
    once = b"N;NORTE;2018-02-17 23:00:00;100\n" + midnight
    result = normalize_bytes(curva_header() + once + once, "raw/curva_carga/appended.csv")
    assert result.second_occurrences == 0 and result.duplicates_dropped == 2
    [table] = result.days.values()
    first = ons_time.to_ns(datetime(2018, 2, 18, 1, tzinfo=UTC))  # 23:00 at -02
    assert table.column("time").cast(pa.int64()).to_pylist()[0] == first
    assert all_rows(result).num_rows == 2
    # written twice in order (23:00, 23:00, 00:00) it is the second occurrence, as before
    twice = b"N;NORTE;2018-02-17 23:00:00;100\nN;NORTE;2018-02-17 23:00:00;150\n"
    ordered = normalize_bytes(curva_header() + twice + midnight, "raw/curva_carga/t.csv")
    assert ordered.second_occurrences == 1 and all_rows(ordered).num_rows == 3


def curva_header() -> bytes:
    return (CURVA + "\n").encode()


# -- file forms people's tools write (a review with 79 variants of real ONS files) -------------

CURVA = "id_subsistema;nom_subsistema;din_instante;val_cargaenergiahomwmed"


def curva(*rows: str, header: str = CURVA, end: str = "\n") -> bytes:
    return (end.join([header, *rows]) + end).encode()


def values_of(result: NormalizedFile) -> list[tuple[str, str, float]]:
    rows = all_rows(result).to_pylist()
    return sorted((str(r["time"]), r["id_subsistema"], r["val_cargaenergiahomwmed"]) for r in rows)


def test_numbers_with_a_decimal_comma_are_read_with_their_thousands() -> None:
    """A pt-BR spreadsheet writes '13.712,900' and, for a whole number, '8.643': the dot is a
    thousands separator in that file (read 1000× too small, it overwrote correct points)."""
    data = curva(
        "N;NORTE;2024-01-01 00:00:00;8.643",
        "NE;NORDESTE;2024-01-01 00:00:00;13.712,900",
        "S;SUL;2024-01-01 00:00:00;5401,888",
    )
    result = normalize_bytes(data, "ptbr.csv")
    assert not result.bad_rows
    assert [v for _, _, v in values_of(result)] == [8643.0, 13712.9, 5401.888]
    assert any("decimal comma" in n for n in result.notes)
    # a point that can only be a decimal one ("4828.07") keeps the file's convention the ONS
    # one: a stray comma is then the bad row, never a reason to misread the rest
    mixed = normalize_bytes(
        curva("N;NORTE;2024-01-01 00:00:00;4828.07", "S;SUL;2024-01-01 00:00:00;1,5"), "m.csv"
    )
    assert [v for _, _, v in values_of(mixed)] == [4828.07]
    assert [b.row for b in mixed.bad_rows] == [3]


def test_times_as_spreadsheets_and_other_tools_write_them() -> None:
    for written in (
        "01/03/2024 05:00",
        "1/3/2024 5:00",
        "2024-03-01T05:00:00",
        "2024-03-01 05:00",
        "2024-03-01 05:00:00.0",
    ):
        result = normalize_bytes(curva(f"N;NORTE;{written};1.5"), "t.csv")
        assert not result.bad_rows, written
        assert values_of(result) == [("2024-03-01 08:00:00+00:00", "N", 1.5)], written
        assert result.notes, written  # said how the times were read
    # a day above 12 after the month: the file writes the month first (a US spreadsheet)
    us = normalize_bytes(curva("N;NORTE;03/13/2024 05:00;1.5"), "us.csv")
    assert values_of(us) == [("2024-03-13 08:00:00+00:00", "N", 1.5)]
    assert any("mm/dd/yyyy" in n for n in us.notes)


def _days(result: NormalizedFile) -> list[str]:
    return sorted({t[:10] for t, _, _ in values_of(result)})


def test_slashed_dates_are_read_in_the_order_that_makes_them_one_run_of_days() -> None:
    """A US file of 1–12 March ('03/05/2024') read day first put 11 of its 12 days on the 3rd of
    other months, silently; ONS files are runs of days, so the order under which the dates are
    one is the file's, and the day first (ONS's) when either or neither is."""
    hours = ("00:00", "12:00")
    march = [f"2024-03-{d:02d}" for d in range(1, 13)]
    us = normalize_bytes(
        curva(*(f"N;NORTE;03/{d:02d}/2024 {h};1" for d in range(1, 13) for h in hours)), "us.csv"
    )
    assert not us.bad_rows and _days(us) == march
    assert any("mm/dd/yyyy" in n and "run(s) of days" in n for n in us.notes)
    br = [f"N;NORTE;{d:02d}/03/2024 {h};1" for d in range(1, 13) for h in hours]
    assert _days(normalize_bytes(curva(*br), "br.csv")) == march
    # a mistyped month-first row in a day-first file is that row's fault, not the file's
    typo = normalize_bytes(curva(*br, "N;NORTE;03/13/2024 05:00;1"), "typo.csv")
    assert _days(typo) == march and [b.row for b in typo.bad_rows] == [len(br) + 2]
    # one date alone cannot tell: day first, and the note says nothing proved it
    one = normalize_bytes(curva("N;NORTE;03/05/2024 14:00;1"), "one.csv")
    assert _days(one) == ["2024-05-03"]
    assert any("no date shows which comes first" in n for n in one.notes)
    # a whole month written month first reads whole; a day-first one too
    us_month = [f"N;NORTE;03/{d:02d}/2024 00:00;1" for d in range(1, 32)]
    br_month = [f"N;NORTE;{d:02d}/03/2024 00:00;1" for d in range(1, 32)]
    whole = [f"2024-03-{d:02d}" for d in range(1, 32)]
    assert _days(normalize_bytes(curva(*us_month), "usm.csv")) == whole
    assert _days(normalize_bytes(curva(*br_month), "brm.csv")) == whole


def test_hours_labelled_by_the_end_of_their_interval_refuse_the_file() -> None:
    """01:00 … 24:00: read as ONS's start-of-interval labels every row would be an hour late."""
    data = curva("N;NORTE;2024-01-01 01:00:00;1.0", "N;NORTE;2024-01-01 24:00:00;2.0")
    with pytest.raises(NormalizeError, match="24:00"):
        normalize_bytes(data, "end-labels.csv")


@pytest.mark.parametrize(
    "second",
    [datetime(2023, 1, 2, tzinfo=UTC), datetime(2023, 1, 2, 0, 0, 1, tzinfo=UTC)],
    ids=["UTC midnights", "with the 2013 second"],
)
def test_a_daily_parquet_with_dates_as_utc_instants_keeps_its_days(
    tmp_path: Path, second: datetime
) -> None:
    """pandas and Spark write a date as its UTC midnight: read as an instant it fell on the
    evening before in Brasília (every EAR day one day early); one row written with the 2013
    '00:00:01' quirk kept only all-midnight files right."""
    path = tmp_path / "EAR_DIARIO_SUBSISTEMA_2023.parquet"
    pq.write_table(
        pa.table(
            {
                "id_subsistema": ["SE", "SE"],
                "nom_subsistema": ["SUDESTE", "SUDESTE"],
                "ear_data": pa.array(
                    [datetime(2023, 1, 1, tzinfo=UTC), second], pa.timestamp("us", "UTC")
                ),
                "ear_max_subsistema": [204615.0, 204615.0],
                "ear_verif_subsistema_mwmes": [110008.17, 110100.0],
                "ear_verif_subsistema_percentual": [53.76, 53.8],
            }
        ),
        path,
    )
    result = normalize_file(path)
    assert local_day_of(all_rows(result)) == [date(2023, 1, 1), date(2023, 1, 2)]
    assert any("UTC" in n for n in result.notes)


def test_a_null_tag_in_parquet_is_a_bad_row_not_a_failed_file(tmp_path: Path) -> None:
    path = tmp_path / "CURVA_CARGA_2024.parquet"
    pq.write_table(
        pa.table(
            {
                "id_subsistema": ["N", "N"],
                "nom_subsistema": ["NORTE", None],
                "din_instante": ["2024-01-01 00:00:00", "2024-01-01 01:00:00"],
                "val_cargaenergiahomwmed": [5401.888, 5399.1],
            }
        ),
        path,
    )
    result = normalize_file(path)
    assert result.rows == 1
    [bad] = result.bad_rows
    assert (bad.row, bad.column) == (2, "nom_subsistema") and "empty" in bad.reason


@pytest.mark.parametrize(
    "values",
    [
        pa.array([None, "5399.1"], pa.string()),  # pandas' dtype=str
        pa.array([None, decimal.Decimal("5399.1")], pa.decimal128(12, 4)),  # Spark's decimals
        pa.array([float("nan"), 5399.1]),  # how numpy and Spark write a missing float
    ],
    ids=["string", "decimal", "NaN"],
)
def test_a_null_or_nan_value_in_a_parquet_column_is_a_missing_value(
    tmp_path: Path, values: pa.Array
) -> None:
    """As an empty CSV cell: the stored point is withdrawn, not the row quarantined (a bad row
    would also keep its day from being replaced whole)."""
    path = tmp_path / "CURVA_CARGA_2024.parquet"
    pq.write_table(
        pa.table(
            {
                "id_subsistema": ["N", "S"],
                "nom_subsistema": ["NORTE", "SUL"],
                "din_instante": ["2024-01-01 00:00:00"] * 2,
                "val_cargaenergiahomwmed": values,
            }
        ),
        path,
    )
    result = normalize_file(path)
    assert not result.bad_rows, result.bad_rows
    assert result.rows == 1 and result.dropped_empty == 1 and len(result.empty) == 1
    assert values_of(result) == [("2024-01-01 03:00:00+00:00", "S", 5399.1)]


def test_byte_level_forms_are_read_and_said() -> None:
    rows = ("N;NORTE;2024-01-01 00:00:00;5401.888", "S;SUL;2024-01-01 00:00:00;9151.393")
    expected = [
        ("2024-01-01 03:00:00+00:00", "N", 5401.888),
        ("2024-01-01 03:00:00+00:00", "S", 9151.393),
    ]
    forms = {
        "gzip": gzip.compress(curva(*rows)),
        "CR only": curva(*rows, end="\r"),
        "CR CR LF": curva(*rows, end="\r\r\n"),
        "quoted header": curva(*rows, header=";".join(f'"{c}"' for c in CURVA.split(";"))),
        "trailing ';' on rows only": curva(*(r + ";" for r in rows)),
    }
    for form, data in forms.items():
        result = normalize_bytes(data, "CURVA_CARGA_2024.csv")
        assert not result.bad_rows, form
        assert values_of(result) == expected, form
    # spaces, a DOS end-of-file mark, the header again (two monthly files joined), a row
    # repeated verbatim: nothing, not bad rows (a bad row stops a day being replaced whole)
    noisy = curva(rows[0], "   ", CURVA, rows[1], rows[1], "\x1a")
    result = normalize_bytes(noisy, "joined.csv")
    assert not result.bad_rows and values_of(result) == expected
    assert result.duplicates_dropped == 1
    # the same series and time with other values is still a bad row: which one is right?
    clash = normalize_bytes(curva(rows[0], rows[0].replace("5401.888", "1.0")), "c.csv")
    assert [b.row for b in clash.bad_rows] == [3]


def test_an_excel_workbook_reads_as_its_csv() -> None:
    """ONS publishes each dataset-year as CSV, XLSX and Parquet: the workbook's first sheet is
    read as the CSV (typed date-times and numbers, or text cells), row numbers the sheet's."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(CURVA.split(";"))
    sheet.append(["N", "NORTE", datetime(2024, 1, 1, 0, 59, 59, 999_999), 5401.888])  # float noise
    sheet.append(["S", "SUL", "2024-01-01 01:00:00", "9151.393"])
    sheet.append([None, None, None, None])
    sheet.append(["SE", "SUDESTE", datetime(2024, 1, 1, 1), "abc"])
    data = io.BytesIO()
    book.save(data)
    result = normalize_bytes(data.getvalue(), "CURVA_CARGA_2024.xlsx")
    assert result.format == "xlsx" and result.notes == ["Excel workbook: sheet 'Sheet'"]
    assert values_of(result) == [
        ("2024-01-01 04:00:00+00:00", "N", 5401.888),
        ("2024-01-01 04:00:00+00:00", "S", 9151.393),
    ]
    [bad] = result.bad_rows
    assert (bad.row, bad.column) == (5, "val_cargaenergiahomwmed")
    assert bad.text == "SE;SUDESTE;2024-01-01 01:00:00;abc"  # the quarantine CSV's line


def test_a_zip_or_a_huge_header_gets_an_error_that_says_what_it_is() -> None:
    with pytest.raises(NormalizeError, match="no Excel workbook"):
        normalize_bytes(b"PK\x03\x04" + b"\x00" * 64, "CURVA_CARGA_2024.zip")
    header = ";".join(f"c{i}" * 40 for i in range(200))
    with pytest.raises(UnknownDatasetError) as raised:
        normalize_bytes((header + "\n").encode(), "wide.csv")
    assert len(str(raised.value)) < 5000


def test_what_a_second_review_of_file_forms_found() -> None:
    """A second pass of the review (46 near misses of the rules above)."""
    # one stray comma beside ONS's own '457.403' is a bad row: the point stays a decimal point
    # (a fixed quarantine CSV read 457.403 as 457403 and overwrote correct points)
    stray = normalize_bytes(
        curva("N;NORTE;2024-01-01 00:00:00;457.403", "S;SUL;2024-01-01 00:00:00;12,5"), "q.csv"
    )
    assert [v for _, _, v in values_of(stray)] == [457.403] and len(stray.bad_rows) == 1
    assert any("both with a decimal point and with a decimal comma" in n for n in stray.notes)
    # commas alone are the decimal comma
    commas = normalize_bytes(curva("N;NORTE;2024-01-01 00:00:00;5401,888"), "c.csv")
    assert [v for _, _, v in values_of(commas)] == [5401.888]
    # a row of empty cells (a spreadsheet's ';;;') and the header again in capitals: nothing
    noisy = curva("N;NORTE;2024-01-01 00:00:00;1.5", ";;;", CURVA.upper())
    assert normalize_bytes(noisy, "n.csv").bad_rows == []
    # a stray 24:00 in a file that has 00:00 labels is a bad row, not the file's convention
    stray_24 = normalize_bytes(
        curva("N;NORTE;2024-01-01 00:00:00;1.5", "N;NORTE;2024-01-01 24:00:00;2.5"), "s.csv"
    )
    assert stray_24.rows == 1 and [b.row for b in stray_24.bad_rows] == [3]
    # gzip within gzip; UTF-16 ("Unicode text") decoded, so its error shows a readable header
    twice = normalize_bytes(gzip.compress(gzip.compress(curva("N;NORTE;2024-01-01;1.5"))), "z")
    assert twice.rows == 1
    with pytest.raises(UnknownDatasetError, match="id_subsistema"):
        normalize_bytes(CURVA.replace(";", "\t").encode("utf-16"), "u16.txt")


def test_slashed_dates_by_runs_of_days_and_stray_rows() -> None:
    """A third review of the date order: a day-first file with a gap and one mistyped row
    (month 13) was read month first whole; the 1st and 15th of each month became 1–2 January; a
    pt-BR file (decimal comma) of month starts was read month first. A reading that leaves more
    than a stray few rows without a date is out; then the fewer runs of consecutive days; a
    decimal comma says pt-BR, day first."""
    gap = [f"N;NORTE;{d:02d}/03/2024 {h:02d}:00;1" for d in (1, 2, 3, 6, 7, 8) for h in range(12)]
    typo = normalize_bytes(curva(*gap, "N;NORTE;03/13/2024 00:00;1"), "gap.csv")
    assert _days(typo) == [f"2024-03-{d:02d}" for d in (1, 2, 3, 6, 7, 8)]
    assert [b.row for b in typo.bad_rows] == [len(gap) + 2]
    assert "03/13/2024" in typo.bad_rows[0].text
    halves = [f"N;NORTE;{d:02d}/{m:02d}/2024 00:00;1" for m in (1, 2, 3) for d in (1, 15)]
    assert _days(normalize_bytes(curva(*halves), "halves.csv")) == [
        f"2024-{m:02d}-{d:02d}" for m in (1, 2, 3) for d in (1, 15)
    ]
    starts = [f"N;NORTE;01/{m:02d}/2024 00:00;1.001,5" for m in (1, 2, 3, 4)]
    ptbr = normalize_bytes(curva(*starts), "starts.csv")
    assert _days(ptbr) == [f"2024-{m:02d}-01" for m in (1, 2, 3, 4)]


def test_a_fall_back_day_ending_at_its_repeated_hour_appended_to_itself() -> None:
    """The file ends at the repeated 23:00 and is appended to itself: the copy starts over at
    00:00, an earlier hour, so 'no later hour between them' still took the copy's 23:00 as the
    second occurrence. A second occurrence follows its first with no other hour between."""
    day = [f"N;NORTE;2018-02-17 {h:02d}:00:00;{100 + h}" for h in range(24)]
    result = normalize_bytes(curva(*day, *day), "raw/curva_carga/twice.csv")
    assert result.second_occurrences == 0
    assert all_rows(result).num_rows == 24


def test_a_line_far_longer_than_any_ons_row_is_a_bad_row_naming_its_line() -> None:
    """(pyarrow failed the whole file on a line over its 1 MiB block, naming no line, and the
    run wrote no rejection report.)"""
    rows = [f"N;NORTE;2024-01-01 {h:02d}:00:00;5401.888" for h in range(4)]
    rows[2] = "N;" + "X" * 3_000_000 + ";2024-01-01 02:00:00;1.0"
    result = normalize_bytes(curva(*rows), "CURVA_CARGA_2024.csv")
    [bad] = result.bad_rows
    assert bad.row == 4 and "3,000,0" in bad.reason and "longer than any ONS row" in bad.reason
    assert len(bad.text) < 1_000  # the quarantine keeps the line's start, not 3 MB
    assert result.rows == 3


def test_a_file_cut_inside_its_last_number_keeps_that_row_out() -> None:
    """A file written with fixed decimals (4198.85714300, as ONS writes some years) that ends
    without a line end inside its last number: that row is a bad row naming its column, not a
    shorter number loaded as if true. With a line end, or numbers in their shortest form, or
    the last value as long as the others, nothing is suspected."""
    rows = [f"N;NORTE;2024-01-01 {h:02d}:00:00;5401.88800000" for h in range(4)]
    cut = normalize_bytes(curva(*rows[:-1], rows[-1][:-6], end="\n").rstrip(b"\n"), "C.csv")
    [bad] = cut.bad_rows
    assert (bad.row, bad.column) == (5, "val_cargaenergiahomwmed") and "cut short" in bad.reason
    assert cut.rows == 3
    whole = normalize_bytes(curva(*rows).rstrip(b"\n"), "C.csv")
    shortest = normalize_bytes(
        curva(*(r.replace("5401.88800000", "5401.8") for r in rows)).rstrip(b"\n"), "C.csv"
    )
    ended = normalize_bytes(curva(*rows[:-1], rows[-1][:-6]), "C.csv")
    for result in (whole, shortest, ended):
        assert result.rows == 4 and not result.bad_rows


def test_impossible_dates_and_years_beyond_nanoseconds_are_bad_rows(tmp_path: Path) -> None:
    """A review found 2300-06-01 loaded at 1715-11-11 (int64 nanoseconds wrapped around),
    1600-01-01 failing the whole file with an OverflowError naming no row, and 2019-02-29
    failing it with 'day is out of range for month' (strptime had rolled it over to 03-01).
    Each is a bad row naming its line and the time column; the rest of the file loads."""
    rows = [
        "SE;SUDESTE;2019-06-01 00:00:00;1",  # 2
        "SE;SUDESTE;2300-06-01 01:00:00;2",  # 3
        "SE;SUDESTE;1600-01-01 00:00:00;3",  # 4
        "SE;SUDESTE;0201-06-01 02:00:00;4",  # 5
        "SE;SUDESTE;2019-02-29 07:00:00;5",  # 6
        "SE;SUDESTE;2019-06-31;6",  # 7
        "SE;SUDESTE;2019-06-01 01:00:00;7",  # 8
    ]
    result = normalize_bytes(curva(*rows), "raw/curva_carga/far.csv")
    assert [(b.row, b.column) for b in result.bad_rows] == [
        (r, "din_instante") for r in range(3, 8)
    ]
    reasons = [b.reason for b in result.bad_rows]
    assert all("outside the range nanosecond timestamps" in r for r in reasons[:3])
    assert reasons[3].startswith("'2019-02-29 07:00:00' is not a local time")
    assert values_of(result) == [
        ("2019-06-01 03:00:00+00:00", "SE", 1.0),
        ("2019-06-01 04:00:00+00:00", "SE", 7.0),
    ]
    # a Parquet instant in microseconds of year 2300 (no nanosecond cast can hold it)
    table = pa.table(
        {
            "id_subsistema": ["SE", "SE"],
            "nom_subsistema": ["SUDESTE", "SUDESTE"],
            "din_instante": pa.array(
                [datetime(2019, 6, 1, 3), datetime(2300, 6, 1, 4)], pa.timestamp("us", "UTC")
            ),
            "val_cargaenergiahomwmed": [1.0, 2.0],
        }
    )
    pq.write_table(table, tmp_path / "far.parquet")
    parquet = normalize_file(tmp_path / "far.parquet")
    [bad] = parquet.bad_rows
    assert (bad.row, bad.column) == (2, "din_instante") and "nanosecond" in bad.reason
    assert values_of(parquet) == [("2019-06-01 03:00:00+00:00", "SE", 1.0)]


def test_a_date_only_midnight_of_an_hourly_file_on_the_dst_start_day_is_that_hour() -> None:
    """R's write.csv writes midnight as the date alone: '2018-11-04' in an hourly file landed at
    the day's first instant, 01:00, and pushed out the real 01:00 row as its duplicate. It is
    the nonexistent 00:00, read exactly as '2018-11-04 00:00:00': dropped when empty, a bad row
    when it carries a value."""
    for midnight in ("2018-11-04", "2018-11-04 00:00:00"):
        rows = [
            "SE;SUDESTE;2018-11-03 23:00:00;11",
            f"SE;SUDESTE;{midnight};",
            "SE;SUDESTE;2018-11-04 01:00:00;13",
        ]
        empty = normalize_bytes(curva(*rows), "raw/curva_carga/r.csv")
        assert not empty.bad_rows and empty.dropped_dst == 1, midnight
        assert values_of(empty) == [
            ("2018-11-04 02:00:00+00:00", "SE", 11.0),
            ("2018-11-04 03:00:00+00:00", "SE", 13.0),
        ], midnight
        rows[1] += "12"
        valued = normalize_bytes(curva(*rows), "raw/curva_carga/r.csv")
        [bad] = valued.bad_rows
        assert (bad.row, bad.column) == (3, "din_instante") and "DST start" in bad.reason
        assert valued.rows == 2, midnight
    # a daily dataset keeps reading the date as its day (the first instant, 01:00)
    daily = normalize_bytes(
        b"id_subsistema;nom_subsistema;ear_data;ear_max_subsistema\nSE;SUDESTE;2018-11-04;5.0\n",
        "raw/ear_diario/d.csv",
    )
    assert all_rows(daily).column("time").to_pylist() == [datetime(2018, 11, 4, 3, tzinfo=UTC)]


def _reordered(lines: list[str], order: list[int]) -> list[str]:
    """ONS lines with their cells in ``order``."""
    return [";".join(line.split(";")[i] for i in order) for line in lines]


def test_a_header_further_down_in_another_order_reads_the_rows_below_it() -> None:
    """Two files joined into one, the second with its own header in another column order (and
    another spelling: case, the id_subsistena typo): the rows below it were read by the first
    header's positions (hydro and thermal swapped, silently) and the header was a bad row."""
    path = SAMPLES / "balanco_energia_subsistema_2023_excerpt.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    whole = normalize_bytes(path.read_bytes(), "balanco.csv")
    order = [0, 1, 2, 4, 3, 5, 6, 7, 8]  # val_gerhidraulica and val_gertermica swapped
    header = ";".join(lines[0].split(";")[i] for i in order)
    # the first header spells the typo (id_subsistena), the second the name, in capitals
    second = header.replace("id_subsistena", "ID_SUBSISTEMA").upper()
    # ... and the first header again after 40 rows: the rows below it read by it again
    joined = [*lines[:61], second, *_reordered(lines[61:101], order), lines[0], *lines[101:]]
    result = normalize_bytes("\n".join(joined).encode(), "j.csv")
    assert result.bad_rows == [] and result.rows == whole.rows
    assert all_rows(result).equals(all_rows(whole))
    assert result.notes == [
        "line 62: the header again with its columns in another order (files joined): the rows "
        "below it read by it",
        "line 103: the header again (files joined), skipped",
    ]
    # a bad row below the reordered header keeps its line; the quarantine CSV gives it in the
    # first header's order, so that the fixed file reads as it should
    bad_lines = [*lines[:61], second, *_reordered(lines[61:], order)]
    bad_lines[70] = bad_lines[70].replace(bad_lines[70].split(";")[3], "abc", 1)
    broken = normalize_bytes("\n".join(bad_lines).encode(), "j.csv")
    [bad] = broken.bad_rows
    assert (bad.row, bad.column) == (71, "val_gertermica")
    assert broken.quarantine_csv().decode().splitlines()[1] == lines[69].replace(
        lines[69].split(";")[4], "abc", 1
    )
    assert broken.rows == whole.rows - 1


def test_a_header_further_down_naming_other_columns_refuses_the_file() -> None:
    path = SAMPLES / "balanco_energia_subsistema_2023_excerpt.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    for other in (
        lines[0].replace("val_gersolar", "val_gernuclear"),  # as many columns, one another
        lines[0] + ";val_gernuclear",  # one more
    ):
        with pytest.raises(NormalizeError, match=r"j\.csv: line 62 is a header naming other"):
            normalize_bytes("\n".join([*lines[:61], other, *lines[61:]]).encode(), "j.csv")


def test_a_cut_last_number_is_caught_beside_empty_dash_and_exponent_values() -> None:
    """One 0E-8, empty cell or '-' in the column (all common in real ONS files) disabled the
    check, and a last value cut before its decimal point ('5401', '5401.') was never judged:
    a real geração file cut inside its last number loaded 45.36 for 45.369. Only values
    written with fixed decimals are judged; one with fewer on the unterminated last line is
    cut short."""
    path = SAMPLES / "geracao_usina_2021_excerpt.csv"
    text = path.read_bytes().decode("utf-8").replace("\r\n", "\n").rstrip("\n")
    lines = text.split("\n")
    assert any(line.endswith(";0E-8") for line in lines) and lines[-1].endswith(";45.36900000")
    cut = normalize_bytes("\n".join([*lines[:-1], lines[-1][:-6]]).encode(), "G.csv")
    [bad] = cut.bad_rows
    assert (bad.row, bad.column) == (len(lines), "val_geracao") and "cut short" in bad.reason
    assert cut.rows == len(lines) - 2

    def hours(*values: str) -> list[str]:
        return [f"N;NORTE;2024-01-01 {h:02d}:00:00;{v}" for h, v in enumerate(values)]

    fixed = ("5401.88800000", "0E-8", "", "-", "9151.39300000")
    for last in ("5401.88", "5401.", "5401", "-5401"):
        result = normalize_bytes(curva(*hours(*fixed, last)).rstrip(b"\n"), "C.csv")
        [bad] = result.bad_rows
        assert (bad.row, bad.column) == (7, "val_cargaenergiahomwmed"), last
        assert result.rows == 3, last  # 5401.888, 0E-8, 9151.393 (the empty and '-' rows: empty)
    # as many decimals, a line end, or a column in shortest form: nothing is suspected
    shortest = ("5401.888", "0E-8", "", "-", "9151.39")
    for data in (
        curva(*hours(*fixed, "1.00000000")).rstrip(b"\n"),
        curva(*hours(*fixed, "5401")),
        curva(*hours(*shortest, "5401")).rstrip(b"\n"),
    ):
        result = normalize_bytes(data, "C.csv")
        assert not result.bad_rows and result.rows == 4
