"""Write the example input files (examples/data/*.csv) from the synthetic world.

The files stand in for what each user would bring:

- ``eligible.csv``: everyone referred to the pilot (about 1,500), with who enrolled;
- ``people.csv``: the enrolled pilot cohort; ``offences.csv``, ``services.csv``,
  ``assessments.csv``: their records (offences of the cohort only, as an extract for the cohort holds
  them: every offence matches a person in ``people.csv``);
- ``pool.csv``: a national comparison pool (15,000) with proven-reoffending outcomes;
- ``history.csv``: last year's enrolled cohort, one row per person with baseline
  characteristics, one 0/1 column per priced outcome of ``specs/intermediate.toml``
  (1 = achieved and paid; not achieved or not measurable = 0), proven reoffending,
  the service ``hours`` and the delivery ``cost`` per person;
- ``claims.csv`` and ``spells.csv``: the outcomes the providers claim under the
  rate card ``specs/ratecard.toml``, with their evidence, and the pilot's
  employment spells (see :func:`rate_card_tables`).

``messy/`` holds the same people as real extracts write them, each read by a mapping file in
``examples/mappings/`` (``desist ... --data-map examples/mappings/pnc.toml``):

- ``messy/pnc/``: a PNC-style extract: the cohort with ``PNC_ID``, ``Start Date`` written 30/09/2025,
  ``Gender`` M/F and ethnic groups as codes, ``In Programme`` Y/N; its offences split over four
  quarterly files (``pnc_offences_Q1.csv`` ...), ``Offence Date`` in dd/mm/yyyy and disposals coded
  ``CONV``/``Convicted``, ``CAUT``, ``ACQ``, ``NFA``/``nfa``, ``OTH``;
- ``messy/star/``: an Outcomes Star style case-management export for three providers: the caseload
  (``Client Ref``, needs as Y/N) and one reading per client, date, area and question;
- ``messy/jdl/``: a Justice Data Lab style request: a cohort with forenames, surnames, dates of birth
  in dd/mm/yyyy and M/F, but no PNC number for a quarter of it, and the national people table it is
  linked to with ``desist link`` (:func:`cohorts.synthetic.make_linkage_data`).

Six of the pilot's twelve providers game, one way each, so the screens have
something to find: PRV02 and PRV07 cream (enrolment odds at the hardest decile an
eighth of those at the easiest), PRV04 parks (the hardest cases get a third of the
hours of the easiest), PRV05 leaves 60% of its likely failures unassessed, PRV09
assesses everyone twice more in the payment window (best-of-many), and PRV11 rates
baselines a point low. The seed is fixed: running this again gives the same files.

Run: ``python examples/make_data.py`` (about 2 seconds).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from appraisal.designer import history_from_world
from cohorts.synthetic import make_linkage_data, make_world
from ground.reading import write_table
from outcomes import MetricSpec

HERE = Path(__file__).resolve().parent
SPEC = HERE / "specs" / "intermediate.toml"
SEED = 2025
N_PROVIDERS = 12
#: Relative provider sizes in the pilot (unequal, none tiny).
PROVIDER_SHARES = (0.8, 1.2, 1.0, 1.3, 1.1, 0.7, 1.4, 0.9, 1.2, 0.8, 1.0, 0.6)


def _one(provider: int, value: float) -> list[float]:
    """A value for one provider (PRV01 = 1), zero for the others."""
    return [value if j == provider - 1 else 0.0 for j in range(N_PROVIDERS)]


#: Who games how: the README of examples/ names the same providers.
CREAMING = [a + b for a, b in zip(_one(2, 3.0), _one(7, 3.0))]
PARKING = _one(4, 1.5)
MEASUREMENT = {
    "selective_missingness": _one(5, 0.6),
    "extra_assessments": _one(9, 2.0),
    "baseline_deflation": _one(11, 1.0),
}


def history_table(spec: MetricSpec, seed: int) -> pd.DataFrame:
    """Last year's enrolled cohort, every outcome window closed, one row per person (as ``desist design`` makes it)."""
    # A late as-of date closes every window: last year's outcomes are all known.
    world = make_world(seed=seed, n_eligible=1_500, n_pool=0, n_providers=N_PROVIDERS, as_of="2026-06-30")
    history = history_from_world(spec, world)
    return history.assign(
        hours=history["hours"].round(2), cost=history["cost"].round(2), ogrs_score=history["ogrs_score"].round(2)
    )


