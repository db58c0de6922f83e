"""A data mapping's table in a real PostgreSQL database: the same answers as from CSV and Parquet.

The server is the one .ci/run starts (its URL in ``DESIST_TEST_DATABASE``), else one started here in a
temporary folder with initdb and pg_ctl (as the ``postgres`` user when the tests run as root, since
PostgreSQL refuses to run as root), listening on a socket in that folder only. Without PostgreSQL's
programs the tests are skipped, saying so (Debian: ``apt-get install postgresql``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.dialects import postgresql

from ground.database import DatabaseTable
from ground.errors import SchemaError
from ground.mapping import read_data_map
from outcomes import proven_reoffending
from pricing import Contract, settle

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "data"
AS_OF = "2025-09-30"
pytestmark = pytest.mark.filterwarnings("ignore::ground.tables.UnmatchedRowsWarning")


def _programs() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return versions[-1].parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    given = os.environ.get("DESIST_TEST_DATABASE")
    if given:
        yield given
        return
    programs = _programs()
    if programs is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql); .ci/run installs it")
    folder = Path(tempfile.mkdtemp(prefix="desist-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL will not run as root: its own user runs it, in a folder it owns
        as_user = ["runuser", "-u", "postgres", "--"]
        folder.chmod(0o755)
        shutil.chown(folder, "postgres")
    port, data = _free_port(), folder / "data"
    run = lambda *args: subprocess.run([*as_user, *map(str, args)], check=True, capture_output=True)  # noqa: E731
    run(programs / "initdb", "-D", data, "-U", "desist", "--auth=trust", "-E", "UTF8")
    options = f"-k {folder} -p {port} -c listen_addresses=''"
    run(programs / "pg_ctl", "-D", data, "-o", options, "-l", folder / "server.log", "-w", "start")
    try:
        yield f"postgresql://desist@/postgres?host={folder}&port={port}"
    finally:
        run(programs / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def pnc_tables() -> dict[str, pd.DataFrame]:
    """The example cohort and offences as a warehouse holds them: its own column names and codes, real dates."""
    people = pd.read_csv(DATA / "people.csv", dtype={"person_id": str}, parse_dates=["start_date"])
    offences = pd.read_csv(
        DATA / "offences.csv", dtype={"person_id": str}, parse_dates=["offence_date", "disposal_date"]
    )
    codes = {"conviction": "CONV", "caution": "CAUT", "acquittal": "ACQ", "no_further_action": "NFA", "other": "OTH"}
    return {
        "cohort": people[["person_id", "start_date"]].set_axis(["PNC_ID", "Start Date"], axis=1),
        "offences": offences.assign(disposal=offences["disposal"].map(codes)).set_axis(
            ["PNC_ID", "Offence Date", "Disposal Date", "Outcome"], axis=1
        ),
    }


MAPPING = """
[people]
{people}
[people.columns]
person_id = "PNC_ID"
start_date = "Start Date"

