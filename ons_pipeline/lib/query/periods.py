"""Periods in questions, Portuguese and English: what span of local time a phrase names.

The grammar, from the most specific phrase to the least (each recognised phrase is consumed):

- days of the week within a period: fins de semana / weekends, dias úteis / weekdays;
- "the same month (period) of the previous year", compared with another period;
- halves of a year (primeiro semestre de 2023, second half of 2023, H1 2023);
- parts of a month: first/second fortnight (quinzena, half), first…fourth and last week of a
  month (days 1–7, 8–14, 15–21, 22–28, the last seven days);
- seasons of the southern hemisphere, meteorological (verão de 2024 = Dec 2023–Feb 2024,
  outono Mar–May, inverno Jun–Aug, primavera Sep–Nov), and the hydrological wet (período
  úmido, Nov–Apr: "2023/2024" or the one ending in a year) and dry (período seco, May–Oct) seasons;
- ISO weeks (semana 14 de 2024, week 14 of 2024);
- relative periods (hoje, ontem, mês passado, este ano, últimos N dias, last N hours...);
- day ranges (de 1 a 10 de março, March 5-9, semana de 9 a 15 de março);
- dates (ISO, dd/mm/yyyy, 5 de março de 2024, March 5, 2024), months, quarters, years.

Two periods joined as a range (de X a Y, entre X e Y, desde X) make one; two joined as a
comparison (vs, contra, comparado com, em relação a, e, compared with...) are compared; "até X"
without a start, an impossible date or several periods joined otherwise are problems the caller
reports. Relative periods are anchored at ``now`` in its zone (calendar days of that zone).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from ons_pipeline.lib.query import numbers
from ons_pipeline.lib.query.text import Text, fold, rx

NUM = numbers.PATTERN

MONTHS = {
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
MONTH_FULL = (
    r"(?:janeiro|fevereiro|marco|abril|maio|junho|julho|agosto|setembro|outubro|novembro|dezembro"
    r"|january|february|march|april|june|july|august|september|october|november|december)"
)
MONTH_ANY = r"(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")"


@dataclass(frozen=True)
class Span:
    """``[start, end)`` in local time (aware datetimes)."""

    start: datetime
    end: datetime

    def years_back(self, years: int) -> Span:
        return Span(_add_months(self.start, -12 * years), _add_months(self.end, -12 * years))


@dataclass
class Reading:
    """What the question says about time: one span, or several compared; days of the week kept
    within them; the phrases read; and the problems (text, reason) to report."""

    spans: list[Span] = field(default_factory=list)
    days: frozenset[int] | None = None  # weekdays kept (0 = Monday)
    hours: tuple[timedelta, timedelta] | None = None  # the time of day kept, from midnight
    phrases: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    so_far: bool = False  # "até hoje", "to date": up to now
    notes: list[str] = field(default_factory=list)  # readings to state as assumptions


# -- calendar arithmetic ------------------------------------------------------------------------


def month_span(year: int, month: int, zone: tzinfo | None) -> Span:
    start = datetime(year, month, 1, tzinfo=zone)
    nxt = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone)
    return Span(start, nxt)


def day_span(year: int, month: int, day: int, zone: tzinfo | None) -> Span:
    start = datetime(year, month, day, tzinfo=zone)
    return Span(start, add_days(start, 1))


def add_days(moment: datetime, days: int) -> datetime:
    """Same wall-clock time ``days`` later (local midnight stays midnight across DST)."""
    naive = moment.replace(tzinfo=None) + timedelta(days=days)
    return naive.replace(tzinfo=moment.tzinfo)


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    days = [31, 29 if _leap(year) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month]
    return moment.replace(year=year, month=month + 1, day=min(moment.day, days))


add_months = _add_months


def last_days(span: Span, months: int, latest_day: datetime) -> list[Span]:
    """The last day of each calendar window of ``months`` months (1: a month, 12: a year) that
    ``span`` covers; for a window not over by ``latest_day`` (a local midnight: the latest day
    with data), that day, so each window gives the last day it has."""
    first = midnight(span.start).replace(day=1)
    if months == 12:
        first = first.replace(month=1)
    days: list[Span] = []
    start = first
    while start < span.end:
        end = _add_months(start, months)
        day = add_days(end, -1) if add_days(end, -1) <= latest_day else latest_day
        if start <= day and span.start <= day < span.end:
            days.append(Span(day, add_days(day, 1)))
        start = end
    return days


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def label(span: Span) -> str:
    """A short name for a span: ``2024-03``, ``2024``, ``2024-03-05``, ``2024-03-01/2024-03-15``
    (inclusive days) or local times."""
    s, e = span.start, span.end
    if s == midnight(s) and e == midnight(e):
        if s.day == 1 and e == _add_months(s, 1):
            return f"{s:%Y-%m}"
        if (s.month, s.day) == (1, 1) and e == _add_months(s, 12):
            return f"{s:%Y}"
        last = add_days(e, -1)
        return f"{s:%Y-%m-%d}" if last == s else f"{s:%Y-%m-%d}/{last:%Y-%m-%d}"
    return f"{s:%Y-%m-%dT%H:%M}/{e:%Y-%m-%dT%H:%M}"


# a period said relative to another ("the week before", "o mesmo dia do ano passado") with none
# before it
RELATIVE_WITHOUT_BASE = "the same period as what?"
WEEKEND = frozenset({5, 6})
WEEKDAYS = frozenset({0, 1, 2, 3, 4})
# "segunda", "quarta", "quinta" are also ordinals: alone, only plural and not before a period
_NOT_ORDINAL = r"(?!\s+(?:quinzenas?|semanas?|metades?|trimestres?|semestres?)\b)"
_DAY_NAMES = [
    (r"segundas?[\s-]feiras?|segundas" + _NOT_ORDINAL + r"|mondays?", 0),
    (r"tercas?(?:[\s-]feiras?)?|tuesdays?", 1),
    (
        r"(?!quarta[\s-]feira\s+de\s+cinzas)quartas?[\s-]feiras?|quartas"
        + _NOT_ORDINAL
        + r"|(?<!ash\s)wednesdays?",
        2,
    ),
    (r"quintas?[\s-]feiras?|quintas" + _NOT_ORDINAL + r"|thursdays?", 3),
    (
        r"(?!sexta[\s-]feira\s+(?:santa|da\s+paixao))sextas?(?:[\s-]feiras?)?|(?<!good\s)fridays?",
        4,
    ),
    (r"sabados?|saturdays?", 5),
    (r"domingos?|sundays?", 6),
]
_DAY_NAME = "|".join(f"(?:{p})" for p, _ in _DAY_NAMES)
# in a range of weekdays ("de segunda a quarta") the ordinals are days
_BARE_DAYS = {"segunda": 0, "quarta": 2, "quinta": 3}


def days_name(days: frozenset[int]) -> str:
    """``weekend``, ``weekday`` or the days' numbers (``0,2``)."""
    if days == WEEKEND:
        return "weekend"
    if days == WEEKDAYS:
        return "weekday"
    return ",".join(str(d) for d in sorted(days))


def day_blocks(span: Span, days: frozenset[int] | str) -> list[Span]:
    """The runs of consecutive kept days (``days``: weekdays 0–6, or ``weekend`` / ``weekday``)
    within ``span``, clipped to it."""
    if isinstance(days, str):
        days = WEEKEND if days == "weekend" else WEEKDAYS
    blocks: list[Span] = []
    day = midnight(span.start)
    current: Span | None = None
    while day < span.end:
        nxt = add_days(day, 1)
        keep = day.weekday() in days
        if keep:
            lo, hi = max(day, span.start), min(nxt, span.end)
            if current is not None and current.end == lo:
                current = Span(current.start, hi)
            else:
                if current is not None:
                    blocks.append(current)
                current = Span(lo, hi)
        day = nxt
    if current is not None:
        blocks.append(current)
    return blocks


def clock_blocks(
    span: Span, hours: tuple[timedelta, timedelta], days: frozenset[int] | None = None
) -> list[Span]:
    """The time of day ``hours`` (offsets from local midnight; the end may pass midnight) of
    every day of ``span`` (of the weekdays ``days`` only, when given), clipped to it."""
    blocks: list[Span] = []
    # a time passing midnight ("das 22h às 2h") reaches past the span's last day
    overflow = max(hours[1] - timedelta(days=1), timedelta(0))
    limit = _wall(span.end, overflow) if span.end == midnight(span.end) else span.end
    day = midnight(span.start)
    while day < span.end:
        if days is None or day.weekday() in days:
            lo = max(_wall(day, hours[0]), span.start)
            hi = min(_wall(day, hours[1]), limit)
            if lo < hi:
                blocks.append(Span(lo, hi))
        day = add_days(day, 1)
    return blocks


def _wall(day: datetime, offset: timedelta) -> datetime:
    """The local wall-clock time ``offset`` after midnight of ``day``."""
    naive = day.replace(tzinfo=None) + offset
    return naive.replace(tzinfo=day.tzinfo)


# -- the grammar --------------------------------------------------------------------------------

# a time of day: 18h, 18h30, 18:30, 6 pm, 6pm, meio-dia, midnight ("às 18 horas" after "às")
_CLOCK = (
    r"(?:\d{1,2}(?:\s*h(?:rs?|s)?(?:\s*\d{2}(?:\s*min)?)?|:\d{2}(?:\s*h)?)(?:\s*[ap]\.?m\b\.?)?"
    r"|\d{1,2}\s*(?:[ap]\.?m\b\.?|o'?clock)|meio[\s-]dia|meia[\s-]noite|noon|midnight)"
)
_CLOCK_AT = r"(?:\d{1,2}\s+horas)"
_CLOCK_RANGE = rx(
    r"""\b(?:(?:entre|between)\s+(?:as\s+)?(?P<a1>"""
    + _CLOCK
    + r"""|\d{1,2})\s*(?:e|and|-)\s*(?:as\s+)?(?P<b1>"""
    + _CLOCK
    + r"""|"""
    + _CLOCK_AT
    + r""")
    |(?:das?|de|from)\s+(?:as\s+)?(?P<a2>"""
    + _CLOCK
    + r"""|\d{1,2})\s*(?:as|a|ate|to|till|until|-)\s*(?:as\s+)?(?P<b2>"""
    + _CLOCK
    + r"""|"""
    + _CLOCK_AT
    + r""")
    |(?P<a5>"""
    + _CLOCK
    + r""")\s*(?:as|ate|to|till|until)\s+(?P<b5>"""
    + _CLOCK
    + r""")
    |(?P<a3>\d{1,2})\s*h?\s*[-–—]\s*(?P<b3>\d{1,2})\s*h\b
    |(?P<a4>\d{1,2}\s*[ap]\.?m\.?|\d{1,2}:\d{2})\s*[-–—]\s*(?P<b4>\d{1,2}\s*[ap]\.?m\b\.?|\d{1,2}:\d{2}))(?!\w)"""
)
_AFTER = rx(r"\b(?:from|after|depois\s+(?:d[ao]s?|de)|apos(?:\s+[ao]s?)?)\s*$")
# "from 6 pm on": "on" ends the phrase ("at 7pm on Nov 19" is a day, not onwards)
_ONWARD = rx(
    r"\s*(?:onwards?\b|on\b(?=\s*(?:[,.;?!]|$))|em\s+diante\b|pra\s+frente\b|para\s+frente\b)"
)
_CLOCK_ONE = rx(
    r"""(?:\b(?:(?:a|as|at|around|por\s+volta\s+d[ao]s?|perto\s+d[ao]s?)\s+)?(?P<t>"""
    + _CLOCK
    + r""")|\b(?:as|a)\s+(?P<t2>"""
    + _CLOCK_AT
    + r"""))(?!\w)"""
    # "as 5 horas de maior carga": five hours ranked, not 05:00
    + r"""(?!\s+(?:de|com|with|of)\s+(?:a\s+|the\s+)?"""
    + r"""(?:maior|menor|mais|highest|lowest|top|pico))"""
)
# parts of the day: madrugada 0–6 h, manhã 6–12 h, tarde 12–18 h, noite 18–24 h
_PART_LEAD = r"(?:a|as|de|da|na|nas|pela|pelas|durante\s+as?)"
_DAY_PART = rx(
    r"""\b(?:(?P<edge>inicio|comeco|fim|final|meio)\s+)?"""
    + r"""(?:"""
    + _PART_LEAD
    + r"""\s+)?(?:(?P<dawn>madrugadas?)|(?P<morning>manhas?)|(?P<night>noites?))
    |\b(?:(?P<edge2>inicio|comeco|fim|final|meio)\s+)?"""
    + _PART_LEAD
    + r"""\s+(?P<afternoon>tardes?)
    |\b(?:in|during)\s+the\s+(?:(?P<edge_en>early|late|mid)[\s-]*)?(?:(?P<morning_en>mornings?)
    |(?P<afternoon_en>afternoons?)|(?P<night_en>evenings?|nights?))|\bat\s+(?P<night_at>night)\b"""
)
# "last night", "this morning", "tonight": a part of a day named with its day
_DAY_PART_WORDS = [
    (re.compile(r"\btonight\b", re.IGNORECASE), "today at night"),
    (re.compile(r"\bthis\s+(morning|afternoon|evening)\b", re.IGNORECASE), r"today in the \1"),
    (
        re.compile(r"\byesterday\s+(morning|afternoon|evening|night)\b", re.IGNORECASE),
        r"yesterday in the \1",
    ),
]
# the hours of the peak, named beside the clock times that say which they are
_PEAK_HOURS = rx(
    r"\b(?:(?:during|in|at)\s+)?(?:the\s+)?(?:(?:evening|morning)\s+peak|peak\s+(?:hours?|period))"
    r"|\b(?:n[oa]\s+)?(?:horario|periodo)\s+de\s+(?:ponta|pico)|\bn[oa]\s+ponta\b"
    r"|\b(?:(?:during|in)\s+)?(?:the\s+)?(?:daylight|daytime|business|working)\s+hours"
    r"|\b(?:n[oa]\s+|durante\s+o\s+)?(?:horario|periodo)\s+(?:diurno|comercial)"
)
# the tariff peak, written without its hours: 18–21 h (ANEEL's three-hour "posto ponta" of most
# distributors), said in the answer
_TARIFF_PEAK = rx(  # after a preposition: "qual o horário de pico" asks when the peak is
    r"\b(?:during|in|at)\s+(?:the\s+)?peak\s+(?:hours|period)\b"
    r"|\b(?:n[oa]|durante\s+o|em)\s+(?:horario|periodo|posto)\s+(?:de\s+)?(?:ponta|pico)\b"
)
_DAY_PARTS = {
    "dawn": (0, 6), "morning": (6, 12), "morning_en": (6, 12), "afternoon": (12, 18),
    "afternoon_en": (12, 18), "night": (18, 24), "night_en": (18, 24), "night_at": (18, 24),
}  # fmt: skip


