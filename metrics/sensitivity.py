"""Sensitivity to unobserved confounding: Rosenbaum bounds for matched pairs, and E-values.

**Rosenbaum bounds** (Rosenbaum 2002, ch. 4). Matching removes differences in
what was measured; an unmeasured trait could still make one member of a pair
more likely to join the programme. ``gamma`` bounds how much more: within a
pair the odds of being the one treated are at most Gamma to 1. For each gamma
the bounds give the largest and smallest one-sided p-values the test could
have, whatever the unmeasured trait; the *critical gamma* is the smallest at
which the upper bound passes ``alpha``: the finding survives hidden bias up to it.

- Binary outcomes: McNemar's test on the discordant pairs (one member had the
  outcome, the other not). With D discordant pairs of which T go in the
  direction of the effect, the upper bound is ``P(Binomial(D, G/(1+G)) >= T)``
  and the lower ``P(Binomial(D, 1/(1+G)) >= T)`` (R's ``rbounds::binarysens``).
- Continuous outcomes: the Wilcoxon signed-rank statistic T (sum of the ranks
  of |difference| over pairs whose difference goes in the direction of the
  effect; zero differences dropped, ties given average ranks). Under gamma, T
  is bounded by sums of independent ``rank_i x Bernoulli(p)``, p = G/(1+G)
  (upper) or 1/(1+G) (lower). With fewer than ``EXACT_PAIRS`` informative
  pairs the p-values are exact (the distribution of that sum, by convolution;
  ties give half-integer ranks, which doubling makes whole); from then on the
  normal approximation with mean ``p sum(rank)`` and variance
  ``p(1-p) sum(rank^2)``, as ``rbounds::psens`` uses for every size. With few
  pairs the approximation misleads: 33 pairs whose exact critical Gamma is
  4.81 get 4.43 (issue 26).

The test runs in the direction of the observed effect (a programme that lowers
reoffending is tested for lowering it). Pairs come from 1:1 matching without
replacement.

**E-values**: the smallest risk ratio an unmeasured confounder would need with
both the treatment and the outcome to explain the estimate away, and its
confidence limit closer to no effect (1 when the interval contains it). Each
result's ``method`` names the method, as R's ``EValue`` names its functions:

- ratios (VanderWeele and Ding 2017; ``evalues.RR``, ``evalues.OR``,
  ``evalues.HR``): ``RR + sqrt(RR (RR - 1))`` for RR >= 1 (RR < 1 is
  inverted). Hazard ratios and odds ratios of common outcomes (15% or more)
  are first turned into approximate risk ratios
  (``(1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))`` and ``sqrt(OR)``); rate ratios
  are read as risk ratios;
- a difference in means (``evalues.MD``): standardised by the outcome's pooled
  SD, d, and read as ``RR = exp(0.91 d)`` with limits ``exp(0.91 d -+ 1.78 SE(d))``;
- a difference in proportions (Ding and VanderWeele 2016, *Epidemiology* 27,
  368-377, p. 376; ``evalues.RD``): the bias factor B that moves the risk
  difference to 0 once the confounder's effect is allowed for,
  ``B = (sqrt(D^2 + 4 p1 p0 f (1 - f)) - D) / (2 p0 f)`` with
  ``D = p0 (1 - f) - p1 f`` and f the treated share, and for the interval the
  B at which the lower limit of the bias-corrected difference (binomial
  variances of p1, p0 and f) reaches 0; each read as an E-value
  ``B + sqrt(B (B - 1))``. ``evalues.RD`` finds the second by a grid of step
  1e-4 in B; here it is the root itself. A protective effect is relabelled
  (the groups swapped) first, as ``evalues.RD`` asks.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, special

from ground.checks import Interval, Options, check_parameter, parameter_error, require_columns
from ground.errors import MatchingError, ModelError

__all__ = ["EXACT_PAIRS", "EValue", "RosenbaumBounds", "e_value", "rosenbaum_bounds"]

_DEFAULT_GAMMAS = (1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0, 5.0)
#: Below this many informative pairs the signed-rank bounds are exact (R's wilcox.test is exact below 50 too).
EXACT_PAIRS = 50


@dataclass(frozen=True)
class RosenbaumBounds:
    """Rosenbaum bounds on one-sided p-values of a matched-pairs test.

    Attributes
    ----------
    table : pandas.DataFrame
        ``gamma``, ``p_lower``, ``p_upper``, one row per gamma.
    test : str
        "McNemar (discordant pairs)", "Wilcoxon signed-rank (exact)" (fewer than
        ``EXACT_PAIRS`` informative pairs) or "Wilcoxon signed-rank (normal
        approximation)".
    direction : str
        "lower" or "higher": the direction of the effect tested (treated vs comparison).
    statistic : float
        T: discordant pairs in the direction of the effect, or the signed-rank sum.
    n_pairs : int
        Matched pairs.
    n_informative : int
        Discordant pairs (McNemar) or pairs with a nonzero difference (Wilcoxon).
    alpha : float
    critical_gamma : float
        Smallest gamma at which the upper bound exceeds ``alpha`` (1.0 when the
        test is not significant even with no hidden bias; inf when it never is).
    outcome : str
    """

    table: pd.DataFrame = field(repr=False)
    test: str
    direction: str
    statistic: float
    n_pairs: int
    n_informative: int
    alpha: float
    critical_gamma: float
    outcome: str

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if k != "table"}
        out["table"] = self.table.to_dict(orient="records")
        out["statement"] = self.statement()
        return out

    def statement(self) -> str:
        """The result in plain English."""
        what = f"the programme's effect on {self.outcome} ({self.direction} for the treated)"
        basis = f"{self.test}; {self.n_informative} informative of {self.n_pairs} matched pairs"
        level = f"{self.alpha:.0%} level"
        if self.critical_gamma <= 1.0:
            return f"Even with no hidden bias, {what} is not significant at the {level} ({basis})."
        if math.isinf(self.critical_gamma):
            return f"No amount of hidden bias in the range studied removes the significance of {what} ({basis})."
        g = self.critical_gamma
        return (
            f"An unmeasured trait would have to make one member of a matched pair {g:.2f} times as likely "
            f"(in odds) as the other to join the programme before {what} stopped being significant at the "
            f"{level} (Rosenbaum's Gamma = {g:.2f}; {basis})."
        )

    def summary(self) -> str:
        return self.statement() + "\n\n" + self.table.to_string(index=False, float_format=lambda v: f"{v:.4g}")

    def plot(self, ax=None):
        """Upper and lower p-value bounds against gamma, with the alpha line. Returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3.5))
        ax.plot(self.table["gamma"], self.table["p_upper"], marker="o", label="upper bound")
        ax.plot(self.table["gamma"], self.table["p_lower"], marker="o", label="lower bound")
        ax.axhline(self.alpha, color="grey", linestyle="--", linewidth=0.8)
        ax.set_xlabel("Gamma (odds of treatment within a pair)")
        ax.set_ylabel("one-sided p-value")
        ax.legend(frameon=False)
        return ax


