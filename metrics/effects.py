"""Effects of a programme on an outcome, with standard errors, CIs and n.

What each ``kind`` and ``scale`` estimates (weights are the matching or
balancing weights; "focal" units are those the estimand is about: the treated
for the ATT, the controls for the ATC, everyone for the ATE):

- ``kind="mean"`` (and ``"binary"`` on the difference scale): weighted least
  squares of the outcome on the treatment indicator, a difference in means (or
  in proportions). With ``covariates``, regression adjustment as MatchIt's
  vignette recommends: the treatment interacted with the covariates, centred at
  the focal units' weighted means, so the treatment coefficient is the
  g-computation estimate of the effect on the focal units.
- ``kind="binary"`` with ``scale="risk ratio"`` or ``"odds ratio"``: a weighted
  logistic regression (with the same interactions when ``covariates`` are
  given), and the marginal risks of the focal units with and without the
  programme (g-computation); the ratio of the risks, or of the odds. Without
  covariates these are the ratios of the weighted proportions.
- ``kind="count"``: rate ratio from a weighted Poisson model (log link), the
  same way; the difference in mean frequency (as ``kind="mean"``) is in
  ``details["difference"]``.
- ``kind="time"``: hazard ratio from a Cox model (Efron ties, covariates
  entered as they are), with R's ``coxph`` robust variance; Kaplan-Meier
  curves per group in ``details["kaplan_meier"]``.

Standard errors (``se``; see :mod:`metrics.variance`): ``"cluster"`` on the
matched set (sandwich's ``vcovCL``: HC1 for least squares, HC0 otherwise),
``"two_way"`` on the matched set and the unit (matching with replacement),
``"hc3"`` (least squares; HC0 for the GLMs and Cox), ``"abadie_imbens"`` (the
matching estimator's own variance, as R's ``Matching``: outcome variances from
each matched unit's J nearest of its group in the whole sample, J = M by
default), or ``"bootstrap"``
(matched sets resampled with replacement, the whole estimator refitted on
each: a percentile interval). Least-squares intervals use the t distribution
with the residual degrees of freedom (as ``lmtest::coeftest`` on an ``lm``),
the others the normal. The delta method treats the focal units' covariates as
fixed, as R's ``marginaleffects`` does. After matching on a logistic propensity
score estimated here, the clustered and Abadie-Imbens variances of an unadjusted
difference add Abadie and Imbens' (2016) term for the estimated score
(:func:`metrics.variance.estimated_score_adjustment`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import linalg, special

from ground.checks import Interval, Options, check_parameter, column_names, parameter_error, require_columns, rows_text
from ground.errors import ModelError
from ground.words import count, p_phrase
from metrics.propensity import TOO_LARGE, DesignMatrix, check_covariate_values, treatment_indicator
from metrics.survival import cox_fit, efron_score_residuals, kaplan_meier
from metrics.variance import (
    ScoreNeighbours,
    abadie_imbens_variance,
    cluster_variance,
    estimated_score_adjustment,
    within_group_variance,
)

__all__ = ["Effect", "compare", "estimate_effect", "kaplan_meier", "AnalysisSample"]

KINDS = ("mean", "binary", "count", "time")
#: Scales each kind can report, the first being the default.
SCALES = {
    "mean": ("difference",),
    "binary": ("difference", "risk ratio", "odds ratio"),
    "count": ("rate ratio", "difference"),
    "time": ("hazard ratio",),
}
VARIANCES = ("cluster", "two_way", "hc3", "abadie_imbens", "bootstrap")


@dataclass(frozen=True)
class Effect:
    """An estimated effect with its uncertainty.

    Attributes
    ----------
    estimate : float
        Difference (treated minus comparison) on the difference scale; the
        rate, risk, odds or hazard ratio otherwise.
    se : float
        Standard error of the estimate (of its log for ratios).
    ci_low, ci_high : float
        Confidence interval at ``1 - alpha``.
    p_value : float
        Two-sided test of no effect.
    n_treated, n_control : int
        Units contributing to each group.
    method : str
        Model and variance estimator, in words.
    kind, outcome, scale : str
        Outcome type, outcome column, and "difference" / "risk ratio" /
        "odds ratio" / "rate ratio" / "hazard ratio".
    mean_treated, mean_control : float
        (Weighted) outcome mean per group (event proportion for time).
    alpha : float
        The interval's significance level: the CI is at ``1 - alpha``.
    estimand : str
        "ATT", "ATC" or "ATE": whom the effect is about.
    details : dict
        Extra results: ``difference`` (an Effect) for counts, ``risk_ratio``
        (an Effect) for a binary difference, ``outcome_sd`` (pooled within-group
        SD of the outcome), ``kaplan_meier`` (DataFrame) and ``se_model`` for
        time, ``bootstrap`` draws when bootstrapped.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    n_treated: int
    n_control: int
    method: str
    kind: str
    outcome: str
    scale: str
    mean_treated: float
    mean_control: float
    alpha: float = 0.05
    details: dict = field(default_factory=dict, compare=False, repr=False)
    estimand: str = "ATT"

    def __iter__(self):
        # unpacking gives (estimate, p_value) only, so fields can be added later
        return iter((self.estimate, self.p_value))

    def to_dict(self) -> dict:
        keys = (
            "estimate",
            "se",
            "ci_low",
            "ci_high",
            "p_value",
            "n_treated",
            "n_control",
            "method",
            "kind",
            "outcome",
            "scale",
            "mean_treated",
            "mean_control",
            "alpha",
            "estimand",
        )
        out = {k: getattr(self, k) for k in keys}
        for k, v in out.items():
            if isinstance(v, (np.floating, np.integer)):
                out[k] = v.item()
        for k in ("difference", "risk_ratio"):
            if k in self.details:
                out[k] = self.details[k].to_dict()
        out["statement"] = self.statement()
        return out

    def to_frame(self) -> pd.DataFrame:
        d = self.to_dict()
        d.pop("difference", None)
        d.pop("risk_ratio", None)
        return pd.DataFrame([d])

    def summary(self) -> str:
        return self.statement() + f"\n  method: {self.method}"

    def statement(self) -> str:
        """The result in plain English, with its CI, p-value and n."""
        pct = f"{round((1 - self.alpha) * 100)}% CI"
        tail = f"{p_phrase(self.p_value)}; {count(self.n_treated)} treated, {count(self.n_control)} comparison"
        if self.scale == "difference":
            if self.kind == "binary":
                e, lo, hi = (100 * v for v in (self.estimate, self.ci_low, self.ci_high))
                what, unit, fmt = f"The {self.outcome} rate was", " percentage points", _points
            else:
                e, lo, hi = self.estimate, self.ci_low, self.ci_high
                what, unit, fmt = f"The mean {self.outcome} was", "", _number
            return (
                f"{what} {fmt(abs(e))}{unit} {_direction(e)} for the treated group than for "
                f"the comparison group ({pct}: {fmt(abs(lo))} {_direction(lo)} to "
                f"{fmt(abs(hi))} {_direction(hi)}; {tail})."
            )
        label = {
            "rate ratio": f"the rate of {self.outcome}",
            "risk ratio": f"the risk of {self.outcome}",
            "odds ratio": f"the odds of {self.outcome}",
            "hazard ratio": f"the hazard (risk at any moment) of {self.outcome}",
        }[self.scale]
        change = (self.estimate - 1) * 100
        return (
            f"For the treated group {label} was {abs(change):.1f}% {_direction(change)} than "
            f"for the comparison group ({self.scale} {self.estimate:.3f}, {pct} "
            f"{self.ci_low:.3f} to {self.ci_high:.3f}; {tail})."
        )


