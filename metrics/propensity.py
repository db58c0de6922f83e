"""Propensity scores: the probability of being in the programme given baseline covariates.

A logistic regression (statsmodels ``Logit``) of the 0/1 treatment on the
covariates. Categorical covariates enter with treatment contrasts (the first
level is the reference, as R's ``glm`` does), so the coefficients are the same
as those of ``glm(treat ~ ..., family = binomial)`` which MatchIt fits with
``distance = "glm"``.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.special import expit
from statsmodels.base.model import LikelihoodModelResults
from statsmodels.discrete.discrete_model import BinaryResultsWrapper, LogitResults

from ground.checks import require_columns, rows_text
from ground.errors import ModelError, SchemaError

__all__ = ["PropensityModel", "fit_propensity", "treatment_indicator"]

# Above this many rows the full Newton fit starts from a fit on a subsample
# (all treated units, a sample of controls, intercept corrected for the
# sampling fraction), which saves most of the Newton iterations.
_SUBSAMPLE_ABOVE = 200_000


def treatment_indicator(data: pd.DataFrame, treatment: str) -> np.ndarray:
    """Return the treatment column as a boolean array, checking it is 0/1.

    Accepts bool columns and numeric columns holding only 0 and 1.

    Raises
    ------
    SchemaError
        The column is missing, has missing values, or holds other values; the
        message names the values received and the first offending rows.
    """
    require_columns(data, {"treatment": treatment}, table="data")
    col = data[treatment]
    if col.dtype == bool:
        return col.to_numpy()
    values = pd.to_numeric(col, errors="coerce")
    bad = ~(values.isin([0, 1]))
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())
        shown = pd.unique(col.iloc[rows[:5]].astype(object).to_numpy())
        failures = pd.DataFrame(
            {
                "column": treatment,
                "rule": "treatment is 0/1",
                "row": rows,
                "value": col.iloc[rows].astype(object).to_numpy(),
            }
        )
        raise SchemaError(
            f"The treatment column {treatment!r} must hold only 0/1 (or True/False). "
            f"Got {len(rows)} other value(s), e.g. {list(shown)}: {rows_text(rows)}.",
            table="data",
            failures=failures,
        )
    return values.to_numpy() == 1


def design_matrix(data: pd.DataFrame, covariates: list[str]) -> tuple[np.ndarray, list[str], dict]:
    """The logit's design matrix: intercept, numeric and 0/1 columns, and one
    dummy per non-reference level of each categorical covariate (R's names,
    e.g. ``racehispan``). Returns the matrix, the column names and, per
    design column, the covariate it came from (to name a separating covariate).
    """
    blocks = [np.ones(len(data))]
    names = ["Intercept"]
    origin = {"Intercept": None}
    for c in covariates:
        col = data[c]
        levels = categorical_levels(col)
        if levels is None:
            # numpy dtypes without a copy; extension dtypes (Int64, boolean) as float
            numpy_dtype = isinstance(col.dtype, np.dtype) and col.dtype != object
            blocks.append(col.to_numpy() if numpy_dtype else col.to_numpy(dtype=float))
            names.append(c)
            origin[c] = (c, None)
            continue
        codes = level_codes(col, levels)
        for k, lev in enumerate(levels[1:], start=1):
            blocks.append(codes == k)
            names.append(f"{c}{lev}")
            origin[f"{c}{lev}"] = (c, lev)
    # column-major: each column is written contiguously, and X.T @ (w * X) is fast
    X = np.empty((len(data), len(blocks)), order="F")
    for j, b in enumerate(blocks):
        X[:, j] = b  # numpy casts ints/bools while copying
    return X, names, origin


def level_codes(col: pd.Series, levels: list) -> np.ndarray:
    """Position of each value in ``levels`` (see :func:`categorical_levels`)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        lookup = pd.Index(levels).get_indexer(col.cat.categories)
        return lookup[col.cat.codes.to_numpy()]
    return pd.Categorical(col, categories=levels).codes


def categorical_levels(col: pd.Series) -> list | None:
    """Levels of a categorical covariate (categories in order, or the sorted
    distinct values of a string column, as R's ``factor``); None if numeric/bool.

    Categories nobody has are left out: tables read through a schema carry every
    allowed level, and an empty level would be an all-zero design column.
    """
    if isinstance(col.dtype, pd.CategoricalDtype):
        used = np.bincount(col.cat.codes[col.cat.codes >= 0], minlength=len(col.cat.categories))
        return [c for c, n in zip(col.cat.categories, used) if n > 0]
    if col.dtype == bool or pd.api.types.is_numeric_dtype(col):
        return None
    return sorted(pd.unique(col.dropna()).tolist())


