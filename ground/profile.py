"""What a file holds, before anything is computed from it: the first step of every journey.

:func:`profile` reads files through :mod:`ground.reading` (every column as text as written, so nothing is
converted on the way) and says, per table: its rows and fully repeated rows; per column its kind (text, whole
number, number, true/false, date), missing cells and distinct values; for dates, their range and the forms
that read every value (:func:`ground.dates.fitting_formats`: two forms that both fit are *ambiguous*, and
desist will not read the column until a mapping says which); for codes, each distinct value with its count;
for ids, how many are repeated; and across tables, how many rows' ids link to the people (or cohort) table.

It also drafts a data mapping file (:meth:`Profile.draft`) for the user to confirm: columns matched to
desist's by name (``Offence Date`` is ``offence_date``, ``Gender`` is ``sex``) and checked against their
content (a column matched as a date must hold dates), codes matched to desist's values where the word is
plain (``CONV`` is conviction, ``M`` is male), and every guess written down as a comment saying what it was
guessed from. Nothing guessed is used: desist reads the draft only once it is saved and named with
``--data-map``, and a value left out of a code list is refused then, with its count.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ground.dates import fitting_formats
from ground.mapping import LEVELS, TABLE_NAMES
from ground.reading import read_frames, read_header

__all__ = ["ColumnProfile", "Profile", "TableProfile", "profile"]

#: Distinct values listed with their counts (a column with more is not a code list).
MAX_CODES = 30
#: desist's column -> the names (normalised: lower case, words joined by _) a file may give it.
NAMES = {
    "person_id": ("person_id", "pnc_id", "crn", "person", "client_ref", "client_id", "offender_id", "nomis_id", "id"),
    "offence_date": ("offence_date", "date_of_offence", "offence_dt", "committed_on"),
    "disposal_date": ("disposal_date", "sentence_date", "outcome_date", "conviction_date", "court_date"),
    "disposal": ("disposal", "outcome", "result", "disposal_type", "outcome_code"),
    "start_date": ("start_date", "referral_start", "start", "release_date", "index_date", "programme_start"),
    "referral_date": ("referral_date", "date_referred"),
    "sex": ("sex", "gender"),
    "ethnicity": ("ethnicity", "ethnic_group", "ethnic_origin", "ethnic_code"),
    "age": ("age", "age_at_start"),
    "provider_id": ("provider_id", "provider", "worker_team", "team", "provider_code"),
    "in_programme": ("in_programme", "enrolled_flag"),
    "enrolled": ("enrolled",),
    "date_of_birth": ("date_of_birth", "dob", "birth_date"),
    "first_name": ("first_name", "forename", "forenames", "given_name"),
    "surname": ("surname", "last_name", "family_name"),
    "pnc_id": ("pnc_id", "pnc_number", "pnc_no", "pnc"),
    "assessed_on": ("assessed_on", "reading_date", "assessment_date", "date_assessed"),
    "instrument": ("instrument", "area", "star", "scale"),
    "item": ("item", "question"),
    "score": ("score", "reading", "value"),
    "hours": ("hours", "duration_hours"),
    "date": ("date", "contact_date", "session_date"),
}
#: Plain words for desist's values: a file's value (lower case) -> desist's value, per column.
CODE_WORDS = {
    "sex": {"m": "male", "male": "male", "man": "male", "f": "female", "female": "female", "woman": "female",
            "u": "unknown", "unknown": "unknown", "not known": "unknown", "x": "other", "other": "other"},
    "disposal": {"conv": "conviction", "convicted": "conviction", "conviction": "conviction", "guilty": "conviction",
                 "caut": "caution", "caution": "caution", "cautioned": "caution", "acq": "acquittal",
                 "acquitted": "acquittal", "acquittal": "acquittal", "not guilty": "acquittal",
                 "nfa": "no_further_action", "no further action": "no_further_action", "oth": "other",
                 "other": "other"},
    "ethnicity": {"white": "white", "w": "white", "black": "black", "b": "black", "asian": "asian", "a": "asian",
                  "mixed": "mixed", "m": "mixed", "other": "other", "o": "other", "unknown": "unknown",
                  "not stated": "unknown", "ns": "unknown"},
}  # fmt: skip
#: Plain words for a flag's true and false.
FLAG_WORDS = {"y": "true", "yes": "true", "true": "true", "1": "true", "n": "false", "no": "false", "false": "false",
              "0": "false"}  # fmt: skip
#: The date columns among desist's (a column matched to one must hold dates).
DATE_NAMES = {"offence_date", "disposal_date", "start_date", "referral_date", "date_of_birth", "assessed_on", "date"}
#: A table is guessed from the desist columns its file has (the first whose columns are all there).
TABLE_SIGNS = (
    ("offences", {"offence_date", "disposal"}),
    ("assessments", {"item", "score"}),
    ("services", {"hours"}),
    ("people", {"person_id", "first_name", "surname", "date_of_birth"}),  # the national table a cohort links to
    ("cohort", {"first_name", "surname", "date_of_birth"}),
    ("eligible", {"referral_date"}),
    ("people", {"start_date"}),
)
_TRUE_FALSE = {"true", "false", "y", "n", "yes", "no", "0", "1"}


@dataclass(frozen=True)
class ColumnProfile:
    """One column: its kind, gaps, distinct values, dates or codes, and the desist column it may be.

    Attributes
    ----------
    name : str
        As the file writes it.
    kind : str
        ``"text"``, ``"whole number"``, ``"number"``, ``"true/false"``, ``"date"`` or ``"empty"``.
    missing, distinct, repeated : int
        Missing cells; distinct values; values given more than once (for an id, people in two rows).
    date_range : tuple of str or None
        The earliest and latest date, read in the first form that fits.
    formats : list of str
        The date forms that read every value (two or more: ambiguous).
    codes : dict of str -> int or None
        Each value with its count, most common first, when there are at most :data:`MAX_CODES`.
    desist : str or None
        The desist column it was matched to, and ``why`` says how.
    """

    name: str
    kind: str
    missing: int
    distinct: int
    repeated: int
    date_range: tuple[str, str] | None = None
    formats: list[str] = field(default_factory=list)
    codes: dict[str, int] | None = None
    desist: str | None = None
    why: str = ""

    @property
    def ambiguous(self) -> bool:
        """More than one date form reads every value: day and month could be either way round."""
        return len(self.formats) > 1

    def to_dict(self) -> dict[str, object]:
        out = dict(self.__dict__)
        out["date_range"] = list(self.date_range) if self.date_range else None
        return out | {"ambiguous": self.ambiguous}


@dataclass(frozen=True)
class TableProfile:
    """One table (a file, or files read as one): rows, repeated rows, its columns and the table it may be."""

    files: list[str]
    rows: int
    repeated_rows: int
    columns: list[ColumnProfile]
    table: str
    why: str
    #: The person_id column's values (present ones, as text), to link tables by.
    ids: np.ndarray | None = field(default=None, repr=False, compare=False)

    def column(self, desist: str) -> ColumnProfile | None:
        """The column matched to a desist column, if any."""
        return next((c for c in self.columns if c.desist == desist), None)

    def to_dict(self) -> dict[str, object]:
        kept = {k: v for k, v in self.__dict__.items() if k not in ("columns", "ids")}
        return {**kept, "columns": [c.to_dict() for c in self.columns]}


@dataclass(frozen=True)
class Profile:
    """Every table's profile and how their ids link.

    Attributes
    ----------
    tables : list of TableProfile
    links : list of dict
        One per table whose ``person_id`` can be looked up in the people (or cohort) table: ``table``,
        ``to``, ``rows``, ``linked``, ``not_linked`` and ``examples`` (ids that link to no one).
    """

    tables: list[TableProfile]
    links: list[dict[str, Any]]

    def to_dict(self) -> dict[str, object]:
        return {"tables": [t.to_dict() for t in self.tables], "links": self.links}

    def draft(self, folder: str | Path = ".") -> str:
        """A data mapping file for the user to check and save: every guess a comment saying what it rests on.

        ``folder`` is where the file will be saved: sources are written relative to it.

        Examples
        --------
        >>> print(profile(["pnc_extract.csv"]).draft())  # doctest: +SKIP
        [offences]
        source = "pnc_extract.csv"
        date_format = "%d/%m/%Y"   # every date fits %d/%m/%Y only
        ...
        """
        lines = [
            "# A draft data mapping written by desist inspect. Check every line, then use it with --data-map.",
            "# desist reads only what this file says; a value left out of a code list is refused, with its count.",
        ]
        seen: set[str] = set()
        for table in self.tables:
            drafted = _draft_table(table, Path(folder))
            if table.table in seen:  # a second file guessed as the same table: the user says which is which
                drafted = [f"# Another [{table.table}]? Rename this table or remove it:"] + [f"# {x}" for x in drafted]
            seen.add(table.table)
            lines += ["", *drafted]
        return "\n".join(lines) + "\n"


def _draft_table(table: TableProfile, folder: Path) -> list[str]:
    sources = [_relative(Path(f), folder) for f in table.files]
    source = f'"{sources[0]}"' if len(sources) == 1 else "[" + ", ".join(f'"{s}"' for s in sources) + "]"
    lines = [f"[{table.table}]  # {table.why}", f"source = {source}"]
    forms = sorted({f for c in table.columns if c.desist in DATE_NAMES for f in c.formats[:1] if f != "%Y-%m-%d"})
    ambiguous = [c for c in table.columns if c.desist in DATE_NAMES and c.ambiguous]
    if ambiguous:
        lines.append(
            f'# date_format = "{ambiguous[0].formats[0]}"   # AMBIGUOUS: {ambiguous[0].name} fits '
            f"{' and '.join(ambiguous[0].formats)}; say which (desist will not guess)"
        )
    elif forms:
        lines.append(f'date_format = "{forms[0]}"   # the dates fit {forms[0]} only')
    lines.append(f"[{table.table}.columns]")
    lines += [f'{c.desist} = "{c.name}"   # {c.why}' for c in table.columns if c.desist and c.desist != c.name]
    lines += [f'# ? = "{c.name}"   # not matched: kept under its own name' for c in table.columns if not c.desist]
    for column in table.columns:
        levels = LEVELS.get(str(column.desist), ("true", "false") if column.kind == "true/false" else ())
        plain = column.codes is not None and {v.lower() for v in column.codes} <= set(levels)
        if column.desist and column.codes and not plain and (column.desist in CODE_WORDS or levels):
            lines += _draft_codes(table.table, column)
        elif column.desist in ("instrument", "item") and column.codes:
            listed = ", ".join(repr(v) for v in column.codes)
            lines.append(f"# [{table.table}.codes.{column.desist}]: map each of {listed} to desist's name")
    return lines


def _relative(path: Path, folder: Path) -> str:
    """The path from the mapping's folder (absolute when it would climb out of more than one folder)."""
    relative = Path(os.path.relpath(path.resolve(), folder.resolve())).as_posix()
    return str(path.resolve()) if relative.startswith("../..") else relative


