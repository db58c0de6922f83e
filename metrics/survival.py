"""Time to first reoffence: Kaplan-Meier curves and the robust variance of a Cox model.

statsmodels' ``PHReg`` fits the Cox model (Efron ties). Its robust covariance uses
Breslow-type score residuals even when the fit uses Efron's method, so it differs
slightly from R's ``coxph(..., robust = TRUE)``; :func:`cox_robust_covariance`
computes the sandwich from Efron score residuals, as R's ``survival`` does
(``residuals(fit, type = "score")``), optionally summed within clusters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["kaplan_meier", "cox_robust_covariance", "efron_score_residuals"]


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
        frames.append(pd.DataFrame({"group": name, "time": u[keep], "at_risk": at_risk[keep],
                                    "events": events[keep], "survival": surv}))
    return pd.concat(frames, ignore_index=True)


def efron_score_residuals(time, event, X, params) -> np.ndarray:
    """Score residuals of a Cox model with Efron's tie handling (n x p).

    At an event time with d tied events, Efron's partial likelihood has d terms
    k = 0..d-1 whose risk sets count each of the tied units with weight 1 - k/d.
    A unit's residual is its share of the score: for each event time at which it
    is at risk, its own term (x_i - mean_k) / d if it is one of the events, minus
    r_i w_ik (x_i - xbar_k) / S0_k summed over k. The residuals sum to the score.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float) == 1
    X = np.asarray(X, dtype=float)
    r = np.exp(X @ params)
    n, p = X.shape
    order = np.argsort(time, kind="stable")
    t_sorted = time[order]
    # risk-set sums at each position (everyone with time >= t_sorted[i])
    s0 = np.cumsum(r[order][::-1])[::-1]
    s1 = np.cumsum((r[:, None] * X)[order][::-1], axis=0)[::-1]
    event_times = np.unique(time[event])
    c = np.zeros(len(event_times))            # sum_k 1/S0_k
    a = np.zeros((len(event_times), p))       # sum_k xbar_k/S0_k
    c_own = np.zeros(len(event_times))        # the same with weights 1 - k/d
    a_own = np.zeros((len(event_times), p))
    mean_xbar = np.zeros((len(event_times), p))
    first = np.searchsorted(t_sorted, event_times, side="left")
    for j, (t, i0) in enumerate(zip(event_times, first)):
        dead = event & (time == t)
        d = int(dead.sum())
        e0 = r[dead].sum()
        e1 = (r[dead, None] * X[dead]).sum(axis=0)
        k = np.arange(d) / d
        s0k = s0[i0] - k * e0
        xbar = (s1[i0] - k[:, None] * e1) / s0k[:, None]
        c[j] = np.sum(1 / s0k)
        a[j] = np.sum(xbar / s0k[:, None], axis=0)
        c_own[j] = np.sum((1 - k) / s0k)
        a_own[j] = np.sum((1 - k)[:, None] * xbar / s0k[:, None], axis=0)
        mean_xbar[j] = xbar.mean(axis=0)
    cum_c = np.concatenate([[0.0], np.cumsum(c)])
    cum_a = np.vstack([np.zeros(p), np.cumsum(a, axis=0)])
    last = np.searchsorted(event_times, time, side="right")  # event times <= own time
    resid = -r[:, None] * (X * cum_c[last][:, None] - cum_a[last])
    own = np.flatnonzero(event)
    j = last[own] - 1
    resid[own] += (X[own] - mean_xbar[j]
                   + r[own, None] * (X[own] * (c[j] - c_own[j])[:, None] - (a[j] - a_own[j])))
    return resid


def cox_robust_covariance(time, event, X, params, cov_model, groups=None) -> np.ndarray:
    """Sandwich covariance cov_model @ (sum over clusters of U_g U_g') @ cov_model
    from Efron score residuals U, as R's ``coxph(..., robust = TRUE)`` (one
    cluster per unit) or with ``cluster(groups)``; no small-sample factor."""
    u = efron_score_residuals(time, event, X, params)
    if groups is not None:
        g = pd.factorize(np.asarray(groups))[0]
        sums = np.zeros((g.max() + 1, u.shape[1]))
        np.add.at(sums, g, u)
        u = sums
    dfbeta = u @ cov_model
    return dfbeta.T @ dfbeta
