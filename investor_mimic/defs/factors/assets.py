"""The factor panel: eight normalised point-in-time factors per trading day and ticker."""

from datetime import date

import dagster as dg
import numpy as np
import pandas as pd

from investor_mimic.core import frames
from investor_mimic.defs.metadata import frame_metadata
from investor_mimic.defs.partitions import trading_day_partitions
from investor_mimic.defs.resources import ResearchConfig, WarehouseResource
from investor_mimic.defs.sources.resource import SourcesResource
from investor_mimic.research.chain import factor_panel_for

#: A factor covering fewer tickers than this share on a day fails the coverage check.
MIN_COVERAGE = {
    "conviction_13f": 0.2,
    "flow_13f": 0.2,
    "insider_net_buying": 0.0,  # sparse by nature: most tickers have no open-market trade
    "news_sentiment": 0.2,
    "momentum_12_1": 0.8,
    "trend": 0.8,
    "relative_strength": 0.8,
    "volume_accumulation": 0.8,
}

UPSTREAM = [
    dg.AssetKey("universe"),
    dg.AssetKey("prices"),
    dg.AssetKey("news_sentiment"),
    dg.AssetKey("filer_portfolio_weights"),
    dg.AssetKey("thirteenf_position_changes"),
    dg.AssetKey("stg_insider_open_market"),
]


@dg.asset(
    group_name="factors",
    kinds={"pandas"},
    partitions_def=trading_day_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    metadata={"partition_expr": "date"},
    deps=UPSTREAM,
    description="Eight factors per trading day and ticker, winsorised and z-scored across "
    "the universe; each uses only data known by that day's close.",
)
def factor_panel(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    sources: SourcesResource,
    research: ResearchConfig,
) -> dg.Output[pd.DataFrame]:
    keys = context.partition_key_range
    start, end = date.fromisoformat(keys.start), date.fromisoformat(keys.end)
    context.log.info(f"factor_panel: loading inputs for {start}..{end}")
    panel = factor_panel_for(
        warehouse.warehouse(),
        start,
        end,
        sources.sources().benchmark,
        sector_neutral=research.sector_neutral,
    )
    context.log.info(f"factor_panel: {len(panel):,} rows for {panel['date'].nunique()} days")
    meta = frame_metadata(panel, date_col="date", entity_col="ticker")
    coverage = panel[list(frames.FACTOR_NAMES)].notna().mean()
    meta["coverage"] = dg.MetadataValue.md(
        coverage.rename("share of (date, ticker) with a value")
        .to_frame()
        .to_markdown(floatfmt=".1%")
    )
    return dg.Output(panel, metadata=meta)


def _coverage_by_day(panel: pd.DataFrame) -> pd.DataFrame:
    return panel[list(frames.FACTOR_NAMES)].notna().groupby(panel["date"]).mean()


@dg.asset_check(
    asset=factor_panel,
    blocking=True,
    partitions_def=trading_day_partitions,
    description="No inf anywhere; every value finite or NaN (missing), never a silent fill.",
)
def factor_panel_finite(factor_panel: pd.DataFrame) -> dg.AssetCheckResult:
    values = factor_panel[list(frames.FACTOR_NAMES)].to_numpy(dtype=float)
    infinite = int(np.isinf(values).sum())
    problems = frames.schema_problems(factor_panel, frames.FACTOR_PANEL)
    return dg.AssetCheckResult(
        passed=infinite == 0 and not problems,
        metadata={"infinite_values": infinite, "schema_problems": len(problems)},
        description="; ".join(problems) or f"{infinite} infinite values",
    )


@dg.asset_check(
    asset=factor_panel,
    blocking=True,
    partitions_def=trading_day_partitions,
    description="Each factor covers at least its minimum share of the universe on every day.",
)
def factor_panel_coverage(factor_panel: pd.DataFrame) -> dg.AssetCheckResult:
    by_day = _coverage_by_day(factor_panel)
    worst = by_day.min() if len(by_day) else pd.Series(0.0, index=list(frames.FACTOR_NAMES))
    failing = {f: float(worst[f]) for f, floor in MIN_COVERAGE.items() if worst[f] < floor}
    return dg.AssetCheckResult(
        passed=not failing and len(by_day) > 0,
        metadata={f"min_coverage_{f}": float(worst[f]) for f in frames.FACTOR_NAMES},
        description=f"below minimum coverage: {failing}" if failing else "ok",
    )


factor_panel_job = dg.define_asset_job(
    "factor_panel_job",
    selection=dg.AssetSelection.assets(factor_panel),
    partitions_def=trading_day_partitions,
)

factor_defs = dg.Definitions(
    assets=[factor_panel],
    asset_checks=[factor_panel_finite, factor_panel_coverage],
    jobs=[factor_panel_job],
)
