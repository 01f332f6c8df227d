"""The factor panel: the registered factors, normalised, per trading day and ticker.

Which factors, their inputs (the asset's deps) and their coverage floors (the coverage
check) come from :data:`investor_mimic.factors.registry.REGISTRY`.
"""

from datetime import date
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from investor_mimic.core import frames
from investor_mimic.defs.checks import frame_check
from investor_mimic.defs.metadata import (
    PANDAS,
    PARQUET,
    for_partitions,
    frame_metadata,
    is_range_run,
    schema_metadata,
)
from investor_mimic.defs.partitions import trading_day_partitions
from investor_mimic.defs.progress import step_progress
from investor_mimic.defs.resources import ResearchConfig, WarehouseResource
from investor_mimic.defs.sources.resource import SourcesResource
from investor_mimic.factors.registry import FACTOR_PANEL, REGISTRY, FactorRegistry
from investor_mimic.research.chain import factor_panel_for

#: A factor covering fewer tickers than this share on a day fails the coverage check.
MIN_COVERAGE = REGISTRY.min_coverage

#: The registry's inputs, plus insider_trades itself: the factor reads it through the
#: warehouse models, but D's panel must wait for D's Form 4s (the automation condition
#: waits on the day's partition of each partitioned input).
UPSTREAM = [dg.AssetKey(name) for name in (*REGISTRY.upstream_assets, "insider_trades")]


@dg.asset(
    group_name="factors",
    kinds={PANDAS, PARQUET},
    partitions_def=trading_day_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    metadata={"partition_expr": "date", **schema_metadata(FACTOR_PANEL)},
    deps=UPSTREAM,
    description=f"{len(REGISTRY)} factors per trading day and ticker, winsorised and z-scored "
    "across the universe; each uses only data known by that day's close.",
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
    with step_progress(context, "factor_panel", len(REGISTRY), "factors") as progress:
        panel = factor_panel_for(
            warehouse.warehouse(),
            start,
            end,
            sources.sources().benchmark,
            sector_neutral=research.sector_neutral,
            advance=progress.advance,
        )
    context.log.info(f"factor_panel: {len(panel):,} rows for {panel['date'].nunique()} days")
    meta = frame_metadata(panel, date_col="date", entity_col="ticker", context=context)
    coverage = (
        panel[list(REGISTRY.names)]
        .notna()
        .mean()
        .rename("share of (date, ticker) with a value")
        .to_frame()
        .to_markdown(floatfmt=".1%")
    )
    if is_range_run(context):  # not copied onto each day: the log has the run's table
        context.log.info(f"factor_panel coverage over the run:\n{coverage}")
    else:
        meta["coverage"] = dg.MetadataValue.md(coverage)
    return dg.Output(panel, metadata=for_partitions(context, meta))


def finite_result(panel: pd.DataFrame, registry: FactorRegistry = REGISTRY) -> dg.AssetCheckResult:
    """No inf among the registry's factors, and the panel in its contract."""
    values = panel[list(registry.names)].to_numpy(dtype=float)
    infinite = int(np.isinf(values).sum())
    schema = FACTOR_PANEL if registry is REGISTRY else registry.panel_schema()
    problems = frames.schema_problems(panel, schema)
    return dg.AssetCheckResult(
        passed=infinite == 0 and not problems,
        metadata={"infinite_values": infinite, "schema_problems": len(problems)},
        description="; ".join(problems) or f"{infinite} infinite values",
    )


def coverage_result(
    panel: pd.DataFrame, registry: FactorRegistry = REGISTRY
) -> dg.AssetCheckResult:
    """Each registered factor's worst daily coverage against its declared floor."""
    report = registry.coverage(panel)
    return dg.AssetCheckResult(
        passed=report.passed,
        metadata=dict[str, Any](report.metadata),
        description="; ".join(report.problems) or "ok",
    )


@frame_check(
    factor_panel,
    description="No inf anywhere; every value finite or NaN (missing), never a silent fill.",
)
def factor_panel_finite(factor_panel: pd.DataFrame) -> dg.AssetCheckResult:
    return finite_result(factor_panel)


@frame_check(
    factor_panel,
    description="Each factor covers at least its minimum share of the universe on every day.",
)
def factor_panel_coverage(factor_panel: pd.DataFrame) -> dg.AssetCheckResult:
    return coverage_result(factor_panel)


factor_panel_job = dg.define_asset_job(
    "factor_panel_job",
    selection=dg.AssetSelection.assets(factor_panel),
    partitions_def=trading_day_partitions,
    description="The factor panel for trading days (a range runs as one single-run backfill).",
)

factor_defs = dg.Definitions(
    assets=[factor_panel],
    asset_checks=[factor_panel_finite, factor_panel_coverage],
    jobs=[factor_panel_job],
)
