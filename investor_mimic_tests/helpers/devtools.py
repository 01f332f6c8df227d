"""Headless Chromium driven through the DevTools protocol (a websocket), for pages that
render with JavaScript after load, like the Dagster UI.

Why the protocol and not ``--screenshot``: the UI's asset graph appears seconds after
the page's load event (GraphQL queries, then layout), and a virtual-time budget guesses
how long; here the test waits for the content itself (text in the DOM), then captures.
The browser is a process group of its own, stopped by its PID in a ``finally``.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
import websocket

from investor_mimic_tests.helpers.webserver import process_group

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)


class Page:
    """One tab: ``call`` sends a DevTools command and returns its result."""

    def __init__(self, ws_url: str) -> None:
        self.ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True)
        self.ids = itertools.count(1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == msg_id:  # events (no id) are skipped
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def open(self, url: str, width: int, height: int) -> None:
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.call("Page.enable")
        self.call("Page.navigate", url=url)

    def wait_for_text(self, texts: list[str], timeout: float = 60.0) -> str:
        """The page's visible text once it contains every one of ``texts``."""
        deadline = time.monotonic() + timeout
        body = ""
        while time.monotonic() < deadline:
            body = self.evaluate("document.body ? document.body.innerText : ''") or ""
            if all(t in body for t in texts):
                return str(body)
            time.sleep(0.5)
        missing = [t for t in texts if t not in body]
        raise AssertionError(f"page never showed {missing}; it shows:\n{body[:2000]}")

    def wait_stable(self, expression: str, minimum: int, timeout: float = 60.0) -> int:
        """The number ``expression`` evaluates to, once it is at least ``minimum`` and
        unchanged over three polls 0.5 s apart (a graph that has finished drawing)."""
        deadline = time.monotonic() + timeout
        seen: list[int] = []
        while time.monotonic() < deadline:
            seen.append(int(self.evaluate(expression) or 0))
            if seen[-1] >= minimum and seen[-3:] == [seen[-1]] * 3:
                return seen[-1]
            time.sleep(0.5)
        raise AssertionError(f"{expression!r} never settled at >= {minimum}: {seen[-10:]}")

    def screenshot(self, path: Path) -> bytes:
        data = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        path.write_bytes(data)
        return data

    def close(self) -> None:
        self.ws.close()


@contextmanager
def chromium_page(binary: str, profile: Path) -> Iterator[Page]:
    """A headless Chromium with a fresh profile; yields its first tab."""
    profile.mkdir(parents=True, exist_ok=True)
    log = profile.parent / "chromium.log"
    args = [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"]
    with process_group(args, profile.parent, os.environ, log) as proc:
        port = _devtools_port(proc, log)
        targets = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        pages = [t for t in targets if t.get("type") == "page"]
        assert pages, targets
        page = Page(pages[0]["webSocketDebuggerUrl"])
        try:
            yield page
        finally:
            page.close()


def _devtools_port(proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> int:
    """The port Chromium printed ("DevTools listening on ws://127.0.0.1:PORT/...")."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", log.read_text())
        if found:
            return int(found.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"chromium did not start:\n{log.read_text()[-3000:]}")


def pixel_spread(png: bytes) -> float:
    """Standard deviation of the grey levels of a PNG: about 0 for a blank page."""
    from io import BytesIO

    from PIL import Image, ImageStat

    with Image.open(BytesIO(png)) as image:
        return float(ImageStat.Stat(image.convert("L")).stddev[0])
