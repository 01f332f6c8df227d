"""PoliteSession against a real loopback server: pacing, retries, typed errors."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

import pytest

from investor_mimic.sources.http import (
    NEVER_EXPIRE,
    HttpConnectionError,
    HttpNotFound,
    HttpStatusError,
    PoliteSession,
    RateLimiter,
    redacted,
    retry_after_seconds,
)
from investor_mimic_tests.helpers.loopback import Answer, LoopbackServer


def max_in_window(stamps: list[float], window: float) -> int:
    """Most requests whose arrival times fall within any half-open ``window`` seconds."""
    stamps = sorted(stamps)
    return max(sum(1 for t in stamps[i:] if t - s < window) for i, s in enumerate(stamps))


def session(**kw: object) -> PoliteSession:
    opts: dict = {"max_attempts": 3, "backoff": 0.01, "max_wait": 1.0, "timeout": 5.0}
    opts.update(kw)
    rate = opts.pop("rate", 1000.0)
    return PoliteSession("Test Agent test@example.com", RateLimiter(rate), **opts)


def test_rate_limit_holds_across_threads_measured_by_the_server() -> None:
    with LoopbackServer() as server:
        server.route("/x", lambda r: Answer(200, "ok"))
        s = session(rate=20.0)  # 50 ms apart
        threads = [
            threading.Thread(target=lambda: [s.get(f"{server.url}/x") for _ in range(4)])
            for _ in range(4)
        ]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stamps = [r.at for r in server.requests]
    assert len(stamps) == 16
    assert time.monotonic() - start >= 15 * 0.05 - 0.01
    # no 0.25 s window may hold more than 5 requests at 20/s (allowing 50 ms of jitter)
    assert max_in_window(stamps, 0.25 - 0.05) <= 5


def test_user_agent_and_extra_headers_are_sent() -> None:
    with LoopbackServer() as server:
        server.route("/ua", lambda r: Answer(200, "ok"))
        session(headers={"X-Extra": "1"}).get(f"{server.url}/ua", params={"q": "a b"})
        (request,) = server.requests
    assert request.headers["user-agent"] == "Test Agent test@example.com"
    assert request.headers["x-extra"] == "1"
    assert request.query == {"q": "a b"}


def test_429_is_retried_after_the_retry_after_delay() -> None:
    with LoopbackServer() as server:
        server.queue("/r", Answer(429, "slow down", {"Retry-After": "1"}))
        server.route("/r", lambda r: Answer(200, "fine"))
        response = session(backoff=0.001, max_wait=5.0).get(f"{server.url}/r")
        first, second = server.requests
    assert response.text == "fine"
    assert second.at - first.at >= 0.95  # Retry-After honoured, not the 1 ms backoff


def test_5xx_exhausting_retries_raises_a_one_line_error_with_url_and_status() -> None:
    with LoopbackServer() as server:
        server.route("/boom", lambda r: Answer(500, "internal"))
        with pytest.raises(HttpStatusError) as info:
            session(max_attempts=3).get(f"{server.url}/boom")
        assert len(server.requests) == 3
    err = info.value
    assert err.status == 500
    assert err.url.endswith("/boom")
    assert "500" in str(err) and "/boom" in str(err) and "3 attempts" in str(err)
    assert "\n" not in str(err)


def test_client_errors_are_not_retried_and_404_is_its_own_type() -> None:
    with LoopbackServer() as server:
        server.route("/forbidden", lambda r: Answer(403, "no user agent"))
        with pytest.raises(HttpStatusError) as info:
            session().get(f"{server.url}/forbidden")
        assert info.value.status == 403 and "no user agent" in str(info.value)
        with pytest.raises(HttpNotFound):
            session().get(f"{server.url}/missing")
        assert len(server.requests) == 2


def test_a_dead_port_gives_a_connection_error_after_bounded_attempts() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(HttpConnectionError, match=r"no answer after 2 attempts"):
        session(max_attempts=2).get(f"http://127.0.0.1:{port}/x")


def test_retry_after_parses_seconds_and_http_dates() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


def test_secrets_are_masked_in_shown_urls() -> None:
    shown = redacted("https://x.test/query?function=NEWS&apikey=S3CRET&tickers=A%2CB")
    assert shown == "https://x.test/query?function=NEWS&apikey=***&tickers=A%2CB"


def test_rate_limiter_rejects_non_positive_rates() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)


def test_never_expire_is_requests_caches_own() -> None:
    import requests_cache

    assert NEVER_EXPIRE == requests_cache.NEVER_EXPIRE


def test_the_demo_sources_load_no_http_cache_redis_or_alpaca() -> None:
    """The code location imports the sources; on the demo world it needs none of these."""
    code = (
        "import sys, investor_mimic.sources.backends, investor_mimic.defs.sources.retry; "
        "print(sorted(m for m in ('alpaca', 'redis', 'requests_cache') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
