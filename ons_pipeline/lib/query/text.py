"""A question as the translator reads it: the original, a folded copy of the same length (lower
case, accents removed, so character positions map back to the original) and a working copy in
which recognised phrases are blanked ("consumed") so that a later, shorter pattern cannot match
inside them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator


def fold_char(ch: str) -> str:
    base = unicodedata.normalize("NFD", ch)[0].lower()
    return base[0] if base else " "


def fold(text: str) -> str:
    """Lower case without accents, one character per character of ``text``."""
    return "".join(fold_char(ch) for ch in text)


def rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.VERBOSE)


class Text:
    """The question: ``orig``, ``norm`` (folded, same length) and the working copy."""

    def __init__(self, question: str) -> None:
        self.orig = question
        self.norm = fold(question)
        self.work = list(self.norm)

    @property
    def current(self) -> str:
        return "".join(self.work)

    def finditer(self, pattern: re.Pattern[str]) -> Iterator[re.Match[str]]:
        return pattern.finditer(self.current)

    def take(self, pattern: re.Pattern[str]) -> list[re.Match[str]]:
        """All matches of ``pattern`` on the working text, consumed."""
        found = list(self.finditer(pattern))
        for match in found:
            self.consume(match.start(), match.end())
        return found

    def consume(self, start: int, end: int) -> None:
        for i in range(start, end):
            self.work[i] = " "

    def restore(self, start: int, end: int) -> None:
        self.work[start:end] = list(self.norm[start:end])

    def original(self, start: int, end: int) -> str:
        return self.orig[start:end]
