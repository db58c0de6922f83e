"""Compare tariffs on last year's people: the spec's own, flat, by difficulty and incentive-neutral.

Every tariff spends the same expected budget; what differs is how the money
is spread across segments, and so how much more a provider earns per person
from the easiest segment than from the hardest (the creaming gap).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ground.checks import parameter_error
from ground.errors import DesistError, SpecError, naming
from pricing.inputs import cohort_pricing, priced_outcomes, segment_costs
from pricing.tariff import Margins, Tariff, by_difficulty, flat, incentive_neutral

if TYPE_CHECKING:
    from outcomes.spec import MetricSpec

__all__ = ["SMALL_CELL", "TariffSet", "compare_tariffs"]

#: Segments with fewer people than this have their observed rates suppressed in what is shown.
SMALL_CELL = 10


@dataclass(frozen=True)
class TariffSet:
    """Tariffs built on one history, their margins by segment, and the ones that could not be built.

    Attributes
    ----------
    segments : pandas.Series
        Each history row's payment segment.
    rates : pandas.DataFrame
        Achievement rate of each priced outcome by segment, with ``n``.
    costs : pandas.Series
        Delivery cost per person by segment (£).
    budget : float
        Expected outcome payments every tariff spends (£).
    tariffs : dict of str -> Tariff
        ``"spec"`` (when the spec has prices), ``"flat"``, ``"by_difficulty"``, ``"incentive_neutral"``.
    margins : dict of str -> Margins
        Each tariff's margins by segment, with the gap between the easiest and hardest.
    failures : dict of str -> str
        Tariffs that could not be built, with the reason.
    """

    segments: pd.Series
    rates: pd.DataFrame
    costs: pd.Series
    budget: float
    tariffs: dict[str, Tariff]
    margins: dict[str, Margins]
    failures: dict[str, str] = field(default_factory=dict)

    def shown_rates(self) -> pd.DataFrame:
        """Segment rates for display: cells of segments under :data:`SMALL_CELL` people suppressed (NaN)."""
        shown = self.rates.astype({c: float for c in self.rates.columns if c != "n"})
        shown.loc[shown["n"] < SMALL_CELL, [c for c in shown.columns if c != "n"]] = np.nan
        return shown

    def to_frame(self) -> pd.DataFrame:
        """One row per tariff: the creaming gap with its CI, the lowest and highest margin per person."""
        rows = {}
        for name, m in self.margins.items():
            t = m.table["margin_per_person"]
            rows[name] = {
                "gap": m.gap,
                "gap_ci_low": m.gap_ci_low,
                "gap_ci_high": m.gap_ci_high,
                "min_margin": t.min(),
                "max_margin": t.max(),
                "easiest": m.easiest,
                "hardest": m.hardest,
            }
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("tariff")

    def to_dict(self) -> dict[str, object]:
        return {
            "budget": self.budget,
            "segments": self.shown_rates().reset_index(),
            "costs": self.costs,
            "tariffs": {
                name: {**t.to_dict(), "margins": self.margins[name].to_dict()} for name, t in self.tariffs.items()
            },
            "infeasible": self.failures,
        }


def compare_tariffs(
    spec: MetricSpec,
    history: pd.DataFrame,
    *,
    costs: Mapping[str, float] | None = None,
    budget: float | None = None,
    strength: float = 1.0,
    source: str | Path | None = None,
) -> TariffSet:
    """Tariffs for the spec's priced outcomes on a history table, with their margins.

    Parameters
    ----------
    spec : outcomes.MetricSpec
        Names the priced outcomes, the segments and (optionally) its own prices.
    history : pandas.DataFrame
        Last year's people: segment columns, a 0/1 column (or ``p_<outcome>``)
        per priced outcome, optionally a per-person ``cost``.
    costs : mapping of segment -> £, optional
        Delivery cost per person; default: the history's ``cost`` column.
    budget : float, optional
        Expected outcome payments every tariff spends; default: what the
        spec's own prices would pay on the history.
    strength : float, default 1.0
        How strongly ``by_difficulty`` follows cost over probability.
    source : str or Path, optional
        The history's file, named in errors about its data.

    Returns
    -------
    TariffSet

    Examples
    --------
    >>> from outcomes import MetricSpec
    >>> spec = MetricSpec.from_toml("examples/specs/intermediate.toml")  # doctest: +SKIP
    >>> result = compare_tariffs(spec, history, costs={"none": 450})     # doctest: +SKIP
    >>> result.to_frame()[["gap", "gap_ci_low", "gap_ci_high"]]        # doctest: +SKIP
    """
    if not priced_outcomes(spec):
        raise SpecError(f"The spec '{spec.name}' prices no outcome: give outcomes a price_key.", key="payment.prices")
    # The spec's own tariff first, so an error in its prices is not blamed on the history file.
    tariffs: dict[str, Tariff] = {"spec": Tariff.from_spec(spec)} if spec.payment.get("prices") else {}
    with naming(source, "--history"):
        pricing = cohort_pricing(spec, history, history)
        cost = segment_costs(costs, history, pricing.segments)
    segments, probs = pricing.segments, pricing.probabilities
    if budget is None:
        if "spec" not in tariffs:
            raise SpecError(
                "The spec has no [payment.prices], so give the expected outcome budget with --budget.", key="budget"
            )
        budget = pricing.expected_payments
    if not (np.isfinite(budget) and budget > 0):
        # Every builder would fail alike: that is a bad input, not one infeasible tariff.
        raise parameter_error(
            "budget", "compare_tariffs", "a finite amount > 0 (the expected outcome budget: --budget, else the spend "
            "under the spec's prices)", budget,
        )  # fmt: skip
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
    return TariffSet(
        segments=segments,
        rates=pricing.rates,
        costs=cost,
        budget=float(budget),
        tariffs=tariffs,
        margins=margins,
        failures=failures,
    )
