"""Walk-forward weight fitting, composite score and factor evaluation."""
