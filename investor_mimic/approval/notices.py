"""What is said when a request is created, decided, expires, executes or fails, when a
run or an asset check fails, and in the daily summary.

Pure functions from a request (and the audit row of the transition) to a
:class:`~investor_mimic.approval.notify.Notice`; the channels decide how it looks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from investor_mimic.approval.notify import Notice
from investor_mimic.approval.store import AuditRow, RequestRow


def _when(ts: object) -> str:
    return "never" if ts is None else f"{ts:%Y-%m-%d %H:%M}"


def _sides(req: RequestRow) -> str:
    live = [o for o in req.orders if o.status != "dropped"]
    buys = sum(o.side == "buy" for o in live)
    sells = sum(o.side == "sell" for o in live)
    value = sum((o.notional or 0.0) for o in live)
    return f"{buys} buy(s), {sells} sell(s), ~${value:,.0f}"


def page_url(public_url: str, request_id: str) -> str:
    """The request's page for a logged-in user (no link token)."""
    return f"{public_url.rstrip('/')}/approvals/{request_id}"


def request_created(req: RequestRow, public_url: str) -> Notice:
    return Notice(
        title=f"Approve trades {req.proposal_date}? ({req.id})",
        severity="info",
        topic="approval",
        text=(
            f"Proposal {req.proposal_date}: {_sides(req)}. Nothing trades until someone "
            f"approves; the request expires {_when(req.expires_at)} (market time). "
            f"From a shell: investor-mimic approvals approve {req.id}"
        ),
        request=req,
        facts=(("request", req.id), ("expires (ET)", _when(req.expires_at))),
        with_links=True,
        page_url=page_url(public_url, req.id),
    )


def request_decided(req: RequestRow, row: AuditRow, public_url: str) -> Notice:
    state = row.to_state or req.status
    who = f" by {row.actor} via {row.channel}"
    if state == "approved":
        kept = [o.ticker for o in req.orders if o.status != "dropped"]
        text = (
            f"Request {req.id} approved{who}: {', '.join(kept)}. The execution sensor sends "
            "the orders to the broker next; a confirmation follows."
        )
    elif state == "rejected":
        text = f"Request {req.id} rejected{who}" + (f": {row.detail}" if row.detail else ".")
    else:  # expired / superseded
        text = f"Request {req.id} expired: {row.detail or 'not approved in time'}. Nothing traded."
    return Notice(
        title=f"Trades {req.proposal_date} {state} ({req.id})",
        severity="info",
        topic="decision",
        text=text,
        request=req,
        page_url=page_url(public_url, req.id),
    )


def request_executed(req: RequestRow, public_url: str) -> Notice:
    filled = sum(f.qty * f.price for f in req.fills)
    sent = [o for o in req.orders if o.broker_order_id]
    return Notice(
        title=f"Trades {req.proposal_date} executed ({req.id})",
        severity="info",
        topic="trade",
        text=(
            f"{len(sent)} order(s) at {req.broker or 'the broker'}; {len(req.fills)} fill(s) "
            f"worth ${filled:,.2f} so far."
        ),
        request=req,
        facts=tuple(
            (f"{f.side} {f.ticker}", f"{f.qty:g} @ {f.price:,.4f}") for f in req.fills[:10]
        ),
        page_url=page_url(public_url, req.id),
    )


def request_failed(req: RequestRow, public_url: str) -> Notice:
    return Notice(
        title=f"Trades {req.proposal_date} FAILED ({req.id})",
        severity="critical",
        topic="trade",
        text=f"Execution of {req.id} failed: {req.reason or 'no reason recorded'}.",
        request=req,
        page_url=page_url(public_url, req.id),
    )


def for_transition(row: AuditRow, req: RequestRow, public_url: str) -> Notice | None:
    """The notice an audit row calls for, or None (claims, resumes, link refusals, …)."""
    if row.from_state == row.to_state:
        return None
    if row.action == "create":
        return request_created(req, public_url)
    if row.to_state in ("approved", "rejected", "expired"):
        return request_decided(req, row, public_url)
    if row.to_state == "executed":
        return request_executed(req, public_url)
    if row.to_state == "failed":
        return request_failed(req, public_url)
    return None


# ------------------------------------------------------------------ alerts
def run_failed(job: str, run_id: str, message: str, *, partition: str | None = None) -> Notice:
    where = f" (partition {partition})" if partition else ""
    return Notice(
        title=f"Run failed: {job}{where}",
        severity="critical",
        topic="alert",
        text=f"Run {run_id[:8]} of {job}{where} failed: {message.strip()[:500]}",
        facts=(("job", job), ("run", run_id[:8])),
    )


@dataclass(frozen=True)
class FailedCheck:
    asset: str
    check: str
    partition: str | None
    severity: str  # "ERROR" | "WARN"
    description: str | None
    run_id: str


def checks_failed(failed: list[FailedCheck]) -> Notice:
    """One notice for a batch of failed checks: critical if any blocking (ERROR) one."""
    critical = any(f.severity == "ERROR" for f in failed)
    lines = [
        f"{f.asset}:{f.check}"
        + (f" [{f.partition}]" if f.partition else "")
        + f" {f.severity}"
        + (f" — {f.description}" if f.description else "")
        for f in failed
    ]
    return Notice(
        title=f"{len(failed)} asset check(s) failed" + (" (blocking)" if critical else ""),
        severity="critical" if critical else "warning",
        topic="alert",
        text="; ".join(lines)[:2500],
        facts=tuple((f"{f.asset}:{f.check}", f.severity) for f in failed[:10]),
    )


@dataclass(frozen=True)
class Summary:
    """What the daily summary reports; any part may be unknown (None)."""

    day: date
    equity: float | None
    cash: float | None
    daily_pnl: float | None
    unrealized_pnl: float | None
    positions: list[tuple[str, float, float]]  # ticker, qty, market value
    pending: list[RequestRow]
    executed_today: list[RequestRow]
    failed_checks: list[FailedCheck]
    broker: str | None = None
    broker_error: str | None = None


def _money(v: float | None) -> str:
    return "n/a" if v is None else f"${v:,.2f}"


def daily_summary(s: Summary, public_url: str) -> Notice:
    held = ", ".join(f"{t} {q:g} (${v:,.0f})" for t, q, v in s.positions[:20]) or "none"
    pending = ", ".join(f"{r.id} (expires {_when(r.expires_at)} ET)" for r in s.pending) or "none"
    checks = "; ".join(f"{f.asset}:{f.check} {f.severity}" for f in s.failed_checks[:20]) or "none"
    text = (
        f"Equity {_money(s.equity)}, cash {_money(s.cash)}, P&L today {_money(s.daily_pnl)}, "
        f"unrealized {_money(s.unrealized_pnl)}. Positions ({len(s.positions)}): {held}. "
        f"Pending approvals: {pending}. Executed today: "
        f"{', '.join(r.id for r in s.executed_today) or 'none'}. "
        f"Failed checks (24 h): {checks}."
    )
    if s.broker_error:
        text += f" Broker unavailable: {s.broker_error}."
    return Notice(
        title=f"Daily summary {s.day}",
        severity="warning" if s.failed_checks or s.broker_error else "info",
        topic="summary",
        text=text,
        facts=(
            ("equity", _money(s.equity)),
            ("P&L today", _money(s.daily_pnl)),
            ("positions", str(len(s.positions))),
            ("pending approvals", str(len(s.pending))),
            ("failed checks (24 h)", str(len(s.failed_checks))),
        ),
        page_url=f"{public_url.rstrip('/')}/approvals",
    )
