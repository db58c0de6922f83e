"""The report's sections: each reader's panel first, then one function per section, registered in reading order.

The report opens with one panel per reader (:func:`desist.panels.panels`:
the commissioner's, the provider's and the evaluator's answer, each on one
screen), the reader named by ``first`` at the front. Then the evidence and
the annex: a section function takes the :class:`~appraisal.Appraisal` and the
:class:`~desist.report.Section` to fill, and adds blocks to it (a section
left empty is not shown). :func:`section` registers it with its key, title
and part (``"body"`` or ``"annex"``); :func:`build_report` runs them in
order. Adding a section is adding one decorated function.

Sections whose result an appraisal may lack (``sensitivity``,
``settlement``, ``measurement``, ``providers``, the tariffs, the contract,
the screens, equality) show nothing without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from appraisal.result import EFFECT_SCALES, Appraisal, funnel_words
from desist import figures, tables
from desist.format import COLUMNS, Column, Table, date, humanise, interval
from desist.panels import Panel, measure_words, panels, readable_findings
from desist.report import Report, Section
from ground.expressions import parse
from ground.words import count, number, p_phrase, percent, plural, points, pounds, ratio
from metrics.thresholds import RuleResults
from pricing.tariff import Tariff

__all__ = ["SECTIONS", "TITLE", "SectionSpec", "build_report", "section"]

#: The report's title: what every reader came to find out.
TITLE = "What the programme and its contract come to"
SectionBuilder = Callable[[Appraisal, Section], None]
#: A between-provider SD (log-odds) under this is a spread estimated at zero: 0.0001 on the log-odds is an
#: odds ratio of 1.0001 between providers one SD apart, nothing a reader could act on.
NO_SPREAD = 1e-4


@dataclass(frozen=True)
class SectionSpec:
    """A registered section: its key, title, part and the function that fills it."""

    key: str
    title: str
    part: str
    build: SectionBuilder


SECTIONS: list[SectionSpec] = []


def section(key: str, title: str, *, part: str = "body") -> Callable:
    """Register the decorated function as the report's next section in ``part`` (``"body"`` or ``"annex"``)."""

    def register(build: SectionBuilder) -> SectionBuilder:
        SECTIONS.append(SectionSpec(key, title, part, build))
        return build

    return register


def build_report(story: Appraisal, first: str | None = None, *, rendered: dict | None = None) -> Report:
    """The report of an appraisal: each reader's panel, the evidence, then the annex.

    Parameters
    ----------
    story : appraisal.Appraisal
        The appraisal to report.
    first : {"commissioner", "provider", "evaluator"}, optional
        The reader whose panel comes first (default: commissioner, provider, evaluator).
    rendered : dict, optional
        Charts already drawn for another report of the same appraisal, so they are not drawn again.

    Examples
    --------
    >>> from appraisal import demo  # doctest: +SKIP
    >>> [s.key for s in build_report(demo(), "evaluator").shown_sections()][:3]  # doctest: +SKIP
    ['evaluator', 'commissioner', 'provider']
    """
    inputs = story.inputs
    when = f"; data as of {date(inputs.as_of)}" if inputs.as_of is not None else ""
    report = Report(TITLE, f"{inputs.spec.name}{when}", rendered=rendered)
    for panel in panels(story, first).values():
        _panel_section(panel, report.section(panel.reader, panel.title, part="answer"))
    for spec in SECTIONS:
        spec.build(story, report.section(spec.key, spec.title, part=spec.part))
    return report


def _panel_section(panel: Panel, out: Section) -> None:
    out.verdict(panel.verdict)
    for text in panel.paragraphs:
        out.paragraph(text)
    out.figures(panel.figures)
    if panel.findings:
        out.findings(panel.findings)
    for text in panel.notes:
        out.note(text)


# Words -------------------------------------------------------------------------------------------


def _segment_names(story: Appraisal) -> dict[str, str]:
    return tables.segment_names(story.inputs.spec)


def _outcome_names(story: Appraisal) -> dict[str, str]:
    return tables.outcome_names(story.inputs.spec)


def _findings_block(story: Appraisal, out: Section) -> None:
    if story.findings:
        out.paragraph("What the design checks found, most serious first:")
        out.findings(readable_findings(story))
    else:
        out.paragraph("The design checks found nothing to fix.")


