"""The designer's answers as HTML: the same tables and sentences as the report and the terminal, and one chart.

Every table is built by :mod:`desist.tables` and written by
:func:`desist.report.table_to_html`, so the page words and formats a figure as
``desist report`` does. The creaming gap's chart is an inline SVG drawn here
(no script, no network), with a title and a description for screen readers.
"""

from __future__ import annotations

import html

import pandas as pd

from appraisal.designer import DesignAnswers, power_sentence
from desist import tables
from desist.format import Column, Table
from desist.report import table_to_html
from ground.words import SEVERITY_WORDS, percent, pounds

__all__ = ["NO_REPORT", "SECTIONS", "changed", "creaming_chart", "sections"]

#: What the page says when it cannot build the report itself (the data are a history, not the programme's tables).
NO_REPORT = (
    "The full report needs the programme's people, offences and comparison pool: start the designer with "
    "--data people=FILE --data offences=FILE --data pool=FILE, or save the contract and run desist report --spec "
    "with it on those files."
)
#: What a row of the comparison is, in words.
KINDS = {"term": "Term", "assumption": "Assumption", "answer": "Answer"}
#: The tariff names as the page says them.
CURRENT, NEUTRAL = "spec", "incentive_neutral"


def _table(table: Table) -> str:
    return f'<div class="table-wrap">{table_to_html(table)}</div>'


