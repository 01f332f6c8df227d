"""The warehouse's migrations on SQLite and on the real PostgreSQL server.

Upgrade from empty, upgrade from the previous release with rows in it, downgrade of the
latest, the drift check (models vs. a database at head), first use per environment,
concurrent first use, and the ``investor-mimic db`` command.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from investor_mimic.approval.store import ApprovalStore
from investor_mimic.cli import main
from investor_mimic.core import migrate, schema
from investor_mimic.core.warehouse import Warehouse
from investor_mimic.settings import get_settings

HEAD = migrate.head()
PREVIOUS = migrate.revisions()[-2]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'wh' / 'warehouse.db'}"
    return str(request.getfixturevalue("pg_url"))


def columns(url: str, table: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return {column["name"] for column in sa.inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_chain_is_linear_and_covers_every_table() -> None:
    assert migrate.revisions() == ["0001", "0002", "0003", "0004"]
    assert {"raw_prices", "approval_requests", "approval_audit", "paper_orders"} <= (
        schema.table_names()
    )


def test_upgrade_from_empty_reaches_head_without_drift(url: str) -> None:
    assert migrate.status(url).current is None
    assert migrate.upgrade(url) == (None, HEAD)
    status = migrate.status(url)
    assert status.ok, status.differences
    assert tables(url) == schema.table_names() | {migrate.VERSION_TABLE}
    assert migrate.upgrade(url) == (HEAD, HEAD)  # a second upgrade does nothing


def test_upgrade_from_the_previous_release_keeps_its_rows(url: str) -> None:
    migrate.upgrade(url, PREVIOUS)
    assert "valid_from" not in columns(url, "raw_universe")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO approval_audit (at, action, actor, channel) "
                "VALUES (:at, 'kill_switch_on', 'ops', 'cli')"
            ),
            {"at": datetime(2026, 1, 2, 9, 30)},
        )
        conn.execute(
            sa.text("INSERT INTO raw_universe VALUES ('AAA', '0000000001', 'C1', 'A', 'Tech')")
        )
    assert migrate.upgrade(url) == (PREVIOUS, HEAD)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT actor FROM approval_audit")).scalars().all() == ["ops"]
        spans = conn.execute(sa.text("SELECT ticker, valid_from, valid_to FROM raw_universe"))
        assert [tuple(row) for row in spans] == [("AAA", None, None)]  # listed throughout
    engine.dispose()
    assert migrate.status(url).ok


def test_downgrade_of_the_latest_keeps_each_tickers_latest_span(url: str) -> None:
    migrate.upgrade(url)
    ApprovalStore(url).set_kill_switch(True, actor="ops", channel="cli", reason="test")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO raw_universe (ticker, cik, cusip, name, sector, valid_from, valid_to) "
                "VALUES ('AAA', '1', 'C1', 'A', 'Tech', NULL, :change), "
                "('AAA', '1', 'C1', 'A', 'Energy', :after, NULL), "
                "('BBB', '2', 'C2', 'B', 'Tech', NULL, NULL)"
            ),
            {"change": datetime(2023, 5, 31), "after": datetime(2023, 6, 1)},
        )
    engine.dispose()
    assert migrate.downgrade(url) == (HEAD, PREVIOUS)
    assert "valid_from" not in columns(url, "raw_universe")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT ticker, sector FROM raw_universe ORDER BY ticker"))
        assert [tuple(row) for row in rows] == [("AAA", "Energy"), ("BBB", "Tech")]
    engine.dispose()
    assert ApprovalStore(url, create=False).kill_switch().enabled  # earlier rows survive
    assert migrate.upgrade(url) == (PREVIOUS, HEAD)  # and up again
    assert migrate.downgrade(url, "base") == (HEAD, None)
    assert tables(url) <= {migrate.VERSION_TABLE}


def test_drift_between_models_and_migrations_is_reported(url: str) -> None:
    """A column the models have and no migration created is a difference (and vice versa)."""
    migrate.upgrade(url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE paper_clock ADD COLUMN note TEXT"))
    engine.dispose()
    found = migrate.status(url).differences
    assert any("remove_column" in d and "paper_clock" in d for d in found), found


def test_sql_model_tables_are_not_drift(url: str) -> None:
    wh = Warehouse(url, upgrade=True)
    wh.execute("CREATE TABLE filer_portfolio_weights (x INTEGER)")
    assert migrate.status(url).ok


def test_development_upgrades_on_first_use(url: str) -> None:
    Warehouse(url).replace_rows(
        "raw_prices",
        pd.DataFrame(
            {
                "date": [pd.Timestamp("2024-01-02")],
                "ticker": ["AAA"],
                "open": [1.0],
                "high": [1.0],
                "low": [1.0],
                "close": [1.0],
                "volume": [10.0],
            }
        ),
        {"date": date(2024, 1, 2)},
    )
    assert migrate.status(url).current == HEAD


def test_staging_refuses_an_unmigrated_warehouse_and_names_the_command(url: str) -> None:
    with pytest.raises(migrate.MigrationError, match="run `investor-mimic db upgrade`"):
        Warehouse(url, upgrade=False)
    migrate.upgrade(url, PREVIOUS)
    with pytest.raises(migrate.MigrationError, match=f"revision {PREVIOUS}, this release needs"):
        Warehouse(url, upgrade=False)
    migrate.upgrade(url)
    Warehouse(url, upgrade=False)  # at head: fine


def test_a_revision_from_a_newer_release_is_refused(url: str) -> None:
    migrate.upgrade(url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = '0999'"))
    engine.dispose()
    with pytest.raises(migrate.MigrationError, match="0999, which this release does not know"):
        Warehouse(url, upgrade=True)


def test_a_warehouse_made_before_migrations_is_refused_not_guessed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE raw_prices (date TIMESTAMP, ticker TEXT)"))
    engine.dispose()
    with pytest.raises(migrate.MigrationError, match="created before migrations"):
        Warehouse(url, upgrade=True)


def test_concurrent_first_use_migrates_once(url: str) -> None:
    """Four openers of an empty warehouse at once: one migrates, none fails."""
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: Warehouse(url, upgrade=True), range(4)))
    assert migrate.status(url).ok


def db(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str, *args: str):
    """``investor-mimic db ARGS`` against ``url``: (exit code, stdout, stderr)."""
    monkeypatch.setenv("IM_WAREHOUSE_URL", url)
    get_settings.cache_clear()
    try:
        code = main(["db", *args])
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_db_command_upgrades_checks_and_downgrades(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = db(monkeypatch, capsys, url, "check")
    assert (code, "not at head" in out) == (1, True), out
    code, out, err = db(monkeypatch, capsys, url, "upgrade")
    assert (code, f"empty -> {HEAD}" in out) == (0, True), err
    assert db(monkeypatch, capsys, url, "current")[1].startswith(f"{HEAD} (at head)")
    code, out, _ = db(monkeypatch, capsys, url, "check")
    assert (code, "no drift" in out) == (0, True), out
    assert db(monkeypatch, capsys, url, "downgrade")[0] == 0
    assert db(monkeypatch, capsys, url, "current")[1].startswith(f"{PREVIOUS} (not at head")


def test_the_db_command_hides_the_password_of_an_unreachable_server(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "postgresql+psycopg2://im:s3cret-pw@127.0.0.1:1/nowhere"
    code, out, err = db(monkeypatch, capsys, url, "upgrade")
    assert code == 2
    assert "s3cret-pw" not in out + err
    assert "127.0.0.1:1" in err
