"""Source assets: the universe, 13F holdings, insider trades, prices and news sentiment.

Each asset fetches through the configured backend (demo world or real service), refuses
to write a partition whose data breaks a fatal quality rule (nothing is written, the run
fails with the reasons), loads the rows into the warehouse's ``raw_<asset>`` table for
the SQL models, and returns the frame for Parquet storage. The same rules run again as
blocking asset checks, so the UI shows them per partition.
"""

from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Any

import dagster as dg
import pandas as pd

from investor_mimic.core import frames, quality, security_master
from investor_mimic.core.calendar import previous_trading_day, trading_days
from investor_mimic.defs.checks import quality_check
from investor_mimic.defs.metadata import (
    PANDAS,
    PARQUET,
    for_partitions,
    frame_metadata,
    schema_metadata,
    warehouse_kind,
)
from investor_mimic.defs.partitions import (
    FILERS,
    filer_partitions,
    thirteenf_partitions,
    trading_day_partitions,
)
from investor_mimic.defs.progress import step_progress
from investor_mimic.defs.resources import WarehouseResource
from investor_mimic.defs.sources.resource import SourcesResource
from investor_mimic.defs.sources.retry import retrying
from investor_mimic.parsing.extract import typed_frame
from investor_mimic.settings import get_settings
from investor_mimic.sources import edgar
from investor_mimic.sources.universe import load_universe

GROUP = "sources"
#: Computed in pandas; stored as Parquet and as the warehouse's raw_<asset> table.
KINDS = {PANDAS, PARQUET, warehouse_kind()}


Rule = Callable[[pd.DataFrame], quality.Report]

#: Each source's contract (schema, unique key, row rules) and its fatal rules beyond it:
#: applied before writing (:func:`_require_valid`) and again as blocking asset checks
#: (:func:`_checks`).
RULES: dict[str, tuple[frames.FrameSchema, dict[str, Rule]]] = {
    "universe": (frames.UNIVERSE, {}),
    "thirteenf_holdings": (
        frames.THIRTEENF_HOLDINGS,
        {"cover_totals": quality.cover_totals, "value_units": quality.value_units},
    ),
    "insider_trades": (frames.INSIDER_TRADES, {}),
    "prices": (frames.PRICES, {}),
    "news_sentiment": (frames.NEWS_SENTIMENT, {}),
}


def _rules(name: str) -> dict[str, Rule]:
    spec, extra = RULES[name]
    return {"contract": partial(quality.contract, spec=spec)} | extra


