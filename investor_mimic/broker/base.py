"""The ``Broker`` protocol every broker implements.

The execution job only ever calls these methods, in this order of trust: look an order
up by its ``client_order_id`` before submitting it, and treat a timeout or a 5xx on
``submit`` as "unknown", never as "not sent".
"""

from __future__ import annotations

from datetime import date
from typing import Protocol, runtime_checkable

from investor_mimic.broker.models import Account, Clock, Fill, Order, OrderRequest, Position


class Broker(Protocol):
    name: str

    def account(self) -> Account: ...

    def clock(self) -> Clock: ...

    def positions(self) -> list[Position]: ...

    def get_order(self, client_order_id: str) -> Order | None:
        """The order with this client id, or None when the broker never accepted one."""
        ...

    def submit(self, order: OrderRequest) -> Order:
        """Send one market order; raises BrokerError (retryable or not) on refusal."""
        ...


@runtime_checkable
class ReportsFills(Protocol):
    """A broker that can list its executions by day (the paper broker does).

    Optional on purpose: the daily ``portfolio`` asset counts a day's trades with it
    when the broker offers it, so no broker has to implement it to trade.
    """

    def fills(self, start: date, end: date) -> list[Fill]:
        """Executions whose fill time falls on a day in [start, end], oldest first."""
        ...
