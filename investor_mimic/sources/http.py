"""A polite HTTP session: identity header, a request-rate ceiling, bounded retries.

Why one wrapper: EDGAR bans clients that exceed 10 requests/s or omit a User-Agent,
Alpha Vantage's free tier allows 5 requests/minute, and every real service drops the
odd request. All source clients share this one place that paces requests, retries
what is worth retrying (429, 5xx, connection errors and timeouts, honouring
``Retry-After``) and turns everything else into a typed, one-line error.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SECRET_PARAMS = frozenset({"apikey", "api_key", "token", "key"})


def redacted(url: str) -> str:
    """``url`` with the values of secret query parameters masked, fit for errors and logs."""
    parts = urlsplit(url)
    query = [(k, "***" if k.lower() in SECRET_PARAMS else v) for k, v in parse_qsl(parts.query)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))


class HttpError(RuntimeError):
    """A request that did not produce a usable answer; ``url`` (secrets masked) and
    ``status`` say which."""

    def __init__(self, message: str, url: str, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class HttpStatusError(HttpError):
    """The server answered with an error status (after retries, when it was retryable)."""


class HttpNotFound(HttpStatusError):
    """404: callers decide whether a missing document is an error or an empty answer."""


class HttpConnectionError(HttpError):
    """No answer at all (refused, reset, timed out) after every attempt."""


class RateLimiter:
    """At most ``rate`` acquisitions per second, evenly spaced, shared by all threads.

    Why even spacing rather than a bursty bucket: the SEC and Alpha Vantage both count
    requests in sliding windows; spacing every request ``1/rate`` apart can never exceed
    the ceiling in any window, whatever the callers' concurrency.
    """

    def __init__(self, rate: float, *, per: float = 1.0) -> None:
        if rate <= 0 or per <= 0:
            raise ValueError(f"rate limit must be positive, got {rate} per {per}s")
        self.interval = per / rate
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Block until this caller's slot has come."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        delay = slot - now
        if delay > 0:
            time.sleep(delay)


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class PoliteSession:
    """``requests.Session`` with a User-Agent, a rate limiter, retries and timeouts.

    ``backoff`` seconds doubles per failed attempt (with full jitter) up to ``max_wait``;
    a ``Retry-After`` header overrides the computed delay, still capped at ``max_wait``.
    Every attempt, retries included, passes through the rate limiter.
    """

    def __init__(
        self,
        user_agent: str,
        limiter: RateLimiter,
        *,
        max_attempts: int = 5,
        backoff: float = 0.5,
        max_wait: float = 60.0,
        timeout: float = 30.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self.limiter = limiter
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_wait = max_wait
        self.timeout = timeout
        self._session = requests.Session()
        self._session.headers.update({"User-Agent": user_agent, **(headers or {})})

    def backoff_delay(self, attempt: int) -> float:
        """Seconds to wait after the ``attempt``-th failure (1-based): jittered exponential."""
        ceiling = min(self.max_wait, self.backoff * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    def get(self, url: str, params: Mapping[str, Any] | None = None) -> requests.Response:
        """GET ``url``; returns a 2xx response or raises an :class:`HttpError` subclass."""
        for attempt in range(1, self.max_attempts + 1):
            self.limiter.acquire()
            last = attempt == self.max_attempts
            try:
                response = self._session.get(url, params=params, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if last:
                    shown = redacted(url)
                    raise HttpConnectionError(
                        f"GET {shown}: no answer after {attempt} attempts ({type(exc).__name__})",
                        shown,
                    ) from None  # the cause's message repeats the URL with its secrets
                time.sleep(self.backoff_delay(attempt))
                continue
            status = response.status_code
            if status < 400:
                return response
            shown = redacted(response.url)
            if status == 404:
                raise HttpNotFound(f"GET {shown}: 404 not found", shown, 404)
            if status not in RETRY_STATUSES:
                raise HttpStatusError(
                    f"GET {shown}: HTTP {status} {response.reason} "
                    f"({response.text[:200].strip()!r})",
                    shown,
                    status,
                )
            if last:
                raise HttpStatusError(
                    f"GET {shown}: HTTP {status} {response.reason} after {attempt} attempts",
                    shown,
                    status,
                )
            hinted = retry_after_seconds(response.headers.get("Retry-After"))
            delay = self.backoff_delay(attempt) if hinted is None else hinted
            time.sleep(min(delay, self.max_wait))
        raise AssertionError("unreachable: the loop returns or raises")

    def close(self) -> None:
        self._session.close()
