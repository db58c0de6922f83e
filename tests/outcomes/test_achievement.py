"""Achievement rules on hand-built cohorts: every status and reason, every rule."""

import numpy as np
import pandas as pd
import pytest

from ground.errors import ParameterError, SchemaError, SpecError
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


def _threshold_history():
    """Six people around a threshold of 7 in the window days 91..273, one of them (F) enrolled late."""
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
    return people, s


def test_threshold_needs_no_baseline_and_reports_each_status():
    people, s = _threshold_history()
    # Reported apart: D and E were not measured in the window and stay out of the rate.
    a = achievement(people, s, Threshold(at_least=7, unmeasured="apart"), window=(91, 273), as_of=AS_OF)
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
    assert a.counts.sum() == len(people) and a.unmeasured == 2
    r = a.rate()
    assert (r.k, r.n) == (2, 3)
    assert "Not measured though due: 2 (reported apart)" in a.summary()


def test_threshold_counts_the_unmeasured_as_not_achieved_by_default():
    people, s = _threshold_history()
    apart = achievement(people, s, Threshold(at_least=7, unmeasured="apart"), window=(91, 273), as_of=AS_OF)
    kept = achievement(people, s, Threshold(at_least=7), window=(91, 273), as_of=AS_OF)
    assert statuses(kept) | {"D": "x", "E": "x"} == statuses(apart) | {"D": "x", "E": "x"}
    assert statuses(kept)["D"] == statuses(kept)["E"] == "not_achieved"
    kp = kept.per_person.set_index("person_id")
    assert kp.loc["D", "reason"] == "no assessment in window (days 91..273)" and kp.loc["D", "unmeasured"]
    assert not kp.loc["B", "unmeasured"] and kp.loc["B", "reason"] == ""
    assert (kept.rate().k, kept.rate().n) == (2, 5) and kept.counts.sum() == len(people)
    assert "Not measured though due: 2 (counted as not achieved)" in kept.summary()


def test_threshold_at_most_and_both_bounds():
    people, s = _threshold_history()
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
    # C has no baseline: not measured, so not achieved (the default) with the reason.
    assert statuses(a) == {"A": "achieved", "B": "not_achieved", "C": "not_achieved", "D": "achieved"}
    pp = a.per_person.set_index("person_id")
    assert pp.loc["A", "baseline_value"] == 3 and pp.loc["A", "baseline_on"] == START - pd.Timedelta(days=10)
    assert pp.loc["C", "reason"] == "no baseline assessment (days -30..30)" and pp.loc["C", "unmeasured"]
    assert pp["occasions"].to_dict() == {"A": 1, "B": 2, "C": 1, "D": 1}


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
    with pytest.raises(
        ParameterError,
        match="'rule' parameter of achievement must be a rule this instrument .*needs a 'reliability'",
    ):
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
    # C was settled at baseline: not eligible, never unmeasured. D has nothing in the window.
    assert statuses(a) == {"A": "achieved", "B": "not_achieved", "C": "not_measurable", "D": "not_achieved"}
    assert a.per_person["unmeasured"].tolist() == [False, False, False, True]
    pp = a.per_person.set_index("person_id")
    assert pp.loc["C", "reason"] == "baseline state not among the from-states"
    assert pp.loc["D", "reason"] == "no assessment in window (days 91..273)"
    assert Transition(from_=[1, 2], to=[3]).occasion_met(
        pd.Series([3.0, 3.0]), pd.Series([2.0, 3.0]), s.instrument, "score"
    ).tolist() == [True, False]
    with pytest.raises(ParameterError, match="no_fixed_abode, unsettled, settled. Got 'housed'"):
        achievement(cohort("A"), s, Transition(from_="unsettled", to="housed"), as_of=AS_OF)


def test_sustained_needs_every_assessment_over_the_period_inside_the_window():
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
            ("C", 273, 3),  # a lapse in between: settled again on day 273 only
            ("D", 0, 2),
            ("D", 300, 3),
            ("D", 380, 3),  # confirmation after the window end (365)
        ]
    )
    a = achievement(cohort("ABCD"), s, Sustained(TO_SETTLED, for_days=91), window=(91, 365), as_of=AS_OF)
    assert statuses(a) == {"A": "achieved", "B": "not_achieved", "C": "not_achieved", "D": "not_achieved"}
    assert a.per_person.set_index("person_id").loc["A", "achieved_on"] == START + pd.Timedelta(days=182)
    # Counting any occasion does not rescue C either: no run of settled assessments spans 91 days.
    anyone = achievement(
        cohort("ABCD"), s, Sustained(TO_SETTLED, for_days=91, counts="any"), window=(91, 365), as_of=AS_OF
    )
    assert statuses(anyone) == statuses(a)