def _matched_words(story: Appraisal) -> str:
    counts, reoffending = story.matched.counts, story.reoffending.counts
    excluded = sum(v for k, v in reoffending.items() if k.startswith("excluded"))
    return (
        f"{count(counts.loc['matched', 'treated'])} of the {count(reoffending['all'])} people who started "
        f"({count(excluded)} not yet followed up in full), each matched to one of "
        f"{count(counts.loc['all', 'control'])} similar people in the national pool."
    )


def _max_smd(story: Appraisal) -> tuple[float, float]:
    balance = story.balance()
    return float(balance[("before", "smd")].abs().max()), float(balance[("after", "smd")].abs().max())


@section("sensitivity", "How strong hidden bias would have to be")
def sensitivity_section(story: Appraisal, out: Section) -> None:
    """The verdicts' sensitivity to hidden bias in plain sentences (Rosenbaum's Gamma, E-values)."""
    if story.sensitivity is None:
        return
    for sentence in story.sensitivity.sentences():
        out.paragraph(sentence)
    out.note(
        "Matching balances what was measured; these say how strong something unmeasured would have to be to change "
        "the verdict. The table is in the annex."
    )


# The evidence ------------------------------------------------------------------------------------


@section("measure", "What is measured")
def measure_section(story: Appraisal, out: Section) -> None:
    """The metric in words: outcomes and their rules, the reoffending measure, segments, payment terms."""
    spec = story.inputs.spec
    if spec.description:
        out.paragraph(spec.description)
    terms = [
        (
            o.label or humanise(k),
            f"{_window(o.window)}: {_instrument(spec, o)} "
            f"{o.rule.describe(spec.instrument(o.instrument)).replace('_', ' ')}.",
        )
        for k, o in spec.outcomes.items()
    ]
    if spec.reoffending is not None:
        words = measure_words(spec.reoffending)
        terms.append(("Proven reoffending", f"{words[:1].upper()}{words[1:]}."))
    terms += [(s.label or humanise(k), f"people where {parse(s.where).describe()}.") for k, s in spec.segments.items()]
    out.items(terms)
    payment = spec.payment
    if payment.get("service_fee") is not None:
        shares = (percent(payment.get(k, 0), 0) for k in ("up_front_share", "at_risk_share"))
        out.paragraph(
            f"Payment: a service fee of {pounds(payment['service_fee'])}, {next(shares)} of it up front and "
            f"{next(shares)} at risk against outcomes."
        )
    if payment.get("prices"):
        out.table(tables.prices_table(Tariff.from_spec(spec), _outcome_names(story), _segment_names(story)))


def _window(window: Sequence[int]) -> str:
    start, end = (round(d / 30.44) for d in window)
    return f"Between months {start} and {end} after the start"


def _instrument(spec: Any, outcome: Any) -> str:
    return getattr(spec.instrument(outcome.instrument), "title", "") or humanise(outcome.instrument)


@section("counts", "Who is counted")
def counts_section(story: Appraisal, out: Section) -> None:
    """Who is measured and who is left out and why; counts reconcile."""
    out.paragraph(
        "Everyone in the cohort is either counted or left out with a reason, so the numbers add up. "
        + _matched_words(story)
    )
    out.table(tables.counts_table(story.reoffending.counts, "Proven reoffending: cohort and exclusions"))
    for note in story.notes:
        out.note(note)
    if story.spec_reoffending is not None:
        out.table(
            tables.counts_table(story.spec_reoffending.counts, "The spec's own reoffending measure (cohort only)")
        )
    if story.history_counts is not None:
        out.table(
            tables.counts_table(
                story.history_counts, "Pricing history: the cohort's people whose outcome windows have closed"
            )
        )


