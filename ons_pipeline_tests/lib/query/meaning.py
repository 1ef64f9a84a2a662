"""The meaning corpus (``meaning_dev.toml``, ``meaning_heldout.toml``): each question with the
meaning it must be given — measure, filters, period, aggregate, window, grouping, ranking... — and
the reading of a translation as such a meaning, so that two query models that mean the same thing
compare equal (e.g. hydro generation of a subsystem from the energy balance or from the plants).

Run ``python -m ons_pipeline_tests.lib.query.meaning [dev|heldout|all] [-v]`` for the accuracy
of each part (``-v`` lists every miss).
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ons_pipeline.lib.query.model import (
    Agg,
    BinOp,
    Const,
    Expr,
    FilterOp,
    QueryModel,
    Transform,
    from_ns,
    leaves,
)
from ons_pipeline.lib.query.nl import Translation, translate

HERE = Path(__file__).parent
PARTS = {"dev": HERE / "meaning_dev.toml", "heldout": HERE / "meaning_heldout.toml"}
ZONE = ZoneInfo("America/Sao_Paulo")

_SOURCE_FIELDS = {
    "val_gerhidraulica": "hydro",
    "val_gertermica": "thermal",
    "val_gereolica": "wind",
    "val_gersolar": "solar",
}
_PLANT_TYPES = {
    "HIDROELÉTRICA": "hydro",
    "TÉRMICA": "thermal",
    "EOLIELÉTRICA": "wind",
    "FOTOVOLTAICA": "solar",
    "NUCLEAR": "nuclear",
}
_FUELS = {
    "Gás": "gas",
    "Carvão": "coal",
    "Óleo Combustível": "fuel_oil",
    "Óleo Diesel": "diesel",
    "Biomassa": "biomass",
    "Resíduos Industriais": "industrial_waste",
}
_REGIONS = {"north": "N", "northeast": "NE", "south": "S", "southeast": "SE"}
_GROUPS = {
    "id_subsistema": "subsystem",
    "region": "subsystem",
    "nom_usina": "plant",
    "nom_tipousina": "source",
    "energy_source": "source",
    "nom_tipocombustivel": "fuel",
    "id_estado": "state",
    "consumer_type": "consumer",
    "line_id": "line",
}
_SIMPLE = {
    "val_cargaenergiahomwmed": "load",
    "val_carga": "load",
    "val_cmo": "cmo",
    "ear_verif_subsistema_percentual": "ear_pct",
    "ear_verif_subsistema_mwmes": "ear_mwmes",
    "ear_max_subsistema": "ear_max",
    "ena_bruta_regiao_mwmed": "ena",
    "ena_bruta_regiao_percentualmlt": "ena_mlt",
    "ena_armazenavel_regiao_mwmed": "ena_storable",
    "ena_armazenavel_regiao_percentualmlt": "ena_storable_mlt",
    "val_intercambioprogmwmed": "interchange_scheduled",
    "val_intercambiomwmed": "interchange",
    "val_intercambio": "net_interchange",
    "val_geracao": "generation",
}
_LEGACY = {
    "generation_data": "legacy_generation",
    "consumption_data": "legacy_consumption",
    "transmission_data": "legacy_transmission",
}


# -- reading a model --------------------------------------------------------------------------


def _local(ns: int | None) -> str:
    if ns is None:
        return ""
    moment = from_ns(ns).astimezone(ZONE)
    if (moment.hour, moment.minute) == (0, 0):
        return f"{moment:%Y-%m-%d}"
    return f"{moment:%Y-%m-%dT%H:%M}"


def _negated(expr: Expr) -> tuple[Expr, bool]:
    negated = isinstance(expr, BinOp) and expr.op == "*" and isinstance(expr.left, Const)
    if negated and expr.left.value == -1:  # type: ignore[union-attr]
        return expr.right, True  # type: ignore[union-attr]
    return expr, False


def _is_total(expr: Expr) -> bool:
    found = {leaf.field for leaf in leaves(expr) if isinstance(leaf, Agg)}
    return isinstance(expr, BinOp) and expr.op == "+" and found == set(_SOURCE_FIELDS)


def read(model: QueryModel, days: str | None = None) -> dict[str, Any]:
    """The meaning of a query model (see the corpus header for the keys); ``days``: the days of
    the week the translation kept (its periods are then those days, not compared periods)."""
    out: dict[str, Any] = {"f": {}, "g": [], "w": "", "top": "", "tf": "", "share": ""}
    filters: dict[str, list[str]] = out["f"]
    sel = model.selections[0].expr
    if isinstance(sel, Transform):
        out["tf"] = f"{sel.kind} {sel.n}" if sel.n is not None else str(sel.kind)
        sel = sel.arg
    sel, negated = _negated(sel)
    sources = [
        _SOURCE_FIELDS[leaf.field]
        for s in model.selections
        for leaf in leaves(s.expr)
        if isinstance(leaf, Agg) and leaf.field in _SOURCE_FIELDS
    ]
    agg: str | None = None
    if (
        isinstance(sel, BinOp)
        and sel.op == "*"
        and isinstance(sel.right, Const)
        and sel.right.value == 100
    ):
        ratio = sel.left
        assert isinstance(ratio, BinOp)
        num = ratio.left
        out["m"] = "generation"
        filters["source"] = sorted(
            {_SOURCE_FIELDS[leaf.field] for leaf in leaves(num) if isinstance(leaf, Agg)}
        )
        out["share"] = "generation" if _is_total(ratio.right) else "load"
    elif _is_total(sel):
        out["m"] = "generation"
        agg = str(next(leaf.func for leaf in leaves(sel) if isinstance(leaf, Agg)))
    else:
        leaf = leaves(sel)[0]
        assert isinstance(leaf, Agg)
        agg = str(leaf.func)
        if model.table in _LEGACY:
            out["m"] = _LEGACY[model.table]
        elif leaf.field in _SOURCE_FIELDS:
            out["m"] = "generation"
            if len(set(sources)) == 4 and len(model.selections) == 4:
                out["g"].append("source")
            else:
                filters["source"] = [_SOURCE_FIELDS[leaf.field]]
        else:
            out["m"] = _SIMPLE[leaf.field]
        if negated and agg in ("max", "min"):
            agg = "min" if agg == "max" else "max"
        if negated and out["m"] == "net_interchange":
            out["m"] = "net_import"
    for flt in model.tag_filters:
        values = list(flt.values)
        if flt.op is FilterOp.NE:
            continue
        if flt.tag == "id_subsistema":
            filters["subsystem"] = values
        elif flt.tag == "region":
            filters["subsystem"] = [_REGIONS[v] for v in values]
        elif flt.tag in ("nom_tipousina", "energy_source"):
            filters["source"] = sorted(_PLANT_TYPES.get(v, v) for v in values)
        elif flt.tag == "nom_tipocombustivel":
            filters["fuel"] = sorted(_FUELS.get(v, v) for v in values)
        elif flt.tag == "id_estado":
            filters["state"] = values
        elif flt.tag == "nom_usina":
            filters["plant"] = [v.lower() for v in values]
        elif flt.tag == "consumer_type":
            filters["consumer"] = values
        elif flt.tag == "line_id":
            filters["line"] = values
        elif flt.tag == "measurement_type":
            filters["mtype"] = values
    origin = next((f.values for f in model.tag_filters if f.tag == "id_subsistema_origem"), None)
    dest = next((f.values for f in model.tag_filters if f.tag == "id_subsistema_destino"), None)
    if origin and dest:
        if len(origin) == 1 and len(dest) == 1:
            a, b = (dest[0], origin[0]) if negated else (origin[0], dest[0])
            filters["from"], filters["to"] = [a], [b]
        else:
            filters["pair"] = sorted(set(origin) | set(dest))
    for tag in model.group_tags:
        if tag in _GROUPS and _GROUPS[tag] not in out["g"]:
            out["g"].append(_GROUPS[tag])
    if model.top is not None:
        entity = _GROUPS.get(model.top.tag, model.top.tag)
        out["top"] = f"{'bottom' if model.top.bottom else 'top'} {model.top.n} {entity}"
    out["w"] = str(model.window) if model.window is not None else ""
    if (
        model.table == "geracao_usina"
        and agg == "sum"
        and out["w"] == "1h"
        and "plant" not in out["g"]
    ):
        agg = "mean"  # one hourly total per window: the hourly values themselves
    out["agg"] = agg
    tr = model.time_range
    if model.periods and days is None:
        out["ps"] = [[_local(p.start), _local(p.end)] for p in model.periods]
    else:
        out["p"] = [_local(tr.start), _local(tr.end)]
        if days in ("weekend", "weekday"):
            out["days"] = days
        elif days is not None:
            kept = {int(d) for d in days.split(",")}
            out["days"] = (
                "weekend" if kept <= {5, 6} else "weekday" if kept <= set(range(5)) else days
            )
    out["unit"] = model.units()[model.selections[0].alias]
    return out


# -- comparing with the corpus ----------------------------------------------------------------


@dataclass
class Case:
    q: str
    lang: str
    data: dict[str, Any]

    @property
    def refuse(self) -> bool:
        return bool(self.data.get("refuse"))


@dataclass
class Corpus:
    now: datetime
    latest: datetime
    cases: list[Case]

    def latest_data(self, table: str) -> datetime:
        return self.latest


def load(part: str) -> Corpus:
    doc = tomllib.loads(PARTS[part].read_text(encoding="utf-8"))
    return Corpus(
        datetime.fromisoformat(doc["now"]),
        datetime.fromisoformat(doc["latest"]),
        [Case(c["q"], c["lang"], c) for c in doc["case"]],
    )


def refused(tr: Translation) -> bool:
    """The query service (default, not lenient) refuses this translation."""
    return tr.model is None or bool(tr.unmapped)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _default_period(corpus: Corpus) -> list[str]:
    last_day = corpus.latest.astimezone(ZONE).date()
    start = datetime.fromordinal(last_day.toordinal() - 6)
    end = datetime.fromordinal(last_day.toordinal() + 1)
    return [f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}"]


def differences(case: Case, got: dict[str, Any], corpus: Corpus) -> list[str]:
    """What differs between the expected meaning and the model's (empty: the same)."""
    want = case.data
    diffs: list[str] = []
    if got["m"] != want["m"]:
        diffs.append(f"measure {got['m']} != {want['m']}")
    exp_f: dict[str, list[str]] = {k: list(v) for k, v in want.get("f", {}).items()}
    got_f: dict[str, list[str]] = {k: list(v) for k, v in got["f"].items()}
    got_g = list(got["g"])
    whole_system = "subsystem" not in exp_f and "subsystem" not in want.get("g", [])
    if whole_system and not want.get("top", "").endswith("subsystem"):
        if got_f.get("subsystem") == ["SIN"]:
            got_f.pop("subsystem")
        if "subsystem" in got_g and "subsystem" not in got_f:
            got_g.remove("subsystem")
    if exp_f.get("subsystem") == ["SIN"] and "subsystem" not in got_f and "subsystem" not in got_g:
        exp_f.pop("subsystem")
    if got_f.get("subsystem") == ["SIN"] and "subsystem" not in exp_f:
        got_f.pop("subsystem")
    if "mtype" not in exp_f and got_f.get("mtype") == ["verified"]:
        got_f.pop("mtype")
    if "plant" in exp_f:
        exp_f["plant"] = [p.lower() for p in exp_f["plant"]]
    norm_exp = {k: sorted(v) for k, v in exp_f.items()}
    norm_got = {k: sorted(v) for k, v in got_f.items()}
    if norm_exp != norm_got:
        diffs.append(f"filters {norm_got} != {norm_exp}")
    if sorted(got_g) != sorted(want.get("g", [])):
        diffs.append(f"group {got_g} != {want.get('g', [])}")
    if got["top"] != want.get("top", ""):
        diffs.append(f"top {got['top']!r} != {want.get('top', '')!r}")
    if got["tf"] != want.get("tf", ""):
        diffs.append(f"transform {got['tf']!r} != {want.get('tf', '')!r}")
    if got["share"] != want.get("share", ""):
        diffs.append(f"share of {got['share']!r} != {want.get('share', '')!r}")
    if not want.get("share") and got["agg"] not in _as_list(want.get("agg")):
        diffs.append(f"aggregate {got['agg']} != {want.get('agg')}")
    if got["w"] not in _as_list(want.get("w", "")):
        diffs.append(f"window {got['w']!r} != {want.get('w', '')!r}")
    if "unit" in want and got["unit"] != want["unit"]:
        diffs.append(f"unit {got['unit']!r} != {want['unit']!r}")
    if "ps" in want:
        if got.get("ps") != want["ps"]:
            diffs.append(f"periods {got.get('ps') or got.get('p')} != {want['ps']}")
    else:
        period = want["p"]
        got_p = got.get("p")
        if period == "latest":
            latest = f"{corpus.latest.astimezone(ZONE):%Y-%m-%dT%H:%M}"
            if got_p is None or not (got_p[0] <= latest[:10] and (got_p[1] or "9") >= latest):
                diffs.append(f"period {got_p} does not hold the latest data")
        else:
            if period == "default":
                period = _default_period(corpus)
            if got_p != period:
                diffs.append(f"period {got.get('p') or got.get('ps')} != {period}")
        if got.get("days") != want.get("days"):
            diffs.append(f"days {got.get('days')} != {want.get('days')}")
    return diffs


