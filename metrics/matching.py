"""Matching with MatchIt 4.7.2's rules: nearest neighbour, optimal pair and
subclassification, on a propensity score, a ready-made score, or the
(robust) Mahalanobis distance.

- ``distance="glm"`` (default) fits the logistic propensity model
  (:func:`metrics.fit_propensity`); ``link="logit"`` matches on the probability,
  ``"linear_logit"`` on the log-odds. A column name gives a ready-made score.
  ``"mahalanobis"`` / ``"robust_mahalanobis"`` match on the covariates
  themselves (:mod:`metrics.distances`); ``mahvars`` matches on the Mahalanobis
  distance of those columns within a caliper on the propensity score.
- ``estimand``: "ATT" (treated units choose controls), "ATC" (controls choose
  treated units); "ATE" with ``method="subclass"`` only, as MatchIt.
- ``discard`` ("both", "control", "treated") drops units whose propensity score
  lies outside the other group's range before matching (MatchIt's ``discard``).
- ``method="nearest"``: greedy, in ``order`` (MatchIt's defaults: largest score
  first for the ATT, smallest for the ATC, data order without a score); see
  :mod:`metrics.nearest` for ties. ``"optimal"``: the pairing with the
  smallest total distance. ``"subclass"``: :mod:`metrics.subclass`.
- The caliper is ``caliper x sd(score)`` over the units kept (n - 1 SD, both
  groups pooled) when ``std_caliper``; a pair is allowed when
  ``|score_t - score_c| <= width``.
- Weights: a matched focal unit 1; a matched unit of the other group the sum
  over the focal units it serves of 1 / (matches of that focal unit); then in
  each group the nonzero weights are divided by their mean. Unmatched units 0.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ground.checks import Interval, Options, check_parameter, column_names, parameter_error, require_columns
from ground.errors import DesistWarning, MatchingError
from metrics.effects import AnalysisSample, VariancePool
from metrics.nearest import ORDERS, TIES, nearest_neighbours
from metrics.propensity import (
    PropensityModel,
    check_covariate_values,
    fit_propensity,
    formula_variables,
    treatment_indicator,
)
from metrics.variance import ScoreNeighbours
from metrics.weighting import _Adjusted

__all__ = ["match", "MatchedComparison", "MatchingShortfallWarning", "nearest_neighbours"]

METHODS = ("nearest", "optimal", "subclass")
MULTIVARIATE = ("mahalanobis", "robust_mahalanobis")
ESTIMANDS = ("ATT", "ATC", "ATE")
DISCARDS = ("none", "both", "control", "treated")
#: The scales the propensity score is matched on.
LINKS = ("logit", "linear_logit")


class MatchingShortfallWarning(DesistWarning):
    """Fewer matches than ``ratio`` for some focal units (the pool cannot give them all)."""


def match(
    data: pd.DataFrame,
    treatment: str,
    covariates: list[str] | str | None = None,
    *,
    formula: str | None = None,
    method: str = "nearest",
    distance: str | None = "glm",
    estimand: str = "ATT",
    ratio: int = 1,
    replace: bool = False,
    caliper: float | None = None,
    std_caliper: bool = True,
    link: str = "logit",
    order: str | None = None,
    ties: str = "first",
    exact: str | list[str] | None = None,
    mahvars: str | list[str] | None = None,
    discard: str = "none",
    subclass: int | list[float] = 6,
    min_n: int = 1,
    seed: int | None = None,
) -> MatchedComparison:
    """Match treated units and controls (MatchIt's ``matchit``).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit, treated and controls together.
    treatment : str
        0/1 or bool column, 1 = treated (in the programme).
    covariates : str or list of str, optional
        Columns for the propensity model (or the Mahalanobis distance) and the balance table.
    formula : str, optional
        statsmodels formula for the propensity model instead of ``covariates``.
    method : {"nearest", "optimal", "subclass"}, default "nearest"
    distance : str, default "glm"
        "glm" (logistic propensity score), "mahalanobis", "robust_mahalanobis",
        or the name of a column holding a ready-made score.
    estimand : {"ATT", "ATC", "ATE"}, default "ATT"
        "ATE" with ``method="subclass"`` only.
    ratio : int, default 1
        Matches per focal unit (1:k).
    replace : bool, default False
        Whether a unit may be matched to several focal units (nearest only).
    caliper : float, optional
        Largest allowed |score difference| within a pair (on the propensity score,
        also with ``mahvars``).
    std_caliper : bool, default True
        ``caliper`` in standard deviations of the score (n - 1 SD over the units
        kept), as MatchIt; False: in raw score units.
    link : {"logit", "linear_logit"}, default "logit"
        Score = fitted probability (MatchIt's default) or the log-odds.
    order : {"largest", "smallest", "random", "data"}, optional
        Order in which focal units choose (nearest, without replacement). Default
        as MatchIt: "largest" (ATT) or "smallest" (ATC) with a score, else "data".
    ties : {"first", "all"}, default "first"
        Nearest neighbour with replacement on a score: "first" takes ``ratio``
        matches (MatchIt's rule for equal distances); "all" also keeps every
        control tied with the last of them, as R's ``Matching::Match`` (see
        :mod:`metrics.nearest`).
    exact : str or list of str, optional
        Columns on which pairs must agree exactly.
    mahvars : str or list of str, optional
        Match on the Mahalanobis distance of these columns, within ``caliper`` on
        the propensity score (MatchIt's ``mahvars``).
    discard : {"none", "both", "control", "treated"}, default "none"
        Drop units outside the common support of the score before matching.
    subclass : int or list of float, default 6
        ``method="subclass"``: number of subclasses, or quantiles as cut points.
    min_n : int, default 1
        ``method="subclass"``: fewest units of each group per subclass.
    seed : int, optional
        Seed for ``order="random"`` (numpy ``default_rng``).

    Returns
    -------
    MatchedComparison

    Raises
    ------
    ParameterError
        A bad argument (the message names it, the allowed values and the value).
    MatchingError
        No treated or no control units, or nobody has a match within the caliper.
    SchemaError
        Treatment not 0/1, or missing or non-finite values in covariates (column and rows).

    Warns
    -----
    MatchingShortfallWarning
        Without replacement, some focal units got fewer than ``ratio`` matches
        (the counts by number of matches are in the message).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=300)})
    >>> df["t"] = (rng.random(300) < 1 / (1 + np.exp(1.5 - df["x"]))).astype(int)
    >>> m = match(df, "t", "x", caliper=0.2)
    >>> int(m.counts.loc["matched", "treated"]) == int(m.counts.loc["matched", "control"])
    True
    """
    opts = _options(locals())
    treated = treatment_indicator(data, treatment)
    n_t, n_c = int(treated.sum()), int((~treated).sum())
    if n_t == 0 or n_c == 0:
        raise MatchingError(
            f"Matching needs treated and control units; the treatment column {treatment!r} has "
            f"{n_t} treated (1) and {n_c} control (0) rows."
        )
    columns = _columns(data, treatment, covariates, formula, opts)
    opts["exact_columns"] = columns["exact"]
    score, propensity, points = _distances(data, treatment, treated, columns, formula, opts)
    discarded = _discard(score, treated, opts["discard"])
    if points is not None:
        kind = opts["distance_kind"] if opts["distance_kind"] in MULTIVARIATE else "mahalanobis"
        points = _points(data, columns["distance_vars"], treated, kind, discarded)
    width = _caliper_width(score, discarded, opts)
    strata = data.groupby(columns["exact"], sort=True, observed=True).ngroup().to_numpy() if columns["exact"] else None
    engine = _run_method(score, points, treated, discarded, width, strata, opts)
    opts.update(caliper_width=width, exact=columns["exact"], mahvars=columns["mahvars"])
    opts["distance"] = _distance_words(opts)
    return MatchedComparison(
        data=data, treatment=treatment, covariates=columns["covariates"], treated=treated, distance=score,
        focal_rows=engine[0], match_rows=engine[1], subclass_codes=engine[2], strata=strata, discarded=discarded,
        propensity=propensity, estimand=opts["estimand"], options=opts,
    )  # fmt: skip


def _options(given: dict) -> dict:
    """Check every option (ParameterError naming it) and fill MatchIt's defaults."""
    check_parameter(given["method"], "method", "match", Options(*METHODS))
    check_parameter(given["estimand"], "estimand", "match", Options(*ESTIMANDS))
    check_parameter(given["ratio"], "ratio", "match", Interval(int, 1, None))
    check_parameter(given["replace"], "replace", "match", Options(True, False))
    check_parameter(given["link"], "link", "match", Options(*LINKS))
    check_parameter(given["order"], "order", "match", Options(None, *ORDERS))
    check_parameter(given["ties"], "ties", "match", Options(*TIES))
    check_parameter(given["caliper"], "caliper", "match", Options(None), Interval(float, 0, None, closed="neither"))
    check_parameter(given["std_caliper"], "std_caliper", "match", Options(True, False))
    check_parameter(given["discard"], "discard", "match", Options(*DISCARDS))
    check_parameter(given["min_n"], "min_n", "match", Interval(int, 0, None))
    distance = "glm" if given["distance"] is None else given["distance"]
    if not isinstance(distance, str):
        raise parameter_error(
            "distance", "match", "'glm', 'mahalanobis', 'robust_mahalanobis' or a column name", distance
        )
    method, estimand = given["method"], given["estimand"]
    if estimand == "ATE" and method != "subclass":
        raise parameter_error("estimand", "match", f"'ATT' or 'ATC' with method={method!r} (as MatchIt)", estimand)
    if method == "subclass":
        _check_subclass(given["subclass"])
        _ignored(given, ("ratio", "replace", "caliper", "exact", "mahvars"), method)
    if method == "optimal" and given["replace"]:
        _warn_ignored("replace", method)
    kind = distance if distance in (*MULTIVARIATE, "glm") else "column"
    if kind in MULTIVARIATE and (given["caliper"] is not None or given["discard"] != "none"):
        raise parameter_error(
            "distance", "match", "'glm' (with mahvars=...) when a caliper or discard is wanted (they need a "
            "propensity score)", distance,
        )  # fmt: skip
    if kind in MULTIVARIATE and method == "subclass":
        raise parameter_error("distance", "match", "a propensity score with method='subclass'", distance)
    order = given["order"] or ("data" if kind in MULTIVARIATE else ("smallest" if estimand == "ATC" else "largest"))
    if given["replace"] and method == "nearest" and given["order"] is not None:
        _warn_ignored("order", "replace=True")
    if given["seed"] is not None and order != "random":
        warnings.warn("'seed' is only used with order='random' and will be ignored", DesistWarning, stacklevel=3)
    replace = bool(given["replace"]) and method == "nearest"
    if given["ties"] == "all" and not (replace and kind in ("glm", "column") and not given["mahvars"]):
        raise parameter_error(
            "ties", "match", "'first' here: 'all' is for nearest-neighbour matching with replacement on a score",
            given["ties"],
        )  # fmt: skip
    return {
        "method": method, "estimand": estimand, "ratio": int(given["ratio"]) if method != "subclass" else None,
        "replace": replace, "caliper": given["caliper"], "std_caliper": bool(given["std_caliper"]),
        "link": given["link"], "order": "data" if replace else order, "distance_kind": kind,
        "distance_arg": distance, "discard": given["discard"], "subclass": given["subclass"],
        "min_n": int(given["min_n"]), "seed": given["seed"], "ties": given["ties"],
        "exact_arg": given["exact"], "mahvars_arg": given["mahvars"],
    }  # fmt: skip


