"""The whole story on one set of tables: outcomes, matched comparison,
thresholds, difficulty, tariffs, contract simulation, screens and findings.

``run_story`` is what ``desist demo`` runs on the synthetic world and what
``desist report`` runs on files; ``Story.report(journey)`` turns the results
into the HTML report for an evaluator, a commissioner or a provider. Each step
uses the library's public functions, so the report shows the same numbers a
script would get.

Each step is one function registered with :func:`step`, run in the order
registered; it reads ``story.inputs`` and what earlier steps left on the
story, and sets its own fields (or says in ``story.skipped`` why it could
not). Adding a step is adding one such function.

Examples
--------
>>> from cohorts.synthetic import make_world
>>> from outcomes import MetricSpec
>>> w = make_world(seed=1, n_eligible=400, n_pool=4_000)
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
from cohorts.synthetic import World
from desist import answers
from desist.format import count, p_value, percent, pounds, ratio
from desist.tables import SEVERITY_WORDS
from ground.findings import by_severity
from ground.tables import BASELINE_COVARIATES
from metrics import match
from metrics.power import minimum_detectable_effect, negative_binomial_shape
from metrics.sensitivity import e_value, rosenbaum_bounds
from metrics.thresholds import Comparison, compare_rules
from outcomes import MetricSpec, proven_reoffending
from outcomes.spec import ReoffendingSpec
from pricing import PaymentStructure, Tariff, simulate_contract
from pricing.comparison import compare_tariffs
from pricing.inputs import achievement_history, cohort_pricing, segment_costs
from pricing.settlement import settle
from validation.design import check_design
from validation.equality_impact import equality
from validation.funnels import funnel
from validation.gaming import creaming_screen, parking_screen
from validation.providers import compare_providers
from validation.screening import measurement_tables

#: The intermediate-outcomes spec shipped with the package (family ties,
#: self-esteem, accommodation, ETE, substance misuse; binary and frequency
#: reoffending reported alongside).
DEFAULT_SPEC = Path(str(files("desist").joinpath("specs", "intermediate.toml")))
#: Baseline covariates used for the propensity and difficulty models when the
#: tables have them: static risk, history and needs.
COVARIATES = BASELINE_COVARIATES
#: Delivery cost per enrolled person by payment segment in the demo (£): an
#: assumption for illustration, rising with complexity.
DEMO_COSTS = {"none": 450.0, "young_adults": 550.0, "women": 650.0, "complex_needs": 850.0, "unknown": 450.0}
#: Days the contract runs, for the design check that outcomes are measurable in time.
CONTRACT_DAYS = 3 * 365
# Outcome columns of the matched sample, named as the effect statements say them.
REOFFENDED = "proven reoffending"
REOFFENCES = "proven reoffences"
DAYS_TO_FIRST = "days to first proven reoffence"
#: The readers a report can answer: "evaluation" (did the programme change
#: reoffending?), "contract" (what would the contract pay, and is it sound?),
#: "provider" (what would the provider earn, and could it lose?).
JOURNEYS = ("evaluation", "contract", "provider")
#: Scales of the effects, as a reader needs them beside each number.
EFFECT_SCALES = {
    "binary": "difference in the proven reoffending rate, percentage points",
    "count": "rate ratio of proven reoffences (1 = no change)",
    "time": "hazard ratio of a first proven reoffence (1 = no change)",
}


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
    contract : the contract the spec belongs to (``pricing.Contract``); with
        tranches and an as-of date the story settles it (``pricing.settle``)
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
    contract: Any = None

    @classmethod
    def from_world(cls, world: World, spec: MetricSpec | Any, costs: Mapping[str, float] | None = None) -> StoryInputs:
        """Inputs from a synthetic world, with its true effects for comparison.

        ``spec`` is a metric spec, or a ``pricing.Contract`` (then its spec,
        and the contract is settled on the world).
        """
        contract = spec if hasattr(spec, "tranches") else None
        return cls(
            spec=spec.spec if contract is not None else spec,
            contract=contract,
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
    """Everything the story computed; ``skipped`` says which steps did not run and why.

    Steps fill the fields in order (see :data:`STEPS`): among them
    ``sensitivity`` (how strong hidden bias would have to be,
    :func:`desist.answers.sensitivity`), ``settlement`` (what the contract
    pays under its terms, ``pricing.settle``), ``measurement`` (the
    measurement screens, ``validation.measurement_screens``) and
    ``providers`` (the provider comparison, ``validation.compare_providers``).
    """

    inputs: StoryInputs
    outcome_rates: pd.DataFrame | None = None
    achievements: dict[str, Any] = field(default_factory=dict)
    reoffending: Any = None  # measured as the pool's outcomes were, for the comparison
    spec_reoffending: Any = None
    covariates: list[str] = field(default_factory=list)
    matched: Any = None
    effects: dict[str, Any] = field(default_factory=dict)
    dispersion: float | None = None
    thresholds: dict[str, Any] = field(default_factory=dict)
    power: dict[str, Any] = field(default_factory=dict)
    difficulty: DifficultyModel | None = None
    history: pd.DataFrame | None = None
    history_counts: dict[str, int] | None = None
    pricing: Any = None
    tariffs: Any = None
    structure: Any = None
    simulation: Any = None
    delivery_cost: float | None = None
    screens: dict[str, Any] = field(default_factory=dict)
    equality: Any = None
    findings: list[Any] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    sensitivity: Any = None
    settlement: Any = None
    measurement: Any = None
    providers: Any = None

    def true_effect(self, kind: str) -> float | None:
        """The effect the synthetic world was built with, on the scale of ``effects[kind]``."""
        truth = self.inputs.truth or {}
        return {"binary": truth.get("reoffended_diff"), "count": truth.get("reoffences_ratio")}.get(kind)

    def verdicts(self) -> dict[str, answers.Verdict]:
        """The evaluator's answer on the rate and on the frequency of reoffending."""
        days = self.inputs.pool_measure.follow_up_days
        return {
            measure: answers.verdict(self.effects[kind], days)
            for measure, kind in (("binary", "binary"), ("frequency", "count"))
            if kind in self.effects
        }

    def spend(self) -> answers.Spend | None:
        """The commissioner's spend against the budget (None without a contract simulation)."""
        return None if self.simulation is None else answers.spend(self.simulation)

    def outlooks(self) -> dict[str, answers.Outlook]:
        """Each provider's income, margin and chance of a loss (empty without a contract simulation)."""
        if self.simulation is None:
            return {}
        providers = self.simulation.providers
        # Delivery costs are the prime's when it works alone; shared costs are not split here.
        cost = self.delivery_cost if len(providers) == 1 else None
        return {p: answers.outlook(self.simulation, p, cost) for p in providers}

    def summary(self) -> str:
        """The story in a screenful of text, numbers written for people."""
        return "\n".join(line for part in _SUMMARY for line in part(self))

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
            "answers": self.answers(),
        }
        if self.spec_reoffending is not None:
            out["spec_reoffending"] = self.spec_reoffending.to_dict()
        if self.tariffs is not None:
            out["tariffs"] = {name: m.to_dict() for name, m in self.tariffs.margins.items()}
        if self.simulation is not None:
            out["simulation"] = self.simulation.to_dict()
        out["screens"] = {name: s.to_dict() for name, s in self.screens.items()}
        for name in ("sensitivity", "settlement", "measurement", "providers"):
            result = getattr(self, name)
            if result is not None:
                out[name] = result.to_dict()
        if self.equality is not None:
            out["equality"] = self.equality.to_dict()
        if self.inputs.truth is not None:
            out["truth"] = dict(self.inputs.truth)
        return out

    def answers(self) -> dict[str, Any]:
        """Each reader's answer as numbers: the verdicts, the spend against budget, the providers' outlooks."""
        spend = self.spend()
        return {
            "evaluation": {k: v.to_dict() for k, v in self.verdicts().items()},
            "contract": None if spend is None else spend.to_dict(),
            "provider": {k: v.to_dict() for k, v in self.outlooks().items()},
        }

    def report(self, journey: str = "evaluation") -> Any:
        """The HTML report for one reader: ``"evaluation"``, ``"contract"`` or ``"provider"``.

        The first screen answers that reader's question; the evidence and the
        technical annex follow (see :mod:`desist.sections`).
        """
        from desist.sections import build_report

        return build_report(self, journey)

    def reports(self, journeys: tuple[str, ...] = JOURNEYS) -> dict[str, Any]:
        """The report for each journey, drawing each chart once for all of them."""
        from desist.sections import build_report

        rendered: dict = {}
        return {journey: build_report(self, journey, rendered=rendered) for journey in journeys}


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


