"""Multivariate distances and the matchers that use them: Mahalanobis and robust
Mahalanobis distance (MatchIt's definitions), nearest neighbours on them, and
optimal pair matching.

Distances are computed as Euclidean distances between transformed points, as
MatchIt's ``transform_covariates`` does:

- covariates enter as numbers; a categorical covariate as one 0/1 column per
  level divided by sqrt(2) (so a two-level factor counts as one 0/1 variable);
  columns with no variation are dropped;
- ``"mahalanobis"``: columns standardised, then the inverse of the pooled
  within-group covariance of the units kept (not discarded);
- ``"robust_mahalanobis"`` (Rosenbaum 2010, ch. 8): ranks (ties averaged), the
  covariance of the ranks with each variance replaced by that of untied ranks;
- a near-singular covariance uses the generalised inverse: eigenvalues at or
  below sqrt(machine epsilon) times the largest are treated as zero, the
  relative tolerance of ``MASS::ginv``. MatchIt inverts with ``solve()`` unless
  the determinant is below 1e-8, but a determinant says nothing about
  conditioning (collinear rank columns can have one of 1e24): keeping an
  eigenvalue of 1e-11 of the largest multiplies rounding noise by 3e5, so the
  distances would change from one machine to the next. The two agree whenever
  the covariance is well conditioned.

Optimal pair matching minimises the total distance within pairs over all
possible pairings (what R's ``optmatch::pairmatch`` solves for MatchIt's
``method = "optimal"``), with scipy's minimum-weight full bipartite matching.
With a caliper or too few units in the other group, as many focal units as
possible are matched first, then as many matches as possible (with ``ratio`` > 1),
then the total distance is minimised.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ground.errors import MatchingError
from metrics.propensity import categorical_levels, level_codes

__all__ = ["covariate_points", "nearest_on_points", "optimal_pairs"]

#: Most (focal x other) distances optimal matching computes in one stratum.
OPTIMAL_LIMIT = 50_000_000


def _raw_matrix(data: pd.DataFrame, covariates: list[str]) -> tuple[np.ndarray, list[str]]:
    blocks, names = [], []
    for c in covariates:
        col = data[c]
        levels = categorical_levels(col)
        if levels is None:
            blocks.append(col.to_numpy(dtype=float))
            names.append(c)
        else:
            codes = level_codes(col, levels)
            blocks += [(codes == k) / np.sqrt(2.0) for k in range(len(levels))]
            names += [f"{c}{lev}" for lev in levels]
    X = np.column_stack(blocks) if blocks else np.empty((len(data), 0))
    spread = X.max(axis=0) - X.min(axis=0) if len(X) else np.zeros(X.shape[1])
    keep = spread >= np.sqrt(np.finfo(float).eps)
    return X[:, keep], [n for n, k in zip(names, keep) if k]


#: Eigenvalues at or below this share of the largest count as zero (``MASS::ginv``'s tolerance).
RANK_TOLERANCE = float(np.sqrt(np.finfo(float).eps))

#: Squared distances closer than this share of the largest squared norm of the points are ties.
TIE_TOLERANCE = 1e-9


def _inverse_root(var: np.ndarray) -> np.ndarray:
    """L with L L' = var^+ (the generalised inverse: directions with eigenvalues at or
    below ``RANK_TOLERANCE`` of the largest are dropped, never amplified)."""
    vals, vecs = np.linalg.eigh((var + var.T) / 2)
    keep = vals > RANK_TOLERANCE * vals.max()
    return vecs[:, keep] / np.sqrt(vals[keep])


def _ranks(x: np.ndarray) -> np.ndarray:
    return pd.Series(x).rank(method="average").to_numpy()


def covariate_points(
    data: pd.DataFrame,
    covariates: list[str],
    treated: np.ndarray,
    *,
    kind: str = "mahalanobis",
    discarded: np.ndarray | None = None,
) -> np.ndarray:
    """Points whose Euclidean distances are the Mahalanobis (or robust Mahalanobis)
    distances between units, as MatchIt's ``mahalanobis_dist`` / ``robust_mahalanobis_dist``.

    Examples
    --------
    >>> df = pd.DataFrame({"x": [1.0, 2.0, 4.0, 7.0], "z": [0.0, 1.0, 0.0, 1.0]})
    >>> covariate_points(df, ["x", "z"], np.array([True, True, False, False])).shape
    (4, 2)
    """
    X, _ = _raw_matrix(data, covariates)
    keep = np.ones(len(X), dtype=bool) if discarded is None else ~np.asarray(discarded, dtype=bool)
    if X.shape[1] == 0:
        return np.zeros((len(X), 1))
    if kind == "robust_mahalanobis":
        R = np.zeros_like(X)
        for j in range(X.shape[1]):
            R[keep, j] = _ranks(X[keep, j])
        var = np.atleast_2d(np.cov(R[keep], rowvar=False))
        multiplier = np.std(np.arange(1, keep.sum() + 1), ddof=1) / np.sqrt(np.diag(var))
        var = var * np.outer(multiplier, multiplier)
        return R @ _inverse_root(var)
    Xs = (X - X.mean(axis=0)) / X.std(axis=0, ddof=1)
    t = np.asarray(treated, dtype=bool)[keep]
    within = Xs[keep].copy()
    for g in (t, ~t):
        within[g] -= within[g].mean(axis=0)
    n = len(within)
    var = np.atleast_2d(np.cov(within, rowvar=False)) * (n - 1) / (n - 2)
    return Xs @ _inverse_root(var)


def _groups(focal_order, other, strata):
    """(focal units in order, other units) per exact stratum."""
    if strata is None:
        return [(focal_order, other)]
    strata = np.asarray(strata)
    o_by = pd.Series(other).groupby(strata[other]).indices
    f_by = pd.Series(focal_order).groupby(strata[focal_order], sort=False).indices
    return [(focal_order[idx], other[o_by[s]]) for s, idx in f_by.items() if s in o_by]


def nearest_on_points(
    points: np.ndarray,
    focal_order: np.ndarray,
    other: np.ndarray,
    *,
    ratio: int = 1,
    replace: bool = False,
    caliper: tuple[np.ndarray, float] | None = None,
    strata: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest neighbours on multivariate ``points`` (Euclidean, so Mahalanobis after
    :func:`covariate_points`): (focal row, matched row) pairs, sorted by focal row then
    match number.

    ``focal_order`` lists the focal units in the order they choose (without
    replacement, in ``ratio`` passes as MatchIt); ``other`` the units they may
    take; ``caliper`` a (score, width) pair: only units whose scores differ by at
    most the width may pair (MatchIt's ``mahvars`` with a propensity caliper).
    Equal distances go to the unit first in the data; squared distances within
    ``TIE_TOLERANCE`` of the largest squared norm of the points are equal, so rounding
    noise never decides a pair. One distance vector per focal unit and pass:
    O(focal x other) time, O(other) memory.
    """
    points = np.asarray(points, dtype=float)
    tie = TIE_TOLERANCE * float(np.max(np.sum(points**2, axis=1), initial=0.0))
    out_f, out_m, out_k = [], [], []
    for f_rows, o_rows in _groups(np.asarray(focal_order), np.asarray(other), strata):
        P = points[o_rows]
        score, width = (None, 0.0) if caliper is None else (caliper[0], caliper[1])
        free = np.ones(len(o_rows), dtype=bool)
        active = list(f_rows)
        for r in range(1, (ratio if not replace else 1) + 1):
            still = []
            for f in active:
                ok = free if not replace else np.ones(len(o_rows), dtype=bool)
                if score is not None:
                    ok = ok & (np.abs(score[o_rows] - score[f]) <= width)
                cand = np.flatnonzero(ok)
                if not len(cand):
                    continue
                d = np.sum((P[cand] - points[f]) ** 2, axis=1)
                take = cand[_nearest(d, ratio if replace else 1, tie)]
                if not replace:
                    free[take] = False
                    still.append(f)
                out_f += [f] * len(take)
                out_m += list(o_rows[take])
                out_k += list(range(1, len(take) + 1)) if replace else [r]
            active = still
    return _sorted_pairs(out_f, out_m, out_k)


