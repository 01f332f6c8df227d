"""Dagster wiring of the factor panel and its coverage checks."""
