"""The data mapping file: your extract's files, columns, codes and dates, said once in desist's words.

Nobody's data arrives with desist's column names, codes and ISO dates. A mapping file (TOML, say
``data.toml``) says, per desist table, where the table is and how it is written::

    [offences]
    source = "pnc_extract.csv"          # a file, a list of files or a glob, a Parquet folder, an Excel
    date_format = "%d/%m/%Y"            # workbook (with sheet = "..."), or a database table (schema, table)
    [offences.columns]                  # desist's name = your name
    person_id = "PNC_ID"
    offence_date = "Offence Date"
    [offences.codes.disposal]           # desist's value = your values
    conviction = ["CONV", "Convicted"]
    no_further_action = ["NFA"]

One TOML table per desist table name (:data:`TABLE_NAMES`). ``source`` is relative to the mapping file; a
glob (``"drops/pnc_*.csv"``) or a list reads every file, stacked in order, each with the same columns. Without
``date_format`` dates are ISO (``YYYY-MM-DD``) only: a column written another way is refused naming the forms
that fit it, and when two fit (day first or month first) it says the column is ambiguous. A column with a code
list must have every value in it: values no list covers are refused with their counts, never dropped. Columns
not named keep their names.

The mapping is data: nothing in it is executed. Tables are read by :mod:`ground.reading` (files) or
:mod:`ground.database` (a SELECT desist builds), dates by :mod:`ground.dates`, and the columns the table's
schema knows are checked by :func:`ground.tables.check_known_columns`, every problem named with the mapping
file, the file and the row as counted in that file.

A :class:`TableMap` is a :class:`ground.reading.TableSource`: anything that takes a file takes it too
(``read_table(data_map["offences"], "offences")``, ``proven_reoffending(m["people"], m["offences"])``,
``settle(contract, data_map)``).
"""

from __future__ import annotations

import glob
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from ground.checks import parameter_error, shorten
from ground.database import DatabaseTable, is_database
from ground.dates import date_format, declared_format, fitting_formats, parse_dates
from ground.errors import ParameterError, SchemaError, SpecError
from ground.reading import TableSource, parquet_files, read_frames, read_header, schema_text
from ground.tables import (
    DISPOSAL_LEVELS,
    ETHNICITY_LEVELS,
    SEX_LEVELS,
    TABLES,
    _unless_unparsed,
    check_known_columns,
    schema_error,
    table_schema,
)

__all__ = ["TABLE_NAMES", "DataMap", "TableMap", "read_data_map", "table_source"]

#: The tables a mapping may name: the schema tables, and the other tables commands read.
TABLE_NAMES = (*TABLES, "comparison", "cohort", "history", "outcomes", "data", "claims")
#: The schema each table's known columns are checked by (tables not listed are checked by whoever reads them).
SCHEMAS = {**{name: name for name in TABLES}, "comparison": "pool"}
#: Columns whose values are fixed levels: a code list must map to one of them.
LEVELS = {"sex": SEX_LEVELS, "ethnicity": ETHNICITY_LEVELS, "disposal": DISPOSAL_LEVELS}
#: Columns always read as text as written: ids keep their leading zeros whatever the table.
ID_COLUMNS = ("person_id", "pnc_id", "cro_number")
#: Keys a table of the mapping may have.
KEYS = ("source", "sheet", "date_format", "schema", "table", "columns", "codes")
#: Unmapped values a message lists before counting the rest.
SHOWN_VALUES = 10


