"""Achievement rules: turn scores into achieved / not achieved / not measurable.

Every rule is judged inside a window of days relative to each person's start
date (e.g. days 91-273) against a baseline: the first scorable occasion in a
baseline window (default days -30..+30). Each person in ``people`` gets one
status:

- ``achieved``: the occasion that counts (see below) meets the rule;
- ``not_achieved``: the window has closed and the occasion that counts does
  not meet the rule, or (by default) the person was due a measurement and has
  none that can be scored;
- ``not_yet_measurable``: the window closes after ``as_of`` (never counted as
  not achieved);
- ``not_measurable``: with the reason (no start date; baseline state not
  eligible for a transition; and, only when the rule says
  ``unmeasured="apart"``, no baseline assessment, baseline not scorable, no
  assessment in the window, no scorable assessment in the window).

Which assessment counts
-----------------------
A rule states it (``counts``), because letting *any* assessment in the window
count pays for noise: with no real change and 1-point rating noise, a 2-point
improvement is met by 15% of people with one assessment in the window and by
47% with eight. Every extra assessment is another draw.

- ``counts="last"`` (the default): the last scorable assessment in the window;
- ``counts="closest"``: the scorable assessment closest to ``target_day``
  (days from the start date; ties go to the earlier one);
- ``counts="any"``: any scorable assessment in the window (the old rule; it
  rewards assessing often, and :func:`validation.measurement.counting_findings`
  flags it).

People not measured
-------------------
A person who was due a measurement (a baseline, for rules that need one, and
an assessment in the window) but has none that can be scored is *unmeasured*.
``unmeasured="not_achieved"`` (the default) keeps them in the denominator as
not achieved, so leaving likely failures unassessed does not raise a rate;
``unmeasured="apart"`` reports them as not measurable, outside the rate, and
every report shows how many. Either way the counts reconcile with the cohort,
and ``per_person["measured"]`` says who was measured.

Rules
-----
``Threshold(at_least=, at_most=)``, ``Improvement(by=)``,
``ReliableChange(sd=, reliability=)`` (Jacobson & Truax 1991),
``Transition(from_=, to=)`` (state names or codes) and
``Sustained(rule, for_days=)``: the occasion that counts meets the inner rule,
and so did every scorable occasion back to one at least ``for_days`` earlier,
all inside the window. A contrary assessment in between (settled, then no
fixed abode, then settled again) starts the count again.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ground.checks import InstanceOf, Interval, Options, check_parameter, parameter_error, require_columns
from ground.dates import DateLike, parse_date
from ground.errors import ParameterError, SpecError
from outcomes.codes import codes_of, text_column
from outcomes.instruments import Instrument
from outcomes.rates import Proportion
from outcomes.scoring import Scores
from outcomes.tables import as_dates, unique_people

STATUSES = ("achieved", "not_achieved", "not_yet_measurable", "not_measurable")
#: Which assessment in the window counts: the last, the one closest to a target day, or any.
COUNTS = ("last", "closest", "any")
#: What happens to people due a measurement who have none: not achieved, or reported apart.
UNMEASURED = ("not_achieved", "apart")
#: The counting every rule has unless it says otherwise.
DEFAULT_COUNTING: dict[str, Any] = {"counts": "last", "unmeasured": "not_achieved"}


def reliable_change_index(before, after, sd: float, reliability: float):
    """Jacobson-Truax reliable change index.

    RCI = (after - before) / S_diff, with S_diff = sqrt(2 SE^2) and
    SE = sd * sqrt(1 - reliability) (the standard error of measurement).

    Parameters
    ----------
    before, after : float or array-like
        Scores at baseline and at follow-up.
    sd : float
        Standard deviation of the scale (of baseline scores, or a published norm).
    reliability : float
        Test-retest reliability of the scale, in [0, 1).

    Examples
    --------
    >>> round(float(reliable_change_index(15, 25, sd=5.0, reliability=0.85)), 4)
    3.6515
    """
    se = sd * np.sqrt(1 - reliability)
    return (np.asarray(after, dtype=float) - np.asarray(before, dtype=float)) / np.sqrt(2 * se**2)


def _number(value: Any, key: str, caller: str, *, positive: bool = False) -> float:
    low = Interval(float, 0, None, closed="neither") if positive else Interval(float)
    return float(check_parameter(value, key, caller, low))


@dataclass(frozen=True)
class Rule:
    """Base of the achievement rules (frozen dataclasses below).

    Every rule also says which assessment in the window counts (``counts``,
    ``target_day``) and what happens to people who were not measured
    (``unmeasured``); see the module docstring. These are keyword-only.
    """

    _: KW_ONLY
    counts: str = "last"
    target_day: int | None = None
    unmeasured: str = "not_achieved"
    type: ClassVar[str]
    needs_baseline: ClassVar[bool] = True

    def __post_init__(self) -> None:
        caller = type(self).__name__
        check_parameter(self.counts, "counts", caller, Options(*COUNTS))
        check_parameter(self.unmeasured, "unmeasured", caller, Options(*UNMEASURED))
        if self.counts == "closest":
            check_parameter(self.target_day, "target_day", caller, Interval(int))
        elif self.target_day is not None:
            raise parameter_error("target_day", caller, "None unless counts='closest'", self.target_day)

    @property
    def counting(self) -> dict[str, Any]:
        """The counting keys as a spec writes them (``counts``, ``target_day``, ``unmeasured``)."""
        out: dict[str, Any] = {"counts": self.counts, "unmeasured": self.unmeasured}
        if self.target_day is not None:
            out["target_day"] = self.target_day
        return out

    def _spec_counting(self) -> dict[str, Any]:
        """The counting keys a spec needs to write this rule: those that differ from the defaults."""
        return {k: v for k, v in self.counting.items() if DEFAULT_COUNTING.get(k) != v}

    def counting_text(self) -> str:
        """Which assessment counts and what happens to the unmeasured, in words."""
        which = {
            "last": "the last assessment in the window counts",
            "closest": f"the assessment closest to day {self.target_day} counts",
            "any": "any assessment in the window counts (gameable: each extra assessment is another chance)",
        }[self.counts]
        apart = {
            "not_achieved": "people not measured count as not achieved",
            "apart": "people not measured are reported apart, outside the rate",
        }[self.unmeasured]
        return f"{which}; {apart}"

    def check(self, instrument: Instrument, measure: str = "score") -> None:
        """Raise SpecError when the rule cannot apply to this instrument/measure."""
        instrument.measure_item(measure)

    def baseline_eligible(self, base: pd.Series, instrument: Instrument, measure: str) -> pd.Series:
        """Whose baseline lets the rule be achieved at all (default: everyone)."""
        return pd.Series(True, index=base.index)

    def occasion_met(self, value: pd.Series, base: pd.Series, instrument: Instrument, measure: str) -> pd.Series:
        raise NotImplementedError

    def describe(self, instrument: Instrument | None = None) -> str:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(frozen=True)
class Threshold(Rule):
    """Achieved when the measure is at least ``at_least`` and/or at most ``at_most``.

    Needs no baseline. Examples: ``Threshold(at_least=20)`` (Rosenberg 20+).
    """

    at_least: float | None = None
    at_most: float | None = None
    type: ClassVar[str] = "threshold"
    needs_baseline: ClassVar[bool] = False

    def __post_init__(self):
        super().__post_init__()
        if self.at_least is None and self.at_most is None:
            raise parameter_error("at_least", "Threshold", "a number when 'at_most' is not given", None)
        for key in ("at_least", "at_most"):
            if getattr(self, key) is not None:
                _number(getattr(self, key), key, "Threshold")
        if self.at_least is not None and self.at_most is not None and self.at_least > self.at_most:
            raise parameter_error("at_least", "Threshold", f"at most 'at_most' ({self.at_most:g})", self.at_least)

    def check(self, instrument, measure="score"):
        lo, hi = instrument.measure_range(measure)
        for key in ("at_least", "at_most"):
            v = getattr(self, key)
            if v is not None and not lo <= v <= hi:
                raise SpecError(
                    f"The '{key}' of a threshold on {instrument.name}.{measure} must be within {lo:g}..{hi:g}. "
                    f"Got {v:g} instead.",
                    key=key,
                )

    def occasion_met(self, value, base, instrument, measure):
        met = pd.Series(True, index=value.index)
        if self.at_least is not None:
            met &= value >= self.at_least
        if self.at_most is not None:
            met &= value <= self.at_most
        return met

    def describe(self, instrument=None):
        parts = []
        if self.at_least is not None:
            parts.append(f"at least {self.at_least:g}")
        if self.at_most is not None:
            parts.append(f"at most {self.at_most:g}")
        return "scores " + " and ".join(parts)

    def to_dict(self):
        out: dict[str, Any] = {"type": self.type}
        if self.at_least is not None:
            out["at_least"] = self.at_least
        if self.at_most is not None:
            out["at_most"] = self.at_most
        return out | self._spec_counting()


@dataclass(frozen=True)
class Improvement(Rule):
    """Achieved when the measure improves on baseline by at least ``by`` points
    (in the instrument's better direction)."""

    by: float
    type: ClassVar[str] = "improvement"

    def __post_init__(self):
        super().__post_init__()
        _number(self.by, "by", "Improvement", positive=True)

    def occasion_met(self, value, base, instrument, measure):
        return instrument.sign * (value - base) >= self.by

    def describe(self, instrument=None):
        return f"improves on baseline by at least {self.by:g} points"

    def to_dict(self):
        return {"type": self.type, "by": self.by} | self._spec_counting()


@dataclass(frozen=True)
class ReliableChange(Rule):
    """Achieved on reliable improvement: the Jacobson-Truax RCI beyond ``z``
    (1.96, p < .05) in the better direction.

    ``sd`` is the baseline (or normative) SD of the measure; ``reliability``
    the test-retest reliability, by default the instrument's own.
    """

    sd: float
    reliability: float | None = None
    z: float = 1.96
    type: ClassVar[str] = "reliable_change"

    def __post_init__(self):
        super().__post_init__()
        _number(self.sd, "sd", "ReliableChange", positive=True)
        _number(self.z, "z", "ReliableChange", positive=True)
        if self.reliability is not None:
            check_parameter(self.reliability, "reliability", "ReliableChange", Interval(float, 0, 1, closed="neither"))

    def reliability_for(self, instrument: Instrument) -> float:
        r = self.reliability if self.reliability is not None else instrument.reliability
        if r is None:
            raise SpecError(
                f"A reliable change rule on {instrument.name} needs a 'reliability': the instrument states none. "
                "Give one in the rule (a test-retest correlation between 0 and 1).",
                key="reliability",
            )
        return r

    def check(self, instrument, measure="score"):
        super().check(instrument, measure)
        self.reliability_for(instrument)

    def occasion_met(self, value, base, instrument, measure):
        rci = reliable_change_index(base, value, self.sd, self.reliability_for(instrument))
        return pd.Series(instrument.sign * rci > self.z, index=value.index)

    def describe(self, instrument=None):
        r = self.reliability if self.reliability is not None or instrument is None else instrument.reliability
        r_text = "the instrument's" if r is None else f"{r:g}"
        return (
            f"reliable improvement on baseline (Jacobson-Truax RCI beyond {self.z:g}; SD {self.sd:g}, "
            f"reliability {r_text})"
        )

    def to_dict(self):
        out: dict[str, Any] = {"type": self.type, "sd": self.sd}
        if self.reliability is not None:
            out["reliability"] = self.reliability
        if self.z != 1.96:
            out["z"] = self.z
        return out | self._spec_counting()


def _states(value: Any, key: str) -> tuple:
    states = (value,) if isinstance(value, (str, int)) else tuple(value)
    if not states:
        raise parameter_error(key, "Transition", "at least one state name or code", value)
    return states


@dataclass(frozen=True)
class Transition(Rule):
    """Achieved when the baseline state is in ``from_`` and the counted state is in ``to``.

    States are names from the instrument (e.g. accommodation_status:
    ``no_fixed_abode``, ``unsettled``, ``settled``) or codes. People whose
    baseline state is not in ``from_`` are not measurable for this outcome.
    """

    from_: tuple = field(default=())
    to: tuple = field(default=())
    type: ClassVar[str] = "transition"

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "from_", _states(self.from_, "from_"))
        object.__setattr__(self, "to", _states(self.to, "to"))

    def _codes(self, instrument: Instrument, measure: str) -> tuple[list[int], list[int]]:
        item = instrument.measure_item(measure)
        if item is None:
            raise SpecError(
                f"A transition needs a measure with states; {instrument.name}.{measure} is a total score.",
                key="type",
            )
        return [item.code_of(s) for s in self.from_], [item.code_of(s) for s in self.to]

    def check(self, instrument, measure="score"):
        self._codes(instrument, measure)

    def baseline_eligible(self, base, instrument, measure):
        return base.isin(self._codes(instrument, measure)[0])

    def occasion_met(self, value, base, instrument, measure):
        from_codes, to_codes = self._codes(instrument, measure)
        return base.isin(from_codes) & value.isin(to_codes)

    def describe(self, instrument=None):
        return f"moves from {' or '.join(map(str, self.from_))} at baseline to {' or '.join(map(str, self.to))}"

    def to_dict(self):
        return {"type": self.type, "from": list(self.from_), "to": list(self.to)} | self._spec_counting()


