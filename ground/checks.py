"""One way to check arguments and columns, with one message form.

Allowed values are written as data (constraints), as scikit-learn's
``_param_validation`` does, and one function writes every message:

    The 'ratio' parameter of match must be an int in the range [1, inf). Got 0 instead.

A bad argument is a :class:`~ground.errors.ParameterError`; a table that lacks
a column, or has one twice, is a :class:`~ground.errors.SchemaError` naming the
table, the columns it lacks and the columns it has. Rows in messages are
counted from 1 (the first data row), as the schema messages count them.

Examples
--------
>>> check_parameter(3, "ratio", "match", Interval(int, 1, None))
3
>>> check_parameter(0, "ratio", "match", Interval(int, 1, None))
Traceback (most recent call last):
...
ground.errors.ParameterError: The 'ratio' parameter of match must be an int in the range [1, inf). Got 0 instead.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from ground.errors import ParameterError, SchemaError

if TYPE_CHECKING:  # pandas is imported where a table is checked, not when the command line starts
    import pandas as pd

#: Any argument checked: check_parameter gives it back as it came.
T = TypeVar("T")

#: How many offending items (rows, columns, values) a message lists before "and N more".
SHOWN = 5


class Constraint:
    """An allowed kind of value; ``str(constraint)`` reads as the end of "must be ..."."""

    def is_satisfied_by(self, value: object) -> bool:  # pragma: no cover - every subclass overrides
        raise NotImplementedError


@dataclass(frozen=True)
class Interval(Constraint):
    """A real (``kind=float``) or whole (``kind=int``) number between ``low`` and ``high``.

    ``None`` leaves a side open; ``closed`` says which ends belong to the
    interval. Booleans are not numbers here, and NaN or infinity never are.

    Examples
    --------
    >>> str(Interval(float, 0, 1, closed="neither"))
    'a number in the range (0, 1)'
    """

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"

    def is_satisfied_by(self, value: object) -> bool:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            return False
        if self.kind is int and not float(value).is_integer():
            return False
        if not math.isfinite(float(value)):
            return False
        number = float(value)
        low_ok = self.low is None or (number >= self.low if self.closed in ("both", "left") else number > self.low)
        high_ok = self.high is None or (number <= self.high if self.closed in ("both", "right") else number < self.high)
        return bool(low_ok and high_ok)

    def __str__(self) -> str:
        noun = "an int" if self.kind is int else "a number"
        if self.low is None and self.high is None:
            return f"{noun} (finite)" if self.kind is int else "a finite number"
        left = "[" if self.closed in ("both", "left") and self.low is not None else "("
        right = "]" if self.closed in ("both", "right") and self.high is not None else ")"
        low = "-inf" if self.low is None else _bound(self.low)
        high = "inf" if self.high is None else _bound(self.high)
        return f"{noun} in the range {left}{low}, {high}{right}"


def _bound(value: float) -> str:
    """A range's end as written: 1000000 (not 1e+06), 0.5."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"


@dataclass(frozen=True)
class Options(Constraint):
    """One of a fixed set of values (strings, ``None``, booleans).

    Examples
    --------
    >>> str(Options("logit", "linear_logit"))
    "one of 'logit', 'linear_logit'"
    """

    values: tuple[object, ...]

    def __init__(self, *values: object) -> None:
        object.__setattr__(self, "values", tuple(values))

    def is_satisfied_by(self, value: object) -> bool:
        try:
            return any(value is v or (type(value) is type(v) and value == v) for v in self.values)
        except (TypeError, ValueError):
            return False

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class InstanceOf(Constraint):
    """An instance of one of ``types``, described in words (``"a pandas DataFrame"``)."""

    types: tuple[type, ...]
    words: str

    def __init__(self, types: type | tuple[type, ...], words: str) -> None:
        object.__setattr__(self, "types", types if isinstance(types, tuple) else (types,))
        object.__setattr__(self, "words", words)

    def is_satisfied_by(self, value: object) -> bool:
        return isinstance(value, self.types)

    def __str__(self) -> str:
        return self.words


