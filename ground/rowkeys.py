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

__all__ = ["row_keys"]


def row_keys(columns: Sequence[pd.Series | np.ndarray], *, ordered: bool = False) -> np.ndarray:
    """One int64 per row, equal for rows equal in every column (missing values equal each other).

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
    for values in columns:
        codes, distinct = pd.factorize(values, sort=ordered, use_na_sentinel=False)
        if len(distinct) and key.size and key.max() > (2**62) // len(distinct):
            key = pd.factorize(key, sort=ordered)[0].astype(np.int64)
        key = key * len(distinct) + codes
    return key
