"""Test helper: a demo world loaded into a SQLite warehouse as the source assets load it.

Why the truth frames and not the Dagster source assets: ``truth/*.parquet`` is what the
parsers produce from the world's documents (proven equal by the parsing tests), so
loading them gives the warehouse the source assets would build, in a second instead of
a minute of Dagster runs. Table names and frames are exactly those of
``defs/sources.py`` (``raw_<asset>``); every SQL model then runs in dependency order.

Worlds are generated once per (size, seed, null) and process, under one temporary
folder removed at exit, because the recovery, null and perturbation tests share them.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from investor_mimic import sql
from investor_mimic.core import frames
from investor_mimic.core.calendar import trading_days
from investor_mimic.core.warehouse import Warehouse
from investor_mimic.demo import WorldManifest, ensure_world, load_manifest
from investor_mimic.demo.spec import WorldSize
from investor_mimic.research.chain import ResearchRun, run_research
from investor_mimic.settings import FitMethod
from investor_mimic.sources.universe import load_universe
from investor_mimic_tests.helpers.paths import REPO

PROJECT_DIR = REPO / "dbt_like_sql"
#: Trading days of price history before the first factor date (12-1 momentum needs 252).
WARMUP_DAYS = 260

_ROOT = Path(tempfile.mkdtemp(prefix="im-research-worlds-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)


@dataclass(frozen=True)
class RawTables:
    """The five source frames of a world, as the source assets write them."""

    universe: pd.DataFrame
    thirteenf_holdings: pd.DataFrame
    insider_trades: pd.DataFrame
    prices: pd.DataFrame
    news_sentiment: pd.DataFrame

    def as_dict(self) -> dict[str, pd.DataFrame]:
        return {
            "universe": self.universe,
            "thirteenf_holdings": self.thirteenf_holdings,
            "insider_trades": self.insider_trades,
            "prices": self.prices,
            "news_sentiment": self.news_sentiment,
        }


@functools.cache
def world(size: WorldSize, seed: int, null: bool = False) -> Path:
    """The folder of the world ``(size, seed, null)``, generated once per process."""
    root = _ROOT / f"{size}-{seed}-{'null' if null else 'planted'}"
    ensure_world(root, size, seed, null)
    return root


def raw_tables(root: Path) -> RawTables:
    """The world's source frames, typed by their ``frames`` specs."""
    truth = root / "truth"
    return RawTables(
        universe=load_universe(root / "universe.csv"),
        thirteenf_holdings=frames.coerce(
            pd.read_parquet(truth / "thirteenf_holdings.parquet"), frames.THIRTEENF_HOLDINGS
        ),
        insider_trades=frames.coerce(
            pd.read_parquet(truth / "insider_trades.parquet"), frames.INSIDER_TRADES
        ),
        prices=frames.coerce(pd.read_parquet(root / "market" / "bars.parquet"), frames.PRICES),
        news_sentiment=frames.coerce(
            pd.read_parquet(truth / "news_sentiment.parquet"), frames.NEWS_SENTIMENT
        ),
    )


@functools.cache
def sql_project() -> sql.SqlProject:
    return sql.load_project(PROJECT_DIR)


def load_warehouse(warehouse: Warehouse, tables: RawTables) -> None:
    """Write ``raw_<asset>`` tables (replacing them) and run every SQL model in order."""
    for name, frame in tables.as_dict().items():
        warehouse.replace_rows(f"raw_{name}", frame, {})
    project = sql_project()
    for model in project.order():
        sql.run_model(warehouse, project, model)


def sqlite_warehouse(path: Path, tables: RawTables) -> Warehouse:
    """A fresh SQLite warehouse file at ``path`` holding ``tables`` and every SQL model."""
    if path.exists():
        raise FileExistsError(f"{path} exists; a research warehouse starts empty")
    warehouse = Warehouse(f"sqlite:///{path}")
    load_warehouse(warehouse, tables)
    return warehouse


def panel_start(manifest: WorldManifest) -> date:
    """The first factor date: the trading day after ``WARMUP_DAYS`` of price history."""
    days = trading_days(manifest.start, manifest.end)
    if len(days) <= WARMUP_DAYS:
        raise ValueError(f"world {manifest.size}: {len(days)} trading days, no room after warm-up")
    return days[WARMUP_DAYS].date()


@functools.cache
def research_run(
    size: WorldSize,
    seed: int,
    null: bool = False,
    method: FitMethod = "ic",
    horizon: int = 20,
    sector_neutral: bool = False,
) -> tuple[WorldManifest, ResearchRun]:
    """The whole research chain over a world's history after warm-up (cached per process)."""
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
