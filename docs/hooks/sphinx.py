"""Griffe extension: the Sphinx markup in desist's docstrings becomes Markdown in the API reference.

The docstrings are numpydoc, written for Sphinx as much as for ``help()``; mkdocstrings reads Markdown. Three
kinds of markup are translated as each docstring is loaded:

- **Roles** (``:func:`~ground.tables.validate```, ``:class:`Finding```) become cross-references,
  ``[`validate`][ground.tables.validate]``. A leading ``~`` shows only the last name; a bare name is looked up
  from where the docstring is (mkdocstrings' scoped cross-references). A link that finds nothing fails the strict
  build, as a broken link should, except a name outside desist's packages (``decimal.Decimal``: the build has no
  network to read Python's inventory), shown as plain code.
- **Simple tables** (columns under lines of ``=``) become Markdown tables; a row whose first cell is empty
  continues the row above.
- **Literal blocks**: ``text::`` ends in one colon, and a ``.. code-block::`` line is dropped (the indented block
  after either is code in Markdown too).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import griffe

_ROOT = Path(__file__).resolve().parents[2]
_ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|obj|exc):`(?P<tilde>~?)(?P<target>[^`<>]+)`")
_BORDER = re.compile(r"^=+(?: +=+)+ *$")


def _ours(target: str) -> bool:
    """Whether a dotted name starts with one of desist's packages (a folder at the repository's root).

    A bare name (``Finding``) is looked up from the docstring's own module, so it is ours too.
    """
    first = target.split(".", 1)[0]
    return "." not in target or (_ROOT / first / "__init__.py").is_file()


def roles(text: str) -> str:
    """Each Sphinx role written as a Markdown cross-reference.

    Examples
    --------
    >>> roles("See :func:`~ground.tables.validate`.")
    'See [`validate`][ground.tables.validate].'
    >>> roles(":class:`decimal.Decimal`")
    '`decimal.Decimal`'
    """

    def link(match: re.Match[str]) -> str:
        target = match["target"].strip().removesuffix("()")
        shown = target.rsplit(".", 1)[-1] if match["tilde"] else target
        if not _ours(target):
            return f"`{shown}`"
        return f"[`{shown}`][{target}]"

    return _ROLE.sub(link, text)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _row(line: str, starts: list[int]) -> list[str]:
    ends = [*starts[1:], None]
    return [line[start:end].strip() for start, end in zip(starts, ends)]


def _table(lines: list[str]) -> list[str]:
    """A simple table (border, header, border, rows, border) as Markdown lines."""
    starts = [m.start() for m in re.finditer(r"=+", lines[0])]
    header_end = next(i for i in range(1, len(lines)) if _BORDER.match(lines[i]))
    header = [" ".join(cells).strip() for cells in zip(*(_row(line, starts) for line in lines[1:header_end]))]
    rows: list[list[str]] = []
    for line in lines[header_end + 1 : -1]:
        cells = _row(line, starts)
        if rows and not cells[0]:
            rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells)]
        elif line.strip():
            rows.append(cells)
    out = ["", "| " + " | ".join(map(_cell, header)) + " |", "|" + "---|" * len(header)]
    return [*out, *("| " + " | ".join(map(_cell, r)) + " |" for r in rows), ""]


def tables(text: str) -> str:
    """Each simple table written as a Markdown table.

    Examples
    --------
    >>> print(tables("====  ===\\nname  n\\n====  ===\\na     1\\n      2\\n====  ===").strip())
    | name | n |
    |---|---|
    | a | 1 2 |
    """
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        borders = [j for j in range(i, len(lines)) if _BORDER.match(lines[j])][:3]
        if borders[:1] == [i] and len(borders) == 3:
            out += _table(lines[i : borders[2] + 1])
            i = borders[2] + 1
        else:
            out.append(lines[i])
            i += 1
    return "\n".join(out)


def literal_blocks(text: str) -> str:
    """``text::`` with one colon, and ``.. code-block::`` lines dropped."""
    text = re.sub(r"^\s*\.\. code-block::.*\n", "", text, flags=re.MULTILINE)
    return re.sub(r"(\S)::$", r"\1:", text, flags=re.MULTILINE)


def markdown(text: str) -> str:
    """A docstring's Sphinx markup written as Markdown: roles, simple tables and literal blocks."""
    return roles(literal_blocks(tables(text)))


class SphinxToMarkdown(griffe.Extension):
    """Rewrite the Sphinx markup of every docstring griffe loads as Markdown."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = markdown(obj.docstring.value)