def _clock(written: str) -> timedelta:
    """``18h30`` / ``6 pm`` / ``meio-dia`` as an offset from midnight (``ValueError`` if none)."""
    words = {"meio dia": 12, "meio-dia": 12, "noon": 12, "meia noite": 0, "meia-noite": 0}
    words["midnight"] = 0
    if written in words:
        return timedelta(hours=words[written])
    m = re.match(r"(\d{1,2})(?:\D*?(\d{2}))?\s*(?:min)?\s*(?:([ap])\.?m)?", written)
    if m is None:
        raise ValueError(f"not a time of day: {written}")
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if m.group(3):
        if not 1 <= hour <= 12:
            raise ValueError(f"not a time of day: {written}")
        hour = hour % 12 + (12 if m.group(3) == "p" else 0)
    if hour > 24 or minute > 59 or (hour == 24 and minute):
        raise ValueError(f"not a time of day: {written}")
    return timedelta(hours=hour, minutes=minute)


def _read_clock(text: Text, reading: Reading) -> list[tuple[int, int]]:
    """A time of day: one hour (or the half hour written, 18:30), a range of hours (das 18h às
    21h; passing midnight reaches into the next day) or a part of the day. The same time may be
    repeated for periods compared ("ontem às 18h vs hoje às 18h"). Returns where they stand."""
    found: list[tuple[re.Match[str], tuple[timedelta, timedelta]]] = []
    for match in text.take(_CLOCK_RANGE):
        a = next((g for g in match.group("a1", "a2", "a4", "a5") if g), None)
        b = next((g for g in match.group("b1", "b2", "b4", "b5") if g), None)
        a = a or match.group("a3") + "h"
        b = b or match.group("b3") + "h"
        try:
            if re.fullmatch(r"\d{1,2}", a.strip()):  # "between 6 and 9 pm": the end's am/pm
                pm = re.search(r"([ap])\.?m", b)
                a = a + (f" {pm.group(1)}m" if pm else "h")
            lo, hi = _clock(a.strip()), _clock(b.strip())
        except ValueError as exc:
            _bad(reading, text, match, str(exc))
            continue
        found.append((match, (lo, hi if hi > lo else hi + timedelta(days=1))))
    for match in text.take(_CLOCK_ONE):
        written = (match.group("t") or match.group("t2")).strip()
        try:
            at = _clock(written)
        except ValueError as exc:
            _bad(reading, text, match, str(exc))
            continue
        length = timedelta(minutes=30) if at.seconds % 3600 else timedelta(hours=1)
        onward = _ONWARD.match(text.current, match.end()) or _AFTER.search(
            text.current[: match.start()]
        )
        if onward:
            text.consume(onward.start(), onward.end())
            # "after 6 pm", "from 6 pm on", "das 18h em diante": to the end of the day
            found.append((match, (at, timedelta(days=1))))
            continue
        found.append((match, (at, at + length)))
    if found:  # "during the evening peak (18-21h)": the peak hours are the hours written
        text.take(_PEAK_HOURS)
    else:
        for match in text.take(_TARIFF_PEAK):
            found.append((match, (timedelta(hours=18), timedelta(hours=21))))
            reading.notes.append("peak hours (horário de ponta): 18:00–21:00, write others")
    for match in text.take(_DAY_PART):
        if (
            match.group("edge")
            or match.group("edge2")
            or match.group("edge_en")
            or (re.match(r"as?\s+(?:madrugada|manha)", match.group(0)) is not None)
        ):  # "fim da tarde": which hours? never the whole afternoon
            _bad(
                reading,
                text,
                match,
                "the start or end of a part of the day is not a time: say 'das 16h às 18h'",
            )
            continue
        lo, hi = next(v for k, v in _DAY_PARTS.items() if match.group(k))
        found.append((match, (timedelta(hours=lo), timedelta(hours=hi))))
    parts = [(m, h) for m, h in found if _DAY_PART.fullmatch(m.group(0))]
    clocks = [(m, h) for m, h in found if (m, h) not in parts]
    if (
        parts and clocks and all(p[0] <= c[0] and c[1] <= p[1] for _, c in clocks for _, p in parts)
    ):  # "the evening peak (18-21h)": the hours written are within the part of the day named
        found = clocks
    elif (
        parts
        and clocks
        and all(p == (timedelta(hours=18), timedelta(hours=24)) for _, p in parts)
        and all(c[1] <= timedelta(hours=6) for _, c in clocks)
    ):  # "last night between 0h and 6h": that night's small hours, on the day after
        found = [(m, (c[0] + timedelta(days=1), c[1] + timedelta(days=1))) for m, c in clocks]
    if len({hours for _, hours in found}) > 1:
        shown = ", ".join(repr(text.original(m.start(), m.end()).strip()) for m, _ in found)
        reading.problems.append((shown, "several times of day: ask one time or one range"))
    elif found:
        reading.hours = found[0][1]
        reading.phrases.append(text.original(found[0][0].start(), found[0][0].end()).strip())
    return [(m.start(), m.end()) for m, _ in found]


# "weeks Monday to Sunday", "(Mon to Sun)": how weeks are counted here, every day kept
_WHOLE_WEEK = rx(
    r"\(?\s*\b(?:(?:weeks?|semanas?)\s+)?(?:(?:from|de|da)\s+)?"
    r"(?:mon(?:day)?|seg(?:unda)?(?:[\s-]feira)?)\s*(?:to|through|thru|till|until|-|–|a|ate)\s*"
    r"(?:sun(?:day)?|dom(?:ingo)?)\b\s*\)?"
)
_DAYS = rx(
    r"""\b(?:(?:n[oa]s|aos|em|on|during|in|over)\s+(?:the\s+|os\s+|as\s+)?)?
    (?:(?P<we>fins?\s+de\s+semana|finais\s+de\s+semana|(?<!last\s)(?<!past\s)weekends?)
    |(?P<wd>dias\s+uteis|dias\s+de\s+semana|weekdays?|business\s+days|working\s+days
    |(?<!')mon\s*[-–]\s*fri\b|seg\s*[-–]\s*sex(?:ta)?\b
    |de\s+segunda(?:[\s-]feira)?\s+a\s+sexta(?:[\s-]feira)?|(?:from\s+)?monday\s+(?:to|through
    |till|until|-)\s+friday)
    |(?P<range>(?:de|from)\s+(?:o\s+|a\s+)?(?P<r1>segunda|quarta|quinta|"""
    + _DAY_NAME
    + r""")\s+(?:a|ate|to|through|till|until|-)\s+(?:o\s+|a\s+)?(?P<r2>segunda|quarta|quinta|"""
    + _DAY_NAME
    + r"""))
    |(?P<names>(?:"""
    + _DAY_NAME
    + r""")(?:\s*(?:,|e|and|ou|or|\+|&)\s*(?:(?:n?[oa]s|aos|on)\s+)?(?:"""
    + _DAY_NAME
    + r"""))*))\b"""
)
# the first or last day of a month or a year ("no último dia de 2024", "the first day of March")
_EDGE_DAY = rx(
    r"""\b(?:(?:n?[oa]|on\s+the|the)\s+)?(?P<e>primeir[oa]|ultim[oa]|first|last)\s+(?:dia|day)
    \s+(?:do\s+ano\s+|do\s+mes\s+)?(?:de|do|of)\s+(?:(?P<m>"""
    + MONTH_ANY
    + r""")(?:\s*(?:de|,|of)?\s*(?P<y>\d{4}))?|(?P<yy>\d{4}))\b"""
)
# one named day: the latest such weekday before today ("domingo passado", "na última segunda",
# "last Sunday")
_LAST_WEEKDAY = rx(
    r"""\b(?:(?:n[oa]|on|d[oa])\s+)?(?:(?:ultim[oa]|passad[oa])\s+(?P<a>"""
    + _DAY_NAME
    + r""")|(?P<b>"""
    + _DAY_NAME
    + r""")\s+passad[oa]|(?:last|this\s+past|previous)\s+(?P<c>"""
    + _DAY_NAME
    + r"""))\b"""
)
_FIRST_N = rx(
    r"""\b(?:(?:n?[oa]s|the|in\s+the|during\s+the)\s+)?(?:(?P<n1>"""
    + NUM
    + r""")\s+(?P<e1>primeir[oa]s|ultim[oa]s)
    |(?P<e2>first|last|primeir[oa]s|ultim[oa]s)\s+(?P<n2>"""
    + NUM
    + r"""))\s+(?P<unit>dias|semanas|days|weeks)\s+(?:do\s+mes\s+)?(?:de|do|of)\s+(?P<m>"""
    + MONTH_ANY
    + r""")(?:\s*(?:de|,|of)?\s*(?P<y>\d{4}))?\b"""
)
_EDGE = rx(
    r"\b(?:(?P<start>inicio|comeco|beginning|start)|(?P<end>fim|final|end))\s+(?:de|do|da|of)\s*$"
)
# "the 12 months through October", "nos 3 meses até setembro": that many whole units ending
# with the period named after it
_UNITS_THROUGH = rx(
    r"""\b(?:(?:over|in|during|for)\s+)?(?:(?:the|n?os|n?as|durante\s+os)\s+)?
    (?P<n>\d{1,3})\s+(?P<unit>months?|meses|years?|anos|weeks?|semanas|days?|dias|quarters?
    |trimestres)\s+(?:through|thru|to|ending(?:\s+(?:in|on|with))?|up\s+to|ate(?:\s+o\s+fim\s+de)?
    |terminando\s+em)\s+(?:(?:o|a|em|in)\s+)?$"""
)
_SAME_LAST_YEAR = rx(
    r"""\b(?:(?:o|the)\s+)?(?:(?:mesmo|igual)\s+(?:mes|periodo|trimestre|dia|semestre|ano|semana)
    \s+d[oe]\s+ano\s+(?:anterior|passado)
    |same\s+(?:month|period|quarter|day|week)\s+(?:of\s+)?(?:the\s+)?(?:last|previous|prior)\s+year
    |same\s+(?:month|period)\s+a\s+year\s+(?:earlier|before|ago))\b"""
)
_SO_FAR = rx(
    r"\b(?:so\s+far|(?<!year[\s-])(?<!month[\s-])(?<!quarter[\s-])to\s+date|ate\s+(?:agora|o\s+momento|hoje)|ate\s+aqui|(?:up\s+)?(?:to|until|till)"
    r"\s+now)\b"
    # "in 2025 YTD": the year written, to date
    r"|(?<=\d{4}\s)(?:ytd|year[\s-]+to[\s-]+date)\b"
)
# "Jan-Oct 2025 vs the same months in 2024", "em 2025 vs o mesmo período de 2023": the period
# compared, moved to that year
_SAME_IN_YEAR = rx(
    r"""\b(?:(?:o|os|a|as|the)\s+)?(?:mesm[oa]s?\s+(?:mes(?:es)?|periodos?|trimestres?|dias?|datas?
    |semestres?|semanas?|intervalos?)|same\s+(?:months?|period|quarter|days?|dates?|weeks?
    |stretch|span|window|interval))\s+(?:de|do|em|no|in|of|for|during)\s+(?P<y>\d{4})\b"""
)
# "o mesmo dia da semana passada", "the same day last week": seven days before the one compared
_SAME_LAST_WEEK = rx(
    r"""\b(?:(?:o|a|the)\s+)?(?:mesm[oa]\s+(?:dia|horario|hora|periodo)\s+d[ae]\s+semana
    \s+(?:anterior|passada)|same\s+(?:day|time|hour|period)\s+(?:of\s+)?(?:the\s+)?
    (?:last|previous|prior)\s+week|same\s+day\s+a\s+week\s+(?:earlier|before|ago))\b"""
)
# "o mês anterior", "the previous week": the period before the one compared, of its own kind
_PREVIOUS = rx(
    r"""\b(?:(?:o|a|the)\s+)?(?:(?P<pt>mes|semana|ano|trimestre|semestre|dia|periodo)\s+anterior
    |(?:previous|prior|preceding)\s+(?P<en>month|week|year|quarter|day|period)
    |(?P<en2>month|week|year|quarter|day|period)\s+before(?!\s+(?:yesterday|last)\b)
    |(?:a|one|um|uma)\s+(?P<ago>month|week|year|day|mes|semana|ano|dia)\s+(?:earlier|antes))\b"""
)


