"""The four price/volume factors and average dollar volume, over (trading day x ticker) panels.

Point-in-time rule for every function here: the value on row D is a function of the rows
up to and including D only (shifts look back, rolling windows are trailing). Row D uses
the close of D, so a factor on D is known at D's close; orders built from it go to the
next open.

Windows count rows of the panel, which are NYSE trading days (see
:func:`price_panels`). A value is NaN when its window is not fully covered ("insufficient
history"), never a partial-window estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from investor_mimic.factors import grid


@dataclass(frozen=True)
class PricePanels:
    """Wide (trading day x ticker) close and volume.

    ``close`` is carried forward over missing bars for at most ``fill_limit`` days;
    ``volume`` is 0 on such carried days (nothing traded) and NaN where ``close`` is NaN.
    """

    close: pd.DataFrame
    volume: pd.DataFrame


def price_panels(
    prices: pd.DataFrame, calendar: pd.DatetimeIndex, tickers: pd.Index, fill_limit: int = 5
) -> PricePanels:
    """Pivot long bars (``frames.PRICES``) onto ``calendar`` x ``tickers``.

    Bars of other tickers or after the calendar end are ignored; a bar on a date inside
    the calendar's range that is not in the calendar (not an NYSE trading day) and two
    bars for the same (date, ticker) are errors.
    """
    day = grid.day_rows(prices["date"], calendar)
    col = grid.label_positions(prices["ticker"], tickers)
    off_calendar = day < 0
    if off_calendar.any():
        off_calendar &= (prices["date"] <= calendar[-1]).to_numpy()
    if off_calendar.any():
        example = prices.loc[off_calendar, "date"].iloc[0].date()
        raise ValueError(
            f"prices: {int(off_calendar.sum())} bars on dates that are not NYSE trading days, "
            f"e.g. {example}"
        )
    keep = (day >= 0) & (col >= 0)
    every = bool(keep.all())  # the usual case: no copies of the kept bars
    shape = (len(calendar), len(tickers))
    cell = day if every else day[keep]  # made the flat (row-major) cell of each bar, in place
    cell *= shape[1]
    cell += col if every else col[keep]
    del day, col
    # bars sorted by (date, ticker) are the usual case: strictly increasing cells cannot
    # repeat, which is one cheap pass instead of a count per cell
    if len(cell) > 1 and not (cell[1:] > cell[:-1]).all():
        repeats = np.bincount(cell, minlength=shape[0] * shape[1]) > 1
    else:
        repeats = np.zeros(1, dtype=bool)
    if repeats.any():
        d, t = np.unravel_index(np.argmax(repeats), shape)
        raise ValueError(
            f"prices: {int(repeats.sum())} (date, ticker) pairs have several bars, "
            f"e.g. ({calendar[int(d)].date()}, {tickers[int(t)]})"
        )
    del repeats
    close = np.full(shape, np.nan)
    volume = np.full(shape, np.nan)
    for panel, column in ((close, "close"), (volume, "volume")):
        bars = prices[column].to_numpy(np.float64)
        panel.reshape(-1)[cell] = bars if every else bars[keep]
    del cell
    _ffill_rows(close, fill_limit)
    volume[np.isnan(volume) & ~np.isnan(close)] = 0.0
    return PricePanels(
        pd.DataFrame(close, index=calendar, columns=tickers, copy=False),
        pd.DataFrame(volume, index=calendar, columns=tickers, copy=False),
    )


def _ffill_rows(values: np.ndarray, limit: int) -> None:
    """``DataFrame.ffill(limit=limit)`` in place: a missing value takes the row above's
    while at most ``limit`` values in a row have been missing.

    Row by row, each step vectorised across the tickers (pandas fills column by column).
    """
    if limit < 0:
        raise ValueError(f"price_panels: fill_limit must be >= 0, got {limit}")
    if limit == 0:
        return
    run = np.zeros(values.shape[1], dtype=np.int64)  # missing values in a row so far
    for row in range(1, values.shape[0]):
        missing = np.isnan(values[row])
        run += 1
        run[~missing] = 0
        np.copyto(values[row], values[row - 1], where=missing & (run <= limit))


def trailing_sums(
    values: np.ndarray, windows: tuple[int, ...], step: float = 1.0
) -> list[np.ndarray]:
    """:func:`trailing_sum` of a (row x column) float array for several windows at once.

    One pass down the rows: each row is rounded to integer units (kept in a ring of the
    last ``max(windows)`` rows) and each window's sum adds the row that enters and
    subtracts the one that leaves, every step vectorised across the columns. Integer
    sums are exact, so these are the bits of the differences of cumulative sums (the
    definition), with no full-size temporaries: each one costs page faults as well as
    a pass (on the large world the panel's many 60 MB arrays cost more system than user
    time).
    """
    for window in windows:
        if window < 1:
            raise ValueError(f"trailing_sum: window must be >= 1, got {window}")
    n_rows, n_cols = values.shape
    depth = max(windows) + 1
    ring = np.zeros((depth, n_cols), dtype=np.int64)  # integer units of the last rows
    units = np.empty(n_cols)
    missing = np.empty(n_cols, dtype=bool)
    last_missing = np.full(n_cols, -n_rows - depth, dtype=np.int64)  # row per column
    out = [np.empty(values.shape, dtype=np.float64) for _ in windows]
    sums = [np.zeros(n_cols, dtype=np.int64) for _ in windows]
    for row in range(n_rows):
        np.isnan(values[row], out=missing)
        np.copyto(units, values[row])
        units[missing] = 0.0
        if step != 1.0:
            units /= step
        np.rint(units, out=units)
        whole = ring[row % depth]
        whole[...] = units
        np.copyto(last_missing, row, where=missing)
        for window, total, result in zip(windows, sums, out, strict=True):
            total += whole
            if row >= window:
                total -= ring[(row - window) % depth]
            np.multiply(total, step, out=result[row])  # the int64 sum rounded to float64, scaled
            np.copyto(result[row], np.nan, where=last_missing > row - window)
    for window, result in zip(windows, out, strict=True):
        result[: window - 1] = np.nan
    return out


def trailing_sum(panel: pd.DataFrame, window: int, step: float = 1.0) -> pd.DataFrame:
    """Sum of rows D-window+1..D per column; NaN unless all ``window`` values are present.

    Values are rounded to multiples of ``step`` and summed as integers (differences of
    cumulative sums). Integer sums are exact, so the value on D does not depend on how
    much history before the window was loaded (a partition run and a backfill agree to
    the bit) and a window with no volume is exactly 0. ``step`` must be fine enough for
    the data (1e-6 for prices in dollars) and coarse enough that 2,520 days of
    ``value / step`` fit an int64 (volumes and dollar volumes: 1).
    Vectorised over all columns at once (``DataFrame.rolling`` runs column by column).
    """
    (out,) = trailing_sums(panel.to_numpy(dtype=np.float64), (window,), step)
    return pd.DataFrame(out, index=panel.index, columns=panel.columns, copy=False)


def momentum_12_1(close: pd.DataFrame, lookback: int = 252, skip: int = 21) -> pd.DataFrame:
    """``close[D - skip] / close[D - lookback] - 1``: the 12-month return without the last month.

    Source: daily closes. The most recent ``skip`` days are left out because one-month
    returns tend to reverse.
    """
    if not 0 <= skip < lookback:
        raise ValueError(f"momentum_12_1: need 0 <= skip < lookback, got {skip}, {lookback}")
    values = close.to_numpy(dtype=np.float64)
    out = _lagged_ratio(values, skip, lookback)
    return pd.DataFrame(out, index=close.index, columns=close.columns, copy=False)


def _lagged_ratio(values: np.ndarray, recent: int, lag: int) -> np.ndarray:
    """``values[D - recent] / values[D - lag] - 1`` per row D (NaN for D < lag): what
    ``shift(recent) / shift(lag) - 1`` computes, without the two shifted copies."""
    n = len(values)
    out = np.empty(values.shape)  # every row is written: no 60 MB fill first
    out[:lag] = np.nan
    if lag < n:
        np.divide(values[lag - recent : n - recent], values[: n - lag], out=out[lag:])
        out[lag:] -= 1.0
    return out


def trend(close: pd.DataFrame, windows: tuple[int, ...] = (50, 200)) -> pd.DataFrame:
    """Mean over ``w`` in ``windows`` of ``close[D] / SMA_w[D] - 1`` (SMA over rows D-w+1..D).

    Closes are averaged to a millionth of a dollar (:func:`trailing_sum`).
    """
    values = close.to_numpy(dtype=np.float64)
    total: np.ndarray | None = None
    for w, sums in zip(windows, trailing_sums(values, windows, step=1e-6), strict=True):
        sums /= w  # the SMA
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(values, sums, out=sums)
        sums -= 1.0
        total = sums if total is None else np.add(total, sums, out=total)
    if total is None:
        raise ValueError("trend: no windows")
    total /= len(windows)
    return pd.DataFrame(total, index=close.index, columns=close.columns, copy=False)


def relative_strength(close: pd.DataFrame, benchmark: pd.Series, days: int = 63) -> pd.DataFrame:
    """``close[D] / close[D - days] - 1`` minus the same return of the benchmark."""
    stock = _lagged_ratio(close.to_numpy(dtype=np.float64), 0, days)
    stock -= _lagged_ratio(benchmark.to_numpy(dtype=np.float64), 0, days)[:, None]
    return pd.DataFrame(stock, index=close.index, columns=close.columns, copy=False)


def volume_accumulation(close: pd.DataFrame, volume: pd.DataFrame, days: int = 50) -> pd.DataFrame:
    """Up-volume minus down-volume over total volume of the last ``days`` days, in [-1, 1].

    ``sum(sign(close[d] - close[d-1]) * volume[d]) / sum(volume[d])`` over d in D-days+1..D:
    a normalised on-balance-volume slope (buying pressure), comparable across sizes.
    NaN when the window is incomplete or had no volume at all.
    """
    shares = volume.to_numpy(dtype=np.float64)
    closes = close.to_numpy(dtype=np.float64)
    change = np.empty(closes.shape)
    change[:1] = np.nan
    np.subtract(closes[1:], closes[:-1], out=change[1:])
    signed = np.sign(change, out=change)
    signed *= shares
    (up_minus_down,) = trailing_sums(signed, (days,))
    del signed, change
    (total,) = trailing_sums(shares, (days,))
    total[~(total > 0)] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        up_minus_down /= total
    return pd.DataFrame(up_minus_down, index=close.index, columns=close.columns, copy=False)


def average_dollar_volume(
    close: pd.DataFrame, volume: pd.DataFrame, days: int = 63
) -> pd.DataFrame:
    """Mean of ``close * volume`` over the last ``days`` rows; NaN when incomplete or zero.

    Daily dollar volume is summed in whole dollars (:func:`trailing_sum`).
    """
    dollars = close.to_numpy(dtype=np.float64) * volume.to_numpy(dtype=np.float64)
    (adv,) = trailing_sums(dollars, (days,))
    del dollars
    adv /= days
    adv[~(adv > 0)] = np.nan
    return pd.DataFrame(adv, index=close.index, columns=close.columns, copy=False)
