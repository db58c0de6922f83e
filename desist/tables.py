"""The tables people read, one function per result: shared by the report, the workbook and the terminal.

Each function takes a library result and returns a :class:`desist.format.Table`:
the raw numbers (as ``--json`` has them) with a heading and a kind for every
column, so the report writes "41.7% (39.8% to 43.6%)" and the workbook a
number with a percentage format, from one definition. Names in words
(segments, outcomes) come in as optional mappings; without them a code is
humanised ("complex_needs" -> "Complex needs").

Examples
--------
>>> from ground.findings import Finding
>>> t = findings_table([Finding("margin_gap", "warning", "The tariff rewards creaming.")])
>>> t.readable().iloc[0].tolist()
['Worth fixing', 'The tariff rewards creaming.', 'margin_gap']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from appraisal.answers import Outlook, Sensitivity, Spend, Verdict
from desist.format import COLUMNS, Column, Table, exact_zeros, humanise
from ground.words import SEVERITY_WORDS
from validation.funnels import limit_label

__all__ = [
    "TARIFF_NAMES",
    "cash_flow_table",
    "cost_per_outcome_table",
    "counts_table",
    "effects_table",
    "equality_table",
    "findings_table",
    "ledger_table",
    "measurement_summary_table",
    "measurement_table",
    "providers_table",
    "sensitivity_table",
    "settlement_parties_table",
    "settlement_table",
    "funnel_table",
    "gaps_table",
    "margins_long_table",
    "margins_table",
    "outcome_names",
    "outcome_rates_table",
    "outlook_table",
    "party_table",
    "prices_long_table",
    "prices_table",
    "rule_chances_table",
    "rules_table",
    "screen_table",
    "segment_names",
    "spend_table",
    "verdict_table",
]

#: Tariffs by name, in words.
TARIFF_NAMES = {
    "spec": "The spec's prices",
    "flat": "Flat",
    "by_difficulty": "By difficulty",
    "incentive_neutral": "Incentive-neutral",
}
#: Steps of a count in words.
_COUNT_WORDS = {"all": "Everyone in the cohort", "observable": "Followed up in full (counted)", "kept": "Kept"}


def segment_names(spec: Any) -> dict[str, str]:
    """Payment segments in words, from a metric spec: its labels, then "No segment" and "Segment unknown"."""
    names = {k: (s.label or humanise(k)) for k, s in spec.segments.items()}
    return {**names, "none": "No segment", "unknown": "Segment unknown"}


def outcome_names(spec: Any) -> dict[str, str]:
    """Priced outcomes in words, by price key, from a metric spec."""
    names = {o.price_key or k: o.label or humanise(k) for k, o in spec.outcomes.items()}
    if spec.reoffending is not None and spec.reoffending.price_key:
        names[spec.reoffending.price_key] = "No proven reoffence"
    return names


def _named(codes: Sequence[Any], names: Mapping[str, str] | None) -> list[str]:
    names = dict(names or {})
    return [names.get(str(c), humanise(c)) for c in codes]


def counts_table(counts: Mapping[str, int], caption: str = "") -> Table:
    """Who was counted and who was left out, with the reason, as ``{step: people}``.

    Examples
    --------
    >>> counts_table({"all": 10, "excluded: window not closed": 2}).readable().iloc[1, 0]
    'Left out: window not closed'
    """
    words = [
        _COUNT_WORDS.get(k) or humanise(k.replace("as_of", "the data's date").replace("excluded:", "Left out:"))
        for k in counts
    ]
    frame = pd.DataFrame({"step": words, "people": list(counts.values())})
    return Table(frame, {"step": Column("Who", "text"), "people": COLUMNS["people"]}, caption)


def outcome_rates_table(rates: pd.DataFrame, caption: str = "Achievement by outcome") -> Table:
    """Intermediate outcome rates (``MetricSpec.outcome_rates``): share achieved with its CI, who was not measured."""
    columns = {
        "label": COLUMNS["label"],
        "rate": Column("Achieved", "percent", ("ci_low", "ci_high")),
        "achieved": Column("People who achieved it", "count"),
        "n": Column("People measured", "count"),
        "not_measurable": COLUMNS["not_measurable"],
        "not_yet_measurable": COLUMNS["not_yet_measurable"],
    }
    if "unmeasured" in rates.columns:
        columns["unmeasured"] = Column("Due a measurement, had none", "count")
    return Table(rates.reset_index(drop=True), columns, caption, n_columns=("n", "achieved"))


def effects_table(effects: Mapping[str, Any], caption: str = "Effects with 95% CIs") -> Table:
    """Effects (``metrics.Effect``) as numbers, each with its scale in words."""
    rows = [
        {
            "measure": humanise(kind),
            "outcome": e.outcome,
            "scale": e.scale,
            "estimate": e.estimate,
            "ci_low": e.ci_low,
            "ci_high": e.ci_high,
            "p_value": e.p_value,
            "mean_treated": e.mean_treated,
            "mean_control": e.mean_control,
            "n_treated": e.n_treated,
            "n_control": e.n_control,
        }
        for kind, e in effects.items()
    ]
    columns = {
        "measure": Column("Measure", "text"),
        "outcome": COLUMNS["outcome"],
        "scale": Column("Scale of the estimate", "text"),
        "estimate": Column("Estimate", "number", ("ci_low", "ci_high")),
        "p_value": COLUMNS["p_value"],
        "mean_treated": Column("Mean, programme group", "number"),
        "mean_control": Column("Mean, comparison group", "number"),
        "n_treated": COLUMNS["n_treated"],
        "n_control": COLUMNS["n_control"],
    }
    return Table(pd.DataFrame(rows), columns, caption)


def rules_table(comparisons: Mapping[str, Any], caption: str = "Payment rules on the same comparison") -> Table:
    """Payment rules (``metrics.compare_rules`` per measure) as numbers: decision, reduction, false payment.

    Reductions are proportions: of the comparison's rate for relative rules,
    of people (percentage points) for points rules; ``Scale`` says which.
    """
    rows = [
        {
            "measure": humanise(measure),
            "rule": r.rule,
            "description": r.description,
            "scale": "percentage points" if r.scale == "points" else "relative",
            "met": r.met,
            "observed": r.observed,
            "ci_low": r.ci_low,
            "ci_high": r.ci_high,
            "decision_value": r.decision_value,
            "threshold": r.threshold,
            "false_payment": r.false_payment,
            "payment_probability": np.nan if r.payment_probability is None else r.payment_probability,
        }
        for measure, comparison in comparisons.items()
        for r in comparison.results
    ]
    columns = {
        "measure": Column("Measure", "text"),
        "rule": COLUMNS["rule"],
        "description": COLUMNS["description"],
        "scale": Column("Scale", "text"),
        "met": Column("Pays", "yes_no"),
        "observed": Column("Observed reduction", "percent", ("ci_low", "ci_high")),
        "decision_value": Column("Decides on", "percent"),
        "threshold": COLUMNS["threshold"],
        "false_payment": COLUMNS["false_payment"],
        "payment_probability": COLUMNS["payment_probability"],
    }
    return Table(pd.DataFrame(rows), columns, caption)


def prices_table(
    tariff: Any,
    outcome_names: Mapping[str, str] | None = None,
    segment_names: Mapping[str, str] | None = None,
    caption: str = "Price of each outcome by segment",
) -> Table:
    """A tariff's prices (£), one row per outcome, one column per segment (in ``segment_names``' order)."""
    frame = tariff.to_frame()
    shown = frame.reset_index()
    shown["outcome"] = _named(shown["outcome"], outcome_names)
    names = dict(segment_names or {})
    order = [s for s in names if s in frame.columns] + [s for s in frame.columns if s not in names]
    columns = {"outcome": COLUMNS["outcome"]}
    columns.update({str(s): Column(names.get(str(s), humanise(s)), "pounds") for s in order})
    return Table(shown.rename(columns=str), columns, caption)


def prices_long_table(
    tariffs: Mapping[str, Any],
    outcome_names: Mapping[str, str] | None = None,
    segment_names: Mapping[str, str] | None = None,
    caption: str = "Prices by tariff, outcome and segment",
) -> Table:
    """Several tariffs' prices in one long table: tariff, outcome, segment, price (£)."""
    parts = [
        t.to_frame().stack().rename("price").reset_index().set_axis(["outcome", "segment", "price"], axis=1)
        for t in tariffs.values()
    ]
    frame = pd.concat([p.assign(tariff=name) for name, p in zip(tariffs, parts)], ignore_index=True)
    frame["tariff"] = _named(frame["tariff"], TARIFF_NAMES)
    frame["outcome"] = _named(frame["outcome"], outcome_names)
    frame["segment"] = _named(frame["segment"], segment_names)
    columns = {
        "tariff": Column("Tariff", "text"),
        "outcome": COLUMNS["outcome"],
        "segment": COLUMNS["segment"],
        "price": Column("Price", "pounds"),
    }
    return Table(frame, columns, caption)


