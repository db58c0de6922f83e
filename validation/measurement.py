"""Measurement screens: does a provider's way of *recording* outcomes pay more than its work?

The cheapest gaming does not touch who is enrolled or how much they are served:
it changes how outcomes are measured. Five screens, each asked of every
provider against what its own people's characteristics predict:

==============  =========================================================  ==========
kind            per person                                                 gaming is
==============  =========================================================  ==========
``assessments`` scorable assessments in the payment window                 more
``baseline``    the baseline rating                                        worse
``unmeasured``  due a measurement in the window and had none (0/1)         more
``deadweight``  already met the rule at baseline (0/1); with the share of  more
                the provider's payments that went to such people
``bunching``    among achievements: recorded in the window's last          more
                ``late_days`` days (0/1)
==============  =========================================================  ==========

How each screen decides
-----------------------
A case-mix model is fitted on all providers together, without any provider
term: a GLM of the per-person value on a piecewise-linear function of the
difficulty percentile (knots at the quartiles) and the ``covariates`` given
(Poisson for the count of assessments, logistic for a 0/1 value, Gaussian for
the baseline). Each provider's observed total O is compared with its expected
total E: z = (O - E) / sqrt(V), with V = sum of squared residuals of its
people (a sandwich variance, valid for any distribution), and a one-sided
p-value in the gaming direction. The z-scores are checked for overdispersion as
a funnel plot's are (``validation.screens``): variation between providers that
the case-mix model does not explain widens every provider's interval rather
than becoming a flag (with 10 providers or more; fewer cannot estimate it).
Holm's correction runs across the providers of each screen. Providers with
fewer than 20 people in a screen's population get no test, and the notes say so.

A flag is a reason to look, not a verdict: a provider with a good reason to
assess more often, or a baseline model that misses something about its people,
will be flagged too. Each flag's sentence says what was seen, against what,
and why it matters for payment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ground.checks import InstanceOf, Interval, check_parameter, column_names, parameter_error, require_columns
from ground.findings import Finding
from outcomes.achievement import Achievement
from validation.screens import (
    ALPHA,
    MIN_TESTED,
    OVERALL,
    Screen,
    decile_of,
    fit_glm,
    holm,
    percentile_rank,
    winsorised_phi,
)

__all__ = ["KINDS", "MeasurementScreens", "counting_findings", "measurement_screens"]

KINDS = ("assessments", "baseline", "unmeasured", "deadweight", "bunching")
_KNOTS = (0.25, 0.5, 0.75)

MEANINGS = {
    "assessments": (
        "{where}, people had {observed:.2f} scorable assessments each in the payment window against {expected:.2f} "
        "expected for its case-mix (ratio {ratio:.2f}, 95% CI {ratio_ci_low:.2f} to {ratio_ci_high:.2f}, n = {n}); "
        "where any assessment in the window can pay, each extra one is another chance to pay on rating noise."
    ),
    "baseline": (
        "{where}, baseline ratings averaged {observed:.2f} against {expected:.2f} predicted from its people's "
        "characteristics ({difference:+.2f} per person, 95% CI {difference_ci_low:+.2f} to "
        "{difference_ci_high:+.2f}, n = {n}); a baseline rated low makes later improvement easier to show."
    ),
    "unmeasured": (
        "{where}, {observed:.0%} of people due an assessment in the window had none that could be scored, against "
        "{expected:.0%} expected for its case-mix (ratio {ratio:.2f}, 95% CI {ratio_ci_low:.2f} to "
        "{ratio_ci_high:.2f}, n = {n}); wherever the unmeasured are left out of a rate, people left unassessed "
        "cannot count as failures."
    ),
    "deadweight": (
        "{where}, {observed:.0%} of the people enrolled already met the rule at baseline, against {expected:.0%} "
        "expected for its case-mix (ratio {ratio:.2f}, 95% CI {ratio_ci_low:.2f} to {ratio_ci_high:.2f}, n = {n}), "
        "and {share_of_payments:.0%} of its payments went to them: payments for what would have happened anyway."
    ),
    "bunching": (
        "{where}, {observed:.0%} of the achievements were recorded in the last {late_days} days of the window, "
        "against {expected:.0%} expected for its case-mix (ratio {ratio:.2f}, 95% CI {ratio_ci_low:.2f} to "
        "{ratio_ci_high:.2f}, n = {n}); reassessing people who had failed just before the window closes "
        "produces this pattern."
    ),
}
TESTS = {
    "assessments": "one-sided test that a provider records more scorable assessments per person in the window "
    "than a Poisson case-mix model predicts",
    "baseline": "one-sided test that a provider's baseline ratings are worse than a linear case-mix model predicts",
    "unmeasured": "one-sided test that more of a provider's people due an assessment had none than a logistic "
    "case-mix model predicts",
    "deadweight": "one-sided test that more of a provider's people already met the rule at baseline than a "
    "logistic case-mix model predicts (the share of its payments they took is reported beside it)",
    "bunching": "one-sided test that more of a provider's achievements fall in the window's last days than a "
    "logistic case-mix model predicts",
}


@dataclass(frozen=True)
class MeasurementScreens:
    """The five measurement screens of one outcome, one :class:`Screen` per kind.

    Attributes
    ----------
    outcome : str
        The outcome in words (instrument, rule, window, which assessment counts).
    screens : dict of str -> Screen
        Keyed by kind: ``"assessments"``, ``"baseline"``, ``"unmeasured"``,
        ``"deadweight"``, ``"bunching"``.
    """

    outcome: str
    screens: dict[str, Screen] = field(repr=False)

    def __getitem__(self, kind: str) -> Screen:
        return self.screens[kind]

    def __iter__(self):
        return iter(self.screens)

    @property
    def flagged(self) -> bool:
        """True when any screen flags any provider."""
        return any(s.flagged for s in self.screens.values())

    @property
    def flagged_units(self) -> dict[str, list[str]]:
        """Flagged providers by kind (kinds with none left out)."""
        return {k: s.flagged_units for k, s in self.screens.items() if s.flagged_units}

    def to_frame(self) -> pd.DataFrame:
        """One row per kind and unit."""
        return pd.concat([s.table.assign(kind=k) for k, s in self.screens.items()], ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "flagged": self.flagged_units} | {
            k: s.to_dict() for k, s in self.screens.items()
        }

    def summary(self) -> str:
        head = f"Measurement screens for {self.outcome}"
        flags = "; ".join(f"{k}: {', '.join(u)}" for k, u in self.flagged_units.items()) or "none"
        return "\n\n".join([f"{head}\nFlagged: {flags}"] + [s.summary() for s in self.screens.values()])

    def __str__(self) -> str:
        return self.summary()

    def plot(self, axes=None):
        """Each screen's observed/expected ratios by provider, side by side; returns the axes."""
        import matplotlib.pyplot as plt

        if axes is None:
            _, axes = plt.subplots(1, len(self.screens), figsize=(3.2 * len(self.screens), 3.6), sharey=True)
        for ax, screen in zip(np.atleast_1d(axes), self.screens.values()):
            screen.plot(ax=ax)
            ax.set_xlabel("observed / expected")
        return axes


