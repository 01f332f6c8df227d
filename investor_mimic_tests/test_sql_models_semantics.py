"""The SQL models' semantics on hand-built raw rows, and SQLite == PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from investor_mimic import frames
from investor_mimic import sql_models as sm
from investor_mimic.warehouse import Warehouse

PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_like_sql"
FILER = "0000000001"
OTHER_FILER = "0000000002"
TICKERS = ("AAA", "BBB", "CCC", "DDD")


def universe_frame(tickers: Iterable[str] = TICKERS) -> pd.DataFrame:
    rows = [
        {"ticker": t, "cik": f"{i + 100:010d}", "cusip": f"{i:08d}0", "name": t, "sector": "Tech"}
        for i, t in enumerate(tickers)
    ]
    return frames.coerce(pd.DataFrame(rows), frames.UNIVERSE)


def holding(
    accession: str,
    period: str,
    known: str,
    ticker: str | None,
    shares: float,
    *,
    filer: str = FILER,
    amendment_type: str | None = None,
    put_call: str | None = None,
    share_type: str = "SH",
    line: int = 1,
    price: float = 10.0,
) -> dict[str, Any]:
    """One 13F information-table row; value is shares * price dollars."""
    return {
        "filer_cik": filer,
        "filer_name": f"Filer {filer}",
        "accession": accession,
        "form": "13F-HR" if amendment_type is None else "13F-HR/A",
        "amendment_type": amendment_type,
        "period_of_report": period,
        "filed_at": f"{known} 09:30:00",
        "known_date": known,
        "line": line,
        "cusip": "000000000",
        "issuer": ticker or "UNKNOWN CO",
        "title_of_class": "COM",
        "ticker": ticker,
        "value_usd": shares * price,
        "value_multiplier": 1,
        "shares": shares,
        "share_type": share_type,
        "put_call": put_call,
        "investment_discretion": "SOLE",
        "other_managers": None,
        "schema_version": "X0202",
        "cover_entry_total": 1,
        "cover_value_total_usd": None,
    }


def holdings_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return frames.coerce(pd.DataFrame(rows), frames.THIRTEENF_HOLDINGS)


def trade(
    accession: str,
    known: str,
    code: str,
    shares: float,
    price: float,
    *,
    ticker: str = "AAA",
    owner: str = "0000000900",
    transaction: str | None = None,
    line: int = 1,
    is_derivative: bool = False,
    is_10b5_1: bool = False,
) -> dict[str, Any]:
    """One Form 4 transaction row."""
    return {
        "accession": accession,
        "filed_at": f"{known} 10:00:00",
        "filing_date": known,
        "known_date": known,
        "issuer_cik": "0000000100",
        "ticker": ticker,
        "owner_cik": owner,
        "owner_name": f"Owner {owner}",
        "is_director": True,
        "is_officer": False,
        "is_ten_percent_owner": False,
        "officer_title": None,
        "line": line,
        "security_title": "Common Stock",
        "transaction_date": transaction or known,
        "code": code,
        "shares": shares,
        "price": price,
        "acquired_disposed": "A" if code == "P" else "D",
        "direct_indirect": "D",
        "is_derivative": is_derivative,
        "is_10b5_1": is_10b5_1,
    }


def trades_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return frames.coerce(pd.DataFrame(rows), frames.INSIDER_TRADES)


def load_raw(wh: Warehouse, **tables: pd.DataFrame) -> None:
    """Write frames to raw_<name>, as the source assets do; empty defaults for the rest."""
    defaults = {
        "universe": universe_frame(),
        "thirteenf_holdings": frames.THIRTEENF_HOLDINGS.empty(),
        "insider_trades": frames.INSIDER_TRADES.empty(),
    }
    for name, frame in (defaults | tables).items():
        wh.replace_rows(f"raw_{name}", frame, {})


def run_all(wh: Warehouse, project: sm.SqlProject) -> dict[str, pd.DataFrame]:
    for name in project.order():
        sm.run_model(wh, project, name)
    return {name: sm.read_model(wh, project, name) for name in project.order()}


@pytest.fixture(scope="module")
def project() -> sm.SqlProject:
    return sm.load_project(PROJECT_DIR)


@pytest.fixture()
def wh(tmp_path: Path) -> Warehouse:
    return Warehouse(f"sqlite:///{tmp_path / 'wh.db'}")


def d(s: str) -> pd.Timestamp:
    return pd.Timestamp(s)


def iso(value: Any) -> str:
    """A date cell as YYYY-MM-DD."""
    return pd.Timestamp(value).strftime("%Y-%m-%d")


# --- 13F: point-in-time versions ---------------------------------------------------------

Q4, Q1 = "2023-12-31", "2024-03-31"


def thirteenf_rows() -> list[dict[str, Any]]:
    """One filer, two periods, every kind of amendment; see the tests for the versions."""
    return [
        # Q4 original: two stocks, plus a call option, a PRN row and an unmapped CUSIP
        holding("A1", Q4, "2024-02-14", "AAA", 100, line=1),
        holding("A1", Q4, "2024-02-14", "BBB", 50, line=2),
        holding("A1", Q4, "2024-02-14", "CCC", 999, line=3, put_call="Call"),
        holding("A1", Q4, "2024-02-14", "DDD", 999, line=4, share_type="PRN"),
        holding("A1", Q4, "2024-02-14", None, 999, line=5),
        # NEW HOLDINGS: adds CCC and more AAA from its own date
        holding("A2", Q4, "2024-03-01", "CCC", 70, amendment_type="NEW HOLDINGS", line=1),
        holding("A2", Q4, "2024-03-01", "AAA", 10, amendment_type="NEW HOLDINGS", line=2),
        # RESTATEMENT: replaces everything before it
        holding("A3", Q4, "2024-04-01", "AAA", 120, amendment_type="RESTATEMENT"),
        # NEW HOLDINGS after the restatement adds to it
        holding("A4", Q4, "2024-04-15", "DDD", 5, amendment_type="NEW HOLDINGS", line=1),
        holding("A4", Q4, "2024-04-15", "BBB", 7, amendment_type="NEW HOLDINGS", line=2),
        # Q1 original, filed before the Q4 NEW HOLDINGS of 04-15 was known
        holding("B1", Q1, "2024-04-10", "AAA", 130, line=1),
        holding("B1", Q1, "2024-04-10", "CCC", 10, line=2),
        # Q1 restatement, after every Q4 version
        holding("B2", Q1, "2024-05-01", "DDD", 2, amendment_type="RESTATEMENT", line=1),
        holding("B2", Q1, "2024-05-01", "BBB", 7, amendment_type="RESTATEMENT", line=2),
    ]


def versions(frame: pd.DataFrame, period: str, filer: str = FILER) -> dict[str, dict[str, float]]:
    """{version_date: {ticker: shares}} of one filer's period."""
    rows = frame[(frame["filer_cik"] == filer) & (frame["period_of_report"] == d(period))]
    return {
        iso(v): dict(zip(g["ticker"], g["shares"], strict=True))
        for v, g in rows.groupby("version_date")
    }


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


