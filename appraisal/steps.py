"""The appraisal's steps: outcomes, matched comparison, sensitivity, payment rules, contract life, difficulty,
tariffs, contract simulation, screens, measurement screens, settlement and design checks.

:func:`appraise` is what ``desist demo`` runs on the synthetic world and what
``desist report`` runs on files. Each step uses the library's public
functions, so a reader gets the same numbers a script would.

Each step is one function registered with :func:`step`, run in the order
registered: it reads ``appraisal.inputs`` and what earlier steps found, and
returns a new :class:`~appraisal.result.Appraisal` with its own fields set
(or with ``skip(step, why)`` saying why it could not run). Adding a step is
adding one such function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TypeVar

import pandas as pd

from appraisal import answers
from appraisal.inputs import AppraisalInputs
from appraisal.result import CALIPER, Appraisal, RunOptions
from cohorts.difficulty import fit_difficulty
from ground.errors import ParameterError
from ground.memo import Memo, remembered
from ground.tables import BASELINE_COVARIATES
from metrics.matching import match
from metrics.power import Design, minimum_detectable_effect, negative_binomial_shape
from metrics.sensitivity import e_value, rosenbaum_bounds
from metrics.thresholds import Contrast, compare_rules, default_rules
from outcomes.reoffending import proven_reoffending
from outcomes.spec import ReoffendingSpec
from pricing.chances import DEFAULT_EFFECT, rule_chances
from pricing.comparison import compare_tariffs
from pricing.contract import ContractRule, MatchedPool
from pricing.inputs import achievement_history, cohort_pricing, delivery_cost, segment_costs
from pricing.settlement import settle
from pricing.settlement_data import missing_tables
from pricing.simulate import simulate_contract
from pricing.structure import PaymentStructure
from pricing.tariff import Tariff
from validation.design import check_design
from validation.equality_impact import EqualityTable, equality
from validation.funnels import Funnel, funnel
from validation.gaming import creaming_screen, parking_screen
from validation.providers import compare_providers
from validation.screening import measurement_tables
from validation.screens import Screen

__all__ = ["STEPS", "Step", "StepFunction", "appraise", "step"]

T = TypeVar("T")
#: Days the contract runs, for the design check that outcomes are measurable in time.
CONTRACT_DAYS = 3 * 365
# Outcome columns of the matched sample, named as the effect statements say them.
REOFFENDED = "proven reoffending"
REOFFENCES = "proven reoffences"
DAYS_TO_FIRST = "days to first proven reoffence"


#: A step: takes the appraisal so far and the run's options, returns the appraisal with its own fields set.
StepFunction = Callable[[Appraisal, RunOptions], Appraisal]


@dataclass(frozen=True)
class Step:
    """One step of the appraisal: its name (shown as progress) and the function that runs it."""

    name: str
    run: StepFunction


_STEPS: list[Step] = []


def step(name: str) -> Callable[[StepFunction], StepFunction]:
    """Register the decorated function as the appraisal's next step, called with ``(appraisal, options)``.

    The function returns the appraisal with its own fields set (``dataclasses.replace``).

    Parameters
    ----------
    name : str
        The step's name, shown as progress (and in :data:`STEPS` for the library's own steps).

    Returns
    -------
    callable
        The decorator: it registers the function and returns it unchanged.

    Examples
    --------
    >>> @step("a note")
    ... def _note(a, options):
    ...     return a.note(f"Appraised with seed {options.seed}.")
    >>> from appraisal.steps import _STEPS
    >>> _STEPS[-1].name, _STEPS[-1].run is _note
    ('a note', True)
    >>> del _STEPS[-1]  # the example's step leaves the appraisal as it was
    """

    def register(run: StepFunction) -> StepFunction:
        _STEPS.append(Step(name, run))
        return run

    return register


def _definition(measure: ReoffendingSpec) -> tuple:
    """What decides who counts as reoffending and how often (not the measure reported or its price)."""
    return (measure.follow_up_days, measure.waiting_days, frozenset(measure.disposals), measure.counting, measure.index)


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _covariates(*tables: pd.DataFrame) -> tuple[str, ...]:
    return tuple(c for c in BASELINE_COVARIATES if all(c in t.columns for t in tables))


def _matched_sample(
    people: pd.DataFrame,
    proven: pd.DataFrame,
    pool: pd.DataFrame,
    covariates: tuple[str, ...],
    follow_up_days: int,
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


def _required(value: T | None, what: str) -> T:
    """An earlier step's result, which every appraisal has by the time a later step runs."""
    if value is None:
        raise RuntimeError(f"the appraisal's {what} step has not run")  # pragma: no cover - the steps run in order
    return value


