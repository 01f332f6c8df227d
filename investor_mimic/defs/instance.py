"""Prepare DAGSTER_HOME: the repo's dagster.yaml, plus PostgreSQL storage when configured.

Why generated: the instance must be SQLite on a laptop and PostgreSQL in staging from
the same repository, and the database URL (a secret) must stay in the environment —
the written YAML only names the variable ``IM_DAGSTER_PG_URL``.

Which home: ``DAGSTER_HOME`` from the environment when set, else ``<data dir>/dagster_home``
(:func:`dagster_home`). The demo, ``make ui`` and ``make check`` all resolve it here
(``python -m investor_mimic.defs.instance`` prints it), so they open the same instance.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    import dagster as dg

REPO_YAML = Path(__file__).resolve().parents[2] / "dagster.yaml"
PG_URL_ENV = "IM_DAGSTER_PG_URL"


def instance_config(postgres: bool) -> dict[str, Any]:
    base: dict[str, Any] = (
        yaml.safe_load(REPO_YAML.read_text())
        if REPO_YAML.exists()
        else {"telemetry": {"enabled": False}, "nux": {"enabled": False}}
    )
    if postgres:
        base["storage"] = {"postgres": {"postgres_url": {"env": PG_URL_ENV}}}
    return base


def dagster_home(data_dir: Path) -> Path:
    """``DAGSTER_HOME`` from the environment, else ``<data_dir>/dagster_home`` (absolute)."""
    from_env = os.environ.get("DAGSTER_HOME")
    return Path(from_env).resolve() if from_env else (data_dir / "dagster_home").resolve()


def prepare_home(home: Path, postgres: bool | None = None) -> Path:
    """Write ``home/dagster.yaml``; PostgreSQL when ``IM_DAGSTER_PG_URL`` is set (or asked).

    Written to a temporary file and renamed, so an interrupted start never leaves a
    truncated ``dagster.yaml`` behind.
    """
    if postgres is None:
        postgres = bool(os.environ.get(PG_URL_ENV))
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    tmp = home / ".dagster.yaml.tmp"
    tmp.write_text(yaml.safe_dump(instance_config(postgres), sort_keys=True))
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


_RELAXED: set[str] = set()


def relax_sqlite_sync(home: Path) -> None:
    """``PRAGMA synchronous=NORMAL`` on every SQLite connection this process opens to a
    database under ``home`` (the instance's run, event-log and schedule storage).

    Why: Dagster writes each event in its own transaction on a fresh connection, and at
    SQLite's default (``FULL``) every commit waits for an fsync — about a third of the
    bookkeeping of a single-run backfill (issue 12). The storage is in WAL mode (Dagster
    sets it), where ``NORMAL`` still never corrupts the database and an application crash
    loses nothing committed; what it trades away is durability against a power cut or
    an operating-system crash, which may roll back the last events before it (the run
    then shows as unfinished, as after any crash, and is re-run). Only this process's
    connections are affected: ``make ui``'s webserver and daemon keep the default.
    """
    import sqlalchemy as sa

    root = str(home.resolve())
    if root in _RELAXED:
        return
    _RELAXED.add(root)

    @sa.event.listens_for(sa.engine.Engine, "connect")
    def _normal_sync(dbapi_connection: Any, _record: Any) -> None:
        if type(dbapi_connection).__module__ != "sqlite3":
            return
        main = dbapi_connection.execute("PRAGMA database_list").fetchone()
        if main is not None and str(main[2]).startswith(root + os.sep):
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")


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

    print(prepare_home(dagster_home(Settings().data_dir)))


if __name__ == "__main__":
    main()
