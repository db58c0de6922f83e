"""Custody bed nights, worked by hand and against a night-by-night count written here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ground.errors import SchemaError
from ground.tables import UnmatchedRowsWarning
from outcomes.custody import WINDOW_OPEN, custody_nights


def people(*starts: str) -> pd.DataFrame:
    return pd.DataFrame({"person_id": [f"p{i}" for i in range(len(starts))], "start_date": list(starts)})


def stays(*rows: tuple[str, str, str | None, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["person_id", "start", "end", "kind"])


def nights(p: pd.DataFrame, c: pd.DataFrame, **kw) -> list:
    kw.setdefault("as_of", "2026-01-01")
    return custody_nights(p, c, **kw).per_person["bed_nights"].tolist()


def test_a_stay_covers_the_nights_from_its_start_to_the_night_before_release():
    # Received on the 10th, released on the 15th: the nights of the 10th to the 14th.
    assert nights(people("2024-01-01"), stays(("p0", "2024-01-10", "2024-01-15", "remand"))) == [5]
    # Received and released the same day: no night.
    assert nights(people("2024-01-01"), stays(("p0", "2024-01-10", "2024-01-10", "remand"))) == [0]


def test_stays_are_clipped_to_the_window():
    # Window: the 30 nights from 1 January (1 to 30 January); held from 20 December to 5 January: 4 nights in it.
    p = people("2024-01-01")
    assert nights(p, stays(("p0", "2023-12-20", "2024-01-05", "sentenced")), follow_up_days=30) == [4]
    # Held from 25 January to 10 February: the nights of the 25th to the 30th, 6 of them.
    assert nights(p, stays(("p0", "2024-01-25", "2024-02-10", "sentenced")), follow_up_days=30) == [6]
    # Released on the index date: the night of the index date is not in custody.
    assert nights(p, stays(("p0", "2023-12-01", "2024-01-01", "sentenced")), follow_up_days=30) == [0]


def test_overlapping_stays_count_each_night_once():
    c = stays(
        ("p0", "2024-01-10", "2024-01-20", "remand"),  # 10 nights
        ("p0", "2024-01-15", "2024-01-25", "sentenced"),  # 5 more (20th to 24th)
        ("p0", "2024-01-12", "2024-01-14", "remand"),  # inside the first: none more
        ("p0", "2024-02-01", "2024-02-03", "sentenced"),  # 2 more, apart
    )
    assert nights(people("2024-01-01"), c) == [17]


def test_kinds_not_asked_for_are_left_out():
    c = stays(("p0", "2024-01-10", "2024-01-20", "remand"), ("p0", "2024-03-01", "2024-03-04", "sentenced"))
    assert nights(people("2024-01-01"), c, kinds=["sentenced"]) == [3]
    assert nights(people("2024-01-01"), c, kinds=["remand"]) == [10]


def test_an_open_stay_runs_to_the_end_of_the_window_and_an_open_window_is_not_observable():
    p = people("2024-01-01", "2024-06-01")
    c = stays(("p0", "2024-01-21", None, "remand"), ("p1", "2024-06-02", None, "remand"))
    r = custody_nights(p, c, follow_up_days=30, as_of="2024-06-20")
    assert r.per_person["bed_nights"].tolist()[0] == 10  # 21 to 30 January
    assert r.per_person["observable"].tolist() == [True, False]
    assert r.per_person["reason"].tolist() == ["", WINDOW_OPEN]
    assert r.counts == {"all": 2, "observable": 1, f"excluded: {WINDOW_OPEN}": 1}
    # The window closes the morning after its last night: as of 31 January the first person is observable.
    assert custody_nights(p.iloc[:1], c.iloc[:1], follow_up_days=30, as_of="2024-01-31").counts["observable"] == 1
    assert custody_nights(p.iloc[:1], c.iloc[:1], follow_up_days=30, as_of="2024-01-30").counts["observable"] == 0


def test_stays_of_no_one_are_left_out_and_counted():
    c = stays(("p0", "2024-01-10", "2024-01-12", "remand"), ("stranger", "2024-01-10", "2024-01-12", "remand"))
    with pytest.warns(UnmatchedRowsWarning):
        r = custody_nights(people("2024-01-01"), c, as_of="2026-01-01")
    assert (r.links.n, r.links.matched, r.links.unmatched) == (2, 1, 1)
    assert r.per_person["bed_nights"].tolist() == [2]
    assert "1 of no one in people" in r.summary()


def test_bad_stays_are_refused_naming_the_rule_and_row():
    c = stays(("p0", "2024-01-10", "2024-01-05", "remand"), ("p0", "2024-01-10", "2024-01-12", "bail"))
    with pytest.raises(SchemaError) as caught:
        custody_nights(people("2024-01-01"), c, as_of="2026-01-01")
    text = str(caught.value)
    assert "end" in text and "before start" in text and "kind" in text


def test_nights_match_a_night_by_night_count():
    """Random stays of 300 people against a set of nights per person, built one night at a time."""
    rng = np.random.default_rng(11)
    n = 300
    index = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 60, n), unit="D")
    p = pd.DataFrame({"person_id": [f"p{i}" for i in range(n)], "start_date": index})
    rows = []
    for _ in range(900):
        who = int(rng.integers(0, n))
        start = index[who] + pd.Timedelta(days=int(rng.integers(-40, 120)))
        length = int(rng.integers(0, 50))
        end = None if rng.random() < 0.05 else start + pd.Timedelta(days=length)
        rows.append((f"p{who}", start, end, ["remand", "sentenced"][int(rng.integers(0, 2))]))
    c = pd.DataFrame(rows, columns=["person_id", "start", "end", "kind"])
    as_of = pd.Timestamp("2024-12-31")
    got = custody_nights(p, c, follow_up_days=90, kinds=["remand", "sentenced"], as_of=as_of).per_person

    expected = []
    for i in range(n):
        first = index[i]
        held = set()
        for who, start, end, _kind in rows:
            if who != f"p{i}":
                continue
            stop = as_of if end is None else end
            day = start
            while day < stop:
                if first <= day < first + pd.Timedelta(days=90):
                    held.add(day)
                day += pd.Timedelta(days=1)
        expected.append(len(held))
    assert got["bed_nights"].tolist() == expected
    assert sum(expected) > 1_000  # the check covers many nights, overlaps and open stays
