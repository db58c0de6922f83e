"""``desist price`` and ``desist simulate`` (in-process, tests/running.py), and the input helpers behind them."""

import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from desist.cli import main
from ground.errors import ParameterError, SchemaError
from outcomes.spec import MetricSpec
from pricing import PaymentStructure, Tariff, timing_from_spec
from pricing.inputs import cohort_probabilities, payment_segments, priced_outcomes, segment_costs, segment_rates
from tests.running import desist

SPEC = """
[metric]
name = "Test tariff"

[outcomes.accommodation]
instrument = "accommodation_status"
window = [91, 273]
price_key = "accommodation"

[outcomes.accommodation.rule]
type = "transition"
from = ["no_fixed_abode", "unsettled"]
to = ["settled"]

[reoffending]
measure = "binary"
price_key = "no_reoffence"

[segments.high_risk]
where = "ogrs_score >= 60"
priority = 1

[segments.women]
where = "sex == 'female'"
priority = 2

[payment]
service_fee = 400000
up_front_share = 0.7
at_risk_share = 0.1

[payment.prices]
accommodation = 300
no_reoffence = { default = 900, high_risk = 1500 }
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from cohorts.synthetic import make_world

    folder = tmp_path_factory.mktemp("pricing_cli")
    w = make_world(seed=0, n_eligible=2_000, n_pool=200)
    people = w.people.merge(w.truth.people, on="person_id")
    rng = np.random.default_rng(1)
    needs = people[[c for c in people.columns if c.startswith("need_")]].sum(axis=1)
    base = people[["person_id", "sex", "age", "ogrs_score"]]
    history = base.assign(
        no_reoffence=(rng.random(len(people)) > people["p_reoffend_0"]).astype(int),
        accommodation=(rng.random(len(people)) < 0.5 - 0.05 * needs).astype(int),
        cost=700.0 + 300.0 * needs,
    )
    cohort = base.assign(p_no_reoffence=1 - people["p_reoffend_1"])
    (folder / "spec.toml").write_text(SPEC)
    history.to_csv(folder / "history.csv", index=False)
    cohort.to_csv(folder / "cohort.csv", index=False)
    return folder, history, cohort


def run(*args):
    return desist(*args)  # in-process (tests/running.py): the same entry point, without a new interpreter


def test_price_json_matches_library_and_writes_plots(files):
    folder, history, _ = files
    out = folder / "price_out"
    proc = run(
        "price",
        "--spec",
        str(folder / "spec.toml"),
        "--history",
        str(folder / "history.csv"),
        "--json",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)["results"]
    assert set(result["tariffs"]) == {"spec", "flat", "by_difficulty", "incentive_neutral"}
    # Budget defaults to the expected payments under the spec's own prices.
    spec = MetricSpec.from_string(SPEC)
    segments = payment_segments(history, spec)
    rates = segment_rates(history, ["accommodation", "no_reoffence"], segments)
    probs = cohort_probabilities(history, ["accommodation", "no_reoffence"], segments, rates)
    expected = Tariff.from_spec(spec).expected_income(segments, probs)["expected_income"].sum()
    assert result["budget"] == pytest.approx(expected)
    neutral = result["tariffs"]["incentive_neutral"]["margins"]
    assert abs(neutral["gap"]) < 1e-9
    flat_gap = result["tariffs"]["flat"]["margins"]
    assert flat_gap["hardest"] == "high_risk" and flat_gap["gap_ci"][0] > 0
    for stem in ("tariff_flat", "margins_incentive_neutral", "tariff_spec"):
        assert (out / f"{stem}.png").stat().st_size > 1000 and (out / f"{stem}.svg").exists()
    written = Tariff.from_toml(out / "tariff_incentive_neutral.toml")
    prices = result["tariffs"]["incentive_neutral"]["prices"]
    assert written.price("no_reoffence", "high_risk") == pytest.approx(prices["no_reoffence"]["high_risk"])


def _simulate_args(folder):
    return [
        "simulate",
        "--spec",
        str(folder / "spec.toml"),
        "--cohort",
        str(folder / "cohort.csv"),
        "--history",
        str(folder / "history.csv"),
        "--draws",
        "400",
        "--seed",
        "3",
    ]


@pytest.fixture(scope="module")
def simulated(files):
    """``desist simulate --json --out`` on the files: its results and the output folder."""
    folder, _, _ = files
    out = folder / "sim_out"
    proc = run(*_simulate_args(folder), "--json", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["results"], out


def test_simulate_json_gives_each_party_and_the_spend(files, simulated):
    _, _, cohort = files
    result, out = simulated
    assert result["draws"] == 400 and result["people"] == len(cohort)
    assert set(result["parties"]) == {"commissioner", "prime"}
    assert 0 <= result["parties"]["prime"]["p_loss"] <= 1
    # The cohort's expected outcome payments are part of the contract: 10% fee + outcomes at risk > 30%.
    assert [f["code"] for f in result["structure"]["findings"]] == ["at_risk_above_ask"]
    paid = result["total_paid"]
    assert abs(paid["mean"] - 400_000 - result["expected_outcome_payments"]) < 5 * paid["mc_se"] + 0.1 * 400_000
    assert (out / "cash_flow_prime.png").exists() and (out / "cash_flow.csv").exists()


def test_simulate_text_speaks_of_spend_and_money_out_of_pocket(files):
    folder, _, _ = files
    text = run(*_simulate_args(folder))
    assert text.returncode == 0, text.stderr
    # The commissioner's risk is spend against budget; the provider's is its working capital, in words.
    words = " ".join(text.stdout.split())
    assert "What the commissioner would spend" in words and "out of pocket" in words
    assert "peak_working_capital" not in words


def test_simulate_tariff_replaces_the_spec_prices(files, simulated):
    folder, _, _ = files
    result, _ = simulated
    # --tariff replaces the spec's prices: doubling every price doubles the expected outcome payments.
    spec_tariff = Tariff.from_spec(MetricSpec.from_string(SPEC))
    doubled = folder / "doubled.toml"
    doubled.write_text(Tariff(spec_tariff.prices * 2).to_toml())
    again = json.loads(run(*_simulate_args(folder), "--json", "--tariff", str(doubled)).stdout)["results"]
    assert again["expected_outcome_payments"] == pytest.approx(2 * result["expected_outcome_payments"])


def test_cli_errors_exit_1_with_a_readable_message(files, capsys):
    folder, history, _ = files
    bad = folder / "history_bad.csv"
    history.drop(columns="accommodation").to_csv(bad, index=False)
    proc = run("price", "--spec", str(folder / "spec.toml"), "--history", str(bad), "--cost", "none=1000")
    assert proc.returncode == 1
    assert "Missing: ['accommodation']" in proc.stderr and "Traceback" not in proc.stderr
    # The same entry point in-process (the console script calls main), to keep the suite quick.
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", "--spec", str(folder / "spec.toml"), "--cohort", str(folder / "cohort.csv"), "--draws", "10"])
    assert exit_.value.code == 1 and "no 'p_accommodation' column" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "price",
                "--spec",
                str(folder / "spec.toml"),
                "--history",
                str(folder / "history.csv"),
                "--cost",
                "high_risk",
            ]
        )
    assert exit_.value.code == 1 and "must be SEGMENT=AMOUNT" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["price", "--spec", str(folder / "spec.toml")])
    assert exit_.value.code == 2  # usage error: --history missing


def test_input_helpers():
    spec = MetricSpec.from_string(SPEC)
    assert priced_outcomes(spec) == ["accommodation", "no_reoffence"]
    assert timing_from_spec(spec) == {"accommodation": (3, 9), "no_reoffence": (18, 18)}
    people = pd.DataFrame({"sex": ["female", "male", "male"], "ogrs_score": [70.0, 20.0, 65.0], "age": [30, 40, 50]})
    assert payment_segments(people, spec).tolist() == ["high_risk", "none", "high_risk"]
    t = Tariff.from_spec(spec)
    assert t.price("no_reoffence", "high_risk") == 1500.0 and t.price("no_reoffence", "women") == 900.0
    s = PaymentStructure.from_spec(spec)
    assert (s.service_fee, s.up_front_share, s.at_risk_share) == (400_000.0, 0.7, 0.1)
    rates = pd.DataFrame({"job": [0.2]}, index=["a"])
    with pytest.raises(SchemaError, match=r"Segments \['b'\] of the cohort do not appear in the history"):
        cohort_probabilities(pd.DataFrame(index=range(2)), ["job"], ["a", "b"], rates)
    with pytest.raises(SchemaError, match=r"Column 'job' must hold achievement flags.*row 2 \("):
        segment_rates(pd.DataFrame({"job": [1, 2]}), ["job"], ["a", "a"])
    assert_allclose(segment_costs({"a": 5.0, "b": 7.0}, people, ["a", "b", "a"]), [5.0, 7.0])
    with pytest.raises(ParameterError, match=r"must be a cost for every segment\. Got none for"):
        segment_costs({"a": 5.0}, people, ["a", "b", "a"])