def _p(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def cost(answers: DesignAnswers) -> str:
    """Cost against budget and its spread (``desist simulate``)."""
    if answers.spend is None:
        return _p(answers.notes.get("tariffs", "No outcome payments to simulate."))
    spend = answers.spend
    return _p(f"{spend.sentence()} {spend.risk()}") + _table(tables.spend_table(spend))


def rules(answers: DesignAnswers) -> str:
    """The rules' chance of paying when nothing changed and at the stated effect, and their power."""
    if answers.chances is None:
        note = answers.notes.get("rules", "The contract has no payment rules on reoffending.")
        return _p(note + " Nothing is paid on reoffending, so nothing is paid for luck there.")
    c = answers.chances
    words = (
        f"Anything paid: {percent(c.chance_of_paying('none'))} of {c.assumptions['draws']:,} simulated evaluations "
        f"when nothing changed, {percent(c.chance_of_paying('effect'))} at the stated effect."
    )
    return _p(words) + _p(power_sentence(answers.power)) + _table(tables.rule_chances_table(c))


def creaming(answers: DesignAnswers) -> str:
    """The creaming gap (chart and sentence), the incentive-neutral prices beside the current ones."""
    comparison = answers.tariffs
    if comparison is None:
        return _p(answers.notes.get("tariffs", "No tariff."))
    spec = answers.contract.spec
    segments, outcomes = tables.segment_names(spec), tables.outcome_names(spec)
    margins = comparison.margins[CURRENT]
    parts = [
        _p(
            f"Creaming gap under these prices: {pounds(margins.gap)} per person (95% CI {pounds(margins.gap_ci_low)} "
            f"to {pounds(margins.gap_ci_high)}): the margin for {segments.get(str(margins.easiest), margins.easiest)} "
            f"(easiest) minus that for {segments.get(str(margins.hardest), margins.hardest)} (hardest). A gap above "
            "£0 rewards creaming; margins count outcome payments only."
        ),
        creaming_chart(comparison, segments),
        _table(tables.gaps_table(comparison, segments)),
        _table(tables.prices_table(comparison.tariffs[CURRENT], outcomes, segments, "Prices now, by segment")),
    ]
    if NEUTRAL in comparison.tariffs:
        parts.append(
            _table(
                tables.prices_table(
                    comparison.tariffs[NEUTRAL], outcomes, segments, "Incentive-neutral prices (the same budget)"
                )
            )
        )
    else:
        parts.append(_p(f"No incentive-neutral tariff: {comparison.failures.get(NEUTRAL, 'not built')}."))
    return "".join(parts)


def gaming(answers: DesignAnswers) -> str:
    """What creaming and parking would earn a provider under these prices (``desist gaming``)."""
    if answers.payoff is None:
        return _p(answers.notes.get("tariffs", "No tariff to game."))
    return _table(tables.payoff_table(answers.payoff))


def provider(answers: DesignAnswers) -> str:
    """The provider's income, margin, chance of a loss and working capital."""
    if not answers.outlooks:
        return _p("No outcome payments to simulate: the provider's income is the fee.")
    words = "".join(_p(f"{o.sentence()} {o.capital()}") for o in answers.outlooks.values())
    return words + _table(tables.outlook_table(answers.outlooks))


def findings(answers: DesignAnswers) -> str:
    """The design findings as sentences, most serious first."""
    if not answers.findings:
        return _p("No design findings.")
    items = "".join(
        f"<li><strong>{SEVERITY_WORDS[f.severity]}:</strong> {html.escape(f.message)}</li>" for f in answers.findings
    )
    return f"<ul class='findings'>{items}</ul>"


def changed(rows: list[dict[str, str]]) -> str:
    """What changed between the loaded design and the edited one, and what it did."""
    if not rows:
        return _p("Nothing has changed from the loaded contract.")
    frame = pd.DataFrame(rows)
    frame["kind"] = [KINDS[k] for k in frame["kind"]]
    columns = {
        "what": Column("What", "text"),
        "kind": Column("Term, assumption or answer", "text"),
        "before": Column("Loaded", "text"),
        "after": Column("Edited", "text"),
    }
    return _table(Table(frame, columns, "The loaded design beside the edited one"))


#: The page's answers in order: id, heading, view.
SECTIONS = (
    ("cost", "Cost against budget", cost),
    ("rules", "Chance of paying when nothing changed, and power", rules),
    ("creaming", "Who it pays for: the creaming gap by segment", creaming),
    ("gaming", "What gaming would earn a provider", gaming),
    ("provider", "The provider's income, margin and risk", provider),
    ("findings", "Design findings", findings),
)


def sections(answers: DesignAnswers) -> dict[str, str]:
    """Each section's HTML, by id."""
    return {key: view(answers) for key, _, view in SECTIONS}


def creaming_chart(comparison, segments: dict[str, str], width: int = 560) -> str:
    """Margin per person by segment under the current prices and the incentive-neutral ones, as an inline SVG."""
    current = comparison.margins[CURRENT].table["margin_per_person"]
    neutral = comparison.margins[NEUTRAL].table["margin_per_person"] if NEUTRAL in comparison.margins else None
    names = [str(s) for s in current.index]
    values = list(current.to_numpy(dtype=float)) + ([] if neutral is None else list(neutral.to_numpy(dtype=float)))
    low, high = min(0.0, *values), max(0.0, *values)
    span = (high - low) or 1.0
    left, bar, gap, right = 190, 14, 10, 90
    scale = (width - left - right) / span

    def x(v: float) -> float:
        return left + (v - low) * scale

    rows, y = [], 24
    for name in names:
        full = segments.get(name, name)
        # A long label is cut to fit left of the bars; the full one is its tooltip and in the table below.
        shown = full if len(full) <= 28 else full[:27].rstrip() + "…"
        rows.append(
            f'<text x="{left - 8}" y="{y + bar}" text-anchor="end"><title>{html.escape(full)}</title>'
            f"{html.escape(shown)}</text>"
        )
        pairs = [("now", float(current[name]), "#1b4f72")]
        if neutral is not None and name in neutral.index:
            pairs.append(("neutral", float(neutral[name]), "#85c1e9"))
        for i, (_, v, colour) in enumerate(pairs):
            top = y + i * bar
            start, end = sorted((x(0.0), x(v)))
            rows.append(
                f'<rect x="{start:.1f}" y="{top}" width="{end - start:.1f}" height="{bar - 2}" fill="{colour}"/>'
            )
            rows.append(f'<text x="{max(x(0.0), x(v)) + 4:.1f}" y="{top + bar - 3}">{html.escape(pounds(v))}</text>')
        y += bar * len(pairs) + gap
    height = y + 20
    legend = (
        f'<rect x="{left}" y="4" width="12" height="12" fill="#1b4f72"/>'
        f'<text x="{left + 16}" y="15">these prices</text>'
        + (
            ""
            if neutral is None
            else f'<rect x="{left + 120}" y="4" width="12" height="12" fill="#85c1e9"/>'
            f'<text x="{left + 136}" y="15">incentive-neutral prices</text>'
        )
    )
    described = "; ".join(f"{segments.get(n, n)} {pounds(float(current[n]))}" for n in names)
    return (
        f'<svg role="img" aria-labelledby="gap-title gap-desc" viewBox="0 0 {width} {height}" width="100%" '
        f'style="max-width:{width}px;font:12px sans-serif">'
        f'<title id="gap-title">Margin per person by segment</title>'
        f'<desc id="gap-desc">Margin per enrolled person under these prices: {html.escape(described)}.</desc>'
        f'{legend}<line x1="{x(0.0):.1f}" y1="20" x2="{x(0.0):.1f}" y2="{height - 16}" stroke="#333"/>'
        f"{''.join(rows)}</svg>"
    )
