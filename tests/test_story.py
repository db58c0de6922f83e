"""The whole story: each step's numbers are the library's, counts reconcile,
and the report has every section the issue lists."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cohorts.synthetic import make_world
from desist.story import DEFAULT_SPEC, STEPS, StoryInputs, run_story
from metrics import match
from outcomes import MetricSpec

SECTIONS = (
    "glance",
    "spec",
    "counts",
    "outcomes",
    "balance",
    "overlap",
    "effects",
    "thresholds",
    "difficulty",
    "tariffs",
    "cashflow",
    "creaming",
    "parking",
    "funnel",
    "equality",
    "findings",
)


@pytest.fixture(scope="module")
def story():
    world = make_world(seed=4, n_eligible=1_500, n_pool=15_000)
    seen: list[str] = []
    result = run_story(
        StoryInputs.from_world(world, MetricSpec.from_toml(DEFAULT_SPEC)), draws=300, progress=seen.append
    )
    result.steps_seen = seen
    return result


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
        "false payment",
        "Smallest effects detectable",
        "Creaming gap",
        "Creaming screen",
        "Parking screen",
        "Funnel",
        "Design findings",
        "true effect",
    ):
        assert needle in text
    data = json.loads(json.dumps(story.to_dict(), default=float))
    assert data["effects"]["binary"]["n_treated"] == story.effects["binary"].n_treated
    assert set(data["screens"]) == {"creaming", "parking", "funnel"}


def test_report_has_every_section_with_figures(story, tmp_path):
    page = story.report().write(tmp_path / "report.html").read_text(encoding="utf-8")
    for key in SECTIONS:
        assert f'<section id="{key}"' in page, key
    for key in ("balance", "overlap", "difficulty", "tariffs", "cashflow", "creaming", "parking", "funnel"):
        assert f'data-figure="{key}"' in page, key
    assert np.sum([page.count("<svg")]) >= 10


def test_without_costs_the_tariff_comparison_is_skipped_with_its_reason():
    world = make_world(seed=5, n_eligible=800, n_pool=6_000)
    inputs = StoryInputs.from_world(world, MetricSpec.from_toml(DEFAULT_SPEC), costs={})
    story = run_story(inputs, draws=100)
    assert story.tariffs is None and "--cost" in story.skipped["tariff comparison"]
    assert story.simulation is not None
    page = story.report().to_html()
    assert "Not run: tariff comparison" in page and 'id="cashflow"' in page


def test_a_spec_measured_differently_from_the_pool_is_compared_the_pools_way():
    """Peterborough counts conviction court appearances; the pool counts offences
    proven by conviction or caution. Compared as-is the effect is badly biased,
    so the comparison measures the cohort as the pool was measured, and says so."""
    world = make_world(seed=7, n_eligible=1_000, n_pool=10_000)
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
