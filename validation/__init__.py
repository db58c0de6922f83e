"""validation: does it hold. Schemas, design checks, creaming/parking screens, equality.

``validation.schemas`` and ``validation.errors`` may be imported by every
package. The higher-level checks import from ``metrics`` and ``pricing``, so
they are loaded lazily here (PEP 562) to keep that exception free of cycles.
"""

from __future__ import annotations

import importlib
from typing import Any

from validation.errors import (
    ConvergenceError,
    DesistError,
    MatchingError,
    ModelError,
    SchemaError,
    SpecError,
)

# name -> module that defines it; filled in as the modules land.
_LAZY: dict[str, str] = {
    "TABLES": "validation.schemas",
    "table_schema": "validation.schemas",
    "validate": "validation.schemas",
    "Screen": "validation.gaming",
    "creaming_screen": "validation.gaming",
    "parking_screen": "validation.gaming",
    "Funnel": "validation.funnels",
    "funnel": "validation.funnels",
    "EqualityTable": "validation.equality_impact",
    "equality": "validation.equality_impact",
    "Finding": "validation.design",
    "check_design": "validation.design",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'validation' has no attribute {name!r}")


__all__ = [
    "ConvergenceError",
    "DesistError",
    "MatchingError",
    "ModelError",
    "SchemaError",
    "SpecError",
    *_LAZY,
]
