"""The exchange calendar (NYSE sessions and closes), EDGAR business days, and the one rule
that maps a timestamp to the trading day it counts for.

Why exchange_calendars: NYSE sessions are not rules alone. One-off closures (2018-12-05,
2025-01-09: national days of mourning) and early closes (13:00 on the day after
Thanksgiving, on Christmas Eve, on July 3) are announced case by case; a maintained
calendar (``exchange_calendars``' ``XNYS``) carries them, a hand-written one forgets them
and turns a closed day into a zero-volume, forward-filled trading day.

Why cached arrays: the calendar sits in hot paths (every news item, every filing, every
factor window). The library builds its schedule once per process (lazily: importing this
module costs nothing); every query afterwards is a binary search in numpy arrays.

All timestamps in this project are naive US/Eastern wall-clock times ("exchange time"),
which is how EDGAR states acceptance times and how the close is defined.

EDGAR business days are a different calendar: EDGAR follows the federal government (open
on Good Friday, closed on Columbus and Veterans Day, closed when the government is closed
by executive order), not the exchange.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Final, Literal

import numpy as np
import pandas as pd

EXCHANGE = "XNYS"
TIMEZONE = "America/New_York"
MARKET_CLOSE = time(16, 0)  # the *regular* close; a given day's close is session_close(day)
CALENDAR_START = date(1995, 1, 3)
_UNIT: Final = "datetime64[us]"  # what pandas 3 gives date ranges; frames keep their dtypes

# Days the federal government was closed by executive order (national days of mourning,
# Christmas Eve); EDGAR closes with it ("consistent with SEC operation policy for federal
# holidays") and does not accept filings or publish a daily index.
EDGAR_CLOSURES: frozenset[date] = frozenset(
    {
        date(2004, 6, 11),  # President Reagan's funeral
        date(2007, 1, 2),  # President Ford's funeral
        date(2012, 12, 24),
        date(2014, 12, 26),
        date(2015, 12, 24),
        date(2018, 12, 5),  # President G. H. W. Bush's funeral
        date(2018, 12, 24),
        date(2019, 12, 24),
        date(2020, 12, 24),
        date(2024, 12, 24),
        date(2025, 1, 9),  # President Carter's funeral
        date(2025, 12, 24),
        date(2025, 12, 26),
    }
)


class CalendarRangeError(ValueError):
    """A date outside the span the calendar was built for."""


@dataclass(frozen=True)
class _Schedule:
    """The exchange's sessions, built once per process: numpy arrays for the vectorised
    rules, sorted Python lists for the scalar ones (``bisect`` on a list of dates is an
    order of magnitude faster than ``np.searchsorted`` on a single value)."""

    days: pd.DatetimeIndex  # session dates, midnight, sorted
    day_values: np.ndarray  # the same as datetime64[D]
    closes: np.ndarray  # each session's close, naive Eastern, datetime64[us]
    day_list: list[date]
    close_list: list[datetime]
    day_set: frozenset[date]
    early: frozenset[date]  # sessions that close before MARKET_CLOSE
    end: date  # last date the calendar answers for


@lru_cache(maxsize=1)
def _schedule() -> _Schedule:
    import exchange_calendars as xc  # lazy: the schedule is built on first use only

    end = date(date.today().year + 3, 12, 31)  # covers the partitions' two years ahead
    cal = xc.get_calendar(EXCHANGE, start=CALENDAR_START.isoformat(), end=end.isoformat())
    closes = cal.closes.dt.tz_convert(TIMEZONE).dt.tz_localize(None).to_numpy().astype(_UNIT)
    days = pd.DatetimeIndex(cal.sessions.to_numpy().astype(_UNIT))
    day_values = days.to_numpy().astype("datetime64[D]")
    regular = np.timedelta64(MARKET_CLOSE.hour * 60 + MARKET_CLOSE.minute, "m")
    is_early = (closes - day_values) < regular
    day_list = [d.date() for d in days]
    return _Schedule(
        days=days,
        day_values=day_values,
        closes=closes,
        day_list=day_list,
        close_list=[c.to_pydatetime() for c in pd.DatetimeIndex(closes)],
        day_set=frozenset(day_list),
        early=frozenset(d for d, e in zip(day_list, is_early, strict=True) if e),
        end=end,
    )


def _as_date(d: date) -> date:
    return d.date() if isinstance(d, datetime) else d


def _checked(d: date) -> date:
    d = _as_date(d)
    end = _schedule().end
    if not (CALENDAR_START <= d <= end):
        raise CalendarRangeError(f"{d} is outside the exchange calendar ({CALENDAR_START} … {end})")
    return d


def _index(d: date, side: Literal["left", "right"]) -> int:
    """Position of ``d`` among the sessions (numpy searchsorted semantics)."""
    days = _schedule().day_list
    return bisect_left(days, d) if side == "left" else bisect_right(days, d)


def _session_at(pos: int, what: str) -> date:
    days = _schedule().day_list
    if not 0 <= pos < len(days):
        raise CalendarRangeError(f"no {what} within the exchange calendar ({days[0]} … {days[-1]})")
    return days[pos]


def is_trading_day(d: date) -> bool:
    """Whether the exchange holds a session on ``d`` (one-off closures included)."""
    return _checked(d) in _schedule().day_set


def is_early_close(d: date) -> bool:
    """Whether ``d`` is a session that closes before the regular 16:00."""
    return _checked(d) in _schedule().early


def session_close(d: date) -> datetime:
    """The close of the session on ``d`` (naive Eastern); 13:00 on an early-close day."""
    d = _checked(d)
    if d not in _schedule().day_set:
        raise ValueError(f"{d} is not a trading day")
    return _schedule().close_list[_index(d, "left")]


def nyse_holidays(year: int) -> tuple[date, ...]:
    """Weekdays of ``year`` without a session: regular holidays and one-off closures."""
    weekdays = pd.bdate_range(date(year, 1, 1), date(year, 12, 31))
    s = _schedule()
    return tuple(d.date() for d in weekdays if d.date() not in s.day_set)


def trading_days(start: date, end: date) -> pd.DatetimeIndex:
    """Sessions in [start, end] as midnight timestamps."""
    start, end = _checked(start), _checked(end)
    return _schedule().days[_index(start, "left") : _index(end, "right")]


def next_trading_day(d: date) -> date:
    """The first session strictly after ``d``."""
    return _session_at(_index(_checked(d), "right"), f"session after {d}")


def previous_trading_day(d: date) -> date:
    """The last session strictly before ``d``."""
    return _session_at(_index(_checked(d), "left") - 1, f"session before {d}")


def trading_day_on_or_after(d: date) -> date:
    """``d`` when it is a session, else the next one."""
    return _session_at(_index(_checked(d), "left"), f"session on or after {d}")


def add_trading_days(d: date, n: int) -> date:
    """The ``n``-th session after ``d`` (``n`` = 1 is :func:`next_trading_day`)."""
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    if n == 0:
        return d
    # the last session on or before d, then n sessions on
    return _session_at(_index(_checked(d), "right") - 1 + n, f"session {n} after {d}")


def sessions_between(earlier: Iterable[date] | pd.Series | np.ndarray, later: date) -> np.ndarray:
    """For each date in ``earlier``: how many sessions lie in [that date, ``later``).

    The staleness rule: a ticker whose latest bar is one session behind the newest has
    a gap of 1, whatever weekends, holidays or closures lie between.
    """
    values = pd.to_datetime(pd.Index(earlier)).to_numpy().astype("datetime64[D]")
    if values.size:
        _checked(pd.Timestamp(values.min()).date())
    days = _schedule().day_values
    end = np.searchsorted(days, np.datetime64(_checked(later), "D"), side="left")
    return end - np.searchsorted(days, values, side="left")


def early_closes(start: date, end: date) -> list[date]:
    """Early-close sessions in [start, end]."""
    return sorted(d for d in _schedule().early if start <= d <= end)


def effective_trading_day(ts: datetime | date) -> date:
    """The session whose close is the first close strictly after ``ts``.

    This is the point-in-time rule of the whole project: information stamped before a
    session's close counts for that session; at or after the close (16:00, or 13:00 on
    an early-close day), on a weekend, a holiday or a one-off closure it counts for the
    next session. A bare date is taken as end of day.
    """
    if not isinstance(ts, datetime):
        ts = datetime.combine(ts, time(23, 59))
    _checked(ts.date())
    pos = bisect_right(_schedule().close_list, ts)
    return _session_at(pos, f"session closing after {ts}")


def effective_trading_days(stamps: pd.Series) -> pd.Series:
    """Vectorised :func:`effective_trading_day` over naive Eastern timestamps (dates out)."""
    stamps = pd.to_datetime(stamps)
    if stamps.empty:
        return stamps.dt.normalize().astype(_UNIT)
    if stamps.isna().any():
        raise ValueError(f"{int(stamps.isna().sum())} missing timestamps")
    s = _schedule()
    _checked(stamps.min().date())
    _checked(stamps.max().date())
    pos = np.searchsorted(s.closes, stamps.to_numpy().astype(_UNIT), side="right")
    if pos.max() >= len(s.days):
        raise CalendarRangeError(f"{stamps.max()} is past the exchange calendar's last session")
    return pd.Series(s.days[pos], index=stamps.index)


@lru_cache(maxsize=1)
def _federal_holidays() -> frozenset[date]:
    from pandas.tseries.holiday import USFederalHolidayCalendar

    days = USFederalHolidayCalendar().holidays(
        CALENDAR_START - timedelta(days=7), _schedule().end + timedelta(days=7)
    )
    return frozenset(d.date() for d in days)


def federal_holidays(year: int) -> frozenset[date]:
    """US federal holidays (observed) falling in ``year``, from pandas' federal calendar."""
    return frozenset(d for d in _federal_holidays() if d.year == year)


def edgar_business_day(day: date) -> bool:
    """Whether EDGAR accepts filings (and publishes a daily index) on ``day``.

    EDGAR follows the federal calendar, not the exchange's: it is open on Good Friday,
    closed on Columbus and Veterans Day and on days the government is closed by
    executive order (:data:`EDGAR_CLOSURES`).
    """
    day = _as_date(day)
    return day.weekday() < 5 and day not in _federal_holidays() and day not in EDGAR_CLOSURES


def quarter_ends(start: date, end: date) -> list[date]:
    """Calendar quarter ends (13F report periods) in [start, end]."""
    return [
        date(year, month, day)
        for year in range(start.year, end.year + 1)
        for month, day in ((3, 31), (6, 30), (9, 30), (12, 31))
        if start <= date(year, month, day) <= end
    ]
