"""A query model in words, Portuguese or English — what an answer did, so that a user sees a
misreading at once: "média da carga horária (MWmed), subsistema NE, de 2024-03-01 a 2024-03-07
(horário local)" / "mean of hourly load (MWmed), subsystem NE, 2024-03-01 to 2024-03-07 (local
time)".

Measures are named from their fields, aggregates and expressions (shares, flows with their
direction) from the selections, then filters, grouping, ranking, windows and the period (dates in
the model's zone, inclusive; compared periods and days of the week named), and the defaults that
were applied.
"""

from __future__ import annotations

import re
from datetime import datetime

from ons_pipeline.lib.ons_time import ONS_TIMEZONE
from ons_pipeline.lib.query.model import (
    TOP_N_MAX,
    Agg,
    Aggregation,
    BinOp,
    Const,
    Expr,
    FieldRef,
    FilterOp,
    QueryModel,
    Transform,
    TransformKind,
    from_ns,
    leaves,
    zone_info,
)

_FIELDS: dict[str, tuple[str, str]] = {
    "val_cargaenergiahomwmed": ("carga horária", "hourly load"),
    "val_carga": ("carga horária", "hourly load"),
    "val_gerhidraulica": ("geração hidráulica horária", "hourly hydro generation"),
    "val_gertermica": ("geração térmica horária", "hourly thermal generation"),
    "val_gereolica": ("geração eólica horária", "hourly wind generation"),
    "val_gersolar": ("geração solar horária", "hourly solar generation"),
    "val_intercambio": ("intercâmbio líquido horário", "hourly net interchange"),
    "val_cmo": ("CMO semi-horário", "half-hourly marginal cost (CMO)"),
    "ear_max_subsistema": ("capacidade máxima de armazenamento diária",
                           "daily maximum storage capacity"),
    "ear_verif_subsistema_mwmes": ("energia armazenada diária", "daily stored energy"),
    "ear_verif_subsistema_percentual": ("energia armazenada diária (% da capacidade)",
                                        "daily stored energy (% of capacity)"),
    "ena_bruta_regiao_mwmed": ("ENA bruta diária", "daily natural inflow energy"),
    "ena_bruta_regiao_percentualmlt": ("ENA bruta diária (% da MLT)",
                                       "daily natural inflow energy (% of long-term mean)"),
    "ena_armazenavel_regiao_mwmed": ("ENA armazenável diária", "daily storable inflow energy"),
    "ena_armazenavel_regiao_percentualmlt": ("ENA armazenável diária (% da MLT)",
                                             "daily storable inflow energy (% of long-term mean)"),
    "val_intercambiomwmed": ("intercâmbio horário verificado", "hourly verified interchange"),
    "val_intercambioprogmwmed": ("intercâmbio horário programado", "hourly scheduled interchange"),
    "val_geracao": ("geração horária por usina", "hourly plant generation"),
    # datasets of the example user mapping (examples/mappings/ons_extra.toml)
    "val_cmomediasemanal": ("CMO semanal (média dos patamares)",
                            "weekly marginal cost (CMO, mean of the load levels)"),
    "val_cmoleve": ("CMO semanal no patamar leve", "weekly marginal cost at light load"),
    "val_cmomedia": ("CMO semanal no patamar médio", "weekly marginal cost at medium load"),
    "val_cmopesada": ("CMO semanal no patamar pesado", "weekly marginal cost at heavy load"),
    "val_cargaenergiamwmed": ("carga diária", "daily load"),
}  # fmt: skip
_LEGACY = {
    "generation_data": ("valor horário de geração da plataforma antiga",
                        "hourly generation value of the legacy platform"),
    "consumption_data": ("valor horário de consumo da plataforma antiga",
                         "hourly consumption value of the legacy platform"),
    "transmission_data": ("fluxo horário nas linhas da plataforma antiga",
                          "hourly line flow of the legacy platform"),
}  # fmt: skip
_AGG = {
    Aggregation.MEAN: ("média", "mean"),
    Aggregation.SUM: ("soma", "sum"),
    Aggregation.MAX: ("máximo (e seu instante)", "maximum (and its time)"),
    Aggregation.MIN: ("mínimo (e seu instante)", "minimum (and its time)"),
    Aggregation.COUNT: ("número de valores", "count of values"),
    Aggregation.LAST: ("último valor", "latest value"),
    Aggregation.FIRST: ("primeiro valor", "first value"),
    Aggregation.MEDIAN: ("mediana", "median"),
    Aggregation.SPREAD: ("amplitude", "spread"),
    Aggregation.STDDEV: ("desvio padrão", "standard deviation"),
}
_TAGS = {
    "id_subsistema": ("subsistema", "subsystem"),
    "id_estado": ("estado", "state"),
    "nom_usina": ("usina", "plant"),
    "nom_tipousina": ("tipo de usina", "plant type"),
    "nom_tipocombustivel": ("combustível", "fuel"),
    "id_subsistema_origem": ("origem", "origin"),
    "id_subsistema_destino": ("destino", "destination"),
    "region": ("região", "region"),
    "energy_source": ("fonte", "energy source"),
    "consumer_type": ("tipo de consumidor", "consumer type"),
    "line_id": ("linha", "line"),
    "measurement_type": ("tipo de medição", "measurement type"),
}
_WINDOWS = {
    "30m": ("a cada 30 min", "every 30 min"),
    "1h": ("por hora", "per hour"),
    "1d": ("por dia", "per day"),
    "1w": ("por semana", "per week"),
    "1mo": ("por mês", "per month"),
    "1y": ("por ano", "per year"),
}
_TRANSFORMS = {
    TransformKind.MOVING_AVERAGE: ("média móvel de {n} janelas de", "moving average over {n} of"),
    TransformKind.DERIVATIVE: ("taxa de variação de", "rate of change of"),
    TransformKind.DIFFERENCE: ("diferença entre janelas de", "difference between windows of"),
    TransformKind.CUMULATIVE_SUM: ("soma acumulada de", "cumulative sum of"),
}


