"""The warehouse's raw source tables (``raw_<frame>``), declared from the frame contracts.

Why derived rather than written out: a source's columns, key and nullable columns are
one fact, its contract in :mod:`investor_mimic.core.frames`; the table is that contract
in SQL. The key becomes the primary key and every column the contract does not allow
to be missing is ``NOT NULL`` — the source assets validate against the same contract
before writing, so the database only restates what the data already guarantees.
Changing a contract changes these tables, and the drift test then asks for a migration.

Column types are what pandas' ``to_sql`` writes (the loader appends with it): text,
double precision, bigint, boolean, and timestamp for both dates and datetimes (dates
are midnight datetimes in every frame, and :mod:`investor_mimic.core.warehouse` binds
date parameters as datetimes).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from investor_mimic.core import frames

metadata = sa.MetaData()

#: The frames a source asset loads into ``raw_<name>``.
SOURCES: tuple[frames.FrameSchema, ...] = (
    frames.UNIVERSE,
    frames.THIRTEENF_HOLDINGS,
    frames.INSIDER_TRADES,
    frames.PRICES,
    frames.NEWS_SENTIMENT,
)

#: Columns a source replaces its partition's rows by (the DELETE before each load), when
#: the primary key does not start with them.
PARTITION_COLUMNS: dict[str, tuple[str, ...]] = {
    "thirteenf_holdings": ("filer_cik", "period_of_report"),
    "insider_trades": ("known_date",),
    "news_sentiment": ("trading_date",),
}

_TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "string": sa.Text(),
    "float": sa.Float(precision=53),
    "int": sa.BigInteger(),
    "bool": sa.Boolean(),
    "date": sa.DateTime(),
    "datetime": sa.DateTime(),
}


def raw_table_name(frame: str) -> str:
    return f"raw_{frame}"


def _table(schema: frames.FrameSchema) -> sa.Table:
    name = str(schema.name)
    table_name = raw_table_name(name)
    # A key with a column that may be missing (the security master's open-ended
    # ``valid_from``) cannot be a primary key: PostgreSQL makes primary-key columns NOT
    # NULL, and a NULL is never equal to another, so a unique index would not hold either.
    # Such a key gets a plain index; the contract refuses duplicate keys before a load.
    keyed = not set(schema.key) & set(schema.nullable)
    columns = [
        sa.Column(
            col,
            _TYPES[kind],
            primary_key=keyed and col in schema.key,
            nullable=col in schema.nullable,
        )
        for col, kind in schema.kinds.items()
    ]
    indexes = []
    if schema.key and not keyed:
        indexes.append(sa.Index(f"ix_{table_name}_{'_'.join(schema.key)}", *schema.key))
    if name in PARTITION_COLUMNS:
        cols = PARTITION_COLUMNS[name]
        indexes.append(sa.Index(f"ix_{table_name}_{'_'.join(cols)}", *cols))
    return sa.Table(table_name, metadata, *columns, *indexes)


TABLES: dict[str, sa.Table] = {str(s.name): _table(s) for s in SOURCES}
