"""Contract simulation: analytic means, timing, cash to each party, reproducibility."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from ground.errors import ParameterError
from ground.memo import Memo
from pricing import (
    REOFFENDING_LAG_MONTHS,
    PaymentStructure,
    Target,
    Tariff,
    scheme,
    simulate_contract,
)

TIMING = {"settled": (3, 9), "no_reoffence": REOFFENDING_LAG_MONTHS}


def cohort(n=400, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "segment": rng.choice(["easy", "hard"], n),
            "p_settled": rng.uniform(0.2, 0.8, n),
            "p_no_reoffence": rng.uniform(0.3, 0.8, n),
        }
    )


TARIFF = Tariff.from_dict({"settled": 300.0, "no_reoffence": {"easy": 800.0, "hard": 2000.0}})


def test_simulated_mean_agrees_with_analytic_expectation():
    c = cohort()
    s = PaymentStructure(service_fee=200_000.0, up_front_share=0.7)
    draws = 4_000
    sim = simulate_contract(None, c, TARIFF, s, draws=draws, seed=11, timing=TIMING)
    prices = TARIFF.person_prices(c["segment"], ["settled", "no_reoffence"]).to_numpy()
    p = c[["p_settled", "p_no_reoffence"]].to_numpy()
    expected = (p * prices).sum()
    assert sim.expected_outcome_payments == pytest.approx(expected)
    se = np.sqrt((p * (1 - p) * prices**2).sum() / draws)
    z = (sim.total_paid.mean() - 200_000.0 - expected) / se
    assert abs(z) < 4.0  # |z| >= 4 has probability 6e-5 if the simulation is right
    # The draw-to-draw spread matches the Bernoulli variance too (within 10%).
    assert sim.total_paid.std() == pytest.approx(np.sqrt(sim.outcome_payments_variance), rel=0.1)
    counts = sim.outcome_counts.mean(axis=0)
    assert_allclose(counts, p.sum(axis=0), rtol=0.01)


def test_same_seed_same_answer():
    c = cohort()
    s = PaymentStructure(service_fee=1e5, up_front_share=0.7, at_risk_share=0.1, target=Target("no_reoffence", 0.55))
    a = simulate_contract(None, c, TARIFF, s, draws=500, seed=3, timing=TIMING, costs={"easy": 400, "hard": 900})
    b = simulate_contract(None, c, TARIFF, s, draws=500, seed=3, timing=TIMING, costs={"easy": 400, "hard": 900})
    other = simulate_contract(None, c, TARIFF, s, draws=500, seed=4, timing=TIMING, costs={"easy": 400, "hard": 900})
    for party in a.parties:
        np.testing.assert_array_equal(a.flows[party], b.flows[party])
    assert not np.array_equal(a.flows["prime"], other.flows["prime"])


def test_a_memo_reprices_its_draws_and_gives_what_a_fresh_simulation_gives():
    """The designer's memo: the draws made once, priced again; anything the draws depend on draws again."""
    c, s = cohort(), PaymentStructure(service_fee=1e5, up_front_share=0.7)
    dearer = Tariff.from_dict({"settled": 450.0, "no_reoffence": {"easy": 700.0, "hard": 2600.0}})
    other = c.assign(p_settled=c["p_settled"].to_numpy()[::-1])
    regrouped = c.assign(segment=np.where(c["segment"] == "easy", "hard", "easy"))

    def run(people, tariff, seed=3, costs=None):
        return simulate_contract(None, people, tariff, s, draws=300, seed=seed, timing=TIMING, costs=costs)

    memo = Memo()
    with memo.active():
        remembered = [run(c, TARIFF), run(c, dearer), run(other, dearer), run(regrouped, dearer), run(c, dearer, 4)]
        remembered.append(run(c, dearer, costs={"easy": 400, "hard": 900}))
    fresh = [run(c, TARIFF), run(c, dearer), run(other, dearer), run(regrouped, dearer), run(c, dearer, 4)]
    fresh.append(run(c, dearer, costs={"easy": 400, "hard": 900}))
    assert len(memo) == 5  # the second run took the first's draws
    for kept, new in zip(remembered, fresh, strict=True):
        for party in new.parties:
            np.testing.assert_allclose(kept.flows[party], new.flows[party], rtol=1e-12, atol=1e-6)
        np.testing.assert_array_equal(kept.outcome_counts, new.outcome_counts)
    assert not np.allclose(remembered[0].flows["prime"], remembered[1].flows["prime"])


