"""The whole story on one set of tables: outcomes, matched comparison,
thresholds, difficulty, tariffs, contract simulation, screens and findings.

``run_story`` is what ``desist demo`` runs on the synthetic world and what
``desist report`` runs on files; ``Story.report()`` turns the results into the
HTML report. Each step uses the library's public functions, so the report
shows the same numbers a script would get.

Examples
--------
>>> from cohorts.synthetic import make_world
>>> from outcomes import MetricSpec
>>> w = make_world(seed=1, n_eligible=1_500, n_pool=15_000)
>>> spec = MetricSpec.from_toml(DEFAULT_SPEC)
>>> story = run_story(StoryInputs.from_world(w, spec), draws=200)
>>> bool(story.matched.counts.loc["matched", "treated"] > 0)
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import pandas as pd

from cohorts.difficulty import DifficultyModel, fit_difficulty
from cohorts.synthetic import NEEDS, World
from desist.report import Report
from metrics import match
from metrics.power import minimum_detectable_effect, negative_binomial_shape
from metrics.thresholds import Comparison, compare_rules
from outcomes import MetricSpec, proven_reoffending
from outcomes.spec import ReoffendingSpec
from pricing import PaymentStructure, Tariff, simulate_contract
from pricing.comparison import compare_tariffs
from pricing.inputs import achievement_history, cohort_pricing, segment_costs
from validation.design import check_design
from validation.equality_impact import equality
from validation.funnels import funnel
from validation.gaming import creaming_screen, parking_screen

#: The intermediate-outcomes spec shipped with the package (family ties,
#: self-esteem, accommodation, ETE, substance misuse; binary and frequency
#: reoffending reported alongside).
DEFAULT_SPEC = Path(str(files("desist").joinpath("specs", "intermediate.toml")))
#: Baseline covariates used for the propensity and difficulty models when the
#: tables have them: static risk, history and needs.
COVARIATES = ("age", "sex", "ethnicity", "age_first_conviction", "prior_offences", "ogrs_score", *NEEDS)
#: Delivery cost per enrolled person by payment segment in the demo (£): an
#: assumption for illustration, rising with complexity.
DEMO_COSTS = {"none": 450.0, "young_adults": 550.0, "women": 650.0, "complex_needs": 850.0, "unknown": 450.0}
#: Days the contract runs, for the design check that outcomes are measurable in time.
CONTRACT_DAYS = 3 * 365
# Outcome columns of the matched sample, named as the effect statements say them.
REOFFENDED = "proven reoffending"
REOFFENCES = "proven reoffences"
DAYS_TO_FIRST = "days to first proven reoffence"
#: The story's steps in order; ``run_story`` reports each as it starts.
STEPS = (
    "outcomes",
    "matched comparison",
    "payment thresholds",
    "difficulty",
    "tariffs",
    "contract simulation",
    "screens",
    "design checks",
)


@dataclass
class StoryInputs:
    """The tables a story runs on. Only ``people``, ``offences`` and ``pool`` are required.

    Attributes
    ----------
    spec : MetricSpec
    people : the programme cohort (``in_programme`` true)
    offences : offence events of the cohort (and of all eligible people, if given)
    pool : national comparison pool with ``reoffended``, ``reoffences``, ``days_to_first``
    eligible : everyone eligible for referral, with ``enrolled`` (for the creaming screen)
    services : service contacts with ``hours`` (for the parking screen)
    assessments : intermediate-outcome assessments
    history : a past cohort with 0/1 columns per price key; default: the cohort's
        own people whose outcome windows have closed
    as_of : the data's as-of date
    costs : delivery cost per person by payment segment
    truth : true effects (synthetic worlds only), shown beside the estimates
    pool_measure : how the pool's outcomes were measured (default the MoJ measure:
        offences in 365 days proven by conviction or caution within a further 182).
        The matched comparison measures the cohort the same way, whatever the
        spec pays on, because a comparison is only fair like for like.
    """

    spec: MetricSpec
    people: pd.DataFrame
    offences: pd.DataFrame
    pool: pd.DataFrame
    eligible: pd.DataFrame | None = None
    services: pd.DataFrame | None = None
    assessments: pd.DataFrame | None = None
    history: pd.DataFrame | None = None
    as_of: pd.Timestamp | None = None
    costs: Mapping[str, float] | None = None
    truth: Mapping[str, float] | None = None
    pool_measure: ReoffendingSpec = field(default_factory=ReoffendingSpec)

    @classmethod
    def from_world(cls, world: World, spec: MetricSpec, costs: Mapping[str, float] | None = None) -> StoryInputs:
        """Inputs from a synthetic world, with its true effects for comparison."""
        return cls(
            spec=spec,
            people=world.people,
            offences=world.offences,
            pool=world.pool,
            eligible=world.eligible,
            services=world.services,
            assessments=world.assessments,
            as_of=world.as_of,
            costs=DEMO_COSTS if costs is None else costs,
            truth=world.truth.effects,
        )


@dataclass
class Story:
    """Everything the story computed; ``skipped`` says which steps did not run and why."""

    inputs: StoryInputs
    outcome_rates: pd.DataFrame | None
    reoffending: Any  # measured as the pool's outcomes were, for the comparison
    matched: Any
    effects: dict[str, Any]
    dispersion: float | None
    thresholds: dict[str, Any]
    power: dict[str, Any]
    difficulty: DifficultyModel
    tariffs: dict[str, Any] | None
    simulation: Any
    screens: dict[str, Any]
    equality: Any
    findings: list[Any]
    history_counts: dict[str, int] | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    spec_reoffending: Any = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """The story in a screenful of text."""
        spec = self.inputs.spec
        lines = [f"Metric: {spec.name}"]
        if self.outcome_rates is not None:
            lines.append("Intermediate outcomes (rate, 95% CI, n measured):")
            lines += [
                f"  {r.label}: {r.rate:.1%} ({r.ci_low:.1%} to {r.ci_high:.1%}), n = {r.n:,}"
                for r in self.outcome_rates.itertuples()
            ]
        lines.append(self.reoffending.summary())
        if self.spec_reoffending is not None:
            lines.append("The spec's own measure:\n" + self.spec_reoffending.summary())
        lines += [f"Note: {note}" for note in self.notes]
        counts = self.matched.counts
        lines.append(
            f"Matched comparison: {counts.loc['matched', 'treated']:,} of {counts.loc['all', 'treated']:,} "
            f"cohort members matched 1:1 to the national pool (caliper 0.2 SD of the logit)."
        )
        for kind, eff in self.effects.items():
            truth = self._true(kind)
            lines.append(f"  {eff.statement()}" + (f" [true effect {truth:.3g}]" if truth is not None else ""))
        for kind, comparison in self.thresholds.items():
            lines.append(f"Payment rules on the {kind} measure:\n" + _indent(comparison.summary()))
        n = self.effects["binary"].n_treated
        mde = {k: p.to_dict() for k, p in self.power.items()}
        lines.append(
            f"Smallest effects detectable with 80% power at {n:,} matched cohort members: "
            f"{abs(mde['frequency']['relative']):.1%} fewer proven reoffences, "
            f"{abs(mde['binary']['effect']) * 100:.1f} points off the proven reoffending rate."
        )
        if self.tariffs is not None:
            gap = {name: m.gap for name, m in self.tariffs.margins.items()}
            lines.append(
                "Creaming gap (margin per person, easiest minus hardest segment): "
                + ", ".join(f"{k} £{v:,.0f}" for k, v in gap.items())
            )
        if self.simulation is not None:
            lines.append(self.simulation.summary())
        for name, screen in self.screens.items():
            lines.append(
                screen.summary().splitlines()[0]
                if name != "funnel"
                else f"Funnel: {len(screen.outside(0.998))} provider(s) outside the 99.8% limits."
            )
        lines.append("Design findings: " + (", ".join(f"{f.code} ({f.severity})" for f in self.findings) or "none"))
        for step, why in self.skipped.items():
            lines.append(f"Not run: {step}: {why}")
        return "\n".join(lines)

    def _true(self, kind: str) -> float | None:
        truth = self.inputs.truth or {}
        return {"binary": truth.get("reoffended_diff"), "count": truth.get("reoffences_ratio")}.get(kind)

    def to_dict(self) -> dict[str, Any]:
        """The headline numbers as plain data (what ``--json`` prints)."""
        out: dict[str, Any] = {
            "spec": self.inputs.spec.name,
            "outcome_rates": None if self.outcome_rates is None else _records(self.outcome_rates),
            "reoffending": self.reoffending.to_dict(),
            "matching": {"counts": _records(self.matched.counts.reset_index())},
            "effects": {k: e.to_dict() for k, e in self.effects.items()},
            "thresholds": {k: c.to_dict() for k, c in self.thresholds.items()},
            "power": {k: p.to_dict() for k, p in self.power.items()},
            "findings": [f.to_dict() for f in self.findings],
            "skipped": self.skipped,
            "notes": self.notes,
        }
        if self.spec_reoffending is not None:
            out["spec_reoffending"] = self.spec_reoffending.to_dict()
        if self.tariffs is not None:
            out["tariffs"] = {name: m.to_dict() for name, m in self.tariffs.margins.items()}
        if self.simulation is not None:
            out["simulation"] = self.simulation.to_dict()
        out["screens"] = {name: s.to_dict() for name, s in self.screens.items()}
        if self.equality is not None:
            out["equality"] = self.equality.to_dict()
        if self.inputs.truth is not None:
            out["truth"] = dict(self.inputs.truth)
        return out

    def report(self) -> Report:
        """The HTML report: one section per step, each figure with its n and CI."""
        return _build_report(self)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def _definition(measure: ReoffendingSpec) -> tuple:
    """What decides who counts as reoffending and how often (not the measure reported or its price)."""
    return (measure.follow_up_days, measure.waiting_days, frozenset(measure.disposals), measure.counting, measure.index)


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _covariates(*tables: pd.DataFrame) -> list[str]:
    return [c for c in COVARIATES if all(c in t.columns for t in tables)]


def _matched_sample(
    people: pd.DataFrame, proven: pd.DataFrame, pool: pd.DataFrame, covariates: list[str], follow_up_days: int
) -> pd.DataFrame:
    """Observable cohort members with their outcomes, stacked on the pool."""
    outcomes = proven.loc[proven["observable"], ["person_id", "reoffended", "reoffences", "days_to_first"]]
    cohort = people.merge(outcomes, on="person_id", how="inner")
    columns = ["person_id", *covariates, "reoffended", "reoffences", "days_to_first"]
    data = pd.concat([cohort[columns].assign(in_programme=1), pool[columns].assign(in_programme=0)], ignore_index=True)
    # Named as the effect statements will say them.
    data[REOFFENDED] = data["reoffended"].astype(float)
    data[REOFFENCES] = data["reoffences"].astype(float)
    # Time to first proven reoffence, censored at the end of the follow-up year.
    data[DAYS_TO_FIRST] = data["days_to_first"].fillna(float(follow_up_days))
    return data


def run_story(
    inputs: StoryInputs,
    *,
    seed: int = 0,
    draws: int = 2_000,
    progress: Callable[[str], None] | None = None,
) -> Story:
    """Run every step of the story on ``inputs``.

    Parameters
    ----------
    inputs : StoryInputs
        The tables and the metric spec.
    seed : int
        Seed of the contract simulation (the only random step).
    draws : int
        Monte Carlo draws of the contract simulation.
    progress : callable, optional
        Called with each step's name as it starts (for a progress bar).

    Returns
    -------
    Story
    """
    step = progress or (lambda name: None)
    spec, people, as_of = inputs.spec, inputs.people, inputs.as_of
    skipped: dict[str, str] = {}

    step("outcomes")
    outcome_rates = None
    if inputs.assessments is not None and spec.outcomes:
        outcome_rates = spec.outcome_rates(people, inputs.assessments, as_of=as_of)
    else:
        skipped["intermediate outcomes"] = "no assessments table or no outcomes in the spec"
    pool_measure = inputs.pool_measure
    reoffending = proven_reoffending(
        people,
        inputs.offences,
        index=pool_measure.index,
        follow_up_days=pool_measure.follow_up_days,
        waiting_days=pool_measure.waiting_days,
        as_of=as_of,
        disposals=pool_measure.disposals,
        counting=pool_measure.counting,
    )
    notes: list[str] = []
    spec_reoffending = None
    if spec.reoffending is not None and _definition(spec.reoffending) != _definition(pool_measure):
        spec_reoffending = spec.proven_reoffending(people, inputs.offences, as_of=as_of)
        notes.append(
            f"The spec pays on {_lower(spec.reoffending.describe())} The comparison pool's outcomes are "
            f"{_lower(pool_measure.describe())} The matched comparison therefore measures the cohort the "
            "pool's way; the spec's own measure is shown for the cohort alone."
        )

    step("matched comparison")
    covariates = _covariates(people, inputs.pool)
    data = _matched_sample(people, reoffending.per_person, inputs.pool, covariates, pool_measure.follow_up_days)
    matched = match(data, "in_programme", covariates, caliper=0.2, link="linear_logit")
    effects = {
        "binary": matched.effect(REOFFENDED, kind="binary"),
        "count": matched.effect(REOFFENCES, kind="count"),
        "time": matched.effect(DAYS_TO_FIRST, kind="time", event=REOFFENDED),
    }
    controls = data["in_programme"].to_numpy() == 0
    dispersion = negative_binomial_shape(data.loc[controls, REOFFENCES], matched.weight_array[controls])

    step("payment thresholds")
    truth = inputs.truth or {}
    thresholds = {
        "frequency": compare_rules(
            Comparison.from_effect(effects["count"], dispersion=dispersion), true_effect=truth.get("reoffences_ratio")
        ),
        "binary": compare_rules(Comparison.from_effect(effects["binary"]), true_effect=truth.get("reoffended_diff")),
    }
    n_treated = int(effects["binary"].n_treated)
    power = {
        "frequency": minimum_detectable_effect(
            "frequency", float(effects["count"].mean_control), n_treated, dispersion=dispersion
        ),
        "binary": minimum_detectable_effect("binary", float(effects["binary"].mean_control), n_treated),
    }

    step("difficulty")
    history_pool = inputs.pool.assign(reoffended=inputs.pool["reoffended"].astype(float))
    difficulty = fit_difficulty(history_pool, "reoffended", covariates)

    step("tariffs")
    tariffs, simulation, history_counts, pricing = None, None, None, None
    history = inputs.history
    if history is None and inputs.assessments is not None and spec.outcomes:
        history, history_counts = achievement_history(spec, people, inputs.assessments, as_of=as_of)
    if history is not None and spec.payment.get("prices"):
        pricing = cohort_pricing(spec, people, history)
        if inputs.costs or "cost" in history.columns:
            tariffs = compare_tariffs(spec, history, costs=inputs.costs)
        else:
            skipped["tariff comparison"] = (
                "no delivery costs: give costs by segment (--cost SEGMENT=AMOUNT) or a 'cost' column in the history"
            )
        step("contract simulation")
        structure = PaymentStructure.from_spec(spec, outcome_budget=pricing.expected_payments)
        costs = segment_costs(inputs.costs, people, pricing.segments) if inputs.costs else None
        simulation = simulate_contract(
            spec,
            people,
            Tariff.from_spec(spec),
            structure,
            draws=draws,
            seed=seed,
            probabilities=pricing.probabilities,
            segments=pricing.segments,
            costs=costs,
        )
    else:
        skipped["tariffs and contract simulation"] = "no history of achieved outcomes, or no prices in the spec"

    step("screens")
    screens: dict[str, Any] = {}
    scored_people = people.assign(difficulty=difficulty.predict(people).difficulty.to_numpy())
    has_eligible = inputs.eligible is not None and "enrolled" in inputs.eligible.columns
    if has_eligible:
        eligible = inputs.eligible.assign(difficulty=difficulty.predict(inputs.eligible).difficulty.to_numpy())
        screens["creaming"] = creaming_screen(eligible, by="provider_id")
    else:
        skipped["creaming screen"] = "no eligible table with an 'enrolled' column"
    if inputs.services is not None:
        hours = inputs.services.groupby("person_id")["hours"].sum()
        served = scored_people.assign(hours=scored_people["person_id"].map(hours).fillna(0.0).to_numpy())
        screens["parking"] = parking_screen(served, by="provider_id")
    else:
        skipped["parking screen"] = "no services table"
    observed = scored_people.merge(
        reoffending.per_person.loc[reoffending.per_person["observable"], ["person_id", "reoffended"]], on="person_id"
    )
    screens["funnel"] = funnel(
        observed.assign(reoffended=observed["reoffended"].astype(float), expected=observed["difficulty"]),
        unit="provider_id",
        outcome="reoffended",
        expected="expected",
    )

    equality_table = None
    if has_eligible:
        outcome = reoffending.per_person.set_index("person_id")
        frame = inputs.eligible.assign(
            reoffended=inputs.eligible["person_id"]
            .map(outcome["reoffended"].where(outcome["observable"]).astype(float))
            .astype(float)
        )
        # Paid: earned any outcome payment, known for people whose windows have all closed.
        paid = history_counts is not None and pricing is not None
        if paid:
            earned = history.set_index("person_id")[pricing.outcomes].max(axis=1)
            frame["paid"] = frame["person_id"].map(earned).astype(float)
        equality_table = equality(frame, enrolled="enrolled", outcome="reoffended", payment="paid" if paid else None)

    step("design checks")
    findings = check_design(
        spec,
        {"people": people, "assessments": inputs.assessments, "pool": inputs.pool, "history": history, "as_of": as_of},
        contract_days=CONTRACT_DAYS,
        costs=inputs.costs,
    )
    return Story(
        inputs=inputs,
        outcome_rates=outcome_rates,
        reoffending=reoffending,
        matched=matched,
        effects=effects,
        dispersion=dispersion,
        thresholds=thresholds,
        power=power,
        difficulty=difficulty,
        tariffs=tariffs,
        simulation=simulation,
        screens=screens,
        equality=equality_table,
        findings=findings,
        history_counts=history_counts,
        skipped=skipped,
        spec_reoffending=spec_reoffending,
        notes=notes,
    )


def _figure(plotted: Any):
    """The matplotlib Figure behind whatever a ``plot()`` returned (Axes, Figure or display object)."""
    for name in ("figure", "figure_"):
        fig = getattr(plotted, name, None)
        if fig is not None:
            return fig
    return plotted


def _effects_table(story: Story) -> pd.DataFrame:
    rows = []
    for kind, eff in story.effects.items():
        truth = story._true(kind)
        rows.append(
            {
                "measure": {
                    "binary": "proven reoffending rate (difference)",
                    "count": "proven reoffences (rate ratio)",
                    "time": "time to first reoffence (hazard ratio)",
                }[kind],
                "estimate": eff.estimate,
                "ci_low": eff.ci_low,
                "ci_high": eff.ci_high,
                "se": eff.se,
                "p_value": eff.p_value,
                "n_treated": eff.n_treated,
                "n_control": eff.n_control,
                **({"true_effect": truth} if story.inputs.truth is not None else {}),
            }
        )
    return pd.DataFrame(rows)


def _headline(story: Story) -> pd.DataFrame:
    """One row per headline figure: what, estimate, 95% CI and n."""
    rate = story.reoffending.rate()
    rows = [
        {
            "figure": "cohort proven reoffending rate",
            "estimate": rate.estimate,
            "ci_low": rate.ci_low,
            "ci_high": rate.ci_high,
            "n": rate.n,
        }
    ]
    if story.outcome_rates is not None:
        rows += [
            {"figure": f"achieved: {r.label}", "estimate": r.rate, "ci_low": r.ci_low, "ci_high": r.ci_high, "n": r.n}
            for r in story.outcome_rates.itertuples()
        ]
    names = {
        "binary": "effect on the reoffending rate (difference)",
        "count": "effect on reoffences (rate ratio)",
        "time": "effect on time to first reoffence (hazard ratio)",
    }
    rows += [
        {"figure": names[k], "estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high, "n": e.n_treated}
        for k, e in story.effects.items()
    ]
    if story.tariffs is not None:
        gap = story.tariffs.margins["spec"]
        rows.append(
            {
                "figure": "creaming gap of the spec's tariff (£ per person)",
                "estimate": gap.gap,
                "ci_low": gap.gap_ci_low,
                "ci_high": gap.gap_ci_high,
                "n": len(story.tariffs.segments),
            }
        )
    return pd.DataFrame(rows)


def _build_report(story: Story) -> Report:
    inputs, spec = story.inputs, story.inputs.spec
    as_of = f"data as of {inputs.as_of.date()}" if inputs.as_of is not None else ""
    report = Report(f"desist report: {spec.name}", as_of)

    report.add(
        "glance",
        "At a glance",
        text="The headline figures, each with its 95% CI and the number of people behind it. "
        "Details follow in the sections below.",
        table=_headline(story),
        caption="Headline figures",
        n_columns=["n"],
    )
    report.add("spec", "The metric in plain words", pre=spec.describe())

    counts = pd.DataFrame([{"step": k, "people": v} for k, v in story.reoffending.counts.items()])
    report.add(
        "counts",
        "Cohort and comparison counts",
        text="Who is measured, and who is left out and why. Counts reconcile: everyone in the cohort is "
        "either observable or excluded with a reason.",
        table=counts,
        caption="Proven reoffending: cohort and exclusions",
        n_columns=["people"],
    )
    for note in story.notes:
        report.add("counts", "", note=note)
    if story.spec_reoffending is not None:
        report.add(
            "counts",
            "",
            table=pd.DataFrame([{"step": k, "people": v} for k, v in story.spec_reoffending.counts.items()]),
            caption="The spec's own reoffending measure (cohort only)",
            n_columns=["people"],
        )
    report.add(
        "counts",
        "",
        table=story.matched.counts.reset_index(names="units"),
        caption="Matched comparison (1:1 nearest neighbour on the logit of the propensity score, "
        "caliper 0.2 SD, without replacement)",
        n_columns=["treated"],
    )
    report.add("counts", "", table=story.matched.exclusions, caption="Left out of the matched sample", n_columns=["n"])
    if story.history_counts is not None:
        report.add(
            "counts",
            "",
            table=pd.DataFrame([{"history": k, "people": v} for k, v in story.history_counts.items()]),
            caption="Pricing history (the cohort's people whose outcome windows have closed)",
            n_columns=["people"],
        )

    if story.outcome_rates is not None:
        rates = story.outcome_rates[
            ["label", "rate", "ci_low", "ci_high", "achieved", "n", "not_measurable", "not_yet_measurable"]
        ]
        report.add(
            "outcomes",
            "Intermediate outcomes",
            text="Share of people measured who achieved each outcome, with a 95% Wilson interval. People "
            "not measurable (e.g. no baseline or no assessment in the window) or whose window has not "
            "closed are counted, not dropped.",
            table=rates,
            caption="Achievement by outcome",
            n_columns=["n", "achieved"],
        )

    balance = story.matched.balance()
    flat_balance = balance.copy()
    flat_balance.columns = [f"{a}_{b}" for a, b in balance.columns]
    report.add(
        "balance",
        "Balance before and after matching",
        text="Standardised mean differences use the treated group's SD in the full sample as denominator "
        "(MatchIt's ATT definition), the same before and after matching. |SMD| under 0.1 is good.",
        table=flat_balance.reset_index(),
        caption="Balance table",
        figure=_figure(story.matched.plot_balance()),
        figure_caption="Love plot (0.1 and 0.25 lines)",
    )
    report.add(
        "overlap",
        "Overlap of propensity scores",
        figure=_figure(story.matched.plot_overlap()),
        figure_caption="Propensity score distributions before and after matching",
    )

    report.add(
        "effects",
        "Effects on reoffending",
        text="\n\n".join(e.statement() for e in story.effects.values()),
        table=_effects_table(story),
        caption="Effects on the treated (ATT) with 95% CIs"
        + ("; the true effect is known because the data are synthetic" if inputs.truth else ""),
        n_columns=["n_treated", "n_control"],
    )

    for kind, comparison in story.thresholds.items():
        rules = comparison.to_frame()
        report.add(
            "thresholds",
            "Payment thresholds",
            text="Each rule's decision on the same comparison, the chance it pays when nothing changed "
            "(false payment) and, where known, its chance of paying at the true effect.",
            pre="\n".join(f"{r.rule}: {r.description}" for r in rules.itertuples()),
            table=rules.drop(columns="description"),
            caption=f"Payment rules on the {kind} measure",
            n_columns=["n_treated"],
        )
    power = pd.DataFrame(
        [
            {
                "measure": k,
                **{c: p.to_dict()[c] for c in ("base_rate", "effect", "relative", "n_treated", "power", "alpha")},
            }
            for k, p in story.power.items()
        ]
    )
    report.add(
        "thresholds",
        "",
        table=power,
        caption="Smallest effect detectable with 80% power at this cohort size",
        n_columns=["n_treated"],
    )

    cal = story.difficulty.calibration()
    report.add(
        "difficulty",
        "Difficulty model",
        text=f"Logit of proven reoffending on baseline characteristics, fitted on the comparison pool. "
        f"{cal.summary().splitlines()[0]}",
        table=cal.to_frame().reset_index(),
        caption="Observed vs expected by decile of difficulty",
        n_columns=["n"],
        figure=_figure(cal.plot()),
        figure_caption="Calibration by decile",
    )

    if story.tariffs is not None:
        for name, tariff in story.tariffs.tariffs.items():
            margins = story.tariffs.margins[name]
            report.add(
                "tariffs",
                "Tariffs and margins by segment",
                text="The same expected budget priced four ways. The gap is the margin per person in the "
                "easiest segment minus the hardest: a positive gap is the incentive to cream.",
                table=tariff.to_frame().reset_index(),
                caption=f"Prices (£) by outcome and segment: {name}",
            )
            report.add(
                "tariffs",
                "",
                table=margins.to_frame().reset_index(),
                caption=f"Margins per person by segment: {name} (gap £{margins.gap:,.0f}, 95% CI "
                f"£{margins.gap_ci_low:,.0f} to £{margins.gap_ci_high:,.0f})",
                n_columns=["n"],
                figure=_figure(margins.plot()),
                figure_caption=f"Margins by segment: {name}",
            )

    if story.simulation is not None:
        sim = story.simulation
        report.add(
            "cashflow",
            "Contract simulation",
            text=sim.summary().splitlines()[1] if len(sim.summary().splitlines()) > 1 else "",
            table=sim.party_table().reset_index(),
            caption="Net cash and chance of a loss by party",
        )
        for party in sim.parties:
            report.add(
                "cashflow",
                "",
                figure=_figure(sim.plot(party)),
                figure_caption=f"Cumulative cash flow of the {party}: median and 50%/90% bands",
            )

    for name, screen in story.screens.items():
        title = {"creaming": "Creaming screen", "parking": "Parking screen", "funnel": "Provider funnel plot"}[name]
        n_columns = ["volume"] if name == "funnel" else ["n"]
        report.add(
            name,
            title,
            text=screen.summary().splitlines()[0],
            table=screen.to_frame(),
            caption=title,
            n_columns=n_columns,
            figure=_figure(screen.plot()),
            figure_caption=title,
        )

    if story.equality is not None:
        report.add(
            "equality",
            "Equality impact",
            text="Enrolment, outcome (proven reoffending) and payment rates by protected group with 95% "
            "CIs and the ratio to the reference group. Cells under 10 people, and any cell that would "
            "let one be worked out from a total, are suppressed by the equality table itself.",
            table=story.equality.to_frame(),
            caption="Equality impact table",
        )

    findings = pd.DataFrame([{"code": f.code, "severity": f.severity, "message": f.message} for f in story.findings])
    report.add(
        "findings",
        "Design findings",
        text="What the design checks found, errors first." if len(findings) else "No findings.",
        table=findings if len(findings) else None,
        caption="Findings",
    )
    if story.skipped:
        report.add("findings", "", note="Not run: " + "; ".join(f"{k} ({v})" for k, v in story.skipped.items()))
    return report
