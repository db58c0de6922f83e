"""Metric specs: the outcomes that pay, the reoffending measure, segments and
payment terms, as a TOML file a commissioner can read.

Layout (see ``examples/specs/`` for complete files)::

    [metric]
    name = "Intermediate outcomes tariff"
    description = "..."
    instrument_files = ["my_scale.toml"]   # optional, relative to the spec

    [outcomes.housing]
    instrument = "accommodation_status"
    label = "Settled accommodation"        # optional
    measure = "score"                      # optional; an item for 'items' instruments
    window = [91, 273]                     # days after the start date
    baseline = [-30, 30]                   # optional (default -30..30)
    price_key = "housing"                  # optional

    [outcomes.housing.rule]
    type = "transition"                    # threshold | improvement | reliable_change | transition | sustained
    from = ["no_fixed_abode", "unsettled"]
    to = ["settled"]

    [reoffending]
    measure = "frequency"                  # binary | frequency | both
    follow_up_days = 365
    waiting_days = 182
    disposals = ["conviction"]
    counting = "court_appearances"         # offences | court_appearances
    index = "start_date"                   # optional
    price_key = "reoffending"              # optional

    [segments.women]
    where = "sex == 'female'"              # a pandas query over people columns
    label = "Women"                        # optional
    priority = 1                           # optional

    [payment]                              # plain validated section (pricing reads it)
    up_front_share = 0.7
    at_risk_share = 0.2
    service_fee = 500000

    [payment.prices]
    housing = 400                          # one price, or a table by segment:
    self_esteem = { default = 200, women = 250 }

Every problem raises :class:`ground.errors.SpecError` naming the key
(e.g. ``outcomes.housing.window``), the allowed values and what was found.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import tomli_w

from ground.dates import DateLike
from ground.errors import Problems, SpecError
from ground.expressions import parse
from ground.threads import each
from outcomes.achievement import Achievement, Cohort, Rule, achievement, check_window, rule_from_dict
from outcomes.instruments import Instrument, get_instrument, load_instrument
from outcomes.reoffending import COUNTINGS, ProvenReoffending, proven_reoffending
from outcomes.scoring import checked_assessments, instrument_rows, score_checked

MEASURES = ("binary", "frequency", "both")
#: The largest amount any money key may hold, £10 billion: more than a national programme's whole budget, and small
#: enough that a ledger of ten million rows of it still sums exactly in whole pence in 64-bit integers.
MAX_POUNDS = 10_000_000_000
#: Sections of a contract that ``pricing.Contract`` reads and validates; a spec keeps them as written.
CONTRACT_SECTIONS = ("cohort", "tranches", "counterfactual", "rules", "claims", "data", "custody", "assumed")
SECTIONS = ("metric", "outcomes", "reoffending", "segments", "payment", *CONTRACT_SECTIONS)
PAYMENT_KEYS = (
    "up_front_share",
    "at_risk_share",
    "at_risk_through_tariff",
    "clawback_share",
    "service_fee",
    "management_fee_share",
    "management_fee_cap",
    "subcontractors",
    "risk_shares",
    "investor",
    "outcome_cap",
    "currency",
    "prices",
    "uplifts",
    "stacking",
)
STACKINGS = ("multiplicative", "additive")


@contextmanager
def _at(key: str) -> Iterator[None]:
    """Prefix any SpecError raised inside with the spec key it concerns."""
    try:
        yield
    except SpecError as exc:
        if exc.key.startswith(key):
            raise
        raise SpecError(f"{key}: {exc}", key=f"{key}.{exc.key}" if exc.key else key) from None


def _table(raw: Any, key: str) -> dict:
    if not isinstance(raw, dict):
        raise SpecError(f"The '{key}' key must be a table. Got {raw!r} instead.", key=key)
    return raw


def _keys(raw: dict, allowed: tuple[str, ...], key: str) -> None:
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise SpecError(
            f"The keys of '{key}' must be among {', '.join(allowed)}. Got {', '.join(unknown)}.",
            key=f"{key}.{unknown[0]}",
        )


def _parts(raw: dict, section: str, problems: Problems) -> list[tuple[str, Any]]:
    """The named parts of a section (``[outcomes.x]``, ``[segments.y]``); none if the section is no table."""
    with problems.at():
        return list(_table(raw.get(section, {}), section).items())
    return []


def _sources(metric: dict) -> None:
    sources = _typed(metric, "sources", list, "metric", [])
    if not all(isinstance(x, str) for x in sources):
        raise SpecError(f"The 'metric.sources' key must list text. Got {list(sources)!r}.", key="metric.sources")


def _typed(raw: dict, name: str, kind: type, key: str, default: Any = ...) -> Any:
    if name not in raw:
        if default is ...:
            raise SpecError(f"The '{key}.{name}' key is required. It is missing.", key=f"{key}.{name}")
        return default
    value = raw[name]
    ok = isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)
    if kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok:
        raise SpecError(f"The '{key}.{name}' key must be {kind.__name__}. Got {value!r} instead.", key=f"{key}.{name}")
    return value


@dataclass(frozen=True)
class OutcomeSpec:
    """One paying outcome: instrument, measure, rule, window and price key."""

    key: str
    instrument: str
    rule: Rule
    window: tuple[int, int]
    baseline: tuple[int, int] = (-30, 30)
    measure: str = "score"
    price_key: str | None = None
    label: str = ""
    payable: str | None = None

    def describe(self, instrument: Instrument | None = None) -> str:
        price = f"; priced as '{self.price_key}'" if self.price_key else "; not priced"
        payable = f"; payable only where {parse(self.payable).describe()}" if self.payable else ""
        return (
            f"{self.label or self.key} [{self.key}]: {self.instrument}"
            f"{'' if self.measure == 'score' else '.' + self.measure} {self.rule.describe(instrument)} "
            f"within days {self.window[0]}-{self.window[1]} of the start date "
            f"(baseline: first assessment on days {self.baseline[0]} to {self.baseline[1]}){price}{payable}."
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"instrument": self.instrument}
        if self.label:
            out["label"] = self.label
        if self.measure != "score":
            out["measure"] = self.measure
        out["window"] = list(self.window)
        out["baseline"] = list(self.baseline)
        if self.price_key:
            out["price_key"] = self.price_key
        if self.payable:
            out["payable"] = self.payable
        out["rule"] = self.rule.to_dict()
        return out


@dataclass(frozen=True)
class ReoffendingSpec:
    """The proven reoffending measure (arguments of :func:`proven_reoffending`)."""

    measure: str = "both"
    follow_up_days: int = 365
    waiting_days: int = 182
    disposals: tuple[str, ...] = ("conviction", "caution")
    counting: str = "offences"
    index: str = "start_date"
    price_key: str | None = None

    def describe(self) -> str:
        unit = "reconviction events (court appearances)" if self.counting == "court_appearances" else "proven offences"
        what = {
            "binary": "binary rate (anyone with a proven reoffence)",
            "frequency": f"frequency of {unit}",
            "both": f"binary rate and frequency of {unit}",
        }[self.measure]
        return (
            f"Proven reoffending, {what}: offences within {self.follow_up_days} days after {self.index}, proven by "
            f"{' or '.join(self.disposals)} within a further {self.waiting_days} days"
            f"{'; priced as ' + repr(self.price_key) if self.price_key else ''}."
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "measure": self.measure,
            "follow_up_days": self.follow_up_days,
            "waiting_days": self.waiting_days,
            "disposals": list(self.disposals),
            "counting": self.counting,
            "index": self.index,
        }
        if self.price_key:
            out["price_key"] = self.price_key
        return out


@dataclass(frozen=True)
class SegmentSpec:
    """A named segment: a rule over people columns in the language of :mod:`ground.expressions`."""

    name: str
    where: str
    label: str = ""
    priority: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"where": self.where}
        if self.label:
            out["label"] = self.label
        if self.priority is not None:
            out["priority"] = self.priority
        return out


@dataclass(frozen=True)
class MetricSpec:
    """A metric: paying outcomes, reoffending measure, segments, payment terms.

    A contract file is a spec with more sections (``cohort``, ``tranches``,
    ``counterfactual``, ``rules``): a spec keeps them, as written, in
    ``terms``, and ``pricing.Contract`` reads and validates them.

    Examples
    --------
    >>> spec = MetricSpec.from_toml("examples/specs/intermediate.toml")  # doctest: +SKIP
    >>> print(spec.describe())  # doctest: +SKIP
    >>> results = spec.achievement(w.people, w.assessments, as_of=w.as_of)  # doctest: +SKIP
    """

    name: str
    description: str = ""
    outcomes: dict[str, OutcomeSpec] = field(default_factory=dict)
    reoffending: ReoffendingSpec | None = None
    segments: dict[str, SegmentSpec] = field(default_factory=dict)
    payment: dict[str, Any] = field(default_factory=dict)
    instrument_files: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    terms: dict[str, Any] = field(default_factory=dict)
    instruments: dict[str, Instrument] = field(default_factory=dict, compare=False, repr=False)

    # -- reading -----------------------------------------------------------------
    @classmethod
    def from_toml(cls, path: str | Path) -> MetricSpec:
        """Read and validate a spec file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SpecError(f"The spec file must exist. Got {str(path)!r}, which does not.", source=str(path)) from None
        except (UnicodeDecodeError, IsADirectoryError, PermissionError) as exc:
            reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else (exc.strerror or str(exc))
            raise SpecError(f"{path}: cannot read the spec: {reason}.", source=str(path)) from None
        return cls.from_string(text, base_dir=path.parent, source=str(path))

    @classmethod
    def from_string(cls, text: str, base_dir: str | Path = ".", source: str | None = None) -> MetricSpec:
        """Parse a spec from TOML text (instrument files relative to ``base_dir``)."""
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(
                f"The spec{' ' + source if source else ''} is not valid TOML: {exc}.", source=source
            ) from None
        try:
            return cls.from_dict(raw, base_dir=base_dir)
        except SpecError as exc:
            raise SpecError(
                f"{source}: {exc}" if source else str(exc), key=exc.key, source=source, problems=exc.problems
            ) from None

    @classmethod
    def from_dict(cls, raw: dict[str, Any], base_dir: str | Path = ".") -> MetricSpec:
        """Validate a parsed spec (the TOML layout as nested dicts); every part's problems are raised together."""
        problems = Problems()
        with problems.at():
            _keys(raw, SECTIONS, "spec")
        metric: dict = {}
        with problems.at():
            metric = _table(raw.get("metric"), "metric") if "metric" in raw else {}
            _keys(metric, ("name", "description", "instrument_files", "sources"), "metric")
            _typed(metric, "name", str, "metric")
            _typed(metric, "description", str, "metric", "")
        files: tuple = ()
        with problems.at():
            files = tuple(_typed(metric, "instrument_files", list, "metric", []))
        with problems.at():
            _sources(metric)
        instruments = {}
        for i, f in enumerate(files):
            with problems.at(), _at(f"metric.instrument_files[{i}]"):
                inst = load_instrument(Path(base_dir) / f)
                instruments[inst.name] = inst
        outcomes = {}
        outcome_parts = _parts(raw, "outcomes", problems)
        for key, table in outcome_parts:
            with problems.at(), _at(f"outcomes.{key}"):
                outcomes[key] = _outcome(key, _table(table, f"outcomes.{key}"), instruments)
        reoffending = None
        if "reoffending" in raw:
            with problems.at(), _at("reoffending"):
                reoffending = _reoffending(_table(raw["reoffending"], "reoffending"))
        segments = {}
        segment_parts = _parts(raw, "segments", problems)
        for key, table in segment_parts:
            with problems.at():
                segments[key] = _segment(key, _table(table, f"segments.{key}"))
        # Prices are checked against the price keys and segments as written, even those whose outcome or
        # segment failed above: a price is not reported as unknown because its outcome has a mistake of its own.
        tables = [t for _, t in outcome_parts] + [raw.get("reoffending")]
        keys = [t.get("price_key") for t in tables if isinstance(t, dict)]
        price_keys = {key for key in keys if isinstance(key, str) and key}
        written = {key for key, _ in segment_parts}
        payment: dict = {}
        with problems.at():
            payment = _payment(_table(raw.get("payment", {}), "payment"), price_keys, written, problems)
        problems.check()
        name = metric["name"]
        sources = tuple(metric.get("sources", ()))
        return cls(
            name=name,
            description=metric.get("description", ""),
            outcomes=outcomes,
            reoffending=reoffending,
            segments=segments,
            payment=payment,
            instrument_files=files,
            sources=sources,
            terms={k: raw[k] for k in CONTRACT_SECTIONS if k in raw},
            instruments=instruments,
        )

    # -- writing -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The TOML layout as nested dicts (``from_dict`` reads it back)."""
        metric: dict[str, Any] = {"name": self.name}
        if self.description:
            metric["description"] = self.description
        if self.instrument_files:
            metric["instrument_files"] = list(self.instrument_files)
        if self.sources:
            metric["sources"] = list(self.sources)
        out: dict[str, Any] = {"metric": metric, **self.terms}
        if self.outcomes:
            out["outcomes"] = {k: o.to_dict() for k, o in self.outcomes.items()}
        if self.reoffending is not None:
            out["reoffending"] = self.reoffending.to_dict()
        if self.segments:
            out["segments"] = {k: s.to_dict() for k, s in self.segments.items()}
        if self.payment:
            out["payment"] = self.payment
        return out

    def to_toml(self) -> str:
        """The spec as TOML text; ``from_string(spec.to_toml())`` gives it back."""
        return tomli_w.dumps(self.to_dict())

    # -- reading out -------------------------------------------------------------
    def instrument(self, name: str) -> Instrument:
        return get_instrument(name, self.instruments)

    def describe(self) -> str:
        """The spec in plain words."""
        lines = [f"Metric: {self.name}"]
        if self.description:
            lines.append(f"  {self.description}")
        lines.append(f"Outcomes that pay ({len(self.outcomes)}):")
        lines += [f"  - {o.describe(self.instrument(o.instrument))}" for o in self.outcomes.values()]
        if self.reoffending is not None:
            lines.append(f"Reoffending: {self.reoffending.describe()}")
        else:
            lines.append("Reoffending: not measured.")
        if self.segments:
            lines.append(f"Segments ({len(self.segments)}):")
            lines += [
                f"  - {s.label or s.name} [{s.name}]: people where {parse(s.where).describe()}"
                f"{'' if s.priority is None else f' (priority {s.priority})'}"
                for s in self.segments.values()
            ]
        if self.payment:
            lines.append("Payment:")
            for k, v in self.payment.items():
                if k == "prices":
                    lines += [f"  price {pk}: {pv}" for pk, pv in v.items()]
                else:
                    lines.append(f"  {k.replace('_', ' ')}: {v}")
        return "\n".join(lines)

    def achievement(
        self, people: pd.DataFrame, assessments: pd.DataFrame, as_of: DateLike | None = None
    ) -> dict[str, Achievement]:
        """Judge every outcome of the spec; each instrument is scored once.

        ``as_of`` defaults to the latest assessment date in ``assessments``.
        """
        if not self.outcomes:
            return {}
        # Checked and coded once (ids, instruments and items as integer codes) for every instrument,
        # and the cohort read once for every outcome.
        checked = checked_assessments(assessments)
        if as_of is None and len(checked):
            as_of = checked["assessed_on"].max()
        cohort = Cohort.of(people)

        def judge(name: str) -> dict[str, Achievement]:
            # An instrument's scores are let go once its outcomes are judged.
            scored = score_checked(checked, self.instrument(name))
            return {
                key: achievement(cohort, scored, o.rule, o.window, o.baseline, as_of=as_of, measure=o.measure)
                for key, o in self.outcomes.items()
                if o.instrument == name
            }

        # Two instruments at a time, the one with most rows first: on two cores the largest (nationally tens of
        # millions of rows) is judged beside the others in turn, and no more than two instruments' occasions
        # are ever held together, however many cores there are.
        judged = {key: a for found in each(judge, self._instruments(checked), threads=2) for key, a in found.items()}
        return {key: judged[key] for key in self.outcomes}

    def _instruments(self, assessments: pd.DataFrame) -> list[str]:
        """The instruments the outcomes use, each once, the one with most rows in ``assessments`` first."""
        names = list(dict.fromkeys(o.instrument for o in self.outcomes.values()))
        rows = dict(zip(names, instrument_rows(assessments, [self.instrument(n) for n in names]), strict=True))
        return sorted(names, key=rows.__getitem__, reverse=True)  # stable: the outcomes' order among equals

    def outcome_rates(
        self, people: pd.DataFrame, assessments: pd.DataFrame, as_of: DateLike | None = None
    ) -> pd.DataFrame:
        """Achievement rate of every outcome with its Wilson 95% CI and n.

        One row per outcome: outcome, label, achieved, n (measurable: achieved
        + not achieved), rate, ci_low, ci_high, not_yet_measurable,
        not_measurable, unmeasured (due a measurement and had none: inside n
        as not achieved, or inside not_measurable when the rule reports them
        apart); the four status counts add up to ``len(people)``.
        """
        return self.rates(self.achievement(people, assessments, as_of=as_of))

    def rates(self, results: Mapping[str, Achievement]) -> pd.DataFrame:
        """:meth:`outcome_rates` from results already judged (``MetricSpec.achievement``)."""
        rows = []
        for key, result in results.items():
            rate, counts = result.rate(), result.counts
            rows.append(
                {
                    "outcome": key,
                    "label": self.outcomes[key].label or key,
                    "achieved": rate.k,
                    "n": rate.n,
                    "rate": rate.estimate,
                    "ci_low": rate.ci_low,
                    "ci_high": rate.ci_high,
                    "not_yet_measurable": int(counts["not_yet_measurable"]),
                    "not_measurable": int(counts["not_measurable"]),
                    "unmeasured": result.unmeasured,
                }
            )
        return pd.DataFrame(rows)

    def proven_reoffending(
        self, people: pd.DataFrame, offences: pd.DataFrame, as_of: DateLike | None = None
    ) -> ProvenReoffending:
        """The spec's reoffending measure on a cohort."""
        if self.reoffending is None:
            raise SpecError(f"The spec '{self.name}' has no [reoffending] section.", key="reoffending")
        r = self.reoffending
        return proven_reoffending(
            people,
            offences,
            index=r.index,
            follow_up_days=r.follow_up_days,
            waiting_days=r.waiting_days,
            as_of=as_of,
            disposals=r.disposals,
            counting=r.counting,
        )