def test_payment_timing_and_fee_schedule():
    # Everyone achieves; enrolment over 12 months, so reoffending money arrives in months 18..29
    # and the settled-accommodation money in months 3..20.
    c = cohort(n=50).assign(p_settled=1.0, p_no_reoffence=1.0)
    s = PaymentStructure(service_fee=120_000.0, up_front_share=0.5)
    sim = simulate_contract(None, c, TARIFF, s, draws=200, seed=1, timing=TIMING, enrol_months=12)
    paid = -sim.flows["commissioner"]
    fees = np.zeros(37)
    fees[0] = 60_000.0
    fees[1:13] = 5_000.0  # the other half in arrears over the 12 enrolment months
    outcome = paid - fees
    months_with_money = np.flatnonzero(outcome.sum(axis=0) > 0)
    assert months_with_money.min() == 3 and months_with_money.max() == 29
    reoffending_price = TARIFF.person_prices(c["segment"], ["no_reoffence"]).to_numpy().sum()
    assert outcome[:, 10:18].sum(axis=1).max() <= 300.0 * 50  # only settled money before month 18
    assert_allclose(outcome.sum(axis=1), 300.0 * 50 + reoffending_price)
    # Settled money is paid by month 11 + 9 = 20; from month 21 on only reoffending money remains.
    late = outcome[:, 21:].sum(axis=1)
    assert np.all(late <= reoffending_price + 1e-6) and late.mean() > 0
    assert np.all(outcome[:, 30:] == 0)


def test_later_column_holds_payments_after_the_horizon():
    c = cohort(n=20).assign(p_no_reoffence=1.0, p_settled=0.0)
    sim = simulate_contract(
        None, c, TARIFF, PaymentStructure(), draws=50, seed=2, timing=TIMING, months=20, enrol_months=6
    )
    paid = -sim.flows["commissioner"]
    total = TARIFF.person_prices(c["segment"], ["no_reoffence"]).to_numpy().sum()
    assert_allclose(paid.sum(axis=1), total)
    assert paid[:, 20].sum() > 0  # enrolled in month 2..5: paid in month 20..23, after the horizon
    assert sim.cash_flow("commissioner").index[-1] == "later"


def test_working_capital_hand_computed():
    # DWP-like: no fee; cost £1,000 per person spent over months 0-5; paid £1,500 at month 18.
    c = pd.DataFrame({"segment": ["a"] * 10, "p_job": 1.0})
    t = Tariff.from_dict({"job": {"a": 1500.0}})
    sim = simulate_contract(
        None, c, t, PaymentStructure(), draws=20, seed=0, timing={"job": 18}, enrol_months=1, costs={"a": 1000.0}
    )
    prime = sim.flows["prime"]
    assert_allclose(prime[:, :6], -10_000.0 / 6)
    assert_allclose(prime[:, 18], 15_000.0)
    assert_allclose(sim.peak_working_capital("prime"), 10_000.0)
    table = sim.party_table()
    assert table.at["prime", "p_loss"] == 0.0
    assert table.at["prime", "net_mean"] == pytest.approx(5_000.0)
    assert_allclose(sim.cost_per_outcome().at["job", "q50"], 1500.0)


def test_target_at_risk_fee_clawback_and_cap():
    c = cohort(n=100)
    met = Target("no_reoffence", 0.0)  # always met
    missed = Target("no_reoffence", 1.0)  # never met (probabilities < 1)
    fee = 100_000.0
    s_met = PaymentStructure(service_fee=fee, up_front_share=0.7, at_risk_share=0.2, target=met)
    sim = simulate_contract(None, c, None, s_met, draws=100, seed=5, timing=TIMING)
    assert sim.target_met.all()
    measured = 11 + REOFFENDING_LAG_MONTHS
    assert_allclose(-sim.flows["commissioner"][:, measured], 0.2 * fee)
    assert_allclose(sim.total_paid, fee)
    s_claw = PaymentStructure(service_fee=fee, up_front_share=1.0, clawback_share=0.1, target=missed)
    sim = simulate_contract(None, c, None, s_claw, draws=100, seed=5, timing=TIMING)
    assert not sim.target_met.any()
    assert_allclose(sim.flows["prime"][:, measured], -0.1 * fee)
    assert_allclose(sim.total_paid, 0.9 * fee)
    capped = PaymentStructure(cap=20_000.0)
    sim = simulate_contract(None, c, TARIFF, capped, draws=200, seed=5, timing=TIMING)
    assert sim.total_paid.max() == pytest.approx(20_000.0)
    assert sim.expected_outcome_payments > 20_000.0


