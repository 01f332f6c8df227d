"""The local instance's SQLite storage commits without an fsync per event; nothing else does."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from investor_mimic.defs.instance import close_keepers, relax_sqlite_sync

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


def test_closing_dagsters_per_event_connection_no_longer_checkpoints_the_wal(
    tmp_path: Path,
) -> None:
    """Dagster opens and closes a connection per event; the last one to close a WAL
    database checkpoints it and deletes the WAL file. A kept connection stops that."""

    def write_once(path: Path) -> None:
        engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)
        with engine.begin() as conn:
            conn.execute(sa.text("PRAGMA journal_mode=WAL"))
            conn.execute(sa.text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
            conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        engine.dispose()

    plain = tmp_path / "plain.db"
    write_once(plain)
    assert not plain.with_name("plain.db-wal").exists()  # checkpointed and removed

    home = tmp_path / "home"
    home.mkdir()
    relax_sqlite_sync(home)
    kept = home / "run.db"
    write_once(kept)  # first connection: found in WAL mode only now, a keeper opens
    write_once(kept)
    assert kept.with_name("run.db-wal").exists()
    close_keepers()
    assert not kept.with_name("run.db-wal").exists()  # the keeper's close checkpoints
    engine = sa.create_engine(f"sqlite:///{kept}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar_one() == 2
