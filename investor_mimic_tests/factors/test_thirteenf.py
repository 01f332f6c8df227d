"""13F conviction and flow: as-of version selection, restatements, exits, hand-checked means."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from investor_mimic.core.calendar import trading_days
from investor_mimic.factors import thirteenf
from investor_mimic_tests.helpers.frames import isnan

CAL = trading_days(pd.Timestamp("2023-11-13").date(), pd.Timestamp("2023-12-05").date())
TICKERS = pd.Index(["A", "B", "C"])
F1, F2 = "0000000001", "0000000002"
Q2, Q3, Q4 = (pd.Timestamp(d) for d in ("2023-06-30", "2023-09-30", "2023-12-31"))


def day(s: str) -> pd.Timestamp:
    return pd.Timestamp(s)


def row(panel: pd.DataFrame, date: str) -> list[float]:
    return panel.loc[[day(date)]].to_numpy()[0].tolist()


def weights_rows(rows: list[tuple[str, pd.Timestamp, str, str | None, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows, columns=["filer_cik", "period_of_report", "version_date", "ticker", "weight"]
    )
    frame["version_date"] = pd.to_datetime(frame["version_date"])
    frame["value_usd"] = frame["weight"] * 1e6
    return frame


@pytest.fixture()
def weights() -> pd.DataFrame:
    return weights_rows(
        [
            # F1 Q3 original, known 2023-11-14; ZZZ is outside the universe
            (F1, Q3, "2023-11-14", "A", 0.5),
            (F1, Q3, "2023-11-14", "B", 0.4),
            (F1, Q3, "2023-11-14", None, 0.1),
            # F1 Q3 restatement, known 2023-12-01: replaces the original from that day
            (F1, Q3, "2023-12-01", "A", 0.2),
            (F1, Q3, "2023-12-01", "B", 0.8),
            # F2 Q3, known 2023-11-20
            (F2, Q3, "2023-11-20", "A", 1.0),
            # F2 amends its *older* Q2 on 2023-12-04: must not displace its Q3
            (F2, Q2, "2023-12-04", "C", 1.0),
            # F1 files Q4 early, known 2023-12-05
            (F1, Q4, "2023-12-05", "B", 1.0),
        ]
    )


def test_conviction_is_the_mean_weight_over_filers_known_on_each_day(weights: pd.DataFrame) -> None:
    conv = thirteenf.conviction_13f(weights, CAL, TICKERS)
    assert np.isnan(row(conv, "2023-11-13")).all()  # nothing filed yet: NaN, not 0
    # one filer known: its weights; C is not held (a measured 0)
    assert row(conv, "2023-11-14") == pytest.approx([0.5, 0.4, 0.0])
    assert row(conv, "2023-11-17") == pytest.approx([0.5, 0.4, 0.0])
    # two filers: F1 original + F2
    assert row(conv, "2023-11-20") == pytest.approx([(0.5 + 1.0) / 2, 0.2, 0.0])
    # the restatement replaces F1's original
    assert row(conv, "2023-12-01") == pytest.approx([(0.2 + 1.0) / 2, 0.4, 0.0])
    # F2's late Q2 amendment changes nothing: Q3 is the latest period it has filed
    assert row(conv, "2023-12-04") == pytest.approx([0.6, 0.4, 0.0])
    # F1's Q4 supersedes its Q3 restatement
    assert row(conv, "2023-12-05") == pytest.approx([0.5, 0.5, 0.0])


def test_a_late_amendment_of_an_old_period_counts_when_nothing_newer_is_known() -> None:
    weights = weights_rows([(F2, Q2, "2023-11-14", "A", 1.0), (F2, Q2, "2023-11-16", "C", 1.0)])
    conv = thirteenf.conviction_13f(weights, CAL, TICKERS)
    assert row(conv, "2023-11-15") == [1.0, 0.0, 0.0]
    assert row(conv, "2023-11-16") == [0.0, 0.0, 1.0]


def test_a_version_filed_on_a_holiday_counts_from_the_next_trading_day() -> None:
    weights = weights_rows([(F1, Q3, "2023-11-23", "A", 1.0)])  # Thanksgiving
    conv = thirteenf.conviction_13f(weights, CAL, TICKERS)
    assert isnan(conv.loc[day("2023-11-22"), "A"])
    assert conv.loc[day("2023-11-24"), "A"] == 1.0


def changes_rows(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows,
        columns=[
            "filer_cik",
            "period_of_report",
            "version_date",
            "ticker",
            "shares",
            "prev_shares",
            "change_type",
        ],
    )
    frame["version_date"] = pd.to_datetime(frame["version_date"])
    frame["share_change_pct"] = 999.0  # deliberately wrong: the score uses shares / prev_shares
    return frame


def test_flow_scores_new_exited_and_resized_positions() -> None:
    changes = changes_rows(
        [
            (F1, Q3, "2023-11-14", "A", 100.0, 0.0, "new"),
            (F1, Q3, "2023-11-14", "B", 50.0, 100.0, "trimmed"),
            (F1, Q3, "2023-11-14", "C", 0.0, 80.0, "exited"),
            (F2, Q3, "2023-11-20", "A", 300.0, 100.0, "added"),  # +200% clipped to +1
            (F2, Q3, "2023-11-20", "B", 70.0, 70.0, "unchanged"),
            (F2, Q3, "2023-11-20", "C", 130.0, 100.0, "added"),
            # F1 restates: only the exit of C remains
            (F1, Q3, "2023-12-01", "C", 0.0, 80.0, "exited"),
        ]
    )
    flow = thirteenf.flow_13f(changes, CAL, TICKERS)
    assert np.isnan(row(flow, "2023-11-13")).all()
    assert row(flow, "2023-11-14") == pytest.approx([1.0, -0.5, -1.0])
    assert row(flow, "2023-11-20") == pytest.approx(
        [(1.0 + 1.0) / 2, (-0.5 + 0.0) / 2, (-1.0 + 0.3) / 2]
    )
    assert row(flow, "2023-12-01") == pytest.approx([0.5, 0.0, (-1.0 + 0.3) / 2])


def test_no_13f_rows_at_all_is_nan_everywhere() -> None:
    empty = weights_rows([])
    conv = thirteenf.conviction_13f(empty, CAL, TICKERS)
    assert conv.shape == (len(CAL), 3)
    assert np.isnan(conv.to_numpy()).all()