def test_supply_chain_flows_pass_down_the_management_fee():
    c = cohort(n=200)
    s = PaymentStructure(
        service_fee=50_000.0,
        up_front_share=0.8,
        management_fee=0.15,
        subcontractors={"charity_a": 0.6, "charity_b": 0.4},
    )
    sim = simulate_contract(None, c, TARIFF, s, draws=300, seed=8, timing=TIMING)
    paid = -sim.flows["commissioner"]
    assert_allclose(sim.flows["prime"], 0.15 * paid)
    assert_allclose(sim.flows["charity_a"], 0.85 * 0.6 * paid)
    assert_allclose(sim.flows["charity_b"], 0.85 * 0.4 * paid)
    # With costs, subcontractors bear them in their shares and the prime none.
    costed = simulate_contract(None, c, TARIFF, s, draws=300, seed=8, timing=TIMING, costs=500.0)
    assert_allclose(costed.flows["prime"], sim.flows["prime"])
    assert_allclose(costed.flows["charity_a"].sum(axis=1), sim.flows["charity_a"].sum(axis=1) - 0.6 * 500.0 * 200)


def test_an_investor_carries_the_risk():
    c = cohort(n=300)
    capital = 300_000.0
    t = Tariff.from_dict({"no_reoffence": {"easy": 1200.0, "hard": 1200.0}})
    s = replace(scheme("peterborough").structure, service_fee=capital, cap=None, tariff=t)
    sim = simulate_contract(None, c, None, s, draws=500, seed=9, timing=TIMING, costs=capital / 300)
    assert sim.parties == ["commissioner", "investor", "prime"]
    assert_allclose(sim.flows["investor"][:, 0], -capital)
    assert_allclose(sim.flows["prime"].sum(axis=1), 0.0, atol=1e-6)  # funded in full, no outcome risk
    assert_allclose(sim.flows["investor"].sum(axis=1), sim.total_paid - capital)
    table = sim.party_table()
    # Expected repayment 1200 * sum(p) ~ 198k < 300k capital: the investor loses in (almost) every draw.
    assert table.at["investor", "p_loss"] > 0.99
    assert table.at["prime", "p_loss"] == 0.0


def test_results_render_and_errors():
    c = cohort(n=60)
    sim = simulate_contract(
        None,
        c,
        TARIFF,
        PaymentStructure(service_fee=1e4, up_front_share=1.0),
        draws=100,
        seed=1,
        timing=TIMING,
        costs=100.0,
    )
    text = sim.summary()
    assert "Commissioner pays" in text and "Cost per outcome" in text
    frame = sim.to_frame()
    assert set(frame["party"]) == {"commissioner", "prime"} and {"q05", "q95"} <= set(frame.columns)
    d = sim.to_dict()
    assert d["draws"] == 100 and "prime" in d["parties"]
    ax = sim.plot()
    assert len(ax.collections) >= 2
    with pytest.raises(ParameterError, match=r"month after enrolment for outcomes \['settled'\]"):
        simulate_contract(None, c, TARIFF, PaymentStructure(), draws=10, timing={"no_reoffence": 18})
    with pytest.raises(ParameterError, match=r"probability columns \['p_settled'\]"):
        simulate_contract(None, c.drop(columns="p_settled"), TARIFF, PaymentStructure(), draws=10, timing=TIMING)
    with pytest.raises(ParameterError, match="'party' parameter of ContractSimulation must be one of"):
        sim.cash_flow("investor")


def test_at_risk_fee_without_target_is_paid_pro_rata():
    c = cohort(n=150)
    fee = 100_000.0
    s = PaymentStructure(service_fee=fee, up_front_share=0.7, at_risk_share=0.2)
    sim = simulate_contract(None, c, TARIFF, s, draws=300, seed=4, timing=TIMING)
    ratio = np.minimum(sim.outcome_payments / sim.expected_outcome_payments, 1.0)
    assert 0.9 < ratio.mean() < 1.0 and ratio.min() < 1.0 and ratio.max() == 1.0
    assert_allclose(sim.total_paid, 0.8 * fee + sim.outcome_payments + 0.2 * fee * ratio)
    measured = 11 + REOFFENDING_LAG_MONTHS  # the last outcome paid: reoffending
    paid = -sim.flows["commissioner"]
    # Nothing of the withheld fee is paid before the last outcome is known.
    assert np.all(paid[:, :measured].sum(axis=1) <= 0.8 * fee + sim.outcome_payments + 1e-6)
    assert np.all(paid[:, measured] >= 0.2 * fee * ratio - 1e-6)