def rosenbaum_bounds(
    matched,
    outcome: str,
    gammas=_DEFAULT_GAMMAS,
    *,
    test: str = "auto",
    alpha: float = 0.05,
) -> RosenbaumBounds:
    """Rosenbaum bounds for a 1:1 matched comparison (see the module docstring).

    Parameters
    ----------
    matched : MatchedComparison
        From :func:`metrics.match` with ``ratio=1`` and ``replace=False``.
    outcome : str
        Outcome column.
    gammas : sequence of float, default (1, 1.25, ..., 5)
        Values of Gamma >= 1 to tabulate.
    test : {"auto", "mcnemar", "wilcoxon"}, default "auto"
        "auto": McNemar for a 0/1 outcome, Wilcoxon otherwise.
    alpha : float, default 0.05

    Returns
    -------
    RosenbaumBounds

    Examples
    --------
    >>> from metrics import match
    >>> rng = np.random.default_rng(3)
    >>> df = pd.DataFrame({"x": rng.normal(size=400)})
    >>> df["t"] = (rng.random(400) < 0.3).astype(int)
    >>> df["y"] = df["x"] + 0.8 * df["t"] + rng.normal(size=400)
    >>> rb = rosenbaum_bounds(match(df, "t", "x"), "y")
    >>> rb.test, rb.critical_gamma > 1
    ('Wilcoxon signed-rank (normal approximation)', True)
    """
    check_parameter(test, "test", "rosenbaum_bounds", Options("auto", "mcnemar", "wilcoxon"))
    check_parameter(alpha, "alpha", "rosenbaum_bounds", Interval(float, 0, 1, closed="neither"))
    gammas = np.asarray(gammas, dtype=float).ravel()
    if gammas.size == 0 or not np.all(np.isfinite(gammas) & (gammas >= 1)):
        raise parameter_error("gammas", "rosenbaum_bounds", "a non-empty sequence of numbers >= 1", gammas)
    treated_y, control_y = _pairs(matched, outcome)
    binary = bool(np.all(np.isin(np.r_[treated_y, control_y], (0, 1))))
    use = ("mcnemar" if binary else "wilcoxon") if test == "auto" else test
    if use == "mcnemar" and not binary:
        raise parameter_error("test", "rosenbaum_bounds", "'wilcoxon' or 'auto' for a non-binary outcome", test)
    diff = treated_y - control_y
    sign = -1.0 if diff.mean() < 0 else 1.0
    bound = _mcnemar(sign * diff) if use == "mcnemar" else _wilcoxon(sign * diff)
    rows = [(g, bound.p_value(1 / (1 + g)), bound.p_value(g / (1 + g))) for g in gammas]
    return RosenbaumBounds(
        table=pd.DataFrame(rows, columns=["gamma", "p_lower", "p_upper"]),
        test="McNemar (discordant pairs)" if use == "mcnemar" else _wilcoxon_words(bound),
        direction="lower" if sign < 0 else "higher",
        statistic=bound.statistic,
        n_pairs=len(diff),
        n_informative=bound.informative,
        alpha=float(alpha),
        critical_gamma=_critical_gamma(bound, alpha),
        outcome=outcome,
    )


