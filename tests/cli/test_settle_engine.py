"""``desist settle --engine duckdb``: the offences counted on DuckDB, the same records as on pandas.

The ledger is byte for byte pandas', settlement.json the same but for the command line (which names the engine), and
``desist verify`` replays the settlement, on pandas, to the same figures and files. An engine desist does not have
is refused in the words ``pricing.settle`` uses, exit 1, nothing written.
"""

from __future__ import annotations

import json

from tests.running import desist

PETERBOROUGH = ["examples/specs/peterborough.toml", "--data", "people=examples/data/people.csv",
                "--data", "offences=examples/data/offences.csv", "--data", "pool=examples/data/pool.csv",
                "--as-of", "2025-09-30"]  # fmt: skip


def test_duckdb_writes_pandas_records_and_verifies(tmp_path):
    on_pandas, on_duckdb = tmp_path / "pandas", tmp_path / "duckdb"
    assert desist("settle", *PETERBOROUGH, "--out", on_pandas).returncode == 0
    run = desist("settle", *PETERBOROUGH, "--out", on_duckdb, "--engine", "duckdb")
    assert run.returncode == 0, run.stderr
    assert (on_duckdb / "ledger.csv").read_bytes() == (on_pandas / "ledger.csv").read_bytes()
    settled = [json.loads((folder / "settlement.json").read_text()) for folder in (on_pandas, on_duckdb)]
    commands = [s["audit"].pop("command") for s in settled]
    assert settled[1] == settled[0] and commands[1] == commands[0] + " --engine duckdb"
    verified = desist("verify", on_duckdb / "audit.json")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_an_unknown_engine_is_refused(tmp_path):
    run = desist("settle", *PETERBOROUGH, "--out", tmp_path / "out", "--engine", "sqlite")
    assert run.returncode == 1
    assert "The 'engine' parameter of settle must be one of 'pandas', 'duckdb', 'spark'" in run.stderr
    assert not (tmp_path / "out").exists()
