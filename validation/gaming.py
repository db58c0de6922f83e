"""Creaming and parking screens: do providers enrol the easy cases, or enrol the
hard ones and do little for them?

Both screens rank people by difficulty (the expected probability of failing
without extra effort; higher = harder) and look for a trend across the
difficulty range:

* **creaming** (selection at entry): among everyone *eligible*, does the chance
  of being enrolled fall as difficulty rises?
* **parking** (neglect after entry): among the *enrolled*, do harder cases get
  fewer service hours, and (when outcomes are given) do they attain less than
  their expected rate?

Decisions stated once, here
---------------------------
* Difficulty enters every trend model as its **percentile rank** in the table
  given (mid-ranks, 0-1), so the slope does not depend on the scale of the
  difficulty score, and ``exp(0.9 * slope)`` is the ratio between the middle of
  the hardest and the easiest decile (0.95 vs 0.05): the quantity the synthetic
  world's ``creaming=c`` (odds ratio ``2**-c``) and ``parking=p`` (hours ratio
  ``2**-p``) set.
* **The trend test drives** ``Screen.flagged``. It is **one-sided**: gaming
  moves enrolment (or hours) *down* with difficulty, so only a falling trend is
  evidence of it; a rising trend is reported (slope, ratio, CI) but never
  flagged. Creaming: Wald z-test of the slope in a logistic regression of
  enrolment on the difficulty percentile. Parking: Wald z-test of the slope in a
  log-link Poisson quasi-likelihood regression of hours on the percentile with
  HC1 sandwich standard errors (valid for continuous hours and zeros; no
  distribution assumed beyond the log-linear mean).
* **Like with like.** With ``by=`` (e.g. provider) the pooled unit ``"all"`` is
  a *within-provider* trend: the same regression with one intercept per
  provider (fixed effects), so each person is compared only with people at the
  same provider. Providers that differ in case-mix *and* in enrolment rate (or
  hours per person), with no tilt inside any of them, are not creaming or
  parking, and the pooled test does not say they are. Without ``by`` the
  pooled test is the plain trend.
* The family of tests is the pooled test plus one per provider, and **Holm's
  step-down correction** is applied across it, so the chance of any false flag
  is at most ``alpha``. Providers with fewer than 20 people, or whose model
  cannot be fitted (everyone or no one enrolled), get no p-value and are left
  out of the family; the summary says so.
* The SMD and KS statistics describe *how much* the enrolled differ from all
  eligible people; they are reported with their CI / p-value but do not drive
  the flag (they answer "are the enrolled easier?", which creaming implies but
  which case-mix alone can also produce).

References
----------
Koning, P. & Heinrich, C. J. (2013). Cream-skimming, parking and other intended
and unintended effects of high-powered, performance-based contracts. *Journal of
Policy Analysis and Management* 32(3), 461-483.
Holm, S. (1979). A simple sequentially rejective multiple test procedure.
*Scandinavian Journal of Statistics* 6, 65-70.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.stats.proportion import proportion_confint

from ground.checks import Interval, check_parameter, number_column, parameter_error, require_columns
from ground.errors import ModelError, SchemaError
from validation.screens import (
    ALPHA,
    MIN_TESTED,
    OVERALL,
    Screen,
    Trends,
    common_trend,
    decile_of,
    flag_values,
    holm,
    percentile_rank,
    separate_trends,
)

__all__ = ["ALPHA", "Screen", "creaming_screen", "flag_values", "parking_screen"]

CREAMING_MEANING = (
    "Comparing only people referred to the same provider, the harder the case the lower the odds of being "
    "enrolled {where} (hardest decile {ratio:.2f} times the easiest's, 95% CI {ratio_ci_low:.2f} to "
    "{ratio_ci_high:.2f}, n = {n}); a fall this steep arises by chance at any of the providers screened less "
    "than 1 time in 20."
)
PARKING_MEANING = (
    "Comparing only people served by the same provider, harder cases received fewer service hours {where} "
    "(hardest decile {ratio:.2f} times the easiest's hours, 95% CI {ratio_ci_low:.2f} to {ratio_ci_high:.2f}, "
    "n = {n}); a fall this steep arises by chance at any of the providers screened less than 1 time in 20."
)


def _units(df: pd.DataFrame, by: str | None) -> tuple[list[str], np.ndarray]:
    """Levels of ``by`` (sorted) and each row's level code (all zeros without ``by``)."""
    if by is None:
        return [], np.zeros(len(df), dtype=np.int64)
    codes, levels = pd.factorize(df[by].astype(str), sort=True)
    return [str(v) for v in levels], codes.astype(np.int64)


