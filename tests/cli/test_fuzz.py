"""Every command, driven with mutated copies of the example files: never a traceback, never half an output.

For each command, hypothesis draws one of its input files (a slice of
examples/data, the example spec and margins) and one mutation: a column dropped
or given twice, values of another type, extreme or non-finite numbers, bad
dates, another text encoding, an empty or header-only or truncated file, too
few rows, ids written as decimals; for TOML files a line deleted, a value
replaced, a rule that tries to run code, junk, truncation. The command runs
in-process (tests/running.py) with ``--out`` a new folder, and must:

- exit 0, 1 (data or spec) or 2 (usage);
- print no traceback, and on exit 1 one ``error:`` message that names a file
  (an input or the output folder) and is not an internal error;
- leave no partial output: no staging folder beside ``--out``; ``--out``
  absent after a failure, complete with a matching manifest after success.

Issue 23 adds three hunts: dates (``--as-of`` and date cells written in every
form a user might: ``settle`` must settle on ISO dates and refuse the rest with one
message), ``--out`` targets (a file, a link, a dangling link, someone else's folder,
a desist folder with a file added: replaced only when desist's, otherwise left
exactly as it was, never a staging folder left) and audit records (any byte of
audit.json, settlement.json, ledger.csv or the workbook changed, a key deleted or
retyped, the manifest gone: ``verify`` never says "Verified", and a malformed
record is one message).

The number of examples per command is small and fixed (derandomized, see
conftest.py) so the suite stays fast: ``EXAMPLES`` below, 99 runs in all (about 40 s).
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.running import ROOT, desist

DATA = ROOT / "examples" / "data"
SPEC = ROOT / "examples" / "specs" / "intermediate.toml"
MARGINS = ROOT / "examples" / "margins.toml"
LALONDE = ROOT / "tests" / "data" / "lalonde.csv"

#: Examples per command: what the suite can afford (about 30 s in all on a quiet machine). Set
#: DESIST_FUZZ_SCALE=10 to run ten times as many (a longer hunt, outside the suite).
SCALE = int(os.environ.get("DESIST_FUZZ_SCALE", "1"))
# A long hunt reports what it finds without shrinking each case (shrinking reruns commands many times).
PHASES = tuple(Phase) if SCALE == 1 else (Phase.explicit, Phase.reuse, Phase.generate)
EXAMPLES = {
    "power": 12,
    "weight": 10,
    "evaluate": 8,
    "check": 8,
    "simulate": 6,
    "price": 4,
    "screen": 6,
    "report": 4,
    "demo": 8,
    "spec": 5,
    "dates": 8,
    "out": 10,
    "audit": 10,
}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """Slices of the example files, small enough for a command to run in about a second."""
    folder = tmp_path_factory.mktemp("fuzz_base")
    eligible = pd.read_csv(DATA / "eligible.csv", dtype=str).head(400)
    ids = set(eligible["person_id"])
    people = pd.read_csv(DATA / "people.csv", dtype=str)
    people = people[people["person_id"].isin(ids)].head(120)
    enrolled = set(people["person_id"])
    eligible.to_csv(folder / "eligible.csv", index=False)
    people.to_csv(folder / "people.csv", index=False)
    offences = pd.read_csv(DATA / "offences.csv", dtype=str)
    offences[offences["person_id"].isin(enrolled)].to_csv(folder / "offences.csv", index=False)
    services = pd.read_csv(DATA / "services.csv", dtype=str)
    services[services["person_id"].isin(ids)].to_csv(folder / "services.csv", index=False)
    pd.read_csv(DATA / "pool.csv", dtype=str).head(600).to_csv(folder / "pool.csv", index=False)
    pd.read_csv(DATA / "history.csv", dtype=str).head(250).to_csv(folder / "history.csv", index=False)
    shutil.copy(LALONDE, folder / "lalonde.csv")
    shutil.copy(SPEC, folder / "spec.toml")
    shutil.copy(MARGINS, folder / "margins.toml")
    return folder


def arguments(name: str, files: Path, out: Path) -> list[object]:
    """The command line of ``name`` on the files in ``files``, writing to ``out`` where it writes."""
    f = files
    return {
        "weight": ["weight", "--data", f / "people.csv", "--margins", f / "margins.toml", "--id", "person_id"],
        "evaluate": [
            "evaluate",
            "--data",
            f / "lalonde.csv",
            "--treatment",
            "treat",
            "--covariates",
            "age,educ,race,re74",
            "--outcome",
            "re78",
        ],
        "check": [
            "check",
            f / "spec.toml",
            "--data",
            f"people={f / 'people.csv'}",
            "--data",
            f"history={f / 'history.csv'}",
            "--contract-days",
            "1095",
        ],
        "spec": ["check", f / "spec.toml"],
        "price": ["price", "--spec", f / "spec.toml", "--history", f / "history.csv"],
        "simulate": [
            "simulate",
            "--spec",
            f / "spec.toml",
            "--cohort",
            f / "people.csv",
            "--history",
            f / "history.csv",
            "--draws",
            "50",
        ],
        "screen": ["screen", "--eligible", f / "eligible.csv", "--services", f / "services.csv"],
        "report": [
            "report",
            "--people",
            f / "people.csv",
            "--offences",
            f / "offences.csv",
            "--pool",
            f / "pool.csv",
            "--as-of",
            "2025-09-30",
            "--draws",
            "50",
        ],
    }[name] + ([] if name in ("check", "spec") else ["--out", out])


INPUTS = {
    "weight": ["people.csv", "margins.toml"],
    "evaluate": ["lalonde.csv"],
    "check": ["people.csv", "history.csv", "spec.toml"],
    "spec": ["spec.toml"],
    "price": ["history.csv", "spec.toml"],
    "simulate": ["people.csv", "history.csv", "spec.toml"],
    "screen": ["eligible.csv", "services.csv"],
    "report": ["people.csv", "offences.csv", "pool.csv"],
}

# ----------------------------------------------------------------- mutations

ODD_VALUES = ["abc", "", " ", "1", "1.5", "-7", "True", "2024-01-01", "1.0", "NA", "None", "\u00e9", "x" * 300]
EXTREME = ["1e300", "-1e300", "inf", "-inf", "nan", "0", "-1", "99999999999999999999999", "1e-300", "1e9"]
DATES = ["2024-13-45", "yesterday", "31/12/2024", "0001-01-01", "9999-12-31", "2024-01-01T00:00:00+05:00", "2024-02-30"]
TOML_VALUES = ['"abc"', "-1", "nan", "inf", "1e300", "true", "[]", "{}", '"15%"', "0", "\"__import__('os')\""]
RULES = [
    "sex.__class__.__init__.__globals__['sys'] == 0",
    "__import__('os').system('true') == 0",
    "age >",
    "age > 'x'",
    "(((((((((((((((((((((((((age)))))))))))))))))))))))))",
    "sex == 'female' and",
    "count(age) >= 1",
    "lambda: 1",
]


def _write_table(path: Path, frame: pd.DataFrame, header: list[str] | None = None) -> None:
    frame.to_csv(path, index=False, header=header if header is not None else True)


def mutate_csv(path: Path, draw) -> str:
    """Change the CSV file in place in one drawn way; returns a description for the failure message."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    columns = list(frame.columns)
    kind = draw(
        st.sampled_from(
            [
                "drop",
                "duplicate",
                "odd",
                "extreme",
                "date",
                "encoding",
                "empty",
                "header_only",
                "truncate",
                "few_rows",
                "decimal_ids",
                "bom",
            ]
        )
    )
    column = draw(st.sampled_from(columns)) if columns else None
    every_row = draw(st.booleans())
    rows = slice(None) if every_row else slice(0, 1)
    if kind == "drop":
        _write_table(path, frame.drop(columns=column))
    elif kind == "duplicate":
        _write_table(path, pd.concat([frame, frame[[column]]], axis=1), header=[*columns, column])
    elif kind in ("odd", "extreme", "date"):
        value = draw(st.sampled_from({"odd": ODD_VALUES, "extreme": EXTREME, "date": DATES}[kind]))
        frame.loc[frame.index[rows], column] = value
        _write_table(path, frame)
        kind = f"{kind} {value!r} in {column} ({'every row' if every_row else 'row 1'})"
    elif kind == "encoding":
        encoding = draw(st.sampled_from(["cp1252", "utf-16", "latin-1-invalid"]))
        frame.loc[frame.index[:1], column] = "Zo\u00eb"
        text = frame.to_csv(index=False)
        path.write_bytes(
            b"\xff\xfe\xfa" + text.encode("latin-1") if encoding == "latin-1-invalid" else text.encode(encoding)
        )
        kind = f"encoding {encoding}"
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "header_only":
        path.write_text(",".join(columns) + "\n")
    elif kind == "truncate":
        data = path.read_bytes()
        cut = draw(st.integers(min_value=1, max_value=max(1, len(data) - 1)))
        path.write_bytes(data[:cut])
        kind = f"truncated at byte {cut}"
    elif kind == "few_rows":
        keep = draw(st.integers(min_value=1, max_value=3))
        _write_table(path, frame.head(keep))
        kind = f"only {keep} row(s)"
    elif kind == "decimal_ids":
        if "person_id" in frame:
            frame["person_id"] = frame["person_id"].str.replace(r"^\D+", "", regex=True) + ".0"
        _write_table(path, frame)
    else:
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    return f"{path.name}: {kind} ({column})"


