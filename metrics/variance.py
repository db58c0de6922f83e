"""Standard errors of effect estimates from their per-row influence contributions.

Every estimator in :mod:`metrics.effects` returns, beside its estimate, one
influence contribution per analysis row: ``phi_i = c' A^-1 s_i``, the row's
score ``s_i`` carried through the model's bread ``A`` (``X'WX`` for least
squares) and the gradient ``c`` of the reported contrast. The sandwich
variances R's ``sandwich`` package gives are then sums of squares of those
contributions, summed within clusters:

- ``"cluster"``: one-way clusters (the matched set), with sandwich's default
  adjustment: ``G/(G-1)``, times ``(n-1)/(n-k)`` for a linear model (type HC1),
  as ``vcovCL(fit, cluster = ~subclass)``.
- ``"two_way"``: clusters on the matched set and on the unit (with replacement a
  control serves several sets), Cameron, Gelbach and Miller's
  ``V_set + V_unit - V_set&unit``, each with its ``G/(G-1)``, as
  ``vcovCL(fit, cluster = ~subclass + id)`` on MatchIt's ``get_matches()`` data.
- ``"hc3"``: per row, each contribution divided by ``1 - h_i`` (the leverage),
  as ``vcovHC(fit, type = "HC3")``; for a GLM ``"hc0"`` (no leverage).

:func:`abadie_imbens_variance` is the matching estimator's own variance (Abadie
and Imbens 2006), as R's ``Matching::Match(...)$se`` gives it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["abadie_imbens_variance", "cluster_variance", "clusters_sum_of_squares", "within_group_variance"]


def clusters_sum_of_squares(phi: np.ndarray, groups: np.ndarray | None) -> tuple[float, int]:
    """``sum_g (sum_{i in g} phi_i)^2`` and the number of clusters G (rows when None)."""
    if groups is None:
        return float(phi @ phi), len(phi)
    codes, uniques = pd.factorize(np.asarray(groups))
    sums = np.bincount(codes, weights=phi, minlength=len(uniques))
    return float(sums @ sums), len(uniques)


def cluster_variance(
    phi: np.ndarray,
    how: str,
    *,
    sets: np.ndarray | None = None,
    units: np.ndarray | None = None,
    leverage: np.ndarray | None = None,
    n_params: int = 2,
    linear: bool = True,
    cadjust: bool = True,
) -> float:
    """Variance of an estimate from its influence contributions ``phi`` (see the module docstring).

    ``how`` is "cluster" (on ``sets``), "two_way" (on ``sets`` and ``units``),
    "hc3" (per row with ``leverage``) or "hc0" (per row). ``cadjust=False``
    leaves out the ``G/(G-1)`` factors (R's ``coxph`` robust variance has none).
    """
    n = len(phi)

    def one_way(groups):
        ss, g = clusters_sum_of_squares(phi, groups)
        return ss * (g / (g - 1) if cadjust and g > 1 else 1.0)

    if how == "hc3":
        scaled = phi / (1.0 - leverage) if leverage is not None else phi
        return float(scaled @ scaled)
    if how == "hc0":
        return float(phi @ phi)
    if how == "cluster":
        v = one_way(sets)
    else:  # two-way: set, unit, and their intersection (each unit once per set: the rows)
        both = pd.factorize(pd.MultiIndex.from_arrays([sets, units]))[0]
        v = one_way(sets) + one_way(units) - one_way(both)
    return v * ((n - 1) / (n - n_params) if linear and n > n_params else 1.0)


def abadie_imbens_variance(
    y: np.ndarray,
    focal_rows: np.ndarray,
    match_rows: np.ndarray,
    focal_is_treated: bool,
    sigma2: np.ndarray | None,
) -> tuple[float, float]:
    """Abadie and Imbens' (2006) variance of the matching estimator of the effect on
    the focal group (the treated for the ATT), for the population effect.

    Parameters
    ----------
    y : array
        Outcome of every unit (indexed by row).
    focal_rows, match_rows : int arrays
        One entry per (focal unit, matched unit) pair.
    focal_is_treated : bool
        True for the ATT (the effect is focal minus matched), False for the ATC.
    sigma2 : array or None
        Conditional variance of each unit's outcome (e.g. from matching within
        its own group); None assumes one variance for everyone, estimated as
        R's ``Matching`` does with ``Var.calc = 0``: half the mean squared
        deviation of the pair differences from the estimate.

    Returns
    -------
    (estimate, variance)
        As ``Matching::Match(Y, Tr, X, estimand = "ATT")``: ``est`` and ``se**2``.

    Notes
    -----
    With ``M_i`` matches for focal unit ``i``, each pair has weight ``1/M_i``;
    ``K_j`` sums the weights of unit ``j``'s pairs and ``KK_j`` their squares.
    ``V = sum_j sigma2_j (K_j^2 - KK_j) / N^2 + sum_i (tau_i - tau)^2 / N^2``
    over matched units ``j`` and focal units ``i``, with ``tau_i`` the focal
    unit's outcome minus its matches' mean (reversed for the ATC).
    """
    focal, inverse = np.unique(focal_rows, return_inverse=True)
    m = np.bincount(inverse)
    pair_w = 1.0 / m[inverse]
    sign = 1.0 if focal_is_treated else -1.0
    pair_tau = sign * (y[focal_rows] - y[match_rows])
    tau_i = np.bincount(inverse, weights=pair_w * pair_tau)
    n_focal = len(focal)
    estimate = float(tau_i.mean())
    matched, j = np.unique(match_rows, return_inverse=True)
    k = np.bincount(j, weights=pair_w)
    kk = np.bincount(j, weights=pair_w**2)
    if sigma2 is None:
        s2 = 0.5 * float(np.sum(pair_w * (pair_tau - estimate) ** 2) / np.sum(pair_w))
        s2_matched = np.full(len(matched), s2)
    else:
        s2_matched = np.asarray(sigma2, dtype=float)[matched]
    variance = (np.sum(s2_matched * (k**2 - kk)) + np.sum((tau_i - estimate) ** 2)) / n_focal**2
    return estimate, float(variance)


def within_group_variance(y: np.ndarray, points: np.ndarray, group: np.ndarray, neighbours: int) -> np.ndarray:
    """Conditional variance of each unit's outcome (Abadie and Imbens 2006): the sample
    variance (n - 1) of its outcome and those of its J nearest units of the same group,
    nearest on ``points`` (one column per dimension), as R's ``Matching`` with
    ``Var.calc = J`` computes it. Exact nearest neighbours in row blocks (memory
    bounded by the block, time by the group's size squared)."""
    points = np.asarray(points, dtype=float).reshape(len(y), -1)
    out = np.full(len(y), np.nan)
    for g in (True, False):
        rows = np.flatnonzero(group == g)
        if len(rows) <= neighbours:
            continue
        P, yg = points[rows], y[rows]
        norms = np.sum(P**2, axis=1)
        block = max(1, 20_000_000 // len(rows))
        for start in range(0, len(rows), block):
            stop = min(start + block, len(rows))
            d = norms[start:stop, None] + norms[None, :] - 2 * P[start:stop] @ P.T
            d[np.arange(stop - start), np.arange(start, stop)] = np.inf  # not the unit itself
            near = np.argpartition(d, neighbours - 1, axis=1)[:, :neighbours]
            values = np.column_stack([yg[start:stop], yg[near]])
            out[rows[start:stop]] = values.var(axis=1, ddof=1)
    return out