def _draft_codes(table: str, column: ColumnProfile) -> list[str]:
    words = CODE_WORDS.get(str(column.desist), FLAG_WORDS)
    mapped: dict[str, list[str]] = {}
    unmapped = []
    for value, n in (column.codes or {}).items():
        ours = words.get(value.strip().lower())
        if ours is None:
            unmapped.append(f"{value!r} ({n:,} rows)")
        else:
            mapped.setdefault(ours, []).append(value)
    lines = [f"[{table}.codes.{column.desist}]   # guessed from the words: check each"]
    lines += [f"{ours} = [{', '.join(_quoted(v) for v in values)}]" for ours, values in mapped.items()]
    if unmapped:
        allowed = ", ".join(LEVELS.get(str(column.desist), ("true", "false")))
        lines.append(f"# not mapped (refused until listed above, under one of {allowed}): {', '.join(unmapped)}")
    return lines


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------- profiling
def profile(files: Sequence[str | Path], table: str | None = None) -> Profile:
    """Profile files before anything is computed from them, and draft a mapping for them.

    Parameters
    ----------
    files : sequence of paths
        CSV, Parquet or Excel files (a folder: its Parquet files). Each is a table of its own, unless
        ``table`` is given.
    table : str, optional
        The desist table the files are (parts of one table, stacked); default: each file's table is
        guessed from its columns (``offences`` when it has an offence date and a disposal, ...).

    Returns
    -------
    Profile

    Raises
    ------
    SchemaError
        A file that cannot be read, names a column twice, or (with ``table``) differs in its columns.

    Examples
    --------
    >>> p = profile(["examples/data/messy/pnc/cohort.csv"])  # doctest: +SKIP
    >>> p.tables[0].column("start_date").formats  # doctest: +SKIP
    ['%d/%m/%Y']
    """
    if table is not None:
        groups = [list(files)]
    else:  # files with the same columns are parts of one table (quarterly drops)
        by_header: dict[tuple[str, ...], list[str | Path]] = {}
        for f in files:
            by_header.setdefault(tuple(read_header(f)), []).append(f)
        groups = list(by_header.values())
    tables = [_table(group, table) for group in groups]
    return Profile(tables, _links(tables))


