"""From a spec and a table of people to what the pricing functions take.

Tariffs and simulations need each person's payment segment, their
probability of achieving each priced outcome, and the delivery cost per
person in each segment. These functions derive them from a metric spec
(segments and price keys) and plain tables, so a script, a notebook and the
command line get the same answer.

Probabilities come from, in order: a ``p_<outcome>`` column (e.g. a
prediction from ``cohorts`` difficulty models, with the assumed effect of the
service built in), or the segment's achievement rate in a history table whose
``<outcome>`` column is 1 when the outcome was achieved. Segment rates give the
same segment totals as any model with the segment in it, which is all a
tariff by segment uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ground.checks import parameter_error, rows_text
from ground.dates import DateLike
from ground.errors import SchemaError, SpecError
from metrics.power import negative_binomial_shape
from pricing.chances import DEFAULT_EFFECT, RuleChances, rule_chances
from pricing.contract import Contract
from pricing.tariff import Segments, Tariff

if TYPE_CHECKING:
    from outcomes.achievement import Achievement
    from outcomes.spec import MetricSpec

__all__ = [
    "CohortPricing",
    "SimulationInputs",
    "achievement_history",
    "cohort_pricing",
    "cohort_probabilities",
    "delivery_cost",
    "model_probabilities",
    "payment_segments",
    "priced_outcomes",
    "rules_simulation",
    "segment_costs",
    "segment_rates",
    "simulation_inputs",
]


@dataclass(frozen=True)
class CohortPricing:
    """What a tariff needs about a cohort under a spec.

    Attributes
    ----------
    outcomes : list of str
        The priced outcomes (price keys).
    segments : pandas.Series
        Each cohort member's payment segment, by position.
    rates : pandas.DataFrame
        Achievement rate of each outcome by segment in the history, with ``n``.
    probabilities : pandas.DataFrame
        People x outcomes achievement probabilities (``p_<outcome>`` columns of
        the cohort where present, else the segment's rate in the history).
    expected_payments : float
        Expected outcome payments for the cohort under the spec's own prices
        (0 when the spec has no prices).
    """

    outcomes: list[str]
    segments: pd.Series
    rates: pd.DataFrame
    probabilities: pd.DataFrame
    expected_payments: float


def cohort_pricing(spec: MetricSpec, cohort: pd.DataFrame, history: pd.DataFrame) -> CohortPricing:
    """Segments, achievement probabilities and expected payments of a cohort under a spec.

    The one chain every caller needs: payment segments of the history and the
    cohort, the history's achievement rates by segment, each cohort member's
    probabilities, and what the spec's prices would pay in expectation.

    Examples
    --------
    >>> from cohorts.synthetic import make_world
    >>> from outcomes import MetricSpec
    >>> w = make_world(seed=2, n_eligible=400, n_pool=10, as_of="2026-12-31")
    >>> spec = MetricSpec.from_toml("examples/specs/intermediate.toml")
    >>> history, _ = achievement_history(spec, w.people, w.assessments, as_of=w.as_of)
    >>> p = cohort_pricing(spec, w.people, history)
    >>> bool(p.expected_payments > 0), len(p.segments) == len(w.people)
    (True, True)
    """
    outcomes = priced_outcomes(spec)
    history_segments = payment_segments(history, spec)
    # Pricing a history on itself (a commissioner's own last year) needs its segments once.
    segments = history_segments if cohort is history else payment_segments(cohort, spec)
    rates = segment_rates(history, outcomes, history_segments)
    probabilities = cohort_probabilities(cohort, outcomes, segments, rates)
    expected = 0.0
    if (getattr(spec, "payment", {}) or {}).get("prices"):
        from pricing.tariff import Tariff

        income = Tariff.from_spec(spec).expected_income(segments, probabilities)
        expected = float(income["expected_income"].sum())
    return CohortPricing(
        outcomes=outcomes, segments=segments, rates=rates, probabilities=probabilities, expected_payments=expected
    )


def payment_segments(people: pd.DataFrame, spec: MetricSpec | None = None) -> pd.Series:
    """Each person's payment segment: the spec's primary segment, else a ``segment`` column,
    else one segment ``"all"``.

    With spec segments, ``cohorts.segments.assign`` picks the first segment by
    priority each person belongs to; people in none are ``"none"``. A spec
    without segments prices everyone alike, unless the table says otherwise.

    Examples
    --------
    >>> payment_segments(pd.DataFrame({"segment": ["a", "b"]})).tolist()
    ['a', 'b']
    >>> payment_segments(pd.DataFrame({"age": [30, 40]})).tolist()
    ['all', 'all']
    """
    spec_segments = getattr(spec, "segments", None) or {}
    if spec_segments:
        from cohorts.segments import assign, segments_from_mapping

        rules = segments_from_mapping({name: seg.to_dict() for name, seg in spec_segments.items()})
        primary = assign(people, rules).primary
        return pd.Series(primary.astype(str).to_numpy(), name="segment")
    if "segment" not in people.columns:
        return pd.Series("all", index=range(len(people)), name="segment")
    return pd.Series(people["segment"].astype(str).to_numpy(), name="segment")


def priced_outcomes(spec: MetricSpec) -> list[str]:
    """The spec's price keys: the outcomes a tariff pays for.

    Prices in ``[payment.prices]`` first; otherwise every ``price_key`` (or
    the outcome key of outcomes without one, and ``reoffending``).
    """
    prices = (getattr(spec, "payment", {}) or {}).get("prices", {})
    if prices:
        return list(prices)
    keys = [o.price_key or k for k, o in (getattr(spec, "outcomes", {}) or {}).items()]
    reoffending = getattr(spec, "reoffending", None)
    if reoffending is not None:
        keys.append(reoffending.price_key or "reoffending")
    return list(dict.fromkeys(keys))


def _achieved(table: pd.DataFrame, outcome: str) -> pd.Series:
    """A person-level achievement probability (p_<outcome>) or 0/1 flag (<outcome>) column."""
    column = f"p_{outcome}" if f"p_{outcome}" in table.columns else outcome
    values = pd.to_numeric(table[column], errors="coerce").astype(float)
    bad = np.flatnonzero(~values.between(0, 1).to_numpy())
    if bad.size:
        raise SchemaError(
            f"Column {column!r} must hold achievement flags (0/1) or probabilities in [0, 1]. "
            f"Got {rows_text(bad, table[column].iloc[bad].tolist())}.",
            table="history",
        )
    return values


def achievement_history(
    spec: MetricSpec,
    people: pd.DataFrame,
    assessments: pd.DataFrame,
    as_of: DateLike | None = None,
    judged: Mapping[str, Achievement] | None = None,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """A past cohort as a pricing history: people plus one 0/1 column per price key.

    A column is 1 when the person achieved an outcome priced under that key
    (any of them, if several share it) and 0 otherwise: an outcome that was
    not achieved, or not measurable (e.g. already settled at baseline, or no
    assessment in the window), earns no payment, which is what expected income
    needs. People with a priced outcome whose window had not closed by
    ``as_of`` are left out and counted, since their payment is not yet known.

    ``judged`` is ``spec.achievement(people, assessments, as_of=as_of)`` when the caller has it already (the
    appraisal judges the outcomes once for the rates, the tariffs and the screens); otherwise it is judged here.

    Returns
    -------
    (pandas.DataFrame, dict)
        The history (people's rows and columns kept) and the counts
        ``{"all": ..., "kept": ..., "excluded: window not closed": ...}``.

    Examples
    --------
    >>> from cohorts.synthetic import make_world
    >>> from outcomes import MetricSpec
    >>> w = make_world(seed=2, n_eligible=300, n_pool=10, as_of="2026-12-31")
    >>> spec = MetricSpec.from_toml("examples/specs/intermediate.toml")
    >>> history, counts = achievement_history(spec, w.people, w.assessments, as_of=w.as_of)
    >>> counts["kept"] == counts["all"] == len(w.people)
    True
    """
    results = judged if judged is not None else spec.achievement(people, assessments, as_of=as_of)
    history = people.reset_index(drop=True)
    open_window = np.zeros(len(history), dtype=bool)
    flags: dict[str, np.ndarray] = {}
    for key, outcome in spec.outcomes.items():
        status = results[key].per_person.set_index("person_id")["status"].reindex(history["person_id"]).to_numpy()
        price_key = outcome.price_key or key
        flags[price_key] = flags.get(price_key, np.zeros(len(history))) + (status == "achieved")
        open_window |= status == "not_yet_measurable"
    history = history.assign(**{k: np.minimum(v, 1.0) for k, v in flags.items()})[~open_window]
    counts = {
        "all": len(people),
        "kept": int((~open_window).sum()),
        "excluded: window not closed": int(open_window.sum()),
    }
    return history.reset_index(drop=True), counts


def segment_rates(history: pd.DataFrame, outcomes: list[str], segments: Segments) -> pd.DataFrame:
    """Achievement rate of each outcome in each segment (segments x outcomes), with ``n``.

    Examples
    --------
    >>> h = pd.DataFrame({"job": [1, 0, 1, 1]})
    >>> segment_rates(h, ["job"], ["a", "a", "b", "b"])["job"].tolist()
    [0.5, 1.0]
    """
    missing = [o for o in outcomes if o not in history.columns and f"p_{o}" not in history.columns]
    if missing:
        raise SchemaError(
            f"The history table needs, for each priced outcome, a column '<outcome>' (1 if achieved) or "
            f"'p_<outcome>'. Missing: {missing}. Columns found: {list(history.columns)}.",
            table="history",
        )
    labels = np.asarray(segments, dtype=object)
    frame = pd.DataFrame({o: _achieved(history, o).to_numpy() for o in outcomes})
    rates = frame.groupby(labels).mean()
    rates.insert(0, "n", frame.groupby(labels).size())
    rates.index = rates.index.astype(str)
    rates.index.name = "segment"
    return rates


def cohort_probabilities(
    cohort: pd.DataFrame, outcomes: list[str], segments: Segments, rates: pd.DataFrame | None = None
) -> pd.DataFrame:
    """People x outcomes probabilities: ``p_<outcome>`` columns, else the segment's historical rate.

    Examples
    --------
    >>> rates = pd.DataFrame({"job": [0.2, 0.6]}, index=["a", "b"])
    >>> cohort_probabilities(pd.DataFrame(index=range(2)), ["job"], ["b", "a"], rates)["job"].tolist()
    [0.6, 0.2]
    """
    labels = pd.Series(np.asarray(segments, dtype=object)).astype(str)
    out = {}
    for outcome in outcomes:
        if f"p_{outcome}" in cohort.columns:
            out[outcome] = _achieved(cohort, outcome).to_numpy()
            continue
        if rates is None or outcome not in rates.columns:
            raise SchemaError(
                f"No probability for outcome {outcome!r}: the cohort has no 'p_{outcome}' column and no history "
                "rates were given (pass a history table with the outcome achieved or not).",
                table="cohort",
            )
        unknown = sorted(set(labels.unique()) - set(rates.index))
        if unknown:
            raise SchemaError(
                f"Segments {unknown} of the cohort do not appear in the history, so their rate of {outcome!r} "
                f"is unknown. History segments: {list(rates.index)}.",
                table="cohort",
            )
        out[outcome] = rates[outcome].reindex(labels).to_numpy()
    return pd.DataFrame(out)


def model_probabilities(
    history: pd.DataFrame, cohort: pd.DataFrame, outcomes: list[str], covariates: list[str]
) -> pd.DataFrame:
    """Each person's probability of each outcome from a difficulty model fitted on the history.

    One ``cohorts.difficulty.fit_difficulty`` logit per outcome (the history's
    ``<outcome>`` column, 1 = achieved) on ``covariates``, predicted for the
    cohort. These are probabilities *without* the programme, as the history
    had it; add the assumed effect before simulating a new service.

    Raises
    ------
    SpecError
        A cohort member cannot be scored (a covariate missing), naming rows.
    """
    from cohorts.difficulty import fit_difficulty

    out = {}
    for outcome in outcomes:
        if outcome not in history.columns:
            raise SchemaError(
                f"The history needs a 0/1 column {outcome!r} to fit its difficulty model. "
                f"Columns found: {list(history.columns)}.",
                table="history",
            )
        model = fit_difficulty(history, outcome, list(covariates), success=True)
        expected = model.predict(cohort).expected.to_numpy()
        missing = np.flatnonzero(np.isnan(expected))
        if missing.size:
            raise SchemaError(
                f"The difficulty model for {outcome!r} cannot score {rows_text(missing)} of the cohort: "
                f"a covariate among {list(covariates)} is missing there.",
                table="cohort",
            )
        out[outcome] = expected
    return pd.DataFrame(out)


def segment_costs(costs: Mapping[str, float] | None, people: pd.DataFrame, segments: Segments) -> pd.Series:
    """Delivery cost per person by segment: given amounts, else the mean of a ``cost`` column.

    Examples
    --------
    >>> segment_costs(None, pd.DataFrame({"cost": [100.0, 300.0, 500.0]}), ["a", "b", "b"]).tolist()
    [100.0, 400.0]
    """
    labels = pd.Series(np.asarray(segments, dtype=object)).astype(str)
    if costs:
        series = pd.Series(dict(costs), dtype=float)
        missing = sorted(set(labels) - set(series.index))
        if missing:
            raise parameter_error(
                "costs", "segment_costs", "a cost for every segment", got=f"none for {missing} in {dict(costs)}"
            )
        return series.reindex(sorted(set(labels)))
    if "cost" not in people.columns:
        raise parameter_error(
            "costs", "segment_costs", "a cost per segment (e.g. --cost women=1500), or None with a 'cost' column "
            "(per person) in the table, to show margins", got=f"None, and columns {list(people.columns)}",
        )  # fmt: skip
    values = pd.to_numeric(people["cost"], errors="coerce")
    bad = np.flatnonzero(~(values >= 0).to_numpy())
    if bad.size:
        raise SchemaError(
            f"Column 'cost' must hold amounts >= 0. Got {rows_text(bad, people['cost'].iloc[bad].tolist())}.",
            table="people",
        )
    return values.groupby(labels.to_numpy()).mean().rename_axis("segment")


def delivery_cost(costs: pd.Series, segments: Segments) -> float:
    """The cohort's delivery cost (£): each person's segment cost (:func:`segment_costs`), summed.

    Parameters
    ----------
    costs : pandas.Series
        Delivery cost per person (£) by segment, as :func:`segment_costs` gives it (every segment has one).
    segments : sequence of labels
        Each cohort member's payment segment (one entry per person).

    Examples
    --------
    >>> delivery_cost(pd.Series({"a": 100.0, "b": 400.0}), ["a", "b", "b"])
    900.0
    """
    return float(costs.reindex(pd.Index(pd.Series(np.asarray(segments, dtype=object)).astype(str))).sum())


@dataclass(frozen=True)
class SimulationInputs:
    """Everything :func:`pricing.simulate_contract` needs besides the spec, from plain tables.

    Attributes
    ----------
    tariff : Tariff
        The prices paid per outcome.
    structure : PaymentStructure
        The spec's payment terms, valued at this cohort's expected outcome payments.
    segments : pandas.Series
        Each cohort member's payment segment.
    probabilities : pandas.DataFrame
        People x outcomes achievement probabilities.
    costs : pandas.Series or None
        Delivery cost per person by segment; ``None`` when none were given.
    """

    tariff: Any
    structure: Any
    segments: pd.Series
    probabilities: pd.DataFrame
    costs: pd.Series | None


def simulation_inputs(
    spec: MetricSpec,
    cohort: pd.DataFrame,
    *,
    history: pd.DataFrame | None = None,
    covariates: list[str] | None = None,
    tariff: Tariff | None = None,
    costs: Mapping[str, float] | None = None,
    sources: Mapping[str, str | Path | None] | None = None,
) -> SimulationInputs:
    """Assemble a contract simulation's inputs from a spec, a cohort and last year's people.

    Probabilities come from the cohort's ``p_<outcome>`` columns, else a
    difficulty model fitted on ``history`` over ``covariates``, else the
    segment rates in ``history``. Costs come from ``costs``, else a
    per-person ``cost`` column of the cohort, else of the history.

    Parameters
    ----------
    spec : outcomes.MetricSpec
    cohort : pandas.DataFrame
        The people to enrol.
    history : pandas.DataFrame, optional
        Last year's people with a 0/1 column per priced outcome.
    covariates : list of str, optional
        Baseline columns of a difficulty model fitted on ``history``.
    tariff : Tariff, optional
        Prices to use instead of the spec's own.
    costs : mapping of segment -> £, optional
    sources : mapping, optional
        ``{"cohort": path, "history": path, "tariff": path}``: files named in
        errors about each table.

    Examples
    --------
    >>> inputs = simulation_inputs(spec, cohort, history=history)                # doctest: +SKIP
    >>> simulate_contract(spec, cohort, inputs.tariff, inputs.structure,         # doctest: +SKIP
    ...                   probabilities=inputs.probabilities, segments=inputs.segments, costs=inputs.costs)
    """
    from pricing.structure import PaymentStructure
    from pricing.tariff import Tariff

    sources = dict(sources or {})

    def about(table: str) -> Any:
        from ground.errors import naming

        return naming(sources.get(table), f"--{table}")

    if tariff is None and not (getattr(spec, "payment", {}) or {}).get("prices"):
        raise SpecError(
            f"The spec '{spec.name}' has no [payment.prices] and no tariff was given: nothing is paid per outcome.",
            key="payment.prices",
        )
    tariff = tariff if tariff is not None else Tariff.from_spec(spec)
    with about("cohort"):
        segments = payment_segments(cohort, spec)
    past_segments = rates = None
    if history is not None:
        with about("history"):
            past_segments = payment_segments(history, spec)
            rates = segment_rates(history, tariff.outcomes, past_segments)
    unmodelled = [o for o in tariff.outcomes if f"p_{o}" not in cohort.columns]
    if covariates and unmodelled:
        if history is None:
            raise parameter_error(
                "covariates", "simulation_inputs", "given with a history (a difficulty model is fitted on it)",
                covariates,
            )  # fmt: skip
        # Its messages say whether the history or the cohort is at fault.
        fitted = model_probabilities(history, cohort, unmodelled, list(covariates))
        cohort = cohort.assign(**{f"p_{o}": fitted[o].to_numpy() for o in unmodelled})
    with about("cohort"):
        probabilities = cohort_probabilities(cohort, tariff.outcomes, segments, rates)
    # The spec states no expected outcome payments; this cohort's expectation completes the contract value.
    with about("tariff"):
        expected = float(tariff.expected_income(segments, probabilities)["expected_income"].sum())
    structure = PaymentStructure.from_spec(spec, outcome_budget=expected)
    segment_cost = None
    if costs or "cost" in cohort.columns:
        with about("cohort"):
            segment_cost = segment_costs(costs, cohort, segments)
    elif history is not None and past_segments is not None and "cost" in history.columns:
        with about("history"):
            segment_cost = segment_costs(None, history, past_segments)
    return SimulationInputs(
        tariff=tariff, structure=structure, segments=segments, probabilities=probabilities, costs=segment_cost
    )


def rules_simulation(
    contract: Contract, cohort: pd.DataFrame, past: pd.DataFrame | None, effect: float | None, draws: int, seed: int
) -> RuleChances:
    """The contract's rules over simulated evaluations: the cohort split evenly over tranches, rates from the history.

    The comparison rate is the mean of ``past``'s ``reoffended`` (binary rules)
    or ``reoffences`` column (frequency rules, whose negative binomial shape
    comes from the same column), else the contract's versioned baseline rate.

    Parameters
    ----------
    contract : pricing.Contract
        A contract with rules; the first rule's measure decides the column read.
    cohort : pandas.DataFrame
        The people to enrol: split evenly over the tranches (at least 2 people each).
    past : pandas.DataFrame, optional
        A history with the outcome column.
    effect : float, optional
        The true effect (a difference for binary, a rate ratio for frequency);
        default :data:`pricing.chances.DEFAULT_EFFECT`.
    draws, seed : int
        Simulated evaluations and their seed.

    Returns
    -------
    pricing.chances.RuleChances

    Examples
    --------
    >>> from pricing import scheme
    >>> contract = scheme("doncaster")
    >>> past = pd.DataFrame({"reoffended": [True, False, False, True] * 50})
    >>> chances = rules_simulation(contract, past, past, None, draws=200, seed=1)
    >>> chances.assumptions["base_rate"], chances.assumptions["n_per_tranche"]
    (0.5, 100)
    """
    measure = contract.rules[0].measure
    column = "reoffended" if measure == "binary" else "reoffences"
    if past is not None and column in past.columns:
        base = float(past[column].astype(float).mean())
        shape = negative_binomial_shape(past[column].astype(float).to_numpy()) if measure == "frequency" else None
    elif contract.baseline is not None and measure in contract.baseline.measures:
        base, shape = contract.baseline.of(measure).rate, None
    else:
        raise parameter_error(
            "past", "rules_simulation", f"a history with a {column!r} column for the comparison rate (the contract's "
            f"rules compare {measure} reoffending with a matched comparison; --history on the command line)",
            got="none" if past is None else f"a history with columns {list(past.columns)}",
        )  # fmt: skip
    n = max(len(cohort) // len(contract.tranches), 2)
    effect = DEFAULT_EFFECT[measure] if effect is None else effect
    return rule_chances(
        contract, n_per_tranche=n, base_rate=base, true_effect=effect, dispersion=shape, draws=draws, seed=seed
    )
