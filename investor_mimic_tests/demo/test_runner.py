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
import pytest

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
    # one row per ticker and listing span (a sector change starts a second row)
    assert assets["universe"]["rows"] == len(pd.read_csv(world / "universe.csv"))
    assert pd.read_csv(world / "universe.csv")["ticker"].nunique() == manifest["n_tickers"]
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

    assert_the_day_ends_with_proposals_that_fill_next_open(summary, manifest, done.data_dir, world)


def assert_the_day_ends_with_proposals_that_fill_next_open(
    summary: dict, manifest: dict, data_dir: Path, world: Path
) -> None:
    """The demo proposes for its last scored day D and prints the command approving its
    request; the world holds D+1's bars, so that command fills every order at D+1's open
    on the paper broker: ``make demo`` to a filled paper order in two commands."""
    from datetime import date

    from investor_mimic.broker.paper import PaperBroker
    from investor_mimic.core.calendar import next_trading_day
    from investor_mimic.core.warehouse import Warehouse
    from investor_mimic.portfolio.limits import LIMITS
    from investor_mimic.settings import TradingSettings

    day = date.fromisoformat(summary["proposal_day"])
    bars = pd.read_parquet(world / "market" / "bars.parquet")
    assert next_trading_day(day) == bars["date"].max().date() == date.fromisoformat(manifest["end"])
    assert summary["fills_at_open_of"] == manifest["end"]
    proposals = summary["proposals"]
    assert proposals and summary["approvable"], summary["not_approvable_because"]
    for p in proposals:
        assert p["side"] in ("buy", "sell") and p["shares"] > 0
        assert set(p["limit_checks"]) == set(LIMITS) and all(p["limit_checks"].values())
    book = summary["portfolio"]
    assert book["date"] == summary["proposal_day"] and book["equity"] > 0 and book["cash"] > 0
    assert isinstance(book["positions"], list)

    # the second command: approve the request the demo created; it fills at D+1's open
    approval = summary["approval"]
    assert approval["status"] == "pending", approval
    assert (
        approval["approve_command"] == f"investor-mimic approvals approve {approval['request_id']}"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "investor_mimic.cli",
            "approvals",
            "approve",
            approval["request_id"],
        ],
        cwd=data_dir.parent,
        env=clean_env(data_dir),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rules = TradingSettings()
    broker = PaperBroker(Warehouse(f"sqlite:///{data_dir / 'warehouse.db'}"), rules)
    fills = broker.fills(next_trading_day(day), next_trading_day(day))
    assert sorted((f.ticker, f.side, f.qty) for f in fills) == sorted(
        (p["ticker"], p["side"], p["shares"]) for p in proposals
    )
    opens = bars[bars["date"] == pd.Timestamp(next_trading_day(day))].set_index("ticker")["open"]
    for f in fills:
        slip = 1 + rules.slippage_bps / 1e4 if f.side == "buy" else 1 - rules.slippage_bps / 1e4
        assert f.price == pytest.approx(opens[f.ticker] * slip)


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


def test_demo_reports_the_backtest_headline(
    tiny_demo: DemoRun, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--json`` carries the backtest asset's metrics (the demo ran it once, on the stored
    panel and composite) and the text summary prints the headline row from them."""
    from investor_mimic.demo.runner import print_summary

    assert tiny_demo.returncode == 0, tiny_demo.stderr[-3000:]
    summary = tiny_demo.summary
    assert summary["assets"]["backtest"]["rows"] > 250  # one row per out-of-sample session
    b = summary["backtest"]
    for key in ("cagr", "sharpe", "max_drawdown", "benchmark_cagr", "active_cagr", "turnover"):
        assert isinstance(b[key], float), key
    assert b["active_cagr"] == pytest.approx(b["cagr"] - b["benchmark_cagr"], abs=2e-6)
    assert b["max_drawdown"] <= 0 and b["n_days"] == summary["assets"]["backtest"]["rows"]
    assert b["sharpe"] > 0  # the planted world: out of sample, after costs

    print_summary(summary)
    out = capsys.readouterr().out
    headline = next(s for s in out.splitlines() if s.startswith("backtest (out of sample"))
    assert f"CAGR {b['cagr']:+.1%} vs benchmark {b['benchmark_cagr']:+.1%}" in headline
    assert f"active {b['active_cagr']:+.1%} a year" in headline
    assert f"Sharpe {b['sharpe']:.2f}" in headline
    assert f"max drawdown {b['max_drawdown']:.1%}" in headline