@dataclass
class Outcome:
    case: Case
    translation: Translation
    right: bool
    refused: bool
    diffs: list[str] = field(default_factory=list)


def judge(case: Case, corpus: Corpus) -> Outcome:
    tr = translate(case.q, corpus.now, latest=corpus.latest_data)
    is_refused = refused(tr)
    if case.refuse:
        return Outcome(case, tr, is_refused, is_refused, [] if is_refused else ["answered"])
    if is_refused:
        return Outcome(case, tr, False, True, [str(u) for u in tr.unmapped] or ["no model"])
    assert tr.model is not None
    diffs = differences(case, read(tr.model, tr.days), corpus)
    return Outcome(case, tr, not diffs, False, diffs)


@dataclass
class Report:
    part: str
    outcomes: list[Outcome]

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def right(self) -> int:
        return sum(o.right for o in self.outcomes)

    @property
    def accuracy(self) -> float:
        return self.right / self.total

    @property
    def misread(self) -> list[Outcome]:
        """Answered with another meaning (the failure that matters most)."""
        return [o for o in self.outcomes if not o.right and not o.refused]

    @property
    def over_refused(self) -> list[Outcome]:
        """Refused though the question is answerable."""
        return [o for o in self.outcomes if not o.right and o.refused]

    @property
    def refusal_cases(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.case.refuse]

    def summary(self) -> str:
        refusals = self.refusal_cases
        return (
            f"{self.part}: {self.right}/{self.total} = {self.accuracy:.1%} right; "
            f"misread (answered with another meaning) {len(self.misread)}, "
            f"refused though answerable {len(self.over_refused)}; "
            f"not-understood questions refused {sum(o.refused for o in refusals)}"
            f"/{len(refusals)}"
        )


def evaluate(part: str) -> Report:
    corpus = load(part)
    return Report(part, [judge(c, corpus) for c in corpus.cases])


def main(argv: list[str]) -> int:
    parts = [a for a in argv if not a.startswith("-")] or ["dev"]
    if parts == ["all"]:
        parts = ["dev", "heldout"]
    for part in parts:
        report = evaluate(part)
        print(report.summary())  # noqa: T201
        if "-v" in argv:
            for o in report.outcomes:
                if not o.right:
                    kind = "REFUSED" if o.refused else "MISREAD"
                    print(f"  {kind}: {o.case.q}\n      " + "\n      ".join(o.diffs))  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
