"""Warehouse reads for research: the point-in-time-bounded inputs of the factor panel.

Why bounded queries here: the factor functions enforce "nothing after D" row by row,
and these reads add a second fence (nothing after the run's last day is even loaded),
while fetching only the look-back each factor needs.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from investor_mimic.core import frames
from investor_mimic.core.warehouse import Warehouse
from investor_mimic.factors.inputs import FactorInputs

#: Calendar days of history loaded before the first day of a run (12-1 momentum, 200-day trend).
PRICE_LOOKBACK_DAYS = 400
#: Calendar days of trades and news loaded before the first day (trailing windows, decay).
EVENT_LOOKBACK_DAYS = 200


def read_prices(warehouse: Warehouse, start: date, end: date) -> pd.DataFrame:
    frame = warehouse.read(
        "SELECT * FROM raw_prices WHERE date >= :start AND date <= :end",
        {"start": start, "end": end},
    )
    return frames.coerce(frame, frames.PRICES)


def read_universe(warehouse: Warehouse) -> pd.DataFrame:
    return frames.coerce(warehouse.read("SELECT * FROM raw_universe"), frames.UNIVERSE)


def factor_inputs(warehouse: Warehouse, start: date, end: date, benchmark: str) -> FactorInputs:
    """Everything the factor panel for trading days [start, end] may use."""
    events_from = start - timedelta(days=EVENT_LOOKBACK_DAYS)
    bounds = {"start": events_from, "end": end}
    news = warehouse.read(
        "SELECT * FROM raw_news_sentiment WHERE trading_date >= :start AND trading_date <= :end",
        bounds,
    )
    trades = warehouse.read(
        "SELECT * FROM stg_insider_open_market WHERE known_date >= :start AND known_date <= :end",
        bounds,
    )
    weights = warehouse.read(
        "SELECT * FROM filer_portfolio_weights WHERE version_date <= :end", {"end": end}
    )
    changes = warehouse.read(
        "SELECT * FROM thirteenf_position_changes WHERE version_date <= :end", {"end": end}
    )
    return FactorInputs(
        prices=read_prices(warehouse, start - timedelta(days=PRICE_LOOKBACK_DAYS), end),
        benchmark=benchmark,
        universe=read_universe(warehouse),
        # typed at the boundary by FactorInputs (SQLite returns dates as text, bools as 0/1)
        portfolio_weights=weights,
        position_changes=changes,
        insider_trades=trades,
        news=news,
    )