def names_relative_period(folded: str) -> bool:
    """Whether ``folded`` text names a period by the one before it ("e no mesmo mês do ano
    passado?", "the same period in 2023", "o mês anterior")."""
    return any(
        p.search(folded) for p in (_SAME_LAST_YEAR, _SAME_IN_YEAR, _SAME_LAST_WEEK, _PREVIOUS)
    )


_PREVIOUS_SHIFT = {
    "mes": "1mo", "month": "1mo", "semana": "7d", "week": "7d", "ano": "12mo", "year": "12mo",
    "trimestre": "3mo", "quarter": "3mo", "semestre": "6mo", "dia": "1d", "day": "1d",
    "periodo": "length", "period": "length",
}  # fmt: skip
_SEMESTER = rx(
    r"""\b(?:(?:the\s+)?(?P<ord>primeiro|segundo|1o|2o|1º|2º|first|second|1st|2nd)
    \s+(?:semestre|half)\s+(?:de|do\s+ano\s+de|of)\s+(?P<y>\d{4})
    |h(?P<h>[12])\s*(?P<hy>\d{4})
    |(?<!cada\s)(?:n?[oa]\s+)?(?P<ord2>primeiro|segundo|1o|2o|1º|2º)\s+semestre
    (?!\s+(?:de|do|of)\b))\b"""
)
_SUBMONTH = rx(
    r"""\b(?:(?:the)\s+)?(?P<ord>"""
    + numbers.ORDINAL
    + r""")\s+(?P<unit>quinzena|semana|fortnight|week|half|metade|fim\s+de\s+semana|weekend)
    \s+(?:do\s+mes\s+)?(?:de|do|of)\s+(?P<m>"""
    + MONTH_ANY
    + r""")(?:\s*(?:de|,|of)?\s*(?P<y>\d{4}))?\b"""
)
_SEASON = rx(
    r"""\b(?:(?:ultimo|last|past)\s+)?(?:(?P<y0>\d{4})\s+)?(?P<s>verao|outono|inverno|primavera|summer|autumn|winter
    |spring|(?:(?<=\bthe\s)|(?<=\bin\s)|(?<=\bthis\s)|(?<=\blast\s)|(?<=\bpast\s)
    |(?<=\bduring\s)|(?<=\bof\s)|(?<=\bnext\s)|(?<=\d\s))fall|fall(?=\s+(?:of\s+)?\d{4}))(?:\s+(?:de|of|do\s+ano\s+de))?(?:\s+(?:(?P<ya>\d{4})\s*[/-]\s*)?(?P<y>\d{4}|(?<=[/-])\d{2}
    |(?<=[/-]\s)\d{2}))?\b"""
)
_HYDRO = rx(
    r"""\b(?:(?:ultimo|last|(?:this|current|neste|nesta|este|esta|deste|desta)(?=\s+(?:wet|dry|rainy
    |periodo|estacao)))\s+)?(?:(?:the\s+)?(?P<y0>\d{4})(?:\s*[/-]\s*(?P<y0b>\d{4}|\d{2}))?\s+)?
    (?:(?P<rel0>this|last)\s+year(?:'s)?\s+)?
    (?:periodo\s+(?P<pt>umido|chuvoso|seco)
    |estacao\s+(?P<pt2>chuvosa|umida|seca)|(?P<en>wet|rainy|dry)\s+season)
    (?:\s+(?:de|of|do\s+ano\s+de))?(?:\s+(?P<y1>\d{4})(?:\s*[/-]\s*(?P<y2>\d{4}|\d{2}))?)?
    # "the dry season of this year", "o período seco do ano passado": that year's
    (?:\s+(?:of\s+)?(?P<rel1>this\s+year|last\s+year|deste\s+ano|desse\s+ano|neste\s+ano
    |do\s+ano\s+passado))?\b"""
)
# Brazil's national holidays: on fixed dates, and those that move with Easter (Carnaval Sat–Tue)
_HOLIDAY = rx(
    r"""\b(?:(?:n[oa]s?|on|d[oa]s?|the|during\s+the|over\s+the)\s+)?(?:(?:dia|day)\s+(?:de\s+|d[ao]\s+)?
    # "os dois dias de Carnaval", "the days of Carnival": the holiday's days, or as many of them
    |(?:(?P<ndays>\d|dois|duas|tres|quatro|two|three|four)\s+)?(?:dias|days)\s+(?:de|d[oa]|of)\s+
    (?:the\s+)?)?
    (?:feriado\s+(?:de\s+|d[ao]\s+)?|(?:the\s+)?holiday\s+of\s+)?
    (?:(?P<xmas_eve>vespera\s+de\s+natal|christmas\s+eve)
    |(?P<xmas>natal|christmas(?:\s+day)?)
    |(?P<nye>reveillon|vespera\s+de\s+ano\s+novo|new\s+year'?s\s+eve)
    |(?P<ny>ano\s+novo|new\s+year'?s(?:\s+day)?|confraternizacao\s+universal)
    |(?P<tiradentes>tiradentes)|(?P<labour>trabalho|trabalhador)
    |(?P<indep>independencia(?:\s+do\s+brasil)?)|(?P<aparecida>nossa\s+senhora\s+aparecida)
    |(?P<finados>finados)|(?P<republic>proclamacao\s+da\s+republica)
    |(?P<black>consciencia\s+negra)
    |(?P<carnival>(?:feriados?\s+de\s+)?carnaval|carnival(?:\s+holidays?)?)|(?P<ash>quarta[\s-]feira\s+de\s+cinzas|ash\s+wednesday)
    |(?P<good_friday>sexta[\s-]feira\s+(?:santa|da\s+paixao)|good\s+friday)
    |(?P<easter>pascoa|easter(?:\s+sunday)?)|(?P<corpus>corpus\s+christi))
    (?:(?:\s+(?:de|of))?\s+(?P<y>\d{4})|\s+(?P<this>deste|desse|neste|nesse|este|esse|this)\s+
    (?:ano|year)|\s+(?P<last_year>do\s+ano\s+passado|(?:of\s+)?last\s+year))?\b"""
)
# "no último feriado", "the last holiday": the national holiday that began most recently
_LAST_HOLIDAY = rx(
    r"\b(?:n?o\s+|on\s+|over\s+|during\s+)?(?:the\s+)?(?:ultimo|last|most\s+recent|previous)\s+"
    r"(?:feriado(?:\s+nacional)?|(?:national\s+|public\s+|bank\s+)?holiday)\b"
)
_NATIONAL_HOLIDAYS = (
    "ny", "carnival", "good_friday", "tiradentes", "labour", "corpus", "indep", "aparecida",
    "finados", "republic", "black", "xmas",
)  # fmt: skip
# holidays that move with Easter: (days from Easter Sunday, how many days)
_EASTER_HOLIDAYS = {
    "carnival": (-50, 4), "ash": (-46, 1), "good_friday": (-2, 1), "easter": (0, 1),
    "corpus": (60, 1),
}  # fmt: skip
_HOLIDAY_DATES = {
    "xmas_eve": (12, 24), "xmas": (12, 25), "nye": (12, 31), "ny": (1, 1), "tiradentes": (4, 21),
    "labour": (5, 1), "indep": (9, 7), "aparecida": (10, 12), "finados": (11, 2),
    "republic": (11, 15), "black": (11, 20),
}  # fmt: skip
_ISO_WEEK = rx(
    r"""\b(?:semana|week)\s+(?:n[oº.]?\s*|number\s+)?(?P<w>\d{1,2})
    \s+(?:de|of|do\s+ano\s+de)\s+(?P<y>\d{4})\b"""
)
_TIME_ISO = r"[t\s](?P<ih>\d{1,2}):(?P<imin>\d{2})(?::\d{2})?(?:\s*(?P<iz>z|utc|gmt)\b)?"
_DATE_ISO = r"(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})(?:" + _TIME_ISO + r")?"
# an ISO date with its time, read before times of day so that its time stays with its date
_ISO_DATETIME = rx(r"\b(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})" + _TIME_ISO)
_DATE_BR = r"(?P<bd>\d{1,2})/(?P<bm>\d{1,2})/(?P<by>\d{4}|\d{2}(?!\d))"
# dd/mm without a year: the latest such day up to now, like a month named without one
_DATE_DM = r"(?<!cada\s)(?<!every\s)(?P<dd>0?[1-9]|[12]\d|3[01])/(?P<dm>0?[1-9]|1[0-2])(?![/\d])"
# after a day/month written as a fraction would be ("1/2 hora", "1/3 das usinas"): not a date
_FRACTION_OF = re.compile(r"\s*(?:horas?|hours?|h\b|d[aoe]s?\b|of\b)")
_DATE_LONG_PT = (
    r"(?:dia\s+)?(?P<pd>\d{1,2})(?:o|º)?\s+(?:de\s+)?(?P<pm>" + MONTH_ANY + r")"
    r"(?:\s*(?:de|,)?\s+(?P<py>\d{4}))?"
)
_DATE_LONG_EN = (
    r"(?P<em>" + MONTH_ANY + r")\s+(?P<ed>\d{1,2})(?:st|nd|rd|th)?(?:\s*,?\s+(?P<ey>\d{4}))?"
)
_MONTH_YEAR = (
    r"(?P<mm>"
    + MONTH_ANY
    + r")\s*(?:de|/|,|-|of)?\s*(?P<my>\d{4})|(?P<ny>\d{4})-(?P<nm>\d{2})(?!-)"
    r"|(?P<m2>" + MONTH_ANY + r")\s*(?:/|-|')\s*(?P<y2>\d{2})(?!\d)"  # fev/24, jan-24, mar'24
    r"|(?P<sm>\d{1,2})/(?P<sy>\d{4})"
)
_QUARTER = (
    r"(?:(?:(?P<qo>primeiro|segundo|terceiro|quarto|ultimo|1o|2o|3o|4o|1º|2º|3º|4º|first|second"
    r"|third|fourth|last|1st|2nd|3rd|4th)\s+(?:trimestre|quarter|tri)|q(?P<qn>[1-4]))"
    r"\s*(?:de|of|,)?\s*(?P<qy>\d{4})"
    # without a year ("no 2º tri", "in Q2"): the latest such quarter that has begun
    r"|(?<!cada\s)(?<!each\s)(?<!every\s)(?:(?P<qa>primeiro|segundo|terceiro|quarto|1o|2o|3o"
    r"|4o|1º|2º|3º|4º|first|second|third|fourth|1st|2nd|3rd|4th)\s+(?:trimestre|quarter|tri)"
    r"|q(?P<qan>[1-4]))(?!\s*(?:de|of|,)?\s*\d)(?!\s+(?:de|do|of|in)\s+(?:cada|each|every|todo))"
    # ONS and market shorthand: 1T23, 1T2023, T1 2023, 1º tri 23
    r"|(?P<tn>[1-4])\s*t\s*(?P<ty>\d{2}|\d{4})|t(?P<tn2>[1-4])\s*[/-]?\s*(?P<ty2>\d{4}))"
)
# a month's abbreviation alone only after a preposition, and only those that are no other word
_MONTH_ALONE = (
    r"(?P<am>" + MONTH_FULL + r"|(?:(?<=\bem\s)|(?<=\bde\s)|(?<=\bin\s)|(?<=\bof\s))"
    r"(?:jan|fev|feb|abr|apr|jun|jul|dez|dec|nov)(?!\s*[/'-])"
    # "May" is a month after a preposition or before "to September", not the verb ("it may be")
    r"|(?:(?<=\bin\s)|(?<=\bfrom\s)|(?<=\bsince\s)|(?<=\bof\s)|(?<=\())may"
    r"|may(?=\s*(?:to|through|thru|until|till|-|–|and)\s*" + MONTH_FULL + r"\b))"
)
# a four-digit count ("as 2000 maiores usinas", "top 2000") is not a year
_YEAR = (
    # "ano de 2023", "calendar year 2023" — but "por ano de 2018 a 2024" groups by year
    r"(?:(?<!por\s)(?<!cada\s)(?<!per\s)(?<!each\s)(?<!by\s)(?<!every\s)"
    r"(?:(?:o\s+)?ano\s+(?:de\s+)?(?=(?:19|20)\d{2})|(?:the\s+)?(?:calendar\s+)?year\s+"
    r"(?=(?:19|20)\d{2})))?"
    r"(?<!top\s)(?<!bottom\s)(?<!top-)(?P<yy>(?:19|20)\d{2})(?!\s+(?:maiores|menores|principais"
    r"|largest|biggest|smallest|highest|lowest|usinas|plants|subsistemas|subsystems|estados"
    r"|states|fontes|sources|regioes|regions)\b)"
)
# a day of the month named alone: "o dia 1 (do mês)", "the 1st (of the month)"
_DAY_OF_MONTH = rx(
    r"(?:(?<=desde\s)|(?<=since\s)|(?<=partir\sdo\s))"
    r"(?:(?:o\s+)?dia\s+(?P<d>\d{1,2})(?:\s+(?:do|deste|desse)\s+mes)?"
    r"|the\s+(?P<d2>\d{1,2})(?:st|nd|rd|th)(?:\s+of\s+(?:the|this)\s+month)?)\b"
    r"(?!\s*(?:/|-|de\s+[a-z]|of\s+[a-z]|[a-z]{3,}))"
)
_DX = re.compile(
    r"\b(?:"
    + "|".join(
        f"(?:{p})" for p in (_DATE_ISO, _DATE_BR, _DATE_DM, _QUARTER, _DATE_LONG_PT,
                             _DATE_LONG_EN, _MONTH_YEAR, _MONTH_ALONE, _YEAR)
    )
    + r")\b"
)  # fmt: skip
_QUARTER_WORDS = {
    "primeiro": 1, "segundo": 2, "terceiro": 3, "quarto": 4, "ultimo": 4, "first": 1,
    "second": 2, "third": 3, "fourth": 4, "last": 4,
}  # fmt: skip

