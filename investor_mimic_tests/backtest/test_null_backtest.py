"""On worlds with no planted signal the backtest finds no edge: over 20 null seeds the
annualised Sharpe of the daily active return (strategy − benchmark, after costs) centres
on zero. The raw Sharpe does not: a long-only book carries the market, so it follows
the benchmark's own Sharpe; the active return is what the score would have to earn."""

import math

import numpy as np
import pytest

from investor_mimic.backtest.engine import run_backtest
from investor_mimic.backtest.metrics import sharpe
from investor_mimic.settings import TradingSettings
from investor_mimic_tests.helpers.research_world import raw_tables, research_run, world

NULL_SEEDS = range(1, 21)


def active_sharpe(seed: int, null: bool) -> float:
    manifest, run = research_run("tiny", seed, null)
    prices = raw_tables(world("tiny", seed, null)).prices
    result = run_backtest(
        run.composite,
        prices,
        run.panel[["date", "ticker", "sector"]],
        manifest.benchmark_ticker,
        TradingSettings(),
    )
    returns = result.returns
    return sharpe(returns["strategy"] - returns["benchmark"])


@pytest.mark.slow
def test_null_worlds_backtest_active_sharpe_centres_on_zero() -> None:
    values = np.array([active_sharpe(seed, True) for seed in NULL_SEEDS])
    mean, sd = float(values.mean()), float(values.std(ddof=1))
    # the mean of 20 seeds is within 3 standard errors of zero (a 0.3 % false alarm)
    assert abs(mean) < 3 * sd / math.sqrt(len(values)), (mean, sd, values.round(2))
    # and the spread is that of noise over ~1.5 years, not a degenerate constant
    assert 0.2 < sd < 3.0, values.round(2)
    # the planted world, through the same code, stands clear of the null spread
    assert active_sharpe(1, False) > mean + 2 * sd