def _direction(v: float) -> str:
    return "lower" if v < 0 else "higher"


def _points(v: float) -> str:
    return f"{v:.1f}"


def _number(v: float) -> str:
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.2f}" if v >= 1 else f"{v:.3g}"


@dataclass(frozen=True)
class VariancePool:
    """Where the Abadie-Imbens variance finds each matched unit's same-group neighbours:
    every unit that could have been matched (R's ``Matching`` searches the whole sample).

    Attributes
    ----------
    data : pandas.DataFrame
        The units (their outcomes are read from it).
    points : numpy.ndarray
        Their matching variables, scaled to unit SD (one column per dimension).
    treated : bool array
    rows : int array
        Position in ``data`` of each row of the analysis sample.
    units : int array
        Position of each unit in the caller's table (for messages).
    neighbours : int
        J, the same-group neighbours per unit (0: one variance for everyone).
    score_neighbours : ScoreNeighbours or None
        With a logistic propensity score estimated by desist, for the Abadie-Imbens
        (2016) adjustment: each unit's fitted probability of being focal and the
        units nearest it in that score (found on first use, and shared by every
        outcome's adjustment) ...
    design : numpy.ndarray or None
        ... the model's design matrix (with the intercept) ...
    score_covariance : numpy.ndarray or None
        ... and the covariance of its coefficients (the inverse information).
    ratio : int
        M, the matches each focal unit was given.
    adjust_score : bool
        Whether to add the adjustment for the estimated score.
    """

    data: pd.DataFrame
    points: np.ndarray
    treated: np.ndarray
    rows: np.ndarray
    units: np.ndarray
    neighbours: int
    score_neighbours: ScoreNeighbours | None = None
    design: np.ndarray | None = None
    score_covariance: np.ndarray | None = None
    ratio: int = 1
    adjust_score: bool = True


