"""Payment thresholds: does the observed change pay, and how often would it pay by chance?

Payment-by-results schemes turn an estimated change in reoffending into a yes/no
payment. The rule matters as much as the programme: a point-estimate rule on a
small cohort pays often when nothing changed, a confidence-bound rule rarely pays
for a real but modest change. Each rule here returns a :class:`ThresholdResult`:
met or not, the observed reduction with its 95% CI and n, the chance the rule is
met when the true effect is zero (false payment) and at a given true effect
(payment probability).

Rules
-----
All rules read a :class:`Contrast` (treated cohort against its comparison) and
look at a *reduction*, positive when the treated group does better:

* relative reduction ``1 - treated / comparison`` (a rate ratio for counts, a
  risk ratio for binary rates), tested on the log ratio;
* absolute reduction in percentage points ``comparison - treated`` (binary).

A :class:`PaymentRule` is met when the reduction (``alpha=None``: the point
estimate) or its one-sided lower confidence bound at ``1 - alpha`` is at
least ``at_least``. Built-in rules:

* :func:`peterborough_rule`: frequency of reconviction events at least 10% below
  the matched comparison for a cohort (point estimate); :func:`peterborough` adds
  the pooled rule: the weighted mean of the cohorts' reductions, weights = cohort
  sizes, at least 7.5% (Peterborough SIB: Anders and Dorsett, *HMP Peterborough
  Social Impact Bond: learning exercise*, 2017).
* :func:`doncaster`: binary proven reoffending rate at least ``points`` (default
  5) percentage points below a baseline period's rate (HMP Doncaster: Russell
  Webster, "Last of the automatic pilots: learning from the HMP Doncaster
  reoffending payment by results scheme").
* :func:`confident_reduction_rule`: a relative reduction of at least X with
  confidence ``1 - alpha`` (X = 0: a statistically significant reduction, as the
  CRC contracts used).
* :func:`point_estimate_rule`: the reduction's point estimate is at least X.

Baselines
---------
A baseline is one period's rate, measured on other people: :meth:`Contrast.against_baseline`
compares a cohort with it, after :func:`case_mix_baseline` has adjusted it for the
cohort's predicted risk when the baseline carries its own risk score.

Chances
-------
Analytic chances use a normal approximation to the estimator's sampling
distribution: the log ratio (relative rules) or the difference (points rules) is
``N(true value, se**2)``, so a rule met when ``estimate <= cut - z * se`` is met
with probability ``Phi((cut - z * se - true) / se)``. The standard error is taken
at the true effect when the comparison carries a variance model (binomial
rates; counts with a known negative binomial shape), scaled by the observed
design effect (observed over model variance, which carries clustering and
weights); otherwise the observed SE is used. ``metrics.payment_probability``
gives the same chances by simulating the whole matching-and-estimation pipeline.

Examples
--------
>>> from metrics.thresholds import Contrast, peterborough_rule
>>> c = Contrast.from_rates("frequency", treated_mean=1.42, n_treated=1_000,
...                           control_mean=1.55, n_control=10_000, dispersion=2.0)
>>> r = peterborough_rule().evaluate(c)
>>> r.met, round(r.observed, 3)
(False, 0.084)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Literal, TypeVar

import numpy as np
import pandas as pd

# scipy.special, not scipy.stats: the same normal functions without loading every distribution at start-up.
from scipy.special import ndtr, ndtri

from ground.checks import Interval, Options, check_parameter, parameter_error
from ground.tolerance import at_least, at_most
from metrics.power import Design, Measure

Scale = Literal["relative", "points"]
#: The test of a cohort against a baseline (:meth:`Contrast.against_baseline`).
BaselineTest = Literal["two_sample", "baseline_interval"]
#: Rates given to :func:`model_variances`: one pair, or arrays of them (the variances come back alike).
Rates = TypeVar("Rates", float, np.ndarray)
_ALPHA = 0.05  # the two-sided intervals shown beside a rule: 95%


@dataclass(frozen=True)
class Contrast:
    """A treated cohort's outcome against its comparison: what payment rules read.

    Attributes
    ----------
    measure : {"binary", "frequency"}
    treated_mean, control_mean : float
        Rates (binary) or mean counts per person (frequency).
    n_treated, n_control : float
        Group sizes; ``n_control`` may be ``inf`` for a fixed baseline.
    se_difference : float
        SE of ``treated_mean - control_mean``.
    se_log_ratio : float
        SE of ``log(treated_mean / control_mean)``.
    dispersion : float or None
        Frequency only: negative binomial shape ``k`` of the counts (``inf`` for
        Poisson), which lets chances use the SE at the true effect. ``None``
        keeps the observed SE.
    label : str
        A name for reports (e.g. ``"cohort 1"``).
    """

    measure: Measure
    treated_mean: float
    control_mean: float
    n_treated: float
    n_control: float
    se_difference: float
    se_log_ratio: float
    dispersion: float | None = None
    label: str = ""

    def __post_init__(self) -> None:
        Design(self.measure, self.control_mean)  # checks measure and the comparison rate
        if not self.treated_mean > 0:
            raise parameter_error("treated_mean", "Contrast", "> 0 (a ratio needs it)", self.treated_mean)
        for name in ("se_difference", "se_log_ratio"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise parameter_error(name, "Contrast", "a finite SE > 0", value)

    # Constructors -------------------------------------------------------------
    @classmethod
    def from_rates(
        cls,
        measure: Measure,
        treated_mean: float,
        n_treated: float,
        control_mean: float,
        n_control: float = math.inf,
        *,
        dispersion: float | None = None,
        design_effect: float = 1.0,
        label: str = "",
    ) -> Contrast:
        """Build from rates and sizes with model variances (binomial, or negative
        binomial with shape ``dispersion``; ``None`` means Poisson).

        ``n_control=inf`` is a fixed baseline without sampling error.
        """
        k = math.inf if (measure == "frequency" and dispersion is None) else dispersion
        var_d, var_l = model_variances(measure, treated_mean, control_mean, n_treated, n_control, k)
        return cls(
            measure,
            float(treated_mean),
            float(control_mean),
            float(n_treated),
            float(n_control),
            math.sqrt(design_effect * var_d),
            math.sqrt(design_effect * var_l),
            k,
            label,
        )

    @classmethod
    def from_outcomes(
        cls,
        treated: Sequence[float] | np.ndarray,
        control: Sequence[float] | np.ndarray,
        *,
        measure: Measure,
        control_weights: Sequence[float] | np.ndarray | None = None,
        dispersion: float | None = None,
        label: str = "",
    ) -> Contrast:
        """Build from per-person outcomes (0/1 or counts), with optional control weights.

        SEs are the robust (HC0) variances of the two means, the ones a weighted
        regression of the outcome on treatment gives without clustering. For a
        matched comparison prefer :meth:`from_effect`, whose SE accounts for the
        matched sets.
        """
        y_t = _outcome_array("treated", treated, measure, "Contrast.from_outcomes")
        y_c = _outcome_array("control", control, measure, "Contrast.from_outcomes")
        w = np.ones_like(y_c) if control_weights is None else np.asarray(control_weights, dtype=float)
        if w.shape != y_c.shape or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise parameter_error(
                "control_weights", "Contrast.from_outcomes", "finite, non-negative, not all zero and one per control",
                got=f"{w.size} weights for {y_c.size} controls",
            )  # fmt: skip
        m_t, m_c = y_t.mean(), np.average(y_c, weights=w)
        var_t = ((y_t - m_t) ** 2).sum() / y_t.size**2
        var_c = (w**2 * (y_c - m_c) ** 2).sum() / w.sum() ** 2
        n_c = w.sum() ** 2 / (w**2).sum()  # Kish effective size of the weighted controls
        return cls(
            measure,
            float(m_t),
            float(m_c),
            float(y_t.size),
            float(n_c),
            math.sqrt(var_t + var_c),
            math.sqrt(var_t / m_t**2 + var_c / m_c**2),
            dispersion,
            label,
        )

    @classmethod
    def against_baseline(
        cls,
        measure: Measure,
        treated_mean: float,
        n_treated: float,
        baseline_rate: float,
        n_baseline: float | None = None,
        *,
        test: BaselineTest = "two_sample",
        dispersion: float | None = None,
        label: str = "",
    ) -> Contrast:
        """A cohort against a baseline rate, with the test a contract names.

        ``test="two_sample"`` (default): the SE of the difference carries the
        cohort's sampling error and the baseline's, from its ``n_baseline``
        (none when ``n_baseline`` is None: a fixed target), as :meth:`from_rates`
        (a two-sample z test of proportions, or of means of negative binomial
        counts of shape ``dispersion``).

        ``test="baseline_interval"``: only the baseline's sampling error,
        ``se = sqrt(b (1 - b) / n_baseline)`` for a rate ``b`` (``b + b**2 / k``
        in place of ``b (1 - b)`` for counts): the cohort differs significantly
        when its rate falls outside the baseline's own confidence interval,
        ``b -/+ z se``. This is how the Ministry of Justice set each Community
        Rehabilitation Company's thresholds: from its 2011 baseline cohort
        (Ministry of Justice, *2011 Payment by Results (PbR) documents*, gov.uk:
        F15.03 "Methodology for the PbR re-offending baselines", steps 6-7
        "quarterly data aggregation" and "thresholds and termination points",
        and F15.05 "2011 PbR baselines and thresholds"). The log-ratio SE is
        the delta method's, ``se / b``.

        Examples
        --------
        >>> c = Contrast.against_baseline("binary", 0.45, 1_000, 0.475, 1_200, test="baseline_interval")
        >>> round(c.se_difference, 5) == round((0.475 * 0.525 / 1_200) ** 0.5, 5)
        True
        """
        if test == "two_sample":
            n_control = math.inf if n_baseline is None else n_baseline
            return cls.from_rates(
                measure, treated_mean, n_treated, baseline_rate, n_control, dispersion=dispersion, label=label
            )
        if test != "baseline_interval" or n_baseline is None or not n_baseline >= 1:
            raise parameter_error(
                "test", "Contrast.against_baseline", "'two_sample', or 'baseline_interval' with the baseline's "
                "n_baseline >= 1", got=f"{test!r} with n_baseline = {n_baseline!r}",
            )  # fmt: skip
        k = None if measure == "binary" else (math.inf if dispersion is None else dispersion)
        var_b = model_variances(measure, baseline_rate, baseline_rate, math.inf, n_baseline, k)[0]
        se = math.sqrt(var_b)
        return cls(
            measure, float(treated_mean), float(baseline_rate), float(n_treated), float(n_baseline), se,
            se / baseline_rate, k, label,
        )  # fmt: skip

    @classmethod
    def from_effect(cls, effect, *, dispersion: float | None = None, label: str = "") -> Contrast:
        """Build from a matched-comparison ``Effect`` (``MatchedComparison.effect``).

        Reads the treated and comparison means, the group sizes and the SEs the
        user sees: of the difference for ``kind="binary"``, of the log rate ratio
        (and of the difference in mean frequency) for ``kind="count"``. The log
        ratio SE of a binary effect scales the binomial model's by the observed
        design effect.
        """
        return _comparison_from_effect(cls, effect, dispersion, label)

    # Derived figures ----------------------------------------------------------
    @property
    def difference(self) -> float:
        """``treated_mean - control_mean``."""
        return self.treated_mean - self.control_mean

    @property
    def log_ratio(self) -> float:
        """``log(treated_mean / control_mean)``."""
        return math.log(self.treated_mean / self.control_mean)

    def estimate(self, scale: Scale) -> tuple[float, float]:
        """The statistic a rule tests and its SE: (log ratio, SE) or (difference, SE)."""
        return (self.log_ratio, self.se_log_ratio) if scale == "relative" else (self.difference, self.se_difference)

    def true_statistic(self, scale: Scale, true_effect: float | None) -> float:
        """The true value of the statistic on ``scale`` at ``true_effect`` (``None``: no effect)."""
        if true_effect is None:
            return 0.0
        rate_t = self.control_mean + true_effect if self.measure == "binary" else self.control_mean * true_effect
        if rate_t <= 0 or (self.measure == "binary" and rate_t >= 1):
            must = (
                "a difference in rates (binary) or a rate ratio (frequency) that keeps the treated rate possible "
                f"for a {self.measure} measure against a comparison rate of {self.control_mean!r}"
            )
            raise parameter_error("true_effect", "Contrast", must, true_effect, advice=f"It puts it at {rate_t!r}.")
        return math.log(rate_t / self.control_mean) if scale == "relative" else rate_t - self.control_mean

    def has_variance_model(self) -> bool:
        """Whether SEs can be recomputed at another true effect."""
        return self.measure == "binary" or self.dispersion is not None

    def se_at(self, scale: Scale, true_value: float) -> float:
        """SE of the statistic on ``scale`` when its true value is ``true_value``.

        The comparison rate stays at ``control_mean``; the observed design effect
        (observed over model variance at the observed rates) is kept.
        """
        observed = self.estimate(scale)[1]
        if not self.has_variance_model():
            return observed
        k = self.dispersion
        model_obs = model_variances(
            self.measure, self.treated_mean, self.control_mean, self.n_treated, self.n_control, k
        )[scale == "relative"]
        rate_t = self.control_mean * math.exp(true_value) if scale == "relative" else self.control_mean + true_value
        if rate_t <= 0 or (self.measure == "binary" and rate_t >= 1):
            must = (
                f"a true effect on the {scale} scale that keeps the treated rate possible for a {self.measure} measure"
            )
            raise parameter_error("true_effect", "Contrast", must, true_value, advice=f"It puts it at {rate_t!r}.")
        model_true = model_variances(self.measure, rate_t, self.control_mean, self.n_treated, self.n_control, k)[
            scale == "relative"
        ]
        return observed * math.sqrt(model_true / model_obs)


def case_mix_baseline(
    rate: float,
    baseline_predicted: float,
    cohort_predicted: float,
    method: Literal["difference", "ratio"] = "difference",
    measure: Measure = "binary",
) -> float:
    """A baseline rate adjusted for a cohort's case mix, from the two cohorts' mean predicted rates.

    A baseline measured on other people is a fair target only for a cohort of
    the same risk. With ``b`` the baseline's observed rate, ``p_b`` its cohort's
    mean predicted rate (its own risk score) and ``p_c`` the mean predicted
    rate of the cohort being paid for, the adjusted baseline is

    * ``method="difference"``: ``b + (p_c - p_b)``: the cohort is expected to
      reoffend ``p_c - p_b`` more (or less) than the baseline cohort did;
    * ``method="ratio"``: ``b * p_c / p_b``: indirect standardisation, the
      baseline's observed-to-predicted ratio applied to the cohort's risk.

    The cohort's rate is then tested against ``b*`` as against any baseline
    (:meth:`Contrast.against_baseline`, at the stated ``alpha``). The two agree
    to first order when ``p_c`` is close to ``p_b``; the ratio keeps a rate
    positive for a low-risk cohort, the difference keeps percentage points.

    This is the Transforming Rehabilitation design: each Community
    Rehabilitation Company's binary rate "is subject to adjustment for changes in
    the case mix of offenders being supervised, using the Offender Group
    Reconviction Scale (OGRS), version 4/G3" before comparison with its 2011
    baseline, payment following a statistically significant reduction and a
    deduction a significant increase (Ministry of Justice, *Final proven
    reoffending statistics for Community Rehabilitation Companies and the National
    Probation Service*, Official Statistics, 27 October 2017 onward, section 1;
    *Guide to Proven Reoffending Statistics*, January 2019, section 2.2). The
    payment mechanism's own formula (Ministry of Justice, *2011 PbR documents*,
    F15.04, "Detailed points on the methodology and data for reoffending for the
    PbR payment mechanism") is not reproduced in any source found here, so a
    contract names its method.

    Parameters
    ----------
    rate : float
        The baseline's observed rate.
    baseline_predicted, cohort_predicted : float
        Mean predicted rates of the baseline cohort and of the cohort paid for.
    method : {"difference", "ratio"}
    measure : {"binary", "frequency"}
        A binary baseline must stay a rate in (0, 1).

    Raises
    ------
    ParameterError
        The adjusted rate is impossible (at or below 0; a binary rate at or above 1).

    Examples
    --------
    >>> round(case_mix_baseline(0.475, 0.46, 0.47), 4), round(case_mix_baseline(0.475, 0.46, 0.47, "ratio"), 4)
    (0.485, 0.4853)
    """
    check_parameter(method, "method", "case_mix_baseline", Options("difference", "ratio"))
    check_parameter(measure, "measure", "case_mix_baseline", Options("binary", "frequency"))
    for name, value in (
        ("rate", rate),
        ("baseline_predicted", baseline_predicted),
        ("cohort_predicted", cohort_predicted),
    ):
        check_parameter(value, name, "case_mix_baseline", Interval(float, 0, None, closed="neither"))
    adjusted = (
        rate + (cohort_predicted - baseline_predicted)
        if method == "difference"
        else rate * cohort_predicted / baseline_predicted
    )
    if adjusted <= 0 or (measure == "binary" and adjusted >= 1):
        raise parameter_error(
            "cohort_predicted", "case_mix_baseline", f"a predicted rate that keeps the adjusted baseline a possible "
            f"{measure} rate", cohort_predicted,
            advice=f"Adjusting the baseline rate {rate:g} for case mix ({method}: predicted {baseline_predicted:g} in "
            f"the baseline cohort) gives {adjusted:g}: check that the predicted rates are on the rate's scale (a "
            "share, not a percentage).",
        )  # fmt: skip
    return float(adjusted)


def _normal_density(x: np.ndarray, mean: float, sd: float) -> np.ndarray:
    """The normal density (scipy.stats loaded only when a pooled rule needs it)."""
    from scipy import stats

    return stats.norm.pdf(x, mean, sd)


def model_variances(
    measure: str, rate_t: Rates, rate_c: Rates, n_t: Rates | float, n_c: Rates | float, k: float | None
) -> tuple[Rates, Rates]:
    """Model variances of (difference, log ratio) of two means: binomial rates, or negative binomial counts of
    shape ``k`` (None or inf: Poisson). Vectorised over rates and sizes (``n_c = inf``: a fixed comparison).

    Parameters
    ----------
    measure : {"binary", "frequency"}
    rate_t, rate_c : float or ndarray
        The two means (treated, comparison).
    n_t, n_c : float or ndarray
        Their sizes.
    k : float or None
        Negative binomial shape of counts (ignored for a binary measure).

    Examples
    --------
    >>> d, log = model_variances("binary", 0.5, 0.5, 100, 100, None)
    >>> round(d, 4), round(log, 4)
    (0.005, 0.02)
    """
    if measure == "binary":
        var_t, var_c = rate_t * (1 - rate_t), rate_c * (1 - rate_c)
    else:
        extra = 0.0 if k is None or math.isinf(k) else 1.0 / k
        var_t, var_c = rate_t + rate_t**2 * extra, rate_c + rate_c**2 * extra
    diff = var_t / n_t + var_c / n_c
    log = var_t / (n_t * rate_t**2) + var_c / (n_c * rate_c**2)
    return diff, log


def _outcome_array(name: str, values, measure: str, caller: str) -> np.ndarray:
    y = np.asarray(values, dtype=float)
    bad = ~np.isfinite(y) | (y < 0) | (y != np.round(y))
    if measure == "binary":
        bad |= y > 1
    if y.ndim != 1 or y.size < 2 or bad.any():
        rows = np.flatnonzero(bad)[:10].tolist() if y.ndim == 1 else []
        allowed = "0/1 outcomes" if measure == "binary" else "whole counts >= 0"
        raise parameter_error(
            name, caller, f"a 1-d sequence of at least 2 {allowed}",
            got=f"{y.size} values with bad entries at rows {rows}",
        )  # fmt: skip
    return y


def _comparison_from_effect(cls, effect, dispersion: float | None, label: str) -> Contrast:
    kind = getattr(effect, "kind", None)
    if kind not in ("binary", "count"):
        raise parameter_error(
            "effect", "Contrast.from_effect", "an Effect of kind 'binary' or 'count' (from MatchedComparison.effect "
            "or metrics.compare)", got=f"{type(effect).__name__} of kind {kind!r}",
        )  # fmt: skip
    measure: Measure = "binary" if kind == "binary" else "frequency"
    m_t, m_c = float(effect.mean_treated), float(effect.mean_control)
    n_t, n_c = float(effect.n_treated), float(effect.n_control)
    k = dispersion if measure == "frequency" else None
    var_diff, var_log = model_variances(measure, m_t, m_c, n_t, n_c, k)
    if measure == "frequency":
        se_log = float(effect.se)
        difference = effect.details.get("difference")
        se_diff = float(difference.se) if difference is not None else se_log * math.sqrt(var_diff / var_log)
    else:
        # The other scale's SE keeps the observed design effect (observed over
        # binomial variance), which carries the matched sets' correlation.
        se_diff = float(effect.se)
        se_log = se_diff * math.sqrt(var_log / var_diff)
    return cls(measure, m_t, m_c, n_t, n_c, se_diff, se_log, dispersion, label)


@dataclass(frozen=True)
class ThresholdResult:
    """One payment rule applied to one comparison.

    Attributes
    ----------
    rule : str
        The rule's name.
    description : str
        The rule in words.
    met : bool
        Whether the rule pays.
    observed : float
        Observed reduction (a share for relative rules, a proportion of people
        for points rules; positive is better), with ``ci_low``/``ci_high`` its
        95% CI.
    decision_value : float
        What the rule compares with ``threshold``: the point estimate, or the
        one-sided lower confidence bound.
    threshold : float
    n_treated, n_control : float
    false_payment : float
        Chance the rule is met when the true effect is zero.
    true_effect : float or None
        The true effect at which ``payment_probability`` is given: a difference
        in rates (treated minus comparison) for a binary comparison, a rate
        ratio for a frequency comparison.
    payment_probability : float or None
    """

    rule: str
    description: str
    scale: Scale
    met: bool
    observed: float
    ci_low: float
    ci_high: float
    decision_value: float
    threshold: float
    n_treated: float
    n_control: float
    false_payment: float
    true_effect: float | None = None
    payment_probability: float | None = None
    label: str = ""

    def to_dict(self) -> dict:
        """Plain-Python dictionary."""
        return asdict(self)

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame."""
        return pd.DataFrame([self.to_dict()])

    def summary(self) -> str:
        """The result in words."""
        unit = _format_reduction(self.scale)
        lines = [
            f"{self.rule}{' (' + self.label + ')' if self.label else ''}: {self.description}",
            f"  observed reduction {unit(self.observed)} (95% CI {unit(self.ci_low)} to {unit(self.ci_high)}; "
            f"n = {self.n_treated:,.0f} treated, {self.n_control:,.0f} comparison)",
            f"  {'MET' if self.met else 'not met'}: {unit(self.decision_value)} "
            f"against a threshold of {unit(self.threshold)}",
            f"  chance of paying when nothing changed: {self.false_payment:.1%}",
        ]
        if self.payment_probability is not None:
            lines.append(f"  chance of paying at a true effect of {self.true_effect:g}: {self.payment_probability:.1%}")
        return "\n".join(lines)