def _effect_rows(story: Appraisal) -> pd.DataFrame:
    rows = []
    for kind, e in story.effects.items():
        if kind == "binary":
            groups = (percent(e.mean_treated), percent(e.mean_control))
            effect = interval(e.estimate, e.ci_low, e.ci_high, "points")
        elif kind == "count":
            groups = (f"{number(100 * e.mean_treated)} per 100", f"{number(100 * e.mean_control)} per 100")
            effect = interval(e.estimate, e.ci_low, e.ci_high, "ratio")
        else:
            groups = (f"{percent(e.mean_treated)} reoffended", f"{percent(e.mean_control)} reoffended")
            effect = interval(e.estimate, e.ci_low, e.ci_high, "ratio")
        truth = story.true_effect(kind)
        rows.append(
            {
                "measure": EFFECT_SCALES[kind][:1].upper() + EFFECT_SCALES[kind][1:],
                "treated": groups[0],
                "control": groups[1],
                "effect": effect,
                "p_value": e.p_value,
                "n_treated": e.n_treated,
                "n_control": e.n_control,
                "truth": "–" if truth is None else (points(truth, signed=True) if kind == "binary" else ratio(truth)),
            }
        )
    return pd.DataFrame(rows)


@section("effects", "Effects on reoffending")
def effects_section(story: Appraisal, out: Section) -> None:
    """The three effects in words and in one table, each labelled with its scale."""
    for e in story.effects.values():
        out.paragraph(e.statement())
    columns = {
        "measure": Column("Measure and scale", "text"),
        "treated": Column("Programme group", "text"),
        "control": Column("Comparison group", "text"),
        "effect": Column("Effect (95% CI)", "text"),
        "p_value": COLUMNS["p_value"],
        "n_treated": Column("People in the programme", "count"),
        "n_control": Column("People in the comparison", "count"),
    }
    if story.inputs.truth is not None:
        columns["truth"] = Column("True effect (synthetic data)", "text")
    out.table(Table(_effect_rows(story), columns, "Effects on the people in the programme, with 95% CIs"))


@section("outcomes", "Intermediate outcomes")
def outcomes_section(story: Appraisal, out: Section) -> None:
    """Share of people measured who achieved each outcome, with Wilson intervals."""
    if story.outcome_rates is None:
        return
    out.paragraph(
        "The share of people measured who achieved each outcome, with a 95% interval. People who could not be "
        "measured (no baseline, or no assessment in the window) and people whose window has not closed are "
        "counted, not dropped; people due a measurement who had none count as not achieved unless the rule "
        "reports them apart."
    )
    out.table(tables.outcome_rates_table(story.outcome_rates))


@section("balance", "How alike the groups are")
def balance_section(story: Appraisal, out: Section) -> None:
    """The largest imbalance before and after matching, and the love plot."""
    before, after = _max_smd(story)
    out.paragraph(
        f"Before matching the largest standardised difference between the programme group and the pool was "
        f"{number(before, 2)}; after matching it is {number(after, 2)}. Differences of 0.1 and under are good. "
        "Standardised differences divide by the programme group's standard deviation in the full sample "
        "(MatchIt's definition for the effect on the treated)."
    )
    out.chart(lambda: figures.love_plot(story.balance(), story.covariates))


def _rules_table(comparison: RuleResults, kind: str, truth: bool) -> Table:
    rows = []
    for r in comparison.results:
        scale = "points" if r.scale == "points" else "percent"
        rows.append(
            {
                "rule": r.rule,
                "description": r.description[:1].upper() + r.description[1:],
                "met": "Pays" if r.met else "Does not pay",
                "observed": interval(r.observed, r.ci_low, r.ci_high, scale),
                "decision": f"{_scaled(r.decision_value, scale)} against {_scaled(r.threshold, scale)}",
                "false_payment": r.false_payment,
                "payment_probability": r.payment_probability,
            }
        )
    columns = {
        "rule": COLUMNS["rule"],
        "description": COLUMNS["description"],
        "met": Column("Decision", "text"),
        "observed": Column("Observed reduction (95% CI)", "text"),
        "decision": Column("Decides on", "text"),
        "false_payment": COLUMNS["false_payment"],
    }
    if truth:
        columns["payment_probability"] = COLUMNS["payment_probability"]
    what = "the frequency of proven reoffences" if kind == "frequency" else "the proven reoffending rate"
    return Table(pd.DataFrame(rows), columns, f"Payment rules on {what}")


def _scaled(v: float, scale: str) -> str:
    return points(v) if scale == "points" else percent(v)


