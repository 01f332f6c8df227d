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
* Column ``data_type`` (a :mod:`investor_mimic.frames` kind) types the model when read
  back (:func:`read_model`), so both dialects give identical frames.
* Tests (column level: ``not_null``, ``unique``, ``accepted_values``, ``relationships``;
  model level: ``unique_combination_of_columns``, ``expression_is_true``) become SQL that
  returns the failing rows. ``config: {severity: warn}`` makes a test non-blocking;
  the default, as in dbt, is ``error`` (blocking).
"""

from __future__ import annotations

import graphlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import sqlalchemy as sa
import yaml

from investor_mimic.frames import FrameSpec, Kind, coerce
from investor_mimic.warehouse import Warehouse

DIALECTS = ("sqlite", "postgresql")
KINDS: frozenset[Kind] = frozenset({"string", "float", "int", "bool", "date", "datetime"})
SAMPLE_ROWS = 5
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# The per-dialect macros: integer calendar parts of a date/timestamp column.
_DATE_PARTS: dict[str, dict[str, str]] = {
    "sqlite": {
        "year": "CAST(strftime('%Y', {expr}) AS INTEGER)",
        "month": "CAST(strftime('%m', {expr}) AS INTEGER)",
    },
    "postgresql": {
        "year": "CAST(EXTRACT(YEAR FROM {expr}) AS INTEGER)",
        "month": "CAST(EXTRACT(MONTH FROM {expr}) AS INTEGER)",
    },
}


class SqlModelError(Exception):
    """A problem in the SQL project or while running it; the message says where."""


@dataclass(frozen=True)
class Column:
    name: str
    data_type: Kind
    description: str = ""


@dataclass(frozen=True)
class TestDef:
    """One YAML test: its kind, the column it applies to (None: model level), arguments."""

    __test__ = False  # not a pytest class, despite the name

    name: str
    kind: str
    column: str | None
    args: Mapping[str, Any]
    blocking: bool


@dataclass(frozen=True)
class Model:
    name: str
    path: Path
    sql: str  # the Jinja template as written
    refs: tuple[str, ...]
    sources: tuple[tuple[str, str], ...]  # (source name, table name)
    description: str = ""
    columns: tuple[Column, ...] = ()
    tests: tuple[TestDef, ...] = ()

    def frame_spec(self) -> FrameSpec:
        """The model's column contract: kinds from ``data_type``; nullable unless not_null."""
        if not self.columns:
            raise SqlModelError(f"model {self.name}: no columns declared in schema.yml")
        not_null = {t.column for t in self.tests if t.kind == "not_null"}
        combos = [
            t.args["combination_of_columns"]
            for t in self.tests
            if t.kind == "unique_combination_of_columns"
        ]
        uniques = [(t.column,) for t in self.tests if t.kind == "unique" and t.column]
        key = tuple(combos[0]) if combos else (uniques[0] if uniques else ())
        return FrameSpec(
            self.name,
            {c.name: c.data_type for c in self.columns},
            key=key,
            nullable=frozenset(c.name for c in self.columns if c.name not in not_null),
        )


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


@dataclass
class _Recorder:
    """Collects the refs and sources a template calls while it renders."""

    refs: list[str] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class SqlProject:
    root: Path
    models: dict[str, Model]
    sources: dict[str, frozenset[str]]  # source name -> declared tables

    def source_table(self, source: str, table: str) -> str:
        """The warehouse table of a declared source table: ``<source>_<table>``."""
        if table not in self.sources.get(source, frozenset()):
            declared = sorted(f"{s}.{t}" for s, ts in self.sources.items() for t in ts)
            raise SqlModelError(
                f"source('{source}', '{table}') is not declared in schema.yml "
                f"(declared: {declared})"
            )
        return f"{source}_{table}"

    def model(self, name: str) -> Model:
        if name not in self.models:
            raise SqlModelError(f"unknown model {name!r} (known: {sorted(self.models)})")
        return self.models[name]

    def render(self, model: str, dialect: str) -> str:
        """The model's SQL for ``dialect``, refs and sources replaced by table names."""
        m = self.model(model)
        return _render(self, m.sql, dialect, where=f"model {model}")

    def order(self) -> list[str]:
        """Model names, every model after the models it refs (ties broken by name)."""
        sorter = graphlib.TopologicalSorter(
            {n: sorted(m.refs) for n, m in sorted(self.models.items())}
        )
        try:
            sorter.prepare()
        except graphlib.CycleError as exc:
            raise SqlModelError(f"ref cycle between models: {' -> '.join(exc.args[1])}") from exc
        ordered: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready())
            ordered.extend(ready)
            sorter.done(*ready)
        return ordered


