"""The one file reader: every command and every library function that takes a path reads through it.

:func:`read_frame` reads a CSV, Parquet or Excel file by its suffix, with one
set of rules wherever a file is read (``desist settle``, ``desist measure``,
``settle`` and ``proven_reoffending`` given paths, ``verify``):

- a path that is missing, a folder, or of an unknown kind is refused, naming it;
- CSV text is UTF-8 (with or without a byte-order mark) or UTF-16 with its mark;
  other text is read as Windows-1252 (Excel's "CSV") with an :class:`EncodingWarning`;
- a column name given twice is refused (pandas would read the second as
  ``age.1`` and use the first);
- Excel files are read from the first sheet, or the one named;
- chosen columns are read as text as written, so ids keep their leading zeros
  and a stray word in an age column is reported, not dropped;
- one table may be several files (quarterly drops, a Parquet folder): each is
  read by these rules, all must have the same columns, and they are stacked in
  the order given (:func:`read_frames` says which rows came from which file);
- a :class:`TableSource` (a table of a data mapping file, :mod:`ground.mapping`)
  reads itself: its files or database table, its columns renamed, its codes and
  dates in desist's words.

:func:`read_table` also checks the file against its table's schema
(:func:`ground.tables.validate`), so what comes back has string ids, real dates
and categoricals, or a ``SchemaError`` naming the file says what is wrong and where.
"""

from __future__ import annotations

import codecs
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from ground.checks import require_columns, shorten
from ground.dates import DateLike
from ground.errors import DesistWarning, SchemaError

__all__ = [
    "ENCODINGS",
    "FORMATS",
    "EncodingWarning",
    "TableSource",
    "parquet_files",
    "source_label",
    "read_frame",
    "read_frames",
    "read_header",
    "read_table",
    "write_table",
]

FORMATS = {".csv": "CSV", ".parquet": "Parquet", ".pq": "Parquet", ".xlsx": "Excel", ".xlsm": "Excel"}
#: Text encodings a CSV file is read in, in order: UTF-8 (with or without a byte-order mark), then the
#: Windows code page that Excel uses for "CSV" in English-speaking countries.
ENCODINGS = ("utf-8-sig", "cp1252")


class EncodingWarning(DesistWarning):
    """A CSV file was not UTF-8 and was read as Windows-1252 text; check accented names read correctly."""


class TableSource:
    """A table that knows how to read itself: a table of a data mapping file (:class:`ground.mapping.TableMap`).

    :func:`read_frame` and :func:`read_table` hand it the columns wanted (in
    desist's names) and get back the table in desist's words; everything that
    takes a path takes one of these too. ``str(source)`` names it in messages.
    """

    @property
    def label(self) -> str:
        """The source as messages name it."""
        return "a table source"

    def read(self, *, columns: Sequence[str] | None = None, text: Sequence[str] = ()) -> pd.DataFrame:
        """The table: ``columns`` (desist's names; all when None), ``text`` read as text as written."""
        raise NotImplementedError

    def __str__(self) -> str:
        return self.label


#: Where a table may be read from: a file, a Parquet folder, several files, or a table source.
Source = str | Path | Sequence[str | Path] | TableSource


def file_format(path: str | Path, table: str, option: str | None = None) -> str:
    """``"CSV"``, ``"Parquet"`` or ``"Excel"`` for a file that exists; anything else refused, naming it.

    A URL (``s3://...``) is not checked for existence: its reader finds out.

    Parameters
    ----------
    path : str or pathlib.Path
        The file, or a URL.
    table : str
        What it holds, named in errors.
    option : str, optional
        How the caller named the file (``"--people"``), quoted in messages.

    Raises
    ------
    SchemaError
        The path is missing, a folder, or has a suffix desist does not read.

    Examples
    --------
    >>> file_format("people.parquet", "people")  # doctest: +SKIP
    'Parquet'
    """
    given = f"given as {option} for the {table} table" if option else f"the {table} table"
    local = not (isinstance(path, str) and "://" in path)
    path = Path(path) if local else path
    if local and Path(path).is_dir():
        raise SchemaError(
            f"{path}: a folder, not a file ({given}), with no Parquet files in it (a folder is read as the Parquet "
            "files inside it).",
            table=table,
            source=str(path),
        )
    suffix = Path(str(path).rstrip("/")).suffix.lower()
    if suffix not in FORMATS:
        raise SchemaError(
            f"{path}: unknown file type {suffix or '(no suffix)'!r} ({given}); desist reads "
            f"{', '.join(FORMATS)} (CSV, Parquet, Excel).",
            table=table,
            source=str(path),
        )
    if local and not Path(path).is_file():
        raise SchemaError(f"{path}: no such file ({given}).", table=table, source=str(path))
    return FORMATS[suffix]


