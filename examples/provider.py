"""Journey 3: a provider checking a proposed metric on its own caseload before signing.

Steps: read the proposed contract (``pricing.Contract``) -> outcome achievement
rates on the caseload, with CIs -> expected income by payment segment (from the
provider's own track record, as ``desist simulate`` takes it) and margins after
delivery costs -> cash flow and the chance of a loss under the contract's
payment terms -> design findings on the contract as written -> the answer:
expected income, margin and the chance of a loss.

Inputs: a contract (default ``specs/intermediate.toml``) and, from ``data/``,
``people.csv``, ``assessments.csv`` and ``services.csv`` (the provider's
people are those with its ``provider_id``).

Run: ``python examples/provider.py --provider PRV09 --out /tmp/provider``
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt

from appraisal.answers import outlook
from desist.format import exact_zeros
from ground.reading import read_table
from pricing import Contract, simulate_contract
from pricing.inputs import achievement_history, simulation_inputs
from validation.design import check_contract

matplotlib.use("Agg")  # figures go to files only

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
AS_OF = "2025-09-30"  # the date of the data extract
#: The provider's delivery cost: £22 per service hour plus £100 per person.
COST_PER_HOUR, COST_PER_PERSON = 22.0, 100.0
CONTRACT_DAYS = 3 * 365


def heading(text: str) -> None:
    print(f"\n== {text} ==")


def main(
    out: Path,
    spec_path: Path = HERE / "specs" / "intermediate.toml",
    provider: str = "PRV09",
    draws: int = 2_000,
    seed: int = 1,
) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    # The contract the commissioner proposes: metric, segments, prices and payment terms in one file.
    contract = Contract.from_toml(spec_path)
    spec = contract.spec
    print(contract.describe())
    people = read_table(DATA / "people.csv", "people", as_of=AS_OF)
    assessments = read_table(DATA / "assessments.csv", "assessments", as_of=AS_OF)
    services = read_table(DATA / "services.csv", "services", as_of=AS_OF)
    caseload = people.loc[people["provider_id"] == provider].reset_index(drop=True)
    hours = services.groupby("person_id")["hours"].sum()
    caseload["cost"] = COST_PER_PERSON + COST_PER_HOUR * caseload["person_id"].map(hours).fillna(0.0)
    print(f"\nCaseload of {provider}: {len(caseload):,} of the contract's {len(people):,} people; data as of {AS_OF}.")

    heading("Outcome achievement on the caseload (Wilson 95% CI; n = people measurable)")
    rates = spec.outcome_rates(caseload, assessments, as_of=AS_OF)
    for r in rates.itertuples():
        print(
            f"  {r.label}: {r.rate:.1%} ({r.ci_low:.1%} to {r.ci_high:.1%}), n = {r.n}; "
            f"not yet measurable {r.not_yet_measurable}, not measurable {r.not_measurable}"
        )
    rates.to_csv(out / "outcome_rates.csv", index=False)

    heading("Expected income by segment under the contract's prices")
    # The track record: people whose windows have all closed, 1 = paid for the outcome.
    record, counts = achievement_history(spec, caseload, assessments, as_of=AS_OF)
    print(f"Track record: {counts['kept']} of {counts['all']} people with every window closed.")
    # As `desist simulate --cohort caseload --history record` would: the track record's rates by segment,
    # the caseload's own delivery costs, the contract's prices and payment terms.
    inputs = simulation_inputs(spec, caseload, history=record)
    tariff, segments, probabilities, costs = inputs.tariff, inputs.segments, inputs.probabilities, inputs.costs
    income = tariff.expected_income(segments, probabilities)
    print(
        income[["n", "achievement", "expected_income", "income_per_person", "ci_low", "ci_high"]].round(2).to_string()
    )
    income.to_csv(out / "expected_income.csv")
    margins = tariff.margins(costs, segments, probabilities)
    print(margins.summary())
    print("Margins count outcome payments only; the service fee below adds the same per person to every segment.")

    heading("Cash flow under the contract's payment terms")
    terms = inputs.structure
    # The provider's part of the contract: the service fee shared by caseload.
    share = len(caseload) / len(people)
    structure = replace(terms, name=f"{terms.name}: {provider}", service_fee=terms.service_fee * share)
    print(structure.summary())
    sim = simulate_contract(
        spec,
        caseload,
        tariff,
        structure,
        draws=draws,
        seed=seed,
        probabilities=probabilities,
        segments=segments,
        costs=costs,
    )
    print(sim.summary())
    exact_zeros(sim.to_frame()).to_csv(out / "cash_flow.csv", index=False)
    ax = sim.plot()
    ax.figure.tight_layout()
    ax.figure.savefig(out / "cash_flow.png", dpi=110)
    plt.close(ax.figure)

    heading("Design findings on the contract as written")
    findings = check_contract(
        contract,
        {"people": caseload, "assessments": assessments, "history": record, "as_of": AS_OF},
        contract_days=CONTRACT_DAYS,
        costs=costs.to_dict(),
    )
    for f in findings:
        print(f"[{f.severity}] {f.code}: {f.message}")

    party = structure.providers[0]
    heading(f"What the contract means for {provider}")
    answer = outlook(sim, party, delivery_cost=float(caseload["cost"].sum()))
    print(answer.sentence())
    print(answer.capital())

    table = sim.party_table()
    result = {
        "provider": provider,
        "n": len(caseload),
        "outcome_rates": rates.to_dict(orient="records"),
        "expected_income": float(income["expected_income"].sum()),
        "margins": margins.to_dict(),
        "p_loss": float(table.loc[party, "p_loss"]),
        "peak_working_capital": float(table.loc[party, "peak_working_capital_mean"]),
        "outlook": answer.to_dict(),
        "simulation": sim.to_dict(),
        "findings": [f.to_dict() for f in findings],
    }
    (out / "provider.json").write_text(json.dumps(result, indent=2, default=float))
    print(f"\nOutputs written to {out}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A provider checks a proposed metric on its own caseload.")
    parser.add_argument("--out", type=Path, default=HERE / "out" / "provider", help="folder for outputs")
    parser.add_argument("--spec", type=Path, default=HERE / "specs" / "intermediate.toml", help="contract (TOML)")
    parser.add_argument("--provider", default="PRV09", help="provider_id of the caseload")
    parser.add_argument("--draws", type=int, default=2_000, help="Monte Carlo draws of the contract")
    parser.add_argument("--seed", type=int, default=1, help="seed of the contract simulation")
    args = parser.parse_args()
    main(args.out, spec_path=args.spec, provider=args.provider, draws=args.draws, seed=args.seed)
