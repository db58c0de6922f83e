"""``desist report`` and ``desist demo`` end to end: files in a temporary folder,
the JSON checked against the appraisal run through the Python API."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from appraisal import DEFAULT_SPEC, AppraisalInputs, appraise
from cohorts.synthetic import make_world
from desist.cli import app
from ground.reading import read_table, write_table
from pricing import Contract
from tests.running import desist

AS_OF = "2025-09-30"
COSTS = {"none": 450.0, "women": 650.0, "young_adults": 550.0, "complex_needs": 850.0, "unknown": 450.0}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    world = make_world(seed=12, n_eligible=300, n_pool=3_000)
    path = tmp_path_factory.mktemp("report")
    for table in ("people", "offences", "pool", "eligible", "services", "assessments"):
        write_table(getattr(world, table), path / f"{table}.csv")
    return path


def test_report_json_matches_the_story_on_the_same_files(folder):
    args = [
        "report",
        *[
            x
            for t in ("people", "offences", "pool", "eligible", "services", "assessments")
            for x in (f"--{t}", str(folder / f"{t}.csv"))
        ],
        "--as-of",
        AS_OF,
        *[x for s, c in COSTS.items() for x in ("--cost", f"{s}={c:g}")],
        "--draws",
        "300",
        "--seed",
        "3",
        "--out",
        str(folder / "out"),
        "--json",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert got["command"] == "report" and (folder / "out" / "report.html").exists()

    as_of = AS_OF
    people = read_table(folder / "people.csv", "people", as_of=as_of)
    eligible = read_table(folder / "eligible.csv", "eligible", as_of=as_of)
    contract = Contract.from_toml(DEFAULT_SPEC)
    inputs = AppraisalInputs(
        spec=contract.spec,
        contract=contract,
        people=people,
        offences=read_table(folder / "offences.csv", "offences", as_of=as_of, people=eligible),
        pool=read_table(folder / "pool.csv", "pool", as_of=as_of),
        eligible=eligible,
        services=read_table(folder / "services.csv", "services", as_of=as_of),
        assessments=read_table(folder / "assessments.csv", "assessments", as_of=as_of),
        as_of=as_of,
        costs=COSTS,
    )
    story = appraise(inputs, seed=3, draws=300)
    for kind, effect in story.effects.items():
        assert got["results"]["effects"][kind]["estimate"] == pytest.approx(effect.estimate, rel=1e-9)
        assert got["results"]["effects"][kind]["ci_low"] == pytest.approx(effect.ci_low, rel=1e-9)
    assert got["results"]["simulation"]["total_paid"]["mean"] == pytest.approx(
        story.simulation.to_dict()["total_paid"]["mean"], rel=1e-9
    )
    assert [f["code"] for f in got["results"]["findings"]] == [f.code for f in story.findings]
    # The built-in spec is a contract with tranches: with every table and an as-of date everything runs, the
    # settlement and the contract's life included, and they give what the library gives.
    assert got["results"]["skipped"] == {}
    assert got["results"]["settlement"]["total"] == story.settlement.to_dict()["total"]


def test_report_without_optional_files_says_what_it_did_not_run(folder):
    result = CliRunner().invoke(
        app,
        [
            "report",
            "--people",
            str(folder / "people.csv"),
            "--offences",
            str(folder / "offences.csv"),
            "--pool",
            str(folder / "pool.csv"),
            "--as-of",
            AS_OF,
            "--out",
            str(folder / "bare"),
            "--for",
            "provider",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Not run: creaming screen" in result.stdout and "Not run: intermediate outcomes" in result.stdout
    # The built-in contract prices outcomes: without assessments it is not settled, and the report says why.
    assert "Not run: settlement: the contract settles on tables not given: assessments." in result.stdout
    # --for puts the provider's answer first, on the terminal and in the report.
    headings = [line for line in result.stdout.splitlines() if line.startswith("For the ")]
    assert [h.split(":")[0] for h in headings] == ["For the provider", "For the commissioner", "For the evaluator"]
    page = (folder / "bare" / "report.html").read_text()
    assert (
        page.index('data-panel="provider"')
        < page.index('data-panel="commissioner"')
        < page.index('data-panel="evaluator"')
    )


def test_for_a_reader_who_does_not_exist_is_a_usage_error(folder):
    run = CliRunner().invoke(app, ["demo", "--for", "auditor", "--out", str(folder / "nobody")])
    assert run.exit_code == 2 and "must be one of commissioner, provider, evaluator" in run.output
    assert not (folder / "nobody").exists()


def test_report_on_a_bad_file_is_one_readable_error(folder):
    bad = folder / "people_bad.csv"
    bad.write_text((folder / "people.csv").read_text().replace(",male,", ",M,", 1))
    run = desist(
        "report",
        "--people",
        bad,
        "--offences",
        folder / "offences.csv",
        "--pool",
        folder / "pool.csv",
        "--out",
        folder / "never",
    )
    assert run.returncode == 1
    assert "people_bad.csv" in run.stderr and "sex" in run.stderr and "unknown category" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (folder / "never").exists() and not list(folder.glob(".never*"))


def test_pool_measure_options(folder):
    base = [
        "report",
        "--people",
        str(folder / "people.csv"),
        "--offences",
        str(folder / "offences.csv"),
        "--pool",
        str(folder / "pool.csv"),
        "--as-of",
        AS_OF,
        "--out",
        str(folder / "pm"),
    ]
    wrong = CliRunner().invoke(app, [*base, "--pool-counting", "arrests"])
    assert (
        wrong.exit_code == 1
        and "The '--pool-counting' option must be one of offences, court_appearances" in wrong.stderr
    )
    default = json.loads(CliRunner().invoke(app, [*base, "--json"]).stdout)["results"]
    convictions = json.loads(CliRunner().invoke(app, [*base, "--pool-disposals", "conviction", "--json"]).stdout)
    got = convictions["results"]
    # The cohort is now measured as the pool was: convictions only, so fewer proven reoffences.
    assert got["reoffending"]["rate"]["estimate"] < default["reoffending"]["rate"]["estimate"]
    # The default spec pays on convictions and cautions: the difference is stated.
    assert default["notes"] == [] and "conviction or caution" in got["notes"][0]
