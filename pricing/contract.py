"""Contracts as data: one TOML file from cohort to pounds.

A contract is a metric spec (outcomes, the reoffending measure, segments and
the ``[payment]`` terms: fees, shares, clawback, investor, supply chain,
prices and uplifts) with four more sections:

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

    [rules.early]
    type = "tranche"                     # tranche | pooled (final settlement, >= 2 tranches)
    measure = "frequency"                # binary | frequency
    against = "matched"                  # matched | baseline
    scale = "relative"                   # relative (1 - treated/comparison) | points (binary)
    at_least = 0.10
    decide_on = "estimate"               # estimate | lower_bound (one-sided, at `1 - alpha`)
    settle = "interim"                   # tranche rules: interim | final
    price_per_event = 2000               # £ per event (binary: person) avoided ...
    amount = 0                           # ... and/or a fixed £ when met
    cap = 8000000                        # optional cap on what this rule pays over the contract
    releases_at_risk = false             # met: the withheld share of the fee is paid
    claws_back = false                   # missed: the clawback share of the fee is repaid
    hurdle = {measure = "binary", at_least = 0.0}   # optional: pays only if this is met too

    [data]                               # optional: where the data are, and how they are written
    map = "data.toml"                    # a data mapping file (ground.mapping), relative to the contract

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
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, cast

from ground.checks import parameter_error
from ground.dates import DateLike, parse_date
from ground.errors import ParameterError, SpecError
from ground.expressions import parse
from metrics.power import Measure
from metrics.thresholds import PaymentRule, Scale
from outcomes.spec import MetricSpec
from pricing.keys import choice as _choice
from pricing.keys import fail as _fail
from pricing.keys import known as _known
from pricing.keys import number as _number
from pricing.keys import table as _table
from pricing.keys import text as _text
from pricing.ratecard import RateCard, ratecard_from_mapping
from pricing.structure import PaymentStructure

__all__ = ["Baseline", "Contract", "ContractRule", "Hurdle", "MatchedPool", "Tranche"]

RULE_TYPES = ("tranche", "pooled")
RULE_MEASURES = ("binary", "frequency")
DECISIONS = ("estimate", "lower_bound")
STAGES = ("interim", "final")
SCALES = ("relative", "points")
AGAINST = ("matched", "baseline")
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
class Baseline:
    """A versioned baseline: the rate a tranche is compared with, and exactly what it measured."""

    rate: float
    period: str
    measure: str
    version: str
    n: int | None = None
    counting: str = "offences"
    disposals: tuple[str, ...] = ("conviction", "caution")

    def to_dict(self) -> dict[str, object]:
        out: dict[str, Any] = {"rate": self.rate, "period": self.period, "measure": self.measure}
        if self.n is not None:
            out["n"] = self.n
        out.update(counting=self.counting, disposals=list(self.disposals), version=self.version)
        return out


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
        return PaymentRule(f"{name} hurdle", self.at_least, cast(Scale, self.scale), alpha, cast(Measure, self.measure))

    def to_dict(self) -> dict[str, object]:
        return {
            "measure": self.measure,
            "at_least": self.at_least,
            "scale": self.scale,
            "decide_on": self.decide_on,
            "alpha": self.alpha,
        }


@dataclass(frozen=True)
class ContractRule:
    """A payment rule: what it tests, when it settles, and what it pays or claws back."""

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
    cap: float | None = None
    releases_at_risk: bool = False
    claws_back: bool = False
    hurdle: Hurdle | None = None

    def payment_rule(self) -> PaymentRule:
        """The statistical test (``metrics.thresholds.PaymentRule``) this rule applies."""
        alpha = self.alpha if self.decide_on == "lower_bound" else None
        return PaymentRule(self.name, self.at_least, cast(Scale, self.scale), alpha, cast(Measure, self.measure))

    def describe(self) -> str:
        amount = f"{self.at_least * 100:g} points" if self.scale == "points" else f"{self.at_least:.1%}"
        how = "point estimate" if self.decide_on == "estimate" else f"lower {1 - self.alpha:.0%} bound"
        when = "at final settlement, all tranches pooled" if self.type == "pooled" else f"per tranche at {self.settle}"
        pays = []
        if self.price_per_event:
            pays.append(f"£{self.price_per_event:,.2f} per {'person' if self.measure == 'binary' else 'event'} avoided")
        if self.amount:
            pays.append(f"£{self.amount:,.2f}")
        if self.releases_at_risk:
            pays.append("releases the withheld fee")
        if self.claws_back:
            pays.append("missed: claws back the clawback share")
        cap = f", capped at £{self.cap:,.0f}" if self.cap is not None else ""
        hurdle = f"; only if the {self.hurdle.measure} measure also falls" if self.hurdle else ""
        return (
            f"{self.name}: {self.measure} at least {amount} below the {self.against} comparison ({how}), {when}; "
            f"{', '.join(pays) or 'pays nothing'}{cap}{hurdle}."
        )

    def to_dict(self) -> dict[str, object]:
        out: dict[str, Any] = {
            "type": self.type,
            "measure": self.measure,
            "against": self.against,
            "scale": self.scale,
            "at_least": self.at_least,
            "decide_on": self.decide_on,
            "alpha": self.alpha,
        }
        if self.type == "tranche":
            out["settle"] = self.settle
        out.update(price_per_event=self.price_per_event, amount=self.amount)
        if self.cap is not None:
            out["cap"] = self.cap
        out.update(releases_at_risk=self.releases_at_risk, claws_back=self.claws_back)
        if self.hurdle is not None:
            out["hurdle"] = self.hurdle.to_dict()
        return out


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
    ratecard: RateCard | None = None
    source: str | None = None
    digest: str = ""
    data_map: str | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def prices(self) -> dict[str, object]:
        """``[payment.prices]``: price per outcome price key (one number or a table by segment)."""
        return dict(self.spec.payment.get("prices", {}))

    @property
    def tables(self) -> tuple[str, ...]:
        """The data tables a settlement of this contract reads."""
        needed = ["people"]
        r = self.spec.reoffending
        if self.rules or (r is not None and r.price_key in self.prices):
            needed.append("offences")
        if self.prices:
            needed.append("assessments")
        if self.matched is not None and any(r.against == "matched" for r in self.rules):
            needed += ["comparison", "pool"]
        if self.ratecard is not None:
            needed += ["claims", "spells"] if self.ratecard.spell_kinds else ["claims"]
        return tuple(needed)

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
            spec = MetricSpec.from_dict(dict(raw), base_dir=base_dir)
            contract = _build(spec, source)
            data_map = _data_map(spec.terms, base_dir)
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
            b = self.baseline
            lines.append(
                f"Counterfactual: baseline {b.measure} rate {b.rate:g} ({b.period}, "
                f"{'fixed' if b.n is None else f'n = {b.n:,}'}, version {b.version})."
            )
        lines += [f"Rule {r.describe()}" for r in self.rules]
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
        yield
    except ParameterError as exc:
        key = f"payment.{exc.parameter}" if exc.parameter else "payment"
        message = f"{source}: {key}: {exc}" if source else f"{key}: {exc}"
        raise SpecError(message, key=key, source=source) from None
    except SpecError as exc:
        if source is None or str(exc).startswith(source):
            raise
        raise SpecError(f"{source}: {exc}", key=exc.key, source=source) from None


def _build(spec: MetricSpec, source: str | None) -> Contract:
    terms = spec.terms
    cohort = _table(terms, "cohort", "contract")
    _known(cohort, ("eligible", "index"), "cohort")
    eligible = _text(cohort, "eligible", "cohort", None)
    if eligible is not None:
        parse(eligible, key="cohort.eligible")
    tranches = tuple(_tranche(name, t) for name, t in _table(terms, "tranches", "contract").items())
    _apart(tranches)
    matched, baseline = _counterfactual(_table(terms, "counterfactual", "contract"), spec)
    rules = tuple(_rule(name, r, tranches, matched, baseline) for name, r in _table(terms, "rules", "contract").items())
    _reoffending_prices(spec, rules)
    ratecard = _ratecard(terms, spec, tranches)
    return Contract(
        spec=spec,
        tranches=tranches,
        rules=rules,
        structure=_structure(spec, rules),
        matched=matched,
        baseline=baseline,
        eligible=eligible,
        index=_text(cohort, "index", "cohort", "start_date"),
        ratecard=ratecard,
        source=source,
    )


def _ratecard(terms: Mapping, spec: MetricSpec, tranches: tuple[Tranche, ...]) -> RateCard | None:
    """The ``[claims]`` section, read by :mod:`pricing.ratecard`."""
    if "claims" not in terms:
        return None
    card = ratecard_from_mapping(terms["claims"], segments=tuple(spec.segments))
    if not tranches:
        raise SpecError("The '[claims]' section needs [tranches.NAME] to place people in the cohort.", key="tranches")
    return card


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


def _counterfactual(raw: dict, spec: MetricSpec) -> tuple[MatchedPool | None, Baseline | None]:
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
        baseline = _baseline(_table(raw, "baseline", "counterfactual"), spec)
    return matched, baseline


def _baseline(b: dict, spec: MetricSpec) -> Baseline:
    key = "counterfactual.baseline"
    _known(b, ("rate", "n", "period", "measure", "counting", "disposals", "version"), key)
    measure = _choice(b, "measure", key, RULE_MEASURES)
    rate = _number(b, "rate", key, low=0, high=1 if measure == "binary" else math.inf)
    if rate <= 0:
        raise _fail(f"{key}.rate", "above 0", b["rate"])
    n = _number(b, "n", key, None, low=1)
    disposals = b.get("disposals", ["conviction", "caution"])
    if not isinstance(disposals, list) or not disposals or not all(isinstance(d, str) for d in disposals):
        raise _fail(f"{key}.disposals", "a list of disposals such as conviction, caution", disposals)
    baseline = Baseline(
        rate=rate,
        period=_text(b, "period", key),
        measure=measure,
        version=_text(b, "version", key),
        n=None if n is None else int(n),
        counting=_text(b, "counting", key, "offences"),
        disposals=tuple(disposals),
    )
    r = spec.reoffending
    if r is not None and (baseline.counting != r.counting or set(baseline.disposals) != set(r.disposals)):
        raise SpecError(
            f"The '{key}' must measure what [reoffending] measures: a baseline of another definition cannot be "
            f"compared. The baseline counts {baseline.counting} proven by {', '.join(baseline.disposals)}; "
            f"[reoffending] counts {r.counting} proven by {', '.join(r.disposals)}.",
            key=f"{key}.counting" if baseline.counting != r.counting else f"{key}.disposals",
        )
    return baseline


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
    "releases_at_risk",
    "claws_back",
    "hurdle",
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
        price_per_event=_number(raw, "price_per_event", key, 0.0),
        amount=_number(raw, "amount", key, 0.0),
        cap=_number(raw, "cap", key, None),
        releases_at_risk=_flag(raw, "releases_at_risk", key),
        claws_back=_flag(raw, "claws_back", key),
        hurdle=_hurdle(raw["hurdle"], f"{key}.hurdle") if "hurdle" in raw else None,
    )
    _rule_fits(rule, key, tranches, matched, baseline)
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
        if baseline.measure != rule.measure:
            raise SpecError(
                f"The '{key}.measure' key is {rule.measure!r}, but the baseline measures {baseline.measure!r}: "
                "a baseline of another definition cannot be compared.",
                key=f"{key}.measure",
            )
    if rule.hurdle is not None and rule.hurdle.scale == "points" and rule.hurdle.measure != "binary":
        raise _fail(f"{key}.hurdle.scale", "'relative' for a frequency measure", rule.hurdle.scale)


def _reoffending_prices(spec: MetricSpec, rules: tuple[ContractRule, ...]) -> None:
    r = spec.reoffending
    prices = spec.payment.get("prices", {})
    if r is not None and r.price_key and r.price_key in prices and r.measure == "frequency":
        measure = "binary" if r.measure == "binary" else "frequency"
        raise SpecError(
            f"The 'payment.prices.{r.price_key}' key prices a frequency of reoffending, which a contract pays "
            "per event avoided by a rule (a price per person applies to a binary measure): remove the price "
            f'and write [rules.NAME] with type, measure = "{measure}", at_least and '
            f"price_per_event = {prices[r.price_key]!r} (plus [tranches] and a [counterfactual]).",
            key=f"payment.prices.{r.price_key}",
        )
    if rules and r is None:
        raise SpecError("The contract has [rules] on reoffending but no [reoffending] measure.", key="reoffending")
    for rule in rules:
        if r is not None and r.measure not in ("both", rule.measure):
            raise SpecError(
                f"The 'rules.{rule.name}.measure' key is {rule.measure!r}, but [reoffending] measures {r.measure!r}.",
                key=f"rules.{rule.name}.measure",
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
