"""What every layer shares: frame contracts, the exchange calendar, the warehouse and
data-quality rules. No Dagster here: ``defs/`` wires these, never the other way round."""
