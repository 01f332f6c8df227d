"""YAML tests as SQL that selects the failing rows, and running them.

``config: {severity: warn}`` makes a test non-blocking; the default, as in dbt, is
``error`` (blocking).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from investor_mimic.core.warehouse import Warehouse
from investor_mimic.sql.errors import SqlModelError, one_line
from investor_mimic.sql.render import Recorder, render_template

if TYPE_CHECKING:
    from investor_mimic.sql.project import SqlProject

SAMPLE_ROWS = 5


@dataclass(frozen=True)
class TestSpec:
    """A test as SQL returning the failing rows, and what it reads besides its model."""

    __test__ = False  # not a pytest class, despite the name

    name: str
    model: str
    sql: str
    blocking: bool
    description: str
    refs: tuple[str, ...] = ()
    sources: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TestResult:
    __test__ = False  # not a pytest class, despite the name

    passed: bool
    failing_rows: int
    sample: pd.DataFrame


def _literal(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        raise SqlModelError(f"accepted_values: use strings or numbers, not {value!r}")
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def test_queries(project: SqlProject, model: str, dialect: str) -> list[TestSpec]:
    """Each YAML test of ``model`` as SQL that selects the failing rows."""
    m = project.model(model)
    specs: list[TestSpec] = []
    for t in m.tests:
        where = f"model {model}, test {t.name}"
        refs: tuple[str, ...] = ()
        sources: tuple[tuple[str, str], ...] = ()
        c = t.column
        if t.kind == "not_null":
            sql, what = f"SELECT * FROM {model} WHERE {c} IS NULL", f"{c} is never null"  # nosec B608 # schema.yml identifiers
        elif t.kind == "unique":
            sql = (
                f"SELECT {c}, COUNT(*) AS n_rows FROM {model} WHERE {c} IS NOT NULL "  # nosec B608 # schema.yml identifiers
                f"GROUP BY {c} HAVING COUNT(*) > 1"
            )
            what = f"{c} is unique"
        elif t.kind == "accepted_values":
            values = ", ".join(_literal(v) for v in t.args["values"])
            sql, what = f"SELECT * FROM {model} WHERE {c} NOT IN ({values})", f"{c} in ({values})"  # nosec B608 # schema.yml identifiers/literals
        elif t.kind == "relationships":
            rec = Recorder()
            parent = render_template(
                project, "{{ " + str(t.args["to"]) + " }}", dialect, where=where, recorder=rec
            )
            refs, sources = tuple(rec.refs), tuple(rec.sources)
            f = t.args["field"]
            # distinct parent keys: no join fan-out, and SQLite indexes the subquery
            sql = (
                f"SELECT child.* FROM {model} child "  # nosec B608 # schema.yml identifiers
                f"LEFT JOIN (SELECT DISTINCT {f} AS parent_key FROM {parent}) parent "
                f"ON child.{c} = parent.parent_key "
                f"WHERE child.{c} IS NOT NULL AND parent.parent_key IS NULL"
            )
            what = f"every {c} is a {parent}.{f}"
        elif t.kind == "unique_combination_of_columns":
            cols = ", ".join(t.args["combination_of_columns"])
            sql = (
                f"SELECT {cols}, COUNT(*) AS n_rows FROM {model} "  # nosec B608 # schema.yml identifiers
                f"GROUP BY {cols} HAVING COUNT(*) > 1"
            )
            what = f"({cols}) is unique"
        else:  # expression_is_true
            expr = render_template(project, str(t.args["expression"]).strip(), dialect, where=where)
            sql, what = f"SELECT * FROM {model} WHERE NOT ({expr})", f"every row has {expr}"  # nosec B608 # schema.yml expression
        specs.append(TestSpec(t.name, model, sql, t.blocking, what, refs, sources))
    return specs


def run_test(warehouse: Warehouse, spec: TestSpec) -> TestResult:
    """Count the failing rows of a test and keep a few as a sample."""
    where = f"model {spec.model}, test {spec.name}"
    try:
        with warehouse.engine.connect() as conn:
            count = int(
                conn.execute(sa.text(f"SELECT COUNT(*) FROM ({spec.sql}) failing")).scalar_one()  # nosec B608 # SQL built above from schema.yml
            )
            rows = conn.execute(sa.text(f"SELECT * FROM ({spec.sql}) failing LIMIT {SAMPLE_ROWS}"))  # nosec B608 # SQL built above from schema.yml
            sample = pd.DataFrame(rows.fetchall(), columns=list(rows.keys()))
    except sa.exc.DBAPIError as exc:
        raise SqlModelError(f"{where}: SQL error: {one_line(exc)}") from exc
    return TestResult(passed=count == 0, failing_rows=count, sample=sample)
