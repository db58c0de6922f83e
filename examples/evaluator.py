"""Journey 2: an evaluator testing a pilot against a national comparison pool.

Steps: pilot cohort + national pool -> proven reoffending (with exclusions) ->
match (1:1 nearest neighbour, caliper 0.2 SD of the logit) -> balance table and
love plot -> effects on the reoffending rate, frequency and time to first
reoffence, in plain English -> payment thresholds (Peterborough-style,
Doncaster-style, several rules compared) -> intermediate outcomes ->
creaming and parking screens, measurement screens (how each provider records
the outcomes), a funnel plot of providers and, beside it, the provider
comparison table -> the whole appraisal again (``appraisal.appraise``) as the HTML report.

Inputs (``data/``): ``people.csv`` (the enrolled pilot cohort), ``offences.csv``,
``assessments.csv``, ``services.csv``, ``eligible.csv`` (everyone referred) and
``pool.csv`` (national comparison pool with proven-reoffending outcomes, measured
the same way: convictions and cautions, 12 months' follow-up, 6 months' waiting).

Run: ``python examples/evaluator.py --out /tmp/evaluator``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from appraisal import AppraisalInputs, appraise
from cohorts import fit_difficulty
from desist.sections import build_report
from ground.reading import read_frame, read_table
from ground.tables import BASELINE_COVARIATES, NEEDS
from metrics import Contrast, compare_rules, doncaster_rule, match, negative_binomial_shape, peterborough
from outcomes import MetricSpec, proven_reoffending
from validation import compare_providers, creaming_screen, funnel, measurement_screens, parking_screen

matplotlib.use("Agg")  # figures go to files only

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
AS_OF = "2025-09-30"  # the date of the data extract
FOLLOW_UP_DAYS = 365


def heading(text: str) -> None:
    print(f"\n== {text} ==")


def save(ax, path: Path) -> None:
    ax.figure.tight_layout()
    ax.figure.savefig(path, dpi=110)
    plt.close(ax.figure)


def main(out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    people = read_table(DATA / "people.csv", "people", as_of=AS_OF)
    pool = read_table(DATA / "pool.csv", "pool", as_of=AS_OF)
    offences = read_table(DATA / "offences.csv", "offences", as_of=AS_OF)
    eligible = read_table(DATA / "eligible.csv", "eligible", as_of=AS_OF)
    print(
        f"Pilot: {len(people):,} enrolled of {len(eligible):,} eligible; national pool {len(pool):,}; "
        f"data as of {AS_OF}."
    )

    heading("Proven reoffending of the pilot cohort")
    proven = proven_reoffending(people, offences, as_of=AS_OF)
    print(proven.summary())
    observed = proven.per_person.loc[proven.per_person["observable"]]
    cohort = people.merge(observed[["person_id", "reoffended", "reoffences", "days_to_first"]], on="person_id")
    cohort = cohort.astype({"reoffended": bool, "reoffences": int})

    heading("Matched comparison: 1:1 nearest neighbour on the propensity logit, caliper 0.2 SD")
    data = pd.concat([cohort, pool], ignore_index=True)
    data["in_programme"] = data["in_programme"].astype(bool)
    # Time to first proven reoffence: censored at the end of follow-up when there was none.
    data["days"] = data["days_to_first"].fillna(FOLLOW_UP_DAYS)
    # Effect statements name the outcome column, so give it the words a reader expects.
    data = data.rename(columns={"reoffended": "proven reoffending", "reoffences": "proven reoffences"})
    matched = match(data, "in_programme", BASELINE_COVARIATES, caliper=0.2, link="linear_logit")
    print(matched.counts.to_string())
    if len(matched.exclusions):
        print("Not in the matched sample:\n" + matched.exclusions.to_string(index=False))
    balance = matched.balance()
    smd = pd.DataFrame({"smd_before": balance[("before", "smd")], "smd_after": balance[("after", "smd")]})
    print("Standardised mean differences (|smd| < 0.1 is the usual bar):")
    print(smd.round(3).to_string())
    smd.to_csv(out / "balance.csv")
    save(matched.plot_balance(), out / "love_plot.png")
    save(matched.plot_overlap(), out / "overlap.png")

    heading("Effects on the treated (ATT)")
    effects = {
        "binary": matched.effect("proven reoffending", kind="binary"),
        "frequency": matched.effect("proven reoffences", kind="count"),
        "time_to_first": matched.effect("days", kind="time", event="proven reoffending"),
    }
    for name, effect in effects.items():
        print(f"{name}: {effect.statement()}")

    heading("Payment thresholds")
    dispersion = negative_binomial_shape(pool["reoffences"])
    frequency = Contrast.from_effect(effects["frequency"], dispersion=dispersion, label="pilot")
    binary = Contrast.from_effect(effects["binary"], label="pilot")
    # Payment probabilities are given at the estimated effect: "if the truth is what we saw".
    pb = peterborough(frequency, true_effect=effects["frequency"].estimate)
    dc = doncaster_rule().evaluate(binary, true_effect=effects["binary"].estimate)
    print(pb.summary())
    print(dc.summary())
    rules = compare_rules(frequency, true_effect=effects["frequency"].estimate)
    print(rules.summary())
    rules.to_frame().to_csv(out / "thresholds.csv", index=False)

    heading("Intermediate outcomes (no comparison: the pool has no assessments)")
    spec = MetricSpec.from_toml(HERE / "specs" / "intermediate.toml")
    assessments = read_table(DATA / "assessments.csv", "assessments", as_of=AS_OF)
    rates = spec.outcome_rates(people, assessments, as_of=AS_OF)
    for r in rates.itertuples():
        print(
            f"  {r.label}: {r.rate:.1%} (95% CI {r.ci_low:.1%} to {r.ci_high:.1%}), n = {r.n}; "
            f"not yet measurable {r.not_yet_measurable}, not measurable {r.not_measurable}"
        )
    rates.to_csv(out / "intermediate_outcomes.csv", index=False)

    heading("Creaming and parking screens (difficulty = expected reoffending, modelled on the pool)")
    difficulty = fit_difficulty(pool, "reoffended", BASELINE_COVARIATES)
    eligible["difficulty"] = difficulty.predict(eligible).difficulty
    creaming = creaming_screen(eligible, difficulty="difficulty", by="provider_id")
    print(creaming.summary())
    services = read_table(DATA / "services.csv", "services", as_of=AS_OF)
    hours = services.groupby("person_id")["hours"].sum()
    enrolled = eligible.loc[eligible["enrolled"]].reset_index(drop=True)
    enrolled["hours"] = enrolled["person_id"].map(hours).fillna(0.0).to_numpy()  # no contact = 0 hours
    parking = parking_screen(enrolled, difficulty="difficulty", intensity="hours", by="provider_id")
    print(parking.summary())

    heading("Measurement screens: how each provider records the outcomes, against its case-mix")
    # Every outcome of the spec, one Holm correction across providers x outcomes per kind of screen.
    scored = people.assign(difficulty=difficulty.predict(people).difficulty.to_numpy())
    measured = measurement_screens(
        scored,
        spec.achievement(scored, assessments, as_of=AS_OF),
        covariates=list(NEEDS),
    )
    print(measured.summary())

    heading("Providers compared like with like: funnel plot and comparison table")
    # Funnel: each provider's observed over expected reoffending against its volume.
    cohort["expected"] = difficulty.predict(cohort).expected
    providers = funnel(
        cohort.astype({"reoffended": int}), unit="provider_id", outcome="reoffended", expected="expected"
    )
    print(providers.summary())
    table = compare_providers(cohort, unit="provider_id", outcome="reoffended", expected="expected")
    print(table.summary())
    table.to_frame().to_csv(out / "providers.csv", index=False)
    for name, screen in (("creaming", creaming), ("parking", parking), ("funnel", providers), ("providers", table)):
        save(screen.plot(), out / f"{name}.png")
    save(measured.plot()[0], out / "measurement.png")

    result = {
        "counts": proven.counts,
        "matched": matched.counts.to_dict(),
        "max_abs_smd_after": float(np.abs(smd["smd_after"]).max()),
        "effects": {name: e.to_dict() for name, e in effects.items()},
        "peterborough": pb.to_dict(),
        "doncaster": dc.to_dict(),
        "intermediate_outcomes": rates.to_dict(orient="records"),
        "creaming": {"flagged": creaming.flagged, "p_value": creaming.p_value, "units": creaming.flagged_units},
        "parking": {"flagged": parking.flagged, "p_value": parking.p_value, "units": parking.flagged_units},
        "measurement": {kind: measured[kind].flagged_units for kind in measured},
        "providers": table.to_dict(),
    }
    (out / "evaluator.json").write_text(json.dumps(result, indent=2, default=str))

    heading("Report")
    # The report runs the whole appraisal again on the same tables, so its numbers match the above;
    # last year's cohort (with delivery costs) adds the tariff and contract sections.
    history = read_frame(DATA / "history.csv", table="history")
    inputs = AppraisalInputs(
        spec=spec,
        people=people,
        offences=offences,
        pool=pool,
        eligible=eligible,
        services=services,
        assessments=assessments,
        history=history,
        as_of=pd.Timestamp(AS_OF),
    )
    path = build_report(appraise(inputs)).write(out / "report.html")
    print(f"HTML report: {path}")
    print(f"\nOutputs written to {out}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="An evaluator tests a pilot against a national comparison pool.")
    parser.add_argument("--out", type=Path, default=HERE / "out" / "evaluator", help="folder for outputs")
    main(parser.parse_args().out)
