"""ground.rowkeys: one int64 per row that orders and equates rows as their columns do (pandas as the reference)."""

import numpy as np
import pandas as pd
import pytest

from ground.rowkeys import repeated, row_keys


def drawn(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.to_datetime(rng.choice(["2024-01-01", "2023-12-31", None], n))
    if seed % 2:  # a moment that is not a midnight: dates coded by sorting, not as day numbers
        days = days.where(rng.random(n) > 0.1, pd.Timestamp("2024-01-01 10:00"))
    return pd.DataFrame(
        {
            "id": pd.array(rng.choice(["a", "b", "c", None], n), dtype="string"),
            "day": days,
            "code": rng.integers(-3, 4, n),
            "big": rng.choice([0, 2**40, -(2**50)], n),
            "score": rng.choice([1.5, np.nan, 2.0], n),
            "kind": pd.Categorical(rng.choice(["x", "y"], n)),
        }
    )


@pytest.mark.parametrize("seed", range(20))
def test_repeated_rows_are_pandas_duplicated(seed):
    frame = drawn(seed, int(np.random.default_rng(seed).integers(1, 300)))
    found = repeated(row_keys([frame[c] for c in frame.columns]))
    np.testing.assert_array_equal(found, frame.duplicated(keep=False).to_numpy())


@pytest.mark.parametrize("seed", range(20))
def test_ordered_keys_sort_as_the_columns_do(seed):
    frame = drawn(seed, 200)[["day", "code", "big", "score"]]
    order = np.argsort(row_keys([frame[c].to_numpy() for c in frame.columns], ordered=True), kind="stable")
    expected = frame.sort_values(list(frame.columns), kind="stable", na_position="first").index.to_numpy()
    np.testing.assert_array_equal(order, expected)


def test_keys_past_int64_are_recoded_not_wrapped():
    # 3 ** 45 orderings of 45 columns of three values pass 2 ** 63: the key must be recoded, not wrap.
    columns = list(np.random.default_rng(45).integers(0, 3, (45, 300)))
    order = np.argsort(row_keys(columns, ordered=True), kind="stable")
    np.testing.assert_array_equal(order, np.lexsort(columns[::-1]))


@pytest.mark.parametrize("seed", range(5))
def test_rows_none_repeated_are_none_marked_and_one_repeat_marks_both(seed):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "id": pd.array([f"p{i}" for i in rng.permutation(500)], dtype="string"),
            "kind": pd.Categorical(rng.choice(["x", "y", None], 500)),
            "day": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 900, 500), unit="D"),
        }
    )
    assert not repeated(row_keys([frame[c] for c in frame.columns])).any()
    twice = pd.concat([frame, frame.iloc[[7]]], ignore_index=True)
    assert np.flatnonzero(repeated(row_keys([twice[c] for c in twice.columns]))).tolist() == [7, 500]


def test_rising_keys_are_found_free_of_repeats_and_others_are_sorted():
    assert not repeated(np.array([1, 4, 9])).any()
    assert repeated(np.array([1, 4, 4, 9])).tolist() == [False, True, True, False]
    assert repeated(np.array([9, 1, 9])).tolist() == [True, False, True]
