"""News sentiment: after-close items count the next day, relevance weighting, decay, window."""

from __future__ import annotations

import pandas as pd
import pytest

from investor_mimic.core.calendar import effective_trading_days, trading_days
from investor_mimic.factors import news
from investor_mimic_tests.helpers.frames import isnan

# 2024-01-02 (Tue) .. 2024-01-10 (Wed): rows 0..6, a weekend between the 5th and the 8th
CAL = trading_days(pd.Timestamp("2024-01-02").date(), pd.Timestamp("2024-01-10").date())
TICKERS = pd.Index(["A", "B"])


def items(rows: list[tuple[str, str, float, float]]) -> pd.DataFrame:
    """(ticker, published_at, relevance, sentiment) with trading_date as the sources stamp it."""
    frame = pd.DataFrame(rows, columns=["ticker", "published_at", "relevance", "sentiment"])
    frame["published_at"] = pd.to_datetime(frame["published_at"])
    frame["trading_date"] = effective_trading_days(frame["published_at"])
    frame["id"] = [f"https://news.example/{i}" for i in range(len(frame))]
    return frame


def test_after_close_news_counts_next_day_and_decays_by_half_life() -> None:
    frame = items([("A", "2024-01-04 17:30", 0.5, 0.8)])  # after the close on Thursday
    out = news.news_sentiment(frame, CAL, TICKERS, half_life=1.0, window=20)
    assert isnan(out.loc[pd.Timestamp("2024-01-04"), "A"])  # not known at Thursday's close
    assert out.loc[pd.Timestamp("2024-01-05"), "A"] == pytest.approx(0.4)
    assert out.loc[pd.Timestamp("2024-01-08"), "A"] == pytest.approx(0.2)  # one trading day
    assert out.loc[pd.Timestamp("2024-01-09"), "A"] == pytest.approx(0.1)
    assert out["B"].isna().all()  # no coverage is not neutral news


def test_items_add_up_relevance_weighted_and_weekend_news_counts_monday() -> None:
    frame = items(
        [
            ("B", "2024-01-03 10:00", 1.0, -0.6),
            ("B", "2024-01-04 09:00", 0.5, 0.4),
            ("B", "2024-01-06 12:00", 1.0, 0.3),  # Saturday -> Monday 2024-01-08
        ]
    )
    out = news.news_sentiment(frame, CAL, TICKERS, half_life=1.0, window=20)
    assert out.loc[pd.Timestamp("2024-01-04"), "B"] == pytest.approx(-0.6 * 0.5 + 0.5 * 0.4)
    assert out.loc[pd.Timestamp("2024-01-05"), "B"] == pytest.approx(-0.6 * 0.25 + 0.2 * 0.5)
    assert out.loc[pd.Timestamp("2024-01-08"), "B"] == pytest.approx(
        -0.6 * 0.125 + 0.2 * 0.25 + 0.3
    )


def test_items_older_than_the_window_drop_out() -> None:
    frame = items([("A", "2024-01-03 10:00", 1.0, 1.0)])  # row 1
    out = news.news_sentiment(frame, CAL, TICKERS, half_life=2.0, window=3)
    assert out.loc[pd.Timestamp("2024-01-05"), "A"] == pytest.approx(0.5)  # age 2 < 3
    assert isnan(out.loc[pd.Timestamp("2024-01-08"), "A"])  # age 3: outside the window
