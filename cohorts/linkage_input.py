"""The two tables of a linkage, read, checked and put in the form the linkage model compares.

A cohort (a provider's list: ``first_name``, ``surname``, ``date_of_birth``, and ``sex`` and IDs where it has
them) and the national people table (``person_id``, the same four columns, any IDs, and optionally an outcome
column such as ``reoffended``) are checked together: every problem in either table is reported at once, in
one :class:`~ground.errors.SchemaError` naming the file, the column, the rule and the rows (data rows counted
from 1, header not counted), as :func:`ground.tables.schema_error` words it. Missing values are allowed in the
cohort (a missing PNC number or sex is common; the row is linked on what it has); a people table must give
every person an ID, once.

Values are then normalised the same way on both sides: names in lower-case letters only (accents, spaces,
hyphens and apostrophes dropped, so "O'Brien-Smith" and "OBRIEN SMITH" agree), dates of birth as ISO text
with the day and month swapped beside them (where both could be a month), sex as its level (``unknown`` is
missing), IDs in upper case without spaces.

Dates are read by :func:`ground.dates.parse_dates` (ISO 8601, the declared format or date values), in ``_dates`` only;
a data mapping's table (:mod:`ground.mapping`) arrives with its dates already read in its declared format.
Files are read by :func:`read` (CSV as text, Parquet as typed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ground.checks import column_names, shorten
from ground.dates import parse_dates
from ground.errors import SchemaError
from ground.reading import TableSource
from ground.tables import SEX_LEVELS, schema_error

#: The columns a cohort is linked on; a cohort must have the names and the date of birth, sex it may lack.
NAME_COLUMNS = ("first_name", "surname")
LINK_COLUMNS = (*NAME_COLUMNS, "date_of_birth", "sex")
REQUIRED = {"cohort": (*NAME_COLUMNS, "date_of_birth"), "people": ("person_id", *LINK_COLUMNS)}
#: National identifiers compared when both tables have them and ``ids`` is not given.
ID_COLUMNS = ("pnc_id", "cro_number")
#: The columns the linked table adds after the cohort's own (a cohort may not use these names).
ADDED = ("person_id", "best_candidate", "match_probability", "second_probability", "linked", "reason")
#: Values read as an outcome's yes and no.
_OUTCOME_WORDS = {"true": 1.0, "false": 0.0, "1": 1.0, "0": 0.0, "1.0": 1.0, "0.0": 0.0}


@dataclass(frozen=True)
class Prepared:
    """Both tables in the form the model compares, and what the result needs from them.

    Attributes
    ----------
    cohort, people : pandas.DataFrame
        ``unique_id`` (row position), ``first_name``, ``surname``, ``dob``, ``dob_swapped``, ``birth_year``,
        ``sex`` and ``id_1``, ``id_2``, ... (the columns of ``ids``, in order), normalised.
    person_id : numpy.ndarray
        The people table's IDs as text, by row position.
    outcome : numpy.ndarray or None
        The people table's outcome as 1.0, 0.0 or NaN (not known), by row position.
    ids : tuple of str
        The ID columns compared.
    """

    cohort: pd.DataFrame
    people: pd.DataFrame
    person_id: np.ndarray
    outcome: np.ndarray | None
    ids: tuple[str, ...]


def read(source: pd.DataFrame | str | Path | TableSource, table: str) -> tuple[pd.DataFrame, str | None]:
    """The table and the file it came from (None for a DataFrame): CSV read as text, Parquet as typed.

    Parameters
    ----------
    source : pandas.DataFrame, str, pathlib.Path or TableSource
        The table itself, a CSV or Parquet file holding it, or a data mapping's table (:mod:`ground.mapping`).
    table : str
        What the table is ("cohort" or "people"), for messages.

    Returns
    -------
    tuple of (pandas.DataFrame, str or None)

    Raises
    ------
    SchemaError
        No such file, a folder, another kind of file, or a file that cannot be read; the message names it.

    Examples
    --------
    >>> frame, source = read(pd.DataFrame({"surname": ["Smith"]}), "cohort")
    >>> source is None
    True
    """
    if isinstance(source, pd.DataFrame):
        return source, None
    if isinstance(source, TableSource):  # a data mapping's table, in desist's columns and dates
        return source.read(), str(source)
    path = Path(source)
    if not path.is_file():
        what = "a folder, not a file" if path.is_dir() else "no such file"
        raise SchemaError(f"{path}: {what} (the {table} table).", table=table, source=str(path))
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise SchemaError(
            f"{path}: the {table} table must be a CSV (.csv) or Parquet (.parquet, .pq) file; got "
            f"{suffix or '(no suffix)'!r}.",
            table=table,
            source=str(path),
        )
    try:
        # CSV as text: IDs keep their leading zeros, and a date column is read by the one date parser.
        frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig") if suffix == ".csv" else pd.read_parquet(path)
    except Exception as exc:  # each reader fails its own way on a bad file; the file is to blame
        kind = "CSV" if suffix == ".csv" else "Parquet"
        raise SchemaError(
            f"{path}: cannot read as {kind}: {type(exc).__name__}: {str(exc)[:300]}", table=table, source=str(path)
        ) from None
    return frame, str(path)


def prepare(
    cohort: pd.DataFrame,
    people: pd.DataFrame,
    *,
    ids: Sequence[str] | None,
    outcome: str | None,
    sources: tuple[str | None, str | None] = (None, None),
) -> Prepared:
    """Check both tables at once and normalise them for linking.

    Parameters
    ----------
    cohort : pandas.DataFrame
        The people to link: names, date of birth, optionally sex and ID columns.
    people : pandas.DataFrame
        The table they are linked to, with ``person_id``.
    ids : sequence of str or None
        ID columns both tables hold (a PNC number, say), compared exactly.
    outcome : str or None
        A true/false column of ``people`` (reoffended) carried to the links.
    sources : tuple of (str or None, str or None), default (None, None)
        The files the two tables came from, named in messages.

    Returns
    -------
    Prepared

    Raises
    ------
    SchemaError
        Every problem in either table: a missing column (no column to link on), a column name given twice,
        an empty table, a date of birth that is not an ISO date or is in the future, a sex that is not one of
        desist's levels, a missing or repeated person_id, an outcome that is not true/false or 1/0, an ID
        column only one table has.

    Examples
    --------
    >>> cohort = pd.DataFrame({"first_name": ["Ann"], "surname": ["O'Neil"], "date_of_birth": ["1990-02-01"]})
    >>> people = pd.DataFrame({"person_id": ["P1"], "first_name": ["ANN"], "surname": ["ONEIL"],
    ...                        "date_of_birth": ["1990-02-01"], "sex": ["female"]})
    >>> ready = prepare(cohort, people, ids=None, outcome=None)
    >>> ready.cohort.loc[0, ["surname", "dob", "dob_swapped"]].tolist()
    ['oneil', '1990-02-01', '1990-01-02']
    """
    compared = _ids(cohort, people, ids)
    frames = {"cohort": cohort, "people": people}
    dates = {
        table: _dates(frame["date_of_birth"])
        for table, frame in frames.items()
        if "date_of_birth" in frame.columns and not frame.columns.duplicated().any()
    }
    found = {table: _problems(frame, table, compared, outcome, dates.get(table)) for table, frame in frames.items()}
    messages = [
        str(schema_error(pd.DataFrame(rows), table, list(map(str, frames[table].columns)), source=source))
        for (table, rows), source in zip(found.items(), sources)
        if rows
    ]
    if messages:
        failing = next(t for t, rows in found.items() if rows)
        raise SchemaError("\n".join(messages), table=failing, source=sources[0 if failing == "cohort" else 1])
    keys = {table: _keys(frame, compared, dates[table][0]) for table, frame in frames.items()}
    return Prepared(
        cohort=keys["cohort"],
        people=keys["people"],
        person_id=people["person_id"].astype("string").str.strip().to_numpy(dtype=object),
        outcome=None if outcome is None else _outcome(people[outcome])[0],
        ids=compared,
    )


def _ids(cohort: pd.DataFrame, people: pd.DataFrame, ids: Sequence[str] | None) -> tuple[str, ...]:
    """The ID columns to compare: those named, else the known national IDs both tables have."""
    if ids is None:
        return tuple(c for c in ID_COLUMNS if c in cohort.columns and c in people.columns)
    return tuple(column_names(ids, "ids", "link"))


def _problems(
    frame: pd.DataFrame,
    table: str,
    ids: tuple[str, ...],
    outcome: str | None,
    dates: tuple[pd.Series, np.ndarray] | None,
) -> list[dict]:
    """Every rule the table breaks, as failure rows (column, rule, row, value) for schema_error."""
    required = [*REQUIRED[table], *ids, *([outcome] if outcome and table == "people" else [])]
    rows: list[dict] = []
    repeated = frame.columns[frame.columns.duplicated()]
    if len(repeated):
        names = shorten(dict.fromkeys(map(str, repeated)))
        return [_whole(names, "column name given more than once (rename or drop the copies)")]
    missing = [c for c in required if c not in frame.columns]
    if table == "cohort" and set(REQUIRED["cohort"]) <= set(missing):
        missing = [c for c in missing if c not in REQUIRED["cohort"]]
        rows.append(
            _whole(
                ", ".join(REQUIRED["cohort"]),
                "required column missing: nothing to link on (a cohort needs its people's names and dates of "
                "birth; sex and IDs where known)",
            )
        )
    rows += [_whole(c, "required column missing" + (" (an ID to compare)" if c in ids else "")) for c in missing]
    if table == "cohort":
        rule = "a cohort column may not have this name: the linked table adds a column of that name (rename it)"
        rows += [_whole(c, rule) for c in ADDED if c in frame.columns]
    if frame.empty:
        rows.append(_whole("data rows", "none (a header and no data)"))
    if dates is not None:
        born, bad = dates
        rows += _rows(frame, "date_of_birth", bad, "not a date (expected YYYY-MM-DD)")
        rows += _rows(frame, "date_of_birth", (born > pd.Timestamp.today()).to_numpy(), "in the future")
    if "sex" in frame.columns:
        given = frame["sex"].notna().to_numpy()
        known = (
            _sex(frame["sex"]).notna().to_numpy()
            | frame["sex"].astype("string").str.strip().str.lower().eq("unknown").fillna(False).to_numpy()
        )
        rows += _rows(frame, "sex", given & ~known, f"not one of {', '.join(SEX_LEVELS)}")
    if table == "people" and "person_id" in frame.columns:
        person = frame["person_id"].astype("string").str.strip()
        rows += _rows(frame, "person_id", person.isna().to_numpy() | person.eq("").fillna(False).to_numpy(), "missing")
        rows += _rows(
            frame,
            "person_id",
            person.duplicated(keep=False).to_numpy() & person.notna().to_numpy(),
            "the same person_id on more than one row",
        )
    if table == "people" and outcome is not None and outcome in frame.columns:
        rows += _rows(frame, outcome, _outcome(frame[outcome])[1], "not true/false or 1/0")
    return rows


def _whole(column: str, rule: str) -> dict:
    return {"column": column, "rule": rule, "row": pd.NA, "value": None}


def _rows(frame: pd.DataFrame, column: str, failing: np.ndarray, rule: str) -> list[dict]:
    positions = np.flatnonzero(failing)
    values = frame[column].to_numpy()[positions]
    return [{"column": column, "rule": rule, "row": int(p), "value": v} for p, v in zip(positions, values)]


def _dates(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Dates of birth and the cells that are not dates: the one place a linkage reads a date."""
    dates, bad, _rule = parse_dates(values.reset_index(drop=True))
    return dates, bad