def read_table(
    path: Source,
    table: str,
    *,
    as_of: DateLike | None = None,
    people: pd.DataFrame | None = None,
    sheet: str | int | None = None,
    option: str | None = None,
) -> pd.DataFrame:
    """Read a table from a CSV, Parquet or Excel file and validate it.

    Parameters
    ----------
    path : str, pathlib.Path, list of them, or TableSource
        The file; its suffix (``.csv``, ``.parquet``/``.pq``, ``.xlsx``/``.xlsm``)
        picks the reader. A folder of Parquet files or a list of files is one
        table in parts (:func:`read_frames`); a :class:`TableSource` (a data
        mapping's table) reads itself.
    table : {"people", "eligible", "assessments", "offences", "services", "pool"}
        The schema to check the file against.
    as_of : DateLike, optional
        The data's as-of date; later dates fail.
    people : pandas.DataFrame, optional
        For offences: the people (``person_id``, ``age``, ``start_date``) to
        check offences before birth against.
    sheet : str or int, optional
        Excel only: the sheet name or 0-based position (default the first).
    option : str, optional
        How the caller named the file (``"--people"``), quoted in messages.

    Returns
    -------
    pandas.DataFrame
        The validated table: ids as strings (``"007"`` stays ``"007"``), dates as
        ``datetime64[ns]``, categories as pandas categoricals.

    Raises
    ------
    SchemaError
        The path is missing or a folder, the suffix is unknown, the file cannot
        be read, or the table breaks its schema; the message names the file.

    Examples
    --------
    >>> people = read_table("people.csv", "people", as_of="2025-03-31")  # doctest: +SKIP
    """
    from ground.tables import validate  # pandera: only reading a named table needs it

    frame = read_frame(path, table=table, sheet=sheet, text=schema_text(table), option=option)
    return validate(frame, table, as_of=as_of, people=people, source=source_label(path))


def source_label(path: Source) -> str:
    """A source as messages name it: the file, the files (``a.csv, b.csv``), or the table source's label.

    Parameters
    ----------
    path : str, pathlib.Path, list of them, or TableSource
        Where a table was read from.

    Examples
    --------
    >>> source_label(["2025Q1.csv", "2025Q2.csv"])
    '2025Q1.csv, 2025Q2.csv'
    """
    if isinstance(path, (list, tuple)):
        return shorten(map(str, path), 4)
    return str(path)


def schema_text(table: str) -> list[str]:
    """The columns of a schema table read as text, for its schema to parse: all but its dates.

    Dates are left alone: CSV gives text anyway and Excel stores them as dates.

    Parameters
    ----------
    table : str
        A schema table (``ground.tables.TABLES``).

    Examples
    --------
    >>> schema_text("offences")
    ['person_id', 'disposal']
    """
    from ground.tables import table_schema

    schema = table_schema(table)
    return [name for name, column in schema.columns.items() if not str(column.dtype).startswith("datetime64")]


def read_frame(
    path: Source,
    *,
    table: str = "data",
    sheet: str | int | None = None,
    columns: Sequence[str] | Mapping[str, str] | None = None,
    text: Sequence[str] = (),
    option: str | None = None,
) -> pd.DataFrame:
    """Read any table from a CSV, Parquet or Excel file (or several, or a table source), without a schema.

    For files that are not one of desist's named tables (e.g. one row per
    unit for ``desist evaluate``) columns come back as pandas infers them;
    ``text`` names columns read as text as written.

    Parameters
    ----------
    path : str, pathlib.Path, list of them, or TableSource
        The file; its suffix picks the reader (see ``FORMATS``). A folder is
        read as the Parquet files in it and a list as its files, stacked
        (:func:`read_frames`); a :class:`TableSource` reads itself.
    table : str, default "data"
        What the file holds, named in errors.
    sheet : str or int, optional
        Excel only: the sheet name or 0-based position (default the first).
    columns : sequence of str, or mapping of argument -> column, optional
        Read only these columns; each must be there (the message lists those
        missing, with the argument that named each, and those present).
    text : sequence of str
        Columns read as text as written, where present (ids keep leading zeros).
    option : str, optional
        How the caller named the file (``"--people"``), quoted in messages.

    Raises
    ------
    SchemaError
        The path is missing or a folder, the suffix is unknown, the file is
        empty, cannot be read, or names a column twice; the message names the file.

    Examples
    --------
    >>> units = read_frame("units.parquet")  # doctest: +SKIP
    """
    if isinstance(path, TableSource):
        wanted = None if columns is None else list(columns.values() if isinstance(columns, Mapping) else columns)
        return path.read(columns=wanted, text=text)
    if not isinstance(path, (str, Path)) or _several(path):
        return read_frames(path, table=table, sheet=sheet, columns=columns, text=text, option=option)[0]
    kind = file_format(path, table, option)
    if sheet is not None and kind != "Excel":
        warnings.warn(f"The 'sheet' argument is not used for {kind} files and will be ignored.", stacklevel=2)
    header, read = _opened(path, kind, sheet, table)
    if columns is not None:
        present = pd.DataFrame(columns=[str(h) for h in header])
        require_columns(present, columns, table=table, source=str(path))
    wanted = (
        None if columns is None else list(dict.fromkeys(columns.values() if isinstance(columns, Mapping) else columns))
    )
    with _blamed(path, kind, table):
        frame: pd.DataFrame = read(wanted, {c: "str" for c in text if c in header})
    return frame


