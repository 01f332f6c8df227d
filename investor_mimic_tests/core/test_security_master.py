"""Who is listed, with which sector, on a day: spans of the security master."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from investor_mimic.core import frames
from investor_mimic.core.security_master import listed_at, listed_mask, sectors_as_of, tickers

NaT = pd.NaT
DAYS = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"])


def master() -> pd.DataFrame:
    rows = [
        # ticker, sector, valid_from, valid_to
        ("OLD", "Tech", NaT, NaT),  # listed throughout
        ("IPO", "Tech", "2024-01-04", NaT),  # listed on the third day
        ("GONE", "Energy", NaT, "2024-01-03"),  # final bar on the second day
        ("MOVE", "Tech", NaT, "2024-01-03"),  # a sector change on the third day
        ("MOVE", "Health", "2024-01-04", NaT),
    ]
    frame = pd.DataFrame(rows, columns=["ticker", "sector", "valid_from", "valid_to"])
    frame = frame.assign(cik="0000000001", cusip="000000000", name=frame["ticker"])
    return frames.checked(frame, frames.UNIVERSE)


def test_listed_mask_follows_the_spans() -> None:
    cols = ["GONE", "IPO", "MOVE", "OLD", "NOTIN"]
    mask = listed_mask(master(), DAYS, cols)
    expected = np.array(
        [
            [True, False, True, True, False],
            [True, False, True, True, False],
            [False, True, True, True, False],
            [False, True, True, True, False],
        ]
    )
    np.testing.assert_array_equal(mask, expected)


def test_sectors_are_those_in_force_on_each_day() -> None:
    got = sectors_as_of(master(), DAYS, ["MOVE", "IPO"])
    assert list(got[:, 0]) == ["Tech", "Tech", "Health", "Health"]
    assert list(got[:, 1]) == [None, None, "Tech", "Tech"]


def test_listed_at_a_day_is_one_row_per_listed_ticker() -> None:
    day2 = listed_at(master(), DAYS[1])
    assert list(day2["ticker"]) == ["GONE", "MOVE", "OLD"]
    day3 = listed_at(master(), DAYS[2])
    assert list(zip(day3["ticker"], day3["sector"], strict=True)) == [
        ("IPO", "Tech"),
        ("MOVE", "Health"),
        ("OLD", "Tech"),
    ]
    assert list(tickers(master())) == ["GONE", "IPO", "MOVE", "OLD"]


def test_the_contract_refuses_a_span_that_ends_before_it_starts() -> None:
    bad = master().copy()
    bad.loc[1, "valid_to"] = pd.Timestamp("2024-01-02")
    with pytest.raises(ValueError, match="1 rows break 'valid_from <= valid_to'"):
        frames.checked(bad, frames.UNIVERSE)
