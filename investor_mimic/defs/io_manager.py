"""Parquet asset storage, one file per partition, that understands partition ranges.

Why not the default pickling IO manager: single-run backfills hand an asset a whole
range of trading days, and downstream assets read windows of upstream partitions.
Here an output covering many partitions is split by the asset's ``partition_expr``
metadata column (the date column) into one Parquet file per partition key, so any later
run can load exactly the partitions it maps to, and files stay readable by any tool.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import PrivateAttr


def _safe(key: str) -> str:
    return key.replace("|", "__").replace("/", "_")


def partition_labels(frame: pd.DataFrame, expr: str | dict[str, str]) -> pd.Series:
    """The partition key of each row: a date column (``YYYY-MM-DD``), or, for
    multi-dimensional partitions, ``{dimension: column}`` joined in Dagster's key order
    (dimension names sorted, ``|``-separated, as :class:`dagster.MultiPartitionKey` does).
    """

    def text(column: str) -> pd.Series:
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            return values.dt.strftime("%Y-%m-%d")
        return values.astype(str)

    if isinstance(expr, str):
        return text(expr)
    parts = [text(expr[dim]) for dim in sorted(expr)]
    labels = parts[0]
    for part in parts[1:]:
        labels = labels + "|" + part
    return labels


class PartitionedParquetIOManager(dg.ConfigurableIOManager):
    """Stores DataFrames as ``base_path/<asset>/<partition>.parquet`` (or ``<asset>.parquet``)."""

    base_path: str
    _last_output: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], pd.DataFrame] | None = (
        PrivateAttr(default=None)
    )

    def _remember(self, run_id: str, key: dg.AssetKey, keys: list[str], obj: pd.DataFrame) -> None:
        """Keep the latest output in memory: the asset's checks run next in the same run
        and would otherwise re-read every partition file it just wrote."""
        self._last_output = ((run_id, tuple(key.path), tuple(keys)), obj)

    def _recall(self, context: dg.InputContext, keys: list[str]) -> pd.DataFrame | None:
        upstream = context.upstream_output
        if self._last_output is None or upstream is None:
            return None
        ident, obj = self._last_output
        return (
            obj if ident == (upstream.run_id, tuple(context.asset_key.path), tuple(keys)) else None
        )

    def _asset_dir(self, key: dg.AssetKey) -> Path:
        return Path(self.base_path).joinpath(*key.path)

    def _file(self, key: dg.AssetKey, partition: str | None) -> Path:
        if partition is None:
            return self._asset_dir(key).with_suffix(".parquet")
        return self._asset_dir(key) / f"{_safe(partition)}.parquet"

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        if obj is None:
            return
        if not isinstance(obj, pd.DataFrame):
            raise TypeError(
                f"{context.asset_key.to_user_string()}: expected a DataFrame, got {type(obj)}"
            )
        key = context.asset_key
        keys = list(context.asset_partition_keys) if context.has_asset_partitions else []
        self._remember(context.run_id, key, keys, obj)
        if not context.has_asset_partitions:
            path = self._file(key, None)
            path.parent.mkdir(parents=True, exist_ok=True)
            obj.to_parquet(path, index=False)
            return
        self._asset_dir(key).mkdir(parents=True, exist_ok=True)
        if len(keys) == 1:
            obj.to_parquet(self._file(key, keys[0]), index=False)
            return
        expr = (context.definition_metadata or {}).get("partition_expr")
        expr = getattr(expr, "value", expr)  # raw, or wrapped in a MetadataValue
        if not expr:
            raise ValueError(
                f"{key.to_user_string()}: a multi-partition output needs 'partition_expr' metadata"
            )
        labels = partition_labels(obj, expr)
        groups: dict[str, pd.DataFrame] = {
            str(label): part for label, part in obj.groupby(labels.to_numpy(), sort=False)
        }
        for partition in keys:
            part = groups[partition] if partition in groups else obj.iloc[0:0]
            part.to_parquet(self._file(key, partition), index=False)

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        key = context.asset_key
        keys = list(context.asset_partition_keys) if context.has_asset_partitions else []
        recalled = self._recall(context, keys)
        if recalled is not None:
            return recalled
        if not context.has_asset_partitions:
            return pd.read_parquet(self._file(key, None))
        paths = [self._file(key, k) for k in keys]
        existing = [p for p in paths if p.exists()]
        if len(keys) == 1 and not existing:
            raise FileNotFoundError(
                f"{key.to_user_string()} partition {keys[0]} has not been materialized"
            )
        if len(existing) < len(paths):
            context.log.info(
                f"{key.to_user_string()}: loading {len(existing)} of {len(paths)} mapped "
                "partitions (the rest are not materialized yet)"
            )
        frames = [pd.read_parquet(p) for p in existing]
        frames = [f for f in frames if len(f)] or frames[:1]
        if not frames:
            raise FileNotFoundError(f"{key.to_user_string()}: no materialized partitions to load")
        return pd.concat(frames, ignore_index=True)
