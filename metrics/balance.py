"""Covariate balance before and after matching, with MatchIt 4.7.2's definitions.

For each variable (the distance, each numeric covariate, one 0/1 row per level
of a categorical):

- ``mean_treated``, ``mean_control``: weighted means (matching weights after).
- ``smd``: (mean_treated - mean_control) / sd, where sd is, in the *full,
  unadjusted* sample, the treated group's SD for the ATT, the control group's
  for the ATC, and sqrt((var_t + var_c) / 2) for the ATE (MatchIt's
  ``s.d.denom``), so before and after share one denominator. A difference below
  sqrt(machine epsilon) in absolute value gives 0.
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

__all__ = ["balance_variables", "balance_table", "balanced_flags", "plot_balance", "STATISTICS"]

STATISTICS = ["mean_treated", "mean_control", "smd", "var_ratio", "ecdf_mean", "ecdf_max"]
_TINY = np.sqrt(np.finfo(float).eps)


def balance_variables(
    data: pd.DataFrame, covariates: list[str], *, squares: bool = False, interactions: bool = False
) -> dict[str, np.ndarray]:
    """Numeric arrays to assess, one per numeric/bool covariate and one 0/1 array per
    level of each categorical covariate (named like R: ``race`` -> ``raceblack``, ...).

    ``squares`` adds the square of each continuous variable (``age²``);
    ``interactions`` the product of every pair of variables from different
    covariates (``age * married``), leaving out products that never vary.

    Examples
    --------
    >>> df = pd.DataFrame({"age": [20.0, 30.0, 40.0], "sex": ["f", "m", "m"]})
    >>> list(balance_variables(df, ["age", "sex"], squares=True, interactions=True))
    ['age', 'sexf', 'sexm', 'age²', 'age * sexf', 'age * sexm']
    """
    out: dict[str, np.ndarray] = {}
    source: dict[str, str] = {}
    for c in covariates:
        col = data[c]
        levels = categorical_levels(col)
        if levels is None:
            out[c] = col.to_numpy(dtype=float)
            source[c] = c
        else:
            codes = level_codes(col, levels)
            for k, lev in enumerate(levels):
                out[f"{c}{lev}"] = (codes == k).astype(float)
                source[f"{c}{lev}"] = c
    base = list(out)
    if squares:
        for name in base:
            if not _is_binary(out[name]):
                out[f"{name}²"] = out[name] ** 2
    if interactions:
        for i, a in enumerate(base):
            for b in base[i + 1 :]:
                product = out[a] * out[b]
                if source[a] != source[b] and product.min() < product.max():
                    out[f"{a} * {b}"] = product
    return out


def balance_table(
    variables: dict[str, np.ndarray], treated: np.ndarray, weights: np.ndarray | None, *, estimand: str = "ATT"
) -> pd.DataFrame:
    """Balance statistics before matching and, if ``weights`` is given, after.

    Parameters
    ----------
    variables : dict of name -> array
        Variables to assess (see :func:`balance_variables`), each of length n.
    treated : bool array of length n
    weights : array of length n or None
        Matching weights (0 for unmatched units).
    estimand : {"ATT", "ATC", "ATE"}
        Chooses the SMD's denominator (see the module docstring).

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
        before, after = _variable_balance(np.asarray(x, dtype=float), groups, estimand)
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
        if weights is not None:
            self.mt = self.t[weights[self.t] > 0]
            self.mc = self.c[weights[self.c] > 0]
            self.wt, self.wc = weights[self.mt], weights[self.mc]


def _is_binary(x: np.ndarray) -> bool:
    return bool(x.min() >= 0 and x.max() <= 1 and np.all((x == 0) | (x == 1)))


def _variable_balance(x: np.ndarray, g: _Groups, estimand: str = "ATT"):
    binary = _is_binary(x)
    xt, xc = x[g.t], x[g.c]
    mean_t, mean_c = xt.mean(), xc.mean()
    var_t, var_c = _variance(xt, None, binary), _variance(xc, None, binary)
    sd = np.sqrt({"ATT": var_t, "ATC": var_c}.get(estimand, (var_t + var_c) / 2))
    if not np.isfinite(sd) or sd < _TINY:
        # MatchIt falls back to the pooled SD when the chosen group's SD is zero.
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


def balanced_flags(table: pd.DataFrame, thresholds: dict[str, float]) -> pd.DataFrame:
    """Add a ``balanced`` column to each sample of a balance table: True when
    ``|smd| <= thresholds["smd"]`` and, if given, ``1/r <= var_ratio <= r`` with
    ``r = thresholds["var_ratio"]`` (a missing variance ratio, binary variables, passes).

    Examples
    --------
    >>> t = balance_table({"x": np.array([1.0, 2.0, 3.0, 5.0])}, np.array([1, 1, 0, 0], bool), None)
    >>> bool(balanced_flags(t, {"smd": 0.1})[("before", "balanced")].iloc[0])
    False
    """
    unknown = set(thresholds) - {"smd", "var_ratio"}
    if unknown:
        from ground.checks import parameter_error

        raise parameter_error("thresholds", "balance", "a dict with keys 'smd' and/or 'var_ratio'", thresholds)
    out = table.copy()
    for sample in dict.fromkeys(table.columns.get_level_values(0)):
        ok = np.ones(len(table), dtype=bool)
        if "smd" in thresholds:
            ok &= table[(sample, "smd")].abs().to_numpy() <= thresholds["smd"]
        if "var_ratio" in thresholds:
            r = table[(sample, "var_ratio")].to_numpy()
            limit = thresholds["var_ratio"]
            ok &= np.isnan(r) | ((r >= 1 / limit) & (r <= limit))
        out[(sample, "balanced")] = ok
    return out.sort_index(axis=1, level=0, sort_remaining=False)


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