def _format_reduction(scale: Scale):
    if scale == "points":
        return lambda v: f"{v * 100:.1f} points"
    return lambda v: f"{v:.1%}"


@dataclass(frozen=True)
class PaymentRule:
    """A payment test: pay when the reduction (or its lower confidence bound) reaches a threshold.

    Attributes
    ----------
    name : str
    at_least : float
        Threshold on the reduction: a share (0.1 = 10%) for ``scale="relative"``,
        a proportion (0.05 = 5 points) for ``scale="points"``.
    scale : {"relative", "points"}
    alpha : float or None
        ``None`` for a point-estimate rule; otherwise the lower bound that must reach ``at_least`` is the
        one-sided ``1 - alpha`` confidence bound.
    measure : {"binary", "frequency"} or None
        The measure the rule is defined on (``None``: either).
    """

    name: str
    at_least: float
    scale: Scale = "relative"
    alpha: float | None = None
    measure: Measure | None = None

    def __post_init__(self) -> None:
        if self.scale not in ("relative", "points"):
            raise parameter_error("scale", "PaymentRule", "'relative' or 'points'", self.scale)
        if not -1.0 < self.at_least < 1.0:
            raise parameter_error("at_least", "PaymentRule", "a reduction in (-1, 1)", self.at_least)
        if self.alpha is not None and not 0 < self.alpha <= 0.5:
            raise parameter_error("alpha", "PaymentRule", "in (0, 0.5] or None", self.alpha)
        if self.scale == "points" and self.measure == "frequency":
            raise parameter_error("measure", "PaymentRule", "'binary' for a 'points' rule", self.measure)

    @property
    def description(self) -> str:
        what = {
            "binary": "binary proven reoffending rate",
            "frequency": "frequency of proven reoffences",
            None: "reoffending measure",
        }[self.measure]
        amount = f"{self.at_least * 100:g} percentage points" if self.scale == "points" else f"{self.at_least:.1%}"
        how = "point estimate" if self.alpha is None else f"with {1 - self.alpha:.0%} confidence (one-sided)"
        return f"{what} at least {amount} below the comparison, {how}"

    # The rule on the estimator's own scale -------------------------------------
    def _cut(self) -> float:
        """The statistic (log ratio or difference) at or below which the point estimate pays."""
        return math.log1p(-self.at_least) if self.scale == "relative" else -self.at_least

    def _z(self) -> float:
        return 0.0 if self.alpha is None else float(ndtri(1 - self.alpha))

    def _check(self, comparison: Contrast) -> None:
        if self.measure is not None and comparison.measure != self.measure:
            raise parameter_error(
                "comparison", "PaymentRule", f"a comparison of the {self.measure} measure, the one rule "
                f"{self.name!r} is defined on", got=f"one of the {comparison.measure} measure",
            )  # fmt: skip
        if self.scale == "points" and comparison.measure != "binary":
            raise parameter_error(
                "comparison", "PaymentRule", f"a binary comparison: rule {self.name!r} counts percentage points",
                got=f"one of the {comparison.measure} measure",
            )  # fmt: skip

    def met_statistic(self, statistic: np.ndarray | float, se: np.ndarray | float) -> np.ndarray:
        """Vectorised decision from statistics and SEs on the rule's scale."""
        decided = np.asarray(statistic) + self._z() * np.asarray(se)
        return at_most(decided, self._cut(), statistic, self._z() * np.asarray(se))

    def decided(self, statistic: np.ndarray | float, se: np.ndarray | float) -> np.ndarray:
        """The reduction the rule decides on: the point estimate, or its one-sided ``1 - alpha`` lower bound.

        Vectorised over statistics on the rule's scale (log ratio or difference) and their SEs.

        Examples
        --------
        >>> r = PaymentRule("r", 0.0, "points", 0.05)
        >>> round(float(r.decided(-0.05, 0.01)), 4)  # 5 points fewer, less 1.645 SEs
        0.0336
        """
        bound = np.asarray(statistic) + self._z() * np.asarray(se)
        return -np.expm1(bound) if self.scale == "relative" else -bound

    def decided_rise(self, statistic: np.ndarray | float, se: np.ndarray | float) -> np.ndarray:
        """The rise (the negative of a reduction) decided as the rule decides: its estimate or one-sided lower bound.

        A rise of 0 at the lower bound is a statistically significant increase at ``alpha``.

        Examples
        --------
        >>> r = PaymentRule("r", 0.0, "points", 0.05)
        >>> round(float(r.decided_rise(0.05, 0.01)), 4)
        0.0336
        """
        bound = np.asarray(statistic) - self._z() * np.asarray(se)
        return np.expm1(bound) if self.scale == "relative" else bound

    def chance(self, comparison: Contrast, true_effect: float | None = None) -> float:
        """Analytic chance the rule is met at ``true_effect`` (``None``: no effect).

        ``true_effect`` is a difference in rates (treated minus comparison) for a
        binary comparison and a rate ratio for a frequency comparison, the
        comparison rate staying at the observed one.
        """
        self._check(comparison)
        true = comparison.true_statistic(self.scale, true_effect)
        se = comparison.se_at(self.scale, true)
        return float(ndtr((self._cut() - self._z() * se - true) / se))

    def evaluate(self, comparison: Contrast, *, true_effect: float | None = None) -> ThresholdResult:
        """Apply the rule to ``comparison``.

        Parameters
        ----------
        comparison : Contrast
        true_effect : float, optional
            A true effect at which to give the payment probability: difference
            in rates (binary) or rate ratio (frequency), as in ``metrics.power``.
        """
        self._check(comparison)
        stat, se = comparison.estimate(self.scale)
        z95 = float(-ndtri(_ALPHA / 2))
        to_reduction = (lambda s: -math.expm1(s)) if self.scale == "relative" else (lambda s: -s)
        return ThresholdResult(
            rule=self.name,
            description=self.description,
            scale=self.scale,
            met=bool(self.met_statistic(stat, se)),
            observed=to_reduction(stat),
            ci_low=to_reduction(stat + z95 * se),
            ci_high=to_reduction(stat - z95 * se),
            decision_value=to_reduction(stat + self._z() * se),
            threshold=self.at_least,
            n_treated=comparison.n_treated,
            n_control=comparison.n_control,
            false_payment=self.chance(comparison),
            true_effect=true_effect,
            payment_probability=None if true_effect is None else self.chance(comparison, true_effect),
            label=comparison.label,
        )


