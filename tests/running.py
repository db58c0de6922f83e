"""Run ``desist`` in-process, as the console script would, and keep what it printed.

A subprocess pays for Python and every import again (seconds per call on a busy
machine); the CLI tests run commands through typer's ``CliRunner`` instead, on
the same entry point (``DesistGroup.main``, its one error handler included).
A few smoke tests in tests/cli/test_subprocess.py still start real processes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from desist.cli import app

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Run:
    """What a command did: exit status, standard output and standard error (as ``subprocess.run`` gives)."""

    returncode: int
    stdout: str
    stderr: str


def desist(*args: object, cwd: Path | str = ROOT) -> Run:
    """``desist ARGS...`` in-process, from ``cwd`` (default: the repository, as the README's commands run)."""
    here = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    finally:
        os.chdir(here)
    return Run(result.exit_code, result.stdout, result.stderr)


def one_message(stderr: str, *parts: str) -> None:
    """stderr is one ``error: ...`` message holding every part, with no traceback."""
    assert "Traceback" not in stderr
    assert stderr.startswith("error: ") and stderr.count("error:") == 1, stderr
    for part in parts:
        assert part in stderr, f"{part!r} not in {stderr!r}"
