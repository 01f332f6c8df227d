"""Metadata shared by every asset: column schemas, counts, coverage, a preview table."""

from __future__ import annotations

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
    frame: pd.DataFrame, *, date_col: str | None = None, entity_col: str | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"dagster/row_count": len(frame), "preview": preview(frame)}
    if date_col and len(frame):
        meta["first_date"] = str(pd.Timestamp(frame[date_col].min()).date())
        meta["last_date"] = str(pd.Timestamp(frame[date_col].max()).date())
        meta["dates_with_rows"] = int(frame[date_col].nunique())
    if entity_col:
        meta[f"distinct_{entity_col}s"] = int(frame[entity_col].nunique())
    return meta
