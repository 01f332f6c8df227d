"""Walk-forward factor weights, the composite score, and factor evaluation.

``factor_weights`` holds the whole weight schedule (one row per refit date and factor);
a refit at R uses only rows whose forward-return window closed before R, so
re-materializing it on a schedule never changes the weights of past days.
``composite_score`` at D uses the latest weights with ``refit_date <= D``.
``factor_evaluation`` is retrospective reporting (it reads realised forward returns) and
feeds nothing that trades.
"""

from dataclasses import asdict
from datetime import date
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from investor_mimic.core import frames, quality
from investor_mimic.core.calendar import trading_days
from investor_mimic.defs.checks import frame_check
from investor_mimic.defs.metadata import (
    MATPLOTLIB,
    PANDAS,
    PARQUET,
    SKLEARN,
    for_partitions,
    frame_metadata,
    schema_metadata,
)
from investor_mimic.defs.partitions import trading_day_partitions
from investor_mimic.defs.resources import ResearchConfig, WarehouseResource
from investor_mimic.defs.sources.resource import SourcesResource
from investor_mimic.research.chain import evaluate_out_of_sample, targets_for, weight_schedule
from investor_mimic.research.composite import composite_scores
from investor_mimic.research.evaluation import Evaluation
from investor_mimic.research.plots import (
    cumulative_ic_png,
    markdown_image,
    quantile_returns_png,
    weights_png,
)
from investor_mimic.research.stats import describe_inference

GROUP = "scoring"


@dg.asset(
    group_name=GROUP,
    kinds={PANDAS, SKLEARN, PARQUET},
    ins={"factor_panel": dg.AssetIn()},
    deps=[dg.AssetKey("prices")],
    metadata=schema_metadata(frames.FACTOR_WEIGHTS),
    description="Walk-forward factor weights: refit monthly on purged, embargoed history.",
)
def factor_weights(
    context: dg.AssetExecutionContext,
    factor_panel: pd.DataFrame,
    warehouse: WarehouseResource,
    sources: SourcesResource,
    research: ResearchConfig,
) -> dg.Output[pd.DataFrame]:
    targets = targets_for(
        warehouse.warehouse(), factor_panel, research.horizon_days, sources.sources().benchmark
    )
    weights = weight_schedule(
        factor_panel,
        targets,
        research.fit_method,  # type: ignore[arg-type]
        research.horizon_days,
    )
    context.log.info(
        f"factor_weights: {weights['refit_date'].nunique()} refits, method={research.fit_method}"
    )
    latest = weights[weights["refit_date"] == weights["refit_date"].max()]
    meta = frame_metadata(weights, date_col="refit_date")
    meta["latest_weights"] = dg.MetadataValue.md(
        latest[["factor", "weight", "n_train"]].to_markdown(index=False, floatfmt=".3f")
    )
    meta["weights_over_time"] = dg.MetadataValue.md(markdown_image(weights_png(weights), "weights"))
    return dg.Output(weights, metadata=meta)


@dg.asset_check(
    asset=factor_weights,
    blocking=True,
    description="Weights are finite, >= 0 and sum to 1 per refit.",
)
def weights_valid(factor_weights: pd.DataFrame) -> dg.AssetCheckResult:
    w = factor_weights
    sums = w.groupby("refit_date")["weight"].sum()
    bad_sum = int((~np.isclose(sums, 1.0, atol=1e-9)).sum())
    reports = _contract_reports(w, frames.FACTOR_WEIGHTS)
    problems = [p for r in reports for p in r.problems]
    if bad_sum:
        problems.append(f"{bad_sum} refits whose weights do not sum to 1")
    return dg.AssetCheckResult(
        passed=bool(len(w)) and not problems,
        metadata=_metadata({"refits": len(sums), "sum_not_1": bad_sum}, *reports),
        description="; ".join(problems[:3]) or ("no weights" if not len(w) else "ok"),
    )


def _metadata(first: dict[str, Any], *reports: quality.Report) -> dict[str, Any]:
    return first | {k: v for r in reports for k, v in r.metadata.items()}


def _contract_reports(frame: pd.DataFrame, schema: frames.FrameSchema) -> list[quality.Report]:
    """The frame's contract (schema, unique key, row rules), as the sources check it."""
    return [quality.contract(frame, schema)]


