"""Realistic, deterministic generator of ONS and legacy-platform time series.

Two views of the same data:

* ``generate_canonical``: canonical records (``schema.table(t).arrow_schema()``, rows sorted by
  time then tags) for a half-open UTC window, yielded one *generation day* at a time: the local
  (America/Sao_Paulo) day for ONS tables, the UTC day for the legacy platform's tables.
* ``generate_raw_ons``: one local day as ONS publishes it: string columns with the real ONS names
  and order, local clock labels, numbers written as ONS writes them, empty strings when missing.

Determinism: every value of a (seed, table, day) comes from NumPy generators seeded with a BLAKE2
hash of (seed, name, day), so any window that covers a day yields the same rows for it.

Model: one simulated power system per local day (``system.system_day``) feeds every table, so tables
agree with each other: plant generation sums to the balanço totals per subsystem and source
(nuclear counts as thermal, as in ONS), balanço carga equals curva de carga, balanço interchange
equals the net of the intercâmbio flows (N→NE, N→SE, NE→SE, SE→S; so the four subsystems' values
sum to exactly 0 and the SIN row, the sum of the four, has interchange 0) and generation − load
= interchange per subsystem.

Values: every canonical value ``v`` is an integer number of 1e-8 units, so
``v == float(f"{v:.8f}")`` and the ``fixed8`` and ``shortest`` renderings parse back to exactly
``v``; ``float32`` renderings (as in ONS's 2023 EAR/ENA files) are lossy by nature (relative error
< 6e-8). Values carry ONS's source precision (3 decimals; 2 for CMO; 4 for %MLT) and, like ONS
files, a share of them the ``…99999`` artefact (``10455.81799999``).

Missing data: each ONS field is NULL at ``null_rate``. A canonical row is a Timestream record, so
it has at least one non-NULL field: all-NULL rows are absent from the canonical view and present
with empty values in the raw view. Legacy records always have a value; their optional
``quality_flag`` tag is sometimes NULL.

Raw ↔ canonical: parsing a raw day (``ons_time.parse_local``; nonexistent DST rows and all-empty
rows dropped) gives the canonical day, except that the second occurrence of a repeated fall-back
hour is not written by default (ONS files show that hour once): ``repeated_hour='drop'``.

Modules, each importing only those named before it: ``climate`` (seeded randomness, subsystems, the
seasonal model and its constants), ``plants`` (the plant catalogue), ``system`` (the simulated
system of one local day), ``canonical`` (canonical tables per generation day), ``raw_files``
(raw ONS files and their writers).
"""

from ons_pipeline.local.generator.canonical import (
    ARTEFACT_RATE,
    NULL_RATE,
    UNITS_PER_ONE,
    generate_canonical,
    generate_day,
    generation_days,
)
from ons_pipeline.local.generator.climate import SUBSYSTEMS
from ons_pipeline.local.generator.plants import KINDS, PLANT_TAGS, PlantCatalogue, plant_catalogue
from ons_pipeline.local.generator.raw_files import (
    DstGap,
    NumberStyle,
    RepeatedHour,
    generate_ons_file,
    generate_raw_ons,
    raw_columns,
    render_numbers,
    to_typed_ons,
    write_ons_csv,
    write_ons_parquet,
)
from ons_pipeline.local.generator.system import DAY_NS, HOUR_NS, PAIRS

__all__ = [
    "ARTEFACT_RATE",
    "DAY_NS",
    "HOUR_NS",
    "KINDS",
    "NULL_RATE",
    "PAIRS",
    "PLANT_TAGS",
    "SUBSYSTEMS",
    "UNITS_PER_ONE",
    "DstGap",
    "NumberStyle",
    "PlantCatalogue",
    "RepeatedHour",
    "generate_canonical",
    "generate_day",
    "generate_ons_file",
    "generate_raw_ons",
    "generation_days",
    "plant_catalogue",
    "raw_columns",
    "render_numbers",
    "to_typed_ons",
    "write_ons_csv",
    "write_ons_parquet",
]
