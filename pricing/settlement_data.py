"""The tables a settlement reads, read and checked one way whoever asks (``settle`` in Python, ``desist settle``).

Each table may be a DataFrame, a file (read by :func:`ground.reading.read_frame`) or a table of a data
mapping file (:mod:`ground.mapping`: its columns, codes and dates in desist's words); the data may also be
the mapping file itself, whose tables are then the settlement's.
Every table the contract uses is checked against its schema
(:func:`ground.tables.validate`) with the file named in the message: the
columns the settlement needs must be there, and every column the schema knows
must meet its rules (an age of -30, a start date written 01/09/2025, a disposal
before its offence are refused, never counted as "not eligible" or read as
another day). Ids are read as text the way every table reads them (``10`` and
``10.0`` in a number column are one person). Dates are checked against today,
not the settlement date: what happened after the settlement date is left out
and counted by :func:`pricing.settle`.

A counterfactual table (``pool``, ``comparison``) must say how its reoffending
was measured: a table written by ``ProvenReoffending.to_parquet`` records it,
and a definition other than the contract's is refused; a table that does not
record it gives an :class:`UnrecordedMeasureWarning`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ground.checks import parameter_error, require_columns, require_rows, rows_text
from ground.errors import DesistWarning, SchemaError
from ground.factorise import ranked
from ground.mapping import DataMap, read_data_map
from ground.reading import TableSource, read_frame, schema_text
from ground.rowkeys import row_keys
from ground.tables import table_schema, validate
from outcomes.reoffending import MEASURE_KEY
from outcomes.scoring import checked_assessments
from pricing.contract import Contract

__all__ = ["OUTCOME_COLUMN", "TABLES", "SettlementData", "UnrecordedMeasureWarning", "settlement_data"]

#: The tables a settlement may read.
TABLES = ("people", "offences", "assessments", "custody", "comparison", "pool", "claims", "spells")
#: Tables a rate card judges in its own defined order (outcomes.claims), not sorted here.
IN_CLAIM_ORDER = ("claims", "spells")
#: Tables whose rows are judged whatever their order, so not sorted (a sorted copy of the largest table, some 70
#: rows a person, would be held beside it): assessments are scored per occasion, person and day, with each item in
#: its place (outcomes.scoring).
ORDER_FREE = ("assessments",)
#: The column holding each rule measure's outcome per person (in a counterfactual table too); reoffences per
#: reoffender are the reoffences of those with one or more.
OUTCOME_COLUMN = {"binary": "reoffended", "frequency": "reoffences", "per_reoffender": "reoffences",
                  "bed_nights": "bed_nights"}  # fmt: skip


class UnrecordedMeasureWarning(DesistWarning):
    """A counterfactual table does not record how its reoffending was measured; desist cannot check it."""


@dataclass(frozen=True)
class SettlementData:
    """The tables a settlement uses, checked and in a canonical row order (but :data:`IN_CLAIM_ORDER` and
    :data:`ORDER_FREE`, whose order decides nothing).

    Attributes
    ----------
    tables : dict of str -> DataFrame
        The tables the contract uses.
    unused : set of str
        Tables given that the contract does not use.
    rows : dict of str -> int
        Rows of every table given.
    sources : dict of str -> str or None
        The file each table came from (None for a DataFrame).
    """

    tables: dict[str, pd.DataFrame]
    unused: set[str]
    rows: dict[str, int]
    sources: dict[str, str | None]


def settlement_data(
    contract: Contract, data: Mapping[str, pd.DataFrame | str | Path | TableSource] | str | Path | DataMap
) -> SettlementData:
    """Read (files) and check (everything) the tables a settlement of ``contract`` uses.

    Parameters
    ----------
    contract : Contract
        The contract settled.
    data : mapping of str -> DataFrame or path, or a data mapping (a file or a DataMap)
        Its tables by name (``people``, ``offences``, ...), as DataFrames, files or mapped tables; or a data
        mapping file (``.toml``), whose tables a settlement reads.

    Raises
    ------
    ParameterError
        ``data`` is not a mapping of table names to DataFrames or paths, or lacks a table the contract needs.
    SchemaError
        A table breaks its schema or lacks a column the contract reads (the file, column, rule and rows named).

    Examples
    --------
    >>> from pricing import scheme
    >>> people = pd.DataFrame({"person_id": [11, 10], "start_date": ["2011-12-01", "2011-11-01"]})
    >>> offences = pd.DataFrame(columns=["person_id", "offence_date", "disposal_date", "disposal"])
    >>> settlement_data(scheme("doncaster"), {"people": people, "offences": offences}).tables["people"]
      person_id start_date
    0        10 2011-11-01
    1        11 2011-12-01
    """
    given = _given(data)
    needed = _needed(contract, set(given))
    sources = {name: None if isinstance(v, pd.DataFrame) else str(v) for name, v in given.items()}
    frames = {name: _frame(name, value) for name, value in given.items()}
    # In a fixed order (people first), so the first problem reported is the same on every run.
    matching = "pool" in needed and contract.matched is not None
    tables = {n: _checked(contract, n, frames[n], sources[n], matching) for n in TABLES if n in needed}
    for n in set(tables) - set(IN_CLAIM_ORDER) - set(ORDER_FREE):
        tables[n] = _sorted(tables[n])  # each checked table is a new frame, emptied as it is sorted
    for name in {"pool", "comparison"} & set(tables):
        _same_measure(contract, frames[name], name, sources[name])
    return SettlementData(tables, set(given) - needed, {n: len(f) for n, f in frames.items()}, sources)


def _given(data: Any) -> dict[str, Any]:
    if isinstance(data, (str, Path)) and Path(data).suffix.lower() == ".toml":
        data = read_data_map(data)
    if isinstance(data, DataMap):  # a data mapping file: its tables that a settlement reads
        data = {name: table for name, table in data.tables.items() if name in TABLES}
    ok = isinstance(data, Mapping) and all(isinstance(v, (pd.DataFrame, str, Path, TableSource)) for v in data.values())
    if not ok:
        raise parameter_error(
            "data", "settle", "a data mapping file, or a mapping of table name -> pandas DataFrame or file path", data
        )
    unknown = sorted(set(data) - set(TABLES))
    if unknown:
        raise parameter_error("data", "settle", f"a mapping with table names among {', '.join(TABLES)}", unknown)
    return dict(data)


def missing_tables(contract: Contract, given: Iterable[str]) -> list[str]:
    """The tables a settlement of ``contract`` reads that ``given`` lacks, in the contract's order.

    Matched rules read a ``comparison`` table or a ``pool`` to match from: either will do, and one lacking both
    lacks ``"comparison or pool"``.

    Parameters
    ----------
    contract : Contract
        The contract settled.
    given : iterable of str
        The names of the tables at hand.

    Examples
    --------
    >>> from pricing import scheme
    >>> missing_tables(scheme("doncaster"), ["people"])
    ['offences']
    """
    given = set(given)
    absent = [name for name in contract.tables if name not in given and name not in ("comparison", "pool")]
    if "comparison" in contract.tables and not {"comparison", "pool"} & given:
        absent.append("comparison or pool")
    return absent


def _needed(contract: Contract, given: set[str]) -> set[str]:
    """The tables the contract uses, each present (a missing one is refused, saying why it is needed)."""
    absent = missing_tables(contract, given)
    why = {
        "people": "a 'people' table",
        "offences": "an 'offences' table (the contract has rules)",
        "assessments": "an 'assessments' table (the contract has prices)",
        "custody": "a 'custody' table (the contract counts custody bed nights)",
        "claims": "a 'claims' table (the contract has a rate card, [claims])",
        "spells": "a 'spells' table (the rate card pays outcomes from spells)",
        "comparison or pool": "a 'comparison' (matched) or 'pool' table for the matched rules",
    }
    for name, words in why.items():
        if name in absent:
            raise parameter_error("data", "settle", f"a mapping with {words}", sorted(given))
    return set(contract.tables) - ({"pool"} if "comparison" in given else {"comparison"})


def _frame(name: str, value: Any) -> pd.DataFrame:
    if isinstance(value, pd.DataFrame):
        return value
    schemas = ("people", "offences", "assessments", "custody", "pool", *IN_CLAIM_ORDER)
    text = schema_text(name) if name in schemas else ["person_id", "tranche"]
    return read_frame(value, table=name, text=text)


def _checked(contract: Contract, name: str, frame: pd.DataFrame, source: str | None, matching: bool) -> pd.DataFrame:
    """The table checked against its schema, with the schema's types; the file named in every message.

    ``matching``: the settlement matches people to the pool itself, so their covariates must be complete.
    """
    covariates = {c: c for c in contract.matched.covariates} if matching and contract.matched is not None else {}
    if name == "people":
        require_rows(frame, "people", source=source)
        needs = {"person_id": "person_id", "cohort.index": contract.index}
        if contract.custody is not None and "custody" in contract.tables:
            needs["custody.index"] = contract.custody.index
        require_columns(frame, needs, table="people", source=source)
        # Matched on, a covariate must be complete: its rows are counted here, in the file, not in the matched sample.
        require_columns(frame, covariates, table="people", source=source, complete=True)
        _risk_columns(contract, frame, source)
        return _known_columns(frame, "people", source, index=contract.index)
    if name == "assessments":  # ids coded once here, and carried as codes to the scoring (outcomes.scoring)
        return checked_assessments(validate(frame, name, source=source, coded=["person_id"]))
    if name in ("offences", "custody", *IN_CLAIM_ORDER):
        return validate(frame, name, source=source)
    outcomes = _outcome_columns(contract)
    if name == "pool":
        require_columns(frame, ["person_id", *outcomes], table="pool", source=source)
        require_columns(frame, covariates, table="pool", source=source, complete=True)
        return _known_columns(frame, "pool", source)
    require_columns(frame, ["person_id", "tranche", *outcomes], table="comparison", source=source)
    checked = _known_columns(frame, "pool", source, name="comparison")
    if "weight" in checked:
        _weights(checked["weight"], source)
    return checked


def _known_columns(
    frame: pd.DataFrame, schema_name: str, source: str | None, *, index: str | None = None, name: str | None = None
) -> pd.DataFrame:
    """Every column of ``frame`` that the schema knows, checked by its rules (``index`` by start_date's)."""
    schema = table_schema(schema_name)
    columns = {c: c for c in frame.columns if c in schema.columns and not (index and c == "start_date")}
    if index is not None:
        columns["start_date"] = index
    try:
        checked = validate(frame, schema_name, columns=columns, source=source)
    except SchemaError as exc:
        if name:
            exc.args = (str(exc).replace(f"table '{schema_name}'", f"table '{name}'", 1),)
        raise
    return frame.assign(**{column: checked[column] for column in checked.columns})


def _risk_columns(contract: Contract, frame: pd.DataFrame, source: str | None) -> None:
    """Each baseline's risk column: complete, numeric, and a predicted rate (a share, for a binary measure)."""
    rates = () if contract.baseline is None else contract.baseline.rates
    for rate in rates:
        if rate.risk is None:
            continue
        require_columns(frame, {f"counterfactual.baseline.{rate.measure}.risk": rate.risk}, table="people",
                        source=source, complete=True)  # fmt: skip
        values = pd.to_numeric(frame[rate.risk], errors="coerce").to_numpy(dtype=float)
        high = 1.0 if rate.measure == "binary" else np.inf
        bad = np.flatnonzero(~np.isfinite(values) | (values <= 0) | (values >= high))
        if bad.size:
            where = f"{source}: " if source else ""
            must = "a predicted rate strictly between 0 and 1 (a share, not a percentage)" if high == 1 else "above 0"
            raise SchemaError(
                f"{where}table 'people' fails 1 rule: {rate.risk} must be {must} (data rows counted from 1): "
                f"{rows_text(bad, frame[rate.risk].iloc[bad].tolist())}.",
                table="people",
                source=source,
            )


def _outcome_columns(contract: Contract) -> list[str]:
    measures = [r.measure for r in contract.rules if r.against == "matched"]
    measures += [r.hurdle.measure for r in contract.rules if r.against == "matched" and r.hurdle is not None]
    return list(dict.fromkeys(OUTCOME_COLUMN[m] for m in measures))


def _weights(weights: pd.Series, source: str | None) -> None:
    values = pd.to_numeric(weights, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
    if bad.size:
        where = f"{source}: " if source else ""
        raise SchemaError(
            f"{where}table 'comparison' fails 1 rule: weight must be a finite number at least 0 (data rows counted "
            f"from 1): {rows_text(bad, weights.iloc[bad].tolist())}.",
            table="comparison",
            source=source,
        )


def _same_measure(contract: Contract, frame: pd.DataFrame, name: str, source: str | None) -> None:
    """Refuse a counterfactual measured another way than the contract's reoffending; warn when it does not say."""
    r = contract.spec.reoffending
    if r is None:  # a counterfactual of custody bed nights only: no reoffending measure to compare
        return
    wanted = {
        "follow_up_days": r.follow_up_days,
        "waiting_days": r.waiting_days,
        "disposals": sorted(r.disposals),
        "counting": r.counting,
    }
    where = source or f"the {name} table"
    recorded = frame.attrs.get(MEASURE_KEY)
    if recorded is None:
        warnings.warn(
            f"{where} does not record how its reoffending was measured, so desist cannot check it is the "
            f"contract's ({_words(wanted)}); a table written by 'desist measure' records it.",
            UnrecordedMeasureWarning,
            stacklevel=4,
        )
        return
    given = {**recorded, "disposals": sorted(recorded.get("disposals") or [])}
    differs = [k for k in wanted if given.get(k) != wanted[k]]
    if differs:
        raise SchemaError(
            f"{where}: its reoffending was measured as {_words(recorded)}, but the contract's [reoffending] measures "
            f"{_words(wanted)} ({', '.join(differs)} differ): a comparison measured another way cannot be compared.",
            table=name,
            source=source,
        )


def _words(measure: Mapping[str, Any]) -> str:
    return (
        f"{measure.get('counting')} within {measure.get('follow_up_days')} days, proven by "
        f"{' or '.join(map(str, measure.get('disposals') or []))} within a further {measure.get('waiting_days')} days"
    )


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """The table in a canonical row order, so the settlement cannot depend on the order given; ``frame`` is emptied.

    Rows are ordered by the key columns, then ties by every other column, each compared as text (missing
    first, as the empty text). Only the rows tied on every key are compared on the other columns: ids are
    unique and events rarely share a day, so most columns are never turned into text. Columns move from
    ``frame`` to the sorted table one at a time, so sorting holds one column twice, not the whole table.
    """
    keys = [
        c
        for c in ("person_id", "tranche", "offence_date", "disposal_date", "instrument", "item", "assessed_on", "start")
        if c in frame
    ]
    rest = [c for c in frame.columns if c not in keys]
    if not keys:
        keys, rest = rest, []
    key = row_keys([_text_order(frame[c]) for c in keys], ordered=True)
    order = np.argsort(key, kind="stable")
    if rest and len(order) > 1:
        ranked = key[order]
        tied = ranked[1:] == ranked[:-1]
        if tied.any():
            # Runs of rows equal on every key: their rows, in key order, re-sorted within each run.
            group = np.cumsum(np.r_[True, ~tied])
            runs = np.zeros(len(order), dtype=bool)
            runs[1:] |= tied
            runs[:-1] |= tied
            inside = np.flatnonzero(runs)
            rows = frame.iloc[order[inside]]
            within = [_text_order(rows[c]) for c in rest]
            order[inside] = order[inside][np.lexsort([*within[::-1], group[inside]])]
    moved = {c: frame.pop(c).iloc[order].reset_index(drop=True) for c in list(frame.columns)}
    out = pd.DataFrame(moved, copy=False)
    out.attrs = dict(frame.attrs)
    return out


def _text_order(column: pd.Series) -> np.ndarray:
    """Integer codes ordered as the column's values written as text are (missing as the empty text).

    Dates are written by pandas in one format per column, so their text sorts as the dates do; text is
    factorised as it is; anything else (numbers: 10 before 9 as text) is turned into text first.
    """
    if pd.api.types.is_datetime64_dtype(column.dtype) and not isinstance(column.dtype, pd.DatetimeTZDtype):
        return column.to_numpy().view(np.int64)  # NaT is the smallest int64: first, as the empty text
    if isinstance(column.dtype, pd.CategoricalDtype):
        text = pd.Series(column.cat.categories).astype("string")
        rank = pd.factorize(text, sort=True)[0]
        codes = column.cat.codes.to_numpy()
        values, empty = np.where(codes < 0, -1, rank[codes]), bool((text == "").any())
    elif isinstance(column.dtype, pd.StringDtype) or pd.api.types.infer_dtype(column, skipna=True) == "string":
        values, empty = ranked(column), bool((column == "").any())
    else:
        return pd.factorize(column.astype("string").fillna(""), sort=True)[0]
    # Missing is written as the empty text: the same place as an empty text (the first text), before everything else.
    return np.where(values < 0, 0 if empty else -1, values)
