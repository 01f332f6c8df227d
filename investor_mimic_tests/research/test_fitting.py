"""Walk-forward weights: purge and embargo, perturbation, signal recovery, fallbacks."""

from __future__ import annotations

import logging
from functools import cache
from typing import cast

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

from investor_mimic.core import frames
from investor_mimic.research.composite import composite_scores
from investor_mimic.research.evaluation import oos_ic
from investor_mimic.research.fitting import fit_weights, label_end, refit_dates, training_dates
from investor_mimic.research.targets import forward_returns
from investor_mimic.settings import FitMethod
from investor_mimic_tests.helpers.synthetic import FACTORS, SIGNAL, World, make_world

H = 5


@cache
def _world(beta: float = 0.004, seed: int = 0) -> tuple[World, pd.DataFrame, pd.DatetimeIndex]:
    world = make_world(beta=beta, seed=seed)
    targets = forward_returns(world.prices, H)
    refits = refit_dates(pd.DatetimeIndex(world.panel["date"].unique()))
    return world, targets, refits


def _fit(method: str, world: World, targets: pd.DataFrame, refits, **kw) -> pd.DataFrame:
    """``method`` is a plain str so the tests can also pass an invalid one."""
    return fit_weights(
        world.panel, targets, method=cast(FitMethod, method), horizon=H, refit_dates=refits, **kw
    )


def test_refit_dates_are_the_first_trading_day_of_each_month() -> None:
    days = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-31", "2024-02-01", "2024-03-04"])
    assert list(refit_dates(pd.DatetimeIndex(days))) == list(
        pd.to_datetime(["2024-01-02", "2024-02-01", "2024-03-04"])
    )
    assert list(refit_dates(pd.DatetimeIndex(days), "Q")) == [pd.Timestamp("2024-01-02")]
    with pytest.raises(ValueError, match="unknown frequency 'fortnight'"):
        refit_dates(pd.DatetimeIndex(days), "fortnight")


@pytest.mark.parametrize("method", ["ic", "ridge"])
def test_training_rows_closed_before_the_refit_with_an_embargo(method: str) -> None:
    world, targets, refits = _world()
    embargo = 3
    weights = _fit(method, world, targets, refits, embargo_days=embargo)
    dates = pd.DatetimeIndex(sorted(world.panel["date"].unique()))
    ends = label_end(targets, dates)
    assert weights["refit_date"].nunique() >= 8
    for refit, fit in weights.groupby("refit_date"):
        train_end = fit["train_end"].iloc[0]
        used = targets[targets["date"] <= train_end]
        assert (used["exit_date"] < refit).all()  # purge: every used label closed before R
        # embargo: exactly `embargo` more feature dates had closed labels but were dropped
        closed_after = dates[(dates > train_end) & (ends < refit).to_numpy()]
        assert len(closed_after) == embargo
        assert fit["n_train"].iloc[0] == (dates <= train_end).sum()
        assert list(training_dates(ends, refit, embargo)) == list(dates[dates <= train_end])


