"""What a check found: one :class:`Finding` per problem, with a stable code.

Design checks (``validation.check_design``), payment structures
(``PaymentStructure.check``) and contract checks all report through this one
class, so a report or the command line can sort, count and print them alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Severities, most serious first: "error" means the design cannot work as
#: written, "warning" that it can but invites a problem, "info" that a reader
#: should know something.
SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """One thing a check found: a stable ``code``, its ``severity``, a sentence and the numbers behind it.

    Examples
    --------
    >>> f = Finding("at_risk_above_ask", "warning", "45% of the contract is at risk; the sector asks for 10-30%.",
    ...             {"at_risk_share": 0.45})
    >>> f.to_dict()["severity"]
    'warning'
    """

    code: str
    severity: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(
                f"The 'severity' of a Finding must be one of {', '.join(SEVERITIES)}. Got {self.severity!r} instead."
            )

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "severity": self.severity, "message": self.message, "evidence": self.evidence}


def by_severity(findings: list[Finding]) -> list[Finding]:
    """The findings most serious first, in their found order within a severity."""
    return sorted(findings, key=lambda f: SEVERITIES.index(f.severity))
