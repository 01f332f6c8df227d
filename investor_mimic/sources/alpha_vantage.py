"""News sentiment: Alpha Vantage NEWS_SENTIMENT, or the demo world's monthly feed files.

Why one parser for both: the demo world writes the very JSON shape Alpha Vantage
serves, so :func:`parse_news_feed` is the only place that maps an item to rows and
applies the point-in-time rule (published after the close → next trading day).

Alpha Vantage answers throttling and errors with HTTP 200 and a JSON body holding
``Note``, ``Information`` or ``Error Message`` instead of ``feed``. Those are never
data: a throttle answer (``Note`` / ``Information``) is retried with backoff a bounded
number of times, then raised; ``Error Message`` is raised at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import SecretStr

from investor_mimic.core import frames
from investor_mimic.core.calendar import (
    MARKET_CLOSE,
    effective_trading_days,
    previous_trading_day,
    session_close,
)
from investor_mimic.sources.http import HttpStore, PoliteSession, RateLimiter

THROTTLE_KEYS = ("Note", "Information")
ALPHA_VANTAGE_LIMIT = "alphavantage"  # the shared bucket of the per-key request budget
PAGE_LIMIT = 1000  # the API's maximum items per answer
_STAMP = "%Y%m%dT%H%M%S"


class AlphaVantageError(RuntimeError):
    """An Alpha Vantage answer that is not news data."""


def parse_news_feed(payload: Mapping[str, Any], tickers: Collection[str]) -> pd.DataFrame:
    """A NEWS_SENTIMENT payload → one row per (item url, ticker in ``tickers``).

    ``time_published`` is read as naive US/Eastern; ``trading_date`` is its effective
    trading day. Items repeated across answers collapse to their first occurrence.
    """
    if "feed" not in payload:
        raise AlphaVantageError(f"not a NEWS_SENTIMENT answer: keys {sorted(payload)[:5]}")
    wanted = set(tickers)
    rows, items = [], []
    for n, item in enumerate(payload["feed"]):
        url = item.get("url") if isinstance(item, Mapping) else None
        where = f"feed item {n} ({url or 'no url'})"
        try:
            published = datetime.strptime(item["time_published"], _STAMP)
            for mention in item.get("ticker_sentiment", []):
                if mention["ticker"] not in wanted:
                    continue
                rows.append(
                    {
                        "id": item["url"],
                        "published_at": published,
                        "ticker": mention["ticker"],
                        "relevance": float(mention["relevance_score"]),
                        "sentiment": float(mention["ticker_sentiment_score"]),
                        "title": item["title"],
                        "source": item["source"],
                    }
                )
                items.append(where)
        except (KeyError, TypeError, ValueError) as exc:
            raise AlphaVantageError(f"{where}: {type(exc).__name__}: {exc}") from exc
    if not rows:
        return frames.NEWS_SENTIMENT.empty()
    frame = pd.DataFrame(rows)
    _require_scores_in_range(frame, items)
    frame = frame[~frames.duplicate_keys(frame, frames.NEWS_SENTIMENT.key, keep="first")]
    frame["trading_date"] = effective_trading_days(frame["published_at"])
    return frames.coerce(frame, frames.NEWS_SENTIMENT)


def _require_scores_in_range(frame: pd.DataFrame, items: list[str]) -> None:
    """The contract's relevance and sentiment rules, failing on the first item breaking one."""
    scores = ("relevance", "sentiment")
    for check, _, broken in frames.rule_violations(frame, frames.NEWS_SENTIMENT, scores):
        if broken.any():
            i = int(broken.argmax())
            row = frame.iloc[i]
            raise AlphaVantageError(
                f"{items[i]}: {row['ticker']}: relevance {row['relevance']} / sentiment "
                f"{row['sentiment']} out of range ({check.error})"
            )


