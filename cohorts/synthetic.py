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

Providers can also game how outcomes are *measured* (``measurement=``):
assess people more often in the payment window (best-of-many), rate the
baseline low, leave likely failures unassessed, or reassess failures just
before the window closes. Providers can differ in size (``provider_shares``),
in case-mix (``case_mix``: some are sent harder people) and in enrolment rate,
which is what a screen must not mistake for gaming.

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

from ground.checks import Interval, Options, check_parameter, parameter_error
from ground.dates import DateLike, parse_date
from ground.tables import NEEDS

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
        creaming, parking = self.truth.params["creaming"], self.truth.params["parking"]
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
            "  gaming built in: "
            + (
                f"creaming strength {creaming:g}, parking strength {parking:g}"
                if creaming or parking
                else "no creaming, no parking"
            ),
        ]
        if self.truth.params.get("measurement"):
            lines.append(f"  measurement gaming {self.truth.params['measurement']!r}")
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
    check_parameter(population, "population", "draw_covariates", Options(*_COMPLEXITY_SHIFT))
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
            "sex": pd.Categorical.from_codes(male.astype(np.int8), categories=pd.Index(SEX)),
            "ethnicity": pd.Categorical.from_codes(
                rng.choice(len(ETHNICITY), size=n, p=ETHNICITY_SHARES).astype(np.int8), categories=pd.Index(ETHNICITY)
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
    (negative binomial with shape ``DISPERSION``).

    Parameters
    ----------
    mu : numpy.ndarray
        Each person's expected count of proven reoffences.

    Examples
    --------
    The same chance from scipy's negative binomial (shape 2, success probability ``2 / (2 + mu)``):

    >>> from scipy.stats import nbinom
    >>> p = chance_of_reoffending(np.array([0.8]))
    >>> round(float(p[0]), 6), round(float(nbinom.sf(0, DISPERSION, DISPERSION / (DISPERSION + 0.8))), 6)
    (0.489796, 0.489796)
    """
    return 1.0 - (1.0 + np.asarray(mu) / DISPERSION) ** -DISPERSION


def _per_provider(value: float | Sequence[float], n_providers: int, name: str) -> np.ndarray:
    try:
        arr = np.atleast_1d(np.asarray(value, dtype=float))
    except (TypeError, ValueError):
        arr = np.array([np.nan])
    if arr.size == 1:
        arr = np.repeat(arr, n_providers)
    if arr.shape != (n_providers,) or not np.isfinite(arr).all() or (arr < 0).any():
        raise parameter_error(
            name, "make_world", f"a non-negative number or one per provider ({n_providers} values)", value
        )
    return arr


def difficulty_slope(difficulty: np.ndarray) -> np.ndarray:
    """Each person's place on the difficulty scale that creaming and parking use.

    The percentile rank of ``difficulty``, rescaled to be 0 at the centre of
    the easiest decile and 1 at the centre of the hardest.

    Parameters
    ----------
    difficulty : numpy.ndarray
        Each person's difficulty (their chance of reoffending without the programme).

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

    Parameters
    ----------
    slope : numpy.ndarray
        Each person's place on the difficulty scale (:func:`difficulty_slope`).
    creaming : float or numpy.ndarray
        Strength of creaming (per person, or one for all): 0 for none.
    enrolment_rate : float
        The chance of enrolment at the centre of the easiest decile (everyone's, with no creaming).

    Examples
    --------
    >>> p = enrolment_probability(np.array([0.0, 1.0]), 1.0, 0.6)
    >>> round(float((p[1] / (1 - p[1])) / (p[0] / (1 - p[0]))), 6)
    0.5
    """
    return expit(logit(enrolment_rate) - np.asarray(creaming) * np.log(2) * slope)


def neutral_hours(rng: np.random.Generator, n: int) -> np.ndarray:
    """Service hours each person would get with no parking (gamma, mean ``MEAN_HOURS``).

    Parameters
    ----------
    rng : numpy.random.Generator
        The source of randomness.
    n : int
        People.

    Examples
    --------
    >>> h = neutral_hours(np.random.default_rng(0), 100_000)
    >>> bool(abs(h.mean() - MEAN_HOURS) < 4 * h.std() / len(h) ** 0.5)
    True
    """
    return rng.gamma(2.0, MEAN_HOURS / 2.0, n)


def service_hours(hours_neutral: np.ndarray, slope: np.ndarray, parking: float | np.ndarray) -> np.ndarray:
    """Hours under parking: cut by ``2 ** -parking`` from the easiest decile to the hardest.

    Parameters
    ----------
    hours_neutral : numpy.ndarray
        Each person's hours with no parking (:func:`neutral_hours`).
    slope : numpy.ndarray
        Each person's place on the difficulty scale (:func:`difficulty_slope`).
    parking : float or numpy.ndarray
        Strength of parking (per person, or one for all): 0 for none.

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
            "disposal": pd.Categorical.from_codes(disposal, categories=pd.Index(DISPOSALS)),
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
            "service": pd.Categorical.from_codes(
                rng.integers(0, len(SERVICES), owner.size).astype(np.int8), categories=pd.Index(SERVICES)
            ),
        }
    ).sort_values(["person_id", "date"], ignore_index=True)


