"""A real ``dagster-webserver`` and ``dagster-daemon`` on loopback, and a GraphQL client.

Why the real server: the UI facts under test (check status per partition, run origins,
owners and code references) are what the webserver's GraphQL API serves the browser,
computed by the webserver and its code server from the instance and the code location.
Why the real daemon: a run launched from the UI is queued (QueuedRunCoordinator) and only
the daemon starts it; schedules and sensors tick only in the daemon.

Each process starts in a new session (its own process group, which its code servers
join) with SIGINT/SIGTERM at their defaults — a shell that starts pytest in the
background leaves SIGINT ignored, and children inherit that — and is stopped by its PID's
group in a ``finally``: SIGTERM, then SIGKILL after 15 s.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

STARTUP_TIMEOUT_S = 300


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class GraphQL:
    url: str

    def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        response = requests.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables}, timeout=300
        )
        response.raise_for_status()
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return dict(body["data"])


LOCATIONS = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""


#: ``python -c WRAPPER program args…``: SIGINT and SIGTERM back to their default actions,
#: then exec the program (dispositions survive exec; an ignored one would stay ignored).
#: A wrapper rather than ``preexec_fn``, which is unsafe while the test process has threads.
WRAPPER = (
    "import os, signal, sys; "
    "signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "signal.signal(signal.SIGTERM, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


@contextmanager
def process_group(
    args: list[str], cwd: Path, env: Mapping[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """``args`` as the leader of a new process group (output to ``log``); on exit, the
    whole group is stopped by the leader's PID, also when the body raised."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", WRAPPER, *args],
            cwd=cwd,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # pgid == pid; its code servers join the group
        )
    try:
        yield proc
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the group of ``proc`` (pgid = its PID), SIGKILL after 15 s."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=15)  # the webserver and the daemon need about 6 s
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    with suppress(ProcessLookupError):  # the group's other members (code servers) too
        os.killpg(proc.pid, signal.SIGKILL)


@contextmanager
def webserver(
    cwd: Path, env: Mapping[str, str], module: str = "investor_mimic.definitions"
) -> Iterator[GraphQL]:
    """``dagster-webserver -m module`` on a free port, until its code location has loaded."""
    port = free_port()
    log = cwd / f"webserver-{port}.log"
    executable = Path(sys.executable).parent / "dagster-webserver"
    args = [str(executable), "-m", module, "-h", "127.0.0.1", "-p", str(port)]
    with process_group(args, cwd, env, log) as proc:
        client = GraphQL(f"http://127.0.0.1:{port}")
        _wait_until_loaded(proc, client, log)
        yield client


@contextmanager
def daemon(
    cwd: Path, env: Mapping[str, str], module: str = "investor_mimic.definitions"
) -> Iterator[subprocess.Popen[bytes]]:
    """``dagster-daemon run -m module`` on the same instance (``DAGSTER_HOME`` in env)."""
    log = cwd / "daemon.log"
    executable = Path(sys.executable).parent / "dagster-daemon"
    with process_group([str(executable), "run", "-m", module], cwd, env, log) as proc:
        yield proc


def _wait_until_loaded(proc: subprocess.Popen[bytes], client: GraphQL, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"dagster-webserver exited:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(f"{client.url}/server_info", timeout=5).ok:
                entries = client(LOCATIONS)["workspaceOrError"]["locationEntries"]
                if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                    errors = [
                        e["locationOrLoadError"]
                        for e in entries
                        if e["locationOrLoadError"]["__typename"] == "PythonError"
                    ]
                    assert not errors, errors
                    return
        except requests.ConnectionError:
            pass
        time.sleep(1)
    raise AssertionError(f"dagster-webserver not ready:\n{log.read_text()[-3000:]}")
