"""Benchmark: the backtest engine over ten years of 500 tickers, rebalancing every day.

Target: **under 3 s** for :func:`investor_mimic.backtest.engine.run_backtest` (production
``propose`` every session, next-open fills with costs, cash and positions carried),
printed beside a **vectorised reference** — equal weights on the day's top names, held
open-to-open with a flat cost per unit of turnover, in a few numpy lines — so the price of
running the production code (stops, caps, whole shares, volume and cash limits) is
visible as a ratio. Peak RSS is printed too.

The market is synthetic and seeded (as in ``portfolio_daily.py``): log-normal prices,
AR(1) scores, 11 sectors. Wall and CPU time are both printed: on a shared box wall time
includes waiting for a core.

Run: ``python benchmarks/backtest_speed.py [--tickers 500] [--years 10] [--every 1]``.
"""

from __future__ import annotations

import argparse
import time
from datetime import date

import numpy as np
import pandas as pd
from _common import log, peak_rss_mib, print_machine, print_table

from investor_mimic.backtest.engine import run_backtest
from investor_mimic.core.calendar import trading_days
from investor_mimic.settings import TradingSettings

TARGET_S = 3.0
BENCHMARK = "BENCH"


def market(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    days = trading_days(date(2024 - args.years + 1, 1, 1), date(2024, 12, 31))
    n_days, n = len(days), args.tickers
    rng = np.random.default_rng(args.seed)
    rets = rng.standard_t(5, size=(n_days, n + 1)) * 0.015 + 0.0003
    close = 50 * np.exp(np.cumsum(rets, axis=0))
    opens = close * np.exp(rng.normal(0, 0.004, size=close.shape))
    noise = rng.normal(size=(n_days, n))
    scores = np.empty((n_days, n))
    scores[0] = noise[0]
    for t in range(1, n_days):
        scores[t] = 0.95 * scores[t - 1] + np.sqrt(1 - 0.95**2) * noise[t]
    tickers = [f"T{i:04d}" for i in range(n)] + [BENCHMARK]
    d = np.repeat(days.to_numpy(), n + 1)
    tk = np.tile(np.array(tickers, dtype=object), n_days)
    prices = pd.DataFrame(
        {
            "date": d,
            "ticker": tk,
            "open": opens.ravel(),
            "high": np.maximum(opens, close).ravel(),
            "low": np.minimum(opens, close).ravel(),
            "close": close.ravel(),
            "volume": 1e7,
        }
    )
    score = pd.DataFrame(
        {
            "date": np.repeat(days.to_numpy(), n),
            "ticker": np.tile(np.array(tickers[:n], dtype=object), n_days),
            "score": scores.ravel(),
        }
    )
    score["refit_date"] = score["date"]
    sectors = {t: f"Sector{i % 11:02d}" for i, t in enumerate(tickers[:n])}
    return prices, score, sectors


def reference(prices: pd.DataFrame, scores: pd.DataFrame, rules: TradingSettings) -> np.ndarray:
    """Equal weight on the top ``max_positions`` scores of D, held from D+1's open to
    D+2's open, minus (commission + slippage) on the day's turnover — vectorised."""
    stocks = prices[prices["ticker"] != BENCHMARK]
    opens = stocks.pivot(index="date", columns="ticker", values="open").to_numpy()
    score = scores.pivot(index="date", columns="ticker", values="score").to_numpy()
    k = rules.max_positions
    top = np.argpartition(-score, k, axis=1)[:, :k]
    w = np.zeros_like(score)
    np.put_along_axis(w, top, (1 - rules.cash_buffer_pct) / k, axis=1)
    fwd = opens[2:] / opens[1:-1] - 1.0
    gross = (w[:-2] * fwd).sum(axis=1)
    turnover = np.abs(np.diff(w[:-1], axis=0, prepend=0.0)).sum(axis=1)
    cost = (rules.commission_bps + rules.slippage_bps) * 1e-4
    return gross - cost * turnover[: len(gross)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickers", type=int, default=500)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--every", type=int, default=1, help="REBALANCE_FREQUENCY")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rules = TradingSettings(rebalance_frequency=args.every)
    print_machine()
    log("building the synthetic market")
    prices, scores, sectors = market(args)
    rss_before = peak_rss_mib()

    log("engine")
    wall, cpu = time.perf_counter(), time.process_time()
    result = run_backtest(scores, prices, sectors, BENCHMARK, rules)
    engine_wall, engine_cpu = time.perf_counter() - wall, time.process_time() - cpu
    rss_engine = peak_rss_mib()

    log("vectorised reference")
    wall, cpu = time.perf_counter(), time.process_time()
    ref = reference(prices, scores, rules)
    ref_wall, ref_cpu = time.perf_counter() - wall, time.process_time() - cpu

    m = result.metrics
    sessions = len(result.returns)
    print_table(
        f"backtest, {args.tickers} tickers x {sessions} sessions, rebalance every "
        f"{args.every} (target engine < {TARGET_S:.0f} s)",
        [
            (
                "engine (production propose + fills)",
                engine_wall,
                engine_cpu,
                engine_wall / sessions * 1e3,
                len(result.fills),
            ),
            ("vectorised reference", ref_wall, ref_cpu, ref_wall / sessions * 1e3, ""),
            (
                "ratio engine / reference",
                engine_wall / ref_wall,
                engine_cpu / max(ref_cpu, 1e-9),
                "",
                "",
            ),
        ],
        ["", "wall s", "CPU s", "ms / session", "fills"],
    )
    print_table(
        "memory and sanity",
        [
            ("peak RSS before the engine (MiB)", rss_before),
            ("peak RSS after the engine (MiB)", rss_engine),
            ("engine Sharpe (random scores: ~0)", m.sharpe),
            (
                "reference Sharpe (random scores: ~0)",
                float(ref.mean() / ref.std(ddof=1) * np.sqrt(252)),
            ),
            ("engine turnover (x/yr)", m.turnover),
            ("target met", "yes" if engine_wall < TARGET_S else "NO"),
        ],
        ["", "value"],
    )


if __name__ == "__main__":
    main()
