"""The SQL models' semantics on hand-built raw rows, and SQLite == PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from investor_mimic import sql as sm
from investor_mimic.core.warehouse import Warehouse
from investor_mimic_tests.helpers.sql_rows import (
    OTHER_FILER,
    PROJECT_DIR,
    Q1,
    Q4,
    d,
    holding,
    holdings_frame,
    insider_rows,
    iso,
    load_raw,
    run_all,
    thirteenf_rows,
    trade,
    trades_frame,
    universe_frame,
    versions,
)


@pytest.fixture(scope="module")
def project() -> sm.SqlProject:
    return sm.load_project(PROJECT_DIR)


@pytest.fixture()
def wh(tmp_path: Path) -> Warehouse:
    return Warehouse(f"sqlite:///{tmp_path / 'wh.db'}")


# --- 13F: point-in-time versions ---------------------------------------------------------


@pytest.fixture()
def thirteenf_out(wh: Warehouse, project: sm.SqlProject) -> dict[str, pd.DataFrame]:
    load_raw(wh, thirteenf_holdings=holdings_frame(thirteenf_rows()))
    return run_all(wh, project)


def test_versions_follow_amendments_from_their_own_dates(
    thirteenf_out: dict[str, pd.DataFrame],
) -> None:
    pit = thirteenf_out["stg_thirteenf_holdings_pit"]
    assert versions(pit, Q4) == {
        "2024-02-14": {"AAA": 100, "BBB": 50},  # options, PRN and unmapped rows dropped
        "2024-03-01": {"AAA": 110, "BBB": 50, "CCC": 70},  # NEW HOLDINGS adds
        "2024-04-01": {"AAA": 120},  # RESTATEMENT replaces original and earlier additions
        "2024-04-15": {"AAA": 120, "DDD": 5, "BBB": 7},  # later NEW HOLDINGS adds to it
    }
    assert versions(pit, Q1) == {
        "2024-04-10": {"AAA": 130, "CCC": 10},
        "2024-05-01": {"DDD": 2, "BBB": 7},
    }
    # value_usd is aggregated alongside shares (every test row is priced at $10)
    assert (pit["value_usd"] == pit["shares"] * 10).all()


def test_same_day_filings_are_ordered_by_accession(wh: Warehouse, project: sm.SqlProject) -> None:
    f = OTHER_FILER
    rows = [
        holding("C1", Q4, "2024-02-14", "AAA", 10, filer=f),
        # restatement C2 then NEW HOLDINGS C3, same day: C3 adds to C2
        holding("C2", Q4, "2024-03-01", "BBB", 20, filer=f, amendment_type="RESTATEMENT"),
        holding("C3", Q4, "2024-03-01", "CCC", 30, filer=f, amendment_type="NEW HOLDINGS"),
        # NEW HOLDINGS C4 then restatement C5, same day: C5 replaces C4 too
        holding("C4", Q4, "2024-03-10", "DDD", 40, filer=f, amendment_type="NEW HOLDINGS"),
        holding("C5", Q4, "2024-03-10", "AAA", 50, filer=f, amendment_type="RESTATEMENT"),
    ]
    load_raw(wh, thirteenf_holdings=holdings_frame(rows))
    sm.run_model(wh, project, "stg_thirteenf_holdings_pit")
    pit = sm.read_model(wh, project, "stg_thirteenf_holdings_pit")
    assert versions(pit, Q4, filer=f) == {
        "2024-02-14": {"AAA": 10},
        "2024-03-01": {"BBB": 20, "CCC": 30},
        "2024-03-10": {"AAA": 50},
    }


def test_restatement_of_only_options_empties_the_stock_positions(
    wh: Warehouse, project: sm.SqlProject
) -> None:
    """Filing events come from all rows, so a restatement without stock rows still counts."""
    rows = [
        holding("D1", Q4, "2024-02-14", "AAA", 10),
        holding("D2", Q4, "2024-03-01", "AAA", 10, put_call="Put", amendment_type="RESTATEMENT"),
        holding("D3", Q4, "2024-03-05", "BBB", 5, amendment_type="NEW HOLDINGS"),
    ]
    load_raw(wh, thirteenf_holdings=holdings_frame(rows))
    sm.run_model(wh, project, "stg_thirteenf_holdings_pit")
    pit = sm.read_model(wh, project, "stg_thirteenf_holdings_pit")
    # 03-01 has no stock rows (so no version rows); 03-05 adds only to the restatement
    assert versions(pit, Q4) == {"2024-02-14": {"AAA": 10}, "2024-03-05": {"BBB": 5}}


def test_weights_are_value_shares_of_each_version(thirteenf_out: dict[str, pd.DataFrame]) -> None:
    w = thirteenf_out["filer_portfolio_weights"]
    sums = w.groupby(["filer_cik", "period_of_report", "version_date"])["weight"].sum()
    assert sums.to_numpy() == pytest.approx(1.0)
    v = w[w["version_date"] == d("2024-03-01")].set_index("ticker")
    assert v.loc["CCC", "weight"] == pytest.approx(700 / (1100 + 500 + 700))
    assert v.loc["CCC", "value_usd"] == 700


def test_position_changes_against_previous_period_as_known(
    thirteenf_out: dict[str, pd.DataFrame],
) -> None:
    ch = thirteenf_out["thirteenf_position_changes"]
    # the first period (Q4) has no previous period: no rows for any of its versions
    assert set(ch["period_of_report"]) == {d(Q1)}
    got = {
        (iso(r.version_date), r.ticker): (r.shares, r.prev_shares, r.change_type)
        for r in ch.itertuples()
    }
    assert got == {
        # on 04-10 the Q4 version known is the 04-01 restatement (AAA 120 only)
        ("2024-04-10", "AAA"): (130, 120, "added"),
        ("2024-04-10", "CCC"): (10, 0, "new"),
        # on 05-01 the Q4 version known is 04-15 (AAA 120, DDD 5, BBB 7)
        ("2024-05-01", "AAA"): (0, 120, "exited"),
        ("2024-05-01", "DDD"): (2, 5, "trimmed"),
        ("2024-05-01", "BBB"): (7, 7, "unchanged"),
    }
    pct = ch.set_index(["version_date", "ticker"])["share_change_pct"]
    assert pct[(d("2024-04-10"), "AAA")] == pytest.approx(130 / 120 - 1)
    assert pct[(d("2024-05-01"), "DDD")] == pytest.approx(2 / 5 - 1)
    assert pct[(d("2024-05-01"), "BBB")] == 0
    assert pd.isna(pct[(d("2024-04-10"), "CCC")])  # NaN for new
    assert pd.isna(pct[(d("2024-05-01"), "AAA")])  # and for exited


def test_late_previous_period_is_not_used_before_it_is_known(
    wh: Warehouse, project: sm.SqlProject
) -> None:
    """Q3 filed after Q4: Q4's changes compare with Q2, the latest period known then."""
    q2, q3 = "2023-06-30", "2023-09-30"
    rows = [
        holding("E1", q2, "2023-08-14", "AAA", 10),
        holding("E3", Q4, "2024-02-14", "AAA", 30),
        holding("E2", q3, "2024-03-01", "AAA", 20),  # Q3 very late
    ]
    load_raw(wh, thirteenf_holdings=holdings_frame(rows))
    for name in ("stg_thirteenf_holdings_pit", "thirteenf_position_changes"):
        sm.run_model(wh, project, name)
    ch = sm.read_model(wh, project, "thirteenf_position_changes")
    got = {(iso(r.period_of_report), r.prev_shares) for r in ch.itertuples()}
    assert got == {(Q4, 10.0), (q3, 10.0)}


