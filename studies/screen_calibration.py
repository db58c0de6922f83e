"""How often the gaming screens speak on synthetic worlds: with no gaming (false alarms) and
with moderate gaming of known kind, provider and strength (power).

A calibration study, not a check users run on their data. Every replication is a
complete :func:`cohorts.synthetic.make_world` world of twelve providers; the seven
screens run on it as a user would run them (``by="provider_id"``, difficulty from
the world's truth, the family-ties outcome of ``examples/specs/intermediate.toml``
counted on its last assessment) and the study records which providers each screen
flags. ``bench/screens.py`` prints the tables.

Scenarios (:data:`SCENARIOS`)
-----------------------------
``equal``
    No gaming; twelve providers of equal size and case-mix.
``case_mix``
    No gaming; providers differ in case-mix (``case_mix=1``: mean difficulty from
    0.33 to 0.60), enrolment rate falls with it (0.71 to 0.48, the issue's case),
    and so do hours per person (service level 1.3 to 0.7): like is not like.
``unequal``
    No gaming; provider sizes from 1 to 15 (geometric), so the smallest providers
    have about 75 eligible people and 45 enrolled.
``moderate``
    Equal providers; six of them game, one way each, at moderate strength
    (:data:`MODERATE`): PRV02 creams (hardest-decile enrolment odds a quarter of the
    easiest's), PRV04 parks (hours halved from easiest to hardest decile), PRV06
    assesses twice more in the window, PRV08 rates baselines a point low, PRV10
    leaves half its likely failures unassessed, PRV12 reassesses 80% of failures
    in the window's last fortnight.

A screen's *false alarm* is flagging anyone in a no-gaming world (or, in the
``moderate`` worlds, flagging a provider that does not game that way); its
*power* is flagging the provider that does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from cohorts.synthetic import make_world
from outcomes import Improvement, Threshold, achievement, score
from validation.gaming import creaming_screen, parking_screen
from validation.measurement import measurement_screens

N_PROVIDERS = 12
SCREENS = ("creaming", "parking", "assessments", "baseline", "unmeasured", "deadweight", "bunching")
#: Which provider games which way in the ``moderate`` scenario, and how hard.
MODERATE: dict[str, tuple[str, str, float]] = {
    "creaming": ("PRV02", "creaming", 2.0),
    "parking": ("PRV04", "parking", 1.0),
    "assessments": ("PRV06", "extra_assessments", 2.0),
    "baseline": ("PRV08", "baseline_deflation", 1.0),
    "unmeasured": ("PRV10", "selective_missingness", 0.5),
    "bunching": ("PRV12", "late_reassessment", 0.8),
}


def _one_provider(name: str, value: float) -> list[float]:
    out = [0.0] * N_PROVIDERS
    out[int(name[3:]) - 1] = value
    return out


def _moderate() -> dict[str, Any]:
    kwargs: dict[str, Any] = {"provider_shares": [1.0] * N_PROVIDERS, "measurement": {}}
    for provider, knob, value in MODERATE.values():
        if knob in ("creaming", "parking"):
            kwargs[knob] = _one_provider(provider, value)
        else:
            kwargs["measurement"][knob] = _one_provider(provider, value)
    return kwargs


SCENARIOS: dict[str, dict[str, Any]] = {
    "equal": {"provider_shares": [1.0] * N_PROVIDERS},
    "case_mix": {
        "provider_shares": [1.0] * N_PROVIDERS,
        "case_mix": 1.0,
        "enrolment_rate": np.linspace(0.71, 0.48, N_PROVIDERS).tolist(),
        "service_level": np.linspace(1.3, 0.7, N_PROVIDERS).tolist(),
    },
    "unequal": {"provider_shares": np.geomspace(1, 15, N_PROVIDERS).tolist()},
    "moderate": _moderate(),
}


def world_flags(seed: int, scenario: Mapping[str, Any], n_eligible: int = 5_000) -> dict[str, list[str]]:
    """Which units each screen flags on one world (``"all"`` is the pooled within-provider test),
    and, under ``"creaming_ignoring_provider"``, whether the old pooled test that ignores the
    provider would flag it."""
    w = make_world(seed=seed, n_eligible=n_eligible, n_pool=0, **scenario)
    truth = w.truth.people[["person_id", "difficulty"]]
    eligible = w.eligible.merge(truth, on="person_id")
    flags = {"creaming": creaming_screen(eligible, by="provider_id").flagged_units}
    flags["creaming_ignoring_provider"] = ["all"] if creaming_screen(eligible).flagged else []
    hours = w.services.groupby("person_id")["hours"].sum()
    people = w.people.merge(truth, on="person_id")
    people["hours"] = people["person_id"].map(hours).fillna(0.0).to_numpy()
    flags["parking"] = parking_screen(people, by="provider_id").flagged_units
    outcomes = {}
    for key, instrument, rule, measure in (
        ("family_ties", "ladder_family", Improvement(by=2), "score"),
        ("family_contact", "family_contact", Threshold(at_least=3), "contact_frequency"),
    ):
        rows = w.assessments[w.assessments["instrument"] == instrument]
        outcomes[key] = achievement(people, score(rows, instrument), rule, as_of=w.as_of, measure=measure)
    screens = measurement_screens(people, outcomes, covariates=["need_family"])
    for kind in screens:
        flags[kind] = screens[kind].flagged_units
    return flags


def flag_rates(scenario: str, worlds: int, *, seed: int = 0, n_eligible: int = 5_000, progress=None) -> pd.DataFrame:
    """False alarms and power of every screen over ``worlds`` worlds of one scenario.

    Returns
    -------
    DataFrame
        One row per screen: ``false_alarm`` (share of worlds in which the screen
        flags a unit that does not game its way) with ``false_alarm_se``, and for
        the ``moderate`` scenario ``power`` (share flagging the provider that
        does) with ``power_se``; ``worlds``, ``n_eligible``.

    Examples
    --------
    >>> flag_rates("equal", worlds=2).set_index("screen").loc["creaming", "worlds"]  # doctest: +SKIP
    2
    """
    settings = SCENARIOS[scenario]
    rows = {s: {"false": 0, "hit": 0} for s in (*SCREENS, "creaming_ignoring_provider")}
    for r in range(worlds):
        flags = world_flags(seed + r, settings, n_eligible)
        for screen, units in flags.items():
            target = MODERATE.get(screen, (None,))[0] if scenario == "moderate" else None
            rows[screen]["hit"] += target in units
            rows[screen]["false"] += any(u != target for u in units if u != "all" or scenario != "moderate")
        if progress is not None:
            progress(r + 1)
    return _rates(rows, worlds, scenario, n_eligible)


def _rates(rows: dict, worlds: int, scenario: str, n_eligible: int) -> pd.DataFrame:
    out = []
    for screen, c in rows.items():
        fa = c["false"] / worlds
        row = {
            "scenario": scenario,
            "screen": screen,
            "false_alarm": fa,
            "false_alarm_se": np.sqrt(fa * (1 - fa) / worlds),
        }
        if scenario == "moderate" and screen in MODERATE:
            pw = c["hit"] / worlds
            row |= {"power": pw, "power_se": np.sqrt(pw * (1 - pw) / worlds)}
        out.append(row | {"worlds": worlds, "n_eligible": n_eligible})
    return pd.DataFrame(out)
