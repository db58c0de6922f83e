"""Metric specs: the shipped examples load and round-trip; each bad spec gives one clear error."""

import json
from pathlib import Path

import pandas as pd
import pytest

from ground.errors import SpecError
from ground.expressions import parse
from outcomes import MetricSpec, ReliableChange, Sustained, Transition
from tests.running import desist

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "examples" / "specs").glob("*.toml"))

GOOD = """
[metric]
name = "t"

[outcomes.housing]
instrument = "accommodation_status"
window = [91, 273]
price_key = "housing"

[outcomes.housing.rule]
type = "transition"
from = ["no_fixed_abode", "unsettled"]
to = ["settled"]

[segments.women]
where = "sex == 'female'"

[payment]
up_front_share = 0.7

[payment.prices]
housing = { default = 400, women = 500 }
"""


def test_examples_load_and_round_trip():
    assert {p.name for p in SPECS} >= {"peterborough.toml", "doncaster.toml", "intermediate.toml"}
    for path in SPECS:
        spec = MetricSpec.from_toml(path)
        assert MetricSpec.from_string(spec.to_toml()) == spec, path.name
        assert spec.name in spec.describe()


def test_example_contents():
    pb = MetricSpec.from_toml(ROOT / "examples/specs/peterborough.toml").reoffending
    assert (pb.measure, pb.counting, pb.disposals, pb.follow_up_days, pb.waiting_days) == (
        "frequency",
        "court_appearances",
        ("conviction",),
        365,
        182,
    )
    dn = MetricSpec.from_toml(ROOT / "examples/specs/doncaster.toml").reoffending
    assert (dn.measure, dn.disposals) == ("binary", ("conviction",))
    im = MetricSpec.from_toml(ROOT / "examples/specs/intermediate.toml")
    assert set(im.outcomes) == {
        "family_ties",
        "family_contact",
        "self_esteem",
        "accommodation",
        "ete",
        "substance_misuse",
    }
    assert isinstance(im.outcomes["self_esteem"].rule, ReliableChange)
    acc = im.outcomes["accommodation"].rule
    assert isinstance(acc, Sustained) and acc.rule == Transition(from_=("no_fixed_abode", "unsettled"), to=("settled",))
    assert set(im.segments) == {"women", "young_adults", "complex_needs"}
    assert set(im.payment["prices"]) == {o.price_key for o in im.outcomes.values()}


def test_segments_of_the_intermediate_example_are_valid_rules():
    spec = MetricSpec.from_toml(ROOT / "examples/specs/intermediate.toml")
    people = pd.DataFrame(
        {
            "sex": ["female", "male", "male"],
            "age": [20, 30, 24],
            "need_accommodation": [True, True, False],
            "need_substance": [True, False, False],
            "need_mental_health": [False, True, False],
        }
    )
    sizes = {k: int(parse(s.where).evaluate(people).sum()) for k, s in spec.segments.items()}
    assert sizes == {"women": 1, "young_adults": 2, "complex_needs": 2}


def bad(old, new):
    assert old in GOOD
    return GOOD.replace(old, new)


@pytest.mark.parametrize(
    "text, key, words",
    [
        (
            bad('"accommodation_status"', '"accomodation"'),
            "outcomes.housing.instrument",
            ["must be one of", "accommodation_status", "Got 'accomodation'"],
        ),
        (bad("[91, 273]", "[273, 91]"), "outcomes.housing.window", ["end must not be before its start"]),
        (
            bad("housing = {", "hosuing = {"),
            "payment.prices.hosuing",
            ["price_key of an outcome", "one of housing", "Got 'hosuing'"],
        ),
        (
            bad('to = ["settled"]', 'to = ["housed"]'),
            "outcomes.housing.rule",
            ["no_fixed_abode, unsettled, settled", "Got 'housed'"],
        ),
        (
            bad('type = "transition"', 'type = "transit"'),
            "outcomes.housing.rule.type",
            ["threshold, improvement, reliable_change, transition, sustained"],
        ),
        (bad("up_front_share = 0.7", "up_front_share = 1.7"), "payment.up_front_share", ["[0, 1]"]),
        (bad("up_front_share = 0.7", "upfront = 0.7"), "payment.upfront", ["up_front_share"]),
        (bad("women = 500", "men = 500"), "payment.prices.housing.men", ["'default' or one of women"]),
        (bad("where = \"sex == 'female'\"", 'where = " "'), "segments.women.where", ["non-empty"]),
        (GOOD + '\n[reoffending]\nmeasure = "rate"\n', "reoffending.measure", ["binary, frequency, both"]),
        (GOOD + '\n[reoffending]\ncounting = "events"\n', "reoffending.counting", ["offences, court_appearances"]),
        (bad("[metric]", "[metrc]"), "spec.metrc", ["metric, outcomes, reoffending, segments, payment"]),
    ],
)
def test_bad_specs_give_one_clear_error(text, key, words):
    with pytest.raises(SpecError) as err:
        MetricSpec.from_string(text)
    assert err.value.key.startswith(key)
    for w in words:
        assert w in str(err.value)


