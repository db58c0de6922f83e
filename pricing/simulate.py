"""Contract simulation: what a payment-by-results contract pays, to whom and when.

:func:`simulate_contract` draws, many times over, when each person enrols,
which outcomes each achieves (independent Bernoulli trials at the person's
probability: the true effect of the service is an assumption built into those
probabilities) and when each achievement is known and paid (intermediate
outcomes some months in; proven reoffending only after 12 months' follow-up
and 6 months' waiting). It then applies a :class:`~pricing.structure.PaymentStructure`
and a :class:`~pricing.tariff.Tariff` to get each party's monthly cash flow.

Memory: a draws x people x months array would hold 720 million cells at
10,000 x 2,000 x 36. Instead each outcome is drawn as a draws x people boolean
with an achievement month, and payments are summed straight into a draws x
months array with ``np.bincount`` over flattened (draw, month) indices, a
block of draws at a time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ground.checks import Interval, check_parameter, parameter_error
from ground.memo import digest, remembered
from pricing.structure import PaymentStructure
from pricing.tariff import Costs, Segments, Tariff, _as_segment_series, _probability_frame, segment_labels

if TYPE_CHECKING:
    from outcomes.spec import MetricSpec

__all__ = ["REOFFENDING_LAG_MONTHS", "ContractSimulation", "simulate_contract", "timing_from_spec"]

#: Proven reoffending is known 12 months' follow-up plus 6 months' waiting after the start.
REOFFENDING_LAG_MONTHS = 18
# Cells (draws x people) per block: bounds the working memory at a few hundred MB.
_BLOCK_CELLS = 4_000_000
_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
# A net total below minus half a penny is a loss; above, it is float rounding of a zero.
_PENNY = 0.005
_DAYS_PER_MONTH = 365.25 / 12


def _window(outcome: str, value: Any) -> tuple[int, int]:
    """(first, last) month after enrolment in which an outcome is known and paid."""
    lo, hi = (value, value) if np.isscalar(value) else tuple(value)
    if int(lo) != lo or int(hi) != hi or not 0 <= lo <= hi:
        raise parameter_error(
            "timing",
            "simulate_contract",
            f"for outcome {outcome!r} a whole number of months >= 0 or a (first, last) pair with first <= last",
            value,
        )
    return int(lo), int(hi)


def timing_from_spec(spec: MetricSpec) -> dict[str, tuple[int, int]]:
    """Payment months after enrolment per priced outcome, read from a metric spec.

    An intermediate outcome is achieved, and paid, at a month inside its
    window (days after the start, converted to months and rounded up);
    proven reoffending is known after follow-up plus waiting (365 + 182 days:
    month 18). Keys are price keys (the tariff's outcomes), else outcome
    keys; outcomes sharing a price key share the widest window.

    Examples
    --------
    >>> from outcomes.spec import MetricSpec
    >>> spec = MetricSpec.from_dict({"metric": {"name": "m"}, "reoffending": {"price_key": "no_reoffence"}})
    >>> timing_from_spec(spec)
    {'no_reoffence': (18, 18)}
    """
    timing: dict[str, tuple[int, int]] = {}
    if spec is None:
        return timing

    def widen(key: str, first: int, last: int) -> None:
        lo, hi = timing.get(key, (first, last))
        timing[key] = (min(lo, first), max(hi, last))

    for key, outcome in dict(getattr(spec, "outcomes", None) or {}).items():
        start, end = outcome.window
        widen(outcome.price_key or str(key), int(np.ceil(start / _DAYS_PER_MONTH)), int(np.ceil(end / _DAYS_PER_MONTH)))
    reoffending = getattr(spec, "reoffending", None)
    if reoffending is not None:
        lag = int(np.ceil((reoffending.follow_up_days + reoffending.waiting_days) / _DAYS_PER_MONTH))
        widen(reoffending.price_key or "reoffending", lag, lag)
    return timing


@dataclass(frozen=True)
class ContractSimulation:
    """Monte Carlo cash flows of a contract, per party.

    Attributes
    ----------
    flows : dict of str -> ndarray (draws, months + 1)
        Net cash received by each party each month (negative = paid out,
        including delivery costs for providers). The last column holds
        everything that falls after the horizon ("later").
    months : int
        Contract horizon in months.
    outcomes : list of str
        Outcomes drawn; ``outcome_counts`` has one column per outcome.
    outcome_counts : ndarray (draws, outcomes)
        Achievements per draw.
    target_met : ndarray of bool or None
        Whether the structure's target was met in each draw.
    expected_outcome_payments : float
        Analytic expected tariff payments, ``sum p * price`` (no cap).
    outcome_payments_variance : float
        Its analytic variance, ``sum p (1 - p) price**2``.
    contract_value : float
        Service fee plus the structure's expected outcome payments (or,
        when it states none, ``expected_outcome_payments``).
    providers : list of str
        Parties that bear delivery costs.
    """

    flows: dict[str, np.ndarray]
    months: int
    outcomes: list[str]
    outcome_counts: np.ndarray
    target_met: np.ndarray | None
    expected_outcome_payments: float
    outcome_payments_variance: float
    contract_value: float
    providers: list[str]
    structure_name: str = ""
    n_people: int = 0
    seed: Any = None
    quantile_levels: tuple[float, ...] = _QUANTILES
    costs_included: bool = True
    outcome_payments: np.ndarray | None = field(default=None, repr=False)

    @property
    def draws(self) -> int:
        return int(next(iter(self.flows.values())).shape[0])

    @property
    def parties(self) -> list[str]:
        return list(self.flows)

    @property
    def total_paid(self) -> np.ndarray:
        """What the commissioner pays in each draw (£, positive)."""
        return -self.flows["commissioner"].sum(axis=1)

    def _flow(self, party: str) -> np.ndarray:
        if party not in self.flows:
            raise parameter_error("party", "ContractSimulation", f"one of {self.parties}", party)
        return self.flows[party]

    def peak_working_capital(self, party: str) -> np.ndarray:
        """Per draw, the most a party is out of pocket at any month end (£, >= 0)."""
        cumulative = np.cumsum(self._flow(party), axis=1)
        return np.maximum(-cumulative.min(axis=1), 0.0)

    def cash_flow(
        self, party: str, *, cumulative: bool = False, levels: tuple[float, ...] | None = None
    ) -> pd.DataFrame:
        """Monthly (or cumulative) net cash of one party: mean and quantiles over draws.

        ``levels`` defaults to the simulation's ``quantile_levels``.
        """
        flow = self._flow(party)
        if cumulative:
            flow = np.cumsum(flow, axis=1)
        levels = self.quantile_levels if levels is None else tuple(levels)
        q = np.quantile(flow, levels, axis=0)
        index = pd.Index([*range(self.months), "later"], name="month", dtype=object)
        frame = pd.DataFrame({"mean": flow.mean(axis=0)}, index=index)
        for level, row in zip(levels, q):
            frame[f"q{round(level * 100):02d}"] = row
        return frame

    def party_table(self) -> pd.DataFrame:
        """Per party: total net cash (mean, quantiles), P(loss) with its Monte Carlo SE, peak working capital.

        For providers and the investor, a loss is a negative net total (below
        -£0.005, so float rounding of a zero is not a loss). For
        the commissioner, ``p_loss`` is the chance of paying more than the
        contract value (service fee plus the structure's expected outcome
        payments, or the analytic expected tariff payments when the structure
        states none).
        """
        rows = {}
        n = self.draws
        for party, flow in self.flows.items():
            total = flow.sum(axis=1)
            if party == "commissioner":
                loss = -total > self.contract_value * (1 + 1e-12)
                wc = np.full(n, np.nan)
            else:
                loss = total < -_PENNY
                wc = self.peak_working_capital(party)
            p = loss.mean()
            rows[party] = {
                "net_mean": total.mean(),
                "net_q05": np.quantile(total, 0.05),
                "net_q50": np.quantile(total, 0.5),
                "net_q95": np.quantile(total, 0.95),
                "p_loss": p,
                "p_loss_se": np.sqrt(p * (1 - p) / n),
                "peak_working_capital_mean": np.nanmean(wc) if party != "commissioner" else np.nan,
                "peak_working_capital_q95": np.quantile(wc, 0.95) if party != "commissioner" else np.nan,
            }
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("party")

    def cost_per_outcome(self) -> pd.DataFrame:
        """Commissioner's total payment divided by achievements of each outcome (per draw quantiles)."""
        paid = self.total_paid
        rows = {}
        for j, outcome in enumerate(self.outcomes):
            counts = self.outcome_counts[:, j]
            ratio = np.where(counts > 0, paid / np.maximum(counts, 1), np.inf)
            rows[outcome] = {
                "achieved_mean": counts.mean(),
                "mean": ratio[np.isfinite(ratio)].mean() if np.isfinite(ratio).any() else np.inf,
                "q05": np.quantile(ratio, 0.05),
                "q50": np.quantile(ratio, 0.5),
                "q95": np.quantile(ratio, 0.95),
            }
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("outcome")

    def to_frame(self) -> pd.DataFrame:
        """Long table: party, month, kind (monthly / cumulative), mean and quantiles."""
        parts = []
        for party in self.parties:
            for kind, cumulative in (("monthly", False), ("cumulative", True)):
                frame = self.cash_flow(party, cumulative=cumulative).reset_index()
                parts.append(frame.assign(party=party, kind=kind))
        out = pd.concat(parts, ignore_index=True)
        return out[["party", "kind", "month", *[c for c in out.columns if c not in ("party", "kind", "month")]]]

    def to_dict(self) -> dict[str, object]:
        """Plain-Python form for JSON: party table, cost per outcome, summary figures."""
        table = self.party_table()
        paid = self.total_paid
        return {
            "structure": self.structure_name,
            "draws": self.draws,
            "people": self.n_people,
            "months": self.months,
            "seed": self.seed,
            "costs_included": self.costs_included,
            "total_paid": {
                "mean": float(paid.mean()),
                "q05": float(np.quantile(paid, 0.05)),
                "q95": float(np.quantile(paid, 0.95)),
                "mc_se": float(paid.std() / np.sqrt(self.draws)),
            },
            "expected_outcome_payments": self.expected_outcome_payments,
            "p_target_met": None if self.target_met is None else float(self.target_met.mean()),
            "parties": {
                p: {k: (None if pd.isna(v) else float(v)) for k, v in row.items()}
                for p, row in table.to_dict(orient="index").items()
            },
            "cost_per_outcome": {
                o: {k: float(v) for k, v in row.items()}
                for o, row in self.cost_per_outcome().to_dict(orient="index").items()
            },
        }

    def summary(self) -> str:
        """Readable text: totals, P(loss), working capital, cost per outcome."""
        paid = self.total_paid
        table = self.party_table()
        lines = [
            f"Contract simulation: {self.structure_name or 'structure'}; {self.n_people:,} people, "
            f"{self.draws:,} draws, {self.months} months",
            f"Commissioner pays £{paid.mean():,.0f} on average (90% of draws £{np.quantile(paid, 0.05):,.0f} "
            f"to £{np.quantile(paid, 0.95):,.0f}; Monte Carlo SE £{paid.std() / np.sqrt(self.draws):,.0f})",
        ]
        if self.target_met is not None:
            lines.append(f"Target met in {self.target_met.mean():.1%} of draws")
        if not self.costs_included:
            lines.append("Delivery costs not given: providers' figures are gross income, not margin.")
        shown = table[
            ["net_mean", "net_q05", "net_q95", "p_loss", "peak_working_capital_mean", "peak_working_capital_q95"]
        ]
        lines += [
            "Per party (net £; p_loss for the commissioner = P(paying above contract value)):",
            shown.round(3).to_string(),
            "Cost per outcome to the commissioner:",
            self.cost_per_outcome().round(0).to_string(),
        ]
        return "\n".join(lines)

    def plot(self, party: str | None = None, ax=None, *, cumulative: bool = True):
        """Fan chart of a party's cumulative net cash (5-95% and 25-75% bands, median); returns the Axes."""
        import matplotlib.pyplot as plt

        party = party or self.providers[0]
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.5))
        frame = self.cash_flow(party, cumulative=cumulative, levels=_QUANTILES)
        x = np.arange(len(frame))
        ax.fill_between(x, frame["q05"], frame["q95"], alpha=0.25, color="#2e86c1", label="5-95%")
        ax.fill_between(x, frame["q25"], frame["q75"], alpha=0.45, color="#2e86c1", label="25-75%")
        ax.plot(x, frame["q50"], color="#1b4f72", label="median")
        ax.axhline(0, color="black", linewidth=0.8)
        ticks = list(range(0, self.months, max(1, self.months // 6))) + [self.months]
        ax.set_xticks(ticks, [str(t) for t in ticks[:-1]] + ["later"])
        ax.set_xlabel("month of contract")
        ax.set_ylabel(("cumulative " if cumulative else "") + "net cash (£)")
        ax.set_title(f"{party}: cash flow over {self.draws:,} draws")
        ax.legend(fontsize="small", loc="best")
        return ax


def _spread(amounts: np.ndarray, length: int) -> np.ndarray:
    """Spread each month's amount evenly over it and the next ``length - 1`` months (extends the axis)."""
    d, m = amounts.shape
    padded = np.zeros((d, m + length))
    padded[:, :m] = amounts / length
    c = np.cumsum(padded, axis=1)
    c[:, length:] -= c[:, :-length].copy()
    return c


def _fold(flow: np.ndarray, months: int) -> np.ndarray:
    """Cut a flow to ``months`` columns plus one "later" column holding the rest."""
    out = np.zeros((flow.shape[0], months + 1))
    keep = min(months, flow.shape[1])
    out[:, :keep] = flow[:, :keep]
    out[:, months] = flow[:, months:].sum(axis=1)
    return out


def simulate_contract(
    spec: MetricSpec,
    cohort: pd.DataFrame,
    tariff: Tariff | None,
    structure: PaymentStructure,
    *,
    months: int = 36,
    draws: int = 10_000,
    seed: int | np.random.Generator | None = None,
    probabilities: pd.DataFrame | None = None,
    segments: Segments | None = None,
    costs: Costs | None = None,
    timing: Mapping[str, int | Sequence[int]] | None = None,
    enrol_months: int = 12,
    service_months: int = 6,
    effects: Mapping[str, float] | None = None,
    quantiles: Sequence[float] = _QUANTILES,
) -> ContractSimulation:
    """Monte Carlo cash flows of a payment-by-results contract.

    Parameters
    ----------
    spec : MetricSpec or None
        Supplies outcome timing (see :func:`timing_from_spec`); ``timing``
        overrides it.
    cohort : DataFrame
        One row per person to be enrolled. Used for defaults: ``segment``
        column for ``segments`` and ``p_<outcome>`` columns for ``probabilities``.
    tariff : Tariff or None
        Price per achievement by segment; ``None`` uses ``structure.tariff``
        (or pays nothing per outcome).
    structure : PaymentStructure
    months : int
        Horizon; later payments are kept in a final "later" column.
    draws : int
    seed : int or Generator
    probabilities : DataFrame, optional
        People x outcomes probabilities of achieving each outcome *with* the
        service (the true effect is an assumption inside them).
    segments : labels or boolean DataFrame, optional
    costs : mapping, Series or number, optional
        Delivery cost per enrolled person by segment, spent evenly over
        ``service_months`` from enrolment. Without it providers' flows are income only.
    timing : mapping, optional
        Outcome -> month after enrolment when it is known and paid, or a
        (first, last) window; the month is then uniform in it. Proven
        reoffending is :data:`REOFFENDING_LAG_MONTHS` (18).
    enrol_months : int
        People enrol at a uniformly random month in ``0 .. enrol_months - 1``.
    service_months : int
        Months over which each person's delivery cost falls.
    effects : mapping, optional
        Outcome -> assumed true effect of the service in percentage points
        (as a proportion: 0.05 = 5 points more likely to achieve), added to
        every person's probability and clipped to [0, 1]. Use it when the
        probabilities are baselines without the service (history rates or a
        difficulty model).
    quantiles : sequence of float
        Levels reported by ``cash_flow`` (the fan chart always shows 5-95%
        and 25-75% bands).

    Returns
    -------
    ContractSimulation

    Notes
    -----
    Fees: ``up_front_share`` of the service fee at month 0; the unconditional
    rest (``1 - up_front_share - at_risk_share``) monthly in arrears over
    months 1..``enrol_months``; the at-risk share when the target is measured
    (last enrolment month plus the target outcome's last payment month) if
    met; the clawback then if missed. Without a target the at-risk share is
    paid when the last outcome is known, times the tariff payments earned
    over those expected (at most 1). The cap applies to cumulative
    outcome-contingent payments (tariff plus at-risk fee). The prime keeps its
    management fee of every payment and passes the rest down: the fee in the
    ``subcontractors`` shares, the outcome money in the ``risk_shares``;
    subcontractors bear delivery costs in their ``subcontractors`` shares.

    Examples
    --------
    >>> from pricing.tariff import Tariff
    >>> from pricing.structure import PaymentStructure
    >>> cohort = pd.DataFrame({"segment": ["a"] * 100, "p_job": 0.3})
    >>> t = Tariff.from_dict({"job": {"a": 1000.0}})
    >>> s = PaymentStructure(service_fee=50_000.0, up_front_share=1.0)
    >>> sim = simulate_contract(None, cohort, t, s, draws=2_000, seed=1, timing={"job": 6})
    >>> bool(abs(sim.total_paid.mean() - 80_000) < 4 * np.sqrt(100 * 0.3 * 0.7 * 1000**2 / 2_000))
    True
    """
    months, draws, enrol_months, service_months = _sizes(months, draws, enrol_months, service_months)
    tariff = tariff if tariff is not None else structure.tariff
    target = structure.target
    # Outcomes to draw: those the tariff pays plus the target's outcome.
    paid = list(tariff.outcomes) if tariff is not None else []
    needed = paid + ([target.outcome] if target is not None and target.outcome not in paid else [])
    probs = _outcome_probabilities(cohort, probabilities, needed, effects)
    n_people = len(probs)
    if segments is None:
        if "segment" not in cohort.columns:
            raise parameter_error(
                "segments", "simulate_contract", "given, or a 'segment' column of the cohort", list(cohort.columns)
            )
        segments = cohort["segment"]
    labels = segment_labels(segments, n_people)
    window = _payment_windows(spec, timing, needed)
    price = tariff.person_prices(labels, paid).to_numpy() if paid and tariff is not None else np.zeros((n_people, 0))
    cost_given = costs is not None
    seg_index = pd.Index(sorted(set(labels)))
    person_cost = (
        _as_segment_series(costs, seg_index, "costs").reindex(labels).to_numpy()
        if costs is not None
        else np.zeros(n_people)
    )
    # An integer seed is passed as it is, so that a memo can recognise the draws it made (see _draw).
    rng = seed if isinstance(seed, np.random.Generator | int) else np.random.default_rng(seed)
    drawn = _draw(
        rng,
        probs,
        needed,
        paid,
        price,
        labels,
        window,
        person_cost if cost_given else None,
        target,
        months,
        draws,
        enrol_months,
    )
    outcome_pay, enrol_cost, counts, target_rate = drawn
    # Analytic expectation and variance of tariff payments (no cap): independent Bernoulli trials.
    paid_probs = probs.to_numpy()[:, : len(paid)]
    expected = float((paid_probs * price).sum())
    variance = float((paid_probs * (1 - paid_probs) * price**2).sum())
    fees, contingent, clawback, target_met = _contingent(
        structure, outcome_pay, target_rate, window, paid, price, expected, months, enrol_months
    )
    # Delivery costs: spent evenly over service_months from enrolment.
    delivery = _fold(_spread(enrol_cost, service_months), months) if cost_given else np.zeros(outcome_pay.shape)
    return ContractSimulation(
        flows=_flows(structure, np.broadcast_to(fees, outcome_pay.shape), contingent, clawback, delivery),
        months=months,
        outcomes=needed,
        outcome_counts=counts,
        target_met=target_met,
        expected_outcome_payments=expected,
        outcome_payments_variance=variance,
        contract_value=structure.service_fee + (structure.outcome_budget or expected),
        providers=structure.providers,
        structure_name=structure.name,
        n_people=n_people,
        seed=seed if not isinstance(seed, np.random.Generator) else None,
        quantile_levels=tuple(quantiles),
        costs_included=cost_given,
        outcome_payments=outcome_pay.sum(axis=1),
    )


def _sizes(months: int, draws: int, enrol_months: int, service_months: int) -> tuple[int, int, int, int]:
    for name, value in (
        ("months", months),
        ("draws", draws),
        ("enrol_months", enrol_months),
        ("service_months", service_months),
    ):
        check_parameter(value, name, "simulate_contract", Interval(int, 1, None))
    if enrol_months >= months:
        raise parameter_error("enrol_months", "simulate_contract", f"less than 'months' ({months})", enrol_months)
    return int(months), int(draws), int(enrol_months), int(service_months)


def _outcome_probabilities(cohort: pd.DataFrame, probabilities, needed: list[str], effects) -> pd.DataFrame:
    """People x outcomes probabilities for the outcomes drawn, shifted by the assumed effects."""
    if probabilities is None:
        missing = [f"p_{o}" for o in needed if f"p_{o}" not in cohort.columns]
        if missing:
            raise parameter_error(
                "probabilities",
                "simulate_contract",
                f"given, or the cohort's probability columns {missing}",
                list(cohort.columns),
            )
        probabilities = cohort[[f"p_{o}" for o in needed]].set_axis(needed, axis=1)
    probs = _probability_frame(probabilities)
    absent = [o for o in needed if o not in probs.columns]
    if absent:
        raise parameter_error(
            "probabilities", "simulate_contract", f"a table with columns for outcomes {absent}", list(probs.columns)
        )
    probs = probs[needed]
    if not effects:
        return probs
    unknown = sorted(set(effects) - set(needed))
    if unknown:
        raise parameter_error("effects", "simulate_contract", f"a mapping of outcomes drawn ({needed})", unknown)
    shift = pd.Series(dict(effects), dtype=float).reindex(needed).fillna(0.0)
    impossible = shift[~shift.between(-1.0, 1.0)]
    if len(impossible):
        raise parameter_error(
            "effects",
            "simulate_contract",
            "points as a proportion, between -1 and 1 (0.05 = 5 points)",
            impossible.to_dict(),
        )
    return (probs + shift).clip(0.0, 1.0)


def _payment_windows(spec: Any, timing, needed: list[str]) -> dict[str, tuple[int, int]]:
    windows = {**timing_from_spec(spec), **dict(timing or {})}
    untimed = [o for o in needed if o not in windows]
    if untimed:
        raise parameter_error(
            "timing",
            "simulate_contract",
            f"a month after enrolment for outcomes {untimed} (reoffending: {REOFFENDING_LAG_MONTHS}), "
            "or a spec with their windows",
            dict(timing or {}),
        )
    return {o: _window(o, windows[o]) for o in needed}


def _draw(rng, probs, needed, paid, price, labels, window, person_cost, target, months, draws, enrol_months):
    """Enrolment, achievements and payment months, summed per month: tariff payments, delivery costs and counts.

    The draws depend on the prices only through which outcomes are paid at all, and a person's price on their
    segment only: the achievements are counted per segment, draw and month, and priced afterwards. With an
    integer seed, an active :class:`ground.memo.Memo` (the contract designer's) gives the same draws (same
    seed, probabilities, segments, costs and timing) again, and only the pricing is done at every edit.
    """
    codes, groups = pd.factorize(labels.to_numpy(), sort=True)
    group_price = price[np.unique(codes, return_index=True)[1], :]
    paying = tuple(bool(price[:, j].any()) for j in range(len(paid)))

    def achieved() -> tuple:
        generator = np.random.default_rng(rng) if isinstance(rng, int) else rng
        return _achievements(
            generator, probs, needed, paying, codes, len(groups), window, person_cost, target, months, draws,
            enrol_months,
        )  # fmt: skip

    if isinstance(rng, int):
        key = (
            "simulated draws", rng, digest(probs.to_numpy(dtype=np.float32)), tuple(needed), paying, digest(codes),
            tuple(sorted(window.items())), digest(person_cost), None if target is None else target.outcome, months,
            draws, enrol_months,
        )  # fmt: skip
        counted, enrol_cost, counts, target_rate = remembered(key, achieved)
    else:
        counted, enrol_cost, counts, target_rate = achieved()
    # Tariff payments by draw and month: each segment's achievements at its price, summed over outcomes.
    outcome_pay = np.einsum("gj,jgdm->dm", group_price, counted)
    return outcome_pay, enrol_cost, counts, target_rate


def _achievements(
    rng, probs, needed, paying, codes, n_groups, window, person_cost, target, months, draws, enrol_months
):
    """Achievements of each paid outcome by segment, draw and month; delivery costs and counts; a block at a time."""
    n_people = len(probs)
    p32 = probs.to_numpy(dtype=np.float32)
    width = months + 1  # last column: after the horizon
    achieved = np.zeros((len(paying), n_groups, draws, width))
    enrol_cost = np.zeros((draws, months))
    counts = np.zeros((draws, len(needed)), dtype=np.int64)
    target_rate = np.zeros(draws) if target is not None else None
    block = max(1, _BLOCK_CELLS // max(n_people, 1))
    for start in range(0, draws, block):
        d = min(block, draws - start)
        rows = slice(start, start + d)
        enrol = rng.integers(0, enrol_months, size=(d, n_people), dtype=np.int16)
        if person_cost is not None:
            flat_enrol = (np.arange(d, dtype=np.int64) * months)[:, None] + enrol
            enrol_cost[rows] = np.bincount(
                flat_enrol.ravel(), weights=np.broadcast_to(person_cost, (d, n_people)).ravel(), minlength=d * months
            ).reshape(d, months)
        for j, outcome in enumerate(needed):
            hit = rng.random((d, n_people), dtype=np.float32) < p32[:, j]
            counts[rows, j] = hit.sum(axis=1)
            if target is not None and outcome == target.outcome:
                target_rate[rows] = counts[rows, j] / n_people
            if j >= len(paying) or not paying[j]:
                continue
            # Work on the achieved cells only: their flat positions give draw and person.
            cell = np.flatnonzero(hit)
            draw, person = np.divmod(cell, n_people)
            lo, hi = window[outcome]
            month = enrol.ravel()[cell].astype(np.int64) + lo
            if hi > lo:
                month += rng.integers(0, hi - lo + 1, size=cell.size)
            np.minimum(month, months, out=month)
            place = (codes[person] * d + draw) * width + month
            achieved[j, :, rows] = np.bincount(place, minlength=n_groups * d * width).reshape(n_groups, d, width)
    return achieved, enrol_cost, counts, target_rate


def _contingent(structure, outcome_pay, target_rate, window, paid, price, expected, months, enrol_months):
    """Fees by month, outcome-contingent payments (tariff, withheld fee, cap) and clawback."""
    draws, width = outcome_pay.shape
    fee = float(structure.service_fee)
    fees = np.zeros(width)
    fees[0] += structure.up_front_share * fee
    fees[1 : enrol_months + 1] += (1 - structure.up_front_share - structure.at_risk_share) * fee / enrol_months
    contingent = outcome_pay
    clawback = np.zeros((draws, width))
    target, target_met = structure.target, None
    if target is not None:
        target_met = target_rate >= target.rate
        measured = min(enrol_months - 1 + window[target.outcome][1], months)
        contingent = outcome_pay.copy()
        contingent[:, measured] += np.where(target_met, structure.at_risk_share * fee, 0.0)
        clawback[:, measured] = np.where(target_met, 0.0, structure.clawback_share * fee)
    elif structure.at_risk_share > 0 and not structure.at_risk_through_tariff:
        # No target: the withheld fee is earned pro rata to tariff payments over those expected.
        if not paid or not price.any():
            raise parameter_error(
                "structure",
                "simulate_contract",
                "a structure whose withheld fee ('at_risk_share' above 0, no 'target') has tariff "
                "prices to be earned through",
                structure.name,
            )
        measured = min(enrol_months - 1 + max(window[o][1] for o in paid), months)
        ratio = np.minimum(outcome_pay.sum(axis=1) / expected, 1.0) if expected > 0 else np.zeros(draws)
        contingent = outcome_pay.copy()
        contingent[:, measured] += structure.at_risk_share * fee * ratio
    cap = structure.cap
    if cap is None and structure.at_risk_through_tariff:
        cap = structure.at_risk_share * fee  # the tariff earns the withheld share, and no more
    if cap is not None:
        capped = np.minimum(np.cumsum(contingent, axis=1), float(cap))
        contingent = np.diff(capped, axis=1, prepend=0.0)
    return fees, contingent, clawback, target_met


def _flows(structure, fees_row, contingent, clawback, delivery) -> dict[str, np.ndarray]:
    """Each party's monthly net cash: payer, investor, prime and subcontractors."""
    flows: dict[str, np.ndarray] = {}
    if structure.investor is not None:
        flows["commissioner"] = -contingent
        flows["investor"] = contingent - fees_row
        fees, outcome_money = fees_row - clawback, np.zeros_like(contingent)
    else:
        flows["commissioner"] = -(fees_row + contingent) + clawback
        fees, outcome_money = fees_row, contingent - clawback
    cost_shares = dict(structure.subcontractors) if structure.subcontractors else {"prime": 1.0}
    # The fee goes down in the fee shares, the outcome money in the risk shares (the same unless the contract says).
    for party, received in structure.split(fees, outcome_money).items():
        flows[party] = received - cost_shares.get(party, 0.0) * delivery
    return flows
