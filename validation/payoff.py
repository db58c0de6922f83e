"""What gaming would earn a provider under a tariff: the check to run before publishing one.

For a tariff (the price of each outcome in each payment segment), a payment
structure and last year's people (the history), :func:`gaming_payoff` asks
how much more a provider would make per enrolled person by

* **creaming** at strength ``c``: enrolling the same number of people, but with
  the enrolment odds of the hardest difficulty decile ``2**-c`` times those of
  the easiest (the synthetic world's mechanism; a base enrolment rate of 60%);
* **parking** at strength ``p``: serving everyone, but cutting each person's
  hours by ``2**-(p * s)`` with ``s`` running from 0 (easiest decile) to 1
  (hardest);

than by honest delivery, under the tariff given and under the flat,
by-difficulty and incentive-neutral tariffs that spend the same expected
budget on the same people (:mod:`pricing.tariff`).

How it is worked out
--------------------
* Each outcome's chance of being achieved is modelled on the history: a
  logistic regression of the 0/1 outcome on logit(difficulty) and log(1 +
  hours). Honest delivery is the model at each person's own hours; parking is
  the model at the cut hours, so the outcomes that respond to service are the
  ones parking loses. Without an hours column parking cannot be priced and is
  left out.
* Delivery cost is the history's cost per person; cutting hours saves the cost
  per hour estimated by least squares of cost on hours.
* Creaming re-weights the history toward the easy: weights proportional to the
  enrolment chance under creaming, over the chance without it.
* A provider's gain is the change in margin (outcome payments minus cost) per
  enrolled person. The payment structure decides how much of the change in
  outcome payments reaches the provider that delivers: none when an investor
  takes the outcome payments, ``1 - management_fee`` under a prime with
  subcontractors; the cost change is the deliverer's own.
* Intervals are 95% bootstrap intervals over the history's people (the models
  and prices held fixed): they say how much the answer depends on who happened
  to be in last year's cohort.

A payment structure's fee withheld against outcomes is not modelled (a target
paid in full or not at all makes the payoff a step); say so when it matters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from ground.checks import InstanceOf, Interval, check_parameter, parameter_error, require_columns
from ground.errors import DesistError
from ground.memo import remembered
from ground.tables import BASELINE_COVARIATES
from pricing.structure import PaymentStructure
from pricing.tariff import Tariff, by_difficulty, flat, incentive_neutral, segment_labels
from validation.screens import flag_values, glm_coefficients, percentile_rank, records

__all__ = ["GamingPayoff", "gaming_payoff"]

STRATEGIES = ("creaming", "parking")


@dataclass(frozen=True)
class GamingPayoff:
    """Per-person payoff of creaming and parking against honest delivery, by tariff.

    Attributes
    ----------
    table : DataFrame
        One row per tariff, strategy (``"honest"``, ``"creaming"``,
        ``"parking"``) and strength: income_per_person, cost_per_person,
        margin_per_person, gain (margin minus honest margin) with
        gain_ci_low/high, provider_gain (what reaches the provider that
        delivers, after the payment structure), n.
    tariffs : dict of str -> Tariff
        ``"given"`` and the alternatives built.
    failures : dict of str -> str
        Alternatives that could not be built, with why.
    dose_response : DataFrame
        Per outcome: the log-odds change per unit log(1 + hours) and per unit
        logit(difficulty) in the history.
    cost_per_hour : float
    outcome_share : float
        Share of a change in outcome payments that reaches the provider.
    notes : tuple of str
    """

    table: pd.DataFrame = field(repr=False)
    tariffs: dict[str, Tariff] = field(repr=False)
    failures: dict[str, str]
    dose_response: pd.DataFrame = field(repr=False)
    cost_per_hour: float
    outcome_share: float
    notes: tuple[str, ...] = ()

    def gains(self) -> pd.DataFrame:
        """Gain per person by tariff (rows) and strategy at each strength (columns)."""
        gamed = self.table[self.table["strategy"] != "honest"]
        label = gamed["strategy"] + " " + gamed["strength"].map(lambda s: f"{s:g}")
        return gamed.assign(what=label).pivot(index="tariff", columns="what", values="gain").loc[list(self.tariffs)]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {
            "cost_per_hour": self.cost_per_hour,
            "outcome_share": self.outcome_share,
            "tariffs": {k: t.to_dict() for k, t in self.tariffs.items()},
            "infeasible": self.failures,
            "dose_response": records(self.dose_response.reset_index()),
            "notes": list(self.notes),
            "payoff": records(self.table),
        }

    def summary(self) -> str:
        n = int(self.table["n"].iloc[0])
        lines = [
            f"Gaming payoff per enrolled person (£) against honest delivery, on {n:,} people of last year's "
            "cohort; 95% bootstrap intervals.",
            f"{self.outcome_share:.0%} of a change in outcome payments reaches the provider that delivers."
            + (
                f" Cutting an hour saves £{self.cost_per_hour:,.2f}."
                if (self.table["strategy"] == "parking").any()
                else ""
            ),
        ]
        for _, row in self.table[self.table["strategy"] != "honest"].iterrows():
            lines.append(
                f"  {row['tariff']:<18} {row['strategy']:<8} strength {row['strength']:<4g} "
                f"£{row['gain']:>8,.0f} ({row['gain_ci_low']:,.0f} to {row['gain_ci_high']:,.0f}); "
                f"to the provider £{row['provider_gain']:,.0f}"
            )
        lines += [f"{k}: not built: {v}" for k, v in self.failures.items()]
        lines += list(self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def plot(self, axes=None):
        """Gain per person against strength, one line per tariff, creaming and parking side by side."""
        import matplotlib.pyplot as plt

        if axes is None:
            _, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
        for ax, strategy in zip(np.atleast_1d(axes), STRATEGIES):
            part = self.table[self.table["strategy"].isin(["honest", strategy])]
            for name, d in part.groupby("tariff", sort=False):
                d = d.sort_values("strength")
                ax.plot(d["strength"], d["gain"], marker="o", label=name)
                ax.fill_between(d["strength"], d["gain_ci_low"], d["gain_ci_high"], alpha=0.15)
            ax.axhline(0, color="black", lw=1)
            ax.set_xlabel(f"{strategy} strength")
            ax.set_title(f"{strategy}: gain over honest delivery")
        np.atleast_1d(axes)[0].set_ylabel("£ per enrolled person")
        np.atleast_1d(axes)[0].legend(fontsize="small")
        return axes


def _probabilities(history, outcomes, difficulty_logit, hours) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """Per outcome, the fitted logistic coefficients on (1, logit difficulty, log1p hours)."""
    columns = [np.ones(len(history)), difficulty_logit] + ([np.log1p(hours)] if hours is not None else [])
    X = np.column_stack(columns)
    betas, rows = {}, []
    for o in outcomes:
        y = flag_values(history, o, "outcome", "history", "gaming_payoff")
        betas[o] = beta = glm_coefficients(y, X, "logit")
        rows.append(
            {"outcome": o, "per_logit_difficulty": beta[1], "per_log_hours": beta[2] if hours is not None else 0.0}
        )
    return betas, pd.DataFrame(rows).set_index("outcome")


def _income(prices: pd.DataFrame, probs: dict[str, np.ndarray]) -> np.ndarray:
    """Expected income per person: each outcome's price for the person times their chance of it."""
    return sum(prices[o].to_numpy(dtype=float) * p for o, p in probs.items())


