"""A minimal in-memory broker built on the ``Broker`` protocol, for execution tests.

Why not a mock: it keeps real state (orders by client_order_id, cash, positions) and
enforces what a broker enforces (a client_order_id is accepted once), so the executor's
reconciliation is tested against behaviour, not against expected calls. Faults are
scripted per method and call: an exception to raise, optionally *after* accepting the
order, or None to answer that call normally.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime

from investor_mimic.broker.models import (
    Account,
    BrokerError,
    Clock,
    DuplicateClientOrderIdError,
    InsufficientBuyingPowerError,
    Order,
    OrderRequest,
    Position,
)


@dataclass
class Scripted:
    error: BrokerError
    accept_first: bool = False


@dataclass
class MemoryBroker:
    prices: dict[str, float]
    cash: float = 100_000.0
    now: datetime = datetime(2024, 12, 31, 17, 0)
    name: str = "memory"
    orders: dict[str, Order] = field(default_factory=dict)
    held: dict[str, float] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    faults: dict[str, deque[Scripted | None]] = field(default_factory=lambda: defaultdict(deque))

    def script(self, method: str, *faults: Scripted | None) -> None:
        self.faults[method].extend(faults)

    def _fault(self, method: str) -> Scripted | None:
        self.calls.append(method)
        queue = self.faults.get(method)
        return queue.popleft() if queue else None

    def account(self) -> Account:
        if (f := self._fault("account")) is not None:
            raise f.error
        value = sum(q * self.prices[t] for t, q in self.held.items())
        return Account(cash=self.cash, equity=self.cash + value, buying_power=self.cash)

    def clock(self) -> Clock:
        if (f := self._fault("clock")) is not None:
            raise f.error
        return Clock(self.now, False, self.now, self.now)

    def positions(self) -> list[Position]:
        if (f := self._fault("positions")) is not None:
            raise f.error
        return [
            Position(t, q, self.prices[t], q * self.prices[t])
            for t, q in sorted(self.held.items())
            if q
        ]

    def get_order(self, client_order_id: str) -> Order | None:
        if (f := self._fault("get_order")) is not None:
            raise f.error
        return self.orders.get(client_order_id)

    def _accept(self, order: OrderRequest) -> Order:
        if order.client_order_id in self.orders:
            raise DuplicateClientOrderIdError(order.client_order_id)
        price = self.prices[order.ticker]
        if order.side == "buy" and order.qty * price > self.cash:
            raise InsufficientBuyingPowerError("insufficient buying power")
        sign = 1 if order.side == "buy" else -1
        self.cash -= sign * order.qty * price
        self.held[order.ticker] = self.held.get(order.ticker, 0.0) + sign * order.qty
        accepted = Order(
            client_order_id=order.client_order_id,
            broker_order_id=f"mem-{len(self.orders) + 1}",
            ticker=order.ticker,
            side=order.side,
            qty=order.qty,
            filled_qty=order.qty,
            filled_avg_price=price,
            status="filled",
            submitted_at=self.now,
        )
        self.orders[order.client_order_id] = accepted
        return accepted

    def submit(self, order: OrderRequest) -> Order:
        fault = self._fault("submit")
        if fault is not None:
            if fault.accept_first:
                self._accept(order)
            raise fault.error
        return self._accept(order)
