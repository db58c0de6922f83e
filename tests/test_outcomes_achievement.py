"""Achievement rules on hand-built cohorts: every status and reason, every rule."""

import numpy as np
import pandas as pd
import pytest

from ground.errors import SchemaError, SpecError
from outcomes import (
    Improvement,
    ReliableChange,
    Sustained,
    Threshold,
    Transition,
    achievement,
    reliable_change_index,
    rule_from_dict,
    score,
)

START = pd.Timestamp("2024-01-01")
AS_OF = pd.Timestamp("2025-06-30")


def cohort(ids, late=()):
    """People starting on START; ids in ``late`` start so late their window is still open."""
    return pd.DataFrame(
        {"person_id": list(ids), "start_date": [START + pd.Timedelta(days=400 if i in late else 0) for i in ids]}
    )


def ladder(records, instrument="ladder_ete"):
    """records: (person, day after START, value)."""
    return score(
        pd.DataFrame(
            [(p, instrument, "ladder", v, START + pd.Timedelta(days=d)) for p, d, v in records],
            columns=["person_id", "instrument", "item", "score", "assessed_on"],
        ),
        instrument,
    )


def statuses(result):
    return result.per_person.set_index("person_id")["status"].astype(str).to_dict()


def test_threshold_needs_no_baseline_and_reports_each_status():
    people = cohort("ABCDEF", late="F")
    s = ladder(
        [
            ("A", 0, 3),
            ("A", 91, 7),  # reaches 7 on day 91: achieved
            ("B", 0, 3),
            ("B", 182, 6),  # 6 < 7: not achieved
            ("C", 100, 8),  # no baseline, but threshold does not need one: achieved
            ("D", 0, 9),
            ("D", 300, 9),  # only outside the window: not measurable
            ("E", 0, 2),
            ("E", 274, 9),  # day 274 is one past the window end 273
            ("F", 400 + 91, 9),  # window closes day 673 > AS_OF: not yet measurable
        ]
    )
    a = achievement(people, s, Threshold(at_least=7), window=(91, 273), as_of=AS_OF)
    assert statuses(a) == {
        "A": "achieved",
        "B": "not_achieved",
        "C": "achieved",
        "D": "not_measurable",
        "E": "not_measurable",
        "F": "not_yet_measurable",
    }
    pp = a.per_person.set_index("person_id")
    assert pp.loc["D", "reason"] == "no assessment in window (days 91..273)"
    assert pp.loc["F", "reason"] == "window not closed by as_of" and pp.loc["F", "achieved_so_far"]
    assert pp.loc["A", "achieved_on"] == START + pd.Timedelta(days=91)
    assert a.counts.to_dict() == {"achieved": 2, "not_achieved": 1, "not_yet_measurable": 1, "not_measurable": 2}
    assert a.counts.sum() == len(people)
    r = a.rate()
    assert (r.k, r.n) == (2, 3)
    # at_most, and both bounds together
    assert statuses(achievement(people, s, Threshold(at_most=6), as_of=AS_OF))["B"] == "achieved"
    assert statuses(achievement(people, s, Threshold(at_least=6, at_most=6), as_of=AS_OF))["A"] == "not_achieved"


def test_improvement_against_first_baseline_occasion():
    people = cohort("ABCD")
    s = ladder(
        [
            ("A", -10, 3),
            ("A", 20, 9),
            ("A", 120, 5),  # baseline is the FIRST in -30..30 (3): 5 - 3 = 2
            ("B", 0, 4),
            ("B", 120, 5),
            ("B", 200, 5),  # +1 only
            ("C", 120, 9),  # no baseline occasion
            ("D", 0, 4),
            ("D", 273, 6),  # +2 on the window's last day
        ]
    )
    a = achievement(people, s, Improvement(by=2), window=(91, 273), as_of=AS_OF)
    assert statuses(a) == {"A": "achieved", "B": "not_achieved", "C": "not_measurable", "D": "achieved"}
    pp = a.per_person.set_index("person_id")
    assert pp.loc["A", "baseline_value"] == 3 and pp.loc["A", "baseline_on"] == START - pd.Timedelta(days=10)
    assert pp.loc["C", "reason"] == "no baseline assessment (days -30..30)"


def test_reliable_change_index_hand_worked():
    # SD 5, r = .85: SE = 5 * sqrt(.15) = 1.93649; S_diff = sqrt(2) * SE = 2.73861.
    # A change of 10 gives 10 / 2.73861 = 3.65148; a change of 5 gives 1.82574 (< 1.96).
    assert reliable_change_index(15, 25, sd=5, reliability=0.85) == pytest.approx(3.651484, abs=1e-6)
    assert reliable_change_index(20, 15, sd=5, reliability=0.85) == pytest.approx(-1.825742, abs=1e-6)
    # The smallest reliable gain is 1.96 * 2.73861 = 5.3677 points.
    assert reliable_change_index(0, 5.3677, 5, 0.85) == pytest.approx(1.96, abs=1e-4)