@section("payment", "Payment rules")
def payment_section(story: Appraisal, out: Section) -> None:
    """Each payment rule's decision on the same comparison, and its chance of paying when nothing changed."""
    out.paragraph(
        "Each rule's decision on the same matched comparison, and the chance it would pay if the programme "
        "changed nothing (a false payment). A rule that decides on the lower confidence bound rarely pays by "
        "chance but needs a larger effect to pay at all."
    )
    for kind, comparison in story.thresholds.items():
        out.table(_rules_table(comparison, kind, story.inputs.truth is not None))
    mde = {k: p.to_dict() for k, p in story.power.items()}
    out.paragraph(
        f"With {count(story.effects['binary'].n_treated)} matched people, the smallest effects this comparison "
        f"would detect with 80% power are {percent(abs(mde['frequency']['relative']))} fewer proven reoffences and "
        f"{points(abs(mde['binary']['effect']))} off the proven reoffending rate."
    )


@section("contract", "The contract's cash flow")
def contract_section(story: Appraisal, out: Section) -> None:
    """Spend against budget, each party's cumulative cash flow as a fan chart."""
    sim, spend = story.simulation, story.spend()
    if sim is None:
        return
    out.paragraph(f"{spend.sentence()} {spend.risk()}")
    if sim.target_met is not None:
        out.paragraph(f"The contract's target is met in {percent(sim.target_met.mean())} of simulated contracts.")
    if not sim.costs_included:
        out.note("Delivery costs were not given: providers' figures are income, not margin.")
    for party in sim.parties:
        out.chart(lambda party=party: figures.cash_flow_chart(sim.cash_flow(party, cumulative=True), party, sim.draws))


@section("settlement", "What the contract pays under its terms")
def settlement_section(story: Appraisal, out: Section) -> None:
    """The contract settled on the data as of its date (``pricing.settle``): tranches, parties, exclusions."""
    s = story.settlement
    if s is None:
        return
    total = s.total_pence / 100
    out.paragraph(
        f"Settled under its own terms on the data as of {date(s.as_of)}, the contract would pay {pounds(total)} "
        "in outcome payments and rule payments (net of any clawback), on top of its service fee. Each payment is a "
        "row of the claims ledger in the workbook, and the totals agree to the penny."
    )
    out.table(tables.settlement_table(s))
    out.table(tables.settlement_parties_table(s))
    left = s.exclusions[s.exclusions["n"] > 0] if len(s.exclusions) else s.exclusions
    if len(left):
        out.note(
            "Left out of the settlement: "
            + "; ".join(f"{r.reason} ({r.step}): {count(r.n)}" for r in left.itertuples())
            + "."
        )


@section("tariffs", "Prices and margins by segment")
def tariffs_section(story: Appraisal, out: Section) -> None:
    """The creaming gap of each tariff, and margins by segment."""
    if story.tariffs is None:
        return
    margins = story.tariffs.margins
    names = _segment_names(story)
    gaps = ", ".join(f"{tables.TARIFF_NAMES.get(k, humanise(k)).lower()} {pounds(m.gap)}" for k, m in margins.items())
    ends = {(m.easiest, m.hardest) for m in margins.values()}
    which = (
        f" The easiest segment is {names.get(next(iter(ends))[0])} and the hardest {names.get(next(iter(ends))[1])}."
        if len(ends) == 1
        else ""
    )
    out.paragraph(
        f"The same expected budget priced {len(margins)} ways. The gap is the margin per person in the easiest "
        f"segment minus the hardest: a positive gap rewards creaming. Gaps: {gaps}.{which}"
    )
    out.chart(lambda: figures.margins_chart(margins, tables.TARIFF_NAMES))


def _screen_section(story: Appraisal, out: Section, kind: str) -> None:
    screen = story.screens.get(kind)
    if screen is None:
        return
    what = {"creaming": "enrol easier people", "parking": "give harder people less service"}[kind]
    flagged = [u for u in screen.flagged_units if u != "all"]
    verdict = (
        f"Flagged: {', '.join(flagged) if flagged else 'all providers together'} appear to {what}"
        if screen.flagged
        else f"No sign that providers {what}"
    )
    out.paragraph(f"{verdict} ({p_phrase(screen.p_value)}, allowing for testing every provider and all together).")
    out.chart(lambda: figures.screen_chart(screen.deciles, kind, screen.flagged_units, screen.p_value))


