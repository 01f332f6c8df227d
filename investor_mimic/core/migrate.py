"""Migrating the warehouse with Alembic: upgrade, downgrade, current revision, drift check.

Why Alembic through its API (no ``alembic.ini``, no ``env.py``): the migrations ship
inside the package (:mod:`investor_mimic.core.migrations`) and the URL comes from the
settings, so ``investor-mimic db ...``, the deploy workflow and the first use of a
development warehouse all run the same code. The revision is kept in
``warehouse_alembic_version``, a name that cannot meet another tool's ``alembic_version``
in a shared database.

Why one transaction with a lock: several processes (the Dagster daemon, run workers,
the web app) may open a new development warehouse at once. The whole upgrade runs in
one transaction — ``BEGIN IMMEDIATE`` on SQLite (its DDL is transactional), under an
advisory lock on PostgreSQL — and reads the revision only once it holds the lock, so
the first process migrates and the others find the work done.

First use (:func:`ensure_current`): development upgrades an empty or older warehouse by
itself; staging and production refuse to run against a warehouse that is not at this
release's head and say which command migrates it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory

from investor_mimic.core import schema
from investor_mimic.core.warehouse import normalise_url

VERSION_TABLE = "warehouse_alembic_version"
SCRIPT_LOCATION = Path(__file__).with_name("migrations")
UPGRADE_COMMAND = "investor-mimic db upgrade"
#: pg_advisory_xact_lock key of warehouse migrations (any constant shared by all processes)
_PG_LOCK = 7_311_942_051


class MigrationError(RuntimeError):
    """The warehouse is not at the schema this code needs, or a migration cannot run."""


@dataclass(frozen=True)
class Status:
    """Where a warehouse stands: its revision, this release's head, and drift."""

    current: str | None
    head: str
    differences: tuple[str, ...] = ()

    @property
    def at_head(self) -> bool:
        return self.current == self.head

    @property
    def ok(self) -> bool:
        return self.at_head and not self.differences


def safe_url(url: str | sa.URL) -> str:
    """The URL without its password (for messages and logs)."""
    return sa.make_url(str(url) if isinstance(url, sa.URL) else url).render_as_string(
        hide_password=True
    )


def config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    cfg.set_main_option("version_table", VERSION_TABLE)
    return cfg


@cache
def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(config())


def head() -> str:
    """This release's head revision (the chain is linear: one head)."""
    return str(scripts().get_current_head())


def revisions() -> list[str]:
    """Every revision, oldest first."""
    return [r.revision for r in reversed(list(scripts().walk_revisions()))]


def _engine(url: str) -> sa.Engine:
    """An engine for migrating: SQLite takes the write lock at BEGIN and waits 30 s for it."""
    url = normalise_url(url)
    if not url.startswith("sqlite"):
        return sa.create_engine(url, poolclass=sa.pool.NullPool)
    database = sa.make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30}, poolclass=sa.pool.NullPool)
    begin_immediate(engine)
    return engine