@dataclass(frozen=True)
class PropensityModel:
    """A fitted propensity model.

    Attributes
    ----------
    result : statsmodels results
        The ``Logit`` fit (coefficients, standard errors, ``summary()``).
    columns : list of str
        Names of the design columns (R's names for factor dummies).
    probability : numpy.ndarray
        Fitted probability of treatment for every input row.
    linear_predictor : numpy.ndarray
        The logit (log-odds) for every input row.
    covariates : list of str
        The data columns the model uses.
    """

    result: object = field(repr=False)
    columns: list[str]
    probability: np.ndarray = field(repr=False)
    linear_predictor: np.ndarray = field(repr=False)
    covariates: list[str]

    @property
    def params(self) -> pd.Series:
        """Coefficients named by design column."""
        return pd.Series(np.asarray(self.result.params), index=self.columns)

    def to_frame(self) -> pd.DataFrame:
        """Coefficient table: coef, se, z, p_value, ci_low, ci_high."""
        r = self.result
        ci = np.asarray(r.conf_int())
        return pd.DataFrame(
            {
                "coef": np.asarray(r.params),
                "se": np.asarray(r.bse),
                "z": np.asarray(r.tvalues),
                "p_value": np.asarray(r.pvalues),
                "ci_low": ci[:, 0],
                "ci_high": ci[:, 1],
            },
            index=pd.Index(self.columns, name="term"),
        )

    def to_dict(self) -> dict:
        return {
            "covariates": list(self.covariates),
            "coefficients": self.params.to_dict(),
            "n": int(len(self.probability)),
        }

    def summary(self) -> str:
        """statsmodels' text summary of the logit."""
        return self.result.summary(xname=self.columns).as_text()


def fit_propensity(
    data: pd.DataFrame,
    treatment: str,
    covariates: list[str] | None = None,
    *,
    formula: str | None = None,
) -> PropensityModel:
    """Fit a logistic propensity model of ``treatment`` on covariates.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit.
    treatment : str
        0/1 (or bool) column: 1 = in the programme.
    covariates : list of str, optional
        Columns to adjust for. Strings and pandas categoricals get treatment
        contrasts (first level = reference); bools enter as 0/1.
    formula : str, optional
        A statsmodels formula instead of ``covariates``, e.g.
        ``"treat ~ age + educ + C(race) + np.log1p(re74)"``.

    Returns
    -------
    PropensityModel

    Raises
    ------
    ModelError
        Perfect or quasi-perfect separation (the message names the covariate
        and level), or a fit that does not converge.

    Examples
    --------
    >>> ps = fit_propensity(lalonde, "treat", ["age", "educ", "race", "re74"])  # doctest: +SKIP
    >>> ps.params["racehispan"]  # doctest: +SKIP
    """
    y = treatment_indicator(data, treatment).astype(float)
    if formula is not None:
        if covariates is not None:
            warnings.warn("'covariates' is ignored when 'formula' is given", UserWarning, stacklevel=2)
        covariates = formula_variables(formula, data, exclude=treatment)
        require_columns(data, covariates, table="data", complete=True)
        model = sm.Logit.from_formula(formula, data)
        names = list(model.exog_names)
        X = np.asarray(model.exog, dtype=float)
        origin = {n: (_origin_of_term(n, covariates), None) for n in names}
    else:
        if not covariates:
            raise ModelError(
                "The 'covariates' parameter of fit_propensity must list at least "
                "one column (or give 'formula'). Got none."
            )
        require_columns(data, list(covariates), table="data", complete=True)
        X, names, origin = design_matrix(data, list(covariates))
    _check_separation(X, y, names, origin)
    result, eta = _fit_logit(y, X, names)
    return PropensityModel(
        result=result,
        columns=names,
        probability=expit(eta),
        linear_predictor=eta,
        covariates=list(covariates),
    )


def linear_predictor(X: np.ndarray, params: np.ndarray) -> np.ndarray:
    """X @ params accumulated column by column with elementwise operations, so
    units with identical covariates get bit-identical scores wherever they sit
    in the data (a BLAS product may round rows in different kernel positions
    differently, which would split ties that MatchIt's balance statistics count
    as one distinct value). Done in row blocks that stay in cache."""
    eta = np.empty(X.shape[0])
    for rows in _blocks(X.shape[0]):
        _block_predictor(X[rows], params, out=eta[rows])
    return eta


