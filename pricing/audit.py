"""Audit trail: settle from files with a record that lets anyone replay the settlement, and replay it.

:func:`settle_files` reads the contract and every input file, settles, and
adds to the settlement's audit record the SHA-256 of the contract file and
of each input, the baseline version, desist's version, the seeds, the as-of
date and the command. :func:`verify` takes that record, checks every hash,
settles again and compares every figure: it reports the input whose hash
changed, or the figure that moved.

Files are read here (CSV, Parquet or Excel by suffix) and checked against
their schema with :func:`ground.tables.validate`, the same rules the command
line applies, so a script and ``desist settle`` settle the same thing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from ground.checks import parameter_error
from ground.errors import SchemaError, SpecError
from ground.tables import TABLES as SCHEMAS
from ground.tables import table_schema, validate
from pricing.contract import Contract
from pricing.settlement import TABLES, Settlement, settle

__all__ = ["Verification", "file_sha256", "read_input", "settle_files", "verify"]


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def desist_version() -> str:
    try:
        return version("desist")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "unknown"


def read_input(path: str | Path, table: str, *, as_of: Any = None) -> pd.DataFrame:
    """Read one settlement input by its suffix and check it against its schema.

    ``comparison`` (the evaluator's matched comparison) has no schema of its
    own: its ids are read as text and the rest as given.
    """
    path = Path(path)
    if not path.is_file():
        raise SchemaError(f"{path}: no such file (given for the {table} table).", table=table, source=str(path))
    text = {"person_id": "str"}
    if table in SCHEMAS:
        schema = table_schema(table, source=str(path))
        text = {n: "str" for n, c in schema.columns.items() if not str(c.dtype).startswith("datetime64")}
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=text)
        elif suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        elif suffix in (".xlsx", ".xlsm"):
            frame = pd.read_excel(path, dtype=text)
        else:
            raise SchemaError(f"{path}: the suffix must be .csv, .parquet or .xlsx. Got {suffix!r}.", table=table)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise SchemaError(f"{path}: cannot read the {table} table: {exc}", table=table, source=str(path)) from exc
    return validate(frame, table, as_of=as_of, source=str(path)) if table in SCHEMAS else frame


def settle_files(
    contract: str | Path,
    files: Mapping[str, str | Path],
    *,
    as_of: Any,
    command: str = "",
) -> Settlement:
    """Settle a contract file on input files, with a full audit record.

    Parameters
    ----------
    contract : path
        The contract (TOML).
    files : mapping of table name -> path
        Names among ``people``, ``offences``, ``assessments``, ``comparison``,
        ``pool``; a table the contract does not use is read, hashed and
        listed as unused.
    as_of : date-like
    command : str
        The command line that asked for it, recorded as given.

    Examples
    --------
    >>> s = settle_files("examples/specs/intermediate.toml", {"people": "examples/data/people.csv",
    ...                  "assessments": "examples/data/assessments.csv"}, as_of="2025-09-30")  # doctest: +SKIP
    """
    unknown = sorted(set(files) - set(TABLES))
    if unknown:
        raise parameter_error("files", "settle_files", f"a mapping with table names among {', '.join(TABLES)}", unknown)
    parsed = Contract.from_toml(contract)
    stamp = pd.Timestamp(as_of)
    data = {name: read_input(path, name, as_of=stamp) for name, path in sorted(files.items())}
    settlement = settle(parsed, data, as_of=as_of)
    audit = {
        **settlement.audit,
        "contract": {**settlement.audit["contract"], "path": str(contract), "sha256": file_sha256(contract)},
        "inputs": {name: {"path": str(path), "sha256": file_sha256(path)} for name, path in sorted(files.items())},
        "desist_version": desist_version(),
        "command": command,
    }
    return Settlement(
        settlement.contract,
        settlement.as_of,
        settlement.tranches,
        settlement.parties,
        settlement.ledger,
        settlement.exclusions,
        audit,
    )


@dataclass(frozen=True)
class Verification:
    """The result of replaying a settlement from its audit record.

    Attributes
    ----------
    identical : bool
        Every hash and every figure is as recorded.
    problems : list of str
        Each changed input (by table and path) or moved figure, in words.
    """

    identical: bool
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.identical:
            return "Verified: every input hash and every figure is identical."
        return "Not verified:\n" + "\n".join(f"  - {p}" for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {"identical": self.identical, "problems": list(self.problems)}


def verify(audit: Mapping[str, Any] | str | Path) -> Verification:
    """Replay a settlement from its audit record (a dict or an ``audit.json`` path).

    Checks the SHA-256 of the contract and of every input first (a changed
    file is named and the settlement is not re-run), then settles again and
    compares the totals per tranche and party, the ledger's row count and
    its SHA-256.

    Examples
    --------
    >>> verify("out/audit.json").identical  # doctest: +SKIP
    True
    """
    record = _record(audit)
    problems = []
    sources = {"contract": record["contract"]["path"], **{k: v["path"] for k, v in record["inputs"].items()}}
    expected = {"contract": record["contract"]["sha256"], **{k: v["sha256"] for k, v in record["inputs"].items()}}
    for name, path in sources.items():
        if not Path(path).is_file():
            problems.append(f"{name} ({path}): the file is missing")
        elif file_sha256(path) != expected[name]:
            problems.append(f"{name} ({path}): its SHA-256 changed since the settlement")
    if problems:
        return Verification(False, problems)
    again = settle_files(
        sources["contract"], {k: v for k, v in sources.items() if k != "contract"}, as_of=record["as_of"]
    ).figures()
    for key, was in record["figures"].items():
        now = again.get(key)
        if now != was:
            problems.append(f"figure {key!r} moved: recorded {_short(was)}, now {_short(now)}")
    return Verification(not problems, problems)


def _record(audit: Mapping[str, Any] | str | Path) -> dict[str, Any]:
    if isinstance(audit, (str, Path)):
        try:
            audit = json.loads(Path(audit).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise SpecError(f"{audit}: not a readable audit record: {exc}", source=str(audit)) from None
    if not isinstance(audit, Mapping) or not {"contract", "inputs", "as_of", "figures"} <= set(audit):
        raise parameter_error("audit", "verify", "an audit record with contract, inputs, as_of and figures", audit)
    return dict(audit)


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 200 else text[:197] + "..."
