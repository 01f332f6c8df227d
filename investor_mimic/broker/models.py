"""Typed values that cross the broker boundary, whatever the broker.

Why our own types and not alpaca-py's: the paper broker, Alpaca, the approval store and
the backtest all speak these, so a test can swap one broker for another and nothing
upstream changes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Side = Literal["buy", "sell"]
OrderStatus = Literal[
    "new",  # accepted by the broker, not yet filled
    "partially_filled",
    "filled",
    "canceled",
    "expired",
    "rejected",
]
TERMINAL_STATUSES: frozenset[str] = frozenset({"filled", "canceled", "expired", "rejected"})


class BrokerError(Exception):
    """A broker refused or failed a call; ``reason`` is one line a person can act on."""

    def __init__(self, reason: str, *, retryable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class MarketClosedError(BrokerError):
    """The market is closed and the order type needs it open."""


class InsufficientBuyingPowerError(BrokerError):
    """The account cannot pay for the order."""


class LiveTradingRefusedError(BrokerError):
    """Live trading was asked for without the explicit second opt-in."""


class DuplicateClientOrderIdError(BrokerError):
    """The broker already holds an order with this ``client_order_id`` (Alpaca: HTTP 422).

    Not retryable: the execution code reconciles with ``get_order(client_order_id)``.
    """

    def __init__(self, client_order_id: str) -> None:
        super().__init__(f"an order with client_order_id {client_order_id} already exists")
        self.client_order_id = client_order_id


class RateLimitedError(BrokerError):
    """The broker asked us to slow down (HTTP 429); nothing was done.

    ``retry_after`` is the broker's own wait in seconds (``Retry-After``), or None.
    """

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason, retryable=True)
        self.retry_after = retry_after


class OrderOutcomeUnknownError(BrokerError):
    """A submission timed out or met a 5xx: the broker may or may not hold the order.

    Why its own type: the only safe next step is to look the ``client_order_id`` up,
    never to send the order again blindly.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason, retryable=True)


def client_order_id(request_id: str, ticker: str, side: Side) -> str:
    """Deterministic id of one order of one approval request.

    Why deterministic: after a timeout the broker is asked for this id before anything is
    resent, so a retried or restarted execution can never submit the same order twice.
    Alpaca allows at most 48 characters.
    """
    digest = hashlib.sha256(f"{request_id}|{ticker}|{side}".encode()).hexdigest()[:16]
    return f"im-{request_id[:20]}-{ticker[:6]}-{side[0]}-{digest}"[:48]


@dataclass(frozen=True)
class OrderRequest:
    """A market order to send: whole shares unless fractional trading is on."""

    client_order_id: str
    ticker: str
    side: Side
    qty: float


@dataclass(frozen=True)
class Order:
    """What the broker knows of an order."""

    client_order_id: str
    broker_order_id: str
    ticker: str
    side: Side
    qty: float
    filled_qty: float
    filled_avg_price: float | None
    status: OrderStatus
    submitted_at: datetime


@dataclass(frozen=True)
class Position:
    ticker: str
    qty: float
    avg_entry_price: float
    market_value: float


@dataclass(frozen=True)
class Account:
    cash: float
    equity: float
    buying_power: float


@dataclass(frozen=True)
class Clock:
    """The broker's market clock (naive US/Eastern wall-clock times)."""

    timestamp: datetime
    is_open: bool
    next_open: datetime
    next_close: datetime


@dataclass(frozen=True)
class Fill:
    """One execution of an order (price after slippage; commission in dollars)."""

    client_order_id: str
    broker_order_id: str
    ticker: str
    side: Side
    qty: float
    price: float
    commission: float
    filled_at: datetime