def _require_valid(name: str, frame: pd.DataFrame) -> None:
    """Fail the step, writing nothing, when any fatal rule of source ``name`` is broken."""
    problems = [p for rule in _rules(name).values() for p in rule(frame).problems]
    if problems:
        raise dg.Failure(
            description=f"refusing to write {len(problems)} problem(s): {problems[0]}",
            metadata={"problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems[:20]))},
        )


def _store(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    name: str,
    frame: pd.DataFrame,
    match: dict[str, Any],
    *,
    date_col: str | None = None,
    entity_col: str | None = None,
) -> dict[str, Any]:
    """Validate (writing nothing on a fatal rule), replace the partition's rows of
    ``raw_<name>``, and return the materialization metadata."""
    _require_valid(name, frame)
    warehouse.warehouse().replace_rows(f"raw_{name}", frame, match)
    return frame_metadata(frame, date_col=date_col, entity_col=entity_col, context=context)


def _store_days(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    name: str,
    frame: pd.DataFrame,
    start: date,
    end: date,
) -> dict[str, Any]:
    """:func:`_store` for a daily source: replaces the run's days [start, end]."""
    column = DAY_COLUMN[name]
    return _store(
        context,
        warehouse,
        name,
        frame,
        {column: (start, end)},
        date_col=column,
        entity_col="ticker",
    )


#: Concurrency pool of each source that calls an external service: one pool per service,
#: so its rate limit holds across runs (staging/production give each pool one slot in
#: deploy/<env>/dagster.yaml). Both EDGAR assets share ``edgar``: the SEC counts requests
#: per client, not per asset.
POOLS = {
    "thirteenf_holdings": "edgar",
    "insider_trades": "edgar",
    "prices": "prices",
    "news_sentiment": "news",
}


def _day_range(context: dg.AssetExecutionContext) -> tuple[date, date]:
    keys = context.partition_key_range
    return date.fromisoformat(keys.start), date.fromisoformat(keys.end)


@dg.asset(
    group_name=GROUP,
    kinds=KINDS,
    metadata=schema_metadata(frames.UNIVERSE),
    description="The security master: ticker, CIK, CUSIP, sector.",
)
def universe(
    context: dg.AssetExecutionContext, sources: SourcesResource, warehouse: WarehouseResource
) -> dg.Output[pd.DataFrame]:
    src = sources.sources()
    frame = load_universe(src.universe_path)
    meta = _store(context, warehouse, "universe", frame, {}, entity_col="ticker")
    meta["sectors"] = int(frame["sector"].nunique())
    return dg.Output(frame, metadata=meta)


@dg.asset(
    group_name=GROUP,
    kinds=KINDS,
    partitions_def=thirteenf_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    metadata={
        "partition_expr": {"filer": "filer_cik", "quarter": "period_of_report"},
        **schema_metadata(frames.THIRTEENF_HOLDINGS),
    },
    pool=POOLS["thirteenf_holdings"],
    description="13F-HR holdings of one filer for one report quarter, every version "
    "(original and amendments), values in dollars, each row known from its acceptance. "
    "A run over many (quarter, filer) partitions validates all of them before writing any.",
)
def thirteenf_holdings(
    context: dg.AssetExecutionContext,
    universe: pd.DataFrame,
    sources: SourcesResource,
    warehouse: WarehouseResource,
) -> dg.Output[pd.DataFrame]:
    client = sources.sources().edgar
    cusip_map = dict(zip(universe["cusip"], universe["ticker"], strict=True))
    rows: list[dict[str, Any]] = []
    spans: dict[tuple[str, date], slice] = {}  # each partition's rows in ``rows``
    keys = context.partition_keys
    with step_progress(context, "thirteenf_holdings", len(keys), "filings") as progress:
        for key in keys:
            dims = thirteenf_partitions.get_partition_key_from_str(key).keys_by_dimension
            filer, period = dims["filer"], date.fromisoformat(dims["quarter"])
            found = edgar.thirteenf_holding_rows(client, filer, period, cusip_map)
            spans[(filer, period)] = slice(len(rows), len(rows) + len(found))
            rows += found
            progress.advance(1, len(found))
    frame = typed_frame(rows, frames.THIRTEENF_HOLDINGS)  # typed once, not per filing
    _require_valid("thirteenf_holdings", frame)
    wh = warehouse.warehouse()
    for (filer, period), span in spans.items():
        wh.replace_rows(
            "raw_thirteenf_holdings",
            frame.iloc[span].reset_index(drop=True),
            {"filer_cik": filer, "period_of_report": period},
        )
    meta = frame_metadata(frame, entity_col="cusip", context=context)
    meta["filings"] = int(frame["accession"].nunique())
    meta["value_usd"] = float(frame["value_usd"].sum())
    meta["mapped_to_universe"] = float(frame["ticker"].notna().mean()) if len(frame) else 0.0
    return dg.Output(frame, metadata=for_partitions(context, meta))


#: The date column that places a daily source's row in its trading-day partition: the
#: IO manager splits ranges by it and the raw table's partition rows are matched on it.
DAY_COLUMN = {"insider_trades": "known_date", "prices": "date", "news_sentiment": "trading_date"}


def _daily_asset(name: str, description: str) -> Any:
    return dg.asset(
        name=name,
        group_name=GROUP,
        kinds=KINDS,
        partitions_def=trading_day_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        metadata={"partition_expr": DAY_COLUMN[name], **schema_metadata(RULES[name][0])},
        pool=POOLS[name],
        description=description,
    )


@_daily_asset(
    "insider_trades",
    "Form 4 transactions of universe issuers. Partition D holds the filings accepted "
    "after D-1's close and by D's close (known_date = D), so EDGAR days that are not "
    "trading days (Good Friday) and after-close filings land on the day they count for.",
)
def insider_trades(
    context: dg.AssetExecutionContext,
    universe: pd.DataFrame,
    sources: SourcesResource,
    warehouse: WarehouseResource,
) -> dg.Output[pd.DataFrame]:
    start, end = _day_range(context)
    client = sources.sources().edgar
    tickers = edgar.issuer_tickers(dict(zip(universe["cik"], universe["ticker"], strict=True)))
    days = pd.date_range(previous_trading_day(start), end, freq="D")
    rows: list[dict[str, Any]] = []
    with step_progress(context, "insider_trades", len(days), "EDGAR days") as progress:
        for day in days:
            found = retrying(
                context, partial(edgar.insider_trade_rows, client, day.date(), tickers)
            )
            rows += found
            progress.advance(1, len(found))
    frame = typed_frame(rows, frames.INSIDER_TRADES)  # typed once, not per day
    frame = frame[
        frame[DAY_COLUMN["insider_trades"]].between(pd.Timestamp(start), pd.Timestamp(end))
    ]
    frame = frame.reset_index(drop=True)
    meta = _store_days(context, warehouse, "insider_trades", frame, start, end)
    meta["open_market_purchases"] = int((frame["code"] == "P").sum())
    return dg.Output(frame, metadata=for_partitions(context, meta))


@_daily_asset("prices", "Daily OHLCV bars of the universe and the benchmark.")
def prices(
    context: dg.AssetExecutionContext,
    universe: pd.DataFrame,
    sources: SourcesResource,
    warehouse: WarehouseResource,
) -> dg.Output[pd.DataFrame]:
    start, end = _day_range(context)
    src = sources.sources()
    listed = security_master.tickers(universe)
    tickers = [*listed, src.benchmark]
    frame = retrying(context, partial(src.bars.bars, tickers, start, end))
    meta = _store_days(context, warehouse, "prices", frame, start, end)
    days = trading_days(start, end)
    expected = len(days) + int(security_master.listed_mask(universe, days, listed).sum())
    meta["coverage"] = float(len(frame) / expected) if expected else 0.0
    return dg.Output(frame, metadata=for_partitions(context, meta))


@_daily_asset(
    "news_sentiment",
    "News items per ticker with relevance and sentiment; after-close items count next day. "
    "Alpha Vantage is asked market-wide by time window (within IM_ALPHAVANTAGE_RPD requests "
    "a run) and filtered to the universe; the coverage is in the metadata.",
)
def news_sentiment(
    context: dg.AssetExecutionContext,
    universe: pd.DataFrame,
    sources: SourcesResource,
    warehouse: WarehouseResource,
) -> dg.Output[pd.DataFrame]:
    start, end = _day_range(context)
    tickers = list(security_master.tickers(universe))
    fetched = retrying(context, partial(sources.sources().news.fetch, tickers, start, end))
    frame = fetched.frame
    meta = _store_days(context, warehouse, "news_sentiment", frame, start, end)
    meta["mean_sentiment"] = float(frame["sentiment"].mean()) if len(frame) else 0.0
    meta |= fetched.coverage(tickers)
    if not fetched.complete:
        context.log.warning(
            f"news_sentiment {start}..{end}: the request budget ({fetched.budget}) covered "
            f"items up to {fetched.covered_until:%Y-%m-%d %H:%M} only"
        )
    return dg.Output(frame, metadata=for_partitions(context, meta))


def _checks() -> list[dg.AssetChecksDefinition]:
    def describe(source: str, name: str, rule: Rule) -> str:
        if name == "contract":
            spec = RULES[source][0]
            rules = "; ".join(str(c.name) for c in spec.rules)
            return (
                "The frame contract in investor_mimic.core.frames: columns and dtypes, "
                f"no two rows sharing the key {spec.key}"
                + (f", and every row keeps its rules: {rules}" if rules else "")
                + "."
            )
        return (getattr(rule, "__doc__", None) or name).strip()

    checks = [
        quality_check(asset, name, rule, describe(asset.key.to_user_string(), name, rule))
        for asset in assets
        for name, rule in _rules(asset.key.to_user_string()).items()
    ]
    stale_days = get_settings().stale_after_days
    checks.append(
        quality_check(
            prices,
            "fresh",
            lambda f, universe: quality.stale_entities(
                f, "date", "ticker", stale_days, master=universe
            ),
            f"Every ticker listed on the newest bar's day has a bar within {stale_days} "
            "trading days of it (a delisted ticker's bars end with its final bar).",
            with_universe=True,
        )
    )
    return checks


daily_sources_job = dg.define_asset_job(
    "daily_sources_job",
    selection=dg.AssetSelection.assets(insider_trades, prices, news_sentiment),
    partitions_def=trading_day_partitions,
    description="The daily sources (Form 4 trades, bars, news) for trading days; a range of "
    "days runs as one single-run backfill.",
)


universe_job = dg.define_asset_job(
    "universe_job",
    selection=dg.AssetSelection.assets(universe),
    description="Reload the security master (run it first, and when listings change).",
)
thirteenf_job = dg.define_asset_job(
    "thirteenf_job",
    selection=dg.AssetSelection.assets(thirteenf_holdings),
    partitions_def=thirteenf_partitions,
    description="13F holdings of (report quarter, filer) partitions; the filings sensor "
    "requests new ones.",
)


@dg.sensor(
    job=thirteenf_job,
    minimum_interval_seconds=3600,
    description="Finds new 13F filings of tracked filers and requests their (quarter, filer) "
    "partitions.",
)
def thirteenf_filings_sensor(
    context: dg.SensorEvaluationContext, sources: SourcesResource
) -> dg.SensorResult:
    import json

    src = sources.sources()
    known = set(context.instance.get_dynamic_partitions(FILERS)) if context.instance else set()
    tracked = sorted(known | set(src.filer_ciks))
    seen = set(json.loads(context.cursor)) if context.cursor else set()
    quarters = set(
        thirteenf_partitions.get_partitions_def_for_dimension("quarter").get_partition_keys()
    )
    new = edgar.new_13f_filings(src.edgar, tracked, seen)
    requests = [
        dg.RunRequest(
            run_key=ref.accession,
            partition_key=dg.MultiPartitionKey(
                {"quarter": ref.report_date.isoformat(), "filer": ref.cik}
            ),
        )
        for ref in new
        if ref.report_date is not None and ref.report_date.isoformat() in quarters
    ]
    missing = sorted(set(tracked) - known)
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps(sorted(seen | {r.accession for r in new})),
        dynamic_partitions_requests=[filer_partitions.build_add_request(missing)]
        if missing
        else [],
    )


assets = [universe, thirteenf_holdings, insider_trades, prices, news_sentiment]
checks = _checks()
source_defs = dg.Definitions(
    assets=assets,
    asset_checks=checks,
    jobs=[universe_job, thirteenf_job, daily_sources_job],
    sensors=[thirteenf_filings_sensor],
)
