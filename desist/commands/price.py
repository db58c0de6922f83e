"""``desist price --spec SPEC --history FILE``: build and compare tariffs.

Builds, on last year's people (``--history``), the spec's own tariff (if it
has prices), a flat tariff, one priced by difficulty and an incentive-neutral
one, all spending the same expected budget, and prints each one's prices and
margins by segment with the gap between the easiest and hardest segment (the
incentive to cream). ``--out DIR`` writes the tariff and margin plots (PNG and
SVG) and each tariff as TOML, which ``desist simulate --tariff`` reads;
``--xlsx`` adds ``tariffs.xlsx`` there (prices, margins and creaming gaps of
every tariff, one sheet each, after a Contents sheet).

JSON (``--json``): the envelope of :mod:`desist.commands.common` with
``results``::

    {
      "spec": "<spec name>",
      "budget": 278000.0,                      # expected outcome payments (£)
      "segments": [{"segment", "n", "<outcome>": rate, ...}, ...],   # history rates;
                                               # null where the segment has < 10 people
      "costs": {"<segment>": cost per person, ...},
      "tariffs": {"spec" | "flat" | "by_difficulty" | "incentive_neutral": {
          "method", "budget", "prices": {"<outcome>": {"<segment>": price}},
          "margins": {"tariff", "alpha", "segments": [{"segment", "n", "achievement",
                      "income_per_person", "cost_per_person", "margin_per_person", "ci_low",
                      "ci_high", ...}], "easiest", "hardest", "gap", "gap_se", "gap_ci": [low, high]}}},
      "infeasible": {"<tariff>": "why it could not be built", ...}
    }
"""

from __future__ import annotations

from pathlib import Path

import typer

from desist.commands.common import (
    check_numbers,
    cost_option,
    emit,
    json_option,
    out_option,
    output_folder,
    parse_costs,
    read_data,
    require_out,
    save_figure,
    write_excel,
    write_text,
    written,
    xlsx_option,
)
from desist.workbook import tariff_sheets
from pricing.comparison import SMALL_CELL, compare_tariffs
from pricing.contract import Contract


def price(
    ctx: typer.Context,
    spec_path: Path = typer.Option(
        ..., "--spec", help="Contract or metric spec (TOML) naming the priced outcomes and segments."
    ),
    history: Path = typer.Option(
        ...,
        "--history",
        help="Last year's people (CSV/Parquet/Excel): segment "
        "columns, one 0/1 column (or p_<outcome>) per priced outcome, optional 'cost'.",
    ),
    cost: list[str] = cost_option(),
    budget: float = typer.Option(
        None, "--budget", help="Expected outcome payments (£); default: under the spec's own prices."
    ),
    strength: float = typer.Option(1.0, "--strength", help="How strongly by_difficulty follows cost/probability."),
    as_json: bool = json_option(),
    out: Path = out_option("tariff_<name>.toml and the tariff and margins plots (PNG, SVG)"),
    xlsx: bool = xlsx_option("tariffs.xlsx", "every tariff's prices, margins and creaming gap"),
) -> None:
    """Build and compare tariffs: prices and margins by segment, and the creaming gap.

    Examples:

        desist price --spec examples/specs/intermediate.toml \\
            --history examples/data/history.csv

        desist price --spec spec.toml --history last_year.parquet \\
            --budget 400000 --cost none=1200 --json --out tariffs/ --xlsx
    """
    require_out(out, xlsx=xlsx)
    with output_folder(ctx, out) as folder:
        contract = Contract.from_toml(spec_path)
        spec = contract.spec
        if not contract.prices and not spec.outcomes:
            note = (
                f"'{spec.name}' pays by rules on reoffending, not per outcome: there is no tariff to price. "
                "desist check and desist simulate judge its rules."
            )
            if as_json:
                emit(ctx, {"spec": spec.name, "tariffs": {}, "note": note}, written(folder))
            else:
                typer.echo(note)
            return
        past = read_data(history, "history", option="--history")
        check_numbers(past, list(past.columns), history, "--history")
        result = compare_tariffs(spec, past, costs=parse_costs(cost), budget=budget, strength=strength, source=history)
        comparison = result.to_frame()
        if folder is not None:
            for name, t in result.tariffs.items():
                write_text(t.to_toml(), folder, f"tariff_{name}.toml")
                save_figure(t.plot(), folder, f"tariff_{name}")
                save_figure(result.margins[name].plot(), folder, f"margins_{name}")
            if xlsx:
                write_excel(tariff_sheets(result, spec), folder, "tariffs.xlsx", title=f"Tariffs for {spec.name}")
    files = written(folder)
    if as_json:
        emit(ctx, {"spec": spec.name, **result.to_dict()}, files)
        return
    typer.echo(
        f"Tariffs for '{spec.name}': expected outcome budget £{result.budget:,.0f}; "
        f"{len(result.segments):,} people in history."
    )
    typer.echo("Achievement rates by segment (history):\n" + result.shown_rates().round(3).to_string())
    small = result.rates.index[result.rates["n"] < SMALL_CELL].tolist()
    if small:
        typer.echo(
            f"Segments {small} have fewer than {SMALL_CELL} people: their rates are suppressed here and "
            "their prices rest on very little data; merge them before pricing."
        )
    for name, t in result.tariffs.items():
        typer.echo("\n" + t.summary() + "\n" + result.margins[name].summary())
    for name, reason in result.failures.items():
        typer.echo(f"\n{name}: not built: {reason}")
    typer.echo("\nComparison (gap = margin per person, easiest minus hardest segment; > 0 rewards creaming):")
    typer.echo(comparison.round(2).to_string())
    typer.echo("Margins count outcome payments only; a service fee paid per person adds the same to every segment.")
    if files:
        typer.echo(f"Plots written to {out}")


def register(app: typer.Typer) -> None:
    app.command("price")(price)
