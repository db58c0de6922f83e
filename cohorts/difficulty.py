"""How hard each person is to help: a baseline model of the outcome without the programme.

:func:`fit_difficulty` fits a statsmodels logit (binary outcome) or Poisson
GLM (count outcome) on historical or comparison data, using baseline
characteristics only. :meth:`DifficultyModel.predict` gives each person's
expected probability (or count) of the outcome *without the programme*, their
difficulty and difficulty decile. :meth:`DifficultyModel.calibration` checks
the model against observed outcomes: observed against expected by decile
with CIs, the Hosmer-Lemeshow test and the AUC with its DeLong CI.

Direction. Difficulty is how far the expected outcome is from success:

* an outcome that counts a failure (the default, ``success=False``), such as
  proven reoffending: difficulty = p(reoffend) (for counts, the expected
  number of reoffences);
* an outcome that counts a success (``success=True``), such as settled
  accommodation at 3 months: difficulty = 1 - p(success).

Decile 1 is the easiest tenth of the people scored, decile 10 the hardest.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

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
)
from ground.errors import ModelError, SchemaError
from ground.tables import check_known_columns

__all__ = [
    "Calibration",
    "DifficultyModel",
    "DifficultyScores",
    "auc_delong",
    "design_matrix",
    "fit_difficulty",
    "hosmer_lemeshow",
]

Kind = Literal["binary", "count"]


@dataclass(frozen=True)
class AUCResult:
    """Area under the ROC curve with its DeLong standard error and CI."""

    auc: float
    se: float
    ci_low: float
    ci_high: float
    n_events: int
    n_non_events: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def auc_delong(outcome, score, *, alpha: float = 0.05) -> AUCResult:
    """AUC (the chance a random person with the event scores higher than one without,
    ties counting half) with DeLong's variance and a normal CI clipped to [0, 1].

    Uses midranks (Sun & Xu 2014), so it is O(n log n); agrees with R
    ``pROC::ci.auc(method = "delong")`` (tests/results/cohorts_difficulty.py).

    Parameters
    ----------
    outcome : array-like of 0/1
        Whether each person had the event.
    score : array-like of float
        Each person's score (a predicted probability, or any score that ranks them).
    alpha : float
        The CI is ``1 - alpha``.

    Examples
    --------
    >>> r = auc_delong([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> r.auc
    0.75
    """
    from scipy import stats  # here, not at the top: scipy.stats takes a second to import

    y = np.asarray(outcome).astype(bool)
    s = np.asarray(score, dtype=float)
    m, n = int(y.sum()), int((~y).sum())
    if m == 0 or n == 0:
        raise ModelError(f"AUC needs people with and without the event. Got {m} with and {n} without.")
    ranks_all = stats.rankdata(s)
    ranks_pos = stats.rankdata(s[y])
    ranks_neg = stats.rankdata(s[~y])
    auc = (ranks_all[y].sum() - m * (m + 1) / 2) / (m * n)
    # Structural components: each event's share of non-events scored below it,
    # and each non-event's share of events scored above it.
    v10 = (ranks_all[y] - ranks_pos) / n
    v01 = 1.0 - (ranks_all[~y] - ranks_neg) / m
    var = np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n if min(m, n) > 1 else np.nan
    se = float(np.sqrt(var))
    z = stats.norm.ppf(1 - alpha / 2)
    return AUCResult(float(auc), se, float(max(0.0, auc - z * se)), float(min(1.0, auc + z * se)), m, n)


@dataclass(frozen=True)
class HosmerLemeshowResult:
    statistic: float
    df: int
    pvalue: float
    groups: int

    def __iter__(self):
        return iter((self.statistic, self.pvalue))


def hosmer_lemeshow(outcome, expected, *, groups: int = 10) -> HosmerLemeshowResult:
    """Hosmer-Lemeshow goodness-of-fit test for predicted probabilities.

    People are sorted by predicted probability and cut into ``groups`` groups
    of (nearly) equal size (ties broken by position, as for deciles). The
    statistic is ``sum_g (O_g - E_g)**2 / (E_g * (1 - E_g / n_g))`` with
    ``O_g`` events observed and ``E_g`` expected in group g, referred to
    chi-squared on ``groups - 2`` degrees of freedom (Hosmer & Lemeshow,
    Applied Logistic Regression, 2nd ed., section 5.2.2).

    Parameters
    ----------
    outcome : array-like of 0/1
        Whether each person had the event.
    expected : array-like of float
        Each person's predicted probability of it.
    groups : int
        Groups of (nearly) equal size; at least 3.

    Examples
    --------
    >>> hl = hosmer_lemeshow([0, 0, 1, 0, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.6, 0.8], groups=3)
    >>> round(hl.statistic, 6), hl.df
    (1.407886, 1)
    """
    from scipy import stats

    y = np.asarray(outcome, dtype=float)
    p = np.asarray(expected, dtype=float)
    # the test has groups - 2 degrees of freedom
    check_parameter(groups, "groups", "hosmer_lemeshow", Interval(int, 3, None))
    df = groups - 2
    group = _equal_groups(p, groups)
    n_g = np.bincount(group, minlength=groups)
    o_g = np.bincount(group, weights=y, minlength=groups)
    e_g = np.bincount(group, weights=p, minlength=groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = (o_g - e_g) ** 2 / (e_g * (1 - e_g / n_g))
    statistic = float(np.nansum(terms))
    return HosmerLemeshowResult(statistic, df, float(stats.chi2.sf(statistic, df)), groups)


@dataclass(frozen=True)
class Calibration:
    """Observed against expected outcomes by decile of expected outcome, with CIs.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per decile: ``n``, ``expected`` (mean predicted), ``observed``
        (mean outcome), ``ci_low``, ``ci_high`` (95% CI of the observed mean:
        Wilson for binary, t on the sample SD for counts), ``ratio``
        (observed / expected).
    hosmer_lemeshow : HosmerLemeshowResult or None
        For binary outcomes only (the test assumes Bernoulli variance).
    auc : AUCResult
        Discrimination: for counts, of having any event, scored by the expected count.
    """

    table: pd.DataFrame
    hosmer_lemeshow: HosmerLemeshowResult | None
    auc: AUCResult
    kind: str
    n: int
    excluded: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def max_abs_error(self) -> float:
        """Largest absolute difference between observed and expected over deciles."""
        return float((self.table["observed"] - self.table["expected"]).abs().max())

    @property
    def covered(self) -> int:
        """Deciles whose observed-mean CI contains the expected mean."""
        t = self.table
        return int(((t["ci_low"] <= t["expected"]) & (t["expected"] <= t["ci_high"])).sum())

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict:
        hl = self.hosmer_lemeshow
        return {
            "kind": self.kind,
            "n": self.n,
            "deciles": self.table.reset_index().to_dict(orient="records"),
            "hosmer_lemeshow": None if hl is None else {"statistic": hl.statistic, "df": hl.df, "pvalue": hl.pvalue},
            "auc": self.auc.to_dict(),
            "max_abs_error": self.max_abs_error,
            "deciles_covered": self.covered,
        }

    def summary(self) -> str:
        a = self.auc
        lines = [
            f"Calibration of expected {'probability' if self.kind == 'binary' else 'count'} (n = {self.n:,})",
            self.table.to_string(float_format=lambda x: f"{x:.3f}"),
            f"Deciles whose 95% CI covers the expected value: {self.covered} of {len(self.table)}",
        ]
        if self.hosmer_lemeshow is not None:
            hl = self.hosmer_lemeshow
            lines.append(f"Hosmer-Lemeshow chi2 = {hl.statistic:.2f} on {hl.df} df, p = {hl.pvalue:.3g}")
        lines.append(
            f"AUC = {a.auc:.3f} (95% CI {a.ci_low:.3f} to {a.ci_high:.3f}, DeLong; "
            f"{a.n_events:,} with the event, {a.n_non_events:,} without)"
        )
        return "\n".join(lines)

    def plot(self, ax=None):
        """Observed (with CI) against expected per decile, and the line of perfect calibration."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(4.5, 4.5))
        t = self.table
        ax.errorbar(
            t["expected"],
            t["observed"],
            yerr=[t["observed"] - t["ci_low"], t["ci_high"] - t["observed"]],
            fmt="o",
            capsize=3,
        )
        top = float(max(t["expected"].max(), t["ci_high"].max()))
        ax.plot([0, top], [0, top], color="grey", linestyle="--", linewidth=1)
        ax.set_xlabel("expected (model)")
        ax.set_ylabel("observed")
        return ax


@dataclass(frozen=True)
class DifficultyScores:
    """Predicted outcome without the programme, difficulty and decile, per person.

    ``table`` is aligned with the people's index: ``expected`` (probability or
    count), ``difficulty`` and ``decile`` (1 easiest to 10 hardest; <NA>
    where a covariate is missing). ``excluded`` counts people left unscored,
    by reason.
    """

    table: pd.DataFrame
    excluded: pd.DataFrame

    @property
    def difficulty(self) -> pd.Series:
        return self.table["difficulty"]

    @property
    def expected(self) -> pd.Series:
        return self.table["expected"]

    @property
    def decile(self) -> pd.Series:
        return self.table["decile"]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict:
        return {
            "n": int(len(self.table)),
            "n_scored": int(self.table["expected"].notna().sum()),
            "excluded": self.excluded.to_dict(orient="records"),
            "by_decile": self.table.groupby("decile", observed=True)["expected"]
            .agg(["size", "mean"])
            .reset_index()
            .to_dict(orient="records"),
        }

    def summary(self) -> str:
        by = self.table.groupby("decile", observed=True)["expected"].agg(n="size", mean_expected="mean")
        lines = [f"Difficulty scores for {len(self.table):,} people", by.to_string(float_format=lambda x: f"{x:.3f}")]
        if len(self.excluded):
            lines.append("Not scored: " + "; ".join(f"{r.n} ({r.reason})" for r in self.excluded.itertuples()))
        return "\n".join(lines)


@dataclass(frozen=True)
class DifficultyModel:
    """A fitted baseline model of an outcome without the programme.

    Attributes
    ----------
    results : statsmodels results
        The fitted Logit or Poisson GLM.
    outcome, kind, success, formula
        What was fitted.
    n : int
        Rows used in the fit.
    excluded : pandas.DataFrame
        Rows of the history left out, with ``reason`` and ``n``.
    """

    results: Any  # a statsmodels GLM result: statsmodels publishes no types
    outcome: str
    kind: str
    success: bool
    formula: str
    covariates: tuple[str, ...]
    categories: dict
    n: int
    excluded: pd.DataFrame
    from_formula: bool = False
    data: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def coefficients(self) -> pd.DataFrame:
        """Coefficients with SEs, 95% CIs and p-values (log-odds or log-rate scale)."""
        r = self.results
        ci = r.conf_int()
        return pd.DataFrame({"coef": r.params, "se": r.bse, "ci_low": ci[0], "ci_high": ci[1], "pvalue": r.pvalues})

    def to_frame(self) -> pd.DataFrame:
        return self.coefficients()

    def to_dict(self) -> dict:
        return {
            "outcome": self.outcome,
            "kind": self.kind,
            "success": self.success,
            "formula": self.formula,
            "n": self.n,
            "excluded": self.excluded.to_dict(orient="records"),
            "coefficients": self.coefficients().reset_index(names="term").to_dict(orient="records"),
        }

    def summary(self) -> str:
        model = "logit" if self.kind == "binary" else "Poisson GLM"
        direction = (
            "difficulty = 1 - p(outcome)"
            if self.success
            else ("difficulty = p(outcome)" if self.kind == "binary" else "difficulty = expected count")
        )
        lines = [
            f"Difficulty model: {model} of {self.outcome!r} ({direction}), n = {self.n:,}",
            f"  formula: {self.formula}",
            self.coefficients().to_string(float_format=lambda x: f"{x:.4f}"),
        ]
        if len(self.excluded):
            lines.append("Excluded: " + "; ".join(f"{r.n} ({r.reason})" for r in self.excluded.itertuples()))
        return "\n".join(lines)

    def predict(self, people: pd.DataFrame) -> DifficultyScores:
        """Expected outcome without the programme, difficulty and decile for each person.

        People with a missing covariate are not scored (``NaN``), and counted
        in ``excluded``; a categorical level the model never saw is an error.
        """
        require_columns(people, self.covariates, table="people")
        people = check_known_columns(people, "people", self.covariates)
        complete, excluded = _complete_rows(people, self.covariates)
        for col, levels in self.categories.items():
            values = people.loc[complete, col]
            unseen = sorted(set(map(str, pd.unique(values.astype(str)))) - set(map(str, levels)))
            if unseen:
                raise SchemaError(
                    f"table 'people': column {col!r} has level(s) {shorten(unseen)} that the difficulty model "
                    f"never saw in the history (levels: {shorten(map(str, levels), 20)}). Recode them or refit "
                    "with them.",
                    table="people",
                )
        numeric = [c for c in self.covariates if c not in self.categories]
        _check_numeric_covariates(people.loc[complete], numeric, complete, table="people")
        expected = pd.Series(np.nan, index=people.index, name="expected")
        if complete.any():
            rows = _as_model_frame(people.loc[complete, list(self.covariates)], self.categories)
            if not self.from_formula:
                rows = design_matrix(rows, self.covariates, self.categories)
            expected[complete] = np.asarray(self.results.predict(rows))
        difficulty = 1.0 - expected if self.success else expected
        table = pd.DataFrame(
            {"expected": expected, "difficulty": difficulty, "decile": _deciles(difficulty)}, index=people.index
        )
        return DifficultyScores(table=table, excluded=excluded)

    def calibration(self, data: pd.DataFrame | None = None, *, groups: int = 10) -> Calibration:
        """Observed against expected by decile, Hosmer-Lemeshow (binary) and AUC with CIs.

        Parameters
        ----------
        data : pandas.DataFrame, optional
            People with the observed outcome; default the history the model
            was fitted on (in-sample, so optimistic: prefer held-out data).
        groups : int, default 10
            Number of equal-size groups of expected outcome.
        """
        if data is None and self.data is not None:
            # In sample: the fitted values are the predictions, and the history was checked when it was fitted.
            data = self.data
            expected = pd.Series(np.asarray(self.results.predict()), index=data.index)
            excluded = _complete_rows(data, self.covariates)[1]
        elif data is not None:
            require_columns(data, [self.outcome], table="data")
            scores = self.predict(data)
            expected, excluded = scores.table["expected"], scores.excluded
        else:
            raise parameter_error("data", "calibration", "a table with the outcome (the model kept none)", data)
        observed_all = data[self.outcome]
        keep = expected.notna() & observed_all.notna()
        if (~observed_all.notna()).any():
            extra = pd.DataFrame({"reason": [f"missing {self.outcome}"], "n": [int(observed_all.isna().sum())]})
            excluded = pd.concat([excluded, extra], ignore_index=True)
        y = observed_all[keep].to_numpy(dtype=float)
        e = expected[keep].to_numpy()
        group = _equal_groups(e, groups)
        frame = pd.DataFrame({"group": group + 1, "y": y, "e": e})
        g = frame.groupby("group")
        table = pd.DataFrame({"n": g.size(), "expected": g["e"].mean(), "observed": g["y"].mean()})
        if self.kind == "binary":
            from statsmodels.stats.proportion import proportion_confint

            low, high = proportion_confint(g["y"].sum(), table["n"], alpha=0.05, method="wilson")
        else:
            from scipy import stats

            sd = g["y"].std(ddof=1).fillna(0.0)
            half = stats.t.ppf(0.975, np.maximum(table["n"] - 1, 1)) * sd / np.sqrt(table["n"])
            low, high = (table["observed"] - half).clip(lower=0), table["observed"] + half
        table["ci_low"], table["ci_high"] = np.asarray(low), np.asarray(high)
        table["ratio"] = table["observed"] / table["expected"]
        table.index.name = "decile" if groups == 10 else "group"
        hl = hosmer_lemeshow(y, e, groups=groups) if self.kind == "binary" else None
        auc = auc_delong(y > 0, e)
        return Calibration(
            table=table, hosmer_lemeshow=hl, auc=auc, kind=self.kind, n=int(keep.sum()), excluded=excluded
        )


def fit_difficulty(
    history: pd.DataFrame,
    outcome: str,
    covariates: list[str] | tuple[str, ...] | str | None = None,
    *,
    kind: Kind = "binary",
    formula: str | None = None,
    success: bool = False,
) -> DifficultyModel:
    """Fit a baseline model of the outcome on characteristics known at the start.

    Parameters
    ----------
    history : pandas.DataFrame
        Historical or comparison people (not exposed to the programme) with
        the outcome and the covariates.
    outcome : str
        Column of the outcome: bool or 0/1 for ``kind="binary"``, a
        non-negative integer count for ``kind="count"``.
    covariates : str or list of str, optional
        Baseline columns (a single name is one column). Categorical, string
        and bool columns enter as treatment contrasts (first level the
        reference); numbers enter linearly. Give either ``covariates`` or
        ``formula``. Column names are only ever looked up, never read as
        code, so any name a file's header holds is safe here.
    kind : {"binary", "count"}, default "binary"
        ``"binary"``: statsmodels Logit; ``"count"``: Poisson GLM (robust HC0
        standard errors, since offending counts are overdispersed; the point
        predictions are the same).
    formula : str, optional
        A formula right-hand side or full formula, e.g. ``"ogrs_score +
        C(sex) + np.log1p(prior_offences)"``; its variables are the covariates.
        A formula is Python code (statsmodels' formula engine evaluates its
        terms): write it in your own script, never take it from a file or
        another organisation. No desist command passes one.
    success : bool, default False
        Whether the outcome counts a success (difficulty = 1 - p) rather than
        a failure such as reoffending (difficulty = p).

    Returns
    -------
    DifficultyModel

    Raises
    ------
    ParameterError
        A bad ``kind``, both or neither of ``covariates`` and ``formula``.
    SchemaError
        Unknown columns, outcome values of the wrong type, covariates that
        are not finite numbers (rows counted from 1).
    ModelError
        The model cannot be fitted (perfect separation, a covariate without
        variation, non-convergence).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> h = pd.DataFrame({"score": rng.uniform(0, 100, 2_000)})
    >>> h["reoffended"] = rng.random(2_000) < h["score"] / 100
    >>> m = fit_difficulty(h, "reoffended", ["score"])
    >>> scores = m.predict(pd.DataFrame({"score": [10.0, 50.0, 90.0]}))
    >>> scores.difficulty.round(2).tolist()
    [0.11, 0.51, 0.9]
    """
    check_parameter(kind, "kind", "fit_difficulty", Options("binary", "count"))
    check_parameter(success, "success", "fit_difficulty", Options(False, True))
    if kind == "count" and success:
        raise parameter_error(
            "success",
            "fit_difficulty",
            "False for a count outcome (model the count of failures, e.g. reoffences, whose expected value is "
            "the difficulty)",
            success,
        )
    if (covariates is None) == (formula is None):
        raise parameter_error(
            "covariates", "fit_difficulty", "given exactly when 'formula' is not", {"covariates": covariates}
        )
    check_parameter(outcome, "outcome", "fit_difficulty", InstanceOf(str, "a column name"))
    require_columns(history, [outcome], table="history")
    if formula is not None:
        check_parameter(formula, "formula", "fit_difficulty", InstanceOf(str, "a formula (text)"))
        rhs = formula.split("~", 1)[1] if "~" in formula else formula
        covariates = _formula_variables(rhs, history)
    else:
        covariates = column_names(covariates, "covariates", "fit_difficulty")
        if not covariates:
            raise parameter_error("covariates", "fit_difficulty", "at least one column name", covariates)
        require_columns(history, covariates, table="history")
        rhs = " + ".join(covariates)
    # Columns the people schema knows are read as the command line reads them; gaps are counted below.
    history = check_known_columns(history, "people", covariates, name="history")
    complete, excluded = _complete_rows(history, [outcome, *covariates])
    data = history.loc[complete, [outcome, *covariates]].copy()
    data[outcome] = _check_outcome(data[outcome], outcome, kind, complete)
    categories = {c: list(_levels(history.loc[complete, c])) for c in covariates if _is_categorical(history[c])}
    _check_numeric_covariates(data, [c for c in covariates if c not in categories], complete)
    constant = [c for c in covariates if data[c].nunique() < 2]
    if constant:
        raise ModelError(
            f"fit_difficulty: covariate(s) {constant} take a single value in the history, so their "
            "effect cannot be estimated. Drop them."
        )
    data = _as_model_frame(data, categories)
    full_formula = f"{outcome} ~ {rhs}"
    results = _fit(data, outcome, covariates, categories, kind, formula is not None and full_formula)
    return DifficultyModel(
        results=results,
        outcome=outcome,
        kind=kind,
        success=success,
        formula=full_formula,
        covariates=tuple(covariates),
        categories=categories,
        n=int(complete.sum()),
        excluded=excluded,
        from_formula=formula is not None,
        data=data,
    )


def _fit(data: pd.DataFrame, outcome: str, covariates: list[str], categories: dict, kind: str, formula: str | bool):
    """Fit the logit or Poisson GLM; ``formula`` (the caller's own text) only when they gave one.

    Without a formula the design matrix is built here from the column values,
    so no column name is ever handed to a formula engine, which would
    evaluate it as Python.
    """
    # statsmodels takes seconds to import; only fitting needs it, not `import cohorts`. Its models are imported
    # one by one: statsmodels.api also loads its time series, plots and the rest.
    from statsmodels.discrete.discrete_model import Logit
    from statsmodels.genmod.families import Poisson
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationError, PerfectSeparationWarning

    shown = formula or f"{outcome} ~ {' + '.join(covariates)}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PerfectSeparationWarning)
            warnings.simplefilter("ignore", ConvergenceWarning)
            if formula:
                import statsmodels.formula.api as smf

                model = smf.logit(formula, data) if kind == "binary" else smf.glm(formula, data, family=Poisson())
            else:
                y, X = data[outcome].astype(float), design_matrix(data, covariates, categories)
                # No rank check: it sets only the logit's degrees of freedom, which no number here reads (its
                # tests are normal), and took a QR of the whole design (0.2 s for 200,000 people); collinear
                # covariates still stop the fit (a singular matrix).
                model = Logit(y, X, check_rank=False) if kind == "binary" else GLM(y, X, family=Poisson())
            if kind == "binary":
                results = model.fit(disp=0, maxiter=100)
                converged = results.mle_retvals.get("converged", True)
            else:
                results = model.fit(cov_type="HC0")
                converged = results.converged
    except (PerfectSeparationWarning, PerfectSeparationError) as exc:
        raise ModelError(
            f"fit_difficulty: perfect separation in {shown!r}: some covariate pattern predicts "
            f"{outcome!r} exactly ({exc}). Merge sparse levels or drop the covariate."
        ) from None
    except np.linalg.LinAlgError as exc:
        raise ModelError(
            f"fit_difficulty: the covariates in {shown!r} are collinear or one has no variation ({exc})."
        ) from None
    if not converged:
        raise ModelError(
            f"fit_difficulty: the {'logit' if kind == 'binary' else 'Poisson'} model {shown!r} did "
            "not converge in 100 iterations; check for near-separation or rescale the covariates."
        )
    return results


def design_matrix(frame: pd.DataFrame, covariates: Sequence[str], categories: Mapping[str, list]) -> pd.DataFrame:
    """Intercept, numbers as they are, and one 0/1 column per non-reference level of each category.

    Columns are named as statsmodels' formulas name them (``Intercept``,
    ``age``, ``sex[T.male]``), so a model reads the same whichever way it was
    fitted; the reference level is the first of ``categories[column]``.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per person, with the covariates.
    covariates : sequence of str
        Columns of ``frame``, in the order of the design's columns.
    categories : mapping of str -> list
        The levels of each categorical covariate, reference first; a covariate not in it is a number.

    Examples
    --------
    >>> frame = pd.DataFrame({"age": [20, 30], "sex": ["female", "male"]})
    >>> design_matrix(frame, ["age", "sex"], {"sex": ["female", "male"]}).columns.tolist()
    ['Intercept', 'age', 'sex[T.male]']
    """
    columns: dict[str, np.ndarray] = {"Intercept": np.ones(len(frame))}
    for column in covariates:
        values = frame[column]
        if column not in categories:
            columns[column] = values.to_numpy(dtype="float64")
            continue
        codes = pd.Categorical(values, categories=categories[column]).codes
        for code, level in enumerate(categories[column][1:], start=1):
            columns[f"{column}[T.{level}]"] = (codes == code).astype("float64")
    return pd.DataFrame(columns, index=frame.index)


# --------------------------------------------------------------------------- internals


def _formula_variables(rhs: str, history: pd.DataFrame) -> list[str]:
    """Column names a formula right-hand side reads (identifiers that are columns)."""
    import re

    names = dict.fromkeys(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", rhs))
    found = [n for n in names if n in history.columns]
    unknown = [
        n
        for n in names
        if n not in history.columns and n not in {"C", "np", "I", "Treatment", "log", "exp"} and not hasattr(np, n)
    ]
    if unknown or not found:
        raise parameter_error(
            "formula",
            "fit_difficulty",
            f"a formula over columns of the history ({shorten(map(str, history.columns), 20)}); "
            + (f"it names {unknown}, which are not columns" if unknown else "it names none"),
            rhs,
        )
    return found


def _is_categorical(values: pd.Series) -> bool:
    return (
        isinstance(values.dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(values)
        or pd.api.types.is_object_dtype(values)
        or pd.api.types.is_bool_dtype(values)
    )


def _levels(values: pd.Series) -> list:
    if isinstance(values.dtype, pd.CategoricalDtype):
        present = set(values.unique())
        return [c for c in values.cat.categories if c in present]
    return sorted(pd.unique(values), key=str)


def _as_model_frame(frame: pd.DataFrame, categories: dict) -> pd.DataFrame:
    """Categorical covariates with the history's levels, so fit and predict code them alike."""
    out = frame.copy()
    for col, levels in categories.items():
        values = out[col]
        if pd.api.types.is_bool_dtype(values):
            values = values.astype(bool)
        elif isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object)
        # A level the history never had cannot be scored: missing, then counted as unscored.
        out[col] = pd.Categorical(values.where(values.isin(levels)), categories=levels)
    return out


def _complete_rows(frame: pd.DataFrame, columns) -> tuple[np.ndarray, pd.DataFrame]:
    missing = frame[list(columns)].isna()
    complete = ~missing.any(axis=1).to_numpy()
    counts = missing.sum()
    excluded = pd.DataFrame(
        {"reason": [f"missing {c}" for c in counts.index[counts > 0]], "n": counts[counts > 0].astype(int).tolist()}
    )
    if len(excluded) > 1:
        excluded = pd.concat(
            [excluded, pd.DataFrame({"reason": ["rows with any missing (total)"], "n": [int((~complete).sum())]})],
            ignore_index=True,
        )
    return complete, excluded


def _check_outcome(values: pd.Series, name: str, kind: str, complete: np.ndarray) -> pd.Series:
    """The outcome as int; values of the wrong kind raise naming their rows of the history (from 1)."""
    if kind == "binary":
        if pd.api.types.is_bool_dtype(values):
            return values.astype(int)
        bad = ~values.isin([0, 1])
    else:
        numeric = pd.to_numeric(values, errors="coerce")
        bad = numeric.isna() | (numeric < 0) | (numeric != np.floor(numeric)) | ~np.isfinite(numeric)
    if bad.any():
        allowed = "True/False or 0/1" if kind == "binary" else "non-negative integers"
        positions = np.flatnonzero(bad.to_numpy())
        raise SchemaError(
            f"table 'history': the outcome column {name!r} must hold {allowed} for kind={kind!r}. "
            f"{positions.size} row(s) do not (data rows counted from 1): "
            f"{rows_text(np.flatnonzero(complete)[positions], values.iloc[positions].tolist())}.",
            table="history",
        )
    return values.astype(int)


def _check_numeric_covariates(
    data: pd.DataFrame, columns: list[str], complete: np.ndarray, *, table: str = "history"
) -> None:
    """Numeric covariates must be finite numbers: an inf or a stray word fits nothing sensible."""
    rows = np.flatnonzero(complete)
    problems = []
    for column in columns:
        values = pd.to_numeric(data[column], errors="coerce").to_numpy(dtype="float64")
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            problems.append(f"{column}: {rows_text(rows[bad], data[column].iloc[bad].tolist())}")
    if problems:
        raise SchemaError(
            f"table {table!r}: covariates used as numbers must be finite numbers (data rows counted from 1): "
            + "; ".join(problems)
            + ".",
            table=table,
        )


def _equal_groups(values: np.ndarray, groups: int) -> np.ndarray:
    """0-based group of each value when sorted into ``groups`` groups of nearly equal size."""
    order = np.argsort(values, kind="stable")
    group = np.empty(values.size, dtype=np.intp)
    group[order] = np.arange(values.size) * groups // max(values.size, 1)
    return group


def _deciles(difficulty: pd.Series) -> pd.Series:
    out = pd.Series(pd.NA, index=difficulty.index, dtype="Int64", name="decile")
    known = difficulty.notna().to_numpy()
    if known.any():
        out[known] = _equal_groups(difficulty.to_numpy()[known], 10) + 1
    return out
