"""The ONS / legacy data generator: schema, determinism, realism, DST days and raw ONS quirks."""

from __future__ import annotations

import re
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from ons_pipeline.lib import ons_time, schema
from ons_pipeline.local import generator as g
from ons_pipeline.local.generator.canonical import _CONSUMER_TYPES, _ENERGY_SOURCES

SAMPLES = Path(__file__).parents[1] / "data" / "ons_samples"
ONS = schema.ons_tables()
LEGACY = schema.legacy_tables()
ALL = [*ONS, *LEGACY]
DST_START, DST_END = date(2018, 11, 4), date(2018, 2, 17)  # 23 h and 25 h local days
FIXED8 = re.compile(r"^(-?\d+\.\d{8}|0E-8|)$")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def concat(chunks: Iterator[pa.Table], table: str) -> pa.Table:
    parts = list(chunks)
    return pa.concat_tables(parts) if parts else schema.table(table).arrow_schema().empty_table()


def sort_keys(table: str) -> list[tuple[str, str]]:
    return [("time", "ascending"), *((t, "ascending") for t in schema.table(table).tags)]


def local_hours(times: pa.ChunkedArray | pa.Array) -> np.ndarray:
    local = ons_time.utc_ns_to_local_ns(pc.cast(times, pa.int64()).to_numpy())
    return np.mod(local, ons_time.NS_PER_DAY) // (3600 * ons_time.NS_PER_SECOND)