@pytest.mark.parametrize("counts", ["last", "any", "closest"])
def test_sustained_with_a_lapse_is_not_achieved(counts):
    """The issue's case: settled on day 100, no fixed abode on day 150, settled on day 200 is not
    "still settled 3 months on"; without the lapse it is."""
    s = status_scores(
        [("A", 0, 2), ("A", 100, 3), ("A", 150, 1), ("A", 200, 3), ("B", 0, 2), ("B", 100, 3), ("B", 200, 3)]
    )
    rule = Sustained(TO_SETTLED, for_days=91, counts=counts, target_day=200 if counts == "closest" else None)
    a = achievement(cohort("AB"), s, rule, window=(91, 365), as_of=AS_OF)
    assert statuses(a) == {"A": "not_achieved", "B": "achieved"}
    assert "contrary assessment in between" in rule.describe()


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
    # A and B were due a measurement and have none: not achieved. C has no start date at all.
    assert pp["status"].astype(str).to_dict() == {"A": "not_achieved", "B": "not_achieved", "C": "not_measurable"}
    assert pp["unmeasured"].to_dict() == {"A": True, "B": True, "C": False}
    assert a.reasons.sum() == 3
    apart = achievement(people, s, Improvement(by=1, unmeasured="apart"), as_of=AS_OF)
    assert (apart.per_person["status"] == "not_measurable").all()


def test_as_of_hides_later_assessments_and_defaults_to_latest():
    s = ladder([("A", 0, 3), ("A", 120, 9)])
    early = achievement(cohort("A"), s, Threshold(at_least=7), window=(0, 90), as_of=START + pd.Timedelta(days=100))
    assert statuses(early) == {"A": "not_achieved"}
    assert achievement(cohort("A"), s, Threshold(at_least=7)).as_of == START + pd.Timedelta(days=120)


def test_rule_parameters_and_inputs_are_checked():
    with pytest.raises(
        ParameterError, match=r"The 'by' parameter of Improvement must be a number in the range \(0, inf\)"
    ):
        Improvement(by=0)
    with pytest.raises(ParameterError, match="within 1..10. Got 11"):
        achievement(cohort("A"), ladder([("A", 0, 3)]), Threshold(at_least=11))
    with pytest.raises(ParameterError, match="The 'window' parameter of achievement must be two whole numbers"):
        achievement(cohort("A"), ladder([("A", 0, 3)]), Threshold(at_least=5), window=(273, 91))
    with pytest.raises(ParameterError, match="The 'counts' parameter of Improvement must be one of 'last', 'closest'"):
        Improvement(by=2, counts="best")
    with pytest.raises(ParameterError, match="The 'target_day' parameter of Threshold must be an int"):
        Threshold(at_least=3, counts="closest")
    with pytest.raises(ParameterError, match="'target_day' parameter of Threshold must be None unless"):
        Threshold(at_least=3, target_day=100)
    with pytest.raises(ParameterError, match="whose target_day lies in the window"):
        achievement(cohort("A"), ladder([("A", 0, 3)]), Threshold(at_least=5, counts="closest", target_day=400))
    with pytest.raises(ParameterError, match="give counts on the Sustained rule"):
        Sustained(Threshold(at_least=3, counts="any"), for_days=30)
    with pytest.raises(ParameterError, match="The 'scores' parameter of achievement must be the result of"):
        achievement(cohort("A"), pd.DataFrame(), Threshold(at_least=5))
    with pytest.raises(SchemaError, match="must be unique"):
        achievement(cohort("AA"), ladder([("A", 0, 3)]), Threshold(at_least=5))
    with pytest.raises(SpecError, match="must be one of threshold, improvement"):
        rule_from_dict({"type": "better"})
    rule = rule_from_dict(
        {"type": "sustained", "for_days": 91, "rule": {"type": "transition", "from": ["unsettled"], "to": ["settled"]}}
    )
    assert rule == Sustained(Transition(from_=("unsettled",), to=("settled",)), for_days=91)
    assert rule_from_dict(rule.to_dict()) == rule


