"""Canonical tables: one dense generation day per table (ONS and legacy), then its records."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ons_pipeline.lib import ons_time
from ons_pipeline.lib.schema import TIME_COLUMN, MeasureType, Source, TableSpec
from ons_pipeline.lib.schema import table as table_spec
from ons_pipeline.local.generator.climate import (
    EAR_MAX,
    ENA_MLT,
    ENA_STORABLE_MLT_SHARE,
    NAMES,
    SUB_INDEX,
    SUBSYSTEMS,
    seeded_rng,
    smooth,
    wetness,
)
from ons_pipeline.local.generator.plants import PLANT_TAGS, plant_catalogue
from ons_pipeline.local.generator.system import (
    DAY_NS,
    PAIRS,
    ear_percent,
    load_shape,
    local_hours,
    system_day,
    to_milli,
)

NULL_RATE = 0.002
ARTEFACT_RATE = 0.15
UNITS_PER_ONE = 100_000_000  # canonical values are integers of 1e-8

_BALANCO_NAMES = {**NAMES, "SE": "SUDESTE/CENTRO-OESTE", "SIN": "SISTEMA INTERLIGADO NACIONAL"}
# the daily carga file writes the names in mixed case (CARGA_ENERGIA_2013/2014/2024)
_DAILY_LOAD_NAMES = {"N": "Norte", "NE": "Nordeste", "S": "Sul", "SE": "Sudeste/Centro-Oeste"}
# ONS datasets the generator models (by table name); other tables get generic series
ONS_MODELS = frozenset(
    {
        "curva_carga",
        "balanco_subsistema",
        "intercambio",
        "geracao_usina",
        "cmo_semihorario",
        "ear_diario",
        "ena_diario",
        "cmo_semanal",
        "carga_energia",
    }
)
LEGACY_MODELS = frozenset({"generation_data", "consumption_data", "transmission_data"})

# Legacy platform (ons_energy_data): English region names, one dataset per table.
_REGIONS = {"N": "north", "NE": "northeast", "S": "south", "SE": "southeast"}
_QUALITY_FLAGS = ("good", "estimated", "suspect")
_QUALITY_P = (0.92, 0.03, 0.01)  # the rest (0.04) is NULL
_LEGACY_DATASET = {
    "generation_data": "balanco_energia_subsistema",
    "consumption_data": "curva_carga",
    "transmission_data": "intercambio_nacional",
}
_MEASUREMENT_TYPES = ("scheduled", "verified")
_ENERGY_SOURCES = ("hydro", "nuclear", "solar", "thermal", "wind")
_CONSUMER_TYPES = ("commercial", "industrial", "residential")


# --- per-table dense day ----------------------------------------------------------------------


@dataclass
class _Dense:
    """One generation day of a table: every (instant, series) cell, NULLs included."""

    spec: TableSpec
    times: np.ndarray  # (H,) UTC ns
    series: dict[str, pa.Array]  # tag -> (S,), series sorted by the tags
    values: dict[str, np.ndarray]  # field -> (H, S) integers of 1e-8
    nulls: dict[str, np.ndarray]  # field -> (H, S)
    row_tags: dict[str, pa.Array] = field(default_factory=dict)  # tag -> (H*S,)

    @property
    def n_series(self) -> int:
        return len(next(iter(self.series.values())))


def _subsystem_series(names: Mapping[str, str], ids: Iterable[str]) -> dict[str, pa.Array]:
    ids = list(ids)
    return {
        "id_subsistema": pa.array(ids, pa.string()),
        "nom_subsistema": pa.array([names[i] for i in ids], pa.string()),
    }


def _ons_values(
    milli_by_field: Mapping[str, np.ndarray],
    rng: np.random.Generator,
    null_rate: float,
    scale: Mapping[str, int] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(H, S) integers (1e-3 or ``scale`` units) → 1e-8 units with artefacts, and NULL masks."""
    values: dict[str, np.ndarray] = {}
    nulls: dict[str, np.ndarray] = {}
    for name, data in milli_by_field.items():
        units = (scale or {}).get(name, 1000)
        m = np.asarray(data, dtype=np.int64) * (UNITS_PER_ONE // units)
        artefact = (rng.random(m.shape) < ARTEFACT_RATE) & (m != 0)
        values[name] = m - np.sign(m) * artefact
        nulls[name] = rng.random(m.shape) < null_rate
    return values, nulls


def dense_ons(
    table: str, day: date, seed: int, null_rate: float, spec: TableSpec | None = None
) -> _Dense:
    spec = spec or table_spec(table)
    rng = seeded_rng(seed, table, day.isoformat())
    system = system_day(seed, day)
    subs = list(SUBSYSTEMS)
    day_start = np.array([ons_time.to_ns(ons_time.local_day_start_utc(day))], dtype=np.int64)
    if table == "curva_carga":
        values, nulls = _ons_values({"val_cargaenergiahomwmed": system.load.T}, rng, null_rate)
        return _Dense(spec, system.times, _subsystem_series(NAMES, subs), values, nulls)
    if table == "balanco_subsistema":
        parts = [
            system.hydro,
            system.thermal,
            system.wind,
            system.solar,
            system.load,
            system.interchange,
        ]
        data = {
            name: np.vstack([p, p.sum(axis=0)]).T
            for name, p in zip(spec.field_names, parts, strict=True)
        }
        values, nulls = _ons_values(data, rng, null_rate)
        series = _subsystem_series(_BALANCO_NAMES, [*subs, "SIN"])
        return _Dense(spec, system.times, series, values, nulls)
    if table == "intercambio":
        series = {
            "id_subsistema_origem": pa.array([o for o, _ in PAIRS]),
            "nom_subsistema_origem": pa.array([NAMES[o] for o, _ in PAIRS]),
            "id_subsistema_destino": pa.array([d for _, d in PAIRS]),
            "nom_subsistema_destino": pa.array([NAMES[d] for _, d in PAIRS]),
        }
        data = {
            "val_intercambiomwmed": system.flows.T,
            "val_intercambioprogmwmed": system.flows_scheduled.T,
        }
        values, nulls = _ons_values(data, rng, null_rate)
        return _Dense(spec, system.times, series, values, nulls)
    if table == "geracao_usina":
        cat = plant_catalogue()
        series = {name: cat.tags.column(name).combine_chunks() for name in PLANT_TAGS}
        values, nulls = _ons_values({"val_geracao": system.plants.T}, rng, null_rate)
        return _Dense(spec, system.times, series, values, nulls)
    if table == "cmo_semihorario":
        return _dense_cmo(spec, day, seed, rng, null_rate)
    if table == "cmo_semanal":
        return _dense_cmo_weekly(spec, day, seed, rng, null_rate)
    if table == "carga_energia":
        hours = system.load.shape[1]
        # the day's mean of the hourly load, to 1e-8 as ONS writes it (3707.89958333)
        total = system.load.sum(axis=1) * (UNITS_PER_ONE // 1000)
        mean = (2 * total + hours) // (2 * hours)
        data = {"val_cargaenergiamwmed": mean[None, :]}
        values, nulls = _ons_values(data, rng, null_rate, {"val_cargaenergiamwmed": UNITS_PER_ONE})
        return _Dense(spec, day_start, _subsystem_series(_DAILY_LOAD_NAMES, subs), values, nulls)
    if table == "ear_diario":
        percent = ear_percent(seed, day) + rng.normal(0, 0.1, 4)
        maximum = to_milli(EAR_MAX)
        stored = to_milli(np.clip(percent, 1, 99) / 100 * EAR_MAX)
        exact = np.rint(stored / maximum * 100 * 1000).astype(np.int64)
        data = {
            "ear_max_subsistema": maximum[None, :],
            "ear_verif_subsistema_mwmes": stored[None, :],
            "ear_verif_subsistema_percentual": exact[None, :],
        }
        values, nulls = _ons_values(data, rng, null_rate)
        return _Dense(spec, day_start, _subsystem_series(NAMES, subs), values, nulls)
    if table == "ena_diario":
        anomaly = np.array([smooth(seed, f"ena-{s}", day) for s in SUBSYSTEMS])
        percent = 100 * np.exp(0.35 * anomaly + rng.normal(0, 0.07, 4))
        mlt = ENA_MLT[:, day.month - 1]
        gross = to_milli(mlt * percent / 100)
        storable = to_milli(gross / 1000 * rng.uniform(0.88, 0.99, 4))
        gross_pct = np.rint(gross / 1000 / mlt * 100 * 10_000).astype(np.int64)
        storable_pct = np.rint(
            storable / 1000 / (mlt * ENA_STORABLE_MLT_SHARE) * 100 * 10_000
        ).astype(np.int64)
        data = {
            "ena_bruta_regiao_mwmed": gross[None, :],
            "ena_bruta_regiao_percentualmlt": gross_pct[None, :],
            "ena_armazenavel_regiao_mwmed": storable[None, :],
            "ena_armazenavel_regiao_percentualmlt": storable_pct[None, :],
        }
        scale = {
            "ena_bruta_regiao_percentualmlt": 10_000,
            "ena_armazenavel_regiao_percentualmlt": 10_000,
        }
        values, nulls = _ons_values(data, rng, null_rate, scale)
        return _Dense(spec, day_start, _subsystem_series(NAMES, subs), values, nulls)
    raise ValueError(f"no generator for ONS table {table!r}")


def _cmo_cost(day: date, seed: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The half-hourly marginal cost of a local day, in cents (H, 4), and its instants."""
    times = ons_time.local_grid_utc_ns(day, timedelta(minutes=30))
    shape = load_shape(local_hours(times) + 0.25, day)
    se = SUB_INDEX["SE"]
    stress = 1 - ear_percent(seed, day)[se] / 100
    dryness = 1 - wetness(seed, day)[se]
    base_se = (15 + 650 * stress**2.2) * np.exp(rng.normal(0, 0.35)) * (0.6 + 0.8 * dryness)
    if dryness < 0.25 and rng.random() < 0.5:
        base_se = rng.uniform(0, 8)
    ratio = np.array(
        [
            rng.uniform(0.5, 1.0),
            rng.uniform(0.4, 1.0),
            1.0 if rng.random() < 0.8 else rng.uniform(0.6, 1.3),
            1.0,
        ]
    )
    base = base_se * ratio
    cost = (
        base[None, :]
        * (1 + 0.35 * (shape[:, None] - 1))
        * (1 + rng.normal(0, 0.02, (times.size, 4)))
    )
    negative_day = rng.random(4) < 0.03
    cost = np.where(
        negative_day[None, :], cost + rng.normal(-2, 2.5, cost.shape), np.clip(cost, 0, None)
    )
    return np.rint(np.clip(cost, -50, 1500) * 100).astype(np.int64), times


def _dense_cmo(
    spec: TableSpec, day: date, seed: int, rng: np.random.Generator, null_rate: float
) -> _Dense:
    """Marginal cost (R$/MWh): high when reservoirs are low, near 0 (rarely < 0) when wet."""
    cents, times = _cmo_cost(day, seed, rng)
    values, nulls = _ons_values({"val_cmo": cents}, rng, null_rate, {"val_cmo": 100})
    return _Dense(spec, times, _subsystem_series(NAMES, SUBSYSTEMS), values, nulls)


# Share of a week's hours in each load level (patamar), lightest first, and the cost ranks that
# fall in each: the light level holds the cheapest half-hours, the heavy one the dearest.
_PATAMARES = (("val_cmoleve", 0.35), ("val_cmomedia", 0.45), ("val_cmopesada", 0.20))


def _dense_cmo_weekly(
    spec: TableSpec, day: date, seed: int, rng: np.random.Generator, null_rate: float
) -> _Dense:
    """Weekly marginal cost per load level (leve, média, pesada) and its hour-weighted mean, one
    row per operating week (Saturday to Friday) on its Friday, as ONS publishes CMO semanal;
    from the same half-hourly costs as ``cmo_semihorario``."""
    series = _subsystem_series(NAMES, SUBSYSTEMS)
    if day.weekday() != 4:  # not a Friday: no row
        empty = np.zeros((0, len(SUBSYSTEMS)), np.int64)
        fields = [name for name, _ in _PATAMARES] + ["val_cmomediasemanal"]
        return _Dense(
            spec,
            np.zeros(0, np.int64),
            series,
            {f: empty for f in fields},
            {f: empty.astype(bool) for f in fields},
        )
    week = [day - timedelta(days=k) for k in range(6, -1, -1)]
    # per day, its cheapest half-hours make the light level and its dearest the heavy one; a
    # level's weekly cost is the mean of its days' (DECOMP's levels group hours of like load)
    sums = {name: np.zeros(len(SUBSYSTEMS)) for name, _ in _PATAMARES}
    for d in week:
        ranked = np.sort(
            _cmo_cost(d, seed, seeded_rng(seed, "cmo_semihorario", d.isoformat()))[0], axis=0
        )
        start = 0
        for name, share in _PATAMARES:
            stop = len(ranked) if name == "val_cmopesada" else start + round(share * len(ranked))
            sums[name] += ranked[start:stop].mean(axis=0)
            start = stop
    levels = {name: np.rint(total / len(week)).astype(np.int64) for name, total in sums.items()}
    weighted = sum(levels[name] * share for name, share in _PATAMARES)
    levels["val_cmomediasemanal"] = np.rint(weighted).astype(np.int64)
    data = {name: levels[name][None, :] for name in spec.field_names}
    values, nulls = _ons_values(data, rng, null_rate, dict.fromkeys(data, 100))
    friday = np.array([ons_time.to_ns(ons_time.local_day_start_utc(day))], dtype=np.int64)
    return _Dense(spec, friday, series, values, nulls)


def _dense_legacy(table: str, day: date, seed: int, spec: TableSpec | None = None) -> _Dense:
    """One UTC day of a legacy table, from the two local system days that cover it."""
    spec = spec or table_spec(table)
    rng = seeded_rng(seed, table, day.isoformat())
    days = [system_day(seed, day - timedelta(days=1)), system_day(seed, day)]
    start, _ = ons_time.utc_day_bounds(day)
    start_ns = ons_time.to_ns(start)
    times = np.concatenate([d.times for d in days])
    keep = (times >= start_ns) & (times < start_ns + DAY_NS)

    def hourly(attribute: str) -> np.ndarray:
        return np.concatenate([getattr(d, attribute) for d in days], axis=1)[:, keep]

    hours = int(keep.sum())
    rows: list[tuple[str, ...]] = []
    columns: list[np.ndarray] = []
    dataset = _LEGACY_DATASET[table]
    third = next(
        t
        for t in spec.tags
        if t not in ("region", "dataset_type", "measurement_type", "quality_flag")
    )
    if table == "generation_data":
        thermal = hourly("thermal") - hourly("nuclear")
        by_source = {
            "hydro": hourly("hydro"),
            "nuclear": hourly("nuclear"),
            "solar": hourly("solar"),
            "thermal": thermal,
            "wind": hourly("wind"),
        }
        for sub in sorted(SUBSYSTEMS, key=_REGIONS.__getitem__):
            for source in _ENERGY_SOURCES:
                series = by_source[source][SUB_INDEX[sub]]
                if source == "nuclear" and sub != "SE":  # Angra is the only nuclear plant
                    continue
                rows.append((_REGIONS[sub], source))
                columns.append(series)
    elif table == "consumption_data":
        load = hourly("load")
        local_hour = local_hours(times[keep]) + 0.5
        evening = np.exp(-(((local_hour - 20.0) / 3.0) ** 2))
        daytime = np.exp(-(((local_hour - 14.0) / 4.0) ** 2))
        shares = {"residential": 0.28 + 0.12 * evening, "commercial": 0.18 + 0.1 * daytime}
        for sub in sorted(SUBSYSTEMS, key=_REGIONS.__getitem__):
            region_load = load[SUB_INDEX[sub]]
            residential = to_milli(region_load * shares["residential"] / 1000)
            commercial = to_milli(region_load * shares["commercial"] / 1000)
            split = {
                "commercial": commercial,
                "industrial": region_load - residential - commercial,
                "residential": residential,
            }
            for consumer in _CONSUMER_TYPES:
                rows.append((_REGIONS[sub], consumer))
                columns.append(split[consumer])
    elif table == "transmission_data":
        flows = hourly("flows")
        for index, (origin, destination) in enumerate(PAIRS):
            rows.append((_REGIONS[origin], f"{origin}-{destination}"))
            columns.append(flows[index])
    else:
        raise ValueError(f"no generator for legacy table {table!r}")
    verified = np.stack(columns, axis=1)  # (H, n)
    noise = 1 + rng.normal(0, 0.03, verified.shape)
    scheduled = np.rint(verified * noise).astype(np.int64)
    if table != "transmission_data":
        scheduled = np.clip(scheduled, 0, None)
    series_rows = [
        (region, dataset, key, kind) for region, key in rows for kind in _MEASUREMENT_TYPES
    ]
    milli = np.stack([scheduled, verified], axis=2).reshape(hours, -1)
    tags = ("region", "dataset_type", third, "measurement_type")
    series = {t: pa.array([r[i] for r in series_rows], pa.string()) for i, t in enumerate(tags)}
    n = len(series_rows)
    flags = rng.choice(
        len(_QUALITY_FLAGS) + 1, size=hours * n, p=[*_QUALITY_P, 1 - sum(_QUALITY_P)]
    )
    flag_array = pa.array(
        np.array([*_QUALITY_FLAGS, ""], dtype=object)[flags],
        pa.string(),
        mask=flags == len(_QUALITY_FLAGS),
    )
    offsets_ms = rng.integers(1, 1000, hours)  # the platform stamped rows with milliseconds
    stamp = times[keep] + offsets_ms * 1_000_000
    values = {"value": milli * (UNITS_PER_ONE // 1000)}
    nulls = {"value": np.zeros(milli.shape, dtype=bool)}
    return _Dense(spec, stamp, series, values, nulls, {"quality_flag": flag_array})


def _spec(table: str | TableSpec) -> TableSpec:
    return table if isinstance(table, TableSpec) else table_spec(table)


def _model(spec: TableSpec) -> str:
    """How the generator makes a table: ``ons`` and ``legacy`` models by name, else ``generic``."""
    if spec.source is Source.LEGACY and spec.name in LEGACY_MODELS:
        return "legacy"
    if spec.source is Source.ONS and spec.name in ONS_MODELS:
        return "ons"
    return "generic"


def _dense(spec: TableSpec, day: date, seed: int, null_rate: float) -> _Dense:
    if _model(spec) == "legacy":
        return _dense_legacy(spec.name, day, seed, spec)
    return dense_ons(spec.name, day, seed, null_rate, spec)


_GENERIC_WORDS = ("ok", "warning", "alarm", "maintenance")


def generic_day(
    spec: TableSpec, day: date, seed: int = 0, null_rate: float = NULL_RATE
) -> pa.Table:
    """One UTC day of a table the generator has no model for (a user's or a discovered table):
    ``series`` series (capped at 1000) whose tag values are ``<tag>-<k>`` (an optional tag is
    NULL on every third series), one row per series at each step of the grain from 00:00 UTC (a
    grain of days: one row on the UTC days that are a multiple of it since 1970-01-01), and
    values by type — DOUBLE a noisy level with 3 decimals, BIGINT counts, VARCHAR states,
    BOOLEAN flags, TIMESTAMP instants within the step — each NULL at ``null_rate`` (a row keeps
    at least one value)."""
    rng = seeded_rng(seed, "generic", spec.name, day.isoformat())
    start_ns = ons_time.to_ns(ons_time.utc_day_bounds(day)[0])
    step_ns = int(spec.grain.total_seconds()) * ons_time.NS_PER_SECOND
    if step_ns >= DAY_NS:
        epoch_days = (day - date(1970, 1, 1)).days
        times = np.array([start_ns] if epoch_days % (step_ns // DAY_NS) == 0 else [], np.int64)
    else:
        times = start_ns + np.arange(DAY_NS // step_ns, dtype=np.int64) * step_ns
    n = min(spec.series, 1000)
    rows = times.size * n
    columns: dict[str, pa.Array] = {TIME_COLUMN: pa.array(np.repeat(times, n), ons_time.UTC_NS)}
    series_index = np.tile(np.arange(n), times.size)
    for tag in spec.tags:
        values = np.array([f"{tag}-{k:03d}" for k in range(n)], dtype=object)[series_index]
        missing = (series_index % 3 == 2) if tag in spec.optional_tags else None
        columns[tag] = pa.array(values, pa.string(), mask=missing)
    nulls = {f.name: rng.random(rows) < null_rate for f in spec.fields}
    if spec.fields:
        first = spec.fields[0].name
        nulls[first] &= ~np.logical_and.reduce([nulls[f.name] for f in spec.fields])
    level = rng.uniform(10, 1000, n)[series_index]
    for f in spec.fields:
        if f.type is MeasureType.DOUBLE:
            raw = np.rint(level * (1 + rng.normal(0, 0.05, rows)) * 1000) / 1000
        elif f.type is MeasureType.BIGINT:
            raw = rng.integers(0, 100_000, rows)
        elif f.type is MeasureType.VARCHAR:
            raw = np.array(_GENERIC_WORDS, dtype=object)[rng.integers(0, 4, rows)]
        elif f.type is MeasureType.BOOLEAN:
            raw = rng.random(rows) < 0.5
        else:  # TIMESTAMP
            raw = np.repeat(times, n) + rng.integers(0, step_ns, rows)
        columns[f.name] = pa.array(raw, f.type.arrow_type, mask=nulls[f.name])
    table = pa.Table.from_pydict(columns, schema=spec.arrow_schema())
    return table.sort_by([(TIME_COLUMN, "ascending"), *((t, "ascending") for t in spec.tags)])


def _canonical(dense: _Dense, first: int, last: int) -> pa.Table:
    """Rows of instants ``[first, last)`` as a canonical table (all-NULL rows dropped)."""
    spec = dense.spec
    n = dense.n_series
    hours = last - first
    series_index = pa.array(np.tile(np.arange(n), hours))
    arrays: list[pa.Array] = [pa.array(np.repeat(dense.times[first:last], n), ons_time.UTC_NS)]
    for tag in spec.tags:
        if tag in dense.row_tags:
            arrays.append(dense.row_tags[tag][first * n : last * n])
        else:
            arrays.append(dense.series[tag].take(series_index))
    all_null = np.ones(hours * n, dtype=bool)
    for name in spec.field_names:
        mask = dense.nulls[name][first:last].ravel()
        values = dense.values[name][first:last].ravel() / UNITS_PER_ONE
        arrays.append(pa.array(values, pa.float64(), mask=mask))
        all_null &= mask
    result = pa.Table.from_arrays(arrays, schema=spec.arrow_schema())
    if all_null.any():
        result = result.filter(pa.array(~all_null))
    return result


# --- public API: canonical --------------------------------------------------------------------


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def generation_days(table: str | TableSpec, start: datetime, end: datetime) -> list[date]:
    """Generation days overlapping ``[start, end)``: local days (ONS models) or UTC days."""
    start, end = _aware(start), _aware(end)
    if _model(_spec(table)) != "ons":
        if end <= start:
            return []
        first = start.astimezone(UTC).date()
        last = (end.astimezone(UTC) - timedelta(microseconds=1)).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return ons_time.local_days(start, end)


def generate_canonical(
    table: str | TableSpec,
    start: datetime,
    end: datetime,
    seed: int = 0,
    *,
    null_rate: float = NULL_RATE,
) -> Iterator[pa.Table]:
    """Canonical records with time in ``[start, end)``, one table per generation day.

    ``table``: a name of the mapping, or a spec. Naive datetimes are taken as UTC. Empty days
    are not yielded. Memory is bounded by one day.
    """
    spec = _spec(table)
    start, end = _aware(start), _aware(end)
    start_ns, end_ns = ons_time.to_ns(start), ons_time.to_ns(end)
    for day in generation_days(spec, start, end):
        if _model(spec) == "generic":
            whole = generic_day(spec, day, seed, null_rate)
            times = pc.cast(whole.column(TIME_COLUMN), pa.int64())
            keep = pc.and_(pc.greater_equal(times, start_ns), pc.less(times, end_ns))
            result = whole.filter(keep)
            if result.num_rows:
                yield result
            continue
        dense = _dense(spec, day, seed, null_rate)
        first, last = np.searchsorted(dense.times, [start_ns, end_ns], side="left")
        if last > first:
            result = _canonical(dense, int(first), int(last))
            if result.num_rows:
                yield result


def generate_day(
    table: str | TableSpec, day: date, seed: int = 0, *, null_rate: float = NULL_RATE
) -> pa.Table:
    """All canonical records of one generation day (local day for ONS, UTC day otherwise)."""
    spec = _spec(table)
    if _model(spec) == "generic":
        return generic_day(spec, day, seed, null_rate)
    dense = _dense(spec, day, seed, null_rate)
    return _canonical(dense, 0, dense.times.size)