def _opened(path: Any, kind: str, sheet: str | int | None, table: str) -> tuple[list[Any], Any]:
    """The file's header (a name given twice refused) and its reader; an empty or unreadable file refused."""
    local = isinstance(path, Path) or "://" not in str(path)
    if local and Path(path).stat().st_size == 0:
        raise SchemaError(f"{path}: the file is empty (not even a header row).", table=table, source=str(path))
    with _blamed(path, kind, table):
        header, read = _reader(path, kind, sheet, table)
    _refuse_repeated_names(header, path, table)
    return header, read


@contextmanager
def _blamed(path: Any, kind: str, table: str) -> Iterator[None]:
    """A parser meeting a bad file fails in its own way; the file is to blame, in one message naming it."""
    try:
        yield
    except SchemaError:
        raise
    except Exception as exc:
        raise SchemaError(
            f"{path}: cannot read as {kind}: {type(exc).__name__}: {str(exc)[:300]}", table=table, source=str(path)
        ) from None


def _several(path: Any) -> bool:
    """A list of files, or a local folder (read as the Parquet files in it)."""
    if isinstance(path, (list, tuple)):
        return True
    local = isinstance(path, (str, Path)) and "://" not in str(path)
    return local and Path(path).is_dir() and bool(parquet_files(path))


def parquet_files(folder: str | Path) -> list[Path]:
    """The Parquet files (``.parquet``, ``.pq``) anywhere under a folder, in path order.

    Parameters
    ----------
    folder : str or pathlib.Path
        The folder (a Parquet dataset, quarterly drops).

    Examples
    --------
    >>> parquet_files("drops/")  # doctest: +SKIP
    [PosixPath('drops/2025Q1.parquet'), PosixPath('drops/2025Q2.parquet')]
    """
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in (".parquet", ".pq") and p.is_file())


def read_frames(
    paths: str | Path | Sequence[str | Path],
    *,
    table: str = "data",
    sheet: str | int | None = None,
    columns: Sequence[str] | Mapping[str, str] | None = None,
    text: Sequence[str] = (),
    option: str | None = None,
) -> tuple[pd.DataFrame, list[tuple[str, int]]]:
    """One table kept in several files (quarterly extracts, a Parquet folder), stacked in the order given.

    Each file is read by :func:`read_frame`'s rules; every file must have the
    same columns as the first (in any order), so that a quarter with a column
    renamed is refused, not read with gaps. A folder stands for the Parquet
    files in it (:func:`parquet_files`).

    Parameters
    ----------
    paths : str, pathlib.Path or list of them
        The files, in the order their rows are stacked (a folder: its Parquet files).
    table, sheet, columns, text, option
        As :func:`read_frame` (each file is read by it).

    Returns
    -------
    (pandas.DataFrame, list of (str, int))
        The stacked table (a fresh 0-based index), and each file with its
        number of rows, in order: row ``i`` of the table is in the first file
        whose rows reach past it.

    Raises
    ------
    SchemaError
        No files; a file that cannot be read; columns that differ from the first file's.

    Examples
    --------
    >>> offences, parts = read_frames(["2025Q1.csv", "2025Q2.csv"], table="offences")  # doctest: +SKIP
    >>> parts  # doctest: +SKIP
    [('2025Q1.csv', 1200), ('2025Q2.csv', 1180)]
    """
    listed = [paths] if isinstance(paths, (str, Path)) else list(paths)
    files = [f for p in listed for f in (parquet_files(p) if _several(p) else [p])]
    if not files:
        raise SchemaError(f"No files were given for the {table} table.", table=table)
    frames, parts, first = [], [], None
    for path in files:
        header = read_header(path, table=table, sheet=sheet, option=option)
        if first is None:
            first = header
        elif set(header) != set(first):
            raise SchemaError(_differ(path, header, files[0], first), table=table, source=str(path))
        frame = read_frame(path, table=table, sheet=sheet, columns=columns, text=text, option=option)
        frames.append(frame if columns is not None else frame[first])
        parts.append((str(path), len(frame)))
    return pd.concat(frames, ignore_index=True), parts


