"""Dagster wiring of operations: alerts, health, run-failure sensors (issues 9, 11)."""
