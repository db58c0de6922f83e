"""Contracts as data: one TOML file from cohort to pounds.

A contract is a metric spec (outcomes, the reoffending measure, segments and
the ``[payment]`` terms: fees, shares, clawback, investor, supply chain,
prices and uplifts) with more sections, each optional:

.. code-block:: toml

    [cohort]
    eligible = "sex == 'male'"           # optional rule over people columns
    index = "start_date"                 # the column that places a person in a tranche

    [tranches.cohort_1]                  # people whose index date falls in [start, end]
    start = 2010-09-10
    end = 2012-05-31
    interim = 2014-08-07                 # optional: early settlement
    final = 2017-07-27

    [counterfactual.matched]             # a matched national comparison ...
    ratio = 10
    caliper = 0.2
    covariates = ["age", "prior_offences"]

    [counterfactual.baseline]            # ... or a versioned baseline, or both
    rate = 0.58
    n = 1200                             # optional: omit for a fixed target without sampling error
    period = "2009"
    measure = "binary"                   # must be the measure of every rule that uses it
    counting = "offences"
    disposals = ["conviction"]
    version = "doncaster-2009-v1"
    predicted = 0.55                     # optional: the baseline cohort's mean predicted rate ...
    risk = "predicted_rate"              # ... and the people column of each person's: adjusts for case mix

    [counterfactual.baseline.frequency]  # a baseline for another measure (per_reoffender, bed_nights ...)
    rate = 1.4

    [custody]                            # custody bed nights (a rule with measure = "bed_nights")
    follow_up_days = 365
    kinds = ["remand", "sentenced"]

    [rules.early]
    type = "tranche"                     # tranche | pooled (final settlement, >= 2 tranches)
    measure = "frequency"                # binary | frequency | per_reoffender | bed_nights
    against = "matched"                  # matched | baseline
    scale = "relative"                   # relative (1 - treated/comparison) | points (binary)
    at_least = 0.10
    decide_on = "estimate"               # estimate | lower_bound (one-sided, at `1 - alpha`)
    settle = "interim"                   # tranche rules: interim | final
    price_per_event = 2000               # £ per event (binary: person; bed_nights: night) avoided ...
    amount = 0                           # ... and/or a fixed £ when met
    price_per_point = 0                  # £ per point (0.01) of reduction beyond excess_beyond, up to excess_up_to
    cap = 8000000                        # optional cap on what this rule pays over the contract
    releases_at_risk = false             # met: the withheld share of the fee is paid
    claws_back = false                   # missed: the clawback share of the fee is repaid ...
    clawback_full_at = -0.05             # ... all of it at or below this reduction, sliding to none at at_least
    increase_at_least = 0.0              # a rise this large (decided as the rule decides) ...
    deduction_per_event = 2000           # ... is deducted per event added, and/or a fixed `deduction`
    hurdle = {measure = "binary", at_least = 0.0}   # optional: pays only if this is met too

    [data]                               # optional: where the data are, and how they are written
    map = "data.toml"                    # a data mapping file (ground.mapping), relative to the contract

    [assumed]                            # every figure no source gives, with the reason
    "counterfactual.baseline.rate" = "The 2009 rate is in no source found."

A rate card, outcomes paid on claims (``[claims]``), is read by
:mod:`pricing.ratecard`.

Every problem is a :class:`ground.errors.SpecError` naming the file, the key
and the rule broken; every rule written in the file (eligibility, segments,
payability) is parsed by :mod:`ground.expressions`, never evaluated as code.
Old metric specs load as contracts; what they cannot say (a price on the
reoffending measure) is refused with a message saying what to write instead.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast, get_args

from ground.checks import parameter_error
from ground.dates import DateLike, parse_date
from ground.errors import ParameterError, Problems, SpecError
from ground.expressions import parse
from ground.tables import CUSTODY_KINDS
from metrics.power import Measure
from metrics.thresholds import BaselineTest, PaymentRule, Scale
from outcomes.spec import CONTRACT_SECTIONS, MAX_POUNDS, MetricSpec, ReoffendingSpec
from pricing.keys import choice as _choice
from pricing.keys import fail as _fail
from pricing.keys import known as _known
from pricing.keys import number as _number
from pricing.keys import table as _table
from pricing.keys import text as _text
from pricing.ratecard import RateCard, ratecard_from_mapping
from pricing.structure import PaymentStructure

T = TypeVar("T")

__all__ = ["Baseline", "BaselineRate", "Contract", "ContractRule", "CustodyCount", "Hurdle", "MatchedPool", "Tranche"]

RULE_TYPES = ("tranche", "pooled")
#: What a rule measures: proven reoffending (anyone; reoffences per person; reoffences per reoffender) or
#: custody bed nights per person.
RULE_MEASURES = ("binary", "frequency", "per_reoffender", "bed_nights")
#: The [reoffending] measures each rule measure can be computed from.
REOFFENDING_FOR = {
    "binary": ("binary", "both"),
    "frequency": ("frequency", "both"),
    "per_reoffender": ("frequency", "both"),
}
DECISIONS = ("estimate", "lower_bound")
STAGES = ("interim", "final")
SCALES = ("relative", "points")
AGAINST = ("matched", "baseline")
#: How a baseline is adjusted for the cohort's case mix (see metrics.thresholds.case_mix_baseline).
ADJUSTMENTS = ("difference", "ratio")
#: The test of a tranche against a baseline (see metrics.thresholds.Contrast.against_baseline).
BASELINE_TESTS: tuple[str, ...] = get_args(BaselineTest)
_SHARE_TOL = 1e-9


# ------------------------------------------------------------------ reading helpers
def _flag(raw: Mapping, name: str, key: str) -> bool:
    value = raw.get(name, False)
    if not isinstance(value, bool):
        raise _fail(f"{key}.{name}", "true or false", value)
    return value


def _date(raw: Mapping, name: str, key: str) -> date:
    if name not in raw:
        raise SpecError(f"The '{key}.{name}' key is required (a date, 2024-04-01). It is missing.", key=f"{key}.{name}")
    stamp = parse_date(raw[name], f"The '{key}.{name}' key", error=partial(SpecError, key=f"{key}.{name}"), time=False)
    return stamp.date()


# ------------------------------------------------------------------ parts
@dataclass(frozen=True)
class Tranche:
    """A named cohort: people whose index date falls in ``[start, end]``, settled at ``interim`` and ``final``."""

    name: str
    start: date
    end: date
    final: date
    interim: date | None = None

    def stage(self, as_of: DateLike) -> str | None:
        """``"final"``, ``"interim"`` or ``None`` (nothing due yet) on ``as_of``."""
        day = parse_date(as_of, "The 'as_of' parameter of Tranche.stage").date()
        if day >= self.final:
            return "final"
        if self.interim is not None and day >= self.interim:
            return "interim"
        return None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, Any] = {"start": self.start, "end": self.end}
        if self.interim is not None:
            out["interim"] = self.interim
        out["final"] = self.final
        return out


@dataclass(frozen=True)
class BaselineRate:
    """One measure's baseline: its rate, the people behind it, and its own risk score.

    ``predicted`` is the baseline cohort's mean predicted rate and ``risk`` the
    people column holding each person's predicted rate: with both, a tranche's
    baseline is adjusted for its case mix (:func:`metrics.thresholds.case_mix_baseline`).
    """

    measure: str
    rate: float
    n: int | None = None
    predicted: float | None = None
    risk: str | None = None

    def describe(self) -> str:
        size = "fixed" if self.n is None else f"n = {self.n:,}"
        mix = "" if self.predicted is None else f", predicted {self.predicted:g} from {self.risk!r}"
        return f"{self.measure} {self.rate:g} ({size}{mix})"


@dataclass(frozen=True)
class Baseline:
    """A versioned baseline: the rates a tranche is compared with, and exactly what they measured.

    Attributes
    ----------
    rates : tuple of BaselineRate
        One per measure.
    period, version : str
    counting : str
    disposals : tuple of str
    adjust : {"difference", "ratio"}
        How a rate with a risk score is adjusted for a tranche's case mix.
    test : {"two_sample", "baseline_interval"}
        The test of a tranche against it (:meth:`metrics.thresholds.Contrast.against_baseline`).
    """

    rates: tuple[BaselineRate, ...]
    period: str
    version: str
    counting: str = "offences"
    disposals: tuple[str, ...] = ("conviction", "caution")
    adjust: str = "difference"
    test: BaselineTest = "two_sample"

    @property
    def measures(self) -> tuple[str, ...]:
        return tuple(r.measure for r in self.rates)

    def of(self, measure: str) -> BaselineRate:
        """The baseline of ``measure`` (the contract refuses a rule whose measure has none)."""
        return next(r for r in self.rates if r.measure == measure)

    def describe(self) -> str:
        rates = "; ".join(r.describe() for r in self.rates)
        terms = [f"{self.period}", f"version {self.version}"]
        if any(r.predicted is not None for r in self.rates):
            terms.append(f"adjusted for case mix by the {self.adjust}")
        if self.test == "baseline_interval":
            terms.append("tested against the baseline's own interval")
        return f"baseline {rates} ({', '.join(terms)})"


@dataclass(frozen=True)
class CustodyCount:
    """Custody bed nights (:func:`outcomes.custody.custody_nights`): the window and the kinds counted."""

    follow_up_days: int = 365
    kinds: tuple[str, ...] = CUSTODY_KINDS
    index: str = "start_date"


@dataclass(frozen=True)
class MatchedPool:
    """A matched national comparison: ``ratio`` comparisons per person, within ``caliper`` SDs of the logit.

    At settlement the comparison is a ``comparison`` table already matched by
    the evaluator (one row per comparison person, with its ``tranche``), or is
    matched here from a ``pool`` table on ``covariates``.
    """

    ratio: int = 1
    caliper: float | None = None
    covariates: tuple[str, ...] = ()
    replace: bool = False

    def to_dict(self) -> dict[str, object]:
        out: dict[str, Any] = {"ratio": self.ratio}
        if self.caliper is not None:
            out["caliper"] = self.caliper
        out.update(covariates=list(self.covariates), replace=self.replace)
        return out


@dataclass(frozen=True)
class Hurdle:
    """A second test a rule's payment needs (a binary hurdle before a frequency payment)."""

    measure: str
    at_least: float
    scale: str = "relative"
    decide_on: str = "estimate"
    alpha: float = 0.05

    def payment_rule(self, name: str) -> PaymentRule:
        alpha = self.alpha if self.decide_on == "lower_bound" else None
        scale = cast(Scale, self.scale)
        return PaymentRule(f"{name} hurdle", self.at_least, scale, alpha, comparison_measure(self.measure))


