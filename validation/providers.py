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
one, ``e_i`` is the overall rate and the model shrinks raw rates). ``mu`` and
``tau`` are estimated by maximum marginal likelihood, integrating each
provider's ``u_p`` out by adaptive Gauss-Hermite quadrature (25 nodes, as R's
``lme4::glmer(..., nAGQ = 25)``, which the tests check against). Each
provider's posterior for ``u_p`` then gives:

* the **shrunken O/E**: the posterior mean of
  ``R_p(u) = sum_i expit(logit(e_i) + mu + u) / sum_i e_i`` (its expected
  outcome count under the model over the count its case-mix predicts), with a
  95% interval from the posterior mean +- 1.96 posterior SD of ``u_p`` mapped
  through ``R_p``. Small providers are pulled toward the overall ratio
  ``R_p(0)``, large ones hardly at all: this is empirical-Bayes shrinkage;
* the **adjusted rate**: shrunken O/E times the overall rate;
* a **rank interval**: the 2.5% and 97.5% quantiles of each provider's rank over
  draws from the posteriors (rank 1 = best; ``lower_is_better`` says which way).

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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import expit, logit

from ground.checks import Interval, check_parameter, require_columns
from ground.errors import ModelError
from validation.screens import flag_values, records

__all__ = ["MIN_N", "ProviderComparison", "compare_providers"]

#: The Justice Data Lab's minimum: fewer people than this get no estimate of their own.
MIN_N = 60
NODES = 25
_NEWTON = 30


@dataclass(frozen=True)
class _Fit:
    mu: float
    tau: float
    mode: np.ndarray  # conditional modes of u_p (lme4's ranef)
    mean: np.ndarray  # posterior means of u_p
    sd: np.ndarray  # posterior SDs of u_p
    nodes: np.ndarray  # providers x NODES: u at the adaptive nodes
    weights: np.ndarray  # providers x NODES: posterior weights
    loglik: float


def _provider_loglik(u: np.ndarray, y, offset, code, n_units: int) -> np.ndarray:
    """sum over each provider's people of the Bernoulli log-likelihood at u[p] (providers x columns of u)."""
    eta = offset[:, None] + u[code]
    ll = y[:, None] * eta - np.logaddexp(0.0, eta)
    return np.stack([np.bincount(code, weights=ll[:, k], minlength=n_units) for k in range(u.shape[1])], axis=1)


def _modes(mu: float, tau: float, y, offset, code, n_units: int) -> tuple[np.ndarray, np.ndarray]:
    """Mode and curvature SD of each provider's u given (mu, tau), by Newton steps on all at once."""
    u = np.zeros(n_units)
    base = offset + mu
    for _ in range(_NEWTON):
        p = expit(base + u[code])
        grad = np.bincount(code, weights=y - p, minlength=n_units) - u / tau**2
        hess = np.bincount(code, weights=p * (1 - p), minlength=n_units) + 1 / tau**2
        step = grad / hess
        u += step
        if np.max(np.abs(step)) < 1e-12:
            break
    p = expit(base + u[code])
    hess = np.bincount(code, weights=p * (1 - p), minlength=n_units) + 1 / tau**2
    return u, 1 / np.sqrt(hess)


def _marginal(params: np.ndarray, y, offset, code, n_units: int, full: bool = False):
    """Minus the marginal log-likelihood at (mu, log tau), by adaptive Gauss-Hermite quadrature."""
    mu, tau = float(params[0]), float(np.exp(params[1]))
    x, w = np.polynomial.hermite.hermgauss(NODES)
    mode, scale = _modes(mu, tau, y, offset, code, n_units)
    u = mode[:, None] + np.sqrt(2) * scale[:, None] * x[None, :]
    log_f = _provider_loglik(u, y, offset + mu, code, n_units) + stats.norm.logpdf(u, 0.0, tau)
    log_terms = np.log(w)[None, :] + x[None, :] ** 2 + log_f
    top = log_terms.max(axis=1, keepdims=True)
    log_integral = np.log(np.sqrt(2) * scale) + top[:, 0] + np.log(np.exp(log_terms - top).sum(axis=1))
    if not full:
        return -float(log_integral.sum())
    post = np.exp(log_terms - top)
    post /= post.sum(axis=1, keepdims=True)
    mean = (post * u).sum(axis=1)
    sd = np.sqrt(np.maximum((post * (u - mean[:, None]) ** 2).sum(axis=1), 0.0))
    return _Fit(mu, tau, mode, mean, sd, u, post, float(log_integral.sum()))


