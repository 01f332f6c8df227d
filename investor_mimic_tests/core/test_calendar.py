"""The exchange calendar (XNYS from exchange_calendars), EDGAR business days, and the
effective-trading-day rule every source relies on."""

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from investor_mimic.core import quality
from investor_mimic.core.calendar import (
    CalendarRangeError,
    add_trading_days,
    early_closes,
    edgar_business_day,
    effective_trading_day,
    effective_trading_days,
    is_early_close,
    is_trading_day,
    next_trading_day,
    nyse_holidays,
    previous_trading_day,
    session_close,
    sessions_between,
    trading_day_on_or_after,
    trading_days,
)
from investor_mimic.defs.partitions import build_trading_day_partitions


def test_known_nyse_holidays() -> None:
    assert date(2023, 4, 7) in nyse_holidays(2023)  # Good Friday
    assert date(2021, 7, 5) in nyse_holidays(2021)  # July 4 on a Sunday, observed Monday
    assert date(2022, 6, 20) in nyse_holidays(2022)  # Juneteenth observed
    assert date(2021, 6, 18) not in nyse_holidays(2021)  # before Juneteenth was a holiday
    assert date(2021, 12, 31) not in nyse_holidays(2021)  # Saturday New Year: no Friday closure
    assert date(2022, 12, 26) in nyse_holidays(2022)  # Christmas on Sunday


def test_one_off_closures_are_not_sessions() -> None:
    # national days of mourning: Presidents Carter (2025) and G. H. W. Bush (2018)
    for closed in (date(2025, 1, 9), date(2018, 12, 5)):
        assert not is_trading_day(closed)
        assert closed in nyse_holidays(closed.year)
    assert next_trading_day(date(2025, 1, 8)) == date(2025, 1, 10)
    assert previous_trading_day(date(2025, 1, 10)) == date(2025, 1, 8)
    assert date(2025, 1, 9) not in trading_days(date(2025, 1, 6), date(2025, 1, 10)).date
    # news on the closed day counts for the next session
    assert effective_trading_day(datetime(2025, 1, 9, 11, 0)) == date(2025, 1, 10)
    assert effective_trading_day(datetime(2025, 1, 8, 16, 30)) == date(2025, 1, 10)


def test_trading_days_per_year() -> None:
    # NYSE sessions: 2018 has the Bush closure, 2025 the Carter closure
    counts = {y: len(trading_days(date(y, 1, 1), date(y, 12, 31))) for y in range(2018, 2026)}
    assert counts == {
        2018: 251,
        2019: 252,
        2020: 253,
        2021: 252,
        2022: 251,
        2023: 250,
        2024: 252,
        2025: 250,
    }


def test_early_closes_and_their_close_times() -> None:
    for day in (date(2024, 11, 29), date(2024, 12, 24), date(2023, 11, 24), date(2024, 7, 3)):
        assert is_early_close(day)
        assert session_close(day) == datetime.combine(day, datetime.min.time()).replace(hour=13)
    assert not is_early_close(date(2024, 11, 27))
    assert session_close(date(2024, 11, 27)) == datetime(2024, 11, 27, 16, 0)
    assert early_closes(date(2024, 1, 1), date(2024, 12, 31)) == [
        date(2024, 7, 3),
        date(2024, 11, 29),
        date(2024, 12, 24),
    ]
    with pytest.raises(ValueError, match="not a trading day"):
        session_close(date(2024, 11, 28))


def test_effective_day_rule() -> None:
    assert effective_trading_day(datetime(2023, 11, 14, 9, 38, 54)) == date(2023, 11, 14)
    assert effective_trading_day(datetime(2023, 11, 14, 15, 59, 59)) == date(2023, 11, 14)
    assert effective_trading_day(datetime(2023, 11, 14, 16, 0)) == date(2023, 11, 15)
    thanksgiving_eve = datetime(2023, 11, 22, 17, 0)
    assert effective_trading_day(thanksgiving_eve) == date(2023, 11, 24)
    assert effective_trading_day(datetime(2023, 11, 18, 10, 0)) == date(2023, 11, 20)  # Saturday
    bare_date = date(2023, 11, 14)  # a bare date is end of day
    assert effective_trading_day(bare_date) == date(2023, 11, 15)


def test_items_after_an_early_close_count_for_the_next_session() -> None:
    # the day after Thanksgiving 2024 closes at 13:00
    assert effective_trading_day(datetime(2024, 11, 29, 12, 59, 59)) == date(2024, 11, 29)
    assert effective_trading_day(datetime(2024, 11, 29, 13, 0)) == date(2024, 12, 2)
    assert effective_trading_day(datetime(2024, 11, 29, 13, 30)) == date(2024, 12, 2)
    # Christmas Eve 2024 closes at 13:00; Christmas is a holiday
    assert effective_trading_day(datetime(2024, 12, 24, 13, 30)) == date(2024, 12, 26)
    stamps = pd.Series(pd.to_datetime(["2024-11-29 13:30", "2024-12-24 12:00", "2024-12-24 14:00"]))
    assert effective_trading_days(stamps).dt.date.tolist() == [
        date(2024, 12, 2),
        date(2024, 12, 24),
        date(2024, 12, 26),
    ]