@dataclass(frozen=True)
class ContractRule:
    """A payment rule: what it tests, when it settles, and what it pays, claws back or deducts.

    Reductions are on the rule's scale (a share for ``relative``, a proportion
    of people for ``points``); a *point* is 0.01 of it. Met, the rule pays
    ``amount``, ``price_per_event`` per event avoided, ``price_per_point`` per
    point beyond ``excess_beyond`` (up to ``excess_up_to``) and the withheld fee
    (``releases_at_risk``). Missed, it claws back the clawback share of the fee
    (``claws_back``; with ``clawback_full_at``, on a sliding scale). A rise of
    at least ``increase_at_least`` deducts ``deduction`` and
    ``deduction_per_event`` per event added.
    """

    name: str
    type: str
    measure: str
    against: str
    at_least: float
    scale: str = "relative"
    decide_on: str = "estimate"
    alpha: float = 0.05
    settle: str = "final"
    price_per_event: float = 0.0
    amount: float = 0.0
    price_per_point: float = 0.0
    excess_beyond: float | None = None
    excess_up_to: float | None = None
    cap: float | None = None
    releases_at_risk: bool = False
    claws_back: bool = False
    clawback_full_at: float | None = None
    increase_at_least: float | None = None
    deduction: float = 0.0
    deduction_per_event: float = 0.0
    hurdle: Hurdle | None = None

    def payment_rule(self) -> PaymentRule:
        """The statistical test (``metrics.thresholds.PaymentRule``) this rule applies."""
        alpha = self.alpha if self.decide_on == "lower_bound" else None
        return PaymentRule(self.name, self.at_least, cast(Scale, self.scale), alpha, comparison_measure(self.measure))

    @property
    def unit(self) -> str:
        """What an event avoided is: a person (binary), a night (bed nights) or a reoffence."""
        return {"binary": "person", "bed_nights": "night"}.get(self.measure, "event")

    def describe(self) -> str:
        amount = _amount_words(self.at_least, self.scale)
        how = "point estimate" if self.decide_on == "estimate" else f"lower {1 - self.alpha:.0%} bound"
        when = "at final settlement, all tranches pooled" if self.type == "pooled" else f"per tranche at {self.settle}"
        pays = []
        if self.price_per_event:
            pays.append(f"£{self.price_per_event:,.2f} per {self.unit} avoided")
        if self.amount:
            pays.append(f"£{self.amount:,.2f}")
        if self.price_per_point:
            upto = "" if self.excess_up_to is None else f" up to {_amount_words(self.excess_up_to, self.scale)}"
            beyond = _amount_words(self.at_least if self.excess_beyond is None else self.excess_beyond, self.scale)
            pays.append(f"£{self.price_per_point:,.2f} per point beyond {beyond}{upto}")
        if self.releases_at_risk:
            pays.append("releases the withheld fee")
        if self.claws_back:
            sliding = (
                ""
                if self.clawback_full_at is None
                else f" on a sliding scale, all of it at {_amount_words(self.clawback_full_at, self.scale)} or worse"
            )
            pays.append(f"missed: claws back the clawback share{sliding}")
        if self.increase_at_least is not None:
            per = f"£{self.deduction_per_event:,.2f} per {self.unit} added" if self.deduction_per_event else ""
            fixed = f"£{self.deduction:,.2f}" if self.deduction else ""
            rise = _amount_words(self.increase_at_least, self.scale)
            pays.append(f"a rise of at least {rise} ({how}): deducts {' and '.join(w for w in (fixed, per) if w)}")
        cap = f", capped at £{self.cap:,.0f}" if self.cap is not None else ""
        hurdle = f"; only if the {self.hurdle.measure} measure also falls" if self.hurdle else ""
        return (
            f"{self.name}: {self.measure} at least {amount} below the {self.against} comparison ({how}), {when}; "
            f"{', '.join(pays) or 'pays nothing'}{cap}{hurdle}."
        )


