"""A settlement statement a finance officer can sign off: what is paid, to whom and why, in words and pounds.

:func:`settlement_statement` turns a :class:`pricing.Settlement` into a
:class:`desist.report.Report` (``desist settle --report`` writes it as
``statement.html``, and with ``--pdf`` as ``statement.pdf``): a verdict line
to sign off first, then each tranche and rule in words and pounds, what each
party receives, the claims accepted and rejected with their reasons, the cash
flow by payment period, who was left out and why, and the audit hashes that
``desist verify`` checks.

Examples
--------
>>> statement = settlement_statement(settlement)  # doctest: +SKIP
>>> statement.write("statement.html")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from desist import tables
from desist.format import Column, Table, date, humanise, interval
from desist.report import KeyFigure, Report, Section
from ground.words import count, plural, points, pounds

__all__ = ["settlement_statement", "signoff_line", "tranche_sentences"]


def _money(pence: int) -> str:
    return pounds(pence / 100, pence=True)


def _claims(settlement: Any) -> tuple[int, int]:
    """Claims accepted and rejected (a rate card's ledger says which); other ledgers' rows are all payments."""
    ledger = settlement.ledger
    if "status" not in ledger:
        return len(ledger), 0
    status = ledger["status"].astype(str)
    return int((status == "accepted").sum()), int((status == "rejected").sum())


def signoff_line(settlement: Any) -> str:
    """The verdict a finance officer signs off: who is paid what, the claims, and that the ledger agrees.

    Parameters
    ----------
    settlement : pricing.Settlement
        The settled contract.

    Examples
    --------
    >>> signoff_line(settlement)  # doctest: +SKIP
    "Pay £1,000,000.00 to Prime as of 30 September 2025 under 'Example rate card': ..."
    """
    total = settlement.total_pence
    parties = settlement.parties[settlement.parties["role"] != "commissioner"]
    to = ", ".join(f"{_money(abs(int(r.amount_pence)))} to {humanise(r.party)}" for r in parties.itertuples())
    accepted, rejected = _claims(settlement)
    claims = f"{plural(accepted, 'claim')} accepted and {count(rejected)} rejected"
    when = f"as of {date(settlement.as_of)} under '{settlement.contract}'"
    if total < 0:
        head = f"Claw back {_money(-total)} {when} (from: {to})"
    elif total == 0:
        head = f"Nothing to pay {when}"
    else:
        head = f"Pay {_money(total)} {when}: {to}"
    return f"{head}; {claims}; the ledger's {count(len(settlement.ledger))} rows add up to the total to the penny."


def tranche_sentences(settlement: Any) -> list[str]:
    """Each tranche and rule in words: what was measured, what it needed, whether it was met, and the pounds.

    Parameters
    ----------
    settlement : pricing.Settlement
        The settled contract.

    Examples
    --------
    >>> tranche_sentences(settlement)[0]  # doctest: +SKIP
    'H1 2023, claims: 719 claims paid, £376,820.00.'
    """
    out = []
    for r in settlement.tranches.itertuples():
        where = f"{humanise(r.tranche)}, {'outcome tariff' if r.kind == 'tariff' else humanise(r.rule).lower()}"
        amount = int(r.amount_pence)
        if r.kind in ("tariff", "claims"):
            what = "payable outcomes" if r.kind == "tariff" else "claims paid"
            out.append(f"{where}: {count(r.n_treated)} {what}, {_money(amount)}.")
            continue
        if r.stage == "not due":
            out.append(f"{where}: not due yet, nothing paid.")
            continue
        kind = "points" if getattr(r, "measure", "") == "binary" else "percent"
        shown = interval(r.estimate, r.ci_low, r.ci_high, kind)
        needs = points(r.threshold) if kind == "points" else f"{100 * r.threshold:.1f}%"
        result = "met" if r.met else "not met"
        money = (
            f"{_money(-amount)} clawed back" if amount < 0 else (f"{_money(amount)} paid" if amount else "nothing paid")
        )
        out.append(
            f"{where} ({humanise(r.stage).lower()}): a reduction of {shown} in {count(r.n_treated)} people against "
            f"the {needs} it needs: {result}, {money}."
        )
    return out


def _reasons(settlement: Any) -> Table | None:
    ledger = settlement.ledger
    if "status" not in ledger:
        return None
    frame = (
        ledger.assign(status=ledger["status"].astype(str), reason=ledger["reason"].astype(str).replace("", "accepted"))
        .groupby(["status", "reason"], observed=True, sort=True)
        .agg(n=("amount_pence", "size"), amount_pence=("amount_pence", "sum"))
        .reset_index()
    )
    frame["status"] = [s.capitalize() for s in frame["status"]]
    frame["reason"] = [r[:1].upper() + r[1:] for r in frame["reason"]]
    frame["amount"] = frame["amount_pence"] / 100
    columns = {
        "status": Column("Status", "text"),
        "reason": Column("Reason", "text"),
        "n": Column("Claims", "count"),
        "amount": Column("Amount", "pence"),
    }
    return Table(frame, columns, "Claims accepted and rejected, by reason")


def _audit_table(settlement: Any) -> Table:
    audit = settlement.audit
    rows = [
        (
            "Contract",
            audit.get("contract", {}).get("name", settlement.contract),
            audit.get("contract", {}).get("sha256", "–"),
        )
    ]
    rows += [
        (f"Input: {humanise(k)}", str(v.get("path", "")), v.get("sha256", "–"))
        for k, v in audit.get("inputs", {}).items()
    ]
    rows.append(("Claims ledger", f"{count(len(settlement.ledger))} rows", settlement.figures()["ledger_sha256"]))
    frame = pd.DataFrame(rows, columns=["what", "where", "sha256"])
    columns = {
        "what": Column("What", "text"),
        "where": Column("File or size", "text"),
        "sha256": Column("SHA-256", "text"),
    }
    return Table(frame, columns, "The audit hashes (desist verify replays the settlement against them)")


def _signoff(settlement: Any, out: Section) -> None:
    out.verdict(signoff_line(settlement))
    accepted, rejected = _claims(settlement)
    out.figures(
        [
            KeyFigure("Net total", _money(settlement.total_pence), "paid by the commissioner, net of any clawback"),
            KeyFigure("Claims accepted", count(accepted), "each a row of the ledger with its evidence"),
            KeyFigure("Claims rejected", count(rejected), "each with its reason, below"),
        ]
    )
    out.paragraph(
        "Signed off by: ______________________ (finance officer)    Date: ______________    "
        f"Ledger SHA-256: {settlement.figures()['ledger_sha256']}"
    )


def settlement_statement(settlement: Any) -> Report:
    """The settlement statement of ``settlement`` as a report: the sign-off line first, then the evidence.

    Parameters
    ----------
    settlement : pricing.Settlement
        The settled contract (``pricing.settle`` or ``pricing.settle_files``).

    Returns
    -------
    desist.report.Report
        Write it with ``.write(path)``, print it with ``.to_pdf(path)``.

    Examples
    --------
    >>> settlement_statement(settlement).write("statement.html")  # doctest: +SKIP
    """
    report = Report(
        f"Settlement statement: {settlement.contract}",
        f"As of {date(settlement.as_of)}; desist {settlement.audit.get('desist_version', '')}".rstrip(),
    )
    _signoff(settlement, report.section("signoff", "What to pay, for sign-off", part="answer"))
    tranches = report.section("tranches", "What each tranche pays, and why")
    for sentence in tranche_sentences(settlement):
        tranches.paragraph(sentence)
    tranches.table(tables.settlement_table(settlement))
    parties = report.section("parties", "What each party receives")
    for r in settlement.parties.itertuples():
        verb = "pays" if r.role == "commissioner" else "receives"
        parties.paragraph(f"{humanise(r.party)} {verb} {_money(abs(int(r.amount_pence)))}.")
    parties.table(tables.settlement_parties_table(settlement))
    claims = report.section("claims", "Claims accepted and rejected")
    reasons = _reasons(settlement)
    if reasons is None:
        claims.paragraph(
            f"Every one of the ledger's {count(len(settlement.ledger))} rows is a payment the contract's terms "
            "make: a person's payable outcome, or a rule's payment or clawback, each with its evidence."
        )
    else:
        claims.table(reasons)
    if len(settlement.cash_flow()):
        report.section("cash_flow", "Cash flow by payment period").table(tables.settlement_cash_flow_table(settlement))
    left = settlement.exclusions
    gone = report.section("left_out", "Left out, and why")
    if len(left):
        for r in left.itertuples():
            gone.paragraph(f"{humanise(r.step)}: {count(r.n)} left out ({r.reason}).")
    else:
        gone.paragraph("No one was left out.")
    report.section("audit", "Audit", part="annex").table(_audit_table(settlement))
    return report
