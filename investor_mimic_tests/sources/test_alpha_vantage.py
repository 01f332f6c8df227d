"""NEWS_SENTIMENT: the shared parser, the HTTP client against a loopback fake, demo files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pydantic import SecretStr

from investor_mimic.core import frames
from investor_mimic.sources.alpha_vantage import (
    AlphaVantageError,
    AlphaVantageNews,
    AlphaVantageThrottled,
    DemoNews,
    parse_news_feed,
)
from investor_mimic.sources.http import HttpStatusError
from investor_mimic_tests.helpers.loopback import Answer, LoopbackServer, Request

MONDAY, TUESDAY = date(2024, 3, 4), date(2024, 3, 5)


def item(url: str, published: str, *mentions: tuple[str, float, float]) -> dict[str, Any]:
    return {
        "title": f"title {url}",
        "url": url,
        "time_published": published,
        "source": "Wire",
        "ticker_sentiment": [
            {
                "ticker": t,
                "relevance_score": str(rel),
                "ticker_sentiment_score": str(sent),
                "ticker_sentiment_label": "Neutral",
            }
            for t, rel, sent in mentions
        ],
    }


FEED = [
    item("u/fri-after-close", "20240301T170000", ("AAA", 0.9, 0.5), ("ZZZ", 0.2, 0.1)),
    item("u/saturday", "20240302T120000", ("AAA", 0.5, -0.3)),
    item("u/monday", "20240304T100000", ("AAA", 0.4, 0.2), ("BBB", 0.6, -0.6)),
    item("u/tue-after-close", "20240305T163000", ("AAA", 0.7, 0.1)),
    item("u/fri-before-close", "20240301T150000", ("AAA", 0.7, 0.1)),
]


def payload(feed: list[dict[str, Any]]) -> dict[str, Any]:
    return {"items": str(len(feed)), "sentiment_score_definition": "x", "feed": feed}


def client(server: LoopbackServer, **kw: Any) -> AlphaVantageNews:
    opts: dict[str, Any] = {"rpm": 6000.0, "backoff": 0.01, "throttle_attempts": 3}
    opts.update(kw)
    return AlphaVantageNews(SecretStr("k3y"), f"{server.url}/query", **opts)


def test_parser_maps_items_to_the_trading_day_they_count_for() -> None:
    news = parse_news_feed(payload(FEED), ["AAA", "BBB"])
    assert frames.schema_problems(news, frames.NEWS_SENTIMENT) == []
    day = dict(zip(news["id"] + "/" + news["ticker"], news["trading_date"], strict=True))
    assert day["u/fri-after-close/AAA"] == pd.Timestamp("2024-03-04")
    assert day["u/saturday/AAA"] == pd.Timestamp("2024-03-04")
    assert day["u/monday/BBB"] == pd.Timestamp("2024-03-04")
    assert day["u/tue-after-close/AAA"] == pd.Timestamp("2024-03-06")
    assert day["u/fri-before-close/AAA"] == pd.Timestamp("2024-03-01")
    assert "u/fri-after-close/ZZZ" not in day
    bbb = news[news["ticker"] == "BBB"].iloc[0]
    assert (bbb["relevance"], bbb["sentiment"]) == (0.6, -0.6)
    assert bbb["published_at"] == pd.Timestamp("2024-03-04 10:00:00")


def test_parser_rejects_bad_items_naming_them() -> None:
    with pytest.raises(AlphaVantageError, match=r"feed item 0 \(u/x\).*out of range"):
        parse_news_feed(payload([item("u/x", "20240301T100000", ("AAA", 0.5, 1.5))]), ["AAA"])
    with pytest.raises(AlphaVantageError, match=r"feed item 0 \(u/y\)"):
        parse_news_feed(payload([item("u/y", "2024-03-01 10:00", ("AAA", 0.5, 0.5))]), ["AAA"])
    with pytest.raises(AlphaVantageError, match="not a NEWS_SENTIMENT answer"):
        parse_news_feed({"Note": "slow down"}, ["AAA"])


def test_news_asks_market_wide_from_the_previous_close_and_keeps_the_universe() -> None:
    with LoopbackServer() as server:
        server.route("/query", lambda r: Answer(200, payload(FEED)))
        fetched = client(server).fetch(["BBB", "AAA"], MONDAY, TUESDAY)
        calls = server.requests
    (call,) = calls  # one request for the whole window, whatever the universe's size
    q = call.query
    assert "tickers" not in q and q["sort"] == "EARLIEST"
    assert q["function"] == "NEWS_SENTIMENT" and q["apikey"] == "k3y" and q["limit"] == "1000"
    assert q["time_from"] == "20240301T1600" and q["time_to"] == "20240305T1600"
    news = fetched.frame
    assert sorted(news["id"] + "/" + news["ticker"]) == [
        "u/fri-after-close/AAA",
        "u/monday/AAA",
        "u/monday/BBB",
        "u/saturday/AAA",
    ]  # ZZZ is not in the universe; the after-close Tuesday item counts for Wednesday
    assert fetched.complete and fetched.requests == 1
    meta = fetched.coverage(["AAA", "BBB", "CCC"])
    assert (meta["tickers_with_news"], meta["universe_size"], meta["requests"]) == (2, 3, 1)


def published(n: int) -> str:
    """A time_published n minutes after Friday's close."""
    return (pd.Timestamp("2024-03-01 16:00") + pd.Timedelta(minutes=n)).strftime("%Y%m%dT%H%M%S")