def _outcome(key: str, raw: dict, instruments: dict[str, Instrument]) -> OutcomeSpec:
    _keys(
        raw, ("instrument", "label", "measure", "window", "baseline", "price_key", "rule", "payable"), f"outcomes.{key}"
    )
    payable = _typed(raw, "payable", str, f"outcomes.{key}", None)
    if payable is not None:
        # Parsed here, so a bad or hostile rule is refused when the file is read.
        parse(payable, key=f"outcomes.{key}.payable")
    name = _typed(raw, "instrument", str, f"outcomes.{key}")
    with _at(f"outcomes.{key}.instrument"):
        instrument = get_instrument(name, instruments)
    measure = _typed(raw, "measure", str, f"outcomes.{key}", "score")
    if "window" not in raw:
        raise SpecError(f"The 'outcomes.{key}.window' key is required. It is missing.", key=f"outcomes.{key}.window")
    with _at(f"outcomes.{key}.window"):
        window = check_window(raw["window"])
    with _at(f"outcomes.{key}.baseline"):
        baseline = check_window(raw.get("baseline", [-30, 30]), "baseline")
    rule = rule_from_dict(raw.get("rule"), f"outcomes.{key}.rule")
    with _at(f"outcomes.{key}.measure"):
        instrument.measure_item(measure)
    with _at(f"outcomes.{key}.rule"):
        rule.check(instrument, measure)
    return OutcomeSpec(
        key=key,
        instrument=name,
        rule=rule,
        window=window,
        baseline=baseline,
        measure=measure,
        price_key=_typed(raw, "price_key", str, f"outcomes.{key}", None),
        label=_typed(raw, "label", str, f"outcomes.{key}", ""),
        payable=payable,
    )


