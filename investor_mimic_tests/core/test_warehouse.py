"""The warehouse replaces partitions idempotently and bounds dates inclusively, on both engines."""

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from investor_mimic.core.warehouse import Warehouse, normalise_url


def _frame(days: list[str], value: float) -> pd.DataFrame:
    return pd.DataFrame({"date": pd.to_datetime(days), "ticker": "AAA", "close": value})


def _check_engine(wh: Warehouse) -> None:
    wh.replace_rows(
        "raw_t",
        _frame(["2024-01-02", "2024-01-03", "2024-01-04"], 1.0),
        {"date": (date(2024, 1, 2), date(2024, 1, 4))},
    )
    # re-writing the last two days replaces them, including the inclusive upper bound
    wh.replace_rows(
        "raw_t",
        _frame(["2024-01-03", "2024-01-04"], 2.0),
        {"date": (date(2024, 1, 3), date(2024, 1, 4))},
    )
    out = wh.read("SELECT date, close FROM raw_t ORDER BY date")
    assert out["close"].tolist() == [1.0, 2.0, 2.0]
    bounded = wh.read("SELECT * FROM raw_t WHERE date <= :end", {"end": date(2024, 1, 3)})
    assert len(bounded) == 2
    exact = wh.read("SELECT * FROM raw_t WHERE date = :d", {"d": pd.Timestamp("2024-01-04")})
    assert len(exact) == 1


def test_sqlite_dates_bound_inclusively(tmp_path: Path) -> None:
    _check_engine(Warehouse(f"sqlite:///{tmp_path / 'w.db'}"))


@pytest.mark.postgres
def test_postgres_dates_bound_inclusively(pg_url: str) -> None:
    _check_engine(Warehouse(pg_url))


def test_postgres_urls_are_pinned_to_psycopg2() -> None:
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"
