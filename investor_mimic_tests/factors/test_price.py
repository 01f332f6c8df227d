"""Price and volume factors on tiny hand-checked panels (small windows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from investor_mimic.core.calendar import trading_days
from investor_mimic.factors import price
from investor_mimic_tests.helpers.frames import isnan

# 2024-01-02 .. 2024-01-09: six trading days (a weekend after the 5th)
CAL = trading_days(pd.Timestamp("2024-01-02").date(), pd.Timestamp("2024-01-09").date())


def bars(
    closes: dict[str, list[float]], volumes: dict[str, list[float]] | None = None
) -> pd.DataFrame:
    rows = []
    for ticker, series in closes.items():
        vols = (volumes or {}).get(ticker, [1000.0] * len(series))
        for day, close, volume in zip(CAL, series, vols, strict=False):
            if close is not None and not np.isnan(close):
                rows.append((day, ticker, close, close, close, close, volume))
    return pd.DataFrame(rows, columns=["date", "ticker", "open", "high", "low", "close", "volume"])


def panels(closes: dict[str, list[float]], volumes=None, fill_limit: int = 5) -> price.PricePanels:
    return price.price_panels(bars(closes, volumes), CAL, pd.Index(sorted(closes)), fill_limit)


def test_momentum_skips_the_last_days_and_needs_full_lookback() -> None:
    close = panels({"A": [10, 11, 12, 13, 14, 15], "B": [20, 20, 10, 10, 10, 40]}).close
    mom = price.momentum_12_1(close, lookback=4, skip=1)
    # D = day 4: close[day 3] / close[day 0] - 1
    assert mom.loc[CAL[4], "A"] == pytest.approx(13 / 10 - 1)
    assert mom.loc[CAL[5], "A"] == pytest.approx(14 / 11 - 1)
    assert mom.loc[CAL[5], "B"] == pytest.approx(10 / 20 - 1)  # the jump on day 5 is skipped
    assert mom.loc[CAL[:4]].isna().all().all()


def test_trend_averages_the_gaps_to_both_moving_averages() -> None:
    close = panels({"A": [10, 11, 12, 13, 14, 15]}).close
    value = price.trend(close, windows=(2, 3))
    expected = ((12 / 11.5 - 1) + (12 / 11 - 1)) / 2
    assert value.loc[CAL[2], "A"] == pytest.approx(expected)
    assert value.loc[CAL[:2], "A"].isna().all()  # the 3-day average needs three closes


def test_relative_strength_subtracts_the_benchmark_return() -> None:
    close = panels({"A": [10, 11, 12, 9, 14, 15], "SPY": [100, 100, 110, 100, 100, 100]}).close
    rs = price.relative_strength(close[["A"]], close["SPY"], days=2)
    assert rs.loc[CAL[2], "A"] == pytest.approx((12 / 10 - 1) - (110 / 100 - 1))
    assert rs.loc[CAL[3], "A"] == pytest.approx((9 / 11 - 1) - 0.0)
    assert rs.loc[CAL[:2], "A"].isna().all()


def test_volume_accumulation_is_up_minus_down_volume_over_total() -> None:
    p = panels({"B": [10, 11, 10, 12, 12, 11]}, {"B": [5, 100, 200, 300, 50, 150]})
    va = price.volume_accumulation(p.close, p.volume, days=3)
    assert isnan(va.loc[CAL[2], "B"])  # day 0 has no previous close: window incomplete
    assert va.loc[CAL[3], "B"] == pytest.approx((100 - 200 + 300) / 600)
    assert va.loc[CAL[4], "B"] == pytest.approx((-200 + 300 + 0) / 550)  # flat day counts 0
    assert va.loc[CAL[5], "B"] == pytest.approx((300 + 0 - 150) / 500)


def test_missing_bars_are_carried_forward_up_to_the_limit_with_zero_volume() -> None:
    p = panels({"A": [10, np.nan, np.nan, 13, 14, 15]}, {"A": [7, 0, 0, 9, 9, 9]}, fill_limit=1)
    assert p.close.loc[CAL[1], "A"] == 10  # carried one day
    assert isnan(p.close.loc[CAL[2], "A"])  # beyond the limit: unknown, not stale
    assert p.volume.loc[CAL[1], "A"] == 0  # nothing traded on the carried day
    assert isnan(p.volume.loc[CAL[2], "A"])
    assert p.close.loc[CAL[3], "A"] == 13


def test_average_dollar_volume_and_zero_volume_is_not_a_scale() -> None:
    p = panels(
        {"A": [10, 20, 10, 10], "Z": [5, 5, 5, 5]}, {"A": [100, 50, 300, 0], "Z": [0, 0, 0, 0]}
    )
    adv = price.average_dollar_volume(p.close, p.volume, days=2)
    assert adv.loc[CAL[1], "A"] == pytest.approx((1000 + 1000) / 2)
    assert adv.loc[CAL[3], "A"] == pytest.approx((3000 + 0) / 2)
    assert adv["Z"].isna().all()  # zero dollar volume would divide insider trades by 0


def test_trailing_sum_is_nan_unless_the_window_is_complete() -> None:
    panel = pd.DataFrame({"x": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0]})
    out = price.trailing_sum(panel, 2)["x"].tolist()
    assert np.isnan(out[0]) and out[1] == 3.0
    assert np.isnan(out[2]) and np.isnan(out[3])  # the NaN is in both windows
    assert out[4:] == [9.0, 11.0]


def test_bars_on_a_holiday_or_twice_on_one_day_are_errors() -> None:
    frame = bars({"A": [10, 11]})
    holiday = frame.iloc[[0]].assign(date=pd.Timestamp("2024-01-06"))  # a Saturday
    with pytest.raises(ValueError, match=r"not NYSE trading days, e\.g\. 2024-01-06"):
        price.price_panels(pd.concat([frame, holiday]), CAL, pd.Index(["A"]))
    with pytest.raises(ValueError, match=r"several bars, e\.g\. \(2024-01-02, A\)"):
        price.price_panels(pd.concat([frame, frame.iloc[[0]]]), CAL, pd.Index(["A"]))