@dataclass(frozen=True)
class Step:
    """One step of the story: its name (shown as progress) and the function that runs it."""

    name: str
    run: Callable[[Story, RunOptions], None]


@dataclass(frozen=True)
class RunOptions:
    """Settings of a run that steps may read."""

    seed: int = 0
    draws: int = 2_000


_STEPS: list[Step] = []


def step(name: str) -> Callable:
    """Register the decorated function as the story's next step, called with ``(story, options)``."""

    def register(run: Callable[[Story, RunOptions], None]) -> Callable[[Story, RunOptions], None]:
        _STEPS.append(Step(name, run))
        return run

    return register


@step("outcomes")
def _outcomes(story: Story, options: RunOptions) -> None:
    """Intermediate outcome rates, and proven reoffending measured as the pool's outcomes were."""
    inputs, spec = story.inputs, story.inputs.spec
    if inputs.assessments is not None and spec.outcomes:
        # Judged once: the rates, the measurement screens and the design checks read the same results.
        story.achievements = spec.achievement(inputs.people, inputs.assessments, as_of=inputs.as_of)
        story.outcome_rates = spec.rates(story.achievements)
    else:
        story.skipped["intermediate outcomes"] = "no assessments table or no outcomes in the spec"
    pool = inputs.pool_measure
    story.reoffending = proven_reoffending(
        inputs.people,
        inputs.offences,
        index=pool.index,
        follow_up_days=pool.follow_up_days,
        waiting_days=pool.waiting_days,
        as_of=inputs.as_of,
        disposals=pool.disposals,
        counting=pool.counting,
    )
    if spec.reoffending is not None and _definition(spec.reoffending) != _definition(pool):
        story.spec_reoffending = spec.proven_reoffending(inputs.people, inputs.offences, as_of=inputs.as_of)
        story.notes.append(
            f"The spec pays on {_lower(spec.reoffending.describe())} The comparison pool's outcomes are "
            f"{_lower(pool.describe())} The matched comparison therefore measures the cohort the "
            "pool's way; the spec's own measure is shown for the cohort alone."
        )


