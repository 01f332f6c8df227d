"""Long (date, ticker) frames laid out as date × ticker matrices, and the input checks.

Why matrices: every statistic in this package is cross-sectional (per date, across
tickers). Holding each column as a ``dates × tickers`` NumPy array lets the fitting
and evaluation code compute thousands of daily ICs in a few vectorised calls instead
of a groupby per date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from investor_mimic.core import frames


def require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise a one-line error naming the frame and its missing columns."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing columns {missing} (has {list(frame.columns)})")


def require_unique_keys(frame: pd.DataFrame, what: str) -> None:
    """Raise when a (date, ticker) pair appears twice: every matrix cell must have one source."""
    dup = frames.duplicate_keys(frame, ("date", "ticker"), keep="first")
    if dup.any():
        first = frame.loc[dup, ["date", "ticker"]].iloc[0]
        raise ValueError(
            f"{what}: {int(dup.sum())} duplicate (date, ticker) rows, "
            f"first {first['date']:%Y-%m-%d} {first['ticker']}"
        )


@dataclass(frozen=True)
class Grid:
    """The sorted dates and tickers of one long frame; rows and columns of every matrix."""

    dates: pd.DatetimeIndex
    tickers: pd.Index

    @classmethod
    def of(cls, frame: pd.DataFrame) -> Grid:
        dates = pd.DatetimeIndex(pd.to_datetime(frame["date"]).unique()).sort_values()
        tickers = pd.Index(pd.unique(frame["ticker"])).sort_values()
        return cls(dates=dates, tickers=tickers)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.dates), len(self.tickers)

    def positions(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row and column of each frame row, and which rows fall inside the grid at all."""
        i = self.dates.get_indexer(pd.DatetimeIndex(frame["date"]))
        j = self.tickers.get_indexer(pd.Index(frame["ticker"]))
        inside = (i >= 0) & (j >= 0)
        return i, j, inside

    def matrix(self, frame: pd.DataFrame, column: str) -> np.ndarray:
        """``column`` as a float matrix; cells without a row are NaN, rows off the grid ignored."""
        i, j, inside = self.positions(frame)
        out = np.full(self.shape, np.nan)
        out[i[inside], j[inside]] = frame[column].to_numpy(dtype="float64")[inside]
        return out

    def present(self, frame: pd.DataFrame) -> np.ndarray:
        """Boolean matrix: which cells have a row in ``frame`` (the universe of each date)."""
        i, j, inside = self.positions(frame)
        out = np.zeros(self.shape, dtype=bool)
        out[i[inside], j[inside]] = True
        return out
