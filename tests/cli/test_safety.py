"""The command line's promises (issue 14), one test per case the issue found.

No traceback, one message naming the file, exit 1 for data and specs, 2 for
usage, 130 with one line when interrupted; ``--out`` checked before anything is
computed; outputs that cannot go stale (a folder replaced whole, with a
manifest, never left half-written). Commands run in-process (tests/running.py).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pandas as pd
import pytest
from typer.main import get_command

from desist import cli
from desist.outputs import MANIFEST
from ground.errors import SpecError
from tests.running import ROOT, desist, one_message

DATA = ROOT / "examples" / "data"
SPEC = ROOT / "examples" / "specs" / "intermediate.toml"
LALONDE = ROOT / "tests" / "data" / "lalonde.csv"
EVALUATE = ["evaluate", "--data", LALONDE, "--treatment", "treat", "--covariates", "age,educ", "--outcome", "re78"]


def price(out: Path, *extra: object):
    return desist("price", "--spec", SPEC, "--history", DATA / "history.csv", *extra, "--out", out)


def weight(out: Path, *extra: object, margins: Path = ROOT / "examples" / "margins.toml"):
    return desist("weight", "--data", DATA / "people.csv", "--margins", margins, *extra, "--out", out)


@pytest.fixture
def never_computed(monkeypatch):
    """Make computing impossible: a command that reaches its library call fails the test."""
    import desist.commands.evaluate as evaluate

    def refuse(*args, **kwargs):
        raise AssertionError("computed before --out was checked")

    monkeypatch.setattr(evaluate, "match", refuse)


def desists(names: list[str]) -> str:
    """A manifest.json as desist writes it: written by desist, in a run, listing ``names``."""
    return json.dumps({"written_by": "desist", "run": "0" * 32, "files": [{"name": n} for n in names]})


def no_staging_left(parent: Path) -> None:
    assert not [p.name for p in parent.iterdir() if ".partial-" in p.name or ".previous-" in p.name]


# ----------------------------------------------------------------- --out checked before any computing


def test_out_an_existing_file_is_refused_before_computing(tmp_path, never_computed):
    target = tmp_path / "results.csv"
    target.write_text("keep me")
    run = desist(*EVALUATE, "--out", target)
    assert run.returncode == 1
    one_message(run.stderr, "results.csv (--out) is a file, not a folder")
    assert target.read_text() == "keep me"


def test_out_a_folder_of_other_files_is_refused(tmp_path, never_computed):
    (tmp_path / "mine.txt").write_text("the user's own file")
    run = desist(*EVALUATE, "--out", tmp_path)
    assert run.returncode == 1
    one_message(run.stderr, f"{tmp_path} (--out) holds mine.txt, which desist did not write (there is no manifest")
    assert (tmp_path / "mine.txt").read_text() == "the user's own file"


def test_out_a_read_only_folder_is_refused(tmp_path, never_computed, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    # The tests may run as root, which writes anywhere: report the folder read-only instead.
    real = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode: not (Path(path) == out and mode & os.W_OK) and real(path, mode)
    )
    run = desist(*EVALUATE, "--out", out)
    assert run.returncode == 1
    one_message(run.stderr, "(--out) is read-only")


def test_out_that_holds_an_input_file_is_refused(tmp_path, never_computed):
    """Replacing the folder whole would delete the file the command reads (say, a tariff price wrote there)."""
    out = tmp_path / "evaluation"
    out.mkdir()
    (out / MANIFEST).write_text(desists(["lalonde.csv"]))
    data = out / "lalonde.csv"
    data.write_bytes(LALONDE.read_bytes())
    run = desist(*[data if a == LALONDE else a for a in EVALUATE], "--out", out)
    assert run.returncode == 1
    one_message(run.stderr, "(--out) holds", "lalonde.csv, which this command reads")
    assert data.exists()


def test_out_where_no_folder_can_be_made_is_refused(tmp_path, never_computed):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    run = desist(*EVALUATE, "--out", blocker / "sub" / "out")
    assert run.returncode == 1
    one_message(run.stderr, "(--out): cannot create the folder")


# ----------------------------------------------------------------- --out that is not desist's (issue 23)


def test_a_folder_with_someone_elses_manifest_is_refused(tmp_path, never_computed):
    """A browser extension's folder holds a manifest.json too: it does not make the folder desist's."""
    out = tmp_path / "extension"
    out.mkdir()
    (out / MANIFEST).write_text(json.dumps({"manifest_version": 3, "name": "My extension"}))
    (out / "background.js").write_text("// the user's code")
    run = desist(*EVALUATE, "--out", out)
    assert run.returncode == 1
    one_message(run.stderr, "holds background.js, which desist did not write", "does not say desist wrote the folder")
    assert (out / "background.js").read_text() == "// the user's code" and len(list(out.iterdir())) == 2
    no_staging_left(tmp_path)


def test_a_file_added_to_a_desist_folder_is_named_and_kept(tmp_path, never_computed):
    out = tmp_path / "weights"
    assert weight(out).returncode == 0
    (out / "my_notes.txt").write_text("notes the user saved beside the outputs")
    run = desist(*EVALUATE, "--out", out)
    assert run.returncode == 1
    one_message(run.stderr, "holds my_notes.txt, which desist did not write (it is not listed in manifest.json)")
    assert (out / "my_notes.txt").exists()
    no_staging_left(tmp_path)


@pytest.mark.parametrize("dangling", [False, True], ids=["to_a_folder", "dangling"])
def test_out_a_symbolic_link_is_refused_and_never_destroyed(tmp_path, never_computed, dangling):
    target = tmp_path / "real"
    if not dangling:
        target.mkdir()
        (target / "keep.txt").write_text("the user's file")
    link = tmp_path / "link"
    link.symlink_to(target, target_is_directory=True)
    run = desist(*EVALUATE, "--out", link)
    assert run.returncode == 1
    one_message(run.stderr, f"{link} (--out) is a symbolic link (to {target})")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert dangling or (target / "keep.txt").read_text() == "the user's file"
    no_staging_left(tmp_path)


def test_a_signal_while_the_folder_is_swapped_waits_until_it_is_in_place(tmp_path, monkeypatch):
    """SIGTERM arriving between the two renames would leave .out.previous-* and no out: it waits instead."""
    from desist import outputs

    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_text(desists([]))
    rename = os.rename

    def signalled(source, destination):
        rename(source, destination)
        outputs.on_signal(15)  # as the handler is called between any two lines

    monkeypatch.setattr(outputs.os, "rename", signalled)
    with pytest.raises(outputs.Interrupted):
        with outputs.writing(out, command="test", inputs={}) as folder:
            folder.path("result.txt").write_text("new")
    assert (out / "result.txt").read_text() == "new"
    no_staging_left(tmp_path)
    assert outputs.last_signal() == 15 and outputs.interruption_note() is None


def test_a_signal_while_a_module_loads_leaves_the_folder_as_it_was_and_says_so(tmp_path):
    """Python 3.11 wraps an interruption raised while a module loads in a RuntimeError: still an interruption."""
    from desist import outputs

    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_text(desists([]))
    with pytest.raises(RuntimeError):
        with outputs.writing(out, command="test", inputs={}) as folder:
            folder.path("result.txt").write_text("new")
            try:
                raise outputs.Interrupted(15)
            except KeyboardInterrupt as exc:
                raise RuntimeError("a class could not be made") from exc
    assert not (out / "result.txt").exists()
    no_staging_left(tmp_path)
    assert outputs.interruption_note() == f"{out} was left as it was (the previous outputs are untouched)"


# ----------------------------------------------------------------- outputs that cannot go stale


def test_outputs_come_with_a_manifest_of_sizes_and_hashes(tmp_path):
    out = tmp_path / "weights"
    run = weight(out, "--id", "person_id", "--json")
    assert run.returncode == 0, run.stderr
    files = json.loads(run.stdout)["files"]
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["command"] == "weight" and manifest["desist_version"] == cli.__version__
    assert manifest["inputs"]["data"] == str(DATA / "people.csv") and manifest["inputs"]["id"] == "person_id"
    assert [str(out / f["name"]) for f in manifest["files"]] == files
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST, *(Path(f).name for f in files)])
    for entry in manifest["files"]:
        data = (out / entry["name"]).read_bytes()
        assert entry["bytes"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest()
    no_staging_left(tmp_path)


def test_a_previous_output_folder_is_replaced_whole(tmp_path):
    """A tariff that is no longer built does not linger beside the new files (the issue's stale tariff_<name>.toml)."""
    out = tmp_path / "tariffs"
    out.mkdir()  # what an earlier run left: a tariff this run does not build, and its manifest
    (out / "tariff_retired.toml").write_text("[prices]\n")
    (out / MANIFEST).write_text(desists(["tariff_retired.toml"]))
    run = price(out, "--budget", "300000")
    assert run.returncode == 0, run.stderr
    assert not (out / "tariff_retired.toml").exists() and (out / "tariff_flat.toml").exists()
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["inputs"]["budget"] == 300000
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST, *(f["name"] for f in manifest["files"])])
    no_staging_left(tmp_path)


