"""Griffe extension: the Sphinx roles in desist's docstrings become links in the API reference.

The docstrings name other objects the way Sphinx and numpydoc do (``:func:`~ground.tables.validate```,
``:class:`Finding```); mkdocstrings reads Markdown, where the same link is ``[`validate`][ground.tables.validate]``.
A leading ``~`` shows only the last name; a bare name (``Finding``) is looked up from where the docstring is
(mkdocstrings' scoped cross-references). A link that finds nothing fails the strict build, as a broken link should,
with two exceptions shown as plain code: a name outside desist's packages (``decimal.Decimal``: the build has no
network to read Python's inventory), and ``PACKAGE.NAME`` for a package listed in ``lazy`` (names its
``__init__`` loads on first use, which griffe cannot see).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import griffe

_ROOT = Path(__file__).resolve().parents[2]

_ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|obj|exc):`(?P<tilde>~?)(?P<target>[^`<>]+)`")


def _ours(target: str) -> bool:
    """Whether a dotted name starts with one of desist's packages (a folder at the repository's root).

    A bare name (``Finding``) is looked up from the docstring's own module, so it is ours too.
    """
    first = target.split(".", 1)[0]
    return "." not in target or (_ROOT / first / "__init__.py").is_file()


def markdown(text: str, lazy: frozenset[str] = frozenset()) -> str:
    """The docstring text with each Sphinx role written as a Markdown cross-reference.

    Examples
    --------
    >>> markdown("See :func:`~ground.tables.validate`.")
    'See [`validate`][ground.tables.validate].'
    >>> markdown(":class:`decimal.Decimal`")
    '`decimal.Decimal`'
    """

    def link(match: re.Match[str]) -> str:
        target = match["target"].strip().removesuffix("()")
        shown = target.rsplit(".", 1)[-1] if match["tilde"] else target
        if not _ours(target):
            return f"`{shown}`"
        package, _, name = target.partition(".")
        if package in lazy and name and "." not in name:
            return f'<autoref identifier="{target}" optional><code>{shown}</code></autoref>'
        return f"[`{shown}`][{target}]"

    return _ROLE.sub(link, text)


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles as Markdown cross-references in every docstring griffe loads.

    Parameters
    ----------
    lazy : list of str
        Packages whose ``__init__`` loads its names on first use: a link to ``PACKAGE.NAME`` is kept when it
        resolves and shown as plain code when it does not.
    """

    def __init__(self, lazy: list[str] | None = None) -> None:
        super().__init__()
        self.lazy = frozenset(lazy or ())

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = markdown(obj.docstring.value, self.lazy)