# the windows a window filter keeps or counts, named
_WINDOW_NOUNS = {
    "1h": ("as horas", "hours"), "1d": ("os dias", "days"), "1w": ("as semanas", "weeks"),
    "1mo": ("os meses", "months"), "1y": ("os anos", "years"),
}  # fmt: skip


def _t(pair: tuple[str, str], pt: bool) -> str:
    return pair[0] if pt else pair[1]


def _measure(model: QueryModel, name: str, pt: bool) -> str:
    if name in _FIELDS:
        return _t(_FIELDS[name], pt)
    if model.table in _LEGACY:
        return _t(_LEGACY[model.table], pt)
    return name


def _total_generation(expr: Expr) -> bool:
    found = {leaf.field for leaf in leaves(expr) if isinstance(leaf, Agg)}
    sources = {"val_gerhidraulica", "val_gertermica", "val_gereolica", "val_gersolar"}
    return isinstance(expr, BinOp) and expr.op == "+" and found == sources


_MASCULINE = ("intercâmbio", "CMO", "valor", "fluxo")


def _of(measure: str, pt: bool) -> str:
    """'of' before a measure: Portuguese contracts it with the article (da carga, do CMO)."""
    if not pt:
        return "of"
    return "do" if measure.startswith(_MASCULINE) else "da"


