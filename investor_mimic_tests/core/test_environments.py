"""Per-environment requirements: every missing or malformed variable named at once, by
``investor-mimic config validate`` and by the code location, never a value."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from investor_mimic.cli import main
from investor_mimic.core.environments import EnvironmentConfigError, validate
from investor_mimic.defs.instance import REPO
from investor_mimic.defs.resources import build_resources
from investor_mimic.settings import Settings

SECRET = "Sup3rSecretValue-do-not-print-0123456789"
#: A staging configuration with everything it needs (values are placeholders).
STAGING = {
    "ENVIRONMENT": "staging",
    "DATABASE_URL": f"postgresql+psycopg2://im:{SECRET}@db:5432/im",
    "IM_DAGSTER_PG_URL": f"postgresql://im:{SECRET}@db:5432/dagster",
    "IM_ASSET_STORAGE_URL": "s3://im-staging/assets",
    "IM_S3_ENDPOINT_URL": "http://minio:9000",
    "REDIS_URL": "redis://redis:6379/0",
    "IM_BROKER": "alpaca",
    "ALPACA_API_KEY": SECRET,
    "ALPACA_SECRET_KEY": SECRET,
    "IM_LINK_SECRET": SECRET,
}


@pytest.fixture()
def bare(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No IM_* or seed variables, no .env: what a fresh shell in an empty folder has."""
    seed = {"ENVIRONMENT", "DATABASE_URL", "REDIS_URL", "LOG_LEVEL", "PAPER_TRADING"}
    for var in list(os.environ):
        if var.startswith(("IM_", "ALPACA_", "ALPHA_VANTAGE_")) or var in seed:
            monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def _validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["config", "validate", *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_staging_with_nothing_set_names_every_missing_variable_at_once(
    bare: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _validate(capsys, "--env", "staging")
    assert code == 1
    for name in (
        "DATABASE_URL",
        "IM_DAGSTER_PG_URL",
        "IM_ASSET_STORAGE_URL",
        "REDIS_URL",
        "IM_BROKER",
        "ALPACA_API_KEY",
        "ALPACA_SECRET_KEY",
        "IM_LINK_SECRET",
    ):
        assert name in out
    assert "configuration complete" not in out
    assert main(["config", "validate"]) == 0  # development runs on the defaults


def test_complete_staging_passes_and_no_value_is_ever_printed(
    bare: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in STAGING.items():
        monkeypatch.setenv(name, value)
    assert _validate(capsys) == (0, "staging: configuration complete\n")

    code, out = _validate(capsys, "--env", "production")  # production asks for more
    assert code == 1
    assert {"IM_EDGAR_SOURCE", "IM_PRICES_SOURCE", "IM_NEWS_SOURCE", "IM_PUBLIC_URL"} <= {
        line.split()[1].rstrip(":") for line in out.splitlines() if line.startswith("error:")
    }

    monkeypatch.setenv("DATABASE_URL", f"mysql://im:{SECRET}@db/im")  # malformed, secret inside
    monkeypatch.setenv("ALPACA_PAPER", "false")
    code, out = _validate(capsys)
    assert code == 1
    assert "IM_WAREHOUSE_URL / DATABASE_URL: not a postgresql" in out
    assert "ALPACA_PAPER" in out and "staging trades paper only" in out
    assert SECRET not in out


def test_malformed_values_are_all_reported_and_the_environment_left_as_it_was(
    bare: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_POSITIONS", "many")
    monkeypatch.setenv("IM_TRACKED_FILERS", "[0001067983")  # JSON cut short
    monkeypatch.setenv("LOG_LEVEL", "verbose")
    monkeypatch.setenv("ENVIRONMENT", "prod")
    env, problems = validate()
    named = {p.variables[0] for p in problems}
    assert {"IM_MAX_POSITIONS", "IM_TRACKED_FILERS", "IM_LOG_LEVEL", "IM_ENVIRONMENT"} <= named
    assert env == "development"  # the malformed ENVIRONMENT fell back, and was reported
    assert os.environ["IM_TRACKED_FILERS"] == "[0001067983"


def test_seed_variable_names_work_beside_ours_and_empty_means_unset(
    bare: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://db/im")
    monkeypatch.setenv("ALPHA_VANTAGE_API_KEY", "av-key")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("IM_ASSET_STORAGE_URL", "")  # an env file's `X=` line
    settings = Settings()
    assert settings.environment == "production"
    assert settings.resolved_warehouse_url == "postgresql+psycopg2://db/im"
    assert settings.alphavantage_api_key is not None
    assert settings.alphavantage_api_key.get_secret_value() == "av-key"
    assert settings.log_level == "DEBUG"
    assert settings.asset_storage_url is None

    monkeypatch.setenv("IM_ENVIRONMENT", "staging")  # ours wins over the seed's
    assert Settings().environment == "staging"


def test_the_code_location_refuses_an_incomplete_staging_config(bare: Path) -> None:
    with pytest.raises(EnvironmentConfigError) as raised:
        build_resources(Settings(environment="staging", data_dir=bare))
    assert "IM_DAGSTER_PG_URL" in str(raised.value) and "REDIS_URL" in str(raised.value)
    assert "warehouse" in build_resources(Settings(data_dir=bare))  # development: defaults


@pytest.mark.parametrize("environment", ["development", "staging", "production"])
def test_each_env_example_lists_what_its_environment_needs_and_holds_no_secret(
    environment: str, bare: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = REPO / "deploy" / environment / "env.example"
    lines = [line for line in example.read_text().splitlines() if line and line[0] != "#"]
    values = dict(line.split("=", 1) for line in lines)
    for name, value in values.items():
        if any(word in name for word in ("KEY", "SECRET", "PASSWORD")):
            assert value in ("", "false"), f"{name} carries a value in {example}"
        # placeholders stand in for what the secret store fills in
        filled = value or ("x" * 40 if name != "ALPHA_VANTAGE_API_KEY" else "demo")
        monkeypatch.setenv(
            name, filled.replace("USER:PASSWORD@HOST", "u:p@db").replace("HOST", "h")
        )
    env, problems = validate()
    assert env == environment
    assert problems == []
