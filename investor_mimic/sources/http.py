"""A polite HTTP session: identity header, a request-rate ceiling, bounded retries.

Why one wrapper: EDGAR bans clients that exceed 10 requests/s or omit a User-Agent,
Alpha Vantage's free tier allows 5 requests/minute, and every real service drops the
odd request. All source clients share this one place that paces requests, retries
what is worth retrying (429, 5xx, connection errors and timeouts, honouring
``Retry-After``) and turns everything else into a typed, one-line error.
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from pyrate_limiter import (
    AbstractBucket,
    Limiter,
    Rate,
    RedisStateStore,
    SingleBucketFactory,
    SQLiteBucket,
    StateBucket,
    TokenBucket,
)

if TYPE_CHECKING:
    from redis import Redis
    from requests_cache import CachedSession

    from investor_mimic.settings import Settings

#: requests-cache's ``NEVER_EXPIRE`` (keep for good), for cache rules. Why not imported
#: from requests-cache: it and redis are imported only where a cache or a Redis client is
#: made, so processes on the offline demo sources (the code location, the evening's runs)
#: never load them (a test checks the value).
NEVER_EXPIRE = -1

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
    """At most ``rate`` acquisitions per ``per`` seconds, evenly spaced, counted in a
    pyrate-limiter bucket: in memory (one process), or a SQLite file / Redis key that
    every process on the machine (or every machine on the Redis) shares.

    Why even spacing (one request per ``per / rate`` seconds) rather than a bursty
    bucket: the SEC and Alpha Vantage both count requests in sliding windows; spacing
    every request apart can never exceed the ceiling in any window, whatever the
    callers' concurrency.

    Why polling with non-blocking attempts rather than pyrate-limiter's blocking wait:
    the blocking wait stamps the retried item with the time it *planned* to wake, so a
    process that wakes late (a busy machine) records a request earlier than it sent
    it and another process may then go too soon. Each non-blocking attempt stamps the
    real time.
    """

    def __init__(
        self,
        rate: float,
        *,
        per: float = 1.0,
        bucket: AbstractBucket | None = None,
        name: str = "default",
    ) -> None:
        if rate <= 0 or per <= 0:
            raise ValueError(f"rate limit must be positive, got {rate} per {per}s")
        self.interval = per / rate
        self.name = name
        self.rates = spacing_rates(rate, per)
        # in memory: a token bucket (constant state, nothing to clean up); only a log
        # bucket (SQLite) needs pyrate-limiter's background thread that trims old entries
        self.bucket = bucket if bucket is not None else StateBucket(self.rates, TokenBucket())
        if isinstance(self.bucket, StateBucket):
            self._limiter = Limiter(SingleBucketFactory(self.bucket, schedule_leak=False), 0)
        else:  # also takes the bucket's cross-process lock (SQLite: a file lock)
            self._limiter = Limiter(self.bucket, buffer_ms=0)
        self._poll = min(max(self.interval / 10, 0.001), 0.25)

    def acquire(self) -> None:
        """Block until this caller's slot has come."""
        # timeout=0: one attempt, never the library's own sleep-and-retry (see above);
        # blocking=False would hand filelock a bool where it wants seconds
        while not self._limiter.try_acquire(self.name, blocking=True, timeout=0):
            time.sleep(self._poll)


def spacing_rates(rate: float, per: float = 1.0) -> list[Rate]:
    """One acquisition per ``per / rate`` seconds, rounded up to whole milliseconds."""
    return [Rate(1, max(1, math.ceil(per * 1000 / rate)))]


REDIS_KEY_PREFIX = "investor_mimic"


