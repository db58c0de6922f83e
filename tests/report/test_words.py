"""Words and numbers as people read them, in every output of an appraisal: the terminal, the HTML report and the
workbook. No sentence holds a key (``word_word``), a number in scientific notation or "p = <"; and each
reader's answer gives the same figures in all three."""

from __future__ import annotations

import html
import re
from functools import lru_cache

import openpyxl
import pytest

from desist.commands.report import show_story
from desist.panels import panels
from desist.workbook import story_workbook
from tests.appraisal.test_appraisal import built_appraisal
from tests.report.test_sections import built_reports

SNAKE = re.compile(r"\b[A-Za-z][a-z0-9]*_[a-z0-9_]+\b")
SCIENTIFIC = re.compile(r"\d(?:\.\d+)?[eE][+-]?\d+\b")
P_EQUALS_LESS = re.compile(r"p\s*=\s*<")
#: A sentence: at least four words (a cell holding one key, e.g. a ledger's item, is data, not a sentence).
WORDS = re.compile(r"\S+\s+\S+\s+\S+\s+\S+")


def _sentences(texts) -> list[str]:
    return [t for t in texts if isinstance(t, str) and WORDS.search(t)]


def _problems(texts) -> list[str]:
    """Each wrong word or number with the words around it."""
    found = []
    for t in _sentences(texts):
        for pattern in (SNAKE, SCIENTIFIC, P_EQUALS_LESS, re.compile(r"provider\(s\)")):
            found += [t[max(m.start() - 60, 0) : m.end() + 20] for m in pattern.finditer(t)]
    return found


@lru_cache(maxsize=1)
def terminal_text() -> str:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        show_story(built_appraisal(), [])
    return buffer.getvalue()


def html_texts(path=None) -> list[str]:
    """The text of each element of a report (``path``, default the shared appraisal's), styles left out."""
    page = built_reports()["commissioner"].to_html() if path is None else path.read_text(encoding="utf-8")
    page = re.sub(r"<style.*?</style>", "", page, flags=re.S)
    return [html.unescape(t).strip() for t in re.split(r"<[^>]+>", page) if t.strip()]


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    return openpyxl.load_workbook(story_workbook(built_appraisal(), tmp_path_factory.mktemp("words") / "r.xlsx"))


def _cells(book) -> list[str]:
    return [c for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)]


def test_no_sentence_on_the_terminal_holds_a_key_scientific_notation_or_p_equals_less():
    # Lines wrap on the terminal: the whole output read as one text.
    assert _problems([" ".join(terminal_text().split())]) == []


def test_no_sentence_in_the_report_holds_a_key_scientific_notation_or_p_equals_less():
    assert _problems(html_texts()) == []


def test_no_sentence_in_the_workbook_holds_a_key_scientific_notation_or_p_equals_less(book):
    assert _problems(_cells(book)) == []
    findings = book["Findings"]
    assert "Code" not in [c.value for c in findings[1]]


def test_the_check_finds_what_it_looks_for():
    found = _problems(
        [
            "Consider pricing.incentive_neutral for this tariff",
            "The test gives p = < 0.001 here",
            "The test gives p = 9.9e-09 here",
            "Funnel: 0 provider(s) outside the limits",
        ]
    )
    assert len(found) == 4


def test_each_answer_gives_the_same_figures_on_the_terminal_in_the_report_and_in_the_workbook(book):
    page = " ".join(html_texts())
    said = " ".join(terminal_text().split())
    cells = set(_cells(book))
    for panel in panels(built_appraisal()).values():
        for figure in panel.figures:
            assert figure.value in page and figure.value in cells, figure
            assert f"{figure.label} {figure.value}" in said, figure
        assert " ".join(panel.verdict.split()) in said and panel.verdict in page and panel.verdict in cells