def _sex(values: pd.Series) -> pd.Series:
    """Sex as one of desist's levels, whatever the case; ``unknown`` and anything else missing."""
    text = values.astype("string").str.strip().str.lower()
    return text.where(text.isin([s for s in SEX_LEVELS if s != "unknown"]))


def _outcome(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """An outcome as 1.0/0.0/NaN, and the cells that are neither yes nor no."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        number = pd.to_numeric(values.astype("Float64"), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    else:
        number = values.astype("string").str.strip().str.lower().map(_OUTCOME_WORDS).to_numpy(dtype=float)
    bad = values.notna().to_numpy() & ~np.isin(number, (0.0, 1.0))
    return np.where(bad, np.nan, number), bad


def _names(values: pd.Series) -> pd.Series:
    """Lower-case ASCII letters only (accents dropped: "Zoë" is "zoe"); nothing left is missing."""
    text = values.astype("string").reset_index(drop=True)
    accented = ~text.str.isascii().fillna(True).to_numpy()
    if accented.any():  # only where needed: decomposing every name of a national table takes seconds
        plain = text[accented].str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii")
        text[accented] = plain.astype("string")
    text = text.str.lower().str.replace(r"[^a-z]", "", regex=True)
    return text.where(text.str.len() > 0)


def _id_text(values: pd.Series) -> pd.Series:
    """IDs as upper-case text without spaces; whole numbers read as floats lose their ``.0``."""
    if pd.api.types.is_float_dtype(values):
        values = values.astype("Int64")
    text = values.astype("string").str.upper().str.replace(r"\s", "", regex=True)
    return text.where(text.str.len() > 0)


def _iso(dates: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Dates as YYYY-MM-DD text, and as YYYY-DD-MM where the day could be a month (and is not it)."""
    text = dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype("S10")
    swapped = text.view(np.uint8).reshape(-1, 10)[:, [0, 1, 2, 3, 4, 8, 9, 7, 5, 6]].copy().view("S10").ravel()
    swappable = ((dates.dt.day <= 12) & (dates.dt.day != dates.dt.month)).fillna(False).to_numpy()
    known = dates.notna().to_numpy()
    as_text = pd.Series(text.astype(str), dtype="string").where(known)
    return as_text, pd.Series(swapped.astype(str), dtype="string").where(swappable)


def _keys(frame: pd.DataFrame, ids: tuple[str, ...], dates: pd.Series) -> pd.DataFrame:
    """The columns the model compares, normalised, with ``unique_id`` the row position."""
    dob, dob_swapped = _iso(dates)
    keys = pd.DataFrame(
        {
            "unique_id": np.arange(len(frame), dtype=np.int64),
            **{c: _names(frame[c]).to_numpy() for c in NAME_COLUMNS},
            "dob": dob.to_numpy(),
            "dob_swapped": dob_swapped.to_numpy(),
            "birth_year": dates.dt.year.astype("Int64").to_numpy(),
            "sex": _sex(frame["sex"]).to_numpy() if "sex" in frame.columns else pd.NA,
        }
    )
    # IDs under names of desist's own (id_1, id_2, ...): no column name from a file reaches the model's SQL.
    for position, column in enumerate(ids, start=1):
        keys[f"id_{position}"] = _id_text(frame[column]).to_numpy()
    return keys.astype({c: "string" for c in keys.columns if c not in ("unique_id", "birth_year")})