_BLOCK = 1 << 14


def _blocks(n: int):
    return (slice(i, min(i + _BLOCK, n)) for i in range(0, n, _BLOCK))


def _block_predictor(Xb: np.ndarray, params: np.ndarray, out: np.ndarray) -> np.ndarray:
    np.multiply(Xb[:, 0], params[0], out=out)
    for j in range(1, Xb.shape[1]):
        out += Xb[:, j] * params[j]
    return out


def formula_variables(formula: str, data: pd.DataFrame, exclude: str | None = None) -> list[str]:
    """Data columns named on the right-hand side of a formula, in data order."""
    rhs = formula.split("~", 1)[-1]
    tokens = set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", rhs))
    return [c for c in data.columns if c in tokens and c != exclude]


def _origin_of_term(term: str, covariates: list[str]) -> str | None:
    hits = [c for c in covariates if c in term]
    return max(hits, key=len) if hits else None


def _check_separation(X: np.ndarray, y: np.ndarray, names: list[str], origin: dict) -> None:
    """Name every design column that separates treated from controls on its own.

    A 0/1 column separates when all units with value 1 are in one group
    (quasi-complete separation: the coefficient goes to +-infinity); a
    continuous column when the groups' ranges do not overlap.
    """
    t = y == 1
    # Column ranges and sums over everyone, and over the smaller group (a small
    # copy); the other group's figures follow from them, so the pool is read
    # only a couple of times per column.
    small = t if t.sum() <= len(t) / 2 else ~t
    lo_all, hi_all, sum_all = X.min(axis=0), X.max(axis=0), X.sum(axis=0)
    Xs = X[small]
    lo_s, hi_s, sum_s = Xs.min(axis=0), Xs.max(axis=0), Xs.sum(axis=0)
    n_s, n_o = int(small.sum()), int(len(t) - small.sum())
    problems = []
    for j, name in enumerate(names):
        if name in ("Intercept", "const"):
            continue
        x = X[:, j]
        cov, level = origin.get(name) or (name, None)
        label = f"{cov!r}" + (f" level {level!r}" if level is not None else "")
        lo_o = lo_all[j] if lo_all[j] < lo_s[j] else x.min(where=~small, initial=np.inf)
        hi_o = hi_all[j] if hi_all[j] > hi_s[j] else x.max(where=~small, initial=-np.inf)
        (lo_t, hi_t, lo_c, hi_c) = (lo_s[j], hi_s[j], lo_o, hi_o) if small is t else (lo_o, hi_o, lo_s[j], hi_s[j])
        if lo_all[j] == hi_all[j]:
            problems.append(f"{label} takes a single value for everyone (no variation)")
        elif lo_all[j] >= 0 and hi_all[j] <= 1 and np.all((x == 0) | (x == 1)):
            ones_s, ones_o = int(sum_s[j]), int(sum_all[j] - sum_s[j])
            (ones_t, n_t, ones_c, n_c) = (ones_s, n_s, ones_o, n_o) if small is t else (ones_o, n_o, ones_s, n_s)
            if ones_c == 0:
                problems.append(f"{label}: all {ones_t} units with it are treated")
            elif ones_t == 0:
                problems.append(f"{label}: all {ones_c} units with it are controls")
            elif ones_t == n_t:
                problems.append(f"{label}: every treated unit has it")
            elif ones_c == n_c:
                problems.append(f"{label}: every control unit has it")
        elif hi_t <= lo_c or hi_c <= lo_t:
            problems.append(
                f"{label}: treated values [{lo_t:g}, {hi_t:g}] and control values [{lo_c:g}, {hi_c:g}] do not overlap"
            )
    problems += _collinear(X, names)
    if problems:
        raise ModelError(
            "The propensity model cannot be fitted (perfect separation, no variation or "
            "collinearity): "
            + "; ".join(problems)
            + ". Drop or coarsen these covariates, or match exactly on them (exact=...)."
        )