@step("outcomes")
def _outcomes(a: Appraisal, options: RunOptions) -> Appraisal:
    """Intermediate outcome rates, and proven reoffending measured as the pool's outcomes were."""
    inputs, spec = a.inputs, a.inputs.spec
    if inputs.assessments is not None and spec.outcomes:
        # Judged once: the rates, the measurement screens and the design checks read the same results.
        achievements = spec.achievement(inputs.people, inputs.assessments, as_of=inputs.as_of)
        a = replace(a, achievements=MappingProxyType(achievements), outcome_rates=spec.rates(achievements))
    else:
        a = a.skip("intermediate outcomes", "no assessments table or no outcomes in the spec")
    pool = inputs.pool_measure
    a = replace(
        a,
        reoffending=proven_reoffending(
            inputs.people,
            inputs.offences,
            index=pool.index,
            follow_up_days=pool.follow_up_days,
            waiting_days=pool.waiting_days,
            as_of=inputs.as_of,
            disposals=pool.disposals,
            counting=pool.counting,
        ),
    )
    if spec.reoffending is None or _definition(spec.reoffending) == _definition(pool):
        return a
    return replace(
        a, spec_reoffending=spec.proven_reoffending(inputs.people, inputs.offences, as_of=inputs.as_of)
    ).note(
        f"The spec pays on {_lower(spec.reoffending.describe())} The comparison pool's outcomes are "
        f"{_lower(pool.describe())} The matched comparison therefore measures the cohort the "
        "pool's way; the spec's own measure is shown for the cohort alone."
    )


@step("matched comparison")
def _matched_comparison(a: Appraisal, options: RunOptions) -> Appraisal:
    """1:1 nearest-neighbour match on the propensity logit; effects on rate, frequency and time."""
    inputs = a.inputs
    covariates = _covariates(inputs.people, inputs.pool)
    proven = _required(a.reoffending, "outcomes").per_person
    data = _matched_sample(inputs.people, proven, inputs.pool, covariates, inputs.pool_measure.follow_up_days)
    matched = match(data, "in_programme", list(covariates), caliper=options.caliper, link="linear_logit")
    controls = data["in_programme"].to_numpy() == 0
    return replace(
        a,
        covariates=covariates,
        matched=matched,
        effects=MappingProxyType(
            {
                "binary": matched.effect(REOFFENDED, kind="binary"),
                "count": matched.effect(REOFFENCES, kind="count"),
                "time": matched.effect(DAYS_TO_FIRST, kind="time", event=REOFFENDED),
            }
        ),
        dispersion=negative_binomial_shape(data.loc[controls, REOFFENCES], matched.weight_array[controls]),
    )


@step("sensitivity")
def _sensitivity(a: Appraisal, options: RunOptions) -> Appraisal:
    """How strong hidden bias would have to be to explain each verdict away (Rosenbaum's Gamma, E-values)."""
    matched, effects, verdicts = _required(a.matched, "matched comparison"), a.effects, a.verdicts()
    measures = (("binary", "binary", REOFFENDED), ("frequency", "count", REOFFENCES))
    return replace(
        a,
        sensitivity=answers.sensitivity(
            {
                measure: (rosenbaum_bounds(matched, outcome), e_value(effects[kind]), verdicts[measure])
                for measure, kind, outcome in measures
            }
        ),
    )


