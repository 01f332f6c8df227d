"""Alembic migrations of the warehouse (script location of :mod:`investor_mimic.core.migrate`).

Why inside the package: the wheel and the container image carry them, so
``investor-mimic db upgrade`` works wherever the code is installed. There is no
``env.py``: :mod:`investor_mimic.core.migrate` runs Alembic through its API with a
programmatic configuration (version table ``warehouse_alembic_version``).

Adding a migration: declare the change on the tables (see
:data:`investor_mimic.core.schema.TABLE_MODULES`), then add ``versions/vNNNN_<what>.py``
with ``revision = "NNNN"`` and ``down_revision`` the previous head, and an ``upgrade`` and
a ``downgrade``. ``investor-mimic db check`` (and the drift test) prints what differs
between the models and a database upgraded to head until the migration matches.
Never edit a migration that a release has shipped.
"""
