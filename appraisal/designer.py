"""What ``desist design`` answers for a draft contract: the CLI's checks, prices, simulation and gaming, at once.

A commissioner tries variants of a contract (a higher price for complex
needs, 80% up front, a 10% threshold) and wants, for each, what it costs,
who it pays for, who it shuts out and what it asks of the provider. The
answers come from the functions the command line calls, on data read once:

- ``desist check``: :func:`validation.design.check_contract` (the design findings, and
  the rules' chance of paying when nothing changed and their power);
- ``desist price``: :func:`pricing.comparison.compare_tariffs` (margins by
  segment, the creaming gap, the incentive-neutral prices);
- ``desist simulate``: :func:`pricing.inputs.simulation_inputs`,
  :func:`pricing.simulate.simulate_contract`, :func:`pricing.inputs.rules_simulation`
  and the readers' answers :func:`appraisal.answers.spend` and :func:`appraisal.answers.outlooks`;
- ``desist gaming``: :func:`validation.payoff.payoff_from_spec`.

:class:`DesignData` holds what does not change between edits (the history,
the cohort, the comparison pool, each person's difficulty and the outcomes
judged on the assessments); :func:`answer` runs the four on one contract and
:func:`changes` says what an edit changed and what it did.

Examples
--------
>>> history = pd.read_csv("examples/data/history.csv")
>>> data = file_data({"history": history}, "examples/data/history.csv")
>>> design = answer(Contract.from_toml("examples/specs/intermediate.toml"), data, draws=100, gaming_draws=100)
>>> design.spend.draws, sorted(design.tariffs.margins)
(100, ['by_difficulty', 'flat', 'incentive_neutral', 'spec'])
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from appraisal.answers import Outlook, Spend, outlooks, spend
from cohorts.difficulty import fit_difficulty
from cohorts.synthetic import World, make_world
from ground.checks import Interval, check_parameter, parameter_error
from ground.dates import DateLike, parse_date
from ground.errors import DesistError
from ground.findings import Finding
from ground.memo import Memo
from ground.tables import BASELINE_COVARIATES
from ground.words import count, percent, points, pounds, ratio
from metrics.power import Design, Measure, minimum_detectable_effect
from outcomes.spec import MetricSpec
from pricing.chances import DEFAULT_EFFECT, RuleChances, tranche_power
from pricing.comparison import TariffSet, compare_tariffs
from pricing.contract import Contract
from pricing.inputs import achievement_history, delivery_cost, rules_simulation, simulation_inputs
from pricing.simulate import ContractSimulation, simulate_contract
from validation.design import at_baseline, check_contract
from validation.payoff import GamingPayoff, payoff_from_spec

__all__ = [
    "COST_PER_HOUR",
    "COST_PER_PERSON",
    "DesignAnswers",
    "DesignData",
    "answer",
    "changes",
    "file_data",
    "history_from_world",
    "power_sentence",
    "synthetic_data",
    "with_difficulty",
]

#: Delivery cost of the synthetic world's history: £100 a person for assessment and administration plus £22 an hour
#: of service (assumed, for illustration; no source is claimed).
COST_PER_PERSON, COST_PER_HOUR = 100.0, 22.0
#: Contract length of the design checks (as ``desist check --contract-days 1095`` in the README).
CONTRACT_DAYS = 3 * 365
#: The world's as-of date for the designer: late enough that every outcome window of the cohort has closed.
CLOSED_AS_OF = "2026-06-30"


@dataclass(frozen=True, eq=False)
class DesignData:
    """What a design is answered on, read (or made) once.

    Attributes
    ----------
    history : pandas.DataFrame
        Last year's people: segment columns, one 0/1 column per priced outcome,
        ``cost``, ``hours``, ``reoffended``, ``reoffences`` where known, and
        ``difficulty`` (a model of ``reoffended``, fitted once).
    cohort : pandas.DataFrame
        The people the contract would enrol (the history when none is given).
    tables : mapping
        The tables ``desist check`` reads (``people``, ``pool``, ``assessments``,
        ``history``, ``as_of``, ``achievement``), those that are known.
    source : str
        Where the data came from, in words (shown on the page).
    synthetic : bool
        The data are the synthetic world's, not the user's.
    outcomes : dict
        The outcome definitions ``achievement`` was judged under.
    world : cohorts.synthetic.World, optional
        The synthetic world (for the full report).
    memo : ground.memo.Memo
        What does not change when a price or a share does, worked out once (made from the tables; not a
        parameter): the segments of the history, the cohort and the people (again only when the segments'
        rules change), the simulated contracts' random draws (priced again at each edit), the gaming payoff's
        fits and bootstrap resamples.
    """

    history: pd.DataFrame
    cohort: pd.DataFrame
    tables: Mapping[str, object]
    source: str
    synthetic: bool = False
    outcomes: dict[str, Any] = field(default_factory=dict)
    world: World | None = None
    memo: Memo = field(init=False, repr=False)

    def __post_init__(self) -> None:
        frames = [t for t in (self.history, self.cohort, *self.tables.values()) if isinstance(t, pd.DataFrame)]
        object.__setattr__(self, "memo", Memo(*frames))

    @property
    def people(self) -> int:
        """People in the cohort."""
        return len(self.cohort)


def history_from_world(spec: MetricSpec, world: World) -> pd.DataFrame:
    """Last year's enrolled cohort from a synthetic world: outcomes achieved, reoffending, hours and cost per person.

    Parameters
    ----------
    spec : outcomes.MetricSpec
        Its outcomes are judged on the world's assessments; its reoffending measure on the offences.
    world : cohorts.synthetic.World
        A world whose as-of date closes every outcome window.

    Returns
    -------
    pandas.DataFrame
        One row per enrolled person, with ``reoffended``, ``reoffences``, ``hours`` and ``cost``
        (``COST_PER_PERSON`` plus ``COST_PER_HOUR`` per hour).

    Examples
    --------
    >>> world = make_world(seed=1, n_eligible=300, n_pool=0, as_of=CLOSED_AS_OF)
    >>> h = history_from_world(MetricSpec.from_toml("examples/specs/intermediate.toml"), world)
    >>> bool((h["cost"] >= COST_PER_PERSON).all()), {"reoffended", "hours", "ete"} <= set(h.columns)
    (True, True)
    """
    history, _ = achievement_history(spec, world.people, world.assessments, as_of=world.as_of)
    # The enrolled people's offences only: the others' are not last year's cohort.
    offences = world.offences[world.offences["person_id"].isin(history["person_id"])]
    proven = spec.proven_reoffending(history, offences, as_of=world.as_of).per_person
    hours = world.services.groupby("person_id")["hours"].sum().reindex(history["person_id"], fill_value=0.0)
    return history.drop(columns=["start_date", "in_programme"]).assign(
        reoffended=proven["reoffended"].astype(int).to_numpy(),
        reoffences=proven["reoffences"].astype(int).to_numpy(),
        hours=hours.to_numpy(),
        cost=COST_PER_PERSON + COST_PER_HOUR * hours.to_numpy(),
    )


def with_difficulty(history: pd.DataFrame) -> pd.DataFrame:
    """The history with ``difficulty``: its own column, else a model of ``reoffended`` on the risk characteristics.

    Fitted once, so that every edit prices gaming on the same difficulty (``desist gaming`` fits the same model).

    Parameters
    ----------
    history : pandas.DataFrame
        Last year's people, with ``reoffended`` and the risk characteristics it has.

    Returns
    -------
    pandas.DataFrame
        The history with a ``difficulty`` column in (0, 1) (unchanged when it has one, or no ``reoffended``).

    Examples
    --------
    >>> h = with_difficulty(pd.read_csv("examples/data/history.csv"))
    >>> bool(h["difficulty"].between(0, 1).all())
    True
    """
    if "difficulty" in history.columns or "reoffended" not in history.columns:
        return history
    model = fit_difficulty(history, "reoffended", [c for c in BASELINE_COVARIATES if c in history.columns])
    return history.assign(difficulty=model.predict(history).difficulty.to_numpy())


def synthetic_data(contract: Contract | None = None, *, n_people: int = 5_000, seed: int = 0) -> DesignData:
    """A synthetic world of about ``n_people`` enrolled people, its pool four times as large, ready to design on.

    Parameters
    ----------
    contract : pricing.Contract, optional
        Its outcomes are judged (default: the intermediate-outcomes example's).
    n_people : int
        Enrolled people wanted (the world enrols about 60% of those eligible).
    seed : int
        Seed of the world.

    Returns
    -------
    DesignData
        Its ``source`` says the figures are the synthetic world's, not the programme's.

    Examples
    --------
    >>> data = synthetic_data(n_people=300, seed=1)  # doctest: +SKIP
    >>> data.synthetic, data.source.startswith("No data were given")  # doctest: +SKIP
    (True, True)
    """
    from appraisal.inputs import DEFAULT_SPEC

    check_parameter(n_people, "n_people", "synthetic_data", Interval(int, 200, 1_000_000))
    spec = (contract or Contract.from_toml(DEFAULT_SPEC)).spec
    n_eligible = math.ceil(n_people / 0.6)
    world = make_world(seed=seed, n_eligible=n_eligible, n_pool=4 * n_people, as_of=CLOSED_AS_OF)
    history = with_difficulty(history_from_world(spec, world))
    tables = {"people": world.people, "pool": world.pool, "history": history, "as_of": world.as_of}
    tables |= _judged(spec, world.people, world.assessments, world.as_of)
    source = (
        f"No data were given: every figure is from a synthetic world of {count(len(history))} enrolled people "
        f"(seed {seed}; comparison pool of {count(len(world.pool))}), not from your programme. Costs are assumed: "
        f"{pounds(COST_PER_PERSON)} a person plus {pounds(COST_PER_HOUR)} an hour of service."
    )
    return DesignData(
        history=history,
        cohort=history,
        tables=tables,
        source=source,
        synthetic=True,
        outcomes=_outcomes(spec),
        world=world,
    )


def file_data(
    tables: Mapping[str, pd.DataFrame | None],
    source: str,
    spec: MetricSpec | None = None,
    as_of: DateLike | None = None,
) -> DesignData:
    """Design data from the user's tables (``history``, and optionally ``people``, ``pool``, ``assessments``).

    The history is the cohort too unless ``cohort`` is given.

    Parameters
    ----------
    tables : mapping of str -> pandas.DataFrame
        ``history`` (required), and ``cohort``, ``people``, ``pool``, ``assessments`` when known.
    source : str
        Where they came from, in words (shown on the page).
    spec : outcomes.MetricSpec, optional
        With people, assessments and an as-of date, its outcomes are judged once here (``desist check`` judges
        them again only for an edit that changes their definitions).
    as_of : DateLike, optional
        The data's as-of date (the checks judge the outcomes at it), read by :func:`ground.dates.parse_date`.

    Returns
    -------
    DesignData

    Examples
    --------
    >>> data = file_data({"history": pd.read_csv("examples/data/history.csv")}, "history.csv")
    >>> data.people, data.synthetic, "difficulty" in data.history
    (904, False, True)
    """
    past = tables.get("history")
    if past is None:
        raise parameter_error("tables", "file_data", "a mapping with a 'history' table", got="none")
    history = with_difficulty(past)
    given: dict[str, object] = {
        k: v for k, v in tables.items() if k in ("people", "pool", "assessments") and v is not None
    }
    when = None if as_of is None else parse_date(as_of, "The 'as_of' parameter of file_data")
    if when is not None:
        given["as_of"] = when
    if spec is not None:
        given |= _judged(spec, given.get("people"), given.get("assessments"), when)
    cohort = tables.get("cohort")
    return DesignData(
        history=history,
        cohort=history if cohort is None else cohort,
        tables={**given, "history": history},
        source=source,
        outcomes=_outcomes(spec) if "achievement" in given and spec is not None else {},
    )


def _judged(spec: MetricSpec, people: Any, assessments: Any, as_of: Any) -> dict[str, Any]:
    """The outcomes judged on the assessments (and who had them at baseline), once, for every edit's check."""
    if not spec.outcomes or people is None or assessments is None or as_of is None:
        return {}
    achievement = spec.achievement(people, assessments, as_of=as_of)
    before = at_baseline(spec, people, assessments, as_of)
    return {"assessments": assessments, "achievement": achievement, "at_baseline": before}


def _outcomes(spec: MetricSpec) -> dict[str, Any]:
    return {name: outcome.to_dict() for name, outcome in spec.outcomes.items()}


@dataclass(frozen=True, eq=False)
class DesignAnswers:
    """Everything the designer shows for one contract.

    Attributes
    ----------
    contract : pricing.Contract
    findings : list of Finding
        ``desist check``'s design findings, most serious first.
    tariffs : TariffSet or None
        ``desist price``'s comparison (None without prices); ``tariffs_note`` says why not.
    payoff : GamingPayoff or None
        ``desist gaming``'s payoff of creaming and parking.
    simulation : ContractSimulation or None
        ``desist simulate``'s cash flows; ``spend`` and ``outlooks`` its readers' answers.
    chances : RuleChances or None
        The rules' chance of paying, when nothing changed and at ``effect``.
    power : dict
        For a contract with rules: ``n`` per tranche, ``base_rate``, ``effect``, ``power`` at it and the
        smallest effect detectable with 80% power (``mde``).
    effect : float or None
        The true effect the rules' chances and power are shown at (an assumption, not a term; None without rules).
    seconds : dict of str -> float
        Time each part took (wall clock).
    cpu_seconds : float
        Processor time the answer took in its thread: what it would take on an idle core.
    """

    contract: Contract
    findings: list[Finding]
    tariffs: TariffSet | None = None
    payoff: GamingPayoff | None = None
    simulation: ContractSimulation | None = None
    spend: Spend | None = None
    outlooks: dict[str, Outlook] = field(default_factory=dict)
    chances: RuleChances | None = None
    power: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    effect: float | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: float = 0.0

    def headline(self) -> dict[str, float | None]:
        """The figures :func:`changes` compares: cost, spread, creaming gap, provider margin, chances, findings."""
        spec_margins = None if self.tariffs is None else self.tariffs.margins.get("spec")
        prime = self.outlooks.get("prime")
        return {
            "cost": None if self.spend is None else self.spend.mean,
            "budget": None if self.spend is None else self.spend.budget,
            "cost_q95": None if self.spend is None else self.spend.q95,
            "creaming_gap": None if spec_margins is None else float(spec_margins.gap),
            "margin": None if prime is None else prime.margin,
            "loss_chance": None if prime is None or not prime.costs_included else prime.loss_chance,
            "working_capital": None if prime is None else prime.working_capital,
            "paid_by_chance": None if self.chances is None else self.chances.chance_of_paying("none"),
            "power": self.power.get("power"),
            "errors": float(sum(f.severity == "error" for f in self.findings)),
            "warnings": float(sum(f.severity == "warning" for f in self.findings)),
        }


#: How each headline figure is named and written by :func:`changes`.
HEADLINES = {
    "cost": ("Expected cost to the commissioner", pounds),
    "budget": ("Budget (fee plus expected outcome payments)", pounds),
    "cost_q95": ("Cost in 1 contract in 20", pounds),
    "creaming_gap": ("Creaming gap (margin per person, easiest minus hardest)", pounds),
    "margin": ("Provider's margin", pounds),
    "loss_chance": ("Provider's chance of a loss", percent),
    "working_capital": ("Provider's working capital", pounds),
    "paid_by_chance": ("Chance the rules pay when nothing changed", percent),
    "power": ("Chance a tranche is paid at the stated effect", percent),
    "errors": ("Findings that must be fixed", lambda v: count(int(v))),
    "warnings": ("Findings worth fixing", lambda v: count(int(v))),
}


#: The assumed effect as :func:`changes` names it.
EFFECT_WORDS = "Assumed true effect the rules are shown at (not a term)"


def _timed(seconds: dict[str, float], name: str, started: float) -> float:
    now = time.perf_counter()
    seconds[name] = now - started
    return now


def answer(
    contract: Contract,
    data: DesignData,
    *,
    draws: int = 500,
    gaming_draws: int = 200,
    effect: float | None = None,
    seed: int = 0,
) -> DesignAnswers:
    """Answer a draft contract as ``desist check``, ``price``, ``simulate`` and ``gaming`` would on ``data``.

    Parameters
    ----------
    contract : pricing.Contract
        The draft, validated as the file would be (``Contract.from_mapping``).
    data : DesignData
    draws : int
        Simulated contracts (``desist simulate --draws``) and simulated evaluations of the rules.
    gaming_draws : int
        Bootstrap resamples of the gaming payoff's intervals (``desist gaming --draws``).
    effect : float, optional
        The rules' true effect (a difference for binary, a rate ratio for frequency); default a 5-point
        fall or a 10% fall, as ``desist check``.
    seed : int

    Returns
    -------
    DesignAnswers

    Examples
    --------
    See the module's example: a contract answered on last year's people.
    """
    from threadpoolctl import threadpool_limits

    check_parameter(draws, "draws", "answer", Interval(int, 10, 1_000_000))
    check_parameter(gaming_draws, "gaming_draws", "answer", Interval(int, 100, 1_000_000))
    # One BLAS thread: the products here are matrix-vector, which threads slow down on a shared machine
    # (the gaming bootstrap took 2.1 s with two threads and 0.65 s with one, at 5,000 people).
    with threadpool_limits(limits=1, user_api="blas"), data.memo.active():
        return _answer(contract, data, draws, gaming_draws, effect, seed)


def _answer(
    contract: Contract, data: DesignData, draws: int, gaming_draws: int, effect: float | None, seed: int
) -> DesignAnswers:
    spec = contract.spec
    seconds: dict[str, float] = {}
    notes: dict[str, str] = {}
    started, cpu = time.perf_counter(), time.thread_time()
    tables = dict(data.tables)
    if data.outcomes and _outcomes(spec) != data.outcomes:
        # The outcomes were judged under other definitions: the check judges them again.
        tables.pop("achievement", None)
        tables.pop("at_baseline", None)
    findings = check_contract(contract, tables, contract_days=CONTRACT_DAYS, expected_effect=effect)
    started = _timed(seconds, "check", started)
    tariffs = payoff = sim = chances = None
    outlook: dict[str, Outlook] = {}
    if contract.prices:
        tariffs = compare_tariffs(spec, data.history)
        started = _timed(seconds, "price", started)
        payoff, _ = payoff_from_spec(
            spec, data.history, difficulty="difficulty" if "difficulty" in data.history else None,
            draws=gaming_draws, seed=seed,
        )  # fmt: skip
        started = _timed(seconds, "gaming", started)
        inputs = simulation_inputs(spec, data.cohort, history=data.history)
        sim = simulate_contract(
            spec, data.cohort, inputs.tariff, inputs.structure, draws=draws, seed=seed,
            probabilities=inputs.probabilities, segments=inputs.segments, costs=inputs.costs,
        )  # fmt: skip
        cost = None if inputs.costs is None else delivery_cost(inputs.costs, inputs.segments)
        outlook = outlooks(sim, cost)
        started = _timed(seconds, "simulate", started)
    else:
        notes["tariffs"] = "The contract pays by rules on reoffending, not per outcome: there is no tariff to price."
    power: dict[str, Any] = {}
    if contract.rules:
        try:
            chances = rules_simulation(contract, data.cohort, data.history, effect, draws, seed)
            power = _power(contract, chances)
        except DesistError as exc:
            notes["rules"] = str(exc)
        _timed(seconds, "rules", started)
    return DesignAnswers(
        contract=contract,
        findings=findings,
        tariffs=tariffs,
        payoff=payoff,
        simulation=sim,
        spend=None if sim is None else spend(sim),
        outlooks=outlook,
        chances=chances,
        power=power,
        notes=notes,
        effect=_stated_effect(contract, effect),
        seconds=seconds,
        cpu_seconds=time.thread_time() - cpu,
    )


def _stated_effect(contract: Contract, effect: float | None) -> float | None:
    """The effect the rules are shown at: the one stated, else ``desist check``'s default for the first rule."""
    if not contract.rules:
        return None
    return float(DEFAULT_EFFECT[contract.rules[0].measure] if effect is None else effect)


def _power(contract: Contract, chances: RuleChances) -> dict[str, Any]:
    """Power of the first tranche rule at the stated effect, and the smallest effect detectable with 80% power."""
    a = chances.assumptions
    rule = next((r for r in contract.rules if r.type == "tranche"), contract.rules[0])
    n, base, k = int(a["n_per_tranche"]), float(a["base_rate"]), a["dispersion"]
    effect = float(a["true_effect"])
    out: dict[str, Any] = {"rule": rule.name, "measure": rule.measure, "n": n, "base_rate": base, "effect": effect}
    if rule.type == "tranche":
        out["power"] = tranche_power(contract, rule, n_per_tranche=n, base_rate=base, true_effect=effect, dispersion=k)
    try:
        measure: Measure = "binary" if rule.measure == "binary" else "frequency"
        mde = minimum_detectable_effect(Design(measure, base, dispersion=k), n)
        out["mde"] = float(mde.relative if rule.measure == "frequency" else mde.effect)
    except DesistError as exc:
        out["mde_note"] = str(exc)
    return out


def power_sentence(power: Mapping[str, Any]) -> str:
    """The rules' power and the smallest effect they would see, in words.

    Parameters
    ----------
    power : mapping
        :attr:`DesignAnswers.power`: ``rule``, ``measure``, ``n``, ``effect`` and, when known, ``power`` and ``mde``.

    Returns
    -------
    str

    Examples
    --------
    >>> power_sentence({"rule": "target", "measure": "binary", "n": 1200, "effect": -0.05, "power": 0.5, "mde": -0.04})
    "With 1,200 people per tranche, rule 'target' pays a tranche 50% of the time at a true effect of -5.0 points; \
the smallest effect detectable with 80% power is 4.0 points."
    """
    binary = power["measure"] == "binary"
    effect = points(power["effect"]) if binary else f"a rate ratio of {ratio(power['effect'])}"
    words = [f"With {count(power['n'])} people per tranche"]
    if "power" in power:
        words.append(
            f", rule {power['rule']!r} pays a tranche {percent(power['power'], 0)} of the time at a true effect of "
            f"{effect}"
        )
    if "mde" in power:
        smallest = points(abs(power["mde"])) if binary else f"{percent(abs(power['mde']), 0)} fewer reoffences"
        words.append(f"; the smallest effect detectable with 80% power is {smallest}")
    return "".join(words) + "."


def changes(before: DesignAnswers, after: DesignAnswers) -> list[dict[str, str]]:
    """What an edit changed in the contract and what it did to the answers, one row per difference.

    Parameters
    ----------
    before, after : DesignAnswers
        The loaded design and the edited one.

    Returns
    -------
    list of dict
        Rows ``{"what", "before", "after", "kind"}``: ``kind`` is ``"term"`` for a changed key of the contract,
        ``"assumption"`` for a changed true effect the rules are shown at (not a term: it is never saved), and
        ``"answer"`` for a changed headline figure (a figure equal to 1e-9 of its scale is unchanged).

    Examples
    --------
    >>> c = Contract.from_toml("examples/specs/intermediate.toml")
    >>> d = Contract.from_mapping({**c.to_dict(), "payment": {**c.to_dict()["payment"], "service_fee": 500000}})
    >>> changes(DesignAnswers(c, []), DesignAnswers(d, []))[0]["what"]
    'payment.service_fee'
    """
    rows = [
        {"what": key, "before": _shown(old), "after": _shown(new), "kind": "term"}
        for key, (old, new) in _differences(before.contract.to_dict(), after.contract.to_dict()).items()
    ]
    if _differences(before.effect, after.effect):
        rows.append(
            {"what": EFFECT_WORDS, "before": _shown(before.effect), "after": _shown(after.effect), "kind": "assumption"}
        )
    old_figures, new_figures = before.headline(), after.headline()
    for key, (label, written) in HEADLINES.items():
        old, new = old_figures[key], new_figures[key]
        if old is None and new is None:
            continue
        scale = max(abs(old or 0.0), abs(new or 0.0), 1.0)
        if old is not None and new is not None and abs(old - new) <= 1e-9 * scale:
            continue
        rows.append(
            {
                "what": label,
                "before": "–" if old is None else written(old),
                "after": "–" if new is None else written(new),
                "kind": "answer",
            }
        )
    return rows


def _differences(old: Any, new: Any, prefix: str = "") -> dict[str, tuple[Any, Any]]:
    """Keys whose values differ between two nested mappings, by dotted path."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out: dict[str, tuple[Any, Any]] = {}
        for key in dict.fromkeys([*old, *new]):
            out |= _differences(old.get(key), new.get(key), f"{prefix}{key}" if not prefix else f"{prefix}.{key}")
        return out
    same = old == new or (_number(old) and _number(new) and np.isclose(float(old), float(new), rtol=1e-12, atol=0))
    return {} if same else {prefix: (old, new)}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _shown(value: Any) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} = {_shown(v)}" for k, v in value.items())
    return f"{value:g}" if isinstance(value, float) else str(value)
