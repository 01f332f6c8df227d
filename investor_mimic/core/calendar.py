"""The NYSE trading calendar and the one rule that maps a timestamp to the day it counts for.

Why here and not pandas_market_calendars: the rules below are a page long, have no
network or data files, and the point-in-time logic of every source hangs on them.
All timestamps in this project are naive US/Eastern wall-clock times ("exchange time"),
which is how EDGAR states acceptance times and how the close is defined.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache

import pandas as pd

MARKET_CLOSE = time(16, 0)


def observed(d: date) -> date:
    """Saturday holidays move to Friday, Sunday holidays to Monday."""
    if d.weekday() == 5:
        return d - timedelta(days=1)
    if d.weekday() == 6:
        return d + timedelta(days=1)
    return d


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    offset = (weekday - first.weekday()) % 7
    return first + timedelta(days=offset + 7 * (n - 1))


def last_weekday(year: int, month: int, weekday: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _easter(year: int) -> date:
    """Anonymous Gregorian algorithm (Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def nyse_holidays(year: int) -> tuple[date, ...]:
    """Full-day NYSE closures of a year (regular rules; one-off closures are not modelled)."""
    days = [
        nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        _easter(year) - timedelta(days=2),  # Good Friday
        last_weekday(year, 5, 0),  # Memorial Day
        observed(date(year, 7, 4)),
        nth_weekday(year, 9, 0, 1),  # Labor Day
        nth_weekday(year, 11, 3, 4),  # Thanksgiving
        observed(date(year, 12, 25)),
    ]
    new_year = date(year, 1, 1)
    if new_year.weekday() != 5:  # NYSE does not close on Dec 31 for a Saturday New Year
        days.append(observed(new_year))
    if year >= 2022:
        days.append(observed(date(year, 6, 19)))  # Juneteenth
    return tuple(sorted(d for d in days if d.year == year))


def is_trading_day(d: date) -> bool:
    return d.weekday() < 5 and d not in nyse_holidays(d.year)


def trading_days(start: date, end: date) -> pd.DatetimeIndex:
    """Trading days in [start, end] as midnight timestamps."""
    days = pd.bdate_range(start, end)
    holidays = {h for y in range(start.year, end.year + 1) for h in nyse_holidays(y)}
    return days[~days.isin(pd.DatetimeIndex(sorted(holidays)))]


def next_trading_day(d: date) -> date:
    d = d + timedelta(days=1)
    while not is_trading_day(d):
        d += timedelta(days=1)
    return d


def previous_trading_day(d: date) -> date:
    d = d - timedelta(days=1)
    while not is_trading_day(d):
        d -= timedelta(days=1)
    return d


def effective_trading_day(ts: datetime) -> date:
    """The trading day whose close is the first close at or after ``ts``.

    This is the point-in-time rule of the whole project: information stamped before
    16:00 on a trading day counts for that day; after the close, on a weekend or a
    holiday it counts for the next trading day. A bare date is taken as end of day.
    """
    if not isinstance(ts, datetime):
        ts = datetime.combine(ts, time(23, 59))
    d = ts.date()
    if is_trading_day(d) and ts.time() < MARKET_CLOSE:
        return d
    return next_trading_day(d)


def effective_trading_days(stamps: pd.Series) -> pd.Series:
    """Vectorised :func:`effective_trading_day` over naive Eastern timestamps (dates out)."""
    stamps = pd.to_datetime(stamps)
    if stamps.empty:
        return stamps.dt.normalize()
    start = stamps.min().date() - timedelta(days=10)
    end = stamps.max().date() + timedelta(days=10)
    days = trading_days(start, end)
    day = stamps.dt.normalize()
    after_close = (stamps - day) >= pd.Timedelta(
        hours=MARKET_CLOSE.hour, minutes=MARKET_CLOSE.minute
    )
    # first trading day >= day, or > day when stamped after the close
    pos = days.searchsorted(day.to_numpy(), side="left")
    same = days[pos] == day.to_numpy()
    bump = (~same) | after_close.to_numpy()
    pos = pos + (same & bump)
    return pd.Series(days[pos], index=stamps.index)


@lru_cache(maxsize=64)
def federal_holidays(year: int) -> frozenset[date]:
    """Days EDGAR is closed besides weekends: US federal holidays (observed)."""
    days = {
        observed(date(year, 1, 1)),
        observed(date(year + 1, 1, 1)),  # may fall on Dec 31 of ``year``
        nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        last_weekday(year, 5, 0),  # Memorial Day
        observed(date(year, 7, 4)),
        nth_weekday(year, 9, 0, 1),  # Labor Day
        nth_weekday(year, 10, 0, 2),  # Columbus Day
        observed(date(year, 11, 11)),  # Veterans Day
        nth_weekday(year, 11, 3, 4),  # Thanksgiving
        observed(date(year, 12, 25)),
    }
    if year >= 2021:
        days.add(observed(date(year, 6, 19)))  # Juneteenth
    return frozenset(days)


def edgar_business_day(day: date) -> bool:
    """Whether EDGAR accepts filings (and publishes a daily index) on ``day``.

    EDGAR follows the federal calendar, not the NYSE's: it is open on Good Friday
    and closed on Columbus and Veterans Day. One-off closures are not modelled.
    """
    return day.weekday() < 5 and day not in federal_holidays(day.year)


def quarter_ends(start: date, end: date) -> list[date]:
    """Calendar quarter ends (13F report periods) in [start, end]."""
    return [
        date(year, month, day)
        for year in range(start.year, end.year + 1)
        for month, day in ((3, 31), (6, 30), (9, 30), (12, 31))
        if start <= date(year, month, day) <= end
    ]
