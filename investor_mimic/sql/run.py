"""Running models in the warehouse and reading their tables back, typed by schema.yml."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from investor_mimic.core.frames import coerce
from investor_mimic.core.warehouse import Warehouse
from investor_mimic.sql.errors import SqlModelError, one_line
from investor_mimic.sql.project import SqlProject


def _check_inputs(
    warehouse: Warehouse,
    project: SqlProject,
    refs: tuple[str, ...],
    sources: tuple[tuple[str, str], ...],
    where: str,
) -> None:
    for src, table in sources:
        name = project.source_table(src, table)
        if not warehouse.has_table(name):
            raise SqlModelError(
                f"{where}: source table {name} is missing in the warehouse "
                f"(materialize the {table!r} source asset first)"
            )
    for ref in refs:
        if not warehouse.has_table(ref):
            raise SqlModelError(f"{where}: table of upstream model {ref} is missing (run it first)")


def run_model(warehouse: Warehouse, project: SqlProject, name: str) -> int:
    """Rebuild the model's table from its SQL; return its row count.

    Built under a scratch name and swapped in, so a failing statement leaves the
    previous table in place rather than no table at all. Inputs and output are
    ANALYZEd: right after a bulk load PostgreSQL has no statistics and picks nested
    loops that turn a one-second model into minutes.
    """
    model = project.model(name)
    _check_inputs(warehouse, project, model.refs, model.sources, f"model {name}")
    sql = project.render(name, warehouse.dialect)
    scratch = f"{name}__building"
    try:
        with warehouse.engine.begin() as conn:
            for table in [project.source_table(*src) for src in model.sources] + list(model.refs):
                conn.execute(sa.text(f"ANALYZE {table}"))
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {scratch}"))
            conn.execute(sa.text(f"CREATE TABLE {scratch} AS\n{sql}"))
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
            conn.execute(sa.text(f"ALTER TABLE {scratch} RENAME TO {name}"))
            conn.execute(sa.text(f"ANALYZE {name}"))
            return int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {name}")).scalar_one())  # nosec B608 # model name from dbt_like_sql/
    except sa.exc.DBAPIError as exc:
        raise SqlModelError(
            f"model {name} ({model.path.name}): SQL error: {one_line(exc)}"
        ) from exc


def read_model(warehouse: Warehouse, project: SqlProject, name: str) -> pd.DataFrame:
    """The model's table typed by its declared columns (identical on SQLite and PostgreSQL)."""
    spec = project.model(name).frame_spec()
    if not warehouse.has_table(name):
        raise SqlModelError(
            f"model {name}: table is missing in the warehouse (run the model first)"
        )
    try:
        frame = warehouse.read(f"SELECT {', '.join(spec.columns)} FROM {name}")  # nosec B608 # schema.yml identifiers
    except pd.errors.DatabaseError as exc:
        raise SqlModelError(
            f"model {name}: reading the columns of schema.yml failed: {exc}"
        ) from exc
    try:
        return coerce(frame, spec)
    except (ValueError, TypeError) as exc:
        raise SqlModelError(
            f"model {name}: columns do not match schema.yml data_type: {exc}"
        ) from exc
