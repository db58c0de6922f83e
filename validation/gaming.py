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
* With ``by=`` (e.g. provider) the family of tests is the overall test plus one
  per provider, and **Holm's step-down correction** is applied across that
  family, so the chance of any false flag is at most ``alpha``. Providers whose
  model cannot be fitted (everyone or no one enrolled, fewer than 2 people)
  get no p-value and are left out of the family; the summary says so.
* The SMD and KS statistics describe *how much* the enrolled differ from all
  eligible people; they are reported with their CI / p-value but do not drive
  the flag (they answer "are the enrolled easier?", which creaming implies but
  which a change in the referral mix can also produce).

References
----------
Koning, P. & Heinrich, C. J. (2013). Cream-skimming, parking and other intended
and unintended effects of high-powered, performance-based contracts. *Journal of
Policy Analysis and Management* 32(3), 461-483.
Holm, S. (1979). A simple sequentially rejective multiple test procedure.
*Scandinavian Journal of Statistics* 6, 65-70.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from ground.checks import require_columns
from ground.errors import ModelError, SchemaError

ALPHA = 0.05
# Decile midpoints 0.05 and 0.95: exp(SPAN * slope) is the hardest-vs-easiest ratio.
SPAN = 0.9
OVERALL = "all"


def flag_values(df: pd.DataFrame, column: str, arg: str, table: str, caller: str) -> np.ndarray:
    """A bool or 0/1 column as floats (NaN where missing); SchemaError naming the
    rows that hold anything else (e.g. the text "yes")."""
    raw = df[column]
    values = pd.to_numeric(raw.astype(object), errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(raw.notna().to_numpy() & ~np.isin(values, (0.0, 1.0)))
    if bad.size:
        shown = ", ".join(f"{r} ({raw.iloc[r : r + 1].astype(object).tolist()[0]!r})" for r in bad[:5])
        raise SchemaError(
            f"{caller}: the {arg!r} column {column!r} must be bool or 0/1; other values at rows "
            f"{shown}{' ...' if bad.size > 5 else ''}",
            table=table,
        )
    return values


def percentile_rank(values: np.ndarray) -> np.ndarray:
    """Mid-rank percentile in (0, 1): ties share their average rank."""
    return (stats.rankdata(values, method="average") - 0.5) / len(values)


def decile_of(pct: np.ndarray) -> np.ndarray:
    """Decile 1 (easiest) to 10 (hardest) of a percentile rank."""
    return np.minimum((pct * 10).astype(int), 9) + 1


@dataclass(frozen=True)
class Trend:
    """Slope of a trend model on the difficulty percentile (one unit)."""

    slope: float
    se: float
    p_falling: float  # one-sided: H1 slope < 0

    @property
    def ratio(self) -> float:
        return float(np.exp(SPAN * self.slope))

    def ratio_ci(self, level: float = 0.95) -> tuple[float, float]:
        z = stats.norm.ppf(0.5 + level / 2)
        return (
            float(np.exp(SPAN * (self.slope - z * self.se))),
            float(np.exp(SPAN * (self.slope + z * self.se))),
        )


NO_TREND = Trend(np.nan, np.nan, np.nan)


def _fit_trend(y: np.ndarray, pct: np.ndarray, family: str) -> Trend:
    """Wald test of the percentile slope; ``family`` is "logit" or "poisson"."""
    X = np.column_stack([np.ones_like(pct), pct])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if family == "logit":
                res = sm.Logit(y.astype(float), X).fit(disp=0, method="newton", maxiter=100)
            else:
                res = sm.GLM(y, X, family=sm.families.Poisson()).fit(cov_type="HC1")
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise ModelError(f"the trend model ({family}) could not be fitted: {exc}") from exc
    slope, se = float(res.params[1]), float(res.bse[1])
    if not np.isfinite(se) or se <= 0:
        raise ModelError(f"the trend model ({family}) gave no usable standard error for the slope")
    return Trend(slope, se, float(stats.norm.cdf(slope / se)))


def _groups(df: pd.DataFrame, by: str | None) -> list[tuple[str, np.ndarray]]:
    """(label, boolean row mask) for the overall unit and each level of ``by``."""
    units = [(OVERALL, np.ones(len(df), dtype=bool))]
    if by is not None:
        codes = df[by].astype(str).to_numpy()
        units += [(level, codes == level) for level in sorted(pd.unique(codes))]
    return units


def _unit_trend(
    y: np.ndarray,
    pct: np.ndarray,
    family: str,
    testable: bool,
    unit: str,
    by: str | None,
    notes: list[str],
    caller: str,
) -> Trend:
    """The trend for one unit. The overall unit must have one (else ModelError);
    a level of ``by`` without one is noted and left out of the family."""
    try:
        trend = _fit_trend(y, pct, family) if testable else NO_TREND
    except ModelError:
        if unit == OVERALL:
            raise
        trend = NO_TREND
    if not np.isfinite(trend.p_falling):
        if unit == OVERALL:
            raise ModelError(
                f"{caller}: no trend test is possible over all {len(y)} rows "
                "(need at least 3 people and some variation in the outcome)"
            )
        notes.append(f"{by}={unit}: no trend test (n = {len(y)}); left out of the family")
    return trend


def _screen(
    kind: str, test: str, rows: list[dict], dec_rows: list[pd.DataFrame], notes: list[str], by: str | None, alpha: float
) -> Screen:
    table, p_value, correction = _correct(pd.DataFrame(rows), by, alpha)
    return Screen(
        kind=kind,
        p_value=p_value,
        alpha=alpha,
        test=test,
        correction=correction,
        table=table,
        deciles=pd.concat(dec_rows, ignore_index=True),
        notes=tuple(notes),
    )


def _correct(table: pd.DataFrame, by: str | None, alpha: float) -> tuple[pd.DataFrame, float, str]:
    """Add Holm-adjusted p-values and flags; return the screen's deciding p."""
    p = table["p_trend"].to_numpy(dtype=float)
    tested = np.isfinite(p)
    adjusted = np.full(len(p), np.nan)
    if by is None:
        adjusted[tested] = p[tested]
        correction = "none (one test)"
    else:
        adjusted[tested] = multipletests(p[tested], method="holm")[1]
        correction = f"Holm over {int(tested.sum())} tests (overall + {int(tested.sum()) - 1} levels of {by!r})"
    table = table.assign(p_adjusted=adjusted, flagged=adjusted < alpha)
    return table, float(np.nanmin(adjusted)), correction


@dataclass(frozen=True)
class Screen:
    """Result of a creaming or parking screen.

    Attributes
    ----------
    kind : {"creaming", "parking"}
    p_value : float
        The deciding p-value: the one-sided trend test, Holm-adjusted (smallest
        over the family) when ``by`` was given.
    alpha : float
    test : str
        Plain description of the deciding test.
    correction : str
        The multiple-comparison correction applied.
    table : DataFrame
        One row per unit (``"all"`` and each level of ``by``): sizes, effect
        sizes with CIs, trend slopes, raw and adjusted p-values, flags.
    deciles : DataFrame
        One row per unit and difficulty decile (1 = easiest, 10 = hardest).
    notes : tuple of str
    """

    kind: str
    p_value: float
    alpha: float
    test: str
    correction: str
    table: pd.DataFrame = field(repr=False)
    deciles: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...] = ()

    @property
    def flagged(self) -> bool:
        """True when the deciding p-value is below ``alpha``."""
        return bool(self.p_value < self.alpha)

    @property
    def flagged_units(self) -> list[str]:
        """Units (``"all"`` and/or levels of ``by``) whose adjusted p < alpha."""
        return self.table.loc[self.table["flagged"], "unit"].tolist()

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "flagged": self.flagged,
            "flagged_units": self.flagged_units,
            "p_value": self.p_value,
            "alpha": self.alpha,
            "test": self.test,
            "correction": self.correction,
            "notes": list(self.notes),
            "table": _records(self.table),
            "deciles": _records(self.deciles),
        }

    def summary(self) -> str:
        verdict = "FLAGGED" if self.flagged else "not flagged"
        overall = self.table.iloc[0]
        label = "enrolment odds" if self.kind == "creaming" else "service hours"
        lines = [
            f"{self.kind.capitalize()} screen: {verdict} (p = {self.p_value:.3g}, alpha = {self.alpha})",
            f"Test: {self.test}",
            f"Correction: {self.correction}",
            f"Overall: {label} hardest vs easiest decile = {overall['ratio']:.3g} "
            f"(95% CI {overall['ratio_ci_low']:.3g} to {overall['ratio_ci_high']:.3g}), n = {int(overall['n'])}",
        ]
        if self.flagged_units:
            lines.append("Flagged: " + ", ".join(self.flagged_units))
        lines += list(self.notes)
        cols = [c for c in self.table.columns if c not in ("flagged",)]
        lines += ["", self.table[cols].to_string(index=False, float_format=lambda v: f"{v:.3g}")]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def plot(self, ax=None):
        """Decile means (rate or hours) with 95% CIs: overall and flagged units
        drawn with their CIs, other units as faint lines."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        value = "rate" if self.kind == "creaming" else "mean_hours"
        flagged = set(self.flagged_units)
        for unit, d in self.deciles.groupby("unit", sort=False):
            if unit == OVERALL or unit in flagged:
                err = np.vstack([d[value] - d["ci_low"], d["ci_high"] - d[value]])
                ax.errorbar(
                    d["decile"],
                    d[value],
                    yerr=err,
                    marker="o",
                    capsize=2,
                    lw=2 if unit == OVERALL else 1.2,
                    color="black" if unit == OVERALL else None,
                    label=f"{unit}{' (flagged)' if unit in flagged else ''}",
                )
            else:
                ax.plot(d["decile"], d[value], color="grey", lw=0.6, alpha=0.5)
        ax.set_xlabel("difficulty decile (1 = easiest, 10 = hardest)")
        ax.set_ylabel("enrolment rate" if self.kind == "creaming" else "mean service hours")
        ax.set_xticks(range(1, 11))
        ax.set_title(f"{self.kind} screen: p = {self.p_value:.3g}" + (" (flagged)" if self.flagged else ""))
        ax.legend(fontsize="small")
        return ax


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            k: (None if isinstance(v, float) and not np.isfinite(v) else v.item() if isinstance(v, np.generic) else v)
            for k, v in row.items()
        }
        for row in df.to_dict(orient="records")
    ]


def _wilson(x: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        return proportion_confint(x, np.maximum(n, 1), alpha=0.05, method="wilson")


def _smd_enrolled_vs_all(d: np.ndarray, enrolled: np.ndarray) -> tuple[float, float, float]:
    """SMD of difficulty, enrolled vs all eligible, with a 95% CI.

    The enrolled are part of the eligible, so the two means are not
    independent; but mean_enrolled - mean_all = (1 - f)(mean_enrolled -
    mean_not_enrolled) with f the enrolled share, and the right-hand difference
    is between independent groups. The CI treats f and the eligible SD (the
    denominator) as fixed.
    """
    d1, d0 = d[enrolled], d[~enrolled]
    sd = d.std(ddof=1)
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
        Column to screen within as well (e.g. ``"provider_id"``); adds one test
        per level with Holm's correction across the family.
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
    >>> s = creaming_screen(world.eligible.merge(world.truth.people), by="provider_id")  # doctest: +SKIP
    >>> s.flagged, round(s.p_value, 3)  # doctest: +SKIP
    (False, 0.412)
    """
    caller = "creaming_screen"
    cols = {"enrolled": enrolled, "difficulty": difficulty} | ({"by": by} if by else {})
    require_columns(eligible, cols, table="eligible", complete=True)
    y = flag_values(eligible, enrolled, "enrolled", "eligible", caller).astype(bool)
    d = eligible[difficulty].to_numpy(dtype=float)
    if y.all() or not y.any():
        raise ModelError(
            f"{caller}: the {enrolled!r} column is {'all True' if y.any() else 'all False'} "
            f"over {len(y)} rows; creaming needs both enrolled and not-enrolled eligible people"
        )
    pct = percentile_rank(d)
    dec = decile_of(pct)
    rows, dec_rows, notes = [], [], []
    for unit, m in _groups(eligible, by):
        yu, du, pu = y[m], d[m], pct[m]
        trend = _unit_trend(yu, pu, "logit", 0 < yu.sum() < len(yu), unit, by, notes, caller)
        smd, smd_lo, smd_hi = _smd_enrolled_vs_all(du, yu)
        ks_d, ks_p = _ks_enrolled_vs_all(du, yu)
        lo, hi = trend.ratio_ci()
        rows.append(
            dict(
                unit=unit,
                n=len(yu),
                n_enrolled=int(yu.sum()),
                rate=yu.mean(),
                smd=smd,
                smd_ci_low=smd_lo,
                smd_ci_high=smd_hi,
                ks_d=ks_d,
                ks_p=ks_p,
                slope=trend.slope,
                se=trend.se,
                ratio=trend.ratio,
                ratio_ci_low=lo,
                ratio_ci_high=hi,
                p_trend=trend.p_falling,
            )
        )
        n_dec = np.bincount(dec[m], minlength=11)[1:]
        x_dec = np.bincount(dec[m], weights=yu, minlength=11)[1:]
        s_dec = np.bincount(dec[m], weights=du, minlength=11)[1:]
        ci_lo, ci_hi = _wilson(x_dec, n_dec)
        with np.errstate(invalid="ignore", divide="ignore"):
            dec_rows.append(
                pd.DataFrame(
                    dict(
                        unit=unit,
                        decile=np.arange(1, 11),
                        n=n_dec,
                        n_enrolled=x_dec.astype(int),
                        rate=x_dec / n_dec,
                        ci_low=np.where(n_dec > 0, ci_lo, np.nan),
                        ci_high=np.where(n_dec > 0, ci_hi, np.nan),
                        mean_difficulty=s_dec / n_dec,
                    )
                )
            )
    return _screen(
        "creaming",
        "one-sided Wald test that enrolment log-odds fall with the difficulty percentile "
        "(logistic regression of enrolment on percentile rank)",
        rows,
        dec_rows,
        notes,
        by,
        alpha,
    )


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
        Column to screen within as well (e.g. ``"provider_id"``); Holm's
        correction across the overall test and one per level.
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
    >>> hours = services.groupby("person_id")["hours"].sum()  # doctest: +SKIP
    >>> s = parking_screen(people.assign(hours=people.person_id.map(hours).fillna(0)))  # doctest: +SKIP
    >>> print(s.summary())  # doctest: +SKIP
    """
    caller = "parking_screen"
    if (attained is None) != (expected is None):
        raise SchemaError(
            f"The 'attained' and 'expected' parameters of {caller} must be given together. "
            f"Got attained={attained!r}, expected={expected!r} instead.",
            table="enrolled",
        )
    cols = {"difficulty": difficulty, "intensity": intensity}
    cols |= ({"attained": attained, "expected": expected} if attained else {}) | ({"by": by} if by else {})
    require_columns(enrolled, cols, table="enrolled", complete=True)
    h = enrolled[intensity].to_numpy(dtype=float)
    negative = np.flatnonzero(h < 0)
    if negative.size:
        raise SchemaError(
            f"{caller}: the 'intensity' column {intensity!r} must be >= 0; negative at rows {negative[:10].tolist()}",
            table="enrolled",
        )
    d = enrolled[difficulty].to_numpy(dtype=float)
    pct = percentile_rank(d)
    dec = decile_of(pct)
    outcomes = attained is not None
    if outcomes:
        obs = flag_values(enrolled, attained, "attained", "enrolled", caller)
        exp_p = np.clip(enrolled[expected].to_numpy(dtype=float), 1e-6, 1 - 1e-6)
    rows, dec_rows, notes = [], [], []
    for unit, m in _groups(enrolled, by):
        hu, pu = h[m], pct[m]
        trend = _unit_trend(hu, pu, "poisson", len(hu) >= 3 and hu.sum() > 0, unit, by, notes, caller)
        lo, hi = trend.ratio_ci()
        row = dict(
            unit=unit,
            n=len(hu),
            mean_hours=hu.mean(),
            slope=trend.slope,
            se=trend.se,
            ratio=trend.ratio,
            ratio_ci_low=lo,
            ratio_ci_high=hi,
            p_trend=trend.p_falling,
        )
        n_dec = np.bincount(dec[m], minlength=11)[1:]
        with np.errstate(invalid="ignore", divide="ignore"):
            s1 = np.bincount(dec[m], weights=hu, minlength=11)[1:]
            s2 = np.bincount(dec[m], weights=hu**2, minlength=11)[1:]
            mean = s1 / n_dec
            se = np.sqrt(np.maximum(s2 / n_dec - mean**2, 0) / np.maximum(n_dec - 1, 1))
            dec_frame = dict(
                unit=unit,
                decile=np.arange(1, 11),
                n=n_dec,
                mean_hours=mean,
                ci_low=mean - 1.96 * se,
                ci_high=mean + 1.96 * se,
                mean_difficulty=np.bincount(dec[m], weights=d[m], minlength=11)[1:] / n_dec,
            )
            if outcomes:
                o_dec = np.bincount(dec[m], weights=obs[m], minlength=11)[1:]
                e_dec = np.bincount(dec[m], weights=exp_p[m], minlength=11)[1:]
                dec_frame |= dict(observed=o_dec / n_dec, expected=e_dec / n_dec, oe_ratio=o_dec / e_dec)
                oe = _attainment_trend(obs[m], exp_p[m], pu)
                row |= dict(
                    observed=obs[m].mean(),
                    expected=exp_p[m].mean(),
                    oe_ratio=obs[m].sum() / exp_p[m].sum(),
                    oe_slope=oe.slope,
                    p_attainment=oe.p_falling,
                )
        rows.append(row)
        dec_rows.append(pd.DataFrame(dec_frame))
    return _screen(
        "parking",
        "one-sided Wald test that mean service hours fall with the difficulty percentile "
        "(log-link Poisson quasi-likelihood regression, HC1 standard errors)",
        rows,
        dec_rows,
        notes,
        by,
        alpha,
    )


def _attainment_trend(obs: np.ndarray, expected: np.ndarray, pct: np.ndarray) -> Trend:
    """Slope of attainment relative to expectation: logit P(attained) =
    logit(expected) + a + b * percentile; b < 0 means harder people fall
    further below what was expected of them."""
    if len(obs) < 3 or obs.min() == obs.max():
        return NO_TREND
    X = np.column_stack([np.ones_like(pct), pct])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = sm.GLM(obs, X, family=sm.families.Binomial(), offset=np.log(expected / (1 - expected))).fit()
        except (np.linalg.LinAlgError, ValueError):
            return NO_TREND
    slope, se = float(res.params[1]), float(res.bse[1])
    return Trend(slope, se, float(stats.norm.cdf(slope / se)))
