"""The SQL models' semantics on hand-built raw rows, and SQLite == PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

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