_DAY_RANGE = rx(
    r"""\b(?:(?:(?:n[oa]\s+)?semana\s+(?:de|do\s+dia)|de|from|entre|between|dias?|days?)\s+)?
    (?P<d1>\d{1,2})(?:º|o)?\s*(?:a|e|ate|to|and|-|–|—|through)\s*
    (?P<d2>\d{1,2})(?:º|o)?\s+(?:de\s+)?(?P<m>"""
    + MONTH_ANY
    + r""")(?:\s*(?:de|,)?\s+(?P<y>\d{4}))?\b"""
)
_DAY_RANGE_EN = rx(
    r"""\b(?:(?:from|between)\s+)?(?P<m>"""
    + MONTH_ANY
    + r""")\s+(?P<d1>\d{1,2})(?:st|nd|rd|th)?\s*
    (?:-|–|—|to|and|through|until)\s*(?P<d2>\d{1,2})(?:st|nd|rd|th)?(?:\s*,?\s+(?P<y>\d{4}))?\b"""
)
_UNIT_WORDS = (
    r"(?P<unit>horas?|hrs?|h|hours?|dias?|days?|d|semanas?|weeks?|meses|mes|months?|anos?"
    r"|years?|minutos?|minutes?|mins?)"
)
_RELATIVE_N = rx(
    r"""\b(?:(?:n[oa]s?|over\s+the|in\s+the|during\s+the|for\s+the|within\s+the|the)\s+)?
    (?:ultim[oa]s|last|past|previous|recent(?:es)?)\s+(?P<n>"""
    + NUM
    + r""")\s*(?:(?P<full>full|complete|whole)\s+)?"""
    + _UNIT_WORDS
    + r"""(?:\s+(?P<full2>complet[oa]s|inteir[oa]s|chei[oa]s|fechad[oa]s))?"""
    + r"""(?:\s+(?:atras|ago))?\b"""
)
_RELATIVE_N_AGO = rx(
    r"\b(?:(?:n[oa]s|over\s+the|in\s+the)\s+)?(?P<n>"
    + NUM
    + r"|an?)\s*"
    + _UNIT_WORDS
    + r"\s+(?:atras|ago|passad[oa]s)\b"
)
# a level at a moment: stored energy, or "now" ("EAR do SE há um ano", "right now a year ago")
_LEVEL_ASKED = rx(
    r"\b(?:agora|now|atual(?:mente)?|current(?:ly)?|neste\s+momento|ear|armazenad[oa]|armazenamento"
    r"|reservatorios?|reservoirs?|storage|stored)\b"
)
_OVER_A_PERIOD = rx(
    r"\b(?:average|mean|medi[ao]|total|soma|sum|acumulad[oa]|monthly|mensal|mes\s+a\s+mes"
    r"|(?:por|per|each|cada)\s+(?:mes|month|semana|week|dia|day))\b"
)
# "há um ano", "há 3 dias": as "N units ago"
_HA_N = rx(r"\bha\s+(?P<n>" + NUM + r")\s*" + _UNIT_WORDS + r"\b(?!\s+(?:atras|ago)\b)")

_NAMED: list[tuple[str, str]] = [
    (r"(?:d?[oa]\s+)?(?:anteontem|antes\s+de\s+ontem)|(?:the\s+)?day\s+before\s+(?:yesterday|last)",
     "day-2"),
    # "last night", "overnight", "a noite passada": the night that just ended, across midnight
    (r"(?:(?:the|during|over)\s+)?last\s+night|overnight|(?:n?a\s+)?noite\s+passada", "night-last"),
    (r"(?:d?[oa]\s+)?ontem|yesterday", "day-1"),
    (r"(?:d?[oa]\s+)?hoje|today|(?:d?[oa]\s+)?dia\s+de\s+hoje", "today"),
    (r"(?:n?[oa]\s+)?(?:ultimas|past|last)\s+24\s*(?:horas|hours|h)", "hours24"),
    # like "mês passado" / "último mês": "semana passada", "last week" are the calendar week
    # before this one (Monday to Sunday); "a última semana", "the last/past week", seven days
    (r"(?:n?[oa]\s+)?semana\s+retrasada|(?:the\s+)?week\s+before\s+last", "week-prev2"),
    # "no fim de semana" (one weekend): the latest that has begun
    (r"(?<!neste\s)(?<!nesse\s)(?<!este\s)(?<!esse\s)(?<!proximo\s)(?:n?o\s+)?(?:ultimo\s+)?"
     r"fim\s+de\s+semana(?:\s+passado)?|(?:the\s+)?(?:last|past)\s+weekend",
     "weekend-last"),
    (r"(?:n?[oa]\s+)?(?:ultima|last|past)\s+(?:quinzena|fortnight)", "days14"),
    (r"(?:n?[oa]\s+)?semana\s+passada|(?<!the\s)last\s+week", "week-prev"),
    (r"(?:n?[oa]\s+)?(?:ultima|past|last|previous)\s+(?:semana|week)"
     r"|(?:nos\s+)?ultimos\s+sete\s+dias", "week-rolling"),
    (r"(?:n?[oa]\s+)?(?:esta|nesta|essa|nessa|desta|dessa|this|current)\s+(?:semana|week)"
     r"|(?:n?[oa]\s+)?semana\s+atual|(?:o\s+)?acumulad[oa]\s+da\s+semana", "week-this"),
    (r"(?:for|over|in|during|within)\s+the\s+(?:last|past)\s+month", "month-rolling"),
    (r"(?:n?[oa]\s+)?mes\s+retrasado|(?:the\s+)?month\s+before\s+last", "month-prev2"),
    (r"(?:n?[oa]\s+)?mes\s+passado|(?:the\s+)?(?:last|previous)\s+month", "month-prev"),
    (r"(?:n?[oa]\s+)?ultimo\s+mes|(?:the\s+)?past\s+month", "month-rolling"),
    (r"(?:n?[oa]\s+)?(?:este|neste|esse|nesse|deste|desse|this|current)\s+(?:mes|month)"
     r"|(?:n?[oa]\s+)?mes\s+atual|(?:o\s+)?acumulad[oa]\s+do\s+mes|month[\s-]+to[\s-]+date|mtd"
     r"|desde\s+o\s+(?:comeco|inicio)\s+do\s+mes|since\s+the\s+(?:start|beginning)\s+of\s+the"
     r"\s+month", "month-this"),
    (r"(?:n?[oa]\s+)?(?:trimestre\s+passado|ultimo\s+trimestre(?!\s*(?:de|do|,)?\s*(?:ano\s+)?\d))"
     r"|(?:the\s+)?(?:last|previous)\s+quarter", "quarter-prev"),
    (r"(?:n?[oa]\s+)?(?:este|neste|esse|nesse|deste|desse|this|current)\s+(?:trimestre|quarter)"
     r"|(?:n?[oa]\s+)?trimestre\s+atual|quarter[\s-]+to[\s-]+date|qtd", "quarter-this"),
    (r"(?:n?[oa]\s+)?ano\s+passado|(?:the\s+)?(?:last|previous)\s+year", "year-prev"),
    (r"(?:n?[oa]\s+)?ultimo\s+ano|(?:the\s+)?past\s+year|(?:the\s+)?last\s+12\s+months",
     "year-rolling"),
    (r"(?:n?[oa]\s+)?(?:este|neste|esse|nesse|deste|desse|this|current)\s+(?:ano|year)"
     r"|(?:n?[oa]\s+)?ano\s+atual|(?:o\s+)?acumulad[oa]\s+do\s+ano|year[\s-]+to[\s-]+date|ytd"
     r"|desde\s+o\s+(?:comeco|inicio)\s+do\s+ano|since\s+(?:the\s+)?(?:start|beginning|begin)"
     r"\s+of\s+(?:the|this)\s+year", "year-this"),
]  # fmt: skip
_NAMED_RX = [(rx(r"\b(?:" + p + r")\b"), key) for p, key in _NAMED]
_DAY_OFFSET = {"hoje": 0, "today": 0, "ontem": -1, "yesterday": -1, "anteontem": -2}
_AT_CLOCK = r"\d{1,2}(?::\d{2}|h\d{2})?\s*(?:h|[ap]\.?m\.?)?"
_INSTANT_DAY = r"hoje|today|ontem|yesterday|anteontem"
# from a time of one day to a time of another: "das 22h de ontem até as 6h de hoje", "ontem às
# 22h até hoje às 6h", "from 10pm yesterday to 6am today"
_INSTANT_RANGE = rx(
    r"\b(?:(?:das?|desde(?:\s+as)?|from|since)\s+)?(?P<t1>" + _AT_CLOCK + r")\s+(?:de\s+)?"
    r"(?P<d1>"
    + _INSTANT_DAY
    + r")\s+(?:ate|a|to|until|till|-)\s+(?:as?\s+)?(?P<t2>"
    + _AT_CLOCK
    + r")\s+(?:de\s+)?(?P<d2>"
    + _INSTANT_DAY
    + r")\b"
    r"|\b(?:(?:de|desde|from|since)\s+)?(?P<e1>"
    + _INSTANT_DAY
    + r")\s+(?:as|at)\s+(?P<u1>"
    + _AT_CLOCK
    + r")\s+(?:ate|a|to|until|till|-)\s+(?P<e2>"
    + _INSTANT_DAY
    + r")\s+(?:as|at)\s+(?P<u2>"
    + _AT_CLOCK
    + r")(?!\w)"
)
_SINCE_MIDNIGHT = rx(
    r"\b(?:desde|since|a\s+partir\s+da|from)\s+(?:a\s+)?(?:meia[\s-]*noite|midnight)"
    r"(?:\s+(?:ate\s+agora|until\s+now|till\s+now))?\b"
)

