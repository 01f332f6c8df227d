"""Benchmark: our compute inside the two EDGAR source assets, without Dagster.

The bodies of ``insider_trades`` (every calendar day of the world: daily index, Form 4
parses) and ``thirteenf_holdings`` (every (quarter, filer) partition: submissions list,
13F parses) over the whole demo world, each in two shapes on today's parsers:

* **per-day / per-partition frames** — the shape the assets had before: one typed frame
  per day (``edgar.insider_trades``) or per partition (``edgar.thirteenf_holdings``),
  concatenated and typed again;
* **rows typed once** — the assets' shape now: ``edgar.insider_trade_rows`` /
  ``edgar.thirteenf_holding_rows`` collected over the run, one ``typed_frame``, and
  the 13F partitions sliced from it for the warehouse.

Both shapes must give equal frames (checked here with ``assert_frame_equal``, 13F
partitions included). Reading every file goes through the demo world's folder, so the
page cache is warmed by a first untimed pass. Wall and CPU (user + system) seconds
are printed; on a shared box wall time includes waiting for a core.

Run: ``python benchmarks/sources_speed.py [--size demo] [--seed 7] [--repeat 3]``
(the world is generated under ``$IM_DATA_DIR`` or ``.data/bench`` on first use).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from _common import bench_dir, log, print_machine, print_table, stopwatch

from investor_mimic.core import frames
from investor_mimic.core.calendar import previous_trading_day, quarter_ends
from investor_mimic.core.frames import cik10
from investor_mimic.demo import ensure_world
from investor_mimic.demo.manifest import load_manifest
from investor_mimic.demo.spec import size_spec
from investor_mimic.parsing.extract import typed_frame
from investor_mimic.sources import edgar
from investor_mimic.sources.universe import load_universe


class World:
    """What the two asset bodies read: the EDGAR client, the universe maps, the span."""

    def __init__(self, root: Path, size: str) -> None:
        spec = size_spec(size)
        self.start, self.end = spec.start, spec.end
        self.client = edgar.EdgarClient(edgar.FolderEdgarTransport(root / "edgar"))
        universe = load_universe(root / "universe.csv")
        self.issuers = dict(zip(universe["cik"], universe["ticker"], strict=True))
        self.cusips = dict(zip(universe["cusip"], universe["ticker"], strict=True))
        filers = [cik10(f.cik) for f in load_manifest(root).filers]
        self.partitions = [(f, q) for q in quarter_ends(self.start, self.end) for f in filers]

    def days(self) -> list[date]:
        """The calendar days the insider_trades asset reads for the world's span."""
        days = pd.date_range(previous_trading_day(self.start), self.end, freq="D")
        return [d.date() for d in days]

    def in_span(self, frame: pd.DataFrame) -> pd.DataFrame:
        known = frame["known_date"].between(pd.Timestamp(self.start), pd.Timestamp(self.end))
        return frame[known].reset_index(drop=True)


def insider_per_day(w: World) -> pd.DataFrame:
    parts = [edgar.insider_trades(w.client, day, w.issuers) for day in w.days()]
    return w.in_span(frames.coerce(pd.concat(parts, ignore_index=True), frames.INSIDER_TRADES))


def insider_rows_once(w: World) -> pd.DataFrame:
    tickers = edgar.issuer_tickers(w.issuers)
    rows: list[dict[str, Any]] = []
    for day in w.days():
        rows += edgar.insider_trade_rows(w.client, day, tickers)
    return w.in_span(typed_frame(rows, frames.INSIDER_TRADES))


def thirteenf_per_partition(w: World) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    parts = [edgar.thirteenf_holdings(w.client, f, q, w.cusips) for f, q in w.partitions]
    frame = frames.coerce(pd.concat(parts, ignore_index=True), frames.THIRTEENF_HOLDINGS)
    return frame, parts


def thirteenf_rows_once(w: World) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    rows: list[dict[str, Any]] = []
    spans = []
    for f, q in w.partitions:
        found = edgar.thirteenf_holding_rows(w.client, f, q, w.cusips)
        spans.append(slice(len(rows), len(rows) + len(found)))
        rows += found
    frame = typed_frame(rows, frames.THIRTEENF_HOLDINGS)
    return frame, [frame.iloc[span].reset_index(drop=True) for span in spans]


def timed(repeat: int, fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Best wall and best CPU seconds of ``repeat`` calls, and the last result."""
    walls, cpus = [], []
    result = None
    for _ in range(repeat):
        with stopwatch() as sw:
            result = fn()
        walls.append(sw.seconds)
        cpus.append(sw.cpu)
    return min(walls), min(cpus), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="demo")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print_machine()
    root = bench_dir() / "worlds" / f"{args.size}-{args.seed}"
    log(f"demo world {args.size} seed {args.seed} at {root}")
    ensure_world(root, args.size, args.seed)
    w = World(root, args.size)
    log("warming the page cache and the exchange calendar")
    insider_rows_once(w)
    thirteenf_rows_once(w)

    rows = []
    log("insider_trades")
    old_wall, old_cpu, old = timed(args.repeat, lambda: insider_per_day(w))
    new_wall, new_cpu, new = timed(args.repeat, lambda: insider_rows_once(w))
    pd.testing.assert_frame_equal(new, old)
    n_days = len(w.days())
    rows += [
        ("insider_trades", f"per-day frames ({n_days} days)", len(old), old_wall, old_cpu),
        ("insider_trades", "rows typed once (the asset)", len(new), new_wall, new_cpu),
    ]
    log("thirteenf_holdings")
    old_wall, old_cpu, (old, old_parts) = timed(args.repeat, lambda: thirteenf_per_partition(w))
    new_wall, new_cpu, (new, new_parts) = timed(args.repeat, lambda: thirteenf_rows_once(w))
    pd.testing.assert_frame_equal(new, old)
    for new_part, old_part in zip(new_parts, old_parts, strict=True):
        pd.testing.assert_frame_equal(new_part, old_part)
    n_parts = len(w.partitions)
    rows += [
        ("thirteenf_holdings", f"per-partition frames ({n_parts})", len(old), old_wall, old_cpu),
        ("thirteenf_holdings", "rows typed once (the asset)", len(new), new_wall, new_cpu),
    ]
    print_table(
        f"EDGAR source bodies, {args.size} world seed {args.seed}, best of {args.repeat} "
        "(frames of both shapes equal)",
        rows,
        ["asset", "shape", "rows", "wall s", "cpu s"],
    )


if __name__ == "__main__":
    main()
