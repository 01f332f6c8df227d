"""The backtest engine on the tiny planted world: out-of-sample performance after costs,
cost monotonicity, point-in-time by perturbation, and the look-ahead guard."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from investor_mimic.backtest.engine import (
    BacktestResult,
    LookAheadError,
    Market,
    perturbation_audit,
    run_backtest,
)
from investor_mimic.portfolio.cross_section import build_cross_section
from investor_mimic.portfolio.schedule import is_rebalance_day, rebalance_flags
from investor_mimic.portfolio.state import Holding, PortfolioState
from investor_mimic.settings import TradingSettings
from investor_mimic_tests.helpers.research_world import raw_tables, research_run, world

SEED = 1


@functools.cache
def inputs() -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str], str]:
    manifest, run = research_run("tiny", SEED)
    tables = raw_tables(world("tiny", SEED))
    sectors = dict(zip(tables.universe["ticker"], tables.universe["sector"], strict=True))
    return run.composite, tables.prices, sectors, manifest.benchmark_ticker


def backtest(rules: TradingSettings | None = None, **overrides: object) -> BacktestResult:
    scores, prices, sectors, benchmark = inputs()
    args: dict[str, object] = {
        "scores": scores,
        "prices": prices,
        "sectors": sectors,
        "benchmark": benchmark,
        "rules": rules or TradingSettings(),
    }
    args.update(overrides)
    return run_backtest(**args)  # type: ignore[arg-type]


def test_out_of_sample_sharpe_after_costs_is_positive_on_the_planted_world() -> None:
    result = backtest()
    m = result.metrics
    assert m.n_days > 250
    assert m.sharpe > 0.5
    assert m.total_return > m.benchmark_total_return
    assert len(result.fills) > 20
    assert (result.fills["commission"] > 0).all()
    # the book is invested most of the time and never levered
    assert 0.5 < m.exposure <= 1.0 + 1e-9
    assert result.exposure.max() <= 1.0 + 1e-9
    # the backtest starts no earlier than the composite (scores only after the first refit)
    assert result.returns["date"].min() >= inputs()[0]["date"].min()


def test_raising_costs_never_raises_returns() -> None:
    levels = [(0.0, 0.0), (1.0, 5.0), (10.0, 20.0), (30.0, 60.0)]
    totals = [
        backtest(TradingSettings(commission_bps=c, slippage_bps=s)).metrics.total_return
        for c, s in levels
    ]
    assert all(a > b for a, b in itertools.pairwise(totals)), totals


def test_equity_through_d_ignores_every_input_after_d() -> None:
    scores, prices, _sectors, _benchmark = inputs()
    base = backtest()
    cut = base.returns["date"].iloc[len(base.returns) // 2]
    rng = np.random.default_rng(7)
    later_p = prices["date"] > cut
    shocked = prices.copy()
    for column in ("open", "high", "low", "close"):
        shocked.loc[later_p, column] *= rng.uniform(0.5, 1.5, later_p.sum())
    later_s = scores["date"] > cut
    rescored = scores.copy()
    rescored.loc[later_s, "score"] = rng.normal(size=later_s.sum())
    moved = backtest(scores=rescored, prices=shocked)
    upto = base.returns["date"] <= cut
    pd.testing.assert_frame_equal(base.returns[upto], moved.returns[upto])
    # and the perturbation did reach the later days (the test can fail)
    assert not np.allclose(base.returns["strategy"][~upto], moved.returns["strategy"][~upto])


def test_a_score_from_weights_fitted_after_its_day_is_refused() -> None:
    scores = inputs()[0].copy()
    leak = scores.index[len(scores) // 2]
    scores.loc[leak, "refit_date"] = scores.loc[leak, "date"] + pd.Timedelta(days=30)
    with pytest.raises(LookAheadError, match="after the day it would trade on"):
        backtest(scores=scores)


def test_perturbation_audit_catches_a_leaking_score_and_passes_an_honest_one() -> None:
    prices = inputs()[1]
    closes = prices.pivot(index="date", columns="ticker", values="close")

    def producer(shift: int) -> Callable[[pd.Timestamp], pd.DataFrame]:
        def produce(cutoff: pd.Timestamp) -> pd.DataFrame:
            seen = closes[closes.index <= cutoff]
            # shift > 0: trailing return (honest); shift < 0: the next 5 days (leaks)
            score = seen.pct_change(5) if shift > 0 else seen.shift(-5) / seen - 1.0
            long = score.stack().reset_index()
            long.columns = pd.Index(["date", "ticker", "score"])
            return long

        return produce

    cuts = [closes.index[300].date(), closes.index[500].date()]
    perturbation_audit(producer(+1), cuts)
    with pytest.raises(LookAheadError, match="change when data after that day is removed"):
        perturbation_audit(producer(-1), cuts)


def test_the_engine_cross_section_is_the_production_one() -> None:
    """The engine's array cross-section equals build_cross_section (the asset's gate)."""
    scores, prices, sectors, benchmark = inputs()
    rules = TradingSettings(sizing_method="inverse_volatility")
    result = backtest(rules)
    fills = result.fills
    day = pd.Timestamp(fills["date"].iloc[len(fills) // 2])
    held = sorted(set(fills.loc[fills["date"] < day, "ticker"]))[:3]
    state = PortfolioState(1000.0, {t: Holding(1.0, 100.0) for t in held})
    closes = prices[prices["ticker"] != benchmark][["date", "ticker", "close"]]
    want = build_cross_section(
        day.date(),
        scores[scores["date"] == day][["date", "ticker", "score"]],
        closes,
        sectors,
        held=held,
        volatility_days=rules.volatility_days,
    )
    days = pd.DatetimeIndex(sorted(prices["date"].unique()))
    market = Market.build(scores, prices, sectors, benchmark, days, rules)
    got = market.cross_section(int(days.searchsorted(day)), state)
    assert list(got.tickers) == list(want.tickers)
    np.testing.assert_allclose(got.score, want.score)
    np.testing.assert_allclose(got.price, want.price)
    np.testing.assert_allclose(got.volatility, want.volatility, rtol=1e-9)
    assert list(got.sector) == list(want.sector)


def test_dated_sectors_reach_no_earlier_day() -> None:
    scores, prices, sectors, benchmark = inputs()
    days = pd.DatetimeIndex(sorted(prices["date"].unique()))
    ticker = sorted(sectors)[0]
    change = days[400]
    rows = pd.DataFrame(
        [{"date": days[0], "ticker": t, "sector": s} for t, s in sectors.items()]
        + [{"date": change, "ticker": ticker, "sector": "Renamed"}]
    )
    market = Market.build(scores, prices, rows, benchmark, days, TradingSettings())
    j = market.col[ticker]
    assert market.sector[399, j] == sectors[ticker]
    assert (market.sector[400:, j] == "Renamed").all()
    assert (market.sector[:, market.col[sorted(sectors)[1]]] == sectors[sorted(sectors)[1]]).all()


def test_rebalance_flags_are_is_rebalance_day_for_every_session() -> None:
    days = pd.DatetimeIndex(sorted(inputs()[1]["date"].unique()))
    for every in (1, 3, 10):
        want = [is_rebalance_day(d.date(), every) for d in days]
        assert rebalance_flags(days, every).tolist() == want


def test_a_delisted_holding_is_closed_at_its_final_close() -> None:
    _scores, prices, _sectors, _benchmark = inputs()
    base = backtest()
    first_buy = base.fills[base.fills["side"] == "buy"].iloc[0]
    ticker, bought = str(first_buy["ticker"]), pd.Timestamp(first_buy["date"])
    sessions = base.returns["date"]
    final = sessions[sessions > bought].iloc[3]  # its last listed session, a few days on
    before = base.fills[(base.fills["ticker"] == ticker) & (base.fills["date"] <= final)]
    signed = np.where(before["side"] == "buy", 1.0, -1.0) * before["shares"]
    held = float(signed.sum())
    assert held > 0, "pick a session while the first buy is still held"
    # the ticker's bars end with the final bar, as a delisting leaves them
    cut = prices[~((prices["ticker"] == ticker) & (prices["date"] > final))]
    result = backtest(prices=cut, delisted={ticker: final.date()})

    own = result.fills[result.fills["ticker"] == ticker]
    closing = own[own["date"] == final]
    last_close = float(cut[(cut["ticker"] == ticker) & (cut["date"] == final)]["close"].iloc[0])
    assert list(closing["side"]) == ["sell"]
    assert closing["price"].iloc[0] == last_close
    assert closing["shares"].iloc[0] == pytest.approx(held)
    assert closing["commission"].iloc[0] == pytest.approx(
        held * last_close * TradingSettings().commission_bps / 1e4
    )
    assert not (own["date"] > final).any()  # never traded (or proposed) again
    # without the close-out, the position would sit in the book unsellable
    stuck = backtest(prices=cut)
    assert not (stuck.fills["ticker"].eq(ticker) & stuck.fills["date"].gt(final)).any()
    assert result.equity.iloc[-1] != stuck.equity.iloc[-1]
