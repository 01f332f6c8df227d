"""Composite score: the right refit per date, missing factors as 0, ranks, timing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from investor_mimic.core import frames
from investor_mimic.research.composite import composite_scores
from investor_mimic.research.fitting import fit_weights, refit_dates
from investor_mimic.research.targets import forward_returns
from investor_mimic_tests.helpers.synthetic import FACTORS, make_world

A, B, C = FACTORS[0], FACTORS[1], FACTORS[2]
DAYS = pd.to_datetime(["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02"])


def _panel() -> pd.DataFrame:
    rows = []
    for day in DAYS:
        rows += [
            {"date": day, "ticker": "X", A: 1.0, B: -1.0, C: np.nan},
            {"date": day, "ticker": "Y", A: np.nan, B: 2.0, C: 0.5},
            {"date": day, "ticker": "Z"},  # no factor at all
            {"date": day, "ticker": "W", A: -1.0, B: 0.0, C: 0.0},
        ]
    panel = pd.DataFrame(rows).assign(sector="Tech")
    return frames.coerce(
        panel.reindex(columns=list(frames.FACTOR_PANEL.columns)), frames.FACTOR_PANEL
    )


def _weights(table: dict[str, dict[str, float]]) -> pd.DataFrame:
    rows = [
        {
            "refit_date": day,
            "factor": f,
            "weight": by_factor.get(f, 0.0),
            "method": "ic",
            "horizon_days": 5,
            "train_end": pd.Timestamp(day) - pd.Timedelta(days=10),
            "n_train": 60,
        }
        for day, by_factor in table.items()
        for f in FACTORS
    ]
    return frames.coerce(pd.DataFrame(rows), frames.FACTOR_WEIGHTS)


def _score(out: pd.DataFrame, day: pd.Timestamp, ticker: str) -> pd.Series:
    hit = out[(out["date"] == day) & (out["ticker"] == ticker)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_each_date_uses_the_latest_refit_on_or_before_it() -> None:
    weights = _weights({"2024-01-31": {A: 1.0}, "2024-02-02": {B: 0.5, C: 0.5}})
    out = composite_scores(_panel(), weights)
    assert frames.schema_problems(out, frames.COMPOSITE_SCORE) == []
    assert DAYS[0] not in set(out["date"])  # before the first refit: no score
    for day in DAYS[1:3]:  # first weights, from the refit day itself
        assert _score(out, day, "X")["score"] == 1.0
        assert _score(out, day, "Y")["score"] == 0.0  # A missing counts as 0
        assert _score(out, day, "X")["refit_date"] == pd.Timestamp("2024-01-31")
    last = DAYS[3]  # second weights, used from its refit day on
    assert _score(out, last, "X")["score"] == pytest.approx(-0.5)  # C missing -> 0
    assert _score(out, last, "Y")["score"] == pytest.approx(1.25)
    assert _score(out, last, "X")["refit_date"] == pd.Timestamp("2024-02-02")
    assert "Z" not in set(out["ticker"])  # a ticker without any factor has no score


def test_rank_one_is_the_best_score_and_ties_share_it() -> None:
    out = composite_scores(_panel(), _weights({"2024-01-30": {A: 1.0}}))
    day = out[out["date"] == DAYS[0]].set_index("ticker")
    assert day.loc["X", "rank"] == 1  # 1.0
    assert day.loc["Y", "rank"] == 2  # 0.0 (A missing)
    assert day.loc["W", "rank"] == 3  # -1.0
    tied = composite_scores(_panel(), _weights({"2024-01-30": {C: 1.0}}))
    day = tied[tied["date"] == DAYS[0]].set_index("ticker")
    assert day.loc["Y", "rank"] == 1
    assert day.loc["X", "rank"] == day.loc["W", "rank"] == 2  # both 0


def test_scores_at_a_date_ignore_every_input_after_it() -> None:
    world = make_world(seed=4)
    horizon = 5
    targets = forward_returns(world.prices, horizon)
    refits = refit_dates(pd.DatetimeIndex(world.panel["date"].unique()))
    weights = fit_weights(world.panel, targets, method="ridge", horizon=horizon, refit_dates=refits)
    scores = composite_scores(world.panel, weights)
    cut = refits[len(refits) // 2] + pd.Timedelta(days=3)

    prices = world.prices.copy()
    prices.loc[prices["date"] > cut, "open"] *= 1.5
    panel = world.panel.copy()
    panel.loc[panel["date"] > cut, list(FACTORS)] = 7.0
    weights_again = fit_weights(
        panel, forward_returns(prices, horizon), method="ridge", horizon=horizon, refit_dates=refits
    )
    again = composite_scores(panel, weights_again)
    before = scores[scores["date"] <= cut].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        before, again[again["date"] <= cut].reset_index(drop=True), check_exact=True
    )
    assert len(before) > 0
    assert not scores[scores["date"] > cut]["score"].equals(again[again["date"] > cut]["score"])


def test_bad_weights_are_refused() -> None:
    weights = _weights({"2024-01-31": {A: 1.0}})
    with pytest.raises(ValueError, match="unknown factors"):
        composite_scores(_panel(), weights.assign(factor="alpha"))
    with pytest.raises(ValueError, match="NaN weights"):
        composite_scores(_panel(), weights.assign(weight=np.nan))
    with pytest.raises(ValueError, match="duplicate"):
        composite_scores(_panel(), pd.concat([weights, weights]))
