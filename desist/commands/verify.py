"""``desist verify AUDIT.json``: replay a settlement and say whether every figure is identical.

Checks the SHA-256 of the contract and of every input recorded in the audit,
then settles again (:func:`pricing.verify`). Exit status 0 when every hash and
every figure is identical; 1 naming the input whose hash changed or the figure
that moved.

JSON (``--json``): the envelope of :mod:`desist.commands.common` with
``results`` = ``{"identical": bool, "problems": [str, ...]}``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from desist import terminal
from desist.commands.common import emit, json_option
from pricing.audit import verify as verify_audit


def verify(
    ctx: typer.Context,
    audit: Path = typer.Argument(..., metavar="AUDIT", help="audit.json written by desist settle."),
    as_json: bool = json_option(),
) -> None:
    """Replay a settlement from its audit record; exit 1 if any input or figure changed.

    Examples:

        desist verify settled/audit.json
    """
    result = verify_audit(audit)
    if as_json:
        emit(ctx, result.to_dict())
    elif result.identical:
        terminal.paragraph(result.summary())
    else:
        terminal.heading("Not verified: the settlement does not replay", first=True)
        for problem in result.problems:
            # A problem names a file: kept on one line, whole, so it can be copied and searched for.
            terminal.paragraph(f"- {problem}", wrap=False)
    if not result.identical:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)
