"""Test helpers moved out of test_io_manager.py: shared by several test modules."""

import dagster as dg
import pandas as pd

days = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-11")


@dg.asset(
    partitions_def=days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    metadata={"partition_expr": "date"},
)
def daily(context: dg.AssetExecutionContext) -> pd.DataFrame:
    window = context.partition_time_window
    # microseconds, as the assets' dates (from dates alone pandas picks seconds)
    dates = pd.date_range(window.start.date(), window.end.date(), inclusive="left", unit="us")
    return pd.DataFrame({"date": dates, "value": [d.day for d in dates]})


@dg.asset(ins={"daily": dg.AssetIn(partition_mapping=dg.AllPartitionMapping())})
def total(daily: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"n": [len(daily)], "sum": [int(daily["value"].sum())]})
