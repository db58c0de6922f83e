"""A handful of real processes: what in-process tests cannot show.

Start-up (``--help`` and ``--version`` load no command, pandas or matplotlib),
a real Ctrl-C (SIGINT) in the middle of a run, and an error as a user sees it.
Everything else runs in-process (tests/running.py).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "numpy", "matplotlib", "scipy", "statsmodels", "pandera", "desist.commands")


def imported(*args: str) -> set[str]:
    """The modules ``python -m desist.cli ARGS`` imports, read from ``-X importtime``."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "desist.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}


def test_help_and_version_load_no_command_and_no_pandas():
    for args in (["--help"], ["--version"]):
        modules = imported(*args)
        heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith("desist.commands"))
        assert not heavy, (args, heavy)
    script = Path(sys.executable).with_name("desist")
    proc = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("desist ")


@pytest.mark.parametrize(
    ("signum", "code", "how"),
    [(signal.SIGINT, 130, "interrupted (Ctrl-C)"), (signal.SIGTERM, 143, "terminated (SIGTERM)")],
    ids=["SIGINT", "SIGTERM"],
)
def test_a_signal_mid_run_exits_with_one_line_and_leaves_the_folder_as_it_was(tmp_path, signum, code, how):
    out = tmp_path / "demo"
    out.mkdir()  # a previous run's folder
    (out / "report.html").write_text("<p>last month's report</p>")
    manifest = {"written_by": "desist", "run": "0" * 32, "command": "demo", "files": [{"name": "report.html"}]}
    (out / "manifest.json").write_text(json.dumps(manifest))
    proc = subprocess.Popen(
        [sys.executable, "-m", "desist.cli", "demo", "--n-eligible", "3000", "--n-pool", "60000", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        # As at a terminal: a shell runs background jobs (a CI script, `cmd &`) with Ctrl-C ignored, and a
        # child inherits that, so Python would never raise KeyboardInterrupt.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # Interrupt once the run has begun writing: its staging folder appears beside --out.
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".demo.partial-*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr
    assert stderr == f"{how}: {out} was left as it was (the previous outputs are untouched).\n"
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "report.html"]
    assert (out / "report.html").read_text() == "<p>last month's report</p>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


def test_a_bad_file_is_one_message_as_a_user_sees_it(tmp_path):
    bad = tmp_path / "people.csv"
    bad.write_text("person_id,sex,ethnicity\n")  # a header and no rows
    proc = subprocess.run(
        [sys.executable, "-m", "desist.cli", "weight", "--data", str(bad), "--margins", "examples/margins.toml"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    assert proc.stderr.count("error:") == 1 and "people.csv (--data): the data table has no data rows" in proc.stderr


def test_an_interruption_python_wrapped_while_a_module_loaded_is_an_interruption(capsys):
    # Python 3.11 wraps a KeyboardInterrupt raised while a class is made (rich's, imported when SIGTERM came)
    # in a RuntimeError: that is still the user's interruption, not desist's internal error.
    from desist.cli import EXIT_INTERRUPTED, _run

    def main(**_):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise RuntimeError("Error calling __set_name__ on 'Field' instance '_progress' in 'Task'") from exc

    assert _run(main, [], None, None, {}) == EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert err.startswith("interrupted (Ctrl-C)") and "internal error" not in err
