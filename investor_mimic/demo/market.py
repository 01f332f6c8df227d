"""Daily OHLCV bars: market factor + sector factor + idiosyncratic noise + planted drift.

Why log returns with fat tails: the closes must look like equities (1.5–2.5 % daily
vol, occasional jumps) so factor ICs come out at realistic magnitudes. Volume depends
only on the noise part of the return, so it carries no planted signal of its own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from investor_mimic.core.frames import PRICES, coerce
from investor_mimic.demo.universe import SECTORS


def _fat(rng: np.random.Generator, shape: tuple[int, ...], vol: float | np.ndarray) -> np.ndarray:
    """Student-t (5 dof) noise scaled to standard deviation ``vol``."""
    return rng.standard_t(5, size=shape) * np.sqrt(3 / 5) * vol


def _ohlcv(
    rng: np.random.Generator,
    log_ret: np.ndarray,
    noise: np.ndarray,
    p0: np.ndarray,
    base_volume: np.ndarray,
) -> dict[str, np.ndarray]:
    close = p0 * np.exp(np.cumsum(log_ret, axis=0))
    prev = np.vstack([p0[None, :], close[:-1]])
    open_ = prev * np.exp(0.3 * log_ret + rng.normal(0, 0.003, log_ret.shape))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.006, log_ret.shape)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.006, log_ret.shape)))
    volume = base_volume * np.exp(rng.normal(0, 0.35, log_ret.shape)) * (1 + 25 * np.abs(noise))
    bars = {
        k: np.maximum(np.round(v, 4), 0.0001)
        for k, v in (("open", open_), ("high", high), ("low", low), ("close", close))
    }
    bars["volume"] = np.round(volume, -2).clip(100, None)
    return bars


def simulate_bars(
    rng: np.random.Generator,
    universe: pd.DataFrame,
    days: pd.DatetimeIndex,
    drift: np.ndarray,
    benchmark: str,
) -> pd.DataFrame:
    """Bars of every ticker and the benchmark on every trading day (``frames.PRICES``)."""
    n_days, n = len(days), len(universe)
    market = 0.0003 + _fat(rng, (n_days,), 0.011)
    sector_ret = _fat(rng, (n_days, len(SECTORS)), 0.007)
    sector_idx = universe["sector"].map({s: i for i, s in enumerate(SECTORS)}).to_numpy()
    idio = _fat(rng, (n_days, n), universe["idio_vol"].to_numpy()[None, :])
    noise = sector_ret[:, sector_idx] + idio
    log_ret = universe["beta"].to_numpy()[None, :] * market[:, None] + noise + drift
    base_volume = (universe["shares_outstanding"].to_numpy() * 0.004)[None, :]
    stocks = _ohlcv(rng, log_ret, noise, universe["start_price"].to_numpy(), base_volume)
    bench = _ohlcv(
        rng, market[:, None], market[:, None] - 0.0003, np.array([100.0]), np.array([[5e7]])
    )
    frames = [
        pd.DataFrame(
            {"date": np.repeat(days, n), "ticker": np.tile(universe["ticker"].to_numpy(), n_days)}
            | {k: v.ravel() for k, v in stocks.items()}
        ),
        pd.DataFrame(
            {"date": days, "ticker": benchmark} | {k: v.ravel() for k, v in bench.items()}
        ),
    ]
    out = pd.concat(frames, ignore_index=True).sort_values(["date", "ticker"], ignore_index=True)
    return coerce(out, PRICES)
