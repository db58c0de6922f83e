"""Independent pieces of work on a few threads, their results in the order given.

numpy's sorts, ufuncs and takes and Arrow's compute functions let go of the interpreter lock on large arrays, so
pieces that share nothing (a column's Arrow chunks, a table's columns, an outcome's instruments) run side by side
on a machine's cores. Each result is the piece's own, whichever thread ran it and whenever: nothing depends on
the threads' order. The first piece to raise, in the order given, raises here, as a loop over them would, and every
piece sees the caller's context variables (a declared date format), as in a loop.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["each"]

T = TypeVar("T")
R = TypeVar("R")


def each(work: Callable[[T], R], pieces: Iterable[T], *, threads: int | None = None) -> list[R]:
    """``[work(p) for p in pieces]``, the pieces on up to ``threads`` threads (default: the machine's cores).

    Parameters
    ----------
    work : callable
        Applied to each piece; it must not change what another piece reads.
    pieces : iterable
    threads : int, optional
        At most this many pieces at once (fewer where their working memory together would be too much).

    Returns
    -------
    list
        Each piece's result, in the order of ``pieces``.

    Examples
    --------
    >>> each(lambda n: n * n, [1, 2, 3])
    [1, 4, 9]
    """
    pieces = list(pieces)
    workers = min(threads or os.cpu_count() or 1, len(pieces))
    if workers <= 1:
        return [work(p) for p in pieces]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # Each piece runs in a copy of the caller's context: what the caller set for its own context (a declared
        # date format, numpy's error handling) holds in the piece as it would in a loop.
        running = [pool.submit(contextvars.copy_context().run, work, p) for p in pieces]
        return [r.result() for r in running]