def _expr(model: QueryModel, expr: Expr, pt: bool) -> str:
    if isinstance(expr, Agg):
        measure = _measure(model, expr.field, pt)
        words = _t(_AGG[expr.func], pt)
        if len(model.selections) > 1 and not model.extreme_times:
            words = words.split(" (")[0]  # beside other aggregates InfluxDB gives no time
        return f"{words} {_of(measure, pt)} {measure}"
    if isinstance(expr, FieldRef):
        return _measure(model, expr.name, pt)
    if isinstance(expr, Transform):
        words = _t(_TRANSFORMS[expr.kind], pt).format(n=expr.n)
        return f"{words} {_expr(model, expr.arg, pt)}"
    if isinstance(expr, Const):
        return str(expr)
    if _total_generation(expr):
        func = next(leaf.func for leaf in leaves(expr) if isinstance(leaf, Agg))
        total = "geração total horária" if pt else "hourly total generation"
        return f"{_t(_AGG[func], pt)} {'da' if pt else 'of'} {total}"
    if expr.op == "*" and isinstance(expr.right, Const) and expr.right.value == 100:
        ratio = expr.left
        if isinstance(ratio, BinOp) and ratio.op == "/":
            num, den = ratio.left, ratio.right
            num_text = _expr(model, num, pt)
            den_text = (
                ("geração total" if pt else "total generation")
                if _total_generation(den)
                else _expr(model, den, pt)
            )
            return (
                f"participação (%): {num_text} / {den_text}"
                if pt
                else f"share (%): {num_text} / {den_text}"
            )
    if expr.op == "*" and isinstance(expr.left, Const) and expr.left.value == -1:
        inner = _expr(model, expr.right, pt)
        return f"{inner}, com o sinal invertido" if pt else f"{inner}, sign reversed"
    left, right = _expr(model, expr.left, pt), _expr(model, expr.right, pt)
    return f"({left}) {expr.op} ({right})"


def _filters(model: QueryModel, pt: bool) -> list[str]:
    out = []
    origin = next((f for f in model.tag_filters if f.tag == "id_subsistema_origem"), None)
    dest = next((f for f in model.tag_filters if f.tag == "id_subsistema_destino"), None)
    signs = [
        isinstance(s.expr, BinOp) and isinstance(s.expr.left, Const) and s.expr.left.value == -1
        for s in model.selections
    ]
    negated, each_way = any(signs), any(signs) and not all(signs)
    for flt in model.tag_filters:
        if flt.tag in ("id_subsistema_origem", "id_subsistema_destino"):
            continue
        name = _t(_TAGS.get(flt.tag, (flt.tag, flt.tag)), pt)
        values = (" e " if pt else " and ").join(flt.values)
        if flt.op is FilterOp.NE:
            out.append(f"{name} {'exceto' if pt else 'except'} {values}")
        else:
            plural = "s" if len(flt.values) > 1 and not name.endswith("s") else ""
            out.append(f"{name}{plural} {values}")
    if origin and dest and len(origin.values) == 1 and len(dest.values) == 1:
        a, b = origin.values[0], dest.values[0]
        if each_way:  # the largest flow asked of a pair: each way
            out.append(
                f"de {a} para {b} e de {b} para {a}" if pt else f"from {a} to {b} and {b} to {a}"
            )
        else:
            if negated:
                a, b = b, a
            out.append(f"de {a} para {b}" if pt else f"from {a} to {b}")
    elif origin and dest:
        pair = (" e " if pt else " and ").join(dict.fromkeys(origin.values + dest.values))
        out.append(f"entre {pair}, nos dois sentidos" if pt else f"between {pair}, both ways")
    return out


# tag → (pt singular, pt plural, pt feminine, en singular, en plural)
_RANKED = {
    "id_subsistema": ("subsistema", "subsistemas", False, "subsystem", "subsystems"),
    "nom_usina": ("usina", "usinas", True, "plant", "plants"),
    "id_estado": ("estado", "estados", False, "state", "states"),
    "nom_tipousina": ("tipo de usina", "tipos de usina", False, "plant type", "plant types"),
    "nom_tipocombustivel": ("combustível", "combustíveis", False, "fuel", "fuels"),
}


def _top(tag: str, n: int, bottom: bool, pt: bool) -> str:
    one, many, feminine, one_en, many_en = _RANKED.get(tag, (tag, tag, False, tag, tag))
    if n >= TOP_N_MAX:  # the largest top-N: every one, ranked
        if pt:
            every = "todas as" if feminine else "todos os"
            first, last = ("menor", "maior") if bottom else ("maior", "menor")
            return f"{every} {many}, do {first} para o {last} valor"
        first, last = ("lowest", "highest") if bottom else ("highest", "lowest")
        return f"every {one_en}, from the {first} value to the {last}"
    if pt:
        order = "menor" if bottom else "maior"
        if n == 1:
            return f"{'a' if feminine else 'o'} {one} de {order} valor"
        return f"{'as' if feminine else 'os'} {n} {many} de {order} valor"
    order = "lowest" if bottom else "highest"
    if n == 1:
        return f"the {one_en} with the {order} value"
    return f"the {n} {many_en} with the {order} values"


