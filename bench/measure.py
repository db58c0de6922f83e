"""What every benchmark prints beside its figures: the machine, and a child process's peak memory.

A benchmark runs each measured job in a fresh child process (so imports, caches and memory start from nothing)
that prints its figures as one JSON line last; :func:`run_child` runs it, samples the resident memory of the
child and every process it starts (DuckDB's threads, Spark's JVM) from ``/proc``, and returns the figures
with the peak. :func:`machine` names the cores, memory and load the figures were taken on.

Imported by the scripts in this folder (``from measure import machine, run_child``); it measures nothing itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import time


def _tree(pid: int) -> list[list[str]]:
    """The /proc stat fields (after the command's name) of a process and all its descendants."""
    children: dict[int, list[int]] = {}
    fields: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields[int(entry)] = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[int(entry)][1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found += [fields[p]] if p in fields else []
        todo.extend(children.get(p, []))
    return found


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants, from /proc."""
    return sum(int(f[21]) * os.sysconf("SC_PAGE_SIZE") for f in _tree(pid))


def tree_cpu(pid: int, children_only: bool = False) -> float:
    """CPU seconds (user and system) of a process and all its descendants still running (or only the descendants:
    a Spark JVM, beside the process's own ``time.process_time()``), from /proc."""
    tree = _tree(pid)[1:] if children_only else _tree(pid)
    return sum(int(f[11]) + int(f[12]) for f in tree) / os.sysconf("SC_CLK_TCK")


def machine() -> str:
    """The cores this process may use, the machine's memory and its load average now (the machine is shared)."""
    with open("/proc/meminfo") as f:
        total = next(int(line.split()[1]) for line in f if line.startswith("MemTotal:"))
    load = os.getloadavg()
    return (
        f"{len(os.sched_getaffinity(0))} cores, {total / 2**20:.1f} GiB memory, "
        f"load average {load[0]:.1f} {load[1]:.1f} (shared with other sessions)"
    )


def run_child(command: list[str], cap_gib: float | None = None, every: float = 0.05) -> dict:
    """Run ``command``, sampling its process tree's memory; its last JSON line with ``peak_gib`` added.

    Past ``cap_gib`` GiB the child is killed and ``{"stopped": "stopped at ... GiB after ... s"}`` returned; a
    child that fails returns ``{"stopped": "failed (exit N)"}`` with its standard error printed.
    """
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    started, peak = time.perf_counter(), 0
    while child.poll() is None:
        peak = max(peak, tree_rss(child.pid))
        if cap_gib is not None and peak > cap_gib * 2**30:
            child.kill()
            child.wait()
            return {"stopped": f"stopped at {peak / 2**30:.1f} GiB after {time.perf_counter() - started:.0f} s"}
        time.sleep(every)
    out = child.stdout.read() if child.stdout else ""
    if child.returncode:
        return {"stopped": f"failed (exit {child.returncode})"}
    return {**json.loads(out.strip().splitlines()[-1]), "peak_gib": peak / 2**30}


def spark_session(memory: str, partitions: int, temp: str | None = None):  # -> pyspark.sql.SparkSession
    """A local Spark session on every core, without its web page or progress bars, spilling to ``temp``."""
    import tempfile

    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[*]")
        .config("spark.driver.memory", memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.local.dir", temp or tempfile.gettempdir())
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session