#: Evidence a provider holds for each outcome of ``specs/ratecard.toml``.
EVIDENCE = {"engaged": "REG", "entry_level": "CERT", "level_1": "CERT", "level_2": "CERT", "job_13": "EMP",
            "job_26": "EMP"}  # fmt: skip


def rate_card_tables(people: pd.DataFrame, eligible: pd.DataFrame, seed: int, as_of: str) -> dict[str, pd.DataFrame]:
    """What the pilot's providers claim under ``specs/ratecard.toml`` by ``as_of``, and their employment spells.

    Higher-risk people achieve less. Providers make the mistakes a settlement must catch: engagement claimed
    before the start or too late, a 26-week job claimed without the 13-week one, claims sent twice under another
    reference, a lower qualification claimed after a higher one, and claims for people referred but never
    enrolled.
    """
    rng = np.random.default_rng(seed)
    n = len(people)
    ability = 1.0 - people["ogrs_score"].to_numpy() / 100.0
    parts = [("engaged", np.flatnonzero(rng.random(n) < 0.5 + 0.45 * ability), (-3, 63))]
    for outcome, share, days in (
        ("entry_level", 0.45, (40, 300)),
        ("level_1", 0.3, (90, 420)),
        ("level_2", 0.2, (180, 540)),
    ):
        parts.append((outcome, np.flatnonzero(rng.random(n) < share * (0.5 + ability)), days))
    claims = pd.concat(
        [pd.DataFrame({"row": who, "outcome": name, "day": rng.integers(*days, who.size)}) for name, who, days in parts]
    )
    engaged = np.zeros(n, dtype=bool)
    engaged[parts[0][1]] = True
    job = np.flatnonzero(engaged & (rng.random(n) < 0.3 + 0.4 * ability))
    job_start = rng.integers(20, 360, job.size)
    weeks = np.ceil(rng.exponential(40, job.size)).astype(int)
    jobs = [
        pd.DataFrame({"row": job[weeks >= w], "outcome": f"job_{w}", "day": job_start[weeks >= w] + 7 * w})
        for w in (13, 26)
    ]
    skipped = np.flatnonzero(rng.random(n) < 0.02)  # a 26-week job claimed without the 13-week one
    jobs.append(pd.DataFrame({"row": skipped, "outcome": "job_26", "day": rng.integers(200, 500, skipped.size)}))
    claims = pd.concat([claims, *jobs], ignore_index=True)
    start = pd.to_datetime(people["start_date"]).to_numpy()
    claims = claims.assign(
        person_id=people["person_id"].to_numpy()[claims["row"]],
        provider_id=people["provider_id"].to_numpy()[claims["row"]],
        achieved_on=start[claims["row"]] + pd.to_timedelta(claims["day"], unit="D").to_numpy(),
        evidence=claims["outcome"].map(EVIDENCE) + "-" + pd.Series(np.arange(len(claims))).astype(str).str.zfill(5),
    )
    again = claims.sample(frac=0.03, random_state=seed).assign(evidence=lambda c: c["evidence"] + "-RESENT")
    never = eligible.loc[~eligible["enrolled"].astype(bool)].head(12)
    strangers = pd.DataFrame(
        {
            "person_id": never["person_id"].to_numpy(),
            "provider_id": never["provider_id"].to_numpy(),
            "outcome": "engaged",
            "achieved_on": pd.to_datetime(never["referral_date"]).to_numpy() + np.timedelta64(20, "D"),
            "evidence": [f"REG-X{i:03d}" for i in range(len(never))],
        }
    )
    claims = pd.concat([claims, again, strangers], ignore_index=True)
    claims = claims.loc[claims["achieved_on"] <= pd.Timestamp(as_of)]
    claims = claims.sort_values(["achieved_on", "evidence"], kind="stable")
    ends = start[job] + pd.to_timedelta(job_start + 7 * weeks, unit="D").to_numpy()
    spells = pd.DataFrame(
        {
            "person_id": people["person_id"].to_numpy()[job],
            "kind": "employment",
            "start": start[job] + pd.to_timedelta(job_start, unit="D").to_numpy(),
            "end": pd.Series(ends).where(ends <= np.datetime64(as_of)),
        }
    )
    spells = spells.loc[spells["start"] <= pd.Timestamp(as_of)]
    return {"claims": claims[["person_id", "provider_id", "outcome", "achieved_on", "evidence"]], "spells": spells}


