"""What every gaming screen shares: the ``Screen`` result, trend fits within strata,
observed-vs-expected tests per provider, Holm's correction and the fair sentence.

A screen asks one question of every provider and of all providers together,
and must not accuse an honest one. Three habits keep it fair:

* **Like with like.** The pooled test compares each person only with people at
  the same provider (provider intercepts), so providers that merely differ in
  case-mix and enrolment rate are not mistaken for creaming. Observed-vs-
  expected screens compare each provider with what a case-mix model fitted on
  all providers predicts for *its* people.
* **One family, one error rate.** The pooled test and one test per provider
  form a family; Holm's step-down correction holds the chance of any false
  flag in the family at ``alpha``.
* **Overdispersion.** Observed-vs-expected z-scores are compared across
  providers as a funnel plot's are (Spiegelhalter 2005): winsorised at 10% at
  each end, ``phi = mean(z**2)``, and when ``phi > 1`` every z is divided by
  ``sqrt(phi)``, so variation the case-mix model does not explain is not read
  as gaming. One provider far out is winsorised and so does not hide itself.
  With fewer than 10 providers phi cannot be estimated and is taken as 1.

References
----------
Holm, S. (1979). A simple sequentially rejective multiple test procedure.
*Scandinavian Journal of Statistics* 6, 65-70.
Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional
performance. *Statistics in Medicine* 24, 1185-1202.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ground.errors import ModelError, SchemaError

ALPHA = 0.05
# Decile midpoints 0.05 and 0.95: exp(SPAN * slope) is the hardest-vs-easiest ratio.
SPAN = 0.9
OVERALL = "all"
#: Units with fewer people than this get no test of their own (and are named in the notes).
MIN_TESTED = 20
#: Fewer tested units than this give no usable overdispersion estimate: none is applied.
MIN_UNITS_FOR_PHI = 10
_NEWTON_STEPS = 50


def flag_values(df: pd.DataFrame, column: str, arg: str, table: str, caller: str) -> np.ndarray:
    """A bool or 0/1 column as floats (NaN where missing); SchemaError naming the
    rows that hold anything else (e.g. the text "yes")."""
    raw = df[column]
    if pd.api.types.is_bool_dtype(raw.dtype) and not raw.isna().any():
        return raw.to_numpy(dtype=float)
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
    ranks = pd.Series(np.asarray(values, dtype=float)).rank(method="average").to_numpy()
    return (ranks - 0.5) / len(ranks)


def decile_of(pct: np.ndarray) -> np.ndarray:
    """Decile 1 (easiest) to 10 (hardest) of a percentile rank."""
    return np.minimum((pct * 10).astype(int), 9) + 1


@dataclass(frozen=True)
class Trends:
    """Slopes (per unit of the difficulty percentile) with standard errors, one per stratum.

    ``df`` (degrees of freedom per stratum) makes the reference distribution a
    t rather than the normal: used with sandwich standard errors, which are
    too small in small samples.
    """

    slope: np.ndarray
    se: np.ndarray
    df: np.ndarray | None = None

    @staticmethod
    def concat(first: Trends, second: Trends) -> Trends:
        """The strata of ``first`` followed by those of ``second``."""
        if first.df is None and second.df is None:
            df = None
        else:
            df = np.r_[
                np.full(len(first.slope), np.inf) if first.df is None else first.df,
                np.full(len(second.slope), np.inf) if second.df is None else second.df,
            ]
        return Trends(np.r_[first.slope, second.slope], np.r_[first.se, second.se], df)

    def _reference(self):
        return stats.norm if self.df is None else stats.t(np.maximum(self.df, 1))

    @property
    def p_falling(self) -> np.ndarray:
        """One-sided p-values of H1: slope < 0 (NaN where there is no test)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self._reference().cdf(self.slope / self.se)

    def ratio(self) -> np.ndarray:
        return np.exp(SPAN * self.slope)

    def ratio_ci(self, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
        z = self._reference().ppf(1 - alpha / 2)
        return np.exp(SPAN * (self.slope - z * self.se)), np.exp(SPAN * (self.slope + z * self.se))


def _mean_and_weight(eta: np.ndarray, family: str) -> tuple[np.ndarray, np.ndarray]:
    if family == "logit":
        mu = 1.0 / (1.0 + np.exp(-eta))
        return mu, mu * (1 - mu)
    mu = np.exp(eta)
    return mu, mu


def _start(y: np.ndarray, code: np.ndarray, n_strata: int, family: str) -> np.ndarray:
    """Stratum intercepts at the stratum mean (on the link scale)."""
    n = np.bincount(code, minlength=n_strata)
    mean = np.bincount(code, weights=y, minlength=n_strata) / np.maximum(n, 1)
    if family == "logit":
        mean = np.clip(mean, 1e-6, 1 - 1e-6)
        return np.log(mean / (1 - mean))
    return np.log(np.maximum(mean, 1e-12))


def separate_trends(y: np.ndarray, x: np.ndarray, code: np.ndarray, n_strata: int, family: str) -> Trends:
    """A two-parameter trend model (intercept + slope on ``x``) in every stratum at once.

    ``family="logit"``: logistic regression, Wald SE from the information.
    ``family="poisson"``: log-link Poisson quasi-likelihood with HC3 sandwich
    SE (each squared residual divided by (1 - h)^2, h the GLM leverage) and a
    t reference on Satterthwaite degrees of freedom (:func:`satterthwaite_df`):
    the plain sandwich is too small in a provider of a few dozen people, and
    skewed hours make even HC3 on n - 2 degrees of freedom flag too often. Newton
    steps run on all strata together with ``np.bincount``, so hundreds of
    providers cost what one does. A stratum without variation in ``y`` (or
    fewer than 3 people) gets NaN.
    """

    def sums(values: np.ndarray) -> np.ndarray:
        return np.bincount(code, weights=values, minlength=n_strata)

    a, b = _start(y, code, n_strata, family), np.zeros(n_strata)
    for _ in range(_NEWTON_STEPS):
        mu, w = _mean_and_weight(a[code] + b[code] * x, family)
        r = y - mu
        h00, h01, h11 = sums(w), sums(w * x), sums(w * x * x)
        g0, g1 = sums(r), sums(r * x)
        det = h00 * h11 - h01**2
        with np.errstate(invalid="ignore", divide="ignore"):
            da, db = (h11 * g0 - h01 * g1) / det, (h00 * g1 - h01 * g0) / det
        da, db = np.nan_to_num(da), np.nan_to_num(db)
        a, b = a + da, b + db
        if np.max(np.abs(db), initial=0) < 1e-10 and np.max(np.abs(da), initial=0) < 1e-10:
            break
    mu, w = _mean_and_weight(a[code] + b[code] * x, family)
    h00, h01, h11 = sums(w), sums(w * x), sums(w * x * x)
    det = h00 * h11 - h01**2
    n = np.bincount(code, minlength=n_strata)
    with np.errstate(invalid="ignore", divide="ignore"):
        if family == "logit":
            var = h00 / det
        else:
            # HC3 sandwich: the slope is b + sum u_i, u_i = (row 2 of (X'WX)^-1) x_i (y_i - mu_i) / (1 - h_i).
            leverage = w * (h11[code] - 2 * h01[code] * x + h00[code] * x * x) / det[code]
            u2 = ((-h01 / det)[code] + (h00 / det)[code] * x) ** 2 * (y - mu) ** 2
            u2 = u2 / np.maximum(1 - leverage, 1e-8) ** 2
            var = sums(u2)
            df = satterthwaite_df(var, sums(u2**2), n)
    variation = (sums(y) > 0) & (sums(y) < n if family == "logit" else True) & (n >= 3)
    good = variation & np.isfinite(var) & (var > 0)
    slope, se = np.where(good, b, np.nan), np.where(good, np.sqrt(np.where(good, var, 1.0)), np.nan)
    return Trends(slope, se, None if family == "logit" else df)


def satterthwaite_df(sum_u2: np.ndarray, sum_u4: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Degrees of freedom of a sandwich variance V = sum u_i^2, Welch-Satterthwaite style:
    2 V^2 / (sum u_i^4 - V^2 / n), which is n when the u_i are normal with equal weights and
    falls as their kurtosis rises (skewed hours, a few large ones).

    Referring the Wald statistic to a t on these degrees of freedom keeps a one-sided test's size
    at its nominal level in providers of 40 to 300 people with gamma-distributed hours, where a t
    on n - 2 flags 10-45% too often at the levels Holm's correction uses (0.002-0.004).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        df = 2 * sum_u2**2 / np.maximum(sum_u4 - sum_u2**2 / n, 1e-300)
    return np.clip(np.nan_to_num(df, nan=1.0), 1.0, np.maximum(n - 2, 1.0))


def common_trend(y: np.ndarray, x: np.ndarray, code: np.ndarray, n_strata: int, family: str) -> Trends:
    """One slope on ``x`` shared by all strata, with an intercept per stratum (fixed effects).

    Newton steps use the Schur complement of the diagonal intercept block, so
    the cost is linear in the rows whatever the number of strata. The slope's
    SE is model-based for ``"logit"`` and an HC3 sandwich for ``"poisson"``
    (its score residualised within strata: (y - mu)(x - the stratum's
    weighted mean of x), each term divided by 1 - h, with the fixed-effects
    leverage h = w (1 / W_s + (x - xbar_s)^2 / S)), referred to a t on
    Satterthwaite degrees of freedom. Strata in which ``y`` does not vary
    carry no information on the slope and are left out. Returns one-element
    arrays.
    """
    n = np.bincount(code, minlength=n_strata)
    total = np.bincount(code, weights=y, minlength=n_strata)
    informative = (total > 0) & ((total < n) if family == "logit" else True)
    keep = informative[code]
    y, x, code = y[keep], x[keep], code[keep]
    if len(y) < 3 or not informative.any():
        return Trends(np.array([np.nan]), np.array([np.nan]))

    def sums(values: np.ndarray) -> np.ndarray:
        return np.bincount(code, weights=values, minlength=n_strata)

    a, b = _start(y, code, n_strata, family), 0.0
    for _ in range(_NEWTON_STEPS):
        mu, w = _mean_and_weight(a[code] + b * x, family)
        r = y - mu
        h, g = np.maximum(sums(w), 1e-300), sums(w * x)
        schur = np.sum(w * x * x) - np.sum(g**2 / h)
        db = (np.sum(r * x) - np.sum(g * sums(r) / h)) / schur
        a, b = a + (sums(r) - g * db) / h, b + db
        if abs(db) < 1e-10:
            break
    mu, w = _mean_and_weight(a[code] + b * x, family)
    h, g = np.maximum(sums(w), 1e-300), sums(w * x)
    schur = np.sum(w * x * x) - np.sum(g**2 / h)
    df = None
    if family == "logit":
        var = 1.0 / schur
    else:
        centred = x - (g / h)[code]
        leverage = w * (1 / h[code] + centred**2 / schur)
        u2 = ((y - mu) * centred / np.maximum(1 - leverage, 1e-8) / schur) ** 2
        var = np.sum(u2)
        df = satterthwaite_df(np.array([var]), np.array([np.sum(u2**2)]), np.array([len(y) - informative.sum() + 1.0]))
    if not (np.isfinite(var) and var > 0):
        raise ModelError(f"the within-stratum trend model ({family}) gave no usable standard error")
    return Trends(np.array([b]), np.array([np.sqrt(var)]), df)


def glm_coefficients(y: np.ndarray, X: np.ndarray, family: str, steps: int = 50) -> np.ndarray:
    """Coefficients of a canonical-link GLM (``"logit"``, ``"poisson"``) by Newton's method,
    or least squares (``"gaussian"``).

    Small designs (a handful of columns) on many rows: X'WX is solved directly,
    which is what makes thousands of screened worlds affordable. Agrees with
    statsmodels' ``GLM`` (tests/validation/test_measurement.py).
    """
    if family == "gaussian":
        return np.linalg.lstsq(X, y, rcond=None)[0]
    mean = np.clip(y.mean(), 1e-6, 1 - 1e-6) if family == "logit" else max(y.mean(), 1e-6)
    beta = np.zeros(X.shape[1])
    beta[0] = np.log(mean / (1 - mean)) if family == "logit" else np.log(mean)
    for _ in range(steps):
        mu, w = _mean_and_weight(np.clip(X @ beta, -30, 30), family)
        step = np.linalg.solve(X.T @ (X * w[:, None]) + 1e-10 * np.eye(X.shape[1]), X.T @ (y - mu))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-9:
            break
    return beta


def fit_glm(y: np.ndarray, X: np.ndarray, family: str) -> np.ndarray:
    """Fitted means of the GLM of :func:`glm_coefficients`."""
    eta = X @ glm_coefficients(y, X, family)
    return eta if family == "gaussian" else _mean_and_weight(np.clip(eta, -30, 30), family)[0]


def winsorised_phi(z: np.ndarray, share: float = 0.1, *, centre: bool = False) -> float:
    """Spiegelhalter's overdispersion ratio: mean square of the z-scores winsorised at ``share`` each end.

    With ``centre=True`` the z-scores are first centred on their median: when
    the expected values come from a model fitted on all providers, one
    provider far out shifts every other provider's z the other way, which is
    not variation between honest providers and should not widen their limits.
    """
    z = z[np.isfinite(z)]
    if z.size < MIN_UNITS_FOR_PHI:
        return 1.0
    if centre:
        z = z - np.median(z)
    return float(np.mean(np.clip(z, *np.quantile(z, [share, 1 - share])) ** 2))


def holm(p: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values over the finite entries (NaN stays NaN).

    The i-th smallest of m p-values becomes max over j <= i of min(1, (m - j + 1) p_(j))
    (statsmodels' ``multipletests(method="holm")``, without its garbage collection per call).

    Examples
    --------
    >>> holm(np.array([0.01, 0.04, np.nan, 0.03])).round(3).tolist()
    [0.03, 0.06, nan, 0.06]
    """
    p = np.asarray(p, dtype=float)
    adjusted = np.full(len(p), np.nan)
    tested = np.flatnonzero(np.isfinite(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    m = len(order)
    adjusted[order] = np.minimum(np.maximum.accumulate((m - np.arange(m)) * p[order]), 1.0)
    return adjusted


@dataclass(frozen=True)
class Screen:
    """Result of one gaming screen (creaming, parking, or a measurement screen).

    Attributes
    ----------
    kind : str
        ``"creaming"``, ``"parking"``, or a measurement screen: ``"assessments"``,
        ``"baseline"``, ``"unmeasured"``, ``"deadweight"``, ``"bunching"``.
    p_value : float
        The deciding p-value: the smallest Holm-adjusted p over the family
        (the one test when there is no ``by``). NaN when nothing could be tested.
    alpha : float
    test : str
        Plain description of the deciding test.
    correction : str
        The multiple-comparison correction applied.
    table : DataFrame
        One row per unit (``"all"`` and each level of ``by``): sizes,
        estimates with CIs, raw and adjusted p-values, flags.
    deciles : DataFrame
        One row per unit and difficulty decile (1 = easiest, 10 = hardest).
    notes : tuple of str
    meaning : str
        What a flag means, in one sentence a provider would accept as fair.
    headline : str
        The overall estimate, in words, for the summary.
    """

    kind: str
    p_value: float
    alpha: float
    test: str
    correction: str
    table: pd.DataFrame = field(repr=False)
    deciles: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...] = ()
    meaning: str = ""
    headline: str = ""

    @property
    def flagged(self) -> bool:
        """True when the deciding p-value is below ``alpha``."""
        return bool(self.p_value < self.alpha)

    @property
    def flagged_units(self) -> list[str]:
        """Units (``"all"`` and/or levels of ``by``) with an adjusted p < alpha (each once)."""
        return list(dict.fromkeys(self.table.loc[self.table["flagged"], "unit"].astype(str)))

    def statements(self) -> dict[str, str]:
        """One sentence per flag: the fair meaning with that unit's figures (keyed "unit (outcome)"
        when the table covers several outcomes)."""
        out = {}
        for _, row in self.table.loc[self.table["flagged"]].iterrows():
            outcome = row["outcome"] if "outcome" in row.index else None
            key = str(row["unit"]) if outcome is None else f"{row['unit']} ({outcome})"
            where = _where(str(row["unit"])) + ("" if outcome is None else f" for {outcome}")
            text = self.meaning.format(**(_shown(row) | {"where": where}))
            out[key] = text[0].upper() + text[1:]
        return out

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "flagged": self.flagged,
            "flagged_units": self.flagged_units,
            "p_value": None if not np.isfinite(self.p_value) else self.p_value,
            "alpha": self.alpha,
            "test": self.test,
            "correction": self.correction,
            "meaning": self.meaning,
            "statements": self.statements(),
            "notes": list(self.notes),
            "table": records(self.table),
            "deciles": records(self.deciles),
        }

    def summary(self) -> str:
        verdict = "FLAGGED" if self.flagged else "not flagged"
        title = self.kind.capitalize() if self.kind in ("creaming", "parking") else f"Measurement ({self.kind})"
        p = f"{self.p_value:.3g}" if np.isfinite(self.p_value) else "not testable"
        lines = [
            f"{title} screen: {verdict} (p = {p}, alpha = {self.alpha})",
            f"Test: {self.test}",
            f"Correction: {self.correction}",
        ]
        lines += [self.headline] if self.headline else []
        if self.flagged_units:
            lines.append("Flagged: " + ", ".join(self.flagged_units))
        lines += [f"  {unit}: {text}" for unit, text in self.statements().items()]
        lines += list(self.notes)
        cols = [c for c in self.table.columns if c != "flagged"]
        lines += ["", self.table[cols].to_string(index=False, float_format=lambda v: f"{v:.3g}")]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def plot(self, ax=None):
        """Creaming and parking: decile means with 95% CIs (overall and flagged units
        drawn with their CIs, other units faint). Measurement screens: each unit's
        observed/expected ratio with its 95% CI, flagged units in red."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        if self.kind in ("creaming", "parking"):
            _plot_deciles(self, ax)
        else:
            _plot_ratios(self, ax)
        p = f"{self.p_value:.3g}" if np.isfinite(self.p_value) else "n/a"
        ax.set_title(f"{self.kind} screen: p = {p}" + (" (flagged)" if self.flagged else ""))
        return ax


def _where(unit: str) -> str:
    return "across providers taken together" if unit == OVERALL else f"at {unit}"


def _shown(row: pd.Series) -> dict[str, Any]:
    """A table row's values for a sentence template (numpy numbers as Python ones)."""
    return {str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}


def _plot_deciles(screen: Screen, ax) -> None:
    value = "rate" if screen.kind == "creaming" else "mean_hours"
    flagged = set(screen.flagged_units)
    for unit, d in screen.deciles.groupby("unit", sort=False):
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
                label=f"{unit!s}{' (flagged)' if unit in flagged else ''}",
            )
        else:
            ax.plot(d["decile"], d[value], color="grey", lw=0.6, alpha=0.5)
    ax.set_xlabel("difficulty decile (1 = easiest, 10 = hardest)")
    ax.set_ylabel("enrolment rate" if screen.kind == "creaming" else "mean service hours")
    ax.set_xticks(range(1, 11))
    ax.legend(fontsize="small")


def _plot_ratios(screen: Screen, ax) -> None:
    """Each provider's O/E with its 95% CI on its own row; several outcomes side by side on the row."""
    t = screen.table.loc[screen.table["unit"] != OVERALL].reset_index(drop=True)
    units = list(dict.fromkeys(t["unit"].astype(str)))
    outcomes = list(dict.fromkeys(t["outcome"])) if "outcome" in t.columns else [None]
    step = 0.7 / max(len(outcomes), 1)
    for k, outcome in enumerate(outcomes):
        part = t if outcome is None else t[t["outcome"] == outcome]
        y = np.array([units.index(str(u)) for u in part["unit"]]) - 0.35 + step * (k + 0.5)
        err = np.vstack([part["ratio"] - part["ratio_ci_low"], part["ratio_ci_high"] - part["ratio"]])
        ax.errorbar(part["ratio"], y, xerr=np.nan_to_num(err), fmt="none", ecolor="lightgrey", lw=0.8)
        ax.scatter(part["ratio"], y, s=14, label=outcome, zorder=3)
        hit = part["flagged"].to_numpy(dtype=bool)
        ax.scatter(part["ratio"][hit], y[hit], s=60, facecolors="none", edgecolors="tab:red", lw=1.5, zorder=4)
    ax.axvline(1.0, color="black", lw=1)
    ax.set_yticks(range(len(units)), units)
    ax.set_xlabel("observed / expected for the unit's case-mix (95% CI); red ring = flagged")
    if outcomes != [None]:
        ax.legend(fontsize="x-small")


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain-Python dicts for JSON (NaN as None)."""
    return [
        {
            str(k): (
                None if isinstance(v, float) and not np.isfinite(v) else v.item() if isinstance(v, np.generic) else v
            )
            for k, v in row.items()
        }
        for row in df.to_dict(orient="records")
    ]
