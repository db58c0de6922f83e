"""Rate cards (pricing.ratecard): prices by segment, ladders, volume caps, maxima, the contract cap, periods.

Each expected amount is worked by hand in the test from the rule it tests, in whole pence. People start on
2024-01-01; a claim is (person, outcome, day after the start, evidence).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ground.errors import SchemaError, SpecError
from pricing import Contract
from pricing.ratecard import cash_flow, payment_periods, ratecard_from_mapping, settle_claims
from pricing.ratecard_settlement import settle_contract_claims
from tests.outcomes.test_claims import AS_OF, START, claims

QUALIFICATIONS = {"l1": {"price": 700}, "l2": {"price": 2200}, "l3": {"price": 3300}}


def people(*ids: str, **columns) -> pd.DataFrame:
    return pd.DataFrame({"person_id": list(ids), "start_date": [START] * len(ids), "tranche": "t", **columns})


def settled(card: dict, frame, cohort, *, as_of=AS_OF, segment=None, cap=None, spells=None, segments=()):
    rates = ratecard_from_mapping(card, segments=segments)
    return settle_claims(rates, cohort, frame, people=cohort, index="start_date", as_of=as_of, segment=segment,
                         contract_cap=cap, spells=spells)  # fmt: skip


def paid(result) -> list[tuple[str, str, int, str]]:
    ledger = result.ledger
    return list(
        zip(
            ledger["person_id"],
            ledger["item"].astype(str),
            ledger["amount_pence"].tolist(),
            ledger["reason"].astype(str),
        )
    )


# ------------------------------------------------------------------ prices
def test_a_price_by_segment_with_a_default_and_an_unpriced_segment_reported_not_fatal():
    cohort = people("a", "b", "c")
    segment = pd.Series(pd.Categorical(["young", "old", "none"], categories=["young", "old", "none"]))
    card = {"outcomes": {"job": {"price": {"young": 1200, "old": 1000}}}}
    got = paid(settled(card, claims(("a", "job", 5), ("b", "job", 5), ("c", "job", 5)), cohort, segment=segment,
                       segments=("young", "old")))  # fmt: skip
    assert got == [
        ("a", "job", 120000, ""),
        ("b", "job", 100000, ""),
        ("c", "job", 0, "no price for the person's segment"),
    ]
    card["outcomes"]["job"]["price"]["default"] = 800
    got = paid(settled(card, claims(("c", "job", 5)), cohort, segment=segment, segments=("young", "old")))
    assert got == [("c", "job", 80000, "")]


def test_pounds_become_pence_rounded_half_up():
    got = paid(settled({"outcomes": {"x": {"price": 192.305}}}, claims(("a", "x", 1)), people("a")))
    assert got[0][2] == 19231


# ------------------------------------------------------------------ ladders
def test_a_highest_ladder_tops_up_to_the_highest_rung_and_refuses_a_lower_one():
    card = {"outcomes": QUALIFICATIONS, "ladders": {"q": {"rungs": ["l1", "l2", "l3"], "pays": "highest"}}}
    upwards = paid(settled(card, claims(("a", "l1", 10), ("a", "l2", 20), ("a", "l3", 30)), people("a")))
    assert [r[2] for r in upwards] == [70000, 150000, 110000]  # 700, then 2,200 - 700, then 3,300 - 2,200
    downwards = paid(settled(card, claims(("a", "l2", 10), ("a", "l1", 20)), people("a")))
    assert downwards == [("a", "l2", 220000, ""), ("a", "l1", 0, "not above a rung already achieved")]
    alone = paid(settled(card, claims(("a", "l3", 10)), people("a")))
    assert alone == [("a", "l3", 330000, "")]


def test_a_highest_ladder_accepts_a_free_first_rung_and_refuses_an_equal_one():
    card = {"outcomes": {"l0": {"price": 0}, "l1": {"price": 700}, "l2": {"price": 700}},
            "ladders": {"q": {"rungs": ["l0", "l1", "l2"]}}}  # fmt: skip
    free = paid(settled(card, claims(("a", "l0", 10)), people("a")))
    assert free == [("a", "l0", 0, "")]
    equal = paid(settled(card, claims(("a", "l2", 10), ("a", "l1", 20)), people("a")))
    assert equal == [("a", "l2", 70000, ""), ("a", "l1", 0, "not above a rung already achieved")]


def test_an_increment_ladder_pays_each_rung_less_the_one_below_claimed_or_not():
    card = {"outcomes": QUALIFICATIONS, "ladders": {"q": {"rungs": ["l1", "l2", "l3"], "pays": "increment"}}}
    every = settled(card, claims(("a", "l3", 10), ("a", "l1", 20), ("a", "l2", 30)), people("a"))
    assert [r[2] for r in paid(every)] == [110000, 70000, 150000]  # 3,300 - 2,200; 700; 2,200 - 700
    assert every.ledger["note"].astype(str).tolist() == [
        "increment over the rung below",
        "",
        "increment over the rung below",
    ]
    alone = paid(settled(card, claims(("a", "l2", 10)), people("a")))
    assert alone == [("a", "l2", 150000, "")]


def test_a_ladder_whose_prices_fall_is_refused():
    card = {"outcomes": {"l1": {"price": 900}, "l2": {"price": 500}}, "ladders": {"q": {"rungs": ["l1", "l2"]}}}
    with pytest.raises(SpecError, match="cost more the higher") as caught:
        ratecard_from_mapping(card, segments=())
    assert caught.value.key == "claims.ladders.q.rungs"


# ------------------------------------------------------------------ volume caps
def test_a_volume_cap_by_count_pays_the_first_claims_in_the_claim_order():
    card = {"outcomes": {"job": {"price": 100, "cap": 2}}}
    got = paid(settled(card, claims(("c", "job", 3), ("a", "job", 5), ("b", "job", 5)), people("a", "b", "c")))
    assert got == [("c", "job", 10000, ""), ("a", "job", 10000, ""), ("b", "job", 0, "over a volume cap")]


def test_a_volume_cap_by_share_rounds_the_count_down_without_float_noise():
    cohort = people(*[f"p{i:03d}" for i in range(100)])
    frame = claims(*[(f"p{i:03d}", "job", 5) for i in range(100)])
    # 0.29 * 100 is 28.999999999999996 in floating point: the cap is 29 claims, not 28.
    result = settled({"outcomes": {"job": {"price": 10, "cap_share": 0.29}}}, frame, cohort)
    assert (result.ledger["status"] == "accepted").sum() == 29
    both = settled({"outcomes": {"job": {"price": 10, "cap_share": 0.5, "cap": 7}}}, frame, cohort)
    assert (both.ledger["status"] == "accepted").sum() == 7


# ------------------------------------------------------------------ maxima and caps
def test_the_persons_maximum_cuts_the_claim_that_crosses_it_and_refuses_the_rest():
    card = {"max_per_person": 1000, "outcomes": {"x": {"price": 400, "times": 5}}}
    result = settled(card, claims(*[("a", "x", d) for d in (1, 2, 3, 4)]), people("a"))
    assert [r[2] for r in paid(result)] == [40000, 40000, 20000, 0]
    assert result.ledger["note"].astype(str).tolist()[2] == "cut from 400.00 to the person's maximum"
    assert result.ledger["reason"].astype(str).tolist()[3] == "over the person's maximum"


def test_a_claim_over_a_volume_cap_does_not_use_up_the_persons_maximum():
    card = {"max_per_person": 500, "outcomes": {"x": {"price": 400, "cap": 1}, "y": {"price": 300}}}
    got = paid(settled(card, claims(("b", "x", 1), ("a", "x", 2), ("a", "y", 3)), people("a", "b")))
    # a's x is over the volume cap (b took the one place), so a's y is paid in full: 300 <= 500.
    assert got == [("b", "x", 40000, ""), ("a", "x", 0, "over a volume cap"), ("a", "y", 30000, "")]


def test_the_contract_cap_pays_in_the_claim_order_until_it_is_spent():
    result = settled({"outcomes": {"x": {"price": 400}}}, claims(("a", "x", 1), ("b", "x", 2), ("c", "x", 3)),
                     people("a", "b", "c"), cap=80000)  # fmt: skip
    assert [r[2:] for r in paid(result)] == [(40000, ""), (40000, ""), (0, "over the contract cap")]
    cut = settled({"outcomes": {"x": {"price": 400}}}, claims(("a", "x", 1), ("b", "x", 2), ("c", "x", 3)),
                  people("a", "b", "c"), cap=90000)  # fmt: skip
    assert [r[2] for r in paid(cut)] == [40000, 40000, 10000]
    assert cut.ledger["note"].astype(str).tolist()[2] == "cut from 400.00 to the contract cap"


def test_each_note_is_a_category_in_text_order():
    card = {"max_per_person": 1000, "outcomes": {"x": {"price": 400, "times": 5}}}
    frame = claims(*[("b", "x", d) for d in (1, 2, 3)], *[("a", "x", d) for d in (4, 5, 6)], ("c", "x", 7))
    result = settled(card, frame, people("a", "b", "c"), cap=195000)
    # b's third claim meets b's maximum (200 of 400); a's third meets a's, then the contract cap (150 of 200).
    assert [r[2] for r in paid(result)] == [40000, 40000, 20000, 40000, 40000, 15000, 0]
    both = "cut from 400.00 to the person's maximum, then to the contract cap"
    person = "cut from 400.00 to the person's maximum"
    assert result.ledger["note"].astype(str).tolist() == ["", "", person, "", "", both, ""]
    assert result.ledger["note"].cat.categories.tolist() == ["", person, both]


# ------------------------------------------------------------------ periods and dating
def test_payment_periods_are_months_or_calendar_quarters_named_by_their_first_day():
    days = np.array(["2024-03-31", "2024-04-01", "2024-12-31", "2025-01-01"], dtype="datetime64[D]").astype(np.int64)
    assert list(payment_periods(days, "quarterly")) == ["2024-01-01", "2024-04-01", "2024-10-01", "2025-01-01"]
    assert list(payment_periods(days, "monthly")) == ["2024-03-01", "2024-04-01", "2024-12-01", "2025-01-01"]


def test_each_ledger_row_carries_its_day_and_period_and_the_cash_flow_sums_them():
    card = {"periods": "quarterly", "outcomes": {"x": {"price": 100, "times": 9}}}
    result = settled(card, claims(("a", "x", 10), ("a", "x", 80), ("a", "x", 100), ("b", "x", 95)), people("a", "b"))
    ledger = result.ledger
    assert ledger["evidence_date"].astype(str).tolist() == ["2024-01-11", "2024-03-21", "2024-04-05", "2024-04-10"]
    assert ledger["period"].astype(str).tolist() == ["2024-01-01", "2024-01-01", "2024-04-01", "2024-04-01"]
    assert cash_flow(ledger).values.tolist() == [["2024-01-01", 2, 20000], ["2024-04-01", 2, 20000]]


def test_an_interim_settlement_pays_what_is_due_by_its_date_and_counts_the_rest():
    card = {"max_per_person": 500, "outcomes": {"x": {"price": 200, "times": 9}}}
    frame = claims(("a", "x", 10), ("a", "x", 100), ("a", "x", 200), ("a", "x", 300))
    interim = settled(card, frame, people("a"), as_of="2024-06-30")  # day 181: the first two are due
    final = settled(card, frame, people("a"))
    assert [r[2] for r in paid(interim)] == [20000, 20000]
    assert interim.left_out == [("claims", "achieved after the settlement date", 2)]
    assert final.left_out == [("claims", "rejected: over the person's maximum", 1)]
    assert [r[2] for r in paid(final)] == [20000, 20000, 10000, 0]


def test_sustainment_is_paid_every_four_weeks_from_the_job_outcome_up_to_its_count():
    card = {
        "outcomes": {
            "job": {"price": 1200},
            "sus": {"price": 170, "spells": "employment", "every_weeks": 4, "times": 3, "after": ["job"]},
        }
    }
    spells = pd.DataFrame({"person_id": ["a"], "kind": ["employment"], "start": [START], "end": [pd.NaT]})
    result = settled(card, claims(("a", "job", 182)), people("a"), spells=spells)
    ledger = result.ledger
    assert ledger["evidence_date"].astype(str).tolist() == ["2024-07-01", "2024-07-29", "2024-08-26", "2024-09-23"]
    assert ledger["amount_pence"].tolist() == [120000, 17000, 17000, 17000]
    assert ledger["evidence"].astype(str).tolist()[1] == "employment spell counted from 2024-07-01: payment 1"
    assert ledger["kind"].astype(str).tolist() == ["claim", "recurring", "recurring", "recurring"]


# ------------------------------------------------------------------ the contract keys
@pytest.mark.parametrize(
    ("card", "key"),
    [
        ({"outcomes": {"x": {"price": 1}}, "zz": 1}, "claims.zz"),
        ({"outcomes": {}}, "claims.outcomes"),
        ({}, "claims.outcomes"),
        ({"outcomes": {"x": {"price": 1, "zz": 1}}}, "claims.outcomes.x.zz"),
        ({"outcomes": {"x": {}}}, "claims.outcomes.x.price"),
        ({"outcomes": {"x": {"price": -1}}}, "claims.outcomes.x.price"),
        ({"outcomes": {"x": {"price": {"nobody": 1}}}}, "claims.outcomes.x.price.nobody"),
        ({"outcomes": {"x": {"price": 1, "times": 1.5}}}, "claims.outcomes.x.times"),
        ({"outcomes": {"x": {"price": 1, "times": 0}}}, "claims.outcomes.x.times"),
        ({"outcomes": {"x": {"price": 1, "after": "y"}}}, "claims.outcomes.x.after"),
        ({"outcomes": {"x": {"price": 1, "after": ["x"]}}}, "claims.outcomes.x.after"),
        ({"outcomes": {"x": {"price": 1, "after": ["y"]}}}, "claims.outcomes.x.after"),
        ({"outcomes": {"x": {"price": 1, "cap_share": 1.5}}}, "claims.outcomes.x.cap_share"),
        ({"outcomes": {"x": {"price": 1, "cap": -1}}}, "claims.outcomes.x.cap"),
        ({"outcomes": {"x": {"price": 1, "within_days": "a year"}}}, "claims.outcomes.x.within_days"),
        ({"outcomes": {"x": {"price": 1, "eligible": "age >>= 3"}}}, "claims.outcomes.x.eligible"),
        ({"outcomes": {"x": {"price": 1, "spells": "employment"}}}, "claims.outcomes.x.every_weeks"),
        ({"outcomes": {"x": {"price": 1, "every_weeks": 4}}}, "claims.outcomes.x.spells"),
        ({"outcomes": {"x": {"price": 1}}, "periods": "weekly"}, "claims.periods"),
        ({"outcomes": {"x": {"price": 1}}, "max_per_person": "lots"}, "claims.max_per_person"),
        ({"outcomes": {"x": {"price": 1}}, "ladders": {"q": {"rungs": ["x"]}}}, "claims.ladders.q.rungs"),
        ({"outcomes": {"x": {"price": 1}, "y": {"price": 2}}, "ladders": {"q": {"rungs": ["x", "y"], "pays": "all"}}},
         "claims.ladders.q.pays"),
        ({"outcomes": {"x": {"price": 1, "times": 2}, "y": {"price": 2}}, "ladders": {"q": {"rungs": ["x", "y"]}}},
         "claims.ladders.q.rungs"),
        ({"outcomes": {"x": {"price": 1}, "y": {"price": 2}, "z": {"price": 3}},
          "ladders": {"q": {"rungs": ["x", "y"]}, "r": {"rungs": ["y", "z"]}}}, "claims.ladders.r.rungs"),
    ],
)  # fmt: skip
def test_every_error_in_the_claims_section_names_its_key(card, key):
    with pytest.raises(SpecError) as caught:
        ratecard_from_mapping(card, segments=("young",))
    assert caught.value.key == key or caught.value.key.startswith(key), (caught.value.key, str(caught.value))
    assert key.split(".")[-1] in str(caught.value)


# ------------------------------------------------------------------ properties
CARD = {
    "max_per_person": 2500,
    "outcomes": {
        "a": {"price": 400, "times": 2},
        "b": {"price": 1200, "after": ["a"], "within_days": 300, "cap": 6},
        "c": {"price": 300, "cap_share": 0.3},
        **QUALIFICATIONS,
    },
    "ladders": {"q": {"rungs": ["l1", "l2", "l3"], "pays": "highest"}},
}
IDS = [f"p{i}" for i in range(8)]
claim_rows = st.lists(
    st.tuples(
        st.sampled_from(IDS + ["stranger"]),
        st.sampled_from(["a", "b", "c", "l1", "l2", "l3"]),
        st.integers(-5, 400),
        st.sampled_from(["e1", "e2", "e3"]),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=60)
@given(rows=claim_rows, seed=st.integers(0, 2**32 - 1), cap=st.sampled_from([None, 200000, 900000]))
def test_the_same_claims_in_any_row_order_give_the_same_ledger_and_caps_hold(rows, seed, cap):
    frame = claims(("p0", "a", 1), *rows)
    shuffled = frame.sample(frac=1, random_state=np.random.default_rng(seed)).reset_index(drop=True)
    cohort = people(*IDS)
    a = settled(CARD, frame, cohort, cap=cap).ledger
    b = settled(CARD, shuffled, cohort.iloc[::-1].reset_index(drop=True), cap=cap).ledger
    pd.testing.assert_frame_equal(a, b)
    per_person = a.groupby("person_id")["amount_pence"].sum()
    assert (per_person <= 250000).all()
    assert cap is None or a["amount_pence"].sum() <= cap
    assert (a["amount_pence"] >= 0).all() and set(a["status"].astype(str)) <= {"accepted", "rejected"}
    assert ((a["status"] == "rejected") == (a["reason"].astype(str) != "")).all()


@settings(max_examples=40)
@given(rows=claim_rows, cut=st.integers(0, 400))
def test_an_interim_ledger_is_the_final_ledger_up_to_its_date(rows, cut):
    frame, cohort = claims(("p0", "a", 0), *rows), people(*IDS)
    as_of = START + pd.Timedelta(days=cut)
    interim = settled(CARD, frame, cohort, as_of=as_of).ledger
    final = settled(CARD, frame, cohort).ledger
    due = final.loc[pd.to_datetime(final["evidence_date"].astype(str)) <= as_of].reset_index(drop=True)
    pd.testing.assert_frame_equal(interim.astype(str), due.astype(str))


# ------------------------------------------------------------------ segments, providers, links, the contract
def test_times_by_segment_counts_claims_and_payments_per_person():
    cohort = people("a", "b")
    segment = pd.Series(pd.Categorical(["young", "old"]))
    card = {"outcomes": {"x": {"price": 10, "times": {"default": 1, "young": 2}}}}
    got = paid(settled(card, claims(*[(p, "x", d) for p in "ab" for d in (1, 2, 3)]), cohort, segment=segment,
                       segments=("young", "old")))  # fmt: skip
    assert [(g[0], g[3]) for g in got] == [
        ("a", ""), ("b", ""), ("a", ""), ("b", "duplicate"), ("a", "duplicate"), ("b", "duplicate")
    ]  # fmt: skip
    spells = pd.DataFrame({"person_id": ["a", "b"], "kind": "work", "start": [START, START], "end": [pd.NaT, pd.NaT]})
    card = {"outcomes": {"s": {"price": 10, "spells": "work", "every_weeks": 1, "times": {"default": 2, "young": 3}}}}
    result = settled(card, claims(("a", "s", 1))[:0], cohort, segment=segment, spells=spells, segments=("young",))
    assert result.ledger.groupby("person_id").size().to_dict() == {"a": 3, "b": 2}


def test_the_provider_of_each_claim_is_in_the_ledger():
    frame = claims(("a", "x", 1), ("b", "x", 2))
    frame["provider_id"] = ["PRV01", "PRV02"]
    ledger = settled({"outcomes": {"x": {"price": 10}}}, frame, people("a", "b")).ledger
    assert ledger["provider_id"].tolist() == ["PRV01", "PRV02"]


def test_claims_none_of_which_names_anyone_are_refused_as_ids_written_differently():
    with pytest.raises(SchemaError, match="0 of 2 claims match a person_id in people"):
        settled({"outcomes": {"x": {"price": 10}}}, claims(("P-1", "x", 1), ("P-2", "x", 1)), people("P1", "P2"))


def test_what_the_tariff_and_rules_paid_comes_off_the_contract_cap_first():
    contract = Contract.from_mapping(
        {
            "metric": {"name": "capped"},
            "tranches": {"t": {"start": date(2024, 1, 1), "end": date(2024, 12, 31), "final": date(2025, 12, 31)}},
            "payment": {"outcome_cap": 1000},
            "claims": {"outcomes": {"x": {"price": 400, "times": 3}}},
        }
    )
    tables = {"people": people("a"), "claims": claims(("a", "x", 1), ("a", "x", 2), ("a", "x", 3))}
    alone = settle_contract_claims(contract, people("a"), tables, as_of=AS_OF)
    after = settle_contract_claims(contract, people("a"), tables, as_of=AS_OF, paid_before=50000)
    assert alone.ledger["amount_pence"].tolist() == [40000, 40000, 20000]
    assert after.ledger["amount_pence"].tolist() == [40000, 10000, 0]


def test_a_contract_with_claims_reads_them_and_needs_tranches():
    raw = {"metric": {"name": "x"}, "claims": {"outcomes": {"s": {"price": 1, "spells": "work", "every_weeks": 4}}}}
    with pytest.raises(SpecError, match=r"needs \[tranches.NAME\]"):
        Contract.from_mapping(raw)
    raw["tranches"] = {"t": {"start": date(2024, 1, 1), "end": date(2024, 12, 31), "final": date(2025, 12, 31)}}
    contract = Contract.from_mapping(raw)
    assert contract.tables == ("people", "claims", "spells") and "every 4 weeks of work spells" in contract.describe()


def test_the_ledger_csv_writes_each_amount_in_pounds_as_pence_text_does():
    from pricing.settlement import Settlement, pence_text

    ledger = pd.DataFrame({"item": ["a", "b", "c", "d"], "amount_pence": [-5, 0, 123456, 123456]})
    empty = pd.DataFrame()
    s = Settlement("x", date(2025, 1, 1), empty, empty, ledger, empty)
    assert s.ledger_csv() == "item,amount\na,-0.05\nb,0.00\nc,1234.56\nd,1234.56\n"
    assert s.ledger_csv().split("\n")[1:-1] == [
        f"{i},{pence_text(a)}" for i, a in zip(ledger["item"], ledger["amount_pence"])
    ]


def test_a_settlement_whose_ledger_was_written_pickles_with_the_same_ledger():
    # The ledger's CSV is kept in pieces once written (for its SHA-256): a copy of the settlement keeps them.
    import pickle

    from pricing.settlement import Settlement

    ledger = pd.DataFrame({"item": ["a", "b, c"], "amount_pence": [5, 250]})
    empty = pd.DataFrame()
    s = Settlement("x", date(2025, 1, 1), empty, empty, ledger, empty)
    assert s.ledger_bytes == b'item,amount\na,0.05\n"b, c",2.50\n'
    assert pickle.loads(pickle.dumps(s)).ledger_bytes == s.ledger_bytes