def peterborough_rule(reduction: float = 0.10) -> PaymentRule:
    """Peterborough per-cohort rule: reconviction-event frequency at least ``reduction`` below the comparison.

    Examples
    --------
    >>> peterborough_rule().at_least
    0.1
    """
    return PaymentRule("Peterborough cohort", reduction, "relative", None, "frequency")


def confident_reduction_rule(at_least: float = 0.0, alpha: float = 0.05, measure: Measure | None = None) -> PaymentRule:
    """Relative reduction of at least ``at_least`` with one-sided confidence ``1 - alpha``.

    ``at_least=0`` pays for a statistically significant reduction.

    Examples
    --------
    >>> confident_reduction_rule(0.05).alpha
    0.05
    """
    name = "Significant reduction" if at_least == 0 else f"Confident {at_least:.0%} reduction"
    return PaymentRule(name, at_least, "relative", alpha, measure)


def point_estimate_rule(
    at_least: float = 0.0, measure: Measure | None = None, scale: Scale = "relative"
) -> PaymentRule:
    """Pays when the reduction's point estimate is at least ``at_least``.

    Examples
    --------
    >>> point_estimate_rule().alpha is None
    True
    """
    return PaymentRule("Point estimate", at_least, scale, None, measure)


def doncaster_rule(points: float = 0.05) -> PaymentRule:
    """Doncaster rule: binary rate at least ``points`` (a proportion) below the baseline."""
    return PaymentRule("Doncaster", points, "points", None, "binary")