def insider_rows() -> list[dict[str, Any]]:
    o1, o2, o3, o4 = "0000000901", "0000000902", "0000000903", "0000000904"
    rows = [
        # not open-market stock trades: award, exercise, gift, derivative purchase
        trade("X1", "2024-03-04", "A", 100, 0.0, owner=o1),
        trade("X2", "2024-03-04", "M", 100, 5.0, owner=o1),
        trade("X3", "2024-03-04", "G", 100, 0.0, owner=o1),
        trade("X4", "2024-03-04", "P", 100, 5.0, owner=o1, is_derivative=True),
    ]
    # o1 trades AAA every March 2021-2023, then buys in March 2024 (routine) and April (not)
    rows += [trade(f"R1{y}", f"{y}-03-10", "S", 10, 1.0, owner=o1) for y in (2021, 2022, 2023)]
    rows += [
        trade("T1", "2024-03-12", "P", 100, 20.0, owner=o1),
        trade("T2", "2024-04-12", "P", 100, 20.0, owner=o1),
    ]
    # o2 misses March 2022: not routine
    rows += [trade(f"R2{y}", f"{y}-03-10", "P", 10, 1.0, owner=o2) for y in (2021, 2023)]
    rows += [trade("T3", "2024-03-12", "P", 50, 20.0, owner=o2)]
    # o3's March history is in BBB, not AAA: not routine in AAA
    rows += [
        trade(f"R3{y}", f"{y}-03-10", "P", 10, 1.0, owner=o3, ticker="BBB")
        for y in (2021, 2022, 2023)
    ]
    rows += [trade("T4", "2024-03-12", "S", 30, 20.0, owner=o3)]
    # o4's March 2023 trade was filed (known) only after its March 2024 trade: not routine
    rows += [trade(f"R4{y}", f"{y}-03-10", "P", 10, 1.0, owner=o4) for y in (2021, 2022)]
    rows += [trade("R42023", "2024-06-03", "P", 10, 1.0, owner=o4, transaction="2023-03-10")]
    rows += [trade("T5", "2024-03-12", "S", 40, 20.0, owner=o4)]
    # a 10b5-1 plan sale by the routine owner o1 the same day
    rows += [trade("T6", "2024-03-12", "S", 5, 20.0, owner=o1, is_10b5_1=True, line=2)]
    return rows


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
    rows.append(dict(rows[-1]))  # duplicate (accession, line)
    rows.append(trade("N1", "2024-05-01", "P", 10, 1.0) | {"price": None})  # no price
    rows.append(trade("Z1", "2024-05-01", "P", 10, 1.0, ticker="ZZZ"))  # not in universe
    load_raw(wh, insider_trades=trades_frame(rows))
    run_all(wh, project)
    assert failing(wh, project) == {
        "stg_insider_open_market.unique_combination_of_columns": 1,
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
