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

from desist.commands.common import data_map_option, mapped_tables, parse_date, read_history, step
from ground.checks import option_error
from pricing.contract import Contract

#: The port ``desist design`` listens on unless told otherwise.
PORT = 8050
#: The programme's tables ``--data`` names (as ``desist report``'s options of the same names).
PROGRAMME_TABLES = ("people", "offences", "pool", "assessments")


def design(
    contract_path: Path = typer.Argument(
        None, metavar="[CONTRACT]", help="Contract (TOML) to start from; default: the intermediate-outcomes example."
    ),
    data_map: Path = data_map_option(),
    history: Path = typer.Option(
        None, "--history", help="Last year's people: segment columns, 0/1 per priced outcome, 'cost', 'hours'."
    ),
    data: list[str] = typer.Option(
        None,
        "--data",
        help="NAME=FILE, NAME one of people, offences, pool, assessments: the programme's tables, read by the checks; "
        "with people, offences and pool the page also gives the report. Repeat for each table.",
    ),
    as_of: str = typer.Option(None, "--as-of", help="The data's as-of date (YYYY-MM-DD); dates after it are errors."),
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

        desist design examples/specs/intermediate.toml --history examples/data/history.csv \\
            --data people=examples/data/people.csv --data offences=examples/data/offences.csv \\
            --data pool=examples/data/pool.csv --data assessments=examples/data/assessments.csv --as-of 2025-09-30

        desist design my_contract.toml --data-map data.toml --port 8051 --no-browser
    """
    import uvicorn

    from appraisal import DEFAULT_SPEC
    from appraisal.designer import answer
    from desist.designer.app import build_app
    from desist.designer.draft import Draft

    _free(port)
    when = parse_date(as_of, "as-of")
    paths = _paths(data, data_map)
    path = Path(DEFAULT_SPEC if contract_path is None else contract_path)
    Contract.from_toml(path)  # a missing or broken file refused as every command refuses it
    text = path.read_text(encoding="utf-8")
    source = "the template (examples/specs/intermediate.toml)" if contract_path is None else str(path)
    draft = Draft(text, str(path) if contract_path is not None else "intermediate.toml", path.parent)
    with step("Reading the data and fitting the difficulty model", quiet=False):
        programme = _programme(paths, history, when, data_map)
        found = _data(draft, history, data_map, programme, people, seed)
    with step("Answering the loaded contract", quiet=False):
        options = {"draws": draws, "seed": seed}
        loaded = answer(draft.loaded, found, **options)
    app = build_app(draft, found, loaded, report=_reporter(found, programme, seed), options=options, source=source)
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


def _paths(items: list[str] | None, data_map: Path | None) -> dict[str, Path | None]:
    """The programme's tables: each ``--data NAME=FILE``, else the ``--data-map`` file's table, else None."""
    given: dict[str, Path | None] = dict.fromkeys(PROGRAMME_TABLES)
    for item in items or []:
        name, sep, file = item.partition("=")
        if not sep or name not in PROGRAMME_TABLES or not file or given[name] is not None:
            raise option_error("--data", f"NAME=FILE with NAME one of {', '.join(PROGRAMME_TABLES)}, each once", item)
        given[name] = Path(file)
    return mapped_tables(data_map, **given)


def _programme(paths: dict[str, Path | None], history: Path | None, when: Any, data_map: Path | None) -> Any:
    """The programme's tables read as ``desist report`` reads them (None without people, offences and pool).

    Tables named by ``--data`` come together; a data mapping without them all is read for the checks alone.
    """
    from desist.commands.report import pool_measure, read_inputs

    missing = [name for name in ("people", "offences", "pool") if paths[name] is None]
    if (len(missing) == 3 and paths["assessments"] is None) or (missing and data_map is not None):
        return None
    if missing:
        # Read as desist report reads them, the programme's tables come together: none is left unread.
        raise option_error(
            "--data", "people, offences and pool together (and assessments with them when known)",
            got=f"no {', no '.join(missing)}",
        )  # fmt: skip
    files = {**paths, "history": history, "eligible": None, "services": None}
    # The pool's measure as desist report takes it by default (--pool-disposals, --pool-counting).
    return read_inputs(files, None, when, None, pool_measure("conviction,caution", "offences"))


def _data(draft: Any, history: Path | None, data_map: Path | None, programme: Any, people: int, seed: int) -> Any:
    """The design data: the user's history (and the programme's tables), else the synthetic world."""
    from appraisal.designer import file_data, synthetic_data
    from desist.commands.check import read_tables

    if history is None and data_map is None and programme is None:
        return synthetic_data(draft.loaded, n_people=people, seed=seed)
    tables = read_tables(None, data_map) if data_map is not None else {}
    if programme is not None:
        tables |= {"people": programme.people, "pool": programme.pool}
        tables |= {"assessments": programme.assessments} if programme.assessments is not None else {}
    if history is not None:
        tables["history"], _ = read_history(history, None)
    if tables.get("history") is None:
        raise option_error(
            "--history", "a file of last year's people, or a [history] table in the --data-map file", got="neither"
        )
    named = ", ".join(str(p) for p in (history, data_map) if p is not None)
    words = f"Every figure is from {named} ({len(tables['history']):,} people in the history)"
    if programme is not None:
        words += f"; the checks and the report read the programme's people ({len(programme.people):,}) and pool"
    return file_data(tables, words + ".", draft.loaded.spec, None if programme is None else programme.as_of)


def _reporter(data: Any, programme: Any, seed: int) -> Any:
    """The report ``desist report`` writes for a contract: on the synthetic world, or on the programme's tables
    (then the same as ``desist report --spec`` the saved contract with those files); None without either."""
    from dataclasses import replace

    if data.world is None and programme is None:
        return None

    def report(contract: Any) -> str:
        from appraisal import AppraisalInputs, appraise
        from desist.sections import build_report

        if programme is None:
            inputs = AppraisalInputs.from_world(data.world, contract)
        else:
            inputs = replace(programme, spec=contract.spec, contract=contract)
        return build_report(appraise(inputs, seed=seed)).to_html()

    return report


def register(app: typer.Typer) -> None:
    app.command("design")(design)
