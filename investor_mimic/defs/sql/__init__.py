"""Dagster wiring of the dbt-like SQL models: one asset per model, one check per YAML test."""
