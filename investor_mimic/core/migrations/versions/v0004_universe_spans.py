"""The security master: ``raw_universe`` rows become listing spans with a sector each.

Why a copy rather than ``ALTER TABLE``: the key changes from ``ticker`` to
``(ticker, valid_from)`` with ``valid_from`` open-ended (NULL = listed before the data),
so the primary key goes (see :mod:`investor_mimic.core.raw_tables`); SQLite cannot drop a
primary key in place. Existing rows become one open span per ticker (listed throughout),
which is what the old table meant. The downgrade keeps each ticker's latest span.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _base_columns(*, key: bool) -> list[sa.Column[object]]:
    return [
        sa.Column("ticker", sa.Text(), nullable=False, primary_key=key),
        sa.Column("cik", sa.Text(), nullable=False),
        sa.Column("cusip", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("sector", sa.Text(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "raw_universe_spans",
        *_base_columns(key=False),
        sa.Column("valid_from", sa.DateTime(), nullable=True),
        sa.Column("valid_to", sa.DateTime(), nullable=True),
    )
    op.execute(
        "INSERT INTO raw_universe_spans (ticker, cik, cusip, name, sector) "
        "SELECT ticker, cik, cusip, name, sector FROM raw_universe"
    )
    op.drop_table("raw_universe")
    op.rename_table("raw_universe_spans", "raw_universe")
    op.create_index("ix_raw_universe_ticker_valid_from", "raw_universe", ["ticker", "valid_from"])


def downgrade() -> None:
    op.create_table("raw_universe_one", *_base_columns(key=True))
    op.execute(
        "INSERT INTO raw_universe_one (ticker, cik, cusip, name, sector) "
        "SELECT ticker, cik, cusip, name, sector FROM raw_universe u "
        "WHERE COALESCE(u.valid_from, '1900-01-01') = (SELECT MAX(COALESCE(v.valid_from, "
        "'1900-01-01')) FROM raw_universe v WHERE v.ticker = u.ticker)"
    )
    op.drop_index("ix_raw_universe_ticker_valid_from", table_name="raw_universe")
    op.drop_table("raw_universe")
    op.rename_table("raw_universe_one", "raw_universe")