@dataclass(frozen=True)
class TableMap(TableSource):
    """One table of a mapping file: where it is, and how its columns, codes and dates are written.

    Attributes
    ----------
    name : str
        The desist table (``"offences"``).
    mapping : pathlib.Path
        The mapping file; ``source`` paths are relative to its folder.
    source : tuple of str
        As written: paths, globs, a folder, or one database URL.
    sheet : str or None
        Excel: the sheet.
    date_format : str or None
        How its dates are written (``"%d/%m/%Y"``); None: ISO only (or the run's declared format).
    columns : dict of str -> str
        desist's name -> your column.
    codes : dict of str -> dict of str -> tuple of str
        desist's column -> desist's value -> your values.
    database : DatabaseTable or None
        The table, when ``source`` is a database.
    """

    name: str
    mapping: Path
    source: tuple[str, ...]
    sheet: str | None = None
    date_format: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    codes: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    database: DatabaseTable | None = None

    @property
    def label(self) -> str:
        return f"{self.mapping} [{self.name}]"

    def files(self) -> list[Path]:
        """The files the table is read from, globs expanded in order (none for a database).

        Raises
        ------
        SpecError
            A glob that matches nothing, naming it.
        """
        if self.database is not None:
            return []
        found: list[Path] = []
        for given in self.source:
            path = self.mapping.parent / given
            if glob.has_magic(given):
                matched = sorted(Path(p) for p in glob.glob(str(path), recursive=True))
                if not matched:
                    raise SpecError(f"{self.label}: source {given!r} matches no file.", key=f"{self.name}.source")
                found += matched
            else:  # a folder stands for its Parquet files (an empty one is refused by the reader, naming it)
                found += (parquet_files(path) or [path]) if path.is_dir() else [path]
        return found

    def header(self) -> list[str]:
        """Your column names, as the (first) file or the database has them."""
        if self.database is not None:
            return self.database.columns()
        return read_header(self.files()[0], table=self.name, sheet=self.sheet)

    def read(self, *, columns: Sequence[str] | None = None, text: Sequence[str] = ()) -> pd.DataFrame:
        """The table in desist's words: columns renamed, codes mapped, dates read, known columns checked.

        Parameters
        ----------
        columns : sequence of str, optional
            desist's names of the columns wanted (each must be mapped or in the file); default every column.
        text : sequence of str
            desist's names of columns read as text as written (ids keep their leading zeros).

        Raises
        ------
        SchemaError
            A mapped or needed column missing, a value no code list covers, dates not in the declared form (or
            not ISO when none is declared), or a value breaking its schema rule: the mapping file, the file,
            the column and the rows named.

        Examples
        --------
        >>> offences = read_data_map("data.toml")["offences"].read()  # doctest: +SKIP
        """
        yours = self._wanted(self.header(), columns)
        # Ids and codes as written (leading zeros kept), and what the schema reads as text.
        known = schema_text(SCHEMAS[self.name]) if self.name in SCHEMAS else []
        as_text = [self.columns.get(c, c) for c in dict.fromkeys([*text, *known, *ID_COLUMNS, *self.codes])]
        if self.database is not None:
            frame = self.database.read(yours)
            parts = [(self.database.label, len(frame))]
        else:
            frame, parts = read_frames(self.files(), table=self.name, sheet=self.sheet, columns=yours, text=as_text)
        frame = frame.rename(columns={yours_: ours for ours, yours_ in self.columns.items()})
        rows = _row_names(parts)
        frame = self._coded(frame, rows)
        frame, undated = self._dated(frame, rows)
        return self._checked(frame, rows, undated)

    # ------------------------------------------------------------ steps
    def _wanted(self, header: list[str], columns: Sequence[str] | None) -> list[str] | None:
        """Your names of the columns to read; every mapped column must be in the file."""
        where = self.database.label if self.database is not None else str(self.files()[0])
        missing = {ours: yours for ours, yours in self.columns.items() if yours not in header}
        if missing:
            said = "; ".join(f"{ours} = {yours!r}" for ours, yours in missing.items())
            raise SchemaError(
                f"{self.label}: [{self.name}.columns] names {len(missing)} column{'s' if len(missing) > 1 else ''} "
                f"that {where} does not have: {said}. Its columns: {shorten(header, 20)}.",
                table=self.name,
                source=self.label,
            )
        mapped = set(self.columns.values())
        clash = [c for c in header if c in self.columns and c not in mapped]
        if clash:
            raise SchemaError(
                f"{self.label}: {where} has a column {clash[0]!r} besides {self.columns[clash[0]]!r}, which "
                f"[{self.name}.columns] maps to {clash[0]}: map one of them to another name, so it is clear which "
                "desist reads.",
                table=self.name,
                source=self.label,
            )
        if columns is None:
            return None
        needed = [c for c in dict.fromkeys(columns) if c not in self.columns and c not in header]
        if needed:
            raise SchemaError(
                f"{self.label}: the {self.name} table needs the column{'s' if len(needed) > 1 else ''} "
                f"{shorten(needed)}, which {where} does not have and [{self.name}.columns] does not map: add "
                f'{needed[0]} = "<your column>" to [{self.name}.columns]. Its columns: {shorten(header, 20)}.',
                table=self.name,
                source=self.label,
            )
        return [self.columns.get(c, c) for c in dict.fromkeys(columns)]

    def _coded(self, frame: pd.DataFrame, rows: Callable[[int], str]) -> pd.DataFrame:
        """Each coded column in desist's values; values no list covers are refused, never dropped (all at once)."""
        problems = []
        for column, lists in self.codes.items():
            if column not in frame:
                continue
            codes, uniques = pd.factorize(_code_text(frame[column]), use_na_sentinel=True)
            lookup = {yours: ours for ours, given in lists.items() for yours in given}
            found = np.array([lookup.get(u) for u in uniques] + [None], dtype=object)
            unmapped = np.flatnonzero(found[:-1] == None)  # noqa: E711 - elementwise on an object array
            if unmapped.size:
                problems.append(self._unmapped(column, codes, uniques, unmapped, rows))
            frame[column] = found[np.where(codes < 0, len(uniques), codes)]
        if problems:
            raise SchemaError("\n".join(problems), table=self.name, source=self.label)
        return frame

    def _unmapped(
        self, column: str, codes: np.ndarray, uniques: Any, unmapped: np.ndarray, rows: Callable[[int], str]
    ) -> str:
        counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
        first = {u: int(np.argmax(codes == u)) for u in unmapped[:SHOWN_VALUES]}
        order = sorted(unmapped, key=lambda u: (-counts[u], str(uniques[u])))
        shown = ", ".join(
            f"{uniques[u]!r} ({counts[u]:,} row{'s' if counts[u] != 1 else ''}"
            + (f", first {rows(first[u])})" if u in first else ")")
            for u in order[:SHOWN_VALUES]
        )
        more = f" and {len(order) - SHOWN_VALUES} more" if len(order) > SHOWN_VALUES else ""
        yours = self.columns.get(column, column)
        allowed = LEVELS.get(column, tuple(self.codes[column]))
        return (
            f"{self.label}: the {column} column ({yours!r}) has {len(order)} value{'s' if len(order) > 1 else ''} "
            f"that no list in [{self.name}.codes.{column}] covers, refused rather than dropped: {shown}{more}. "
            f"Add each to the list of the value it means ({', '.join(allowed)})."
        )

    def _dated(self, frame: pd.DataFrame, rows: Callable[[int], str]) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Each date column read by the one date parser, in the table's declared format (else ISO only).

        A column written in another form is refused at once, naming the forms that fit it (ambiguous when two
        do); cells that are no date at all are returned as failures (column, rule, row, value), read as
        missing, so that they are reported with every other rule the table breaks.
        """
        fmt = self.date_format or declared_format()
        forms, failures = [], [pd.DataFrame(columns=["column", "rule", "row", "value"])]
        for column in [c for c in frame.columns if c in _date_columns(self.name)]:
            values = frame[column]
            with date_format(fmt):
                parsed, bad, rule = parse_dates(values)
            fits = [] if fmt is not None or not bad.any() else [f for f in fitting_formats(values) if f != "%Y-%m-%d"]
            if fits:
                forms.append(self._form(column, fits, values[bad].iloc[0]))
                continue
            where = pd.array(np.flatnonzero(bad), dtype="Int64")
            failures.append(pd.DataFrame({"column": column, "rule": rule, "row": where, "value": values[bad]}))
            frame[column] = parsed
        if forms:
            raise SchemaError("\n".join(forms), table=self.name, source=self.label)
        return frame, pd.concat(failures, ignore_index=True)

    def _form(self, column: str, fits: list[str], example: Any) -> str:
        """A date column written another way than ISO, with no format declared: the forms that fit it."""
        yours = self.columns.get(column, column)
        if len(fits) > 1:
            return (
                f"{self.label}: the {column} column ({yours!r}) is ambiguous: every date in it fits "
                f"{' and '.join(fits)} (e.g. {example}: day and month could be either way round), and desist never "
                f'guesses: say which with date_format = "{fits[0]}" (or another) in [{self.name}].'
            )
        return (
            f"{self.label}: the {column} column ({yours!r}) is written {fits[0]} (e.g. {example}), not YYYY-MM-DD: "
            f'add date_format = "{fits[0]}" to [{self.name}] (desist never guesses how a date is written).'
        )

    def _checked(self, frame: pd.DataFrame, rows: Callable[[int], str], undated: pd.DataFrame) -> pd.DataFrame:
        """The columns the table's schema knows, checked by its rules, with the cells that were no date: every
        failure in one error (gaps left to whoever reads the table)."""
        failures = undated
        if self.name in SCHEMAS:
            try:
                frame = check_known_columns(frame, SCHEMAS[self.name], list(frame.columns), source=self.label)
            except SchemaError as exc:
                if exc.failures is None:
                    raise
                # A cell that was no date reads as missing: its failure is that, not a missing value.
                failures = pd.concat([undated, _unless_unparsed(exc.failures, undated)], ignore_index=True)
        if len(failures):
            raise self._relabelled(failures, rows, list(frame.columns))
        return frame

    def _relabelled(self, failures: pd.DataFrame, rows: Callable[[int], str], columns: list[str]) -> SchemaError:
        """The failures in one error, each row named in its file and each column with your name beside desist's."""
        failures = failures.assign(column=failures["column"].map(self._both))
        return schema_error(
            failures, self.name, [self._both(c) for c in columns], source=f"{self.label} ({self._where()})", rows=rows
        )

    def _both(self, column: Any) -> Any:
        yours = self.columns.get(column)
        return f"{column} ({yours!r})" if yours is not None and yours != column else column

    def _where(self) -> str:
        if self.database is not None:
            return self.database.label
        return shorten((p.name for p in self.files()), 4)


