"""The command line's text for people: headings, sentences, tables, findings and the files written.

Every command prints through these functions, so the terminal shows the
same tables as the report and the workbook (:mod:`desist.tables`), with the
same numbers for people (:mod:`desist.format`): "41.7% (39.8% to 43.6%)",
"£1,087,040", human column headings, findings as sentences led by their
severity in words, and a closing list of every file written.

On a terminal, rich fits the text to the window and shows headings in bold.
Anywhere else (a pipe, a log, a test) the width is fixed at :data:`WIDTH`
and there is no colour or markup, so the output is the same on every
machine and can be searched with grep. A number is never wrapped across
lines: a table too wide for the width is shown turned on its side.

:func:`progress` shows a step that takes more than :data:`SHOW_AFTER` seconds
on stderr as it runs: a bar over its named parts, or a spinner with the
elapsed time. Quicker steps show nothing, and nothing is shown under
``--json`` or when stderr is not a terminal. The library prints nothing: a
step with parts reports each as it starts through a callback.

Examples
--------
>>> import pandas as pd
>>> from desist.format import Column, Table
>>> heading("Spend against budget", first=True)
Spend against budget
>>> facts({"Budget": "£1,187,550", "Expected spend": "£1,184,993"})
Budget           £1,187,550
Expected spend   £1,184,993
>>> files(["out/report.html"])
<BLANKLINE>
Files written:
  out/report.html
  out/manifest.json
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from desist.format import Table
from desist.outputs import MANIFEST
from ground.findings import by_severity
from ground.words import SEVERITY_WORDS

__all__ = ["SHOW_AFTER", "WIDTH", "console", "facts", "files", "findings", "heading", "paragraph", "progress", "table"]

#: Characters per line when the output is not a terminal.
WIDTH = 100
#: Kinds of column written as text (left-aligned); every other kind is a number (right-aligned).
_TEXT_KINDS = ("text", "yes_no", "date")
#: Narrowest a wrapped text column may become before a table is turned on its side.
_NARROWEST_TEXT = 16
#: Seconds a step runs before its progress is shown: a quicker step shows nothing.
SHOW_AFTER = 2.0


def console() -> Console:
    """The console to print on: the terminal's width and colour, else :data:`WIDTH` and plain text."""
    if sys.stdout.isatty():
        return Console(highlight=False, emoji=False)
    return Console(width=WIDTH, color_system=None, highlight=False, emoji=False, force_terminal=False)


def heading(text: str, *, first: bool = False) -> None:
    """A block's heading, after a blank line unless it is the ``first`` line of the output."""
    out = console()
    if not first:
        out.print()
    out.print(Text(text, style="bold"))


def paragraph(text: str, *, wrap: bool = True) -> None:
    """A paragraph of text, wrapped at word boundaries (not with ``wrap=False``: a long path stays whole)."""
    console().print(Text(text), soft_wrap=not wrap)


def facts(pairs: Mapping[str, str]) -> None:
    """Named values, one a line: "Budget   £1,187,550"."""
    grid = RichTable.grid(padding=(0, 3))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for name, value in pairs.items():
        grid.add_row(Text(name), Text(value))
    console().print(grid)


#: A cell that starts like a number ("-1.0 points (-5.2 to 3.2 points)", "£215", "< 0.001") is kept on one line.
_NUMBER = re.compile(r"^[-+<>]?\s?£?\d")


def _numeric(shown: Table, frame: Any) -> list[bool]:
    """Which columns hold numbers: by their kind, or (for text) because every cell starts like one."""
    kinds = [c.kind for c in shown.shown_columns().values()]
    return [
        kind not in _TEXT_KINDS
        or (kind == "text" and len(frame) > 0 and all(_NUMBER.match(str(c)) or not str(c) for c in frame[name]))
        for kind, name in zip(kinds, frame.columns)
    ]