_LEAD = re.compile(
    r"(?:\b(?:em|in|on|no|na|nos|nas|durante|during|for|de|do|da|dos|das|of|at|throughout"
    r"|over|within|ao\s+longo\s+d[eoa])\s+)+(?:(?:o|a|the)\s+)?"
    r"(?:(?:dia|mes|ano|day|month|year)\s+(?:de\s+|of\s+)?)?$"
)
_SINCE = re.compile(
    r"\b(?:desde|since|a\s+partir\s+de|starting(?:\s+from)?|after|apos|depois\s+de)"
    r"(?:\s+(?:o\s+dia|o|a|the))?\s*$"
)
_UNTIL = re.compile(r"\b(?:ate|until|till|before|antes\s+de)(?:\s+(?:o\s+dia|o|a|the))?\s*$")
_RANGE_START = re.compile(r"\b(?:entre|between|de|from|do\s+dia|desde|since)\s*$")
# "higher than", "maior do que": two things compared, when no number follows (a condition)
COMPARATIVE = (
    r"(?:(?:more|higher|lower|less|greater|bigger|smaller|larger)\s+than"
    r"|(?:mais|maior|menor|menos)(?:\s+(?:alt[oa]|baix[oa]))?\s+(?:do\s+)?que)"
    r"(?!\s+(?:r\$\s*)?\d)"
)
_COMPARE_JOIN = re.compile(
    # "Quanto gerou em setembro? E no mesmo mês do ano passado?": a follow-up compares too
    r"\s*(?:[,?]\s*)?(?:(?:and\s+)?(?:what|how)\s+about|e\s+quanto\s+a"
    r"|vs\.?|versus|x|contra|against|e|and|com|with|ante|frente\s+a|sobre"
    r"|na\s+comparacao\s+com|year[\s-]+on[\s-]+year\s+(?:with|to)"
    r"|comparad[oa]s?\s+(?:com|a|ao)|em\s+comparacao\s+(?:com|a|ao)|em\s+relacao\s+(?:a|ao|as)"
    r"|relativ[oa]\s+a|compared?\s+(?:with|to)|in\s+comparison\s+(?:with|to)|relative\s+to"
    r"|as\s+against|(?:(?:foi|era|e|ficou|esta|ta|estava|anda|was|is|were|has\s+been)\s+)?"
    # "foi maior ou menor que", "higher or lower than": either way, a comparison
    r"(?:(?:maior|menor|mais|menos|more|higher|lower|less|greater|bigger|smaller|larger)"
    r"\s+(?:ou|or)\s+)?" + COMPARATIVE + r")"
    r"\s*(?:(?:a|o|ao|the)\s+)?"
)


_EITHER_JOIN = re.compile(r"\s*,?\s*(?:ou|or)\s*(?:(?:em|in|no|na|on)\s+)?(?:(?:o|a|the)\s+)?")
_COMPARED_TAIL = re.compile(
    r"(?:,\s*)?\b(?:comparad[oa]s?\s+(?:com|a|ao)|compared?\s+(?:with|to)"
    r"|em\s+comparacao\s+(?:com|a|ao)|em\s+relacao\s+(?:a|ao|as)|relative\s+to|as\s+against"
    r"|versus|vs\.?|against|frente\s+a)\s*(?:(?:a|o|ao|the)\s+)?$"
)


@dataclass
class _Atom:
    start: int
    end: int
    span: Span | None  # None: a period relative to the one before it ("o mesmo mês de 2023")
    shift: str = "12mo"  # how far back: "1mo", "7d", "length" (of the previous span), "in2023"...
    same: bool = False  # "the same period …": the same dates as the one before it


def _bad(reading: Reading, text: Text, match: re.Match[str], reason: str) -> None:
    reading.problems.append((text.original(match.start(), match.end()).strip(), reason))


def read(text: Text, now: datetime, ends: bool = False) -> Reading:
    """Read (and consume) every period phrase of ``text``; see the module docstring. With
    ``ends`` (a change asked for: "variação de fev/23 a fev/24"), a range names its two ends,
    compared, not the span between them."""
    zone = now.tzinfo
    today = midnight(now)
    reading = Reading()
    atoms: list[_Atom] = []
    for match in text.take(_INSTANT_RANGE):
        # "das 22h de ontem até as 6h de hoje", "from 10pm yesterday to 6am today": a night
        # shift, from one instant to another
        try:
            a = add_days(today, _DAY_OFFSET[match.group("d1") or match.group("e1")])
            b = add_days(today, _DAY_OFFSET[match.group("d2") or match.group("e2")])
            start = a + _clock((match.group("t1") or match.group("u1")).strip())
            end = b + _clock((match.group("t2") or match.group("u2")).strip())
        except ValueError as exc:
            _bad(reading, text, match, str(exc))
            continue
        if end <= start:
            _bad(reading, text, match, "the range ends before it starts")
            continue
        atoms.append(_Atom(match.start(), match.end(), Span(start, end)))
    so_far_matches = text.take(_SO_FAR)
    so_far = reading.so_far = bool(so_far_matches)
    # "de janeiro até hoje", "from March to date": a range that runs to now
    so_far_from = any(
        re.search(
            r"\b(?:de|desde|from|since|d[oa]s?)\s+\S+(?:\s+\S+){0,3}\s*$", text.norm[: m.start()]
        )
        and re.match(r"\s*(?:ate|until|to)\b", text.norm[m.start() :])
        for m in so_far_matches
    )
    for match in text.take(_LAST_WEEKDAY):
        name = match.group("a") or match.group("b") or match.group("c")
        weekday = next(d for p, d in _DAY_NAMES if re.fullmatch(p, name))
        back = (today.weekday() - weekday) % 7 or 7
        day = add_days(today, -back)
        atoms.append(_Atom(match.start(), match.end(), Span(day, add_days(day, 1))))
    if text.take(_WHOLE_WEEK):
        reading.notes.append("weeks from Monday to Sunday, every day kept")
    for match in text.take(_DAYS):
        if match.group("range"):  # "de sábado até a terça": the days between, both included
            first, last = (
                _BARE_DAYS.get(match.group(g))
                if match.group(g) in _BARE_DAYS
                else next(d for p, d in _DAY_NAMES if re.fullmatch(p, match.group(g)))
                for g in ("r1", "r2")
            )
            reading.days = frozenset((first + i) % 7 for i in range((last - first) % 7 + 1))
        elif match.group("we"):
            reading.days = WEEKEND
        elif match.group("wd"):
            reading.days = WEEKDAYS
        else:
            names = match.group("names")
            reading.days = frozenset(d for p, d in _DAY_NAMES if re.search(rf"\b(?:{p})\b", names))
    for match in text.take(_SAME_LAST_YEAR):
        atoms.append(_Atom(match.start(), match.end(), None, same=True))
    for match in text.take(_SAME_IN_YEAR):
        atoms.append(_Atom(match.start(), match.end(), None, f"in{match.group('y')}", same=True))
    for match in text.take(_SAME_LAST_WEEK):
        atoms.append(_Atom(match.start(), match.end(), None, "7d", same=True))
    for match in text.take(_PREVIOUS):
        unit = match.group("pt") or match.group("en") or match.group("en2") or match.group("ago")
        atoms.append(_Atom(match.start(), match.end(), None, _PREVIOUS_SHIFT[unit]))
    for pattern, builder in (
        (_FIRST_N, _first_n),
        (_EDGE_DAY, _edge_day),
        (_SEMESTER, _semester),
        (_SUBMONTH, _submonth),
        (_HYDRO, _hydro),
        (_SEASON, _season),
        (_ISO_WEEK, _iso_week),
        (_LAST_HOLIDAY, _last_holiday),
        (_HOLIDAY, _holiday),
        (_ISO_DATETIME, _iso_datetime),
    ):
        for match in text.take(pattern):
            try:
                span = builder(match, now)
            except ValueError as exc:
                _bad(reading, text, match, str(exc) or "not a valid period")
                continue
            if span is None:
                text.restore(match.start(), match.end())
                continue
            atoms.append(_Atom(match.start(), match.end(), span))
    for pattern, key in _NAMED_RX:
        for match in text.take(pattern):
            atoms.append(_Atom(match.start(), match.end(), _named(key, now, today)))
            if key == "night-last":
                reading.notes.append("last night: from 18:00 yesterday to 06:00 today")
    for pattern in (_RELATIVE_N, _RELATIVE_N_AGO, _HA_N):
        for match in text.take(pattern):
            n = 1 if match.group("n") in ("a", "an") else numbers.parse(match.group("n"))
            if n is None or n < 1:
                _bad(reading, text, match, "not a whole number of units")
                continue
            unit = match.group("unit")
            ago = pattern is _RELATIVE_N_AGO and re.search(r"(?:atras|ago)$", match.group(0))
            if ago or pattern is _HA_N:
                # "3 days ago" is that day, not the last 3 days; "hoje vs 1 semana atrás" the
                # period compared, moved back
                shift = _ago_shift(n, unit)
                if shift and any(a.start < match.start() for a in atoms):
                    atoms.append(_Atom(match.start(), match.end(), None, shift))
                else:
                    # "load a year ago": that day; "average load 2 years ago": that year
                    level = bool(_LEVEL_ASKED.search(text.norm)) or not _OVER_A_PERIOD.search(
                        text.norm
                    )
                    atoms.append(_Atom(match.start(), match.end(), _ago(n, unit, now, level)))
                continue
            whole = pattern is _RELATIVE_N and (match.group("full") or match.group("full2"))
            span = _complete(n, unit, now) if whole else _relative(n, unit, now)
            atoms.append(_Atom(match.start(), match.end(), span))
    for match in text.take(_SINCE_MIDNIGHT):
        # "hoje desde a meia-noite", "since midnight": the day from its start, i.e. the day
        if not atoms:
            atoms.append(_Atom(match.start(), match.end(), _named("today", now, today)))
    clocks = _read_clock(text, reading)
    if clocks and (so_far or re.search(r"\b(?:desde|since|a\s+partir\s+d|starting)", text.norm)):
        # "desde ontem às 18h", "das 18h de ontem até agora": a time of day on every day would be
        # read, not the instant the range starts or ends at
        a, b = clocks[0]
        reading.problems.append(
            (
                text.original(a, b).strip(),
                "a range from or to a time of day: write the date and time (2024-03-07 18:00)",
            )
        )
    for pattern in (_DAY_RANGE, _DAY_RANGE_EN):
        for match in text.take(pattern):
            try:
                month = MONTHS[match.group("m")]
                year = _year(month, now, match.group("y"))
                a = day_span(year, month, int(match.group("d1")), zone)
                b = day_span(year, month, int(match.group("d2")), zone)
            except ValueError:
                _bad(reading, text, match, "not a valid date")
                continue
            if b.start < a.start:
                _bad(reading, text, match, "the range ends before it starts")
                continue
            atoms.append(_Atom(match.start(), match.end(), Span(a.start, b.end)))
    for match in text.take(_DAY_OF_MONTH):
        # "desde o dia 1 do mês", "since the 1st": that day of this month (of the month before
        # when it has not come yet)
        day, month_start = int(match.group("d") or match.group("d2")), now.replace(day=1)
        if day > now.day:
            month_start = _add_months(month_start, -1)
        start = None
        for back in range(3):  # "desde o dia 31" on 18 March: 31 January
            try:
                start = _add_months(month_start, -back).replace(
                    day=day, hour=0, minute=0, second=0, microsecond=0
                )
                break
            except ValueError:
                continue
        if start is None:
            _bad(reading, text, match, "not a valid date")
            continue
        atoms.append(_Atom(match.start(), match.end(), Span(start, add_days(start, 1))))
    for match in list(text.finditer(_DX)):
        try:
            span = _dx(match, now)
        except ValueError:
            _bad(reading, text, match, "not a valid date")
            text.consume(match.start(), match.end())
            continue
        if span is not None:
            text.consume(match.start(), match.end())
            atoms.append(_Atom(match.start(), match.end(), span))
    atoms.sort(key=lambda a: a.start)
    if any(_whole_year(a.span) for a in atoms):  # "em 2024 (total no ano)": that year again
        text.take(_THE_YEAR)
    for atom in atoms:
        edge = _EDGE.search(text.current[: atom.start])
        if edge is None or atom.span is None:
            continue
        span = atom.span
        if edge.group("start"):
            atom.span = Span(span.start, min(add_days(span.start, 1), span.end))
        else:
            atom.span = Span(max(add_days(span.end, -1), span.start), span.end)
        text.consume(edge.start(), atom.start)
        atom.start = edge.start()
    for atom in atoms:
        through = _UNITS_THROUGH.search(text.current[: atom.start])
        if through is None or atom.span is None:
            continue
        n, unit = int(through.group("n")), fold(through.group("unit"))[:3]
        if n < 1:
            _bad(reading, text, through, "not a whole number of units")
            continue
        end = atom.span.end
        if unit in ("mon", "mes", "yea", "ano", "qua", "tri"):
            months = n * {"mon": 1, "mes": 1, "yea": 12, "ano": 12}.get(unit, 3)
            start = _add_months(end, -months)
        else:
            start = add_days(end, -n * (7 if unit in ("wee", "sem") else 1))
        atom.span = Span(start, end)
        text.consume(through.start(), atom.start)
        atom.start = through.start()
    joined: set[int] = set()  # the ends of ranges read as compared periods (by their start)
    # "Jan-Oct 2025 vs Jan-Oct 2024": with the comparison written, a range stays a range
    explicit = re.search(
        r"\b(?:vs\.?|versus|compared|comparad[oa]s?|contra|against|em\s+relacao|frente\s+a)(?!\w)",
        text.norm,
    )
    periods = _ranges(text, atoms, now, reading, joined if ends and not explicit else None)
    _compare(text, periods, reading, clocks, joined, now)
    if so_far:  # "em 2024 até agora": the period up to now; "de janeiro até hoje": to now
        reading.spans = [
            Span(s.start, now if so_far_from and s.start < now else min(s.end, now))
            for s in reading.spans
        ]
    for span in reading.spans:
        if span.start > now:
            reading.problems.append((label(span), "the period is in the future"))
    return reading


