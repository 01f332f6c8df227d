"""The factor panel end to end: contract, wiring of each factor, bad inputs, loaded history."""

from __future__ import annotations

import dataclasses
import threading
from typing import cast

import numpy as np
import pandas as pd
import pytest

from investor_mimic.core import frames
from investor_mimic.factors import FactorInputs, FactorParams, compute_factor_panel, raw_factors
from investor_mimic.factors import panel as panel_module
from investor_mimic.factors.inputs import (
    INPUTS,
    INSIDER_OPEN_MARKET,
    NEWS,
    PORTFOLIO_WEIGHTS,
    POSITION_CHANGES,
)
from investor_mimic.factors.registry import REGISTRY
from investor_mimic_tests.helpers.factor_inputs import DAYS, listed_throughout, random_inputs
from investor_mimic_tests.helpers.frames import isnan

SMALL = FactorParams(
    momentum_lookback=4,
    momentum_skip=1,
    trend_windows=(2, 3),
    relative_strength_days=2,
    volume_days=3,
    adv_days=2,
)
CAL = DAYS[:6]  # 2022-01-03 .. 2022-01-10


def tiny_inputs() -> FactorInputs:
    closes = {
        "A": [10, 11, 12, 13, 14, 15],
        "B": [20, 20, 10, 10, 10, 40],
        "SPY": [100, 100, 110, 100, 100, 100],
    }
    prices = pd.DataFrame(
        [
            (day, ticker, c, c, c, c, 1000.0)
            for ticker, series in closes.items()
            for day, c in zip(CAL, series, strict=True)
        ],
        columns=["date", "ticker", "open", "high", "low", "close", "volume"],
    )
    return FactorInputs(
        prices=prices,
        benchmark="SPY",
        universe=listed_throughout(
            pd.DataFrame({"ticker": ["B", "A", "C"], "sector": ["Tech", "Tech", "Energy"]})
        ),
        portfolio_weights=PORTFOLIO_WEIGHTS.empty(),
        position_changes=POSITION_CHANGES.empty(),
        insider_trades=INSIDER_OPEN_MARKET.empty(),
        news=NEWS.empty(),
    )


def test_raw_factors_wire_each_factor_to_its_inputs() -> None:
    raw = raw_factors(tiny_inputs(), CAL[4:], params=SMALL).set_index(["date", "ticker"])
    assert list(raw.index.get_level_values("ticker").unique()) == ["A", "B", "C"]  # no SPY
    a4 = cast(pd.Series, raw.loc[(CAL[4], "A")])
    assert a4["momentum_12_1"] == pytest.approx(13 / 10 - 1)
    assert a4["relative_strength"] == pytest.approx((14 / 12 - 1) - (100 / 110 - 1))
    assert a4["trend"] == pytest.approx(((14 / 13.5 - 1) + (14 / 13 - 1)) / 2)
    assert a4["volume_accumulation"] == pytest.approx(1.0)  # three up days
    assert a4["insider_net_buying"] == 0.0  # no trades, and a dollar volume to scale by
    assert isnan(a4["conviction_13f"]) and isnan(a4["news_sentiment"])  # no data
    assert cast(pd.Series, raw.loc[(CAL[4], "C")]).drop("sector").isna().all()  # no prices at all
    assert raw.loc[(CAL[4], "B"), "sector"] == "Tech"


def test_panel_is_in_contract_form_with_a_row_per_date_and_ticker() -> None:
    panel = compute_factor_panel(tiny_inputs(), CAL[3:], params=SMALL)
    pd.testing.assert_frame_equal(panel, frames.coerce(panel, frames.FACTOR_PANEL))
    assert frames.schema_problems(panel, frames.FACTOR_PANEL) == []
    assert list(zip(panel["date"], panel["ticker"], strict=True)) == [
        (d, t) for d in CAL[3:] for t in ("A", "B", "C")
    ]
    # two priced tickers per date: z-scores are -1 and +1, C stays NaN
    day = panel[panel["date"] == CAL[4]].set_index("ticker")
    assert sorted(day.loc[["A", "B"], "momentum_12_1"]) == pytest.approx([-1, 1])
    assert isnan(day.loc["C", "momentum_12_1"])


def test_progress_and_errors_of_the_normalising_thread_reach_the_caller() -> None:
    """Factors are normalised on a second thread: progress still comes once per factor
    from the caller's thread, and an error raised there is raised to the caller."""
    calls: list[tuple[int, int, threading.Thread]] = []
    compute_factor_panel(
        tiny_inputs(),
        CAL[3:],
        params=SMALL,
        advance=lambda n, rows: calls.append((n, rows, threading.current_thread())),
    )
    assert calls == [(1, 3 * 3, threading.current_thread())] * len(REGISTRY)
    with pytest.raises(ValueError, match=r"winsorise: quantile 0\.5 is not in \[0, 0\.5\)"):
        compute_factor_panel(tiny_inputs(), CAL[3:], params=FactorParams(winsor_quantile=0.5))


