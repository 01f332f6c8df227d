"""What every asset shows in the UI: its column schema, materialization metadata (counts,
coverage, a preview table), and its owners, kinds and code references."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pandera.pandas as pa


def table_schema(schema: pa.DataFrameSchema) -> dg.TableSchema:
    """A frame contract (:mod:`investor_mimic.core.frames`) as Dagster's column schema.

    Laid out as dagster-pandera lays a pandera schema out (kind, nullable, unique,
    one constraint per rule); the key and the row rules are table constraints.
    """
    key = list(schema.unique or [])
    columns = [
        dg.TableColumn(
            name=str(name),
            type=str(column.dtype),
            description=column.description,
            constraints=dg.TableColumnConstraints(
                nullable=bool(column.nullable),
                unique=bool(column.unique) or key == [name],
                other=[str(c.error or c.name) for c in column.checks or []],
            ),
        )
        for name, column in schema.columns.items()
    ]
    rules = [str(c.name) for c in schema.checks]
    other = ([f"unique key ({', '.join(key)})"] if key else []) + rules
    return dg.TableSchema(columns=columns, constraints=dg.TableConstraints(other=other))


def schema_metadata(schema: pa.DataFrameSchema) -> dict[str, Any]:
    """Definition metadata that shows ``schema`` as the asset's columns in the UI."""
    return {"dagster/column_schema": table_schema(schema)}


def preview(frame: pd.DataFrame, rows: int = 10) -> dg.MetadataValue:
    """The first rows as a Markdown table (renders in the UI's asset page)."""
    head = frame.head(rows).copy()
    for col in head.columns:
        if pd.api.types.is_datetime64_any_dtype(head[col]):
            head[col] = head[col].dt.strftime("%Y-%m-%d %H:%M").str.replace(" 00:00", "")
    return dg.MetadataValue.md(head.to_markdown(index=False, floatfmt=".4g"))


def frame_metadata(
    frame: pd.DataFrame,
    *,
    date_col: str | None = None,
    entity_col: str | None = None,
    context: dg.AssetExecutionContext | None = None,
) -> dict[str, Any]:
    """Materialization metadata of an asset's value ``frame``: rows, a preview, its dates
    and entities.

    In a run over many partitions (a single-run backfill), Dagster copies the returned
    metadata onto every partition's materialization. There it must not pass for the
    partition's own: each partition gets its own ``dagster/row_count``
    (:func:`rows_per_partition`), and the returned figures describe the run — ``run_rows``
    and ``partitions_in_run``, no preview. Measured on the demo, the preview copied onto
    each of 1,258 days made up most of the daily sources' event-log bytes. Callers pass
    the result, with figures of their own, through :func:`for_partitions`.
    """
    if context is not None and is_range_run(context):
        rows_per_partition(context, frame)
        meta: dict[str, Any] = {
            "run_rows": len(frame),
            "partitions_in_run": len(context.partition_keys),
        }
    else:
        meta = {"dagster/row_count": len(frame), "preview": preview(frame)}
    if date_col and len(frame):
        meta["first_date"] = str(pd.Timestamp(frame[date_col].min()).date())
        meta["last_date"] = str(pd.Timestamp(frame[date_col].max()).date())
        meta["dates_with_rows"] = int(frame[date_col].nunique())
    if entity_col:
        meta[f"distinct_{entity_col}s"] = int(frame[entity_col].nunique())
    return meta


#: The figures of a range run's value that hold for each of its partitions too.
PER_PARTITION = frozenset({"run_rows", "partitions_in_run"})


def for_partitions(context: dg.AssetExecutionContext, meta: dict[str, Any]) -> dict[str, Any]:
    """``meta`` as each partition's materialization should carry it.

    In a range run Dagster copies the returned metadata onto every partition's
    materialization (1,258 on the demo). Figures of the whole run (dates, tickers,
    coverage, sums) would pass there for the partition's own, and each one costs an entry
    serialised and stored 1,258 times: they go to the run's log once, in one line the UI
    shows, and each partition keeps its own row count and the run's size. Outside a
    range run, ``meta`` is returned as it is.
    """
    if not is_range_run(context):
        return meta
    run_figures = {k: v for k, v in meta.items() if k not in PER_PARTITION}
    if run_figures:
        shown = figures_line(run_figures)
        context.log.info(f"{context.asset_key.to_user_string()} over the run: {shown}")
    return {k: v for k, v in meta.items() if k in PER_PARTITION}


def figures_line(meta: Mapping[str, Any]) -> str:
    """Metadata as one log line, ``name value, ...`` (metadata values by their value)."""
    return ", ".join(f"{k} {getattr(v, 'value', v)}" for k, v in meta.items())


def is_range_run(context: dg.AssetExecutionContext) -> bool:
    """Whether the run covers more than one partition of the asset."""
    return context.has_partition_key_range and len(context.partition_keys) > 1


