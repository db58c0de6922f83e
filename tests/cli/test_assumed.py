"""desist check lists every figure a contract marks as assumed; a stale mark is refused; the schemes mark theirs."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from desist.cli import app
from ground.errors import SpecError
from pricing import Contract, scheme, scheme_path, schemes

runner = CliRunner()


def test_check_lists_the_assumed_figures_in_words_and_in_json():
    path = scheme_path("doncaster")
    text = runner.invoke(app, ["check", str(path)])
    assert text.exit_code in (0, 1), text.output
    flat = " ".join(text.output.split())
    assert "Assumed figures: 5" in flat
    assert "counterfactual.baseline.rate = 0.58: The 2009 baseline rate is in no source found." in flat
    data = json.loads(runner.invoke(app, ["check", str(path), "--json"]).stdout)["results"]
    assert data["assumed"][0] == {
        "key": "counterfactual.baseline.rate",
        "value": 0.58,
        "reason": "The 2009 baseline rate is in no source found.",
    }
    dates = {a["key"]: a["value"] for a in data["assumed"]}
    assert dates["tranches.cohort_2.start"] == "2012-10-01"  # dates as JSON writes them


def test_a_mark_on_a_figure_the_contract_does_not_have_is_refused(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(
        scheme_path("doncaster").read_text().replace('"rules.target.price_per_point"', '"rules.target.bonus"')
    )
    with pytest.raises(SpecError, match="must name a figure of the contract") as caught:
        Contract.from_toml(path)
    assert caught.value.key == "assumed.rules.target.bonus"


def test_a_mark_needs_its_reason(tmp_path):
    path = tmp_path / "c.toml"
    text = scheme_path("doncaster").read_text()
    path.write_text(text.replace('"The 2009 baseline rate is in no source found."', '""'))
    with pytest.raises(SpecError, match="the reason the figure is assumed"):
        Contract.from_toml(path)


@pytest.mark.parametrize("name", schemes())
def test_every_scheme_marks_what_no_source_gives(name):
    contract = scheme(name)
    assert contract.assumed, name
    assert all(isinstance(f["reason"], str) and f["reason"] for f in contract.assumed_figures())
    assert not any("DOMAIN" in s for s in contract.spec.sources)


def test_every_scheme_loads():
    assert {"transforming_rehabilitation", "youth_justice", "skill_mill"} <= set(schemes())


def test_check_lists_a_rate_cards_assumed_figures():
    result = runner.invoke(app, ["check", str(scheme_path("skill_mill")), "--json"])
    assumed = {a["key"]: a["value"] for a in json.loads(result.stdout)["results"]["assumed"]}
    assert assumed["claims.outcomes.completion.after"] == ["four_weeks"]
    assert assumed["tranches.programme.final"] == "2024-11-30"
    assert "claims.outcomes.completion.price" not in assumed  # cited: INDIGO-POJ-0195
