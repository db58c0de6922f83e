"""What every ``desist`` command shares: options, reading files, JSON, figures, progress.

JSON output
-----------
With ``--json`` every command prints exactly one JSON document on stdout::

    {
      "command": "evaluate",            # the subcommand
      "inputs": {"data": "cohort.csv", "treatment": "treated", ...},
      "results": {...},                 # the command's figures; shape in its module docstring
      "files": ["out/balance.csv", ...] # what --out wrote ([] without --out)
    }

``inputs`` holds every option as given, keyed by its long name without the
dashes (``--base-rate`` -> ``base_rate``; ``--json`` left out); paths are
strings. The JSON is strict: NaN and infinities are written as ``null``,
numpy numbers as plain numbers, dates as ISO strings.

Files
-----
Every command that reads tables takes ``--data-map data.toml`` (:func:`data_map_option`): a data mapping
file (:mod:`ground.mapping`) saying where each table is and how its columns, codes and dates are written.
:func:`mapped_tables` gives each table the file its own option named, else the mapping's table, and refuses
a run that has neither for a table it needs (a usage error, exit 2).
:func:`read_data` reads every input file, by its suffix (CSV, Parquet, Excel),
through :mod:`ground.reading` (the reader the library's path-taking functions use), so a
missing or unreadable file gives the same message in every command and in Python. :class:`ground.errors.naming` puts
the file's name in front of any error the library raises
about a table read from it.

Outputs
-------
:func:`output_folder` opens the ``--out`` folder before a command computes
anything (:mod:`desist.outputs`): a bad destination is refused at once, files
are written aside and moved into place whole with a ``manifest.json`` when
the command completes, and a failed or interrupted run leaves the folder as
it was. :func:`save_figure`, :func:`write_json`, :func:`write_csv` and
:func:`write_excel` write into it and return the final paths; ``--xlsx``
(:func:`xlsx_option`) and ``--pdf`` write there too, so they need ``--out``
(:func:`require_out`).

Progress
--------
:func:`step` shows a spinner with the elapsed time on stderr while a step that
may take seconds runs (matching a large pool, simulating contract draws,
settling), once it has run 2 seconds (:func:`desist.terminal.progress`). It is
silent under ``--json`` and when stderr is not a terminal, so pipes and logs
stay clean.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import typer

from desist.outputs import OutputError, OutputFolder, writing
from desist.terminal import progress
from ground.checks import option_error, require_rows, rows_text
from ground.dates import parse_date as parse_date_value
from ground.errors import ParameterError, SchemaError
from ground.jsondata import json_text, jsonable
from ground.reading import TableSource, read_frame, read_table


def json_option() -> Any:
    """The ``--json`` option every command takes."""
    return typer.Option(
        False,
        "--json/--no-json",
        help='Print one JSON document on stdout: {"command", "inputs", "results", "files"} (see the command\'s docs).',
    )


def out_option(what: str) -> Any:
    """The ``--out DIR`` option: ``what`` says which files the command writes there."""
    return typer.Option(
        None,
        "--out",
        help=f"Folder to write {what} and manifest.json; created if missing, replaced whole if desist wrote it.",
    )


def xlsx_option(name: str, what: str) -> Any:
    """The ``--xlsx`` flag: also write the workbook ``name`` (of ``what``) into the ``--out`` folder."""
    return typer.Option(
        False,
        "--xlsx/--no-xlsx",
        help=f"Also write {name} to the --out folder: one Excel workbook of {what}, with number formats, "
        "frozen headers and a Contents sheet saying what each sheet holds.",
    )


def require_out(out: Path | None, *, xlsx: bool = False, pdf: bool = False, report: bool = False) -> None:
    """Refuse ``--xlsx`` or ``--pdf`` without ``--out``: they write into the output folder.

    Raises
    ------
    ParameterError
        A file option was given and ``out`` is None.

    Examples
    --------
    >>> require_out(Path("tariffs"), xlsx=True)
    >>> require_out(None, xlsx=True)
    Traceback (most recent call last):
    ground.errors.ParameterError: The '--xlsx' option must be given with --out DIR: it writes its file into the \
