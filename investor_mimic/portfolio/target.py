"""Which names the book should hold at a rebalance, and when rebalances happen.

A name qualifies at day D when its composite score is finite, at or above the day's
``signal_threshold`` quantile of all scores, it has a positive price at D, and it was not
just stopped out. Qualifying names are taken by descending score up to
``max_positions``, skipping a name whose sector already holds as many names as the sector
limit allows at an equal weight — so the sector cap shapes the selection instead of only
leaving cash idle.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import numpy as np

from investor_mimic.core.calendar import nyse_holidays
from investor_mimic.settings import TradingSettings

#: Session 0 of the rebalance schedule: the first NYSE session of 2000.
REBALANCE_ANCHOR = date(2000, 1, 3)


@lru_cache(maxsize=8)
def _holidays(last_year: int) -> np.ndarray:
    days = [h for y in range(REBALANCE_ANCHOR.year, last_year + 1) for h in nyse_holidays(y)]
    return np.array(days, dtype="datetime64[D]")


def session_number(day: date) -> int:
    """NYSE sessions from :data:`REBALANCE_ANCHOR` to ``day`` (0 on the anchor)."""
    return int(np.busday_count(REBALANCE_ANCHOR, day, holidays=_holidays(day.year + 1)))


def is_rebalance_day(day: date, every: int) -> bool:
    """Every ``every``-th session counted from a fixed anchor: a schedule that depends on
    the date alone, so a rerun, a backfill and the backtest all agree on it."""
    return session_number(day) % every == 0


def select(
    score: np.ndarray,
    price: np.ndarray,
    sector_code: np.ndarray,
    excluded: np.ndarray,
    rules: TradingSettings,
) -> np.ndarray:
    """Indices of the names to hold, best score first (see the module docstring)."""
    finite = np.isfinite(score)
    if not finite.any():
        return np.empty(0, dtype=np.int64)
    cutoff = np.quantile(score[finite], rules.signal_threshold)
    ok = finite & (score >= cutoff) & np.isfinite(price) & (price > 0)
    ok[excluded] = False
    candidates = np.flatnonzero(ok)
    order = candidates[np.argsort(-score[candidates], kind="stable")]
    invested = 1.0 - rules.cash_buffer_pct
    weight = min(invested / rules.max_positions, rules.max_position_pct)
    per_sector = max(1, int(rules.max_sector_pct / weight + 1e-9))
    counts: dict[int, int] = {}
    chosen: list[int] = []
    for i in order.tolist():
        code = int(sector_code[i])
        if counts.get(code, 0) >= per_sector:
            continue
        counts[code] = counts.get(code, 0) + 1
        chosen.append(i)
        if len(chosen) == rules.max_positions:
            break
    return np.array(chosen, dtype=np.int64)
