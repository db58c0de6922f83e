"""Rows as one integer each: the values of several columns packed into a single int64 key.

Comparing, sorting or finding repeated rows over several columns of millions of rows is faster on one integer
than on the columns themselves (text above all): each column is factorised once and the codes combined in mixed
radix. When the product of the columns' distinct counts would pass 2**62, the key so far is replaced by its own
dense codes first, so the key never overflows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ground.factorise import factorise

__all__ = ["repeated", "row_keys"]


def row_keys(columns: Sequence[pd.Series | np.ndarray], *, ordered: bool = False) -> np.ndarray:
    """One int64 per row, equal for rows equal in every column (missing values equal each other, and first).

    Parameters
    ----------
    columns : sequence of pandas.Series or numpy.ndarray
        Aligned columns, each of one length.
    ordered : bool
        Keys ordered as the rows are, column by column (each column's values in their sorted order); otherwise
        only equality is kept, which is faster.

    Returns
    -------
    numpy.ndarray
        int64, one per row.

    Examples
    --------
    >>> row_keys([pd.Series(["b", "a", "b"]), np.array([2, 1, 2])], ordered=True).tolist()
    [3, 0, 3]
    >>> bool(pd.Index(row_keys([pd.Series(["x", None, None])])).duplicated(keep=False)[1])
    True
    """
    key = np.zeros(len(columns[0]) if len(columns) else 0, dtype=np.int64)
    most = 0  # the greatest key so far: the codes' counts bound it, so the keys are not searched for it
    for values in columns:
        codes, n = _codes(values, ordered)
        if n and key.size and most > (2**62) // n:
            key, most = _codes(key, ordered)
            most -= 1
        # In place: a table of tens of millions of rows is not given a new key array for every column.
        key *= n
        key += codes
        most = most * n + max(n - 1, 0)
    return key


def repeated(key: np.ndarray) -> np.ndarray:
    """Whether each row's key is another row's too (every copy marked), found by sorting.

    Parameters
    ----------
    key : numpy.ndarray
        int64 keys (:func:`row_keys`).

    Returns
    -------
    numpy.ndarray
        bool, one per row.

    Examples
    --------
    >>> repeated(np.array([5, 1, 5, 2])).tolist()
    [True, False, True, False]
    """
    if key.size < 2 or bool(np.all(key[1:] > key[:-1])):
        return np.zeros(key.size, dtype=bool)  # rising keys (rows in the keys' order) repeat none: no sort needed
    ranked = np.sort(key)
    if not (ranked[1:] == ranked[:-1]).any():
        return np.zeros(key.size, dtype=bool)  # the usual case, found without the order of the rows
    del ranked
    order = np.argsort(key, kind="stable")
    ranked = key[order]
    same = ranked[1:] == ranked[:-1]
    del ranked
    marked = np.zeros(key.size, dtype=bool)
    marked[1:] |= same
    marked[:-1] |= same
    out = np.empty(key.size, dtype=bool)
    out[order] = marked
    return out


def _codes(values: pd.Series | np.ndarray, ordered: bool) -> tuple[np.ndarray, int]:
    """Dense integer codes of the values and how many distinct values there are (missing is one of them).

    A categorical's own codes serve when only equality counts. Integers in a short range (codes already) are
    their offset from the least; other numbers are coded by sorting: hashing int64 dates or packed keys, whose
    low bits repeat, collides often. No more arrays are made than the codes need: a national table's column
    is tens of millions of rows.
    """
    if not ordered and isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.array.codes.astype(np.int32)  # one copy (.cat.codes would make another)
        codes += 1  # missing (-1) is 0
        return codes, len(values.cat.categories) + 1
    plain = np.asarray(values) if not isinstance(values, pd.Series) or isinstance(values.dtype, np.dtype) else None
    owned = False  # plain is an array made here, free to be changed in place
    if plain is not None and plain.dtype.kind == "M" and plain.size:
        days = _days(plain)
        plain, owned = days, not np.may_share_memory(days, plain)
    if plain is not None and plain.dtype.kind in "iu" and plain.size:
        least, span = plain.min(), int(plain.max()) - int(plain.min()) + 1
        if span <= 4 * plain.size:
            if owned and plain.dtype == np.int64:
                plain -= least
                return plain, span
            return np.subtract(plain, least, dtype=np.int64), span
    if plain is not None and plain.dtype.kind in "iufmMb":
        distinct, inverse = np.unique(plain, return_inverse=True)
        found = inverse.reshape(-1).astype(np.int64, copy=False)
        if distinct.dtype.kind == "f" and distinct.size and np.isnan(distinct[-1]):
            found = (found + 1) % distinct.size  # missing (sorted last) first, as everywhere here
        return found, len(distinct)
    if not ordered:
        text_codes, texts = factorise(pd.Series(values, copy=False))
        return np.where(text_codes < 0, len(texts), text_codes), len(texts) + 1  # missing: a value of its own
    factors, labels = pd.factorize(values, sort=ordered, use_na_sentinel=False)
    return factors.astype(np.int64, copy=False), len(labels)


def _days(moments: np.ndarray) -> np.ndarray:
    """Moments as int64 in their order, missing first: day numbers when all are midnights (a short range)."""
    ticks = moments.view(np.int64)
    missing = np.isnat(moments)
    unit = np.datetime_data(moments.dtype)[0]
    per_day = int(np.timedelta64(1, "D") / np.timedelta64(1, unit))  # type: ignore[call-overload]  # stubs want a literal unit
    rest = ticks % per_day
    rest[missing] = 0
    if rest.any():
        return ticks  # missing is the least int64
    del rest  # let go before the days are made: a national column is hundreds of MB
    days = ticks // per_day
    if missing.any():
        days[missing] = days[~missing].min(initial=0) - 1
    return days