def _family_trends(
    y: np.ndarray, pct: np.ndarray, code: np.ndarray, levels: list[str], family: str, by: str | None, caller: str
) -> tuple[Trends, Trends, list[str]]:
    """The pooled trend (within levels of ``by`` when given) and one per level, with notes."""
    n_levels = max(len(levels), 1)
    if levels:
        pooled = common_trend(y, pct, code, n_levels, family)
    else:
        pooled = separate_trends(y, pct, code, 1, family)
    if not np.isfinite(pooled.se[0]):
        raise ModelError(
            f"{caller}: no trend test is possible over all {len(y)} rows "
            "(need at least 3 people and some variation in the outcome)"
        )
    notes = []
    each = separate_trends(y, pct, code, n_levels, family) if levels else Trends(np.array([]), np.array([]))
    sizes = np.bincount(code, minlength=n_levels)
    for j, level in enumerate(levels):
        if sizes[j] < MIN_TESTED or not np.isfinite(each.se[j]):
            why = f"fewer than {MIN_TESTED} people" if sizes[j] < MIN_TESTED else "no variation to test"
            notes.append(f"{by}={level}: no trend test (n = {sizes[j]}, {why}); left out of the family")
            each.slope[j], each.se[j] = np.nan, np.nan
    return pooled, each, notes


def _trend_rows(unit_names: list[str], trends: Trends) -> pd.DataFrame:
    lo, hi = trends.ratio_ci()
    return pd.DataFrame(
        {
            "unit": unit_names,
            "slope": trends.slope,
            "se": trends.se,
            "ratio": trends.ratio(),
            "ratio_ci_low": lo,
            "ratio_ci_high": hi,
            "p_trend": trends.p_falling,
        }
    )


def _finish(kind: str, table: pd.DataFrame, deciles: pd.DataFrame, notes, by, alpha, test: str) -> Screen:
    adjusted = holm(table["p_trend"].to_numpy(dtype=float)) if by else table["p_trend"].to_numpy(dtype=float)
    tested = int(np.isfinite(adjusted).sum())
    correction = (
        f"Holm over {tested} tests (all, within {by!r}, + {tested - 1} levels of {by!r})" if by else "none (one test)"
    )
    table = table.assign(p_adjusted=adjusted, flagged=adjusted < alpha)
    overall = table.iloc[0]
    label = "enrolment odds" if kind == "creaming" else "service hours"
    return Screen(
        kind=kind,
        p_value=float(np.nanmin(adjusted)),
        alpha=alpha,
        test=test
        + (
            f"; the pooled test compares people within the same {by.removesuffix('_id').replace('_', ' ')} only"
            if by
            else ""
        ),
        correction=correction,
        table=table,
        deciles=deciles,
        notes=tuple(notes),
        meaning=_meaning(kind, by),
        headline=(
            f"Overall{' (within ' + repr(by) + ')' if by else ''}: {label} hardest vs easiest decile = "
            f"{overall['ratio']:.3g} (95% CI {overall['ratio_ci_low']:.3g} to {overall['ratio_ci_high']:.3g}), "
            f"n = {int(overall['n'])}"
        ),
    )


def _meaning(kind: str, by: str | None) -> str:
    """The flag's sentence: "comparing only people ... of the same provider" only when screened within one."""
    meaning = CREAMING_MEANING if kind == "creaming" else PARKING_MEANING
    if by == "provider_id":
        return meaning
    if by:
        return re.sub(r"(referred to|served by) the same provider", f"with the same {by}", meaning)
    lead = meaning.index(", ") + 2  # without a grouping, the comparison is across everyone screened
    return meaning[lead].upper() + meaning[lead + 1 :].replace(" at any of the providers screened", "")


def _check_alpha(alpha: float, caller: str) -> float:
    return float(check_parameter(alpha, "alpha", caller, Interval(float, 0, 1, closed="neither")))


def _check_by(by: str | None, caller: str) -> None:
    if by is not None and not isinstance(by, str):
        raise parameter_error("by", caller, "a column name or None", by)


