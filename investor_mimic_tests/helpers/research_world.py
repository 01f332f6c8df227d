"""Test helper: a demo world loaded into a SQLite warehouse as the source assets load it
(:mod:`investor_mimic.demo.warehouse` does the loading; this caches it per test process).

Worlds are generated once per (size, seed, null) and process, under one temporary
folder removed at exit, because the recovery, null and perturbation tests share them.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from investor_mimic import sql
from investor_mimic.core.warehouse import Warehouse
from investor_mimic.demo import WorldManifest, ensure_world, load_manifest
from investor_mimic.demo import warehouse as demo_warehouse
from investor_mimic.demo.spec import WorldSize
from investor_mimic.demo.warehouse import (  # re-exported for the research tests
    WARMUP_DAYS,
    RawTables,
    load_warehouse,
    panel_start,
    raw_tables,
)
from investor_mimic.research.chain import ResearchRun, run_research
from investor_mimic.settings import FitMethod
from investor_mimic_tests.helpers.paths import REPO

PROJECT_DIR = REPO / "dbt_like_sql"
_ROOT = Path(tempfile.mkdtemp(prefix="im-research-worlds-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)

__all__ = [
    "WARMUP_DAYS",
    "RawTables",
    "load_warehouse",
    "panel_start",
    "raw_tables",
    "research_run",
    "sqlite_warehouse",
    "world",
]


@functools.cache
def world(size: WorldSize, seed: int, null: bool = False) -> Path:
    """The folder of the world ``(size, seed, null)``, generated once per process."""
    root = _ROOT / f"{size}-{seed}-{'null' if null else 'planted'}"
    ensure_world(root, size, seed, null)
    return root


@functools.cache
def sql_project() -> sql.SqlProject:
    return sql.load_project(PROJECT_DIR)


def sqlite_warehouse(path: Path, tables: RawTables) -> Warehouse:
    """A fresh SQLite warehouse at ``path`` (the SQL project parsed once per process)."""
    return demo_warehouse.sqlite_warehouse(path, tables, sql_project())


def research_run(
    size: WorldSize,
    seed: int,
    null: bool = False,
    method: FitMethod = "ic",
    horizon: int = 20,
    sector_neutral: bool = False,
) -> tuple[WorldManifest, ResearchRun]:
    """The whole research chain over a world's history after warm-up (cached per process,
    under the same key however the arguments are passed: ``functools.cache`` alone keys
    ``null=True`` and a positional ``True`` apart, and the second call found the first's
    warehouse file)."""
    return _research_run(size, seed, null, method, horizon, sector_neutral)


@functools.cache
def _research_run(
    size: WorldSize,
    seed: int,
    null: bool,
    method: FitMethod,
    horizon: int,
    sector_neutral: bool,
) -> tuple[WorldManifest, ResearchRun]:
    root = world(size, seed, null)
    manifest = load_manifest(root)
    warehouse = sqlite_warehouse(
        _ROOT / f"{root.name}-{method}-{horizon}-{sector_neutral}.sqlite", raw_tables(root)
    )
    run = run_research(
        warehouse,
        panel_start(manifest),
        manifest.end,
        manifest.benchmark_ticker,
        method=method,
        horizon=horizon,
        sector_neutral=sector_neutral,
    )
    warehouse.engine.dispose()
    return manifest, run
