"""Power, minimum detectable effect and required cohort size for reoffending measures.

A commissioner choosing a metric needs three numbers before a contract starts:
the smallest effect the evaluation can see (minimum detectable effect, MDE), the
cohort it needs to see a given effect (required n), and the chance it sees an
effect of a given size (power). This module gives them for the two proven
reoffending measures, compared between a treated cohort of ``n_treated`` people
and a comparison group of ``ratio * n_treated`` (1:k matching without
replacement gives ``ratio = k``).

Formulas
--------
Every calculation is a normal approximation to a Wald test of "no effect". With
``s`` the signal (the effect on the test's scale) and ``se`` its standard error
at the true rates, the test statistic is approximately ``N(s / se, 1)``, so with
``x = -s / se`` (positive for a reduction) and ``z`` the standard normal quantile,

* one-sided test for a reduction: ``power = Phi(x - z[1 - alpha])``;
* two-sided test: ``power = Phi(x - z[1 - alpha/2]) + Phi(-x - z[1 - alpha/2])``,

the same expression as statsmodels ``normal_power`` (which keeps the far tail).
Required n and MDE invert this numerically. ``se**2 = deff * (v_t / n_treated +
v_c / n_control)``, where ``deff`` is a design effect multiplying the variance
(Kish's ``1 + cv**2`` of the weights, or ``1 + (m - 1) * icc`` for clusters of
size ``m``; less than 1 when matching on prognostic covariates reduces the
variance) and ``v`` the per-person variance on the test's scale:

* binary measure, ``method="wald"`` (default): the unpooled difference in
  proportions, ``s = p_t - p_c``, ``v = p * (1 - p)`` (Fleiss, Levin & Paik,
  *Statistical Methods for Rates and Proportions*, 3rd ed., 2003, section 4.2,
  with the variance under the alternative in both terms). It is the default
  because it is the test the matched comparison actually performs: the
  regression of the outcome on treatment estimates ``p_t - p_c`` with a robust
  variance that is this unpooled variance, so power, MDE and the payment
  thresholds all describe the same estimator.
* binary measure, ``method="arcsine"``: Cohen's ``h = 2 asin(sqrt(p_t)) - 2
  asin(sqrt(p_c))`` with ``v = 1`` (Cohen, *Statistical Power Analysis for the
  Behavioral Sciences*, 2nd ed., 1988, ch. 6), as statsmodels
  ``NormalIndPower`` with ``proportion_effectsize``; offered for agreement with
  that and with G*Power-style tables.
* frequency measure (counts of proven reoffences per person): the log rate
  ratio ``s = log(mu_t / mu_c)`` with ``v = 1 / mu + 1 / k`` for negative
  binomial counts with ``var = mu + mu**2 / k`` (``dispersion=k``; the delta
  method on ``log(mean)``), or ``v = phi / mu`` for ``var = phi * mu``
  (``phi=``), or ``v = 1 / mu`` (Poisson). This is the Wald test of Zhu &
  Lakkis (2014, *Statistics in Medicine* 33:376-387) with the variance taken at
  the true rates for both the null and the alternative term, and it is what the
  Poisson regression with a robust (sandwich) variance in the matched
  comparison estimates. One second-order term is added: the log of a sample
  mean is biased down by about ``v / (2 n)``, more in the smaller treated
  group, so ``s`` is taken as ``log(mu_t / mu_c) - (v_t - v_c / k) / (2 n)``.
  Without it the formula understates power by about a point at 200-300
  treated people (checked against simulation); above 1,000 it hardly matters.

``simulated_power`` checks each formula by drawing whole trials (binomial or
negative binomial counts) and applying the test itself.

Examples
--------
>>> from metrics.power import Design, minimum_detectable_effect
>>> r = minimum_detectable_effect(Design("binary", base_rate=0.45, ratio=3), n_treated=500)
>>> round(r.effect, 3)
-0.071
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize

# scipy.special, not scipy.stats: the same normal functions without loading every distribution at start-up.
from scipy.special import ndtr, ndtri

from ground.checks import Constraint, Interval, Options, check_given, check_parameter, parameter_error

Measure = Literal["binary", "frequency"]
Alternative = Literal["two-sided", "one-sided"]
BinaryMethod = Literal["wald", "arcsine"]

_MEASURES = ("binary", "frequency")
_ALTERNATIVES = ("two-sided", "one-sided")
_METHODS = ("wald", "arcsine")


@dataclass(frozen=True)
class Design:
    """What a power calculation needs besides n, effect and power.

    Attributes
    ----------
    measure : {"binary", "frequency"}
        Binary proven reoffending rate, or the frequency (mean count) of proven
        reoffences per person.
    base_rate : float
        Comparison-group rate: a proportion for ``binary``, a mean count for
        ``frequency``.
    ratio : float
        Comparison-group size per treated person (``n_control = ratio * n_treated``).
    alpha : float
        Significance level of the test.
    alternative : {"two-sided", "one-sided"}
        One-sided tests look for a reduction only.
    design_effect : float
        Multiplies the variance of the estimate (weights, clustering, matching).
    dispersion : float or None
        Negative binomial shape ``k`` (``var = mu + mu**2 / k``), frequency only.
    phi : float or None
        Overdispersion factor (``var = phi * mu``), frequency only; at most one
        of ``dispersion`` and ``phi``. Neither means Poisson counts.
    method : {"wald", "arcsine"}
        Binary measure only: the unpooled difference (default) or Cohen's h.
    """

    measure: Measure
    base_rate: float
    ratio: float = 1.0
    alpha: float = 0.05
    alternative: Alternative = "two-sided"
    design_effect: float = 1.0
    dispersion: float | None = None
    phi: float | None = None
    method: BinaryMethod = "wald"

    def __post_init__(self) -> None:
        check_parameter(self.measure, "measure", "Design", Options(*_MEASURES))
        check_parameter(self.alternative, "alternative", "Design", Options(*_ALTERNATIVES))
        check_parameter(self.method, "method", "Design", Options(*_METHODS))
        if self.measure == "binary":
            _in_open(
                "base_rate", self.base_rate, 0.0, 1.0, "a proportion strictly between 0 and 1 for measure='binary'"
            )
            for name in ("dispersion", "phi"):
                if getattr(self, name) is not None:
                    must = "None for measure='binary' (it applies to measure='frequency' only)"
                    raise parameter_error(name, "Design", must, getattr(self, name))
        else:
            _in_open("base_rate", self.base_rate, 0.0, math.inf, "a mean count > 0 for measure='frequency'")
            check_given("Design", {"dispersion": self.dispersion, "phi": self.phi}, "at most one", why="alternatives")
            if self.dispersion is not None:
                _in_open("dispersion", self.dispersion, 0.0, math.inf, "a negative binomial shape k > 0")
            check_parameter(self.phi, "phi", "Design", Options(None), Interval(float, 1, None))
        _in_open("ratio", self.ratio, 0.0, math.inf, "a comparison-group size per treated person > 0")
        _in_open("alpha", self.alpha, 0.0, 1.0, "a significance level strictly between 0 and 1")
        _in_open("design_effect", self.design_effect, 0.0, math.inf, "a variance multiplier > 0")

    # The test on its own scale -------------------------------------------------
    def treated_rate(self, effect: np.ndarray | float) -> np.ndarray:
        """Treated-group rate implied by ``effect`` (a difference for binary, a rate ratio for frequency)."""
        effect = np.asarray(effect, dtype=float)
        return self.base_rate + effect if self.measure == "binary" else self.base_rate * effect

    def signal(self, effect: np.ndarray | float) -> np.ndarray:
        """The effect on the test's scale: difference, Cohen's h, or log rate ratio."""
        p_t = self.treated_rate(effect)
        if self.measure == "frequency":
            return np.log(p_t / self.base_rate)
        if self.method == "arcsine":
            return 2 * np.arcsin(np.sqrt(p_t)) - 2 * np.arcsin(np.sqrt(self.base_rate))
        return p_t - self.base_rate

    def person_variances(self, effect: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Per-person variance ``(v_t, v_c)`` of each group on the test's scale."""
        rate_t = self.treated_rate(effect)
        rate_c = self.base_rate
        if self.measure == "binary":
            if self.method == "arcsine":
                return np.ones_like(rate_t), np.asarray(1.0)
            return rate_t * (1 - rate_t), np.asarray(rate_c * (1 - rate_c))
        if self.phi is not None:
            return self.phi / rate_t, np.asarray(self.phi / rate_c)
        extra = 0.0 if self.dispersion is None else 1.0 / self.dispersion
        return 1.0 / rate_t + extra, np.asarray(1.0 / rate_c + extra)

    def unit_variance(self, effect: np.ndarray | float) -> np.ndarray:
        """``n_treated * se**2``: the variance of the signal for one treated person and ``ratio`` controls."""
        v_t, v_c = self.person_variances(effect)
        return self.design_effect * (v_t + v_c / self.ratio)

    def expected_signal(self, effect: np.ndarray | float, n_treated: np.ndarray | float) -> np.ndarray:
        """The estimator's expected value on the test's scale at this cohort size.

        For the frequency measure the log of a sample mean is biased down by
        about ``v / (2 n)`` (second-order delta method); the smaller treated
        group is biased more, which tilts the log rate ratio towards a
        reduction. The other signals are unbiased.
        """
        signal = self.signal(effect)
        if self.measure != "frequency":
            return signal
        v_t, v_c = self.person_variances(effect)
        n = np.asarray(n_treated, dtype=float)
        return signal - (v_t - v_c / self.ratio) / (2 * n)

    def standardised(self, effect: np.ndarray | float, n_treated: np.ndarray | float) -> np.ndarray:
        """``x = -E[signal] / se``: positive when the effect is a reduction."""
        n = np.asarray(n_treated, dtype=float)
        return -self.expected_signal(effect, n) / np.sqrt(self.unit_variance(effect) / n)

    def power_at(self, x: np.ndarray | float) -> np.ndarray:
        """Power of the test when the standardised effect is ``x``."""
        x = np.asarray(x, dtype=float)
        if self.alternative == "one-sided":
            return ndtr(x + ndtri(self.alpha))
        crit = -ndtri(self.alpha / 2)
        return ndtr(x - crit) + ndtr(-x - crit)

    def x_needed(self, power: float) -> float:
        """The standardised effect at which the test has ``power``."""
        _in_open("power", power, self.alpha, 1.0, f"a probability between alpha={self.alpha:g} and 1")
        if self.alternative == "one-sided":
            return float(-ndtri(self.alpha) + ndtri(power))
        return float(optimize.brentq(lambda x: self.power_at(x) - power, 0.0, 60.0, xtol=1e-14, rtol=1e-15))

    def effect_limits(self) -> tuple[float, float]:
        """The open interval of reductions: treated rate from 0 to the base rate."""
        return (-self.base_rate, 0.0) if self.measure == "binary" else (0.0, 1.0)


