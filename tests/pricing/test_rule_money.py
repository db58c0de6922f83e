"""What rules pay, worked by hand: events avoided, payment on the excess, sliding clawback, deductions for a rise,
bed nights, and the contract keys that say so.

The events-avoided figures are the issue's (#25): two cohorts of 100 people against matched comparisons of 1,000,
at £2,000 per reconviction event avoided, 10% per cohort at interim or 7.5% pooled at the end.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from ground.errors import SpecError
from pricing import Contract, settle
from tests.pricing.test_settlement import events


def counts(n: int, total: int) -> np.ndarray:
    """``n`` people's event counts summing to ``total``, as even as whole numbers allow (1 or 2 apart at most)."""
    base, extra = divmod(total, n)
    return np.r_[np.full(extra, base + 1), np.full(n - extra, base)]


def two_cohorts(treated: tuple[int, int], comparison: tuple[int, int], n: int = 100, ratio: int = 10) -> dict:
    """People of two monthly cohorts with ``treated`` events in all, and their matched comparisons' counts."""
    starts = {"c1": ("2015-01-01", "2015-01-31"), "c2": ("2015-02-01", "2015-02-28")}
    people, offences, comparisons = [], [], []
    for (name, (first, last)), events_t, events_c in zip(starts.items(), treated, comparison):
        ids = np.array([f"{name}-{i:03d}" for i in range(n)])
        days = pd.Series(pd.date_range(first, last, periods=n).normalize())
        people.append(pd.DataFrame({"person_id": ids, "start_date": days}))
        offences.append(events(ids, days, counts(n, events_t)))
        comparisons.append(pd.DataFrame({"tranche": name, "reoffences": counts(n * ratio, events_c)}))
    comparison = pd.concat(comparisons, ignore_index=True)
    comparison.insert(0, "person_id", [f"C{i:05d}" for i in range(len(comparison))])
    return {
        "people": pd.concat(people, ignore_index=True),
        "offences": pd.concat(offences, ignore_index=True),
        "comparison": comparison,
    }


PETERBOROUGH_STYLE = {
    "metric": {"name": "events avoided"},
    "tranches": {
        "c1": {
            "start": date(2015, 1, 1),
            "end": date(2015, 1, 31),
            "interim": date(2016, 12, 31),
            "final": date(2017, 6, 30),
        },
        "c2": {
            "start": date(2015, 2, 1),
            "end": date(2015, 2, 28),
            "interim": date(2016, 12, 31),
            "final": date(2017, 6, 30),
        },
    },  # fmt: skip
    "reoffending": {"measure": "frequency", "disposals": ["conviction"], "counting": "court_appearances"},
    "counterfactual": {"matched": {"ratio": 10}},
    "rules": {
        "early": {
            "type": "tranche",
            "measure": "frequency",
            "at_least": 0.10,
            "settle": "interim",
            "price_per_event": 2000,
        },
        "pooled": {"type": "pooled", "measure": "frequency", "at_least": 0.075, "price_per_event": 2000},
    },  # fmt: skip
}


def mean_of_relative_reductions(reductions, comparison_means, n=100, price=2000) -> float:
    """The method the pooled rule used before: the mean reduction times every cohort's comparison events."""
    return float(np.mean(reductions) * np.sum(np.array(comparison_means) * n) * price)


@pytest.mark.filterwarnings("ignore::pricing.settlement_data.UnrecordedMeasureWarning")
def test_events_avoided_pay_what_the_cohorts_avoided_not_the_mean_reduction():
    # Cohort 1: 113 events against 1.25 per comparison (9.6% fewer); cohort 2: 93 against 1.00 (7.0% fewer).
    data = two_cohorts(treated=(113, 93), comparison=(1_250, 1_000))
    s = settle(Contract.from_mapping(PETERBOROUGH_STYLE), data, as_of="2017-06-30")
    rows = s.tranches.set_index(["tranche", "rule"])
    assert rows.loc[("c1", "early"), "estimate"] == pytest.approx(0.096, abs=1e-12)
    assert rows.loc[("c2", "early"), "estimate"] == pytest.approx(0.070, abs=1e-12)
    assert not rows.loc[("c1", "early"), "met"] and not rows.loc[("c2", "early"), "met"]
    pooled = rows.loc[("pooled", "pooled")]
    assert pooled["estimate"] == pytest.approx(0.083, abs=1e-12) and pooled["met"]
    # By hand: (1.25 - 1.13) x 100 + (1.00 - 0.93) x 100 = 12 + 7 = 19 events, at £2,000: £38,000.
    assert pooled["events_avoided"] == pytest.approx(19.0, abs=1e-9)
    assert s.total_pence == 3_800_000
    # The mean of relative reductions would have paid 8.3% x 225 events x £2,000 = £37,350.
    assert mean_of_relative_reductions((0.096, 0.07), (1.25, 1.0)) == pytest.approx(37_350)


