"""The documentation says what the code does: contract keys, commands, examples, sources, packages.

docs/ is built by mkdocs (``pip install -e '.[docs]' && mkdocs build --strict``, a step of .ci/run); these tests
need only the test extras. They check what a build cannot: that docs/contracts.md documents exactly the keys a
contract file accepts (read from the loader's own refusal of an unknown key), that every ``desist`` command line in
the pages names a real command and real options, that the Python examples run, that no page cites notes users do
not have, and that every library package, reference fixture, benchmark and scheme has its place in the docs.
"""

from __future__ import annotations

import copy
import re
from datetime import date
from pathlib import Path

import pytest
import typer

from desist.cli import COMMANDS, app
from ground.errors import SpecError
from outcomes.achievement import RULES
from outcomes.instruments import instrument_from_dict
from pricing import Contract, schemes
from tests.test_architecture import FLOORS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
#: A Python block whose first line starts so shows a call on the reader's own files: it is not run.
NOT_RUN = "# Illustration"

# ----------------------------------------------------------------- contract keys

#: A contract with every section, valid as it stands: each probe adds one unknown key to one table of it.
CONTRACT = {
    "metric": {"name": "probe"},
    "outcomes": {
        "o": {
            "instrument": "rosenberg",
            "window": [91, 273],
            "price_key": "o",
            "rule": {"type": "threshold", "at_least": 20},
        }
    },
    "reoffending": {"measure": "binary"},
    "segments": {"women": {"where": "sex == 'female'"}},
    "payment": {"service_fee": 1000, "prices": {"o": 100}},
    "cohort": {},
    "tranches": {
        "t1": {"start": date(2024, 1, 1), "end": date(2024, 6, 30), "final": date(2025, 12, 31)},
        "t2": {"start": date(2024, 7, 1), "end": date(2024, 12, 31), "final": date(2026, 6, 30)},
    },
    "counterfactual": {
        "matched": {},
        "baseline": {"rate": 0.4, "period": "2020", "measure": "binary", "version": "v1", "frequency": {"rate": 1.2}},
    },
    "custody": {},
    "rules": {
        "r": {
            "type": "tranche",
            "measure": "binary",
            "against": "baseline",
            "at_least": 0.05,
            "hurdle": {"measure": "binary", "at_least": 0.0},
        }
    },
    "claims": {
        "outcomes": {"c1": {"price": 100}, "c2": {"price": 200}},
        "ladders": {"q": {"rungs": ["c1", "c2"]}},
    },
}
#: Where in the contract each documented table is, by its heading in docs/contracts.md.
TABLES = {
    "[metric]": ("metric",),
    "[outcomes.NAME]": ("outcomes", "o"),
    "[reoffending]": ("reoffending",),
    "[segments.NAME]": ("segments", "women"),
    "[payment]": ("payment",),
    "[cohort]": ("cohort",),
    "[tranches.NAME]": ("tranches", "t1"),
    "[counterfactual]": ("counterfactual",),
    "[counterfactual.matched]": ("counterfactual", "matched"),
    "[counterfactual.baseline]": ("counterfactual", "baseline"),
    "[counterfactual.baseline.MEASURE]": ("counterfactual", "baseline", "frequency"),
    "[custody]": ("custody",),
    "[rules.NAME]": ("rules", "r"),
    "[rules.NAME.hurdle]": ("rules", "r", "hurdle"),
    "[claims]": ("claims",),
    "[claims.outcomes.NAME]": ("claims", "outcomes", "c1"),
    "[claims.ladders.NAME]": ("claims", "ladders", "q"),
}
ALLOWED = re.compile(r"must be among (?P<keys>[a-z_, ]+?)(?: \([^)]*\))?\. Got")
ROW = re.compile(r"^\| `(?P<key>[a-z_]+)` \|(?P<rest>.*)$", re.MULTILINE)


def _allowed(refuse) -> set[str]:
    """The keys a loader accepts, read from its message refusing an unknown one."""
    with pytest.raises(SpecError) as caught:
        refuse()
    found = ALLOWED.search(str(caught.value))
    assert found, f"no list of allowed keys in {caught.value}"
    return set(found["keys"].split(", "))


def _accepted(path: tuple[str, ...], table: dict | None = None) -> set[str]:
    """The keys the contract loader accepts in the table at ``path`` (optionally replaced by ``table``)."""
    raw = copy.deepcopy(CONTRACT)
    here = raw
    for part in path[:-1]:
        here = here[part]
    if table is not None:
        here[path[-1]] = table
    here[path[-1]]["zz_unknown"] = 1
    return _allowed(lambda: Contract.from_mapping(raw))


def _documented(heading: str) -> dict[str, str]:
    """The keys in the table under ``### `HEADING``` of docs/contracts.md, with the rest of each row."""
    text = (DOCS / "contracts.md").read_text(encoding="utf-8")
    start = text.index(f"### `{heading}`")
    end = text.find("\n#", start + 1)
    return {m["key"]: m["rest"] for m in ROW.finditer(text[start : end if end > 0 else None])}


@pytest.mark.parametrize("heading", TABLES)
def test_contracts_page_documents_exactly_the_keys_a_contract_accepts(heading):
    assert set(_documented(heading)) == _accepted(TABLES[heading])


