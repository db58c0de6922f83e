"""cohorts.segments: built-in and TOML segments, flags, primary segment, unknowns."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cohorts.segments import (
    Segment,
    assign,
    default_segments,
    segments_from_mapping,
    segments_from_toml,
)
from ground.errors import ParameterError, SchemaError, SpecError


@pytest.fixture
def people() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sex": pd.Categorical(["female", "male", "male", "female", "male", "male"]),
            "ethnicity": pd.Categorical(["white", "black", "unknown", "asian", None, "white"]),
            "age": [19, 24, 25, 40, 18, 60],
            "ogrs_score": [80.0, 74.9, 75.0, 10.0, 50.0, 20.0],
            "prior_offences": [0, 15, 14, 30, 2, 1],
            "need_accommodation": [True, True, False, True, False, False],
            "need_substance": [True, False, True, False, False, False],
            "need_mental_health": [False, True, True, False, True, False],
        },
        index=pd.Index([101, 102, 103, 104, 105, 106], name="row"),
    )


def test_builtin_rules_by_hand(people):
    a = assign(people)
    flags = a.flags
    assert flags["women"].tolist() == [True, False, False, True, False, False]
    assert flags["young_adults"].tolist() == [True, True, False, False, True, False]
    # Cut-off 75 is inclusive: 75.0 is high risk, 74.9 is not.
    assert flags["high_risk"].tolist() == [True, False, True, False, False, False]
    assert flags["complex_needs"].tolist() == [True, True, True, False, False, False]
    assert flags["prolific"].tolist() == [False, True, False, True, False, False]
    # "unknown" and missing ethnicity are unknown, not "white" and not BAME.
    assert flags["bame"].tolist() == [False, True, pd.NA, True, pd.NA, False]
    assert list(flags.index) == list(people.index)


def test_parameters_change_the_builtins(people):
    segs = default_segments(high_risk_cutoff=50, prolific_min_prior=14)
    flags = assign(people, segs).flags
    assert flags["high_risk"].tolist() == [True, True, True, False, True, False]
    assert flags["prolific"].tolist() == [False, True, True, True, False, False]


def test_primary_segment_follows_priority_and_reports_unknown(people):
    a = assign(people)
    # 101 high risk; 102 complex needs; 103 high risk; 104 prolific; 105 young adult;
    # 106 in no segment.
    assert a.primary.tolist() == ["high_risk", "complex_needs", "high_risk", "prolific", "young_adults", "none"]
    reordered = assign(people, priority=["women", "bame"])
    assert reordered.primary.tolist() == ["women", "bame", "unknown", "women", "unknown", "none"]
    assert reordered.counts.loc["unknown", "n"] == 2
    assert list(reordered.flags.columns[:2]) == ["women", "bame"]


def test_counts_reconcile(people):
    a = assign(people)
    counts = a.counts
    assert counts.loc["bame", "n"] == 2 and counts.loc["bame", "n_unknown"] == 2
    assert counts.loc["bame", "share"] == pytest.approx(2 / 4)
    assert counts.loc["women", "share"] == pytest.approx(2 / 6)
    # Every person has exactly one primary segment.
    assert counts["primary"].sum() == len(people)
    assert counts.loc["high_risk", "primary"] == 2
    frame = a.to_frame()
    assert frame["primary_segment"].tolist() == a.primary.tolist()
    json.dumps(a.to_dict(), default=str)


def test_summary_suppresses_small_counts(people):
    text = assign(people).summary()
    assert "<10" in text and "bame: <10 people unknown" in text
    women = next(line for line in text.splitlines() if line.startswith("women"))
    # Label, priority 5, the suppressed count, no unknowns, primary for nobody; the share (2/6) is blanked.
    assert women.split()[-5:] == ["Women", "5", "<10", "0", "0"]
    assert "33.3%" not in text


def test_custom_segments_in_python_and_strings(people):
    a = assign(people, {"older": "age >= 40", "north": Segment("x", "ogrs_score < 30", priority=0)})
    assert a.flags["older"].tolist() == [False, False, False, True, False, True]
    assert a.flags["north"].tolist() == [False, False, False, True, False, True]
    assert a.primary.tolist()[3] == "north"


def test_missing_column_names_segment_and_column(people):
    with pytest.raises(SchemaError, match=r"segment 'housed' reads column 'accommodation_status'"):
        assign(people, {"housed": "accommodation_status == 3"})
    with pytest.raises(SchemaError, match=r"segment 'high_risk' reads column 'ogrs_score'"):
        assign(people.drop(columns="ogrs_score"))


def test_people_columns_are_read_as_the_schema_reads_them(people):
    """The API checks what the CLI checks: "Female" is female, "1" is true, an age of 300 is an error."""
    spelled = people.astype({"sex": object, "need_substance": object})
    spelled["sex"] = spelled["sex"].str.capitalize()
    spelled["need_substance"] = spelled["need_substance"].map({True: "1", False: "0"})
    a, b = assign(spelled), assign(people)
    pd.testing.assert_frame_equal(a.flags, b.flags)
    with pytest.raises(
        SchemaError, match=r"sex: unknown category \(allowed: female, male, other, unknown\).*row 1 \(F\)"
    ):
        assign(people.assign(sex=["F"] + people["sex"].tolist()[1:]))
    old = people.astype({"age": float})
    old.iloc[2, old.columns.get_loc("age")] = 300
    with pytest.raises(SchemaError, match=r"age: outside 10 to 110: 1 row: row 3 \(300.0\)"):
        assign(old)


def test_missing_values_are_unknown_not_false(people):
    gappy = people.astype({"age": "Float64"})
    gappy.loc[102, "age"] = pd.NA
    a = assign(gappy)
    assert a.flags.loc[102, "young_adults"] is pd.NA
    assert a.counts.loc["young_adults", "n_unknown"] == 1


def test_bad_rules(people):
    with pytest.raises(SpecError, match=r"^segments\.bad\.where: the rule 'age >>> 3' is not a valid expression"):
        Segment("bad", "age >>> 3")
    with pytest.raises(SpecError, match=r"must give true or false"):
        assign(people, {"sum": "age + 1"})
    with pytest.raises(SpecError, match=r"must be an identifier"):
        Segment("two words", "age > 1")
    with pytest.raises(ParameterError, match=r"distinct names. Got \"\['a'\] repeated\""):
        assign(people, [Segment("a", "age > 1"), Segment("a", "age > 2")])
    with pytest.raises(
        ParameterError, match=r"'priority' parameter of assign must be names of the segments.*\['nobody'\]"
    ):
        assign(people, priority=["nobody"])
    with pytest.raises(SpecError, match=r"'segments.w.label' must be text"):
        segments_from_mapping({"w": {"where": "age > 1", "label": 3}})


def test_segments_from_toml(tmp_path, people):
    path = tmp_path / "segments.toml"
    path.write_text(
        """