def _reoffending(raw: dict) -> ReoffendingSpec:
    _keys(
        raw, ("measure", "follow_up_days", "waiting_days", "disposals", "counting", "index", "price_key"), "reoffending"
    )
    default = ReoffendingSpec()
    measure = _typed(raw, "measure", str, "reoffending", default.measure)
    if measure not in MEASURES:
        raise SpecError(
            f"The 'reoffending.measure' key must be one of {', '.join(MEASURES)}. Got {measure!r} instead.",
            key="reoffending.measure",
        )
    counting = _typed(raw, "counting", str, "reoffending", default.counting)
    if counting not in COUNTINGS:
        raise SpecError(
            f"The 'reoffending.counting' key must be one of {', '.join(COUNTINGS)}. Got {counting!r} instead.",
            key="reoffending.counting",
        )
    days = {}
    for name, least in (("follow_up_days", 1), ("waiting_days", 0)):
        days[name] = _typed(raw, name, int, "reoffending", getattr(default, name))
        if days[name] < least:
            raise SpecError(
                f"The 'reoffending.{name}' key must be a whole number of days, at least {least}. Got {days[name]}.",
                key=f"reoffending.{name}",
            )
    disposals = _typed(raw, "disposals", list, "reoffending", list(default.disposals))
    if not disposals or not all(isinstance(d, str) and d for d in disposals):
        raise SpecError(
            f"The 'reoffending.disposals' key must list disposals such as conviction, caution. Got {disposals!r}.",
            key="reoffending.disposals",
        )
    return ReoffendingSpec(
        measure=measure,
        disposals=tuple(disposals),
        counting=counting,
        index=_typed(raw, "index", str, "reoffending", default.index),
        price_key=_typed(raw, "price_key", str, "reoffending", None),
        **days,
    )


