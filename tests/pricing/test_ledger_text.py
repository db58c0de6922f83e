"""The ledger as CSV (pricing.ledger_text.csv_text) is byte for byte what pandas writes, for any text."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing.ledger_text import csv_text

#: Characters pandas and the csv module treat specially, the two that mark rows here, and ordinary ones.
TEXT = st.one_of(
    st.none(), st.text(alphabet=[",", '"', "\n", "\r", " ", "a", "1", ".", "é", "\x1e", "\x1f", "-"], max_size=6)
)


def written(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


@settings(max_examples=300)
@given(
    cells=st.lists(st.tuples(TEXT, TEXT, TEXT), min_size=0, max_size=12),
    kinds=st.tuples(*[st.sampled_from(["object", "str", "category"])] * 3),
)
def test_any_text_is_written_as_pandas_writes_it(cells, kinds):
    frame = pd.DataFrame(cells, columns=["a", "b,c", 'd"'], dtype=object)
    for column, kind in zip(frame.columns, kinds):
        frame[column] = frame[column].astype(kind)
    assert csv_text(frame) == written(frame)


def test_a_ledger_of_categories_and_numbers_is_written_as_pandas_writes_it():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "kind": pd.Categorical(rng.choice(["claim", "recurring"], 500)),
            "evidence": rng.choice(["letter", "letter, 3 May", 'the "big" one', "a\nb", ""], 500),
            "amount": rng.integers(-1000, 1000, 500),  # not text: pandas writes the whole frame
            "note": pd.Series(rng.choice(["", None, "cut"], 500), dtype="str"),
        }
    )
    assert csv_text(frame) == written(frame)
    text = frame.drop(columns="amount")
    assert csv_text(text) == written(text)
    assert csv_text(text.iloc[:0]) == written(text.iloc[:0])
