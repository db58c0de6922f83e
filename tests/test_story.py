"""The whole story: each step's numbers are the library's, counts reconcile,
each journey's report answers its reader first, and steps and sections are one
function each."""

from __future__ import annotations

import json
import re
from functools import lru_cache

import pytest

from cohorts.synthetic import make_world
from desist import sections
from desist.report import Report
from desist.story import DEFAULT_SPEC, JOURNEYS, STEPS, Story, StoryInputs, run_story, step
from metrics import e_value, match, rosenbaum_bounds
from outcomes import MetricSpec
from pricing import Contract, settle
from validation import compare_providers, measurement_screens

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
def built_story() -> Story:
    """One seeded story for every module that needs one (the report, the browser and the workbook tests)."""
    world = make_world(seed=4, n_eligible=1_500, n_pool=15_000)
    seen: list[str] = []
    # The demo's spec is a contract with tranches, so the story settles it too.
    result = run_story(StoryInputs.from_world(world, Contract.from_toml(DEFAULT_SPEC)), draws=300, progress=seen.append)
    result.steps_seen = seen
    return result


@lru_cache(maxsize=1)
def built_reports() -> dict:
    """Each journey's report of :func:`built_story`, each chart drawn once for all of them."""
    return built_story().reports()


@pytest.fixture(scope="module")
def story():
    return built_story()


def test_every_step_runs_in_order(story):
    assert tuple(story.steps_seen) == STEPS
    assert story.skipped == {}


def test_counts_reconcile(story):
    people = story.inputs.people
    counts = story.reoffending.counts
    assert counts["all"] == len(people)
    assert counts["observable"] + sum(v for k, v in counts.items() if k.startswith("excluded")) == len(people)
    matched = story.matched.counts
    assert matched.loc["all", "treated"] == counts["observable"]
    assert matched.loc["all", "control"] == len(story.inputs.pool)
    assert (matched.loc["matched"] + matched.loc["unmatched"] + matched.loc["discarded"] == matched.loc["all"]).all()
    rates = story.outcome_rates
    assert ((rates["n"] + rates["not_measurable"] + rates["not_yet_measurable"]) == len(people)).all()


def test_effects_are_the_matched_comparisons_own(story):
    """Re-do the evaluator's steps by hand with the public API: same numbers."""
    inputs = story.inputs
    proven = inputs.spec.proven_reoffending(inputs.people, inputs.offences, as_of=inputs.as_of).per_person
    cohort = inputs.people.merge(proven[proven["observable"]][["person_id", "reoffended"]], on="person_id")
    covariates = [
        "age",
        "sex",
        "ethnicity",
        "age_first_conviction",
        "prior_offences",
        "ogrs_score",
        "need_accommodation",
        "need_substance",
        "need_mental_health",
        "need_employment",
        "need_family",
    ]
    import pandas as pd

    data = pd.concat(
        [cohort[covariates + ["reoffended"]].assign(t=1), inputs.pool[covariates + ["reoffended"]].assign(t=0)],
        ignore_index=True,
    )
    data["reoffended"] = data["reoffended"].astype(float)
    direct = match(data, "t", covariates, caliper=0.2, link="linear_logit").effect("reoffended", kind="binary")
    got = story.effects["binary"]
    assert got.estimate == pytest.approx(direct.estimate, rel=1e-12)
    assert got.se == pytest.approx(direct.se, rel=1e-12)
    assert got.n_treated == direct.n_treated


def test_thresholds_and_power_use_the_effects(story):
    frequency = story.thresholds["frequency"].to_frame().set_index("rule")
    count = story.effects["count"]
    assert frequency["observed"].iloc[0] == pytest.approx(1 - count.estimate, rel=1e-9)
    assert (frequency["false_payment"].between(0, 1)).all()
    assert frequency["true_effect"].iloc[0] == pytest.approx(story.inputs.truth["reoffences_ratio"])
    assert story.power["binary"].to_dict()["n_treated"] == story.effects["binary"].n_treated


def test_tariffs_close_the_creaming_gap(story):
    margins = story.tariffs.margins
    assert margins["flat"].gap > 0
    assert margins["incentive_neutral"].gap == pytest.approx(0.0, abs=1e-6)
    assert story.history_counts["kept"] + story.history_counts["excluded: window not closed"] == len(
        story.inputs.people
    )