@step("matched comparison")
def _matched_comparison(story: Story, options: RunOptions) -> None:
    """1:1 nearest-neighbour match on the propensity logit; effects on rate, frequency and time."""
    inputs = story.inputs
    story.covariates = _covariates(inputs.people, inputs.pool)
    data = _matched_sample(
        inputs.people, story.reoffending.per_person, inputs.pool, story.covariates, inputs.pool_measure.follow_up_days
    )
    story.matched = matched = match(data, "in_programme", story.covariates, caliper=0.2, link="linear_logit")
    story.effects = {
        "binary": matched.effect(REOFFENDED, kind="binary"),
        "count": matched.effect(REOFFENCES, kind="count"),
        "time": matched.effect(DAYS_TO_FIRST, kind="time", event=REOFFENDED),
    }
    controls = data["in_programme"].to_numpy() == 0
    story.dispersion = negative_binomial_shape(data.loc[controls, REOFFENCES], matched.weight_array[controls])


@step("sensitivity")
def _sensitivity(story: Story, options: RunOptions) -> None:
    """How strong hidden bias would have to be to explain each verdict away (Rosenbaum's Gamma, E-values)."""
    matched, effects = story.matched, story.effects
    measures = (("binary", "binary", REOFFENDED), ("frequency", "count", REOFFENCES))
    story.sensitivity = answers.sensitivity(
        {
            measure: (rosenbaum_bounds(matched, outcome), e_value(effects[kind]), story.verdicts()[measure])
            for measure, kind, outcome in measures
        }
    )


