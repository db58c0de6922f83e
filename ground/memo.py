"""Answers remembered while a caller asks the same questions of the same data again and again.

The contract designer answers every edit with the functions the commands call (``check``, ``price``,
``simulate``, ``gaming``), on data that do not change between edits: the people's segments, the simulation's
random draws and the gaming bootstrap are the same after an edit of a price. A :class:`Memo` made for that
data and made active around the calls lets those functions give the answer they gave the first time
(:func:`remembered`), instead of working it out again; without an active memo they work it out as always.

An answer is remembered under a key the function builds from everything it depends on: a table it was
given is named by its identity, and only a table the memo was made for (and so holds, and which must not
be changed in place) is remembered by identity; arrays are named by a digest of their bytes (:func:`digest`).

Examples
--------
>>> import pandas as pd
>>> table = pd.DataFrame({"x": [1, 2]})
>>> memo = Memo(table)
>>> calls = []
>>> def total() -> int:
...     calls.append(1)
...     return int(table["x"].sum())
>>> with memo.active():
...     first = remembered(("total", id(table)), total, held=table)
...     again = remembered(("total", id(table)), total, held=table)
>>> first, again, len(calls)
(3, 3, 1)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

import numpy as np

__all__ = ["Memo", "digest", "remembered"]

T = TypeVar("T")


class Memo:
    """Remembered answers for the tables given, and for keys built from values, while :meth:`active`.

    Parameters
    ----------
    *tables : object
        Tables (or other objects) whose answers are remembered by identity. The memo holds them, so that no
        other object takes their place at the same address; they must not be changed in place while it is used.
    keep : int
        Answers remembered in all (the most recent): a key that changes at every call does not fill the memory.

    Examples
    --------
    >>> memo = Memo(keep=2)
    >>> with memo.active():
    ...     answers = [remembered(("square", n), lambda n=n: n * n) for n in (2, 3, 2)]
    >>> answers, len(memo)
    ([4, 9, 4], 2)
    """

    def __init__(self, *tables: object, keep: int = 16) -> None:
        self._tables = {id(t): t for t in tables}
        self._answers: dict[Hashable, object] = {}
        self._keep = keep

    def __len__(self) -> int:
        return len(self._answers)

    def holds(self, table: object) -> bool:
        """Whether answers about ``table`` (this object) are remembered."""
        return self._tables.get(id(table)) is table

    def _remember(self, key: Hashable, answer: object) -> None:
        self._answers[key] = answer
        while len(self._answers) > self._keep:
            del self._answers[next(iter(self._answers))]

    @contextmanager
    def active(self) -> Iterator[Memo]:
        """Within the block (in this thread or task), :func:`remembered` answers from this memo."""
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)


#: The memo :func:`remembered` consults (one per thread or task, set by :meth:`Memo.active`).
_ACTIVE: ContextVar[Memo | None] = ContextVar("memo", default=None)
_MISSING = object()


def remembered(key: Hashable, compute: Callable[[], T], *, held: object | tuple[object, ...] = ()) -> T:
    """``compute()``, or, inside an active :class:`Memo`, the answer it gave before for the same key.

    Parameters
    ----------
    key : hashable
        Everything the answer depends on: the question's name first, then its inputs (a table by ``id``,
        an array by :func:`digest`).
    compute : callable
        Works the answer out.
    held : object or tuple of objects, optional
        The tables the key names by identity: the answer is remembered only when the memo was made for them.

    Returns
    -------
    The answer.

    Examples
    --------
    >>> remembered(("one",), lambda: 1)  # no active memo: worked out
    1
    """
    memo = _ACTIVE.get()
    tables = held if isinstance(held, tuple) else (held,)
    if memo is None or not all(memo.holds(t) for t in tables):
        return compute()
    known = memo._answers.get(key, _MISSING)
    if known is not _MISSING:
        return known  # type: ignore[return-value]
    answer = compute()
    memo._remember(key, answer)
    return answer


def digest(array: object) -> str | None:
    """A short name of an array's values (and shape), for a key; None for None.

    Parameters
    ----------
    array : array-like of numbers, or None
        Numbers only: an array of objects would be named by where its objects are, not by what they are.

    Returns
    -------
    str or None
        The dtype, the shape and the SHA-1 of the bytes.

    Examples
    --------
    >>> digest(np.zeros(3)) == digest(np.zeros(3)), digest(np.zeros(3)) == digest(np.zeros(4))
    (True, False)
    """
    if array is None:
        return None
    values = np.ascontiguousarray(array)
    return f"{values.dtype}{values.shape}:{hashlib.sha1(values.tobytes()).hexdigest()}"
