"""Arrow → line protocol: our converter against influxdb-client and questdb, on the same rows.

    .venv/bin/python benchmarks/convert.py [--rows N] [--repeat 3] [--threads 2]

Data: ONS-shaped hourly plant generation, ~500 plants, 4 tags (id_subsistema, id_estado,
nom_tipousina, id_ons) and 2 DOUBLE fields (val_geracao, val_disponibilidade, MWmed with 3
decimals as ONS publishes them), ns timestamps. Every side starts from data already in memory in
its own native form (Arrow table for ours, pandas DataFrame for the peers, built outside the timed
region) and ends with the whole payload as one ``bytes`` object; best of ``--repeat`` runs.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import random
import struct
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from influxdb_client import Point
from influxdb_client.client.write.dataframe_serializer import DataframeSerializer
from influxdb_client.client.write_api import PointSettings
from line_protocol_parser import parse_line

from ons_pipeline.lib.influx.lineprotocol import LineEncoder

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from questdb.ingress import Buffer  # questdb 6 still ships Buffer here (deprecated path)

MEASUREMENT = "geracao_usina"
TAGS = ["id_subsistema", "id_estado", "nom_tipousina", "id_ons"]
FIELDS = ["val_geracao", "val_disponibilidade"]
STATES = {
    "SE": ["SP", "MG", "RJ", "ES", "GO", "MT", "MS", "DF", "TO", "AC", "RO"],
    "S": ["PR", "SC", "RS"],
    "NE": ["BA", "PE", "CE", "RN", "PB", "AL", "SE", "PI", "MA"],
    "N": ["PA", "AM", "AP", "RR"],
}
PLANT_TYPES = {
    "HIDROELÉTRICA": ("UH", 350.0),
    "TÉRMICA": ("UT", 180.0),
    "EÓLICA": ("EO", 45.0),
    "FOTOVOLTAICA": ("UF", 30.0),
    "NUCLEAR": ("UN", 1200.0),
}
PLANT_TYPE_WEIGHTS = [0.30, 0.25, 0.30, 0.14, 0.01]


def ons_table(rows: int, plants: int = 500, seed: int = 7) -> pa.Table:
    """Hourly generation of ``plants`` plants, ``rows`` rows in time-then-plant order."""
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    catalogue: list[tuple[str, str, str, str, float]] = []
    used: set[str] = set()
    while len(catalogue) < plants:
        subsystem = rng.choices(list(STATES), weights=[0.45, 0.2, 0.25, 0.1])[0]
        state = rng.choice(STATES[subsystem])
        kind = rng.choices(list(PLANT_TYPES), weights=PLANT_TYPE_WEIGHTS)[0]
        code, scale = PLANT_TYPES[kind]
        id_ons = state + code + "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ", k=2))
        if id_ons in used:
            continue
        used.add(id_ons)
        catalogue.append((subsystem, state, kind, id_ons, scale * rng.uniform(0.2, 3.0)))
    hours = math.ceil(rows / plants)
    plant = np.tile(np.arange(plants), hours)[:rows]
    hour = np.repeat(np.arange(hours), plants)[:rows]
    start = np.datetime64("2024-01-01T03:00:00", "ns").astype(np.int64)  # 00:00 Brasília
    times = start + hour.astype(np.int64) * 3_600_000_000_000
    capacity = np.array([p[4] for p in catalogue])[plant]
    daily = 0.55 + 0.35 * np.sin(2 * np.pi * ((hour % 24) - 6) / 24)
    generation = np.round(capacity * np.clip(daily + np_rng.normal(0, 0.1, rows), 0, 1), 3)
    availability = np.round(capacity * np_rng.uniform(0.9, 1.0, rows), 3)
    columns: dict[str, pa.Array] = {"time": pa.array(times, pa.timestamp("ns", tz="UTC"))}
    for i, tag in enumerate(TAGS):
        values = pa.array([p[i] for p in catalogue])
        columns[tag] = values.take(pa.array(plant))
    columns["val_geracao"] = pa.array(generation)
    columns["val_disponibilidade"] = pa.array(np.maximum(availability, generation))
    return pa.table(columns)


def best_of(repeat: int, run: Callable[[], list[bytes]]) -> tuple[float, bytes]:
    """Best wall time of ``run`` (whose payloads are joined afterwards, outside the timing)."""
    best = math.inf
    out: list[bytes] = []
    for _ in range(repeat):
        out = []
        gc.collect()
        started = time.perf_counter()
        out = run()
        best = min(best, time.perf_counter() - started)
    return best, b"".join(out)


def parsed(lines: list[bytes]) -> list[tuple[Any, ...]]:
    """Points as comparable tuples: float fields compared bit for bit."""
    points = []
    for line in lines:
        p = parse_line(line.decode())
        fields = {
            k: struct.pack("<d", v) if isinstance(v, float) else v for k, v in p["fields"].items()
        }
        points.append(
            (
                p["measurement"],
                tuple(sorted(p["tags"].items())),
                tuple(sorted(fields.items())),
                p["time"],
            )
        )
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="threads for our parallel run")
    parser.add_argument("--point-rows", type=int, default=100_000, help="rows for the Point run")
    args = parser.parse_args()

    table = ons_table(args.rows)
    # Tags dictionary-encoded, as pyarrow.parquet gives them with read_dictionary=<tag columns>.
    dict_table = table
    for tag in TAGS:
        index = dict_table.schema.get_field_index(tag)
        dict_table = dict_table.set_column(index, tag, pc.dictionary_encode(table.column(tag)))
    # The peers start from pandas, their native input, each in its fastest form measured here:
    # object-dtype strings (pandas 3's default ``str`` dtype is slower for both), or categoricals.
    frame = table.to_pandas().astype({tag: object for tag in TAGS})
    categorical = frame.astype({tag: "category" for tag in TAGS})
    encoder = LineEncoder(MEASUREMENT, TAGS, FIELDS)
    encoder_mt = LineEncoder(MEASUREMENT, TAGS, FIELDS, threads=args.threads)

    def ours(data: pa.Table, enc: LineEncoder = encoder) -> Callable[[], list[bytes]]:
        return lambda: [b.data for b in enc.iter_encoded(data, max_lines=10_000)]

    def ours_payload() -> list[bytes]:
        return [encoder.encode(table).data]

    def influx_client(df: pd.DataFrame) -> Callable[[], list[bytes]]:
        def run() -> list[bytes]:
            serializer = DataframeSerializer(
                df.set_index("time"),
                PointSettings(),
                precision="ns",
                chunk_size=100_000,
                data_frame_measurement_name=MEASUREMENT,
                data_frame_tag_columns=TAGS,
            )
            chunks = [serializer.serialize(i) for i in range(serializer.number_of_chunks)]
            return ["".join(line + "\n" for line in chunk).encode() for chunk in chunks]

        return run

    def questdb(df: pd.DataFrame) -> Callable[[], list[bytes]]:
        def run() -> list[bytes]:
            buffer = Buffer(protocol_version=1)
            buffer.dataframe(df, table_name=MEASUREMENT, symbols=TAGS, at="time")
            return [bytes(buffer)]

        return run

    subset = frame.iloc[: min(args.point_rows, len(frame))]

    def points() -> list[bytes]:
        lines = []
        for row in subset.itertuples(index=False):
            point = Point(MEASUREMENT)
            for tag in TAGS:
                point.tag(tag, getattr(row, tag))
            for field in FIELDS:
                point.field(field, getattr(row, field))
            point.time(row.time.value)
            lines.append(point.to_line_protocol())
        return [("\n".join(lines) + "\n").encode()]

    n = len(frame)
    sides: list[tuple[str, str, Callable[[], list[bytes]], int, int]] = [
        ("ours", "ours: iter_encoded, 10k-line payloads", ours(table), args.repeat, n),
        ("ours_dict", "ours: same, dictionary tags", ours(dict_table), args.repeat, n),
        (
            "ours_threads",
            f"ours: same, {args.threads} threads",
            ours(table, encoder_mt),
            args.repeat,
            n,
        ),
        ("ours_payload", "ours: encode, one payload", ours_payload, args.repeat, n),
        ("dfs", "influxdb-client DataframeSerializer", influx_client(frame), args.repeat, n),
        ("questdb", "questdb Buffer(protocol_version=1)", questdb(frame), args.repeat, n),
        ("questdb_cat", "questdb, categorical tags", questdb(categorical), args.repeat, n),
        ("point", "influxdb-client Point per row", points, 1, len(subset)),
    ]
    results: dict[str, tuple[str, float, int, bytes]] = {}
    for key, name, run, repeat, rows in sides:
        seconds, out = best_of(repeat, run)
        results[key] = (name, seconds, rows, out)

    # Correctness: identical points, parsed by an independent parser, on a sample of lines.
    ours_lines = results["ours"][3].splitlines()
    sample = sorted(random.Random(1).sample(range(len(ours_lines)), min(5000, len(ours_lines))))
    sample = sorted(set(sample) | set(range(min(500, len(ours_lines)))))
    mine = parsed([ours_lines[i] for i in sample])
    checks = {}
    for key in ("dfs", "questdb", "questdb_cat"):
        lines = results[key][3].splitlines()
        checks[key] = sum(
            a != b for a, b in zip(mine, parsed([lines[i] for i in sample]), strict=True)
        )
    same = all(
        results[k][3] == results["ours"][3] for k in ("ours_dict", "ours_threads", "ours_payload")
    )
    if any(checks.values()) or not same or len(ours_lines) != n:
        raise SystemExit(f"outputs differ: {checks}; our modes agree: {same}")

    print(f"{n:,} rows, {len(TAGS)} tags, {len(FIELDS)} DOUBLE fields, best of {args.repeat}")
    print(f"{'serializer':<40} {'seconds':>8} {'rows/s':>12} {'MB':>7}  note")
    print("-" * 80)
    rate: dict[str, float] = {}
    for key, (name, seconds, rows, out) in results.items():
        rate[key] = rows / seconds
        note = f"{rows:,}-row subset, one run" if rows != n else ""
        print(f"{name:<40} {seconds:>8.3f} {rate[key]:>12,.0f} {len(out) / 1e6:>7.1f}  {note}")
    print(
        f"checked {len(sample):,} sampled lines: same points as influxdb-client and questdb "
        "(parsed by line-protocol-parser, floats bit for bit; tag order and float text may "
        "differ); all our modes give identical bytes"
    )
    final = {f"{key}_rows_per_s": round(value) for key, value in rate.items()}
    final = {
        "rows": n,
        **final,
        "ratio_ours_vs_dataframe_serializer": round(rate["ours"] / rate["dfs"], 2),
        "ratio_ours_vs_questdb": round(rate["ours"] / rate["questdb"], 2),
        "ratio_ours_dict_vs_questdb_categorical": round(rate["ours_dict"] / rate["questdb_cat"], 2),
        "sample_mismatches": checks,
    }
    print(json.dumps(final))


if __name__ == "__main__":
    main()
