"""Subclassification on the propensity score, with MatchIt's rules (``method = "subclass"``).

- Cut points: quantiles (R's default type 7) of the score of the focal group:
  the treated for the ATT, the controls for the ATC, everyone for the ATE;
  ``subclass`` subclasses of equal size by default 6, or the given quantiles.
- Each unit kept (not discarded) goes to the subclass its score falls in, the
  lowest and highest cut points belonging to the end subclasses (R's
  ``findInterval(..., all.inside = TRUE)``).
- ``min_n``: every subclass must hold at least this many units of each group;
  short subclasses take the nearest units (by score) of that group from the
  neighbouring subclass on the side with more to spare (MatchIt's
  ``subclass_scoot``). With ``min_n = 0`` units in a subclass lacking a group
  are dropped instead.
- Weights (marginal mean weighting through stratification): ATT treated 1,
  controls ``n_t/n_c`` of their subclass; ATC the reverse; ATE ``1 + n_c/n_t``
  for the treated and ``1 + n_t/n_c`` for controls. Then, in each group, the
  nonzero weights are divided by their mean.
"""

from __future__ import annotations

import numpy as np

from ground.errors import MatchingError

__all__ = ["subclass_weights", "subclassify"]


def _quantile_type7(x: np.ndarray, probs: np.ndarray) -> np.ndarray:
    return np.quantile(x, probs, method="linear")


def subclassify(
    distance: np.ndarray,
    treated: np.ndarray,
    *,
    estimand: str = "ATT",
    subclass: int | list[float] = 6,
    min_n: int = 1,
    discarded: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Subclass of every unit (1, 2, ...; 0 for discarded or dropped units) and the cut points.

    Examples
    --------
    >>> d = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    >>> t = np.array([False, True, False, True, False, True, False, True])
    >>> subclassify(d, t, subclass=2)[0].tolist()
    [1, 1, 1, 1, 2, 2, 2, 2]
    """
    distance = np.asarray(distance, dtype=float)
    treated = np.asarray(treated, dtype=bool)
    kept = np.ones(len(distance), dtype=bool) if discarded is None else ~np.asarray(discarded, dtype=bool)
    if isinstance(subclass, (int, float, np.number)):
        probs = np.linspace(0, 1, int(round(float(subclass))) + 1)
    else:
        probs = np.unique(np.r_[0.0, np.sort(np.asarray(subclass, dtype=float)), 1.0])
    focal = {"ATT": treated, "ATC": ~treated}.get(estimand, np.ones(len(distance), dtype=bool))
    cuts = _quantile_type7(distance[focal], probs)
    codes = np.zeros(len(distance), dtype=np.int64)
    inside = np.searchsorted(cuts, distance[kept], side="right")
    codes[kept] = np.clip(inside, 1, len(cuts) - 1)
    if min_n == 0:
        both = np.intersect1d(codes[kept & treated], codes[kept & ~treated])
        codes[kept & ~np.isin(codes, both)] = 0
    else:
        rows = np.flatnonzero(kept)
        codes[rows] = _scoot(codes[rows], treated[rows], distance[rows], min_n)
    present = np.unique(codes[codes > 0])
    renumber = np.zeros(codes.max() + 1, dtype=np.int64)
    renumber[present] = np.arange(1, len(present) + 1)
    return renumber[codes], cuts


def _scoot(sub: np.ndarray, treated: np.ndarray, x: np.ndarray, min_n: int) -> np.ndarray:
    """Fill subclasses short of a group by moving in the nearest units of that group
    from the neighbouring subclass on the side with more to spare (MatchIt's rule)."""
    labels, idx = np.unique(sub, return_inverse=True)
    idx = idx.copy()
    nsub = len(labels)
    for group in (True, False):
        members = np.flatnonzero(treated == group)
        if len(members) < nsub * min_n:
            raise MatchingError(
                f"Subclassification into {nsub} subclasses with at least {min_n} unit(s) of each group needs "
                f"{nsub * min_n} {'treated' if group else 'control'} units; there are {len(members)}. "
                "Use fewer subclasses or a smaller min_n."
            )
        tab = np.bincount(idx[members], minlength=nsub).astype(float)
        moves = 0
        for _ in range(min_n):
            while tab.min() <= 0:
                moves += 1
                if moves > nsub * len(members):  # pragma: no cover - a guard, not a path
                    raise MatchingError("Subclassification could not give every subclass both groups.")
                s = int(np.flatnonzero(tab == 0)[0]) if np.any(tab == 0) else int(np.argmin(tab))
                left = _look_left(tab, s)
                s2 = _donor(tab, s, left)
                if s2 is None:
                    left = not left
                    s2 = _donor(tab, s, left)
                in_s2 = members[idx[members] == s2]
                # nearest to s: the largest score when taking from the left, the smallest from the right
                vals = x[in_s2]
                pick = in_s2[np.flatnonzero(vals == (vals.max() if left else vals.min()))[-1]]
                idx[pick] = s
                tab[s] += 1
                tab[s2] -= 1
            tab -= 1
    return labels[idx]


def _look_left(tab: np.ndarray, s: int) -> bool:
    nsub = len(tab)
    if s == nsub - 1:
        return True
    if s == 0:
        return False
    others = np.arange(nsub)
    use = (tab > 1) & (others != s)
    score = np.sum((tab[use] - 1) / (others[use] - s))
    return bool(score <= 0)


def _donor(tab: np.ndarray, s: int, left: bool) -> int | None:
    side = np.arange(s - 1, -1, -1) if left else np.arange(s + 1, len(tab))
    ok = side[tab[side] > 0]
    return int(ok[0]) if len(ok) else None


def subclass_weights(codes: np.ndarray, treated: np.ndarray, estimand: str = "ATT") -> np.ndarray:
    """Stratification weights (see the module docstring), normalised within each group."""
    treated = np.asarray(treated, dtype=bool)
    k = codes.max() + 1
    n_t = np.bincount(codes[treated], minlength=k).astype(float)
    n_c = np.bincount(codes[~treated], minlength=k).astype(float)
    w = np.zeros(len(codes))
    inside = codes > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        if estimand == "ATT":
            w_t, w_c = np.ones(k), n_t / n_c
        elif estimand == "ATC":
            w_t, w_c = n_c / n_t, np.ones(k)
        else:
            w_t, w_c = 1 + n_c / n_t, 1 + n_t / n_c
    w[inside & treated] = w_t[codes[inside & treated]]
    w[inside & ~treated] = w_c[codes[inside & ~treated]]
    w[~np.isfinite(w)] = 0.0
    for g in (treated, ~treated):
        nz = g & (w > 0)
        if nz.any():
            w[nz] /= w[nz].mean()
    return w
