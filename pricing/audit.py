"""Audit records that prove a settlement's outputs, and :func:`verify`, which checks what was paid.

:func:`settle_files` reads the contract and every input file (through
:func:`pricing.settle`, which reads them with :mod:`ground.reading` and checks
them) and adds to the settlement's audit record the SHA-256 of the contract and
of each input, desist's version, the as-of date, the command and the date
format declared for the inputs (verify reads them the same way).

``desist settle --out DIR`` writes ``settlement.json`` and ``ledger.csv``
(:func:`output_texts`), then ``audit.json`` (:func:`audit_text`): the record with
every path relative to DIR and the SHA-256 of every output file, the workbook
included; ``manifest.json`` then holds the SHA-256 of ``audit.json``.

:func:`verify` takes ``audit.json`` (or a record) and says what it can prove:

1. ``audit.json`` is the file desist wrote (its hash is the one in ``manifest.json``);
2. the contract and every input are the files settled (their hashes);
3. settling them again gives the same figures, and ``settlement.json`` and
   ``ledger.csv`` on disk are, byte for byte, what the contract gives; the first
   figure that differs is named, as ``ledger.csv row 17: paid £50,000.00 but the
   contract gives -£50,000.00``; the workbook has the hash recorded.

A settlement made with ``previous`` (``desist settle --previous AUDIT.json``)
nets what an earlier settlement of the same contract paid (:mod:`pricing.running`);
its record holds the earlier ``audit.json``'s path and SHA-256, and :func:`verify`
checks the chain: the earlier record's hash, then the earlier settlement itself,
back to the first.

Paths are read relative to the audit file, so verify works from any folder and
with the folder of inputs and outputs moved. A record that is not one desist
wrote is one :class:`~ground.errors.SpecError` naming what is wrong. Nothing here
can stop someone who rewrites the outputs, audit.json and manifest.json together
to agree; it proves the files agree with each other and with the contract.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from ground.checks import parameter_error, shown_value
from ground.dates import DateLike, date_format, declared_format, parse_date
from ground.errors import DesistError, ParameterError, SpecError
from ground.jsondata import json_text
from ground.mapping import read_data_map, table_source
from ground.pseudonyms import key_check
from outcomes.engines import DuckDB, Spark
from pricing.audit_diff import first_difference
from pricing.contract import Contract
from pricing.publishing import pseudonymise
from pricing.running import PaidBefore, by_item
from pricing.settlement import Settlement, settle
from pricing.settlement_data import TABLES

__all__ = [
    "AUDIT",
    "Verification",
    "audit_text",
    "file_sha256",
    "input_sha256",
    "output_texts",
    "read_previous",
    "relative_to",
    "settle_files",
    "verify",
]

#: The audit record's file name, and the manifest beside it that holds its hash (desist.outputs writes it).
AUDIT, MANIFEST = "audit.json", "manifest.json"
_HASH = re.compile(r"^[0-9a-f]{64}$")


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


def settle_files(
    contract: str | Path,
    files: Mapping[str, str | Path] | str | Path | None = None,
    *,
    as_of: DateLike,
    command: str = "",
    previous: str | Path | None = None,
    key: bytes | None = None,
    engine: str | DuckDB | Spark = "pandas",
) -> Settlement:
    """Settle a contract file on input files, with a full audit record.

    Parameters
    ----------
    contract : path
        The contract (TOML).
    files : mapping of table name -> path, or a data mapping file, optional
        Names among ``people``, ``offences``, ``assessments``, ``comparison``,
        ``pool``; a table the contract does not use is read, hashed and
        listed as unused. A path ending ``.toml`` is a data mapping file
        (:mod:`ground.mapping`): every table it maps that a settlement reads,
        hashed with every file it reads. None: the mapping file the contract's
        ``[data] map`` names.
    as_of : DateLike
    command : str
        The command line that asked for it, recorded as given.
    previous : path, optional
        The ``audit.json`` of an earlier settlement of the same contract: what it
        paid is netted (:func:`read_previous` checks its hashes), and its path and
        SHA-256 are recorded, so :func:`verify` checks the chain.
    key : bytes, optional
        Pseudonymise the settlement with this key (:func:`pricing.publishing.pseudonymise`): every person
        identifier in it replaced by its keyed hash, small counts suppressed; the record holds the key's
        fingerprint, never the key, and :func:`verify` needs the same key.
    engine : {"pandas", "duckdb", "spark"} or an engine
        Where the offences are counted (:func:`pricing.settle`); every engine gives the same settlement, so
        :func:`verify` replays it on pandas.

    Examples
    --------
    >>> s = settle_files("examples/specs/intermediate.toml", {"people": "examples/data/people.csv",
    ...                  "assessments": "examples/data/assessments.csv"}, as_of="2025-09-30")  # doctest: +SKIP
    """
    terms = Contract.from_toml(contract)
    files = _input_files(terms.data_map if files is None else files)
    tables = {name: table_source(path, name) for name, path in files.items()}
    before = None if previous is None else read_previous(previous)
    settlement = settle(terms, tables, as_of=as_of, previous=before, engine=engine)
    if key is not None:  # the identifier step: nothing after this sees a person's own identifier
        settlement = pseudonymise(settlement, key)
    audit = {
        **settlement.audit,
        "contract": {"name": settlement.contract, "path": str(contract), "sha256": file_sha256(contract)},
        "inputs": {
            name: {"path": str(path), "sha256": input_sha256(path, name)} for name, path in sorted(files.items())
        },
        "desist_version": desist_version(),
        "command": command,
        # Dates in the inputs written another way than YYYY-MM-DD were read in this declared format.
        "date_format": declared_format(),
    }
    if previous is not None:
        audit["previous"] = {**audit["previous"], "path": str(previous)}
    return replace(settlement, audit=audit)


def read_previous(path: str | Path) -> PaidBefore:
    """What the settlement recorded in ``path`` (an ``audit.json``) paid, from the ``ledger.csv`` beside it.

    The record must be one desist wrote (its hash in ``manifest.json``) and the
    ledger the one it records (its SHA-256); anything else is one
    :class:`~ground.errors.SpecError` naming the file.

    Parameters
    ----------
    path : str or Path
        The earlier settlement's ``audit.json``, written by ``desist settle --out``.

    Examples
    --------
    >>> read_previous("settled_2014/audit.json").as_of  # doctest: +SKIP
    datetime.date(2014, 8, 7)
    """
    path = Path(path)
    record = _read_record(path)
    changed = _changed_since_written(path)
    ledger = path.parent / "ledger.csv"
    recorded = record.get("outputs", {}).get("ledger.csv")
    if changed is None and recorded is None:
        changed = f"{path} records no ledger.csv: only a settlement written with --out can be netted"
    elif changed is None and (not ledger.is_file() or file_sha256(ledger) != recorded):
        changed = f"{ledger} is missing or was changed after it was written (its SHA-256 is not the one {AUDIT} has)"
    if changed:
        raise SpecError(f"The previous settlement cannot be netted: {changed}.", source=str(path))
    frame = pd.read_csv(ledger, dtype=str, keep_default_na=False)
    paid = frame.assign(amount_pence=[_pence_of(v) for v in frame["amount"]]).drop(columns="amount")
    as_of = parse_date(record["as_of"], "as_of").date()
    return PaidBefore(as_of, record["contract"]["sha256"], by_item(paid), file_sha256(path))


def _pence_of(text: str) -> int:
    """``"-1234.56"`` (as :func:`pricing.settlement.pence_text` writes it) to ``-123456``."""
    return int((Decimal(text) * 100).to_integral_value())


def _input_files(files: Any) -> dict[str, Path]:
    """The input files by table: a data mapping file stands for each settlement table it maps."""
    if isinstance(files, (str, Path)) and Path(files).suffix.lower() == ".toml":
        files = {name: Path(files) for name in read_data_map(files).tables if name in TABLES}
    if not isinstance(files, Mapping) or not files or set(files) - set(TABLES):
        words = f"a data mapping file, or a mapping with table names among {', '.join(TABLES)}"
        raise parameter_error("files", "settle_files", words, sorted(files) if isinstance(files, Mapping) else files)
    return {name: Path(path) for name, path in files.items()}


def input_sha256(path: str | Path, table: str) -> str:
    """SHA-256 of an input: a file's bytes, or for a data mapping file, of it and everything its table reads.

    Parameters
    ----------
    path : str or pathlib.Path
        The input file, or the data mapping file (``.toml``).
    table : str
        The table it gives (the mapping's table hashed).

    Examples
    --------
    >>> input_sha256("data.toml", "offences")  # doctest: +SKIP
    '5f0c...'
    """
    if Path(path).suffix.lower() != ".toml":
        return file_sha256(path)
    mapped = read_data_map(path)[table]
    digest = hashlib.sha256(Path(path).read_bytes() + table.encode())
    if mapped.database is not None:  # the rows as read: a database has no file to hash
        digest.update(mapped.database.sha256().encode())
    for source in mapped.files():
        digest.update(file_sha256(source).encode())
    return digest.hexdigest()


def relative_to(settlement: Settlement, folder: str | Path, *, desist: str | None = None) -> Settlement:
    """The settlement with every path in its audit record relative to ``folder`` (where audit.json goes).

    ``desist`` replaces the recorded version (verify rebuilds the files a past version wrote).

    Parameters
    ----------
    settlement : Settlement
        One made by :func:`settle_files` (its record names the files).
    folder : str or Path
        Where ``audit.json`` goes: the contract's, every input's and the previous settlement's paths become
        relative to it.
    desist : str, optional
        The desist version to record instead of this one.

    Examples
    --------
    >>> s = settle_files("contract.toml", {"people": "data/people.csv"}, as_of="2025-09-30")  # doctest: +SKIP
    >>> relative_to(s, "settled").audit["contract"]["path"]  # doctest: +SKIP
    '../contract.toml'
    """
    audit = dict(settlement.audit)
    base = os.path.abspath(folder)
    audit["contract"] = {**audit["contract"], "path": _relative(audit["contract"]["path"], base)}
    audit["inputs"] = {k: {**v, "path": _relative(v["path"], base)} for k, v in audit["inputs"].items()}
    if "previous" in audit:
        audit["previous"] = {**audit["previous"], "path": _relative(audit["previous"]["path"], base)}
    if desist is not None:
        audit["desist_version"] = desist
    return replace(settlement, audit=audit)


def _relative(path: str, base: str) -> str:
    try:
        return Path(os.path.relpath(os.path.abspath(path), base)).as_posix()
    except ValueError:  # another drive (Windows): only an absolute path reaches it
        return os.path.abspath(path)


def output_texts(settlement: Settlement) -> dict[str, str]:
    """``settlement.json`` and ``ledger.csv`` as written (verify rebuilds these bytes).

    Parameters
    ----------
    settlement : Settlement
        The settlement.

    Examples
    --------
    >>> import pandas as pd
    >>> from pricing import scheme, settle
    >>> people = pd.DataFrame({"person_id": ["1"], "start_date": ["2011-11-01"], "deported": False,
    ...                        "time_served": False, "breach": False})
    >>> offences = pd.DataFrame(columns=["person_id", "offence_date", "disposal_date", "disposal"])
    >>> sorted(output_texts(settle(scheme("doncaster"), {"people": people, "offences": offences}, as_of="2013-12-31")))
    ['ledger.csv', 'settlement.json']
    """
    return {"settlement.json": json_text(settlement.to_dict()), "ledger.csv": settlement.ledger_csv()}


def audit_text(settlement: Settlement, outputs: Mapping[str, str]) -> str:
    """``audit.json``: the settlement's audit record and the SHA-256 of each output file (name -> hash).

    Parameters
    ----------
    settlement : Settlement
        A settlement with its audit record.
    outputs : mapping of str -> str
        Each output file's name and SHA-256.

    Examples
    --------
    >>> import pandas as pd
    >>> from pricing import scheme, settle
    >>> people = pd.DataFrame({"person_id": ["1"], "start_date": ["2011-11-01"], "deported": False,
    ...                        "time_served": False, "breach": False})
    >>> offences = pd.DataFrame(columns=["person_id", "offence_date", "disposal_date", "disposal"])
    >>> s = settle(scheme("doncaster"), {"people": people, "offences": offences}, as_of="2013-12-31")
    >>> import json
    >>> json.loads(audit_text(s, {"ledger.csv": "0" * 64}))["outputs"]
    {'ledger.csv': '0000000000000000000000000000000000000000000000000000000000000000'}
    """
    return json_text({**settlement.audit, "outputs": dict(outputs)})


@dataclass(frozen=True)
class Verification:
    """The result of replaying a settlement from its audit record.

    Attributes
    ----------
    identical : bool
        audit.json, every input, every figure and every output file are as recorded.
    problems : list of str
        What differs, first the file and then the figure, in words.
    notes : list of str
        What a reader should know that does not fail it (another desist version).
    """

    identical: bool
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        notes = "".join(f"\n  Note: {n}" for n in self.notes)
        if self.identical:
            return "Verified: audit.json, every input, every figure and every output file are as recorded." + notes
        return "Not verified:\n" + "\n".join(f"  - {p}" for p in self.problems) + notes

    def to_dict(self) -> dict[str, object]:
        return {"identical": self.identical, "problems": list(self.problems), "notes": list(self.notes)}


def verify(audit: Mapping[str, object] | str | Path, *, key: bytes | None = None) -> Verification:
    """Check a settlement from its audit record (an ``audit.json`` path, or the record as a dict).

    In order, stopping at the first step that fails: the record against
    ``manifest.json`` beside it (a path only), the SHA-256 of the contract and
    of every input, then the settlement again: its figures, and the output
    files on disk against what it gives, byte for byte. A pseudonymised
    settlement is replayed with ``key``, which must be the key it was
    pseudonymised with (its fingerprint is in the record).

    Raises
    ------
    SpecError
        The record is not an audit record desist wrote (unreadable, or a key
        missing or of the wrong kind): one message naming the file and the key.

    Examples
    --------
    >>> verify("out/audit.json").identical  # doctest: +SKIP
    True
    """
    if isinstance(audit, (str, Path)):
        path = Path(audit)
        record, folder = _read_record(path), path.parent
        changed = _changed_since_written(path)
        if changed:
            return Verification(False, [changed])
    else:
        record, folder = _check_record(audit, "the audit record"), Path.cwd()
    located = {name: _located(entry["path"], folder) for name, entry in _files(record).items()}
    problems = _changed_inputs(record, located)
    previous = _located(record["previous"]["path"], folder) if "previous" in record else None
    if previous is not None and not problems:
        problems = _broken_chain(record["previous"], previous, key)
    if problems:
        return Verification(False, problems)
    wrong_key = _wrong_key(record, key)
    if wrong_key:
        return Verification(False, [wrong_key])
    inputs = {k: v for k, v in located.items() if k != "contract"}
    with date_format(record.get("date_format")):
        again = settle_files(
            located["contract"], inputs, as_of=record["as_of"], command=record["command"], previous=previous, key=key
        )
    problems = _moved_figures(record["figures"], again.figures())
    outputs = record.get("outputs", {})
    if outputs:
        rebuilt = output_texts(relative_to(again, folder, desist=record["desist_version"]))
        problems += _changed_outputs(outputs, rebuilt, folder)
    notes = []
    if record["desist_version"] != desist_version():
        notes.append(f"settled with desist {record['desist_version']}, replayed with desist {desist_version()}.")
    return Verification(not problems, problems, notes)


def _broken_chain(entry: Mapping[str, Any], path: Path, key: bytes | None) -> list[str]:
    """The earlier settlement of a running account: its audit.json as recorded, then verified itself (the chain),
    with the key if it was pseudonymised too."""
    if not path.is_file():
        return [f"previous settlement ({path}): the file is missing"]
    if file_sha256(path) != entry["sha256"]:
        return [f"previous settlement ({path}): its SHA-256 changed since this settlement netted it"]
    earlier = verify(path, key=key if "pseudonyms" in _read_record(path) else None)
    return [f"previous settlement ({path}): {problem}" for problem in earlier.problems]


def _wrong_key(record: Mapping[str, Any], key: bytes | None) -> str | None:
    """Why the key cannot replay this record: missing, unneeded, or not the one it was pseudonymised with."""
    recorded = record.get("pseudonyms")
    if recorded is None:
        return None if key is None else "this settlement was not pseudonymised: verify it without a key"
    if key is None:
        return "this settlement was pseudonymised: verify it with the same key (desist verify --pseudonymise KEYFILE)"
    if not isinstance(recorded, Mapping) or recorded.get("key_check") != key_check(key):
        return "the key is not the one this settlement was pseudonymised with (its fingerprint differs)"
    return None


def _files(record: Mapping[str, Any]) -> dict[str, Mapping[str, str]]:
    return {"contract": record["contract"], **record["inputs"]}


def _located(path: str, folder: Path) -> Path:
    """A recorded path: relative ones are relative to the audit file's folder."""
    given = Path(path)
    return given if given.is_absolute() else Path(os.path.normpath(folder / given))


def _changed_since_written(path: Path) -> str | None:
    """audit.json against the hash manifest.json recorded for it when the folder was written."""
    manifest = path.parent / MANIFEST
    try:
        listed = {f["name"]: f["sha256"] for f in json.loads(manifest.read_text(encoding="utf-8"))["files"]}
    except (OSError, ValueError, KeyError, TypeError):
        return (
            f"{manifest} is missing or unreadable, so nothing shows that {path.name} is the record desist wrote: "
            "verify the folder desist settle wrote, whole."
        )
    if listed.get(path.name) != file_sha256(path):
        return f"{path.name} was changed after it was written (its SHA-256 is not the one {MANIFEST} records)."
    return None


def _changed_inputs(record: Mapping[str, Any], located: Mapping[str, Path]) -> list[str]:
    problems = []
    for name, entry in _files(record).items():
        where = located[name]
        if not where.is_file():
            problems.append(f"{name} ({where}): the file is missing")
            continue
        try:
            changed = (file_sha256(where) if name == "contract" else input_sha256(where, name)) != entry["sha256"]
        except (DesistError, OSError) as exc:  # a file the data mapping reads is gone or unreadable
            problems.append(f"{name} ({where}): cannot be read again: {exc}")
            continue
        if changed:
            problems.append(f"{name} ({where}): its SHA-256 changed since the settlement")
    return problems


def _moved_figures(recorded: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    return [
        f"figure {key!r} moved: recorded {_short(was)}, now {_short(now.get(key))}"
        for key, was in recorded.items()
        if now.get(key) != was
    ]


def _changed_outputs(outputs: Mapping[str, str], rebuilt: Mapping[str, str], folder: Path) -> list[str]:
    """Each output file against the settlement's own (byte for byte) or, for the workbook, its recorded hash."""
    problems = []
    for name, recorded in outputs.items():
        where = folder / name
        if not where.is_file():
            problems.append(f"{name} ({where}): the file is missing")
            continue
        if name not in rebuilt:
            if file_sha256(where) != recorded:
                problems.append(
                    f"{name} was changed after it was written (its SHA-256 is not the one {AUDIT} records)."
                )
            continue
        on_disk = where.read_bytes()
        if on_disk != rebuilt[name].encode("utf-8"):
            problems.append(first_difference(name, on_disk.decode("utf-8", errors="replace"), rebuilt[name]))
    return problems


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 200 else text[:197] + "..."


# ------------------------------------------------------------------ reading a record
def _read_record(path: Path) -> dict[str, Any]:
    """An ``audit.json`` file, checked to be a record desist wrote (one SpecError naming the key otherwise)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError(f"{path}: not a readable audit record ({reason}).", source=str(path)) from None
    return _check_record(record, str(path))


def _check_record(record: Any, where: str) -> dict[str, Any]:
    """The record, or one SpecError saying which key is missing or wrong."""

    def fail(key: str, must: str, value: Any = ...) -> SpecError:
        got = "It is missing" if value is ... else f"Got {shown_value(value, 80)} instead"
        return SpecError(
            f"{where}: not an audit record desist wrote: the {key!r} key must be {must}. {got}.", key=key, source=where
        )

    if not isinstance(record, Mapping):
        raise SpecError(f"{where}: not an audit record desist wrote: it must be a JSON object.", source=where)
    for key, must in (("contract", "a table"), ("inputs", "a table"), ("figures", "a table"), ("outputs", "a table")):
        if key in record and not isinstance(record[key], Mapping):
            raise fail(key, must, record[key])
        if key not in record and key != "outputs":
            raise fail(key, must)
    for key in ("as_of", "command", "desist_version"):
        if not isinstance(record.get(key, ...), str):
            raise fail(key, "text", record.get(key, ...))
    try:
        with date_format(record.get("date_format")):
            pass
    except ParameterError:
        raise fail("date_format", "null or a date format with a four-digit year", record["date_format"]) from None
    parse_date(record["as_of"], "as_of", error=lambda _: fail("as_of", "a date written YYYY-MM-DD", record["as_of"]))
    if not record["inputs"] or set(record["inputs"]) - set(TABLES):
        raise fail("inputs", f"a table of input files named among {', '.join(TABLES)}", record["inputs"])
    for name, entry in _files(record).items():
        key = "contract" if name == "contract" else f"inputs.{name}"
        ok = isinstance(entry, Mapping) and isinstance(entry.get("path"), str) and entry["path"]
        if not ok or not _HASH.match(str(entry.get("sha256", ""))):
            raise fail(key, "a table with a 'path' and the file's 'sha256' (64 hex digits)", entry)
    for name, digest in record.get("outputs", {}).items():
        if Path(name).name != name or not _HASH.match(str(digest)):
            raise fail(f"outputs.{name}", "a file name in the audit's folder and its SHA-256", digest)
    if "previous" in record:
        entry = record["previous"]
        ok = isinstance(entry, Mapping) and isinstance(entry.get("path"), str) and entry["path"]
        if not ok or not _HASH.match(str(entry.get("sha256", ""))):
            raise fail("previous", "a table with the earlier audit.json's 'path' and 'sha256' (64 hex digits)", entry)
    return dict(record)
