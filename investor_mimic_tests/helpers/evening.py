"""One loopback server playing EDGAR, Alpaca's bars endpoint and Alpha Vantage for a
demo world, with the publication times of the real services.

- EDGAR: the world's ``edgar/`` folder (submissions, daily indexes, filings); a daily
  index can be held back (404, as EDGAR answers before publishing it) and released.
- Alpaca: ``GET /v2/stocks/bars`` from the world's ``market/bars.parquet`` (daily bars
  stamped with New York midnight in UTC, one page).
- Alpha Vantage: market-wide ``NEWS_SENTIMENT`` over the world's monthly feed files:
  the items published in [time_from, time_to] (minute resolution), oldest first, at
  most ``limit``; throttle notes are scripted with :meth:`LoopbackServer.queue`.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from investor_mimic.sources.edgar import daily_index_path
from investor_mimic_tests.helpers.loopback import Answer, LoopbackServer, Request

NEW_YORK = ZoneInfo("America/New_York")
BARS = "/v2/stocks/bars"
NEWS = "/query"


class WorldServices(LoopbackServer):
    """The three services over one world; use as a context manager."""

    def __init__(self, world: Path) -> None:
        super().__init__(world / "edgar")
        self.world = world
        self.held: set[str] = set()
        bars = pd.read_parquet(world / "market" / "bars.parquet")
        stamps = bars["date"].dt.tz_localize(NEW_YORK).dt.tz_convert("UTC")
        self._bars = bars.assign(stamp=stamps)
        self._news = sorted(
            (
                item
                for file in sorted((world / "market" / "news").glob("*.json"))
                for item in json.loads(file.read_text())["feed"]
            ),
            key=lambda item: str(item["time_published"]),
        )
        self.route(BARS, self._bars_answer)
        self.route(NEWS, self._news_answer)

    def hold_index(self, day: date) -> None:
        """EDGAR has not published ``day``'s daily index yet: 404 until released."""
        path = "/" + daily_index_path(day)
        self.held.add(path)
        self.route(
            path, lambda r: Answer(404, "not found") if r.path in self.held else self._file(r)
        )

    def release_index(self, day: date) -> None:
        self.held.discard("/" + daily_index_path(day))

    def _file(self, request: Request) -> Answer:
        assert self.root is not None
        return Answer(200, (self.root / request.path.lstrip("/")).read_bytes())

    def _bars_answer(self, request: Request) -> Answer:
        symbols = request.query["symbols"].split(",")
        start = pd.Timestamp(datetime.fromisoformat(request.query["start"]))
        end = pd.Timestamp(datetime.fromisoformat(request.query["end"]))
        rows = self._bars[
            self._bars["ticker"].isin(symbols)
            & (self._bars["stamp"] >= start)
            & (self._bars["stamp"] <= end)
        ]
        body: dict[str, Any] = {"bars": {}, "next_page_token": None}
        for row in rows.itertuples():
            body["bars"].setdefault(row.ticker, []).append(
                {
                    "t": row.stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "o": row.open,
                    "h": row.high,
                    "l": row.low,
                    "c": row.close,
                    "v": row.volume,
                    "n": 1,
                    "vw": row.close,
                }
            )
        return Answer(200, body)

    def _news_answer(self, request: Request) -> Answer:
        q = request.query
        if q.get("function") != "NEWS_SENTIMENT" or not q.get("apikey"):
            return Answer(200, {"Error Message": "Invalid API call."})
        first, last = q["time_from"], q["time_to"]
        feed = [i for i in self._news if first <= str(i["time_published"])[:13] <= last]
        feed = feed[: int(q.get("limit", "50"))]
        return Answer(200, {"items": str(len(feed)), "feed": feed})

    def news_requests(self) -> list[Request]:
        return self.requests_to(NEWS)