def _table(files: list[str | Path], table: str | None) -> TableProfile:
    header = read_header(files[0], table=table or "data")
    frame, parts = read_frames(files, table=table or "data", text=header)
    columns = [_column(str(name), frame[name]) for name in frame.columns]
    columns = _matched(columns)
    guessed, why = _guess(columns, table)
    if guessed == "cohort":  # a linkage cohort's PNC number is an id compared, not the person's key
        columns = [
            _renamed(c, "pnc_id") if c.desist == "person_id" and "pnc" in _normal(c.name) else c for c in columns
        ]

    repeated = int(frame.duplicated().sum()) if len(frame.columns) else 0
    key = next((c.name for c in columns if c.desist == "person_id"), None)
    ids = None if key is None else frame[key].dropna().astype(str).str.strip().to_numpy(dtype=object)
    return TableProfile([name for name, _ in parts], len(frame), repeated, columns, guessed, why, ids)


def _renamed(column: ColumnProfile, desist: str) -> ColumnProfile:
    return ColumnProfile(**{**column.__dict__, "desist": desist})


def _column(name: str, values: pd.Series) -> ColumnProfile:
    """One column's kind and counts, computed on its distinct values (a column of millions costs its few thousand)."""
    text = values if pd.api.types.is_string_dtype(values) or values.dtype == object else values.astype("str")
    text = text.where(values.notna())
    codes, uniques = pd.factorize(text.str.strip().replace("", None), use_na_sentinel=True)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    distinct = pd.Series(uniques, dtype=object).astype(str)
    kind, formats, span = _kind(distinct)
    listed = None
    if 0 < len(distinct) <= MAX_CODES and kind in ("text", "true/false", "whole number"):
        order = np.lexsort((distinct.to_numpy(), -counts))
        listed = {str(distinct.iloc[i]): int(counts[i]) for i in order}
    return ColumnProfile(
        name=name,
        kind=kind,
        missing=int((codes < 0).sum()),
        distinct=len(distinct),
        repeated=int((counts > 1).sum()),
        date_range=span,
        formats=formats,
        codes=listed,
    )


