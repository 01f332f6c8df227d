"""Investor Mimic: point-in-time factors from public disclosures, as a Dagster asset graph."""
