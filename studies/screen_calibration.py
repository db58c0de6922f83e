"""How often the creaming and parking screens flag synthetic worlds, by gaming strength.

A calibration study, not a check users run on their data: it draws worlds from
the synthetic world's mechanisms (:mod:`cohorts.synthetic`) and counts how often
:func:`validation.creaming_screen` and :func:`validation.parking_screen` speak,
with no gaming (false alarms) and with gaming of a known strength (power).
``bench/screens.py`` prints its table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cohorts.synthetic import (
    chance_of_reoffending,
    difficulty_slope,
    draw_covariates,
    enrolment_probability,
    expected_reoffences,
    neutral_hours,
    service_hours,
)
from validation.gaming import ALPHA, creaming_screen, parking_screen


def screen_flag_rates(
    strengths: Sequence[float],
    *,
    n_eligible: int = 2_000,
    replications: int = 200,
    seed: int = 0,
    enrolment_rate: float = 0.6,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Share of synthetic worlds each screen flags, by gaming strength.

    For each replication, ``n_eligible`` people are drawn from the synthetic
    world's covariate model (``cohorts.synthetic``), with its true difficulty;
    then, for each strength s, enrolment follows the world's creaming mechanism
    with ``creaming = s`` (the creaming screen sees all eligible), and the
    service hours of the people who would enrol without creaming follow its
    parking mechanism with ``parking = s`` (the parking screen sees them). Only
    what the screens need is simulated, so hundreds of worlds take seconds.
    The same draws are reused across strengths (common random numbers), so the
    curve is smooth in s.

    Returns
    -------
    DataFrame
        strength, creaming (flag rate), creaming_se, parking, parking_se
        (Monte Carlo SEs), n_eligible, replications.

    Examples
    --------
    >>> screen_flag_rates([0.0, 1.0], replications=20)  # doctest: +SKIP
    """
    rng = np.random.default_rng(seed)
    strengths = np.asarray(strengths, dtype=float)
    flags = np.zeros((2, len(strengths), replications), dtype=bool)
    for r in range(replications):
        difficulty = chance_of_reoffending(expected_reoffences(draw_covariates(n_eligible, rng)))
        slope = difficulty_slope(difficulty)
        u = rng.random(n_eligible)
        hours_neutral = neutral_hours(rng, n_eligible)
        neutral = u < enrolment_rate
        for i, s in enumerate(strengths):
            enrolled = u < enrolment_probability(slope, s, enrolment_rate)
            eligible = pd.DataFrame({"enrolled": enrolled, "difficulty": difficulty})
            flags[0, i, r] = creaming_screen(eligible, alpha=alpha).flagged
            served = pd.DataFrame(
                {"difficulty": difficulty[neutral], "hours": service_hours(hours_neutral, slope, s)[neutral]}
            )
            flags[1, i, r] = parking_screen(served, alpha=alpha).flagged
    rate = flags.mean(axis=2)
    se = np.sqrt(rate * (1 - rate) / replications)
    return pd.DataFrame(
        {
            "strength": strengths,
            "creaming": rate[0],
            "creaming_se": se[0],
            "parking": rate[1],
            "parking_se": se[1],
            "n_eligible": n_eligible,
            "replications": replications,
        }
    )