#: 25 items a minute apart after Friday's close, each about AAA
BUSY = [item(f"u/{n}", published(n), ("AAA", 0.5, 0.1)) for n in range(25)]


def paged(page: int) -> Any:
    """A fake answering the window's items oldest first, ``page`` per answer."""

    def answer(request: Request) -> Answer:
        first, last = request.query["time_from"], request.query["time_to"]
        feed = [i for i in BUSY if first <= i["time_published"][:13] <= last]
        return Answer(200, payload(feed[:page]))

    return answer


def test_full_pages_are_followed_from_their_last_minute_until_a_short_one() -> None:
    with LoopbackServer() as server:
        server.route("/query", paged(10))
        fetched = client(server, page_limit=10).fetch(["AAA"], MONDAY, MONDAY)
        starts = [r.query["time_from"] for r in server.requests]
    assert starts == ["20240301T1600", "20240301T1609", "20240301T1618"]
    assert fetched.complete and fetched.requests == 3
    assert sorted(fetched.frame["id"]) == sorted(i["url"] for i in BUSY)  # overlaps once


def test_the_request_budget_stops_the_pages_and_says_how_far_they_reach() -> None:
    with LoopbackServer() as server:
        server.route("/query", paged(10))
        fetched = client(server, page_limit=10, requests_per_run=2).fetch(["AAA"], MONDAY, MONDAY)
        assert len(server.requests) == 2
    assert not fetched.complete and fetched.requests == 2
    assert fetched.covered_until == pd.Timestamp("2024-03-01 16:18")
    assert len(fetched.frame) == 19  # minutes 0..18 of 25
    meta = fetched.coverage(["AAA"])
    assert meta["complete"] is False and meta["request_budget"] == 2


def test_news_after_an_early_close_is_asked_for_and_kept() -> None:
    """The day after Thanksgiving 2024 closed at 13:00: a 13:30 item counts for Monday
    2024-12-02, so Monday's window starts at Friday's 13:00 close, not 16:00."""
    feed = [
        item("u/fri-1230", "20241129T123000", ("AAA", 0.9, 0.5)),
        item("u/fri-1330", "20241129T133000", ("AAA", 0.9, 0.5)),
    ]
    with LoopbackServer() as server:
        server.route("/query", lambda r: Answer(200, payload(feed)))
        news = client(server).news(["AAA"], date(2024, 12, 2), date(2024, 12, 2))
        (call,) = server.requests
    assert call.query["time_from"] == "20241129T1300"
    assert news["id"].tolist() == ["u/fri-1330"]
    assert news["trading_date"].tolist() == [pd.Timestamp("2024-12-02")]