@dataclass(frozen=True)
class Sustained(Rule):
    """The counted occasion meets the inner rule, and so did every scorable
    occasion back to one at least ``for_days`` earlier (all in the window).

    The inner rule's own counting is not used: say which occasion counts on
    the ``Sustained`` rule.
    """

    rule: Rule
    for_days: int
    type: ClassVar[str] = "sustained"

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.rule, Rule) or isinstance(self.rule, Sustained):
            raise parameter_error(
                "rule", "Sustained", "a threshold, improvement, reliable_change or transition rule", self.rule
            )
        if self.rule.counting != DEFAULT_COUNTING:
            raise parameter_error(
                "rule", "Sustained", "a rule with the default counting (give counts on the Sustained rule)", self.rule
            )
        check_parameter(self.for_days, "for_days", "Sustained", Interval(int, 1, None))

    @property
    def needs_baseline(self) -> bool:  # type: ignore[override]
        return self.rule.needs_baseline

    def check(self, instrument, measure="score"):
        self.rule.check(instrument, measure)

    def baseline_eligible(self, base, instrument, measure):
        return self.rule.baseline_eligible(base, instrument, measure)

    def occasion_met(self, value, base, instrument, measure):
        return self.rule.occasion_met(value, base, instrument, measure)

    def describe(self, instrument=None):
        return (
            f"{self.rule.describe(instrument)}, and so at every assessment over at least {self.for_days} days "
            "(a contrary assessment in between starts the count again)"
        )

    def to_dict(self):
        return {"type": self.type, "for_days": self.for_days, "rule": self.rule.to_dict()} | self._spec_counting()


