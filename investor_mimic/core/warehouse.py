"""The SQL warehouse: raw source tables, SQL models, approvals, orders and the audit log.

Why SQLAlchemy Core and pandas: the same code and the same SQL run on a SQLite file
(default, zero setup) and on PostgreSQL (staging/production, and the equivalence tests).
Writes are idempotent per partition: delete what the partition owned, insert anew.
The schema's tables come from migrations (:mod:`investor_mimic.core.migrate`); opening a
warehouse checks it is at this release's head first (development upgrades it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

Match = Mapping[str, Any]  # column -> scalar (equality) or (low, high) inclusive range


def normalise_url(url: str) -> str:
    """Pin PostgreSQL URLs to psycopg2 (SQLAlchemy 2.1 maps bare postgresql:// to psycopg 3)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg2://" + url.split("://", 1)[1]
    return url


def _sql_value(v: Any, dialect: str) -> Any:
    """Dates as datetimes; on SQLite as the exact text SQLAlchemy stores them in.

    Why: SQLite compares dates as text. SQLAlchemy writes ``2024-01-02 00:00:00.000000``
    while the driver would bind a datetime as ``2024-01-02 00:00:00``, which sorts
    *before* the stored value, so ``date <= :end`` would silently drop the last day.
    """
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    elif isinstance(v, date) and not isinstance(v, datetime):
        v = datetime(v.year, v.month, v.day)
    if isinstance(v, datetime) and dialect == "sqlite":
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    return v


def _sqlite_rows(frame: pd.DataFrame) -> list[tuple[Any, ...]] | None:
    """``frame``'s rows as the values ``DataFrame.to_sql`` stores in SQLite, or None for a
    column type this does not know (the caller then uses ``to_sql``).

    Why: ``to_sql`` turns every date into a Python ``datetime`` and every row into a
    dict, and SQLAlchemy formats each date one by one; on the daily sources' range runs
    that was most of their warehouse time. Here each column is converted at once to what
    SQLAlchemy would have bound: dates as its SQLite text
    (``2024-01-02 00:00:00.000000``), booleans as 0/1, missing values as NULL, numbers
    and strings as Python values (tested against ``to_sql`` on every type it takes).
    """
    columns: list[list[Any]] = []
    for _, col in frame.items():
        dtype = col.dtype
        if dtype.kind == "M" and isinstance(dtype, np.dtype):  # naive datetime64
            values = col.dt.strftime("%Y-%m-%d %H:%M:%S.%f").to_numpy(dtype=object)
        elif dtype.kind == "b" and isinstance(dtype, np.dtype):
            values = col.to_numpy(dtype=np.int64).astype(object)
        elif dtype.kind in "fiu" and isinstance(dtype, np.dtype):
            values = col.to_numpy().astype(object)
        elif pd.api.types.is_string_dtype(dtype) and pd.api.types.infer_dtype(col, skipna=True) in (
            "string",
            "empty",
        ):
            values = col.to_numpy(dtype=object)
        else:
            return None
        values = np.array(values, dtype=object)  # writable, whatever pandas handed out
        values[pd.isna(values)] = None
        columns.append(values.tolist())
    return list(zip(*columns, strict=True))


class Warehouse:
    """A thin handle on one database; cheap to create, the engine is pooled.

    ``upgrade``: migrate a warehouse below head (None: development only, see
    :func:`investor_mimic.core.migrate.ensure_current`).
    """

    def __init__(self, url: str, *, upgrade: bool | None = None) -> None:
        from investor_mimic.core.migrate import ensure_current

        self.url = normalise_url(url)
        self.engine = sa.create_engine(self.url, future=True)
        ensure_current(self.engine, upgrade_allowed=upgrade)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def has_table(self, table: str) -> bool:
        return sa.inspect(self.engine).has_table(table)

    def _where(self, match: Match) -> tuple[str, dict[str, Any]]:
        clauses, params = [], {}
        for i, (col, val) in enumerate(match.items()):
            if isinstance(val, tuple):
                clauses.append(f"{col} >= :lo{i} AND {col} <= :hi{i}")
                params[f"lo{i}"] = _sql_value(val[0], self.dialect)
                params[f"hi{i}"] = _sql_value(val[1], self.dialect)
            else:
                clauses.append(f"{col} = :v{i}")
                params[f"v{i}"] = _sql_value(val, self.dialect)
        return (" AND ".join(clauses) or "1=1"), params

    def replace_rows(self, table: str, frame: pd.DataFrame, match: Match) -> int:
        """Delete the rows of ``table`` matching ``match``, then append ``frame``."""
        with self.engine.begin() as conn:
            exists = sa.inspect(conn).has_table(table)
            if exists:
                where, params = self._where(match)
                conn.execute(sa.text(f"DELETE FROM {table} WHERE {where}"), params)  # nosec B608 # code's table; values bound
            if len(frame):
                rows = _sqlite_rows(frame) if self.dialect == "sqlite" and exists else None
                if rows is not None:
                    columns = ", ".join(f'"{c}"' for c in frame.columns)
                    marks = ", ".join("?" * len(frame.columns))
                    insert = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # nosec B608 # code's table and frame columns; values bound
                    try:
                        conn.exec_driver_sql(insert, rows)
                    except sa.exc.DBAPIError as exc:  # as to_sql raises it (a key's repeat)
                        raise pd.errors.DatabaseError(f"{table}: {exc.orig}") from exc
                else:
                    frame.to_sql(table, conn, if_exists="append", index=False, chunksize=5000)
            elif not exists:
                frame.head(0).to_sql(table, conn, if_exists="append", index=False)
        return len(frame)

    def read(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run a query (``:name`` parameters); parameters that are dates are passed as
        datetimes.

        On SQLite, pandas reads through the driver's own connection: the same query,
        parameters and frame (pandas builds both from the rows the same way), a third
        less time than through SQLAlchemy's result rows on the research reads of a few
        hundred thousand prices (``sqlite3`` binds ``:name`` parameters itself).
        """
        bound = {k: _sql_value(v, self.dialect) for k, v in (params or {}).items()}
        if self.dialect == "sqlite":
            raw = self.engine.raw_connection()
            try:
                driver = raw.driver_connection
                assert isinstance(driver, sqlite3.Connection)
                return pd.read_sql_query(sql, driver, params=bound)
            finally:
                raw.close()
        with self.engine.connect() as conn:
            return pd.read_sql_query(sa.text(sql), conn, params=bound)

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(sql), dict(params or {}))
