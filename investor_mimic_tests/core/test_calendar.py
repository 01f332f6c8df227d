"""The NYSE calendar and the effective-trading-day rule every source relies on."""

from datetime import date, datetime

import pandas as pd

from investor_mimic.core.calendar import (
    effective_trading_day,
    effective_trading_days,
    is_trading_day,
    nyse_holidays,
    trading_days,
)
from investor_mimic.defs.partitions import trading_day_partitions


def test_known_nyse_holidays() -> None:
    assert date(2023, 4, 7) in nyse_holidays(2023)  # Good Friday
    assert date(2021, 7, 5) in nyse_holidays(2021)  # July 4 on a Sunday, observed Monday
    assert date(2022, 6, 20) in nyse_holidays(2022)  # Juneteenth observed
    assert date(2021, 6, 18) not in nyse_holidays(2021)  # before Juneteenth was a holiday
    assert date(2021, 12, 31) not in nyse_holidays(2021)  # Saturday New Year: no Friday closure
    assert date(2022, 12, 26) in nyse_holidays(2022)  # Christmas on Sunday


def test_trading_days_per_year() -> None:
    # NYSE had 252 trading days in 2019, 253 in 2020, 252 in 2021, 251 in 2022, 250 in 2023
    counts = {y: len(trading_days(date(y, 1, 1), date(y, 12, 31))) for y in range(2019, 2024)}
    assert counts == {2019: 252, 2020: 253, 2021: 252, 2022: 251, 2023: 250}


def test_effective_day_rule() -> None:
    assert effective_trading_day(datetime(2023, 11, 14, 9, 38, 54)) == date(2023, 11, 14)
    assert effective_trading_day(datetime(2023, 11, 14, 15, 59, 59)) == date(2023, 11, 14)
    assert effective_trading_day(datetime(2023, 11, 14, 16, 0)) == date(2023, 11, 15)
    assert effective_trading_day(datetime(2023, 11, 22, 17, 0)) == date(
        2023, 11, 24
    )  # Thanksgiving
    assert effective_trading_day(datetime(2023, 11, 18, 10, 0)) == date(2023, 11, 20)  # Saturday
    assert effective_trading_day(date(2023, 11, 14)) == date(
        2023, 11, 15
    )  # a bare date is end of day


def test_vectorised_rule_matches_scalar_rule() -> None:
    stamps = pd.Series(pd.date_range("2023-11-01", "2024-01-10", freq="97min"))
    vector = effective_trading_days(stamps)
    scalar = [pd.Timestamp(effective_trading_day(s.to_pydatetime())) for s in stamps]
    assert vector.tolist() == scalar
    assert all(is_trading_day(d.date()) for d in vector)


def test_partitions_are_exactly_the_trading_days() -> None:
    keys = trading_day_partitions.get_partition_keys()
    expected = [d.strftime("%Y-%m-%d") for d in trading_days(date(2023, 1, 1), date(2023, 12, 31))]
    assert [k for k in keys if k.startswith("2023")] == expected
