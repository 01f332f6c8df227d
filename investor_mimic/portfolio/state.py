"""What the book holds: cash and positions with their entry prices.

Why entry prices live here: stop-loss and take-profit are measured from each position's
average entry price, and the broker reports exactly that (``avg_entry_price``), so the
live book and the backtest's simulated book are the same value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from investor_mimic.broker.models import Position


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
