"""What an appraisal found: :class:`Appraisal`, every step's result and each reader's answer.

The result is immutable: each step of :func:`appraisal.appraise` returns a
new :class:`Appraisal` with its own fields set. ``verdicts()``, ``spend()``
and ``outlooks()`` are the three readers' answers (:mod:`appraisal.answers`);
``summary()`` says the whole appraisal in a screenful of text and
``to_dict()`` gives its numbers as plain data (what ``desist report --json``
prints and ``story.json`` holds).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import MappingProxyType
from typing import Any

import pandas as pd

from appraisal import answers
from appraisal.inputs import AppraisalInputs
from cohorts.difficulty import DifficultyModel
from ground.findings import Finding, by_severity
from ground.words import SEVERITY_WORDS, count, p_phrase, percent, plural, pounds, ratio
from metrics.effects import Effect
from metrics.matching import MatchedComparison
from metrics.power import PowerResult
from metrics.thresholds import RuleResults
from outcomes.achievement import Achievement
from outcomes.rates import Proportion
from outcomes.reoffending import ProvenReoffending
from pricing.chances import RuleChances
from pricing.comparison import TariffSet
from pricing.inputs import CohortPricing
from pricing.settlement import Settlement
from pricing.simulate import ContractSimulation
from pricing.structure import PaymentStructure
from validation.equality_impact import EqualityTable
from validation.funnels import Funnel, limit_label
from validation.measurement import MeasurementScreens
from validation.providers import ProviderEstimates
from validation.screens import Screen

__all__ = ["CALIPER", "EFFECT_SCALES", "READERS", "Appraisal", "RunOptions", "funnel_words", "screen_sentences"]

#: The readers an appraisal answers, in the report's default order: the "commissioner" (what to pay, and
#: whether to sign), the "provider" (what it would earn, and could it lose) and the "evaluator" (did the
#: programme change reoffending?).
READERS = ("commissioner", "provider", "evaluator")
#: Scales of the effects, as a reader needs them beside each number.
EFFECT_SCALES = {
    "binary": "difference in the proven reoffending rate, percentage points",
    "count": "rate ratio of proven reoffences (1 = no change)",
    "time": "hazard ratio of a first proven reoffence (1 = no change)",
}
#: The matched comparison's caliper, in standard deviations of the propensity score's logit: Austin's
#: recommendation for estimating differences in means and proportions (Austin PC, "Optimal caliper widths for
#: propensity-score matching when estimating differences in means and differences in proportions in
#: observational studies", Pharmaceutical Statistics 10(2), 2011, pp. 150-161).
CALIPER = 0.2


def _empty() -> Mapping[str, Any]:
    """A mapping no one can change: results are read, never edited in place."""
    return MappingProxyType({})


@dataclass(frozen=True)
class RunOptions:
    """Settings of an appraisal that steps read.

    Attributes
    ----------
    seed : int
        Seed of the random steps (the contract simulation, the provider comparison).
    draws : int
        Monte Carlo draws of the contract simulation.
    caliper : float
        Widest match allowed, in standard deviations of the propensity logit
        (default :data:`CALIPER`, 0.2).
    """

    seed: int = 0
    draws: int = 2_000
    caliper: float = CALIPER


@dataclass(frozen=True, eq=False)
class Appraisal:
    """Everything an appraisal computed; ``skipped`` says which steps did not run and why.

    Steps fill the fields in order (``appraisal.STEPS``). A field a step did
    not reach is None (or empty); the three readers' answers come from
    :meth:`verdicts`, :meth:`spend` and :meth:`outlooks`.

    Attributes
    ----------
    inputs : AppraisalInputs
    options : RunOptions
    outcome_rates : pandas.DataFrame or None
        Share of people measured who achieved each intermediate outcome (``MetricSpec.rates``).
    achievements : mapping of str -> outcomes.Achievement
        Each outcome judged once per person.
    reoffending : outcomes.ProvenReoffending or None
        Proven reoffending measured as the pool's outcomes were, for the comparison.
    spec_reoffending : outcomes.ProvenReoffending or None
        The spec's own measure, when it differs from the pool's.
    covariates : tuple of str
        Baseline covariates of the propensity and difficulty models.
    matched : metrics.MatchedComparison or None
    effects : mapping of str -> metrics.Effect
        ``"binary"``, ``"count"`` and ``"time"``.
    dispersion : float or None
        Negative binomial shape of the matched controls' reoffences.
    thresholds : mapping of str -> metrics.RuleResults
        Payment rules on ``"frequency"`` and ``"binary"``.
    power : mapping of str -> metrics.PowerResult
        Smallest detectable effects on ``"frequency"`` and ``"binary"``.
    chances : pricing.RuleChances or None
        How often the payment rules pay over the contract's whole life (``pricing.rule_chances``).
    difficulty : cohorts.DifficultyModel or None
    history, history_counts : pandas.DataFrame and mapping of str -> int, or None
        The pricing history and who it kept.
    pricing : pricing.inputs.CohortPricing or None
    tariffs : pricing.TariffSet or None
    structure : pricing.PaymentStructure or None
    simulation : pricing.ContractSimulation or None
    delivery_cost : float or None
        The cohort's delivery cost (£), when costs were given.
    screens : mapping of str -> validation Screen or Funnel
        ``"creaming"``, ``"parking"`` and ``"funnel"``.
    equality : validation.EqualityTable or None
    findings : tuple of ground.Finding
        The design checks' findings.
    skipped : mapping of str -> str
        Steps not run, with the reason.
    notes : tuple of str
    sensitivity : appraisal.answers.Sensitivity or None
        How strong hidden bias would have to be (:func:`appraisal.answers.sensitivity`).
    settlement : pricing.Settlement or None
        What the contract pays under its terms (``pricing.settle``).
    measurement : validation.MeasurementScreens or None
        The measurement screens.
    providers : validation.ProviderEstimates or None
        The provider comparison (``validation.compare_providers``).
    """

    inputs: AppraisalInputs
    options: RunOptions = field(default_factory=RunOptions)
    outcome_rates: pd.DataFrame | None = None
    achievements: Mapping[str, Achievement] = field(default_factory=_empty)
    reoffending: ProvenReoffending | None = None
    spec_reoffending: ProvenReoffending | None = None
    covariates: tuple[str, ...] = ()
    matched: MatchedComparison | None = None
    effects: Mapping[str, Effect] = field(default_factory=_empty)
    dispersion: float | None = None
    thresholds: Mapping[str, RuleResults] = field(default_factory=_empty)
    power: Mapping[str, PowerResult] = field(default_factory=_empty)
    chances: RuleChances | None = None
    difficulty: DifficultyModel | None = None
    history: pd.DataFrame | None = None
    history_counts: Mapping[str, int] | None = None
    pricing: CohortPricing | None = None
    tariffs: TariffSet | None = None
    structure: PaymentStructure | None = None
    simulation: ContractSimulation | None = None
    delivery_cost: float | None = None
    screens: Mapping[str, Screen | Funnel] = field(default_factory=_empty)
    equality: EqualityTable | None = None
    findings: tuple[Finding, ...] = ()
    skipped: Mapping[str, str] = field(default_factory=_empty)
    notes: tuple[str, ...] = ()
    sensitivity: answers.Sensitivity | None = None
    settlement: Settlement | None = None
    measurement: MeasurementScreens | None = None
    providers: ProviderEstimates | None = None

    def skip(self, step: str, why: str) -> Appraisal:
        """This appraisal with ``step`` recorded as not run, and why."""
        return replace(self, skipped=MappingProxyType({**self.skipped, step: why}))

    def note(self, text: str) -> Appraisal:
        """This appraisal with one more note for its reader."""
        return replace(self, notes=(*self.notes, text))

    def true_effect(self, kind: str) -> float | None:
        """The effect the synthetic world was built with, on the scale of ``effects[kind]``."""
        truth = self.inputs.truth or {}
        return {"binary": truth.get("reoffended_diff"), "count": truth.get("reoffences_ratio")}.get(kind)

    def balance(self) -> pd.DataFrame:
        """The matched comparison's balance table (``MatchedComparison.balance()``, :mod:`metrics.matching`),
        worked out once per appraisal (the report and the terminal read it five times); a copy, so no reader changes
        another's.

        Examples
        --------
        >>> appraisal.balance().equals(appraisal.matched.balance())  # doctest: +SKIP
        True
        """
        return self._balance.copy()

    @cached_property
    def _balance(self) -> pd.DataFrame:
        if self.matched is None:
            raise ValueError("The appraisal made no matched comparison, so it has no balance table.")
        return self.matched.balance()

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
        return {} if self.simulation is None else answers.outlooks(self.simulation, self.delivery_cost)

    def life_chance(self) -> Proportion | None:
        """The chance anything is paid over the contract's life when nothing changed: lives paid of those simulated,
        with its 95% Wilson interval (None when the contract's life was not simulated)."""
        if self.chances is None:
            return None
        paid = self.chances.paid["none"]
        return Proportion.of(int(paid.sum()), len(paid))

    def answers(self) -> dict[str, Any]:
        """Each reader's answer as numbers: the verdicts, the spend against budget, the providers' outlooks."""
        spend = self.spend()
        return {
            "evaluation": {k: v.to_dict() for k, v in self.verdicts().items()},
            "contract": None if spend is None else spend.to_dict(),
            "provider": {k: v.to_dict() for k, v in self.outlooks().items()},
        }

    def summary(self) -> str:
        """The appraisal in a screenful of text, numbers written for people."""
        return "\n".join(line for part in _SUMMARY for line in part(self))

    def to_dict(self) -> dict[str, Any]:
        """The headline numbers as plain data (what ``--json`` prints)."""
        out: dict[str, Any] = {
            "spec": self.inputs.spec.name,
            "outcome_rates": None if self.outcome_rates is None else _records(self.outcome_rates),
            "reoffending": None if self.reoffending is None else self.reoffending.to_dict(),
            "matching": None if self.matched is None else {"counts": _records(self.matched.counts.reset_index())},
            "effects": {k: e.to_dict() for k, e in self.effects.items()},
            "thresholds": {k: c.to_dict() for k, c in self.thresholds.items()},
            "power": {k: p.to_dict() for k, p in self.power.items()},
            "findings": [f.to_dict() for f in self.findings],
            "skipped": dict(self.skipped),
            "notes": list(self.notes),
            "answers": self.answers(),
        }
        if self.spec_reoffending is not None:
            out["spec_reoffending"] = self.spec_reoffending.to_dict()
        if self.tariffs is not None:
            out["tariffs"] = {name: m.to_dict() for name, m in self.tariffs.margins.items()}
        if self.simulation is not None:
            out["simulation"] = self.simulation.to_dict()
        out["screens"] = {name: s.to_dict() for name, s in self.screens.items()}
        for name, result in (
            ("sensitivity", self.sensitivity),
            ("chances", self.chances),
            ("settlement", self.settlement),
            ("measurement", self.measurement),
            ("providers", self.providers),
        ):
            if result is not None:
                out[name] = result.to_dict()
        life = self.life_chance()
        if life is not None:
            out["chances"]["paid_when_nothing_changed"] = life.to_dict()
        if self.equality is not None:
            out["equality"] = self.equality.to_dict()
        if self.inputs.truth is not None:
            out["truth"] = dict(self.inputs.truth)
        return out


def _records(frame: pd.DataFrame) -> list[dict[Hashable, Any]]:
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def _indent(lines: list[str]) -> list[str]:
    return ["  " + line for line in lines]


def _summary_outcomes(a: Appraisal) -> list[str]:
    lines = [f"Metric: {a.inputs.spec.name}"]
    if a.outcome_rates is not None:
        lines.append("Intermediate outcomes (share achieved, 95% CI, people measured):")
        lines += _indent(
            [
                f"{label}: {percent(rate)} ({percent(low)} to {percent(high)}), n = {count(n)}"
                for label, rate, low, high, n in a.outcome_rates[["label", "rate", "ci_low", "ci_high", "n"]].to_numpy(
                    dtype=object
                )
            ]
        )
    if a.reoffending is not None:
        lines.append(a.reoffending.summary())
    if a.spec_reoffending is not None:
        lines.append("The spec's own measure:\n" + a.spec_reoffending.summary())
    lines += [f"Note: {note}" for note in a.notes]
    return lines


def _summary_effects(a: Appraisal) -> list[str]:
    if a.matched is None:
        return []
    treated = a.matched.counts["treated"].astype(int)
    lines = [
        f"Matched comparison: {count(int(treated['matched']))} of {count(int(treated['all']))} "
        f"cohort members matched 1:1 to the national pool (caliper {a.options.caliper:g} SD of the logit)."
    ]
    for verdict in a.verdicts().values():
        lines.append(f"{verdict.sentence()} {verdict.per_100()}")
    for kind, eff in a.effects.items():
        truth = a.true_effect(kind)
        known = "" if truth is None else f" [true effect {_effect_value(kind, truth)}, {EFFECT_SCALES[kind]}]"
        lines.append(f"  {eff.statement()}{known}")
    return lines


def _effect_value(kind: str, value: float) -> str:
    return f"{value * 100:+.1f} points" if kind == "binary" else ratio(value)


def _summary_payment(a: Appraisal) -> list[str]:
    words = {"frequency": "the frequency of proven reoffences", "binary": "the proven reoffending rate"}
    lines = ["Payment rules (chance each pays when nothing changed):"]
    for kind, comparison in a.thresholds.items():
        for r in comparison.results:
            decision = "pays" if r.met else "does not pay"
            lines.append(
                f"  {r.rule} on {words[kind]}: {decision}; pays {percent(r.false_payment)} of the time when nothing "
                f"changed"
                + ("" if r.payment_probability is None else f", {percent(r.payment_probability)} at the true effect")
            )
    if {"binary", "frequency"} <= set(a.power) and "binary" in a.effects:
        mde = {k: p.to_dict() for k, p in a.power.items()}
        lines.append(
            f"Smallest effects detectable with 80% power at {count(a.effects['binary'].n_treated)} matched cohort "
            f"members: {percent(abs(mde['frequency']['relative']))} fewer proven reoffences, "
            f"{abs(mde['binary']['effect']) * 100:.1f} points off the proven reoffending rate."
        )
    return lines


def _summary_contract(a: Appraisal) -> list[str]:
    lines = []
    if a.tariffs is not None:
        gap = ", ".join(f"{name.replace('_', ' ')} {pounds(m.gap)}" for name, m in a.tariffs.margins.items())
        lines.append(f"Creaming gap (margin per person, easiest minus hardest segment): {gap}")
    spend = a.spend()
    if spend is not None:
        lines += ["Contract simulation:", *_indent([spend.sentence(), spend.risk()])]
        lines += _indent([o.sentence() for o in a.outlooks().values()])
    return lines


def screen_sentences(a: Appraisal) -> list[str]:
    """Each screen's verdict in one sentence (the funnel: who is outside its 99.8% limits).

    Parameters
    ----------
    a : Appraisal
        An appraisal whose screens step has run (its ``screens``; none gives no sentences).

    Examples
    --------
    >>> screen_sentences(appraisal)  # doctest: +SKIP
    ['Creaming screen: not flagged (p = 0.41).', 'Funnel: no provider outside the 99.8% limits.']
    """
    lines = []
    for name, screen in a.screens.items():
        if isinstance(screen, Funnel):
            lines.append(f"Funnel: {funnel_words(screen)}.")
        else:
            verdict = "flagged" if screen.flagged else "not flagged"
            lines.append(f"{name.capitalize()} screen: {verdict} ({p_phrase(screen.p_value)}).")
    return lines


def _summary_findings(a: Appraisal) -> list[str]:
    lines = ["Design findings:" if a.findings else "Design findings: none."]
    lines += _indent([f"{SEVERITY_WORDS[f.severity]}: {f.message}" for f in by_severity(list(a.findings))])
    lines += [f"Not run: {step}: {why}" for step, why in a.skipped.items()]
    return lines


_SUMMARY = (
    _summary_outcomes,
    _summary_effects,
    _summary_payment,
    _summary_contract,
    screen_sentences,
    _summary_findings,
)


def funnel_words(funnel: Funnel, alpha: float = 0.002) -> str:
    """Who is outside the funnel's limits at ``1 - alpha``, and whether they reoffend more (worse) or less (better).

    Parameters
    ----------
    funnel : validation.Funnel
        Providers' proven reoffending against its expectation.
    alpha : float
        The limits are at ``1 - alpha`` (0.002: the 99.8% limits).

    Examples
    --------
    >>> funnel_words(appraisal.screens["funnel"])  # doctest: +SKIP
    'no provider outside the 99.8% limits'
    """
    sides = funnel.outside_by_side(alpha)
    n = len(sides["above"]) + len(sides["below"])
    limits = f"the {limit_label(alpha)}% limits"
    if not n:
        return f"no provider outside {limits}"
    words = [
        f"{', '.join(units)} {what}"
        for units, what in (
            (sides["above"], "reoffending more than predicted (worse)"),
            (sides["below"], "reoffending less than predicted (better)"),
        )
        if units
    ]
    return f"{plural(n, 'provider')} outside {limits}: {'; '.join(words)}"
