"""Provider comparison table: case-mix-adjusted observed/expected, shrunk toward the overall
rate, with intervals for the estimate and for the rank. Never a bare league table.

A funnel plot says which providers are further from the target than chance
allows; this table says how each provider's outcome compares once its case-mix
is allowed for, and how little a ranking can say.

The model
---------
A random-intercept logistic regression with the case-mix model as offset:
``logit P(y_i = 1) = logit(e_i) + mu + u_p``, ``u_p ~ N(0, tau^2)``, where
``e_i`` is the person's expected probability (from a difficulty model; without
one, ``e_i`` is the overall rate and the model shrinks raw rates). Each
provider's likelihood of its shift ``a_p = mu + u_p`` is tabulated once on a
fine grid (value and slopes exact at the grid points, cubic Hermite between),
and each ``u_p`` is integrated out by adaptive Gauss-Hermite quadrature. The
table reports:

* ``mu`` and ``tau``: maximum marginal likelihood, as R's
  ``lme4::glmer(..., nAGQ = 25)`` (the tests check against it);
* whether providers **differ**: the likelihood-ratio test of ``tau = 0``, whose
  null distribution is half a chi-square(1) (the value lies on the boundary;
  Self and Liang 1987). When it finds no evidence,
  :meth:`~validation.providers.ProviderEstimates.statement` says so;
* the **shrunken O/E**: the posterior mean of
  ``R_p(a) = sum_i expit(logit(e_i) + a) / sum_i e_i`` (the provider's expected
  outcome count under the model over the count its case mix predicts), with an
  equal-tailed interval, and the **adjusted rate** (shrunken O/E times the
  overall rate);
* the **effect** ``u_p`` (posterior mean), by which rows are ordered, and a
  **rank interval**: quantiles of each provider's rank of ``a_p`` over draws from
  the same posterior (rank 1 = best; ``lower_is_better`` says which way). Ranks
  follow ``u_p``, which case mix cannot move (an O/E at equal ``u_p`` still
  differs with case mix whenever ``mu`` is not 0).

The posterior integrates over the uncertainty in the overall level and in the
spread: ``mu`` has a flat prior and ``tau`` a half-Cauchy(0, 1) prior (on the
log-odds scale: weakly informative, Gelman 2006), integrated numerically (an
adaptive Gauss-Hermite rule in ``mu`` at each of 64 values of ``tau`` up to 3, a
trapezoid rule in ``sqrt(tau)``). Plugging in the estimates instead makes the
intervals collapse when ``tau`` is estimated near 0 and invent differences
(issue 26: 73% of intervals excluded 1 among equal providers); a parametric
bootstrap of ``(mu, tau)`` would carry the same fault at the boundary (draws from
``tau = 0`` give ``tau* = 0`` half the time; Laird and Louis 1987) and refit the
model hundreds of times. ``bench/providers.py`` calibrates the result (1,000
replications per world, 12 providers of 60 to 800 people): among equal
providers 0.7% of intervals exclude 1 (5.1% of replications have one such
provider: the overall level's uncertainty is shared, so they move together), no
rank interval lies wholly in the top or bottom three, and the test finds
differences in 2.4%; when providers differ by an SD of 0.1 or 0.3 on the
log-odds scale, 95% intervals cover the true O/E 94.7% and 94.5% of the time
and rank intervals the true ranks 99.1% and 98.4%.

Providers with fewer than ``min_n`` people (default 60, the Justice Data Lab's
minimum) are in the model, so they inform ``tau``, but their row shows only n:
no estimate, no rank.

References
----------
Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional
performance. *Statistics in Medicine* 24, 1185-1202.
Goldstein, H. & Spiegelhalter, D. J. (1996). League tables and their
limitations: statistical issues in comparisons of institutional performance.
*JRSS A* 159, 385-443.
Gelman, A. (2006). Prior distributions for variance parameters in hierarchical
models. *Bayesian Analysis* 1, 515-534.
Laird, N. M. & Louis, T. A. (1987). Empirical Bayes confidence intervals based
on bootstrap samples. *JASA* 82, 739-750.
Self, S. G. & Liang, K.-Y. (1987). Asymptotic properties of maximum likelihood
estimators and likelihood ratio tests under nonstandard conditions. *JASA* 82,
605-610.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, sparse, special, stats
from scipy.special import logit

from ground.checks import Interval, check_parameter, require_columns
from ground.errors import ModelError
from validation.screens import flag_values, records

__all__ = ["MIN_N", "ProviderEstimates", "compare_providers"]

#: The Justice Data Lab's minimum: fewer people than this get no estimate of their own.
MIN_N = 60


#: Scale of the half-Cauchy prior on the between-provider SD (log-odds): weakly informative (Gelman 2006).
PRIOR_SCALE = 1.0
#: Largest between-provider SD the posterior is integrated over (log-odds; odds ratios of e^3 per SD).
TAU_MAX = 3.0
_TAU_NODES = 64  # trapezoid nodes in sqrt(tau)
_MU_NODES = 9  # Gauss-Hermite nodes for the overall level, adaptive at each tau
_U_NODES = 15  # Gauss-Hermite nodes for each provider's shift, adaptive at each (mu, tau)
_STEP, _HALF_WIDTH = 0.05, 15.0  # grid on which each provider's likelihood is tabulated
_U_X, _U_W = np.polynomial.hermite.hermgauss(_U_NODES)
_MU_X, _MU_W = np.polynomial.hermite.hermgauss(_MU_NODES)


@dataclass(frozen=True)
class _Curves:
    """Each provider's log-likelihood of a shift ``a`` of its log-odds (``a = mu + u``), its first two
    derivatives and its expected outcome count ``sum expit(o_i + a)``, tabulated on an even grid and
    read by cubic Hermite interpolation (exact values and slopes at the grid points; linear beyond it,
    where the likelihood is linear to within exp(-15))."""

    start: float
    ll: np.ndarray  # grid x providers
    d1: np.ndarray
    d2: np.ndarray
    count: np.ndarray

    @classmethod
    def tabulate(cls, y, offset, code, n_units: int, centre: float, block: int = 20_000) -> _Curves:
        grid = centre + np.arange(-_HALF_WIDTH, _HALF_WIDTH + _STEP / 2, _STEP)
        out = {k: np.zeros((len(grid), n_units)) for k in ("ll", "d1", "d2", "count")}
        for lo in range(0, len(y), block):  # blocks bound the memory (rows x grid)
            sl = slice(lo, min(lo + block, len(y)))
            # exp(o + a) = exp(o) exp(a): one product per cell instead of an exponential (|o + a| < 45 here)
            odds = np.exp(offset[sl])[:, None] * np.exp(grid)[None, :]
            p = odds / (1 + odds)
            member = sparse.csr_matrix((np.ones(sl.stop - sl.start), (code[sl], np.arange(sl.stop - sl.start))),
                                       shape=(n_units, sl.stop - sl.start))  # fmt: skip
            for key, values in (
                ("ll", y[sl, None] * (offset[sl, None] + grid[None, :]) - np.log1p(odds)), ("d1", y[sl, None] - p),
                ("d2", -p / (1 + odds)), ("count", p),
            ):  # fmt: skip
                out[key] += (member @ values).T
        return cls(float(grid[0]), **out)

    @functools.cached_property
    def peak(self) -> tuple[np.ndarray, np.ndarray]:
        """Each provider's own maximum-likelihood shift (within the grid) and the curvature there."""
        j = self.ll.argmax(axis=0)
        return self.start + j * _STEP, -self.d2[j, np.arange(self.ll.shape[1])]

    def _basis(self, a: np.ndarray, axis: int):
        """Where each value of a falls: (t in grid steps, offset u in its cell, flat index of the cell's
        left point in the raveled tables, provider of each value); ``axis`` is a's provider axis."""
        size, n_units = self.ll.shape
        shape = [1] * a.ndim
        shape[axis] = n_units
        unit = np.arange(n_units).reshape(shape)
        t = (a - self.start) / _STEP
        i = np.clip(np.floor(t), 0, size - 2).astype(np.int64)
        return t, np.clip(t - i, 0.0, 1.0), i * n_units + unit, unit

    def _interpolate(self, f, g, a, basis, slope: bool = False):
        """Cubic Hermite interpolation of f (slope g) at a, or its slope; linear beyond the grid."""
        t, u, flat, unit = basis
        size, n_units = f.shape
        ff, gg = f.ravel(), g.ravel() * _STEP
        f0, f1, g0, g1 = ff[flat], ff[flat + n_units], gg[flat], gg[flat + n_units]
        low, high = t < 0, t > size - 1
        if slope:
            inside = ((6 * u**2 - 6 * u) * (f0 - f1) + (3 * u**2 - 4 * u + 1) * g0 + (3 * u**2 - 2 * u) * g1) / _STEP
            return np.where(low, g[0][unit], np.where(high, g[-1][unit], inside))
        inside = (2 * u**3 - 3 * u**2 + 1) * f0 + (u**3 - 2 * u**2 + u) * g0 + (-2 * u**3 + 3 * u**2) * f1
        inside += (u**3 - u**2) * g1
        if not (low.any() or high.any()):
            return inside
        edge = self.start + (size - 1) * _STEP
        left, right = f[0][unit] + g[0][unit] * (a - self.start), f[-1][unit] + g[-1][unit] * (a - edge)
        return np.where(low, left, np.where(high, right, inside))

    def loglik(self, a: np.ndarray, axis: int = -1):
        """(log-likelihood, its first and second derivatives) at a (providers along ``axis``)."""
        basis = self._basis(a, axis)
        d2 = np.minimum(self._interpolate(self.d1, self.d2, a, basis, slope=True), 0.0)
        return self._interpolate(self.ll, self.d1, a, basis), self._interpolate(self.d1, self.d2, a, basis), d2

    def slopes(self, a: np.ndarray, axis: int = -1):
        """The first two derivatives only (for Newton steps)."""
        basis = self._basis(a, axis)
        d2 = np.minimum(self._interpolate(self.d1, self.d2, a, basis, slope=True), 0.0)
        return self._interpolate(self.d1, self.d2, a, basis), d2

    def expected_count(self, a: np.ndarray, axis: int = -1):
        return self._interpolate(self.count, -self.d2, a, self._basis(a, axis))


