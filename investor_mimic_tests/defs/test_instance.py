"""The local instance's SQLite storage commits without an fsync per event; nothing else does."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from investor_mimic.defs.instance import relax_sqlite_sync

FULL, NORMAL = 2, 1


def _synchronous(path: Path) -> int:
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        return int(conn.execute(sa.text("PRAGMA synchronous")).scalar_one())


def test_only_databases_under_the_dagster_home_relax_their_sync(tmp_path: Path) -> None:
    home, elsewhere = tmp_path / "dagster_home", tmp_path / "data"
    (home / "storage").mkdir(parents=True)
    elsewhere.mkdir()
    assert _synchronous(home / "storage" / "runs.db") == FULL
    relax_sqlite_sync(home)
    relax_sqlite_sync(home)  # idempotent: one listener per home
    assert _synchronous(home / "storage" / "runs.db") == NORMAL
    assert _synchronous(home / "index.db") == NORMAL
    # the warehouse and anything beside the home keep SQLite's default
    assert _synchronous(elsewhere / "warehouse.db") == FULL
    assert _synchronous(tmp_path / "dagster_home_other.db") == FULL
