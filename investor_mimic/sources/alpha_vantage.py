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
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import SecretStr

from investor_mimic.core import frames
from investor_mimic.core.calendar import (
    MARKET_CLOSE,
    effective_trading_days,
    is_trading_day,
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


@dataclass(frozen=True)
class NewsFetch:
    """A fetch's items and how much of its window they cover.

    ``complete``: every answer was read to its end (no window left unread for lack of
    budget, no minute holding more than a page). ``requests``: answers asked for,
    within ``budget``.
    """

    frame: pd.DataFrame
    requests: int = 0
    budget: int | None = None
    complete: bool = True
    covered_until: datetime | None = None

    def coverage(self, universe: Sequence[str]) -> dict[str, Any]:
        """Metadata: tickers with news against the universe, requests against the budget."""
        names = set(universe)
        with_news = int(self.frame["ticker"].isin(names).groupby(self.frame["ticker"]).any().sum())
        meta: dict[str, Any] = {
            "tickers_with_news": with_news,
            "universe_size": len(names),
            "ticker_coverage": with_news / len(names) if names else 0.0,
            "requests": self.requests,
            "complete": self.complete,
        }
        if self.budget is not None:
            meta["request_budget"] = self.budget
        if self.covered_until is not None:
            meta["covered_until"] = f"{self.covered_until:%Y-%m-%d %H:%M}"
        return meta


class AlphaVantageThrottled(AlphaVantageError):
    """A throttle answer ("Note"/"Information"): a later attempt may succeed."""


class AlphaVantageNews:
    """NEWS_SENTIMENT over HTTP: market-wide by time window, filtered to the universe.

    Why market-wide: the free tier allows 25 requests a day (5 a minute), so one request
    per ticker cannot serve a universe of hundreds; an answer without ``tickers`` holds
    every item of the window (up to :data:`PAGE_LIMIT`, oldest first), each with all the
    tickers it mentions. A full answer is followed by the next page, asked from the
    minute of its last item, until an answer is short or the run's ``requests_per_run``
    budget is spent: then :attr:`NewsFetch.complete` is false and ``covered_until`` says
    how far the items reach. Throttle answers raise :class:`AlphaVantageThrottled` after
    ``throttle_attempts`` (the Dagster step retries it with backoff).
    """

    def __init__(
        self,
        api_key: SecretStr | None,
        url: str,
        rpm: float = 5.0,
        *,
        requests_per_run: int = 25,
        page_limit: int = PAGE_LIMIT,
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
        if requests_per_run < 1:
            raise ValueError(f"requests_per_run must be at least 1, got {requests_per_run}")
        self.api_key = api_key
        self.url = url
        self.requests_per_run = requests_per_run
        self.page_limit = page_limit
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
        return self.fetch(tickers, start, end).frame

    def fetch(self, tickers: Sequence[str], start: date, end: date) -> NewsFetch:
        """:meth:`news` with how much of the window the budget covered."""
        since = _since(start)
        until = session_close(end) if is_trading_day(end) else datetime.combine(end, MARKET_CLOSE)
        cursor, requests, parts = since, 0, []
        complete, covered, skipped = False, since, False
        while requests < self.requests_per_run:
            payload = self.query(cursor, until)
            requests += 1
            feed = payload["feed"]
            parts.append(parse_news_feed(payload, tickers))
            if len(feed) < self.page_limit:
                complete, covered = True, until
                break
            last = max(datetime.strptime(i["time_published"], _STAMP) for i in feed)
            following = last.replace(second=0, microsecond=0)
            if following <= cursor:  # a whole page within one minute: skip past it
                following, skipped = cursor + timedelta(minutes=1), True
            covered = following
            if following >= until:
                break
            cursor = following
        parts = [p for p in parts if not p.empty]
        frame = (
            _in_days(pd.concat(parts, ignore_index=True), start, end)
            if parts
            else frames.NEWS_SENTIMENT.empty()
        )
        return NewsFetch(frame, requests, self.requests_per_run, complete and not skipped, covered)

    def query(self, since: datetime, until: datetime) -> dict[str, Any]:
        """One market-wide NEWS_SENTIMENT answer, oldest first; throttle notes are
        retried ``throttle_attempts`` times, then raised; errors are raised at once."""
        params = {
            "function": "NEWS_SENTIMENT",
            "time_from": f"{since:%Y%m%dT%H%M}",
            "time_to": f"{until:%Y%m%dT%H%M}",
            "limit": str(self.page_limit),
            "sort": "EARLIEST",
            "apikey": self.api_key.get_secret_value(),
        }
        where = f"Alpha Vantage NEWS_SENTIMENT {params['time_from']}..{params['time_to']}"
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
                raise AlphaVantageThrottled(f"{where}: throttled {attempt} times: {throttle}")
            time.sleep(self.session.backoff_delay(attempt))
        raise AssertionError("unreachable: the loop returns or raises")


class DemoNews:
    """The demo world's ``market/news/{YYYY-MM}.json`` files (NEWS_SENTIMENT shape)."""

    def __init__(self, folder: Path) -> None:
        if not folder.is_dir():
            raise AlphaVantageError(f"demo news folder not found: {folder}")
        self.folder = folder

    def fetch(self, tickers: Sequence[str], start: date, end: date) -> NewsFetch:
        """:meth:`news`: the world's files hold every item, no request is made."""
        return NewsFetch(self.news(tickers, start, end))

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