def _row_names(parts: list[tuple[str, int]]) -> Callable[[int], str]:
    """A row's position in the stacked table -> its place in its own file (``"2025Q2.csv row 17"``)."""
    if len(parts) == 1:
        return lambda position: f"row {position + 1}"
    ends = np.cumsum([n for _, n in parts])
    names = [Path(name).name for name, _ in parts]

    def named(position: int) -> str:
        part = int(np.searchsorted(ends, position, side="right"))
        return f"{names[part]} row {position - (ends[part] - parts[part][1]) + 1}"

    return named


def _code_text(values: pd.Series) -> pd.Series:
    """Codes compared as text as written: a whole number is its digits (``7.0`` in a Parquet file is ``"7"``)."""
    if pd.api.types.is_float_dtype(values):
        whole = values.notna() & (values == values.round())
        return values.astype(object).where(~whole, values.astype("Int64").astype(str)).where(values.notna(), None)
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return values.astype(str)
    return values.astype("str").str.strip().where(values.notna(), None)


def _date_columns(table: str) -> set[str]:
    """The columns read as dates: the schema's date columns, and a date of birth (linkage)."""
    schema = table_schema(SCHEMAS[table]) if table in SCHEMAS else None
    dated = {n for n, c in schema.columns.items() if str(c.dtype).startswith("datetime64")} if schema else set()
    return dated | {"date_of_birth"}


