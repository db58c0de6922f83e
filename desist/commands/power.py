"""``desist power``: minimum detectable effect, required cohort size and power.

With ``--n`` it prints the minimum detectable effect for that cohort; with
``--effect`` the treated cohort size needed to detect it; with both, also the
power. It adds the chance that the scheme's usual point-estimate rule pays
when nothing changed (Peterborough's 10% for the frequency measure,
Doncaster's 5 points for the binary rate) and, with ``--effect``, when the
effect is real. It reads no files and writes none.

JSON (``--json``): the envelope of :mod:`desist.commands.common` with
``results`` holding the keys that apply::

    {
      "mde": {...},          # with --n
      "required_n": {...},   # with --effect
      "power": {...},        # with both
      "payment": {"rule", "n_treated", "false_payment", "true_effect", "payment_probability"}
    }

``mde``, ``required_n`` and ``power`` are each ``metrics.power`` results'
``to_dict()``: ``solved_for`` ("effect", "n_treated" or "power"), ``effect``,
``treated_rate``, ``base_rate``, ``relative``, ``n_treated``, ``n_control``,
``power``, ``measure``, ``ratio``, ``alpha``, ``alternative``,
``design_effect``, ``dispersion``, ``phi``, ``method``, ``n_treated_required``.
"""

from __future__ import annotations

import math

import pandas as pd
import typer

from desist import terminal
from desist.commands.common import emit, json_option
from desist.format import COLUMNS, Column, Table
from ground.checks import option_error
from ground.words import count, number, percent, points, ratio
from metrics.planning import PowerReport, power_report, usual_rule
from metrics.power import Design
from metrics.thresholds import PaymentRule


def power_command(
    ctx: typer.Context,
    measure: str = typer.Option(..., "--measure", help="binary (rate) or frequency (reoffences per person)."),
    base_rate: float = typer.Option(..., "--base-rate", help="Comparison rate: a proportion, or mean count."),
    n: float = typer.Option(None, "--n", help="Treated cohort size."),
    effect: float = typer.Option(
        None, "--effect", help="True effect: difference in rates (binary, -0.05) or rate ratio (frequency, 0.9)."
    ),
    ratio: float = typer.Option(1.0, "--ratio", help="Comparison people per treated person (1:k matching)."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level."),
    target_power: float = typer.Option(0.8, "--power", help="Target power for the MDE and required n."),
    one_sided: bool = typer.Option(
        False, "--one-sided/--two-sided", help="Test for a reduction only, or for a change either way."
    ),
    design_effect: float = typer.Option(1.0, "--design-effect", help="Variance multiplier (weights, clustering)."),
    dispersion: float = typer.Option(None, "--dispersion", help="Negative binomial shape k (frequency)."),
    method: str = typer.Option("wald", "--method", help="Binary: wald (unpooled) or arcsine (Cohen's h)."),
    as_json: bool = json_option(),
) -> None:
    """Minimum detectable effect, required cohort size and power of a reoffending measure.

    Examples:

        desist power --measure binary --base-rate 0.45 --n 500 --ratio 3

        desist power --measure frequency --base-rate 1.2 --effect 0.9 \\
            --dispersion 2 --json
    """
    if n is None and effect is None:
        # Checked here too so that the message names the command's options.
        raise option_error(
            "--n", "given, or --effect given, or both: --n gives the minimum detectable effect, --effect the "
            "cohort needed, both the power", n,
        )  # fmt: skip
    sides = "one-sided" if one_sided else "two-sided"
    design = Design(measure, base_rate, ratio, alpha, sides, design_effect, dispersion, method=method)
    report = power_report(design, n, effect, target_power=target_power)
    if as_json:
        emit(ctx, report.to_dict())
        return
    show_power(report, measure)


#: What each power result solved for, in words.
SOLVED = {"mde": "Smallest effect detectable", "required_n": "Cohort needed", "power": "Power at this cohort"}
#: The measures in words.
MEASURES = {"binary": "the proven reoffending rate", "frequency": "the frequency of proven reoffences"}


#: The scale of each measure's effect, as its column is headed.
EFFECT_SCALES = {
    "binary": "Effect: difference in the rate (percentage points)",
    "frequency": "Effect: rate ratio of reoffences (1 = no change)",
}


def effect_words(measure: str, effect: float, base: float, treated: float) -> str:
    """An effect on the measure's scale, with the rates it moves between: "-5.0 points (45.0% to 40.0%)"."""
    if measure == "binary":
        return f"{points(effect)} ({percent(base)} to {percent(treated)})"
    return f"{ratio(effect)} ({number(base)} to {number(treated)} per person)"


def rule_words(rule: PaymentRule) -> str:
    """A payment rule's threshold in plain words: what must be shown, and what decides it.

    Examples
    --------
    >>> from metrics.thresholds import peterborough_rule
    >>> rule_words(peterborough_rule())
    'pays when the estimate shows at least a 10% reduction in the frequency of proven reoffences'
    """
    what = MEASURES.get(rule.measure, "the reoffending measure")
    if rule.at_least == 0:
        amount = "any reduction"
    elif rule.scale == "points":
        amount = f"at least a {points(rule.at_least).removesuffix(' points')}-point reduction"
    else:
        amount = f"at least a {percent(rule.at_least, 0)} reduction"
    shown_by = "the estimate" if rule.alpha is None else f"the {percent(1 - rule.alpha, 0)} confidence bound"
    return f"pays when {shown_by} shows {amount} in {what}"


def show_power(report: PowerReport, measure: str) -> None:
    """The power figures as one table under one heading, then the usual payment rule's chances."""
    results = report.results()
    first = next(iter(results.values())).to_dict()
    terminal.heading(f"Power for {MEASURES[measure]}", first=True)
    settings = f"{first['alternative']} test at a significance level of {first['alpha']:g}, {first['ratio']:g} "
    settings += "comparison people per programme participant"
    if first.get("dispersion") is not None:
        settings += f", negative binomial shape {first['dispersion']:g}"
    terminal.paragraph(settings[:1].upper() + settings[1:] + ".")
    rows = []
    for key, result in results.items():
        r = result.to_dict()
        effect = effect_words(measure, r["effect"], r["base_rate"], r["treated_rate"])
        # A cohort size needed is rounded up: a fraction of a person short is short.
        n = r["n_treated_required"] if key == "required_n" else r["n_treated"]
        rows.append(
            {"solved": SOLVED[key], "n_treated": n, "n_control": math.ceil(n * r["ratio"] - 1e-9), "effect": effect,
             "power": r["power"]}
        )  # fmt: skip
    columns = {
        "solved": Column("", "text"),
        "n_treated": COLUMNS["n_treated"],
        "n_control": COLUMNS["n_control"],
        "effect": Column(EFFECT_SCALES[measure], "text"),
        "power": Column("Power", "percent"),
    }
    terminal.table(Table(pd.DataFrame(rows), columns))
    pay = report.payment
    rule = usual_rule(measure)
    terminal.heading(f"The usual payment rule ({rule.name})")
    text = (
        f"It {rule_words(rule)}. With {count(round(pay.n_treated))} in the programme group it would pay "
        f"{percent(pay.false_payment)} of the time when nothing changed"
    )
    if pay.payment_probability is not None:
        truth = points(pay.true_effect) if measure == "binary" else f"a rate ratio of {ratio(pay.true_effect)}"
        text += f", and {percent(pay.payment_probability)} of the time at a true effect of {truth}"
    terminal.paragraph(text + ".")


def register(app: typer.Typer) -> None:
    app.command("power")(power_command)
