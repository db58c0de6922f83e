"""The built-in schemes replayed against their published figures, with the eligibility their sources give.

Sources as in pricing/schemes and docs/schemes.md. Figures the sources do not give (cohort sizes, dispersion, the
spread of events) are assumptions stated beside each test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pricing import scheme, settle
from tests.pricing.test_rule_money import counts
from tests.pricing.test_settlement import cohort, events

pytestmark = pytest.mark.filterwarnings("ignore::pricing.settlement_data.UnrecordedMeasureWarning")


# ------------------------------------------------------------------ Peterborough: who is in the cohort
def test_peterborough_leaves_out_longer_sentences_women_and_other_prisons(peterborough_data):
    """The issue's case: five men with 18-month sentences and 30 reconviction events each, added to cohort 1
    (1,420 events among 1,000), would turn 8.4% fewer events into a rise; the eligibility rule leaves them out."""
    people = peterborough_data["people"]
    extra = cohort("X", 5, "2011-01-01", "2011-01-05").assign(sentence_months=18)
    others = pd.concat(
        [
            cohort("W", 3, "2011-02-01", "2011-02-03").assign(sex="female"),
            cohort("Y", 2, "2011-03-01", "2011-03-02").assign(establishment="HMP Lowdham Grange"),
        ],
        ignore_index=True,
    )
    added = pd.concat([extra, others], ignore_index=True)
    offences = pd.concat(
        [peterborough_data["offences"], events(added["person_id"].to_numpy(), added["start_date"], np.full(10, 30))],
        ignore_index=True,
    )
    data = {**peterborough_data, "people": pd.concat([people, added], ignore_index=True), "offences": offences}
    s = settle(scheme("peterborough"), data, as_of="2014-08-07")
    early = s.tranches.set_index(["tranche", "rule"]).loc[("cohort_1", "early")]
    assert early["estimate"] == pytest.approx(1 - 1.42 / 1.55, abs=1e-12) and early["n_treated"] == 1_000
    assert s.exclusions.set_index("reason").loc["not eligible", "n"] == 10
    # Counted in, the ten would make it (1,420 + 300) / 1,010 = 1.703 events against 1.55: a rise of 9.9%.
    assert 1 - (1_420 + 300) / 1_010 / 1.55 == pytest.approx(-0.0987, abs=1e-4)


def test_peterborough_replays_8_4_percent_then_9_percent(peterborough_data):
    interim = settle(scheme("peterborough"), peterborough_data, as_of="2014-08-07")
    assert interim.tranches.set_index("tranche").loc["cohort_1", "estimate"] == pytest.approx(0.0839, abs=1e-4)
    assert interim.total_pence == 0  # no early payment (Civil Society, 7 August 2014)
    final = settle(scheme("peterborough"), peterborough_data, as_of="2017-07-27")
    pooled = final.tranches.set_index("tranche").loc["pooled"]
    assert pooled["estimate"] == pytest.approx(0.09, abs=0.002) and pooled["met"]  # 9% (Pioneers Post, 2017)


@pytest.fixture(scope="module")
def peterborough_data():
    from tests.pricing.test_settlement import peterborough_data as build

    return build.__wrapped__()


# ------------------------------------------------------------------ Doncaster: exclusions, and an account
@pytest.fixture(scope="module")
def doncaster_data():
    from tests.pricing.test_settlement import doncaster_data as build

    return build.__wrapped__()


def test_doncaster_leaves_out_its_exclusions_so_cohort_1_is_not_clawed_back(doncaster_data):
    """60 men deported on release, 20 sentenced to time served and 20 serving a breach sentence, all reconvicted,
    would put cohort 1 at (616 + 100) / 1,278 = 56.0%, 2.0 points below 58%: a second clawback."""
    excluded = pd.concat(
        [
            cohort("DEP", 60, "2011-11-01", "2012-01-31").assign(deported=True),
            cohort("TS", 20, "2011-11-01", "2012-01-31").assign(time_served=True),
            cohort("BR", 20, "2011-11-01", "2012-01-31").assign(breach=True),
        ],
        ignore_index=True,
    )
    offences = events(excluded["person_id"].to_numpy(), excluded["start_date"], np.ones(100, int))
    data = {
        "people": pd.concat([doncaster_data["people"], excluded], ignore_index=True),
        "offences": pd.concat([doncaster_data["offences"], offences], ignore_index=True),
    }
    s = settle(scheme("doncaster"), data, as_of="2015-07-31")
    rows = s.tranches.set_index("tranche")
    assert rows.loc["cohort_1", "n_treated"] == 1_178 and rows.loc["cohort_1", "met"]
    assert s.exclusions.set_index("reason").loc["not eligible", "n"] == 100
    assert (s.ledger["kind"] == "clawback").sum() == 1  # cohort 2 only: -£1,666,666.67
    assert 0.58 - (616 + 100) / 1_278 == pytest.approx(0.0198, abs=1e-4)


def test_doncaster_needs_its_exclusion_columns(doncaster_data):
    from ground.errors import DesistError

    with pytest.raises(DesistError, match="deported"):
        settle(scheme("doncaster"), {**doncaster_data, "people": doncaster_data["people"].drop(columns="deported")},
               as_of="2015-07-31")  # fmt: skip


def test_an_interim_settlement_leaves_out_people_who_started_after_it_and_counts_them(doncaster_data):
    later = cohort("L", 7, "2014-10-01", "2014-10-07")
    data = {**doncaster_data, "people": pd.concat([doncaster_data["people"], later], ignore_index=True)}
    with_them = settle(scheme("doncaster"), data, as_of="2014-08-07")
    without = settle(scheme("doncaster"), doncaster_data, as_of="2014-08-07")
    assert with_them.exclusions.set_index("reason").loc["start_date after the settlement date", "n"] == 7
    assert with_them.ledger_csv() == without.ledger_csv() and with_them.figures() == without.figures()
    # At the final settlement they have started, outside every tranche: counted so.
    final = settle(scheme("doncaster"), data, as_of="2015-07-31")
    assert final.exclusions.set_index("reason").loc["start_date outside every tranche", "n"] == 7


# ------------------------------------------------------------------ the Custody Pathfinder: bed nights
def young_people(n: int, nights: int, held: int = 20) -> dict:
    """``n`` young people on 1 October 2011; ``held`` of them spend ``nights`` nights in custody between them."""
    people = pd.DataFrame({"person_id": [f"Y{i:05d}" for i in range(n)], "start_date": pd.Timestamp("2011-10-01")})
    each = counts(held, nights)
    starts = pd.Timestamp("2012-01-01") + pd.to_timedelta(np.arange(held) * 20, unit="D")
    stays = pd.DataFrame(
        {
            "person_id": people["person_id"].iloc[:held].to_numpy(),
            "start": starts,
            "end": starts + pd.to_timedelta(each, unit="D"),
            "kind": np.where(np.arange(held) % 2 == 0, "remand", "sentenced"),
        }
    )
    return {"people": people, "custody": stays}


def test_west_yorkshire_beat_its_target_and_keeps_its_grant():
    """West Yorkshire: 28% and 42% fewer bed nights in the two years (CYP Now, 20 March 2015); about 35% over both.
    2,000 young people at the assumed baseline of 0.33 nights each would spend 660 nights; 35% fewer is 429."""
    s = settle(scheme("youth_justice"), young_people(2_000, 429), as_of="2014-03-31")
    row = s.tranches.iloc[0]
    assert row["estimate"] == pytest.approx(1 - 429 / 660, abs=1e-12) and row["met"]
    assert s.total_pence == 0


def test_a_site_whose_bed_nights_rose_repays_its_grant():
    """A site with 14% more bed nights (as one did in year 1: Ministry of Justice, first-year report, 2013)."""
    s = settle(scheme("youth_justice"), young_people(2_000, 752), as_of="2014-03-31")
    assert s.tranches.iloc[0]["estimate"] == pytest.approx(1 - 752 / 660, abs=1e-12)
    assert s.total_pence == -100_000_000  # the whole £1,000,000 grant (assumed amount), clawback share 1


# ------------------------------------------------------------------ Transforming Rehabilitation
def crc_cohort(n: int, reoffended: int, per_reoffender: float, predicted: float = 0.475) -> dict:
    days = pd.Series(pd.date_range("2015-10-01", "2015-12-31", periods=n).normalize())
    people = pd.DataFrame(
        {"person_id": [f"T{i:06d}" for i in range(n)], "start_date": days, "ogrs4_predicted": predicted}
    )
    per_person = np.r_[counts(reoffended, round(per_reoffender * reoffended)), np.zeros(n - reoffended, int)]
    return {"people": people, "offences": events(people["person_id"].to_numpy(), days, per_person)}


def test_transforming_rehabilitations_first_cohort_is_paid_for_45_6_against_47_5_percent():
    """October to December 2015, all CRCs: 45.6% reoffended against the 2011 baseline of 47.5% (MoJ, 27 October
    2017). 27,000 people (assumed), of the 2011 cohort's risk, 4.7 reoffences per reoffender (the year 1 figure)."""
    n = 27_000
    s = settle(scheme("transforming_rehabilitation"), crc_cohort(n, 12_312, 4.7), as_of="2017-10-27")
    rows = s.tranches.set_index(["tranche", "rule"])
    binary = rows.loc[("oct_dec_2015", "binary")]
    assert binary["treated_mean"] == pytest.approx(0.456) and binary["comparison_mean"] == pytest.approx(0.475)
    # Against the baseline's own interval: SE = sqrt(0.475 x 0.525 / 27,000) = 0.304 points; the lower 95% bound
    # of the 1.9-point fall is 1.9 - 1.645 x 0.304 = 1.40 points > 0: a significant reduction, paid.
    se = (0.475 * 0.525 / 27_000) ** 0.5
    assert binary["decision_value"] == pytest.approx(0.019 - 1.6448536269514722 * se, abs=1e-9)
    assert binary["met"] and binary["amount_pence"] == round(0.019 * n * 1_000 * 100)
    # Reoffences per reoffender rose, 4.7 against 4.2: nothing paid on frequency, and no deduction for it.
    frequency = rows.loc[("oct_dec_2015", "frequency")]
    assert frequency["treated_mean"] == pytest.approx(4.7, abs=1e-4) and not frequency["met"]
    assert frequency["amount_pence"] == 0 and frequency["hurdle_met"]
    assert (rows["stage"] == "not due").sum() == 2 * 17  # the other 17 quarters are not due yet


