"""Alpaca through alpaca-py's ``TradingClient``: paper by default, live only by double opt-in.

What this adapter adds to alpaca-py, and why:

- **Refusal before any request.** ``paper=False`` alone raises
  :class:`LiveTradingRefusedError` in the constructor; only ``paper=False`` *and*
  ``live_confirmed=True`` (``ALPACA_PAPER=false`` plus
  ``IM_ALPACA_LIVE_TRADING_CONFIRMED=true``) reach the live endpoint.
- **No blind retries.** alpaca-py resends any request answered 429 or 504, POSTs
  included, after a fixed 3 s. A 504 on ``POST /v2/orders`` means "maybe accepted", so
  that resend could double an order. The client's retry list is emptied here and every
  answer becomes one of the typed errors of :mod:`investor_mimic.broker.models`; the
  executor decides (look the client_order_id up first, honour ``Retry-After``).
- **Timeouts.** alpaca-py sets none (``requests`` then waits forever); every call here
  has ``timeout`` seconds, and a timed-out submission is "outcome unknown", not "failed".
- **Our types out.** Orders, positions, the account and the clock come back as the
  project's dataclasses, times as naive US/Eastern.

The keys are handed to the client and nowhere else: no repr, log line or error message
of this module contains them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import MarketOrderRequest
from pydantic import SecretStr
from requests.adapters import HTTPAdapter

from investor_mimic.broker.models import (
    Account,
    BrokerError,
    Clock,
    DuplicateClientOrderIdError,
    InsufficientBuyingPowerError,
    LiveTradingRefusedError,
    MarketClosedError,
    Order,
    OrderOutcomeUnknownError,
    OrderRequest,
    OrderStatus,
    Position,
    RateLimitedError,
)
from investor_mimic.settings import Settings

EASTERN = ZoneInfo("America/New_York")
T = TypeVar("T")

# Alpaca's order statuses → ours. Anything not terminal and not filled is "new": the
# order is at the broker and may still fill.
_STATUS: dict[str, OrderStatus] = {
    "partially_filled": "partially_filled",
    "filled": "filled",
    "canceled": "canceled",
    "replaced": "canceled",
    "expired": "expired",
    "rejected": "rejected",
}
_MARKET_CLOSED = re.compile(r"market (is )?(closed|not open)|outside (of )?market hours", re.I)
_BUYING_POWER = re.compile(r"insufficient (buying power|funds)", re.I)
_DUPLICATE = re.compile(r"client_order_id must be unique|duplicate client", re.I)


class _TimeoutAdapter(HTTPAdapter):
    """Gives every request a timeout unless the caller set one."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def _eastern(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    if ts.tzinfo is not None:
        ts = ts.astimezone(EASTERN).replace(tzinfo=None)
    return ts


def _float(v: Any, default: float = 0.0) -> float:
    return default if v in (None, "") else float(v)


def _enum(v: Any) -> str:
    return str(getattr(v, "value", v))


def _error_body(exc: APIError) -> tuple[int | None, str]:
    """(status, message) of an API error; the body is Alpaca's JSON or plain text."""
    status = exc.status_code
    text = str(exc)
    try:
        body = json.loads(text)
        message = str(body.get("message") or text) if isinstance(body, dict) else text
    except ValueError:
        message = text
    return status, message.strip()[:300]


def _retry_after(exc: APIError) -> float | None:
    response = exc.response
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the executor falls back to its own backoff


