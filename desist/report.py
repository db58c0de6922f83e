"""One self-contained HTML report that reads as a decision: the answer first, the evidence next, an annex last.

A :class:`Report` holds sections in three parts: ``"answer"`` (the first
screen: the reader's question answered in a sentence or two), ``"body"`` (the
evidence in words, with figures) and ``"annex"`` (the technical tables).
Sections hold blocks: paragraphs, a verdict, key figures, findings with their
severity, tables (:class:`desist.format.Table`, small cells suppressed) and
charts (:class:`desist.figures.Chart`, inlined as SVG with their alt text).

Nothing in the file reaches the network: styles are inline and figures are
SVG elements, so it opens anywhere and prints cleanly; :meth:`Report.to_pdf`
prints it through headless Chromium.

Examples
--------
>>> import pandas as pd
>>> from desist.format import COLUMNS, Table
>>> r = Report("Example")
>>> s = r.section("counts", "Counts")
>>> s.table(Table(pd.DataFrame({"segment": ["a", "b"], "n": [120, 4]}),
...               {"segment": COLUMNS["segment"], "n": COLUMNS["n"]}, n_columns=("n",)))
>>> "suppressed" in r.to_html()
True
"""

from __future__ import annotations

import html
import io
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from desist.format import SUPPRESSED, SUPPRESSION_THRESHOLD, Table, suppress_small_cells
from ground.checks import Options, check_parameter
from ground.errors import DesistError
from ground.words import SEVERITY_WORDS

__all__ = [
    "BROWSER_FLAGS",
    "PARTS",
    "SUPPRESSED",
    "SUPPRESSION_THRESHOLD",
    "KeyFigure",
    "Report",
    "Section",
    "figure_to_svg",
    "find_chromium",
    "printing",
    "suppress_small_cells",
    "table_to_html",
]

#: The report's parts in reading order, with their headings.
PARTS = {"answer": "Each reader's answer", "body": "The evidence", "annex": "Annex: technical tables"}
#: Chromium flags for a sandboxed machine with no network: no first-run, sync or background traffic.
BROWSER_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
#: ... and for printing without a display. Headless Chromium is the whole browser: it readies its address bar's
#: drop-down (a web page of its own, in a renderer of its own), which printing never shows; without it the same PDF
#: is printed in about 10% less time.
CHROMIUM_FLAGS = ("--headless", *BROWSER_FLAGS, "--no-pdf-header-footer", "--disable-features=WebUIOmniboxPopup")