def _alternatives(budget: float, segments: pd.Series, probs: pd.DataFrame, costs: pd.Series) -> tuple[dict, dict]:
    builders = {
        "flat": lambda: flat(budget, probs, segments=segments),
        "by_difficulty": lambda: by_difficulty(budget, probs, segments=segments, costs=costs),
        "incentive_neutral": lambda: incentive_neutral(costs, probs, budget, segments=segments),
    }
    built, failures = {}, {}
    for name, build in builders.items():
        try:
            built[name] = build()
        except DesistError as exc:
            failures[name] = str(exc)
    return built, failures


def _resamples(seed: int, n: int, draws: int) -> np.ndarray:
    """Bootstrap resamples of ``n`` people: each row counts how often each person is drawn."""
    return np.random.default_rng(seed).multinomial(n, np.full(n, 1 / n), size=draws).astype(float)


def _bootstrap_gain(weights_gamed, margin_gamed, honest, weight_drawn, boot) -> np.ndarray:
    """Gain for each bootstrap resample (rows of ``boot``: people's resample counts).

    ``honest`` is each resample's mean honest margin and ``weight_drawn`` its total weight (``boot @ weights``),
    worked out once for all the rows that share them: each product reads every resample of every person.
    """
    # boot @ (w * m) is (boot * w) @ m without the draws x people product.
    return boot @ (weights_gamed * margin_gamed) / weight_drawn - honest


