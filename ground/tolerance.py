"""Decisions that rounding cannot change: comparisons with a tolerance relative to the numbers' size.

A payment rule met at exactly its threshold (a 5-point fall against a 5-point
target) computes to 0.04999999999999999 on one machine and 0.05000000000000002
on another. :func:`at_least` counts a shortfall smaller than
:data:`RELATIVE_TOLERANCE` times the size of the numbers involved (the value,
the bound, and whatever the value was computed from) as met, so the decision
is the exact one, whatever the floating-point noise. An absolute allowance
(``- 1e-12``) would be too large for numbers near 1e-12 and too small for
amounts of pounds.

Examples
--------
>>> 0.43 - 0.38 >= 0.05
False
>>> bool(at_least(0.43 - 0.38, 0.05, 0.43))
True
>>> bool(at_least(0.0499, 0.05))
False
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["RELATIVE_TOLERANCE", "at_least", "at_most"]

#: A difference below this share of the numbers' size is rounding, not a difference: far above the
#: noise of a few operations in double precision (1e-16 each), far below any difference that matters.
RELATIVE_TOLERANCE = 1e-9


def at_least(value: npt.ArrayLike, bound: npt.ArrayLike, *parts: npt.ArrayLike) -> np.ndarray:
    """``value >= bound``, a shortfall within rounding of the numbers involved counting as met.

    Parameters
    ----------
    value, bound : float or array
        What is compared (arrays broadcast).
    *parts : float or array
        The numbers ``value`` was computed from (a rate before a difference was
        taken), so the tolerance scales with them too.

    Returns
    -------
    bool or numpy.ndarray of bool

    Examples
    --------
    >>> bool(at_least(0.1 + 0.2 - 0.3, 0.0)), bool(at_least(-0.01, 0.0))
    (True, False)
    """
    size = np.abs(np.asarray(value, dtype=float))
    for number in (bound, *parts):
        size = np.maximum(size, np.abs(np.asarray(number, dtype=float)))
    return np.asarray(np.asarray(value, dtype=float) >= np.asarray(bound, dtype=float) - RELATIVE_TOLERANCE * size)


def at_most(value: npt.ArrayLike, bound: npt.ArrayLike, *parts: npt.ArrayLike) -> np.ndarray:
    """``value <= bound``, an excess within rounding of the numbers involved counting as met.

    Parameters
    ----------
    value, bound : float or array
        What is compared (arrays broadcast).
    *parts : float or array
        The numbers ``value`` was computed from, so the tolerance scales with them too.

    Examples
    --------
    >>> bool(at_most(0.1 + 0.2, 0.3))
    True
    """
    return at_least(-np.asarray(value, dtype=float), -np.asarray(bound, dtype=float), *parts)
