"""Plain-text views of requests, orders and fills (the CLI's tables and the sensor's log line)."""

from __future__ import annotations

from tabulate import tabulate

from investor_mimic.approval.store import RequestRow


def _when(ts: object) -> str:
    return "" if ts is None else f"{ts:%Y-%m-%d %H:%M}"


def request_table(requests: list[RequestRow]) -> str:
    if not requests:
        return "no approval requests"
    rows = [
        (
            r.id,
            r.proposal_date.isoformat(),
            r.status,
            sum(o.status != "dropped" for o in r.orders),
            len(r.fills),
            _when(r.expires_at),
            r.decided_by or "",
            (r.reason or "")[:60],
        )
        for r in requests
    ]
    headers = [
        "id",
        "proposal",
        "status",
        "orders",
        "fills",
        "expires (ET)",
        "decided by",
        "reason",
    ]
    return tabulate(rows, headers=headers, disable_numparse=True)


def orders_table(req: RequestRow) -> str:
    rows = [
        (
            o.ticker,
            o.side,
            f"{o.shares:g}",
            "" if o.ref_price is None else f"{o.ref_price:.2f}",
            o.status,
            f"{o.filled_qty:g}",
            "" if o.filled_avg_price is None else f"{o.filled_avg_price:.4f}",
            o.client_order_id,
            o.error or "",
        )
        for o in req.orders
    ]
    headers = [
        "ticker",
        "side",
        "shares",
        "ref",
        "status",
        "filled",
        "avg price",
        "client id",
        "error",
    ]
    return tabulate(rows, headers=headers, disable_numparse=True)


def fills_table(req: RequestRow) -> str:
    if not req.fills:
        return "no fills yet"
    rows = [
        (f.ticker, f.side, f"{f.qty:g}", f"{f.price:.4f}", f"{f.qty * f.price:,.2f}")
        for f in req.fills
    ]
    return tabulate(
        rows, headers=["ticker", "side", "qty", "price", "value"], disable_numparse=True
    )


def request_detail(req: RequestRow) -> str:
    head = [
        f"request   {req.id}  ({req.status})",
        f"proposal  {req.proposal_date}  from {req.source}",
        f"expires   {_when(req.expires_at) or 'never'} (market time)",
    ]
    if req.decided_by:
        head.append(
            f"decided   by {req.decided_by} via {req.decided_via} at {_when(req.decided_at)} UTC"
        )
    if req.reason:
        head.append(f"reason    {req.reason}")
    return "\n".join([*head, "", orders_table(req), "", fills_table(req)])


def approval_notice(req: RequestRow) -> str:
    """The one line a person needs: what is proposed and the exact command to approve it."""
    buys = [o for o in req.orders if o.side == "buy"]
    sells = [o for o in req.orders if o.side == "sell"]
    value = sum((o.notional or 0.0) for o in req.orders)
    return (
        f"Approval requested: {req.id} — proposal {req.proposal_date}: {len(buys)} buy(s), "
        f"{len(sells)} sell(s), ~${value:,.0f}; expires {_when(req.expires_at) or 'never'} ET. "
        f"Approve: investor-mimic approvals approve {req.id}  |  "
        f"reject: investor-mimic approvals reject {req.id}"
    )
