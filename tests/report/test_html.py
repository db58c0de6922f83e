"""The HTML report builder: answer first, self-contained, small cells suppressed, figures inline with alt text."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.figure import Figure

from desist.figures import Chart
from desist.format import COLUMNS, SUPPRESSED, Column, Table, suppress_small_cells
from desist.report import KeyFigure, Report, table_to_html
from ground.errors import DesistError, ParameterError
from ground.findings import Finding


def _chart(alt: str = "A rising line from 0 to 1.") -> Chart:
    fig = Figure(figsize=(4, 3))
    fig.subplots().plot([0, 1], [0, 1])
    return Chart(fig, alt, "A line")


def test_small_cells_and_everything_computed_from_them_are_suppressed():
    table = pd.DataFrame(
        {
            "group": ["women", "men", "none"],
            "n": [7, 300, 0],
            "rate": [0.43, 0.51, float("nan")],
            "ci": ["12% to 80%", "45% to 57%", "-"],
        }
    )
    shown, k = suppress_small_cells(table, ["n"])
    assert k == 1
    assert shown.loc[0, "group"] == "women"
    assert (shown.loc[0, ["n", "rate", "ci"]] == SUPPRESSED).all()
    assert shown.loc[1, "n"] == 300 and shown.loc[2, "n"] == 0


def test_suppression_names_a_missing_count_column():
    with pytest.raises(ParameterError, match=r"'n_columns' parameter of suppress_small_cells.*\['people'\]"):
        suppress_small_cells(pd.DataFrame({"n": [1]}), ["people"])


def test_the_answer_comes_first_then_the_evidence_then_the_annex(tmp_path):
    report = Report("Did it work?", "as of 30 September 2025")
    annex = report.section("tables", "Technical tables", part="annex")
    annex.table(Table(pd.DataFrame({"segment": ["a"], "n": [40]}), {"segment": COLUMNS["segment"], "n": COLUMNS["n"]}))
    body = report.section("evidence", "Evidence")
    body.paragraph("First paragraph.")
    body.paragraph("First paragraph.")
    body.chart(_chart())
    answer = report.section("answer", "The answer", part="answer")
    answer.verdict("More people are needed to tell.")
    answer.figures([KeyFigure("People compared", "777", "matched 1:1")])
    answer.findings(
        [Finding("info", "info", "A note."), Finding("underpowered", "error", "Too few people to detect 10%.")]
    )
    report.section("empty", "Nothing here")
    page = report.write(tmp_path / "r.html").read_text(encoding="utf-8")
    assert [s.key for s in report.shown_sections()] == ["answer", "evidence", "tables"]
    assert page.index("data-verdict") < page.index("<nav") < page.index('id="evidence"') < page.index('id="tables"')
    assert page.count("<p>First paragraph.</p>") == 1 and 'id="empty"' not in page
    # Findings as sentences with their severity in words, the most serious first.
    assert page.index("Must fix") < page.index(">Note<") and "underpowered" not in page
    assert 'role="img" aria-label="A rising line from 0 to 1."' in page and "<title>A rising line" in page
    # Nothing is fetched from elsewhere: no external scripts, styles, images or fonts.
    for marker in ('src="http', 'href="http', "url(http", "@import", "<script", "<link "):
        assert marker not in page


def test_a_table_has_a_caption_headings_in_words_and_a_note_for_suppressed_rows():
    report = Report("Counts")
    section = report.section("counts", "Counts")
    frame = pd.DataFrame({"segment": ["a", "b"], "n": [3, 40], "rate": [0.5, 0.4251]})
    section.table(
        Table(
            frame,
            {"segment": COLUMNS["segment"], "n": COLUMNS["n"], "rate": Column("Rate", "percent")},
            "By segment",
            ("n",),
        )
    )
    page = report.to_html()
    assert "<caption>By segment</caption>" in page and '<th scope="col" class=num>People</th>' in page
    assert "42.5%" in page and "1 row(s) of By segment suppressed" in page
    html = table_to_html(Table(frame, {"segment": COLUMNS["segment"]}))
    assert "<th scope=row>a</th>" in html


def test_charts_drawn_for_one_report_are_reused_by_another_from_the_same_result():
    drawn: list[int] = []

    def make() -> Chart:
        drawn.append(1)
        return _chart()

    shared: dict = {}
    for _ in range(3):
        Report("x", rendered=shared).section("s", "S").chart(make)
    assert len(drawn) == 1 and list(shared) == ["s-1"]


def test_a_part_that_does_not_exist_is_a_parameter_error():
    with pytest.raises(ParameterError, match=r"'part' parameter of Report.section must be one of 'answer'"):
        Report("x").section("s", "S", part="appendix")


def test_printing_without_chromium_says_how_to_get_it(tmp_path):
    with pytest.raises(DesistError, match="could not print the report"):
        Report("x").to_pdf(tmp_path / "r.pdf", chromium=tmp_path / "no-such-browser")


#: A stand-in for Chromium: it asks for the page at the address it is given, and "prints" what it gets.
FAKE_BROWSER = """#!{python}
import sys, urllib.request
target = next(a for a in sys.argv if a.startswith("--print-to-pdf=")).partition("=")[2]
with urllib.request.urlopen(sys.argv[-1], timeout=60) as page:
    open(target, "wb").write(page.read())
"""


@pytest.fixture
def fake_browser(tmp_path):
    import sys

    browser = tmp_path / "fake-chromium"
    browser.write_text(FAKE_BROWSER.format(python=sys.executable))
    browser.chmod(0o755)
    return browser


def test_the_browser_starts_before_the_page_exists_and_prints_the_page_given(tmp_path, fake_browser):
    from desist.report import printing

    with printing(chromium=fake_browser) as give:
        assert not (tmp_path / "r.pdf").exists()
        give("<p>£12</p>", tmp_path / "r.pdf")
    assert (tmp_path / "r.pdf").read_text(encoding="utf-8") == "<p>£12</p>"


def test_printing_stops_with_the_block_that_failed_or_gave_no_page(tmp_path, fake_browser):
    from desist.report import printing

    with pytest.raises(KeyError), printing(chromium=fake_browser):
        raise KeyError("computing failed")
    with pytest.raises(DesistError, match="No report was given to Chromium"), printing(chromium=fake_browser):
        pass


def test_a_chart_is_cut_to_the_box_matplotlib_finds_for_a_tight_save():
    import io
    import re

    import matplotlib

    from desist import figures
    from desist.report import figure_to_svg

    balance = pd.DataFrame(
        {("before", "smd"): [0.31, -0.12, 0.05], ("after", "smd"): [0.02, 0.04, -0.01]},
        index=["age", "sexfemale", "a_much_longer_characteristic_name"],
    )
    chart = figures.love_plot(balance, ["age", "sex"])
    ours = figure_to_svg(chart.figure)
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "desist"}):
        chart.figure.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    box = re.compile(r'viewBox="([^"]+)"')
    assert box.search(ours).group(1) == box.search(buf.getvalue()).group(1)