def _segment(name: str, raw: dict) -> SegmentSpec:
    key = f"segments.{name}"
    _keys(raw, ("where", "label", "priority"), key)
    where = _typed(raw, "where", str, key)
    # Parsed here, so a bad or hostile rule is refused when the spec is read, naming the spec.
    parse(where, key=f"{key}.where")
    return SegmentSpec(name, where, _typed(raw, "label", str, key, ""), _typed(raw, "priority", int, key, None))


def _amount(value: Any, key: str, what: str = f"an amount from 0 to £{MAX_POUNDS:,}") -> float:
    """A finite number from 0 to :data:`MAX_POUNDS` (TOML allows inf and nan: a price of either is refused)."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value < 0 or value > MAX_POUNDS:
        raise SpecError(f"The '{key}' key must be {what} (finite). Got {value!r} instead.", key=key)
    return float(value)


def _payment(raw: dict, price_keys: set[str], segments: set[str], problems: Problems) -> dict[str, Any]:
    """``[payment]``, each key checked on its own so that every wrong key is reported together."""
    with problems.at():
        _keys(raw, PAYMENT_KEYS, "payment")
    for name in ("up_front_share", "at_risk_share", "management_fee_share", "management_fee_cap", "clawback_share"):
        with problems.at():
            if name in raw and _amount(_typed(raw, name, float, "payment"), f"payment.{name}", "a share in [0, 1]") > 1:
                raise SpecError(
                    f"The 'payment.{name}' key must be a share in [0, 1]. Got {raw[name]!r} instead.",
                    key=f"payment.{name}",
                )
    for name in ("service_fee", "outcome_cap"):
        with problems.at():
            if name in raw:
                _amount(_typed(raw, name, float, "payment"), f"payment.{name}")
    with problems.at():
        _typed(raw, "currency", str, "payment", "")
    with problems.at():
        _typed(raw, "at_risk_through_tariff", bool, "payment", False)
    with problems.at():
        if "investor" in raw and not isinstance(raw["investor"], (str, bool)):
            raise SpecError(
                f"The 'payment.investor' key must be the investor's name or true. Got {raw['investor']!r} instead.",
                key="payment.investor",
            )
    for table in ("subcontractors", "risk_shares"):
        with problems.at():
            for name, share in _table(raw.get(table, {}), f"payment.{table}").items():
                _amount(share, f"payment.{table}.{name}", "a share in [0, 1]")
    with problems.at():
        _uplifts(raw, segments)
    with problems.at():
        _prices(_table(raw.get("prices", {}), "payment.prices"), price_keys, segments)
    return raw


def _uplifts(raw: dict, segments: set[str]) -> None:
    stacking = _typed(raw, "stacking", str, "payment", STACKINGS[0])
    if stacking not in STACKINGS:
        raise SpecError(
            f"The 'payment.stacking' key must be one of {', '.join(STACKINGS)}. Got {stacking!r} instead.",
            key="payment.stacking",
        )
    for seg, share in _table(raw.get("uplifts", {}), "payment.uplifts").items():
        key = f"payment.uplifts.{seg}"
        if seg not in segments:
            raise SpecError(
                f"The segments of 'payment.uplifts' must be among {', '.join(sorted(segments)) or '(none defined)'}. "
                f"Got {seg!r}.",
                key=key,
            )
        _amount(share, key, "an uplift >= 0 (a share of the base price: 0.2 = 20% more)")


def _prices(prices: dict, price_keys: set[str], segments: set[str]) -> None:
    allowed = ", ".join(sorted(price_keys)) or "(none: no outcome has a price_key)"
    for pk, price in prices.items():
        key = f"payment.prices.{pk}"
        if pk not in price_keys:
            raise SpecError(
                f"The '{key}' key must be the price_key of an outcome (or of [reoffending]): one of {allowed}. "
                f"Got {pk!r}, which no outcome uses.",
                key=key,
            )
        by_segment = price if isinstance(price, dict) else {"default": price}
        for seg, amount in by_segment.items():
            if seg != "default" and seg not in segments:
                raise SpecError(
                    f"The segments of '{key}' must be 'default' or one of "
                    f"{', '.join(sorted(segments)) or '(none defined)'}. "
                    f"Got {seg!r}.",
                    key=f"{key}.{seg}",
                )
            _amount(amount, key, f"a price from 0 to £{MAX_POUNDS:,}")
