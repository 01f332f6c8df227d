"""Dagster wiring of the source systems: partitioned source assets, their checks, the
sources resource, the retry policy and the sensors that fetch each day when it is published."""
