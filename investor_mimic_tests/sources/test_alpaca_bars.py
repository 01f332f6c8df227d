"""Daily bars through the real alpaca-py client against a loopback fake of /v2/stocks/bars."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from pydantic import SecretStr

from investor_mimic.core import frames
from investor_mimic.sources.alpaca_bars import AlpacaBars, AlpacaBarsError, DemoBars
from investor_mimic_tests.helpers.loopback import Answer, LoopbackServer, Request

KEY, SECRET = SecretStr("key-id"), SecretStr("secret")

# Alpaca stamps a daily bar with New York midnight in UTC: 05:00Z in winter, 04:00Z in summer
BARS = {
    "AAA": [
        ("2024-03-08T05:00:00Z", 10.0, 11.0, 9.5, 10.5, 1000),
        ("2024-03-11T04:00:00Z", 10.5, 12.0, 10.0, 11.5, 1500),  # first day after DST
        ("2024-03-12T04:00:00Z", 11.5, 11.6, 11.0, 11.2, 900),
    ],
    "BBB": [
        ("2024-03-08T05:00:00Z", 50.0, 51.0, 49.0, 50.5, 200),
        ("2024-03-11T04:00:00Z", 50.5, 52.0, 50.0, 51.0, 300),
    ],
}


class FakeBars:
    """``GET /v2/stocks/bars``: bars of the asked symbols, ``page_size`` per page."""

    def __init__(self, page_size: int) -> None:
        self.page_size = page_size

    def __call__(self, request: Request) -> Answer:
        if request.headers.get("apca-api-key-id") != "key-id":
            return Answer(403, {"message": "forbidden"})
        items = [
            (symbol, bar)
            for symbol in request.query["symbols"].split(",")
            for bar in BARS.get(symbol, [])
        ]
        offset = int(request.query.get("page_token", "0"))
        page = items[offset : offset + self.page_size]
        body: dict[str, object] = {"bars": {}}
        for symbol, (t, o, h, low, c, v) in page:
            body["bars"].setdefault(symbol, []).append(  # type: ignore[attr-defined]
                {"t": t, "o": o, "h": h, "l": low, "c": c, "v": v, "n": 10, "vw": c}
            )
        more = offset + self.page_size < len(items)
        body["next_page_token"] = str(offset + self.page_size) if more else None
        return Answer(200, body)


def test_bars_follow_pagination_and_date_bars_in_new_york() -> None:
    with LoopbackServer() as server:
        server.route("/v2/stocks/bars", FakeBars(page_size=2))
        bars = AlpacaBars(KEY, SECRET, server.url).bars(
            ["BBB", "AAA"], date(2024, 3, 8), date(2024, 3, 11)
        )
        calls = server.requests_to("/v2/stocks/bars")
    assert len(calls) == 3  # five bars, two per page
    first = calls[0].query
    assert first["timeframe"] == "1Day"
    assert first["adjustment"] == "all" and first["feed"] == "iex"
    assert first["start"].startswith("2024-03-08T05:00:00")  # New York midnight in UTC
    assert calls[1].query["page_token"] == "2"
    assert frames.schema_problems(bars, frames.PRICES) == []
    assert list(zip(bars["date"].dt.strftime("%Y-%m-%d"), bars["ticker"], strict=True)) == [
        ("2024-03-08", "AAA"),
        ("2024-03-08", "BBB"),
        ("2024-03-11", "AAA"),
        ("2024-03-11", "BBB"),
    ]  # the 2024-03-12 bar the fake also sent is outside [start, end]
    aaa = bars[(bars["ticker"] == "AAA") & (bars["date"] == "2024-03-11")].iloc[0]
    assert (aaa["open"], aaa["high"], aaa["low"], aaa["close"], aaa["volume"]) == (
        10.5,
        12.0,
        10.0,
        11.5,
        1500.0,
    )


def test_symbols_are_batched() -> None:
    with LoopbackServer() as server:
        server.route("/v2/stocks/bars", FakeBars(page_size=100))
        client = AlpacaBars(KEY, SECRET, server.url, symbols_per_request=1)
        bars = client.bars(["AAA", "BBB", "CCC"], date(2024, 3, 8), date(2024, 3, 12))
        asked = [r.query["symbols"] for r in server.requests]
    assert asked == ["AAA", "BBB", "CCC"]
    assert len(bars) == 5


def test_missing_keys_fail_before_any_request() -> None:
    with pytest.raises(AlpacaBarsError, match="IM_ALPACA_API_KEY"):
        AlpacaBars(None, SECRET, "http://127.0.0.1:9")
    with pytest.raises(AlpacaBarsError, match="IM_ALPACA_SECRET_KEY"):
        AlpacaBars(KEY, None, "http://127.0.0.1:9")


def test_api_errors_become_one_line_source_errors() -> None:
    with LoopbackServer() as server:
        server.route("/v2/stocks/bars", FakeBars(page_size=10))
        client = AlpacaBars(SecretStr("wrong"), SECRET, server.url)
        with pytest.raises(
            AlpacaBarsError, match=r"AAA\.\.AAA .*2024-03-08\.\.2024-03-11.*forbidden"
        ):
            client.bars(["AAA"], date(2024, 3, 8), date(2024, 3, 11))


def test_demo_bars_read_the_world_parquet(tmp_path: Path) -> None:
    rows = [
        {"date": d, "ticker": t, "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 9}
        for d in pd.to_datetime(["2024-03-07", "2024-03-08", "2024-03-11"])
        for t in ("AAA", "BBB", "SPY")
    ]
    path = tmp_path / "bars.parquet"
    pd.DataFrame(rows).to_parquet(path)
    bars = DemoBars(path).bars(["SPY", "AAA"], date(2024, 3, 8), date(2024, 3, 11))
    assert frames.schema_problems(bars, frames.PRICES) == []
    assert sorted(set(bars["ticker"])) == ["AAA", "SPY"]
    assert bars["date"].min() == pd.Timestamp("2024-03-08")
    assert len(bars) == 4
    with pytest.raises(AlpacaBarsError, match="demo bars not found"):
        DemoBars(tmp_path / "nope.parquet")