@section("creaming", "Creaming screen")
def creaming_section(story: Appraisal, out: Section) -> None:
    """Do providers enrol the easier of the people eligible?"""
    _screen_section(story, out, "creaming")


@section("parking", "Parking screen")
def parking_section(story: Appraisal, out: Section) -> None:
    """Do providers give the harder people they enrol less service?"""
    _screen_section(story, out, "parking")


@section("measurement", "How outcomes were measured")
def measurement_section(story: Appraisal, out: Section) -> None:
    """Measurement screens: assessments, baselines, the unmeasured, deadweight and bunching, per provider."""
    screens = story.measurement
    if screens is None:
        return
    flagged = screens.flagged_units
    out.paragraph(
        "Each provider's way of recording outcomes against what its own people's characteristics predict: how "
        "often they were assessed in the payment window, how their baselines were rated, how many due a "
        "measurement had none, how many already met the rule at baseline, and how many achievements were "
        "recorded just before the window closed. "
        + (
            "No provider stands out."
            if not flagged
            else "Flagged: "
            + "; ".join(f"{', '.join(u)} ({tables.MEASUREMENT_WORDS.get(k, k).lower()})" for k, u in flagged.items())
            + ". A flag is a reason to look, not a verdict."
        )
    )
    for kind in flagged:
        for sentence in screens[kind].statements().values():
            out.paragraph(sentence)
    out.table(tables.measurement_summary_table(screens))


@section("funnel", "Providers' reoffending")
def funnel_section(story: Appraisal, out: Section) -> None:
    """Each provider's observed over expected reoffending against its size."""
    f = story.screens.get("funnel")
    if f is None:
        return
    words = "; ".join(funnel_words(f, a) for a in f.alphas)
    out.paragraph(
        "Each provider's proven reoffending against what its caseload's difficulty predicts. A provider outside "
        f"the 99.8% limits differs by more than chance. {words[:1].upper()}{words[1:]}."
    )
    out.chart(lambda: figures.funnel_chart(f))


@section("providers", "Providers compared like with like")
def providers_section(story: Appraisal, out: Section) -> None:
    """The provider comparison beside the funnel: case-mix-adjusted, shrunk, with rank intervals."""
    c = story.providers
    if c is None:
        return
    hidden = int((~c.table["shown"].astype(bool)).sum())
    out.paragraph(
        "Beside the funnel, each provider's proven reoffending once its caseload's difficulty is allowed for, pulled "
        "toward the overall rate as far as its size warrants (small providers most), with a 95% interval. The "
        f"rank interval says where it could stand among the {count(int(c.table['shown'].sum()))} providers "
        "compared: wide intervals mean the order says little, so the table is by provider, not by rank."
        + (
            f" {plural(hidden, 'provider')} with fewer than {c.min_n} people get no estimate of their own."
            if hidden
            else ""
        )
    )
    if not c.differ:
        out.paragraph(c.statement())
    if c.tau < NO_SPREAD:
        # With no spread between providers every one is the overall rate, and ranks "4 to 4" would read as precise.
        out.note("The spread between providers is estimated at zero, so no provider's rank is shown.")
        return
    out.table(tables.providers_table(c))


@section("equality", "Equality impact")
def equality_section(story: Appraisal, out: Section) -> None:
    """Enrolment, reoffending and payment rates by protected group against the reference group."""
    if story.equality is None:
        return
    table = story.equality.to_frame()
    differs = table[(table["ratio_ci_low"] > 1) | (table["ratio_ci_high"] < 1)]
    found = (
        "Groups whose rate differs from the reference group's by more than chance: "
        + ", ".join(f"{r.level} ({tables.MEASURE_WORDS.get(r.measure, r.measure)})" for r in differs.itertuples())
        if len(differs)
        else "No group's rate differs from its reference group's by more than chance"
    )
    out.paragraph(
        "Enrolment, proven reoffending and payment rates by protected group, with 95% CIs and the ratio to the "
        f"reference group. {found}. Cells under 10 people, and any cell that would let one be worked out from a "
        "total, are suppressed."
    )
    for measure in table["measure"].unique():
        out.table(tables.equality_table(story.equality, measure))


