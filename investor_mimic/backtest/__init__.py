"""Walk-forward simulation of the strategy, its metrics and its plots (pure, no Dagster)."""