def _check_subclass(subclass) -> None:
    if np.ndim(subclass) == 0:
        check_parameter(subclass, "subclass", "match", Interval(int, 2, None))
        return
    values = np.asarray(subclass, dtype=float) if len(subclass) else np.array([np.nan])
    if not np.all((values >= 0) & (values <= 1)):
        raise parameter_error("subclass", "match", "an int >= 2 or a list of quantiles in [0, 1]", subclass)


def _ignored(given: dict, names: tuple[str, ...], method: str) -> None:
    defaults = {"ratio": 1, "replace": False, "caliper": None, "exact": None, "mahvars": None}
    for name in names:
        if given[name] != defaults[name]:
            _warn_ignored(name, f"method={method!r}")


def _warn_ignored(name: str, context: str) -> None:
    warnings.warn(f"'{name}' has no effect with {context} and will be ignored", DesistWarning, stacklevel=4)


def _columns(data, treatment, covariates, formula, opts) -> dict:
    """The columns each role needs, checked for presence, missing and non-finite values."""
    exact = column_names(opts["exact_arg"], "exact", "match") if opts["method"] != "subclass" else []
    mahvars = column_names(opts["mahvars_arg"], "mahvars", "match") if opts["method"] != "subclass" else []
    if formula is not None and covariates is None:
        if not isinstance(formula, str) or "~" not in formula:
            raise parameter_error("formula", "match", "a formula string such as 'treat ~ age + sex'", formula)
        covariates = formula_variables(formula, data, exclude=treatment)
    covariates = column_names(covariates, "covariates", "match")
    kind = opts["distance_kind"]
    score_col = [opts["distance_arg"]] if kind == "column" else []
    if kind in MULTIVARIATE and not covariates:
        raise parameter_error("covariates", "match", f"at least one column when distance={kind!r}", covariates)
    if kind == "glm" and not covariates and formula is None:
        raise parameter_error("covariates", "match", "at least one column name (or give 'formula')", covariates)
    if mahvars and kind != "glm":
        raise parameter_error("mahvars", "match", "None unless distance='glm' (it sets the caliper's score)", mahvars)
    needed = list(dict.fromkeys(covariates + exact + mahvars + score_col))
    require_columns(data, needed, table="data", complete=True)
    check_covariate_values(data, needed)
    distance_vars = covariates if kind in MULTIVARIATE else mahvars
    return {"covariates": covariates, "exact": exact, "mahvars": mahvars, "distance_vars": distance_vars}


