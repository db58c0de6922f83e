"""Reference settlements made by the row-by-row tariff, caps, uplifts and sort, before they were vectorised.

Made at commit fd00969 (main after the running account and case-mix baselines landed, the last with the
per-row ``Decimal`` loop in ``pricing/settlement.py`` and the sort of every column as text in
``pricing/settlement_data.py``; first made at 101db97, before those figures existed), from this repository's root::

    git archive fd00969 | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old python tests/results/make_settlement_reference.py

Made again on 2026-12-04 the same way (the script copied into /tmp/old/tests/results/ and today's
``examples/data`` into /tmp/old/examples/data), when the example offences came to hold only the cohort's: every
figure, ledger hash and exclusion stayed as it was but the offence file's row count (4,474 to 2,358) and the
2,116 offences that matched no one (gone).

It writes ``tests/results/settlement_reference.json``: for every case (a contract on the example data,
``examples/data``), the settlement as ``Settlement.to_dict()`` gives it (tranches, parties, exclusions,
figures with the ledger's SHA-256, the audit without the contract's path, which differs between checkouts).
The cases, built by :func:`cases` (the test imports it), cover every way a tariff row is priced: prices by
segment, uplifts stacked multiplicatively and additively (with awkward decimals and a price in half pence so
that rounding half up decides pennies), a price per person with no proven reoffence, rule payments under a
rule cap that binds, a contract cap that binds part way through the tariff, a rate card's claims, and a matched rule.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).with_name("settlement_reference.json")
DATA = ROOT / "examples" / "data"
SPECS = ROOT / "examples" / "specs"
AS_OF = "2025-09-30"

#: The sector's ask with three uplifts whose products have many decimals, and a price in half pence.
STACKED = """
[metric]
name = "Stacked uplifts"

[tranches.y1]
start = 2022-01-01
end = 2023-12-31
final = 2026-03-31

[tranches.y2]
start = 2024-01-01
end = 2024-12-31
final = 2026-12-31

[outcomes.accommodation]
instrument = "accommodation_status"
window = [91, 365]
price_key = "accommodation"

[outcomes.accommodation.rule]
type = "transition"
from = ["no_fixed_abode", "unsettled"]
to = ["settled"]

[outcomes.self_esteem]
instrument = "rosenberg"
window = [60, 365]
price_key = "self_esteem"

[outcomes.self_esteem.rule]
type = "improvement"
by = 1

[reoffending]
measure = "binary"
price_key = "no_reoffence"

[segments.women]
where = "sex == 'female'"
priority = 1

[segments.complex_needs]
where = "count(need_accommodation, need_substance, need_mental_health) >= 2"
priority = 2

[segments.young_adults]
where = "age <= 24"
priority = 3

[payment]
service_fee = 600000
up_front_share = 0.7
at_risk_share = 0.3
stacking = "STACKING"
outcome_cap = CAP

[payment.prices]
accommodation = { default = 333.345, women = 600.005, complex_needs = 1.015 }
self_esteem = 99.985
no_reoffence = { default = 900, young_adults = 1234.565 }

[payment.uplifts]
women = 0.125
complex_needs = 0.333
young_adults = 0.07
"""


def cases(folder: Path) -> dict[str, tuple[Path | str, dict[str, str], str]]:
    """Case name -> (contract path or scheme name, table name -> file, as-of date); contracts written to ``folder``."""
    for stacking in ("multiplicative", "additive"):
        for cap in ("10000000", "40000"):
            text = STACKED.replace("STACKING", stacking).replace("CAP", cap)
            (folder / f"stacked_{stacking}_{cap}.toml").write_text(text)
    capped = (
        (SPECS / "peterborough.toml")
        .read_text()
        .replace(
            'settle = "interim"\nprice_per_event = 700\n', 'settle = "interim"\nprice_per_event = 700\ncap = 40000\n'
        )
    )
    (folder / "peterborough_capped.toml").write_text(capped)
    tables = {name: str(DATA / f"{name}.csv") for name in ("people", "offences", "assessments", "claims", "spells")}
    people, offences, assessments = (tables[n] for n in ("people", "offences", "assessments"))
    out: dict[str, tuple[Path | str, dict[str, str], str]] = {
        "intermediate": (SPECS / "intermediate.toml", {"people": people, "assessments": assessments,
                                                        "offences": offences}, AS_OF),
        "sector_ask": ("sector_ask", {"people": people, "assessments": assessments}, AS_OF),
        "doncaster": (SPECS / "doncaster.toml", {"people": people, "offences": offences}, AS_OF),
        "peterborough": (SPECS / "peterborough.toml", {"people": people, "offences": offences,
                                                        "pool": str(DATA / "pool.csv")}, AS_OF),
        "ratecard": (SPECS / "ratecard.toml", {"people": people, "claims": tables["claims"],
                                               "spells": tables["spells"]}, AS_OF),
    }  # fmt: skip
    out["peterborough_capped"] = (folder / "peterborough_capped.toml", out["peterborough"][1], AS_OF)
    for stacking in ("multiplicative", "additive"):
        for cap in ("10000000", "40000"):
            data = {"people": people, "assessments": assessments, "offences": offences}
            out[f"stacked_{stacking}_{cap}"] = (folder / f"stacked_{stacking}_{cap}.toml", data, AS_OF)
    return out


def settled(contract: Path | str, data: dict[str, str], as_of: str) -> dict:
    """The settlement in plain Python, the contract's path left out of the audit."""
    from pricing import Contract, scheme, settle

    c = Contract.from_toml(contract) if isinstance(contract, Path) else scheme(contract)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = settle(c, data, as_of=as_of).to_dict()
    out["audit"]["contract"].pop("source")
    return json.loads(json.dumps(out, default=str))


def main() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        reference = {name: settled(*case) for name, case in cases(Path(folder)).items()}
    OUT.write_text(json.dumps(reference, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
