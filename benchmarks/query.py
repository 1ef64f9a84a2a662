"""Long-range questions answered from the raw measurements and through the routed rollups.

    .venv/bin/python benchmarks/query.py [--first-year 2018 --last-year 2024] [--repeat 7]

On an InfluxDB 1.6.7 and a moto S3 started here on loopback (own state directory): seven years of
the hourly, half-hourly and daily ONS tables (``--tables``) are generated, written as the daily
Parquet partitions on S3 and loaded into InfluxDB; then the rollups are built by the pipeline's
own code (``lib.rollup.build``: daily rollups from the partitions, monthly from the days, each
bucket verified exactly and marked covered) — loading and building are timed but not compared.

The fixed set of questions (monthly and yearly means, maxima and minima with their time, sums,
per-subsystem comparisons over years, as analysts ask them) is translated once; each model is
then executed ``--repeat`` times from the raw measurement (``rollups=None``) and as many times
through the router (``rollups=rollup_tables()``), alternating, after one warm-up each. Timed: the
execution of the model — InfluxDB's answer and our merging (plus, when routed, planning, the
coverage check and recombination); the translation of the question is the same on both sides and
is not counted. ``answers_equal`` is true only when every routed answer equals the raw one:
rows, times, tags, counts, minima and maxima exactly, sums and means within the floating-point
summation bound of the values they add (n and max |x| read from the raw data).

The last line is one JSON object: ``questions``, ``raw_p50_ms``, ``rollup_p50_ms``, ``speedup``
(raw / rollup p50), ``answers_equal``, ``raw_load_verified`` (InfluxDB holds every point
written of each table: when false, a difference in ``answers_equal`` may be the raw side's), and
the per-question figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ons_pipeline.lib import schema
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.influx.client import InfluxClient, InfluxConfig
from ons_pipeline.lib.influx.lineprotocol import iter_encoded
from ons_pipeline.lib.partitions import ParquetStore, Partition
from ons_pipeline.lib.query.execute import execute
from ons_pipeline.lib.query.model import QueryModel, leaves
from ons_pipeline.lib.query.nl import RuleTranslator
from ons_pipeline.lib.query.rollups import answers_equal
from ons_pipeline.lib.rollup.build import roll_days, roll_months
from ons_pipeline.lib.rollup.spec import months_between, rollup_tables
from ons_pipeline.lib.rollup.store import RollupStore
from ons_pipeline.lib.schema import TIME_COLUMN
from ons_pipeline.local.generator import generate_canonical
from ons_pipeline.local.generator.plants import plant_catalogue
from ons_pipeline.local.servers import InfluxServer, MotoServer

DATABASE = "ons_query"
TABLES = (
    "geracao_usina",
    "curva_carga",
    "balanco_subsistema",
    "cmo_semihorario",
    "intercambio",
    "ear_diario",
    "ena_diario",
)
QUESTIONS = (
    "carga média mensal do SIN de {a} a {b}",
    "carga média do Sudeste por ano de {a} a {b}",
    "carga média por subsistema por ano de {a} a {b}",
    "carga máxima do Nordeste de {a} a {b}",
    "qual foi a maior carga horária do SIN de {a} a {b}",
    "carga mínima do Norte de {a} a {b}",
    "geração eólica média do Nordeste por mês de {a} a {b}",
    "geração solar total do Nordeste por ano de {a} a {b}",
    "geração hidráulica média por subsistema por ano de {a} a {b}",
    "CMO médio mensal do Sudeste de {a} a {b}",
    "CMO máximo do Sul de {a} a {b}",
    "intercâmbio médio do Norte para o Sudeste por ano de {a} a {b}",
    "EAR do Sudeste por ano de {a} a {b}",
    "EAR máxima do Sudeste de {a} a {b}",
    "energia armazenada média por subsistema por mês de {a} a {b}",
    "ENA média do Sul por ano de {a} a {b}",
    "geração eólica total por estado por ano de {a} a {b}",
    "geração total das usinas solares por mês de {a} a {b}",
    "geração máxima de Tucuruí de {a} a {b}",
    "geração das usinas térmicas por subsistema por ano de {a} a {b}",
    "energia gerada pelas usinas eólicas da Bahia por mês de {a} a {b}",
)


def reader() -> RuleTranslator:
    """The question reader as the API builds it: it knows the plants' names (the API asks the
    server; here the generated catalogue, which is what is loaded)."""
    names = sorted(set(plant_catalogue().tags.column("nom_usina").to_pylist()))
    return RuleTranslator(plants=lambda: names)


def load_table(
    client: InfluxClient, store: ParquetStore, table: str, first: date, last: date
) -> tuple[int, dict[str, int]]:
    """Generate ``table`` for the UTC days ``first``…``last``: one Parquet partition per day on
    S3, and the same rows into InfluxDB. Returns the points and each field's values written."""
    spec = schema.table(table)
    points = 0
    values = dict.fromkeys(spec.field_names, 0)
    for month in months_between(first, last):
        start = datetime(month.year, month.month, 1, tzinfo=UTC)
        end = min(
            datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC),
            datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC),
        )
        rows = pa.concat_tables(list(generate_canonical(table, start, end, seed=0)))
        times = pc.cast(rows.column(TIME_COLUMN), pa.int64())
        day = start.date()
        while day < end.date():
            lo = int(datetime.combine(day, datetime.min.time(), UTC).timestamp()) * 10**9
            hi = lo + 86_400 * 10**9
            part = rows.filter(pc.and_(pc.greater_equal(times, lo), pc.less(times, hi)))
            store.write(Partition(table, day), [part], spec)
            day += timedelta(days=1)
        for batch in iter_encoded(rows, spec, max_lines=20_000):
            if batch.lines:
                client.write(batch.data, batch.lines)
                points += batch.lines
        for name in values:
            values[name] += len(rows) - rows.column(name).null_count
    return points, values