@pytest.mark.filterwarnings("ignore::pricing.settlement_data.UnrecordedMeasureWarning")
def test_the_pooled_test_nets_the_interim_payments_of_the_events_avoided():
    # Cohort 1: 135 events against 1.5 (10% fewer: paid early); cohort 2: 88 against 1.0 (12% fewer: paid early).
    data = two_cohorts(treated=(135, 88), comparison=(1_500, 1_000))
    contract = Contract.from_mapping(PETERBOROUGH_STYLE)
    interim = settle(contract, data, as_of="2016-12-31")
    # Early payments by hand: 15 events x £2,000 = £30,000 and 12 x £2,000 = £24,000.
    assert interim.tranches.set_index("tranche").loc[["c1", "c2"], "amount_pence"].tolist() == [3_000_000, 2_400_000]
    final = settle(contract, data, as_of="2017-06-30")
    pooled = final.tranches.set_index(["tranche", "rule"]).loc[("pooled", "pooled")]
    # Pooled: 11% met; 15 + 12 = 27 events avoided = £54,000, all paid already: no top-up.
    assert pooled["met"] and pooled["events_avoided"] == pytest.approx(27.0, abs=1e-9)
    assert pooled["netted_pence"] == 5_400_000 and pooled["amount_pence"] == 0
    assert final.total_pence == 5_400_000
    # The mean of relative reductions: 11% x 250 events x £2,000 = £55,000, a £1,000 top-up for nothing avoided.
    assert mean_of_relative_reductions((0.10, 0.12), (1.5, 1.0)) - 54_000 == pytest.approx(1_000)


def target(**rule) -> Contract:
    """A one-tranche binary target of 5 points against a fixed baseline of 58%, with the rule's money terms."""
    raw = {
        "metric": {"name": "target"},
        "tranches": {"t": {"start": date(2011, 10, 1), "end": date(2012, 9, 30), "final": date(2014, 8, 7)}},
        "reoffending": {"measure": "binary", "disposals": ["conviction"]},
        "counterfactual": {"baseline": {"rate": 0.58, "period": "2009", "measure": "binary", "version": "v",
                                        "disposals": ["conviction"]}},
        "rules": {"target": {"type": "tranche", "measure": "binary", "against": "baseline", "scale": "points",
                             "at_least": 0.05, **rule}},
        "payment": {"service_fee": 1_000_000, "up_front_share": 1.0,
                    "clawback_share": 0.10 if rule.get("claws_back") else 0.0},
    }  # fmt: skip
    return Contract.from_mapping(raw)


def reconvicted(k: int, n: int = 1_000) -> dict:
    people = pd.DataFrame(
        {"person_id": [f"p{i:04d}" for i in range(n)], "start_date": pd.date_range("2011-10-01", periods=n, freq="h")}
    )
    people["start_date"] = people["start_date"].dt.normalize()
    return {"people": people, "offences": events(people["person_id"].to_numpy(), people["start_date"],
                                                 np.r_[np.ones(k, int), np.zeros(n - k, int)])}  # fmt: skip


@pytest.mark.parametrize(
    "k, pence",
    [
        (530, 0),  # exactly 5 points: met, nothing beyond
        (523, 70_000),  # 5.7 points: 0.7 points beyond 5 at £1,000 a point: £700
        (460, 500_000),  # 12 points: paid up to 10 points only, 5 points beyond: £5,000
    ],
)
def test_payment_on_the_excess_pays_each_point_beyond_the_threshold_up_to_its_cap(k, pence):
    contract = target(price_per_point=1_000, excess_up_to=0.10)
    assert settle(contract, reconvicted(k), as_of="2014-08-07").total_pence == pence


@pytest.mark.parametrize(
    "k, pence",
    [
        (531, -200_000),  # 4.9 points: 0.1 of the 5 points short, 1/50 of the £100,000 clawback
        (555, -5_000_000),  # 2.5 points: half of it
        (580, -10_000_000),  # no fall: all of it
        (600, -10_000_000),  # a rise: all of it, no more
        (530, 0),  # 5 points: met, nothing
    ],
)
def test_a_sliding_clawback_repays_in_proportion_to_the_shortfall(k, pence):
    # The clawback: 10% of a £1,000,000 fee = £100,000 in full; none at 5 points, all at 0 points (clawback_full_at).
    contract = target(claws_back=True, clawback_full_at=0.0)
    assert settle(contract, reconvicted(k), as_of="2014-08-07").total_pence == pence


def test_a_sliding_clawback_that_is_whole_at_1_point_repays_five_eighths_at_2_5_points():
    # From none at 5 points to all at 1 point: 2.5 points is (5 - 2.5) / (5 - 1) = 5/8 of £100,000.
    contract = target(claws_back=True, clawback_full_at=0.01)
    assert settle(contract, reconvicted(555), as_of="2014-08-07").total_pence == -6_250_000