def _render(
    project: SqlProject,
    template: str,
    dialect: str,
    *,
    where: str,
    recorder: _Recorder | None = None,
) -> str:
    if dialect not in DIALECTS:
        raise SqlModelError(f"{where}: unsupported dialect {dialect!r} (supported: {DIALECTS})")

    def ref(name: str) -> str:
        if name not in project.models:
            raise SqlModelError(
                f"{where}: ref('{name}') names no model (known: {sorted(project.models)})"
            )
        if recorder is not None:
            recorder.refs.append(name)
        return name

    def source(source_name: str, table: str) -> str:
        try:
            rendered = project.source_table(source_name, table)
        except SqlModelError as exc:
            raise SqlModelError(f"{where}: {exc}") from None
        if recorder is not None:
            recorder.sources.append((source_name, table))
        return rendered

    def date_part(part: str) -> Callable[[str], str]:
        return lambda expr: _DATE_PARTS[dialect][part].format(expr=expr)

    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
    )
    try:
        tmpl = env.from_string(template)
        return tmpl.render(ref=ref, source=source, year=date_part("year"), month=date_part("month"))
    except jinja2.TemplateError as exc:
        raise SqlModelError(f"{where}: template error: {exc}") from None


# --- loading ---------------------------------------------------------------------------


def load_project(path: Path) -> SqlProject:
    """Read ``path/*.sql`` and ``path/schema.yml``; validate refs, sources, columns, tests."""
    if not path.is_dir():
        raise SqlModelError(f"SQL project folder {path} does not exist")
    schema_path = path / "schema.yml"
    if not schema_path.is_file():
        raise SqlModelError(f"{schema_path} is missing")
    try:
        schema = yaml.safe_load(schema_path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise SqlModelError(f"{schema_path}: invalid YAML: {exc}") from None
    if not isinstance(schema, dict):
        raise SqlModelError(f"{schema_path}: top level must be a mapping")

    sources = _parse_sources(schema.get("sources") or [], schema_path)
    sql_files = {p.stem: p for p in sorted(path.glob("*.sql"))}
    entries = _schema_entries(schema.get("models") or [], schema_path)
    unknown = sorted(set(entries) - set(sql_files))
    if unknown:
        raise SqlModelError(f"{schema_path}: models {unknown} have no .sql file in {path}")

    # First pass: bare models so that ref() can validate names while recording.
    bare = {
        name: Model(name=name, path=p, sql=p.read_text(), refs=(), sources=())
        for name, p in sql_files.items()
    }
    for name in bare:
        if not _IDENT.match(name):
            raise SqlModelError(f"{sql_files[name]}: model name {name!r} is not a SQL identifier")
    project = SqlProject(root=path, models=bare, sources=sources)
    models: dict[str, Model] = {}
    for name, m in bare.items():
        rec = _Recorder()
        _render(project, m.sql, "sqlite", where=f"model {name} ({m.path})", recorder=rec)
        entry = entries.get(name, {})
        columns = tuple(_parse_column(name, c, schema_path) for c in entry.get("columns") or [])
        tests = _parse_tests(name, entry, columns, schema_path)
        models[name] = Model(
            name=name,
            path=m.path,
            sql=m.sql,
            refs=tuple(dict.fromkeys(rec.refs)),
            sources=tuple(dict.fromkeys(rec.sources)),
            description=str(entry.get("description") or "").strip(),
            columns=columns,
            tests=tests,
        )
    project = SqlProject(root=path, models=models, sources=sources)
    project.order()  # fail at load on a cycle
    for m in models.values():
        for dialect in DIALECTS:  # fail at load on a bad relationship target or expression
            test_queries(project, m.name, dialect)
    return project


def _parse_sources(raw: Any, where: Path) -> dict[str, frozenset[str]]:
    if not isinstance(raw, list):
        raise SqlModelError(f"{where}: 'sources' must be a list")
    out: dict[str, frozenset[str]] = {}
    for src in raw:
        if not isinstance(src, dict) or "name" not in src:
            raise SqlModelError(f"{where}: every source needs a name: {src!r}")
        tables = [t["name"] if isinstance(t, dict) else t for t in src.get("tables") or []]
        bad = [t for t in [src["name"], *tables] if not isinstance(t, str) or not _IDENT.match(t)]
        if bad:
            raise SqlModelError(f"{where}: source {src['name']!r}: names {bad} are not identifiers")
        out[src["name"]] = frozenset(tables)
    return out


def _schema_entries(raw: Any, where: Path) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, list):
        raise SqlModelError(f"{where}: 'models' must be a list")
    entries: dict[str, dict[str, Any]] = {}
    for entry in raw:
        if not isinstance(entry, dict) or "name" not in entry:
            raise SqlModelError(f"{where}: every model entry needs a name: {entry!r}")
        if entry["name"] in entries:
            raise SqlModelError(f"{where}: model {entry['name']!r} is listed twice")
        entries[entry["name"]] = entry
    return entries