@dataclass(frozen=True)
class PowerResult:
    """One point of a power calculation: n, effect and power that go together.

    Attributes
    ----------
    solved_for : {"power", "effect", "n_treated"}
        Which of the three was computed from the other two.
    effect : float
        Treated minus comparison rate (binary) or treated / comparison rate
        ratio (frequency). Negative (below 1) is a reduction.
    treated_rate, base_rate : float
        Rates in the treated and comparison groups.
    relative : float
        ``treated_rate / base_rate - 1``: -0.1 is a 10% reduction.
    n_treated, n_control : float
        Group sizes (unrounded when solved for; see ``n_treated_required``).
    power : float
        Chance that the test rejects "no effect" at level ``alpha``.
    design : Design
        The rest of the inputs.
    """

    solved_for: str
    effect: float
    treated_rate: float
    base_rate: float
    relative: float
    n_treated: float
    n_control: float
    power: float
    design: Design

    @property
    def n_treated_required(self) -> int:
        """``n_treated`` rounded up to a whole person."""
        return int(math.ceil(self.n_treated - 1e-9))

    def to_dict(self) -> dict:
        """Plain-Python dictionary (the design's fields flattened in)."""
        out = {k: v for k, v in asdict(self).items() if k != "design"}
        out.update(asdict(self.design))
        out["n_treated_required"] = self.n_treated_required
        return out

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame of ``to_dict()``."""
        return pd.DataFrame([self.to_dict()])

    def summary(self) -> str:
        """Plain-text summary in the words a commissioner would use."""
        d = self.design
        what = "proven reoffending rate" if d.measure == "binary" else "proven reoffences per person"
        direction = "reduction" if self.relative < 0 else "increase"
        if d.measure == "binary":
            eff = f"{abs(self.effect) * 100:.1f}-point {direction} ({self.base_rate:.1%} -> {self.treated_rate:.1%})"
        else:
            eff = (
                f"{abs(self.relative):.1%} {direction} (rate ratio {self.effect:.3f}; {self.base_rate:.3f} -> "
                f"{self.treated_rate:.3f} per person)"
            )
        test = f"{d.alternative} test at alpha = {d.alpha:g}"
        extras = [f"ratio 1:{d.ratio:g}"]
        if d.design_effect != 1:
            extras.append(f"design effect {d.design_effect:g}")
        if d.measure == "frequency":
            extras.append(
                "Poisson counts"
                if d.dispersion is None and d.phi is None
                else (f"negative binomial k = {d.dispersion:g}" if d.dispersion is not None else f"phi = {d.phi:g}")
            )
        else:
            extras.append(f"method {d.method}")
        lines = [
            f"Power for the {what} ({test}; {', '.join(extras)})",
            f"  treated n {self.n_treated_required:,} (exact {self.n_treated:.1f}), comparison n {self.n_control:,.0f}",
            f"  effect: a {eff}",
            f"  power: {self.power:.1%}",
        ]
        if self.solved_for == "effect":
            lines[2] = f"  minimum detectable effect: a {eff}"
        return "\n".join(lines)


def _result(design: Design, solved_for: str, effect: float, n_treated: float, power: float) -> PowerResult:
    rate_t = float(design.treated_rate(effect))
    return PowerResult(
        solved_for=solved_for,
        effect=float(effect),
        treated_rate=rate_t,
        base_rate=design.base_rate,
        relative=rate_t / design.base_rate - 1.0,
        n_treated=float(n_treated),
        n_control=float(n_treated) * design.ratio,
        power=float(power),
        design=design,
    )


def negative_binomial_shape(counts: np.ndarray | pd.Series, weights: np.ndarray | None = None) -> float | None:
    """Negative binomial shape ``k`` of counts by the method of moments.

    Solves ``var = mu + mu**2 / k`` with the sample mean and variance (``n - 1``
    denominator; with ``weights``, frequency weights and ``sum(w) - 1``).
    Counts that are not overdispersed (variance at most the mean) have no
    finite ``k``: the result is None, and a Poisson model is the right one.

    Examples
    --------
    >>> round(negative_binomial_shape(np.array([0, 0, 0, 1, 1, 2, 5])), 4)
    0.8467
    >>> negative_binomial_shape(np.array([1, 1, 1])) is None
    True
    """
    y = np.asarray(counts, dtype=float)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=float)
    keep = w > 0
    y, w = y[keep], w[keep]
    mean = np.average(y, weights=w)
    var = float(np.sum(w * (y - mean) ** 2) / (w.sum() - 1))
    return float(mean**2 / (var - mean)) if var > mean else None


def solve_power(
    design: Design, *, n_treated: float | None = None, effect: float | None = None, power: float | None = None
) -> PowerResult:
    """Solve for whichever of cohort size, effect and power is missing, as statsmodels' ``solve_power``.

    Parameters
    ----------
    design : Design
        The measure, the comparison rate and the test (ratio, alpha, sides, design effect, dispersion).
    n_treated, effect, power : float or None
        Give two; the one left ``None`` is solved for: ``power`` (:func:`power`), ``effect``, the minimum
        detectable effect (:func:`minimum_detectable_effect`), or ``n_treated``, the cohort needed
        (:func:`required_n`).

    Returns
    -------
    PowerResult
        ``solved_for`` names the one that was missing.

    Examples
    --------
    >>> design = Design("binary", base_rate=0.45, ratio=3)
    >>> solve_power(design, n_treated=500, power=0.8).solved_for
    'effect'
    >>> round(solve_power(design, n_treated=500, effect=-0.05).power, 3)
    0.504
    """
    if power is None and n_treated is not None and effect is not None:
        return _power(design, n_treated, effect)
    if effect is None and n_treated is not None and power is not None:
        return _minimum_detectable_effect(design, n_treated, power)
    if n_treated is None and effect is not None and power is not None:
        return _required_n(design, effect, power)
    check_given("solve_power", {"n_treated": n_treated, "effect": effect, "power": power}, "all but one")
    raise AssertionError("unreachable: check_given refuses every other case")


def power(design: Design, n_treated: float, effect: float) -> PowerResult:
    """Power of the test of "no effect" for a given cohort size and true effect.

    Parameters
    ----------
    design : Design
        The measure, the comparison rate and the test.
    n_treated : float
        Treated cohort size; the comparison group has ``ratio * n_treated``.
    effect : float
        True effect: treated minus comparison rate for ``binary`` (-0.05 is a
        5-point reduction), treated / comparison rate ratio for ``frequency``
        (0.9 is a 10% reduction).

    Returns
    -------
    PowerResult

    Examples
    --------
    >>> round(power(Design("frequency", 1.2, ratio=2, dispersion=2.0), 800, 0.9).power, 3)
    0.544
    """
    return _power(design, n_treated, effect)


def required_n(design: Design, effect: float, power: float = 0.8) -> PowerResult:
    """Treated cohort size at which the test detects ``effect`` with ``power``.

    ``n_treated = (x / signal)**2 * unit_variance`` with ``x`` the standardised
    effect giving ``power`` (see the module docstring); ``n_treated`` is
    unrounded, ``n_treated_required`` rounds it up.

    Parameters
    ----------
    design : Design
        The measure, the comparison rate and the test.
    effect : float
        True effect, as in :func:`power`.
    power : float, default 0.8
        The chance of detecting it.

    Returns
    -------
    PowerResult

    Examples
    --------
    >>> required_n(Design("binary", 0.45, ratio=3), -0.05).n_treated_required
    1013
    """
    return _required_n(design, effect, power)


def minimum_detectable_effect(design: Design, n_treated: float, power: float = 0.8) -> PowerResult:
    """Smallest reduction the test detects with ``power`` in a cohort of ``n_treated``.

    Solves ``-signal(effect) / se(effect) = x`` for the reduction closest to no
    effect (the variance depends on the treated rate, so this is a root search
    except for the arcsine form, where it is closed).

    Parameters
    ----------
    design : Design
        The measure, the comparison rate and the test.
    n_treated : float
        Treated cohort size.
    power : float, default 0.8
        The chance of detecting the reduction.

    Returns
    -------
    PowerResult

    Raises
    ------
    ParameterError
        When no reduction (down to a treated rate of zero) reaches ``power``.

    Examples
    --------
    >>> r = minimum_detectable_effect(Design("frequency", 1.2, ratio=3, dispersion=2.0), 500)
    >>> round(r.relative, 3)
    -0.159
    """
    return _minimum_detectable_effect(design, n_treated, power)


def _power(design: Design, n_treated: float, effect: float) -> PowerResult:
    _check_n("n_treated", n_treated, "power")
    _check_effect(design, effect, "power")
    return _result(design, "power", effect, n_treated, float(design.power_at(design.standardised(effect, n_treated))))


def _required_n(design: Design, effect: float, power: float) -> PowerResult:
    _check_effect(design, effect, "required_n")
    signal = float(design.signal(effect))
    if signal == 0 or (design.alternative == "one-sided" and signal > 0):
        raise parameter_error("effect", "required_n", "a reduction for a one-sided test (and non-zero for any)", effect)
    x = design.x_needed(power)
    n = (x / signal) ** 2 * float(design.unit_variance(effect))
    if design.measure == "frequency":
        # The small-sample term makes x depend on n beyond sqrt(n): solve near the first-order answer.
        n = optimize.brentq(
            lambda m: float(design.standardised(effect, m)) - x, n / 4, n * 4 + 10, xtol=1e-10, rtol=1e-14
        )
    return _result(design, "n_treated", effect, n, power)


def _minimum_detectable_effect(design: Design, n_treated: float, power: float) -> PowerResult:
    _check_n("n_treated", n_treated, "minimum_detectable_effect")
    x = design.x_needed(power)
    if design.measure == "binary" and design.method == "arcsine":
        h = -x * math.sqrt(float(design.unit_variance(0.0)) / n_treated)
        angle = math.asin(math.sqrt(design.base_rate)) + h / 2
        if angle <= 0:
            _undetectable(design, n_treated, power)
        effect = math.sin(angle) ** 2 - design.base_rate
    else:

        def gap(e: float) -> float:
            return float(design.standardised(e, n_treated)) - x

        low, high = design.effect_limits()
        # Walk towards the largest possible reduction until the test has the
        # power; the standardised effect is not monotone near a zero treated rate.
        far = high
        for step in range(1, 60):
            far = high + (low - high) * (1 - 2.0**-step)
            if gap(far) > 0:
                break
        else:
            _undetectable(design, n_treated, power)
        effect = optimize.brentq(gap, far, high, xtol=1e-14, rtol=1e-14)
    return _result(design, "effect", effect, n_treated, power)


@dataclass(frozen=True)
class SimulatedPower:
    """Power estimated by simulating whole trials.

    Attributes
    ----------
    power : float
        Share of simulated trials in which the test rejected "no effect".
    mc_se : float
        Monte Carlo standard error of ``power``.
    draws : int
        Simulated trials.
    analytic : PowerResult
        The analytic calculation for the same inputs, for comparison.
    """

    power: float
    mc_se: float
    draws: int
    analytic: PowerResult

    def to_dict(self) -> dict:
        """Plain-Python dictionary."""
        return {"power": self.power, "mc_se": self.mc_se, "draws": self.draws, "analytic_power": self.analytic.power}

    def summary(self) -> str:
        """One line: simulated power with its Monte Carlo SE against the formula."""
        return (
            f"simulated power {self.power:.4f} (MC SE {self.mc_se:.4f}, {self.draws:,} trials); "
            f"analytic {self.analytic.power:.4f}"
        )


def simulated_power(
    design: Design, n_treated: int, effect: float, *, draws: int = 10_000, seed: int | None = None
) -> SimulatedPower:
    """Power by simulation: draw ``draws`` trials and apply the test to each.

    Binary trials draw the treated and comparison counts of reoffenders
    (binomial) and apply the Wald test (``method="wald"``: unpooled variance at
    the observed rates; ``"arcsine"``: the variance-stabilised difference).
    Frequency trials draw each person's count (negative binomial with shape
    ``dispersion``, or Poisson) and test the log rate ratio with the robust
    (sandwich, HC0) variance the Poisson regression of the matched comparison
    uses. Vectorised over trials (in blocks of about four million people).

    Examples
    --------
    >>> s = simulated_power(Design("binary", 0.45, ratio=2), 400, -0.08, draws=2_000, seed=1)
    >>> abs(s.power - s.analytic.power) < 4 * s.mc_se
    True
    """
    analytic = _power(design, n_treated, effect)
    ratio, base_rate, dispersion = design.ratio, design.base_rate, design.dispersion
    if design.design_effect != 1 or design.phi is not None:
        raise parameter_error(
            "design", "simulated_power", "plain binomial or negative binomial trials: no design effect and no phi",
            got=f"design_effect={design.design_effect!r}, phi={design.phi!r}",
        )  # fmt: skip
    if int(n_treated) != n_treated or round(n_treated * ratio) < 1:
        raise parameter_error(
            "n_treated", "simulated_power", "a whole number of people with at least one comparison person",
            got=f"n_treated={n_treated!r} with ratio={ratio!r}",
        )  # fmt: skip
    _check_n("draws", draws, "simulated_power")
    rng = np.random.default_rng(seed)
    n_t, n_c = int(n_treated), int(round(n_treated * ratio))
    rate_t = float(design.treated_rate(effect))
    if design.measure == "binary":
        p_t = rng.binomial(n_t, rate_t, draws) / n_t
        p_c = rng.binomial(n_c, base_rate, draws) / n_c
        if design.method == "arcsine":
            z = (2 * np.arcsin(np.sqrt(p_t)) - 2 * np.arcsin(np.sqrt(p_c))) / np.sqrt(1 / n_t + 1 / n_c)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                z = (p_t - p_c) / np.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    else:
        block = max(1, 4_000_000 // (n_t + n_c))
        z = np.concatenate(
            [
                _count_wald(rng, min(block, draws - start), n_t, n_c, rate_t, base_rate, dispersion)
                for start in range(0, draws, block)
            ]
        )
    rejected = _rejects(design, z)
    share = float(rejected.mean())
    return SimulatedPower(share, math.sqrt(share * (1 - share) / draws), int(draws), analytic)


def _rejects(design: Design, z: np.ndarray) -> np.ndarray:
    """Whether each trial's Wald statistic rejects "no effect" (NaN statistics never do)."""
    if design.alternative == "one-sided":
        return np.nan_to_num(z, nan=0.0) <= ndtri(design.alpha)
    return np.abs(np.nan_to_num(z, nan=0.0)) >= -ndtri(design.alpha / 2)


