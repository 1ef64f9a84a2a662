"""Numbers as people write them in questions, in Portuguese and English: digits (``5``), words
(``cinco``, ``five``), compounds (``vinte e cinco``, ``twenty-five``, ``cento e vinte``, ``two
hundred``, ``cinco mil``) and ordinals of small numbers (``primeira``, ``2ª``, ``third``).

Text is matched folded (lower case, accents removed, as :mod:`.nl` folds questions). A number
written with a fraction (``2.5``, ``3,7``) is matched too, so that it can be reported as not
understood where a count is expected, never silently truncated.
"""

from __future__ import annotations

import re

_PT = {
    "zero": 0, "um": 1, "uma": 1, "dois": 2, "duas": 2, "tres": 3, "quatro": 4, "cinco": 5,
    "seis": 6, "sete": 7, "oito": 8, "nove": 9, "dez": 10, "onze": 11, "doze": 12, "treze": 13,
    "catorze": 14, "quatorze": 14, "quinze": 15, "dezesseis": 16, "dezasseis": 16,
    "dezessete": 17, "dezoito": 18, "dezenove": 19, "vinte": 20, "trinta": 30, "quarenta": 40,
    "cinquenta": 50, "sessenta": 60, "setenta": 70, "oitenta": 80, "noventa": 90, "cem": 100,
    "cento": 100, "duzentos": 200, "duzentas": 200, "trezentos": 300, "trezentas": 300,
    "quatrocentos": 400, "quatrocentas": 400, "quinhentos": 500, "quinhentas": 500,
    "seiscentos": 600, "seiscentas": 600, "setecentos": 700, "setecentas": 700,
    "oitocentos": 800, "oitocentas": 800, "novecentos": 900, "novecentas": 900,
}  # fmt: skip
_EN = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"hundred": 100, "mil": 1000, "thousand": 1000}
WORDS = {**_PT, **_EN}

ORDINALS = {
    "primeira": 1, "primeiro": 1, "1a": 1, "1o": 1, "1ª": 1, "1º": 1, "first": 1, "1st": 1,
    "segunda": 2, "segundo": 2, "2a": 2, "2o": 2, "2ª": 2, "2º": 2, "second": 2, "2nd": 2,
    "terceira": 3, "terceiro": 3, "3a": 3, "3o": 3, "3ª": 3, "3º": 3, "third": 3, "3rd": 3,
    "quarta": 4, "quarto": 4, "4a": 4, "4o": 4, "4ª": 4, "4º": 4, "fourth": 4, "4th": 4,
    "quinta": 5, "quinto": 5, "5a": 5, "5o": 5, "5ª": 5, "5º": 5, "fifth": 5, "5th": 5,
    "ultima": -1, "ultimo": -1, "last": -1,
}  # fmt: skip
ORDINAL = r"(?:" + "|".join(sorted(map(re.escape, ORDINALS), key=len, reverse=True)) + r")"

_WORD = r"(?:" + "|".join(sorted([*WORDS, *_SCALES], key=len, reverse=True)) + r")"
PATTERN = (
    r"(?:\d+(?:[.,]\d+)?(?![\d/]|-\d)|" + _WORD + r"(?:(?:\s+(?:e|and)\s+|[\s-]+)" + _WORD + r")*)"
)
"""A number in digits (with an optional fraction) or in words; use inside ``\\b...\\b``."""


def parse(text: str) -> int | None:
    """The integer a matched number means; ``None`` for a fraction or a run of words that is not
    one number ("dois três")."""
    text = text.strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    if re.fullmatch(r"\d+[.,]\d+", text):
        return None
    tokens = [t for t in re.split(r"[\s-]+", text) if t and t not in ("e", "and")]
    total, current, last = 0, 0, None
    for token in tokens:
        if token in _SCALES:
            scale = _SCALES[token]
            if scale == 100:
                current = max(current, 1) * 100
            else:
                total += max(current, 1) * scale
                current = 0
            last = scale
            continue
        value = WORDS.get(token)
        if value is None:
            return None
        # "vinte cinco", "dois tres": a smaller unit must follow a larger place, never repeat it
        if last is not None and last < 100 and value >= last:
            return None
        current += value
        last = value if value < 100 else 100
    return total + current