def _pairs(matched, outcome: str) -> tuple[np.ndarray, np.ndarray]:
    from metrics.matching import MatchedComparison

    if not isinstance(matched, MatchedComparison):
        raise parameter_error("matched", "rosenbaum_bounds", "a MatchedComparison from metrics.match", matched)
    o = matched.options
    if o["method"] == "subclass" or o["ratio"] != 1 or o["replace"]:
        raise MatchingError(
            "Rosenbaum bounds here are for matched pairs: match with ratio=1 and replace=False "
            f"(got method={o['method']!r}, ratio={o['ratio']}, replace={o['replace']})."
        )
    require_columns(matched.data, [outcome], table="data", complete=True)
    y = pd.to_numeric(matched.data[outcome], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if not np.all(np.isfinite(y[np.r_[matched.t_rows, matched.c_rows]])):
        raise ModelError(f"The outcome {outcome!r} must hold finite numbers in the matched pairs.")
    return y[matched.t_rows], y[matched.c_rows]


@dataclass(frozen=True)
class _Bound:
    """The bounding distribution of a test statistic: a p-value for each within-pair probability."""

    statistic: float
    informative: int
    ranks: np.ndarray | None = None  # Wilcoxon

    def p_value(self, p: float) -> float:
        if self.ranks is None:  # McNemar: P(Binomial(D, p) >= T)
            if self.informative == 0:
                return 1.0
            return float(special.bdtrc(self.statistic - 1, self.informative, p)) if self.statistic > 0 else 1.0
        if self.informative == 0:
            return 1.0
        if self.informative < EXACT_PAIRS:
            return _exact_signed_rank_tail(self.ranks, self.statistic, p)
        mean = p * self.ranks.sum()
        var = p * (1 - p) * np.sum(self.ranks**2)
        return float(special.ndtr(-(self.statistic - mean) / math.sqrt(var)))


def _exact_signed_rank_tail(ranks: np.ndarray, statistic: float, p: float) -> float:
    """P(sum_i rank_i B_i >= statistic), B_i independent Bernoulli(p): the distribution of the sum by
    convolution over doubled (so whole) ranks."""
    doubled = np.rint(2 * ranks).astype(np.int64)
    pmf = np.zeros(int(doubled.sum()) + 1)
    pmf[0] = 1.0
    top = 0
    for r in doubled:  # one pass per pair (fewer than EXACT_PAIRS), each over the whole support
        shifted = np.zeros_like(pmf)
        shifted[r : top + r + 1] = pmf[: top + 1]
        pmf = (1 - p) * pmf + p * shifted
        top += r
    return float(min(pmf[int(np.rint(2 * statistic)) :].sum(), 1.0))


def _mcnemar(diff: np.ndarray) -> _Bound:
    return _Bound(float(np.sum(diff > 0)), int(np.sum(diff != 0)))


def _wilcoxon(diff: np.ndarray) -> _Bound:
    d = diff[diff != 0]
    ranks = pd.Series(np.abs(d)).rank(method="average").to_numpy()
    return _Bound(float(ranks[d > 0].sum()), len(d), ranks)


def _wilcoxon_words(bound: _Bound) -> str:
    return "Wilcoxon signed-rank " + ("(exact)" if bound.informative < EXACT_PAIRS else "(normal approximation)")


def _critical_gamma(bound: _Bound, alpha: float) -> float:
    def excess(log_gamma: float) -> float:
        g = math.exp(log_gamma)
        return bound.p_value(g / (1 + g)) - alpha

    if excess(0.0) > 0:
        return 1.0
    if excess(math.log(1e6)) <= 0:
        return math.inf
    return float(math.exp(optimize.brentq(excess, 0.0, math.log(1e6), xtol=1e-12)))


@dataclass(frozen=True)
class EValue:
    """E-values for an effect estimate and its confidence limit.

    Attributes
    ----------
    e_value : float
        For the estimate.
    e_value_ci : float
        For the confidence limit closer to no effect (1.0 when the CI contains it).
    risk_ratio, ci_low, ci_high : float
        The estimate and its CI as (approximate) risk ratios; for a difference in
        proportions the ratio of the two proportions, and no CI (NaN).
    scale : str
        The effect's own scale, and how it was turned into a risk ratio.
    method : str
        The E-value's method and its R counterpart (see the module docstring).
    outcome : str
    """

    e_value: float
    e_value_ci: float
    risk_ratio: float
    ci_low: float
    ci_high: float
    scale: str
    outcome: str
    method: str = ""

    def to_dict(self) -> dict:
        return {**asdict(self), "statement": self.statement()}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)])

    def statement(self) -> str:
        """The result in plain English."""
        ci = (
            "the confidence interval already includes no effect"
            if self.e_value_ci <= 1.0
            else f"to move the confidence interval to include no effect, {self.e_value_ci:.2f}"
        )
        return (
            f"To explain away the estimated effect on {self.outcome} ({self.scale}), an unmeasured confounder "
            f"would need to be associated with both joining the programme and the outcome by a risk ratio of at "
            f"least {self.e_value:.2f} each, above the measured covariates; {ci} (E-value: {self.method})."
        )

    def summary(self) -> str:
        return self.statement()


