"""Cross-sectional statistics over ``dates × tickers`` matrices: daily IC and its t-stat.

Why Newey-West: consecutive h-day forward returns share h-1 days, so daily ICs are
autocorrelated and the naive t-stat (mean / (std / sqrt(n))) overstates significance
by roughly sqrt(h). The Newey-West (Bartlett kernel) variance keeps every date while
correcting for that overlap; it uses ``h - 1`` lags, or the usual rule of thumb
``4 (n / 100) ** (2 / 9)`` when that is larger, because persistent factors make daily ICs
autocorrelated even with 1-day labels.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

Correlation = Literal["pearson", "spearman"]

MIN_NAMES = 3  # fewer pairs than this on a date: no IC for that date


def rank_rows(values: np.ndarray) -> np.ndarray:
    """Rank each row (1 = smallest), ties averaged, NaN stays NaN."""
    return pd.DataFrame(values).rank(axis=1, method="average").to_numpy()


def row_correlation(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``x`` with the same row of ``y`` over cells where
    both are finite; NaN for rows with fewer than :data:`MIN_NAMES` pairs or no variance."""
    both = np.isfinite(x) & np.isfinite(y)
    n = both.sum(axis=1)
    xs = np.where(both, x, 0.0)
    ys = np.where(both, y, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        xd = np.where(both, xs - xs.sum(axis=1, keepdims=True) / n[:, None], 0.0)
        yd = np.where(both, ys - ys.sum(axis=1, keepdims=True) / n[:, None], 0.0)
        ssx = (xd * xd).sum(axis=1)
        ssy = (yd * yd).sum(axis=1)
        corr = (xd * yd).sum(axis=1) / np.sqrt(ssx * ssy)
    # a constant row leaves only rounding noise after demeaning: compare with its own scale
    spread = (ssx > 1e-14 * (xs * xs).sum(axis=1)) & (ssy > 1e-14 * (ys * ys).sum(axis=1))
    valid = (n >= MIN_NAMES) & spread
    return np.where(valid, np.clip(corr, -1.0, 1.0), np.nan)


def daily_ic(signal: np.ndarray, forward: np.ndarray, method: Correlation) -> np.ndarray:
    """One IC per date (row): Pearson, or Spearman (Pearson of ranks within the common cells)."""
    if method == "pearson":
        return row_correlation(signal, forward)
    both = np.isfinite(signal) & np.isfinite(forward)
    return row_correlation(
        rank_rows(np.where(both, signal, np.nan)), rank_rows(np.where(both, forward, np.nan))
    )


def newey_west_tstat(series: np.ndarray, lags: int) -> float:
    """t-stat of the mean of ``series`` (NaNs dropped) with a Newey-West variance.

    ``lags`` is the least number of autocovariances kept (h - 1 for h-day overlapping
    labels; raised to the rule-of-thumb lag for long series); their weights fall linearly
    (Bartlett), which keeps the variance non-negative.
    """
    x = np.asarray(series, dtype="float64")
    x = x[np.isfinite(x)]
    n = len(x)
    if n < 2:
        return float("nan")
    d = x - x.mean()
    var = float(d @ d) / n
    lags = max(lags, int(4 * (n / 100) ** (2 / 9)))
    for k in range(1, min(lags, n - 1) + 1):
        var += 2.0 * (1.0 - k / (lags + 1)) * float(d[k:] @ d[:-k]) / n
    if var <= 0:
        return float("nan")
    return float(x.mean() / np.sqrt(var / n))
