"""The approval request state machine and the order statuses the warehouse records.

Why a table of legal moves and not ad-hoc ``if`` s: every transition in the store is one
conditional UPDATE ``... WHERE status = <from>``, and the legal pairs below are the only
ones it will attempt, so a rejected request can never become ``executing`` by any path.

::

    pending ──► approved ──► executing ──► executed
       │            │             └──────► failed
       ├──► rejected └──► expired / failed (kill switch, before any broker call)
       └──► expired
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal

from investor_mimic.core.calendar import next_trading_day

RequestStatus = Literal[
    "pending", "approved", "rejected", "expired", "executing", "executed", "failed"
]

TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"approved", "rejected", "expired"}),
    # approved → expired: the open it was meant for passed before execution started;
    # approved → failed: refused before any broker call (kill switch)
    "approved": frozenset({"executing", "expired", "failed"}),
    "executing": frozenset({"executed", "failed"}),
    "rejected": frozenset(),
    "expired": frozenset(),
    "executed": frozenset(),
    "failed": frozenset(),
}
FINAL: frozenset[str] = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)

# Order rows: "proposed" until the decision, "dropped" when approved without it (--only),
# "submitting" while its submission is in flight (the intent is committed first, so a
# crash leaves a row that says "ask the broker"), then the broker's own status, or
# "refused" (the broker said no) / "not_sent" (the request ended before its turn).
ORDER_OPEN = frozenset({"proposed", "submitting"})
ORDER_AT_BROKER = frozenset(
    {"new", "partially_filled", "filled", "canceled", "expired", "rejected"}
)
MARKET_OPEN = time(9, 30)


class TransitionError(ValueError):
    """A move the state machine does not allow (e.g. approving a rejected request)."""


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS.get(current, frozenset()):
        raise TransitionError(f"a request cannot go from {current} to {target}")


def default_expiry(proposal_day: date, rule: str = "next_open") -> datetime | None:
    """When a request for ``proposal_day`` stops being approvable.

    The project's convention: a score at D's close trades at D+1's open, so by default a
    proposal expires at that open (naive US/Eastern, like every timestamp here).
    ``"never"`` keeps it approvable until a person decides.
    """
    if rule == "never":
        return None
    if rule != "next_open":
        raise ValueError(f"unknown expiry rule {rule!r} (next_open or never)")
    return datetime.combine(next_trading_day(proposal_day), MARKET_OPEN)