def mutate_toml(path: Path, draw) -> str:
    """Change the TOML file in place in one drawn way."""
    lines = path.read_text().splitlines()
    kind = draw(st.sampled_from(["delete", "value", "rule", "junk", "truncate", "encoding", "empty"]))
    index = draw(st.integers(min_value=0, max_value=len(lines) - 1))
    if kind == "delete":
        del lines[index]
    elif kind == "value":
        assignments = [i for i, line in enumerate(lines) if "=" in line and not line.startswith("#")]
        index = assignments[index % len(assignments)]
        lines[index] = lines[index].split("=")[0] + "= " + draw(st.sampled_from(TOML_VALUES))
    elif kind == "rule":
        rules = [i for i, line in enumerate(lines) if line.startswith("where =")] or [index]
        lines[rules[index % len(rules)]] = f"where = {json.dumps(draw(st.sampled_from(RULES)))}"
    elif kind == "junk":
        lines.insert(index, draw(st.sampled_from(["[[[", "x = ", "= 3", "[payment]", "\x00", "[outcomes.x.rule]"])))
    if kind == "truncate":
        data = path.read_bytes()
        path.write_bytes(data[: draw(st.integers(min_value=1, max_value=len(data) - 1))])
    elif kind == "encoding":
        path.write_bytes("# caf\u00e9\n".encode("latin-1") + path.read_bytes())
    elif kind == "empty":
        path.write_bytes(b"")
    else:
        path.write_text("\n".join(lines) + "\n")
    return f"{path.name}: {kind} at line {index + 1}"


