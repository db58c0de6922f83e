"""The ``desist`` command line: a thin typer layer over the library.

Each subcommand lives in its own module under ``desist/commands/`` and
exposes ``register(app)``. Errors from the ``DesistError`` family are printed
as one readable message on stderr with exit status 1 (no traceback); usage
errors exit with status 2 (typer's convention).
"""

from __future__ import annotations

import importlib
import sys

import typer

from ground.errors import DesistError

# Subcommand modules, in the order ``desist --help`` lists them.
COMMANDS: list[str] = [
    "demo",
    "evaluate",
    "power",
    "weight",
    "price",
    "simulate",
    "check",
    "screen",
    "gaming",
    "report",
]

app = typer.Typer(
    name="desist",
    no_args_is_help=True,
    add_completion=False,
    help="Design, price and test outcome metrics for rehabilitation services paid by results.",
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Design, price and test outcome metrics for rehabilitation services paid by results."""


for _name in COMMANDS:
    importlib.import_module(f"desist.commands.{_name}").register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``desist`` console script."""
    try:
        app(args=argv, standalone_mode=True)
    except DesistError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(1)


if __name__ == "__main__":
    main()