def _design(frame: pd.DataFrame, pct: np.ndarray, covariates: list[str]) -> np.ndarray:
    """Intercept, a piecewise-linear function of the difficulty percentile, and the covariates."""
    columns = [np.ones(len(pct)), pct] + [np.maximum(pct - k, 0.0) for k in _KNOTS]
    if covariates:
        extra = pd.get_dummies(frame[covariates], drop_first=True, dtype=float)
        columns += [extra[c].to_numpy(dtype=float) for c in extra.columns]
    return np.column_stack(columns)


def _expected(y: np.ndarray, X: np.ndarray, family: str) -> tuple[np.ndarray, str]:
    """Fitted values of the pooled case-mix model; the overall mean (and a note) if it cannot be fitted."""
    if np.all(y == y[0]):
        return np.full(len(y), float(y[0])), ""
    try:
        mu = fit_glm(y, X, family)
        if np.isfinite(mu).all():
            return mu, ""
    except np.linalg.LinAlgError:
        pass
    return np.full(len(y), float(y.mean())), "the case-mix model could not be fitted; compared with the overall mean"


def _provider_rows(y, mu, code, levels, direction: int, overdispersion: bool, by) -> tuple[pd.DataFrame, list]:
    """Observed vs expected per provider, with overdispersion-adjusted z, CIs and one-sided p-values."""
    k = len(levels)
    n = np.bincount(code, minlength=k)
    obs = np.bincount(code, weights=y, minlength=k)
    exp_ = np.bincount(code, weights=mu, minlength=k)
    var = np.bincount(code, weights=(y - mu) ** 2, minlength=k)
    tested = (n >= MIN_TESTED) & (var > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(tested, (obs - exp_) / np.sqrt(var), np.nan)
    phi = winsorised_phi(z, centre=True) if overdispersion else 1.0
    inflate = np.sqrt(max(phi, 1.0))
    se = np.sqrt(var) * inflate
    p = np.where(tested, stats.norm.sf(direction * z / inflate), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        table = pd.DataFrame(
            {
                "unit": levels,
                "n": n,
                "observed": obs / n,
                "expected": exp_ / n,
                "difference": (obs - exp_) / n,
                "difference_ci_low": (obs - exp_ - 1.96 * se) / n,
                "difference_ci_high": (obs - exp_ + 1.96 * se) / n,
                "ratio": obs / exp_,
                "ratio_ci_low": (obs - 1.96 * se) / exp_,
                "ratio_ci_high": (obs + 1.96 * se) / exp_,
                "z": z / inflate,
                "p_one_sided": p,
            }
        )
    notes = [f"{by}={lv}: no test (n = {n[j]} < {MIN_TESTED})" for j, lv in enumerate(levels) if n[j] < MIN_TESTED]
    if overdispersion and phi > 1:
        notes.append(f"overdispersion between providers: phi = {phi:.3g}; intervals and z widened by {inflate:.3g}")
    return table, notes


def _deciles(y: np.ndarray, mu: np.ndarray, pct: np.ndarray, code: np.ndarray, levels: list[str]) -> pd.DataFrame:
    """Observed and expected means by difficulty decile, overall and per provider."""
    dec = decile_of(pct) - 1
    cell = np.r_[dec, 10 * (code + 1) + dec]  # overall first, then each provider
    size = 10 * (len(levels) + 1)
    n = np.bincount(cell, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame(
            {
                "unit": np.repeat([OVERALL, *levels], 10),
                "decile": np.tile(np.arange(1, 11), len(levels) + 1),
                "n": n,
                "observed": np.bincount(cell, weights=np.r_[y, y], minlength=size) / n,
                "expected": np.bincount(cell, weights=np.r_[mu, mu], minlength=size) / n,
            }
        )


def _kind_table(kind: str, y, frame: pd.DataFrame, pct, covariates, options: Mapping[str, Any]) -> tuple:
    """One kind of screen on one outcome's population: provider rows (with the overall row first),
    deciles and notes; None when there is nothing to test."""
    family = {"assessments": "poisson", "baseline": "gaussian"}.get(kind, "logit")
    if len(y) == 0 or (family == "logit" and not y.any()):
        return None, None, ["nobody in its population" if len(y) == 0 else "no case to count"]
    mu, note = _expected(y, _design(frame, pct, covariates), family)
    code, levels = pd.factorize(frame[options["by"]].astype(str), sort=True)
    levels = [str(v) for v in levels]
    direction = options["direction"].get(kind, 1)
    table, notes = _provider_rows(y, mu, code, levels, direction, options["overdispersion"], options["by"])
    overall = pd.DataFrame({"unit": [OVERALL], "n": [len(y)], "observed": [y.mean()], "expected": [mu.mean()]})
    if kind == "deadweight":
        paid = (frame["status"] == "achieved").to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.bincount(code, weights=paid * y, minlength=len(levels)) / np.bincount(
                code, weights=paid, minlength=len(levels)
            )
        table.insert(4, "share_of_payments", share)
        overall["share_of_payments"] = (paid * y).sum() / max(paid.sum(), 1)
    return (
        pd.concat([overall, table], ignore_index=True),
        _deciles(y, mu, pct, code, levels),
        [note] * bool(note) + notes,
    )


def _screen(kind: str, parts: Mapping[str, tuple], options: Mapping[str, Any], labelled: bool) -> Screen:
    """One Screen of a kind over every outcome's provider rows, Holm-corrected across all of them."""
    tables, deciles, notes = [], [], []
    for outcome, (table, dec, why) in parts.items():
        prefix = f"{outcome}: " if labelled else ""
        if table is None:
            notes.append(f"{prefix}not tested: {why[0]}")
            continue
        tables.append(table.assign(outcome=outcome) if labelled else table)
        deciles.append(dec.assign(outcome=outcome) if labelled else dec)
        notes += [prefix + n for n in why]
    if not tables:
        return _untested(kind, options, notes)
    table = pd.concat(tables, ignore_index=True)
    adjusted = holm(table["p_one_sided"].to_numpy(dtype=float))
    table = table.assign(p_adjusted=adjusted, flagged=adjusted < options["alpha"])
    tested = int(np.isfinite(adjusted).sum())
    across = f" x {len(tables)} outcomes" if labelled else ""
    overall = table[table["unit"] == OVERALL]
    return Screen(
        kind=kind,
        p_value=float(np.nanmin(adjusted)) if tested else float("nan"),
        alpha=options["alpha"],
        test=TESTS[kind],
        correction=f"Holm over {tested} tests (providers ({options['by']!r}){across})",
        table=table,
        deciles=pd.concat(deciles, ignore_index=True),
        notes=tuple(notes),
        meaning=MEANINGS[kind].replace("{late_days}", str(options["late_days"])),
        headline="Overall: "
        + "; ".join(
            (f"{r.outcome} " if labelled else "") + f"{r.observed:.3g} per person (n = {r.n})"
            for r in overall.itertuples()
        )
        + "; each provider against its case-mix.",
    )


def _untested(kind: str, options: Mapping[str, Any], why: list[str]) -> Screen:
    columns = ["observed", "expected", "difference", "difference_ci_low", "difference_ci_high", "ratio"]
    columns += ["ratio_ci_low", "ratio_ci_high", "z", "p_one_sided", "p_adjusted"]
    table = pd.DataFrame({"unit": [OVERALL], "n": [0]} | {c: [np.nan] for c in columns})
    return Screen(
        kind=kind,
        p_value=float("nan"),
        alpha=options["alpha"],
        test=TESTS[kind],
        correction="none (nothing to test)",
        table=table.assign(flagged=False),
        deciles=pd.DataFrame(columns=["unit", "decile", "n", "observed", "expected"]),
        notes=tuple(why),
        meaning=MEANINGS[kind],
    )


def _populations(pp: pd.DataFrame, late_days: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For each kind, which people it looks at (a mask) and their per-person values."""
    closed = pp["status"].isin(["achieved", "not_achieved"]) | pp["unmeasured"]
    achieved = (pp["status"] == "achieved").to_numpy()
    days_left = (pp["window_closes"] - pp["achieved_on"]).dt.days.to_numpy()
    return {
        "assessments": (closed.to_numpy(), pp["occasions"].to_numpy(dtype=float)),
        "baseline": (pp["baseline_value"].notna().to_numpy(), pp["baseline_value"].to_numpy(dtype=float)),
        "unmeasured": (closed.to_numpy(), pp["unmeasured"].to_numpy(dtype=float)),
        "deadweight": (
            closed.to_numpy() & pp["baseline_value"].notna().to_numpy(),
            pp["met_at_baseline"].to_numpy(dtype=float),
        ),
        "bunching": (achieved, (days_left < late_days).astype(float)),
    }


def _person_table(people: pd.DataFrame, result: Achievement, columns: Mapping[str, str], caller: str) -> pd.DataFrame:
    pp = result.per_person.merge(people, on="person_id", how="left", validate="one_to_one", indicator=True)
    missing = int((pp["_merge"] == "left_only").sum())
    if missing:
        raise parameter_error("people", caller, "a table with every person in 'result'", f"{missing} missing")
    require_columns(pp, columns, table="people", complete=True)
    return pp


def _describe(result: Achievement) -> str:
    where = f"days {result.window[0]}..{result.window[1]}"
    return (
        f"{result.instrument.name}.{result.measure} ({result.rule.describe(result.instrument)}, {where}; "
        f"{result.rule.counting_text()})"
    )


def measurement_screens(
    people: pd.DataFrame,
    result: Achievement | Mapping[str, Achievement],
    *,
    by: str = "provider_id",
    difficulty: str = "difficulty",
    covariates: Sequence[str] | str | None = None,
    late_days: int = 14,
    overdispersion: bool = True,
    alpha: float = ALPHA,
) -> MeasurementScreens:
    """Screen every provider's measurement of one outcome (or several), against its case-mix.

    Parameters
    ----------
    people : DataFrame
        The enrolled people judged in ``result``: ``person_id``, ``by``,
        ``difficulty`` and any ``covariates`` (one row per person; people
        missing from ``result`` are an error, not dropped).
    result : Achievement or mapping of str -> Achievement
        From :func:`outcomes.achievement`, or ``MetricSpec.achievement`` (one
        per outcome): then every kind of screen runs on every outcome and
        Holm's correction covers providers x outcomes, so screening six
        outcomes does not cry wolf six times as often. The rule's
        ``unmeasured`` setting does not matter: the screens use each person's
        occasions, baseline and measured flag.
    by : str, default "provider_id"
    difficulty : str, default "difficulty"
        Higher = harder; enters the case-mix model as a piecewise-linear
        function of its percentile.
    covariates : list of str, optional
        More case-mix columns (numeric, bool or categorical) for the model,
        e.g. the needs that the instrument's ratings depend on.
    late_days : int, default 14
        "Just inside the window's end": achievements whose occasion is fewer
        than this many days before the window closes.
    overdispersion : bool, default True
        Widen every provider's interval by sqrt(phi) when providers vary more
        than the case-mix model explains (phi > 1; 10 providers or more).
    alpha : float, default 0.05

    Returns
    -------
    MeasurementScreens
        One :class:`Screen` per kind; each table has unit (and outcome, for
        several), n, observed, expected (per person), difference and ratio
        with 95% CIs, z, p_one_sided, p_adjusted (Holm), flagged.

    Examples
    --------
    >>> from cohorts.synthetic import make_world
    >>> from outcomes import Improvement, achievement, score
    >>> w = make_world(seed=3, n_eligible=4_000, n_pool=0, provider_shares=[1] * 8, n_providers=8,
    ...                measurement={"baseline_deflation": [0, 0, 1, 0, 0, 0, 0, 0]}, as_of="2026-06-30")
    >>> people = w.people.merge(w.truth.people[["person_id", "difficulty"]])
    >>> ties = achievement(people, score(w.assessments, "ladder_family"), Improvement(by=2))
    >>> measurement_screens(people, ties, covariates=["need_family"]).flagged_units
    {'baseline': ['PRV03']}
    """
    caller = "measurement_screens"
    labelled = isinstance(result, Mapping)
    results: dict[str, Achievement] = dict(result) if isinstance(result, Mapping) else {"outcome": result}
    what = "the result of outcomes.achievement() or a mapping of outcome -> such results"
    for value in results.values() if results else [None]:
        check_parameter(value, "result", caller, InstanceOf(Achievement, what))
    check_parameter(late_days, "late_days", caller, Interval(int, 1, None))
    check_parameter(alpha, "alpha", caller, Interval(float, 0, 1, closed="neither"))
    covariates = column_names(covariates, "covariates", caller)
    columns = {"by": by, "difficulty": difficulty} | {c: c for c in covariates}
    require_columns(people, columns, table="people")
    options = {"by": by, "alpha": float(alpha), "late_days": late_days, "overdispersion": bool(overdispersion)}
    parts: dict[str, dict[str, tuple]] = {kind: {} for kind in KINDS}
    for outcome, achieved in results.items():
        pp = _person_table(people, achieved, columns, caller)
        options["direction"] = {"baseline": -achieved.instrument.sign}
        for kind, (mask, y) in _populations(pp, late_days).items():
            if kind == "deadweight" and not pp["met_at_baseline"].any():
                parts[kind][outcome] = (None, None, ["nobody met the rule at baseline (a rule on change)"])
                continue
            frame = pp.loc[mask].reset_index(drop=True)
            pct = percentile_rank(frame[difficulty].to_numpy(dtype=float)) if len(frame) else np.array([])
            parts[kind][outcome] = _kind_table(kind, y[mask], frame, pct, covariates, options)
    screens = {kind: _screen(kind, parts[kind], options, labelled) for kind in KINDS}
    described = {k: _describe(v) for k, v in results.items()}
    return MeasurementScreens("; ".join(f"{k}: {v}" if labelled else v for k, v in described.items()), screens)


def counting_findings(spec: Any) -> list[Finding]:
    """Design findings on how a spec's outcomes are measured (for ``check_design``).

    ``any_assessment_counts`` (warning): an outcome pays when any assessment in
    the window meets its rule, so each extra assessment is another chance to
    pay on noise. ``unmeasured_apart`` (info): people not measured are left out
    of the rate, so a provider can raise it by leaving likely failures
    unassessed; the measurement screens watch the unmeasured share.

    Examples
    --------
    >>> from outcomes import MetricSpec
    >>> spec = MetricSpec.from_toml("examples/specs/intermediate.toml")
    >>> [f.code for f in counting_findings(spec)]
    []
    """
    findings = []
    for key, outcome in (getattr(spec, "outcomes", {}) or {}).items():
        rule, label = outcome.rule, outcome.label or key
        if rule.counts == "any":
            findings.append(
                Finding(
                    "any_assessment_counts",
                    "warning",
                    f"{label!r} pays when any assessment in the window meets its rule: with no real change and "
                    "1-point rating noise, a 2-point improvement pays 15% of people with one assessment and 47% "
                    'with eight. Count the last assessment (counts = "last") or the one closest to a fixed day.',
                    {"outcome": key, "counts": rule.counts},
                )
            )
        if rule.unmeasured == "apart":
            findings.append(
                Finding(
                    "unmeasured_apart",
                    "info",
                    f"{label!r} leaves people who were not measured out of its rate, so leaving likely failures "
                    'unassessed raises it. Count them as not achieved (unmeasured = "not_achieved"), or watch '
                    "the unmeasured share by provider (validation.measurement_screens).",
                    {"outcome": key, "unmeasured": rule.unmeasured},
                )
            )
    return findings
