"""The warehouse tables of approvals and execution, as one SQLAlchemy Core ``MetaData``.

Why one module: the warehouse's migrations and their drift test take every table from
here (:data:`investor_mimic.core.schema.TABLE_MODULES`); a change here needs a migration.
Timestamps: ``*_at`` columns that say when something happened in the world are UTC
wall-clock (naive); ``expires_at`` is market time (naive US/Eastern, like the calendar).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

requests = sa.Table(
    "approval_requests",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("proposal_date", sa.Date, nullable=False, index=True),
    # what produced it, e.g. "trade_proposals/2024-12-31@<storage id>": creating twice is a no-op
    sa.Column("source", sa.String(200), nullable=False, unique=True),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=True),
    sa.Column("decided_by", sa.String(120), nullable=True),
    sa.Column("decided_via", sa.String(40), nullable=True),
    sa.Column("decided_at", sa.DateTime, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("broker", sa.String(40), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
)

orders = sa.Table(
    "approval_orders",
    metadata,
    sa.Column(
        "request_id",
        sa.String(32),
        sa.ForeignKey("approval_requests.id"),
        primary_key=True,
    ),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("ticker", sa.String(16), nullable=False),
    sa.Column("side", sa.String(4), nullable=False),
    sa.Column("shares", sa.Float, nullable=False),
    sa.Column("ref_price", sa.Float, nullable=True),
    sa.Column("notional", sa.Float, nullable=True),
    sa.Column("score", sa.Float, nullable=True),
    sa.Column("target_weight", sa.Float, nullable=True),
    sa.Column("sector", sa.String(80), nullable=True),
    sa.Column("proposal_reason", sa.Text, nullable=True),
    sa.Column("client_order_id", sa.String(48), nullable=False, unique=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("broker_order_id", sa.String(64), nullable=True),
    sa.Column("filled_qty", sa.Float, nullable=False, default=0.0),
    sa.Column("filled_avg_price", sa.Float, nullable=True),
    sa.Column("submitted_at", sa.DateTime, nullable=True),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
)

fills = sa.Table(
    "execution_fills",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(32), nullable=False, index=True),
    sa.Column("client_order_id", sa.String(48), nullable=False),
    sa.Column("ticker", sa.String(16), nullable=False),
    sa.Column("side", sa.String(4), nullable=False),
    sa.Column("qty", sa.Float, nullable=False),
    sa.Column("price", sa.Float, nullable=False),
    # the order's cumulative filled quantity after this fill: seeing the same broker
    # state twice records nothing new
    sa.Column("cum_qty", sa.Float, nullable=False),
    sa.Column("recorded_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("client_order_id", "cum_qty", name="uq_execution_fills_cum"),
)

positions = sa.Table(
    "execution_positions",
    metadata,
    sa.Column("request_id", sa.String(32), primary_key=True),
    sa.Column("ticker", sa.String(16), primary_key=True),
    sa.Column("broker", sa.String(40), nullable=False),
    sa.Column("qty", sa.Float, nullable=False),
    sa.Column("avg_entry_price", sa.Float, nullable=False),
    sa.Column("market_value", sa.Float, nullable=False),
    sa.Column("recorded_at", sa.DateTime, nullable=False),
)

audit = sa.Table(
    "approval_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("request_id", sa.String(32), nullable=True, index=True),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("from_state", sa.String(16), nullable=True),
    sa.Column("to_state", sa.String(16), nullable=True),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("channel", sa.String(40), nullable=False),
    sa.Column("detail", sa.Text, nullable=True),
)

flags = sa.Table(
    "control_flags",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("changed_by", sa.String(120), nullable=False),
    sa.Column("changed_via", sa.String(40), nullable=False),
    sa.Column("changed_at", sa.DateTime, nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
)


# Signed approval links (issue 9): one row per link sent, so a link is single-use — the
# decision that uses it sets ``used_at`` in the same transaction as the state change, by a
# conditional UPDATE ``... WHERE used_at IS NULL``. The token itself is never stored: the
# row is found by the random ``id`` the signed token carries.
links = sa.Table(
    "approval_links",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("request_id", sa.String(32), nullable=False, index=True),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("recipient", sa.String(120), nullable=False),
    sa.Column("issued_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),  # UTC
    sa.Column("used_at", sa.DateTime, nullable=True),
    sa.Column("used_by", sa.String(120), nullable=True),
)

# The risk-limit checks a proposal passed, shown on the approval page: request-level rows
# (``seq`` NULL) from the Dagster checks of the proposal's run, per-order rows from a
# ``limit_checks`` column of the proposal when it has one.
checks = sa.Table(
    "approval_checks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(32), nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=True),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("passed", sa.Boolean, nullable=False),
    sa.Column("detail", sa.Text, nullable=True),
)