@dataclass(frozen=True)
class _Conditional:
    """Each provider's shift ``a`` given (mu, tau): adaptive Gauss-Hermite nodes and weights
    (points x providers x nodes), and the log of its marginal likelihood (points x providers)."""

    nodes: np.ndarray
    weights: np.ndarray
    log_marginal: np.ndarray
    mode: np.ndarray  # points x providers (lme4's conditional modes)
    scale: np.ndarray  # points x providers: curvature SD at the mode

    @classmethod
    def at(cls, curves: _Curves, mu: np.ndarray, tau: np.ndarray) -> _Conditional:
        mu, tau = mu[:, None], tau[:, None]
        peak, curvature = curves.peak
        a = (curvature * peak + mu / tau**2) / (curvature + 1 / tau**2)  # the normal approximation's mode
        for _ in range(40):  # Newton on the concave log posterior of a
            g, h = curves.slopes(a)
            step = np.clip((g - (a - mu) / tau**2) / (h - 1 / tau**2), -2.0, 2.0)
            a -= step
            if np.max(np.abs(step)) < 1e-10:
                break
        scale = 1 / np.sqrt(1 / tau**2 - curves.slopes(a)[1])
        x, w = _U_X, _U_W
        nodes = a[..., None] + np.sqrt(2) * scale[..., None] * x
        prior = -0.5 * ((nodes - mu[..., None]) / tau[..., None]) ** 2 - np.log(np.sqrt(2 * np.pi) * tau[..., None])
        ll = curves.loglik(nodes, axis=1)[0]
        terms = np.log(w) + x**2 + ll + prior + np.log(np.sqrt(2) * scale)[..., None]
        log_marginal = special.logsumexp(terms, axis=-1)
        return cls(nodes, np.exp(terms - log_marginal[..., None]), log_marginal, a, scale)

    def moments(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean = (self.weights * values).sum(axis=-1)
        return mean, (self.weights * (values - mean[..., None]) ** 2).sum(axis=-1)


@dataclass(frozen=True)
class _Posterior:
    """The joint posterior of (mu, tau, a_1..a_P) as a mixture over support points (mu_k, tau_k) with
    weights, each provider's a normal there (mean, sd from the adaptive quadrature)."""

    weight: np.ndarray  # points
    level: np.ndarray  # points: mu
    tau: np.ndarray  # points
    conditional: _Conditional  # at the points
    mean: np.ndarray  # points x providers
    sd: np.ndarray  # points x providers


def _level_given_spread(curves: _Curves, tau: np.ndarray, start: float) -> tuple[np.ndarray, np.ndarray]:
    """At each tau: the posterior mode of mu (flat prior) and its curvature SD, by Newton steps on the
    marginal likelihood; d/dmu log I_p = E[l_p'(a)] and d2 = E[l_p''(a)] + Var[l_p'(a)] (stable as tau -> 0)."""
    mu = np.full(len(tau), start)
    for _ in range(50):
        c = _Conditional.at(curves, mu, tau)
        d1, d2 = curves.slopes(c.nodes, axis=1)
        grad, var1 = c.moments(d1)
        curv = c.moments(d2)[0] + var1
        step = np.clip(grad.sum(axis=1) / curv.sum(axis=1), -1.0, 1.0)
        mu -= step
        if np.max(np.abs(step)) < 1e-9:
            break
    return mu, 1 / np.sqrt(-curv.sum(axis=1))


def _posterior(curves: _Curves, start: float) -> _Posterior:
    """Integrate the random-intercept model over mu (flat prior; adaptive Gauss-Hermite) and tau
    (half-Cauchy(0, PRIOR_SCALE) on [0, TAU_MAX]; trapezoid rule in sqrt(tau)).

    Parameters
    ----------
    curves : _Curves
        Each provider's tabulated log-likelihood of its shift (``_Curves.tabulate``).
    start : float
        Where the search for the mode of mu begins at each tau (the maximum-likelihood mu).

    Returns
    -------
    _Posterior
        The joint posterior as a mixture over support points (mu, tau) with weights summing to 1.

    Examples
    --------
    Four providers with the same data (30 of 100 each): the maximum-likelihood spread is 0, but
    the posterior keeps the uncertainty in it, and the four get the same posterior mean.

    >>> y = np.tile(np.r_[np.ones(30), np.zeros(70)], 4)
    >>> curves = _Curves.tabulate(y, np.zeros(400), np.repeat(np.arange(4), 100), 4, logit(0.3))
    >>> post = _posterior(curves, logit(0.3))
    >>> round(float(post.weight.sum()), 12), round(float(post.weight @ post.tau), 2)
    (1.0, 0.17)
    >>> bool(np.ptp(post.weight @ post.mean) < 1e-9)
    True
    """
    z = np.linspace(0.0, np.sqrt(TAU_MAX), _TAU_NODES + 1)[1:]
    trapezoid = np.full(len(z), z[0])
    trapezoid[-1] /= 2
    tau = z**2
    log_prior = np.log(trapezoid * 2 * z) - np.log1p((tau / PRIOR_SCALE) ** 2)
    centre, spread = _level_given_spread(curves, tau, start)
    x, w = _MU_X, _MU_W
    mu = (centre[:, None] + np.sqrt(2) * spread[:, None] * x).ravel()
    taus = np.repeat(tau, _MU_NODES)
    c = _Conditional.at(curves, mu, taus)
    log_w = (log_prior[:, None] + np.log(w) + x**2 + np.log(np.sqrt(2) * spread)[:, None]).ravel()
    log_w += c.log_marginal.sum(axis=1)
    weight = np.exp(log_w - special.logsumexp(log_w))
    mean, var = c.moments(c.nodes)
    return _Posterior(weight, mu, taus, c, mean, np.sqrt(np.maximum(var, 0.0)))


def _mixture_quantiles(post: _Posterior, probs: tuple[float, ...]) -> np.ndarray:
    """Quantiles of each provider's a under the normal mixture (providers x probs), by bisection."""
    lo = (post.mean - 10 * post.sd).min(axis=0) - 1.0
    hi = (post.mean + 10 * post.sd).max(axis=0) + 1.0
    out = []
    for p in probs:
        a, b = lo.copy(), hi.copy()
        for _ in range(60):
            mid = (a + b) / 2
            below = post.weight @ special.ndtr((mid - post.mean) / post.sd) < p
            a, b = np.where(below, mid, a), np.where(below, b, mid)
        out.append((a + b) / 2)
    return np.column_stack(out)


def _rank_draws(post: _Posterior, shown: np.ndarray, draws: int, seed: int) -> np.ndarray:
    """Draws x shown providers of each provider's shift, from the joint posterior."""
    rng = np.random.default_rng(seed)
    point = rng.choice(len(post.weight), size=draws, p=post.weight)
    idx = np.flatnonzero(shown)
    return post.mean[point][:, idx] + post.sd[point][:, idx] * rng.standard_normal((draws, idx.size))


def _maximum_likelihood(curves: _Curves, start: float) -> tuple[float, float, float]:
    """(mu, tau, log-likelihood) maximising the marginal likelihood, each provider's intercept integrated
    out by adaptive Gauss-Hermite quadrature (as R's ``lme4::glmer(..., nAGQ = 25)``).

    Parameters
    ----------
    curves : _Curves
        Each provider's tabulated log-likelihood of its shift (``_Curves.tabulate``).
    start : float
        Starting value of mu (tau starts at 0.3); the overall log-odds beyond the offset will do.

    Returns
    -------
    tuple of float
        mu, tau (its search is bounded to [1e-4, 10]) and the maximised log-likelihood.

    Examples
    --------
    Four providers with the same data (30 of 100 each): the spread goes to its lower bound, mu
    to logit(0.3), and the log-likelihood to that of one binomial sample of 400.

    >>> y = np.tile(np.r_[np.ones(30), np.zeros(70)], 4)
    >>> curves = _Curves.tabulate(y, np.zeros(400), np.repeat(np.arange(4), 100), 4, logit(0.3))
    >>> mu, tau, loglik = _maximum_likelihood(curves, logit(0.3))
    >>> round(mu, 4), round(float(logit(0.3)), 4), round(tau, 4)
    (-0.8473, -0.8473, 0.0001)
    >>> round(loglik, 3), round(float(400 * (0.3 * np.log(0.3) + 0.7 * np.log(0.7))), 3)
    (-244.346, -244.346)
    """

    def minus(params):
        """Minus the log-likelihood and its gradient in (mu, log tau): d/dmu = sum_p E[l_p'(a)] and
        d/dlog(tau) = sum_p (E[(a - mu)^2] / tau^2 - 1), expectations over each provider's a given (mu, tau)."""
        mu, tau = params[0], np.exp(params[1])
        c = _Conditional.at(curves, np.array([mu]), np.array([tau]))
        slope = (c.weights * curves.slopes(c.nodes, axis=1)[0]).sum()
        spread = ((c.weights * (c.nodes - mu) ** 2).sum(axis=-1) / tau**2 - 1).sum()
        return -float(c.log_marginal.sum()), -np.array([slope, spread])

    res = optimize.minimize(
        minus, np.array([start, np.log(0.3)]), jac=True, method="L-BFGS-B",
        bounds=[(None, None), (np.log(1e-4), np.log(10.0))], options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 500},
    )  # fmt: skip
    if not np.isfinite(res.fun):
        raise ModelError("compare_providers: the random-intercept model could not be fitted")
    return float(res.x[0]), float(np.exp(res.x[1])), -float(res.fun)


