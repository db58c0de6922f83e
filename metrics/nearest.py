"""Nearest-neighbour matching on a one-dimensional distance (a propensity score), with MatchIt 4.7.2's rules.

The same data and options give the same matched sets as
``MatchIt::matchit(method = "nearest")`` (ties aside, see below):

- Without replacement, focal units (the treated for the ATT) are taken greedily
  in ``order``. With ``ratio = k`` there are k passes: every focal unit gets its
  first match, then every unit still eligible gets its second, and so on
  (MatchIt's ``nn_matchC_vec``). A focal unit with no match within the caliper
  on the first pass is left unmatched.
- With replacement each focal unit takes its k nearest; the order does not matter.
- A pair is allowed when ``|d_t - d_c| <= caliper`` (the raw width).
- Ties: units are sorted by distance, equal distances in data order. A unit at
  the same distance on both sides of a focal unit goes to the side whose search
  (alternating left then right, one position of the sorted data per step)
  reaches it first, as MatchIt's. With replacement and ratio > 1, exact ties at
  the k-th place are broken towards the nearer sorted position, left first
  (MatchIt's heap selection is not specified for ties).
- ``ties="all"`` (with replacement only) keeps every control as near as the
  k-th, as R's ``Matching::Match(ties = TRUE)``: a control is tied with the
  k-th match when its squared distance, in units of the score's SD (n - 1,
  over the units given), exceeds the k-th's by at most ``TIE_TOLERANCE``
  (Matching's ``distance.tolerance``). Each focal unit's matches then share
  its weight equally.

Nothing of size N_treated x N_control is built: the other group is sorted once
and searched; without replacement, used units are skipped with union-find
"next free to the left/right" pointers stored only for used positions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ground.checks import Options, check_parameter, parameter_error

__all__ = ["nearest_neighbours"]

ORDERS = ("largest", "smallest", "random", "data")
TIES = ("first", "all")
#: Squared distances (in SDs of the score) closer than this to the k-th match's are ties (Matching's default).
TIE_TOLERANCE = 1e-5


def nearest_neighbours(
    distance: np.ndarray,
    treated: np.ndarray,
    *,
    ratio: int = 1,
    replace: bool = False,
    caliper: float | None = None,
    order: str = "largest",
    strata: np.ndarray | None = None,
    seed: int | None = None,
    ties: str = "first",
) -> tuple[np.ndarray, np.ndarray]:
    """The matching itself on positions: returns (focal row, matched row) pairs,
    sorted by focal row then by match number.

    ``treated`` marks the focal units (the treated for the ATT; pass the controls
    for the ATC). ``caliper`` here is the raw width (None = no caliper). ``order``:
    "largest", "smallest", "random" (with ``seed``) or "data". ``ties``:
    "first" (one control per place, MatchIt's rule) or "all" (every tied
    control, R Matching's; with ``replace=True`` only).

    Examples
    --------
    >>> nearest_neighbours(np.array([0.1, 0.5, 0.45, 0.9]), np.array([False, True, False, False]))
    (array([1]), array([2]))
    """
    check_parameter(order, "order", "nearest_neighbours", Options(*ORDERS))
    check_parameter(ties, "ties", "nearest_neighbours", Options(*TIES))
    if ties == "all" and not replace:
        raise parameter_error(
            "ties", "nearest_neighbours", "'first' without replacement ('all' needs replace=True)", ties
        )
    distance = np.asarray(distance, dtype=float)
    treated = np.asarray(treated, dtype=bool)
    t_all = np.flatnonzero(treated)
    if order == "largest":
        t_order = t_all[np.argsort(-distance[t_all], kind="stable")]
    elif order == "smallest":
        t_order = t_all[np.argsort(distance[t_all], kind="stable")]
    elif order == "random":
        t_order = np.random.default_rng(seed).permutation(t_all)
    else:
        t_order = t_all
    cal = np.inf if caliper is None else float(caliper)
    if strata is None:
        groups = [(t_order, np.flatnonzero(~treated))]
    else:
        strata = np.asarray(strata)
        c_all = np.flatnonzero(~treated)
        groups = []
        c_by = pd.Series(c_all).groupby(strata[c_all]).indices
        t_by = pd.Series(t_order).groupby(strata[t_order], sort=False).indices
        for s, t_pos in t_by.items():
            if s in c_by:
                groups.append((t_order[t_pos], c_all[c_by[s]]))
    pairs_t, pairs_c, pairs_k = [], [], []
    if not replace:
        extra: _FullRanks | float | None
        finder, extra = _without_replacement, _FullRanks(distance)
    elif ties == "first":
        finder, extra = _with_replacement, None
    else:  # the tolerance is on squared distances in SDs of the score: here in squared score units
        finder, extra = _all_ties, TIE_TOLERANCE * (float(np.var(distance, ddof=1)) if len(distance) > 1 else 0.0)
    for t_ord, c_rows in groups:
        pt, pc, pk = finder(distance, t_ord, c_rows, ratio, cal, extra)
        pairs_t.append(pt)
        pairs_c.append(pc)
        pairs_k.append(pk)
    if not pairs_t:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    pt, pc, pk = (np.concatenate(a) for a in (pairs_t, pairs_c, pairs_k))
    o = np.lexsort((pk, pt))
    return pt[o], pc[o]


class _FullRanks:
    """Position of each unit in the stable sort of all distances (MatchIt's
    ``order(distance)``), computed only when a tie needs it."""

    def __init__(self, distance):
        self._distance = distance
        self._rank = None

    def __getitem__(self, row):
        if self._rank is None:
            o = np.argsort(self._distance, kind="stable")
            self._rank = np.empty(len(o), dtype=np.int64)
            self._rank[o] = np.arange(len(o))
        return int(self._rank[row])


def _sorted_controls(distance, t_rows, c_rows):
    """Controls sorted by (distance, row) and, for each treated unit, the number
    of controls before it in that order (its insertion point)."""
    o = np.argsort(distance[c_rows], kind="stable")
    c_sorted = c_rows[o]
    cs = distance[c_sorted]
    dt = distance[t_rows]
    pos = np.searchsorted(cs, dt, side="left")
    hi = np.searchsorted(cs, dt, side="right")
    for i in np.flatnonzero(hi > pos):
        # equal distances: controls earlier in the data come first
        pos[i] += np.searchsorted(c_sorted[pos[i] : hi[i]], t_rows[i])
    return c_sorted, cs, pos


class _FreeControls:
    """Next unused control to the left / right in sorted order.

    Union-find with path compression over *used* positions only (dicts), so
    memory grows with the number of matches, not with the pool.
    """

    def __init__(self):
        self._right: dict[int, int] = {}
        self._left: dict[int, int] = {}

    @staticmethod
    def _find(links, j):
        if j not in links:
            return j
        path = []
        while j in links:
            path.append(j)
            j = links[j]
        for q in path:
            links[q] = j
        return j

    def right(self, j: int) -> int:
        """Smallest free position >= j (n if none)."""
        return self._find(self._right, j)

    def left(self, j: int) -> int:
        """Largest free position <= j (-1 if none)."""
        return self._find(self._left, j)

    def take(self, j: int) -> None:
        self._right[j] = j + 1
        self._left[j] = j - 1


def _without_replacement(distance, t_order, c_rows, ratio, cal, ranks):
    c_sorted, cs, pos = _sorted_controls(distance, t_order, c_rows)
    n_c = len(cs)
    value = cs.item
    dt = distance[t_order].tolist()
    pos = pos.tolist()
    free = _FreeControls()
    # per treated unit (index into t_order): leftmost and rightmost matched positions
    lo_j = [n_c] * len(t_order)
    hi_j = [-1] * len(t_order)
    active = list(range(len(t_order)))
    out_t, out_c, out_k = [], [], []
    for r in range(1, ratio + 1):
        still = []
        for i in active:
            d, p = dt[i], pos[i]
            left_start = min(p, lo_j[i]) - 1
            right_start = max(p, hi_j[i] + 1)
            min_dist = 0.0
            if r > 1:
                if lo_j[i] < p:
                    min_dist = abs(d - value(lo_j[i]))
                if hi_j[i] >= p:
                    min_dist = max(min_dist, abs(d - value(hi_j[i])))
            L, dl = _scan(free.left, left_start, -1, value, d, cal, min_dist, n_c)
            R, dr = _scan(free.right, right_start, 1, value, d, cal, min_dist, n_c)
            if L < 0 and R < 0:
                if r > 1:
                    still.append(i)
                continue
            if R < 0 or (L >= 0 and dl < dr):
                j = L
            elif L < 0 or dr < dl:
                j = R
            else:
                j = _tie(ranks, t_order[i], c_sorted, lo_j[i], hi_j[i], p, L, R)
            free.take(j)
            lo_j[i] = min(lo_j[i], j)
            hi_j[i] = max(hi_j[i], j)
            out_t.append(t_order[i])
            out_c.append(c_sorted[j])
            out_k.append(r)
            still.append(i)
        active = still
        if len(out_c) >= n_c:
            break
    return (np.asarray(out_t, dtype=np.int64), np.asarray(out_c, dtype=np.int64), np.asarray(out_k, dtype=np.int64))


def _scan(step, start, direction, value, d, cal, min_dist, n_c):
    """First free control from ``start`` in ``direction`` whose distance is at least
    ``min_dist``; (-1, inf) if the caliper or the end is reached first."""
    j = step(start)
    while 0 <= j < n_c:
        dj = abs(d - value(j))
        if dj > cal:
            break
        if dj >= min_dist:
            return j, dj
        j = step(j + direction)
    return -1, np.inf


def _tie(ranks, t_row, c_sorted, lo, hi, p, L, R):
    """Equal distances on both sides: MatchIt searches alternately left then right
    one sorted position per step, and keeps the candidate found first."""
    left_edge = ranks[t_row] if lo >= p else min(ranks[t_row], ranks[c_sorted[lo]])
    right_edge = ranks[t_row] if hi < p else max(ranks[t_row], ranks[c_sorted[hi]])
    k_left = left_edge - ranks[c_sorted[L]]
    k_right = ranks[c_sorted[R]] - right_edge
    return L if k_left <= k_right else R


def _with_replacement(distance, t_order, c_rows, ratio, cal, _unused):
    c_sorted, cs, pos = _sorted_controls(distance, t_order, c_rows)
    n_c = len(cs)
    step = np.arange(1, ratio + 1)
    # candidates L1, R1, L2, R2, ...: the k nearest on each side
    cand = np.empty((len(t_order), 2 * ratio), dtype=np.int64)
    cand[:, 0::2] = pos[:, None] - step
    cand[:, 1::2] = pos[:, None] + step - 1
    ok = (cand >= 0) & (cand < n_c)
    dist = np.abs(distance[t_order][:, None] - cs[np.clip(cand, 0, n_c - 1)])
    dist[~ok | (dist > cal)] = np.inf
    pick = np.argsort(dist, axis=1, kind="stable")[:, :ratio]
    chosen = np.take_along_axis(cand, pick, axis=1)
    found = np.isfinite(np.take_along_axis(dist, pick, axis=1))
    t_idx, k = np.nonzero(found)
    return t_order[t_idx], c_sorted[chosen[found]], k + 1


def _all_ties(distance, t_order, c_rows, ratio, cal, tolerance):
    """Every control whose squared distance is within ``tolerance`` of the k-th nearest's
    (and within the caliper); match numbers by distance, then sorted position."""
    t_k, c_k, k_k = _with_replacement(distance, t_order, c_rows, ratio, cal, None)
    if len(t_k) == 0:
        return t_k, c_k, k_k
    c_sorted, cs, _ = _sorted_controls(distance, t_order, c_rows)
    gap = np.abs(distance[t_k] - distance[c_k])
    focal, inverse = np.unique(t_k, return_inverse=True)
    kth = np.zeros(len(focal))
    np.maximum.at(kth, inverse, gap)
    d = distance[focal]
    # a slightly wider window first, then the exact rule on squared distances
    reach = np.sqrt(kth**2 + tolerance) * (1 + 1e-12) + 1e-300
    lo = np.searchsorted(cs, d - reach, side="left")
    hi = np.searchsorted(cs, d + reach, side="right")
    counts = hi - lo
    owner = np.repeat(np.arange(len(focal)), counts)
    pos = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(lo, counts)
    diff = cs[pos] - d[owner]
    keep = (diff**2 <= kth[owner] ** 2 + tolerance) & (np.abs(diff) <= cal)
    owner, pos, diff = owner[keep], pos[keep], np.abs(diff[keep])
    o = np.lexsort((pos, diff, owner))
    owner, pos = owner[o], pos[o]
    starts = np.r_[0, np.flatnonzero(np.diff(owner)) + 1]
    number = np.arange(len(owner)) - np.repeat(starts, np.diff(np.r_[starts, len(owner)])) + 1
    return focal[owner], c_sorted[pos], number