def _amount_words(value: float, scale: str) -> str:
    return f"{value * 100:g} points" if scale == "points" else f"{value:.1%}"


def comparison_measure(measure: str) -> Measure:
    """The measure a rule's statistics are of: a rate of people (binary) or a count per person (the rest).

    Parameters
    ----------
    measure : {"binary", "frequency", "per_reoffender", "bed_nights"}
        A rule's measure.

    Examples
    --------
    >>> comparison_measure("bed_nights"), comparison_measure("binary")
    ('frequency', 'binary')
    """
    return "binary" if measure == "binary" else "frequency"


# ------------------------------------------------------------------ the contract
@dataclass(frozen=True)
class Contract:
    """A payment-by-results contract: who is measured, against what, by which rules, for how much.

    Build one with :meth:`from_toml` or :meth:`from_mapping`; both validate the
    whole contract.

    Attributes
    ----------
    spec : outcomes.MetricSpec
        Outcomes, reoffending measure, segments and ``[payment]`` terms.
    tranches : tuple of Tranche
    rules : tuple of ContractRule
    structure : PaymentStructure
        Fees, shares, clawback, investor and supply chain from ``[payment]``.
    matched : MatchedPool or None
    baseline : Baseline or None
    eligible : str or None
        The cohort's eligibility rule (``[cohort].eligible``).
    index : str
        The people column placing a person in a tranche.
    custody : CustodyCount or None
        Custody bed nights (``[custody]``).
    assumed : dict of str -> str
        Each figure no source gives (its key) and why it is assumed (``[assumed]``).
    ratecard : pricing.ratecard.RateCard or None
        Outcomes paid on claims (``[claims]``).
    data_map : str or None
        The data mapping file ``[data] map`` names (relative to the contract's folder), which
        ``settle`` reads when no data are given.
    digest : str
        SHA-256 of the contract file (or of its data, for a mapping).

    Examples
    --------
    >>> c = Contract.from_toml("pricing/schemes/doncaster.toml")
    >>> [t.name for t in c.tranches], c.rules[0].claws_back
    (['cohort_1', 'cohort_2'], True)
    """

    spec: MetricSpec
    tranches: tuple[Tranche, ...] = ()
    rules: tuple[ContractRule, ...] = ()
    structure: PaymentStructure = field(default_factory=PaymentStructure)
    matched: MatchedPool | None = None
    baseline: Baseline | None = None
    eligible: str | None = None
    index: str = "start_date"
    custody: CustodyCount | None = None
    assumed: dict[str, str] = field(default_factory=dict)
    ratecard: RateCard | None = None
    source: str | None = None
    digest: str = ""
    data_map: str | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def prices(self) -> dict[str, float | dict[str, float]]:
        """``[payment.prices]``: price per outcome price key (one number or a table by segment)."""
        return dict(self.spec.payment.get("prices", {}))

    @property
    def measures(self) -> tuple[str, ...]:
        """Every measure a rule or hurdle of the contract reads, in order of first use."""
        found = [m for r in self.rules for m in (r.measure, *((r.hurdle.measure,) if r.hurdle else ()))]
        return tuple(dict.fromkeys(found))

    @property
    def tables(self) -> tuple[str, ...]:
        """The data tables a settlement of this contract reads."""
        needed = ["people"]
        r = self.spec.reoffending
        if set(self.measures) & set(REOFFENDING_FOR) or (r is not None and r.price_key in self.prices):
            needed.append("offences")
        if "bed_nights" in self.measures:
            needed.append("custody")
        if self.prices:
            needed.append("assessments")
        if self.matched is not None and any(r.against == "matched" for r in self.rules):
            needed += ["comparison", "pool"]
        if self.ratecard is not None:
            needed += ["claims", "spells"] if self.ratecard.spell_kinds else ["claims"]
        return tuple(needed)

    def assumed_figures(self) -> list[dict[str, object]]:
        """Each figure marked assumed: its key, its value in the contract and the reason.

        Examples
        --------
        >>> from pricing import scheme
        >>> [f["key"] for f in scheme("doncaster").assumed_figures()][:1]
        ['counterfactual.baseline.rate']
        """
        layout = self.to_dict()
        return [{"key": k, "value": _at_key(layout, k), "reason": why} for k, why in self.assumed.items()]

    # -- reading ---------------------------------------------------------------
    @classmethod
    def from_toml(cls, path: str | Path) -> Contract:
        """Read and validate a contract file; every error names the file and the key."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError:
            raise SpecError(
                f"The contract file must exist. Got {str(path)!r}, which does not.", source=str(path)
            ) from None
        try:
            raw = tomllib.loads(data.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SpecError(f"{path}: not a valid TOML file: {exc}.", source=str(path)) from None
        return cls.from_mapping(raw, source=str(path), base_dir=path.parent, digest=hashlib.sha256(data).hexdigest())

    @classmethod
    def from_mapping(
        cls, raw: Mapping[str, object], *, source: str | None = None, base_dir: str | Path = ".", digest: str = ""
    ) -> Contract:
        """Validate a contract given as nested mappings (the TOML layout)."""
        if not isinstance(raw, Mapping):
            raise parameter_error("raw", "Contract.from_mapping", "a mapping", got=type(raw).__name__)
        with _named(source):
            problems = Problems()
            spec = None
            with problems.at():
                spec = MetricSpec.from_dict(dict(raw), base_dir=base_dir)
            terms = {k: raw[k] for k in CONTRACT_SECTIONS if k in raw}
            contract = _build(spec, terms, source, problems)
            data_map = _data_map(terms, base_dir)
        digest = digest or hashlib.sha256(json.dumps(spec.to_dict(), sort_keys=True, default=str).encode()).hexdigest()
        return _replace(contract, digest=digest, data_map=data_map)

    # -- writing ---------------------------------------------------------------
    def to_dict(self) -> dict[str, object]:
        """The contract in its TOML layout (``from_mapping`` reads it back)."""
        return self.spec.to_dict()

    def describe(self) -> str:
        """The contract in plain words."""
        lines = [self.spec.describe()]
        if self.eligible:
            lines.append(f"Eligible: people where {parse(self.eligible).describe()}.")
        for t in self.tranches:
            interim = f", interim settlement {t.interim}" if t.interim else ""
            lines.append(
                f"Tranche {t.name}: {self.index} from {t.start} to {t.end}{interim}, final settlement {t.final}."
            )
        if self.matched is not None:
            m = self.matched
            lines.append(
                f"Counterfactual: matched comparison, {m.ratio}:1"
                f"{'' if m.caliper is None else f', caliper {m.caliper:g} SD of the logit'}"
                f"{', on ' + ', '.join(m.covariates) if m.covariates else ''}."
            )
        if self.baseline is not None:
            lines.append(f"Counterfactual: {self.baseline.describe()}.")
        if self.custody is not None:
            c = self.custody
            lines.append(
                f"Custody bed nights: {' and '.join(c.kinds)} nights in the {c.follow_up_days} nights from {c.index}."
            )
        lines += [f"Rule {r.describe()}" for r in self.rules]
        if self.assumed:
            lines.append(f"Assumed figures (no source): {', '.join(self.assumed)}.")
        if self.ratecard is not None:
            lines.append(self.ratecard.describe())
        return "\n".join(lines)


def _replace(contract: Contract, **changes: Any) -> Contract:
    from dataclasses import replace

    return replace(contract, **changes)


@contextmanager
def _named(source: str | None) -> Iterator[None]:
    """Prefix the file's name to a SpecError raised inside; turn a ParameterError into a SpecError."""
    try:
        with _payment_key():
            yield
    except SpecError as exc:
        if source is None or str(exc).startswith(source):
            raise
        raise SpecError(f"{source}: {exc}", key=exc.key, source=source, problems=exc.problems) from None