def _no_difference_p_value(curves: _Curves, mu: float, loglik: float) -> float:
    """Likelihood-ratio test of tau = 0 (one intercept for everyone): half a chi-square(1) tail, as the
    null value lies on the boundary (Self and Liang 1987)."""
    shift = np.full((1, curves.ll.shape[1]), mu)
    for _ in range(50):  # the logistic regression with the offset and one intercept
        g, h = curves.slopes(shift)
        step = float(g.sum() / h.sum())
        shift -= step
        if abs(step) < 1e-12:
            break
    statistic = max(2 * (loglik - float(curves.loglik(shift)[0].sum())), 0.0)
    return float(0.5 * stats.chi2.sf(statistic, 1)) if statistic > 0 else 1.0


@dataclass(frozen=True)
class ProviderEstimates:
    """Providers compared like with like, with shrinkage and honest intervals.

    Attributes
    ----------
    table : DataFrame
        One row per provider, best first (by the posterior mean of ``effect``):
        unit, n, observed, expected, rate; oe (raw O/E) with oe_ci_low/high
        (exact Poisson for O); effect (the provider's shift of the log-odds
        beyond its case mix, posterior mean), shrunken_oe with
        shrunken_ci_low/high; adjusted_rate with adjusted_ci_low/high;
        rank_low, rank_high (rank interval among the providers shown); shown
        (n >= min_n). Rows not shown keep only unit, n and shown.
    mu, tau : float
        Maximum-likelihood intercept (logit scale, beyond the case-mix offset)
        and SD of the provider intercepts (as lme4).
    tau_ci : tuple of float
        Posterior interval of tau at ``1 - alpha``.
    p_value : float
        Likelihood-ratio test that providers do not differ (tau = 0).
    differ : bool
        Whether the data show evidence that providers differ (``p_value < alpha``).
    overall_rate : float
    min_n, alpha : the settings.
    outcome, unit_name : column names.
    lower_is_better : bool
    """

    table: pd.DataFrame = field(repr=False)
    mu: float
    tau: float
    tau_ci: tuple[float, float]
    p_value: float
    differ: bool
    overall_rate: float
    min_n: int
    alpha: float
    outcome: str
    unit_name: str
    lower_is_better: bool
    case_mix: bool

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "unit": self.unit_name,
            "mu": self.mu,
            "tau": self.tau,
            "tau_ci": list(self.tau_ci),
            "p_value": self.p_value,
            "differ": self.differ,
            "statement": self.statement(),
            "overall_rate": self.overall_rate,
            "min_n": self.min_n,
            "case_mix_adjusted": self.case_mix,
            "lower_is_better": self.lower_is_better,
            "providers": records(self.table),
        }

    def statement(self) -> str:
        """Whether the data show that providers differ, in plain English."""
        shown = int(self.table["shown"].sum())
        test = (
            f"test of between-provider variation: p = {self.p_value:.2g}; {shown} providers with at least "
            f"{self.min_n} people, {int(self.table['n'].sum()):,} people in all"
        )
        if not self.differ:
            return (
                f"No evidence that providers differ in {self.outcome} once case mix is allowed for ({test}). The "
                "differences between them are within what chance alone gives: do not rank them or single one out."
            )
        return (
            f"Evidence that providers differ in {self.outcome} beyond their case mix ({test}; between-provider SD "
            f"{self.tau:.2f} on the log-odds scale, {1 - self.alpha:.0%} interval {self.tau_ci[0]:.2f} to "
            f"{self.tau_ci[1]:.2f}). Read each provider's interval and rank interval, not the order."
        )

    def summary(self) -> str:
        shown = self.table[self.table["shown"]]
        hidden = self.table.loc[~self.table["shown"], "unit"].tolist()
        adjusted = "case-mix-adjusted " if self.case_mix else ""
        lines = [
            self.statement(),
            f"Provider comparison of {self.outcome} by {self.unit_name}: {adjusted}observed/expected, shrunk toward "
            f"the overall rate {self.overall_rate:.1%}, with intervals that carry the uncertainty in the overall "
            "level and in the spread between providers.",
            "Rank intervals show how little a ranking can say; read them, not the order.",
        ]
        if hidden:
            lines.append(f"Fewer than {self.min_n} people (no estimate, no rank): {', '.join(map(str, hidden))}.")
        cols = ["unit", "n", "rate", "oe", "shrunken_oe", "shrunken_ci_low", "shrunken_ci_high"]
        cols += ["adjusted_rate", "rank_low", "rank_high"]
        lines += ["", shown[cols].to_string(index=False, float_format=lambda v: f"{v:.3g}")]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def plot(self, ax=None):
        """Shrunken O/E with intervals (filled) beside the raw O/E (hollow), best at the top."""
        import matplotlib.pyplot as plt

        shown = self.table[self.table["shown"]].reset_index(drop=True)
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.35 * len(shown) + 1.5))
        y = np.arange(len(shown))[::-1]
        err = np.vstack(
            [shown["shrunken_oe"] - shown["shrunken_ci_low"], shown["shrunken_ci_high"] - shown["shrunken_oe"]]
        )
        ax.errorbar(shown["shrunken_oe"], y, xerr=err, fmt="o", color="tab:blue", capsize=2, label="shrunken O/E")
        ax.scatter(shown["oe"], y, facecolors="none", edgecolors="grey", label="raw O/E")
        ax.axvline(1.0, color="black", lw=1)
        labels = [
            f"{u} (rank {lo:.0f}-{hi:.0f})" for u, lo, hi in zip(shown["unit"], shown["rank_low"], shown["rank_high"])
        ]
        ax.set_yticks(y, labels)
        ax.set_xlabel("observed / expected for the provider's case-mix")
        ax.set_title(self.statement().split(" (")[0] + ".", fontsize="small")
        ax.legend(fontsize="small")
        return ax


