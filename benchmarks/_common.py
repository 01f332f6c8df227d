"""What both benchmarks share: the data dir, the machine description, timers and tables.

Why printed tables and not timed tests: wall times depend on the machine and its load,
so they are figures to read next to the machine they came from (printed first), never
pass/fail assertions.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tabulate import tabulate

REPO = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def bench_dir() -> Path:
    """``IM_DATA_DIR`` if set, else ``<repo>/.data/bench``; created, absolute."""
    raw = os.environ.get("IM_DATA_DIR")
    path = Path(raw) if raw else REPO / ".data" / "bench"
    path = path.resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _load() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def machine_rows() -> list[tuple[str, str]]:
    """Cores, CPU model, RAM, Python and the numeric library versions."""
    import numpy as np
    import pandas as pd

    rows = [
        ("cores", str(os.cpu_count())),
        ("cpu", _cpu_model()),
        ("ram", _ram_gib()),
        ("load average 1/5/15 min (other work on the box)", _load()),
        ("python", sys.version.split()[0]),
        ("pandas", pd.__version__),
        ("numpy", np.__version__),
    ]
    try:
        import dagster

        rows.append(("dagster", dagster.__version__))
    except ImportError:
        pass
    return rows


def print_table(title: str, rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    print(f"\n{title}")
    print(tabulate(rows, headers=list(headers), tablefmt="simple", floatfmt=".2f"))
    sys.stdout.flush()


def print_machine() -> None:
    print_table("machine", machine_rows(), ["", "value"])


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Stopwatch:
    """Wall seconds, and this process's CPU seconds (user + system) over the same span.

    CPU time barely moves when other work shares the cores, so wall >> cpu says the box
    was busy rather than the code slow.
    """

    seconds: float = 0.0
    cpu: float = 0.0


@contextmanager
def stopwatch() -> Iterator[Stopwatch]:
    """``with stopwatch() as sw: ...`` then ``sw.seconds`` / ``sw.cpu``."""
    sw = Stopwatch()
    start, cpu = time.perf_counter(), _cpu()
    try:
        yield sw
    finally:
        sw.seconds = time.perf_counter() - start
        sw.cpu = _cpu() - cpu


def best_of(n: int, fn: Callable[[], T]) -> tuple[float, T]:
    """The fastest wall time of ``n`` calls of ``fn`` and the last call's result."""
    if n < 1:
        raise ValueError(f"best_of: n must be >= 1, got {n}")
    with stopwatch() as sw:
        result = fn()
    best = sw.seconds
    for _ in range(n - 1):
        with stopwatch() as sw:
            result = fn()
        best = min(best, sw.seconds)
    return best, result


def log(msg: str) -> None:
    """Progress on stderr, so stdout holds only the tables."""
    print(msg, file=sys.stderr, flush=True)
