"""Each environment's dagster.yaml loads through Dagster's own instance schema, and the
documented Kubernetes run launcher through dagster-k8s's, without a cluster."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._config import process_config
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.config import dagster_instance_config
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster_k8s import K8sRunLauncher
from dagster_postgres import PostgresRunStorage

from investor_mimic.definitions import defs
from investor_mimic.defs.instance import PG_URL_ENV, REPO, prepare_home
from investor_mimic.defs.sources.assets import POOLS

DEPLOYED = ("staging", "production")


@pytest.mark.parametrize("environment", ["development", *DEPLOYED])
def test_each_environment_yaml_passes_dagsters_instance_schema(
    environment: str, tmp_path: Path
) -> None:
    home = prepare_home(tmp_path / environment, postgres=False, environment=environment)
    config, _ = dagster_instance_config(str(home))
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    if environment in DEPLOYED:
        assert config["storage"] == {"postgres": {"postgres_url": {"env": PG_URL_ENV}}}
        assert config["concurrency"]["pools"] == {"default_limit": 1, "granularity": "op"}
        assert "postgresql://" not in (home / "dagster.yaml").read_text()  # names, no URLs


def test_an_invalid_instance_yaml_is_refused(tmp_path: Path) -> None:
    """The check above can fail: the staging file with a conflicting queue limit."""
    config = yaml.safe_load((REPO / "deploy" / "staging" / "dagster.yaml").read_text())
    config["run_coordinator"]["config"] = {"max_concurrent_runs": 3}  # belongs in concurrency
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(DagsterInvalidConfigError, match="concurrency > runs"):
        dagster_instance_config(str(tmp_path))


def test_sources_calling_a_service_share_its_pool() -> None:
    assert set(POOLS.values()) == {"edgar", "prices", "news"}
    for asset, pool in POOLS.items():
        assert defs.resolve_assets_def(asset).op.pool == pool
    assert defs.resolve_assets_def("universe").op.pool is None  # a local file, no service


def _k8s_home(tmp_path: Path) -> Path:
    text = (REPO / "deploy" / "production" / "dagster.yaml").read_text()
    text += (REPO / "deploy" / "k8s" / "run_launcher.yaml").read_text()
    (tmp_path / "dagster.yaml").write_text(text)
    return tmp_path


def test_the_k8s_run_launcher_config_is_valid_for_dagster_k8s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IM_RUN_IMAGE", "ghcr.io/example/investor-mimic:v1")
    config, _ = dagster_instance_config(str(_k8s_home(tmp_path)))
    launcher = config["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_k8s", "K8sRunLauncher")
    processed = process_config(K8sRunLauncher.config_type(), launcher["config"])
    assert processed.success, processed.errors
    value = processed.value
    assert value is not None
    assert value["job_image"] == "ghcr.io/example/investor-mimic:v1"  # read from the env
    assert value["env_secrets"] == ["investor-mimic-secrets"]

    broken = dict(launcher["config"])
    del broken["instance_config_map"]
    broken["image_pull_policy"] = ["not", "a", "string"]
    refused = process_config(K8sRunLauncher.config_type(), broken)
    assert not refused.success
    assert {e.message.split('"')[1] for e in refused.errors if '"' in e.message} >= {
        "instance_config_map"
    }


@pytest.mark.postgres
@pytest.mark.parametrize("environment", DEPLOYED)
def test_deployed_instances_open_on_postgres_with_pools(
    environment: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    monkeypatch.setenv(PG_URL_ENV, pg_url)
    home = prepare_home(tmp_path / environment, environment=environment)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        storage = instance.event_log_storage
        for pool in sorted(set(POOLS.values())):
            assert storage.initialize_concurrency_limit_to_default(pool)
            assert storage.get_concurrency_info(pool).slot_count == 1
