"""Decisions that rounding cannot change (issue 23): one relative tolerance, stated, for every threshold."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ground.tolerance import RELATIVE_TOLERANCE, at_least, at_most
from metrics.thresholds import Contrast, PaymentRule
from pricing import Contract, settle
from tests.running import ROOT


def test_a_shortfall_of_rounding_is_met_at_any_scale_and_a_real_one_is_not():
    tenths = sum([0.1] * 10)  # 0.9999999999999999
    assert tenths < 1 and at_least(tenths, 1.0)
    # An absolute allowance of 1e-12 fails once the numbers are large: 999999.9999999999 against a million.
    assert tenths * 1e6 < 1e6 - 1e-12 and at_least(tenths * 1e6, 1e6)
    assert not at_least(1 - 10 * RELATIVE_TOLERANCE, 1.0)
    assert not at_least(1e-12, 2e-12)  # tiny numbers are compared at their own scale, not swallowed
    assert at_most(0.1 + 0.2, 0.3) and not at_most(0.31, 0.3)
    assert at_least(0.43 - 0.38, 0.05, 0.43) and 0.43 - 0.38 < 0.05
    np.testing.assert_array_equal(at_least(np.array([0.05 - 1e-17, 0.04]), 0.05), [True, False])


def test_a_rule_met_exactly_at_its_threshold_is_met_whatever_the_noise():
    rule = PaymentRule("target", 0.10, "relative", None, "frequency")
    cut = np.log1p(-0.10)
    for noise in (0.0, 1e-15, -1e-15, 4e-16):
        assert rule.met_statistic(cut * (1 + noise), 0.05)
    assert not rule.met_statistic(cut * (1 - 1e-6), 0.05)
    exact = Contrast.from_rates("binary", 0.38, 1_000, 0.43, float("inf"))
    assert PaymentRule("points", 0.05, "points", None, "binary").evaluate(exact).met


def test_a_settlement_exactly_at_its_target_pays_the_same_with_the_baseline_nudged(tmp_path):
    """38 of 100 reoffended against a 43% baseline is exactly the 5-point target: met, however 0.43 is rounded."""
    text = (ROOT / "examples" / "specs" / "doncaster.toml").read_text()
    people = pd.DataFrame({"person_id": [f"p{i:03d}" for i in range(200)],
                           "start_date": ["2023-02-01"] * 100 + ["2023-08-01"] * 100})  # fmt: skip
    who = [f"p{i:03d}" for i in list(range(38)) + list(range(100, 138))]
    offence, disposal = ["2023-09-01"] * 38 + ["2024-03-01"] * 38, ["2023-10-01"] * 38 + ["2024-04-01"] * 38
    offences = pd.DataFrame({"person_id": who, "offence_date": offence, "disposal_date": disposal})
    offences["disposal"] = "conviction"
    totals = []
    for rate in ("0.43", "0.43000000000000005", "0.42999999999999994"):
        (tmp_path / "c.toml").write_text(text.replace("rate = 0.43", f"rate = {rate}"))
        s = settle(
            Contract.from_toml(tmp_path / "c.toml"), {"people": people, "offences": offences}, as_of="2025-09-30"
        )
        assert s.tranches["met"].all(), s.tranches[["estimate", "decision_value", "met"]]
        totals.append(s.total_pence)
    assert totals == [0, 0, 0]