def _ranges(
    text: Text,
    atoms: list[_Atom],
    now: datetime,
    reading: Reading,
    ends: set[int] | None = None,
) -> list[_Atom]:
    """Join atoms written as ranges (de X a Y, entre X e Y), open ones (desde X) and leading
    prepositions into the periods the question names; with ``ends``, a range's two ends stay
    two periods (their second atoms' starts are added to ``ends``)."""
    out: list[_Atom] = []
    i = 0
    while i < len(atoms):
        a = atoms[i]
        before = text.current[: a.start]
        if i + 1 < len(atoms) and a.span is not None and atoms[i + 1].span is not None:
            b = atoms[i + 1]
            between = text.norm[a.end : b.start]
            joined = (
                re.search(r"\b(?:entre|between)\s*$", before)
                and re.fullmatch(r"\s*(?:e|and|-)\s*", between)
            ) or (
                _RANGE_START.search(before)
                # "de 2025 e 2024" names two periods; "de … a …", "entre … e …" one range
                and re.fullmatch(r"\s*(?:a|ate|to|until|till|through|-)\s*(?:o\s+dia\s+)?", between)
            )
            if ends is not None and not joined:  # "variação de janeiro para fevereiro"
                joined = _RANGE_START.search(before) and re.fullmatch(
                    r"\s*(?:para|pra|pro|versus|vs\.?)\s*", between
                )
            if joined or re.fullmatch(r"\s*(?:-|a|ate|to|until|through)\s*", between):
                prefix = _RANGE_START.search(before) if joined else None
                begin = prefix.start() if prefix else a.start
                assert a.span is not None and b.span is not None
                if ends is not None:
                    text.consume(begin, b.end)
                    out += [_Atom(begin, a.end, a.span), _Atom(b.start, b.end, b.span)]
                    ends.add(b.start)
                    i += 2
                    continue
                if b.span.end <= a.span.start and not re.search(r"\d", text.norm[b.start : b.end]):
                    # "from May to September" in June: one run of months, the latest whose end
                    # has come (each month alone is its latest: May this year, September last)
                    a.span = Span(_add_months(a.span.start, -12), _add_months(a.span.end, -12))
                if b.span.end <= a.span.start:
                    reading.problems.append(
                        (text.original(begin, b.end).strip(), "the range ends before it starts")
                    )
                text.consume(begin, b.end)
                # a range ending at a time of day ends at that instant, not an hour later
                end = (
                    b.span.start
                    if re.search(r"\d:\d{2}", text.norm[b.start : b.end])
                    else b.span.end
                )
                out.append(_Atom(begin, b.end, Span(a.span.start, end)))
                i += 2
                continue
        since, until = _SINCE.search(before), _UNTIL.search(before)
        if since and a.span is not None:
            text.consume(since.start(), a.end)
            out.append(_Atom(since.start(), a.end, Span(a.span.start, now)))
        elif until:
            text.consume(until.start(), a.end)
            reading.problems.append(
                (
                    text.original(until.start(), a.end).strip(),
                    "a period needs a start: say 'de ... até ...' / 'from ... to ...'",
                )
            )
        else:
            lead = _LEAD.search(before)
            begin = lead.start() if lead else a.start
            text.consume(begin, a.end)
            out.append(_Atom(begin, a.end, a.span, a.shift, a.same))
        i += 1
    return out


def _compare(
    text: Text,
    periods: list[_Atom],
    reading: Reading,
    clocks: list[tuple[int, int]],
    joined: set[int],
    now: datetime,
) -> None:
    if not periods:
        return
    restated: list[_Atom] = []
    for a, b in itertools.pairwise(periods):
        # "the 2024/25 wet season (Nov 2024 to Apr 2025)": one period, said twice; spelled out
        # differently after a parenthesis, a colon or "i.e." ("(December 2024 through April
        # 2025)"), the dates spelled out are the period
        sep = re.fullmatch(
            r"\s*([(,:—–-])?\s*(i\.?e\.?,?|ou\s+seja,?|that\s+is,?)?\s*", text.norm[a.end : b.start]
        )
        if a.span is None or b.span is None or a in restated:
            continue
        if a.span == b.span:
            # the same period named again, even far apart ("… gerou menos em setembro. Qual foi
            # a geração média dela em setembro?"): one period
            restated.append(b)
        elif sep is None:
            continue
        elif (
            not sep.group(1)
            and len(periods) == 2
            and b.span.start <= a.span.start
            and a.span.end <= b.span.end
        ):
            restated.append(b)  # "May 1st this year", "em 3 de março deste ano": the day
        elif (sep.group(1) in ("(", ":") or sep.group(2)) and (
            a.span.start < b.span.end and b.span.start < a.span.end
        ):
            restated.append(a)
            reading.notes.append(
                f"'{text.original(a.start, a.end).strip()}' read as the dates spelled out "
                f"after it ({label(b.span)})"
            )
    periods = [p for p in periods if p not in restated]
    norm = list(text.norm)
    for start, end in clocks:  # a time of day between compared periods is not their join
        norm[start:end] = " " * (end - start)
    comparative = re.search(
        r"\b(?:mais|maior|menor|menos|more|higher|lower|less|bigger|smaller)\b", text.norm
    )
    cuts: list[tuple[int, int]] = []  # what joins each pair, consumed once all are joined
    for a, b in itertools.pairwise(periods):
        between = "".join(norm[a.end : b.start])
        if b.start in joined or _COMPARE_JOIN.fullmatch(re.sub(r"\s+", " ", between)):
            cuts.append((a.end, b.start))
        elif comparative and _EITHER_JOIN.fullmatch(between):
            cuts.append((a.end, b.start))  # "gerou mais em 2023 ou em 2024?"
            if comparative.group(0) in ("mais", "more", "menos", "less"):
                cuts.append((comparative.start(), comparative.end()))  # the comparison itself
        elif tail := _COMPARED_TAIL.search(between):
            # "no Natal, qual foi o CMO médio, comparado com a média de dezembro": the words
            # between are the question's; only the comparison joins the periods
            cuts.append((a.end + tail.start(), b.start))
    joined_pairs = sum(
        1 for a, b in itertools.pairwise(periods) if any(c[1] == b.start for c in cuts)
    )
    joins = [True] * joined_pairs + [False] * (len(periods) - 1 - joined_pairs)
    shown = ", ".join(repr(text.original(p.start, p.end).strip()) for p in periods)
    if not all(joins):
        reading.problems.append(
            (shown, "several periods: join them as a range (de ... a ...) or compare them (vs)")
        )
        return
    spans: list[Span] = []
    for atom in periods:
        if atom.span is None:
            if not spans:
                reading.problems.append(
                    (text.original(atom.start, atom.end).strip(), RELATIVE_WITHOUT_BASE)
                )
                return
            base = spans[-1]
            if atom.same and base.start < now < base.end:  # "this month vs the same month last
                base = spans[-1] = Span(base.start, now)  # year": the dates gone by, in both
                reading.notes.append("a period not over, compared over the dates gone by")
            spans.append(_back(base, atom.shift))
        else:
            spans.append(atom.span)
        reading.phrases.append(text.original(atom.start, atom.end).strip())
    for start, end in cuts:
        text.consume(start, end)
    if len(spans) > 1 and len({(s.start, s.end) for s in spans}) < len(spans):
        reading.problems.append((shown, "the same period twice"))
        return
    reading.spans = spans


