"""Shared fixtures: the real SEC filings in ../shared, a tiny demo world and one demo run
on it, PostgreSQL, Redis, Chromium.

PostgreSQL and Redis tests skip on a laptop without a server, but fail under CI=true: CI
must exercise the real services, never silently skip them.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from investor_mimic_tests.helpers.demo_run import DemoRun
from investor_mimic_tests.helpers.paths import SHARED

PG_ADMIN_URL = os.environ.get(
    "IM_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
REDIS_TEST_URL = os.environ.get("IM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _unavailable(service: str, exc: Exception) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{service} is required under CI=true: {exc}")
    pytest.skip(f"{service} not available: {exc}")


@pytest.fixture(scope="session")
def edgar_fixtures() -> Path:
    path = SHARED / "fixtures" / "edgar"
    if not path.is_dir():
        pytest.fail(f"real SEC filings not found at {path}; set IM_SHARED_DIR")
    return path


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A tiny demo world (seed 3) generated once per test session; returns its folder.

    Under pytest-xdist the workers share it: the first to take the lock generates it
    (into a temporary folder, renamed when complete), the others wait and reuse it.
    Tests only read it (a test that edits files works on a copy, ``make_sandbox``).
    """
    from filelock import FileLock

    from investor_mimic.demo import generate_world

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if worker_id != "master" else base  # the session's, all workers
    root = shared / "tiny-world" / "tiny-3"
    with FileLock(str(shared / "tiny-world.lock")):
        if not root.exists():
            partial = root.with_name("tiny-3.partial")
            shutil.rmtree(partial, ignore_errors=True)
            generate_world(partial, size="tiny", seed=3)
            partial.rename(root)
    return root


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory: pytest.TempPathFactory, tiny_world: Path) -> DemoRun:
    """``investor-mimic demo --size tiny --seed 3 --json``, run once per session in a
    subprocess on a fresh data dir (see :mod:`investor_mimic_tests.helpers.demo_run`)."""
    from investor_mimic_tests.helpers.demo_run import run_tiny_demo

    return run_tiny_demo(tmp_path_factory.mktemp("demo"), tiny_world)


@pytest.fixture()
def browser() -> str:
    """The Chromium binary (Debian's; `.ci/run` installs it)."""
    from investor_mimic_tests.helpers.webapp import chromium

    found = chromium()
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Chromium is required under CI=true (apt-get install -y chromium)")
        pytest.skip("chromium not installed")
    return found


@pytest.fixture()
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    import sqlalchemy as sa

    try:
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        _unavailable("PostgreSQL", exc)
    name = f"im_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture()
def redis_store_args() -> Iterator[tuple[str, str]]:
    """(Redis URL, a key prefix of this test's own); the prefix's keys are deleted after."""
    from redis import Redis

    client = Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except Exception as exc:
        _unavailable("Redis", exc)
    prefix = f"im_test_{uuid.uuid4().hex[:12]}"
    try:
        yield REDIS_TEST_URL, prefix
    finally:
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.hookimpl(tryfirst=True)  # before xdist's worker hook reads the marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Groups for pytest-xdist's ``--dist loadgroup`` (``make test`` runs two workers),
    and the slow mark on every test that judges the session's tiny demo run.

    A module's tests share a worker, so module-scoped fixtures and the per-process world
    caches of :mod:`investor_mimic_tests.helpers.research_world` are built once per
    module at most; every test judging the tiny demo run shares one worker, so the demo
    (the suite's longest fixture, the whole graph in a subprocess: one to two minutes)
    runs once. Those tests are slow by definition: ``make test-slow`` and ``.ci/run``
    run them, ``make test`` does not. Without xdist the group marker is inert.
    """
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "tiny_demo" in fixtures:
            item.add_marker(pytest.mark.slow)
        group = "tiny_demo" if "tiny_demo" in fixtures else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))