def margins_table(margins: Any, segment_names: Mapping[str, str] | None = None, caption: str = "") -> Table:
    """Margins per person by segment (``pricing.Margins``) with the CI of the margin; small segments suppressed."""
    frame = margins.to_frame().reset_index()
    frame["segment"] = _named(frame["segment"], segment_names)
    columns = {
        "segment": COLUMNS["segment"],
        "n": COLUMNS["n"],
        "achievement": Column("Share of outcomes achieved", "percent"),
        "income_per_person": COLUMNS["income_per_person"],
        "cost_per_person": COLUMNS["cost_per_person"],
        "margin_per_person": COLUMNS["margin_per_person"],
        "expected_income": COLUMNS["expected_income"],
    }
    return Table(frame, columns, caption or "Margins per person by segment", n_columns=("n",))


def margins_long_table(
    margins: Mapping[str, Any],
    segment_names: Mapping[str, str] | None = None,
    caption: str = "Margins by tariff and segment",
) -> Table:
    """Several tariffs' margins in one table, with a Tariff column."""
    frame = pd.concat(
        [
            m.to_frame().reset_index().assign(tariff=TARIFF_NAMES.get(name, humanise(name)))
            for name, m in margins.items()
        ],
        ignore_index=True,
    )
    base = margins_table(next(iter(margins.values())))
    columns = {"tariff": Column("Tariff", "text"), **base.columns}
    frame["segment"] = _named(frame["segment"], segment_names)
    return Table(frame, columns, caption, n_columns=("n",), label_columns=("tariff", "segment"))


