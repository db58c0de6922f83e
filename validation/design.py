"""Design checks: the ways an outcome contract goes wrong, found before signing.

``check_design(spec, data)`` returns a list of :class:`Finding` (code,
severity, message, evidence). Severities: ``"error"`` (the contract cannot work
as written: ``desist check`` exits 1), ``"warning"`` (it works but invites
gaming, waste or a lottery), ``"info"`` (worth knowing, or a check that could
not run).

==========================  ========  ==================================================================
code                        severity  why it matters
==========================  ========  ==================================================================
``deadweight``              warning   Most of the cohort already meets the outcome at baseline (share >
                                      ``deadweight_share``, default 50%), so the contract pays for what
                                      would have happened anyway. Needs ``people`` + ``assessments``.
``deadweight_share``        info      Always, per level outcome and overall: the share of its payments
                                      (and of expected spend, by price) going to people who already
                                      met it at baseline.
``outcome_not_measurable``  error     The outcome's window (or reoffending follow-up plus waiting period)
                                      ends after the contract does, so no one can be paid for it inside
                                      the contract. Needs ``contract_days``.
``binary_reoffending``      warning   A binary (any proven reoffence) measure stops rewarding work with
                                      anyone after their first reoffence: an incentive to park them.
                                      Use a frequency measure (reoffences per person), or both.
``up_front_below_ask``      warning   Under 70% of the service fee up front: small providers must fund
                                      delivery from reserves (``pricing.PaymentStructure.check``).
``at_risk_below_ask``       info      Under 10% of the contract at risk: little financial reason to
                                      pursue outcomes (same source).
``at_risk_above_ask``       warning   Over 30% at risk: invites creaming and parking, shuts out small
                                      providers (same source).
``underpowered``            warning/  Power to detect the expected effect on the spec's reoffending
                            error     measure below 80% (warning) or 50% (error: payment is closer to a
                                      coin toss than a measurement). ``metrics.power``; needs a cohort
                                      size and a base rate (``pool``). For ``check_contract``: the chance
                                      a tranche meets the contract's own first rule, at its ratio and,
                                      with ``people`` and ``pool``, the share matched within its caliper.
``margin_gap``              warning   The tariff leaves a provider a clearly different margin per person
                                      in the easiest and hardest segments (95% CI of the gap excludes 0
                                      and the gap is at least 10% of the mean cost): a reason to cream
                                      (or, if negative, to avoid easy cases). ``pricing.Tariff.margins``;
                                      needs prices, ``history`` with achieved outcomes, and costs.
``small_segment``           warning   A segment has fewer than 60 people (the Justice Data Lab minimum
                                      for an impact estimate); under 10 it cannot even be reported.
``poor_overlap``            warning   The comparison pool has no comparable people for part of the
                                      cohort: more than 5% of the cohort lies outside the pool's
                                      propensity range, or the model separates them perfectly. The
                                      matched estimate then covers only part of the cohort.
``payment_chance``          info      ``check_contract``: the chance the contract's own rules pay (or
                                      claw back) when nothing changed and at a stated true effect,
                                      under its own comparison (baseline, or matched at its ratio).
``pays_by_chance``          warning   Those rules pay more than 10% of the time when nothing changed.
``rule_capped_at_zero``     warning   A rule that would pay is capped at £0: it can never pay.
``rule_pays_for_a_rise``    warning   A rule (or its hurdle) with ``at_least`` below 0 is met when
                                      reoffending rises.
``management_fee_above_ask`` warning  The prime keeps more than 20% (an assumed ceiling; unverified).
``any_assessment_counts``   warning   An outcome pays when any assessment in the window meets its rule:
                                      each extra assessment is another chance to pay on rating noise
                                      (``validation.measurement.counting_findings``).
``unmeasured_apart``        info      An outcome leaves the unmeasured out of its rate (same source).
``unmeasured``              info      How many people due a measurement of each outcome had none, and
                                      where they count. Needs ``people`` + ``assessments``.
``not_checked``             info      A check could not run for want of an input; says which.
==========================  ========  ==================================================================

``data`` is a mapping (or an object with attributes, e.g. a synthetic
``World``) holding any of: ``people`` (the cohort, one row per person),
``assessments``, ``achievement`` (the spec's outcomes already judged on
``people``, ``MetricSpec.achievement``: saves judging them again), ``at_baseline`` (the level outcomes judged in
their baseline windows, :func:`at_baseline`: saves scoring the assessments again), ``pool`` (comparison pool with
``reoffended`` / ``reoffences``), ``history`` (last year's people with 0/1 columns per priced outcome), ``as_of``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ground.checks import Interval, Options, check_parameter
from ground.errors import DesistError, ModelError
from ground.findings import Finding, by_severity
from ground.memo import remembered
from ground.tables import BASELINE_COVARIATES
from ground.tolerance import at_least
from validation.measurement import counting_findings

if TYPE_CHECKING:
    from ground.dates import DateLike
    from outcomes.achievement import Achievement
    from outcomes.spec import MetricSpec

CODES = (
    "deadweight",
    "outcome_not_measurable",
    "binary_reoffending",
    "up_front_below_ask",
    "at_risk_below_ask",
    "at_risk_above_ask",
    "underpowered",
    "margin_gap",
    "small_segment",
    "poor_overlap",
    "deadweight_share",
    "payment_chance",
    "pays_by_chance",
    "rule_capped_at_zero",
    "rule_pays_for_a_rise",
    "management_fee_above_ask",
    "any_assessment_counts",
    "unmeasured_apart",
    "unmeasured",
    "not_checked",
)
#: Chance of paying when nothing changed above which a contract pays for luck.
CHANCE_WARNING = 0.10
#: The highest prime management fee judged acceptable. No published source gives the sector's figure:
#: 20% is an assumption (unverified), stated in every finding that uses it.
MAX_MANAGEMENT_FEE = 0.20
DEADWEIGHT_SHARE = 0.5
POWER_WARNING, POWER_ERROR = 0.8, 0.5
JDL_MINIMUM, MIN_CELL = 60, 10
MARGIN_MATERIALITY = 0.10
OFF_SUPPORT_SHARE = 0.05
# Default expected effects: Doncaster's 5-point fall (binary) and Peterborough's
# 10% fall in frequency (the targets of the two pilots: docs/schemes.md).
DEFAULT_EFFECT = {"binary": -0.05, "frequency": 0.90}

__all__ = ["CODES", "at_baseline", "check_contract", "check_design"]


def _get(data: Any, name: str) -> Any:
    if data is None:
        return None
    if isinstance(data, Mapping):
        return data.get(name)
    return getattr(data, name, None)


def check_design(
    spec: Any,
    data: Mapping[str, Any] | Any = None,
    *,
    contract_days: int | None = None,
    expected_effect: float | None = None,
    costs: Mapping[str, float] | None = None,
    cohort_size: int | None = None,
    ratio: float = 1.0,
    deadweight_share: float = DEADWEIGHT_SHARE,
) -> list[Finding]:
    """Check a metric spec (and, optionally, data) for design flaws.

    Parameters
    ----------
    spec : outcomes.spec.MetricSpec
    data : mapping or object, optional
        ``people``, ``assessments``, ``pool``, ``history``, ``as_of`` (see the
        module docstring); checks that need a missing table report
        ``not_checked``.
    contract_days : int, optional
        Contract length in days from the first start date.
    expected_effect : float, optional
        Expected effect on the reoffending measure: a rate difference for a
        binary measure (default -0.05), a rate ratio for frequency (0.9).
    costs : mapping, optional
        Delivery cost per person by segment (else a ``cost`` column in people).
    cohort_size : int, optional
        Default: rows in ``people``.
    ratio : float, default 1
        Comparison people per cohort member after matching.
    deadweight_share : float, default 0.5

    Returns
    -------
    list of Finding
        Errors first, then warnings, then info.

    Examples
    --------
    >>> spec = MetricSpec.from_toml("examples/specs/doncaster.toml")  # doctest: +SKIP
    >>> [f.code for f in check_design(spec)]  # doctest: +SKIP
    ['binary_reoffending', 'not_checked']
    """
    check_parameter(contract_days, "contract_days", "check_design", Options(None), Interval(int, 1, None))
    people, assessments, as_of = _get(data, "people"), _get(data, "assessments"), _get(data, "as_of")
    findings: list[Finding] = []
    skipped: dict[str, str] = {}
    findings += _binary_reoffending(spec)
    findings += counting_findings(spec)
    findings += _payment(spec, people, _get(data, "history"), skipped)
    findings += _measurable(spec, contract_days, skipped)
    judged = _judged(spec, people, assessments, as_of, _get(data, "achievement"))
    before = _get(data, "at_baseline")
    findings += _deadweight(spec, people, assessments, as_of, judged, before, deadweight_share, skipped)
    findings += _unmeasured(spec, judged)
    findings += _power(spec, people, _get(data, "pool"), cohort_size, expected_effect, ratio, skipped)
    findings += _margins(spec, people, _get(data, "history"), costs, skipped)
    findings += _segments(spec, people, skipped)
    findings += _overlap(spec, people, _get(data, "pool"), skipped)
    return _with_not_checked(findings, skipped)


#: The design checks in words, as a note naming those not run says them.
CHECK_WORDS = {
    "at_risk_share": "the share at risk",
    "outcome_not_measurable": "whether each outcome can be measured in time",
    "deadweight": "deadweight",
    "underpowered": "power",
    "margin_gap": "the margin gap between segments",
    "small_segment": "segment sizes",
    "poor_overlap": "overlap with the comparison pool",
}


def _with_not_checked(findings: list[Finding], skipped: Mapping[str, str]) -> list[Finding]:
    """The findings, most serious first, and one note naming each check that could not run and why."""
    if skipped:
        reasons = "; ".join(f"{CHECK_WORDS.get(k, k.replace('_', ' '))} ({why})" for k, why in skipped.items())
        findings = [*findings, Finding("not_checked", "info", f"Not checked: {reasons}.", {"checks": dict(skipped)})]
    return by_severity(findings)


def _binary_reoffending(spec: Any) -> list[Finding]:
    r = getattr(spec, "reoffending", None)
    if r is None or r.measure != "binary":
        return []
    return [
        Finding(
            "binary_reoffending",
            "warning",
            "The reoffending measure is binary: once someone has a proven reoffence nothing more can be earned "
            "from them, so they are worth parking. Measure frequency (proven reoffences per person), or both.",
            {"measure": r.measure, "suggest": "frequency"},
        )
    ]


def _payment(spec: Any, people, history, skipped: dict[str, str]) -> list[Finding]:
    payment = dict(getattr(spec, "payment", {}) or {})
    if not {"up_front_share", "at_risk_share", "clawback_share"} & set(payment):
        return []
    from pricing.inputs import cohort_pricing
    from pricing.structure import PaymentStructure

    # Outcome payments are at risk too: count them when the data give their expected total.
    budget = 0.0
    if payment.get("prices"):
        if people is None or history is None:
            skipped["at_risk_share"] = (
                "outcome payments not counted in the share at risk: needs people and a "
                "history table with achieved outcomes"
            )
        else:
            budget = cohort_pricing(spec, people, history).expected_payments
    # A contract's clawback is tied to a rule; a bare spec's share is judged as written.
    clawback = bool(payment.get("clawback_share"))
    structure = PaymentStructure.from_spec(spec, outcome_budget=budget, clawback_rule=clawback)
    if structure.service_fee == 0:
        # Shares alone are scale-free: a unit fee keeps the check meaningful.
        structure = dataclasses.replace(structure, service_fee=1.0)
    return structure.check()


def _measurable(spec: Any, contract_days: int | None, skipped: dict[str, str]) -> list[Finding]:
    last = {key: o.window[1] for key, o in (getattr(spec, "outcomes", {}) or {}).items()}
    r = getattr(spec, "reoffending", None)
    if r is not None:
        last["reoffending"] = r.follow_up_days + r.waiting_days
    if not last:
        return []
    if contract_days is None:
        skipped["outcome_not_measurable"] = "no contract length (contract_days)"
        return []
    return [
        Finding(
            "outcome_not_measurable",
            "error",
            f"{key!r} is measured up to day {day} after each start, but the contract lasts {contract_days} days: "
            "no one can be paid for it within the contract. Shorten the window or lengthen the contract.",
            {"outcome": key, "last_day": day, "contract_days": contract_days},
        )
        for key, day in last.items()
        if day > contract_days
    ]


def _judged(spec: Any, people, assessments, as_of, judged: Mapping[str, Any] | None) -> dict[str, Any]:
    """Every outcome judged on the cohort (``MetricSpec.achievement``), unless the caller already did."""
    if judged is not None:
        return dict(judged)
    if not getattr(spec, "outcomes", None) or people is None or assessments is None:
        return {}
    return spec.achievement(people, assessments, as_of=as_of)


def _unmeasured(spec: Any, judged: Mapping[str, Any]) -> list[Finding]:
    """How many people due a measurement of each outcome had none: counted, never silently dropped."""
    findings = []
    for key, result in judged.items():
        n, missing = len(result.per_person), result.unmeasured
        if not missing:
            continue
        outcome = spec.outcomes[key]
        where = "count as not achieved" if outcome.rule.unmeasured == "not_achieved" else "are reported apart"
        findings.append(
            Finding(
                "unmeasured",
                "info",
                f"{missing:,} of {n:,} people ({missing / n:.0%}) were due a measurement of {outcome.label or key!r} "
                f"and had none that could be scored; they {where}.",
                {"outcome": key, "unmeasured": missing, "people": n, "unmeasured_rule": outcome.rule.unmeasured},
            )
        )
    return findings


def at_baseline(
    spec: MetricSpec, people: pd.DataFrame, assessments: pd.DataFrame, as_of: DateLike | None = None
) -> dict[str, Achievement]:
    """Each level outcome of the spec judged in its baseline window: who met it before any service.

    A level rule (threshold, also inside "sustained") can be met at baseline; change rules (improvement,
    reliable change, transition) measure from baseline, so cannot be, and are left out. The deadweight check
    reads this; a caller that checks many variants of one spec on the same data passes it as ``at_baseline``.

    Parameters
    ----------
    spec : outcomes.MetricSpec
    people, assessments : pandas.DataFrame
        The cohort and its assessments.
    as_of : date-like, optional
        Default: the last assessment.

    Returns
    -------
    dict of str -> outcomes.achievement.Achievement
        By outcome key, in the order the spec lists them.

    Examples
    --------
    >>> from outcomes import MetricSpec
    >>> from cohorts.synthetic import make_world
    >>> w = make_world(seed=1, n_eligible=300, n_pool=0)
    >>> sorted(at_baseline(MetricSpec.from_toml("examples/specs/intermediate.toml"), w.people, w.assessments))
    ['ete', 'family_contact']
    """
    from outcomes.achievement import achievement
    from outcomes.scoring import Scores, score

    if as_of is None:
        as_of = pd.to_datetime(assessments["assessed_on"]).max()
    scored: dict[str, Scores] = {}
    before = {}
    for key, o in (getattr(spec, "outcomes", {}) or {}).items():
        rule = getattr(o.rule, "rule", o.rule)
        if rule.needs_baseline:
            continue
        if o.instrument not in scored:
            scored[o.instrument] = score(assessments, spec.instrument(o.instrument))
        before[key] = achievement(
            people, scored[o.instrument], rule, o.baseline, o.baseline, as_of=as_of, measure=o.measure
        )
    return before


def _deadweight(
    spec: Any, people, assessments, as_of, judged: Mapping[str, Any], before, share: float, skipped: dict[str, str]
) -> list[Finding]:
    outcomes = getattr(spec, "outcomes", {}) or {}
    if not outcomes:
        return []
    if people is None or assessments is None:
        skipped["deadweight"] = "needs people and assessments"
        return []
    findings: list[Finding] = []
    spend: dict[str, tuple[float, float]] = {}
    # In the order the spec lists its outcomes, so the findings (and story.json) read the same on every run.
    before = at_baseline(spec, people, assessments, as_of) if before is None else before
    for key, met in before.items():
        findings += _deadweight_findings(key, outcomes[key], met, judged[key], share, spend, spec)
    if spend:
        total, wasted = sum(v[0] for v in spend.values()), sum(v[1] for v in spend.values())
        findings.append(
            Finding(
                "deadweight_share",
                "info",
                f"{wasted / total if total else 0:.0%} of the expected spend on level outcomes goes to people who "
                "already met them at baseline (always reported: paying for it pays for what would have happened).",
                {"share_of_spend": wasted / total if total else 0.0, "by_outcome": spend},
            )
        )
    return findings


def _deadweight_findings(key, o, before, paid, share, spend, spec) -> list[Finding]:
    rate = before.rate()
    met_before = before.per_person.set_index("person_id")["status"].eq("achieved")
    achieved = paid.per_person.set_index("person_id")["status"].eq("achieved")
    n_paid = int(achieved.sum())
    to_already = int((achieved & met_before.reindex(achieved.index, fill_value=False)).sum())
    price = _price_of(spec, o.price_key or key)
    if price:
        spend[key] = (price * n_paid, price * to_already)
    out = [
        Finding(
            "deadweight_share",
            "info",
            f"{to_already / n_paid if n_paid else 0:.0%} of {o.label or key!r} payments ({to_already:,} of {n_paid:,}) "
            f"would go to people who already met it at baseline ({rate.estimate:.0%} of the cohort did, "
            f"n = {rate.n:,}).",
            {"outcome": key, "paid": n_paid, "paid_already_met": to_already, "share_at_baseline": rate.estimate},
        )
    ]
    if rate.n and rate.estimate > share:
        out.append(
            Finding(
                "deadweight",
                "warning",
                f"{rate.estimate:.0%} of the cohort (95% CI {rate.ci_low:.0%} to {rate.ci_high:.0%}, "
                f"n = {rate.n:,}) already meet {o.label or key!r} at baseline: paying for it pays for what "
                "would have happened anyway. Pay for improvement, or only for people below it at baseline.",
                {
                    "outcome": key,
                    "share": rate.estimate,
                    "ci_low": rate.ci_low,
                    "ci_high": rate.ci_high,
                    "n": rate.n,
                    "threshold": share,
                },
            )
        )
    return out


def _price_of(spec, price_key: str) -> float:
    price = (getattr(spec, "payment", {}) or {}).get("prices", {}).get(price_key)
    if isinstance(price, Mapping):
        return float(price.get("default", np.mean([float(v) for v in price.values()])))
    return float(price or 0.0)


def _power(spec, people, pool, cohort_size, effect, ratio, skipped) -> list[Finding]:
    r = getattr(spec, "reoffending", None)
    if r is None:
        return []
    n = cohort_size if cohort_size is not None else (None if people is None else len(people))
    if n is None or pool is None:
        skipped["underpowered"] = "needs a cohort size (people or cohort_size) and a comparison pool"
        return []
    from metrics.power import Design, Measure, negative_binomial_shape, power

    measure: Measure = "binary" if r.measure == "binary" else "frequency"
    effect = DEFAULT_EFFECT[measure] if effect is None else effect
    column = "reoffended" if measure == "binary" else "reoffences"
    if column not in pool.columns:
        skipped["underpowered"] = f"the pool has no {column!r} column"
        return []
    y = pool[column].to_numpy(dtype=float)
    base = float(y.mean())
    shape = negative_binomial_shape(y) if measure == "frequency" else None
    try:
        result = power(Design(measure, base, ratio=ratio, dispersion=shape), n, effect)
    except DesistError as exc:
        skipped["underpowered"] = str(exc)
        return []
    if result.power >= POWER_WARNING:
        return []
    severity = "error" if result.power < POWER_ERROR else "warning"
    what = f"{100 * effect:+.1f} percentage points" if measure == "binary" else f"a rate ratio of {effect:.2f}"
    return [
        Finding(
            "underpowered",
            severity,
            f"With {n:,} people (comparison ratio {ratio:g}) the {measure} measure has {result.power:.0%} power to "
            f"detect {what} from a base of {base:.3g}: a true effect of that size would often go unpaid. "
            "Enlarge or pool cohorts, or use a more frequent outcome.",
            {
                "power": result.power,
                "n": n,
                "effect": effect,
                "base_rate": base,
                "measure": measure,
                "ratio": ratio,
                **({"dispersion": shape} if shape is not None else {}),
            },
        )
    ]


def _margins(spec, people, history, costs, skipped) -> list[Finding]:
    prices = (getattr(spec, "payment", {}) or {}).get("prices")
    if not prices:
        return []
    if people is None or history is None or (not costs and "cost" not in people.columns):
        skipped["margin_gap"] = "needs people, a history table with achieved outcomes, and costs"
        return []
    from pricing import Tariff
    from pricing.inputs import cohort_pricing, segment_costs

    p = cohort_pricing(spec, people, history)
    m = Tariff.from_spec(spec).margins(segment_costs(costs, people, p.segments), p.segments, p.probabilities)
    mean_cost = float(np.average(m.table["cost_per_person"], weights=m.table["n"]))
    if m.gap_ci_low <= 0 <= m.gap_ci_high or abs(m.gap) < MARGIN_MATERIALITY * mean_cost:
        return []
    direction = (
        "easy cases pay better: a reason to cream"
        if m.gap > 0
        else "hard cases pay better: a reason to turn easy cases away"
    )
    return [
        Finding(
            "margin_gap",
            "warning",
            f"The tariff leaves £{m.gap:,.0f} more margin per person in {m.easiest!r} (easiest) than in "
            f"{m.hardest!r} (hardest) (95% CI £{m.gap_ci_low:,.0f} to £{m.gap_ci_high:,.0f}); {direction}. "
            "Consider an incentive-neutral tariff (the same margin per person in every segment).",
            {
                "gap": m.gap,
                "ci_low": m.gap_ci_low,
                "ci_high": m.gap_ci_high,
                "easiest": m.easiest,
                "hardest": m.hardest,
                "mean_cost": mean_cost,
            },
        )
    ]


def _segments(spec, people, skipped) -> list[Finding]:
    segments = getattr(spec, "segments", {}) or {}
    if not segments:
        return []
    if people is None:
        skipped["small_segment"] = "needs people"
        return []
    from cohorts.segments import assign

    flags = assign(people, spec.segments).flags
    sizes = flags.fillna(False).astype(bool).sum()
    return [
        Finding(
            "small_segment",
            "warning",
            f"Segment {name!r} has {n} people: "
            + (
                f"under {MIN_CELL}, it cannot be reported at all (suppressed)."
                if n < MIN_CELL
                else f"under {JDL_MINIMUM} (the Justice Data Lab minimum), too few for an impact estimate of its own."
            ),
            {"segment": name, "n": int(n), "min_report": MIN_CELL, "min_estimate": JDL_MINIMUM},
        )
        for name, n in sizes.items()
        if n < JDL_MINIMUM
    ]


def _overlap(spec, people, pool, skipped) -> list[Finding]:
    if people is None or pool is None:
        # Only a reoffending measure needs a comparison group, so only then is the gap worth saying.
        if getattr(spec, "reoffending", None) is not None:
            skipped["poor_overlap"] = "needs people and a comparison pool"
        return []
    # The people and the pool alone decide it: an active ground.memo.Memo made for them (the contract
    # designer's) fits the propensity model once, not at every edit of a price.
    found, reason = remembered(
        ("overlap", id(people), id(pool)), lambda: _pool_overlap(people, pool), held=(people, pool)
    )
    if reason is not None:
        skipped["poor_overlap"] = reason
    return found


def _pool_overlap(people, pool) -> tuple[list[Finding], str | None]:
    """The poor-overlap finding, if any, or why overlap could not be checked."""
    covariates = [c for c in BASELINE_COVARIATES if c in people.columns and c in pool.columns]
    if not covariates:
        return [], f"no covariates shared by people and pool (looked for {list(BASELINE_COVARIATES)})"
    from metrics.propensity import fit_propensity

    both = pd.concat(
        [people[covariates].assign(_cohort=True), pool[covariates].assign(_cohort=False)], ignore_index=True
    )
    # Schema-read tables carry every allowed level ("unknown", ...); levels no one
    # has, and covariates with one value, say nothing about overlap.
    for col in covariates:
        if isinstance(both[col].dtype, pd.CategoricalDtype):
            both[col] = both[col].cat.remove_unused_categories()
    covariates = [c for c in covariates if both[c].nunique(dropna=True) > 1]
    if not covariates:
        return [], "no shared covariate varies"
    try:
        model = fit_propensity(both, "_cohort", covariates)
    except ModelError as exc:
        separated = f"The propensity model separates the cohort from the pool: {exc}"
        return [Finding("poor_overlap", "warning", separated, {"error": str(exc)})], None
    lp = np.asarray(model.linear_predictor)
    cohort = both["_cohort"].to_numpy()
    lp_t, lp_c = lp[cohort], lp[~cohort]
    off = float(np.mean((lp_t > lp_c.max()) | (lp_t < lp_c.min())))
    # Rubin (2001): standardised difference B and variance ratio R of the linear propensity.
    b = float((lp_t.mean() - lp_c.mean()) / np.sqrt((lp_t.var(ddof=1) + lp_c.var(ddof=1)) / 2))
    r = float(lp_t.var(ddof=1) / lp_c.var(ddof=1))
    if off <= OFF_SUPPORT_SHARE:
        return [], None
    return [
        Finding(
            "poor_overlap",
            "warning",
            f"{off:.0%} of the cohort lie outside the comparison pool's propensity range: the pool has no one like "
            "them, so a matched comparison covers only part of the cohort. Widen the pool or narrow eligibility.",
            {
                "off_support": off,
                "rubin_b": b,
                "rubin_r": r,
                "covariates": covariates,
                "n_cohort": int(cohort.sum()),
                "n_pool": int((~cohort).sum()),
            },
        )
    ], None


def check_contract(
    contract: Any,
    data: Mapping[str, Any] | Any = None,
    *,
    contract_days: int | None = None,
    expected_effect: float | None = None,
    costs: Mapping[str, float] | None = None,
    draws: int = 4_000,
    seed: int = 0,
) -> list[Finding]:
    """Judge a contract as written: :func:`check_design` on its spec, then its own rules and supply chain.

    The rules are simulated (:func:`pricing.chances.rule_chances`) under the
    contract's comparison: its baseline, or a matched comparison at its ratio
    with the pool's rate; the cohort size per tranche is the people in each
    tranche (or the people split evenly). ``expected_effect`` is a rate
    difference (binary) or a rate ratio (frequency); default a 5-point fall
    or a 10% fall.

    Examples
    --------
    >>> from pricing import scheme
    >>> [f.code for f in check_contract(scheme("doncaster"))][:2]
    ['binary_reoffending', 'payment_chance']
    """
    spec_findings = check_design(
        contract.spec, data, contract_days=contract_days, expected_effect=expected_effect, costs=costs
    )
    skipped = next((dict(f.evidence["checks"]) for f in spec_findings if f.code == "not_checked"), {})
    # A contract with tranche rules has their power, at its ratio and caliper (below), not a 1:1 test of the spec.
    replaced = {"not_checked"} | ({"underpowered"} if any(r.type == "tranche" for r in contract.rules) else set())
    if "underpowered" in replaced:
        skipped.pop("underpowered", None)
    findings = [f for f in spec_findings if f.code not in replaced]
    findings += _rule_terms(contract)
    findings += _rule_findings(contract, data, expected_effect, draws, seed, skipped)
    findings += _management_fee(contract)
    return _with_not_checked(findings, skipped)


def _rule_findings(contract, data, effect, draws, seed, skipped) -> list[Finding]:
    if not contract.rules:
        return []
    from pricing.chances import DEFAULT_EFFECT, rule_chances
    from pricing.settlement_data import OUTCOME_COLUMN

    rule = contract.rules[0]
    people, pool = _get(data, "people"), _get(data, "pool")
    column = OUTCOME_COLUMN[rule.measure]
    k = None
    if pool is not None and column in pool.columns:
        from metrics.power import negative_binomial_shape

        y = pool[column].to_numpy(dtype=float)
        base = float(y.mean())
        k = negative_binomial_shape(y) if rule.measure != "binary" else None
    elif contract.baseline is not None and rule.measure in contract.baseline.measures:
        base = contract.baseline.of(rule.measure).rate
    else:
        skipped["payment_chance"] = f"needs a comparison pool with {column!r} for the matched comparison's rate"
        return []
    n = _tranche_size(contract, people)
    effect = DEFAULT_EFFECT[rule.measure] if effect is None else effect
    matched = _after_caliper(contract, rule, people, pool, n)
    n = matched["n"]
    r = rule_chances(
        contract, n_per_tranche=n, base_rate=base, true_effect=effect, dispersion=k, draws=draws, seed=seed
    )
    table = r.table.set_index(["rule", "scenario"])
    effects = ", ".join(f"{m} {v:g}" for m, v in r.assumptions["true_effects"].items())
    words = []
    for name in dict.fromkeys(table.index.get_level_values(0)):
        none, at = table.loc[(name, "none")], table.loc[(name, "effect")]
        words.append(
            f"{name}: pays {none['p_pays']:.1%} / claws back {none['p_clawback']:.1%} when nothing changed; "
            f"pays {at['p_pays']:.1%} (MC SE {at['p_pays_se']:.2%}) / claws back {at['p_clawback']:.1%} at the true "
            "effect"
        )
    against = rule.against if rule.against == "baseline" else matched["words"]
    evidence = {**r.to_dict(), "against": against}
    life = (
        f"Over the contract's life ({len(contract.tranches)} tranches, interim and final, pooled rules at the end; "
        f"{draws:,} simulated lives) under its own rules ({against}, {n:,} per tranche): anything is paid in "
        f"{r.chance_of_paying('none'):.1%} (MC SE {r.chance_se('none'):.2%}) when nothing changed, "
        f"{r.chance_of_paying('effect'):.1%} (MC SE {r.chance_se('effect'):.2%}) at a true effect of {effects}. "
    )
    out = [Finding("payment_chance", "info", life + "; ".join(words) + ".", evidence)]
    if people is None:
        skipped["underpowered"] = "needs people, to count each tranche"
    else:
        out += _rule_power(contract, n, base, effect, k, against)
    if r.chance_of_paying("none") > CHANCE_WARNING:
        out.append(
            Finding(
                "pays_by_chance",
                "warning",
                f"The rules pay something in {r.chance_of_paying('none'):.1%} of the contract's simulated lives when "
                "nothing changed: "
                "the commissioner pays for luck. Decide on a confidence bound, raise the threshold, or pool tranches.",
                {"chance": r.chance_of_paying("none"), "threshold": CHANCE_WARNING},
            )
        )
    return out


def _rule_terms(contract) -> list[Finding]:
    """Rules whose terms defeat them: a cap of 0 (they can never pay), a threshold below 0 (they pay for a rise)."""
    found = []
    for rule in contract.rules:
        if rule.cap is not None and rule.cap <= 0 and (rule.amount or rule.price_per_event or rule.releases_at_risk):
            found.append(
                Finding(
                    "rule_capped_at_zero",
                    "warning",
                    f"Rule {rule.name!r} is capped at £0: whatever the reduction it pays nothing. Remove the cap or "
                    "raise it to what the rule should pay at most.",
                    {"rule": rule.name, "cap": rule.cap},
                )
            )
        tests = [("", rule.at_least)] + ([(" hurdle", rule.hurdle.at_least)] if rule.hurdle is not None else [])
        for part, threshold in tests:
            if threshold < 0:
                rise = f"{-threshold * 100:g} points" if rule.scale == "points" else f"{-threshold:.0%}"
                found.append(
                    Finding(
                        "rule_pays_for_a_rise",
                        "warning",
                        f"Rule {rule.name!r}{part} has at_least = {threshold:g}: it is met when {rule.measure} "
                        f"reoffending rises by up to {rise} against the comparison. Write at_least >= 0 unless "
                        "paying for no worse than a rise is intended.",
                        {"rule": rule.name, "part": part.strip() or "rule", "at_least": threshold},
                    )
                )
    return found


def _after_caliper(contract, rule, people, pool, n: int) -> dict[str, Any]:
    """People per tranche after matching at the contract's ratio and caliper (the share matched in the data)."""
    m = contract.matched
    if rule.against != "matched" or m is None:
        return {"n": n, "words": rule.against}
    words = f"matched 1:{m.ratio}" + ("" if m.caliper is None else f", caliper {m.caliper:g} SD")
    covariates = list(m.covariates)
    usable = people is not None and pool is not None and covariates
    if m.caliper is None or not usable or not set(covariates) <= set(people.columns) & set(pool.columns):
        return {"n": n, "words": words}
    from metrics import match

    both = pd.concat([people[covariates].assign(_t=1), pool[covariates].assign(_t=0)], ignore_index=True)
    try:
        counts = match(both, "_t", covariates, ratio=m.ratio, caliper=m.caliper, replace=m.replace).counts
    except DesistError:
        return {"n": n, "words": words}
    treated = counts["treated"].astype(float)
    share = float(treated["matched"]) / float(treated["all"])
    kept = max(int(round(n * share)), 2)
    return {"n": kept, "words": f"{words}, {share:.0%} of people matched"}