RULES: dict[str, type] = {r.type: r for r in (Threshold, Improvement, ReliableChange, Transition, Sustained)}
_COUNTING_KEYS = {"counts", "target_day", "unmeasured"}
_PARAMS = {
    "threshold": {"at_least", "at_most"},
    "improvement": {"by"},
    "reliable_change": {"sd", "reliability", "z"},
    "transition": {"from", "to"},
    "sustained": {"for_days", "rule"},
}
_NAMES = {"from": "from_"}


def rule_from_dict(raw: object, key: str = "rule", *, inner: bool = False) -> Rule:
    """Build a rule from its TOML table (``type``, its parameters and the counting keys).

    The counting keys are ``counts`` (``"last"``, the default; ``"closest"``
    with ``target_day``; or ``"any"``) and ``unmeasured``
    (``"not_achieved"``, the default, or ``"apart"``). The inner rule of a
    ``sustained`` rule (``inner=True``) takes no counting keys: they belong on
    the sustained rule. Errors are SpecErrors naming ``key`` (e.g.
    ``outcomes.housing.rule.to``).

    Parameters
    ----------
    raw : dict
        The rule's table: ``type``, its parameters and the counting keys.
    key : str
        Where the table is in the spec, named in any error.
    inner : bool
        The inner rule of a ``sustained`` rule (no counting keys).

    Examples
    --------
    >>> rule_from_dict({"type": "improvement", "by": 2, "counts": "closest", "target_day": 182}).describe()
    'improves on baseline by at least 2 points'
    """
    if not isinstance(raw, dict):
        raise SpecError(f"The '{key}' key must be a table with a 'type'. Got {raw!r} instead.", key=key)
    kind = raw.get("type")
    if kind not in RULES:
        raise SpecError(
            f"The '{key}.type' key must be one of {', '.join(RULES)}. Got {kind!r} instead.", key=f"{key}.type"
        )
    params = {k: v for k, v in raw.items() if k != "type"}
    allowed = _PARAMS[kind] | (set() if inner else _COUNTING_KEYS)
    unknown = sorted(set(params) - allowed)
    if unknown:
        where = " (counting keys belong on the sustained rule)" if inner and set(unknown) & _COUNTING_KEYS else ""
        raise SpecError(
            f"The parameters of a {kind} rule at '{key}' must be among {', '.join(sorted(allowed))}{where}. "
            f"Got {', '.join(unknown)}.",
            key=f"{key}.{unknown[0]}",
        )
    needed = {"improvement": "by", "reliable_change": "sd", "sustained": "for_days"}.get(kind)
    if needed and needed not in params:
        raise SpecError(f"A {kind} rule at '{key}' must give '{needed}'. It is missing.", key=f"{key}.{needed}")
    if kind == "sustained":
        params["rule"] = rule_from_dict(params.get("rule"), f"{key}.rule", inner=True)
    try:
        return RULES[kind](**{_NAMES.get(k, k): v for k, v in params.items()})
    except ParameterError as exc:
        name = {v: k for k, v in _NAMES.items()}.get(exc.parameter, exc.parameter)
        raise SpecError(f"{key}: {exc}", key=f"{key}.{name}" if name else key) from None


