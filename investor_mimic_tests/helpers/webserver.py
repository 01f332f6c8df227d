"""A real ``dagster-webserver`` on loopback and a GraphQL client for it.

Why the real server: the UI facts under test (check status per partition, run origins,
owners and code references) are what the webserver's GraphQL API serves the browser,
computed by the webserver and its code server from the instance and the code location.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
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


@contextmanager
def webserver(
    cwd: Path, env: Mapping[str, str], module: str = "investor_mimic.definitions"
) -> Iterator[GraphQL]:
    """``dagster-webserver -m module`` on a free port, until its code location has loaded."""
    port = free_port()
    log = cwd / f"webserver-{port}.log"
    executable = Path(sys.executable).parent / "dagster-webserver"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(executable), "-m", module, "-h", "127.0.0.1", "-p", str(port)],
            cwd=cwd,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its code server joins the group; stopped together
        )
    client = GraphQL(f"http://127.0.0.1:{port}")
    try:
        _wait_until_loaded(proc, client, log)
        yield client
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


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
