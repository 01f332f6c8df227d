"""Dagster wiring of the walk-forward backtest and its weekly schedule (issue 10)."""

import dagster as dg

from investor_mimic.defs.backtest.assets import backtest, backtest_job, weekly_backtest_schedule

backtest_defs = dg.Definitions(
    assets=[backtest], jobs=[backtest_job], schedules=[weekly_backtest_schedule]
)
