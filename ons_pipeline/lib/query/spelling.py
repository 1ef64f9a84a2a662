"""How people type questions in a hurry: operators' shorthand ("ger eol NE hj") expanded before
the question is read, and misspelt words ("carag", "nordete") matched to the translator's
vocabulary. Both are reported back as assumptions, so the reading can be checked."""

from __future__ import annotations

import re
from collections.abc import Iterable

from wordfreq import zipf_frequency

from ons_pipeline.lib.query.text import fold

# Portuguese and English shorthand of chat and control rooms, as whole words (folded). Only
# forms that are no ordinary word of either language stand here: "sol" (sun) and "min" (minute or
# minimum) are left to the translator.
SHORTHAND: dict[str, str] = {
    "hj": "hoje", "ger": "geração", "eol": "eólica", "term": "térmica", "hidr": "hidráulica",
    "nucl": "nuclear", "qto": "quanto", "qta": "quanta", "qtos": "quantos", "qtas": "quantas",
    "qnt": "quanto", "qnto": "quanto", "qnta": "quanta", "qdo": "quando", "qnd": "quando",
    "q": "que", "pq": "por que", "vc": "você", "tb": "também", "tbm": "também", "hr": "hora",
    "mto": "muito", "fv": "fotovoltaica",
    "hrs": "horas", "med": "média", "ult": "último", "interc": "intercâmbio",
    "prog": "programado", "verif": "verificado", "subsist": "subsistema", "reserv": "reservatórios",
    "gen": "generation", "yday": "yesterday", "hrly": "hourly", "wk": "week", "wks": "weeks",
    "subsys": "subsystem", "sto": "santo", "sta": "santa", "yr": "year",
    "yrs": "years", "whats": "what is", "pls": "please", "plz": "please", "oq": "o que",
    "btwn": "between", "pfv": "por favor", "pfvr": "por favor", "blz": "beleza", "vlw": "valeu",
    "obg": "obrigado", "obgd": "obrigado", "thx": "thanks", "agr": "agora", "msm": "mesmo",
}  # fmt: skip
# shorthand written in capitals as it usually is: "geração FV"
_ACRONYMS = {"fv"}
# a shorthand word, optionally with its dot ("ger."); after a number only units ("18 hrs" is a
# time)
_WORD = re.compile(r"(?<![\w/-])([^\W\d_]+)\.?(?![\w/-])")
_AFTER_NUMBER = {
    "week",
    "weeks",
    "year",
    "years",
}  # "1 wk ago"; other shorthand after a number is left


def expand_shorthand(question: str) -> tuple[str, list[tuple[str, str]]]:
    """The question with shorthand written out, and the (shorthand, expansion) pairs used."""
    used: list[tuple[str, str]] = []

    def expand(match: re.Match[str]) -> str:
        word = match.group(1)
        full = SHORTHAND.get(fold(word))
        unit = full == "média" and re.search(r"mw\s*$", question[: match.start()], re.IGNORECASE)
        number = re.search(r"\d\s$", question[: match.start()])
        if number and full not in _AFTER_NUMBER:
            return match.group(0)
        capitals = word.isupper() and len(word) > 1 and fold(word) not in _ACRONYMS
        if full is None or unit or capitals:  # "MW med" is a unit
            return match.group(0)  # "TERM", "MED" in capitals are names, not shorthand
        if full == "último" and re.match(r"\s*\d", question[match.end() :]):
            full = "últimos"  # "ult 24h", "ult 7 dias"
        used.append((match.group(0), full))
        return full

    written = _WORD.sub(expand, question)
    for pattern, full in _IN_CONTEXT:
        for match in list(pattern.finditer(written)):
            used.append((match.group("w").strip(), full))
        written = pattern.sub(lambda m, full=full: m.group(0).replace(m.group("w"), full), written)
    used += [("p", "para")] * len(_FROM_TO_P.findall(written))  # "de julho p agosto"
    written = _FROM_TO_P.sub(r"\g<from> para ", written)
    return written, used


# "de julho p agosto", "do norte p sudeste": a lone "p" between the two ends is "para"
_FROM_TO_P = re.compile(
    r"(?P<from>\b(?:de|do|da|dos|das|from)\s+[^\W\d_]+)\s+p\s+"
    r"(?!(?:ontem|hoje|amanh[aã]|anteontem|agora)\b)(?=[^\W\d_])",
    re.IGNORECASE,
)


