"""The ``backtest`` asset on the tiny planted world: the same numbers as the engine,
metrics as numeric metadata, the charts as images, and its weekly schedule."""

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from investor_mimic.backtest.engine import run_backtest
from investor_mimic.defs.backtest import backtest_defs
from investor_mimic.defs.backtest.assets import backtest
from investor_mimic.defs.resources import ResearchConfig, TradingResource, WarehouseResource
from investor_mimic.defs.sources.resource import SourcesResource
from investor_mimic.settings import TradingSettings
from investor_mimic_tests.helpers.dagster import use_settings
from investor_mimic_tests.helpers.research_world import (
    raw_tables,
    research_run,
    sqlite_warehouse,
    world,
)


def test_backtest_asset_reports_the_engine_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data" / "worlds").mkdir(parents=True)
    (tmp_path / "data" / "worlds" / "tiny-1").symlink_to(world("tiny", 1))
    use_settings(monkeypatch, data_dir=str(tmp_path / "data"), world_size="tiny", world_seed="1")
    manifest, run = research_run("tiny", 1)
    tables = raw_tables(world("tiny", 1))
    sqlite_warehouse(tmp_path / "wh.sqlite", tables).engine.dispose()
    rules = TradingSettings(max_positions=8)

    output = backtest(
        dg.build_asset_context(),
        factor_panel=run.panel,
        composite_score=run.composite,
        warehouse=WarehouseResource(url=f"sqlite:///{tmp_path / 'wh.sqlite'}"),
        sources=SourcesResource(),
        research=ResearchConfig(),
        trading=TradingResource(settings_json=rules.model_dump_json()),
    )
    assert isinstance(output, dg.Output)
    returns: pd.DataFrame = output.value
    assert list(returns.columns) == ["date", "strategy", "benchmark"]

    # the asset is the engine over the same inputs (the trading settings reach it)
    direct = run_backtest(
        run.composite,
        tables.prices,
        run.panel[["date", "ticker", "sector"]],
        manifest.benchmark_ticker,
        rules,
    )
    pd.testing.assert_frame_equal(returns, direct.returns)
    meta = {k: v.value for k, v in output.metadata.items()}
    assert meta["metrics/sharpe"] == pytest.approx(direct.metrics.sharpe)
    assert isinstance(meta["metrics/sharpe"], float) and meta["metrics/sharpe"] > 0
    for chart in ("equity", "drawdown", "rolling_ic", "monthly_returns"):
        assert "data:image/png;base64," in str(meta[chart]), chart
    assert "2023" in str(meta["yearly"])


def test_backtest_runs_weekly() -> None:
    (schedule,) = backtest_defs.schedules or []
    assert isinstance(schedule, dg.ScheduleDefinition)
    assert schedule.cron_schedule == "0 8 * * 6"
    assert schedule.job.name == "backtest_job"
