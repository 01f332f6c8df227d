"""Every filing the demo world writes parses back to the world's own truth frames.

Why: the demo world writes 13F and Form 4 submissions in the SEC formats and records
what it meant to say (``truth/*.parquet``); the parsers, written independently, must
recover exactly that — values, units, amendments, point-in-time stamps and all.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from investor_mimic.core.frames import INSIDER_TRADES, THIRTEENF_HOLDINGS, FrameSpec, coerce
from investor_mimic.parsing.extract import holding_rows, trade_rows, typed_frame
from investor_mimic.parsing.submission import split_submission


def _sorted(frame: pd.DataFrame, spec: FrameSpec) -> pd.DataFrame:
    return coerce(frame, spec).sort_values(list(spec.key)).reset_index(drop=True)


def test_demo_world_filings_parse_to_the_world_truth(tiny_world: Path) -> None:
    universe = pd.read_csv(tiny_world / "universe.csv", dtype=str)
    cusip_to_ticker = dict(zip(universe["cusip"], universe["ticker"], strict=True))
    holdings: list[dict[str, object]] = []
    trades: list[dict[str, object]] = []
    submissions = sorted((tiny_world / "edgar").rglob("*.txt"))
    assert submissions, "the demo world wrote no full submissions"
    for path in submissions:  # rows per filing, typed once at the end, as the pipeline does
        text = path.read_bytes()
        form = split_submission(text).header.form_type or ""
        if form.startswith("13F"):
            holdings += holding_rows(text, cusip_to_ticker)
        else:
            trades += trade_rows(text)
    truth_holdings = pd.read_parquet(tiny_world / "truth" / "thirteenf_holdings.parquet")
    truth_trades = pd.read_parquet(tiny_world / "truth" / "insider_trades.parquet")
    pd.testing.assert_frame_equal(
        _sorted(typed_frame(holdings, THIRTEENF_HOLDINGS), THIRTEENF_HOLDINGS),
        _sorted(truth_holdings, THIRTEENF_HOLDINGS),
    )
    pd.testing.assert_frame_equal(
        _sorted(typed_frame(trades, INSIDER_TRADES), INSIDER_TRADES),
        _sorted(truth_trades, INSIDER_TRADES),
    )
