"""What Dagster's bookkeeping costs per table-day on the local instance (this repo's dagster.yaml).

    .venv/bin/python benchmarks/dagster_events.py [--days 300]

A migration run records, per table-day, two materializations (``parquet/<table>``,
``influxdb/<table>``) and three check evaluations (``gx_structure``, ``gx_plausibility``,
``exact_verification``). This runs one in-process Dagster run of a multi-asset shaped like ours
(two daily-partitioned assets, three checks) over ``--days`` partitions on a fresh instance
(``DAGSTER_HOME`` in a temporary directory, the repo's ``dagster.yaml``), four times: yielding
nothing, only the materializations, only the check evaluations, and both — no data work at all.
The last line is one JSON object with the seconds of each and the milliseconds per event.
"""

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg

REPO = Path(__file__).resolve().parent.parent
PARTITIONS = dg.DailyPartitionsDefinition(start_date="2024-01-01")
PARQUET, INFLUX = dg.AssetKey(["parquet", "t"]), dg.AssetKey(["influxdb", "t"])
CHECKS = ((PARQUET, "gx_structure"), (PARQUET, "gx_plausibility"), (INFLUX, "exact_verification"))


def build(materialize: bool, evaluate: bool) -> dg.AssetsDefinition:
    @dg.multi_asset(
        specs=[
            dg.AssetSpec(PARQUET, partitions_def=PARTITIONS, skippable=True),
            dg.AssetSpec(INFLUX, deps=[PARQUET], partitions_def=PARTITIONS, skippable=True),
        ],
        check_specs=[dg.AssetCheckSpec(name, asset=key) for key, name in CHECKS],
        can_subset=True,
    )
    def t_migration(context: dg.AssetExecutionContext) -> Iterator[Any]:
        for key in context.partition_keys:
            metadata = {"rows": 96, "points": 96, "duration s": 0.01}
            if materialize:
                yield dg.AssetMaterialization(PARQUET, partition=key, metadata=metadata)
                yield dg.AssetMaterialization(INFLUX, partition=key, metadata=metadata)
            if evaluate:
                for asset, name in CHECKS:
                    yield dg.AssetCheckEvaluation(
                        asset_key=asset, check_name=name, passed=True, partition=key
                    )

    return t_migration


def seconds(home: Path, days: int, materialize: bool, evaluate: bool) -> float:
    keys = PARTITIONS.get_partition_keys()[:days]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        started = time.perf_counter()
        result = dg.materialize(
            [build(materialize, evaluate)],
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": keys[0],
                "dagster/asset_partition_range_end": keys[-1],
            },
            raise_on_error=True,
        )
        elapsed = time.perf_counter() - started
    assert result.success
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=300)
    args = parser.parse_args()
    figures: dict[str, float] = {}
    for name, materialize, evaluate in (
        ("nothing", False, False),
        ("materializations", True, False),
        ("check_evaluations", False, True),
        ("both", True, True),
    ):
        with tempfile.TemporaryDirectory(prefix="ons-bench-events-") as tmp:
            home = Path(tmp)
            shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
            os.environ["DAGSTER_HOME"] = str(home)
            figures[name] = seconds(home, args.days, materialize, evaluate)
        print(f"  {name:>18}: {figures[name]:6.2f} s")
    base = figures["nothing"]
    per_mat = (figures["materializations"] - base) / (2 * args.days) * 1000
    per_check = (figures["check_evaluations"] - base) / (3 * args.days) * 1000
    per_day = (figures["both"] - base) / args.days * 1000
    print(
        json.dumps(
            {
                "days": args.days,
                **{f"{k}_s": round(v, 2) for k, v in figures.items()},
                "ms_per_materialization": round(per_mat, 2),
                "ms_per_check_evaluation": round(per_check, 2),
                "ms_per_table_day": round(per_day, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