def test_throttle_answers_are_retried_until_the_fake_recovers() -> None:
    with LoopbackServer() as server:
        server.queue(
            "/query",
            Answer(200, {"Note": "Thank you for using Alpha Vantage! 5 calls per minute"}),
            Answer(200, {"Information": "Please consider spreading out your free API requests"}),
        )
        server.route("/query", lambda r: Answer(200, payload(FEED)))
        news = client(server).news(["AAA"], MONDAY, MONDAY)
        assert len(server.requests) == 3
    assert len(news) == 3


def test_persistent_throttling_fails_after_bounded_attempts() -> None:
    with LoopbackServer() as server:
        server.route("/query", lambda r: Answer(200, {"Information": "rate limit is 25 per day"}))
        with pytest.raises(
            AlphaVantageThrottled, match="throttled 3 times: rate limit is 25 per day"
        ):
            client(server).news(["AAA"], MONDAY, MONDAY)
        assert len(server.requests) == 3


def test_error_message_is_raised_at_once_and_never_data() -> None:
    with LoopbackServer() as server:
        server.route("/query", lambda r: Answer(200, {"Error Message": "Invalid API call."}))
        with pytest.raises(AlphaVantageError, match=r"20240301T1600.*Invalid API call\."):
            client(server).news(["AAA"], MONDAY, MONDAY)
        assert len(server.requests) == 1


def test_requests_per_minute_are_honoured() -> None:
    with LoopbackServer() as server:
        server.route("/query", paged(1))  # one item an answer: 25 pages
        client(server, rpm=600.0, page_limit=1, requests_per_run=5).fetch(
            ["AAA"], MONDAY, MONDAY
        )  # 0.1 s apart
        stamps = [r.at for r in server.requests]
    # server arrival times carry scheduling jitter: allow 50 ms of it
    assert len(stamps) == 5 and stamps[-1] - stamps[0] >= 0.4 - 0.05
    assert max(sum(1 for t in stamps if s <= t < s + 0.2 - 0.05) for s in stamps) <= 2


def test_http_errors_never_show_the_api_key() -> None:
    with LoopbackServer() as server:
        server.route("/query", lambda r: Answer(503, "down"))
        with pytest.raises(HttpStatusError) as info:
            client(server, max_attempts=2).news(["AAA"], MONDAY, MONDAY)
    assert "k3y" not in str(info.value) and "k3y" not in info.value.url
    assert "apikey=***" in str(info.value) and "time_from=20240301T1600" in str(info.value)


def test_missing_key_is_an_error() -> None:
    with pytest.raises(AlphaVantageError, match="IM_ALPHAVANTAGE_API_KEY"):
        AlphaVantageNews(None, "http://127.0.0.1:9/query")


def test_demo_news_reads_the_months_spanning_the_window(tmp_path: Path) -> None:
    feb = [item("u/feb29-late", "20240229T170000", ("AAA", 0.5, 0.5))]
    mar = [item("u/mar1", "20240301T090000", ("AAA", 0.5, -0.5))]
    (tmp_path / "2024-02.json").write_text(json.dumps(payload(feb)))
    (tmp_path / "2024-03.json").write_text(json.dumps(payload(mar)))
    news = DemoNews(tmp_path).news(["AAA"], date(2024, 3, 1), date(2024, 3, 1))
    assert sorted(news["id"]) == ["u/feb29-late", "u/mar1"]
    assert set(news["trading_date"]) == {pd.Timestamp("2024-03-01")}
    (tmp_path / "2024-03.json").write_text("{not json")
    with pytest.raises(AlphaVantageError, match=r"2024-03\.json: invalid JSON"):
        DemoNews(tmp_path).news(["AAA"], date(2024, 3, 1), date(2024, 3, 1))