def fit_random_intercepts(y: np.ndarray, offset: np.ndarray, code: np.ndarray, n_units: int) -> _Fit:
    """Maximum marginal likelihood of the random-intercept logit with an offset (see module docstring)."""
    start = np.array([float(logit(np.clip(y.mean(), 1e-3, 1 - 1e-3)) - np.mean(offset)), np.log(0.3)])
    res = optimize.minimize(
        _marginal,
        start,
        args=(y, offset, code, n_units),
        method="L-BFGS-B",
        bounds=[(None, None), (np.log(1e-4), np.log(10.0))],
        options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 500},
    )
    if not np.isfinite(res.fun):
        raise ModelError("compare_providers: the random-intercept model could not be fitted")
    return _marginal(res.x, y, offset, code, n_units, full=True)


@dataclass(frozen=True)
class ProviderComparison:
    """Providers compared like with like, with shrinkage and honest intervals.

    Attributes
    ----------
    table : DataFrame
        One row per provider, sorted by the shrunken O/E (best first): unit, n,
        observed, expected, rate; oe (raw O/E) with oe_ci_low/high (exact
        Poisson for O); shrunken_oe with shrunken_ci_low/high; adjusted_rate
        with adjusted_ci_low/high; rank_low, rank_high (95% rank interval
        among the providers shown); shown (n >= min_n). Rows not shown keep
        only unit, n and shown.
    mu, tau : float
        The model's intercept (logit scale, beyond the case-mix offset) and
        the SD of the provider intercepts.
    overall_rate : float
    min_n, alpha : the settings.
    outcome, unit_name : column names.
    lower_is_better : bool
    """

    table: pd.DataFrame = field(repr=False)
    mu: float
    tau: float
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
            "overall_rate": self.overall_rate,
            "min_n": self.min_n,
            "case_mix_adjusted": self.case_mix,
            "lower_is_better": self.lower_is_better,
            "providers": records(self.table),
        }

    def summary(self) -> str:
        shown = self.table[self.table["shown"]]
        hidden = self.table.loc[~self.table["shown"], "unit"].tolist()
        adjusted = "case-mix-adjusted " if self.case_mix else ""
        lines = [
            f"Provider comparison of {self.outcome} by {self.unit_name}: {adjusted}observed/expected, shrunk toward "
            f"the overall rate {self.overall_rate:.1%} (between-provider SD {self.tau:.3g} on the log-odds scale).",
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
        """Shrunken O/E with 95% intervals (filled) beside the raw O/E (hollow), best at the top."""
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
        ax.legend(fontsize="small")
        return ax


def _ratios(fit: _Fit, offset, expected_total, code, n_units: int, u: np.ndarray) -> np.ndarray:
    """R_p(u): providers x columns of u."""
    eta = offset[:, None] + fit.mu + u[code]
    totals = np.stack([np.bincount(code, weights=expit(eta[:, k]), minlength=n_units) for k in range(u.shape[1])], 1)
    return totals / expected_total[:, None]


def _rank_intervals(fit: _Fit, curve_u, curve_r, shown, lower_is_better, alpha, draws, seed) -> np.ndarray:
    """Quantiles of each shown provider's rank over draws from the posteriors of u."""
    rng = np.random.default_rng(seed)
    idx = np.flatnonzero(shown)
    out = np.full((len(shown), 2), np.nan)
    if idx.size == 0:  # no provider is large enough to rank
        return out
    u = fit.mean[idx, None] + fit.sd[idx, None] * rng.standard_normal((idx.size, draws))
    r = np.stack([np.interp(u[j], curve_u[i], curve_r[i]) for j, i in enumerate(idx)])
    order = r if lower_is_better else -r
    ranks = order.argsort(axis=0).argsort(axis=0) + 1
    out[idx] = np.quantile(ranks, [alpha / 2, 1 - alpha / 2], axis=1).T
    return out


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
) -> ProviderComparison:
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
        Rank 1 is the lowest O/E (right for reoffending).
    alpha : float, default 0.05
    draws : int, default 4000
        Posterior draws for the rank intervals.
    seed : int, default 0

    Returns
    -------
    ProviderComparison

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> unit = np.repeat(["A", "B", "C", "D"], [400, 300, 200, 40])
    >>> df = pd.DataFrame({"provider_id": unit, "reoffended": rng.random(940) < 0.4})
    >>> c = compare_providers(df)
    >>> c.table[["unit", "n", "shown"]].to_dict("list")["shown"]
    [True, True, True, False]
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
    fit = fit_random_intercepts(y, offset, code, k)
    n = np.bincount(code, minlength=k)
    obs, exp_total = np.bincount(code, weights=y, minlength=k), np.bincount(code, weights=e, minlength=k)
    z = stats.norm.ppf(1 - alpha / 2)
    mean_r = (fit.weights * _ratios(fit, offset, exp_total, code, k, fit.nodes)).sum(axis=1)
    bounds = np.column_stack([fit.mean - z * fit.sd, fit.mean + z * fit.sd])
    lo_hi = _ratios(fit, offset, exp_total, code, k, bounds)
    grid = fit.mean[:, None] + fit.sd[:, None] * np.linspace(-6, 6, 61)[None, :]
    shown = n >= min_n
    ranks = _rank_intervals(
        fit, grid, _ratios(fit, offset, exp_total, code, k, grid), shown, lower_is_better, alpha, draws, seed
    )
    rate = float(y.mean())
    table = pd.DataFrame(
        {
            "unit": [str(v) for v in levels],
            "n": n,
            "observed": obs,
            "expected": exp_total,
            "rate": obs / n,
            "oe": obs / exp_total,
            "oe_ci_low": stats.chi2.ppf(alpha / 2, 2 * obs) / 2 / exp_total,
            "oe_ci_high": stats.chi2.ppf(1 - alpha / 2, 2 * (obs + 1)) / 2 / exp_total,
            "shrunken_oe": mean_r,
            "shrunken_ci_low": lo_hi[:, 0],
            "shrunken_ci_high": lo_hi[:, 1],
            "adjusted_rate": mean_r * rate,
            "adjusted_ci_low": lo_hi[:, 0] * rate,
            "adjusted_ci_high": lo_hi[:, 1] * rate,
            "rank_low": ranks[:, 0],
            "rank_high": ranks[:, 1],
            "shown": shown,
        }
    )
    table["oe_ci_low"] = table["oe_ci_low"].fillna(0.0)
    estimates = [c for c in table.columns if c not in ("unit", "n", "shown")]
    table.loc[~shown, estimates] = np.nan
    sign = 1 if lower_is_better else -1
    table = table.assign(_key=sign * table["shrunken_oe"]).sort_values(
        ["shown", "_key", "unit"], ascending=[False, True, True]
    )
    return ProviderComparison(
        table=table.drop(columns="_key").reset_index(drop=True),
        mu=fit.mu,
        tau=fit.tau,
        overall_rate=rate,
        min_n=min_n,
        alpha=alpha,
        outcome=outcome,
        unit_name=unit,
        lower_is_better=lower_is_better,
        case_mix=expected is not None,
    )
