"""Execute one approved request on a broker: exactly once, however often it is retried.

The rules, in the order the code applies them:

1. **Nothing reaches the broker unless** the request is approved (or ``executing`` and
   explicitly resumed) **and** the kill switch is off. Both are read from the warehouse
   before the first broker call, so rejected, expired, pending or kill-switched requests
   never touch it.
2. **Ask before sending.** Every order is looked up by its deterministic
   ``client_order_id`` first; only an order the broker does not hold is submitted.
3. **Record the intent first.** The order row becomes ``submitting`` (committed) before
   the request goes out, so a process killed mid-flight leaves a row that says "ask
   the broker", and a rerun asks.
4. **Never resend blindly.** A timeout or 5xx is "outcome unknown": look the id up again,
   and send again only if the broker still does not have it. A 429 waits for
   ``Retry-After``. A 422 "client_order_id must be unique" means it is there: look it up.
5. **Refusals end the request.** Market closed, insufficient buying power or any other
   refusal fails the request with the broker's reason, in one transaction with its
   orders (the refused one says why, the rest become ``not_sent``).
6. The kill switch is read again before every order: flipping it stops the rest at once
   (the request stays ``executing``; resume it when the switch is off).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from investor_mimic.approval.states import ORDER_AT_BROKER
from investor_mimic.approval.store import ApprovalStore, RequestRow
from investor_mimic.broker.base import Broker
from investor_mimic.broker.models import (
    TERMINAL_STATUSES,
    BrokerError,
    DuplicateClientOrderIdError,
    Order,
    OrderOutcomeUnknownError,
    OrderRequest,
    RateLimitedError,
)

T = TypeVar("T")
# refused: not approved (or executing without resume); held: kill switch on before the start;
# halted: kill switch flipped mid-way (request stays executing)
Outcome = Literal["executed", "failed", "refused", "held", "expired", "halted"]


class ExecutionIncomplete(RuntimeError):
    """The broker stayed unreachable: some order's fate is unknown. Nothing was resent;
    the request stays ``executing`` and a resume (which asks the broker first) finishes it."""


@dataclass(frozen=True)
class ExecutionResult:
    request_id: str
    outcome: Outcome
    message: str
    request: RequestRow | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "executed"


@dataclass
class Executor:
    """Sends one request's orders to ``broker`` and records everything in ``store``.

    ``kill_switch_setting`` is the ``IM_KILL_SWITCH`` setting; the warehouse flag is read
    by the executor itself. ``sleep`` waits between attempts (tests pass a recorder).
    """

    store: ApprovalStore
    broker: Broker
    actor: str
    channel: str
    kill_switch_setting: bool = False
    max_attempts: int = 5
    backoff_seconds: float = 1.0
    max_wait_seconds: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    log: Callable[[str], None] = lambda _msg: None

    # ---------------------------------------------------------------- reads
    def _wait(self, exc: BrokerError, attempt: int) -> None:
        wait = self.backoff_seconds * (2**attempt)
        if isinstance(exc, RateLimitedError) and exc.retry_after is not None:
            wait = exc.retry_after
        wait = min(wait, self.max_wait_seconds)
        self.log(f"{exc.reason}; waiting {wait:g} s")
        self.sleep(wait)

    def _read(self, what: str, fn: Callable[[], T]) -> T:
        """A read is safe to repeat: retry rate limits and transient errors, then give up."""
        for attempt in range(self.max_attempts):
            try:
                return fn()
            except BrokerError as exc:
                if not exc.retryable or attempt == self.max_attempts - 1:
                    if exc.retryable:
                        raise ExecutionIncomplete(f"{what}: {exc.reason}") from None
                    raise
                self._wait(exc, attempt)
        raise AssertionError("unreachable")

    def _lookup(self, client_order_id: str) -> Order | None:
        return self._read(
            f"looking up {client_order_id}", lambda: self.broker.get_order(client_order_id)
        )

    # --------------------------------------------------------------- submit
    def _submit(self, request: OrderRequest) -> Order:
        """Send once; after anything but a clear answer, ask before sending again."""
        for attempt in range(self.max_attempts):
            if attempt:
                found = self._lookup(request.client_order_id)
                if found is not None:
                    self.log(f"{request.client_order_id}: the broker has it; not resent")
                    return found
            try:
                return self.broker.submit(request)
            except DuplicateClientOrderIdError:
                found = self._lookup(request.client_order_id)
                if found is None:
                    raise BrokerError(
                        f"the broker calls {request.client_order_id} a duplicate but cannot "
                        "find it; not resent"
                    ) from None
                return found
            except (RateLimitedError, OrderOutcomeUnknownError) as exc:
                self._wait(exc, attempt)
            except BrokerError as exc:
                if exc.retryable:
                    self._wait(exc, attempt)
                else:
                    raise
        found = self._lookup(request.client_order_id)
        if found is not None:
            return found
        raise ExecutionIncomplete(
            f"{request.client_order_id}: no clear answer after {self.max_attempts} attempts; "
            "not resent again"
        )

    # -------------------------------------------------------------- request
    def _kill_switch_on(self) -> str | None:
        state = self.store.kill_switch(setting=self.kill_switch_setting)
        return state.describe() if state.enabled else None

    def execute(self, request_id: str, *, resume: bool = False) -> ExecutionResult:
        """Execute ``request_id``; ``resume`` takes over one left ``executing`` by a crash.

        Raises :class:`ExecutionIncomplete` when the broker stays unreachable mid-way.
        """
        req = self.store.get(request_id)
        runnable = req.status == "approved" or (req.status == "executing" and resume)
        if not runnable:
            hint = " (resume it)" if req.status == "executing" else ""
            return ExecutionResult(
                request_id, "refused", f"request {request_id} is {req.status}{hint}", req
            )
        killed = self._kill_switch_on()
        if killed:
            self.log(f"{request_id}: {killed}; nothing sent")
            return ExecutionResult(
                request_id, "held", f"{killed}: request {request_id} not executed", req
            )
        market_now = self._read("clock", self.broker.clock).timestamp
        claim = self.store.claim(
            request_id,
            actor=self.actor,
            channel=self.channel,
            market_now=market_now,
            broker=self.broker.name,
            resume=resume,
        )
        if not claim.ok:
            outcome: Outcome = "expired" if claim.status == "expired" else "refused"
            return ExecutionResult(request_id, outcome, claim.message, self.store.get(request_id))
        self.log(claim.message)
        return self._run(request_id)

    def _run(self, request_id: str) -> ExecutionResult:
        req = self.store.get(request_id)
        for row in req.orders:
            if row.status in ORDER_AT_BROKER or row.status in ("dropped", "refused", "not_sent"):
                continue
            killed = self._kill_switch_on()
            if killed:
                self.log(f"{request_id}: {killed}; stopped before {row.client_order_id}")
                return ExecutionResult(
                    request_id,
                    "halted",
                    f"{killed}: request {request_id} stopped; resume it when the switch is off",
                    self.store.get(request_id),
                )
            existing = self._lookup(row.client_order_id)
            if existing is None:
                self.store.mark_submitting(request_id, row.seq)
                request = OrderRequest(row.client_order_id, row.ticker, row.side, row.shares)  # type: ignore[arg-type]
                try:
                    existing = self._submit(request)
                except ExecutionIncomplete:
                    raise
                except BrokerError as exc:
                    self.store.fail(
                        request_id,
                        exc.reason,
                        actor=self.actor,
                        channel=self.channel,
                        refused_seq=row.seq,
                    )
                    self.log(f"{request_id} failed: {exc.reason}")
                    self._sync(request_id, quiet=True)
                    return ExecutionResult(
                        request_id, "failed", exc.reason, self.store.get(request_id)
                    )
                self.log(
                    f"sent {row.side} {row.shares:g} {row.ticker} as {row.client_order_id} "
                    f"({existing.status})"
                )
            else:
                self.log(f"{row.client_order_id} already at the broker ({existing.status})")
            self.store.record_order(
                request_id, row.seq, existing, actor=self.actor, channel=self.channel
            )
        self._sync(request_id, quiet=True)
        req = self.store.get(request_id)
        rejected = [o for o in req.orders if o.status == "rejected"]
        if rejected:
            reason = "the broker rejected " + ", ".join(f"{o.side} {o.ticker}" for o in rejected)
            self.store.fail(request_id, reason, actor=self.actor, channel=self.channel)
            return ExecutionResult(request_id, "failed", reason, self.store.get(request_id))
        sent = sum(o.status in ORDER_AT_BROKER for o in req.orders)
        self.store.finish(
            request_id,
            actor=self.actor,
            channel=self.channel,
            detail=f"{sent} order(s) at {self.broker.name}",
        )
        return ExecutionResult(
            request_id,
            "executed",
            f"request {request_id}: {sent} order(s) at {self.broker.name}",
            self.store.get(request_id),
        )

    def _sync(self, request_id: str, *, quiet: bool = False) -> None:
        """Fetch the broker's state of the request's open orders (fills) and positions."""
        try:
            req = self.store.get(request_id)
            for row in req.orders:
                if row.status in ORDER_AT_BROKER and row.status not in TERMINAL_STATUSES:
                    found = self._lookup(row.client_order_id)
                    if found is not None:
                        self.store.record_order(
                            request_id, row.seq, found, actor=self.actor, channel=self.channel
                        )
            held = self._read("positions", self.broker.positions)
            self.store.record_positions(request_id, self.broker.name, held)
        except (BrokerError, ExecutionIncomplete) as exc:
            if not quiet:
                raise
            self.log(f"{request_id}: could not refresh fills yet ({exc})")

    def sync(self, request_id: str) -> RequestRow:
        """Refresh the fills of an executed (or executing) request; sends nothing."""
        self._sync(request_id)
        return self.store.get(request_id)