def _rule_power(contract, n: int, base: float, effect: float, k, against: str) -> list[Finding]:
    """The chance a tranche meets the contract's first tranche rule at the expected effect: its power."""
    from pricing.chances import tranche_power

    rule = next((r for r in contract.rules if r.type == "tranche"), None)
    if rule is None:
        return []
    chance = tranche_power(contract, rule, n_per_tranche=n, base_rate=base, true_effect=effect, dispersion=k)
    if at_least(chance, POWER_WARNING):
        return []
    return [
        Finding(
            "underpowered",
            "warning" if at_least(chance, POWER_ERROR) else "error",
            f"With {n:,} people per tranche ({against}) a tranche meets rule {rule.name!r} only {chance:.0%} of the "
            f"time at a true effect of {effect:g}: a true effect of that size would often go unpaid. Enlarge or pool "
            "tranches, or lower the threshold.",
            {"power": chance, "n": n, "effect": effect, "base_rate": base, "rule": rule.name, "against": against},
        )
    ]


def _tranche_size(contract, people) -> int:
    if people is None:
        return 1_000
    start = pd.to_datetime(people[contract.index], errors="coerce").dt.date if contract.index in people else None
    sizes = [int(((start >= t.start) & (start <= t.end)).sum()) for t in contract.tranches] if start is not None else []
    return max(min([s for s in sizes if s > 1], default=len(people) // max(len(contract.tranches), 1)), 2)


def _management_fee(contract) -> list[Finding]:
    fee = contract.structure.management_fee
    if fee <= MAX_MANAGEMENT_FEE:
        return []
    return [
        Finding(
            "management_fee_above_ask",
            "warning",
            f"The prime keeps {fee:.0%} of every payment before passing the rest down: above the "
            f"{MAX_MANAGEMENT_FEE:.0%} taken here as the sector's ask (an assumed figure: no source found), so the "
            f"front line receives {1 - fee:.0%}.",
            {"management_fee": fee, "max_management_fee": MAX_MANAGEMENT_FEE, "source": "assumed (unverified)"},
        )
    ]