@step("payment thresholds")
def _payment_thresholds(story: Story, options: RunOptions) -> None:
    """Payment rules on the same comparison, and the smallest effects this cohort could detect."""
    effects, dispersion = story.effects, story.dispersion
    story.thresholds = {
        "frequency": compare_rules(
            Comparison.from_effect(effects["count"], dispersion=dispersion), true_effect=story.true_effect("count")
        ),
        "binary": compare_rules(Comparison.from_effect(effects["binary"]), true_effect=story.true_effect("binary")),
    }
    n_treated = int(effects["binary"].n_treated)
    story.power = {
        "frequency": minimum_detectable_effect(
            "frequency", float(effects["count"].mean_control), n_treated, dispersion=dispersion
        ),
        "binary": minimum_detectable_effect("binary", float(effects["binary"].mean_control), n_treated),
    }


@step("difficulty")
def _difficulty(story: Story, options: RunOptions) -> None:
    """How likely each person is to reoffend without the programme, modelled on the pool."""
    pool = story.inputs.pool
    story.difficulty = fit_difficulty(
        pool.assign(reoffended=pool["reoffended"].astype(float)), "reoffended", story.covariates
    )


@step("tariffs")
def _tariffs(story: Story, options: RunOptions) -> None:
    """The pricing history, and the spec's tariff against flat, by-difficulty and incentive-neutral ones."""
    inputs, spec = story.inputs, story.inputs.spec
    story.history = inputs.history
    if story.history is None and inputs.assessments is not None and spec.outcomes:
        story.history, story.history_counts = achievement_history(
            spec, inputs.people, inputs.assessments, as_of=inputs.as_of
        )
    if story.history is None or not spec.payment.get("prices"):
        story.skipped["tariffs and contract simulation"] = "no history of achieved outcomes, or no prices in the spec"
        return
    story.pricing = cohort_pricing(spec, inputs.people, story.history)
    if inputs.costs or "cost" in story.history.columns:
        story.tariffs = compare_tariffs(spec, story.history, costs=inputs.costs)
    else:
        story.skipped["tariff comparison"] = (
            "no delivery costs: give costs by segment (--cost SEGMENT=AMOUNT) or a 'cost' column in the history"
        )


@step("contract simulation")
def _contract_simulation(story: Story, options: RunOptions) -> None:
    """Monte Carlo cash flows of the spec's contract for every party."""
    pricing, inputs, spec = story.pricing, story.inputs, story.inputs.spec
    if pricing is None:
        return
    story.structure = PaymentStructure.from_spec(spec, outcome_budget=pricing.expected_payments)
    costs = segment_costs(inputs.costs, inputs.people, pricing.segments) if inputs.costs else None
    if costs is not None:
        story.delivery_cost = float(costs.reindex(pd.Index(pricing.segments.astype(str))).sum())
    story.simulation = simulate_contract(
        spec,
        inputs.people,
        Tariff.from_spec(spec),
        story.structure,
        draws=options.draws,
        seed=options.seed,
        probabilities=pricing.probabilities,
        segments=pricing.segments,
        costs=costs,
    )


@step("screens")
def _screens(story: Story, options: RunOptions) -> None:
    """Creaming, parking and funnel screens, and the equality impact table."""
    inputs = story.inputs
    scored = inputs.people.assign(difficulty=story.difficulty.predict(inputs.people).difficulty.to_numpy())
    eligible = inputs.eligible is not None and "enrolled" in inputs.eligible.columns
    if eligible:
        ranked = inputs.eligible.assign(difficulty=story.difficulty.predict(inputs.eligible).difficulty.to_numpy())
        story.screens["creaming"] = creaming_screen(ranked, by="provider_id")
    else:
        story.skipped["creaming screen"] = "no eligible table with an 'enrolled' column"
    if inputs.services is not None:
        hours = inputs.services.groupby("person_id")["hours"].sum()
        served = scored.assign(hours=scored["person_id"].map(hours).fillna(0.0).to_numpy())
        story.screens["parking"] = parking_screen(served, by="provider_id")
    else:
        story.skipped["parking screen"] = "no services table"
    per_person = story.reoffending.per_person
    observed = scored.merge(per_person.loc[per_person["observable"], ["person_id", "reoffended"]], on="person_id")
    story.screens["funnel"] = funnel(
        observed.assign(reoffended=observed["reoffended"].astype(float), expected=observed["difficulty"]),
        unit="provider_id",
        outcome="reoffended",
        expected="expected",
    )
    served = observed[observed["provider_id"].notna()]
    if len(served):
        story.providers = compare_providers(
            served.assign(reoffended=served["reoffended"].astype(float), expected=served["difficulty"]),
            unit="provider_id",
            outcome="reoffended",
            expected="expected",
            seed=options.seed,
        )
    if eligible:
        story.equality = _equality(story)


