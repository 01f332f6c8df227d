"""Worker processes for the shared-rate-limit and shared-cache tests.

Why a helper module: ``multiprocessing`` with the ``spawn`` start method (a fresh
interpreter, as a second Dagster run or a second ``investor-mimic`` command would be)
must import the worker function by module path.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Sequence
from multiprocessing.synchronize import Barrier

from investor_mimic.sources.http import HttpStore, PoliteSession, RateLimiter


def fetch_all(
    store: HttpStore | None,
    name: str,
    rate: float,
    urls: Sequence[str],
    barrier: Barrier,
    cache_rules: dict[str, int] | None = None,
) -> None:
    """GET every URL through a limiter (shared when ``store`` is given, else this
    process's own); starts when every worker is ready."""
    limiter = store.limiter(name, rate) if store else RateLimiter(rate, name=name)
    session = store.cached_session(cache_rules) if store and cache_rules is not None else None
    client = PoliteSession("Test Agent test@example.com", limiter, timeout=10, session=session)
    barrier.wait(timeout=60)
    for url in urls:
        client.get(url)
    client.close()


def run_workers(
    store: HttpStore | None,
    name: str,
    rate: float,
    url_lists: Sequence[Sequence[str]],
    cache_rules: dict[str, int] | None = None,
) -> None:
    """One spawned process per URL list, all released at once; raises if any failed."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(len(url_lists))
    procs = [
        ctx.Process(target=fetch_all, args=(store, name, rate, urls, barrier, cache_rules))
        for urls in url_lists
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    codes = [p.exitcode for p in procs]
    if codes != [0] * len(procs):
        raise AssertionError(f"worker exit codes {codes}")
