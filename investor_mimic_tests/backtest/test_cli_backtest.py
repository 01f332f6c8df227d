"""``investor-mimic backtest`` on the tiny planted world: the files it writes agree with
each other and with the metrics recomputed from returns.csv."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from investor_mimic.backtest.metrics import compute_metrics
from investor_mimic.cli import main
from investor_mimic_tests.helpers.research_world import world

PNG = b"\x89PNG\r\n\x1a\n"


def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A data folder whose tiny-1 world is the one the research tests generated."""
    (tmp_path / "data" / "worlds").mkdir(parents=True)
    (tmp_path / "data" / "worlds" / "tiny-1").symlink_to(world("tiny", 1))
    monkeypatch.setenv("IM_DATA_DIR", str(tmp_path / "data"))


def test_backtest_command_writes_returns_metrics_and_plots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _data_dir(tmp_path, monkeypatch)
    out = tmp_path / "out"
    code = main(
        ["backtest", "--size", "tiny", "--seed", "1", "--start", "2022-09-01", "--out", str(out)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "Sharpe" in printed and "after costs" in printed

    returns = pd.read_csv(out / "returns.csv", parse_dates=["date"])
    assert list(returns.columns) == ["date", "strategy", "benchmark"]
    assert returns["date"].min() >= pd.Timestamp("2022-09-01")
    assert returns["date"].is_monotonic_increasing and len(returns) > 250

    metrics = json.loads((out / "metrics.json").read_text())
    again = compute_metrics(returns)
    for key in ("sharpe", "cagr", "max_drawdown", "alpha", "beta", "benchmark_total_return"):
        assert metrics[key] == pytest.approx(getattr(again, key), rel=1e-9), key
    assert metrics["sharpe"] > 0
    assert 0 < metrics["exposure"] <= 1 and metrics["turnover"] > 0
    assert set(metrics["yearly"]) == {"2022", "2023"}
    assert metrics["composite_oos_rank_ic_mean"] is not None
    for name in ("equity", "drawdown", "rolling_ic", "monthly_returns"):
        assert (out / f"{name}.png").read_bytes().startswith(PNG), name


def test_backtest_command_refuses_a_window_without_sessions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _data_dir(tmp_path, monkeypatch)
    code = main(
        [
            "backtest",
            "--size",
            "tiny",
            "--seed",
            "1",
            "--start",
            "2030-01-01",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("investor-mimic backtest:") and "fewer than two sessions" in err
    assert not (tmp_path / "returns.csv").exists()