def test_a_failed_run_leaves_the_previous_outputs_as_they_were(tmp_path):
    out = tmp_path / "weights"
    assert weight(out).returncode == 0
    snapshot = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = tmp_path / "bad.toml"
    bad.write_text("[margins.sex]\nfemale = 0.5\nmale = 0.4\nother = 0.1\n")
    failed = weight(out, margins=bad)
    assert failed.returncode == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == snapshot
    no_staging_left(tmp_path)


def test_an_interrupted_demo_leaves_the_previous_report_untouched_and_says_so(tmp_path, monkeypatch):
    out = tmp_path / "demo"
    small = ["demo", "--n-eligible", "200", "--n-pool", "1000", "--draws", "20", "--out", out]
    out.mkdir()  # a previous run's folder, as desist leaves it
    (out / "report.html").write_text("<p>last month's report</p>")
    (out / MANIFEST).write_text(desists(["report.html"]))
    snapshot = {p.name: p.read_bytes() for p in out.iterdir()}
    import desist.commands.demo as demo

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(demo.appraisal, "demo", interrupted)
    run = desist(*small)
    assert run.returncode == 130
    assert run.stderr == f"interrupted (Ctrl-C): {out} was left as it was (the previous outputs are untouched).\n"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == snapshot
    no_staging_left(tmp_path)
    fresh = tmp_path / "fresh"
    run = desist(*small[:-1], fresh)
    assert run.returncode == 130 and f"nothing was written to {fresh}" in run.stderr
    assert not fresh.exists()
    no_staging_left(tmp_path)


