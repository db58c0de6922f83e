"""Each reader's answer as words and figures: the panels that open the report, the terminal and the workbook.

:func:`panels` gives one :class:`Panel` per reader, built once from an
appraisal, so the HTML report, the terminal and the workbook's *Answers*
sheet show the same sentences and the same figures:

- the commissioner's: what to pay now (when the contract was settled) or
  whether to sign, the cost against the budget and its spread, the chance a
  payment rule pays when nothing changed, the share of the contract at risk
  (one definition, stated with it) and the Must-fix findings;
- the provider's: expected income, margin after delivery costs, the chance
  of a loss, the working capital, and the segments whose outcome payments do
  not cover what they cost to serve (those margins leave out the fee, and say so);
  where the prime passes the work down a supply chain, each party's line (what
  it receives after the management fee, bears at risk and needs in working
  capital) and the findings on the fee and the risk passed down;
- the evaluator's: the verdict in the Justice Data Lab's words, and how
  strong hidden bias would have to be to explain it away.

Examples
--------
>>> from desist.panels import READERS, order
>>> order("provider")
('provider', 'commissioner', 'evaluator')
>>> READERS
('commissioner', 'provider', 'evaluator')
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import pandas as pd

from appraisal.answers import Outlook
from appraisal.result import READERS, Appraisal
from desist import tables
from desist.format import date, humanise
from desist.report import KeyFigure
from ground.checks import Options, check_parameter
from ground.findings import Finding
from ground.words import count, number, percent, plural, points, pounds, ratio
from outcomes.spec import ReoffendingSpec

__all__ = [
    "READERS",
    "TITLES",
    "Panel",
    "at_risk_words",
    "measure_words",
    "order",
    "panels",
    "readable_findings",
    "segments_in_words",
    "strength",
    "supply_chain",
    "supply_chain_lines",
]

#: Each reader's panel heading: whom it is for and the question it answers.
TITLES = {
    "commissioner": "For the commissioner: what to pay, and whether to sign",
    "provider": "For the provider: what the contract would earn, and could it lose",
    "evaluator": "For the evaluator: did the programme change reoffending?",
}
#: A Rosenbaum Gamma under this is fragile: a hidden bias as small as the imbalances matching leaves behind
#: in observational studies would explain the effect away (Rosenbaum, Design of Observational Studies, 2010,
#: ch. 3: a Gamma of 2 is already a large unobserved bias; under 1.5 little is needed).
FRAGILE_GAMMA = 1.5


@dataclass(frozen=True)
class Panel:
    """One reader's answer: a verdict, sentences, key figures, findings and small print."""

    reader: str
    title: str
    verdict: str
    paragraphs: tuple[str, ...] = ()
    figures: tuple[KeyFigure, ...] = ()
    findings: tuple[Finding, ...] = ()
    notes: tuple[str, ...] = field(default=())


def order(first: str | None = None) -> tuple[str, ...]:
    """The readers in reading order, ``first`` (a reader) moved to the front."""
    if first is None:
        return READERS
    check_parameter(first, "first", "order", Options(*READERS))
    return (first, *(r for r in READERS if r != first))


def panels(story: Appraisal, first: str | None = None) -> dict[str, Panel]:
    """Each reader's panel, ``first`` first (default: commissioner, provider, evaluator).

    Parameters
    ----------
    story : appraisal.Appraisal
        The appraisal the panels answer from.
    first : {"commissioner", "provider", "evaluator"}, optional
        The reader whose panel comes first.

    Examples
    --------
    >>> from appraisal import demo  # doctest: +SKIP
    >>> list(panels(demo(), first="evaluator"))  # doctest: +SKIP
    ['evaluator', 'commissioner', 'provider']
    """
    build = {"commissioner": commissioner, "provider": provider, "evaluator": evaluator}
    return {reader: build[reader](story) for reader in order(first)}


def segments_in_words(story: Appraisal, text: str) -> str:
    """A finding's message with quoted segment codes ('complex_needs') replaced by the segments' names."""
    for code, name in tables.segment_names(story.inputs.spec).items():
        text = text.replace(f"'{code}'", name)
    return text


def readable_findings(story: Appraisal, findings: tuple[Finding, ...] | None = None) -> tuple[Finding, ...]:
    """The findings (default: the appraisal's) with segments named in words, as every output shows them."""
    found = story.findings if findings is None else findings
    return tuple(replace(f, message=segments_in_words(story, f.message)) for f in found)


# The commissioner ---------------------------------------------------------------------------------