def _count_wald(
    rng: np.random.Generator, draws: int, n_t: int, n_c: int, mu_t: float, mu_c: float, dispersion: float | None
) -> np.ndarray:
    """Wald statistics of the log rate ratio for ``draws`` simulated trials of counts."""

    def counts(n: int, mu: float) -> np.ndarray:
        if dispersion is None:
            return rng.poisson(mu, (draws, n))
        return rng.negative_binomial(dispersion, dispersion / (dispersion + mu), (draws, n))

    y_t, y_c = counts(n_t, mu_t), counts(n_c, mu_c)
    m_t, m_c = y_t.mean(axis=1), y_c.mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = y_t.var(axis=1) / (n_t * m_t**2) + y_c.var(axis=1) / (n_c * m_c**2)
        return np.log(m_t / m_c) / np.sqrt(var)


@dataclass(frozen=True)
class PowerCurve:
    """Power over a range of cohort sizes or effects.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per point: ``n_treated``, ``n_control``, ``effect``,
        ``treated_rate``, ``relative``, ``power``.
    varying : {"n_treated", "effect"}
        The column that varies.
    design : Design
    """

    frame: pd.DataFrame
    varying: str
    design: Design

    def to_frame(self) -> pd.DataFrame:
        """The curve as a DataFrame (a copy)."""
        return self.frame.copy()

    def to_dict(self) -> dict:
        """Columns as lists, plus the design."""
        return {
            "varying": self.varying,
            "design": asdict(self.design),
            **{c: self.frame[c].tolist() for c in self.frame.columns},
        }

    def summary(self) -> str:
        """The curve as a text table."""
        return self.frame.to_string(index=False, float_format=lambda v: f"{v:.4g}")

    def plot(self, ax=None, target: float = 0.8):
        """Draw power against the varying quantity, with the target power and alpha marked.

        Returns the matplotlib Axes.
        """
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(6, 4))
        x = self.frame[self.varying] if self.varying == "n_treated" else self.frame["relative"] * 100
        ax.plot(x, self.frame["power"], marker="o", ms=3)
        ax.axhline(target, color="grey", ls="--", lw=1, label=f"power {target:g}")
        ax.axhline(self.design.alpha, color="grey", ls=":", lw=1, label=f"alpha {self.design.alpha:g}")
        ax.set_xlabel("treated cohort size" if self.varying == "n_treated" else "true change in the rate (%)")
        ax.set_ylabel("power")
        ax.set_ylim(0, 1)
        ax.set_title(
            f"{self.design.measure} measure, base rate {self.design.base_rate:g}, ratio 1:{self.design.ratio:g}"
        )
        ax.legend(loc="best", fontsize="small")
        return ax


