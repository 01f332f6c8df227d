"""Another size or seed in the same data dir: the switch resets the data dir and says so.

The cheap path calls the runner's switch (:func:`reset_for_world`) and the instance
helpers on a real SQLite Dagster instance; the slow test runs the real demo twice.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from investor_mimic.defs.instance import (
    dagster_home,
    open_instance,
    sync_dynamic_partitions,
    wipe_asset_history,
)
from investor_mimic.demo.runner import WorldSwitchError, reset_for_world
from investor_mimic.settings import DEMO_WORLD_FILE, Settings, remembered_world_id
from investor_mimic_tests.helpers.demo_run import TIMEOUT_S, DemoRun, clean_env, mtimes

SECOND = ("-m", "investor_mimic.cli", "demo", "--size", "tiny", "--seed", "8", "--json")


def _settings(data_dir: Path, seed: int, **extra: object) -> Settings:
    return Settings(data_dir=data_dir, world_size="tiny", world_seed=seed, **extra)  # type: ignore[arg-type]


def _fill(data_dir: Path) -> None:
    """What a finished demo leaves: a warehouse (with its SQLite sidecar) and asset files."""
    (data_dir / "assets" / "prices").mkdir(parents=True)
    (data_dir / "assets" / "prices" / "2020-01-02.parquet").write_bytes(b"x")
    (data_dir / "warehouse.db").write_bytes(b"x")
    (data_dir / "warehouse.db-wal").write_bytes(b"x")


@pytest.fixture()
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dg.DagsterInstance:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("IM_DAGSTER_PG_URL", raising=False)
    with open_instance(tmp_path / "home") as inst:
        yield inst


def test_same_world_keeps_the_data_another_world_deletes_it_and_says_so(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    data_dir = tmp_path / "data"
    assert reset_for_world(_settings(data_dir, 3), lambda: 0) is None  # a fresh data dir
    assert remembered_world_id(data_dir) == "tiny-3"
    _fill(data_dir)
    instance.report_runless_asset_event(dg.AssetMaterialization("prices", partition="2020-01-02"))

    assert reset_for_world(_settings(data_dir, 3), lambda: wipe_asset_history(instance)) is None
    assert (data_dir / "warehouse.db").exists() and (data_dir / "assets").exists()
    assert instance.get_latest_materialization_event(dg.AssetKey("prices")) is not None

    notice = reset_for_world(_settings(data_dir, 8), lambda: wipe_asset_history(instance))
    assert notice is not None and "from tiny-3 to tiny-8" in notice
    assert "forgot 1 assets" in notice
    assert sorted(p.name for p in data_dir.iterdir()) == [DEMO_WORLD_FILE]
    assert remembered_world_id(data_dir) == "tiny-8"
    assert instance.get_latest_materialization_event(dg.AssetKey("prices")) is None


def test_an_interrupted_switch_is_redone_by_the_next_run(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    reset_for_world(_settings(data_dir, 3))
    _fill(data_dir)

    def killed() -> int:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        reset_for_world(_settings(data_dir, 8), killed)
    assert remembered_world_id(data_dir) == "tiny-3"  # the switch is not recorded as done
    assert reset_for_world(_settings(data_dir, 8), lambda: 0) is not None
    assert remembered_world_id(data_dir) == "tiny-8"


def test_the_switch_refuses_to_delete_data_it_cannot_vouch_for(tmp_path: Path) -> None:
    unknown = tmp_path / "unknown"
    _fill(unknown)  # a warehouse no demo recorded (a real-source data dir, say)
    with pytest.raises(WorldSwitchError, match="records no demo world"):
        reset_for_world(_settings(unknown, 3))
    assert (unknown / "warehouse.db").exists()

    elsewhere = tmp_path / "elsewhere"
    reset_for_world(_settings(elsewhere, 3))
    url = "postgresql://127.0.0.1/warehouse"
    with pytest.raises(WorldSwitchError, match="holds demo world tiny-3"):
        reset_for_world(_settings(elsewhere, 8, warehouse_url=url))
    assert reset_for_world(_settings(elsewhere, 3, warehouse_url=url)) is None
    assert remembered_world_id(elsewhere) == "tiny-3"


def test_filer_partitions_become_exactly_the_new_worlds(instance: dg.DagsterInstance) -> None:
    instance.add_dynamic_partitions("filers", ["0000000001", "0000000002", "0000000003"])
    stale = sync_dynamic_partitions(instance, "filers", ["0000000003", "0000000009"])
    assert stale == ["0000000001", "0000000002"]
    assert instance.get_dynamic_partitions("filers") == ["0000000003", "0000000009"]
    assert sync_dynamic_partitions(instance, "filers", ["0000000003", "0000000009"]) == []


def test_dagster_home_from_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert dagster_home(tmp_path / "data") == (tmp_path / "data" / "dagster_home").resolve()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "mine"))
    assert dagster_home(tmp_path / "data") == (tmp_path / "mine").resolve()


@pytest.mark.parametrize("mine", [True, False])
def test_make_ui_resolves_the_home_the_demo_uses(tmp_path: Path, mine: bool) -> None:
    """``make ui``/``make check`` run ``python -m investor_mimic.defs.instance``."""
    env = clean_env(tmp_path / "data") | ({"DAGSTER_HOME": str(tmp_path / "mine")} if mine else {})
    done = subprocess.run(
        [sys.executable, "-m", "investor_mimic.defs.instance"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    home = tmp_path / ("mine" if mine else "data/dagster_home")
    assert done.stdout.strip() == str(home.resolve())
    assert (home / "dagster.yaml").is_file()
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    assert "HOME_OF = $(PY) -m investor_mimic.defs.instance" in makefile
    for target in ("ui", "check"):
        recipe = makefile.split(f"\n{target}: ")[1].split("\n\n")[0]
        assert 'DAGSTER_HOME="$$($(HOME_OF))"' in recipe, target


@pytest.mark.slow  # the real demo command, interrupted twice
def test_an_interrupted_demo_leaves_no_run_open_and_no_partial_file(
    tmp_path: Path, tiny_world: Path
) -> None:
    """SIGTERM in the middle of the 13F run, inside a step or between two: the demo says
    so and exits 130 (the stage runner sees the signal whichever handler Dagster had
    installed, ``defs.stages._signals_seen``), the run is marked failed (not left
    STARTED for the UI), no temporary or Parquet file is half written, and the data dir
    still records its world."""
    data_dir = tmp_path / "data"
    shutil.copytree(tiny_world, data_dir / "worlds" / "tiny-3")
    demo = subprocess.Popen(
        [sys.executable, "-m", "investor_mimic.cli", "demo", "--size", "tiny", "--seed", "3"],
        cwd=tmp_path,
        env=clean_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert demo.stderr is not None
    try:
        for line in demo.stderr:
            if line.startswith("13F holdings"):
                time.sleep(0.5)
                demo.send_signal(signal.SIGTERM)
                break
        _, err = demo.communicate(timeout=TIMEOUT_S)
    finally:
        demo.kill()
    assert demo.returncode == 130, err[-3000:]
    assert "interrupted" in err
    runs = dg.DagsterInstance.from_config(str(data_dir / "dagster_home")).get_runs()
    assert {r.job_name for r in runs} >= {"universe_job", "thirteenf_job"}
    assert all(r.is_finished for r in runs), [(r.job_name, r.status) for r in runs]
    assert not [p for p in data_dir.rglob("*") if p.name.endswith(".tmp")]
    for parquet in (data_dir / "assets").rglob("*.parquet"):
        pd.read_parquet(parquet)  # whole files only
    assert remembered_world_id(data_dir) == "tiny-3"


@pytest.mark.slow
def test_a_second_seed_runs_in_the_data_dir_of_the_first_with_dagster_home_from_env(
    tmp_path: Path, tiny_demo: DemoRun
) -> None:
    """``investor-mimic demo --size tiny --seed 8`` after the session's seed-3 demo, in a
    copy of its data dir, with DAGSTER_HOME (a copy of the first run's) from the
    environment: it succeeds, says it switched, counts its own world's truth, and leaves
    ``<data dir>/dagster_home`` alone."""
    first = tiny_demo.summary
    data_dir = tmp_path / "data"
    shutil.copytree(tiny_demo.data_dir, data_dir)
    home = tmp_path / "my_home"
    shutil.copytree(first["dagster_home"], home)
    default_home = mtimes(data_dir / "dagster_home")
    env = clean_env(data_dir) | {"DAGSTER_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, *SECOND],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "from tiny-3 to tiny-8" in done.stderr
    assert "filers partitions reset" in done.stderr
    import json

    summary = json.loads(done.stdout)
    assert summary["dagster_home"] == str(home.resolve())
    assert mtimes(data_dir / "dagster_home") == default_home
    assert (summary["world"]["seed"], summary["checks"]["failed"]) == (8, 0)
    world = data_dir / "worlds" / "tiny-8"
    manifest = json.loads((world / "manifest.json").read_text())
    assert summary["assets"]["prices"]["rows"] == manifest["counts"]["bars"]
    holdings = pd.read_parquet(world / "truth" / "thirteenf_holdings.parquet")
    in_range = holdings["known_date"].between(manifest["start"], manifest["end"])
    assert summary["assets"]["thirteenf_holdings"]["rows"] == int(in_range.sum())
    # the warehouse holds this world's raw rows only, none of the first world's
    from investor_mimic.core.warehouse import Warehouse

    raw = Warehouse(f"sqlite:///{data_dir / 'warehouse.db'}").read(
        "select count(*) as n from raw_thirteenf_holdings"
    )
    assert int(raw["n"].iloc[0]) == int(in_range.sum())
    instance = dg.DagsterInstance.from_config(str(home))
    assert sorted(instance.get_dynamic_partitions("filers")) == sorted(
        f["cik"] for f in manifest["filers"]
    )
