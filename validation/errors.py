"""The ``DesistError`` family, kept importable here for existing scripts.

The classes live on the ground floor, :mod:`ground.errors`, so that every
package can raise them without importing ``validation``.
"""

from ground.errors import (  # noqa: F401
    ConvergenceError,
    DesistError,
    DesistWarning,
    MatchingError,
    ModelError,
    ParameterError,
    SchemaError,
    SpecError,
)
