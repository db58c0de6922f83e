"""The ledger as CSV (pricing.ledger_text.csv_text) is byte for byte what pandas writes, for any text."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing import ledger_text
from pricing.ledger_text import csv_pieces, csv_text

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


def test_adjacent_categories_and_empty_text_are_written_as_pandas_writes_them():
    # Adjacent categories are written once per combination found; a column of empty text joins them.
    rng = np.random.default_rng(28)
    n = 400
    frame = pd.DataFrame(
        {
            "tranche": pd.Categorical(rng.choice(["year_1", "year 2, late", None], n)),
            "item": pd.Categorical(rng.choice(["job", 'the "big" one', ""], n)),
            "person_id": rng.choice(["P1", "P2", "P,3"], n),
            "day": pd.Categorical(rng.choice(["2024-01-01", "2024-02-01"], n)),
            "uplift": pd.Series([""] * n, dtype="str"),
            "note": pd.Categorical(
                rng.choice(["", "cut from 5.00\nto 4.00", None], n), categories=["", "cut from 5.00\nto 4.00", "unused"]
            ),
            "missing": pd.Series([None] * n, dtype=object),
            "amount": pd.Categorical(rng.choice(["0.00", "250.00"], n)),
        }
    )
    assert csv_text(frame) == written(frame)
    assert csv_text(frame[["uplift", "missing"]]) == written(frame[["uplift", "missing"]])


def test_categories_with_more_combinations_than_one_integer_codes_are_written_as_pandas_writes_them():
    rng = np.random.default_rng(62)
    names = [f"v{i}" for i in range(700)]  # 701 ** 7 combinations (a missing value is one) are more than 2 ** 62
    frame = pd.DataFrame({f"c{k}": pd.Categorical(rng.choice(names, 50), categories=names) for k in range(7)})
    assert csv_text(frame) == written(frame)


def test_a_ledger_joined_a_few_rows_at_a_time_is_written_as_pandas_writes_it(monkeypatch):
    # Rows pandas quotes fall in several slices, some slices hold none, and the last slice is short.
    monkeypatch.setattr(ledger_text, "ROWS_AT_A_TIME", 4)
    rng = np.random.default_rng(4)
    n = 50
    frame = pd.DataFrame(
        {
            "item": pd.Categorical(rng.choice(["job", "job, 26 weeks"], n, p=[0.9, 0.1])),
            "evidence": rng.choice(["letter", 'the "big" one', "x"], n, p=[0.45, 0.1, 0.45]),
            "status": pd.Categorical(rng.choice(["accepted", "rejected"], n)),
        }
    )
    pieces = csv_pieces(frame)
    assert len(pieces) == 1 + 13  # the header and 13 slices of at most 4 rows
    assert b"".join(pieces).decode() == written(frame)
