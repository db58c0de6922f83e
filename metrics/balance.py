"""Covariate balance before and after matching, with MatchIt 4.7.2's definitions.

For each variable (the distance, each numeric covariate, one 0/1 row per level
of a categorical):

- ``mean_treated``, ``mean_control``: weighted means (matching weights after).
- ``smd``: (mean_treated - mean_control) / sd_treated, where sd_treated is the
  treated group's SD in the *full, unmatched* sample, so before and after share
  one denominator (the ATT convention, MatchIt's ``s.d.denom = "treated"``).
  A difference below sqrt(machine epsilon) in absolute value gives 0.
- ``var_ratio``: weighted variance of treated over controls, continuous
  variables only. Weighted variance: sum(w (x - m)^2) / (1 - sum(w^2)) with w
  normalised to sum to 1 (the n-1 variance when unweighted); for a 0/1
  variable p(1 - p).
- ``ecdf_mean``, ``ecdf_max``: mean and maximum over the distinct values x of
  |F_treated(x) - F_control(x)|, F the weighted empirical CDF (weights
  normalised within group; distinct values include units with weight 0). For a
  0/1 variable both equal |difference in proportions|.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from metrics.propensity import categorical_levels, level_codes

__all__ = ["balance_variables", "balance_table", "plot_balance", "STATISTICS"]

STATISTICS = ["mean_treated", "mean_control", "smd", "var_ratio", "ecdf_mean", "ecdf_max"]
_TINY = np.sqrt(np.finfo(float).eps)


def balance_variables(data: pd.DataFrame, covariates: list[str]) -> dict[str, np.ndarray]:
    """Numeric arrays to assess, one per numeric/bool covariate and one 0/1 array per
    level of each categorical covariate (named like R: ``race`` -> ``raceblack``, ...)."""
    out: dict[str, np.ndarray] = {}
    for c in covariates:
        col = data[c]
        levels = categorical_levels(col)
        if levels is None:
            out[c] = col.to_numpy(dtype=float)
        else:
            codes = level_codes(col, levels)
            for k, lev in enumerate(levels):
                out[f"{c}{lev}"] = (codes == k).astype(float)
    return out


def balance_table(variables: dict[str, np.ndarray], treated: np.ndarray, weights: np.ndarray | None) -> pd.DataFrame:
    """Balance statistics before matching and, if ``weights`` is given, after.

    Parameters
    ----------
    variables : dict of name -> array
        Variables to assess (see :func:`balance_variables`), each of length n.
    treated : bool array of length n
    weights : array of length n or None
        Matching weights (0 for unmatched units).

    Returns
    -------
    pandas.DataFrame
        Index ``variable``; columns a MultiIndex (``sample`` in before/after,
        statistic in :data:`STATISTICS`).
    """
    treated = np.asarray(treated, dtype=bool)
    groups = _Groups(treated, weights)
    rows_before, rows_after = [], []
    for x in variables.values():
        before, after = _variable_balance(np.asarray(x, dtype=float), groups)
        rows_before.append(before)
        rows_after.append(after)
    parts = {"before": pd.DataFrame(rows_before, columns=STATISTICS)}
    if weights is not None:
        parts["after"] = pd.DataFrame(rows_after, columns=STATISTICS)
    table = pd.concat(parts, axis=1, names=["sample", "statistic"])
    table.index = pd.Index(list(variables), name="variable")
    return table


class _Groups:
    """Row selections shared by every variable: treated, controls and, after
    matching, only the units with nonzero weight (units with weight 0 add
    nothing to weighted means and variances; on a national pool they are
    nearly everyone)."""

    def __init__(self, treated: np.ndarray, weights: np.ndarray | None):
        self.t = np.flatnonzero(treated)
        self.c = np.flatnonzero(~treated)
        self.matched = weights is not None
        if self.matched:
            self.mt = self.t[weights[self.t] > 0]
            self.mc = self.c[weights[self.c] > 0]
            self.wt, self.wc = weights[self.mt], weights[self.mc]


def _is_binary(x: np.ndarray) -> bool:
    return bool(x.min() >= 0 and x.max() <= 1 and np.all((x == 0) | (x == 1)))


def _variable_balance(x: np.ndarray, g: _Groups):
    binary = _is_binary(x)
    xt, xc = x[g.t], x[g.c]
    mean_t, mean_c = xt.mean(), xc.mean()
    var_t, var_c = _variance(xt, None, binary), _variance(xc, None, binary)
    sd = np.sqrt(var_t)
    if not np.isfinite(sd) or sd < _TINY:
        # MatchIt falls back to the pooled SD when the treated SD is zero.
        sd = np.sqrt((var_t + var_c) / 2)
    before = _row(mean_t, mean_c, sd, var_t, var_c, binary)
    after = None
    if g.matched:
        xmt, xmc = x[g.mt], x[g.mc]
        mw_t, mw_c = np.sum(g.wt * xmt) / g.wt.sum(), np.sum(g.wc * xmc) / g.wc.sum()
        after = _row(mw_t, mw_c, sd, _variance(xmt, g.wt, binary), _variance(xmc, g.wc, binary), binary)
    if not binary:
        before[4:], ecdf_after = _ecdf_stats(x, xt, len(xc), g)
        if after is not None:
            after[4:] = ecdf_after
    return before, after


def _row(mean_t, mean_c, sd, var_t, var_c, binary):
    diff = mean_t - mean_c
    smd = diff / sd if abs(diff) > _TINY else 0.0
    var_ratio = np.nan if binary else var_t / var_c
    ecdf = abs(diff) if binary else np.nan
    return [mean_t, mean_c, smd, var_ratio, ecdf, ecdf]


def _variance(x: np.ndarray, w: np.ndarray | None, binary: bool) -> float:
    if w is None:
        m = x.mean()
        return m * (1 - m) if binary else x.var(ddof=1)
    w = w / w.sum()
    m = np.sum(w * x)
    if binary:
        return m * (1 - m)
    return np.sum(w * (x - m) ** 2) / (1 - np.sum(w**2))


def _ecdf_stats(x, xt, n_c, g: _Groups):
    """eCDF mean/max before (equal weights) and after (matching weights).

    One sort of the pooled values gives the distinct values u and how many
    units lie at or below each. Before matching the treated count at or below
    each u comes from a bincount of the treated values' positions in u (no
    search per u). After matching both CDFs are step functions that move only
    at matched values, so |F_t - F_c| is constant between consecutive matched
    values; each such gap is weighted by the number of distinct u it covers.
    """
    xs = np.sort(x)
    last = np.empty(len(xs), dtype=bool)
    last[:-1] = xs[1:] != xs[:-1]
    last[-1] = True
    u = xs[last]
    n_le = np.flatnonzero(last) + 1  # units with value <= u
    t_le = np.cumsum(np.bincount(np.searchsorted(u, xt), minlength=len(u)))
    gap = np.abs(t_le / len(xt) - (n_le - t_le) / n_c)
    before = [gap.mean(), gap.max()]
    if not g.matched:
        return before, None
    xmt, xmc = x[g.mt], x[g.mc]
    steps = np.unique(np.concatenate([xmt, xmc]))
    gap = np.abs(_weighted_cdf(xmt, g.wt, steps) - _weighted_cdf(xmc, g.wc, steps))
    # distinct values of the whole sample from each step up to the next one
    covered = np.diff(np.append(np.searchsorted(u, steps), len(u)))
    return before, [np.sum(gap * covered) / len(u), gap.max()]


def _weighted_cdf(x: np.ndarray, w: np.ndarray, at: np.ndarray) -> np.ndarray:
    o = np.argsort(x, kind="stable")
    cum = np.concatenate([[0.0], np.cumsum(w[o]) / w.sum()])
    return cum[np.searchsorted(x[o], at, side="right")]


def plot_balance(table: pd.DataFrame, ax=None, *, thresholds=(0.1, 0.25)):
    """Love plot: absolute standardised mean differences before and after matching,
    with dashed reference lines at 0.1 and 0.25. Returns the matplotlib Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.35 * len(table) + 1.5))
    y = np.arange(len(table))[::-1]
    ax.scatter(
        table[("before", "smd")].abs(), y, marker="o", facecolors="none", edgecolors="tab:red", label="before matching"
    )
    if "after" in table.columns.get_level_values(0):
        ax.scatter(table[("after", "smd")].abs(), y, marker="o", color="tab:blue", label="after matching")
    for v in thresholds:
        ax.axvline(v, color="grey", linestyle="--", linewidth=0.8)
    ax.set_yticks(y, table.index)
    ax.set_xlabel("absolute standardised mean difference (treated SD)")
    ax.legend(loc="lower right", frameon=False)
    return ax
