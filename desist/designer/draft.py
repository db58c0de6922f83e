"""The contract being designed: its TOML document, the terms the page edits, and each edit checked as the file.

The document is kept by tomlkit, so a saved file has the user's comments and
key order; an edit sets values in a copy of the loaded document and nothing
else. A draft is checked exactly as ``desist check`` reads a file: the text is
parsed by ``tomllib`` and validated by :meth:`pricing.contract.Contract.from_mapping`
under the file's name, so its messages are the file's.

What the page sends are values, never code: a number (``float`` checked finite
by :func:`ground.checks.check_parameter`), a date written as ISO text, one
of a key's allowed words, or a rule (a segment's ``where``, an outcome's
``payable``) as text. A rule typed on the page is written into the file's text
as a TOML string and read back by the contract's reader, which parses it with
:mod:`ground.expressions` (the rule language: columns, comparisons, and/or/not,
no calls or attributes) exactly as it parses the file's own rules: a bad or
hostile rule gets the file's message and nothing is evaluated.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit

from desist.tables import outcome_names, segment_names
from ground.checks import InstanceOf, Interval, Options, check_parameter
from ground.dates import parse_date
from outcomes.spec import STACKINGS
from pricing.contract import DECISIONS, Contract

__all__ = ["Draft", "Term", "checked"]

#: Payment terms the page edits, with their labels.
PAYMENT_TERMS = {
    "service_fee": "Service fee (£)",
    "up_front_share": "Share of the fee paid up front (0 to 1)",
    "at_risk_share": "Share of the contract at risk (0 to 1)",
    "clawback_share": "Share of the fee clawed back when a rule is missed (0 to 1)",
    "outcome_cap": "Cap on all outcome payments (£; empty for none)",
    "management_fee_share": "Prime's management fee (share of each payment, 0 to 1)",
}
#: Terms of a contract rule the page edits.
RULE_TERMS = {
    "at_least": "Threshold: the reduction needed to pay",
    "price_per_event": "£ per reoffence (binary: per person) avoided",
    "amount": "Fixed £ paid when met",
    "cap": "Cap on what this rule pays (£; empty for none)",
}
TRANCHE_TERMS = {"start": "starts", "end": "ends", "final": "final settlement"}
#: Where the page's rules are grouped.
RULES_GROUP = "Rules: who is in each segment, and where an outcome is paid"


@dataclass(frozen=True)
class Term:
    """One value the page edits: where it sits in the file, how it is labelled and what kind of value it is.

    ``kind`` is ``"number"``, ``"date"``, ``"rule"`` (text in the rule language) or ``"choice"`` (one of ``choices``,
    the first being the reader's default).
    ``id`` is the page's input id.
    """

    path: tuple[str, ...]
    label: str
    kind: str = "number"
    group: str = ""
    choices: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return "t_" + "__".join(re.sub(r"[^A-Za-z0-9_]", "_", part) for part in self.path)

    @property
    def key(self) -> str:
        return ".".join(self.path)


def _get(table: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(table, Mapping) or part not in table:
            return None
        table = table[part]
    return table


def checked(term: Term, value: Any) -> Any:
    """The page's value for a term as the file holds it: a finite number, a date, one of the choices, a rule's
    text (parsed when the contract is read), or None.

    Raises
    ------
    ground.errors.ParameterError
        A value that is not of the term's kind, naming the term's key.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if term.kind == "number":
        check_parameter(value, term.key, "desist design", Interval(float, -math.inf, math.inf, closed="neither"))
        number = float(value)
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if term.kind == "choice":
        check_parameter(value, term.key, "desist design", Options(*term.choices))
        return value
    if term.kind == "rule":
        check_parameter(value, term.key, "desist design", InstanceOf(str, "a rule written as text"))
        return value.strip()
    return parse_date(str(value).strip(), f"The '{term.key}' key", time=False).date()


class Draft:
    """A contract file and the terms of it the page edits.

    Parameters
    ----------
    text : str
        The contract file's text.
    source : str
        The file's name, as messages name it.
    base_dir : Path
        The folder relative paths in the contract are read from.

    Examples
    --------
    >>> draft = Draft(Path("examples/specs/doncaster.toml").read_text(), "doncaster.toml", Path("examples/specs"))
    >>> term = next(t for t in draft.terms if t.key == "rules.target.at_least")
    >>> text = draft.text({term.id: 0.08})
    >>> draft.contract(text).rules[0].at_least, "# Doncaster-style" in text
    (0.08, True)
    """

    def __init__(self, text: str, source: str, base_dir: Path) -> None:
        self.original = text
        self.source = source
        self.base_dir = base_dir
        self.loaded = self.contract(text)
        self.terms = self._terms(tomllib.loads(text))
        self._start = self.values()

    def _terms(self, raw: Mapping[str, Any]) -> list[Term]:
        """The terms of this contract a commissioner edits, in the order the page shows them."""
        spec = self.loaded.spec
        segments, outcomes = segment_names(spec), outcome_names(spec)
        terms: list[Term] = []
        for key in spec.payment.get("prices", {}):
            group = f"Price of {outcomes.get(key, key)}"
            terms.append(Term(("payment", "prices", key, "default"), "Everyone else (£)", group=group))
            terms += [Term(("payment", "prices", key, s), f"{segments[s]} (£)", group=group) for s in spec.segments]
        if spec.payment.get("prices"):
            terms += [
                Term(("payment", "uplifts", s), f"{segments[s]} (times the price)", group="Uplifts")
                for s in spec.segments
            ]
            terms.append(Term(("payment", "stacking"), "How uplifts stack", "choice", "Uplifts", STACKINGS))
        terms += [Term(("payment", name), label, group="Payment terms") for name, label in PAYMENT_TERMS.items()]
        terms += self._rules(raw)
        if "baseline" in raw.get("counterfactual", {}):
            terms.append(Term(("counterfactual", "baseline", "rate"), "Baseline rate", group="Counterfactual"))
        for name in raw.get("rules", {}):
            group = f"Rule {name}"
            terms += [Term(("rules", name, k), label, group=group) for k, label in RULE_TERMS.items()]
            terms.append(Term(("rules", name, "decide_on"), "Decide on", "choice", group, DECISIONS))
        for name in raw.get("tranches", {}):
            terms += [
                Term(("tranches", name, k), f"Tranche {name} {words} (YYYY-MM-DD)", "date", "Tranches")
                for k, words in TRANCHE_TERMS.items()
            ]
        return terms

    def _rules(self, raw: Mapping[str, Any]) -> list[Term]:
        """The rules a commissioner may retype: who is in each segment, and where each outcome is paid."""
        spec = self.loaded.spec
        segments = segment_names(spec)
        terms = [
            Term(("segments", s, "where"), f"Who is in {segments[s]} (a rule, e.g. age <= 24)", "rule", RULES_GROUP)
            for s in raw.get("segments", {})
            if "where" in raw["segments"][s]
        ]
        return terms + [
            Term(
                ("outcomes", o, "payable"),
                f"{outcome.label or o}: paid only where (empty: everyone)",
                "rule",
                RULES_GROUP,
            )
            for o, outcome in spec.outcomes.items()
        ]

    def value(self, term: Term, raw: Mapping[str, Any] | None = None) -> Any:
        """The term's value in ``raw`` (default: the loaded file); a scalar price is its ``default``."""
        raw = tomllib.loads(self.original) if raw is None else raw
        if term.path[:2] == ("payment", "prices") and not isinstance(_get(raw, term.path[:3]), Mapping):
            return _get(raw, term.path[:3]) if term.path[3] == "default" else None
        value = _get(raw, term.path)
        if term.kind == "choice" and value is None:
            return term.choices[0]
        return value.isoformat() if term.kind == "date" and value is not None else value

    def values(self) -> dict[str, Any]:
        """Every term's value in the loaded file, by input id."""
        raw = tomllib.loads(self.original)
        return {t.id: self.value(t, raw) for t in self.terms}

    def text(self, values: Mapping[str, Any]) -> str:
        """The file's text with the page's values set (a term left empty is removed), comments and order kept.

        Raises
        ------
        ground.errors.ParameterError
            A value that is not of its term's kind.
        """
        document = tomlkit.parse(self.original)
        by_id = {t.id: t for t in self.terms}
        for key, value in values.items():
            # A value as loaded is the file's own (read and valid): setting it again would change nothing.
            if value != self._start[key]:
                term = by_id[key]
                _set(document, term, checked(term, value))
        return tomlkit.dumps(document)

    def contract(self, text: str) -> Contract:
        """The contract the text holds, read and validated as ``desist check`` reads the file.

        Raises
        ------
        ground.errors.SpecError
            The file's own message, naming it and the key.
        """
        from ground.errors import SpecError

        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(f"{self.source}: not a valid TOML file: {exc}.", source=self.source) from None
        return Contract.from_mapping(raw, source=self.source, base_dir=self.base_dir)


def _set(document: Any, term: Term, value: Any) -> None:
    """Set (or, for None, remove) a term's value in a tomlkit document, creating tables as needed."""
    path = term.path
    if path[:2] == ("payment", "prices"):
        _set_price(document["payment"]["prices"], path[2], path[3], value)
        return
    table = document
    for part in path[:-1]:
        if part not in table:
            if value is None:
                return
            table[part] = tomlkit.table()
        table = table[part]
    if value is None:
        if path[-1] in table:
            del table[path[-1]]
    elif term.kind == "choice" and path[-1] not in table and value == term.choices[0]:
        return  # the reader's default, which the file leaves unsaid
    elif table.get(path[-1]) != value:
        table[path[-1]] = value


def _set_price(prices: Any, key: str, segment: str, value: Any) -> None:
    """A price cell: a scalar price stays a scalar until a segment is priced apart, then it becomes a table."""
    current = prices.get(key)
    if not isinstance(current, Mapping):
        if segment == "default":
            if value is not None and current != value:
                prices[key] = value
            return
        if value is None:
            return
        current = tomlkit.inline_table()
        current["default"] = prices.get(key)
        prices[key] = current
        current = prices[key]
    if value is None:
        if segment in current:
            del current[segment]
    elif current.get(segment) != value:
        current[segment] = value
