"""Dagster wiring of approvals: approval-request and decision sensors (issues 8, 9)."""