def _smd_enrolled_vs_all(d: np.ndarray, enrolled: np.ndarray) -> tuple[float, float, float]:
    """SMD of difficulty, enrolled vs all eligible, with a 95% CI.

    The enrolled are part of the eligible, so the two means are not
    independent; but mean_enrolled - mean_all = (1 - f)(mean_enrolled -
    mean_not_enrolled) with f the enrolled share, and the right-hand difference
    is between independent groups. The CI treats f and the eligible SD (the
    denominator) as fixed.
    """
    d1, d0 = d[enrolled], d[~enrolled]
    sd = d.std(ddof=1) if len(d) > 1 else 0.0
    if len(d1) < 2 or len(d0) < 2 or sd == 0:
        return np.nan, np.nan, np.nan
    f = len(d1) / len(d)
    smd = (d1.mean() - d.mean()) / sd
    se = (1 - f) * np.sqrt(d1.var(ddof=1) / len(d1) + d0.var(ddof=1) / len(d0)) / sd
    return float(smd), float(smd - 1.96 * se), float(smd + 1.96 * se)


def _ks_enrolled_vs_all(d: np.ndarray, enrolled: np.ndarray) -> tuple[float, float]:
    """KS distance between the enrolled and all eligible, with its p-value.

    F_all - F_enrolled = (1 - f)(F_not - F_enrolled), so the distance to all
    eligible is (1 - f) times the two-sample distance to the not-enrolled; the
    p-value is that of the (valid, independent-samples) enrolled vs not-enrolled
    test.
    """
    d1, d0 = d[enrolled], d[~enrolled]
    if len(d1) == 0 or len(d0) == 0:
        return np.nan, np.nan
    res = stats.ks_2samp(d1, d0)
    return float((1 - len(d1) / len(d)) * res.statistic), float(res.pvalue)