# -- builders -----------------------------------------------------------------------------------


def back(span: Span, shift: str) -> Span:
    """``span`` moved back by ``shift`` ("12mo", "1mo", "7d" or "length")."""
    return _back(span, shift)


def _back(span: Span, shift: str) -> Span:
    if shift.startswith("in"):  # the same dates in that year
        months = 12 * (span.start.year - int(shift[2:]))
        return Span(_add_months(span.start, -months), _add_months(span.end, -months))
    if shift == "length":
        length = span.end - span.start
        return Span(span.start - length, span.start)
    if shift.endswith("mo"):
        months = int(shift[:-2])
        return Span(_add_months(span.start, -months), _add_months(span.end, -months))
    days = int(shift[:-1])
    return Span(add_days(span.start, -days), add_days(span.end, -days))


def _year(month: int, now: datetime, written: str | None = None) -> int:
    """The year written, else the year of the latest such month that has begun."""
    if written:
        return int(written)
    return now.year if month <= now.month else now.year - 1


def _named_month(m: re.Match[str], now: datetime) -> Span:
    """The month a match names (groups ``m`` and, optionally, ``y``), in ``now``'s zone."""
    month = MONTHS[m.group("m")]
    return month_span(_year(month, now, m.group("y")), month, now.tzinfo)