def doncaster(
    treated: Sequence[float] | np.ndarray | tuple[float, float],
    baseline: Sequence[float] | np.ndarray | tuple[float, float | None],
    *,
    points: float = 0.05,
    true_effect: float | None = None,
) -> ThresholdResult:
    """Doncaster-style test: the cohort's binary rate at least ``points`` below a baseline rate.

    Parameters
    ----------
    treated : (rate, n) or sequence of 0/1
        The cohort's proven reoffending rate and size, or its outcomes.
    baseline : (rate, n) or sequence of 0/1
        The baseline period's rate and size (``n=None``: a fixed target with no
        sampling error), or its outcomes.
    points : float
        Required fall, as a proportion (0.05 = 5 percentage points).
    true_effect : float, optional
        True change in the rate against the baseline (-0.05: a 5-point fall) at
        which to give the payment probability.

    Examples
    --------
    >>> r = doncaster((0.52, 1_178), (0.577, 1_200))
    >>> r.met, round(r.observed, 3)
    (True, 0.057)
    """
    rate_t, n_t = _rate_and_n("treated", treated)
    rate_b, n_b = _rate_and_n("baseline", baseline)
    if n_t is None:
        raise parameter_error("treated", "doncaster", "(rate, n) with a cohort size, or per-person outcomes", treated)
    comparison = Contrast.from_rates(
        "binary", rate_t, n_t, rate_b, math.inf if n_b is None else n_b, label="against baseline"
    )
    return doncaster_rule(points).evaluate(comparison, true_effect=true_effect)


