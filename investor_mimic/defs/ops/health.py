"""The Dagster side of ``investor-mimic status`` and ``/health``: the instance and daemon.

Why here: only the Dagster layer imports Dagster; :mod:`investor_mimic.status` takes these
probes from its caller (the CLI, the web app started by the CLI). The instance is opened
from its ``dagster.yaml`` read-only (nothing is written, ``DAGSTER_HOME`` is left alone)
and asked for one run record: that reaches its run storage, SQLite or PostgreSQL. The
daemon (schedules, sensors, the run queue) is up when its heartbeat is recent; required
outside development, where nothing runs on a schedule without it.
"""

from __future__ import annotations

import time

import dagster as dg

from investor_mimic.core.migrate import environment_allows_upgrade
from investor_mimic.defs.instance import dagster_home
from investor_mimic.settings import Settings
from investor_mimic.status import Check, Probe

#: A daemon heartbeat older than this means the daemon is not running.
HEARTBEAT_STALE_SECONDS = 120.0


def _instance(settings: Settings) -> dg.DagsterInstance | Check:
    home = dagster_home(settings.data_dir)
    if not (home / "dagster.yaml").is_file():
        return Check(
            "dagster", "down", True, f"no dagster.yaml in {home} (make ui or the demo writes it)"
        )
    return dg.DagsterInstance.from_config(str(home))


def instance_check(settings: Settings, deep: bool) -> Check:
    opened = _instance(settings)
    if isinstance(opened, Check):
        return opened
    with opened as instance:
        instance.get_run_records(limit=1)
        storage = type(instance.run_storage).__name__
    return Check("dagster", "ok", True, f"instance storage answers ({storage})")


def daemon_check(settings: Settings, deep: bool) -> Check:
    required = not environment_allows_upgrade()  # i.e. staging and production
    opened = _instance(settings)
    if isinstance(opened, Check):
        return Check("dagster_daemon", "down", required, "no instance")
    with opened as instance:
        beats = instance.get_daemon_heartbeats()
    if not beats:
        return Check("dagster_daemon", "down", required, "no daemon heartbeat recorded")
    age = time.time() - max(b.timestamp for b in beats.values())
    info = {"heartbeat_age_s": round(age, 1), "daemons": sorted(beats)}
    if age > HEARTBEAT_STALE_SECONDS:
        return Check("dagster_daemon", "down", required, f"last heartbeat {age:.0f} s ago", info)
    return Check("dagster_daemon", "ok", required, f"heartbeat {age:.0f} s ago", info)


#: What the CLI adds to the status checks: (name, required when it raises, probe).
PROBES: tuple[tuple[str, bool, Probe], ...] = (
    ("dagster", True, instance_check),
    ("dagster_daemon", False, daemon_check),
)