def _nearest(d: np.ndarray, k: int, tie: float) -> np.ndarray:
    """Positions of the k smallest of ``d``, one at a time: among values within ``tie``
    of the smallest left, the first position wins."""
    d = d.copy()
    chosen = []
    for _ in range(min(k, len(d))):
        first = int(np.argmax(d <= d.min() + tie))
        chosen.append(first)
        d[first] = np.inf
    return np.asarray(chosen, dtype=np.int64)


def _sorted_pairs(f, m, k) -> tuple[np.ndarray, np.ndarray]:
    f, m, k = (np.asarray(a, dtype=np.int64) for a in (f, m, k))
    o = np.lexsort((k, f))
    return f[o], m[o]


def optimal_pairs(
    focal: np.ndarray,
    other: np.ndarray,
    *,
    distance: np.ndarray | None = None,
    points: np.ndarray | None = None,
    ratio: int = 1,
    caliper: tuple[np.ndarray, float] | None = None,
    strata: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Optimal pair (1:ratio) matching without replacement: the pairing that matches the
    most focal units (each to ``ratio`` others) and, among those, has the smallest
    total distance (|score difference| for a ``distance``, Euclidean for ``points``).

    Returns (focal row, matched row) pairs sorted by focal row.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    out_f, out_m = [], []
    for f_rows, o_rows in _groups(np.sort(np.asarray(focal)), np.asarray(other), strata):
        size = len(f_rows) * ratio * len(o_rows)
        if size > OPTIMAL_LIMIT:
            raise MatchingError(
                f"Optimal matching of {len(f_rows):,} x {len(o_rows):,} units (ratio {ratio}) needs "
                f"{size:,} distances, more than {OPTIMAL_LIMIT:,}: use method='nearest', or exact strata."
            )
        cost = _cost_matrix(f_rows, o_rows, distance, points)
        allowed = np.ones_like(cost, dtype=bool)
        if caliper is not None:
            allowed = np.abs(caliper[0][f_rows][:, None] - caliper[0][o_rows][None, :]) <= caliper[1]
        n_rows = len(f_rows) * ratio
        r, c = np.nonzero(np.repeat(allowed, ratio, axis=0))
        scale = float(cost.max(initial=0.0)) or 1.0
        weights = np.repeat(cost, ratio, axis=0)[r, c] / scale + 1.0  # in [1, 2]: no zero-weight edges
        rows = np.r_[r, np.arange(n_rows)]
        cols = np.r_[c, len(o_rows) + np.arange(n_rows)]
        graph = coo_matrix((np.r_[weights, _unmatched_prices(len(f_rows), ratio)], (rows, cols)),
                           shape=(n_rows, len(o_rows) + n_rows)).tocsr()  # fmt: skip
        row, col = min_weight_full_bipartite_matching(graph)
        real = col < len(o_rows)
        out_f += list(f_rows[row[real] // ratio])
        out_m += list(o_rows[col[real]])
    k = np.zeros(len(out_f), dtype=np.int64)
    return _sorted_pairs(out_f, out_m, k)


def _unmatched_prices(n_focal: int, ratio: int) -> np.ndarray:
    """The price of leaving each (focal unit, match number) row unmatched (its own dummy
    column), so that the solver's order of preference is: the most focal units matched,
    then the most matches, then the least total distance. Each price exceeds what the
    next level could ever save (real edges weigh 1 to 2), so that near-equal pairings
    are never told apart by rounding in how many focal units they keep."""
    n_rows = n_focal * ratio
    extra = 2.0 * n_rows + 1.0
    first = extra * n_rows + 1.0 if ratio > 1 else extra
    return np.where(np.arange(n_rows) % ratio == 0, first, extra)


def _cost_matrix(f_rows, o_rows, distance, points) -> np.ndarray:
    if distance is not None:
        return np.abs(distance[f_rows][:, None] - distance[o_rows][None, :])
    P, Q = points[f_rows], points[o_rows]
    sq = np.sum(P**2, axis=1)[:, None] + np.sum(Q**2, axis=1)[None, :] - 2 * P @ Q.T
    return np.sqrt(np.maximum(sq, 0.0))
