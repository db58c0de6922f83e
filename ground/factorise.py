"""A column as integer codes and its distinct values, text hashed where Arrow holds it, chunk by chunk.

A text column read from Parquet is held by Arrow in chunks; pandas factorises it by encoding every chunk,
joining the chunks' codes and converting them, which costs twice what encoding does on a national table's
tens of millions of rows. Here each chunk is encoded on its own, the chunks' few distinct values are
factorised together, and each chunk's codes are looked up in place; the chunks are encoded and looked up
on the machine's cores side by side (Arrow and numpy let go of the interpreter lock).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ground.threads import each

__all__ = ["factorise", "placed", "ranked"]


def factorise(values: pd.Series, *, sort: bool = False) -> tuple[np.ndarray, pd.Index]:
    """Codes (-1 where missing) and distinct values, as ``pandas.factorize`` gives them.

    Parameters
    ----------
    values : pandas.Series
        Any column; text held by Arrow is encoded chunk by chunk, anything else by ``pandas.factorize``.
    sort : bool
        Distinct values sorted (codes in their order), else in order of first appearance.

    Returns
    -------
    codes : numpy.ndarray
        One integer per row (for Arrow text, of the least type that holds the distinct values' count).
    distinct : pandas.Index

    Examples
    --------
    >>> codes, distinct = factorise(pd.Series(["b", "a", None, "b"], dtype="str"))
    >>> codes.tolist(), distinct.tolist()
    ([0, 1, -1, 0], ['b', 'a'])
    """
    chunked = _arrow_text(values)
    if chunked is None:
        codes, distinct = pd.factorize(values, sort=sort)
        return codes, pd.Index(distinct)
    encoded = each(pc.dictionary_encode, chunked.chunks)
    # Every chunk's distinct values, in order: the column's, each as many times as chunks hold it.
    words = pd.Series(pa.chunked_array([e.dictionary for e in encoded], chunked.type), dtype=values.dtype)
    code_of_word, distinct = pd.factorize(words, sort=sort)
    codes = np.empty(len(values), dtype=np.min_scalar_type(-len(distinct) - 1))  # codes and -1 for missing
    row = np.cumsum([0] + [len(e) for e in encoded])
    word = np.cumsum([0] + [len(e.dictionary) for e in encoded])

    def place(i: int) -> None:  # a chunk at a time (a national table has hundreds), never a row at a time
        at = encoded[i].indices.fill_null(-1).to_numpy()
        codes[row[i] : row[i + 1]] = placed(code_of_word[word[i] : word[i + 1]], at, len(distinct))

    each(place, range(len(encoded)))
    return codes, pd.Index(distinct)


def ranked(values: pd.Series | pd.Index) -> np.ndarray:
    """Each value's place among the distinct values in sorted order (-1 where missing): the codes of
    ``pandas.factorize(values, sort=True)``.

    Text held by Arrow is ranked by Arrow's sort, which is quick on text nearly in order already (ids read from a
    file sorted by them), where pandas hashes it, then sorts the distinct values and moves every code; anything
    else by ``pandas.factorize``.

    Parameters
    ----------
    values : pandas.Series or pandas.Index

    Returns
    -------
    numpy.ndarray
        One int64 a row.

    Examples
    --------
    >>> ranked(pd.Series(["b", "a", None, "b", ""], dtype="str")).tolist()
    [2, 1, -1, 2, 0]
    """
    chunked = _arrow_text(values)
    if chunked is None:
        codes: np.ndarray = pd.factorize(values, sort=True)[0]
        return codes.astype(np.int64)
    rank: np.ndarray = pc.rank(chunked, tiebreaker="dense").to_numpy().astype(np.int64) - 1  # missing: ranked last
    if chunked.null_count:
        rank[chunked.is_null().to_numpy(zero_copy_only=False)] = -1
    return rank


def _arrow_text(values: pd.Series | pd.Index) -> pa.ChunkedArray | None:
    """The text Arrow holds for ``values``, or None when they are not text held by Arrow (or hold no chunk)."""
    chunked = getattr(values.array, "_pa_array", None)
    if (
        isinstance(chunked, pa.ChunkedArray)
        and (pa.types.is_large_string(chunked.type) or pa.types.is_string(chunked.type))
        and chunked.num_chunks
    ):
        return chunked
    return None


def placed(lookup: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray:
    """``lookup[codes]``, -1 where a code is -1 (missing), in the least integer type that holds ``n`` categories.

    Parameters
    ----------
    lookup : numpy.ndarray
        The new code of each old one (-1 for none).
    codes : numpy.ndarray
        Old codes, -1 where missing.
    n : int
        How many new codes there are.

    Examples
    --------
    >>> placed(np.array([2, 0, -1]), np.array([1, -1, 0, 2]), 3)
    array([ 0, -1,  2, -1], dtype=int8)
    """
    small = np.append(lookup, -1).astype(np.min_scalar_type(-n - 1))  # a missing code (-1) takes the -1 appended
    found: np.ndarray = small[codes]
    return found
