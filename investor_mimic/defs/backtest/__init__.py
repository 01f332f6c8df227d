"""Dagster wiring of the walk-forward backtest and its schedule (issue 10)."""
