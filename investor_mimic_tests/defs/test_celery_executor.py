"""Steps of a partitioned backfill spread over two Celery workers (dagster-celery), with the
Redis on 127.0.0.1 as broker and result backend.

The workers are started the documented way (``dagster-celery worker start`` with
deploy/celery/worker.yaml), each in its own process group, and stopped by that id at the
end, also on failure. A queue of this test's own on a Redis database of its own keeps
other engineers' workers and keys apart.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from redis import Redis

from investor_mimic.defs.instance import REPO
from investor_mimic_tests.helpers.celery_location import LEGS, fanout_job

REDIS = os.environ.get("IM_TEST_CELERY_REDIS_URL", "redis://127.0.0.1:6379/13")
CELERY_CLI = str(Path(sys.executable).with_name("dagster-celery"))
PARTITIONS = ("2024-01-02", "2024-01-03", "2024-01-04")


def isolated(queue: str) -> dict[str, Any]:
    """Celery settings that prefix every Redis key with ``queue:`` (kombu's and the
    result backend's ``global_keyprefix``), so the test's keys are its own to delete."""
    prefix = {"global_keyprefix": f"{queue}:"}
    return {"broker_transport_options": prefix, "result_backend_transport_options": prefix}


@pytest.fixture()
def workers(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Two workers on a fresh queue; yields (queue, DAGSTER_HOME)."""
    client = Redis.from_url(REDIS, socket_connect_timeout=2)
    try:
        client.ping()
    except Exception as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis is required under CI=true: {exc}")
        pytest.skip(f"Redis not available: {exc}")
    queue = f"im_test_{uuid.uuid4().hex[:12]}"
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.from_config(str(home)):  # storage created once, before the
        pass  # workers open it together (two processes stamping SQLite at once collide)
    env = {
        **os.environ,
        "PATH": f"{Path(CELERY_CLI).parent}{os.pathsep}{os.environ.get('PATH', '')}",  # `celery`
        "DAGSTER_HOME": str(home),
        "IM_CELERY_BROKER_URL": REDIS,
        "IM_CELERY_BACKEND_URL": REDIS,
    }
    # every key this test's broker and results write starts with the queue's name
    config = yaml.safe_load((REPO / "deploy" / "celery" / "worker.yaml").read_text())
    config["execution"]["config"]["config_source"] = isolated(queue)
    worker_yaml = tmp_path / "worker.yaml"
    worker_yaml.write_text(yaml.safe_dump(config))
    procs: list[subprocess.Popen[bytes]] = []
    logs = [tmp_path / f"worker{i}.log" for i in (1, 2)]
    try:
        for i, log in enumerate(logs, start=1):
            with log.open("wb") as out:
                procs.append(
                    subprocess.Popen(
                        [
                            CELERY_CLI, "worker", "start",
                            "-A", "dagster_celery.app",
                            "-y", str(worker_yaml),
                            "-q", queue,
                            "-n", f"worker{i}",
                            "--", "--pool=solo", "--without-gossip", "--without-mingle",
                        ],
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # its own group: the celery child goes too
                    )
                )  # fmt: skip
        deadline = time.monotonic() + 120
        while not all(b" ready." in log.read_bytes() for log in logs):
            dead = [p for p in procs if p.poll() is not None]
            assert not dead, "a worker exited:\n" + "\n".join(x.read_text()[-2000:] for x in logs)
            assert time.monotonic() < deadline, "workers not ready in 120 s"
            time.sleep(0.25)
        yield queue, home
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        stale = list(client.scan_iter(f"{queue}:*"))
        if stale:
            client.delete(*stale)
        client.close()


@pytest.mark.redis
@pytest.mark.slow  # two Celery workers and a Dagster run: ~25 s
@pytest.mark.filterwarnings("ignore:Task name .execute_plan. is already registered")
def test_a_partitioned_backfill_runs_its_steps_on_both_celery_workers(
    workers: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    queue, home = workers
    monkeypatch.setenv("IM_CELERY_BROKER_URL", REDIS)
    monkeypatch.setenv("IM_CELERY_BACKEND_URL", REDIS)
    run_config = yaml.safe_load((REPO / "deploy" / "celery" / "run_config.yaml").read_text())
    run_config["execution"]["config"]["config_source"] = {
        "task_default_queue": queue,
        **isolated(queue),
    }
    seen: dict[str, set[str]] = {}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for day in PARTITIONS:  # the backfill: one run per partition
            with dg.execute_job(
                dg.reconstructable(fanout_job),
                instance=instance,
                run_config=run_config,
                tags={"dagster/partition": day},
            ) as result:
                assert result.success
                for record in instance.all_logs(
                    result.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT
                ):
                    event = record.dagster_event
                    assert event is not None
                    worker = event.engine_event_data.metadata.get("Celery worker")
                    if worker is not None and event.step_key:
                        seen.setdefault(str(getattr(worker, "value", worker)), set()).add(
                            f"{day}/{event.step_key}"
                        )
        for leg in LEGS:
            assert instance.get_materialized_partitions(dg.AssetKey(leg)) == set(PARTITIONS)
    assert {name.split("@")[0] for name in seen} == {"worker1", "worker2"}
    steps = set().union(*seen.values())
    assert steps == {f"{day}/{leg}" for day in PARTITIONS for leg in LEGS}
    assert sum(len(s) for s in seen.values()) == len(steps)  # each step ran once
