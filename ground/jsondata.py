"""Results as strict JSON: one conversion for every file and document desist writes.

:func:`jsonable` turns numpy numbers into Python ones, NaN and infinities into
``null``, dates into ISO text and frames into records; :func:`json_text` writes
the result with two-space indents and never a bare ``NaN``. A settlement file
written by the command line and one rebuilt by ``verify`` are the same bytes
because both come from here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TypeAlias

import numpy as np
import pandas as pd

__all__ = ["JSON", "json_text", "jsonable"]

#: Plain JSON data, what :func:`jsonable` gives.
JSON: TypeAlias = None | bool | int | float | str | list["JSON"] | dict[str, "JSON"]


def jsonable(value: object) -> JSON:
    """``value`` as plain JSON data: NaN/inf -> None, numpy -> Python, dates -> ISO, frames -> records.

    Parameters
    ----------
    value : object
        A mapping, sequence, DataFrame, Series, number, date, path or text.

    Examples
    --------
    >>> jsonable({"rate": float("nan"), "n": np.int64(3), "day": pd.Timestamp("2025-09-30")})
    {'rate': None, 'n': 3, 'day': '2025-09-30T00:00:00'}
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, pd.DataFrame):
        return jsonable(value.to_dict(orient="records"))
    if isinstance(value, pd.Series):
        return jsonable(value.to_dict())
    if isinstance(value, (list, tuple, set, np.ndarray, pd.Index)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def json_text(data: object) -> str:
    """``data`` as strict JSON text (two-space indents; NaN and infinities as null).

    Parameters
    ----------
    data : object
        Anything :func:`jsonable` turns into JSON data.

    Examples
    --------
    >>> print(json_text({"n": np.int64(3), "rate": float("nan")}))
    {
      "n": 3,
      "rate": null
    }
    """
    return json.dumps(jsonable(data), indent=2, allow_nan=False)
