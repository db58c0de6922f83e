"""``desist link COHORT --people PEOPLE``: find a cohort's people in the national table without a shared ID.

As the Justice Data Lab does when a provider sends names and dates of birth but no PNC number:
:func:`cohorts.linkage.link` links each cohort row to its best match in the people table, with splink, on
names, date of birth, sex and any IDs both files have (``pnc_id``, ``cro_number``, or ``--ids``). A link
needs the match probability of ``--threshold`` (your choice, stated in the output); the rows left unlinked
are counted with their reason. With ``--outcome reoffended`` (a people column, e.g. from ``desist measure``'s
per-person table) it shows the reoffending rate over the cohort and what linkage errors could do to it.

Files: CSV (read as text) or Parquet; dates of birth written YYYY-MM-DD. ``--out DIR`` writes
``linked.csv`` (the cohort's columns, then person_id, best_candidate, match_probability,
second_probability, linked, reason), ``linkage.json`` (the figures below) and ``model.json`` (splink's
trained model, to review or rerun with splink).

JSON (``--json``): the envelope of :mod:`desist.commands.common` with ``results`` =
:meth:`cohorts.linkage.Linkage.to_dict`::

    {
      "threshold", "alpha", "engine", "ids", "outcome", "n_people", "pairs",
      "counts": {"cohort rows", "linked", "not linked: <reason>", ...},
      "linked": {"k", "n", "estimate", "ci_low", "ci_high", ...},
      "people_linked_twice", "expected_false_matches", "expected_missed_matches",
      "estimated_precision", "estimated_recall", "unlinked",
      "rate": {"k", "n", "estimate", "ci_low", "ci_high", ...} or null,
      "bound": {"low", "high"}, "largest_shift": {"down", "up"}, "threshold_range": {"low", "high"},
      "by_threshold": [{"threshold", "linked", "expected_false_matches", "rate", "bound_low", ...}, ...],
      "notes": [...]
    }
"""

from __future__ import annotations

from pathlib import Path

import typer

from cohorts.linkage import THRESHOLDS, UNLINKED, Linkage, link
from desist import tables, terminal
from desist.commands.common import (
    data_map_option,
    emit,
    json_option,
    mapped_tables,
    out_option,
    output_folder,
    split_columns,
    step,
    write_csv,
    write_json,
    written,
)
from desist.format import Column, Table, count, interval, number, percent
from outcomes.engines import DuckDB, Spark


