"""The layout holds: imports point down the floors, no cycles, no long functions, no code run from text.

Read from the source with ``ast`` (not grep), so an import inside a function,
a relative import or an ``import x.y as z`` counts like any other.

Floors, lowest first: ground, outcomes, cohorts, metrics, pricing, validation,
appraisal, studies, desist. A package may import only packages on lower floors
(and itself). ``appraisal`` (what the demo and the report compute, as a
library) calls every floor below it; ``studies`` (simulation studies and
calibrations) sits above the library so that nothing users call depends on
it; ``desist`` (the command line and the report) is on top, and its commands
only parse, make one call and present.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FLOORS = ["ground", "outcomes", "cohorts", "metrics", "pricing", "validation", "appraisal", "studies", "desist"]
LIBRARY = FLOORS[:7]
#: Most lines of code a function in the library may have (docstring, comments and blank lines not counted).
MAX_LINES = 80
#: Most lines of code a command's body may have: parse the options, make one call, present the result.
MAX_COMMAND_LINES = 30
#: Names whose calls run text as code, and methods that do the same on a DataFrame.
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}
FORBIDDEN_METHODS = {"eval", "query"}
#: Modules that turn bytes into live objects (or run code while loading): a file from another
#: organisation must never reach them. Data is read as CSV, Parquet, Excel or TOML only.
FORBIDDEN_MODULES = {"pickle", "cPickle", "dill", "shelve", "marshal", "joblib", "cloudpickle", "yaml", "jsonpickle"}
#: Calls that unpickle, and yaml's loaders that build arbitrary objects.
FORBIDDEN_LOADERS = {"read_pickle", "to_pickle", "load_pickle", "unsafe_load", "full_load"}
#: Calls that hand text to a formula engine (patsy and formulaic evaluate formula terms as
#: Python), with the only functions allowed to make them: both take a formula only from their
#: caller's own script, and no command or spec passes one (tests/ground/test_expressions.py).
FORMULA_CALLS = {"logit", "glm", "ols", "probit", "poisson", "mnlogit", "negativebinomial", "wls", "gee", "phreg"}
FORMULA_ENGINES = {"patsy", "formulaic"}
FORMULA_ALLOWED = {("cohorts/difficulty.py", "_fit"), ("metrics/propensity.py", "_design")}


@cache
def _tree(path: Path) -> ast.Module:
    """A module's syntax tree, parsed once for all the checks."""
    return ast.parse(path.read_text(encoding="utf-8"))


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every import in a module, relative ones resolved."""
    tree = _tree(path)
    parts = path.relative_to(ROOT).with_suffix("").parts
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = parts[: len(parts) - node.level]
                out.append((node.lineno, (base[0] if base else (node.module or "").split(".")[0])))
            elif node.module:
                out.append((node.lineno, node.module.split(".")[0]))
    return out


def _lines_of_code(node: ast.FunctionDef | ast.AsyncFunctionDef, source: list[str]) -> int:
    body = node.body
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(getattr(body[0], "value", None), ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        body = body[1:]
    if not body:
        return 0
    lines = source[body[0].lineno - 1 : node.end_lineno]
    return sum(1 for line in lines if line.strip() and not line.strip().startswith("#"))


def test_imports_point_down_the_floors():
    wrong = []
    for floor, package in enumerate(FLOORS):
        for path in _modules(package):
            for line, target in _imports(path):
                if target in FLOORS and FLOORS.index(target) > floor:
                    wrong.append(
                        f"{path.relative_to(ROOT)}:{line} imports {target} (floor {FLOORS.index(target)}) "
                        f"from {package} (floor {floor})"
                    )
    assert not wrong, "imports that point up the floors:\n" + "\n".join(wrong)


def _module_names() -> dict[str, Path]:
    """Dotted name of every module on the floors (a package by its own name), and its file."""
    names = {}
    for package in FLOORS:
        for path in _modules(package):
            names[".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")] = path
    return names


def _imported_modules(name: str, path: Path, names: dict[str, Path]) -> set[str]:
    """The modules on the floors that ``name`` imports anywhere in its file (in functions too), relative ones resolved.

    ``from p import x`` imports the module ``p.x`` when there is one, else the name ``x`` from ``p``.
    """
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    targets = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1] + [node.module or ""]) if node.level else ""
            module = (base.rstrip(".") if node.level else node.module) or ""
            for alias in node.names:
                targets.add(f"{module}.{alias.name}" if f"{module}.{alias.name}" in names else module)
    return {t for t in targets if t in names and t != name}


def test_no_import_cycles_anywhere():
    """No module imports, at any depth and from anywhere in its file, a module that imports it back.

    An import inside a function counts: it hides a cycle from the import system, not from a reader. Between
    packages the floors already forbid it; this finds the cycles inside a package.
    """
    names = _module_names()
    graph = {name: _imported_modules(name, path, names) for name, path in names.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_check_sees_an_import_inside_a_function(tmp_path, monkeypatch):
    """Two modules that import each other, one of them inside a function, are a cycle."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("from pkg.b import g\n")
    (tmp_path / "pkg" / "b.py").write_text("def g():\n    from . import a\n")
    names = {f"pkg.{m}": tmp_path / "pkg" / f"{m}.py" for m in ("a", "b")}
    assert _imported_modules("pkg.a", names["pkg.a"], names) == {"pkg.b"}
    assert _imported_modules("pkg.b", names["pkg.b"], names) == {"pkg.a"}


