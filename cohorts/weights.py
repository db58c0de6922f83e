"""Survey-style weights: raking, post-stratification, ATT odds weights, trimming.

Every weighting function returns a :class:`WeightingResult`: the weights as a
Series aligned with the input's index, the Kish effective sample size, the
largest weight, and (for raking and post-stratification) a table of each
margin's weighted totals before and after.

Raking follows R's ``survey::rake`` (iterative proportional fitting, one
post-stratification per margin in the order given, repeated until the
weighted joint table of all margin variables stops changing) and agrees with
it to 1e-8 in every weight when both run to convergence
(tests/results/survey_rake.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cohorts.segments import toml_tables
from ground.checks import (
    InstanceOf,
    Interval,
    Options,
    check_parameter,
    column_names,
    parameter_error,
    require_columns,
    rows_text,
    shorten,
    shown_value,
)
from ground.errors import ConvergenceError, SchemaError, SpecError

__all__ = [
    "WeightingResult",
    "design_effect",
    "kish_ess",
    "margins_from_toml",
    "odds_weights",
    "post_stratify",
    "rake",
    "trim",
]

# A margin whose targets sum to 1 within this tolerance is read as shares.
_SHARE_TOL = 1e-9
# Count margins must agree on the population total to this relative tolerance.
_TOTAL_RTOL = 1e-6


def kish_ess(weights: Any) -> float:
    """Kish's effective sample size, ``(sum w)**2 / sum(w**2)``.

    Parameters
    ----------
    weights : array-like or WeightingResult
        Non-negative weights.

    Returns
    -------
    float
        The number of equally weighted observations that would give the same
        precision for a mean; equals ``n`` when all weights are equal.

    Examples
    --------
    >>> kish_ess([1.0, 1.0, 2.0])
    2.6666666666666665
    """
    w = _as_array(weights, "weights")
    return float(w.sum() ** 2 / np.square(w).sum())


def design_effect(weights: Any) -> float:
    """Kish's design effect from unequal weighting, ``1 + cv**2``.

    ``cv`` is the coefficient of variation of the weights with the population
    (``ddof=0``) standard deviation, so ``design_effect(w) == len(w) / kish_ess(w)``.

    Parameters
    ----------
    weights : array-like of float
        One weight per person.

    Examples
    --------
    >>> design_effect([1.0, 1.0, 2.0])
    1.125
    """
    w = _as_array(weights, "weights")
    return float(1.0 + np.var(w) / np.mean(w) ** 2)


@dataclass(frozen=True)
class WeightingResult:
    """Weights and how they were made.

    Attributes
    ----------
    weights : pandas.Series
        One weight per input row, aligned with the input's index.
    method : str
        ``"rake"``, ``"post_stratify"``, ``"odds"`` or ``"trim"``.
    margins : pandas.DataFrame
        One row per margin level: ``margin``, ``level``, ``target`` and the
        weighted totals ``before`` (base weights) and ``after``, with their
        shares. Empty for methods without margins.
    iterations : int
        Full raking passes over all margins (1 for a single post-stratification,
        0 for methods that do not iterate).
    converged : bool
    details : dict
        Method-specific figures (e.g. the trimming cap and share of weight moved).
    margin_codes : dict
        Each margin's level code per row and its targets, kept so that
        :func:`trim` can show the margins before and after trimming.
    """

    weights: pd.Series
    method: str
    margins: pd.DataFrame = field(default_factory=pd.DataFrame)
    iterations: int = 0
    converged: bool = True
    details: dict = field(default_factory=dict)
    margin_codes: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n(self) -> int:
        return int(self.weights.size)

    @property
    def ess(self) -> float:
        """Kish effective sample size."""
        return kish_ess(self.weights)

    @property
    def max_weight(self) -> float:
        return float(self.weights.max())

    @property
    def design_effect(self) -> float:
        return design_effect(self.weights)

    def to_frame(self) -> pd.DataFrame:
        """The margins table (before and after); the weights are ``.weights``."""
        return self.margins.copy()

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "n": self.n,
            "total": float(self.weights.sum()),
            "ess": self.ess,
            "design_effect": self.design_effect,
            "max_weight": self.max_weight,
            "min_weight": float(self.weights.min()),
            "iterations": self.iterations,
            "converged": self.converged,
            "details": {k: _plain(v) for k, v in self.details.items()},
            "margins": self.margins.to_dict(orient="records"),
        }

    def summary(self) -> str:
        lines = [
            f"Weights ({self.method}): n = {self.n:,}, total = {self.weights.sum():,.6g}",
            f"  effective sample size (Kish) = {self.ess:,.1f}; design effect = {self.design_effect:.3f}",
            f"  largest weight = {self.max_weight:.6g}; smallest = {self.weights.min():.6g}",
        ]
        if self.method == "rake":
            lines.append(f"  passes = {self.iterations}; converged = {self.converged}")
        lines += [
            f"  {k} = {v:.4g}" if isinstance(v, float) else f"  {k} = {_plain(v)}" for k, v in self.details.items()
        ]
        if not self.margins.empty:
            table = self.margins[["margin", "level", "target", "before", "after"]]
            lines += ["", table.to_string(index=False, float_format=lambda x: f"{x:,.2f}")]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def plot(self, ax=None):
        """Target, before and after shares for every margin level, as a dot plot."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.3 * max(len(self.margins), 4) + 1))
        if self.margins.empty:
            ax.hist(self.weights.to_numpy(), bins=50)
            ax.set_xlabel("weight")
            ax.set_ylabel("rows")
            return ax
        labels = self.margins["margin"].astype(str) + ": " + self.margins["level"].astype(str)
        y = np.arange(len(labels))
        ax.scatter(self.margins["share_target"], y, marker="|", s=200, color="black", label="target")
        ax.scatter(self.margins["share_before"], y, marker="o", label="before")
        ax.scatter(self.margins["share_after"], y, marker="x", label="after")
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.set_xlabel("weighted share")
        ax.legend()
        return ax