def _distances(data, treatment, treated, columns, formula, opts):
    """(score or None, propensity model or None, a marker that points are needed or None)."""
    kind = opts["distance_kind"]
    if kind in MULTIVARIATE:
        return None, None, True
    if kind == "column":
        if opts["link"] != "logit":
            _warn_ignored("link", "a ready-made distance")
        return data[opts["distance_arg"]].to_numpy(dtype=float), None, None
    covariates = columns["covariates"] if formula is None else None
    propensity = fit_propensity(data, treatment, covariates, formula=formula, exact=columns["exact"] or None)
    score = propensity.probability if opts["link"] == "logit" else propensity.linear_predictor
    return score, propensity, (True if columns["mahvars"] else None)


def _points(data, variables, treated, kind, discarded):
    from metrics.distances import covariate_points

    return covariate_points(data, variables, treated, kind=kind, discarded=discarded)


def _discard(score, treated, option) -> np.ndarray:
    """MatchIt's ``discard``: units whose score lies outside the other group's range."""
    out = np.zeros(len(treated), dtype=bool)
    if option == "none":
        return out
    lo_t, hi_t = score[treated].min(), score[treated].max()
    lo_c, hi_c = score[~treated].min(), score[~treated].max()
    if option == "both":
        return (score < max(lo_t, lo_c)) | (score > min(hi_t, hi_c))
    if option == "control":
        return ~treated & ((score < lo_t) | (score > hi_t))
    return treated & ((score < lo_c) | (score > hi_c))