def test_ctrl_c_while_a_command_loads_is_one_line(monkeypatch):
    def interrupted(name):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.importlib, "import_module", interrupted)
    monkeypatch.setattr(cli.DesistGroup, "commands", {}, raising=False)
    run = desist("power", "--measure", "binary", "--base-rate", "0.4", "--n", "100")
    assert run.returncode == 130 and run.stderr == "interrupted (Ctrl-C).\n" and run.stdout == ""


# ----------------------------------------------------------------- one message, never a traceback


def test_as_of_yesterday_is_a_readable_error():
    run = desist(
        "report",
        "--people",
        DATA / "people.csv",
        "--offences",
        DATA / "offences.csv",
        "--pool",
        DATA / "pool.csv",
        "--as-of",
        "yesterday",
    )
    assert run.returncode == 1
    one_message(run.stderr, "'--as-of' option must be a date written YYYY-MM-DD", "Got 'yesterday'")


def test_a_percentage_margin_target_names_the_margins_file_and_key(tmp_path):
    margins = tmp_path / "margins.toml"
    margins.write_text('[margins.sex]\nfemale = "15%"\nmale = 0.85\n')
    run = desist("weight", "--data", DATA / "people.csv", "--margins", margins)
    assert run.returncode == 1
    one_message(run.stderr, "margins.toml: margins.sex.female", "not '15%'")
    assert "people.csv" not in run.stderr


def test_margin_errors_blame_the_margins_file_not_the_data(tmp_path):
    margins = tmp_path / "margins.toml"
    margins.write_text("[margins.sex]\nfemale = 0.15\nmale = 0.8\nother = 0.05\n")
    run = desist("weight", "--data", DATA / "people.csv", "--margins", margins)
    assert run.returncode == 1
    one_message(run.stderr, "margins.toml (--margins): ", "target level(s) ['other'] absent from the data")
    assert not run.stderr.startswith(f"error: {DATA}")
    # a margin column the data lacks is the data file's
    margins.write_text("[margins.region]\nnorth = 0.5\nsouth = 0.5\n")
    run = desist("weight", "--data", DATA / "people.csv", "--margins", margins)
    one_message(run.stderr, "people.csv (--data)", "missing the column region")


def test_demo_with_one_eligible_person_says_how_many_it_needs():
    run = desist("demo", "--n-eligible", "1")
    assert run.returncode == 1
    one_message(run.stderr, "'--n-eligible' parameter of desist demo must be an int in the range [200, 1000000]")


