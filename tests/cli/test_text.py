"""Every command's text output reads for people (issue 18).

One test over the commands, run in-process on small data: no table heading in
snake_case, no number in scientific notation, no "nan", no finding shown as a
code, no line wider than the fixed width off a terminal, and every file the
command wrote (manifest.json included) listed under "Files written:".
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cohorts.synthetic import make_world
from desist import terminal
from ground.reading import write_table
from tests.running import ROOT, desist

EXAMPLES = ROOT / "examples"
DATA = EXAMPLES / "data"
SPECS = EXAMPLES / "specs"
AS_OF = "2025-09-30"
COSTS = ["--cost", "none=450", "--cost", "women=650", "--cost", "young_adults=550", "--cost", "complex_needs=850"]

SNAKE = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")
SCIENTIFIC = re.compile(r"\b\d+(?:\.\d+)?e[-+]?\d+\b", re.IGNORECASE)
NAN = re.compile(r"\b(?:nan|nat|inf)\b", re.IGNORECASE)
# "[warning] margin_gap: ..." or "margin_gap (warning)": a finding shown by its code.
CODE = re.compile(r"\[(?:error|warning|info)\]|\((?:error|warning|info)\)")


@pytest.fixture(scope="module")
def world_files(tmp_path_factory):
    world = make_world(seed=12, n_eligible=300, n_pool=3_000)
    path = tmp_path_factory.mktemp("world")
    for table in ("people", "offences", "pool"):
        write_table(getattr(world, table), path / f"{table}.csv")
    return path


def _commands(world: Path, out: Path) -> dict[str, list[object]]:
    """Each command with small inputs; ``out`` is a fresh folder for those that write files."""
    settled = out.parent / "settled"
    return {
        "demo": ["demo", "--seed", "2", "--n-eligible", "400", "--n-pool", "3000", "--draws", "100", "--out", out],
        "report": [
            "report",
            *[x for t in ("people", "offences", "pool") for x in (f"--{t}", world / f"{t}.csv")],
            "--as-of",
            AS_OF,
            "--draws",
            "100",
            "--out",
            out,
        ],
        "measure": [
            "measure",
            "--people",
            DATA / "people.csv",
            "--offences",
            DATA / "offences.csv",
            "--as-of",
            AS_OF,
            "--out",
            out,
        ],  # fmt: skip
        "evaluate": [
            "evaluate",
            "--data",
            ROOT / "tests/data/lalonde.csv",
            "--treatment",
            "treat",
            "--covariates",
            "age,educ,race,married,nodegree,re74,re75",
            "--outcome",
            "re78",
            "--out",
            out,
        ],  # fmt: skip
        "power": ["power", "--measure", "binary", "--base-rate", "0.45", "--n", "500", "--effect", "-0.05"],
        "power-frequency": [
            "power",
            "--measure",
            "frequency",
            "--base-rate",
            "1.2",
            "--effect",
            "0.9",
            "--n",
            "800",
            "--dispersion",
            "2",
        ],  # fmt: skip
        "weight": [
            "weight",
            "--data",
            DATA / "people.csv",
            "--margins",
            EXAMPLES / "margins.toml",
            "--id",
            "person_id",
            "--out",
            out,
        ],  # fmt: skip
        "price": ["price", "--spec", SPECS / "intermediate.toml", "--history", DATA / "history.csv", "--out", out],
        "simulate": [
            "simulate",
            "--spec",
            SPECS / "intermediate.toml",
            "--cohort",
            DATA / "people.csv",
            "--history",
            DATA / "history.csv",
            "--draws",
            "200",
            *COSTS,
            "--out",
            out,
        ],  # fmt: skip
        "simulate-rules": [
            "simulate",
            "--spec",
            SPECS / "peterborough.toml",
            "--cohort",
            DATA / "people.csv",
            "--history",
            DATA / "history.csv",
            "--draws",
            "200",
        ],  # fmt: skip
        "check": ["check", SPECS / "doncaster.toml", "--contract-days", "1095"],
        "settle": [
            "settle",
            SPECS / "peterborough.toml",
            "--data",
            f"people={DATA / 'people.csv'}",
            "--data",
            f"offences={DATA / 'offences.csv'}",
            "--data",
            f"pool={DATA / 'pool.csv'}",
            "--as-of",
            AS_OF,
            "--out",
            out,
        ],  # fmt: skip
        "verify": ["verify", settled / "audit.json"],
        "screen": ["screen", "--eligible", DATA / "eligible.csv", "--services", DATA / "services.csv", "--out", out],
        "gaming": [
            "gaming",
            SPECS / "intermediate.toml",
            "--history",
            DATA / "history.csv",
            "--draws",
            "100",
            "--out",
            out,
        ],  # fmt: skip
    }


NAMES = list(_commands(Path("w"), Path("o")))

#: What a command's text must say (words joined across line ends), and what it must no longer say.
SAYS = {
    "demo": ["Difference in the proven reoffending", "Rate ratio of proven reoffences",
             "pays when the estimate shows at least a 10% reduction", "against a budget of"],
    "simulate": ["What the commissioner would spend", "against a budget of", "out of pocket"],
    "settle": ["Pays when the reduction", "Observed reduction"],
    "check": ["Worth fixing: "],
}  # fmt: skip
NEVER = ["P(loss)", "p_loss", "net_mean", "Payment rules on the same comparison", "(decides on", "[true effect"]


@pytest.mark.parametrize("name", NAMES)
def test_text_output_is_for_people(name, world_files, tmp_path, monkeypatch):
    out = tmp_path / "out"
    if name == "verify":
        settle = _commands(world_files, tmp_path / "settled")["settle"]
        assert desist(*settle).returncode == 0
    headings: list[str] = []
    shown = terminal.table

    def spy(table, *, columns=None, caption=True):
        every = table.shown_columns()
        headings.extend(every[c].label for c in (columns or every))
        shown(table, columns=columns, caption=caption)

    monkeypatch.setattr(terminal, "table", spy)
    run = desist(*_commands(world_files, out)[name])
    assert run.returncode == 0, run.stderr
    text = run.stdout
    assert [h for h in headings if SNAKE.search(h)] == []

    assert SCIENTIFIC.findall(text) == []
    assert NAN.findall(text) == []
    assert CODE.findall(text) == []
    words = " ".join(text.split())
    assert [phrase for phrase in SAYS.get(name, []) if phrase not in words] == []
    assert [phrase for phrase in NEVER if phrase in words] == []
    if name in ("demo", "report"):
        assert words.count("Payment rules") == 1
    listed = text.split("Files written:")[-1].split() if "Files written:" in text else []
    body = text.split("Files written:")[0]
    assert [line for line in body.splitlines() if len(line) > terminal.WIDTH] == []
    if out.exists():
        assert sorted(listed) == sorted(str(p) for p in out.iterdir())
    else:
        assert listed == []


def test_a_table_too_wide_is_turned_on_its_side_and_never_cuts_a_number(capsys):
    import pandas as pd

    from desist.format import Column, Table

    wide = {f"c{i}": Column(f"Pounds {i}", "pounds") for i in range(12)}
    frame = pd.DataFrame({"name": ["Prime", "Investor"], **{f"c{i}": [1234567.0 * i, -9876543.0] for i in range(12)}})
    terminal.table(Table(frame, {"name": Column("Party", "text"), **wide}))
    text = capsys.readouterr().out
    assert all(len(line) <= terminal.WIDTH for line in text.splitlines())
    for i in range(12):
        assert f"£{1234567 * i:,}" in text and "-£9,876,543" in text
