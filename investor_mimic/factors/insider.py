"""Insider net buying: opportunistic open-market purchases minus sales (SEC Form 4).

Which trades count: open-market purchases (P) and sales (S) only (the upstream model
keeps nothing else), and of those only the *opportunistic* ones. Trades under a 10b5-1
plan were scheduled in advance and trades flagged ``is_routine`` (same calendar month in
each of the prior three years: bonuses, tax payments) say nothing about the insider's
view; both are excluded outright rather than down-weighted, because no weight between 0
and 1 has a principled value.

Coverage: every open-market trade by an insider must be filed within two business days,
so a ticker with no counted trade in the window has a *measured* net buying of 0. The
factor is NaN only where the scale (average dollar volume) is not computable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def opportunistic(trades: pd.DataFrame) -> pd.DataFrame:
    """The trades that carry the signal: neither 10b5-1 plan trades nor routine trades.

    Trades without a dollar value (the Form 4 stated no price) cannot be summed and are
    left out too.
    """
    return trades[~(trades["is_10b5_1"] | trades["is_routine"]) & trades["value_usd"].notna()]


def net_dollars(
    trades: pd.DataFrame, calendar: pd.DatetimeIndex, tickers: pd.Index, window_days: int = 90
) -> np.ndarray:
    """Sum of signed ``value_usd`` of ``trades`` with ``D - window_days < known_date <= D``,
    a (calendar x ticker) array.

    Sums run on integer cents (cumulative sums differenced), so a window from which every
    trade has dropped out is exactly 0 — no floating-point residue to pass as a signal.
    """
    col = tickers.get_indexer(pd.Index(trades["ticker"]))
    trades, col = trades[col >= 0], col[col >= 0]
    known = pd.DatetimeIndex(np.unique(trades["known_date"].to_numpy()))
    grid = np.zeros((len(known) + 1, len(tickers)), dtype=np.int64)
    cents = np.rint(trades["value_usd"].to_numpy(np.float64) * 100).astype(np.int64)
    rows = known.get_indexer(pd.Index(trades["known_date"])) + 1
    np.add.at(grid, (rows, col), cents)
    # row i: all trades known on the first i known dates (row by row, each step
    # vectorised across tickers: cumsum(axis=0) walks each column with a 24 kB stride)
    for i in range(1, len(grid)):
        np.add(grid[i - 1], grid[i], out=grid[i])
    upto = known.searchsorted(calendar, side="right")
    before = known.searchsorted(calendar - pd.Timedelta(days=window_days), side="right")
    net = np.empty((len(calendar), len(tickers)))
    for day, (a, b) in enumerate(zip(upto, before, strict=True)):
        np.subtract(grid[a], grid[b], out=net[day])  # exact cents, then rounded to float64
    net /= 100.0
    return net


def insider_net_buying(
    trades: pd.DataFrame,
    adv: pd.DataFrame,
    *,
    window_days: int = 90,
) -> pd.DataFrame:
    """Opportunistic net insider buying over ``window_days`` calendar days, per dollar of volume.

    ``insider[D, t] = sum(value_usd of opportunistic P/S trades of t with
    D - window_days < known_date <= D) / ADV[D, t]`` where ``value_usd`` is signed (+ buys,
    - sales) and ``ADV`` is the trailing average daily dollar volume (``adv``, a
    calendar x ticker panel). Dividing by ADV puts a $1M purchase in a small cap above the
    same purchase in a mega cap. Source: ``stg_insider_open_market``; point in time by
    ``known_date`` (first trading day after the Form 4 was accepted).
    """
    calendar = pd.DatetimeIndex(adv.index)
    tickers = pd.Index(adv.columns)
    net = net_dollars(opportunistic(trades), calendar, tickers, window_days)
    net /= adv.to_numpy(dtype=np.float64)  # in place: no third 60 MB panel
    return pd.DataFrame(net, index=calendar, columns=tickers, copy=False)
