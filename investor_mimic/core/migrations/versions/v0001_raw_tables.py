"""Raw source tables: one ``raw_<frame>`` per source asset, keyed as its contract.

Their rows are what the source assets validated and loaded; the SQL models read them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "raw_insider_trades",
        sa.Column("accession", sa.Text(), nullable=False),
        sa.Column("filed_at", sa.DateTime(), nullable=False),
        sa.Column("filing_date", sa.DateTime(), nullable=False),
        sa.Column("known_date", sa.DateTime(), nullable=False),
        sa.Column("issuer_cik", sa.Text(), nullable=False),
        sa.Column("ticker", sa.Text(), nullable=False),
        sa.Column("owner_cik", sa.Text(), nullable=False),
        sa.Column("owner_name", sa.Text(), nullable=False),
        sa.Column("is_director", sa.Boolean(), nullable=False),
        sa.Column("is_officer", sa.Boolean(), nullable=False),
        sa.Column("is_ten_percent_owner", sa.Boolean(), nullable=False),
        sa.Column("officer_title", sa.Text(), nullable=True),
        sa.Column("line", sa.BigInteger(), nullable=False),
        sa.Column("security_title", sa.Text(), nullable=True),
        sa.Column("transaction_date", sa.DateTime(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("shares", sa.Float(precision=53), nullable=True),
        sa.Column("price", sa.Float(precision=53), nullable=True),
        sa.Column("acquired_disposed", sa.Text(), nullable=False),
        sa.Column("direct_indirect", sa.Text(), nullable=False),
        sa.Column("is_derivative", sa.Boolean(), nullable=False),
        sa.Column("is_10b5_1", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("accession", "line"),
    )
    op.create_index(
        "ix_raw_insider_trades_known_date", "raw_insider_trades", ["known_date"], unique=False
    )
    op.create_table(
        "raw_news_sentiment",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("trading_date", sa.DateTime(), nullable=False),
        sa.Column("ticker", sa.Text(), nullable=False),
        sa.Column("relevance", sa.Float(precision=53), nullable=False),
        sa.Column("sentiment", sa.Float(precision=53), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", "ticker"),
    )
    op.create_index(
        "ix_raw_news_sentiment_trading_date", "raw_news_sentiment", ["trading_date"], unique=False
    )
    op.create_table(
        "raw_prices",
        sa.Column("date", sa.DateTime(), nullable=False),
        sa.Column("ticker", sa.Text(), nullable=False),
        sa.Column("open", sa.Float(precision=53), nullable=False),
        sa.Column("high", sa.Float(precision=53), nullable=False),
        sa.Column("low", sa.Float(precision=53), nullable=False),
        sa.Column("close", sa.Float(precision=53), nullable=False),
        sa.Column("volume", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("date", "ticker"),
    )
    op.create_table(
        "raw_thirteenf_holdings",
        sa.Column("filer_cik", sa.Text(), nullable=False),
        sa.Column("filer_name", sa.Text(), nullable=False),
        sa.Column("accession", sa.Text(), nullable=False),
        sa.Column("form", sa.Text(), nullable=False),
        sa.Column("amendment_type", sa.Text(), nullable=True),
        sa.Column("period_of_report", sa.DateTime(), nullable=False),
        sa.Column("filed_at", sa.DateTime(), nullable=False),
        sa.Column("known_date", sa.DateTime(), nullable=False),
        sa.Column("line", sa.BigInteger(), nullable=False),
        sa.Column("cusip", sa.Text(), nullable=False),
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("title_of_class", sa.Text(), nullable=True),
        sa.Column("ticker", sa.Text(), nullable=True),
        sa.Column("value_usd", sa.Float(precision=53), nullable=False),
        sa.Column("value_multiplier", sa.BigInteger(), nullable=False),
        sa.Column("value_unit_basis", sa.Text(), nullable=False),
        sa.Column("value_unit_median_price_usd", sa.Float(precision=53), nullable=True),
        sa.Column("shares", sa.Float(precision=53), nullable=False),
        sa.Column("share_type", sa.Text(), nullable=False),
        sa.Column("put_call", sa.Text(), nullable=True),
        sa.Column("investment_discretion", sa.Text(), nullable=False),
        sa.Column("other_managers", sa.Text(), nullable=True),
        sa.Column("schema_version", sa.Text(), nullable=True),
        sa.Column("cover_entry_total", sa.BigInteger(), nullable=False),
        sa.Column("cover_value_total_usd", sa.Float(precision=53), nullable=True),
        sa.PrimaryKeyConstraint("accession", "line"),
    )
    op.create_index(
        "ix_raw_thirteenf_holdings_filer_cik_period_of_report",
        "raw_thirteenf_holdings",
        ["filer_cik", "period_of_report"],
        unique=False,
    )
    op.create_table(
        "raw_universe",
        sa.Column("ticker", sa.Text(), nullable=False),
        sa.Column("cik", sa.Text(), nullable=False),
        sa.Column("cusip", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("sector", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("ticker"),
    )


def downgrade() -> None:
    op.drop_table("raw_universe")
    op.drop_index(
        "ix_raw_thirteenf_holdings_filer_cik_period_of_report", table_name="raw_thirteenf_holdings"
    )
    op.drop_table("raw_thirteenf_holdings")
    op.drop_table("raw_prices")
    op.drop_index("ix_raw_news_sentiment_trading_date", table_name="raw_news_sentiment")
    op.drop_table("raw_news_sentiment")
    op.drop_index("ix_raw_insider_trades_known_date", table_name="raw_insider_trades")
    op.drop_table("raw_insider_trades")
