"""ground.memo: an answer is given again only for the same key, and by identity only for the tables held."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ground.memo import Memo, digest, remembered


def _counting():
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    return calls, compute


def test_an_answer_is_given_again_only_inside_the_active_memo_and_for_the_same_key():
    calls, compute = _counting()
    memo = Memo()
    assert remembered(("q", 1), compute) == 1
    with memo.active():
        assert remembered(("q", 1), compute) == 2
        assert remembered(("q", 1), compute) == 2
        assert remembered(("q", 2), compute) == 3
    assert remembered(("q", 1), compute) == 4  # no memo active: worked out again
    assert len(calls) == 4


def test_a_table_the_memo_does_not_hold_is_never_remembered_by_identity():
    held, other = pd.DataFrame({"x": [1]}), pd.DataFrame({"x": [1]})
    calls, compute = _counting()
    with Memo(held).active():
        remembered(("t", id(held)), compute, held=held)
        remembered(("t", id(held)), compute, held=held)
        remembered(("t", id(other)), compute, held=other)
        remembered(("t", id(other)), compute, held=other)
        remembered(("both", id(held), id(other)), compute, held=(held, other))
        remembered(("both", id(held), id(other)), compute, held=(held, other))
    assert len(calls) == 1 + 2 + 2


def test_the_memo_keeps_only_the_most_recent_answers():
    memo = Memo(keep=2)
    with memo.active():
        for n in range(5):
            remembered(("n", n), lambda n=n: n)
    assert len(memo) == 2 and set(memo._answers) == {("n", 3), ("n", 4)}


def test_a_digest_names_values_dtype_and_shape():
    a = np.arange(6, dtype=float)
    assert digest(a) == digest(a.copy())
    assert digest(a) != digest(a.reshape(2, 3))
    assert digest(a) != digest(a.astype(np.float32))
    b = a.copy()
    b[5] += 1e-12
    assert digest(a) != digest(b)
    assert digest(None) is None