output folder. Got no --out.
    """
    for given, option in ((xlsx, "--xlsx"), (pdf, "--pdf"), (report, "--report")):
        if given and out is None:
            raise option_error(
                option, "given with --out DIR: it writes its file into the output folder", got="no --out"
            )


def cost_option() -> Any:
    """The ``--cost SEGMENT=AMOUNT`` option (repeatable), read by :func:`parse_costs`."""
    return typer.Option(
        None, "--cost", help="Delivery cost per person, SEGMENT=AMOUNT, e.g. women=1500 (repeat for each segment)."
    )


def data_map_option() -> Any:
    """The ``--data-map FILE`` option every command that reads tables takes (:func:`mapped_tables` reads it)."""
    return typer.Option(
        None,
        "--data-map",
        help="Data mapping file (TOML): each table's file(s) or database table, and how its columns, codes and "
        "dates are written (docs/data.md). A table given by its own option is read from that file instead.",
    )


def pseudonymise_option() -> Any:
    """The ``--pseudonymise KEYFILE`` option: person identifiers in the outputs replaced by keyed hashes."""
    return typer.Option(
        None,
        "--pseudonymise",
        help="Key file (at least 32 random bytes; keep it secret): every person identifier in the outputs is "
        "replaced by its HMAC-SHA256 under the key and small counts are suppressed, so they can be shared. "
        "desist verify needs the same key. The key is never written to an output.",
    )


def read_key(path: Path | None) -> bytes | None:
    """The ``--pseudonymise`` key, or None without the option (:func:`ground.pseudonyms.read_key`)."""
    from ground.pseudonyms import read_key as read

    return None if path is None else read(path)


def mapped_tables(
    data_map: Path | None, needed: Sequence[str] = (), *, given_as: Mapping[str, str] | None = None, **given: Any
) -> dict[str, Any]:
    """Each table: the file its own option named, else the table of the ``--data-map`` file, else None.

    ``given`` maps a table's name to its option's value (``people=people``); the option is ``--<name>``
    unless ``given_as`` names it (``{"cohort": "COHORT"}`` for an argument). A table in ``needed`` with
    neither is a usage error (exit 2) saying how to give it.

    Examples
    --------
    >>> mapped_tables(None, people=Path("people.csv"), offences=None)
    {'people': PosixPath('people.csv'), 'offences': None}
    """
    from ground.mapping import read_data_map  # pandera: only when a mapping is given

    mapping = read_data_map(data_map) if data_map is not None else None
    tables = {
        name: value if value is not None or mapping is None or name not in mapping else mapping[name]
        for name, value in given.items()
    }
    missing = [name for name in needed if tables.get(name) is None]
    if missing:
        where = f"{data_map} has no [{missing[0]}] table" if data_map is not None else "no --data-map was given"
        option = (given_as or {}).get(missing[0], f"--{missing[0].replace('_', '-')} FILE")
        raise typer.BadParameter(
            f"the {missing[0]} table is needed: give {option}, or --data-map FILE with a [{missing[0]}] table "
            f"({where})."
        )
    return tables


def mapped_files(data_map: Path | None, names: Sequence[str]) -> dict[str, Path]:
    """The tables among ``names`` that the ``--data-map`` file maps, each given as the mapping file's path.

    Examples
    --------
    >>> mapped_files(None, ["people"])
    {}
    """
    from ground.mapping import read_data_map

    if data_map is None:
        return {}
    return {name: Path(data_map) for name in read_data_map(data_map).tables if name in names}


def read_data(
    path: Path | str | TableSource,
    table: str,
    *,
    option: str,
    schema: bool = False,
    empty: bool = False,
    **kwargs: Any,
) -> pd.DataFrame:
    """Read an input file by its suffix; a missing file is a readable error naming the option.

    Parameters
    ----------
    path : pathlib.Path, str or TableSource
        The file (CSV, Parquet or Excel), or a data mapping's table (:func:`mapped_tables`).
    table : str
        What the file holds: a schema name (``"people"``, ``"eligible"``, ...)
        when ``schema`` is true, else a word used in messages (``"history"``).
    option : str
        The option that named the file, e.g. ``"--history"``, quoted in errors.
    schema : bool, default False
        Check the file against the table's schema (:func:`ground.reading.read_table`).
    empty : bool, default False
        Accept a file with a header and no data rows (offences: no one
        reoffended); otherwise it is an error naming the file.
    **kwargs
        Passed on to :func:`ground.reading.read_table` (``as_of``, ``people``).

    Raises
    ------
    SchemaError
        The file does not exist, is empty, cannot be read, has a column name
        twice, or breaks its schema.

    Examples
    --------
    >>> history = read_data("last_year.csv", "history", option="--history")  # doctest: +SKIP
    """
    path = path if isinstance(path, TableSource) else Path(path)
    if schema:
        frame = read_table(path, table, option=option, **kwargs)
    else:
        frame = read_frame(path, table=table, option=option)
    if not empty:
        require_rows(frame, table, source=f"{path} ({option})")
    return frame


def read_history(history: Path | None, data_map: Path | None, *, needed: bool = True) -> tuple[Any, Any]:
    """``--history`` (or the ``--data-map`` file's [history] table) read, every column a number: (table, source).

    Examples
    --------
    >>> past, source = read_history(Path("examples/data/history.csv"), None)  # doctest: +SKIP
    """
    source = mapped_tables(data_map, ("history",) if needed else (), history=history)["history"]
    if source is None:
        return None, None
    past = read_data(source, "history", option="--history")
    check_numbers(past, list(past.columns), source, "--history")
    return past, source


def check_numbers(
    frame: pd.DataFrame, columns: list[str], path: Any, option: str, *, numeric: tuple[str, ...] = ()
) -> None:
    """Fail on columns that hold numbers except for a few stray words (e.g. age "abc").

    A schema-free file's column is read as text as soon as one cell is not a
    number; matching would then treat every age as its own category. A column
    where at least half the values are numbers is taken to be numeric, and
    every cell that is not is reported with its row. Columns in ``numeric``
    (an outcome, a 0/1 flag) must be numbers throughout.

    Raises
    ------
    SchemaError
        Naming the file, each such column, the rule and the rows (counted from
        1, header not counted) with their values.
    """
    problems = []
    for column in dict.fromkeys([*columns, *numeric]):
        if (
            column not in frame.columns
            or pd.api.types.is_numeric_dtype(frame[column])
            or pd.api.types.is_bool_dtype(frame[column])
        ):
            continue
        given = frame[column].notna().to_numpy()
        numbers = pd.to_numeric(frame[column], errors="coerce").notna().to_numpy()
        stray = np.flatnonzero(given & ~numbers)
        if stray.size and (column in numeric or numbers.sum() >= stray.size):
            shown = rows_text(stray, frame[column].iloc[stray[:5]].tolist())
            problems.append(f"  - {column}: not a number: {stray.size} row(s): {shown}")
    if problems:
        raise SchemaError(
            f"{path} ({option}): columns used as numbers have values that are not numbers "
            "(data rows counted from 1, header not counted):\n" + "\n".join(problems),
            table=option.lstrip("-"),
            source=str(path),
        )


def split_columns(text: str | None) -> list[str]:
    """``"age, sex,,ogrs_score"`` -> ``["age", "sex", "ogrs_score"]``."""
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def parse_pairs(values: list[str] | None, option: str, form: str) -> dict[str, float]:
    """``["women=1500", "none=1200"]`` -> ``{"women": 1500.0, "none": 1200.0}`` for option ``--<option>``.

    Raises
    ------
    ParameterError
        An item that is not NAME=NUMBER with a finite number, or a name given twice.
    """
    out: dict[str, float] = {}
    for item in values or []:
        name, sep, amount = item.partition("=")
        try:
            number = float(amount)
        except ValueError:
            number = math.nan
        if not sep or not name.strip() or not math.isfinite(number) or name.strip() in out:
            raise option_error(f"--{option}", f"{form}, each name once, with a finite number", item)
        out[name.strip()] = number
    return out


def parse_date(text: str | None, option: str) -> pd.Timestamp | None:
    """``"2025-09-30"`` -> a Timestamp, for an option such as ``--as-of``; None stays None.

    Read by :func:`ground.dates.parse_date`, as every date in the library is.

    Raises
    ------
    ParameterError
        Text that is not a date written YYYY-MM-DD (``yesterday``, ``30/09/2025``),
        naming the option, the value and the form.
    """
    if text is None:
        return None
    return parse_date_value(text, f"The '--{option}' option", error=partial(ParameterError, parameter=option))


def parse_costs(values: list[str] | None) -> dict[str, float]:
    """Delivery costs from ``--cost SEGMENT=AMOUNT`` options."""
    return parse_pairs(values, "cost", "SEGMENT=AMOUNT, e.g. --cost women=1500")


def command_inputs(ctx: typer.Context) -> dict[str, Any]:
    """Every option as given, keyed by its long name without the dashes, as plain JSON data."""
    names = {p.name: _long_name(p) for p in ctx.command.params}
    return jsonable({names.get(k, k): v for k, v in ctx.params.items() if k not in ("as_json", "ctx")})


def emit(ctx: typer.Context, results: Mapping[str, Any], files: list[str] | None = None) -> None:
    """Print the command's one JSON document: ``{"command", "inputs", "results", "files"}``."""
    document = {"command": ctx.info_name, "inputs": command_inputs(ctx), "results": results, "files": files or []}
    typer.echo(json_text(document))


def _long_name(param: Any) -> str:
    longs = [o for o in param.opts if o.startswith("--")]
    # An argument (e.g. check's SPEC) has no long option: its metavar names it.
    return longs[0][2:].replace("-", "_") if longs else (getattr(param, "metavar", None) or param.name).lower()


def output_folder(ctx: typer.Context, out: Path | None, option: str = "--out") -> Any:
    """Open the command's ``--out`` folder (a context manager giving None without ``--out``).

    Open it before computing: a destination that is a file, someone else's
    folder or read-only is refused at once. Files are written aside and the
    folder is put in place whole, with ``manifest.json``, when the block ends
    without error.

    Examples
    --------
    >>> with output_folder(ctx, out) as folder:  # doctest: +SKIP
    ...     result = compute()
    ...     if folder is not None:
    ...         write_json(result.to_dict(), folder, "result.json")
    """
    if out is not None:
        _refuse_inputs_inside(Path(out), ctx, option)
    return writing(out, command=str(ctx.info_name), inputs=command_inputs(ctx), option=option)


def _refuse_inputs_inside(out: Path, ctx: typer.Context, option: str) -> None:
    """The output folder is replaced whole: it must not hold a file the command reads."""
    values = [v for k, v in ctx.params.items() if k != "out"]
    paths = [Path(v) for v in values if isinstance(v, Path)]
    paths += [Path(v.partition("=")[2]) for vs in values if isinstance(vs, list) for v in vs if isinstance(v, str)]
    folder = out.resolve()
    inside = [p for p in paths if p.exists() and folder in p.resolve().parents]
    if inside:
        raise OutputError(
            f"{out} ({option}) holds {inside[0]}, which this command reads, and desist replaces its output folder "
            "whole: write the outputs to another folder."
        )


def written(folder: OutputFolder | None) -> list[str]:
    """The final paths of the files a command wrote ([] without ``--out``)."""
    return [] if folder is None else folder.files


def save_figure(ax: Any, folder: OutputFolder, stem: str, suffixes: tuple[str, ...] = ("png", "svg")) -> list[str]:
    """Write an Axes' figure as ``<stem>.png`` and ``.svg`` in the output folder, close it; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = ax.figure
    fig.tight_layout()
    names = []
    for suffix in suffixes:
        fig.savefig(folder.path(f"{stem}.{suffix}"), dpi=120)
        names.append(folder.final(f"{stem}.{suffix}"))
    plt.close(fig)
    return names


def write_json(data: Any, folder: OutputFolder, name: str) -> str:
    """Write ``data`` as strict JSON to the output folder; returns the final path."""
    folder.path(name).write_text(json_text(data), encoding="utf-8")
    return folder.final(name)


def write_csv(frame: pd.DataFrame, folder: OutputFolder, name: str, **kwargs: Any) -> str:
    """Write a table as CSV to the output folder (``kwargs`` go to ``DataFrame.to_csv``); returns the final path."""
    frame.to_csv(folder.path(name), **kwargs)
    return folder.final(name)


def write_text(text: str, folder: OutputFolder, name: str) -> str:
    """Write text (UTF-8) to the output folder; returns the final path."""
    folder.path(name).write_text(text, encoding="utf-8")
    return folder.final(name)


def write_excel(sheets: Any, folder: OutputFolder, name: str, **kwargs: Any) -> str:
    """Write :class:`desist.workbook.Sheet`\\ s as one workbook in the output folder; returns the final path.

    ``kwargs`` (``title``, ``notes``) go to :func:`desist.workbook.write_workbook`.

    Examples
    --------
    >>> with output_folder(ctx, out) as folder:  # doctest: +SKIP
    ...     write_excel(tariff_sheets(comparison, spec), folder, "tariffs.xlsx", title="Tariffs")
    """
    from desist.workbook import write_workbook

    write_workbook(folder.path(name), sheets, **kwargs)
    return folder.final(name)


@contextmanager
def step(description: str, *, quiet: bool) -> Iterator[None]:
    """A spinner with elapsed time on stderr once a slow step has run 2 seconds (:func:`desist.terminal.progress`).

    Silent when ``quiet`` or when stderr is not a terminal.

    Examples
    --------
    >>> with step("Matching 500 people to a pool of 200,000", quiet=True):  # doctest: +SKIP
    ...     m = match(df, "treated", covariates)
    """
    with progress(description, quiet=quiet):
        yield
