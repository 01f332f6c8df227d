"""The universe is point in time: a ticker listed after D changes nothing at D.

The tiny world (with its own listings, delistings and sector change) is loaded into two
SQLite warehouses; the second also holds ZZNEW, listed the session after D in the
security master, with bars, 13F holdings, insider purchases and news from then on. The
whole chain runs on both: every output at dates <= D — factor panel rows (and so every
z-score), walk-forward weights, composite, and the proposals of D — is byte-identical.
ZZNEW does appear after D (so the perturbation reaches the chain and the test can fail).
Before the universe had dates, ZZNEW got panel rows from the first day (13F factors 0)
and moved every z-score at D.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from investor_mimic.core import frames
from investor_mimic.core.calendar import next_trading_day
from investor_mimic.core.security_master import listed_mask, sectors_as_of
from investor_mimic.demo import load_manifest
from investor_mimic.portfolio.cross_section import build_cross_section
from investor_mimic.portfolio.proposal import propose
from investor_mimic.portfolio.state import PortfolioState
from investor_mimic.research.chain import factor_panel_for, targets_for, weight_schedule
from investor_mimic.research.composite import composite_scores
from investor_mimic.settings import TradingSettings
from investor_mimic.sources.universe import cusip_check_digit
from investor_mimic_tests.helpers.research_world import (
    RawTables,
    panel_start,
    raw_tables,
    sqlite_warehouse,
    world,
)

SEED = 3
HORIZON = 20
D = pd.Timestamp("2023-03-15")
NEW = "ZZNEW"
LISTED = pd.Timestamp(next_trading_day(D.date()))
CUSIP = "ZZZZZZ10" + cusip_check_digit("ZZZZZZ10")


def with_newcomer(tables: RawTables) -> RawTables:
    """``tables`` plus ZZNEW listed after D: a master row, and data only after D."""
    u = tables.universe
    row = u.iloc[[0]].assign(
        ticker=NEW, cik="0009999999", cusip=CUSIP, name="Newcomer Inc", sector=u["sector"].iloc[0]
    )
    row = row.assign(valid_from=LISTED, valid_to=pd.NaT)
    universe = frames.coerce(pd.concat([u, row], ignore_index=True), frames.UNIVERSE)

    bars = tables.prices
    bench = bars[bars["ticker"] == "MKT"]
    newcomer = bench[bench["date"] >= LISTED].assign(ticker=NEW)

    h = tables.thirteenf_holdings
    late = h[(h["known_date"] > D) & h["ticker"].notna()]
    # every late filing also holds ZZNEW (a large position: its 13F factors are not 0)
    held = late.drop_duplicates("accession").assign(
        ticker=NEW, cusip=CUSIP, issuer="NEWCOMER INC", line=10_000, shares=1e6, value_usd=5e7
    )

    t = tables.insider_trades
    buys = t[(t["known_date"] > D) & (t["code"] == "P")].head(5)
    buys = buys.assign(ticker=NEW, issuer_cik="0009999999", accession=buys["accession"] + "-NEW")

    n = tables.news_sentiment
    news = n[n["trading_date"] > D].drop_duplicates("id").head(50)
    news = news.assign(ticker=NEW, id=news["id"] + "?new", sentiment=0.9, relevance=1.0)
    return RawTables(
        universe=universe,
        thirteenf_holdings=pd.concat([h, held], ignore_index=True),
        insider_trades=pd.concat([t, buys], ignore_index=True),
        prices=pd.concat([bars, newcomer], ignore_index=True),
        news_sentiment=pd.concat([n, news], ignore_index=True),
    )


@dataclass(frozen=True)
class Outputs:
    panel: pd.DataFrame
    weights: pd.DataFrame
    composite: pd.DataFrame
    prices: pd.DataFrame


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Outputs, Outputs]:
    root = world("tiny", SEED)
    manifest = load_manifest(root)
    tables = raw_tables(root)
    folder = tmp_path_factory.mktemp("universe_pit")
    start, bench = panel_start(manifest), manifest.benchmark_ticker

    def chain(t: RawTables, name: str) -> Outputs:
        warehouse = sqlite_warehouse(folder / f"{name}.sqlite", t)
        panel = factor_panel_for(warehouse, start, manifest.end, bench)
        weights = weight_schedule(
            panel, targets_for(warehouse, panel, HORIZON, bench), "ic", HORIZON
        )
        return Outputs(panel, weights, composite_scores(panel, weights), t.prices)

    return chain(tables, "original"), chain(with_newcomer(tables), "newcomer")


def _upto(frame: pd.DataFrame, col: str) -> pd.DataFrame:
    return frame[frame[col] <= D].reset_index(drop=True)


def test_the_newcomer_is_in_the_chain_after_d_only(runs: tuple[Outputs, Outputs]) -> None:
    _, new = runs
    rows = new.panel[new.panel["ticker"] == NEW]
    assert len(rows) and rows["date"].min() == LISTED
    assert (
        rows[["conviction_13f", "insider_net_buying"]].abs().sum().sum() > 0
    )  # its data reached it
    assert (new.composite["ticker"] == NEW).any()


def test_every_output_at_d_is_byte_identical(runs: tuple[Outputs, Outputs]) -> None:
    old, new = runs
    pd.testing.assert_frame_equal(
        _upto(new.panel, "date"), _upto(old.panel, "date"), check_exact=True
    )
    pd.testing.assert_frame_equal(
        _upto(new.weights, "refit_date"), _upto(old.weights, "refit_date"), check_exact=True
    )
    pd.testing.assert_frame_equal(
        _upto(new.composite, "date"), _upto(old.composite, "date"), check_exact=True
    )


def test_proposals_of_d_are_identical(runs: tuple[Outputs, Outputs]) -> None:
    rules = TradingSettings()

    def book(out: Outputs) -> pd.DataFrame:
        at_d = out.panel[out.panel["date"] == D]
        cs = build_cross_section(
            D.date(),
            out.composite,
            out.prices[["date", "ticker", "close"]],
            dict(zip(at_d["ticker"], at_d["sector"], strict=True)),
        )
        b = propose(cs, PortfolioState(1_000_000.0), rules, True).book
        return pd.DataFrame({"ticker": b.tickers, "trade": b.trade})

    old, new = book(runs[0]), book(runs[1])
    assert len(old) and (old["trade"] != 0).any()
    assert NEW not in set(new["ticker"])
    pd.testing.assert_frame_equal(new, old, check_exact=True)


def test_the_world_lists_and_delists_mid_history(runs: tuple[Outputs, Outputs]) -> None:
    """The tiny world itself: a panel row exactly where its master lists the ticker, with
    the sector in force that day; the world has listings, delistings and a sector change
    inside the panel's dates."""
    panel = runs[0].panel
    master = raw_tables(world("tiny", SEED)).universe
    days = pd.DatetimeIndex(panel["date"].unique())
    tickers = sorted(set(master["ticker"]))
    listed = listed_mask(master, days, tickers)
    sector = sectors_as_of(master, days, tickers)
    present = panel.pivot(index="date", columns="ticker", values="sector").reindex(
        index=days, columns=tickers
    )
    np.testing.assert_array_equal(present.notna().to_numpy(), listed)
    np.testing.assert_array_equal(present.to_numpy()[listed], sector[listed])
    starts, ends = listed[1:] & ~listed[:-1], listed[:-1] & ~listed[1:]
    assert starts.any(axis=0).sum() >= 1 and ends.any(axis=0).sum() >= 1
    changes = (sector[1:] != sector[:-1]) & listed[1:] & listed[:-1]
    assert changes.any(axis=0).sum() == 1
