"""One backtest of a warehouse or a demo world, end to end, and the files it writes.

Why here and not in the CLI or the asset: ``investor-mimic backtest`` and the Dagster
``backtest`` asset must produce the same numbers, so both call :func:`backtest_warehouse`
(the research chain — factor panel, walk-forward weights refitted on the production
schedule, composite — then :func:`investor_mimic.backtest.engine.run_backtest`) and
:func:`write_outputs` / :func:`chart_pngs`.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from investor_mimic.backtest import plots
from investor_mimic.backtest.engine import BacktestResult, run_backtest
from investor_mimic.backtest.metrics import yearly_table
from investor_mimic.core.warehouse import Warehouse
from investor_mimic.demo import ensure_world, load_manifest
from investor_mimic.demo.warehouse import panel_start, raw_tables, sqlite_warehouse
from investor_mimic.research.chain import run_research
from investor_mimic.research.data import read_prices
from investor_mimic.research.grid import Grid
from investor_mimic.research.stats import daily_ic
from investor_mimic.settings import FitMethod, TradingSettings


@dataclass(frozen=True)
class BacktestReport:
    """The engine's result, the composite's daily rank IC and the research verdict."""

    result: BacktestResult
    daily_ic: pd.Series
    oos: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        """``metrics.json``: the headline metrics, the composite's IC and the yearly table."""
        table = yearly_table(self.result.returns)
        return {
            **self.result.metrics.as_dict(),
            "composite_rank_ic_mean": _finite(float(self.daily_ic.mean())),
            **{k.replace("oos/", "composite_oos_"): _finite(v) for k, v in self.oos.items()},
            "yearly": {
                str(y): {str(k): _finite(float(v)) for k, v in row.items()}
                for y, row in table.iterrows()
            },
        }


def _finite(value: Any) -> Any:
    """NaN → None, so ``metrics.json`` is strict JSON."""
    return None if isinstance(value, float) and math.isnan(value) else value


def backtest_frames(
    panel: pd.DataFrame,
    composite: pd.DataFrame,
    targets: pd.DataFrame,
    prices: pd.DataFrame,
    benchmark: str,
    rules: TradingSettings,
    *,
    oos: dict[str, Any] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> BacktestReport:
    """The replay of ``composite`` over ``prices`` (sectors as of each date from the
    factor ``panel``; a holding in a ticker whose panel rows stop is closed at its final
    close) and the composite's daily rank IC against ``targets``: what the
    command and the ``backtest`` asset both report."""
    sectors = panel[["date", "ticker", "sector"]]  # as of each date (point in time)
    result = run_backtest(
        composite,
        prices,
        sectors,
        benchmark,
        rules,
        start=start,
        end=end,
        delisted=delistings(panel),
    )
    grid = Grid.of(composite)
    ic = daily_ic(grid.matrix(composite, "score"), grid.matrix(targets, "fwd_return"), "spearman")
    return BacktestReport(result, pd.Series(ic, index=grid.dates), oos or {})


def delistings(panel: pd.DataFrame) -> dict[str, date]:
    """Ticker → last listed session, for tickers whose factor panel rows stop before the
    panel's last date: the panel has rows only while a ticker is listed
    (:mod:`investor_mimic.core.security_master`), so this is the master's delisting date
    within the panel's window."""
    last = panel.groupby("ticker", observed=True)["date"].max()
    ended = last[last < panel["date"].max()]
    return {str(t): pd.Timestamp(d).date() for t, d in ended.items()}


def price_history_start(first: date) -> date:
    """Where a backtest's price read starts: over a year before its first factor date,
    ample for the volatility window of inverse-volatility sizing."""
    return date(first.year - 2, 1, 1)


def backtest_warehouse(
    warehouse: Warehouse,
    start: date,
    end: date,
    benchmark: str,
    rules: TradingSettings,
    *,
    method: FitMethod = "ic",
    horizon: int = 20,
    trade_from: date | None = None,
) -> BacktestReport:
    """Research chain over [start, end] (the first factor date and the last bar):
    walk-forward weights refitted on the production schedule and the composite; then
    :func:`backtest_frames` from ``trade_from`` (default: the first scored day)."""
    run = run_research(warehouse, start, end, benchmark, method=method, horizon=horizon)
    prices = read_prices(warehouse, price_history_start(start), end)
    return backtest_frames(
        run.panel,
        run.composite,
        run.targets,
        prices,
        benchmark,
        rules,
        oos=run.oos.metadata(),
        start=trade_from,
        end=end,
    )


def backtest_world(
    root: Path,
    size: str,
    seed: int,
    rules: TradingSettings,
    *,
    start: date | None = None,
    end: date | None = None,
    method: FitMethod = "ic",
    horizon: int = 20,
) -> BacktestReport:
    """The demo world ``(size, seed)`` at ``root`` (generated if missing) through
    :func:`backtest_warehouse` in a throwaway SQLite warehouse."""
    ensure_world(root, size, seed, False)  # type: ignore[arg-type]
    manifest = load_manifest(root)
    last = min(end or manifest.end, manifest.end)
    if start is not None and start >= last:
        raise ValueError(
            f"fewer than two sessions in [{start}, {last}] (the world ends {manifest.end})"
        )
    with tempfile.TemporaryDirectory(prefix="im-backtest-") as tmp:
        warehouse = sqlite_warehouse(Path(tmp) / "warehouse.sqlite", raw_tables(root))
        try:
            return backtest_warehouse(
                warehouse,
                panel_start(manifest),
                last,
                manifest.benchmark_ticker,
                rules,
                method=method,
                horizon=horizon,
                trade_from=start,
            )
        finally:
            warehouse.engine.dispose()


def chart_pngs(report: BacktestReport) -> dict[str, bytes]:
    """File name → PNG of every chart (equity, drawdown, rolling IC, monthly heatmap)."""
    returns = report.result.returns
    return {
        "equity.png": plots.equity_png(returns),
        "drawdown.png": plots.drawdown_png(returns),
        "rolling_ic.png": plots.rolling_ic_png(report.daily_ic),
        "monthly_returns.png": plots.monthly_heatmap_png(returns),
    }


def write_outputs(report: BacktestReport, out: Path) -> list[Path]:
    """``returns.csv`` (``date,strategy,benchmark``), ``metrics.json`` and the PNGs."""
    out.mkdir(parents=True, exist_ok=True)
    returns = report.result.returns.copy()
    returns["date"] = returns["date"].dt.strftime("%Y-%m-%d")
    written = [out / "returns.csv", out / "metrics.json"]
    returns.to_csv(written[0], index=False)
    written[1].write_text(json.dumps(report.summary(), indent=2, allow_nan=False) + "\n")
    for name, png in chart_pngs(report).items():
        (out / name).write_bytes(png)
        written.append(out / name)
    return written