def at_risk_words(story: Appraisal) -> tuple[float, str] | None:
    """The share of the contract at risk, and its one definition in words (None without a structure)."""
    structure = story.structure
    if structure is None:
        return None
    shares = structure.shares()
    withheld = structure.at_risk_share + structure.clawback_share
    fee = f"the {percent(withheld, 0)} of the service fee held back" if withheld > 0 else "no part of the fee"
    return (
        shares["at_risk"],
        f"of the contract's value ({pounds(shares['contract_value'])}) is paid only on results: {fee} and the "
        "outcome payments",
    )


def _pay(story: Appraisal) -> str | None:
    """What to pay now and to whom, when the contract was settled; a net clawback said as one."""
    s = story.settlement
    if s is None:
        return None
    total = s.total_pence / 100
    parties = s.parties[s.parties["role"] != "commissioner"]
    to = ", ".join(f"{pounds(abs(r.amount_pence) / 100)} to {humanise(r.party)}" for r in parties.itertuples())
    if total < 0:
        return f"Claw back {pounds(-total)} as of {date(s.as_of)} under the contract's terms (from: {to})."
    return f"Pay {pounds(total)} as of {date(s.as_of)} under the contract's terms: {to}."


def _sign(must: int, worth: int) -> str:
    if must:
        return f"Do not sign as drafted: {count(must)} finding{'s' if must > 1 else ''} must be fixed first."
    worth_words = f"; {plural(worth, 'finding')} {'are' if worth > 1 else 'is'} worth fixing" if worth else ""
    return f"Nothing must be fixed before signing{worth_words}."


def _chance_when_nothing_changed(story: Appraisal) -> KeyFigure:
    """Over the contract's life when it was simulated (its own rules, or those of the payment-rules section on each
    tranche), with the likeliest rule's chance at one assessment beside it."""
    label = "Chance a rule pays when nothing changed"
    rules = [c.results[0] for c in story.thresholds.values()]
    likeliest = max(rules, key=lambda r: r.false_payment, default=None)
    once = (
        "no payment rule was judged at one assessment"
        if likeliest is None
        else f"{percent(likeliest.false_payment)} at one assessment ({likeliest.rule})"
    )
    life = story.life_chance()
    if story.chances is None or life is None:
        why = story.skipped.get("contract life", "no payment rule was judged")
        return KeyFigure(label, "Not computed", f"over the contract's life: {why}; {once}")
    tranches = len(story.chances.assumptions["tranches"])
    return KeyFigure(
        label,
        percent(life.estimate),
        f"over the contract's {count(tranches)} tranches, 95% interval {percent(life.ci_low)} to "
        f"{percent(life.ci_high)} ({count(life.n)} simulated lives); {once}",
    )


_SIMULATION = "tariffs and contract simulation"


def commissioner(story: Appraisal) -> Panel:
    """The commissioner's panel: pay or sign, cost against budget, chance of paying for nothing, share at risk."""
    must = tuple(f for f in story.findings if f.severity == "error")
    worth = sum(f.severity == "warning" for f in story.findings)
    spend = story.spend()
    paragraphs = [
        spend.sentence()
        if spend is not None
        else f"The contract could not be simulated: {story.skipped.get(_SIMULATION, 'no prices')}."
    ]
    pay, sign = _pay(story), _sign(len(must), worth)
    if pay is not None:
        paragraphs.append(sign)
    figures = []
    if spend is not None:
        figures.append(
            KeyFigure(
                "Expected cost",
                pounds(spend.mean),
                f"against a budget of {pounds(spend.budget)}; 90% of {count(spend.draws)} simulated contracts "
                f"{pounds(spend.q05)} to {pounds(spend.q95)}",
            )
        )
    figures.append(_chance_when_nothing_changed(story))
    risk = at_risk_words(story)
    if risk is not None:
        figures.append(KeyFigure("Share at risk", percent(risk[0], 0), risk[1]))
    figures.append(KeyFigure("Must fix", count(len(must)), f"{count(worth)} more worth fixing, under Design findings"))
    return Panel(
        "commissioner",
        TITLES["commissioner"],
        pay or sign,
        tuple(paragraphs),
        tuple(figures),
        readable_findings(story, must),
    )


# The provider -------------------------------------------------------------------------------------