def check_window(window: Any, key: str = "window") -> tuple[int, int]:
    """Validate a (start, end) pair of whole days with end >= start (SpecError naming ``key``).

    Parameters
    ----------
    window : object
        The pair as read from a spec: a list or tuple of two whole numbers of days from the start date.
    key : str
        The spec key that holds it, named in the error.

    Examples
    --------
    >>> check_window([91, 273])
    (91, 273)
    >>> check_window([273, 91], "outcomes.contact.window")
    Traceback (most recent call last):
    ...
    ground.errors.SpecError: The 'outcomes.contact.window' end must not be before its start. Got [273, 91] ...
    """
    if (
        not isinstance(window, (list, tuple))
        or len(window) != 2
        or not all(isinstance(d, int) and not isinstance(d, bool) for d in window)
    ):
        raise SpecError(
            f"The '{key}' must be two whole numbers of days [start, end] relative to the start date. "
            f"Got {window!r} instead.",
            key=key,
        )
    if window[1] < window[0]:
        raise SpecError(
            f"The '{key}' end must not be before its start. Got [{window[0]}, {window[1]}] "
            f"(end {window[1]} < start {window[0]}).",
            key=key,
        )
    return int(window[0]), int(window[1])


@dataclass(frozen=True)
class Achievement:
    """Per-person achievement of one outcome, with counts that reconcile.

    Attributes
    ----------
    per_person : DataFrame
        One row per person in ``people`` (same order): person_id, status,
        reason (why not measurable, not yet measurable, or not measured and
        so not achieved), unmeasured (due a measurement and had none that
        could be scored), baseline_on, baseline_value, met_at_baseline (the
        baseline already meets the rule: deadweight for a level rule),
        occasions (scorable assessments in the window), counted_on (the
        occasion that counted), achieved_on (the counted occasion when it
        met the rule; with ``counts="any"`` the first that did),
        achieved_so_far (bool, also for open windows), window_closes.
    rule, window, baseline, as_of, measure, instrument : the inputs.
    """

    per_person: pd.DataFrame
    rule: Rule
    instrument: Instrument
    measure: str
    window: tuple[int, int]
    baseline: tuple[int, int]
    as_of: pd.Timestamp

    @property
    def counts(self) -> pd.Series:
        """People by status (all four, zeros included); they sum to the cohort."""
        return self.per_person["status"].value_counts().reindex(list(STATUSES), fill_value=0)

    @property
    def unmeasured(self) -> int:
        """People due a measurement who had none (not achieved, or apart, as the rule says)."""
        return int(self.per_person["unmeasured"].sum())

    @property
    def reasons(self) -> pd.Series:
        """People by status and reason, for everyone with a reason (not measured, not measurable, open)."""
        pp = self.per_person
        open_ = pp.loc[pp["reason"] != ""]
        return (
            pd.DataFrame({"status": open_["status"].astype(str), "reason": open_["reason"]}).value_counts().sort_index()
        )

    def rate(self, alpha: float = 0.05) -> Proportion:
        """Achieved among achieved + not achieved (which holds the unmeasured unless the rule
        reports them apart), Wilson CI."""
        c = self.counts
        return Proportion.of(int(c["achieved"]), int(c["achieved"] + c["not_achieved"]), alpha)

    def to_frame(self) -> pd.DataFrame:
        return self.per_person

    def to_dict(self) -> dict[str, Any]:
        return {
            "instrument": self.instrument.name,
            "measure": self.measure,
            "rule": self.rule.to_dict(),
            "counting": self.rule.counting,
            "window": list(self.window),
            "baseline": list(self.baseline),
            "as_of": str(self.as_of.date()),
            "counts": {k: int(v) for k, v in self.counts.items()},
            "unmeasured": self.unmeasured,
            "reasons": [
                {"status": s, "reason": r, "n": int(n)}
                for (s, r), n in zip(self.reasons.index, self.reasons.to_numpy())
            ],
            "rate": self.rate().to_dict(),
        }

    def summary(self) -> str:
        c = self.counts
        where = "counted as not achieved" if self.rule.unmeasured == "not_achieved" else "reported apart"
        lines = [
            f"{self.instrument.name}.{self.measure}: {self.rule.describe(self.instrument)}, "
            f"within days {self.window[0]}..{self.window[1]} of start (baseline days "
            f"{self.baseline[0]}..{self.baseline[1]}), as of {self.as_of.date()}; {self.rule.counting_text()}.",
            f"{len(self.per_person)} people: "
            + ", ".join(f"{str(k).replace('_', ' ')} {v}" for k, v in c.items())
            + ".",
            f"Not measured though due: {self.unmeasured} ({where}).",
            f"Achievement rate: {self.rate()}.",
        ]
        reasons = self.reasons
        lines += [f"  {s.replace('_', ' ')}: {r}: {n}" for (s, r), n in zip(reasons.index, reasons.to_numpy())]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _arguments(scores: Scores, rule: Rule, window: Any, baseline: Any, measure: str) -> tuple:
    """Check achievement's arguments; file-style SpecErrors become ParameterErrors naming the argument."""
    caller = "achievement"
    check_parameter(scores, "scores", caller, InstanceOf(Scores, "the result of outcomes.score()"))
    check_parameter(rule, "rule", caller, InstanceOf(Rule, "an achievement rule (Threshold, Improvement, ...)"))
    checked = []
    for name, value in (("window", window), ("baseline", baseline)):
        try:
            checked.append(check_window(value, name))
        except SpecError:
            must = "two whole numbers of days (start, end) with end >= start"
            raise parameter_error(name, caller, must, value) from None
    try:
        rule.check(scores.instrument, measure)
    except SpecError as exc:
        raise parameter_error(
            "rule", caller, "a rule this instrument and measure allow", got=type(rule).__name__, advice=str(exc)
        ) from None
    if rule.counts == "closest" and not (
        rule.target_day is not None and checked[0][0] <= rule.target_day <= checked[0][1]
    ):
        raise parameter_error("rule", caller, f"a rule whose target_day lies in the window {checked[0]}", rule)
    return tuple(checked)


