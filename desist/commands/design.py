"""``desist design [CONTRACT]``: design a contract in the browser, every edit answered within a second.

Starts a local web page (Shiny for Python, bound to 127.0.0.1 only) that edits
the contract as a commissioner thinks of it (prices per outcome and segment,
uplifts, the service fee, up-front and at-risk shares, rule thresholds,
tranches, caps, clawback) and, after every edit, checks it as ``desist check``
reads the file and shows what ``check``, ``price``, ``simulate`` and ``gaming``
would say: cost against budget and its spread, the chance the rules pay when
nothing changed and their power, the creaming gap by segment with the
incentive-neutral prices, what gaming would earn, the provider's income,
margin, chance of a loss and working capital, and the design findings
(:mod:`appraisal.designer`). The loaded and the edited design are shown side
by side; save writes the contract with its comments and key order kept.

With no CONTRACT the page starts from the intermediate-outcomes example
(``examples/specs/intermediate.toml``); with no ``--history`` or
``--data-map``, from a synthetic world of ``--people`` enrolled people, and
the page says so. The server reads only the files named here (and those the
data mapping names) and writes only where the user saves.

``--json`` is not offered: the command serves a page until Ctrl-C.
"""

from __future__ import annotations

import socket
import threading
import webbrowser
from pathlib import Path
from typing import Any

import typer

from desist.commands.common import data_map_option, read_history, step
from ground.checks import option_error
from pricing.contract import Contract

#: The port ``desist design`` listens on unless told otherwise.
PORT = 8050


def design(
    contract_path: Path = typer.Argument(
        None, metavar="[CONTRACT]", help="Contract (TOML) to start from; default: the intermediate-outcomes example."
    ),
    data_map: Path = data_map_option(),
    history: Path = typer.Option(
        None, "--history", help="Last year's people: segment columns, 0/1 per priced outcome, 'cost', 'hours'."
    ),
    port: int = typer.Option(PORT, "--port", min=1, max=65_535, help="Port on 127.0.0.1 to serve the page on."),
    browser: bool = typer.Option(True, "--browser/--no-browser", help="Open the page in the default browser."),
    people: int = typer.Option(
        5_000, "--people", help="Enrolled people in the synthetic world used when no data are given."
    ),
    draws: int = typer.Option(500, "--draws", help="Simulated contracts (and evaluations of the rules) per edit."),
    seed: int = typer.Option(0, "--seed", help="Seed of the synthetic world and the simulations."),
) -> None:
    """Design a contract in the browser: each edit checked as the file and answered at once.

    Examples:

        desist design

        desist design examples/specs/intermediate.toml --history examples/data/history.csv

        desist design my_contract.toml --data-map data.toml --port 8051 --no-browser
    """
    import uvicorn

    from appraisal import DEFAULT_SPEC
    from appraisal.designer import answer
    from desist.designer.app import build_app
    from desist.designer.draft import Draft

    _free(port)
    path = Path(DEFAULT_SPEC if contract_path is None else contract_path)
    Contract.from_toml(path)  # a missing or broken file refused as every command refuses it
    text = path.read_text(encoding="utf-8")
    source = "the template (examples/specs/intermediate.toml)" if contract_path is None else str(path)
    draft = Draft(text, str(path) if contract_path is not None else "intermediate.toml", path.parent)
    with step("Reading the data and fitting the difficulty model", quiet=False):
        data = _data(draft, history, data_map, people, seed)
    with step("Answering the loaded contract", quiet=False):
        options = {"draws": draws, "seed": seed}
        loaded = answer(draft.loaded, data, **options)
    report = _reporter(data, seed) if data.world is not None else None
    app = build_app(draft, data, loaded, report=report, options=options, source=source)
    address = f"http://127.0.0.1:{port}/"
    typer.echo(f"desist design: the page is at {address} (Ctrl-C to stop).")
    if browser:
        threading.Timer(1.0, webbrowser.open, args=(address,)).start()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def _free(port: int) -> None:
    """Refuse a port another program listens on, before anything is computed."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise option_error(
                "--port", "a port no other program uses", port, advice=f"Choose another, e.g. --port {port + 1}."
            ) from None


def _data(draft: Any, history: Path | None, data_map: Path | None, people: int, seed: int) -> Any:
    """The design data: the user's history (and the mapping's tables), else the synthetic world."""
    from appraisal.designer import file_data, synthetic_data
    from desist.commands.check import read_tables

    if history is None and data_map is None:
        return synthetic_data(draft.loaded, n_people=people, seed=seed)
    tables = read_tables(None, data_map) if data_map is not None else {}
    if history is not None:
        tables["history"], _ = read_history(history, None)
    if tables.get("history") is None:
        raise option_error(
            "--history", "a file of last year's people, or a [history] table in the --data-map file", got="neither"
        )
    named = ", ".join(str(p) for p in (history, data_map) if p is not None)
    return file_data(tables, f"Every figure is from {named} ({len(tables['history']):,} people in the history).")


def _reporter(data: Any, seed: int) -> Any:
    """The report ``desist report`` writes, for a contract on the synthetic world the page designs on."""

    def report(contract: Any) -> str:
        from appraisal import AppraisalInputs, appraise
        from desist.sections import build_report

        story = appraise(AppraisalInputs.from_world(data.world, contract), seed=seed)
        return build_report(story).to_html()

    return report


def register(app: typer.Typer) -> None:
    app.command("design")(design)
