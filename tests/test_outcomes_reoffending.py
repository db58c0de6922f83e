"""Proven reoffending on hand-built event tables (every edge) and on the Rossi trial."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ground.errors import SchemaError, SpecError
from outcomes import proven_reoffending
from tests.results.outcomes_rates import ROSSI_FIN0, ROSSI_FIN0_PER100, ROSSI_FIN1

D = pd.Timestamp
INDEX = D("2024-01-01")  # follow-up: offences on 2024-01-02 .. 2024-12-31 (365 days, leap year);
# proven by 2024-12-31 + 182 days = 2025-07-01.
AS_OF = D("2025-12-31")

PEOPLE = pd.DataFrame(
    {
        "person_id": list("ABCDEFGH"),
        "start_date": [INDEX] * 4 + [D("2025-01-01")] + [INDEX] * 3,
    }
)
OFFENCES = pd.DataFrame(
    [
        ("A", "2024-01-01", "2024-02-01", "conviction"),  # on the index date: does not count
        ("B", "2024-06-01", "2025-07-02", "conviction"),  # proven one day after the waiting period
        ("C", "2023-12-01", "2023-12-20", "conviction"),  # history, before the index date
        ("C", "2024-03-01", "2024-04-01", "caution"),  # a caution: counts unless convictions only
        ("D", "2024-02-01", "2024-02-10", "no_further_action"),
        ("D", "2024-03-01", "2024-09-01", "acquittal"),
        ("E", "2025-02-01", "2025-03-01", "conviction"),  # E started 2025-01-01: not observable by AS_OF
        ("F", "2024-05-05", "2024-07-01", "conviction"),  # three offences on one day, one court appearance
        ("F", "2024-05-05", "2024-07-01", "conviction"),
        ("F", "2024-05-05", "2024-07-01", "conviction"),
        ("F", "2024-08-01", "2024-09-15", "conviction"),  # a second appearance
        ("G", "2024-12-31", "2025-07-01", "conviction"),  # last follow-up day, proven on the last day
        ("G", "2025-01-01", "2025-02-01", "conviction"),  # day 366: outside the follow-up
        ("Z", "2024-05-01", "2024-06-01", "conviction"),  # not in the cohort: ignored
    ],
    columns=["person_id", "offence_date", "disposal_date", "disposal"],
).astype({"offence_date": "datetime64[ns]", "disposal_date": "datetime64[ns]", "disposal": "category"})


def by_person(result, column):
    return result.per_person.set_index("person_id")[column].to_dict()


def test_edge_cases_hand_worked():
    r = proven_reoffending(PEOPLE, OFFENCES, as_of=AS_OF)
    assert by_person(r, "observable") == {**dict.fromkeys("ABCDFGH", True), "E": False}
    pp = r.per_person.set_index("person_id")
    assert pp.loc["E", ["reoffended", "reoffences"]].isna().all()
    observed = pp.drop(index="E")
    assert observed["reoffended"].to_dict() == {
        "A": False,
        "B": False,
        "C": True,
        "D": False,
        "F": True,
        "G": True,
        "H": False,
    }
    assert observed["reoffences"].to_dict() == {"A": 0, "B": 0, "C": 1, "D": 0, "F": 4, "G": 1, "H": 0}
    days = r.per_person.set_index("person_id")["days_to_first"]
    # C: 2024-03-01 is day 60 (Jan 31 + Feb 29); F: 2024-05-05 is day 125; G: day 365.
    assert days[["C", "F", "G"]].tolist() == [60.0, 125.0, 365.0]
    assert days[["A", "B", "D", "E", "H"]].isna().all()
    assert r.per_person.set_index("person_id").loc["E", "reason"] == "follow-up and waiting period not elapsed by as_of"
    assert r.counts == {"all": 8, "observable": 7, "excluded: follow-up and waiting period not elapsed by as_of": 1}
    assert (r.rate().k, r.rate().n) == (3, 7)
    assert r.frequency().events == 6 and r.frequency().per_100 == pytest.approx(600 / 7)
    assert r.per_reoffender() == pytest.approx(2.0)


def test_convictions_only_and_court_appearances():
    r = proven_reoffending(PEOPLE, OFFENCES, as_of=AS_OF, disposals=("conviction",), counting="court_appearances")
    counts = by_person(r, "reoffences")
    assert counts["C"] == 0  # the caution no longer proves
    assert counts["F"] == 2  # three offences sentenced together count once
    assert counts["G"] == 1
    assert (r.rate().k, r.frequency().events) == (2, 3)


def test_as_of_boundary_and_default():
    # index + 365 + 182 = 2025-07-01: observable on that day, not the day before.
    assert proven_reoffending(PEOPLE.iloc[:1], OFFENCES, as_of="2025-07-01").counts["observable"] == 1
    assert proven_reoffending(PEOPLE.iloc[:1], OFFENCES, as_of="2025-06-30").counts["observable"] == 0
    r = proven_reoffending(PEOPLE, OFFENCES)
    assert r.counts["observable"] == 8
    assert "as_of not given" in r.summary()


def test_shorter_waiting_period_drops_late_disposals():
    # waiting 0: proof by 2024-12-31, so G's offence (proven 2025-07-01) no longer counts.
    r = proven_reoffending(PEOPLE, OFFENCES, waiting_days=0, as_of=AS_OF)
    assert not by_person(r, "reoffended")["G"]
    assert by_person(r, "reoffences")["F"] == 4


def test_index_column_and_missing_index():
    people = PEOPLE.assign(release_date=PEOPLE["start_date"] - pd.Timedelta(days=60))
    people.loc[people["person_id"] == "H", "release_date"] = pd.NaT
    r = proven_reoffending(people, OFFENCES, index="release_date", as_of=AS_OF)
    # From 2023-11-02, A's 2024-01-01 offence is inside the follow-up and C's 2023-12-01 history now counts.
    counts = by_person(r, "reoffences")
    assert counts["A"] == 1 and counts["C"] == 2
    assert r.counts["excluded: no release_date"] == 1


def test_bad_arguments_and_tables():
    with pytest.raises(SpecError, match="'counting' parameter .* offences, court_appearances. Got 'events'"):
        proven_reoffending(PEOPLE, OFFENCES, counting="events")
    with pytest.raises(SpecError, match="'follow_up_days'"):
        proven_reoffending(PEOPLE, OFFENCES, follow_up_days=0)
    with pytest.raises(SpecError, match="'disposals'"):
        proven_reoffending(PEOPLE, OFFENCES, disposals=())
    with pytest.raises(SchemaError, match="table 'offences' is missing the column disposal_date"):
        proven_reoffending(PEOPLE, OFFENCES.drop(columns="disposal_date"))
    with pytest.raises(SchemaError, match="unique"):
        proven_reoffending(pd.concat([PEOPLE, PEOPLE.iloc[:1]]), OFFENCES)


def rossi_events():
    """Rossi, Berk & Lenihan (1980): 432 men, first arrest week within 52 weeks of release.

    Each man starts on 2020-01-01; an arrest in week w becomes an offence on day 7w - 3 (mid-week),
    convicted 30 days later. Follow-up 364 days = 52 weeks.
    """
    rossi = pd.read_csv(Path(__file__).parent / "data" / "rossi.csv")
    rossi["person_id"] = [f"R{i:03d}" for i in range(len(rossi))]
    start = D("2020-01-01")
    people = rossi.assign(start_date=start)
    arrested = rossi.loc[rossi["arrest"] == 1]
    offence = start + pd.to_timedelta(7 * arrested["week"] - 3, unit="D")
    offences = pd.DataFrame(
        {
            "person_id": arrested["person_id"],
            "offence_date": offence,
            "disposal_date": offence + pd.Timedelta(days=30),
            "disposal": "conviction",
        }
    )
    return people, offences


def test_rossi_binary_rate_per_arm():
    people, offences = rossi_events()
    # fin = 1 is the financial-aid arm (48 of 216 arrested); fin = 0 got no aid (66 of 216).
    for fin, ref in ((1, ROSSI_FIN1), (0, ROSSI_FIN0)):
        r = proven_reoffending(people.loc[people["fin"] == fin], offences, follow_up_days=364)
        rate = r.rate()
        assert (rate.k, rate.n) == (ref["k"], ref["n"])
        np.testing.assert_allclose((rate.ci_low, rate.ci_high), ref["ci"], rtol=1e-8)
        arrested = people.loc[(people["fin"] == fin) & (people["arrest"] == 1)]
        got = r.per_person.set_index("person_id").loc[arrested["person_id"], "days_to_first"]
        np.testing.assert_array_equal(got.to_numpy(), 7 * arrested["week"].to_numpy() - 3)
    f = proven_reoffending(people.loc[people["fin"] == 0], offences, follow_up_days=364).frequency()
    np.testing.assert_allclose(
        (f.per_100, f.ci_low, f.ci_high), (ROSSI_FIN0_PER100["per_100"], *ROSSI_FIN0_PER100["ci"]), rtol=1e-8
    )


def test_rossi_shorter_follow_up_loses_late_arrests():
    people, offences = rossi_events()
    r = proven_reoffending(people, offences, follow_up_days=7 * 26)
    # Arrests in weeks 1..26 (offence day 7w - 3 <= 182).
    expected = int(((people["arrest"] == 1) & (people["week"] <= 26)).sum())
    assert r.rate().k == expected and 0 < expected < 114
