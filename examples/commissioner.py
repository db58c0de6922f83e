"""Journey 1: a commissioner designing a tariff from last year's data.

Steps: last year's cohort -> payment segments -> difficulty model (calibration,
AUC) -> tariffs (flat, by difficulty, incentive-neutral: margins and the
creaming gap) -> payment structure against the sector's ask -> contract
simulation (cash flow, chance of a loss, peak working capital) -> power of the
reoffending measure -> design findings.

Inputs: ``specs/intermediate.toml`` (the metric), ``data/history.csv`` (last
year's people with their achieved outcomes and delivery cost) and
``data/pool.csv`` (the national comparison pool, for base rates).

Run: ``python examples/commissioner.py --out /tmp/commissioner``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt

from cohorts import assign, fit_difficulty
from desist.io import read_frame, read_table
from metrics import minimum_detectable_effect, negative_binomial_shape
from outcomes import MetricSpec
from pricing import PaymentStructure, Tariff, by_difficulty, flat, incentive_neutral, simulate_contract
from pricing.inputs import cohort_pricing, payment_segments, segment_costs
from validation import check_design

matplotlib.use("Agg")  # figures go to files only

HERE = Path(__file__).resolve().parent
COVARIATES = [
    "age",
    "sex",
    "ethnicity",
    "ogrs_score",
    "prior_offences",
    "age_first_conviction",
    "need_accommodation",
    "need_substance",
    "need_mental_health",
    "need_employment",
    "need_family",
]
CONTRACT_DAYS = 3 * 365


def heading(text: str) -> None:
    print(f"\n== {text} ==")


def save(ax, path: Path) -> None:
    ax.figure.tight_layout()
    ax.figure.savefig(path, dpi=110)
    plt.close(ax.figure)


def main(out: Path, draws: int = 2_000, seed: int = 1) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    spec = MetricSpec.from_toml(HERE / "specs" / "intermediate.toml")
    # history.csv is free-form (one 0/1 column per priced outcome); the pool has a schema.
    history = read_frame(HERE / "data" / "history.csv", table="history")
    pool = read_table(HERE / "data" / "pool.csv", "pool")
    print(f"Spec: {spec.name}. Last year's cohort: {len(history):,} people; national pool: {len(pool):,}.")

    heading("Segments")
    print(assign(history, spec.segments).summary())
    segments = payment_segments(history, spec)

    heading("Difficulty: proven reoffending without extra effort, from baseline characteristics")
    model = fit_difficulty(history, "reoffended", COVARIATES)
    calibration = model.calibration()
    print(calibration.summary())
    save(calibration.plot(), out / "calibration.png")
    by_segment = model.predict(history).difficulty.groupby(segments.to_numpy()).agg(n="size", rate="mean")
    print(
        "Mean expected reoffending by payment segment: "
        + ", ".join(f"{r.Index} {r.rate:.1%} (n = {r.n})" for r in by_segment.itertuples())
    )

    heading("Tariffs: the same expected budget spent three ways")
    pricing = cohort_pricing(spec, history, history)
    probabilities, budget = pricing.probabilities, pricing.expected_payments
    costs = segment_costs(None, history, segments)
    spec_tariff = Tariff.from_spec(spec)
    print(f"Expected outcome budget under the spec's prices: £{budget:,.0f} for {len(history):,} people.")
    print("Delivery cost per person by segment (£): " + ", ".join(f"{s} {c:,.0f}" for s, c in costs.items()))
    tariffs = {
        "spec": spec_tariff,
        "flat": flat(budget, probabilities, segments=segments),
        "by_difficulty": by_difficulty(budget, probabilities, segments=segments, costs=costs),
        "incentive_neutral": incentive_neutral(costs, probabilities, budget, segments=segments),
    }
    gaps = {}
    for name, tariff in tariffs.items():
        margins = tariff.margins(costs, segments, probabilities)
        gaps[name] = margins
        tariff.prices.round(0).to_csv(out / f"tariff_{name}.csv")
        margins.to_frame().to_csv(out / f"margins_{name}.csv")
        save(margins.plot(), out / f"margins_{name}.png")
    print(tariffs["incentive_neutral"].summary())
    print("\nCreaming gap = margin per person, easiest minus hardest segment (95% CI); > 0 rewards creaming:")
    for name, m in gaps.items():
        print(
            f"  {name:<18} £{m.gap:>8,.0f}  ({m.gap_ci_low:,.0f} to {m.gap_ci_high:,.0f})  "
            f"easiest {m.easiest}, hardest {m.hardest}"
        )

    heading("Payment structure against the sector's ask (>= 70% of the fee up front, 10-30% at risk)")
    structure = PaymentStructure.from_spec(spec, outcome_budget=budget)
    print(structure.summary())

    heading(f"Contract simulation ({draws:,} draws)")
    sim = simulate_contract(
        spec,
        history,
        spec_tariff,
        structure,
        draws=draws,
        seed=seed,
        probabilities=probabilities,
        segments=segments,
        costs=costs,
    )
    print(sim.summary())
    sim.to_frame().to_csv(out / "cash_flow.csv", index=False)
    save(sim.plot(), out / "cash_flow.png")

    heading("Power of the reoffending measure (1:1 matched comparison, base rates from the national pool)")
    counts = pool["reoffences"].to_numpy(dtype=float)
    power = {
        "binary": minimum_detectable_effect("binary", float(pool["reoffended"].mean()), len(history)),
        "frequency": minimum_detectable_effect(
            "frequency", counts.mean(), len(history), dispersion=negative_binomial_shape(counts)
        ),
    }
    for result in power.values():
        print(result.summary())

    heading(f"Design findings (contract of {CONTRACT_DAYS} days)")
    findings = check_design(
        spec, {"people": history, "history": history, "pool": pool}, contract_days=CONTRACT_DAYS, costs=costs.to_dict()
    )
    for f in findings:
        print(f"[{f.severity}] {f.code}: {f.message}")

    result = {
        "n_history": len(history),
        "auc": calibration.auc.to_dict(),
        "budget": budget,
        "gaps": {name: [m.gap, m.gap_ci_low, m.gap_ci_high] for name, m in gaps.items()},
        "structure": structure.to_dict(),
        "simulation": sim.to_dict(),
        "power": {name: r.to_dict() for name, r in power.items()},
        "findings": [f.to_dict() for f in findings],
    }
    (out / "commissioner.json").write_text(json.dumps(result, indent=2, default=float))
    print(f"\nOutputs written to {out}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A commissioner designs a tariff from last year's data.")
    parser.add_argument("--out", type=Path, default=HERE / "out" / "commissioner", help="folder for outputs")
    parser.add_argument("--draws", type=int, default=2_000, help="Monte Carlo draws of the contract")
    parser.add_argument("--seed", type=int, default=1, help="seed of the contract simulation")
    args = parser.parse_args()
    main(args.out, draws=args.draws, seed=args.seed)
