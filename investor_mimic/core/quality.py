"""Data-quality rules: pure functions from a frame to a list of problems.

Why one module: the source assets refuse to write a partition whose problems are fatal
(so bad input never reaches the warehouse or a trade), and the asset checks report the
same rules in the UI. One definition of "bad" serves both. Column, key and row rules
live in the frame contracts (:mod:`investor_mimic.core.frames`); this module turns them
into reports, and adds the rules over whole filings and feeds (cover totals, value
units, staleness).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from investor_mimic.core import frames, security_master
from investor_mimic.core.calendar import sessions_between
from investor_mimic.core.frames import FrameSchema

#: Plausible range of a US share price; outside it the 13F value-unit decision is suspect.
PRICE_PER_SHARE_RANGE = (0.05, 20_000.0)


@dataclass
class Report:
    """Problems found by one rule, with counts and a small sample for the UI."""

    problems: list[str] = field(default_factory=list)
    metadata: dict[str, object] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.problems


def schema(frame: pd.DataFrame, spec: FrameSchema) -> Report:
    return Report(frames.schema_problems(frame, spec), {"columns": len(frame.columns)})


def duplicate_keys(frame: pd.DataFrame, key: tuple[str, ...]) -> Report:
    dup = frames.duplicate_keys(frame, key)
    report = Report(metadata={"duplicate_rows": int(dup.sum())})
    if dup.any():
        sample = frame.loc[dup, list(key)].head(5).astype(str).to_dict("records")
        report.problems.append(f"{int(dup.sum())} rows share a key {key}: {sample}")
    return report


def ranges(frame: pd.DataFrame, spec: FrameSchema) -> Report:
    """The row rules of ``spec`` (those whose columns ``frame`` has): rows per violation.

    Rules sharing a violation (the four "price > 0" rules) count a row once.
    """
    broken: dict[str, np.ndarray] = {}
    for check, col, mask in frames.rule_violations(frame, spec):
        label = f"{col} {check.error}" if col is not None else str(check.error)
        broken[label] = broken[label] | mask if label in broken else mask
    return _rules_report(frame, broken)


def price_ranges(prices: pd.DataFrame) -> Report:
    """Prices > 0, low <= open/close <= high, volume >= 0, all finite."""
    return ranges(prices, frames.PRICES)


def news_ranges(news: pd.DataFrame) -> Report:
    """Sentiment in [-1, 1], relevance in [0, 1], nothing published after its day's close."""
    return ranges(news, frames.NEWS_SENTIMENT)


def insider_ranges(trades: pd.DataFrame) -> Report:
    """Shares and prices >= 0, one-letter codes, A/D flags, known no earlier than filed."""
    return ranges(trades, frames.INSIDER_TRADES)


def holdings_ranges(holdings: pd.DataFrame) -> Report:
    """Values and shares >= 0, SH/PRN, Put/Call or none, known no earlier than filed."""
    return ranges(holdings, frames.THIRTEENF_HOLDINGS)


def cover_totals(holdings: pd.DataFrame, tolerance_usd: float = 1_000.0) -> Report:
    """Each filing's parsed row count and summed value equal its cover page totals.

    The tolerance allows for the cover rounding a dollar total to thousands.
    """
    report = Report()
    if holdings.empty:
        return report
    per = holdings.groupby("accession").agg(
        rows=("line", "size"),
        value=("value_usd", "sum"),
        entry_total=("cover_entry_total", "first"),
        value_total=("cover_value_total_usd", "first"),
    )
    bad_rows = per[per["rows"] != per["entry_total"]]
    stated = per["value_total"].notna()
    tol = np.maximum(tolerance_usd, 1e-6 * per["value_total"].abs())
    bad_value = per[stated & ((per["value"] - per["value_total"]).abs() > tol)]
    for acc, row in bad_rows.iterrows():
        report.problems.append(
            f"{acc}: {int(row['rows'])} rows parsed, cover says {int(row['entry_total'])}"
        )
    for acc, row in bad_value.iterrows():
        report.problems.append(
            f"{acc}: parsed value ${row['value']:,.0f}, cover says ${row['value_total']:,.0f}"
        )
    report.metadata = {"filings": len(per), "mismatched": len(bad_rows) + len(bad_value)}
    return report


def value_units(holdings: pd.DataFrame) -> Report:
    """The thousands/dollars decision yields plausible prices per share (median per filing)."""
    report = Report()
    sh = holdings[
        (holdings["share_type"] == "SH") & (holdings["shares"] > 0) & holdings["put_call"].isna()
    ]
    if sh.empty:
        return report
    implied = (sh["value_usd"] / sh["shares"]).groupby(sh["accession"]).median()
    multipliers = sh.groupby("accession")["value_multiplier"].first()
    lo, hi = PRICE_PER_SHARE_RANGE
    for acc, price in zip(implied.index, implied.to_numpy(), strict=True):
        if not lo <= price <= hi:
            report.problems.append(
                f"{acc}: value x{multipliers[acc]} implies a median ${price:,.4f} per share"
            )
    report.metadata = {
        "filings": len(implied),
        "in_thousands": int((multipliers == 1000).sum()),
        "in_dollars": int((multipliers == 1).sum()),
        "median_price_per_share": float(implied.median()),
    }
    return report


def contract(frame: pd.DataFrame, spec: FrameSchema) -> Report:
    """The whole contract of ``spec``: columns and dtypes, unique key, row rules.

    One report (one asset check), not three: a frame's contract is one fact, and each
    partitioned check costs an event-log write per partition of a single-run backfill.
    """
    parts = [schema(frame, spec), duplicate_keys(frame, spec.key), ranges(frame, spec)]
    return Report(
        [p for part in parts for p in part.problems],
        {k: v for part in parts for k, v in part.metadata.items()},
    )


def _rules_report(frame: pd.DataFrame, rules: dict[str, np.ndarray]) -> Report:
    report = Report(metadata={"rows": len(frame)})
    for name, mask in rules.items():
        n = int(np.asarray(mask).sum())
        report.metadata[name] = n
        if n:
            report.problems.append(f"{n} rows with {name}")
    return report


def stale_entities(
    frame: pd.DataFrame,
    date_col: str,
    entity_col: str,
    max_gap_days: int,
    *,
    master: pd.DataFrame | None = None,
) -> Report:
    """Entities whose latest row lags the frame's latest date by more than ``max_gap_days``
    exchange sessions; with a security ``master``, not those it no longer lists on that
    date (a delisted ticker's rows end with its final bar: no row after that is due).

    Why: a feed that silently stops updating some tickers still returns a plausible frame;
    factors would then carry stale prices forward as if they were today's. The lag counts
    sessions of the exchange calendar, so a holiday or a one-off closure in between does
    not make a ticker look a day staler than it is.
    """
    report = Report()
    if frame.empty:
        return report
    latest = pd.to_datetime(frame.groupby(entity_col)[date_col].max())
    newest = latest.max()
    lag = sessions_between(latest.to_numpy(), newest.date())
    stale = latest[lag > max_gap_days]
    if master is not None:  # entities outside the master (the benchmark) stay due
        gone = set(master["ticker"]) - set(security_master.listed_at(master, newest)["ticker"])
        stale = stale[~stale.index.isin(gone)]
    report.metadata = {"entities": len(latest), "stale": len(stale), "newest": str(newest.date())}
    if len(stale):
        sample = {k: str(v.date()) for k, v in stale.head(5).items()}
        report.problems.append(
            f"{len(stale)} {entity_col}s have no row in the last {max_gap_days} trading days: "
            f"{sample}"
        )
    return report
