"""Shared pieces of the approval and execution tests: proposals, stores, racing deciders."""

from __future__ import annotations

import time
from datetime import date, datetime

import pandas as pd

from investor_mimic.approval.states import default_expiry
from investor_mimic.approval.store import ApprovalStore, RequestRow

DAY = date(2024, 12, 31)  # a Tuesday; the next session is 2025-01-02 (New Year's Day closed)
BEFORE_OPEN = datetime(2024, 12, 31, 17, 0)  # market time after the proposal day's close
AFTER_OPEN = datetime(2025, 1, 2, 9, 31)


def proposal(
    day: date = DAY, rows: list[tuple[str, str, float, float]] | None = None
) -> pd.DataFrame:
    """A trade_proposals partition: (ticker, side, shares, ref_price) rows plus the rest."""
    rows = rows or [("AAA", "buy", 10, 10.0), ("BBB", "buy", 4, 50.0), ("CCC", "sell", 5, 20.0)]
    frame = pd.DataFrame(rows, columns=["ticker", "side", "shares", "ref_price"])
    frame.insert(0, "date", pd.Timestamp(day))
    frame["notional"] = frame["shares"] * frame["ref_price"]
    frame["score"] = [0.9 - 0.1 * i for i in range(len(frame))]
    frame["target_weight"] = [0.05 if s == "buy" else 0.0 for s in frame["side"]]
    frame["sector"] = "Technology"
    frame["reason"] = ["rebalance" if s == "buy" else "stop_loss" for s in frame["side"]]
    return frame


def new_request(
    store: ApprovalStore,
    day: date = DAY,
    frame: pd.DataFrame | None = None,
    source: str = "trade_proposals/2024-12-31@1",
) -> RequestRow:
    req, created = store.create_request(
        day,
        proposal(day) if frame is None else frame,
        source=source,
        expires_at=default_expiry(day),
        actor="sensor",
        channel="dagster",
    )
    assert created
    return req


def decide_at(url: str, request_id: str, decision: str, who: str, start: float) -> bool:
    """Run in another process: wait for a shared start time, then decide; True if it won."""
    store = ApprovalStore(url, create=False)
    while time.time() < start:
        time.sleep(0.001)
    if decision == "approve":
        won = store.approve(request_id, actor=who, channel="cli", market_now=BEFORE_OPEN).won
    else:
        won = store.reject(request_id, actor=who, channel="cli").won
    store.dispose()
    return won
