"""When the portfolio trades: every n-th session, and only the score of the last closed day."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pytest

from investor_mimic.core.calendar import trading_days
from investor_mimic.portfolio.schedule import is_rebalance_day, session_number, tradable_session


def test_rebalance_days_come_every_n_sessions() -> None:
    days = trading_days(date(2023, 1, 3), date(2024, 12, 31)).date
    for every in (1, 5, 10, 21):
        flags = [is_rebalance_day(d, every) for d in days]
        hits = np.flatnonzero(flags)
        assert len(hits) >= len(days) // every
        assert set(np.diff(hits).tolist()) == {every}
    assert session_number(date(2000, 1, 3)) == 0 and session_number(date(2000, 1, 4)) == 1


@pytest.mark.parametrize(
    ("now", "next_open", "day"),
    [
        (datetime(2024, 6, 4, 20, 0), datetime(2024, 6, 5, 9, 30), date(2024, 6, 4)),
        (datetime(2024, 6, 4, 16, 0), datetime(2024, 6, 5, 9, 30), date(2024, 6, 4)),
        (datetime(2024, 6, 5, 8, 0), datetime(2024, 6, 5, 9, 30), date(2024, 6, 4)),
        (datetime(2024, 6, 8, 12, 0), datetime(2024, 6, 10, 9, 30), date(2024, 6, 7)),  # Sat
        (datetime(2024, 7, 4, 12, 0), datetime(2024, 7, 5, 9, 30), date(2024, 7, 3)),  # holiday
        (datetime(2024, 6, 4, 15, 59), datetime(2024, 6, 5, 9, 30), None),  # in session
        (datetime(2024, 6, 4, 9, 0), datetime(2024, 6, 4, 9, 30), date(2024, 6, 3)),
    ],
)
def test_the_tradable_session_is_the_last_closed_day_before_the_next_open(
    now: datetime, next_open: datetime, day: date | None
) -> None:
    assert tradable_session(now, next_open) == day