@contextmanager
def _payment_key() -> Iterator[None]:
    """A ParameterError from the payment structure's checks is a problem of the [payment] key it names."""
    try:
        yield
    except ParameterError as exc:
        key = f"payment.{exc.parameter}" if exc.parameter else "payment"
        raise SpecError(f"{key}: {exc}", key=key) from None


def _build(spec: MetricSpec | None, terms: Mapping[str, Any], source: str | None, problems: Problems) -> Contract:
    """The contract's terms, every independent part checked and all their problems raised together.

    A part that needs another (a rule its tranches and counterfactual, the prices the spec) is checked only when
    that one passed, so that one mistake is not reported again as the others it causes.
    """
    eligible, index = None, "start_date"
    with problems.at():
        cohort = _table(terms, "cohort", "contract")
        _known(cohort, ("eligible", "index"), "cohort")
        eligible = _text(cohort, "eligible", "cohort", None)
        if eligible is not None:
            parse(eligible, key="cohort.eligible")
        index = _text(cohort, "index", "cohort", "start_date")
    before = len(problems.found)
    tranches = tuple(_each(terms, "tranches", _tranche, problems))
    with problems.at():
        _apart(tranches)
    matched = baseline = None
    with problems.at():
        reoffending = None if spec is None else spec.reoffending
        matched, baseline = _counterfactual(_table(terms, "counterfactual", "contract"), reoffending)
    custody = None
    with problems.at():
        custody = _custody(_table(terms, "custody", "contract")) if "custody" in terms else None
    rules: tuple[ContractRule, ...] = ()
    if len(problems.found) == before:
        rules = tuple(
            _each(terms, "rules", partial(_rule, tranches=tranches, matched=matched, baseline=baseline), problems)
        )
    problems.check()
    assert spec is not None  # a spec that failed has its problems raised just above
    with _payment_key():
        _reoffending_prices(spec, rules, custody)
        ratecard = _ratecard(terms, spec, tranches)
        _items_apart(spec, rules, ratecard)
        return Contract(
            spec=spec,
            tranches=tranches,
            rules=rules,
            structure=_structure(spec, rules),
            matched=matched,
            baseline=baseline,
            eligible=eligible,
            index=index,
            custody=custody,
            assumed=_assumed(_table(terms, "assumed", "contract"), spec),
            ratecard=ratecard,
            source=source,
        )


