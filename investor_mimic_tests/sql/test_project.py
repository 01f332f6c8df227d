"""The SQL project machinery: loading, rendering, ordering, running, YAML tests, errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

from investor_mimic import sql as sm
from investor_mimic.core.warehouse import Warehouse

SCHEMA = """
sources:
  - name: raw
    tables: [{name: items}, {name: kinds}]
models:
  - name: items_clean
    description: Items with a kind.
    tests:
      - unique_combination_of_columns:
          combination_of_columns: [item_id, kind]
      - expression_is_true:
          name: positive_qty
          expression: qty > 0
    columns:
      - name: item_id
        data_type: string
        tests: [not_null, unique]
      - name: kind
        data_type: string
        tests:
          - accepted_values:
              values: [a, b]
          - relationships:
              to: "source('raw', 'kinds')"
              field: kind
              config: {severity: warn}
      - name: qty
        data_type: float
      - name: added
        data_type: date
  - name: kind_totals
    columns:
      - name: kind
        data_type: string
        tests:
          - relationships: {to: "ref('items_clean')", field: kind}
      - name: qty
        data_type: float
      - name: added_year
        data_type: int
"""

MODELS = {
    "items_clean": "SELECT item_id, kind, qty, added FROM {{ source('raw', 'items') }}\n",
    "kind_totals": (
        "SELECT kind, SUM(qty) AS qty, {{ year('added') }} AS added_year\n"
        "FROM {{ ref('items_clean') }} GROUP BY kind, {{ year('added') }}\n"
    ),
}


def make_project(root: Path, models: dict[str, str] = MODELS, schema: str = SCHEMA) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, sql in models.items():
        (root / f"{name}.sql").write_text(sql)
    (root / "schema.yml").write_text(textwrap.dedent(schema))
    return root


def items(rows: list[tuple[str | None, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": [r[0] for r in rows],
            "kind": [r[1] for r in rows],
            "qty": [r[2] for r in rows],
            "added": pd.to_datetime(["2024-05-06"] * len(rows)),
        }
    )


@pytest.fixture()
def project(tmp_path: Path) -> sm.SqlProject:
    return sm.load_project(make_project(tmp_path / "proj"))


@pytest.fixture()
def wh(tmp_path: Path) -> Warehouse:
    w = Warehouse(f"sqlite:///{tmp_path / 'wh.db'}")
    w.replace_rows("raw_kinds", pd.DataFrame({"kind": ["a", "b"]}), {})
    return w


def test_load_discovers_refs_sources_tests_and_order(project: sm.SqlProject) -> None:
    assert project.order() == ["items_clean", "kind_totals"]
    clean, totals = project.model("items_clean"), project.model("kind_totals")
    assert clean.sources == (("raw", "items"),) and clean.refs == ()
    assert totals.refs == ("items_clean",) and totals.sources == ()
    assert clean.description == "Items with a kind."
    names = {t.name: t.blocking for t in clean.tests}
    assert names == {
        "unique_combination_of_columns": True,
        "positive_qty": True,
        "not_null_item_id": True,
        "unique_item_id": True,
        "accepted_values_kind": True,
        "relationships_kind": False,
    }
    spec = clean.frame_spec()
    assert spec.key == ("item_id", "kind") and spec.nullable == {"kind", "qty", "added"}


def test_render_replaces_refs_sources_and_date_macros_per_dialect(project: sm.SqlProject) -> None:
    lite = project.render("kind_totals", "sqlite")
    post = project.render("kind_totals", "postgresql")
    assert "FROM items_clean " in lite and "{{" not in lite
    assert "strftime('%Y', added)" in lite
    assert "EXTRACT(YEAR FROM added)" in post
    assert "raw_items" in project.render("items_clean", "postgresql")
    with pytest.raises(sm.SqlModelError, match="unsupported dialect 'mysql'"):
        project.render("kind_totals", "mysql")


def test_order_puts_dependencies_first_across_a_chain(tmp_path: Path) -> None:
    models = {
        "c": "SELECT * FROM {{ ref('b') }}",
        "b": "SELECT * FROM {{ ref('a') }} JOIN {{ ref('d') }} ON 1=1",
        "a": "SELECT 1 AS x",
        "d": "SELECT 2 AS y",
    }
    project = sm.load_project(make_project(tmp_path, models, "models: []"))
    order = project.order()
    assert order.index("a") < order.index("b") < order.index("c")
    assert order.index("d") < order.index("b")


@pytest.mark.parametrize(
    ("models", "schema", "message"),
    [
        (
            {"m": "SELECT * FROM {{ ref('nope') }}"},
            "models: []",
            r"model m .*ref\('nope'\) names no model",
        ),
        (
            {"a": "SELECT * FROM {{ ref('b') }}", "b": "SELECT * FROM {{ ref('a') }}"},
            "models: []",
            "ref cycle between models: (a -> b -> a|b -> a -> b)",
        ),
        (
            {"m": "SELECT * FROM {{ source('raw', 'zzz') }}"},
            "sources: [{name: raw, tables: [items]}]",
            r"model m .*source\('raw', 'zzz'\) is not declared",
        ),
        ({"m": "SELECT {{ nope }}"}, "models: []", "model m .*template error: 'nope' is undefined"),
        ({"m": "SELECT 1"}, "models: [{name: gone}]", r"models \['gone'\] have no .sql file"),
        (
            {"m": "SELECT 1 AS x"},
            "models: [{name: m, columns: [{name: x, data_type: text}]}]",
            "column x: data_type 'text' not in",
        ),
        (
            {"m": "SELECT 1 AS x"},
            "models: [{name: m, columns: [{name: x, data_type: int, tests: [positive]}]}]",
            "column x: unknown test 'positive'",
        ),
        (
            {"m": "SELECT 1 AS x"},
            "models: [{name: m, columns: [{name: x, data_type: int, tests: "
            "[{not_null: {config: {severity: fatal}}}]}]}]",
            "severity 'fatal' is not error or warn",
        ),
        (
            {"m": "SELECT 1 AS x"},
            "models: [{name: m, columns: [{name: x, data_type: int, "
            "tests: [not_null, not_null]}]}]",
            "two tests named 'not_null_x'",
        ),
        (
            {"m": "SELECT 1 AS x"},
            "models: [{name: m, tests: [{unique_combination_of_columns: "
            "{combination_of_columns: [x, y]}}], columns: [{name: x, data_type: int}]}]",
            r"combination_of_columns \['x', 'y'\] must list declared columns",
        ),
        (
            {"m": "SELECT 1 AS x"},
            "models: [{name: m, columns: [{name: x, data_type: int, tests: "
            "[{relationships: {to: \"ref('other')\", field: x}}]}]}]",
            r"test relationships_x: ref\('other'\) names no model",
        ),
    ],
)
def test_bad_projects_fail_at_load_saying_where(
    tmp_path: Path, models: dict[str, str], schema: str, message: str
) -> None:
    with pytest.raises(sm.SqlModelError, match=message):
        sm.load_project(make_project(tmp_path, models, schema))


def test_run_model_builds_tables_and_is_idempotent(wh: Warehouse, project: sm.SqlProject) -> None:
    wh.replace_rows("raw_items", items([("i1", "a", 2.0), ("i2", "a", 3.0), ("i3", "b", 4.0)]), {})
    for _ in range(2):
        assert sm.run_model(wh, project, "items_clean") == 3
        assert sm.run_model(wh, project, "kind_totals") == 2
    totals = sm.read_model(wh, project, "kind_totals").sort_values("kind")
    assert totals["qty"].tolist() == [5.0, 4.0]
    assert totals["added_year"].tolist() == [2024, 2024]
    assert totals["added_year"].dtype == "int64"
    assert not wh.has_table("items_clean__building")


def test_missing_inputs_and_sql_errors_name_the_model(tmp_path: Path, wh: Warehouse) -> None:
    project = sm.load_project(make_project(tmp_path / "p"))
    with pytest.raises(
        sm.SqlModelError, match="model items_clean: source table raw_items is missing"
    ):
        sm.run_model(wh, project, "items_clean")
    with pytest.raises(sm.SqlModelError, match="upstream model items_clean is missing"):
        sm.run_model(wh, project, "kind_totals")
    with pytest.raises(sm.SqlModelError, match="unknown model 'nope'"):
        sm.run_model(wh, project, "nope")

    broken = sm.load_project(
        make_project(
            tmp_path / "q",
            {"items_clean": "SELECT no_such_column FROM {{ source('raw', 'items') }}"},
            SCHEMA.split("  - name: kind_totals")[0],
        )
    )
    wh.replace_rows("raw_items", items([("i1", "a", 2.0)]), {})
    sm.run_model(wh, project, "items_clean")  # a good build first
    with pytest.raises(
        sm.SqlModelError,
        match=r"model items_clean \(items_clean.sql\): SQL error: .*no_such_column",
    ):
        sm.run_model(wh, broken, "items_clean")
    # the failed rebuild left the previous table in place
    assert len(sm.read_model(wh, project, "items_clean")) == 1


def results(wh: Warehouse, project: sm.SqlProject, model: str) -> dict[str, sm.TestResult]:
    return {s.name: sm.run_test(wh, s) for s in sm.test_queries(project, model, wh.dialect)}


def test_yaml_tests_pass_on_good_rows(wh: Warehouse, project: sm.SqlProject) -> None:
    wh.replace_rows("raw_items", items([("i1", "a", 2.0), ("i2", "b", 3.0)]), {})
    for model in project.order():
        sm.run_model(wh, project, model)
        assert {n: r.failing_rows for n, r in results(wh, project, model).items()} == dict.fromkeys(
            [t.name for t in project.model(model).tests], 0
        )


def test_yaml_tests_fail_with_counts_and_samples(wh: Warehouse, project: sm.SqlProject) -> None:
    wh.replace_rows("raw_kinds", pd.DataFrame({"kind": ["a"]}), {})  # 'b' now dangles
    bad = items(
        [
            ("i1", "a", 2.0),
            ("i1", "a", 3.0),  # duplicate id and duplicate (id, kind)
            (None, "a", 1.0),  # null id
            ("i4", "zz", 1.0),  # bad accepted value, dangling kind
            ("i5", "b", -1.0),  # dangling kind, negative qty
        ]
    )
    wh.replace_rows("raw_items", bad, {})
    sm.run_model(wh, project, "items_clean")
    got = results(wh, project, "items_clean")
    assert {n: (r.passed, r.failing_rows) for n, r in got.items()} == {
        "unique_combination_of_columns": (False, 1),
        "positive_qty": (False, 1),
        "not_null_item_id": (False, 1),
        "unique_item_id": (False, 1),
        "accepted_values_kind": (False, 1),
        "relationships_kind": (False, 2),
    }
    assert got["accepted_values_kind"].sample["item_id"].tolist() == ["i4"]
    assert got["unique_item_id"].sample.to_dict("records") == [{"item_id": "i1", "n_rows": 2}]
    assert sorted(got["relationships_kind"].sample["item_id"]) == ["i4", "i5"]


def test_sample_is_capped(wh: Warehouse, project: sm.SqlProject) -> None:
    wh.replace_rows("raw_items", items([(None, "a", 1.0)] * 12), {})
    sm.run_model(wh, project, "items_clean")
    result = results(wh, project, "items_clean")["not_null_item_id"]
    assert result.failing_rows == 12 and len(result.sample) == sm.SAMPLE_ROWS


def test_relationship_to_a_model_records_the_dependency(project: sm.SqlProject) -> None:
    (spec,) = sm.test_queries(project, "kind_totals", "sqlite")
    assert spec.refs == ("items_clean",) and spec.sources == ()
    clean = {s.name: s for s in sm.test_queries(project, "items_clean", "sqlite")}
    assert clean["relationships_kind"].sources == (("raw", "kinds"),)
    assert clean["relationships_kind"].blocking is False


def test_test_on_missing_table_is_a_clear_error(wh: Warehouse, project: sm.SqlProject) -> None:
    spec = sm.test_queries(project, "items_clean", "sqlite")[0]
    with pytest.raises(
        sm.SqlModelError, match="model items_clean, test unique_combination_of_columns: SQL error"
    ):
        sm.run_test(wh, spec)