def values(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy().astype(float)


# --- schema, order, keys ----------------------------------------------------------------------


@pytest.mark.parametrize("table", ALL)
@pytest.mark.parametrize("day", [date(2023, 1, 2), DST_START, DST_END])
def test_schema_order_and_keys(table: str, day: date) -> None:
    spec = schema.table(table)
    data = g.generate_day(table, day)
    assert data.schema.equals(spec.arrow_schema(), check_metadata=True)
    assert data.num_rows > 0
    assert data.equals(data.sort_by(sort_keys(table)))
    identity = ["time", *(t for t in spec.tags if t not in spec.optional_tags)]
    assert data.group_by(identity).aggregate([]).num_rows == data.num_rows
    assert pc.min(data.column("time")).as_py() >= (
        ons_time.utc_day_bounds(day)[0]
        if spec.source is schema.Source.LEGACY
        else ons_time.local_day_bounds_utc(day)[0]
    )


@pytest.mark.parametrize("table", ALL)
def test_values_are_exactly_8_decimal_numbers(table: str) -> None:
    data = g.generate_day(table, date(2021, 7, 15))
    for name in schema.table(table).field_names:
        column = pc.drop_null(data.column(name)).to_numpy()
        rendered = np.array([float(f"{v:.8f}") for v in column.tolist()])
        assert np.array_equal(rendered, column), name
        assert np.all(np.abs(column) < 1e7)


@pytest.mark.parametrize("table", ONS)
def test_no_canonical_row_is_all_null(table: str) -> None:
    spec = schema.table(table)
    for offset in range(0, 60, 7):
        data = g.generate_day(table, date(2020, 1, 1) + timedelta(days=offset))
        valid = [pc.is_valid(data.column(f)) for f in spec.field_names]
        any_valid = valid[0]
        for other in valid[1:]:
            any_valid = pc.or_(any_valid, other)
        assert pc.all(any_valid).as_py()


def test_nulls_are_rare_deterministic_and_optional() -> None:
    days = [date(2019, 3, 1) + timedelta(days=i) for i in range(10)]
    data = pa.concat_tables(g.generate_day("geracao_usina", d) for d in days)
    plants = len(g.plant_catalogue())
    hours = sum(ons_time.local_grid_utc_ns(d, timedelta(hours=1)).size for d in days)
    missing = plants * hours - data.num_rows  # single-field rows: NULL → absent
    assert 0.0005 < missing / (plants * hours) < 0.005
    again = pa.concat_tables(g.generate_day("geracao_usina", d) for d in days)
    assert again.equals(data)
    complete = g.generate_day("balanco_subsistema", days[0], null_rate=0.0)
    assert complete.num_rows == 24 * 5
    assert all(c.null_count == 0 for c in complete.columns)


# --- determinism and windows ------------------------------------------------------------------


@pytest.mark.parametrize("table", ALL)
def test_same_seed_same_data_other_seed_other_data(table: str) -> None:
    start, end = utc(2018, 11, 3), utc(2018, 11, 6)
    first = concat(g.generate_canonical(table, start, end, seed=7), table)
    second = concat(g.generate_canonical(table, start, end, seed=7), table)
    other = concat(g.generate_canonical(table, start, end, seed=8), table)
    assert first.equals(second)
    assert not first.equals(other)


@pytest.mark.parametrize("table", ALL)
def test_window_spanning_two_days_is_the_concatenation(table: str) -> None:
    days = [date(2018, 2, 17), date(2018, 2, 18)]
    bounds = ons_time.utc_day_bounds if table in LEGACY else ons_time.local_day_bounds_utc
    windows = [bounds(d) for d in days]
    both = concat(g.generate_canonical(table, windows[0][0], windows[1][1], seed=3), table)
    singles = [concat(g.generate_canonical(table, s, e, seed=3), table) for s, e in windows]
    assert both.equals(pa.concat_tables(singles))
    chunks = list(g.generate_canonical(table, windows[0][0], windows[1][1], seed=3))
    assert len(chunks) == 2  # one chunk per generation day


@pytest.mark.parametrize("table", ALL)
def test_arbitrary_window_equals_filtered_days(table: str) -> None:
    start, end = utc(2018, 11, 3, 10, 17), utc(2018, 11, 5, 4, 30)
    window = concat(g.generate_canonical(table, start, end), table)
    days = g.generation_days(table, start, end)
    whole = pa.concat_tables(g.generate_day(table, d) for d in days)
    times = whole.column("time")
    inside = pc.and_(
        pc.greater_equal(times, pa.scalar(start, ons_time.UTC_NS)),
        pc.less(times, pa.scalar(end, ons_time.UTC_NS)),
    )
    assert window.equals(whole.filter(inside))
    assert window.num_rows > 0


def test_windows_are_half_open() -> None:
    moment = utc(2023, 5, 10, 15)
    one_hour = concat(
        g.generate_canonical("curva_carga", moment, moment + timedelta(hours=1)), "curva_carga"
    )
    assert set(one_hour.column("time").to_pylist()) == {moment}
    assert one_hour.num_rows <= 4
    empty = list(g.generate_canonical("curva_carga", moment, moment))
    assert empty == []
    adjacent = concat(
        g.generate_canonical("curva_carga", moment - timedelta(hours=1), moment), "curva_carga"
    )
    assert moment not in adjacent.column("time").to_pylist()


def test_naive_datetimes_are_utc() -> None:
    naive = concat(
        g.generate_canonical("transmission_data", datetime(2023, 1, 1), datetime(2023, 1, 1, 6)),
        "transmission_data",
    )
    aware = concat(
        g.generate_canonical("transmission_data", utc(2023, 1, 1), utc(2023, 1, 1, 6)),
        "transmission_data",
    )
    assert naive.equals(aware)


# --- DST days ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "hours"),
    [
        (DST_START, 23),
        (date(2017, 10, 15), 23),
        (DST_END, 25),
        (date(2019, 2, 16), 25),
        (date(2019, 11, 3), 24),
        (date(2023, 1, 1), 24),
    ],
)
def test_hourly_tables_follow_local_day_length(day: date, hours: int) -> None:
    start, end = ons_time.local_day_bounds_utc(day)
    for table, per_hour in (("curva_carga", 1), ("geracao_usina", 1), ("cmo_semihorario", 2)):
        data = g.generate_day(table, day, null_rate=0.0)
        times = data.column("time")
        assert pc.count_distinct(times).as_py() == hours * per_hour
        assert pc.min(times).as_py() == start
        assert pc.max(times).as_py() < end
    local = local_hours(g.generate_day("curva_carga", day).column("time"))
    if hours == 23:
        assert 0 not in set(local.tolist())  # the skipped 00:00 hour
    if hours == 25:
        assert np.sum(local == 23) == 2 * 4  # 23:00 twice, 4 subsystems


def test_daily_rows_are_stamped_at_the_local_day_start() -> None:
    for table in ("ear_diario", "ena_diario"):
        for day in (DST_START, date(2023, 1, 1)):
            data = g.generate_day(table, day, null_rate=0.0)
            assert data.num_rows == 4
            assert set(data.column("time").to_pylist()) == {ons_time.local_day_start_utc(day)}


# --- realism ----------------------------------------------------------------------------------


def test_balanco_sin_is_the_sum_and_interchange_balances() -> None:
    for day in (date(2016, 3, 5), DST_END, date(2023, 9, 20)):
        data = g.generate_day("balanco_subsistema", day, null_rate=0.0)
        spec = schema.table("balanco_subsistema")
        frame = {f: values(data, f).reshape(-1, 5) for f in spec.field_names}
        ids = data.column("id_subsistema").to_pylist()[:5]
        assert ids == ["N", "NE", "S", "SE", "SIN"]
        for name, matrix in frame.items():
            np.testing.assert_allclose(matrix[:, 4], matrix[:, :4].sum(axis=1), atol=1e-6)
            if name != "val_intercambio":
                assert np.all(matrix >= 0), name
        interchange = frame["val_intercambio"]
        np.testing.assert_allclose(interchange[:, :4].sum(axis=1), 0, atol=1e-6)
        np.testing.assert_allclose(interchange[:, 4], 0, atol=1e-6)
        generation = sum(
            frame[f]
            for f in ("val_gerhidraulica", "val_gertermica", "val_gereolica", "val_gersolar")
        )
        np.testing.assert_allclose(generation - frame["val_carga"], interchange, atol=1e-6)


