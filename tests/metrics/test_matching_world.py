"""match() on the synthetic world's tables: categoricals (with levels nobody has, as
schema-read tables carry), bools and ints; balance improves to |SMD| < 0.1."""

import numpy as np
import pandas as pd

from cohorts.synthetic import make_world
from ground.tables import BASELINE_COVARIATES
from metrics import match


def test_match_programme_people_to_the_pool():
    w = make_world(seed=2, n_eligible=3_000, n_pool=30_000)
    both = pd.concat([w.people.assign(t=1), w.pool.assign(t=0)], ignore_index=True)
    both["ethnicity"] = both["ethnicity"].cat.add_categories(["unknown"])
    m = match(both, "t", BASELINE_COVARIATES, caliper=0.2, link="linear_logit")
    table = m.balance()
    assert "ethnicityunknown" not in table.index and "ethnicitywhite" in table.index
    assert table[("after", "smd")].abs().max() < 0.1
    assert table[("before", "smd")].abs().max() > table[("after", "smd")].abs().max()
    c = m.counts
    assert c.loc["all", "treated"] == len(w.people) and c.loc["matched", "treated"] > 0.95 * len(w.people)
    assert np.isclose(m.weights[both["t"] == 0].sum(), c.loc["matched", "control"])
