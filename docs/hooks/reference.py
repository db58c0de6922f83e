"""MkDocs hook: the API reference, one page per module, generated from the packages the nav names.

mkdocs.yml lists each library package once, as ``- NAME: reference/NAME/index.md``. For each such entry this
hook writes the package's page (its docstring and a table of its modules) and one page per public module
(``::: package.module``), found by walking the package's folder, and puts the module pages in the nav beneath
the package. So a module added, renamed or removed needs no change here or in mkdocs.yml, and a new package is
one nav line. Modules are read from their source (griffe), never imported, and a module whose name starts with
an underscore is private and left out.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

_ENTRY = re.compile(r"^reference/(?P<package>[a-z_][a-z0-9_]*)/index\.md$")
_ROOT = Path(__file__).resolve().parents[2]

# package -> its public modules, dotted, in file order; filled by on_config, read by on_files.
_MODULES: dict[str, list[str]] = {}


def _modules(package: str) -> list[str]:
    """The package's public modules and subpackages (not the package itself), by walking its folder."""
    folder = _ROOT / package
    if not (folder / "__init__.py").is_file():
        raise FileNotFoundError(f"mkdocs.yml's nav names reference/{package}/index.md, but {folder} is no package")
    found = []
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(_ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if len(parts) < 2 or any(part.startswith("_") for part in parts):
            continue
        if path.name == "__init__.py" and not path.read_text(encoding="utf-8").strip():
            continue  # a folder of data files, not a module
        found.append(".".join(parts))
    return found


def _summary(module: str) -> str:
    """The first line of a module's docstring, read from its source."""
    path = _ROOT.joinpath(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return docstring.strip().splitlines()[0] if docstring.strip() else ""


def _page(module: str) -> str:
    return f"reference/{module.split('.')[0]}/{module}.md"


def _expand(nav: list) -> list:
    """The nav with each package entry turned into a section: the package page, then its modules."""
    expanded = []
    for entry in nav:
        if isinstance(entry, dict):
            ((title, target),) = entry.items()
            entry = {title: _expand(target) if isinstance(target, list) else _expand([target])[0]}
            if isinstance(target, str) and (match := _ENTRY.match(target)):
                package = match["package"]
                _MODULES[package] = _modules(package)
                entry = {title: [target, *({m: _page(m)} for m in _MODULES[package])]}
        expanded.append(entry)
    return expanded


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    _MODULES.clear()
    config.nav = _expand(config.nav or [])
    return config


def _package_page(package: str) -> str:
    rows = "\n".join(f"| [`{m}`]({m}.md) | {_summary(m).replace('|', '/')} |" for m in _MODULES[package])
    return (
        f"::: {package}\n    options:\n      members: false\n      show_root_heading: true\n\n"
        f"## Modules\n\n| module | what it does |\n|---|---|\n{rows}\n"
    )


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for package, modules in _MODULES.items():
        files.append(File.generated(config, f"reference/{package}/index.md", content=_package_page(package)))
        for module in modules:
            files.append(File.generated(config, _page(module), content=f"::: {module}\n"))
    return files