@dataclass(frozen=True)
class Cohort:
    """The people whose outcomes are judged, read once for any number of outcomes.

    Attributes
    ----------
    person_id : numpy.ndarray
        The ids as given (the ``per_person`` frames carry them).
    ids : pandas.Index
        The ids as text: assessments find their person by it (ids compare as text, as the schemas read them).
    start : numpy.ndarray
        Each person's index date (datetime64, NaT where missing).
    index : str
        The column the index dates came from.

    Examples
    --------
    >>> people = pd.DataFrame({"person_id": [7, 8], "start_date": ["2024-01-05", None]})
    >>> Cohort.of(people).ids.tolist()
    ['7', '8']
    """

    person_id: np.ndarray
    ids: pd.Index
    start: np.ndarray
    index: str = "start_date"
    # The last ids looked up and where they are: every outcome of one instrument, and every instrument of one
    # assessments table, looks up the same ids (a million of them nationally).
    _found: dict[str, tuple[pd.Index, np.ndarray]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, people: pd.DataFrame, index: str = "start_date") -> Cohort:
        """The cohort of a people table: ``person_id`` (unique) and the index date column.

        Parameters
        ----------
        people : pandas.DataFrame
            One row per person.
        index : str
            The column holding each person's index date (dates as the schemas read them).

        Examples
        --------
        >>> Cohort.of(pd.DataFrame({"person_id": ["a"], "referral_date": ["2024-02-01"]}), "referral_date").start
        array(['2024-02-01T00:00:00.000000000'], dtype='datetime64[ns]')
        """
        require_columns(people, ["person_id", index], table="people")
        unique_people(people)
        start = as_dates(people[index], "people", index).to_numpy()
        return cls(people["person_id"].to_numpy(), pd.Index(people["person_id"].astype("str")), start, index)

    def __len__(self) -> int:
        return len(self.ids)

    def positions(self, ids: pd.Index) -> np.ndarray:
        """Each of ``ids``' position in the cohort (-1 for no one), the ids compared as text.

        Examples
        --------
        >>> Cohort.of(pd.DataFrame({"person_id": ["a", "b"], "start_date": ["2024-01-05", None]})).positions(
        ...     pd.Index(["b", "c"])).tolist()
        [1, -1]
        """
        last = self._found.get("ids")
        if last is None or last[0] is not ids:  # the same Index object: the same ids (an equal one may read
            # otherwise as text). Ids and places are stored as one pair: instruments judged on other threads
            # (MetricSpec.achievement) never read one table's ids with another's places.
            last = (ids, self.ids.get_indexer(ids.astype("str")))
            self._found["ids"] = last
        found: np.ndarray = last[1]
        return found