def test_tables_agree_with_each_other() -> None:
    day = date(2022, 8, 10)
    balanco = g.generate_day("balanco_subsistema", day, null_rate=0.0)
    subsystems = balanco.filter(pc.not_equal(balanco.column("id_subsistema"), "SIN"))
    carga = g.generate_day("curva_carga", day, null_rate=0.0)
    np.testing.assert_allclose(
        values(carga, "val_cargaenergiahomwmed"), values(subsystems, "val_carga"), atol=1e-6
    )
    flows = values(
        g.generate_day("intercambio", day, null_rate=0.0), "val_intercambiomwmed"
    ).reshape(-1, 4)  # N→NE, N→SE, NE→SE, SE→S
    net = np.stack(
        [
            flows[:, 0] + flows[:, 1],
            flows[:, 2] - flows[:, 0],
            -flows[:, 3],
            flows[:, 3] - flows[:, 1] - flows[:, 2],
        ],
        axis=1,
    )
    np.testing.assert_allclose(net, values(subsystems, "val_intercambio").reshape(-1, 4), atol=1e-6)
    plants = g.generate_day("geracao_usina", day, null_rate=0.0)
    hours = pc.count_distinct(plants.column("time")).as_py()
    kind = {
        "HIDROELÉTRICA": "val_gerhidraulica",
        "TÉRMICA": "val_gertermica",
        "NUCLEAR": "val_gertermica",
        "EOLIELÉTRICA": "val_gereolica",
        "FOTOVOLTAICA": "val_gersolar",
    }
    plant_values = values(plants, "val_geracao").reshape(hours, -1)
    types = plants.column("nom_tipousina").to_pylist()[: plant_values.shape[1]]
    subs = plants.column("id_subsistema").to_pylist()[: plant_values.shape[1]]
    for index, sub in enumerate(g.SUBSYSTEMS):
        for field in set(kind.values()):
            members = [
                i
                for i, (t, s) in enumerate(zip(types, subs, strict=True))
                if s == sub and kind[t] == field
            ]
            total = plant_values[:, members].sum(axis=1)
            expected = values(subsystems, field).reshape(-1, 4)[:, index]
            np.testing.assert_allclose(total, expected, atol=1e-5, err_msg=f"{sub} {field}")


def test_load_has_daily_weekly_cycles_and_subsystem_scale() -> None:
    week = [date(2023, 5, 8) + timedelta(days=i) for i in range(7)]  # Monday … Sunday
    data = pa.concat_tables(g.generate_day("curva_carga", d, null_rate=0.0) for d in week)
    load = values(data, "val_cargaenergiahomwmed").reshape(7, 24, 4)
    mean = load.mean(axis=(0, 1))
    for sub, (low, high) in zip(
        g.SUBSYSTEMS, [(4e3, 8e3), (8e3, 14e3), (9e3, 15e3), (30e3, 48e3)], strict=True
    ):
        assert low < mean[g.SUBSYSTEMS.index(sub)] < high, sub
    daily = load.sum(axis=2).mean(axis=1)
    assert daily[6] < daily[5] < daily[:5].min()  # Sunday < Saturday < weekdays
    hourly = load.sum(axis=2)[:5].mean(axis=0)
    assert hourly[3] < 0.85 * hourly[20]  # night below the evening peak


def test_solar_is_zero_at_night_and_bell_shaped() -> None:
    for day in (date(2018, 1, 10), DST_START, date(2021, 6, 21), date(2023, 12, 1)):
        plants = g.generate_day("geracao_usina", day)
        solar = plants.filter(pc.equal(plants.column("nom_tipousina"), "FOTOVOLTAICA"))
        hours = local_hours(solar.column("time"))
        generation = values(solar, "val_geracao")
        night = np.isin(hours, [21, 22, 23, 0, 1, 2, 3, 4])
        assert night.any()
        assert np.all(generation[night] == 0.0)
        by_hour = np.array([generation[hours == h].sum() for h in range(24)])
        assert 10 <= int(np.argmax(by_hour)) <= 14  # a daylight bell around noon
        assert by_hour[6] < 0.5 * by_hour.max() and by_hour[19] < 0.5 * by_hour.max()
        balanco = g.generate_day("balanco_subsistema", day)
        sun = values(balanco, "val_gersolar")
        balanco_hours = local_hours(balanco.column("time"))
        assert np.all(sun[np.isin(balanco_hours, [21, 22, 23, 0, 1, 2, 3, 4])] == 0)
        ne = pc.equal(balanco.column("id_subsistema"), "NE").to_numpy(zero_copy_only=False)
        assert np.nanmax(sun[ne & (balanco_hours == 12)]) > 100