def test_duplicated_column_names_are_an_error_naming_the_file(tmp_path):
    path = tmp_path / "history.csv"
    text = (DATA / "history.csv").read_text().splitlines()
    header = text[0].split(",")
    body = [line + "," + line.split(",")[header.index("age")] for line in text[1:]]
    path.write_text("\n".join([text[0] + ",age", *body]) + "\n")
    run = desist("price", "--spec", SPEC, "--history", path)
    assert run.returncode == 1
    first, copy = header.index("age") + 1, len(header) + 1  # counted from 1
    one_message(run.stderr, "history.csv", f"column name 'age' (columns {first}, {copy}) more than once")


def test_screen_blames_the_services_file_when_its_ids_match_no_one(tmp_path):
    services = pd.read_csv(DATA / "services.csv")
    services.assign(person_id="X" + services["person_id"]).to_csv(tmp_path / "services.csv", index=False)
    run = desist("screen", "--eligible", DATA / "eligible.csv", "--services", tmp_path / "services.csv")
    assert run.returncode == 1
    one_message(run.stderr, "services.csv (--services)", "0 of", "service contacts match a person_id")
    assert "eligible.csv (--eligible)" not in run.stderr


def test_rows_are_counted_from_1_in_a_free_form_file(tmp_path):
    history = pd.read_csv(DATA / "history.csv")
    history["ete"] = history["ete"].astype(object)
    history.loc[0, "ete"] = "yes"  # the first data row
    history.to_csv(tmp_path / "history.csv", index=False)
    run = desist("price", "--spec", SPEC, "--history", tmp_path / "history.csv")
    one_message(run.stderr, "ete: not a number: 1 row(s): row 1 ('yes')")


@pytest.mark.parametrize("price", ["nan", "inf"])
def test_nan_or_inf_prices_in_check_are_refused(tmp_path, price):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC.read_text().replace("family_ties = 250", f"family_ties = {price}"))
    run = desist("check", spec)
    assert run.returncode == 1
    one_message(run.stderr, "spec.toml", "payment.prices.family_ties")


def test_the_spec_reader_refuses_nan_prices_in_python_too():
    """The same hole seen from the API."""
    from outcomes.spec import MetricSpec

    text = SPEC.read_text().replace("family_ties = 250", "family_ties = nan")
    with pytest.raises(SpecError, match="payment.prices.family_ties"):
        MetricSpec.from_string(text)


# ----------------------------------------------------------------- the handler itself


def test_a_bug_is_one_message_and_debug_shows_the_traceback(monkeypatch):
    import desist.commands.power as power

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(power, "power_report", broken)
    args = ["power", "--measure", "binary", "--base-rate", "0.4", "--n", "100"]
    run = desist(*args)
    assert run.returncode == 1
    one_message(run.stderr, "internal error (ZeroDivisionError: division by zero)", "This is a bug in desist")
    debug = desist("--debug", *args)
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr and 'raise ZeroDivisionError("division by zero")' in (
        debug.stderr
    )
    assert debug.stderr.rstrip().splitlines()[-1].startswith("error: internal error")


def test_usage_errors_exit_2_and_a_typo_gets_a_suggestion():
    run = desist("pirce", "--spec", SPEC)
    assert run.returncode == 2 and "No such command 'pirce'. Did you mean 'price'?" in run.stderr
    run = desist("price", "--spec", SPEC, "--history", DATA / "history.csv", "--bogus")
    assert run.returncode == 2 and "No such option: --bogus" in run.stderr and "Traceback" not in run.stderr


def test_version_and_help_list_every_command_without_loading_them():
    run = desist("--version")
    assert run.returncode == 0 and run.stdout == f"desist {cli.__version__}\n"
    run = desist("--help")
    assert run.returncode == 0
    for name, line in cli.COMMANDS.items():
        assert name in run.stdout
        # the table the root help prints is each command's own first docstring line
        command = get_command(cli.app).get_command(None, name)
        assert command.help.strip().splitlines()[0] == line, name


def test_warnings_are_one_line_each(tmp_path):
    path = tmp_path / "people.csv"
    text = (DATA / "people.csv").read_text()
    first = text.splitlines()[1].split(",")[0]
    path.write_bytes(text.replace(first, first[:-1] + "\xe9").encode("cp1252"))
    margins = ROOT / "examples" / "margins.toml"
    run = desist("weight", "--data", path, "--margins", margins, "--id", "person_id", "--json")
    assert run.returncode == 0, run.stderr
    assert run.stderr.startswith("warning: ") and "read as Windows-1252" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert json.loads(run.stdout)["results"]["ids"][0] == first[:-1] + "\xe9"
