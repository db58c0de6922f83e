"""Time to first reoffence: Kaplan-Meier curves and the robust variance of a Cox model.

statsmodels' ``PHReg`` fits the Cox model (Efron ties). Its robust covariance uses
Breslow-type score residuals even when the fit uses Efron's method, so it differs
slightly from R's ``coxph(..., robust = TRUE)``; :func:`cox_robust_covariance`
computes the sandwich from Efron score residuals, as R's ``survival`` does
(``residuals(fit, type = "score")``), optionally summed within clusters.
``PHReg`` takes no case weights, so matched samples with unequal weights (1:k,
or with replacement) are fitted by :func:`cox_fit`, the same partial likelihood
with R's weighting.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ground.errors import ConvergenceError

__all__ = ["kaplan_meier", "cox_fit", "cox_robust_covariance", "efron_score_residuals"]


def kaplan_meier(time, event, treated, weights=None) -> pd.DataFrame:
    """Weighted Kaplan-Meier survival per group.

    Returns a DataFrame with group ("treated"/"comparison"), time, at_risk,
    events and survival at each distinct event time.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    treated = np.asarray(treated, dtype=bool)
    w = np.ones(len(time)) if weights is None else np.asarray(weights, dtype=float)
    frames = []
    for name, g in (("treated", treated), ("comparison", ~treated)):
        u, inv = np.unique(time[g], return_inverse=True)
        leaving = np.bincount(inv, weights=w[g], minlength=len(u))
        events = np.bincount(inv, weights=w[g] * event[g], minlength=len(u))
        at_risk = leaving[::-1].cumsum()[::-1]
        keep = events > 0
        surv = np.cumprod(1 - events[keep] / at_risk[keep])
        frames.append(
            pd.DataFrame(
                {"group": name, "time": u[keep], "at_risk": at_risk[keep], "events": events[keep], "survival": surv}
            )
        )
    return pd.concat(frames, ignore_index=True)


class _Efron:
    """Efron's partial likelihood of a Cox model with case weights, as R's
    ``coxph`` defines it: at an event time with d tied events (a count), term
    k = 0..d-1 has risk-set sum S0 - (k/d) E0 (weighted risk of everyone at risk
    minus a share of that of the events) and enters with the events' mean weight.
    """

    def __init__(self, time, event, X, weights):
        self.time = np.asarray(time, dtype=float)
        self.event = np.asarray(event, dtype=float) == 1
        self.X = np.asarray(X, dtype=float)
        self.w = np.ones(len(self.time)) if weights is None else np.asarray(weights, dtype=float)
        self.order = np.argsort(self.time, kind="stable")
        self.event_times = np.unique(self.time[self.event])
        self.first = np.searchsorted(self.time[self.order], self.event_times, side="left")
        self.dead = [np.flatnonzero(self.event & (self.time == t)) for t in self.event_times]

    def _risk_sums(self, wr, values):
        """Sums of wr * values over each event time's risk set (time >= t)."""
        v = (wr[:, None] * values)[self.order]
        return np.cumsum(v[::-1], axis=0)[::-1][self.first]

    def terms(self, params, information=True):
        """Log-likelihood, score and information at ``params``, and per event time
        the sums that score residuals need."""
        X, w = self.X, self.w
        eta = X @ params
        wr = w * np.exp(eta)
        n, p = X.shape
        s0 = self._risk_sums(wr, np.ones((n, 1)))[:, 0]
        s1 = self._risk_sums(wr, X)
        s2 = (
            self._risk_sums(wr, (X[:, :, None] * X[:, None, :]).reshape(n, p * p)).reshape(-1, p, p)
            if information
            else None
        )
        loglik = float(np.sum((w * eta)[self.event]))
        score = (w[self.event, None] * X[self.event]).sum(axis=0)
        info = np.zeros((p, p))
        per_time = {name: np.zeros((len(self.event_times), p)) for name in ("a", "a_own", "xbar")}
        per_time.update(c=np.zeros(len(self.event_times)), c_own=np.zeros(len(self.event_times)))
        for j, dead in enumerate(self.dead):
            d = len(dead)
            mean_w = w[dead].sum() / d
            e0 = wr[dead].sum()
            e1 = wr[dead] @ X[dead]
            k = np.arange(d) / d
            s0k = s0[j] - k * e0
            xbar = (s1[j] - k[:, None] * e1) / s0k[:, None]
            loglik -= mean_w * np.sum(np.log(s0k))
            score -= mean_w * xbar.sum(axis=0)
            if information:
                e2 = np.einsum("i,ij,il->jl", wr[dead], X[dead], X[dead])
                second = (s2[j][None] - k[:, None, None] * e2[None]) / s0k[:, None, None]
                info += mean_w * (second.sum(axis=0) - xbar.T @ xbar)
            per_time["c"][j] = mean_w * np.sum(1 / s0k)
            per_time["a"][j] = mean_w * np.sum(xbar / s0k[:, None], axis=0)
            per_time["c_own"][j] = mean_w * np.sum((1 - k) / s0k)
            per_time["a_own"][j] = mean_w * np.sum((1 - k)[:, None] * xbar / s0k[:, None], axis=0)
            per_time["xbar"][j] = xbar.mean(axis=0)
        return loglik, score, info, per_time

    def score_residuals(self, params) -> np.ndarray:
        """Per unit (unweighted) score residuals U_i with sum_i w_i U_i = score.

        A unit's share of the score: at its own event time (x_i - mean_k xbar_k);
        at every event time at which it is at risk, minus mean_w sum_k
        c_ik r_i (x_i - xbar_k) / S0_k, where c_ik = 1 - k/d for the tied events
        and 1 otherwise, r_i = exp(x_i b).
        """
        _, _, _, pt = self.terms(params, information=False)
        X = self.X
        r = np.exp(X @ params)
        p = X.shape[1]
        cum_c = np.concatenate([[0.0], np.cumsum(pt["c"])])
        cum_a = np.vstack([np.zeros(p), np.cumsum(pt["a"], axis=0)])
        last = np.searchsorted(self.event_times, self.time, side="right")  # event times <= own
        resid = -r[:, None] * (X * cum_c[last][:, None] - cum_a[last])
        own = np.flatnonzero(self.event)
        j = last[own] - 1
        resid[own] += (
            X[own]
            - pt["xbar"][j]
            + r[own, None] * (X[own] * (pt["c"][j] - pt["c_own"][j])[:, None] - (pt["a"][j] - pt["a_own"][j]))
        )
        return resid


