"""Forward returns: the labels the factor weights are fitted and judged on.

Convention (the project's one score timing rule): the factor panel and the composite
score at trading day D use data known by D's close, and orders go to D+1's open. So
the label of feature date D is the return an order placed on D actually earns::

    fwd_return(D) = open(D + 1 + h) / open(D + 1) - 1
    exit_date(D)  = trading day D + 1 + h

where ``D + k`` counts trading days in the price frame. ``exit_date`` is the day the
label becomes known; the walk-forward fit uses it to purge labels that overlap a refit
date. Where the window runs past the data, ``fwd_return`` is NaN and ``exit_date`` NaT;
where a ticker lacks an open at the entry or exit day, only ``fwd_return`` is NaN.

Default: raw returns. With ``benchmark`` the label is the excess over that ticker's
return on the same window (cross-sectional ICs do not change; quantile returns become
market-relative).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from investor_mimic.research.grid import Grid, require_columns, require_unique_keys

TARGET_COLUMNS = ("date", "ticker", "fwd_return", "exit_date")


def forward_returns(
    prices: pd.DataFrame, horizon: int, benchmark: str | None = None
) -> pd.DataFrame:
    """One row per price row: date, ticker, fwd_return, exit_date (see module docstring)."""
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
        raise ValueError(f"forward_returns: horizon must be a positive int, got {horizon!r}")
    require_columns(prices, ("date", "ticker", "open"), "forward_returns prices")
    require_unique_keys(prices, "forward_returns prices")
    opens = pd.to_numeric(prices["open"])
    if (opens <= 0).any():
        bad = prices.loc[opens <= 0].iloc[0]
        raise ValueError(
            f"forward_returns prices: non-positive open {bad['open']} "
            f"for {bad['ticker']} on {pd.Timestamp(bad['date']):%Y-%m-%d}"
        )

    grid = Grid.of(prices)
    open_ = grid.matrix(prices, "open")
    n_dates = len(grid.dates)
    entry = np.arange(n_dates) + 1
    exit_ = entry + horizon
    inside = exit_ < n_dates
    fwd = np.full(open_.shape, np.nan)
    fwd[inside] = open_[exit_[inside]] / open_[entry[inside]] - 1.0
    exit_dates = np.full(n_dates, np.datetime64("NaT"), dtype="datetime64[ns]")
    exit_dates[inside] = grid.dates.to_numpy()[exit_[inside]]

    if benchmark is not None:
        if benchmark not in grid.tickers:
            raise ValueError(f"forward_returns: benchmark {benchmark!r} is not in the prices")
        column = int(np.flatnonzero(grid.tickers == benchmark)[0])
        fwd = fwd - fwd[:, [column]]

    i, j, _ = grid.positions(prices)
    out = pd.DataFrame(
        {
            "date": grid.dates[i],
            "ticker": prices["ticker"].to_numpy(),
            "fwd_return": fwd[i, j],
            "exit_date": exit_dates[i],
        }
    )
    return out.sort_values(["date", "ticker"], ignore_index=True)