#: Measurement gaming a provider may practise (``make_world(measurement=...)``), each a number per provider:
#: ``extra_assessments`` (whole extra occasions in days 91-273 per person: best-of-many),
#: ``baseline_deflation`` (points taken off every 1-10 ladder rating at baseline),
#: ``selective_missingness`` (share of likely failures left unassessed from day 91 on),
#: ``late_reassessment`` (share of people failing at their last assessment in the window who are
#: assessed again in its last fortnight, days 260-273).
MEASUREMENT_GAMING = ("extra_assessments", "baseline_deflation", "selective_missingness", "late_reassessment")
#: The window measurement gaming aims at: the example spec's 3-9 months.
GAMED_WINDOW = (91, 273)
#: A likely failure: the family ladder (the example spec's "family ties") has not gained this much on baseline.
LIKELY_FAILURE_GAIN = 2


@dataclass(frozen=True)
class _Grid:
    """Assessment slots per person: the regular schedule (drawn from the world's main
    random stream, unchanged by measurement gaming) and extra slots (drawn from a
    stream of their own), so a world without measurement gaming is the same world."""

    rng: np.random.Generator
    extra_rng: np.random.Generator
    days: np.ndarray  # (n, T) days from the start; the first len(OCCASION_DAYS) columns are regular
    dates: np.ndarray
    seen: np.ndarray  # recorded (before any selective missingness or late reassessment)
    possible: np.ndarray  # before the person dropped out and known by the as-of date

    @property
    def n_regular(self) -> int:
        return len(OCCASION_DAYS)

    @property
    def n_extra(self) -> int:
        return self.days.shape[1] - self.n_regular

    def draw(self, method: str, *args: Any, tail: tuple[int, ...] = ()) -> np.ndarray:
        """One draw per slot: regular slots from the main stream, extra slots from their own."""
        n = self.days.shape[0]
        main = getattr(self.rng, method)(*args, (n, self.n_regular, *tail))
        if not self.n_extra:
            return main
        return np.concatenate([main, getattr(self.extra_rng, method)(*args, (n, self.n_extra, *tail))], axis=1)

    def progress(self) -> np.ndarray:
        """Share of the full effect reached by each slot: none at baseline, all from nine months."""
        nominal = np.broadcast_to(np.array(OCCASION_DAYS, dtype=float), (self.days.shape[0], self.n_regular))
        return np.minimum(np.concatenate([nominal, self.days[:, self.n_regular :]], axis=1) / 273.0, 1.0)

    def carried(self, regular: np.ndarray) -> np.ndarray:
        """A state held between regular occasions: each extra slot takes the latest regular value."""
        if not self.n_extra:
            return regular
        reg_days = self.days[:, : self.n_regular]
        latest = (reg_days[:, None, :] <= self.days[:, self.n_regular :, None]).sum(axis=2) - 1
        extra = np.take_along_axis(regular, np.maximum(latest, 0), axis=1)
        return np.concatenate([regular, extra], axis=1)


def _schedule(
    rng: np.random.Generator,
    extra_rng: np.random.Generator,
    people: pd.DataFrame,
    complexity: np.ndarray,
    gaming: Mapping[str, np.ndarray],
    as_of: pd.Timestamp,
) -> _Grid:
    """Regular occasions at baseline and about every three months (harder cases drop out
    sooner), plus each person's extra occasions and a late slot when their provider games."""
    n, t = len(people), len(OCCASION_DAYS)
    offset = rng.integers(-14, 15, (n, t))
    offset[:, 0] = rng.integers(0, 15, n)
    days = np.array(OCCASION_DAYS) + offset
    stay = rng.random((n, t)) < expit(2.6 - 0.5 * complexity[:, None] - 0.25 * np.arange(t))
    stay[:, 0] = rng.random(n) < 0.97
    kept = np.cumprod(stay, axis=1).astype(bool)
    possible = kept
    extra = np.round(gaming["extra_assessments"]).astype(np.int64)
    late = int((gaming["late_reassessment"] > 0).any())
    n_extra = int(extra.max(initial=0)) + late
    if n_extra:
        # Extra occasions fall anywhere in the window; the late slot in its last fortnight.
        lo = np.r_[np.full(n_extra - late, GAMED_WINDOW[0]), np.full(late, GAMED_WINDOW[1] - 13)]
        extra_days = extra_rng.integers(lo, GAMED_WINDOW[1] + 1, (n, n_extra))
        days = _distinct_days(np.concatenate([days, extra_days], axis=1), t)
        dropped = np.where(
            kept.all(axis=1), np.inf, np.take_along_axis(days, np.argmin(kept, axis=1)[:, None], 1)[:, 0]
        )
        possible = np.concatenate([kept, days[:, t:] < dropped[:, None]], axis=1)
        slots = np.arange(n_extra) < extra[:, None]
        slots[:, n_extra - late :] = False  # the late slot is decided after the ratings
        kept = np.concatenate([kept, slots & possible[:, t:]], axis=1)
    dates = people["start_date"].to_numpy()[:, None] + days.astype("timedelta64[D]")
    known = dates <= np.datetime64(as_of)
    return _Grid(rng, extra_rng, days, dates, kept & known, possible & known)


