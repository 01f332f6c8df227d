"""dbt-like SQL models: discover, render, order, run in the warehouse, test.

Why not dbt itself: the models are a handful of ``CREATE TABLE AS`` statements, and the
Dagster layer wants each model as an asset and each YAML test as an asset check, with
the same SQL running on SQLite (local) and PostgreSQL (staging/production). This module
is the pure part — no Dagster — so every rule here is testable against a real database.

A project is a folder of ``<model>.sql`` files (Jinja templates) and one ``schema.yml``:

* ``{{ ref('model') }}`` renders to the model's table (its name) and makes it a dependency.
* ``{{ source('raw', 'prices') }}`` renders to ``raw_prices``; sources are declared in
  ``schema.yml`` under ``sources:``. The source's Dagster asset is ``AssetKey('prices')``.
* ``{{ year('col') }}`` / ``{{ month('col') }}`` render the integer year / month of a
  date column in the dialect at hand — the only dialect-specific SQL the models need.
* Column ``data_type`` (a :mod:`investor_mimic.core.frames` kind) types the model when read
  back (:func:`read_model`), so both dialects give identical frames.
* Tests (column level: ``not_null``, ``unique``, ``accepted_values``, ``relationships``;
  model level: ``unique_combination_of_columns``, ``expression_is_true``) become SQL that
  returns the failing rows. ``config: {severity: warn}`` makes a test non-blocking;
  the default, as in dbt, is ``error`` (blocking).
"""

from investor_mimic.sql.errors import SqlModelError
from investor_mimic.sql.project import Column, Model, SqlProject, TestDef, load_project
from investor_mimic.sql.render import DIALECTS
from investor_mimic.sql.run import read_model, run_model
from investor_mimic.sql.tests import SAMPLE_ROWS, TestResult, TestSpec, run_test, test_queries

__all__ = [
    "DIALECTS",
    "SAMPLE_ROWS",
    "Column",
    "Model",
    "SqlModelError",
    "SqlProject",
    "TestDef",
    "TestResult",
    "TestSpec",
    "load_project",
    "read_model",
    "run_model",
    "run_test",
    "test_queries",
]
