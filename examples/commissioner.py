"""Journey 1: a commissioner designing a tariff from last year's data.

Steps: the contract (``pricing.Contract``: metric, segments, prices, payment
terms) -> last year's cohort -> payment segments -> difficulty model
(calibration, AUC) -> tariffs as ``desist price`` builds them (the contract's
prices, flat, by difficulty, incentive-neutral: margins and the creaming gap)
-> payment structure against the sector's ask -> contract simulation as
``desist simulate`` runs it (spend against budget, cash flow, chance of a loss,
peak working capital) -> power of the reoffending measure -> design findings
on the contract as written (as ``desist check``).

Inputs: ``specs/intermediate.toml`` (the contract), ``data/history.csv`` (last
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

from appraisal.answers import spend
from cohorts import assign, fit_difficulty
from desist.format import exact_zeros
from ground.reading import read_frame, read_table
from ground.tables import BASELINE_COVARIATES
from metrics import Design, minimum_detectable_effect, negative_binomial_shape
from pricing import Contract, compare_tariffs, simulate_contract
from pricing.inputs import payment_segments, simulation_inputs
from validation.design import check_contract

matplotlib.use("Agg")  # figures go to files only

HERE = Path(__file__).resolve().parent
CONTRACT_DAYS = 3 * 365


def heading(text: str) -> None:
    print(f"\n== {text} ==")


def save(ax, path: Path) -> None:
    ax.figure.tight_layout()
    ax.figure.savefig(path, dpi=110)
    plt.close(ax.figure)


def main(out: Path, draws: int = 2_000, seed: int = 1) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    # The contract a commissioner would issue: its metric, segments, prices and payment terms in one file.
    contract = Contract.from_toml(HERE / "specs" / "intermediate.toml")
    spec = contract.spec
    # history.csv is free-form (one 0/1 column per priced outcome); the pool has a schema.
    history = read_frame(HERE / "data" / "history.csv", table="history")
    pool = read_table(HERE / "data" / "pool.csv", "pool")
    print(contract.describe())
    print(f"\nLast year's cohort: {len(history):,} people; national pool: {len(pool):,}.")

    heading("Segments")
    print(assign(history, spec.segments).summary())
    segments = payment_segments(history, spec)

    heading("Difficulty: proven reoffending without extra effort, from baseline characteristics")
    model = fit_difficulty(history, "reoffended", BASELINE_COVARIATES)
    calibration = model.calibration()
    print(calibration.summary())
    save(calibration.plot(), out / "calibration.png")
    by_segment = model.predict(history).difficulty.groupby(segments.to_numpy()).agg(n="size", rate="mean")
    print(
        "Mean expected reoffending by payment segment: "
        + ", ".join(f"{r.Index} {r.rate:.1%} (n = {r.n})" for r in by_segment.itertuples())
    )

    heading("Tariffs: the contract's prices, and the same expected budget spent three other ways")
    # What `desist price` builds: every tariff spends what the contract's own prices would pay on last year.
    comparison = compare_tariffs(spec, history, source=HERE / "data" / "history.csv")
    budget, costs = comparison.budget, comparison.costs
    print(f"Expected outcome budget under the contract's prices: £{budget:,.0f} for {len(history):,} people.")
    print("Delivery cost per person by segment (£): " + ", ".join(f"{s} {c:,.0f}" for s, c in costs.items()))
    for name, tariff in comparison.tariffs.items():
        margins = comparison.margins[name]
        tariff.prices.round(0).to_csv(out / f"tariff_{name}.csv")
        margins.to_frame().to_csv(out / f"margins_{name}.csv")
        save(margins.plot(), out / f"margins_{name}.png")
    print(comparison.tariffs["incentive_neutral"].summary())
    print("\nCreaming gap = margin per person, easiest minus hardest segment (95% CI); > 0 rewards creaming:")
    for name, m in comparison.margins.items():
        print(
            f"  {name:<18} £{m.gap:>8,.0f}  ({m.gap_ci_low:,.0f} to {m.gap_ci_high:,.0f})  "
            f"easiest {m.easiest}, hardest {m.hardest}"
        )

    # As `desist simulate` does: last year's people enrolled again, at last year's segment rates.
    inputs = simulation_inputs(spec, history, history=history)
    structure = inputs.structure
    heading("Payment structure against the sector's ask (>= 70% of the fee up front, 10-30% at risk)")
    print(structure.summary())

    heading(f"Contract simulation ({draws:,} draws)")
    sim = simulate_contract(
        spec,
        history,
        inputs.tariff,
        structure,
        draws=draws,
        seed=seed,
        probabilities=inputs.probabilities,
        segments=inputs.segments,
        costs=inputs.costs,
    )
    print(sim.summary())
    expected = spend(sim)
    print(expected.sentence() + " " + expected.risk())
    exact_zeros(sim.to_frame()).to_csv(out / "cash_flow.csv", index=False)
    save(sim.plot(), out / "cash_flow.png")

    heading("Power of the reoffending measure (1:1 matched comparison, base rates from the national pool)")
    counts = pool["reoffences"].to_numpy(dtype=float)
    power = {
        "binary": minimum_detectable_effect(Design("binary", float(pool["reoffended"].mean())), len(history)),
        "frequency": minimum_detectable_effect(
            Design("frequency", counts.mean(), dispersion=negative_binomial_shape(counts)), len(history)
        ),
    }
    for result in power.values():
        print(result.summary())

    heading(f"Design findings (the contract as written, over {CONTRACT_DAYS} days)")
    findings = check_contract(
        contract,
        {"people": history, "history": history, "pool": pool},
        contract_days=CONTRACT_DAYS,
        costs=costs.to_dict(),
    )
    for f in findings:
        print(f"[{f.severity}] {f.code}: {f.message}")

    result = {
        "n_history": len(history),
        "auc": calibration.auc.to_dict(),
        "budget": budget,
        "gaps": {name: [m.gap, m.gap_ci_low, m.gap_ci_high] for name, m in comparison.margins.items()},
        "structure": structure.to_dict(),
        "simulation": sim.to_dict(),
        "spend": expected.to_dict(),
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
