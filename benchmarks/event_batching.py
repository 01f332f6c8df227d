"""Benchmark: Dagster's event batching (``DAGSTER_EVENT_BATCH_SIZE``) on a PostgreSQL instance.

What it measures: one single-run backfill of the daily sources (insider_trades, prices,
news_sentiment and their checks: ``daily_sources_job`` over a range of trading days, as
``investor-mimic demo`` runs it) on a Dagster instance in PostgreSQL (dagster-postgres),
once per batch size. A single-run backfill writes a planned and a materialization event
per partition per asset, so the event log dominates Dagster's share of the time; with
batching the run worker stores those events in batches (one transaction each) instead of
one at a time.

Each batch size runs in a fresh process on a fresh database (created and dropped here):
the universe first (not timed), then the backfill (timed). Commits are PostgreSQL's
``xact_commit`` of that database around the backfill (statistics flushed before reading).
The warehouse stays SQLite so the commits counted are the Dagster instance's.

Target (issue 11): adopt batching where it helps; it is adopted (100) in
deploy/staging|production/env.example and the K8s run launcher when the backfill with
batching takes less wall time than without.

Run: ``python benchmarks/event_batching.py [--size tiny] [--days N] [--sizes 0,100,1000]``
(needs PostgreSQL; ``IM_BENCH_PG_URL``, default postgresql+psycopg2://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from _common import bench_dir, log, print_machine, print_table, stopwatch

ADMIN_URL = os.environ.get(
    "IM_BENCH_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)


def _commits(url: str, name: str) -> int:
    import sqlalchemy as sa

    time.sleep(1.2)  # PostgreSQL 15 flushes a backend's counters at most once a second
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
        value = conn.execute(
            sa.text("SELECT xact_commit FROM pg_stat_database WHERE datname = :n"), {"n": name}
        ).scalar_one()
    engine.dispose()
    return int(value)


def one(batch: int, size: str, seed: int, days: int, pg_url: str, db: str) -> dict[str, float]:
    """In a fresh process: the universe, then the timed daily backfill; figures as a dict."""
    run_dir = bench_dir() / f"event-batching-{batch}"
    import shutil

    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    (bench_dir() / "worlds").mkdir(exist_ok=True)
    (run_dir / "worlds").symlink_to(bench_dir() / "worlds", target_is_directory=True)
    os.environ.update(
        {
            "IM_DATA_DIR": str(run_dir),
            "IM_WORLD_SIZE": size,
            "IM_WORLD_SEED": str(seed),
            "IM_WAREHOUSE_URL": f"sqlite:///{run_dir / 'warehouse.db'}",
            "IM_DAGSTER_PG_URL": pg_url,
        }
    )
    if batch:
        os.environ["DAGSTER_EVENT_BATCH_SIZE"] = str(batch)
    else:
        os.environ.pop("DAGSTER_EVENT_BATCH_SIZE", None)

    from investor_mimic.settings import Settings, remember_demo_world

    settings = Settings()
    remember_demo_world(settings)  # the definitions' partitions span this world

    from investor_mimic.core.calendar import trading_days
    from investor_mimic.defs.instance import open_instance
    from investor_mimic.defs.stages import StageRunner
    from investor_mimic.demo import ensure_world

    manifest = ensure_world(settings.world_dir, size, seed)  # type: ignore[arg-type]
    sessions = trading_days(manifest.start, manifest.end)
    sessions = sessions[-days:] if days else sessions
    first, last = f"{sessions[0]:%Y-%m-%d}", f"{sessions[-1]:%Y-%m-%d}"
    instance = open_instance(run_dir / "dagster_home", postgres=True)
    with StageRunner(instance, tags={"source": "benchmark"}) as runner:
        if not runner.run("universe_job").success:
            raise SystemExit("universe_job failed")
        before = _commits(pg_url, db)
        with stopwatch() as sw:
            result = runner.run("daily_sources_job", partition_range=(first, last))
        after = _commits(pg_url, db)
    if not result.success:
        raise SystemExit(f"daily_sources_job failed: {result.failure}")
    return {
        "batch": batch,
        "days": len(sessions),
        "seconds": sw.seconds,
        "cpu": sw.cpu,
        "events": len(instance.all_logs(result.run_id)),
        "commits": after - before,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="tiny", choices=["tiny", "demo", "large"])
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--days", type=int, default=0, help="last N trading days (0: all)")
    parser.add_argument("--sizes", default="0,100,1000", help="batch sizes; 0 = unset (off)")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--db", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.one is not None:
        url = ADMIN_URL.rsplit("/", 1)[0] + f"/{args.db}"
        print(json.dumps(one(args.one, args.size, args.seed, args.days, url, args.db)))
        return

    import sqlalchemy as sa

    print_machine()
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    rows = []
    for batch in (int(s) for s in args.sizes.split(",")):
        db = f"im_bench_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
        try:
            log(f"batch size {batch or 'unset'} ...")
            done = subprocess.run(
                [sys.executable, __file__, "--one", str(batch), "--db", db, "--size", args.size,
                 "--seed", str(args.seed), "--days", str(args.days)],
                capture_output=True, text=True, cwd=Path(__file__).parent,
            )  # fmt: skip
            if done.returncode:
                raise SystemExit(done.stderr[-3000:])
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            log(f"  {rows[-1]}")
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    admin.dispose()
    off = next((r for r in rows if r["batch"] == 0), rows[0])
    print_table(
        f"single-run backfill of the daily sources, {args.size} world, {rows[0]['days']} "
        "trading days, Dagster instance on PostgreSQL (target: batching adopted where it is "
        "faster than unset)",
        [
            (
                r["batch"] or "unset",
                r["seconds"],
                r["cpu"],
                int(r["events"]),
                int(r["commits"]),
                f"{off['seconds'] / r['seconds']:.2f}x",
            )
            for r in rows
        ],
        ["DAGSTER_EVENT_BATCH_SIZE", "wall s", "cpu s", "events", "commits", "speed-up"],
    )


if __name__ == "__main__":
    main()
