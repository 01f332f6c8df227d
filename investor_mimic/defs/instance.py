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

import os
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
    tmp.write_text(yaml.safe_dump(instance_config(postgres, environment), sort_keys=True))
    os.replace(tmp, target)
    return home


def open_instance(home: Path, postgres: bool | None = None) -> dg.DagsterInstance:
    """Prepare ``home``, make it this process's DAGSTER_HOME, and open its instance."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(prepare_home(home, postgres))
    return dg.DagsterInstance.get()


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