def _cost_per_hour(cost: np.ndarray, hours: np.ndarray | None) -> tuple[float, list[str]]:
    if hours is None:
        return 0.0, ["no hours column: parking (cutting hours) cannot be priced and is left out."]
    slope = np.polyfit(hours, cost, 1)[0] if np.ptp(hours) > 0 else 0.0
    if slope < 0:
        return 0.0, [f"cost falls with hours in the history (slope £{slope:,.2f}); taken as 0 per hour."]
    return float(slope), []


def _structure_share(structure: PaymentStructure | None) -> float:
    if structure is None:
        return 1.0
    if structure.investor is not None:
        return 0.0
    return float(structure.shares()["front_line"])


def _inputs(history, tariff, segments, structure, difficulty, hours, cost, strengths, enrolment_rate, draws):
    caller = "gaming_payoff"
    check_parameter(tariff, "tariff", caller, InstanceOf(Tariff, "a pricing.Tariff"))
    if structure is not None:
        check_parameter(structure, "structure", caller, InstanceOf(PaymentStructure, "a pricing.PaymentStructure"))
    check_parameter(enrolment_rate, "enrolment_rate", caller, Interval(float, 0, 1, closed="neither"))
    check_parameter(draws, "draws", caller, Interval(int, 100, None))
    strengths = tuple(strengths)
    if not strengths or not all(Interval(float, 0, None, closed="neither").is_satisfied_by(s) for s in strengths):
        raise parameter_error("strengths", caller, "a non-empty sequence of numbers > 0", strengths)
    needed = {"difficulty": difficulty, "cost": cost} | ({"hours": hours} if hours else {})
    require_columns(history, needed | {o: o for o in tariff.outcomes}, table="history", complete=True)
    d = history[difficulty].to_numpy(dtype=float)
    if not ((d > 0) & (d < 1)).all():
        raise parameter_error("difficulty", caller, "a column of probabilities in (0, 1)", difficulty)
    labels = segment_labels(segments, len(history)).reset_index(drop=True)
    return labels, d, strengths