def test_ear_percent_is_consistent_and_seasonal() -> None:
    days = [date(2019, 1, 1) + timedelta(days=i) for i in range(0, 730, 5)]
    data = pa.concat_tables(g.generate_day("ear_diario", d) for d in days)
    maximum = values(data, "ear_max_subsistema")
    stored = values(data, "ear_verif_subsistema_mwmes")
    percent = values(data, "ear_verif_subsistema_percentual")
    ok = ~np.isnan(maximum) & ~np.isnan(stored) & ~np.isnan(percent)
    np.testing.assert_allclose(percent[ok], stored[ok] / maximum[ok] * 100, atol=1e-3)
    assert np.nanmin(percent) >= 0 and np.nanmax(percent) <= 100
    se = pc.equal(data.column("id_subsistema"), "SE").to_numpy(zero_copy_only=False)
    months = np.array([t.month for t in data.column("time").to_pylist()])
    wet_end = np.nanmean(percent[se & np.isin(months, [4, 5])])
    dry_end = np.nanmean(percent[se & np.isin(months, [10, 11])])
    assert wet_end > dry_end + 10


def test_ena_percent_has_one_long_term_mean_per_month() -> None:
    days = [date(2023, 1, 1) + timedelta(days=i) for i in range(59)]
    data = pa.concat_tables(g.generate_day("ena_diario", d, null_rate=0.0) for d in days)
    gross = values(data, "ena_bruta_regiao_mwmed")
    mlt = gross / values(data, "ena_bruta_regiao_percentualmlt") * 100
    months = np.array([ons_time.to_local(t).month for t in data.column("time").to_pylist()])
    subs = np.array(data.column("id_subsistema").to_pylist())
    for sub in g.SUBSYSTEMS:
        for month in (1, 2):
            group = mlt[(subs == sub) & (months == month)]
            np.testing.assert_allclose(group, group[0], rtol=2e-5)
    storable = values(data, "ena_armazenavel_regiao_mwmed")
    assert np.all(storable <= gross) and np.all(storable > 0.8 * gross)


def test_cmo_is_mostly_0_to_600_and_rarely_negative() -> None:
    days = [date(2015, 1, 1) + timedelta(days=i) for i in range(0, 4 * 365, 3)]
    cmo = np.concatenate([values(g.generate_day("cmo_semihorario", d), "val_cmo") for d in days])
    cmo = cmo[~np.isnan(cmo)]
    assert np.mean((cmo >= 0) & (cmo <= 600)) > 0.9
    assert 0 < np.mean(cmo < 0) < 0.01
    assert np.all(np.abs(np.round(cmo, 2) - cmo) < 2e-8)  # centavos (or …99999 artefacts)


def test_intercambio_has_the_four_directed_pairs() -> None:
    data = g.generate_day("intercambio", date(2024, 1, 1), null_rate=0.0)
    pairs = list(
        zip(
            data.column("id_subsistema_origem").to_pylist(),
            data.column("id_subsistema_destino").to_pylist(),
            strict=True,
        )
    )
    assert pairs[:4] == [("N", "NE"), ("N", "SE"), ("NE", "SE"), ("SE", "S")]
    assert set(pairs) == set(g.PAIRS) and len(pairs) == 24 * 4
    scheduled = values(data, "val_intercambioprogmwmed")
    verified = values(data, "val_intercambiomwmed")
    assert np.corrcoef(scheduled, verified)[0, 1] > 0.9


# --- plant catalogue --------------------------------------------------------------------------