# shorthand that is something else elsewhere, read only where it stands: "btw SE and S"
# (between, not "by the way"), "rn" at the end (right now; "no RN" is Rio Grande do Norte)
_IN_CONTEXT = [
    # "deu mt diferença": "muito" — but "em MT", "do mt", "usinas de mt" are Mato Grosso
    (
        re.compile(
            r"(?<!\bem\s)(?<!\bno\s)(?<!\bna\s)(?<!\bdo\s)(?<!\bda\s)(?<!\bde\s)(?<!\bo\s)"
            r"\b(?P<w>mt)\b(?=\s+[^\W\d_])"
        ),
        "muito",
    ),
    (re.compile(r"\b(?P<w>btw)(?=\s+\S+\s+(?:and|&|e)\s+\S)", re.IGNORECASE), "between"),
    # "do norte p/ sudeste", "c/ data": the slash forms of "para" and "com"
    (re.compile(r"(?<![\w/])(?P<w>p/)(?=\s*[^\W\d_])", re.IGNORECASE), "para "),
    (re.compile(r"(?<![\w/])(?P<w>c/)(?=\s*[^\W\d_])", re.IGNORECASE), "com "),
    # "lowest load hour in SE": the hour of the extreme, asked
    (
        re.compile(
            r"\b(?:lowest|highest|minimum|maximum|min|max)\s+"
            r"(?!(?:each|every|per|by|a|an|the|por|cada)\b)[^\W\d_]+\s+(?P<w>hour)\b",
            re.IGNORECASE,
        ),
        "and when",
    ),
    # "peak CMO + when", "máximo + horário": a plus sign before the time asked is "and"
    (
        re.compile(
            r"(?<=\s)(?P<w>\+)(?=\s*(?:when|quando|que\s+horas?|what\s+time|which\s+day|time"
            r"|timestamp|date|hora|hor[aá]rio|data|dia|instante)\b)",
            re.IGNORECASE,
        ),
        "and",
    ),
    (
        re.compile(
            r"(?<!\bno\s)(?<!\bdo\s)(?<!\bin\s)(?<!\bof\s)(?<!\bem\s)(?<!\bda\s)"
            r"\b(?P<w>rn)(?=\s*[?.!]*\s*$)"
        ),
        "right now",
    ),
]


def edit_distance(a: str, b: str, limit: int = 2) -> int:
    """Optimal string alignment distance (insert, delete, substitute, swap two neighbours);
    any value above ``limit`` is returned as ``limit + 1``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], previous2[j - 2] + 1)
        if min(row) > limit:
            return limit + 1
        previous2, previous = previous, row
    return min(previous[-1], limit + 1)


# a word this common in Portuguese or English (Zipf scale: 3 = once per million words; 2.5 keeps
# "bimonthly", "semestral") is a word the writer meant, not a slip: never corrected
COMMON_ZIPF = 2.5


# a word in common use is still a slip of a vocabulary word this much more common (Zipf 2 = a
# hundred times): "pasado" (Spanish, met in Portuguese text) is "passado" mistyped
FAR_MORE_COMMON = 2.0


def frequency(word: str) -> float:
    """How common ``word`` (as written, or folded) is in Portuguese or English (Zipf scale)."""
    forms = {word.lower(), fold(word)}
    return max(zipf_frequency(f, lang) for f in forms for lang in ("pt", "en"))


def is_common_word(word: str) -> bool:
    """``word`` (as written, or folded) is in common use in Portuguese or English."""
    return frequency(word) >= COMMON_ZIPF


def correction(word: str, vocabulary: Iterable[str]) -> str | None:
    """The one vocabulary word ``word`` is a slip of (a word in common use never is, unless the
    vocabulary word is a hundred times more common): one edit for words of five to eight
    letters (a missing letter for four), two from nine; ``None`` when none is that close or two
    are equally close."""
    if len(word) < 4 or not word.isalpha():
        return None
    fix = _closest(fold(word), vocabulary)
    if fix is not None and is_common_word(word):
        return fix if frequency(fix) >= frequency(word) + FAR_MORE_COMMON else None
    return fix


def _closest(word: str, vocabulary: Iterable[str]) -> str | None:
    limit = 1 if len(word) < 9 else 2
    candidates = [v for v in vocabulary if " " not in v]
    if len(word) == 4:  # "onte": a four-letter word only ever misses a letter
        candidates = [v for v in candidates if len(v) == 5]
    scored = sorted((edit_distance(word, v, limit), v) for v in candidates)
    best = [v for d, v in scored if d <= limit and d == scored[0][0]]
    if len(best) > 1:  # "reservatoris": the plural, as its last letter says
        best = [v for v in best if v[-1] == word[-1]]
    return best[0] if len(best) == 1 and best[0] != word else None


def replace_words(question: str, fixes: dict[str, str]) -> str:
    """``question`` with each whole word of ``fixes`` (as written) replaced."""
    for wrong, right in fixes.items():
        question = re.sub(rf"(?<!\w){re.escape(wrong)}(?!\w)", right, question)
    return question
