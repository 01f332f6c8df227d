"""Insider net buying: exclusions, the trailing calendar-day window, scaling by dollar volume."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from investor_mimic.core.calendar import trading_days
from investor_mimic.factors import insider
from investor_mimic_tests.helpers.frames import isnan

CAL = trading_days(pd.Timestamp("2024-01-02").date(), pd.Timestamp("2024-04-05").date())


def trades(rows: list[tuple[str, str, float, bool, bool]]) -> pd.DataFrame:
    """(ticker, known_date, value_usd, is_10b5_1, is_routine) -> stg_insider_open_market rows."""
    frame = pd.DataFrame(
        rows, columns=["ticker", "known_date", "value_usd", "is_10b5_1", "is_routine"]
    )
    frame["known_date"] = pd.to_datetime(frame["known_date"])
    frame["code"] = np.where(frame["value_usd"] >= 0, "P", "S")
    frame["accession"] = [f"0000000001-24-{i:06d}" for i in range(len(frame))]
    frame["line"] = 1
    return frame


def row(panel: pd.DataFrame, date: str) -> list[float]:
    return panel.loc[[pd.Timestamp(date)]].to_numpy()[0].tolist()


def adv(a: float = 1e6, b: float = 2e6) -> pd.DataFrame:
    return pd.DataFrame({"A": a, "B": b}, index=CAL)


@pytest.fixture()
def book() -> pd.DataFrame:
    return trades(
        [
            ("A", "2024-01-03", 500_000.0, False, False),  # opportunistic purchase
            ("A", "2024-01-04", -300_000.0, True, False),  # 10b5-1 plan sale: excluded
            ("A", "2024-01-05", 200_000.0, False, True),  # routine purchase: excluded
            ("B", "2024-01-04", -400_000.0, False, False),
            ("A", "2024-02-01", -100_000.0, False, False),
            ("Z", "2024-01-04", 9e9, False, False),  # not in the universe
        ]
    )


def test_only_opportunistic_trades_count_scaled_by_dollar_volume(book: pd.DataFrame) -> None:
    out = insider.insider_net_buying(book, adv(), window_days=90)
    assert row(out, "2024-01-02") == [0.0, 0.0]  # measured: no trades
    assert row(out, "2024-01-03") == pytest.approx([0.5, 0.0])
    # the 10b5-1 sale (01-04) and the routine buy (01-05) leave A unchanged
    assert row(out, "2024-01-05") == pytest.approx([0.5, -0.2])
    assert row(out, "2024-02-01") == pytest.approx([0.4, -0.2])


def test_window_is_the_last_90_calendar_days_of_known_date(book: pd.DataFrame) -> None:
    out = insider.insider_net_buying(book, adv(), window_days=90)
    # 2024-01-03 + 90 days = 2024-04-02: from that day the purchase has left the window
    assert out.loc[pd.Timestamp("2024-04-01"), "A"] == pytest.approx(0.4)
    assert out.loc[pd.Timestamp("2024-04-02"), "A"] == pytest.approx(-0.1)
    assert out.loc[pd.Timestamp("2024-04-02"), "B"] == pytest.approx(-0.2)
    assert out.loc[pd.Timestamp("2024-04-03"), "B"] == 0.0  # exactly 0, no residue


def test_no_dollar_volume_means_not_computable(book: pd.DataFrame) -> None:
    scale = adv()
    scale.loc[pd.Timestamp("2024-01-03"), "A"] = np.nan
    out = insider.insider_net_buying(book, scale)
    assert isnan(out.loc[pd.Timestamp("2024-01-03"), "A"])
    assert out.loc[pd.Timestamp("2024-01-04"), "A"] == pytest.approx(0.5)


def test_a_trade_without_a_price_is_left_out() -> None:
    book = trades(
        [("A", "2024-01-03", 500_000.0, False, False), ("A", "2024-01-03", np.nan, False, False)]
    )
    out = insider.insider_net_buying(book, adv())
    assert out.loc[pd.Timestamp("2024-01-03"), "A"] == pytest.approx(0.5)
