"""Benchmark: the portfolio logic once per trading day, ten years of 500 tickers.

Target: **≤ 1 ms per date** for :func:`investor_mimic.portfolio.proposal.propose` plus
building that day's :class:`CrossSection` from arrays (as the backtest will) and rolling
the book forward with ``expected_state`` — the whole per-day cost the backtest pays.

The market is synthetic and seeded (log-normal prices with fat-ish tails, scores with
day-to-day persistence, 11 sectors), so the figure measures the portfolio code and not a
world generator. Default settings (10 names, rebalance every 10 sessions, 20 % stop-loss,
equal weights); ``--sizing`` and ``--tickers`` vary it. Every day's proposal is also run
through every limit, counted separately (the Dagster checks do that, the backtest need not).

Wall and CPU time are both printed: on a shared box wall time includes waiting for a
core, CPU time does not.

Run: ``python benchmarks/portfolio_daily.py [--tickers 500] [--years 10] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import log, print_machine, print_table

from investor_mimic.core.calendar import trading_days
from investor_mimic.portfolio import limits
from investor_mimic.portfolio.cross_section import CrossSection
from investor_mimic.portfolio.proposal import propose
from investor_mimic.portfolio.schedule import is_rebalance_day
from investor_mimic.portfolio.state import PortfolioState
from investor_mimic.settings import TradingSettings

TARGET_MS = 1.0


def market(n_days: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rets = rng.standard_t(5, size=(n_days, n)) * 0.015 + 0.0003
    prices = 50 * np.exp(np.cumsum(rets, axis=0))
    noise = rng.normal(size=(n_days, n))
    scores = np.empty((n_days, n))
    scores[0] = noise[0]
    for t in range(1, n_days):  # AR(1): rankings persist, so books turn over realistically
        scores[t] = 0.95 * scores[t - 1] + np.sqrt(1 - 0.95**2) * noise[t]
    vol = np.full((n_days, n), 0.015) * rng.uniform(0.6, 1.6, size=n)
    return prices, scores, vol


def run(args: argparse.Namespace, rules: TradingSettings) -> dict[str, object]:
    days = trading_days(
        np.datetime64(f"{2024 - args.years + 1}-01-01").astype(object),
        np.datetime64("2024-12-31").astype(object),
    )
    prices, scores, vol = market(len(days), args.tickers, args.seed)
    tickers = np.array([f"T{i:04d}" for i in range(args.tickers)], dtype=object)
    sectors = np.array([f"Sector{i % 11:02d}" for i in range(args.tickers)], dtype=object)
    state = PortfolioState(1_000_000.0)
    per_day = np.empty(len(days))
    cpu_day = np.empty(len(days))
    check_ms = np.empty(len(days))
    rebalance_flags = np.empty(len(days), dtype=bool)
    n_orders = 0
    failures = 0
    for t, day in enumerate(days.date):
        start, cpu = time.perf_counter(), time.process_time()
        cs = CrossSection(day, tickers, scores[t], prices[t], sectors, vol[t])
        rebalance = is_rebalance_day(day, rules.rebalance_frequency)
        proposal = propose(cs, state, rules, rebalance)
        state = proposal.expected_state(rules)
        per_day[t] = (time.perf_counter() - start) * 1e3
        cpu_day[t] = (time.process_time() - cpu) * 1e3
        start = time.perf_counter()
        results = limits.check_all(proposal.book, rules)
        check_ms[t] = (time.perf_counter() - start) * 1e3
        failures += sum(not r.passed for r in results.values())
        rebalance_flags[t] = proposal.rebalance
        n_orders += int((proposal.book.trade != 0).sum())
    return {
        "days": len(days),
        "per_day": per_day,
        "cpu_day": cpu_day,
        "checks": check_ms,
        "rebalance": rebalance_flags,
        "orders": n_orders,
        "limit_failures": failures,
        "equity": state.equity(dict(zip(tickers, prices[-1], strict=True))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickers", type=int, default=500)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--sizing", default="equal", choices=["equal", "score_weighted", "inverse_volatility"]
    )
    args = parser.parse_args()
    rules = TradingSettings(sizing_method=args.sizing)
    print_machine()
    best: dict[str, object] | None = None
    for i in range(args.repeat):
        log(f"run {i + 1}/{args.repeat}")
        result = run(args, rules)
        total = float(np.sum(result["per_day"]))  # type: ignore[arg-type]
        if best is None or total < float(np.sum(best["per_day"])):  # type: ignore[arg-type]
            best = result
    assert best is not None
    per_day: np.ndarray = best["per_day"]  # type: ignore[assignment]
    checks: np.ndarray = best["checks"]  # type: ignore[assignment]
    reb: np.ndarray = best["rebalance"]  # type: ignore[assignment]

    def row(name: str, values: np.ndarray) -> tuple[str, int, float, float, float, float, float]:
        if not len(values):
            return (name, 0, 0.0, 0.0, 0.0, 0.0, 0.0)
        return (
            name,
            len(values),
            float(values.mean()),
            float(np.percentile(values, 50)),
            float(np.percentile(values, 95)),
            float(np.percentile(values, 99)),
            float(values.max()),
        )

    headers = ["per date (ms)", "dates", "mean", "p50", "p95", "p99", "max"]
    print_table(
        f"propose + cross-section + roll forward, {args.tickers} tickers x {best['days']} "
        f"dates, sizing={args.sizing} (best of {args.repeat} by total)",
        [
            row("all dates", per_day),
            row("rebalance dates", per_day[reb]),
            row("other dates", per_day[~reb]),
            row("  same, CPU time of this process", best["cpu_day"]),  # type: ignore[arg-type]
            row("limit checks (all 8, extra)", checks),
        ],
        headers,
    )
    mean = float(per_day.mean())
    verdict = "met" if mean <= TARGET_MS else "MISSED"
    print_table(
        "summary",
        [
            ("ten-year replay, seconds", f"{per_day.sum() / 1e3:.2f}"),
            ("orders proposed", best["orders"]),
            ("limit failures (must be 0)", best["limit_failures"]),
            ("final equity (expected fills)", f"{best['equity']:,.0f}"),
            (f"target <= {TARGET_MS} ms per date (mean)", f"{mean:.3f} ms: {verdict}"),
        ],
        ["", "value"],
    )


if __name__ == "__main__":
    main()
