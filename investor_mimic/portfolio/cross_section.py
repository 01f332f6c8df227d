"""One trading day's cross-section: what the portfolio logic may know at that day's close.

Why arrays and not a DataFrame: the backtest calls the portfolio logic once per day for
ten years over hundreds of tickers, and numpy arrays built once per day keep each call
well under a millisecond. :func:`build_cross_section` turns the project's frames into one
and is the point-in-time gate: it drops every row dated after the day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

UNKNOWN_SECTOR = "Unknown"


@dataclass(frozen=True)
class CrossSection:
    """Per ticker: composite score (NaN = not scored), reference price (the close),
    sector, and daily-return volatility (NaN = too little history)."""

    date: date
    tickers: np.ndarray
    score: np.ndarray
    price: np.ndarray
    sector: np.ndarray
    volatility: np.ndarray
    _index: dict[str, int] = field(init=False, repr=False, compare=False)
    sector_code: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.tickers)
        for name in ("score", "price", "sector", "volatility"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"cross-section {self.date}: {name} has the wrong length")
        index = {str(t): i for i, t in enumerate(self.tickers)}
        if len(index) != n:
            raise ValueError(f"cross-section {self.date}: duplicate tickers")
        object.__setattr__(self, "_index", index)
        _, codes = np.unique(self.sector.astype(str), return_inverse=True)
        object.__setattr__(self, "sector_code", codes)

    def __len__(self) -> int:
        return len(self.tickers)

    def position(self, ticker: str) -> int | None:
        return self._index.get(ticker)


def build_cross_section(
    day: date,
    scores: pd.DataFrame,
    closes: pd.DataFrame,
    sectors: Mapping[str, str],
    held: Iterable[str] = (),
    volatility_days: int = 63,
) -> CrossSection:
    """The cross-section of ``day`` from the score rows of that day (``ticker, score``),
    daily closes (``date, ticker, close``) and each ticker's sector at ``day``.

    Held tickers are always included (score NaN when unscored) and priced at their last
    close on or before ``day``; a held ticker with no close at all is an error, since a
    position that cannot be valued cannot be sized against. Rows after ``day`` are
    ignored, so the result depends only on what was known by ``day``'s close.
    """
    ts = pd.Timestamp(day)
    scores = scores[scores["date"] == ts] if "date" in scores.columns else scores
    closes = closes[closes["date"] <= ts]
    tickers = sorted(set(scores["ticker"]) | set(held))
    wide = closes.pivot_table(index="date", columns="ticker", values="close").sort_index()
    values = wide.reindex(columns=tickers).to_numpy(dtype=float)
    n = len(tickers)
    if len(values):
        last = pd.DataFrame(values).ffill().to_numpy()[-1]
        on_day = values[-1] if wide.index[-1] == ts else np.full(n, np.nan)
    else:
        last = on_day = np.full(n, np.nan)
    # scored names trade only with a close at D; held names are valued at their last close
    is_held = np.isin(np.array(tickers, dtype=object), list(held))
    price = np.where(np.isfinite(on_day) | ~is_held, on_day, last)
    unpriced = [t for t, p, h in zip(tickers, price, is_held, strict=True) if h and not p > 0]
    if unpriced:
        raise ValueError(f"{day}: no close on or before this day for held {sorted(unpriced)}")
    rets = pd.DataFrame(np.log(values[-(volatility_days + 1) :])).diff().iloc[1:]
    enough = (rets.count() >= max(5, volatility_days // 2)).to_numpy()
    vol = np.where(enough, rets.std(ddof=1).to_numpy(dtype=float), np.nan)
    score = scores.set_index("ticker")["score"].reindex(tickers)
    return CrossSection(
        date=day,
        tickers=np.array(tickers, dtype=object),
        score=score.to_numpy(dtype=float),
        price=price,
        sector=np.array([sectors.get(t) or UNKNOWN_SECTOR for t in tickers], dtype=object),
        volatility=vol,
    )
