"""Columns as integer codes: ids, instruments and items are factorised once and carried as integers.

Comparing or grouping text row by row is what made scoring slow on millions of
rows; a categorical column already holds its codes, and any other column is
factorised (by hashing, once). Text is looked up only among the distinct values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["codes_of", "sorted_categorical", "text_column", "where_text"]


def codes_of(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes of a column (-1 where missing) and its distinct values, as an Index.

    A categorical column gives its own codes and categories without copying them.

    Parameters
    ----------
    values : pandas.Series
        Any column.

    Examples
    --------
    >>> codes, distinct = codes_of(pd.Series(["b", "a", None, "b"]))
    >>> codes.tolist(), distinct.tolist()
    ([0, 1, -1, 0], ['b', 'a'])
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.array.codes, values.cat.categories  # the categorical's own codes, read-only: not copied
    codes, distinct = pd.factorize(values)
    return codes, pd.Index(distinct)


def text_column(codes: np.ndarray, words: Sequence[str]) -> pd.api.extensions.ExtensionArray:
    """Each row's text, ``words[code]``, as pandas holds a column of text, written by Arrow from the codes.

    A national table's reasons are millions of rows of a few texts: no Python string is made for each row
    (which holds the interpreter lock, so nothing else runs beside it).

    Parameters
    ----------
    codes : numpy.ndarray
        Signed integers, each a position in ``words``.
    words : sequence of str

    Examples
    --------
    >>> text_column(np.array([1, 0, 1]), ["", "no item answered"]).tolist()
    ['no item answered', '', 'no item answered']
    """
    decoded = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(list(words), pa.large_string()))
    # The type pandas gives a column of text (str, unless the user has asked for object columns).
    return pd.array(decoded.dictionary_decode(), dtype=pd.Series([""]).dtype)


def where_text(distinct: pd.Index, text: str) -> np.ndarray:
    """Which of the distinct values read as ``text`` (compared as text, as the values are written).

    Parameters
    ----------
    distinct : pandas.Index
        The distinct values of a column (:func:`codes_of`).
    text : str
        The value sought.

    Examples
    --------
    >>> where_text(pd.Index([7, "a", "7"]), "7").tolist()
    [True, False, True]
    """
    return (pd.Series(distinct, dtype="string") == text).fillna(False).to_numpy(dtype=bool)


def sorted_categorical(values: pd.Series) -> pd.Categorical:
    """The column as a categorical whose categories are sorted, so sorting its codes sorts its values.

    Parameters
    ----------
    values : pandas.Series
        Any column whose values can be sorted.

    Examples
    --------
    >>> ids = sorted_categorical(pd.Series(["b", "a", None, "b"]))
    >>> ids.codes.tolist(), ids.categories.tolist()
    ([1, 0, -1, 1], ['a', 'b'])
    """
    codes, distinct = codes_of(values)
    order = distinct.argsort(kind="stable")
    rank = np.empty(len(distinct) + 1, dtype=np.int64)
    rank[order] = np.arange(len(distinct))
    rank[-1] = -1  # code -1 (missing) reads the last slot and stays missing
    return pd.Categorical.from_codes(rank[codes], categories=distinct[order])