def _losing_segments(story: Appraisal) -> str:
    if story.tariffs is None or "spec" not in story.tariffs.margins:
        return ""
    table = story.tariffs.margins["spec"].table
    names = tables.segment_names(story.inputs.spec)
    losing = table[table["margin_per_person"] < 0]
    fee = (
        "These margins per person leave out the service fee"
        if story.structure is not None and story.structure.service_fee > 0
        else "There is no service fee to make up the difference"
    )
    if not len(losing):
        return f"In every segment the outcome payments cover the delivery cost per person. {fee.split(':')[0]}."
    each = "; ".join(
        f"{names.get(str(k), str(k))} loses {pounds(-r.margin_per_person)} a person (outcome payments "
        f"{pounds(r.income_per_person)} against a cost of {pounds(r.cost_per_person)})"
        for k, r in losing.iterrows()
    )
    overall = ", which the margin above includes." if fee.startswith("These") else "."
    return f"Segments whose outcome payments do not cover what they cost to serve: {each}. {fee}{overall}"


#: Findings on how the prime passes money and risk down its supply chain, shown in the provider's panel.
SUPPLY_CHAIN_FINDINGS = ("management_fee_above_cap", "risk_passed_down", "management_fee_above_ask")


def supply_chain(story: Appraisal) -> pd.DataFrame | None:
    """Each party of a supply chain: what it receives after the management fee, bears at risk, needs as capital.

    One row per provider party (the prime, then each subcontractor): ``receives`` (£, the mean over the
    simulated contracts of the fee in the fee shares and the outcome money in the risk shares),
    ``fee_share`` and ``risk_share`` (its shares of the fee and of the outcome money), ``at_risk`` (£, its
    share of the contract's money at risk) and ``working_capital`` (£, out of pocket at its lowest point in
    1 contract in 20). None without subcontractors or a contract simulation.
    """
    s, simulation = story.structure, story.simulation
    if s is None or simulation is None or not s.subcontractors:
        return None
    fees = s.service_fee if s.investor is not None else s.service_fee * (1 - s.at_risk_share)
    # The commissioner pays the prime everything (the investor, where there is one, takes the outcome money).
    outcome_money = 0.0 if s.investor is not None else float(simulation.total_paid.mean()) - fees
    shares = s.shares()
    at_risk = shares["at_risk"] * shares["contract_value"]
    capital = simulation.party_table()["peak_working_capital_q95"]
    frame = pd.DataFrame(
        {
            "receives": pd.Series(s.split(fees, outcome_money)),
            "fee_share": pd.Series(s.provider_shares()),
            "risk_share": pd.Series(s.outcome_shares()),
        }
    )
    return frame.assign(at_risk=frame["risk_share"] * at_risk, working_capital=capital.reindex(frame.index))


def supply_chain_lines(story: Appraisal) -> tuple[str, ...]:
    """Each party's line of :func:`supply_chain` in words, the prime first (empty without a supply chain)."""
    table = supply_chain(story)
    if table is None:
        return ()
    s = story.structure
    assert s is not None  # a supply chain comes from the structure
    total = pounds(s.shares()["at_risk"] * s.shares()["contract_value"])
    lines = []
    for party, r in table.iterrows():
        who = (
            f"The prime keeps its {percent(s.management_fee)} management fee of every payment: {pounds(r.receives)}"
            if party == "prime"
            else f"{party} (subcontractor) receives {pounds(r.receives)} after the prime's fee ({percent(r.fee_share)} "
            f"of the fee, {percent(r.risk_share)} of the outcome money)"
        )
        capital = "no working capital" if r.working_capital == 0 else f"{pounds(r.working_capital)} of working capital"
        lines.append(
            f"{who}; it bears {pounds(r.at_risk)} of the {total} at risk and needs {capital} (1 contract in 20)."
        )
    return tuple(lines)


def _with_income(story: Appraisal) -> list[Outlook]:
    """Each provider's outlook; in a supply chain, with the income each receives (its margin plus its costs)."""
    outlooks = story.outlooks()
    chain = supply_chain(story)
    if chain is None:
        return list(outlooks.values())
    receives = chain["receives"].astype(float).to_dict()
    return [
        replace(o, income=receives[p], cost=receives[p] - o.margin) if o.costs_included else o
        for p, o in outlooks.items()
    ]