def _each(terms: Mapping[str, Any], section: str, read: Callable[[str, Any], T], problems: Problems) -> list[T]:
    """Each named part of a section (``[tranches.NAME]``, ``[rules.NAME]``) read on its own; the ones that pass."""
    parts: list[T] = []
    with problems.at():
        for name, raw in _table(terms, section, "contract").items():
            with problems.at():
                parts.append(read(name, raw))
    return parts


def _custody(raw: dict) -> CustodyCount:
    _known(raw, ("follow_up_days", "kinds", "index"), "custody")
    days = _number(raw, "follow_up_days", "custody", 365, low=1)
    if not float(days).is_integer():
        raise _fail("custody.follow_up_days", "a whole number of nights >= 1", raw["follow_up_days"])
    kinds = raw.get("kinds", list(CUSTODY_KINDS))
    if not isinstance(kinds, list) or not kinds or not set(kinds) <= set(CUSTODY_KINDS):
        raise _fail("custody.kinds", f"a list of kinds from {', '.join(CUSTODY_KINDS)}", kinds)
    return CustodyCount(int(days), tuple(dict.fromkeys(kinds)), _text(raw, "index", "custody", "start_date"))


def _assumed(raw: dict, spec: MetricSpec) -> dict[str, str]:
    """``[assumed]``: each key names a figure of the contract; each reason is text (a stale mark is refused)."""
    layout = spec.to_dict()
    for key, reason in raw.items():
        if not isinstance(reason, str) or not reason.strip():
            raise _fail(f"assumed.{key}", "the reason the figure is assumed (text)", reason)
        if _at_key(layout, key) is ...:
            raise SpecError(
                f"The 'assumed.{key}' key must name a figure of the contract, written as its keys joined by dots "
                f"(counterfactual.baseline.rate). The contract has no {key!r}.",
                key=f"assumed.{key}",
            )
    return dict(raw)


def _at_key(layout: Mapping, key: str) -> Any:
    """The value at a dotted key of the contract's layout (``...`` when there is none)."""
    here: Any = layout
    for part in key.split("."):
        if not isinstance(here, Mapping) or part not in here:
            return ...
        here = here[part]
    return here


def _ratecard(terms: Mapping, spec: MetricSpec, tranches: tuple[Tranche, ...]) -> RateCard | None:
    """The ``[claims]`` section, read by :mod:`pricing.ratecard`."""
    if "claims" not in terms:
        return None
    card = ratecard_from_mapping(terms["claims"], segments=tuple(spec.segments))
    if not tranches:
        raise SpecError("The '[claims]' section needs [tranches.NAME] to place people in the cohort.", key="tranches")
    return card


def _items_apart(spec: MetricSpec, rules: tuple[ContractRule, ...], ratecard: RateCard | None) -> None:
    """A ledger row's item names what paid it: a rule, an outcome the tariff prices or a rate-card outcome.

    A running account nets an earlier settlement by tranche and item, so one name must not stand for two of them.
    """
    prices = spec.payment.get("prices", {})
    tariff = {k: f"outcomes.{k}" for k, o in spec.outcomes.items() if (o.price_key or k) in prices}
    price_key = None if spec.reoffending is None else spec.reoffending.price_key
    if price_key is not None and price_key in prices:
        tariff[price_key] = "reoffending.price_key"
    card = {} if ratecard is None else {k: f"claims.outcomes.{k}" for k in ratecard.prices}
    seen: dict[str, str] = {}
    for keys in ({r.name: f"rules.{r.name}" for r in rules}, tariff, card):
        for name, key in keys.items():
            if name in seen:
                raise SpecError(
                    f"The name {name!r} is both '{seen[name]}' and '{key}': a settlement's ledger says by name "
                    "what paid each amount, so rename one.",
                    key=key,
                )
        seen.update(keys)


def _data_map(terms: Mapping[str, Any], base_dir: str | Path) -> str | None:
    """``[data] map``: the data mapping file, as a path from the current folder."""
    data = _table(terms, "data", "contract")
    _known(data, ("map",), "data")
    where = _text(data, "map", "data", None)
    return None if where is None else str(Path(base_dir) / where)