def compare_providers(
    data: pd.DataFrame,
    unit: str = "provider_id",
    outcome: str = "reoffended",
    expected: str | None = None,
    *,
    min_n: int = MIN_N,
    lower_is_better: bool = True,
    alpha: float = 0.05,
    draws: int = 4_000,
    seed: int = 0,
) -> ProviderEstimates:
    """Compare providers' outcomes, case-mix-adjusted and shrunk, with CIs and rank intervals.

    Parameters
    ----------
    data : DataFrame
        One row per person: ``unit``, ``outcome`` (0/1) and, for case-mix
        adjustment, ``expected`` (each person's expected probability, e.g.
        ``DifficultyModel.predict(...).expected``).
    unit : str, default "provider_id"
    outcome : str, default "reoffended"
    expected : str, optional
        Without it, raw rates are shrunk toward the overall rate.
    min_n : int, default 60
        Providers with fewer people get no estimate and no rank (the Justice
        Data Lab's minimum).
    lower_is_better : bool, default True
        Rank 1 is the lowest effect (right for reoffending).
    alpha : float, default 0.05
        Intervals are at ``1 - alpha``; the test of differences at ``alpha``.
    draws : int, default 4000
        Posterior draws for the rank intervals.
    seed : int, default 0

    Returns
    -------
    ProviderEstimates

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> unit = np.repeat(["A", "B", "C", "D"], [400, 300, 200, 40])
    >>> df = pd.DataFrame({"provider_id": unit, "reoffended": rng.random(940) < 0.4})
    >>> c = compare_providers(df)
    >>> c.table[["unit", "n", "shown"]].to_dict("list")["shown"]
    [True, True, True, False]
    >>> c.differ
    False
    >>> c.statement().split(" (")[0]
    'No evidence that providers differ in reoffended once case mix is allowed for'
    """
    caller = "compare_providers"
    check_parameter(min_n, "min_n", caller, Interval(int, 1, None))
    check_parameter(alpha, "alpha", caller, Interval(float, 0, 1, closed="neither"))
    check_parameter(draws, "draws", caller, Interval(int, 100, None))
    require_columns(
        data,
        {"unit": unit, "outcome": outcome} | ({"expected": expected} if expected else {}),
        table="data",
        complete=True,
    )
    y = flag_values(data, outcome, "outcome", "data", caller)
    if y.min() == y.max():
        raise ModelError(f"{caller}: the {outcome!r} column has no variation; there is nothing to compare")
    e = np.full(len(y), y.mean()) if expected is None else np.clip(data[expected].to_numpy(dtype=float), 1e-6, 1 - 1e-6)
    code, levels = pd.factorize(data[unit].astype(str), sort=True)
    k = len(levels)
    offset = logit(e)
    n = np.bincount(code, minlength=k)
    obs, exp_total = np.bincount(code, weights=y, minlength=k), np.bincount(code, weights=e, minlength=k)
    start = float(logit(np.clip(y.mean(), 1e-3, 1 - 1e-3)) - np.mean(offset))
    curves = _Curves.tabulate(y, offset, code, k, start)
    mu, tau, loglik = _maximum_likelihood(curves, start)
    post = _posterior(curves, mu)
    shown = n >= min_n
    table = pd.DataFrame({"unit": [str(v) for v in levels], "n": n, "observed": obs, "expected": exp_total})
    table = table.assign(rate=obs / n, oe=obs / exp_total)
    table["oe_ci_low"] = np.nan_to_num(stats.chi2.ppf(alpha / 2, 2 * obs) / 2 / exp_total)
    table["oe_ci_high"] = stats.chi2.ppf(1 - alpha / 2, 2 * (obs + 1)) / 2 / exp_total
    columns = _shrunken(post, curves, exp_total, shown, float(y.mean()), alpha, draws, seed, lower_is_better)
    table = pd.concat([table, columns], axis=1)
    table["shown"] = shown
    estimates = [c for c in table.columns if c not in ("unit", "n", "shown")]
    table.loc[~shown, estimates] = np.nan
    sign = 1 if lower_is_better else -1
    table = table.assign(_key=sign * table["effect"]).sort_values(
        ["shown", "_key", "unit"], ascending=[False, True, True]
    )
    order = np.argsort(post.tau)
    cdf = np.cumsum(post.weight[order])
    low, high = (float(post.tau[order][np.searchsorted(cdf, q)]) for q in (alpha / 2, 1 - alpha / 2))
    tau_ci = (low, high)
    p_value = _no_difference_p_value(curves, mu, loglik)
    return ProviderEstimates(
        table=table.drop(columns="_key").reset_index(drop=True), mu=mu, tau=tau, tau_ci=tau_ci,
        p_value=p_value, differ=p_value < alpha, overall_rate=float(y.mean()), min_n=min_n, alpha=alpha,
        outcome=outcome, unit_name=unit, lower_is_better=lower_is_better, case_mix=expected is not None,
    )  # fmt: skip


