"""Evaluation metrics on tiny cases that can be checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from investor_mimic.core import frames
from investor_mimic.research.evaluation import evaluate, oos_ic
from investor_mimic.research.stats import daily_ic, horizon_ttest
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


def test_horizon_ttest_by_hand() -> None:
    # n = 6h gives ν = 2 cosine terms. x = μ + a cos(π (t - ½) / n) puts all its variation
    # in term 1: Λ1 = a sqrt(n/2), Λ2 = 0, so the long-run variance is a² n / 4 and
    # t = μ / sqrt(a² / 4) = 2μ / a, against Student t with 2 degrees of freedom.
    h, n, mu, a = 5, 30, 0.3, 0.4
    x = mu + a * np.cos(np.pi * (np.arange(n) + 0.5) / n)
    test = horizon_ttest(np.append(x, np.nan), horizon=h)
    assert (test.n, test.df) == (n, 2)
    assert test.mean == pytest.approx(mu)
    assert test.tstat == pytest.approx(2 * mu / a)
    assert test.pvalue == pytest.approx(2 * scipy_stats.t.sf(1.5, 2))
    # fewer than two cosine terms: no verdict rather than a made-up one
    short = horizon_ttest(x[: 6 * h - 1], horizon=h)
    assert short.df == 1 and math.isnan(short.tstat) and math.isnan(short.pvalue)
    with pytest.raises(ValueError, match="horizon"):
        horizon_ttest(x, horizon=0)


def test_horizon_ttest_holds_its_size_on_overlapping_labels() -> None:
    # 2000 null series of 360 overlapping 20-day sums of i.i.d. noise, the shape of daily
    # ICs of 20-day labels: p < 0.05 must come out 5 % of the time (binomial s.e. 0.5 %),
    # where a Bartlett kernel at h - 1 lags rejects about twice as often.
    rng = np.random.default_rng(7)
    h, n, sims = 20, 360, 2000
    noise = rng.standard_normal((sims, n + h - 1))
    overlapping = np.lib.stride_tricks.sliding_window_view(noise, h, axis=1).sum(axis=2)
    p = np.array([horizon_ttest(row, h).pvalue for row in overlapping])
    assert 0.035 < (p < 0.05).mean() < 0.065
    assert 0.003 < (p < 0.01).mean() < 0.02
    # and it has power: a true mean three standard errors (sqrt(h² / n)) from 0 is found
    # more often than not, though only ν = 6 windows judge it
    shift = 3 * math.sqrt(h**2 / n)
    found = [horizon_ttest(row + shift, h).pvalue < 0.05 for row in overlapping[:400]]
    assert np.mean(found) > 0.5


def test_quantile_buckets_have_equal_sizes_under_ties_broken_by_ticker() -> None:
    panel, targets = _frames()
    # a factor that is 0 for most names, like insider buying: T0..T6 tie at 0
    tied = {f"T{k}": (0.0 if k < 7 else float(k)) for k in range(10)}
    panel[ROTATING] = panel["ticker"].map(tied)
    # every name's forward return is its own number, so a bucket's return names its members
    targets["fwd_return"] = np.where(
        targets["fwd_return"].notna(), targets["ticker"].str[1:].astype(float), np.nan
    )
    result = evaluate(panel, targets, horizon=3)
    # two names per bucket in ticker order among the ties: {T0,T1} {T2,T3} {T4,T5} {T6,T7} {T8,T9}
    assert result.signals[ROTATING].quantile_returns == pytest.approx((0.5, 2.5, 4.5, 6.5, 8.5))
    assert result.signals[ROTATING].turnover == 0.0  # ties keep their bucket from day to day
    # with ties averaged the seven zeros would share one bucket and two buckets stay empty
    shuffled = panel.sample(frac=1.0, random_state=0)  # row order must not matter
    again = evaluate(shuffled, targets, horizon=3)
    assert again.signals[ROTATING].quantile_returns == result.signals[ROTATING].quantile_returns


def test_quantile_buckets_split_uneven_counts_by_at_most_one() -> None:
    from investor_mimic.research.evaluation import _buckets

    signal = np.array([[3.0, np.nan, 1.0, 1.0, 2.0, 5.0, 1.0], [np.nan] * 6 + [1.0]])
    buckets = _buckets(signal, 3)
    # six names in three buckets of two: 1.0 ties in column order (cols 2, 3 | 6), then 2, 3, 5
    assert buckets[0].tolist() == [3, 0, 1, 1, 2, 3, 2]
    assert buckets[1].tolist() == [0] * 7  # fewer names than buckets: no bucket
    sizes = np.bincount(_buckets(np.zeros((1, 11)), 5)[0])[1:]
    assert sizes.tolist() == [3, 2, 2, 2, 2]
