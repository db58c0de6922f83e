"""Reference scores and achievements made by the row-by-row implementation, before it was vectorised.

Made at commit 59ea103 (the last with the old ``outcomes/scoring.py`` and
``outcomes/achievement.py``), from this repository's root::

    git archive 59ea103 | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old python tests/results/make_outcomes_scoring_reference.py

with one fix to the old code, which otherwise stops with a TypeError on any
missing score or item (under pandas 3, ``astype(str)`` keeps a missing value
missing, so its message was missing and joining the messages failed): in
``_problem_rows`` the item and the value are written with
``.astype(object).map(lambda v: "missing" if pd.isna(v) else str(v))`` instead
of ``.astype(str)``, as the new code writes them.

It writes ``tests/results/outcomes_scoring_reference.py``: for every case, the
status of each person in order (one letter each, see ``LETTERS``) and the
SHA-256 of the whole result as canonical CSV (every column, floats to 17
significant digits), so a test can say which person changed and catch any other
difference. The inputs are built here, by functions the test imports: the
example data (``examples/data``) and a synthetic world made here with numpy
(not ``cohorts.synthetic``, so a change there does not move the reference) that
holds every kind of problem a scorer must report.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).with_name("outcomes_scoring_reference.py")
LETTERS = {"achieved": "a", "not_achieved": "n", "not_yet_measurable": "y", "not_measurable": "m"}
AS_OF = "2025-09-30"
#: Instruments of the synthetic world: name -> (items, lowest, highest).
INSTRUMENTS = {
    "rosenberg": ([f"q{i}" for i in range(1, 11)], 0, 3),
    "ladder_family": (["ladder"], 1, 10),
    "ladder_ete": (["ladder"], 1, 10),
    "ladder_drugs_alcohol": (["ladder"], 1, 10),
    "accommodation_status": (["status"], 1, 3),
    "family_contact": (["contact_frequency", "living_with_family"], 0, 1),
}


def example_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    """people and assessments as ``pandas.read_csv`` reads the example files."""
    people = pd.read_csv(ROOT / "examples" / "data" / "people.csv", parse_dates=["start_date"])
    return people, pd.read_csv(ROOT / "examples" / "data" / "assessments.csv")


def synthetic_world(seed: int = 28, n: int = 700) -> tuple[pd.DataFrame, pd.DataFrame]:
    """people (some without a start date) and assessments with every problem a scorer reports.

    Occasions near each start and on days -60..420; some items left out (prorated or not
    scorable), then values out of range, not whole, missing or not numbers ("x"),
    unknown items, items given twice on an occasion, and rows of an instrument
    nobody scores.
    """
    rng = np.random.default_rng(seed)
    ids = np.array([f"S{i:05d}" for i in rng.permutation(n)])
    start = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 730, n), unit="D")
    people = pd.DataFrame({"person_id": ids, "start_date": start})
    people.loc[rng.random(n) < 0.03, "start_date"] = pd.NaT
    rows = []
    for person, when in zip(ids, start):
        # Most people are first assessed near their start, then now and then for a year.
        days = np.unique(np.r_[rng.integers(-45, 45, rng.integers(0, 3)), rng.integers(-60, 420, rng.integers(0, 9))])
        for day in days:
            for name in rng.choice(list(INSTRUMENTS), rng.integers(2, 6), replace=False):
                items, lo, hi = INSTRUMENTS[name]
                hi = 4 if name == "family_contact" else hi
                kept = [i for i in items if rng.random() > 0.06]
                for item in kept:
                    top = 1 if item == "living_with_family" else hi
                    rows.append(
                        (person, name, item, float(rng.integers(lo, top + 1)), when + pd.Timedelta(days=int(day)))
                    )
    ties, tied = _equidistant(rng)
    frame = pd.DataFrame(rows + tied, columns=["person_id", "instrument", "item", "score", "assessed_on"])
    return pd.concat([people, ties], ignore_index=True), _spoilt(frame, rng)


def _equidistant(rng: np.random.Generator) -> tuple[pd.DataFrame, list[tuple]]:
    """People assessed 10 days either side of day 182 (a tie for ``counts="closest"``), and on day 0."""
    start = pd.Timestamp("2023-03-01")
    people = pd.DataFrame({"person_id": [f"T{i:03d}" for i in range(40)], "start_date": start})
    rows = [
        (person, name, "ladder", float(rng.integers(1, 11)), start + pd.Timedelta(days=day))
        for person in people["person_id"]
        for name in ("ladder_family", "ladder_ete")
        for day in (0, 172, 192)
    ]
    return people, rows


def _spoilt(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    n = len(frame)
    score = frame["score"].astype(object)
    pick = rng.random(n)
    score[pick < 0.01] = frame["score"][pick < 0.01] + 20  # out of range
    score[(pick >= 0.01) & (pick < 0.02)] = frame["score"][(pick >= 0.01) & (pick < 0.02)] + 0.5  # not whole
    score[(pick >= 0.02) & (pick < 0.03)] = np.nan  # missing
    score[(pick >= 0.03) & (pick < 0.035)] = "x"  # not a number
    item = frame["item"].copy()
    item[(pick >= 0.035) & (pick < 0.04)] = "q99"  # unknown item
    spoilt = frame.assign(score=score, item=item)
    twice = spoilt.loc[rng.random(n) < 0.01].assign(score=1.0)  # the same item again on the occasion
    other = spoilt.loc[rng.random(n) < 0.02].assign(instrument="ladder_finance", item="ladder")
    both = pd.concat([spoilt, twice, other], ignore_index=True)
    return both.iloc[rng.permutation(len(both))].reset_index(drop=True)


def unchecked_rows(assessments: pd.DataFrame, seed: int = 29) -> pd.DataFrame:
    """The synthetic assessments with some keys missing (only a caller of ``score_checked`` can pass these)."""
    rng = np.random.default_rng(seed)
    out = assessments.assign(assessed_on=pd.to_datetime(assessments["assessed_on"]))
    out.loc[rng.random(len(out)) < 0.01, "person_id"] = None
    out.loc[rng.random(len(out)) < 0.01, "assessed_on"] = pd.NaT
    return out


def extra_cases() -> dict[str, dict]:
    """Rules beyond the example contract's: every counting, the unmeasured apart, sustained runs, early as-of."""
    from outcomes import Improvement, ReliableChange, Sustained, Threshold, Transition

    return {
        "family_closest": dict(instrument="ladder_family", rule=Improvement(by=2, counts="closest", target_day=182)),
        "family_any": dict(instrument="ladder_family", rule=Improvement(by=2, counts="any")),
        "family_apart": dict(instrument="ladder_family", rule=Improvement(by=1, unmeasured="apart")),
        "family_early": dict(instrument="ladder_family", rule=Improvement(by=2), as_of="2024-06-30"),
        "family_no_as_of": dict(instrument="ladder_family", rule=Improvement(by=2), as_of=None),
        "rosenberg_level": dict(instrument="rosenberg", rule=Threshold(at_least=20)),
        "rosenberg_low_any": dict(instrument="rosenberg", rule=Threshold(at_most=15, counts="any", unmeasured="apart")),
        "rosenberg_rci": dict(
            instrument="rosenberg", rule=ReliableChange(sd=5.0, counts="closest", target_day=120), window=(91, 200)
        ),
        "housing_any": dict(
            instrument="accommodation_status",
            rule=Sustained(Transition(from_="no_fixed_abode", to=["settled"]), for_days=60, counts="any"),
            window=(91, 365),
        ),
        "housing_apart": dict(
            instrument="accommodation_status", rule=Transition(from_=[1, 2], to=3, unmeasured="apart")
        ),
        "housing_level": dict(
            instrument="accommodation_status",
            rule=Sustained(Threshold(at_least=3), for_days=91, counts="closest", target_day=300),
            window=(91, 365),
        ),
        "living": dict(instrument="family_contact", measure="living_with_family", rule=Threshold(at_least=1)),
        "contact": dict(
            instrument="family_contact", measure="contact_frequency", rule=Improvement(by=1), baseline=(-60, 10)
        ),
        "ete_sustained": dict(instrument="ladder_ete", rule=Sustained(Improvement(by=2), for_days=30)),
        "ete_closest": dict(instrument="ladder_ete", rule=Threshold(at_least=6, counts="closest", target_day=182)),
    }


