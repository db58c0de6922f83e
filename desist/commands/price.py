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

from desist import tables, terminal
from desist.commands.common import (
    cost_option,
    data_map_option,
    emit,
    json_option,
    out_option,
    output_folder,
    parse_costs,
    read_history,
    require_out,
    save_figure,
    write_excel,
    write_text,
    written,
    xlsx_option,
)
from desist.format import COLUMNS, SUPPRESSED, Column, Table, humanise, interval
from desist.workbook import tariff_sheets
from ground.words import count, pounds
from pricing.comparison import SMALL_CELL, compare_tariffs
from pricing.contract import Contract


def price(
    ctx: typer.Context,
    spec_path: Path = typer.Option(
        ..., "--spec", help="Contract or metric spec (TOML) naming the priced outcomes and segments."
    ),
    history: Path = typer.Option(
        None,
        "--history",
        help="Last year's people (CSV/Parquet/Excel): segment "
        "columns, one 0/1 column (or p_<outcome>) per priced outcome, optional 'cost'.",
    ),
    data_map: Path = data_map_option(),
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
                terminal.paragraph(note)
                terminal.files(written(folder))
            return
        past, history = read_history(history, data_map)
        result = compare_tariffs(spec, past, costs=parse_costs(cost), budget=budget, strength=strength, source=history)
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
    show_tariffs(spec, result, files)


def show_tariffs(spec, result, files: list[str]) -> None:
    """The tariffs for people: rates by segment, each tariff's prices and margins, then their creaming gaps."""
    segments, outcomes = tables.segment_names(spec), tables.outcome_names(spec)
    terminal.heading(f"Tariffs for '{spec.name}'", first=True)
    terminal.paragraph(
        f"Expected outcome budget {pounds(result.budget)}; {count(len(result.segments))} people in the history."
    )
    terminal.table(_rates_table(result.rates, segments, outcomes))
    small = result.rates.index[result.rates["n"] < SMALL_CELL].tolist()
    if small:
        terminal.paragraph(
            f"Segments {', '.join(map(str, small))} have fewer than {SMALL_CELL} people: their prices rest on very "
            "little data; merge them before pricing."
        )
    for name, t in result.tariffs.items():
        margins = result.margins[name]
        terminal.heading(f"Tariff: {tables.TARIFF_NAMES.get(name, humanise(name))}")
        terminal.table(tables.prices_table(t, outcomes, segments), caption=False)
        terminal.table(
            tables.margins_table(margins, segments, "Margins per enrolled person by segment"),
            columns=("segment", "n", "income_per_person", "cost_per_person", "margin_per_person"),
        )
        terminal.paragraph(
            f"Creaming gap, {segments.get(str(margins.easiest), margins.easiest)} (easiest) against "
            f"{segments.get(str(margins.hardest), margins.hardest)} (hardest): "
            f"{interval(margins.gap, margins.gap_ci_low, margins.gap_ci_high, 'pounds')} per person."
        )
    for name, reason in result.failures.items():
        terminal.paragraph(f"{tables.TARIFF_NAMES.get(name, humanise(name))}: not built: {reason}")
    terminal.heading("The tariffs compared")
    terminal.table(
        tables.gaps_table(result, segments, "Creaming gap: margin per person, easiest minus hardest segment"),
        columns=("tariff", "gap", "min_margin", "max_margin"),
    )
    terminal.paragraph(
        "A gap above £0 rewards creaming. Margins count outcome payments only; a service fee paid per person adds "
        "the same to every segment."
    )
    terminal.files(files)


def _rates_table(rates, segments: dict[str, str], outcomes: dict[str, str]) -> Table:
    """History's achievement rates, one row per outcome and one column per segment (as the prices are shown)."""
    by_outcome = rates.drop(columns="n").T.astype(object)
    by_outcome[by_outcome.columns[rates["n"].between(1, SMALL_CELL - 1).to_numpy()]] = SUPPRESSED
    by_outcome = by_outcome.rename(columns=str).rename_axis("outcome").reset_index()
    by_outcome["outcome"] = [outcomes.get(str(k), humanise(k)) for k in by_outcome["outcome"]]
    columns = {"outcome": COLUMNS["outcome"]}
    columns.update(
        {str(s): Column(f"{segments.get(str(s), humanise(s))} ({count(n)})", "percent") for s, n in rates["n"].items()}
    )
    return Table(by_outcome, columns, "Achievement rates by segment in the history (people in brackets)")


def register(app: typer.Typer) -> None:
    app.command("price")(price)
