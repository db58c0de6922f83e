"""``desist screen --eligible FILE --services FILE``: creaming, parking and measurement screens.

Reads everyone eligible (with ``enrolled``, ``provider_id`` and a difficulty
column) and the enrolled people's service contacts, and prints the creaming
screen (enrolment by difficulty) and the parking screen (service hours by
difficulty), each within providers and per provider with Holm's correction.
With ``--outcomes`` (person_id plus an attained 0/1 column and, optionally, its
expected probability) it adds observed vs expected attainment by difficulty
decile, a funnel plot of attainment by provider and, beside it, the provider
comparison table (case-mix-adjusted O/E shrunk toward the overall rate, with
intervals and rank intervals; none for providers under 60 people). With
``--people``, ``--assessments`` and ``--spec`` it adds the measurement screens
of every outcome of the spec (assessments per person, baseline ratings,
unmeasured share, deadweight, bunching at the window's end). ``--out DIR``
writes the plots (``screen_creaming``, ``screen_parking``, ``screen_funnel``,
``screen_providers``, ``screen_measurement``; PNG and SVG). A flagged screen is
a result, not an error: the exit status stays 0.

JSON (``--json``): the envelope of :mod:`desist.commands.common` with
``results``::

    {
      "creaming": {"kind", "flagged", "flagged_units", "p_value", "alpha", "test", "correction",
                   "notes", "table": [one row per unit and overall], "deciles": [...]},
      "parking": {...},               # the same keys, for service hours (and attainment
                                      # observed vs expected with --outcomes)
      "funnel": {"kind", "target", "method", "alphas", "phi", "dispersion_p", "adjusted",
                 "outside": {"95": [...], "99.8": [...]}, "units": [...]},   # with --outcomes
      "providers": {"outcome", "unit", "mu", "tau", "overall_rate", "min_n", "case_mix_adjusted",
                    "lower_is_better", "providers": [{"unit", "n", "oe", "shrunken_oe",
                    "shrunken_ci_low", "shrunken_ci_high", "rank_low", "rank_high", ...}]},
      "measurement": {"outcome", "flagged": {"<kind>": [units]},
                      "assessments" | "baseline" | "unmeasured" | "deadweight" | "bunching":
                          {the keys of "creaming", tables with an "outcome" column}},
      "difficulty": "<column used>",
      "notes": ["...", ...]
    }

``funnel`` and ``providers`` are left out without ``--outcomes``; ``measurement``
without ``--people``, ``--assessments`` and ``--spec``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import typer

from desist import tables as people_tables
from desist import terminal
from desist.commands.common import (
    data_map_option,
    emit,
    json_option,
    mapped_tables,
    out_option,
    output_folder,
    parse_date,
    read_data,
    save_figure,
    step,
    written,
)
from desist.format import Table, p_value
from outcomes.spec import MetricSpec
from validation.funnels import limit_label
from validation.screening import ProviderScreens, screen_tables


def screen(
    ctx: typer.Context,
    eligible: Path = typer.Option(None, "--eligible", help="Everyone eligible (CSV/Parquet/Excel) with 'enrolled'."),
    services: Path = typer.Option(None, "--services", help="Service contacts: person_id, date, hours."),
    outcomes: Path | None = typer.Option(None, "--outcomes", help="person_id, attained (0/1), expected (probability)."),
    difficulty: str = typer.Option(
        "difficulty", "--difficulty", help="Difficulty column (higher = harder); default falls back to ogrs_score."
    ),
    by: str = typer.Option(
        "provider_id", "--by", help="Screen within this column too (Holm-corrected); --by '' screens everyone together."
    ),
    people: Path | None = typer.Option(None, "--people", help="The enrolled cohort, for the measurement screens."),
    assessments: Path | None = typer.Option(None, "--assessments", help="Assessments, for the measurement screens."),
    spec_path: Path | None = typer.Option(None, "--spec", help="Metric spec whose outcomes are screened."),
    data_map: Path | None = data_map_option(),
    as_of: str | None = typer.Option(None, "--as-of", help="Date of the data (default: the latest assessment)."),
    as_json: bool = json_option(),
    out: Path | None = out_option("the screens' plots (PNG, SVG)"),
) -> None:
    """Screen providers for creaming (enrolling the easy cases) and parking (serving the hard ones less).

    Examples:

        desist screen --eligible examples/data/eligible.csv \\
            --services examples/data/services.csv

        desist screen --eligible eligible.parquet --services services.parquet \\
            --outcomes outcomes.csv --people people.csv --assessments assessments.csv --spec spec.toml --json
    """
    given = {"eligible": eligible, "services": services, "outcomes": outcomes, "people": people}
    eligible, services, outcomes, people, assessments = mapped_tables(
        data_map, ("eligible", "services"), **given, assessments=assessments
    ).values()
    measuring = [people, assessments, spec_path]
    if any(measuring) and not all(measuring):
        raise typer.BadParameter("the measurement screens need --people, --assessments and --spec together.")
    when = parse_date(as_of, "as-of")
    sources = {"eligible": eligible, "services": services, "outcomes": outcomes, "people": people}
    with output_folder(ctx, out) as folder:
        with step("Reading the files", quiet=as_json):
            tables = {
                "eligible": read_data(eligible, "eligible", option="--eligible", schema=True),
                "services": read_data(services, "services", option="--services", schema=True),
                "outcomes": None if outcomes is None else read_data(outcomes, "outcomes", option="--outcomes"),
            }
            if people is not None and assessments is not None and spec_path is not None:
                tables["spec"] = MetricSpec.from_toml(spec_path)
                for name, path in (("people", people), ("assessments", assessments)):
                    tables[name] = read_data(path, name, option=f"--{name}", schema=True, as_of=when)
        with step("Screening the providers", quiet=as_json):
            screens = screen_tables(**tables, difficulty=difficulty, by=by or None, sources=sources, as_of=when)
        if folder is not None:
            for key, result in screens.results().items():
                save_figure(np.atleast_1d(result.plot())[0], folder, f"screen_{key}")
    files = written(folder)
    if as_json:
        emit(ctx, screens.to_dict(), files)
        return
    show_screens(screens, files)


def _shown(key: str, result: Any) -> tuple[Table, tuple[str, ...]]:
    """The screen's table and the columns that fit a terminal (the rest are in --json and the report)."""
    if key in ("creaming", "parking"):
        middle = ("rate",) if key == "creaming" else ("mean_hours",)
        return people_tables.screen_table(result), ("unit", "n", *middle, "ratio", "p_adjusted", "flagged")
    if key == "funnel":
        level = limit_label(min(result.alphas))
        return people_tables.funnel_table(result), ("unit", "volume", "observed", "value", f"low_{level}",
                                                    f"high_{level}", f"outside_{level}")  # fmt: skip
    return people_tables.providers_table(result), ("unit", "n", "rate", "shrunken_oe", "ranks")