def test_an_all_or_nothing_clawback_repays_all_of_it_a_tenth_of_a_point_short():
    assert settle(target(claws_back=True), reconvicted(531), as_of="2014-08-07").total_pence == -10_000_000


def test_a_significant_rise_deducts_per_person_added():
    # A rise of 4 points (620 of 1,000 against 58%) with a lower bound above 0 at 95%: deducted £500 a person added.
    contract = target(decide_on="lower_bound", increase_at_least=0.0, deduction_per_event=500)
    s = settle(contract, reconvicted(620), as_of="2014-08-07")
    # 0.04 x 1,000 people = 40 people added, x £500 = £20,000.
    assert s.total_pence == -2_000_000
    assert s.ledger["kind"].tolist() == ["deduction"]
    row = s.tranches.iloc[0]
    assert row["risen"] and not row["met"]
    # A rise of 1 point is not significant (SE about 1.6 points): nothing deducted.
    assert settle(contract, reconvicted(590), as_of="2014-08-07").total_pence == 0


@pytest.mark.parametrize(
    "rule, key",
    [
        ({"excess_up_to": 0.10}, "rules.target.price_per_point"),
        ({"price_per_point": 10, "excess_up_to": 0.04}, "rules.target.excess_up_to"),
        ({"clawback_full_at": 0.0}, "rules.target.claws_back"),
        ({"claws_back": True, "clawback_full_at": 0.06}, "rules.target.clawback_full_at"),
        ({"deduction": 100}, "rules.target.increase_at_least"),
        ({"increase_at_least": 0.0}, "rules.target.deduction"),
    ],
)
def test_money_terms_that_cannot_work_together_are_refused_naming_the_key(rule, key):
    with pytest.raises(SpecError) as caught:
        target(**rule)
    assert caught.value.key == key


def test_a_pooled_rule_refuses_tranche_money():
    raw = {**PETERBOROUGH_STYLE, "rules": {**PETERBOROUGH_STYLE["rules"]}}
    raw["rules"]["pooled"] = {**raw["rules"]["pooled"], "claws_back": True}
    with pytest.raises(SpecError, match="for a tranche rule") as caught:
        Contract.from_mapping(raw)
    assert caught.value.key == "rules.pooled.claws_back"


def bed_nights(against: str) -> Contract:
    """Custody bed nights in the year from the index date: £100 per night avoided, £100 per night added."""
    raw = {
        "metric": {"name": "bed nights"},
        "tranches": {"t": {"start": date(2020, 1, 1), "end": date(2020, 1, 1), "final": date(2021, 6, 30)}},
        "custody": {"follow_up_days": 365},
        "counterfactual": {"baseline": {"rate": 2.0, "period": "2019", "measure": "bed_nights", "version": "v"},
                           "matched": {"ratio": 1}},
        "rules": {"nights": {"type": "tranche", "measure": "bed_nights", "against": against, "at_least": 0.0,
                             "price_per_event": 100, "increase_at_least": 0.0, "deduction_per_event": 100}},
    }  # fmt: skip
    return Contract.from_mapping(raw)


def held(nights: int, n: int = 100) -> dict:
    """``n`` people from 1 January 2020; 10 of them held ``nights`` nights between them (whole stays in the year)."""
    people = pd.DataFrame({"person_id": [f"y{i:03d}" for i in range(n)], "start_date": pd.Timestamp("2020-01-01")})
    start = pd.Timestamp("2020-03-01") + pd.to_timedelta(np.arange(10) * 25, unit="D")
    stays = pd.DataFrame({"person_id": people["person_id"].iloc[:10].to_numpy(), "start": start,
                          "end": start + pd.to_timedelta(counts(10, nights), unit="D"), "kind": "remand"})  # fmt: skip
    return {"people": people, "custody": stays}


@pytest.mark.parametrize("nights, pence", [(150, 500_000), (250, -500_000), (200, 0)])
def test_bed_nights_pay_per_night_avoided_and_repay_per_night_added(nights, pence):
    # 100 people against 2.0 nights each (200 in all): 150 nights is 50 avoided, £5,000; 250 is 50 added, -£5,000.
    s = settle(bed_nights("baseline"), held(nights), as_of="2021-06-30")
    assert s.tranches.iloc[0]["treated_mean"] == pytest.approx(nights / 100)
    assert s.total_pence == pence


def test_bed_nights_against_a_matched_comparison_read_its_bed_nights_column():
    comparison = pd.DataFrame(
        {"person_id": [f"c{i:03d}" for i in range(100)], "tranche": "t", "bed_nights": counts(100, 200)}
    )
    s = settle(bed_nights("matched"), {**held(150), "comparison": comparison}, as_of="2021-06-30")
    assert s.tranches.iloc[0]["comparison_mean"] == pytest.approx(2.0) and s.total_pence == 500_000
