"""Natural-language questions (Portuguese and English) → :class:`QueryModel`, offline.

A deterministic rule-based translator: the question is normalised (lower case, accents removed,
character positions kept), then phrases are recognised and *consumed* longest first — plant names,
states, periods, top-N, transforms, grouping, measures, subsystems, aggregations — so a shorter
word never matches inside a longer phrase ("southeast" is Sudeste, never "south" = Sul; "Rio
Grande do Sul" is a state, not the Sul subsystem). Whatever content word is left over is reported
as not understood, as are measures the data does not hold (PLD, prices) and periods that cannot
be read: the answer is never a silently wrong query.

Relative periods use an injectable ``now`` and calendar days of the configured zone (ONS data is
Brasília time by default). Defaults applied when the question leaves something out (no period, no
subsystem, no aggregation) are listed in ``assumptions``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from ons_pipeline.lib.ons_time import to_ns
from ons_pipeline.lib.query.model import (
    Agg,
    Aggregation,
    BinOp,
    Const,
    Duration,
    Expr,
    FilterOp,
    ModelError,
    QueryModel,
    Selection,
    TagFilter,
    TimeRange,
    TopN,
    Transform,
    TransformKind,
    zone_info,
)

DEFAULT_TIMEZONE = "America/Sao_Paulo"
DEFAULT_PERIOD = timedelta(days=7)

# -- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unmapped:
    """Something in the question the translator could not map: ``kind`` is ``measure``,
    ``period``, ``subsystem``, ``filter``, ``combination`` or ``word``."""

    kind: str
    text: str
    reason: str

    def __str__(self) -> str:
        return f"{self.kind} {self.text!r}: {self.reason}"


@dataclass(frozen=True)
class Translation:
    """The model (``None`` when no measure could be mapped), what was not understood, and the
    defaults that were applied."""

    question: str
    language: str
    model: QueryModel | None
    unmapped: tuple[Unmapped, ...] = ()
    assumptions: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """A model was built and every part of the question was understood."""
        return self.model is not None and not self.unmapped


class Translator(Protocol):
    """Question → :class:`Translation`; an LLM backend can implement the same interface."""

    def translate(self, question: str, now: datetime | None = None) -> Translation: ...


# -- text with consumable spans ---------------------------------------------------------------


def _fold(ch: str) -> str:
    base = unicodedata.normalize("NFD", ch)[0].lower()
    return base[0] if base else " "


class _Text:
    """The question: original, folded (same length) and a working copy where consumed spans are
    blanked so later patterns cannot match inside them."""

    def __init__(self, question: str) -> None:
        self.orig = question
        self.norm = "".join(_fold(ch) for ch in question)
        self.work = list(self.norm)

    @property
    def current(self) -> str:
        return "".join(self.work)

    def finditer(self, pattern: re.Pattern[str]) -> Iterator[re.Match[str]]:
        text = self.current
        return pattern.finditer(text)

    def take(self, pattern: re.Pattern[str]) -> list[re.Match[str]]:
        """All matches of ``pattern`` (on the working text), consumed."""
        found = list(self.finditer(pattern))
        for match in found:
            self.consume(match.start(), match.end())
        return found

    def consume(self, start: int, end: int) -> None:
        for i in range(start, end):
            self.work[i] = " "

    def original(self, start: int, end: int) -> str:
        return self.orig[start:end]


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.VERBOSE)


# -- vocabulary -------------------------------------------------------------------------------

_NUMBER_WORDS = {
    "um": 1, "uma": 1, "one": 1, "a": 1, "an": 1,
    "dois": 2, "duas": 2, "two": 2,
    "tres": 3, "three": 3, "quatro": 4, "four": 4, "cinco": 5, "five": 5,
    "seis": 6, "six": 6, "sete": 7, "seven": 7, "oito": 8, "eight": 8,
    "nove": 9, "nine": 9, "dez": 10, "ten": 10, "onze": 11, "eleven": 11,
    "doze": 12, "twelve": 12, "quinze": 15, "fifteen": 15, "vinte": 20, "twenty": 20,
    "trinta": 30, "thirty": 30,
}  # fmt: skip
_NUM = r"(?:\d+|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")"


def _number(text: str) -> int:
    text = text.strip()
    return int(text) if text.isdigit() else _NUMBER_WORDS[text]


_MONTHS = {
    "janeiro": 1, "january": 1, "jan": 1,
    "fevereiro": 2, "february": 2, "fev": 2, "feb": 2,
    "marco": 3, "march": 3, "mar": 3,
    "abril": 4, "april": 4, "abr": 4, "apr": 4,
    "maio": 5, "may": 5, "mai": 5,
    "junho": 6, "june": 6, "jun": 6,
    "julho": 7, "july": 7, "jul": 7,
    "agosto": 8, "august": 8, "ago": 8, "aug": 8,
    "setembro": 9, "september": 9, "set": 9, "sep": 9, "sept": 9,
    "outubro": 10, "october": 10, "out": 10, "oct": 10,
    "novembro": 11, "november": 11, "nov": 11,
    "dezembro": 12, "december": 12, "dez": 12, "dec": 12,
}  # fmt: skip
# abbreviations that are also ordinary words only count when a year or day is next to them
_MONTH_FULL = (
    r"(?:janeiro|fevereiro|marco|abril|maio|junho|julho|agosto|setembro|outubro|novembro|dezembro"
    r"|january|february|march|april|june|july|august|september|october|november|december)"
)
_MONTH_ANY = r"(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")"

_SUBSYSTEMS: list[tuple[str, str]] = [
    (r"sudeste\s*(?:/|e|-)?\s*centro[\s-]*oeste", "SE"),
    (r"south[\s-]*east(?:ern)?\s*(?:/|and|-)?\s*(?:center|central|centre|mid)[\s-]*west"
     r"(?:ern)?", "SE"),
    (r"sudeste|centro[\s-]*oeste|south[\s-]*east(?:ern)?"
     r"|(?:center|central|centre|mid)[\s-]*west(?:ern)?", "SE"),
    (r"nordeste|north[\s-]*east(?:ern)?", "NE"),
    (r"sul|south(?:ern)?", "S"),
    (r"norte|north(?:ern)?", "N"),
    (r"sin|sistema\s+interligado(?:\s+nacional)?|brasil|brazil|(?:o\s+)?pais|(?:the\s+)?country"
     r"|national\s+(?:grid|system)|(?:todo\s+o\s+)?sistema\s+(?:eletrico\s+)?nacional"
     r"|whole\s+(?:grid|system)", "SIN"),
]  # fmt: skip
_SUBSYSTEM_CODES = re.compile(r"(?<![\w-])(SE|NE|SIN|S|N)(?![\w-])")

_STATES = {
    "acre": "AC", "alagoas": "AL", "amapa": "AP", "amazonas": "AM", "bahia": "BA", "ceara": "CE",
    "distrito federal": "DF", "espirito santo": "ES", "goias": "GO", "maranhao": "MA",
    "mato grosso do sul": "MS", "mato grosso": "MT", "minas gerais": "MG", "para": "PA",
    "paraiba": "PB", "parana": "PR", "pernambuco": "PE", "piaui": "PI", "rio de janeiro": "RJ",
    "rio grande do norte": "RN", "rio grande do sul": "RS", "rondonia": "RO", "roraima": "RR",
    "santa catarina": "SC", "sao paulo": "SP", "sergipe": "SE", "tocantins": "TO",
}  # fmt: skip

# plant type names as ONS writes them (nom_tipousina)
_PLANT_TYPES = {
    "hydro": "HIDROELÉTRICA",
    "thermal": "TÉRMICA",
    "wind": "EOLIELÉTRICA",
    "solar": "FOTOVOLTAICA",
    "nuclear": "NUCLEAR",
}

_SOURCES = ("hydro", "thermal", "wind", "solar")
_BALANCO_FIELD = {
    "hydro": "val_gerhidraulica",
    "thermal": "val_gertermica",
    "wind": "val_gereolica",
    "solar": "val_gersolar",
    "load": "val_carga",
    "interchange": "val_intercambio",
}

_GEN = r"(?:geracao|gerac(?:ao|oes)|producao|generation|output|production|energia|energy|power)"
_OF = r"(?:\s+(?:de|da|do|das|dos|of|from))?"

# (pattern, measure key); longest and most specific first
_MEASURES: list[tuple[str, str]] = [
    (r"(?:pld|preco\s+de\s+liquidacao(?:\s+das\s+diferencas)?|settlement\s+price|spot\s+price"
     r"|preco(?:s)?(?:\s+da\s+energia)?|prices?(?:\s+of\s+energy)?|tarifa|tariff)",
     "unsupported:price"),
    (r"(?:energia\s+natural\s+afluente|ena|natural\s+inflow(?:\s+energy)?|inflow\s+energy"
     r"|afluencias?|inflows?)\s+armazenave(?:l|is)", "ena_storable"),
    (r"(?:ena|energia\s+natural\s+afluente)\s+armazenavel|storable\s+(?:natural\s+)?inflow"
     r"(?:\s+energy)?|storable\s+ena", "ena_storable"),
    (r"energia\s+natural\s+afluente|\bena\b|natural\s+inflow(?:\s+energy)?|inflow\s+energy"
     r"|afluencias?|inflows?", "ena"),
    (r"(?:capacidade\s+maxima\s+de\s+armazenamento|ear\s+maxim[ao]|armazenamento\s+maximo"
     r"|maximum\s+storage(?:\s+capacity)?|storage\s+capacity|max(?:imum)?\s+ear)", "ear_max"),
    (r"energia\s+armazenada|\bear\b|armazenamento|nivel\s+dos\s+reservatorios|reservatorios"
     r"|stored\s+energy|reservoir\s+(?:level|storage)s?|reservoirs?|storage", "ear"),
    (r"custo\s+marginal(?:\s+de\s+operacao)?|\bcmo\b|marginal\s+(?:operating\s+|operation\s+)?cost",
     "cmo"),
    (r"intercambio\s+programado|programmed\s+interchange|scheduled\s+(?:interchange|exchange)"
     r"|intercambio\s+previsto", "interchange_scheduled"),
    (r"intercambios?(?:\s+(?:de\s+energia|liquido))?|(?:net\s+)?(?:energy\s+)?interchanges?"
     r"|(?:net\s+)?(?:power\s+)?exchanges?|troca(?:s)?\s+de\s+energia|energy\s+transfers?"
     r"|fluxo\s+de\s+energia|power\s+flow", "interchange"),
    (_GEN + _OF + r"\s+(?:hidraulica|hidreletrica|hidroeletrica|hidro)s?"
     r"|(?:hidraulica|hidreletrica|hidroeletrica)s?|hydro(?:electric|power)?(?:\s+" + _GEN
     + r")?|usinas\s+hidreletricas", "hydro"),
    (_GEN + _OF + r"\s+(?:termica|termeletrica|termoeletrica)s?|(?:termica|termeletrica"
     r"|termoeletrica)s?|thermal(?:\s+" + _GEN + r")?|thermoelectric(?:\s+" + _GEN + r")?",
     "thermal"),
    (_GEN + _OF + r"\s+eolica|eolicas?|eolico|wind(?:\s+(?:power|farms?))?(?:\s+" + _GEN + r")?",
     "wind"),
    (_GEN + _OF + r"\s+(?:solar|fotovoltaica)|solar(?:es)?(?:\s+" + _GEN + r")?|fotovoltaicas?"
     r"|photovoltaic(?:\s+" + _GEN + r")?|\bpv\b", "solar"),
    (r"nuclear(?:es)?(?:\s+" + _GEN + r")?", "nuclear"),
    (r"carga(?:\s+de\s+energia)?|demanda(?:\s+de\s+energia)?|consumo(?:\s+de\s+energia)?"
     r"|(?:electricity\s+|power\s+|energy\s+)?(?:load|demand|consumption)", "load"),
    (r"(?:geracao|producao)\s+total|total\s+(?:de\s+)?(?:geracao|generation|production)",
     "generation_total"),
    (r"energia\s+(?:gerada|produzida)|(?:energy|power|electricity)\s+(?:generated|produced)"
     r"|\b(?:geracao|generation|gerou|geraram|gerada|gerado|generated|produced|produziu)\b",
     "generation"),
]  # fmt: skip

_PLANT_WORD = r"(?:usinas?|plants?|power\s+plants?|power\s+stations?|geradoras?|uhe|ute|ufv|eol)"

_STOPWORDS = set(
    """
    qual quais foi foram e é era o a os as de do da dos das no na nos nas em para pra pelo pela
    pelos pelas um uma uns umas me mostre mostrar mostra exiba exibir liste listar lista de quero
    queria ver saber valor valores dados sobre com como quanto quanta quantos quantas se que ao
    aos durante nesse neste nessa nesta esse este essa esta ser esta estava tem teve houve
    registrado registrada registrados registradas verificado verificada verificados observado
    observada nivel niveis serie historico informe informar diga dizer traga trazer gere gerar
    calcule calcular obter obtenha buscar busque retorne retornar qual eh
    regiao regioes subsistema subsistemas sistema eletrico energia mw mwmed mwh medios medias
    what which how much many show me give list get tell please value values level levels the of in
    on for to and at is was were are be been did does do there by with from into a an per over
    during within data series history time its their all
    região regiões subsistema elétrico
    por favor fala entre between para from existe existem exist exists there electricity
    eletricidade eletrica energetica
    """.split()  # noqa: SIM905
)


# -- periods ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    start: datetime
    end: datetime


def _month_span(year: int, month: int, zone: object) -> _Span:
    start = datetime(year, month, 1, tzinfo=zone)  # type: ignore[arg-type]
    nxt = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone)  # type: ignore[arg-type]
    return _Span(start, nxt)


def _day_span(year: int, month: int, day: int, zone: object) -> _Span:
    start = datetime(year, month, day, tzinfo=zone)  # type: ignore[arg-type]
    return _Span(start, _add_days(start, 1))


def _add_days(moment: datetime, days: int) -> datetime:
    """Same wall-clock time ``days`` later (local midnight stays midnight across DST)."""
    naive = moment.replace(tzinfo=None) + timedelta(days=days)
    return naive.replace(tzinfo=moment.tzinfo)


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(
        moment.day, [31, 29 if _leap(year) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month]
    )
    return moment.replace(year=year, month=month + 1, day=day)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


_DATE_ISO = (
    r"(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})(?:[t\s](?P<ih>\d{1,2}):(?P<imin>\d{2}))?"
)
_DATE_BR = r"(?P<bd>\d{1,2})/(?P<bm>\d{1,2})/(?P<by>\d{4})"
_DATE_LONG_PT = (
    r"(?:dia\s+)?(?P<pd>\d{1,2})(?:o|º)?\s+(?:de\s+)?(?P<pm>" + _MONTH_ANY + r")"
    r"(?:\s*(?:de|,)?\s+(?P<py>\d{4}))?"
)
_DATE_LONG_EN = (
    r"(?P<em>" + _MONTH_ANY + r")\s+(?P<ed>\d{1,2})(?:st|nd|rd|th)?(?:\s*,?\s+(?P<ey>\d{4}))?"
)
_MONTH_YEAR = (
    r"(?P<mm>" + _MONTH_ANY + r")\s*(?:de|/|,|-)?\s*(?P<my>\d{4})|(?P<ny>\d{4})-(?P<nm>\d{2})(?!-)"
    r"|(?P<sm>\d{1,2})/(?P<sy>\d{4})"
)
_QUARTER = (
    r"(?:(?P<qo>primeiro|segundo|terceiro|quarto|1o|2o|3o|4o|1º|2º|3º|4º|first|second|third"
    r"|fourth|1st|2nd|3rd|4th)\s+(?:trimestre|quarter)|q(?P<qn>[1-4]))\s*(?:de|of|,)?\s*(?P<qy>\d{4})"
)
_MONTH_ALONE = r"(?P<am>" + _MONTH_FULL + r")"
_YEAR = r"(?P<yy>(?:19|20)\d{2})"
_DX = re.compile(
    r"\b(?:"
    + "|".join(
        f"(?:{p})" for p in (_DATE_ISO, _DATE_BR, _QUARTER, _DATE_LONG_PT, _DATE_LONG_EN,
                             _MONTH_YEAR, _MONTH_ALONE, _YEAR)
    )
    + r")\b"
)  # fmt: skip
_QUARTER_WORDS = {
    "primeiro": 1,
    "segundo": 2,
    "terceiro": 3,
    "quarto": 4,
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
}

_DAY_RANGE = _rx(
    r"""\b(?:(?:de|from|entre|between|dias?|days?)\s+)?(?P<d1>\d{1,2})\s*(?:a|e|ate|to|and|-|through)\s*
    (?P<d2>\d{1,2})\s+(?:de\s+)?(?P<m>"""
    + _MONTH_ANY
    + r""")(?:\s*(?:de|,)?\s+(?P<y>\d{4}))?\b"""
)
_DAY_RANGE_EN = _rx(
    r"""\b(?:(?:from|between)\s+)?(?P<m>"""
    + _MONTH_ANY
    + r""")\s+(?P<d1>\d{1,2})\s*
    (?:-|to|and|through|until)\s*(?P<d2>\d{1,2})(?:\s*,?\s+(?P<y>\d{4}))?\b"""
)
_UNIT_WORDS = (
    r"(?P<unit>horas?|hrs?|h|hours?|dias?|days?|d|semanas?|weeks?|meses|mes|months?|anos?"
    r"|years?|minutos?|minutes?|mins?)"
)
_RELATIVE_N = _rx(
    r"""\b(?:(?:n[oa]s?|over\s+the|in\s+the|during\s+the|for\s+the|within\s+the|the)\s+)?
    (?:ultim[oa]s|last|past|previous|recent(?:es)?)\s+(?P<n>"""
    + _NUM
    + r""")\s*"""
    + _UNIT_WORDS
    + r"""(?:\s+(?:atras|ago))?\b"""
)
_RELATIVE_N_AGO = _rx(
    r"\b(?:(?:n[oa]s|over\s+the|in\s+the)\s+)?(?P<n>"
    + _NUM
    + r")\s*"
    + _UNIT_WORDS
    + r"\s+(?:atras|ago|passad[oa]s)\b"
)

_NAMED_PERIODS: list[tuple[str, str]] = [
    (r"(?:d?[oa]\s+)?anteontem|(?:the\s+)?day\s+before\s+yesterday", "day-2"),
    (r"(?:d?[oa]\s+)?ontem|yesterday", "day-1"),
    (r"(?:d?[oa]\s+)?hoje|today|(?:d?[oa]\s+)?dia\s+de\s+hoje", "today"),
    (r"(?:n?[oa]\s+)?(?:ultimas|past|last)\s+24\s*(?:horas|hours|h)", "hours24"),
    (r"(?:n?[oa]\s+)?(?:ultima|past|last|previous)\s+(?:semana|week)|(?:n?[oa]\s+)?semana\s+passada"
     r"|(?:nos\s+)?ultimos\s+sete\s+dias", "week-rolling"),
    (r"(?:n?[oa]\s+)?(?:esta|nesta|essa|nessa|this|current)\s+(?:semana|week)"
     r"|(?:n?[oa]\s+)?semana\s+atual", "week-this"),
    (r"(?:n?[oa]\s+)?mes\s+passado|(?:the\s+)?(?:last|previous)\s+month", "month-prev"),
    (r"(?:n?[oa]\s+)?ultimo\s+mes|(?:the\s+)?past\s+month", "month-rolling"),
    (r"(?:n?[oa]\s+)?(?:este|neste|esse|nesse|this|current)\s+(?:mes|month)"
     r"|(?:n?[oa]\s+)?mes\s+atual", "month-this"),
    (r"(?:n?[oa]\s+)?ano\s+passado|(?:the\s+)?(?:last|previous)\s+year", "year-prev"),
    (r"(?:n?[oa]\s+)?ultimo\s+ano|(?:the\s+)?past\s+year|(?:the\s+)?last\s+12\s+months",
     "year-rolling"),
    (r"(?:n?[oa]\s+)?(?:este|neste|esse|nesse|this|current)\s+(?:ano|year)"
     r"|(?:n?[oa]\s+)?ano\s+atual|year\s+to\s+date|ytd", "year-this"),
]  # fmt: skip
_NAMED_PERIOD_RX = [(_rx(r"\b(?:" + p + r")\b"), key) for p, key in _NAMED_PERIODS]

# -- other phrases ----------------------------------------------------------------------------

_TOP = [
    _rx(r"\b(?:top|os|as|the)?\s*(?P<n>" + _NUM + r")\s+(?:maiores|principais|largest|biggest|top"
        r"|mais\s+geradoras|highest)\b"),
    _rx(r"\btop[\s-]*(?P<n>" + _NUM + r")\b"),
    _rx(r"\b(?:os|as|the)\s+(?P<n>\d+)\s+(?=" + _PLANT_WORD + r")"),
    _rx(r"\b(?:(?:os|as|the)\s+)?(?P<n>" + _NUM + r")\s+(?:menores|smallest|lowest|bottom)\b"),
    _rx(r"\bbottom[\s-]*(?P<n>" + _NUM + r")\b"),
]  # fmt: skip
_TOP_WITHOUT_N = _rx(r"\b(?:(?:as|os|the)\s+)?(?:maiores|principais|largest|biggest|top)\b")
_TOP_ONE = _rx(r"\b(?:(?:a|o|the)\s+)?(?:maior|largest|biggest)\b")
_TOP_HINTS = _rx(
    r"\b(?:que\s+mais\s+(?:geraram|gerou|produziram|produziu)|that\s+generated\s+the\s+most"
    r"|with\s+the\s+(?:highest|largest|most)\s+(?:generation|output)|generated\s+the\s+most"
    r"|por\s+(?:geracao|generation)|by\s+(?:generation|output)|em\s+geracao|ranking|rank(?:ed)?)\b"
)

_MOVING_AVG = _rx(
    r"\b(?:media\s+movel|moving\s+average|rolling\s+(?:average|mean))(?:\s+(?:de|of|over)?\s*"
    r"(?P<n>" + _NUM + r")[\s-]*(?P<unit>dias?|days?|horas?|hours?|pontos|points|semanas?|weeks?"
    r"|meses|months?|periodos|periods))?\b"
)
_MOVING_AVG_PREFIX = _rx(
    r"\b(?P<n>" + _NUM + r")[\s-]*(?P<unit>dias?|days?|horas?|hours?|semanas?|weeks?|meses|months?"
    r"|pontos|points)\s+(?:moving\s+average|rolling\s+(?:average|mean)|media\s+movel)\b"
)
_TREND = _rx(r"\b(?:tendencias?|trends?|trending|taxa\s+de\s+variacao|rate\s+of\s+change)\b")
_DIFFERENCE = _rx(
    r"\b(?:variacao|variacoes|changes?\s+(?:from|between)\s+(?:one|each)\s+\w+"
    r"|period[\s-]+over[\s-]+period\s+change|changes?|diferenca\s+entre\s+periodos)\b"
)
_CUMULATIVE = _rx(
    r"\b(?:soma\s+acumulada|acumulad[oa]\s+(?:ao\s+longo|no\s+periodo)|running\s+total"
    r"|cumulative(?:\s+sum|\s+total)?|acumulad[oa])\b"
)
_SHARE = _rx(
    r"\b(?:participacao|parcela|fatia|proporcao|percentual|porcentagem|share|proportion"
    r"|percentage|fraction|contribution|contribuicao)\b|%"
)
_RATIO = _rx(r"\b(?:razao|relacao|ratio|dividid[oa]\s+por|divided\s+by|sobre\s+a)\b")
_COMPARE = _rx(
    r"\b(?:compare|comparar|compara|comparacao|comparativo|comparing|comparison|versus"
    r"|vs\.?|contra|against)\b|(?<=\s)x(?=\s)"
)

_GROUP_TIME: list[tuple[str, str]] = [
    (r"(?:a\s+cada|every|por|per|each|in)\s+(?P<n>" + _NUM + r")\s*(?:minutos|minutes|mins?|min)"
     r"(?:\s+windows)?", "{n}m"),
    (r"(?:a\s+cada|every|por|per|each|in)\s+(?P<n>" + _NUM + r")\s*(?:horas|hours|h)"
     r"(?:\s+windows)?", "{n}h"),
    (r"(?:a\s+cada|every|por|per|each|in)\s+(?P<n>" + _NUM + r")\s*(?:dias|days)(?:\s+windows)?",
     "{n}d"),
    (r"(?:por|a\s+cada)\s+meia\s+hora|semi[\s-]?horari[oa]s?|half[\s-]?hourly|every\s+half\s+hour"
     r"|per\s+half\s+hour|(?:a\s+cada|every)\s+30\s+min", "30m"),
    (r"(?:por|a\s+cada|de|each|every|per|by)\s+(?:hora|hour)|horari[oa]s?|hora\s+a\s+hora"
     r"|hourly|hour\s+by\s+hour", "1h"),
    (r"(?:por|a\s+cada|each|every|per|by)\s+(?:dia|day)|diari[oa]s?|dia\s+a\s+dia|daily"
     r"|day\s+by\s+day", "1d"),
    (r"(?:por|a\s+cada|each|every|per|by)\s+(?:semana|week)|semana\s+a\s+semana|semanais|semanal"
     r"|weekly|week\s+by\s+week", "1w"),
    (r"(?:por|a\s+cada|each|every|per|by)\s+(?:mes|month)|mes\s+a\s+mes|mensais|mensal|monthly"
     r"|month\s+by\s+month", "1mo"),
    (r"(?:por|a\s+cada|each|every|per|by)\s+(?:ano|year)|ano\s+a\s+ano|anuais|anual|yearly"
     r"|annual(?:ly)?|year\s+by\s+year", "1y"),
]  # fmt: skip
_GROUP_TIME_RX = [(_rx(r"\b(?:" + p + r")\b"), w) for p, w in _GROUP_TIME]

_GROUP_TAG: list[tuple[str, str]] = [
    (r"(?:por|cada|each|per|by|para\s+cada|for\s+each|todos\s+os|all)\s+(?:tipos?\s+de\s+usinas?"
     r"|tipos?|plant\s+types?|types?(?:\s+of\s+plants?)?)", "nom_tipousina"),
    (r"(?:por|cada|each|per|by|para\s+cada|for\s+each)\s+(?:tipo\s+de\s+)?(?:combustivel|combustiveis"
     r"|fuels?(?:\s+types?)?)", "nom_tipocombustivel"),
    (r"(?:por|cada|each|per|by|para\s+cada|for\s+each)\s+(?:usinas?|plants?|power\s+plants?)",
     "nom_usina"),
    (r"(?:por|cada|each|per|by|para\s+cada|for\s+each)\s+(?:estados?|states?|uf)", "id_estado"),
    (r"(?:por|cada|each|per|by|para\s+cada|for\s+each|todos\s+os|em\s+todos\s+os|all|across)"
     r"\s+(?:os\s+)?(?:subsistemas?|regioes|regiao|subsystems?|regions?)", "id_subsistema"),
]  # fmt: skip
_GROUP_TAG_RX = [(_rx(r"\b(?:" + p + r")\b"), t) for p, t in _GROUP_TAG]
_BY_SOURCE = _rx(
    r"\b(?:por|each|per|by|para\s+cada|for\s+each)\s+(?:fontes?|sources?|tipo\s+de\s+fonte"
    r"|energy\s+sources?|fonte\s+de\s+energia)\b|\b(?:matriz|mix)(?:\s+(?:eletrica|energetica"
    r"|de\s+geracao|energy|generation|electricity))?\b"
)

_AGGREGATIONS: list[tuple[str, Aggregation]] = [
    (r"desvio[\s-]+padrao|standard\s+deviation|std\s*dev|stddev|volatilidade|volatility",
     Aggregation.STDDEV),
    (r"mediana|median", Aggregation.MEDIAN),
    (r"amplitude|spread", Aggregation.SPREAD),
    (r"(?:quantos|quantas|numero\s+de|how\s+many|number\s+of|count\s+of)\s+(?:registros|medicoes"
     r"|pontos|amostras|valores|records|points|measurements|samples|values|rows|linhas)"
     r"|contagem|\bcount\b", Aggregation.COUNT),
    (r"(?:valor\s+)?(?:mais\s+recente|atual|atualmente|agora|neste\s+momento|current(?:ly)?"
     r"|latest|right\s+now|most\s+recent|ultimo\s+valor|last\s+value|now)", Aggregation.LAST),
    (r"primeiro\s+valor|first\s+value", Aggregation.FIRST),
    (r"medi[ao]s?|average|\bavg\b|\bmean\b|em\s+media|on\s+average", Aggregation.MEAN),
    (r"(?:valor\s+)?(?:maxim[oa]s?|max|maximum|pico|picos|peak|peaks|highest|maior(?:es)?|mais\s+alt[oa]"
     r"|record|recorde)", Aggregation.MAX),
    (r"(?:valor\s+)?(?:minim[oa]s?|min|minimum|lowest|menor(?:es)?|mais\s+baix[oa]|vale)",
     Aggregation.MIN),
    (r"soma|somatorio|\bsum\b|\btotal\b|energia\s+total|total\s+energy", Aggregation.SUM),
]  # fmt: skip
_AGG_RX = [(_rx(r"\b(?:" + p + r")\b"), a) for p, a in _AGGREGATIONS]

_MLT = _rx(
    r"(?:\b(?:em|in|as|como)\s+)?(?:%|\bpercentual|\bpercent(?:age)?)?\s*"
    r"(?:\b(?:da|de|of\s+the|of)\s+)?"
    r"\b(?:mlt|long[\s-]term\s+(?:average|mean)|media\s+de\s+longo\s+termo)\b"
)
_MWMES = _rx(r"\b(?:em\s+|in\s+)?(?:mw\s*mes|mwmes|mw[\s-]*months?)\b")
_BETWEEN_SUBSYSTEMS = _rx(r"\b(?:entre|between)(?:\s+(?:o|a|the))?\s*$")
_FROM_TO = _rx(r"\b(?:de|do|da|from)(?:\s+(?:o|a|the))?\s*$")
_TO = _rx(r"^\s*(?:para\s+o|para\s+a|para|pro|pra|ao|a|to|into|->|→)(?:\s+(?:o|a|the))?\s*$")
_AND = _rx(r"^\s*(?:e|and|x|vs\.?|versus|com|with|,)(?:\s+(?:o|a|the|do|da))?\s*$")


# -- the translator ---------------------------------------------------------------------------


@dataclass
class _State:
    text: _Text
    now: datetime
    zone: object
    unmapped: list[Unmapped] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    period: _Span | None = None
    top: tuple[int, bool] | None = None
    transform: tuple[TransformKind, int | None, str | None] | None = None
    share: bool = False
    ratio: bool = False
    window: str | None = None
    group_tags: list[str] = field(default_factory=list)
    by_source: bool = False
    measures: list[tuple[int, str, str]] = field(default_factory=list)  # (pos, key, text)
    subsystems: list[tuple[int, str, str]] = field(default_factory=list)  # (pos, code, text)
    states: list[tuple[int, str]] = field(default_factory=list)
    plant_names: list[str] = field(default_factory=list)
    plant_context: bool = False
    aggregations: list[tuple[int, Aggregation, str]] = field(default_factory=list)
    compare: bool = False
    mlt: bool = False
    mwmes: bool = False


class RuleTranslator:
    """The offline, deterministic translator (see the module docstring)."""

    def __init__(
        self,
        timezone: str = DEFAULT_TIMEZONE,
        default_period: timedelta = DEFAULT_PERIOD,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.timezone = timezone
        self.zone = zone_info(timezone)
        self.default_period = default_period
        self.clock = clock or (lambda: datetime.now(UTC))

    # -- entry point ----------------------------------------------------------------------------
    def translate(self, question: str, now: datetime | None = None) -> Translation:
        """Translate one question; ``now`` (aware) anchors relative periods."""
        moment = now or self.clock()
        if moment.tzinfo is None:
            raise ModelError("now must be an aware datetime")
        text = _Text(question[:1000])
        st = _State(text=text, now=moment.astimezone(self.zone), zone=self.zone)
        self._plants(st)
        self._states(st)
        self._periods(st)
        st.mlt = bool(text.take(_MLT))
        st.mwmes = bool(text.take(_MWMES))
        self._top(st)
        self._transforms(st)
        self._grouping(st)
        self._measures(st)
        self._subsystems(st)
        self._aggregations(st)
        self._compare(st)
        model = self._build(st)
        self._leftovers(st)
        return Translation(
            question=question,
            language=_language(text.norm),
            model=model,
            unmapped=tuple(st.unmapped),
            assumptions=tuple(st.assumptions),
        )

    # -- extractors -----------------------------------------------------------------------------
    def _plants(self, st: _State) -> None:
        text = st.text
        quoted = _rx(r"""["“'‘](?P<name>[^"”'’]{1,80})["”'’]""")
        for match in quoted.finditer(text.orig):
            st.plant_names.append(match.group("name").strip())
            text.consume(match.start(), match.end())
        name_rx = _rx(
            r"\b(?P<kw>usina|uhe|ute|ufv|eol|plant|power\s+plant|power\s+station)"
            r"(?:\s+(?:de|da|do|of))?\s+(?P<rest>.*)$"
        )
        for match in list(text.finditer(name_rx)):
            start = match.start("rest")
            name_end = _capitalised_run(text.orig, start)
            if name_end > start:
                st.plant_names.append(text.orig[start:name_end].strip())
                text.consume(match.start(), name_end)
        before_rx = _rx(r"(?P<kw>\s(?:plant|power\s+plant|power\s+station|hydro\s+plant|dam))\b")
        for match in list(text.finditer(before_rx)):
            begin = _capitalised_run_backwards(text.orig, match.start())
            if begin < match.start():
                st.plant_names.append(text.orig[begin : match.start()].strip())
                text.consume(begin, match.end())
        if st.plant_names:
            st.plant_context = True
        generic = _rx(r"\b" + _PLANT_WORD + r"\b")
        if text.take(generic):
            st.plant_context = True

    def _states(self, st: _State) -> None:
        for name in sorted(_STATES, key=len, reverse=True):
            rx = _rx(
                r"\b(?:(?:n[oa]|d[oa]|em|in|of)\s+)?(?:estado\s+(?:d[eoa]\s+)?)?"
                + re.escape(name)
                + r"\b"
            )
            for match in st.text.take(rx):
                # "para" is also a preposition: only a state after "do/no/estado do"
                if name == "para" and not re.match(r"(?:n|d)o\s|estado", match.group(0)):
                    st.text.work[match.start() : match.end()] = list(
                        st.text.norm[match.start() : match.end()]
                    )
                    continue
                st.states.append((match.start(), _STATES[name]))

    def _periods(self, st: _State) -> None:
        text, now = st.text, st.now
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        found: list[tuple[int, int, _Span, bool]] = []  # start, end, span, open-ended
        for rx, key in _NAMED_PERIOD_RX:
            for match in text.take(rx):
                found.append((match.start(), match.end(), self._named(key, now, today), False))
        for rx in (_RELATIVE_N, _RELATIVE_N_AGO):
            for match in text.take(rx):
                span = self._relative(_number(match.group("n")), match.group("unit"), now)
                found.append((match.start(), match.end(), span, False))
        for rx in (_DAY_RANGE, _DAY_RANGE_EN):
            for match in text.take(rx):
                try:
                    month = _MONTHS[match.group("m")]
                    year = int(match.group("y")) if match.group("y") else self._year(month, now)
                    a = _day_span(year, month, int(match.group("d1")), st.zone)
                    b = _day_span(year, month, int(match.group("d2")), st.zone)
                    found.append((match.start(), match.end(), _Span(a.start, b.end), False))
                except ValueError:
                    st.unmapped.append(Unmapped("period", match.group(0), "not a valid date"))
        dxs: list[tuple[int, int, _Span]] = []
        for match in text.finditer(_DX):
            try:
                span = self._dx(match, now)
            except ValueError:
                st.unmapped.append(Unmapped("period", match.group(0).strip(), "not a valid date"))
                text.consume(match.start(), match.end())
                continue
            if span is not None:
                dxs.append((match.start(), match.end(), span))
        # combine consecutive date expressions joined as ranges
        i = 0
        current = text.current
        while i < len(dxs):
            s0, e0, sp0 = dxs[i]
            before = current[:s0]
            if i + 1 < len(dxs):
                s1, e1, sp1 = dxs[i + 1]
                between = current[e0:s1]
                is_between = re.search(r"\b(?:entre|between)\s*$", before) and re.fullmatch(
                    r"\s*(?:e|and|-)\s*", between
                )
                is_from_to = re.search(r"\b(?:de|from|do\s+dia|desde|since)\s*$", before) and (
                    re.fullmatch(
                        r"\s*(?:a|ate|to|until|till|through|-|e)\s*(?:o\s+dia\s+)?", between
                    )
                )
                is_dash = re.fullmatch(r"\s*(?:-|a|ate|to|until|through)\s*", between)
                if is_between or is_from_to or is_dash:
                    prefix = re.search(
                        r"\b(?:entre|between|de|from|do\s+dia|desde|since)\s*$", before
                    )
                    begin = prefix.start() if prefix else s0
                    start, end = sp0.start, sp1.end
                    if sp1.start < sp0.start:
                        st.unmapped.append(
                            Unmapped(
                                "period",
                                current[begin:e1].strip(),
                                "the range ends before it starts",
                            )
                        )
                    found.append((begin, e1, _Span(start, end), False))
                    text.consume(begin, e1)
                    i += 2
                    continue
            prefix_rx = re.search(
                r"\b(?:desde|since|a\s+partir\s+de|starting(?:\s+from)?|after|apos|depois\s+de)"
                r"(?:\s+(?:o\s+dia|o|a|the))?\s*$",
                before,
            )
            until_rx = re.search(
                r"\b(?:ate|until|till|before|antes\s+de)(?:\s+(?:o\s+dia|o|a|the))?\s*$", before
            )
            if prefix_rx:
                text.consume(prefix_rx.start(), e0)
                found.append((prefix_rx.start(), e0, _Span(sp0.start, now), True))
            elif until_rx:
                text.consume(until_rx.start(), e0)
                st.unmapped.append(
                    Unmapped(
                        "period",
                        current[until_rx.start() : e0].strip(),
                        "a period needs a start: say 'between ... and ...'",
                    )
                )
            else:
                lead = re.search(
                    r"\b(?:em|in|on|no|na|durante|during|for|de|do|da|dia|of|at|throughout)"
                    r"(?:\s+(?:o\s+dia|o\s+ano\s+de|o\s+mes\s+de|the\s+year|the\s+month\s+of|the))?\s*$",
                    before,
                )
                begin = lead.start() if lead else s0
                text.consume(begin, e0)
                found.append((begin, e0, sp0, False))
            i += 1
        if len(found) > 1:
            found.sort()
            shown = ", ".join(repr(st.text.original(a, b).strip()) for a, b, _, _ in found)
            st.unmapped.append(
                Unmapped(
                    "period",
                    shown,
                    "several periods: comparing periods is not supported, ask once per period",
                )
            )
        if found:
            _, _, span, _ = found[0]
            st.period = span
            if span.start > now:
                st.unmapped.append(
                    Unmapped(
                        "period",
                        st.text.original(found[0][0], found[0][1]).strip(),
                        "the period is in the future",
                    )
                )

    def _year(self, month: int, now: datetime) -> int:
        return now.year if month <= now.month else now.year - 1

    def _named(self, key: str, now: datetime, today: datetime) -> _Span:
        if key == "day-2":
            return _Span(_add_days(today, -2), _add_days(today, -1))
        if key == "day-1":
            return _Span(_add_days(today, -1), today)
        if key == "today":
            return _Span(today, now)
        if key == "hours24":
            return _Span(now - timedelta(hours=24), now)
        if key == "week-rolling":
            return _Span(_add_days(now, -7), now)
        if key == "week-this":
            return _Span(_add_days(today, -today.weekday()), now)
        month_start = today.replace(day=1)
        if key == "month-prev":
            return _Span(_add_months(month_start, -1), month_start)
        if key == "month-rolling":
            return _Span(_add_months(now, -1), now)
        if key == "month-this":
            return _Span(month_start, now)
        year_start = today.replace(month=1, day=1)
        if key == "year-prev":
            return _Span(year_start.replace(year=year_start.year - 1), year_start)
        if key == "year-rolling":
            return _Span(_add_months(now, -12), now)
        return _Span(year_start, now)

    def _relative(self, n: int, unit: str, now: datetime) -> _Span:
        if unit.startswith(("min", "minute")):
            return _Span(now - timedelta(minutes=n), now)
        if unit.startswith(("h", "hora", "hour")):
            return _Span(now - timedelta(hours=n), now)
        if unit.startswith(("d", "dia", "day")):
            return _Span(_add_days(now, -n), now)
        if unit.startswith(("sem", "week")):
            return _Span(_add_days(now, -7 * n), now)
        if unit.startswith(("mes", "month")):
            return _Span(_add_months(now, -n), now)
        return _Span(_add_months(now, -12 * n), now)

    def _dx(self, m: re.Match[str], now: datetime) -> _Span | None:
        g = m.groupdict()
        zone = now.tzinfo
        if g["iy"]:
            if g["ih"]:
                start = datetime(
                    int(g["iy"]),
                    int(g["im"]),
                    int(g["id"]),
                    int(g["ih"]),
                    int(g["imin"]),
                    tzinfo=zone,
                )
                return _Span(start, start + timedelta(hours=1))
            return _day_span(int(g["iy"]), int(g["im"]), int(g["id"]), zone)
        if g["by"]:
            return _day_span(int(g["by"]), int(g["bm"]), int(g["bd"]), zone)
        if g["qy"]:
            q = int(g["qn"]) if g["qn"] else _QUARTER_WORDS.get(g["qo"], 0) or int(g["qo"][0])
            a = _month_span(int(g["qy"]), 3 * q - 2, zone)
            b = _month_span(int(g["qy"]), 3 * q, zone)
            return _Span(a.start, b.end)
        if g["pm"]:
            month = _MONTHS[g["pm"]]
            year = int(g["py"]) if g["py"] else self._year(month, now)
            return _day_span(year, month, int(g["pd"]), zone)
        if g["em"]:
            month = _MONTHS[g["em"]]
            year = int(g["ey"]) if g["ey"] else self._year(month, now)
            return _day_span(year, month, int(g["ed"]), zone)
        if g["mm"]:
            return _month_span(int(g["my"]), _MONTHS[g["mm"]], zone)
        if g["ny"]:
            return _month_span(int(g["ny"]), int(g["nm"]), zone)
        if g["sy"]:
            return _month_span(int(g["sy"]), int(g["sm"]), zone)
        if g["am"]:
            month = _MONTHS[g["am"]]
            return _month_span(self._year(month, now), month, zone)
        if g["yy"]:
            year = int(g["yy"])
            return _Span(datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone))
        return None

    def _top(self, st: _State) -> None:
        for index, rx in enumerate(_TOP):
            for match in st.text.take(rx):
                bottom = index >= 3
                st.top = (_number(match.group("n")), bottom)
                st.text.take(_TOP_HINTS)
                return
        if not st.plant_context:
            return
        if st.text.take(_TOP_WITHOUT_N) or st.text.take(_TOP_HINTS):
            st.top = (10, False)
        elif st.text.take(_TOP_ONE):
            st.top = (1, False)
            return

    def _transforms(self, st: _State) -> None:
        text = st.text
        for match in text.take(_MOVING_AVG_PREFIX) + text.take(_MOVING_AVG):
            n = _number(match.group("n")) if match.group("n") else None
            unit = match.group("unit") or ""
            window = None
            if unit.startswith(("dia", "day")):
                window = "1d"
            elif unit.startswith(("hora", "hour")):
                window = "1h"
            elif unit.startswith(("sem", "week")):
                window = "1w"
            elif unit.startswith(("mes", "month")):
                window = "1mo"
            st.transform = (TransformKind.MOVING_AVERAGE, n, window)
        if text.take(_TREND):
            st.transform = (TransformKind.DERIVATIVE, None, None)
        if text.take(_CUMULATIVE):
            st.transform = (TransformKind.CUMULATIVE_SUM, None, None)
        if text.take(_DIFFERENCE):
            st.transform = (TransformKind.DIFFERENCE, None, None)
        if text.take(_RATIO):
            st.ratio = True

    def _grouping(self, st: _State) -> None:
        for rx, window in _GROUP_TIME_RX:
            for match in st.text.take(rx):
                n = match.groupdict().get("n")
                st.window = window.format(n=_number(n)) if n else window
        for rx, tag in _GROUP_TAG_RX:
            if st.text.take(rx) and tag not in st.group_tags:
                st.group_tags.append(tag)
                if tag != "id_subsistema":
                    st.plant_context = True
        if st.text.take(_BY_SOURCE):
            st.by_source = True

    def _measures(self, st: _State) -> None:
        for pattern, key in _MEASURES:
            rx = _rx(r"\b(?:" + pattern + r")\b")
            for match in st.text.take(rx):
                st.measures.append((match.start(), key, match.group(0)))
        st.measures.sort()

    def _subsystems(self, st: _State) -> None:
        text = st.text
        for pattern, code in _SUBSYSTEMS:
            rx = _rx(
                r"\b(?:(?:(?:o|a|no|na|do|da|de|in|of|the|for)\s+)?(?:regiao|subsistema"
                r"|region|subsystem)\s+)?(?:" + pattern + r")(?:\s+(?:region|subsystem))?\b"
            )
            for match in text.take(rx):
                st.subsystems.append((match.start(), code, match.group(0)))
        current = text.current
        for match in _SUBSYSTEM_CODES.finditer(text.orig):
            if current[match.start() : match.end()].strip():
                st.subsystems.append((match.start(), match.group(1), match.group(0)))
                text.consume(match.start(), match.end())
        st.subsystems.sort()

    def _aggregations(self, st: _State) -> None:
        for rx, agg in _AGG_RX:
            for match in st.text.take(rx):
                st.aggregations.append((match.start(), agg, match.group(0)))
        st.aggregations.sort()
        if st.text.take(_SHARE):
            st.share = True

    def _compare(self, st: _State) -> None:
        if st.text.take(_COMPARE):
            st.compare = True

    def _leftovers(self, st: _State) -> None:
        for match in re.finditer(r"[a-z0-9]+(?:[-'][a-z0-9]+)*", st.text.current):
            word = match.group(0)
            if word in _STOPWORDS or len(word) == 1:
                continue
            original = st.text.original(match.start(), match.end())
            st.unmapped.append(Unmapped("word", original, "not understood"))

    # -- building the model ---------------------------------------------------------------------
    def _build(self, st: _State) -> QueryModel | None:
        keys = [k for _, k, _ in st.measures]
        for _, key, shown in st.measures:
            if key.startswith("unsupported:"):
                st.unmapped.append(
                    Unmapped(
                        "measure",
                        shown,
                        "prices (PLD) are not in the data; the marginal "
                        "operating cost (CMO) is: ask for CMO",
                    )
                )
        keys = [k for k in keys if not k.startswith("unsupported:")]
        if not keys and st.by_source:
            keys = ["generation"]
        if not keys and (st.plant_context and (st.top or st.plant_names or st.group_tags)):
            keys = ["generation"]
        if not keys:
            if not any(u.kind == "measure" for u in st.unmapped):
                st.unmapped.append(
                    Unmapped(
                        "measure",
                        st.text.orig.strip()[:80],
                        "no measure recognised (carga, geração, CMO, EAR, ENA, intercâmbio...)",
                    )
                )
            return None
        # a generic "generation" word next to a source or other measure only describes it
        if "generation" in keys and any(k != "generation" for k in keys):
            keys = [k for k in keys if k != "generation"]
        keys = ["generation" if k == "generation_total" else k for k in keys]
        # the distinct measures, in order
        seen: list[str] = []
        for k in keys:
            if k not in seen:
                seen.append(k)
        keys = seen
        try:
            return self._model(st, keys)
        except ModelError as exc:
            st.unmapped.append(Unmapped("combination", st.text.orig.strip()[:80], str(exc)))
            return None

    def _time_range(self, st: _State) -> TimeRange:
        if st.period is None:
            end = st.now
            start = end - self.default_period
            st.assumptions.append(
                f"no period given: the last {self.default_period.days} days"
                if self.default_period.days
                else "no period given: a default period"
            )
            return TimeRange(to_ns(start), to_ns(end))
        return TimeRange(to_ns(st.period.start), to_ns(st.period.end))

    def _agg(self, st: _State, default: Aggregation) -> Aggregation:
        aggs = []
        for _, agg, _ in st.aggregations:
            if agg not in aggs:
                aggs.append(agg)
        if len(aggs) > 1:
            shown = ", ".join(t for _, _, t in st.aggregations)
            st.unmapped.append(
                Unmapped("combination", shown, "several aggregations: ask once per aggregation")
            )
        return aggs[0] if aggs else default

    def _model(self, st: _State, keys: list[str]) -> QueryModel | None:
        plant = st.plant_context or bool(st.states) or "nuclear" in keys
        subsystems = [code for _, code, _ in st.subsystems]
        codes = list(dict.fromkeys(subsystems))
        if plant:
            return self._plant_model(st, keys, codes)
        interchange = [k for k in keys if k.startswith("interchange")]
        if interchange and len(codes) >= 2 and self._directional(st):
            return self._interchange_model(st, keys, codes)
        tables = {self._table_of(k, keys, codes) for k in keys}
        if len(tables) > 1:
            st.unmapped.append(
                Unmapped(
                    "combination",
                    ", ".join(t for _, _, t in st.measures),
                    f"measures from different datasets ({', '.join(sorted(tables))}): ask "
                    "once per dataset",
                )
            )
            keys = [
                k
                for k in keys
                if self._table_of(k, keys, codes) == self._table_of(keys[0], keys, codes)
            ]
        table = self._table_of(keys[0], keys, codes)
        grain_window = {
            "curva_carga": "1h",
            "balanco_subsistema": "1h",
            "cmo_semihorario": "30m",
            "ear_diario": "1d",
            "ena_diario": "1d",
        }[table]
        explicit_aggs = bool(st.aggregations)
        agg = self._agg(st, Aggregation.MEAN)
        fields = self._fields(st, table, keys)
        selections = self._selections(st, table, keys, fields, agg)
        if selections is None:
            return None
        # tag filters and grouping
        filters: list[TagFilter] = []
        group = [t for t in st.group_tags if t == "id_subsistema"]
        for tag in st.group_tags:
            if tag != "id_subsistema":
                st.unmapped.append(
                    Unmapped(
                        "filter",
                        tag,
                        f"{table} has no {tag}: that grouping applies to plant generation (usinas)",
                    )
                )
        if "SIN" in codes and table != "balanco_subsistema":
            st.unmapped.append(
                Unmapped("subsystem", "SIN", f"{table} has no SIN total, only subsystems")
            )
            codes = [c for c in codes if c != "SIN"]
        if codes:
            filters.append(TagFilter("id_subsistema", FilterOp.EQ, tuple(codes)))
            if len(codes) > 1 and "id_subsistema" not in group:
                group.append("id_subsistema")
        elif table == "balanco_subsistema" and "id_subsistema" not in group:
            filters.append(TagFilter("id_subsistema", FilterOp.EQ, ("SIN",)))
            st.assumptions.append("no subsystem given: the SIN total")
        elif "id_subsistema" not in group:
            group.append("id_subsistema")
            st.assumptions.append("no subsystem given: one series per subsystem")
        if st.compare and len(codes) < 2 and len(selections) < 2:
            st.unmapped.append(
                Unmapped("combination", "compare", "comparing needs two subsystems or two measures")
            )
        window = self._window(st, explicit_aggs, grain_window)
        return self._finish(st, table, selections, filters, group, window)

    def _directional(self, st: _State) -> bool:
        if len(st.subsystems) < 2:
            return False
        text = st.text.norm
        a_pos, _, a_text = st.subsystems[0]
        b_pos = st.subsystems[1][0]
        before = text[:a_pos]
        between = text[a_pos + len(a_text) : b_pos]
        return bool(
            (_BETWEEN_SUBSYSTEMS.search(before) and _AND.match(between))
            or (_FROM_TO.search(before) and _TO.match(between))
        )

    def _table_of(self, key: str, keys: list[str], codes: list[str]) -> str:
        if key in _SOURCES or key in ("generation", "interchange"):
            return "balanco_subsistema"
        if key == "interchange_scheduled":
            return "intercambio"
        if key == "load":
            others = [k for k in keys if k != "load"]
            if "SIN" in codes or any(k in (*_SOURCES, "generation", "interchange") for k in others):
                return "balanco_subsistema"
            return "curva_carga"
        if key == "cmo":
            return "cmo_semihorario"
        if key.startswith("ear"):
            return "ear_diario"
        if key.startswith("ena"):
            return "ena_diario"
        raise ModelError(f"no dataset holds {key!r}")

    def _fields(self, st: _State, table: str, keys: list[str]) -> list[str]:
        norm = st.text.norm
        mlt = st.mlt
        pct = bool(re.search(r"%|percent|porcent", norm))
        mwmes = st.mwmes
        fields = []
        for key in keys:
            if table == "curva_carga":
                fields.append("val_cargaenergiahomwmed")
            elif table == "balanco_subsistema":
                if key == "generation":
                    fields.append("generation")
                else:
                    fields.append(_BALANCO_FIELD.get(key, ""))
            elif table == "cmo_semihorario":
                fields.append("val_cmo")
            elif table == "ear_diario":
                if key == "ear_max":
                    fields.append("ear_max_subsistema")
                elif mwmes:
                    fields.append("ear_verif_subsistema_mwmes")
                else:
                    fields.append("ear_verif_subsistema_percentual")
            elif table == "ena_diario":
                prefix = "ena_armazenavel_regiao" if key == "ena_storable" else "ena_bruta_regiao"
                fields.append(f"{prefix}_percentualmlt" if (mlt or pct) else f"{prefix}_mwmed")
            elif table == "intercambio":
                fields.append("val_intercambioprogmwmed")
        if table in ("ear_diario", "ena_diario"):
            st.share = False  # '%' chose the field
        return list(dict.fromkeys(fields))

    def _selections(
        self, st: _State, table: str, keys: list[str], fields: list[str], agg: Aggregation
    ) -> list[Selection] | None:
        total = _total_generation(agg)
        if st.by_source and table == "balanco_subsistema":
            fields = [_BALANCO_FIELD[s] for s in _SOURCES]
        if st.share:
            sources = [f for f in fields if f in {_BALANCO_FIELD[s] for s in _SOURCES}]
            if not sources:
                st.unmapped.append(
                    Unmapped(
                        "combination",
                        "share",
                        "a share needs a generation source (hidráulica, térmica, eólica, solar)",
                    )
                )
                return None
            return [
                Selection(BinOp("*", BinOp("/", Agg(agg, f), total), Const(100)), f"share_{f}")
                for f in sources
            ]
        if st.ratio:
            if len(fields) != 2:
                st.unmapped.append(
                    Unmapped(
                        "combination", "ratio", "a ratio needs exactly two measures of one dataset"
                    )
                )
                return None
            a, b = (total if f == "generation" else Agg(agg, f) for f in fields)
            return [Selection(BinOp("/", a, b), f"ratio_{fields[0]}_{fields[1]}")]
        selections = []
        for f in fields:
            expr: Expr = total if f == "generation" else Agg(agg, f)
            alias = f"{agg}_total_generation" if f == "generation" else f"{agg}_{f}"
            selections.append(Selection(expr, alias))
        return selections

    def _window(self, st: _State, explicit_aggs: bool, grain: str) -> str | None:
        window = st.window
        if st.transform is not None:
            kind, _, hint = st.transform
            window = window or hint
            if window is None:
                window = "1d"
                st.assumptions.append(f"{kind} without a time grouping: per day")
        elif window is None and not explicit_aggs and not st.top:
            window = grain
            st.assumptions.append(f"no aggregation given: mean values per {grain}")
        return window

    def _finish(
        self,
        st: _State,
        table: str,
        selections: list[Selection],
        filters: list[TagFilter],
        group: list[str],
        window: str | None,
        top: TopN | None = None,
    ) -> QueryModel:
        if st.top is not None and top is None:
            st.unmapped.append(
                Unmapped(
                    "combination",
                    "top",
                    "top-N ranks plants (usinas) or states: ask for 'top 5 usinas'",
                )
            )
        last = any(isinstance(s.expr, Agg) and s.expr.func is Aggregation.LAST for s in selections)
        time_range = (
            TimeRange(None, to_ns(st.now)) if last and st.period is None else self._time_range(st)
        )
        if st.transform is not None:
            kind, n, _ = st.transform
            if kind is TransformKind.MOVING_AVERAGE and n is None:
                n = 7 if window == "1d" else 24 if window == "1h" else 3
                st.assumptions.append(f"moving average without a length: {n} windows")
            unit = Duration.parse(window) if kind is TransformKind.DERIVATIVE and window else None
            if unit is not None and unit.is_calendar:
                unit = Duration(30, "d") if unit.unit == "mo" else Duration(365, "d")
            selections = [
                Selection(
                    Transform(
                        kind, s.expr, n if kind is TransformKind.MOVING_AVERAGE else None, unit
                    ),
                    f"{kind}_{s.alias}",
                )
                for s in selections
            ]
        return QueryModel(
            table=table,
            selections=tuple(selections),
            time_range=time_range,
            tag_filters=tuple(filters),
            window=Duration.parse(window) if window else None,
            group_tags=tuple(group),
            timezone=self.timezone if window else None,
            top=top,
        )

    def _interchange_model(self, st: _State, keys: list[str], codes: list[str]) -> QueryModel:
        field_name = (
            "val_intercambioprogmwmed"
            if "interchange_scheduled" in keys
            else "val_intercambiomwmed"
        )
        agg = self._agg(st, Aggregation.MEAN)
        a, b = codes[0], codes[1]
        text = st.text.norm
        directed = bool(_FROM_TO.search(text[: st.subsystems[0][0]]))
        if directed:
            filters = [
                TagFilter("id_subsistema_origem", FilterOp.EQ, (a,)),
                TagFilter("id_subsistema_destino", FilterOp.EQ, (b,)),
            ]
            group: list[str] = []
        else:
            filters = [
                TagFilter("id_subsistema_origem", FilterOp.EQ, (a, b)),
                TagFilter("id_subsistema_destino", FilterOp.EQ, (a, b)),
            ]
            group = ["id_subsistema_origem", "id_subsistema_destino"]
        if len(codes) > 2:
            st.unmapped.append(
                Unmapped("subsystem", ", ".join(codes[2:]), "an interchange links two subsystems")
            )
        window = self._window(st, bool(st.aggregations), "1h")
        selections = [Selection(Agg(agg, field_name), f"{agg}_{field_name}")]
        return self._finish(st, "intercambio", selections, filters, group, window)

    def _plant_model(self, st: _State, keys: list[str], codes: list[str]) -> QueryModel:
        filters: list[TagFilter] = []
        types = [_PLANT_TYPES[k] for k in keys if k in _PLANT_TYPES]
        others = [k for k in keys if k not in _PLANT_TYPES and k != "generation"]
        for k in others:
            st.unmapped.append(
                Unmapped(
                    "combination",
                    k,
                    "plant generation (usinas) holds only "
                    "generation: ask for this measure separately",
                )
            )
        if st.plant_names:
            filters.append(TagFilter("nom_usina", FilterOp.IEQ, tuple(st.plant_names)))
        if types:
            filters.append(TagFilter("nom_tipousina", FilterOp.EQ, tuple(dict.fromkeys(types))))
        if st.states:
            filters.append(
                TagFilter("id_estado", FilterOp.EQ, tuple(dict.fromkeys(c for _, c in st.states)))
            )
        codes = [c for c in codes if c != "SIN"]
        if codes:
            filters.append(TagFilter("id_subsistema", FilterOp.EQ, tuple(codes)))
        group = list(st.group_tags)
        if len(codes) > 1 and "id_subsistema" not in group:
            group.append("id_subsistema")
        if len(st.plant_names) > 1 and "nom_usina" not in group:
            group.append("nom_usina")
        default = Aggregation.SUM if (st.top or not st.plant_names) else Aggregation.MEAN
        agg = self._agg(st, default)
        top = None
        if st.top is not None:
            n, bottom = st.top
            tag = "id_estado" if re.search(r"\b(?:estados|states)\b", st.text.norm) else "nom_usina"
            top = TopN(n, tag, bottom)
            group = [t for t in group if t != tag]
            if not st.aggregations:
                st.assumptions.append("top-N ranks by total generation (sum) over the period")
        explicit = bool(st.aggregations) or top is not None
        window = st.window
        if window is None and not explicit:
            window = "1h"
            st.assumptions.append(
                "no aggregation given: hourly values"
                + (" summed over the selected plants" if agg is Aggregation.SUM else "")
            )
        selections = [Selection(Agg(agg, "val_geracao"), f"{agg}_val_geracao")]
        return self._finish(st, "geracao_usina", selections, filters, group, window, top)


def _total_generation(agg: Aggregation) -> Expr:
    parts = [Agg(agg, _BALANCO_FIELD[s]) for s in _SOURCES]
    expr: Expr = parts[0]
    for part in parts[1:]:
        expr = BinOp("+", expr, part)
    return expr


_CONNECTORS = {"de", "do", "da", "dos", "das", "e", "del", "di", "du", "of", "the"}


def _capitalised_run(text: str, start: int) -> int:
    """End of the run of capitalised words (names) starting at ``start``."""
    pos, end = start, start
    for match in re.finditer(r"\S+", text[start:]):
        word = match.group(0).strip(",.;:?!")
        if not word:
            break
        if word[0].isupper() or word[0].isdigit() or re.fullmatch(r"[IVX]+", word):
            end = start + match.start() + len(word)
            pos = end
            continue
        if word.lower() in _CONNECTORS:
            rest = text[start + match.end() :].lstrip()
            if rest[:1].isupper():
                continue
        break
    return pos if pos > start else end


def _capitalised_run_backwards(text: str, end: int) -> int:
    words = list(re.finditer(r"\S+", text[:end]))
    begin = end
    for match in reversed(words):
        word = match.group(0)
        if word[0].isupper() or word[0].isdigit():
            begin = match.start()
            continue
        break
    return begin


_PT_HINTS = re.compile(
    r"\b(?:qual|quais|de|do|da|no|na|em|por|ontem|hoje|geracao|carga|media|ultim[oa]s?|mes|semana"
    r"|usinas?|entre|compare|maxim[oa]|minim[oa])\b"
)
_EN_HINTS = re.compile(
    r"\b(?:what|which|the|of|in|by|per|yesterday|today|generation|load|average|last|past|month|week"
    r"|plants?|between|show|maximum|minimum|peak)\b"
)


def _language(norm: str) -> str:
    pt, en = len(_PT_HINTS.findall(norm)), len(_EN_HINTS.findall(norm))
    return "pt" if pt >= en else "en"


def translate(
    question: str, now: datetime | None = None, timezone: str = DEFAULT_TIMEZONE
) -> Translation:
    """Translate with the default :class:`RuleTranslator`."""
    return RuleTranslator(timezone=timezone).translate(question, now)