def rows_per_partition(context: dg.AssetExecutionContext, frame: pd.DataFrame) -> None:
    """``dagster/row_count`` of each partition of the run, from the rows of ``frame`` that
    the IO manager stores in it (split by the asset's ``partition_expr``).

    Added to the step's metadata in one go: ``context.add_asset_metadata`` lists the run's
    partitions again and copies all the metadata added so far on every call, which is
    quadratic in the partitions (1.4 s for the demo's 1,003-day factor panel, for 1,003
    numbers). The keys are the run's own partitions and the asset the step's, which is
    what that method checks before adding.
    """
    from dagster._core.execution.context.invocation import DirectAssetExecutionContext
    from dagster._core.execution.context.metadata_logging import (
        AssetMetadataHandle,
        OutputMetadataAccumulator,
    )

    from investor_mimic.defs.io_manager import partition_expr, partition_labels

    if isinstance(context, DirectAssetExecutionContext):
        return  # called directly (benchmarks, notebooks): no materializations to carry them
    asset = context.asset_key
    expr = partition_expr(context.assets_def.metadata_by_key[asset], asset)
    counts = partition_labels(frame, expr).value_counts() if len(frame) else pd.Series()
    step = context.op_execution_context._step_execution_context
    added = dict(step._metadata_accumulator.per_output_metadata)
    for key in context.partition_keys:
        handle = AssetMetadataHandle(asset_key=asset, partition_key=key)
        added[handle] = {**added.get(handle, {}), "dagster/row_count": int(counts.get(key, 0))}
    step._metadata_accumulator = OutputMetadataAccumulator(per_output_metadata=added)


# -- What every asset shows in the UI: owners, kinds, code references ---------------------

#: Who answers for each asset group (Dagster owners: an email address or ``team:<name>``).
#: A new group needs its owners here; a test fails on an asset without any.
OWNERS: dict[str, list[str]] = {
    "sources": ["team:data"],
    "sql_models": ["team:data"],
    "factors": ["team:research"],
    "scoring": ["team:research"],
    "trading": ["team:trading"],
    "backtest": ["team:research"],
}

#: Kinds, in two families. Storage: where the asset's value lives — Parquet files
#: through the IO manager (local or S3), and/or a warehouse table (SQLite or PostgreSQL).
#: Technology: what computes it. Every asset carries at least one of each.
PARQUET = "parquet"
STORAGE_KINDS = frozenset({PARQUET, "sqlite", "postgres"})
PANDAS, SQL, SKLEARN, MATPLOTLIB = "pandas", "sql", "scikitlearn", "matplotlib"
TECHNOLOGY_KINDS = frozenset({PANDAS, SQL, SKLEARN, MATPLOTLIB})


def warehouse_kind() -> str:
    """The storage kind of warehouse tables in this environment."""
    from investor_mimic.settings import get_settings

    url = get_settings().resolved_warehouse_url
    return "postgres" if url.startswith("postgres") else "sqlite"


def file_reference(path: Path, label: str) -> dg.CodeReferencesMetadataValue:
    """A code reference to a non-Python source file (e.g. a SQL model), line 1."""
    with _beta_accepted():
        return dg.CodeReferencesMetadataValue(
            code_references=[
                dg.LocalFileCodeReference(file_path=str(path.resolve()), line_number=1, label=label)
            ]
        )


@contextmanager
def _beta_accepted() -> Iterator[None]:
    """Dagster marks its code-reference API beta; accepted here, not warned on every load."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        yield


def _owned(spec: dg.AssetSpec) -> dg.AssetSpec:
    return (
        spec
        if spec.owners
        else spec.replace_attributes(owners=OWNERS.get(spec.group_name or "", []))
    )


def with_ui_metadata(defs: dg.Definitions) -> dg.Definitions:
    """``defs`` with each asset's owners (by group) and code references added.

    Code references point at the function that computes the asset (Dagster's
    ``with_source_code_references``), plus any declared on the asset (the SQL file of a
    model); with ``IM_CODE_URL`` set they become links into the hosted repository.
    """
    from investor_mimic.settings import get_settings

    settings = get_settings()
    definitions = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]
    with _beta_accepted():
        assets: list[Any] = list(
            dg.with_source_code_references(dg.map_asset_specs(_owned, definitions))
        )
        if settings.code_url:
            repo_root = Path(__file__).resolve().parents[2]
            assets = list(
                dg.link_code_references_to_git(
                    assets,
                    git_url=settings.code_url.rstrip("/"),
                    git_branch=settings.code_branch,
                    file_path_mapping=dg.AnchorBasedFilePathMapping(
                        local_file_anchor=repo_root / "pyproject.toml",
                        file_anchor_path_in_repository="pyproject.toml",
                    ),
                )
            )
    others = [a for a in defs.assets or [] if not isinstance(a, dg.AssetsDefinition)]
    return dg.Definitions(
        assets=[*assets, *others],
        asset_checks=defs.asset_checks,
        jobs=defs.jobs,
        schedules=defs.schedules,
        sensors=defs.sensors,
        resources=defs.resources,
        executor=defs.executor,
        loggers=defs.loggers,
        metadata=defs.metadata,
    )
