"""What the factors read: the upstream frames, checked and typed once at the boundary.

Why a checked dataclass: the factor math is vectorised and silent about bad rows (a NaN
date or a sale with a positive value would just flow into the numbers). Every frame is
therefore checked here, once, and fails with a one-line error that names the frame and
the problem. Frames coming back from SQLite carry dates as strings and booleans as 0/1;
they are coerced to the contracts below.

The three SQL-model contracts (13F weights and changes, insider open-market trades) are
declared here because the factors are their only reader; the others are subsets of the
contracts in :mod:`investor_mimic.core.frames`.

Point-in-time columns: ``version_date`` (13F), ``known_date`` (Form 4) and
``trading_date`` (news) are the first trading day a row may be used, already shifted
upstream with :func:`investor_mimic.core.calendar.effective_trading_day`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from investor_mimic.core import frames
from investor_mimic.core.frames import FrameSpec

_THIRTEENF_KEY = ("filer_cik", "period_of_report", "version_date", "ticker")

PORTFOLIO_WEIGHTS = FrameSpec(
    "filer_portfolio_weights",
    {
        "filer_cik": "string",
        "period_of_report": "date",
        "version_date": "date",  # first trading day this version of the portfolio is known
        "ticker": "string",  # None for holdings outside the universe
        "value_usd": "float",
        "weight": "float",  # value_usd / portfolio value of this version
    },
    key=_THIRTEENF_KEY,
    nullable=frozenset({"ticker"}),
)

POSITION_CHANGES = FrameSpec(
    "thirteenf_position_changes",
    {
        "filer_cik": "string",
        "period_of_report": "date",
        "version_date": "date",
        "ticker": "string",
        "shares": "float",
        "prev_shares": "float",
        "change_type": "string",  # new, added, trimmed, exited, unchanged
        "share_change_pct": "float",
    },
    key=_THIRTEENF_KEY,
    nullable=frozenset({"ticker", "share_change_pct"}),
)

INSIDER_OPEN_MARKET = FrameSpec(
    "stg_insider_open_market",
    {
        "accession": "string",
        "line": "int",
        "ticker": "string",
        "owner_cik": "string",
        "known_date": "date",
        "transaction_date": "date",
        "code": "string",  # P or S
        "shares": "float",
        "price": "float",
        "value_usd": "float",  # signed: + purchases, - sales; None when no price was stated
        "is_10b5_1": "bool",
        "is_routine": "bool",  # traded in the same calendar month in each of the prior 3 years
    },
    key=("accession", "line"),
    nullable=frozenset({"shares", "price", "value_usd"}),
)

NEWS = FrameSpec(
    "news_sentiment",
    {
        c: frames.NEWS_SENTIMENT.columns[c]
        for c in ("id", "published_at", "trading_date", "ticker", "relevance", "sentiment")
    },
    key=frames.NEWS_SENTIMENT.key,
)

UNIVERSE = FrameSpec("universe", {"ticker": "string", "sector": "string"}, key=("ticker",))

CHANGE_TYPES = frozenset({"new", "added", "trimmed", "exited", "unchanged"})


def checked(frame: pd.DataFrame, spec: FrameSpec, *, check_key: bool = True) -> pd.DataFrame:
    """``frame`` cast to ``spec``; raises on missing columns, nulls, times in dates, repeated keys.

    A frame that already has the contract's dtypes is used as is (no copy of millions of
    price rows). ``check_key=False`` leaves the key check to the caller, for frames whose
    pivot detects repeated keys for free.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{spec.name}: expected a DataFrame, got {type(frame).__name__}")
    missing = [c for c in spec.columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{spec.name}: missing columns {missing}")
    nulls = {
        c: n for c in spec.columns if c not in spec.nullable and (n := int(frame[c].isna().sum()))
    }
    if nulls:
        raise ValueError(f"{spec.name}: missing values (column: count) {nulls}")
    out = frame[list(spec.columns)].reset_index(drop=True)
    if frames.schema_problems(out, spec):
        try:
            out = frames.coerce(out, spec)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{spec.name}: cannot cast to its contract: {exc}") from exc
    for col, kind in spec.columns.items():
        if kind == "date" and (out[col] != out[col].dt.normalize()).any():
            raise ValueError(f"{spec.name}: column {col} holds times of day, expected dates")
    if check_key:
        duplicated = out.duplicated(list(spec.key))
        if duplicated.any():
            first = out[duplicated].iloc[0][list(spec.key)].to_dict()
            raise ValueError(
                f"{spec.name}: {int(duplicated.sum())} rows repeat the key {spec.key}, e.g. {first}"
            )
    return out


def _require(ok: pd.Series | np.ndarray, frame: pd.DataFrame, name: str, rule: str) -> None:
    bad = ~np.asarray(ok, dtype=bool)
    if bad.any():
        example = frame.loc[bad].iloc[0].to_dict()
        raise ValueError(f"{name}: {int(bad.sum())} rows break '{rule}', e.g. {example}")


@dataclass(frozen=True)
class FactorInputs:
    """All upstream frames the eight factors read; checked and coerced on construction."""

    prices: pd.DataFrame  # frames.PRICES, long; includes the benchmark ticker
    benchmark: str
    universe: pd.DataFrame  # ticker, sector (other columns ignored)
    portfolio_weights: pd.DataFrame  # PORTFOLIO_WEIGHTS
    position_changes: pd.DataFrame  # POSITION_CHANGES
    insider_trades: pd.DataFrame  # INSIDER_OPEN_MARKET
    news: pd.DataFrame  # NEWS

    def __post_init__(self) -> None:
        # Frozen for callers; the one place the frames are replaced by their checked form.
        def put(name: str, value: pd.DataFrame) -> None:
            object.__setattr__(self, name, value)

        prices = checked(self.prices, frames.PRICES, check_key=False)  # see price_panels
        _require(prices["close"] > 0, prices, "prices", "close > 0")
        _require(prices["volume"] >= 0, prices, "prices", "volume >= 0")
        if not (prices["ticker"] == self.benchmark).any():
            raise ValueError(f"prices: no rows for the benchmark ticker {self.benchmark!r}")
        put("prices", prices)

        put("universe", checked(self.universe, UNIVERSE))
        put("portfolio_weights", checked(self.portfolio_weights, PORTFOLIO_WEIGHTS))

        changes = checked(self.position_changes, POSITION_CHANGES)
        _require(
            changes["change_type"].isin(CHANGE_TYPES),
            changes,
            "thirteenf_position_changes",
            f"change_type in {sorted(CHANGE_TYPES)}",
        )
        resized = changes["change_type"].isin(["added", "trimmed"])
        _require(
            ~resized | (changes["prev_shares"] > 0),
            changes,
            "thirteenf_position_changes",
            "prev_shares > 0 when added/trimmed",
        )
        put("position_changes", changes)

        trades = checked(self.insider_trades, INSIDER_OPEN_MARKET)
        name = "stg_insider_open_market"
        _require(trades["code"].isin(["P", "S"]), trades, name, "code in ['P', 'S']")
        _require(
            trades["value_usd"].isna()
            | np.where(trades["code"] == "P", trades["value_usd"] >= 0, trades["value_usd"] <= 0),
            trades,
            name,
            "value_usd >= 0 for P and <= 0 for S",
        )
        put("insider_trades", trades)

        news = checked(self.news, NEWS)
        _require(news["relevance"].between(0, 1), news, "news_sentiment", "0 <= relevance <= 1")
        _require(news["sentiment"].between(-1, 1), news, "news_sentiment", "-1 <= sentiment <= 1")
        put("news", news)