def test_plant_catalogue() -> None:
    catalogue = g.plant_catalogue()
    tags = catalogue.tags.to_pylist()
    assert len(tags) >= 300
    assert len({t["id_ons"] for t in tags}) == len(tags)
    assert catalogue.tags.equals(catalogue.tags.sort_by([(c, "ascending") for c in g.PLANT_TAGS]))
    names = {t["nom_usina"] for t in tags}
    for required in (
        "Conj. Paulino Neves",
        "Pequenas Usinas (Tipo III)",
        "São Salvador",
        "Usina Solar Sol do Sertão, Fase 2",
        "Belo Monte",
        "Angra 2",
    ):
        assert required in names
    assert sum("," in n for n in names) >= 5
    assert sum("(" in n and ")" in n for n in names) >= 5
    assert sum(n != n.encode("ascii", "ignore").decode() for n in names) >= 50
    assert not any(";" in n or n != n.strip() for n in names)
    assert {t["nom_tipousina"] for t in tags} == {
        "HIDROELÉTRICA",
        "TÉRMICA",
        "EOLIELÉTRICA",
        "FOTOVOLTAICA",
        "NUCLEAR",
    }
    ceg = re.compile(r"^(UHE|PCH|UTE|UTN|EOL|UFV)\.[A-Z]{2}\.[A-Z]{2}\.\d{6}-\d\.\d{2}$")
    grouped = {"Conjunto de Usinas", "Pequenas Usinas (Tipo III)"}
    for plant in tags:
        if plant["cod_modalidadeoperacao"] in grouped:
            assert plant["ceg"] == "-" and plant["id_ons"][:4] in ("CJU_", "PQU_")
        else:
            assert ceg.match(plant["ceg"]), plant
        assert plant["nom_estado"].isascii() and plant["nom_estado"].isupper()
    state_of = {(t["id_estado"], t["nom_estado"], t["id_subsistema"]) for t in tags}
    assert len(state_of) == len({t["id_estado"] for t in tags})  # one name and subsystem each
    assert ("AM", "AMAZONAS", "N") in state_of and ("MA", "MARANHAO", "N") in state_of
    assert catalogue == g.plant_catalogue()


def test_catalogue_matches_the_real_file_vocabulary() -> None:
    """Types, fuels, modalidades and state names seen in the real 2021 file are used."""
    lines = (SAMPLES / "geracao_usina_2021_excerpt.csv").read_bytes().decode().split("\r\n")
    header = lines[0].split(";")
    rows = [dict(zip(header, line.split(";"), strict=True)) for line in lines[1:] if line]
    real = {
        c: {r[c] for r in rows}
        for c in ("nom_tipousina", "nom_tipocombustivel", "cod_modalidadeoperacao")
    }
    ours = {c: set(g.plant_catalogue().tags.column(c).to_pylist()) for c in real}
    for column, seen in real.items():
        assert seen <= ours[column], (column, seen - ours[column])
    real_states = {(r["id_estado"], r["nom_estado"], r["id_subsistema"]) for r in rows}
    catalogue = g.plant_catalogue().tags
    our_states = set(
        zip(
            catalogue.column("id_estado").to_pylist(),
            catalogue.column("nom_estado").to_pylist(),
            catalogue.column("id_subsistema").to_pylist(),
            strict=True,
        )
    )
    assert real_states <= our_states


# --- legacy tables ----------------------------------------------------------------------------


def test_legacy_tables() -> None:
    expected_third = {
        "generation_data": ("energy_source", set(_ENERGY_SOURCES)),
        "consumption_data": ("consumer_type", set(_CONSUMER_TYPES)),
        "transmission_data": ("line_id", {"N-NE", "N-SE", "NE-SE", "SE-S"}),
    }
    for table, (column, allowed) in expected_third.items():
        data = g.generate_day(table, date(2023, 3, 3))
        regions = {"north", "northeast", "southeast"}  # origin of each line
        if table != "transmission_data":
            regions.add("south")
        assert set(data.column("region").to_pylist()) == regions
        assert set(data.column(column).to_pylist()) == allowed
        assert set(data.column("measurement_type").to_pylist()) == {"scheduled", "verified"}
        flags = data.column("quality_flag")
        assert 0 < flags.null_count < 0.15 * data.num_rows
        assert set(pc.drop_null(flags).to_pylist()) <= {"good", "estimated", "suspect"}
        assert data.column("value").null_count == 0
        ns = pc.cast(data.column("time"), pa.int64()).to_numpy()
        assert np.all(ns % 1_000_000 == 0)  # millisecond precision
        assert np.any(ns % 1_000_000_000 != 0)  # with milliseconds actually used
        assert pc.count_distinct(data.column("time")).as_py() == 24
    generation = g.generate_day("generation_data", date(2023, 3, 3))
    nuclear = generation.filter(pc.equal(generation.column("energy_source"), "nuclear"))
    assert set(nuclear.column("region").to_pylist()) == {"southeast"}


# --- raw ONS files ----------------------------------------------------------------------------


REAL_HEADERS = {
    "curva_carga": "curva_carga_2018_excerpt.csv",
    "balanco_subsistema": "balanco_energia_subsistema_2023_excerpt.csv",
    "cmo_semihorario": "cmo_semihorario_2022_excerpt.csv",
    "ear_diario": "ear_diario_subsistema_2023_excerpt.csv",
    "ena_diario": "ena_diario_subsistema_2023_excerpt.csv",
    "intercambio": "intercambio_nacional_2024_excerpt.csv",
    "geracao_usina": "geracao_usina_2021_excerpt.csv",
}