def _caliper_width(score, discarded, opts) -> float | None:
    if opts["caliper"] is None or opts["method"] == "subclass":
        return None
    if not opts["std_caliper"]:
        return float(opts["caliper"])
    return float(opts["caliper"] * np.std(score[~discarded], ddof=1))


def _run_method(score, points, treated, discarded, width, strata, opts):
    """(focal rows, matched rows, subclass codes or None) from the chosen method."""
    focal = treated if opts["estimand"] != "ATC" else ~treated
    kept = np.flatnonzero(~discarded)
    if opts["method"] == "subclass":
        from metrics.subclass import subclassify

        codes, _ = subclassify(
            score, treated, estimand=opts["estimand"], subclass=opts["subclass"], min_n=opts["min_n"],
            discarded=discarded,
        )  # fmt: skip
        if not np.any(codes > 0):
            raise MatchingError("Subclassification left no subclass with both treated and control units.")
        empty = np.array([], dtype=np.int64)
        return empty, empty, codes
    if points is not None:
        pairs = _multivariate(score, points, focal, kept, width, strata, opts)
    elif opts["method"] == "optimal":
        from metrics.distances import optimal_pairs

        cal = None if width is None else (score, width)
        pairs = optimal_pairs(kept[focal[kept]], kept[~focal[kept]], distance=score, ratio=opts["ratio"],
                              caliper=cal, strata=strata)  # fmt: skip
    else:
        f, m = nearest_neighbours(
            score[kept], focal[kept], ratio=opts["ratio"], replace=opts["replace"], caliper=width,
            order=opts["order"], strata=None if strata is None else strata[kept], seed=opts["seed"],
            ties=opts["ties"],
        )  # fmt: skip
        pairs = kept[f], kept[m]
    _check_matched(pairs, focal, width, strata, opts)
    return pairs[0], pairs[1], None


