"""When the portfolio trades: the rebalance calendar and which day's score may trade now.

Both are functions of dates alone, so a rerun, a backfill, the live asset and the
backtest agree on them.
"""

from __future__ import annotations

from datetime import date, datetime

from investor_mimic.core.calendar import previous_trading_day, session_close, sessions_between

#: Session 0 of the rebalance schedule: the first NYSE session of 2000.
REBALANCE_ANCHOR = date(2000, 1, 3)


def session_number(day: date) -> int:
    """NYSE sessions from :data:`REBALANCE_ANCHOR` to ``day`` (0 on the anchor)."""
    return int(sessions_between([REBALANCE_ANCHOR], day)[0])


def is_rebalance_day(day: date, every: int) -> bool:
    """Every ``every``-th session counted from a fixed anchor."""
    return session_number(day) % every == 0


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
