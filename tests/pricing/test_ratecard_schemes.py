"""The rate-card schemes settled by hand: the Work Programme, the DWP Innovation Fund and the Skill Mill.

Each expected amount is worked in the test from the scheme's sources: Work and Pensions Committee HC 162
(2013-14), chapter 5, Table 3 for the Work Programme; the Government Outcomes Lab's INDIGO Impact Bond Dataset
for the Innovation Fund (INDIGO-POJ-0138 to 0147) and the Skill Mill (INDIGO-POJ-0195).
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from pricing import scheme, settle

TABLE_3 = {  # group: (attachment, job outcome, sustainment, total), HC 162 Table 3
    1: (400, 1200, 2210, 3810),
    2: (400, 1200, 2795, 4395),
    3: (400, 1200, 5000, 6600),
    4: (400, 1200, 5000, 6600),
    5: (400, 1000, 2300, 3700),
}


def work_programme(people: list[tuple[str, int, int]], as_of: str = "2014-05-31"):
    """People (id, payment group, weeks in work) attached on 1 June 2011, in work from 1 July 2011; each claims
    the attachment fee on the day and a job outcome when the weeks the group needs are reached."""
    attached, job_start = pd.Timestamp("2011-06-01"), pd.Timestamp("2011-07-01")
    frame = pd.DataFrame(
        {"person_id": [p[0] for p in people], "start_date": attached, "payment_group": [p[1] for p in people]}
    )
    claims, spells = [], []
    for person, group, weeks in people:
        claims.append((person, "attachment", attached, f"attachment {person}"))
        needed = 26 if group in (1, 2) else 13
        if weeks >= needed:
            claims.append((person, "job_outcome", job_start + pd.Timedelta(weeks=needed), f"employer letter {person}"))
        spells.append((person, "employment", job_start, job_start + pd.Timedelta(days=7 * weeks - 1)))
    data = {
        "people": frame,
        "claims": pd.DataFrame(claims, columns=["person_id", "outcome", "achieved_on", "evidence"]),
        "spells": pd.DataFrame(spells, columns=["person_id", "kind", "start", "end"]),
    }
    return settle(scheme("dwp_work_programme"), data, as_of=as_of)


def test_a_jsa_18_24_person_in_work_60_weeks_is_paid_eight_four_weekly_sustainment_payments():
    s = work_programme([("a", 1, 60)])
    ledger = s.ledger
    # Attachment on 1 June 2011 (400); in work from 1 July 2011, the job outcome at 26 weeks, 30 December 2011
    # (1,200); then one payment for each further four weeks while the job lasts: 27 Jan, 24 Feb, 23 Mar, 20 Apr,
    # 18 May, 15 Jun, 13 Jul, 10 Aug 2012. The ninth would fall on 7 September, after the job ended on
    # 22 August (60 weeks from 1 July 2011). HC 162 Table 3 spreads JSA 18-24's 2,210 over 13 payments of 170.
    assert ledger["evidence_date"].astype(str).tolist() == [
        "2011-06-01", "2011-12-30", "2012-01-27", "2012-02-24", "2012-03-23",
        "2012-04-20", "2012-05-18", "2012-06-15", "2012-07-13", "2012-08-10",
    ]  # fmt: skip
    assert ledger["amount_pence"].tolist() == [40000, 120000] + [17000] * 8
    assert s.total_pence == (400 + 1200 + 8 * 170) * 100 == 296000
    # Paid month by month, when due: not 2,210 in one lump after a year in work.
    assert s.cash_flow()["amount_pence"].tolist() == [40000, 120000] + [17000] * 8


def test_a_person_in_work_throughout_reaches_the_table_3_maximum_of_each_group():
    # 130 weeks: enough for 20 payments after a 26-week job outcome (26 + 20 * 4 = 106 weeks).
    s = work_programme([(f"g{g}", g, 130) for g in TABLE_3])
    paid = s.ledger.groupby("person_id")["amount_pence"].sum().to_dict()
    assert paid == {f"g{g}": TABLE_3[g][3] * 100 for g in TABLE_3}
    sustainment = s.ledger.loc[s.ledger["item"] == "sustainment"]
    # 13 payments for JSA 18-24, 20 for the others; nothing beyond, though 130 weeks would allow more.
    assert sustainment.groupby("person_id").size().to_dict() == {"g1": 13, "g2": 20, "g3": 20, "g4": 20, "g5": 20}


def test_a_person_in_an_unpriced_group_is_reported_and_the_rest_are_settled():
    s = work_programme([("a", 1, 60), ("z", 7, 60)])
    z = s.ledger.loc[s.ledger["person_id"] == "z"]
    assert (z["amount_pence"] == 0).all() and set(z["reason"].astype(str)) == {"no price for the person's segment"}
    assert s.total_pence == 296000
    left = {(e.step, e.reason): e.n for e in s.exclusions.itertuples()}
    # Group 7's job outcome comes at 13 weeks: attachment, job outcome and 11 payments ((60 - 13) // 4).
    assert left[("claims", "rejected: no price for the person's segment")] == len(z) == 13


def test_an_interim_settlement_pays_the_sustainment_due_by_its_date():
    s = work_programme([("a", 1, 60)], as_of="2012-03-31")
    # Due by 31 March 2012: the attachment, the job outcome and the payments of 27 Jan, 24 Feb and 23 Mar.
    assert s.total_pence == (400 + 1200 + 3 * 170) * 100


def innovation_fund(name: str, claims: list[tuple[str, int]]):
    people = pd.DataFrame({"person_id": ["a"], "start_date": pd.to_datetime(["2013-01-07"])})
    frame = pd.DataFrame(
        {
            "person_id": "a",
            "outcome": [c[0] for c in claims],
            "achieved_on": [pd.Timestamp("2013-01-07") + pd.Timedelta(days=c[1]) for c in claims],
            "evidence": [f"certificate {i}" for i in range(len(claims))],
        }
    )
    return settle(scheme(name), {"people": people, "claims": frame}, as_of="2015-09-30")


def test_innovation_fund_round_1_pays_a_person_at_most_8200():
    claims = [("improved_behaviour", 100), ("improved_attendance", 110), ("nqf_level_1", 200), ("job_13", 300),
              ("nqf_level_2", 400), ("job_26", 420), ("esol", 500)]  # fmt: skip
    s = innovation_fund("dwp_innovation_fund_1", claims)
    # 1,300 + 800 + 700 + 2,600 = 5,400; level 2 (2,200) makes 7,600; the 26-week job (1,000) is cut to the
    # 600 left under 8,200; ESOL (1,200) is over the maximum.
    assert s.ledger["amount_pence"].tolist() == [130000, 80000, 70000, 260000, 220000, 60000, 0]
    assert s.ledger["note"].astype(str).tolist()[5] == "cut from 1000.00 to the person's maximum"
    assert s.ledger["reason"].astype(str).tolist()[6] == "over the person's maximum"
    assert s.total_pence == 820000


def test_innovation_fund_round_2_pays_a_person_at_most_11700_and_the_26_week_job_only_after_the_13():
    claims = [("job_26", 50), ("nqf_level_3", 100), ("nqf_level_2", 200), ("job_13", 300), ("improved_attitude", 310),
              ("job_26", 400), ("basic_skills", 500)]  # fmt: skip
    s = innovation_fund("dwp_innovation_fund_2", claims)
    # The first 26-week claim comes before any 13-week job outcome. Then 5,100 + 3,300 + 3,500 = 11,900 is
    # already past 11,700: the 13-week job is cut to 3,300 and nothing more is paid.
    assert s.ledger["reason"].astype(str).tolist() == [
        "prerequisite missing", "", "", "", "over the person's maximum", "over the person's maximum",
        "over the person's maximum",
    ]  # fmt: skip
    assert s.ledger["amount_pence"].tolist() == [0, 510000, 330000, 330000, 0, 0, 0]
    assert s.total_pence == 1170000


SKILL_MILL_RESULTS = {  # INDIGO-POJ-0195 results, August 2020 to September 2024: outcomes achieved
    "registration": 242,
    "four_weeks": 237,
    "completion": 179,
    "level_2_award": 185,
    "work_or_training": 74,
    "not_reconvicted": 162,
}
SKILL_MILL_PRICES = {"registration": 4390, "four_weeks": 1310, "completion": 8240, "level_2_award": 9340,
                     "work_or_training": 430, "not_reconvicted": 320}  # fmt: skip


def test_the_skill_mills_published_results_at_its_prices_meet_its_cap():
    ids = [f"Y{i:03d}" for i in range(252)]
    people = pd.DataFrame({"person_id": ids, "start_date": pd.Timestamp("2021-01-04"), "age": 17})
    days = {"registration": 0, "four_weeks": 28, "completion": 150, "level_2_award": 160, "work_or_training": 170,
            "not_reconvicted": 365}  # fmt: skip
    rows = [
        (ids[i], outcome, pd.Timestamp("2021-01-04") + pd.Timedelta(days=days[outcome]), f"{outcome} {i}")
        for outcome, n in SKILL_MILL_RESULTS.items()
        for i in range(n)
    ]
    claims = pd.DataFrame(rows, columns=["person_id", "outcome", "achieved_on", "evidence"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = settle(scheme("skill_mill"), {"people": people, "claims": claims}, as_of="2024-11-30")
    at_prices = sum(SKILL_MILL_PRICES[o] * n for o, n in SKILL_MILL_RESULTS.items())
    assert at_prices == 4_659_370  # more than the cap: INDIGO's actual payments were 3,159,820
    # In the claim order: registrations 1,062,380, four weeks 310,470, completions 1,474,960 (2,847,810 in all);
    # 393,966 is left: 42 Level 2 awards (392,280), the 43rd cut to 1,686, and everything after over the cap.
    assert s.total_pence == 3_241_776 * 100
    cut = s.ledger.loc[s.ledger["note"].astype(str) != ""]
    assert cut[["person_id", "item", "amount_pence"]].values.tolist() == [["Y042", "level_2_award", 168600]]
    over = (s.ledger["reason"].astype(str) == "over the contract cap").sum()
    assert over == (185 - 43) + 74 + 162
    # Quarterly periods: the registrations in the quarter from January 2021, everything else after.
    flow = s.cash_flow()
    assert (
        flow["period"].tolist()[0] == "2021-01-01"
        and flow["amount_pence"].tolist()[0] == (242 * 4390 + 237 * 1310) * 100
    )


@pytest.mark.parametrize("name", ["dwp_work_programme", "dwp_innovation_fund_1", "dwp_innovation_fund_2", "skill_mill"])
def test_every_rate_card_scheme_cites_its_sources_and_marks_what_it_assumes(name):
    contract = scheme(name)
    sources = " ".join(contract.spec.sources)
    assert contract.ratecard is not None and contract.spec.sources
    assert contract.assumed  # what no source gives, with the reason: desist check lists it under "Assumed figures"
    if name != "dwp_work_programme":
        assert "Government Outcomes Lab, INDIGO Impact Bond Dataset" in sources and "INDIGO-POJ-0" in sources
    else:
        assert "HC 162" in sources and "Table 3" in sources