[segments.women]
label = "Women"
priority = 1

[segments.older]
where = "age >= 40"
label = "Aged 40+"
priority = 2

[segments.high_risk]
cutoff = 50
priority = 3

[segments.ethnic_minority]
where = "ethnicity != 'white'"
missing = {ethnicity = ["unknown"]}
""",
        encoding="utf-8",
    )
    segs = segments_from_toml(path)
    assert list(segs) == ["women", "older", "high_risk", "ethnic_minority"]
    assert segs["women"].where == "sex == 'female'"
    assert segs["high_risk"].where == "ogrs_score >= 50" and segs["high_risk"].priority == 3
    a = assign(people, segs)
    assert a.flags["older"].tolist() == [False, False, False, True, False, True]
    assert a.flags["ethnic_minority"].tolist() == [False, True, pd.NA, True, pd.NA, False]
    assert a.primary.tolist()[:3] == ["women", "high_risk", "high_risk"]


def test_segment_spec_errors(tmp_path):
    with pytest.raises(SpecError, match=r"'segments.custom' needs 'where'") as info:
        segments_from_mapping({"custom": {"label": "x"}})
    assert info.value.key == "segments.custom.where"
    with pytest.raises(SpecError, match=r"'segments.women' has unknown key\(s\) \['rule'\]"):
        segments_from_mapping({"women": {"rule": "sex == 'female'"}})
    with pytest.raises(SpecError, match=r"'segments.w.cutoff' only applies to a built-in"):
        segments_from_mapping({"w": {"where": "age > 1", "cutoff": 3}})
    bad = tmp_path / "bad.toml"
    bad.write_text("[other]\nx = 1\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"has no \[segments.<name>\] tables"):
        segments_from_toml(bad)
    with pytest.raises(SpecError, match=r"Segments file not found"):
        segments_from_toml(tmp_path / "absent.toml")


def test_assign_on_the_synthetic_world():
    from cohorts.synthetic import make_world

    w = make_world(seed=3, n_eligible=2_000, n_pool=1_000)
    a = assign(w.eligible)
    e = w.eligible
    needs = e[["need_accommodation", "need_substance", "need_mental_health"]].sum(axis=1)
    np.testing.assert_array_equal(a.flags["complex_needs"].to_numpy(dtype=bool), (needs >= 2).to_numpy())
    np.testing.assert_array_equal(a.flags["women"].to_numpy(dtype=bool), (e["sex"] == "female").to_numpy())
    assert a.counts["n_unknown"].sum() == 0
    assert a.counts["primary"].sum() == len(e)


def test_assign_takes_a_metric_specs_segments(people):
    from outcomes.spec import SegmentSpec

    specs = {
        "women": SegmentSpec("women", "sex == 'female'", "Women", 2),
        "older": SegmentSpec("older", "age >= 40"),
        "young": {"where": "age < 25", "priority": 1},
    }
    a = assign(people, specs)
    assert [s.name for s in a.segments] == ["young", "women", "older"]
    assert a.primary.tolist() == ["young", "young", "none", "women", "young", "older"]
