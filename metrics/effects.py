"""Effects of a programme on an outcome, with standard errors, CIs and n.

- ``kind="mean"`` / ``"binary"``: weighted least squares of the outcome on the
  treatment indicator (a difference in means, or in proportions). Standard
  errors clustered on the matched set (sandwich's ``vcovCL`` with its default
  HC1 adjustment G/(G-1) x (n-1)/(n-k)) when matching without replacement,
  HC3 otherwise; p-value and CI from the t distribution with the residual
  degrees of freedom (as ``lmtest::coeftest`` on an ``lm``), which is how the
  MatchIt vignette estimates the ATT.
- ``kind="count"``: rate ratio from a weighted Poisson GLM (log link) with
  cluster-robust (or HC0) sandwich standard errors as R's sandwich gives for a
  ``glm``, plus the difference in mean
  frequency (as ``kind="mean"``) in ``details["difference"]``.
- ``kind="time"``: hazard ratio from a Cox model (statsmodels ``PHReg``, Efron
  ties) with robust standard errors from Efron score residuals, as R's
  ``coxph(..., robust = TRUE)`` (clustered on the matched set, or per unit;
  see :mod:`metrics.survival`), and Kaplan-Meier curves per group in
  ``details["kaplan_meier"]``. Unequal weights (1:k matching, with replacement)
  use the same partial likelihood with R's case weighting (``PHReg`` has none).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg

from ground.checks import require_columns
from ground.errors import ModelError
from metrics.propensity import design_matrix, treatment_indicator
from metrics.survival import cox_fit, cox_robust_covariance, kaplan_meier

__all__ = ["Effect", "compare", "estimate_effect", "kaplan_meier"]

KINDS = ("mean", "binary", "count", "time")


@dataclass(frozen=True)
class Effect:
    """An estimated effect with its uncertainty.

    Attributes
    ----------
    estimate : float
        Difference (treated minus comparison) for mean/binary; rate ratio for
        count; hazard ratio for time.
    se : float
        Standard error of the estimate (of its log for ratios).
    ci_low, ci_high : float
        Confidence interval at ``level``.
    p_value : float
        Two-sided test of no effect.
    n_treated, n_control : int
        Units contributing to each group.
    method : str
        Model and variance estimator, in words.
    kind, outcome, scale : str
        Outcome type, outcome column, and "difference" / "rate ratio" / "hazard ratio".
    mean_treated, mean_control : float
        (Weighted) outcome mean per group (event proportion for time).
    level : float
        Confidence level.
    details : dict
        Extra results: ``difference`` (an Effect) for counts, ``kaplan_meier``
        (DataFrame) and ``se_model`` for time.
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
    level: float = 0.95
    details: dict = field(default_factory=dict, compare=False, repr=False)

    def __iter__(self):
        # unpacking gives (estimate, p_value) only, so fields can be added later
        return iter((self.estimate, self.p_value))

    def to_dict(self) -> dict:
        out = {
            k: getattr(self, k)
            for k in (
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
                "level",
            )
        }
        for k, v in out.items():
            if isinstance(v, (np.floating, np.integer)):
                out[k] = v.item()
        if "difference" in self.details:
            out["difference"] = self.details["difference"].to_dict()
        out["statement"] = self.statement()
        return out

    def to_frame(self) -> pd.DataFrame:
        d = self.to_dict()
        d.pop("difference", None)
        return pd.DataFrame([d])

    def summary(self) -> str:
        return self.statement()

    def statement(self) -> str:
        """The result in plain English, with its CI, p-value and n."""
        pct = f"{round(self.level * 100)}% CI"
        tail = f"p = {self.p_value:.2g}; {self.n_treated} treated, {self.n_control} comparison"
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


