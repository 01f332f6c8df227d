"""Dagster wiring of the dbt-like SQL models: one asset per model, YAML tests as checks.

Why one asset per model (not a multi-asset): each model is one ``CREATE TABLE AS``
statement, so a step per model costs little and lets the UI, retries and blocking
checks work per model. All SQL logic lives in :mod:`investor_mimic.sql`.
"""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from investor_mimic import sql as sm
from investor_mimic.defs.metadata import SQL, file_reference, table_schema, warehouse_kind
from investor_mimic.defs.resources import WarehouseResource
from investor_mimic.sql.project import PROJECT_DIR

GROUP = "sql_models"
__all__ = ["PROJECT_DIR", "sql_model_defs"]


def _sql_block(sql: str) -> dg.MetadataValue:
    return dg.MetadataValue.md(f"```sql\n{sql.strip()}\n```")


def _column_schema(model: sm.Model) -> dg.TableSchema:
    """The model's contract from schema.yml (:meth:`investor_mimic.sql.Model.frame_spec`)."""
    return table_schema(model.frame_spec())


def _model_asset(project: sm.SqlProject, model: sm.Model) -> dg.AssetsDefinition:
    deps = [dg.AssetKey(r) for r in model.refs] + [dg.AssetKey(t) for _, t in model.sources]

    @dg.asset(
        name=model.name,
        deps=deps,
        group_name=GROUP,
        description=model.description or None,
        kinds={SQL, warehouse_kind()},
        metadata={
            "sql_file": f"dbt_like_sql/{model.path.name}",
            "dagster/column_schema": _column_schema(model),
            "dagster/code_references": file_reference(model.path, model.path.name),
        },
    )
    def _asset(warehouse: WarehouseResource) -> dg.MaterializeResult:
        wh = warehouse.warehouse()
        try:
            rows = sm.run_model(wh, project, model.name)
        except sm.SqlModelError as exc:
            raise dg.Failure(description=str(exc)) from exc
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": rows,
                "sql": _sql_block(project.render(model.name, wh.dialect)),
                "dialect": wh.dialect,
            }
        )

    return _asset


def _check_result(
    key: dg.AssetCheckKey, spec: sm.TestSpec, wh_result: sm.TestResult
) -> dg.AssetCheckResult:
    sample = wh_result.sample
    metadata: dict[str, dg.MetadataValue] = {
        "failing_rows": dg.MetadataValue.int(wh_result.failing_rows),
        "sql": _sql_block(spec.sql),
    }
    if len(sample):
        metadata["sample"] = dg.MetadataValue.md(sample.to_markdown(index=False))
    return dg.AssetCheckResult(
        asset_key=key.asset_key,
        check_name=key.name,
        passed=wh_result.passed,
        severity=dg.AssetCheckSeverity.ERROR if spec.blocking else dg.AssetCheckSeverity.WARN,
        description=spec.description
        if wh_result.passed
        else f"{wh_result.failing_rows} failing row(s): expected {spec.description}",
        metadata=metadata,
    )


def _model_checks(project: sm.SqlProject, model: sm.Model) -> dg.AssetChecksDefinition:
    """All YAML tests of one model in one step; each is its own (sub-settable) check."""
    asset_key = dg.AssetKey(model.name)
    specs = [
        dg.AssetCheckSpec(
            t.name,
            asset=asset_key,
            description=t.description,
            blocking=t.blocking,
            additional_deps=[dg.AssetKey(r) for r in t.refs]
            + [dg.AssetKey(tbl) for _, tbl in t.sources],
        )
        for t in sm.test_queries(project, model.name, "sqlite")
    ]

    @dg.multi_asset_check(specs=specs, name=f"{model.name}_tests", can_subset=True)
    def _checks(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[dg.AssetCheckResult]:
        wh = warehouse.warehouse()
        for spec in sm.test_queries(project, model.name, wh.dialect):
            key = dg.AssetCheckKey(asset_key, spec.name)
            if key not in context.selected_asset_check_keys:
                continue
            try:
                result = sm.run_test(wh, spec)
            except sm.SqlModelError as exc:
                # A test that cannot run has not passed; the error is the description.
                yield dg.AssetCheckResult(
                    asset_key=asset_key,
                    check_name=spec.name,
                    passed=False,
                    severity=dg.AssetCheckSeverity.ERROR,
                    description=str(exc),
                    metadata={"sql": _sql_block(spec.sql)},
                )
                continue
            yield _check_result(key, spec, result)

    return _checks


def sql_model_defs(project_dir: Path = PROJECT_DIR) -> dg.Definitions:
    """The SQL model assets and their checks; the warehouse resource comes from the caller."""
    project = sm.load_project(project_dir)
    models = [project.model(n) for n in project.order()]
    return dg.Definitions(
        assets=[_model_asset(project, m) for m in models],
        asset_checks=[_model_checks(project, m) for m in models if m.tests],
        jobs=[sql_models_job],
    )


sql_models_job = dg.define_asset_job(
    "sql_models_job",
    selection=dg.AssetSelection.groups(GROUP),
    description="Rebuild every SQL model of dbt_like_sql/ in the warehouse, with its tests.",
)