def _local(ns: int, zone_name: str) -> datetime:
    return from_ns(ns).astimezone(zone_info(zone_name))


def _range(start: int | None, end: int | None, zone: str, pt: bool) -> str:
    if start is None and end is None:
        return "todo o histórico" if pt else "all the data"
    if start is None:
        assert end is not None
        return f"até {_moment(end, zone)}" if pt else f"up to {_moment(end, zone)}"
    assert end is not None
    a, b = _local(start, zone), _local(end, zone)
    if (a.hour, a.minute, b.hour, b.minute) == (0, 0, 0, 0):
        last = datetime.fromordinal(b.toordinal() - 1)
        first_text, last_text = f"{a:%Y-%m-%d}", f"{last:%Y-%m-%d}"
        if first_text == last_text:
            return f"em {first_text}" if pt else f"on {first_text}"
        return f"de {first_text} a {last_text}" if pt else f"{first_text} to {last_text}"
    return (
        f"de {a:%Y-%m-%d %H:%M} a {b:%Y-%m-%d %H:%M}"
        if pt
        else f"{a:%Y-%m-%d %H:%M} to {b:%Y-%m-%d %H:%M}"
    )


def _moment(ns: int, zone: str) -> str:
    return f"{_local(ns, zone):%Y-%m-%d %H:%M}"


def describe(model: QueryModel, language: str = "en", assumptions: tuple[str, ...] = ()) -> str:
    """The model in words (``pt`` or ``en``); see the module docstring."""
    pt = language == "pt"
    zone = model.timezone or ONS_TIMEZONE
    parts = ["; ".join(_expr(model, s.expr, pt) for s in model.selections)]
    units = {u for u in model.units().values() if u}
    if len(units) == 1:
        parts[0] += f" ({units.pop()})"
    parts += _filters(model, pt)
    for vf in model.value_filters:  # "só os valores > 200", "only values > 200"
        value = f"{vf.value:g}"
        parts.append(f"só os valores {vf.op} {value}" if pt else f"only values {vf.op} {value}")
    counts = [leaf for s in model.selections for leaf in leaves(s.expr)]
    plain = model.window is None and not model.periods and model.top is None
    if (
        model.value_filters
        and plain
        and counts
        and all(isinstance(leaf, Agg) and leaf.func is Aggregation.COUNT for leaf in counts)
    ):  # InfluxDB gives no row when none passed; the answer gives 0 (execute._with_zero_counts)
        parts.append("0 quando nenhum" if pt else "0 when none")
    if model.top is not None:
        parts.append(_top(model.top.tag, model.top.n, model.top.bottom, pt))
    if model.group_tags:
        names = [_t(_TAGS.get(t, (t, t)), pt) for t in model.group_tags]
        if set(model.group_tags) == {"id_subsistema_origem", "id_subsistema_destino"}:
            names = ["par de subsistemas" if pt else "pair of subsystems"]
        parts.append(("por " if pt else "per ") + (" e " if pt else " and ").join(names))
    if model.window is not None:
        parts.append(_t(_WINDOWS.get(str(model.window), (str(model.window),) * 2), pt))
    if model.difference is not None:
        _, a, b = model.difference
        parts.append(_t((f"e a diferença {a} − {b}", f"and the difference {a} − {b}"), pt))
    if model.window_filter is not None:
        wf = model.window_filter
        value = f"{wf.value:g}"
        kind = _t(_WINDOW_NOUNS.get(str(model.window), ("as janelas", "windows")), pt)
        if wf.count:
            parts.append(
                f"contando {kind} cujo valor {wf.op} {value}"
                if pt
                else f"counting the {kind} whose value {wf.op} {value}"
            )
        else:
            parts.append(
                f"só {kind} cujo valor {wf.op} {value}"
                if pt
                else f"only the {kind} whose value {wf.op} {value}"
            )
    if model.by_day_of_week:
        parts.append(
            _t(
                (
                    "por dia da semana (1 = segunda … 7 = domingo, cada um sobre as semanas do "
                    "período)",
                    "by day of the week (1 = Monday … 7 = Sunday, each over the weeks of the "
                    "period)",
                ),
                pt,
            )
        )
    if model.by_hour_of_day:
        parts.append(
            _t(
                (
                    "por hora do dia (cada hora sobre os dias do período)",
                    "by hour of the day (each hour over the days of the period)",
                ),
                pt,
            )
        )
    ranked = [k for k in model.order_by if k.column != model.time_alias]
    if ranked and model.limit is not None:
        up = ranked[0].descending
        if pt:
            word = "maiores" if up else "menores"
            parts.append(
                f"só os {model.limit} de {word[:-2]} valor"
                if model.limit > 1
                else f"só o de {'maior' if up else 'menor'} valor"
            )
        else:
            word = "highest" if up else "lowest"
            parts.append(
                f"only the {model.limit} {word}" if model.limit > 1 else f"only the {word}"
            )
    local = "(horário local)" if pt else "(local time)"
    if model.periods and model.combine_periods:
        days = {d for p in model.periods for d in _weekdays(p.start, p.end, zone)}
        if days == {5, 6}:
            kind = "nos fins de semana" if pt else "on weekends"
        elif days == {0, 1, 2, 3, 4}:
            kind = "nos dias úteis" if pt else "on weekdays"
        elif len(days) <= 3:  # "às sextas-feiras": the days named
            names = _DAY_NAMES_PT if pt else _DAY_NAMES_EN
            kind = ("só " if pt else "on ") + (" e " if pt else " and ").join(
                names[d] for d in sorted(days)
            )
        else:
            kind = (
                f"em {len(model.periods)} intervalos" if pt else f"over {len(model.periods)} spans"
            )
        first = model.periods[0]
        if first.end - first.start < 86_400 * 10**9:  # the same hours of each day
            a, b = _local(first.start, zone), _local(first.end, zone)
            kind += f", {a:%H:%M}–{b:%H:%M}"
        parts.append(
            f"{kind}, {_range(model.time_range.start, model.time_range.end, zone, pt)} {local}"
        )
    elif model.periods:
        spans = [_range(p.start, p.end, zone, pt) for p in model.periods]
        joined = (" vs ").join(spans)
        parts.append(("comparando " if pt else "comparing ") + f"{joined} {local}")
    else:
        parts.append(f"{_range(model.time_range.start, model.time_range.end, zone, pt)} {local}")
    notes = [a.split(": ", 1)[1] for a in assumptions if a.startswith("no period given")]
    if notes:
        parts.append(_default_period_note(notes[0], pt))
    return ", ".join(parts)


