"""Point in time, by perturbation, on random inputs; plus coverage and batch independence.

The random inputs exercise every path at once: missing bars, several 13F filers with
restatements, holdings outside the universe, 10b5-1 and routine insider trades, news on
every kind of day. Perturbing "after D" means: every row whose date / version_date /
known_date / trading_date is after D gets new values, and new rows after D are added.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from investor_mimic.core import frames
from investor_mimic.factors import FactorInputs, FactorParams, compute_factor_panel, raw_factors
from investor_mimic_tests.helpers.factor_inputs import (
    DAYS,
    _prices,
    perturb_after,
    random_inputs,
)


@pytest.fixture(scope="module")
def inputs() -> FactorInputs:
    return random_inputs(seed=11)


@pytest.mark.parametrize("sector_neutral", [False, True])
def test_nothing_after_d_changes_any_row_up_to_d(
    inputs: FactorInputs, sector_neutral: bool
) -> None:
    dates = DAYS[260:]
    cut = DAYS[330]
    before = compute_factor_panel(inputs, dates, sector_neutral=sector_neutral)
    after = compute_factor_panel(
        perturb_after(inputs, cut, seed=5), dates, sector_neutral=sector_neutral
    )
    early = before["date"] <= cut
    pd.testing.assert_frame_equal(
        before[early].reset_index(drop=True),
        after[after["date"] <= cut].reset_index(drop=True),
        check_exact=True,
    )
    # the perturbation reached every factor after the cut (else the test proves nothing)
    late_before = before[~early].reset_index(drop=True)
    late_after = after[after["date"] > cut].reset_index(drop=True)
    for name in frames.FACTOR_NAMES:
        assert not late_before[name].equals(late_after[name]), name


def test_raw_factors_are_point_in_time_too(inputs: FactorInputs) -> None:
    dates = DAYS[260:]
    cut = DAYS[300]
    before = raw_factors(inputs, dates)
    after = raw_factors(perturb_after(inputs, cut, seed=6), dates)
    pd.testing.assert_frame_equal(
        before[before["date"] <= cut].reset_index(drop=True),
        after[after["date"] <= cut].reset_index(drop=True),
        check_exact=True,
    )


def test_a_date_does_not_depend_on_the_other_requested_dates(inputs: FactorInputs) -> None:
    full = compute_factor_panel(inputs, DAYS[260:])
    for some in (DAYS[[300]], DAYS[[270, 350, 380]]):
        part = compute_factor_panel(inputs, some)
        pd.testing.assert_frame_equal(
            part, full[full["date"].isin(some)].reset_index(drop=True), check_exact=True
        )


def test_panel_contract_and_no_nan_or_inf_where_inputs_are_complete() -> None:
    rng = np.random.default_rng(3)
    tickers = [f"T{i:03d}" for i in range(25)]
    complete = dataclasses.replace(
        random_inputs(seed=3, n_tickers=25),
        prices=_prices(rng, tickers, DAYS),  # no missing bars
    )
    dates = DAYS[260:]
    panel = compute_factor_panel(complete, dates)
    assert frames.schema_problems(panel, frames.FACTOR_PANEL) == []
    assert len(panel) == len(dates) * 25
    assert not panel.duplicated(["date", "ticker"]).any()
    values = panel[list(frames.FACTOR_NAMES)].to_numpy()
    news_col = frames.FACTOR_NAMES.index("news_sentiment")
    assert np.isfinite(np.delete(values, news_col, axis=1)).all()
    # news is NaN only where a ticker had no item in the last 20 trading days
    assert np.isfinite(values[~np.isnan(values[:, news_col]), news_col]).all()
    assert np.isnan(values[:, news_col]).mean() < 0.5


def test_insufficient_history_is_nan_not_zero(inputs: FactorInputs) -> None:
    raw = raw_factors(inputs, DAYS[:260], params=FactorParams())
    first = raw[raw["date"] == DAYS[0]]
    assert first["momentum_12_1"].isna().all()
    assert first["trend"].isna().all()
    assert first["relative_strength"].isna().all()
    assert first["volume_accumulation"].isna().all()
    assert first["insider_net_buying"].isna().all()  # no average dollar volume yet
    day_251 = raw[raw["date"] == DAYS[251]]
    day_252 = raw[raw["date"] == DAYS[252]]
    assert day_251["momentum_12_1"].isna().all()
    assert day_252["momentum_12_1"].notna().sum() > 0
