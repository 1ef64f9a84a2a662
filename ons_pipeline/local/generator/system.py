"""The simulated power system of one local day, hourly, that every table is drawn from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import numpy as np

from ons_pipeline.lib import ons_time
from ons_pipeline.local.generator.climate import (
    EAR_AMPLITUDE,
    EAR_MID,
    EAR_PEAK_DOY,
    HOLIDAYS,
    HYDRO_BASE,
    HYDRO_MAX_USE,
    HYDRO_SLOPE,
    LATITUDE,
    LOAD_MW,
    LONGITUDE,
    SUB_INDEX,
    SUBSYSTEMS,
    WEEKDAY_SHAPE,
    growth_factor,
    season,
    seeded_rng,
    smooth,
    wetness,
)
from ons_pipeline.local.generator.plants import plant_catalogue

HOUR_NS = 3_600 * ons_time.NS_PER_SECOND
DAY_NS = ons_time.NS_PER_DAY

# Directed interchange pairs (origin, destination); a positive value flows origin → destination.
PAIRS = (("N", "NE"), ("N", "SE"), ("NE", "SE"), ("SE", "S"))


@dataclass(frozen=True)
class _SystemDay:
    """Hourly state of the SIN over one local day; MW values are integers of 1e-3 MW."""

    times: np.ndarray  # (H,) UTC ns
    load: np.ndarray  # (4, H)
    hydro: np.ndarray  # (4, H)
    thermal: np.ndarray  # (4, H) nuclear included, as in the ONS balanço
    nuclear: np.ndarray  # (4, H)
    wind: np.ndarray  # (4, H)
    solar: np.ndarray  # (4, H)
    flows: np.ndarray  # (4 pairs, H)
    flows_scheduled: np.ndarray  # (4 pairs, H)
    plants: np.ndarray  # (P, H)

    @property
    def interchange(self) -> np.ndarray:
        """Net export per subsystem (4, H): generation − load."""
        return self.hydro + self.thermal + self.wind + self.solar - self.load


def _day_type(day: date) -> int:
    if (day.month, day.day) in HOLIDAYS or day.weekday() == 6:
        return 2
    return 1 if day.weekday() == 5 else 0


def load_shape(local_hour: np.ndarray, day: date) -> np.ndarray:
    """Relative load at fractional local clock hours (mean about 1 on working days)."""
    shape = np.interp(local_hour, np.arange(25), np.append(WEEKDAY_SHAPE, WEEKDAY_SHAPE[0]))
    kind = _day_type(day)
    if kind == 1:
        return 0.93 * (1 + 0.7 * (shape - 1))
    if kind == 2:
        return 0.85 * (1 + 0.5 * (shape - 1))
    return shape


def local_hours(times: np.ndarray) -> np.ndarray:
    local = ons_time.utc_ns_to_local_ns(times)
    return np.mod(local, DAY_NS) / HOUR_NS


def _irradiance(mid_utc_ns: np.ndarray, day: date) -> np.ndarray:
    """Clear-sky irradiance per subsystem (4, H) in [0, 1]; exactly 0 at night."""
    utc_hour = np.mod(mid_utc_ns, DAY_NS) / HOUR_NS
    solar_time = utc_hour[None, :] + LONGITUDE[:, None] / 15.0
    hour_angle = np.radians(15.0 * (solar_time - 12.0))
    declination = np.radians(-23.44 * season(day, -10.0))
    lat = LATITUDE[:, None]
    sin_elevation = np.sin(lat) * np.sin(declination) + np.cos(lat) * np.cos(declination) * np.cos(
        hour_angle
    )
    return np.where(sin_elevation > 0.05, np.clip(sin_elevation, 0, 1) ** 1.25, 0.0)


def to_milli(values: np.ndarray) -> np.ndarray:
    return np.rint(values * 1000.0).astype(np.int64)


def _fill(total: np.ndarray, weights: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """Split totals (H,) by weights (n,), moving what exceeds ``limits`` (n,) to the others."""
    parts = (weights / weights.sum())[:, None] * np.asarray(total, dtype=float)[None, :]
    for _ in range(4):
        over = np.clip(parts - limits[:, None], 0, None)
        parts -= over
        room = np.clip(limits[:, None] - parts, 0, None)
        parts += over.sum(axis=0) * room / np.maximum(room.sum(axis=0), 1e-9)
    return parts


def _allocate(total: np.ndarray, weights: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """``_fill`` in integers (n, H) that sum exactly to the integer totals (H,)."""
    parts = np.floor(_fill(total, weights, limits)).astype(np.int64)
    room = limits[:, None] - parts
    parts[np.argmax(room, axis=0), np.arange(total.size)] += total - parts.sum(axis=0)
    return parts


@lru_cache(maxsize=8)
def system_day(seed: int, day: date) -> _SystemDay:
    rng = seeded_rng(seed, "system", day.isoformat())
    cat = plant_catalogue()
    times = ons_time.local_grid_utc_ns(day, timedelta(hours=1))
    hours = times.size
    local_hour = local_hours(times) + 0.5
    growth = growth_factor(day)
    wet = wetness(seed, day)
    shape = load_shape(local_hour, day)
    seasonal = 1 + np.array([0.02, 0.02, 0.05, 0.05]) * season(day, [300, 300, 40, 40])
    level = LOAD_MW * growth * seasonal * np.exp(rng.normal(0, 0.02, 4))
    load = level[:, None] * shape[None, :] * (1 + rng.normal(0, 0.006, (4, hours)))

    plants = len(cat)
    capacity = cat.capacity_mw * growth
    onehot = (cat.subsystem[None, :] == np.arange(4)[:, None]).astype(np.int64)  # (4, P)
    # Wind: seasonal (NE peaks Aug–Oct) and diurnal (NE/N blow at night), plant noise.
    wind_season = np.array([0.36, 0.40, 0.33, 0.30]) + np.array([0.14, 0.15, 0.05, 0.0]) * season(
        day, [260, 260, 300, 0]
    )
    diurnal = 1 + np.array([0.18, 0.18, 0.08, 0.0])[:, None] * np.cos(
        2 * np.pi * (local_hour[None, :] - np.array([1.0, 1.0, 15.0, 0.0])[:, None]) / 24
    )
    regional_wind = wind_season[:, None] * diurnal * np.exp(rng.normal(0, 0.25, 4))[:, None]
    wind_cf = (
        regional_wind[cat.subsystem]
        * cat.site[:, None]
        * np.exp(rng.normal(0, 0.12, (plants, hours)))
    )
    wind = np.clip(wind_cf, 0, 0.95) * capacity[:, None]
    # Solar: a daylight bell, exactly 0 at night, with per-plant clouds.
    irradiance = _irradiance(times + HOUR_NS // 2, day)[cat.subsystem]
    clear = rng.uniform(0.55, 1.0, plants)[:, None] * np.exp(rng.normal(0, 0.05, (plants, hours)))
    solar = np.where(irradiance > 0, irradiance * clear * 0.88 * cat.site[:, None], 0.0)
    solar = np.clip(solar, 0, 1) * capacity[:, None]
    # Thermal: dispatched more in the dry season; sugar-cane biomass in the harvest (Apr–Nov).
    dryness = 1 - wet[SUB_INDEX["SE"]]
    harvest = 1.4 if 4 <= day.month <= 11 else 0.4
    propensity = cat.dispatch * np.where(cat.fuel == "Biomassa", harvest, 1.0)
    on = rng.random(plants) < np.clip(propensity * (0.5 + dryness), 0, 0.97)
    thermal = on[:, None] * rng.uniform(0.35, 0.95, plants)[:, None] * capacity[:, None]
    thermal = np.clip(thermal * (1 + rng.normal(0, 0.03, (plants, hours))), 0, capacity[:, None])
    # Nuclear: flat near full power, rare refuelling outages.
    running = rng.random(plants) >= 0.003
    nuclear = (
        running[:, None] * capacity[:, None] * 0.93 * (1 + rng.normal(0, 0.003, (plants, hours)))
    )

    kind = cat.kind[:, None]
    generation = np.where(kind == "W", wind, 0.0) + np.where(kind == "S", solar, 0.0)
    generation += np.where(kind == "T", thermal, 0.0) + np.where(kind == "U", nuclear, 0.0)
    plant_milli = to_milli(generation)

    def total(kinds: tuple[str, ...]) -> np.ndarray:
        mask = np.isin(cat.kind, kinds)
        return onehot[:, mask] @ plant_milli[mask]

    load_m = to_milli(load)
    thermal_m, nuclear_m = total(("T", "U")), total(("U",))
    wind_m, solar_m = total(("W",)), total(("S",))
    # Hydro closes the SIN balance; each subsystem offers a share that grows with wetness.
    is_hydro = cat.kind == "H"
    hydro_capacity = (onehot[:, is_hydro] @ capacity[is_hydro]) * 1000.0
    offer = hydro_capacity * (HYDRO_BASE + HYDRO_SLOPE * wet) * np.exp(rng.normal(0, 0.05, 4))
    rest = load_m - thermal_m - wind_m - solar_m
    needed = np.clip(rest.sum(axis=0), 0, None)
    hydro_m = _allocate(needed, offer, HYDRO_MAX_USE * hydro_capacity)
    n, ne, s = (SUB_INDEX[k] for k in ("N", "NE", "S"))
    net = hydro_m - rest
    north_to_ne = to_milli((0.35 * net[n] + rng.normal(0, 800_000)) / 1000.0)
    flows = np.stack([north_to_ne, net[n] - north_to_ne, net[ne] + north_to_ne, -net[s]])
    scheduled = to_milli(
        (flows * (1 + rng.normal(0, 0.03, flows.shape)) + rng.normal(0, 30_000, flows.shape))
        / 1000.0
    )
    weights = capacity * rng.uniform(0.6, 1.2, plants)
    for sub in range(4):
        members = np.flatnonzero(is_hydro & (cat.subsystem == sub))
        limits = 0.98 * capacity[members] * 1000.0
        plant_milli[members] = _allocate(hydro_m[sub], weights[members], limits)
    state = _SystemDay(
        times, load_m, hydro_m, thermal_m, nuclear_m, wind_m, solar_m, flows, scheduled, plant_milli
    )
    for value in vars(state).values():
        value.setflags(write=False)
    return state


def ear_percent(seed: int, day: date) -> np.ndarray:
    """Stored energy per subsystem, percent of the maximum: highest after the wet season."""
    anomaly = np.array([smooth(seed, f"ear-{s}", day) for s in SUBSYSTEMS])
    seasonal = EAR_MID + EAR_AMPLITUDE * season(day, EAR_PEAK_DOY)
    return np.clip(seasonal + 14.0 * anomaly, 4.0, 98.0)
