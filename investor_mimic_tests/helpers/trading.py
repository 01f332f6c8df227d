"""A crafted market for the trading assets: bars in a real warehouse, composite scores and
factor-panel sectors as stored Parquet partitions, and the paper broker's clock pinned.

Why crafted rather than the whole tiny pipeline: the trading assets read exactly three
stored things (``composite_score`` and ``factor_panel`` partitions, ``raw_prices``) and the
broker; writing those directly keeps each test at seconds while every read goes through
the real IO manager, warehouse and broker. (The demo test runs the real chain end to end.)
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from investor_mimic.broker.paper import PaperBroker
from investor_mimic.core import frames
from investor_mimic.core.calendar import next_trading_day, trading_days
from investor_mimic.core.warehouse import Warehouse
from investor_mimic.defs.factors.assets import factor_panel
from investor_mimic.defs.resources import build_resources
from investor_mimic.defs.scoring.assets import (
    composite_score,
    composite_score_valid,
    factor_weights,
)
from investor_mimic.defs.stages import range_tags
from investor_mimic.defs.trading import trading_defs
from investor_mimic.settings import get_settings
from investor_mimic_tests.helpers.dagster import use_settings

DAY = date(2024, 6, 4)
NEXT = next_trading_day(DAY)
SECTORS = [f"Sector{i}" for i in range(8)]

#: What ``dg.materialize`` needs to run the trading assets on stored upstream partitions.
TRADING_PARTS: list[Any] = [
    composite_score,
    factor_panel,
    factor_weights,
    composite_score_valid,
    *(trading_defs.assets or []),
    *(trading_defs.asset_checks or []),
]


@dataclass
class Market:
    data_dir: Path
    instance: dg.DagsterInstance
    tickers: list[str]
    bars: pd.DataFrame

    def warehouse(self) -> Warehouse:
        return Warehouse(get_settings().resolved_warehouse_url)

    def broker(self) -> PaperBroker:
        return PaperBroker(self.warehouse(), get_settings().trading)

    def pin(self, day: date, at: time = time(20, 0)) -> None:
        self.broker().pin_clock(datetime.combine(day, at))

    def asset_file(self, asset: str, day: date) -> Path:
        return self.data_dir / "assets" / asset / f"{day.isoformat()}.parquet"

    def write_partition(self, asset: str, frame: pd.DataFrame, day: date = DAY) -> None:
        path = self.asset_file(asset, day)
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(path, index=False)

    def scores(self, day: date = DAY, seed: int = 0) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        score = rng.normal(size=len(self.tickers))
        frame = pd.DataFrame(
            {
                "date": pd.Timestamp(day),
                "ticker": self.tickers,
                "score": score,
                "rank": (-score).argsort().argsort() + 1,
                "refit_date": pd.Timestamp("2024-06-03"),
            }
        )
        return frames.coerce(frame, frames.COMPOSITE_SCORE)

    def panel(self, day: date = DAY) -> pd.DataFrame:
        frame = pd.DataFrame(
            {
                "date": pd.Timestamp(day),
                "ticker": self.tickers,
                "sector": [SECTORS[i % len(SECTORS)] for i in range(len(self.tickers))],
            }
            | {f: np.nan for f in frames.FACTOR_NAMES}
        )
        return frames.coerce(frame, frames.FACTOR_PANEL)

    def materialize(
        self,
        *selection: Any,
        day: date = DAY,
        parts: Iterable[Any] = TRADING_PARTS,
        day_range: tuple[date, date] | None = None,
    ) -> dg.ExecuteInProcessResult:
        """Run ``selection`` for ``day`` (or, as one run, for ``day_range``)."""
        tags = range_tags(day_range[0].isoformat(), day_range[1].isoformat()) if day_range else None
        return dg.materialize(
            list(parts),
            selection=list(selection),
            partition_key=None if day_range else day.isoformat(),
            tags=tags,
            resources=build_resources(),
            instance=self.instance,
            raise_on_error=False,
        )


def make_market(request: pytest.FixtureRequest, n: int = 80, through: date = NEXT) -> Market:
    """Bars for ``n`` tickers through ``through`` (the session after DAY by default), the
    score and panel partitions of DAY, and the paper clock pinned to DAY's evening."""
    tmp_path: Path = request.getfixturevalue("tmp_path")
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    request.addfinalizer(get_settings.cache_clear)
    monkeypatch.chdir(tmp_path)
    for var in [v for v in os.environ if v.startswith("IM_")]:
        monkeypatch.delenv(var)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    use_settings(monkeypatch, data_dir=str(data_dir))
    tickers = [f"T{i:03d}" for i in range(n)]
    days = trading_days(date(2024, 1, 2), through)
    rng = np.random.default_rng(42)
    close = 20 + 180 * rng.random(n) * np.exp(np.cumsum(rng.normal(0, 0.015, (len(days), n)), 0))
    open_ = close * np.exp(rng.normal(0, 0.005, close.shape))
    bars = pd.DataFrame(
        {
            "date": np.repeat(days, n),
            "ticker": np.tile(tickers, len(days)),
            "open": open_.ravel(),
            "high": np.maximum(open_, close).ravel() * 1.01,
            "low": np.minimum(open_, close).ravel() * 0.99,
            "close": close.ravel(),
            "volume": 1e6,
        }
    )
    bars = frames.coerce(bars, frames.PRICES)
    Warehouse(get_settings().resolved_warehouse_url).replace_rows("raw_prices", bars, {})
    market = Market(data_dir, dg.DagsterInstance.ephemeral(), tickers, bars)
    market.write_partition("composite_score", market.scores())
    market.write_partition("factor_panel", market.panel())
    market.pin(DAY)
    return market
