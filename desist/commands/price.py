"""``desist price --spec SPEC --history FILE``: build and compare tariffs.

Builds, on last year's people (``--history``), the spec's own tariff (if it
has prices), a flat tariff, one priced by difficulty and an incentive-neutral
one, all spending the same expected budget, and prints each one's prices and
margins by segment with the gap between the easiest and hardest segment (the
incentive to cream). ``--json`` prints the same as data; ``--out DIR`` writes
the tariff and margin plots (PNG and SVG) and each tariff as TOML, which
``desist simulate --tariff`` reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import typer

from desist.io import FORMATS
from outcomes.spec import MetricSpec
from pricing import Tariff, by_difficulty, flat, incentive_neutral
from pricing.inputs import cohort_probabilities, payment_segments, priced_outcomes, segment_costs, segment_rates
from validation.errors import DesistError, SchemaError, SpecError

#: Segments with fewer people than this have their observed rates suppressed in what is shown.
SMALL_CELL = 10


def read_frame(path: Path, table: str) -> pd.DataFrame:
    """A CSV, Parquet or Excel file as a DataFrame, or a SchemaError naming the file."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise SchemaError(f"{path}: unknown file type {path.suffix or '(no suffix)'!r}; desist reads "
                          f"{', '.join(FORMATS)}.", table=table, source=str(path))
    try:
        if kind == "CSV":
            return pd.read_csv(path)
        if kind == "Excel":
            return pd.read_excel(path)
        return pd.read_parquet(path)
    except (OSError, ValueError, KeyError, ImportError, pd.errors.ParserError) as exc:
        raise SchemaError(f"{path}: cannot read the {table} table as {kind}: {exc}", table=table,
                          source=str(path)) from exc


def parse_pairs(values: list[str] | None, option: str, form: str) -> dict[str, float]:
    """``["women=1500", "none=1200"]`` -> ``{"women": 1500.0, "none": 1200.0}`` for option ``--<option>``."""
    out = {}
    for item in values or []:
        name, sep, amount = item.partition("=")
        try:
            out[name.strip()] = float(amount)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise SpecError(f"The '--{option}' option must be {form}. Got {item!r}.", key=option)
    return out


def parse_costs(values: list[str] | None) -> dict[str, float]:
    """Delivery costs from ``--cost SEGMENT=AMOUNT`` options."""
    return parse_pairs(values, "cost", "SEGMENT=AMOUNT, e.g. --cost women=1500")


def save_figure(ax, out: Path, stem: str) -> list[str]:
    """Write an Axes' figure as PNG and SVG; returns the file names."""
    import matplotlib.pyplot as plt

    fig = ax.figure
    fig.tight_layout()
    names = []
    for suffix in ("png", "svg"):
        path = out / f"{stem}.{suffix}"
        fig.savefig(path, dpi=120)
        names.append(str(path))
    plt.close(fig)
    return names


def compare_tariffs(spec: MetricSpec, history: pd.DataFrame, *, costs: dict[str, float] | None = None,
                    budget: float | None = None, strength: float = 1.0) -> dict[str, Any]:
    """Tariffs for the spec's priced outcomes on a history table, with their margins.

    Returns a dict with ``segments``, ``rates``, ``costs``, ``budget`` and,
    per tariff name, the :class:`Tariff` and :class:`Margins` (or the reason it
    could not be built).
    """
    outcomes = priced_outcomes(spec)
    if not outcomes:
        raise SpecError(f"The spec '{spec.name}' prices no outcome: give outcomes a price_key.", key="payment.prices")
    segments = payment_segments(history, spec)
    rates = segment_rates(history, outcomes, segments)
    probs = cohort_probabilities(history, outcomes, segments, rates)
    cost = segment_costs(costs, history, segments)
    tariffs: dict[str, Tariff] = {}
    if spec.payment.get("prices"):
        tariffs["spec"] = Tariff.from_spec(spec)
    if budget is None:
        if "spec" not in tariffs:
            raise SpecError("The spec has no [payment.prices], so give the expected outcome budget with --budget.",
                            key="budget")
        budget = float(tariffs["spec"].expected_income(segments, probs)["expected_income"].sum())
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
    spec_path: Path = typer.Option(..., "--spec", help="Metric spec (TOML) naming the priced outcomes and segments."),
    history: Path = typer.Option(..., "--history", help="Last year's people (CSV/Parquet/Excel): segment "
                                 "columns, one 0/1 column (or p_<outcome>) per priced outcome, optional 'cost'."),
    cost: list[str] = typer.Option(None, "--cost", help="Delivery cost per person, SEGMENT=AMOUNT (repeat)."),
    budget: float = typer.Option(None, "--budget", help="Expected outcome payments (£); default: under the "
                                 "spec's own prices."),
    strength: float = typer.Option(1.0, "--strength", help="How strongly by_difficulty follows cost/probability."),
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
    out: Path = typer.Option(None, "--out", help="Folder for plots (tariff and margins by segment) and tariff TOML."),
) -> None:
    """Build and compare tariffs: prices and margins by segment, and the creaming gap.

    Examples:

        desist price --spec examples/specs/intermediate.toml --history last_year.csv --cost none=1200

        desist price --spec spec.toml --history last_year.parquet --budget 400000 --json --out tariffs/
    """
    spec = MetricSpec.from_toml(spec_path)
    result = compare_tariffs(spec, read_frame(history, "history"), costs=parse_costs(cost), budget=budget,
                             strength=strength)
    comparison = _comparison(result)
    files: list[str] = []
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for name, t in result["tariffs"].items():
            toml = out / f"tariff_{name}.toml"
            toml.write_text(t.to_toml())
            files.append(str(toml))
            files += save_figure(t.plot(), out, f"tariff_{name}")
            files += save_figure(result["margins"][name].plot(), out, f"margins_{name}")
    if as_json:
        typer.echo(json.dumps({
            "spec": spec.name,
            "budget": result["budget"],
            "segments": shown_rates(result["rates"]).reset_index().astype(object)
            .where(lambda f: f.notna(), None).to_dict(orient="records"),
            "costs": result["costs"].to_dict(),
            "tariffs": {name: {**t.to_dict(), "margins": result["margins"][name].to_dict()}
                        for name, t in result["tariffs"].items()},
            "infeasible": result["failures"],
            "files": files,
        }, indent=2, default=float))
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