def _parse_column(model: str, raw: Any, where: Path) -> Column:
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("name"), str)
        or not _IDENT.match(raw["name"])
    ):
        raise SqlModelError(
            f"{where}: model {model}: column entry needs an identifier name: {raw!r}"
        )
    kind = raw.get("data_type")
    if kind not in KINDS:
        raise SqlModelError(
            f"{where}: model {model}, column {raw['name']}: "
            f"data_type {kind!r} not in {sorted(KINDS)}"
        )
    return Column(raw["name"], kind, str(raw.get("description") or "").strip())


_COLUMN_TESTS = {"not_null", "unique", "accepted_values", "relationships"}
_MODEL_TESTS = {"unique_combination_of_columns", "expression_is_true"}


def _parse_tests(
    model: str, entry: Mapping[str, Any], columns: tuple[Column, ...], where: Path
) -> tuple[TestDef, ...]:
    raw: list[tuple[str | None, Any]] = [(None, t) for t in entry.get("tests") or []]
    for col_entry in entry.get("columns") or []:
        raw += [(col_entry["name"], t) for t in col_entry.get("tests") or []]
    names = {c.name for c in columns}
    tests: list[TestDef] = []
    for column, t in raw:
        here = f"{where}: model {model}" + (f", column {column}" if column else "")
        args: dict[str, Any]
        if isinstance(t, str):
            kind, args = t, {}
        elif (
            isinstance(t, dict) and len(t) == 1 and isinstance(next(iter(t.values())), dict | None)
        ):
            kind, given = next(iter(t.items()))
            args = dict(given or {})
        else:
            raise SqlModelError(f"{here}: a test is a name or a one-key mapping, got {t!r}")
        allowed = _COLUMN_TESTS if column else _MODEL_TESTS
        if kind not in allowed:
            raise SqlModelError(f"{here}: unknown test {kind!r} (allowed here: {sorted(allowed)})")
        config = args.pop("config", None) or {}
        severity = config.get("severity", "error")
        if severity not in ("error", "warn"):
            raise SqlModelError(f"{here}: test {kind}: severity {severity!r} is not error or warn")
        _require_args(kind, args, here, names)
        default = f"{kind}_{column}" if column else kind
        name = args.pop("name", default)
        if not isinstance(name, str) or not _IDENT.match(name):
            raise SqlModelError(f"{here}: test name {name!r} is not an identifier")
        tests.append(TestDef(name, kind, column, args, blocking=severity == "error"))
    seen: set[str] = set()
    for test in tests:
        if test.name in seen:
            raise SqlModelError(
                f"{where}: model {model}: two tests named {test.name!r}; give one a 'name:'"
            )
        seen.add(test.name)
    return tuple(tests)


