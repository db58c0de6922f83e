"""The report's figures: sized for reading and for print, colour-blind-safe, each with alt text.

Every function takes a result's numbers and returns a :class:`Chart`: the
matplotlib Figure, a sentence or two of alt text that says what the figure
shows (for a screen reader, and for anyone who cannot see the picture), and
a caption. Colours come from the Okabe-Ito palette and no meaning rests on
colour alone: groups also differ in marker or line style. Axes never use
scientific notation or offsets; money is in pounds.

The library's own ``plot()`` methods stay as they are for scripts and
notebooks; these are drawn from the same numbers for the report.

Examples
--------
>>> import pandas as pd
>>> t = pd.DataFrame({"n": [100] * 3, "expected": [0.2, 0.4, 0.6], "observed": [0.21, 0.38, 0.62],
...                   "ci_low": [0.14, 0.29, 0.52], "ci_high": [0.3, 0.48, 0.71]}, index=[1, 2, 3])
>>> chart = calibration_chart(t, auc=0.7)
>>> chart.alt.startswith("Observed against expected")
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from desist.format import humanise
from ground.words import count, percent, pounds
from validation.funnels import limit_label

__all__ = [
    "PALETTE",
    "Chart",
    "calibration_chart",
    "cash_flow_chart",
    "funnel_chart",
    "love_plot",
    "margins_chart",
    "overlap_chart",
    "screen_chart",
]

#: Okabe & Ito's palette, distinguishable with every common colour-vision deficiency.
PALETTE = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "green": "#009E73",
    "purple": "#CC79A7",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "black": "#000000",
    "grey": "#767676",
}
CYCLE = [PALETTE[c] for c in ("blue", "vermillion", "green", "purple", "orange", "sky")]
MARKERS = ("o", "s", "^", "D", "v", "P")
#: Width in inches: the text column at 1280 px, and an A4 page with margins.
WIDTH = 7.5
STYLE = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 10,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.formatter.useoffset": False,
    "axes.formatter.limits": (-9, 12),
    "svg.fonttype": "none",
    "figure.dpi": 100,
}


@dataclass(frozen=True)
class Chart:
    """A figure with the words a reader needs without it."""

    figure: Any
    alt: str
    caption: str = ""


@contextmanager
def _style():
    import matplotlib

    with matplotlib.rc_context({**STYLE, "axes.prop_cycle": matplotlib.cycler(color=CYCLE)}):
        yield


def _axes(height: float, width: float = WIDTH):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.subplots()


def _money_axis(axis) -> None:
    from matplotlib.ticker import FuncFormatter

    def short(v: float, _pos: int) -> str:
        if abs(v) >= 1e6:
            text = f"£{abs(v) / 1e6:,.2f}".rstrip("0").rstrip(".") + "m"
        elif abs(v) >= 1e3:
            text = f"£{abs(v) / 1e3:,.0f}k"
        else:
            text = pounds(abs(v))
        return ("-" if v < 0 and text != "£0" else "") + text

    axis.set_major_formatter(FuncFormatter(short))


def _percent_axis(axis) -> None:
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(1.0, decimals=0))


def variable_label(name: str, covariates: Sequence[str] = ()) -> str:
    """A balance-table row in words: ``sexfemale`` -> "Sex: female", ``distance`` -> "Propensity score".

    Examples
    --------
    >>> variable_label("ethnicitywhite", ["age", "ethnicity"]), variable_label("age_first", ["age", "age_first"])
    ('Ethnicity: white', 'Age first')
    """
    if name == "distance":
        return "Propensity score"
    if name in covariates:
        return humanise(name)
    for covariate in sorted(covariates, key=len, reverse=True):
        if name != covariate and name.startswith(covariate):
            return f"{humanise(covariate)}: {name[len(covariate) :]}"
    return humanise(name)


def love_plot(balance: pd.DataFrame, covariates: Sequence[str] = (), threshold: float = 0.1) -> Chart:
    """Absolute standardised mean differences before and after matching (MatchIt's balance table)."""
    before = balance[("before", "smd")].abs()
    after = balance[("after", "smd")].abs()
    names = [variable_label(str(v), covariates) for v in balance.index]
    with _style():
        fig, ax = _axes(0.28 * len(names) + 1.3)
        y = np.arange(len(names))[::-1]
        ax.scatter(before, y, marker="o", facecolors="none", edgecolors=PALETTE["vermillion"], label="Before matching")
        ax.scatter(after, y, marker="s", color=PALETTE["blue"], label="After matching")
        ax.axvline(threshold, color=PALETTE["grey"], linestyle="--", linewidth=1)
        ax.set_yticks(y, names)
        ax.set_xlabel("Absolute standardised mean difference (0.1 and under is good)")
        ax.legend(loc="lower right")
    worst_before, worst_after = before.idxmax(), after.idxmax()
    good = int((after < threshold).sum())
    alt = (
        f"Standardised mean differences of {len(names)} characteristics between the programme group and "
        f"the comparison. Before matching the largest was {before.max():.2f} "
        f"({variable_label(str(worst_before), covariates)}); after matching the largest is {after.max():.2f} "
        f"({variable_label(str(worst_after), covariates)}), and {good} of {len(names)} are under {threshold:g}."
    )
    return Chart(fig, alt, "How alike the groups are before and after matching")


def overlap_chart(distance: np.ndarray, treated: np.ndarray, weights: np.ndarray, bins: int = 40) -> Chart:
    """Distributions of the propensity score (logit): programme group, whole pool, matched comparison."""
    distance, treated, weights = np.asarray(distance, float), np.asarray(treated, bool), np.asarray(weights, float)
    matched = ~treated & (weights > 0)
    edges = np.histogram_bin_edges(distance, bins=bins)
    groups = (
        ("Programme group", treated, None, PALETTE["blue"], "-"),
        ("Whole comparison pool", ~treated, None, PALETTE["vermillion"], "--"),
        ("Matched comparison", matched, weights[matched], PALETTE["green"], ":"),
    )
    with _style():
        fig, ax = _axes(3.6)
        for name, rows, w, colour, style in groups:
            ax.hist(
                distance[rows],
                bins=edges,
                weights=w,
                density=True,
                histtype="step",
                linewidth=2,
                color=colour,
                linestyle=style,
                label=f"{name} ({count(rows.sum())})",
            )
        ax.set_xlabel("Propensity score (log odds of being in the programme)")
        ax.set_ylabel("Density")
        ax.legend(loc="upper right")
    alt = (
        f"Distributions of the propensity score for the {count(treated.sum())} people in the programme, "
        f"the whole comparison pool of {count((~treated).sum())} and the {count(matched.sum())} matched "
        "comparison people. The closer the matched comparison's curve is to the programme group's, the "
        "more alike the groups."
    )
    return Chart(fig, alt, "Overlap of the propensity score")


def calibration_chart(table: pd.DataFrame, auc: float | None = None, what: str = "proven reoffending") -> Chart:
    """Observed against expected rate by decile of the difficulty model, with 95% CIs."""
    t = table
    covered = int(((t["ci_low"] <= t["expected"]) & (t["expected"] <= t["ci_high"])).sum())
    with _style():
        fig, ax = _axes(4.2, 6.0)
        ax.errorbar(
            t["expected"],
            t["observed"],
            yerr=[t["observed"] - t["ci_low"], t["ci_high"] - t["observed"]],
            fmt="o",
            color=PALETTE["blue"],
            capsize=3,
            label="Observed (95% CI)",
        )
        top = float(max(t["expected"].max(), t["ci_high"].max())) * 1.05
        ax.plot([0, top], [0, top], color=PALETTE["grey"], linestyle="--", linewidth=1, label="Perfect calibration")
        ax.set_xlabel(f"Expected {what} (model)")
        ax.set_ylabel(f"Observed {what}")
        _percent_axis(ax.xaxis)
        _percent_axis(ax.yaxis)
        ax.legend(loc="upper left")
    alt = (
        f"Observed against expected {what} in {len(t)} deciles of the difficulty model: the 95% interval of "
        f"the observed rate covers the expected rate in {covered} of {len(t)} deciles"
        + (f"; the model tells people apart with an AUC of {auc:.2f}." if auc is not None else ".")
    )
    return Chart(fig, alt, "Calibration of the difficulty model by decile")


def margins_chart(margins: Mapping[str, Any], names: Mapping[str, str] | None = None) -> Chart:
    """Expected margin per person by segment under each tariff, with 95% CIs.

    ``margins`` maps a tariff's name to its ``pricing.Margins``; ``names``
    gives each tariff's name in words.
    """
    names = dict(names or {})
    segments = list(next(iter(margins.values())).table.index.astype(str))
    width = 0.8 / len(margins)
    with _style():
        fig, ax = _axes(3.8)
        x = np.arange(len(segments))
        for i, (name, m) in enumerate(margins.items()):
            t = m.table.reindex(segments)
            err = np.vstack([t["margin_per_person"] - t["ci_low"], t["ci_high"] - t["margin_per_person"]])
            ax.bar(
                x + (i - (len(margins) - 1) / 2) * width,
                t["margin_per_person"],
                width,
                yerr=err,
                capsize=2,
                color=CYCLE[i % len(CYCLE)],
                hatch=("", "//", "..", "xx", "\\\\", "++")[i % 6],
                edgecolor="white",
                label=names.get(name, humanise(name)),
            )
        ax.axhline(0, color=PALETTE["black"], linewidth=0.8)
        ax.set_xticks(x, [humanise(s) for s in segments])
        ax.set_ylabel("Expected margin per person")
        _money_axis(ax.yaxis)
        ax.legend(ncols=min(len(margins), 4), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    gaps = "; ".join(f"{names.get(k, humanise(k))} {pounds(m.gap)}" for k, m in margins.items())
    alt = (
        f"Bars of the expected margin per person in each of {len(segments)} segments under {len(margins)} "
        f"tariffs. The gap between the easiest and the hardest segment (the reward for creaming): {gaps}."
    )
    return Chart(fig, alt, "Margin per person by segment under each tariff")


def cash_flow_chart(frame: pd.DataFrame, party: str, draws: int) -> Chart:
    """Fan chart of a party's cumulative net cash: median, 50% and 90% bands.

    ``frame`` is ``ContractSimulation.cash_flow(party, cumulative=True)``
    (index: months then "later"; columns q05, q25, q50, q75, q95).
    """
    x = np.arange(len(frame))
    with _style():
        fig, ax = _axes(3.6)
        ax.fill_between(x, frame["q05"], frame["q95"], color=PALETTE["sky"], alpha=0.35, label="90% of contracts")
        ax.fill_between(x, frame["q25"], frame["q75"], color=PALETTE["blue"], alpha=0.35, label="50% of contracts")
        ax.plot(x, frame["q50"], color=PALETTE["blue"], linewidth=2, label="Median")
        ax.axhline(0, color=PALETTE["black"], linewidth=0.8)
        step = max(1, (len(frame) - 1) // 6)
        ticks = [*range(0, len(frame) - 1, step), len(frame) - 1]
        ax.set_xticks(ticks, [str(t) for t in ticks[:-1]] + ["later"])
        ax.set_xlabel("Month of the contract")
        ax.set_ylabel("Cumulative net cash")
        _money_axis(ax.yaxis)
        ax.legend(loc="best")
    end = frame.iloc[-1]
    low = int(np.argmin(frame["q50"].to_numpy()))
    alt = (
        f"Cumulative net cash of the {party} month by month over {count(draws)} simulated contracts. By the end "
        f"the median is {pounds(end['q50'])} (90% of contracts between {pounds(end['q05'])} and "
        f"{pounds(end['q95'])}); the median is lowest at {pounds(frame['q50'].iloc[low])} in month "
        f"{frame.index[low]}."
    )
    return Chart(fig, alt, f"Cash flow of the {party}: median and the range of simulated contracts")


def screen_chart(deciles: pd.DataFrame, kind: str, flagged: Sequence[str], p_value: float) -> Chart:
    """Enrolment rate (creaming) or service hours (parking) by difficulty decile.

    Everyone together is drawn in black with its 95% CI, flagged providers in
    colour with their CIs, the rest as faint lines.
    """
    value = "rate" if kind == "creaming" else "mean_hours"
    what = "enrolment rate" if kind == "creaming" else "mean service hours"
    flagged = [str(u) for u in flagged if str(u) != "all"]
    with _style():
        fig, ax = _axes(3.8)
        for unit, d in deciles.groupby("unit", sort=False):
            if str(unit) == "all" or str(unit) in flagged:
                i = flagged.index(str(unit)) if str(unit) in flagged else None
                ax.errorbar(
                    d["decile"],
                    d[value],
                    yerr=np.vstack([d[value] - d["ci_low"], d["ci_high"] - d[value]]),
                    marker="o" if i is None else MARKERS[(i + 1) % len(MARKERS)],
                    capsize=2,
                    linewidth=2.5 if i is None else 1.5,
                    color=PALETTE["black"] if i is None else CYCLE[(i + 1) % len(CYCLE)],
                    label="All providers" if i is None else f"{unit} (flagged)",
                )
            else:
                ax.plot(d["decile"], d[value], color=PALETTE["grey"], linewidth=0.6, alpha=0.5)
        ax.set_xlabel("Difficulty decile (1 = easiest, 10 = hardest)")
        ax.set_ylabel(what[:1].upper() + what[1:])
        ax.set_xticks(range(1, 11))
        if kind == "creaming":
            _percent_axis(ax.yaxis)
        ax.legend(loc="best")
    overall = deciles[deciles["unit"].astype(str) == "all"].sort_values("decile")
    first, last = overall[value].iloc[0], overall[value].iloc[-1]
    shown = percent if kind == "creaming" else (lambda v: f"{v:.1f} hours")
    alt = (
        f"The {what} by decile of difficulty, from easiest to hardest: {shown(first)} in the easiest decile "
        f"and {shown(last)} in the hardest. "
        + (f"Flagged: {', '.join(flagged)}." if flagged else "No provider is flagged")
        + f" (p = {p_value:.2g})."
    )
    return Chart(fig, alt, f"{kind.capitalize()} screen: {what} by difficulty decile")


def funnel_chart(funnel: Any) -> Chart:
    """Each provider's observed over expected against its volume, with 95% and 99.8% limits."""
    units = funnel.units
    volume = units["volume"].to_numpy(dtype=float)
    grid = np.linspace(max(volume.min() * 0.5, 1.0), volume.max() * 1.1, 200)
    first, last = (f"outside_{limit_label(a)}" for a in (funnel.alphas[0], funnel.alphas[-1]))
    out = (units[last] != "").to_numpy()
    warn = (units[first] != "").to_numpy() & ~out
    with _style():
        fig, ax = _axes(3.8)
        ax.axhline(funnel.target, color=PALETTE["black"], linewidth=1)
        for alpha, style in zip(funnel.alphas, ("--", ":")):
            lo, hi = funnel.limits(grid, alpha)
            ax.plot(grid, lo, style, color=PALETTE["grey"], label=f"{limit_label(alpha)}% limits")
            ax.plot(grid, hi, style, color=PALETTE["grey"])
        inside = ~out & ~warn
        ax.scatter(
            volume[inside], units["value"][inside], marker="o", color=PALETTE["blue"], label="Provider", zorder=3
        )
        for rows, marker, colour, which in ((warn, "D", PALETTE["orange"], 0), (out, "^", PALETTE["vermillion"], -1)):
            if rows.any():
                words = f"Outside the {limit_label(funnel.alphas[which])}% limits"
                ax.scatter(volume[rows], units["value"][rows], marker=marker, s=60, color=colour, label=words, zorder=3)
        for name, x, y, flag in zip(units["unit"], volume, units["value"], out | warn):
            if flag:
                ax.annotate(str(name), (x, y), xytext=(4, 4), textcoords="offset points")
        ax.set_xlabel("People" if funnel.kind == "proportion" else "Expected reoffenders")
        ax.set_ylabel("Rate" if funnel.kind == "proportion" else "Observed / expected")
        ax.legend(loc="upper right")
    outside = {limit_label(a): funnel.outside(a) for a in funnel.alphas}
    alt = (
        f"Funnel plot of {len(units)} providers: each provider's observed over expected reoffending against its "
        "size, with control limits that narrow as providers get larger. "
        + " ".join(f"Outside the {k}% limits: {', '.join(v) if v else 'none'}." for k, v in outside.items())
    )
    return Chart(fig, alt, "Providers' reoffending against what their caseloads predict")
