"""The trading-day partitions span the configured data: no partition no source can fill."""

from datetime import date, timedelta
from typing import get_args

import pytest

from investor_mimic.core.calendar import trading_days
from investor_mimic.defs.partitions import build_trading_day_partitions, data_span
from investor_mimic.demo.spec import SIZES
from investor_mimic.settings import Settings, WorldSize


@pytest.mark.parametrize("size", get_args(WorldSize))  # the sizes settings accept
def test_on_the_demo_world_the_partitions_are_exactly_the_worlds_trading_days(
    size: str,
) -> None:
    start, end = data_span(Settings(world_size=size))  # type: ignore[call-arg]
    keys = build_trading_day_partitions(start, end).get_partition_keys()

    world_days = trading_days(SIZES[size].start, SIZES[size].end)
    assert keys == [f"{d:%Y-%m-%d}" for d in world_days]


def test_with_a_real_source_the_partitions_start_at_history_start_and_stay_open() -> None:
    settings = Settings(prices_source="alpaca", history_start=date(2019, 1, 2))  # type: ignore[call-arg]
    start, end = data_span(settings)
    assert (start, end) == (date(2019, 1, 2), None)

    keys = build_trading_day_partitions(start, end).get_partition_keys()
    assert keys[0] == "2019-01-02"
    assert date.fromisoformat(keys[-1]) > date.today() - timedelta(days=10)  # still growing


def test_an_end_on_a_friday_keeps_that_friday_and_nothing_after() -> None:
    keys = build_trading_day_partitions(date(2023, 12, 26), date(2023, 12, 29)).get_partition_keys()
    assert keys == ["2023-12-26", "2023-12-27", "2023-12-28", "2023-12-29"]
