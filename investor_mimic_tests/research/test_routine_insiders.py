"""The routine-insider rule fires on a world long enough for it, and its trades are excluded.

The rule (``dbt_like_sql/stg_insider_open_market.sql``, Cohen, Malloy & Pomorski): an
open-market trade is routine when its owner traded the same ticker in the same calendar
month in each of the three prior years, counting only trades already known. A three-year
world (``tiny``) can never show it; the ``long`` world (24 tickers, 2018-2023) can, from
2021 on. Its routine insiders (``truth/insiders.parquet``, behaviour ``routine``) trade
in their month every year — mostly 10b5-1 plan sales, but also plain sales and purchases,
which only the routine rule keeps out of the insider factor.

What is shown, through the production path (world truth → SQL models → research reads →
factor panel):

* every routine-month trade of a routine insider from the fourth year on is flagged, none
  before, and every flagged trade has its three years of history in the world's truth;
* scaling the routine trades' sizes a hundredfold leaves ``insider_net_buying``
  byte-identical at every date, while the same scaling of as many opportunistic trades
  changes it: the exclusion is real, and the test could see a failure.
"""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from investor_mimic.core.warehouse import Warehouse
from investor_mimic.research.chain import factor_panel_for
from investor_mimic_tests.helpers.research_world import RawTables, raw_tables, world

SEED = 1
SCALE = 100.0


@functools.cache
def long_world() -> Path:
    return world("long", SEED)


def open_market(warehouse: Warehouse) -> pd.DataFrame:
    """``stg_insider_open_market`` with typed flags and dates."""
    frame = warehouse.read("SELECT * FROM stg_insider_open_market")
    return frame.assign(
        transaction_date=pd.to_datetime(frame["transaction_date"]),
        is_routine=frame["is_routine"].astype(bool),
        is_10b5_1=frame["is_10b5_1"].astype(bool),
    )


def load(tmp_path: Path, name: str, tables: RawTables) -> Warehouse:
    from investor_mimic_tests.helpers.research_world import sqlite_warehouse

    return sqlite_warehouse(tmp_path / f"{name}.sqlite", tables)


def scaled(tables: RawTables, keys: pd.DataFrame) -> RawTables:
    """``tables`` with the shares of the (accession, line) rows in ``keys`` × SCALE."""
    trades = tables.insider_trades.copy()
    hit = pd.MultiIndex.from_frame(trades[["accession", "line"]]).isin(
        pd.MultiIndex.from_frame(keys[["accession", "line"]])
    )
    assert hit.sum() == len(keys)
    trades.loc[hit, "shares"] = trades.loc[hit, "shares"] * SCALE
    return RawTables(
        tables.universe, tables.thirteenf_holdings, trades, tables.prices, tables.news_sentiment
    )


def test_routine_insiders_are_flagged_from_the_fourth_year(tmp_path: Path) -> None:
    root = long_world()
    insiders = pd.read_parquet(root / "truth" / "insiders.parquet")
    warehouse = load(tmp_path, "long", raw_tables(root))
    trades = open_market(warehouse).merge(insiders, on=["owner_cik", "ticker"], how="left")
    assert trades["behavior"].notna().all()
    first_year = int(trades["transaction_date"].dt.year.min())
    year = trades["transaction_date"].dt.year

    planted = (trades["behavior"] == "routine") & (
        trades["transaction_date"].dt.month == trades["routine_month"]
    )
    assert trades.loc[planted & (year >= first_year + 3), "is_routine"].all()
    assert (planted & (year >= first_year + 3)).sum() > 100
    assert not trades.loc[year < first_year + 3, "is_routine"].any()
    # ... and not only plan sales, which the 10b5-1 flag would exclude anyway
    assert (trades["is_routine"] & ~trades["is_10b5_1"]).sum() > 20
    assert {"P", "S"} <= set(trades.loc[trades["is_routine"] & ~trades["is_10b5_1"], "code"])

    # every flagged trade: its owner traded the ticker in that month in each prior year
    history = {
        (o, t, y, m)
        for o, t, y, m in zip(
            trades["owner_cik"],
            trades["ticker"],
            year,
            trades["transaction_date"].dt.month,
            strict=True,
        )
    }
    for row in trades[trades["is_routine"]].itertuples():
        tx = row.transaction_date
        assert all((row.owner_cik, row.ticker, tx.year - k, tx.month) in history for k in (1, 2, 3))
    warehouse.engine.dispose()


def test_routine_trades_do_not_move_insider_net_buying(tmp_path: Path) -> None:
    root = long_world()
    tables = raw_tables(root)
    base = load(tmp_path, "base", tables)
    trades = open_market(base)
    routine = trades[trades["is_routine"] & ~trades["is_10b5_1"]]
    opportunistic = trades[~trades["is_routine"] & ~trades["is_10b5_1"]]
    others = opportunistic[opportunistic["transaction_date"].dt.year >= 2021]
    contrast = others.sample(n=len(routine), random_state=0)

    start, end = date(2021, 1, 4), date(2023, 12, 29)
    panels = {}
    for name, changed in (("base", None), ("routine", routine), ("opportunistic", contrast)):
        warehouse = base if changed is None else load(tmp_path, name, scaled(tables, changed))
        if changed is not None:  # the perturbation moves sizes, never the flags
            again = open_market(warehouse).set_index(["accession", "line"])["is_routine"]
            pd.testing.assert_series_equal(
                again.sort_index(),
                trades.set_index(["accession", "line"])["is_routine"].sort_index(),
            )
        panel = factor_panel_for(warehouse, start, end, "MKT")
        panels[name] = panel.set_index(["date", "ticker"])["insider_net_buying"].sort_index()
        warehouse.engine.dispose()

    assert panels["base"].notna().mean() > 0.9
    pd.testing.assert_series_equal(panels["routine"], panels["base"], check_exact=True)
    moved = ~np.isclose(panels["opportunistic"], panels["base"], equal_nan=True)
    assert moved.mean() > 0.05, moved.mean()
