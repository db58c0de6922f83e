"""Nearest-neighbour matching on a propensity score, with MatchIt 4.7.2's rules.

The same data and options give the same matched sets and weights as
``MatchIt::matchit(method = "nearest")`` (ties aside, see below):

- Without replacement, treated units are taken greedily in ``order``
  ("largest" propensity score first by default). With ``ratio = k`` there are
  k passes: every treated unit gets its first control, then every unit still
  eligible gets its second, and so on (MatchIt's ``nn_matchC_vec``). A treated
  unit with no control within the caliper on the first pass is left unmatched.
- With replacement each treated unit takes its k nearest controls; the order
  does not matter.
- The caliper is ``caliper x sd(distance)`` over all units (n - 1 SD, treated
  and controls pooled) when ``std_caliper``; a pair is allowed when
  ``|d_t - d_c| <= width``.
- Weights (ATT): a matched treated unit 1; a control the sum over the treated
  units it serves of 1 / (controls matched to that unit); then the nonzero
  control weights are rescaled to average 1. Unmatched units 0.
- Ties: units are sorted by distance, equal distances in data order. A control
  at the same distance on both sides of a treated unit goes to the side whose
  search (alternating left then right, one position of the sorted data per
  step) reaches it first, as MatchIt's. With replacement and ratio > 1, exact
  ties at the k-th place are broken towards the nearer sorted position, left
  first (MatchIt's heap selection is not specified for ties).

Nothing of size N_treated x N_control is built: controls are sorted once and
searched; without replacement, used controls are skipped with union-find
"next free to the left/right" pointers stored only for used positions.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ground.checks import require_columns
from ground.errors import MatchingError
from metrics.balance import balance_table, balance_variables, plot_balance
from metrics.effects import Effect, estimate_effect
from metrics.propensity import (
    PropensityModel,
    fit_propensity,
    formula_variables,
    treatment_indicator,
)

__all__ = ["match", "MatchedComparison", "nearest_neighbours"]

_ORDERS = ("largest", "smallest", "random", "data")
_LINKS = ("logit", "linear_logit")


def match(
    data: pd.DataFrame,
    treatment: str,
    covariates: list[str] | None = None,
    *,
    formula: str | None = None,
    ratio: int = 1,
    replace: bool = False,
    caliper: float | None = None,
    std_caliper: bool = True,
    link: str = "logit",
    order: str = "largest",
    exact: str | list[str] | None = None,
    distance: str | None = None,
    seed: int | None = None,
) -> MatchedComparison:
    """Match each treated unit to its nearest control(s) on the propensity score.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit, treated and controls together.
    treatment : str
        0/1 or bool column, 1 = treated (in the programme).
    covariates : list of str, optional
        Columns for the propensity model and the balance table.
    formula : str, optional
        statsmodels formula for the propensity model instead of ``covariates``.
    ratio : int, default 1
        Controls per treated unit (1:k).
    replace : bool, default False
        Whether a control may serve several treated units.
    caliper : float, optional
        Maximum allowed |distance difference| within a pair.
    std_caliper : bool, default True
        ``caliper`` is in standard deviations of the distance (n - 1 SD over all
        units), as MatchIt; False: in raw distance units.
    link : {"logit", "linear_logit"}, default "logit"
        "logit": distance = fitted probability (MatchIt's default);
        "linear_logit": distance = linear predictor (log-odds).
    order : {"largest", "smallest", "random", "data"}, default "largest"
        Order in which treated units choose (without replacement). MatchIt's
        default for a propensity score; for a user ``distance`` MatchIt uses
        "data", so pass ``order="data"`` to reproduce it.
    exact : str or list of str, optional
        Columns on which pairs must agree exactly.
    distance : str, optional
        Column holding a ready-made distance (e.g. a score from another model);
        then no propensity model is fitted and ``covariates`` only feed the
        balance table.
    seed : int, optional
        Seed for ``order="random"`` (numpy ``default_rng``).

    Returns
    -------
    MatchedComparison

    Raises
    ------
    MatchingError
        No treated or no control units, or nobody has a control within the caliper.
    SchemaError
        Treatment not 0/1, or missing values in covariates (column, count and rows).

    Examples
    --------
    >>> m = match(lalonde, "treat", ["age", "educ", "race", "married", "nodegree",
    ...                              "re74", "re75"], caliper=0.2)  # doctest: +SKIP
    >>> m.counts  # doctest: +SKIP
    >>> m.effect("re78").statement()  # doctest: +SKIP
    """
    _check_option(
        "ratio",
        ratio,
        "a whole number >= 1",
        isinstance(ratio, (int, np.integer)) and not isinstance(ratio, bool) and ratio >= 1,
    )
    _check_option("link", link, f"one of {_LINKS}", link in _LINKS)
    _check_option("order", order, f"one of {_ORDERS}", order in _ORDERS)
    _check_option(
        "caliper", caliper, "a positive number or None", caliper is None or (np.isfinite(caliper) and caliper > 0)
    )
    treated = treatment_indicator(data, treatment)
    n_t, n_c = int(treated.sum()), int((~treated).sum())
    if n_t == 0 or n_c == 0:
        raise MatchingError(
            f"Matching needs treated and control units; the treatment column {treatment!r} has "
            f"{n_t} treated (1) and {n_c} control (0) rows."
        )
    exact_cols = [exact] if isinstance(exact, str) else list(exact or [])
    if formula is not None and covariates is None:
        covariates = formula_variables(formula, data, exclude=treatment)
    covariates = list(covariates or [])
    require_columns(data, covariates + exact_cols + ([distance] if distance else []), table="data", complete=True)

    propensity = None
    if distance is not None:
        dist = data[distance].to_numpy(dtype=float)
        if link != "logit":
            warnings.warn("'link' is not used when 'distance' is given and will be ignored", UserWarning, stacklevel=2)
    else:
        propensity = fit_propensity(data, treatment, covariates if formula is None else None, formula=formula)
        dist = propensity.probability if link == "logit" else propensity.linear_predictor

    width = None
    if caliper is not None:
        width = float(caliper * np.std(dist, ddof=1)) if std_caliper else float(caliper)
    strata = data.groupby(exact_cols, sort=True, observed=True).ngroup().to_numpy() if exact_cols else None
    if replace and order != "largest":
        warnings.warn("'order' has no effect with replace=True and will be ignored", UserWarning, stacklevel=2)
    if seed is not None and order != "random":
        warnings.warn("'seed' is only used with order='random' and will be ignored", UserWarning, stacklevel=2)
    t_rows, c_rows = nearest_neighbours(
        dist, treated, ratio=int(ratio), replace=replace, caliper=width, order=order, strata=strata, seed=seed
    )
    if len(t_rows) == 0:
        scale = "probability" if (link == "logit" and distance is None) else "distance"
        where = (
            f"within the caliper (width {width:.6g} on the {scale} scale: {caliper} "
            f"{'SD' if std_caliper else 'raw units'})"
            if width is not None
            else ""
        )
        where += f" in its exact stratum ({exact_cols})" if exact_cols else ""
        raise MatchingError(
            f"No treated unit has a control {where.strip()}; {n_t} treated, {n_c} controls. "
            "Widen 'caliper', drop 'exact' columns, or check overlap with plot_overlap()."
        )
    return MatchedComparison(
        data=data,
        treatment=treatment,
        covariates=covariates,
        treated=treated,
        distance=dist,
        t_rows=t_rows,
        c_rows=c_rows,
        strata=strata,
        propensity=propensity,
        options={
            "ratio": int(ratio),
            "replace": bool(replace),
            "caliper": caliper,
            "std_caliper": std_caliper,
            "caliper_width": width,
            "link": link,
            "order": order if not replace else "data",
            "exact": exact_cols,
            "distance": distance or ("propensity score" if link == "logit" else "logit"),
        },
    )


def _check_option(name, value, allowed, ok):
    if not ok:
        raise MatchingError(f"The {name!r} parameter of match must be {allowed}. Got {value!r} instead.")


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
) -> tuple[np.ndarray, np.ndarray]:
    """The matching itself on positions: returns (treated row, control row) pairs,
    sorted by treated row then by match number.

    ``caliper`` here is the raw width (None = no caliper). ``order`` as in :func:`match`.
    """
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
    ranks = _FullRanks(distance)
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
    for t_ord, c_rows in groups:
        finder = _with_replacement if replace else _without_replacement
        pt, pc, pk = finder(distance, t_ord, c_rows, ratio, cal, ranks)
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


def _with_replacement(distance, t_order, c_rows, ratio, cal, ranks):
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


@dataclass(frozen=True, eq=False)
class MatchedComparison:
    """Treated units and their matched controls, with MatchIt-style weights.

    Attributes
    ----------
    weights : pandas.Series
        ATT matching weights aligned with the input index.
    pairs : pandas.DataFrame
        One row per (treated, control) pair: treated_id, control_id (input index
        labels), subclass (matched set), match (1..k) and distance (|difference|).
    counts : pandas.DataFrame
        all / matched / unmatched / discarded by group. "discarded" counts units
        in an ``exact`` stratum with nobody of the other group (MatchIt drops
        them the same way but lists them as unmatched).
    exclusions : pandas.DataFrame
        Why units are not in the matched sample: group, reason, n.
    """

    data: pd.DataFrame = field(repr=False)
    treatment: str
    covariates: list[str]
    treated: np.ndarray = field(repr=False)
    distance: np.ndarray = field(repr=False)
    t_rows: np.ndarray = field(repr=False)
    c_rows: np.ndarray = field(repr=False)
    strata: np.ndarray | None = field(repr=False)
    propensity: PropensityModel | None = field(repr=False)
    options: dict

    @property
    def weight_array(self) -> np.ndarray:
        """Weights as a numpy array in row order."""
        return _cached(self, "_w", self._compute_weights)

    def _compute_weights(self):
        n = len(self.treated)
        per_treated = np.bincount(self.t_rows, minlength=n)
        w = np.bincount(self.c_rows, weights=1.0 / per_treated[self.t_rows], minlength=n)
        nonzero = w > 0
        w[nonzero] /= w[nonzero].mean()
        w[self.t_rows] = 1.0
        return w

    @property
    def weights(self) -> pd.Series:
        return pd.Series(self.weight_array, index=self.data.index, name="weight")

    @property
    def subclass_array(self) -> np.ndarray:
        """Matched set per row (1, 2, ... numbered by treated units in data order;
        -1 for unmatched units). With replacement a control serves several sets,
        so it gets the set of its first treated unit; use :attr:`pairs` instead."""
        return _cached(self, "_s", self._compute_subclass)

    def _compute_subclass(self):
        s = np.full(len(self.treated), -1, dtype=np.int64)
        t_unique = np.unique(self.t_rows)
        s[t_unique] = np.arange(1, len(t_unique) + 1)
        sub = s[self.t_rows]
        first = np.unique(self.c_rows, return_index=True)[1]
        s[self.c_rows[first]] = sub[first]
        return s

    @property
    def pairs(self) -> pd.DataFrame:
        idx = self.data.index
        return pd.DataFrame(
            {
                "treated_id": idx[self.t_rows],
                "control_id": idx[self.c_rows],
                "subclass": self.subclass_array[self.t_rows],
                "match": _match_numbers(self.t_rows),
                "distance": np.abs(self.distance[self.t_rows] - self.distance[self.c_rows]),
            }
        )

    @property
    def counts(self) -> pd.DataFrame:
        w = self.weight_array
        t = self.treated
        discarded = self._discarded()
        table = {}
        for name, g in (("treated", t), ("control", ~t)):
            matched = int(((w > 0) & g).sum())
            disc = int((discarded & g).sum())
            table[name] = {
                "all": int(g.sum()),
                "matched": matched,
                "unmatched": int(g.sum()) - matched - disc,
                "discarded": disc,
            }
        return pd.DataFrame(table)

    def _discarded(self) -> np.ndarray:
        """Units in an exact stratum with nobody of the other group."""
        if self.strata is None:
            return np.zeros(len(self.treated), dtype=bool)
        has_t = np.zeros(self.strata.max() + 1, dtype=bool)
        has_c = has_t.copy()
        has_t[self.strata[self.treated]] = True
        has_c[self.strata[~self.treated]] = True
        return ~(has_t & has_c)[self.strata]

    @property
    def exclusions(self) -> pd.DataFrame:
        """Reasons for every unit outside the matched sample; counts reconcile with
        :attr:`counts`."""
        c = self.counts
        width = self.options["caliper_width"]
        reason_t = "no control within the caliper" if width is not None else "no control left to match"
        if self.options["exact"]:
            reason_t += " in its exact stratum"
        rows = [
            ("treated", reason_t, c.loc["unmatched", "treated"]),
            ("control", "not chosen as a nearest neighbour", c.loc["unmatched", "control"]),
            ("treated", "exact stratum has no controls", c.loc["discarded", "treated"]),
            ("control", "exact stratum has no treated units", c.loc["discarded", "control"]),
        ]
        return pd.DataFrame(rows, columns=["group", "reason", "n"])

    def balance(self, covariates: list[str] | None = None) -> pd.DataFrame:
        """Balance before and after matching (MatchIt 4.7.2 definitions; see
        :mod:`metrics.balance`). The first row is the distance itself."""
        cols = list(covariates) if covariates is not None else self.covariates
        require_columns(self.data, cols, table="data", complete=True)
        variables = {"distance": self.distance, **balance_variables(self.data, cols)}
        return balance_table(variables, self.treated, self.weight_array)

    def effect(
        self, outcome: str, kind: str = "mean", *, duration: str | None = None, event: str | None = None
    ) -> Effect:
        """Effect on the treated (ATT) from the matched sample.

        ``kind`` is "mean", "binary", "count" or "time" (then give ``duration``
        and ``event`` columns, or ``outcome`` as the duration and ``event``).
        Standard errors are clustered on the matched set without replacement;
        with replacement HC3 (mean/binary), HC0 (count) or per-unit robust (time).
        """
        w = self.weight_array
        keep = w > 0
        rows = np.flatnonzero(keep)
        sub = self.data.iloc[rows]
        clusters = None if self.options["replace"] else self.subclass_array[rows]
        return estimate_effect(
            sub,
            self.treatment,
            outcome,
            kind=kind,
            weights=w[rows],
            treated=self.treated[rows],
            clusters=clusters,
            duration=duration,
            event=event,
            design="matched",
        )

    def to_dict(self) -> dict:
        return {
            "options": dict(self.options),
            "counts": self.counts.to_dict(),
            "exclusions": self.exclusions.to_dict(orient="records"),
        }

    def to_frame(self) -> pd.DataFrame:
        """The balance table (see :meth:`balance`)."""
        return self.balance()

    def summary(self) -> str:
        """A text summary: options, counts, exclusions and the balance table."""
        o = self.options
        lines = [
            "Matched comparison (nearest neighbour, MatchIt 4.7.2 definitions)",
            f"  distance: {o['distance']}; ratio 1:{o['ratio']}; "
            f"{'with' if o['replace'] else 'without'} replacement; order: {o['order']}",
        ]
        if o["caliper"] is not None:
            lines.append(
                f"  caliper: {o['caliper']} {'SD' if o['std_caliper'] else 'raw'}"
                f" = {o['caliper_width']:.6g} in distance units"
            )
        if o["exact"]:
            lines.append(f"  exact on: {', '.join(o['exact'])}")
        lines += ["", "Sample sizes:", self.counts.to_string(), ""]
        ex = self.exclusions
        if len(ex):
            lines += ["Not in the matched sample:", ex.to_string(index=False), ""]
        b = self.balance()
        lines.append(
            "Balance (smd divides by the treated group's SD in the full sample; binary variables have no var_ratio):"
        )
        for sample, title in (("before", "before matching"), ("after", "after matching")):
            lines += [f"  {title}:", b[sample].to_string(float_format=lambda v: f"{v:.4f}"), ""]
        return "\n".join(lines)

    def plot_balance(self, ax=None):
        """Love plot of |SMD| before and after, with 0.1 and 0.25 lines. Returns the Axes."""
        return plot_balance(self.balance(), ax=ax)

    def plot_overlap(self, ax=None, bins: int = 40):
        """Distance distributions: treated, all controls, and matched controls
        (weighted). Returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        t, w = self.treated, self.weight_array
        edges = np.histogram_bin_edges(self.distance, bins=bins)
        kw = dict(bins=edges, density=True, histtype="step", linewidth=1.5)
        ax.hist(self.distance[t], label=f"treated (n={int(t.sum())})", color="tab:blue", **kw)
        ax.hist(self.distance[~t], label=f"all controls (n={int((~t).sum())})", color="tab:red", linestyle="--", **kw)
        mc = ~t & (w > 0)
        ax.hist(
            self.distance[mc], weights=w[mc], label=f"matched controls (n={int(mc.sum())})", color="tab:green", **kw
        )
        ax.set_xlabel(self.options["distance"])
        ax.set_ylabel("density")
        ax.legend(frameon=False)
        return ax


def _cached(obj, name, compute):
    if name not in obj.__dict__:
        object.__setattr__(obj, name, compute())
    return obj.__dict__[name]


def _match_numbers(t_rows: np.ndarray) -> np.ndarray:
    """1, 2, ... within each treated unit (pairs are sorted by treated row)."""
    starts = np.r_[0, np.flatnonzero(np.diff(t_rows)) + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, len(t_rows)]))
    return np.arange(len(t_rows)) - first + 1