def cox_fit(time, event, X, weights=None, *, maxiter: int = 50):
    """Weighted Cox model (Efron ties) by Newton-Raphson: returns (params, covariance).

    For case weights, which statsmodels' ``PHReg`` does not take; agrees with R's
    ``coxph(..., weights = w, ties = "efron")``.
    """
    model = _Efron(time, event, X, weights)
    b = np.zeros(model.X.shape[1])
    loglik = -np.inf
    for _ in range(maxiter):
        new_loglik, score, info, _ = model.terms(b)
        if abs(new_loglik - loglik) < 1e-10 * (1 + abs(new_loglik)):
            return b, np.linalg.inv(info)
        loglik = new_loglik
        b = b + np.linalg.solve(info, score)
    raise ConvergenceError(
        f"The weighted Cox model did not converge in {maxiter} Newton steps (log partial "
        f"likelihood {loglik:.6g}); check for an event group with no events or separation."
    )


def efron_score_residuals(time, event, X, params, weights=None) -> np.ndarray:
    """Score residuals of a Cox model with Efron's tie handling (n x p), as R's
    ``residuals(fit, type = "score")``; see ``_Efron.score_residuals``."""
    return _Efron(time, event, X, weights).score_residuals(np.asarray(params, dtype=float))


def cox_robust_covariance(time, event, X, params, cov_model, groups=None, weights=None) -> np.ndarray:
    """Sandwich covariance cov_model @ (sum over clusters of D_g D_g') @ cov_model
    with D_i = w_i U_i (weighted Efron score residuals), as R's
    ``coxph(..., robust = TRUE)`` (one cluster per unit) or with
    ``cluster = groups``; no small-sample factor."""
    u = efron_score_residuals(time, event, X, params, weights)
    if weights is not None:
        u = u * np.asarray(weights, dtype=float)[:, None]
    if groups is not None:
        g = pd.factorize(np.asarray(groups))[0]
        sums = np.zeros((g.max() + 1, u.shape[1]))
        np.add.at(sums, g, u)
        u = sums
    dfbeta = u @ cov_model
    return dfbeta.T @ dfbeta
