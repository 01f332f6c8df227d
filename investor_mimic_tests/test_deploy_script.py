"""``.github/scripts/deploy.sh``, the deploy workflow's steps, against loopback servers.

What runs here: ``credentials`` (secrets to files of mode 600, never to the log),
``health`` (the Dagster webserver's ``/server_info`` and the web app's ``/health``; a 503
fails the step) and ``notify`` (Slack webhook and the job summary). ``im`` and ``rollout``
need docker and a cluster, which this machine has not: they run only in deploy.yml.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from investor_mimic_tests.helpers.loopback import Answer, LoopbackServer
from investor_mimic_tests.helpers.paths import REPO

SCRIPT = REPO / ".github" / "scripts" / "deploy.sh"


@pytest.fixture(autouse=True)
def tools() -> None:
    missing = [t for t in ("bash", "curl", "jq") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"missing {missing}")


def deploy(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        env=base | {"RUNNER_TEMP": str(tmp_path), "HEALTH_RETRIES": "0"} | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_credentials_go_to_private_files_and_never_to_the_log(tmp_path: Path) -> None:
    secret_env = "DATABASE_URL=postgresql+psycopg2://im:s3cr3t-pw@db/im\nALPACA_SECRET_KEY=k3y"
    done = deploy(tmp_path, "credentials", IM_ENV_FILE=secret_env, KUBECONFIG_DATA="kube: s3cr3t")
    assert done.returncode == 0, done.stderr
    for name, content in (("investor-mimic.env", secret_env), ("kubeconfig", "kube: s3cr3t")):
        path = tmp_path / name
        assert path.read_text() == content + "\n"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "s3cr3t" not in done.stdout + done.stderr

    missing = deploy(tmp_path, "credentials", KUBECONFIG_DATA="x")
    assert missing.returncode == 2 and "IM_ENV_FILE is not set" in missing.stderr


def test_health_passes_when_both_answer_and_fails_on_a_503(tmp_path: Path) -> None:
    with LoopbackServer() as dagster, LoopbackServer() as app:
        dagster.queue("/server_info", Answer(body={"dagster_webserver_version": "1.13.27"}))
        app.queue("/health", Answer(body={"status": "ok", "components": {}}))
        ok = deploy(tmp_path, "health", DAGSTER_URL=dagster.url, APP_URL=app.url)
        assert ok.returncode == 0, ok.stderr
        assert '"status": "ok"' in ok.stdout

        dagster.queue("/server_info", Answer(body={}))
        app.queue("/health", Answer(status=503, body={"status": "down"}))
        down = deploy(tmp_path, "health", DAGSTER_URL=dagster.url, APP_URL=app.url)
        assert down.returncode != 0
        assert len(app.requests_to("/health")) == 2


def test_notify_posts_to_slack_and_writes_the_job_summary(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    with LoopbackServer() as slack:
        slack.queue("/hook", Answer(body="ok"))
        done = deploy(
            tmp_path,
            "notify",
            "production deploy of v1.2.3: success",
            SLACK_WEBHOOK_URL=f"{slack.url}/hook",
            GITHUB_STEP_SUMMARY=str(summary),
            GITHUB_REPOSITORY="acme/investor-mimic",
            GITHUB_RUN_ID="42",
        )
        assert done.returncode == 0, done.stderr
        [posted] = slack.requests_to("/hook")
    text = json.loads(posted.body)["text"]
    assert text.startswith("production deploy of v1.2.3: success")
    assert "acme/investor-mimic/actions/runs/42" in text
    assert summary.read_text() == "production deploy of v1.2.3: success\n"
