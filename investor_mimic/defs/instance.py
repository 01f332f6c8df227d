"""Prepare DAGSTER_HOME: the environment's dagster.yaml (PostgreSQL storage when configured).

Why generated: the instance must be SQLite on a laptop and PostgreSQL in staging from
the same repository, and the database URL (a secret) must stay in the environment —
the written YAML only names the variable ``IM_DAGSTER_PG_URL``. development uses the
repository's ``dagster.yaml`` (SQLite, plus PostgreSQL when ``IM_DAGSTER_PG_URL`` is set);
staging and production use ``deploy/<environment>/dagster.yaml`` (PostgreSQL, queued runs,
concurrency pools).

Which home: ``DAGSTER_HOME`` from the environment when set, else ``<data dir>/dagster_home``
(:func:`dagster_home`). The demo, ``make ui`` and ``make check`` all resolve it here
(``python -m investor_mimic.defs.instance`` prints it), so they open the same instance.
"""

from __future__ import annotations

import atexit
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    import dagster as dg

REPO = Path(__file__).resolve().parents[2]
REPO_YAML = REPO / "dagster.yaml"
PG_URL_ENV = "IM_DAGSTER_PG_URL"


def environment_yaml(environment: str) -> Path:
    """The instance configuration file of ``environment`` in the repository."""
    return (
        REPO_YAML
        if environment == "development"
        else REPO / "deploy" / environment / "dagster.yaml"
    )


def instance_config(postgres: bool, environment: str = "development") -> dict[str, Any]:
    source = environment_yaml(environment)
    base: dict[str, Any] = (
        yaml.safe_load(source.read_text())
        if source.exists()
        else {"telemetry": {"enabled": False}, "nux": {"enabled": False}}
    )
    if postgres and "storage" not in base:
        base["storage"] = {"postgres": {"postgres_url": {"env": PG_URL_ENV}}}
    return base


def dagster_home(data_dir: Path) -> Path:
    """``DAGSTER_HOME`` from the environment, else ``<data_dir>/dagster_home`` (absolute)."""
    from_env = os.environ.get("DAGSTER_HOME")
    return Path(from_env).resolve() if from_env else (data_dir / "dagster_home").resolve()


def prepare_home(
    home: Path, postgres: bool | None = None, environment: str = "development"
) -> Path:
    """Write ``home/dagster.yaml`` of ``environment``; PostgreSQL when ``IM_DAGSTER_PG_URL``
    is set (or asked; staging and production always are).

    Written to a temporary file and renamed, so an interrupted start never leaves a
    truncated ``dagster.yaml`` behind.
    """
    if postgres is None:
        postgres = bool(os.environ.get(PG_URL_ENV))
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    tmp = home / ".dagster.yaml.tmp"
    config = instance_config(postgres, environment)
    if not postgres and not {"storage", "event_log_storage"} & set(config):
        from investor_mimic.defs import event_log  # imports Dagster; printing a home needs none

        config["event_log_storage"] = event_log.storage_config(home)
    tmp.write_text(yaml.safe_dump(config, sort_keys=True))
    os.replace(tmp, target)
    return home


def open_instance(home: Path, postgres: bool | None = None) -> dg.DagsterInstance:
    """Prepare ``home``, make it this process's DAGSTER_HOME, and open its instance.

    A SQLite instance opened here commits without waiting for the disk
    (:func:`relax_sqlite_sync`)."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(prepare_home(home, postgres))
    relax_sqlite_sync(Path(os.environ["DAGSTER_HOME"]))
    return dg.DagsterInstance.get()


_TUNED: set[str] = set()
#: One idle connection per WAL database of a tuned home (see :func:`relax_sqlite_sync`).
_KEEPERS: dict[str, sqlite3.Connection] = {}


def relax_sqlite_sync(home: Path) -> None:
    """Cheaper commits for every SQLite connection this process opens to a database under
    ``home`` (the instance's run, event-log and schedule storage):

    * ``PRAGMA synchronous=NORMAL``: at SQLite's default (``FULL``) every commit waits for
      an fsync, and Dagster writes each event in a transaction of its own;
    * one idle connection kept open per database (:data:`_KEEPERS`): Dagster opens and
      closes a connection for every event, and the last connection to close a WAL
      database checkpoints it and deletes its WAL file, so each event paid a checkpoint
      and a WAL file created and removed. With a keeper open, SQLite checkpoints every
      1,000 pages instead; the keepers close with :func:`close_keepers` (at exit).

    Why safe: the storage is in WAL mode (Dagster sets it), where ``NORMAL`` never
    corrupts the database and an application crash loses nothing committed; what it
    trades away is durability against a power cut or an operating-system crash, which may
    roll back the last events before it (the run then shows as unfinished, as after any
    crash, and is re-run). Other processes (``make ui``'s webserver and daemon) read the
    same WAL and keep SQLite's defaults for their own connections.
    """
    import sqlalchemy as sa

    root = str(home.resolve())
    if root in _TUNED:
        return
    _TUNED.add(root)
    if len(_TUNED) == 1:
        atexit.register(close_keepers)

    @sa.event.listens_for(sa.engine.Engine, "connect")
    def _tune(dbapi_connection: Any, _record: Any) -> None:
        if not isinstance(dbapi_connection, sqlite3.Connection):
            return
        main = dbapi_connection.execute("PRAGMA database_list").fetchone()
        path = str(main[2]) if main is not None else ""
        if not path.startswith(root + os.sep):
            return
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        if path not in _KEEPERS:
            mode = dbapi_connection.execute("PRAGMA journal_mode").fetchone()
            if mode is not None and str(mode[0]).lower() == "wal":
                keeper = sqlite3.connect(path, check_same_thread=False)
                keeper.execute("SELECT count(*) FROM sqlite_master").fetchone()  # joins the WAL
                _KEEPERS[path] = keeper


def close_keepers() -> None:
    """Close the idle connections :func:`relax_sqlite_sync` keeps (the last one to close a
    database checkpoints it)."""
    while _KEEPERS:
        _, keeper = _KEEPERS.popitem()
        keeper.close()


def wipe_asset_history(instance: dg.DagsterInstance) -> int:
    """Forget every asset's materializations and partitions in ``instance`` (runs stay).

    Why: after a demo world switch the stored data is gone, and the UI must not show
    the previous world's partitions as materialized. Returns how many assets it wiped.
    """
    keys = list(instance.get_asset_keys())
    if keys:
        instance.wipe_assets(keys)
    return len(keys)


def sync_dynamic_partitions(instance: dg.DagsterInstance, name: str, keys: list[str]) -> list[str]:
    """Make the dynamic partitions ``name`` exactly ``keys`` (in that order for new ones);
    return the keys removed (another demo world's filers)."""
    current = instance.get_dynamic_partitions(name)
    stale = [k for k in current if k not in set(keys)]
    for key in stale:
        instance.delete_dynamic_partition(name, key)
    remaining = set(current) - set(stale)
    instance.add_dynamic_partitions(name, [k for k in keys if k not in remaining])
    return stale


def main() -> None:
    """Print the prepared DAGSTER_HOME of this environment (``make ui``/``make check``)."""
    from investor_mimic.settings import Settings

    settings = Settings()
    print(prepare_home(dagster_home(settings.data_dir), environment=settings.environment))


if __name__ == "__main__":
    main()