def _multivariate(score, points, focal, kept, width, strata, opts):
    from metrics.distances import nearest_on_points, optimal_pairs

    cal = None if width is None else (score, width)
    f_kept, o_kept = kept[focal[kept]], kept[~focal[kept]]
    if opts["method"] == "optimal":
        return optimal_pairs(f_kept, o_kept, points=points, ratio=opts["ratio"], caliper=cal, strata=strata)
    return nearest_on_points(
        points, _focal_order(f_kept, score, opts), o_kept, ratio=opts["ratio"], replace=opts["replace"],
        caliper=cal, strata=strata,
    )  # fmt: skip


def _focal_order(rows: np.ndarray, score: np.ndarray | None, opts) -> np.ndarray:
    order = opts["order"]
    if order == "random":
        return np.random.default_rng(opts["seed"]).permutation(rows)
    if order == "data" or score is None:
        return rows
    key = -score[rows] if order == "largest" else score[rows]
    return rows[np.argsort(key, kind="stable")]


def _check_matched(pairs, focal, width, strata, opts) -> None:
    f_rows, _ = pairs
    n_f, n_o = int(focal.sum()), int((~focal).sum())
    who, other = ("treated unit", "control") if opts["estimand"] != "ATC" else ("control unit", "treated unit")
    if len(f_rows) == 0:
        where = f"within the caliper (width {width:.6g} in score units)" if width is not None else ""
        where += f" in its exact stratum ({opts['exact_columns']})" if strata is not None else ""
        raise MatchingError(
            f"No {who} has a {other} {where.strip() or 'to match'}; {n_f} {who}s, {n_o} {other}s. "
            "Widen 'caliper', drop 'exact' columns, or check overlap with plot_overlap()."
        )
    if opts["replace"] or opts["ratio"] == 1:
        return
    got = np.bincount(np.bincount(f_rows)[np.unique(f_rows)], minlength=opts["ratio"] + 1)
    if got[opts["ratio"]] < len(np.unique(f_rows)):
        counts = ", ".join(f"{got[k]} got {k}" for k in range(opts["ratio"], 0, -1) if got[k])
        warnings.warn(
            f"ratio={opts['ratio']} without replacement: the pool could not give every matched {who} "
            f"{opts['ratio']} {other}s ({counts}). Use a smaller ratio, replace=True, or a larger pool.",
            MatchingShortfallWarning,
            stacklevel=4,
        )


