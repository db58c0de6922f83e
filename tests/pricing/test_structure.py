"""Payment structures: the sector's ask at its boundaries, the supply chain, the built-in schemes."""

from dataclasses import replace

import pytest

from ground.errors import ParameterError
from outcomes.spec import MetricSpec
from pricing import PaymentStructure, Target, scheme

TARGET = Target("no_reoffence", 0.6)
FEE = 1_000_000.0


def codes(structure):
    return [f.code for f in structure.check()]


@pytest.mark.parametrize(
    ("up_front", "at_risk", "clawback", "expected"),
    [
        (0.70, 0.10, 0.0, []),  # exactly at both lower boundaries: inside
        (0.70, 0.10, 0.20, []),  # 30% at risk (withheld 10% + clawback 20%): inside
        (0.6999, 0.10, 0.0, ["up_front_below_ask"]),
        (0.70, 0.0999, 0.0, ["at_risk_below_ask"]),
        (0.70, 0.10, 0.2001, ["at_risk_above_ask"]),
        (0.70, 0.30, 0.0, []),
        (0.69, 0.31, 0.0, ["up_front_below_ask", "at_risk_above_ask"]),
    ],
)
def test_sector_ask_boundaries(up_front, at_risk, clawback, expected):
    s = PaymentStructure(
        service_fee=FEE, up_front_share=up_front, at_risk_share=at_risk, clawback_share=clawback, target=TARGET
    )
    assert codes(s) == expected


def test_at_risk_counts_outcome_payments():
    # 0.3 / 0.7 of the fee in expected outcome payments is exactly 30% of the contract.
    inside = PaymentStructure(service_fee=FEE, up_front_share=1.0, outcome_budget=FEE * 0.3 / 0.7)
    assert inside.shares()["at_risk"] == pytest.approx(0.30, abs=1e-12)
    assert codes(inside) == []
    above = PaymentStructure(service_fee=FEE, up_front_share=1.0, outcome_budget=FEE * 0.3002 / 0.6998)
    assert codes(above) == ["at_risk_above_ask"]
    finding = above.check()[0]
    assert finding.evidence["at_risk"] == pytest.approx(0.3002)
    assert "30.02% of the contract is at risk" in finding.message


CHAIN = PaymentStructure(
    service_fee=FEE, up_front_share=0.7, at_risk_share=0.2, target=TARGET, management_fee=0.15,
    subcontractors={"a": 0.6, "b": 0.4},
)  # fmt: skip


def test_the_fee_goes_down_in_the_fee_shares_and_the_outcome_money_in_the_risk_shares():
    uneven = replace(CHAIN, risk_shares={"a": 0.5, "b": 0.5})
    split = uneven.split(800_000.0, 200_000.0)
    # b: 85% of (40% of the fee + 50% of the outcome money).
    assert split == pytest.approx(
        {"prime": 150_000.0, "a": 0.85 * (480_000 + 100_000), "b": 0.85 * (320_000 + 100_000)}, rel=1e-12
    )
    assert sum(split.values()) == pytest.approx(1_000_000.0, rel=1e-12)
    # Without risk shares the outcome money goes down as the fee does.
    assert CHAIN.split(800_000.0, 200_000.0) == pytest.approx(CHAIN.pass_down(1_000_000.0), rel=1e-12)


