"""Pieces of work run on threads give what a loop over them gives: results in order, errors, context."""

from __future__ import annotations

import contextvars

import pytest

from ground.threads import each

SEEN: contextvars.ContextVar[str] = contextvars.ContextVar("SEEN", default="unset")


def test_results_come_in_the_order_of_the_pieces():
    assert each(lambda n: n * 10, range(7), threads=3) == [0, 10, 20, 30, 40, 50, 60]


def test_the_first_piece_to_fail_in_order_raises():
    def work(n: int) -> int:
        if n in (2, 4):
            raise ValueError(f"piece {n}")
        return n

    with pytest.raises(ValueError, match="piece 2"):
        each(work, range(6), threads=2)


def test_each_piece_sees_the_callers_context():
    token = SEEN.set("declared")
    try:
        assert each(lambda _: SEEN.get(), range(4), threads=2) == ["declared"] * 4
    finally:
        SEEN.reset(token)
