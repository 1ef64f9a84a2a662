"""Run an independent question set through the rule reader, as the judges saw it.

    .venv/bin/python benchmarks/nl_sets/run.py benchmarks/nl_sets/set13 > /tmp/set13.txt

Each set folder holds ``questions.toml`` (the questions, their ``now`` and the meanings their
writer set down before any run), the reader's output on first contact and after the set's fixes,
and each judgement (``*_judged.md``: a judge that read no code). The output of this script on the
current code is comparable, line by line, with ``after_output.txt``. The reader is given the demo
data's plant names, as the API gives it the server's; ``--no-plants`` runs it without them (set
11's first run was made so); ``--conversation`` sends each question's predecessors as the API's
``previous`` (a follow-up such as "e no Nordeste?" is then read with the question before it).
"""

from __future__ import annotations

import argparse
import tomllib
from datetime import datetime
from pathlib import Path

from ons_pipeline.lib.query.influxql import render_influxql
from ons_pipeline.lib.query.nl import RuleTranslator
from ons_pipeline.local.generator.plants import plant_catalogue

FIRST_DATA = datetime.fromisoformat("2018-01-01T00:00:00-03:00")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("set_dir", type=Path, help="a folder with questions.toml")
    parser.add_argument("--no-plants", action="store_true", help="no plant names known")
    parser.add_argument(
        "--conversation",
        action="store_true",
        help="send the set's earlier questions as the conversation (the API's 'previous'), as a "
        "chat client does",
    )
    args = parser.parse_args()
    data = tomllib.loads((args.set_dir / "questions.toml").read_text(encoding="utf-8"))
    now = datetime.fromisoformat(data["now"])
    names = sorted(set(plant_catalogue().tags.column("nom_usina").to_pylist()))
    reader = RuleTranslator(
        latest=lambda _table: now.replace(minute=0),
        earliest=lambda _table: FIRST_DATA,
        plants=None if args.no_plants else (lambda: names),
    )
    asked: list[str] = []
    for q in data["q"]:
        print(f"=== {q['id']} [{q['lang']}] refuse={q.get('refuse')}: {q['text']}")
        previous = asked if args.conversation else []
        asked = [*asked, q["text"]]
        try:
            t = reader.translate(q["text"], now, previous=previous)
        except Exception as exc:  # a crash is a finding, reported with the others
            print(f"  CRASH {type(exc).__name__}: {exc}")
            continue
        print(f"  complete: {t.complete}")
        if t.read_as:
            print(f"  read as a follow-up: {t.read_as}")
        print(f"  interpretation: {t.interpretation}")
        if t.unmapped:
            print(f"  unmapped: {[str(u) for u in t.unmapped]}")
        if t.assumptions:
            print(f"  assumptions: {list(t.assumptions)}")
        if t.model is not None and t.complete:
            text = render_influxql(t.model).replace("\n", "\n            ")
            print(f"  influxql: {text}")


if __name__ == "__main__":
    main()