def test_summary_and_json(story):
    text = story.summary()
    for needle in (
        "Intermediate outcomes",
        "95% CI",
        "when nothing changed",
        "Smallest effects detectable",
        "Creaming gap",
        "Creaming screen",
        "Parking screen",
        "Funnel",
        "Design findings",
        "true effect",
        "For every 100 people like these",
        "against a budget of",
        "Must fix",
    ):
        assert needle in text, needle
    # Numbers for people: no raw frames, no codes for findings, each true effect with its scale.
    assert "net_mean" not in text and "(warning)" not in text and "NaN" not in text
    assert "[true effect -4.0 points, difference in the proven reoffending rate" in text
    assert text.count("Payment rules") == 1
    data = json.loads(json.dumps(story.to_dict(), default=float))
    assert data["effects"]["binary"]["n_treated"] == story.effects["binary"].n_treated
    assert set(data["screens"]) == {"creaming", "parking", "funnel"}
    answers = data["answers"]
    assert answers["evaluation"]["binary"]["per_100"].startswith("For every 100 people like these")
    assert answers["contract"]["mean"] == pytest.approx(data["simulation"]["total_paid"]["mean"], rel=1e-12)
    assert answers["provider"]["prime"]["margin"] == pytest.approx(data["simulation"]["parties"]["prime"]["net_mean"])


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


def test_the_verdict_is_the_jdls_on_the_matched_effect(story):
    binary = story.effects["binary"]
    verdict = story.verdicts()["binary"]
    assert verdict.treated == pytest.approx(100 * binary.mean_treated)
    assert verdict.control == pytest.approx(100 * binary.mean_control)
    assert (verdict.low, verdict.high) == pytest.approx((100 * binary.ci_low, 100 * binary.ci_high))
    assert verdict.form == ("inconclusive" if binary.ci_low < 0 < binary.ci_high else verdict.form)
    frequency = story.verdicts()["frequency"]
    count = story.effects["count"]
    # The interval per 100 people comes from the rate ratio's own CI, so verdict and interval agree.
    assert frequency.treated == pytest.approx(100 * count.mean_control * count.estimate)
    assert (frequency.high < 0) == (frequency.form == "reduction")
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


def test_sensitivity_is_the_matched_pairs_own(story):
    """Gamma and the E-values are metrics' own on the story's pairs and effects; the report says them in words."""
    rows = story.sensitivity.rows
    for measure, kind, outcome in (
        ("binary", "binary", "proven reoffending"),
        ("frequency", "count", "proven reoffences"),
    ):
        bounds, ev = rosenbaum_bounds(story.matched, outcome), e_value(story.effects[kind])
        assert rows[measure].gamma == bounds.critical_gamma and rows[measure].pairs == bounds.n_pairs
        assert (rows[measure].e_value, rows[measure].e_value_ci) == (ev.e_value, ev.e_value_ci)
        assert rows[measure].form == story.verdicts()[measure].form
    page = built_reports()["evaluation"].to_html()
    shown = {s.key: s for s in built_reports()["evaluation"].shown_sections()}
    assert shown["sensitivity"].part == "answer"
    for sentence in story.sensitivity.sentences():
        assert sentence.replace("'", "&#39;") in page
    assert "Rosenbaum&#39;s Gamma" in page and "E-value" in page


def test_settlement_measurement_and_providers_are_the_librarys_own(story):
    inputs = story.inputs
    tables = {"people": inputs.people, "offences": inputs.offences, "assessments": inputs.assessments}
    settled = settle(inputs.contract, tables, as_of=inputs.as_of)
    assert story.settlement.total_pence == settled.total_pence > 0
    page = built_reports()["contract"].to_html()
    assert "What the contract pays under its terms" in page and "What each tranche pays" in page
    scored = inputs.people.assign(difficulty=story.difficulty.predict(inputs.people).difficulty.to_numpy())
    needs = [c for c in scored.columns if c.startswith("need_")]
    screens = measurement_screens(scored, story.achievements, by="provider_id", covariates=needs)
    assert screens.to_frame().equals(story.measurement.to_frame())
    per_person = story.reoffending.per_person
    observed = scored.merge(per_person.loc[per_person["observable"], ["person_id", "reoffended"]], on="person_id")
    compared = compare_providers(
        observed.assign(reoffended=observed["reoffended"].astype(float), expected=observed["difficulty"]),
        expected="expected",
    )
    assert compared.to_frame().equals(story.providers.to_frame())
    evaluation = built_reports()["evaluation"].to_html()
    assert "Providers compared like with like" in evaluation and "Rank could be (95%)" in evaluation
    assert "How outcomes were measured" in evaluation
    # The unmeasured are counted where the outcome rates are shown.
    assert "Due a measurement, had none" in evaluation
    assert (story.outcome_rates["unmeasured"] == [r.unmeasured for r in story.achievements.values()]).all()


