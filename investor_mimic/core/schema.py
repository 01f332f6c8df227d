"""Every table of the warehouse schema, gathered from the modules that declare them.

Why a list of modules rather than one big module: each table lives beside the code that
owns it (raw tables beside the frame contracts, approvals beside the store, the paper
broker's beside the broker); the migrations and the drift test need them all at once.
A module that declares warehouse tables (a ``metadata`` attribute) belongs in
:data:`TABLE_MODULES`; the drift test then fails until a migration creates its tables.

Not here: the SQL models' tables (``dbt_like_sql/``), which are rebuilt from SQL on
every run and are outputs, not schema.
"""

from __future__ import annotations

import importlib
from functools import cache

import sqlalchemy as sa

#: Modules whose ``metadata`` (a SQLAlchemy ``MetaData``) holds warehouse tables.
TABLE_MODULES: tuple[str, ...] = (
    "investor_mimic.core.raw_tables",
    "investor_mimic.approval.tables",
    "investor_mimic.broker.paper_tables",
)


@cache
def metadata() -> sa.MetaData:
    """One ``MetaData`` with every warehouse table (a table name twice is an error)."""
    combined = sa.MetaData()
    for name in TABLE_MODULES:
        module_metadata: sa.MetaData = importlib.import_module(name).metadata
        for table in module_metadata.sorted_tables:
            if table.name in combined.tables:
                raise ValueError(f"warehouse table {table.name} is declared twice ({name})")
            table.to_metadata(combined)
    return combined


def table_names() -> frozenset[str]:
    return frozenset(metadata().tables)
