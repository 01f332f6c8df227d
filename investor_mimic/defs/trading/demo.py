"""What ``investor-mimic demo`` shows of trading: the day's proposals, the paper book and
the approval request the daemon's sensor would create.

Here, not in :mod:`investor_mimic.demo.runner`, because it evaluates Dagster's sensor and
reads assets through the IO manager; the runner itself imports no Dagster.
"""

from __future__ import annotations

from datetime import date, datetime
from datetime import time as clock_time
from typing import Any

import dagster as dg

from investor_mimic.settings import Settings

#: Where the demo's "now" stands: the evening of the last scored day.
DEMO_EVENING = clock_time(20, 0)


def pin_paper_clock(settings: Settings, day: date) -> None:
    """The paper broker's clock at D's evening: D's score is final, its orders wait for D+1."""
    _paper_broker(settings).pin_clock(datetime.combine(day, DEMO_EVENING))


def request_approval(instance: Any, settings: Settings) -> dict[str, Any]:
    """What the daemon's ``approval_requests_sensor`` would do next: one evaluation of the
    real sensor turns the new proposal into a pending request (or says why not)."""
    from investor_mimic.approval.report import approval_notice
    from investor_mimic.approval.store import ApprovalStore
    from investor_mimic.definitions import defs
    from investor_mimic.defs.approval.sensors import approval_requests_sensor
    from investor_mimic.defs.resources import build_resources

    context = dg.build_sensor_context(
        instance=instance,
        repository_def=defs.get_repository_def(),
        resources={"warehouse": build_resources(settings)["warehouse"]},
    )
    outcome = approval_requests_sensor(context)
    store = ApprovalStore(settings.resolved_warehouse_url)
    try:
        latest = store.list_requests(limit=1)
    finally:
        store.dispose()
    said = getattr(outcome, "skip_message", None) or ""
    if not latest or latest[0].id not in said:
        return {"request_id": None, "status": None, "sensor": said, "approve_command": None}
    req = latest[0]
    return {
        "request_id": req.id,
        "status": req.status,
        "expires_at": req.expires_at.isoformat() if req.expires_at else None,
        "sensor": said,
        "notice": approval_notice(req),
        "approve_command": f"investor-mimic approvals approve {req.id}",
    }


def _paper_broker(settings: Settings) -> Any:
    from investor_mimic.broker.paper import PaperBroker
    from investor_mimic.core.warehouse import Warehouse

    return PaperBroker(Warehouse(settings.resolved_warehouse_url), settings.trading)


def trading_summary(settings: Settings, instance: Any, day: date) -> dict[str, Any]:
    """The day's proposals with each order's limit checks, and the book they act on."""
    from investor_mimic.core.calendar import next_trading_day
    from investor_mimic.defs.resources import asset_io_manager
    from investor_mimic.defs.trading.checks import proposal_approvable
    from investor_mimic.portfolio import limits
    from investor_mimic.portfolio.book import book_from_frames

    io = asset_io_manager(settings)
    orders = io.read_asset(dg.AssetKey("trade_proposals"), day.isoformat())
    book = io.read_asset(dg.AssetKey("portfolio"), day.isoformat())
    proposed = book_from_frames(orders, book)
    per_order = limits.per_order(proposed, limits.check_all(proposed, settings.trading))
    approvable, reasons = proposal_approvable(instance, day)
    stocks = book[book["asset_class"] == "stock"]
    return {
        "proposal_day": day.isoformat(),
        "fills_at_open_of": next_trading_day(day).isoformat(),
        "approvable": approvable,
        "not_approvable_because": reasons,
        "proposals": [
            {
                "ticker": r.ticker,
                "side": r.side,
                "shares": float(r.shares),
                "ref_price": round(float(r.ref_price), 4),
                "notional": round(float(r.notional), 2),
                "target_weight": round(float(r.target_weight), 4),
                "score": None if r.score != r.score else round(float(r.score), 4),
                "sector": r.sector,
                "reason": r.reason,
                "limit_checks": per_order.get(str(r.ticker), {}),
            }
            for r in orders.itertuples()
        ],
        "portfolio": {
            "date": day.isoformat(),
            "equity": round(float(book["market_value"].sum()), 2),
            "cash": round(float(book.loc[book["asset_class"] == "cash", "market_value"].sum()), 2),
            "positions": [
                {
                    "ticker": r.ticker,
                    "shares": float(r.shares),
                    "avg_entry_price": round(float(r.avg_entry_price), 4),
                    "price": round(float(r.price), 4),
                    "market_value": round(float(r.market_value), 2),
                    "weight": round(float(r.weight), 4),
                }
                for r in stocks.itertuples()
            ],
        },
    }
