"""Deterministic randomness, the four subsystems and the climate/seasonal model's constants."""

from __future__ import annotations

import hashlib
from datetime import date
from functools import cache

import numpy as np

# Subsystems in canonical (sorted) order; arrays of shape (4, ...) follow it.
SUBSYSTEMS = ("N", "NE", "S", "SE")
SUB_INDEX = {s: i for i, s in enumerate(SUBSYSTEMS)}
NAMES = {"N": "NORTE", "NE": "NORDESTE", "S": "SUL", "SE": "SUDESTE"}

# --- model constants, per subsystem -----------------------------------------------------------

LOAD_MW = np.array([6_000.0, 11_000.0, 12_000.0, 40_000.0])  # mean load around 2023
WEEKDAY_SHAPE = np.array(
    [
        0.83,
        0.80,
        0.78,
        0.77,
        0.77,
        0.79,
        0.83,
        0.88,
        0.94,
        0.99,
        1.02,
        1.04,
        1.03,
        1.04,
        1.06,
        1.06,
        1.05,
        1.03,
        1.04,
        1.07,
        1.07,
        1.03,
        0.96,
        0.89,
    ]
)
WEEKDAY_SHAPE = WEEKDAY_SHAPE / WEEKDAY_SHAPE.mean()
HOLIDAYS = {(1, 1), (4, 21), (5, 1), (9, 7), (10, 12), (11, 2), (11, 15), (12, 25)}
LATITUDE = np.radians([-3.0, -9.0, -27.0, -19.0])
LONGITUDE = np.array([-48.0, -40.0, -51.0, -46.0])
_WET_PEAK_DOY = np.array([80.0, 70.0, 250.0, 45.0])
_WET_AMPLITUDE = np.array([0.5, 0.5, 0.3, 0.5])
# Share of hydro capacity each subsystem offers: base + slope * wetness (N: the Amazon rivers).
HYDRO_BASE = np.array([0.10, 0.15, 0.30, 0.35])
HYDRO_SLOPE = np.array([0.55, 0.35, 0.30, 0.35])
HYDRO_MAX_USE = 0.92
EAR_MAX = np.array([15_302.396, 51_691.227, 20_459.112, 204_615.328])  # MWmês
EAR_MID = np.array([60.0, 55.0, 62.0, 50.0])
EAR_AMPLITUDE = np.array([32.0, 25.0, 14.0, 22.0])
EAR_PEAK_DOY = np.array([130.0, 120.0, 280.0, 120.0])
ENA_MLT = np.array(  # long-term mean natural inflow energy per month, MWmed
    [
        [
            15518.6,
            22563.3,
            28000.0,
            29000.0,
            21000.0,
            10000.0,
            5500.0,
            3500.0,
            2600.0,
            2700.0,
            4200.0,
            8700.0,
        ],
        [
            13500.0,
            15000.0,
            15500.0,
            13000.0,
            7000.0,
            4500.0,
            3800.0,
            3200.0,
            2700.0,
            2800.0,
            5000.0,
            9500.0,
        ],
        [
            10000.0,
            10500.0,
            8500.0,
            9000.0,
            11000.0,
            13000.0,
            14500.0,
            13500.0,
            14000.0,
            16000.0,
            12000.0,
            10000.0,
        ],
        [
            56000.0,
            60000.0,
            55000.0,
            42000.0,
            30000.0,
            25000.0,
            21000.0,
            17500.0,
            16000.0,
            19000.0,
            26000.0,
            42000.0,
        ],
    ]
)
ENA_STORABLE_MLT_SHARE = 0.95


# --- deterministic randomness -----------------------------------------------------------------


def seeded_rng(seed: int, *parts: object) -> np.random.Generator:
    """A NumPy generator seeded from a stable hash of ``(seed, *parts)``."""
    key = "\x1f".join([str(int(seed)), *(str(p) for p in parts)]).encode()
    digest = hashlib.blake2b(key, digest_size=16).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))


@cache
def _smooth_terms(seed: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    phases = seeded_rng(seed, "smooth", name).uniform(0, 2 * np.pi, 4)
    periods = np.array([1130.0, 617.0, 233.0, 71.0])
    return periods, phases


def smooth(seed: int, name: str, day: date) -> float:
    """A slow, continuous anomaly in about [-1, 1] (multi-year droughts, wet spells)."""
    periods, phases = _smooth_terms(seed, name)
    weights = np.array([0.5, 0.3, 0.15, 0.05])
    angle = 2 * np.pi * day.toordinal() / periods + phases
    return float(np.sum(weights * np.sin(angle)))


def season(day: date, peak_doy: np.ndarray | float) -> np.ndarray:
    """cos of the day of year relative to a peak day (1 at the peak, -1 half a year later)."""
    doy = day.timetuple().tm_yday
    return np.cos(2 * np.pi * (doy - np.asarray(peak_doy)) / 365.25)


def growth_factor(day: date) -> float:
    """System size relative to 2023 (about 2 % a year)."""
    years = day.year + day.timetuple().tm_yday / 365.25 - 2023.5
    return float(np.clip(1.02**years, 0.45, 1.4))


def wetness(seed: int, day: date) -> np.ndarray:
    """Hydrological wetness per subsystem in [0, 1]: wet Dec–Apr (S: winter-spring)."""
    anomaly = np.array([smooth(seed, f"wet-{s}", day) for s in SUBSYSTEMS])
    wet = 0.5 + _WET_AMPLITUDE * season(day, _WET_PEAK_DOY) + 0.15 * anomaly
    return np.clip(wet, 0.0, 1.0)
