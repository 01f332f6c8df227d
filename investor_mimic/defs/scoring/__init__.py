"""Dagster wiring of the research chain: weights, composite score, evaluation."""