def _fixed_width(header: str, cells: Sequence[str]) -> int:
    # A heading may wrap, but over no more lines than it needs at a dozen characters a line.
    longest_word = max((len(w) for w in header.split()), default=0)
    return max([longest_word, min(len(header), 12), *(len(c) for c in cells)])


def _number_widths(frame: Any, numeric: Sequence[bool], width: int) -> list[int]:
    """Widths of the number columns: their longest number, widened toward their heading's length while room is left."""
    natural = [len(str(h)) for h in frame.columns]
    widths = [
        _fixed_width(str(h), [str(c) for c in frame[h]]) if n else max([natural[i], *(len(str(c)) for c in frame[h])])
        for i, (h, n) in enumerate(zip(frame.columns, numeric))
    ]
    spare = width - sum(widths) - 3 * len(widths)
    growing = [i for i, n in enumerate(numeric) if n and widths[i] < natural[i]]
    while spare > 0 and growing:
        for i in list(growing):
            if spare <= 0:
                break
            widths[i] += 1
            spare -= 1
            if widths[i] >= natural[i]:
                growing.remove(i)
    return widths


def _rich_table(frame: Any, numeric: Sequence[bool], width: int) -> RichTable:
    shown = RichTable(box=box.SIMPLE_HEAD, show_edge=False, header_style="bold", pad_edge=True)
    widths = _number_widths(frame, numeric, width)
    for header, is_number, fixed in zip(frame.columns, numeric, widths):
        cells = [str(c) for c in frame[header]]
        if is_number:
            # A fixed width at least the size of its longest number: never wrapped, never cut.
            shown.add_column(Text(header), justify="right", width=fixed)
        else:
            shown.add_column(Text(header), justify="left", min_width=min(_fixed_width(header, cells), 12))
    for row in frame.itertuples(index=False):
        shown.add_row(*(Text(str(c)) for c in row))
    return shown


def _fits(frame: Any, numeric: Sequence[bool], width: int) -> bool:
    needed = 0
    for header, is_number in zip(frame.columns, numeric):
        cells = [str(c) for c in frame[header]]
        if is_number:
            needed += _fixed_width(str(header), cells)
        else:
            needed += min(max([len(str(header)), *(len(c) for c in cells)]), _NARROWEST_TEXT)
    return needed + 3 * len(frame.columns) <= width


def _sideways(frame: Any) -> Any:
    """The table turned on its side: one row per column, one column per row, the first column naming them."""
    names = [str(v) for v in frame.iloc[:, 0]]
    turned = frame.iloc[:, 1:].T
    turned.columns = names if len(set(names)) == len(names) else [f"{i + 1}. {n}" for i, n in enumerate(names)]
    return turned.reset_index(names=frame.columns[0] if len(frame.columns) else "")


def table(shown: Table, *, columns: Sequence[str] | None = None, caption: bool = True) -> None:
    """A :class:`desist.format.Table` as people read it: headings in words, numbers right-aligned.

    ``columns`` picks some of the table's columns (by name in its frame) for
    a narrow screen. Its caption is printed above it (unless ``caption`` is
    false) and rows suppressed as small cells are said below it. A table too wide for the
    line is turned on its side (a row per column); if even that is too wide,
    it is shown a few of its rows at a time.
    """
    if columns is not None:
        every = shown.shown_columns()
        shown = replace(shown, columns={name: every[name] for name in columns})
    out = console()
    frame = shown.readable()
    numeric = _numeric(shown, frame)
    if caption and shown.caption:
        out.print(Text(shown.caption, style="bold"))
    if _fits(frame, numeric, out.width):
        out.print(_rich_table(frame, numeric, out.width))
    else:
        for part in _parts(frame, out.width):
            out.print(_rich_table(part, [False] + [True] * (len(part.columns) - 1), out.width))
    if shown.suppressed_rows:
        rows = shown.suppressed_rows
        out.print(Text(f"{rows} row{'s' if rows != 1 else ''} counting fewer than 10 people not shown."))


