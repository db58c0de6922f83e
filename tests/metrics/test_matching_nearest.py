"""The fast nearest-neighbour matcher against a plain O(n^2) reference, and its properties.

The reference below follows MatchIt's rules written as directly as possible: treated
units in order; without replacement k passes (a unit unmatched on the first pass stays
unmatched), each taking the nearest unused control within the caliper and the exact
stratum; with replacement each unit takes its k nearest. On data without distance ties
the fast path (sorted controls, union-find pointers) must give the same pairs.
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics import match, nearest_neighbours


def brute_force(d, treated, *, ratio, replace, caliper, order, strata=None, seed=None):
    t_rows = np.flatnonzero(treated)
    c_rows = np.flatnonzero(~treated)
    if order == "largest":
        t_rows = sorted(t_rows, key=lambda i: -d[i])
    elif order == "smallest":
        t_rows = sorted(t_rows, key=lambda i: d[i])
    elif order == "random":
        t_rows = list(np.random.default_rng(seed).permutation(t_rows))
    cal = np.inf if caliper is None else caliper
    stratum = np.zeros(len(d), dtype=int) if strata is None else strata

    def allowed(t, c):
        return stratum[t] == stratum[c] and abs(d[t] - d[c]) <= cal

    pairs = []
    if replace:
        for t in t_rows:
            near = sorted((c for c in c_rows if allowed(t, c)), key=lambda c: abs(d[t] - d[c]))
            pairs += [(t, c) for c in near[:ratio]]
        return sorted(pairs)
    used, got = set(), {t: 0 for t in t_rows}
    for r in range(ratio):
        for t in t_rows:
            if r > 0 and got[t] == 0:
                continue
            free = [c for c in c_rows if c not in used and allowed(t, c)]
            if free:
                c = min(free, key=lambda c: abs(d[t] - d[c]))
                used.add(c)
                got[t] += 1
                pairs.append((t, c))
    return sorted(pairs)


def fast(d, treated, **kw):
    t, c = nearest_neighbours(d, treated, **kw)
    return sorted(zip(t.tolist(), c.tolist()))


CONFIGS = [
    dict(ratio=1, replace=False, caliper=None, order="largest"),
    dict(ratio=1, replace=False, caliper=0.05, order="largest"),
    dict(ratio=3, replace=False, caliper=None, order="largest"),
    dict(ratio=2, replace=False, caliper=0.1, order="smallest"),
    dict(ratio=2, replace=False, caliper=0.08, order="data"),
    dict(ratio=2, replace=False, caliper=0.1, order="random", seed=4),
    dict(ratio=1, replace=True, caliper=None, order="data"),
    dict(ratio=3, replace=True, caliper=0.05, order="data"),
]


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fast_path_equals_brute_force(config, seed):
    rng = np.random.default_rng(seed)
    n = 160
    treated = rng.random(n) < 0.3
    d = rng.beta(2 + 2 * treated, 4)  # treated shifted right: some fall outside calipers
    assert fast(d, treated, **config) == brute_force(d, treated, **config)


@pytest.mark.parametrize("replace", [False, True])
def test_exact_strata_equal_brute_force(replace):
    rng = np.random.default_rng(5)
    n = 200
    treated = rng.random(n) < 0.35
    strata = rng.integers(0, 4, n)
    strata[treated & (strata == 3)] = 2  # stratum 3 has controls only
    d = rng.normal(treated * 0.5, 1)
    kw = dict(ratio=2, replace=replace, caliper=0.3, order="largest")
    assert fast(d, treated, strata=strata, **kw) == brute_force(d, treated, strata=strata, **kw)


def test_exact_matching_counts_and_reasons():
    rng = np.random.default_rng(8)
    n = 120
    df = pd.DataFrame(
        {
            "t": (rng.random(n) < 0.3).astype(int),
            "score": rng.random(n),
            "region": rng.choice(["north", "south", "east"], n),
        }
    )
    df.loc[(df["region"] == "east"), "t"] = 0  # east: controls only
    m = match(df, "t", distance="score", exact="region")
    pairs = m.pairs.merge(df[["region"]], left_on="treated_id", right_index=True)
    pairs = pairs.merge(df[["region"]], left_on="control_id", right_index=True, suffixes=("_t", "_c"))
    assert (pairs["region_t"] == pairs["region_c"]).all()
    n_east = int((df["region"] == "east").sum())
    assert m.counts.loc["discarded", "control"] == n_east
    ex = m.exclusions.set_index("reason")["n"]
    assert ex["exact stratum has no treated units"] == n_east
    c = m.counts
    assert (c.loc["matched"] + c.loc["unmatched"] + c.loc["discarded"] == c.loc["all"]).all()


def test_ignored_arguments_warn():
    df = pd.DataFrame({"t": [1, 0, 0, 1, 0], "score": [0.2, 0.3, 0.1, 0.6, 0.5]})
    with pytest.warns(UserWarning, match="'seed' is only used with order='random'"):
        match(df, "t", distance="score", seed=1)
    with pytest.warns(UserWarning, match="'order' has no effect with replace=True"):
        match(df, "t", distance="score", replace=True, order="smallest")


def test_logit_link_equals_matching_on_the_logit_column():
    rng = np.random.default_rng(3)
    n = 400
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    df["t"] = (rng.random(n) < 1 / (1 + np.exp(-(-1 + df.x1 - 0.5 * df.x2)))).astype(int)
    m = match(df, "t", ["x1", "x2"], link="linear_logit", caliper=0.2)
    df["logit"] = m.propensity.linear_predictor
    expected = brute_force(
        df["logit"].to_numpy(),
        df["t"].to_numpy() == 1,
        ratio=1,
        replace=False,
        caliper=0.2 * df["logit"].std(),
        order="largest",
    )
    got = sorted(zip(m.t_rows.tolist(), m.c_rows.tolist()))
    assert got == expected
    # the probability scale is a different problem (the caliper means something else)
    p = m.propensity.probability
    on_probability = fast(p, m.treated, caliper=0.2 * p.std(ddof=1))
    assert on_probability != got


def test_ties_follow_matchit_search_order():
    # Controls at 0.25 and 0.75 are exactly as near to the treated unit at 0.5.
    # MatchIt searches the sorted data alternately left, right, one position per
    # step, keeping the first found: left here ...
    d = np.array([0.25, 0.5, 0.75])
    t = np.array([False, True, False])
    assert fast(d, t) == [(1, 0)]
    # ... but right when another treated unit sits between it and the left control.
    d = np.array([0.25, 0.375, 0.5, 0.75])
    t = np.array([False, True, True, False])
    assert fast(d, t, order="largest")[1] == (2, 3)


def test_weights_with_ratio_and_replacement():
    # one control shared by two treated units, each with 2 controls
    d = np.array([0.50, 0.52, 0.49, 0.51, 0.53, 0.9])
    df = pd.DataFrame({"t": [1, 1, 0, 0, 0, 0], "score": d})
    m = match(df, "t", distance="score", ratio=2, replace=True)
    # t0 (0.50) -> 0.49, 0.51; t1 (0.52) -> 0.51, 0.53; raw control weights .5, 1, .5
    raw = np.array([0.5, 1.0, 0.5])
    assert np.allclose(m.weights.iloc[2:5], raw / raw.mean())
    assert m.weights.iloc[5] == 0 and (m.weights.iloc[:2] == 1).all()


distances = st.lists(st.floats(0, 1, allow_nan=False, width=32), min_size=4, max_size=40)


@settings(max_examples=60, deadline=None)
@given(
    d=distances,
    flags=st.lists(st.booleans(), min_size=40, max_size=40),
    ratio=st.integers(1, 3),
    replace=st.booleans(),
    caliper=st.one_of(st.none(), st.floats(0.01, 0.5)),
)
def test_properties(d, flags, ratio, replace, caliper):
    d = np.asarray(d, dtype=float)
    treated = np.asarray(flags[: len(d)])
    if treated.all() or not treated.any():
        return
    df = pd.DataFrame({"t": treated.astype(int), "score": d})
    try:
        m = match(df, "t", distance="score", ratio=ratio, replace=replace, caliper=caliper, std_caliper=False)
    except Exception as exc:  # only "nobody within the caliper" is allowed
        assert caliper is not None and "caliper" in str(exc)
        return
    pairs = m.pairs
    # every pair within the caliper
    if caliper is not None:
        assert (pairs["distance"] <= caliper).all()
    # at most ratio controls per treated unit
    assert pairs.groupby("treated_id").size().max() <= ratio
    # without replacement no control is used twice
    if not replace:
        assert pairs["control_id"].is_unique
    # weights: matched treated 1, controls average 1 over the matched ones, sum to that count
    w = m.weights.to_numpy()
    matched_t = np.isin(np.arange(len(d)), pairs["treated_id"])
    assert np.all(w[matched_t] == 1) and np.all(w[treated & ~matched_t] == 0)
    wc = w[~treated]
    assert np.isclose(wc.sum(), (wc > 0).sum())
    assert (wc > 0).sum() == pairs["control_id"].nunique()
    # counts reconcile
    c = m.counts
    assert (c.loc["matched"] + c.loc["unmatched"] + c.loc["discarded"] == c.loc["all"]).all()


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    ratio=st.integers(1, 3),
    replace=st.booleans(),
    order=st.sampled_from(["largest", "smallest"]),
)
def test_row_order_does_not_matter(seed, ratio, replace, order):
    """With distinct distances (no ties) shuffling the rows gives the same matched
    sets; with ties the data order breaks them (documented)."""
    rng = np.random.default_rng(seed)
    n = 60
    df = pd.DataFrame(
        {"t": (rng.random(n) < 0.3).astype(int), "score": rng.random(n)}, index=[f"u{i}" for i in range(n)]
    )
    if df["t"].nunique() < 2:
        return
    kw = dict(
        distance="score",
        ratio=ratio,
        replace=replace,
        caliper=0.1,
        std_caliper=False,
        order="largest" if replace else order,
    )
    a = match(df, "t", **kw)
    b = match(df.sample(frac=1, random_state=seed), "t", **kw)
    key = lambda m: sorted(zip(m.pairs["treated_id"], m.pairs["control_id"]))  # noqa: E731
    assert key(a) == key(b)
    # the same weights up to summation order
    pd.testing.assert_series_equal(a.weights.sort_index(), b.weights.sort_index(), rtol=1e-12)


def test_large_pool_memory_is_linear():
    """100k controls: no N_treated x N_control matrix (that would be 8 GB here)."""
    rng = np.random.default_rng(0)
    n_t, n_c = 10_000, 100_000
    d = np.concatenate([rng.beta(3, 4, n_t), rng.beta(2, 5, n_c)])
    treated = np.arange(n_t + n_c) < n_t
    t, c = nearest_neighbours(d, treated, caliper=0.01)
    assert len(np.unique(c)) == len(c) and len(t) > 0.9 * n_t