def _tranche(name: str, raw: Any) -> Tranche:
    key = f"tranches.{name}"
    if not isinstance(raw, Mapping):
        raise _fail(key, "a table with start, end, final and optional interim dates", raw)
    _known(raw, ("start", "end", "interim", "final"), key)
    start, end = _date(raw, "start", key), _date(raw, "end", key)
    interim, final = _date(raw, "interim", key) if "interim" in raw else None, _date(raw, "final", key)
    if end < start:
        raise SpecError(f"The '{key}.end' date must not be before its start ({start}). Got {end}.", key=f"{key}.end")
    if interim is not None and not end <= interim <= final:
        raise SpecError(
            f"The '{key}.interim' date must fall between the tranche's end ({end}) and its final settlement "
            f"({final}). Got {interim}.",
            key=f"{key}.interim",
        )
    if final < end:
        raise SpecError(
            f"The '{key}.final' date must not be before the tranche's end ({end}). Got {final}.", key=f"{key}.final"
        )
    return Tranche(name, start, end, final, interim)


def _apart(tranches: tuple[Tranche, ...]) -> None:
    """Refuse tranches whose dates overlap: a person starting in both would be placed by their order."""
    ordered = sorted(tranches, key=lambda t: (t.start, t.name))
    for earlier, later in zip(ordered, ordered[1:]):
        if later.start <= earlier.end:
            key = f"tranches.{later.name}.start"
            raise SpecError(
                f"The '{key}' date ({later.start}) falls inside tranche {earlier.name!r} ({earlier.start} to "
                f"{earlier.end}): tranches must not overlap, or a person starting in both would be placed by the "
                "order the tranches are written in. Move the start or the end.",
                key=key,
            )


def _counterfactual(raw: dict, reoffending: ReoffendingSpec | None) -> tuple[MatchedPool | None, Baseline | None]:
    _known(raw, AGAINST, "counterfactual")
    matched = baseline = None
    if "matched" in raw:
        m = _table(raw, "matched", "counterfactual")
        _known(m, ("ratio", "caliper", "covariates", "replace"), "counterfactual.matched")
        ratio = _number(m, "ratio", "counterfactual.matched", 1, low=1)
        if not float(ratio).is_integer():
            raise _fail("counterfactual.matched.ratio", "a whole number >= 1", m["ratio"])
        covariates = m.get("covariates", [])
        if not isinstance(covariates, list) or not all(isinstance(c, str) for c in covariates):
            raise _fail("counterfactual.matched.covariates", "a list of column names", covariates)
        caliper = _number(m, "caliper", "counterfactual.matched", None, low=0)
        matched = MatchedPool(int(ratio), caliper, tuple(covariates), _flag(m, "replace", "counterfactual.matched"))
    if "baseline" in raw:
        baseline = _baseline(_table(raw, "baseline", "counterfactual"), reoffending)
    return matched, baseline


_RATE_KEYS = ("rate", "n", "predicted", "risk")
_BASELINE_KEYS = ("period", "version", "counting", "disposals", "adjust", "test", "measure", *_RATE_KEYS)


def _baseline(b: dict, reoffending: ReoffendingSpec | None) -> Baseline:
    """``[counterfactual.baseline]``: shared terms, one measure's figures flat, others as ``[...baseline.MEASURE]``."""
    key = "counterfactual.baseline"
    _known(b, (*_BASELINE_KEYS, *RULE_MEASURES), key)
    rates = [_baseline_rate(_choice(b, "measure", key, RULE_MEASURES), b, key)] if "measure" in b else []
    if "measure" not in b and set(b) & set(_RATE_KEYS):
        raise SpecError(
            f"The '{key}.measure' key is required with a flat rate: say what the rate measures "
            f"({', '.join(RULE_MEASURES)}), or give it as [{key}.MEASURE].",
            key=f"{key}.measure",
        )
    for measure in (m for m in RULE_MEASURES if m in b):
        if rates and rates[0].measure == measure:
            raise SpecError(
                f"The '{key}.{measure}' table gives the {measure} baseline a second time (measure = {measure!r} "
                "gives it above): give each measure's baseline once.",
                key=f"{key}.{measure}",
            )
        sub = _table(b, measure, key)
        _known(sub, _RATE_KEYS, f"{key}.{measure}")
        rates.append(_baseline_rate(measure, sub, f"{key}.{measure}"))
    if not rates:
        raise SpecError(f"The '{key}' table needs a rate: rate and measure, or [{key}.MEASURE].", key=f"{key}.rate")
    disposals = b.get("disposals", ["conviction", "caution"])
    if not isinstance(disposals, list) or not disposals or not all(isinstance(d, str) for d in disposals):
        raise _fail(f"{key}.disposals", "a list of disposals such as conviction, caution", disposals)
    baseline = Baseline(
        rates=tuple(rates),
        period=_text(b, "period", key),
        version=_text(b, "version", key),
        counting=_text(b, "counting", key, "offences"),
        disposals=tuple(disposals),
        adjust=_choice(b, "adjust", key, ADJUSTMENTS, "difference"),
        test=cast(BaselineTest, _choice(b, "test", key, BASELINE_TESTS, "two_sample")),
    )
    r = reoffending
    measured = set(baseline.measures) & set(REOFFENDING_FOR)
    if measured and r is not None and (baseline.counting != r.counting or set(baseline.disposals) != set(r.disposals)):
        raise SpecError(
            f"The '{key}' must measure what [reoffending] measures: a baseline of another definition cannot be "
            f"compared. The baseline counts {baseline.counting} proven by {', '.join(baseline.disposals)}; "
            f"[reoffending] counts {r.counting} proven by {', '.join(r.disposals)}.",
            key=f"{key}.counting" if baseline.counting != r.counting else f"{key}.disposals",
        )
    return baseline


