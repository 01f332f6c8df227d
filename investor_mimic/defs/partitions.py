"""Partition definitions: NYSE trading days, 13F report quarters, and tracked 13F filers.

Trading-day keys are ``YYYY-MM-DD`` weekdays minus the weekdays without an exchange session
(holidays and one-off closures such as 2025-01-09, from :mod:`investor_mimic.core.calendar`,
as Dagster exclusions), so a backfill never asks a source for a closed market. Quarter
keys are the 13F period-of-report dates (``2023-09-30``); filers are dynamic (10-digit
CIKs) so a user can start tracking a manager from the UI or ``dagster instance`` CLI
without a deploy.
"""

from __future__ import annotations

from datetime import date, datetime

import dagster as dg

from investor_mimic.core.calendar import is_trading_day, nyse_holidays, quarter_ends
from investor_mimic.settings import get_settings

TIMEZONE = "America/New_York"
FILERS = "filers"


def build_trading_day_partitions(start: date) -> dg.TimeWindowPartitionsDefinition:
    this_year = date.today().year
    holidays = [
        datetime(h.year, h.month, h.day)
        for y in range(start.year, this_year + 2)
        for h in nyse_holidays(y)
    ]
    return dg.TimeWindowPartitionsDefinition(
        start=datetime(start.year, start.month, start.day),
        cron_schedule="0 0 * * 1-5",
        fmt="%Y-%m-%d",
        timezone=TIMEZONE,
        exclusions=holidays,
    )


_settings = get_settings()

trading_day_partitions = build_trading_day_partitions(_settings.history_start)
quarter_partitions = dg.StaticPartitionsDefinition(
    [d.isoformat() for d in quarter_ends(_settings.history_start, date.today())]
)
filer_partitions = dg.DynamicPartitionsDefinition(name=FILERS)
thirteenf_partitions = dg.MultiPartitionsDefinition(
    {"quarter": quarter_partitions, "filer": filer_partitions}
)


def trading_day_schedule(
    job: dg.UnresolvedAssetJobDefinition, hour: int, minute: int, description: str
) -> dg.ScheduleDefinition:
    """A weekday schedule (New York time) that runs ``job`` for that day's partition,
    and skips NYSE holidays with a reason the UI shows."""

    @dg.schedule(
        name=f"{job.name.removesuffix('_job')}_schedule",
        job=job,
        cron_schedule=f"{minute} {hour} * * 1-5",
        execution_timezone=TIMEZONE,
        description=description,
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        day = context.scheduled_execution_time.date()
        if not is_trading_day(day):
            return dg.SkipReason(f"{day} is not a trading day")
        return dg.RunRequest(run_key=day.isoformat(), partition_key=day.isoformat())

    return _schedule
