"""ground.factorise: Arrow text coded chunk by chunk, or ranked by Arrow's sort, gives pandas.factorize's codes and
distinct values."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from ground.factorise import factorise, ranked


def chunked(values: list, sizes: list[int], dtype: str = "str") -> pd.Series:
    """A text column held by Arrow in chunks of the given sizes."""
    cut = np.cumsum([0, *sizes])
    chunks = [pa.array(values[a:b], pa.large_string()) for a, b in zip(cut[:-1], cut[1:])]
    return pd.Series(pa.chunked_array(chunks, pa.large_string()), dtype=dtype)


@pytest.mark.parametrize("sort", [False, True])
@pytest.mark.parametrize("dtype", ["str", "string"])
def test_chunks_give_what_pandas_gives(sort, dtype):
    rng = np.random.default_rng(3)
    values = list(rng.choice(["b", "a", None, "c", "é"], 60))
    column = chunked(values, [0, 25, 1, 34], dtype)
    assert column.array._pa_array.num_chunks == 4
    codes, distinct = factorise(column, sort=sort)
    expected_codes, expected = pd.factorize(column, sort=sort)
    np.testing.assert_array_equal(codes, expected_codes)
    pd.testing.assert_index_equal(distinct, pd.Index(expected))
    assert codes.dtype == np.int8  # the least type holding the distinct values and -1


def test_anything_else_is_factorised_by_pandas():
    codes, distinct = factorise(pd.Series([3, 1, 3, None], dtype=object), sort=True)
    assert codes.tolist() == [1, 0, 1, -1] and distinct.tolist() == [1, 3]
    codes, distinct = factorise(pd.Series([], dtype="str"))
    assert codes.size == 0 and distinct.size == 0


@pytest.mark.parametrize("dtype", ["str", "string"])
def test_ranks_are_pandas_sorted_codes(dtype):
    rng = np.random.default_rng(28)
    values = list(rng.choice(["b", "a", None, "", "c", "é", "z", "Z", "a b"], 80))
    for column in (chunked(values, [0, 30, 50], dtype), pd.Series(values, dtype=dtype)):
        expected = pd.factorize(column, sort=True)[0]
        np.testing.assert_array_equal(ranked(column), expected)
        np.testing.assert_array_equal(ranked(pd.Index(column)), expected)
        assert ranked(column).dtype == np.int64


def test_ranks_of_anything_else_are_by_pandas():
    assert ranked(pd.Series([3, 1, 3, None], dtype=object)).tolist() == [1, 0, 1, -1]
    assert ranked(pd.Series([], dtype="str")).size == 0