def test_counting_keys_are_read_from_the_rule_table():
    rule = rule_from_dict({"type": "improvement", "by": 2, "counts": "closest", "target_day": 182})
    assert (rule.counts, rule.target_day, rule.unmeasured) == ("closest", 182, "not_achieved")
    assert rule_from_dict(rule.to_dict()) == rule
    assert rule_from_dict({"type": "threshold", "at_least": 3, "unmeasured": "apart"}).unmeasured == "apart"
    assert "any assessment in the window counts (gameable" in Threshold(at_least=3, counts="any").counting_text()
    with pytest.raises(SpecError, match="counting keys belong on the sustained rule") as err:
        rule_from_dict(
            {"type": "sustained", "for_days": 91, "rule": {"type": "threshold", "at_least": 3, "counts": "any"}}
        )
    assert err.value.key == "rule.rule.counts"
    with pytest.raises(SpecError, match="'target_day' parameter of Improvement must be an int") as err:
        rule_from_dict({"type": "improvement", "by": 2, "counts": "closest"}, key="outcomes.ft.rule")
    assert err.value.key == "outcomes.ft.rule.target_day"
    with pytest.raises(SpecError, match="must be one of 'last', 'closest', 'any'. Got 'best'") as err:
        rule_from_dict({"type": "improvement", "by": 2, "counts": "best"}, key="r")
    assert err.value.key == "r.counts"
    with pytest.raises(SpecError, match="must give 'for_days'"):
        rule_from_dict({"type": "sustained", "rule": {"type": "threshold", "at_least": 3}})
    with pytest.raises(SpecError, match="r: The 'from_' parameter of Transition must be at least one state") as err:
        rule_from_dict({"type": "transition", "from": [], "to": ["settled"]}, key="r")
    assert err.value.key == "r.from"


def test_closest_counts_the_assessment_nearest_the_target_day_earlier_on_ties():
    s = ladder([("A", 0, 3), ("A", 100, 6), ("A", 160, 3), ("A", 200, 6), ("B", 0, 3), ("B", 150, 5), ("B", 210, 9)])
    rule = Improvement(by=2, counts="closest", target_day=180)
    a = achievement(cohort("AB"), s, rule, as_of=AS_OF)
    pp = a.per_person.set_index("person_id")
    # A: days 160 and 200 are both 20 from 180; the earlier (160, no gain) counts.
    assert pp.loc["A", "counted_on"] == START + pd.Timedelta(days=160) and pp.loc["A", "status"] == "not_achieved"
    # B: day 210 (30 away) beats day 150 (30 away)? A tie again: day 150 counts, +2 achieved.
    assert pp.loc["B", "counted_on"] == START + pd.Timedelta(days=150) and pp.loc["B", "status"] == "achieved"
    last = achievement(cohort("AB"), s, Improvement(by=2), as_of=AS_OF).per_person.set_index("person_id")
    assert last["status"].astype(str).to_dict() == {"A": "achieved", "B": "achieved"}
    assert last.loc["A", "counted_on"] == START + pd.Timedelta(days=200)


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
    scored = score(assess, "ladder_ete")
    for counts in ("last", "any"):
        a = achievement(people, scored, Improvement(by=2, counts=counts), as_of=AS_OF)
        assert a.per_person["person_id"].tolist() == ids
        assert a.counts.sum() == n
        closed = people["start_date"] + pd.Timedelta(days=273) <= AS_OF
        assert int(a.counts["not_yet_measurable"]) == int((~closed).sum())
        # Brute force, one person at a time, for the people whose window has closed.
        pp = a.per_person.set_index("person_id")
        for pid in np.array(ids)[closed.to_numpy()]:
            mine = recs.loc[recs["person_id"] == pid].sort_values("day")
            base = mine.loc[mine["day"] == 0, "value"]
            win = mine.loc[mine["day"].between(91, 273), "value"]
            assert pp.loc[pid, "unmeasured"] == (base.empty or win.empty), pid
            if base.empty or win.empty:
                expected = "not_achieved"
            else:
                gain = (win - base.iloc[0]) if counts == "any" else (win.iloc[-1:] - base.iloc[0])
                expected = "achieved" if (gain >= 2).any() else "not_achieved"
            assert pp.loc[pid, "status"] == expected, pid