def _require_args(kind: str, args: Mapping[str, Any], here: str, columns: set[str]) -> None:
    required = {
        "accepted_values": ("values",),
        "relationships": ("to", "field"),
        "unique_combination_of_columns": ("combination_of_columns",),
        "expression_is_true": ("expression",),
    }.get(kind, ())
    missing = [a for a in required if a not in args]
    if missing:
        raise SqlModelError(f"{here}: test {kind} needs {missing}")
    if kind == "accepted_values" and (not isinstance(args["values"], list) or not args["values"]):
        raise SqlModelError(f"{here}: accepted_values.values must be a non-empty list")
    if kind == "relationships" and not _IDENT.match(str(args["field"])):
        raise SqlModelError(f"{here}: relationships.field {args['field']!r} is not an identifier")
    if kind == "unique_combination_of_columns":
        cols = args["combination_of_columns"]
        if not isinstance(cols, list) or not cols or any(c not in columns for c in cols):
            raise SqlModelError(
                f"{here}: combination_of_columns {cols!r} "
                f"must list declared columns {sorted(columns)}"
            )


# --- running ---------------------------------------------------------------------------


def _one_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return " ".join(str(orig).split())[:500]


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
            return int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {name}")).scalar_one())
    except sa.exc.DBAPIError as exc:
        raise SqlModelError(
            f"model {name} ({model.path.name}): SQL error: {_one_line(exc)}"
        ) from exc


def read_model(warehouse: Warehouse, project: SqlProject, name: str) -> pd.DataFrame:
    """The model's table typed by its declared columns (identical on SQLite and PostgreSQL)."""
    spec = project.model(name).frame_spec()
    if not warehouse.has_table(name):
        raise SqlModelError(
            f"model {name}: table is missing in the warehouse (run the model first)"
        )
    try:
        frame = warehouse.read(f"SELECT {', '.join(spec.columns)} FROM {name}")
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
            sql, what = f"SELECT * FROM {model} WHERE {c} IS NULL", f"{c} is never null"
        elif t.kind == "unique":
            sql = (
                f"SELECT {c}, COUNT(*) AS n_rows FROM {model} WHERE {c} IS NOT NULL "
                f"GROUP BY {c} HAVING COUNT(*) > 1"
            )
            what = f"{c} is unique"
        elif t.kind == "accepted_values":
            values = ", ".join(_literal(v) for v in t.args["values"])
            sql, what = f"SELECT * FROM {model} WHERE {c} NOT IN ({values})", f"{c} in ({values})"
        elif t.kind == "relationships":
            rec = _Recorder()
            parent = _render(
                project, "{{ " + str(t.args["to"]) + " }}", dialect, where=where, recorder=rec
            )
            refs, sources = tuple(rec.refs), tuple(rec.sources)
            f = t.args["field"]
            # distinct parent keys: no join fan-out, and SQLite indexes the subquery
            sql = (
                f"SELECT child.* FROM {model} child "
                f"LEFT JOIN (SELECT DISTINCT {f} AS parent_key FROM {parent}) parent "
                f"ON child.{c} = parent.parent_key "
                f"WHERE child.{c} IS NOT NULL AND parent.parent_key IS NULL"
            )
            what = f"every {c} is a {parent}.{f}"
        elif t.kind == "unique_combination_of_columns":
            cols = ", ".join(t.args["combination_of_columns"])
            sql = (
                f"SELECT {cols}, COUNT(*) AS n_rows FROM {model} "
                f"GROUP BY {cols} HAVING COUNT(*) > 1"
            )
            what = f"({cols}) is unique"
        else:  # expression_is_true
            expr = _render(project, str(t.args["expression"]).strip(), dialect, where=where)
            sql, what = f"SELECT * FROM {model} WHERE NOT ({expr})", f"every row has {expr}"
        specs.append(TestSpec(t.name, model, sql, t.blocking, what, refs, sources))
    return specs


def run_test(warehouse: Warehouse, spec: TestSpec) -> TestResult:
    """Count the failing rows of a test and keep a few as a sample."""
    where = f"model {spec.model}, test {spec.name}"
    try:
        with warehouse.engine.connect() as conn:
            count = int(
                conn.execute(sa.text(f"SELECT COUNT(*) FROM ({spec.sql}) failing")).scalar_one()
            )
            rows = conn.execute(sa.text(f"SELECT * FROM ({spec.sql}) failing LIMIT {SAMPLE_ROWS}"))
            sample = pd.DataFrame(rows.fetchall(), columns=list(rows.keys()))
    except sa.exc.DBAPIError as exc:
        raise SqlModelError(f"{where}: SQL error: {_one_line(exc)}") from exc
    return TestResult(passed=count == 0, failing_rows=count, sample=sample)
