"""Evaluation metrics on tiny cases that can be checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from investor_mimic.core import frames
from investor_mimic.research.evaluation import evaluate, oos_ic
from investor_mimic.research.stats import daily_ic, newey_west_tstat
from investor_mimic_tests.helpers.synthetic import FACTORS

PERFECT, REVERSED, HALF, ROTATING = FACTORS[0], FACTORS[1], FACTORS[2], FACTORS[3]
DAYS = pd.bdate_range("2024-03-04", periods=6)
TICKERS = [f"T{k}" for k in range(10)]
LABELLED = 4  # the last two days have no label yet


def _fwd(t: int, k: int) -> float:
    return 0.01 * k - 0.002 * t if t < LABELLED else np.nan


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    panel_rows, target_rows = [], []
    for t, day in enumerate(DAYS):
        for k, ticker in enumerate(TICKERS):
            truth = 0.01 * k - 0.002 * t
            panel_rows.append(
                {
                    "date": day,
                    "ticker": ticker,
                    "sector": "Tech",
                    PERFECT: truth,
                    REVERSED: -truth,
                    HALF: truth if k % 2 else np.nan,
                    ROTATING: float((k + 2 * t) % 10),
                }
            )
            exit_date = DAYS[t] + pd.offsets.BDay(3) if t < LABELLED else pd.NaT
            target_rows.append(
                {"date": day, "ticker": ticker, "fwd_return": _fwd(t, k), "exit_date": exit_date}
            )
    panel = pd.DataFrame(panel_rows).reindex(columns=list(frames.FACTOR_PANEL.columns))
    return frames.coerce(panel, frames.FACTOR_PANEL), pd.DataFrame(target_rows)


def test_perfect_and_reversed_rankings() -> None:
    panel, targets = _frames()
    result = evaluate(panel, targets, horizon=3)
    perfect, reversed_ = result.signals[PERFECT], result.signals[REVERSED]
    assert perfect.n_dates == LABELLED
    assert perfect.rank_ic_mean == pytest.approx(1.0)
    assert perfect.ic_mean == pytest.approx(1.0)
    assert reversed_.rank_ic_mean == pytest.approx(-1.0)
    # 10 names in 5 buckets of 2: bucket q holds names 2q-2 and 2q-1; day t shifts by -0.002t
    shift = -0.002 * np.mean(range(LABELLED))
    expected = [0.01 * (2 * q - 1.5) + shift for q in range(1, 6)]
    np.testing.assert_allclose(perfect.quantile_returns, expected)
    assert perfect.spread == pytest.approx(0.08)
    assert reversed_.spread == pytest.approx(-0.08)
    assert perfect.turnover == 0.0  # the same two names on top every day
    assert perfect.coverage == 1.0


def test_coverage_turnover_and_empty_factors() -> None:
    panel, targets = _frames()
    result = evaluate(panel, targets, horizon=3)
    assert result.signals[HALF].coverage == 0.5
    assert result.signals[HALF].rank_ic_mean == pytest.approx(1.0)
    assert result.signals[ROTATING].turnover == 1.0  # the top two names move on each day
    empty = result.signals[FACTORS[7]]
    assert empty.n_dates == 0 and empty.coverage == 0.0
    assert math.isnan(empty.rank_ic_mean)


def test_composite_is_evaluated_and_metadata_is_flat() -> None:
    panel, targets = _frames()
    composite = panel[["date", "ticker"]].assign(score=-panel[PERFECT])
    result = evaluate(panel, targets, horizon=3, composite=composite)
    assert result.signals["composite"].rank_ic_mean == pytest.approx(-1.0)
    meta = result.metadata()
    assert meta["composite/rank_ic_mean"] == pytest.approx(-1.0)
    assert meta[f"{PERFECT}/q5_return"] == pytest.approx(
        result.signals[PERFECT].quantile_returns[4]
    )
    assert all(isinstance(v, int | float) for v in meta.values())
    assert result.quantile_table().shape == (len(FACTORS) + 1, 5)
    assert list(result.daily_rank_ic.index) == list(DAYS)
    assert result.daily_rank_ic[PERFECT].iloc[:LABELLED].eq(1.0).all()
    assert result.daily_rank_ic[PERFECT].iloc[LABELLED:].isna().all()


def test_oos_ic_uses_only_dates_from_the_first_refit_on() -> None:
    panel, targets = _frames()
    first_refit = DAYS[2]
    # before the refit the score is upside down; it must not count
    sign = np.where(panel["date"] < first_refit, -1.0, 1.0)
    composite = panel[["date", "ticker"]].assign(score=sign * panel[PERFECT])
    weights = pd.DataFrame({"refit_date": [first_refit, DAYS[3]]})
    result = oos_ic(composite, targets, weights, horizon=3)
    assert result.first_date == first_refit
    assert result.n_dates == LABELLED - 2
    assert result.rank_ic_mean == pytest.approx(1.0)
    assert result.metadata()["oos/first_date"] == "2024-03-06"
    with pytest.raises(ValueError, match="no weights"):
        oos_ic(composite, targets, weights.iloc[:0], horizon=3)


def test_daily_ic_pearson_versus_spearman() -> None:
    signal = np.array([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, np.nan, 4.0]])
    forward = np.array([[1.0, 2.0, 3.0, 100.0], [1.0, 1.0, 1.0, 1.0]])
    rank = daily_ic(signal, forward, "spearman")
    pearson = daily_ic(signal, forward, "pearson")
    assert rank[0] == pytest.approx(1.0)  # monotone
    assert pearson[0] < 0.9  # but far from linear
    assert np.isnan(rank[1]) and np.isnan(pearson[1])  # no variance in the label


def test_newey_west_tstat_by_hand() -> None:
    # x = 1..4: mean 2.5, deviations ±1.5, ±0.5; γ0 = 1.25, γ1 = 0.3125, one lag weighted 1/2
    # var = 1.25 + 2 · 0.5 · 0.3125 = 1.5625; t = 2.5 / sqrt(1.5625 / 4) = 4
    assert newey_west_tstat(np.array([1.0, 2.0, 3.0, 4.0, np.nan]), lags=1) == pytest.approx(4.0)
    # overlap correction: a positively autocorrelated series gets a smaller t than naive
    x = np.repeat(np.random.default_rng(0).normal(0.1, 1.0, 200), 5)
    naive = x.mean() / (x.std() / math.sqrt(len(x)))
    assert newey_west_tstat(x, lags=4) < 0.6 * naive