[offences]
{offences}
[offences.columns]
person_id = "PNC_ID"
offence_date = "Offence Date"
disposal_date = "Disposal Date"
disposal = "Outcome"
[offences.codes.disposal]
conviction = ["CONV"]
caution = ["CAUT"]
acquittal = ["ACQ"]
no_further_action = ["NFA"]
other = ["OTH"]
"""


@pytest.fixture(scope="module")
def mappings(database, tmp_path_factory) -> dict[str, Path]:
    """The same two tables as CSV files, Parquet files and PostgreSQL tables, each with its mapping file."""
    import sqlalchemy as sa

    folder = tmp_path_factory.mktemp("sources")
    tables = pnc_tables()
    engine = sa.create_engine(database.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(sa.text('CREATE SCHEMA IF NOT EXISTS "PNC extract"'))
        for name, frame in tables.items():
            frame.to_sql(name, connection, schema="PNC extract", if_exists="replace", index=False)
    engine.dispose()
    out = {}
    for kind in ("csv", "parquet"):
        for name, frame in tables.items():
            getattr(frame, f"to_{kind}")(folder / f"{name}.{kind}", index=False)
        where = {t: f'source = "{t}.{kind}"' for t in tables}
        out[kind] = folder / f"{kind}.toml"
        out[kind].write_text(MAPPING.format(people=where["cohort"], offences=where["offences"]))
    where = {t: f'source = "{database}"\nschema = "PNC extract"\ntable = "{t}"' for t in tables}
    out["postgresql"] = folder / "postgresql.toml"
    out["postgresql"].write_text(MAPPING.format(people=where["cohort"], offences=where["offences"]))
    return out


def test_postgresql_csv_and_parquet_give_the_same_tables_and_answers(mappings):
    read = {kind: read_data_map(path) for kind, path in mappings.items()}
    offences = {
        kind: m["offences"].read().sort_values(["person_id", "offence_date", "disposal_date"])
        for kind, m in read.items()
    }
    for kind in ("parquet", "postgresql"):
        pd.testing.assert_frame_equal(offences["csv"].reset_index(drop=True), offences[kind].reset_index(drop=True))
    measured = {kind: proven_reoffending(m["people"], m["offences"], as_of=AS_OF) for kind, m in read.items()}
    clean = proven_reoffending(DATA / "people.csv", DATA / "offences.csv", as_of=AS_OF)
    for kind, result in measured.items():
        pd.testing.assert_frame_equal(result.per_person, clean.per_person, obj=kind)
    contract = Contract.from_toml(ROOT / "examples" / "specs" / "doncaster.toml")
    settled = {kind: settle(contract, path, as_of=AS_OF).figures() for kind, path in mappings.items()}
    assert settled["postgresql"] == settled["csv"] == settled["parquet"]


def test_the_select_quotes_every_identifier_and_runs_read_only(database, mappings):
    table = read_data_map(mappings["postgresql"])["offences"].database
    assert table is not None
    sql = " ".join(str(table.select(["PNC_ID", "Outcome"]).compile(dialect=postgresql.dialect())).split())
    assert sql == (
        'SELECT "PNC extract"."offences"."PNC_ID", "PNC extract"."offences"."Outcome" FROM "PNC extract"."offences" '
        'ORDER BY "PNC extract"."offences"."PNC_ID", "PNC extract"."offences"."Outcome"'
    )
    quoted = DatabaseTable(database, 'off"ences', "s").select(['a"b']).compile(dialect=postgresql.dialect())
    assert '"s"."off""ences"."a""b"' in str(quoted)  # a quote in a name is doubled, never closes the name
    # A name written to break out of its quotes stays a name: no such table, and nothing dropped.
    hostile = DatabaseTable(database, 'offences"; DROP TABLE "PNC extract"."cohort"; --', "PNC extract")
    with pytest.raises(SchemaError, match="no such table"):
        hostile.read()
    assert len(DatabaseTable(database, "cohort", "PNC extract").read(["PNC_ID"])) == len(pnc_tables()["cohort"])
    with table._connection() as connection:
        assert connection.exec_driver_sql("SHOW transaction_read_only").scalar() == "on"


def test_a_missing_table_or_column_names_the_database_without_its_password(database, mappings, tmp_path):
    secret = database.replace("desist@", "desist:hunter2@")
    with pytest.raises(SchemaError) as info:
        DatabaseTable(secret, "nowhere", "PNC extract").read()
    assert "no such table" in str(info.value) and "hunter2" not in str(info.value) and "desist:***@" in str(info.value)
    text = mappings["postgresql"].read_text().replace('disposal = "Outcome"', 'disposal = "Result"')
    (tmp_path / "data.toml").write_text(text)
    with pytest.raises(
        SchemaError, match=r"\[offences.columns\] names 1 column that .* does not have: disposal = 'Result'"
    ):
        read_data_map(tmp_path / "data.toml")["offences"].read()