def compare(
    data: pd.DataFrame,
    treatment: str,
    outcome: str,
    kind: str = "mean",
    *,
    covariates: list[str] | None = None,
    weights: str | np.ndarray | None = None,
    duration: str | None = None,
    event: str | None = None,
    level: float = 0.95,
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
    covariates : list of str, optional
        Adjust for these (categoricals get treatment contrasts).
    weights : str or array, optional
        Column name or array of non-negative weights (e.g. inverse-probability weights).
    duration, event : str, optional
        For ``kind="time"``: follow-up time and event (1 = event, 0 = censored).

    Returns
    -------
    Effect
        Standard errors are robust (HC3 for mean/binary, HC0 for count,
        per-unit robust for time).

    Examples
    --------
    >>> e = compare(rossi, "fin", "week", kind="time", event="arrest",
    ...             covariates=["age", "race", "wexp", "mar", "paro", "prio"])  # doctest: +SKIP
    >>> e.estimate  # hazard ratio  # doctest: +SKIP
    """
    if isinstance(weights, str):
        require_columns(data, [weights], table="data", complete=True)
        w = data[weights].to_numpy(dtype=float)
    elif weights is None:
        w = np.ones(len(data))
    else:
        w = np.asarray(weights, dtype=float)
    if len(w) != len(data) or np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ModelError(
            "The 'weights' parameter of compare must be finite, non-negative and one "
            f"per row ({len(data)} rows). Got {len(w)} values, min {np.nanmin(w):g}."
        )
    return estimate_effect(
        data,
        treatment,
        outcome,
        kind=kind,
        weights=w,
        treated=treatment_indicator(data, treatment),
        clusters=None,
        duration=duration,
        event=event,
        covariates=covariates,
        design="unmatched",
        level=level,
    )


def estimate_effect(
    data,
    treatment,
    outcome,
    *,
    kind,
    weights,
    treated,
    clusters,
    duration=None,
    event=None,
    covariates=None,
    design="matched",
    level=0.95,
) -> Effect:
    """Shared engine of :func:`compare` and ``MatchedComparison.effect``.

    ``clusters`` (matched-set ids) switches to cluster-robust standard errors.
    """
    if kind not in KINDS:
        raise ModelError(f"The 'kind' parameter must be one of {KINDS}. Got {kind!r} instead.")
    t = np.asarray(treated, dtype=float)
    n_t, n_c = int((t == 1).sum()), int((t == 0).sum())
    if n_t == 0 or n_c == 0:
        raise ModelError(f"An effect needs both groups; got {n_t} treated and {n_c} comparison units.")
    covariates = list(covariates or [])
    if kind == "time":
        return _time_effect(data, outcome, t, weights, clusters, duration, event, covariates, n_t, n_c, level)
    require_columns(data, [outcome] + covariates, table="data", complete=True)
    y = pd.to_numeric(data[outcome], errors="coerce").to_numpy(dtype=float)
    if np.isnan(y).any():
        rows = np.flatnonzero(np.isnan(y))
        raise ModelError(
            f"The outcome {outcome!r} must be numeric (kind={kind!r}); rows {rows[:5].tolist()} "
            f"(0-based) hold {data[outcome].iloc[rows[:5]].tolist()}"
            + (f" and {rows.size - 5} more." if rows.size > 5 else ".")
        )
    X = _exog(data, t, covariates)
    if kind == "count":
        if np.any(y < 0):
            raise ModelError(
                f"kind='count' needs non-negative counts in {outcome!r}; found {int((y < 0).sum())} negative values."
            )
        return _count_effect(y, X, t, weights, clusters, outcome, n_t, n_c, level)
    if kind == "binary" and not np.all((y == 0) | (y == 1)):
        raise ModelError(
            f"kind='binary' needs a 0/1 outcome; {outcome!r} has {int(((y != 0) & (y != 1)).sum())} other values."
        )
    return _linear_effect(y, X, t, weights, clusters, outcome, kind, n_t, n_c, level)


def _exog(data, t, covariates):
    if not covariates:
        return np.column_stack([np.ones(len(t)), t])
    Xc, _, _ = design_matrix(data, covariates)
    # centre covariates so the treatment coefficient stays a group difference
    Xc = Xc[:, 1:] - Xc[:, 1:].mean(axis=0)
    return np.column_stack([np.ones(len(t)), t, Xc])


def _wmean(y, w, mask):
    return float(np.sum(y[mask] * w[mask]) / np.sum(w[mask]))


def _linear_effect(y, X, t, w, clusters, outcome, kind, n_t, n_c, level):
    model = sm.WLS(y, X, weights=w)
    if clusters is not None:
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": _codes(clusters)})
        how = "clustered on matched set (HC1, as sandwich::vcovCL)"
    else:
        fit = model.fit(cov_type="HC3")
        how = "HC3 robust"
    est, se = float(fit.params[1]), float(fit.bse[1])
    df = fit.df_resid
    q = stats.t.ppf(0.5 + level / 2, df)
    p = 2 * stats.t.sf(abs(est / se), df)
    return Effect(
        est,
        se,
        est - q * se,
        est + q * se,
        float(p),
        n_t,
        n_c,
        f"weighted least squares of {outcome} on treatment; SE {how}; t({df:g}) CI",
        kind,
        outcome,
        "difference",
        _wmean(y, w, t == 1),
        _wmean(y, w, t == 0),
        level,
    )


def _count_effect(y, X, t, w, clusters, outcome, n_t, n_c, level):
    fit = sm.GLM(y, X, family=sm.families.Poisson(), var_weights=w).fit()
    params = np.asarray(fit.params)
    cov, how = _poisson_sandwich(y, X, w, params, clusters)
    b, se = float(params[1]), float(np.sqrt(cov[1, 1]))
    z = stats.norm.ppf(0.5 + level / 2)
    p = 2 * stats.norm.sf(abs(b / se))
    difference = _linear_effect(y, X, t, w, clusters, outcome, "mean", n_t, n_c, level)
    return Effect(
        math.exp(b),
        se,
        math.exp(b - z * se),
        math.exp(b + z * se),
        float(p),
        n_t,
        n_c,
        f"weighted Poisson GLM (log link) of {outcome} on treatment; SE of log rate ratio {how}",
        "count",
        outcome,
        "rate ratio",
        _wmean(y, w, t == 1),
        _wmean(y, w, t == 0),
        level,
        {"difference": difference},
    )


def _poisson_sandwich(y, X, w, params, clusters):
    """Sandwich covariance of a weighted Poisson GLM, as R's sandwich package gives it
    for a ``glm``: ``vcovCL(fit, cluster = ~subclass)`` (HC1: only the G/(G-1)
    cluster adjustment) or ``vcovHC(fit, type = "HC0")``. Computed here because
    statsmodels' robust covariances are not fully supported with ``var_weights``."""
    mu = np.exp(X @ params)
    bread = np.linalg.inv((X.T * (w * mu)) @ X)
    scores = X * (w * (y - mu))[:, None]
    if clusters is None:
        meat = scores.T @ scores
        how = "robust (HC0, as sandwich::vcovHC)"
    else:
        g = _codes(clusters)
        n_groups = g.max() + 1
        sums = np.zeros((n_groups, X.shape[1]))
        np.add.at(sums, g, scores)
        meat = sums.T @ sums * n_groups / (n_groups - 1)
        how = "clustered on matched set (as sandwich::vcovCL)"
    return bread @ meat @ bread, how


def _time_effect(data, outcome, t, w, clusters, duration, event, covariates, n_t, n_c, level):
    duration = duration or outcome
    if event is None:
        raise ModelError(
            "kind='time' needs 'event': the 0/1 column saying whether the event "
            "(e.g. first proven reoffence) happened; 0 = censored at the duration."
        )
    require_columns(data, [duration, event] + covariates, table="data", complete=True)
    time = data[duration].to_numpy(dtype=float)
    status = data[event].to_numpy(dtype=float)
    if np.any(time < 0) or not np.all((status == 0) | (status == 1)):
        raise ModelError(f"kind='time' needs durations >= 0 in {duration!r} and a 0/1 {event!r}.")
    X = _exog(data, t, covariates)[:, 1:]
    if np.all(w == w[0]):
        fit = PHReg(time, X, status=status, ties="efron").fit()
        params, cov_model = np.asarray(fit.params), np.asarray(fit.cov_params())
        case_weights, engine = None, "statsmodels PHReg"
    else:
        # PHReg takes no case weights (1:k matching, or with replacement)
        params, cov_model = cox_fit(time, status, X, w)
        case_weights, engine = w, "weighted partial likelihood"
    cov = cox_robust_covariance(time, status, X, params, cov_model, groups=clusters, weights=case_weights)
    b, se = float(params[0]), float(np.sqrt(cov[0, 0]))
    z = stats.norm.ppf(0.5 + level / 2)
    p = 2 * stats.norm.sf(abs(b / se))
    how = "clustered on matched set" if clusters is not None else "robust (per unit)"
    km = kaplan_meier(time, status, t == 1, w)
    return Effect(
        math.exp(b),
        se,
        math.exp(b - z * se),
        math.exp(b + z * se),
        float(p),
        n_t,
        n_c,
        f"Cox proportional hazards ({engine}, Efron ties); SE of log hazard ratio {how}",
        "time",
        event,
        "hazard ratio",
        _wmean(status, w, t == 1),
        _wmean(status, w, t == 0),
        level,
        {"kaplan_meier": km, "se_model": float(np.sqrt(cov_model[0, 0])), "coef": b, "covariate_params": params},
    )


def _codes(clusters) -> np.ndarray:
    return pd.factorize(np.asarray(clusters))[0]
