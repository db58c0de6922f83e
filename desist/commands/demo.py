"""``desist demo``: the whole story on the built-in synthetic world.

Builds the world and prints what it holds. Later steps (outcomes, matched
comparison, thresholds, tariffs, contract simulation, screens, report) append
their sections to the same run, so the demo stays the one entry point.
"""

from __future__ import annotations

from pathlib import Path

import typer

from cohorts.synthetic import make_world
from desist.commands.power import demo_section as power_section
from outcomes import MetricSpec

INTERMEDIATE_SPEC = Path(__file__).resolve().parents[2] / "examples" / "specs" / "intermediate.toml"


def demo(
    out: Path = typer.Option(Path("desist-demo"), "--out", help="Folder for the demo's outputs."),
    seed: int = typer.Option(0, "--seed", help="Seed of the synthetic world: the same seed gives the same numbers."),
    n_eligible: int = typer.Option(5_000, "--n-eligible", help="People eligible for referral."),
    n_pool: int = typer.Option(200_000, "--n-pool", help="Size of the national comparison pool."),
) -> None:
    """Run the demo on a synthetic world (no files needed).

    Examples:

        desist demo

        desist demo --seed 7 --out demo-7
    """
    out.mkdir(parents=True, exist_ok=True)
    world = make_world(seed=seed, n_eligible=n_eligible, n_pool=n_pool)
    typer.echo(world.summary())
    typer.echo(world.counts().to_string(index=False))
    typer.echo(outcomes_section(world))
    typer.echo(power_section(world))
    typer.echo(f"\nOutputs in {out.resolve()}")


def outcomes_section(world) -> str:
    """Achievement rates of the intermediate-outcome spec and the cohort's proven reoffending."""
    spec = MetricSpec.from_toml(INTERMEDIATE_SPEC)
    rates = spec.outcome_rates(world.people, world.assessments, as_of=world.as_of)
    lines = [f"\nOutcomes ({spec.name}), as of {world.as_of.date()}:"]
    lines += [
        f"  {r.label}: {100 * r.rate:.1f}% (95% CI {100 * r.ci_low:.1f}-{100 * r.ci_high:.1f}), "
        f"n = {r.n}; not measurable {r.not_measurable}, not yet measurable {r.not_yet_measurable}"
        for r in rates.itertuples()
    ]
    lines.append(spec.proven_reoffending(world.people, world.offences, as_of=world.as_of).summary())
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
