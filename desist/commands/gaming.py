"""``desist gaming SPEC --history FILE``: what creaming and parking would earn a provider.

The check a commissioner runs before publishing a tariff. On last year's people
(``--history``: one 0/1 column per priced outcome, ``cost`` per person and, to
price parking, ``hours`` of service), for the spec's tariff, payment structure
and segments, and for the flat, by-difficulty and incentive-neutral tariffs
that spend the same budget, it prints how much more a provider makes per
enrolled person by creaming (enrolling the easiest) or parking (cutting hours
for the hardest) than by honest delivery, with 95% bootstrap intervals
(:func:`validation.payoff.gaming_payoff`). Difficulty is the history's
``--difficulty`` column, else a model of ``reoffended`` fitted on the history.
``--out DIR`` writes the plot (``gaming_payoff.png``/``.svg``) and the table
(``gaming_payoff.csv``).

JSON (``--json``): the envelope of :mod:`desist.commands.common` with
``results``::

    {
      "spec": "<spec name>",
      "difficulty": "<which difficulty was used>",
      "cost_per_hour": 22.0,            # £ saved per hour cut (least squares on the history)
      "outcome_share": 1.0,             # share of outcome payments reaching the provider
      "tariffs": {"given" | "flat" | "by_difficulty" | "incentive_neutral": {"method", "budget", "prices"}},
      "infeasible": {"<tariff>": "why it could not be built"},
      "dose_response": [{"outcome", "per_logit_difficulty", "per_log_hours"}, ...],
      "payoff": [{"tariff", "strategy": "honest" | "creaming" | "parking", "strength",
                  "income_per_person", "cost_per_person", "margin_per_person", "gain",
                  "gain_ci_low", "gain_ci_high", "provider_gain", "n"}, ...],
      "notes": ["...", ...]
    }
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from desist import tables, terminal
from desist.commands.common import (
    data_map_option,
    emit,
    json_option,
    out_option,
    output_folder,
    read_history,
    save_figure,
    step,
    write_csv,
    written,
)
from desist.format import exact_zeros
from ground.errors import naming
from pricing.contract import Contract
from validation.payoff import payoff_from_spec


def _strengths(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(v <= 0 for v in values):
        raise typer.BadParameter(f"must be numbers > 0 separated by commas, e.g. 1,2. Got {text!r}.")
    return values


def gaming(
    ctx: typer.Context,
    spec_path: Path = typer.Argument(..., metavar="SPEC", help="Metric spec (TOML): tariff, payment, segments."),
    history: Path = typer.Option(
        None, "--history", help="Last year's people: 0/1 per priced outcome, 'cost', 'hours' (for parking)."
    ),
    data_map: Path = data_map_option(),
    difficulty: str = typer.Option(
        None, "--difficulty", help="History column of difficulty in (0, 1); default: fit one on 'reoffended'."
    ),
    strengths: str = typer.Option("1,2", "--strength", help="Creaming and parking strengths, e.g. 1,2 (2**-s)."),
    draws: int = typer.Option(1000, "--draws", help="Bootstrap resamples of the history for the intervals."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
    as_json: bool = json_option(),
    out: Path = out_option("gaming_payoff.png/.svg and gaming_payoff.csv"),
) -> None:
    """What creaming and parking would earn a provider per person, under this tariff and the alternatives.

    Examples:

        desist gaming examples/specs/intermediate.toml --history examples/data/history.csv

        desist gaming spec.toml --history last_year.parquet --strength 0.5,1,2 --json --out gaming/
    """
    with output_folder(ctx, out) as folder:
        # A contract file or an older metric spec: the contract reader takes both.
        spec = Contract.from_toml(spec_path).spec
        past, history = read_history(history, data_map)
        with step("Pricing creaming and parking", quiet=as_json), naming(str(history), "--history"):
            payoff, how = payoff_from_spec(
                spec, past, difficulty=difficulty, strengths=_strengths(strengths), draws=draws, seed=seed
            )
        if folder is not None:
            # An incentive-neutral tariff's gains are 0 up to float noise: written as 0.
            write_csv(exact_zeros(payoff.to_frame()), folder, "gaming_payoff.csv", index=False)
            save_figure(payoff.plot()[0], folder, "gaming_payoff")
    files = written(folder)
    if as_json:
        emit(ctx, {"spec": spec.name, "difficulty": how, **payoff.to_dict()}, files)
        return
    show_payoff(spec.name, how, payoff, files)


def show_payoff(name: str, how: str, payoff: Any, files: list[str]) -> None:
    """What gaming earns per person under each tariff, as one table with its intervals, and the notes."""
    terminal.heading(f"What gaming would earn a provider under '{name}'", first=True)
    terminal.paragraph(how[:1].upper() + how[1:])
    for line in payoff.summary().splitlines():
        # The per-row lines are the table below.
        if line.strip() and not line.startswith("  "):
            terminal.paragraph(line)
    terminal.table(tables.payoff_table(payoff))
    terminal.files(files)


def register(app: typer.Typer) -> None:
    app.command("gaming")(gaming)