@dataclass(frozen=True, eq=False)
class MatchedComparison(_Adjusted):
    """Focal units and their matches (or subclasses), with MatchIt-style weights.

    Attributes
    ----------
    weights : pandas.Series
        Matching weights aligned with the input index.
    pairs : pandas.DataFrame
        One row per (treated, control) pair: treated_id, control_id (input index
        labels), subclass (matched set), match (1..k) and distance (|difference|).
    counts : pandas.DataFrame
        all / matched / unmatched / discarded by group. "discarded" counts units
        outside the common support (``discard``) and units in an ``exact``
        stratum with nobody of the other group.
    exclusions : pandas.DataFrame
        Why units are not in the matched sample: group, reason, n.

    Effects (:meth:`effect`) default to the standard error whose 95% intervals
    covered 93-97% in ``bench/coverage.py`` (2,000 replications per design):
    clustered on the matched set without replacement; with replacement
    Abadie-Imbens for an unadjusted difference (two-way clustering on set and
    unit otherwise); HC3 after subclassification. After matching on a logistic
    propensity score fitted here (and nothing else), an unadjusted difference's
    clustered or Abadie-Imbens variance gets Abadie and Imbens' (2016) term for
    the score being estimated (``score_adjustment=False`` leaves it out, as
    MatchIt and R's Matching do).
    """

    data: pd.DataFrame = field(repr=False)
    treatment: str
    covariates: list[str]
    treated: np.ndarray = field(repr=False)
    distance: np.ndarray | None = field(repr=False)
    focal_rows: np.ndarray = field(repr=False)
    match_rows: np.ndarray = field(repr=False)
    subclass_codes: np.ndarray | None = field(repr=False)
    strata: np.ndarray | None = field(repr=False)
    discarded: np.ndarray = field(repr=False)
    propensity: PropensityModel | None = field(repr=False)
    estimand: str
    options: dict

    @property
    def t_rows(self) -> np.ndarray:
        """Treated row of each pair."""
        return self.focal_rows if self.estimand != "ATC" else self.match_rows

    @property
    def c_rows(self) -> np.ndarray:
        """Control row of each pair."""
        return self.match_rows if self.estimand != "ATC" else self.focal_rows

    @property
    def weight_array(self) -> np.ndarray:
        """Weights as a numpy array in row order."""
        return _cached(self, "_w", self._compute_weights)

    def _compute_weights(self):
        if self.subclass_codes is not None:
            from metrics.subclass import subclass_weights

            return subclass_weights(self.subclass_codes, self.treated, self.estimand)
        n = len(self.treated)
        per_focal = np.bincount(self.focal_rows, minlength=n)
        w = np.bincount(self.match_rows, weights=1.0 / per_focal[self.focal_rows], minlength=n)
        nonzero = w > 0
        w[nonzero] /= w[nonzero].mean()
        w[self.focal_rows] = 1.0
        return w

    @property
    def subclass_array(self) -> np.ndarray:
        """Matched set (or subclass) per row (1, 2, ... numbered by focal units in data
        order; -1 for units left out). With replacement a unit serves several sets, so
        it gets the set of its first focal unit; use :attr:`pairs` instead."""
        return _cached(self, "_s", self._compute_subclass)

    def _compute_subclass(self):
        if self.subclass_codes is not None:
            return np.where(self.subclass_codes > 0, self.subclass_codes, -1)
        s = np.full(len(self.treated), -1, dtype=np.int64)
        f_unique = np.unique(self.focal_rows)
        s[f_unique] = np.arange(1, len(f_unique) + 1)
        sub = s[self.focal_rows]
        first = np.unique(self.match_rows, return_index=True)[1]
        s[self.match_rows[first]] = sub[first]
        return s

    @property
    def pairs(self) -> pd.DataFrame:
        idx = self.data.index
        sets = np.full(len(self.treated), -1, dtype=np.int64)
        f_unique = np.unique(self.focal_rows)
        sets[f_unique] = np.arange(1, len(f_unique) + 1)
        gap = np.abs(self.distance[self.t_rows] - self.distance[self.c_rows]) if self.distance is not None else np.nan
        return pd.DataFrame(
            {
                "treated_id": idx[self.t_rows],
                "control_id": idx[self.c_rows],
                "subclass": sets[self.focal_rows],
                "match": _match_numbers(self.focal_rows),
                "distance": gap,
            }
        )

    def _support_discarded(self) -> np.ndarray:
        return np.asarray(self.discarded, dtype=bool)

    def _stratum_discarded(self) -> np.ndarray:
        """Units in an exact stratum with nobody of the other group (among those kept)."""
        if self.strata is None:
            return np.zeros(len(self.treated), dtype=bool)
        kept = ~self._support_discarded()
        has_t = np.zeros(self.strata.max() + 1, dtype=bool)
        has_c = has_t.copy()
        has_t[self.strata[self.treated & kept]] = True
        has_c[self.strata[~self.treated & kept]] = True
        return kept & ~(has_t & has_c)[self.strata]

    @property
    def counts(self) -> pd.DataFrame:
        w = self.weight_array
        t = self.treated
        discarded = self._support_discarded() | self._stratum_discarded()
        table = {}
        for name, g in (("treated", t), ("control", ~t)):
            matched = int(((w > 0) & g).sum())
            disc = int((discarded & g & (w == 0)).sum())
            table[name] = {
                "all": int(g.sum()),
                "matched": matched,
                "unmatched": int(g.sum()) - matched - disc,
                "discarded": disc,
            }
        return pd.DataFrame(table)

    @property
    def exclusions(self) -> pd.DataFrame:
        """Reasons for every unit outside the matched sample; counts reconcile with :attr:`counts`."""
        w, t = self.weight_array, self.treated
        support, stratum = self._support_discarded(), self._stratum_discarded() & ~self._support_discarded()
        rows = []
        for name, g in (("treated", t), ("control", ~t)):
            left = g & (w == 0)
            n_support, n_stratum = int((left & support).sum()), int((left & stratum).sum())
            rows.append((name, self._unmatched_reason(name), int(left.sum()) - n_support - n_stratum))
            if self.options["discard"] != "none":
                rows.append((name, f"outside the common support (discard={self.options['discard']!r})", n_support))
            if self.options["exact"]:
                rows.append((name, f"exact stratum has no {'controls' if name == 'treated' else 'treated units'}",
                             n_stratum))  # fmt: skip
        return pd.DataFrame(rows, columns=["group", "reason", "n"])

    def _unmatched_reason(self, group: str) -> str:
        if self.subclass_codes is not None:
            return "in a subclass without the other group"
        focal = "treated" if self.estimand != "ATC" else "control"
        other = "control" if group == "treated" else "treated unit"
        if group != focal:
            return "not chosen as a match"
        reason = f"no {other} within the caliper" if self.options["caliper_width"] is not None else f"no {other} left"
        return reason + (" in its exact stratum" if self.options["exact"] else "")

    def _default_se(self, simple: bool) -> str:
        if self.subclass_codes is not None:
            return "hc3"
        if self.options["replace"]:
            return "abadie_imbens" if simple else "two_way"
        return "cluster"

    def _check_se(self, se: str) -> None:
        if self.options["replace"] and se in ("cluster", "bootstrap"):
            raise parameter_error(
                "se", "effect", "'two_way', 'abadie_imbens' or 'hc3' after matching with replacement (a control "
                "serves several matched sets, so neither clusters of sets nor resampled sets are independent)", se,
            )  # fmt: skip

    def _sample(self, se: str) -> AnalysisSample:
        if self.subclass_codes is not None:
            base = super()._sample(se)
            return _with(base, sets=self.subclass_codes[base.units], design="subclassified")
        if self.options["replace"] and se == "two_way":
            return self._stacked_sample()
        w = self.weight_array
        rows = np.flatnonzero(w > 0)
        position = np.full(len(w), -1, dtype=np.int64)
        position[rows] = np.arange(len(rows))
        t = self.treated[rows]
        focal = t if self.estimand == "ATT" else ~t
        return AnalysisSample(
            self.data.iloc[rows], t, w[rows], focal, sets=self.subclass_array[rows], units=rows,
            matches=(position[self.focal_rows], position[self.match_rows]), estimand=self.estimand,
            # made once: every effect's variance searches the same units (and shares what it finds there)
            pool=_cached(self, "_pool", lambda: self._variance_pool(rows)),
        )  # fmt: skip

    def _variance_pool(self, rows: np.ndarray) -> VariancePool:
        """Every unit kept for matching, with its matching variables scaled to unit SD (the metric
        R's ``Matching`` uses with ``Weight = 1``) and, when the score is a logistic propensity
        score estimated here and the only thing matched on, what the 2016 adjustment needs."""
        kept = np.flatnonzero(~self.discarded)
        inside = np.full(len(self.treated), -1, dtype=np.int64)
        inside[kept] = np.arange(len(kept))
        o = self.options
        distance = self.distance if not o["mahvars"] else None
        X = distance[:, None] if distance is not None else self._covariate_points()
        sd = X[kept].std(axis=0, ddof=1)
        points = X[kept][:, sd > 0] / sd[sd > 0]
        model = self.propensity
        design = model.design if model is not None and distance is not None and not o["exact"] else None
        adjust = model if design is not None else None
        return VariancePool(
            self.data.iloc[kept], points, self.treated[kept], inside[rows], kept, neighbours=o["ratio"],
            score_neighbours=self._score_neighbours(adjust, kept) if adjust is not None else None,
            design=design.full()[kept] if design is not None else None,
            score_covariance=adjust.covariance if adjust is not None else None, ratio=o["ratio"],
        )  # fmt: skip

    def _score_neighbours(self, model: PropensityModel, kept: np.ndarray) -> ScoreNeighbours:
        """The ``kept`` units' probability of being focal (the treated for the ATT, the controls for the ATC)."""
        score, focal = model.probability[kept], self.treated[kept]
        if self.estimand == "ATC":
            score, focal = 1 - score, ~focal
        return ScoreNeighbours(score, focal, self.options["ratio"])

    def _covariate_points(self) -> np.ndarray:
        """The covariates, one column per level of a categorical."""
        from metrics.balance import balance_variables

        return np.column_stack(list(balance_variables(self.data, self.covariates).values()))

    def _stacked_sample(self) -> AnalysisSample:
        """MatchIt's ``get_matches()`` layout: each focal unit once in its set, and each
        matched unit once per set it serves, with weight 1 / (matches in that set)."""
        f_unique, inverse = np.unique(self.focal_rows, return_inverse=True)
        per_set = np.bincount(inverse)
        rows = np.r_[f_unique, self.match_rows]
        sets = np.r_[np.arange(len(f_unique)), inverse]
        weights = np.r_[np.ones(len(f_unique)), 1.0 / per_set[inverse]]
        t = self.treated[rows]
        focal = t if self.estimand == "ATT" else ~t
        return AnalysisSample(
            self.data.iloc[rows.astype(np.int64)], t, weights, focal, sets=sets, units=rows, estimand=self.estimand,
            design="matched (stacked)",
        )  # fmt: skip

    def to_dict(self) -> dict:
        return {
            "options": {k: v for k, v in self.options.items() if not k.endswith("_arg")},
            "estimand": self.estimand,
            "counts": self.counts.to_dict(),
            "exclusions": self.exclusions.to_dict(orient="records"),
        }

    def summary(self) -> str:
        """A text summary: method, counts, exclusions and the balance table."""
        lines = _describe(self.options, self.estimand) + ["", "Sample sizes:", self.counts.to_string(), ""]
        ex = self.exclusions
        if len(ex):
            lines += ["Not in the matched sample:", ex.to_string(index=False), ""]
        if self.propensity is not None and self.propensity.notes:
            lines += [f"Propensity model: {note}" for note in self.propensity.notes] + [""]
        return "\n".join(lines + self._balance_lines("matching"))

    def plot_overlap(self, ax=None, bins: int = 40):
        """Score distributions: treated, all controls, and matched controls
        (weighted). Returns the Axes."""
        import matplotlib.pyplot as plt

        if self.distance is None:
            raise parameter_error("distance", "plot_overlap", "a propensity score or a score column", None)
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


