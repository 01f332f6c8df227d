"""External systems (EDGAR, Alpaca data, Alpha Vantage) and the demo world; no Dagster imports."""
