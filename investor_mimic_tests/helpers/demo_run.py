"""``investor-mimic demo --size tiny --seed 3 --json`` run as a user runs it, once per session.

Why one run: the tiny demo takes minutes, and both its own test (the summary, the world,
the instance) and the UI tests (the webserver's view of that instance) judge the same
run. A subprocess, a fresh data dir holding a copy of the session's tiny world, no
``IM_*``/``DAGSTER_*`` variables but ``IM_DATA_DIR``, no ``.env``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

DEMO = ("-m", "investor_mimic.cli", "demo", "--size", "tiny", "--seed", "3", "--json")
#: Minutes, not the ~2 of an idle machine: a CI runner may share its two cores.
TIMEOUT_S = 1200


def clean_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IM_", "DAGSTER_"))}
    return env | {"IM_DATA_DIR": str(data_dir)}


def mtimes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


@dataclass(frozen=True)
class DemoRun:
    """The finished demo subprocess and the folders it used."""

    cwd: Path
    data_dir: Path
    world: Path
    world_before: dict[str, int]
    returncode: int
    stdout: str
    stderr: str

    @cached_property
    def summary(self) -> dict[str, Any]:
        assert self.returncode == 0, self.stderr[-3000:]
        return dict(json.loads(self.stdout))

    @cached_property
    def manifest(self) -> dict[str, Any]:
        return dict(json.loads((self.world / "manifest.json").read_text()))

    @property
    def env(self) -> dict[str, str]:
        """The environment the demo ran with, plus its DAGSTER_HOME (for ``make ui``)."""
        return clean_env(self.data_dir) | {"DAGSTER_HOME": str(self.summary["dagster_home"])}


def run_tiny_demo(root: Path, tiny_world: Path) -> DemoRun:
    data_dir = root / "data"
    world = data_dir / "worlds" / "tiny-3"
    shutil.copytree(tiny_world, world)  # as a first run would have left it
    before = mtimes(world)
    done = subprocess.run(
        [sys.executable, *DEMO],
        cwd=root,
        env=clean_env(data_dir),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    return DemoRun(root, data_dir, world, before, done.returncode, done.stdout, done.stderr)
