"""Target portfolio, sizing, risk limits, stops and the orders that reach it (pure)."""