class AlpacaBroker:
    """The :class:`~investor_mimic.broker.base.Broker` protocol over Alpaca's trading API."""

    name = "alpaca"

    def __init__(
        self,
        api_key: SecretStr | None,
        secret_key: SecretStr | None,
        *,
        paper: bool = True,
        live_confirmed: bool = False,
        url: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not paper and not live_confirmed:
            raise LiveTradingRefusedError(
                "live trading refused: ALPACA_PAPER=false needs the explicit confirmation "
                "IM_ALPACA_LIVE_TRADING_CONFIRMED=true as well; nothing was sent"
            )
        if api_key is None or secret_key is None:
            raise BrokerError(
                "Alpaca trading needs IM_ALPACA_API_KEY and IM_ALPACA_SECRET_KEY "
                "(or ALPACA_API_KEY / ALPACA_SECRET_KEY)"
            )
        self.paper = paper
        self._client = TradingClient(
            api_key.get_secret_value(),
            secret_key.get_secret_value(),
            paper=paper,
            url_override=url,
        )
        # alpaca-py keeps these private; the broker tests fail if they stop taking effect
        self._client._retry_codes = []  # no resend of anything: see the module docstring
        adapter = _TimeoutAdapter(timeout)
        self._client._session.mount("http://", adapter)
        self._client._session.mount("https://", adapter)

    @classmethod
    def from_settings(cls, settings: Settings) -> AlpacaBroker:
        return cls(
            settings.alpaca_api_key,
            settings.alpaca_secret_key,
            paper=settings.alpaca_paper,
            live_confirmed=settings.alpaca_live_trading_confirmed,
            url=settings.alpaca_trading_url,
            timeout=settings.broker_timeout_seconds,
        )

    def __repr__(self) -> str:
        return f"AlpacaBroker(paper={self.paper})"

    # ------------------------------------------------------------- errors
    def _call(self, what: str, fn: Callable[[], T], *, submitting: str | None = None) -> T:
        """Run one client call; ``submitting`` is the client_order_id being sent, if any."""
        try:
            return fn()
        except (requests.Timeout, requests.ConnectionError) as exc:
            kind = "timed out" if isinstance(exc, requests.Timeout) else "lost its connection"
            if submitting:
                raise OrderOutcomeUnknownError(f"Alpaca {what} {kind}") from None
            raise BrokerError(f"Alpaca {what} {kind}", retryable=True) from None
        except APIError as exc:
            raise self._translate(what, exc, submitting=submitting) from None

    @staticmethod
    def _translate(what: str, exc: APIError, *, submitting: str | None) -> BrokerError:
        status, message = _error_body(exc)
        said = f"Alpaca {what}: HTTP {status}: {message}"
        if status == 429:
            return RateLimitedError(said, retry_after=_retry_after(exc))
        if status is not None and status >= 500:
            if submitting:
                return OrderOutcomeUnknownError(said)
            return BrokerError(said, retryable=True)
        if submitting and _DUPLICATE.search(message):
            return DuplicateClientOrderIdError(submitting)
        if _BUYING_POWER.search(message):
            return InsufficientBuyingPowerError(said)
        if _MARKET_CLOSED.search(message):
            return MarketClosedError(said)
        if status in (401, 403) and "author" in message.lower():
            return BrokerError(f"Alpaca {what}: the API keys were refused (HTTP {status})")
        return BrokerError(said)

    # ------------------------------------------------------------ convert
    @staticmethod
    def _order(raw: Any) -> Order:
        side = _enum(raw.side)
        submitted = _eastern(raw.submitted_at) or _eastern(raw.created_at)
        assert submitted is not None
        return Order(
            client_order_id=raw.client_order_id,
            broker_order_id=str(raw.id),
            ticker=str(raw.symbol),
            side="sell" if side == "sell" else "buy",
            qty=_float(raw.qty),
            filled_qty=_float(raw.filled_qty),
            filled_avg_price=None
            if raw.filled_avg_price in (None, "")
            else float(raw.filled_avg_price),
            status=_STATUS.get(_enum(raw.status), "new"),
            submitted_at=submitted,
        )

    # ----------------------------------------------------------- protocol
    def account(self) -> Account:
        raw: Any = self._call("account", self._client.get_account)
        return Account(
            cash=_float(raw.cash),
            equity=_float(raw.equity),
            buying_power=_float(raw.buying_power),
        )

    def clock(self) -> Clock:
        raw: Any = self._call("clock", self._client.get_clock)
        return Clock(
            timestamp=_eastern(raw.timestamp),  # type: ignore[arg-type]
            is_open=bool(raw.is_open),
            next_open=_eastern(raw.next_open),  # type: ignore[arg-type]
            next_close=_eastern(raw.next_close),  # type: ignore[arg-type]
        )

    def positions(self) -> list[Position]:
        raw: Any = self._call("positions", self._client.get_all_positions)
        out = []
        for p in raw:
            qty = _float(p.qty)
            if _enum(p.side) == "short" and qty > 0:
                qty = -qty
            out.append(
                Position(
                    ticker=p.symbol,
                    qty=qty,
                    avg_entry_price=_float(p.avg_entry_price),
                    market_value=_float(p.market_value),
                )
            )
        return out

    def get_order(self, client_order_id: str) -> Order | None:
        try:
            raw = self._client.get_order_by_client_id(client_order_id)
        except APIError as exc:
            if exc.status_code == 404:
                return None
            raise self._translate("order lookup", exc, submitting=None) from None
        except (requests.Timeout, requests.ConnectionError):
            raise BrokerError("Alpaca order lookup timed out", retryable=True) from None
        return self._order(raw)

    def submit(self, order: OrderRequest) -> Order:
        request = MarketOrderRequest(
            symbol=order.ticker,
            qty=order.qty,
            side=OrderSide.BUY if order.side == "buy" else OrderSide.SELL,
            time_in_force=TimeInForce.DAY,
            client_order_id=order.client_order_id,
        )
        raw = self._call(
            f"order {order.client_order_id}",
            lambda: self._client.submit_order(request),
            submitting=order.client_order_id,
        )
        return self._order(raw)
