"""Test helpers moved out of test_synthetic.py: shared by several test modules."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from investor_mimic.core import frames

FACTORS = frames.FACTOR_NAMES


SIGNAL = FACTORS[0]


@dataclass(frozen=True)
class World:
    prices: pd.DataFrame  # frames.PRICES
    panel: pd.DataFrame  # frames.FACTOR_PANEL


def make_world(
    *,
    n_tickers: int = 60,
    n_days: int = 320,
    beta: float = 0.004,
    sigma: float = 0.02,
    nan_share: float = 0.1,
    seed: int = 0,
) -> World:
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2020-01-02", periods=n_days)
    tickers = [f"T{k:03d}" for k in range(n_tickers)]
    phi = 0.9  # daily persistence of every factor, like slow-moving real factors
    raw = np.empty((len(FACTORS), n_days, n_tickers))
    raw[:, 0] = rng.standard_normal((len(FACTORS), n_tickers))
    for t in range(1, n_days):
        shock = rng.standard_normal((len(FACTORS), n_tickers))
        raw[:, t] = phi * raw[:, t - 1] + np.sqrt(1 - phi**2) * shock
    z = (raw - raw.mean(axis=2, keepdims=True)) / raw.std(axis=2, keepdims=True)

    # r[t]: open(t) -> open(t+1); the factor known at the close of t-1 drives it
    r = sigma * rng.standard_normal((n_days, n_tickers))
    r[1:] += beta * z[0, :-1]
    opens = 100.0 * np.vstack([np.ones(n_tickers), np.cumprod(1 + r[:-1], axis=0)])
    closes = opens * (1 + 0.005 * rng.standard_normal((n_days, n_tickers)))

    shown = np.where(rng.random(z.shape) < nan_share, np.nan, z)
    date = np.repeat(days, n_tickers)
    ticker = np.tile(tickers, n_days)
    prices = pd.DataFrame(
        {
            "date": date,
            "ticker": ticker,
            "open": opens.ravel(),
            "high": np.maximum(opens, closes).ravel() * 1.01,
            "low": np.minimum(opens, closes).ravel() * 0.99,
            "close": closes.ravel(),
            "volume": 1e6,
        }
    )
    panel = pd.DataFrame({"date": date, "ticker": ticker, "sector": "Tech"})
    for k, name in enumerate(FACTORS):
        panel[name] = shown[k].ravel()
    return World(
        prices=frames.coerce(prices, frames.PRICES),
        panel=frames.coerce(panel, frames.FACTOR_PANEL),
    )