def gaps_table(
    comparison: Any, segment_names: Mapping[str, str] | None = None, caption: str = "The creaming gap of each tariff"
) -> Table:
    """Each tariff's creaming gap (margin per person, easiest minus hardest segment) with its CI."""
    frame = comparison.to_frame().reset_index()
    frame["tariff"] = _named(frame["tariff"], TARIFF_NAMES)
    for end in ("easiest", "hardest"):
        frame[end] = _named(frame[end], segment_names)
    columns = {
        "tariff": Column("Tariff", "text"),
        "gap": Column("Creaming gap per person", "pounds", ("gap_ci_low", "gap_ci_high")),
        "min_margin": Column("Lowest margin per person", "pounds"),
        "max_margin": Column("Highest margin per person", "pounds"),
        "easiest": Column("Easiest segment", "text"),
        "hardest": Column("Hardest segment", "text"),
    }
    return Table(frame, columns, caption)


def payoff_table(payoff: Any) -> Table:
    """What gaming earns per person (``validation.GamingPayoff``) by tariff, strategy and strength, with the CI."""
    frame = payoff.to_frame()
    frame = frame[frame["strategy"] != "honest"].reset_index(drop=True)
    frame["tariff"] = [
        TARIFF_NAMES.get(t, "The given tariff" if t == "given" else humanise(t)) for t in frame["tariff"]
    ]
    frame["strategy"] = [humanise(s) for s in frame["strategy"]]
    frame["strength"] = [f"{v:g}" for v in frame["strength"]]
    columns = {
        "tariff": Column("Tariff", "text"),
        "strategy": Column("How it games", "text"),
        "strength": Column("Strength", "text"),
        "gain": Column("Gain per person over honest delivery", "pounds", ("gain_ci_low", "gain_ci_high")),
        "provider_gain": Column("Of which reaches the provider", "pounds"),
    }
    return Table(frame, columns, "Gain per person by tariff, strategy and strength (above £0 pays to game)")