def test_reliable_change_rule_uses_instrument_reliability_and_direction():
    # Rosenberg: answers raw r for all ten items give 5r + 5(3 - r) = 15 whatever r; so vary positives.
    def rows(person, day, positives_value):
        return [
            (
                person,
                "rosenberg",
                f"q{q}",
                positives_value if q in (1, 3, 4, 7, 10) else 1,
                START + pd.Timedelta(days=day),
            )
            for q in range(1, 11)
        ]

    # Totals: 5 * v + 5 * (3 - 1) = 5v + 10: v = 0 -> 10, v = 1 -> 15, v = 2 -> 20, v = 3 -> 25.
    data = (
        rows("A", 0, 0) + rows("A", 150, 3) + rows("B", 0, 1) + rows("B", 150, 2) + rows("C", 0, 3) + rows("C", 150, 0)
    )
    s = score(pd.DataFrame(data, columns=["person_id", "instrument", "item", "score", "assessed_on"]), "rosenberg")
    a = achievement(cohort("ABC"), s, ReliableChange(sd=5.0), as_of=AS_OF)
    # A: +15 (RCI 5.48) achieved; B: +5 (1.83) not reliable; C: -15, reliable but the wrong way.
    assert statuses(a) == {"A": "achieved", "B": "not_achieved", "C": "not_achieved"}
    # A looser reliability makes B's +5 reliable: r = .95: S_diff = sqrt(2) * 5 * sqrt(.05) = 1.5811; 5 / 1.58 = 3.16.
    assert statuses(achievement(cohort("B"), s, ReliableChange(sd=5.0, reliability=0.95), as_of=AS_OF)) == {
        "B": "achieved"
    }


def test_reliable_change_needs_a_reliability():
    acc = score(
        pd.DataFrame({"person_id": ["A"], "item": ["status"], "score": [1], "assessed_on": [START]}),
        "accommodation_status",
    )
    with pytest.raises(SpecError, match="needs a 'reliability'"):
        achievement(cohort("A"), acc, ReliableChange(sd=1.0), as_of=AS_OF)


def status_scores(records):
    return score(
        pd.DataFrame(
            [(p, "status", v, START + pd.Timedelta(days=d)) for p, d, v in records],
            columns=["person_id", "item", "score", "assessed_on"],
        ),
        "accommodation_status",
    )


TO_SETTLED = Transition(from_=["no_fixed_abode", "unsettled"], to="settled")


def test_transition_by_state_names():
    s = status_scores(
        [
            ("A", 0, 1),
            ("A", 120, 3),  # NFA -> settled
            ("B", 0, 2),
            ("B", 120, 2),  # stays unsettled
            ("C", 0, 3),
            ("C", 120, 3),  # settled already: cannot transition
            ("D", 0, 2),
            ("D", 20, 3),  # settled on day 20, before the window
        ]
    )
    a = achievement(cohort("ABCD"), s, TO_SETTLED, as_of=AS_OF)
    assert statuses(a) == {"A": "achieved", "B": "not_achieved", "C": "not_measurable", "D": "not_measurable"}
    pp = a.per_person.set_index("person_id")
    assert pp.loc["C", "reason"] == "baseline state not among the from-states"
    assert pp.loc["D", "reason"] == "no assessment in window (days 91..273)"
    assert Transition(from_=[1, 2], to=[3]).occasion_met(
        pd.Series([3.0, 3.0]), pd.Series([2.0, 3.0]), s.instrument, "score"
    ).tolist() == [True, False]
    with pytest.raises(SpecError, match="no_fixed_abode, unsettled, settled. Got 'housed'"):
        achievement(cohort("A"), s, Transition(from_="unsettled", to="housed"), as_of=AS_OF)


def test_sustained_needs_a_later_confirming_assessment_inside_the_window():
    s = status_scores(
        [
            ("A", 0, 2),
            ("A", 91, 3),
            ("A", 182, 3),  # settled day 91, still day 182 (91 on): achieved
            ("B", 0, 2),
            ("B", 91, 3),
            ("B", 150, 3),  # only 59 days on
            ("C", 0, 2),
            ("C", 91, 3),
            ("C", 182, 2),
            ("C", 273, 3),  # lapse in between, held again 182 on
            ("D", 0, 2),
            ("D", 300, 3),
            ("D", 380, 3),  # confirmation after the window end (365)
        ]
    )
    a = achievement(cohort("ABCD"), s, Sustained(TO_SETTLED, for_days=91), window=(91, 365), as_of=AS_OF)
    assert statuses(a) == {"A": "achieved", "B": "not_achieved", "C": "achieved", "D": "not_achieved"}
    assert a.per_person.set_index("person_id").loc["A", "achieved_on"] == START + pd.Timedelta(days=182)


