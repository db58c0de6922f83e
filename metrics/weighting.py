"""Weighted comparisons: what matched and weighted samples share, and entropy balancing.

:class:`WeightedComparison` holds a sample and its weights (for the ATT, ATC or
ATE) and gives the balance table and the effect of the programme on any
outcome; :class:`metrics.matching.MatchedComparison` adds the matched sets.

Entropy balancing (Hainmueller 2012; WeightIt's ``method = "ebal"``): weights
as close as possible to equal (in the Kullback-Leibler sense) whose weighted
covariate means equal a target exactly. For the ATT the controls are weighted
to the treated group's means (treated weight 1); for the ATC the treated to
the controls'; for the ATE each group to the whole sample's means. With
``moments=2`` the means of the squares of continuous covariates are balanced
too (so their variances). The weights are ``exp(x'lambda)`` up to a constant,
with ``lambda`` minimising the convex dual ``log sum_i exp((x_i - target)'lambda)``,
solved by Newton's method on standardised columns; the weights are scaled to
average 1 in each group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import linalg, special

from ground.checks import (
    Interval,
    Options,
    check_parameter,
    column_names,
    outcome_not_covariate,
    parameter_error,
    require_columns,
)
from ground.errors import ConvergenceError, ModelError
from metrics.balance import balance_table, balance_variables, balanced_flags, plot_balance
from metrics.effects import AnalysisSample, Effect, estimate_effect
from metrics.propensity import check_covariate_values, treatment_indicator

__all__ = ["WeightedComparison", "entropy_balance"]

ESTIMANDS = ("ATT", "ATC", "ATE")


class _Adjusted:
    """Balance and effects of a weighted sample; the concrete classes give
    ``data``, ``treatment``, ``covariates``, ``treated``, ``estimand``,
    ``options``, ``weight_array`` and ``distance`` (or None)."""

    data: pd.DataFrame
    treatment: str
    covariates: list[str]
    treated: np.ndarray
    estimand: str
    options: dict
    distance: np.ndarray | None

    if TYPE_CHECKING:  # a field of WeightedComparison, a property of MatchedComparison

        @property
        def weight_array(self) -> np.ndarray: ...

    @property
    def weights(self) -> pd.Series:
        """Weights aligned with the input index (0 for units left out)."""
        return pd.Series(self.weight_array, index=self.data.index, name="weight")

    def balance(
        self,
        covariates: list[str] | str | None = None,
        *,
        squares: bool = False,
        interactions: bool = False,
        thresholds: dict[str, float] | None = None,
    ) -> pd.DataFrame:
        """Balance before and after (MatchIt 4.7.2 definitions; see :mod:`metrics.balance`).

        Parameters
        ----------
        covariates : str or list of str, optional
            Default: the comparison's covariates.
        squares : bool, default False
            Also the squares of continuous covariates (``age²``).
        interactions : bool, default False
            Also products of every pair of variables from different covariates
            (``age * sexmale``), as cobalt's ``int = TRUE``.
        thresholds : dict, optional
            ``{"smd": 0.1, "var_ratio": 2}``: adds ``balanced`` columns, True when
            ``|smd| <= smd`` and ``1/var_ratio <= var ratio <= var_ratio``
            (variance ratios of binary variables are not judged).

        The first row is the distance (propensity score) when there is one.
        """
        cols = column_names(covariates, "covariates", "balance") if covariates is not None else self.covariates
        require_columns(self.data, cols, table="data", complete=True)
        check_covariate_values(self.data, cols)
        variables = balance_variables(self.data, cols, squares=squares, interactions=interactions)
        if self.distance is not None:
            variables = {"distance": self.distance, **variables}
        table = balance_table(variables, self.treated, self.weight_array, estimand=self.estimand)
        return balanced_flags(table, thresholds) if thresholds else table

    def is_balanced(self, smd: float = 0.1, var_ratio: float | None = 2.0) -> bool:
        """True when every covariate (not the distance) meets the thresholds after adjustment."""
        thresholds = {"smd": smd} if var_ratio is None else {"smd": smd, "var_ratio": var_ratio}
        table = self.balance(thresholds=thresholds).drop(index="distance", errors="ignore")
        return bool(table[("after", "balanced")].all())

    def _sample(self, se: str) -> AnalysisSample:
        w = self.weight_array
        rows = np.flatnonzero(w > 0)
        t = self.treated[rows]
        focal = {"ATT": t, "ATC": ~t}.get(self.estimand, np.ones(len(rows), dtype=bool))
        return AnalysisSample(
            self.data.iloc[rows], t, w[rows], focal, units=rows, estimand=self.estimand, design="weighted"
        )

    def _default_se(self, simple: bool) -> str:
        return "hc3"

    def _check_se(self, se: str) -> None:
        """Refuse a variance that does not fit how the sample was made."""

    def effect(
        self,
        outcome: str,
        kind: str = "mean",
        *,
        scale: str | None = None,
        covariates: list[str] | str | None = None,
        se: str | None = None,
        duration: str | None = None,
        event: str | None = None,
        alpha: float = 0.05,
        draws: int = 999,
        seed: int | None = None,
        variance_matches: int | None = None,
        score_adjustment: bool = True,
    ) -> Effect:
        """Effect of the programme on ``outcome`` for the estimand's population.

        Parameters
        ----------
        outcome : str
            Outcome column (for ``kind="time"`` the duration unless ``duration`` is given).
        kind : {"mean", "binary", "count", "time"}
        scale : str, optional
            binary: "difference" (default), "risk ratio" or "odds ratio"; count:
            "rate ratio" (default) or "difference".
        covariates : str or list of str, optional
            Regression adjustment on the adjusted sample (the doubly robust route
            MatchIt recommends); see :mod:`metrics.effects`.
        se : {"cluster", "two_way", "hc3", "abadie_imbens", "bootstrap"}, optional
            Default: see the class's ``effect`` documentation.
        alpha : float, default 0.05
        draws, seed
            Bootstrap resamples and their seed.
        variance_matches : int, optional
            ``se="abadie_imbens"``: J, the nearest units of the same group (in the
            whole sample, ties kept) whose outcomes estimate each matched unit's
            outcome variance; default J = M (the matching ratio), as R's
            ``Matching`` with ``Var.calc = M``; 0 assumes one variance for everyone
            (``Var.calc = 0``).
        score_adjustment : bool, default True
            After matching on a logistic propensity score fitted here (and nothing
            else), add Abadie and Imbens' (2016) term for the score being
            estimated to an unadjusted difference's ``"cluster"`` or
            ``"abadie_imbens"`` variance (see :mod:`metrics.variance`).
        """
        outcome_not_covariate(outcome, [*self.covariates, *column_names(covariates, "covariates", "effect")], "effect")
        simple = covariates is None and kind in ("mean", "binary") and scale in (None, "difference")
        se = self._default_se(simple) if se is None else se
        self._check_se(se)
        return estimate_effect(
            self._sample(se), outcome, kind=kind, scale=scale, covariates=covariates, se=se, duration=duration,
            event=event, alpha=alpha, draws=draws, seed=seed, variance_matches=variance_matches,
            score_adjustment=score_adjustment,
        )  # fmt: skip

    def to_frame(self) -> pd.DataFrame:
        """The balance table (see :meth:`balance`)."""
        return self.balance()

    def plot_balance(self, ax=None, *, squares: bool = False, interactions: bool = False):
        """Love plot of |SMD| before and after, with 0.1 and 0.25 lines. Returns the Axes."""
        return plot_balance(self.balance(squares=squares, interactions=interactions), ax=ax)

    def _balance_lines(self, step: str = "adjustment") -> list[str]:
        b = self.balance(thresholds={"smd": 0.1})
        judged = b.drop(index="distance", errors="ignore")
        off = [str(v) for v in judged.index[~judged[("after", "balanced")].to_numpy(dtype=bool)]]
        denom = {"ATT": "the treated group's", "ATC": "the control group's", "ATE": "the pooled"}[self.estimand]
        verdict = f"Balance: {len(judged) - len(off)} of {len(judged)} variables within |SMD| <= 0.1 after {step}" + (
            f" (not: {', '.join(off[:8])}{' ...' if len(off) > 8 else ''})." if off else ": balanced."
        )
        lines = [verdict, f"(smd divides by {denom} SD in the full sample; binary variables have no var_ratio)"]
        for sample, title in (("before", f"before {step}"), ("after", f"after {step}")):
            cols = [c for c in b[sample].columns if c != "balanced"]
            lines += [f"  {title}:", b[sample][cols].to_string(float_format=lambda v: f"{v:.4f}"), ""]
        return lines


@dataclass(frozen=True, eq=False)
class WeightedComparison(_Adjusted):
    """A sample with balancing weights (entropy balancing).

    Attributes
    ----------
    weight_array : numpy.ndarray
        Weights in row order (average 1 in each group).
    estimand : str
    diagnostics : dict
        ``effective_n`` per group (Kish), ``max_weight``, ``iterations``,
        ``max_moment_gap`` (largest standardised difference left in a balanced moment).

    Effects default to HC3 standard errors, which treat the weights as known.
    """

    data: pd.DataFrame = field(repr=False)
    treatment: str
    covariates: list[str]
    treated: np.ndarray = field(repr=False)
    weight_array: np.ndarray = field(repr=False)
    estimand: str
    options: dict
    diagnostics: dict
    distance: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {"options": dict(self.options), "estimand": self.estimand, "diagnostics": dict(self.diagnostics)}

    def summary(self) -> str:
        d = self.diagnostics
        lines = [
            f"Entropy balancing for the {self.estimand} (moments: {self.options['moments']})",
            f"  effective sample size: treated {d['effective_n']['treated']:.1f}, "
            f"control {d['effective_n']['control']:.1f}; largest weight {d['max_weight']:.3g}; "
            f"largest moment gap left {d['max_moment_gap']:.2e} SD",
            "",
        ]
        return "\n".join(lines + self._balance_lines())


def entropy_balance(
    data: pd.DataFrame,
    treatment: str,
    covariates: list[str] | str,
    *,
    estimand: str = "ATT",
    moments: int = 1,
    tol: float = 1e-10,
    max_iter: int = 200,
) -> WeightedComparison:
    """Entropy balancing weights (WeightIt's ``method = "ebal"``).

    Parameters
    ----------
    data : pandas.DataFrame
    treatment : str
        0/1 or bool column.
    covariates : str or list of str
        Categoricals enter as one 0/1 column per level.
    estimand : {"ATT", "ATC", "ATE"}, default "ATT"
    moments : {1, 2}, default 1
        Balance means (1), or means and squares of continuous covariates (2).
    tol : float, default 1e-10
        Largest standardised difference left in any balanced moment.
    max_iter : int, default 200

    Returns
    -------
    WeightedComparison

    Raises
    ------
    ConvergenceError
        The moments cannot be met (a target outside the other group's range).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"t": np.r_[np.ones(50), np.zeros(200)], "x": rng.normal(size=250)})
    >>> df.loc[df["t"] == 1, "x"] += 0.5
    >>> eb = entropy_balance(df, "t", "x")
    >>> w = eb.weight_array
    >>> bool(abs(np.average(df["x"][df["t"] == 0], weights=w[df["t"] == 0]) - df["x"][df["t"] == 1].mean()) < 1e-8)
    True
    """
    check_parameter(estimand, "estimand", "entropy_balance", Options(*ESTIMANDS))
    check_parameter(moments, "moments", "entropy_balance", Options(1, 2))
    check_parameter(tol, "tol", "entropy_balance", Interval(float, 0, None, closed="neither"))
    check_parameter(max_iter, "max_iter", "entropy_balance", Interval(int, 1, None))
    covariates = column_names(covariates, "covariates", "entropy_balance")
    if not covariates:
        raise parameter_error("covariates", "entropy_balance", "at least one column name", covariates)
    treated = treatment_indicator(data, treatment)
    require_columns(data, covariates, table="data", complete=True)
    check_covariate_values(data, covariates)
    if treated.all() or not treated.any():
        raise ModelError(f"Entropy balancing needs treated and control units; {treatment!r} has one group only.")
    C, names = _moment_matrix(data, covariates, moments)
    w = np.zeros(len(data))
    targets = {"ATT": [(~treated, treated)], "ATC": [(treated, ~treated)]}.get(
        estimand, [(treated, np.ones(len(data), dtype=bool)), (~treated, np.ones(len(data), dtype=bool))]
    )
    iterations, gap = 0, 0.0
    for group, target_rows in targets:
        weights, it, g = ebal_weights(C[group], C[target_rows].mean(axis=0), tol=tol, max_iter=max_iter, names=names)
        w[group] = weights / weights.mean()
        iterations, gap = iterations + it, max(gap, g)
    if estimand in ("ATT", "ATC"):
        w[treated if estimand == "ATT" else ~treated] = 1.0
    return WeightedComparison(
        data=data, treatment=treatment, covariates=covariates, treated=treated, weight_array=w, estimand=estimand,
        options={"method": "entropy balancing", "moments": moments, "tol": tol},
        diagnostics={
            "effective_n": {"treated": _kish(w[treated]), "control": _kish(w[~treated])},
            "max_weight": float(w.max()), "iterations": iterations, "max_moment_gap": gap,
        },
    )  # fmt: skip


def _kish(w: np.ndarray) -> float:
    return float(w.sum() ** 2 / np.sum(w**2))


def _moment_matrix(data: pd.DataFrame, covariates: list[str], moments: int) -> tuple[np.ndarray, list[str]]:
    """The balanced moments (columns that vary) and their names."""
    variables = balance_variables(data, covariates, squares=moments == 2)
    X = np.column_stack(list(variables.values()))
    varies = X.max(axis=0) - X.min(axis=0) > 0
    return X[:, varies], [str(name) for name, keep in zip(variables, varies) if keep]


def ebal_weights(
    X: np.ndarray, target: np.ndarray, *, tol: float = 1e-10, max_iter: int = 200, names: list[str] | None = None
):
    """Weights on the rows of ``X`` (summing to 1) whose weighted column means equal
    ``target``, closest to uniform in entropy: (weights, iterations, largest gap in SD units).

    Newton's method on the dual, with step-halving; columns standardised, and columns
    that are combinations of others dropped (their moments follow from the others').
    ``names`` (one per column) name the moments a failure message blames.

    Parameters
    ----------
    X : numpy.ndarray
        The group's rows (one column per moment to balance).
    target : numpy.ndarray
        The weighted mean each column must reach.
    tol : float, default 1e-10
        Largest gap left between a weighted mean and its target, in the column's SDs.
    max_iter : int, default 200
        Newton steps before giving up with a :class:`~ground.errors.ConvergenceError`.
    names : list of str, optional
        One name per column of ``X``, for the error message.

    Returns
    -------
    tuple
        The weights (summing to 1), the Newton steps taken and the largest gap left (SD units).

    Examples
    --------
    >>> w, _, _ = ebal_weights(np.array([[0.0], [1.0], [2.0]]), np.array([1.5]))
    >>> float(np.round(w @ np.array([0.0, 1.0, 2.0]), 10))
    1.5
    """
    sd = X.std(axis=0)
    sd[sd == 0] = 1.0
    Z = (X - target) / sd
    Z = Z[:, _independent(Z)]
    lam = np.zeros(Z.shape[1])

    def dual(lam):
        return special.logsumexp(Z @ lam)

    def largest_gap(lam):
        return np.max(np.abs(special.softmax(Z @ lam) @ Z))

    value = dual(lam)
    for it in range(1, max_iter + 1):
        p = special.softmax(Z @ lam)
        gap = p @ Z
        if np.max(np.abs(gap)) < tol:
            return p, it, float(np.max(np.abs(gap)))
        H = (Z.T * p) @ Z - np.outer(gap, gap)
        step = linalg.lstsq(H, gap)[0]
        t = 1.0
        # Near the optimum the dual's decrease (about gap^2) is below its rounding, so a step is also
        # taken when it shrinks the gap: otherwise whether tol is reached would depend on the machine.
        while dual(lam - t * step) > value - 1e-4 * t * (gap @ step) and t > 1e-10:
            if largest_gap(lam - t * step) < np.max(np.abs(gap)):
                break
            t /= 2
        lam = lam - t * step
        value = dual(lam)
    raise ConvergenceError(_unreachable(X, target, names, max_iter, float(np.max(np.abs(gap)))))


def _unreachable(X: np.ndarray, target: np.ndarray, names: list[str] | None, max_iter: int, gap: float) -> str:
    """Why the moments were not met: a target outside its column's range, or (each in range) a
    combination of targets no weighting of the group's rows gives."""
    names = names if names is not None else [f"column {j + 1}" for j in range(X.shape[1])]
    lo, hi = X.min(axis=0), X.max(axis=0)
    outside = [
        f"{names[j]} (target {target[j] + 0.0:.4g}, the group's values {lo[j] + 0.0:.4g} to {hi[j] + 0.0:.4g})"
        for j in np.flatnonzero((target < lo) | (target > hi))
    ]
    head = f"Entropy balancing did not meet the moments in {max_iter} Newton steps (largest gap {gap:.3g} SD): "
    if outside:
        return (
            head
            + "a target lies outside the range of the group being weighted: "
            + "; ".join(outside[:5])
            + (". Drop or coarsen that covariate, or use moments=1.")
        )
    return head + (
        "each target lies within its covariate's range, but no weighting of the group reaches them all together "
        "(the combination lies outside the group's joint spread, e.g. a level mix or a mean and a square that "
        "contradict each other). Drop or coarsen covariates, or use moments=1."
    )


def _independent(Z: np.ndarray) -> np.ndarray:
    if Z.shape[1] == 0:
        return np.zeros(0, dtype=np.int64)
    _, R, piv = linalg.qr(Z, mode="economic", pivoting=True)
    d = np.abs(np.diag(R))
    rank = int(np.sum(d > 1e-9 * d.max()))
    return np.sort(piv[:rank])