def party_table(simulation: Any, caption: str = "Net cash by party over the contract") -> Table:
    """Each party's net cash, chance of a loss and working capital (``ContractSimulation.party_table``).

    The commissioner has no chance of a loss: "paying above the expected
    payment" is one half by construction, and its risk is spend against
    budget (:func:`spend_table`).
    """
    parties = simulation.party_table().reset_index()
    parties.loc[parties["party"] == "commissioner", ["p_loss", "p_loss_se"]] = np.nan
    parties["party"] = [humanise(p) for p in parties["party"]]
    columns = {
        "party": COLUMNS["party"],
        "net_mean": Column("Net cash, mean", "pounds"),
        "net_q05": Column("Net cash, 5th percentile", "pounds"),
        "net_q95": Column("Net cash, 95th percentile", "pounds"),
        "p_loss": Column("Chance of a loss", "percent"),
        "peak_working_capital_mean": Column("Working capital, mean", "pounds"),
        "peak_working_capital_q95": Column("Working capital, 1 in 20", "pounds"),
    }
    return Table(parties, columns, caption)


def cost_per_outcome_table(
    simulation: Any,
    outcome_names: Mapping[str, str] | None = None,
    caption: str = "What the commissioner pays per outcome achieved",
) -> Table:
    """Commissioner's total payment per achievement of each outcome, over simulated contracts."""
    cost = simulation.cost_per_outcome().reset_index()
    cost["outcome"] = _named(cost["outcome"], outcome_names)
    columns = {
        "outcome": COLUMNS["outcome"],
        "achieved_mean": Column("Achieved (mean over contracts)", "number"),
        "mean": Column("Cost per outcome, mean", "pounds"),
        "q05": COLUMNS["q05"],
        "q95": COLUMNS["q95"],
    }
    return Table(cost, columns, caption)


def cash_flow_table(simulation: Any, caption: str = "Monthly and cumulative net cash by party") -> Table:
    """Each party's monthly and cumulative cash flow: mean and quantiles (£), float noise set to 0."""
    frame = exact_zeros(simulation.to_frame())
    frame["party"] = [humanise(p) for p in frame["party"]]
    frame["kind"] = [humanise(k) for k in frame["kind"]]
    frame["month"] = [str(m) for m in frame["month"]]
    quantiles = [c for c in frame.columns if c.startswith("q") and c[1:].isdigit()]
    columns = {
        "party": COLUMNS["party"],
        "kind": COLUMNS["kind"],
        "month": COLUMNS["month"],
        "mean": COLUMNS["mean"],
        **{q: COLUMNS.get(q) or Column(humanise(q), "pounds") for q in quantiles},
    }
    return Table(frame, columns, caption)


def rule_chances_table(chances: Any, caption: str = "What each rule would pay over simulated evaluations") -> Table:
    """The rules' chances (``pricing.RuleChances``): chance each pays or claws back, and its mean amount (£).

    Examples
    --------
    >>> chances = rule_chances(contract, n_per_tranche=500, base_rate=0.8, true_effect=0.9)  # doctest: +SKIP
    >>> t = rule_chances_table(chances)  # doctest: +SKIP
    >>> t.readable().columns[:3].tolist()  # doctest: +SKIP
    ['Rule', 'Scenario', 'Chance it pays']
    """
    frame = chances.to_frame()
    effect = chances.assumptions.get("true_effect")
    frame["scenario"] = [
        "Nothing changed" if s == "none" else f"At the assumed effect ({effect:g})" for s in frame["scenario"]
    ]
    frame["rule"] = [humanise(r) for r in frame["rule"]]
    columns = {
        "rule": COLUMNS["rule"],
        "scenario": Column("Scenario", "text"),
        "p_pays": Column("Chance it pays", "percent"),
        "p_clawback": Column("Chance it claws back", "percent"),
        "mean": Column("Mean amount", "pounds"),
        "mc_se": Column("Monte Carlo SE of the mean", "pounds"),
    }
    return Table(frame, columns, caption)