def _creaming_deciles(unit: str, y: np.ndarray, d: np.ndarray, dec: np.ndarray) -> pd.DataFrame:
    n_dec = np.bincount(dec, minlength=11)[1:]
    x_dec = np.bincount(dec, weights=y, minlength=11)[1:]
    s_dec = np.bincount(dec, weights=d, minlength=11)[1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        lo, hi = proportion_confint(x_dec, np.maximum(n_dec, 1), alpha=0.05, method="wilson")
        return pd.DataFrame(
            dict(
                unit=unit,
                decile=np.arange(1, 11),
                n=n_dec,
                n_enrolled=x_dec.astype(int),
                rate=x_dec / n_dec,
                ci_low=np.where(n_dec > 0, lo, np.nan),
                ci_high=np.where(n_dec > 0, hi, np.nan),
                mean_difficulty=s_dec / n_dec,
            )
        )


def creaming_screen(
    eligible: pd.DataFrame,
    enrolled: str = "enrolled",
    difficulty: str = "difficulty",
    by: str | None = None,
    *,
    alpha: float = ALPHA,
) -> Screen:
    """Screen for creaming: are harder eligible people less likely to be enrolled?

    Parameters
    ----------
    eligible : DataFrame
        One row per person eligible for referral (everyone, enrolled or not).
    enrolled : str, default "enrolled"
        Boolean (or 0/1) column: was the person enrolled.
    difficulty : str, default "difficulty"
        Numeric column, higher = harder (e.g. expected probability of proven
        reoffending without the programme, or an OGRS score).
    by : str, optional
        Column to screen within as well (e.g. ``"provider_id"``): the pooled
        test becomes a within-provider trend (provider intercepts) and one
        test per level is added, with Holm's correction across the family.
    alpha : float, default 0.05

    Returns
    -------
    Screen
        ``table`` columns: unit, n, n_enrolled, rate, smd (enrolled vs all
        eligible, SD of all eligible as denominator) with smd_ci_low/high, ks_d,
        ks_p, slope (log-odds per unit percentile) and se, ratio (enrolment odds,
        hardest vs easiest decile) with ratio_ci_low/high, p_trend (one-sided,
        falling), p_adjusted, flagged. ``deciles``: unit, decile, n, n_enrolled,
        rate with Wilson 95% ci_low/high, mean_difficulty.

    Examples
    --------
    >>> from cohorts.synthetic import make_world
    >>> w = make_world(seed=4, n_eligible=3_000, n_pool=0, creaming=[0.0, 2.0] + [0.0] * 10)
    >>> s = creaming_screen(w.eligible.merge(w.truth.people), by="provider_id")
    >>> s.flagged_units
    ['PRV02']
    """
    caller = "creaming_screen"
    alpha = _check_alpha(alpha, caller)
    _check_by(by, caller)
    cols = {"enrolled": enrolled, "difficulty": difficulty} | ({"by": by} if by else {})
    require_columns(eligible, cols, table="eligible", complete=True)
    y = flag_values(eligible, enrolled, "enrolled", "eligible", caller).astype(bool)
    d = number_column(eligible, difficulty, argument="difficulty", table="eligible")
    if y.all() or not y.any():
        raise ModelError(
            f"{caller}: the {enrolled!r} column is {'all True' if y.any() else 'all False'} "
            f"over {len(y)} rows; creaming needs both enrolled and not-enrolled eligible people"
        )
    pct = percentile_rank(d)
    dec = decile_of(pct)
    levels, code = _units(eligible, by)
    pooled, each, notes = _family_trends(y.astype(float), pct, code, levels, "logit", by, caller)
    masks = [np.ones(len(y), dtype=bool)] + [code == j for j in range(len(levels))]
    described = []
    for m in masks:
        smd, smd_lo, smd_hi = _smd_enrolled_vs_all(d[m], y[m])
        ks_d, ks_p = _ks_enrolled_vs_all(d[m], y[m])
        described.append(
            dict(n=int(m.sum()), n_enrolled=int(y[m].sum()), rate=float(y[m].mean()), smd=smd)
            | dict(smd_ci_low=smd_lo, smd_ci_high=smd_hi, ks_d=ks_d, ks_p=ks_p)
        )
    units = [OVERALL, *levels]
    trends = Trends.concat(pooled, each)
    table = pd.concat([pd.DataFrame(described), _trend_rows(units, trends).drop(columns="unit")], axis=1)
    table.insert(0, "unit", units)
    deciles = pd.concat([_creaming_deciles(u, y[m], d[m], dec[m]) for u, m in zip(units, masks)], ignore_index=True)
    return _finish(
        "creaming",
        table,
        deciles,
        notes,
        by,
        alpha,
        "one-sided Wald test that enrolment log-odds fall with the difficulty percentile "
        "(logistic regression of enrolment on percentile rank)",
    )


def _parking_deciles(unit: str, h: np.ndarray, d: np.ndarray, dec: np.ndarray, outcome) -> pd.DataFrame:
    n_dec = np.bincount(dec, minlength=11)[1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        s1 = np.bincount(dec, weights=h, minlength=11)[1:]
        s2 = np.bincount(dec, weights=h**2, minlength=11)[1:]
        mean = s1 / n_dec
        se = np.sqrt(np.maximum(s2 / n_dec - mean**2, 0) / np.maximum(n_dec - 1, 1))
        frame = dict(
            unit=unit,
            decile=np.arange(1, 11),
            n=n_dec,
            mean_hours=mean,
            ci_low=mean - 1.96 * se,
            ci_high=mean + 1.96 * se,
            mean_difficulty=np.bincount(dec, weights=d, minlength=11)[1:] / n_dec,
        )
        if outcome is not None:
            obs, exp_p = outcome
            o_dec = np.bincount(dec, weights=obs, minlength=11)[1:]
            e_dec = np.bincount(dec, weights=exp_p, minlength=11)[1:]
            frame |= dict(observed=o_dec / n_dec, expected=e_dec / n_dec, oe_ratio=o_dec / e_dec)
    return pd.DataFrame(frame)


def _parking_inputs(enrolled: pd.DataFrame, difficulty, intensity, attained, expected, by, caller) -> tuple:
    if (attained is None) != (expected is None):
        raise parameter_error(
            "attained", caller, "given together with 'expected' (both or neither)", (attained, expected)
        )
    cols = {"difficulty": difficulty, "intensity": intensity}
    cols |= ({"attained": attained, "expected": expected} if attained else {}) | ({"by": by} if by else {})
    require_columns(enrolled, cols, table="enrolled", complete=True)
    h = number_column(enrolled, intensity, argument="intensity", table="enrolled")
    negative = np.flatnonzero(h < 0)
    if negative.size:
        raise SchemaError(
            f"{caller}: the 'intensity' column {intensity!r} must be >= 0; negative at rows {negative[:10].tolist()}",
            table="enrolled",
        )
    outcome = None
    if attained is not None:
        obs = flag_values(enrolled, attained, "attained", "enrolled", caller)
        outcome = (obs, np.clip(enrolled[expected].to_numpy(dtype=float), 1e-6, 1 - 1e-6))
    return h, number_column(enrolled, difficulty, argument="difficulty", table="enrolled"), outcome


def parking_screen(
    enrolled: pd.DataFrame,
    difficulty: str = "difficulty",
    intensity: str = "hours",
    attained: str | None = None,
    expected: str | None = None,
    by: str | None = None,
    *,
    alpha: float = ALPHA,
) -> Screen:
    """Screen for parking: do harder enrolled people get less service, or
    attain less than expected?

    Parameters
    ----------
    enrolled : DataFrame
        One row per enrolled person, with total service intensity (people with
        no service contact belong here with 0 hours, not left out).
    difficulty : str, default "difficulty"
        Numeric column, higher = harder.
    intensity : str, default "hours"
        Non-negative service intensity per person (hours, contacts or cost).
    attained, expected : str, optional
        Observed outcome (bool/0-1) and its expected probability for the same
        person (e.g. from ``cohorts.difficulty``); given together, they add
        observed, expected and O/E by decile and a one-sided test that O/E falls
        with difficulty (logistic regression of attainment on the percentile
        with logit(expected) as offset). That test is reported; the flag is the
        service-intensity trend test.
    by : str, optional
        Column to screen within as well (e.g. ``"provider_id"``): the pooled
        test becomes a within-provider trend and one test per level is added,
        with Holm's correction across the family.
    alpha : float, default 0.05

    Returns
    -------
    Screen
        ``table`` columns: unit, n, mean_hours, slope (log hours per unit
        percentile) and se, ratio (mean hours, hardest vs easiest decile) with
        ratio_ci_low/high, p_trend (one-sided, falling), p_adjusted, flagged;
        with outcomes also observed, expected, oe_ratio, oe_slope,
        p_attainment. ``deciles``: unit, decile, n, mean_hours with 95%
        ci_low/high (normal), mean_difficulty, and observed/expected/oe_ratio.

    Examples
    --------
    >>> from cohorts.synthetic import make_world
    >>> w = make_world(seed=4, n_eligible=3_000, n_pool=0, parking=[0.0, 1.5] + [0.0] * 10)
    >>> hours = w.services.groupby("person_id")["hours"].sum()
    >>> people = w.people.merge(w.truth.people).assign(hours=lambda d: d["person_id"].map(hours).fillna(0.0))
    >>> parking_screen(people, by="provider_id").flagged_units
    ['PRV02']
    """
    caller = "parking_screen"
    alpha = _check_alpha(alpha, caller)
    _check_by(by, caller)
    h, d, outcome = _parking_inputs(enrolled, difficulty, intensity, attained, expected, by, caller)
    pct = percentile_rank(d)
    dec = decile_of(pct)
    levels, code = _units(enrolled, by)
    pooled, each, notes = _family_trends(h, pct, code, levels, "poisson", by, caller)
    units = [OVERALL, *levels]
    masks = [np.ones(len(h), dtype=bool)] + [code == j for j in range(len(levels))]
    trends = Trends.concat(pooled, each)
    table = _trend_rows(units, trends)
    table.insert(1, "n", [int(m.sum()) for m in masks])
    table.insert(2, "mean_hours", [float(h[m].mean()) if m.any() else np.nan for m in masks])
    if outcome is not None:
        obs, exp_p = outcome
        oe = [_attainment_trend(obs[m], exp_p[m], pct[m]) for m in masks]
        table = table.assign(
            observed=[obs[m].mean() for m in masks],
            expected=[exp_p[m].mean() for m in masks],
            oe_ratio=[obs[m].sum() / exp_p[m].sum() for m in masks],
            oe_slope=[t.slope[0] for t in oe],
            p_attainment=[t.p_falling[0] for t in oe],
        )
    deciles = pd.concat(
        [
            _parking_deciles(u, h[m], d[m], dec[m], None if outcome is None else (outcome[0][m], outcome[1][m]))
            for u, m in zip(units, masks)
        ],
        ignore_index=True,
    )
    return _finish(
        "parking",
        table,
        deciles,
        notes,
        by,
        alpha,
        "one-sided Wald test that mean service hours fall with the difficulty percentile "
        "(log-link Poisson quasi-likelihood regression, HC1 standard errors)",
    )


def _attainment_trend(obs: np.ndarray, expected: np.ndarray, pct: np.ndarray) -> Trends:
    """Slope of attainment relative to expectation: logit P(attained) =
    logit(expected) + a + b * percentile; b < 0 means harder people fall
    further below what was expected of them."""
    none = Trends(np.array([np.nan]), np.array([np.nan]))
    if len(obs) < 3 or obs.min() == obs.max():
        return none
    X = np.column_stack([np.ones_like(pct), pct])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = GLM(obs, X, family=families.Binomial(), offset=np.log(expected / (1 - expected))).fit()
        except (np.linalg.LinAlgError, ValueError):
            return none
    return Trends(np.array([float(res.params[1])]), np.array([float(res.bse[1])]))