@step("measurement screens")
def _measurement(story: Story, options: RunOptions) -> None:
    """How each provider measured the spec's outcomes, against what its case-mix predicts."""
    if not story.achievements:
        story.skipped["measurement screens"] = "no assessments table or no outcomes in the spec"
        return
    people = story.inputs.people
    scored = people.assign(difficulty=story.difficulty.predict(people).difficulty.to_numpy())
    story.measurement = measurement_tables(
        story.inputs.spec, scored, None, difficulty="difficulty", by="provider_id", judged=story.achievements
    )


@step("settlement")
def _settlement(story: Story, options: RunOptions) -> None:
    """What the contract pays under its own terms on the as-of date (``pricing.settle``)."""
    inputs = story.inputs
    contract = inputs.contract
    if contract is None or not contract.tranches or inputs.as_of is None:
        story.skipped["settlement"] = "no contract with tranches, or no as-of date"
        return
    tables = {"people": inputs.people, "offences": inputs.offences, "assessments": inputs.assessments}
    story.settlement = settle(contract, {k: v for k, v in tables.items() if v is not None}, as_of=inputs.as_of)


def _equality(story: Story) -> Any:
    """Enrolment, reoffending and (once known) payment rates by protected group."""
    inputs = story.inputs
    outcome = story.reoffending.per_person.set_index("person_id")
    frame = inputs.eligible.assign(
        reoffended=inputs.eligible["person_id"]
        .map(outcome["reoffended"].where(outcome["observable"]).astype(float))
        .astype(float)
    )
    # Paid: earned any outcome payment, known for people whose windows have all closed.
    paid = story.history_counts is not None and story.pricing is not None
    if paid:
        earned = story.history.set_index("person_id")[story.pricing.outcomes].max(axis=1)
        frame["paid"] = frame["person_id"].map(earned).astype(float)
    return equality(frame, enrolled="enrolled", outcome="reoffended", payment="paid" if paid else None)


@step("design checks")
def _design_checks(story: Story, options: RunOptions) -> None:
    """The design checks' findings on the spec and the data."""
    inputs = story.inputs
    tables = {
        "people": inputs.people,
        "assessments": inputs.assessments,
        "pool": inputs.pool,
        "history": story.history,
        "as_of": inputs.as_of,
        "achievement": story.achievements or None,
    }
    story.findings = check_design(inputs.spec, tables, contract_days=CONTRACT_DAYS, costs=inputs.costs)


#: The story's steps in order; ``run_story`` reports each as it starts.
STEPS = tuple(s.name for s in _STEPS)


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
    story = Story(inputs=inputs)
    options = RunOptions(seed=seed, draws=draws)
    for each in _STEPS:
        if progress is not None:
            progress(each.name)
        each.run(story, options)
    return story


def _indent(lines: list[str]) -> list[str]:
    return ["  " + line for line in lines]


def _summary_outcomes(story: Story) -> list[str]:
    lines = [f"Metric: {story.inputs.spec.name}"]
    if story.outcome_rates is not None:
        lines.append("Intermediate outcomes (share achieved, 95% CI, people measured):")
        lines += _indent(
            [
                f"{r.label}: {percent(r.rate)} ({percent(r.ci_low)} to {percent(r.ci_high)}), n = {count(r.n)}"
                for r in story.outcome_rates.itertuples()
            ]
        )
    lines.append(story.reoffending.summary())
    if story.spec_reoffending is not None:
        lines.append("The spec's own measure:\n" + story.spec_reoffending.summary())
    lines += [f"Note: {note}" for note in story.notes]
    return lines