def _baseline_rate(measure: str, raw: Mapping, key: str) -> BaselineRate:
    share = measure == "binary"
    rate = _number(raw, "rate", key, low=0, high=1 if share else math.inf)
    if rate <= 0:
        raise _fail(f"{key}.rate", "above 0", raw["rate"])
    n = _number(raw, "n", key, None, low=1)
    if n is not None and not float(n).is_integer():
        raise _fail(f"{key}.n", "a whole number of people >= 1", raw["n"])
    predicted = _number(raw, "predicted", key, None, low=0, high=1 if share else math.inf)
    risk = _text(raw, "risk", key, None)
    if (predicted is None) != (risk is None):
        given, missing = ("predicted", "risk") if risk is None else ("risk", "predicted")
        raise SpecError(
            f"The '{key}.{given}' key adjusts for case mix, which needs '{key}.{missing}' too: the baseline cohort's "
            "mean predicted rate (predicted) and the people column holding each person's (risk).",
            key=f"{key}.{missing}",
        )
    if predicted is not None and not 0 < predicted < (1 if share else math.inf):
        raise _fail(f"{key}.predicted", "a predicted rate strictly between 0 and 1" if share else "above 0", predicted)
    return BaselineRate(measure, rate, None if n is None else int(n), predicted, risk)


#: Rule keys a pooled rule cannot take: it settles once, at the end, and pays events avoided or a fixed sum.
_TRANCHE_ONLY = (
    "settle",
    "price_per_point",
    "excess_beyond",
    "excess_up_to",
    "releases_at_risk",
    "claws_back",
    "clawback_full_at",
    "increase_at_least",
    "deduction",
    "deduction_per_event",
    "hurdle",
)
_RULE_KEYS = (
    "type",
    "measure",
    "against",
    "scale",
    "at_least",
    "decide_on",
    "alpha",
    "settle",
    "price_per_event",
    "amount",
    "cap",
    *_TRANCHE_ONLY,
)


def _rule(name: str, raw: Any, tranches: tuple, matched: MatchedPool | None, baseline: Baseline | None) -> ContractRule:
    key = f"rules.{name}"
    if not isinstance(raw, Mapping):
        raise _fail(key, "a table", raw)
    _known(raw, _RULE_KEYS, key)
    kind = _choice(raw, "type", key, RULE_TYPES)
    measure = _choice(raw, "measure", key, RULE_MEASURES)
    against = _choice(raw, "against", key, AGAINST, "matched" if matched is not None else "baseline")
    scale = _choice(raw, "scale", key, SCALES, "relative")
    if scale == "points" and measure != "binary":
        raise _fail(f"{key}.scale", "'relative' for a frequency measure (points count people)", scale)
    rule = ContractRule(
        name=name,
        type=kind,
        measure=measure,
        against=against,
        at_least=_number(raw, "at_least", key, low=-1, high=1),
        scale=scale,
        decide_on=_choice(raw, "decide_on", key, DECISIONS, "estimate"),
        alpha=_number(raw, "alpha", key, 0.05, low=1e-6, high=0.5),
        settle=_choice(raw, "settle", key, STAGES, "final"),
        price_per_event=_number(raw, "price_per_event", key, 0.0, high=MAX_POUNDS),
        amount=_number(raw, "amount", key, 0.0, high=MAX_POUNDS),
        price_per_point=_number(raw, "price_per_point", key, 0.0, high=MAX_POUNDS),
        excess_beyond=_number(raw, "excess_beyond", key, None, low=-1, high=1),
        excess_up_to=_number(raw, "excess_up_to", key, None, low=-1, high=1),
        cap=_number(raw, "cap", key, None, high=MAX_POUNDS),
        releases_at_risk=_flag(raw, "releases_at_risk", key),
        claws_back=_flag(raw, "claws_back", key),
        clawback_full_at=_number(raw, "clawback_full_at", key, None, low=-1, high=1),
        increase_at_least=_number(raw, "increase_at_least", key, None, low=0, high=1),
        deduction=_number(raw, "deduction", key, 0.0),
        deduction_per_event=_number(raw, "deduction_per_event", key, 0.0),
        hurdle=_hurdle(raw["hurdle"], f"{key}.hurdle") if "hurdle" in raw else None,
    )
    _rule_fits(rule, key, tranches, matched, baseline)
    if rule.type == "pooled" and set(raw) & set(_TRANCHE_ONLY):
        extra = sorted(set(raw) & set(_TRANCHE_ONLY))[0]
        raise SpecError(
            f"The '{key}.{extra}' key is for a tranche rule: a pooled rule settles once, at the end, on the events "
            'avoided over every tranche (price_per_event) or a fixed amount. Write it on a rule with type = "tranche".',
            key=f"{key}.{extra}",
        )
    _money_fits(rule, key)
    return rule


def _hurdle(raw: Any, key: str) -> Hurdle:
    if not isinstance(raw, Mapping):
        raise _fail(key, "a table with measure and at_least", raw)
    _known(raw, ("measure", "at_least", "scale", "decide_on", "alpha"), key)
    return Hurdle(
        measure=_choice(raw, "measure", key, RULE_MEASURES),
        at_least=_number(raw, "at_least", key, low=-1, high=1),
        scale=_choice(raw, "scale", key, SCALES, "relative"),
        decide_on=_choice(raw, "decide_on", key, DECISIONS, "estimate"),
        alpha=_number(raw, "alpha", key, 0.05, low=1e-6, high=0.5),
    )