def values_held(client: InfluxClient, table: str, first: date, last: date) -> dict[str, int]:
    """Each field's values InfluxDB holds of ``table`` over the UTC days ``first``…``last``."""
    spec = schema.table(table)
    start = int(datetime.combine(first, datetime.min.time(), UTC).timestamp()) * 10**9
    end = int(datetime.combine(last, datetime.min.time(), UTC).timestamp() + 86_400) * 10**9
    result = client.query(
        f'SELECT count(*) FROM "{spec.measurement}" WHERE time >= {start} AND time < {end}'
    )
    series = result[0].get("series") or []
    if not series:
        return dict.fromkeys(spec.field_names, 0)
    counts = dict(zip(series[0]["columns"], series[0]["values"][0], strict=True))
    return {name: int(counts.get(f"count_{name}") or 0) for name in spec.field_names}


def build_rollups(
    url: str, store: ParquetStore, rollups: RollupStore, table: str, first: date, last: date
) -> tuple[int, int]:
    """Daily rollups of the local days ``first``…``last`` and monthly rollups of their months,
    by the pipeline's code, in runs of a year of days. Returns (days, months) published."""
    rt = rollup_tables()[table]
    config = InfluxConfig(url=url, database=DATABASE, retention_policy=rt.policy, timeout=120)
    days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    with InfluxClient(config) as client:
        for start in range(0, len(days), 366):
            roll_days(client, store, rollups, rt, days[start : start + 366], database=DATABASE)
        months = months_between(first, last)
        roll_months(client, rollups, rt, months, database=DATABASE)
    return len(days), len(months)


def magnitude(client: InfluxClient, model: QueryModel) -> tuple[int, float]:
    """(values, max |value|) of the model's fields over its range: the summation bound's inputs."""
    fields = sorted({leaf.field for s in model.selections for leaf in leaves(s.expr)})  # type: ignore[union-attr]
    parts = ", ".join(f'count("{f}"), max("{f}"), min("{f}")' for f in fields)
    text = (
        f'SELECT {parts} FROM "{model.measurement}" WHERE time >= {model.time_range.start} '
        f"AND time < {model.time_range.end}"
    )
    series = client.query(text)[0].get("series") or []
    if not series:
        return 0, 0.0
    values = series[0]["values"][0][1:]
    extremes = [abs(v) for v in values[1::3] + values[2::3] if v is not None]
    return max(int(c or 0) for c in values[0::3]), max(extremes or [0.0])


