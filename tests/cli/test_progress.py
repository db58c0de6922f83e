"""Progress on the terminal: shown for a step once it has run SHOW_AFTER seconds, never for a quick one."""

import time

import pytest

from desist import terminal


@pytest.fixture
def on_a_terminal(monkeypatch):
    """stderr taken for a terminal (rich reads FORCE_COLOR), and progress shown after 0.2 s."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setattr(terminal, "SHOW_AFTER", 0.2)


def test_a_quick_step_shows_nothing(on_a_terminal, capsys):
    with terminal.progress("Settling the contract"):
        time.sleep(0.01)
    assert capsys.readouterr().err == ""


def test_a_slow_step_shows_a_spinner_with_its_description(on_a_terminal, capsys):
    with terminal.progress("Settling the contract"):
        time.sleep(0.6)
    err = capsys.readouterr().err
    assert "Settling the contract" in err and "0:00:0" in err


def test_a_slow_step_with_parts_shows_the_part_running(on_a_terminal, capsys):
    parts = ("reading the files", "matching", "writing the report")
    with terminal.progress("reading the files", parts=parts) as started:
        started("matching")
        time.sleep(0.6)
        started("writing the report")
    assert "matching" in capsys.readouterr().err


def test_nothing_is_shown_when_quiet_or_not_on_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr(terminal, "SHOW_AFTER", 0.0)
    with terminal.progress("Settling the contract") as started:  # stderr is captured: not a terminal
        started("any part")
        time.sleep(0.1)
    monkeypatch.setenv("FORCE_COLOR", "1")
    with terminal.progress("Settling the contract", quiet=True):
        time.sleep(0.1)
    assert capsys.readouterr().err == ""
