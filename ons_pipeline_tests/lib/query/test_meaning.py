"""The meaning corpus (issue #12): ≥ 300 questions written from sources outside the rules, each
with its expected meaning, in two parts — ``dev`` (the rules are developed against it) and
``heldout`` (never used while writing rules). The README reports both figures; these tests keep
them (the held-out one can fail: it is measured, not tuned). The command that prints them:
``python -m ons_pipeline_tests.lib.query.meaning all``."""

from __future__ import annotations

import pytest

from ons_pipeline.lib.query.execute import execute
from ons_pipeline.lib.query.flux import render_flux
from ons_pipeline.lib.query.fluxcheck import FluxChecker
from ons_pipeline.lib.query.influxql import render_influxql
from ons_pipeline_tests.lib.query.conftest import Dataset
from ons_pipeline_tests.lib.query.meaning import Report, evaluate, load

# the figures the README reports (right answers out of the part's questions)
REPORTED = {"dev": (181, 183), "heldout": (168, 168)}


class _Reports(dict[str, Report]):
    """Each part evaluated once, when first asked for."""

    def __missing__(self, part: str) -> Report:
        self[part] = evaluate(part)
        return self[part]


@pytest.fixture(scope="module")
def reports() -> dict[str, Report]:
    return _Reports()


def test_the_corpus_is_two_disjoint_parts_of_300_or_more(reports: dict[str, Report]) -> None:
    dev, heldout = load("dev"), load("heldout")
    assert len(dev.cases) + len(heldout.cases) >= 300
    assert not {c.q for c in dev.cases} & {c.q for c in heldout.cases}
    for corpus in (dev, heldout):
        assert {c.lang for c in corpus.cases} == {"pt", "en"}
        assert all(c.data.get("src") for c in corpus.cases)
        assert sum(c.refuse for c in corpus.cases) >= 15
    for report in (reports["dev"], reports["heldout"]):
        for outcome in report.outcomes:
            assert outcome.translation.language == outcome.case.lang, outcome.case.q


@pytest.mark.parametrize("part", ["dev", "heldout"])
def test_accuracy_is_the_reported_figure(
    part: str, reports: dict[str, Report], capsys: pytest.CaptureFixture[str]
) -> None:
    report = reports[part]
    with capsys.disabled():
        print(f"\n{report.summary()}")  # noqa: T201
    right, total = REPORTED[part]
    assert report.total == total
    assert report.right >= right, "\n".join(
        f"{o.case.q}: {'; '.join(o.diffs)}" for o in report.outcomes if not o.right
    )


@pytest.mark.parametrize("part", ["dev", "heldout"])
def test_no_question_not_understood_is_answered(part: str, reports: dict[str, Report]) -> None:
    """Every question of the corpus whose filter, period, number or measure is not in the data
    is refused — never answered more broadly."""
    answered = [o.case.q for o in reports[part].refusal_cases if not o.refused]
    assert not answered


def test_dev_models_render_and_run(
    reports: dict[str, Report], dataset: Dataset, flux_checker: FluxChecker
) -> None:
    """Every model the dev questions translate to renders valid Flux and runs on InfluxDB."""
    ran = 0
    for outcome in reports["dev"].outcomes:
        model = outcome.translation.model
        if model is None:
            continue
        render_influxql(model)
        if not model.by_hour_of_day:  # a profile is combined from InfluxQL's hours only
            assert not flux_checker.check(render_flux(model, "ons")), outcome.case.q
        execute(model, dataset.url, dataset.db)
        ran += 1
    assert ran >= 150