def test_sustained_with_nobody_meeting_the_rule_is_not_achieved_not_an_error():
    """Regression: a window where nobody meets the inner rule (here the baseline
    window itself, where no transition can have happened yet) used to raise a
    pandas ambiguity error instead of giving statuses."""
    s = status_scores([("A", 0, 2), ("A", 20, 2), ("B", 0, 1), ("B", 25, 2)])
    a = achievement(cohort("AB"), s, Sustained(TO_SETTLED, for_days=91), window=(-30, 30), as_of=AS_OF)
    assert statuses(a) == {"A": "not_achieved", "B": "not_achieved"}


def test_unscorable_occasions_and_missing_start_are_not_measurable_with_reasons():
    data = [
        (p, "ladder_ete", "ladder", v, START + pd.Timedelta(days=d))
        for p, d, v in [("A", 0, 11), ("A", 120, 5), ("B", 0, 2), ("B", 120, 12)]
    ]
    s = score(pd.DataFrame(data, columns=["person_id", "instrument", "item", "score", "assessed_on"]), "ladder_ete")
    people = pd.DataFrame({"person_id": ["A", "B", "C"], "start_date": [START, START, pd.NaT]})
    a = achievement(people, s, Improvement(by=1), as_of=AS_OF)
    pp = a.per_person.set_index("person_id")
    assert pp["reason"].to_dict() == {
        "A": "baseline not scorable",
        "B": "no scorable assessment in window (days 91..273)",
        "C": "no start_date",
    }
    assert (pp["status"] == "not_measurable").all()
    assert a.reasons.sum() == 3


def test_as_of_hides_later_assessments_and_defaults_to_latest():
    s = ladder([("A", 0, 3), ("A", 120, 9)])
    early = achievement(cohort("A"), s, Threshold(at_least=7), window=(0, 90), as_of=START + pd.Timedelta(days=100))
    assert statuses(early) == {"A": "not_achieved"}
    assert achievement(cohort("A"), s, Threshold(at_least=7)).as_of == START + pd.Timedelta(days=120)


def test_rule_parameters_and_inputs_are_checked():
    with pytest.raises(SpecError, match="'by' parameter must be greater than 0"):
        Improvement(by=0)
    with pytest.raises(SpecError, match="within 1..10. Got 11"):
        achievement(cohort("A"), ladder([("A", 0, 3)]), Threshold(at_least=11))
    with pytest.raises(SpecError, match="end must not be before its start"):
        achievement(cohort("A"), ladder([("A", 0, 3)]), Threshold(at_least=5), window=(273, 91))
    with pytest.raises(SchemaError, match="must be unique"):
        achievement(cohort("AA"), ladder([("A", 0, 3)]), Threshold(at_least=5))
    with pytest.raises(SpecError, match="must be one of threshold, improvement"):
        rule_from_dict({"type": "better"})
    rule = rule_from_dict(
        {"type": "sustained", "for_days": 91, "rule": {"type": "transition", "from": ["unsettled"], "to": ["settled"]}}
    )
    assert rule == Sustained(Transition(from_=("unsettled",), to=("settled",)), for_days=91)
    assert rule_from_dict(rule.to_dict()) == rule


def test_counts_reconcile_on_a_larger_random_cohort():
    rng = np.random.default_rng(3)
    n = 400
    ids = [f"P{i:03d}" for i in range(n)]
    people = pd.DataFrame({"person_id": ids, "start_date": START + pd.to_timedelta(rng.integers(0, 500, n), unit="D")})
    days = rng.choice([0, 91, 182, 273], size=(n, 4))
    recs = pd.DataFrame({"person_id": np.repeat(ids, 4), "day": days.ravel(), "value": rng.integers(1, 11, 4 * n)})
    recs = recs.drop_duplicates(["person_id", "day"])
    starts = people.set_index("person_id")["start_date"]
    assess = pd.DataFrame(
        {
            "person_id": recs["person_id"],
            "item": "ladder",
            "score": recs["value"],
            "assessed_on": recs["person_id"].map(starts) + pd.to_timedelta(recs["day"], unit="D"),
        }
    )
    a = achievement(people, score(assess, "ladder_ete"), Improvement(by=2), as_of=AS_OF)
    assert a.per_person["person_id"].tolist() == ids
    assert a.counts.sum() == n
    closed = people["start_date"] + pd.Timedelta(days=273) <= AS_OF
    assert int(a.counts["not_yet_measurable"]) == int((~closed).sum())
    # Brute force, one person at a time, for the measurable people.
    pp = a.per_person.set_index("person_id")
    for pid in np.array(ids)[closed.to_numpy()]:
        mine = recs.loc[recs["person_id"] == pid].sort_values("day")
        base = mine.loc[mine["day"] == 0, "value"]
        win = mine.loc[mine["day"].between(91, 273), "value"]
        if base.empty or win.empty:
            assert pp.loc[pid, "status"] == "not_measurable"
        else:
            expected = "achieved" if (win - base.iloc[0] >= 2).any() else "not_achieved"
            assert pp.loc[pid, "status"] == expected, pid