def _distance_words(o: dict) -> str:
    kind = o["distance_kind"]
    if o.get("mahvars"):
        return f"Mahalanobis distance on {', '.join(o['mahvars'])} (caliper on the propensity score)"
    return {
        "glm": "propensity score" if o["link"] == "logit" else "logit",
        "column": o["distance_arg"],
    }.get(kind, kind.replace("_", " ") + " distance")


def _describe(o: dict, estimand: str) -> list[str]:
    names = {"nearest": "nearest neighbour", "optimal": "optimal pair", "subclass": "subclassification"}
    dist = o["distance"]
    lines = [f"Matched comparison ({names[o['method']]}, MatchIt 4.7.2 definitions) for the {estimand}"]
    if o["method"] == "subclass":
        lines.append(f"  distance: {dist}; subclasses: {o['subclass']}; at least {o['min_n']} per group")
    else:
        lines.append(
            f"  distance: {dist}; ratio 1:{o['ratio']}; {'with' if o['replace'] else 'without'} replacement"
            + (f"; order: {o['order']}" if o["method"] == "nearest" else "")
            + ("; every tied control kept (as R's Matching)" if o.get("ties") == "all" else "")
        )
    if o["caliper"] is not None and o["method"] != "subclass":
        lines.append(
            f"  caliper: {o['caliper']} {'SD' if o['std_caliper'] else 'raw'} = {o['caliper_width']:.6g} in score units"
        )
    if o["exact"]:
        lines.append(f"  exact on: {', '.join(o['exact'])}")
    if o["discard"] != "none":
        lines.append(f"  discard: {o['discard']} (units outside the common support of the score)")
    return lines


def _with(sample: AnalysisSample, **changes) -> AnalysisSample:
    from dataclasses import replace

    return replace(sample, **changes)


def _cached(obj, name, compute):
    if name not in obj.__dict__:
        object.__setattr__(obj, name, compute())
    return obj.__dict__[name]


def _match_numbers(rows: np.ndarray) -> np.ndarray:
    """1, 2, ... within each focal unit (pairs are sorted by focal row)."""
    if len(rows) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(rows)) + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, len(rows)]))
    return np.arange(len(rows)) - first + 1