def test_vectorised_rule_matches_scalar_rule() -> None:
    # spans Thanksgiving and Christmas 2023 and the early closes around them
    stamps = pd.Series(pd.date_range("2023-11-01", "2024-01-10", freq="17min"))
    vector = effective_trading_days(stamps)
    scalar = [pd.Timestamp(effective_trading_day(s.to_pydatetime())) for s in stamps]
    assert vector.tolist() == scalar
    assert all(is_trading_day(d.date()) for d in vector)
    assert vector.dtype == "datetime64[us]"


def test_missing_timestamps_are_an_error_not_a_day() -> None:
    with pytest.raises(ValueError, match="1 missing timestamps"):
        effective_trading_days(pd.Series(pd.to_datetime(["2024-01-03 10:00", None])))


def test_dates_outside_the_calendar_are_refused() -> None:
    with pytest.raises(CalendarRangeError, match="outside the exchange calendar"):
        is_trading_day(date(1980, 1, 2))
    with pytest.raises(CalendarRangeError):
        trading_days(date(2020, 1, 1), date(2200, 1, 1))


def test_session_arithmetic() -> None:
    assert trading_day_on_or_after(date(2025, 1, 9)) == date(2025, 1, 10)
    assert trading_day_on_or_after(date(2025, 1, 10)) == date(2025, 1, 10)
    assert add_trading_days(date(2025, 1, 8), 1) == date(2025, 1, 10)
    assert add_trading_days(date(2025, 1, 9), 1) == date(2025, 1, 10)  # from a closed day
    assert add_trading_days(date(2024, 12, 23), 3) == date(2024, 12, 27)  # over Christmas
    assert add_trading_days(date(2024, 12, 23), 0) == date(2024, 12, 23)


def test_staleness_counts_sessions_not_business_days() -> None:
    # 2025-01-08 → 2025-01-10 is one session (the 9th was closed); numpy says two business days
    assert sessions_between([date(2025, 1, 8)], date(2025, 1, 10)).tolist() == [1]
    assert np.busday_count("2025-01-08", "2025-01-10") == 2
    # [Dec 20, Dec 27) 2024: the 20th, 23rd, 24th and 26th (Christmas closed)
    assert sessions_between([date(2024, 12, 20)], date(2024, 12, 27)).tolist() == [4]
    assert sessions_between(np.array([], dtype="datetime64[D]"), date(2024, 12, 27)).size == 0
    bars = pd.DataFrame(
        {
            "date": pd.to_datetime(["2025-01-08", "2025-01-10", "2025-01-02"]),
            "ticker": ["AAA", "BBB", "CCC"],
        }
    )
    # AAA is one session behind, CCC five (the 2nd, 3rd, 6th, 7th and 8th)
    report = quality.stale_entities(bars, "date", "ticker", 1)
    assert report.metadata["stale"] == 1 and "CCC" in report.problems[0]
    assert "trading days" in report.problems[0]
    assert quality.stale_entities(bars, "date", "ticker", 5).passed
    assert not quality.stale_entities(bars, "date", "ticker", 4).passed


def test_edgar_days_are_a_different_calendar_from_the_exchange() -> None:
    good_friday = date(2024, 3, 29)
    assert edgar_business_day(good_friday) and not is_trading_day(good_friday)
    columbus = date(2024, 10, 14)
    assert is_trading_day(columbus) and not edgar_business_day(columbus)
    veterans = date(2024, 11, 11)
    assert is_trading_day(veterans) and not edgar_business_day(veterans)
    # both closed on the national day of mourning; EDGAR also on an executive-order Christmas Eve
    assert not edgar_business_day(date(2025, 1, 9)) and not is_trading_day(date(2025, 1, 9))
    assert not edgar_business_day(date(2019, 12, 24)) and is_trading_day(date(2019, 12, 24))
    assert is_early_close(date(2019, 12, 24))


def test_partitions_are_exactly_the_trading_days() -> None:
    # (the configured partitions span the configured data; these span 2023..2025)
    keys = build_trading_day_partitions(date(2023, 1, 2), date(2025, 12, 31)).get_partition_keys()
    for year in ("2023", "2025"):
        expected = [
            d.strftime("%Y-%m-%d")
            for d in trading_days(date(int(year), 1, 1), date(int(year), 12, 31))
        ]
        assert [k for k in keys if k.startswith(year)] == expected
    assert "2025-01-09" not in keys
    assert "2025-01-10" in keys and "2024-11-29" in keys  # early closes are sessions


def test_partitions_from_an_older_start_drop_the_2018_closure() -> None:
    keys = build_trading_day_partitions(date(2018, 11, 1)).get_partition_keys()
    assert "2018-12-05" not in keys and "2018-12-04" in keys
    first = [k for k in keys if k < "2019-01-01"]
    assert first == [
        d.strftime("%Y-%m-%d") for d in trading_days(date(2018, 11, 1), date(2018, 12, 31))
    ]