def real_rows(table: str) -> list[list[str]]:
    text = (SAMPLES / REAL_HEADERS[table]).read_bytes().decode("utf-8")
    return [line.split(";") for line in text.splitlines()]


@pytest.mark.parametrize("table", ONS)
def test_raw_header_and_row_order_match_the_real_files(table: str) -> None:
    real = real_rows(table)
    typo = table == "balanco_subsistema"  # the real 2023 file has the typo
    raw = g.generate_raw_ons(table, date(2023, 1, 1), header_typo=typo)
    expected = real[0] + (["val_intercambioprogmwmed"] if table == "intercambio" else [])
    assert raw.column_names == expected
    assert all(pa.types.is_string(c.type) for c in raw.columns)
    time_index = expected.index(schema.table(table).raw_time_column)
    id_index = next((i for i, c in enumerate(expected) if c.startswith("id_subsist")), None)
    if id_index is not None and table != "geracao_usina":
        first = real[1][time_index]
        real_order = [r[id_index] for r in real[1:] if r[time_index] == first]
        ours = raw.column(id_index).to_pylist()[: len(real_order)]
        assert ours == real_order


def test_raw_header_typo_is_optional() -> None:
    assert g.generate_raw_ons("balanco_subsistema", date(2023, 1, 1)).column_names[0] == (
        "id_subsistema"
    )
    typo = g.generate_raw_ons("balanco_subsistema", date(2023, 1, 1), header_typo=True)
    assert typo.column_names[0] == "id_subsistena"
    assert g.raw_columns("curva_carga", header_typo=True)[0] == "id_subsistema"


def test_raw_fixed8_numbers() -> None:
    raw = g.generate_raw_ons("balanco_subsistema", date(2023, 1, 1))
    cells = [
        v
        for name in schema.table("balanco_subsistema").field_names
        for v in raw.column(name).to_pylist()
    ]
    assert all(FIXED8.match(v) for v in cells)
    assert "0E-8" in cells  # SIN interchange and solar at night
    assert any(v.endswith("99999") for v in cells)  # the ONS binary artefact
    assert any(v.startswith("-") for v in cells)
    assert not any(v in ("0.00000000", "-0.00000000") for v in cells)


def test_render_numbers_styles() -> None:
    units = np.array([0, 482807250000, -360000000, 1045581799999, 5169122600000, 100, 11000000000])
    nulls = np.array([False, False, False, False, False, False, True])
    assert g.render_numbers(units, nulls, "fixed8").to_pylist() == [
        "0E-8",
        "4828.07250000",
        "-3.60000000",
        "10455.81799999",
        "51691.22600000",
        "0.00000100",
        "",
    ]
    assert g.render_numbers(units, nulls, "shortest").to_pylist() == [
        "0.0",
        "4828.0725",
        "-3.6",
        "10455.81799999",
        "51691.226",
        "1e-06",
        "",
    ]
    assert g.render_numbers(units, nulls, "float32").to_pylist()[:5] == [
        "0.0",
        "4828.07226562",
        "-3.5999999",
        "10455.81835938",
        "51691.2265625",
    ]
    with pytest.raises(ValueError, match="number style"):
        g.render_numbers(units, nulls, "comma")  # type: ignore[arg-type]


def test_raw_dst_start_hour_options() -> None:
    absent = g.generate_raw_ons("curva_carga", DST_START)
    assert absent.num_rows == 23 * 4
    assert "2018-11-04 00:00:00" not in absent.column("din_instante").to_pylist()
    empty = g.generate_raw_ons("curva_carga", DST_START, dst_gap="empty")
    assert empty.num_rows == 24 * 4
    gap = empty.filter(pc.equal(empty.column("din_instante"), "2018-11-04 00:00:00"))
    assert gap.column("id_subsistema").to_pylist() == ["N", "NE", "S", "SE"]  # as in 2018
    assert gap.column("val_cargaenergiahomwmed").to_pylist() == ["", "", "", ""]
    half_hourly = g.generate_raw_ons("cmo_semihorario", DST_START, dst_gap="empty")
    assert half_hourly.num_rows == 48 * 4


def test_raw_repeated_hour_options() -> None:
    dropped = g.generate_raw_ons("curva_carga", DST_END)
    labels = dropped.column("din_instante").to_pylist()
    assert len(labels) == 24 * 4 and labels.count("2018-02-17 23:00:00") == 4  # as ONS
    repeated = g.generate_raw_ons("curva_carga", DST_END, repeated_hour="repeat")
    assert repeated.column("din_instante").to_pylist().count("2018-02-17 23:00:00") == 8


