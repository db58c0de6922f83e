"""appraisal.designer: an edit answered on data that remember what a price does not change is answered as on fresh
data; segments are assigned once per table and rules, and again when a rule changes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from appraisal.designer import EFFECT_WORDS, answer, changes, file_data, synthetic_data
from cohorts.segments import assign
from desist.designer.draft import Draft
from pricing.contract import Contract

ROOT = Path(__file__).resolve().parents[2]
INTERMEDIATE = ROOT / "examples" / "specs" / "intermediate.toml"


@pytest.fixture(scope="module")
def draft() -> Draft:
    return Draft(INTERMEDIATE.read_text(), str(INTERMEDIATE), INTERMEDIATE.parent)


def _edited(draft: Draft, **values) -> object:
    ids = {t.key: t.id for t in draft.terms}
    return draft.contract(draft.text(draft.values() | {ids[k]: v for k, v in values.items()}))


def _same(a, b) -> None:
    """Two designs' answers agree: headline figures, margins, gaming payoff and findings."""
    known = {k: v for k, v in b.headline().items() if v is not None}
    assert {k for k, v in a.headline().items() if v is not None} == set(known)
    assert {k: a.headline()[k] for k in known} == pytest.approx(known, rel=1e-9)
    for name, margins in b.tariffs.margins.items():
        pd.testing.assert_frame_equal(a.tariffs.margins[name].table, margins.table, rtol=1e-9)
    pd.testing.assert_frame_equal(a.payoff.table, b.payoff.table, rtol=1e-9)
    assert [f.message for f in a.findings] == [f.message for f in b.findings]
    assert a.power == b.power


def test_an_edit_after_others_is_answered_as_on_fresh_data(draft):
    kept = synthetic_data(draft.loaded, n_people=400, seed=1)
    options = {"draws": 100, "gaming_draws": 100}
    answer(draft.loaded, kept, **options)
    answer(_edited(draft, **{"payment.prices.ete.default": 900}), kept, **options)
    fee = {"payment.prices.accommodation.complex_needs": 1500, "payment.up_front_share": 0.5}
    again = answer(_edited(draft, **fee), kept, **options)
    fresh = answer(_edited(draft, **fee), synthetic_data(draft.loaded, n_people=400, seed=1), **options)
    _same(again, fresh)
    assert len(kept.memo) > 0


def test_segments_are_assigned_once_per_table_and_rules_and_again_when_a_rule_changes(draft):
    data = synthetic_data(draft.loaded, n_people=300, seed=2)
    rules = draft.loaded.spec.segments
    with data.memo.active():
        first = assign(data.history, rules)
        assert assign(data.history, rules) is first
        assert assign(data.history.copy(), rules) is not first  # a table the memo does not hold
        changed = {**rules, "young_adults": {"where": "age <= 21", "label": "Young", "priority": 2}}
        other = assign(data.history, changed)
    assert other is not first
    assert (other.counts.loc["young_adults", "n"]) < first.counts.loc["young_adults", "n"]
    assert assign(data.history, rules) is not first  # no memo active


def test_the_comparison_lists_a_changed_assumed_effect_beside_the_terms():
    contract = Contract.from_toml(ROOT / "examples" / "specs" / "doncaster.toml")
    data = file_data({"history": pd.read_csv(ROOT / "examples" / "data" / "history.csv")}, "history.csv")
    stated = answer(contract, data, draws=100, gaming_draws=100)
    larger = answer(contract, data, draws=100, gaming_draws=100, effect=-0.1)
    rows = changes(stated, larger)
    assert rows[0] == {"what": EFFECT_WORDS, "before": "-0.05", "after": "-0.1", "kind": "assumption"}
    assert [r["kind"] for r in rows[1:]] == ["answer"] * (len(rows) - 1) and len(rows) > 1
    assert changes(stated, answer(contract, data, draws=100, gaming_draws=100, effect=-0.05)) == []
