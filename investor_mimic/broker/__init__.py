"""Brokers behind one protocol: the built-in paper broker and Alpaca (alpaca-py).

No Dagster here; ``defs/trading`` wires a broker chosen by settings.
"""
