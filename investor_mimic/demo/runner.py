"""``investor-mimic demo``: generate (or reuse) the demo world and materialize the graph.

The stages run in-process against a persistent Dagster instance under DAGSTER_HOME
(default ``.data/dagster_home``), so ``make ui`` afterwards shows every run, partition,
check and metadata plot. Long daily ranges run as single-run backfills.

The demo ends where a user's day ends: with the proposals of the last scored day D. The
sources are loaded one session further (the world's last session, D+1), so an approved
order has the bar it fills on; the paper broker's clock is pinned to D's evening, the
moment the score of D is final and its orders wait for D+1's open.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as clock_time
from typing import Any

from investor_mimic.settings import Settings

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
#: Trading days of history before the first factor date (12-1 momentum needs 252).
WARMUP_DAYS = 260
#: Dagster's console logger prints every event at DEBUG; the demo prints its own progress.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
#: Where the demo's "now" stands: the evening of the last scored day.
DEMO_EVENING = clock_time(20, 0)


@dataclass
class Tally:
    """What the runs did: partitions and rows per asset, check outcomes, timings."""

    partitions: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    passed: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, result: Any) -> None:
        seen_runs: set[str] = set()
        for event in result.get_asset_materialization_events():
            mat = event.step_materialization_data.materialization
            name = mat.asset_key.to_user_string()
            self.partitions[name] += 1
            if name not in seen_runs:  # a range run repeats the whole range's metadata per key
                seen_runs.add(name)
                rows = mat.metadata.get("dagster/row_count")
                self.rows[name] += int(rows.value) if rows is not None else 0
        for evaluation in result.get_asset_check_evaluations():
            if evaluation.passed:
                self.passed += 1
            else:
                self.failed.append(
                    f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
                )


def _apply_overrides(size: str | None, seed: int | None, null: bool) -> None:
    """CLI flags become settings through the environment, before anything reads them."""
    if size:
        os.environ["IM_WORLD_SIZE"] = size
    if seed is not None:
        os.environ["IM_WORLD_SEED"] = str(seed)
    if null:
        os.environ["IM_WORLD_NULL"] = "true"


def _log(msg: str, quiet: bool) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def run_pipeline(settings: Settings, *, quiet: bool = False) -> dict[str, Any]:
    """Materialize every stage for the configured demo world; return the summary."""
    import dagster as dg

    from investor_mimic.core.calendar import quarter_ends, trading_days
    from investor_mimic.definitions import build_definitions
    from investor_mimic.defs.instance import prepare_home
    from investor_mimic.defs.partitions import FILERS
    from investor_mimic.demo import ensure_world

    t0 = time.perf_counter()
    manifest = ensure_world(
        settings.world_dir, settings.world_size, settings.world_seed, settings.world_null
    )
    _log(f"world {settings.world_dir} ready ({time.perf_counter() - t0:.1f}s)", quiet)
    home = prepare_home(settings.data_dir.resolve() / "dagster_home")
    os.environ["DAGSTER_HOME"] = str(home)
    instance = dg.DagsterInstance.get()
    defs = build_definitions()
    tally = Tally()

    def run(job: str, stage: str, **kwargs: Any) -> None:
        start = time.perf_counter()
        result = defs.resolve_job_def(job).execute_in_process(
            instance=instance, raise_on_error=False, run_config=QUIET, **kwargs
        )
        tally.add(result)
        took = time.perf_counter() - start
        tally.seconds[stage] = tally.seconds.get(stage, 0.0) + took
        _log(f"  {stage}: {took:.1f}s", quiet)
        if not result.success:
            failure = next((e.message for e in result.all_events if e.is_failure), "failed")
            raise RuntimeError(f"stage {stage} failed: {failure}")

    days = trading_days(manifest.start, manifest.end)
    first, last = days[0].strftime("%Y-%m-%d"), days[-1].strftime("%Y-%m-%d")
    panel_first = days[min(WARMUP_DAYS, len(days) - 1)].strftime("%Y-%m-%d")
    # the last session is "tomorrow": its bars fill the orders proposed on the day before
    scored = days[-2].strftime("%Y-%m-%d")
    filers = [f.cik for f in manifest.filers]
    instance.add_dynamic_partitions(
        FILERS, [f for f in filers if not instance.has_dynamic_partition(FILERS, f)]
    )

    _log("universe", quiet)
    run("universe_job", "universe")
    quarters = [q.isoformat() for q in quarter_ends(manifest.start, manifest.end)]
    tracked = instance.get_dynamic_partitions(FILERS)  # the range spans this order
    _log(f"13F holdings: {len(quarters)} quarters x {len(filers)} filers (single run)", quiet)
    run(
        "thirteenf_job",
        "thirteenf_holdings",
        tags={
            RANGE_START: str(dg.MultiPartitionKey({"quarter": quarters[0], "filer": tracked[0]})),
            RANGE_END: str(dg.MultiPartitionKey({"quarter": quarters[-1], "filer": tracked[-1]})),
        },
    )
    _log(f"daily sources {first}..{last} (single run)", quiet)
    run("daily_sources_job", "daily_sources", tags={RANGE_START: first, RANGE_END: last})
    _log("SQL models", quiet)
    run("sql_models_job", "sql_models")
    _log(f"factor panel {panel_first}..{scored} (single run)", quiet)
    run("factor_panel_job", "factor_panel", tags={RANGE_START: panel_first, RANGE_END: scored})
    _log("walk-forward weights", quiet)
    run("refit_job", "factor_weights")
    _log("composite score", quiet)
    run("composite_job", "composite_score", tags={RANGE_START: panel_first, RANGE_END: scored})
    _log("evaluation", quiet)
    run("evaluation_job", "factor_evaluation")
    day = date.fromisoformat(scored)
    if settings.broker == "paper":
        _log(
            f"portfolio and trade proposals for {scored} (paper broker at {DEMO_EVENING:%H:%M})",
            quiet,
        )
        _paper_broker(settings).pin_clock(datetime.combine(day, DEMO_EVENING))
        run("trading_job", "trade_proposals", partition_key=scored)
        _log("approval request (the approval sensor, evaluated once)", quiet)
        approval = _request_approval(defs, instance, settings)
    else:
        _log(
            f"trading skipped: the demo trades on the paper broker, not {settings.broker}",
            quiet,
        )

    summary = _summary(settings, manifest, tally, time.perf_counter() - t0)
    if settings.broker == "paper":
        summary |= _trading_summary(settings, instance, day) | {"approval": approval}
    return summary


def _request_approval(defs: Any, instance: Any, settings: Settings) -> dict[str, Any]:
    """What the daemon's ``approval_requests_sensor`` would do next: one evaluation of the
    real sensor turns the new proposal into a pending request (or says why not)."""
    import dagster as dg

    from investor_mimic.approval.report import approval_notice
    from investor_mimic.approval.store import ApprovalStore
    from investor_mimic.defs.approval.sensors import approval_requests_sensor
    from investor_mimic.defs.resources import build_resources

    context = dg.build_sensor_context(
        instance=instance,
        repository_def=defs.get_repository_def(),
        resources={"warehouse": build_resources(settings)["warehouse"]},
    )
    outcome = approval_requests_sensor(context)
    store = ApprovalStore(settings.resolved_warehouse_url)
    try:
        latest = store.list_requests(limit=1)
    finally:
        store.dispose()
    said = getattr(outcome, "skip_message", None) or ""
    if not latest or latest[0].id not in said:
        return {"request_id": None, "status": None, "sensor": said, "approve_command": None}
    req = latest[0]
    return {
        "request_id": req.id,
        "status": req.status,
        "expires_at": req.expires_at.isoformat() if req.expires_at else None,
        "sensor": said,
        "notice": approval_notice(req),
        "approve_command": f"investor-mimic approvals approve {req.id}",
    }


def _paper_broker(settings: Settings) -> Any:
    from investor_mimic.broker.paper import PaperBroker
    from investor_mimic.core.warehouse import Warehouse

    return PaperBroker(Warehouse(settings.resolved_warehouse_url), settings.trading)


def _trading_summary(settings: Settings, instance: Any, day: date) -> dict[str, Any]:
    """The day's proposals with each order's limit checks, and the book they act on."""
    import dagster as dg

    from investor_mimic.core.calendar import next_trading_day
    from investor_mimic.defs.resources import asset_io_manager
    from investor_mimic.defs.trading.checks import proposal_approvable
    from investor_mimic.portfolio import limits
    from investor_mimic.portfolio.book import book_from_frames

    io = asset_io_manager(settings)
    orders = io.read_asset(dg.AssetKey("trade_proposals"), day.isoformat())
    book = io.read_asset(dg.AssetKey("portfolio"), day.isoformat())
    proposed = book_from_frames(orders, book)
    per_order = limits.per_order(proposed, limits.check_all(proposed, settings.trading))
    approvable, reasons = proposal_approvable(instance, day)
    stocks = book[book["asset_class"] == "stock"]
    return {
        "proposal_day": day.isoformat(),
        "fills_at_open_of": next_trading_day(day).isoformat(),
        "approvable": approvable,
        "not_approvable_because": reasons,
        "proposals": [
            {
                "ticker": r.ticker,
                "side": r.side,
                "shares": float(r.shares),
                "ref_price": round(float(r.ref_price), 4),
                "notional": round(float(r.notional), 2),
                "target_weight": round(float(r.target_weight), 4),
                "score": None if r.score != r.score else round(float(r.score), 4),
                "sector": r.sector,
                "reason": r.reason,
                "limit_checks": per_order.get(str(r.ticker), {}),
            }
            for r in orders.itertuples()
        ],
        "portfolio": {
            "date": day.isoformat(),
            "equity": round(float(book["market_value"].sum()), 2),
            "cash": round(float(book.loc[book["asset_class"] == "cash", "market_value"].sum()), 2),
            "positions": [
                {
                    "ticker": r.ticker,
                    "shares": float(r.shares),
                    "avg_entry_price": round(float(r.avg_entry_price), 4),
                    "price": round(float(r.price), 4),
                    "market_value": round(float(r.market_value), 2),
                    "weight": round(float(r.weight), 4),
                }
                for r in stocks.itertuples()
            ],
        },
    }


def _summary(settings: Settings, manifest: Any, tally: Tally, seconds: float) -> dict[str, Any]:
    import dagster as dg

    from investor_mimic.defs.resources import asset_io_manager

    io = asset_io_manager(settings)
    weights = io.read_asset(dg.AssetKey("factor_weights"))
    evaluation = io.read_asset(dg.AssetKey("factor_evaluation"))
    latest = weights[weights["refit_date"] == weights["refit_date"].max()]
    return {
        "world": {
            "size": manifest.size,
            "seed": manifest.seed,
            "null": manifest.null,
            "start": manifest.start.isoformat(),
            "end": manifest.end.isoformat(),
            "tickers": manifest.n_tickers,
            "filers": len(manifest.filers),
            "path": str(settings.world_dir),
        },
        "assets": {
            k: {"partitions": tally.partitions[k], "rows": tally.rows[k]}
            for k in sorted(tally.partitions)
        },
        "checks": {
            "passed": tally.passed,
            "failed": len(tally.failed),
            "failed_checks": sorted(set(tally.failed)),
        },
        "weights": {r.factor: round(float(r.weight), 4) for r in latest.itertuples()},
        "weights_refit_date": str(latest["refit_date"].max().date()) if len(latest) else None,
        "oos_ic": {r.signal: round(float(r.rank_ic_mean), 4) for r in evaluation.itertuples()},
        "oos_ic_tstat": {
            r.signal: round(float(r.rank_ic_tstat), 2) for r in evaluation.itertuples()
        },
        "oos_ic_pvalue": {
            r.signal: float(f"{r.rank_ic_pvalue:.2g}") for r in evaluation.itertuples()
        },
        "planted": {
            k: v.model_dump() if hasattr(v, "model_dump") else v
            for k, v in manifest.planted.items()
        },
        "seconds": {k: round(v, 1) for k, v in tally.seconds.items()}
        | {"total": round(seconds, 1)},
        "dagster_home": os.environ.get("DAGSTER_HOME"),
    }


def print_summary(summary: dict[str, Any]) -> None:
    from tabulate import tabulate

    w = summary["world"]
    print(
        f"Demo world {w['size']} seed {w['seed']}{' (null)' if w['null'] else ''}: "
        f"{w['tickers']} tickers, {w['filers']} filers, {w['start']}..{w['end']}"
    )
    print()
    print(
        tabulate(
            [(k, v["partitions"], v["rows"]) for k, v in summary["assets"].items()],
            headers=["asset", "partitions", "rows"],
            tablefmt="simple",
        )
    )
    c = summary["checks"]
    print(f"\nchecks: {c['passed']} passed, {c['failed']} failed {c['failed_checks'] or ''}")
    from investor_mimic.factors.registry import REGISTRY

    planted = summary["planted"]
    rows = []
    for factor in [*REGISTRY.names, "composite"]:  # the registry's order, as the README's
        p = planted.get(factor)
        rows.append(
            (
                factor,
                summary["weights"].get(factor),
                summary["oos_ic"].get(factor),
                summary["oos_ic_tstat"].get(factor),
                p.get("strength") if isinstance(p, dict) else None,
            )
        )
    print()
    print(
        tabulate(
            rows,
            headers=[
                "factor",
                f"weight ({summary['weights_refit_date']})",
                "OOS rank IC",
                "t (EWC; p in --json)",
                "planted strength",
            ],
            tablefmt="simple",
            floatfmt=".4f",
        )
    )
    if "proposals" in summary:
        print_proposals(summary)
    print(
        f"\ntook {summary['seconds']['total']}s; open the UI with `make ui` "
        f"(DAGSTER_HOME={summary['dagster_home']})"
    )


def print_proposals(summary: dict[str, Any]) -> None:
    from tabulate import tabulate

    book = summary["portfolio"]
    print(
        f"\nPaper portfolio at the close of {book['date']}: equity {book['equity']:,.2f}, "
        f"cash {book['cash']:,.2f}, {len(book['positions'])} positions"
    )
    rows = [
        (
            p["side"],
            p["ticker"],
            f"{p['shares']:g}",
            p["ref_price"],
            p["notional"],
            f"{p['target_weight']:.1%}",
            p["sector"],
            p["reason"],
            "all passed"
            if all(p["limit_checks"].values())
            else ", ".join(k for k, v in p["limit_checks"].items() if not v),
        )
        for p in summary["proposals"]
    ]
    print(
        f"\nProposals of {summary['proposal_day']} for the open of "
        f"{summary['fills_at_open_of']} ({len(rows)} orders, sells first):"
    )
    if rows:
        print(
            tabulate(
                rows,
                headers=[
                    "side",
                    "ticker",
                    "shares",
                    "close",
                    "notional",
                    "target",
                    "sector",
                    "reason",
                    "limits",
                ],
                tablefmt="simple",
                floatfmt=",.2f",
            )
        )
    else:
        print("  none")
    if not summary["approvable"]:
        print(f"not approvable: {'; '.join(summary['not_approvable_because'])}")
    approval = summary.get("approval") or {}
    if approval.get("approve_command"):
        print(f"\napproval request {approval['request_id']} ({approval['status']}); approve with:")
        print(f"  {approval['approve_command']}")
    elif rows:
        print(f"\nno approval request: {approval.get('sensor') or 'see the log'}")


def run_demo(size: str | None, seed: int | None, null: bool, as_json: bool) -> int:
    import warnings

    warnings.filterwarnings("ignore", module="dagster")
    _apply_overrides(size, seed, null)
    from investor_mimic.settings import get_settings

    get_settings.cache_clear()
    summary = run_pipeline(get_settings(), quiet=False)
    if as_json:
        print(json.dumps(summary, indent=2, sort_keys=True, default=str))
    else:
        print_summary(summary)
    return 0 if summary["checks"]["failed"] == 0 else 1
