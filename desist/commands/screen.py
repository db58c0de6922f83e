"""``desist screen --eligible FILE --services FILE``: creaming and parking screens.

Reads everyone eligible (with ``enrolled``, ``provider_id`` and a difficulty
column) and the enrolled people's service contacts, and prints the creaming
screen (enrolment by difficulty) and the parking screen (service hours by
difficulty), each overall and per provider with Holm's correction. With
``--outcomes`` (person_id plus an attained 0/1 column and, optionally, its
expected probability) it adds observed vs expected attainment by difficulty
decile and a funnel plot of attainment by provider. ``--json`` prints the same
as data; ``--out DIR`` writes the plots (PNG and SVG).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import typer

from desist.io import read_frame, read_table
from validation.errors import SchemaError
from validation.funnels import funnel
from validation.gaming import creaming_screen, parking_screen

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
) -> dict[str, Any]:
    """Run the screens on files' tables; returns the results and notes.

    Returns a dict with ``creaming``, ``parking`` (Screens), ``funnel`` (a
    Funnel or None), ``difficulty`` (the column used) and ``notes``.
    """
    notes = []
    if difficulty not in eligible.columns and difficulty == "difficulty" and FALLBACK_DIFFICULTY in eligible.columns:
        notes.append(f"difficulty: no 'difficulty' column, so the OGRS-like score {FALLBACK_DIFFICULTY!r} is used.")
        difficulty = FALLBACK_DIFFICULTY
    if by is not None and by not in eligible.columns:
        notes.append(f"no {by!r} column: screened overall only.")
        by = None
    creaming = creaming_screen(eligible, difficulty=difficulty, by=by)
    enrolled = eligible[eligible["enrolled"].astype(bool)].reset_index(drop=True)
    hours = services.groupby(services["person_id"].astype(str))["hours"].sum()
    ids = enrolled["person_id"].astype(str)
    stray = sorted(set(hours.index) - set(ids))
    if stray:
        notes.append(f"{len(stray)} people in the services file are not enrolled in the eligible file "
                     f"(e.g. {', '.join(stray[:3])}); their contacts are not counted.")
    none = int((~ids.isin(hours.index)).sum())
    notes.append(f"{none} of {len(enrolled)} enrolled people have no service contact and count with 0 hours.")
    enrolled = enrolled.assign(hours=ids.map(hours).fillna(0.0).to_numpy())
    result: dict[str, Any] = {"difficulty": difficulty, "notes": notes, "funnel": None}
    if outcomes is None:
        result["parking"] = parking_screen(enrolled, difficulty=difficulty, by=by)
    else:
        missing = [c for c in ("person_id", attained) if c not in outcomes.columns]
        if missing:
            raise SchemaError(f"The outcomes file needs columns {missing}; columns found: {list(outcomes.columns)}.",
                              table="outcomes")
        has_expected = expected in outcomes.columns
        keep = ["person_id", attained] + ([expected] if has_expected else [])
        merged = enrolled.merge(outcomes[keep].assign(person_id=outcomes["person_id"].astype(str)),
                                on="person_id", how="inner", validate="one_to_one")
        notes.append(f"outcomes known for {len(merged)} of {len(enrolled)} enrolled people.")
        merged = merged.assign(**{attained: merged[attained].astype(float)})
        result["parking"] = parking_screen(merged, difficulty=difficulty, by=by,
                                           attained=attained if has_expected else None,
                                           expected=expected if has_expected else None)
        if by is not None:
            result["funnel"] = funnel(merged, unit=by, outcome=attained)
    result["creaming"] = creaming
    return result


def screen(
    eligible: Path = typer.Option(..., "--eligible", help="Everyone eligible (CSV/Parquet/Excel) with 'enrolled'."),
    services: Path = typer.Option(..., "--services", help="Service contacts: person_id, date, hours."),
    outcomes: Path | None = typer.Option(None, "--outcomes", help="person_id, attained (0/1), expected (probability)."),
    difficulty: str = typer.Option("difficulty", "--difficulty",
                                   help="Difficulty column (higher = harder); default falls back to ogrs_score."),
    by: str = typer.Option("provider_id", "--by", help="Screen within this column too (Holm-corrected)."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    out: Path | None = typer.Option(None, "--out", help="Directory for the plots (PNG and SVG)."),
) -> None:
    """Screen providers for creaming (enrolling the easy cases) and parking (serving the hard ones less).

    Examples:

        desist screen --eligible eligible.csv --services services.csv

        desist screen --eligible eligible.parquet --services services.parquet --outcomes outcomes.csv --json
    """
    tables = screen_tables(
        read_table(eligible, "eligible"), read_table(services, "services"),
        None if outcomes is None else read_frame(outcomes, table="outcomes"),
        difficulty=difficulty, by=by)
    results = {k: tables[k] for k in ("creaming", "parking", "funnel") if tables[k] is not None}
    files = _write_plots(results, out) if out is not None else []
    if as_json:
        payload = {k: v.to_dict() for k, v in results.items()}
        payload |= {"difficulty": tables["difficulty"], "notes": tables["notes"], "files": files}
        typer.echo(json.dumps(payload, indent=2, default=_jsonable))
        return
    blocks = [v.summary() for v in results.values()] + ["\n".join(tables["notes"] + files)]
    typer.echo("\n\n".join(blocks))


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _write_plots(results: dict[str, Any], out: Path) -> list[str]:
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    names = []
    for name, result in results.items():
        ax = result.plot()
        ax.figure.tight_layout()
        for suffix in ("png", "svg"):
            path = out / f"screen_{name}.{suffix}"
            ax.figure.savefig(path, dpi=120)
            names.append(f"wrote {path}")
        plt.close(ax.figure)
    return names


def register(app: typer.Typer) -> None:
    app.command("screen")(screen)