def _parts(frame: Any, width: int) -> Iterable[Any]:
    """The table on its side, in as few pieces as fit the width."""
    turned = _sideways(frame)
    first = _fixed_width(str(turned.columns[0]), [str(c) for c in turned.iloc[:, 0]])
    start = 1
    while start < len(turned.columns):
        end, used = start, first + 3
        while end < len(turned.columns):
            cells = [str(c) for c in turned.iloc[:, end]]
            step = _fixed_width(str(turned.columns[end]), cells) + 3
            if used + step > width and end > start:
                break
            used += step
            end += 1
        yield turned.iloc[:, [0, *range(start, end)]]
        start = end


def findings(found: Sequence[Any], *, none: str = "No findings.") -> None:
    """Findings as sentences, most serious first, each led by its severity in words ("Worth fixing: ...")."""
    if not found:
        paragraph(none)
        return
    out = console()
    for f in by_severity(list(found)):
        line = Text(f"{SEVERITY_WORDS[f.severity]}: ", style="bold")
        line.append(f.message)
        out.print(line)


def panel(answer: Any) -> None:
    """A reader's panel (:class:`desist.panels.Panel`): its heading, verdict, sentences, key figures, findings."""
    heading(answer.title)
    paragraph(answer.verdict)
    for text in answer.paragraphs:
        paragraph(text)
    if answer.figures:
        facts({f.label: f"{f.value}: {f.detail}" if f.detail else f.value for f in answer.figures})
    if answer.findings:
        findings(answer.findings)


def files(paths: Sequence[str]) -> None:
    """ "Files written:" then one path a line, ending with the folder's manifest (nothing when none was written).

    ``paths`` are a command's files (:func:`desist.commands.common.written`);
    the output folder's ``manifest.json`` is written beside them.
    """
    if not paths:
        return
    manifest = str(Path(paths[0]).parent / MANIFEST)
    out = console()
    out.print()
    out.print(Text("Files written:", style="bold"))
    for path in [*paths, *([manifest] if manifest not in paths else [])]:
        out.print(Text(f"  {path}"), soft_wrap=True)


@contextmanager
def progress(description: str, *, quiet: bool = False, parts: Sequence[str] = ()) -> Iterator[Callable[[str], None]]:
    """Progress on stderr for a step, shown once it has run :data:`SHOW_AFTER` seconds.

    With ``parts`` a bar over them: call the function this yields with a part's
    name as it starts (a library's progress callback) and the bar moves to it.
    Without, a spinner with the elapsed time. Nothing is shown when ``quiet``
    (``--json``) or when stderr is not a terminal.

    Parameters
    ----------
    description : str
        What the step does, shown until its first part starts.
    quiet : bool
        Show nothing.
    parts : sequence of str
        The step's parts in order.

    Examples
    --------
    >>> with progress("Matching 500 people to a pool of 200,000") as started:
    ...     started("matching")  # nothing shown: stderr is not a terminal here
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    err = Console(stderr=True)
    if quiet or not err.is_terminal:
        yield lambda part: None
        return
    columns = (
        (TextColumn("{task.description:<28}"), BarColumn())
        if parts
        else (SpinnerColumn(finished_text="[green]done"), TextColumn("{task.description}"))
    )
    bar = Progress(*columns, TimeElapsedColumn(), console=err)
    task = bar.add_task(description, total=max(len(parts), 1))
    lock, state = threading.Lock(), {"over": False}

    def show() -> None:
        with lock:
            if not state["over"]:
                bar.start()

    def started(part: str) -> None:
        bar.update(task, description=part, completed=list(parts).index(part) if part in parts else 0)

    # Started by a timer, so a step quicker than SHOW_AFTER never shows.
    timer = threading.Timer(SHOW_AFTER, show)
    timer.daemon = True
    timer.start()
    try:
        yield started
        bar.update(task, completed=max(len(parts), 1))
    finally:
        timer.cancel()
        with lock:
            state["over"] = True
            bar.stop()
