"""One rate limit shared by processes, and the HTTP cache, in SQLite and in Redis.

Two spawned processes (fresh interpreters, like two concurrent runs) hit one loopback
server; the server's own arrival times say how many requests landed in any second.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from redis import Redis

from investor_mimic.settings import Settings
from investor_mimic.sources.edgar import EDGAR_CACHE_SECONDS, EdgarClient, HttpEdgarTransport
from investor_mimic.sources.http import HttpStore
from investor_mimic_tests.helpers.http_workers import run_workers
from investor_mimic_tests.helpers.loopback import Answer, LoopbackServer

RATE = 10.0  # the SEC's ceiling
PER_WORKER = 6
JITTER = 0.05  # seconds of arrival-time noise the server's clock may add
IDENTITY = "Test Agent test@example.com"
DOC = "Archives/edgar/data/1067983/0000950123-24-005755.txt"
SUBMISSIONS = "submissions/CIK0001067983.json"
INDEX = "Archives/edgar/daily-index/2024/QTR2/form.20240515.idx"


def max_in_window(stamps: list[float], window: float) -> int:
    """Most requests whose arrival times fall within any half-open ``window`` seconds."""
    stamps = sorted(stamps)
    return max(sum(1 for t in stamps[i:] if t - s < window) for i, s in enumerate(stamps))


def _two_workers(server: LoopbackServer, store: HttpStore | None) -> list[float]:
    server.route("/x", lambda r: Answer(200, "ok"))
    urls = [[f"{server.url}/x?w={w}&i={i}" for i in range(PER_WORKER)] for w in range(2)]
    run_workers(store, "sec", RATE, urls)
    stamps = [r.at for r in server.requests]
    assert len(stamps) == 2 * PER_WORKER
    return stamps


def test_separate_limiters_let_two_processes_exceed_the_ceiling() -> None:
    """The control: each process keeping its own limit sends ~20 requests a second, so
    the measurement below can tell a shared limit from none."""
    with LoopbackServer() as server:
        stamps = _two_workers(server, None)
    assert max_in_window(stamps, 1.0) > RATE


def test_sqlite_bucket_holds_ten_per_second_across_processes(tmp_path: Path) -> None:
    with LoopbackServer() as server:
        stamps = _two_workers(server, HttpStore(tmp_path / "http"))
    assert max_in_window(stamps, 1.0 - JITTER) <= RATE
    assert max(stamps) - min(stamps) >= (2 * PER_WORKER - 1) / RATE * 0.9
    assert (tmp_path / "http" / "ratelimit.sqlite").is_file()


@pytest.mark.redis
def test_redis_bucket_holds_ten_per_second_across_processes(
    tmp_path: Path, redis_store_args: tuple[str, str]
) -> None:
    url, prefix = redis_store_args
    store = HttpStore(tmp_path / "http", url, prefix)
    with LoopbackServer() as server:
        stamps = _two_workers(server, store)
    assert max_in_window(stamps, 1.0 - JITTER) <= RATE
    assert max(stamps) - min(stamps) >= (2 * PER_WORKER - 1) / RATE * 0.9
    assert not (tmp_path / "http" / "ratelimit.sqlite").exists()


def _edgar_server(root: Path) -> LoopbackServer:
    server = LoopbackServer()
    server.route("/" + DOC, lambda r: Answer(200, b"<SEC-DOCUMENT>filing</SEC-DOCUMENT>"))
    server.route("/" + SUBMISSIONS, lambda r: Answer(200, {"cik": "1067983"}))
    return server


def _transport(server: LoopbackServer, store: HttpStore) -> HttpEdgarTransport:
    return HttpEdgarTransport(IDENTITY, server.url, server.url, 1000.0, store=store)


def _check_cache(store: HttpStore, tmp_path: Path) -> None:
    with _edgar_server(tmp_path) as server:
        first = _transport(server, store)
        assert first.fetch(DOC) == b"<SEC-DOCUMENT>filing</SEC-DOCUMENT>"
        assert json.loads(first.fetch(SUBMISSIONS) or b"") == {"cik": "1067983"}
        # a new transport (a new run) and a spawned process: served from the cache
        second = _transport(server, store)
        assert second.fetch(DOC) == b"<SEC-DOCUMENT>filing</SEC-DOCUMENT>"
        run_workers(
            store, "sec", 1000.0, [[f"{server.url}/{DOC}"]], cache_rules=EDGAR_CACHE_SECONDS
        )
        assert len(server.requests_to("/" + DOC)) == 1
        assert len(server.requests_to("/" + SUBMISSIONS)) == 1
        # how long each kind is kept: archive documents for good, submissions briefly
        doc = second.session.cached(f"{server.url}/{DOC}")
        subs = second.session.cached(f"{server.url}/{SUBMISSIONS}")
        assert doc is not None and doc.expires is None
        assert subs is not None and subs.expires is not None
        assert 0 < (subs.expires - subs.created_at).total_seconds() <= 600


def test_sqlite_cache_answers_repeats_without_reaching_the_server(tmp_path: Path) -> None:
    store = HttpStore(tmp_path / "http")
    _check_cache(store, tmp_path)
    assert (tmp_path / "http" / "cache.sqlite").is_file()


@pytest.mark.redis
def test_redis_cache_answers_repeats_without_reaching_the_server(
    tmp_path: Path, redis_store_args: tuple[str, str]
) -> None:
    url, prefix = redis_store_args
    _check_cache(HttpStore(tmp_path / "http", url, prefix), tmp_path)
    assert not (tmp_path / "http" / "cache.sqlite").exists()
    assert any(Redis.from_url(url).scan_iter(f"{prefix}:http_cache*"))


def test_a_missing_index_is_not_cached_so_a_late_publication_is_seen(tmp_path: Path) -> None:
    """EDGAR publishes day D's index after D ends: the 404 of an early ask must not stick."""
    index = "Description: x\n\nForm Type   Company Name   CIK   Date Filed  File Name\n----\n"
    with LoopbackServer() as server:
        server.queue("/" + INDEX, Answer(404, "not found"))
        server.route("/" + INDEX, lambda r: Answer(200, index))
        client = EdgarClient(_transport(server, HttpStore(tmp_path / "http")))
        assert client.daily_index(date(2024, 5, 15)) is None
        assert client.daily_index(date(2024, 5, 15)) == []
        assert client.daily_index(date(2024, 5, 15)) == []
        assert len(server.requests_to("/" + INDEX)) == 2  # the 404, then the index once


def test_errors_and_uncached_urls_always_reach_the_server(tmp_path: Path) -> None:
    with LoopbackServer() as server:
        server.route("/query", lambda r: Answer(200, {"Note": "throttled"}))
        transport = _transport(server, HttpStore(tmp_path / "http"))
        session = transport.session
        for _ in range(2):
            session.get(f"{server.url}/query", params={"apikey": "s3cret"})
        assert len(server.requests_to("/query")) == 2


def test_store_follows_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("IM_REDIS_URL", raising=False)
    store = HttpStore.from_settings(Settings(data_dir=tmp_path))
    assert store == HttpStore(tmp_path / "http", None)
    assert store.backend == f"sqlite:{tmp_path / 'http'}"
    monkeypatch.setenv("REDIS_URL", "redis://:pw@cache.example:6380/2")
    store = HttpStore.from_settings(Settings(data_dir=tmp_path))
    assert store.redis_url == "redis://:pw@cache.example:6380/2"
    assert store.backend == "redis://cache.example:6380/2"  # no password in logs
    monkeypatch.setenv("IM_REDIS_URL", "redis://127.0.0.1:6379/5")
    assert Settings(data_dir=tmp_path).redis_url == "redis://127.0.0.1:6379/5"