def _kind(distinct: pd.Series) -> tuple[str, list[str], tuple[str, str] | None]:
    if distinct.empty:
        return "empty", [], None
    if distinct.str.lower().isin(_TRUE_FALSE).all() and len(distinct) <= 2 and not distinct.isin(["0", "1"]).all():
        return "true/false", [], None
    numbers = pd.to_numeric(distinct, errors="coerce")
    if numbers.notna().all():
        whole = bool((numbers == numbers.round()).all())
        return ("whole number" if whole else "number"), [], None
    formats = fitting_formats(distinct)
    if formats:
        dates = pd.to_datetime(distinct, format=formats[0])
        return "date", formats, (f"{dates.min():%Y-%m-%d}", f"{dates.max():%Y-%m-%d}")
    return "text", [], None


def _normal(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _matched(columns: list[ColumnProfile]) -> list[ColumnProfile]:
    """Each column matched to a desist column by its name, kept where its content agrees (each desist column once)."""
    taken: set[str] = set()
    out = []
    for column in columns:
        normal = _normal(column.name)
        found = next((ours for ours, names in NAMES.items() if normal in names and ours not in taken), None)
        if found is not None and (found in DATE_NAMES) != (column.kind == "date"):
            found = None  # a name that says date on a column that holds none (or the reverse) is not matched
        why = ""
        if found is not None:
            taken.add(found)
            why = "its name" if normal == found else f"guessed from its name ({column.name!r})"
            if found in DATE_NAMES:
                why += f"; dates {column.date_range[0]} to {column.date_range[1]}" if column.date_range else ""
        out.append(ColumnProfile(**{**column.__dict__, "desist": found, "why": why}))
    return out


def _guess(columns: list[ColumnProfile], table: str | None) -> tuple[str, str]:
    if table is not None:
        return table, "as given (--table)"
    present = {c.desist for c in columns if c.desist}
    for name, needs in TABLE_SIGNS:
        if needs <= present:
            return name, f"guessed: it has {', '.join(sorted(needs))}"
    return "data", "not recognised: name the table (--table NAME), one of " + ", ".join(TABLE_NAMES)


def _links(tables: list[TableProfile]) -> list[dict[str, Any]]:
    """For each table with a person_id, how many of its rows link to the people (or cohort) table's ids."""
    people = next((t for t in tables if t.table in ("people", "eligible", "pool") and t.column("person_id")), None)
    if people is None:
        return []
    known = _ids(people)
    out = []
    for table in tables:
        if table is people or table.column("person_id") is None:
            continue
        ids = _ids(table)
        found = ids.isin(known)
        out.append(
            {
                "table": table.table,
                "files": table.files,
                "to": people.table,
                "rows": int(len(ids)),
                "linked": int(found.sum()),
                "not_linked": int((~found).sum()),
                "examples": pd.unique(ids[~found])[:3].tolist(),
            }
        )
    return out


def _ids(table: TableProfile) -> pd.Series:
    return pd.Series(table.ids, dtype=object) if table.ids is not None else pd.Series([], dtype=object)