def gaming_payoff(
    history: pd.DataFrame,
    tariff: Tariff,
    segments: Any,
    *,
    structure: PaymentStructure | None = None,
    difficulty: str = "difficulty",
    hours: str | None = "hours",
    cost: str = "cost",
    strengths: Sequence[float] = (1.0, 2.0),
    alternatives: bool = True,
    enrolment_rate: float = 0.6,
    draws: int = 1_000,
    seed: int = 0,
) -> GamingPayoff:
    """What creaming and parking would earn a provider per person, by tariff.

    Parameters
    ----------
    history : DataFrame
        Last year's enrolled people: one 0/1 column per outcome the tariff
        prices, ``difficulty`` (expected chance of failing without extra
        effort, in (0, 1): e.g. ``DifficultyModel.predict(history).difficulty``),
        ``cost`` per person and, to price parking, ``hours`` of service.
    tariff : Tariff
        The tariff to check (a contract's ``tariff``).
    segments : labels, Series or boolean DataFrame
        Each history row's payment segment (a contract's segments applied to
        the history, e.g. ``pricing.inputs.payment_segments(history, spec)``).
    structure : PaymentStructure, optional
        How outcome payments reach the provider that delivers (a contract's
        structure); without it, all of them do.
    difficulty, hours, cost : str
        Column names; ``hours=None`` leaves parking out.
    strengths : sequence of float, default (1.0, 2.0)
        Creaming and parking strengths to price (2**-strength at the hardest
        decile).
    alternatives : bool, default True
        Also price flat, by-difficulty and incentive-neutral tariffs spending
        the given tariff's expected budget.
    enrolment_rate : float, default 0.6
        Enrolment chance without creaming (sets how odds translate into who
        is enrolled).
    draws : int, default 1000
        Bootstrap resamples of the history for the intervals.
    seed : int, default 0

    Returns
    -------
    GamingPayoff

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = rng.uniform(0.2, 0.8, 800)
    >>> h = rng.gamma(2.0, 20.0, 800)
    >>> history = pd.DataFrame({"difficulty": d, "hours": h, "cost": 100 + 22 * h,
    ...                         "settled": rng.random(800) < expit(0.5 - 2 * (d - 0.5) + 0.3 * np.log1p(h) - 1)})
    >>> flat_price = Tariff.from_dict({"settled": {"all": 900.0}})
    >>> p = gaming_payoff(history, flat_price, ["all"] * 800, alternatives=False, draws=200)
    >>> bool(p.gains().loc["given", "creaming 2"] > 0)
    True
    """
    labels, d, strengths = _inputs(
        history, tariff, segments, structure, difficulty, hours, cost, strengths, enrolment_rate, draws
    )
    h = None if hours is None else history[hours].to_numpy(dtype=float)
    spend = history[cost].to_numpy(dtype=float)
    per_hour, notes = _cost_per_hour(spend, h)
    # The fits and the resamples do not depend on the prices: an active ground.memo.Memo made for the history
    # (the contract designer's) gives them again at every edit.
    fitted = ("gaming fits", id(history), tuple(tariff.outcomes), difficulty, hours)
    betas, dose = remembered(fitted, lambda: _probabilities(history, tariff.outcomes, logit(d), h), held=history)

    def probs_at(hours_now: np.ndarray | None) -> dict[str, np.ndarray]:
        cols = [np.ones(len(d)), logit(d)] + ([np.log1p(hours_now)] if hours_now is not None else [])
        X = np.column_stack(cols)
        return {o: expit(X @ b) for o, b in betas.items()}

    honest = probs_at(h)
    tariffs, failures = {"given": tariff}, dict[str, str]()
    if alternatives:
        budget = float(_income(tariff.person_prices(labels, list(honest)), honest).sum())
        costs = pd.Series(spend).groupby(labels.to_numpy()).mean()
        built, failures = _alternatives(budget, labels, pd.DataFrame(honest), costs)
        tariffs |= built
    slope = (percentile_rank(d) - 0.05) / 0.9
    resampled = ("gaming resamples", seed, len(d), draws)
    boot = remembered(resampled, lambda: _resamples(seed, len(d), draws), held=() if isinstance(seed, int) else seed)
    share = _structure_share(structure)
    # Each strength's creaming weights, and their total in each resample, are the same for every tariff.
    tilts = {s: expit(logit(enrolment_rate) - s * np.log(2) * slope) for s in strengths}
    tilts = {s: tilt / tilt.mean() for s, tilt in tilts.items()}
    drawn = boot.sum(axis=1)
    tilted = {s: boot @ w for s, w in tilts.items()}
    rows = []
    for name, t in tariffs.items():
        prices = t.person_prices(labels, list(honest))
        income = _income(prices, honest)
        everyone = np.ones(len(d))
        honest_draws = boot @ (income - spend) / drawn
        bootstrap = (boot, honest_draws, share)
        rows.append(_row(name, "honest", 0.0, income, spend, everyone, drawn, income, spend, *bootstrap))
        for s in strengths:
            rows.append(_row(name, "creaming", s, income, spend, tilts[s], tilted[s], income, spend, *bootstrap))
            if h is not None:
                cut = h * 2.0 ** (-s * slope)
                parked = _income(prices, probs_at(cut))
                saved = spend - per_hour * (h - cut)
                rows.append(_row(name, "parking", s, parked, saved, everyone, drawn, income, spend, *bootstrap))
    return GamingPayoff(
        table=pd.DataFrame(rows),
        tariffs=tariffs,
        failures=failures,
        dose_response=dose,
        cost_per_hour=per_hour,
        outcome_share=share,
        notes=tuple(notes),
    )