def screen_table(screen: Any, caption: str = "") -> Table:
    """A creaming or parking screen (``validation.Screen``) by provider."""
    creaming = screen.kind == "creaming"
    columns = {"unit": COLUMNS["unit"], "n": Column("People eligible" if creaming else "People enrolled", "count")}
    if creaming:
        columns["rate"] = Column("Enrolment rate", "percent")
        columns["smd"] = Column("Difficulty, enrolled against eligible (SMD)", "number", ("smd_ci_low", "smd_ci_high"))
    else:
        columns["mean_hours"] = Column("Mean service hours", "number")
    columns.update(
        {
            "ratio": Column("Hardest against easiest decile", "ratio", ("ratio_ci_low", "ratio_ci_high")),
            "p_trend": Column("p-value (trend)", "p_value"),
            "p_adjusted": Column("p-value (adjusted)", "p_value"),
            "flagged": Column("Flagged", "yes_no"),
        }
    )
    frame = screen.to_frame()
    frame["unit"] = ["All providers" if u == "all" else u for u in frame["unit"]]
    return Table(frame, columns, caption or f"{screen.kind.capitalize()} screen by provider", n_columns=("n",))


def funnel_table(funnel: Any, caption: str = "Providers against the funnel's limits") -> Table:
    """Each provider's observed over expected with the funnel's limits at its volume."""
    units = funnel.units.copy()
    columns = {
        "unit": COLUMNS["unit"],
        "volume": Column("Expected reoffenders" if funnel.kind == "ratio" else "People", "number"),
        "observed": Column("Reoffenders", "count"),
        "value": Column("Observed over expected" if funnel.kind == "ratio" else "Rate", "ratio"),
    }
    for alpha in funnel.alphas:
        key = limit_label(alpha)
        units[f"outside_{key}"] = [v if v else "no" for v in units[f"outside_{key}"]]
        columns[f"low_{key}"] = Column(f"{key}% limit, low", "ratio")
        columns[f"high_{key}"] = Column(f"{key}% limit, high", "ratio")
        columns[f"outside_{key}"] = Column(f"Outside {key}%", "text")
    return Table(units, columns, caption)


#: The equality table's measures in words.
MEASURE_WORDS = {"enrolment": "enrolment", "outcome": "proven reoffending", "payment": "payment"}


def _suppression_words(reason: str) -> str:
    reason = (
        str(reason).replace("count < 10", "fewer than 10 people").replace("complement < 10", "all but fewer than 10")
    )
    return "Suppressed: " + reason.removeprefix("secondary: ")


def equality_table(equality: Any, measure: str | None = None, caption: str = "") -> Table:
    """Rates by protected group with the ratio to the reference group (its own suppression applied).

    With ``measure`` ("enrolment", "outcome", "payment") only that measure's
    rows, without a Measure column.
    """
    shown = equality.to_frame()
    if measure is not None:
        shown = shown[shown["measure"] == measure].reset_index(drop=True)
    shown["measure"] = [MEASURE_WORDS.get(m, m).capitalize() for m in shown["measure"]]
    shown["group"] = ["Everyone" if g == "all" else humanise(g) for g in shown["group"]]
    shown["level"] = [
        "" if lv == "all" else f"{lv} (reference)" if ref else str(lv)
        for lv, ref in zip(shown["level"], shown["reference"])
    ]
    shown["reason"] = [_suppression_words(r) if s else "" for s, r in zip(shown["suppressed"], shown["reason"])]
    columns = {} if measure is not None else {"measure": Column("Measure", "text")}
    columns.update(
        {
            "group": Column("Group", "text"),
            "level": Column("Level", "text"),
            "n": COLUMNS["n"],
            "rate": COLUMNS["rate"],
            "ratio": Column("Ratio to reference", "ratio", ("ratio_ci_low", "ratio_ci_high")),
            "reason": Column("Note", "text"),
        }
    )
    what = MEASURE_WORDS.get(measure, "each measure") if measure else "each measure"
    return Table(shown, columns, caption or f"Rate of {what} by protected group")