def test_every_section_of_a_contract_has_its_heading():
    raw = {**copy.deepcopy(CONTRACT), "zz_unknown": {}}
    sections = _allowed(lambda: Contract.from_mapping(raw))
    text = (DOCS / "contracts.md").read_text(encoding="utf-8")
    assert {s for s in sections if f"### `[{s}" not in text} == set()


@pytest.mark.parametrize("kind", RULES)
def test_rule_table_documents_each_rule_types_keys(kind):
    rows = _documented("[outcomes.NAME.rule]")
    documented = {key for key, rest in rows.items() if re.search(rf"\b(every|{kind})\b", rest.split("|")[0])}
    accepted = _accepted(("outcomes", "o", "rule"), {"type": kind}) | {"type"}
    assert documented == accepted


def test_instrument_table_documents_every_instrument_key():
    rows = (DOCS / "contracts.md").read_text(encoding="utf-8").split("## Instrument files")[1].split("\n## ")[0]
    documented = {m["key"] for m in ROW.finditer(rows)}
    assert documented == _allowed(lambda: instrument_from_dict({"name": "x", "zz_unknown": 1}))


def test_a_key_missing_from_the_docs_is_found():
    """The probe reads the loader's list, so a table that lost a row does not match it."""
    assert set(_documented("[cohort]")) - {"index"} != _accepted(TABLES["[cohort]"])


# ----------------------------------------------------------------- command lines


def _blocks(language: str, page: Path) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.DOTALL)


def _command_lines() -> list[tuple[str, str]]:
    """(page, command line) for every ``desist ...`` line of a bash block of the docs and the README."""
    found = []
    for page in [*PAGES, ROOT / "README.md"]:
        for block in _blocks("bash", page):
            for line in block.replace("\\\n", " ").splitlines():
                if line.strip().startswith("desist "):
                    found.append((page.relative_to(ROOT).as_posix(), line.strip()))
    return found


def _options(command: str) -> set[str]:
    group = typer.main.get_command(app)
    with typer.Context(group) as ctx:
        params = group.get_command(ctx, command).params
    return {opt for p in params for opt in (*p.opts, *p.secondary_opts)}


@pytest.mark.parametrize(("page", "line"), _command_lines())
def test_command_lines_name_real_commands_and_options(page, line):
    words = line.split()
    command = words[1]
    assert command in COMMANDS, f"{page}: {command!r} is no desist command"
    unknown = {w.split("=")[0] for w in words[2:] if w.startswith("--")} - _options(command)
    assert not unknown, f"{page}: desist {command} has no option {sorted(unknown)}"


def test_the_pages_show_every_command():
    shown = {line.split()[1] for _, line in _command_lines()}
    assert set(COMMANDS) - {"demo"} <= shown


# ----------------------------------------------------------------- Python examples


def _examples() -> list[Path]:
    return [page for page in PAGES if any(not b.startswith(NOT_RUN) for b in _blocks("python", page))]


@pytest.mark.parametrize("page", _examples(), ids=lambda p: p.relative_to(DOCS).as_posix())
def test_python_examples_run(page, monkeypatch, capsys):
    """Each page's Python blocks, in order, from the repository (as a reader runs them), in a namespace of their own."""
    monkeypatch.chdir(ROOT)
    code = "\n".join(b for b in _blocks("python", page) if not b.startswith(NOT_RUN))
    exec(
        compile(code, str(page.relative_to(ROOT)), "exec"), {"__name__": "__docs__"}
    )  # our own pages, not a file from anyone else


# ----------------------------------------------------------------- sources and places


#: Library files that still cite the project's private notes in a docstring or comment (being edited on other
#: branches when this test was written). The list may only shrink.
PRIVATE_CITATIONS: set[str] = set()


def test_no_page_cites_notes_users_do_not_have():
    library = [p for package in FLOORS for p in sorted((ROOT / package).rglob("*")) if p.suffix in (".py", ".toml")]
    texts = [*PAGES, ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md", *library]
    cited = {p.relative_to(ROOT).as_posix() for p in texts if re.search(r"DOMAIN\.md|shared/reference", p.read_text())}
    assert cited == PRIVATE_CITATIONS


def test_every_library_package_is_in_the_api_reference():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\s+- [a-z_]+: reference/([a-z_]+)/index\.md$", nav, flags=re.MULTILINE))
    missing = [p for p in FLOORS if p != "desist" and p not in listed]
    assert not missing, f"add '- {missing[0]}: reference/{missing[0]}/index.md' to mkdocs.yml's API reference"


def test_every_reference_fixture_benchmark_and_scheme_is_documented():
    validation = (DOCS / "validation.md").read_text(encoding="utf-8")
    benchmarks = (DOCS / "benchmarks.md").read_text(encoding="utf-8")
    schemes_page = (DOCS / "schemes.md").read_text(encoding="utf-8")
    fixtures = [p.name for p in (ROOT / "tests" / "results").glob("*.py") if p.name not in validation]
    scripts = [p.name for p in (ROOT / "bench").glob("*.py") if f"bench/{p.name}" not in benchmarks]
    unnamed = [s for s in schemes() if f"`{s}`" not in schemes_page]
    assert (fixtures, scripts, unnamed) == ([], [], [])


def test_the_readme_runs_the_checks_as_ci_does():
    """README's test command is .ci/run's line word for word: a new user runs what CI runs (lint, types, tests)."""
    ci = [line for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines() if "pytest" in line]
    assert len(ci) == 1 and "mypy" in ci[0], ci
    assert ci[0] in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
