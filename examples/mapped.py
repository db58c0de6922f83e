"""Your data as it comes: three real-world shapes read through a data mapping file, never reshaped by hand.

Each shape in ``data/messy/`` (written by ``make_data.py`` from the same people as ``data/``) is first
profiled (``ground.profile``: what ``desist inspect`` shows), then read through its mapping in ``mappings/``:

- ``pnc.toml``, a PNC-style extract: proven reoffending and the Doncaster-style settlement, the same as on
  the clean files;
- ``star.toml``, an Outcomes Star style export: the intermediate-outcomes contract settled for three
  providers;
- ``jdl.toml``, a Justice Data Lab style cohort without PNC numbers for a quarter of it: linked to the
  national table on names, dates of birth and sex, with the reoffending rate and its linkage-error bound.

Run: ``python examples/mapped.py --out /tmp/mapped`` (about 30 seconds). It writes the draft mapping
``desist inspect`` would write for the PNC extract, and each settlement's ledger (CSV).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cohorts.linkage import link
from ground.mapping import read_data_map
from ground.profile import profile
from outcomes import proven_reoffending
from pricing import Contract, settle

HERE = Path(__file__).resolve().parent
MESSY, MAPPINGS, SPECS = HERE / "data" / "messy", HERE / "mappings", HERE / "specs"
AS_OF = "2025-09-30"


def pnc(out: Path) -> dict[str, object]:
    """The PNC-style extract: profiled, then measured and settled through its mapping, beside the clean files."""
    files = [MESSY / "pnc" / "cohort.csv", *sorted((MESSY / "pnc").glob("pnc_offences_Q*.csv"))]
    found = profile(files)
    (out / "pnc_draft.toml").write_text(found.draft(out), encoding="utf-8")
    outcome = found.tables[1].column("disposal")
    print(f"PNC extract: {found.tables[1].rows:,} offence rows in {len(found.tables[1].files)} quarterly files; "
          f"'{outcome.name}' codes {', '.join(outcome.codes or {})}")  # fmt: skip
    mapping = read_data_map(MAPPINGS / "pnc.toml")
    mapped = proven_reoffending(mapping["people"], mapping["offences"], as_of=AS_OF)
    clean = proven_reoffending(HERE / "data" / "people.csv", HERE / "data" / "offences.csv", as_of=AS_OF)
    rate = mapped.to_dict()["rate"]
    same = mapped.per_person.equals(clean.per_person)
    print(f"  proven reoffending {rate['estimate']:.1%} (95% CI {rate['ci_low']:.1%} to {rate['ci_high']:.1%}), "
          f"{rate['k']} of {rate['n']} people")  # fmt: skip
    print(f"  person by person as on the clean files: {'yes' if same else 'NO'}")
    settled = settle(Contract.from_toml(SPECS / "doncaster.toml"), MAPPINGS / "pnc.toml", as_of=AS_OF)
    (out / "pnc_ledger.csv").write_text(settled.ledger_csv(), encoding="utf-8")
    print(f"  Doncaster-style settlement: {pounds(settled.total_pence)} (a clawback when negative)")
    return {"rate": rate["estimate"], "same": same, "total_pence": settled.total_pence}


def star(out: Path) -> dict[str, object]:
    """The Outcomes Star style export: the intermediate-outcomes contract settled through its mapping."""
    settled = settle(Contract.from_toml(SPECS / "intermediate.toml"), MAPPINGS / "star.toml", as_of=AS_OF)
    (out / "star_ledger.csv").write_text(settled.ledger_csv(), encoding="utf-8")
    paid = settled.ledger[settled.ledger["kind"] == "tariff"]
    print(f"Outcomes Star export: {len(paid):,} payable outcomes for {paid['person_id'].nunique():,} people, "
          f"{pounds(settled.total_pence)}")  # fmt: skip
    return {"outcomes": len(paid), "total_pence": settled.total_pence}


def jdl() -> dict[str, object]:
    """The Justice Data Lab style cohort: linked without a shared ID through its mapping."""
    mapping = read_data_map(MAPPINGS / "jdl.toml")
    result = link(mapping["cohort"], mapping["people"], outcome="reoffended", sample_pairs=200_000)
    figures = result.to_dict()
    linked, rate = figures["linked"], figures["rate"]
    print(f"JDL-style cohort: {linked['k']} of {linked['n']} linked ({linked['estimate']:.1%}) at a match "
          f"probability of {figures['threshold']}; reoffending {rate['estimate']:.1%}, "
          f"{figures['bound']['low']:.1%} to {figures['bound']['high']:.1%} allowing for linkage errors")  # fmt: skip
    return {"linked": linked["k"], "rate": rate["estimate"]}


def pounds(pence: int) -> str:
    return f"{'-' if pence < 0 else ''}£{abs(pence) / 100:,.2f}"


def main(out: Path) -> dict[str, dict[str, object]]:
    out.mkdir(parents=True, exist_ok=True)
    return {"pnc": pnc(out), "star": star(out), "jdl": jdl()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "out" / "mapped", help="folder for the outputs")
    main(parser.parse_args().out)
