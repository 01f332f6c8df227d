"""Signed, single-use approval links.

A link is ``<public_url>/approvals/<request id>?token=<token>``. The token is an
itsdangerous signature (HMAC-SHA256, key derived from ``IM_LINK_SECRET``; itsdangerous
compares signatures with :func:`hmac.compare_digest`, in constant time) over
``{"r": request id, "a": action, "x": expiry (UTC epoch), "j": link id}``.

Why each field:

- **request id and action**: a link to approve request A cannot approve request B, nor
  reject A (checked against the URL and the form, every time);
- **expiry**: refused after it, whatever the database says;
- **link id** (random): the warehouse row that makes the link **single-use**. The
  decision that uses it marks the row used in the same transaction as the state change
  (:meth:`ApprovalStore.approve` / ``reject`` with ``link=``), so of fifty posts of one
  link exactly one decides. A token whose row does not exist is refused: only links this
  system sent work, even if the key leaked to a copy of the code elsewhere.

:func:`LinkSigner.check` never changes anything: a mail scanner or link preview that
follows the link only *reads*. Every refusal names its HTTP status (403 for a link that
is not valid for this request or action, 410 for one that was valid and is no longer),
for the web app to show and audit.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeSerializer

from investor_mimic.approval.store import ApprovalStore, LinkRow, UnknownRequestError, utcnow

Action = Literal["approve", "reject"]
ACTIONS: tuple[Action, ...] = ("approve", "reject")
MIN_SECRET_LENGTH = 32


class LinkConfigError(ValueError):
    """No usable link secret: links are neither sent nor accepted."""


@dataclass(frozen=True)
class Grant:
    """A link that may be used now: for ``action`` on ``request_id``."""

    link_id: str
    request_id: str
    action: Action
    recipient: str
    expires_at: datetime  # UTC, naive


@dataclass(frozen=True)
class Refusal:
    """Why a link is refused, as the page shows it; ``code`` goes into the audit row."""

    status: Literal[403, 410]
    code: str
    message: str


def check_secret(secret: str | None) -> str:
    if not secret:
        raise LinkConfigError(
            "IM_LINK_SECRET is not set: approval links and web logins need it. Create one with\n"
            "  python -c \"import secrets; print('IM_LINK_SECRET=' + secrets.token_urlsafe(48))\""
            " >> .env"
        )
    if len(secret) < MIN_SECRET_LENGTH:
        raise LinkConfigError(f"IM_LINK_SECRET must be at least {MIN_SECRET_LENGTH} characters")
    return secret


class LinkSigner:
    """Issues and checks approval links for one store, one key and one public URL."""

    def __init__(
        self,
        store: ApprovalStore,
        secret: str,
        public_url: str,
        *,
        ttl: timedelta = timedelta(hours=24),
    ) -> None:
        self.store = store
        self.public_url = public_url.rstrip("/")
        self.ttl = ttl
        self._serializer = URLSafeSerializer(
            check_secret(secret),
            salt="investor-mimic/approval-link/v1",
            signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
        )

    def __repr__(self) -> str:  # never the key
        return f"LinkSigner({self.public_url!r})"

    # --------------------------------------------------------------- issuing
    def issue(self, request_id: str, action: Action, *, recipient: str) -> str:
        """A new link (a new warehouse row) for ``action`` on ``request_id``: the full URL.

        It expires after ``ttl`` or at the request's own expiry, whichever comes first
        (the request's expiry is market time; it is checked again at decision time).
        """
        if action not in ACTIONS:
            raise ValueError(f"unknown link action {action!r}")
        expires = (utcnow() + self.ttl).replace(microsecond=0)  # the token holds seconds
        link_id = secrets.token_urlsafe(16)
        self.store.add_link(link_id, request_id, action, recipient=recipient, expires_at=expires)
        token = self._serializer.dumps(
            {
                "r": request_id,
                "a": action,
                "x": int(expires.replace(tzinfo=UTC).timestamp()),
                "j": link_id,
            }
        )
        return f"{self.public_url}/approvals/{quote(request_id)}?token={token}"

    def issue_pair(self, request_id: str, *, recipient: str) -> dict[Action, str]:
        return {a: self.issue(request_id, a, recipient=recipient) for a in ACTIONS}

    # -------------------------------------------------------------- checking
    def check(
        self,
        token: str | None,
        request_id: str,
        *,
        actions: tuple[Action, ...] = ACTIONS,
        now: datetime | None = None,
    ) -> Grant | Refusal:
        """Is ``token`` a link this system sent, for ``request_id``, for one of ``actions``,
        unexpired, unused, and is the request still pending? Reads only."""
        if not token:
            return Refusal(403, "missing", "This page needs the link from your notification.")
        try:
            payload = self._serializer.loads(token)
        except BadSignature:
            return Refusal(403, "tampered", "This link is not valid (it was altered or cut).")
        if not isinstance(payload, dict) or not {"r", "a", "x", "j"} <= payload.keys():
            return Refusal(403, "tampered", "This link is not valid.")
        if payload["r"] != request_id:
            return Refusal(403, "wrong_request", "This link belongs to another request.")
        if payload["a"] not in actions:
            return Refusal(
                403, "wrong_action", f"This link is for '{payload['a']}', not for this decision."
            )
        now = now or utcnow()
        expires = datetime.fromtimestamp(int(payload["x"]), UTC).replace(tzinfo=None)
        if now >= expires:
            return Refusal(410, "expired", f"This link expired at {expires:%Y-%m-%d %H:%M} UTC.")
        row: LinkRow | None = self.store.link(str(payload["j"]))
        if row is None or row.request_id != request_id or row.action != payload["a"]:
            return Refusal(403, "unknown", "This link was not issued by this system.")
        if row.used_at is not None:
            return Refusal(
                410, "used", f"This link was already used at {row.used_at:%Y-%m-%d %H:%M} UTC."
            )
        try:
            req = self.store.get(request_id)
        except UnknownRequestError:
            return Refusal(403, "unknown", "This link was not issued by this system.")
        if req.status != "pending":
            who = f" by {req.decided_by} via {req.decided_via}" if req.decided_by else ""
            return Refusal(410, "decided", f"This request is already {req.status}{who}.")
        return Grant(row.id, request_id, payload["a"], row.recipient, expires)