def test_each_floor_imports_on_its_own():
    """Importing each floor in a fresh interpreter works (no hidden cycle, no lazy loader needed)."""
    import subprocess
    import sys

    code = "; ".join(f"import {p}" for p in reversed(FLOORS))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("package", LIBRARY)
def test_no_function_over_the_size_limit(package):
    long = []
    for path in _modules(package):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = _lines_of_code(node, lines)
                if n > MAX_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {n} lines")
    assert not long, f"functions over {MAX_LINES} lines of code (split them by their steps):\n" + "\n".join(long)


@pytest.mark.parametrize("package", FLOORS)
def test_no_text_is_run_as_code(package):
    """No module calls eval/exec/compile/__import__ or DataFrame.eval/.query: rules are parsed, never run."""
    found = []
    for path in _modules(package):
        for node in ast.walk(_tree(path)):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {func.id}()")
            elif isinstance(func, ast.Attribute) and func.attr in FORBIDDEN_METHODS:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} .{func.attr}()")
    assert not found, "text run as code:\n" + "\n".join(found)


@pytest.mark.parametrize("package", FLOORS)
def test_no_file_is_unpickled_or_loaded_as_objects(package):
    """No module imports pickle-like or yaml modules, calls pandas' pickle readers or numpy's pickle loading."""
    found = []
    for path in _modules(package):
        for line, target in _imports(path):
            if target in FORBIDDEN_MODULES:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
        for node in ast.walk(_tree(path)):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in FORBIDDEN_LOADERS:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}()")
            if any(k.arg == "allow_pickle" for k in node.keywords):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}(allow_pickle=...)")
    assert not found, "code that could load objects from a file:\n" + "\n".join(found)


