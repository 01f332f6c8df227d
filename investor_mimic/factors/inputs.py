"""What the factors read: the upstream frames, checked and typed once at the boundary.

Why a checked dataclass: the factor math is vectorised and silent about bad rows (a NaN
date or a sale with a positive value would just flow into the numbers). Every frame is
therefore checked here, once, against its one contract (:func:`frames.checked`: the
same column, key and row rules the source assets and the asset checks apply), and
fails with a one-line error that names the frame and the problem. Frames coming back
from SQLite carry dates as strings and booleans as 0/1; they are coerced to the contract.

:data:`INPUTS` declares each frame once: its contract, the asset the factor panel
depends on, the warehouse table and point-in-time column research reads it by, and how
much history before a run's first day it needs. A factor names the inputs it reads
(:mod:`investor_mimic.factors.registry`); the panel's asset deps and the reads follow.

Point-in-time columns: ``version_date`` (13F), ``known_date`` (Form 4) and
``trading_date`` (news) are the first trading day a row may be used, already shifted
upstream with :func:`investor_mimic.core.calendar.effective_trading_day`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

from investor_mimic.core import frames
from investor_mimic.core.frames import FrameSchema
from investor_mimic.sql.contracts import INSIDER_OPEN_MARKET, PORTFOLIO_WEIGHTS, POSITION_CHANGES

#: The news and universe frames the factors read are these contracts' columns below.
NEWS = frames.NEWS_SENTIMENT
UNIVERSE = frames.UNIVERSE

__all__ = [
    "INPUTS",
    "INSIDER_OPEN_MARKET",
    "NEWS",
    "PORTFOLIO_WEIGHTS",
    "POSITION_CHANGES",
    "UNIVERSE",
    "FactorInputs",
    "Input",
]


@dataclass(frozen=True)
class Input:
    """One frame the factors may read.

    ``known_column`` bounds research's read to rows known by a run's last day;
    ``lookback_days`` (calendar days before its first day) bounds it below, ``None``
    reads all history (13F portfolios stay in force until replaced).
    """

    schema: FrameSchema
    asset: str  # the Dagster asset (and dependency of factor_panel)
    table: str  # the warehouse table research reads
    columns: tuple[str, ...] | None = None  # the columns the factors read; None: all
    known_column: str | None = None
    lookback_days: int | None = None
    check_key: bool = True  # False: the caller's pivot detects repeated keys for free


#: Every frame :class:`FactorInputs` holds, by field, in checking order.
INPUTS: dict[str, Input] = {
    "prices": Input(
        frames.PRICES,
        asset="prices",
        table="raw_prices",
        # not open/high/low: 180 MB of the large world's inputs that no factor reads
        columns=("date", "ticker", "close", "volume"),
        known_column="date",
        lookback_days=400,  # 12-1 momentum's 252 trading days, 200-day trend
        check_key=False,  # see factors.price.price_panels
    ),
    "universe": Input(
        UNIVERSE,
        asset="universe",
        table="raw_universe",
        columns=("ticker", "sector", "valid_from", "valid_to"),
    ),
    "portfolio_weights": Input(
        PORTFOLIO_WEIGHTS,
        asset="filer_portfolio_weights",
        table="filer_portfolio_weights",
        known_column="version_date",
    ),
    "position_changes": Input(
        POSITION_CHANGES,
        asset="thirteenf_position_changes",
        table="thirteenf_position_changes",
        known_column="version_date",
    ),
    "insider_trades": Input(
        INSIDER_OPEN_MARKET,
        asset="stg_insider_open_market",
        table="stg_insider_open_market",
        known_column="known_date",
        lookback_days=200,  # trailing windows
    ),
    "news": Input(
        NEWS,
        asset="news_sentiment",
        table="raw_news_sentiment",
        columns=("id", "published_at", "trading_date", "ticker", "relevance", "sentiment"),
        known_column="trading_date",
        lookback_days=200,  # decay window
    ),
}


def empty(field: str) -> pd.DataFrame:
    """An empty frame of input ``field`` (for inputs no registered factor reads)."""
    inp = INPUTS[field]
    frame = inp.schema.empty()
    return frame if inp.columns is None else frame[list(inp.columns)]


@dataclass(frozen=True)
class FactorInputs:
    """All upstream frames the factors read; checked and coerced on construction."""

    prices: pd.DataFrame  # frames.PRICES, the columns of INPUTS["prices"]; with the benchmark
    benchmark: str
    universe: pd.DataFrame  # ticker, sector, valid_from, valid_to (core.security_master)
    portfolio_weights: pd.DataFrame  # PORTFOLIO_WEIGHTS
    position_changes: pd.DataFrame  # POSITION_CHANGES
    insider_trades: pd.DataFrame  # INSIDER_OPEN_MARKET
    news: pd.DataFrame  # NEWS, the columns of INPUTS["news"]

    def __post_init__(self) -> None:
        for field, inp in INPUTS.items():
            frame = frames.checked(
                getattr(self, field), inp.schema, columns=inp.columns, check_key=inp.check_key
            )
            # Frozen for callers; the one place the frames are replaced by their checked form.
            object.__setattr__(self, field, frame)
            if field == "prices" and not (frame["ticker"] == self.benchmark).any():
                raise ValueError(f"prices: no rows for the benchmark ticker {self.benchmark!r}")


_FIELDS = {f.name for f in dataclasses.fields(FactorInputs)} - {"benchmark"}
if set(INPUTS) != _FIELDS:  # a new input is a field here and a declaration above
    raise RuntimeError(f"FactorInputs fields {sorted(_FIELDS)} != INPUTS {sorted(INPUTS)}")