def findings_table(findings: Sequence[Any], caption: str = "Design findings") -> Table:
    """Findings, most serious first: severity in words, the sentence, and the code."""
    order = list(SEVERITY_WORDS)
    ranked = sorted(findings, key=lambda f: order.index(f.severity))
    frame = pd.DataFrame(
        {
            "severity": [SEVERITY_WORDS[f.severity] for f in ranked],
            "message": [f.message for f in ranked],
            "code": [f.code for f in ranked],
        }
    )
    columns = {"severity": COLUMNS["severity"], "message": COLUMNS["message"], "code": COLUMNS["code"]}
    return Table(frame, columns, caption)


def verdict_table(verdicts: Mapping[str, Verdict], caption: str = "The evaluation's verdict") -> Table:
    """The verdicts (``appraisal.answers.Verdict``): per 100 people in each group, the difference's CI, p and n."""
    frame = pd.DataFrame([v.to_dict() for v in verdicts.values()])
    frame["measure"] = ["Proven reoffending rate" if m == "binary" else "Proven reoffences" for m in frame["measure"]]
    columns = {
        "measure": Column("Measure", "text"),
        "sentence": Column("Verdict", "text"),
        "treated": Column("Programme group, per 100 people", "number"),
        "control": Column("Comparison group, per 100 people", "number"),
        "low": Column("Difference per 100, 95% CI from", "number"),
        "high": Column("Difference per 100, 95% CI to", "number"),
        "p_value": COLUMNS["p_value"],
        "n_treated": COLUMNS["n_treated"],
        "n_control": COLUMNS["n_control"],
    }
    return Table(frame, columns, caption)


def spend_table(spend: Spend, caption: str = "What the commissioner would spend against the budget") -> Table:
    """Spend against budget (``appraisal.answers.Spend``) as one row of numbers."""
    frame = pd.DataFrame([spend.to_dict()])
    columns = {
        "budget": Column("Budget", "pounds"),
        "mean": Column("Expected spend", "pounds"),
        "q05": Column("Spend, 5th percentile", "pounds"),
        "q95": Column("Spend, 95th percentile", "pounds"),
        "mc_se": Column("Monte Carlo SE of the mean", "pounds"),
        "overspend_chance": Column("Chance of overspending by more than 5%", "percent"),
        "draws": Column("Simulated contracts", "count"),
    }
    return Table(frame, columns, caption)


def outlook_table(outlooks: Mapping[str, Outlook], caption: str = "Each provider's income, margin and risk") -> Table:
    """Providers' outlooks (``appraisal.answers.Outlook``): income, margin with its range, chance of a loss."""
    frame = pd.DataFrame([o.to_dict() for o in outlooks.values()])
    frame["party"] = [humanise(p) for p in frame["party"]]
    columns = {
        "party": COLUMNS["party"],
        "income": Column("Expected income", "pounds"),
        "cost": Column("Delivery costs", "pounds"),
        "margin": Column("Margin, mean", "pounds"),
        "margin_q05": Column("Margin, 5th percentile", "pounds"),
        "margin_q95": Column("Margin, 95th percentile", "pounds"),
        "loss_chance": Column("Chance of a loss", "percent"),
        "working_capital": Column("Working capital, mean", "pounds"),
        "working_capital_q95": Column("Working capital, 1 in 20", "pounds"),
    }
    return Table(frame, columns, caption)


#: The verdict's forms in words, as the sensitivity table shows them.
FORM_WORDS = {
    "reduction": "A significant reduction",
    "increase": "A significant increase",
    "inconclusive": "More people are needed to tell",
}


