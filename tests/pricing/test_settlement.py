"""Settlement: published results replayed through settle(), and the money reconciles.

Replays (sizes and dispersion are assumptions, stated here because the sources give only the rates; the
sources are those of pricing/schemes and docs/schemes.md):

- Peterborough: two cohorts of 1,000 men released from HMP Peterborough after sentences under 12 months,
  each against 10,000 matched comparisons (ratio 10 assumed); reconviction events per person negative
  binomial with shape 2 (assumed), laid out at exactly 1.42 vs 1.55 (cohort 1: 8.4% fewer, Ministry of
  Justice, 7 August 2014) and 1.38 vs 1.53 (cohort 2) events per person.
- Doncaster: two cohorts of 1,178 (the eligible count of Oct 2011-June 2012, Russell Webster), none
  excluded, against a fixed 2009 baseline of 58% (assumed: the published baseline was not found);
  cohort 1 is 5.7 points below it (616 of 1,178 reconvicted), cohort 2 3.3 points (644 of 1,178).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pricing import Contract, scheme, settle
from pricing.settlement import pence_text


def nb_counts(n: int, mean: float, shape: float = 2.0) -> np.ndarray:
    """``n`` counts laid out on negative binomial quantiles, adjusted to total exactly ``mean * n``."""
    p = shape / (shape + mean)
    counts = stats.nbinom.ppf((np.arange(n) + 0.5) / n, shape, p).astype(int)
    target = round(mean * n)
    order = np.argsort(-counts, kind="stable")
    step = 1 if counts.sum() < target else -1
    i = 0
    while counts.sum() != target:
        j = order[i % n]
        if counts[j] + step >= 0:
            counts[j] += step
        i += 1
    return counts


def events(person_ids: np.ndarray, starts: pd.Series, counts: np.ndarray) -> pd.DataFrame:
    """One conviction per event, each at its own court appearance within the follow-up."""
    who = np.repeat(np.arange(len(person_ids)), counts)
    nth = np.concatenate([np.arange(c) for c in counts]) if len(counts) else np.array([], dtype=int)
    offence = starts.to_numpy()[who] + pd.to_timedelta(10 + 17 * nth, unit="D")
    return pd.DataFrame(
        {
            "person_id": person_ids[who],
            "offence_date": offence,
            "disposal_date": offence + pd.to_timedelta(30 + nth, unit="D"),
            "disposal": "conviction",
        }
    )


def cohort(prefix: str, n: int, start: str, end: str) -> pd.DataFrame:
    """``n`` people starting evenly over the dates, eligible for both schemes (men released from HMP Peterborough
    after 6-month sentences; none deported, sentenced to time served or serving a sentence for breach)."""
    days = pd.date_range(start, end, periods=n).normalize()
    return pd.DataFrame(
        {
            "person_id": [f"{prefix}{i:05d}" for i in range(n)],
            "start_date": days,
            "sex": "male",
            "sentence_months": 6,
            "establishment": "HMP Peterborough",
            "deported": False,
            "time_served": False,
            "breach": False,
        }
    )


@pytest.fixture(scope="module")
def peterborough_data() -> dict[str, pd.DataFrame]:
    c1 = cohort("A", 1_000, "2010-09-10", "2012-05-31")
    c2 = cohort("B", 1_000, "2012-06-01", "2014-06-30")
    offences = pd.concat(
        [
            events(c1["person_id"].to_numpy(), c1["start_date"], nb_counts(1_000, 1.42)),
            events(c2["person_id"].to_numpy(), c2["start_date"], nb_counts(1_000, 1.38)),
        ],
        ignore_index=True,
    )
    comparison = pd.concat(
        [
            pd.DataFrame({"tranche": "cohort_1", "reoffences": nb_counts(10_000, 1.55)}),
            pd.DataFrame({"tranche": "cohort_2", "reoffences": nb_counts(10_000, 1.53)}),
        ],
        ignore_index=True,
    )
    comparison.insert(0, "person_id", [f"C{i:06d}" for i in range(len(comparison))])
    return {"people": pd.concat([c1, c2], ignore_index=True), "offences": offences, "comparison": comparison}


def test_peterborough_cohort_1_alone_pays_nothing_at_interim(peterborough_data):
    s = settle(scheme("peterborough"), peterborough_data, as_of="2014-08-07")
    early = s.tranches.set_index(["tranche", "rule"]).loc[("cohort_1", "early")]
    assert early["estimate"] == pytest.approx(1 - 1.42 / 1.55, abs=1e-12)  # 8.4%
    assert early["n_treated"] == 1_000 and early["n_control"] == 10_000
    assert not early["met"] and s.total_pence == 0
    # The pooled rule is not applied to a lone cohort: it waits for final settlement.
    assert s.tranches.set_index(["tranche", "rule"]).loc[("pooled", "pooled"), "stage"] == "not due"


def test_peterborough_final_pooled_pays(peterborough_data):
    s = settle(scheme("peterborough"), peterborough_data, as_of="2017-07-27")
    rows = s.tranches.set_index(["tranche", "rule"])
    assert not rows.loc[("cohort_2", "early"), "met"]  # 9.8%: under the 10% early level
    pooled = rows.loc[("pooled", "pooled")]
    assert pooled["estimate"] == pytest.approx(((1 - 142 / 155) + (1 - 138 / 153)) / 2, abs=1e-12)  # 9.1%
    assert pooled["met"]
    # Events avoided: (1.55 - 1.42) * 1,000 + (1.53 - 1.38) * 1,000 = 280 at £2,000 (assumed), nothing paid before.
    assert pooled["events_avoided"] == pytest.approx(280, abs=1e-9)
    assert s.total_pence == 280 * 2_000 * 100
    assert pooled["amount_at_ci_low"] < pooled["amount_pence"] < pooled["amount_at_ci_high"]
    assert s.parties.set_index("party").loc["investors", "amount_pence"] == s.total_pence


@pytest.fixture(scope="module")
def doncaster_data() -> dict[str, pd.DataFrame]:
    c1 = cohort("D", 1_178, "2011-10-01", "2012-09-30")
    c2 = cohort("E", 1_178, "2012-10-01", "2013-09-30")
    reconvicted = np.r_[np.ones(616, int), np.zeros(1_178 - 616, int), np.ones(644, int), np.zeros(1_178 - 644, int)]
    people = pd.concat([c1, c2], ignore_index=True)
    return {"people": people, "offences": events(people["person_id"].to_numpy(), people["start_date"], reconvicted)}


def test_doncaster_cohort_1_is_paid_and_cohort_2_is_clawed_back(doncaster_data):
    s = settle(scheme("doncaster"), doncaster_data, as_of="2015-07-31")
    rows = s.tranches.set_index("tranche")
    assert rows.loc["cohort_1", "estimate"] == pytest.approx(0.58 - 616 / 1_178)  # 5.7 points
    # Met, and 0.709 points beyond 5 at the bonus's £333,333.33 a point (assumed): £235,993.21.
    bonus = (0.58 - 616 / 1_178 - 0.05) * 100 * 333_333.33
    assert rows.loc["cohort_1", "met"] and rows.loc["cohort_1", "amount_pence"] == round(bonus * 100)
    assert rows.loc["cohort_2", "estimate"] == pytest.approx(0.58 - 644 / 1_178)  # 3.3 points
    assert not rows.loc["cohort_2", "met"]
    # 10% of one cohort year's core contract value (33,333,333.33 over two cohort years) repaid.
    assert rows.loc["cohort_2", "amount_pence"] == -166_666_667
    assert s.ledger["kind"].tolist() == ["rule", "clawback"]
    assert s.parties.set_index("party").loc["prime", "amount_pence"] == round(bonus * 100) - 166_666_667


def test_outcome_money_goes_down_in_the_risk_shares_to_the_penny(doncaster_data):
    # The same settlement with two subcontractors who share the work half and half but the risk 70/30, the prime
    # keeping a 10% management fee: a clawback is outcome money, so it is split by the risk shares, not the work.
    base = scheme("doncaster")
    shared = replace(
        base.structure, management_fee=0.1, subcontractors={"a": 0.5, "b": 0.5}, risk_shares={"a": 0.7, "b": 0.3}
    )
    s = settle(replace(base, structure=shared), doncaster_data, as_of="2015-07-31")
    assert s.total_pence == -143_067_346
    # By hand: prime 10% = 14,306,734.6, a 63% = 90,132,427.98, b 27% = 38,628,183.42 pence; the floors leave 2
    # pence, which go to the largest remainders (a's .98, then the prime's .6), so the split sums exactly.
    split = s.parties.set_index("party")["amount_pence"].to_dict()
    assert split == {"commissioner": 143_067_346, "prime": -14_306_735, "a": -90_132_428, "b": -38_628_183}


def test_doncaster_point_estimate_pays_half_the_time_at_the_target():
    # A fixed baseline and a point-estimate rule: at a true fall of exactly 5 points the chance of
    # paying is 50% at any cohort size (the example against check's 56% "power").
    from metrics.thresholds import Contrast

    rule = scheme("doncaster").rules[0].payment_rule()
    for n in (300, 3_000):
        c = Contrast.from_rates("binary", 0.53, n, 0.58)
        assert rule.chance(c, -0.05) == pytest.approx(0.5, abs=1e-12)


def test_settlement_reconciles_and_reads_in_words(doncaster_data):
    s = settle(scheme("doncaster"), doncaster_data, as_of="2015-07-31")
    parties = s.parties.loc[s.parties["party"] != "commissioner", "amount_pence"].sum()
    assert s.total_pence == s.tranches["amount_pence"].sum() == parties
    assert "cohort_2 target (final)" in s.summary()
    assert s.to_dict()["total"] == pence_text(s.total_pence) == "-1430673.46"
    assert s.audit["baseline_version"] == "doncaster-2009-assumed-0.58"
    assert s.as_of == date(2015, 7, 31)


def test_unused_tables_are_listed_not_refused(doncaster_data):
    data = {**doncaster_data, "pool": pd.DataFrame({"person_id": ["x"]})}
    s = settle(scheme("doncaster"), data, as_of="2015-07-31")
    assert s.audit["unused"] == ["pool"]


def test_row_order_does_not_matter(doncaster_data):
    rng = np.random.default_rng(3)
    shuffled = {k: v.iloc[rng.permutation(len(v))] for k, v in doncaster_data.items()}
    a = settle(scheme("doncaster"), doncaster_data, as_of="2015-07-31")
    b = settle(scheme("doncaster"), shuffled, as_of="2015-07-31")
    assert a.ledger_csv() == b.ledger_csv() and a.figures() == b.figures()


def test_contract_round_trips():
    c = scheme("peterborough")
    again = Contract.from_mapping(c.to_dict())
    assert again.rules == c.rules and again.tranches == c.tranches and again.structure == c.structure


def test_events_after_the_settlement_date_and_offences_of_no_one_are_counted(peterborough_data):
    s = settle(scheme("peterborough"), peterborough_data, as_of="2014-08-07")
    reasons = s.exclusions.set_index("reason")["n"]
    offences = peterborough_data["offences"]
    later = (pd.to_datetime(offences["offence_date"]) > "2014-08-07") | (
        pd.to_datetime(offences["disposal_date"]) > "2014-08-07"
    )
    assert reasons["offence or disposal dated after the settlement date"] == int(later.sum()) > 0
    assert "person_id matches no one in people" not in reasons
    stray = pd.concat([offences, offences.iloc[:2].assign(person_id=["nobody", "nobody"])], ignore_index=True)
    s = settle(scheme("peterborough"), {**peterborough_data, "offences": stray}, as_of="2014-08-07")
    assert s.exclusions.set_index("reason").loc["person_id matches no one in people", "n"] == 2
    assert s.total_pence == 0
