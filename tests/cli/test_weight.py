"""``desist weight`` in-process (tests/running.py): outputs, JSON, and error exits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests import running
from tests.results import survey_rake as ref

DATA = Path(__file__).resolve().parents[1] / "data" / "survey_rake_sample.csv"


def run(*args: str) -> running.Run:
    return running.desist("weight", *args)


def margins_toml(margins: dict, **top) -> str:
    lines = [f"{k} = {json.dumps(v)}" for k, v in top.items()]
    for column, levels in margins.items():
        lines.append(f"\n[margins.{column}]")
        lines += [f"{json.dumps(str(level))} = {target!r}" for level, target in levels.items()]
    return "\n".join(lines) + "\n"


def test_weight_writes_weights_and_margin_table(tmp_path):
    spec = tmp_path / "margins.toml"
    spec.write_text(margins_toml(ref.margins, weights="base_weight"), encoding="utf-8")
    out = tmp_path / "out"
    proc = run("--data", str(DATA), "--margins", str(spec), "--id", "id", "--out", str(out), "--json", "--tol", "1e-12")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)["results"]
    assert result["converged"] and result["method"] == "rake"
    weights = pd.read_csv(out / "weights.csv")
    assert list(weights.columns) == ["id", "weight"]
    assert np.max(np.abs(weights["weight"].to_numpy() - ref.weights_converged)) < 1e-8
    table = pd.read_csv(out / "margins.csv")
    assert len(table) == 15 and np.allclose(table["after"], table["target"], rtol=1e-10)
    assert json.loads((out / "weighting.json").read_text())["ess"] == pytest.approx(result["ess"])


def test_weight_reports_bad_margins_without_traceback(tmp_path):
    spec = tmp_path / "margins.toml"
    spec.write_text(margins_toml({"sex": {"female": 0.4, "male": 0.5, "other": 0.1}}), encoding="utf-8")
    proc = run("--data", str(DATA), "--margins", str(spec))
    assert proc.returncode == 1
    assert "Got target level(s) ['other'] absent from the data" in proc.stderr
    assert "Traceback" not in proc.stderr
    missing = run("--data", str(DATA))
    assert missing.returncode == 2 and "--margins" in missing.stderr
