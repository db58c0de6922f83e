"""The house as a newcomer meets it: packages and their lines, the largest modules, how long functions are.

Run: python bench/house.py [--root DIR] [--top 10]

Reads the source with ``ast`` (the measure of tests/test_architecture.py: a function's lines of code leave out
its docstring, comments and blank lines) and prints, for the library packages, the CLI and the tests:

- each package's files, lines (as ``wc -l`` counts them) and lines that are neither blank nor comments;
- the ``--top`` largest modules by lines;
- the distribution of function lengths in lines of code (quartiles, 90th percentile, the longest five),
  over every function and method of the packages (tests left out);
- the count of ``Any`` in annotations and of hand-written ``raise ParameterError(``.

``--root`` measures another checkout (for a before and after on the same machine).
"""

from __future__ import annotations

import argparse
import ast
import statistics
from pathlib import Path

PACKAGES = ["ground", "outcomes", "cohorts", "metrics", "pricing", "validation", "appraisal", "studies", "desist"]


def code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef, source: list[str]) -> int:
    """Lines of code of a function's body: its docstring, comments and blank lines not counted."""
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if not body:
        return 0
    lines = source[body[0].lineno - 1 : node.end_lineno]
    return sum(1 for line in lines if line.strip() and not line.strip().startswith("#"))


def measure(root: Path, top: int) -> None:
    modules: list[tuple[int, str]] = []
    functions: list[tuple[int, str]] = []
    annotations_any = hand_raised = 0
    print(f"{'package':<12}{'files':>7}{'lines':>9}{'code':>9}")
    totals = [0, 0, 0]
    for package in [*PACKAGES, "tests"]:
        paths = sorted((root / package).rglob("*.py"))
        lines = code = 0
        for path in paths:
            text = path.read_text(encoding="utf-8")
            source = text.splitlines()
            lines += len(source)
            code += sum(1 for line in source if line.strip() and not line.strip().startswith("#"))
            if package == "tests":
                continue
            modules.append((len(source), str(path.relative_to(root))))
            hand_raised += text.count("raise ParameterError(")
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    functions.append((code_lines(node, source), f"{path.relative_to(root)}:{node.lineno} {node.name}"))
                    hints = [a.annotation for a in (*node.args.args, *node.args.kwonlyargs) if a.annotation]
                    hints += [node.returns] if node.returns else []
                    annotations_any += sum(
                        isinstance(n, ast.Name) and n.id == "Any" for h in hints for n in ast.walk(h)
                    )
        print(f"{package:<12}{len(paths):>7}{lines:>9,}{code:>9,}")
        if package != "tests":
            totals = [totals[0] + len(paths), totals[1] + lines, totals[2] + code]
    print(f"{'all but tests':<12}{totals[0]:>7}{totals[1]:>9,}{totals[2]:>9,}\n")
    print(f"The {top} largest modules (lines):")
    for n, name in sorted(modules, reverse=True)[:top]:
        print(f"  {n:>5}  {name}")
    lengths = sorted(n for n, _ in functions)
    q1, q2, q3 = statistics.quantiles(lengths, n=4)
    p90 = statistics.quantiles(lengths, n=10)[-1]
    print(f"\nFunctions: {len(lengths)}; lines of code: quartiles {q1:g} / {q2:g} / {q3:g}, 90th percentile {p90:g}")
    print("The longest:")
    for n, name in sorted(functions, reverse=True)[:5]:
        print(f"  {n:>5}  {name}")
    print(f"\n'Any' in function annotations: {annotations_any}; hand-written 'raise ParameterError(': {hand_raised}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    measure(args.root, args.top)


if __name__ == "__main__":
    main()
