"""The tables' pandera schemas, kept importable here for existing scripts.

The schemas live on the ground floor, :mod:`ground.tables`, because every
package checks its input tables with them at its boundary.
"""

from ground.tables import (  # noqa: F401
    DISPOSAL_LEVELS,
    ETHNICITY_LEVELS,
    SEX_LEVELS,
    TABLES,
    table_schema,
    validate,
)
