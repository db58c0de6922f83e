"""Contract files: bad contracts get one message naming the file, the key and the rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from ground.errors import SpecError
from pricing import Contract, scheme, scheme_path, schemes
from pricing.structure import SECTOR_ASK

DONCASTER = scheme_path("doncaster").read_text()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "contract.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "change, key, words",
    [
        (("[rules.target]", "[rules.target]\nbogus = 1"), "rules.target.bogus", "must be among"),
        (("[tranches.cohort_2]", "[tranches.cohort_2_was]"), "rules.target.type", None),
        (
            ('disposals = ["conviction"]\nversion', 'disposals = ["conviction", "caution"]\nversion'),
            "counterfactual.baseline.disposals",
            "another definition",
        ),
        (
            (
                'measure = "binary"\ncounting = "offences"\ndisposals',
                'measure = "frequency"\ncounting = "offences"\ndisposals',
            ),
            "rules.target.measure",
            "another definition",
        ),
        (
            (
                "clawback_share = 0.10",
                "clawback_share = 0.10\nmanagement_fee_share = 0.1\nsubcontractors = {a = 0.5, b = 0.4}",
            ),
            "payment.subcontractors",
            "summing to 1",
        ),
        (
            (
                "clawback_share = 0.10",
                "clawback_share = 0.10\nmanagement_fee_share = 0.1\nsubcontractors = {a = 0.5, b = 0.5}\n"
                "risk_shares = {a = 0.5, c = 0.5}",
            ),
            "payment.risk_shares",
            "one share for each subcontractor (a, b)",
        ),
        (
            (
                "clawback_share = 0.10",
                "clawback_share = 0.10\nmanagement_fee_share = 0.1\nsubcontractors = {a = 0.5, b = 0.5}\n"
                "risk_shares = {a = 0.9, b = 0.2}",
            ),
            "payment.risk_shares",
            "summing to 1",
        ),
        (
            ("clawback_share = 0.10", "clawback_share = 0.10\nmanagement_fee_cap = 1.5"),
            "payment.management_fee_cap",
            "a share in [0, 1]",
        ),
        (
            ("clawback_share = 0.10", "clawback_share = 0.10\nrisk_shares = {a = -0.5}"),
            "payment.risk_shares.a",
            "a share in [0, 1]",
        ),
        (
            ("up_front_share = 1.0", "up_front_share = 0.8\nat_risk_share = 0.3"),
            "payment.at_risk_share",
            "must be at most 1 - up_front_share",
        ),
        (("service_fee = 33333333.33", "service_fee = -5"), "payment.service_fee", "an amount from 0 to"),
        (("service_fee = 33333333.33", "service_fee = inf"), "payment.service_fee", "finite"),
        (("at_least = 0.05", "at_least = nan"), "rules.target.at_least", "finite"),
        # Money beyond £10bn: no contract's figure, and a ledger of it would overflow whole pence in 64 bits.
        (("service_fee = 33333333.33", "service_fee = 1e308"), "payment.service_fee", "£10,000,000,000"),
        (("at_least = 0.05", "at_least = 0.05\namount = 2e10"), "rules.target.amount", "10,000,000,000]"),
        (
            (
                '[cohort]\neligible = "deported == false and time_served == false and breach == false"',
                "[cohort]\neligible = \"__import__('os')\"",
            ),
            "cohort.eligible",
            "not allowed",
        ),
    ],
)
def test_bad_contract_names_file_key_and_rule(tmp_path, change, key, words):
    old, new = change
    assert old in DONCASTER
    text = DONCASTER.replace(old, new, 1)
    if key == "rules.target.type":  # a pooled rule on one tranche
        text = DONCASTER.split("[tranches.cohort_2]")[0] + DONCASTER.split("final = 2015-07-31", 1)[1]
        text = text.replace('type = "tranche"', 'type = "pooled"')
        words = "pooled rule settles two or more tranches"
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        Contract.from_toml(path)
    assert info.value.key == key
    assert str(path) in str(info.value) and words in str(info.value)
    assert str(info.value).count(str(path)) == 1


def test_negative_price_is_refused(tmp_path):
    text = scheme_path("sector_ask").read_text().replace("accommodation = 600", "accommodation = -600")
    with pytest.raises(SpecError, match="payment.prices.accommodation.*price from 0 to"):
        Contract.from_toml(write(tmp_path, text))


def test_old_specs_load_as_contracts_or_say_what_to_change(tmp_path):
    # An old-layout spec with a price on the reoffending measure: say what to write instead.
    old = """[metric]\nname = "old"\n[reoffending]\nmeasure = "frequency"\nprice_key = "events"\n
