"""check_design: every finding code has a case that triggers it and one that does not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import validation.design as design
from ground.findings import SEVERITIES
from outcomes.spec import MetricSpec
from validation import check_design

BASE = '[metric]\nname = "test"\n'


def _spec(body: str = "") -> MetricSpec:
    return MetricSpec.from_string(BASE + body)


def _codes(findings) -> list[str]:
    return [f.code for f in findings]


def _pool(n=4000, rate=0.45, seed=0, prior_max=30):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 60, n),
            "prior_offences": rng.integers(0, prior_max + 1, n),
            "reoffended": rng.random(n) < rate,
            "reoffences": rng.negative_binomial(2, 2 / (2 + 0.8), n),
        }
    )


def test_every_code_is_documented_with_its_reason():
    doc = design.__doc__
    for code in design.CODES:
        assert f"``{code}``" in doc, code


def _contact_spec(rule: str) -> MetricSpec:
    return _spec(f"""
[outcomes.contact]
instrument = "family_contact"
measure = "contact_frequency"
window = [91, 273]
[outcomes.contact.rule]
{rule}
""")


def test_deadweight():
    spec = _contact_spec('type = "threshold"\nat_least = 3')
    n = 100
    people = pd.DataFrame({"person_id": [f"p{i}" for i in range(n)], "start_date": pd.Timestamp("2024-01-01")})

    def data(high: int):
        score = np.where(np.arange(n) < high, 4.0, 1.0)
        assessments = pd.DataFrame(
            {
                "person_id": people["person_id"],
                "instrument": "family_contact",
                "item": "contact_frequency",
                "score": score,
                "assessed_on": pd.Timestamp("2024-01-05"),
            }
        )
        return {"people": people, "assessments": assessments, "as_of": pd.Timestamp("2025-06-01")}

    found = [f for f in check_design(spec, data(80)) if f.code == "deadweight"]
    assert len(found) == 1 and found[0].severity == "warning"
    assert found[0].evidence["share"] == pytest.approx(0.8) and found[0].evidence["n"] == n
    assert "deadweight" not in _codes(check_design(spec, data(30)))


def test_deadweight_ignores_change_rules():
    spec = _contact_spec('type = "improvement"\nby = 1')
    people = pd.DataFrame({"person_id": ["a"] * 1, "start_date": pd.Timestamp("2024-01-01")})
    assessments = pd.DataFrame(
        {
            "person_id": ["a"],
            "instrument": "family_contact",
            "item": "contact_frequency",
            "score": [4.0],
            "assessed_on": pd.Timestamp("2024-01-01"),
        }
    )
    assert "deadweight" not in _codes(check_design(spec, {"people": people, "assessments": assessments}))


def test_outcome_not_measurable():
    spec = _spec('[reoffending]\nmeasure = "frequency"\nfollow_up_days = 365\nwaiting_days = 182\n')
    found = [f for f in check_design(spec, contract_days=500) if f.code == "outcome_not_measurable"]
    assert len(found) == 1 and found[0].severity == "error"
    assert found[0].evidence == {"outcome": "reoffending", "last_day": 547, "contract_days": 500}
    assert "outcome_not_measurable" not in _codes(check_design(spec, contract_days=547))
    # Without a contract length the check says it did not run.
    skipped = [f for f in check_design(spec) if f.code == "not_checked"][0]
    assert "outcome_not_measurable" in skipped.evidence["checks"]


def test_binary_reoffending():
    found = check_design(_spec('[reoffending]\nmeasure = "binary"\n'))
    assert _codes(found)[0] == "binary_reoffending" and found[0].evidence["suggest"] == "frequency"
    assert "binary_reoffending" not in _codes(check_design(_spec('[reoffending]\nmeasure = "both"\n')))


@pytest.mark.parametrize(
    "payment, code",
    [
        ("up_front_share = 0.5\nat_risk_share = 0.2", "up_front_below_ask"),
        ("up_front_share = 0.8\nat_risk_share = 0.05", "at_risk_below_ask"),
        ("up_front_share = 0.6\nat_risk_share = 0.4", "at_risk_above_ask"),
    ],
)
def test_payment_shares(payment, code):
    assert code in _codes(check_design(_spec(f"[payment]\nservice_fee = 100000\n{payment}\n")))
    ok = _codes(check_design(_spec("[payment]\nservice_fee = 100000\nup_front_share = 0.7\nat_risk_share = 0.3\n")))
    assert code not in ok
    # Shares alone (no fee) are checked as shares.
    assert code in _codes(check_design(_spec(f"[payment]\n{payment}\n")))


def test_underpowered():
    spec = _spec('[reoffending]\nmeasure = "binary"\n')
    pool = _pool()
    tiny = [f for f in check_design(spec, {"pool": pool}, cohort_size=100) if f.code == "underpowered"]
    assert tiny[0].severity == "error" and tiny[0].evidence["power"] < 0.5
    from metrics.power import Design, power

    expected = power(Design("binary", float(pool["reoffended"].mean())), 100, -0.05).power
    assert tiny[0].evidence["power"] == pytest.approx(expected)
    mid = [f for f in check_design(spec, {"pool": pool}, cohort_size=1200) if f.code == "underpowered"]
    assert mid[0].severity == "warning" and 0.5 <= mid[0].evidence["power"] < 0.8
    assert "underpowered" not in _codes(check_design(spec, {"pool": pool}, cohort_size=5000))
    # Frequency: negative binomial shape from the pool's mean and variance.
    freq = [
        f
        for f in check_design(_spec('[reoffending]\nmeasure = "frequency"\n'), {"pool": pool}, cohort_size=300)
        if f.code == "underpowered"
    ][0]
    y = pool["reoffences"].to_numpy(dtype=float)
    assert freq.evidence["dispersion"] == pytest.approx(y.mean() ** 2 / (y.var(ddof=1) - y.mean()))


MARGIN_SPEC = """
[outcomes.ete]
instrument = "ladder_ete"
window = [91, 273]
price_key = "ete"
[outcomes.ete.rule]
type = "threshold"
at_least = 7
[segments.women]
where = "sex == 'female'"
[payment.prices]
ete = {prices}
"""


def _margin_data():
    n = 2000
    sex = np.where(np.arange(n) < 600, "female", "male")
    # Women achieve ETE at 20%, men at 60%.
    ete = np.where(sex == "female", np.arange(n) % 5 == 0, np.arange(n) % 5 < 3).astype(int)
    history = pd.DataFrame({"sex": sex, "ete": ete})
    people = pd.DataFrame({"sex": sex, "cost": 100.0})
    return {"people": people, "history": history}


def test_margin_gap():
    flat = _spec(MARGIN_SPEC.replace("{prices}", "400"))
    found = [f for f in check_design(flat, _margin_data()) if f.code == "margin_gap"]
    assert len(found) == 1
    ev = found[0].evidence
    assert (ev["easiest"], ev["hardest"]) == ("none", "women")
    assert ev["gap"] == pytest.approx(400 * 0.6 - 400 * 0.2) and ev["ci_low"] > 0
    # Women priced at three times the default: equal expected income per person.
    neutral = _spec(MARGIN_SPEC.replace("{prices}", "{ default = 400, women = 1200 }"))
    assert "margin_gap" not in _codes(check_design(neutral, _margin_data()))


def test_small_segment():
    spec = _spec("[segments.women]\nwhere = \"sex == 'female'\"\n")
    few = pd.DataFrame({"sex": ["female"] * 5 + ["male"] * 200})
    found = [f for f in check_design(spec, {"people": few}) if f.code == "small_segment"]
    assert found[0].evidence["n"] == 5 and "cannot be reported" in found[0].message
    some = pd.DataFrame({"sex": ["female"] * 40 + ["male"] * 200})
    assert (
        "Justice Data Lab" in [f for f in check_design(spec, {"people": some}) if f.code == "small_segment"][0].message
    )
    enough = pd.DataFrame({"sex": ["female"] * 80 + ["male"] * 200})
    assert "small_segment" not in _codes(check_design(spec, {"people": enough}))


def test_poor_overlap():
    spec = _spec()
    pool = _pool(prior_max=10)
    rng = np.random.default_rng(1)
    # Half the cohort has more prior offences than anyone in the pool.
    cohort = pd.DataFrame(
        {"age": rng.integers(18, 60, 300), "prior_offences": np.r_[rng.integers(0, 11, 150), rng.integers(12, 40, 150)]}
    )
    found = [f for f in check_design(spec, {"people": cohort, "pool": pool}) if f.code == "poor_overlap"]
    assert len(found) == 1 and found[0].severity == "warning"
    similar = _pool(n=300, seed=2, prior_max=10)[["age", "prior_offences"]]
    assert "poor_overlap" not in _codes(check_design(spec, {"people": similar, "pool": pool}))


def test_not_checked_and_ordering():
    spec = _spec('[reoffending]\nmeasure = "binary"\n[payment]\nup_front_share = 0.5\nat_risk_share = 0.2\n')
    found = check_design(spec, contract_days=100)
    severities = [f.severity for f in found]
    assert severities == sorted(severities, key=SEVERITIES.index)
    assert found[0].code == "outcome_not_measurable" and found[-1].code == "not_checked"
    assert {"underpowered", "poor_overlap"} <= set(found[-1].evidence["checks"])
    assert all(f.severity in SEVERITIES and f.code in design.CODES for f in found)
    assert check_design(_spec()) == []


def test_at_risk_share_counts_expected_outcome_payments():
    """The spec puts 20% of its fee at risk, inside the ask; its outcome payments
    are at risk too, and counted once people and a history are given."""
    spec = _spec("""
