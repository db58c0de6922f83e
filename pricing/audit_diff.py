"""The first figure where an output file on disk differs from what the contract gives, in words.

``ledger.csv`` is compared row by row (data rows counted from 1, header not
counted, as every message counts them) and ``settlement.json`` key by key, in
the file's order; amounts read as pounds:

    ledger.csv row 17: paid £50,000.00 but the contract gives -£50,000.00
    settlement.json tranches row 1 (h1_2023, target) amount_pence: £50,000.00 but the contract gives -£50,000.00
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["first_difference"]


def _pounds(value: Any, pence: bool = False) -> str:
    """``"-50000.00"`` (or ``-5000000`` pence) -> ``"-£50,000.00"``; anything else as written."""
    try:
        amount = Decimal(str(value)) / (100 if pence else 1)
    except (InvalidOperation, ValueError):
        return repr(value)
    if not amount.is_finite():
        return repr(value)
    return f"{'-' if amount < 0 else ''}£{abs(amount):,.2f}"


def first_difference(name: str, on_disk: str, rebuilt: str) -> str:
    """The first difference between an output file's text on disk and the settlement's, in words.

    Parameters
    ----------
    name : str
        The output file's name (a ``.csv`` ledger or a JSON file).
    on_disk, rebuilt : str
        Its text on disk, and as the settlement writes it.

    Examples
    --------
    >>> first_difference("ledger.csv", "tranche,amount\\nh1,100\\n", "tranche,amount\\nh1,120\\n")
    'ledger.csv row 1: paid £100.00 but the contract gives £120.00'
    """
    found = _ledger(on_disk, rebuilt) if name.endswith(".csv") else _json(on_disk, rebuilt)
    if found is None:
        found = "differs from the settlement's in its bytes only: every value reads the same (spacing or line endings)"
    return f"{name} {found}"


def _ledger(on_disk: str, rebuilt: str) -> str | None:
    try:
        disk = list(csv.reader(io.StringIO(on_disk)))
    except csv.Error as exc:
        return f"cannot be read as CSV ({exc})"
    again = list(csv.reader(io.StringIO(rebuilt)))
    if not disk or disk[0] != again[0]:
        return f"has the header {','.join(disk[0]) if disk else '(none)'} but the contract gives {','.join(again[0])}"
    header = again[0]
    for number, (mine, theirs) in enumerate(zip(disk[1:], again[1:]), start=1):
        if mine == theirs:
            continue
        for column, (a, b) in enumerate(zip(mine + [""] * len(header), theirs)):
            if a != b:
                if header[column] == "amount":
                    return f"row {number}: paid {_pounds(a)} but the contract gives {_pounds(b)}"
                return f"row {number}: {header[column]} is {a!r} but the contract gives {b!r}"
        return f"row {number}: has {len(mine)} values but the contract gives {len(theirs)}"
    if len(disk) != len(again):
        return f"has {len(disk) - 1} rows but the contract gives {len(again) - 1}"
    return None


def _json(on_disk: str, rebuilt: str) -> str | None:
    try:
        disk = json.loads(on_disk)
    except json.JSONDecodeError as exc:
        return f"is not JSON any more ({exc})"
    return _walk(disk, json.loads(rebuilt), [])


def _walk(mine: Any, theirs: Any, where: list[str]) -> str | None:
    """The first path (in the settlement's key order) where the two differ, and both values."""
    if isinstance(theirs, dict) and isinstance(mine, dict):
        for key in list(theirs) + [k for k in mine if k not in theirs]:
            if key not in mine or key not in theirs:
                return f"{_where(where + [key])}: {'missing' if key not in mine else 'not in the settlement'}"
            found = _walk(mine[key], theirs[key], where + [key])
            if found:
                return found
        return None
    if isinstance(theirs, list) and isinstance(mine, list):
        for i, (a, b) in enumerate(zip(mine, theirs), start=1):
            label = f"row {i}" + (f" ({', '.join(_row_name(b))})" if _row_name(b) else "")
            found = _walk(a, b, where + [label])
            if found:
                return found
        if len(mine) != len(theirs):
            return f"{_where(where)}: {len(mine)} rows but the contract gives {len(theirs)}"
        return None
    if mine == theirs and type(mine) is type(theirs):
        return None
    key = where[-1] if where else ""
    if key.endswith("pence") or key in ("total_pence", "amount_pence"):
        return f"{_where(where)}: {_pounds(mine, pence=True)} but the contract gives {_pounds(theirs, pence=True)}"
    if key == "total":
        return f"{_where(where)}: {_pounds(mine)} but the contract gives {_pounds(theirs)}"
    return f"{_where(where)}: {json.dumps(mine)} but the contract gives {json.dumps(theirs)}"


def _row_name(row: Any) -> list[str]:
    """What names a row of a table in settlement.json (its tranche and rule, or its party)."""
    if not isinstance(row, dict):
        return []
    return [str(row[k]) for k in ("tranche", "rule", "party", "step", "reason") if k in row and row[k] is not None][:2]


def _where(path: list[str]) -> str:
    return " ".join(path) if path else "(the whole file)"
