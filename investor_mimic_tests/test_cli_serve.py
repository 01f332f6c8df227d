"""``investor-mimic serve`` and ``hash-password``: a real server process, a clear refusal."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from investor_mimic.approval.auth import verify_password
from investor_mimic.cli import main
from investor_mimic.defs.instance import prepare_home
from investor_mimic_tests.helpers.alpaca_fake import FakeAlpaca
from investor_mimic_tests.helpers.dagster import use_settings

LINK_SECRET = "serve-test-secret-0123456789-abcdefghijklmnop"
KEY, SECRET = "AKSERVEKEY00112233", "serveSecret-abcdefgh"


def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for var in [v for v in os.environ if v.startswith(("IM_", "ALPACA_", "SMTP_", "SLACK_"))]:
        monkeypatch.delenv(var)
    use_settings(monkeypatch, data_dir=str(tmp_path))


def test_serve_refuses_clearly_without_a_link_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _clean_env(monkeypatch, tmp_path)
    assert main(["serve", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "IM_LINK_SECRET is not set" in err and "Traceback" not in err
    monkeypatch.setenv("IM_LINK_SECRET", "short")
    use_settings(monkeypatch)
    assert main(["serve"]) == 2 and "at least 32" in capsys.readouterr().err


def test_hash_password_prints_a_hash_that_verifies(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long passphrase\n"))
    assert main(["hash-password"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("IM_WEB_PASSWORD_HASH='$argon2id$") and "a long passphrase" not in out
    assert verify_password(out.split("'")[1], "a long passphrase")
    assert not verify_password(out.split("'")[1], "another one")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_runs_the_app_in_its_own_process(tmp_path: Path) -> None:
    with FakeAlpaca(KEY, SECRET, prices={"AAA": 10.0}) as fake:
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IM_", "ALPACA_"))}
        env |= {
            "IM_DATA_DIR": str(tmp_path),
            "IM_LINK_SECRET": LINK_SECRET,
            "IM_BROKER": "alpaca",
            "IM_ALPACA_TRADING_URL": fake.url,
            "ALPACA_API_KEY": KEY,
            "ALPACA_SECRET_KEY": SECRET,
        }
        env.pop("DAGSTER_HOME", None)
        prepare_home(tmp_path / "dagster_home", postgres=False)  # the instance /health checks
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "investor_mimic.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            health = None
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    # deep: the Alpaca broker is outside the deployment, probed on request
                    health = requests.get(f"http://127.0.0.1:{port}/health?deep=1", timeout=10)
                    break
                except requests.ConnectionError:
                    time.sleep(0.1)
            assert health is not None, "the server did not come up"
            assert health.status_code == 200, health.text
            body = health.json()
            assert body["status"] == "ok"
            assert body["checks"]["broker"]["name"] == "alpaca"
            assert body["checks"]["dagster"]["status"] == "ok"
            listing = requests.get(
                f"http://127.0.0.1:{port}/approvals", allow_redirects=False, timeout=5
            )
            assert listing.status_code == 303  # the list needs a login
        finally:
            proc.send_signal(signal.SIGTERM)
            output, _ = proc.communicate(timeout=20)
    assert (
        "GET /health 200" in output and "deep=1" not in output
    )  # its own access log: paths, never query strings
    for secret in (LINK_SECRET, KEY, SECRET):
        assert secret not in output


def test_approvals_notify_prints_fresh_links_when_no_channel_is_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from investor_mimic.approval.links import Grant, LinkSigner
    from investor_mimic.approval.store import ApprovalStore
    from investor_mimic.settings import get_settings
    from investor_mimic_tests.helpers.approval import new_request

    _clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("IM_LINK_SECRET", LINK_SECRET)
    monkeypatch.setenv("IM_PUBLIC_URL", "http://127.0.0.1:8000")
    use_settings(monkeypatch)
    store = ApprovalStore(get_settings().resolved_warehouse_url)
    req = new_request(store)
    assert main(["approvals", "notify", req.id]) == 0
    out = capsys.readouterr().out
    assert "AAA" in out and "no channel configured" in out and LINK_SECRET not in out
    approve = next(w for w in out.split() if "token=" in w)
    token = approve.split("token=")[1]
    assert isinstance(LinkSigner(store, LINK_SECRET, "http://x").check(token, req.id), Grant)
    store.reject(req.id, actor="bob", channel="cli")
    assert main(["approvals", "notify", req.id]) == 1
    assert "is rejected" in capsys.readouterr().err
    store.dispose()