@dg.asset(
    group_name=GROUP,
    kinds={PANDAS, PARQUET},
    partitions_def=trading_day_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    metadata={"partition_expr": "date", **schema_metadata(frames.COMPOSITE_SCORE)},
    description="Composite score per day and ticker: the factor panel weighted by the latest "
    "weights fitted before that day. Rank 1 is the most attractive.",
)
def composite_score(
    context: dg.AssetExecutionContext, factor_panel: pd.DataFrame, factor_weights: pd.DataFrame
) -> dg.Output[pd.DataFrame]:
    scores = composite_scores(factor_panel, factor_weights)
    keys = context.partition_key_range
    days = trading_days(date.fromisoformat(keys.start), date.fromisoformat(keys.end))
    missing = days.difference(pd.DatetimeIndex(scores["date"].unique()))  # not row by row
    if len(missing):
        context.log.warning(f"composite_score: no weights fitted yet for {len(missing)} day(s)")
    meta = frame_metadata(scores, date_col="date", entity_col="ticker", context=context)
    return dg.Output(scores, metadata=for_partitions(context, meta))


@frame_check(
    composite_score,
    description="Every score finite, every day of the run scored, ranks complete.",
)
def composite_score_valid(composite_score: pd.DataFrame) -> dg.AssetCheckResult:
    reports = _contract_reports(composite_score, frames.COMPOSITE_SCORE)
    problems = [p for r in reports for p in r.problems]
    return dg.AssetCheckResult(
        passed=len(composite_score) > 0 and not problems,
        metadata=_metadata({}, *reports),
        description="; ".join(problems[:3]) or ("no scores" if not len(composite_score) else "ok"),
    )


@dg.asset(
    group_name=GROUP,
    kinds={PANDAS, MATPLOTLIB, PARQUET},
    ins={
        "factor_panel": dg.AssetIn(),
        "composite_score": dg.AssetIn(),
        "factor_weights": dg.AssetIn(),
    },
    deps=[dg.AssetKey("prices")],
    description="Out-of-sample evaluation (dates on or after the first refit) of each factor "
    "and the composite: IC, rank IC, ICIR, t-stat and p-value (EWC long-run variance, "
    "Student t), quantile returns, "
    "top-minus-bottom spread, turnover and coverage.",
)
def factor_evaluation(
    context: dg.AssetExecutionContext,
    factor_panel: pd.DataFrame,
    composite_score: pd.DataFrame,
    factor_weights: pd.DataFrame,
    warehouse: WarehouseResource,
    sources: SourcesResource,
    research: ResearchConfig,
) -> dg.Output[pd.DataFrame]:
    horizon = research.horizon_days
    targets = targets_for(warehouse.warehouse(), factor_panel, horizon, sources.sources().benchmark)
    result, oos = evaluate_out_of_sample(
        factor_panel, composite_score, factor_weights, targets, horizon
    )
    table = evaluation_table(result)
    context.log.info(
        f"composite OOS rank IC {oos.rank_ic_mean:.4f} "
        f"(t={oos.rank_ic_tstat:.2f}, {oos.n_dates} dates)"
    )
    meta: dict[str, Any] = {
        "summary": dg.MetadataValue.md(table.to_markdown(index=False, floatfmt=".4f")),
        "cumulative_rank_ic": dg.MetadataValue.md(
            markdown_image(cumulative_ic_png(result.daily_rank_ic), "cumulative rank IC")
        ),
        "quantile_returns": dg.MetadataValue.md(
            markdown_image(quantile_returns_png(result.quantile_table()), "quantile returns")
        ),
        **oos.metadata(),
        "inference": describe_inference(horizon),
        "dagster/row_count": len(table),
    }
    return dg.Output(table, metadata=meta)


def evaluation_table(result: Evaluation) -> pd.DataFrame:
    """One row per signal: every scalar metric plus the quantile mean forward returns."""
    rows = []
    for signal in result.signals.values():
        row = {k: v for k, v in asdict(signal).items() if k != "quantile_returns"}
        row |= {f"q{i}": v for i, v in enumerate(signal.quantile_returns, 1)}
        rows.append(row)
    return pd.DataFrame(rows).rename(columns={"name": "signal"})


refit_job = dg.define_asset_job(
    "refit_job",
    selection=dg.AssetSelection.assets(factor_weights),
    description="Refit the walk-forward weight schedule on the stored factor panel.",
)
composite_job = dg.define_asset_job(
    "composite_job",
    selection=dg.AssetSelection.assets(composite_score),
    partitions_def=trading_day_partitions,
    description="Composite scores for trading days with the weights as fitted.",
)
evaluation_job = dg.define_asset_job(
    "evaluation_job",
    selection=dg.AssetSelection.assets(factor_evaluation),
    description="Out-of-sample evaluation of the factors and the composite, with plots.",
)

scoring_defs = dg.Definitions(
    assets=[factor_weights, composite_score, factor_evaluation],
    asset_checks=[weights_valid, composite_score_valid],
    jobs=[refit_job, composite_job, evaluation_job],
)