def figure_to_svg(fig: Any, alt: str = "", prefix: str = "") -> str:
    """The figure as an inline ``<svg>`` element with its alt text (no XML header, no external links).

    ``prefix`` is put before every id in the SVG, so several figures on one
    page never share an id.
    """
    import matplotlib

    buf = io.StringIO()
    # No date in the metadata and fixed ids, so the same numbers give the same file.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "desist"}):
        fig.savefig(buf, format="svg", bbox_inches=_tight_box(fig), metadata={"Date": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    if prefix:
        svg = re.sub(r'\bid="', f'id="{prefix}', svg)
        svg = re.sub(r"url\(#", f"url(#{prefix}", svg)
        svg = re.sub(r'href="#', f'href="#{prefix}', svg)
    if alt:
        words = html.escape(alt, quote=True)
        svg = svg.replace("<svg ", f'<svg role="img" aria-label="{words}" ', 1)
        opened = svg.index(">") + 1
        svg = f"{svg[:opened]}<title>{words}</title>{svg[opened:]}"
    return svg


def _tight_box(fig: Any) -> Any:
    """The figure's drawn area plus ``savefig.pad_inches``, as ``bbox_inches="tight"`` finds it, in one pass.

    ``savefig(bbox_inches="tight")`` draws the figure once to find the box and again to write it; measuring the
    artists' extents with an SVG renderer at the SVG backend's 72 dpi gives the same box (the same text metrics)
    without the first drawing, which took a third of the report's chart time.
    """
    from matplotlib import rcParams
    from matplotlib.backends.backend_svg import RendererSVG

    dpi, fig.dpi = fig.dpi, 72  # the SVG backend always draws at 72 dpi
    try:
        width, height = fig.get_size_inches() * 72
        box = fig.get_tightbbox(RendererSVG(width, height, io.StringIO()))
    finally:
        fig.dpi = dpi
    return box.padded(rcParams["savefig.pad_inches"])


def table_to_html(table: Table) -> str:
    """The table as HTML for people: a caption, headings in words, numbers formatted and right-aligned."""
    shown = table.readable()
    kinds = [c.kind for c in table.shown_columns().values()]
    numeric = [k not in ("text", "yes_no") for k in kinds]
    caption = f"<caption>{html.escape(table.caption)}</caption>" if table.caption else ""
    head = "".join(
        f'<th scope="col"{" class=num" if n else ""}>{html.escape(str(c))}</th>' for c, n in zip(shown.columns, numeric)
    )
    rows = []
    for record in shown.itertuples(index=False):
        cells = []
        for i, (v, n) in enumerate(zip(record, numeric)):
            tag = "th scope=row" if i == 0 else "td"
            cls = " class=num" if n and v != SUPPRESSED else ""
            cells.append(f"<{tag}{cls}>{html.escape(str(v))}</{tag.split()[0]}>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


@dataclass(frozen=True)
class KeyFigure:
    """One number on the first screen: what it is, the number, and a line of context."""

    label: str
    value: str
    detail: str = ""


@dataclass
class Section:
    """One part of the report; ``key`` becomes its HTML id.

    ``blocks`` keeps what was added, in order, as ``(kind, content)``: kind is
    ``"verdict"``, ``"paragraph"``, ``"figures"``, ``"findings"``,
    ``"list"``, ``"table"``, ``"chart"`` or ``"note"``.
    """

    key: str
    title: str
    part: str = "body"
    blocks: list[tuple[str, Any]] = field(default_factory=list)
    #: Rendered charts by ``"<section>-<n>"``, shared by reports drawn from one result.
    rendered: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False)

    def verdict(self, text: str) -> None:
        """The answer in one sentence, shown large."""
        self.blocks.append(("verdict", text))

    def paragraph(self, text: str) -> None:
        """Prose; the same paragraph twice is kept once."""
        if text and ("paragraph", text) not in self.blocks:
            self.blocks.append(("paragraph", text))

    def figures(self, figures: Sequence[KeyFigure]) -> None:
        """Key numbers side by side, each with its label and context."""
        if figures:
            self.blocks.append(("figures", list(figures)))

    def findings(self, findings: Sequence[Any]) -> None:
        """Findings (``code``, ``severity``, ``message``) as sentences, most serious first."""
        order = list(SEVERITY_WORDS)
        ranked = sorted(findings, key=lambda f: order.index(f.severity))
        self.blocks.append(("findings", [(f.severity, SEVERITY_WORDS[f.severity], f.message) for f in ranked]))

    def items(self, items: Sequence[tuple[str, str]]) -> None:
        """A list of (term, definition) pairs, e.g. segments and their rules in words."""
        if items:
            self.blocks.append(("list", list(items)))

    def table(self, table: Table) -> None:
        """A table, small cells suppressed, with a note saying how many rows were."""
        self.blocks.append(("table", table_to_html(table)))
        hidden = table.suppressed_rows
        if hidden:
            what = table.caption or self.title
            self.note(f"{hidden} row(s) of {what} suppressed: fewer than {SUPPRESSION_THRESHOLD} people.")

    def chart(self, chart: Any) -> None:
        """A chart inlined as SVG, with its alt text and caption.

        ``chart`` is a :class:`desist.figures.Chart`, or a function that makes
        one: then a chart already drawn for another report from the same
        result is reused rather than drawn again.
        """
        key = f"{self.key}-{sum(kind == 'chart' for kind, _ in self.blocks) + 1}"
        if key not in self.rendered or not callable(chart):
            made = chart() if callable(chart) else chart
            self.rendered[key] = (figure_to_svg(made.figure, made.alt, prefix=f"{key}-"), made.caption)
        self.blocks.append(("chart", self.rendered[key]))

    def note(self, text: str) -> None:
        """A small-print note under the section."""
        if text:
            self.blocks.append(("note", text))


def _template():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("desist", "templates"), autoescape=jinja2.select_autoescape(["html", "j2"])
    )
    return env.get_template("report.html.j2")


class Report:
    """A report assembled section by section, written as one HTML file (or printed to PDF).

    Parameters
    ----------
    title : str
        Shown at the top and in the browser tab: the reader's question.
    subtitle : str
        One line under the title, e.g. the metric and the data's as-of date.
    rendered : dict, optional
        Charts already drawn (see :meth:`Section.chart`), shared between
        reports drawn from one result.
    """

    def __init__(self, title: str, subtitle: str = "", *, rendered: dict | None = None) -> None:
        self.title = title
        self.subtitle = subtitle
        self.sections: list[Section] = []
        self.rendered = {} if rendered is None else rendered

    def section(self, key: str, title: str, *, part: str = "body") -> Section:
        """The section ``key``, started (at the end of its part) if new."""
        check_parameter(part, "part", "Report.section", Options(*PARTS))
        found = next((s for s in self.sections if s.key == key), None)
        if found is None:
            found = Section(key=key, title=title, part=part, rendered=self.rendered)
            self.sections.append(found)
        return found

    def shown_sections(self) -> list[Section]:
        """Sections with something in them, answer first, then the evidence, then the annex."""
        order = list(PARTS)
        return sorted((s for s in self.sections if s.blocks), key=lambda s: order.index(s.part))

    def to_html(self) -> str:
        """The whole report as one HTML string."""
        sections = self.shown_sections()
        parts = [(part, heading, [s for s in sections if s.part == part]) for part, heading in PARTS.items()]
        return _template().render(
            title=self.title,
            subtitle=self.subtitle,
            parts=[p for p in parts if p[2]],
            panels=[(s.key, s.key.capitalize()) for s in sections if s.part == "answer"],
            threshold=SUPPRESSION_THRESHOLD,
            generated=datetime.now(UTC).strftime("%d %B %Y, %H:%M UTC").lstrip("0"),
        )

    def write(self, path: str | Path) -> Path:
        """Write the report to ``path`` (UTF-8) and return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_html(), encoding="utf-8")
        return path

    def to_pdf(self, path: str | Path, *, chromium: str | Path | None = None, timeout: float = 120.0) -> Path:
        """Print the report to PDF through headless Chromium (A4, print styles) and return the path.

        Parameters
        ----------
        path : str or pathlib.Path
            The PDF to write.
        chromium : str or pathlib.Path, optional
            The browser; default the first of ``chromium``, ``chromium-browser``,
            ``google-chrome`` on the PATH.
        timeout : float
            Seconds to wait for the browser.

        Raises
        ------
        DesistError
            No Chromium was found, or it failed to print.
        """
        with printing(chromium=chromium, timeout=timeout) as give:
            give(self.to_html(), path)
        return Path(path).resolve()


@contextmanager
def printing(
    *, chromium: str | Path | None = None, timeout: float = 120.0
) -> Iterator[Callable[[str, str | Path], None]]:
    """Headless Chromium, started as the block starts, prints the page the block gives it to PDF.

    The block calls the function it is given with the page's HTML and the PDF's path once it has them: Chromium
    gets ready while the page is still being computed, and prints while the block goes on to its other work. It
    asks for the page on this machine's loopback (at a one-off address only it is told) and waits for it; the PDF
    is the one printing the page from a file gives. The PDF is in place when the block ends; an error in the block
    stops the browser.

    Raises
    ------
    DesistError
        No Chromium was found; it failed to print; or the block ended without giving a page, or no PDF came
        ``timeout`` seconds after the block ended.

    Examples
    --------
    >>> with printing() as give:  # doctest: +SKIP
    ...     give(build_the_report().to_html(), "report.pdf")
    ...     write_the_other_files()
    """
    browser = str(chromium) if chromium else find_chromium()
    page = _Page()
    with tempfile.TemporaryDirectory() as folder, _serving(page) as address:
        printed = Path(folder) / "report.pdf"
        command = [browser, *CHROMIUM_FLAGS, f"--print-to-pdf={printed}", address]
        try:
            started = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        except OSError as exc:
            raise DesistError(f"Chromium ({browser}) could not print the report: {exc}") from exc
        with started:
            try:
                yield page.give
                if page.path is None:
                    raise DesistError("No report was given to Chromium to print.")
            except BaseException:
                started.kill()
                raise
            try:
                out, err = started.communicate(timeout=timeout)
            except subprocess.TimeoutExpired as exc:
                started.kill()
                raise DesistError(f"Chromium ({browser}) could not print the report: {exc}") from exc
        if started.returncode != 0 or not printed.exists():
            tail = (err or out).strip().splitlines()[-3:]
            raise DesistError(f"Chromium ({browser}) could not print the report: {' '.join(tail) or 'no output'}")
        page.path.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(printed, page.path)


class _Page:
    """The page to print and where its PDF goes, once given; until then whoever asks for the page waits."""

    def __init__(self) -> None:
        self.html = b""
        self.path: Path | None = None
        self.ready = threading.Event()

    def give(self, html: str, path: str | Path) -> None:
        self.html, self.path = html.encode("utf-8"), Path(path).resolve()
        self.ready.set()


@contextmanager
def _serving(page: _Page) -> Iterator[str]:
    """The page's address while the block runs: on the loopback, at a path no one can guess; every other path is
    not found, and a request waits for the page (the server stops, and a waiting request ends, with the block)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    secret = f"/{secrets.token_urlsafe(16)}/report.html"
    stopped = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != secret:
                self.send_error(404)
                return
            while not page.ready.wait(0.2):
                if stopped.is_set():
                    return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page.html)))
            self.end_headers()
            self.wfile.write(page.html)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
            """Quiet: the command's output is its own."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{secret}"
    finally:
        stopped.set()
        server.shutdown()
        server.server_close()


def find_chromium() -> str:
    """The path of the first of ``chromium``, ``chromium-browser`` and ``google-chrome`` on the PATH.

    Raises
    ------
    DesistError
        None of them is on the PATH; the message says how to install Chromium.

    Examples
    --------
    >>> find_chromium()  # doctest: +SKIP
    '/usr/bin/chromium'
    """
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise DesistError(
        "Printing a PDF needs Chromium, and none was found on the PATH (looked for chromium, "
        "chromium-browser and google-chrome). Install it (Debian: apt-get install chromium) and put it on the PATH, "
        "or give Report.to_pdf chromium=PATH."
    )
