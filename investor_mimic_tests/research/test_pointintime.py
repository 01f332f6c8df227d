"""Whole-pipeline point in time: change every input after D, and nothing at or before D moves.

Two SQLite warehouses get the tiny world's source tables; in the second, everything
known after D is rewritten before the SQL models run: bar values after D (and a few bars
deleted, a new ticker's bars added), insider trades known after D (values changed, codes
flipped, rows deleted and added), news with trading_date after D (same), and 13F rows
known after D (values changed, rows deleted) plus a late RESTATEMENT, filed after D, of a
period whose original was known before D. Then the whole chain runs on both over the
same days, well past D: factor panel, forward returns, walk-forward weights, composite.

Asserted byte-identical (``assert_frame_equal`` with exact comparison): the panel rows of
every date <= D, the weights of every refit <= D, the composite of every date <= D; and
the same rows again from a run on the perturbed warehouse that *ends* at D (what the
daily job sees). Asserted different: the panel, weights and composite after D, so the
perturbation reaches the outputs and the test can fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd
import pytest

from investor_mimic.core.calendar import effective_trading_day, trading_days
from investor_mimic.core.warehouse import Warehouse
from investor_mimic.demo import load_manifest
from investor_mimic.research.chain import factor_panel_for, targets_for, weight_schedule
from investor_mimic.research.composite import composite_scores
from investor_mimic.settings import FitMethod
from investor_mimic_tests.helpers.research_world import (
    RawTables,
    panel_start,
    raw_tables,
    sqlite_warehouse,
    world,
)

SEED = 3
HORIZON = 20
#: The cut: about nine monthly refits (June 2022 on) precede it, nine follow.
D = pd.Timestamp("2023-03-15")


def _after(frame: pd.DataFrame, col: str) -> pd.Series:
    return frame[col] > D


def perturb_prices(prices: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """New values for every bar after D, 3% of those bars gone, a new ticker's bars added."""
    out = prices.copy()
    late = _after(out, "date")
    shock = np.exp(rng.normal(0, 0.05, int(late.sum())))
    for col in ("open", "high", "low", "close"):
        out.loc[late, col] = out.loc[late, col] * shock
    out.loc[late, "volume"] = (
        out.loc[late, "volume"] * rng.uniform(0.2, 5, int(late.sum()))
    ).round()
    drop = late & (rng.random(len(out)) < 0.03) & (out["ticker"] != "MKT")
    newcomer = out[late & (out["ticker"] == "MKT")].assign(ticker="ZZNEW")
    return pd.concat([out[~drop], newcomer], ignore_index=True)


