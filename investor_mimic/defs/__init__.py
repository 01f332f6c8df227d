"""Dagster wiring only: assets, checks, sensors and schedules per domain."""