#: How the messy extracts write desist's values (the mappings in examples/mappings/ say the same).
SEX_CODES = {"male": "M", "female": "F", "other": "X", "unknown": "U"}
ETHNICITY_CODES = {"white": "W", "black": "B", "asian": "A", "mixed": "M", "other": "O", "unknown": "NS"}
DISPOSAL_CODES = {
    "conviction": "CONV", "caution": "CAUT", "acquittal": "ACQ", "no_further_action": "NFA", "other": "OTH"
}  # fmt: skip
#: Instruments and items as a case-management system labels them.
STAR_AREAS = {
    "accommodation_status": "Accommodation status",
    "family_contact": "Family contact",
    "rosenberg": "Self-esteem (Rosenberg)",
    **{f"ladder_{a}": f"Star: {a.replace('_', ' ')}" for a in ("accommodation", "attitudes", "drugs_alcohol", "ete",
                                                                  "family", "finance")},
}  # fmt: skip
STAR_QUESTIONS = {
    "status": "Status", "contact_frequency": "Contact frequency", "living_with_family": "Lives with family",
    "ladder": "Reading", **{f"q{i}": f"Q{i}" for i in range(1, 11)},
}  # fmt: skip
STAR_PROVIDERS = ("PRV01", "PRV03", "PRV08")
UK_DATE = "%d/%m/%Y"


def _uk(dates: pd.Series) -> pd.Series:
    return dates.dt.strftime(UK_DATE)


