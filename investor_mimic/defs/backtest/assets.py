"""The ``backtest`` asset: the walk-forward backtest of the whole scored history, weekly.

Wiring only: :func:`investor_mimic.backtest.run.backtest_frames` does the work (the same
function behind ``investor-mimic backtest``). Inputs are the factor panel (sectors as of
each date), the composite score (walk-forward weights, each row stamped with its
``refit_date``, which the engine's look-ahead guard checks) and the prices; the trading
settings are the ones the live proposals obey. The returns frame is the asset's value;
the headline metrics are numeric metadata and the four charts Markdown images.
"""

from datetime import timedelta
from typing import Any

import dagster as dg
import pandas as pd

from investor_mimic.backtest.metrics import yearly_table
from investor_mimic.backtest.run import BacktestReport, backtest_frames, chart_pngs
from investor_mimic.defs.metadata import MATPLOTLIB, PANDAS, PARQUET
from investor_mimic.defs.resources import ResearchConfig, TradingResource, WarehouseResource
from investor_mimic.defs.sources.resource import SourcesResource
from investor_mimic.research.chain import targets_for
from investor_mimic.research.data import read_prices
from investor_mimic.research.plots import markdown_image

GROUP = "backtest"
#: Calendar days of prices read before the first factor date (volatility windows).
PRICE_LOOKBACK_DAYS = 400


def backtest_metadata(report: BacktestReport) -> dict[str, Any]:
    """Headline metrics (numbers only, so the UI plots them across runs), the yearly
    table and the charts."""
    meta: dict[str, Any] = {
        f"metrics/{k}": float(v)
        for k, v in report.result.metrics.as_dict().items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }
    meta["metrics/start"] = report.result.metrics.start
    meta["metrics/end"] = report.result.metrics.end
    meta["composite_rank_ic_mean"] = float(report.daily_ic.mean())
    meta["yearly"] = dg.MetadataValue.md(
        yearly_table(report.result.returns).to_markdown(floatfmt=".4f")
    )
    for name, png in chart_pngs(report).items():
        key = name.removesuffix(".png")
        meta[key] = dg.MetadataValue.md(markdown_image(png, key.replace("_", " ")))
    meta["dagster/row_count"] = len(report.result.returns)
    return meta


@dg.asset(
    group_name=GROUP,
    kinds={PANDAS, MATPLOTLIB, PARQUET},
    ins={"factor_panel": dg.AssetIn(), "composite_score": dg.AssetIn()},
    deps=[dg.AssetKey("prices")],
    description="Walk-forward backtest through the production portfolio code: the composite "
    "(weights refitted monthly) traded under the live risk limits and stop-loss, rebalancing "
    "every REBALANCE_FREQUENCY sessions, filled at the next open with slippage and "
    "commission, against the benchmark. Daily date/strategy/benchmark returns; metrics "
    "and charts as metadata.",
)
def backtest(
    context: dg.AssetExecutionContext,
    factor_panel: pd.DataFrame,
    composite_score: pd.DataFrame,
    warehouse: WarehouseResource,
    sources: SourcesResource,
    research: ResearchConfig,
    trading: TradingResource,
) -> dg.Output[pd.DataFrame]:
    if composite_score.empty:
        raise dg.Failure(description="backtest: the composite score is empty (no refit yet)")
    wh = warehouse.warehouse()
    benchmark = sources.sources().benchmark
    first = factor_panel["date"].min().date()
    last = factor_panel["date"].max().date()
    prices = read_prices(wh, first - timedelta(days=PRICE_LOOKBACK_DAYS), last)
    targets = targets_for(wh, factor_panel, research.horizon_days, benchmark)
    report = backtest_frames(
        factor_panel, composite_score, targets, prices, benchmark, trading.rules(), end=last
    )
    m = report.result.metrics
    context.log.info(
        f"backtest {m.start}..{m.end}: total {m.total_return:+.1%} vs benchmark "
        f"{m.benchmark_total_return:+.1%}, Sharpe {m.sharpe:.2f}, max drawdown {m.max_drawdown:.1%}"
    )
    return dg.Output(report.result.returns, metadata=backtest_metadata(report))


backtest_job = dg.define_asset_job(
    "backtest_job",
    selection=[backtest],
    description="The walk-forward backtest of the whole scored history.",
)

weekly_backtest_schedule = dg.ScheduleDefinition(
    name="weekly_backtest_schedule",
    job=backtest_job,
    cron_schedule="0 8 * * 6",
    execution_timezone="America/New_York",
    description="Re-run the backtest every Saturday morning, after the week's scoring.",
)