def _noisy_ratings(n_people: int, k: int, seed: int, deflate: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """No real change: a true ladder score of 5, each rating rounded from 5 + N(0, 1) (1-point
    noise); one baseline rating on day 0 and ``k`` ratings spread over days 91-273."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"P{i:05d}" for i in range(n_people)])
    days = np.column_stack(
        [np.zeros(n_people, int), np.tile(np.linspace(91, 273, k).round().astype(int), (n_people, 1))]
    )
    ratings = np.clip(np.round(5 + rng.normal(0, 1, days.shape)), 1, 10)
    ratings[:, 0] = np.maximum(ratings[:, 0] - deflate, 1)
    assess = pd.DataFrame(
        {
            "person_id": np.repeat(ids, k + 1),
            "item": "ladder",
            "score": ratings.ravel(),
            "assessed_on": START + pd.to_timedelta(days.ravel(), unit="D"),
        }
    )
    return pd.DataFrame({"person_id": ids, "start_date": START}), assess


def _exact_rate(k: int, deflate: int = 0) -> float:
    """P(max of k ratings - baseline >= 2) when every rating is 5 + D, D = round(N(0, 1)):
    sum over the baseline's D0 of P(D0 = d) (1 - P(D <= d + 1 - deflate) ** k)."""
    from scipy.stats import norm

    d = np.arange(-6, 7)
    p = norm.cdf(d + 0.5) - norm.cdf(d - 0.5)
    cdf = np.cumsum(p)
    below = cdf[np.clip(d + 1 - deflate + 6, 0, 12)]
    return float((p * (1 - below**k)).sum())


# The issue's figures for "family ties strengthened" (improvement by 2) under counts="any".
ISSUE_ANY = {1: 0.145, 2: 0.24, 4: 0.37, 8: 0.47}


@pytest.mark.parametrize("k", [1, 2, 4, 8])
def test_best_of_many_inflation_under_any_and_none_under_the_default(k):
    """With no real change and 1-point rating noise, counting any assessment pays 14.5% / 24% /
    37% / 47% of people with 1 / 2 / 4 / 8 assessments in the window (issue 17). The exact
    probabilities of this rating model are 14.9% / 24.0% / 35.1% / 47.0% (the issue's 37% is
    within its own Monte Carlo error); the last assessment (the default) pays 14.9% whatever k.
    """
    assert abs(_exact_rate(k) - ISSUE_ANY[k]) < 0.02
    n = 4000
    people, assess = _noisy_ratings(n, k, seed=k)
    scored = score(assess, "ladder_family")
    se = np.sqrt(0.25 / n)
    inflated = achievement(people, scored, Improvement(by=2, counts="any"), as_of=AS_OF).rate().estimate
    assert abs(inflated - _exact_rate(k)) < 4 * se
    for rule in (Improvement(by=2), Improvement(by=2, counts="closest", target_day=182)):
        flat = achievement(people, scored, rule, as_of=AS_OF).rate().estimate
        assert abs(flat - _exact_rate(1)) < 4 * se, rule
    if k > 1:
        assert inflated > _exact_rate(1) + 8 * se


def test_a_deflated_baseline_still_pays_and_is_left_to_the_screens():
    """Rating the baseline one point low: with two assessments counting any, 51.7% are paid (the
    issue says 53%); the last assessment cuts that to 36.5% but cannot remove it: the baseline
    deflation screen (validation.measurement_screens) looks for it instead."""
    assert abs(_exact_rate(2, deflate=1) - 0.53) < 0.02
    people, assess = _noisy_ratings(4000, 2, seed=11, deflate=1)
    scored = score(assess, "ladder_family")
    se = np.sqrt(0.25 / 4000)
    assert (
        abs(achievement(people, scored, Improvement(by=2, counts="any")).rate().estimate - _exact_rate(2, 1)) < 4 * se
    )
    assert abs(achievement(people, scored, Improvement(by=2)).rate().estimate - _exact_rate(1, 1)) < 4 * se


def test_met_at_baseline_marks_deadweight_for_level_rules_only():
    s = ladder([("A", 0, 8), ("A", 120, 8), ("B", 0, 4), ("B", 120, 8), ("C", 120, 9)])
    level = achievement(cohort("ABC"), s, Threshold(at_least=7), as_of=AS_OF).per_person
    assert level["met_at_baseline"].tolist() == [True, False, False]
    change = achievement(cohort("ABC"), s, Improvement(by=2), as_of=AS_OF).per_person
    assert not change["met_at_baseline"].any()