def provider(story: Appraisal) -> Panel:
    """The provider's panel: income, margin, chance of a loss, working capital, the segments that lose money."""
    outlooks = _with_income(story)
    if not outlooks:
        return Panel(
            "provider",
            TITLES["provider"],
            "The contract could not be simulated, so a provider's income cannot be told.",
        )
    main = outlooks[0]
    paragraphs = [main.capital(), *(f"{o.sentence()} {o.capital()}" for o in outlooks[1:])]
    paragraphs += supply_chain_lines(story)
    losing = _losing_segments(story)
    if losing:
        paragraphs.append(losing)
    cards = [
        KeyFigure("Expected income", pounds(main.income), "service fee and outcome payments"),
        KeyFigure(
            "Margin after delivery costs",
            pounds(main.margin),
            f"90% of contracts {pounds(main.margin_q05)} to {pounds(main.margin_q95)}",
        ),
        KeyFigure(
            "Chance of a loss",
            percent(main.loss_chance) if main.loss_chance > 0 else "None seen",
            f"share of {count(main.draws)} simulated contracts ending below zero",
        ),
        KeyFigure(
            "Working capital", pounds(main.working_capital_q95), "out of pocket at the lowest point, 1 contract in 20"
        ),
    ]
    if not main.costs_included:
        cards = [
            KeyFigure("Expected income", pounds(main.margin), "delivery costs were not given: no margin"),
            cards[3],
        ]
    chain = tuple(f for f in story.findings if f.code in SUPPLY_CHAIN_FINDINGS)
    return Panel("provider", TITLES["provider"], main.sentence(), tuple(paragraphs), tuple(cards), chain)


# The evaluator ----


def measure_words(measure: ReoffendingSpec) -> str:
    """A proven reoffending measure in words: what counts, over what time, proven how."""
    what = "court appearances leading to conviction" if measure.counting == "court_appearances" else "offences"
    days = "a year" if measure.follow_up_days == 365 else f"{measure.follow_up_days} days"
    waiting = "six months" if measure.waiting_days == 182 else f"{measure.waiting_days} days"
    return (
        f"{what} committed within {days} of the start, proven by {' or '.join(measure.disposals)} within a further "
        f"{waiting}"
    )


def strength(gamma: float) -> str:
    """Rosenbaum's critical Gamma in strength words: fragile, or robust.

    Examples
    --------
    >>> strength(1.04)
    'fragile: a hidden bias of 1.04 would explain it away'
    >>> strength(2.5)
    'robust: only a hidden bias of 2.50 or more would explain it away'
    """
    if math.isinf(gamma):
        return "robust: no hidden bias studied would explain it away"
    if gamma < FRAGILE_GAMMA:
        return f"fragile: a hidden bias of {number(gamma, 3)} would explain it away"
    return f"robust: only a hidden bias of {gamma:.2f} or more would explain it away"


def _strength_sentence(story: Appraisal) -> str:
    if story.sensitivity is None:
        return ""
    words = {"binary": "the reoffending rate", "frequency": "how often people reoffended"}
    found = [
        f"the {'rise' if r.form == 'increase' else 'fall'} in {words[r.measure]} is {strength(r.gamma)}"
        for r in story.sensitivity.rows.values()
        if r.form != "inconclusive"
    ]
    if not found:
        return ""
    text = "; ".join(found)
    return f"Against hidden bias (Rosenbaum's Gamma), {text}."


def evaluator(story: Appraisal) -> Panel:
    """The evaluator's panel: the verdict on the rate and the frequency, and how fragile it is."""
    verdicts = story.verdicts()
    if "binary" not in verdicts:
        return Panel("evaluator", TITLES["evaluator"], "The matched comparison could not be made.")
    rate, frequency = verdicts["binary"], verdicts.get("frequency")
    paragraphs = [rate.per_100()]
    if frequency is not None:
        paragraphs.append(f"{frequency.sentence()} {frequency.per_100()}")
    fragile = _strength_sentence(story)
    if fragile:
        paragraphs.append(fragile)
    pool = story.matched.counts.loc["all", "control"]
    balance = story.balance()
    after = float(balance[("after", "smd")].abs().max())
    mde = story.power["binary"].to_dict() if "binary" in story.power else None
    figures = [
        KeyFigure(
            "People compared",
            count(rate.n_treated),
            f"each matched to one of {count(pool)} similar people in the national pool",
        ),
        KeyFigure(
            "How alike the groups are",
            "Well matched" if after < 0.1 else "Check the balance",
            f"largest standardised difference after matching {number(after, 2)} (0.1 and under is good)",
        ),
    ]
    if mde is not None:
        figures.append(
            KeyFigure(
                "Smallest change this could show",
                points(abs(mde["effect"])),
                f"on the reoffending rate, with 80% power at {count(rate.n_treated)} people",
            )
        )
    notes = [f"Measured as {measure_words(story.inputs.pool_measure)}. The intervals are 95% confidence intervals."]
    if story.inputs.truth is not None:
        notes.append(
            "The data are synthetic, so the true effect is known: "
            f"{points(story.true_effect('binary'), signed=True)} on the reoffending rate and a rate ratio of "
            f"{ratio(story.true_effect('count'))} on proven reoffences."
        )
    return Panel(
        "evaluator", TITLES["evaluator"], rate.sentence(), tuple(paragraphs), tuple(figures), notes=tuple(notes)
    )
