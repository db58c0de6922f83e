"""A settlement made fit to share: person identifiers pseudonymised and small counts suppressed.

:func:`pseudonymise` replaces every person identifier in the ledger by its keyed pseudonym
(:mod:`ground.pseudonyms`: HMAC-SHA256 under the commissioner's key) and suppresses counts of 1 to 9 people
where a table publishes them (an exclusion's count; a rule's n, estimate and interval), as the equality
tables do (``SUPPRESSION_THRESHOLD``), since a rate and its n give a small group back. Amounts are
untouched: the tranches, parties and totals are the settlement's own, to the penny. The settlement's
``audit`` records the method and the key's fingerprint (:func:`ground.pseudonyms.key_check`), never the key.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ground.pseudonyms import key_check, pseudonyms
from pricing.settlement import Settlement

__all__ = ["SUPPRESSION_THRESHOLD", "pseudonymise"]

#: Smallest count of people a shared settlement shows (as desist.format's tables and the equality tables).
SUPPRESSION_THRESHOLD = 10
#: A rule row's columns that give its people back when its n is small.
_RULE_FIGURES = ("n_treated", "estimate", "ci_low", "ci_high")


def pseudonymise(settlement: Settlement, key: bytes) -> Settlement:
    """The settlement with pseudonyms for people and small counts suppressed; amounts unchanged.

    Parameters
    ----------
    settlement : Settlement
    key : bytes
        The key (:func:`ground.pseudonyms.read_key`); the same key gives the same pseudonyms.

    Examples
    --------
    >>> shared = pseudonymise(settlement, read_key("settlement.key"))  # doctest: +SKIP
    >>> shared.total_pence == settlement.total_pence  # doctest: +SKIP
    True
    """
    ledger = settlement.ledger.assign(person_id=pseudonyms(settlement.ledger["person_id"], key))
    exclusions = settlement.exclusions.copy()
    small = _small(exclusions["n"])
    exclusions["n"] = exclusions["n"].astype(object).where(~small, None)
    tranches = settlement.tranches.copy()
    if "n_treated" in tranches:
        hidden = _small(tranches["n_treated"]) & (tranches["kind"] != "tariff")
        for column in [c for c in _RULE_FIGURES if c in tranches]:
            tranches[column] = tranches[column].astype(float).where(~hidden)
    shared = replace(settlement, ledger=ledger, exclusions=exclusions, tranches=tranches)
    audit = {
        **settlement.audit,
        "figures": shared.figures(),
        "suppressed": f"counts of 1 to {SUPPRESSION_THRESHOLD - 1}",
    }
    audit["pseudonyms"] = {"method": "HMAC-SHA256", "key_check": key_check(key)}
    return replace(shared, audit=audit)


def _small(counts: pd.Series) -> np.ndarray:
    values = pd.to_numeric(counts, errors="coerce").to_numpy(dtype=float)
    return (values >= 1) & (values < SUPPRESSION_THRESHOLD)
