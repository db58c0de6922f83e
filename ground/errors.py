"""The ``DesistError`` family: every error the toolkit raises on purpose.

Which class says what went wrong, so a caller can tell its own mistake from
bad data or a bad file:

- :class:`ParameterError`: a function was called with a bad argument
  (``ratio=0``, ``kind="bogus"``). The caller's script is wrong.
- :class:`SchemaError`: a table (people, offences, ...) breaks a rule; the
  message names the column, the rule and the rows.
- :class:`SpecError`: a spec, contract, segment or tariff file breaks a rule;
  the message names the file and the key.
- :class:`MatchingError`, :class:`ModelError`, :class:`ConvergenceError`: the
  data are valid but the statistics cannot be done (no overlap, separation, no
  convergence); the message says why and what to try.

Every class is also a ``ValueError`` (``ConvergenceError`` a ``RuntimeError``),
so code written against the built-in exceptions keeps working.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the errors import nothing heavy: the command line starts fast
    import pandas as pd


class DesistError(Exception):
    """Base class of every error that desist raises deliberately.

    The command line catches this family, prints the message without a
    traceback and exits with status 1.
    """


class ParameterError(DesistError, ValueError):
    """A function was given an argument it cannot use.

    The message has one form everywhere: "The 'x' parameter of f must be ...
    Got ... instead." (see :mod:`ground.checks`).

    Attributes
    ----------
    parameter : str
        The argument's name, e.g. ``"ratio"``.
    caller : str
        The function that refused it, e.g. ``"match"``.
    """

    def __init__(self, message: str, *, parameter: str = "", caller: str = "") -> None:
        super().__init__(message)
        self.parameter = parameter
        self.caller = caller


class SchemaError(DesistError, ValueError):
    """A table (people, assessments, offences, ...) breaks a schema rule.

    Attributes
    ----------
    table : str
        The table's name, e.g. ``"people"``.
    failures : pandas.DataFrame or None
        One row per failure: ``column``, ``rule``, ``row`` (position in the
        input, 0-based) and ``value``. Messages count rows from 1.
    source : str or None
        The file the table was read from, when it came from a file.
    """

    def __init__(
        self, message: str, *, table: str = "", failures: pd.DataFrame | None = None, source: str | None = None
    ) -> None:
        super().__init__(message)
        self.table = table
        self.failures = failures
        self.source = source


class SpecError(DesistError, ValueError):
    """A metric spec, contract, segment definition or tariff file is invalid.

    The message names the key (e.g. ``outcomes.self_esteem.window``) and the
    allowed values.

    Attributes
    ----------
    key : str
        The key the (first) problem concerns.
    source : str or None
        The file, when the spec came from a file.
    problems : tuple of SpecError
        Each problem, when the file has several (see :class:`Problems`); empty for one.
    """

    def __init__(
        self, message: str, *, key: str = "", source: str | None = None, problems: tuple[SpecError, ...] = ()
    ) -> None:
        super().__init__(message)
        self.key = key
        self.source = source
        self.problems = problems


class Problems:
    """Every problem of a file's independent parts, raised together as one :class:`SpecError`.

    A contract names tranches, rules, outcomes and prices that are checked one
    by one; a user who has three of them wrong should read all three at once,
    not one per run. Each part is read inside :meth:`at`, which keeps a
    ``SpecError`` raised there and goes on; :meth:`check` then raises them as
    one error listing each (a single problem is raised as it was). Parts that
    depend on a part that failed should be skipped (:meth:`failed`), so that
    one mistake is not reported again as the others it causes.

    Examples
    --------
    >>> problems = Problems()
    >>> for key in ("a", "b"):
    ...     with problems.at():
    ...         raise SpecError(f"The '{key}' key must be a number.", key=key)
    >>> try:
    ...     problems.check()
    ... except SpecError as exc:
    ...     print(exc)
    2 problems:
    - The 'a' key must be a number.
    - The 'b' key must be a number.
    """

    def __init__(self) -> None:
        self.found: list[SpecError] = []

    @contextmanager
    def at(self) -> Iterator[None]:
        """Keep a ``SpecError`` raised inside (each of its own problems, if it lists several) and go on."""
        try:
            yield
        except SpecError as exc:
            self.found.extend(exc.problems or (exc,))

    def failed(self) -> bool:
        """Whether any part has failed so far."""
        return bool(self.found)

    def check(self) -> None:
        """Raise the problems kept so far: the one as it was, or several as one ``SpecError`` listing each."""
        if len(self.found) == 1:
            raise self.found[0]
        if self.found:
            lines = "\n".join(f"- {exc}" for exc in self.found)
            first = self.found[0]
            raise SpecError(f"{len(self.found)} problems:\n{lines}", key=first.key, problems=tuple(self.found))


class MatchingError(DesistError, ValueError):
    """Matching cannot proceed: no treated or control units, no overlap, or
    no control within the caliper for anyone."""


class ModelError(DesistError, ValueError):
    """A statistical model cannot be fitted or a statistic cannot be computed:
    perfect separation, a covariate or outcome with no variation. The message
    names the cause."""


class ConvergenceError(DesistError, RuntimeError):
    """An iterative procedure (raking, a GLM) did not converge; the message
    says which part failed and how far it got."""


class DesistWarning(UserWarning):
    """Base class of the warnings desist gives: the result stands, but read it with care."""


class naming:
    """Put a file's name in front of any desist error raised inside: ``"history.csv (--history): ..."``.

    Library messages name the table, column, rule and rows but not the file the
    table came from; whoever read the file knows it. Messages that already name
    the file are left alone. ``source=None`` changes nothing.

    Examples
    --------
    >>> try:
    ...     with naming("history.csv", "--history"):
    ...         raise SpecError("segment 'women' matches no one")
    ... except SpecError as exc:
    ...     print(exc)
    history.csv (--history): segment 'women' matches no one
    """

    def __init__(self, source: str | os.PathLike[str] | None, what: str = "") -> None:
        self.source = None if source is None else str(source)
        self.what = what

    def __enter__(self) -> naming:
        return self

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, DesistError) and self.source is not None:
            message = str(exc)
            if self.source not in message:
                label = f"{self.source} ({self.what})" if self.what else self.source
                exc.args = (f"{label}: {message}",) + exc.args[1:]
                if isinstance(exc, (SchemaError, SpecError)) and exc.source is None:
                    exc.source = self.source