def show_screens(screens: ProviderScreens, files: list[str]) -> None:
    """Each screen under its own heading: its verdict, how it was tested, and its table by provider."""
    for index, (key, result) in enumerate(screens.results().items()):
        if key == "measurement":
            terminal.heading("Measurement screens", first=index == 0)
            terminal.table(people_tables.measurement_summary_table(result), caption=False)
            terminal.paragraph("Each screen by outcome and provider is in --json and in desist report's annex.")
            continue
        title, *lines = result.summary().split("\n\n")[0].splitlines()
        if key in ("creaming", "parking"):
            verdict = "flagged" if result.flagged else "not flagged"
            shown_p = p_value(result.p_value)
            p = f"p {shown_p}" if shown_p.startswith("<") else f"p = {shown_p}"
            title = f"{key.capitalize()} screen: {verdict} ({p}, Holm-corrected)"
        terminal.heading(title, first=index == 0)
        for line in lines:
            terminal.paragraph(line.strip())
        shown, columns = _shown(key, result)
        terminal.table(shown, columns=[c for c in columns if c in shown.shown_columns()], caption=False)
    if screens.notes:
        terminal.heading("Notes")
        for note in screens.notes:
            terminal.paragraph(note[:1].upper() + note[1:])
    terminal.files(files)


def register(app: typer.Typer) -> None:
    app.command("screen")(screen)
