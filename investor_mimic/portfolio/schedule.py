"""When the portfolio trades: the rebalance calendar and which day's score may trade now.

Both are functions of dates alone, so a rerun, a backfill, the live asset and the
backtest agree on them.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

import numpy as np
import pandas as pd

from investor_mimic.core.calendar import previous_trading_day, session_close, trading_days

#: Session 0 of the rebalance schedule: the first NYSE session of 2000.
REBALANCE_ANCHOR = date(2000, 1, 3)


@lru_cache(maxsize=4)
def _sessions_through(year: int) -> np.ndarray:
    """Sessions from the anchor to the end of ``year`` (cached: the backtest asks daily)."""
    return trading_days(REBALANCE_ANCHOR, date(year, 12, 31)).to_numpy().astype("datetime64[D]")


def session_number(day: date) -> int:
    """NYSE sessions from :data:`REBALANCE_ANCHOR` to ``day`` (0 on the anchor): the
    exchange calendar's sessions, one-off closures included."""
    sessions = _sessions_through(day.year)
    return int(np.searchsorted(sessions, np.datetime64(day, "D"), side="left"))


def is_rebalance_day(day: date, every: int) -> bool:
    """Every ``every``-th session counted from a fixed anchor."""
    return session_number(day) % every == 0


def rebalance_flags(days: pd.DatetimeIndex, every: int) -> np.ndarray:
    """:func:`is_rebalance_day` for many sessions at once (one calendar lookup: the
    backtest asks for every session of ten years)."""
    if len(days) == 0:
        return np.zeros(0, dtype=bool)
    sessions = _sessions_through(days.max().year)
    numbers = np.searchsorted(sessions, days.to_numpy().astype("datetime64[D]"), side="left")
    return np.asarray(numbers % every == 0, dtype=bool)


def tradable_session(now: datetime, next_open: datetime) -> date | None:
    """The trading day whose score may be traded by orders sent ``now``: the session
    before the next open, once it has closed (13:00 on an early-close day). None while a
    session is open (its score is not final, and the previous day's would reach the
    market a day late).

    This is the project's timing convention: a score for D, known at D's close, trades
    at D+1's open — so a proposal for any other day than this one is stale.
    """
    day = previous_trading_day(next_open.date())
    return day if session_close(day) <= now else None
