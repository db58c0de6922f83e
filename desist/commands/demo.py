"""``desist demo``: the whole story on the built-in synthetic world.

world -> outcomes -> matched comparison -> thresholds -> difficulty -> tariffs
-> contract simulation -> screens -> design checks -> report. No files are
needed; ``--out`` receives ``report.html`` and ``story.json``, and with
``--xlsx`` ``report.xlsx``, with ``--pdf`` ``report.pdf`` (as ``desist report``).

JSON (``--json``): ``results`` holds ``world`` (table sizes) and ``story``
(the same shape as ``desist report``'s results, plus the world's ``truth``).
"""

from __future__ import annotations

from pathlib import Path

import typer

from cohorts.synthetic import make_world
from desist import terminal
from desist.commands.common import emit, json_option, output_folder, written
from desist.commands.report import check_files, pdf_option, show_story, story_xlsx_option, write_story
from desist.story import DEFAULT_SPEC, StoryInputs
from ground.checks import Interval, check_parameter
from ground.errors import MatchingError, ModelError
from outcomes import MetricSpec

#: The smallest synthetic world the whole story runs on (fewer eligible people leave
#: some ethnic groups with no one enrolled, so the propensity model separates).
MIN_ELIGIBLE, MIN_POOL = 200, 1_000
#: The largest: a synthetic world beyond these would take minutes and gigabytes, and shows nothing new.
MAX_ELIGIBLE, MAX_POOL, MAX_DRAWS = 1_000_000, 10_000_000, 1_000_000
MAX_STRENGTH = 20.0


def demo(
    ctx: typer.Context,
    out: Path = typer.Option(
        Path("desist-demo"),
        "--out",
        help="Folder for report.html, story.json and manifest.json (replaced whole if desist wrote it before).",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the synthetic world: the same seed gives the same numbers."),
    n_eligible: int = typer.Option(5_000, "--n-eligible", help="People eligible for referral."),
    n_pool: int = typer.Option(200_000, "--n-pool", help="Size of the national comparison pool."),
    creaming: float = typer.Option(
        0.0, "--creaming", help="Creaming strength: enrolment odds fall 2**-c from the easiest to the hardest decile."
    ),
    parking: float = typer.Option(0.0, "--parking", help="Parking strength: service hours fall 2**-p likewise."),
    draws: int = typer.Option(2_000, "--draws", help="Contract simulation draws."),
    as_json: bool = json_option(),
    xlsx: bool = story_xlsx_option(),
    pdf: bool = pdf_option(),
) -> None:
    """Run the whole story on a synthetic world (no files needed) and write the report.

    Examples:

        desist demo

        desist demo --seed 7 --creaming 1 --parking 1 --out demo-gamed --xlsx --pdf
    """
    # Smaller worlds leave some groups without anyone enrolled: the story's models cannot be fitted.
    check_parameter(n_eligible, "--n-eligible", "desist demo", Interval(int, MIN_ELIGIBLE, MAX_ELIGIBLE))
    check_parameter(n_pool, "--n-pool", "desist demo", Interval(int, MIN_POOL, MAX_POOL))
    check_parameter(draws, "--draws", "desist demo", Interval(int, 1, MAX_DRAWS))
    # A strength of 10 already cuts the odds (or hours) at the hardest decile a thousandfold.
    check_parameter(creaming, "--creaming", "desist demo", Interval(float, 0, MAX_STRENGTH))
    check_parameter(parking, "--parking", "desist demo", Interval(float, 0, MAX_STRENGTH))
    check_files(out, xlsx=xlsx, pdf=pdf)
    with output_folder(ctx, out) as folder:
        world = make_world(seed=seed, n_eligible=n_eligible, n_pool=n_pool, creaming=creaming, parking=parking)
        inputs = StoryInputs.from_world(world, MetricSpec.from_toml(DEFAULT_SPEC))
        try:
            story = write_story(inputs, folder, seed=seed, draws=draws, quiet=as_json, xlsx=xlsx, pdf=pdf)
        except (ModelError, MatchingError) as exc:
            exc.args = (
                f"{exc} (The synthetic world of {n_eligible:,} eligible people may be too small for "
                "the story at this seed: try a larger --n-eligible, e.g. 2000, or another --seed.)",
            )
            raise
    files = written(folder)
    if as_json:
        emit(ctx, {"world": world.counts().set_index("table")["rows"].to_dict(), "story": story.to_dict()}, files)
        return
    title, *lines = world.summary().splitlines()
    terminal.heading(title, first=True)
    for line in lines:
        terminal.paragraph(line.removeprefix("  "))
    show_story(story, files, first=False)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
