"""A loopback fake of Alpaca's trading API, for the real alpaca-py ``TradingClient``.

It keeps an account, positions and orders like Alpaca does, speaks the same JSON
(alpaca-py parses every answer into its own models, so a wrong shape fails the test),
and answers the way Alpaca answers trouble: 422 "client_order_id must be unique",
403 "insufficient buying power", 404 for an unknown client_order_id, and, when a test
scripts it, 429 with ``Retry-After``, 5xx, slow answers (client timeouts) and answers
held back until the test lets go (to SIGKILL the client mid-flight). A fault may first
*accept* the order and only then fail the answer — the case that makes blind retries
duplicate orders. ``accepted`` counts the orders the broker really holds.

Paths are Alpaca's: ``/v2/account``, ``/v2/clock``, ``/v2/positions``, ``POST /v2/orders``,
``/v2/orders:by_client_order_id``, ``/v2/orders/{id}``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")
ORDERS = "/v2/orders"


@dataclass
class Fault:
    """One scripted answer to the next request on a (method, path).

    ``accept``: process the request normally first (the order exists at the broker),
    then answer with ``status``/``delay``/``hold`` instead of the normal answer.
    """

    status: int | None = None
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    accept: bool = False
    delay: float = 0.0
    hold: bool = False


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: dict[str, str]
    at: float


def _iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


class FakeAlpaca:
    """Threaded HTTP server on 127.0.0.1:<free port>; use as a context manager."""

    def __init__(
        self,
        key: str,
        secret: str,
        *,
        prices: dict[str, float],
        cash: float = 100_000.0,
        now: datetime | None = None,
        is_open: bool = False,
        fill: bool = True,
    ) -> None:
        self.key, self.secret = key, secret
        self.prices = dict(prices)
        self.cash = cash
        self.now = now or datetime(2024, 12, 31, 17, 0, tzinfo=EASTERN)
        self.is_open = is_open
        self.fill = fill  # fill market orders at once (at `prices`), else leave them accepted
        self.accepted: list[dict[str, Any]] = []  # orders the broker holds, in arrival order
        self.positions: dict[str, dict[str, float]] = {}
        self.seen: list[Seen] = []
        self.held = threading.Event()  # set when a `hold` fault has accepted an order
        self._release = threading.Event()
        self._faults: dict[tuple[str, str], deque[Fault]] = defaultdict(deque)
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # ------------------------------------------------------------ test API
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def fault(self, method: str, path: str, *faults: Fault) -> None:
        with self._lock:
            self._faults[(method, path)].extend(faults)

    def release(self) -> None:
        """Let held answers go (to a client that may be dead by now)."""
        self._release.set()

    def calls(self, method: str, path: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.method == method and s.path == path]

    def order_by_client_id(self, client_order_id: str) -> dict[str, Any] | None:
        with self._lock:
            return next((o for o in self.accepted if o["client_order_id"] == client_order_id), None)

    def fill_open_orders(self) -> None:
        """The market opens: every accepted, unfilled order fills at ``prices``."""
        with self._lock:
            for order in self.accepted:
                if order["status"] in ("accepted", "new"):
                    self._fill(order)

    def __enter__(self) -> FakeAlpaca:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # ------------------------------------------------------------- the API
    def _account(self) -> dict[str, Any]:
        value = sum(p["qty"] * self.prices[s] for s, p in self.positions.items())
        return {
            "id": "9f3a4c1e-0000-4000-8000-000000000001",
            "account_number": "PA0000000001",
            "status": "ACTIVE",
            "currency": "USD",
            "cash": f"{self.cash:.2f}",
            "buying_power": f"{self.cash:.2f}",
            "equity": f"{self.cash + value:.2f}",
            "portfolio_value": f"{self.cash + value:.2f}",
            "trading_blocked": False,
            "account_blocked": False,
        }

    def _clock(self) -> dict[str, Any]:
        return {
            "timestamp": self.now.isoformat(),
            "is_open": self.is_open,
            "next_open": (self.now.replace(hour=9, minute=30) + timedelta(days=1)).isoformat(),
            "next_close": (self.now.replace(hour=16, minute=0) + timedelta(days=1)).isoformat(),
        }

    def _positions(self) -> list[dict[str, Any]]:
        return [
            {
                "asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, symbol)),
                "symbol": symbol,
                "exchange": "NASDAQ",
                "asset_class": "us_equity",
                "avg_entry_price": f"{p['avg']:.4f}",
                "qty": f"{p['qty']:g}",
                "side": "long",
                "market_value": f"{p['qty'] * self.prices[symbol]:.2f}",
                "cost_basis": f"{p['qty'] * p['avg']:.2f}",
            }
            for symbol, p in sorted(self.positions.items())
            if p["qty"]
        ]

    def _fill(self, order: dict[str, Any]) -> None:
        symbol, qty = order["symbol"], float(order["qty"])
        price = self.prices[symbol]
        pos = self.positions.setdefault(symbol, {"qty": 0.0, "avg": 0.0})
        if order["side"] == "buy":
            pos["avg"] = (pos["avg"] * pos["qty"] + price * qty) / (pos["qty"] + qty)
            pos["qty"] += qty
            self.cash -= price * qty
        else:
            pos["qty"] -= qty
            self.cash += price * qty
        stamp = _iso(datetime.now(UTC))
        order.update(
            status="filled",
            filled_qty=f"{qty:g}",
            filled_avg_price=f"{price:.4f}",
            filled_at=stamp,
            updated_at=stamp,
        )

    def _new_order(self, body: dict[str, Any]) -> tuple[int, Any]:
        coid = body.get("client_order_id") or str(uuid.uuid4())
        symbol = str(body.get("symbol", ""))
        side = body.get("side")
        try:
            qty = float(body.get("qty"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return 422, {"code": 40010001, "message": "qty is required"}
        if self.order_by_client_id(coid) is not None:
            return 422, {"code": 40010001, "message": "client_order_id must be unique"}
        if symbol not in self.prices:
            return 422, {"code": 40010001, "message": f"asset {symbol} not found"}
        if side == "buy" and qty * self.prices[symbol] > self.cash:
            return 403, {
                "code": 40310000,
                "message": "insufficient buying power",
                "buying_power": f"{self.cash:.2f}",
            }
        if side == "sell" and qty > self.positions.get(symbol, {"qty": 0.0})["qty"]:
            return 403, {"code": 40310000, "message": "insufficient qty available for order"}
        stamp = _iso(datetime.now(UTC))
        order = {
            "id": str(uuid.uuid4()),
            "client_order_id": coid,
            "created_at": stamp,
            "updated_at": stamp,
            "submitted_at": stamp,
            "filled_at": None,
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, symbol)),
            "symbol": symbol,
            "asset_class": "us_equity",
            "qty": f"{qty:g}",
            "filled_qty": "0",
            "filled_avg_price": None,
            "order_class": "simple",
            "order_type": "market",
            "type": "market",
            "side": side,
            "time_in_force": body.get("time_in_force", "day"),
            "status": "accepted",
            "extended_hours": False,
        }
        self.accepted.append(order)
        if self.fill:
            self._fill(order)
        return 200, dict(order)

    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        with self._lock:
            if method == "GET" and path == "/v2/account":
                return 200, self._account()
            if method == "GET" and path == "/v2/clock":
                return 200, self._clock()
            if method == "GET" and path == "/v2/positions":
                return 200, self._positions()
            if method == "POST" and path == ORDERS:
                return self._new_order(body or {})
            if method == "GET" and path == "/v2/orders:by_client_order_id":
                order = self.order_by_client_id(query.get("client_order_id", ""))
                if order is None:
                    return 404, {"code": 40410000, "message": "order not found"}
                return 200, dict(order)
            if method == "GET" and path.startswith(ORDERS + "/"):
                order_id = path.rsplit("/", 1)[1]
                found = next((o for o in self.accepted if o["id"] == order_id), None)
                return (
                    (200, dict(found))
                    if found
                    else (404, {"code": 40410000, "message": "order not found"})
                )
            return 404, {"code": 40400000, "message": "endpoint not found"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                path = unquote(parts.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                with fake._lock:
                    fake.seen.append(Seen(method, path, query, time.monotonic()))
                    queue = fake._faults.get((method, path))
                    fault = queue.popleft() if queue else None
                if (
                    self.headers.get("APCA-API-KEY-ID") != fake.key
                    or self.headers.get("APCA-API-SECRET-KEY") != fake.secret
                ):
                    self._send(401, {"code": 40110000, "message": "request is not authorized"})
                    return
                body = json.loads(raw) if raw else None
                status: int = 500
                payload: Any = {"code": 50010000, "message": "internal error"}
                if fault is None or fault.accept:
                    status, payload = fake._route(method, path, query, body)
                if fault is not None:
                    if fault.hold:
                        fake.held.set()
                        fake._release.wait(timeout=60)
                    if fault.delay:
                        time.sleep(fault.delay)
                    if fault.status is not None:
                        status = fault.status
                        payload = fault.body or {"code": 50010000, "message": "internal error"}
                self._send(status, payload, fault.headers if fault else {})

            def _send(
                self, status: int, payload: Any, headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout) or was killed

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_DELETE(self) -> None:
                self._serve("DELETE")

            def log_message(self, format: str, *args: Any) -> None:
                """Silence the default stderr access log."""

        return Handler