def perturb_trades(trades: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Trades known after D: shares and prices changed, P/S flipped, 20% deleted, copies added."""
    out = trades.copy()
    late = _after(out, "known_date")
    n = int(late.sum())
    out.loc[late, "shares"] = (out.loc[late, "shares"] * rng.uniform(0.1, 10, n)).round()
    out.loc[late, "price"] = out.loc[late, "price"] * rng.uniform(0.5, 2, n)
    flip = late & out["code"].isin(["P", "S"]) & (rng.random(len(out)) < 0.5)
    out.loc[flip, "code"] = out.loc[flip, "code"].map({"P": "S", "S": "P"})
    out.loc[flip, "acquired_disposed"] = out.loc[flip, "code"].map({"P": "A", "S": "D"})
    keep = ~(late & (rng.random(len(out)) < 0.2))
    added = out[late & out["code"].isin(["P", "S"])].head(40).copy()
    added["accession"] = added["accession"] + "-X"
    added["code"] = "P"
    added["acquired_disposed"] = "A"
    added["is_10b5_1"] = False
    return pd.concat([out[keep], added], ignore_index=True)


def perturb_news(news: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Items counted after D: sentiment and relevance redrawn, 20% deleted, copies added."""
    out = news.copy()
    late = _after(out, "trading_date")
    n = int(late.sum())
    out.loc[late, "sentiment"] = rng.uniform(-1, 1, n)
    out.loc[late, "relevance"] = rng.uniform(0, 1, n)
    keep = ~(late & (rng.random(len(out)) < 0.2))
    added = out[late].head(200).copy()
    added["id"] = added["id"] + "?copy"
    added["sentiment"] = 1.0
    added["relevance"] = 1.0
    return pd.concat([out[keep], added], ignore_index=True)


def late_restatement(holdings: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """A RESTATEMENT, filed 10 days after D, of the newest period already known at D."""
    known = holdings[(holdings["known_date"] <= D) & (holdings["form"] == "13F-HR")]
    last = known.sort_values(["period_of_report", "accession"]).iloc[-1]
    original = known[known["accession"] == last["accession"]]
    filed = datetime.combine((D + timedelta(days=10)).date(), time(11, 0))
    restated = original.copy()
    restated["accession"] = last["accession"][:-6] + "999999"
    restated["form"] = "13F-HR/A"
    restated["amendment_type"] = "RESTATEMENT"
    restated["filed_at"] = pd.Timestamp(filed)
    restated["known_date"] = pd.Timestamp(effective_trading_day(filed))
    factor = rng.uniform(0.1, 3, len(restated))
    restated["shares"] = (restated["shares"] * factor).round()
    restated["value_usd"] = (restated["value_usd"] * factor).round()
    restated["cover_value_total_usd"] = float(restated["value_usd"].sum())
    assert restated["period_of_report"].iloc[0] < D < restated["known_date"].iloc[0]
    return restated


def perturb_holdings(holdings: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Rows known after D: shares and values changed, 20% deleted; plus a late restatement."""
    out = holdings.copy()
    late = _after(out, "known_date")
    factor = rng.uniform(0.1, 3, int(late.sum()))
    out.loc[late, "shares"] = (out.loc[late, "shares"] * factor).round()
    out.loc[late, "value_usd"] = (out.loc[late, "value_usd"] * factor).round()
    keep = ~(late & (rng.random(len(out)) < 0.2))
    return pd.concat([out[keep], late_restatement(holdings, rng)], ignore_index=True)


def perturb(tables: RawTables, seed: int = 0) -> RawTables:
    rng = np.random.default_rng(seed)
    return RawTables(
        universe=tables.universe,
        thirteenf_holdings=perturb_holdings(tables.thirteenf_holdings, rng),
        insider_trades=perturb_trades(tables.insider_trades, rng),
        prices=perturb_prices(tables.prices, rng),
        news_sentiment=perturb_news(tables.news_sentiment, rng),
    )


@dataclass(frozen=True)
class Chain:
    panel: pd.DataFrame
    targets: pd.DataFrame


@dataclass(frozen=True)
class Runs:
    original: Chain
    perturbed: Chain
    perturbed_to_d: Chain  # the perturbed warehouse, run ending at D


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    root = world("tiny", SEED)
    manifest = load_manifest(root)
    tables = raw_tables(root)
    folder = tmp_path_factory.mktemp("pit")
    original = sqlite_warehouse(folder / "original.sqlite", tables)
    perturbed = sqlite_warehouse(folder / "perturbed.sqlite", perturb(tables))
    start, bench = panel_start(manifest), manifest.benchmark_ticker

    def chain(warehouse: Warehouse, end: date) -> Chain:
        panel = factor_panel_for(warehouse, start, end, bench)
        return Chain(panel, targets_for(warehouse, panel, HORIZON, bench))

    return Runs(
        chain(original, manifest.end),
        chain(perturbed, manifest.end),
        chain(perturbed, D.date()),
    )


def _upto(frame: pd.DataFrame, col: str) -> pd.DataFrame:
    return frame[frame[col] <= D].reset_index(drop=True)


def _later(frame: pd.DataFrame, col: str) -> pd.DataFrame:
    return frame[frame[col] > D].reset_index(drop=True)


def test_d_is_a_trading_day_inside_the_panel(runs: Runs) -> None:
    days = pd.DatetimeIndex(runs.original.panel["date"].unique())
    assert D in trading_days(D.date(), D.date())
    assert days[0] < D < days[-1]


def test_factor_panel_through_d_is_identical(runs: Runs) -> None:
    expected = _upto(runs.original.panel, "date")
    pd.testing.assert_frame_equal(_upto(runs.perturbed.panel, "date"), expected, check_exact=True)
    pd.testing.assert_frame_equal(
        runs.perturbed_to_d.panel.reset_index(drop=True), expected, check_exact=True
    )


def test_factor_panel_after_d_changes(runs: Runs) -> None:
    a, b = _later(runs.original.panel, "date"), _later(runs.perturbed.panel, "date")
    assert a[["date", "ticker"]].equals(b[["date", "ticker"]])
    factors = [c for c in a.columns if c not in ("date", "ticker", "sector")]
    changed = {f for f in factors if not np.array_equal(a[f], b[f], equal_nan=True)}
    assert changed == set(factors), f"unchanged after D: {set(factors) - changed}"


@pytest.mark.parametrize("method", ["ic", "ridge"])
def test_weights_and_composite_through_d_are_identical(runs: Runs, method: FitMethod) -> None:
    def schedule(chain: Chain) -> tuple[pd.DataFrame, pd.DataFrame]:
        weights = weight_schedule(chain.panel, chain.targets, method, HORIZON)
        return weights, composite_scores(chain.panel, weights)

    w_a, c_a = schedule(runs.original)
    w_b, c_b = schedule(runs.perturbed)
    w_d, c_d = schedule(runs.perturbed_to_d)
    refits_before = _upto(w_a, "refit_date")["refit_date"].nunique()
    assert refits_before >= 6, f"only {refits_before} refits precede D; move D later"

    pd.testing.assert_frame_equal(
        _upto(w_b, "refit_date"), _upto(w_a, "refit_date"), check_exact=True
    )
    pd.testing.assert_frame_equal(
        w_d.reset_index(drop=True), _upto(w_a, "refit_date"), check_exact=True
    )
    pd.testing.assert_frame_equal(_upto(c_b, "date"), _upto(c_a, "date"), check_exact=True)
    pd.testing.assert_frame_equal(c_d.reset_index(drop=True), _upto(c_a, "date"), check_exact=True)

    # ... and the perturbation does reach every later output
    later_a, later_b = _later(w_a, "refit_date"), _later(w_b, "refit_date")
    assert len(later_a) and not later_a["weight"].equals(later_b["weight"])
    score_a, score_b = _later(c_a, "date"), _later(c_b, "date")
    assert len(score_a) and not score_a["score"].equals(score_b["score"])
