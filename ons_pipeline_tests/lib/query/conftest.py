"""Fixtures of the query-layer tests: a database with small ONS-shaped data, the Flux checker.

The data is built here (deterministic, seeded) as pandas frames, written as line protocol the way
the loader writes it (measurement = table, tags, typed fields, ns time), and the same frames serve
as the independent reference the tests compute expected aggregates from.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ons_pipeline.lib.query import fluxcheck
from ons_pipeline.lib.query.model import Duration, QueryModel, Selection, TimeRange, parse_expr
from ons_pipeline_tests.conftest import influx_write, influxql

START = pd.Timestamp("2024-03-01T00:00:00Z")
HOURS = 24 * 5
RANGE_END = START + pd.Timedelta(days=3)
RANGE = TimeRange(START.value, RANGE_END.value)
"""The period of the models the tests build, unless a test gives its own."""

# tag values chosen to break naive quoting: quotes, backslashes, commas, spaces, regex characters
TRICKY_PLANTS = [
    "Itá",
    "Mauá 3",
    "Santo Antônio do Jari",
    'O\'Brien "Solar"',
    "Back\\slash, Usina=1",
    "x' OR '1'='1",
    "a/b.*(c)",
]


def model(table: str, *exprs: str, **options: Any) -> QueryModel:
    """A model of ``table`` selecting each expression as ``c0``, ``c1``… over :data:`RANGE` (unless
    ``time_range`` is given); ``window`` may be given as text ("1h")."""
    selections = tuple(Selection(parse_expr(e), f"c{i}") for i, e in enumerate(exprs))
    options.setdefault("time_range", RANGE)
    if isinstance(options.get("window"), str):
        options["window"] = Duration.parse(options["window"])
    return QueryModel(table, selections, **options)


def _escape_tag(value: str) -> str:
    # InfluxDB 1.x line protocol: commas, equals signs and spaces are escaped in tag values, a
    # backslash before any other character is kept as is
    return value.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _lines(measurement: str, frame: pd.DataFrame, tags: list[str], fields: list[str]) -> list[str]:
    out = []
    for row in frame.itertuples(index=False):
        record = row._asdict()
        tag_text = "".join(
            f",{t}={_escape_tag(str(record[t]))}"
            for t in tags
            if record[t] is not None and record[t] == record[t]
        )
        field_text = ",".join(f"{f}={float(record[f])!r}" for f in fields if record[f] == record[f])
        if field_text:
            out.append(f"{measurement}{tag_text} {field_text} {record['time'].value}")
    return out


@dataclass
class Dataset:
    """The frames written to the database, by table."""

    url: str
    db: str
    frames: dict[str, pd.DataFrame]


def build_frames(seed: int = 7) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    hours = pd.date_range(START, periods=HOURS, freq="1h")
    frames: dict[str, pd.DataFrame] = {}
    rows = []
    for sub, name in [("SE", "SUDESTE"), ("S", "SUL"), ("NE", "NORDESTE"), ("N", "NORTE")]:
        base = {"SE": 40000, "S": 12000, "NE": 11000, "N": 6000}[sub]
        for i, t in enumerate(hours):
            rows.append(
                {
                    "time": t,
                    "id_subsistema": sub,
                    "nom_subsistema": name,
                    "val_cargaenergiahomwmed": base
                    + 800 * np.sin(i / 24 * 2 * np.pi)
                    + rng.normal(0, 50),
                }
            )
    frames["curva_carga"] = pd.DataFrame(rows)
    rows = []
    for sub in ["SE", "S", "NE", "N", "SIN"]:
        for t in hours:
            rows.append(
                {
                    "time": t,
                    "id_subsistema": sub,
                    "nom_subsistema": sub,
                    "val_gerhidraulica": rng.uniform(1000, 30000),
                    "val_gertermica": rng.uniform(100, 5000),
                    "val_gereolica": rng.uniform(0, 15000),
                    "val_gersolar": rng.uniform(0, 3000),
                    "val_carga": rng.uniform(5000, 45000),
                    "val_intercambio": rng.uniform(-5000, 5000),
                }
            )
    frames["balanco_subsistema"] = pd.DataFrame(rows)
    rows = []
    half_hours = pd.date_range(START, periods=HOURS * 2, freq="30min")
    for sub in ["SE", "S", "NE", "N"]:
        for t in half_hours:
            rows.append({"time": t, "id_subsistema": sub, "nom_subsistema": sub,
                         "val_cmo": rng.uniform(-5, 300)})  # fmt: skip
    frames["cmo_semihorario"] = pd.DataFrame(rows)
    rows = []
    types = ["HIDROELÉTRICA", "EOLIELÉTRICA", "TÉRMICA", "FOTOVOLTAICA"]
    for index, plant in enumerate(TRICKY_PLANTS):
        for t in hours:
            rows.append(
                {
                    "time": t,
                    "id_subsistema": ["S", "NE", "N"][index % 3],
                    "nom_subsistema": "X",
                    "id_estado": ["BA", "RS", "AM"][index % 3],
                    "nom_estado": "X",
                    "cod_modalidadeoperacao": "TIPO I",
                    "nom_tipousina": types[index % 4],
                    "nom_tipocombustivel": "X",
                    "nom_usina": plant,
                    "id_ons": f"P{index}",
                    "ceg": f"CEG.{index}",
                    "val_geracao": rng.uniform(0, 100) * (index + 1),
                }
            )
    frames["geracao_usina"] = pd.DataFrame(rows)
    rows = []
    for region in ["southeast", "south", "northeast", "north"]:
        for source in ["hydro", "wind"]:
            for i, t in enumerate(hours):
                rows.append(
                    {
                        "time": t,
                        "region": region,
                        "dataset_type": "generation",
                        "energy_source": source,
                        "measurement_type": "power",
                        "quality_flag": None if i % 5 == 0 else "ok",
                        "value": rng.uniform(0, 1000),
                    }
                )
    frames["generation_data"] = pd.DataFrame(rows)
    return frames


def write_frames(url: str, db: str, frames: dict[str, pd.DataFrame]) -> None:
    from ons_pipeline.lib import schema

    lines: list[str] = []
    for table, frame in frames.items():
        spec = schema.table(table)
        lines += _lines(spec.measurement, frame, list(spec.tags), list(spec.field_names))
    for start in range(0, len(lines), 5000):
        influx_write(url, db, "\n".join(lines[start : start + 5000]).encode())


@pytest.fixture(scope="session")
def dataset(influx_url: str) -> Iterator[Dataset]:
    """One database with every frame, shared by the read-only query tests."""
    name = f"query_{uuid.uuid4().hex[:10]}"
    influxql(influx_url, f'CREATE DATABASE "{name}"')
    frames = build_frames()
    write_frames(influx_url, name, frames)
    yield Dataset(influx_url, name, frames)
    influxql(influx_url, f'DROP DATABASE "{name}"')


@pytest.fixture(scope="session")
def flux_checker() -> Iterator[fluxcheck.FluxChecker]:
    """The Flux language server under node (installed with npm on first use)."""
    if fluxcheck.node_binary() is None:
        pytest.skip("node is not installed: Flux checks need node and npm")
    if not fluxcheck.is_installed():
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed: cannot install @influxdata/flux-lsp-browser")
        fluxcheck.install()
    with fluxcheck.FluxChecker() as checker:
        yield checker
