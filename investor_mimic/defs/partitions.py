"""Partition definitions: NYSE trading days, 13F report quarters, and tracked 13F filers.

Trading-day keys are ``YYYY-MM-DD`` weekdays minus the weekdays without an exchange session
(holidays and one-off closures such as 2025-01-09, from :mod:`investor_mimic.core.calendar`,
as Dagster exclusions), so a backfill never asks a source for a closed market. The
partitions span the configured data (:func:`data_span`): the demo world's own days when
every source reads the demo world, so the UI shows no partition that no source could ever
fill. Quarter
keys are the 13F period-of-report dates (``2023-09-30``); filers are dynamic (10-digit
CIKs) so a user can start tracking a manager from the UI or ``dagster instance`` CLI
without a deploy.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import dagster as dg

from investor_mimic.core.calendar import nyse_holidays, quarter_ends
from investor_mimic.demo.spec import size_spec
from investor_mimic.settings import Settings, get_settings

TIMEZONE = "America/New_York"
FILERS = "filers"


def data_span(settings: Settings) -> tuple[date, date | None]:
    """First and last day of the configured data (``None``: still growing).

    Every source on the demo world: the world's own span, which its size fixes. Any
    real source: ``history_start`` onwards, open-ended, as new days keep arriving.
    """
    sources = (settings.edgar_source, settings.prices_source, settings.news_source)
    if all(source == "demo" for source in sources):
        spec = size_spec(settings.world_size)
        return spec.start, spec.end
    return settings.history_start, None


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)


def build_trading_day_partitions(
    start: date, end: date | None = None
) -> dg.TimeWindowPartitionsDefinition:
    """Trading days from ``start`` through ``end`` (inclusive; ``None``: up to today)."""
    last_year = (end or date.today()).year + 1
    holidays = [_midnight(h) for y in range(start.year, last_year + 1) for h in nyse_holidays(y)]
    stop = None
    if end is not None:  # Dagster's end is exclusive: the start of the next weekday's window
        stop = end + timedelta(days=1)
        while stop.weekday() >= 5:
            stop += timedelta(days=1)
    return dg.TimeWindowPartitionsDefinition(
        start=_midnight(start),
        end=_midnight(stop) if stop else None,
        cron_schedule="0 0 * * 1-5",
        fmt="%Y-%m-%d",
        timezone=TIMEZONE,
        exclusions=holidays,
        # a day's partition exists from its midnight, not from the next one: the evening
        # sensors request session D's bars, news and Form 4s during D's evening
        end_offset=1,
    )


DATA_START, DATA_END = data_span(get_settings())

trading_day_partitions = build_trading_day_partitions(DATA_START, DATA_END)
quarter_partitions = dg.StaticPartitionsDefinition(
    [d.isoformat() for d in quarter_ends(DATA_START, DATA_END or date.today())]
)
filer_partitions = dg.DynamicPartitionsDefinition(name=FILERS)
thirteenf_partitions = dg.MultiPartitionsDefinition(
    {"quarter": quarter_partitions, "filer": filer_partitions}
)


def multi_partition_key(*, quarter: str, filer: str) -> str:
    """The string key of a (quarter, filer) partition of ``thirteenf_partitions``."""
    return str(dg.MultiPartitionKey({"quarter": quarter, "filer": filer}))