@dataclass(frozen=True)
class HttpStore:
    """Where HTTP state shared across runs and processes lives: the response cache and
    the rate-limit buckets.

    Default: SQLite files under ``root`` (``cache.sqlite``, ``ratelimit.sqlite``; WAL
    and a file lock make them safe for concurrent processes). With ``redis_url``: both
    in Redis (keys under ``prefix``), which also spans machines.
    """

    root: Path
    redis_url: str | None = None
    prefix: str = REDIS_KEY_PREFIX

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpStore:
        return cls(settings.data_dir / "http", settings.redis_url)

    @property
    def backend(self) -> str:
        """``sqlite:<dir>`` or the Redis URL without credentials (for logs and metadata)."""
        if self.redis_url is None:
            return f"sqlite:{self.root}"
        parts = urlsplit(self.redis_url)
        netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))

    def redis(self) -> Redis:
        if self.redis_url is None:
            raise ValueError("no Redis URL configured")
        return _redis_client(self.redis_url)

    def limiter(self, name: str, rate: float, per: float = 1.0) -> RateLimiter:
        """The shared limiter of service ``name`` (one per process and configuration)."""
        return _shared_limiter(self, name, rate, per)

    def cached_session(self, expire_after: Mapping[str, int]) -> CachedSession:
        """A requests-cache session: responses to URLs matching a pattern of
        ``expire_after`` are kept that many seconds (``NEVER_EXPIRE``: for good);
        every other URL and every non-200 answer is never cached."""
        from requests_cache import DO_NOT_CACHE, CachedSession, RedisCache
        from requests_cache.policy.settings import DEFAULT_IGNORED_PARAMS

        common: dict[str, Any] = {
            "expire_after": DO_NOT_CACHE,
            "urls_expire_after": dict(expire_after),
            "allowable_codes": (200,),
            "allowable_methods": ("GET",),
            "ignored_parameters": (*DEFAULT_IGNORED_PARAMS, *SECRET_PARAMS),
            "stale_if_error": False,
        }
        if self.redis_url is not None:
            # JSON, not pickle: a network store must never hand this process code to run
            backend = RedisCache(
                namespace=f"{self.prefix}:http_cache",
                connection=self.redis(),
                serializer="json",
            )
            return CachedSession(backend=backend, **common)
        self.root.mkdir(parents=True, exist_ok=True)
        return CachedSession(
            str(self.root / "cache.sqlite"),
            backend="sqlite",
            wal=True,
            busy_timeout=30_000,
            **common,
        )


@lru_cache(maxsize=8)
def _redis_client(url: str) -> Redis:
    from redis import Redis

    return Redis.from_url(url)


@lru_cache(maxsize=32)
def _shared_limiter(store: HttpStore, name: str, rate: float, per: float) -> RateLimiter:
    rates = spacing_rates(rate, per)
    bucket: AbstractBucket
    if store.redis_url is not None:
        # a token bucket (GCRA) kept as one timestamp and advanced by an atomic Lua
        # script: unlike the sorted-set log, a client whose clock read lands a hair
        # before another's cannot slip in beside it
        bucket = StateBucket(
            rates,
            algorithm=TokenBucket(),
            store=RedisStateStore(store.redis(), f"{store.prefix}:ratelimit:{name}"),
        )
    else:
        store.root.mkdir(parents=True, exist_ok=True)
        bucket = SQLiteBucket.init_from_file(
            rates,
            table=f"rate_{name}",
            db_path=str(store.root / "ratelimit.sqlite"),
            create_new_table=True,
            use_file_lock=True,
        )
    return RateLimiter(rate, per=per, bucket=bucket, name=name)


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


def _is_cached(session: requests.Session) -> TypeGuard[CachedSession]:
    """Whether ``session`` is a requests-cache session (there is none before requests-cache
    is imported, and importing it to ask would load it on the demo sources)."""
    module = sys.modules.get("requests_cache")
    return module is not None and isinstance(session, module.CachedSession)


class PoliteSession:
    """``requests.Session`` with a User-Agent, a rate limiter, retries and timeouts.

    ``backoff`` seconds doubles per failed attempt (with full jitter) up to ``max_wait``;
    a ``Retry-After`` header overrides the computed delay, still capped at ``max_wait``.
    Every attempt that reaches the network, retries included, passes through the rate
    limiter. With a ``session`` from :meth:`HttpStore.cached_session`, a response the
    cache holds is answered without touching the limiter or the server.
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
        session: requests.Session | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self.limiter = limiter
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_wait = max_wait
        self.timeout = timeout
        self._session = session if session is not None else requests.Session()
        self._session.headers.update({"User-Agent": user_agent, **(headers or {})})

    def cached(self, url: str, params: Mapping[str, Any] | None = None) -> requests.Response | None:
        """The cached response for ``url`` if the cache holds a fresh one, else None."""
        if not _is_cached(self._session):
            return None
        response = self._session.get(url, params=params, timeout=self.timeout, only_if_cached=True)
        # a miss is a synthetic 504 (only 200s are ever stored)
        hit = getattr(response, "from_cache", False) and response.status_code == 200
        return response if hit else None

    def backoff_delay(self, attempt: int) -> float:
        """Seconds to wait after the ``attempt``-th failure (1-based): jittered exponential."""
        ceiling = min(self.max_wait, self.backoff * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)  # nosec B311 # backoff jitter, not a secret

    def get(self, url: str, params: Mapping[str, Any] | None = None) -> requests.Response:
        """GET ``url``; returns a 2xx response or raises an :class:`HttpError` subclass."""
        hit = self.cached(url, params)
        if hit is not None:
            return hit
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