def power_curve(design: Design, *, n_treated: float | np.ndarray, effect: float | np.ndarray) -> PowerCurve:
    """Power over a grid of cohort sizes (one effect) or of effects (one size).

    Exactly one of ``n_treated`` and ``effect`` is a sequence.

    Examples
    --------
    >>> c = power_curve(Design("binary", 0.45, ratio=3), n_treated=[100, 400, 1600], effect=-0.05)
    >>> c.to_frame()["power"].is_monotonic_increasing
    True
    """
    n = np.atleast_1d(np.asarray(n_treated, dtype=float))
    e = np.atleast_1d(np.asarray(effect, dtype=float))
    if (n.size > 1) == (e.size > 1) and not (n.size == 1 and e.size == 1):
        raise parameter_error(
            "n_treated", "power_curve", "a sequence when 'effect' is one number, or one number when 'effect' is a "
            "sequence", got=f"{n.size} sizes and {e.size} effects",
        )  # fmt: skip
    for value in n:
        _check_n("n_treated", value, "power_curve")
    for value in e:
        _check_effect(design, value, "power_curve")
    varying = "effect" if e.size > 1 else "n_treated"
    n, e = np.broadcast_arrays(n, e)
    rate_t = design.treated_rate(e)
    frame = pd.DataFrame(
        {
            "n_treated": n,
            "n_control": n * design.ratio,
            "effect": e,
            "treated_rate": rate_t,
            "relative": rate_t / design.base_rate - 1.0,
            "power": design.power_at(design.standardised(e, n)),
        }
    )
    return PowerCurve(frame, varying, design)


