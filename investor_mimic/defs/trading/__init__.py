"""Dagster wiring of trading: trade proposals, risk-limit checks, execution (issue 8)."""