@pytest.mark.parametrize(
    ("fee", "cap", "risk", "expected"),
    [
        (0.12, 0.12, None, []),  # at the cap: allowed
        (0.15, 0.12, None, ["management_fee_above_cap"]),
        (0.15, None, {"a": 0.6, "b": 0.4}, []),  # risk in the fee shares
        (0.15, None, {"a": 0.4, "b": 0.6}, ["risk_passed_down"]),
        (0.15, 0.10, {"a": 0.7, "b": 0.3}, ["management_fee_above_cap", "risk_passed_down"]),
    ],
)
def test_supply_chain_findings_at_their_boundaries(fee, cap, risk, expected):
    s = replace(CHAIN, management_fee=fee, management_fee_cap=cap, risk_shares=risk or {})
    found = [f for f in s.check() if f.code in ("management_fee_above_cap", "risk_passed_down")]
    assert [f.code for f in found] == expected
    severity = {"management_fee_above_cap": "error", "risk_passed_down": "warning"}
    assert all(f.severity == severity[f.code] for f in found)
    passed_down = [f.evidence["party"] for f in found if f.code == "risk_passed_down"]
    assert passed_down == [k for k, v in (risk or {}).items() if v > CHAIN.subcontractors[k]]


def test_management_fee_is_passed_down_as_stated():
    s = PaymentStructure(
        service_fee=FEE, up_front_share=1.0, management_fee=0.15, subcontractors={"charity_a": 0.6, "charity_b": 0.4}
    )
    split = s.pass_down(10_000.0)
    assert split == pytest.approx({"prime": 1_500.0, "charity_a": 5_100.0, "charity_b": 3_400.0}, abs=1e-9)
    assert sum(split.values()) == pytest.approx(10_000.0)
    assert s.shares()["front_line"] == pytest.approx(0.85)
    assert s.providers == ["charity_a", "charity_b"]
    assert s.parties == ["commissioner", "prime", "charity_a", "charity_b"]


def test_scheme_structures():
    pb = scheme("peterborough").structure
    assert pb.investor is not None and pb.up_front_share == 1.0
    assert codes(pb) == ["at_risk_below_ask"]  # the investor, not the provider, carries the risk
    dn = scheme("doncaster").structure
    assert dn.clawback_share == 0.10 and dn.clawback_rule and codes(dn) == []
    assert codes(scheme("youth_justice").structure) == ["at_risk_above_ask"]
    dwp = replace(scheme("dwp_work_programme").structure, outcome_budget=2e6)
    assert dwp.service_fee == 0
    assert codes(dwp) == ["up_front_below_ask", "at_risk_above_ask"]
    ask = replace(scheme("sector_ask").structure, outcome_budget=180_000.0)
    assert codes(ask) == [] and "within the sector's ask" in ask.summary()


def test_invalid_structures_are_errors():
    with pytest.raises(
        ParameterError,
        match="'target' parameter of PaymentStructure must be a Target.* when 'clawback_share' is above 0",
    ):
        PaymentStructure(service_fee=FEE, up_front_share=1.0, clawback_share=0.1)
    with pytest.raises(ParameterError, match="must be at most 1 - up_front_share"):
        PaymentStructure(service_fee=FEE, up_front_share=0.8, at_risk_share=0.3, target=TARGET)
    with pytest.raises(ParameterError, match=r"shares >= 0 summing to 1.*sum 0\.9"):
        PaymentStructure(service_fee=FEE, management_fee=0.1, subcontractors={"a": 0.5, "b": 0.4})
    with pytest.raises(ParameterError, match="'up_front_share' parameter of PaymentStructure must be a share"):
        PaymentStructure(service_fee=FEE, up_front_share=1.2)
    with pytest.raises(
        ParameterError, match="'management_fee' parameter of PaymentStructure must be 0 without 'subcontractors'"
    ):
        PaymentStructure(service_fee=FEE, management_fee=0.1)


def test_from_spec_reads_the_whole_payment_table():
    spec = MetricSpec.from_dict(
        {
            "metric": {"name": "m"},
            "payment": {
                "service_fee": FEE,
                "up_front_share": 0.7,
                "at_risk_share": 0.2,
                "currency": "GBP",
                "management_fee_share": 0.1,
                "subcontractors": {"a": 0.5, "b": 0.5},
                "investor": "fund",
            },
        }
    )
    s = PaymentStructure.from_spec(spec)
    assert s.subcontractors == {"a": 0.5, "b": 0.5} and s.investor.name == "fund" and s.management_fee == 0.1