def sensitivity_table(sensitivity: Sensitivity, caption: str = "How strong hidden bias would have to be") -> Table:
    """Each verdict's sensitivity to hidden bias (``appraisal.answers.Sensitivity``): Gamma and E-values."""
    frame = sensitivity.to_frame()
    frame["measure"] = ["Proven reoffending rate" if m == "binary" else "Proven reoffences" for m in frame["measure"]]
    frame["form"] = [FORM_WORDS[f] for f in frame["form"]]
    frame["gamma"] = frame["gamma"].replace(np.inf, np.nan)
    columns = {
        "measure": Column("Measure", "text"),
        "form": Column("Verdict", "text"),
        "gamma": Column("Rosenbaum's Gamma (odds within a pair)", "ratio"),
        "e_value": Column("E-value of the estimate", "ratio"),
        "e_value_ci": Column("E-value of the interval", "ratio"),
        "test": Column("Matched-pairs test", "text"),
        "pairs": Column("Matched pairs", "count"),
        "informative": Column("Pairs that inform the test", "count"),
    }
    return Table(frame, columns, caption)


def _pounds_of(pence: pd.Series) -> pd.Series:
    return pd.to_numeric(pence, errors="coerce") / 100.0


def settlement_table(settlement: Any, caption: str = "What each tranche pays") -> Table:
    """A settlement's tranches and rules (``pricing.Settlement``) in pounds, with the amounts at the CI's ends."""
    frame = settlement.to_frame()
    frame["rule"] = ["Outcome tariff" if k == "tariff" else humanise(r) for k, r in zip(frame["kind"], frame["rule"])]
    frame["stage"] = [humanise(s) for s in frame["stage"]]
    for column in ("amount_pence", "amount_at_ci_low", "amount_at_ci_high"):
        frame[column.replace("_pence", "")] = _pounds_of(frame[column])
    columns = {
        "tranche": Column("Tranche", "text"),
        "rule": Column("What pays", "text"),
        "stage": Column("Stage", "text"),
        "n_treated": Column("People (payable outcomes for the tariff)", "count"),
    }
    if "estimate" in frame.columns:
        columns["estimate"] = Column("Observed reduction", "percent", ("ci_low", "ci_high"))
    if "threshold" in frame.columns:
        columns["threshold"] = Column("Needs", "percent")
    columns.update(
        {
            "met": Column("Pays", "yes_no"),
            "amount": Column("Amount", "pounds"),
            "amount_at_ci_low": Column("Amount at the interval's low end", "pounds"),
            "amount_at_ci_high": Column("Amount at the interval's high end", "pounds"),
        }
    )
    return Table(frame, columns, caption)


def settlement_cash_flow_table(settlement: Any, caption: str = "What falls due in each payment period") -> Table:
    """A rate card's cash flow (``Settlement.cash_flow()``): each period's first day, claims paid, amount (£)."""
    frame = settlement.cash_flow()
    frame["amount"] = _pounds_of(frame["amount_pence"])
    columns = {
        "period": Column("Period from", "text"),
        "claims": Column("Claims paid", "count"),
        "amount": Column("Amount", "pounds"),
    }
    return Table(frame, columns, caption)


def settlement_parties_table(settlement: Any, caption: str = "What each party receives") -> Table:
    """A settlement's parties: the commissioner pays (negative), the others receive."""
    frame = settlement.parties.copy()
    frame["party"] = [humanise(p) for p in frame["party"]]
    frame["amount"] = _pounds_of(frame["amount_pence"])
    return Table(frame, {"party": COLUMNS["party"], "amount": Column("Amount", "pounds")}, caption)


def ledger_table(settlement: Any, caption: str = "The claims ledger") -> Table:
    """Every claim of a settlement: tranche, what, who, evidence and date, price, uplift, amount (£)."""
    frame = settlement.ledger.copy()
    frame["amount"] = _pounds_of(frame["amount_pence"])
    frame["base_price"] = pd.to_numeric(frame["base_price"], errors="coerce")
    frame["uplift"] = pd.to_numeric(frame["uplift"], errors="coerce")
    columns = {
        "tranche": Column("Tranche", "text"),
        "kind": Column("Kind", "text"),
        "item": Column("Outcome or rule", "text"),
        "person_id": Column("Person", "text"),
        "evidence": Column("Evidence", "text"),
        "evidence_date": Column("Evidence date", "text"),
        "base_price": Column("Base price", "pence"),
        "uplift": Column("Uplift", "ratio"),
        "amount": Column("Amount", "pence"),
        "note": Column("Note", "text"),
    }
    return Table(frame, columns, caption)