def test_the_panel_is_the_same_where_libc_has_no_malloc_trim(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Handing freed pages back to the OS is an optimisation: without it (no glibc, e.g.
    macOS) the panel is computed all the same, to the bit."""
    trimmed = compute_factor_panel(tiny_inputs(), CAL[3:], params=SMALL)
    monkeypatch.setattr(panel_module, "_process_symbols", lambda: None)
    untrimmed = compute_factor_panel(tiny_inputs(), CAL[3:], params=SMALL)
    pd.testing.assert_frame_equal(untrimmed, trimmed, check_exact=True)


def test_a_value_does_not_depend_on_how_much_older_history_was_loaded() -> None:
    """What a partition run loads (a look-back before its first day) is enough, to the bit."""
    inputs = random_inputs(seed=21)
    dates = DAYS[300:320]
    full = compute_factor_panel(inputs, dates, sector_neutral=True)
    first = DAYS[300 - 252 - 6]  # momentum's 252 days plus the fill limit
    events = dates[0] - pd.Timedelta(days=120)  # insider's 90 days and news' 20 trading days
    trimmed = dataclasses.replace(
        inputs,
        prices=inputs.prices[inputs.prices["date"] >= first],
        insider_trades=inputs.insider_trades[inputs.insider_trades["known_date"] >= events],
        news=inputs.news[inputs.news["trading_date"] >= events],
    )
    pd.testing.assert_frame_equal(
        compute_factor_panel(trimmed, dates, sector_neutral=True), full, check_exact=True
    )


def replace(**changes: object) -> FactorInputs:
    base = tiny_inputs()
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
    return FactorInputs(**(fields | changes))


def test_bad_inputs_fail_with_one_line_that_says_what_and_where() -> None:
    prices = tiny_inputs().prices
    cases = [
        (lambda: replace(benchmark="QQQ"), "prices: no rows for the benchmark ticker 'QQQ'"),
        (
            lambda: replace(prices=prices.drop(columns="volume")),
            r"prices: missing columns \['volume'\]",
        ),
        (lambda: replace(prices=prices.assign(close=-1.0)), r"prices: 18 rows break 'close > 0'"),
        (
            lambda: replace(prices=prices.assign(volume=np.inf)),
            r"prices: 18 rows break 'volume finite'",
        ),
        (
            lambda: replace(prices=prices.assign(date=prices["date"] + pd.Timedelta(hours=10))),
            "prices: column date holds times of day",
        ),
        (
            lambda: replace(
                universe=listed_throughout(
                    pd.DataFrame({"ticker": ["A", "A"], "sector": ["X", "Y"]})
                )
            ),
            r"universe: 1 rows repeat the key \('ticker', 'valid_from'\)",
        ),
        (
            lambda: replace(
                insider_trades=pd.DataFrame(
                    [
                        [
                            "x",
                            1,
                            "A",
                            "o",
                            "2022-01-04",
                            "2022-01-03",
                            "P",
                            1.0,
                            1.0,
                            -5.0,
                            False,
                            False,
                        ]
                    ],
                    columns=list(INSIDER_OPEN_MARKET.columns),
                )
            ),
            "stg_insider_open_market: 1 rows break 'value_usd >= 0 for P and <= 0 for S'",
        ),
        (
            lambda: replace(
                position_changes=pd.DataFrame(
                    [["1", "2021-12-31", "2022-01-04", "A", 1.0, 0.0, "bought", None]],
                    columns=list(POSITION_CHANGES.columns),
                )
            ),
            "thirteenf_position_changes: 1 rows break 'change_type in",
        ),
        (
            lambda: replace(news=NEWS.empty().drop(columns="relevance")),
            r"news_sentiment: missing columns \['relevance'\]",
        ),
    ]
    for make, message in cases:
        with pytest.raises(ValueError, match=message) as info:
            make()
        assert "\n" not in str(info.value)


def test_the_inputs_hold_only_the_price_columns_the_factors_read() -> None:
    """Not a view of the caller's bars either: that would keep open/high/low alive."""
    bars = pd.DataFrame(
        {
            "date": CAL,
            "ticker": "SPY",
            **{column: np.linspace(1.0, 2.0, len(CAL)) for column in ("open", "high", "low")},
            "close": np.linspace(1.0, 2.0, len(CAL)),
            "volume": 10.0,
        }
    )
    held = replace(prices=bars).prices
    assert list(held.columns) == list(INPUTS["prices"].columns or ())
    assert held["close"].tolist() == bars["close"].tolist()
    for column in ("close", "volume"):
        assert not np.shares_memory(held[column].to_numpy(), bars[column].to_numpy())


def test_requested_dates_must_be_trading_days() -> None:
    inputs = tiny_inputs()
    with pytest.raises(ValueError, match=r"not NYSE trading days, e\.g\. 2022-01-08"):
        compute_factor_panel(inputs, pd.DatetimeIndex(["2022-01-07", "2022-01-08"]))
    with pytest.raises(ValueError, match="duplicates"):
        compute_factor_panel(inputs, pd.DatetimeIndex(["2022-01-07", "2022-01-07"]))
    with pytest.raises(ValueError, match="no dates requested"):
        compute_factor_panel(inputs, pd.DatetimeIndex([]))
