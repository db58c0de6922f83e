"""The report of an appraisal: each reader's panel first (the one named first at the front), the evidence in the
library's numbers in words, every figure inline with alt text, and a section is one function."""

from __future__ import annotations

import dataclasses
import math
import re
from functools import lru_cache

import pytest
from scipy.stats import norm
from statsmodels.stats.proportion import proportion_confint

from appraisal import READERS
from desist import panels, sections
from desist.report import Report
from tests.appraisal.test_appraisal import appraisal_without_costs, built_appraisal

#: Sections the report shows after the panels (the evidence and the annex).
SECTIONS = (
    "sensitivity",
    "measure",
    "counts",
    "effects",
    "outcomes",
    "balance",
    "payment",
    "contract",
    "settlement",
    "tariffs",
    "creaming",
    "parking",
    "measurement",
    "funnel",
    "providers",
    "equality",
    "findings",
    "annex_matching",
    "annex_balance",
    "annex_sensitivity",
    "annex_difficulty",
    "annex_power",
    "annex_tariffs",
    "annex_contract",
    "annex_screens",
)


@lru_cache(maxsize=1)
def built_reports() -> dict:
    """The report with each reader's panel first, each chart drawn once for all of them."""
    rendered: dict = {}
    return {reader: sections.build_report(built_appraisal(), reader, rendered=rendered) for reader in READERS}


@pytest.fixture(scope="module")
def story():
    return built_appraisal()


def test_the_report_opens_with_each_readers_panel_the_one_asked_for_first(story):
    for reader, report in built_reports().items():
        shown = report.shown_sections()
        keys = [s.key for s in shown]
        assert keys[:3] == [reader, *(r for r in READERS if r != reader)], keys[:3]
        assert all(s.part == "answer" and s.blocks[0][0] == "verdict" for s in shown[:3])
        assert [k for k in keys if k in SECTIONS] == list(SECTIONS)
        parts = [s.part for s in shown]
        assert parts == sorted(parts, key=["answer", "body", "annex"].index)
    default = [s.key for s in sections.build_report(story, rendered=built_reports()["evaluator"].rendered).sections]
    assert default[:3] == list(READERS) == ["commissioner", "provider", "evaluator"]


def test_the_commissioners_panel_says_what_to_pay_the_cost_the_chance_the_share_at_risk_and_what_must_be_fixed(story):
    panel = panels.commissioner(story)
    settled = story.settlement.total_pence / 100
    assert panel.verdict.startswith(f"Pay £{settled:,.0f} as of 30 September 2025")
    assert "Do not sign as drafted: 1 finding must be fixed first." in panel.paragraphs
    figures = {f.label: f for f in panel.figures}
    spend = story.spend()
    assert (
        figures["Expected cost"].value == f"£{spend.mean:,.0f}"
        and f"£{spend.budget:,.0f}" in figures["Expected cost"].detail
    )
    chance = figures["Chance a rule pays when nothing changed"]
    assert chance.value == f"{100 * story.chances.paid['none'].mean():.1f}%", chance
    paid, lives = int(story.chances.paid["none"].sum()), story.chances.assumptions["draws"]
    low, high = proportion_confint(paid, lives, method="wilson")
    assert f"95% interval {100 * low:.1f}% to {100 * high:.1f}% ({lives:,} simulated lives)" in chance.detail
    likeliest = max((c.results[0] for c in story.thresholds.values()), key=lambda r: r.false_payment)
    assert chance.detail.endswith(f"; {100 * likeliest.false_payment:.1f}% at one assessment ({likeliest.rule})")
    assert paid / lives == pytest.approx(_life_by_normal_theory(story), abs=3 * (0.25 / lives) ** 0.5 + 0.01)
    # One definition of the share at risk: the withheld fee and the outcome payments over the contract's value.
    s = story.structure
    at_risk = ((s.at_risk_share + s.clawback_share) * s.service_fee + s.outcome_budget) / s.contract_value
    assert figures["Share at risk"].value == f"{100 * at_risk:.0f}%"
    assert "20% of the service fee held back and the outcome payments" in figures["Share at risk"].detail
    assert [f.severity for f in panel.findings] == ["error"] and figures["Must fix"].value == "1"
    page = built_reports()["commissioner"].to_html()
    assert page.count("is paid only on results") == 1 and "Must fix" in page


def _life_by_normal_theory(story) -> float:
    """The chance Doncaster (5 points) or Peterborough (10% fewer) pays on any of the contract's tranches when
    nothing changed, each tranche's estimate normal with its two-group variance (binomial; negative binomial of
    the matched controls' shape, on the log scale), tranches and measures independent."""
    tranches = len(story.inputs.contract.tranches)
    n = story.effects["binary"].n_treated // tranches  # the matched cohort, split evenly over the tranches
    rate, mean, shape = story.effects["binary"].mean_control, story.effects["count"].mean_control, story.dispersion
    doncaster = norm.cdf(-0.05 / math.sqrt(2 * rate * (1 - rate) / n))
    peterborough = norm.cdf(math.log(0.9) / math.sqrt(2 * (1 / (n * mean) + 1 / (n * shape))))
    return 1 - ((1 - doncaster) * (1 - peterborough)) ** tranches


