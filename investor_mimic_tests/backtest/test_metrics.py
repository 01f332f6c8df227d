"""Backtest metrics: the documented formulas, checked against empyrical and by hand.

Why empyrical-reloaded: a maintained library that quants already trust computes the same
definitions (compounded daily returns, 252 a year, risk-free 0) on the same series, so a
disagreement beyond rounding means one of us has a formula wrong.
"""

from __future__ import annotations

import json
import math

import empyrical
import numpy as np
import pandas as pd
import pytest

from investor_mimic.backtest import metrics as m

TOL = {"rel": 1e-9, "abs": 1e-12}


def _returns(seed: int = 0, n: int = 800) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2021-01-04", periods=n)
    bench = rng.standard_t(5, n) * 0.01 + 0.0003
    strategy = 0.0002 + 0.7 * bench + rng.normal(0, 0.006, n)
    strategy[rng.random(n) < 0.05] = 0.0  # a few flat days (nothing held)
    return pd.DataFrame({"date": days, "strategy": strategy, "benchmark": bench})


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_headline_metrics_agree_with_empyrical(seed: int) -> None:
    frame = _returns(seed)
    r = pd.Series(frame["strategy"].to_numpy(), index=frame["date"])
    b = pd.Series(frame["benchmark"].to_numpy(), index=frame["date"])
    got = m.compute_metrics(frame)
    alpha, beta = empyrical.alpha_beta(r, b)
    expected = {
        "total_return": empyrical.cum_returns_final(r),
        "cagr": empyrical.annual_return(r),
        "volatility": empyrical.annual_volatility(r),
        "sharpe": empyrical.sharpe_ratio(r),
        "sortino": empyrical.sortino_ratio(r),
        "max_drawdown": empyrical.max_drawdown(r),
        "calmar": empyrical.calmar_ratio(r),
        "alpha": alpha,
        "beta": beta,
        "benchmark_cagr": empyrical.annual_return(b),
        "benchmark_volatility": empyrical.annual_volatility(b),
        "benchmark_sharpe": empyrical.sharpe_ratio(b),
        "benchmark_max_drawdown": empyrical.max_drawdown(b),
    }
    for name, value in expected.items():
        assert getattr(got, name) == pytest.approx(float(value), **TOL), name
    assert got.beta == pytest.approx(0.7, abs=0.05)  # and the fixture is what it says
    assert got.n_days == 800 and got.start == "2021-01-04"


def test_monthly_and_yearly_compounding_agree_with_empyrical() -> None:
    frame = _returns(3)
    r = pd.Series(frame["strategy"].to_numpy(), index=frame["date"])
    monthly = m.monthly_returns(frame)
    reference = empyrical.aggregate_returns(r, "monthly")
    cells = monthly.stack(future_stack=True).dropna()
    assert list(cells.index) == list(reference.index)  # (year, month) pairs with a day
    assert cells.to_numpy() == pytest.approx(reference.to_numpy(), **TOL)
    assert list(monthly.columns) == list(range(1, 13))
    yearly = m.yearly_table(frame)
    assert yearly["strategy_return"].to_numpy() == pytest.approx(
        empyrical.aggregate_returns(r, "yearly").to_numpy(), **TOL
    )
    # a year's row is that year's days alone
    first = frame[frame["date"].dt.year == 2021]
    assert yearly.loc[2021, "n_days"] == len(first)
    assert yearly.loc[2021, "sharpe"] == pytest.approx(empyrical.sharpe_ratio(first["strategy"]))
    assert yearly.loc[2021, "excess_return"] == pytest.approx(
        yearly.loc[2021, "strategy_return"] - yearly.loc[2021, "benchmark_return"]
    )


def test_small_cases_by_hand() -> None:
    days = pd.bdate_range("2024-01-02", periods=4)
    frame = pd.DataFrame(
        {"date": days, "strategy": [-0.1, 0.05, 0.0, 0.1], "benchmark": [0.01] * 4}
    )
    got = m.compute_metrics(frame)
    # equity 0.9, 0.945, 0.945, 1.0395: the first day is already 10 % under V_0 = 1
    assert got.max_drawdown == pytest.approx(-0.1)
    assert got.total_return == pytest.approx(0.9 * 1.05 * 1.1 - 1)
    assert got.cagr == pytest.approx((0.9 * 1.05 * 1.1) ** (252 / 4) - 1)
    assert got.hit_rate == pytest.approx(2 / 3)  # the flat day counts neither way
    # downside deviation over all four days: sqrt(0.01 / 4) = 0.05
    assert got.sortino == pytest.approx(252 * 0.0125 / (0.05 * math.sqrt(252)))
    assert math.isnan(got.beta)  # a constant benchmark explains nothing
    assert math.isnan(got.exposure) and math.isnan(got.turnover)  # not given
    assert math.isnan(got.benchmark_max_drawdown) is False and got.benchmark_max_drawdown == 0.0
    assert math.isnan(m.calmar(frame["benchmark"]))  # no drawdown, no Calmar
    assert np.allclose(m.drawdown(frame["strategy"]), [-0.1, -0.055, -0.055, 0.0])


def test_exposure_and_turnover_are_means_over_the_return_dates() -> None:
    frame = _returns(n=10)
    days = frame["date"]
    exposure = pd.Series(np.linspace(0.5, 1.0, 10), index=days)
    equity = pd.Series(1000.0, index=days)
    traded = pd.Series([1000.0, 200.0], index=days[[0, 5]])  # build the book, then rebalance
    turnover = m.daily_turnover(traded, equity)
    assert turnover.iloc[0] == 0.5 and turnover.iloc[5] == 0.1 and turnover.sum() == 0.6
    got = m.compute_metrics(frame, exposure=exposure, turnover=turnover)
    assert got.exposure == pytest.approx(0.75)
    assert got.turnover == pytest.approx(252 * 0.06)
    with pytest.raises(ValueError, match="exposure has no value for"):
        m.compute_metrics(frame, exposure=exposure.iloc[1:])
    with pytest.raises(ValueError, match=">= 0"):
        m.daily_turnover(-traded, equity)


def test_as_dict_is_flat_complete_and_strict_json() -> None:
    values = m.compute_metrics(_returns()).as_dict()
    assert {"cagr", "sharpe", "sortino", "calmar", "alpha", "beta", "hit_rate"} <= set(values)
    assert all(isinstance(v, int | float | str) for v in values.values() if v is not None)
    assert values["exposure"] is None and values["turnover"] is None  # not given: undefined
    assert json.loads(json.dumps(values, allow_nan=False)) == values


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns="benchmark"), "missing columns"),
        (lambda f: f.iloc[:0], "no rows"),
        (lambda f: pd.concat([f, f.iloc[[0]]]), "duplicate date"),
        (lambda f: f.iloc[::-1], "not in increasing order"),
        (lambda f: f.assign(strategy=f["strategy"].where(f.index != 3, -1.0)), "above -100%"),
        (lambda f: f.assign(benchmark=f["benchmark"].where(f.index != 3, np.nan)), "finite"),
    ],
)
def test_bad_return_frames_fail_with_one_clear_line(change, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        m.compute_metrics(change(_returns(n=10)))
