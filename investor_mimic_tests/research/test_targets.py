"""Forward returns: entry at D+1's open, exit h trading days later, NaN past the data."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from investor_mimic.research.targets import forward_returns

DAYS = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"])


def _prices(opens: dict[str, list[float]]) -> pd.DataFrame:
    rows = [
        {"date": d, "ticker": t, "open": o, "high": o, "low": o, "close": o, "volume": 1.0}
        for t, series in opens.items()
        for d, o in zip(DAYS, series, strict=True)
    ]
    return pd.DataFrame(rows)


def _row(frame: pd.DataFrame, day: str, ticker: str) -> pd.Series:
    hit = frame[(frame["date"] == pd.Timestamp(day)) & (frame["ticker"] == ticker)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_forward_return_enters_next_open_and_exits_h_days_later() -> None:
    prices = _prices({"AAA": [10.0, 11.0, 12.0, 15.0, 9.0], "BBB": [5.0, 5.0, 4.0, 4.0, 6.0]})
    out = forward_returns(prices, horizon=2)

    # D = Jan 2: buy at Jan 3's open (11), sell at the open 2 days later, Jan 5 (15)
    first = _row(out, "2024-01-02", "AAA")
    assert first["fwd_return"] == pytest.approx(15.0 / 11.0 - 1)
    assert first["exit_date"] == pd.Timestamp("2024-01-05")
    # D = Jan 3 (entry Jan 4 at 12, exit Jan 8 at 9), crossing the weekend in trading days
    second = _row(out, "2024-01-03", "AAA")
    assert second["fwd_return"] == pytest.approx(9.0 / 12.0 - 1)
    assert second["exit_date"] == pd.Timestamp("2024-01-08")
    assert _row(out, "2024-01-03", "BBB")["fwd_return"] == pytest.approx(6.0 / 4.0 - 1)
    # D = Jan 4: exit would be the 6th trading day, which the data does not have
    for day in ["2024-01-04", "2024-01-05", "2024-01-08"]:
        late = _row(out, day, "AAA")
        assert math.isnan(late["fwd_return"])
        assert pd.isna(late["exit_date"])
    assert len(out) == len(prices)
    assert list(out.columns) == ["date", "ticker", "fwd_return", "exit_date"]


def test_a_missing_open_voids_only_that_label() -> None:
    prices = _prices({"AAA": [10.0, 11.0, 12.0, 15.0, 9.0], "BBB": [5.0, 5.0, 4.0, 4.0, 6.0]})
    prices = prices.drop(prices[(prices["ticker"] == "BBB") & (prices["date"] == DAYS[3])].index)
    out = forward_returns(prices, horizon=2)
    hole = _row(out, "2024-01-02", "BBB")  # exits at Jan 5, where BBB has no bar
    assert math.isnan(hole["fwd_return"])
    assert hole["exit_date"] == pd.Timestamp("2024-01-05")  # the calendar still knows it
    assert _row(out, "2024-01-02", "AAA")["fwd_return"] == pytest.approx(15.0 / 11.0 - 1)


def test_benchmark_makes_returns_excess_over_the_same_window() -> None:
    prices = _prices({"AAA": [10.0, 11.0, 12.0, 15.0, 9.0], "SPY": [100, 100, 110, 121, 121]})
    out = forward_returns(prices, horizon=1, benchmark="SPY")
    # D = Jan 2: AAA 11 -> 12, SPY 100 -> 110
    assert _row(out, "2024-01-02", "AAA")["fwd_return"] == pytest.approx((12 / 11 - 1) - 0.10)
    assert _row(out, "2024-01-02", "SPY")["fwd_return"] == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.drop(columns="open"), "missing columns"),
        (lambda p: pd.concat([p, p.iloc[[0]]]), "duplicate"),
        (lambda p: p.assign(open=p["open"].where(p.index != 3, 0.0)), "non-positive open"),
    ],
)
def test_bad_prices_are_refused(change, message) -> None:
    prices = _prices({"AAA": [10.0, 11.0, 12.0, 15.0, 9.0]})
    with pytest.raises(ValueError, match=message):
        forward_returns(change(prices), horizon=1)


def test_bad_horizon_and_unknown_benchmark_are_refused() -> None:
    prices = _prices({"AAA": [10.0, 11.0, 12.0, 15.0, 9.0]})
    with pytest.raises(ValueError, match="horizon"):
        forward_returns(prices, horizon=0)
    with pytest.raises(ValueError, match="benchmark 'SPY'"):
        forward_returns(prices, horizon=1, benchmark="SPY")