def _distinct_days(days: np.ndarray, n_regular: int) -> np.ndarray:
    """Move extra slots off days a person already has an occasion on (one day later each time)."""
    days = days.copy()
    for k in range(n_regular, days.shape[1]):
        while True:
            clash = (days[:, :k] == days[:, k : k + 1]).any(axis=1)
            if not clash.any():
                break
            days[clash, k] += 1
    return days


def _ratings(grid: _Grid, people: pd.DataFrame, complexity: np.ndarray, dose: np.ndarray, effects) -> dict:
    """Every instrument's value at every slot (people x slots), keyed by (instrument, item)."""
    n = len(people)
    gain = dose[:, None] * grid.progress()
    needs = {name: people[name].to_numpy() for name in NEEDS}
    values: dict[tuple[str, str], np.ndarray] = {}
    person = grid.rng.normal(-0.4 * complexity, 1.0)
    theta = person[:, None] + effects["self_esteem_sd"] * gain + grid.draw("normal", 0, 0.3)
    thresholds = np.array([-1.6, -0.4, 0.9])
    for q in range(1, 11):
        agree = ((theta[..., None] + grid.draw("logistic", 0, 0.6, tail=(1,))) > thresholds).sum(axis=2)
        # Items a person skipped are marked with -1 and left out when the rows are written.
        answered = grid.draw("random") > 0.02
        values["rosenberg", f"q{q}"] = np.where(answered, 3 - agree if q in ROSENBERG_NEGATIVE else agree, -1)
    for instrument, need in LADDERS.items():
        penalty = 1.2 * needs[need] if need else 0.0
        base = 5.2 - 1.0 * complexity - penalty + grid.rng.normal(0, 1.2, n)
        ladder = base[:, None] + effects["ladder_points"] * gain + grid.draw("normal", 0, 0.7)
        values[instrument, "ladder"] = np.clip(np.round(ladder), 1, 10)
    values["accommodation_status", "status"] = grid.carried(_accommodation(grid.rng, needs, complexity, dose, effects))
    family = needs["need_family"]
    contact = (2.3 - 0.5 * complexity - 1.0 * family + grid.rng.normal(0, 0.9, n))[:, None]
    contact = contact + effects["family_contact_points"] * gain + grid.draw("normal", 0, 0.4)
    values["family_contact", "contact_frequency"] = np.clip(np.round(contact), 0, 4)
    t = grid.n_regular
    living = np.empty((n, t), dtype=np.int64)
    living[:, 0] = grid.rng.random(n) < expit(-0.4 - 0.5 * complexity - 1.0 * family)
    for k in range(1, t):
        reconnect = grid.rng.random(n) < expit(-2.2 + 0.7 * effects["family_contact_points"] * dose)
        living[:, k] = living[:, k - 1] | reconnect
    values["family_contact", "living_with_family"] = grid.carried(living)
    return values


def _accommodation(rng, needs, complexity, dose, effects) -> np.ndarray:
    """Accommodation at the regular occasions: 1 = no fixed abode, 2 = unsettled, 3 = settled."""
    n, t = len(complexity), len(OCCASION_DAYS)
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
    return status


def _measurement_gaming(grid: _Grid, values: dict, gaming: Mapping[str, np.ndarray]) -> tuple[np.ndarray, dict]:
    """Deflate baselines, leave likely failures unassessed and reassess late failures, as each
    person's provider does; returns the recorded slots and who was affected."""
    n, t = grid.days.shape[0], grid.n_regular
    seen = grid.seen.copy()
    deflation = gaming["baseline_deflation"]
    for instrument in LADDERS:
        values[instrument, "ladder"][:, 0] = np.maximum(values[instrument, "ladder"][:, 0] - np.round(deflation), 1)
    family = values["ladder_family", "ladder"]
    failing = family - family[:, :1] < LIKELY_FAILURE_GAIN
    in_window = (grid.days >= GAMED_WINDOW[0]) & (grid.days <= GAMED_WINDOW[1])
    # Selective missingness: judged at the six-month occasion, which always falls in the window.
    draws = grid.extra_rng.random((n, 2)) if any(gaming[k].any() for k in MEASUREMENT_GAMING[2:]) else np.ones((n, 2))
    hidden = seen[:, 2] & failing[:, 2] & (draws[:, 0] < gaming["selective_missingness"])
    seen &= ~(hidden[:, None] & (grid.days >= GAMED_WINDOW[0]))
    late = np.zeros(n, dtype=bool)
    if (gaming["late_reassessment"] > 0).any():
        regular = seen[:, :t] & in_window[:, :t]
        last = np.where(regular.any(axis=1), t - 1 - np.argmax(regular[:, ::-1], axis=1), -1)
        last_failed = (last >= 0) & np.take_along_axis(failing[:, :t], np.maximum(last, 0)[:, None], 1)[:, 0]
        late = last_failed & ~hidden & grid.possible[:, -1] & (draws[:, 1] < gaming["late_reassessment"])
        seen[:, -1] = late
    return seen, {"baseline_deflated": deflation > 0, "hidden": hidden, "late_reassessed": late}


