"""Shorthand and slips, on their own."""

from __future__ import annotations

import pytest

from ons_pipeline.lib.query.spelling import (
    correction,
    edit_distance,
    expand_shorthand,
    replace_words,
)

VOCABULARY = ["carga", "nordeste", "sudeste", "reservatorio", "reservatorios", "media", "medio"]


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("carga", "carga", 0),
        ("carag", "carga", 1),  # two neighbours swapped: one edit
        ("nordete", "nordeste", 1),
        ("cargas", "carga", 1),
        ("xyz", "carga", 3),  # beyond the limit: limit + 1
    ],
)
def test_edit_distance(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b) == distance


def test_correction_is_unique_and_close() -> None:
    assert correction("carag", VOCABULARY) == "carga"
    assert correction("nordete", VOCABULARY) == "nordeste"
    assert correction("reservatoris", VOCABULARY) == "reservatorios"  # the plural, by its s
    assert correction("medik", VOCABULARY) is None  # media or medio: not guessed
    assert correction("carga", VOCABULARY) is None  # nothing to correct
    assert correction("carg", VOCABULARY) == "carga"  # four letters: only a missing one
    assert correction("cagra", VOCABULARY) == "carga"
    assert correction("crag", VOCABULARY) is None  # four letters, not a missing letter
    assert correction("sul", VOCABULARY) is None  # three letters are left alone


def test_shorthand_is_expanded_as_whole_words_only() -> None:
    written, used = expand_shorthand("ger eol NE hj, hr q ocorreu")
    assert written == "geração eólica NE hoje, hora que ocorreu"
    assert [short for short, _ in used] == ["ger", "eol", "hj", "hr", "q"]
    for untouched in ("long-term average", "às 18 hrs", "TERM", "Q4 2023", "geral", "MW/h"):
        assert expand_shorthand(untouched) == (untouched, []), untouched


def test_replace_words_keeps_other_words() -> None:
    assert replace_words("carag do sul, carag", {"carag": "carga"}) == "carga do sul, carga"
    assert replace_words("cara caragx", {"carag": "carga"}) == "cara caragx"


def test_a_word_in_common_use_is_never_corrected() -> None:
    vocabulary = ["today", "norte", "amapa", "share", "solar", "yearly", "ontem", "marco"]
    for word in ("todas", "corte", "porte", "forte", "mapa", "shape", "somar", "early", "contém"):
        assert correction(word, vocabulary) is None, word
    assert correction("nortte", vocabulary) == "norte"


def test_a_common_word_is_a_slip_only_of_a_far_more_common_one() -> None:
    vocabulary = ["passado", "passada", "solar", "today", "norte"]
    assert correction("pasado", vocabulary) == "passado"  # Spanish: 2.5 against 5.4
    assert correction("pasada", vocabulary) == "passada"
    for word in ("somar", "todas", "corte"):  # as common, or nearly: meant
        assert correction(word, vocabulary) is None, word
