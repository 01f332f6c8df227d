"""The Dagster instance and daemon checks of ``investor-mimic status`` on a real instance."""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._daemon.types import DaemonHeartbeat  # the daemon's own record

from investor_mimic.defs.instance import prepare_home
from investor_mimic.defs.ops.health import daemon_check, instance_check
from investor_mimic.settings import Settings


def test_the_instance_and_its_daemon_heartbeat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    settings = Settings(data_dir=tmp_path)
    missing = instance_check(settings, False)
    assert missing.status == "down" and "dagster.yaml" in missing.detail

    home = prepare_home(tmp_path / "dagster_home", postgres=False)
    assert instance_check(settings, False).status == "ok"
    silent = daemon_check(settings, False)
    assert (silent.status, silent.required) == ("down", False)  # development: optional

    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_daemon_heartbeat(DaemonHeartbeat(time.time(), "SENSOR", None, None))
    beating = daemon_check(settings, False)
    assert beating.status == "ok" and beating.info["daemons"] == ["SENSOR"]
