"""Propensity scores: the probability of being in the programme given baseline covariates.

A logistic regression of the 0/1 treatment on the covariates. Categorical
covariates enter with treatment contrasts (the first level is the reference, as
R's ``glm`` does), so the coefficients are those of
``glm(treat ~ ..., family = binomial)``, which MatchIt fits with
``distance = "glm"``, and of statsmodels' ``Logit``.

How the fit stays safe and fast on a national pool:

- The design matrix is never built whole: each pass over the data builds it in
  row blocks that stay in cache, from the data's own columns.
- Columns are centred and scaled inside each block (to [-1, 1]), so squares of
  incomes do not overflow and the convergence tests mean the same for every
  covariate; coefficients are reported on the original scale.
- Newton-Raphson with step-halving on the log-likelihood: a step that lowers
  the likelihood is halved until it does not. One pass over the data per step
  (the likelihood of a step is computed in the same pass as the next step).
- Separation is judged as statsmodels and R's ``glm`` judge it, by coefficients
  that keep moving while the likelihood no longer changes: then no finite
  estimate exists, and the error names the covariates moving most. A model that
  converges with some fitted probabilities numerically 0 or 1 (R's ``glm``
  warning) is fitted, with a :class:`SeparationWarning`.
- When the fast path does not converge for another reason, statsmodels' own
  ``Logit.fit`` is tried on the scaled design before giving up.
- Covariates that ``exact`` strata hold fixed (every unit in a stratum has the
  same value) are left out of the model, as they cannot tell apart units that
  may be paired; they stay in the balance table.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import linalg, special
from scipy.special import expit

from ground.checks import column_names, parameter_error, require_columns, rows_text, shorten
from ground.errors import DesistWarning, ModelError, SchemaError

__all__ = [
    "PropensityModel",
    "SeparationWarning",
    "check_covariate_values",
    "design_matrix",
    "fit_propensity",
    "treatment_indicator",
]

#: Above this many rows the full Newton fit starts from a fit on a case-control
#: subsample (all treated units, a sample of controls, intercept corrected for
#: the sampling fraction), which saves most of the passes over the data.
_SUBSAMPLE_ABOVE = 200_000
#: Rows per block of the design matrix.
_BLOCK = 1 << 14
#: Scaled designs of up to this many cells (64 MB) are kept for every Newton pass; larger ones are scaled again.
_KEPT_CELLS = 1 << 23
#: Largest covariate magnitude accepted: squares of larger values overflow sums.
TOO_LARGE = 1e100
#: R's glm: fitted probabilities within this of 0 or 1 are "numerically 0 or 1".
_NUMERICALLY_01 = 10 * np.finfo(float).eps
_MAX_NEWTON = 100


class SeparationWarning(DesistWarning):
    """The propensity model converged, but some fitted probabilities are numerically 0 or 1:
    the groups barely overlap there (R's ``glm`` warns the same)."""


def treatment_indicator(data: pd.DataFrame, treatment: str) -> np.ndarray:
    """Return the treatment column as a boolean array, checking it is 0/1.

    Accepts bool columns and numeric columns holding only 0 and 1.

    Raises
    ------
    SchemaError
        The column is missing, has missing values, or holds other values; the
        message names the values received and the first offending rows (counted from 1).

    Examples
    --------
    >>> treatment_indicator(pd.DataFrame({"t": [1, 0, 1]}), "t")
    array([ True, False,  True])
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
            f"Got {len(rows)} other value(s), e.g. {shorten(shown)}: {rows_text(rows)}.",
            table="data",
            failures=failures,
        )
    return values.to_numpy() == 1


def check_covariate_values(data: pd.DataFrame, columns: list[str], *, table: str = "data") -> None:
    """Refuse infinite, NaN-like or overflowing values in numeric covariates.

    Raises
    ------
    SchemaError
        Naming every offending column with its rows (counted from 1) and values:
        infinity, or a magnitude above 1e100 (squares of such values overflow the
        sums a model or a balance table needs).

    Examples
    --------
    >>> check_covariate_values(pd.DataFrame({"age": [30.0, float("inf")]}), ["age"])
    Traceback (most recent call last):
    ...
    ground.errors.SchemaError: table 'data' has values that are not finite numbers of at most 1e+100 in magnitude: \
age: row 2 (inf). Fix or remove them (rows are never dropped silently).
    """
    problems, failures = [], []
    for c in columns:
        col = data[c]
        if col.dtype == bool or categorical_levels(col) is not None:
            continue
        if isinstance(col.dtype, np.dtype) and col.dtype.kind in "iub":
            continue  # whole numbers are finite and far below the limit
        x = col.to_numpy(dtype=float, na_value=np.nan)
        lo, hi = np.nanmin(x, initial=0.0), np.nanmax(x, initial=0.0)
        if -TOO_LARGE <= lo and hi <= TOO_LARGE:
            continue  # the common case: two reductions, no temporaries
        bad = np.flatnonzero(~(np.abs(x) <= TOO_LARGE) & ~np.isnan(x))
        if bad.size:
            problems.append(f"{c}: {rows_text(bad, x[bad].tolist())}")
            failures += [{"column": c, "rule": "finite, |x| <= 1e100", "row": int(r), "value": x[r]} for r in bad]
    if problems:
        raise SchemaError(
            f"table {table!r} has values that are not finite numbers of at most {TOO_LARGE:g} in magnitude: "
            + "; ".join(problems)
            + ". Fix or remove them (rows are never dropped silently).",
            table=table,
            failures=pd.DataFrame(failures, columns=["column", "rule", "row", "value"]),
        )


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
    return sorted(pd.unique(col.dropna()).tolist(), key=str)


@dataclass(frozen=True)
class _Column:
    """One design column: the intercept, a numeric data column, or one level of a categorical."""

    name: str
    covariate: str | None
    level: object = None
    values: np.ndarray | None = field(default=None, repr=False)  # numeric values or level codes
    code: int = -1  # the level's code, for a level column

    def take(self, rows) -> np.ndarray:
        """Values at ``rows`` (not for the intercept, which has none)."""
        if self.values is None:
            raise ValueError("the intercept has no values")  # a bug: callers skip the intercept
        v = self.values[rows]
        return v == self.code if self.code >= 0 else v


class DesignMatrix:
    """The logit's design matrix, held as its columns and built in row blocks on demand.

    Columns: ``Intercept``, each numeric or bool covariate, and one 0/1 column per
    non-reference level of each categorical (R's names, e.g. ``racehispan``).
    """

    def __init__(self, columns: list[_Column], n: int):
        self.columns = columns
        self.n = n

    @classmethod
    def from_data(cls, data: pd.DataFrame, covariates: list[str]) -> DesignMatrix:
        cols = [_Column("Intercept", None)]
        for c in covariates:
            col = data[c]
            levels = categorical_levels(col)
            if levels is None:
                # numpy dtypes without a copy; extension dtypes (Int64, boolean) as float
                numpy_dtype = isinstance(col.dtype, np.dtype) and col.dtype != object
                cols.append(_Column(c, c, values=col.to_numpy() if numpy_dtype else col.to_numpy(dtype=float)))
                continue
            codes = level_codes(col, levels)
            cols += [_Column(f"{c}{lev}", c, lev, codes, k) for k, lev in enumerate(levels[1:], start=1)]
        return cls(cols, len(data))

    @classmethod
    def from_matrix(cls, X: np.ndarray, names: list[str], covariates: list[str]) -> DesignMatrix:
        cols = [
            _Column(n, None) if n in ("Intercept", "const") else _Column(n, _origin_of_term(n, covariates), values=x)
            for n, x in zip(names, np.asarray(X, dtype=float).T)
        ]
        return cls(cols, X.shape[0])

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def k(self) -> int:
        return len(self.columns)

    def without(self, names: set[str]) -> DesignMatrix:
        return DesignMatrix([c for c in self.columns if c.name not in names], self.n)

    def block(self, rows, out: np.ndarray | None = None) -> np.ndarray:
        """Rows of the design matrix (a slice or positions), one row per unit."""
        m = len(range(*rows.indices(self.n))) if isinstance(rows, slice) else len(rows)
        X = np.empty((m, self.k)) if out is None else out[:m]
        for j, c in enumerate(self.columns):
            if c.values is None:
                X[:, j] = 1.0
            else:
                X[:, j] = c.take(rows)  # numpy casts ints and bools while copying
        return X

    def blocks(self):
        return (slice(i, min(i + _BLOCK, self.n)) for i in range(0, self.n, _BLOCK))

    def column(self, j: int) -> np.ndarray:
        col = self.columns[j]
        return np.ones(self.n) if col.values is None else col.take(slice(0, self.n)).astype(float, copy=False)

    def full(self) -> np.ndarray:
        """The whole matrix (column-major): for small data only."""
        X = np.empty((self.n, self.k), order="F")
        for j in range(self.k):
            X[:, j] = self.column(j)
        return X

    def take(self, rows: np.ndarray) -> DesignMatrix:
        """A design of the given rows, as a matrix."""
        X = self.block(rows)
        cols = [
            _Column(c.name, c.covariate, c.level, None if c.values is None else X[:, j])
            for j, c in enumerate(self.columns)
        ]
        return DesignMatrix(cols, len(rows))


def design_matrix(data: pd.DataFrame, covariates: list[str]) -> tuple[np.ndarray, list[str], dict]:
    """The logit's design matrix built whole (intercept, numeric and 0/1 columns, one
    dummy per non-reference level of each categorical, R's names such as
    ``racehispan``), its column names and, per column, the (covariate, level) it
    came from. For small data; :func:`fit_propensity` never builds it whole.

    Examples
    --------
    >>> X, names, _ = design_matrix(pd.DataFrame({"age": [20, 30], "sex": ["f", "m"]}), ["age", "sex"])
    >>> names
    ['Intercept', 'age', 'sexm']
    """
    design = DesignMatrix.from_data(data, covariates)
    origin = {c.name: (None if c.covariate is None else (c.covariate, c.level)) for c in design.columns}
    return design.full(), design.names, origin


@dataclass(frozen=True)
class PropensityModel:
    """A fitted propensity model.

    Attributes
    ----------
    columns : list of str
        Names of the design columns (R's names for factor dummies).
    coefficients : numpy.ndarray
        Maximum-likelihood coefficients, one per design column.
    covariance : numpy.ndarray
        Their covariance (inverse observed information).
    probability : numpy.ndarray
        Fitted probability of treatment for every input row.
    linear_predictor : numpy.ndarray
        The logit (log-odds) for every input row.
    covariates : list of str
        The data columns the model uses.
    log_likelihood, null_log_likelihood : float
        At the estimate, and of the intercept-only model.
    n, n_treated : int
    iterations : int
        Newton passes over the data (or statsmodels' iterations).
    method : str
        How it was fitted: "newton" (the fast path) or "statsmodels" (the fallback).
    notes : tuple of str
        What the fit did that a reader should know (covariates left out, warnings).
    design : DesignMatrix or None
        The design the model was fitted on (``design.full()`` gives the matrix).
    """

    columns: list[str]
    coefficients: np.ndarray = field(repr=False)
    covariance: np.ndarray = field(repr=False)
    probability: np.ndarray = field(repr=False)
    linear_predictor: np.ndarray = field(repr=False)
    covariates: list[str]
    log_likelihood: float
    null_log_likelihood: float
    n: int
    n_treated: int
    iterations: int
    method: str
    notes: tuple[str, ...] = ()
    design: DesignMatrix | None = field(default=None, repr=False, compare=False)

    @property
    def params(self) -> pd.Series:
        """Coefficients named by design column."""
        return pd.Series(self.coefficients, index=self.columns)

    @property
    def bse(self) -> pd.Series:
        """Standard errors named by design column."""
        return pd.Series(np.sqrt(np.diag(self.covariance)), index=self.columns)

    def to_frame(self, alpha: float = 0.05) -> pd.DataFrame:
        """Coefficient table: coef, se, z, p_value, ci_low, ci_high (Wald, normal)."""
        se = self.bse.to_numpy()
        z = self.coefficients / se
        q = special.ndtri(1 - alpha / 2)
        return pd.DataFrame(
            {
                "coef": self.coefficients,
                "se": se,
                "z": z,
                "p_value": 2 * special.ndtr(-np.abs(z)),
                "ci_low": self.coefficients - q * se,
                "ci_high": self.coefficients + q * se,
            },
            index=pd.Index(self.columns, name="term"),
        )

    def to_dict(self) -> dict:
        return {
            "covariates": list(self.covariates),
            "coefficients": {k: float(v) for k, v in self.params.items()},
            "n": self.n,
            "n_treated": self.n_treated,
            "log_likelihood": self.log_likelihood,
            "method": self.method,
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """Coefficient table with the fit's n, log-likelihood, pseudo R-squared and notes."""
        pseudo = 1 - self.log_likelihood / self.null_log_likelihood if self.null_log_likelihood else math.nan
        lines = [
            f"Propensity model: logistic regression of treatment on {len(self.covariates)} covariate(s)",
            f"  n = {self.n:,} ({self.n_treated:,} treated); log-likelihood {self.log_likelihood:.4f}; "
            f"McFadden pseudo R-squared {pseudo:.4f}; fitted by {self.method} in {self.iterations} iteration(s)",
            "",
            self.to_frame().to_string(float_format=lambda v: f"{v:.6g}"),
        ]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def fit_propensity(
    data: pd.DataFrame,
    treatment: str,
    covariates: list[str] | str | None = None,
    *,
    formula: str | None = None,
    exact: list[str] | str | None = None,
) -> PropensityModel:
    """Fit a logistic propensity model of ``treatment`` on covariates.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit.
    treatment : str
        0/1 (or bool) column: 1 = in the programme.
    covariates : str or list of str, optional
        Columns to adjust for. Strings and pandas categoricals get treatment
        contrasts (first level = reference); bools enter as 0/1.
    formula : str, optional
        A statsmodels formula instead of ``covariates``, e.g.
        ``"treat ~ age + educ + C(race) + np.log1p(re74)"``.
    exact : str or list of str, optional
        Columns the matching will hold exact. Design columns with one value in
        every exact stratum are left out of the model (noted in ``notes``).

    Returns
    -------
    PropensityModel

    Raises
    ------
    ModelError
        Separation (no finite estimate; the message names the covariates), a
        covariate with no variation, collinear covariates, or a fit that does
        not converge.
    SchemaError
        Missing, infinite or overflowing covariate values (column and rows).

    Warns
    -----
    SeparationWarning
        Converged, with some fitted probabilities numerically 0 or 1.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"age": rng.normal(35, 10, 500)})
    >>> df["t"] = (rng.random(500) < expit(-1 + 0.05 * (df["age"] - 35))).astype(int)
    >>> ps = fit_propensity(df, "t", "age")
    >>> ps.columns
    ['Intercept', 'age']
    >>> bool(0 < ps.probability.min() < ps.probability.max() < 1)
    True
    """
    y = treatment_indicator(data, treatment).astype(float)
    n_t = int(y.sum())
    if n_t == 0 or n_t == len(y):
        raise ModelError(
            f"A propensity model needs treated and control units; the treatment column {treatment!r} has "
            f"{n_t} treated (1) and {len(y) - n_t} control (0) rows."
        )
    design, covariates = _design(data, treatment, covariates, formula)
    notes = []
    exact_cols = column_names(exact, "exact", "fit_propensity")
    if exact_cols:
        require_columns(data, exact_cols, table="data", complete=True)
        fixed = _fixed_by_strata(design, data, exact_cols)
        if fixed:
            design = design.without(fixed)
            notes.append(
                f"left out of the model, as every exact stratum holds them fixed: {shorten(sorted(fixed))} "
                "(they stay in the balance table)"
            )
    stats_ = _column_stats(design, y == 1)
    _check_separation(design, stats_)
    fit = _fit_logit(y, design, stats_)
    notes += fit.notes
    return PropensityModel(
        columns=design.names,
        coefficients=fit.params,
        covariance=fit.covariance,
        probability=expit(fit.eta),
        linear_predictor=fit.eta,
        covariates=list(covariates),
        log_likelihood=fit.ll,
        null_log_likelihood=_null_log_likelihood(y),
        n=len(y),
        n_treated=int(y.sum()),
        iterations=fit.iterations,
        method=fit.method,
        notes=tuple(notes),
        design=design,
    )


def _design(data, treatment, covariates, formula) -> tuple[DesignMatrix, list[str]]:
    if not isinstance(data, pd.DataFrame):
        raise parameter_error("data", "fit_propensity", "a pandas DataFrame", data)
    if formula is not None:
        if covariates is not None:
            warnings.warn("'covariates' is ignored when 'formula' is given", DesistWarning, stacklevel=3)
        if not isinstance(formula, str) or "~" not in formula:
            raise parameter_error("formula", "fit_propensity", "a formula string such as 'treat ~ age + sex'", formula)
        covariates = formula_variables(formula, data, exclude=treatment)
        require_columns(data, covariates, table="data", complete=True)
        check_covariate_values(data, covariates)
        import statsmodels.api as sm

        try:
            model = sm.Logit.from_formula(formula, data)
        except Exception as exc:  # patsy/formulaic errors name the term; keep the message
            raise ModelError(f"The propensity formula {formula!r} cannot be read: {exc}") from None
        return DesignMatrix.from_matrix(
            np.asarray(model.exog, dtype=float), list(model.exog_names), covariates
        ), covariates
    covariates = column_names(covariates, "covariates", "fit_propensity")
    if not covariates:
        raise parameter_error(
            "covariates", "fit_propensity", "at least one column name (or give 'formula')", covariates
        )
    require_columns(data, covariates, table="data", complete=True)
    check_covariate_values(data, covariates)
    return DesignMatrix.from_data(data, covariates), covariates


def _fixed_by_strata(design: DesignMatrix, data: pd.DataFrame, exact: list[str]) -> set[str]:
    strata = data.groupby(exact, sort=False, observed=True).ngroup().to_numpy()
    fixed = set()
    for j, c in enumerate(design.columns):
        if c.values is None:
            continue
        g = pd.Series(design.column(j)).groupby(strata)
        if bool((g.min() == g.max()).all()):
            fixed.add(c.name)
    return fixed


def formula_variables(formula: str, data: pd.DataFrame, exclude: str | None = None) -> list[str]:
    """Data columns named on the right-hand side of a formula, in data order."""
    rhs = formula.split("~", 1)[-1]
    tokens = set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", rhs))
    return [c for c in data.columns if c in tokens and c != exclude]


def _origin_of_term(term: str, covariates: list[str]) -> str | None:
    hits = [c for c in covariates if c in term]
    return max(hits, key=len) if hits else None


def _null_log_likelihood(y: np.ndarray) -> float:
    m = y.mean()
    return float(len(y) * (m * math.log(m) + (1 - m) * math.log(1 - m))) if 0 < m < 1 else 0.0


@dataclass
class _Stats:
    """Per design column: range, mean, 0/1-ness, and the treated group's range and count of ones."""

    lo: np.ndarray
    hi: np.ndarray
    mean: np.ndarray
    binary: np.ndarray
    lo_t: np.ndarray
    hi_t: np.ndarray
    lo_c: np.ndarray
    hi_c: np.ndarray
    ones_t: np.ndarray
    ones_c: np.ndarray
    n_t: int
    n_c: int

    @property
    def center(self) -> np.ndarray:
        c = self.mean.copy()
        c[0] = 0.0
        return c

    @property
    def scale(self) -> np.ndarray:
        s = np.maximum(self.hi - self.mean, self.mean - self.lo)
        s[0] = 1.0
        return np.where(s > 0, s, 1.0)


def _column_stats(design: DesignMatrix, t: np.ndarray) -> _Stats:
    k = design.k
    out = {name: np.zeros(k) for name in ("lo", "hi", "mean", "lo_t", "hi_t", "lo_c", "hi_c", "ones_t", "ones_c")}
    binary = np.zeros(k, dtype=bool)
    t_rows = np.flatnonzero(t)
    for j, col in enumerate(design.columns):
        if col.values is None:
            for name, constant in zip(out, (1, 1, 1, 1, 1, 1, 1, len(t_rows), len(t) - len(t_rows))):
                out[name][j] = constant
            continue
        if col.code >= 0:  # a level of a categorical: counts from the codes
            ones_t = int(np.count_nonzero(col.values[t_rows] == col.code))
            ones = int(np.count_nonzero(col.values == col.code))
            _set_binary_stats(out, j, ones_t, ones - ones_t, len(t_rows), len(t) - len(t_rows))
            binary[j] = True
            continue
        x = col.values
        lo, hi, xt = x.min(), x.max(), x[t_rows]
        lo_t, hi_t = xt.min(), xt.max()
        # the controls' range follows from the whole range unless the treated hold an end
        lo_c = lo if lo < lo_t else x[~t].min()
        hi_c = hi if hi > hi_t else x[~t].max()
        binary[j] = bool(lo >= 0 and hi <= 1 and np.all((x == 0) | (x == 1)))
        sum_t = float(np.sum(xt)) if binary[j] else 0.0
        sum_c = float(np.sum(x)) - sum_t if binary[j] else 0.0
        for name, v in zip(out, (lo, hi, x.mean(), lo_t, hi_t, lo_c, hi_c, sum_t, sum_c)):
            out[name][j] = v
    return _Stats(**out, binary=binary, n_t=len(t_rows), n_c=len(t) - len(t_rows))


def _set_binary_stats(out: dict, j: int, ones_t: int, ones_c: int, n_t: int, n_c: int) -> None:
    n = n_t + n_c
    ones = ones_t + ones_c
    out["lo"][j], out["hi"][j] = (0.0 if ones < n else 1.0), (1.0 if ones > 0 else 0.0)
    out["mean"][j] = ones / n
    out["lo_t"][j], out["hi_t"][j] = (0.0 if ones_t < n_t else 1.0), (1.0 if ones_t > 0 else 0.0)
    out["lo_c"][j], out["hi_c"][j] = (0.0 if ones_c < n_c else 1.0), (1.0 if ones_c > 0 else 0.0)
    out["ones_t"][j], out["ones_c"][j] = ones_t, ones_c


def _label(col: _Column) -> str:
    return f"{(col.covariate or col.name)!r}" + (f" level {col.level!r}" if col.level is not None else "")


def _number(v: float) -> str:
    """A covariate value for a message: '0', not '-0'."""
    return f"{v + 0.0:g}"


def _check_separation(design: DesignMatrix, s: _Stats) -> None:
    """Name every design column that takes one value, or separates treated from
    controls on its own (a 0/1 column whose ones are all in one group; a
    continuous column whose groups' ranges do not overlap)."""
    problems = []
    for j, col in enumerate(design.columns):
        if col.values is None:
            continue
        label = _label(col)
        if s.lo[j] == s.hi[j]:
            problems.append(f"{label} takes a single value for everyone (no variation)")
        elif s.binary[j]:
            ones_t, ones_c = int(s.ones_t[j]), int(s.ones_c[j])
            if ones_c == 0:
                problems.append(f"{label}: all {ones_t} units with it are treated")
            elif ones_t == 0:
                problems.append(f"{label}: all {ones_c} units with it are controls")
            elif ones_t == s.n_t:
                problems.append(f"{label}: every treated unit has it")
            elif ones_c == s.n_c:
                problems.append(f"{label}: every control unit has it")
        elif s.hi_t[j] <= s.lo_c[j] or s.hi_c[j] <= s.lo_t[j]:
            touch = s.hi_t[j] == s.lo_c[j] or s.hi_c[j] == s.lo_t[j]
            where = (
                f"meet only at {_number(s.hi_t[j] if s.hi_t[j] == s.lo_c[j] else s.lo_t[j])}"
                if touch
                else "do not overlap"
            )
            problems.append(
                f"{label}: treated values [{_number(s.lo_t[j])}, {_number(s.hi_t[j])}] and control values "
                f"[{_number(s.lo_c[j])}, {_number(s.hi_c[j])}] {where}"
            )
    if problems:
        raise ModelError(
            "The propensity model cannot be fitted (perfect separation or no variation): "
            + "; ".join(problems[:5])
            + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
            + ". Drop or coarsen these covariates, or match exactly on them (exact=...)."
        )


@dataclass
class _Fit:
    params: np.ndarray
    covariance: np.ndarray
    eta: np.ndarray
    ll: float
    iterations: int
    method: str
    notes: list[str]


@dataclass
class _Newton:
    """Where a Newton run ended: scaled coefficients, the Hessian there, and how it ended."""

    b: np.ndarray
    hessian: np.ndarray | None
    ll: float
    iterations: int
    status: str  # "converged", "diverging" or "stopped"
    step: np.ndarray | None = None


def _fit_logit(y: np.ndarray, design: DesignMatrix, s: _Stats) -> _Fit:
    from threadpoolctl import threadpool_limits

    # Each pass multiplies cache-sized blocks: BLAS threads cost more than they
    # save at that size, and far more on a machine whose cores are busy.
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_logit_blocks(y, design, s)


def _fit_logit_blocks(y: np.ndarray, design: DesignMatrix, s: _Stats) -> _Fit:
    center, scale = s.center, s.scale
    start = _start_values(y, design, center, scale) if len(y) > _SUBSAMPLE_ABOVE else None
    run = _newton(y, design, center, scale, start, check_rank=True)
    method, notes = "newton", []
    if run.status == "stopped":
        fallback = _statsmodels_fit(y, design, center, scale)
        if fallback is not None:
            run, method = fallback, "statsmodels"
    if run.status == "diverging":
        raise ModelError(_separation_message(y, design, center, scale, run))
    if run.status != "converged":
        raise ModelError(
            f"The propensity model did not converge in {run.iterations} Newton steps, nor with statsmodels' "
            f"Logit.fit; largest coefficients: {_largest(_unscale(run.b, center, scale), design.names)}. "
            "Check for near-separation, or drop covariates that say nearly the same thing."
        )
    params = _unscale(run.b, center, scale)
    J = _unscale_jacobian(center, scale)
    assert run.hessian is not None  # a converged run has its Hessian
    covariance = J @ np.linalg.inv(run.hessian) @ J.T
    eta = linear_predictor(design, params)
    extreme_t, extreme_c = _numerically_01(eta, y == 1)
    if extreme_t + extreme_c:
        note = (
            f"near-separation: {extreme_t} treated and {extreme_c} control unit(s) have fitted probabilities "
            "numerically 0 or 1 (as R's glm warns); the groups barely overlap there. Consider discard='both' "
            "or a caliper."
        )
        notes.append(note)
        warnings.warn(f"The propensity model converged, but {note}", SeparationWarning, stacklevel=3)
    return _Fit(params, covariance, eta, run.ll, run.iterations, method, notes)


def _numerically_01(eta: np.ndarray, t: np.ndarray) -> tuple[int, int]:
    cut = math.log(_NUMERICALLY_01)  # p < eps  <=>  eta < log(eps) (near enough)
    extreme = np.abs(eta) > -cut
    return int(np.count_nonzero(extreme & t)), int(np.count_nonzero(extreme & ~t))


def _unscale(b: np.ndarray, center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    params = b / scale
    params[0] = b[0] - np.sum(params[1:] * center[1:])
    return params


def _unscale_jacobian(center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    J = np.diag(1 / scale)
    J[0, 1:] = -center[1:] / scale[1:]
    return J


def _scaled_blocks(design: DesignMatrix, center, scale, buffer) -> Iterator[tuple[slice, np.ndarray]]:
    """The scaled design a block of rows at a time, each block written into ``buffer`` over the one before."""
    for rows in design.blocks():
        Xs = design.block(rows, out=buffer)
        Xs -= center
        Xs /= scale
        yield rows, Xs


def _scaled_pass(y, blocks: Iterable[tuple[slice, np.ndarray]], b):
    """Log-likelihood, score and Hessian at scaled coefficients ``b``: one pass over the data's scaled blocks."""
    k = len(b)
    ll, score, hessian = 0.0, np.zeros(k), np.zeros((k, k))
    for rows, Xs in blocks:
        eta = Xs @ b
        p = expit(eta)
        yb = y[rows]
        ll += float(yb @ eta - np.logaddexp(0.0, eta).sum())
        score += Xs.T @ (yb - p)
        hessian += (Xs.T * (p * (1.0 - p))) @ Xs
    return ll, score, hessian


def _solve(hessian: np.ndarray, score: np.ndarray) -> np.ndarray:
    try:
        return linalg.cho_solve(linalg.cho_factor(hessian), score)
    except (linalg.LinAlgError, ValueError):
        return np.linalg.lstsq(hessian, score, rcond=None)[0]


def _newton(y, design, center, scale, start, *, check_rank=False, maxiter=_MAX_NEWTON) -> _Newton:
    """Newton-Raphson with step-halving, on the scaled design.

    Converged: the largest step falls below 1e-7 (scaled units: the change in the
    log-odds across a covariate's range); the step is taken, leaving an error of
    order 1e-14. Diverging (separation): for three
    steps running the likelihood no longer changes while the steps do not shrink.
    """
    k = design.k
    b = _initial(y, k) if start is None else np.asarray(start, dtype=float)
    buffer = np.empty((_BLOCK, k))
    # The scaled design does not change between passes: kept, when small enough, instead of built again at each.
    kept = None
    if design.n * k <= _KEPT_CELLS:
        kept = [(rows, Xs.copy()) for rows, Xs in _scaled_blocks(design, center, scale, buffer)]
    best_b, best_ll, step, halvings, flat, last = b, -np.inf, np.zeros(k), 0, 0, np.inf
    for it in range(1, maxiter + 1):
        ll, score, hessian = _scaled_pass(y, kept or _scaled_blocks(design, center, scale, buffer), b)
        if it == 1 and check_rank:
            _check_rank(hessian, design)
        if not (math.isfinite(ll) and ll >= best_ll - 1e-10 * (1 + abs(best_ll))):
            if halvings == 40:
                return _Newton(best_b, None, best_ll, it, "stopped")
            step, halvings = step / 2, halvings + 1
            b = best_b + step
            continue
        halvings = 0
        best_b, best_ll = b, ll
        step = _solve(hessian, score)
        size = float(np.max(np.abs(step)))
        if not np.all(np.isfinite(step)):
            return _Newton(b, None, ll, it, "stopped")
        if size <= 1e-7:
            # quadratic convergence: after this step the error is of order size^2
            return _Newton(b + step, hessian, ll, it, "converged")
        still = float(step @ score) < 1e-9 * (1 + abs(ll)) and size > 1e-4 and size > 0.5 * last
        flat = flat + 1 if still else 0
        if flat == 3:
            return _Newton(b, hessian, ll, it, "diverging", step)
        last = size
        b = b + step
    return _Newton(best_b, None, best_ll, maxiter, "stopped")


def _initial(y: np.ndarray, k: int) -> np.ndarray:
    b = np.zeros(k)
    ybar = y.mean()
    b[0] = math.log(ybar / (1 - ybar))
    return b


def _check_rank(hessian: np.ndarray, design: DesignMatrix) -> None:
    """Collinear design columns, from the (small) Hessian scaled to unit diagonal.
    The weights p(1 - p) are positive, so its null space is the design's."""
    d = np.sqrt(np.diag(hessian))
    vals, vecs = np.linalg.eigh(hessian / np.outer(d, d))
    small = vals < 1e-10 * vals.max()
    if not small.any():
        return
    groups = [[design.names[j] for j in np.flatnonzero(np.abs(v) > 0.1)] for v in vecs[:, small].T]
    raise ModelError(
        "The propensity model cannot be fitted: "
        + "; ".join(f"columns {shorten(g)} are collinear (one is a combination of the others)" for g in groups)
        + ". Drop one of each set."
    )


def _statsmodels_fit(y, design, center, scale) -> _Newton | None:
    """statsmodels' own Newton fit on the scaled design (built whole: a fallback only)."""
    import statsmodels.api as sm

    Xs = (design.full() - center) / scale
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = sm.Logit(y, Xs, check_rank=False).fit(method="newton", maxiter=200, tol=1e-12, disp=False)
        except Exception:  # statsmodels' own failure: report ours
            return None
    b = np.asarray(res.params)
    if not (res.mle_retvals.get("converged") and np.all(np.isfinite(b))):
        return None
    p = expit(Xs @ b)
    hessian = (Xs.T * (p * (1 - p))) @ Xs
    return _Newton(b, hessian, float(res.llf), int(res.mle_retvals.get("iterations", 0)), "converged")


def _separation_message(y, design, center, scale, run: _Newton) -> str:
    direction = np.abs(run.step if run.step is not None else run.b)
    direction[0] = 0.0
    moving = [design.columns[j] for j in np.argsort(-direction)[:3] if direction[j] > 0.05 * direction.max()]
    eta = linear_predictor(design, _unscale(run.b, center, scale))
    extreme_t, extreme_c = _numerically_01(eta, y == 1)
    return (
        "The propensity model has no finite estimate (separation): a combination of covariates predicts "
        f"treatment exactly for some units. The coefficients of {shorten(_label(c) for c in moving)} grow "
        f"without bound while the likelihood no longer changes; {extreme_t} treated and {extreme_c} control "
        "unit(s) already have fitted probabilities numerically 0 or 1. Drop or coarsen these covariates, "
        "match exactly on them (exact=...), or discard units outside the common support."
    )


def linear_predictor(design: DesignMatrix, params: np.ndarray) -> np.ndarray:
    """The linear predictor on the original scale, accumulated column by column with
    elementwise operations, so units with identical covariates get bit-identical
    scores wherever they sit in the data (a BLAS product may round rows in different
    kernel positions differently, which would split ties that MatchIt's balance
    statistics count as one distinct value). Done in row blocks that stay in cache."""
    eta = np.empty(design.n)
    buffer = np.empty((_BLOCK, design.k))
    for rows in design.blocks():
        Xb = design.block(rows, out=buffer)
        out = eta[rows]
        np.multiply(Xb[:, 0], params[0], out=out)
        for j in range(1, Xb.shape[1]):
            out += Xb[:, j] * params[j]
    return eta


def _largest(params: np.ndarray, names: list[str]) -> str:
    order = 1 + np.argsort(-np.abs(params[1:]))[:3]
    return ", ".join(f"{names[i]} = {params[i]:.3g}" for i in order)


def _start_values(y: np.ndarray, design: DesignMatrix, center, scale) -> np.ndarray | None:
    """Scaled coefficients from a case-control subsample: seeded random sets of treated
    and controls. Case-control sampling changes only the intercept, by the log of the
    ratio of the sampling fractions, so the corrected values are close to the full MLE."""
    rng = np.random.default_rng(20240531)
    treated = np.flatnonzero(y == 1)
    controls = np.flatnonzero(y == 0)
    n_t = min(len(treated), 20_000)
    n_c = min(len(controls), max(5 * n_t, 50_000))
    rows = np.sort(
        np.concatenate([rng.choice(treated, size=n_t, replace=False), rng.choice(controls, size=n_c, replace=False)])
    )
    run = _newton(y[rows], design.take(rows), center, scale, None, maxiter=50)
    if run.status != "converged":
        return None
    start = run.b
    start[0] -= math.log((n_t / len(treated)) / (n_c / len(controls)))
    return start