def e_value(effect, *, rare: bool | None = None) -> EValue:
    """E-value of an :class:`~metrics.effects.Effect` (see the module docstring).

    Parameters
    ----------
    effect : Effect
        A risk, rate, odds or hazard ratio, or a difference: in means
        (standardised, ``evalues.MD``) or in proportions (Ding and VanderWeele's
        risk-difference method, ``evalues.RD``).
    rare : bool, optional
        Whether the outcome is rare (< 15%) for odds and hazard ratios; default:
        judged from the comparison group's rate.

    Returns
    -------
    EValue

    Examples
    --------
    >>> from metrics.effects import Effect
    >>> rr = Effect(3.9, 0.4, 1.8, 8.7, 0.001, 100, 100, "", "binary", "infection", "risk ratio", 0.2, 0.05)
    >>> ev = e_value(rr)
    >>> round(ev.e_value, 2), round(ev.e_value_ci, 2), ev.method
    (7.26, 3.0, 'risk ratio (VanderWeele and Ding 2017; as EValue::evalues.RR)')
    """
    from metrics.effects import Effect

    if not isinstance(effect, Effect):
        raise parameter_error("effect", "e_value", "an Effect (from effect() or compare())", effect)
    check_parameter(rare, "rare", "e_value", Options(None, True, False))
    if effect.kind == "binary" and effect.scale == "difference":
        return _risk_difference_e_value(effect)
    rr, lo, hi, how, method = _as_risk_ratio(effect, rare)
    limit = lo if rr >= 1 else hi
    crosses = lo <= 1.0 <= hi
    return EValue(
        e_value=_e(rr), e_value_ci=1.0 if crosses else _e(limit), risk_ratio=float(rr), ci_low=float(lo),
        ci_high=float(hi), scale=f"risk ratio {rr:.3g}, from the {how}", outcome=effect.outcome, method=method,
    )  # fmt: skip


def _e(rr: float) -> float:
    r = rr if rr >= 1 else 1 / rr
    return float(r + math.sqrt(r * (r - 1)))


