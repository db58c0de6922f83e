"""Schemas for desist's tables, and one call that checks a table against its schema.

Each table (people, eligible, assessments, offences, services, pool, custody,
claims, spells) is a pandera ``DataFrameModel``. The models list the required columns, their types
and their rules; columns they do not name are kept and passed through.
:func:`validate` coerces a frame to the model's types (ids to strings, ISO
dates to ``datetime64[ns]``, categories to pandas categoricals with the known
levels; ``person_id`` as written, except that a whole number saved with a decimal
point, ``10.0``, is ``10``), runs pandera lazily, adds the rules that need
arguments (the as-of date) or another table (offences before birth), and raises one
:class:`~ground.errors.SchemaError` that lists every failure.

A cell that cannot be parsed (``"2024-13-01"`` as a date, ``"x"`` as an age)
is reported as such, never turned into a missing value silently, and is not
reported again by the rules that would then see it as missing.
"""

from __future__ import annotations

import copy
import functools
import operator
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Optional, TypeAlias

import numpy as np
import pandas as pd

from ground.checks import column_names, parameter_error, require_columns, shorten
from ground.dates import DATE_RULE, DateLike, parse_date, parse_dates
from ground.errors import DesistWarning, SchemaError
from ground.factorise import factorise, placed
from ground.rowkeys import repeated, row_keys
from ground.threads import each


