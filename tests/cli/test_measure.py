"""``desist measure``: the per-person table and its counts from people and offence files, on each engine."""

import json

import pandas as pd
from typer.testing import CliRunner

from desist.cli import app
from tests.running import desist, one_message

PEOPLE, OFFENCES = "examples/data/people.csv", "examples/data/offences.csv"
runner = CliRunner()


def run(*args):
    return runner.invoke(app, ["measure", "--people", PEOPLE, "--offences", OFFENCES, "--as-of", "2026-06-30", *args])


def test_each_engine_writes_the_same_table_and_counts(tmp_path):
    written = {}
    for engine in ("pandas", "duckdb"):
        result = run("--engine", engine, "--out", str(tmp_path / engine), "--json")
        assert result.exit_code == 0, result.output
        document = json.loads(result.stdout)
        assert document["command"] == "measure" and document["inputs"]["engine"] == engine
        assert sorted(document["files"]) == sorted(
            str(tmp_path / engine / name) for name in ("per_person.parquet", "reoffending.json")
        )
        written[engine] = pd.read_parquet(tmp_path / engine / "per_person.parquet")
        counts = json.loads((tmp_path / engine / "reoffending.json").read_text())
        assert counts["counts"] == document["results"]["counts"]
    pd.testing.assert_frame_equal(written["pandas"], written["duckdb"])
    table = written["pandas"]
    people = pd.read_csv(PEOPLE)
    # the people file's columns first (a cohort for `desist evaluate`), then the outcomes
    assert list(table.columns[: len(people.columns)]) == list(people.columns)
    assert len(table) == len(people) == document["results"]["counts"]["all"]
    links = document["results"]["offence_counts"]
    assert (
        links["all"]
        == len(pd.read_csv(OFFENCES))
        == links["linked"] + links["excluded: person_id matches no one in people"]
    )
    assert document["results"]["rate"]["k"] == int(table["reoffended"].sum())


def test_summary_observable_only_and_court_appearances(tmp_path):
    result = run(
        "--engine",
        "duckdb",
        "--follow-up-days",
        "1000",
        "--counting",
        "court_appearances",
        "--disposals",
        "conviction",
        "--observable-only",
        "--out",
        str(tmp_path),
    )
    assert result.exit_code == 0, result.output
    words = " ".join(result.output.split())
    assert "within 1000 days after the index date, proven by conviction within a further 182 days" in words
    assert "Left out: follow-up and waiting period not elapsed by the data's date" in words
    table = pd.read_parquet(tmp_path / "per_person.parquet")
    assert table["observable"].all() and len(table) < len(pd.read_csv(PEOPLE))


def test_bad_input_is_one_message(tmp_path):
    missing = desist("measure", "--people", tmp_path / "nope.parquet", "--offences", OFFENCES)
    assert missing.returncode == 1
    one_message(missing.stderr, "nope.parquet: no such file (the people table)")
    early = desist("measure", "--people", PEOPLE, "--offences", OFFENCES, "--engine", "duckdb", "--as-of", "2024-06-30")
    assert early.returncode == 1
    one_message(early.stderr, "offences.csv: table 'offences' fails", "disposal_date: after the as-of date 2024-06-30")
    engine = desist("measure", "--people", PEOPLE, "--offences", OFFENCES, "--engine", "polars")
    assert engine.returncode == 1
    one_message(engine.stderr, "'engine' parameter of proven_reoffending")