@dataclass(frozen=True)
class AnalysisSample:
    """The rows an effect is estimated on.

    Attributes
    ----------
    data : pandas.DataFrame
        One row per analysis row (a unit may appear once per matched set it
        serves when the sample is stacked for two-way clustering).
    treated : bool array
    weights : array
    focal : bool array
        Rows whose covariates define the population the effect is about.
    sets : array or None
        Matched set (cluster) of each row.
    units : array or None
        Unit of each row (for two-way clustering).
    matches : tuple of (focal rows, matched rows) or None
        The matched pairs, in row positions of ``data``, for the Abadie-Imbens
        variance; with ``pool``, where it finds outcome variances.
    estimand : str
    design : str
        "matched", "unmatched" or "weighted" (words for the method text).
    """

    data: pd.DataFrame
    treated: np.ndarray
    weights: np.ndarray
    focal: np.ndarray
    sets: np.ndarray | None = None
    units: np.ndarray | None = None
    matches: tuple | None = None
    pool: VariancePool | None = None
    estimand: str = "ATT"
    design: str = "matched"


def compare(
    data: pd.DataFrame,
    treatment: str,
    outcome: str,
    kind: str = "mean",
    *,
    scale: str | None = None,
    covariates: list[str] | str | None = None,
    weights: str | np.ndarray | None = None,
    duration: str | None = None,
    event: str | None = None,
    se: str = "hc3",
    alpha: float = 0.05,
    draws: int = 999,
    seed: int | None = None,
) -> Effect:
    """Two-group comparison without matching (a randomised trial, or a weighted
    comparison), optionally adjusted for covariates.

    Parameters
    ----------
    data : pandas.DataFrame
    treatment : str
        0/1 or bool column.
    outcome : str
        Outcome column (for ``kind="time"`` the duration if ``duration`` is None).
    kind : {"mean", "binary", "count", "time"}
    scale : str, optional
        See :data:`SCALES`; binary: "difference" (default), "risk ratio", "odds ratio".
    covariates : str or list of str, optional
        Adjust for these (categoricals get treatment contrasts); the effect is
        averaged over everyone (the ATE).
    weights : str or array, optional
        Column name or array of non-negative weights (e.g. inverse-probability weights).
    duration, event : str, optional
        For ``kind="time"``: follow-up time and event (1 = event, 0 = censored).
    se : {"hc3", "bootstrap"}, default "hc3"
        HC3 for least squares (HC0 for the GLMs, per-unit robust for Cox), or a
        bootstrap over units.
    alpha : float, default 0.05
        The CI is at ``1 - alpha``.
    draws, seed
        Bootstrap draws and seed.

    Returns
    -------
    Effect

    Examples
    --------
    >>> df = pd.DataFrame({"t": [1, 1, 1, 0, 0, 0], "y": [3.0, 4.0, 5.0, 1.0, 2.0, 3.0]})
    >>> e = compare(df, "t", "y")
    >>> round(e.estimate, 6), e.scale
    (2.0, 'difference')
    """
    check_parameter(se, "se", "compare", Options("hc3", "bootstrap"))
    if isinstance(weights, str):
        require_columns(data, [weights], table="data", complete=True)
        w = data[weights].to_numpy(dtype=float)
    elif weights is None:
        w = np.ones(len(data))
    else:
        w = np.asarray(weights, dtype=float)
    if w.ndim != 1 or len(w) != len(data) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise parameter_error("weights", "compare", f"finite, non-negative and one per row ({len(data)} rows)", weights)
    treated = treatment_indicator(data, treatment)
    sample = AnalysisSample(
        data, treated, w, np.ones(len(data), dtype=bool), units=np.arange(len(data)), estimand="ATE",
        design="unmatched" if weights is None else "weighted",
    )  # fmt: skip
    return estimate_effect(
        sample, outcome, kind=kind, scale=scale, covariates=covariates, se=se, duration=duration, event=event,
        alpha=alpha, draws=draws, seed=seed, caller="compare",
    )  # fmt: skip


def check_effect_options(kind: str, event: str | None, caller: str) -> None:
    """The outcome's kind, and the event column a time-to-event outcome needs: what an effect checks first.

    A command calls it before a long matching, so a wrong option is reported at once.

    Parameters
    ----------
    kind : {"mean", "binary", "count", "time"}
    event : str or None
        The 0/1 event column; required when ``kind="time"``.
    caller : str
        The function (or command) that was given them, as the message names it.

    Examples
    --------
    >>> check_effect_options("time", None, "effect")
    Traceback (most recent call last):
    ...
    ground.errors.ParameterError: The 'event' parameter of effect must be the 0/1 column saying whether the event \
(e.g. a proven reoffence) happened when kind='time' (0 = censored at the duration). Got None instead.
    """
    check_parameter(kind, "kind", caller, Options(*KINDS))
    if kind == "time" and event is None:
        raise parameter_error(
            "event", caller, "the 0/1 column saying whether the event (e.g. a proven reoffence) happened "
            "when kind='time' (0 = censored at the duration)", event,
        )  # fmt: skip


