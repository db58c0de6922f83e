"""How long ``desist`` takes to answer: ``--help``, ``--version`` and ``power``, and what it imports.

Runs each command as a new process (as a person at a terminal would) ``--runs``
times and prints the median and the slowest wall-clock seconds, against the
targets of issue 18 (0.5 s for ``--help`` and ``--version``, 1.5 s for
``power``); then the modules that take longest to import for ``power``
(``python -X importtime``, cumulative microseconds, top ``--top``).

    python bench/startup.py --runs 5 --top 15
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).with_name("desist")
POWER = ["power", "--measure", "binary", "--base-rate", "0.45", "--n", "500", "--ratio", "3"]
COMMANDS = {"desist --help": (["--help"], 0.5), "desist --version": (["--version"], 0.5), "desist power": (POWER, 1.5)}


def seconds(args: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([str(SCRIPT), *args], capture_output=True, check=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return times


def top_imports(args: list[str], top: int) -> list[tuple[int, str]]:
    code = f"from desist.cli import main\nmain({args!r})"
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, cwd=ROOT)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        if not name[1:].startswith(" "):  # top-level imports only: their time includes what they import
            rows.append((int(cumulative), name.strip()))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--top", type=int, default=15)
    options = parser.parse_args()
    print(f"{'command':<18} {'median s':>9} {'slowest s':>10} {'target s':>9}")
    for name, (args, target) in COMMANDS.items():
        times = seconds(args, options.runs)
        print(f"{name:<18} {statistics.median(times):>9.2f} {max(times):>10.2f} {target:>9.1f}")
    print(f"\nTop-level imports of 'desist power' (python -X importtime, cumulative ms, top {options.top}):")
    for micro, name in top_imports(POWER, options.top):
        print(f"  {micro / 1000:>7.0f}  {name}")


if __name__ == "__main__":
    main()
