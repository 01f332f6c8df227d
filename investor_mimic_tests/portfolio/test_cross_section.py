"""The cross-section of day D holds only what was known by D's close."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from investor_mimic.core.calendar import trading_days
from investor_mimic.portfolio.cross_section import build_cross_section

DAY = date(2024, 3, 28)


def frames_around(day: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    days = trading_days(date(2023, 10, 2), date(2024, 4, 30))
    rng = np.random.default_rng(0)
    tickers = ["AAA", "BBB", "CCC"]
    closes = pd.DataFrame(
        [
            {"date": d, "ticker": t, "close": 100 * np.exp(rng.normal(0, 0.02) * (i + 1))}
            for d in days
            for i, t in enumerate(tickers)
        ]
    )
    scores = pd.DataFrame(
        [{"date": d, "ticker": t, "score": rng.normal()} for d in days for t in tickers]
    )
    return scores, closes


def test_data_after_the_day_changes_nothing() -> None:
    scores, closes = frames_around(DAY)
    sectors = {"AAA": "Tech", "BBB": "Energy", "CCC": "Tech"}
    base = build_cross_section(DAY, scores, closes, sectors, held=["BBB"])
    later = closes["date"] > pd.Timestamp(DAY)
    closes.loc[later, "close"] *= 3.0
    scores.loc[scores["date"] > pd.Timestamp(DAY), "score"] = 99.0
    perturbed = build_cross_section(DAY, scores, closes, sectors, held=["BBB"])
    for field in ("tickers", "sector"):
        assert getattr(base, field).tolist() == getattr(perturbed, field).tolist()
    for field in ("score", "price", "volatility"):
        assert np.array_equal(getattr(base, field), getattr(perturbed, field), equal_nan=True)
    day_close = closes[(closes["date"] == pd.Timestamp(DAY))].set_index("ticker")["close"]
    assert base.price.tolist() == day_close.loc[["AAA", "BBB", "CCC"]].tolist()
    assert np.isfinite(base.volatility).all()


def test_a_held_name_without_a_bar_today_keeps_its_last_close() -> None:
    scores, closes = frames_around(DAY)
    gone = (closes["ticker"] == "CCC") & (closes["date"] >= pd.Timestamp("2024-03-01"))
    last = closes[(closes["ticker"] == "CCC") & ~gone]["close"].iloc[-1]
    scores = scores[scores["ticker"] != "CCC"]
    cs = build_cross_section(DAY, scores, closes[~gone], {}, held=["CCC"])
    i = cs.position("CCC")
    assert i is not None and cs.price[i] == last and np.isnan(cs.score[i])
    assert cs.sector[i] == "Unknown"
    with pytest.raises(ValueError, match="no close on or before"):
        build_cross_section(DAY, scores, closes[closes["ticker"] != "CCC"], {}, held=["CCC"])