def _differ(path: Any, header: list[str], first_path: Any, first: list[str]) -> str:
    lacks, extra = [c for c in first if c not in header], [c for c in header if c not in first]
    said = [f"lacks {shorten(map(repr, lacks))}"] if lacks else []
    said += [f"has {shorten(map(repr, extra))} besides"] if extra else []
    return (
        f"{path}: its columns are not those of {first_path} (it {' and '.join(said)}): the files "
        "of one table must have the same columns."
    )


def read_header(
    path: str | Path, *, table: str = "data", sheet: str | int | None = None, option: str | None = None
) -> list[str]:
    """A file's column names as written (a name given twice refused), without reading its rows.

    Parameters
    ----------
    path : str or pathlib.Path
        The file (CSV, Parquet or Excel).
    table : str
        What it holds, named in errors.
    sheet : str or int, optional
        Excel only: the sheet.
    option : str, optional
        How the caller named the file, quoted in messages.

    Examples
    --------
    >>> read_header("pnc_extract.csv", table="offences")  # doctest: +SKIP
    ['PNC_ID', 'Offence Date', 'Disposal Date', 'Outcome']
    """
    header, _ = _opened(path, file_format(path, table, option), sheet, table)
    return ["" if pd.isna(h) else str(h) for h in header]


def _reader(path: Any, kind: str, sheet: str | int | None, table: str) -> tuple[list[Any], Any]:
    """The file's header as written, and a function reading (columns, dtypes) from it."""
    if kind == "CSV":
        encoding = _csv_encoding(path, table)
        header = list(pd.read_csv(path, header=None, nrows=1, dtype=str, encoding=encoding).iloc[0])
        return header, lambda usecols, dtype: pd.read_csv(path, usecols=usecols, dtype=dtype, encoding=encoding)
    if kind == "Excel":
        where = 0 if sheet is None else sheet
        header = list(pd.read_excel(path, sheet_name=where, header=None, nrows=1).iloc[0])
        return header, lambda usecols, dtype: pd.read_excel(path, sheet_name=where, usecols=usecols, dtype=dtype)
    import pyarrow.parquet as pq

    # Parquet keeps its types: validate reads numbers as text ids itself (7 and 7.0 are "7").
    return list(pq.read_schema(path).names), lambda usecols, dtype: pd.read_parquet(path, columns=usecols)


def _csv_encoding(path: Any, table: str) -> str:
    """The first encoding that reads the whole file (read in blocks); a warning when it is Windows-1252."""
    if isinstance(path, str) and "://" in path:
        return ENCODINGS[0]
    with open(path, "rb") as handle:
        if handle.read(2) in (b"\xff\xfe", b"\xfe\xff"):
            return "utf-16"
    for encoding in ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        if encoding == "cp1252":
            warnings.warn(
                f"{path} is not UTF-8 text; it was read as Windows-1252 (Excel's CSV). Save it as "
                "'CSV UTF-8' if names with accents look wrong.",
                EncodingWarning,
                stacklevel=5,
            )
        return encoding
    raise SchemaError(
        f"{path}: cannot read as CSV: the text is neither UTF-8 nor Windows-1252. Save it as 'CSV UTF-8'.",
        table=table,
        source=str(path),
    )


def _refuse_repeated_names(header: list[Any], path: Any, table: str) -> None:
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
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise SchemaError(f"{path}: unknown file type {suffix or '(no suffix)'!r}; desist writes {', '.join(FORMATS)}.")
    kind = FORMATS[suffix]
    if kind == "CSV":
        df.to_csv(path, index=False)
    elif kind == "Parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_excel(path, index=False, sheet_name=sheet)
    return path
