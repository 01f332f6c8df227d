"""Listings, delistings and a sector change in the demo world's security master.

Why: a universe fixed for all history hides survivorship and look-ahead bugs (a ticker
that appears mid-history getting factor rows before it existed, a sector known before it
changed). The world therefore lists a few tickers mid-history (their bars start then),
delists a few (their bars end with a final bar on ``valid_to``) and moves one ticker to
another sector, all drawn from the world's own ``listings`` stream so every other
component's draws are unchanged.

What is left as it is: 13F filers may report a holding, insiders file and news mention a
ticker outside its listing (the pipeline must ignore what is not listed at D), and the
market simulation keeps each ticker's original sector's returns after the change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from investor_mimic.core.frames import UNIVERSE, coerce
from investor_mimic.demo.universe import SECTORS

__all__ = ["listed_bars", "plan_listings"]


def plan_listings(
    rng: np.random.Generator, universe: pd.DataFrame, days: pd.DatetimeIndex
) -> pd.DataFrame:
    """The public security master (``frames.UNIVERSE``) of ``universe`` over ``days``:
    ``max(2, n // 100)`` listings and delistings and one sector change, on distinct
    tickers, at trading days between a quarter and four fifths of the history."""
    n = len(universe)
    k = max(2, n // 100)
    if n < 2 * k + 1:
        raise ValueError(f"demo listings: {n} tickers are too few for {k} IPOs and delistings")
    chosen = rng.permutation(n)[: 2 * k + 1]
    ipo, delisted, moved = chosen[:k], chosen[k : 2 * k], int(chosen[2 * k])

    def day(lo: float, hi: float) -> pd.Timestamp:
        return days[int(rng.integers(int(lo * len(days)), int(hi * len(days))))]

    public = ["ticker", "cik", "cusip", "name", "sector"]
    rows = universe[public].reset_index(drop=True)
    rows["valid_from"] = rows["valid_to"] = pd.Series(pd.NaT, index=rows.index, dtype="M8[ns]")
    for i in ipo:
        rows.loc[rows.index[i], "valid_from"] = day(0.25, 0.6)
    for i in delisted:
        rows.loc[rows.index[i], "valid_to"] = day(0.4, 0.8)
    change = day(0.3, 0.7)
    before = rows.iloc[[moved]].assign(valid_to=days[int(days.searchsorted(change)) - 1])
    others = [s for s in SECTORS if s != before["sector"].iloc[0]]
    after = rows.iloc[[moved]].assign(
        valid_from=change, sector=others[int(rng.integers(len(others)))]
    )
    spans = pd.concat([rows.drop(rows.index[moved]), before, after], ignore_index=True)
    return coerce(spans.sort_values(["ticker", "valid_from"], na_position="first"), UNIVERSE)


def _bound(pick: str) -> Callable[[pd.Series], Any]:
    """The earliest start / latest end (``pick``: min / max) of a ticker's rows, NaT
    when any row is open."""
    return lambda s: getattr(s, pick)() if s.notna().all() else pd.NaT


def listed_bars(bars: pd.DataFrame, master: pd.DataFrame, benchmark: str) -> pd.DataFrame:
    """``bars`` without the days a ticker was not listed (the benchmark is always kept)."""
    first = master.groupby("ticker")["valid_from"].agg(_bound("min"))  # NaT: from the start
    last = master.groupby("ticker")["valid_to"].agg(_bound("max"))  # NaT: still listed
    lo = bars["ticker"].map(first)
    hi = bars["ticker"].map(last)
    keep = (bars["ticker"] == benchmark) | (
        (lo.isna() | (bars["date"] >= lo)) & (hi.isna() | (bars["date"] <= hi))
    )
    return bars[keep.to_numpy()].reset_index(drop=True)
