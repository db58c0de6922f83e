"""Read and write desist's tables as CSV, Parquet or Excel files.

:func:`read_table` reads a file by its suffix and checks it against the
table's schema (:func:`validation.schemas.validate`), so what comes back has
string ids, real dates and categoricals, or a ``SchemaError`` naming the file
says what is wrong and where.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from ground.checks import shorten
from ground.errors import DesistWarning, SchemaError

FORMATS = {".csv": "CSV", ".parquet": "Parquet", ".pq": "Parquet", ".xlsx": "Excel", ".xlsm": "Excel"}
#: Text encodings a CSV file is read in, in order: UTF-8 (with or without a byte-order mark), then the
#: Windows code page that Excel uses for "CSV" in English-speaking countries.
ENCODINGS = ("utf-8-sig", "cp1252")


class EncodingWarning(DesistWarning):
    """A CSV file was not UTF-8 and was read as Windows-1252 text; check accented names read correctly."""


def _format(path: Path, table: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise SchemaError(
            f"{path}: unknown file type {suffix or '(no suffix)'!r}; desist reads "
            f"{', '.join(FORMATS)} (CSV, Parquet, Excel).",
            table=table,
            source=str(path),
        )
    return FORMATS[suffix]


def read_table(
    path: str | Path,
    table: str,
    *,
    as_of: Any = None,
    people: pd.DataFrame | None = None,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read a table from a CSV, Parquet or Excel file and validate it.

    Parameters
    ----------
    path : str or pathlib.Path
        The file; its suffix (``.csv``, ``.parquet``/``.pq``, ``.xlsx``/``.xlsm``)
        picks the reader.
    table : {"people", "eligible", "assessments", "offences", "services", "pool"}
        The schema to check the file against.
    as_of : date-like, optional
        The data's as-of date; later dates fail.
    people : pandas.DataFrame, optional
        For offences: the people (``person_id``, ``age``, ``start_date``) to
        check offences before birth against.
    sheet : str or int, optional
        Excel only: the sheet name or 0-based position (default the first).

    Returns
    -------
    pandas.DataFrame
        The validated table: ids as strings (``"007"`` stays ``"007"``), dates as
        ``datetime64[ns]``, categories as pandas categoricals.

    Raises
    ------
    SchemaError
        The suffix is unknown, the file cannot be read, or the table breaks
        its schema; the message names the file.

    Examples
    --------
    >>> people = read_table("people.csv", "people", as_of="2025-03-31")  # doctest: +SKIP
    """
    from ground.tables import table_schema, validate  # pandera: only reading a named table needs it

    schema = table_schema(table, source=str(path))
    # The schema's non-date columns are read as text so that validate parses them:
    # ids keep leading zeros and "x" in an age column is reported, not dropped.
    # Dates are left alone: CSV gives text anyway and Excel stores them as dates.
    text = [name for name, column in schema.columns.items() if not str(column.dtype).startswith("datetime64")]
    frame = _read(Path(path), table, sheet, text)
    return validate(frame, table, as_of=as_of, people=people, source=str(path))


def read_frame(path: str | Path, *, table: str = "data", sheet: str | int | None = None) -> pd.DataFrame:
    """Read any table from a CSV, Parquet or Excel file, without a schema.

    For files that are not one of desist's named tables (e.g. one row per
    unit for ``desist evaluate``): columns come back as pandas infers them.

    Parameters
    ----------
    path : str or pathlib.Path
        The file; its suffix picks the reader (see ``FORMATS``).
    table : str, default "data"
        What the file holds, named in errors.
    sheet : str or int, optional
        Excel only: the sheet name or 0-based position (default the first).

    Raises
    ------
    SchemaError
        The suffix is unknown or the file cannot be read; the message names the file.

    Examples
    --------
    >>> units = read_frame("units.parquet")  # doctest: +SKIP
    """
    return _read(Path(path), table, sheet, [])


