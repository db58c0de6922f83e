"""Tariffs: a price per outcome and segment, and the margins they leave a provider.

A :class:`Tariff` is a table ``price[outcome, segment]`` in pounds per
achievement. Three builders set the prices from a cohort's achievement
probabilities (people x outcomes) and each person's segment:

- :func:`flat`: one price per outcome, whatever the segment (the DWP Work
  Programme habit inside a payment group);
- :func:`by_difficulty`: price rises with a segment's expected cost and falls
  with its expected achievement probability, ``strength`` saying how strongly;
- :func:`incentive_neutral`: prices giving the same expected margin per
  enrolled person in every segment, so no segment is worth creaming or parking.

Segments here are payment groups: each person belongs to exactly one.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import pandas as pd
import tomli_w
from scipy import stats

from ground.checks import parameter_error
from ground.errors import ModelError, ParameterError, SpecError

if TYPE_CHECKING:
    from outcomes.spec import MetricSpec

#: Each person's payment segment: one label per person, or a boolean frame with one column per segment.
Segments: TypeAlias = Sequence[str] | np.ndarray | pd.Series | pd.DataFrame
#: People x outcomes achievement probabilities (a Series for one outcome).
Probabilities: TypeAlias = pd.DataFrame | pd.Series
#: Delivery cost per person: one amount for every segment, or by segment.
Costs: TypeAlias = float | Mapping[str, float] | pd.Series

__all__ = [
    "Margins",
    "Tariff",
    "by_difficulty",
    "flat",
    "incentive_neutral",
    "segment_labels",
]

# Relative tolerance for "shares sum to one" and similar checks on user numbers.
_TOL = 1e-9


def segment_labels(segments: Segments, n: int | None = None) -> pd.Series:
    """Each person's single segment (payment group) as a string Series.

    Parameters
    ----------
    segments : array-like of labels, pandas Series, or boolean DataFrame
        Labels, one per person; or a boolean table (people x segments, as
        ``cohorts.assign`` returns) in which every row has exactly one True.
    n : int, optional
        Expected number of people; a different length is an error.

    Returns
    -------
    pandas.Series of str, positionally aligned with the people.

    Examples
    --------
    >>> segment_labels(["easy", "hard", "easy"]).tolist()
    ['easy', 'hard', 'easy']
    """
    if isinstance(segments, pd.DataFrame):
        flags = segments.astype(bool).to_numpy()
        per_row = flags.sum(axis=1)
        bad = np.flatnonzero(per_row != 1)
        if bad.size:
            raise parameter_error(
                "segments", "segment_labels", "exactly one payment segment per person (a tariff pays by mutually "
                "exclusive groups)", got=f"{per_row[bad[:10]].tolist()} segments for rows {bad[:10].tolist()}"
                + (f" and {bad.size - 10} more rows" if bad.size > 10 else ""),
            )  # fmt: skip
        labels = pd.Series(np.asarray(segments.columns, dtype=object)[flags.argmax(axis=1)])
    else:
        labels = pd.Series(np.asarray(segments, dtype=object))
    missing = np.flatnonzero(labels.isna().to_numpy())
    if missing.size:
        raise parameter_error(
            "segments",
            "segment_labels",
            "a segment for every person",
            got=f"no segment for rows {missing[:10].tolist()}",
        )
    if n is not None and len(labels) != n:
        raise parameter_error("segments", "segment_labels", f"one entry per person ({n})", got=f"{len(labels)}")
    return labels.astype(str).reset_index(drop=True)


def _probability_frame(probabilities: Any) -> pd.DataFrame:
    """People x outcomes probabilities, checked to lie in [0, 1]."""
    if isinstance(probabilities, pd.Series):
        probabilities = probabilities.to_frame()
    if not isinstance(probabilities, pd.DataFrame):
        raise parameter_error(
            "probabilities", "the tariff", "a DataFrame with one column per outcome and one row per person",
            got=type(probabilities).__name__,
        )  # fmt: skip
    values = probabilities.to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 0) | (values > 1)
    if bad.any():
        rows, cols = np.nonzero(bad)
        cells = [f"row {r} column {probabilities.columns[c]!r}" for r, c in zip(rows[:10], cols[:10])]
        raise parameter_error(
            "probabilities", "the tariff", "probabilities in [0, 1]", got=f"values outside that range or missing at "
            f"{', '.join(cells)}" + (f" and {rows.size - 10} more cells" if rows.size > 10 else ""),
        )  # fmt: skip
    frame = pd.DataFrame(values, columns=[str(c) for c in probabilities.columns])
    return frame


def _segment_sums(segments: Any, probabilities: Any) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame]:
    """Per segment: n, sum of p and sum of p(1-p) per outcome (segments x outcomes)."""
    probs = _probability_frame(probabilities)
    labels = segment_labels(segments, len(probs))
    # Sums by segment code with numpy: pandas' groupby costs more than the sums at every edit of the designer.
    codes, names = pd.factorize(labels.to_numpy(), sort=True)
    index = pd.Index(names, name="segment")
    p = probs.to_numpy(dtype=float)

    def by_segment(values: np.ndarray) -> pd.DataFrame:
        sums = [np.bincount(codes, weights=values[:, j], minlength=len(names)) for j in range(values.shape[1])]
        return pd.DataFrame(
            np.column_stack(sums) if sums else np.zeros((len(names), 0)), index=index, columns=probs.columns
        )

    n = pd.Series(np.bincount(codes, minlength=len(names)), index=index, name="count")
    return n, by_segment(p), by_segment(p * (1.0 - p))


def _cell(frame: pd.DataFrame, row: object, column: object) -> float:
    """One number of a table of numbers (pandas' own lookups are typed as any scalar at all)."""
    return float(frame.to_numpy(dtype=float)[frame.index.get_loc(row), frame.columns.get_loc(column)])


def _as_segment_series(values: Costs, segments: pd.Index, name: str) -> pd.Series:
    """A per-segment amount (mapping, Series or scalar) aligned with ``segments``."""
    if isinstance(values, (int, float, np.number)):
        return pd.Series(float(values), index=segments, name=name)
    series = pd.Series(dict(values) if isinstance(values, Mapping) else values, dtype=float)
    series.index = series.index.astype(str)
    missing = [s for s in segments if s not in series.index]
    if missing:
        raise parameter_error(
            name, "the tariff", f"a value for every segment {list(segments)}", got=f"none for {missing}"
        )
    out = series.reindex(segments)
    if not np.isfinite(out.to_numpy()).all() or (out < 0).any():
        raise parameter_error(name, "the tariff", "finite and >= 0 for every segment", out.to_dict())
    out.name = name
    return out


def _outcome_shares(shares: Mapping[str, float] | None, outcomes: pd.Index) -> pd.Series:
    """Share of the budget (or of a segment's income) going to each outcome; sums to 1."""
    if shares is None:
        return pd.Series(1.0 / len(outcomes), index=outcomes)
    series = pd.Series(dict(shares), dtype=float)
    unknown = sorted(set(series.index) - set(outcomes))
    if unknown:
        raise parameter_error("shares", "the tariff", f"outcomes among {list(outcomes)}", unknown)
    series = series.reindex(outcomes).fillna(0.0)
    if (series < 0).any() or abs(series.sum() - 1.0) > _TOL:
        raise parameter_error(
            "shares", "the tariff", "non-negative and summing to 1", got=f"{series.to_dict()} (sum {series.sum():.6g})"
        )
    return series


@dataclass(frozen=True)
class Margins:
    """Expected income, cost and margin per enrolled person, by segment.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per segment, easiest first: ``n``, ``achievement`` (mean
        achievement probability over outcomes), ``income_per_person``,
        ``income_se``, ``cost_per_person``, ``margin_per_person``, ``ci_low``,
        ``ci_high``, ``expected_income`` (segment total).
    easiest, hardest : str
        Segments with the highest and lowest mean achievement probability.
    gap, gap_se, gap_ci_low, gap_ci_high : float
        Margin per person in the easiest segment minus that in the hardest:
        the incentive to cream (positive) or to favour hard cases (negative).
    alpha : float
        1 - confidence level of the intervals.

    Notes
    -----
    Intervals are analytic: each person-outcome is an independent Bernoulli
    trial at its probability, so a segment's income has variance
    ``sum p (1 - p) price**2``. They describe how far this cohort's realised
    income can stray from its expectation, not the error in the
    probabilities themselves.
    """

    table: pd.DataFrame
    easiest: str
    hardest: str
    gap: float
    gap_se: float
    gap_ci_low: float
    gap_ci_high: float
    alpha: float = 0.05
    tariff_method: str = ""

    def to_frame(self) -> pd.DataFrame:
        """The per-segment table (a copy)."""
        return self.table.copy()

    def to_dict(self) -> dict[str, object]:
        """Plain-Python form for JSON."""
        return {
            "tariff": self.tariff_method,
            "alpha": self.alpha,
            "segments": self.table.reset_index().to_dict(orient="records"),
            "easiest": self.easiest,
            "hardest": self.hardest,
            "gap": self.gap,
            "gap_se": self.gap_se,
            "gap_ci": [self.gap_ci_low, self.gap_ci_high],
        }

    def summary(self) -> str:
        """Text table of margins with the easiest-hardest gap."""
        level = f"{100 * (1 - self.alpha):g}%"
        cols = ["n", "achievement", "income_per_person", "cost_per_person", "margin_per_person", "ci_low", "ci_high"]
        lines = [
            f"Margins per enrolled person by segment ({self.tariff_method or 'tariff'}; {level} CI)",
            self.table[cols].round(2).to_string(),
            f"Gap {self.easiest} (easiest) - {self.hardest} (hardest): £{self.gap:,.2f} "
            f"({level} CI £{self.gap_ci_low:,.2f} to £{self.gap_ci_high:,.2f})",
        ]
        return "\n".join(lines)

    def plot(self, ax=None):
        """Bar chart of margin per person by segment (with n) and CI whiskers; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        t = self.table
        err = np.vstack([t["margin_per_person"] - t["ci_low"], t["ci_high"] - t["margin_per_person"]])
        colours = np.where(t["margin_per_person"] < 0, "#c0392b", "#2e86c1")
        labels = [f"{s}\n(n={n:,})" for s, n in zip(t.index.astype(str), t["n"])]
        ax.bar(labels, t["margin_per_person"], yerr=err, color=colours, capsize=3)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_ylabel("expected margin per person (£)")
        ax.set_title(f"Margins by segment: {self.tariff_method} (gap £{self.gap:,.0f})")
        ax.tick_params(axis="x", rotation=30)
        return ax


@dataclass(frozen=True)
class Tariff:
    """Prices in pounds per achievement, one row per outcome and one column per segment.

    Parameters
    ----------
    prices : pandas.DataFrame
        Index: outcome names; columns: segment names; values >= 0.
    method : str
        How the prices were set ("flat", "by_difficulty", ...), for reports.
    budget : float, optional
        The expected total the builder aimed at, when there was one.

    Examples
    --------
    >>> t = Tariff.from_dict({"no_reoffence": {"low": 500.0, "high": 1500.0}, "attachment": 400.0},
    ...                      segments=["low", "high"])
    >>> float(t.price("no_reoffence", "high"))
    1500.0
    """

    prices: pd.DataFrame
    method: str = "given"
    budget: float | None = None
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        prices = self.prices.astype(float)
        prices.index = prices.index.astype(str)
        prices.columns = prices.columns.astype(str)
        prices.index.name, prices.columns.name = "outcome", "segment"
        values = prices.to_numpy()
        if prices.empty or not np.isfinite(values).all() or (values < 0).any():
            raise parameter_error(
                "prices", "Tariff", "a non-empty outcome x segment table of finite prices >= 0", prices.to_dict()
            )
        object.__setattr__(self, "prices", prices)

    @property
    def outcomes(self) -> list[str]:
        return list(self.prices.index)

    @property
    def segments(self) -> list[str]:
        return list(self.prices.columns)

    def price(self, outcome: str, segment: str) -> float:
        """The price of one achievement of ``outcome`` by a person in ``segment``."""
        if outcome not in self.prices.index or segment not in self.prices.columns:
            raise parameter_error(
                "outcome", "Tariff.price", f"an outcome among {self.outcomes} and a segment among {self.segments}",
                got=f"outcome {outcome!r}, segment {segment!r}",
            )  # fmt: skip
        return _cell(self.prices, outcome, segment)

    @classmethod
    def from_dict(
        cls,
        prices: Mapping[str, float | Mapping[str, float]],
        *,
        segments: list[str] | None = None,
        method: str = "given",
        budget: float | None = None,
    ) -> Tariff:
        """Build from ``{outcome: {segment: price}}``; a number applies to every segment.

        ``segments`` lists the segments when every outcome is given as one number.
        """
        named = sorted({s for v in prices.values() if isinstance(v, Mapping) for s in v})
        cols = list(segments) if segments is not None else named
        if not cols:
            raise parameter_error(
                "segments",
                "Tariff.from_dict",
                "the segments' names when every outcome is given as one number",
                segments,
            )
        rows = {}
        for outcome, value in prices.items():
            if isinstance(value, Mapping):
                missing = [s for s in cols if s not in value]
                if missing:
                    raise SpecError(
                        f"The tariff's prices for outcome {outcome!r} must cover every segment {cols}. "
                        f"Got none for {missing}.",
                        key=f"tariff.{outcome}",
                    )
                rows[str(outcome)] = [value[s] for s in cols]
            else:
                rows[str(outcome)] = [value] * len(cols)
        frame = pd.DataFrame.from_dict(rows, orient="index", columns=[str(c) for c in cols])
        return cls(frame, method=method, budget=budget)

    @classmethod
    def from_toml(cls, path: str | Path, *, table: str = "tariff") -> Tariff:
        """Read ``[tariff]`` from a TOML file.

        Each key under ``[tariff]`` is an outcome: a number (same price in
        every segment) or a table ``{segment = price}``; an optional
        ``segments = [...]`` lists the segments.

        Examples
        --------
        .. code-block:: toml

            [tariff]
            segments = ["JSA 18-24", "JSA 25+"]
            attachment = 400
            job_outcome = 1200
            sustainment = {"JSA 18-24" = 2210, "JSA 25+" = 2795}
        """
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as exc:
            raise SpecError(f"Cannot read tariff file {str(path)!r}: {exc}", source=str(path)) from exc
        try:
            return cls.from_toml_string(text, table=table)
        except SpecError as exc:
            raise SpecError(f"{path}: {exc}", key=exc.key, source=str(path), problems=exc.problems) from None

    @classmethod
    def from_spec(cls, spec: MetricSpec) -> Tariff:
        """The tariff in a metric spec's ``[payment.prices]``, one outcome per price key.

        A price is one number or ``{default = ..., <segment> = ...}``; the
        columns are the spec's segments plus ``none`` and ``unknown`` (the
        primary segments ``cohorts.assign`` gives people in no segment or of
        unknown membership), which take the default. A spec without segments
        has the one column ``all`` (see :func:`pricing.inputs.payment_segments`).

        Raises
        ------
        SpecError
            The spec has no prices, or a price table has no ``default`` and
            does not cover every segment.
        """
        prices = dict((getattr(spec, "payment", {}) or {}).get("prices", {}))
        if not prices:
            raise SpecError(
                f"The spec '{getattr(spec, 'name', '')}' has no [payment.prices]; give prices by "
                "price_key or build a tariff (flat, by_difficulty, incentive_neutral).",
                key="payment.prices",
            )
        named = list(getattr(spec, "segments", {}) or {})
        segments = [*named, "none", "unknown"] if named else ["all"]
        table = {}
        for key, value in prices.items():
            by_segment = dict(value) if isinstance(value, Mapping) else {"default": value}
            missing = [s for s in segments if s not in by_segment and "default" not in by_segment]
            if missing:
                raise SpecError(
                    f"The 'payment.prices.{key}' table needs a 'default' or a price for segments {missing}.",
                    key=f"payment.prices.{key}",
                )
            table[key] = {s: float(by_segment.get(s, by_segment.get("default", 0.0))) for s in segments}
        return cls.from_dict(table, segments=segments, method="spec")

    def to_toml(self) -> str:
        """The tariff as a ``[tariff]`` TOML table that :meth:`from_toml` reads back.

        Examples
        --------
        >>> t = Tariff.from_dict({"x": {"a": 1.5, "b c": 2.0}})
        >>> Tariff.from_toml_string(t.to_toml()).prices.equals(t.prices)
        True
        """
        body: dict[str, Any] = {"method": self.method}
        if self.budget is not None:
            body["budget"] = float(self.budget)
        body["segments"] = [str(s) for s in self.segments]
        for outcome in self.outcomes:
            body[str(outcome)] = {str(s): _cell(self.prices, outcome, s) for s in self.segments}
        return tomli_w.dumps({"tariff": body})

    @classmethod
    def from_toml_string(cls, text: str, *, table: str = "tariff") -> Tariff:
        """Read ``[tariff]`` from TOML text (see :meth:`from_toml`)."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(f"The tariff is not valid TOML: {exc}", key=table) from exc
        if table not in data or not isinstance(data[table], Mapping):
            raise SpecError(f"The tariff must have a [{table}] table. Got tables {list(data)}.", key=table)
        body = dict(data[table])
        segments = body.pop("segments", None)
        method = str(body.pop("method", "given"))
        budget = body.pop("budget", None)
        try:
            return cls.from_dict(body, segments=segments, method=method, budget=budget)
        except ParameterError as exc:
            # In a file, a bad price is the file's fault, not an argument's.
            raise SpecError(f"[{table}]: {exc}", key=table) from None

    def _check_covers(self, segments: set[str], outcomes: list[str]) -> None:
        """Raise unless the tariff prices every one of these segments and outcomes."""
        unknown = sorted(segments - set(self.segments))
        if unknown:
            raise parameter_error("segments", "the tariff", f"segments the tariff prices ({self.segments})", unknown)
        unpriced = [o for o in outcomes if o not in self.prices.index]
        if unpriced:
            raise parameter_error(
                "probabilities", "the tariff", f"outcomes the tariff prices ({self.outcomes})",
                got=f"outcomes {unpriced}, which it does not price",
            )  # fmt: skip

    def person_prices(self, segments: Segments, outcomes: list[str] | None = None) -> pd.DataFrame:
        """The price each person would attract per outcome (people x outcomes)."""
        labels = segment_labels(segments)
        outcomes = self.outcomes if outcomes is None else outcomes
        # The distinct labels only: iterating an Arrow-backed column element by element is slow.
        self._check_covers(set(pd.unique(labels)), outcomes)
        codes = pd.Index(self.segments).get_indexer(pd.Index(labels))
        return pd.DataFrame(self.prices.loc[outcomes].to_numpy()[:, codes].T, columns=outcomes)

    def expected_income(self, segments: Segments, probabilities: Probabilities, *, alpha: float = 0.05) -> pd.DataFrame:
        """Expected outcome income per segment with its analytic CI.

        Parameters
        ----------
        segments : labels or boolean DataFrame, one per person
        probabilities : DataFrame
            People x outcomes achievement probabilities; columns must be
            outcomes the tariff prices.
        alpha : float
            1 - confidence level.

        Returns
        -------
        DataFrame indexed by segment: ``n``, ``expected_income`` (total),
        ``se`` (of the total), ``income_per_person``, ``income_se``,
        ``ci_low``/``ci_high`` (per person), ``achievement``.

        Notes
        -----
        Analytic, not Monte Carlo: every person-outcome is an independent
        Bernoulli trial, so the variance of a segment's income is
        ``sum p (1 - p) price**2``. Achievements of different outcomes by one
        person are treated as independent.

        Examples
        --------
        >>> t = Tariff.from_dict({"x": {"a": 100.0}})
        >>> float(t.expected_income(["a", "a"], pd.DataFrame({"x": [0.5, 0.5]}))["expected_income"].iloc[0])
        100.0
        """
        n, sum_p, sum_var = _segment_sums(segments, probabilities)
        self._check_covers(set(n.index), list(sum_p.columns))
        price = self.prices.loc[list(sum_p.columns), list(n.index)].T  # segments x outcomes
        total = (price * sum_p).sum(axis=1)
        se_total = np.sqrt((price**2 * sum_var).sum(axis=1))
        z = stats.norm.ppf(1 - alpha / 2)
        per_person = total / n
        per_se = se_total / n
        return pd.DataFrame(
            {
                "n": n,
                "achievement": (sum_p.div(n, axis=0)).mean(axis=1),
                "expected_income": total,
                "se": se_total,
                "income_per_person": per_person,
                "income_se": per_se,
                "ci_low": per_person - z * per_se,
                "ci_high": per_person + z * per_se,
            }
        )

    def margins(
        self, costs: Costs, segments: Segments, probabilities: Probabilities, *, alpha: float = 0.05
    ) -> Margins:
        """Expected income minus cost per enrolled person, by segment, and the creaming gap.

        Parameters
        ----------
        costs : mapping, Series or number
            Expected delivery cost per enrolled person in each segment (£).
        segments, probabilities : as in :meth:`expected_income`.
        alpha : float
            1 - confidence level.

        Returns
        -------
        Margins

        Examples
        --------
        >>> t = Tariff.from_dict({"x": {"easy": 100.0, "hard": 100.0}})
        >>> m = t.margins({"easy": 40, "hard": 60}, ["easy", "hard"], pd.DataFrame({"x": [0.8, 0.4]}))
        >>> round(m.gap, 6)
        60.0
        """
        income = self.expected_income(segments, probabilities, alpha=alpha)
        cost = _as_segment_series(costs, income.index, "costs")
        margin = income["income_per_person"] - cost
        z = stats.norm.ppf(1 - alpha / 2)
        table = pd.DataFrame(
            {
                "n": income["n"],
                "achievement": income["achievement"],
                "income_per_person": income["income_per_person"],
                "income_se": income["income_se"],
                "cost_per_person": cost,
                "margin_per_person": margin,
                "ci_low": margin - z * income["income_se"],
                "ci_high": margin + z * income["income_se"],
                "expected_income": income["expected_income"],
            }
        )
        # Easiest first; ties broken by name so the order is reproducible.
        table = table.assign(_name=table.index).sort_values(["achievement", "_name"], ascending=[False, True])
        table = table.drop(columns="_name")
        easiest, hardest = str(table.index[0]), str(table.index[-1])
        gap = _cell(table, easiest, "margin_per_person") - _cell(table, hardest, "margin_per_person")
        gap_se = float(np.hypot(_cell(table, easiest, "income_se"), _cell(table, hardest, "income_se")))
        return Margins(
            table=table,
            easiest=easiest,
            hardest=hardest,
            gap=gap,
            gap_se=gap_se,
            gap_ci_low=gap - z * gap_se,
            gap_ci_high=gap + z * gap_se,
            alpha=alpha,
            tariff_method=self.method,
        )

    def to_frame(self) -> pd.DataFrame:
        """The price table (a copy): outcomes x segments."""
        return self.prices.copy()

    def to_dict(self) -> dict[str, object]:
        """Plain-Python form for JSON."""
        return {
            "method": self.method,
            "budget": self.budget,
            "prices": {o: self.prices.loc[o].to_dict() for o in self.outcomes},
        }

    def summary(self) -> str:
        """Text table of prices."""
        head = f"Tariff ({self.method})" + (f", budget £{self.budget:,.0f}" if self.budget is not None else "")
        return head + "\n" + self.prices.round(2).to_string()

    def plot(self, ax=None):
        """Grouped bars: price by segment for each outcome; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        segments = self.segments
        width = 0.8 / len(self.outcomes)
        x = np.arange(len(segments))
        for k, outcome in enumerate(self.outcomes):
            ax.bar(x + k * width, self.prices.loc[outcome], width=width, label=outcome)
        ax.set_xticks(x + width * (len(self.outcomes) - 1) / 2, segments, rotation=30)
        ax.set_ylabel("price per achievement (£)")
        ax.set_title(f"Tariff by segment: {self.method}")
        ax.legend(fontsize="small")
        return ax


def _check_budget(budget: float) -> float:
    budget = float(budget)
    if not np.isfinite(budget) or budget <= 0:
        raise parameter_error("budget", "the tariff", "a finite amount > 0", budget)
    return budget


def flat(
    budget: float, probabilities: Probabilities, *, segments: Segments, shares: Mapping[str, float] | None = None
) -> Tariff:
    """One price per outcome for every segment, with expected total equal to ``budget``.

    ``price[o] = shares[o] * budget / sum_i p[i, o]``.

    Parameters
    ----------
    budget : float
        Expected total outcome payments (£).
    probabilities : DataFrame
        People x outcomes achievement probabilities.
    segments : labels or boolean DataFrame
        Each person's segment.
    shares : mapping, optional
        Share of the budget per outcome (sums to 1); equal shares by default.

    Examples
    --------
    >>> t = flat(300.0, pd.DataFrame({"x": [0.5, 0.25, 0.75]}), segments=["a", "b", "b"])
    >>> t.prices.loc["x"].tolist()
    [200.0, 200.0]
    """
    budget = _check_budget(budget)
    n, sum_p, _ = _segment_sums(segments, probabilities)
    share = _outcome_shares(shares, sum_p.columns)
    expected = sum_p.sum(axis=0)
    impossible = [o for o in share.index if share[o] > 0 and expected[o] <= 0]
    if impossible:
        raise ModelError(
            f"Cannot set a flat price for outcomes {impossible}: no one is expected to achieve them "
            "(sum of probabilities is 0), so no price spends their share of the budget.",
        )
    price = (share * budget / expected.where(expected > 0, 1.0)).where(share > 0, 0.0)
    prices = pd.DataFrame(np.repeat(price.to_numpy()[:, None], len(n), axis=1), index=price.index, columns=n.index)
    return Tariff(prices, method="flat", budget=budget)


def by_difficulty(
    budget: float,
    probabilities: Probabilities,
    *,
    segments: Segments,
    costs: Costs,
    strength: float = 1.0,
    shares: Mapping[str, float] | None = None,
) -> Tariff:
    """Prices rising with each segment's cost and falling with its achievement probability.

    ``price[o, s] ∝ cost[s]**strength / pbar[o, s]**strength``, scaled so that
    each outcome's expected total is ``shares[o] * budget``. ``strength=0`` is
    :func:`flat`; ``strength=1`` makes expected income proportional to cost.

    Parameters
    ----------
    budget : float
        Expected total outcome payments (£).
    probabilities : DataFrame
        People x outcomes achievement probabilities.
    segments : labels or boolean DataFrame
    costs : mapping, Series or number
        Expected delivery cost per enrolled person by segment (£).
    strength : float
        Exponent >= 0.
    shares : mapping, optional
        Share of the budget per outcome; equal by default.

    Examples
    --------
    >>> p = pd.DataFrame({"x": [0.8, 0.4]})
    >>> t = by_difficulty(120.0, p, segments=["easy", "hard"], costs=1.0, strength=1.0)
    >>> [round(v, 6) for v in t.prices.loc["x"]]
    [75.0, 150.0]
    """
    budget = _check_budget(budget)
    strength = float(strength)
    if not np.isfinite(strength) or strength < 0:
        raise parameter_error("strength", "by_difficulty", "a finite number >= 0", strength)
    n, sum_p, _ = _segment_sums(segments, probabilities)
    share = _outcome_shares(shares, sum_p.columns)
    cost = _as_segment_series(costs, n.index, "costs")
    pbar = sum_p.div(n, axis=0)  # segments x outcomes
    if strength > 0:
        zero = [(s, o) for o in pbar.columns if share[o] > 0 for s in pbar.index if _cell(pbar, s, o) <= 0]
        if zero:
            raise ModelError(
                "Cannot price by difficulty: segment/outcome pairs "
                f"{zero} have zero expected achievement, which needs an infinite price. "
                "Merge the segment or drop the outcome.",
            )
        if (cost <= 0).any():
            raise parameter_error("costs", "by_difficulty", "> 0 in every segment when strength > 0", cost.to_dict())
    relative = np.power(cost.to_numpy()[:, None], strength) / np.power(pbar.where(pbar > 0, 1.0), strength)
    relative = pd.DataFrame(relative, index=pbar.index, columns=pbar.columns)
    expected_relative = (relative * sum_p).sum(axis=0)  # per outcome
    impossible = [o for o in share.index if share[o] > 0 and expected_relative[o] <= 0]
    if impossible:
        raise ModelError(
            f"Cannot price outcomes {impossible}: no one is expected to achieve them.",
        )
    scale = (share * budget / expected_relative.where(expected_relative > 0, 1.0)).where(share > 0, 0.0)
    prices = (relative * scale).T
    return Tariff(prices, method=f"by_difficulty(strength={strength:g})", budget=budget)


def incentive_neutral(
    costs: Costs,
    probabilities: Probabilities,
    budget: float,
    *,
    segments: Segments,
    shares: Mapping[str, float] | None = None,
    fixed: Mapping[str, float] | None = None,
) -> Tariff:
    """Prices giving every segment the same expected margin per enrolled person.

    With ``N`` people, ``n[s]`` in segment ``s`` and cost ``c[s]`` per person,
    the common margin is ``m = (budget - sum_s n[s] c[s]) / N``; each
    segment's expected income per person is ``c[s] + m``, split across
    outcomes by ``shares`` and divided by the segment's mean achievement
    probability: ``price[o, s] = shares[o] (c[s] + m) / pbar[o, s]``. The
    expected total is then exactly ``budget``.

    Parameters
    ----------
    costs : mapping, Series or number
        Expected delivery cost per enrolled person by segment (£).
    probabilities : DataFrame
        People x outcomes achievement probabilities.
    budget : float
        Expected total outcome payments (£).
    segments : labels or boolean DataFrame
    shares : mapping, optional
        Share of each segment's income per outcome (over the outcomes not
        ``fixed``); equal by default.
    fixed : mapping, optional
        Outcome -> one price for every segment (e.g. a £400 attachment fee);
        the other outcomes make up the rest of each segment's income.

    Raises
    ------
    SpecError
        If a segment has zero expected achievement of an outcome with a share
        (no finite price can pay it), or if the budget is so low that some
        segment's price would be negative (``budget < sum n c - N min c``,
        or fixed prices alone paying a segment more than its share).

    Examples
    --------
    >>> p = pd.DataFrame({"x": [0.8, 0.4]})
    >>> t = incentive_neutral({"easy": 100, "hard": 300}, p, 600.0, segments=["easy", "hard"])
    >>> [round(v, 6) for v in t.prices.loc["x"]]
    [250.0, 1000.0]
    """
    budget = _check_budget(budget)
    n, sum_p, _ = _segment_sums(segments, probabilities)
    cost = _as_segment_series(costs, n.index, "costs")
    pbar = sum_p.div(n, axis=0)
    fixed_price = pd.Series(dict(fixed or {}), dtype=float)
    unknown = sorted(set(fixed_price.index) - set(pbar.columns))
    if unknown or (fixed_price < 0).any() or len(fixed_price) == len(pbar.columns):
        raise parameter_error(
            "fixed", "incentive_neutral", f"prices >= 0 for some, not all, of the outcomes {list(pbar.columns)}",
            fixed_price.to_dict(),
        )  # fmt: skip
    free = pbar.columns.drop(fixed_price.index)
    share = _outcome_shares(shares, free)
    total_cost = float((n * cost).sum())
    margin = (budget - total_cost) / n.sum()
    income = cost + margin
    rest = income - (pbar[fixed_price.index] * fixed_price).sum(axis=1)
    negative = rest[rest < 0]
    if not negative.empty:
        minimum = total_cost - n.sum() * (cost - (income - rest)).min()
        raise parameter_error(
            "budget", "incentive_neutral", f"at least £{minimum:,.2f} for an incentive-neutral tariff: the common "
            f"margin £{margin:,.2f} per person would need negative prices in segments {list(negative.index)}",
            got=f"£{budget:,.2f}",
        )  # fmt: skip
    needed = pd.DataFrame(np.outer(rest, share), index=pbar.index, columns=free)
    zero = [(s, o) for s in pbar.index for o in free if _cell(needed, s, o) > 0 and _cell(pbar, s, o) <= 0]
    if zero:
        raise ModelError(
            "Cannot set incentive-neutral prices: segment/outcome pairs "
            f"{zero} have zero expected achievement, so no finite price gives them the common margin. "
            "Merge the segment, drop the outcome, or give it a zero share.",
        )
    prices = (needed / pbar[free].where(pbar[free] > 0, 1.0)).where(needed > 0, 0.0)
    for outcome, value in fixed_price.items():
        prices[outcome] = value
    return Tariff(
        prices[list(pbar.columns)].T,
        method="incentive_neutral",
        budget=budget,
        details={"margin_per_person": float(margin), "total_cost": total_cost},
    )
