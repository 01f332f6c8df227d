"""News sentiment: relevance-weighted, exponentially decayed sentiment of known articles.

Point-in-time rule: an item counts from its ``trading_date`` (the effective trading day of
``published_at``: after the close, on a weekend or holiday it is the next trading day),
so an article published at 17:00 first moves the next day's value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter


def news_sentiment(
    news: pd.DataFrame,
    calendar: pd.DatetimeIndex,
    tickers: pd.Index,
    *,
    half_life: float = 5.0,
    stale_after: int = 20,
) -> pd.DataFrame:
    """Decayed sum of ``relevance * sentiment`` over items with ``trading_date <= D``.

    ``news[D, t] = sum_i relevance_i * sentiment_i * 0.5 ** (age_i / half_life)`` with
    ``age_i`` the number of trading days (rows of ``calendar``) from the item's
    ``trading_date`` to D. A sum rather than a weighted mean, so a fresh strong story
    outweighs an old one and a lone old item fades towards 0 instead of keeping its full
    sentiment. NaN when the ticker's latest item is ``stale_after`` or more trading days
    old, or it has none: no coverage is not the same as neutral news.

    Items dated before ``calendar[0]`` would be lost, so the caller's calendar must start
    at or before the first item; items after ``calendar[-1]`` are ignored.
    """
    if half_life <= 0 or stale_after < 1:
        raise ValueError(
            f"news_sentiment: need half_life > 0 and stale_after >= 1 ({half_life}, {stale_after})"
        )
    col = tickers.get_indexer(pd.Index(news["ticker"]))
    day = calendar.searchsorted(news["trading_date"].to_numpy(), side="left")
    keep = (col >= 0) & (day < len(calendar))
    items = pd.DataFrame(
        {
            "day": day[keep],
            "col": col[keep],
            "id": news["id"].to_numpy()[keep],
            "score": (news["relevance"] * news["sentiment"]).to_numpy()[keep],
        }
    ).sort_values(["day", "col", "id"])  # fixed summation order: same input, same bits
    shape = (len(calendar), len(tickers))
    daily = np.zeros(shape)
    np.add.at(daily, (items["day"].to_numpy(), items["col"].to_numpy()), items["score"].to_numpy())
    count = np.zeros(shape, dtype=np.int64)
    np.add.at(count, (items["day"].to_numpy(), items["col"].to_numpy()), 1)
    decay = 0.5 ** (1.0 / half_life)
    decayed = lfilter([1.0], [1.0, -decay], daily, axis=0)  # y[d] = x[d] + decay * y[d-1]
    seen = np.cumsum(count, axis=0)  # items known by each day
    seen[stale_after:] -= seen[:-stale_after].copy()  # items in the last stale_after days
    recent = seen > 0
    return pd.DataFrame(
        np.where(recent, decayed, np.nan), index=calendar, columns=tickers, copy=False
    )
