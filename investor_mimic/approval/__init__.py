"""Approval requests, their decisions and their execution at a broker (pure, no Dagster).

- :mod:`~investor_mimic.approval.tables`: the warehouse tables (SQLAlchemy Core, one
  ``MetaData`` a migration can import).
- :mod:`~investor_mimic.approval.states`: the state machine (which transition is legal).
- :mod:`~investor_mimic.approval.store`: atomic transitions, orders, fills, audit, kill switch.
- :mod:`~investor_mimic.approval.execution`: an approved request's orders sent to a
  :class:`~investor_mimic.broker.base.Broker`, reconciled by ``client_order_id``.
"""
