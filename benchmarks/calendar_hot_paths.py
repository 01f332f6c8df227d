"""Time the calendar's hot paths (prints numbers; never a test).

Usage: python benchmarks/calendar_hot_paths.py [path/to/old/calendar.py]
With a second calendar module (e.g. ``git show main:investor_mimic/core/calendar.py``)
the same calls are timed on it for comparison.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from datetime import date, datetime, timedelta
from types import ModuleType

import pandas as pd


def bench(cal: ModuleType, label: str) -> None:
    t0 = time.perf_counter()
    cal.is_trading_day(date(2020, 1, 2))
    first = time.perf_counter() - t0

    stamps = pd.Series(pd.date_range("2015-01-01", "2024-12-31", periods=1_000_000))
    t0 = time.perf_counter()
    cal.effective_trading_days(stamps)
    vector = time.perf_counter() - t0

    moments = [datetime(2015, 1, 1) + timedelta(minutes=263 * i) for i in range(20_000)]
    t0 = time.perf_counter()
    for m in moments:
        cal.effective_trading_day(m)
    scalar = time.perf_counter() - t0

    days = [date(2015, 1, 1) + timedelta(days=i) for i in range(3650)]
    t0 = time.perf_counter()
    for _ in range(10):
        for d in days:
            cal.is_trading_day(d)
            cal.next_trading_day(d)
    loops = time.perf_counter() - t0

    t0 = time.perf_counter()
    for _ in range(1000):
        cal.trading_days(date(2015, 1, 2), date(2024, 12, 31))
    ranges = time.perf_counter() - t0
    print(
        f"{label:>4}: first call {first * 1e3:7.1f} ms | effective_trading_days 1M "
        f"{vector * 1e3:7.1f} ms | effective_trading_day ×20k {scalar * 1e3:7.1f} ms | "
        f"is_trading_day+next ×36.5k {loops * 1e3:7.1f} ms | trading_days(10y) ×1000 "
        f"{ranges * 1e3:7.1f} ms"
    )


def main() -> None:
    from investor_mimic.core import calendar

    bench(calendar, "new")
    if len(sys.argv) > 1:
        spec = importlib.util.spec_from_file_location("old_calendar", sys.argv[1])
        assert spec and spec.loader
        old = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(old)
        bench(old, "old")


if __name__ == "__main__":
    main()