def _row(tariff, strategy, strength, income, spend, weights, weight_drawn, honest_income, honest_spend, boot, honest,
         share) -> dict:  # fmt: skip
    """One line of the payoff table: weighted means, the gain over honest delivery and its bootstrap CI."""
    margin = income - spend
    honest_margin = honest_income - honest_spend
    gain = float(np.average(margin, weights=weights) - honest_margin.mean())
    draws = _bootstrap_gain(weights, margin, honest, weight_drawn, boot)
    d_income = float(np.average(income, weights=weights) - honest_income.mean())
    d_cost = float(np.average(spend, weights=weights) - honest_spend.mean())
    return {
        "tariff": tariff,
        "strategy": strategy,
        "strength": strength,
        "income_per_person": float(np.average(income, weights=weights)),
        "cost_per_person": float(np.average(spend, weights=weights)),
        "margin_per_person": float(np.average(margin, weights=weights)),
        "gain": gain,
        "gain_ci_low": float(np.quantile(draws, 0.025)),
        "gain_ci_high": float(np.quantile(draws, 0.975)),
        "provider_gain": share * d_income - d_cost,
        "n": len(income),
    }


def payoff_from_spec(
    spec: Any,
    history: pd.DataFrame,
    *,
    difficulty: str | None = None,
    reoffended: str = "reoffended",
    covariates: Sequence[str] | None = None,
    **options: Any,
) -> tuple[GamingPayoff, str]:
    """:func:`gaming_payoff` for a metric spec's tariff, payment structure and segments.

    The history's difficulty is the ``difficulty`` column when given; otherwise
    a difficulty model (:func:`cohorts.fit_difficulty`) of ``reoffended`` on
    ``covariates`` (default: the usual risk characteristics the history has) is
    fitted on the history itself. Returns the payoff and a sentence saying
    which difficulty was used.

    Examples
    --------
    >>> from outcomes import MetricSpec
    >>> spec = MetricSpec.from_toml("examples/specs/intermediate.toml")
    >>> history = pd.read_csv("examples/data/history.csv")
    >>> payoff, how = payoff_from_spec(spec, history, strengths=[2.0], draws=200)
    >>> how.startswith("difficulty: a model of 'reoffended' fitted on the history")
    True
    """
    from cohorts.difficulty import fit_difficulty
    from pricing.inputs import payment_segments

    if difficulty is None:
        chosen = list(covariates) if covariates is not None else [c for c in BASELINE_COVARIATES if c in history]
        model = fit_difficulty(history, reoffended, chosen)
        history = history.assign(difficulty=model.predict(history).difficulty.to_numpy())
        how = f"difficulty: a model of {reoffended!r} fitted on the history ({', '.join(chosen)})."
        difficulty = "difficulty"
    else:
        how = f"difficulty: the history's {difficulty!r} column."
    tariff = Tariff.from_spec(spec)
    segments = payment_segments(history, spec)
    structure = PaymentStructure.from_spec(spec)
    if options.get("hours", "hours") is not None and options.get("hours", "hours") not in history:
        options["hours"] = None
    return gaming_payoff(history, tariff, segments, structure=structure, difficulty=difficulty, **options), how