def test_raw_padded_codes_option() -> None:
    plain = g.generate_raw_ons("geracao_usina", date(2021, 1, 1))
    padded = g.generate_raw_ons("geracao_usina", date(2021, 1, 1), padded_codes=True)
    for name in ("id_subsistema", "id_estado", "id_ons"):
        column = padded.column(name)
        is_padded = pc.ends_with(column, " ").to_numpy(zero_copy_only=False)
        assert 0.02 < is_padded.mean() < 0.3
        assert pc.utf8_rtrim_whitespace(column).equals(plain.column(name))
    assert padded.column("nom_usina").equals(plain.column("nom_usina"))
    assert not pc.any(pc.ends_with(plain.column("id_ons"), " ")).as_py()


def test_raw_daily_dates() -> None:
    raw = g.generate_raw_ons("ear_diario", DST_START)
    assert raw.column("ear_data").to_pylist() == ["2018-11-04"] * 4
    timed = g.generate_raw_ons("ena_diario", DST_START, daily_time=True)
    assert timed.column("ena_data").to_pylist() == ["2018-11-04 00:00:00"] * 4


def test_raw_rejects_legacy_tables() -> None:
    with pytest.raises(ValueError, match="not an ONS dataset"):
        g.generate_raw_ons("generation_data", date(2023, 1, 1))


def parse_raw(raw: pa.Table, table: str) -> pa.Table:
    """An independent reader: raw ONS strings → canonical rows (as a loader would)."""
    spec = schema.table(table)
    raw = raw.rename_columns([spec.raw_renames.get(n, n) for n in raw.column_names])
    parsed = ons_time.parse_local(
        raw.column(spec.raw_time_column), daily=spec.grain >= timedelta(days=1)
    )
    columns: dict[str, pa.Array | pa.ChunkedArray] = {"time": parsed.utc}
    for tag in spec.tags:
        columns[tag] = pc.utf8_rtrim_whitespace(raw.column(tag))
    keep = ~parsed.nonexistent
    any_value = np.zeros(raw.num_rows, dtype=bool)
    for name in spec.field_names:
        text = raw.column(name)
        number = pc.cast(
            pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text), pa.float64()
        )
        columns[name] = number
        any_value |= pc.is_valid(number).to_numpy(zero_copy_only=False)
    result = pa.table(columns).filter(pa.array(keep & any_value))
    return result.cast(spec.arrow_schema()).sort_by(sort_keys(table))


def without_repeated_hour(data: pa.Table) -> pa.Table:
    """Drop the second occurrence of a fall-back hour (ONS files show it once)."""
    times = data.column("time")
    labels = ons_time.format_local(times)
    earlier = ons_time.format_local(pc.subtract(times, pa.scalar(timedelta(hours=1))))
    return data.filter(pc.invert(pc.equal(labels, earlier)))


@pytest.mark.parametrize("table", ONS)
@pytest.mark.parametrize("day", [DST_START, DST_END, date(2023, 1, 1)])
@pytest.mark.parametrize("style", ["fixed8", "shortest"])
def test_raw_parses_back_to_canonical_exactly(table: str, day: date, style: str) -> None:
    raw = g.generate_raw_ons(
        table,
        day,
        seed=5,
        number_style=style,  # type: ignore[arg-type]
        dst_gap="empty",
        padded_codes=True,
        header_typo=True,
    )
    canonical = without_repeated_hour(g.generate_day(table, day, seed=5))
    assert parse_raw(raw, table).equals(canonical)


def test_raw_repeat_mode_parses_to_the_full_day_except_the_resolved_hour() -> None:
    raw = g.generate_raw_ons("curva_carga", DST_END, repeated_hour="repeat")
    parsed = ons_time.parse_local(raw.column("din_instante"))
    assert parsed.ambiguous.sum() == 8  # both occurrences resolve to the first


def test_raw_float32_style_is_close() -> None:
    raw = g.generate_raw_ons("ear_diario", date(2023, 1, 1), number_style="float32", null_rate=0.0)
    canonical = g.generate_day("ear_diario", date(2023, 1, 1), null_rate=0.0)
    order = [
        canonical.column("id_subsistema").to_pylist().index(s)
        for s in raw.column("id_subsistema").to_pylist()
    ]
    for name in schema.table("ear_diario").field_names:
        parsed = np.array([float(v) for v in raw.column(name).to_pylist()])
        expected = values(canonical, name)[order]
        np.testing.assert_allclose(parsed, expected, rtol=1e-7)
        assert all(re.match(r"^\d+\.\d{1,8}$", v) for v in raw.column(name).to_pylist())


# --- writers ----------------------------------------------------------------------------------


