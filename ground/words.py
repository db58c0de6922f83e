"""How a number is written for people, wherever it is read: a sentence, a report, a workbook, a terminal.

A rate reads "41.7%", a difference of rates "-3.9 points", money "£260,000"
(never ``2.6e+05``), a p-value "< 0.001", a count "1,234", and float noise
such as ``-2.8e-12`` an exact 0. The library's answers say their numbers in
these words (``appraisal.answers``), and the command line's tables
(``desist.format.Table``) write every cell with them, so one figure reads the
same everywhere. A finding's severity is written as :data:`SEVERITY_WORDS`.

Examples
--------
>>> percent(0.4172), points(-0.0386), pounds(259_999.6), pounds(-2.8e-12)
('41.7%', '-3.9 points', '£260,000', '£0')
>>> count(1234), ratio(0.85764), p_value(2e-7)
('1,234', '0.858', '< 0.001')
"""

from __future__ import annotations

import math
from typing import TypeAlias

import numpy as np
import pandas as pd

__all__ = ["DASH", "SEVERITY_WORDS", "count", "is_missing", "number", "p_value", "percent", "points", "pounds", "ratio"]

#: A number as the words functions take it: missing (None, NaN, ``pd.NA``) is written as :data:`DASH`.
Number: TypeAlias = float | int | np.number | pd.api.typing.NAType | None
#: What a missing number shows.
DASH = "–"
#: Severities of findings (``ground.findings.SEVERITIES``) as a reader sees them.
SEVERITY_WORDS = {"error": "Must fix", "warning": "Worth fixing", "info": "Note"}


def is_missing(value: object) -> bool:
    """True for None, NaN, NaT and pandas' NA.

    Parameters
    ----------
    value : object
        Anything: a number, None, NaN, NaT, ``pd.NA`` or another object (which is not missing).

    Examples
    --------
    >>> is_missing(float("nan")), is_missing(pd.NA), is_missing(0.0)
    (True, True, False)
    """
    if value is None:
        return True
    try:
        return bool(value != value)
    except (TypeError, ValueError):
        # pd.NA compares to NA, whose truth is undefined; an array is not one value.
        return value is pd.NA


def _float(value: Number) -> float:
    """The number as a float, once :func:`is_missing` has said it is there."""
    return math.nan if value is None or isinstance(value, pd.api.typing.NAType) else float(value)


def _minus(text: str) -> str:
    """No "-0" or "-0.0%": a number that rounds to zero has no sign."""
    digits = text.lstrip("-").replace(",", "").rstrip("%").removeprefix("£")
    try:
        zero = float(digits.split()[0]) == 0
    except ValueError:
        zero = False
    return text.lstrip("-") if zero else text


def number(value: Number, digits: int = 3) -> str:
    """A number with ``digits`` significant figures, separators, never scientific.

    Parameters
    ----------
    value : number or None
        The number; None, NaN or NA is written as :data:`DASH`, an infinity in words.
    digits : int
        Significant figures (at most 6 decimal places).

    Examples
    --------
    >>> number(0.012345), number(1234567.8), number(-2.8e-12), number(0.858)
    ('0.0123', '1,234,568', '0', '0.858')
    """
    if is_missing(value):
        return DASH
    v = _float(value)
    if not math.isfinite(v):
        return "infinite" if v > 0 else "minus infinite"
    if v == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(v)))
    decimals = min(max(digits - 1 - magnitude, 0), 6)
    text = f"{v:,.{decimals}f}"
    # Float noise of a zero (-2.8e-12) is written as the zero it is.
    return "0" if float(text.replace(",", "")) == 0 else text


def count(value: Number) -> str:
    """A count of people or events: whole, with separators (a fractional count keeps 3 figures).

    Parameters
    ----------
    value : number or None
        The count; None, NaN or NA is written as :data:`DASH`.

    Examples
    --------
    >>> count(1234), count(4.666)
    ('1,234', '4.67')
    """
    if is_missing(value):
        return DASH
    v = _float(value)
    return f"{round(v):,}" if v == round(v) else number(v)


def percent(value: Number, digits: int = 1) -> str:
    """A proportion as a percentage: 0.417 -> "41.7%"; a tiny share is "< 0.1%", not "0.0%".

    Parameters
    ----------
    value : number or None
        The proportion (0.417 for 41.7%); None, NaN or NA is written as :data:`DASH`.
    digits : int
        Decimal places of the percentage.

    Examples
    --------
    >>> percent(0.4172), percent(0.0004), percent(1.0), percent(-0.0)
    ('41.7%', '< 0.1%', '100.0%', '0.0%')
    """
    if is_missing(value):
        return DASH
    v = _float(value) * 100
    smallest = 10.0**-digits
    if v != 0 and abs(v) < smallest / 2:
        return f"< {smallest:.{digits}f}%" if v > 0 else f"> -{smallest:.{digits}f}%"
    return _minus(f"{v:,.{digits}f}%")


def points(value: Number, digits: int = 1, *, signed: bool = False) -> str:
    """A difference of two proportions in percentage points: -0.039 -> "-3.9 points".

    Parameters
    ----------
    value : number or None
        The difference as a proportion (-0.039 for 3.9 points lower); None, NaN or NA is written as :data:`DASH`.
    digits : int
        Decimal places.
    signed : bool
        Write "+" before a positive difference.

    Examples
    --------
    >>> points(-0.0386), points(0.05, signed=True)
    ('-3.9 points', '+5.0 points')
    """
    if is_missing(value):
        return DASH
    v = _float(value) * 100
    text = _minus(f"{v:{'+' if signed else ''},.{digits}f}")
    return f"{text} points"


def pounds(value: Number, *, pence: bool = False) -> str:
    """Money: "£260,000", "-£1,234"; anything under half a penny is "£0".

    Parameters
    ----------
    value : number or None
        An amount in pounds; None, NaN or NA is written as :data:`DASH`.
    pence : bool
        Show pence; otherwise whole pounds.

    Examples
    --------
    >>> pounds(259_999.6), pounds(-1234.4), pounds(3.456, pence=True), pounds(-0.004)
    ('£260,000', '-£1,234', '£3.46', '£0')
    """
    if is_missing(value):
        return DASH
    v = _float(value)
    if abs(v) < 0.005:
        return "£0"
    text = f"£{abs(v):,.{2 if pence else 0}f}"
    return _minus(("-" if v < 0 else "") + text)


def ratio(value: Number) -> str:
    """A rate or hazard ratio to three figures: 0.858.

    Parameters
    ----------
    value : number or None
        The ratio; None, NaN or NA is written as :data:`DASH`.

    Examples
    --------
    >>> ratio(0.85764), ratio(1.0), ratio(1.0183)
    ('0.858', '1.00', '1.02')
    """
    if is_missing(value):
        return DASH
    return number(value, 3)


def p_value(value: Number) -> str:
    """A p-value: "0.036", "0.11", "< 0.001".

    Parameters
    ----------
    value : number or None
        The p-value; None, NaN or NA is written as :data:`DASH`.

    Examples
    --------
    >>> p_value(0.0361), p_value(0.11), p_value(2e-7), p_value(1.0)
    ('0.036', '0.11', '< 0.001', '1')
    """
    if is_missing(value):
        return DASH
    v = _float(value)
    if v < 0.001:
        return "< 0.001"
    return f"{v:.3f}".rstrip("0").rstrip(".") if v < 0.1 else f"{v:.2f}".rstrip("0").rstrip(".")