def canonical(frame: pd.DataFrame) -> str:
    """SHA-256 of the frame as CSV: every column, floats to 17 significant digits, missing values empty."""
    return hashlib.sha256(frame.to_csv(index=False, float_format="%.17g").encode()).hexdigest()


def cases(people: pd.DataFrame, assessments: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every outcome of the example contract (``MetricSpec.achievement``) and :func:`extra_cases`, per person."""
    from outcomes import MetricSpec, achievement, score

    spec = MetricSpec.from_toml(ROOT / "examples" / "specs" / "intermediate.toml")
    out = {f"spec_{k}": r.per_person for k, r in spec.achievement(people, assessments, as_of=AS_OF).items()}
    scored: dict[str, object] = {}
    for key, case in extra_cases().items():
        name = case["instrument"]
        scored[name] = scored.get(name) or score(assessments, name)
        as_of = case.get("as_of", AS_OF)
        result = achievement(
            people,
            scored[name],
            case["rule"],
            window=case.get("window", (91, 273)),
            baseline=case.get("baseline", (-30, 30)),
            as_of=as_of,
            measure=case.get("measure", "score"),
        )
        out[key] = result.per_person
    return out


def scorings(assessments: pd.DataFrame, *, checked: bool = True) -> dict[str, pd.DataFrame]:
    """Each instrument's scores and problems, one frame each."""
    from outcomes.scoring import score, score_checked

    out = {}
    for name in INSTRUMENTS:
        s = score(assessments, name) if checked else score_checked(assessments, name)
        out[f"{name}_scores"] = s.scores
        out[f"{name}_problems"] = s.problems
        out[f"{name}_set_aside"] = pd.DataFrame({"row": s.other_instrument_rows})
    return out


def reference() -> dict[str, dict[str, str]]:
    """The statuses and digests of every case, on both data sets."""
    statuses, digests = {}, {}
    for data, (people, assessments) in {"examples": example_data(), "synthetic": synthetic_world()}.items():
        for key, per_person in cases(people, assessments).items():
            statuses[f"{data}/{key}"] = "".join(LETTERS[s] for s in per_person["status"].astype(str))
            digests[f"{data}/{key}"] = canonical(per_person)
        for key, frame in scorings(assessments).items():
            digests[f"{data}/{key}"] = canonical(frame)
    _, synthetic = synthetic_world()
    for key, frame in scorings(unchecked_rows(synthetic), checked=False).items():
        digests[f"unchecked/{key}"] = canonical(frame)
    return {"statuses": statuses, "digests": digests}


def main() -> None:
    made = reference()
    lines = [
        '"""Statuses and digests from the row-by-row scoring and achievement (commit 59ea103).',
        "",
        "Made by tests/results/make_outcomes_scoring_reference.py; see its docstring.",
        '"""',
        "",
        "# fmt: off",
        "STATUSES = {",
        *[f"    {k!r}: {v!r}," for k, v in made["statuses"].items()],
        "}",
        "DIGESTS = {",
        *[f"    {k!r}: {v!r}," for k, v in made["digests"].items()],
        "}",
        "# fmt: on",
        "",
    ]
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {OUT} ({len(made['statuses'])} cases, {len(made['digests'])} digests)")


if __name__ == "__main__":
    main()
