"""Boolean options are flags, shown as flags: ``--replace/--no-replace``, never ``--replace <bool>``."""

from __future__ import annotations

import json
import re

import pytest
import typer
from typer.testing import CliRunner

from desist.cli import COMMANDS, app
from tests.running import desist

TYPED_FLAG = re.compile(r"<bool>|\bBOOLEAN\b|<boolean>", re.IGNORECASE)
#: Flags with no "off" form: they act at once (help, version) or switch on a diagnostic.
SWITCHES = {"help", "version", "debug"}


def _command(name: str):
    group = typer.main.get_command(app)
    ctx = group.make_context("desist", [name], resilient_parsing=True)
    return ctx, group.get_command(ctx, name)


def test_the_root_help_shows_no_type_beside_a_flag():
    run = desist("--help")
    assert run.returncode == 0 and "--version" in run.stdout
    assert TYPED_FLAG.findall(run.stdout) == []


@pytest.mark.parametrize("name", list(COMMANDS))
def test_no_command_help_shows_a_type_beside_a_flag(name):
    run = desist(name, "--help")
    assert run.returncode == 0, run.stderr
    assert "--help" in run.stdout
    assert TYPED_FLAG.findall(run.stdout) == [], name


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_boolean_option_is_a_flag_pair(name):
    ctx, command = _command(name)
    for param in command.get_params(ctx):
        if getattr(param, "is_flag", False) and param.name not in SWITCHES:
            assert param.secondary_opts, f"{name} {param.opts}: no --no- form"
            shown = CliRunner().invoke(app, [name, "--help"], terminal_width=200).stdout
            assert param.opts[0] in shown and param.secondary_opts[0] in shown, (name, param.opts)


def test_a_flag_pair_switches_both_ways():
    base = ["--measure", "binary", "--base-rate", "0.45", "--n", "500", "--json"]
    one = json.loads(desist("power", *base, "--one-sided").stdout)
    two = json.loads(desist("power", *base, "--two-sided").stdout)
    default = json.loads(desist("power", *base).stdout)
    assert one["inputs"]["one_sided"] is True and two["inputs"]["one_sided"] is False
    assert one["results"]["mde"]["alternative"] == "one-sided"
    assert two["results"]["mde"] == default["results"]["mde"] != one["results"]["mde"]
    # The last of a pair wins, as with any option given twice.
    assert json.loads(desist("power", *base, "--one-sided", "--two-sided").stdout)["inputs"]["one_sided"] is False


def test_a_flag_takes_no_value():
    run = desist("power", "--measure", "binary", "--base-rate", "0.45", "--n", "500", "--one-sided", "true")
    assert run.returncode == 2 and "Traceback" not in run.stderr
