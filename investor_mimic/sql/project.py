"""Loading a SQL project: the ``*.sql`` models and ``schema.yml`` become typed models.

Every reference, source, column type and test is validated at load, so a mistake in the
project fails before anything runs, with the file and the model in the message.
"""

from __future__ import annotations

import graphlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from investor_mimic.core.frames import KINDS as _KINDS
from investor_mimic.core.frames import FrameSchema, Kind, Rule, frame_schema
from investor_mimic.sql.errors import SqlModelError
from investor_mimic.sql.render import DIALECTS, Recorder, render_template

KINDS: frozenset[Kind] = frozenset(_KINDS)
#: The project's SQL models (``dbt_like_sql/`` beside the package, an editable install).
PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_like_sql"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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

    def frame_spec(self, rules: tuple[Rule, ...] = ()) -> FrameSchema:
        """The model's frame contract (a pandera schema) from schema.yml: kinds from
        ``data_type``, nullable unless a blocking ``not_null``, the key from ``unique`` /
        ``unique_combination_of_columns``, ``accepted_values`` as row rules; ``rules``
        adds row rules that SQL tests cannot state (the factor side's)."""
        if not self.columns:
            raise SqlModelError(f"model {self.name}: no columns declared in schema.yml")
        # a not_null at severity warn reports nulls; it does not forbid them
        not_null = {t.column for t in self.tests if t.kind == "not_null" and t.blocking}
        combos = [
            t.args["combination_of_columns"]
            for t in self.tests
            if t.kind == "unique_combination_of_columns"
        ]
        uniques = [(t.column,) for t in self.tests if t.kind == "unique" and t.column]
        key = tuple(combos[0]) if combos else (uniques[0] if uniques else ())
        accepted = tuple(
            _accepted_values_rule(t.column, tuple(t.args["values"]))
            for t in self.tests
            if t.kind == "accepted_values" and t.column
        )
        return frame_schema(
            self.name,
            {c.name: c.data_type for c in self.columns},
            key=key,
            nullable=[c.name for c in self.columns if c.name not in not_null],
            rules=accepted + tuple(rules),
            description=self.description,
            column_descriptions={c.name: c.description for c in self.columns if c.description},
        )


def _accepted_values_rule(column: str, values: tuple[Any, ...]) -> Rule:
    """dbt's ``accepted_values`` in pandas: NULL passes, as ``NOT IN`` lets it in SQL."""
    return Rule(
        f"{column} in {list(values)}",
        f"{column} not in {list(values)}",
        (column,),
        lambda f: f[column].isna() | f[column].isin(values),
    )


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
        return render_template(self, m.sql, dialect, where=f"model {model}")

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
        rec = Recorder()
        render_template(project, m.sql, "sqlite", where=f"model {name} ({m.path})", recorder=rec)
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
    from investor_mimic.sql.tests import test_queries as _test_queries  # tests need SqlProject

    for m in models.values():
        for dialect in DIALECTS:  # fail at load on a bad relationship target or expression
            _test_queries(project, m.name, dialect)
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
