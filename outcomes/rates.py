"""Estimates a user sees, each with its n and a 95% confidence interval."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import proportion_confint


@dataclass(frozen=True)
class Proportion:
    """``k`` of ``n`` with a Wilson score interval (R: ``prop.test(k, n, correct = FALSE)``).

    Examples
    --------
    >>> p = Proportion.of(48, 216)
    >>> round(p.estimate, 4), p.n
    (0.2222, 216)
    """

    k: int
    n: int
    estimate: float
    ci_low: float
    ci_high: float
    alpha: float = 0.05
    method: str = "wilson"

    @classmethod
    def of(cls, k: int, n: int, alpha: float = 0.05) -> Proportion:
        if n == 0:
            return cls(int(k), 0, float("nan"), float("nan"), float("nan"), alpha)
        lo, hi = proportion_confint(k, n, alpha=alpha, method="wilson")
        return cls(int(k), int(n), k / n, float(lo), float(hi), alpha)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        if self.n == 0:
            return "no one measurable (n = 0)"
        level = round(100 * (1 - self.alpha))
        return (
            f"{100 * self.estimate:.1f}% ({self.k}/{self.n}; {level}% CI "
            f"{100 * self.ci_low:.1f}% to {100 * self.ci_high:.1f}%)"
        )


@dataclass(frozen=True)
class Frequency:
    """Events per 100 people with a normal-approximation interval.

    The interval uses the sample SD of the per-person counts, so it stays
    honest when counts are overdispersed (a Poisson interval on the total
    would be too narrow): mean +- z * sd / sqrt(n), times 100. The lower end
    stops at 0: on a few people the normal approximation can reach below it,
    and no one commits fewer than no offences.
    """

    events: int
    n: int
    per_100: float
    ci_low: float
    ci_high: float
    alpha: float = 0.05

    @classmethod
    def of(cls, counts: np.ndarray, alpha: float = 0.05) -> Frequency:
        counts = np.asarray(counts, dtype=float)
        n = counts.size
        if n == 0:
            return cls(0, 0, float("nan"), float("nan"), float("nan"), alpha)
        mean = counts.mean()
        se = counts.std(ddof=1) / np.sqrt(n) if n > 1 else float("nan")
        z = stats.norm.ppf(1 - alpha / 2)
        low = max(0.0, mean - z * se) if n > 1 else float("nan")
        return cls(int(counts.sum()), n, 100 * mean, 100 * low, 100 * (mean + z * se), alpha)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        level = round(100 * (1 - self.alpha))
        return (
            f"{self.per_100:.1f} per 100 ({self.events} in {self.n}; {level}% CI "
            f"{self.ci_low:.1f} to {self.ci_high:.1f})"
        )
