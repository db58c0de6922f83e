"""Numbers for people: every figure written one way, never in scientific notation, noise written as 0."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from desist.format import COLUMNS, SUPPRESSED, Column, Table, exact_zeros, humanise, interval, label, value
from ground.errors import ParameterError
from ground.words import count, number, p_value, percent, points, pounds, ratio

SCIENTIFIC = re.compile(r"\d[eE][+-]?\d")
finite = st.floats(min_value=-1e15, max_value=1e15, allow_nan=False, allow_infinity=False)


@given(finite)
def test_no_writer_ever_uses_scientific_notation(v):
    for text in (number(v), pounds(v), pounds(v, pence=True), percent(v / 1e6), points(v / 1e6), ratio(v), count(v)):
        assert not SCIENTIFIC.search(text), text


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False))
def test_pounds_are_the_number_rounded_to_the_pound(v):
    text = pounds(v)
    back = float(text.replace("£", "").replace(",", ""))
    assert back == pytest.approx(round(v), abs=1.0)
    assert text.startswith("-£") == (back < 0)


@pytest.mark.parametrize(
    ("got", "want"),
    [
        (percent(0.4172), "41.7%"),
        (percent(0.0004), "< 0.1%"),
        (percent(-0.0004), "> -0.1%"),
        (percent(-0.00001, 0), "> -1%"),
        (percent(-0.0), "0.0%"),
        (percent(np.float32(0.5)), "50.0%"),
        (pounds(260_000.0), "£260,000"),
        (pounds(-2.8e-12), "£0"),
        (pounds(-0.004), "£0"),
        (pounds(-2_220_026.105), "-£2,220,026"),
        (pounds(3.456, pence=True), "£3.46"),
        (number(-2.8e-12), "0"),
        (number(0.012345), "0.0123"),
        (number(1234567.8), "1,234,568"),
        (number(float("inf")), "infinite"),
        (count(np.int64(1234)), "1,234"),
        (count(4.666), "4.67"),
        (ratio(0.85764), "0.858"),
        (ratio(1.0183), "1.02"),
        (p_value(0.0361), "0.036"),
        (p_value(0.11), "0.11"),
        (p_value(1e-9), "< 0.001"),
        (points(-0.0386), "-3.9 points"),
        (points(0.0004), "0.0 points"),
        (points(0.05, signed=True), "+5.0 points"),
        (value(True, "yes_no"), "yes"),
        (value("2025-09-30", "date"), "30 September 2025"),
        (value(None, "percent"), "–"),
        (value(pd.NA, "count"), "–"),
        (value(float("nan"), "pounds"), "–"),
        (value(SUPPRESSED, "percent"), SUPPRESSED),
    ],
)
def test_each_kind_is_written_for_people(got, want):
    assert got == want


def test_intervals_read_as_estimate_then_range():
    assert interval(0.417, 0.398, 0.436, "percent") == "41.7% (39.8% to 43.6%)"
    assert interval(-0.039, -0.086, 0.008, "points") == "-3.9 points (-8.6 to 0.8 points)"
    assert interval(0.858, 0.743, 0.99, "ratio") == "0.858 (0.743 to 0.990)"
    assert interval(0.5, float("nan"), 0.6, "percent") == "50.0%"
    assert interval(SUPPRESSED, SUPPRESSED, SUPPRESSED, "percent") == SUPPRESSED


def test_an_unknown_kind_is_a_parameter_error():
    with pytest.raises(ParameterError, match=r"The 'kind' parameter of value must be one of percent.*Got 'money'"):
        value(1.0, "money")
    with pytest.raises(ParameterError, match="'kind' parameter of Column"):
        Column("Money", "money")


def test_column_names_read_as_words():
    assert label("n_treated") == "Programme group"
    assert label("p_loss_se") == "P loss SE"
    assert humanise("net_q05") == "Net 5th percentile"
    assert humanise("complex_needs") == "Complex needs"
    for name, column in COLUMNS.items():
        assert "_" not in column.label, name


def test_float_noise_of_a_zero_becomes_an_exact_zero_and_nothing_else_moves():
    frame = pd.DataFrame(
        {"mean": [-2.8e-12, 1_087_040.0, 3.5, float("nan")], "month": ["0", "1", "2", "later"], "n": [0, 1, 2, 3]}
    )
    clean = exact_zeros(frame)
    assert clean["mean"].iloc[0] == 0.0 and np.signbit(clean["mean"].iloc[0]) is np.False_
    assert clean["mean"].iloc[1:3].tolist() == [1_087_040.0, 3.5] and np.isnan(clean["mean"].iloc[3])
    assert clean["month"].tolist() == frame["month"].tolist() and clean["n"].tolist() == [0, 1, 2, 3]
    assert exact_zeros(pd.DataFrame({"z": [0.0, 0.0]}))["z"].tolist() == [0.0, 0.0]


def test_a_table_is_read_one_way_and_written_to_a_workbook_another():
    frame = pd.DataFrame(
        {
            "segment": ["women", "men", "none"],
            "n": [7, 300, 0],
            "rate": [0.43, 0.51, np.nan],
            "ci_low": [0.2, 0.45, np.nan],
            "ci_high": [0.7, 0.57, np.nan],
            "cost": [650.0, 450.4, 0.0],
        }
    )
    columns = {
        "segment": COLUMNS["segment"],
        "n": COLUMNS["n"],
        "rate": COLUMNS["rate"],
        "cost": Column("Cost per person", "pounds"),
    }
    table = Table(frame, columns, "By segment", n_columns=("n",))
    shown = table.readable()
    assert list(shown.columns) == ["Segment", "People", "Rate", "Cost per person"]
    assert shown.iloc[0].tolist() == ["women", SUPPRESSED, SUPPRESSED, SUPPRESSED]
    assert shown.iloc[1].tolist() == ["men", "300", "51.0% (45.0% to 57.0%)", "£450"]
    assert shown.iloc[2].tolist() == ["none", "0", "–", "£0"]
    assert table.suppressed_rows == 1
    numbers, kinds = table.numbers()
    assert list(numbers.columns) == [
        "Segment",
        "People",
        "Rate",
        "Rate: 95% CI from",
        "Rate: 95% CI to",
        "Cost per person",
    ]
    assert kinds == ["text", "count", "percent", "percent", "percent", "pounds"]
    assert numbers.iloc[1, 2:5].tolist() == [0.51, 0.45, 0.57] and numbers.iloc[0, 2] == SUPPRESSED


def test_a_table_names_a_column_it_does_not_have():
    with pytest.raises(ParameterError, match=r"'columns' parameter of Table must be columns of the frame"):
        Table(pd.DataFrame({"a": [1]}), {"b": Column("B")}).readable()


def test_without_columns_every_column_is_shown_with_a_guessed_kind():
    frame = pd.DataFrame({"p_loss_se": [0.01], "flagged": [True], "people": [12]})
    assert Table(frame).readable().iloc[0].tolist() == ["0.0100", "yes", "12"]
    assert list(Table(frame).readable().columns) == ["P loss SE", "Flagged", "People"]
