"""The appraisal as a library: each step's numbers are the library's own, counts reconcile, the readers'
answers come from the same results, the result cannot be changed in place, and a step is one function."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from functools import lru_cache

import pandas as pd
import pytest

import appraisal
from appraisal import DEFAULT_SPEC, STEPS, Appraisal, AppraisalInputs, appraise, step
from appraisal import steps as steps_module
from cohorts.synthetic import make_world
from ground.errors import ParameterError
from ground.tables import BASELINE_COVARIATES
from metrics import e_value, match, rosenbaum_bounds
from outcomes import MetricSpec
from pricing import Contract, settle
from tests.running import ROOT
from validation import compare_providers, measurement_screens


@lru_cache(maxsize=1)
def built() -> tuple[Appraisal, tuple[str, ...]]:
    """One seeded appraisal, and the steps it reported, for every module that needs one (reports, workbook)."""
    world = make_world(seed=4, n_eligible=1_500, n_pool=15_000)
    seen: list[str] = []
    # The demo's spec is a contract with tranches, so the appraisal settles it too.
    result = appraise(
        AppraisalInputs.from_world(world, Contract.from_toml(DEFAULT_SPEC)), draws=300, progress=seen.append
    )
    return result, tuple(seen)


def built_appraisal() -> Appraisal:
    return built()[0]


@pytest.fixture(scope="module")
def story() -> Appraisal:
    return built_appraisal()


def test_every_step_runs_in_order(story):
    assert built()[1] == STEPS
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


def _direct_match(story: Appraisal, caliper: float):
    """The evaluator's steps by hand with the public API."""
    inputs = story.inputs
    proven = inputs.spec.proven_reoffending(inputs.people, inputs.offences, as_of=inputs.as_of).per_person
    cohort = inputs.people.merge(proven[proven["observable"]][["person_id", "reoffended"]], on="person_id")
    data = pd.concat(
        [
            cohort[[*BASELINE_COVARIATES, "reoffended"]].assign(t=1),
            inputs.pool[[*BASELINE_COVARIATES, "reoffended"]].assign(t=0),
        ],
        ignore_index=True,
    )
    data["reoffended"] = data["reoffended"].astype(float)
    return match(data, "t", BASELINE_COVARIATES, caliper=caliper, link="linear_logit")


def test_effects_are_the_matched_comparisons_own(story):
    """Re-do the evaluator's steps by hand with the public API: same numbers."""
    direct = _direct_match(story, 0.2).effect("reoffended", kind="binary")
    got = story.effects["binary"]
    assert got.estimate == pytest.approx(direct.estimate, rel=1e-12)
    assert got.se == pytest.approx(direct.se, rel=1e-12)
    assert got.n_treated == direct.n_treated


def test_the_caliper_is_an_input_stated_with_its_default():
    """0.2 SD of the logit unless told otherwise; a narrower caliper matches as ``match`` would, and is said."""
    assert appraisal.CALIPER == 0.2 and appraisal.RunOptions().caliper == 0.2
    world = make_world(seed=5, n_eligible=400, n_pool=2_000)
    narrow = appraise(AppraisalInputs.from_world(world, MetricSpec.from_toml(DEFAULT_SPEC)), draws=50, caliper=0.01)
    direct = _direct_match(narrow, 0.01)
    assert narrow.options.caliper == 0.01
    assert narrow.matched.counts.loc["matched", "treated"] == direct.counts.loc["matched", "treated"]
    assert narrow.matched.counts.loc["unmatched", "treated"] > 0
    assert "caliper 0.01 SD of the logit" in narrow.summary()
    with pytest.raises(ParameterError, match="caliper"):
        appraise(narrow.inputs, draws=50, caliper=-1.0)


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


def test_sensitivity_is_the_matched_pairs_own(story):
    """Gamma and the E-values are metrics' own on the appraisal's pairs and effects."""
    rows = story.sensitivity.rows
    for measure, kind, outcome in (
        ("binary", "binary", "proven reoffending"),
        ("frequency", "count", "proven reoffences"),
    ):
        bounds, ev = rosenbaum_bounds(story.matched, outcome), e_value(story.effects[kind])
        assert rows[measure].gamma == bounds.critical_gamma and rows[measure].pairs == bounds.n_pairs
        assert (rows[measure].e_value, rows[measure].e_value_ci) == (ev.e_value, ev.e_value_ci)
        assert rows[measure].form == story.verdicts()[measure].form


def test_settlement_measurement_and_providers_are_the_librarys_own(story):
    inputs = story.inputs
    tables = {"people": inputs.people, "offences": inputs.offences, "assessments": inputs.assessments}
    settled = settle(inputs.contract, tables, as_of=inputs.as_of)
    assert story.settlement.total_pence == settled.total_pence > 0
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
    # The unmeasured are counted where the outcome rates are shown.
    assert (story.outcome_rates["unmeasured"] == [r.unmeasured for r in story.achievements.values()]).all()


