"""A demo world loaded into a warehouse as the source assets load it, without Dagster.

Why the truth frames and not the Dagster source assets: ``truth/*.parquet`` is what the
parsers produce from the world's documents (proven equal by the parsing tests), so
loading them gives the warehouse the source assets would build, in a second instead of
a minute of Dagster runs. Table names and frames are exactly those of the source assets
(``raw_<asset>``); every SQL model then runs in dependency order. The research tests
and ``investor-mimic backtest`` both load worlds through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from investor_mimic import sql
from investor_mimic.core import frames
from investor_mimic.core.calendar import trading_days
from investor_mimic.core.warehouse import Warehouse
from investor_mimic.demo.manifest import WorldManifest
from investor_mimic.sources.universe import load_universe
from investor_mimic.sql.project import PROJECT_DIR

#: Trading days of price history before the first factor date (12-1 momentum needs 252).
WARMUP_DAYS = 260


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


def load_warehouse(
    warehouse: Warehouse, tables: RawTables, project: sql.SqlProject | None = None
) -> None:
    """Write ``raw_<asset>`` tables (replacing them) and run every SQL model in order."""
    for name, frame in tables.as_dict().items():
        warehouse.replace_rows(f"raw_{name}", frame, {})
    project = project or sql.load_project(PROJECT_DIR)
    for model in project.order():
        sql.run_model(warehouse, project, model)


def sqlite_warehouse(
    path: Path, tables: RawTables, project: sql.SqlProject | None = None
) -> Warehouse:
    """A fresh SQLite warehouse file at ``path`` holding ``tables`` and every SQL model."""
    if path.exists():
        raise FileExistsError(f"{path} exists; a research warehouse starts empty")
    warehouse = Warehouse(f"sqlite:///{path}")
    load_warehouse(warehouse, tables, project)
    return warehouse


def panel_start(manifest: WorldManifest) -> date:
    """The first factor date: the trading day after ``WARMUP_DAYS`` of price history."""
    days = trading_days(manifest.start, manifest.end)
    if len(days) <= WARMUP_DAYS:
        raise ValueError(f"world {manifest.size}: {len(days)} trading days, no room after warm-up")
    return days[WARMUP_DAYS].date()
