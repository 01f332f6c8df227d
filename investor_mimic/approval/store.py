"""The approval store: requests, their orders and fills, the audit log and the kill switch.

Why every state change is one conditional UPDATE inside one transaction: two people (or
a person and the expiry) deciding the same request at once must produce exactly one
decision. ``UPDATE ... WHERE id = :id AND status = 'pending'`` lets the database pick the
winner — on PostgreSQL the loser's UPDATE waits for the winner's row lock and then
matches nothing; on SQLite every transaction here starts with ``BEGIN IMMEDIATE`` so
writers queue instead of failing with "database is locked" half-way. The audit row is
written in the same transaction as the change it describes, so neither exists alone.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import sqlalchemy as sa

from investor_mimic.approval import tables as t
from investor_mimic.approval.states import (
    ORDER_AT_BROKER,
    ORDER_OPEN,
    RequestStatus,
    TransitionError,
    check_transition,
)
from investor_mimic.broker.models import Order, Position, client_order_id
from investor_mimic.core.migrate import begin_immediate, ensure_current
from investor_mimic.core.warehouse import normalise_url

KILL_SWITCH = "kill_switch"
PROPOSAL_COLUMNS = ("ticker", "side", "shares")


class UnknownRequestError(KeyError):
    """No approval request has this id."""

    def __str__(self) -> str:
        return f"no approval request {self.args[0]!r}"


class ProposalError(ValueError):
    """A proposal cannot become a request (bad rows); nothing was written."""


def utcnow() -> datetime:
    """Now, UTC, naive (how the ``*_at`` columns store it)."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class OrderRow:
    seq: int
    ticker: str
    side: str
    shares: float
    client_order_id: str
    status: str
    ref_price: float | None = None
    notional: float | None = None
    score: float | None = None
    target_weight: float | None = None
    sector: str | None = None
    proposal_reason: str | None = None
    broker_order_id: str | None = None
    filled_qty: float = 0.0
    filled_avg_price: float | None = None
    submitted_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class FillRow:
    client_order_id: str
    ticker: str
    side: str
    qty: float
    price: float
    cum_qty: float
    recorded_at: datetime


@dataclass(frozen=True)
class RequestRow:
    id: str
    proposal_date: date
    source: str
    status: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    decided_by: str | None
    decided_via: str | None
    decided_at: datetime | None
    reason: str | None
    broker: str | None
    version: int
    orders: tuple[OrderRow, ...] = ()
    fills: tuple[FillRow, ...] = ()

    def order(self, seq: int) -> OrderRow:
        return next(o for o in self.orders if o.seq == seq)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: what ``approvals list/show --json`` print."""

        def plain(v: Any) -> Any:
            return v.isoformat() if isinstance(v, date | datetime) else v

        out = {k: plain(v) for k, v in self.__dict__.items() if k not in ("orders", "fills")}
        out["orders"] = [{k: plain(v) for k, v in o.__dict__.items()} for o in self.orders]
        out["fills"] = [{k: plain(v) for k, v in f.__dict__.items()} for f in self.fills]
        return out


@dataclass(frozen=True)
class CheckRow:
    """One risk-limit check a proposal passed or failed; ``seq`` None = the whole request."""

    name: str
    passed: bool
    detail: str | None = None
    seq: int | None = None


@dataclass(frozen=True)
class LinkRow:
    """A signed approval link that was sent (the token itself is never stored)."""

    id: str
    request_id: str
    action: str
    recipient: str
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None
    used_by: str | None


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    request_id: str | None
    action: str
    from_state: str | None
    to_state: str | None
    actor: str
    channel: str
    detail: str | None


@dataclass(frozen=True)
class Decision:
    """What a decision attempt did. ``won`` is False when the request was not pending
    (someone else decided first, it expired, or it was never approvable)."""

    request_id: str
    won: bool
    status: str
    message: str


@dataclass(frozen=True)
class KillSwitch:
    enabled: bool
    source: Literal["setting", "flag", "off"]
    changed_by: str | None = None
    changed_at: datetime | None = None
    reason: str | None = None

    def describe(self) -> str:
        if self.source == "setting":
            return "kill switch ON (setting IM_KILL_SWITCH=true)"
        if self.enabled:
            why = f": {self.reason}" if self.reason else ""
            since = f"{self.changed_at:%Y-%m-%d %H:%M} UTC"
            return f"kill switch ON since {since} by {self.changed_by}{why}"
        return "kill switch off"


@dataclass(frozen=True)
class Claim:
    """The outcome of asking to execute a request: ``ok`` means this caller may send orders."""

    ok: bool
    status: str
    message: str
    resumed: bool = False


def _none(v: Any) -> Any:
    """NaN / NaT / pandas scalars → plain Python, None for missing."""
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if v is pd.NaT:
        return None
    if hasattr(v, "item"):
        v = v.item()
        if isinstance(v, float) and math.isnan(v):
            return None
    return v


def request_id_for(proposal_date: date, source: str) -> str:
    """Short, typable and deterministic: the same proposal always gets the same id."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:6]
    return f"{proposal_date:%Y%m%d}-{digest}"


