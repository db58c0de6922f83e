"""Payment structures: how a contract's money is paid, withheld, clawed back and passed down.

A :class:`PaymentStructure` says how much of a service fee is paid up front
(month 0) and how much monthly in arrears, how much is withheld until an
outcome target is met, how much is clawed back if it is missed, what is paid
per outcome by a :class:`~pricing.tariff.Tariff`, a cap on outcome money, a
prime's management fee and the subcontractors it passes the rest to (the fee
and the outcome money each in its own shares), and an optional social investor
who funds the service and is repaid from outcome payments.
:meth:`PaymentStructure.check` compares it with the voluntary sector's ask (at
least 70% of the service fee up front and 10-30% of the contract at risk) and
with its own supply-chain terms (a management fee within its stated cap, no
subcontractor bearing more of the outcome money than of the fee).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import pandas as pd

from ground.checks import parameter_error
from ground.findings import Finding
from ground.words import percent
from pricing.tariff import Tariff

if TYPE_CHECKING:
    from outcomes.spec import MetricSpec

__all__ = ["SECTOR_ASK", "Finding", "Investor", "PaymentStructure", "Target"]

#: An amount or an array of amounts (per draw and month), split between the parties alike.
T = TypeVar("T", float, np.ndarray)
# The sector's ask: at least 70% of the service fee up front, 10-30% of the contract at risk.
SECTOR_ASK = {"min_up_front": 0.70, "min_at_risk": 0.10, "max_at_risk": 0.30}
# Boundaries are inclusive; this absorbs float rounding in shares computed from amounts.
_BOUNDARY_TOL = 1e-9


@dataclass(frozen=True)
class Target:
    """An outcome target for the cohort: at least ``rate`` of people achieve ``outcome``.

    E.g. Doncaster: the one-year reconviction rate at least 5 points below
    the 2009 baseline is ``Target("no_reconviction", 1 - (baseline - 0.05))``.
    Measured when the last enrolled person's outcome is known.
    """

    outcome: str
    rate: float

    def __post_init__(self) -> None:
        if not 0 <= self.rate <= 1:
            raise parameter_error("rate", "Target", "a proportion in [0, 1]", self.rate)


@dataclass(frozen=True)
class Investor:
    """A social investor: pays the service fee to the prime and receives the outcome payments."""

    name: str = "investor"


def _share(name: str, value: float) -> float:
    value = float(value)
    if not 0 <= value <= 1:
        raise parameter_error(name, "PaymentStructure", "a share in [0, 1]", value)
    return value


def _shares_of_one(name: str, shares: Mapping[str, float]) -> None:
    total = sum(float(v) for v in shares.values())
    if any(not float(v) >= 0 for v in shares.values()) or abs(total - 1) > _BOUNDARY_TOL:
        got = f"{dict(shares)} (sum {total:g})"
        raise parameter_error(name, "PaymentStructure", "shares >= 0 summing to 1", got=got)


@dataclass(frozen=True)
class PaymentStructure:
    """How a contract pays: fees, money at risk, clawback, cap, supply chain and investor.

    Parameters
    ----------
    name : str
        A label for reports.
    service_fee : float
        Total fee for delivering the service over the contract (£), apart
        from payments per outcome.
    up_front_share : float
        Share of the service fee paid at the start (month 0). The rest of the
        unconditional fee is paid monthly in arrears over the enrolment period.
    at_risk_share : float
        Share of the service fee withheld against outcomes: paid in full if
        ``target`` is met; without a target, paid pro rata to the tariff
        payments earned over those expected (at most in full).
    outcome_budget : float
        Expected total of payments per outcome by the tariff (£); used to
        state the contract's value and share at risk before simulating.
    tariff : Tariff, optional
        Outcome payments per achievement by segment.
    target : Target, optional
        Needed when ``clawback_share`` is above zero.
    clawback_share : float
        Share of the service fee the provider repays if ``target`` is missed.
    cap : float, optional
        Maximum total of outcome-contingent payments (tariff plus at-risk fee).
    management_fee : float
        Share of everything the prime receives that it keeps before passing
        the rest to ``subcontractors``.
    subcontractors : mapping
        Name -> share of the fee the prime passes down (shares sum to 1). The
        subcontractors deliver the service and bear its costs in these
        shares; without subcontractors the prime delivers.
    risk_shares : mapping
        Name -> share of the outcome-contingent money the prime passes down
        (the withheld fee, the outcome payments and any clawback; shares sum
        to 1, one per subcontractor). Default: the ``subcontractors`` shares.
        A subcontractor whose share here exceeds its share of the fee bears
        more of the risk than of the payment (a finding of :meth:`check`).
    management_fee_cap : float, optional
        The most the contract lets the prime keep (a share); a management
        fee above it is a finding of :meth:`check`.
    investor : Investor, optional
        Pays the service fee instead of the commissioner and receives every
        outcome-contingent payment (Peterborough).
    clawback_rule : bool
        A contract rule, not ``target``, says when the clawback applies.
    at_risk_through_tariff : bool
        The withheld share is earned through the tariff (a "70/30 with the 30%
        earned through outcomes" design): the tariff is the vehicle of the
        at-risk money, not money on top, so the share at risk counts it once.

    Examples
    --------
    >>> s = PaymentStructure(service_fee=1e6, up_front_share=0.7, at_risk_share=0.1,
    ...                      target=Target("no_reoffence", 0.6))
    >>> s.check()
    []
    """

    name: str = "custom"
    service_fee: float = 0.0
    up_front_share: float = 0.0
    at_risk_share: float = 0.0
    outcome_budget: float = 0.0
    tariff: Tariff | None = None
    target: Target | None = None
    clawback_share: float = 0.0
    cap: float | None = None
    management_fee: float = 0.0
    subcontractors: Mapping[str, float] = field(default_factory=dict)
    investor: Investor | None = None
    notes: str = ""
    risk_shares: Mapping[str, float] = field(default_factory=dict)
    management_fee_cap: float | None = None
    clawback_rule: bool = False
    at_risk_through_tariff: bool = False

    def __post_init__(self) -> None:
        for name in ("up_front_share", "at_risk_share", "clawback_share", "management_fee"):
            _share(name, getattr(self, name))
        for name in ("service_fee", "outcome_budget"):
            if not float(getattr(self, name)) >= 0:
                raise parameter_error(name, "PaymentStructure", ">= 0", getattr(self, name))
        if self.up_front_share + self.at_risk_share > 1 + _BOUNDARY_TOL:
            raise parameter_error(
                "at_risk_share", "PaymentStructure", "at most 1 - up_front_share (the withheld share cannot also be "
                "paid up front)", got=f"{self.up_front_share} + {self.at_risk_share}",
            )  # fmt: skip
        if self.clawback_share > 1 - self.at_risk_share + _BOUNDARY_TOL:
            raise parameter_error(
                "clawback_share", "PaymentStructure", "at most the share of the fee actually paid (1 - at_risk_share "
                f"= {1 - self.at_risk_share:g})", self.clawback_share,
            )  # fmt: skip
        if self.clawback_share > 0 and self.target is None and not self.clawback_rule:
            raise parameter_error(
                "target", "PaymentStructure", "a Target(outcome, rate), or clawback_rule=True (a contract rule), "
                "saying what must be achieved when 'clawback_share' is above 0", self.target,
            )  # fmt: skip
        if self.cap is not None and not float(self.cap) >= 0:
            raise parameter_error("cap", "PaymentStructure", ">= 0 or None", self.cap)
        self._check_supply_chain()
        if self.investor is not None and self.clawback_share > 0:
            raise parameter_error(
                "clawback_share", "PaymentStructure", "0 in a structure with an investor (the investor carries the "
                "outcome risk, so no fee is clawed back from the provider)", self.clawback_share,
            )  # fmt: skip

    def _check_supply_chain(self) -> None:
        """Refuse subcontractor, risk and fee shares that do not add up, or name no one to pass money to."""
        if self.subcontractors:
            _shares_of_one("subcontractors", self.subcontractors)
            clash = {"commissioner", "prime", "investor"} & set(self.subcontractors)
            if clash:
                raise parameter_error(
                    "subcontractors", "PaymentStructure", "named apart from the other parties (commissioner, prime, "
                    "investor)", sorted(clash),
                )  # fmt: skip
        elif self.management_fee > 0:
            raise parameter_error(
                "management_fee", "PaymentStructure", "0 without 'subcontractors' to pass the rest to",
                self.management_fee,
            )  # fmt: skip
        if self.risk_shares:
            _shares_of_one("risk_shares", self.risk_shares)
            if set(self.risk_shares) != set(self.subcontractors):
                raise parameter_error(
                    "risk_shares", "PaymentStructure", "one share for each subcontractor "
                    f"({', '.join(self.subcontractors) or 'none named'})", sorted(self.risk_shares),
                )  # fmt: skip
        if self.management_fee_cap is not None:
            _share("management_fee_cap", self.management_fee_cap)

    # ------------------------------------------------------------------ money
    @property
    def contract_value(self) -> float:
        """Service fee plus expected outcome payments (£); the fee alone when the tariff earns the withheld share."""
        return float(self.service_fee) + (0.0 if self.at_risk_through_tariff else float(self.outcome_budget))

    @property
    def providers(self) -> list[str]:
        """Parties that deliver the service and bear its cost."""
        return list(self.subcontractors) if self.subcontractors else ["prime"]

    @property
    def parties(self) -> list[str]:
        """Every party with a cash flow, payer first."""
        names = ["commissioner"] + (["investor"] if self.investor is not None else []) + ["prime"]
        return names + list(self.subcontractors)

    def provider_shares(self) -> dict[str, float]:
        """Share of the provider's risk and reward each provider party holds.

        Everything outcome-contingent reaches the front line through the
        supply chain, so these are the shares of the money at risk.
        """
        return (
            {"prime": 1.0}
            if not self.subcontractors
            else {
                "prime": float(self.management_fee),
                **{k: (1 - self.management_fee) * float(v) for k, v in self.subcontractors.items()},
            }
        )

    def outcome_shares(self) -> dict[str, float]:
        """Share of the outcome-contingent money (withheld fee, outcome payments, clawback) each provider holds.

        The prime keeps its management fee of it, as of every payment; the rest
        goes down in ``risk_shares`` (by default the ``subcontractors`` shares).

        Examples
        --------
        >>> s = PaymentStructure(service_fee=100.0, up_front_share=0.8, at_risk_share=0.2, management_fee=0.1,
        ...                      subcontractors={"a": 0.5, "b": 0.5}, risk_shares={"a": 0.8, "b": 0.2},
        ...                      at_risk_through_tariff=True)
        >>> {k: round(v, 6) for k, v in s.outcome_shares().items()}
        {'prime': 0.1, 'a': 0.72, 'b': 0.18}
        """
        if not self.risk_shares:
            return self.provider_shares()
        rest = 1 - self.management_fee
        return {"prime": float(self.management_fee), **{k: rest * float(v) for k, v in self.risk_shares.items()}}

    def split(self, fees: T, contingent: T) -> dict[str, T]:
        """Split what the prime receives: ``fees`` in the fee shares, ``contingent`` (outcome money) in the risk shares.

        Examples
        --------
        >>> s = PaymentStructure(service_fee=100.0, up_front_share=1.0, management_fee=0.1,
        ...                      subcontractors={"a": 0.5, "b": 0.5}, risk_shares={"a": 0.8, "b": 0.2})
        >>> {k: round(v, 6) for k, v in s.split(1000.0, 500.0).items()}
        {'prime': 150.0, 'a': 810.0, 'b': 540.0}
        """
        fee_shares, risk = self.provider_shares(), self.outcome_shares()
        return {k: fee_shares[k] * fees + risk[k] * contingent for k in fee_shares}

    def pass_down(self, amount: float) -> dict[str, float]:
        """Split money the prime receives: the prime keeps its management fee, the rest goes down.

        Examples
        --------
        >>> s = PaymentStructure(service_fee=100.0, up_front_share=1.0, management_fee=0.15,
        ...                      subcontractors={"charity_a": 0.6, "charity_b": 0.4})
        >>> {k: round(v, 6) for k, v in s.pass_down(1000.0).items()}
        {'prime': 150.0, 'charity_a': 510.0, 'charity_b': 340.0}
        """
        return {k: amount * v for k, v in self.provider_shares().items()}

    def shares(self) -> dict[str, float]:
        """The provider's up-front share of the fee, share of the contract at risk, and front-line share.

        With an investor the provider is funded in full at the start and
        carries no outcome risk (the investor does).
        """
        value = self.contract_value
        if self.investor is not None:
            up_front, at_risk = (1.0 if self.service_fee > 0 else 0.0), 0.0
        else:
            up_front = self.up_front_share if self.service_fee > 0 else 0.0
            # Each pound once: a withheld share earned through the tariff is the tariff's money.
            tariff = 0.0 if self.at_risk_through_tariff else self.outcome_budget
            contingent = (self.at_risk_share + self.clawback_share) * self.service_fee + tariff
            at_risk = contingent / value if value > 0 else 0.0
        front_line = 1.0 - self.management_fee if self.subcontractors else 1.0
        return {"contract_value": value, "up_front": up_front, "at_risk": at_risk, "front_line": front_line}

    def check(self) -> list[Finding]:
        """Findings where this structure falls outside the sector's ask (70% up front, 10-30% at risk).

        Boundaries are inside: exactly 70% up front, or exactly 10% or 30% at
        risk, pass.

        Examples
        --------
        >>> [f.code for f in PaymentStructure(service_fee=1.0, up_front_share=0.5).check()]
        ['up_front_below_ask', 'at_risk_below_ask']
        """
        s = self.shares()
        ask = SECTOR_ASK
        findings = []
        if s["up_front"] < ask["min_up_front"] - _BOUNDARY_TOL:
            findings.append(
                Finding(
                    "up_front_below_ask",
                    "warning",
                    f"{s['up_front']:.2%} of the service fee is paid up front; the sector asks for at least "
                    f"{ask['min_up_front']:.0%}, so a small provider must fund delivery from its own reserves.",
                    {"up_front": s["up_front"], "min_up_front": ask["min_up_front"]},
                )
            )
        if s["at_risk"] < ask["min_at_risk"] - _BOUNDARY_TOL:
            findings.append(
                Finding(
                    "at_risk_below_ask",
                    "info",
                    f"{s['at_risk']:.2%} of the contract is at risk against outcomes; below "
                    f"{ask['min_at_risk']:.0%} the provider has little financial reason to pursue outcomes.",
                    {"at_risk": s["at_risk"], "min_at_risk": ask["min_at_risk"]},
                )
            )
        if s["at_risk"] > ask["max_at_risk"] + _BOUNDARY_TOL:
            findings.append(
                Finding(
                    "at_risk_above_ask",
                    "warning",
                    f"{s['at_risk']:.2%} of the contract is at risk against outcomes; the sector asks for at most "
                    f"{ask['max_at_risk']:.0%}: more invites creaming and parking and shuts out small providers.",
                    {"at_risk": s["at_risk"], "max_at_risk": ask["max_at_risk"]},
                )
            )
        return findings + self._supply_chain_findings()

    def _supply_chain_findings(self) -> list[Finding]:
        """A management fee above the contract's own cap; a subcontractor bearing more of the risk than of the fee."""
        findings = []
        cap = self.management_fee_cap
        if cap is not None and self.management_fee > cap + _BOUNDARY_TOL:
            findings.append(
                Finding(
                    "management_fee_above_cap",
                    "error",
                    f"The prime keeps {percent(self.management_fee)} of every payment as its management fee, above "
                    f"the {percent(cap)} the contract allows: the front line receives "
                    f"{percent(1 - self.management_fee)} where the contract meant at least {percent(1 - cap)}.",
                    {"management_fee": self.management_fee, "management_fee_cap": cap},
                )
            )
        fee_shares = self.provider_shares()
        for name, risk in self.outcome_shares().items():
            if name != "prime" and risk > fee_shares[name] + _BOUNDARY_TOL:
                findings.append(
                    Finding(
                        "risk_passed_down",
                        "warning",
                        f"{name} bears {percent(risk)} of the money at risk but receives {percent(fee_shares[name])} "
                        "of the fee: it carries more of the outcome risk than of the payment, so it needs more "
                        "reserves than its share of the work. Pass the outcome money down in the fee shares, or "
                        "raise its share of the fee.",
                        {"party": name, "risk_share": risk, "fee_share": fee_shares[name]},
                    )
                )
        return findings

    def to_dict(self) -> dict[str, object]:
        """Plain-Python form for JSON."""
        return {
            "name": self.name,
            "service_fee": self.service_fee,
            "up_front_share": self.up_front_share,
            "at_risk_share": self.at_risk_share,
            "outcome_budget": self.outcome_budget,
            "target": None if self.target is None else {"outcome": self.target.outcome, "rate": self.target.rate},
            "clawback_share": self.clawback_share,
            "cap": self.cap,
            "management_fee": self.management_fee,
            "subcontractors": dict(self.subcontractors),
            "risk_shares": self.outcome_shares(),
            "management_fee_cap": self.management_fee_cap,
            "investor": None if self.investor is None else self.investor.name,
            "shares": self.shares(),
            "findings": [f.to_dict() for f in self.check()],
            "notes": self.notes,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per party: share of money at risk and reward."""
        return pd.DataFrame({"share": self.provider_shares()}).rename_axis("party")

    def summary(self) -> str:
        """A few lines: fees, shares and findings."""
        s = self.shares()
        lines = [
            f"Payment structure: {self.name}",
            f"  contract value £{s['contract_value']:,.0f} (service fee £{self.service_fee:,.0f}, "
            f"expected outcome payments £{self.outcome_budget:,.0f})",
            f"  up front {s['up_front']:.1%} of fee; at risk {s['at_risk']:.1%} of contract; "
            f"front line receives {s['front_line']:.1%}",
        ]
        if self.cap is not None:
            lines.append(f"  cap on outcome payments £{self.cap:,.0f}")
        findings = self.check()
        lines += [f"  [{f.severity}] {f.message}" for f in findings] or ["  within the sector's ask"]
        return "\n".join(lines)

    @classmethod
    def from_spec(
        cls, spec: MetricSpec, outcome_budget: float = 0.0, *, clawback_rule: bool = False
    ) -> PaymentStructure:
        """Build from a spec's or contract's ``[payment]`` table.

        Reads ``service_fee``, ``up_front_share``, ``at_risk_share``,
        ``at_risk_through_tariff``, ``clawback_share``, ``outcome_cap`` (the
        cap), ``management_fee_share`` with ``subcontractors`` (``{name =
        share}``; without them the rest passes to one, "subcontractor"),
        ``risk_shares`` (``{name = share}`` of the outcome money),
        ``management_fee_cap`` and ``investor`` (a name or true). Prices are the tariff's business; the
        spec states no expected total, so give ``outcome_budget`` (e.g. from
        :attr:`pricing.inputs.CohortPricing.expected_payments`) for the contract
        value and the share at risk to count outcome payments.
        """
        payment = dict(getattr(spec, "payment", {}) or {})
        fee_share = float(payment.get("management_fee_share", 0.0))
        subcontractors = dict(payment.get("subcontractors", {})) or ({"subcontractor": 1.0} if fee_share > 0 else {})
        investor = payment.get("investor")
        return cls(
            name=str(getattr(spec, "name", "spec")),
            service_fee=float(payment.get("service_fee", 0.0)),
            up_front_share=float(payment.get("up_front_share", 0.0)),
            at_risk_share=float(payment.get("at_risk_share", 0.0)),
            clawback_share=float(payment.get("clawback_share", 0.0)),
            clawback_rule=clawback_rule,
            at_risk_through_tariff=bool(payment.get("at_risk_through_tariff", False)),
            cap=None if payment.get("outcome_cap") is None else float(payment["outcome_cap"]),
            management_fee=fee_share,
            subcontractors=subcontractors,
            risk_shares=dict(payment.get("risk_shares", {})),
            management_fee_cap=None if (cap := payment.get("management_fee_cap")) is None else float(cap),
            investor=Investor(investor if isinstance(investor, str) else "investor") if investor else None,
            outcome_budget=float(outcome_budget),
        )