def test_a_crc_of_higher_risk_is_held_to_a_higher_baseline():
    """The same 45.6% from a cohort whose mean OGRS4/G3 prediction is 49.5% (2 points above the 2011 cohort's):
    the baseline adjusted by the difference is 49.5%, so the fall is 3.9 points."""
    s = settle(scheme("transforming_rehabilitation"), crc_cohort(27_000, 12_312, 4.7, 0.495), as_of="2017-10-27")
    binary = s.tranches.set_index(["tranche", "rule"]).loc[("oct_dec_2015", "binary")]
    assert binary["comparison_mean"] == pytest.approx(0.495, abs=1e-12)
    assert binary["estimate"] == pytest.approx(0.039, abs=1e-12)


def test_a_crc_whose_rate_rose_significantly_has_money_deducted():
    """Two CRCs had significant increases and deductions in the first cohort (MoJ, 27 October 2017): 1,300 people
    at 52% against 47.5% is a rise of 4.5 points, well outside the baseline's interval."""
    s = settle(scheme("transforming_rehabilitation"), crc_cohort(1_300, 676, 4.2), as_of="2017-10-27")
    binary = s.tranches.set_index(["tranche", "rule"]).loc[("oct_dec_2015", "binary")]
    assert binary["risen"] and not binary["met"]
    # 0.045 x 1,300 = 58.5 people added at £1,000 (assumed).
    assert binary["amount_pence"] == -round((0.52 - 0.475) * 1_300 * 1_000 * 100)
    assert "deduction" in s.ledger["kind"].tolist()
