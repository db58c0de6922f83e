"""``desist check SPEC``: read a metric spec and say what it means, or what is wrong.

Prints the parsed spec in plain words (``--json``: as data). A bad spec is a
SpecError naming the key and the allowed values; the CLI prints it and exits 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from outcomes.spec import MetricSpec


def check_report(spec: MetricSpec) -> str:
    """The text ``desist check`` prints for a valid spec."""
    return f"{spec.describe()}\n\nThe spec is valid."


def check(
    spec_path: Path = typer.Argument(..., metavar="SPEC", help="Metric spec (TOML) to check."),
    as_json: bool = typer.Option(False, "--json", help="Print the parsed spec as JSON."),
) -> None:
    """Check a metric spec and print it in plain words.

    Examples:

        desist check examples/specs/intermediate.toml
    """
    spec = MetricSpec.from_toml(spec_path)
    if as_json:
        typer.echo(json.dumps({"valid": True, "spec": spec.to_dict()}, indent=2))
    else:
        typer.echo(check_report(spec))


def register(app: typer.Typer) -> None:
    app.command("check")(check)