# Argument checks: the one sentence form of ground.checks, naming the argument and the value --------
def _in_open(name: str, value: float, low: float, high: float, what: str, caller: str = "Design") -> None:
    """Refuse a value outside the open interval (low, high), in the words ``what``."""
    check_parameter(value, name, caller, _Open(low, high, what))


@dataclass(frozen=True)
class _Open(Constraint):
    """A number strictly between ``low`` and ``high`` (either may be infinite), described by ``words``."""

    low: float
    high: float
    words: str

    def is_satisfied_by(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            return False
        return bool(self.low < float(value) < self.high)

    def __str__(self) -> str:
        return self.words


def _check_n(name: str, value: float, caller: str) -> None:
    _in_open(name, value, 0.0, math.inf, "a positive number of people", caller)


def _check_effect(design: Design, effect: float, caller: str) -> None:
    if design.measure == "binary":
        words = f"a difference in rates keeping the treated rate in (0, 1) (base rate {design.base_rate:g})"
        _in_open("effect", effect, -design.base_rate, 1 - design.base_rate, words, caller)
    else:
        _in_open("effect", effect, 0.0, math.inf, "a rate ratio > 0 (0.9 is a 10% reduction)", caller)


def _undetectable(design: Design, n_treated: float, power: float) -> None:
    raise parameter_error(
        "n_treated", "minimum_detectable_effect", f"large enough for some reduction to be detectable with power "
        f"{power:g} ({design.measure} measure, base rate {design.base_rate:g}, ratio {design.ratio:g})", n_treated,
    )  # fmt: skip
