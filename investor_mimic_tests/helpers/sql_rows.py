"""Test helpers moved out of test_semantics.py: shared by several test modules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from investor_mimic import sql as sm
from investor_mimic.core import frames
from investor_mimic.core.warehouse import Warehouse
from investor_mimic_tests.helpers.paths import SQL_PROJECT_DIR

PROJECT_DIR = SQL_PROJECT_DIR


FILER = "0000000001"


OTHER_FILER = "0000000002"


Q4, Q1 = "2023-12-31", "2024-03-31"
TICKERS = ("AAA", "BBB", "CCC", "DDD")


def universe_frame(tickers: Iterable[str] = TICKERS) -> pd.DataFrame:
    rows = [
        {
            "ticker": t,
            "cik": f"{i + 100:010d}",
            "cusip": f"{i:08d}0",
            "name": t,
            "sector": "Tech",
            "valid_from": None,
            "valid_to": None,
        }
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
        "value_unit_basis": "schema_version",
        "value_unit_median_price_usd": price,
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


def d(s: str) -> pd.Timestamp:
    return pd.Timestamp(s)


def iso(value: Any) -> str:
    """A date cell as YYYY-MM-DD."""
    return pd.Timestamp(value).strftime("%Y-%m-%d")


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
