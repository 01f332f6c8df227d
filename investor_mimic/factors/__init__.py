"""The eight factors: pure functions over (date x ticker) panels."""