@contextmanager
def _without_pyspark_warning() -> Iterator[None]:
    """Silence pyspark.pandas' warning that it does not yet support pandas 3, inside the block only.

    Whenever pyspark is installed (desist[spark]), pandera tries to import pyspark.pandas as it loads, as it builds
    a schema and as it validates, and the import warns each time (it fails under pandas 3, so it is tried again);
    desist never uses pyspark.pandas. The warning is silenced around those calls, never for the user's process.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        yield


with _without_pyspark_warning():
    import pandera.pandas as pa
    from pandera.errors import SchemaErrors
    from pandera.typing import Series

SEX_LEVELS = ("female", "male", "other", "unknown")
ETHNICITY_LEVELS = ("white", "black", "asian", "mixed", "other", "unknown")
DISPOSAL_LEVELS = ("conviction", "caution", "acquittal", "no_further_action", "other")
#: Why a person is held: awaiting trial or sentence (remand), or serving a custodial sentence.
CUSTODY_KINDS = ("remand", "sentenced")

MIN_AGE, MAX_AGE = 10, 110  # 10 is the age of criminal responsibility in England and Wales

#: The needs a people table may flag (0/1), as in OASys-style assessments.
NEEDS = ("need_accommodation", "need_substance", "need_mental_health", "need_employment", "need_family")
#: The baseline characteristics a people table may hold: the risk, overlap and matching covariates
#: used wherever a caller names none (the difficulty model of a history, the overlap check, the story).
BASELINE_COVARIATES = ("age", "sex", "ethnicity", "age_first_conviction", "prior_offences", "ogrs_score", *NEEDS)

# How many failing rows of one rule the message shows; the rest are counted.
ROWS_SHOWN = 5


def _levels(levels: tuple[str, ...]) -> dict[str, Any]:
    return {"dtype_kwargs": {"categories": list(levels), "ordered": False}}


class Covariates(pa.DataFrameModel):
    """Risk and need covariates: optional, but checked wherever they appear."""

    age_first_conviction: Optional[Series[int]] = pa.Field(in_range={"min_value": MIN_AGE, "max_value": MAX_AGE})
    prior_offences: Optional[Series[int]] = pa.Field(ge=0)
    need_accommodation: Optional[Series[bool]]
    need_substance: Optional[Series[bool]]
    need_mental_health: Optional[Series[bool]]
    need_employment: Optional[Series[bool]]
    need_family: Optional[Series[bool]]
    ogrs_score: Optional[Series[float]] = pa.Field(in_range={"min_value": 0, "max_value": 100})

    class Config:
        strict = False


# Bases list their columns after those of the classes they follow in the
# bases tuple, so the core columns go in a base listed last.
class _Person(pa.DataFrameModel):
    person_id: Series[str] = pa.Field(unique=True)
    start_date: Series[pd.Timestamp]
    sex: Series[pd.CategoricalDtype] = pa.Field(**_levels(SEX_LEVELS))
    ethnicity: Series[pd.CategoricalDtype] = pa.Field(**_levels(ETHNICITY_LEVELS))
    age: Series[int] = pa.Field(in_range={"min_value": MIN_AGE, "max_value": MAX_AGE})
    provider_id: Series[pd.CategoricalDtype] = pa.Field(nullable=True)
    in_programme: Series[bool]


class People(Covariates, _Person):
    """One row per person in a cohort or comparison pool."""


class _Referral(pa.DataFrameModel):
    person_id: Series[str] = pa.Field(unique=True)
    referral_date: Series[pd.Timestamp]
    enrolled: Series[bool]
    sex: Optional[Series[pd.CategoricalDtype]] = pa.Field(**_levels(SEX_LEVELS))
    ethnicity: Optional[Series[pd.CategoricalDtype]] = pa.Field(**_levels(ETHNICITY_LEVELS))
    age: Optional[Series[int]] = pa.Field(in_range={"min_value": MIN_AGE, "max_value": MAX_AGE})
    provider_id: Optional[Series[pd.CategoricalDtype]] = pa.Field(nullable=True)


class Eligible(Covariates, _Referral):
    """One row per person eligible for referral; ``enrolled`` says who was taken on."""


class Pool(People):
    """A comparison pool: people, their covariates and proven-reoffending outcomes."""

    reoffended: Series[bool]
    reoffences: Series[int] = pa.Field(ge=0)
    days_to_first: Series[float] = pa.Field(ge=0, nullable=True)


class Assessments(pa.DataFrameModel):
    """One row per item (or domain) score of one person at one occasion."""

    person_id: Series[str]
    instrument: Series[pd.CategoricalDtype]
    item: Series[pd.CategoricalDtype]
    score: Series[float]
    assessed_on: Series[pd.Timestamp]

    class Config:
        strict = False
        unique = ["person_id", "instrument", "item", "assessed_on"]


class Offences(pa.DataFrameModel):
    """One row per offence event with its disposal."""

    person_id: Series[str]
    offence_date: Series[pd.Timestamp]
    disposal_date: Series[pd.Timestamp]
    disposal: Series[pd.CategoricalDtype] = pa.Field(**_levels(DISPOSAL_LEVELS))

    class Config:
        strict = False


class Services(pa.DataFrameModel):
    """One row per service contact or episode; ``hours`` or ``cost`` (or both)."""

    person_id: Series[str]
    date: Series[pd.Timestamp]
    hours: Optional[Series[float]] = pa.Field(ge=0)
    cost: Optional[Series[float]] = pa.Field(ge=0)
    service: Optional[Series[pd.CategoricalDtype]]

    class Config:
        strict = False


class Custody(pa.DataFrameModel):
    """One row per stay in custody: the day a person was received and the day released.

    ``end`` is missing while the person is still held. A stay covers the nights
    beginning on ``start`` up to the night before ``end``.
    """

    person_id: Series[str]
    start: Series[pd.Timestamp]
    end: Series[pd.Timestamp] = pa.Field(nullable=True)
    kind: Series[pd.CategoricalDtype] = pa.Field(**_levels(CUSTODY_KINDS))

    class Config:
        strict = False


class Claims(pa.DataFrameModel):
    """One row per outcome a provider claims for a person, with the evidence that it was achieved.

    ``outcome`` names an outcome of the contract's rate card; ``evidence`` is
    the reference of the document that proves it (a certificate, an employer's
    letter); ``provider_id`` says who claims it where several providers deliver.
    """

    person_id: Series[str]
    outcome: Series[pd.CategoricalDtype]
    achieved_on: Series[pd.Timestamp]
    evidence: Series[str]
    provider_id: Optional[Series[pd.CategoricalDtype]] = pa.Field(nullable=True)

    class Config:
        strict = False


class Spells(pa.DataFrameModel):
    """One row per spell of a kind (employment, education) of one person: its first and last day.

    ``end`` is missing while the spell goes on.
    """

    person_id: Series[str]
    kind: Series[pd.CategoricalDtype]
    start: Series[pd.Timestamp]
    end: Series[pd.Timestamp] = pa.Field(nullable=True)

    class Config:
        strict = False


TABLES: dict[str, type[pa.DataFrameModel]] = {
    "people": People,
    "eligible": Eligible,
    "assessments": Assessments,
    "offences": Offences,
    "services": Services,
    "pool": Pool,
    "custody": Custody,
    "claims": Claims,
    "spells": Spells,
}


# Rules across the columns of one row. They run outside pandera because its
# frame-level checks list every cell of a failing row, which is slow on
# millions of rows. NaN compares False, so cells already reported as
# unparseable or missing do not fail here again.
def _first_conviction_after_age(df: pd.DataFrame) -> pd.Series:
    return df["age_first_conviction"] > df["age"]


def _reoffended_disagrees(df: pd.DataFrame) -> pd.Series:
    flag, count = df["reoffended"], df["reoffences"]
    return flag.notna() & count.notna() & ((flag == 1) != (count > 0))


def _days_to_first_disagrees(df: pd.DataFrame) -> pd.Series:
    flag = df["reoffended"]
    return flag.notna() & (df["days_to_first"].notna() != (flag == 1))


def _disposal_before_offence(df: pd.DataFrame) -> pd.Series:
    return df["disposal_date"] < df["offence_date"]


def _ends_before_start(df: pd.DataFrame) -> pd.Series:
    return df["end"] < df["start"]


#: A rule across a row's columns: (column reported, rule in plain words, columns needed, test flagging rows).
RowRule: TypeAlias = tuple[str, str, tuple[str, ...], Callable[[pd.DataFrame], pd.Series]]
_COVARIATE_RULES: list[RowRule] = [
    ("age_first_conviction", "greater than age", ("age_first_conviction", "age"), _first_conviction_after_age)
]
#: table -> its rules across a row's columns.
ROW_RULES: dict[str, list[RowRule]] = {
    "people": _COVARIATE_RULES,
    "eligible": _COVARIATE_RULES,
    "pool": _COVARIATE_RULES
    + [
        (
            "reoffended",
            "disagrees with reoffences (true exactly when reoffences > 0)",
            ("reoffended", "reoffences"),
            _reoffended_disagrees,
        ),
        (
            "days_to_first",
            "must be given exactly when reoffended is true",
            ("reoffended", "days_to_first"),
            _days_to_first_disagrees,
        ),
    ],
    "offences": [("disposal_date", "before offence_date", ("disposal_date", "offence_date"), _disposal_before_offence)],
    "custody": [("end", "before start", ("end", "start"), _ends_before_start)],
    "spells": [("end", "before start", ("end", "start"), _ends_before_start)],
}

_NO_FAILURES = pd.DataFrame(
    {"column": pd.Series(dtype=object), "rule": pd.Series(dtype=object), "row": pd.array([], dtype="Int64")}
)


def validate(
    df: pd.DataFrame,
    table: str,
    *,
    as_of: DateLike | None = None,
    people: pd.DataFrame | None = None,
    source: str | None = None,
    columns: Sequence[str] | Mapping[str, str] | None = None,
    nullable: Sequence[str] = (),
    missing: bool = False,
    coded: Sequence[str] = (),
) -> pd.DataFrame:
    """Check a table against its schema and return it with the schema's types.

    Parameters
    ----------
    df : pandas.DataFrame
        The table. Columns the schema does not name are passed through.
    table : {"people", "eligible", "assessments", "offences", "services", "pool", "custody", "claims", "spells"}
        Which schema to apply (see ``TABLES``).
    as_of : date-like, optional
        The data's as-of date: any date column later than this fails. Default:
        today, since nothing can have happened in the future.
    people : pandas.DataFrame, optional
        For ``table="offences"``: people with ``person_id``, ``age`` and
        ``start_date`` (or ``referral_date``), so offences dated before the
        person can have been born (more than age + 1 years before the start
        date) fail.
    source : str, optional
        Where the table came from (a file path), named in the error.
    columns : sequence of str, optional
        Check only these of the schema's columns (each required), with the
        schema's rules that read only them: what a function needs from a table
        it was given. A mapping ``{schema column: column of df}`` checks a
        column by another column's rules (a release date by ``start_date``'s)
        and returns only the columns it names; messages use df's names.
        Default: the whole schema.
    nullable : sequence of str
        Schema columns whose missing values are allowed here: the caller
        counts them (e.g. people without an index date, left out with that reason).
    missing : bool, default False
        With ``columns``: allow missing values in all of them (the caller
        counts them, e.g. a segment whose column is missing is unknown); every
        value present must still meet the schema.
    coded : sequence of str
        Text columns (ids) returned as categoricals, each distinct value read
        once: for a caller that works on their integer codes (a national
        assessments table repeats each of a million ids some seventy times).

    Returns
    -------
    pandas.DataFrame
        A copy with ids as strings, dates as ``datetime64[ns]``, categories as
        pandas categoricals with the known levels, counts as ``int64`` and
        flags as ``bool``; same index and row order as ``df``.

    Raises
    ------
    SchemaError
        Listing every failing column, rule and row at once; ``.failures`` is
        a DataFrame with columns ``column``, ``rule``, ``row`` (0-based
        position in ``df``) and ``value``.

    Examples
    --------
    >>> import pandas as pd
    >>> offences = pd.DataFrame({"person_id": ["007"], "offence_date": ["2024-01-05"],
    ...                          "disposal_date": ["2024-03-01"], "disposal": ["caution"]})
    >>> validate(offences, "offences", as_of="2024-12-31").dtypes["offence_date"]
    dtype('<M8[ns]')
    """
    schema = table_schema(table, source=source)
    # a DataFrame, and no column name twice (which column would the rules read?)
    given_names = dict(columns) if isinstance(columns, Mapping) else {}
    require_columns(df, list(given_names.values()), table=table, source=source)
    if given_names:
        df = df[list(given_names.values())].set_axis(list(given_names), axis=1)
    if columns is None and (missing or nullable):
        raise parameter_error("missing", "validate", "False unless 'columns' is given", missing or nullable)
    texts = [name for name, column in table_schema(table).columns.items() if _kind(column.dtype) == "text"]
    if not set(coded) <= set(texts):
        raise parameter_error("coded", "validate", f"text columns of table {table!r} ({', '.join(texts)})", coded)
    if columns is not None:
        columns = list(given_names) if given_names else column_names(columns, "columns", "validate")
        schema = _subset(table, tuple(columns), tuple(nullable))
    rules = schema
    if missing:
        # Whole numbers and flags with gaps are held as floats (NaN): their values are checked, not their type.
        rules = schema.update_columns(
            {
                name: {"nullable": True, **({"dtype": None} if _kind(column.dtype) in ("int", "bool") else {})}
                for name, column in schema.columns.items()
            }
        )
    as_of = _as_of(as_of)
    if people is not None and table != "offences":
        warnings.warn(
            f"The 'people' argument is only used for table 'offences' and will be ignored for {table!r}.", stacklevel=2
        )
    original_index = df.index
    given = df.reset_index(drop=True)
    frame, unparsed = _coerce(given, schema, coded)
    # Repeated records are found on one packed key per row (pandera compares the columns, 4x slower).
    rules = copy.copy(rules)
    rules.unique = None
    if coded:  # their text was read by the coercion; pandera checks they are complete, not their type
        rules = rules.update_columns({name: {"dtype": None} for name in coded if name in rules.columns})
    # The repeated records are found on one core while pandera checks the rules on the other.
    checks = [functools.partial(_pandera_failures, rules, frame), functools.partial(_duplicate_records, frame, schema)]
    checked = pd.concat(each(operator.call, checks), ignore_index=True)
    found = [unparsed, _unless_unparsed(checked, unparsed), _row_rules(frame, table, schema)]
    if as_of is not None:
        found.append(_future_dates(frame, schema, as_of))
    if table == "services" and columns is None and "hours" not in frame and "cost" not in frame:
        found.append(_failures("hours", "required column missing (services need hours or cost)"))
    if people is not None and table == "offences" and {"person_id", "offence_date"} <= set(frame.columns):
        found.append(_offences_before_birth(frame, people))
    report = pd.concat(found, ignore_index=True)
    if len(report):
        report = _with_values(report, given)
        if given_names:
            report["column"] = report["column"].replace(given_names)
        raise schema_error(report, table, list(given.rename(columns=given_names).columns), source=source)
    frame.index = original_index
    return frame.rename(columns=given_names)


def schema_error(
    failures: pd.DataFrame,
    table: str,
    columns: Sequence[str],
    *,
    source: str | None = None,
    counts: Mapping[tuple[str, str], int] | None = None,
    n_rows: int | None = None,
    rows: Callable[[int], str] | None = None,
) -> SchemaError:
    """The one :class:`~ground.errors.SchemaError` for a table's failures, in :func:`validate`'s words.

    For engines that check a table too large to list every failure (a SQL
    engine reading a national extract): ``failures`` then holds the first rows
    of each rule, ``counts`` how many rows fail each (column, rule) and
    ``n_rows`` how many rows fail any.

    Parameters
    ----------
    failures : pandas.DataFrame
        Columns ``column``, ``rule``, ``row`` (0-based, NA for a whole column)
        and ``value``, in the order the rules were found.
    table : str
        The table's name.
    columns : sequence of str
        The table's columns, in order (failures are listed in this order).
    source : str, optional
        The file the table came from.
    counts, n_rows : optional
        Totals when ``failures`` is a sample (see above).
    rows : callable, optional
        Names a row from its 0-based position, for a table stacked from
        several files (``"2025Q2.csv row 17"``); default ``"row 18"``.

    Examples
    --------
    >>> failures = pd.DataFrame({"column": ["age"], "rule": ["not a whole number"],
    ...                          "row": pd.array([3], dtype="Int64"), "value": ["x"]})
    >>> print(schema_error(failures, "people", ["person_id", "age"]))
    table 'people' fails 1 rule in 1 row (data rows counted from 1, header not counted):
      - age: not a whole number: 1 row: row 4 (x)
    """
    report = _in_column_order(failures, list(columns))
    message = _message(report, table, source, list(columns), counts or {}, n_rows, rows or _row_number)
    return SchemaError(message, table=table, failures=report, source=source)


def _row_number(position: int) -> str:
    return f"row {position + 1}"


def check_known_columns(
    df: pd.DataFrame,
    table: str,
    columns: Sequence[str],
    *,
    missing: bool = True,
    source: str | None = None,
    name: str | None = None,
) -> pd.DataFrame:
    """Check those of ``columns`` that the table's schema knows, and return ``df`` with them typed.

    For a function that reads some columns of a frame that is not a whole
    schema table (a history, a cohort with extra columns): a column the schema
    names (``sex``, ``age``, ``need_substance``, ...) must meet its rules, and
    is read the way the command line reads it ("Female" is ``female``, "1" is
    true); other columns are left alone. With ``missing`` (the default), gaps
    are allowed and left for the caller to count. ``name`` is what messages
    call the frame (default: the table).

    Raises
    ------
    SchemaError
        Every failing column, rule and row at once (rows counted from 1).

    Examples
    --------
    >>> history = pd.DataFrame({"sex": ["Female", "male"], "score": [1, 2]})
    >>> check_known_columns(history, "people", ["sex", "score"])["sex"].tolist()
    ['female', 'male']
    """
    schema = table_schema(table, source=source)
    known = [c for c in dict.fromkeys(columns) if c in schema.columns and c in df.columns]
    if not known or df.columns.duplicated().any():
        return df
    try:
        checked = validate(df[known], table, columns=known, missing=missing, source=source, as_of=pd.Timestamp.max)
    except SchemaError as exc:
        if name and name != table:
            exc.args = (str(exc).replace(f"table '{table}'", f"table '{name}' (read as the {table} schema)", 1),)
            exc.table = name
        raise
    out = df.copy(deep=False)
    for column in known:
        out[column] = checked[column]
    return out


def table_schema(table: str, *, source: str | None = None) -> pa.DataFrameSchema:
    """The pandera schema of a table, or a ``SchemaError`` listing the known tables.

    Examples
    --------
    >>> list(table_schema("offences").columns)
    ['person_id', 'offence_date', 'disposal_date', 'disposal']
    """
    if table not in TABLES:
        raise parameter_error("table", "table_schema", f"one of {', '.join(TABLES)}", table)
    with _without_pyspark_warning():
        return TABLES[table].to_schema()


@functools.lru_cache(maxsize=64)
def _subset(table: str, columns: tuple[str, ...], nullable: tuple[str, ...] = ()) -> pa.DataFrameSchema:
    """The table's rules for ``columns`` only, each of them required; missing values allowed in ``nullable``.

    Remembered: callers read the same few columns of a table again and again (the segment rules, at each pricing
    of a cohort), and pandera copies a schema deeply at each selection; nothing changes a schema it is given.
    """
    schema = table_schema(table)
    unknown = [c for c in columns if c not in schema.columns]
    if unknown:
        raise parameter_error(
            "columns", "validate", f"columns of the {table!r} schema ({', '.join(schema.columns)})",
            got=shorten(map(str, unknown)),
        )  # fmt: skip
    subset = schema.select_columns(list(dict.fromkeys(columns)))
    # The schema's own gaps stay allowed (a missing provider_id); ``nullable`` allows more.
    subset = subset.update_columns(
        {c: {"required": True, "nullable": c in nullable or subset.columns[c].nullable} for c in columns}
    )
    if subset.unique and not set(subset.unique) <= set(columns):
        # a uniqueness rule over columns not asked for cannot be checked
        subset = pa.DataFrameSchema(subset.columns, checks=subset.checks, strict=False, name=subset.name)
    return subset


def _as_of(as_of: Any) -> pd.Timestamp:
    if as_of is None:
        return pd.Timestamp.today().normalize()
    return parse_date(as_of, "The 'as_of' parameter of validate")


def _failures(column: Any, rule: Any, rows: Any = None) -> pd.DataFrame:
    """Failures of one rule (or aligned arrays of rules); rows are 0-based positions, None for a column."""
    if rows is None:
        rows = [None] * (1 if np.ndim(column) == 0 else len(column))
    return pd.DataFrame({"column": column, "rule": rule, "row": pd.array(rows, dtype="Int64")})


def _row_failures(column: str, rule: str, mask: pd.Series | np.ndarray) -> pd.DataFrame:
    rows = np.flatnonzero(np.asarray(mask, dtype=bool))
    # Most columns pass every rule: the shared empty frame, not a new one per column and rule (a millisecond each,
    # a tenth of a second over the report's tables); the failures are stacked into a new frame anyway.
    return _failures(column, rule, rows) if rows.size else _NO_FAILURES


def _unless_unparsed(failures: pd.DataFrame, unparsed: pd.DataFrame) -> pd.DataFrame:
    """Drop failures of cells already reported as unparseable (they would read as missing)."""
    if unparsed.empty or failures.empty:  # the usual case: nothing to drop, and no index of cells to build
        return failures
    cells = pd.MultiIndex.from_frame(failures[["column", "row"]])
    return failures[~cells.isin(pd.MultiIndex.from_frame(unparsed[["column", "row"]]))]


def _with_values(report: pd.DataFrame, given: pd.DataFrame) -> pd.DataFrame:
    """Add each failing cell's value as the user wrote it (5, not the 5.0 of a column with gaps)."""
    values = pd.Series(None, index=report.index, dtype=object)
    located = report[report["row"].notna() & report["column"].isin(given.columns)]
    for column, rows in located.groupby("column")["row"]:
        values[rows.index] = given[column].iloc[rows.to_numpy(dtype="int64")].astype(object).to_numpy()
    return report.assign(value=values)


