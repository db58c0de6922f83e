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
and Imbens 2006), as R's ``Matching::Match(...)$se`` gives it, with each matched
unit's outcome variance from :func:`within_group_variance` (its J nearest units
of the same group in the whole sample, ties kept: ``Var.calc = J``) or one
variance for everyone (``Var.calc = 0``). :func:`estimated_score_adjustment` is
the term Abadie and Imbens (2016) add when the score matched on is an estimated
logistic propensity score.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from ground.checks import parameter_error

__all__ = [
    "ScoreNeighbours",
    "abadie_imbens_variance",
    "cluster_variance",
    "clusters_sum_of_squares",
    "estimated_score_adjustment",
    "within_group_variance",
]


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
    if sets is None or (how == "two_way" and units is None):
        raise parameter_error("sets", "cluster_variance", f"the matched sets (and units) for how={how!r}", sets)
    if how == "cluster":
        v = one_way(sets)
    elif units is not None:  # two-way: set, unit, and their intersection (each unit once per set: the rows)
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


def within_group_variance(
    y: np.ndarray,
    points: np.ndarray,
    group: np.ndarray,
    neighbours: int,
    rows: np.ndarray | None = None,
    tolerance: float = 1e-5,
) -> np.ndarray:
    """Conditional variance of each unit's outcome (Abadie and Imbens 2006), as R's
    ``Matching`` with ``Var.calc = J`` computes it: the sample variance (n - 1) of the
    unit's outcome and those of its J nearest units of the same group (``neighbours``),
    searched in the whole sample given, with every unit tied with the J-th kept (a
    squared distance within ``tolerance`` of the J-th's, Matching's
    ``distance.tolerance``). Distances are Euclidean on ``points`` (one column per
    dimension, already scaled). ``rows``: the units that need a variance (default
    all); the others get NaN, as do units whose group has J units or fewer.

    Parameters
    ----------
    y : numpy.ndarray
        Outcome of every unit in the sample searched.
    points : numpy.ndarray
        The units' matching variables, scaled (one row per unit; a 1-d array for one dimension).
    group : bool array
        Treated (True) or not: neighbours are searched within a unit's own group.
    neighbours : int
        J, the nearest units of the same group (other than the unit itself).
    rows : int array, optional
        Positions of the units that need a variance (default every unit).
    tolerance : float, default 1e-5
        Squared distances within this of the J-th nearest's are ties, and kept.

    Returns
    -------
    numpy.ndarray
        One variance per unit (NaN where not asked for or not estimable).

    Examples
    --------
    >>> y = np.array([1.0, 2.0, 4.0, 8.0])
    >>> within_group_variance(y, np.array([0.0, 1.0, 3.0, 6.0]), np.array([True] * 4), 1)
    array([0.5, 0.5, 2. , 8. ])
    """
    points = np.asarray(points, dtype=float).reshape(len(y), -1)
    group = np.asarray(group, dtype=bool)
    wanted = np.zeros(len(y), dtype=bool)
    wanted[np.arange(len(y)) if rows is None else np.asarray(rows)] = True
    out = np.full(len(y), np.nan)
    for g in (True, False):
        pool = np.flatnonzero(group == g)
        ask = np.flatnonzero(wanted & (group == g))
        if len(pool) <= neighbours or len(ask) == 0:
            continue
        # the unit itself is at distance 0, so the J-th other unit is the (J+1)-th nearest
        if points.shape[1] == 1:
            owner, member = _ties_on_a_line(points[pool, 0], points[ask, 0], neighbours + 1, tolerance)
        else:
            owner, member = _ties_in_blocks(points[pool], points[ask], neighbours + 1, tolerance)
        values = y[pool[member]]
        count = np.bincount(owner, minlength=len(ask))
        mean = np.bincount(owner, weights=values, minlength=len(ask)) / count
        out[ask] = np.bincount(owner, weights=(values - mean[owner]) ** 2, minlength=len(ask)) / (count - 1)
    return out


