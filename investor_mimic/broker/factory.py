"""The broker this environment trades with, chosen from settings in one place.

Why a plain function (not only a Dagster resource): the ``investor-mimic approvals``
command and the ``execute_trades`` job must reach the same broker with the same
safeguards (paper by default, live only by double opt-in), and neither may depend on
the other to build it.
"""

from __future__ import annotations

import importlib
from typing import Any

from investor_mimic.broker.base import Broker
from investor_mimic.broker.models import BrokerError
from investor_mimic.core.warehouse import Warehouse
from investor_mimic.settings import Settings


def make_broker(settings: Settings) -> Broker:
    """``IM_BROKER``: ``paper`` (default, the warehouse-backed paper broker) or ``alpaca``."""
    # the trading settings (limits, costs, broker) travel as settings.trading where present
    trading: Any = getattr(settings, "trading", None)
    kind = getattr(trading, "broker", None) or settings.broker
    if kind == "alpaca":
        from investor_mimic.broker.alpaca import AlpacaBroker

        return AlpacaBroker.from_settings(settings)
    if kind == "paper":
        try:
            paper = importlib.import_module("investor_mimic.broker.paper")
        except ModuleNotFoundError:
            paper = None
        if paper is None or trading is None:
            raise BrokerError(
                "the paper broker (investor_mimic/broker/paper.py) is not in this build"
            )
        broker: Broker = paper.PaperBroker(Warehouse(settings.resolved_warehouse_url), trading)
        return broker
    raise BrokerError(f"unknown broker {kind!r} (paper or alpaca)")
