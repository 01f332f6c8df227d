"""When things happen: EDGAR business days, acceptance times and filing dates.

Why a module: 13F and Form 4 filings share these rules. EDGAR accepts submissions
06:00–22:00 Eastern; a 13F accepted after 17:30 is *filed as of* the next business day
(Section 16 forms keep the same day until 22:00), while its point-in-time ``known_date``
always follows the acceptance time. Trades fall on exchange sessions
(:func:`investor_mimic.core.calendar.trading_day_on_or_after`), filings on EDGAR business
days (the federal calendar), which are not the same days: EDGAR is open on Good Friday
and closed on Columbus and Veterans Day.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np

from investor_mimic.core.calendar import edgar_business_day

EDGAR_OPEN_MINUTE = 6 * 60
EDGAR_CLOSE_MINUTE = 22 * 60
FILED_SAME_DAY_UNTIL = time(17, 30)


def next_edgar_day(d: date) -> date:
    d += timedelta(days=1)
    while not edgar_business_day(d):
        d += timedelta(days=1)
    return d


def edgar_day_on_or_after(d: date) -> date:
    """Filings are accepted on EDGAR business days (federal calendar: open on Good Friday,
    closed on Columbus and Veterans Day), not on NYSE trading days."""
    return d if edgar_business_day(d) else next_edgar_day(d)


def add_edgar_days(d: date, n: int) -> date:
    d = edgar_day_on_or_after(d)
    for _ in range(n):
        d = next_edgar_day(d)
    return d


def acceptance_time(rng: np.random.Generator, day: date, late_share: float) -> datetime:
    """A time on ``day`` within EDGAR hours; ``late_share`` of them after 16:00."""
    if rng.random() < late_share:
        minute = int(rng.integers(16 * 60, EDGAR_CLOSE_MINUTE))
    else:
        minute = int(rng.integers(EDGAR_OPEN_MINUTE, 16 * 60))
    second = int(rng.integers(0, 60))
    return datetime.combine(day, time(minute // 60, minute % 60, second))


def thirteenf_filing_date(accepted: datetime) -> date:
    """EDGAR's "filed as of" date of a 13F: the next business day after 17:30."""
    if accepted.time() > FILED_SAME_DAY_UNTIL or not edgar_business_day(accepted.date()):
        return next_edgar_day(accepted.date())
    return accepted.date()
