"""What the book holds: cash and positions with their entry prices.

Why entry prices live here: stop-loss and take-profit are measured from each position's
average entry price, and the broker reports exactly that (``avg_entry_price``), so the
live book and the backtest's simulated book are the same value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from investor_mimic.broker.models import Position
from investor_mimic.core import frames
from investor_mimic.portfolio.cross_section import UNKNOWN_SECTOR

#: The ticker of the cash row in a ``frames.PORTFOLIO`` frame (``asset_class`` "cash").
CASH_TICKER = "USD"


@dataclass(frozen=True)
class Holding:
    shares: float
    entry_price: float


@dataclass(frozen=True)
class PortfolioState:
    """Cash plus holdings (ticker → shares, average entry price); no shorts."""

    cash: float
    holdings: Mapping[str, Holding] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for ticker, h in self.holdings.items():
            if not h.shares > 0:
                raise ValueError(f"holding {ticker}: shares must be > 0, got {h.shares}")
            if not h.entry_price > 0:
                raise ValueError(f"holding {ticker}: entry price must be > 0, got {h.entry_price}")

    @classmethod
    def from_positions(cls, cash: float, positions: Iterable[Position]) -> PortfolioState:
        """The book a broker reports (positions with no shares left are dropped)."""
        return cls(
            cash=float(cash),
            holdings={
                p.ticker: Holding(float(p.qty), float(p.avg_entry_price))
                for p in positions
                if p.qty > 0
            },
        )

    def market_value(self, prices: Mapping[str, float]) -> float:
        """Value of the positions at ``prices`` (every held ticker must be priced)."""
        missing = sorted(t for t in self.holdings if t not in prices)
        if missing:
            raise ValueError(f"no price for held ticker(s) {missing}")
        return float(sum(h.shares * prices[t] for t, h in self.holdings.items()))

    def equity(self, prices: Mapping[str, float]) -> float:
        return self.cash + self.market_value(prices)


def portfolio_frame(
    day: date,
    state: PortfolioState,
    prices: Mapping[str, float],
    sectors: Mapping[str, str],
) -> pd.DataFrame:
    """The book at ``day``'s close as a ``frames.PORTFOLIO`` frame (positions + cash row)."""
    equity = state.equity(prices)
    rows = [
        {
            "asset_class": "stock",
            "ticker": t,
            "shares": h.shares,
            "avg_entry_price": h.entry_price,
            "price": prices[t],
            "market_value": h.shares * prices[t],
            "sector": sectors.get(t) or UNKNOWN_SECTOR,
        }
        for t, h in sorted(state.holdings.items())
    ]
    rows.append(
        {
            "asset_class": "cash",
            "ticker": CASH_TICKER,
            "shares": state.cash,
            "avg_entry_price": 1.0,
            "price": 1.0,
            "market_value": state.cash,
            "sector": "Cash",
        }
    )
    frame = pd.DataFrame(rows)
    frame.insert(0, "date", pd.Timestamp(day))
    frame["weight"] = frame["market_value"] / equity if equity else 0.0
    return frames.coerce(frame, frames.PORTFOLIO)


def state_from_frame(frame: pd.DataFrame) -> PortfolioState:
    """The :class:`PortfolioState` a ``frames.PORTFOLIO`` frame describes."""
    cash = frame[frame["asset_class"] == "cash"]
    if len(cash) != 1:
        raise ValueError(f"portfolio frame needs exactly one cash row, found {len(cash)}")
    stocks = frame[frame["asset_class"] == "stock"]
    return PortfolioState(
        cash=float(cash["market_value"].iloc[0]),
        holdings={
            str(t): Holding(float(q), float(p))
            for t, q, p in zip(
                stocks["ticker"], stocks["shares"], stocks["avg_entry_price"], strict=True
            )
        },
    )