def described(constraints: Sequence[Constraint]) -> str:
    """``"an int in the range [1, inf) or None"``: the constraints joined as the message reads them."""
    words = [str(c) for c in constraints]
    words = [w.replace("one of None", "None") for w in words]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def shown_value(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, so a message never embeds a whole table."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


#: What ``parameter_error`` shows when no value is given (the ``got`` words say what was wrong).
_NO_VALUE = object()


def parameter_error(
    name: str, caller: str, must: str, value: object = _NO_VALUE, *, got: str | None = None, advice: str = ""
) -> ParameterError:
    """The one message form for a bad argument, when no constraint object fits.

    "The 'NAME' parameter of CALLER must be MUST. Got VALUE instead." and, when given, the advice.

    Parameters
    ----------
    name : str
        The argument.
    caller : str
        The function (or class) given it.
    must : str
        What it must be, as the end of "must be ...".
    value : object, optional
        What was given, shown by :func:`shown_value`.
    got : str, optional
        What was given, in words, when the value itself says too little or too much (``"3 rows that are not:
        row 2 (-1), ..."``).
    advice : str, optional
        A sentence after the message: how to put it right.

    Examples
    --------
    >>> str(parameter_error("margins", "rake", "a non-empty mapping", {}))
    "The 'margins' parameter of rake must be a non-empty mapping. Got {} instead."
    >>> str(parameter_error("weights", "rake", "positive", got="2 values that are not", advice="Drop those rows."))
    "The 'weights' parameter of rake must be positive. Got 2 values that are not. Drop those rows."
    """
    shown = got if got is not None else ("nothing" if value is _NO_VALUE else shown_value(value))
    tail = "." if got is not None else " instead."
    return ParameterError(
        f"The {name!r} parameter of {caller} must be {must}. Got {shown}{tail}" + (f" {advice}" if advice else ""),
        parameter=name,
        caller=caller,
    )


def option_error(
    option: str, must: str, value: object = _NO_VALUE, *, got: str | None = None, advice: str = ""
) -> ParameterError:
    """:func:`parameter_error`'s form for a command-line option: "The '--data' option must be ...".

    Parameters
    ----------
    option : str
        The option, with its dashes (``"--data"``).
    must, value, got, advice
        As :func:`parameter_error`.

    Examples
    --------
    >>> str(option_error("--data", "NAME=FILE", "people"))
    "The '--data' option must be NAME=FILE. Got 'people' instead."
    """
    shown = got if got is not None else ("nothing" if value is _NO_VALUE else shown_value(value))
    tail = "." if got is not None else " instead."
    return ParameterError(
        f"The {option!r} option must be {must}. Got {shown}{tail}" + (f" {advice}" if advice else ""),
        parameter=option.lstrip("-").replace("-", "_"),
    )


#: How many of a group of arguments may be given, in the words the message uses.
GIVEN_RULES = ("at most one", "at least one", "all but one", "all or none")


def check_given(caller: str, values: Mapping[str, object], rule: str, *, why: str = "") -> None:
    """Arguments that go together: how many of ``values`` (by name) may be given, None meaning not given.

    Parameters
    ----------
    caller : str
        The function (or command) given them.
    values : mapping of str -> object
        The arguments by name.
    rule : {"at most one", "at least one", "all but one", "all or none"}
        How many may be given: alternatives, at least one of them, all but the one to solve for, or together.
    why : str, optional
        Why, after the rule.

    Examples
    --------
    >>> check_given("Design", {"dispersion": 2.0, "phi": 1.5}, "at most one", why="they are alternatives")
    Traceback (most recent call last):
    ...
    ground.errors.ParameterError: The 'dispersion' and 'phi' parameters of Design must be given at most one at a \
time (they are alternatives). Got dispersion=2.0, phi=1.5 instead.
    """
    check_parameter(rule, "rule", "check_given", Options(*GIVEN_RULES))
    n, given = len(values), sum(v is not None for v in values.values())
    allowed = {
        "at most one": given <= 1,
        "at least one": given >= 1,
        "all but one": given == n - 1,
        "all or none": given in (0, n),
    }[rule]
    if allowed:
        return
    names = [repr(k) for k in values]
    listed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
    words = {"at most one": "at most one at a time", "all but one": "all but one (the one left None is solved for)"}
    shown = ", ".join(f"{k}={shown_value(v, 30)}" for k, v in values.items())
    raise ParameterError(
        f"The {listed} parameters of {caller} must be given {words.get(rule, rule)}"
        + (f" ({why})" if why else "")
        + f". Got {shown} instead.",
        parameter=next(iter(values)),
        caller=caller,
    )


def check_parameter(value: T, name: str, caller: str, *constraints: Constraint) -> T:
    """Return ``value`` if any of ``constraints`` allows it, else raise :class:`ParameterError`.

    Examples
    --------
    >>> check_parameter("largest", "order", "match", Options("largest", "smallest", "random", "data"))
    'largest'
    >>> check_parameter(None, "caliper", "match", Options(None), Interval(float, 0, None, closed="neither"))
    """
    if any(c.is_satisfied_by(value) for c in constraints):
        return value
    raise parameter_error(name, caller, described(constraints), value)


def shorten(items: Iterable[object], shown: int = SHOWN) -> str:
    """``"a, b, c, d, e and 7 more"``: a list for a message, cut after ``shown`` items.

    Examples
    --------
    >>> shorten(["age", "sex"])
    'age, sex'
    >>> shorten(range(8), shown=3)
    '0, 1, 2 and 5 more'
    """
    texts = [str(i) for i in items]
    head = ", ".join(texts[:shown])
    return head + (f" and {len(texts) - shown} more" if len(texts) > shown else "")


def rows_text(
    positions: Sequence[int] | np.ndarray,
    values: Sequence[object] | np.ndarray | pd.Series | None = None,
    shown: int = SHOWN,
) -> str:
    """``"row 1 ('x'), row 4 ('y') and 3 more"`` from 0-based positions; rows counted from 1.

    Examples
    --------
    >>> rows_text([0, 3], ["x", 7])
    "row 1 ('x'), row 4 (7)"
    """
    positions = np.asarray(positions, dtype=np.int64)
    parts = [
        f"row {int(p) + 1}" + ("" if values is None else f" ({shown_value(values[i], 30)})")
        for i, p in enumerate(positions[:shown])
    ]
    return ", ".join(parts) + (f" and {positions.size - shown} more" if positions.size > shown else "")


def column_names(value: object, name: str, caller: str) -> list[str]:
    """A list of column names from a name, a list of names or ``None`` (no names).

    A single string is one column, never read letter by letter.

    Examples
    --------
    >>> column_names("age", "covariates", "match")
    ['age']
    >>> column_names(["age", "sex"], "covariates", "match")
    ['age', 'sex']
    """
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        names = list(value)
        if all(isinstance(v, str) and v for v in names):
            return names
    raise parameter_error(name, caller, "a column name or a list of column names", value)


def require_columns(
    frame: pd.DataFrame,
    columns: Sequence[str] | Mapping[str, str],
    *,
    table: str,
    complete: bool = False,
    source: str | None = None,
) -> None:
    """Raise one :class:`SchemaError` for everything wrong with the columns a step needs.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table; anything else is refused.
    columns : list of str, or mapping of argument -> column
        The columns needed. As a mapping, messages also say which argument
        named the column (``the 'difficulty' column 'p_hat'``).
    table : str
        The table's name in messages (``"people"``, ``"history"``).
    complete : bool, default False
        Also refuse missing values in these columns (rows are never dropped
        silently), naming the rows.
    source : str, optional
        The file the table came from, named first in the message.

    Raises
    ------
    SchemaError
        Naming the table, every missing column (and the columns present),
        duplicated column names, and with ``complete`` the rows with missing
        values, counted from 1.

    Examples
    --------
    >>> import pandas as pd
    >>> require_columns(pd.DataFrame({"age": [30]}), ["age", "sex"], table="people")
    Traceback (most recent call last):
    ...
    ground.errors.SchemaError: table 'people' is missing the column sex (columns present: age).
    """
    import pandas as pd

    where = f"{source}: table {table!r}" if source else f"table {table!r}"
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(
            f"{where} must be a pandas DataFrame. Got {type(frame).__name__} instead.", table=table, source=source
        )
    named = dict(columns) if isinstance(columns, Mapping) else {c: c for c in columns}
    problems = []
    failures: list[dict[str, Any]] = []
    duplicated = list(dict.fromkeys(map(str, frame.columns[frame.columns.duplicated()])))
    if duplicated:
        problems.append(
            f"has the column name{'s' if len(duplicated) > 1 else ''} {shorten(duplicated)} more than "
            "once (rename or drop the copies)"
        )
    missing = [c if a == c else f"{c} (the {a!r} column)" for a, c in named.items() if c not in frame.columns]
    failures += [
        {"column": c, "rule": "required column missing", "row": None, "value": None}
        for c in named.values()
        if c not in frame.columns
    ]
    if missing:
        present = shorten(map(str, frame.columns), shown=20) or "none"
        problems.append(
            f"is missing the column{'s' if len(missing) > 1 else ''} {shorten(missing, shown=20)} "
            f"(columns present: {present})"
        )
    if complete and not duplicated:
        gaps = []
        for argument, column in named.items():
            if column in frame.columns:
                rows = np.flatnonzero(frame[column].isna().to_numpy())
                if rows.size:
                    failures += [
                        {"column": column, "rule": "missing value", "row": int(r), "value": None} for r in rows
                    ]
                    label = f"{column}" if argument == column else f"{column} (the {argument!r} column)"
                    gaps.append(
                        f"{rows.size} missing value{'s' if rows.size > 1 else ''} in {label}: {rows_text(rows)}"
                    )
        if gaps:
            problems.append("has " + "; ".join(gaps) + " (rows are never dropped silently: fill or remove them)")
    if problems:
        report = pd.DataFrame(failures, columns=["column", "rule", "row", "value"]).astype({"row": "Int64"})
        raise SchemaError(f"{where} " + "; ".join(problems) + ".", table=table, source=source, failures=report)


def require_rows(frame: pd.DataFrame, table: str, *, source: str | None = None) -> None:
    """Refuse a table without data rows (a header alone), naming it and its columns.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    table : str
        Its name, as the message names it.
    source : str, optional
        The file it came from.

    Raises
    ------
    SchemaError
        ``frame`` has no rows.

    Examples
    --------
    >>> import pandas as pd
    >>> require_rows(pd.DataFrame(columns=["person_id", "age"]), "people")
    Traceback (most recent call last):
    ...
    ground.errors.SchemaError: the people table has no data rows (columns: person_id, age).
    """
    if len(frame):
        return
    where = f"{source}: " if source else ""
    raise SchemaError(
        f"{where}the {table} table has no data rows (columns: {', '.join(map(str, frame.columns)) or 'none'}).",
        table=table,
        source=source,
    )


def outcome_not_covariate(outcome: object, covariates: Sequence[str] | None, caller: str) -> None:
    """Refuse an outcome that is also a covariate: matched or adjusted on, its difference is gone by construction.

    Parameters
    ----------
    outcome : str
        The outcome column.
    covariates : sequence of str or None
        The covariates matched or adjusted on.
    caller : str
        The function (or command) that was given them, as the message names it.

    Raises
    ------
    ParameterError
        ``outcome`` is one of ``covariates``.

    Examples
    --------
    >>> outcome_not_covariate("re78", ["age", "re78"], "effect")
    Traceback (most recent call last):
    ...
    ground.errors.ParameterError: The 'outcome' parameter of effect must not be a covariate. Got 're78', which is \
also among the covariates (age, re78): matching or adjusting on the outcome makes the groups alike in it, so the \
effect it measures is hidden. Leave it out of the covariates.
    """
    if isinstance(outcome, str) and outcome in (covariates or ()):
        raise ParameterError(
            f"The 'outcome' parameter of {caller} must not be a covariate. Got {outcome!r}, which is also among the "
            f"covariates ({shorten(covariates or (), shown=10)}): matching or adjusting on the outcome makes the "
            "groups alike in it, so the effect it measures is hidden. Leave it out of the covariates.",
            parameter="outcome",
            caller=caller,
        )


def number_column(
    frame: pd.DataFrame, column: str, *, argument: str, table: str, source: str | None = None
) -> np.ndarray:
    """The column as finite floats, or one SchemaError naming the argument, the column and the rows that are not.

    For a column an argument names as numbers (a difficulty score, service
    hours): ``"male"`` in it is an error with its row, never a traceback.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table holding the column.
    column : str
        The column to read.
    argument : str
        The argument that named the column, as the message names it.
    table : str
        The table's name, as the message names it.
    source : str, optional
        The file the table came from.

    Examples
    --------
    >>> import pandas as pd
    >>> number_column(pd.DataFrame({"sex": ["male", "female"]}), "sex", argument="difficulty", table="eligible")
    Traceback (most recent call last):
    ...
    ground.errors.SchemaError: table 'eligible': the 'difficulty' column 'sex' must hold finite numbers; 2 rows \
do not (data rows counted from 1): row 1 ('male'), row 2 ('female').
    """
    import pandas as pd

    values = frame[column]
    parsed = pd.to_numeric(values, errors="coerce") if not pd.api.types.is_bool_dtype(values) else values * np.nan
    array = np.asarray(parsed, dtype=float)
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        where = f"{source}: table {table!r}" if source else f"table {table!r}"
        raise SchemaError(
            f"{where}: the {argument!r} column {column!r} must hold finite numbers; {bad.size} "
            f"row{'s' if bad.size > 1 else ''} do{'' if bad.size > 1 else 'es'} not (data rows counted from 1): "
            f"{rows_text(bad, values.iloc[bad[:SHOWN]].tolist())}.",
            table=table,
            source=source,
        )
    return array