def test_the_providers_panel_says_which_segments_lose_money_and_that_their_margins_leave_out_the_fee(story):
    panel = panels.provider(story)
    o = story.outlooks()["prime"]
    assert panel.verdict == o.sentence()
    assert [f.label for f in panel.figures] == [
        "Expected income",
        "Margin after delivery costs",
        "Chance of a loss",
        "Working capital",
    ]
    assert panel.figures[0].value == f"£{o.income:,.0f}" and panel.figures[1].value == f"£{o.margin:,.0f}"
    table = story.tariffs.margins["spec"].table
    losing = table[table["margin_per_person"] < 0]
    assert len(losing) >= 2
    words = panel.paragraphs[-1]
    for key, row in losing.iterrows():
        name = story.inputs.spec.segments[key].label
        assert f"{name} loses £{-row.margin_per_person:,.0f} a person" in words
    assert "leave out the service fee, which the margin above includes" in words
    assert "_" not in words


def test_the_evaluators_panel_gives_the_verdict_and_says_a_small_gamma_is_fragile(story):
    panel = panels.evaluator(story)
    verdict = story.verdicts()["binary"]
    assert panel.verdict == verdict.sentence() and verdict.per_100() in panel.paragraphs
    gamma = story.sensitivity.rows["frequency"].gamma
    assert gamma < panels.FRAGILE_GAMMA
    assert f"fragile: a hidden bias of {gamma:.2f} would explain it away" in " ".join(panel.paragraphs)
    assert panels.strength(2.5).startswith("robust") and panels.strength(float("inf")).startswith("robust")


def test_the_verdict_is_said_in_the_jdls_words(story):
    verdict = story.verdicts()["binary"]
    page = built_reports()["evaluator"].to_html()
    assert verdict.sentence() in page and verdict.per_100() in page


def test_every_figure_is_inline_svg_with_alt_text(story):
    page = built_reports()["evaluator"].to_html()
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
    page = built_reports()["evaluator"].to_html()
    shown = {s.key: s for s in built_reports()["evaluator"].shown_sections()}
    assert shown["sensitivity"].part == "body"
    for sentence in story.sensitivity.sentences():
        assert sentence.replace("'", "&#39;") in page
    assert "Rosenbaum&#39;s Gamma" in page and "E-value" in page


def test_settlement_measurement_and_providers_are_shown(story):
    page = built_reports()["commissioner"].to_html()
    assert "What the contract pays under its terms" in page and "What each tranche pays" in page
    evaluation = built_reports()["evaluator"].to_html()
    assert "Providers compared like with like" in evaluation and "Rank could be (95%)" in evaluation
    assert "How outcomes were measured" in evaluation
    # The unmeasured are counted where the outcome rates are shown.
    assert "Due a measurement, had none" in evaluation


def test_the_caliper_is_stated_as_the_appraisal_used_it(story):
    page = built_reports()["evaluator"].to_html()
    assert "caliper 0.2 SD, no replacement" in page
    narrower = dataclasses.replace(story, options=dataclasses.replace(story.options, caliper=0.05))
    annex = Report("x").section("annex_matching", "Matched comparison: counts", part="annex")
    sections.annex_matching(narrower, annex)
    assert any("caliper 0.05 SD, no replacement" in html for kind, html in annex.blocks if kind == "table")


def test_adding_a_section_is_one_function(story):
    """Register a section, build the report, then take it out again."""

    @sections.section("pool_size", "The pool")
    def pool_size(story, out):
        out.paragraph(f"The pool has {len(story.inputs.pool):,} people.")

    try:
        report = sections.build_report(story, "evaluator", rendered=built_reports()["evaluator"].rendered)
        assert report.shown_sections()[-1 - sum(s.part == "annex" for s in report.shown_sections())].key == "pool_size"
        assert "The pool has 15,000 people." in report.to_html()
    finally:
        sections.SECTIONS.pop()


def test_a_reader_who_does_not_exist_is_a_parameter_error(story):
    from ground.errors import ParameterError

    with pytest.raises(ParameterError, match=r"'first' parameter of order must be one of 'commissioner'"):
        sections.build_report(story, "auditor")


def test_without_costs_the_provider_answer_and_what_was_not_run_say_so():
    story = appraisal_without_costs()
    answer = panels.provider(story)
    not_run = Report("Provider").section("not_run", "What was not run")
    sections.not_run_section(story, not_run)
    # Without costs a provider's income cannot be told from its margin, and the report says so.
    assert "delivery costs were not given" in answer.verdict
    assert any("Not run: tariff comparison" in text for _, text in not_run.blocks)
