"""A synthetic world for the demo, the tests and the benchmarks.

``make_world`` draws a population eligible for a rehabilitation service, the
providers who enrol some of them (and may cream), the service hours they give
(and may park), intermediate outcomes assessed over a year, offence events
with disposal dates, and a national comparison pool drawn from the same
covariate model without the programme. ``World.truth`` keeps what a real
evaluation never sees: each person's expected outcomes with and without the
programme, the true effects, and who was creamed or parked.

The model, in one paragraph. Covariates come from a latent *complexity*
factor: complex people start offending earlier, have more prior offences and
more needs. An OGRS-like score (the static factors only) and the needs set
each person's expected number of proven reoffences in a year without the
programme, ``mu_0``; counts are negative binomial (Poisson with a gamma
frailty of shape ``DISPERSION``), so the chance of at least one proven
reoffence is ``1 - (1 + mu_0 / k) ** -k``. That chance is the person's true
*difficulty*. It depends on observed covariates only, so a matched comparison
on those covariates is unbiased. The programme multiplies the reoffending rate
by ``rate_ratio ** (hours / 40)``: its effect grows with the service received,
which is how parking costs outcomes.

Examples
--------
>>> from cohorts.synthetic import make_world
>>> w = make_world(seed=1, n_eligible=500, n_pool=2_000)
>>> len(w.eligible), len(w.pool)
(500, 2000)
>>> bool(w.people["in_programme"].all())
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from ground.errors import SpecError

#: Shape k of the gamma frailty: proven reoffences are negative binomial with
#: variance mu + mu**2 / k.
DISPERSION = 2.0
#: Proven reoffending windows (MoJ definition): 12 months' follow-up, 6 months'
#: waiting for disposals.
FOLLOW_UP_DAYS = 365
WAITING_DAYS = 182
#: Mean service hours per enrolled person when nobody is parked; the programme
#: has its stated effect at this dose.
MEAN_HOURS = 40.0

SEX = ("female", "male")
ETHNICITY = ("white", "black", "asian", "mixed", "other")
# Shares of the offender population by broad ethnic group (England and Wales,
# roughly as in MoJ caseload statistics); independent of risk here, so any
# disparity a screen finds is one the providers made.
ETHNICITY_SHARES = (0.73, 0.12, 0.08, 0.05, 0.02)
NEEDS = (
    "need_accommodation",
    "need_substance",
    "need_mental_health",
    "need_employment",
    "need_family",
)
# Base log-odds and loading on complexity of each need.
_NEED_INTERCEPT = np.array([-1.3, -0.5, -0.9, 0.1, -1.1])
_NEED_LOADING = np.array([0.9, 0.8, 0.6, 0.6, 0.7])
# Extra log expected reoffences for each need, on top of the OGRS-like score.
_NEED_RISK = np.array([0.30, 0.30, 0.10, 0.15, 0.10])
DISPOSALS = ("conviction", "caution", "acquittal", "no_further_action")
SERVICES = ("keyworker", "housing", "substance", "ete", "family", "mentoring")
LADDERS = {
    "ladder_family": "need_family",
    "ladder_accommodation": "need_accommodation",
    "ladder_ete": "need_employment",
    "ladder_drugs_alcohol": "need_substance",
    "ladder_finance": None,
    "ladder_attitudes": None,
}
# Rosenberg items worded negatively (agreeing means lower self-esteem).
ROSENBERG_NEGATIVE = (2, 5, 6, 8, 9)
OCCASION_DAYS = (0, 91, 182, 273, 365)

#: True programme effects used unless ``make_world(effects=...)`` says otherwise.
DEFAULT_EFFECTS: dict[str, float] = {
    # Multiplies the proven reoffending rate at MEAN_HOURS of service.
    "reoffending_rate_ratio": 0.85,
    # Gain in latent self-esteem, in SDs of its baseline spread, by 9 months.
    "self_esteem_sd": 0.5,
    # Gain on each 1-10 ladder by 9 months.
    "ladder_points": 1.5,
    # Log-odds boost of moving into settled accommodation each quarter.
    "settled_log_odds": 0.8,
    # Gain in contact frequency (0-4 scale) by 9 months.
    "family_contact_points": 0.8,
}

Population = Literal["eligible", "pool"]
# How much more complex the eligible population is than the national pool, in
# SDs of the latent factor: eligible people are referred because of their needs.
_COMPLEXITY_SHIFT = {"eligible": 0.5, "pool": 0.0}


@dataclass(frozen=True)
class Truth:
    """What the world knows and an evaluation must estimate.

    Attributes
    ----------
    effects : dict
        ``reoffended_diff``: the average effect on the treated (enrolled) of the
        programme on the chance of proven reoffending (a proportion; negative is
        a reduction). ``reoffences_ratio``: ratio of expected proven reoffences
        with and without the programme, summed over the enrolled.
        ``reoffences_diff``: the mean difference in expected reoffences. Also the
        intermediate-outcome effects used (see ``DEFAULT_EFFECTS``). Averages are
        over all enrolled people; ``people`` allows any other subset.
    people : pandas.DataFrame
        One row per eligible person: ``difficulty`` (true chance of proven
        reoffending without the programme), ``p_reoffend_0``, ``p_reoffend_1``,
        ``mu_0``, ``mu_1`` (expected proven reoffences without and with the
        programme), ``p_enrol``, ``p_enrol_neutral`` (without creaming),
        ``hours``, ``hours_neutral`` (expected service hours with and without
        parking), ``creamed`` (would have been enrolled but for creaming),
        ``parked`` (enrolled and expected hours cut by at least a quarter).
    params : dict
        The arguments ``make_world`` was called with.
    """

    effects: dict[str, float]
    people: pd.DataFrame
    params: dict[str, Any]


@dataclass(frozen=True)
class World:
    """A synthetic population, its records and the truth behind them.

    See the module docstring for the model and ``make_world`` for the tables.
    """

    eligible: pd.DataFrame
    people: pd.DataFrame
    offences: pd.DataFrame
    services: pd.DataFrame
    assessments: pd.DataFrame
    pool: pd.DataFrame
    truth: Truth
    as_of: pd.Timestamp
    tables: ClassVar[tuple[str, ...]] = ("eligible", "people", "offences", "services", "assessments", "pool")

    def counts(self) -> pd.DataFrame:
        """Rows in each table, as a DataFrame with columns ``table`` and ``rows``."""
        return pd.DataFrame({"table": list(self.tables), "rows": [len(getattr(self, t)) for t in self.tables]})

    def summary(self) -> str:
        """A short text description: cohort sizes, enrolment and pool reoffending."""
        el, pool = self.eligible, self.pool
        enrolled = int(el["enrolled"].sum())
        rate = pool["reoffended"].mean()
        se = np.sqrt(rate * (1 - rate) / len(pool))
        lines = [
            f"Synthetic world (seed {self.truth.params['seed']}, data as of {self.as_of.date()})",
            f"  eligible people      {len(el):>10,}  across {el['provider_id'].nunique()} providers",
            f"  enrolled             {enrolled:>10,}  ({enrolled / len(el):.1%} of eligible)",
            f"  comparison pool      {len(pool):>10,}",
            f"  offence events       {len(self.offences):>10,}",
            f"  service contacts     {len(self.services):>10,}",
            f"  assessment rows      {len(self.assessments):>10,}",
            f"  pool proven reoffending rate {rate:.1%} (95% CI {rate - 1.96 * se:.1%} to "
            f"{rate + 1.96 * se:.1%}, n = {len(pool):,})",
            f"  creaming {self.truth.params['creaming']!r}, parking {self.truth.params['parking']!r}",
        ]
        return "\n".join(lines)


def _person_ids(prefix: str, n: int, width: int) -> np.ndarray:
    return (prefix + pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(width)).to_numpy(dtype=object)


def draw_covariates(n: int, rng: np.random.Generator, population: Population = "eligible") -> pd.DataFrame:
    """Draw baseline covariates for ``n`` people.

    Parameters
    ----------
    n : int
        Number of people.
    rng : numpy.random.Generator
        Source of randomness.
    population : {"eligible", "pool"}
        Eligible people are more complex (more needs, more prior offences) than
        the national comparison pool; both come from the same model.

    Returns
    -------
    pandas.DataFrame
        Columns ``sex``, ``ethnicity`` (categoricals), ``age``,
        ``age_first_conviction``, ``prior_offences`` (ints), the five ``need_*``
        flags (bool) and ``ogrs_score`` (0-100).

    Examples
    --------
    >>> import numpy as np
    >>> x = draw_covariates(1_000, np.random.default_rng(0))
    >>> sorted(x["sex"].cat.categories)
    ['female', 'male']
    """
    if population not in _COMPLEXITY_SHIFT:
        raise SpecError(
            "The 'population' parameter of draw_covariates must be one of 'eligible', 'pool'. "
            f"Got {population!r} instead.",
            key="population",
        )
    complexity = rng.normal(_COMPLEXITY_SHIFT[population], 1.0, n)
    male = rng.random(n) < 0.85
    age = np.clip(np.round(18 + rng.gamma(2.4, 6.8, n) - 1.5 * complexity), 18, 80).astype(np.int64)
    first = 10 + rng.gamma(2.0, 3.5 * np.exp(-0.3 * complexity))
    age_first = np.minimum(np.round(first), age).astype(np.int64)
    career = (age - age_first) / 5.0
    prior_mean = np.exp(0.3 + 0.45 * complexity + 0.7 * np.log1p(career))
    # Gamma-Poisson: prior offences are overdispersed, as criminal careers are.
    prior = rng.poisson(prior_mean * rng.gamma(1.5, 1 / 1.5, n))
    prior = np.minimum(prior, 150).astype(np.int64)
    needs = rng.random((n, len(NEEDS))) < expit(_NEED_INTERCEPT + np.outer(complexity, _NEED_LOADING))
    static = -1.1 + 0.65 * np.log1p(prior) - 0.035 * (age - 25) - 0.04 * (age_first - 16) + 0.3 * male
    frame = pd.DataFrame(
        {
            "sex": pd.Categorical.from_codes(male.astype(np.int8), SEX),
            "ethnicity": pd.Categorical.from_codes(
                rng.choice(len(ETHNICITY), size=n, p=ETHNICITY_SHARES).astype(np.int8), ETHNICITY
            ),
            "age": age,
            "age_first_conviction": age_first,
            "prior_offences": prior,
        }
    )
    for j, name in enumerate(NEEDS):
        frame[name] = needs[:, j]
    frame["ogrs_score"] = np.round(100 * expit(static), 1)
    return frame


def expected_reoffences(covariates: pd.DataFrame) -> np.ndarray:
    """Expected proven reoffences in the 12-month follow-up without the programme.

    A log-linear function of the OGRS-like score and the needs: the same for
    eligible people and the comparison pool.

    Parameters
    ----------
    covariates : pandas.DataFrame
        As returned by :func:`draw_covariates`.

    Returns
    -------
    numpy.ndarray
        ``mu_0`` per person.

    Examples
    --------
    >>> import numpy as np
    >>> x = draw_covariates(5, np.random.default_rng(0))
    >>> bool((expected_reoffences(x) > 0).all())
    True
    """
    p = np.clip(covariates["ogrs_score"].to_numpy(dtype=float) / 100, 0.005, 0.995)
    needs = covariates[list(NEEDS)].to_numpy(dtype=float)
    return np.exp(-0.55 + 0.75 * logit(p) + needs @ _NEED_RISK)


def chance_of_reoffending(mu: np.ndarray) -> np.ndarray:
    """Chance of at least one proven reoffence given the expected count ``mu``
    (negative binomial with shape ``DISPERSION``)."""
    return 1.0 - (1.0 + np.asarray(mu) / DISPERSION) ** -DISPERSION


def _per_provider(value: float | Sequence[float], n_providers: int, name: str) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(value, dtype=float))
    if arr.size == 1:
        arr = np.repeat(arr, n_providers)
    if arr.shape != (n_providers,) or not np.isfinite(arr).all() or (arr < 0).any():
        raise SpecError(
            f"The {name!r} parameter of make_world must be a non-negative number or one per provider "
            f"({n_providers} values). Got {value!r} instead.",
            key=name,
        )
    return arr


def difficulty_slope(difficulty: np.ndarray) -> np.ndarray:
    """Each person's place on the difficulty scale that creaming and parking use.

    The percentile rank of ``difficulty``, rescaled to be 0 at the centre of
    the easiest decile and 1 at the centre of the hardest.

    Examples
    --------
    >>> difficulty_slope(np.array([0.1, 0.5, 0.9])).round(3).tolist()
    [0.315, 0.685, 1.056]
    """
    percentile = pd.Series(np.asarray(difficulty)).rank(pct=True).to_numpy()
    return (percentile - 0.05) / 0.9


def enrolment_probability(slope: np.ndarray, creaming: float | np.ndarray, enrolment_rate: float) -> np.ndarray:
    """Chance of enrolment under creaming: the log-odds fall by ``creaming * log 2``
    from the easiest decile (``slope`` 0) to the hardest (``slope`` 1).

    Examples
    --------
    >>> p = enrolment_probability(np.array([0.0, 1.0]), 1.0, 0.6)
    >>> round(float((p[1] / (1 - p[1])) / (p[0] / (1 - p[0]))), 6)
    0.5
    """
    return expit(logit(enrolment_rate) - np.asarray(creaming) * np.log(2) * slope)


def neutral_hours(rng: np.random.Generator, n: int) -> np.ndarray:
    """Service hours each person would get with no parking (gamma, mean ``MEAN_HOURS``)."""
    return rng.gamma(2.0, MEAN_HOURS / 2.0, n)


def service_hours(hours_neutral: np.ndarray, slope: np.ndarray, parking: float | np.ndarray) -> np.ndarray:
    """Hours under parking: cut by ``2 ** -parking`` from the easiest decile to the hardest.

    Examples
    --------
    >>> service_hours(np.array([40.0, 40.0]), np.array([0.0, 1.0]), 1.0).tolist()
    [40.0, 20.0]
    """
    return hours_neutral * 2.0 ** (-np.asarray(parking) * slope)


def _random_dates(rng: np.random.Generator, n: int, start: str, end: str) -> pd.DatetimeIndex:
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    days = rng.integers(0, (hi - lo).days + 1, n)
    return lo + pd.to_timedelta(days, unit="D")


def _offence_events(
    rng: np.random.Generator, index: np.ndarray, mu: np.ndarray, prior: np.ndarray, person_id: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray]:
    """Offence events around each person's index date.

    Counting events (offence 1-364 days after the index date, proven by a
    conviction or caution within the waiting period) are Poisson with mean
    ``mu`` times a gamma frailty; the frailty also drives the events that must
    not count: unproven outcomes, disposals after the waiting period, offences
    after the follow-up, offences on the index date, and history.

    Returns the events and, per person, the number of counting events.
    """
    n = len(mu)
    frailty = rng.gamma(DISPERSION, 1 / DISPERSION, n)
    rate = mu * frailty
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(owner: np.ndarray, day: np.ndarray, delay: np.ndarray, disposal: np.ndarray) -> None:
        parts.append((owner, day.astype(np.int64), delay.astype(np.int64), disposal.astype(np.int8)))

    counting = rng.poisson(rate)
    owner = np.repeat(np.arange(n), counting)
    day = rng.integers(1, FOLLOW_UP_DAYS, owner.size)
    # Disposal before the end of the waiting period, usually a few months on.
    latest = FOLLOW_UP_DAYS + WAITING_DAYS - 1 - day
    add(owner, day, np.round(latest * rng.beta(1.2, 3.0, owner.size)), (rng.random(owner.size) < 0.15).astype(int))

    unproven = np.repeat(np.arange(n), rng.poisson(0.3 * rate))
    day = rng.integers(1, FOLLOW_UP_DAYS, unproven.size)
    add(unproven, day, rng.integers(20, 200, unproven.size), 2 + (rng.random(unproven.size) < 0.5))

    late = np.repeat(np.arange(n), rng.poisson(0.1 * rate))
    day = rng.integers(200, FOLLOW_UP_DAYS, late.size)
    after_waiting = FOLLOW_UP_DAYS + WAITING_DAYS + 1 + rng.integers(0, 120, late.size)
    add(late, day, after_waiting - day, np.zeros(late.size))

    beyond = np.repeat(np.arange(n), rng.poisson(0.6 * rate))
    day = rng.integers(FOLLOW_UP_DAYS + 1, 2 * FOLLOW_UP_DAYS, beyond.size)
    add(beyond, day, rng.integers(20, 200, beyond.size), np.zeros(beyond.size))

    on_index = np.flatnonzero(rng.random(n) < 0.03)
    add(on_index, np.zeros(on_index.size), rng.integers(1, 60, on_index.size), np.zeros(on_index.size))

    history = np.repeat(np.arange(n), np.minimum(prior, 2))
    day = -rng.integers(60, 1500, history.size)
    add(history, day, rng.integers(10, 50, history.size), (rng.random(history.size) < 0.2).astype(int))

    owner, day, delay, disposal = (np.concatenate(x) for x in zip(*parts))
    offence_date = index[owner] + pd.to_timedelta(day, unit="D")
    events = pd.DataFrame(
        {
            "person_id": person_id[owner],
            "offence_date": offence_date,
            "disposal_date": offence_date + pd.to_timedelta(delay, unit="D"),
            "disposal": pd.Categorical.from_codes(disposal, DISPOSALS),
        }
    )
    return events, counting


def _services(
    rng: np.random.Generator, person_id: np.ndarray, start: pd.DatetimeIndex, hours: np.ndarray
) -> pd.DataFrame:
    """Service contacts: about one and a half hours each over the first nine months."""
    sessions = 1 + rng.poisson(hours / 1.5)
    owner = np.repeat(np.arange(len(hours)), sessions)
    share = rng.gamma(2.0, 1.0, owner.size)
    share /= np.bincount(owner, weights=share, minlength=len(hours))[owner]
    return pd.DataFrame(
        {
            "person_id": person_id[owner],
            "date": start[owner] + pd.to_timedelta(rng.integers(0, 274, owner.size), unit="D"),
            "hours": np.round(np.maximum(hours[owner] * share, 0.05), 2),
            "service": pd.Categorical.from_codes(rng.integers(0, len(SERVICES), owner.size).astype(np.int8), SERVICES),
        }
    ).sort_values(["person_id", "date"], ignore_index=True)


def _assessments(
    rng: np.random.Generator,
    people: pd.DataFrame,
    complexity: np.ndarray,
    dose: np.ndarray,
    effects: Mapping[str, float],
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    """Intermediate outcomes at baseline and about every three months."""
    n, t = len(people), len(OCCASION_DAYS)
    # Share of the full effect reached at each occasion: none at baseline,
    # all of it from nine months.
    progress = np.minimum(np.array(OCCASION_DAYS) / 273.0, 1.0)
    gain = np.outer(dose, progress)
    offset = rng.integers(-14, 15, (n, t))
    offset[:, 0] = rng.integers(0, 15, n)
    dates = people["start_date"].to_numpy()[:, None] + (np.array(OCCASION_DAYS) + offset).astype("timedelta64[D]")
    # Monotone dropout: harder cases drop out sooner.
    stay = rng.random((n, t)) < expit(2.6 - 0.5 * complexity[:, None] - 0.25 * np.arange(t))
    stay[:, 0] = rng.random(n) < 0.97
    seen = np.cumprod(stay, axis=1).astype(bool) & (dates <= np.datetime64(as_of))
    needs = {name: people[name].to_numpy() for name in NEEDS}
    blocks: list[pd.DataFrame] = []

    def add(instrument: str, item: str, score: np.ndarray, keep: np.ndarray) -> None:
        i, j = np.nonzero(keep)
        blocks.append(
            pd.DataFrame(
                {
                    "person_id": people["person_id"].to_numpy()[i],
                    "instrument": instrument,
                    "item": item,
                    "score": score[i, j].astype(float),
                    "assessed_on": dates[i, j],
                }
            )
        )

    theta = rng.normal(-0.4 * complexity, 1.0)[:, None] + effects["self_esteem_sd"] * gain + rng.normal(0, 0.3, (n, t))
    thresholds = np.array([-1.6, -0.4, 0.9])
    for q in range(1, 11):
        agree = ((theta[..., None] + rng.logistic(0, 0.6, (n, t, 1))) > thresholds).sum(axis=2)
        raw = 3 - agree if q in ROSENBERG_NEGATIVE else agree
        add("rosenberg", f"q{q}", raw, seen & (rng.random((n, t)) > 0.02))

    for instrument, need in LADDERS.items():
        penalty = 1.2 * needs[need] if need else 0.0
        base = 5.2 - 1.0 * complexity - penalty + rng.normal(0, 1.2, n)
        ladder = base[:, None] + effects["ladder_points"] * gain + rng.normal(0, 0.7, (n, t))
        add(instrument, "ladder", np.clip(np.round(ladder), 1, 10), seen)

    # Accommodation: 1 = no fixed abode, 2 = unsettled, 3 = settled.
    status = np.empty((n, t), dtype=np.int64)
    housing_need = needs["need_accommodation"]
    status[:, 0] = np.where(housing_need, np.where(rng.random(n) < 0.35, 1, 2), np.where(rng.random(n) < 0.85, 3, 2))
    for k in range(1, t):
        prev = status[:, k - 1]
        settle = rng.random(n) < expit(-1.3 - 0.4 * complexity + effects["settled_log_odds"] * dose)
        lose = rng.random(n) < expit(-2.6 + 0.4 * complexity)
        nfa_to_unsettled = rng.random(n) < 0.3
        status[:, k] = np.select(
            [(prev < 3) & settle, (prev == 3) & lose, (prev == 1) & nfa_to_unsettled], [3, 2, 2], default=prev
        )
    add("accommodation_status", "status", status, seen)

    family = needs["need_family"]
    contact = (2.3 - 0.5 * complexity - 1.0 * family + rng.normal(0, 0.9, n))[:, None]
    contact = contact + effects["family_contact_points"] * gain + rng.normal(0, 0.4, (n, t))
    add("family_contact", "contact_frequency", np.clip(np.round(contact), 0, 4), seen)
    living = np.empty((n, t), dtype=np.int64)
    living[:, 0] = rng.random(n) < expit(-0.4 - 0.5 * complexity - 1.0 * family)
    for k in range(1, t):
        reconnect = rng.random(n) < expit(-2.2 + 0.7 * effects["family_contact_points"] * dose)
        living[:, k] = living[:, k - 1] | reconnect
    add("family_contact", "living_with_family", living, seen)

    out = pd.concat(blocks, ignore_index=True).sort_values(["person_id", "assessed_on", "instrument", "item"])
    return out.reset_index(drop=True)


def _pool(rng: np.random.Generator, n_pool: int) -> pd.DataFrame:
    cov = draw_covariates(n_pool, rng, "pool")
    mu = expected_reoffences(cov)
    count = rng.poisson(mu * rng.gamma(DISPERSION, 1 / DISPERSION, n_pool))
    # The first of N uniform days in 1..364 is 1 + floor(364 * Beta(1, N)).
    first = 1 + np.floor((FOLLOW_UP_DAYS - 1) * rng.beta(1.0, np.maximum(count, 1)))
    pool = pd.DataFrame(
        {
            "person_id": _person_ids("P", n_pool, 7),
            "start_date": _random_dates(rng, n_pool, "2022-07-01", "2024-03-31"),
        }
    )
    pool = pd.concat([pool, cov], axis=1)
    pool.insert(5, "provider_id", pd.Series(pd.NA, index=pool.index, dtype="string"))
    pool.insert(6, "in_programme", False)
    pool["reoffended"] = count > 0
    pool["reoffences"] = count.astype(np.int64)
    pool["days_to_first"] = np.where(count > 0, first, np.nan)
    return pool


def make_world(
    seed: int = 0,
    n_eligible: int = 5_000,
    n_pool: int = 200_000,
    n_providers: int = 12,
    creaming: float | Sequence[float] = 0.0,
    parking: float | Sequence[float] = 0.0,
    effects: Mapping[str, float] | None = None,
    enrolment_rate: float = 0.6,
    as_of: str = "2025-09-30",
) -> World:
    """Build a synthetic world of eligible people, providers, records and a pool.

    Parameters
    ----------
    seed : int
        Seed for numpy's ``default_rng``: the same seed gives the same world.
    n_eligible : int
        People eligible for referral (the intention-to-treat cohort).
    n_pool : int
        Size of the national comparison pool.
    n_providers : int
        Providers the eligible people are referred to (unequal sizes).
    creaming : float or sequence of float
        Enrolment log-odds fall linearly with the difficulty percentile so that
        the odds at the centre of the hardest decile are ``2 ** -creaming`` times
        those at the centre of the easiest. One value per provider allowed.
    parking : float or sequence of float
        Expected service hours fall likewise by a factor ``2 ** -parking`` from
        the easiest to the hardest decile. At 0 hours do not depend on difficulty.
    effects : mapping, optional
        Overrides of ``DEFAULT_EFFECTS`` (true programme effects).
    enrolment_rate : float
        Enrolment probability of an eligible person when nobody creams.
    as_of : str
        Date of the data extract. Referrals run from 2023-01-01 to 2024-06-30,
        so people referred after 2024-04-01 have not completed follow-up plus
        waiting by the default date.

    Returns
    -------
    World
        Tables ``eligible``, ``people`` (the enrolled), ``offences`` (all eligible
        people, as known at ``as_of``), ``services``, ``assessments``, ``pool``,
        and ``truth``.

    Examples
    --------
    >>> w = make_world(seed=3, n_eligible=300, n_pool=1_000, creaming=1.0)
    >>> w.truth.params["creaming"]
    1.0
    >>> bool(w.truth.effects["reoffended_diff"] < 0)
    True
    """
    for name, value, low in (("n_eligible", n_eligible, 1), ("n_pool", n_pool, 0), ("n_providers", n_providers, 1)):
        if int(value) != value or value < low:
            raise SpecError(
                f"The {name!r} parameter of make_world must be an integer >= {low}. Got {value!r} instead.", key=name
            )
    if not 0 < enrolment_rate < 1:
        raise SpecError(
            f"The 'enrolment_rate' parameter of make_world must be in (0, 1). Got {enrolment_rate!r} instead.",
            key="enrolment_rate",
        )
    unknown = set(effects or {}) - set(DEFAULT_EFFECTS)
    if unknown:
        raise SpecError(
            f"The 'effects' parameter of make_world takes keys {sorted(DEFAULT_EFFECTS)}. "
            f"Got unknown {sorted(unknown)}.",
            key="effects",
        )
    eff = {**DEFAULT_EFFECTS, **(effects or {})}
    cream = _per_provider(creaming, n_providers, "creaming")
    park = _per_provider(parking, n_providers, "parking")
    as_of_ts = pd.Timestamp(as_of)
    rng = np.random.default_rng(seed)

    n = n_eligible
    cov = draw_covariates(n, rng, "eligible")
    person_id = _person_ids("E", n, 6)
    provider = rng.choice(n_providers, size=n, p=rng.dirichlet(np.full(n_providers, 3.0)))
    referral = _random_dates(rng, n, "2023-01-01", "2024-06-30")

    mu0 = expected_reoffences(cov)
    difficulty = chance_of_reoffending(mu0)
    slope = difficulty_slope(difficulty)

    p_neutral = np.full(n, enrolment_rate)
    p_enrol = enrolment_probability(slope, cream[provider], enrolment_rate)
    draw = rng.random(n)
    enrolled = draw < p_enrol

    hours_neutral = neutral_hours(rng, n)
    hours = service_hours(hours_neutral, slope, park[provider])
    rate_ratio = eff["reoffending_rate_ratio"] ** (hours / MEAN_HOURS)
    mu1 = mu0 * rate_ratio

    eligible = pd.DataFrame(
        {
            "person_id": person_id,
            "referral_date": referral,
            "provider_id": pd.Categorical.from_codes(provider, [f"PRV{j + 1:02d}" for j in range(n_providers)]),
            "enrolled": enrolled,
        }
    )
    eligible = pd.concat([eligible, cov], axis=1)

    # Follow-up starts at referral (release), for the enrolled and for the rest
    # of the intention-to-treat cohort alike.
    events, _ = _offence_events(
        rng, referral.to_numpy(), np.where(enrolled, mu1, mu0), cov["prior_offences"].to_numpy(), person_id
    )
    known = (events["offence_date"] <= as_of_ts) & (events["disposal_date"] <= as_of_ts)
    offences = events[known].sort_values(["person_id", "offence_date"], ignore_index=True)

    people = eligible[enrolled].drop(columns=["enrolled", "referral_date"]).reset_index(drop=True)
    people.insert(1, "start_date", eligible.loc[enrolled, "referral_date"].to_numpy())
    people.insert(6, "in_programme", True)
    people = people[
        [
            "person_id",
            "start_date",
            "sex",
            "ethnicity",
            "age",
            "provider_id",
            "in_programme",
            *[
                c
                for c in people.columns
                if c not in ("person_id", "start_date", "sex", "ethnicity", "age", "provider_id", "in_programme")
            ],
        ]
    ]

    latent = (np.log(mu0) - np.log(mu0).mean()) / np.log(mu0).std()
    services = _services(rng, person_id[enrolled], referral[enrolled], hours[enrolled])
    assessments = _assessments(rng, people, latent[enrolled], hours[enrolled] / MEAN_HOURS, eff, as_of_ts)
    pool = _pool(rng, n_pool)

    p0, p1 = difficulty, chance_of_reoffending(mu1)
    truth_people = pd.DataFrame(
        {
            "person_id": person_id,
            "difficulty": difficulty,
            "p_reoffend_0": p0,
            "p_reoffend_1": p1,
            "mu_0": mu0,
            "mu_1": mu1,
            "p_enrol": p_enrol,
            "p_enrol_neutral": p_neutral,
            "hours": hours,
            "hours_neutral": hours_neutral,
            "creamed": (draw < p_neutral) & ~enrolled,
            "parked": enrolled & (hours < 0.75 * hours_neutral),
        }
    )
    on = enrolled
    true_effects = {
        "reoffended_diff": float(np.mean(p1[on] - p0[on])) if on.any() else float("nan"),
        "reoffences_ratio": float(mu1[on].sum() / mu0[on].sum()) if on.any() else float("nan"),
        "reoffences_diff": float(np.mean(mu1[on] - mu0[on])) if on.any() else float("nan"),
        **eff,
    }
    params = {
        "seed": seed,
        "n_eligible": n_eligible,
        "n_pool": n_pool,
        "n_providers": n_providers,
        "creaming": creaming,
        "parking": parking,
        "effects": eff,
        "enrolment_rate": enrolment_rate,
        "as_of": as_of,
    }
    return World(
        eligible=eligible,
        people=people,
        offences=offences,
        services=services,
        assessments=assessments,
        pool=pool,
        truth=Truth(effects=true_effects, people=truth_people, params=params),
        as_of=as_of_ts,
    )