@step("payment thresholds")
def _payment_thresholds(a: Appraisal, options: RunOptions) -> Appraisal:
    """Payment rules on the same comparison, and the smallest effects this cohort could detect."""
    effects, dispersion = a.effects, a.dispersion
    n_treated = int(effects["binary"].n_treated)
    thresholds = {
        "frequency": compare_rules(
            Contrast.from_effect(effects["count"], dispersion=dispersion), true_effect=a.true_effect("count")
        ),
        "binary": compare_rules(Contrast.from_effect(effects["binary"]), true_effect=a.true_effect("binary")),
    }
    power = {
        "frequency": minimum_detectable_effect(
            Design("frequency", float(effects["count"].mean_control), dispersion=dispersion), n_treated
        ),
        "binary": minimum_detectable_effect(Design("binary", float(effects["binary"].mean_control)), n_treated),
    }
    return replace(a, thresholds=MappingProxyType(thresholds), power=MappingProxyType(power))


@step("contract life")
def _contract_life(a: Appraisal, options: RunOptions) -> Appraisal:
    """How often the payment rules pay over the contract's whole life, when nothing changed (``rule_chances``).

    The contract's own rules; without any, the rules the payment-rules section judges at one assessment
    (:func:`metrics.thresholds.default_rules`: Doncaster on the rate, Peterborough on the frequency), applied to
    each of its tranches against a 1:1 matched comparison, each paying £1 when met: a chance, not money.
    """
    contract, effects = a.inputs.contract, a.effects
    if contract is None or not contract.tranches:
        return a.skip("contract life", "no contract with tranches")
    if not contract.rules:
        rules = tuple(
            ContractRule(r.name, "tranche", m, "matched", r.at_least, r.scale, "estimate" if r.alpha is None else
                         "lower_bound", r.alpha or 0.05, amount=1.0)
            for m in ("binary", "frequency") for r in default_rules(m)[:1]
        )  # fmt: skip
        contract = replace(contract, rules=rules, matched=MatchedPool(ratio=1, caliper=options.caliper))
    truth = {"binary": a.true_effect("binary"), "frequency": a.true_effect("count")}
    effect = {m: DEFAULT_EFFECT[m] if (t := truth.get(m)) is None else t for m in contract.measures}
    try:
        chances = rule_chances(
            contract,
            n_per_tranche=max(int(effects["binary"].n_treated) // len(contract.tranches), 2),
            base_rate={"binary": effects["binary"].mean_control, "frequency": effects["count"].mean_control},
            true_effect=effect,
            dispersion=a.dispersion,
            draws=options.draws,
            seed=options.seed,
        )
    except ParameterError as exc:
        return a.skip("contract life", str(exc))
    return replace(a, chances=chances)


@step("difficulty")
def _difficulty(a: Appraisal, options: RunOptions) -> Appraisal:
    """How likely each person is to reoffend without the programme, modelled on the pool."""
    pool = a.inputs.pool
    model = fit_difficulty(pool.assign(reoffended=pool["reoffended"].astype(float)), "reoffended", list(a.covariates))
    return replace(a, difficulty=model)


@step("tariffs")
def _tariffs(a: Appraisal, options: RunOptions) -> Appraisal:
    """The pricing history, and the spec's tariff against flat, by-difficulty and incentive-neutral ones."""
    inputs, spec = a.inputs, a.inputs.spec
    history, counts = inputs.history, None
    if history is None and inputs.assessments is not None and spec.outcomes:
        history, counts = achievement_history(
            spec, inputs.people, inputs.assessments, as_of=inputs.as_of, judged=a.achievements or None
        )
    a = replace(a, history=history, history_counts=None if counts is None else MappingProxyType(counts))
    if history is None or not spec.payment.get("prices"):
        return a.skip("tariffs and contract simulation", "no history of achieved outcomes, or no prices in the spec")
    a = replace(a, pricing=cohort_pricing(spec, inputs.people, history))
    if inputs.costs or "cost" in history.columns:
        return replace(a, tariffs=compare_tariffs(spec, history, costs=inputs.costs))
    return a.skip(
        "tariff comparison",
        "no delivery costs: give costs by segment (--cost SEGMENT=AMOUNT) or a 'cost' column in the history",
    )


@step("contract simulation")
def _contract_simulation(a: Appraisal, options: RunOptions) -> Appraisal:
    """Monte Carlo cash flows of the spec's contract for every party."""
    pricing, inputs, spec = a.pricing, a.inputs, a.inputs.spec
    if pricing is None:
        return a
    structure = PaymentStructure.from_spec(spec, outcome_budget=pricing.expected_payments)
    costs = segment_costs(inputs.costs, inputs.people, pricing.segments) if inputs.costs else None
    delivery = None if costs is None else delivery_cost(costs, pricing.segments)
    simulation = simulate_contract(
        spec,
        inputs.people,
        Tariff.from_spec(spec),
        structure,
        draws=options.draws,
        seed=options.seed,
        probabilities=pricing.probabilities,
        segments=pricing.segments,
        costs=costs,
    )
    return replace(a, structure=structure, delivery_cost=delivery, simulation=simulation)


def _scored(a: Appraisal, people: pd.DataFrame) -> pd.DataFrame:
    """``people`` with each one's difficulty (their modelled chance of reoffending without the programme).

    The screens and the measurement screens both score the people: :func:`appraise`'s memo gives the second
    the first's answer (the model is the appraisal's one difficulty model, ``a.difficulty``).
    """
    model = _required(a.difficulty, "difficulty")
    return remembered(
        ("difficulty scores", id(model), id(people)),
        lambda: people.assign(difficulty=model.predict(people).difficulty.to_numpy()),
        held=people,
    )


@step("screens")
def _screens(a: Appraisal, options: RunOptions) -> Appraisal:
    """Creaming, parking and funnel screens, the provider comparison and the equality impact table."""
    inputs = a.inputs
    scored = _scored(a, inputs.people)
    screens: dict[str, Screen | Funnel] = {}
    eligible = inputs.eligible if inputs.eligible is not None and "enrolled" in inputs.eligible.columns else None
    if eligible is not None:
        screens["creaming"] = creaming_screen(_scored(a, eligible), by="provider_id")
    else:
        a = a.skip("creaming screen", "no eligible table with an 'enrolled' column")
    if inputs.services is not None:
        hours = inputs.services.groupby("person_id")["hours"].sum()
        served = scored.assign(hours=scored["person_id"].map(hours).fillna(0.0).to_numpy())
        screens["parking"] = parking_screen(served, by="provider_id")
    else:
        a = a.skip("parking screen", "no services table")
    per_person = _required(a.reoffending, "outcomes").per_person
    observed = scored.merge(per_person.loc[per_person["observable"], ["person_id", "reoffended"]], on="person_id")
    observed = observed.assign(reoffended=observed["reoffended"].astype(float), expected=observed["difficulty"])
    screens["funnel"] = funnel(observed, unit="provider_id", outcome="reoffended", expected="expected")
    served = observed[observed["provider_id"].notna()]
    providers = (
        compare_providers(served, unit="provider_id", outcome="reoffended", expected="expected", seed=options.seed)
        if len(served)
        else None
    )
    a = replace(a, screens=MappingProxyType(screens), providers=providers)
    return a if eligible is None else replace(a, equality=_equality(a, eligible))


def _equality(a: Appraisal, eligible: pd.DataFrame) -> EqualityTable:
    """Enrolment, reoffending and (once known) payment rates by protected group."""
    outcome = _required(a.reoffending, "outcomes").per_person.set_index("person_id")
    frame = eligible.assign(
        reoffended=eligible["person_id"]
        .map(outcome["reoffended"].where(outcome["observable"]).astype(float))
        .astype(float)
    )
    # Paid: earned any outcome payment, known for people whose windows have all closed.
    history, pricing, paid = a.history, a.pricing, None
    if a.history_counts is not None and history is not None and pricing is not None:
        earned = history.set_index("person_id")[pricing.outcomes].max(axis=1)
        frame["paid"] = frame["person_id"].map(earned).astype(float)
        paid = "paid"
    return equality(frame, enrolled="enrolled", outcome="reoffended", payment=paid)


@step("measurement screens")
def _measurement(a: Appraisal, options: RunOptions) -> Appraisal:
    """How each provider measured the spec's outcomes, against what its case-mix predicts."""
    if not a.achievements:
        return a.skip("measurement screens", "no assessments table or no outcomes in the spec")
    scored = _scored(a, a.inputs.people)
    screens = measurement_tables(
        a.inputs.spec, scored, None, difficulty="difficulty", by="provider_id", judged=dict(a.achievements)
    )
    return replace(a, measurement=screens)


@step("settlement")
def _settlement(a: Appraisal, options: RunOptions) -> Appraisal:
    """What the contract pays under its own terms on the as-of date (``pricing.settle``)."""
    inputs = a.inputs
    contract = inputs.contract
    if contract is None or not contract.tranches or inputs.as_of is None:
        return a.skip("settlement", "no contract with tranches, or no as-of date")
    given = {"people": inputs.people, "offences": inputs.offences, "assessments": inputs.assessments}
    tables = {k: v for k, v in given.items() if v is not None}
    missing = missing_tables(contract, tables)
    if missing:
        return a.skip("settlement", f"the contract settles on tables not given: {', '.join(missing)}")
    settled = settle(contract, tables, as_of=inputs.as_of)
    return replace(a, settlement=settled)


@step("design checks")
def _design_checks(a: Appraisal, options: RunOptions) -> Appraisal:
    """The design checks' findings on the spec and the data."""
    inputs = a.inputs
    tables = {
        "people": inputs.people,
        "assessments": inputs.assessments,
        "pool": inputs.pool,
        "history": a.history,
        "as_of": inputs.as_of,
        "achievement": dict(a.achievements) or None,
    }
    findings = check_design(inputs.spec, tables, contract_days=CONTRACT_DAYS, costs=inputs.costs)
    return replace(a, findings=tuple(findings))


#: The appraisal's steps in order; :func:`appraise` reports each as it starts.
STEPS = tuple(s.name for s in _STEPS)


def appraise(
    inputs: AppraisalInputs,
    *,
    seed: int = 0,
    draws: int = 2_000,
    progress: Callable[[str], None] | None = None,
    caliper: float = CALIPER,
) -> Appraisal:
    """Run every step of the appraisal on ``inputs``.

    Parameters
    ----------
    inputs : AppraisalInputs
        The tables and the metric spec.
    seed : int
        Seed of the random steps (the contract simulation, the provider comparison).
    draws : int
        Monte Carlo draws of the contract simulation.
    progress : callable, optional
        Called with each step's name as it starts (for a progress bar).
    caliper : float
        Widest match allowed, in standard deviations of the propensity
        logit: 0.2 by default, Austin's (2011) recommendation.

    Returns
    -------
    Appraisal

    Examples
    --------
    >>> from appraisal import DEFAULT_SPEC
    >>> from cohorts.synthetic import make_world
    >>> from outcomes import MetricSpec
    >>> w = make_world(seed=1, n_eligible=400, n_pool=4_000)
    >>> a = appraise(AppraisalInputs.from_world(w, MetricSpec.from_toml(DEFAULT_SPEC)), draws=200)
    >>> bool(a.matched.counts.loc["matched", "treated"] > 0), a.options.caliper, a.skipped["settlement"]
    (True, 0.2, 'no contract with tranches, or no as-of date')
    """
    from threadpoolctl import threadpool_limits

    result = Appraisal(inputs=inputs, options=RunOptions(seed=seed, draws=draws, caliper=caliper))
    # The input tables do not change while the steps run: what several steps work out from them (the people's
    # difficulty, their segments) is worked out once. One BLAS thread, as the contract designer's: the steps'
    # products are matrix-vector or small, and a second thread spun for them cost the demo 1.2 CPU seconds
    # (of 10.7) on a busy machine, for no time saved.
    frames = [t for t in vars(inputs).values() if isinstance(t, pd.DataFrame)]
    with threadpool_limits(limits=1, user_api="blas"), Memo(*frames).active():
        for each in _STEPS:
            if progress is not None:
                progress(each.name)
            result = each.run(result, result.options)
    return result
