"""Two processes share one SEC rate limit: what a loopback server sees (prints numbers).

Usage: python benchmarks/shared_rate_limit.py [redis://127.0.0.1:6379/0]
Rows: no shared limit (each process its own), the SQLite bucket, and Redis if given.
"""

from __future__ import annotations

import sys
import tempfile
from itertools import pairwise
from pathlib import Path

from investor_mimic.sources.http import HttpStore
from investor_mimic_tests.helpers.http_workers import run_workers
from investor_mimic_tests.helpers.loopback import Answer, LoopbackServer

RATE, PER_WORKER = 10.0, 15


def max_in_window(stamps: list[float], window: float) -> int:
    return max(sum(1 for t in stamps[i:] if t - s < window) for i, s in enumerate(stamps))


def main() -> None:
    stores: list[tuple[str, HttpStore | None]] = [
        ("none", None),
        ("sqlite", HttpStore(Path(tempfile.mkdtemp()))),
    ]
    if len(sys.argv) > 1:
        stores.append(("redis", HttpStore(Path(tempfile.mkdtemp()), sys.argv[1], "im_bench")))
    for label, store in stores:
        with LoopbackServer() as server:
            server.route("/x", lambda r: Answer(200, "ok"))
            urls = [[f"{server.url}/x?w={w}&i={i}" for i in range(PER_WORKER)] for w in range(2)]
            run_workers(store, "bench", RATE, urls)
            st = sorted(r.at for r in server.requests)
        gaps = [b - a for a, b in pairwise(st)]
        print(
            f"{label:>6}: {len(st)} requests, most in any 1 s: {max_in_window(st, 1.0)}, "
            f"span {st[-1] - st[0]:.2f} s, mean {(len(st) - 1) / (st[-1] - st[0]):.2f}/s, "
            f"smallest gap {min(gaps) * 1000:.0f} ms"
        )
        if store is not None and store.redis_url:
            store.redis().delete("im_bench:ratelimit:bench")


if __name__ == "__main__":
    main()
