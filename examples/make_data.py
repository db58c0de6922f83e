"""Write the example input files (examples/data/*.csv) from the synthetic world.

The files stand in for what each user would bring:

- ``eligible.csv``: everyone referred to the pilot (about 1,500), with who enrolled;
- ``people.csv``: the enrolled pilot cohort; ``offences.csv``, ``services.csv``,
  ``assessments.csv``: their records (offences for every eligible person);
- ``pool.csv``: a national comparison pool (15,000) with proven-reoffending outcomes;
- ``history.csv``: last year's enrolled cohort, one row per person with baseline
  characteristics, one 0/1 column per priced outcome of ``specs/intermediate.toml``
  (1 = achieved and paid; not achieved or not measurable = 0), proven reoffending,
  the service ``hours`` and the delivery ``cost`` per person.

Six of the pilot's twelve providers game, one way each, so the screens have
something to find: PRV02 and PRV07 cream (enrolment odds at the hardest decile an
eighth of those at the easiest), PRV04 parks (the hardest cases get a third of the
hours of the easiest), PRV05 leaves 60% of its likely failures unassessed, PRV09
assesses everyone twice more in the payment window (best-of-many), and PRV11 rates
baselines a point low. The seed is fixed: running this again gives the same files.

Run: ``python examples/make_data.py`` (about 2 seconds).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from cohorts.synthetic import make_world
from ground.reading import write_table
from outcomes import MetricSpec
from pricing.inputs import achievement_history

HERE = Path(__file__).resolve().parent
SPEC = HERE / "specs" / "intermediate.toml"
SEED = 2025
N_PROVIDERS = 12
#: Delivery cost: £22 per service hour plus £100 per person for assessment and administration.
COST_PER_HOUR, COST_PER_PERSON = 22.0, 100.0
#: Relative provider sizes in the pilot (unequal, none tiny).
PROVIDER_SHARES = (0.8, 1.2, 1.0, 1.3, 1.1, 0.7, 1.4, 0.9, 1.2, 0.8, 1.0, 0.6)


def _one(provider: int, value: float) -> list[float]:
    """A value for one provider (PRV01 = 1), zero for the others."""
    return [value if j == provider - 1 else 0.0 for j in range(N_PROVIDERS)]


#: Who games how: the README of examples/ names the same providers.
CREAMING = [a + b for a, b in zip(_one(2, 3.0), _one(7, 3.0))]
PARKING = _one(4, 1.5)
MEASUREMENT = {
    "selective_missingness": _one(5, 0.6),
    "extra_assessments": _one(9, 2.0),
    "baseline_deflation": _one(11, 1.0),
}


def history_table(spec: MetricSpec, seed: int) -> pd.DataFrame:
    """Last year's enrolled cohort, every outcome window closed, one row per person."""
    # A late as-of date closes every window: last year's outcomes are all known.
    world = make_world(seed=seed, n_eligible=1_500, n_pool=0, n_providers=N_PROVIDERS, as_of="2026-06-30")
    history, _ = achievement_history(spec, world.people, world.assessments, as_of=world.as_of)
    proven = spec.proven_reoffending(history, world.offences, as_of=world.as_of).per_person
    hours = world.services.groupby("person_id")["hours"].sum().reindex(history["person_id"], fill_value=0.0)
    return history.drop(columns=["start_date", "in_programme"]).assign(
        reoffended=proven["reoffended"].astype(int).to_numpy(),
        reoffences=proven["reoffences"].astype(int).to_numpy(),
        hours=hours.to_numpy().round(2),
        cost=(COST_PER_PERSON + COST_PER_HOUR * hours.to_numpy()).round(2),
        ogrs_score=history["ogrs_score"].round(2),
    )


def main(out: Path = HERE / "data") -> dict[str, int]:
    """Write the CSV files into ``out``; returns rows per file."""
    spec = MetricSpec.from_toml(SPEC)
    world = make_world(
        seed=SEED,
        n_eligible=1_500,
        n_pool=15_000,
        n_providers=N_PROVIDERS,
        creaming=CREAMING,
        parking=PARKING,
        provider_shares=list(PROVIDER_SHARES),
        measurement=MEASUREMENT,
    )
    # Rounded to what a real extract holds, which keeps the files small.
    tables = {
        "eligible": world.eligible.assign(ogrs_score=world.eligible["ogrs_score"].round(2)),
        "people": world.people.assign(ogrs_score=world.people["ogrs_score"].round(2)),
        "offences": world.offences,
        "services": world.services.assign(hours=world.services["hours"].round(2)),
        "assessments": world.assessments,
        "pool": world.pool.assign(ogrs_score=world.pool["ogrs_score"].round(2)),
        "history": history_table(spec, SEED - 1),
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        write_table(table, out / f"{name}.csv")
    return {name: len(table) for name, table in tables.items()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "data", help="folder for the CSV files")
    rows = main(parser.parse_args().out)
    print("\n".join(f"{name:<12} {n:>7,} rows" for name, n in rows.items()))