# ----------------------------------------------------------------- the promises


def check_run(run, args: list[object], out: Path | None, what: str) -> None:
    shown = f"{what}\n$ desist {' '.join(map(str, args))}\nexit {run.returncode}\n{run.stderr[-3000:]}"
    assert run.returncode in (0, 1, 2), shown
    assert "Traceback" not in run.stdout + run.stderr, shown
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    if run.returncode == 2:
        assert "Usage:" in run.stderr or errors, shown
    elif run.returncode == 1 and args[0] == "verify" and not errors:
        assert "Not verified" in run.stdout, shown
    elif run.returncode == 1 and not (args[0] == "check" and "[error]" in run.stdout and not errors):
        assert len(errors) == 1, shown
        assert "internal error" not in run.stderr, shown
        named = [Path(str(a).split("=")[-1]).name for a in args if isinstance(a, Path) or "=" in str(a)]
        if args[0] in ("power", "demo"):  # no input files: the message names an option or a parameter
            named = ["--", "parameter"]
        named += [str(a) for a in args if str(a).startswith("--") and f"'{a}' option" in run.stderr]
        assert any(name and name in run.stderr for name in named), shown
    if out is not None:
        leftovers = [p.name for p in out.parent.iterdir() if ".partial-" in p.name or ".previous-" in p.name]
        assert not leftovers, shown
        if run.returncode == 0:
            manifest = json.loads((out / "manifest.json").read_text())
            assert sorted(f["name"] for f in manifest["files"]) == sorted(
                p.name for p in out.iterdir() if p.name != "manifest.json"
            ), shown
        else:
            assert not out.exists(), shown