@dataclass(frozen=True)
class DataMap:
    """A mapping file: its tables by desist's name.

    Examples
    --------
    >>> data = read_data_map("examples/mappings/pnc/data.toml")  # doctest: +SKIP
    >>> offences = data["offences"].read()  # doctest: +SKIP
    """

    path: Path
    tables: dict[str, TableMap]

    def __getitem__(self, name: str) -> TableMap:
        if name not in self.tables:
            raise parameter_error(
                "name", "DataMap", f"a table {self.path} maps ({', '.join(self.tables) or 'none'})", name
            )
        return self.tables[name]

    def __contains__(self, name: object) -> bool:
        return name in self.tables


#: A table as a caller gave it (a path, a DataFrame, a table source).
T = TypeVar("T")


def table_source(value: T, table: str) -> T | TableMap:
    """A table given as a mapping file (``data.toml``) is that file's table; anything else as given.

    Parameters
    ----------
    value : path, DataFrame or TableSource
        A table as a caller gave it.
    table : str
        The desist table it is.

    Examples
    --------
    >>> table_source("people.csv", "people")
    'people.csv'
    """
    if isinstance(value, (str, Path)) and Path(str(value)).suffix.lower() == ".toml":
        return read_data_map(value)[table]
    return value


# ---------------------------------------------------------------- reading the mapping file
def read_data_map(path: str | Path) -> DataMap:
    """Read and check a data mapping file; every problem a :class:`~ground.errors.SpecError` naming the key.

    Parameters
    ----------
    path : str or pathlib.Path
        The mapping file (TOML); the sources it names are relative to its folder.

    Returns
    -------
    DataMap

    Raises
    ------
    SpecError
        Not a readable TOML file; a table desist does not know; a key desist does not know; a source that is
        not a path, list or glob; a date format without a four-digit year; a code list mapping to a value the
        column cannot take, or one of your values under two of desist's.

    Examples
    --------
    >>> data = read_data_map("examples/mappings/pnc/data.toml")  # doctest: +SKIP
    >>> data["offences"].columns  # doctest: +SKIP
    {'person_id': 'PNC_ID', 'offence_date': 'Offence Date', ...}
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError:
        must = f"The data mapping file must exist. Got {str(path)!r}, which does not."
        raise SpecError(must, source=str(path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: not a valid TOML file: {exc}.", source=str(path)) from None
    with _named(path):
        tables = {name: _table(path, name, value) for name, value in raw.items()}
    return DataMap(path, tables)


@contextmanager
def _named(path: Path) -> Iterator[None]:
    try:
        yield
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}", key=exc.key, source=str(path)) from None


def _table(path: Path, name: str, raw: Any) -> TableMap:
    if name not in TABLE_NAMES:
        close = get_close_matches(name, TABLE_NAMES, n=1)
        hint = f" Did you mean [{close[0]}]?" if close else ""
        raise SpecError(f"[{name}] is not a desist table (tables: {', '.join(TABLE_NAMES)}).{hint}", key=name)
    if not isinstance(raw, Mapping):
        raise SpecError(f"The '{name}' key must be a table ([{name}]). Got {raw!r} instead.", key=name)
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise SpecError(f"The keys of [{name}] must be among {', '.join(KEYS)}. Got {unknown[0]!r}.", key=name)
    source = _source(name, raw)
    database = None
    if is_database(source[0]):
        table = raw.get("table")
        if len(source) != 1 or not isinstance(table, str) or "sheet" in raw:
            raise SpecError(
                f'[{name}] reads a database: give one source URL, the table\'s name as table = "..." (and its '
                'schema = "..."), and no sheet.',
                key=f"{name}.table",
            )
        database = DatabaseTable(source[0], table, _text(raw, "schema", name))
    elif "table" in raw or "schema" in raw:
        raise SpecError(f"[{name}]: table and schema name a database table; this source is files.", key=name)
    columns = _columns(name, raw.get("columns", {}))
    return TableMap(
        name=name,
        mapping=path,
        source=source,
        sheet=_text(raw, "sheet", name),
        date_format=_format(name, raw.get("date_format")),
        columns=columns,
        codes=_codes(name, raw.get("codes", {})),
        database=database,
    )


def _source(name: str, raw: Mapping[str, Any]) -> tuple[str, ...]:
    value = raw.get("source")
    listed = [value] if isinstance(value, str) else value
    if not isinstance(listed, list) or not listed or not all(isinstance(v, str) and v.strip() for v in listed):
        raise SpecError(
            f"The '{name}.source' key must be a path, a list of paths or a glob (relative to the mapping file), or a "
            f"database URL. Got {'nothing' if value is None else repr(value)} instead.",
            key=f"{name}.source",
        )
    return tuple(listed)


def _text(raw: Mapping[str, Any], key: str, name: str) -> str | None:
    value = raw.get(key)
    if value is not None and not (isinstance(value, str) and value):
        raise SpecError(f"The '{name}.{key}' key must be text. Got {value!r} instead.", key=f"{name}.{key}")
    return value


def _format(name: str, value: Any) -> str | None:
    if value is None:
        return None
    try:
        with date_format(value):
            pass
    except ParameterError as exc:
        raise SpecError(f"The '{name}.date_format' key: {exc}", key=f"{name}.date_format") from None
    return str(value)


def _columns(name: str, raw: Any) -> dict[str, str]:
    ok = isinstance(raw, Mapping) and all(isinstance(v, str) and v for v in raw.values())
    if not ok:
        raise SpecError(
            f"The '{name}.columns' key must be a table of desist's name = your column's name. Got {raw!r} instead.",
            key=f"{name}.columns",
        )
    seen: dict[str, str] = {}
    for ours, yours in raw.items():
        if yours in seen:
            raise SpecError(
                f"[{name}.columns] maps your column {yours!r} to both {seen[yours]} and {ours}: a column is one thing.",
                key=f"{name}.columns.{ours}",
            )
        seen[yours] = ours
    return dict(raw)


def _codes(name: str, raw: Any) -> dict[str, dict[str, tuple[str, ...]]]:
    if not isinstance(raw, Mapping):
        raise SpecError(f"The '{name}.codes' key must be a table of tables. Got {raw!r} instead.", key=f"{name}.codes")
    return {column: _code_lists(name, column, lists) for column, lists in raw.items()}


def _code_lists(name: str, column: str, raw: Any) -> dict[str, tuple[str, ...]]:
    key = f"{name}.codes.{column}"
    good = isinstance(raw, Mapping) and all(
        isinstance(v, list) and all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in v)
        for v in raw.values()
    )
    if not good or not raw:
        raise SpecError(
            f"The '{key}' key must be a table of desist's value = [your values, ...] (text or whole numbers). "
            f"Got {raw!r} instead.",
            key=key,
        )
    levels = LEVELS.get(column)
    wrong = [value for value in raw if levels is not None and value not in levels]
    if wrong:
        raise SpecError(
            f"[{key}] maps to {wrong[0]!r}, which is not a {column} desist knows ({', '.join(levels or ())}).",
            key=f"{key}.{wrong[0]}",
        )
    seen: dict[str, str] = {}
    for ours, given in raw.items():
        for yours in map(str, given):
            if yours in seen and seen[yours] != ours:
                raise SpecError(
                    f"[{key}] lists your value {yours!r} under both {seen[yours]} and {ours}: a value means one thing.",
                    key=f"{key}.{ours}",
                )
            seen[yours] = ours
    return {ours: tuple(str(v).strip() for v in given) for ours, given in raw.items()}