# ---------------------------------------------------------------- coercion


def _kind(dtype: Any) -> str:
    name = str(dtype)
    if name.startswith("datetime64"):
        return "date"
    if name.startswith(("str", "string")):
        return "text"
    return {"category": "category", "int64": "int", "float64": "float", "bool": "bool"}[name]


def _coerce(
    df: pd.DataFrame, schema: pa.DataFrameSchema, coded: Sequence[str] = ()
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Convert the schema's columns to its types (``coded`` ones as categoricals); cells that do not parse fail."""
    # Each converted column replaces its own in a new frame (copy on write): the others are not copied.
    frame = df.copy(deep=False)
    names = [name for name in schema.columns if name in frame]

    def read(name: str) -> tuple[pd.Series, np.ndarray, str]:
        column = schema.columns[name]
        categories = getattr(column.dtype, "categories", None)
        coerce: Coercer = _as_id if name == "person_id" else _COERCERS[_kind(column.dtype)]
        return _by_distinct(frame[name], categories, coerce) if name in coded else coerce(frame[name], categories)

    failures = [_NO_FAILURES]
    # Two columns at a time (a national table's columns are read side by side on two cores, and no more than
    # two columns' working arrays are held at once); each column's result is its own, in the schema's order.
    for name, (coerced, bad, rule) in zip(names, each(read, names, threads=2), strict=True):
        failures.append(_row_failures(name, rule, bad))
        frame[name] = coerced
    return frame, pd.concat(failures, ignore_index=True)


def _text(values: pd.Series) -> pd.Series:
    """Values as strings, missing values kept missing; 7 and 7.0 both become "7"."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    if pd.api.types.is_float_dtype(values) and np.all(np.mod(values.dropna(), 1) == 0):
        # Integer ids read into a float column (because of missing values) keep no ".0".
        values = values.astype("Int64")
    return values.astype("str")


def _as_text(values: pd.Series, _categories: Any = None) -> tuple[pd.Series, np.ndarray, str]:
    return _text(values), np.zeros(len(values), dtype=bool), ""


#: A whole number written with a decimal point, as a spreadsheet writes an id it read as a number.
WHOLE_DECIMAL = r"^(-?[0-9]+)[.]0+$"


def _as_id(values: pd.Series, _categories: Any = None) -> tuple[pd.Series, np.ndarray, str]:
    """Ids as text, as written, except that ``10.0`` is ``10``: one person in every table, however it was saved."""
    text = _text(values)
    # The pattern is tried only when some id holds ".0" (a plain search; the pattern costs far more a row).
    if text.str.contains(".0", regex=False).any():
        text = text.str.replace(WHOLE_DECIMAL, r"\1", regex=True)
    return text, np.zeros(len(values), dtype=bool), ""


def _numbers(values: pd.Series) -> pd.Series:
    """Numbers as float64, NaN where a cell is not a number (flags are not numbers)."""
    if pd.api.types.is_bool_dtype(values):
        return pd.Series(np.nan, index=values.index)
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    # Text read from a file: parse each distinct value once (ages and counts repeat), with the
    # fast cast when every value is a number and to_numeric's cell-by-cell reading otherwise.
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    distinct = pd.Series(uniques)
    try:
        numbers = distinct.astype("str").astype("float64").to_numpy(dtype="float64", na_value=np.nan)
    except Exception:  # some value is not a number: find which, cell by cell
        numbers = pd.to_numeric(distinct, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    parsed = np.append(numbers, np.nan)[np.where(codes < 0, numbers.size, codes)]
    return pd.Series(parsed, index=values.index)


def _as_int(values: pd.Series, _categories: Any = None) -> tuple[pd.Series, np.ndarray, str]:
    if values.dtype == "int64":  # read before, as a table checked again by the columns a rule reads
        return values, np.zeros(len(values), dtype=bool), "not a whole number"
    numbers = _numbers(values)
    whole = numbers.notna() & np.isfinite(numbers) & (numbers % 1 == 0)
    bad = (values.notna() & ~whole).to_numpy()
    numbers = numbers.where(whole)
    return (numbers.astype("int64") if numbers.notna().all() else numbers.astype("float64")), bad, "not a whole number"


def _as_float(values: pd.Series, _categories: Any = None) -> tuple[pd.Series, np.ndarray, str]:
    numbers = _numbers(values)
    finite = np.isfinite(numbers)
    if finite.all():  # kept, not copied: a national table's scores are hundreds of MB
        return numbers, np.zeros(len(values), dtype=bool), "not a finite number"
    bad = (values.notna() & ~finite).to_numpy()
    return numbers.where(finite), bad, "not a finite number"


_BOOLEANS = {"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False}


def _as_bool(values: pd.Series, _categories: Any = None) -> tuple[pd.Series, np.ndarray, str]:
    rule = "not true/false (allowed: true, false, 1, 0)"
    if pd.api.types.is_bool_dtype(values) and values.notna().all():
        return values.astype(bool), np.zeros(len(values), dtype=bool), rule
    # Each distinct value is read once (flags repeat two or three values over millions of rows).
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    read = pd.Series(uniques, dtype=object).astype("str").str.strip().str.lower().map(_BOOLEANS)
    flags = np.append(read.to_numpy(dtype="float64", na_value=np.nan), np.nan)[np.where(codes < 0, len(read), codes)]
    bad = np.isnan(flags) & (codes >= 0)
    if np.isnan(flags).any():
        return pd.Series(flags, index=values.index), bad, rule
    return pd.Series(flags == 1.0, index=values.index), bad, rule


def _by_distinct(values: pd.Series, categories: Any, coerce: Coercer) -> tuple[pd.Series, np.ndarray, str]:
    """The column coerced one distinct value at a time, as a categorical of what they read as.

    Values that read alike (``10`` and ``10.0`` as ids) are one category; a value that does not parse is
    missing, and its rows are the failures.
    """
    codes, distinct = factorise(values)
    read, bad, rule = coerce(pd.Series(distinct), categories)
    again, levels = pd.factorize(read, use_na_sentinel=True)
    if len(levels) < len(distinct):  # some values read alike (else the codes are the same)
        codes = placed(again, codes, len(levels))
    categorical = pd.Categorical.from_codes(codes, categories=pd.Index(levels))
    failed = np.append(bad, False)[codes] if bad.any() else np.zeros(len(values), dtype=bool)
    return pd.Series(categorical, index=values.index, copy=False), failed, rule  # made here: not copied again


def _as_category(values: pd.Series, categories: Any) -> tuple[pd.Series, np.ndarray, str]:
    if categories is None:  # an open set of levels: whatever the data holds, in sorted order
        if isinstance(values.dtype, pd.CategoricalDtype):
            return values, np.zeros(len(values), dtype=bool), ""
        # Each distinct value is written as text once (instruments and items repeat over millions of rows).
        codes, distinct = factorise(values, sort=True)
        text = pd.Index(_text(pd.Series(distinct)))
        levels = text if text.is_unique and text.is_monotonic_increasing else text.unique().sort_values()
        rows = codes if levels is text else placed(levels.get_indexer(text), codes, len(levels))
        categorical = pd.Categorical.from_codes(rows, categories=levels)
        return pd.Series(categorical, index=values.index), np.zeros(len(values), dtype=bool), ""
    levels = list(categories)
    rule = f"unknown category (allowed: {', '.join(levels)})"
    wanted = pd.CategoricalDtype(pd.Index(levels))
    # Read before (a table checked again): kept as it is. Dtypes are equal whatever the levels' order and type.
    given = values.dtype
    if isinstance(given, pd.CategoricalDtype) and given == wanted and _same_index(given.categories, wanted.categories):
        return values, np.zeros(len(values), dtype=bool), rule

    def known(given: pd.Series) -> np.ndarray:
        # "Conviction", " caution" and "No further action" are spellings of known levels, not other levels.
        text = _text(given)
        spelled = text.str.strip().str.casefold().str.replace(r"[\s-]+", "_", regex=True)
        unknown = np.array(None, dtype=object)
        return np.where(text.isin(levels), text, np.where(spelled.isin(levels), spelled, unknown))

    codes, uniques = factorise(values)
    position = {level: i for i, level in enumerate(levels)}
    found = [position.get(level, -1) for level in known(pd.Series(uniques, dtype=object))]
    rows = placed(np.asarray(found, dtype=np.int64), codes, len(levels))
    bad = (rows < 0) & (codes >= 0)
    categorical = pd.Categorical.from_codes(rows, categories=pd.Index(levels))
    return pd.Series(categorical, index=values.index), bad, rule


def _same_index(index: pd.Index, other: pd.Index) -> bool:
    return bool(index.equals(other)) and index.dtype == other.dtype


#: Reads a column as its schema type: (values, cells that do not parse, the rule they break).
Coercer: TypeAlias = Callable[[pd.Series, Any], tuple[pd.Series, np.ndarray, str]]
_COERCERS: dict[str, Coercer] = {
    "text": _as_text,
    "date": parse_dates,
    "int": _as_int,
    "float": _as_float,
    "bool": _as_bool,
    "category": _as_category,
}


# ---------------------------------------------------------------- pandera rules


def _pandera_failures(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    """Run the pandera schema lazily and turn its failure cases into plain-worded failures."""
    try:
        with _without_pyspark_warning():
            schema.validate(frame, lazy=True, inplace=True)  # nothing is coerced: the frame need not be copied
    except SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return _NO_FAILURES
    cases = cases.assign(
        column=cases["column"].astype(str),
        check=cases["check"].astype(str),
        row=pd.to_numeric(cases["index"], errors="coerce"),
    )
    missing = cases["check"] == "column_in_dataframe"
    dtype = cases["check"].str.startswith("dtype(")
    # A column kept off its type by cells listed row by row needs no column-level line.
    dtype &= ~cases["column"].isin(cases.loc[cases["row"].notna(), "column"].unique())
    by_rule = cases[~missing & ~cases["check"].str.startswith("dtype(")]
    plain = _plain_check_names(schema)
    rules = by_rule[["column", "check"]].drop_duplicates()
    words = [plain.get((column, check), check) for column, check in rules.itertuples(index=False)]
    rules = rules.assign(out_column=rules["column"], rule=words)
    by_rule = by_rule.merge(rules, on=["column", "check"], how="left")
    return pd.concat(
        [
            _failures(cases.loc[missing, "failure_case"].astype(str).to_numpy(), "required column missing"),
            _failures(
                cases.loc[dtype, "column"].to_numpy(),
                [
                    f"wrong type: expected {check[7:-2]}, got {got}"
                    for check, got in cases.loc[dtype, ["check", "failure_case"]].itertuples(index=False)
                ],
            ),
            # a rule over several columns (duplicate records) reports each of them; keep one per row
            _failures(
                by_rule["out_column"].to_numpy(), by_rule["rule"].to_numpy(), by_rule["row"].to_numpy()
            ).drop_duplicates(),
        ],
        ignore_index=True,
    )


def _duplicate_records(frame: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """Every row whose values in the schema's unique columns (those present) another row repeats."""
    subset = [c for c in schema.unique or [] if c in frame]
    if not subset:
        return _NO_FAILURES
    # The id first, then the dates: a table written person by person, date by date, then has rising keys, found
    # free of repeats without sorting them (ground.rowkeys.repeated).
    subset.sort(key=lambda c: (c != "person_id", _kind(schema.columns[c].dtype) != "date"))
    again = repeated(row_keys([frame[c] for c in subset]))
    return _row_failures(schema.unique[0], f"duplicate record (same {', '.join(schema.unique)})", again)


def _plain_check_names(schema: pa.DataFrameSchema) -> dict[tuple[str, str], str]:
    """(column, pandera check label) -> the rule in plain words."""
    plain: dict[tuple[str, str], str] = {}
    for name, column in schema.columns.items():
        plain[(name, "not_nullable")] = "missing value"
        plain[(name, "field_uniqueness")] = "duplicate id (must be unique)"
        for check in column.checks:
            stats = check.statistics
            if check.name == "in_range":
                words = f"outside {stats['min_value']} to {stats['max_value']}"
            elif check.name == "greater_than_or_equal_to":
                words = f"below {stats['min_value']} (must be at least {stats['min_value']})"
            else:
                words = str(check.error or check.name)
            plain[(name, str(check.error or check.name))] = words
    return plain


# ---------------------------------------------------------------- rules with arguments


def _future_dates(frame: pd.DataFrame, schema: pa.DataFrameSchema, as_of: pd.Timestamp) -> pd.DataFrame:
    rule = f"after the as-of date {as_of:%Y-%m-%d}"
    return pd.concat(
        [_NO_FAILURES]
        + [
            _row_failures(name, rule, (frame[name] > as_of).to_numpy())
            for name, column in schema.columns.items()
            if name in frame and _kind(column.dtype) == "date"
        ],
        ignore_index=True,
    )


def _row_rules(frame: pd.DataFrame, table: str, schema: pa.DataFrameSchema) -> pd.DataFrame:
    return pd.concat(
        [_NO_FAILURES]
        + [
            _row_failures(column, words, fails(frame).to_numpy())
            for column, words, needs, fails in ROW_RULES.get(table, [])
            if all(name in frame and name in schema.columns for name in needs)
        ],
        ignore_index=True,
    )


def _offences_before_birth(offences: pd.DataFrame, people: pd.DataFrame) -> pd.DataFrame:
    """Offences more than age + 1 years before the person's start date."""
    start_column = "start_date" if "start_date" in people else "referral_date"
    needed = ["person_id", "age", start_column]
    missing = [c for c in needed if c not in people]
    if missing:
        raise SchemaError(
            "The 'people' parameter of validate must have columns person_id, age and start_date "
            f"(or referral_date) to check offences before birth. Missing: {', '.join(missing)}.",
            table="offences",
        )
    known = people[needed].drop_duplicates("person_id")
    known = pd.DataFrame(
        {
            "person_id": known["person_id"].astype("str").to_numpy(),
            "age": pd.to_numeric(known["age"], errors="coerce").to_numpy(),
            "start": pd.to_datetime(known[start_column], errors="coerce").astype("datetime64[ns]").to_numpy(),
        }
    ).dropna()
    start = known["start"].to_numpy()
    month = start.astype("datetime64[M]")
    # Calendar years back from the start date, keeping the day of the month.
    earliest_birth = (month - ((known["age"].to_numpy() + 1) * 12).astype("int64")).astype("datetime64[ns]") + (
        start - month.astype("datetime64[ns]")
    )
    bound = pd.Series(earliest_birth, index=known["person_id"].to_numpy())
    limit = offences["person_id"].map(bound)
    before = (offences["offence_date"] < limit).to_numpy()
    return _row_failures(
        "offence_date", "before birth (more than age + 1 years before the person's start date)", before
    )


# ---------------------------------------------------------------- the message


def _show(value: Any) -> str:
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}" if value == value.normalize() else str(value)
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "missing"
    # Quotes only where they show something: an empty string or stray spaces.
    text = repr(value) if isinstance(value, str) and (value.strip() != value or not value) else str(value)
    return text if len(text) <= 30 else text[:27] + "..."


