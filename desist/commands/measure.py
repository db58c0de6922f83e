"""``desist measure``: proven reoffending per person from people and offence files, on any engine.

Reads the people (person_id and the index date) and their offence events
(person_id, offence_date, disposal_date, disposal) from Parquet or CSV files
(or from the tables of a ``--data-map`` file, in your own columns, codes and dates),
checks them (the same rules and messages on every engine), and counts proven
reoffending per person. ``--engine duckdb`` reads the files from disk out of
core (``--memory-limit 4GB`` caps its memory, spilling to disk past it), so an
offence table of any size can be measured on one machine; ``--engine spark``
runs on the active Spark session, else a local one (``--spark-master``).

``--out DIR`` writes ``per_person.parquet`` (the people file's columns, then
index_date, observable, reason, reoffended, reoffences, days_to_first: a
cohort or pool for ``desist evaluate``; ``--observable-only`` keeps the
observable people) and ``reoffending.json`` (the counts below).

JSON (``--json``): the envelope of :mod:`desist.commands.common` with
``results`` = :meth:`outcomes.ProvenReoffending.to_dict`::

    {
      "follow_up_days", "waiting_days", "disposals", "counting", "as_of", "engine",
      "counts": {"all", "observable", "excluded: <reason>", ...},
      "offence_counts": {"all", "linked", "excluded: person_id matches no one in people"},
      "rate": {"k", "n", "estimate", "ci_low", "ci_high", ...},
      "frequency": {"events", "n", "per_100", "ci_low", "ci_high", ...}
    }
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from desist import tables, terminal
from desist.commands.common import (
    data_map_option,
    emit,
    json_option,
    mapped_tables,
    out_option,
    output_folder,
    parse_date,
    split_columns,
    step,
    write_json,
    written,
)
from desist.format import Column, Table, count, interval
from outcomes import proven_reoffending
from outcomes.engines import DuckDB, Spark


def measure(
    ctx: typer.Context,
    people: Path = typer.Option(None, "--people", help="People file (Parquet or CSV): person_id and the index date."),
    offences: Path = typer.Option(
        None, "--offences", help="Offence events (Parquet or CSV): person_id, offence_date, disposal_date, disposal."
    ),
    data_map: Path = data_map_option(),
    index: str = typer.Option("start_date", "--index", help="People's column holding the index date."),
    follow_up_days: int = typer.Option(365, "--follow-up-days", help="Days after the index date an offence counts."),
    waiting_days: int = typer.Option(182, "--waiting-days", help="Further days for the offence to be proven."),
    as_of: str = typer.Option(None, "--as-of", help="The data's as-of date (YYYY-MM-DD)."),
    disposals: str = typer.Option("conviction,caution", "--disposals", help="Comma-separated disposals that prove."),
    counting: str = typer.Option("offences", "--counting", help="offences or court_appearances."),
    engine: str = typer.Option("pandas", "--engine", help="pandas (in memory), duckdb (out of core) or spark."),
    memory_limit: str = typer.Option(None, "--memory-limit", help="DuckDB's memory limit, e.g. 4GB."),
    spark_master: str = typer.Option(
        "local[*]", "--spark-master", help="Master of the Spark session made when none is active."
    ),
    observable_only: bool = typer.Option(
        False,
        "--observable-only/--everyone",
        help="Write only the observable people (the others are counted), or everyone.",
    ),
    out: Path = out_option("per_person.parquet and reoffending.json"),
    as_json: bool = json_option(),
) -> None:
    """Count proven reoffending per person and write the per-person table.

    Examples:

        desist measure --people examples/data/people.csv \\
            --offences examples/data/offences.csv --as-of 2025-06-30

        desist measure --data-map data.toml --as-of 2025-09-30

        desist measure --people pool.parquet --offences pnc_events.parquet \\
            --engine duckdb --memory-limit 4GB --as-of 2025-06-30 --out pool/
    """
    chosen = {"duckdb": DuckDB(memory_limit=memory_limit), "spark": Spark(master=spark_master)}.get(engine, engine)
    tables = mapped_tables(data_map, ("people", "offences"), people=people, offences=offences)
    with output_folder(ctx, out) as folder:
        with step(f"Measuring proven reoffending on {engine}", quiet=as_json):
            result = proven_reoffending(
                tables["people"],
                tables["offences"],
                index=index,
                follow_up_days=follow_up_days,
                waiting_days=waiting_days,
                as_of=parse_date(as_of, "as-of"),
                disposals=split_columns(disposals),
                counting=counting,
                engine=chosen,
            )
        if folder is not None:
            result.to_parquet(folder.path("per_person.parquet"), tables["people"], observable_only=observable_only)
            write_json(result.to_dict(), folder, "reoffending.json")
    files = written(folder)
    if as_json:
        emit(ctx, result.to_dict(), files)
        return
    show_reoffending(result, first=True)
    terminal.files(files)


#: The offence rows' counts in words.
OFFENCE_WORDS = {"all": "Offence rows", "linked": "Linked to these people"}


def show_reoffending(result: Any, *, first: bool = False) -> None:
    """Proven reoffending for people: the definition, who and which offences were counted, the rate and frequency."""
    measured = result.to_dict()
    terminal.heading("Proven reoffending", first=first)
    definition = result.summary().splitlines()[0].removeprefix("Proven reoffending: ")
    terminal.paragraph(definition[:1].upper() + definition[1:])
    terminal.table(tables.counts_table(measured["counts"], "Who was counted"))
    offences = {
        OFFENCE_WORDS.get(k, k.replace("excluded:", "Left out:").replace("person_id", "the person's ID")): n
        for k, n in measured["offence_counts"].items()
    }
    rows = tables.counts_table(offences).frame
    terminal.table(Table(rows, {"step": Column("Offences", "text"), "people": Column("Rows", "count")}))
    rate, frequency = measured["rate"], measured["frequency"]
    per_100 = interval(frequency["per_100"], frequency["ci_low"], frequency["ci_high"], "number")
    terminal.facts(
        {
            "Reoffended": f"{interval(rate['estimate'], rate['ci_low'], rate['ci_high'], 'percent')}, "
            f"{count(rate['k'])} of {count(rate['n'])} people",
            "Proven reoffences per 100 people": f"{per_100}, {count(frequency['events'])} in {count(frequency['n'])} "
            "people",
        }
    )


def register(app: typer.Typer) -> None:
    app.command("measure")(measure)