# --- Form 4: open market, routine, 10b5-1 ------------------------------------------------


@pytest.fixture()
def insider_out(wh: Warehouse, project: sm.SqlProject) -> dict[str, pd.DataFrame]:
    load_raw(wh, insider_trades=trades_frame(insider_rows()))
    return run_all(wh, project)


def test_open_market_rows_signed_values_and_flags(insider_out: dict[str, pd.DataFrame]) -> None:
    om = insider_out["stg_insider_open_market"].set_index("accession")
    assert not {"X1", "X2", "X3", "X4"} & set(om.index)  # A, M, G and derivative P dropped
    assert set(om["code"]) == {"P", "S"}
    assert om.loc["T1", "value_usd"] == 2000.0
    assert om.loc["T4", "value_usd"] == -600.0
    routine = set(om.index[om["is_routine"]])
    assert routine == {"T1", "T6"}  # o1 in March 2024 only; not T2 (April), T3, T4, T5
    assert om["is_routine"].dtype == bool and om["is_10b5_1"].dtype == bool
    assert set(om.index[om["is_10b5_1"]]) == {"T6"}


def test_daily_net_buying_splits_plan_routine_opportunistic(
    insider_out: dict[str, pd.DataFrame],
) -> None:
    daily = insider_out["insider_net_buying_daily"].set_index(["ticker", "known_date"])
    day = daily.loc[[("AAA", d("2024-03-12"))]].iloc[0]
    # T1 routine +2000; T6 plan -100 (plan wins over routine); T3 +1000, T4 -600, T5 -800
    assert day["routine_net_usd"] == 2000.0
    assert day["plan_net_usd"] == -100.0
    assert day["opportunistic_buy_usd"] == 1000.0
    assert day["opportunistic_sell_usd"] == 1400.0
    assert day["opportunistic_net_usd"] == -400.0
    assert (day["n_buyers"], day["n_sellers"]) == (1, 2)
    april = daily.loc[[("AAA", d("2024-04-12"))]].iloc[0]
    assert (april["opportunistic_net_usd"], april["n_buyers"]) == (2000.0, 1)
    assert daily["n_buyers"].dtype == "int64"


# --- YAML tests on real model output --------------------------------------------------


