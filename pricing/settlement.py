"""Settlement: a contract and its data in, pounds out, with a claims ledger that reconciles.

:func:`settle` places each eligible person in a tranche, measures each
tranche against its counterfactual (a matched comparison or a versioned
baseline), applies the contract's rules at the stage each tranche has reached
on the as-of date (interim or final; a pooled rule only once every tranche is
final, net of what was paid before), pays the tariff per person and payable
outcome with stacked uplifts, applies the caps, pays a rate card's claims
(:mod:`pricing.ratecard`) under what is left of the contract cap, and splits
the money between the parties.

Money is counted in whole pence (integers; a price times an uplift is
rounded half up to the penny in exact decimal arithmetic, once per distinct
price and uplift, :mod:`pricing.tariff_ledger`), so the ledger
total, the tranche totals and the party totals agree exactly. Inputs are
sorted by person before anything is computed (assessments, scored per person
and day whatever their order, are not), so the settlement does not
depend on the order of rows in any table, and the ledger written as CSV is
byte-identical for the same inputs.

On DuckDB or Spark (``engine=``), the offences and custody stays are counted
and the assessments scored on the engine, per person and date measured
(:mod:`pricing.settlement_engine`); everything here then reads those counts as
its own, so every engine gives the same ledger.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.special import ndtri

from ground.checks import parameter_error
from ground.dates import DateLike, parse_date
from ground.errors import ModelError, ParameterError, SchemaError
from ground.expressions import parse
from ground.reading import TableSource
from ground.tables import UnmatchedRowsWarning, check_links
from ground.tolerance import at_least
from metrics.thresholds import Contrast, case_mix_baseline
from outcomes.custody import custody_nights, window_people
from outcomes.engines import DuckDB, Spark, as_engine
from pricing.contract import Contract, ContractRule, Tranche, comparison_measure
from pricing.ledger_text import csv_pieces
from pricing.payouts import events_avoided, tranche_money
from pricing.ratecard import CLAIM_KINDS, cash_flow
from pricing.ratecard_settlement import contract_cap_pence, settle_contract_claims
from pricing.running import SETTLED_BEFORE, PaidBefore, by_item, netted
from pricing.settlement_data import OUTCOME_COLUMN, TABLES, settlement_data
from pricing.settlement_engine import (
    Counted,
    CountedCustody,
    CountedOffences,
    JudgedAssessments,
    assessments_on_engine,
    custody_on_engine,
    held_back,
    on_engine,
)
from pricing.tariff_ledger import LEDGER_COLUMNS, Uplifts, capped, pence, pence_text, tariff_rows, uplifts

__all__ = ["TABLES", "Settlement", "pence_text", "settle"]


@dataclass(frozen=True)
class Settlement:
    """What a contract pays on an as-of date, and why.

    Attributes
    ----------
    contract : str
        The contract's name.
    as_of : datetime.date
    tranches : pandas.DataFrame
        One row per tranche and rule (and one ``tariff`` row per tranche for a
        tariff, one ``claims`` row for a rate card): stage, measure, estimate
        with its 95% CI and n, threshold, decision value, met, ``amount_pence``
        (net of what an earlier settlement paid, ``settled_before_pence``) and
        the amounts had the estimate been at either end of its CI.
    parties : pandas.DataFrame
        One row per party: ``role`` and ``amount_pence`` received (the
        commissioner's is the negative of the total).
    ledger : pandas.DataFrame
        One row per person and payable outcome, and per rule payment,
        clawback or release of withheld fee: evidence and date, base price,
        uplift factor and ``amount_pence``.
    exclusions : pandas.DataFrame
        ``step``, ``reason``, ``n``: everyone left out, and why.
    audit : dict
        Contract digest, as-of date, versions, tables used and unused, the
        totals and the ledger's SHA-256 (see :mod:`pricing.audit`).
    """

    contract: str
    as_of: date
    tranches: pd.DataFrame
    parties: pd.DataFrame
    ledger: pd.DataFrame
    exclusions: pd.DataFrame
    audit: dict[str, Any] = field(default_factory=dict)

    @property
    def total_pence(self) -> int:
        """What the commissioner pays, net of clawbacks, in pence."""
        return int(self.ledger["amount_pence"].sum())

    @cached_property
    def _ledger_pieces(self) -> list[pa.Buffer]:
        """The ledger as CSV in pieces (:func:`pricing.ledger_text.csv_pieces`), amounts in pounds with two decimals.

        Written once, on first use: the figures' SHA-256, the audit's ledger file and the statement all read it,
        and at millions of claims writing it is seconds. A settlement's ledger is not changed after settling.
        """
        # Amounts repeat (prices, zeros): each distinct one is written once, then placed by its code, so a
        # ledger of millions of claims does not call pence_text millions of times; csv_pieces writes what
        # to_csv(index=False, lineterminator="\n") writes, byte for byte, joining ordinary rows in Arrow.
        codes, amounts = pd.factorize(self.ledger["amount_pence"])
        text = pd.Categorical.from_codes(codes, categories=pd.Index([pence_text(a) for a in amounts]))
        return csv_pieces(self.ledger.assign(amount=text).drop(columns="amount_pence"))

    @property
    def ledger_bytes(self) -> bytes:
        """The ledger as CSV, UTF-8 bytes (amounts in pounds with two decimals); identical for identical inputs."""
        return b"".join(self._ledger_pieces)

    def ledger_csv(self) -> str:
        """The ledger as CSV text: :attr:`ledger_bytes` decoded."""
        return self.ledger_bytes.decode()

    def figures(self) -> dict[str, object]:
        """The totals :func:`pricing.verify` compares: per tranche, per party, overall, and the ledger's hash."""
        return {
            "total_pence": self.total_pence,
            "tranches": {
                k: int(v) for k, v in self.tranches.groupby("tranche", sort=False)["amount_pence"].sum().items()
            },
            "parties": {
                str(party): int(pence) for party, pence in zip(self.parties["party"], self.parties["amount_pence"])
            },
            "ledger_rows": len(self.ledger),
            "ledger_sha256": self._ledger_sha256(),
        }

    def _ledger_sha256(self) -> str:
        """The SHA-256 of :attr:`ledger_bytes`, hashed piece by piece: the ledger's text is not copied into one."""
        digest = hashlib.sha256()
        for piece in self._ledger_pieces:
            digest.update(piece)
        return digest.hexdigest()

    def to_frame(self) -> pd.DataFrame:
        """The tranche table (a copy)."""
        return self.tranches.copy()

    def cash_flow(self) -> pd.DataFrame:
        """What falls due in each payment period of a rate card (``[claims].periods``): ``period``, ``claims``
        paid and ``amount_pence``; empty for a contract without one."""
        if "period" not in self.ledger:
            return pd.DataFrame({"period": [], "claims": [], "amount_pence": []}).astype({"claims": "int64"})
        return cash_flow(self.ledger.loc[self.ledger["kind"].isin(CLAIM_KINDS)])

    def to_dict(self) -> dict[str, object]:
        """Plain-Python form for JSON: tranches, parties, exclusions, a rate card's cash flow, figures and audit."""
        out: dict[str, object] = {
            "contract": self.contract,
            "as_of": self.as_of.isoformat(),
            "total": pence_text(self.total_pence),
            "tranches": self.tranches.astype(object).where(self.tranches.notna(), None).to_dict(orient="records"),
            "parties": self.parties.to_dict(orient="records"),
            "exclusions": self.exclusions.to_dict(orient="records"),
            "figures": self.figures(),
            "audit": self.audit,
        }
        if "period" in self.ledger:
            out["cash_flow"] = self.cash_flow().to_dict(orient="records")
        return out

    def summary(self) -> str:
        """The settlement in words: each tranche and rule, the parties, the exclusions."""
        lines = [f"Settlement of '{self.contract}' as of {self.as_of}: £{pence_text(self.total_pence)} in total"]
        before = self.ledger.loc[self.ledger["kind"] == SETTLED_BEFORE, "amount_pence"]
        if len(before):
            paid = self.audit.get("previous", {}).get("as_of", "an earlier date")
            lines.append(f"  net of £{pence_text(-int(before.sum()))} paid by the settlement as of {paid}")
        r: Any  # a row of the tranche table: its columns' values
        for r in self.tranches.itertuples():
            if r.kind in ("tariff", "claims"):
                what = "payable outcomes" if r.kind == "tariff" else "claims paid"
                lines.append(f"  {r.tranche} {r.kind}: {int(r.n_treated)} {what}, £{pence_text(r.amount_pence)}")
                continue
            if r.stage == "not due":
                lines.append(f"  {r.tranche} {r.rule}: not due yet")
                continue
            ci = "" if pd.isna(r.estimate) else f"{r.estimate:.1%} (95% CI {r.ci_low:.1%} to {r.ci_high:.1%}), "
            lines.append(
                f"  {r.tranche} {r.rule} ({r.stage}): {ci}n = {r.n_treated:,.0f}; needs {r.threshold:.1%}: "
                f"{'MET' if r.met else 'not met'}; £{pence_text(r.amount_pence)} "
                f"(£{pence_text(r.amount_at_ci_low)} to £{pence_text(r.amount_at_ci_high)} at the CI's ends)"
            )
        lines.append(
            "Parties: "
            + "; ".join(
                f"{p} £{pence_text(int(a))}" for p, a in zip(self.parties["party"], self.parties["amount_pence"])
            )
        )
        if len(self.exclusions):
            lines.append(
                "Left out: " + "; ".join(f"{e.reason} ({e.step}): {e.n}" for e in self.exclusions.itertuples())
            )
        return "\n".join(lines)


# ------------------------------------------------------------------ entry point
def settle(
    contract: Contract,
    data: Mapping[str, pd.DataFrame | str | Path | TableSource] | str | Path | None = None,
    *,
    as_of: DateLike,
    previous: Settlement | PaidBefore | None = None,
    engine: str | DuckDB | Spark = "pandas",
) -> Settlement:
    """Settle a contract on its data as of a date.

    Parameters
    ----------
    contract : Contract
    data : mapping of table name -> DataFrame or file path
        ``people`` (always), ``offences`` (reoffending rules), ``assessments``
        (priced outcomes), and for a matched counterfactual either
        ``comparison`` (the evaluator's matched comparison: ``person_id``,
        ``tranche``, ``reoffended``/``reoffences``, optional ``weight``) or
        ``pool`` (matched here on the contract's covariates); for a rate card
        (``[claims]``), ``claims`` and, for outcomes due from spells,
        ``spells`` (:mod:`pricing.ratecard`). A path is read by
        :func:`ground.reading.read_frame`. Every table used is checked against
        its schema as ``desist settle`` checks it (:mod:`pricing.settlement_data`);
        a table the contract does not use is listed in the audit as unused.
        Or a data mapping file (``data.toml``, :mod:`ground.mapping`), whose
        tables are read in desist's words; None: the one the contract's
        ``[data] map`` names.
    as_of : DateLike
        The settlement date, YYYY-MM-DD (:mod:`ground.dates`): decides which
        tranches are due and which people are observable. Offences, disposals
        and assessments dated after it, and people whose index date is after
        it, are left out and counted among the exclusions.
    previous : Settlement or PaidBefore, optional
        An earlier settlement of the same contract: what it paid is netted, one
        ``settled before`` ledger row per tranche and item, so this settlement
        pays what is due now and the two form one running account
        (:mod:`pricing.running`; ``desist settle --previous AUDIT.json``).
    engine : {"pandas", "duckdb", "spark"} or an engine
        Where the offences and custody bed nights are counted and the
        assessments scored: ``"pandas"`` in memory; ``"duckdb"`` (or
        :class:`outcomes.engines.DuckDB` with a memory limit) reading Parquet or
        CSV offences, assessments and custody files from disk; ``"spark"`` (or
        :class:`outcomes.engines.Spark` with a cluster's session). The other
        tables are read by pandas on every engine, and every engine gives the
        same ledger (:mod:`pricing.settlement_engine`).

    Returns
    -------
    Settlement

    Examples
    --------
    >>> from pricing import scheme
    >>> c = scheme("doncaster")
    >>> people = pd.DataFrame({"person_id": ["a", "b"], "start_date": pd.to_datetime(["2011-11-01", "2011-12-01"]),
    ...                        "deported": False, "time_served": False, "breach": False})
    >>> offences = pd.DataFrame({"person_id": ["a"], "offence_date": pd.to_datetime(["2012-02-01"]),
    ...                          "disposal_date": pd.to_datetime(["2012-03-01"]),
    ...                          "disposal": ["conviction"]})
    >>> s = settle(c, {"people": people, "offences": offences}, as_of="2014-12-31")
    >>> parties = s.parties.loc[s.parties["party"] != "commissioner", "amount_pence"].sum()
    >>> bool(s.total_pence == s.tranches["amount_pence"].sum() == parties)
    True
    """
    if not isinstance(contract, Contract):
        raise parameter_error("contract", "settle", "a pricing.Contract (Contract.from_toml(path))", contract)
    as_of = _as_date(as_of)
    chosen = as_engine(engine, "settle")
    source = contract.data_map if data is None else data
    if source is None:
        raise parameter_error("data", "settle", "the tables, or a data mapping file (or a contract naming one)", None)
    source, files = held_back(contract, source, chosen)  # files the engine reads (pricing.settlement_engine)
    given = settlement_data(contract, source)
    held, assessed = on_engine(chosen, given, files), assessments_on_engine(chosen, given, files)
    stays = custody_on_engine(chosen, given, files)
    cohort, exclusions = _cohort(contract, given.tables["people"], as_of)
    read: dict[str, pd.DataFrame | Counted | JudgedAssessments] = dict(given.tables)
    counts = dict(given.rows)
    # the offences and custody are counted on an engine, the assessments scored there (pricing.settlement_engine)
    for name, on in (("offences", held), ("custody", stays)):
        if on is not None:
            read[name] = counted = on.count(contract, cohort, given.tables["people"], as_of)
            counts[name] = counted.rows
    if assessed is not None:
        read["assessments"] = judged = assessed.judge(contract, cohort, as_of)
        counts["assessments"] = judged.rows
    tables, later = _known_by(read, as_of)
    exclusions += later + _linked(tables)
    with _named(given.sources["people"]):
        rule_rows, rule_ledger = _rules(contract, cohort, tables, as_of)
    tariff_ledger, tariff_excluded = _tariff(contract, cohort, tables, as_of)
    ledger = _capped(contract, pd.concat([rule_ledger, tariff_ledger], ignore_index=True))
    ledger, claims_left_out = _with_claims(contract, cohort, tables, as_of, ledger, given.sources.get("claims"))
    tariff_excluded += claims_left_out
    before = None
    if previous is not None:
        before = _paid_before(previous)
        rows = netted(before, contract_sha256=contract.digest, as_of=as_of, columns=LEDGER_COLUMNS)
        ledger = pd.concat([ledger, rows], ignore_index=True) if len(rows) else ledger
    tranches = _tranche_table(contract, rule_rows, ledger)
    parties = _parties(contract, int(ledger["amount_pence"].sum()))
    excluded = pd.DataFrame(exclusions + tariff_excluded, columns=["step", "reason", "n"])
    audit: dict[str, Any] = {
        "contract": {"name": contract.name, "sha256": contract.digest, "source": contract.source},
        "as_of": as_of.isoformat(),
        "baseline_version": None if contract.baseline is None else contract.baseline.version,
        "seeds": {},
        "tables": {name: {"rows": n, "used": name not in given.unused} for name, n in sorted(counts.items())},
        "unused": sorted(given.unused),
        "figures": None,  # in its place, once the settlement that writes the ledger (once) is made
    }
    if before is not None:
        audit["previous"] = {
            "as_of": before.as_of.isoformat(),
            "sha256": before.reference,
            "paid_pence": int(before.paid["amount_pence"].sum()),
        }
    settlement = Settlement(contract.name, as_of, tranches, parties, ledger, excluded, audit)
    audit["figures"] = settlement.figures()
    return settlement


def _paid_before(previous: object) -> PaidBefore:
    """What an earlier settlement paid: given as such, or read off a Settlement in memory."""
    if isinstance(previous, PaidBefore):
        return previous
    if not isinstance(previous, Settlement):
        raise parameter_error("previous", "settle", "an earlier Settlement or a pricing.running.PaidBefore", previous)
    return PaidBefore(previous.as_of, previous.audit["contract"]["sha256"], by_item(previous.ledger))


@contextmanager
def _named(source: str | None) -> Iterator[None]:
    """Name the people file in front of a tranche that cannot be measured."""
    try:
        yield
    except _Unmeasurable as exc:
        raise SchemaError(f"{source}: {exc}" if source else str(exc)[:1].upper() + str(exc)[1:], table="people",
                          source=source) from None  # fmt: skip


def _known_by(tables: Mapping, as_of: date) -> tuple[dict, list[tuple[str, str, int]]]:
    """The events on record by the settlement date: an offence, disposal or assessment dated later is not yet known.

    A later extract holds events the settlement date could not have seen; they are left out and counted.
    """
    kept, counted = dict(tables), []
    cut = pd.Timestamp(as_of)
    if isinstance(tables.get("custody"), pd.DataFrame):  # (counted on an engine, a stay is open there alike)
        # A stay still open on the settlement date was open then, whatever release a later extract records.
        stays = tables["custody"]
        kept["custody"] = stays.assign(end=stays["end"].where(~(stays["end"] > cut)))
    for name, columns, words in (
        ("offences", ("offence_date", "disposal_date"), "offence or disposal dated after the settlement date"),
        ("assessments", ("assessed_on",), "assessed after the settlement date"),
        ("custody", ("start",), "stay in custody begun after the settlement date"),
    ):
        if name not in tables:
            continue
        frame = kept[name]
        if isinstance(frame, (Counted, JudgedAssessments)):  # counted on an engine
            counted += [(name, words, frame.later)] if frame.later else []
            continue
        later = np.zeros(len(frame), dtype=bool)
        for column in columns:
            later |= (frame[column] > cut).to_numpy()
        if name != "assessments":
            # Outcomes are judged on the assessments dated by the as-of date (outcomes.achievement), and the
            # largest table is not copied to leave the later ones out.
            kept[name] = frame.loc[~later]
        counted += [(name, words, int(later.sum()))] if later.any() else []
    return kept, counted


def _linked(tables: Mapping) -> list[tuple[str, str, int]]:
    """Count offences and stays of no one in the people table (none linking at all is an error, as everywhere)."""
    counted = []
    for name in ("offences", "custody"):
        if name not in tables:
            continue
        if isinstance(tables[name], Counted):  # linked on the engine, which refused none linking
            unmatched = tables[name].unmatched
        elif "person_id" not in tables[name].columns:
            continue
        else:
            with warnings.catch_warnings():
                # Reported once here, among the exclusions, not again for every tranche.
                warnings.simplefilter("ignore", UnmatchedRowsWarning)
                unmatched = check_links(tables[name], tables["people"], table=name, to_table="people").unmatched
        counted += [(name, "person_id matches no one in people", unmatched)] if unmatched else []
    return counted


def _of(people: pd.DataFrame, offences: pd.DataFrame) -> pd.DataFrame:
    """The offences of these people, ids compared as text (their links were checked once, in settle)."""
    return offences.loc[offences["person_id"].astype("str").isin(people["person_id"].astype("str"))]


def _as_date(value: Any) -> date:
    return parse_date(value, "The 'as_of' parameter of settle").date()


def _cohort(contract: Contract, people: pd.DataFrame, as_of: date) -> tuple[pd.DataFrame, list[tuple[str, str, int]]]:
    """Eligible people with their tranche; everyone else counted with a reason.

    People whose index date is after the settlement date had not started by then: left out and counted.
    """
    excluded: list[tuple[str, str, int]] = []
    keep = np.ones(len(people), dtype=bool)
    if contract.eligible:
        flag = parse(contract.eligible, key="cohort.eligible", source=contract.source).evaluate(people)
        unknown, no = flag.isna().to_numpy(), (flag == False).fillna(False).to_numpy()  # noqa: E712
        excluded += [
            ("eligibility", "not eligible", int(no.sum())),
            ("eligibility", "eligibility unknown", int(unknown.sum())),
        ]
        keep &= ~unknown & ~no
    start = people[contract.index].dt.normalize()
    later = keep & (start > pd.Timestamp(as_of)).to_numpy()
    excluded.append(("tranches", f"{contract.index} after the settlement date", int(later.sum())))
    keep &= ~later
    tranche = np.full(len(people), None, dtype=object)
    for t in contract.tranches:  # tranches do not overlap (Contract refuses it), so each person is in one at most
        inside = ((start >= pd.Timestamp(t.start)) & (start <= pd.Timestamp(t.end))).to_numpy()
        tranche[inside] = t.name
    outside = keep & pd.isna(tranche)
    excluded.append(("tranches", f"{contract.index} outside every tranche", int(outside.sum())))
    chosen = keep & ~outside
    cohort = people.loc[chosen].assign(tranche=tranche[chosen])
    return cohort.reset_index(drop=True), [e for e in excluded if e[2]]


# ------------------------------------------------------------------ rules
def _proven(contract: Contract, people: pd.DataFrame, tables: Mapping, as_of: date) -> pd.DataFrame:
    """Proven reoffending of ``people`` under the contract's measure, on the offences on record by ``as_of``: the
    per-person table of :func:`outcomes.reoffending.proven_reoffending`."""
    from outcomes.reoffending import proven_reoffending

    if isinstance(tables["offences"], CountedOffences):
        return tables["offences"].per_person(people, as_of)
    r = contract.spec.reoffending
    assert r is not None  # a contract with rules has a [reoffending] measure (pricing.contract refuses one without)
    return proven_reoffending(
        people,
        _of(people, _known_by(tables, as_of)[0]["offences"]),
        index=contract.index,
        follow_up_days=r.follow_up_days,
        waiting_days=r.waiting_days,
        as_of=pd.Timestamp(as_of),
        disposals=r.disposals,
        counting=r.counting,
    ).per_person


def _outcomes(contract: Contract, people: pd.DataFrame, tables: Mapping, measure: str, as_of: date) -> pd.DataFrame:
    """Per person: observable, and the outcome of ``measure`` (proven reoffending, or custody bed nights)."""
    if measure != "bed_nights":
        return _proven(contract, people, tables, as_of)
    c = contract.custody
    assert c is not None  # pricing.contract refuses a bed_nights rule without [custody]
    if isinstance(tables["custody"], CountedCustody):  # counted on an engine; the people checked as pandas does
        dates = people[c.index]
        # ids and dates the people's schema read (settlement_data) fail only by a date after as_of: the whole check,
        # a second of a million people, only when it can fail
        if not pd.api.types.is_datetime64_dtype(dates.dtype) or (dates > pd.Timestamp(as_of)).any():
            window_people(people[["person_id", c.index]], c.index, pd.Timestamp(as_of))
        return tables["custody"].per_person(people, as_of)
    stays = _of(people, _known_by(tables, as_of)[0]["custody"])
    nights = custody_nights(
        people[["person_id", c.index]], stays, index=c.index, follow_up_days=c.follow_up_days, kinds=c.kinds,
        as_of=pd.Timestamp(as_of),
    )  # fmt: skip
    return nights.per_person


def _measured(contract: Contract, cohort: pd.DataFrame, tables: Mapping, tranche: Tranche, as_of: date, measure: str):
    """A tranche's observable people with their outcome of ``measure`` as of ``as_of`` (reoffenders only, for
    reoffences per reoffender), how many are not yet observable, and the tranche's people."""
    people = cohort.loc[cohort["tranche"] == tranche.name]
    # A tranche is measured at its own date: events dated later were not yet on record then.
    pp = _outcomes(contract, people, tables, measure, as_of)
    observed = pp.loc[pp["observable"]]
    if measure == "per_reoffender":
        observed = observed.loc[observed["reoffended"].fillna(False).astype(bool)]
    return observed, int((~pp["observable"]).sum()), people


class _Unmeasurable(SchemaError):
    """A tranche whose observable people cannot measure a reduction (the people file is named by settle)."""


def _comparison(contract: Contract, rule_measure: str, against: str, tranche: Tranche, measured, tables) -> Contrast:
    """The tranche against its counterfactual; a tranche too small or too uniform to measure is one message."""
    observed, _, people = measured
    y = observed[OUTCOME_COLUMN[rule_measure]].astype(float).to_numpy()
    try:
        if y.size < 2 or y.mean() <= 0:
            raise ModelError(f"a reduction needs at least 2 observable people and some {_WORDS[rule_measure][1]}")
        return _counterfactual(contract, rule_measure, against, tranche, y, observed, people, tables)
    except (ParameterError, ModelError) as exc:
        mean = f"{y.mean():g}" if y.size else "none"
        raise _Unmeasurable(
            f"tranche {tranche.name!r} has {y.size} observable people (mean {rule_measure} {mean}) on its "
            f"settlement date: its {_WORDS[rule_measure][0]} cannot be compared with the {against} comparison "
            f"({str(exc).rstrip('.')}). Settle when more of the tranche is observable.",
            table="people",
        ) from None


#: A measure in words, and what a tranche needs some of for it to be compared.
_WORDS = {
    "binary": ("binary reoffending", "reoffending among them"),
    "frequency": ("frequency reoffending", "reoffending among them"),
    "per_reoffender": ("reoffences per reoffender", "reoffending among them"),
    "bed_nights": ("custody bed nights", "nights in custody among them"),
}


def _counterfactual(contract, rule_measure, against, tranche, y, observed, people, tables) -> Contrast:
    if against == "baseline":
        return _against_baseline(contract, rule_measure, tranche, y, observed, people)
    if "comparison" in tables:
        given = tables["comparison"]
        rows = given.loc[given["tranche"].astype(str) == tranche.name]
        if rule_measure == "per_reoffender":
            rows = rows.loc[rows["reoffences"].astype(float) > 0]
        weights = rows["weight"].to_numpy(dtype=float) if "weight" in rows else None
        control = rows[OUTCOME_COLUMN[rule_measure]].astype(float).to_numpy()
        return Contrast.from_outcomes(
            y, control, measure=comparison_measure(rule_measure), control_weights=weights, label=tranche.name
        )
    return _matched_here(contract, rule_measure, tranche, observed, people, tables["pool"])


def _against_baseline(contract, rule_measure, tranche, y, observed, people) -> Contrast:
    """The tranche against the baseline of its measure, adjusted for its case mix when the baseline has a risk score
    (:func:`metrics.thresholds.case_mix_baseline`), tested as the contract says."""
    from metrics.power import negative_binomial_shape

    b = contract.baseline
    rate = b.of(rule_measure)
    base = rate.rate
    if rate.predicted is not None:
        risk = people.set_index("person_id")[rate.risk].reindex(observed["person_id"].astype(str))
        predicted = float(pd.to_numeric(risk).mean())
        base = case_mix_baseline(rate.rate, rate.predicted, predicted, b.adjust, comparison_measure(rule_measure))
    shape = negative_binomial_shape(y) if rule_measure != "binary" else None
    measure = comparison_measure(rule_measure)
    return Contrast.against_baseline(
        measure, y.mean(), y.size, base, rate.n, test=b.test, dispersion=shape, label=tranche.name
    )


def _matched_here(contract, rule_measure, tranche, observed, people, pool) -> Contrast:
    from metrics import match

    m = contract.matched
    column = OUTCOME_COLUMN[rule_measure]
    covariates = list(m.covariates)
    treated = people.merge(observed[["person_id", column]], on="person_id")[["person_id", *covariates, column]]
    if rule_measure == "per_reoffender":
        pool = pool.loc[pool["reoffences"].astype(float) > 0]
    both = pd.concat([treated.assign(_treated=1), pool[["person_id", *covariates, column]].assign(_treated=0)])
    both[column] = both[column].astype(float)
    matched = match(
        both.reset_index(drop=True), "_treated", covariates, ratio=m.ratio, caliper=m.caliper, replace=m.replace
    )
    effect = matched.effect(column, kind="binary" if rule_measure == "binary" else "count")
    return Contrast.from_effect(effect, label=tranche.name)


def _rules(contract: Contract, cohort: pd.DataFrame, tables: Mapping, as_of: date):
    rows: list[dict] = []
    ledger: list[dict] = []
    for tranche in contract.tranches:
        stage = tranche.stage(as_of)
        for rule in (r for r in contract.rules if r.type == "tranche"):
            due = stage == "final" or (stage == "interim" and rule.settle == "interim")
            if not due:
                rows.append(_not_due(tranche.name, rule))
                continue
            when = tranche.interim if rule.settle == "interim" else tranche.final
            row, entry = _tranche_rule(contract, rule, tranche, cohort, tables, when)
            rows.append(row)
            ledger += entry
    final = all(t.stage(as_of) == "final" for t in contract.tranches)
    for rule in (r for r in contract.rules if r.type == "pooled"):
        if not final:
            rows.append(_not_due("pooled", rule))
            continue
        comparisons = [
            _comparison(
                contract,
                rule.measure,
                rule.against,
                t,
                _measured(contract, cohort, tables, t, t.final, rule.measure),
                tables,
            )  # fmt: skip
            for t in contract.tranches
        ]
        row, entry = _pooled(contract, rule, comparisons, ledger)
        rows.append(row)
        ledger += entry
    return rows, pd.DataFrame(ledger, columns=list(LEDGER_COLUMNS))


def _not_due(tranche: str, rule: ContractRule) -> dict:
    return {
        "tranche": tranche,
        "kind": "rule",
        "rule": rule.name,
        "stage": "not due",
        "measure": rule.measure,
        "n_treated": float("nan"),  # no one measured yet
        "met": False,
        "amount_pence": 0,
        "amount_at_ci_low": 0,
        "amount_at_ci_high": 0,
    }


def _tranche_rule(contract, rule, tranche, cohort, tables, when):
    measured = _measured(contract, cohort, tables, tranche, when, rule.measure)
    comparison = _comparison(contract, rule.measure, rule.against, tranche, measured, tables)
    test = rule.payment_rule()
    result = test.evaluate(comparison)
    hurdle_met = True
    if rule.hurdle is not None:
        hurdle_measured = _measured(contract, cohort, tables, tranche, when, rule.hurdle.measure)
        hurdle_cmp = _comparison(contract, rule.hurdle.measure, rule.against, tranche, hurdle_measured, tables)
        hurdle_met = rule.hurdle.payment_rule(rule.name).evaluate(hurdle_cmp).met
    # The estimate, then the CI's ends: what the rule would pay had the reduction been there.
    shift = np.array([0.0, result.ci_low - result.observed, result.ci_high - result.observed])
    stat, se = comparison.estimate(rule.scale)
    money = tranche_money(
        rule, contract.structure, len(contract.tranches),
        reduction=result.observed + shift, decided=result.decision_value + shift,
        decided_rise=float(test.decided_rise(stat, se)) - shift,
        control_mean=comparison.control_mean, n_treated=comparison.n_treated, hurdle_met=hurdle_met,
    )  # fmt: skip
    parts = {kind: [pence(v) for v in getattr(money, part)] for kind, part in _PARTS}
    totals = [sum(parts[kind][i] for kind in parts) for i in range(3)]
    row = {
        "tranche": tranche.name,
        "kind": "rule",
        "rule": rule.name,
        "stage": rule.settle,
        "measure": rule.measure,
        "against": rule.against,
        "treated_mean": comparison.treated_mean,
        "comparison_mean": comparison.control_mean,
        "estimate": result.observed,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "n_treated": comparison.n_treated,
        "n_control": comparison.n_control,
        "not_observable": measured[1],
        "threshold": rule.at_least,
        "decision_value": result.decision_value,
        "hurdle_met": hurdle_met,
        "met": bool(money.met[0]),
        "risen": bool(money.risen[0]),
        "amount_pence": totals[0],
        "amount_at_ci_low": totals[1],
        "amount_at_ci_high": totals[2],
    }
    evidence = f"{rule.measure} {result.observed:.4f} vs {rule.at_least:g}"
    entry = [_ledger_row(tranche.name, kind, rule.name, evidence, when, amounts[0]) for kind, amounts in parts.items()]
    return row, [e for e in entry if e["amount_pence"]]


#: The ledger kind of each part of a tranche rule's money.
_PARTS = (("rule", "payment"), ("clawback", "clawback"), ("deduction", "deduction"))


def _ledger_row(tranche: str, kind: str, item: str, evidence: str, when: date, amount: int, person: str = "") -> dict:
    return {
        "tranche": tranche,
        "kind": kind,
        "item": item,
        "person_id": person,
        "evidence": evidence,
        "evidence_date": when.isoformat(),
        "base_price": "",
        "uplift": "",
        "amount_pence": int(amount),
        "note": "",
    }


def _pooled(contract: Contract, rule: ContractRule, comparisons: list[Contrast], ledger: list[dict]):
    """A pooled rule at final settlement: met on the size-weighted mean reduction over the tranches; pays the events
    avoided over every tranche (:func:`pricing.payouts.events_avoided`), net of what its measure's tranche rules
    paid before."""
    n = np.array([c.n_treated for c in comparisons])
    w = n / n.sum()
    results = [rule.payment_rule().evaluate(c) for c in comparisons]
    reductions = np.array([r.observed for r in results])
    controls = np.array([c.control_mean for c in comparisons])
    se = np.array([(r.ci_low - r.ci_high) / (-2 * _Z95) for r in results])
    pooled, pooled_se = float(w @ reductions), float(math.sqrt(w**2 @ se**2))
    z = 0.0 if rule.decide_on == "estimate" else float(ndtri(1 - rule.alpha))
    decision = pooled - z * pooled_se
    earlier = sum(
        e["amount_pence"] for e in ledger if e["kind"] == "rule" and _measure_of(contract, e["item"]) == rule.measure
    )

    def amount(value: float) -> tuple[bool, int, float]:
        shift = value - pooled
        avoided = float(events_avoided(rule, reductions + shift, controls, n))
        if not at_least(decision + shift, rule.at_least, decision, shift):
            return False, 0, avoided
        gross = pence(rule.amount + rule.price_per_event * max(avoided, 0.0))
        return True, max(gross - earlier, 0), avoided

    lo, hi = pooled - _Z95 * pooled_se, pooled + _Z95 * pooled_se
    met, paid, avoided = amount(pooled)
    last = max(t.final for t in contract.tranches)
    row = {
        "tranche": "pooled",
        "kind": "rule",
        "rule": rule.name,
        "stage": "final",
        "measure": rule.measure,
        "against": rule.against,
        "estimate": pooled,
        "ci_low": lo,
        "ci_high": hi,
        "n_treated": float(n.sum()),
        "n_control": float(sum(c.n_control for c in comparisons)),
        "threshold": rule.at_least,
        "decision_value": decision,
        "met": met,
        "events_avoided": avoided,
        "amount_pence": paid,
        "netted_pence": earlier,
        "amount_at_ci_low": amount(lo)[1],
        "amount_at_ci_high": amount(hi)[1],
    }
    evidence = f"pooled {pooled:.4f} vs {rule.at_least:g}; {avoided:.2f} events avoided, net of earlier"
    return row, [_ledger_row("pooled", "rule", rule.name, evidence, last, paid)] if paid else []


_Z95 = 1.959963984540054


def _measure_of(contract: Contract, rule_name: str) -> str | None:
    return next((r.measure for r in contract.rules if r.name == rule_name), None)


# ------------------------------------------------------------------ tariff
def _tariff(contract: Contract, cohort: pd.DataFrame, tables: Mapping, as_of: date):
    """One ledger row per person and payable achieved outcome, priced with stacked uplifts (built as columns)."""
    prices = contract.prices
    empty = pd.DataFrame(columns=list(LEDGER_COLUMNS))
    if not prices or cohort.empty:
        return empty, []
    spec = contract.spec
    priced = {k: o for k, o in spec.outcomes.items() if (o.price_key or k) in prices}
    if isinstance(tables["assessments"], JudgedAssessments):  # judged on an engine (pricing.settlement_engine)
        results = tables["assessments"].achieved
    else:
        results = spec.achievement(cohort, tables["assessments"], as_of=pd.Timestamp(as_of)) if priced else {}
    lifted = uplifts(contract, cohort)
    parts, excluded = _no_reoffence(contract, cohort, tables, as_of, lifted)
    for key, outcome in priced.items():
        pp = results[key].per_person  # one row per cohort person, in its order (ids unique): no lookup by id
        achieved = (pp["status"] == "achieved").to_numpy()
        payable = np.ones(len(cohort), dtype=bool)
        if outcome.payable:
            flag = parse(outcome.payable, key=f"outcomes.{key}.payable", source=contract.source).evaluate(cohort)
            unknown, no = flag.isna().to_numpy(), (flag == False).fillna(False).to_numpy()  # noqa: E712
            excluded += [
                (f"outcome {key}", "achieved, not payable", int((achieved & no).sum())),
                (f"outcome {key}", "achieved, payability unknown", int((achieved & unknown).sum())),
            ]
            payable = ~unknown & ~no
        price = outcome.price_key or key
        evidence, when = f"{outcome.instrument} assessment", pp["achieved_on"].to_numpy()
        parts.append(tariff_rows(key, (price, prices[price]), achieved & payable, cohort, lifted, evidence, when))
    parts = [p for p in parts if len(p)]
    return (pd.concat(parts, ignore_index=True) if parts else empty), [e for e in excluded if e[2]]


def _no_reoffence(contract: Contract, cohort: pd.DataFrame, tables: Mapping, as_of: date, lifted: Uplifts):
    """Ledger rows for a price per person with no proven reoffence (a binary measure's tariff)."""
    r = contract.spec.reoffending
    if r is None or r.price_key not in contract.prices:
        return [], []
    proven = _proven(contract, cohort, tables, as_of)
    clean = (proven["observable"] & (proven["reoffended"] == False)).fillna(False).to_numpy()  # noqa: E712
    known = pd.to_datetime(proven["index_date"]) + pd.to_timedelta(r.follow_up_days + r.waiting_days, unit="D")
    rows = tariff_rows(
        r.price_key,
        (r.price_key, contract.prices[r.price_key]),
        clean,
        cohort,
        lifted,
        "no proven reoffence",
        known.to_numpy(),
    )
    waiting = int((~proven["observable"]).sum())
    return [rows], ([("reoffending", "follow-up and waiting period not elapsed", waiting)] if waiting else [])


# ------------------------------------------------------------------ caps, tranches, parties
def _capped(contract: Contract, ledger: pd.DataFrame) -> pd.DataFrame:
    """Apply each rule's cap, then the contract's cap on all outcome payments, in ledger order."""
    caps = {r.name: pence(r.cap) for r in contract.rules if r.cap is not None}
    return capped(ledger, caps, contract_cap_pence(contract))


def _with_claims(contract: Contract, cohort: pd.DataFrame, tables: Mapping, as_of: date, ledger, source: str | None):
    """A rate card's claims (pricing.ratecard), after the tariff and rules, under what they left of the cap."""
    if contract.ratecard is None:
        return ledger, []
    paid = int(ledger["amount_pence"].clip(lower=0).sum())
    claims = settle_contract_claims(
        contract, cohort, tables, as_of=as_of, paid_before=paid, source=source, checked=True
    )
    # A rate card alone keeps its ledger's categories: millions of rows are not turned into text here.
    joined = claims.ledger if ledger.empty else pd.concat([ledger, claims.ledger], ignore_index=True)
    return joined, claims.left_out


def _tranche_table(contract: Contract, rule_rows: list[dict], ledger: pd.DataFrame) -> pd.DataFrame:
    """The tranche rule rows with what the ledger paid after caps, and one tariff and one claims row per tranche,
    each net of what earlier settlements paid for it (``settled_before_pence``)."""
    part = _ledger_parts(contract, ledger)
    rules = ledger.loc[part == "rule"]
    paid = rules.groupby(["tranche", "item"])["amount_pence"].sum()
    before = rules.loc[rules["kind"] == SETTLED_BEFORE].groupby(["tranche", "item"])["amount_pence"].sum()
    rows = list(rule_rows)
    for row in rows:
        key = (row["tranche"], row["rule"])
        row["amount_pence"] = int(paid.get(key, 0))
        row["settled_before_pence"] = -int(before.get(key, 0))
        row["amount_at_ci_low"] = row["amount_at_ci_low"] + int(before.get(key, 0))
        row["amount_at_ci_high"] = row["amount_at_ci_high"] + int(before.get(key, 0))
    if contract.prices:
        tariff = ledger.loc[part == "tariff"]
        rows += _outcome_rows(contract, tariff, tariff["kind"] == "tariff", "tariff")
    if contract.ratecard is not None:
        claims = ledger.loc[part == "claims"]
        rows += _outcome_rows(
            contract, claims, claims["kind"].isin(CLAIM_KINDS) & (claims["status"] == "accepted"), "claims"
        )
    table = pd.DataFrame(rows)
    for column in ("amount_pence", "settled_before_pence", "amount_at_ci_low", "amount_at_ci_high"):
        table[column] = table[column].fillna(0).astype("int64")
    return table


def _ledger_parts(contract: Contract, ledger: pd.DataFrame) -> np.ndarray:
    """Which part of the contract each ledger row pays: ``"rule"``, ``"tariff"`` or ``"claims"``.

    A row netting an earlier settlement belongs to the part its item names: a contract keeps its rule names,
    prices and rate-card outcomes apart (pricing.contract), so the item says which.
    """
    earlier = (ledger["kind"] == SETTLED_BEFORE).to_numpy()
    outcomes = [] if contract.ratecard is None else list(contract.ratecard.prices)
    claims = ledger["kind"].isin(CLAIM_KINDS).to_numpy() | (earlier & ledger["item"].isin(outcomes).to_numpy())
    ruled = ledger["item"].isin([r.name for r in contract.rules]).to_numpy() & (ledger["kind"] != "tariff").to_numpy()
    return np.select([claims, ruled], ["claims", "rule"], "tariff")


def _outcome_rows(contract: Contract, ledger: pd.DataFrame, counted: pd.Series, kind: str) -> list[dict[str, Any]]:
    """One row per tranche for the tariff or the rate card (``ledger``: its rows): the outcomes paid
    (``counted``) and the amount, net of what earlier settlements paid for them."""
    tranche = ledger["tranche"]
    if not isinstance(tranche.dtype, pd.CategoricalDtype):  # a rate card's tranches (categories) group by their codes
        tranche = tranche.astype("str")
    n = counted.groupby(tranche, observed=True).sum()
    total = ledger["amount_pence"].groupby(tranche, observed=True).sum()
    earlier = ledger["amount_pence"].where(ledger["kind"] == SETTLED_BEFORE, 0).groupby(tranche, observed=True).sum()
    rows = []
    for t in contract.tranches:
        amount, count = int(total.get(t.name, 0)), int(n.get(t.name, 0))
        rows.append(
            {
                "tranche": t.name,
                "kind": kind,
                "rule": kind,
                "stage": "as achieved" if kind == "tariff" else "as due",
                "n_treated": float(count),
                "met": bool(count),
                "amount_pence": amount,
                "settled_before_pence": -int(earlier.get(t.name, 0)),
                "amount_at_ci_low": amount,
                "amount_at_ci_high": amount,
            }
        )
    return rows


def _parties(contract: Contract, total: int) -> pd.DataFrame:
    """Split the total between the parties to the penny (largest remainder, ties by name)."""
    s = contract.structure
    if s.investor is not None:
        shares = {s.investor.name: 1.0}
        roles = {s.investor.name: "investor"}
    else:
        shares = s.outcome_shares()  # what a settlement pays is outcome money: it goes down in the risk shares
        roles = {name: "prime" if name == "prime" else "subcontractor" for name in shares}
    split = _allocate(total, shares)
    rows = [{"party": "commissioner", "role": "commissioner", "amount_pence": -total}]
    rows += [{"party": name, "role": roles[name], "amount_pence": split[name]} for name in shares]
    return pd.DataFrame(rows)


def _allocate(total: int, shares: Mapping[str, float]) -> dict[str, int]:
    """Whole pence by share, summing exactly to ``total``."""
    names = list(shares)
    exact = [Decimal(abs(total)) * Decimal(repr(float(shares[n]))) for n in names]
    floor = [int(x) for x in exact]
    left = abs(total) - sum(floor)
    order = sorted(range(len(names)), key=lambda i: (-(exact[i] - floor[i]), names[i]))
    for i in order[:left]:
        floor[i] += 1
    sign = -1 if total < 0 else 1
    return {n: sign * v for n, v in zip(names, floor)}