def _in_days(frame: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    keep = (frame["trading_date"] >= pd.Timestamp(start)) & (
        frame["trading_date"] <= pd.Timestamp(end)
    )
    out = (
        frame[keep]
        .drop_duplicates(list(frames.NEWS_SENTIMENT.key))
        .sort_values(["trading_date", "id", "ticker"])
    )
    return frames.coerce(out, frames.NEWS_SENTIMENT)


def _since(start: date) -> datetime:
    """The first instant whose items count for ``start``: the previous session's close
    (13:00 when that session closed early)."""
    return session_close(previous_trading_day(start))


class AlphaVantageNews:
    """NEWS_SENTIMENT over HTTP, one ticker per request, ≤ ``rpm`` requests per minute.

    One ticker per request because ``tickers=A,B`` asks for items mentioning *all* of
    them. An answer holding :data:`PAGE_LIMIT` items may be truncated, so its window is
    halved and both halves fetched until answers are complete or a window is a minute.
    """

    def __init__(
        self,
        api_key: SecretStr | None,
        url: str,
        rpm: float = 5.0,
        *,
        throttle_attempts: int = 3,
        max_attempts: int = 4,
        backoff: float = 15.0,
        timeout: float = 30.0,
        store: HttpStore | None = None,
    ) -> None:
        """``store``: where the per-key request budget is shared across processes
        (without one it holds only within this process). Answers are never cached:
        throttle notes arrive as HTTP 200."""
        if api_key is None:
            raise AlphaVantageError(
                "Alpha Vantage news needs IM_ALPHAVANTAGE_API_KEY (or set IM_NEWS_SOURCE=demo)"
            )
        self.api_key = api_key
        self.url = url
        self.throttle_attempts = throttle_attempts
        self.session = PoliteSession(
            "investor-mimic",
            (
                store.limiter(ALPHA_VANTAGE_LIMIT, rpm, per=60.0)
                if store
                else RateLimiter(rpm, per=60.0, name=ALPHA_VANTAGE_LIMIT)
            ),
            max_attempts=max_attempts,
            backoff=backoff,
            timeout=timeout,
        )

    def news(self, tickers: Sequence[str], start: date, end: date) -> pd.DataFrame:
        """Items whose trading_date is in [start, end], one row per (url, ticker)."""
        since = _since(start)
        until = datetime.combine(end, MARKET_CLOSE)  # later items are filtered out below
        parts = [
            parse_news_feed(payload, tickers)
            for ticker in sorted(set(tickers))
            for payload in self._window(ticker, since, until)
        ]
        parts = [p for p in parts if not p.empty]
        if not parts:
            return frames.NEWS_SENTIMENT.empty()
        return _in_days(pd.concat(parts, ignore_index=True), start, end)

    def _window(self, ticker: str, since: datetime, until: datetime) -> list[dict[str, Any]]:
        payload = self.query(ticker, since, until)
        if len(payload["feed"]) < PAGE_LIMIT or until - since <= timedelta(minutes=1):
            return [payload]
        middle = since + (until - since) / 2
        middle = middle.replace(second=0, microsecond=0)
        return self._window(ticker, since, middle) + self._window(ticker, middle, until)

    def query(self, ticker: str, since: datetime, until: datetime) -> dict[str, Any]:
        """One NEWS_SENTIMENT answer; throttle notes are retried, errors raised."""
        params = {
            "function": "NEWS_SENTIMENT",
            "tickers": ticker,
            "time_from": f"{since:%Y%m%dT%H%M}",
            "time_to": f"{until:%Y%m%dT%H%M}",
            "limit": str(PAGE_LIMIT),
            "sort": "EARLIEST",
            "apikey": self.api_key.get_secret_value(),
        }
        where = f"Alpha Vantage NEWS_SENTIMENT {ticker} {params['time_from']}..{params['time_to']}"
        for attempt in range(1, self.throttle_attempts + 1):
            response = self.session.get(self.url, params=params)
            try:
                payload = response.json()
            except ValueError as exc:
                raise AlphaVantageError(f"{where}: answer is not JSON") from exc
            if not isinstance(payload, dict):
                raise AlphaVantageError(f"{where}: answer is not a JSON object")
            if "Error Message" in payload:
                raise AlphaVantageError(f"{where}: {payload['Error Message']}")
            throttle = next((payload[k] for k in THROTTLE_KEYS if k in payload), None)
            if throttle is None:
                if not isinstance(payload.get("feed"), list):
                    raise AlphaVantageError(f"{where}: no 'feed' list in the answer")
                return payload
            if attempt == self.throttle_attempts:
                raise AlphaVantageError(f"{where}: throttled {attempt} times: {throttle}")
            time.sleep(self.session.backoff_delay(attempt))
        raise AssertionError("unreachable: the loop returns or raises")


class DemoNews:
    """The demo world's ``market/news/{YYYY-MM}.json`` files (NEWS_SENTIMENT shape)."""

    def __init__(self, folder: Path) -> None:
        if not folder.is_dir():
            raise AlphaVantageError(f"demo news folder not found: {folder}")
        self.folder = folder

    def news(self, tickers: Sequence[str], start: date, end: date) -> pd.DataFrame:
        """Items whose trading_date is in [start, end], one row per (url, ticker)."""
        months = pd.period_range(_since(start), end, freq="M")
        parts = []
        for month in months:
            file = self.folder / f"{month:%Y-%m}.json"
            if not file.is_file():
                continue
            try:
                payload = json.loads(file.read_bytes())
            except ValueError as exc:
                raise AlphaVantageError(f"{file}: invalid JSON ({exc})") from exc
            parts.append(parse_news_feed(payload, tickers))
        parts = [p for p in parts if not p.empty]
        if not parts:
            return frames.NEWS_SENTIMENT.empty()
        return _in_days(pd.concat(parts, ignore_index=True), start, end)