[payment]\nat_risk_share = 1.0\n[payment.prices]\nevents = 700\n"""
    with pytest.raises(SpecError, match=r"\[rules.NAME\].*price_per_event = 700"):
        Contract.from_toml(write(tmp_path, old))
    # An old intermediate-outcomes spec (no rules) loads.
    plain = """[metric]\nname = "plain"\n[payment]\nservice_fee = 100.0\nup_front_share = 1.0\n"""
    assert Contract.from_toml(write(tmp_path, plain)).structure.service_fee == 100.0


def test_every_scheme_loads_and_cites_its_sources():
    assert schemes() == [
        "doncaster",
        "dwp_innovation_fund_1",
        "dwp_innovation_fund_2",
        "dwp_work_programme",
        "peterborough",
        "sector_ask",
        "skill_mill",
        "transforming_rehabilitation",
        "youth_justice",
    ]
    for name in schemes():
        c = scheme(name)
        assert c.spec.sources, name
        assert c.describe()


def test_one_definition_per_scheme_agrees_with_the_threshold_defaults():
    from metrics.thresholds import doncaster_rule, peterborough_rule

    pb = {r.name: r for r in scheme("peterborough").rules}
    assert pb["early"].at_least == peterborough_rule().at_least
    assert pb["pooled"].at_least == 0.075 and pb["pooled"].type == "pooled"
    assert scheme("doncaster").rules[0].at_least == doncaster_rule().at_least


def test_share_at_risk_counts_each_pound_once():
    # 70/30 with the 30% earned through the tariff: 30% at risk, not 30% plus the tariff.
    s = scheme("sector_ask").structure
    from dataclasses import replace

    valued = replace(s, outcome_budget=180_000.0)
    assert valued.shares()["at_risk"] == pytest.approx(0.30)
    assert valued.check() == []
    assert SECTOR_ASK["max_at_risk"] == 0.30


def test_dwp_groups_and_their_table_3_maxima():
    c = scheme("dwp_work_programme")
    assert len(c.spec.segments) == 9
    most = c.ratecard.prices_per_person()
    totals = {g: sum(most[k][g] for k in ("attachment", "job_outcome", "sustainment")) for g in most["attachment"]}
    table_3 = {
        "jsa_18_24": 3810,
        "jsa_25_plus": 4395,
        "jsa_early_access": 6600,
        "jsa_ex_ib": 6600,
        "esa_volunteers": 3700,
    }
    assert totals == table_3 == c.ratecard.max_per_person
    assert {r.name: r.spells for r in c.ratecard.rules}["sustainment"] == "employment"


#: Four independent mistakes in Doncaster's contract, each with the key it must name.
MISTAKES = {
    "cohort.eligible": ('eligible = "deported', "eligible = \"__import__('os') and deported"),
    "tranches.cohort_2.end": ("end = 2013-09-30", "end = 2012-09-30"),
    "payment.service_fee": ("service_fee = 33333333.33", "service_fee = -5"),
    "payment.clawback_share": ("clawback_share = 0.10", "clawback_share = 10"),
}


def test_every_independent_mistake_is_reported_at_once(tmp_path):
    text = DONCASTER
    for old, new in MISTAKES.values():
        assert old in text
        text = text.replace(old, new, 1)
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        Contract.from_toml(path)
    message = str(info.value)
    assert {p.key for p in info.value.problems} == set(MISTAKES)
    assert message.startswith(f"{path}: 4 problems:") and message.count(str(path)) == 1
    assert all(f"'{key}'" in message or f"{key}:" in message for key in MISTAKES), message


def test_a_rule_is_not_blamed_for_its_tranche(tmp_path):
    # The rule is only checked against tranches that were read: its own mistake comes once the tranche is mended.
    text = DONCASTER.replace("final = 2015-07-31", "final = 2013-01-01").replace("at_least = 0.05", "at_least = nan")
    with pytest.raises(SpecError) as info:
        Contract.from_toml(write(tmp_path, text))
    assert info.value.key == "tranches.cohort_2.final" and not info.value.problems
    with pytest.raises(SpecError, match="rules.target.at_least"):
        Contract.from_toml(write(tmp_path, text.replace("final = 2013-01-01", "final = 2015-07-31")))


def test_spec_mistakes_and_contract_mistakes_come_together(tmp_path):
    # A negative price and a wrong currency (the spec's [payment]) beside a tranche's (the contract's): one error.
    text = scheme_path("sector_ask").read_text().replace("accommodation = 600", "accommodation = -600")
    text = text.replace('currency = "GBP"', "currency = 3").replace("final = 2026-03-31", "final = 1999-01-01")
    with pytest.raises(SpecError) as info:
        Contract.from_toml(write(tmp_path, text))
    keys = {p.key for p in info.value.problems}
    assert keys == {"payment.prices.accommodation", "payment.currency", "tranches.year_1.final"}, str(info.value)
