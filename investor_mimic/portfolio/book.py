"""The book a proposal acts on: every name held or targeted, with the trades against it.

Why one value for proposals and checks: :func:`investor_mimic.portfolio.proposal.propose`
builds a :class:`Book`, and every limit in :mod:`investor_mimic.portfolio.limits` reads
one, whether it came from ``propose`` or was rebuilt from the stored ``trade_proposals``
and ``portfolio`` frames (:func:`book_from_frames`) — or crafted by a test to break a
limit on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from investor_mimic.portfolio.stops import STOP_LOSS, TAKE_PROFIT

FORCED_REASONS = frozenset({STOP_LOSS, TAKE_PROFIT})


@dataclass(frozen=True)
class Book:
    """Aligned arrays, one entry per name; ``trade`` is signed shares (+ buy, − sell).

    ``price`` is the reference price the trades are sized at (the day's close);
    ``forced`` marks stop-loss / take-profit exits, which turnover does not count.
    """

    tickers: np.ndarray
    sector: np.ndarray
    price: np.ndarray
    held: np.ndarray
    entry_price: np.ndarray
    trade: np.ndarray
    forced: np.ndarray
    score: np.ndarray
    target_weight: np.ndarray
    reason: np.ndarray
    cash: float

    @property
    def equity(self) -> float:
        """Cash plus the positions at the reference prices, before any trade."""
        return float(self.cash + np.dot(self.held, self.price))

    @property
    def after(self) -> np.ndarray:
        """Shares held once every trade is done."""
        return self.held + self.trade


def book_from_frames(proposals: pd.DataFrame, portfolio: pd.DataFrame) -> Book:
    """Rebuild a :class:`Book` from a ``trade_proposals`` frame and the ``portfolio``
    frame it was proposed against (``frames.TRADE_PROPOSALS``, ``frames.PORTFOLIO``)."""
    positions = portfolio[portfolio["asset_class"] == "stock"]
    cash_rows = portfolio[portfolio["asset_class"] == "cash"]
    if len(cash_rows) != 1:
        raise ValueError(f"portfolio frame needs exactly one cash row, found {len(cash_rows)}")
    if proposals["ticker"].duplicated().any():
        dup = sorted(proposals.loc[proposals["ticker"].duplicated(), "ticker"])
        raise ValueError(f"trade_proposals has more than one order for {dup}")
    tickers = sorted(set(positions["ticker"]) | set(proposals["ticker"]))
    pos = positions.set_index("ticker").reindex(tickers)
    orders = proposals.set_index("ticker").reindex(tickers)
    sign = np.where(orders["side"].to_numpy() == "sell", -1.0, 1.0)
    trade = np.nan_to_num(orders["shares"].to_numpy(dtype=float)) * sign
    price = orders["ref_price"].to_numpy(dtype=float)
    price = np.where(np.isfinite(price), price, pos["price"].to_numpy(dtype=float))
    sector = orders["sector"].where(orders["sector"].notna(), pos["sector"])
    reason = orders["reason"].fillna("").to_numpy(dtype=object)
    return Book(
        tickers=np.array(tickers, dtype=object),
        sector=sector.fillna("Unknown").to_numpy(dtype=object),
        price=price,
        held=np.nan_to_num(pos["shares"].to_numpy(dtype=float)),
        entry_price=pos["avg_entry_price"].to_numpy(dtype=float),
        trade=trade,
        forced=np.isin(reason, list(FORCED_REASONS)),
        score=orders["score"].to_numpy(dtype=float),
        target_weight=np.nan_to_num(orders["target_weight"].to_numpy(dtype=float)),
        reason=reason,
        cash=float(cash_rows["market_value"].iloc[0]),
    )