def test_adding_a_step_or_a_section_is_one_function(story):
    """Register a step and a section, run them, then take them out again."""
    from desist import story as story_module

    @step("count the pool")
    def count_pool(story, options):
        story.notes.append(f"The pool has {len(story.inputs.pool):,} people.")

    @sections.section("pool_size", "The pool", journeys=("evaluation",))
    def pool_size(story, out):
        out.paragraph(f"The pool has {len(story.inputs.pool):,} people.")

    try:
        world = make_world(seed=5, n_eligible=400, n_pool=2_000)
        seen: list[str] = []
        small = run_story(
            StoryInputs.from_world(world, Contract.from_toml(DEFAULT_SPEC)), draws=50, progress=seen.append
        )
        assert seen == [*STEPS, "count the pool"] and small.notes[-1] == "The pool has 2,000 people."
        report = sections.build_report(story, "evaluation", rendered=built_reports()["evaluation"].rendered)
        assert report.shown_sections()[-1 - sum(s.part == "annex" for s in report.shown_sections())].key == "pool_size"
        assert "The pool has 15,000 people." in report.to_html()
    finally:
        story_module._STEPS.pop()
        sections.SECTIONS.pop()
    assert [s.name for s in story_module._STEPS] == list(STEPS)


def test_a_journey_that_does_not_exist_is_a_parameter_error(story):
    from ground.errors import ParameterError

    with pytest.raises(ParameterError, match=r"'journey' parameter of Story.report must be one of 'evaluation'"):
        story.report("auditor")


def test_without_costs_the_tariff_comparison_is_skipped_with_its_reason():
    world = make_world(seed=5, n_eligible=800, n_pool=6_000)
    inputs = StoryInputs.from_world(world, MetricSpec.from_toml(DEFAULT_SPEC), costs={})
    story = run_story(inputs, draws=100)
    assert story.tariffs is None and "--cost" in story.skipped["tariff comparison"]
    assert story.simulation is not None
    answer = Report("Provider").section("provider_answer", "What the provider would earn", part="answer")
    sections.answer_provider(story, answer)
    not_run = Report("Provider").section("not_run", "What was not run")
    sections.not_run_section(story, not_run)
    # Without costs a provider's income cannot be told from its margin, and the report says so.
    assert "delivery costs were not given" in answer.blocks[0][1]
    assert any("Not run: tariff comparison" in text for _, text in not_run.blocks)


def test_a_spec_measured_differently_from_the_pool_is_compared_the_pools_way():
    """Peterborough counts conviction court appearances; the pool counts offences
    proven by conviction or caution. Compared as-is the effect is badly biased,
    so the comparison measures the cohort as the pool was measured, and says so."""
    world = make_world(seed=7, n_eligible=600, n_pool=6_000)
    spec = MetricSpec.from_toml("examples/specs/peterborough.toml")
    story = run_story(StoryInputs.from_world(world, spec), draws=100)
    assert story.notes and "court appearances" in story.notes[0] and "the pool's way" in story.notes[0]
    assert story.spec_reoffending.frequency().per_100 < story.reoffending.frequency().per_100
    from outcomes import proven_reoffending

    pools_way = proven_reoffending(world.people, world.offences, as_of=world.as_of).per_person
    assert story.reoffending.per_person["reoffences"].sum() == pools_way["reoffences"].sum()
    assert "The spec's own measure" in story.summary()
    same = run_story(StoryInputs.from_world(world, MetricSpec.from_toml(DEFAULT_SPEC)), draws=100)
    assert same.notes == [] and same.spec_reoffending is None
