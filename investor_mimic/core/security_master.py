"""Who was listed, and in which sector, on a given day: the point-in-time universe.

Why here: factors (panel rows), research (z-scores, buckets), portfolio (proposals) and the
backtest (closing a delisted holding) must agree on one answer, so the rule is one pure
function over the security master (``frames.UNIVERSE``: one row per ticker and span).

A ticker is listed on D while one of its rows has ``valid_from <= D <= valid_to``; a
missing ``valid_from`` means listed before the data begins, a missing ``valid_to`` still
listed. ``valid_to`` of a delisted ticker is its last trading day (its final bar). A
sector change ends one row and starts the next, so "the sector at D" is the sector of
the row in force at D, never today's for all history.

Where the dates come from: the demo world writes them; for real data SEC's
``company_tickers.json`` carries no dates (it lists today's companies): a built
universe's rows have none, and such a ticker counts as listed over the whole history —
the survivorship risk of a current constituent list, stated in the README.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

__all__ = ["listed_at", "listed_mask", "sectors_as_of", "tickers"]


#: Days (dates, timestamps or a DatetimeIndex) and tickers (any sequence or Index of str).
Dates: TypeAlias = "list[date] | list[pd.Timestamp] | pd.Index[Any]"
Tickers: TypeAlias = "Sequence[str] | pd.Index[Any]"


def tickers(master: pd.DataFrame) -> pd.Index:
    """Every ticker the master has ever held, sorted and unique."""
    return pd.Index(sorted(pd.unique(master["ticker"])), name="ticker")


def _grid(master: pd.DataFrame, dates: Dates, columns: Tickers) -> tuple[np.ndarray, np.ndarray]:
    """(date x ticker) listed mask and the row number of ``master`` in force (-1: none)."""
    days = pd.DatetimeIndex(dates).to_numpy(dtype="datetime64[ns]")
    col = {t: i for i, t in enumerate(columns)}
    row = np.full((len(days), len(col)), -1, dtype=np.int64)
    lo_all = pd.to_datetime(master["valid_from"]).to_numpy(dtype="datetime64[ns]")
    hi_all = pd.to_datetime(master["valid_to"]).to_numpy(dtype="datetime64[ns]")
    for i, (ticker, lo, hi) in enumerate(zip(master["ticker"], lo_all, hi_all, strict=True)):
        j = col.get(ticker)
        if j is None:
            continue
        start = 0 if np.isnat(lo) else int(days.searchsorted(lo, side="left"))
        stop = len(days) if np.isnat(hi) else int(days.searchsorted(hi, side="right"))
        if start < stop:
            row[start:stop, j] = i
    return row >= 0, row


def listed_mask(master: pd.DataFrame, dates: Dates, columns: Tickers) -> np.ndarray:
    """Boolean (date x ticker) array: ``columns[j]`` listed on ``dates[i]``; tickers not in
    the master are never listed."""
    return _grid(master, dates, columns)[0]


def sectors_as_of(master: pd.DataFrame, dates: Dates, columns: Tickers) -> np.ndarray:
    """Object (date x ticker) array: the sector in force on each date (None when unlisted)."""
    listed, row = _grid(master, dates, columns)
    sectors = np.empty(len(master) + 1, dtype=object)  # the last entry stays None
    sectors[:-1] = master["sector"].to_numpy(dtype=object)
    return sectors[np.where(listed, row, -1)]


def listed_at(master: pd.DataFrame, day: date | pd.Timestamp) -> pd.DataFrame:
    """The master's rows in force on ``day``: one per ticker listed then, with its sector
    then, sorted by ticker."""
    ts = pd.Timestamp(day)
    lo, hi = pd.to_datetime(master["valid_from"]), pd.to_datetime(master["valid_to"])
    live = (lo.isna() | (lo <= ts)) & (hi.isna() | (hi >= ts))
    return master[live.to_numpy()].sort_values("ticker", ignore_index=True)