def pnc_shape(people: pd.DataFrame, offences: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The cohort and its offences as a PNC-style extract writes them (offences in quarterly files)."""
    cohort = pd.DataFrame(
        {
            "PNC_ID": people["person_id"],
            "Start Date": _uk(people["start_date"]),
            "Gender": people["sex"].astype(str).map(SEX_CODES),
            "Ethnic Group": people["ethnicity"].astype(str).map(ETHNICITY_CODES),
            "Age": people["age"],
            "Provider": people["provider_id"],
            "In Programme": people["in_programme"].map({True: "Y", False: "N"}),
        }
    )
    outcome = offences["disposal"].astype(str).map(DISPOSAL_CODES)
    # Two spellings of the same disposal, as extracts merged from two systems have them.
    every = pd.Series(range(len(offences)), index=offences.index)
    outcome = outcome.mask((outcome == "CONV") & (every % 7 == 0), "Convicted").mask(
        (outcome == "NFA") & (every % 3 == 0), "nfa"
    )
    extract = pd.DataFrame(
        {
            "PNC_ID": offences["person_id"],
            "Offence Date": _uk(offences["offence_date"]),
            "Disposal Date": _uk(offences["disposal_date"]),
            "Outcome": outcome,
        }
    )
    quarter = offences["offence_date"].dt.quarter
    return {"cohort": cohort} | {f"pnc_offences_Q{q}": extract[quarter == q] for q in (1, 2, 3, 4)}


def star_shape(people: pd.DataFrame, assessments: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Three providers' caseload and readings as an Outcomes Star style case-management export."""
    yes_no = {True: "Y", False: "N"}
    served = people[people["provider_id"].isin(STAR_PROVIDERS)]
    caseload = pd.DataFrame(
        {
            "Client Ref": served["person_id"],
            "Referral Start": _uk(served["start_date"]),
            "Gender": served["sex"].astype(str).map(SEX_CODES),
            "Age": served["age"],
            "Accommodation need": served["need_accommodation"].map(yes_no),
            "Substance misuse need": served["need_substance"].map(yes_no),
            "Mental health need": served["need_mental_health"].map(yes_no),
            "Worker team": served["provider_id"],
        }
    )
    read = assessments[assessments["person_id"].isin(served["person_id"])]
    readings = pd.DataFrame(
        {
            "Client Ref": read["person_id"],
            "Reading Date": _uk(read["assessed_on"]),
            "Area": read["instrument"].astype(str).map(STAR_AREAS),
            "Question": read["item"].astype(str).map(STAR_QUESTIONS),
            "Reading": read["score"],
        }
    )
    return {"caseload": caseload, "readings": readings}


def jdl_shape(seed: int) -> dict[str, pd.DataFrame]:
    """A Justice Data Lab style cohort (names, UK dates of birth, M/F, PNC numbers for three quarters) and
    the national people table (desist's own columns: the national table is the Ministry of Justice's)."""
    data = make_linkage_data(seed=seed, n_people=5_000, n_cohort=400)
    cohort = pd.DataFrame(
        {
            "Forename": data.cohort["first_name"],
            "Surname": data.cohort["surname"],
            "DOB": pd.to_datetime(data.cohort["date_of_birth"]).dt.strftime(UK_DATE),
            "Gender": data.cohort["sex"].astype("string").map(SEX_CODES),
            "PNC Number": data.cohort["pnc_id"],
        }
    )
    return {"cohort": cohort, "people": data.people}


def write_messy(out: Path, people: pd.DataFrame, offences: pd.DataFrame, assessments: pd.DataFrame) -> dict[str, int]:
    """The messy shapes in ``out/messy/<shape>/``; returns rows per file."""
    shapes = {
        "pnc": pnc_shape(people, offences),
        "star": star_shape(people, assessments),
        "jdl": jdl_shape(SEED),
    }
    rows = {}
    for shape, tables in shapes.items():
        (out / "messy" / shape).mkdir(parents=True, exist_ok=True)
        for name, table in tables.items():
            write_table(table, out / "messy" / shape / f"{name}.csv")
            rows[f"messy/{shape}/{name}"] = len(table)
    return rows


def main(out: Path = HERE / "data") -> dict[str, int]:
    """Write the CSV files into ``out``; returns rows per file."""
    spec = MetricSpec.from_toml(SPEC)
    world = make_world(
        seed=SEED,
        n_eligible=1_500,
        n_pool=15_000,
        n_providers=N_PROVIDERS,
        creaming=CREAMING,
        parking=PARKING,
        provider_shares=list(PROVIDER_SHARES),
        measurement=MEASUREMENT,
    )
    # An offences extract is requested for the cohort: the world also draws offences of the eligible people who
    # did not enrol (its intention-to-treat cohort), which no example reads and every command would warn about.
    offences = world.offences[world.offences["person_id"].isin(world.people["person_id"])]
    # Rounded to what a real extract holds, which keeps the files small.
    tables = {
        "eligible": world.eligible.assign(ogrs_score=world.eligible["ogrs_score"].round(2)),
        "people": world.people.assign(ogrs_score=world.people["ogrs_score"].round(2)),
        "offences": offences,
        "services": world.services.assign(hours=world.services["hours"].round(2)),
        "assessments": world.assessments,
        "pool": world.pool.assign(ogrs_score=world.pool["ogrs_score"].round(2)),
        "history": history_table(spec, SEED - 1),
        **rate_card_tables(world.people, world.eligible, SEED + 1, str(world.as_of.date())),
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        write_table(table, out / f"{name}.csv")
    messy = write_messy(out, world.people, offences, world.assessments)
    return {name: len(table) for name, table in tables.items()} | messy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "data", help="folder for the CSV files")
    rows = main(parser.parse_args().out)
    print("\n".join(f"{name:<28} {n:>7,} rows" for name, n in rows.items()))
