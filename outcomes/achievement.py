"""Achievement rules: turn scores into achieved / not achieved / not measurable.

Every rule is judged inside a window of days relative to each person's start
date (e.g. days 91-273) against a baseline: the first scorable occasion in a
baseline window (default days -30..+30). Each person in ``people`` gets one
status:

- ``achieved``: some scorable occasion in the window meets the rule;
- ``not_achieved``: the window has closed, the person was measurable, and no
  occasion met the rule;
- ``not_yet_measurable``: the window closes after ``as_of`` (never counted as
  not achieved);
- ``not_measurable``: with the reason (no start date, no baseline assessment,
  baseline not scorable, baseline state not eligible for a transition, no
  assessment in the window, no scorable assessment in the window).

Rules
-----
``Threshold(at_least=, at_most=)``, ``Improvement(by=)``,
``ReliableChange(sd=, reliability=)`` (Jacobson & Truax 1991),
``Transition(from_=, to=)`` (state names or codes) and
``Sustained(rule, for_days=)``: the inner rule is met at an occasion in the
window and met again at a later occasion at least ``for_days`` on, also
inside the window (so the window alone decides when the outcome is known).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ground.checks import require_columns
from ground.errors import SpecError
from outcomes.instruments import Instrument
from outcomes.rates import Proportion
from outcomes.scoring import Scores
from outcomes.tables import as_dates, unique_people

STATUSES = ("achieved", "not_achieved", "not_yet_measurable", "not_measurable")


def reliable_change_index(before, after, sd: float, reliability: float):
    """Jacobson-Truax reliable change index.

    RCI = (after - before) / S_diff, with S_diff = sqrt(2 SE^2) and
    SE = sd * sqrt(1 - reliability) (the standard error of measurement).

    Examples
    --------
    >>> round(float(reliable_change_index(15, 25, sd=5.0, reliability=0.85)), 4)
    3.6515
    """
    se = sd * np.sqrt(1 - reliability)
    return (np.asarray(after, dtype=float) - np.asarray(before, dtype=float)) / np.sqrt(2 * se**2)


def _number(value: Any, key: str, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise SpecError(f"The '{key}' parameter must be a number. Got {value!r} instead.", key=key)
    if positive and value <= 0:
        raise SpecError(f"The '{key}' parameter must be greater than 0. Got {value!r} instead.", key=key)
    return float(value)


class Rule:
    """Base of the achievement rules (frozen dataclasses below)."""

    type: ClassVar[str]
    needs_baseline: ClassVar[bool] = True

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
        if self.at_least is None and self.at_most is None:
            raise SpecError("Threshold needs 'at_least' or 'at_most' (or both). Got neither.", key="at_least")
        for key in ("at_least", "at_most"):
            if getattr(self, key) is not None:
                _number(getattr(self, key), key)
        if self.at_least is not None and self.at_most is not None and self.at_least > self.at_most:
            raise SpecError(
                f"Threshold's 'at_least' must not exceed 'at_most'. Got {self.at_least} > {self.at_most}.",
                key="at_least",
            )

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
        return out


@dataclass(frozen=True)
class Improvement(Rule):
    """Achieved when the measure improves on baseline by at least ``by`` points
    (in the instrument's better direction)."""

    by: float
    type: ClassVar[str] = "improvement"

    def __post_init__(self):
        _number(self.by, "by", positive=True)

    def occasion_met(self, value, base, instrument, measure):
        return instrument.sign * (value - base) >= self.by

    def describe(self, instrument=None):
        return f"improves on baseline by at least {self.by:g} points"

    def to_dict(self):
        return {"type": self.type, "by": self.by}


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
        _number(self.sd, "sd", positive=True)
        _number(self.z, "z", positive=True)
        if self.reliability is not None and not 0 < _number(self.reliability, "reliability") < 1:
            raise SpecError(
                f"The 'reliability' parameter must be strictly between 0 and 1. Got {self.reliability!r} instead.",
                key="reliability",
            )

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
        return out


def _states(value: Any, key: str) -> tuple:
    states = (value,) if isinstance(value, (str, int)) else tuple(value)
    if not states:
        raise SpecError(f"The '{key}' parameter of a transition must name at least one state. Got none.", key=key)
    return states


@dataclass(frozen=True)
class Transition(Rule):
    """Achieved when the baseline state is in ``from_`` and a window state is in ``to``.

    States are names from the instrument (e.g. accommodation_status:
    ``no_fixed_abode``, ``unsettled``, ``settled``) or codes. People whose
    baseline state is not in ``from_`` are not measurable for this outcome.
    """

    from_: tuple = field(default=())
    to: tuple = field(default=())
    type: ClassVar[str] = "transition"

    def __post_init__(self):
        object.__setattr__(self, "from_", _states(self.from_, "from"))
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
        return {"type": self.type, "from": list(self.from_), "to": list(self.to)}


@dataclass(frozen=True)
class Sustained(Rule):
    """The inner rule is met, and met again at least ``for_days`` later (both in the window)."""

    rule: Rule
    for_days: int
    type: ClassVar[str] = "sustained"

    def __post_init__(self):
        if not isinstance(self.rule, Rule) or isinstance(self.rule, Sustained):
            raise SpecError(
                f"Sustained's 'rule' must be one of threshold, improvement, reliable_change, transition. "
                f"Got {self.rule!r} instead.",
                key="rule",
            )
        if isinstance(self.for_days, bool) or not isinstance(self.for_days, int) or self.for_days <= 0:
            raise SpecError(
                f"The 'for_days' parameter must be a whole number above 0. Got {self.for_days!r}.", key="for_days"
            )

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
        return f"{self.rule.describe(instrument)}, still so at an assessment at least {self.for_days} days later"

    def to_dict(self):
        return {"type": self.type, "for_days": self.for_days, "rule": self.rule.to_dict()}


RULES: dict[str, type] = {r.type: r for r in (Threshold, Improvement, ReliableChange, Transition, Sustained)}
_PARAMS = {
    "threshold": {"at_least", "at_most"},
    "improvement": {"by"},
    "reliable_change": {"sd", "reliability", "z"},
    "transition": {"from", "to"},
    "sustained": {"for_days", "rule"},
}


def rule_from_dict(raw: dict[str, Any], key: str = "rule") -> Rule:
    """Build a rule from its TOML table (``type`` plus parameters).

    Errors are SpecErrors naming ``key`` (e.g. ``outcomes.housing.rule.to``).
    """
    if not isinstance(raw, dict):
        raise SpecError(f"The '{key}' key must be a table with a 'type'. Got {raw!r} instead.", key=key)
    kind = raw.get("type")
    if kind not in RULES:
        raise SpecError(
            f"The '{key}.type' key must be one of {', '.join(RULES)}. Got {kind!r} instead.", key=f"{key}.type"
        )
    params = {k: v for k, v in raw.items() if k != "type"}
    unknown = sorted(set(params) - _PARAMS[kind])
    if unknown:
        raise SpecError(
            f"The parameters of a {kind} rule at '{key}' must be among {', '.join(sorted(_PARAMS[kind]))}. "
            f"Got {', '.join(unknown)}.",
            key=f"{key}.{unknown[0]}",
        )
    try:
        if kind == "transition":
            return Transition(from_=params.get("from", ()), to=params.get("to", ()))
        if kind == "sustained":
            return Sustained(rule_from_dict(params.get("rule"), f"{key}.rule"), params.get("for_days"))
        return RULES[kind](**params)
    except SpecError as exc:
        raise SpecError(f"{key}: {exc}", key=f"{key}.{exc.key}" if exc.key else key) from None
    except TypeError:
        needed = {"improvement": "by", "reliable_change": "sd"}.get(kind, "")
        raise SpecError(
            f"A {kind} rule at '{key}' must give '{needed}'. It is missing.", key=f"{key}.{needed}"
        ) from None


def check_window(window: Any, key: str = "window") -> tuple[int, int]:
    """Validate a (start, end) pair of whole days with end >= start."""
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
        reason, baseline_on, baseline_value, achieved_on (first occasion
        meeting the rule; for Sustained the confirming occasion),
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
    def reasons(self) -> pd.Series:
        """Not-measurable and not-yet-measurable people by reason."""
        pp = self.per_person
        open_ = pp.loc[pp["reason"] != ""]
        return (
            pd.DataFrame({"status": open_["status"].astype(str), "reason": open_["reason"]}).value_counts().sort_index()
        )

    def rate(self, alpha: float = 0.05) -> Proportion:
        """Achieved among the measurable (achieved + not achieved), Wilson CI."""
        c = self.counts
        return Proportion.of(int(c["achieved"]), int(c["achieved"] + c["not_achieved"]), alpha)

    def to_frame(self) -> pd.DataFrame:
        return self.per_person

    def to_dict(self) -> dict[str, Any]:
        return {
            "instrument": self.instrument.name,
            "measure": self.measure,
            "rule": self.rule.to_dict(),
            "window": list(self.window),
            "baseline": list(self.baseline),
            "as_of": str(self.as_of.date()),
            "counts": {k: int(v) for k, v in self.counts.items()},
            "reasons": [{"status": s, "reason": r, "n": int(n)} for (s, r), n in self.reasons.items()],
            "rate": self.rate().to_dict(),
        }

    def summary(self) -> str:
        c = self.counts
        lines = [
            f"{self.instrument.name}.{self.measure}: {self.rule.describe(self.instrument)}, "
            f"within days {self.window[0]}..{self.window[1]} of start (baseline days "
            f"{self.baseline[0]}..{self.baseline[1]}), as of {self.as_of.date()}.",
            f"{len(self.per_person)} people: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in c.items()) + ".",
            f"Achievement rate among the measurable: {self.rate()}.",
        ]
        lines += [f"  {s.replace('_', ' ')}: {r}: {n}" for (s, r), n in self.reasons.items()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def achievement(
    people: pd.DataFrame,
    scores: Scores,
    rule: Rule,
    window: tuple[int, int] = (91, 273),
    baseline: tuple[int, int] = (-30, 30),
    as_of: Any = None,
    measure: str = "score",
    index: str = "start_date",
) -> Achievement:
    """Judge one rule for every person in ``people``.

    Parameters
    ----------
    people : DataFrame
        person_id (unique) and the index date column (``start_date``).
    scores : Scores
        From :func:`outcomes.score` (carries the instrument).
    rule : Rule
        Threshold, Improvement, ReliableChange, Transition or Sustained.
    window, baseline : (int, int)
        Days relative to the index date, both ends included.
    as_of : date-like, optional
        The data's as-of date. Default: the latest ``assessed_on`` in
        ``scores``. A window that ends after it is not yet measurable.
    measure : str
        ``"score"``, or an item for an ``items`` instrument (e.g.
        ``"contact_frequency"``).

    Examples
    --------
    >>> s = score(w.assessments, "accommodation_status")  # doctest: +SKIP
    >>> a = achievement(w.people, s, Transition(from_=["no_fixed_abode", "unsettled"], to="settled"))  # doctest: +SKIP
    >>> a.rate()  # doctest: +SKIP
    """
    if not isinstance(scores, Scores):
        raise SpecError(
            f"The 'scores' parameter of achievement must be the result of outcomes.score(). "
            f"Got {type(scores).__name__} instead.",
            key="scores",
        )
    instrument = scores.instrument
    window = check_window(window, "window")
    baseline = check_window(baseline, "baseline")
    rule.check(instrument, measure)
    require_columns(people, ["person_id", index], table="people")
    unique_people(people)
    start = as_dates(people[index], "people", index)
    if as_of is None:
        as_of = scores.scores["assessed_on"].max()
    as_of = pd.Timestamp(as_of)

    cohort = pd.DataFrame({"person_id": people["person_id"].to_numpy(), "start": start.to_numpy()})
    s = scores.scores
    occ = (
        s.loc[:, ["person_id", "assessed_on"]]
        .assign(value=s[measure].where(s["scorable"]).to_numpy())
        .merge(cohort, on="person_id", how="inner")
    )
    # Assessments after as_of are not yet known at as_of.
    occ = occ.loc[occ["assessed_on"] <= as_of]
    occ["day"] = (occ["assessed_on"] - occ["start"]).dt.days
    occ = occ.sort_values(["person_id", "day"], kind="stable")
    usable = occ["value"].notna()

    in_base = occ["day"].between(*baseline)
    first_base = (
        occ.loc[in_base & usable]
        .groupby("person_id", sort=False)
        .first()[["assessed_on", "value"]]
        .rename(columns={"assessed_on": "baseline_on", "value": "baseline_value"})
    )
    in_window = occ["day"].between(*window)
    win = occ.loc[in_window & usable].merge(first_base, left_on="person_id", right_index=True, how="left")
    if rule.needs_baseline:
        win = win.loc[win["baseline_value"].notna()]
    win = win.assign(met=rule.occasion_met(win["value"], win["baseline_value"], instrument, measure).to_numpy())
    met = win.loc[win["met"]]
    first_met = met.groupby("person_id", sort=False)["day"].min().rename("first_day")
    if isinstance(rule, Sustained):
        # As floats: with nobody meeting the rule the mapped column is empty and untyped.
        first_day = met["person_id"].map(first_met).to_numpy(dtype=float)
        confirm = met.loc[met["day"].to_numpy() >= first_day + rule.for_days]
        achieved_on = confirm.groupby("person_id", sort=False)["assessed_on"].min()
    else:
        achieved_on = met.groupby("person_id", sort=False)["assessed_on"].min()

    pp = cohort.merge(first_base, left_on="person_id", right_index=True, how="left").merge(
        achieved_on.rename("achieved_on"), left_on="person_id", right_index=True, how="left"
    )
    any_base = pp["person_id"].isin(occ.loc[in_base, "person_id"])
    any_window = pp["person_id"].isin(occ.loc[in_window, "person_id"])
    usable_window = pp["person_id"].isin(occ.loc[in_window & usable, "person_id"])
    pp["window_closes"] = pp["start"] + pd.to_timedelta(window[1], unit="D")
    eligible = rule.baseline_eligible(pp["baseline_value"], instrument, measure)
    has_base = pp["baseline_value"].notna()

    b_text = f"days {baseline[0]}..{baseline[1]}"
    w_text = f"days {window[0]}..{window[1]}"
    nb = rule.needs_baseline
    conditions = [
        (pp["start"].isna(), "not_measurable", f"no {index}"),
        (pp["window_closes"] > as_of, "not_yet_measurable", "window not closed by as_of"),
        (nb & ~any_base, "not_measurable", f"no baseline assessment ({b_text})"),
        (nb & ~has_base, "not_measurable", "baseline not scorable"),
        (nb & ~eligible, "not_measurable", "baseline state not among the from-states"),
        (~any_window, "not_measurable", f"no assessment in window ({w_text})"),
        (~usable_window, "not_measurable", f"no scorable assessment in window ({w_text})"),
        (pp["achieved_on"].notna(), "achieved", ""),
    ]
    masks = [np.asarray(c, dtype=bool) for c, _, _ in conditions]
    status = np.select(masks, [s for _, s, _ in conditions], default="not_achieved")
    reason = np.select(masks, [r for _, _, r in conditions], default="")
    per_person = pd.DataFrame(
        {
            "person_id": pp["person_id"].to_numpy(),
            "status": pd.Categorical(status, categories=list(STATUSES)),
            "reason": reason,
            "baseline_on": pp["baseline_on"].to_numpy(),
            "baseline_value": pp["baseline_value"].to_numpy(dtype=float),
            "achieved_on": pp["achieved_on"].to_numpy(),
            "achieved_so_far": pp["achieved_on"].notna().to_numpy(),
            "window_closes": pp["window_closes"].to_numpy(),
        }
    )
    return Achievement(per_person, rule, instrument, measure, window, baseline, as_of)