def begin_immediate(engine: sa.Engine) -> None:
    """SQLite: take the write lock at BEGIN (SQLAlchemy's documented pysqlite recipe).

    Why: a deferred transaction that reads, then writes, can meet another writer and
    fail with SQLITE_BUSY at its first write; IMMEDIATE makes writers queue instead.
    """

    @sa.event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _immediate(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def _locked(url: str) -> Iterator[sa.Connection]:
    """One transaction holding the warehouse's migration lock."""
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
            yield conn
    finally:
        engine.dispose()


def _missing_file(url: str) -> bool:
    """A SQLite URL whose file does not exist yet (an empty warehouse, not an error)."""
    parsed = sa.make_url(normalise_url(url))
    database = parsed.database
    return (
        parsed.get_backend_name() == "sqlite"
        and bool(database)
        and database != ":memory:"
        and not Path(str(database)).exists()
    )


def _current(conn: sa.Connection) -> str | None:
    heads = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    found = heads.get_current_heads()
    if len(found) > 1:
        raise MigrationError(f"the warehouse has several migration heads {found}")
    return found[0] if found else None


def _run(url: str, destination: str, *, direction: str) -> tuple[str | None, str | None]:
    """Upgrade or downgrade to ``destination``; returns (revision before, revision after)."""
    script = scripts()

    def steps(rev: Any, _context: Any) -> Any:
        if direction == "upgrade":
            return script._upgrade_revs(destination, rev)
        return script._downgrade_revs(destination, rev)

    with _locked(url) as conn:
        before = _current(conn)
        env = EnvironmentContext(config(), script, fn=steps, destination_rev=destination)
        env.configure(
            connection=conn,
            target_metadata=schema.metadata(),
            version_table=VERSION_TABLE,
            compare_type=True,
        )
        with env.begin_transaction():
            env.run_migrations()
        return before, _current(conn)


def upgrade(url: str, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate the warehouse at ``url`` up to ``revision`` (default: this release's head)."""
    with _errors(url):
        return _run(url, revision, direction="upgrade")


def downgrade(url: str, revision: str = "-1") -> tuple[str | None, str | None]:
    """Migrate down to ``revision`` (default: one step; ``base`` drops every table)."""
    with _errors(url):
        return _run(url, revision, direction="downgrade")


@contextmanager
def _errors(url: str) -> Iterator[None]:
    """Alembic's and the driver's errors as one line naming the warehouse (no password)."""
    from alembic.util.exc import CommandError

    try:
        yield
    except CommandError as exc:
        raise MigrationError(f"{safe_url(url)}: {exc}") from exc
    except sa.exc.DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise MigrationError(f"{safe_url(url)}: {reason}") from exc


def _ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Compare only the warehouse schema's tables (not SQL models, not other tools')."""
    if type_ == "table":
        return name in schema.table_names()
    table = getattr(obj, "table", None)
    return table is None or table.name in schema.table_names()


def differences(conn: sa.Connection) -> list[str]:
    """What Alembic's autogenerate would change to make the database match the models."""
    ctx = MigrationContext.configure(
        conn,
        opts={
            "version_table": VERSION_TABLE,
            "compare_type": True,
            "include_object": _ours,
        },
    )
    return [_describe(d) for d in compare_metadata(ctx, schema.metadata())]


def _describe(diff: Any) -> str:
    if isinstance(diff, list):  # column modifications come as a list of tuples
        return "; ".join(_describe(d) for d in diff)
    kind, *rest = diff
    shown = []
    for part in rest:
        name = getattr(part, "name", None)
        table = getattr(getattr(part, "table", None), "name", None)
        shown.append(f"{table}.{name}" if table and name else str(name or part))
    return f"{kind} {' '.join(shown)}"


def status(url: str, *, compare: bool = True) -> Status:
    """The warehouse's revision, the head, and (``compare``) drift from the models at head."""
    if _missing_file(url):
        return Status(None, head())
    engine = sa.create_engine(normalise_url(url), poolclass=sa.pool.NullPool)
    try:
        with _errors(url), engine.connect() as conn:
            current = _current(conn)
            found = tuple(differences(conn)) if compare and current == head() else ()
    finally:
        engine.dispose()
    return Status(current, head(), found)


def environment_allows_upgrade() -> bool:
    """Development migrates on first use; staging and production only by the command.

    Reads ``IM_ENVIRONMENT`` through the settings (development when unset).
    """
    from investor_mimic.settings import get_settings

    return get_settings().environment == "development"


def ensure_current(engine: sa.Engine, *, upgrade_allowed: bool | None = None) -> None:
    """Make sure the warehouse behind ``engine`` is at this release's head.

    Below head (or empty): upgrade when allowed (``None``: development only), else raise
    :class:`MigrationError` naming the command. Cheap when at head: one query.
    """
    url = engine.url.render_as_string(hide_password=False)
    current, legacy = None, False
    if not _missing_file(url):
        with _errors(url), engine.connect() as conn:
            current = _current(conn)
            legacy = current is None and bool(
                set(sa.inspect(conn).get_table_names()) & schema.table_names()
            )
    target = head()
    if current == target:
        return
    where = safe_url(url)
    if current is not None and current not in revisions():
        raise MigrationError(
            f"the warehouse {where} is at revision {current}, which this release does not "
            f"know (a newer release migrated it); deploy that release, or downgrade the "
            f"warehouse with it to {target}"
        )
    if legacy:
        raise MigrationError(
            f"the warehouse {where} holds tables created before migrations (no "
            f"{VERSION_TABLE}); move it aside (or, on the demo world, delete it) and run "
            f"`{UPGRADE_COMMAND}`"
        )
    if upgrade_allowed is None:
        upgrade_allowed = environment_allows_upgrade()
    if not upgrade_allowed:
        raise MigrationError(
            f"the warehouse {where} is at revision {current or 'none (empty)'}, this release "
            f"needs {target}: run `{UPGRADE_COMMAND}`"
        )
    upgrade(url, "head")
