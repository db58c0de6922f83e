"""Funnel plots for comparing providers (Spiegelhalter 2005), not league tables.

Each unit's indicator is plotted against its precision with control limits
around the target that narrow as volume grows. Two indicators:

* **proportion** (``expected=None``): y = O / n, target p0 (the pooled rate
  unless ``target`` is given); precision n; R ~ Binomial(n, p0).
* **ratio** (``expected`` given): y = O / E, the indirectly standardised ratio,
  target 1 (or ``target``); precision E; O ~ Poisson(target * E).

Limits (``method``)
-------------------
* ``"exact"`` (default): quantiles of the discrete distribution, interpolated
  as in Spiegelhalter (2005), Appendix A.1.1, so the limits are smooth in the
  volume: with r_p the smallest r such that F(r) >= p and
  alpha = (F(r_p) - p) / (F(r_p) - F(r_p - 1)), the limit is (r_p - alpha) / n
  (for a ratio, divide by E). Manktelow & Seaton (2012) discuss the same
  discreteness; this module implements the interpolation above, not their
  mid-p variant.
* ``"normal"``: p0 +- z sqrt(p0 (1 - p0) / n); ratio target +- z sqrt(target / E).

Limits are drawn at ``1 - alpha``, by default for alphas 0.05 and 0.002: the 95% and 99.8% limits (two-sided;
z = 1.960 and 3.090). Limits are clipped to the indicator's range (0-1 for a rate, >= 0 for a ratio): the
interpolation can dip below 0 when r_p = 0.

Overdispersion (as R's FunnelPlotR)
-----------------------------------
Standardised z-scores z_i = (y_i - target) / s_i (s_i the null SD at unit i's
volume) are winsorised at the 10th and 90th percentiles (10% at each end),
phi = mean(z_w^2) and, when phi > 1 and ``overdispersion=True``, every limit
is widened multiplicatively about the target by sqrt(phi):
target + sqrt(phi) (limit - target). ``phi * I`` is also compared with a
chi-square on I degrees of freedom (reported as ``dispersion_p``), but the
adjustment follows the phi > 1 rule.

References
----------
Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional
performance. *Statistics in Medicine* 24, 1185-1202.
Manktelow, B. N. & Seaton, S. E. (2012). Specifying the probability
of being "in control" of funnel plots. *PLoS ONE* 7, e45723.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ground.checks import Interval, Options, check_parameter, parameter_error, require_columns
from ground.errors import SchemaError
from validation.screens import flag_values

#: The limits drawn by default, each at ``1 - alpha``: the 95% and 99.8% limits.
ALPHAS = (0.05, 0.002)
METHODS = ("exact", "normal")


def _null_distribution(kind: str, volume: np.ndarray, target: float):
    if kind == "proportion":
        return stats.binom(np.round(volume).astype(int), target)
    return stats.poisson(target * volume)


def exact_limit(p: float, volume, target: float, kind: str = "proportion") -> np.ndarray:
    """Interpolated exact control limit at cumulative probability ``p``.

    Parameters
    ----------
    p : float
        Cumulative probability, e.g. 0.025 or 0.975 for the 95% limits.
    volume : array_like
        n (proportion) or expected count E (ratio).
    target : float
        p0 (proportion) or the target ratio (usually 1).
    kind : {"proportion", "ratio"}

    Returns
    -------
    ndarray
        (r_p - alpha) / volume, Spiegelhalter (2005) Appendix A.1.1.

    Examples
    --------
    >>> float(exact_limit(0.975, 100, 0.3))  # doctest: +ELLIPSIS
    0.38...
    """
    volume = np.asarray(volume, dtype=float)
    dist = _null_distribution(kind, volume, target)
    r = dist.ppf(p)  # smallest r with F(r) >= p
    f_r, f_below = dist.cdf(r), dist.cdf(r - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = np.where(f_r > f_below, (f_r - p) / (f_r - f_below), 0.0)
    return (r - alpha) / volume


def normal_limit(p: float, volume, target: float, kind: str = "proportion") -> np.ndarray:
    """Normal-approximation control limit at cumulative probability ``p``."""
    volume = np.asarray(volume, dtype=float)
    return target + stats.norm.ppf(p) * _null_sd(volume, target, kind)


def _null_sd(volume: np.ndarray, target: float, kind: str) -> np.ndarray:
    var = target * (1 - target) if kind == "proportion" else target
    return np.sqrt(var / volume)


@dataclass(frozen=True)
class Funnel:
    """A funnel plot's numbers.

    Attributes
    ----------
    units : DataFrame
        One row per unit: unit, volume (n or E), observed, value (rate or
        O/E), z (unadjusted), the limits at the unit's volume
        (``low_95``, ``high_95``, ``low_99.8``, ``high_99.8``, after any
        overdispersion adjustment) and ``outside_95`` / ``outside_99.8``
        ("above", "below" or "").
    kind : {"proportion", "ratio"}
    target : float
    method : {"exact", "normal"}
    alphas : tuple of float
        The limits drawn, each at ``1 - alpha`` (0.05 and 0.002: the 95% and 99.8% limits).
    phi : float
        Winsorised dispersion ratio.
    dispersion_p : float
        P(chi2_I >= I * phi).
    adjusted : bool
        Whether the limits were widened by sqrt(phi).
    """

    units: pd.DataFrame = field(repr=False)
    kind: str
    target: float
    method: str
    alphas: tuple[float, ...]
    phi: float
    dispersion_p: float
    adjusted: bool
    unit_name: str = "unit"

    @property
    def inflation(self) -> float:
        return float(np.sqrt(self.phi)) if self.adjusted else 1.0

    def limits(self, volume, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper limits at ``1 - alpha`` for the given volume(s)."""
        return _limits(volume, alpha, self.method, self.kind, self.target, self.inflation)

    def outside(self, alpha: float = ALPHAS[-1]) -> list[str]:
        """Units outside the limits at ``1 - alpha``."""
        col = f"outside_{limit_label(alpha)}"
        return self.units.loc[self.units[col] != "", "unit"].astype(str).tolist()

    def to_frame(self) -> pd.DataFrame:
        return self.units.copy()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target": self.target,
            "method": self.method,
            "alphas": list(self.alphas),
            "phi": self.phi,
            "dispersion_p": self.dispersion_p,
            "adjusted": self.adjusted,
            "outside": {limit_label(a): self.outside(a) for a in self.alphas},
            "units": self.units.astype(object).where(self.units.notna(), None).to_dict(orient="records"),
        }

    def summary(self) -> str:
        what = "rate" if self.kind == "proportion" else "observed/expected"
        lines = [
            f"Funnel plot of {what} by {self.unit_name}: {len(self.units)} units, target {self.target:.4g}, "
            f"{self.method} limits at {', '.join(limit_label(a) + '%' for a in self.alphas)}",
            f"Overdispersion: phi = {self.phi:.3g} (chi-square p = {self.dispersion_p:.3g}); "
            + (f"limits widened by sqrt(phi) = {self.inflation:.3g}" if self.adjusted else "no adjustment"),
        ]
        for a in self.alphas:
            out = self.outside(a)
            lines.append(f"Outside {limit_label(a)}%: " + (", ".join(out) if out else "none"))
        lines += ["", self.units.to_string(index=False, float_format=lambda v: f"{v:.4g}")]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def plot(self, ax=None):
        """The funnel: units as points, limits as lines against volume."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        vol = self.units["volume"].to_numpy(dtype=float)
        grid = np.linspace(max(vol.min() * 0.5, 1.0), vol.max() * 1.1, 200)
        ax.axhline(self.target, color="black", lw=1)
        for a, style in zip(self.alphas, ("--", ":")):
            lo, hi = self.limits(grid, a)
            ax.plot(grid, lo, style, color="grey", label=f"{limit_label(a)}% limits")
            ax.plot(grid, hi, style, color="grey")
        last = f"outside_{limit_label(self.alphas[-1])}"
        colour = np.where(self.units[last] != "", "tab:red", "tab:blue")
        ax.scatter(vol, self.units["value"], c=colour, zorder=3)
        for name, x, y, flag in zip(self.units["unit"], vol, self.units["value"], self.units[last]):
            if flag:
                ax.annotate(str(name), (x, y), fontsize="small", xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel("people" if self.kind == "proportion" else "expected count")
        ax.set_ylabel("rate" if self.kind == "proportion" else "observed / expected")
        ax.legend(fontsize="small")
        return ax


def _limits(
    volume, alpha: float, method: str, kind: str, target: float, inflation: float
) -> tuple[np.ndarray, np.ndarray]:
    limit = exact_limit if method == "exact" else normal_limit
    lo, hi = (limit(p, volume, target, kind) for p in (alpha / 2, 1 - alpha / 2))
    # A limit can never leave the indicator's range: interpolation below r_p = 0
    # and the sqrt(phi) widening can both push it past 0 (or past 1 for a rate).
    top = 1.0 if kind == "proportion" else np.inf
    return (
        np.clip(target + inflation * (lo - target), 0.0, top),
        np.clip(target + inflation * (hi - target), 0.0, top),
    )


def limit_label(alpha: float) -> str:
    """The limits at ``1 - alpha`` named as a percentage, as the columns of :attr:`Funnel.units` are.

    Parameters
    ----------
    alpha : float
        The limits are at ``1 - alpha``.

    Examples
    --------
    >>> limit_label(0.05), limit_label(0.002)
    ('95', '99.8')
    """
    return f"{100 * (1 - alpha):g}"


def funnel(
    data: pd.DataFrame,
    unit: str = "provider_id",
    outcome: str = "reoffended",
    expected: str | None = None,
    target: float | None = None,
    *,
    method: str = "exact",
    alphas: tuple[float, ...] = ALPHAS,
    overdispersion: bool = True,
    winsorise: float = 0.1,
) -> Funnel:
    """Compare units' rates (or observed/expected ratios) with funnel limits.

    Parameters
    ----------
    data : DataFrame
        One row per person.
    unit : str, default "provider_id"
    outcome : str, default "reoffended"
        Bool/0-1 column (proportion), or a count when ``expected`` is given.
    expected : str, optional
        Per-person expected value of ``outcome`` (risk-adjusted); turns the
        indicator into the ratio O/E with Poisson limits.
    target : float, optional
        Proportion: defaults to the pooled rate sum(O)/sum(n). Ratio: 1.
    method : {"exact", "normal"}, default "exact"
    alphas : tuple of float, default (0.05, 0.002)
        Draw limits at ``1 - alpha`` for each: the 95% and 99.8% limits of Spiegelhalter (2005).
    overdispersion : bool, default True
        Widen limits by sqrt(phi) when the winsorised phi exceeds 1.
    winsorise : float, default 0.1
        Share winsorised at each end of the z-scores.

    Returns
    -------
    Funnel

    Examples
    --------
    >>> f = funnel(people, unit="provider_id", outcome="reoffended")  # doctest: +SKIP
    >>> f.outside(0.002)  # doctest: +SKIP
    ['PRV07']
    """
    caller = "funnel"
    check_parameter(method, "method", caller, Options(*METHODS))
    check_parameter(winsorise, "winsorise", caller, Interval(float, 0, 0.5, closed="left"))
    if (
        not isinstance(alphas, (tuple, list))
        or not alphas
        or not all(Interval(float, 0, 1, closed="neither").is_satisfied_by(a) for a in alphas)
    ):
        raise parameter_error("alphas", caller, "a tuple of numbers in (0, 1)", alphas)
    cols = {"unit": unit, "outcome": outcome} | ({"expected": expected} if expected else {})
    require_columns(data, cols, table="data", complete=True)
    kind = "proportion" if expected is None else "ratio"
    # A proportion needs 0/1 outcomes; a ratio (O/E) also takes counts.
    y = (
        flag_values(data, outcome, "outcome", "data", caller)
        if kind == "proportion"
        else data[outcome].to_numpy(dtype=float)
    )
    grouped = (
        pd.DataFrame(
            {
                "unit": data[unit].astype(str).to_numpy(),
                "observed": y,
                "volume": np.ones(len(y)) if expected is None else data[expected].to_numpy(dtype=float),
            }
        )
        .groupby("unit", sort=True)
        .sum()
        .reset_index()
    )
    if (grouped["volume"] <= 0).any():
        bad = grouped.loc[grouped["volume"] <= 0, "unit"].tolist()
        raise SchemaError(f"{caller}: units {bad} have total {expected!r} <= 0; their ratio is undefined", table="data")
    if target is not None:
        limits = (
            Interval(float, 0, 1, closed="neither")
            if kind == "proportion"
            else Interval(float, 0, None, closed="neither")
        )
        check_parameter(target, "target", caller, limits)
    else:
        target = float(grouped["observed"].sum() / grouped["volume"].sum()) if kind == "proportion" else 1.0
    if kind == "proportion" and not 0 < target < 1:
        raise SchemaError(
            f"{caller}: the pooled rate of {outcome!r} is {target!r}; a funnel needs some outcomes of each kind",
            table="data",
        )
    vol = grouped["volume"].to_numpy(dtype=float)
    value = grouped["observed"].to_numpy() / vol
    z = (value - target) / _null_sd(vol, target, kind)
    zw = np.clip(z, *np.quantile(z, [winsorise, 1 - winsorise]))
    phi = float(np.mean(zw**2))
    adjusted = bool(overdispersion and phi > 1)
    table = grouped.assign(value=value, z=z)[["unit", "volume", "observed", "value", "z"]]
    for a in alphas:
        lo, hi = _limits(vol, a, method, kind, target, np.sqrt(phi) if adjusted else 1.0)
        label = limit_label(a)
        table[f"low_{label}"], table[f"high_{label}"] = lo, hi
        table[f"outside_{label}"] = np.where(value > hi, "above", np.where(value < lo, "below", ""))
    return Funnel(
        units=table,
        kind=kind,
        target=target,
        method=method,
        alphas=tuple(alphas),
        phi=phi,
        dispersion_p=float(stats.chi2.sf(len(z) * phi, len(z))),
        adjusted=adjusted,
        unit_name=unit,
    )