#: The measurement screens' kinds in words.
MEASUREMENT_WORDS = {
    "assessments": "Assessments per person in the payment window",
    "baseline": "Baseline ratings",
    "unmeasured": "People due a measurement who had none",
    "deadweight": "People who already met the rule at baseline",
    "bunching": "Achievements recorded just before the window closed",
}


def measurement_summary_table(screens: Any, outcome_names: Mapping[str, str] | None = None) -> Table:
    """One row per measurement screen: what it looks at, providers tested, and which were flagged."""
    rows = []
    for kind, screen in screens.screens.items():
        table = screen.to_frame()
        units = table.loc[table["unit"] != "all"]
        tested = units["p_adjusted"].notna() if "p_adjusted" in units else pd.Series(False, index=units.index)
        flagged = [str(u) for u in screen.flagged_units if u != "all"]
        rows.append(
            {
                "kind": MEASUREMENT_WORDS.get(kind, humanise(kind)),
                "tested": int(units.loc[tested, "unit"].nunique()),
                "flagged": ", ".join(flagged) if flagged else "none",
            }
        )
    columns = {
        "kind": Column("What is screened", "text"),
        "tested": Column("Providers tested", "count"),
        "flagged": Column("Flagged", "text"),
    }
    return Table(pd.DataFrame(rows), columns, "Measurement screens: providers flagged (Holm-corrected)")


def measurement_table(screens: Any, outcome_names: Mapping[str, str] | None = None) -> Table:
    """Every measurement screen by outcome and provider: observed against expected for its case-mix."""
    frame = screens.to_frame()
    frame["kind"] = [MEASUREMENT_WORDS.get(k, humanise(k)) for k in frame["kind"]]
    if "outcome" in frame.columns:
        frame["outcome"] = _named(frame["outcome"], outcome_names)
    frame["unit"] = ["All providers" if u == "all" else u for u in frame["unit"]]
    columns = {
        "kind": Column("What is screened", "text"),
        **({"outcome": COLUMNS["outcome"]} if "outcome" in frame.columns else {}),
        "unit": COLUMNS["unit"],
        "n": COLUMNS["n"],
        "observed": Column("Observed per person", "number"),
        "expected": Column("Expected for its case-mix", "number"),
        "ratio": Column("Observed over expected", "ratio", ("ratio_ci_low", "ratio_ci_high")),
        "p_adjusted": Column("p-value (adjusted)", "p_value"),
        "flagged": Column("Flagged", "yes_no"),
    }
    return Table(
        frame, columns, "Measurement screens by outcome and provider", n_columns=("n",), label_columns=("kind", "unit")
    )


def providers_table(comparison: Any, caption: str = "Providers compared like with like") -> Table:
    """The provider comparison (``validation.ProviderEstimates``): case-mix-adjusted, shrunk, with rank intervals.

    Sorted by provider, not by rank: the rank interval says how little the order means.
    """
    frame = comparison.to_frame().sort_values("unit").reset_index(drop=True)
    shown = frame["shown"].astype(bool)
    frame["ranks"] = [
        f"{lo:.0f} to {hi:.0f}" if s and lo == lo else f"fewer than {comparison.min_n} people: not ranked"
        for s, lo, hi in zip(shown, frame["rank_low"], frame["rank_high"])
    ]
    columns = {
        "unit": COLUMNS["unit"],
        "n": COLUMNS["n"],
        "rate": Column("Observed rate", "percent"),
        "oe": Column("Observed over expected", "ratio", ("oe_ci_low", "oe_ci_high")),
        "shrunken_oe": Column("Adjusted and shrunk", "ratio", ("shrunken_ci_low", "shrunken_ci_high")),
        "adjusted_rate": Column("Adjusted rate", "percent", ("adjusted_ci_low", "adjusted_ci_high")),
        "ranks": Column("Rank could be (95%)", "text"),
    }
    return Table(frame, columns, caption, n_columns=("n",))
