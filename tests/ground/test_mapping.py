"""The data mapping file (ground.mapping): files, globs, Parquet folders, workbooks, columns, codes and dates.

Each refusal is checked through the API (a SchemaError or SpecError naming the mapping file, the file, the
column and the rows) and through the command line (one message, exit 1; exit 2 for a table not given at all).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ground.errors import SchemaError, SpecError
from ground.mapping import read_data_map
from ground.reading import read_frames, read_table
from tests.running import desist, one_message

OFFENCES_MAP = """
[offences]
source = "{source}"
{date_format}
[offences.columns]
person_id = "PNC_ID"
offence_date = "Offence Date"
disposal_date = "Disposal Date"
disposal = "Outcome"
[offences.codes.disposal]
conviction = ["CONV", "Convicted"]
caution = ["CAUT"]
no_further_action = ["NFA"]
"""
PEOPLE = "Person,Start\n007,2024-01-01\n008,2023-12-01\n009,2024-01-10\n"
PEOPLE_MAP = '\n[people]\nsource = "people.csv"\n[people.columns]\nperson_id = "Person"\nstart_date = "Start"\n'


def write(folder: Path, files: dict[str, str], mapping: str) -> Path:
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "data.toml").write_text(mapping + PEOPLE_MAP, encoding="utf-8")
    (folder / "people.csv").write_text(PEOPLE, encoding="utf-8")
    return folder / "data.toml"


def extract(*rows: str) -> str:
    return "PNC_ID,Offence Date,Disposal Date,Outcome\n" + "".join(f"{r}\n" for r in rows)


def offences_map(source: str = "pnc.csv", date_format: str | None = "%d/%m/%Y") -> str:
    fmt = f'date_format = "{date_format}"' if date_format else ""
    return OFFENCES_MAP.format(source=source, date_format=fmt)


def test_a_pnc_extract_reads_in_desists_words(tmp_path):
    path = write(
        tmp_path,
        {"pnc.csv": extract("007,30/09/2024,01/11/2024,CONV", "008,05/01/2024,01/03/2024,NFA")},
        offences_map(),
    )
    offences = read_table(read_data_map(path)["offences"], "offences")
    assert offences["person_id"].tolist() == ["007", "008"]  # ids as written: leading zeros kept
    assert offences["offence_date"].tolist() == [pd.Timestamp("2024-09-30"), pd.Timestamp("2024-01-05")]
    assert offences["disposal"].astype(str).tolist() == ["conviction", "no_further_action"]


def test_a_glob_stacks_every_file_in_order_and_rows_are_named_in_their_own_file(tmp_path):
    files = {
        "pnc_q1.csv": extract("007,30/09/2024,01/11/2024,CONV"),
        "pnc_q2.csv": extract("008,05/01/2024,01/03/2024,Convicted", "009,31/02/2024,01/03/2024,CAUT"),
    }
    table = read_data_map(write(tmp_path, files, offences_map("pnc_q*.csv")))["offences"]
    with pytest.raises(SchemaError) as info:
        table.read()
    message = str(info.value)
    assert "data.toml [offences] (pnc_q1.csv, pnc_q2.csv)" in message
    assert "offence_date ('Offence Date'): not a valid date (expected YYYY-MM-DD or %d/%m/%Y" in message
    assert "1 row: pnc_q2.csv row 2 (31/02/2024)" in message


def test_files_of_one_table_must_have_the_same_columns(tmp_path):
    (tmp_path / "a.csv").write_text("id,x\n1,2\n")
    (tmp_path / "b.csv").write_text("id,y\n1,2\n")
    with pytest.raises(SchemaError, match=r"b\.csv: its columns are not those of .*a\.csv \(it lacks 'x' and has 'y'"):
        read_frames([tmp_path / "a.csv", tmp_path / "b.csv"])


def test_a_parquet_folder_is_its_files(tmp_path):
    (tmp_path / "drops").mkdir()
    pd.DataFrame({"PNC_ID": ["007"], "Offence Date": ["30/09/2024"], "Disposal Date": ["01/11/2024"],
                  "Outcome": ["CONV"]}).to_parquet(tmp_path / "drops" / "2024Q3.parquet")  # fmt: skip
    pd.DataFrame({"PNC_ID": ["008"], "Offence Date": ["05/01/2024"], "Disposal Date": ["01/03/2024"],
                  "Outcome": ["CAUT"]}).to_parquet(tmp_path / "drops" / "2024Q1.parquet")  # fmt: skip
    table = read_data_map(write(tmp_path, {}, offences_map("drops")))["offences"]
    assert table.read()["person_id"].tolist() == ["008", "007"]  # in file name order


def test_an_excel_sheet(tmp_path):
    frame = pd.DataFrame({"PNC_ID": ["007"], "Offence Date": ["30/09/2024"], "Disposal Date": ["01/11/2024"],
                          "Outcome": ["CONV"]})  # fmt: skip
    with pd.ExcelWriter(tmp_path / "pnc.xlsx") as book:
        pd.DataFrame({"notes": ["cover sheet"]}).to_excel(book, sheet_name="Cover", index=False)
        frame.to_excel(book, sheet_name="Offences", index=False)
    mapping = offences_map("pnc.xlsx").replace('source = "pnc.xlsx"', 'source = "pnc.xlsx"\nsheet = "Offences"')
    table = read_data_map(write(tmp_path, {}, mapping))["offences"]
    assert table.read()["disposal"].astype(str).tolist() == ["conviction"]


def test_unmapped_codes_are_refused_with_their_counts_never_dropped(tmp_path):
    rows = ["007,30/09/2024,01/11/2024,CONV", "008,05/01/2024,01/03/2024,nfa", "009,05/01/2024,01/03/2024,WARN"]
    rows += ["009,06/01/2024,01/03/2024,nfa"]
    path = write(tmp_path, {"pnc.csv": extract(*rows)}, offences_map())
    words = (
        "the disposal column ('Outcome') has 2 values that no list in [offences.codes.disposal] covers, refused "
        "rather than dropped: 'nfa' (2 rows, first row 2), 'WARN' (1 row, first row 3)"
    )
    with pytest.raises(SchemaError) as info:
        read_data_map(path)["offences"].read()
    assert words in str(info.value)
    proc = desist("measure", "--data-map", path, "--as-of", "2025-09-30")
    assert proc.returncode == 1
    one_message(proc.stderr, f"{path} [offences]", words, "conviction, caution, acquittal, no_further_action, other")


def test_an_ambiguous_date_column_is_refused_naming_both_forms(tmp_path):
    rows = ["007,01/09/2024,02/10/2024,CONV", "008,05/01/2024,01/03/2024,CAUT"]
    path = write(tmp_path, {"pnc.csv": extract(*rows)}, offences_map(date_format=None))
    words = "the offence_date column ('Offence Date') is ambiguous: every date in it fits %d/%m/%Y and %m/%d/%Y"
    with pytest.raises(SchemaError, match=r"is ambiguous") as info:
        read_data_map(path)["offences"].read()
    assert words in str(info.value) and 'date_format = "%d/%m/%Y"' in str(info.value)
    proc = desist("measure", "--data-map", path, "--as-of", "2025-09-30")
    assert proc.returncode == 1
    one_message(proc.stderr, words, "the disposal_date column ('Disposal Date') is ambiguous")


def test_dates_in_one_other_form_are_refused_naming_it(tmp_path):
    path = write(tmp_path, {"pnc.csv": extract("007,30/09/2024,01/11/2024,CONV")}, offences_map(date_format=None))
    with pytest.raises(
        SchemaError, match=r"'Offence Date'\) is written %d/%m/%Y \(e\.g\. 30/09/2024\), not YYYY-MM-DD"
    ):
        read_data_map(path)["offences"].read()


def test_a_mapping_naming_a_missing_column(tmp_path):
    path = write(
        tmp_path, {"pnc.csv": extract("007,30/09/2024,01/11/2024,CONV").replace("Outcome", "Result")}, offences_map()
    )
    words = "[offences.columns] names 1 column that"
    with pytest.raises(SchemaError) as info:
        read_data_map(path)["offences"].read()
    assert words in str(info.value) and "disposal = 'Outcome'" in str(info.value)
    assert "Its columns: PNC_ID, Offence Date, Disposal Date, Result" in str(info.value)
    proc = desist("measure", "--data-map", path, "--as-of", "2025-09-30")
    assert proc.returncode == 1
    one_message(proc.stderr, words, "pnc.csv does not have: disposal = 'Outcome'")


def test_a_table_the_mapping_lacks_is_a_usage_error(tmp_path):
    path = tmp_path / "data.toml"
    path.write_text('[people]\nsource = "people.csv"\n')
    proc = desist("measure", "--data-map", path, "--as-of", "2025-09-30")
    assert proc.returncode == 2
    assert "the offences table is needed: give --offences FILE, or --data-map FILE with a [offences] table" in (
        " ".join(proc.stderr.split())
    )


@pytest.mark.parametrize(
    ("mapping", "words"),
    [
        ('[offence]\nsource = "x.csv"\n', r"\[offence\] is not a desist table .* Did you mean \[offences\]\?"),
        ('[offences]\nsourse = "x.csv"\n', r"The keys of \[offences\] must be among source, .* Got 'sourse'"),
        ("[offences]\nsource = 3\n", r"'offences.source' key must be a path, a list of paths or a glob"),
        ('[offences]\nsource = "x.csv"\ndate_format = "%d/%m/%y"\n', r"four-digit year"),
        ('[offences]\nsource = "x.csv"\n[offences.codes.disposal]\nconvicted = ["C"]\n', r"not a disposal desist"),
        (
            '[offences]\nsource = "x.csv"\n[offences.codes.disposal]\nconviction = ["C"]\ncaution = ["C"]\n',
            r"lists your value 'C' under both conviction and caution",
        ),
        (
            '[offences]\nsource = "x.csv"\n[offences.columns]\noffence_date = "D"\ndisposal_date = "D"\n',
            r"maps your column 'D' to both offence_date and disposal_date",
        ),
        ('[offences]\nsource = "postgresql://db/x"\n', r"reads a database: give one source URL, the table's name"),
        ("[offences\n", r"not a valid TOML file"),
    ],
)
def test_a_bad_mapping_file_names_the_key(tmp_path, mapping, words):
    path = tmp_path / "data.toml"
    path.write_text(mapping)
    with pytest.raises(SpecError, match=words) as info:
        read_data_map(path)
    assert str(info.value).startswith(str(path))


def test_a_glob_matching_nothing_is_named(tmp_path):
    path = write(tmp_path, {}, offences_map("pnc_*.csv"))
    with pytest.raises(SpecError, match=r"source 'pnc_\*\.csv' matches no file"):
        read_data_map(path)["offences"].read()


def test_nothing_in_a_mapping_is_run(tmp_path):
    """A code or column written as Python is a value like any other: it maps or it is refused."""
    mapping = offences_map().replace('conviction = ["CONV", "Convicted"]', "conviction = [\"__import__('os')\"]")
    path = write(tmp_path, {"pnc.csv": extract("007,30/09/2024,01/11/2024,__import__('os')")}, mapping)
    offences = read_data_map(path)["offences"].read()
    assert offences["disposal"].astype(str).tolist() == ["conviction"]