def rake(
    data: pd.DataFrame,
    margins: Mapping[str, Mapping[Any, float]],
    *,
    weights: Any = None,
    total: float | None = None,
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> WeightingResult:
    """Rake weights so that their totals match every margin (iterative proportional fitting).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per person; must hold every margin column, with no missing values.
    margins : mapping of column -> {level: target}
        Targets as counts, or as shares summing to 1 (scaled to ``total``, or
        else to the count margins' total, or else to the sum of the base
        weights). Every level in the data needs a target and every target
        level must occur in the data. Count margins must agree on the total.
    weights : array-like, optional
        Positive base (design) weights aligned with ``data``; default all 1.
    total : float, optional
        Population total that share margins are scaled to.
    tol : float, default 1e-10
        Convergence tolerance, defined as in ``survey::rake``'s ``epsilon``: a
        pass converges when the largest absolute change in any cell of the
        weighted joint table of all margin columns is below ``tol * sum(base
        weights)`` (for ``tol < 1``) or below ``tol`` itself (``tol >= 1``).
    max_iter : int, default 1000
        Maximum number of full passes over the margins (survey's ``maxit``).

    Returns
    -------
    WeightingResult
        ``.weights`` (aligned with ``data.index``), ``.ess``, ``.max_weight``,
        ``.iterations`` (passes, counting the last one) and ``.margins``.

    Raises
    ------
    SchemaError
        ``data`` is not a DataFrame, lacks a margin column, has a column name
        twice, or has missing values in a margin column (rows counted from 1).
    ParameterError
        Targets that are not positive numbers, a target level absent from the
        data, a data level without a target, count margins that disagree on
        the total (``parameter == "margins"``); bad base weights
        (``"weights"``); a bad ``total``, ``tol`` or ``max_iter``.
    ConvergenceError
        Not converged after ``max_iter`` passes; names the margin furthest
        from its targets.

    Notes
    -----
    ``survey::rake`` counts iterations from 0 and stops when the change is
    below epsilon, so its ``iter`` equals ``iterations - 1`` here. Its
    defaults (``maxit = 10``, ``epsilon = 1`` weighted unit) often stop short
    on skewed samples; the defaults here (1000 passes, 1e-10 relative) do not.

    Examples
    --------
    >>> df = pd.DataFrame({"sex": ["female", "female", "male", "male", "male"],
    ...                    "age": ["young", "old", "young", "old", "old"]})
    >>> r = rake(df, {"sex": {"female": 0.5, "male": 0.5},
    ...               "age": {"young": 0.5, "old": 0.5}}, total=100)
    >>> r.weights.round(4).tolist(), r.iterations
    ([29.2893, 20.7107, 20.7107, 14.6447, 14.6447], 8)
    """
    if not isinstance(margins, Mapping) or not margins:
        raise parameter_error("margins", "rake", "a non-empty mapping of column -> {level: target}", margins)
    check_parameter(max_iter, "max_iter", "rake", Interval(int, 1, None))
    check_parameter(tol, "tol", "rake", Interval(float, 0, None, closed="neither"))
    check_parameter(total, "total", "rake", Options(None), Interval(float, 0, None, closed="neither"))
    require_columns(data, list(margins), table="data")
    base = _base_weights(data, weights, "rake")
    targets = _scale_targets(margins, total, float(base.sum()), "rake")
    codes = {col: _margin_codes(data, col, levels, "rake") for col, levels in targets.items()}

    # survey::rake compares the weighted joint table of all margin variables
    # between passes. Every row in one cell of that table (one combination of
    # margin levels) is scaled by the same factors, so the passes run on the
    # cell totals (at most a few hundred numbers) and the rows are scaled once
    # at the end: the same arithmetic as raking the rows, without touching
    # the rows in every pass.
    joint, cell_codes = _joint_codes(codes)
    cells_before = np.bincount(joint, weights=base)
    epsilon = tol * float(base.sum()) if tol < 1 else float(tol)

    cells = cells_before.copy()
    converged = False
    passes = 0
    target_arrays = {col: np.asarray(list(t.values()), dtype=float) for col, t in targets.items()}
    while passes < max_iter:
        passes += 1
        old = cells.copy()
        for col, code in cell_codes.items():
            current = np.bincount(code, weights=cells, minlength=target_arrays[col].size)
            cells *= (target_arrays[col] / current)[code]
        delta = float(np.max(np.abs(cells - old)))
        if delta < epsilon:
            converged = True
            break
    w = base * (cells / cells_before)[joint]
    table = _margin_table(targets, cell_codes, cells_before, cells, np.bincount(joint))
    off = (table["after"] - table["target"]).abs()
    worst = table.assign(off=off / table["target"]).iloc[int(np.argmax(off.to_numpy()))]
    # survey's criterion alone can be fooled: margins that cannot all hold
    # (e.g. every woman is young, and the targets want more women than young
    # people) make each pass repeat the last one exactly, so the joint table
    # stops changing while a margin stays off. Near convergence a level total
    # is off by about epsilon per cell; slow convergence gets some slack, and
    # margins that cannot hold are off by far more.
    consistent = off.max() <= max(epsilon * cells.size, 1e-7 * float(cells.sum()))
    if not (converged and consistent):
        reason = (
            f"did not converge after {max_iter} passes (max_iter): the weighted joint table still "
            f"changed by {delta:.3g} in the last pass (tolerance {epsilon:.3g})"
            if not converged
            else f"cannot meet every margin: the passes repeat (change {delta:.3g}) while a margin stays off"
        )
        raise ConvergenceError(
            f"rake {reason}. Furthest from its targets: margin {worst['margin']!r}, level {worst['level']!r}, "
            f"weighted total {worst['after']:.6g} against target {worst['target']:.6g} (relative "
            f"difference {worst['off']:.3g}). Raise max_iter or loosen tol if the difference is shrinking; "
            "otherwise check for margins that cannot all hold (e.g. every row of one level sits in a "
            "single level of another margin)."
        )
    return WeightingResult(
        weights=pd.Series(w, index=data.index, name="weight"),
        method="rake",
        margins=table,
        iterations=passes,
        converged=True,
        details={"tol": tol, "epsilon": epsilon, "last_change": delta},
        margin_codes=_keep_codes(codes, targets),
    )


def margins_from_toml(path: str | Path) -> dict[str, Any]:
    """Read raking margins from TOML: ``[margins.<column>]`` tables of level = target.

    Optional top-level keys: ``total`` (population for share targets) and
    ``weights`` (column of base weights). Returns ``{"margins": ..., "total":
    ..., "weights": ...}``; ``margins`` goes straight to :func:`rake`.

    Parameters
    ----------
    path : str or Path
        The TOML file; an error names it.

    Examples
    --------
    A file holding::

        total = 500000
        [margins.sex]
        female = 0.15
        male = 0.85
        [margins.age_band]
        "18-24" = 0.25
        "25+" = 0.75

    gives ``{"margins": {"sex": {...}, "age_band": {...}}, "total": 500000, "weights": None}``.
    """
    tables, rest = toml_tables(path, "margins")

    def refuse(key: str, message: str) -> SpecError:
        return SpecError(f"{path}: {key}: {message}", key=key, source=str(path))

    unknown = sorted(set(rest) - {"total", "weights"})
    if unknown:
        raise refuse(unknown[0], f"unknown top-level key(s) {unknown}. Allowed: ['margins', 'total', 'weights'].")
    for column, levels in tables.items():
        if not isinstance(levels, dict) or not levels:
            raise refuse(f"margins.{column}", f"must be a table of level = target. Got {shown_value(levels)}.")
        for level, target in levels.items():
            if not _positive_number(target):
                raise refuse(
                    f"margins.{column}.{level}",
                    f"a target must be a positive number: a count, or a share such as 0.15 (not '15%'). "
                    f"Got {shown_value(target)}.",
                )
    total, weights = rest.get("total"), rest.get("weights")
    if total is not None and not _positive_number(total):
        raise refuse("total", f"must be a positive number (the population). Got {shown_value(total)}.")
    if weights is not None and not (isinstance(weights, str) and weights):
        raise refuse("weights", f"must be the name of a column of base weights. Got {shown_value(weights)}.")
    return {"margins": tables, "total": total, "weights": weights}


def _positive_number(value: Any) -> bool:
    return Interval(float, 0, None, closed="neither").is_satisfied_by(value)


def post_stratify(
    data: pd.DataFrame,
    by: str | Sequence[str],
    population: Mapping[Any, float] | pd.Series,
    *,
    weights: Any = None,
    total: float | None = None,
) -> WeightingResult:
    """Post-stratify: scale the weights in each cell so they sum to its population target.

    Parameters
    ----------
    data : pandas.DataFrame
    by : str or sequence of str
        The column, or columns whose combinations form the cells.
    population : mapping of level -> target, or pandas.Series
        Targets as counts or shares (scaled as in :func:`rake`). With several
        columns, levels are tuples (or a Series with a MultiIndex).
    weights : array-like, optional
        Base weights; default all 1.
    total : float, optional
        Population total for share targets.

    Examples
    --------
    >>> df = pd.DataFrame({"sex": ["female", "male", "male"]})
    >>> post_stratify(df, "sex", {"female": 50, "male": 50}).weights.tolist()
    [50.0, 25.0, 25.0]
    """
    columns = column_names(by, "by", "post_stratify")
    if not columns:
        raise parameter_error("by", "post_stratify", "at least one column name", by)
    check_parameter(population, "population", "post_stratify", InstanceOf((Mapping, pd.Series), "a mapping"))
    check_parameter(total, "total", "post_stratify", Options(None), Interval(float, 0, None, closed="neither"))
    require_columns(data, columns, table="data")
    pop = dict(population.items()) if isinstance(population, pd.Series) else dict(population)
    if len(columns) == 1:
        name, frame = columns[0], data
    else:
        name = " x ".join(columns)
        # One cell label per combination, matched against tuple keys in the targets.
        frame = pd.DataFrame({name: pd.Series(list(zip(*(data[c] for c in columns))), index=data.index)})
        bad = [k for k in pop if not (isinstance(k, tuple) and len(k) == len(columns))]
        if bad:
            raise parameter_error(
                "population",
                "post_stratify",
                f"keyed by tuples of {len(columns)} levels ({', '.join(columns)}) when 'by' names "
                f"{len(columns)} columns",
                bad[:3],
            )
        missing = pd.concat([data[c].isna() for c in columns], axis=1).any(axis=1)
        frame.loc[missing.to_numpy(), name] = None
    base = _base_weights(data, weights, "post_stratify")
    targets = _scale_targets({name: pop}, total, float(base.sum()), "post_stratify")
    codes = {name: _margin_codes(frame, name, targets[name], "post_stratify")}
    t = np.asarray(list(targets[name].values()), dtype=float)
    code = codes[name]
    w = base * (t / np.bincount(code, weights=base, minlength=t.size))[code]
    return WeightingResult(
        weights=pd.Series(w, index=data.index, name="weight"),
        method="post_stratify",
        margins=_margin_table(targets, codes, base, w),
        iterations=1,
        margin_codes=_keep_codes(codes, targets),
    )


def odds_weights(propensity: Any, treated: Any, *, normalize: bool = False) -> WeightingResult:
    """ATT weights from a propensity score: 1 for the treated, ``p / (1 - p)`` for controls.

    Weighting controls by the odds of treatment makes their covariate
    distribution resemble the treated group's, so a weighted comparison
    estimates the average effect on the treated (ATT).

    Parameters
    ----------
    propensity : array-like
        Estimated probability of treatment, strictly between 0 and 1.
    treated : array-like of bool
        Treatment indicator, same length (and index, if a Series).
    normalize : bool, default False
        Scale the control weights to sum to the number treated.

    Examples
    --------
    >>> odds_weights([0.5, 0.2, 0.75], [True, False, False]).weights.tolist()
    [1.0, 0.25, 3.0]
    """
    p = _as_array(propensity, "propensity", allow_zero=True)
    index = propensity.index if isinstance(propensity, pd.Series) else pd.RangeIndex(p.size)
    t = np.asarray(treated)
    if t.shape != p.shape:
        raise parameter_error("treated", "odds_weights", f"one value per propensity score ({p.size})", t)
    if t.dtype != bool:
        if pd.isna(t).any() or not np.isin(t, [0, 1]).all():
            raise parameter_error(
                "treated",
                "odds_weights",
                "boolean (or 0/1) with no missing values",
                sorted(map(str, pd.unique(t)))[:5],
            )
        t = t.astype(bool)
    bad = np.flatnonzero((p <= 0) | (p >= 1))
    if bad.size:
        raise parameter_error(
            "propensity", "odds_weights", "strictly between 0 and 1",
            got=f"{bad.size} values that are not: {rows_text(bad, p[bad].tolist())}",
        )  # fmt: skip
    if not t.any() or t.all():
        raise parameter_error(
            "treated",
            "odds_weights",
            "true for some rows and false for others (both treated and control rows)",
            f"{int(t.sum())} treated and {int((~t).sum())} controls",
        )
    w = np.where(t, 1.0, p / (1.0 - p))
    if normalize:
        w[~t] *= t.sum() / w[~t].sum()
    return WeightingResult(
        weights=pd.Series(w, index=index, name="weight"),
        method="odds",
        details={
            "estimand": "ATT",
            "n_treated": int(t.sum()),
            "n_control": int((~t).sum()),
            "ess_control": kish_ess(w[~t]),
            "normalize": normalize,
        },
    )


def trim(
    weights: Any,
    *,
    quantile: float | None = None,
    maximum: float | None = None,
    redistribute: bool = True,
) -> WeightingResult:
    """Cap large weights at a quantile or a maximum, moving the excess to the rest.

    Parameters
    ----------
    weights : pandas.Series, array-like or WeightingResult
    quantile : float, optional
        Cap at this quantile of the weights (e.g. 0.99).
    maximum : float, optional
        Cap at this value. Give exactly one of ``quantile`` and ``maximum``.
    redistribute : bool, default True
        Spread the weight cut from capped rows over the uncapped rows in
        proportion to their weights, so the total is unchanged; repeated
        until no row exceeds the cap.

    Returns
    -------
    WeightingResult
        ``details`` holds the ``cap``, ``n_trimmed`` and ``share_moved``: the
        share of the total weight cut from capped rows.

    Examples
    --------
    >>> r = trim(pd.Series([1.0, 1.0, 1.0, 5.0]), maximum=3.0)
    >>> r.weights.tolist(), r.details["share_moved"]
    ([1.6666666666666667, 1.6666666666666667, 1.6666666666666667, 3.0], 0.25)
    """
    base_result = weights if isinstance(weights, WeightingResult) else None
    series = base_result.weights if base_result else weights
    w = _as_array(series, "weights", allow_zero=True)
    index = series.index if isinstance(series, pd.Series) else pd.RangeIndex(w.size)
    if (quantile is None) == (maximum is None):
        raise parameter_error(
            "quantile",
            "trim",
            "given exactly when 'maximum' is not (exactly one of 'quantile' and 'maximum')",
            quantile,
        )
    if quantile is not None:
        check_parameter(quantile, "quantile", "trim", Interval(float, 0, 1, closed="neither"))
        cap = float(np.quantile(w, quantile))
    elif maximum is not None:
        cap = float(check_parameter(maximum, "maximum", "trim", Interval(float, 0, None, closed="neither")))
    total = w.sum()
    if redistribute and cap * w.size < total:
        raise parameter_error(
            "maximum" if maximum is not None else "quantile",
            "trim",
            f"a cap that keeps the total {total:.6g} with every one of {w.size} weights at most the cap "
            "(cannot keep the total: raise the cap or set redistribute=False)",
            maximum if maximum is not None else quantile,
        )
    capped = w > cap
    out = np.minimum(w, cap)
    moved = float(total - out.sum())
    # Each round scales the uncapped rows up to restore the total; rows pushed
    # over the cap join the capped set. At most n rounds, usually two or three.
    while redistribute and total - out.sum() > 1e-12 * total:
        free = ~capped
        out[free] *= (total - cap * capped.sum()) / out[free].sum()
        newly = free & (out > cap)
        if not newly.any():
            break
        out[newly] = cap
        capped |= newly
    kept = base_result.margin_codes if base_result is not None else {}
    return WeightingResult(
        weights=pd.Series(out, index=index, name="weight"),
        method="trim",
        margins=_margin_table({c: t for c, (_, t) in kept.items()}, {c: k for c, (k, _) in kept.items()}, w, out)
        if kept
        else pd.DataFrame(),
        margin_codes=kept,
        details={
            "cap": cap,
            "n_trimmed": int((w > cap).sum()),
            "share_moved": float(moved / total),
            "redistribute": redistribute,
            "ess_before": kish_ess(w),
        },
    )


# --------------------------------------------------------------------------- internals


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _as_array(weights: Any, name: str, *, allow_zero: bool = True) -> np.ndarray:
    if isinstance(weights, WeightingResult):
        weights = weights.weights
    try:
        w = np.asarray(weights, dtype=float).ravel()
    except (TypeError, ValueError):
        raise parameter_error(name, "the weighting function", "an array of numbers", weights) from None
    if w.size == 0:
        raise parameter_error(name, "the weighting function", "non-empty", weights)
    bad = np.flatnonzero(~np.isfinite(w) | (w < 0) | ((w == 0) if not allow_zero else False))
    if bad.size:
        raise parameter_error(
            name, "the weighting function", "finite, non-negative numbers",
            got=f"{bad.size} that are not (positions counted from 1): {rows_text(bad, w[bad].tolist())}",
        )  # fmt: skip
    return w


def _base_weights(data: pd.DataFrame, weights: Any, caller: str) -> np.ndarray:
    if weights is None:
        return np.ones(len(data))
    if isinstance(weights, pd.Series) and not weights.index.equals(data.index):
        weights = weights.reindex(data.index)
    values = pd.to_numeric(pd.Series(np.asarray(weights, dtype=object).ravel()), errors="coerce")
    w = values.to_numpy(dtype="float64", na_value=np.nan)
    if w.size != len(data):
        raise parameter_error("weights", caller, f"one weight per row ({len(data)})", f"{w.size} weights")
    bad = np.flatnonzero(~np.isfinite(w) | (w <= 0))
    if bad.size:
        shown = np.asarray(weights, dtype=object).ravel()[bad]
        raise parameter_error(
            "weights", caller, "positive finite numbers",
            got=f"{bad.size} rows that are not (data rows counted from 1): {rows_text(bad, shown.tolist())}",
        )  # fmt: skip
    return w


def _scale_targets(
    margins: Mapping[str, Mapping[Any, float]], total: float | None, base_total: float, caller: str
) -> dict[str, dict[Any, float]]:
    """Validate targets and turn share margins into counts on a common total."""
    parsed: dict[str, dict[Any, float]] = {}
    for col, levels in margins.items():
        if isinstance(levels, pd.Series):
            levels = dict(levels.items())
        if not isinstance(levels, Mapping) or not levels:
            raise parameter_error(
                "margins", caller, f"a non-empty mapping of level -> target for margin {col!r}", levels
            )
        bad = {k: v for k, v in levels.items() if not _positive_number(v)}
        if bad:
            raise parameter_error(
                "margins", caller, "positive numbers as targets (counts, or shares such as 0.15)",
                got=f"margin {col!r} with {shorten(f'{k}={v!r}' for k, v in bad.items())}",
                advice="A level with no one in the population should have no rows in the data: drop those rows.",
            )  # fmt: skip
        parsed[str(col)] = {k: float(v) for k, v in levels.items()}
    sums = {col: sum(v.values()) for col, v in parsed.items()}
    shares = {col for col, s in sums.items() if abs(s - 1.0) <= _SHARE_TOL}
    counts = {col: s for col, s in sums.items() if col not in shares}
    if counts:
        reference = total if total is not None else next(iter(counts.values()))
        off = {col: s for col, s in counts.items() if abs(s - reference) > _TOTAL_RTOL * reference}
        if off:
            described = ", ".join(f"{c!r} sums to {s:,.6g}" for c, s in counts.items())
            against = f"total={total:,.6g}; " if total is not None else ""
            raise parameter_error(
                "margins", caller, "one population's margins: count margins agreeing on the total",
                got=f"totals that disagree ({against}{described})", advice="Fix the targets, or give them as shares.",
            )  # fmt: skip
        scale_to = reference
    else:
        scale_to = total if total is not None else base_total
    return {
        col: ({k: v * scale_to for k, v in values.items()} if col in shares else values)
        for col, values in parsed.items()
    }


def _margin_codes(data: pd.DataFrame, col: str, levels: Mapping[Any, float], caller: str) -> np.ndarray:
    """Integer codes of ``data[col]`` in the order of the target levels, checked both ways."""
    require_columns(data, [col], table="data")
    inverse, uniques = pd.factorize(data[col], sort=False)
    na = inverse < 0
    if na.any():
        raise SchemaError(
            f"table 'data': margin column {col!r} has {int(na.sum())} missing value(s) (data rows counted "
            f"from 1): {rows_text(np.flatnonzero(na))}. Every row needs a level: recode missing values as a "
            "level with its own target, or drop the rows.",
            table="data",
        )
    keys = list(levels)
    # Match on the string form when the types differ (e.g. targets read from
    # TOML as strings against an integer column).
    lookup = {k: i for i, k in enumerate(keys)}
    as_str = {str(k): i for i, k in enumerate(keys)}
    mapping = [lookup.get(v, as_str.get(str(v), -1)) for v in np.asarray(uniques, dtype=object)]
    unmatched = [v for v, i in zip(np.asarray(uniques, dtype=object), mapping) if i < 0]
    if unmatched:
        raise parameter_error(
            "margins", caller, f"a target for every level of {col!r} found in the data",
            got=f"none for {sorted(map(str, unmatched))} (targets given for {[str(k) for k in keys]})",
        )  # fmt: skip
    absent = [str(k) for i, k in enumerate(keys) if i not in set(mapping)]
    if absent:
        raise parameter_error(
            "margins", caller, f"targets for levels of {col!r} found in the data, so that weights can reach them",
            got=f"target level(s) {absent} absent from the data",
            advice="Combine the level with a neighbour or drop its target.",
        )  # fmt: skip
    table = np.asarray(mapping, dtype=np.intp)
    return table[inverse]


def _keep_codes(codes: Mapping[str, np.ndarray], targets: Mapping[str, Mapping[Any, float]]) -> dict:
    # int32 halves the memory kept per row; no margin has 2**31 levels.
    return {col: (codes[col].astype(np.int32), dict(targets[col])) for col in codes}


def _joint_codes(codes: Mapping[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Code each row's cell (its combination of margin levels) and each cell's level per margin."""
    arrays = list(codes.values())
    joint = arrays[0].astype(np.int64)
    for code in arrays[1:]:
        width = int(code.max()) + 1
        if (int(joint.max()) + 1) * width > 2**62:
            # Compact the codes first so the mixed-radix product cannot overflow.
            joint = pd.factorize(joint)[0].astype(np.int64)
        joint = joint * width + code
    joint = pd.factorize(joint)[0].astype(np.intp)
    n_cells = int(joint.max()) + 1
    cell_codes = {}
    for col, code in codes.items():
        per_cell = np.empty(n_cells, dtype=np.intp)
        # All rows of a cell share the level, so any write order gives the same result.
        per_cell[joint] = code
        cell_codes[col] = per_cell
    return joint, cell_codes


def _margin_table(
    targets: Mapping[str, Mapping[Any, float]],
    codes: Mapping[str, np.ndarray],
    before: np.ndarray,
    after: np.ndarray,
    rows: np.ndarray | None = None,
) -> pd.DataFrame:
    """Weighted totals per margin level; ``codes`` index rows, or cells holding ``rows`` rows each."""
    frames = []
    for col, levels in targets.items():
        t = np.asarray(list(levels.values()), dtype=float)
        b = np.bincount(codes[col], weights=before, minlength=t.size)
        a = np.bincount(codes[col], weights=after, minlength=t.size)
        frames.append(
            pd.DataFrame(
                {
                    "margin": col,
                    "level": [str(k) for k in levels],
                    "target": t,
                    "before": b,
                    "after": a,
                    "share_target": t / t.sum(),
                    "share_before": b / b.sum(),
                    "share_after": a / a.sum(),
                    "n": np.bincount(codes[col], weights=rows, minlength=t.size).astype(np.int64),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