def failing(wh: Warehouse, project: sm.SqlProject, dialect: str = "sqlite") -> dict[str, int]:
    """{model.test: failing rows} of every test that does not pass."""
    out = {}
    for model in project.order():
        for spec in sm.test_queries(project, model, dialect):
            result = sm.run_test(wh, spec)
            if not result.passed:
                out[f"{model}.{spec.name}"] = result.failing_rows
    return out


def test_yaml_tests_pass_on_good_data(wh: Warehouse, project: sm.SqlProject) -> None:
    load_raw(
        wh,
        thirteenf_holdings=holdings_frame(thirteenf_rows()),
        insider_trades=trades_frame(insider_rows()),
    )
    run_all(wh, project)
    assert failing(wh, project) == {}


def test_yaml_tests_fail_with_counts_on_bad_data(wh: Warehouse, project: sm.SqlProject) -> None:
    rows = insider_rows()
    # a repeated (accession, line) never reaches the models: the raw table's primary key
    # (the contract's key, see core/raw_tables.py) refuses it and the load writes nothing
    with pytest.raises(pd.errors.DatabaseError, match=r"(?i)unique"):
        load_raw(wh, insider_trades=trades_frame([*rows, dict(rows[-1])]))
    assert wh.read("SELECT COUNT(*) AS n FROM raw_insider_trades")["n"].item() == 0
    rows.append(trade("N1", "2024-05-01", "P", 10, 1.0) | {"price": None})  # no price
    rows.append(trade("Z1", "2024-05-01", "P", 10, 1.0, ticker="ZZZ"))  # not in universe
    load_raw(wh, insider_trades=trades_frame(rows))
    run_all(wh, project)
    assert failing(wh, project) == {
        "stg_insider_open_market.not_null_price": 1,
        "stg_insider_open_market.not_null_value_usd": 1,
        "stg_insider_open_market.relationships_ticker": 1,
    }


# --- SQLite == PostgreSQL -------------------------------------------------------------


def random_world(seed: int) -> dict[str, pd.DataFrame]:
    """Many filers, periods and amendments; insiders trading over four years."""
    rng = np.random.default_rng(seed)
    tickers = [f"T{i:02d}" for i in range(12)]
    holdings: list[dict[str, Any]] = []
    n = 0
    for f in range(5):
        filer = f"{f + 1:010d}"
        for period in pd.date_range("2021-03-31", periods=8, freq="QE"):
            day = period + pd.Timedelta(days=int(rng.integers(20, 46)))
            kinds = [
                None,
                *rng.choice(["RESTATEMENT", "NEW HOLDINGS"], size=int(rng.integers(0, 3))),
            ]
            for kind in kinds:
                n += 1
                acc = f"{n:06d}"
                for line, t in enumerate(
                    rng.choice(tickers, size=int(rng.integers(1, 6)), replace=False)
                ):
                    holdings.append(
                        holding(
                            acc,
                            str(period.date()),
                            str(day.date()),
                            str(t),
                            float(rng.choice([100, 200, 300])),
                            filer=filer,
                            amendment_type=kind,
                            line=line + 1,
                            put_call="Call" if rng.random() < 0.1 else None,
                            price=float(rng.uniform(5, 50)),
                        )
                    )
                day += pd.Timedelta(days=int(rng.integers(0, 30)))  # same-day amendments too
    trades = []
    for i in range(400):
        tx = pd.Timestamp("2020-01-01") + pd.Timedelta(days=int(rng.integers(0, 4 * 365)))
        trades.append(
            trade(
                f"F{i:04d}",
                str((tx + pd.Timedelta(days=2)).date()),
                str(rng.choice(["P", "S", "A"])),
                float(rng.integers(1, 1000)),
                float(rng.uniform(1, 100)),
                ticker=str(rng.choice(tickers[:3])),
                owner=f"{int(rng.integers(900, 904)):010d}",
                transaction=str(tx.date()),
                is_10b5_1=bool(rng.random() < 0.2),
            )
        )
    return {
        "universe": universe_frame(tickers),
        "thirteenf_holdings": holdings_frame(holdings),
        "insider_trades": trades_frame(trades),
    }


def sorted_frame(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


@pytest.mark.postgres
def test_sqlite_and_postgres_give_identical_models(
    wh: Warehouse, pg_url: str, project: sm.SqlProject
) -> None:
    world = random_world(seed=11)
    pg = Warehouse(pg_url)
    try:
        results = []
        for warehouse in (wh, pg):
            load_raw(warehouse, **world)
            results.append(run_all(warehouse, project))
            assert failing(warehouse, project, warehouse.dialect) == {}
        lite, post = results
        stats = {name: len(frame) for name, frame in lite.items()}
        assert min(stats.values()) > 0, stats
        assert lite["stg_insider_open_market"]["is_routine"].any()  # the world exercises it
        assert set(lite["thirteenf_position_changes"]["change_type"]) == {
            "new",
            "added",
            "trimmed",
            "exited",
            "unchanged",
        }
        for name in project.order():
            pd.testing.assert_frame_equal(
                sorted_frame(lite[name]), sorted_frame(post[name]), check_exact=False, rtol=1e-9
            )
    finally:
        pg.engine.dispose()