@section("findings", "Design findings")
def findings_section(story: Appraisal, out: Section) -> None:
    """What the design checks found, as sentences with their severity."""
    _findings_block(story, out)


@section("not_run", "What was not run")
def not_run_section(story: Appraisal, out: Section) -> None:
    """Steps that could not run, with the reason."""
    for step, why in story.skipped.items():
        out.paragraph(f"Not run: {step} ({why}).")


# The annex ---------------------------------------------------------------------------------------


_MATCH_ROWS = {"all": "Everyone", "matched": "Matched", "unmatched": "Not matched", "discarded": "Discarded"}


@section("annex_matching", "Matched comparison: counts", part="annex")
def annex_matching(story: Appraisal, out: Section) -> None:
    """Counts of the matched comparison, and who was left out and why."""
    counts = story.matched.counts.reset_index(names="units")
    counts["units"] = [_MATCH_ROWS.get(u, humanise(u)) for u in counts["units"]]
    columns = {
        "units": Column("Who", "text"),
        "treated": Column("Programme group", "count"),
        "control": Column("Comparison pool", "count"),
    }
    out.table(
        Table(
            counts,
            columns,
            f"1:1 nearest neighbour on the logit of the propensity score, caliper {story.options.caliper:g} SD, "
            "no replacement",
        )
    )
    left = story.matched.exclusions.copy()
    left["group"] = (
        left["group"].map({"treated": "Programme group", "control": "Comparison pool"}).fillna(left["group"])
    )
    left["reason"] = [r[:1].upper() + r[1:] for r in left["reason"]]
    columns = {"group": Column("Group", "text"), "reason": Column("Reason", "text"), "n": COLUMNS["n"]}
    out.table(Table(left, columns, "Left out of the matched sample", n_columns=("n",)))


@section("annex_balance", "Balance table", part="annex")
def annex_balance(story: Appraisal, out: Section) -> None:
    """MatchIt's balance table before and after matching, and the overlap of propensity scores."""
    balance = story.balance()
    frame = pd.DataFrame(
        {
            "variable": [figures.variable_label(str(v), story.covariates) for v in balance.index],
            "mean_treated": balance[("before", "mean_treated")].to_numpy(),
            "mean_before": balance[("before", "mean_control")].to_numpy(),
            "mean_after": balance[("after", "mean_control")].to_numpy(),
            "smd_before": balance[("before", "smd")].to_numpy(),
            "smd_after": balance[("after", "smd")].to_numpy(),
            "var_before": balance[("before", "var_ratio")].to_numpy(),
            "var_after": balance[("after", "var_ratio")].to_numpy(),
            "ecdf_after": balance[("after", "ecdf_max")].to_numpy(),
        }
    )
    columns = {
        "variable": Column("Characteristic", "text"),
        "mean_treated": Column("Mean, programme group", "number"),
        "mean_before": Column("Mean, whole pool", "number"),
        "mean_after": Column("Mean, matched comparison", "number"),
        "smd_before": Column("Standardised difference before", "number"),
        "smd_after": Column("Standardised difference after", "number"),
        "var_before": Column("Variance ratio before", "ratio"),
        "var_after": Column("Variance ratio after", "ratio"),
        "ecdf_after": Column("Largest eCDF difference after", "number"),
    }
    out.table(Table(frame, columns, "Balance before and after matching (means of 0/1 variables are shares)"))
    m = story.matched
    out.chart(lambda: figures.overlap_chart(m.distance, m.treated, m.weight_array))


@section("annex_sensitivity", "Sensitivity to hidden bias", part="annex")
def annex_sensitivity(story: Appraisal, out: Section) -> None:
    """Rosenbaum's critical Gamma and the E-values of each verdict."""
    if story.sensitivity is None:
        return
    out.table(tables.sensitivity_table(story.sensitivity))
    out.note(
        "Gamma: within a matched pair, how many times the odds of joining the programme an unmeasured trait would "
        "have to multiply before the effect stopped being significant at 5% (Rosenbaum, one-sided). E-value: the "
        "risk ratio an unmeasured confounder would need with both joining and reoffending to explain the estimate "
        "(or its interval) away (VanderWeele and Ding)."
    )


