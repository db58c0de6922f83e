"""The report of an appraisal: each journey's report answers its reader first, says the library's numbers in
words, draws every figure inline with alt text, and a section is one function."""

from __future__ import annotations

import dataclasses
import re
from functools import lru_cache

import pytest

from appraisal import JOURNEYS
from desist import sections
from desist.report import Report
from tests.appraisal.test_appraisal import appraisal_without_costs, built_appraisal

#: Sections every journey's report shows (the evidence and the annex), and each journey's answer.
SECTIONS = (
    "measure",
    "counts",
    "effects",
    "outcomes",
    "balance",
    "payment",
    "contract",
    "tariffs",
    "creaming",
    "parking",
    "measurement",
    "funnel",
    "providers",
    "equality",
    "annex_matching",
    "annex_balance",
    "annex_difficulty",
    "annex_power",
    "annex_tariffs",
    "annex_contract",
    "annex_screens",
)
ANSWERS = {"evaluation": "answer", "contract": "contract_answer", "provider": "provider_answer"}
#: Sections only some journeys show.
OWN_SECTIONS = {
    "evaluation": ("sensitivity", "annex_sensitivity"),
    "contract": ("settlement",),
    "provider": ("settlement",),
}


@lru_cache(maxsize=1)
def built_reports() -> dict:
    """Each journey's report of the shared appraisal, each chart drawn once for all of them."""
    return sections.build_reports(built_appraisal())


@pytest.fixture(scope="module")
def story():
    return built_appraisal()


def test_each_journeys_report_answers_its_reader_first(story):
    reports = built_reports()
    assert set(reports) == set(JOURNEYS)
    for journey, report in reports.items():
        shown = report.shown_sections()
        assert shown[0].key == ANSWERS[journey] and shown[0].part == "answer"
        assert shown[0].blocks[0][0] == "verdict"
        keys = [s.key for s in shown]
        for key in (*SECTIONS, *OWN_SECTIONS[journey]):
            assert key in keys, (journey, key)
        # The evidence before the annex, and every other journey's answer left out.
        parts = [s.part for s in shown]
        assert parts == sorted(parts, key=["answer", "body", "annex"].index)
        assert not set(ANSWERS.values()) - {ANSWERS[journey]} & set(keys)
        others = {k for j, own in OWN_SECTIONS.items() if j != journey for k in own} - set(OWN_SECTIONS[journey])
        assert not others & set(keys), journey
    page = reports["contract"].to_html()
    assert "Must fix" in page and "against a budget of" in page and "If the programme changed nothing" in page
    assert "Peterborough" in page


def test_the_verdict_is_said_in_the_jdls_words(story):
    verdict = story.verdicts()["binary"]
    page = built_reports()["evaluation"].to_html()
    assert verdict.sentence() in page and verdict.per_100() in page


def test_every_figure_is_inline_svg_with_alt_text(story):
    page = built_reports()["evaluation"].to_html()
    for key in ("balance", "contract", "tariffs", "creaming", "parking", "funnel", "annex_balance", "annex_difficulty"):
        assert f'data-figure="{key}"' in page, key
    figures = re.findall(r"<figure data-figure=\"[^\"]+\"><svg ([^>]*)>", page)
    assert len(figures) >= 9
    for attributes in figures:
        alt = re.search(r'aria-label="([^"]+)"', attributes)
        assert 'role="img"' in attributes and alt is not None and len(alt.group(1)) > 40
    # Ids are unique across the inline figures, so no figure's clip path points into another.
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))


def test_sensitivity_is_said_in_plain_sentences_in_the_answer(story):
    page = built_reports()["evaluation"].to_html()
    shown = {s.key: s for s in built_reports()["evaluation"].shown_sections()}
    assert shown["sensitivity"].part == "answer"
    for sentence in story.sensitivity.sentences():
        assert sentence.replace("'", "&#39;") in page
    assert "Rosenbaum&#39;s Gamma" in page and "E-value" in page


def test_settlement_measurement_and_providers_are_shown(story):
    page = built_reports()["contract"].to_html()
    assert "What the contract pays under its terms" in page and "What each tranche pays" in page
    evaluation = built_reports()["evaluation"].to_html()
    assert "Providers compared like with like" in evaluation and "Rank could be (95%)" in evaluation
    assert "How outcomes were measured" in evaluation
    # The unmeasured are counted where the outcome rates are shown.
    assert "Due a measurement, had none" in evaluation


def test_the_caliper_is_stated_as_the_appraisal_used_it(story):
    page = built_reports()["evaluation"].to_html()
    assert "caliper 0.2 SD, no replacement" in page
    narrower = dataclasses.replace(story, options=dataclasses.replace(story.options, caliper=0.05))
    annex = Report("x").section("annex_matching", "Matched comparison: counts", part="annex")
    sections.annex_matching(narrower, annex)
    assert any("caliper 0.05 SD, no replacement" in html for kind, html in annex.blocks if kind == "table")


def test_adding_a_section_is_one_function(story):
    """Register a section, build the report, then take it out again."""

    @sections.section("pool_size", "The pool", journeys=("evaluation",))
    def pool_size(story, out):
        out.paragraph(f"The pool has {len(story.inputs.pool):,} people.")

    try:
        report = sections.build_report(story, "evaluation", rendered=built_reports()["evaluation"].rendered)
        assert report.shown_sections()[-1 - sum(s.part == "annex" for s in report.shown_sections())].key == "pool_size"
        assert "The pool has 15,000 people." in report.to_html()
    finally:
        sections.SECTIONS.pop()


def test_a_journey_that_does_not_exist_is_a_parameter_error(story):
    from ground.errors import ParameterError

    with pytest.raises(ParameterError, match=r"'journey' parameter of build_report must be one of 'evaluation'"):
        sections.build_report(story, "auditor")


def test_without_costs_the_provider_answer_and_what_was_not_run_say_so():
    story = appraisal_without_costs()
    answer = Report("Provider").section("provider_answer", "What the provider would earn", part="answer")
    sections.answer_provider(story, answer)
    not_run = Report("Provider").section("not_run", "What was not run")
    sections.not_run_section(story, not_run)
    # Without costs a provider's income cannot be told from its margin, and the report says so.
    assert "delivery costs were not given" in answer.blocks[0][1]
    assert any("Not run: tariff comparison" in text for _, text in not_run.blocks)