def _shrunken(post, curves, exp_total, shown, rate, alpha, draws, seed, lower_is_better) -> pd.DataFrame:
    """The posterior columns: effect (shift beyond case mix), shrunken O/E with its equal-tailed interval,
    adjusted rate, and the rank interval from draws of the same posterior."""
    c = post.conditional
    counts = curves.expected_count(c.nodes, axis=1)
    mean_oe = post.weight @ (c.weights * counts).sum(axis=-1) / exp_total
    bounds = _mixture_quantiles(post, (alpha / 2, 1 - alpha / 2))
    oe_bounds = curves.expected_count(bounds.T).T / exp_total[:, None]
    effect = post.weight @ post.mean - post.weight @ post.level
    ranks = np.full((len(shown), 2), np.nan)
    if shown.any():
        shift = _rank_draws(post, shown, draws, seed)
        order = shift if lower_is_better else -shift
        r = order.argsort(axis=1).argsort(axis=1) + 1
        ranks[shown] = np.quantile(r, [alpha / 2, 1 - alpha / 2], axis=0).T
    return pd.DataFrame(
        {
            "effect": effect, "shrunken_oe": mean_oe, "shrunken_ci_low": oe_bounds[:, 0],
            "shrunken_ci_high": oe_bounds[:, 1], "adjusted_rate": mean_oe * rate,
            "adjusted_ci_low": oe_bounds[:, 0] * rate, "adjusted_ci_high": oe_bounds[:, 1] * rate,
            "rank_low": ranks[:, 0], "rank_high": ranks[:, 1],
        }
    )  # fmt: skip