def _as_risk_ratio(effect, rare: bool | None) -> tuple[float, float, float, str, str]:
    """(RR, its limits, how the effect became a risk ratio, the E-value's method)."""
    est, lo, hi = effect.estimate, effect.ci_low, effect.ci_high
    common = (effect.mean_control >= 0.15) if rare is None else not rare
    ratio = "(VanderWeele and Ding 2017; as EValue::evalues."
    if effect.scale in ("risk ratio", "rate ratio"):
        return est, lo, hi, effect.scale, f"risk ratio {ratio}RR)"
    if effect.scale in ("odds ratio", "hazard ratio"):
        short = "OR" if effect.scale == "odds ratio" else "HR"
        if not common:
            how = f"{effect.scale} (rare outcome: {short} as RR)"
            return est, lo, hi, how, f"{effect.scale} read as a risk ratio {ratio}{short}, rare = TRUE)"
        conv = math.sqrt if short == "OR" else _hazard_to_risk_ratio
        how = f"{effect.scale} (common outcome: " + ("sqrt(OR))" if short == "OR" else "converted)")
        method = f"risk ratio converted from the {short} {ratio}{short}, rare = FALSE)"
        return conv(est), conv(lo), conv(hi), how, method
    sd = effect.details.get("outcome_sd")
    if not sd or not math.isfinite(sd):
        raise ModelError("An E-value of a difference needs the outcome's SD (effect.details['outcome_sd']).")
    d, se = effect.estimate / sd, effect.se / sd
    return (
        math.exp(0.91 * d),
        math.exp(0.91 * d - 1.78 * se),
        math.exp(0.91 * d + 1.78 * se),
        f"standardised mean difference {d:.3g} (RR = exp(0.91 d))",
        f"standardised mean difference read as a risk ratio {ratio}MD)",
    )


def _hazard_to_risk_ratio(h: float) -> float:
    return (1 - 0.5 ** math.sqrt(h)) / (1 - 0.5 ** math.sqrt(1 / h))


def _risk_difference_e_value(effect) -> EValue:
    """Ding and VanderWeele's (2016) E-values of a difference in proportions, as ``EValue::evalues.RD``
    (the module docstring has the formulas), from the groups' proportions and sizes."""
    p1, p0 = float(effect.mean_treated), float(effect.mean_control)
    n1, n0 = float(effect.n_treated), float(effect.n_control)
    if p1 < p0:  # evalues.RD asks for the groups to be labelled so that the difference is positive
        p1, p0, n1, n0 = p0, p1, n0, n1
    point, limit = risk_difference_bias_factors(p1, p0, n1, n0, effect.alpha)
    return EValue(
        e_value=_e(point), e_value_ci=_e(limit), risk_ratio=p1 / p0 if p0 > 0 else math.inf, ci_low=math.nan,
        ci_high=math.nan, scale=f"risk difference {100 * (p1 - p0):.1f} percentage points", outcome=effect.outcome,
        method="risk difference (Ding and VanderWeele 2016; as EValue::evalues.RD, without its 1e-4 grid)",
    )  # fmt: skip


def risk_difference_bias_factors(p1: float, p0: float, n1: float, n0: float, alpha: float) -> tuple[float, float]:
    """The bias factors that move a risk difference ``p1 - p0 >= 0`` (groups of n1 and n0) and the
    lower limit of its ``1 - alpha`` interval to 0 (Ding and VanderWeele 2016, p. 376); 1 for the
    limit when the interval already contains 0.

    Parameters
    ----------
    p1, p0 : float
        The proportions with the outcome in the two groups, labelled so that ``p1 >= p0``
        (``evalues.RD`` asks for a protective effect to be relabelled first).
    n1, n0 : float
        The groups' sizes.
    alpha : float
        The interval is at ``1 - alpha`` (normal, with binomial variances of p1, p0 and the
        share n1 / (n1 + n0)).

    Returns
    -------
    tuple of float
        The bias factor for the estimate and for the lower confidence limit (each read as an
        E-value by ``B + sqrt(B (B - 1))``); ``inf`` for both when ``p0`` is 0.

    Examples
    --------
    >>> b, b_ci = risk_difference_bias_factors(397 / 78954, 51 / 108829, 78954, 108829, 0.05)
    >>> round(b + math.sqrt(b * (b - 1)), 3), round(b_ci + math.sqrt(b_ci * (b_ci - 1)), 3)
    (20.947, 15.957)
    """
    if p0 <= 0:
        return math.inf, math.inf
    n = n1 + n0
    f = n1 / n
    var_f, var_p1, var_p0 = f * (1 - f) / n, p1 * (1 - p1) / n1, p0 * (1 - p0) / n0
    d = p0 * (1 - f) - p1 * f
    point = (math.sqrt(d**2 + 4 * p1 * p0 * f * (1 - f)) - d) / (2 * p0 * f)
    z = float(special.ndtri(1 - alpha / 2))
    if p1 - p0 - z * math.sqrt(var_p1 + var_p0) <= 0:
        return point, 1.0

    def lower_limit(b: float) -> float:
        diff, share = p1 - p0 * b, f + (1 - f) / b
        spread = (var_p1 + var_p0 * b**2) * share**2 + diff**2 * (1 - 1 / b) ** 2 * var_f
        return diff * share - z * math.sqrt(spread)

    return point, float(optimize.brentq(lower_limit, 1.0, point, xtol=1e-14, rtol=1e-14))
