"""Prepare DAGSTER_HOME: the repo's dagster.yaml, plus PostgreSQL storage when configured.

Why generated: the instance must be SQLite on a laptop and PostgreSQL in staging from
the same repository, and the database URL (a secret) must stay in the environment —
the written YAML only names the variable ``IM_DAGSTER_PG_URL``.
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


def prepare_home(home: Path, postgres: bool | None = None) -> Path:
    """Write ``home/dagster.yaml``; PostgreSQL when ``IM_DAGSTER_PG_URL`` is set (or asked)."""
    if postgres is None:
        postgres = bool(os.environ.get(PG_URL_ENV))
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance_config(postgres), sort_keys=True))
    return home


def open_instance(home: Path, postgres: bool | None = None) -> dg.DagsterInstance:
    """Prepare ``home``, make it this process's DAGSTER_HOME, and open its instance."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(prepare_home(home, postgres))
    return dg.DagsterInstance.get()