def _limit_checks(value: Any) -> dict[str, bool]:
    """A proposal row's optional ``limit_checks`` (mapping or JSON text) as name → passed."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return {}
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else {}
    if not isinstance(value, dict):
        raise ProposalError(f"limit_checks {value!r} is not a mapping of check name to passed")
    return {str(k): bool(v) for k, v in value.items()}


def orders_from_proposal(request_id: str, proposal: pd.DataFrame) -> list[dict[str, Any]]:
    """Validate proposal rows and turn them into order rows, sells first.

    Refuses (ProposalError) rather than guesses: a missing column, a side other than
    buy/sell, a non-positive or non-finite share count, or two orders for one
    (ticker, side) — the latter would share a client_order_id.
    """
    missing = [c for c in PROPOSAL_COLUMNS if c not in proposal.columns]
    if missing:
        raise ProposalError(f"proposal lacks column(s) {missing}")
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, rec in enumerate(proposal.to_dict("records")):
        ticker = str(_none(rec.get("ticker")) or "").strip().upper()
        side = str(_none(rec.get("side")) or "").strip().lower()
        shares = _none(rec.get("shares"))
        if not ticker:
            problems.append(f"row {i}: empty ticker")
        if side not in ("buy", "sell"):
            problems.append(f"row {i} ({ticker}): side {rec.get('side')!r} is not buy/sell")
        if not isinstance(shares, int | float) or not math.isfinite(shares) or shares <= 0:
            problems.append(f"row {i} ({ticker}): shares {rec.get('shares')!r} is not > 0")
        if ticker in seen:
            problems.append(f"row {i}: more than one order for {ticker}")
        seen.add(ticker)
        rows.append(
            {
                "ticker": ticker,
                "side": side,
                "shares": float(shares) if isinstance(shares, int | float) else 0.0,
                "ref_price": _none(rec.get("ref_price")),
                "notional": _none(rec.get("notional")),
                "score": _none(rec.get("score")),
                "target_weight": _none(rec.get("target_weight")),
                "sector": _none(rec.get("sector")),
                "proposal_reason": _none(rec.get("reason")),
                "limit_checks": _limit_checks(rec.get("limit_checks")),
            }
        )
    if problems:
        raise ProposalError("; ".join(problems))
    rows.sort(key=lambda r: r["side"] != "sell")  # stable: sells first, then buys
    for seq, row in enumerate(rows):
        row["request_id"] = request_id
        row["seq"] = seq
        row["client_order_id"] = client_order_id(request_id, row["ticker"], row["side"])
        row["status"] = "proposed"
        row["filled_qty"] = 0.0
    return rows


class ApprovalStore:
    """Requests, orders, fills, audit and the kill switch in one warehouse database.

    ``create``: make a SQLite file's folder and bring the schema to head as every first
    use of the warehouse does (:func:`~investor_mimic.core.migrate.ensure_current`);
    False opens the database as it is (health checks, a second handle in tests).
    """

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = normalise_url(url)
        if self.url.startswith("sqlite") and create:
            database = sa.engine.make_url(self.url).database
            if database and database != ":memory:":  # a fresh data dir: make the folder
                Path(database).parent.mkdir(parents=True, exist_ok=True)
        if self.url.startswith("sqlite"):
            # 30 s busy timeout: writers wait for each other rather than fail
            self.engine = sa.create_engine(self.url, connect_args={"timeout": 30})
            begin_immediate(self.engine)
        else:
            self.engine = sa.create_engine(self.url, pool_pre_ping=True)
        if create:
            ensure_current(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as conn:
            yield conn

    # ------------------------------------------------------------------ audit
    @staticmethod
    def _audit(
        conn: sa.Connection,
        *,
        action: str,
        actor: str,
        channel: str,
        request_id: str | None = None,
        from_state: str | None = None,
        to_state: str | None = None,
        detail: str | None = None,
    ) -> None:
        conn.execute(
            t.audit.insert().values(
                at=utcnow(),
                request_id=request_id,
                action=action,
                from_state=from_state,
                to_state=to_state,
                actor=actor,
                channel=channel,
                detail=detail,
            )
        )

    def audit_log(self, request_id: str | None = None) -> pd.DataFrame:
        query = sa.select(t.audit).order_by(t.audit.c.id)
        if request_id is not None:
            query = query.where(t.audit.c.request_id == request_id)
        with self.engine.connect() as conn:
            return pd.DataFrame(conn.execute(query).mappings().all(), columns=t.audit.c.keys())

    # ---------------------------------------------------------------- reading
    def _request(self, conn: sa.Connection, request_id: str, *, lock: bool = False) -> Any:
        query = sa.select(t.requests).where(t.requests.c.id == request_id)
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).mappings().first()
        if row is None:
            raise UnknownRequestError(request_id)
        return row

    def _load(self, conn: sa.Connection, rows: Sequence[Any]) -> list[RequestRow]:
        ids = [r["id"] for r in rows]
        if not ids:
            return []
        order_rows = conn.execute(
            sa.select(t.orders)
            .where(t.orders.c.request_id.in_(ids))
            .order_by(t.orders.c.request_id, t.orders.c.seq)
        ).mappings()
        fill_rows = conn.execute(
            sa.select(t.fills).where(t.fills.c.request_id.in_(ids)).order_by(t.fills.c.id)
        ).mappings()
        by_req: dict[str, list[OrderRow]] = {i: [] for i in ids}
        fills_by_req: dict[str, list[FillRow]] = {i: [] for i in ids}
        order_fields = set(OrderRow.__dataclass_fields__)
        fill_fields = set(FillRow.__dataclass_fields__)
        for o in order_rows:
            by_req[o["request_id"]].append(
                OrderRow(**{k: v for k, v in o.items() if k in order_fields})
            )
        for f in fill_rows:
            fills_by_req[f["request_id"]].append(
                FillRow(**{k: v for k, v in f.items() if k in fill_fields})
            )
        return [
            RequestRow(**dict(r), orders=tuple(by_req[r["id"]]), fills=tuple(fills_by_req[r["id"]]))
            for r in rows
        ]

    def get(self, request_id: str) -> RequestRow:
        with self.engine.connect() as conn:
            return self._load(conn, [self._request(conn, request_id)])[0]

    def list_requests(
        self, status: str | Iterable[str] | None = None, *, limit: int | None = None
    ) -> list[RequestRow]:
        """Requests, newest proposal first (then newest created)."""
        query = sa.select(t.requests).order_by(
            t.requests.c.proposal_date.desc(), t.requests.c.created_at.desc()
        )
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            query = query.where(t.requests.c.status.in_(wanted))
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return self._load(conn, conn.execute(query).mappings().all())

    # --------------------------------------------------------------- creating
    def create_request(
        self,
        proposal_date: date,
        proposal: pd.DataFrame,
        *,
        source: str,
        expires_at: datetime | None,
        actor: str,
        channel: str,
        checks: Sequence[CheckRow] = (),
    ) -> tuple[RequestRow, bool]:
        """One pending request for one proposal; ``(request, created)``.

        Idempotent on ``source`` (a sensor that runs twice creates nothing new). A newer
        proposal for the same day supersedes older pending ones: they expire, audited.
        ``checks`` are the proposal's request-level check results (shown on the approval
        page); per-order ones come from the proposal's ``limit_checks`` column, if any.
        """
        request_id = request_id_for(proposal_date, source)
        if "date" in proposal.columns and len(proposal):
            days = {pd.Timestamp(d).date() for d in proposal["date"].dropna().unique()}
            if days - {proposal_date}:
                raise ProposalError(f"proposal for {proposal_date} holds rows dated {sorted(days)}")
        order_rows = orders_from_proposal(request_id, proposal)
        if not order_rows:
            raise ProposalError(f"proposal for {proposal_date} has no orders to approve")
        now = utcnow()
        with self._tx() as conn:
            existing = conn.execute(
                sa.select(t.requests.c.id).where(t.requests.c.source == source)
            ).scalar()
            if existing is not None:
                return self._load(conn, [self._request(conn, existing)])[0], False
            older = conn.execute(
                sa.select(t.requests.c.id).where(
                    t.requests.c.proposal_date == proposal_date,
                    t.requests.c.status == "pending",
                )
            ).scalars()
            for old_id in list(older):
                self._move(
                    conn,
                    old_id,
                    "pending",
                    "expired",
                    actor=actor,
                    channel=channel,
                    reason=f"superseded by {request_id}",
                    action="supersede",
                )
            conn.execute(
                t.requests.insert().values(
                    id=request_id,
                    proposal_date=proposal_date,
                    source=source,
                    status="pending",
                    created_at=now,
                    updated_at=now,
                    expires_at=expires_at,
                    version=1,
                )
            )
            per_order = [
                {"request_id": request_id, "seq": r["seq"], "name": k, "passed": v}
                for r in order_rows
                for k, v in r.pop("limit_checks").items()
            ]
            conn.execute(t.orders.insert(), [{**r, "updated_at": now} for r in order_rows])
            whole = [
                {"request_id": request_id, "seq": None, "name": c.name, "passed": c.passed}
                | {"detail": c.detail}
                for c in checks
            ]
            if whole or per_order:
                conn.execute(t.checks.insert(), whole + [{**r, "detail": None} for r in per_order])
            self._audit(
                conn,
                action="create",
                actor=actor,
                channel=channel,
                request_id=request_id,
                to_state="pending",
                detail=f"{len(order_rows)} orders from {source}",
            )
            return self._load(conn, [self._request(conn, request_id)])[0], True

    # ------------------------------------------------------------ transitions
    def _move(
        self,
        conn: sa.Connection,
        request_id: str,
        current: str,
        target: str,
        *,
        actor: str,
        channel: str,
        reason: str | None = None,
        action: str | None = None,
        extra: dict[str, Any] | None = None,
        where: Any = None,
    ) -> bool:
        """``current → target`` if the request is still ``current``; audited; True if it moved."""
        check_transition(current, target)
        now = utcnow()
        query = (
            t.requests.update()
            .where(t.requests.c.id == request_id, t.requests.c.status == current)
            .values(
                status=target,
                updated_at=now,
                version=t.requests.c.version + 1,
                **({"reason": reason} if reason is not None else {}),
                **(extra or {}),
            )
        )
        if where is not None:
            query = query.where(where)
        if conn.execute(query).rowcount != 1:
            return False
        self._audit(
            conn,
            action=action or target,
            actor=actor,
            channel=channel,
            request_id=request_id,
            from_state=current,
            to_state=target,
            detail=reason,
        )
        return True

    def _expired(self, row: Any, market_now: datetime) -> bool:
        return row["expires_at"] is not None and market_now >= row["expires_at"]

    def approve(
        self,
        request_id: str,
        *,
        actor: str,
        channel: str,
        market_now: datetime,
        only: Sequence[str] | None = None,
        link: str | None = None,
    ) -> Decision:
        """pending → approved, unless it expired by ``market_now`` (then → expired).

        ``only``: approve just these tickers; the other orders are dropped in the same
        transaction. A ticker the request does not hold refuses the whole decision.
        ``link``: the id of the signed link this decision comes through; it is used up in
        the same transaction, so of many posts of one link exactly one decides.
        """
        wanted = {s.strip().upper() for s in only} if only else None
        with self._tx() as conn:
            row = self._request(conn, request_id, lock=True)
            if wanted is not None:
                tickers = set(
                    conn.execute(
                        sa.select(t.orders.c.ticker).where(t.orders.c.request_id == request_id)
                    ).scalars()
                )
                unknown = sorted(wanted - tickers)
                if unknown:
                    return Decision(
                        request_id,
                        False,
                        row["status"],
                        f"request {request_id} has no order for {', '.join(unknown)} "
                        f"(it holds {', '.join(sorted(tickers))}); nothing decided",
                    )
            if row["status"] == "pending" and self._expired(row, market_now):
                self._move(
                    conn,
                    request_id,
                    "pending",
                    "expired",
                    actor="system",
                    channel=channel,
                    reason=f"expired at {row['expires_at']:%Y-%m-%d %H:%M} (market time)",
                )
                return Decision(
                    request_id,
                    False,
                    "expired",
                    f"request {request_id} expired at {row['expires_at']:%Y-%m-%d %H:%M} "
                    "(market time); not approved",
                )
            if row["status"] == "pending" and link is not None:
                used = self._use_link(conn, link, request_id, "approve", actor)
                if used is not None:
                    return Decision(request_id, False, row["status"], used)
            moved = (
                self._move(
                    conn,
                    request_id,
                    "pending",
                    "approved",
                    actor=actor,
                    channel=channel,
                    reason=None,
                    action="approve",
                    extra={"decided_by": actor, "decided_via": channel, "decided_at": utcnow()},
                    where=sa.or_(
                        t.requests.c.expires_at.is_(None), t.requests.c.expires_at > market_now
                    ),
                )
                if row["status"] == "pending"
                else False
            )
            if not moved:
                current = self._request(conn, request_id)["status"]
                return Decision(
                    request_id, False, current, f"request {request_id} is {current}, not pending"
                )
            if wanted is not None:
                dropped = conn.execute(
                    t.orders.update()
                    .where(
                        t.orders.c.request_id == request_id,
                        t.orders.c.ticker.not_in(sorted(wanted)),
                    )
                    .values(status="dropped", updated_at=utcnow())
                ).rowcount
                self._audit(
                    conn,
                    action="approve_only",
                    actor=actor,
                    channel=channel,
                    request_id=request_id,
                    from_state="approved",
                    to_state="approved",
                    detail=f"only {', '.join(sorted(wanted))}; {dropped} order(s) dropped",
                )
            return Decision(request_id, True, "approved", f"request {request_id} approved")

    def reject(
        self,
        request_id: str,
        *,
        actor: str,
        channel: str,
        reason: str | None = None,
        link: str | None = None,
    ) -> Decision:
        """pending → rejected; ``link`` as in :meth:`approve`."""
        with self._tx() as conn:
            row = self._request(conn, request_id, lock=True)
            if row["status"] == "pending" and link is not None:
                used = self._use_link(conn, link, request_id, "reject", actor)
                if used is not None:
                    return Decision(request_id, False, row["status"], used)
            moved = self._move(
                conn,
                request_id,
                "pending",
                "rejected",
                actor=actor,
                channel=channel,
                reason=reason,
                action="reject",
                extra={"decided_by": actor, "decided_via": channel, "decided_at": utcnow()},
            )
            if not moved:
                current = self._request(conn, request_id)["status"]
                return Decision(
                    request_id, False, current, f"request {request_id} is {current}, not pending"
                )
            return Decision(request_id, True, "rejected", f"request {request_id} rejected")

    def expire_due(self, market_now: datetime, *, channel: str = "expiry") -> list[str]:
        """Expire every pending request whose deadline passed by ``market_now``."""
        with self._tx() as conn:
            due = list(
                conn.execute(
                    sa.select(t.requests.c.id).where(
                        t.requests.c.status == "pending",
                        t.requests.c.expires_at.is_not(None),
                        t.requests.c.expires_at <= market_now,
                    )
                ).scalars()
            )
            return [
                i
                for i in due
                if self._move(
                    conn,
                    i,
                    "pending",
                    "expired",
                    actor="system",
                    channel=channel,
                    reason=f"not approved before {market_now:%Y-%m-%d %H:%M} (market time)",
                )
            ]

    # -------------------------------------------------------------- execution
    def claim(
        self,
        request_id: str,
        *,
        actor: str,
        channel: str,
        market_now: datetime,
        broker: str,
        resume: bool = False,
    ) -> Claim:
        """approved → executing (once: a second claimer gets ``ok=False``).

        ``resume=True`` also takes over a request left ``executing`` by a process that
        died; that is safe because every order is looked up by its client_order_id at
        the broker before anything is sent. An approved request whose open has passed
        expires here instead: its orders were meant for that open.
        """
        with self._tx() as conn:
            row = self._request(conn, request_id, lock=True)
            status = row["status"]
            if status == "approved" and self._expired(row, market_now):
                self._move(
                    conn,
                    request_id,
                    "approved",
                    "expired",
                    actor="system",
                    channel=channel,
                    reason=f"approved but not executed before {row['expires_at']:%Y-%m-%d %H:%M}"
                    " (market time)",
                )
                return Claim(False, "expired", f"request {request_id} expired before execution")
            if status == "approved":
                self._move(
                    conn,
                    request_id,
                    "approved",
                    "executing",
                    actor=actor,
                    channel=channel,
                    action="claim",
                    extra={"broker": broker},
                )
                return Claim(True, "executing", f"request {request_id} executing on {broker}")
            if status == "executing" and resume:
                if row["broker"] not in (None, broker):
                    return Claim(
                        False,
                        status,
                        f"request {request_id} was sent to {row['broker']}, not {broker}; "
                        "resume it with that broker",
                    )
                self._audit(
                    conn,
                    action="resume",
                    actor=actor,
                    channel=channel,
                    request_id=request_id,
                    from_state="executing",
                    to_state="executing",
                )
                return Claim(True, status, f"request {request_id} resumed", resumed=True)
            hint = " (resume it explicitly)" if status == "executing" else ""
            return Claim(False, status, f"request {request_id} is {status}, not approved{hint}")

    def mark_submitting(self, request_id: str, seq: int) -> None:
        """Commit the intent to send before sending: a crash then leaves 'ask the broker'."""
        with self._tx() as conn:
            conn.execute(
                t.orders.update()
                .where(
                    t.orders.c.request_id == request_id,
                    t.orders.c.seq == seq,
                    t.orders.c.status.in_(sorted(ORDER_OPEN)),
                )
                .values(status="submitting", updated_at=utcnow())
            )

    def record_order(
        self, request_id: str, seq: int, order: Order, *, actor: str, channel: str
    ) -> None:
        """The broker's view of one order, and any new fill since the last look, atomically."""
        now = utcnow()
        with self._tx() as conn:
            prev = (
                conn.execute(
                    sa.select(t.orders).where(
                        t.orders.c.request_id == request_id, t.orders.c.seq == seq
                    )
                )
                .mappings()
                .one()
            )
            if prev["client_order_id"] != order.client_order_id:
                raise ValueError(
                    f"order {order.client_order_id} is not order {seq} of {request_id}"
                )
            conn.execute(
                t.orders.update()
                .where(t.orders.c.request_id == request_id, t.orders.c.seq == seq)
                .values(
                    status=order.status,
                    broker_order_id=order.broker_order_id,
                    filled_qty=order.filled_qty,
                    filled_avg_price=order.filled_avg_price,
                    submitted_at=order.submitted_at,
                    updated_at=now,
                    error=None,
                )
            )
            before_qty = float(prev["filled_qty"] or 0.0)
            if prev["status"] not in ORDER_AT_BROKER:
                self._audit(
                    conn,
                    action="order_accepted",
                    actor=actor,
                    channel=channel,
                    request_id=request_id,
                    detail=f"{order.side} {order.qty:g} {order.ticker} "
                    f"({order.client_order_id} → {order.broker_order_id}, {order.status})",
                )
            if order.filled_qty > before_qty + 1e-9 and order.filled_avg_price is not None:
                before_px = float(prev["filled_avg_price"] or 0.0)
                delta = order.filled_qty - before_qty
                price = (order.filled_avg_price * order.filled_qty - before_px * before_qty) / delta
                exists = conn.execute(
                    sa.select(t.fills.c.id).where(
                        t.fills.c.client_order_id == order.client_order_id,
                        t.fills.c.cum_qty == order.filled_qty,
                    )
                ).first()
                if exists is None:
                    conn.execute(
                        t.fills.insert().values(
                            request_id=request_id,
                            client_order_id=order.client_order_id,
                            ticker=order.ticker,
                            side=order.side,
                            qty=delta,
                            price=price,
                            cum_qty=order.filled_qty,
                            recorded_at=now,
                        )
                    )

    def fail(
        self,
        request_id: str,
        reason: str,
        *,
        actor: str,
        channel: str,
        refused_seq: int | None = None,
    ) -> bool:
        """executing → failed with ``reason``, in one transaction with its orders:
        the refused one (if any) says why, the ones never sent become ``not_sent``."""
        now = utcnow()
        with self._tx() as conn:
            self._request(conn, request_id, lock=True)
            if not self._move(
                conn, request_id, "executing", "failed", actor=actor, channel=channel, reason=reason
            ):
                return False
            if refused_seq is not None:
                conn.execute(
                    t.orders.update()
                    .where(t.orders.c.request_id == request_id, t.orders.c.seq == refused_seq)
                    .values(status="refused", error=reason, updated_at=now)
                )
            conn.execute(
                t.orders.update()
                .where(t.orders.c.request_id == request_id, t.orders.c.status == "proposed")
                .values(status="not_sent", updated_at=now)
            )
            return True

    def finish(
        self, request_id: str, *, actor: str, channel: str, detail: str | None = None
    ) -> bool:
        """executing → executed (every approved order is at the broker)."""
        with self._tx() as conn:
            return self._move(
                conn,
                request_id,
                "executing",
                "executed",
                actor=actor,
                channel=channel,
                reason=detail,
            )

    def record_positions(self, request_id: str, broker: str, held: Sequence[Position]) -> None:
        """The broker's positions right after this request executed (replaces the snapshot)."""
        now = utcnow()
        with self._tx() as conn:
            conn.execute(t.positions.delete().where(t.positions.c.request_id == request_id))
            if held:
                conn.execute(
                    t.positions.insert(),
                    [
                        {
                            "request_id": request_id,
                            "ticker": p.ticker,
                            "broker": broker,
                            "qty": p.qty,
                            "avg_entry_price": p.avg_entry_price,
                            "market_value": p.market_value,
                            "recorded_at": now,
                        }
                        for p in held
                    ],
                )

    def positions(self, request_id: str) -> pd.DataFrame:
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    sa.select(t.positions)
                    .where(t.positions.c.request_id == request_id)
                    .order_by(t.positions.c.ticker)
                )
                .mappings()
                .all()
            )
        return pd.DataFrame(rows, columns=t.positions.c.keys())

    # ------------------------------------------------------------------ links
    @staticmethod
    def _use_link(
        conn: sa.Connection, link_id: str, request_id: str, action: str, actor: str
    ) -> str | None:
        """Use up link ``link_id`` for ``action`` on ``request_id``; None if it was unused,
        else why not. One conditional UPDATE: of two racing users one matches a row."""
        used = conn.execute(
            t.links.update()
            .where(
                t.links.c.id == link_id,
                t.links.c.request_id == request_id,
                t.links.c.action == action,
                t.links.c.used_at.is_(None),
            )
            .values(used_at=utcnow(), used_by=actor[:120])
        ).rowcount
        return None if used == 1 else "this link was already used or is not valid for this request"

    def add_link(
        self,
        link_id: str,
        request_id: str,
        action: str,
        *,
        recipient: str,
        expires_at: datetime,
    ) -> LinkRow:
        """Record a link about to be sent (``expires_at`` UTC, naive)."""
        row = LinkRow(
            link_id, request_id, action, recipient[:120], utcnow(), expires_at, None, None
        )
        with self._tx() as conn:
            conn.execute(t.links.insert().values(**row.__dict__))
        return row

    def link(self, link_id: str) -> LinkRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.links).where(t.links.c.id == link_id)).mappings().first()
        return None if row is None else LinkRow(**dict(row))

    # ------------------------------------------------------ checks and audit
    def checks(self, request_id: str) -> list[CheckRow]:
        """The request's check results: request-level first, then per order."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.checks)
                .where(t.checks.c.request_id == request_id)
                .order_by(t.checks.c.id)
            ).mappings()
            out = [CheckRow(r["name"], bool(r["passed"]), r["detail"], r["seq"]) for r in rows]
        return sorted(out, key=lambda c: (c.seq is not None, c.seq or 0))

    def record(
        self,
        action: str,
        *,
        actor: str,
        channel: str,
        request_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Append one audit row that changes no state (a refused link, a notification)."""
        with self._tx() as conn:
            self._audit(
                conn,
                action=action,
                actor=actor[:120],
                channel=channel[:40],
                request_id=None if request_id is None else request_id[:32],
                detail=detail,
            )

    def audit_after(self, after_id: int, *, limit: int = 100) -> list[AuditRow]:
        """Audit rows with ``id > after_id``, oldest first (what the notification sensor reads)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.audit)
                .where(t.audit.c.id > after_id)
                .order_by(t.audit.c.id)
                .limit(limit)
            ).mappings()
            return [AuditRow(**dict(r)) for r in rows]

    def last_audit_id(self, *, before: datetime | None = None) -> int:
        """The newest audit row's id (of rows written before ``before``, UTC), 0 if none."""
        query = sa.select(sa.func.max(t.audit.c.id))
        if before is not None:
            query = query.where(t.audit.c.at < before)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    # ----------------------------------------------------------- kill switch
    def kill_switch(self, *, setting: bool = False) -> KillSwitch:
        """ON if the setting says so, or a person set the flag."""
        if setting:
            return KillSwitch(True, "setting")
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(t.flags).where(t.flags.c.name == KILL_SWITCH))
                .mappings()
                .first()
            )
        if row is None:
            return KillSwitch(False, "off")
        return KillSwitch(
            bool(row["enabled"]),
            "flag" if row["enabled"] else "off",
            row["changed_by"],
            row["changed_at"],
            row["reason"],
        )

    def set_kill_switch(
        self, enabled: bool, *, actor: str, channel: str, reason: str | None = None
    ) -> KillSwitch:
        now = utcnow()
        with self._tx() as conn:
            before = conn.execute(
                sa.select(t.flags.c.enabled).where(t.flags.c.name == KILL_SWITCH)
            ).scalar()
            values = {
                "enabled": enabled,
                "changed_by": actor,
                "changed_via": channel,
                "changed_at": now,
                "reason": reason,
            }
            if before is None:
                conn.execute(t.flags.insert().values(name=KILL_SWITCH, **values))
            else:
                conn.execute(t.flags.update().where(t.flags.c.name == KILL_SWITCH).values(**values))
            self._audit(
                conn,
                action="kill_switch_on" if enabled else "kill_switch_off",
                actor=actor,
                channel=channel,
                from_state=None if before is None else ("on" if before else "off"),
                to_state="on" if enabled else "off",
                detail=reason,
            )
        return self.kill_switch()


__all__ = [
    "ApprovalStore",
    "AuditRow",
    "CheckRow",
    "Claim",
    "Decision",
    "FillRow",
    "KillSwitch",
    "LinkRow",
    "OrderRow",
    "ProposalError",
    "RequestRow",
    "RequestStatus",
    "TransitionError",
    "UnknownRequestError",
    "orders_from_proposal",
    "request_id_for",
]
