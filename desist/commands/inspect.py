"""``desist inspect FILE... [--table NAME]``: what your files hold, before anything is computed from them.

The first step of every journey (:func:`ground.profile.profile`): per table, its rows and repeated rows; per
column its kind, missing cells and distinct values, the range of its dates with the forms that read them
(two forms fitting is ambiguous: desist will not read the column until a mapping says which), its codes
with their counts, and repeated ids; across tables, how many rows' ids link to the people table. Files with
the same columns are one table in parts (quarterly drops); ``--table`` names the table all the files are.

It drafts a data mapping file: columns matched to desist's by name and content, codes by their words, every
guess a comment saying what it rests on. Nothing guessed is used: check the draft, then run the journey with
``--data-map``. ``--out DIR`` writes ``data.toml`` (the draft, its sources relative to DIR) and
``profile.json``; without it the draft is printed.

JSON (``--json``): the envelope of :mod:`desist.commands.common` with ``results`` =
``{"tables": [{"files", "rows", "repeated_rows", "table", "why", "columns": [{"name", "kind", "missing",
"distinct", "repeated", "date_range", "formats", "ambiguous", "codes", "desist", "why"}, ...]}, ...],
"links": [{"table", "files", "to", "rows", "linked", "not_linked", "examples"}, ...], "draft": str}``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from desist import terminal
from desist.commands.common import emit, json_option, out_option, output_folder, write_json, write_text, written
from desist.format import Column, Table, count
from ground.profile import Profile, TableProfile, profile
from ground.reading import source_label


def inspect_command(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(
        ..., metavar="FILE...", help="CSV, Parquet or Excel files (a folder: its Parquet)."
    ),
    table: str = typer.Option(None, "--table", help="The desist table the files are (parts of one table)."),
    out: Path = out_option("data.toml (the draft mapping) and profile.json"),
    as_json: bool = json_option(),
) -> None:
    """Profile files before anything is computed: columns, dates, codes, duplicates, links, a draft mapping.

    Examples:

        desist inspect pnc_offences_Q*.csv cohort.csv

        desist inspect extract.xlsx --table offences --out mapping/
    """
    with output_folder(ctx, out) as folder:
        result = profile(files, table)
        draft = result.draft(out if out is not None else ".")
        if folder is not None:
            write_text(draft, folder, "data.toml")
            write_json(result.to_dict(), folder, "profile.json")
    if as_json:
        emit(ctx, {**result.to_dict(), "draft": draft}, written(folder))
        return
    show_profile(result)
    if out is None:
        terminal.heading("A draft data mapping (check it, save it, then use --data-map)")
        terminal.paragraph(draft, wrap=False)
    terminal.files(written(folder))


def show_profile(result: Profile) -> None:
    """Each table's columns, what to check, and how the tables link."""
    for i, t in enumerate(result.tables):
        terminal.heading(f"{source_label(t.files)}: the {t.table} table ({t.why})", first=i == 0)
        terminal.table(columns_table(t))
        for line in checks(t):
            terminal.paragraph(line)
    for link in result.links:
        terminal.paragraph(
            f"{source_label(link['files'])}: {count(link['linked'])} of {count(link['rows'])} rows link to a person in "
            f"the {link['to']} table"
            + (
                f"; {count(link['not_linked'])} do not (e.g. {', '.join(link['examples'])})."
                if link["not_linked"]
                else "."
            )
        )


def columns_table(t: TableProfile) -> Table:
    """One row per column: kind, missing, distinct, dates or codes, and the desist column it was matched to."""
    rows = []
    for c in t.columns:
        if c.date_range:
            seen = f"{c.date_range[0]} to {c.date_range[1]}, written {' or '.join(c.formats)}"
        elif c.codes:
            seen = ", ".join(f"{v} ({n:,})" for v, n in list(c.codes.items())[:6]) + (
                " ..." if len(c.codes) > 6 else ""
            )
        else:
            seen = ""
        rows.append([c.name, c.kind, c.missing, c.distinct, seen, c.desist or ""])
    frame = pd.DataFrame(rows, columns=["column", "kind", "missing", "distinct", "seen", "desist"])
    shown = {
        "column": Column("Column", "text"),
        "kind": Column("Kind", "text"),
        "missing": Column("Missing", "count"),
        "distinct": Column("Distinct", "count"),
        "seen": Column("Dates or values (rows)", "text"),
        "desist": Column("desist's column (guess)", "text"),
    }
    return Table(frame, shown, f"{count(t.rows)} rows, {count(t.repeated_rows)} repeated in full")


def checks(t: TableProfile) -> list[str]:
    """What the user must settle before desist reads the table: ambiguous dates, repeated ids and rows."""
    out = [
        f"{c.name}: ambiguous dates: every value fits {' and '.join(c.formats)} (day and month either way round); "
        "the mapping must say which with date_format."
        for c in t.columns
        if c.ambiguous
    ]
    key = t.column("person_id")
    if key is not None and key.repeated and t.table in ("people", "eligible", "pool", "cohort"):
        out.append(f"{key.name}: {count(key.repeated)} ids are given more than once (one row per person is expected).")
    if t.repeated_rows:
        out.append(f"{count(t.repeated_rows)} rows repeat another row in full: check the extract was not doubled.")
    return out


def register(app: typer.Typer) -> None:
    app.command("inspect")(inspect_command)
