"""A settlement's tables in one canonical row order: the same order as comparing every column as text.

The reference is the order the settlement used before (every column factorised as text, keys first, then the
other columns, missing as the empty text), written here; the new sort turns only the rows tied on every key
into text. Frames are drawn with ties, missing values, dates with and without times, categories, numbers whose
text order is not their numeric order (10 before 9) and ids of each type.
"""

import numpy as np
import pandas as pd
import pytest

from pricing.settlement_data import _sorted

KEYS = ("person_id", "tranche", "offence_date", "disposal_date", "instrument", "item", "assessed_on")


def text_sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column compared as text, keys first: the reference order."""
    out = frame.reset_index(drop=True)
    columns = [c for c in KEYS if c in out] + [c for c in out.columns if c not in KEYS]
    order = np.lexsort([pd.factorize(out[c].astype("string").fillna(""), sort=True)[0] for c in reversed(columns)])
    return out.iloc[order].reset_index(drop=True)


def drawn(rng: np.random.Generator, n: int, trial: int) -> pd.DataFrame:
    days = ["2024-01-01", "2023-12-31", None] + (["2024-01-01 10:00"] if trial % 2 else [])
    frame = pd.DataFrame(
        {
            "person_id": pd.array(rng.choice(["a", "b", "B", "", "é", "10", "9"], n), dtype="string"),
            "offence_date": pd.to_datetime(rng.choice(days, n), format="ISO8601"),
            "instrument": pd.Categorical(rng.choice(["z", "a", "", None, "m"], n)),
            "score": rng.choice([1.0, 10.0, 9.0, np.nan, 2.5], n),
            "note": pd.Series(rng.choice(["1", "", None, "b"], n), dtype=object),
            "count": rng.integers(0, 12, n),
        }
    )
    if trial % 3 == 0:
        frame["person_id"] = frame["person_id"].astype(object)
    if trial % 5 == 0:
        frame["person_id"] = rng.integers(0, 20, n)
    return frame


@pytest.mark.parametrize("trial", range(60))
def test_the_order_of_comparing_every_column_as_text(trial):
    rng = np.random.default_rng(trial)
    frame = drawn(rng, int(rng.integers(0, 80)), trial)
    pd.testing.assert_frame_equal(_sorted(frame.copy()), text_sorted(frame))


def test_a_frame_without_keys_is_sorted_by_its_columns():
    frame = pd.DataFrame({"score": [10, 9, 10], "label": ["b", "a", "a"]})
    pd.testing.assert_frame_equal(_sorted(frame.copy()), text_sorted(frame))
