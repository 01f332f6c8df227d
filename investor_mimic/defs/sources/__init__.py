"""Dagster wiring of the source systems: partitioned source assets, their checks, the
sources resource and the daily schedules."""
