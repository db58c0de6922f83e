"""``desist verify AUDIT.json``: check a settlement's record, its inputs, its figures and its output files.

In order (:func:`pricing.audit.verify`): ``audit.json`` against the SHA-256
that ``manifest.json`` beside it holds; the SHA-256 of the contract and of every
input (paths relative to the audit file, so it works from any folder and with
the folder moved); then the settlement again, its figures, and ``settlement.json``
and ``ledger.csv`` on disk, byte for byte, naming the first figure that differs
(``ledger.csv row 17: paid £50,000.00 but the contract gives -£50,000.00``); the
workbook against its recorded SHA-256. Exit status 0 when everything is as
recorded; 1 naming what is not, or when the audit is not a record desist wrote.

JSON (``--json``): the envelope of :mod:`desist.commands.common` with
``results`` = ``{"identical": bool, "problems": [str, ...], "notes": [str, ...]}``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from desist import terminal
from desist.commands.common import emit, json_option, pseudonymise_option, read_key, step
from pricing.audit import verify as verify_audit


def verify(
    ctx: typer.Context,
    audit: Path = typer.Argument(..., metavar="AUDIT", help="audit.json written by desist settle."),
    as_json: bool = json_option(),
    pseudonymise: Path = pseudonymise_option(),
) -> None:
    """Replay a settlement from its audit record; exit 1 if any input or figure changed.

    Examples:

        desist verify settled/audit.json

        desist verify shared/audit.json --pseudonymise settlement.key
    """
    with step(f"Replaying the settlement of {audit}", quiet=as_json):
        result = verify_audit(audit, key=read_key(pseudonymise))
    if as_json:
        emit(ctx, result.to_dict())
    elif result.identical:
        terminal.paragraph(result.summary().splitlines()[0])
    else:
        terminal.heading("Not verified: the settlement does not replay", first=True)
        for problem in result.problems:
            # A problem names a file: kept on one line, whole, so it can be copied and searched for.
            terminal.paragraph(f"- {problem}", wrap=False)
    if not as_json:
        for note in result.notes:
            terminal.paragraph(f"Note: {note}")
    if not result.identical:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)
