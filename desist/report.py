"""One self-contained HTML report: sections of text, tables and inline SVG plots.

Nothing in the file reaches the network: styles are inline, plots are SVG
elements, so it opens anywhere and prints cleanly. Tables pass through
:func:`suppress_small_cells` before they are shown, because the records behind
them are people's.

Examples
--------
>>> import pandas as pd
>>> r = Report("Example")
>>> _ = r.add("counts", "Counts", table=pd.DataFrame({"group": ["a", "b"], "n": [120, 4]}), n_columns=["n"])
>>> "suppressed" in r.to_html()
True
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

#: Cells counting fewer people than this are not shown (and nor is anything
#: computed from them), following the usual statistical disclosure practice.
SUPPRESSION_THRESHOLD = 10
SUPPRESSED = "suppressed (<10)"


def suppress_small_cells(
    table: pd.DataFrame,
    n_columns: Sequence[str],
    threshold: int = SUPPRESSION_THRESHOLD,
    label_columns: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, int]:
    """Blank every row whose count in any of ``n_columns`` is 1 to ``threshold - 1``.

    The whole row goes but its labels, not only the count, because a rate and
    its CI give the count back. Zero counts are shown: they identify nobody.

    Parameters
    ----------
    table : pandas.DataFrame
        The table to show.
    n_columns : sequence of str
        Columns that hold counts of people.
    threshold : int
        Smallest count shown.
    label_columns : sequence of str, optional
        Columns that name the row and stay visible; by default the first column.

    Returns
    -------
    (pandas.DataFrame, int)
        The table for display (object dtype) and the number of rows suppressed.

    Examples
    --------
    >>> t = pd.DataFrame({"segment": ["women", "men"], "n": [7, 300], "rate": [0.4, 0.5]})
    >>> shown, k = suppress_small_cells(t, ["n"])
    >>> k, shown.loc[0, "rate"]
    (1, 'suppressed (<10)')
    """
    missing = [c for c in n_columns if c not in table.columns]
    if missing:
        raise ValueError(f"suppress_small_cells: count columns {missing} are not in the table {list(table.columns)}")
    counts = table[list(n_columns)].apply(pd.to_numeric, errors="coerce")
    small = ((counts > 0) & (counts < threshold)).any(axis=1).to_numpy()
    shown = table.astype(object)
    keep = list(table.columns[:1]) if label_columns is None else list(label_columns)
    blank = [c for c in table.columns if c not in keep]
    shown.loc[small, blank] = SUPPRESSED
    return shown, int(small.sum())


def figure_to_svg(fig: Figure) -> str:
    """The figure as an inline ``<svg>`` element (no XML header, no external links)."""
    buf = io.StringIO()
    # No date in the metadata, so the same numbers give the same file.
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buf.getvalue()
    return svg[svg.index("<svg") :]


def _format_cell(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return "–"
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.3g}"
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{value:,}"
    if value is None or value is pd.NA or value is pd.NaT:
        return "–"
    return str(value)


def table_to_html(table: pd.DataFrame) -> str:
    """A plain HTML table with numbers formatted for reading."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for record in table.itertuples(index=False):
        cells = "".join(
            f'<td class="{"num" if isinstance(v, (int, float, np.number)) and not isinstance(v, bool) else "txt"}">'
            f"{html.escape(_format_cell(v))}</td>"
            for v in record
        )
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


@dataclass
class Section:
    """One part of the report; ``key`` becomes its HTML id.

    ``blocks`` keeps tables and figures in the order they were added, as
    ``(kind, caption, html)`` with kind ``"table"`` or ``"figure"``.
    """

    key: str
    title: str
    text: str = ""
    pre: str = ""
    blocks: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


_TEMPLATE = jinja2.Environment(
    loader=jinja2.PackageLoader("desist", "templates"), autoescape=jinja2.select_autoescape(["html", "j2"])
)


class Report:
    """A report assembled section by section, written as one HTML file.

    Parameters
    ----------
    title : str
        Shown at the top and in the browser tab.
    subtitle : str
        One line under the title, e.g. the data's as-of date.
    """

    def __init__(self, title: str, subtitle: str = "") -> None:
        self.title = title
        self.subtitle = subtitle
        self.sections: list[Section] = []

    def add(
        self,
        key: str,
        title: str,
        *,
        text: str = "",
        pre: str = "",
        table: pd.DataFrame | None = None,
        caption: str = "",
        n_columns: Sequence[str] = (),
        figure: Figure | None = None,
        figure_caption: str = "",
        note: str = "",
    ) -> Section:
        """Add to (or start) the section ``key``.

        ``text`` is prose (blank lines separate paragraphs; the same text twice
        is kept once); ``pre`` is shown with its line breaks. A table is shown
        after suppressing small cells in ``n_columns``; a note says how many rows
        were suppressed. A figure is inlined as SVG and closed.
        """
        section = next((s for s in self.sections if s.key == key), None)
        if section is None:
            section = Section(key=key, title=title)
            self.sections.append(section)
        if text and text not in section.text:
            section.text = f"{section.text}\n\n{text}".strip()
        if pre:
            section.pre = f"{section.pre}\n{pre}".strip("\n")
        if table is not None:
            shown, k = suppress_small_cells(table, n_columns)
            section.blocks.append(("table", caption, table_to_html(shown)))
            if k:
                section.notes.append(
                    f"{k} row(s) of {caption or title} suppressed: fewer than {SUPPRESSION_THRESHOLD} people."
                )
        if figure is not None:
            import matplotlib.pyplot as plt

            section.blocks.append(("figure", figure_caption, figure_to_svg(figure)))
            plt.close(figure)
        if note:
            section.notes.append(note)
        return section

    def to_html(self) -> str:
        """The whole report as one HTML string."""
        paragraphs = {s.key: [p.strip() for p in s.text.split("\n\n") if p.strip()] for s in self.sections}
        return _TEMPLATE.get_template("report.html.j2").render(
            title=self.title,
            subtitle=self.subtitle,
            sections=self.sections,
            paragraphs=paragraphs,
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        )

    def write(self, path: str | Path) -> Path:
        """Write the report to ``path`` (UTF-8) and return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_html(), encoding="utf-8")
        return path
