"""``desist demo``: the whole appraisal on the built-in synthetic world (:func:`appraisal.demo`).

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

import appraisal
from appraisal.demo import check_settings
from desist import terminal
from desist.commands.common import emit, json_option, output_folder, written
from desist.commands.report import (
    WRITING,
    check_files,
    check_reader,
    pdf_option,
    reader_option,
    show_story,
    story_pdf,
    story_progress,
    story_xlsx_option,
    write_appraisal,
)


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
    reader: str = reader_option(),
) -> None:
    """Run the whole story on a synthetic world (no files needed) and write the report.

    Examples:

        desist demo

        desist demo --seed 7 --creaming 1 --parking 1 --out demo-gamed --xlsx --pdf

        desist demo --for provider
    """
    settings = {"n_eligible": n_eligible, "n_pool": n_pool, "draws": draws, "creaming": creaming, "parking": parking}
    check_settings(settings, "desist demo", lambda setting: "--" + setting.replace("_", "-"))
    check_files(out, xlsx=xlsx, pdf=pdf)
    check_reader(reader)
    progress = story_progress(as_json, "making the synthetic world")
    with output_folder(ctx, out) as folder, progress as advance, story_pdf(pdf) as printer:
        story = appraisal.demo(seed, **settings, progress=advance)
        advance(WRITING)
        write_appraisal(story, folder, xlsx=xlsx, printer=printer, first=reader)
    files = written(folder)
    world = story.inputs.world
    if as_json:
        emit(ctx, {"world": world.counts().set_index("table")["rows"].to_dict(), "story": story.to_dict()}, files)
        return
    title, *lines = world.summary().splitlines()
    terminal.heading(title, first=True)
    for line in lines:
        terminal.paragraph(line.removeprefix("  "))
    show_story(story, files, first=False, reader=reader)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