@dataclass(frozen=True)
class _Occasions:
    """Scored occasions of people in the cohort known by the as-of date, by person (grouped) then date."""

    person: np.ndarray
    day: np.ndarray
    when: np.ndarray
    value: np.ndarray


def _occasions(cohort: Cohort, scores: Scores, measure: str, as_of: pd.Timestamp) -> _Occasions:
    """Each occasion's position in the cohort, day from its start, date and value (NaN when not scorable).

    People are found by their ids' distinct values, once each, never by joining text row by row.
    """
    s = scores.scores
    codes, ids = codes_of(s["person_id"])
    where = np.append(cohort.positions(ids), -1)[codes]
    when = s["assessed_on"].to_numpy()
    value = np.where(s["scorable"].to_numpy(dtype=bool), s[measure].to_numpy(dtype=float), np.nan)
    start = cohort.start[where]
    # Assessments after as_of are not yet known at as_of; people without a start date have no days.
    known = (where >= 0) & (when <= np.datetime64(as_of)) & ~np.isnat(start)
    where, codes, when, value, start = where[known], codes[known], when[known], value[known], start[known]
    if not _grouped(codes, when):
        order = np.lexsort((when, codes))
        where, when, value, start = where[order], when[order], value[order], start[order]
    return _Occasions(where, (when - start) // np.timedelta64(1, "D"), when, value)


def _grouped(codes: np.ndarray, when: np.ndarray) -> bool:
    """Whether each person's occasions are together and in date order (as ``score`` writes them)."""
    return bool(np.all((codes[1:] > codes[:-1]) | ((codes[1:] == codes[:-1]) & (when[1:] > when[:-1]))))


def _ends(person: np.ndarray, *, last: bool = False) -> np.ndarray:
    """Which entries are the first (or last) of their person's run (entries grouped by person)."""
    if not person.size:
        return np.zeros(0, dtype=bool)
    change = person[1:] != person[:-1]
    return np.r_[change, True] if last else np.r_[True, change]


def _sustained_runs(person: np.ndarray, day: np.ndarray, met: np.ndarray, for_days: int) -> np.ndarray:
    """Whether each (sorted) occasion closes a run of met occasions spanning ``for_days``.

    A run is broken by any scorable occasion that does not meet the rule (a
    contrary assessment), so settled, no fixed abode, settled is not sustained.
    """
    run = np.cumsum(~met | _ends(person))
    at = np.flatnonzero(met)
    first_of_run = _ends(run[at])
    first_day = day[at][first_of_run][np.cumsum(first_of_run) - 1]
    ok = np.zeros(met.size, dtype=bool)
    ok[at] = day[at] - first_day >= for_days
    return ok


def _no_dates(n: int, dtype: np.dtype) -> np.ndarray:
    return np.full(n, np.datetime64("NaT"), dtype=dtype)


def _counted(occ: _Occasions, at: np.ndarray, met: np.ndarray, rule: Rule, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per person: the occasion that counts (counted_on) and whether it achieved (achieved_on), NaT if none."""
    person, day, when = occ.person[at], occ.day[at], occ.when[at]
    ok = _sustained_runs(person, day, met, rule.for_days) if isinstance(rule, Sustained) else met
    counted, achieved = (
        np.full(n, np.datetime64("NaT"), dtype=when.dtype),
        np.full(n, np.datetime64("NaT"), dtype=when.dtype),
    )
    if rule.counts == "any":
        first = np.flatnonzero(ok)[_ends(person[ok])]
        counted[person[first]] = achieved[person[first]] = when[first]
        return counted, achieved
    if rule.counts == "last":
        chosen = np.flatnonzero(_ends(person, last=True))
    else:
        distance = np.abs(day - (rule.target_day or 0))  # a "closest" rule has its target day
        starts = np.flatnonzero(_ends(person))
        nearest = np.minimum.reduceat(distance, starts) if starts.size else distance
        # Days rise within a person, so the first at the nearest distance is the earlier of a tie.
        candidates = np.flatnonzero(distance == nearest[np.cumsum(_ends(person)) - 1])
        chosen = candidates[_ends(person[candidates])]
    counted[person[chosen]] = when[chosen]
    hit = chosen[ok[chosen]]
    achieved[person[hit]] = when[hit]
    return counted, achieved


@dataclass(frozen=True)
class _Judged:
    """Per person (arrays by position in the cohort): baseline, counted and achieving occasions, what was seen."""

    baseline_on: np.ndarray
    baseline_value: np.ndarray
    counted_on: np.ndarray
    achieved_on: np.ndarray
    any_base: np.ndarray
    any_window: np.ndarray
    usable_window: np.ndarray


def _judged(occ: _Occasions, rule: Rule, instrument: Instrument, measure: str, window, baseline, n: int) -> _Judged:
    """The baseline (first scorable occasion in the baseline window), and the occasion that counts."""
    usable = ~np.isnan(occ.value)
    in_base = (occ.day >= baseline[0]) & (occ.day <= baseline[1])
    first = np.flatnonzero(in_base & usable)
    first = first[_ends(occ.person[first])]
    base_value = np.full(n, np.nan)
    base_value[occ.person[first]] = occ.value[first]
    baseline_on = _no_dates(n, occ.when.dtype)
    baseline_on[occ.person[first]] = occ.when[first]
    in_window = (occ.day >= window[0]) & (occ.day <= window[1])
    counting = in_window & usable
    if rule.needs_baseline:
        counting &= ~np.isnan(base_value[occ.person])
    at = np.flatnonzero(counting)
    value, base = pd.Series(occ.value[at]), pd.Series(base_value[occ.person[at]])
    met = np.asarray(rule.occasion_met(value, base, instrument, measure), dtype=bool)
    counted_on, achieved_on = _counted(occ, at, met, rule, n)
    return _Judged(
        baseline_on,
        base_value,
        counted_on,
        achieved_on,
        any_base=np.bincount(occ.person[in_base], minlength=n) > 0,
        any_window=np.bincount(occ.person[in_window], minlength=n) > 0,
        usable_window=np.bincount(occ.person[in_window & usable], minlength=n).astype(np.int64),
    )


def _status(cohort: Cohort, judged: _Judged, rule: Rule, eligible, as_of, window, baseline) -> tuple:
    """Status (codes into STATUSES), reason and the unmeasured flag per person, by the first condition that holds."""
    unmeasured = "not_measurable" if rule.unmeasured == "apart" else "not_achieved"
    b_text, w_text = f"days {baseline[0]}..{baseline[1]}", f"days {window[0]}..{window[1]}"
    nb = rule.needs_baseline
    closes = cohort.start + np.timedelta64(window[1], "D")
    # (condition, status, reason, unmeasured): the first that holds decides.
    conditions = [
        (np.isnat(cohort.start), "not_measurable", f"no {cohort.index}", False),
        (closes > np.datetime64(as_of), "not_yet_measurable", "window not closed by as_of", False),
        (nb & ~judged.any_base, unmeasured, f"no baseline assessment ({b_text})", True),
        (nb & np.isnan(judged.baseline_value), unmeasured, "baseline not scorable", True),
        (nb & ~eligible, "not_measurable", "baseline state not among the from-states", False),
        (~judged.any_window, unmeasured, f"no assessment in window ({w_text})", True),
        (judged.usable_window == 0, unmeasured, f"no scorable assessment in window ({w_text})", True),
        (~np.isnat(judged.achieved_on), "achieved", "", False),
        (np.ones(len(cohort), dtype=bool), "not_achieved", "", False),
    ]
    choice = np.select([np.asarray(c[0], dtype=bool) for c in conditions], np.arange(len(conditions)))
    status = np.array([STATUSES.index(c[1]) for c in conditions])[choice]
    reason = text_column(choice, [c[2] for c in conditions])
    flag = np.array([c[3] for c in conditions], dtype=bool)[choice]
    return status, reason, flag, closes


def achievement(
    people: pd.DataFrame | Cohort,
    scores: Scores,
    rule: Rule,
    window: tuple[int, int] = (91, 273),
    baseline: tuple[int, int] = (-30, 30),
    as_of: DateLike | None = None,
    measure: str = "score",
    index: str = "start_date",
) -> Achievement:
    """Judge one rule for every person in ``people``.

    Parameters
    ----------
    people : DataFrame or Cohort
        person_id (unique) and the index date column (``start_date``); or a
        :class:`Cohort` already read from them, to judge several outcomes on one cohort.
    scores : Scores
        From :func:`outcomes.score` (carries the instrument).
    rule : Rule
        Threshold, Improvement, ReliableChange, Transition or Sustained, with
        its counting (which assessment counts; what happens to the unmeasured).
    window, baseline : (int, int)
        Days relative to the index date, both ends included.
    as_of : date-like, optional
        The data's as-of date. Default: the latest ``assessed_on`` in
        ``scores``. A window that ends after it is not yet measurable.
    measure : str
        ``"score"``, or an item for an ``items`` instrument (e.g.
        ``"contact_frequency"``).
    index : str
        The index date column of ``people`` (not used when ``people`` is a Cohort).

    Examples
    --------
    >>> from outcomes.scoring import score
    >>> day = lambda d: pd.Timestamp("2024-01-01") + pd.Timedelta(days=d)
    >>> rows = [("A", 0, 4), ("A", 120, 7), ("A", 240, 4)]
    >>> s = score(pd.DataFrame([(p, "ladder", v, day(d)) for p, d, v in rows],
    ...                        columns=["person_id", "item", "score", "assessed_on"]), "ladder_family")
    >>> people = pd.DataFrame({"person_id": ["A"], "start_date": [day(0)]})
    >>> achievement(people, s, Improvement(by=2), as_of=day(400)).per_person["status"].tolist()
    ['not_achieved']
    >>> achievement(people, s, Improvement(by=2, counts="any"), as_of=day(400)).per_person["status"].tolist()
    ['achieved']
    """
    window, baseline = _arguments(scores, rule, window, baseline, measure)
    instrument = scores.instrument
    as_of = (
        pd.Timestamp(scores.scores["assessed_on"].max())
        if as_of is None
        else parse_date(as_of, "The 'as_of' parameter of achievement")
    )
    cohort = people if isinstance(people, Cohort) else Cohort.of(people, index)
    occ = _occasions(cohort, scores, measure, as_of)
    judged = _judged(occ, rule, instrument, measure, window, baseline, len(cohort))
    base = pd.Series(judged.baseline_value)
    eligible = np.asarray(rule.baseline_eligible(base, instrument, measure), dtype=bool)
    level = rule.rule if isinstance(rule, Sustained) else rule
    met_base = np.asarray(level.occasion_met(base, base, instrument, measure), dtype=bool) & base.notna().to_numpy()
    status, reason, unmeasured, closes = _status(cohort, judged, rule, eligible, as_of, window, baseline)
    per_person = pd.DataFrame(
        {
            "person_id": cohort.person_id,
            "status": pd.Categorical.from_codes(status, categories=pd.Index(STATUSES)),
            "reason": reason,
            "unmeasured": unmeasured,
            "baseline_on": judged.baseline_on,
            "baseline_value": judged.baseline_value,
            "met_at_baseline": met_base,
            "occasions": judged.usable_window,
            "counted_on": judged.counted_on,
            "achieved_on": judged.achieved_on,
            "achieved_so_far": ~np.isnat(judged.achieved_on),
            "window_closes": closes,
        }
    )
    return Achievement(per_person, rule, instrument, measure, window, baseline, as_of)