def _rule_fits(rule: ContractRule, key: str, tranches: tuple, matched, baseline) -> None:
    """Refuse a rule the rest of the contract cannot settle."""
    if rule.type == "pooled" and len(tranches) < 2:
        raise SpecError(
            f"The '{key}.type' key is 'pooled', but a pooled rule settles two or more tranches together at the end "
            f'and the contract has {len(tranches)}. Add tranches or make the rule per tranche (type = "tranche").',
            key=f"{key}.type",
        )
    if not tranches:
        raise SpecError(f"The rule '{key}' needs [tranches.NAME] to settle: the contract has none.", key="tranches")
    if rule.type == "tranche" and rule.settle == "interim" and any(t.interim is None for t in tranches):
        raise SpecError(
            f"The '{key}.settle' key is 'interim', but tranches "
            f"{', '.join(t.name for t in tranches if t.interim is None)} have no interim date.",
            key=f"{key}.settle",
        )
    if rule.against == "matched" and matched is None:
        raise SpecError(
            f"The '{key}.against' key is 'matched', but [counterfactual.matched] is missing.", key=f"{key}.against"
        )
    if rule.against == "baseline":
        if baseline is None:
            raise SpecError(
                f"The '{key}.against' key is 'baseline', but [counterfactual.baseline] is missing.",
                key=f"{key}.against",
            )
        for part, measure in (("measure", rule.measure), ("hurdle.measure", rule.hurdle and rule.hurdle.measure)):
            if measure and measure not in baseline.measures:
                raise SpecError(
                    f"The '{key}.{part}' key is {measure!r}, but the baseline measures {', '.join(baseline.measures)}: "
                    f"a baseline of another definition cannot be compared. Give [counterfactual.baseline.{measure}].",
                    key=f"{key}.{part}",
                )
            if measure and baseline.test == "baseline_interval" and baseline.of(measure).n is None:
                raise SpecError(
                    f"The 'counterfactual.baseline' test is 'baseline_interval', which needs the {measure} baseline's "
                    f"n (its interval comes from the people behind it), for rule '{key}'. Give n.",
                    key="counterfactual.baseline.n",
                )
    if rule.hurdle is not None and rule.hurdle.scale == "points" and rule.hurdle.measure != "binary":
        raise _fail(f"{key}.hurdle.scale", "'relative' for a measure other than binary", rule.hurdle.scale)


def _money_fits(rule: ContractRule, key: str) -> None:
    """Refuse money terms that cannot work together: each says what it needs."""
    beyond = rule.at_least if rule.excess_beyond is None else rule.excess_beyond
    if (rule.excess_beyond is not None or rule.excess_up_to is not None) and not rule.price_per_point:
        raise SpecError(
            f"The '{key}.excess_beyond' and 'excess_up_to' keys bound a payment on the excess, which needs "
            f"'{key}.price_per_point' (£ per point beyond excess_beyond).",
            key=f"{key}.price_per_point",
        )
    if rule.excess_up_to is not None and rule.excess_up_to <= beyond:
        raise _fail(f"{key}.excess_up_to", f"above excess_beyond ({beyond:g})", rule.excess_up_to)
    if rule.clawback_full_at is not None:
        if not rule.claws_back:
            raise SpecError(
                f"The '{key}.clawback_full_at' key slides the clawback, but the rule has no claws_back = true.",
                key=f"{key}.claws_back",
            )
        if rule.clawback_full_at >= rule.at_least:
            raise _fail(f"{key}.clawback_full_at", f"below at_least ({rule.at_least:g})", rule.clawback_full_at)
    deducts = bool(rule.deduction or rule.deduction_per_event)
    if deducts != (rule.increase_at_least is not None):
        missing = "increase_at_least" if deducts else "deduction"
        raise SpecError(
            f"A deduction needs both the rise that triggers it ('{key}.increase_at_least') and what it deducts "
            f"('{key}.deduction' or 'deduction_per_event'). '{key}.{missing}' is missing.",
            key=f"{key}.{missing}",
        )


def _reoffending_prices(spec: MetricSpec, rules: tuple[ContractRule, ...], custody: CustodyCount | None) -> None:
    r = spec.reoffending
    prices = spec.payment.get("prices", {})
    if r is not None and r.price_key and r.price_key in prices and r.measure == "frequency":
        raise SpecError(
            f"The 'payment.prices.{r.price_key}' key prices a frequency of reoffending, which a contract pays "
            "per event avoided by a rule (a price per person applies to a binary measure): remove the price "
            'and write [rules.NAME] with type, measure = "frequency", at_least and '
            f"price_per_event = {prices[r.price_key]!r} (plus [tranches] and a [counterfactual]).",
            key=f"payment.prices.{r.price_key}",
        )
    for rule in rules:
        for part, measure in (("measure", rule.measure), ("hurdle.measure", rule.hurdle and rule.hurdle.measure)):
            if measure == "bed_nights" and custody is None:
                raise SpecError(
                    f"The 'rules.{rule.name}.{part}' key is 'bed_nights', but the contract has no [custody] section "
                    "saying which nights count.",
                    key="custody",
                )
            if measure not in REOFFENDING_FOR:
                continue
            if r is None:
                raise SpecError(
                    "The contract has [rules] on reoffending but no [reoffending] measure.", key="reoffending"
                )
            if r.measure not in REOFFENDING_FOR[measure]:
                raise SpecError(
                    f"The 'rules.{rule.name}.{part}' key is {measure!r}, but [reoffending] measures {r.measure!r}.",
                    key=f"rules.{rule.name}.{part}",
                )


def _structure(spec: MetricSpec, rules: tuple[ContractRule, ...]) -> PaymentStructure:
    structure = PaymentStructure.from_spec(spec, clawback_rule=any(r.claws_back for r in rules))
    if structure.clawback_share > 0 and not structure.clawback_rule:
        raise SpecError(
            "The 'payment.clawback_share' key is above 0, but no rule has claws_back = true: say which rule's "
            "miss triggers the clawback.",
            key="payment.clawback_share",
        )
    if (
        structure.at_risk_share > 0
        and not structure.at_risk_through_tariff
        and not any(r.releases_at_risk for r in rules)
    ):
        if rules or not spec.payment.get("prices"):
            raise SpecError(
                "The 'payment.at_risk_share' key withholds part of the fee, but nothing earns it back: set "
                "releases_at_risk = true on a rule, or at_risk_through_tariff = true to earn it through the tariff.",
                key="payment.at_risk_share",
            )
    return structure