def test_the_result_cannot_be_changed_in_place(story):
    """A report, a workbook and a script read one appraisal: nothing they do can change it for the others."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        story.notes = ("edited",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        story.inputs.people = story.inputs.pool
    with pytest.raises(TypeError):
        story.effects["binary"] = story.effects["count"]
    with pytest.raises(TypeError):
        story.skipped["screens"] = "edited"
    assert isinstance(story.findings, tuple) and isinstance(story.notes, tuple)


def test_adding_a_step_is_one_function():
    """Register a step, run it, then take it out again."""

    @step("count the pool")
    def count_pool(story, options):
        return story.note(f"The pool has {len(story.inputs.pool):,} people.")

    try:
        world = make_world(seed=5, n_eligible=400, n_pool=2_000)
        seen: list[str] = []
        small = appraise(
            AppraisalInputs.from_world(world, Contract.from_toml(DEFAULT_SPEC)), draws=50, progress=seen.append
        )
        assert seen == [*STEPS, "count the pool"] and small.notes[-1] == "The pool has 2,000 people."
    finally:
        steps_module._STEPS.pop()
    assert [s.name for s in steps_module._STEPS] == list(STEPS)


@lru_cache(maxsize=1)
def appraisal_without_costs() -> Appraisal:
    """An appraisal given no delivery costs (shared with the report's test of the same)."""
    world = make_world(seed=5, n_eligible=800, n_pool=6_000)
    return appraise(AppraisalInputs.from_world(world, MetricSpec.from_toml(DEFAULT_SPEC), costs={}), draws=100)


def test_without_costs_the_tariff_comparison_is_skipped_with_its_reason():
    story = appraisal_without_costs()
    assert story.tariffs is None and "--cost" in story.skipped["tariff comparison"]
    assert story.simulation is not None
    # Without costs a provider's income cannot be told from its margin, and the answer says so.
    assert all(not o.costs_included and o.income is None for o in story.outlooks().values())
    assert "delivery costs were not given" in next(iter(story.outlooks().values())).sentence()


def test_a_spec_measured_differently_from_the_pool_is_compared_the_pools_way():
    """Peterborough counts conviction court appearances; the pool counts offences
    proven by conviction or caution. Compared as-is the effect is badly biased,
    so the comparison measures the cohort as the pool was measured, and says so."""
    world = make_world(seed=7, n_eligible=600, n_pool=6_000)
    spec = MetricSpec.from_toml("examples/specs/peterborough.toml")
    story = appraise(AppraisalInputs.from_world(world, spec), draws=100)
    assert story.notes and "court appearances" in story.notes[0] and "the pool's way" in story.notes[0]
    assert story.spec_reoffending.frequency().per_100 < story.reoffending.frequency().per_100
    from outcomes import proven_reoffending

    pools_way = proven_reoffending(world.people, world.offences, as_of=world.as_of).per_person
    assert story.reoffending.per_person["reoffences"].sum() == pools_way["reoffences"].sum()
    assert "The spec's own measure" in story.summary()
    same = appraise(AppraisalInputs.from_world(world, MetricSpec.from_toml(DEFAULT_SPEC)), draws=100)
    assert same.notes == () and same.spec_reoffending is None


def test_the_demo_is_one_call_without_the_command_line():
    """A Python user gets the demo's answers from the library alone: desist (the CLI) is never imported."""
    code = (
        "import sys, json, appraisal\n"
        "a = appraisal.demo(seed=1, n_eligible=300, n_pool=1_000, draws=50)\n"  # the docstring's small world
        "print(json.dumps({'desist': any(m == 'desist' or m.startswith('desist.') for m in sys.modules),"
        " 'answers': sorted(a.answers()), 'pool': len(a.inputs.world.pool)}))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    got = json.loads(run.stdout.splitlines()[-1])
    assert got == {"desist": False, "answers": ["contract", "evaluation", "provider"], "pool": 1_000}


def test_the_demo_checks_its_settings():
    with pytest.raises(ParameterError, match=r"'n_eligible' parameter of demo must be an int in the range \[200,"):
        appraisal.demo(n_eligible=100)
    with pytest.raises(ParameterError, match=r"'creaming' parameter of demo"):
        appraisal.demo(n_eligible=200, n_pool=1_000, creaming=-1.0)


def test_the_balance_table_is_worked_out_once_and_each_reader_gets_its_own_copy(story):
    first = story.balance()
    assert first.equals(story.matched.balance())
    first.iloc[0, 0] = -1.0  # a reader changing its copy changes nobody else's
    assert story.balance().equals(story.matched.balance())
    assert story._balance is story._balance


def test_the_people_are_scored_once_for_the_screens_and_the_measurement_screens(monkeypatch):
    from cohorts.difficulty import DifficultyModel

    calls = []
    predict = DifficultyModel.predict
    monkeypatch.setattr(DifficultyModel, "predict", lambda self, data: calls.append(id(data)) or predict(self, data))
    world = make_world(seed=3, n_eligible=400, n_pool=4_000)
    inputs = AppraisalInputs.from_world(world, MetricSpec.from_toml(DEFAULT_SPEC))
    appraise(inputs, draws=100)
    assert calls.count(id(inputs.people)) == 1