def _in_column_order(report: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Missing columns first, then the input's column order; each column's rules as found, rows ascending."""
    position = report["column"].map({name: i for i, name in enumerate(columns)}).fillna(-1)
    found = report.groupby(["column", "rule"], sort=False).ngroup()
    ordered = report.assign(_position=position, _found=found).sort_values(
        ["_position", "_found", "row"], kind="stable", na_position="first"
    )
    return ordered.drop(columns=["_position", "_found"]).reset_index(drop=True)


def _message(
    report: pd.DataFrame,
    table: str,
    source: str | None,
    columns: list[str],
    counts: Mapping[tuple[str, str], int],
    n_rows: int | None,
    row_name: Callable[[int], str] = _row_number,
) -> str:
    where = f"{source}: table '{table}'" if source else f"table '{table}'"
    n_rows = report["row"].dropna().nunique() if n_rows is None else n_rows
    groups = report.groupby(["column", "rule"], sort=False, dropna=False)
    rows = (
        f" in {n_rows} row{'s' if n_rows != 1 else ''} (data rows counted from 1, header not counted)" if n_rows else ""
    )
    head = f"{where} fails {len(groups)} rule{'s' if len(groups) != 1 else ''}{rows}:"
    lines = []
    for (column, rule), group in groups:
        located = group[group["row"].notna()]
        if located.empty:
            lines.append(f"  - {column}: {rule}")
            continue
        shown = ", ".join(
            f"{row_name(int(row))} ({_show(value)})"
            for row, value in located[["row", "value"]].head(ROWS_SHOWN).itertuples(index=False)
        )
        n = counts.get((str(column), str(rule)), len(located))
        more = f", and {n - ROWS_SHOWN} more" if n > ROWS_SHOWN else ""
        count = f"{n} row{'s' if n != 1 else ''}"
        lines.append(f"  - {column}: {rule}: {count}: {shown}{more}")
    if report["rule"].str.startswith("required column missing").any():
        lines.append(f"  Columns present: {', '.join(map(str, columns)) or '(none)'}")
    if (report["rule"] == DATE_RULE).any():  # not when a format was declared: the rule then names it
        lines.append(
            "  Dates are written YYYY-MM-DD; a file that writes them another way is read by declaring its format "
            "(desist --date-format %d/%m/%Y ..., or ground.dates.date_format in Python), never by guessing."
        )
    return "\n".join([head, *lines])


# ---------------------------------------------------------------- links between tables


class UnmatchedRowsWarning(DesistWarning):
    """Some rows of a table refer to no one in the table they should link to; they are left out and counted."""


@dataclass(frozen=True)
class Links:
    """How the rows of one table link to another by an id.

    Attributes
    ----------
    n : int
        Rows in the linking table.
    matched : int
        Rows whose id is in the other table.
    unmatched : int
        Rows whose id is not (left out of anything computed from both).
    """

    n: int
    matched: int
    unmatched: int


def check_links(
    rows: pd.DataFrame,
    to: pd.DataFrame,
    *,
    table: str,
    to_table: str,
    key: str = "person_id",
    source: str | None = None,
) -> Links:
    """Count the rows of ``rows`` whose ``key`` matches no row of ``to``, comparing ids as text.

    No match at all is an error (the ids are almost surely written differently
    in the two tables, such as ``"1.0"`` against ``"1"``); some unmatched rows
    give an :class:`UnmatchedRowsWarning` with the counts, and the caller
    reports them among its exclusions.

    Raises
    ------
    SchemaError
        ``rows`` is not empty and none of its ids is in ``to``.

    Examples
    --------
    >>> offences = pd.DataFrame({"person_id": ["1.0", "2.0"]})
    >>> people = pd.DataFrame({"person_id": ["1", "2"]})
    >>> check_links(offences, people, table="offences", to_table="people")
    Traceback (most recent call last):
    ...
    ground.errors.SchemaError: 0 of 2 offences match a person_id in people. ...
    """
    require_columns(rows, [key], table=table, source=source)
    require_columns(to, [key], table=to_table)
    ids = rows[key].astype("str")
    known = to[key].astype("str")
    # A hash lookup: Series.isin on text ids is several times slower on millions of rows.
    found = pd.Index(known.unique()).get_indexer(ids) >= 0
    links = Links(n=len(ids), matched=int(found.sum()), unmatched=int((~found).sum()))
    return report_links(
        links,
        table=table,
        to_table=to_table,
        key=key,
        source=source,
        unmatched_ids=list(pd.unique(ids[~found])[:3]),
        known_ids=list(pd.unique(known)[:3]),
    )


def report_links(
    links: Links,
    *,
    table: str,
    to_table: str,
    key: str = "person_id",
    source: str | None = None,
    unmatched_ids: Sequence[object] | np.ndarray = (),
    known_ids: Sequence[object] | np.ndarray = (),
) -> Links:
    """Raise or warn about links counted elsewhere (a SQL engine), in :func:`check_links`' words.

    ``unmatched_ids`` and ``known_ids`` are the first few distinct ids that
    match no one, and of ``to_table``, named in the message.

    Examples
    --------
    >>> report_links(Links(n=4, matched=4, unmatched=0), table="offences", to_table="people")
    Links(n=4, matched=4, unmatched=0)
    """
    where = f"{source}: " if source else ""
    if links.n and not links.matched:
        raise SchemaError(
            f"{where}0 of {links.n:,} {table} match a {key} in {to_table}"
            + (
                f". Ids are compared as text: {table} has e.g. {shorten(map(repr, unmatched_ids), 3)}, {to_table} "
                f"has e.g. {shorten(map(repr, known_ids), 3)}."
                if len(known_ids)
                else f": {to_table} is empty (no rows)."
            ),
            table=table,
            source=source,
        )
    if links.unmatched:
        warnings.warn(
            f"{where}{links.unmatched:,} of {links.n:,} {table} match no {key} in {to_table} "
            f"(e.g. {shorten(map(repr, unmatched_ids), 3)}); they are left out and counted.",
            UnmatchedRowsWarning,
            stacklevel=3,
        )
    return links