def test_write_csv_lf_and_crlf(tmp_path: Path) -> None:
    days = [
        g.generate_raw_ons("curva_carga", date(2023, 1, 1) + timedelta(days=i)) for i in range(2)
    ]
    lf, crlf = tmp_path / "lf.csv", tmp_path / "crlf.csv"
    assert g.write_ons_csv(days, lf) == 192
    assert g.write_ons_csv(days, crlf, crlf=True) == 192
    data = lf.read_bytes()
    assert b"\r" not in data and data.count(b"\n") == 193 and b'"' not in data
    assert data.startswith(b"id_subsistema;nom_subsistema;din_instante;val_cargaenergiahomwmed\n")
    assert crlf.read_bytes() == data.replace(b"\n", b"\r\n")
    names = days[0].column_names
    read = pacsv.read_csv(
        lf,
        parse_options=pacsv.ParseOptions(delimiter=";"),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names}, strings_can_be_null=False
        ),
    )
    assert read.equals(pa.concat_tables(days))


def test_write_csv_utf8_plant_names(tmp_path: Path) -> None:
    path = tmp_path / "usinas.csv"
    g.write_ons_csv([g.generate_raw_ons("geracao_usina", date(2021, 1, 1))], path)
    text = path.read_text(encoding="utf-8")
    assert "HIDROELÉTRICA" in text and "São Salvador" in text
    assert "Usina Solar Sol do Sertão, Fase 2" in text
    assert all(line.count(";") == 11 for line in text.splitlines())


def test_write_csv_rejects_separator_in_values(tmp_path: Path) -> None:
    bad = pa.table({"a": ["x;y"]})
    with pytest.raises(ValueError, match="';' or a line break"):
        g.write_ons_csv([bad], tmp_path / "bad.csv")


def test_generate_ons_file_csv_and_parquet(tmp_path: Path) -> None:
    csv_path = tmp_path / "cmo.csv"
    rows = g.generate_ons_file("cmo_semihorario", DST_START, 2, csv_path, seed=1, dst_gap="empty")
    assert rows == (48 + 48) * 4
    assert csv_path.read_text().count("\n") == rows + 1
    parquet_path = tmp_path / "cmo.parquet"
    assert (
        g.generate_ons_file(
            "cmo_semihorario", DST_START, 2, parquet_path, fmt="parquet", seed=1, dst_gap="empty"
        )
        == rows
    )
    typed = pq.read_table(parquet_path)
    assert typed.schema.field("din_instante").type == pa.timestamp("ns")
    assert typed.schema.field("val_cmo").type == pa.float64()
    canonical = pa.concat_tables(
        g.generate_day("cmo_semihorario", DST_START + timedelta(days=i), seed=1) for i in range(2)
    )
    assert sorted(pc.drop_null(typed.column("val_cmo")).to_pylist()) == sorted(
        pc.drop_null(canonical.column("val_cmo")).to_pylist()
    )
    strings = tmp_path / "strings.parquet"
    g.generate_ons_file("ear_diario", DST_START, 3, strings, fmt="parquet", typed=False)
    assert pq.read_table(strings).schema.field("ear_max_subsistema").type == pa.string()
    with pytest.raises(ValueError, match="format"):
        g.generate_ons_file("ear_diario", DST_START, 1, tmp_path / "x", fmt="xlsx")  # type: ignore[arg-type]


# --- performance and memory -------------------------------------------------------------------


def test_geracao_usina_day_is_fast() -> None:
    g.generate_day("geracao_usina", date(2020, 1, 1))  # catalogue, tz tables
    timings = []
    for offset in range(1, 12):
        day = date(2020, 1, 1) + timedelta(days=offset)
        started = time.perf_counter()
        data = g.generate_day("geracao_usina", day)
        timings.append(time.perf_counter() - started)
        assert data.num_rows > 300 * 24 * 0.99
    assert sorted(timings)[len(timings) // 2] < 0.05


def test_a_year_of_geracao_usina_streams_in_bounded_memory() -> None:
    start = ons_time.local_day_start_utc(date(2018, 1, 1))
    end = ons_time.local_day_start_utc(date(2019, 1, 1))
    pool = pa.proxy_memory_pool(pa.default_memory_pool())
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pool)
    tracemalloc.start()
    try:
        days = rows = biggest = 0
        for chunk in g.generate_canonical("geracao_usina", start, end):
            days += 1
            rows += chunk.num_rows
            biggest = max(biggest, chunk.nbytes)
            del chunk
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        pa.set_memory_pool(previous)
    assert days == 365
    assert rows > 365 * 24 * 500 * 0.99
    year_bytes = biggest * days
    assert python_peak < 64 * 2**20, python_peak
    assert pool.max_memory() < 64 * 2**20, pool.max_memory()
    assert python_peak + pool.max_memory() < year_bytes / 10