def estimate_effect(
    sample: AnalysisSample,
    outcome: str,
    *,
    kind: str = "mean",
    scale: str | None = None,
    covariates: list[str] | str | None = None,
    se: str = "cluster",
    duration: str | None = None,
    event: str | None = None,
    alpha: float = 0.05,
    draws: int = 999,
    seed: int | None = None,
    caller: str = "effect",
    variance_matches: int | None = None,
    score_adjustment: bool = True,
) -> Effect:
    """Shared engine of :func:`compare` and ``MatchedComparison.effect``: checks the
    arguments and the outcome, fits the estimator, and attaches its variance."""
    check_effect_options(kind, event, caller)
    scale = _scale(kind, scale, caller)
    check_parameter(se, "se", caller, Options(*VARIANCES))
    check_parameter(alpha, "alpha", caller, _OPEN_UNIT)
    if se == "bootstrap":
        check_parameter(draws, "draws", caller, Interval(int, 99, None))
    check_parameter(variance_matches, "variance_matches", caller, Options(None), Interval(int, 0, None))
    check_parameter(score_adjustment, "score_adjustment", caller, Options(True, False))
    if sample.pool is not None:
        j = sample.pool.neighbours if variance_matches is None else variance_matches
        sample = replace(sample, pool=replace(sample.pool, neighbours=j, adjust_score=score_adjustment))
    covariates = column_names(covariates, "covariates", caller)
    t = np.asarray(sample.treated, dtype=bool)
    n_t, n_c = int(t.sum()), int((~t).sum())
    if n_t < 2 or n_c < 2:
        raise ModelError(
            f"An effect with a standard error needs at least 2 units in each group; got {n_t} treated and "
            f"{n_c} comparison unit(s)."
        )
    if kind == "time":
        return _time_effect(sample, outcome, duration, event, covariates, se, alpha, caller)
    require_columns(sample.data, [outcome] + covariates, table="data", complete=True)
    check_covariate_values(sample.data, covariates)
    y = _outcome_values(sample.data, outcome, kind, sample.units)
    Z = _covariate_matrix(sample.data, covariates)
    if se == "abadie_imbens" and (Z is not None or scale != "difference" or sample.matches is None):
        raise parameter_error(
            "se", caller, "'cluster', 'two_way', 'hc3' or 'bootstrap' here: 'abadie_imbens' is for an unadjusted "
            "difference from a matched comparison", se,
        )  # fmt: skip
    return _effect(sample, y, Z, kind, scale, se, outcome, alpha, draws, seed)


_OPEN_UNIT = Interval(float, 0, 1, closed="neither")


def _scale(kind: str, scale: str | None, caller: str) -> str:
    if scale is None:
        return SCALES[kind][0]
    words = scale.replace("_", " ") if isinstance(scale, str) else scale
    check_parameter(words, "scale", caller, Options(*SCALES[kind]))
    return words