def _read(path: Path, table: str, sheet: str | int | None, text: list[str]) -> pd.DataFrame:
    kind = _format(path, table)
    if sheet is not None and kind != "Excel":
        warnings.warn(f"The 'sheet' argument is not used for {kind} files and will be ignored.", stacklevel=3)
    if path.is_file() and path.stat().st_size == 0:
        raise SchemaError(f"{path}: the file is empty (not even a header row).", table=table, source=str(path))
    as_text = {name: "str" for name in text}
    try:
        if kind == "CSV":
            frame, header = _read_csv(path, table, as_text)
        elif kind == "Excel":
            header = list(pd.read_excel(path, sheet_name=0 if sheet is None else sheet, header=None, nrows=1).iloc[0])
            frame = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, dtype=as_text)
        else:
            frame = pd.read_parquet(path)
            header = list(frame.columns)
    except SchemaError:
        raise
    except Exception as exc:  # a parser meeting a bad file fails in its own way; the file is to blame
        raise SchemaError(
            f"{path}: cannot read as {kind}: {type(exc).__name__}: {str(exc)[:300]}", table=table, source=str(path)
        ) from None
    _refuse_repeated_names(header, path, table)
    return frame


def _read_csv(path: Path, table: str, as_text: dict[str, str]) -> tuple[pd.DataFrame, list[str]]:
    """The table and its header as written, in the first encoding that reads the whole file."""
    with path.open("rb") as handle:
        head = handle.read(2)
    encodings = ("utf-16",) if head in (b"\xff\xfe", b"\xfe\xff") else ENCODINGS
    for encoding in encodings:
        try:
            frame = pd.read_csv(path, dtype=as_text, encoding=encoding)
        except UnicodeDecodeError:
            continue
        with path.open(encoding=encoding, newline="") as handle:
            header = next(csv.reader(handle), [])
        if encoding == "cp1252":
            warnings.warn(
                f"{path} is not UTF-8 text; it was read as Windows-1252 (Excel's CSV). Save it as "
                "'CSV UTF-8' if names with accents look wrong.",
                EncodingWarning,
                stacklevel=4,
            )
        return frame, header
    raise SchemaError(
        f"{path}: cannot read as CSV: the text is neither UTF-8 nor Windows-1252. Save it as 'CSV UTF-8'.",
        table=table,
        source=str(path),
    )


def _refuse_repeated_names(header: list[Any], path: Path, table: str) -> None:
    """A column name given twice is an error: pandas would rename the second ``age.1`` and use the first."""
    names = ["" if pd.isna(name) else str(name).strip() for name in header]
    seen: dict[str, list[int]] = {}
    for position, name in enumerate(names, start=1):
        seen.setdefault(name, []).append(position)
    repeated = {name: where for name, where in seen.items() if len(where) > 1 and name}
    if repeated:
        described = shorten(f"{name!r} (columns {', '.join(map(str, where))})" for name, where in repeated.items())
        raise SchemaError(
            f"{path}: table {table!r} has the column name{'s' if len(repeated) > 1 else ''} {described} more "
            "than once (columns counted from 1): rename or drop the copies, so it is clear which one desist reads.",
            table=table,
            source=str(path),
        )


def write_table(df: pd.DataFrame, path: str | Path, *, sheet: str = "data") -> Path:
    """Write a table as CSV, Parquet or Excel, chosen by the file's suffix.

    Parameters
    ----------
    df : pandas.DataFrame
        The table; its index is not written.
    path : str or pathlib.Path
        The file to write (see ``FORMATS`` for the suffixes).
    sheet : str, default "data"
        Excel only: the sheet's name.

    Returns
    -------
    pathlib.Path
        The path written. Dates become ISO dates in CSV and dates in Parquet
        and Excel, so :func:`read_table` reads them back unchanged.

    Examples
    --------
    >>> write_table(people, "people.parquet")  # doctest: +SKIP
    PosixPath('people.parquet')
    """
    path = Path(path)
    kind = _format(path, "")
    if kind == "CSV":
        df.to_csv(path, index=False)
    elif kind == "Parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_excel(path, index=False, sheet_name=sheet)
    return path
