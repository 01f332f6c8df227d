"""The main job's guarantee: ``investor-mimic demo --size tiny`` runs the whole graph.

Run as a user runs it — a subprocess, a fresh data dir, no ``IM_*`` variables but
``IM_DATA_DIR``, no ``.env`` — and judged by its JSON summary, the world's own counts
and truth files, and the Dagster instance it leaves behind for ``make ui``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg
import pandas as pd

from investor_mimic_tests.helpers.demo_run import DemoRun, clean_env, mtimes

VALIDATE = ("-m", "dagster", "definitions", "validate", "-m", "investor_mimic.definitions")
SOURCES = ("universe", "thirteenf_holdings", "insider_trades", "prices", "news_sentiment")


def test_demo_materializes_the_tiny_world_with_every_check_passing(tiny_demo: DemoRun) -> None:
    done, world, manifest = tiny_demo, tiny_demo.world, tiny_demo.manifest

    assert done.returncode == 0, done.stderr[-3000:]
    summary = done.summary
    assert {"world", "assets", "checks", "weights", "oos_ic", "planted"} <= set(summary)
    assert mtimes(world) == done.world_before, "the existing world was generated again"
    assert summary["world"]["path"] == str(world)
    assert (summary["world"]["size"], summary["world"]["seed"]) == ("tiny", 3)
    assert summary["world"]["tickers"] == manifest["n_tickers"]

    assets = summary["assets"]
    for name in SOURCES:
        assert assets[name]["partitions"] > 0 and assets[name]["rows"] > 0, name
    assert assets["prices"]["rows"] == manifest["counts"]["bars"]
    assert assets["universe"]["rows"] == manifest["n_tickers"]
    for name, day_col in [
        ("thirteenf_holdings", "known_date"),
        ("insider_trades", "known_date"),
        ("news_sentiment", "trading_date"),
    ]:
        truth = pd.read_parquet(world / "truth" / f"{name}.parquet")
        in_range = truth[day_col].between(manifest["start"], manifest["end"])
        assert assets[name]["rows"] == int(in_range.sum()), name

    checks = summary["checks"]
    assert checks["failed"] == 0, checks["failed_checks"]
    assert checks["passed"] > 0

    weights = summary["weights"]
    assert weights and all(w >= 0 for w in weights.values())
    assert abs(sum(weights.values()) - 1.0) < 1e-3  # the summary rounds to 4 decimals
    assert set(weights) | {"composite"} <= set(summary["oos_ic"])
    assert set(summary["planted"]) == set(manifest["planted"])

    instance = dg.DagsterInstance.from_config(summary["dagster_home"])
    runs = instance.get_runs()
    assert runs and all(r.is_success for r in runs)
    assert instance.get_latest_materialization_event(dg.AssetKey("composite_score")) is not None
    # the evaluation says how its p-values were made, and the summary carries them
    evaluation = instance.get_latest_materialization_event(dg.AssetKey("factor_evaluation"))
    assert evaluation is not None and evaluation.asset_materialization is not None
    meta = evaluation.asset_materialization.metadata
    assert "EWC" in str(meta["inference"].value)
    assert 0.0 <= float(meta["oos/rank_ic_pvalue"].value) <= 1.0
    assert set(summary["oos_ic_pvalue"]) == set(summary["oos_ic"])


def test_definitions_validate(tmp_path: Path) -> None:
    """What ``make ui`` and CI load; importing it must not generate data either."""
    data_dir = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, *VALIDATE],
        cwd=tmp_path,
        env=clean_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "All code locations passed validation" in done.stderr + done.stdout
    assert not data_dir.exists()