def timed(model: QueryModel, client: InfluxClient, rollups: Any) -> tuple[float, Any]:
    began = time.perf_counter()
    result = execute(model, client, DATABASE, rollups=rollups)
    return (time.perf_counter() - began) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first-year", type=int, default=2018)
    parser.add_argument("--last-year", type=int, default=2024)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--tables", default=",".join(TABLES))
    args = parser.parse_args()
    tables = args.tables.split(",")
    first, last = date(args.first_year, 1, 1), date(args.last_year, 12, 31)
    now = datetime(args.last_year + 1, 3, 1, tzinfo=UTC)
    with tempfile.TemporaryDirectory(prefix="ons-bench-query-") as tmp:
        state = Path(tmp) / "state"
        influx, moto = InfluxServer(state), MotoServer(state)
        influx_info, moto_info = influx.start(), moto.start()
        try:
            aws = AwsSettings(endpoint_url=moto_info.url, bucket=f"bench-{uuid.uuid4().hex[:8]}")
            s3 = aws.client("s3")
            s3.create_bucket(Bucket=aws.bucket)
            store = ParquetStore(s3, aws.bucket, "parquet")
            rollups = RollupStore(s3, aws.bucket, "parquet")
            client = InfluxClient(InfluxConfig(url=influx_info.url, database=DATABASE, timeout=120))
            client.ensure_database()
            client.ensure_retention_policy("rollups", "INF", shard_duration="52w")
            setup: dict[str, Any] = {}
            for table in tables:
                began = time.perf_counter()
                # the local days of the years need the UTC day after the last one
                points, written = load_table(client, store, table, first, last + timedelta(days=1))
                loaded = time.perf_counter()
                held = values_held(client, table, first, last + timedelta(days=1))
                days, months = build_rollups(influx_info.url, store, rollups, table, first, last)
                built = time.perf_counter()
                setup[table] = {
                    "points": points,
                    "raw_verified": held == written,  # every field's values written are held
                    "load_s": round(loaded - began, 1),
                    "rollup_days": days,
                    "rollup_months": months,
                    "rollup_s": round(built - loaded, 1),
                }
                if held != written:
                    setup[table]["values_written"], setup[table]["values_held"] = written, held
                print(f"{table}: {setup[table]}", flush=True)
            catalog = rollup_tables()
            raw_ms: list[float] = []
            routed_ms: list[float] = []
            per_question: list[dict[str, Any]] = []
            all_equal = True
            questions = reader()
            for template in QUESTIONS:
                question = template.format(a=args.first_year, b=args.last_year)
                translation = questions.translate(question, now)
                model = translation.model
                if model is None or not translation.complete:
                    raise SystemExit(f"{question!r} was not translated: {translation.unmapped}")
                if model.table not in tables:
                    print(f"skipped (table {model.table} not loaded): {question}", flush=True)
                    continue
                timed(model, client, None)
                timed(model, client, catalog)
                raw_t, routed_t = [], []
                for _ in range(args.repeat):
                    ms, raw = timed(model, client, None)
                    raw_t.append(ms)
                    ms, routed = timed(model, client, catalog)
                    routed_t.append(ms)
                n, top = magnitude(client, model)
                equal, why = answers_equal(model, raw.rows, routed.rows, n, top)
                all_equal &= equal
                raw_ms += raw_t
                routed_ms += routed_t
                item = {
                    "question": question,
                    "table": model.table,
                    "rows": len(raw.rows),
                    "answered_from": routed.source.kind,
                    "levels": list(routed.source.levels),
                    "raw_ms": round(statistics.median(raw_t), 2),
                    "routed_ms": round(statistics.median(routed_t), 2),
                    "equal": equal,
                }
                if not equal:
                    item["difference"] = why
                if routed.source.kind != "rollup":
                    item["why_raw"] = routed.source.reason
                per_question.append(item)
                ratio = item["raw_ms"] / item["routed_ms"]
                print(
                    f"{question[:64]:64} {item['answered_from']:6} raw {item['raw_ms']:8.2f} ms"
                    f"  routed {item['routed_ms']:7.2f} ms  ×{ratio:5.1f}"
                    f"  {'equal' if equal else 'DIFFERENT: ' + why}",
                    flush=True,
                )
            client.close()
        finally:
            influx.stop()
            moto.stop()
    raw_p50 = statistics.median(raw_ms)
    rollup_p50 = statistics.median(routed_ms)
    result = {
        "questions": len(per_question),
        "years": f"{args.first_year}-{args.last_year}",
        "tables": tables,
        "repeat": args.repeat,
        "routed": sum(q["answered_from"] == "rollup" for q in per_question),
        "raw_p50_ms": round(raw_p50, 2),
        "rollup_p50_ms": round(rollup_p50, 2),
        "speedup": round(raw_p50 / rollup_p50, 1),
        "answers_equal": all_equal,
        # the raw side is the loaded points themselves: a point lost on the way makes the raw
        # answer, not the routed one, differ from the data
        "raw_load_verified": all(s["raw_verified"] for s in setup.values()),
        "setup": setup,
        "per_question": per_question,
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
