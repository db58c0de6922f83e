"""How long ``desist`` takes to answer: ``--help``, ``--version`` and ``power``, what it imports, and the
whole story: ``desist demo`` and the README's ``desist report``, with their slowest steps.

Runs each command as a new process (as a person at a terminal would) ``--runs``
times and prints the median and the slowest wall-clock seconds, against the
targets of issue 18 (0.5 s for ``--help`` and ``--version``, 1.5 s for
``power``); then the modules that take longest to import for ``power``
(``python -X importtime``, cumulative microseconds, top ``--top``).

Then ``desist demo`` and the README's ``desist report`` command (``--xlsx
--pdf``, the example data), each against issue 28's target of 4 s: the median
wall-clock seconds and the CPU seconds of the process and its children (the CPU
time is steadier on a shared machine), and the five slowest steps of the median
run: importing, making the world or reading the files, each step of the
appraisal, writing the report and printing the story (read from the
appraisal's progress callback, as the command line's progress bar reads it), and with ``--pdf`` waiting for
Chromium, which starts with the command and prints while the other files are written. "importing" is what the
command line loads before it starts; what a step loads when it first needs it (matplotlib, jinja2, openpyxl,
statsmodels' models) counts in that step. On a shared machine the wall-clock seconds grow with the load average
(printed at the start and the end); the CPU seconds much less.

    python bench/startup.py --runs 5 --top 15
    python bench/startup.py --runs 3 --story-only
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import machine  # noqa: E402  (bench/measure.py)

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


#: The README's report command (the evaluator's), on the example data.
REPORT = [
    "report", "--people", "examples/data/people.csv", "--offences", "examples/data/offences.csv",
    "--pool", "examples/data/pool.csv", "--eligible", "examples/data/eligible.csv",
    "--services", "examples/data/services.csv", "--assessments", "examples/data/assessments.csv",
    "--as-of", "2025-09-30", "--cost", "none=450", "--cost", "women=650", "--cost", "young_adults=550",
    "--cost", "complex_needs=850", "--xlsx", "--pdf",
]  # fmt: skip
#: The commands whose whole story is timed, the step before the appraisal's, and the target (issue 28).
STORIES = {
    "desist demo": (["demo"], "making the synthetic world", 4.0),
    "desist report": (REPORT, "reading the files", 4.0),
}

#: Run in a fresh process: the command, with a mark at each step (the progress bar's callback) printed as JSON.
DRIVER = """
import json, resource, sys, time
from contextlib import contextmanager
marks = [("importing", time.perf_counter(), time.process_time())]
def mark(name):
    marks.append((name, time.perf_counter(), time.process_time()))
from desist.cli import main
import desist.commands.demo as demo, desist.commands.report as report
@contextmanager
def progress(quiet, first):
    yield mark
def writing(write):
    def written(*args, **kwargs):
        mark("writing the report")
        write(*args, **kwargs)
        mark("printing the story")
    return written
def printing(make):
    @contextmanager
    def printed(pdf):
        with make(pdf) as printer:
            yield printer
            mark("waiting for Chromium")
        mark("printing the story")
    return printed
for module in (demo, report):
    module.story_progress, module.write_appraisal = progress, writing(report.write_appraisal)
    module.story_pdf = printing(report.story_pdf)
mark(sys.argv[2])
try:
    main(sys.argv[3:])
except SystemExit as stopped:
    if stopped.code:  # the command failed: no figures, and its message on standard error
        raise
mark("end")
own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
print(json.dumps({"marks": marks, "cpu": cpu}), file=open(sys.argv[1], "w"))
"""


def story(args: list[str], first_step: str, folder: Path) -> dict:
    """One run of a story command in a fresh process: wall seconds, CPU seconds and each step's seconds."""
    out = folder / "marks.json"
    started = time.perf_counter()
    command = [sys.executable, "-c", DRIVER, str(out), first_step, *args, "--out", str(folder / "out")]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        raise SystemExit(f"{' '.join(args[:1])} failed (exit {done.returncode}):\n{done.stderr}")
    wall = time.perf_counter() - started
    found = json.loads(out.read_text())
    marks = found["marks"]
    steps: dict[str, tuple[float, float]] = {}
    for (name, at, cpu_at), (_, then, cpu_then) in zip(marks, marks[1:]):
        before = steps.get(name, (0.0, 0.0))
        steps[name] = (before[0] + then - at, before[1] + cpu_then - cpu_at)
    return {"wall": wall, "cpu": found["cpu"], "steps": steps}


def stories(runs: int) -> None:
    print(
        f"\n{'command':<18} {'median s':>9} {'CPU s':>7} {'target s':>9}   "
        "five slowest steps of the median run: seconds (CPU seconds of this process)"
    )
    for name, (args, first_step, target) in STORIES.items():
        found = []
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as folder:
                found.append(story(args, first_step, Path(folder)))
        median = sorted(found, key=lambda f: f["wall"])[len(found) // 2]
        slowest = sorted(median["steps"].items(), key=lambda kv: -kv[1][0])[:5]
        steps = ", ".join(f"{step} {wall:.2f} ({cpu:.2f})" for step, (wall, cpu) in slowest)
        print(f"{name:<18} {median['wall']:>9.2f} {median['cpu']:>7.2f} {target:>9.1f}   {steps}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--story-only", action="store_true", help="Time only desist demo and desist report.")
    options = parser.parse_args()
    print(f"machine: {machine()} at the start")
    if not options.story_only:
        print(f"{'command':<18} {'median s':>9} {'slowest s':>10} {'target s':>9}")
        for name, (args, target) in COMMANDS.items():
            times = seconds(args, options.runs)
            print(f"{name:<18} {statistics.median(times):>9.2f} {max(times):>10.2f} {target:>9.1f}")
        print(f"\nTop-level imports of 'desist power' (python -X importtime, cumulative ms, top {options.top}):")
        for micro, name in top_imports(POWER, options.top):
            print(f"  {micro / 1000:>7.0f}  {name}")
    stories(options.runs)
    print(f"machine: {machine()} at the end")


if __name__ == "__main__":
    main()
