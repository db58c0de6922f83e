"""``desist demo``: the whole story on the built-in synthetic world.

Builds the world and prints what it holds. Later steps (outcomes, matched
comparison, thresholds, tariffs, contract simulation, screens, report) append
their sections to the same run, so the demo stays the one entry point.
"""

from __future__ import annotations

from pathlib import Path

import typer

from cohorts.synthetic import make_world


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
    typer.echo(f"\nOutputs in {out.resolve()}")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