[outcomes.ete]
instrument = "ladder_ete"
window = [91, 273]
price_key = "ete"
[outcomes.ete.rule]
type = "threshold"
at_least = 7
[payment]
service_fee = 1000
up_front_share = 0.8
at_risk_share = 0.2
[payment.prices]
ete = 100
""")
    people = pd.DataFrame({"person_id": [f"p{i}" for i in range(20)], "start_date": pd.Timestamp("2024-01-01")})
    history = pd.DataFrame({"ete": [1.0] * 10 + [0.0] * 10})
    # Expected payments 20 x 0.5 x £100 = £1,000: at risk (200 + 1,000) / 2,000 = 60% of the contract.
    with_data = check_design(spec, {"people": people, "history": history})
    assert "at_risk_above_ask" in _codes(with_data)
    finding = next(f for f in with_data if f.code == "at_risk_above_ask")
    assert "60" in finding.message
    without = check_design(spec)
    assert "at_risk_above_ask" not in _codes(without)
    skipped = next(f for f in without if f.code == "not_checked")
    assert "at_risk_share" in skipped.evidence["checks"]


def test_deadweight_share_is_always_reported_with_the_spend():
    spec = _spec("""
[outcomes.contact]
instrument = "family_contact"
measure = "contact_frequency"
window = [91, 273]
price_key = "contact"
[outcomes.contact.rule]
type = "threshold"
at_least = 3
[payment.prices]
contact = 150
""")
    n = 100
    people = pd.DataFrame({"person_id": [f"p{i}" for i in range(n)], "start_date": pd.Timestamp("2024-01-01")})
    # 30 meet it at baseline and again in the window; 20 more reach it in the window.
    ids = people["person_id"]
    base = np.where(np.arange(n) < 30, 4.0, 1.0)
    later = np.where(np.arange(n) < 50, 4.0, 1.0)
    assessments = pd.DataFrame(
        {
            "person_id": np.r_[ids, ids],
            "instrument": "family_contact",
            "item": "contact_frequency",
            "score": np.r_[base, later],
            "assessed_on": np.r_[[pd.Timestamp("2024-01-05")] * n, [pd.Timestamp("2024-06-01")] * n],
        }
    )
    found = check_design(spec, {"people": people, "assessments": assessments, "as_of": pd.Timestamp("2025-06-01")})
    shares = [f for f in found if f.code == "deadweight_share"]
    assert "deadweight" not in _codes(found)  # 30% at baseline: under the warning level, still reported
    per_outcome = next(f for f in shares if "outcome" in f.evidence)
    assert per_outcome.evidence["paid"] == 50 and per_outcome.evidence["paid_already_met"] == 30
    overall = next(f for f in shares if "share_of_spend" in f.evidence)
    assert overall.evidence["share_of_spend"] == pytest.approx(0.6)


def test_check_contract_judges_its_own_rules_and_management_fee():
    from dataclasses import replace

    from pricing import scheme
    from validation.design import check_contract

    doncaster = scheme("doncaster")
    found = {f.code: f for f in check_contract(doncaster, draws=2_000)}
    chance = found["payment_chance"].evidence
    assert chance["against"] == "baseline"
    rules = {(r["rule"], r["scenario"]): r for r in chance["rules"]}
    # Fixed baseline, point estimate: nothing changed -> almost surely clawed back; at the target, half the
    # time per cohort.
    assert rules[("target", "none")]["p_clawback"] > 0.99
    assert rules[("target", "effect")]["p_clawback"] == pytest.approx(0.75, abs=0.03)
    pb = scheme("peterborough")
    pool = pd.DataFrame({"reoffences": np.random.default_rng(1).negative_binomial(2, 2 / 3.55, 5_000)})
    assert "payment_chance" in check_contract(pb, draws=200)[-1].evidence["checks"]  # no pool: not checked
    evidence = {f.code: f for f in check_contract(pb, {"pool": pool}, draws=2_000)}["payment_chance"].evidence
    assert evidence["against"] == "matched 1:10, caliper 0.2 SD"
    greedy = replace(pb, structure=replace(pb.structure, management_fee=0.6, subcontractors={"charity": 1.0}))
    assert "management_fee_above_ask" in [f.code for f in check_contract(greedy, draws=200)]