@pytest.mark.parametrize("method", ["ic", "ridge"])
def test_inputs_dated_after_a_refit_do_not_change_its_weights(method: str) -> None:
    world, targets, refits = _world()
    weights = _fit(method, world, targets, refits)
    cut = refits[len(refits) // 2]

    # change every price and factor from the cut on: labels closing at or after it change
    rng = np.random.default_rng(99)
    prices = world.prices.copy()
    late = prices["date"] >= cut
    prices.loc[late, "open"] *= np.exp(rng.normal(0, 0.2, late.sum()))
    panel = world.panel.copy()
    late_panel = panel["date"] >= cut
    for factor in FACTORS:
        panel.loc[late_panel, factor] = rng.standard_normal(late_panel.sum())
    perturbed_targets = forward_returns(prices, H)
    changed = (
        perturbed_targets["fwd_return"].ne(targets["fwd_return"]) & targets["fwd_return"].notna()
    )
    assert (perturbed_targets.loc[changed, "exit_date"] >= cut).all()
    assert changed.sum() > 1000

    # also scramble every label whose window closes at or after the cut
    scramble = perturbed_targets["exit_date"] >= cut
    perturbed_targets.loc[scramble, "fwd_return"] = rng.normal(0, 0.1, scramble.sum())
    again = _fit(method, World(prices, panel), perturbed_targets, refits)
    before = weights[weights["refit_date"] <= cut].reset_index(drop=True)
    after = again[again["refit_date"] <= cut].reset_index(drop=True)
    assert len(before) > 0
    assert before["weight"].to_numpy().tobytes() == after["weight"].to_numpy().tobytes()
    pd.testing.assert_frame_equal(before, after, check_exact=True)
    # the perturbation is real: later refits do see it
    later = weights[weights["refit_date"] > cut]["weight"].to_numpy()
    assert not np.array_equal(later, again[again["refit_date"] > cut]["weight"].to_numpy())


@pytest.mark.parametrize("method", ["ic", "ridge"])
def test_labels_in_the_embargo_do_not_change_the_weights(method: str) -> None:
    world, targets, refits = _world()
    refit = refits[len(refits) // 2]
    weights = _fit(method, world, targets, refits[refits == refit])
    train_end = weights["train_end"].iloc[0]
    embargoed = (targets["date"] > train_end) & (targets["exit_date"] < refit)
    assert embargoed.sum() == H * world.panel["ticker"].nunique()  # h closed days held out
    scrambled = targets.copy()
    after = scrambled["date"] > train_end
    scrambled.loc[after, "fwd_return"] = -scrambled.loc[after, "fwd_return"]
    again = _fit(method, world, scrambled, refits[refits == refit])
    pd.testing.assert_frame_equal(weights, again, check_exact=True)


@pytest.mark.parametrize("method", ["ic", "ridge"])
def test_planted_factor_gets_the_largest_weight_and_significant_oos_ic(method: str) -> None:
    world, targets, refits = _world()
    weights = _fit(method, world, targets, refits)
    assert frames.schema_problems(weights, frames.FACTOR_WEIGHTS) == []
    assert (weights["weight"] >= 0).all()
    sums = weights.groupby("refit_date")["weight"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0, rtol=0, atol=1e-12)
    top = weights.loc[weights.groupby("refit_date")["weight"].idxmax(), "factor"]
    assert set(top) == {SIGNAL}
    assert (weights["method"] == method).all()
    assert (weights["horizon_days"] == H).all()

    composite = composite_scores(world.panel, weights)
    oos = oos_ic(composite, targets, weights, horizon=H)
    assert oos.first_date == weights["refit_date"].min()
    assert oos.rank_ic_mean > 0.05
    assert oos.rank_ic_tstat > 0 and oos.rank_ic_pvalue < 0.001


@pytest.mark.parametrize("seed", range(5))
def test_no_planted_signal_gives_no_significant_oos_ic(seed: int) -> None:
    world, targets, refits = _world(beta=0.0, seed=seed)
    weights = _fit("ic", world, targets, refits)
    oos = oos_ic(composite_scores(world.panel, weights), targets, weights, horizon=H)
    assert oos.n_dates > 150
    assert oos.rank_ic_pvalue > 0.01  # per seed at 1 %: fails one seed in a hundred


def test_gram_ridge_matches_sklearn_ridge_on_all_rows() -> None:
    world, targets, refits = _world()
    alpha = 0.1
    weights = _fit("ridge", world, targets, refits[-1:], ridge_alpha=alpha)
    train_end = weights["train_end"].iloc[0]

    rows = world.panel.merge(targets, on=["date", "ticker"])
    rows = rows[(rows["date"] <= train_end) & rows["fwd_return"].notna()]
    rows = rows[rows[list(FACTORS)].notna().any(axis=1)]
    ranks = rows.groupby("date")["fwd_return"].rank()
    n = rows.groupby("date")["fwd_return"].transform("size")
    y = (ranks - (n + 1) / 2) / n
    x = rows[list(FACTORS)].fillna(0.0).to_numpy()
    direct = Ridge(alpha=alpha * len(rows), positive=True, tol=1e-10).fit(x, y).coef_
    np.testing.assert_allclose(weights["weight"].to_numpy(), direct / direct.sum(), atol=1e-4)


def test_all_negative_factors_fall_back_to_equal_weights(caplog) -> None:
    world, targets, refits = _world()
    panel = world.panel.copy()
    for factor in FACTORS:  # every factor is the planted one upside down
        panel[factor] = -world.panel[SIGNAL]
    with caplog.at_level(logging.WARNING):
        weights = fit_weights(panel, targets, method="ic", horizon=H, refit_dates=refits)
    assert len(weights) > 0
    np.testing.assert_array_equal(weights["weight"].to_numpy(), 1 / len(FACTORS))
    assert "using equal weights" in caplog.text


def test_refits_without_enough_history_are_skipped() -> None:
    world, targets, refits = _world()
    weights = _fit("ic", world, targets, refits, min_train_dates=100)
    assert (weights["n_train"] >= 100).all()
    first_kept = weights["refit_date"].min()
    assert first_kept > refits[0]
    none = _fit("ic", world, targets, refits, min_train_dates=10_000)
    assert none.empty
    assert frames.schema_problems(none, frames.FACTOR_WEIGHTS) == []


def test_bad_arguments_are_refused() -> None:
    world, targets, refits = _world()
    with pytest.raises(ValueError, match="method must be"):
        _fit("ols", world, targets, refits)
    with pytest.raises(ValueError, match="embargo_days"):
        _fit("ic", world, targets, refits, embargo_days=-1)
    broken = targets.copy()
    broken.loc[0, "exit_date"] = broken.loc[0, "date"]
    with pytest.raises(ValueError, match="not after date"):
        _fit("ic", world, broken, refits)
    with pytest.raises(ValueError, match="missing columns"):
        _fit("ic", World(world.prices, world.panel.drop(columns=SIGNAL)), targets, refits)
