"""Payment probability and CI coverage by simulating the whole evaluation.

Each simulated evaluation draws a treated cohort (from the eligible population)
and a comparison pool (from the national population) with the synthetic
world's covariate model (``cohorts.synthetic``), gives everyone proven
reoffences from the world's negative binomial model with the programme's true
effect for the treated, matches on the propensity score with
:func:`metrics.match`, estimates the effects as ``MatchedComparison.effect``
does, and applies a payment rule. The share of evaluations that pay is the
payment probability (the false-payment chance when the true effect is zero).

Speed. The evaluations are independent, so the expensive parts run for blocks
of evaluations at once: covariates are drawn for a whole block in one call, the
propensity logits of the block are fitted together by a batched Newton method
(the same maximum-likelihood fit ``fit_propensity`` finds), and the effects use
the closed forms of the estimators ``metrics.effects`` fits (weighted least
squares and the Poisson log-linear model of outcome on treatment, with their
cluster-robust variances over matched sets; see :func:`matched_effects`). Only the matching runs per evaluation,
through :func:`metrics.match` with the fitted score as its distance. The tests
check each shortcut against the public path.

True effects. The programme multiplies each treated person's expected
reoffences by a rate ratio ``RR``. For the frequency measure the true effect is
``RR`` itself (the ratio of expected counts, in any sample). For the binary
measure it is the average effect on the treated population of the chance of
any proven reoffence, ``E[p(RR mu) - p(mu)]`` over the eligible population:
the target of the matched difference, whose clustered SE treats the treated
cohort as a sample from that population (the sample's own average,
``sample_effect``, is reported too).

Examples
--------
>>> from studies.payment_simulation import payment_probability
>>> from metrics.thresholds import peterborough_rule
>>> p = payment_probability(1.0, peterborough_rule(), n_treated=200, ratio=1, draws=40, seed=1)
>>> 0 <= p.probability <= 1
True
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from cohorts.synthetic import DISPERSION, chance_of_reoffending, draw_covariates, expected_reoffences
from ground.checks import Interval, check_parameter, parameter_error
from ground.errors import ConvergenceError
from ground.tables import BASELINE_COVARIATES
from ground.tolerance import at_least
from metrics.matching import match
from metrics.power import Measure
from metrics.propensity import design_matrix
from metrics.thresholds import Contrast, PaymentRule, peterborough, peterborough_rule

#: Baseline covariates the simulated evaluations match on: everything the
#: outcome model uses. Ethnicity is left out: it does not enter the outcome
#: model, and its rarest level (2%) is often absent from a small treated
#: cohort, which separates the propensity logit.
MATCHING_COVARIATES = [c for c in BASELINE_COVARIATES if c != "ethnicity"]
_REFERENCE_SIZE = 400_000
_REFERENCE_SEED = 20_260_601


@lru_cache(maxsize=4)
def _reference_mu() -> np.ndarray:
    """Expected reoffences of a large fixed sample of the eligible population (for true effects)."""
    return expected_reoffences(draw_covariates(_REFERENCE_SIZE, np.random.default_rng(_REFERENCE_SEED), "eligible"))


@dataclass(frozen=True)
class OutcomeModel:
    """How simulated outcomes are generated: a scale on ``mu`` and the programme's rate ratio.

    Attributes
    ----------
    scale : float
        Multiplies every expected count so the treated cohort's rate without
        the programme is ``base_rate``.
    rate_ratio : float
        The programme's multiplier on the treated's expected reoffences.
    base_rate : float
        Treated population's rate without the programme (binary: chance of any
        proven reoffence; frequency: mean count).
    true_effect : float
        Difference in rates (binary) or rate ratio (frequency).
    measure : {"binary", "frequency"}
    """

    scale: float
    rate_ratio: float
    base_rate: float
    true_effect: float
    measure: Measure

    @classmethod
    def build(cls, measure: Measure, true_effect: float, base_rate: float | None = None) -> OutcomeModel:
        """Solve for the scale and rate ratio that give ``base_rate`` and ``true_effect``."""
        if measure not in ("binary", "frequency"):
            raise parameter_error("measure", "OutcomeModel.build", "'binary' or 'frequency'", measure)
        mu = _reference_mu()
        if base_rate is None:
            scale = 1.0
        elif measure == "frequency":
            _positive("base_rate", base_rate)
            scale = base_rate / mu.mean()
        else:
            _between("base_rate", base_rate, 0.0, 1.0)
            scale = optimize.brentq(lambda s: chance_of_reoffending(s * mu).mean() - base_rate, 1e-6, 1e3, xtol=1e-13)
        base = float((scale * mu).mean() if measure == "frequency" else chance_of_reoffending(scale * mu).mean())
        if measure == "frequency":
            _positive("true_effect", true_effect)
            ratio = float(true_effect)
        else:
            _between(
                "true_effect",
                true_effect,
                -base,
                1 - base,
                f"a difference keeping the rate in (0, 1) (base {base:.4f})",
            )
            if true_effect == 0:
                ratio = 1.0
            else:

                def gap(r: float) -> float:
                    treated = chance_of_reoffending(r * scale * mu)
                    return (treated - chance_of_reoffending(scale * mu)).mean() - true_effect

                ratio = optimize.brentq(gap, 1e-8, 1e4, xtol=1e-13)
        return cls(float(scale), ratio, base, float(true_effect), measure)


@dataclass(frozen=True)
class MatchedEffectDraws:
    """Matched-comparison effects from simulated evaluations, one row per evaluation.

    Attributes
    ----------
    frame : pandas.DataFrame
        ``difference``, ``difference_se``, ``difference_ci_low``,
        ``difference_ci_high`` (binary rate, CI from t with N - 2 df, as
        ``Effect``); ``log_ratio``, ``log_ratio_se``, ``ratio_ci_low``,
        ``ratio_ci_high`` (frequency, rate ratio CI from the normal);
        ``mean_treated_binary``, ``mean_control_binary``, ``mean_treated_count``,
        ``mean_control_count``, ``n_treated``, ``n_control``, ``sample_effect``
        (binary ATT of the cohort drawn), ``cohort`` and ``draw``.
    world_binary, world_frequency : OutcomeModel
        The true effects on the two measures (same programme).
    """

    frame: pd.DataFrame
    world_binary: OutcomeModel
    world_frequency: OutcomeModel

    def comparisons(self, measure: Measure) -> list[Contrast]:
        """Each evaluation as a :class:`Contrast` of ``measure``."""
        f = self.frame
        if measure == "binary":
            cols = ("mean_treated_binary", "mean_control_binary", "difference_se", "log_ratio_binary_se")
        else:
            cols = ("mean_treated_count", "mean_control_count", "difference_count_se", "log_ratio_se")
        return [
            Contrast(measure, r[cols[0]], r[cols[1]], r["n_treated"], r["n_control"], r[cols[2]], r[cols[3]])
            for _, r in f.iterrows()
        ]

    def coverage(self) -> pd.DataFrame:
        """Share of 95% CIs that cover the true effect, per measure, with its Monte Carlo SE."""
        f = self.frame
        rows = []
        checks = [
            (
                "binary",
                "population ATT",
                self.world_binary.true_effect,
                (f["difference_ci_low"] <= self.world_binary.true_effect)
                & (self.world_binary.true_effect <= f["difference_ci_high"]),
            ),
            (
                "binary",
                "sample ATT",
                float(f["sample_effect"].mean()),
                (f["difference_ci_low"] <= f["sample_effect"]) & (f["sample_effect"] <= f["difference_ci_high"]),
            ),
            (
                "frequency",
                "rate ratio",
                self.world_frequency.true_effect,
                (f["ratio_ci_low"] <= self.world_frequency.true_effect)
                & (self.world_frequency.true_effect <= f["ratio_ci_high"]),
            ),
        ]
        for measure, target, truth, covered in checks:
            share = float(covered.mean())
            est = f["difference"] if measure == "binary" else np.exp(f["log_ratio"])
            rows.append(
                {
                    "measure": measure,
                    "target": target,
                    "true_effect": truth,
                    "mean_estimate": float(est.mean()),
                    "coverage": share,
                    "mc_se": math.sqrt(share * (1 - share) / len(f)),
                    "replications": len(f),
                }
            )
        return pd.DataFrame(rows)


def simulate_matched_effects(
    true_effect: float,
    measure: Measure = "frequency",
    *,
    n_treated: int = 200,
    ratio: int = 1,
    pool_size: int | None = None,
    base_rate: float | None = None,
    cohorts: int = 1,
    draws: int = 200,
    seed: int | None = None,
    block: int = 50,
) -> MatchedEffectDraws:
    """Run ``draws`` simulated evaluations (each of ``cohorts`` cohorts) and return their effects.

    Parameters
    ----------
    true_effect : float
        Difference in the binary rate (``measure="binary"``) or rate ratio
        (``measure="frequency"``) the programme causes; the other measure's
        effect follows from the same rate ratio.
    measure : {"binary", "frequency"}
        The measure ``true_effect`` and ``base_rate`` are stated on.
    n_treated : int
        Treated cohort size.
    ratio : int
        Controls matched to each treated person (without replacement).
    pool_size : int, optional
        Comparison pool per cohort; default ``10 * ratio * n_treated``.
    base_rate : float, optional
        Treated population's rate without the programme (default: the world's).
    cohorts : int
        Cohorts per evaluation (e.g. 2 for the Peterborough pooled rule).
    draws : int
        Simulated evaluations.
    seed : int, optional
        Seed for numpy's ``default_rng``.
    block : int
        Evaluations generated and fitted together (memory grows with it).

    Returns
    -------
    MatchedEffectDraws
        One row per cohort per evaluation; ``coverage()`` gives the CI coverage.

    Examples
    --------
    >>> sim = simulate_matched_effects(0.85, n_treated=100, pool_size=1_000, draws=20, seed=2)
    >>> sim.coverage()["measure"].tolist()
    ['binary', 'binary', 'frequency']
    """
    for name, value in (
        ("n_treated", n_treated),
        ("ratio", ratio),
        ("cohorts", cohorts),
        ("draws", draws),
        ("block", block),
    ):
        if int(value) != value or value < 1:
            raise parameter_error(name, "simulate_matched_effects", "a whole number >= 1", value)
    pool = int(pool_size if pool_size is not None else 10 * ratio * n_treated)
    if pool < ratio * n_treated:
        raise parameter_error(
            "pool_size", "simulate_matched_effects",
            f"at least ratio * n_treated = {ratio * n_treated}, so that everyone can be matched without replacement",
            pool,
        )  # fmt: skip
    world = OutcomeModel.build(measure, true_effect, base_rate)
    rng = np.random.default_rng(seed)
    runs = draws * cohorts
    frames = [_block(rng, min(block, runs - start), n_treated, pool, ratio, world) for start in range(0, runs, block)]
    frame = pd.concat(frames, ignore_index=True)
    frame["draw"] = np.repeat(np.arange(draws), cohorts)
    frame["cohort"] = np.tile(np.arange(1, cohorts + 1), draws)
    mu = _reference_mu() * world.scale
    base_binary = float(chance_of_reoffending(mu).mean())
    binary = OutcomeModel(
        world.scale,
        world.rate_ratio,
        base_binary,
        float((chance_of_reoffending(world.rate_ratio * mu) - chance_of_reoffending(mu)).mean()),
        "binary",
    )
    frequency = OutcomeModel(world.scale, world.rate_ratio, float(mu.mean()), world.rate_ratio, "frequency")
    return MatchedEffectDraws(frame, binary, frequency)


def _block(rng: np.random.Generator, runs: int, n_t: int, n_pool: int, ratio: int, world: OutcomeModel) -> pd.DataFrame:
    """``runs`` evaluations: draw, fit the propensity logits together, match each, estimate."""
    treated_cov = draw_covariates(runs * n_t, rng, "eligible")
    pool_cov = draw_covariates(runs * n_pool, rng, "pool")
    X_t, _, _ = design_matrix(treated_cov, MATCHING_COVARIATES)
    X_p, _, _ = design_matrix(pool_cov, MATCHING_COVARIATES)
    X = np.concatenate([X_t.reshape(runs, n_t, -1), X_p.reshape(runs, n_pool, -1)], axis=1)
    treated = np.r_[np.ones(n_t, bool), np.zeros(n_pool, bool)]
    probability = batched_logit(X, treated)
    mu0 = world.scale * np.concatenate(
        [expected_reoffences(treated_cov).reshape(runs, n_t), expected_reoffences(pool_cov).reshape(runs, n_pool)],
        axis=1,
    )
    mu = mu0 * np.where(treated, world.rate_ratio, 1.0)
    counts = rng.poisson(mu * rng.gamma(DISPERSION, 1.0 / DISPERSION, mu.shape))
    sample_effect = (chance_of_reoffending(mu[:, :n_t]) - chance_of_reoffending(mu0[:, :n_t])).mean(axis=1)
    rows = []
    for r in range(runs):
        m = match(
            pd.DataFrame({"treated": treated, "distance": probability[r]}), "treated", distance="distance", ratio=ratio
        )
        rows.append(matched_effects(counts[r], treated, m.weight_array, m.subclass_array))
    frame = pd.DataFrame(rows)
    frame["sample_effect"] = sample_effect
    return frame


def batched_logit(X: np.ndarray, treated: np.ndarray, *, tol: float = 1e-10, max_iter: int = 50) -> np.ndarray:
    """Fitted probabilities of logistic regressions of ``treated`` on ``X[r]`` for every ``r`` at once.

    Newton's method on the stacked problems (``X`` of shape runs x n x p), the
    maximum-likelihood fit ``fit_propensity`` finds with statsmodels.

    Raises
    ------
    ConvergenceError
        When a fit has not converged after ``max_iter`` steps (e.g. separation).
    """
    y = treated.astype(float)
    beta = np.zeros(X.shape[::2])
    for _ in range(max_iter):
        p = special.expit(np.einsum("rnp,rp->rn", X, beta))
        grad = np.einsum("rnp,rn->rp", X, y - p)
        hess = np.matmul(X.transpose(0, 2, 1), X * (p * (1 - p))[:, :, None])
        step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        beta += step
        if np.all(np.abs(step) <= tol * (1 + np.abs(beta))):
            return special.expit(np.einsum("rnp,rp->rn", X, beta))
    raise ConvergenceError(
        f"The batched propensity logits did not converge in {max_iter} Newton steps "
        f"(largest step {np.abs(step).max():.3g}); a simulated cohort may be separated."
    )


def matched_effects(
    counts: np.ndarray, treated: np.ndarray, weights: np.ndarray, subclass: np.ndarray, alpha: float = 0.05
) -> dict:
    """Binary and frequency effects of one matched sample, as ``MatchedComparison.effect`` gives them.

    Matching without replacement: weighted group means, and cluster-robust
    variances over matched sets: for differences statsmodels' ``cov_type="cluster"``
    with its small-sample factor ``G/(G-1) * (N-1)/(N-K)``, K = 2, and a t interval
    with N - 2 df; for the log rate ratio the Poisson model's sandwich with
    ``G/(G-1)`` (R's ``sandwich::vcovCL``) and a normal interval.
    """
    keep = weights > 0
    y_count = counts[keep].astype(float)
    y_bin = (y_count > 0).astype(float)
    t, w, g = treated[keep], weights[keep], pd.factorize(subclass[keep])[0]
    n, groups = t.size, g.max() + 1
    w_t, w_c = w[t].sum(), w[~t].sum()

    def cluster_var(score: np.ndarray, linear: bool) -> float:
        # Least squares: statsmodels' G/(G-1) * (N-1)/(N-K); the Poisson model: sandwich's vcovCL, G/(G-1).
        adj = groups / (groups - 1) * ((n - 1) / (n - 2) if linear else 1.0)
        return adj * float((np.bincount(g, weights=score, minlength=groups) ** 2).sum())

    out: dict[str, float] = {"n_treated": int(t.sum()), "n_control": int((~t).sum())}
    for name, y in (("binary", y_bin), ("count", y_count)):
        m_t, m_c = float((w * y)[t].sum() / w_t), float((w * y)[~t].sum() / w_c)
        resid = y - np.where(t, m_t, m_c)
        diff_score = w * resid * np.where(t, 1 / w_t, -1 / w_c)
        out[f"mean_treated_{name}"], out[f"mean_control_{name}"] = m_t, m_c
        se_diff = math.sqrt(cluster_var(diff_score, linear=True))
        # Poisson log-linear model: the score of the log ratio divides by the fitted totals.
        log_score = w * resid * np.where(t, 1 / (w_t * m_t), -1 / (w_c * m_c)) if m_t > 0 and m_c > 0 else None
        se_log = math.nan if log_score is None else math.sqrt(cluster_var(log_score, linear=False))
        if name == "binary":
            q = stats.t.ppf(1 - alpha / 2, n - 2)
            out.update(
                difference=m_t - m_c,
                difference_se=se_diff,
                difference_ci_low=m_t - m_c - q * se_diff,
                difference_ci_high=m_t - m_c + q * se_diff,
                log_ratio_binary_se=se_log,
            )
        else:
            z = stats.norm.ppf(1 - alpha / 2)
            log_ratio = math.log(m_t / m_c) if m_t > 0 and m_c > 0 else math.nan
            out.update(
                log_ratio=log_ratio,
                log_ratio_se=se_log,
                ratio_ci_low=math.exp(log_ratio - z * se_log),
                ratio_ci_high=math.exp(log_ratio + z * se_log),
                difference_count_se=se_diff,
            )
    return out


@dataclass(frozen=True)
class PaymentProbability:
    """Chance a payment rule pays, from simulated evaluations.

    Attributes
    ----------
    probability : float
        Share of simulated evaluations in which the rule paid.
    mc_se : float
        Its Monte Carlo standard error.
    draws : int
    analytic : float
        The chance the rule itself reports (``PaymentRule.chance``, the normal
        approximation at each evaluation's own SE), averaged over the simulated
        evaluations; ``analytic_sd`` is its spread between evaluations.
    rule : str
    true_effect : float
    measure : str
    n_treated, ratio, cohorts : int
    base_rate : float
    """

    probability: float
    mc_se: float
    draws: int
    analytic: float
    analytic_sd: float
    rule: str
    true_effect: float
    measure: str
    n_treated: int
    ratio: int
    cohorts: int
    base_rate: float

    def to_dict(self) -> dict:
        """Plain-Python dictionary."""
        return asdict(self)

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame."""
        return pd.DataFrame([self.to_dict()])

    def summary(self) -> str:
        """One sentence."""
        return (
            f"{self.rule}: pays in {self.probability:.1%} of {self.draws:,} simulated evaluations "
            f"(MC SE {self.mc_se:.1%}; the rule's own normal approximation says {self.analytic:.1%} on "
            f"average) at a true effect of "
            f"{self.true_effect:g} ({self.measure}; {self.cohorts} cohort(s) of {self.n_treated:,}, "
            f"1:{self.ratio} matching, base rate {self.base_rate:.3g})"
        )


def payment_probability(
    true_effect: float,
    test: PaymentRule | str = "peterborough",
    n_treated: int = 500,
    ratio: int = 1,
    base_rate: float | None = None,
    *,
    pool_size: int | None = None,
    cohorts: int = 1,
    pooled: float | None = None,
    draws: int = 200,
    seed: int | None = None,
) -> PaymentProbability:
    """Chance that a payment rule pays when the programme's true effect is ``true_effect``.

    Simulates ``draws`` whole evaluations (see the module docstring): synthetic
    cohorts, matching with :func:`metrics.match`, the matched-comparison
    effects, the rule.

    Parameters
    ----------
    true_effect : float
        Rate ratio for a frequency rule (1.0: no effect), difference in the
        binary rate for a binary rule (0.0: no effect).
    test : PaymentRule or "peterborough"
        The rule (``metrics.thresholds``). ``"peterborough"`` is the per-cohort
        10% rule; with ``cohorts > 1`` and ``pooled`` set, the evaluation pays
        when any cohort meets the rule or the size-weighted mean reduction
        reaches ``pooled``. Points rules (Doncaster) are applied to the matched
        comparison here.
    n_treated, ratio, base_rate, pool_size, cohorts, draws, seed
        See :func:`simulate_matched_effects`.
    pooled : float, optional
        Pooled threshold on the reduction over cohorts (Peterborough: 0.075).

    Returns
    -------
    PaymentProbability
    """
    rule = peterborough_rule() if isinstance(test, str) and test == "peterborough" else test
    if not isinstance(rule, PaymentRule):
        raise parameter_error("test", "payment_probability", "a PaymentRule or 'peterborough'", test)
    measure = rule.measure or "frequency"
    sim = simulate_matched_effects(
        true_effect,
        measure,
        n_treated=n_treated,
        ratio=ratio,
        pool_size=pool_size,
        base_rate=base_rate,
        cohorts=cohorts,
        draws=draws,
        seed=seed,
    )
    f = sim.frame
    if measure == "frequency":
        stat = f["log_ratio"] if rule.scale == "relative" else f["mean_treated_count"] - f["mean_control_count"]
        se = f["log_ratio_se"] if rule.scale == "relative" else f["difference_count_se"]
    else:
        log_ratio = pd.Series(np.log(f["mean_treated_binary"] / f["mean_control_binary"]), index=f.index)
        stat = log_ratio if rule.scale == "relative" else f["difference"]
        se = f["log_ratio_binary_se"] if rule.scale == "relative" else f["difference_se"]
    met = pd.Series(rule.met_statistic(stat.to_numpy(), se.to_numpy()), index=f.index).groupby(f["draw"]).any()
    comparisons = sim.comparisons(measure)
    world = sim.world_binary if measure == "binary" else sim.world_frequency
    if pooled is not None:
        reduction = (1 - np.exp(f["log_ratio"])).groupby(f["draw"]).mean()  # equal cohort sizes: equal weights
        met = met | at_least(reduction, pooled)
        reported = [
            float(
                peterborough(
                    comparisons[d * cohorts : (d + 1) * cohorts],
                    per_cohort=rule.at_least,
                    pooled=pooled,
                    true_effect=world.true_effect,
                ).payment_probability
                or 0.0  # given a true effect, peterborough always gives its payment probability
            )
            for d in range(draws)
        ]
    else:
        reported = [float(rule.chance(c, world.true_effect)) for c in comparisons]
    share = float(met.mean())
    return PaymentProbability(
        probability=share,
        mc_se=math.sqrt(share * (1 - share) / draws),
        draws=int(draws),
        analytic=float(np.mean(reported)),
        analytic_sd=float(np.std(reported)),
        rule=rule.name,
        true_effect=float(world.true_effect),
        measure=measure,
        n_treated=int(n_treated),
        ratio=int(ratio),
        cohorts=int(cohorts),
        base_rate=world.base_rate,
    )


def _positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise parameter_error(name, "OutcomeModel.build", "> 0", value)


def _between(name: str, value: float, low: float, high: float, what: str | None = None) -> None:
    if not low < value < high:
        raise parameter_error(name, "OutcomeModel.build", what or f"strictly between {low:g} and {high:g}", value)


#: Outcome models of the coverage study: name -> (kind, description).
COVERAGE_OUTCOMES = {
    "homoskedastic": ("mean", "y = 1 + x1 + 0.5 x2 - 0.5 x3 + 0.5 x4 + 1.0 t + N(0, 1)"),
    "heteroskedastic": ("mean", "as homoskedastic, noise SD 0.4 + 0.8 |x1|"),
    "heterogeneous": ("mean", "effect 1.0 + 0.5 x1 (the population ATT is 1.0 + 0.5 E[x1 | treated])"),
    "binary": ("binary", "P(y = 1) = expit(-1 + 0.6 x1 + 0.4 x2 - 0.3 x3 + 0.3 x4 - 0.5 t)"),
}
#: Matching designs of the coverage study: name -> match() options.
COVERAGE_DESIGNS: dict[str, dict[str, Any]] = {
    "1:1 without replacement": {"ratio": 1, "replace": False},
    "1:1 without replacement, caliper 0.2": {"ratio": 1, "replace": False, "caliper": 0.2},
    "1:3 with replacement": {"ratio": 3, "replace": True},
    "1:3 with replacement, caliper 0.2": {"ratio": 3, "replace": True, "caliper": 0.2},
}
_SHIFT = np.array([0.5, 0.3, 0.0])  # treated covariate means (controls 0); x4 ~ Bernoulli(0.3 controls, 0.45 treated)


def _coverage_sample(rng: np.random.Generator, n_t: int, n_c: int) -> pd.DataFrame:
    """Treated and controls from shifted normal covariates (so the true propensity logit is
    linear in them), with every outcome of :data:`COVERAGE_OUTCOMES`."""
    n = n_t + n_c
    t = np.r_[np.ones(n_t, dtype=bool), np.zeros(n_c, dtype=bool)]
    x = rng.normal(size=(n, 3)) + np.where(t[:, None], _SHIFT, 0.0)
    x4 = (rng.random(n) < np.where(t, 0.45, 0.3)).astype(float)
    base = 1 + x[:, 0] + 0.5 * x[:, 1] - 0.5 * x[:, 2] + 0.5 * x4
    noise = rng.normal(size=n)
    frame = pd.DataFrame({"t": t.astype(int), "x1": x[:, 0], "x2": x[:, 1], "x3": x[:, 2], "x4": x4})
    frame["homoskedastic"] = base + 1.0 * t + noise
    frame["heteroskedastic"] = base + 1.0 * t + (0.4 + 0.8 * np.abs(x[:, 0])) * noise
    frame["heterogeneous"] = base + (1.0 + 0.5 * x[:, 0]) * t + noise
    eta = -1 + 0.6 * x[:, 0] + 0.4 * x[:, 1] - 0.3 * x[:, 2] + 0.3 * x4
    frame["binary"] = (rng.random(n) < special.expit(eta - 0.5 * t)).astype(float)
    return frame


def _coverage_truths() -> dict[str, float]:
    """Population effects on the treated of each outcome model (the binary one by a large seeded sample)."""
    rng = np.random.default_rng(_REFERENCE_SEED)
    x = rng.normal(size=(2_000_000, 3)) + _SHIFT
    x4 = (rng.random(len(x)) < 0.45).astype(float)
    eta = -1 + 0.6 * x[:, 0] + 0.4 * x[:, 1] - 0.3 * x[:, 2] + 0.3 * x4
    binary = float(np.mean(special.expit(eta - 0.5) - special.expit(eta)))
    return {"homoskedastic": 1.0, "heteroskedastic": 1.0, "heterogeneous": 1.0 + 0.5 * _SHIFT[0], "binary": binary}


@dataclass(frozen=True)
class CoverageStudy:
    """Coverage of the matched effects' confidence intervals, by design, outcome and standard error.

    Attributes
    ----------
    table : pandas.DataFrame
        ``design``, ``outcome``, ``se`` (the variance estimator), ``default``
        (whether ``effect()`` uses it by default), ``coverage``, ``mc_se``
        (its Monte Carlo SE), ``se_ratio`` (mean estimated SE over the empirical
        SD of the estimates), ``bias``, ``true_effect``, ``replications``.
    """

    table: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        return self.table.to_string(index=False, float_format=lambda v: f"{v:.4f}")


def coverage_study(
    *,
    draws: int = 200,
    n_treated: int = 200,
    pool_size: int = 2_000,
    designs: dict[str, dict] | None = None,
    seed: int | None = None,
    alpha: float = 0.05,
) -> CoverageStudy:
    """Simulate matched evaluations and measure how often each CI covers the true effect.

    Every replication draws a sample (:data:`COVERAGE_OUTCOMES` describes the
    outcomes), fits the propensity model, matches with :func:`metrics.match` in
    each design of :data:`COVERAGE_DESIGNS` (calipers on the logit), and
    estimates each outcome's effect with each applicable standard error through
    the public ``MatchedComparison.effect``.

    Examples
    --------
    >>> study = coverage_study(draws=4, n_treated=60, pool_size=400, seed=1)
    >>> sorted(study.table["se"].unique())
    ['abadie_imbens', 'cluster', 'hc3', 'two_way']
    """
    check_parameter(draws, "draws", "coverage_study", Interval(int, 2, None))
    check_parameter(n_treated, "n_treated", "coverage_study", Interval(int, 20, None))
    check_parameter(pool_size, "pool_size", "coverage_study", Interval(int, n_treated, None))
    chosen = COVERAGE_DESIGNS if designs is None else designs
    truths = _coverage_truths()
    rng = np.random.default_rng(seed)
    records = []
    for _ in range(draws):
        sample = _coverage_sample(rng, n_treated, pool_size)
        for name, options in chosen.items():
            m = match(sample, "t", ["x1", "x2", "x3", "x4"], link="linear_logit", **options)
            records += _coverage_records(m, name, options, truths, alpha)
    return CoverageStudy(_coverage_table(pd.DataFrame(records)))


def _coverage_records(m, design: str, options: dict, truths: dict, alpha: float) -> list[dict]:
    ses = ("two_way", "abadie_imbens", "hc3") if options.get("replace") else ("cluster", "hc3")
    default = m._default_se(True)
    out = []
    for outcome, (kind, _) in COVERAGE_OUTCOMES.items():
        for se in ses:
            e = m.effect(outcome, kind, se=se, alpha=alpha)
            out.append(
                {
                    "design": design, "outcome": outcome, "se": se, "default": se == default,
                    "estimate": e.estimate, "se_value": e.se, "truth": truths[outcome],
                    "covered": e.ci_low <= truths[outcome] <= e.ci_high,
                }
            )  # fmt: skip
    return out


def _coverage_table(records: pd.DataFrame) -> pd.DataFrame:
    g = records.groupby(["design", "outcome", "se"], sort=False)
    table = g.agg(
        default=("default", "first"),
        coverage=("covered", "mean"),
        se_mean=("se_value", "mean"),
        sd_estimate=("estimate", "std"),
        mean_estimate=("estimate", "mean"),
        true_effect=("truth", "first"),
        replications=("covered", "size"),
    ).reset_index()
    table["mc_se"] = np.sqrt(table["coverage"] * (1 - table["coverage"]) / table["replications"])
    table["se_ratio"] = table["se_mean"] / table["sd_estimate"]
    table["bias"] = table["mean_estimate"] - table["true_effect"]
    cols = ["design", "outcome", "se", "default", "coverage", "mc_se", "se_ratio", "bias", "true_effect"]
    return table[cols + ["replications"]]