def _nearest_on_a_line(
    pool: np.ndarray, query: np.ndarray, k: int, order: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest pool values to each query value (positions in ``pool``, distances), ties to the
    earlier in sorted order: they lie within k sorted places either side of where the query falls.
    ``order``: the pool's stable sort order, when the caller has it already."""
    order = np.argsort(pool, kind="stable") if order is None else order
    values = pool[order]
    window = np.searchsorted(values, query)[:, None] + np.arange(-k, k)[None, :]
    inside = (window >= 0) & (window < len(values))
    window = np.clip(window, 0, len(values) - 1)
    gap = np.where(inside, np.abs(values[window] - query[:, None]), np.inf)
    pick = np.argsort(gap, axis=1, kind="stable")[:, :k]
    return order[np.take_along_axis(window, pick, axis=1)], np.take_along_axis(gap, pick, axis=1)


def _ties_on_a_line(pool, query, k, tolerance) -> tuple[np.ndarray, np.ndarray]:
    """(query, pool member) pairs: every pool value whose squared distance is within ``tolerance`` of
    the k-th nearest's, on one dimension, by sorting."""
    order = np.argsort(pool, kind="stable")
    _, gap = _nearest_on_a_line(pool, query, k, order)
    limit = gap[:, k - 1] ** 2 + tolerance
    values = pool[order]
    reach = np.sqrt(limit) * (1 + 1e-12) + 1e-300  # a slightly wider window, then the exact rule
    lo, hi = np.searchsorted(values, query - reach), np.searchsorted(values, query + reach, side="right")
    owner = np.repeat(np.arange(len(query)), hi - lo)
    place = np.arange(owner.size) - np.repeat(np.cumsum(hi - lo) - (hi - lo), hi - lo) + np.repeat(lo, hi - lo)
    keep = (values[place] - query[owner]) ** 2 <= limit[owner]
    return owner[keep], order[place[keep]]


def _ties_in_blocks(pool, query, k, tolerance, cells: int = 20_000_000) -> tuple[np.ndarray, np.ndarray]:
    """As :func:`_ties_on_a_line` in several dimensions: squared distances to the whole pool, in
    blocks of query rows (memory bounded by ``cells``; time by query rows x pool rows)."""
    owners, members = [], []
    block = max(1, cells // len(pool))
    norms = np.sum(pool**2, axis=1)
    for start in range(0, len(query), block):
        q = query[start : start + block]
        d2 = np.maximum(np.sum(q**2, axis=1)[:, None] + norms[None, :] - 2 * q @ pool.T, 0.0)
        limit = np.partition(d2, k - 1, axis=1)[:, k - 1] + tolerance
        owner, member = np.nonzero(d2 <= limit[:, None])
        owners.append(owner + start)
        members.append(member)
    return np.concatenate(owners), np.concatenate(members)


#: Units of each group whose covariance of covariates and outcome, at a given score, estimates the
#: conditional covariance in Abadie and Imbens' (2016) adjustment (assumed: a small local window).
COVARIANCE_NEIGHBOURS = 4


@dataclass(frozen=True, eq=False)
class ScoreNeighbours:
    """The units nearest each unit in score, within the focal group and within the other: what
    :func:`estimated_score_adjustment` looks up. They depend on the score alone, not on the outcome, so a
    matched design finds them once (on first use) and every outcome's adjustment reuses them.

    Attributes
    ----------
    score : numpy.ndarray
        Each unit's probability of being focal.
    focal : bool array
    ratio : int
        M, the matches each focal unit was given.

    Examples
    --------
    >>> near = ScoreNeighbours(np.array([0.1, 0.2, 0.4, 0.5, 0.9]), np.array([True, False, True, False, True]), 1)
    >>> near.nearest_focal.tolist()  # for each unit not focal, its nearest focal unit
    [[0], [1]]
    """

    score: np.ndarray
    focal: np.ndarray
    ratio: int

    @cached_property
    def within(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """For the focal group, then the other: each unit's ``COVARIANCE_NEIGHBOURS`` nearest units of the group
        in score (rows, one line per unit), or None when the group has fewer than 2 units."""
        return _nearest_in(self.score, self.focal), _nearest_in(self.score, ~self.focal)

    @cached_property
    def nearest_focal(self) -> np.ndarray:
        """For each unit not focal, in row order: its ``ratio`` nearest focal units (positions among the focal)."""
        focal = self.score[self.focal]
        near, _ = _nearest_on_a_line(focal, self.score[~self.focal], min(self.ratio, len(focal)))
        return near


def _nearest_in(score: np.ndarray, group: np.ndarray, block: int = 100_000) -> np.ndarray | None:
    rows = np.flatnonzero(group)
    k = min(COVARIANCE_NEIGHBOURS, len(rows))
    if k < 2:
        return None
    pool = score[rows]
    order = np.argsort(pool, kind="stable")  # sorted once for every block
    starts = range(0, len(score), block)  # blocks bound the memory of the search's windows
    return rows[np.concatenate([_nearest_on_a_line(pool, score[s : s + block], k, order)[0] for s in starts])]


def estimated_score_adjustment(
    y: np.ndarray,
    design: np.ndarray,
    score: np.ndarray,
    covariance: np.ndarray,
    focal: np.ndarray,
    focal_rows: np.ndarray,
    match_rows: np.ndarray,
    effect: float,
    ratio: int,
    *,
    neighbours: ScoreNeighbours | None = None,
) -> float:
    """The term Abadie and Imbens (2016, Econometrica 84(2), Theorem 2) add to the variance of a
    matching estimator of the effect on the focal group (the ATT) when the score matched on is a
    logistic propensity score estimated by maximum likelihood: ``- c' V c + d' V d``, with ``V`` the
    covariance of the score's coefficients (the inverse information) and, over all N units,

    - ``c = (1/N_f) sum_i f_i [cov(X, Y | q_i, focal) + q_i / (1 - q_i) cov(X, Y | q_i, other)]``,
    - ``d = (1/N_f) sum_i X_i f_i (Y_i(focal) - Y_i(other) - effect)``,

    where ``q_i`` is unit i's probability of being focal, ``f_i = q_i (1 - q_i)`` the logistic
    density, the conditional covariances are taken over the ``COVARIANCE_NEIGHBOURS`` units of
    that group nearest in score (the unit itself among them when it is in the group), and the
    missing potential outcome is the mean of the unit's matches (focal units) or of its ``ratio``
    nearest focal units (the others). ``effect`` is the focal-minus-other effect. The first term
    (the gain from balancing on the estimated score) is what makes an interval on the true score
    too wide; the second (the estimand moving with the score) can go either way.

    Parameters
    ----------
    y, design, score : arrays
        Outcome, design matrix (with the intercept) and probability of being focal, per unit.
    covariance : array
        Covariance of the logistic model's coefficients.
    focal : bool array
    focal_rows, match_rows : int arrays
        The matched pairs.
    effect : float
    ratio : int
    neighbours : ScoreNeighbours, optional
        The units nearest each unit in this score, found before for this focal group and ratio (by default
        found here): a design's outcomes share them.

    Returns
    -------
    float
        The term to add to the variance (negative when the estimated score helps).

    Examples
    --------
    An outcome driven by a covariate the score does not use (x2): balancing on the
    estimated score balances x2 better than chance, so the variance is smaller.

    >>> rng = np.random.default_rng(0)
    >>> X = np.column_stack([np.ones(400), rng.normal(size=(400, 2))])
    >>> q = 1 / (1 + np.exp(1 - X[:, 1]))
    >>> t = rng.random(400) < q
    >>> y = 2 * X[:, 2] + rng.normal(size=400)
    >>> f = np.flatnonzero(t)
    >>> c = np.flatnonzero(~t)[np.abs(q[~t][None, :] - q[f][:, None]).argmin(axis=1)]
    >>> effect = float(np.mean(y[f] - y[c]))
    >>> bool(estimated_score_adjustment(y, X, q, np.eye(3) * 0.01, t, f, c, effect, 1) < 0)
    True
    """
    near = ScoreNeighbours(score, focal, ratio) if neighbours is None else neighbours
    n_focal = len(np.unique(focal_rows))
    f = score * (1 - score)
    c = np.zeros(design.shape[1])
    for rows, weight in zip(near.within, (np.ones(len(y)), score / (1 - score))):
        c += ((f * weight)[:, None] * _local_covariance(y, design, rows)).sum(axis=0)
    c /= n_focal
    imputed_other = y.copy()
    per_focal = np.bincount(focal_rows, minlength=len(y))
    sums = np.bincount(focal_rows, weights=y[match_rows], minlength=len(y))
    imputed_other[focal] = sums[focal] / np.maximum(per_focal[focal], 1)
    imputed_focal = y.copy()
    imputed_focal[~focal] = y[np.flatnonzero(focal)][near.nearest_focal].mean(axis=1)
    used = focal & (per_focal > 0) | ~focal
    gap = np.where(used, imputed_focal - imputed_other - effect, 0.0)
    d = design.T @ (f * gap) / n_focal
    return float(-c @ covariance @ c + d @ covariance @ d)


def _local_covariance(y, design, near: np.ndarray | None, block: int = 2_048) -> np.ndarray:
    """Per unit: the covariance of (design columns, y) over its nearest units of a group (``near``, one line
    of rows per unit; n - 1 divisor); zero where the group is too small (None)."""
    out = np.zeros(design.shape)
    if near is None:
        return out
    k = near.shape[1]
    # Blocks small enough that a block's neighbours' values stay in the processor's cache through the dozen
    # passes below: every value is worked out per unit, so the block's size changes the time, not the floats.
    for start in range(0, len(y), block):
        rows = near[start : start + block]
        # One neighbour at a time, in place: the sums, means and products of a (units, k, columns) array taken
        # in the same order (so the same floats), without building it twice (its values, then centred).
        xs = [np.take(design, rows[:, j], axis=0) for j in range(k)]  # take: the same rows as design[...], faster
        ys = [np.take(y, rows[:, j]) for j in range(k)]
        x_mean, y_mean = xs[0] + xs[1], ys[0] + ys[1]
        for j in range(2, k):
            x_mean += xs[j]
            y_mean += ys[j]
        x_mean /= k
        y_mean /= k
        covariance = out[start : start + block]
        for j, (x, yj) in enumerate(zip(xs, ys)):
            x -= x_mean
            x *= (yj - y_mean)[:, None]
            if j:
                covariance += x
            else:
                covariance[...] = x
        covariance /= k - 1
    return out
