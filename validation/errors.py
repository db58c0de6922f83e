"""The ``DesistError`` family: every error the toolkit raises on purpose.

Any package may import this module (like ``validation.schemas``), so the error
classes live here rather than in ``desist/``, which nothing imports.
"""

from __future__ import annotations


class DesistError(Exception):
    """Base class of every error that desist raises deliberately.

    The command line catches this family, prints the message without a
    traceback and exits with status 1.
    """


class SchemaError(DesistError, ValueError):
    """A table (people, assessments, offences, ...) breaks a schema rule.

    Attributes
    ----------
    table : str
        The table's name, e.g. ``"people"``.
    failures : pandas.DataFrame or None
        One row per failure: ``column``, ``rule``, ``row`` (position in the
        input, 0-based) and ``value``.
    source : str or None
        The file the table was read from, when it came from a file.
    """

    def __init__(self, message: str, *, table: str = "", failures=None, source: str | None = None):
        super().__init__(message)
        self.table = table
        self.failures = failures
        self.source = source


class SpecError(DesistError, ValueError):
    """A metric spec, segment definition or tariff file is invalid.

    The message names the key (e.g. ``outcomes.self_esteem.window``) and the
    allowed values.
    """

    def __init__(self, message: str, *, key: str = "", source: str | None = None):
        super().__init__(message)
        self.key = key
        self.source = source


class MatchingError(DesistError, ValueError):
    """Matching cannot proceed: no treated or control units, no overlap, or
    no control within the caliper for anyone."""


class ModelError(DesistError, ValueError):
    """A statistical model cannot be fitted: perfect separation, a covariate
    with no variation, or non-convergence. The message names the cause."""


class ConvergenceError(DesistError, RuntimeError):
    """An iterative procedure (raking, a GLM) did not converge; the message
    says which part failed and how far it got."""