def link_command(
    ctx: typer.Context,
    cohort: Path = typer.Argument(
        None, metavar="COHORT", help="Cohort (CSV or Parquet): first_name, surname, date_of_birth, and sex and IDs."
    ),
    people: Path = typer.Option(
        None, "--people", help="National people table (CSV or Parquet): person_id, the same columns, any IDs."
    ),
    threshold: float = typer.Option(0.9, "--threshold", help="Match probability a link needs (between 0 and 1)."),
    ids: str = typer.Option(
        None,
        "--ids",
        help="Comma-separated ID columns to compare (default: pnc_id and cro_number where both have them).",
    ),
    outcome: str = typer.Option(
        None, "--outcome", help="People column of true/false outcomes (e.g. reoffended): the rate and its bias bound."
    ),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb (in this process) or spark."),
    memory_limit: str = typer.Option(None, "--memory-limit", help="DuckDB's memory limit, e.g. 4GB."),
    spark_master: str = typer.Option(
        "local[*]", "--spark-master", help="Master of the Spark session made when none is active."
    ),
    sample_pairs: int = typer.Option(
        10_000_000, "--sample-pairs", help="Random pairs sampled to estimate splink's u probabilities."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of that sample (the same files give the same links)."),
    data_map: Path = data_map_option(),
    out: Path = out_option("linked.csv, linkage.json and model.json"),
    as_json: bool = json_option(),
) -> None:
    """Link a cohort to the national people table on names, date of birth, sex and any IDs.

    Examples:

        desist link cohort.csv --people pnc_people.parquet --threshold 0.9

        desist link cohort.csv --people per_person.parquet --outcome reoffended \\
            --ids pnc_id --out linked/ --json
    """
    engines: dict[str, DuckDB | Spark] = {
        "duckdb": DuckDB(memory_limit=memory_limit),
        "spark": Spark(master=spark_master),
    }
    chosen = engines.get(engine, engine)
    given = {"cohort": cohort, "people": people}
    cohort, people = mapped_tables(data_map, ("cohort", "people"), given_as={"cohort": "COHORT"}, **given).values()
    with output_folder(ctx, out) as folder:
        with step(f"Linking {cohort} to {people} on {engine}", quiet=as_json):
            result = link(
                cohort,
                people,
                threshold=threshold,
                ids=split_columns(ids) if ids is not None else None,
                outcome=outcome,
                engine=chosen,
                sample_pairs=sample_pairs,
                seed=seed,
            )
        if folder is not None:
            write_csv(result.to_frame(), folder, "linked.csv", index=False)
            write_json(result.to_dict(), folder, "linkage.json")
            write_json(result.model, folder, "model.json")
    files = written(folder)
    if as_json:
        emit(ctx, result.to_dict(), files)
        return
    show_linkage(result)
    terminal.files(files)


def show_linkage(result: Linkage) -> None:
    """Who was linked and at what threshold, the expected errors, then what they would do to the rate."""
    figures, row = result.to_dict(), result.chosen
    share = figures["linked"]
    terminal.heading("Linkage", first=True)
    compared = ", ".join(["names", "date of birth", "sex", *result.ids])
    terminal.paragraph(
        f"{count(len(result.links))} cohort rows linked to {count(result.n_people)} people on {compared} "
        f"(splink on {result.engine}). A link needs a match probability of at least {result.threshold:g}: "
        "your threshold."
    )
    terminal.facts(
        {
            "Linked": f"{interval(share['estimate'], share['ci_low'], share['ci_high'], 'percent')}, "
            f"{count(share['k'])} of {count(share['n'])} rows",
            "Expected false matches": f"{number(row['expected_false_matches'])} "
            f"(estimated precision {percent(row['estimated_precision'], 2)})",
            "Expected missed matches": f"{number(row['expected_missed_matches'])} "
            f"(estimated recall {percent(row['estimated_recall'], 2)})",
            **(
                {"People linked to two rows or more": count(result.people_linked_twice)}
                if result.people_linked_twice
                else {}
            ),
        }
    )
    terminal.table(tables.counts_table(result.counts, "Who was linked"))
    terminal.paragraph("Errors are expected from the match probabilities, taken as calibrated.")
    show_consequences(result)


def show_consequences(result: Linkage) -> None:
    """The rate at the threshold, its bound free of linkage error, and the same at each plausible threshold."""
    row = result.chosen
    terminal.heading("What linkage errors would do to the reoffending rate")
    shown = result.consequences.assign(
        threshold=[
            f"{t:g}" + (" (yours)" if c else "") for t, c in result.consequences[["threshold", "chosen"]].values
        ],
        bound=[f"{percent(lo)} to {percent(hi)}" for lo, hi in result.consequences[["bound_low", "bound_high"]].values],
    )
    columns = {
        "threshold": Column("Threshold", "text"),
        "linked": Column("Linked", "count"),
        "expected_false_matches": Column("Expected false matches", "number"),
        "expected_missed_matches": Column("Expected missed matches", "number"),
    }
    if result.rate is None:
        terminal.paragraph(
            "No --outcome given. A false match gives a person another's offences; a missed match counts a "
            f"reoffender as a desister: over the cohort, linkage errors could move a rate down by up to "
            f"{number(100 * row['shift_down'])} points and up by up to {number(100 * row['shift_up'])} points."
        )
    else:
        rate, low, high = result.rate, *result.threshold_range
        shown_rate = interval(rate.estimate, rate.ci_low, rate.ci_high, "percent")
        terminal.facts(
            {
                f"Reoffending rate at {result.threshold:g}": f"{shown_rate}, {count(rate.k)} of {count(rate.n)} "
                f"people ({UNLINKED})",
                "Free of linkage error": f"between {percent(row['bound_low'])} and {percent(row['bound_high'])}",
                f"Over thresholds {min(THRESHOLDS):g} to {max(THRESHOLDS):g}": f"{percent(low)} to {percent(high)}",
            }
        )
        terminal.paragraph(
            "Free of linkage error: each expected false match may have added a reoffence or hidden one, each "
            "expected missed match hidden one."
        )
        columns |= {
            "rate": Column("Reoffending rate", "percent", ("ci_low", "ci_high")),
            "bound": Column("Free of linkage error", "text"),
        }
    terminal.table(Table(shown, columns, "At each threshold"))


def register(app: typer.Typer) -> None:
    app.command("link")(link_command)
