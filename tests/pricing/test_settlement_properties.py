"""Properties of settle() on random small cohorts (hypothesis, derandomized as the project sets it)."""

from __future__ import annotations

import copy
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing import Contract, settle

AS_OF = "2025-12-31"


def contract_mapping(stacking: str = "multiplicative", cap: float | None = None, reverse: bool = False) -> dict:
    uplifts = {"women": 0.2, "complex": 0.5, "young": 0.15}
    if reverse:
        uplifts = dict(reversed(list(uplifts.items())))
    payment = {"prices": {"contact": 150.0}, "uplifts": uplifts, "stacking": stacking}
    if cap is not None:
        payment["outcome_cap"] = cap
    return {
        "metric": {"name": "Family contact tariff"},
        "tranches": {
            "q1": {"start": date(2024, 1, 1), "end": date(2024, 3, 31), "final": date(2025, 6, 30)},
            "q2": {"start": date(2024, 4, 1), "end": date(2024, 6, 30), "final": date(2025, 9, 30)},
        },
        "outcomes": {
            "contact": {
                "instrument": "family_contact",
                "measure": "contact_frequency",
                "window": [30, 200],
                "price_key": "contact",
                "payable": "restraining_order == false",
                "rule": {"type": "threshold", "at_least": 3},
            }
        },
        "segments": {
            "women": {"where": "sex == 'female'", "priority": 1},
            "complex": {"where": "needs >= 2", "priority": 2},
            "young": {"where": "age <= 24", "priority": 3},
        },
        "payment": payment,
    }


def world(seed: int, n: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = np.array([f"P{i:03d}" for i in range(n)])
    start = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 182, n), unit="D")
    people = pd.DataFrame(
        {
            "person_id": ids,
            "start_date": start,
            "sex": rng.choice(["female", "male"], n),
            "age": rng.integers(18, 60, n),
            "needs": rng.integers(0, 4, n),
            "restraining_order": rng.random(n) < 0.2,
        }
    )
    visits = rng.integers(1, 4, n)
    who = np.repeat(np.arange(n), visits)
    assessments = pd.DataFrame(
        {
            "person_id": ids[who],
            "instrument": "family_contact",
            "item": "contact_frequency",
            "score": rng.integers(0, 5, who.size).astype(float),
            "assessed_on": start[who] + pd.to_timedelta(rng.integers(-10, 220, who.size), unit="D"),
        }
    )
    # One assessment per person and day: a second on the same day is a duplicate record the schema refuses.
    assessments = assessments.drop_duplicates(["person_id", "assessed_on"])
    return {"people": people, "assessments": assessments}


cases = st.tuples(st.integers(0, 10_000), st.integers(1, 40))


@settings(max_examples=12)
@given(cases, st.sampled_from(["multiplicative", "additive"]))
def test_ledger_tranches_and_parties_agree(case, stacking):
    s = settle(Contract.from_mapping(contract_mapping(stacking)), world(*case), as_of=AS_OF)
    parties = int(s.parties.loc[s.parties["party"] != "commissioner", "amount_pence"].sum())
    assert s.total_pence == int(s.tranches["amount_pence"].sum()) == parties
    assert -int(s.parties.set_index("party").loc["commissioner", "amount_pence"]) == s.total_pence


@settings(max_examples=10)
@given(cases, st.sampled_from(["multiplicative", "additive"]))
def test_stacking_uplifts_commutes(case, stacking):
    data = world(*case)
    a = settle(Contract.from_mapping(contract_mapping(stacking)), data, as_of=AS_OF)
    b = settle(Contract.from_mapping(contract_mapping(stacking, reverse=True)), data, as_of=AS_OF)
    assert a.ledger_csv() == b.ledger_csv()


@settings(max_examples=10)
@given(cases, st.floats(0, 3_000))
def test_never_pays_more_than_the_cap(case, cap):
    s = settle(Contract.from_mapping(contract_mapping(cap=cap)), world(*case), as_of=AS_OF)
    assert s.total_pence <= round(cap * 100)
    assert (s.ledger["amount_pence"] >= 0).all()


@settings(max_examples=10)
@given(cases, st.integers(0, 2**32 - 1))
def test_row_order_does_not_matter(case, shuffle):
    data = world(*case)
    rng = np.random.default_rng(shuffle)
    shuffled = {k: v.iloc[rng.permutation(len(v))] for k, v in data.items()}
    contract = Contract.from_mapping(contract_mapping())
    a, b = settle(contract, data, as_of=AS_OF), settle(contract, shuffled, as_of=AS_OF)
    assert a.ledger_csv() == b.ledger_csv() and a.figures() == b.figures()


def test_stacked_uplift_prices_a_woman_with_complex_needs_for_both():
    data = world(1, 1)
    data["people"] = data["people"].assign(sex="female", needs=3, age=40, restraining_order=False)
    data["assessments"] = data["assessments"].iloc[:1].assign(score=4.0, assessed_on=pd.Timestamp("2024-03-01"))
    data["people"] = data["people"].assign(start_date=pd.Timestamp("2024-01-15"))
    for stacking, expected in (("multiplicative", 150 * 1.2 * 1.5), ("additive", 150 * 1.7)):
        s = settle(Contract.from_mapping(contract_mapping(stacking)), data, as_of=AS_OF)
        assert s.total_pence == round(expected * 100)


def test_payability_rule_and_exclusions_are_counted():
    data = world(5, 40)
    s = settle(Contract.from_mapping(contract_mapping()), data, as_of=AS_OF)
    paid = set(s.ledger["person_id"])
    barred = set(data["people"].loc[data["people"]["restraining_order"], "person_id"])
    assert not paid & barred
    assert "achieved, not payable" in set(s.exclusions["reason"])


def test_uplift_on_an_unknown_segment_is_refused():
    raw = copy.deepcopy(contract_mapping())
    raw["payment"]["uplifts"]["veterans"] = 0.1
    with pytest.raises(Exception, match="payment.uplifts"):
        Contract.from_mapping(raw)
