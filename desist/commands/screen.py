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
      "funnel": {"kind", "target", "method", "levels", "phi", "dispersion_p", "adjusted",
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

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import typer

from desist.commands.common import emit, json_option, out_option, output_folder, read_data, save_figure, step, written
from ground.checks import rows_text
from ground.errors import SchemaError, naming
from ground.tables import UnmatchedRowsWarning, check_links
from outcomes.spec import MetricSpec
from validation.funnels import funnel
from validation.gaming import creaming_screen, flag_values, parking_screen
from validation.measurement import measurement_screens
from validation.providers import compare_providers

FALLBACK_DIFFICULTY = "ogrs_score"


def screen_tables(
    eligible: pd.DataFrame,
    services: pd.DataFrame,
    outcomes: pd.DataFrame | None = None,
    *,
    difficulty: str = "difficulty",
    by: str | None = "provider_id",
    attained: str = "attained",
    expected: str = "expected",
    sources: Mapping[str, Path | str] | None = None,
) -> dict[str, Any]:
    """Run the screens on files' tables; returns the results and notes.

    ``sources`` maps ``"eligible"``, ``"services"`` and ``"outcomes"`` to the
    files the tables came from, to name them in errors.

    Returns a dict with ``creaming``, ``parking`` (Screens), ``funnel`` (a
    Funnel or None), ``difficulty`` (the column used) and ``notes``.
    """
    sources = sources or {}
    notes = []
    if difficulty not in eligible.columns and difficulty == "difficulty" and FALLBACK_DIFFICULTY in eligible.columns:
        notes.append(f"difficulty: no 'difficulty' column, so the OGRS-like score {FALLBACK_DIFFICULTY!r} is used.")
        difficulty = FALLBACK_DIFFICULTY
    if by is not None and by not in eligible.columns:
        notes.append(f"no {by!r} column: screened overall only.")
        by = None
    with naming(sources.get("eligible"), "--eligible"):
        creaming = creaming_screen(eligible, difficulty=difficulty, by=by)
    enrolled = eligible[eligible["enrolled"].astype(bool)].reset_index(drop=True)
    with naming(sources.get("services"), "--services"), warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmatchedRowsWarning)  # some strays are counted in the notes below
        check_links(services, enrolled, table="service contacts", to_table="the enrolled people of --eligible")
    hours = services.groupby(services["person_id"].astype(str))["hours"].sum()
    ids = enrolled["person_id"].astype(str)
    stray = sorted(set(hours.index) - set(ids))
    if stray:
        notes.append(
            f"{len(stray)} people in the services file are not enrolled in the eligible file "
            f"(e.g. {', '.join(stray[:3])}); their contacts are not counted."
        )
    none = int((~ids.isin(hours.index)).sum())
    notes.append(f"{none} of {len(enrolled)} enrolled people have no service contact and count with 0 hours.")
    enrolled = enrolled.assign(hours=ids.map(hours).fillna(0.0).to_numpy())
    result: dict[str, Any] = {"difficulty": difficulty, "notes": notes, "funnel": None}
    if outcomes is None:
        with naming(sources.get("eligible"), "--eligible"):
            result["parking"] = parking_screen(enrolled, difficulty=difficulty, by=by)
    else:
        with naming(sources.get("outcomes"), "--outcomes"):
            outcomes = _outcome_flags(outcomes, attained)
        has_expected = expected in outcomes.columns
        keep = ["person_id", attained] + ([expected] if has_expected else [])
        merged = enrolled.merge(outcomes[keep], on="person_id", how="inner")
        notes.append(f"outcomes known for {len(merged)} of {len(enrolled)} enrolled people.")
        with naming(sources.get("outcomes"), "--outcomes"):
            result["parking"] = parking_screen(
                merged,
                difficulty=difficulty,
                by=by,
                attained=attained if has_expected else None,
                expected=expected if has_expected else None,
            )
            if by is not None:
                result["funnel"] = funnel(merged, unit=by, outcome=attained)
                result["providers"] = compare_providers(
                    merged, unit=by, outcome=attained, expected=expected if has_expected else None
                )
    result["creaming"] = creaming
    return result