def _collinear(X: np.ndarray, names: list[str]) -> list[str]:
    """Design columns that are (near) linear combinations of others, found from the
    small k x k correlation-scaled cross-product (statsmodels' own rank check
    runs a QR of the whole n x k matrix, which is slow on a national pool)."""
    xtx = X.T @ X
    scale = np.sqrt(np.diag(xtx))
    if np.any(scale == 0):
        return [f"{names[j]!r} is all zero" for j in np.flatnonzero(scale == 0)]
    vals, vecs = np.linalg.eigh(xtx / np.outer(scale, scale))
    out = []
    for v in vecs[:, vals < 1e-10 * vals.max()].T:
        involved = [names[j] for j in np.flatnonzero(np.abs(v) > 0.1)]
        out.append(f"columns {involved} are collinear (one is a combination of the others)")
    return out


def _fit_logit(y: np.ndarray, X: np.ndarray, names: list[str]):
    """Maximum likelihood by Newton-Raphson, returned as a statsmodels ``Logit``
    results object (standard errors, tests, ``summary()``) and the linear predictor.

    The Newton steps are done here, two matrix products per step, because
    statsmodels' own loop recomputes predictions and the log-likelihood several
    times per step and checks for perfect prediction on every step, which
    dominates on a national pool. The covariance is the inverse Hessian of the
    last Newton step, within a relative 1e-7 of the one at the optimum that
    ``Logit.fit`` reports.
    """
    start = _start_values(y, X) if len(y) > _SUBSAMPLE_ABOVE else None
    params, hessian, converged = _newton(y, X, start)
    eta = linear_predictor(X, params)
    p = expit(eta)
    if np.any((p < 1e-12) | (p > 1 - 1e-12)):
        raise ModelError(
            "Perfect separation in the propensity model: some fitted probabilities are 0 or 1, so "
            "a combination of covariates predicts treatment exactly. Largest coefficients: "
            f"{_largest(params, names)}. Drop or coarsen these covariates or match exactly on them."
        )
    if not converged:
        raise ModelError(
            "The propensity model did not converge in 100 Newton iterations; "
            f"largest coefficients: {_largest(params, names)}. Check for near-separation or rescale "
            "covariates with very large values."
        )
    model = sm.Logit(y, X, check_rank=False)
    fit = LikelihoodModelResults(model, params, np.linalg.inv(hessian), 1.0)
    fit.mle_retvals = {"converged": True}
    fit.mle_settings = {"optimizer": "newton"}
    return BinaryResultsWrapper(LogitResults(model, fit)), eta


def _newton(y: np.ndarray, X: np.ndarray, start: np.ndarray | None, maxiter: int = 100):
    if start is None:
        start = np.zeros(X.shape[1])
        ybar = y.mean()
        start[0] = np.log(ybar / (1 - ybar))
    b = np.asarray(start, dtype=float)
    k = X.shape[1]
    eta = np.empty(min(len(y), _BLOCK))
    for _ in range(maxiter):
        # one pass over X per step, in row blocks that stay in cache
        score, hessian = np.zeros(k), np.zeros((k, k))
        for rows in _blocks(len(y)):
            Xb = X[rows]
            p = expit(_block_predictor(Xb, b, out=eta[: len(Xb)]))
            score += Xb.T @ (y[rows] - p)
            hessian += (Xb.T * (p * (1 - p))) @ Xb
        step = np.linalg.solve(hessian, score)
        b = b + step
        # Newton decrement: the log-likelihood was within ~step'score/2 of its
        # maximum before this step; after it (quadratic convergence) far closer.
        # The Hessian of this last step differs from the one at the new optimum by
        # a relative O(step), below 1e-7, so it serves for the covariance.
        if step @ score < 1e-9:
            return b, hessian, True
        if not np.all(np.isfinite(b)):
            break
    return b, None, False


def _largest(params: np.ndarray, names: list[str]) -> str:
    order = np.argsort(-np.abs(params))[:3]
    return ", ".join(f"{names[i]} = {params[i]:.3g}" for i in order)


def _start_values(y: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Coefficients from a case-control subsample: seeded random sets of treated and
    controls. Case-control sampling changes only the intercept, by the log of the
    ratio of the sampling fractions, so the corrected values are close to the full MLE."""
    rng = np.random.default_rng(20240531)
    treated = np.flatnonzero(y == 1)
    controls = np.flatnonzero(y == 0)
    n_t = min(len(treated), 20_000)
    n_c = min(len(controls), max(5 * n_t, 50_000))
    rows = np.sort(
        np.concatenate([rng.choice(treated, size=n_t, replace=False), rng.choice(controls, size=n_c, replace=False)])
    )
    start, _, converged = _newton(y[rows], X[rows], None)
    if not converged:
        return None
    start[0] -= np.log((n_t / len(treated)) / (n_c / len(controls)))
    return start
