"""``desist price --spec SPEC --history FILE``: build and compare tariffs.

Builds, on last year's people (``--history``), the spec's own tariff (if it
has prices), a flat tariff, one priced by difficulty and an incentive-neutral
one, all spending the same expected budget, and prints each one's prices and
margins by segment with the gap between the easiest and hardest segment (the
incentive to cream). ``--out DIR`` writes the tariff and margin plots (PNG and
SVG) and each tariff as TOML, which ``desist simulate --tariff`` reads.

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
from typing import Any

import numpy as np
import pandas as pd
import typer

from desist.commands.common import (
    about_file, check_numbers, cost_option, emit, json_option,
    out_option, output_dir, parse_costs, read_data, save_figure,
)
from outcomes.spec import MetricSpec
from pricing import Tariff, by_difficulty, flat, incentive_neutral
from pricing.inputs import cohort_pricing, priced_outcomes, segment_costs
from validation.errors import DesistError, SpecError

#: Segments with fewer people than this have their observed rates suppressed in what is shown.
SMALL_CELL = 10


def compare_tariffs(spec: MetricSpec, history: pd.DataFrame, *, costs: dict[str, float] | None = None,
                    budget: float | None = None, strength: float = 1.0,
                    source: str | Path | None = None) -> dict[str, Any]:
    """Tariffs for the spec's priced outcomes on a history table, with their margins.

    ``source`` (the history's file) is named in errors about the history's data.

    Returns a dict with ``segments``, ``rates``, ``costs``, ``budget`` and,
    per tariff name, the :class:`Tariff` and :class:`Margins` (or the reason it
    could not be built).
    """
    if not priced_outcomes(spec):
        raise SpecError(f"The spec '{spec.name}' prices no outcome: give outcomes a price_key.", key="payment.prices")
    # The spec's own tariff first, so an error in its prices is not blamed on the history file.
    tariffs: dict[str, Tariff] = {"spec": Tariff.from_spec(spec)} if spec.payment.get("prices") else {}
    with about_file(source, "--history"):
        pricing = cohort_pricing(spec, history, history)
        cost = segment_costs(costs, history, pricing.segments)
    segments, rates, probs = pricing.segments, pricing.rates, pricing.probabilities
    if budget is None:
        if "spec" not in tariffs:
            raise SpecError("The spec has no [payment.prices], so give the expected outcome budget with --budget.",
                            key="budget")
        budget = pricing.expected_payments
    if not (np.isfinite(budget) and budget > 0):
        # Every builder would fail alike: that is a bad input, not one infeasible tariff.
        raise SpecError(f"The expected outcome budget (--budget, else under the spec's prices) must be a finite "
                        f"amount > 0. Got {budget!r}.", key="budget")
    builders = {
        "flat": lambda: flat(budget, probs, segments=segments),
        "by_difficulty": lambda: by_difficulty(budget, probs, segments=segments, costs=cost, strength=strength),
        "incentive_neutral": lambda: incentive_neutral(cost, probs, budget, segments=segments),
    }
    failures: dict[str, str] = {}
    for name, build in builders.items():
        try:
            tariffs[name] = build()
        except DesistError as exc:
            failures[name] = str(exc)
    margins = {name: t.margins(cost, segments, probs) for name, t in tariffs.items()}
    return {"segments": segments, "rates": rates, "costs": cost, "budget": budget, "tariffs": tariffs,
            "margins": margins, "failures": failures}


def shown_rates(rates: pd.DataFrame) -> pd.DataFrame:
    """Segment rates for display: cells of segments under :data:`SMALL_CELL` people suppressed (NaN)."""
    shown = rates.astype({c: float for c in rates.columns if c != "n"})
    shown.loc[shown["n"] < SMALL_CELL, [c for c in shown.columns if c != "n"]] = np.nan
    return shown


def _comparison(result: dict[str, Any]) -> pd.DataFrame:
    rows = {}
    for name, m in result["margins"].items():
        t = m.table["margin_per_person"]
        rows[name] = {"gap": m.gap, "gap_ci_low": m.gap_ci_low, "gap_ci_high": m.gap_ci_high,
                      "min_margin": t.min(), "max_margin": t.max(), "easiest": m.easiest, "hardest": m.hardest}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("tariff")


def price(
    ctx: typer.Context,
    spec_path: Path = typer.Option(..., "--spec", help="Metric spec (TOML) naming the priced outcomes and segments."),
    history: Path = typer.Option(..., "--history", help="Last year's people (CSV/Parquet/Excel): segment "
                                 "columns, one 0/1 column (or p_<outcome>) per priced outcome, optional 'cost'."),
    cost: list[str] = cost_option(),
    budget: float = typer.Option(None, "--budget", help="Expected outcome payments (£); default: under the "
                                 "spec's own prices."),
    strength: float = typer.Option(1.0, "--strength", help="How strongly by_difficulty follows cost/probability."),
    as_json: bool = json_option(),
    out: Path = out_option("tariff_<name>.toml and the tariff and margins plots (PNG, SVG)"),
) -> None:
    """Build and compare tariffs: prices and margins by segment, and the creaming gap.

    Examples:

        desist price --spec examples/specs/intermediate.toml \\
            --history examples/data/history.csv

        desist price --spec spec.toml --history last_year.parquet \\
            --budget 400000 --cost none=1200 --json --out tariffs/
    """
    spec = MetricSpec.from_toml(spec_path)
    past = read_data(history, "history", option="--history")
    check_numbers(past, list(past.columns), history, "--history")
    result = compare_tariffs(spec, past, costs=parse_costs(cost), budget=budget, strength=strength, source=history)
    comparison = _comparison(result)
    files: list[str] = []
    if out is not None:
        output_dir(out)
        for name, t in result["tariffs"].items():
            toml = out / f"tariff_{name}.toml"
            toml.write_text(t.to_toml())
            files.append(str(toml))
            files += save_figure(t.plot(), out, f"tariff_{name}")
            files += save_figure(result["margins"][name].plot(), out, f"margins_{name}")
    if as_json:
        emit(ctx, {
            "spec": spec.name,
            "budget": result["budget"],
            "segments": shown_rates(result["rates"]).reset_index(),
            "costs": result["costs"],
            "tariffs": {name: {**t.to_dict(), "margins": result["margins"][name].to_dict()}
                        for name, t in result["tariffs"].items()},
            "infeasible": result["failures"],
        }, files)
        return
    typer.echo(f"Tariffs for '{spec.name}': expected outcome budget £{result['budget']:,.0f}; "
               f"{len(result['segments']):,} people in history.")
    typer.echo("Achievement rates by segment (history):\n" + shown_rates(result["rates"]).round(3).to_string())
    small = result["rates"].index[result["rates"]["n"] < SMALL_CELL].tolist()
    if small:
        typer.echo(f"Segments {small} have fewer than {SMALL_CELL} people: their rates are suppressed here and "
                   "their prices rest on very little data; merge them before pricing.")
    for name, t in result["tariffs"].items():
        typer.echo("\n" + t.summary() + "\n" + result["margins"][name].summary())
    for name, reason in result["failures"].items():
        typer.echo(f"\n{name}: not built: {reason}")
    typer.echo("\nComparison (gap = margin per person, easiest minus hardest segment; > 0 rewards creaming):")
    typer.echo(comparison.round(2).to_string())
    typer.echo("Margins count outcome payments only; a service fee paid per person adds the same to every segment.")
    if files:
        typer.echo(f"Plots written to {out}")


def register(app: typer.Typer) -> None:
    app.command("price")(price)
