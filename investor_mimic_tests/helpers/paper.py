"""Bars in a real warehouse and a paper broker on it, for broker and trading tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

import pandas as pd

from investor_mimic.broker.models import BrokerError, OrderRequest
from investor_mimic.broker.paper import PaperBroker
from investor_mimic.core import frames
from investor_mimic.core.warehouse import Warehouse
from investor_mimic.settings import TradingSettings


def write_bars(
    warehouse: Warehouse,
    day: date,
    bars: Mapping[str, tuple[float, float, float]],
) -> None:
    """One session's bars as the ``prices`` asset writes them: ticker → (open, close,
    volume); high/low bracket open and close."""
    frame = pd.DataFrame(
        [
            {
                "date": pd.Timestamp(day),
                "ticker": t,
                "open": o,
                "high": max(o, c) * 1.01,
                "low": min(o, c) * 0.99,
                "close": c,
                "volume": v,
            }
            for t, (o, c, v) in bars.items()
        ]
    )
    warehouse.replace_rows("raw_prices", frames.coerce(frame, frames.PRICES), {"date": day})


def fixed(at: datetime):  # type: ignore[no-untyped-def]
    return lambda: at


def race_submit(args: tuple[str, str, str, float]) -> str:
    """In a fresh process: submit one order; "accepted" or the refusal's class name."""
    url, cid, ticker, qty = args
    broker = PaperBroker(Warehouse(url), TradingSettings())
    try:
        broker.submit(OrderRequest(cid, ticker, "buy", qty))
    except BrokerError as exc:
        return type(exc).__name__
    return "accepted"


def race_settle(url: str) -> int:
    """In a fresh process: settle what is settleable; how many this process settled."""
    return PaperBroker(Warehouse(url), TradingSettings()).settle()


def submit_all(broker: PaperBroker, orders: Iterable[OrderRequest]) -> None:
    for order in orders:
        broker.submit(order)