def test_measure_and_instrument_files(tmp_path):
    (tmp_path / "hope.toml").write_text(
        'name = "hope"\ntitle = "Hope"\nscoring = "sum"\nitems = ["a", "b"]\nitem_min = 0\nitem_max = 4\n'
        'direction = "higher_is_better"\nsource = "test"\n'
    )
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(
        '[metric]\nname = "m"\ninstrument_files = ["hope.toml"]\n'
        '[outcomes.hope]\ninstrument = "hope"\nwindow = [0, 90]\nrule = { type = "threshold", at_least = 6 }\n'
        '[outcomes.contact]\ninstrument = "family_contact"\nmeasure = "contact_frequency"\nwindow = [0, 90]\n'
        'rule = { type = "transition", from = ["none"], to = ["weekly", "daily"] }\n'
    )
    spec = MetricSpec.from_toml(spec_path)
    assert spec.instrument("hope").score_range == (0, 8)
    bad_measure = spec_path.read_text().replace('measure = "contact_frequency"', 'measure = "score"')
    with pytest.raises(SpecError, match="contact_frequency, living_with_family. Got 'score'") as err:
        MetricSpec.from_string(bad_measure, base_dir=tmp_path)
    assert err.value.key.startswith("outcomes.contact.measure")
    with pytest.raises(SpecError, match="within 0..8. Got 9"):
        MetricSpec.from_string(spec_path.read_text().replace("at_least = 6", "at_least = 9"), base_dir=tmp_path)


def test_spec_runs_on_data():
    spec = MetricSpec.from_string(GOOD + '\n[reoffending]\nmeasure = "binary"\n')
    start = pd.Timestamp("2024-01-01")
    people = pd.DataFrame({"person_id": ["A", "B"], "start_date": [start, start]})
    assessments = pd.DataFrame(
        {
            "person_id": ["A", "A", "B", "B"],
            "instrument": "accommodation_status",
            "item": "status",
            "score": [1, 3, 2, 2],
            "assessed_on": [start, start + pd.Timedelta(days=100)] * 2,
        }
    )
    res = spec.achievement(people, assessments, as_of="2025-01-01")
    assert res["housing"].per_person["status"].astype(str).tolist() == ["achieved", "not_achieved"]
    offences = pd.DataFrame(
        {
            "person_id": ["B"],
            "offence_date": [start + pd.Timedelta(days=5)],
            "disposal_date": [start + pd.Timedelta(days=50)],
            "disposal": ["caution"],
        }
    )
    r = spec.proven_reoffending(people, offences)
    assert r.per_person["reoffended"].tolist() == [False, True]


def run_cli(*args):
    return desist(*args, cwd=ROOT)  # in-process (tests/running.py): the same entry point, without a new interpreter


def test_cli_check_prints_the_spec_or_the_error(tmp_path):
    ok = run_cli("check", "examples/specs/intermediate.toml")
    assert ok.returncode == 0, ok.stderr
    assert "Reliable gain in self-esteem" in ok.stdout and "The spec is valid." in ok.stdout
    as_json = run_cli("check", "examples/specs/peterborough.toml", "--json")
    assert json.loads(as_json.stdout)["results"]["spec"]["reoffending"]["counting"] == "court_appearances"
    path = tmp_path / "bad.toml"
    path.write_text(bad("[91, 273]", "[273, 91]"))
    err = run_cli("check", str(path))
    assert err.returncode == 1
    assert "outcomes.housing.window" in err.stderr and "Traceback" not in err.stderr


def test_outcome_rates_reconcile_with_the_world():
    from appraisal import DEFAULT_SPEC
    from cohorts.synthetic import make_world

    world = make_world(seed=2, n_eligible=600, n_pool=1_000)
    rates = MetricSpec.from_toml(DEFAULT_SPEC).outcome_rates(world.people, world.assessments, as_of=world.as_of)
    statuses = rates["n"] + rates["not_measurable"] + rates["not_yet_measurable"]
    assert (statuses == len(world.people)).all()
    assert ((rates["ci_low"] <= rates["rate"]) & (rates["rate"] <= rates["ci_high"])).all()
    assert "Reliable gain in self-esteem" in rates["label"].tolist()