_DAY_NAMES_PT = ("segundas", "terças", "quartas", "quintas", "sextas", "sábados", "domingos")
_DAY_NAMES_EN = (
    "Mondays",
    "Tuesdays",
    "Wednesdays",
    "Thursdays",
    "Fridays",
    "Saturdays",
    "Sundays",
)


def _default_period_note(note: str, pt: bool) -> str:
    latest = re.fullmatch(r"the latest (\d+) days of data \((\S+) to (\S+)\)", note)
    if latest:
        n, a, b = latest.groups()
        if pt:
            return f"sem período na pergunta: os últimos {n} dias com dados ({a} a {b})"
        return f"no period asked: the latest {n} days of data ({a} to {b})"
    everything = re.fullmatch(r"all the data \(from (\S+)\)", note)
    if everything and pt:
        return f"sem período na pergunta: todos os dados (desde {everything.group(1)})"
    clock = re.fullmatch(r"the last (\d+) days up to now.*", note)
    if clock and pt:
        return (
            f"sem período na pergunta: os últimos {clock.group(1)} dias até agora "
            "(a data dos dados mais recentes não é conhecida)"
        )
    return ("sem período na pergunta: " if pt else "no period asked: ") + note


def _weekdays(start: int, end: int, zone: str) -> set[int]:
    a, b = _local(start, zone), _local(end - 1, zone)
    days = set()
    for ordinal in range(a.toordinal(), b.toordinal() + 1):
        days.add(datetime.fromordinal(ordinal).weekday())
    return days