def _outcome_values(data: pd.DataFrame, outcome: str, kind: str, positions: np.ndarray | None) -> np.ndarray:
    """The outcome as floats, refusing text, infinities, overflowing and constant outcomes.
    ``positions``: each row's position in the caller's table, so messages name its rows."""
    y = pd.to_numeric(data[outcome], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    where = np.arange(len(y)) if positions is None else np.asarray(positions)
    bad = np.flatnonzero(~(np.abs(y) <= TOO_LARGE))
    if bad.size:
        raise ModelError(
            f"The outcome {outcome!r} must hold numbers (finite, at most {TOO_LARGE:g} in magnitude) "
            f"for kind={kind!r}; {bad.size} row(s) do not: {rows_text(where[bad], data[outcome].iloc[bad].tolist())}."
        )
    if np.all(y == y[0]):
        raise ModelError(
            f"The outcome {outcome!r} takes one value ({y[0]:g}) for everyone in the sample, so there is no "
            "effect to estimate and no standard error: check the column."
        )
    if kind == "count" and np.any(y < 0):
        rows = np.flatnonzero(y < 0)
        raise ModelError(
            f"kind='count' needs non-negative counts in {outcome!r}; {rows_text(where[rows], y[rows].tolist())}."
        )
    if kind == "binary" and not np.all((y == 0) | (y == 1)):
        rows = np.flatnonzero((y != 0) & (y != 1))
        raise ModelError(
            f"kind='binary' needs a 0/1 outcome; {outcome!r} has {rows_text(where[rows], y[rows].tolist())}."
        )
    return y


def _covariate_matrix(data: pd.DataFrame, covariates: list[str]) -> np.ndarray | None:
    if not covariates:
        return None
    return DesignMatrix.from_data(data, covariates).full()[:, 1:]


@dataclass
class _Estimate:
    """An estimate on its estimation scale (log for ratios) and its influence contributions."""

    value: float
    phi: np.ndarray
    leverage: np.ndarray | None
    n_params: int
    linear: bool
    means: tuple[float, float]


def _fit(kind, scale, y, t, w, Z, focal) -> _Estimate:
    if scale == "difference" and (kind != "binary" or Z is None):
        return _least_squares(y, t, w, Z, focal)
    family = "poisson" if kind == "count" else "logistic"
    contrast = {"difference": "difference", "risk ratio": "log ratio", "rate ratio": "log ratio"}.get(
        scale, "log odds ratio"
    )
    return _glm_contrast(y, t, w, Z, focal, family, contrast)


def _effect(sample, y, Z, kind, scale, se, outcome, alpha, draws, seed) -> Effect:
    t, w = np.asarray(sample.treated, dtype=bool), np.asarray(sample.weights, dtype=float)
    est = _fit(kind, scale, y, t, w, Z, sample.focal)
    details: dict[str, object] = {"outcome_sd": _pooled_sd(y, t, w)}
    if se == "bootstrap":
        var, how, ci, details["bootstrap"] = _bootstrap(sample, y, Z, kind, scale, est.value, alpha, draws, seed)
    elif se == "abadie_imbens":
        est.value, var, how = _abadie_imbens(sample, y, outcome, kind)
        ci = None
    else:
        var, how = _sandwich(est, sample, se)
        ci = None
    if se in ("abadie_imbens", "cluster") and scale == "difference" and Z is None and _score_estimated(sample):
        var, how = _with_score_adjustment(sample, y, outcome, kind, est.value, var, how)
    effect = _result(est, var, how, ci, sample, kind, scale, outcome, alpha, details, Z is not None)
    if kind == "count":
        details["difference"] = _effect(sample, y, Z, "mean", "difference", se, outcome, alpha, draws, seed)
    if kind == "binary" and scale == "difference" and se != "bootstrap":
        rr = "cluster" if se == "abadie_imbens" and sample.sets is not None else se
        rr = "hc3" if rr == "abadie_imbens" else rr
        details["risk_ratio"] = _effect(sample, y, Z, kind, "risk ratio", rr, outcome, alpha, draws, seed)
    return effect


def _pool_outcomes(pool: VariancePool, outcome: str, kind: str) -> np.ndarray:
    return _outcome_values(pool.data, outcome, kind, pool.units)


def _abadie_imbens(sample: AnalysisSample, y: np.ndarray, outcome: str, kind: str) -> tuple[float, float, str]:
    """Abadie and Imbens' (2006) estimate and variance, with each matched unit's outcome variance from
    its J nearest units of the same group in the whole sample (J = 0: one variance for everyone)."""
    pool, matches = sample.pool, sample.matches
    if matches is None:
        raise ModelError("The Abadie-Imbens variance is for a matched comparison: this sample has no matched sets.")
    focal, matched = matches
    j = 0 if pool is None else pool.neighbours
    sigma2 = None
    words = "one outcome variance for everyone (as R's Matching with Var.calc = 0)"
    if pool is not None and j > 0:
        need = pool.rows[np.unique(matched)]
        s2 = within_group_variance(_pool_outcomes(pool, outcome, kind), pool.points, pool.treated, j, rows=need)
        if not np.all(np.isfinite(s2[need])):
            raise ModelError(
                f"The Abadie-Imbens variance needs more than {j} unit(s) in each group to estimate outcome "
                "variances: give a smaller variance_matches (0 assumes one variance for everyone)."
            )
        sigma2 = s2[pool.rows]
        words = (
            f"outcome variances from each unit's {j} nearest of its group in the whole sample (as R's Matching "
            f"with Var.calc = {j})"
        )
    value, var = abadie_imbens_variance(y, focal, matched, sample.estimand != "ATC", sigma2)
    return value, var, f"Abadie-Imbens (population effect; {words})"


def _score_estimated(sample: AnalysisSample) -> bool:
    pool = sample.pool
    return pool is not None and pool.adjust_score and pool.score_neighbours is not None and sample.matches is not None


def _with_score_adjustment(sample, y, outcome, kind, value, var, how) -> tuple[float, str]:
    """Add Abadie and Imbens' (2016) term for matching on an estimated logistic score."""
    pool = sample.pool
    y_pool = _pool_outcomes(pool, outcome, kind)
    focal, matched = (pool.rows[r] for r in sample.matches)
    sign = 1.0 if sample.estimand != "ATC" else -1.0
    near = pool.score_neighbours
    extra = estimated_score_adjustment(
        y_pool, pool.design, near.score, pool.score_covariance, near.focal, focal, matched, sign * value, pool.ratio,
        neighbours=near,
    )  # fmt: skip
    if var + extra <= 0:
        return var, how + "; not adjusted for the estimated propensity score (the adjustment exceeded the variance)"
    return var + extra, how + "; adjusted for the estimated propensity score (Abadie and Imbens 2016)"


def _sandwich(est: _Estimate, sample: AnalysisSample, se: str) -> tuple[float, str]:
    if se in ("cluster", "two_way") and sample.sets is None:
        se = "hc3"
    how = se if (se != "hc3" or est.linear) else "hc0"
    var = cluster_variance(
        est.phi, how, sets=sample.sets, units=sample.units, leverage=est.leverage, n_params=est.n_params,
        linear=est.linear,
    )  # fmt: skip
    words = {
        "cluster": "clustered on matched set" + (" (HC1, as sandwich::vcovCL)" if est.linear else ""),
        "two_way": "two-way clustered on matched set and unit (as sandwich::vcovCL)",
        "hc3": "HC3 robust",
        "hc0": "robust (HC0)",
    }[how]
    return var, words


def _result(est, var, how, ci, sample, kind, scale, outcome, alpha, details, adjusted) -> Effect:
    t = np.asarray(sample.treated, dtype=bool)
    se = math.sqrt(var) if var > 0 else math.nan
    if not math.isfinite(se):
        raise ModelError(
            f"The standard error of the effect on {outcome!r} cannot be estimated ({how} variance {var:.3g}): "
            "too few matched sets or too little variation; try se='hc3' or a larger sample."
        )
    df = len(t) - est.n_params if est.linear and ci is None and "Abadie" not in how else math.inf
    q = float(special.stdtrit(df, 1 - alpha / 2)) if math.isfinite(df) else float(special.ndtri(1 - alpha / 2))
    z = est.value / se
    p = float(2 * (special.stdtr(df, -abs(z)) if math.isfinite(df) else special.ndtr(-abs(z))))
    lo, hi = ci if ci is not None else (est.value - q * se, est.value + q * se)
    ratio = scale != "difference"
    value, lo, hi = (math.exp(v) for v in (est.value, lo, hi)) if ratio else (est.value, lo, hi)
    model = _model_words(kind, scale, outcome, adjusted)
    interval = "percentile bootstrap CI" if ci is not None else (f"t({df:g}) CI" if math.isfinite(df) else "normal CI")
    units = sample.units if sample.units is not None else np.arange(len(t))
    return Effect(
        estimate=float(value), se=se, ci_low=float(lo), ci_high=float(hi), p_value=p,
        n_treated=int(len(np.unique(units[t]))), n_control=int(len(np.unique(units[~t]))),
        method=f"{model}; SE{' of log ' + scale if ratio else ''} {how}; {interval}", kind=kind, outcome=outcome,
        scale=scale, mean_treated=est.means[0], mean_control=est.means[1], alpha=alpha, details=details,
        estimand=sample.estimand,
    )  # fmt: skip


def _model_words(kind: str, scale: str, outcome: str, adjusted: bool) -> str:
    if scale == "difference" and (kind != "binary" or not adjusted):
        model = f"weighted least squares of {outcome} on treatment"
    elif kind == "count":
        model = f"weighted Poisson GLM (log link) of {outcome} on treatment"
    else:
        model = f"weighted logistic regression of {outcome} on treatment"
    if adjusted:
        model += " interacted with the covariates (g-computation over the focal units)"
    return model


def _pooled_sd(y: np.ndarray, t: np.ndarray, w: np.ndarray) -> float:
    """Pooled within-group SD of the outcome (weighted), for standardising a difference."""
    var = []
    for g in (t, ~t):
        wg, yg = w[g], y[g]
        m = np.sum(wg * yg) / wg.sum()
        var.append(np.sum(wg * (yg - m) ** 2) / wg.sum())
    return float(math.sqrt((var[0] + var[1]) / 2))


def _weighted_means(y, t, w) -> tuple[float, float]:
    return float(np.sum((w * y)[t]) / np.sum(w[t])), float(np.sum((w * y)[~t]) / np.sum(w[~t]))


class _Design:
    """``[1, t]``, or ``[1, t, Z - m, t (Z - m)]`` with ``m`` the focal units' weighted
    covariate means, for any treatment values ``t``. Covariate and interaction columns
    that add nothing (constant in the sample, or combinations of earlier columns) are
    left out, as R's ``lm`` aliases them."""

    def __init__(self, t: np.ndarray, Z: np.ndarray | None, w: np.ndarray, focal: np.ndarray):
        self.Zc = None
        if Z is not None:
            wf = w * focal
            Zc = Z - (wf @ Z) / wf.sum()
            tf = t.astype(float)
            main = _independent_columns(np.column_stack([np.ones(len(t)), tf, Zc]), w)
            self.Zc = Zc[:, main]
            both = np.column_stack([np.ones(len(t)), tf, self.Zc, tf[:, None] * self.Zc])
            kept, k = _independent_columns(both, w), self.Zc.shape[1]
            self.inter = kept[kept >= k] - k

    def matrix(self, t: np.ndarray) -> np.ndarray:
        tf = np.broadcast_to(np.asarray(t, dtype=float), (len(self.Zc) if self.Zc is not None else len(t),))
        if self.Zc is None:
            return np.column_stack([np.ones(len(tf)), tf])
        return np.column_stack([np.ones(len(tf)), tf, self.Zc, (tf[:, None] * self.Zc)[:, self.inter]])


def _independent_columns(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Positions (beyond the first two, which are kept) of the columns of ``X`` after 2 that
    are not combinations of earlier ones, in order; returned as positions minus 2."""
    Xw = X * np.sqrt(w)[:, None]
    keep = list(range(2))
    for j in range(2, X.shape[1]):
        col = Xw[:, j]
        norm = np.linalg.norm(col)
        if norm == 0:
            continue
        basis = Xw[:, keep]
        resid = col - basis @ np.linalg.lstsq(basis, col, rcond=None)[0]
        if np.linalg.norm(resid) > 1e-7 * norm:
            keep.append(j)
    return np.asarray(keep[2:], dtype=np.int64) - 2


def _least_squares(y, t, w, Z, focal) -> _Estimate:
    X = _Design(t, Z, w, focal).matrix(t)
    A = (X.T * w) @ X
    cho = linalg.cho_factor(A)
    beta = linalg.cho_solve(cho, (X.T * w) @ y)
    e = y - X @ beta
    inverse = linalg.cho_solve(cho, np.eye(len(beta)))
    XA = X @ inverse
    phi = XA[:, 1] * w * e
    leverage = w * np.einsum("ij,ij->i", XA, X)
    return _Estimate(float(beta[1]), phi, leverage, X.shape[1], True, _weighted_means(y, t, w))


def _irls(y, X, w, family) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted GLM with canonical link by Newton's method: coefficients, fitted means, bread X'WVX."""
    mean = np.sum(w * y) / w.sum()
    beta = np.zeros(X.shape[1])
    beta[0] = math.log(mean / (1 - mean)) if family == "logistic" else math.log(mean)
    for _ in range(100):
        eta = X @ beta
        mu = special.expit(eta) if family == "logistic" else np.exp(eta)
        v = mu * (1 - mu) if family == "logistic" else mu
        A = (X.T * (w * v)) @ X
        step = np.linalg.lstsq(A, X.T @ (w * (y - mu)), rcond=None)[0]
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            eta = X @ beta
            mu = special.expit(eta) if family == "logistic" else np.exp(eta)
            v = mu * (1 - mu) if family == "logistic" else mu
            return beta, mu, (X.T * (w * v)) @ X
    raise ModelError(
        f"The {family} outcome model did not converge (an outcome that one group never or always has, "
        "within some covariate pattern?): report the difference scale, or adjust for fewer covariates."
    )


def _glm_contrast(y, t, w, Z, focal, family, contrast) -> _Estimate:
    design = _Design(t, Z, w, focal)
    X = design.matrix(t)
    beta, mu, A = _irls(y, X, w, family)
    wf = w * focal
    theta, grad = [], []
    for a in (1.0, 0.0):
        Xa = design.matrix(np.full(len(t), a))
        m = special.expit(Xa @ beta) if family == "logistic" else np.exp(Xa @ beta)
        d = m * (1 - m) if family == "logistic" else m
        theta.append(float(wf @ m / wf.sum()))
        grad.append((Xa.T @ (wf * d)) / wf.sum())
    (t1, t0), (g1, g0) = theta, grad
    if contrast == "difference":
        value, g = t1 - t0, g1 - g0
    elif min(t1, t0) <= 0 or (contrast == "log odds ratio" and max(t1, t0) >= 1):
        raise ModelError(
            f"A {'ratio' if contrast == 'log ratio' else 'odds ratio'} needs outcomes in both groups "
            f"(marginal means {t1:.3g} treated, {t0:.3g} comparison): report the difference instead."
        )
    elif contrast == "log ratio":
        value, g = math.log(t1 / t0), g1 / t1 - g0 / t0
    else:
        value = math.log(t1 / (1 - t1)) - math.log(t0 / (1 - t0))
        g = g1 / (t1 * (1 - t1)) - g0 / (t0 * (1 - t0))
    phi = (X @ np.linalg.lstsq(A, g, rcond=None)[0]) * w * (y - mu)
    return _Estimate(value, phi, None, X.shape[1], False, (t1, t0))


def _bootstrap(sample, y, Z, kind, scale, value, alpha, draws, seed):
    """Resample matched sets (or units) with replacement and refit the whole estimator:
    the variance of the draws and their percentile interval (on the estimation scale)."""
    groups = sample.sets if sample.sets is not None else sample.units
    codes, uniques = pd.factorize(np.asarray(groups))
    n_groups = len(uniques)
    rng = np.random.default_rng(seed)
    t, w, focal = np.asarray(sample.treated, dtype=bool), np.asarray(sample.weights, dtype=float), sample.focal
    values = []
    for _ in range(draws):
        times = np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups)[codes]
        keep = times > 0
        if np.count_nonzero(keep & t) < 2 or np.count_nonzero(keep & ~t) < 2:
            continue
        try:
            est = _fit(kind, scale, y[keep], t[keep], (w * times)[keep], None if Z is None else Z[keep], focal[keep])
        except (ModelError, linalg.LinAlgError):
            continue
        values.append(est.value)
    values = np.asarray(values)
    if len(values) < 0.9 * draws:
        raise ModelError(
            f"Only {len(values)} of {draws} bootstrap resamples gave an estimate (the others lacked a group or "
            "an outcome): use an analytic standard error."
        )
    ci = tuple(np.quantile(values, [alpha / 2, 1 - alpha / 2]))
    what = "matched sets" if sample.sets is not None else "units"
    how = f"bootstrap ({len(values)} resamples of {n_groups} {what}, seed {seed})"
    return float(values.var(ddof=1)), how, ci, values


def _time_effect(sample, outcome, duration, event, covariates, se, alpha, caller) -> Effect:
    duration = duration or outcome
    if se in ("abadie_imbens", "bootstrap"):
        raise parameter_error("se", caller, "'cluster', 'two_way' or 'hc3' when kind='time'", se)
    data = sample.data
    require_columns(data, [duration, event] + covariates, table="data", complete=True)
    check_covariate_values(data, [duration] + covariates)
    time, status = data[duration].to_numpy(dtype=float), data[event].to_numpy(dtype=float)
    bad = np.flatnonzero((time < 0) | ~((status == 0) | (status == 1)))
    if bad.size:
        raise ModelError(
            f"kind='time' needs durations >= 0 in {duration!r} and a 0/1 {event!r}; {rows_text(bad)} do not."
        )
    if not status.any():
        raise ModelError(f"kind='time' needs at least one event in {event!r}; everyone is censored.")
    t, w = np.asarray(sample.treated, dtype=bool), np.asarray(sample.weights, dtype=float)
    Z = _covariate_matrix(data, covariates)
    X = t[:, None].astype(float) if Z is None else np.column_stack([t.astype(float), Z])
    params, cov_model = cox_fit(time, status, X, None if np.all(w == w[0]) else w)
    phi = ((efron_score_residuals(time, status, X, params, w) * w[:, None]) @ cov_model)[:, 0]
    if se in ("cluster", "two_way") and sample.sets is None:
        se = "hc3"
    how = {"cluster": "clustered on matched set", "two_way": "two-way clustered on matched set and unit"}.get(
        se, "robust (per unit)"
    )
    var = cluster_variance(phi, "hc0" if se == "hc3" else se, sets=sample.sets, units=sample.units,
                           linear=False, cadjust=False)  # fmt: skip
    est = _Estimate(float(params[0]), phi, None, X.shape[1], False, _weighted_means(status, t, w))
    details = {
        "kaplan_meier": kaplan_meier(time, status, t, w),
        "se_model": float(math.sqrt(cov_model[0, 0])),
        "coef": float(params[0]),
        "covariate_params": params,
    }
    effect = _result(est, var, how, None, sample, "time", "hazard ratio", event, alpha, details, False)
    model = "Cox proportional hazards (Efron ties" + (", case weights" if not np.all(w == w[0]) else "") + ")"
    return _replace_method(effect, model + effect.method[effect.method.index(";") :])


def _replace_method(effect: Effect, method: str) -> Effect:
    return replace(effect, method=method)