def _assessments(
    rng: np.random.Generator,
    people: pd.DataFrame,
    complexity: np.ndarray,
    dose: np.ndarray,
    effects: Mapping[str, float],
    as_of: pd.Timestamp,
    gaming: Mapping[str, np.ndarray],
    extra_rng: np.random.Generator,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Intermediate outcomes at baseline and about every three months, as the providers record them.

    Returns the assessment rows and, per person, who was affected by measurement gaming.
    """
    grid = _schedule(rng, extra_rng, people, complexity, gaming, as_of)
    values = _ratings(grid, people, complexity, dose, effects)
    seen, affected = _measurement_gaming(grid, values, gaming)
    ids = people["person_id"].to_numpy()
    blocks = []
    for (instrument, item), score in values.items():
        i, j = np.nonzero(seen & (score >= 0))
        blocks.append(
            pd.DataFrame(
                {
                    "person_id": ids[i],
                    "instrument": instrument,
                    "item": item,
                    "score": score[i, j].astype(float),
                    "assessed_on": grid.dates[i, j],
                }
            )
        )
    out = pd.concat(blocks, ignore_index=True).sort_values(["person_id", "assessed_on", "instrument", "item"])
    affected["extra_assessments"] = (seen[:, grid.n_regular :].sum(axis=1) - affected["late_reassessed"]).astype(int)
    return out.reset_index(drop=True), affected


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


def _world_arguments(params: Mapping[str, Any]) -> dict[str, Any]:
    """Check make_world's arguments; per-provider values as arrays of length ``n_providers``."""
    caller = "make_world"
    seed, n_providers = params["seed"], params["n_providers"]
    check_parameter(seed, "seed", caller, Interval(int, 0, None))
    for name, low in (("n_eligible", 1), ("n_pool", 0), ("n_providers", 1)):
        check_parameter(params[name], name, caller, Interval(int, low, None))
    check_parameter(params["case_mix"], "case_mix", caller, Interval(float, 0, None))
    effects, measurement = params["effects"], params["measurement"]
    unknown = set(effects or {}) - set(DEFAULT_EFFECTS)
    if unknown:
        raise parameter_error("effects", caller, f"a mapping with keys among {sorted(DEFAULT_EFFECTS)}", effects)
    unknown = set(measurement or {}) - set(MEASUREMENT_GAMING)
    if unknown:
        raise parameter_error(
            "measurement", caller, f"a mapping with keys among {list(MEASUREMENT_GAMING)}", measurement
        )
    rate = _per_provider(params["enrolment_rate"], n_providers, "enrolment_rate")
    if not ((rate > 0) & (rate < 1)).all():
        must = "in (0, 1), one number or one per provider"
        raise parameter_error("enrolment_rate", caller, must, params["enrolment_rate"])
    given = params["provider_shares"]
    shares = None if given is None else _per_provider(given, n_providers, "provider_shares")
    if shares is not None and not (shares > 0).all():
        raise parameter_error("provider_shares", caller, "positive, one per provider", given)
    gaming = {k: _per_provider((measurement or {}).get(k, 0.0), n_providers, k) for k in MEASUREMENT_GAMING}
    for k in ("selective_missingness", "late_reassessment"):
        if (gaming[k] > 1).any():
            raise parameter_error(k, caller, "a share in [0, 1], one number or one per provider", measurement[k])
    return {
        "creaming": _per_provider(params["creaming"], n_providers, "creaming"),
        "parking": _per_provider(params["parking"], n_providers, "parking"),
        "service_level": _per_provider(params["service_level"], n_providers, "service_level"),
        "effects": {**DEFAULT_EFFECTS, **(effects or {})},
        "rate": rate,
        "shares": shares,
        "case_mix": float(params["case_mix"]),
        "gaming": gaming,
        "as_of": params["as_of"],
    }


def _providers(rng: np.random.Generator, n_providers: int, latent: np.ndarray, shares, case_mix: float) -> np.ndarray:
    """Each referral's provider: sizes from ``shares`` (else drawn, unequal); with ``case_mix``
    the providers further down the list are sent more complex people."""
    if case_mix == 0:
        p = rng.dirichlet(np.full(n_providers, 3.0)) if shares is None else shares / shares.sum()
        return rng.choice(n_providers, size=len(latent), p=p)
    sizes = np.ones(n_providers) if shares is None else shares
    tilt = np.linspace(-1.0, 1.0, n_providers) if n_providers > 1 else np.zeros(1)
    weight = sizes * np.exp(case_mix * np.outer(latent, tilt))
    cumulative = np.cumsum(weight / weight.sum(axis=1, keepdims=True), axis=1)
    return np.minimum((rng.random(len(latent))[:, None] > cumulative).sum(axis=1), n_providers - 1)


def _people_table(eligible: pd.DataFrame, enrolled: np.ndarray) -> pd.DataFrame:
    """The enrolled cohort: the people table's columns first, the covariates after."""
    people = eligible[enrolled].drop(columns=["enrolled", "referral_date"]).reset_index(drop=True)
    people.insert(1, "start_date", eligible.loc[enrolled, "referral_date"].to_numpy())
    people.insert(6, "in_programme", True)
    first = ["person_id", "start_date", "sex", "ethnicity", "age", "provider_id", "in_programme"]
    return people[first + [c for c in people.columns if c not in first]]


def _truth(draws: Mapping[str, np.ndarray], affected: Mapping[str, np.ndarray], eff: dict, params: dict) -> Truth:
    on = draws["enrolled"]
    p0, p1 = draws["difficulty"], chance_of_reoffending(draws["mu1"])
    per_enrolled = {k: np.zeros(len(on), dtype=np.asarray(v).dtype) for k, v in affected.items()}
    for k, v in affected.items():
        per_enrolled[k][on] = v
    people = pd.DataFrame(
        {
            "person_id": draws["person_id"],
            "difficulty": p0,
            "p_reoffend_0": p0,
            "p_reoffend_1": p1,
            "mu_0": draws["mu0"],
            "mu_1": draws["mu1"],
            "p_enrol": draws["p_enrol"],
            "p_enrol_neutral": draws["p_neutral"],
            "hours": draws["hours"],
            "hours_neutral": draws["hours_neutral"],
            "creamed": (draws["draw"] < draws["p_neutral"]) & ~on,
            "parked": on & (draws["hours"] < 0.75 * draws["hours_neutral"]),
            **per_enrolled,
        }
    )
    effects = {
        "reoffended_diff": float(np.mean(p1[on] - p0[on])) if on.any() else float("nan"),
        "reoffences_ratio": float(draws["mu1"][on].sum() / draws["mu0"][on].sum()) if on.any() else float("nan"),
        "reoffences_diff": float(np.mean(draws["mu1"][on] - draws["mu0"][on])) if on.any() else float("nan"),
        **eff,
    }
    return Truth(effects=effects, people=people, params=params)


def _draw_eligible(rng: np.random.Generator, n: int, n_providers: int, args: Mapping[str, Any]) -> dict[str, Any]:
    """Referrals, their providers, enrolment and service hours (people x values)."""
    cov = draw_covariates(n, rng, "eligible")
    person_id = _person_ids("E", n, 6)
    mu0 = expected_reoffences(cov)
    latent = (np.log(mu0) - np.log(mu0).mean()) / np.log(mu0).std()
    provider = _providers(rng, n_providers, latent, args["shares"], args["case_mix"])
    referral = _random_dates(rng, n, "2023-01-01", "2024-06-30")
    difficulty = chance_of_reoffending(mu0)
    slope = difficulty_slope(difficulty)
    rate = args["rate"][provider]
    p_enrol = enrolment_probability(slope, args["creaming"][provider], rate)
    draw = rng.random(n)
    hours_neutral = neutral_hours(rng, n)
    hours_neutral = hours_neutral * args["service_level"][provider]
    hours = service_hours(hours_neutral, slope, args["parking"][provider])
    mu1 = mu0 * args["effects"]["reoffending_rate_ratio"] ** (hours / MEAN_HOURS)
    return dict(
        cov=cov,
        person_id=person_id,
        provider=provider,
        referral=referral,
        mu0=mu0,
        mu1=mu1,
        latent=latent,
        difficulty=difficulty,
        p_neutral=rate,
        p_enrol=p_enrol,
        draw=draw,
        enrolled=draw < p_enrol,
        hours=hours,
        hours_neutral=hours_neutral,
    )


def make_world(
    seed: int = 0,
    n_eligible: int = 5_000,
    n_pool: int = 200_000,
    n_providers: int = 12,
    creaming: float | Sequence[float] = 0.0,
    parking: float | Sequence[float] = 0.0,
    effects: Mapping[str, float] | None = None,
    enrolment_rate: float | Sequence[float] = 0.6,
    as_of: DateLike = "2025-09-30",
    *,
    provider_shares: Sequence[float] | None = None,
    case_mix: float = 0.0,
    service_level: float | Sequence[float] = 1.0,
    measurement: Mapping[str, float | Sequence[float]] | None = None,
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
        Providers the eligible people are referred to.
    creaming : float or sequence of float
        Enrolment log-odds fall linearly with the difficulty percentile so that
        the odds at the centre of the hardest decile are ``2 ** -creaming`` times
        those at the centre of the easiest. One value per provider allowed.
    parking : float or sequence of float
        Expected service hours fall likewise by a factor ``2 ** -parking`` from
        the easiest to the hardest decile. At 0 hours do not depend on difficulty.
    effects : mapping, optional
        Overrides of ``DEFAULT_EFFECTS`` (true programme effects).
    enrolment_rate : float or sequence of float
        Enrolment probability of an eligible person when nobody creams; one per
        provider allowed (providers may differ in how many they take on).
    as_of : DateLike
        Date of the data extract. Referrals run from 2023-01-01 to 2024-06-30,
        so people referred after 2024-04-01 have not completed follow-up plus
        waiting by the default date.
    provider_shares : sequence of float, optional
        Relative sizes of the providers (default: drawn from a Dirichlet(3),
        so sizes are unequal).
    case_mix : float, default 0
        How much the providers differ in case-mix: provider ``j`` of ``P`` is
        sent people in proportion to ``exp(case_mix * a_j * z)``, with ``z``
        the standardised log expected reoffences and ``a_j`` running from -1
        (PRV01, the easiest referrals) to 1 (the hardest). Within a provider,
        enrolment and hours still depend on difficulty only through creaming
        and parking.
    service_level : float or sequence of float, default 1
        Multiplies every enrolled person's expected hours, one per provider
        allowed: providers may differ in how much they give everyone, which
        is not parking.
    measurement : mapping, optional
        Measurement gaming per provider (one number or one per provider):
        ``extra_assessments`` (whole extra occasions in days 91-273 for each
        enrolled person: best-of-many), ``baseline_deflation`` (points taken
        off every 1-10 ladder rating at baseline), ``selective_missingness``
        (share of likely failures, whose family ladder has not gained 2 points
        by the six-month assessment, left unassessed from day 91 on) and
        ``late_reassessment`` (share of people failing that test at their last
        assessment in the window who are assessed again in days 260-273).
        Extra occasions come from a random stream of their own: without
        measurement gaming the world is the same as before it existed.

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
    params = {
        "seed": seed,
        "n_eligible": n_eligible,
        "n_pool": n_pool,
        "n_providers": n_providers,
        "creaming": creaming,
        "parking": parking,
        "effects": effects,
        "enrolment_rate": enrolment_rate,
        "as_of": parse_date(as_of, "The 'as_of' parameter of make_world"),
        "provider_shares": provider_shares,
        "case_mix": case_mix,
        "service_level": service_level,
        "measurement": dict(measurement or {}),
    }
    args = _world_arguments(params)
    params["effects"] = args["effects"]
    rng = np.random.default_rng(seed)
    d = _draw_eligible(rng, n_eligible, n_providers, args)
    enrolled, person_id, referral = d["enrolled"], d["person_id"], d["referral"]
    providers = [f"PRV{j + 1:02d}" for j in range(n_providers)]
    eligible = pd.DataFrame(
        {
            "person_id": person_id,
            "referral_date": referral,
            "provider_id": pd.Categorical.from_codes(d["provider"], categories=pd.Index(providers)),
            "enrolled": enrolled,
        }
    )
    eligible = pd.concat([eligible, d["cov"]], axis=1)
    # Follow-up starts at referral (release), for the enrolled and for the rest
    # of the intention-to-treat cohort alike.
    events, _ = _offence_events(
        rng,
        referral.to_numpy(),
        np.where(enrolled, d["mu1"], d["mu0"]),
        d["cov"]["prior_offences"].to_numpy(),
        person_id,
    )
    known = (events["offence_date"] <= args["as_of"]) & (events["disposal_date"] <= args["as_of"])
    people = _people_table(eligible, enrolled)
    services = _services(rng, person_id[enrolled], referral[enrolled], d["hours"][enrolled])
    gaming = {k: v[d["provider"][enrolled]] for k, v in args["gaming"].items()}
    extra_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    assessments, affected = _assessments(
        rng,
        people,
        d["latent"][enrolled],
        d["hours"][enrolled] / MEAN_HOURS,
        args["effects"],
        args["as_of"],
        gaming,
        extra_rng,
    )
    return World(
        eligible=eligible,
        people=people,
        offences=events[known].sort_values(["person_id", "offence_date"], ignore_index=True),
        services=services,
        assessments=assessments,
        pool=_pool(rng, n_pool),
        truth=_truth(d, affected, args["effects"], params),
        as_of=args["as_of"],
    )


# ---------------------------------------------------------------- names and dates of birth, for linkage

# Syllables that names are built from: made-up names, so no real person's name is in a test.
_ONSETS = ("b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "br", "ch", "cl", "dr")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "ee", "ie", "oo", "ou", "y")
_CODAS = ("", "", "", "n", "r", "l", "s", "th", "m", "ck", "nd", "rt", "ll", "ss", "ton", "son", "ley", "man")
#: Distinct first names per sex and surnames, and the offsets ``a`` of their frequencies (a name of rank r is
#: drawn in proportion to 1 / (r + a)): the commonest surname is about 1.2% of people and the commonest first
#: name about 3% of a sex, roughly as in England and Wales, so many people share a name and some a birthday too.
_NAMES = {"first": (400, 5), "surname": (4_000, 10)}
#: Bytes a made-up name fits in (two syllables and a coda are at most 11 letters).
_WIDTH = 16
#: Chances of each error in a cohort record that ``make_linkage_data`` uses by default.
LINKAGE_ERRORS = {
    "first_name_typo": 0.15,
    "surname_typo": 0.15,
    "other_first_name": 0.02,
    "new_surname": 0.03,
    "day_month_swapped": 0.10,
    "date_of_birth_typo": 0.03,
    "date_of_birth_missing": 0.01,
    "sex_missing": 0.01,
    "pnc_id_missing": 0.25,
}


@dataclass(frozen=True)
class LinkageData:
    """A national people table and a cohort to link to it, with the truth.

    Attributes
    ----------
    people : pandas.DataFrame
        The national table: ``person_id``, ``pnc_id``, ``first_name``, ``surname`` (upper case, as the Police
        National Computer holds them), ``date_of_birth``, ``sex``, ``start_date`` and ``reoffended`` (the
        national pool's outcome, :func:`make_world`'s model).
    cohort : pandas.DataFrame
        A provider's list: ``first_name``, ``surname`` (as typed), ``date_of_birth``, ``sex``, ``pnc_id``,
        with the errors of ``errors``.
    truth : pandas.Series
        Each cohort row's true ``person_id``; missing for people who are not in the national table.
    errors : pandas.DataFrame
        One row per cohort row, one boolean column per kind of error (:data:`LINKAGE_ERRORS`) it was given.
    """

    people: pd.DataFrame
    cohort: pd.DataFrame
    truth: pd.Series
    errors: pd.DataFrame


def make_linkage_data(
    seed: int = 0,
    n_people: int = 20_000,
    n_cohort: int = 1_000,
    *,
    in_people: float = 0.9,
    twins: float = 0.2,
    errors: Mapping[str, float] | None = None,
) -> LinkageData:
    """A Justice Data Lab style request: a cohort with names and dates of birth, and the national table.

    Parameters
    ----------
    seed : int
        Seed for numpy's ``default_rng``.
    n_people, n_cohort : int
        Rows of the national table and of the cohort.
    in_people : float, default 0.9
        Share of the cohort who are in the national table; the others are new people (some may share a
        name and date of birth with someone who is).
    twins : float, default 0.2
        Share of those new people who are the twin of someone in the table: same surname and date of
        birth, their own first name and sex (the near miss a linkage must not take for a match).
    errors : mapping, optional
        Overrides of :data:`LINKAGE_ERRORS`, the chance of each error in a cohort row: a typing error in a
        name (one letter changed), another first name, a new surname, day and month swapped (where the day
        is 12 or less and not the month), a digit of the date of birth's year, month or day typed wrong, a
        missing date of birth, sex or PNC number.

    Returns
    -------
    LinkageData

    Examples
    --------
    >>> d = make_linkage_data(seed=1, n_people=2_000, n_cohort=100)
    >>> len(d.people), len(d.cohort), int(d.truth.notna().sum())
    (2000, 100, 90)
    """
    rates = {**LINKAGE_ERRORS, **dict(errors or {})}
    unknown = sorted(set(rates) - set(LINKAGE_ERRORS))
    if unknown:
        raise parameter_error(
            "errors", "make_linkage_data", f"a mapping with keys among {list(LINKAGE_ERRORS)}", unknown
        )
    for name, value in rates.items():
        check_parameter(value, f"errors[{name!r}]", "make_linkage_data", Interval(float, 0, 1))
    check_parameter(in_people, "in_people", "make_linkage_data", Interval(float, 0, 1))
    check_parameter(twins, "twins", "make_linkage_data", Interval(float, 0, 1))
    rng = np.random.default_rng(seed)
    vocabulary = {
        "first": _name_vocabulary(rng, _NAMES["first"][0]),
        "first_male": _name_vocabulary(rng, _NAMES["first"][0]),
        "surname": _name_vocabulary(rng, _NAMES["surname"][0]),
    }
    pool = _pool(rng, n_people)
    people = _named(rng, pool, vocabulary)
    people.insert(1, "pnc_id", _pnc_ids(rng, n_people))
    people["reoffended"] = pool["reoffended"].to_numpy()
    n_in = round(in_people * n_cohort)
    chosen = rng.choice(n_people, n_in, replace=False)
    newcomers = _named(rng, _pool(rng, n_cohort - n_in), vocabulary)
    twin = rng.random(len(newcomers)) < twins
    sibling = rng.choice(n_people, len(newcomers))
    newcomers.loc[twin, ["surname", "date_of_birth"]] = people.iloc[sibling[twin]][["surname", "date_of_birth"]].values
    columns = ["first_name", "surname", "date_of_birth", "sex"]
    cohort = pd.concat(
        [people.iloc[chosen][[*columns, "pnc_id"]], newcomers[columns].assign(pnc_id=None)], ignore_index=True
    )
    truth = pd.Series([*people["person_id"].iloc[chosen], *[None] * (n_cohort - n_in)], dtype="string")
    made = _linkage_errors(rng, cohort, rates, vocabulary)
    order = rng.permutation(n_cohort)
    people[["first_name", "surname"]] = people[["first_name", "surname"]].apply(lambda c: c.str.upper())
    return LinkageData(
        people=people,
        cohort=cohort.iloc[order].reset_index(drop=True),
        truth=truth.iloc[order].reset_index(drop=True).rename("person_id"),
        errors=made.iloc[order].reset_index(drop=True),
    )


def _name_vocabulary(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct made-up names of two syllables and a coda."""
    draws = 4 * n
    words = pd.Series(rng.choice(_ONSETS, draws)) + rng.choice(_VOWELS, draws)
    words = words + rng.choice(_ONSETS, draws) + rng.choice(_VOWELS, draws) + rng.choice(_CODAS, draws)
    return words.drop_duplicates().to_numpy(dtype=object)[:n]


def _common_names(rng: np.random.Generator, words: np.ndarray, offset: int, n: int) -> np.ndarray:
    weights = 1.0 / (np.arange(1, words.size + 1) + offset)
    return words[rng.choice(words.size, n, p=weights / weights.sum())]


def _named(rng: np.random.Generator, pool: pd.DataFrame, vocabulary: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """People of a pool with names and a date of birth that gives their age on their start date."""
    n, male = len(pool), (pool["sex"] == "male").to_numpy()
    first = np.where(
        male,
        _common_names(rng, vocabulary["first_male"], _NAMES["first"][1], n),
        _common_names(rng, vocabulary["first"], _NAMES["first"][1], n),
    )
    days_old = np.floor(pool["age"].to_numpy() * 365.25) + rng.integers(0, 365, n)
    return pd.DataFrame(
        {
            "person_id": pool["person_id"].to_numpy(),
            "first_name": first,
            "surname": _common_names(rng, vocabulary["surname"], _NAMES["surname"][1], n),
            "date_of_birth": (pool["start_date"] - pd.to_timedelta(days_old, unit="D")).dt.normalize().to_numpy(),
            "sex": pool["sex"].astype(str).to_numpy(),
            "start_date": pool["start_date"].to_numpy(),
        }
    )


def _pnc_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """PNC-style numbers, year/serial and a check letter (``2004/0123456K``), one per person."""
    year = pd.Series(rng.integers(1990, 2024, n)).astype(str)
    serial = pd.Series(rng.permutation(n) + 1)
    letters = np.array(list("ABCDEFGHJKLMNPQRTUVWXYZ"), dtype=object)
    return (year + "/" + serial.astype(str).str.zfill(7) + letters[serial % letters.size]).to_numpy(dtype=object)


def _linkage_errors(
    rng: np.random.Generator, cohort: pd.DataFrame, rates: Mapping[str, float], vocabulary: Mapping[str, np.ndarray]
) -> pd.DataFrame:
    """Give the cohort's records the errors of a list typed by hand; return which row got which."""
    n = len(cohort)
    made = pd.DataFrame({name: rng.random(n) < rate for name, rate in rates.items()})
    dob = cohort["date_of_birth"]
    made["day_month_swapped"] &= (dob.dt.day <= 12).to_numpy() & (dob.dt.day != dob.dt.month).to_numpy()
    for column in ("first_name", "surname"):
        rows = made[f"{column}_typo"].to_numpy()
        cohort.loc[rows, column] = _typed_wrong(rng, cohort.loc[rows, column].to_numpy())
    rows = made["other_first_name"].to_numpy()
    cohort.loc[rows, "first_name"] = rng.choice(
        np.concatenate([vocabulary["first"], vocabulary["first_male"]]), rows.sum()
    )
    rows = made["new_surname"].to_numpy()
    cohort.loc[rows, "surname"] = rng.choice(vocabulary["surname"], rows.sum())
    swapped = pd.to_datetime(
        pd.DataFrame({"year": dob.dt.year, "month": dob.dt.day.clip(upper=12), "day": dob.dt.month})
    )
    mistyped = _digit_typed_wrong(rng, dob)
    made["date_of_birth_typo"] &= mistyped.notna().to_numpy()
    dob = dob.where(~made["day_month_swapped"].to_numpy(), swapped)
    dob = dob.where(~made["date_of_birth_typo"].to_numpy(), mistyped)
    cohort["date_of_birth"] = dob.where(~made["date_of_birth_missing"].to_numpy())
    cohort["sex"] = cohort["sex"].where(~made["sex_missing"].to_numpy())
    cohort["pnc_id"] = cohort["pnc_id"].astype("string").where(~made["pnc_id_missing"].to_numpy())
    cohort[["first_name", "surname"]] = cohort[["first_name", "surname"]].apply(lambda c: c.str.title())
    return made


def _digit_typed_wrong(rng: np.random.Generator, dates: pd.Series) -> pd.Series:
    """Each date with the last digit of its year, month or day typed as another digit (NaT where that is no date)."""
    text = dates.dt.strftime("%Y-%m-%d").to_numpy(dtype="S10")
    digits = text.view(np.uint8).reshape(len(dates), 10).copy()
    where = rng.choice([3, 6, 9], len(dates))
    rows = np.arange(len(dates))
    digits[rows, where] = (digits[rows, where] - ord("0") + rng.integers(1, 10, len(dates))) % 10 + ord("0")
    typed = pd.Series(digits.view("S10").ravel().astype(str), index=dates.index)
    return pd.to_datetime(typed, format="%Y-%m-%d", errors="coerce")


def _typed_wrong(rng: np.random.Generator, names: np.ndarray) -> np.ndarray:
    """Each name (lower-case letters) with one letter replaced by another, vectorised over fixed-width bytes."""
    if names.size == 0:
        return names
    letters = np.array(names, dtype=f"S{_WIDTH}").view(np.uint8).reshape(names.size, _WIDTH).copy()
    where = (rng.random(names.size) * (letters != 0).sum(axis=1)).astype(np.int64)
    rows = np.arange(names.size)
    letters[rows, where] = (letters[rows, where] - ord("a") + rng.integers(1, 26, names.size)) % 26 + ord("a")
    return letters.view(f"S{_WIDTH}").ravel().astype(str).astype(object)
