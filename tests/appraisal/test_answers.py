"""The readers' answers (appraisal.answers): the Justice Data Lab's verdict, spend against budget, in words."""

from __future__ import annotations

import re

import pytest

from appraisal.answers import Spend, verdict
from metrics.effects import Effect


def _effect(estimate: float, low: float, high: float, kind: str = "binary") -> Effect:
    scale = "difference" if kind == "binary" else "rate ratio"
    return Effect(estimate, 0.02, low, high, 0.04, 500, 500, "wls", kind, "reoffended", scale, 0.40, 0.46)


@pytest.mark.parametrize(
    ("effect", "form", "words"),
    [
        (_effect(-0.06, -0.11, -0.01), "reduction", "The programme significantly reduced the proven reoffending rate."),
        (_effect(0.06, 0.01, 0.11), "increase", "The programme significantly increased the proven reoffending rate."),
        (_effect(-0.02, -0.07, 0.03), "inconclusive", "More people are needed to tell whether the programme changed"),
        (_effect(0.8, 0.7, 0.95, "count"), "reduction", "significantly reduced how often people reoffended"),
        (
            _effect(1.1, 0.9, 1.3, "count"),
            "inconclusive",
            "More people are needed to tell whether the programme changed how",
        ),
    ],
)
def test_the_verdict_takes_the_justice_data_labs_three_forms(effect, form, words):
    v = verdict(effect)
    assert v.form == form and words in v.sentence()
    text = v.per_100()
    treated = 40 if effect.kind == "binary" else round(46 * effect.estimate)
    assert text.startswith(f"For every 100 people like these, {treated} ") and "against 46 in the comparison" in text
    low, high = re.search(r"between (.+) and (.+)\)\.$", text).groups()
    assert low.endswith("fewer") or low.endswith("more")


def test_the_difference_per_100_keeps_a_small_non_zero_bound():
    v = verdict(_effect(-0.05, -0.0996, -0.004))
    assert v.per_100().endswith("(the difference is between 10 fewer and 0.4 fewer).")


def test_spend_says_what_a_commissioner_risks_not_a_coin_toss():
    spend = Spend(
        budget=1_000_000.0,
        mean=999_000.0,
        q05=950_000.0,
        q95=1_080_000.0,
        mc_se=500.0,
        overspend_chance=0.07,
        draws=2_000,
    )
    assert spend.sentence() == (
        "The contract would cost £999,000 on average against a budget of £1,000,000; in 90% of simulated "
        "contracts between £950,000 and £1,080,000 (95% to 108% of the budget)."
    )
    assert "£80,000 over budget" in spend.risk() and "overspending by more than 5% is 7.0%" in spend.risk()
