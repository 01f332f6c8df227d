"""Crafted books and cross-sections for the portfolio and trading tests (no tests here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
import pandas as pd

from investor_mimic.core import frames
from investor_mimic.portfolio.book import Book
from investor_mimic.portfolio.cross_section import CrossSection

DAY = date(2024, 6, 3)


def cross_section(
    n: int = 60,
    seed: int = 0,
    day: date = DAY,
    sectors: int = 6,
    prices: Sequence[float] | None = None,
) -> CrossSection:
    """``n`` tickers T000.. with random scores, prices 10–200 and ``sectors`` sectors."""
    rng = np.random.default_rng(seed)
    return CrossSection(
        day,
        np.array([f"T{i:03d}" for i in range(n)], dtype=object),
        rng.normal(size=n),
        np.asarray(prices, dtype=float) if prices is not None else rng.uniform(10, 200, n),
        np.array([f"S{i % sectors}" for i in range(n)], dtype=object),
        rng.uniform(0.01, 0.04, n),
    )


def book(
    rows: Sequence[Mapping[str, object]],
    cash: float,
) -> Book:
    """A book from rows of ``ticker, sector, price, held, trade`` (+ optional ``reason``,
    ``entry_price``, ``score``, ``target_weight``)."""
    frame = pd.DataFrame(rows)

    def col(name: str, default: object) -> np.ndarray:
        if name in frame:
            return frame[name].where(frame[name].notna(), default).to_numpy()
        return np.full(len(frame), default)

    reason = col("reason", "").astype(object)
    return Book(
        tickers=col("ticker", "").astype(object),
        sector=col("sector", "S0").astype(object),
        price=col("price", 100.0).astype(float),
        held=col("held", 0.0).astype(float),
        entry_price=col("entry_price", 100.0).astype(float),
        trade=col("trade", 0.0).astype(float),
        forced=np.isin(reason, ["stop_loss", "take_profit"]),
        score=col("score", 0.0).astype(float),
        target_weight=col("target_weight", 0.0).astype(float),
        reason=reason,
        cash=cash,
    )


def portfolio_frame(
    day: date, cash: float, positions: Sequence[Mapping[str, object]]
) -> pd.DataFrame:
    """A ``frames.PORTFOLIO`` frame: ``positions`` rows of ticker, shares, price, sector
    (+ avg_entry_price), plus the cash row."""
    rows = [
        {
            "date": pd.Timestamp(day),
            "asset_class": "stock",
            "ticker": p["ticker"],
            "shares": p["shares"],
            "avg_entry_price": p.get("avg_entry_price", p["price"]),
            "price": p["price"],
            "market_value": float(p["shares"]) * float(p["price"]),  # type: ignore[arg-type]
            "weight": 0.0,
            "sector": p.get("sector", "S0"),
        }
        for p in positions
    ]
    rows.append(
        {
            "date": pd.Timestamp(day),
            "asset_class": "cash",
            "ticker": "USD",
            "shares": cash,
            "avg_entry_price": 1.0,
            "price": 1.0,
            "market_value": cash,
            "weight": 0.0,
            "sector": "Cash",
        }
    )
    frame = pd.DataFrame(rows)
    equity = frame["market_value"].sum()
    frame["weight"] = frame["market_value"] / equity
    return frames.coerce(frame, frames.PORTFOLIO)
