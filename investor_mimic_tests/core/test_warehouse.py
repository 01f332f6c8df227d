"""The warehouse replaces partitions idempotently and bounds dates inclusively, on both engines."""

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from investor_mimic.core.warehouse import Warehouse, _sqlite_rows, normalise_url


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


def test_sqlite_reads_give_the_frame_sqlalchemy_gives(tmp_path: Path) -> None:
    """SQLite reads go through the driver's connection; the frame is pandas' over
    SQLAlchemy's, column types, NULLs and bound parameters included."""
    import sqlalchemy as sa

    wh = Warehouse(f"sqlite:///{tmp_path / 'w.db'}")
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04"]),
            "ticker": ["AAA", None, "CCC"],
            "close": [1.5, None, 3.0],
            "shares": [1, 2, 3],
            "flag": [True, False, True],
        }
    )
    wh.replace_rows("raw_t", frame, {"date": (date(2024, 1, 2), date(2024, 1, 4))})
    sql = "SELECT * FROM raw_t WHERE date >= :start AND ticker IS NOT :none ORDER BY date"
    params = {"start": date(2024, 1, 3), "none": None}
    out = wh.read(sql, params)
    with wh.engine.connect() as conn:
        bound = {"start": "2024-01-03 00:00:00.000000", "none": None}
        expected = pd.read_sql_query(sa.text(sql), conn, params=bound)
    pd.testing.assert_frame_equal(out, expected)
    assert out["ticker"].tolist() == ["CCC"] and out["shares"].tolist() == [3]
    empty = wh.read("SELECT * FROM raw_t WHERE close > :x", {"x": 10.0})
    assert list(empty.columns) == list(frame.columns) and empty.empty


def test_sqlite_rows_are_stored_as_to_sql_stores_them(tmp_path: Path) -> None:
    """The SQLite insert path stores every value, type and NULL as ``to_sql`` does; a
    column type it does not know goes through ``to_sql`` itself."""
    import sqlite3

    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-02", None, "2024-01-04 15:30:01.25"], format="mixed"),
            "day_us": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04"]).as_unit("us"),
            "ticker": pd.Series(["AAA", None, "CCC"], dtype="str"),
            "name": pd.Series(["a", "b", None], dtype=object),
            "close": [1.5, float("nan"), 3.0],
            "small": pd.Series([0.1, 0.2, 0.3], dtype="float32"),
            "shares": [1, 2, 3],
            "flag": [True, False, True],
            "maybe": pd.array([True, None, False], dtype="boolean"),  # to_sql's own path
        }
    )
    known = [c for c in frame.columns if c != "maybe"]
    assert _sqlite_rows(frame[known]) is not None and _sqlite_rows(frame) is None
    wh = Warehouse(f"sqlite:///{tmp_path / 'w.db'}")
    for part in (known, list(frame.columns)):
        table = f"fast_{len(part)}"
        wh.replace_rows(table, frame[part].head(0), {})  # creates the table
        wh.replace_rows(table, frame[part], {})  # an existing table: the SQLite path
        with wh.engine.begin() as conn:
            frame[part].to_sql(f"ref_{len(part)}", conn, index=False)
        db = sqlite3.connect(tmp_path / "w.db")
        typed = ", ".join(f'"{c}", typeof("{c}")' for c in part)
        stored = {
            name: db.execute(f"SELECT {typed} FROM {name} ORDER BY rowid").fetchall()  # nosec B608
            for name in (table, f"ref_{len(part)}")
        }
        db.close()
        assert stored[table] == stored[f"ref_{len(part)}"]
        assert len(stored[table]) == 3