def fuzz(base: Path, name: str, draw) -> None:
    work = Path(tempfile.mkdtemp(prefix=f"fuzz_{name}_", dir=base.parent))
    try:
        files = work / "in"
        shutil.copytree(base, files)
        target = files / draw(st.sampled_from(INPUTS[name]))
        what = mutate_toml(target, draw) if target.suffix == ".toml" else mutate_csv(target, draw)
        out = work / "out"
        args = arguments(name, files, out)
        check_run(desist(*args), args, None if name in ("check", "spec") else out, what)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _fuzzed(name: str):
    @settings(
        max_examples=EXAMPLES[name] * SCALE, phases=PHASES, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(data=st.data())
    def test(base, data):
        fuzz(base, name, data.draw)

    test.__name__ = f"test_{name}_survives_mutated_files"
    test.__doc__ = f"``desist {name}`` on mutated copies of its input files."
    return test


test_weight_survives_mutated_files = _fuzzed("weight")
test_evaluate_survives_mutated_files = _fuzzed("evaluate")
test_check_survives_mutated_files = _fuzzed("check")
test_spec_survives_mutation = _fuzzed("spec")
test_price_survives_mutated_files = _fuzzed("price")
test_simulate_survives_mutated_files = _fuzzed("simulate")
test_screen_survives_mutated_files = _fuzzed("screen")
test_report_survives_mutated_files = _fuzzed("report")


# ----------------------------------------------------------------- commands without input files: their options

NUMBERS = st.sampled_from(["0", "-1", "1", "0.5", "1.4", "1e300", "-1e300", "inf", "nan", "abc", "", "3"])


@settings(max_examples=EXAMPLES["power"] * SCALE, phases=PHASES)
@given(
    measure=st.sampled_from(["binary", "frequency", "rate", ""]),
    base_rate=NUMBERS,
    n=st.one_of(st.none(), NUMBERS),
    effect=st.one_of(st.none(), NUMBERS),
    other=st.sampled_from(["--ratio", "--alpha", "--power", "--dispersion", "--design-effect", "--method"]),
    value=NUMBERS,
)
def test_power_survives_odd_options(measure, base_rate, n, effect, other, value):
    args = ["power", "--measure", measure, "--base-rate", base_rate, other, value]
    args += ["--n", n] if n is not None else []
    args += ["--effect", effect] if effect is not None else []
    check_run(desist(*args), args, None, "options")


@settings(max_examples=EXAMPLES["demo"] * SCALE, phases=PHASES)
@given(
    option=st.sampled_from(["--n-eligible", "--n-pool", "--draws", "--creaming", "--parking"]),
    value=st.sampled_from(["0", "-5", "1", "abc", "1e300", "nan", "inf", "-inf", "2.5", "10000000000000"]),
)
def test_demo_refuses_odd_options_before_building_a_world(tmp_path_factory, option, value):
    work = tmp_path_factory.mktemp("fuzz_demo")
    out = work / "demo"
    valid = {"--creaming": ("0", "1", "2.5"), "--parking": ("0", "1", "2.5"), "--draws": ("1",)}
    if value in valid.get(option, ()):
        value = "-" + value + "1"  # a valid value would run the whole demo (seconds): other tests do
    args = ["demo", "--n-eligible", "200", "--n-pool", "1000", "--draws", "20", option, value, "--out", out]
    run = desist(*args)
    check_run(run, args, out, "options")
    assert run.returncode in (1, 2) and not out.exists()


# ----------------------------------------------------------------- issue 23: dates, --out targets, audit records

DATE_FORMS = st.one_of(
    st.dates(min_value=datetime.date(1600, 1, 1)).map(lambda d: d.isoformat()),
    st.dates().map(lambda d: d.strftime("%d/%m/%Y")),
    st.dates().map(lambda d: d.strftime("%m/%d/%Y")),
    st.dates().map(lambda d: d.strftime("%y-%m-%d")),
    st.dates().map(lambda d: d.strftime("%d-%m-%y")),
    st.sampled_from(DATES + ["", " ", "2025-09-30 14:05", "2025-9-3", "20250930", "30 Sept 2025", "NaT"]),
)


def settle_arguments(files: Path, as_of: str, out: Path) -> list[object]:
    if not (files / "doncaster.toml").exists():
        shutil.copy(ROOT / "examples" / "specs" / "doncaster.toml", files / "doncaster.toml")
    return ["settle", files / "doncaster.toml", "--data", f"people={files / 'people.csv'}",
            "--data", f"offences={files / 'offences.csv'}", "--as-of", as_of, "--out", out]  # fmt: skip


@settings(
    max_examples=EXAMPLES["dates"] * SCALE, phases=PHASES, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(as_of=DATE_FORMS, cell=st.one_of(st.none(), DATE_FORMS), column=st.sampled_from(["start_date", "offence_date"]))
def test_settle_survives_every_way_of_writing_a_date(base, as_of, cell, column):
    work = Path(tempfile.mkdtemp(prefix="fuzz_dates_", dir=base.parent))
    try:
        files = work / "in"
        shutil.copytree(base, files)
        if cell is not None:
            name = "people.csv" if column == "start_date" else "offences.csv"
            frame = pd.read_csv(files / name, dtype=str, keep_default_na=False)
            frame.loc[frame.index[0], column] = cell
            frame.to_csv(files / name, index=False)
        args = settle_arguments(files, as_of, work / "out")
        run = desist(*args)
        check_run(run, args, work / "out", f"--as-of {as_of!r}, {column} row 1 {cell!r}")
        iso = re.fullmatch(r"\d{4}-\d{2}-\d{2}", as_of.strip())
        if not iso:
            assert run.returncode != 0 and "'--as-of' option must be a date written YYYY-MM-DD" in run.stderr
    finally:
        shutil.rmtree(work, ignore_errors=True)


OUT_TARGETS = ["new", "nested", "empty", "file", "foreign", "foreign_manifest", "desist", "desist_plus",
               "link", "dangling", "under_a_file"]  # fmt: skip


def make_target(work: Path, kind: str) -> Path:
    """An --out destination of one kind, inside ``work``."""
    target = work / "target"
    if kind == "nested":
        return work / "a" / "b" / "out"
    if kind == "under_a_file":
        (work / "a_file").write_text("x")
        return work / "a_file" / "out"
    if kind in ("empty", "foreign", "foreign_manifest", "desist", "desist_plus"):
        target.mkdir()
    if kind == "file":
        target.write_text("the user's file")
    if kind == "foreign":
        (target / "notes.txt").write_text("mine")
    if kind == "foreign_manifest":
        (target / "manifest.json").write_text(json.dumps({"manifest_version": 3, "files": [{"name": "x.js"}]}))
        (target / "x.js").write_text("// mine")
    if kind in ("desist", "desist_plus"):
        (target / "old.csv").write_text("a\n1\n")
        manifest = {"written_by": "desist", "run": "0" * 32, "files": [{"name": "old.csv"}]}
        (target / "manifest.json").write_text(json.dumps(manifest))
    if kind == "desist_plus":
        (target / "added_by_the_user.txt").write_text("mine")
    if kind in ("link", "dangling"):
        real = work / "real"
        if kind == "link":
            real.mkdir()
            (real / "keep.txt").write_text("mine")
        target.symlink_to(real, target_is_directory=True)
    return target


def snapshot(work: Path) -> dict[str, object]:
    """Every path under ``work`` with its bytes (files) or link target (links)."""
    shot: dict[str, object] = {}
    for path in sorted(work.rglob("*")):
        key = str(path.relative_to(work))
        shot[key] = (
            ("link", str(path.readlink())) if path.is_symlink() else path.read_bytes() if path.is_file() else "dir"
        )
    return shot


@settings(max_examples=EXAMPLES["out"] * SCALE, phases=PHASES)
@given(kind=st.sampled_from(OUT_TARGETS))
def test_out_replaces_only_what_desist_wrote_and_leaves_the_rest_exactly_as_it_was(tmp_path_factory, kind):
    work = tmp_path_factory.mktemp(f"fuzz_out_{kind}")
    target = make_target(work, kind)
    before = snapshot(work)
    args = ["weight", "--data", DATA / "people.csv", "--margins", MARGINS, "--id", "person_id", "--out", target]
    run = desist(*args)
    writable = kind in ("new", "nested", "empty", "desist")
    assert run.returncode == (0 if writable else 1) and "Traceback" not in run.stderr, (kind, run.stderr)
    assert not [p for p in work.rglob("*") if ".partial-" in p.name or ".previous-" in p.name], kind
    if writable:
        manifest = json.loads((target / "manifest.json").read_text())
        assert manifest["written_by"] == "desist"
        assert sorted(f["name"] for f in manifest["files"]) == sorted(
            p.name for p in target.iterdir() if p.name != "manifest.json"
        )
    else:
        assert run.stderr.count("error:") == 1, (kind, run.stderr)
        assert snapshot(work) == before, kind


@pytest.fixture(scope="module")
def settled(base) -> Path:
    """The fuzz base settled (Doncaster) into a folder with a workbook: what the audit hunt forges."""
    files = base.parent / "settled_inputs"
    shutil.copytree(base, files, dirs_exist_ok=True)
    out = base.parent / "settled"
    run = desist(*settle_arguments(files, "2025-09-30", out), "--xlsx")
    assert run.returncode == 0, run.stderr
    return out


AUDIT_VALUES = [None, 0, -1, 1.5, "", "x", "0" * 64, [], {}, True, "2025-13-01", "../x", {"path": 3}]


def forge(folder: Path, draw) -> tuple[str, bool]:
    """Change the settled folder in one drawn way; returns a description and whether any byte changed."""
    kind = draw(st.sampled_from(["byte", "audit_key", "audit_value", "truncate", "manifest"]))
    name = draw(st.sampled_from(["audit.json", "settlement.json", "ledger.csv", "settlement.xlsx"]))
    path = folder / name
    data = path.read_bytes()
    if kind == "manifest":
        (folder / "manifest.json").unlink()
        return "manifest.json deleted", True
    if kind in ("audit_key", "audit_value"):
        audit = json.loads((folder / "audit.json").read_text())
        keys = [(k,) for k in audit] + [(k, j) for k, v in audit.items() if isinstance(v, dict) for j in v]
        where = draw(st.sampled_from(keys))
        holder = audit if len(where) == 1 else audit[where[0]]
        if kind == "audit_key":
            del holder[where[-1]]
        else:
            holder[where[-1]] = draw(st.sampled_from(AUDIT_VALUES))
        (folder / "audit.json").write_text(json.dumps(audit, indent=2))
        return f"audit.json {kind} at {where}", True
    if kind == "truncate":
        cut = draw(st.integers(min_value=0, max_value=len(data) - 1))
        path.write_bytes(data[:cut])
        return f"{name} truncated at byte {cut}", True
    at = draw(st.integers(min_value=0, max_value=len(data) - 1))
    new = draw(st.integers(min_value=0, max_value=255).filter(lambda b: b != data[at]))
    path.write_bytes(data[:at] + bytes([new]) + data[at + 1 :])
    return f"{name} byte {at} set to {new}", True


@settings(
    max_examples=EXAMPLES["audit"] * SCALE, phases=PHASES, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_verify_never_passes_a_forged_folder_and_never_tracebacks(settled, data):
    work = Path(tempfile.mkdtemp(prefix="fuzz_audit_", dir=settled.parent))
    try:
        folder = work / "settled"
        shutil.copytree(settled, folder)
        shutil.copytree(settled.parent / "settled_inputs", work / "settled_inputs")
        what, changed = forge(folder, data.draw)
        args = ["verify", folder / "audit.json"]
        run = desist(*args)
        check_run(run, args, None, what)
        assert run.returncode == 1 or not changed, what
        assert "internal error" not in run.stderr and "Verified" not in run.stdout, what
    finally:
        shutil.rmtree(work, ignore_errors=True)
