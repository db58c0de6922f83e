"""ground: the floor every desist package stands on, importing none of them.

- :mod:`ground.errors`: the ``DesistError`` family and ``DesistWarning``;
- :mod:`ground.checks`: constraints on arguments and columns, one message form;
- :mod:`ground.findings`: :class:`Finding`, what a check found;
- :mod:`ground.tables`: the pandera schema of every table and :func:`~ground.tables.validate`;
- :mod:`ground.expressions`: the safe rule language of specs and contracts.

This module imports only the light pieces (errors and findings), so the command
line starts fast; import the others by their module.
"""

import warnings

from ground.errors import (
    ConvergenceError,
    DesistError,
    DesistWarning,
    MatchingError,
    ModelError,
    ParameterError,
    SchemaError,
    SpecError,
)
from ground.findings import SEVERITIES, Finding

# pandera imports pyspark.pandas whenever pyspark is installed (desist[spark]), and pyspark.pandas then warns
# on every import that it does not yet support pandas 3; desist never uses pyspark.pandas.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)

__all__ = [
    "SEVERITIES",
    "ConvergenceError",
    "DesistError",
    "DesistWarning",
    "Finding",
    "MatchingError",
    "ModelError",
    "ParameterError",
    "SchemaError",
    "SpecError",
]