def measurement_tables(
    spec: MetricSpec,
    people: pd.DataFrame,
    assessments: pd.DataFrame,
    eligible: pd.DataFrame,
    *,
    difficulty: str,
    by: str,
    as_of: Any = None,
):
    """The spec's outcomes on the enrolled people, screened for measurement gaming; with the
    difficulty taken from the eligible table and the needs in ``people`` as case-mix."""
    scored = people.drop(columns=[difficulty], errors="ignore").merge(
        eligible[["person_id", difficulty]].drop_duplicates("person_id"), on="person_id", how="left"
    )
    results = spec.achievement(scored, assessments, as_of=as_of)
    needs = [c for c in scored.columns if c.startswith("need_")]
    return measurement_screens(scored, results, by=by, difficulty=difficulty, covariates=needs)


def _outcome_flags(outcomes: pd.DataFrame, attained: str) -> pd.DataFrame:
    """The outcomes table with string ids and ``attained`` as 0/1 floats; one row per person."""
    missing = [c for c in ("person_id", attained) if c not in outcomes.columns]
    if missing:
        raise SchemaError(
            f"The outcomes file needs columns {missing}; columns found: {list(outcomes.columns)}.", table="outcomes"
        )
    flags = flag_values(outcomes, attained, "attained", "outcomes", "desist screen")
    ids = outcomes["person_id"].astype(str)
    repeated = np.flatnonzero(ids.duplicated(keep=False).to_numpy())
    if repeated.size:
        raise SchemaError(
            f"The outcomes file must have one row per person_id; {ids.iloc[repeated].nunique()} "
            f"people appear more than once (data rows counted from 1): {rows_text(repeated, ids.iloc[repeated])}.",
            table="outcomes",
        )
    return outcomes.assign(person_id=ids, **{attained: flags})


def screen(
    ctx: typer.Context,
    eligible: Path = typer.Option(..., "--eligible", help="Everyone eligible (CSV/Parquet/Excel) with 'enrolled'."),
    services: Path = typer.Option(..., "--services", help="Service contacts: person_id, date, hours."),
    outcomes: Path | None = typer.Option(None, "--outcomes", help="person_id, attained (0/1), expected (probability)."),
    difficulty: str = typer.Option(
        "difficulty", "--difficulty", help="Difficulty column (higher = harder); default falls back to ogrs_score."
    ),
    by: str = typer.Option("provider_id", "--by", help="Screen within this column too (Holm-corrected)."),
    people: Path | None = typer.Option(None, "--people", help="The enrolled cohort, for the measurement screens."),
    assessments: Path | None = typer.Option(None, "--assessments", help="Assessments, for the measurement screens."),
    spec_path: Path | None = typer.Option(None, "--spec", help="Metric spec whose outcomes are screened."),
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
    measuring = [people, assessments, spec_path]
    if any(measuring) and not all(measuring):
        raise typer.BadParameter("the measurement screens need --people, --assessments and --spec together.")
    with output_folder(ctx, out) as folder:
        with step("Reading the files", quiet=as_json):
            frames = (
                read_data(eligible, "eligible", option="--eligible", schema=True),
                read_data(services, "services", option="--services", schema=True),
                None if outcomes is None else read_data(outcomes, "outcomes", option="--outcomes"),
            )
        with step("Screening for creaming and parking", quiet=as_json):
            tables = screen_tables(
                *frames,
                difficulty=difficulty,
                by=by,
                sources={"eligible": eligible, "services": services, "outcomes": outcomes},
            )
        if all(measuring):
            with step("Screening how outcomes are measured", quiet=as_json):
                tables["measurement"] = measurement_tables(
                    MetricSpec.from_toml(spec_path),
                    read_data(people, "people", option="--people", schema=True),
                    read_data(assessments, "assessments", option="--assessments", schema=True),
                    frames[0],
                    difficulty=tables["difficulty"],
                    by=by,
                    as_of=as_of,
                )
        keys = ("creaming", "parking", "funnel", "providers", "measurement")
        results = {k: tables[k] for k in keys if tables.get(k) is not None}
        if folder is not None:
            for key, result in results.items():
                save_figure(np.atleast_1d(result.plot())[0], folder, f"screen_{key}")
    files = written(folder)
    if as_json:
        emit(
            ctx,
            {
                **{k: v.to_dict() for k, v in results.items()},
                "difficulty": tables["difficulty"],
                "notes": tables["notes"],
            },
            files,
        )
        return
    blocks = [v.summary() for v in results.values()] + ["\n".join(tables["notes"] + [f"wrote {f}" for f in files])]
    typer.echo("\n\n".join(blocks))


def register(app: typer.Typer) -> None:
    app.command("screen")(screen)