@section("annex_difficulty", "Difficulty model", part="annex")
def annex_difficulty(story: Appraisal, out: Section) -> None:
    """Calibration of the difficulty model by decile, with its AUC."""
    cal = story.difficulty.calibration()
    auc = cal.auc
    out.paragraph(
        "A logit of proven reoffending on baseline characteristics, fitted on the comparison pool; difficulty is "
        f"the expected chance of reoffending without the programme. It tells people apart with an AUC of "
        f"{number(auc.auc, 3)} (95% CI {number(auc.ci_low, 3)} to {number(auc.ci_high, 3)}); the observed rate's "
        f"interval covers the expected rate in {cal.covered} of {len(cal.table)} deciles."
    )
    columns = {
        "decile": Column("Decile of difficulty", "text"),
        "n": COLUMNS["n"],
        "expected": Column("Expected rate", "percent"),
        "observed": Column("Observed rate", "percent", ("ci_low", "ci_high")),
        "ratio": Column("Observed over expected", "ratio"),
    }
    out.table(Table(cal.to_frame().reset_index(), columns, "Observed against expected by decile", n_columns=("n",)))
    out.chart(lambda: figures.calibration_chart(cal.table, auc=auc.auc))


@section("annex_power", "Power", part="annex")
def annex_power(story: Appraisal, out: Section) -> None:
    """The smallest effect this cohort could detect, per measure."""
    rows = []
    for kind, p in story.power.items():
        d = p.to_dict()
        binary = kind == "binary"
        rows.append(
            {
                "measure": "Proven reoffending rate" if binary else "Proven reoffences per person",
                "base": percent(d["base_rate"]) if binary else number(d["base_rate"]),
                "effect": points(d["effect"]) if binary else ratio(d["effect"]) + " (rate ratio)",
                "relative": percent(d["relative"]),
                "n": d["n_treated"],
                "power": d["power"],
            }
        )
    columns = {
        "measure": Column("Measure", "text"),
        "base": Column("Comparison group", "text"),
        "effect": Column("Smallest detectable effect", "text"),
        "relative": Column("Relative change", "text"),
        "n": Column("People in the programme", "count"),
        "power": Column("Power", "percent"),
    }
    out.table(Table(pd.DataFrame(rows), columns, "Smallest effect detectable at this cohort size (5% two-sided test)"))


@section("annex_tariffs", "Tariffs and margins", part="annex")
def annex_tariffs(story: Appraisal, out: Section) -> None:
    """Each tariff's prices, and its margins by segment."""
    if story.tariffs is None:
        return
    outcomes, segments = _outcome_names(story), _segment_names(story)
    for name, tariff in story.tariffs.tariffs.items():
        words = tables.TARIFF_NAMES.get(name, humanise(name)).lower()
        margins = story.tariffs.margins[name]
        out.table(tables.prices_table(tariff, outcomes, segments, f"Prices by outcome and segment: {words}"))
        caption = (
            f"Margins per person by segment: {words} (gap {pounds(margins.gap)}, 95% CI {pounds(margins.gap_ci_low)} "
            f"to {pounds(margins.gap_ci_high)})"
        )
        out.table(tables.margins_table(margins, segments, caption))


@section("annex_contract", "Contract simulation by party", part="annex")
def annex_contract(story: Appraisal, out: Section) -> None:
    """Each party's net cash, chance of a loss and working capital; cost per outcome."""
    sim = story.simulation
    if sim is None:
        return
    out.table(tables.party_table(sim))
    out.note(
        "The commissioner's row has no chance of a loss: its risk is spend against the budget (see the cash flow). "
        f"Chances of a loss are over {count(sim.draws)} simulated contracts."
    )
    out.table(tables.cost_per_outcome_table(sim, _outcome_names(story)))


@section("annex_screens", "Screens by provider", part="annex")
def annex_screens(story: Appraisal, out: Section) -> None:
    """The creaming and parking screens' tables and the funnel's."""
    for name in ("creaming", "parking"):
        if name in story.screens:
            out.table(tables.screen_table(story.screens[name]))
            out.note(story.screens[name].test)
    if "funnel" in story.screens:
        out.table(tables.funnel_table(story.screens["funnel"]))
