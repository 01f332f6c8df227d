"""The web app's login: one user from settings, an Argon2 password hash, signed sessions.

Why these pieces:

- **argon2-cffi** (maintained, the Password Hashing Competition winner) hashes and
  verifies; the password itself is never stored, logged or echoed. ``investor-mimic
  hash-password`` prints the hash to put into ``IM_WEB_PASSWORD_HASH``.
- **Sessions** are an itsdangerous timed signature (HMAC-SHA256, its own salt, so a
  session cookie is never a valid approval link and vice versa) over the user name and
  a random session id, in an ``HttpOnly; SameSite=Strict`` cookie (``Secure`` behind https).
- **CSRF**: a logged-in decision form carries an HMAC of the session id and the request
  id; a form from another site cannot know it (and SameSite=Strict keeps the cookie away).
- **Throttle**: too many failed logins from one address in a window answer 429 before
  the (deliberately slow) hash is even checked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SESSION_COOKIE = "im_session"
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    if not password:
        raise ValueError("empty password")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Session:
    user: str
    sid: str


class Sessions:
    """Session cookies and CSRF tokens under one key."""

    def __init__(self, secret: str, *, max_age_seconds: int = 12 * 3600) -> None:
        self.max_age = max_age_seconds
        self._serializer = URLSafeTimedSerializer(
            secret,
            salt="investor-mimic/web-session/v1",
            signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
        )
        self._csrf_key = hmac.new(secret.encode(), b"investor-mimic/csrf/v1", "sha256").digest()

    def __repr__(self) -> str:
        return "Sessions()"

    def issue(self, user: str) -> str:
        return self._serializer.dumps({"u": user, "s": secrets.token_urlsafe(16)})

    def read(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=self.max_age)
        except (BadSignature, SignatureExpired):
            return None
        if not isinstance(data, dict) or "u" not in data or "s" not in data:
            return None
        return Session(str(data["u"]), str(data["s"]))

    def csrf(self, session: Session, request_id: str) -> str:
        msg = f"{session.sid}|{request_id}".encode()
        return hmac.new(self._csrf_key, msg, "sha256").hexdigest()

    def csrf_ok(self, session: Session, request_id: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf(session, request_id), str(token))


class LoginThrottle:
    """At most ``limit`` failed logins per address per ``window`` seconds (in memory)."""

    def __init__(self, limit: int = 5, window: float = 900.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, address: str) -> deque[float]:
        q = self._failures[address]
        cutoff = time.monotonic() - self.window
        while q and q[0] < cutoff:
            q.popleft()
        return q

    def blocked(self, address: str) -> bool:
        with self._lock:
            return len(self._recent(address)) >= self.limit

    def failed(self, address: str) -> None:
        with self._lock:
            self._recent(address).append(time.monotonic())

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)


def same_user(expected: str | None, given: str) -> bool:
    """Constant-time user name comparison (False when no user is configured)."""
    if not expected:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