def _summary_effects(story: Story) -> list[str]:
    counts = story.matched.counts
    lines = [
        f"Matched comparison: {count(counts.loc['matched', 'treated'])} of {count(counts.loc['all', 'treated'])} "
        "cohort members matched 1:1 to the national pool (caliper 0.2 SD of the logit)."
    ]
    for verdict in story.verdicts().values():
        lines.append(f"{verdict.sentence()} {verdict.per_100()}")
    for kind, eff in story.effects.items():
        truth = story.true_effect(kind)
        known = "" if truth is None else f" [true effect {_effect_value(kind, truth)}, {EFFECT_SCALES[kind]}]"
        lines.append(f"  {eff.statement()}{known}")
    return lines


def _effect_value(kind: str, value: float) -> str:
    return f"{value * 100:+.1f} points" if kind == "binary" else ratio(value)


def _summary_payment(story: Story) -> list[str]:
    words = {"frequency": "the frequency of proven reoffences", "binary": "the proven reoffending rate"}
    lines = ["Payment rules (chance each pays when nothing changed):"]
    for kind, comparison in story.thresholds.items():
        for r in comparison.results:
            decision = "pays" if r.met else "does not pay"
            lines.append(
                f"  {r.rule} on {words[kind]}: {decision}; pays {percent(r.false_payment)} of the time when nothing "
                f"changed"
                + ("" if r.payment_probability is None else f", {percent(r.payment_probability)} at the true effect")
            )
    mde = {k: p.to_dict() for k, p in story.power.items()}
    lines.append(
        f"Smallest effects detectable with 80% power at {count(story.effects['binary'].n_treated)} matched cohort "
        f"members: {percent(abs(mde['frequency']['relative']))} fewer proven reoffences, "
        f"{abs(mde['binary']['effect']) * 100:.1f} points off the proven reoffending rate."
    )
    return lines


def _summary_contract(story: Story) -> list[str]:
    lines = []
    if story.tariffs is not None:
        gap = ", ".join(f"{name.replace('_', ' ')} {pounds(m.gap)}" for name, m in story.tariffs.margins.items())
        lines.append(f"Creaming gap (margin per person, easiest minus hardest segment): {gap}")
    spend = story.spend()
    if spend is not None:
        lines += ["Contract simulation:", *_indent([spend.sentence(), spend.risk()])]
        lines += _indent([o.sentence() for o in story.outlooks().values()])
    return lines


def screen_sentences(story: Story) -> list[str]:
    """Each screen's verdict in one sentence (the funnel: who is outside its 99.8% limits).

    Examples
    --------
    >>> screen_sentences(story)  # doctest: +SKIP
    ['Creaming screen: not flagged (p = 0.41).', 'Funnel: 0 provider(s) outside the 99.8% limits.']
    """
    lines = []
    for name, screen in story.screens.items():
        if name == "funnel":
            outside = screen.outside(0.998)
            lines.append(
                f"Funnel: {len(outside)} provider(s) outside the 99.8% limits{': ' if outside else ''}"
                f"{', '.join(outside)}."
            )
        else:
            verdict = "flagged" if screen.flagged else "not flagged"
            lines.append(f"{name.capitalize()} screen: {verdict} (p = {p_value(screen.p_value)}).")
    return lines


def _summary_findings(story: Story) -> list[str]:
    lines = ["Design findings:" if story.findings else "Design findings: none."]
    lines += _indent([f"{SEVERITY_WORDS[f.severity]}: {f.message}" for f in by_severity(story.findings)])
    lines += [f"Not run: {step}: {why}" for step, why in story.skipped.items()]
    return lines


_SUMMARY = (
    _summary_outcomes,
    _summary_effects,
    _summary_payment,
    _summary_contract,
    screen_sentences,
    _summary_findings,
)
