"""Benchmark: the real ``investor-mimic demo`` (target < 75 s), then one evening's increment
on the data it left (target < 5 s, and no partition of history recomputed).

**Demo.** ``investor-mimic demo --json`` as a user runs it, a subprocess on a fresh data
dir (a fresh SQLite DAGSTER_HOME inside it) whose ``worlds/`` links the bench worlds, so
the world is generated once and reused, as after ``make demo``'s first run: the figure is
the pipeline's, not the generator's. Wall seconds of the whole command, its CPU seconds
(``RUSAGE_CHILDREN``, user + system) and peak RSS, and the stage seconds from its summary.

**Evening increment.** The demo scores up to the world's second-to-last session and loads
the sources one session further. The increment is the evening of the world's last
session L, in this process, through the same stage runner and jobs as the demo: the
day's sources (one partition), the SQL models, ``factor_panel`` and ``composite_score``
for L (one partition each), and the trading job's portfolio and proposals for L (paper
broker pinned to L's evening). Every run must materialize only partition L of each
partitioned asset: the materializations are listed and any other partition is reported
as history recomputed. The check evaluations of each run are counted (passed/evaluated),
so a change that drops a check shows.

Run: ``python benchmarks/demo_and_evening.py [--size demo] [--seed 7]`` (``make bench``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import warnings
from collections import defaultdict
from datetime import date
from pathlib import Path

from _common import REPO, bench_dir, log, print_machine, print_table, stopwatch

DEMO_TARGET_S = 75.0
EVENING_TARGET_S = 5.0
#: The evening's stages: (label, job, partitioned on the day).
EVENING = (
    ("daily sources", "daily_sources_job", True),
    ("SQL models", "sql_models_job", False),
    ("factor_panel", "factor_panel_job", True),
    ("composite_score", "composite_job", True),
    ("portfolio + trade_proposals", "trading_job", True),
)


def _children_usage() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def run_demo(root: Path, size: str, seed: int) -> tuple[Path, dict, float, float, float]:
    """The real command on a fresh data dir; (data dir, summary, wall, cpu, peak MiB)."""
    from investor_mimic.demo import ensure_world

    worlds = root / "worlds"
    worlds.mkdir(parents=True, exist_ok=True)
    log(f"world {size}-{seed} (generated once, reused)")
    ensure_world(worlds / f"{size}-{seed}", size, seed, False)
    data_dir = root / f"demo-{size}-{seed}"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    (data_dir / "worlds").symlink_to(worlds, target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IM_", "DAGSTER_"))}
    env["IM_DATA_DIR"] = str(data_dir)
    command = [
        str(Path(sys.executable).with_name("investor-mimic")),
        *("demo", "--size", size, "--seed", str(seed), "--json"),
    ]
    log(f"$ IM_DATA_DIR={data_dir} {' '.join(command[1:])}")
    cpu_before, _ = _children_usage()
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - start
    cpu_after, peak = _children_usage()
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-3000:])
        raise SystemExit(f"demo exited {done.returncode}")
    return data_dir, json.loads(done.stdout), wall, cpu_after - cpu_before, peak


def run_evening(data_dir: Path) -> tuple[list[tuple], float, float, list[str]]:
    """The last session's evening in this process; (rows, wall, cpu, recomputed)."""
    os.environ["IM_DATA_DIR"] = str(data_dir)
    for var in [v for v in os.environ if v.startswith("DAGSTER_")]:
        del os.environ[var]
    from investor_mimic.settings import get_settings

    get_settings.cache_clear()  # before anything builds the partitions from the settings
    from investor_mimic.core.calendar import trading_days
    from investor_mimic.defs.instance import dagster_home, open_instance
    from investor_mimic.defs.stages import StageRunner
    from investor_mimic.defs.trading.demo import pin_paper_clock

    settings = get_settings()  # the world the demo recorded in the data dir
    manifest = json.loads((settings.world_dir / "manifest.json").read_text())
    last = trading_days(date.fromisoformat(manifest["start"]), date.fromisoformat(manifest["end"]))[
        -1
    ]
    day = f"{last:%Y-%m-%d}"
    instance = open_instance(dagster_home(settings.data_dir))
    rows, recomputed = [], []
    with stopwatch() as total, StageRunner(instance, tags={"source": "benchmark"}) as runner:
        for label, job, partitioned in EVENING:
            if job == "trading_job":
                pin_paper_clock(settings, last.date())
            with stopwatch() as sw:
                result = runner.run(job, partition_key=day if partitioned else None)
            if not result.success:
                raise SystemExit(f"evening {label}: {result.failure}")
            partitions: dict[str, set[str]] = defaultdict(set)
            for m in result.materializations:
                partitions[m.asset].add(m.partition or "-")
            for asset, keys in partitions.items():
                recomputed += [f"{asset}:{k}" for k in keys if k not in (day, "-")]
            passed = sum(c.passed for c in result.checks)
            rows.append(
                (
                    label,
                    sw.seconds,
                    sw.cpu,
                    f"{passed}/{len(result.checks)}",
                    ", ".join(f"{a} {','.join(sorted(k))}" for a, k in sorted(partitions.items())),
                )
            )
            log(f"  {label}: {sw.seconds:.2f} s")
    return rows, total.seconds, total.cpu, recomputed


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="demo", choices=["tiny", "demo"])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", module="dagster")
    print("demo_and_evening: the real demo command, then one evening's increment")
    print_machine()
    root = bench_dir()
    data_dir, summary, wall, cpu, peak = run_demo(root, args.size, args.seed)
    stages = [(k, v) for k, v in summary["seconds"].items() if k != "total"]
    print_table(
        f"investor-mimic demo --size {args.size} --seed {args.seed} (world reused), seconds",
        [*stages, ("pipeline (summary total)", summary["seconds"]["total"]),
         ("command wall", wall), ("command cpu (user+sys)", cpu),
         ("command peak RSS, MiB", peak)],
        ["stage", "value"],
    )  # fmt: skip
    print(
        f"\ntarget: demo command under {DEMO_TARGET_S:.0f} s wall: "
        f"{verdict(wall < DEMO_TARGET_S)} ({wall:.1f} s wall, {cpu:.1f} s cpu)"
    )
    rows, e_wall, e_cpu, recomputed = run_evening(data_dir)
    print_table(
        "evening increment of the last session, in process (seconds)",
        [*rows, ("total", e_wall, e_cpu, "", "")],
        ["stage", "wall", "cpu", "checks passed", "partitions materialized"],
    )
    print(
        f"\ntarget: evening increment under {EVENING_TARGET_S:.0f} s wall: "
        f"{verdict(e_wall < EVENING_TARGET_S)} ({e_wall:.2f} s wall, {e_cpu:.2f} s cpu)"
    )
    print(
        "target: no history recomputed: "
        + ("met" if not recomputed else f"MISSED ({', '.join(recomputed[:5])})")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