def _named(key: str, now: datetime, today: datetime) -> Span:
    if key == "night-last":
        end = today + timedelta(hours=6)
        return Span(add_days(today, -1) + timedelta(hours=18), min(end, now))
    if key == "day-2":
        return Span(add_days(today, -2), add_days(today, -1))
    if key == "day-1":
        return Span(add_days(today, -1), today)
    if key == "today":
        return Span(today, now)
    if key == "hours24":
        return Span(now - timedelta(hours=24), now)
    if key == "week-rolling":
        return Span(add_days(now, -7), now)
    if key == "days14":
        return Span(add_days(now, -14), now)
    if key == "weekend-last":
        saturday = add_days(today, -((today.weekday() - 5) % 7))
        return Span(saturday, min(add_days(saturday, 2), now))
    if key in ("week-prev", "week-prev2"):
        monday = add_days(today, -today.weekday() - (7 if key == "week-prev2" else 0))
        return Span(add_days(monday, -7), monday)
    if key == "week-this":
        return Span(add_days(today, -today.weekday()), now)
    month_start = today.replace(day=1)
    if key in ("month-prev", "month-prev2"):
        back = 1 if key == "month-prev" else 2
        return Span(_add_months(month_start, -back), _add_months(month_start, 1 - back))
    if key == "month-rolling":
        return Span(_add_months(now, -1), now)
    if key == "month-this":
        return Span(month_start, now)
    if key == "quarter-prev":
        quarter_start = month_start.replace(month=(today.month - 1) // 3 * 3 + 1)
        return Span(_add_months(quarter_start, -3), quarter_start)
    if key == "quarter-this":
        return Span(month_start.replace(month=(today.month - 1) // 3 * 3 + 1), now)
    year_start = today.replace(month=1, day=1)
    if key == "year-prev":
        return Span(year_start.replace(year=year_start.year - 1), year_start)
    if key == "year-rolling":
        return Span(_add_months(now, -12), now)
    return Span(year_start, now)


def _relative(n: int, unit: str, now: datetime) -> Span:
    if unit.startswith(("min", "minute")):
        return Span(now - timedelta(minutes=n), now)
    if unit.startswith(("h", "hora", "hour")):
        return Span(now - timedelta(hours=n), now)
    if unit.startswith(("d", "dia", "day")):
        return Span(add_days(now, -n), now)
    if unit.startswith(("sem", "week")):
        return Span(add_days(now, -7 * n), now)
    if unit.startswith(("mes", "month")):
        return Span(_add_months(now, -n), now)
    return Span(_add_months(now, -12 * n), now)


def _complete(n: int, unit: str, now: datetime) -> Span:
    """ "the last 8 full weeks": the N whole calendar units (weeks Monday to Sunday) before the
    current one."""
    today = midnight(now)
    if unit.startswith(("min", "minute")):
        top = now.replace(second=0, microsecond=0)
        return Span(top - timedelta(minutes=n), top)
    if unit.startswith(("h", "hora", "hour")):
        top = now.replace(minute=0, second=0, microsecond=0)
        return Span(top - timedelta(hours=n), top)
    if unit.startswith(("d", "dia", "day")):
        return Span(add_days(today, -n), today)
    if unit.startswith(("sem", "week")):
        monday = add_days(today, -today.weekday())
        return Span(add_days(monday, -7 * n), monday)
    first = today.replace(day=1)
    if unit.startswith(("mes", "month")):
        return Span(_add_months(first, -n), first)
    january = first.replace(month=1)
    return Span(_add_months(january, -12 * n), january)


def _ago_shift(n: int, unit: str) -> str | None:
    if unit.startswith(("d", "dia", "day")):
        return f"{n}d"
    if unit.startswith(("sem", "week")):
        return f"{7 * n}d"
    if unit.startswith(("mes", "month")):
        return f"{n}mo"
    if unit.startswith(("ano", "year")):
        return f"{12 * n}mo"
    return None  # hours and minutes: the span itself


def _ago(n: int, unit: str, now: datetime, level: bool = False) -> Span:
    """The day, week (Monday–Sunday), month, year or clock hour N units before the current
    one; for a level asked at a moment (stored energy, "agora"), N years ago is this day N years
    back ("how full were the reservoirs a year ago")."""
    today = midnight(now)
    if unit.startswith(("min", "minute", "h", "hora", "hour")):
        minutes = n if unit.startswith(("min", "minute")) else 60 * n
        start = (now - timedelta(minutes=minutes)).replace(minute=0, second=0, microsecond=0)
        return Span(start, start + timedelta(hours=1))
    if unit.startswith(("d", "dia", "day")):
        return Span(add_days(today, -n), add_days(today, 1 - n))
    if unit.startswith(("sem", "week")):
        monday = add_days(today, -today.weekday() - 7 * n)
        return Span(monday, add_days(monday, 7))
    first = today.replace(day=1)
    if unit.startswith(("mes", "month")):
        return Span(_add_months(first, -n), _add_months(first, 1 - n))
    if level:
        day = _add_months(today, -12 * n)
        return Span(day, add_days(day, 1))
    january = first.replace(month=1)
    return Span(_add_months(january, -12 * n), _add_months(january, 12 - 12 * n))


def _first_n(m: re.Match[str], now: datetime) -> Span:
    """The first or last N days (weeks) of a month."""
    whole = _named_month(m, now)
    n = numbers.parse(m.group("n1") or m.group("n2"))
    if n is None or n < 1:
        raise ValueError("not a whole number of days")
    days = n * (7 if m.group("unit") in ("semanas", "weeks") else 1)
    last = (m.group("e1") or m.group("e2") or "").startswith(("ultim", "last"))
    if days > (whole.end - whole.start).days + 1:
        raise ValueError("longer than the month")
    if last:
        return Span(max(add_days(whole.end, -days), whole.start), whole.end)
    return Span(whole.start, min(add_days(whole.start, days), whole.end))


def _edge_day(m: re.Match[str], now: datetime) -> Span:
    """The first or last day of the month or the year named."""
    if m.group("yy"):
        year = int(m.group("yy"))
        whole = Span(
            datetime(year, 1, 1, tzinfo=now.tzinfo), datetime(year + 1, 1, 1, tzinfo=now.tzinfo)
        )
    else:
        whole = _named_month(m, now)
    if m.group("e").startswith(("ultim", "last")):
        return Span(add_days(whole.end, -1), whole.end)
    return Span(whole.start, add_days(whole.start, 1))


def _semester(m: re.Match[str], now: datetime) -> Span:
    zone = now.tzinfo
    if m.group("h"):
        first, year = m.group("h") == "1", int(m.group("hy"))
    elif m.group("ord2"):  # "no 1º semestre": the latest such half that has begun
        first = numbers.ORDINALS[m.group("ord2")] == 1
        year = _year(1 if first else 7, now)
    else:
        first, year = numbers.ORDINALS[m.group("ord")] == 1, int(m.group("y"))
    start = datetime(year, 1 if first else 7, 1, tzinfo=zone)
    return Span(start, _add_months(start, 6))


def _submonth(m: re.Match[str], now: datetime) -> Span:
    whole = _named_month(m, now)
    nth = numbers.ORDINALS[m.group("ord")]
    if m.group("unit") in ("weekend",) or m.group("unit").startswith("fim"):
        weekends = [b for b in day_blocks(whole, WEEKEND) if b.end - b.start >= timedelta(days=1)]
        if nth == -1:
            return weekends[-1]
        if nth > len(weekends):
            raise ValueError("that weekend is not in the month")
        return weekends[nth - 1]
    if m.group("unit") in ("quinzena", "fortnight", "half", "metade"):
        if nth not in (1, 2, -1):
            raise ValueError("a month has two fortnights")
        middle = whole.start.replace(day=16)
        return Span(whole.start, middle) if nth == 1 else Span(middle, whole.end)
    if nth == -1:
        return Span(add_days(whole.end, -7), whole.end)
    start = whole.start.replace(day=(nth - 1) * 7 + 1)
    end = min(add_days(start, 7), whole.end)
    if start >= whole.end or nth > 5:
        raise ValueError("that week is not in the month")
    return Span(start, end)


_SEASON_START = {
    "verao": 12, "summer": 12, "outono": 3, "autumn": 3, "fall": 3,
    "inverno": 6, "winter": 6, "primavera": 9, "spring": 9,
}  # fmt: skip


def _season(m: re.Match[str], now: datetime) -> Span:
    zone = now.tzinfo
    month = _SEASON_START[m.group("s")]

    def starting(year: int) -> datetime:  # the season named by ``year`` (summer: Dec before)
        return datetime(year - 1 if month == 12 else year, month, 1, tzinfo=zone)

    year = m.group("y") or m.group("y0")
    if year:
        start = starting(int(year) + (2000 if len(year) == 2 else 0))  # "verão 2023/24"
    else:
        start = starting(now.year + (month == 12 and now.month == 12))
        if start > now:
            start = _add_months(start, -12)
    return Span(start, _add_months(start, 3))


def _hydro(m: re.Match[str], now: datetime) -> Span:
    zone = now.tzinfo
    kind = m.group("pt") or m.group("pt2") or m.group("en") or ""
    wet = kind not in ("seco", "seca", "dry")
    y1, y2 = m.group("y1") or m.group("y0"), m.group("y2") or m.group("y0b")
    relative = m.group("rel0") or m.group("rel1")
    if relative and not y1:  # "this year's dry season", "a estação chuvosa do ano passado"
        y1 = str(now.year - bool(re.search(r"last|passado", relative)))
    if y1 and y2 and len(y2) == 2:  # "2024/25": the century of the first year
        y2 = y1[:2] + y2
    if wet:
        if y1 and y2:
            if int(y2) != int(y1) + 1:
                raise ValueError("a wet season spans two consecutive years (e.g. 2023/2024)")
            end_year = int(y2)
        elif y1:
            end_year = int(y1)
        else:
            end_year = now.year + (now.month >= 11)
            if datetime(end_year - 1, 11, 1, tzinfo=zone) > now:
                end_year -= 1
        return Span(
            datetime(end_year - 1, 11, 1, tzinfo=zone), datetime(end_year, 5, 1, tzinfo=zone)
        )
    if y2:
        raise ValueError("a dry season is within one year (May to October)")
    year = int(y1) if y1 else now.year - (now.month < 5)
    return Span(datetime(year, 5, 1, tzinfo=zone), datetime(year, 11, 1, tzinfo=zone))


# a month "deste ano" / "do ano passado" ("March this year", "May last year"): the year written
_MONTH_REL_YEAR = re.compile(
    r"\b(?P<m>" + MONTH_ANY + r")\s+(?:(?P<this>deste|desse|neste|nesse|este|esse|this)\s+"
    r"(?:ano|year)|do\s+ano\s+passado|(?:of\s+)?last\s+year|(?:(?:de|of)\s+)?(?P<y>(?:19|20)\d\d)"
    r"(?![\d/]))\b"
)
# the months listed before it take the same year ("janeiro e fevereiro do ano passado")
_MONTH_LIST_BEFORE = re.compile(
    r"\b(?P<m>"
    + MONTH_ANY
    + r")(?P<sep>\s*(?:,|e|and|a|ate|to|until|till|through|-|x|vs\.?|versus|para|pra|ou|or)\s*)$"
)
_ENGLISH_MONTHS = frozenset(
    {
        "january", "february", "march", "april", "may", "june", "july", "august", "september",
        "october", "november", "december", "feb", "apr", "aug", "sep", "sept", "oct", "dec",
    }
)  # fmt: skip


# "nov-jan", "trimestre nov-jan", "Q jan–mar": two months joined by a dash, no year between —
# a run of months, written as a range the period reading knows
_MONTH_PAIR = re.compile(
    r"\b(?:(?:(?:o|the)\s+)?(?:trimestre|quarter|bimestre|semestre|periodo|period)\s+)?(?P<a>"
    + MONTH_ANY
    + r")\s*[-–]\s*(?P<b>"
    + MONTH_ANY
    + r")\b(?!\s*[-/]?\s*\d)",
    re.IGNORECASE,
)


_FULL_MONTHS = {
    1: ("janeiro", "January"), 2: ("fevereiro", "February"), 3: ("março", "March"),
    4: ("abril", "April"), 5: ("maio", "May"), 6: ("junho", "June"), 7: ("julho", "July"),
    8: ("agosto", "August"), 9: ("setembro", "September"), 10: ("outubro", "October"),
    11: ("novembro", "November"), 12: ("dezembro", "December"),
}  # fmt: skip


def month_pairs(question: str) -> tuple[str, list[tuple[str, str]]]:
    """``question`` with a dash between two months ("nov-jan") written as their range."""
    used: list[tuple[str, str]] = []
    english = bool(re.search(r"\b(?:the|of|in|what|which|how)\b", question, re.IGNORECASE))
    out, last = [], 0
    for match in _MONTH_PAIR.finditer(fold(question)):  # folding keeps each character's place
        a, b = (_FULL_MONTHS[MONTHS[match.group(g)]][english] for g in ("a", "b"))
        text = f"from {a} to {b}" if english else f"de {a} a {b}"
        used.append((question[match.start() : match.end()], text))
        out += [question[last : match.start()], text]
        last = match.end()
    return "".join([*out, question[last:]]), used


def day_part_words(question: str) -> tuple[str, list[tuple[str, str]]]:
    """``question`` with "last night", "tonight", "this morning" written with their day."""
    used: list[tuple[str, str]] = []
    for pattern, written in _DAY_PART_WORDS:
        for match in pattern.finditer(question):
            used.append((match.group(0), match.expand(written)))
        question = pattern.sub(written, question)
    return question, used


def year_words(question: str, now: datetime) -> tuple[str, list[tuple[str, str]]]:
    """``question`` with "<month> deste ano" / "<month> last year" written with the year, so
    that every date form (days, ranges, months) reads it; and the replacements made."""
    used: list[tuple[str, str]] = []
    out, last = [], 0
    folded = fold(question)
    for match in _MONTH_REL_YEAR.finditer(folded):
        written_year = match.group("y")
        year = int(written_year) if written_year else now.year - (not match.group("this"))
        start = match.start()
        # "janeiro e fevereiro do ano passado", "from May to October 2021": each month listed
        # before takes the year, one less where a range runs into the next year ("dezembro a
        # fevereiro de 2024")
        listed: list[tuple[re.Match[str], int]] = []
        following, following_year = MONTHS[match.group("m")], year
        while (before := _MONTH_LIST_BEFORE.search(folded[:start])) and before.start() >= last:
            month = MONTHS[before.group("m")]
            ranged = (
                re.fullmatch(r"\s*(?:a|ate|to|until|till|through|-)\s*", before.group("sep"))
                is not None
            )
            following_year -= ranged and month > following
            listed.append((before, following_year))
            following, start = month, before.start()
        if start < match.start():
            written_seg, pos = [], 0
            segment = question[start : match.start()]
            for before, month_year in reversed(listed):
                english = before.group("m") in _ENGLISH_MONTHS
                end = before.end("m") - start
                written_seg += [segment[pos:end], f"{'' if english else ' de'} {month_year}"]
                pos = end
            written_seg.append(segment[pos:])
            used.append((segment, "".join(written_seg)))
            out += [question[last:start], "".join(written_seg)]
            last = match.start()
        if written_year:
            continue
        month = question[match.start("m") : match.end("m")]
        written = (
            f"{month} de {year}"
            if re.search(r"\b(?:de|do)\b", match.group(0))
            else (f"{month} {year}")
        )
        used.append((question[match.start() : match.end()], written))
        out += [question[last : match.start()], written]
        last = match.end()
    return "".join(out) + question[last:], used


def _holiday(m: re.Match[str], now: datetime) -> Span | None:
    """The holiday's day in the year written, else its latest day up to now."""
    if m.group("labour") and not re.search(r"\bdia\s+d[oa]\s+trabalh", m.group(0)):
        return None  # "trabalho" alone is work, not Labour Day
    if m.group("xmas") == "natal" and not (
        m.group("y") or re.match(r"(?:n|d)[oa]\s|dia", m.group(0))
    ):
        return None  # "em Natal" is the city; the holiday is "no Natal", "Natal de 2023"
    written = m.group("y") or m.group("this") or m.group("last_year")
    year = int(m.group("y")) if m.group("y") else now.year - bool(m.group("last_year"))

    key = next(k for k in (*_EASTER_HOLIDAYS, *_HOLIDAY_DATES) if m.group(k))
    count = numbers.parse(m.group("ndays")) if m.group("ndays") else None

    def span_in(year: int) -> Span | None:
        span = holiday_span(key, year, now.tzinfo)
        if count is None or count == (span.end - span.start).days:
            return span
        # "os dois dias de Carnaval": of its four days (Saturday to Tuesday), the two working
        # days off (Monday and Tuesday); a count that is neither is not read
        off = [d for d in _days_of(span) if d.weekday() not in WEEKEND]
        if len(off) != count or (off[-1] - off[0]).days != count - 1:
            return None
        return Span(off[0], add_days(off[-1], 1))

    span = span_in(year)
    if span is None:
        return None
    return span_in(year - 1) if not written and span.start > now else span


def _days_of(span: Span) -> list[datetime]:
    """The midnights of the local days ``span`` covers."""
    days, day = [], span.start
    while day < span.end:
        days.append(day)
        day = add_days(day, 1)
    return days


def holiday_span(key: str, year: int, zone: tzinfo | None) -> Span:
    """The days of holiday ``key`` (a group of :data:`_HOLIDAY`) in ``year``."""
    if key in _EASTER_HOLIDAYS:
        offset, days = _EASTER_HOLIDAYS[key]
        first = datetime.combine(easter(year) + timedelta(days=offset), time(), zone)
        return Span(first, add_days(first, days))
    month, day = _HOLIDAY_DATES[key]
    return day_span(year, month, day, zone)


def _last_holiday(m: re.Match[str], now: datetime) -> Span:
    """The national holiday that began last, up to now (Consciência Negra from 2024)."""
    spans = [
        holiday_span(key, year, now.tzinfo)
        for year in (now.year - 1, now.year)
        for key in _NATIONAL_HOLIDAYS
        if key != "black" or year >= 2024
    ]
    return max((s for s in spans if s.start <= now), key=lambda s: s.start)


_THE_YEAR = rx(r"\b(?:n[oa]|in\s+the|over\s+the|for\s+the)\s+(?:ano|year)\b(?!\s+(?:de|of|\d))")


def _whole_year(span: Span | None) -> bool:
    return (
        span is not None
        and (span.start.month, span.start.day, span.start.hour) == (1, 1, 0)
        and span.end == span.start.replace(year=span.start.year + 1)
    )


def easter(year: int) -> date:
    """Easter Sunday of ``year`` (the Gregorian computus: Carnival, Good Friday and Corpus
    Christi follow it)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (b - (b + 8) // 25 + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday) // 451
    month, day = divmod(h + weekday - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _iso_datetime(m: re.Match[str], now: datetime) -> Span:
    """The hour starting at an ISO date and time; one written in UTC ("00:00 UTC", "T03:00Z")
    is converted to local time."""
    g = m.groupdict()
    start = datetime(
        int(g["iy"]),
        int(g["im"]),
        int(g["id"]),
        int(g["ih"]),
        int(g["imin"]),
        tzinfo=UTC if g["iz"] else now.tzinfo,
    ).astimezone(now.tzinfo)
    return Span(start, start + timedelta(hours=1))


def _iso_week(m: re.Match[str], now: datetime) -> Span:
    monday = date.fromisocalendar(int(m.group("y")), int(m.group("w")), 1)
    start = datetime(monday.year, monday.month, monday.day, tzinfo=now.tzinfo)
    return Span(start, add_days(start, 7))


def _dx(m: re.Match[str], now: datetime) -> Span | None:
    g = m.groupdict()
    zone = now.tzinfo
    if g["iy"]:
        if g["ih"]:
            return _iso_datetime(m, now)
        return day_span(int(g["iy"]), int(g["im"]), int(g["id"]), zone)
    if g["by"]:
        year = int(g["by"]) + (2000 if len(g["by"]) == 2 else 0)  # 31/12/23
        return day_span(year, int(g["bm"]), int(g["bd"]), zone)
    if g["dd"]:
        month = int(g["dm"])
        if int(g["dd"]) < month and _FRACTION_OF.match(m.string, m.end()):
            return None
        return day_span(_year(month, now, None), month, int(g["dd"]), zone)
    if g["qy"]:
        q = int(g["qn"]) if g["qn"] else _QUARTER_WORDS.get(g["qo"], 0) or int(g["qo"][0])
        a = month_span(int(g["qy"]), 3 * q - 2, zone)
        return Span(a.start, _add_months(a.start, 3))
    if g["qa"] or g["qan"]:
        q = int(g["qan"]) if g["qan"] else _QUARTER_WORDS.get(g["qa"], 0) or int(g["qa"][0])
        a = month_span(_year(3 * q - 2, now), 3 * q - 2, zone)
        return Span(a.start, _add_months(a.start, 3))
    if g["tn"] or g["tn2"]:
        year = int(g["ty"] or g["ty2"])
        a = month_span(year + 2000 if year < 100 else year, 3 * int(g["tn"] or g["tn2"]) - 2, zone)
        return Span(a.start, _add_months(a.start, 3))
    if g["pm"]:
        month = MONTHS[g["pm"]]
        return day_span(_year(month, now, g["py"]), month, int(g["pd"]), zone)
    if g["em"]:
        month = MONTHS[g["em"]]
        return day_span(_year(month, now, g["ey"]), month, int(g["ed"]), zone)
    if g["mm"]:
        return month_span(int(g["my"]), MONTHS[g["mm"]], zone)
    if g.get("y2"):
        return month_span(2000 + int(g["y2"]), MONTHS[g["m2"]], zone)
    if g["ny"]:
        return month_span(int(g["ny"]), int(g["nm"]), zone)
    if g["sy"]:
        return month_span(int(g["sy"]), int(g["sm"]), zone)

    if g["am"]:
        month = MONTHS[g["am"]]
        return month_span(_year(month, now), month, zone)
    if g["yy"]:
        year = int(g["yy"])
        return Span(datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone))
    return None