def test_dwp_work_programme_cash_flow():
    contract = scheme("dwp_work_programme")
    rng = np.random.default_rng(2)
    n = 300
    groups = ["jsa_18_24", "jsa_25_plus", "jsa_early_access"]
    c = pd.DataFrame(
        {"segment": rng.choice(groups, n), "p_attachment": 1.0, "p_job_outcome": 0.27, "p_sustainment": 0.2}
    )
    tariff = Tariff.from_dict(contract.ratecard.prices_per_person())
    # Attachment at once, the job outcome after 26 weeks (month 6), sustainment over months 7-24.
    timing = {"attachment": 0, "job_outcome": 6, "sustainment": (7, 24)}
    s = PaymentStructure.from_spec(contract.spec)
    sim = simulate_contract(None, c, tariff, s, draws=500, seed=1, timing=timing, costs=2_000.0, months=36)
    paid = -sim.flows["commissioner"]
    # Month 0 holds only attachment fees of those enrolling then; nothing but fees before month 6.
    assert np.all(paid[:, :6] % 400.0 == 0)
    prices = tariff.person_prices(c["segment"], ["attachment", "job_outcome", "sustainment"]).to_numpy()
    expected = (c[["p_attachment", "p_job_outcome", "p_sustainment"]].to_numpy() * prices).sum()
    assert sim.total_paid.mean() == pytest.approx(expected, rel=0.01)
    # Costs of £2,000 against about £1,400 expected income per person: the provider loses.
    assert sim.party_table().at["prime", "p_loss"] > 0.99
    assert np.all(sim.peak_working_capital("prime") > 0)


def test_effects_shift_probabilities_and_enrolment_is_uniform():
    c = pd.DataFrame({"segment": ["a"] * 240, "p_job": 0.30, "p_fee": 1.0})
    t = Tariff.from_dict({"job": {"a": 1000.0}, "fee": {"a": 12.0}})
    base = simulate_contract(None, c, t, PaymentStructure(), draws=50, seed=1, timing={"job": 6, "fee": 0})
    lifted = simulate_contract(
        None, c, t, PaymentStructure(), draws=50, seed=1, timing={"job": 6, "fee": 0}, effects={"job": 0.05, "fee": 0.5}
    )
    assert base.expected_outcome_payments == pytest.approx(240 * (0.30 * 1000 + 12))
    assert lifted.expected_outcome_payments == pytest.approx(240 * (0.35 * 1000 + 12))  # fee clipped at 1
    # A £12 fee every person earns on enrolment (no job money): fees per month / 12 = people enrolling
    # that month, uniform over the 12 enrolment months, 240 / 12 = 20 on average.
    enrolled = (
        -(
            simulate_contract(
                None, c.assign(p_job=0.0), t, PaymentStructure(), draws=400, seed=2, timing={"job": 6, "fee": 0}
            ).flows["commissioner"][:, :12]
        )
    ) / 12.0
    assert_allclose(enrolled.sum(axis=1), 240)
    assert_allclose(enrolled.mean(axis=0), 20.0, rtol=0.05)
    with pytest.raises(
        ParameterError, match=r"'effects' parameter of simulate_contract must be a mapping of outcomes drawn"
    ):
        simulate_contract(None, c, t, PaymentStructure(), draws=5, timing={"job": 6, "fee": 0}, effects={"x": 0.1})


def test_an_effect_beyond_one_is_refused_not_clipped():
    cohort = pd.DataFrame({"segment": ["a", "a"]})
    tariff = Tariff.from_dict({"job": {"a": 100.0}})
    structure = PaymentStructure(name="t", service_fee=0.0, up_front_share=0.0, at_risk_share=0.0)
    with pytest.raises(ParameterError, match=r"between -1 and 1.*'job': 2.0"):
        simulate_contract(
            None,
            cohort,
            tariff,
            structure,
            draws=10,
            seed=0,
            probabilities=pd.DataFrame({"job": [0.5, 0.5]}),
            effects={"job": 2.0},
        )