def _rate_and_n(name: str, value) -> tuple[float, float | None]:
    if isinstance(value, tuple) and len(value) == 2:
        rate, n = value
        if not (0 < float(rate) < 1) or (n is not None and not float(n) >= 1):
            raise parameter_error(name, "doncaster", "0 < rate < 1 and n >= 1 when given as (rate, n)", value)
        return float(rate), (None if n is None else float(n))
    y = _outcome_array(name, value, "binary", "doncaster")
    return float(y.mean()), float(y.size)


@dataclass(frozen=True)
class PeterboroughResult:
    """Peterborough-style test over one or more cohorts.

    Attributes
    ----------
    cohorts : tuple of ThresholdResult
        The per-cohort rule (early payment) for each cohort.
    pooled : float
        Weighted mean of the cohorts' reductions (weights = treated cohort sizes),
        with ``pooled_ci`` its 95% CI.
    pooled_met : bool
        Whether the pooled reduction reaches ``pooled_threshold`` (always False
        for one cohort: the pooled test needs at least two).
    met : bool
        Whether anything pays: a cohort reaches the per-cohort threshold or the
        pooled reduction reaches the pooled threshold.
    false_payment : float
        Chance that anything pays when the true effect is zero.
    payment_probability : float or None
        The same at the true rate ratio ``true_effect``.
    """

    cohorts: tuple[ThresholdResult, ...]
    pooled: float
    pooled_ci: tuple[float, float]
    pooled_threshold: float
    pooled_met: bool
    pooled_false_payment: float
    met: bool
    false_payment: float
    true_effect: float | None = None
    payment_probability: float | None = None
    weights: tuple[float, ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """One row per cohort plus a ``pooled`` row."""
        rows = [c.to_dict() for c in self.cohorts]
        rows.append(
            {
                "rule": "Peterborough pooled",
                "label": "pooled",
                "met": self.pooled_met,
                "observed": self.pooled,
                "ci_low": self.pooled_ci[0],
                "ci_high": self.pooled_ci[1],
                "decision_value": self.pooled,
                "threshold": self.pooled_threshold,
                "n_treated": float(sum(c.n_treated for c in self.cohorts)),
                "n_control": float(sum(c.n_control for c in self.cohorts)),
                "false_payment": self.pooled_false_payment,
            }
        )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        """Plain-Python dictionary (cohorts as a list of dicts)."""
        out = asdict(self)
        out["cohorts"] = [c.to_dict() for c in self.cohorts]
        return out

    def summary(self) -> str:
        """The test in words, cohort by cohort, then pooled."""
        lines = ["Peterborough-style test (frequency of reconviction events against the matched comparison)"]
        for c in self.cohorts:
            lines.append(
                f"  {c.label or 'cohort'}: reduction {c.observed:.1%} (95% CI {c.ci_low:.1%} to "
                f"{c.ci_high:.1%}, n = {c.n_treated:,.0f}); {c.threshold:.0%} needed: "
                f"{'MET' if c.met else 'not met'}"
            )
        if len(self.cohorts) < 2:
            lines.append("  pooled test: not applied (it settles two or more cohorts together at the end)")
        else:
            lines.append(
                f"  pooled (weighted by cohort size): {self.pooled:.1%} (95% CI {self.pooled_ci[0]:.1%} to "
                f"{self.pooled_ci[1]:.1%}); {self.pooled_threshold:.1%} needed: "
                f"{'MET' if self.pooled_met else 'not met'}"
            )
        lines.append(
            f"  pays: {'yes' if self.met else 'no'}; chance of paying when nothing changed: {self.false_payment:.1%}"
        )
        if self.payment_probability is not None:
            lines.append(
                f"  chance of paying at a true rate ratio of {self.true_effect:g}: {self.payment_probability:.1%}"
            )
        return "\n".join(lines)


def peterborough(
    cohorts: Contrast | Sequence[Contrast],
    *,
    per_cohort: float = 0.10,
    pooled: float = 0.075,
    true_effect: float | None = None,
) -> PeterboroughResult:
    """Peterborough-style test: each cohort at least ``per_cohort`` below its matched
    comparison, or, across two or more cohorts, the size-weighted mean reduction at least ``pooled``.

    The pooled test settles all cohorts together at the end, so it is not
    applied to a lone cohort (``pooled_met`` is then False). This is the shape
    of the test; the scheme's contract, with its dates and money, is
    ``pricing.scheme("peterborough")``.

    The reduction is ``1 - rate ratio`` of reconviction-event frequencies. Chances
    treat the cohorts as independent with log rate ratios ``N(log RR, se**2)``;
    a cohort's reduction ``1 - RR_hat`` is then lognormal, and the joint chance
    that nothing pays uses the normal approximation to the reductions with
    those lognormal moments (a multivariate normal probability by quadrature;
    up to five cohorts).

    Examples
    --------
    >>> c1 = Contrast.from_rates("frequency", 1.42, 1_000, 1.55, 10_000, dispersion=2.0, label="cohort 1")
    >>> c2 = Contrast.from_rates("frequency", 1.38, 1_000, 1.53, 10_000, dispersion=2.0, label="cohort 2")
    >>> r = peterborough([c1, c2])
    >>> r.met, round(r.pooled, 3)
    (True, 0.091)
    """
    items = [cohorts] if isinstance(cohorts, Contrast) else list(cohorts)
    if not items:
        raise parameter_error("cohorts", "peterborough", "at least one Contrast", cohorts)
    items = [c if c.label else replace(c, label=f"cohort {i + 1}") for i, c in enumerate(items)]
    rule = peterborough_rule(per_cohort)
    results = tuple(rule.evaluate(c, true_effect=true_effect) for c in items)
    w = np.array([c.n_treated for c in items], dtype=float)
    w = w / w.sum()
    reductions = np.array([r.observed for r in results])
    # Delta-method SEs of the reductions at the observed values.
    se_r = np.array([math.exp(c.log_ratio) * c.se_log_ratio for c in items])
    pooled_value = float(w @ reductions)
    pooled_se = float(math.sqrt(w**2 @ se_r**2))
    z95 = float(-ndtri(_ALPHA / 2))

    def chances(ratio: float) -> tuple[float, float]:
        if len(items) == 1:
            return 0.0, rule.chance(items[0], ratio)
        moments = np.array([_reduction_moments(c, ratio) for c in items])
        means, var = moments[:, 0], moments[:, 1] ** 2
        pooled_mean, pooled_var = float(w @ means), float(w**2 @ var)
        pooled_chance = float(ndtr(-(pooled - pooled_mean) / math.sqrt(pooled_var)))
        return pooled_chance, 1.0 - _nothing_pays(means, np.sqrt(var), w, per_cohort, pooled)

    pooled_false, any_false = chances(1.0)
    any_at = None if true_effect is None else chances(true_effect)[1]
    # The pooled test settles cohorts together at the end: on a lone cohort it is not applied
    # (Peterborough's cohort 1 showed 8.4%, above the 7.5% pooled level, and paid nothing).
    pooled_met = len(items) >= 2 and bool(at_least(pooled_value, pooled))
    return PeterboroughResult(
        cohorts=results,
        pooled=pooled_value,
        pooled_ci=(pooled_value - z95 * pooled_se, pooled_value + z95 * pooled_se),
        pooled_threshold=pooled,
        pooled_met=bool(pooled_met),
        pooled_false_payment=pooled_false,
        met=bool(pooled_met or any(r.met for r in results)),
        false_payment=any_false,
        true_effect=true_effect,
        payment_probability=any_at,
        weights=tuple(float(v) for v in w),
    )


_MAX_COHORTS = 5


def _nothing_pays(means: np.ndarray, sds: np.ndarray, w: np.ndarray, per_cohort: float, pooled: float) -> float:
    """P(every R_c < per_cohort and sum(w * R) < pooled) for independent normal reductions R_c.

    Gauss-Legendre quadrature over the first C - 1 cohorts (each from 9 SDs
    below its mean up to ``per_cohort``; for two cohorts split where the pooled
    limit starts to bind, so the integrand is smooth on each piece), the last
    cohort in closed form.
    """
    last = len(means) - 1
    if last + 1 > _MAX_COHORTS:
        raise parameter_error(
            "cohorts", "peterborough", f"at most {_MAX_COHORTS} cohorts for the joint payment chance",
            got=f"{last + 1}",
        )  # fmt: skip
    x, wt = np.polynomial.legendre.leggauss(64 if last == 1 else 24)
    axes = []
    for c in range(last):
        lo, hi = means[c] - 9 * sds[c], per_cohort
        if hi <= lo:
            return 0.0
        # The pooled limit binds for the last cohort once r_c passes this point (two cohorts only).
        kink = (pooled - w[1] * per_cohort) / w[0] if last == 1 else math.nan
        cuts = [lo, kink, hi] if lo < kink < hi else [lo, hi]
        pts = np.concatenate([a + (b - a) * (x + 1) / 2 for a, b in zip(cuts[:-1], cuts[1:], strict=True)])
        step = np.concatenate([wt * (b - a) / 2 for a, b in zip(cuts[:-1], cuts[1:], strict=True)])
        axes.append((pts, step * _normal_density(pts, means[c], sds[c])))
    grids = np.meshgrid(*[p for p, _ in axes], indexing="ij")
    masses = np.meshgrid(*[m for _, m in axes], indexing="ij")
    partial = sum(w[c] * grids[c] for c in range(last))
    limit = np.minimum(per_cohort, (pooled - partial) / w[last])
    mass = np.prod(masses, axis=0)
    return float((mass * ndtr((limit - means[last]) / sds[last])).sum())


def _reduction_moments(comparison: Contrast, ratio: float) -> tuple[float, float]:
    """Mean and SD of ``1 - RR_hat`` when ``log RR_hat ~ N(log(ratio), se**2)`` (lognormal moments)."""
    true = comparison.true_statistic("relative", ratio)
    se = comparison.se_at("relative", true)
    mean_ratio = math.exp(true + se**2 / 2)
    return 1 - mean_ratio, mean_ratio * math.sqrt(math.expm1(se**2))


@dataclass(frozen=True)
class RuleResults:
    """Several payment rules applied to the same comparison.

    Attributes
    ----------
    results : tuple of ThresholdResult
    """

    results: tuple[ThresholdResult, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per rule: met, observed reduction and CI, decision value, threshold and chances."""
        cols = [
            "rule",
            "description",
            "met",
            "observed",
            "ci_low",
            "ci_high",
            "decision_value",
            "threshold",
            "false_payment",
            "true_effect",
            "payment_probability",
            "n_treated",
            "n_control",
        ]
        return pd.DataFrame([r.to_dict() for r in self.results])[cols]

    def to_dict(self) -> dict:
        """``{"results": [...]}``."""
        return {"results": [r.to_dict() for r in self.results]}

    def summary(self) -> str:
        """A text table: how much the choice of rule matters."""
        lines = ["Payment rules on the same comparison"]
        for r in self.results:
            unit = _format_reduction(r.scale)
            prob = "" if r.payment_probability is None else f", pays {r.payment_probability:.0%} at the true effect"
            lines.append(
                f"  {r.rule:<22} {'MET    ' if r.met else 'not met'}  needs {unit(r.threshold):>11} "
                f"(decides on {unit(r.decision_value)}); false payment {r.false_payment:.1%}{prob}"
            )
        return "\n".join(lines)


def default_rules(measure: Measure) -> tuple[PaymentRule, ...]:
    """The rules :func:`compare_rules` applies when none are given.

    Frequency: Peterborough (10%), the plain point estimate (any reduction),
    a significant reduction and a 5% reduction with 95% one-sided confidence.
    Binary: the same with Doncaster's 5 points in place of Peterborough.
    """
    first = peterborough_rule() if measure == "frequency" else doncaster_rule()
    return (
        first,
        point_estimate_rule(0.0, measure),
        confident_reduction_rule(0.0, 0.05, measure),
        confident_reduction_rule(0.05, 0.05, measure),
    )


def compare_rules(
    comparison: Contrast,
    rules: Sequence[PaymentRule] | None = None,
    *,
    true_effect: float | None = None,
) -> RuleResults:
    """Apply several payment rules to one comparison, so the choice of rule can be judged.

    Parameters
    ----------
    comparison : Contrast
    rules : sequence of PaymentRule, optional
        Defaults to :func:`default_rules` for the comparison's measure.
    true_effect : float, optional
        A true effect at which to give each rule's payment probability: a
        difference in rates (binary) or a rate ratio (frequency).

    Examples
    --------
    >>> c = Contrast.from_rates("frequency", 1.42, 1_000, 1.55, 10_000, dispersion=2.0)
    >>> table = compare_rules(c, true_effect=0.9).to_frame()
    >>> table["met"].tolist()
    [False, True, True, False]
    """
    chosen = tuple(rules) if rules is not None else default_rules(comparison.measure)
    return RuleResults(tuple(r.evaluate(comparison, true_effect=true_effect) for r in chosen))
