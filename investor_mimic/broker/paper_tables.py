"""The paper broker's tables in the warehouse, declared once with SQLAlchemy Core.

Why Core ``MetaData`` in its own module: the broker's queries and the warehouse's
migrations (their drift test, :data:`investor_mimic.core.schema.TABLE_MODULES`) read the
same declaration; a change here needs a migration.
All timestamps are naive US/Eastern wall-clock times, like every time in the project.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

#: One row (id = 1): the account's cash. Created with ``paper_initial_cash`` on first use.
paper_account = sa.Table(
    "paper_account",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("initial_cash", sa.Float, nullable=False),
    sa.Column("cash", sa.Float, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

#: Every order ever accepted; ``client_order_id`` is unique, as at a real broker.
paper_orders = sa.Table(
    "paper_orders",
    metadata,
    sa.Column("broker_order_id", sa.String(64), primary_key=True),
    sa.Column("client_order_id", sa.String(64), nullable=False, unique=True),
    sa.Column("ticker", sa.String(16), nullable=False),
    sa.Column("side", sa.String(4), nullable=False),
    sa.Column("qty", sa.Float, nullable=False),
    sa.Column("filled_qty", sa.Float, nullable=False),
    sa.Column("filled_avg_price", sa.Float, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("submitted_at", sa.DateTime, nullable=False),
    sa.Column("fill_date", sa.Date, nullable=False),  # the session whose open fills it
    sa.Column("reason", sa.String(200), nullable=True),  # why it expired or was cut
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

#: One row per execution (the paper broker fills each order at most once).
paper_fills = sa.Table(
    "paper_fills",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "broker_order_id",
        sa.String(64),
        sa.ForeignKey("paper_orders.broker_order_id"),
        nullable=False,
        unique=True,
    ),
    sa.Column("client_order_id", sa.String(64), nullable=False),
    sa.Column("ticker", sa.String(16), nullable=False),
    sa.Column("side", sa.String(4), nullable=False),
    sa.Column("qty", sa.Float, nullable=False),
    sa.Column("price", sa.Float, nullable=False),  # after slippage
    sa.Column("commission", sa.Float, nullable=False),
    sa.Column("bar_date", sa.Date, nullable=False),
    sa.Column("filled_at", sa.DateTime, nullable=False),  # the session's open
)

#: Current holdings; a position sold to zero is deleted.
paper_positions = sa.Table(
    "paper_positions",
    metadata,
    sa.Column("ticker", sa.String(16), primary_key=True),
    sa.Column("qty", sa.Float, nullable=False),
    sa.Column("avg_entry_price", sa.Float, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

#: One row (id = 1) when the clock is pinned (the demo pins it to its last scored
#: evening); no row means the wall clock.
paper_clock = sa.Table(
    "paper_clock",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("pinned_at", sa.DateTime, nullable=False),
)