def _formula_call(node: ast.AST) -> bool:
    """``smf.logit(...)``, ``sm.Logit.from_formula(...)``, ``patsy.dmatrices(...)`` and the like."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    attr, receiver = node.func.attr, node.func.value
    if attr in {"from_formula", "dmatrix", "dmatrices", "Formula", "model_matrix"}:
        return True
    return attr in FORMULA_CALLS and isinstance(receiver, ast.Name) and receiver.id in {"smf", "patsy", "formulaic"}


def test_formulas_reach_a_formula_engine_only_from_the_callers_own_code():
    """Only fit_difficulty and fit_propensity call a formula engine, and only with the formula their caller gave."""
    sites, imports = set(), []
    for package in FLOORS:
        for path in _modules(package):
            tree = _tree(path)
            for function in ast.walk(tree):
                if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    if any(_formula_call(node) for node in ast.walk(function)):
                        sites.add((str(path.relative_to(ROOT)), function.name))
            imports += [f"{path.relative_to(ROOT)}:{n} imports {t}" for n, t in _imports(path) if t in FORMULA_ENGINES]
    # Equal, not a subset: the audited calls are found, so the check can see a new one.
    assert sites == FORMULA_ALLOWED, f"formula engines called from {sorted(sites - FORMULA_ALLOWED)}"
    assert not imports, "\n".join(imports)


def _commands() -> dict[str, tuple[Path, ast.FunctionDef]]:
    """Each command by name: the function ``register`` hands to ``app.command(name)``, and its module."""
    found = {}
    for path in sorted((ROOT / "desist" / "commands").glob("*.py")):
        tree = _tree(path)
        functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        for node in ast.walk(tree):
            # app.command("name")(function)
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Call)
                and isinstance(node.func.func, ast.Attribute)
                and node.func.func.attr == "command"
            ):
                name, function = node.func.args[0], node.args[0]
                assert isinstance(name, ast.Constant) and isinstance(function, ast.Name)
                found[name.value] = (path, functions[function.id])
    return found


def test_commands_parse_make_one_call_and_present():
    """A command's body is at most MAX_COMMAND_LINES lines of code: the work is the library's."""
    commands = _commands()
    assert {"demo", "report", "simulate", "power"} <= set(commands)
    lengths = {name: _lines_of_code(function, path.read_text(encoding="utf-8").splitlines()) for name, (path, function)
               in commands.items()}  # fmt: skip
    long = ", ".join(f"{name} ({n})" for name, n in sorted(lengths.items()) if n > MAX_COMMAND_LINES)
    assert not long, f"commands over {MAX_COMMAND_LINES} lines of code (move the work to the library): {long}"


def _public_functions(packages: list[str]):
    """(path, function) for every public function, and public method of a public class, of the public modules."""

    def public(body: list[ast.stmt]):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
                not node.name.startswith("_") or node.name == "__init__"
            ):
                yield node
            elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                yield from public(node.body)

    for package in packages:
        for path in _modules(package):
            if not any(part.startswith("_") and part != "__init__.py" for part in path.relative_to(ROOT).parts):
                yield from ((path, function) for function in public(_tree(path).body))


def _arguments(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.arg]:
    args = function.args
    return [*args.posonlyargs, *args.args, *args.kwonlyargs, *filter(None, (args.vararg, args.kwarg))]


def _hands_on(function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> bool:
    """Whether the function passes ``name`` to a call (to the date parser, or to a function that parses it)."""
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            values = [*node.args, *(k.value for k in node.keywords)]
            if any(isinstance(v, ast.Name) and v.id == name for v in values):
                return True
    return False


def test_as_of_is_date_like_and_read_by_the_one_date_parser():
    """Every public ``as_of`` is typed ``DateLike`` (or ``DateLike | None``) and handed to a call that reads it."""
    wrong = []
    for path, function in _public_functions(LIBRARY + ["studies"]):
        for arg in _arguments(function):
            if arg.arg != "as_of":
                continue
            hint = ast.unparse(arg.annotation) if arg.annotation else "none"
            if hint not in ("DateLike", "DateLike | None"):
                wrong.append(f"{path.relative_to(ROOT)}:{function.lineno} {function.name}: as_of typed {hint}")
            elif not _hands_on(function, "as_of"):
                wrong.append(f"{path.relative_to(ROOT)}:{function.lineno} {function.name}: as_of is never read")
    assert not wrong, "as_of must be DateLike, read by ground.dates:\n" + "\n".join(wrong)


def test_arguments_are_refused_through_ground_checks():
    """No module builds a ParameterError itself: ground.checks writes every message, in its one form.

    ``check_parameter`` with ``Interval``/``Options``/``InstanceOf``, ``parameter_error`` (or ``option_error`` for a
    command's option) when no constraint fits, and ``check_given`` for arguments that go together.
    """
    built = []
    for package in FLOORS:
        for path in _modules(package):
            if path.relative_to(ROOT).as_posix() == "ground/checks.py":
                continue
            for node in ast.walk(_tree(path)):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "ParameterError":
                    built.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not built, "ParameterError built outside ground.checks (use its functions):\n" + "\n".join(built)


#: Names a confidence argument must not have: it is ``alpha``, as in statsmodels (intervals at ``1 - alpha``).
NOT_ALPHA = {"level", "conf_level", "confidence", "confidence_level", "ci_level", "coverage_level"}


def test_the_confidence_argument_is_alpha():
    wrong = [
        f"{path.relative_to(ROOT)}:{function.lineno} {function.name}({arg.arg})"
        for path, function in _public_functions(FLOORS)
        for arg in _arguments(function)
        if arg.arg in NOT_ALPHA
    ]
    assert not wrong, "name the confidence argument alpha:\n" + "\n".join(wrong)


def test_no_two_public_classes_share_a_name():
    """A class name means one thing across the library and the command line (``Design`` is the power design)."""
    homes: dict[str, list[str]] = {}
    for package in FLOORS:
        for path in _modules(package):
            for node in _tree(path).body:
                if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                    homes.setdefault(node.name, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    shared = {name: where for name, where in homes.items() if len(where) > 1}
    assert not shared, "public classes sharing a name:\n" + "\n".join(f"{k}: {', '.join(v)}" for k, v in shared.items())


def test_the_longest_first_list_names_test_files():
    """tests/conftest.py's LONGEST_FIRST names files that exist (a renamed file would silently lose its place)."""
    from tests.conftest import LONGEST_FIRST

    missing = [name for name in LONGEST_FIRST if not (ROOT / "tests" / name).is_file()]
    assert not missing, f"LONGEST_FIRST names files that do not exist: {missing}"


#: Packages whose public signatures name their types: ``object`` where a value really is anything.
TYPED = ["ground", "metrics", "pricing"]


def test_no_any_in_public_signatures():
    """No public function or method of ground, metrics and pricing takes or returns ``Any``."""
    found = []
    for path, function in _public_functions(TYPED):
        hints = [(a.arg, a.annotation) for a in _arguments(function) if a.annotation is not None]
        hints += [("return", function.returns)] if function.returns is not None else []
        for name, hint in hints:
            if any(isinstance(n, ast.Name) and n.id == "Any" for n in ast.walk(hint)):
                found.append(f"{path.relative_to(ROOT)}:{function.lineno} {function.name} {name}: {ast.unparse(hint)}")
    assert not found, "Any in public signatures (name the type; object if it is anything):\n" + "\n".join(found)


def test_the_baseline_covariates_have_one_home():
    """Examples, studies and tests import ground.tables.BASELINE_COVARIATES: no alias, no list typed out again."""
    from ground.tables import BASELINE_COVARIATES

    home = set(BASELINE_COVARIATES)
    copies = []
    for path in sorted(ROOT.glob("*/**/*.py")):
        if ".venv" in path.parts or path.relative_to(ROOT).as_posix() == "ground/tables.py":
            continue
        for node in ast.walk(_tree(path)):
            if not isinstance(node, ast.Assign):
                continue
            value = node.value
            alias = isinstance(value, ast.Name) and value.id == "BASELINE_COVARIATES"
            typed = (
                isinstance(value, (ast.List, ast.Tuple))
                and {e.value for e in value.elts if isinstance(e, ast.Constant)} == home
            )
            if alias or typed:
                copies.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not copies, "import ground.tables.BASELINE_COVARIATES instead of copying it:\n" + "\n".join(copies)
