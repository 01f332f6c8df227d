"""``investor-mimic demo``: generate (or reuse) the demo world and materialize the graph.

The stages run in this process through :class:`investor_mimic.defs.stages.StageRunner`
against a persistent Dagster instance under DAGSTER_HOME (from the environment, else
``<data dir>/dagster_home``), as runs of the code location ``make ui`` loads, tagged
``source: demo`` with the world's size and seed: ``make ui`` afterwards shows every run
on the Overview timeline, every partition, check and metadata plot, and re-executes
any of them. Long daily ranges run as single-run backfills. This module imports no
Dagster; the runner does.

The demo ends where a user's day ends: with the proposals of the last scored day D. The
sources are loaded one session further (the world's last session, D+1), so an approved
order has the bar it fills on; the paper broker's clock is pinned to D's evening, the
moment the score of D is final and its orders wait for D+1's open.

One data dir holds one demo world's data at a time. Running another size or seed there
switches worlds (:func:`reset_for_world`): the previous world's warehouse (with its paper
orders and approvals) and asset files are deleted, the instance forgets their
materializations, the ``filers`` partitions become the new world's filers, and the demo
says so on stderr. Runs stay in the instance's history, tagged with their world.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from investor_mimic.core.progress import Mode, Progress
from investor_mimic.settings import Settings, remember_demo_world, remembered_world_id

#: Trading days of history before the first factor date (12-1 momentum needs 252).
WARMUP_DAYS = 260


@dataclass
class Tally:
    """What the runs did: partitions and rows per asset, check outcomes, timings.

    Check outcomes count evaluations: one per check and partition of the run.
    """

    partitions: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    passed: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # by asset, last run

    def add(self, stage: Any) -> None:
        """Count a :class:`~investor_mimic.defs.stages.StageRun`."""
        for mat in stage.materializations:
            if mat.metrics:
                self.metrics[mat.asset] = dict(mat.metrics)
            self.partitions[mat.asset] += 1
            self.rows[mat.asset] += mat.rows or 0  # each partition's own rows
        for checked in stage.checks:
            if checked.passed:
                self.passed += 1
            else:
                self.failed.append(f"{checked.asset}:{checked.check}")


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


class WorldSwitchError(RuntimeError):
    """The data dir holds data the demo may not delete to switch worlds."""


def _remove(path: Path) -> None:
    """Rename, then delete: a reader sees the whole thing or nothing, never half of it."""
    gone = path.with_name(f".{path.name}.removing-{os.getpid()}")
    os.replace(path, gone)
    if gone.is_dir():
        shutil.rmtree(gone)
    else:
        gone.unlink()


def reset_for_world(
    settings: Settings, wipe_instance: Callable[[], int] | None = None
) -> str | None:
    """Make the data dir ready for ``settings``' demo world; return a notice if it switched.

    The data dir's world is the one ``demo_world.env`` names. When another world is
    asked for, its SQLite warehouse and local asset files are deleted and
    ``wipe_instance`` (forgetting the instance's materializations) is called; only then
    is the new world recorded, so an interrupted switch is redone by the next run.
    Refuses (:class:`WorldSwitchError`) rather than delete what it cannot vouch for: a
    warehouse or asset store configured elsewhere (``IM_WAREHOUSE_URL``,
    ``IM_ASSET_STORAGE_URL``), or data in a data dir that records no demo world.
    """
    data_dir = settings.data_dir
    previous, current = remembered_world_id(data_dir), settings.world_id
    if previous == current:
        return None
    stored = [
        p
        for p in (
            data_dir / "warehouse.db",
            *(data_dir / f"warehouse.db{s}" for s in ("-wal", "-shm", "-journal")),
            data_dir / "assets",
        )
        if p.exists()
    ]
    if previous is None and stored:
        raise WorldSwitchError(
            f"{data_dir} holds {', '.join(p.name for p in stored)} but records no demo world "
            f"(no {data_dir / 'demo_world.env'}); the demo will not delete data it did not "
            "write: use another IM_DATA_DIR or remove them"
        )
    if previous is not None and (settings.warehouse_url or settings.asset_storage_url):
        raise WorldSwitchError(
            f"the warehouse/asset store configured by IM_WAREHOUSE_URL/IM_ASSET_STORAGE_URL "
            f"holds demo world {previous}; running {current} would mix two worlds: point "
            "them at empty storage, or run the demo with IM_WORLD_* of that world"
        )
    for path in stored:
        _remove(path)
    wiped = wipe_instance() if wipe_instance is not None and previous is not None else 0
    remember_demo_world(settings)
    if previous is None:
        return None
    return (
        f"switching the demo world of {data_dir} from {previous} to {current}: deleted "
        f"{previous}'s warehouse (paper orders and approvals included) and asset files, "
        f"forgot {wiped} assets' materializations in DAGSTER_HOME (runs stay, tagged with "
        "their world)"
    )


def run_pipeline(
    settings: Settings, *, quiet: bool = False, progress: Mode = "auto"
) -> dict[str, Any]:
    """Materialize every stage for the configured demo world; return the summary.

    The data dir switches to this world first (:func:`reset_for_world`). Each stage
    reports its results (materializations and check evaluations, per partition) as they
    are stored: a bar on a terminal, a line every few seconds otherwise, nothing when
    ``quiet`` or ``progress="quiet"`` (``--json``).
    """
    if quiet:
        progress = "quiet"
    from investor_mimic.defs.instance import (
        dagster_home,
        open_instance,
        sync_dynamic_partitions,
        wipe_asset_history,
    )
    from investor_mimic.settings import get_settings

    instance = open_instance(dagster_home(settings.data_dir))
    notice = reset_for_world(settings, lambda: wipe_asset_history(instance))
    if notice:
        _log(notice, quiet)
    # the definitions (trading-day partitions) span the recorded world: read them now
    get_settings.cache_clear()

    from investor_mimic.core.calendar import quarter_ends, trading_days
    from investor_mimic.defs.partitions import FILERS, multi_partition_key
    from investor_mimic.defs.stages import StageRunner
    from investor_mimic.defs.trading.demo import (
        DEMO_EVENING,
        pin_paper_clock,
        request_approval,
        trading_summary,
    )
    from investor_mimic.demo import ensure_world

    t0 = time.perf_counter()
    manifest = ensure_world(
        settings.world_dir, settings.world_size, settings.world_seed, settings.world_null
    )
    _log(f"world {settings.world_dir} ready ({time.perf_counter() - t0:.1f}s)", quiet)
    tags = {
        "source": "demo",
        "world_size": manifest.size,
        "world_seed": str(manifest.seed),
        "world_null": str(manifest.null).lower(),
    }
    runner = StageRunner(instance, tags=tags)
    tally = Tally()

    def run(
        job: str,
        stage: str,
        partition_range: tuple[str, str] | None = None,
        partition_key: str | None = None,
    ) -> None:
        with Progress(stage, unit="results", mode=progress) as bar:
            result = runner.run(
                job, partition_range=partition_range, partition_key=partition_key, progress=bar
            )
        tally.add(result)
        tally.seconds[stage] = tally.seconds.get(stage, 0.0) + result.seconds
        _log(f"  {stage}: {result.seconds:.1f}s", quiet)
        if not result.success:
            raise RuntimeError(f"stage {stage} failed: {result.failure}")

    days = trading_days(manifest.start, manifest.end)
    first, last = days[0].strftime("%Y-%m-%d"), days[-1].strftime("%Y-%m-%d")
    panel_first = days[min(WARMUP_DAYS, len(days) - 1)].strftime("%Y-%m-%d")
    # the last session is "tomorrow": its bars fill the orders proposed on the day before
    scored = days[-2].strftime("%Y-%m-%d")
    filers = [f.cik for f in manifest.filers]
    stale = sync_dynamic_partitions(instance, FILERS, filers)
    if stale:
        _log(
            f"filers partitions reset to this world's {len(filers)} filers "
            f"(removed {len(stale)} of another world)",
            quiet,
        )

    with runner:
        _log("universe", quiet)
        run("universe_job", "universe")
        quarters = [q.isoformat() for q in quarter_ends(manifest.start, manifest.end)]
        tracked = instance.get_dynamic_partitions(FILERS)  # the range spans this order
        _log(f"13F holdings: {len(quarters)} quarters x {len(filers)} filers (single run)", quiet)
        run(
            "thirteenf_job",
            "thirteenf_holdings",
            (
                multi_partition_key(quarter=quarters[0], filer=tracked[0]),
                multi_partition_key(quarter=quarters[-1], filer=tracked[-1]),
            ),
        )
        _log(f"daily sources {first}..{last} (single run)", quiet)
        run("daily_sources_job", "daily_sources", (first, last))
        _log("SQL models", quiet)
        run("sql_models_job", "sql_models")
        _log(f"factor panel {panel_first}..{scored} (single run)", quiet)
        run("factor_panel_job", "factor_panel", (panel_first, scored))
        _log("walk-forward weights", quiet)
        run("refit_job", "factor_weights")
        _log("composite score", quiet)
        run("composite_job", "composite_score", (panel_first, scored))
        _log("evaluation", quiet)
        run("evaluation_job", "factor_evaluation")
        _log("backtest (the stored panel and composite through the portfolio code)", quiet)
        run("backtest_job", "backtest")
        day = date.fromisoformat(scored)
        if settings.broker == "paper":
            _log(
                f"portfolio and trade proposals for {scored} "
                f"(paper broker at {DEMO_EVENING:%H:%M})",
                quiet,
            )
            pin_paper_clock(settings, day)
            run("trading_job", "trade_proposals", partition_key=scored)
            _log("approval request (the approval sensor, evaluated once)", quiet)
            approval = request_approval(instance, settings)
        else:
            _log(
                f"trading skipped: the demo trades on the paper broker, not {settings.broker}",
                quiet,
            )

    summary = _summary(settings, manifest, tally, time.perf_counter() - t0)
    if settings.broker == "paper":
        summary |= trading_summary(settings, instance, day) | {"approval": approval}
    return summary


def _summary(settings: Settings, manifest: Any, tally: Tally, seconds: float) -> dict[str, Any]:
    from investor_mimic.defs.stages import stored_value

    weights: Any = stored_value("factor_weights", settings)
    evaluation: Any = stored_value("factor_evaluation", settings)
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
        "backtest": backtest_summary(tally.metrics.get("backtest", {})),
        "seconds": {k: round(v, 1) for k, v in tally.seconds.items()}
        | {"total": round(seconds, 1)},
        "dagster_home": os.environ.get("DAGSTER_HOME"),
    }


def backtest_summary(metrics: dict[str, float]) -> dict[str, float | None]:
    """The ``backtest`` asset's metadata metrics (returns after costs, 252 days a year)
    plus ``active_cagr``: the strategy's CAGR minus the benchmark's. NaN becomes None."""
    out: dict[str, float | None] = {
        k: None if math.isnan(v) else round(v, 6) for k, v in sorted(metrics.items())
    }
    cagr, bench = out.get("cagr"), out.get("benchmark_cagr")
    out["active_cagr"] = None if cagr is None or bench is None else round(cagr - bench, 6)
    return out


def backtest_headline(b: dict[str, Any]) -> str:
    """One line: CAGR against the benchmark's, active return a year, Sharpe, max drawdown."""

    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{v:+.1%}"

    sharpe = b.get("sharpe")
    drawdown = b.get("max_drawdown")
    return (
        f"backtest (out of sample, after costs): CAGR {pct(b.get('cagr'))} vs benchmark "
        f"{pct(b.get('benchmark_cagr'))}, active {pct(b.get('active_cagr'))} a year, "
        f"Sharpe {'n/a' if sharpe is None else f'{sharpe:.2f}'}, max drawdown "
        f"{'n/a' if drawdown is None else f'{drawdown:.1%}'}"
    )


def print_summary(summary: dict[str, Any]) -> None:
    from tabulate import tabulate

    w = summary["world"]
    print(
        f"Demo world {w['size']} seed {w['seed']}{' (null)' if w['null'] else ''}: "
        f"{w['tickers']} tickers, {w['filers']} filers, {w['start']}..{w['end']}"
    )
    if "proposals" in summary:
        print_proposals(summary)
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
    if summary.get("backtest"):
        print(f"\n{backtest_headline(summary['backtest'])}")
    print(
        f"\ntook {summary['seconds']['total']}s; open the UI with `make ui` "
        f"(DAGSTER_HOME={summary['dagster_home']})"
    )


def run_demo(size: str | None, seed: int | None, null: bool, as_json: bool) -> int:
    import warnings

    warnings.filterwarnings("ignore", module="dagster")
    _apply_overrides(size, seed, null)
    # The world chosen here (flags, environment, .env, defaults) becomes the data dir's
    # world, so the UI started on it later loads the same definitions.
    signal.signal(signal.SIGTERM, _interrupt)  # a killed demo ends its run like Ctrl-C
    try:
        summary = run_pipeline(Settings(), quiet=False, progress="quiet" if as_json else "auto")
    except WorldSwitchError as exc:
        print(f"investor-mimic demo: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "investor-mimic demo: interrupted; the run in progress is marked failed and "
            "nothing is half-written: run the demo again to finish",
            file=sys.stderr,
        )
        return 130
    if as_json:
        print(json.dumps(summary, indent=2, sort_keys=True, default=str))
    else:
        print_summary(summary)
    return 0 if summary["checks"]["failed"] == 0 else 1


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM as KeyboardInterrupt: Dagster then marks the run in progress as failed
    instead of leaving it STARTED forever."""
    raise KeyboardInterrupt(f"signal {signum}")


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
