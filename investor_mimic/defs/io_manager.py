"""Parquet asset storage, one file per partition, that understands partition ranges.

Why not the default pickling IO manager: single-run backfills hand an asset a whole
range of trading days, and downstream assets read windows of upstream partitions.
Here an output covering many partitions is split by the asset's ``partition_expr``
metadata column (the date column) into one Parquet file per partition key, so any later
run can load exactly the partitions it maps to, and files stay readable by any tool.

Storage is a pyarrow filesystem: a local folder by default, or ``s3://bucket/prefix``
(with ``s3_endpoint_url`` for S3-compatible servers). S3 credentials come from the
standard AWS environment variables, never from configuration.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from cachetools import LRUCache
from pydantic import PrivateAttr

#: Arrow bytes of local Parquet files a process keeps in memory (see :class:`_ReadCache`).
READ_CACHE_BYTES = 256 * 2**20


def _safe(key: str) -> str:
    return key.replace("|", "__").replace("/", "_")


def partition_expr(metadata: Mapping[str, Any], asset: dg.AssetKey) -> str | dict[str, str]:
    """The ``partition_expr`` in an asset's definition metadata (raw, or wrapped in a
    MetadataValue): which column(s) place a row in its partition. Raises when missing."""
    expr = metadata.get("partition_expr")
    expr = getattr(expr, "value", expr)
    if not expr:
        raise ValueError(
            f"{asset.to_user_string()}: splitting a range into partitions needs "
            "'partition_expr' metadata"
        )
    return cast("str | dict[str, str]", expr)


def partition_labels(frame: pd.DataFrame, expr: str | dict[str, str]) -> pd.Series:
    """The partition key of each row: a date column (``YYYY-MM-DD``), or, for
    multi-dimensional partitions, ``{dimension: column}`` joined in Dagster's key order
    (dimension names sorted, ``|``-separated, as :class:`dagster.MultiPartitionKey` does).
    """

    def text(column: str) -> pd.Series:
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            # each distinct day formatted once, not once per row (a range has few days)
            codes, days = pd.factorize(values)
            labels = np.array([*pd.DatetimeIndex(days).strftime("%Y-%m-%d"), None], dtype=object)
            return pd.Series(labels[codes], index=frame.index, dtype=object)  # -1 (NaT): None
        return values.astype(str)

    if isinstance(expr, str):
        return text(expr)
    parts = [text(expr[dim]) for dim in sorted(expr)]
    labels = parts[0]
    for part in parts[1:]:
        labels = labels + "|" + part
    return labels


#: What says a local file is unchanged: inode, modification time (ns) and size.
_Stamp = tuple[int, int, int]


class _ReadCache:
    """The tables of local Parquet files this process has read, kept while each file is
    unchanged, least recently used first out past ``max_bytes``.

    Why: a range run loads one file per partition, and the demo, the benchmarks and the
    research runs load the same ranges again and again in one process (each of an
    asset's checks, then every downstream asset): opening a Parquet file costs about a
    millisecond, ten times what its bytes cost. A file is unchanged while its inode,
    modification time and size are: every local write renames a new file over the old
    (:meth:`PartitionedParquetIOManager._write`), so a rewrite by another process gives
    the path a new inode; only a rewrite that reuses the freed inode within the clock's
    resolution (a few ms) at the same size would go unseen.

    This process's writes fill the cache too, with the table each one stored (stamped
    after its rename): Parquet keeps the Arrow schema, so reading the file back gives
    an equal table, schema metadata included (tested per dtype; all 5,934 writes of a
    demo run compared equal). So the demo's and the evening's downstream assets read
    none of the files their upstream just wrote (about 0.75 ms a file, 1,258 files per
    daily asset in the demo).
    """

    def __init__(self, max_bytes: int) -> None:
        # entries: (stamp, table, bytes), the bytes counted once (a slice's are not free)
        self._tables: LRUCache[str, tuple[_Stamp, pa.Table, int]] = LRUCache(
            maxsize=max_bytes, getsizeof=lambda entry: entry[2]
        )
        self._lock = threading.Lock()

    @staticmethod
    def stamp(path: str) -> _Stamp | None:
        """The file's stamp, or None when it does not exist."""
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def forget(self, path: str) -> None:
        with self._lock:
            self._tables.pop(path, None)

    def keep(self, path: str, table: pa.Table, nbytes: int) -> None:
        """``table`` (``nbytes`` in memory), whose schema :func:`keepable` allows, was just
        written to ``path``: keep it as the file's content."""
        stamp = self.stamp(path)
        if stamp is None:
            self.forget(path)
        else:
            self._put(path, (stamp, table, nbytes))

    def read(self, path: str, stamp: _Stamp) -> pa.Table:
        """The table at ``path`` whose stamp was just taken as ``stamp``."""
        with self._lock:
            entry = self._tables.get(path)
        if entry is not None and entry[0] == stamp:
            return entry[1]
        table = _read_table(path)
        self._put(path, (stamp, table, table.nbytes))
        return table

    def _put(self, path: str, entry: tuple[_Stamp, pa.Table, int]) -> None:
        """Keep ``entry`` for ``path`` unless it alone is larger than the cache."""
        stamp, table, nbytes = entry
        with self._lock:
            if nbytes > self._tables.maxsize:
                self._tables.pop(path, None)
            else:
                self._tables[path] = (stamp, table, max(nbytes, 1))


_READ_CACHE = _ReadCache(READ_CACHE_BYTES)


_ROUND_TRIPS = (
    pa.types.is_boolean,
    pa.types.is_integer,
    pa.types.is_float32,
    pa.types.is_float64,
    pa.types.is_string,
    pa.types.is_large_string,
    pa.types.is_date32,
    pa.types.is_null,
)


def keepable(schema: pa.Schema) -> bool:
    """Whether Parquet gives every column of ``schema`` back as the same Arrow type, so a
    written table may stand for its file. Not so: seconds timestamps (back in
    milliseconds), categoricals (their large strings come back plain), and the types no
    asset stores, which are not checked."""
    return all(
        f.type.unit != "s"
        if pa.types.is_timestamp(f.type)
        else any(t(f.type) for t in _ROUND_TRIPS)
        for f in schema
    )


def _read_table(path: str, fs: pafs.FileSystem | None = None) -> pa.Table:
    """One Parquet file as Arrow. ``ParquetFile`` rather than ``pq.read_table``, which
    builds a dataset around each file: half the time of a small file's read."""
    if fs is None:
        return pq.ParquetFile(path).read()
    with fs.open_input_file(path) as source:
        return pq.ParquetFile(source).read()


class PartitionedParquetIOManager(dg.ConfigurableIOManager):
    """Stores DataFrames as ``base_path/<asset>/<partition>.parquet`` (or ``<asset>.parquet``)."""

    base_path: str
    s3_endpoint_url: str | None = None
    _fs: tuple[pafs.FileSystem, str] | None = PrivateAttr(default=None)
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

    def _filesystem(self) -> tuple[pafs.FileSystem, str]:
        """The filesystem and the root path inside it (created once per resource)."""
        if self._fs is None:
            if self.base_path.startswith("s3://"):
                options = {}
                if self.s3_endpoint_url:
                    scheme, _, host = self.s3_endpoint_url.partition("://")
                    options = {"endpoint_override": host, "scheme": scheme}
                root = self.base_path.removeprefix("s3://").rstrip("/")
                self._fs = (pafs.S3FileSystem(**options), root)
            else:
                self._fs = (pafs.LocalFileSystem(), str(Path(self.base_path).resolve()))
        return self._fs

    def _asset_dir(self, key: dg.AssetKey) -> str:
        return "/".join([self._filesystem()[1], *key.path])

    def _file(self, key: dg.AssetKey, partition: str | None) -> str:
        if partition is None:
            return f"{self._asset_dir(key)}.parquet"
        return f"{self._asset_dir(key)}/{_safe(partition)}.parquet"

    def _write(
        self, frame: pd.DataFrame | pa.Table, path: str, *, kept_bytes: int | None = None
    ) -> None:
        """Whole file or none: locally to a temporary name, then renamed over ``path`` (an
        interrupted run leaves no truncated Parquet); an S3 PUT is atomic by itself.

        A local write leaves the table in the read cache when it is :func:`keepable`,
        counted as its own bytes; ``kept_bytes``: the caller has decided, the table
        counts as that (0: not kept)."""
        table = _table(frame) if isinstance(frame, pd.DataFrame) else frame
        fs = self._filesystem()[0]
        if not isinstance(fs, pafs.LocalFileSystem):  # S3 has no folders: no marker objects
            pq.write_table(table, path, filesystem=fs)
            return
        fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        _READ_CACHE.forget(path)
        tmp = f"{path}.{os.getpid()}.tmp"
        try:
            pq.write_table(table, tmp, filesystem=fs)
            fs.move(tmp, path)
        except BaseException:
            if fs.get_file_info(tmp).type != pafs.FileType.NotFound:
                fs.delete_file(tmp)
            raise
        if kept_bytes is None and keepable(table.schema):
            kept_bytes = table.nbytes
        if kept_bytes:
            _READ_CACHE.keep(path, table, kept_bytes)

    def _local(self) -> bool:
        return isinstance(self._filesystem()[0], pafs.LocalFileSystem)

    def _read(self, path: str) -> pd.DataFrame:
        files = self._existing([path])
        if not files:
            raise FileNotFoundError(path)
        return _frame(self._read_tables(files)[0])

    def _existing(self, paths: list[str]) -> list[tuple[str, _Stamp | None]]:
        """The files of ``paths`` that exist, in order, each with its stamp (local files;
        None elsewhere)."""
        if self._local():
            return [(p, stamp) for p in paths if (stamp := _ReadCache.stamp(p))]
        infos = self._filesystem()[0].get_file_info(paths)
        return [(i.path, None) for i in infos if i.type != pafs.FileType.NotFound]

    def _read_tables(self, files: list[tuple[str, _Stamp | None]]) -> list[pa.Table]:
        """Files that :meth:`_existing` found, as Arrow: local ones (stamped) through the
        process's read cache."""
        fs = self._filesystem()[0]
        return [_READ_CACHE.read(p, s) if s else _read_table(p, fs) for p, s in files]

    def read_asset(self, key: dg.AssetKey, partition: str | None = None) -> pd.DataFrame:
        """An asset's stored value (one partition of a partitioned asset), outside a run
        (summaries, notebooks)."""
        return self._read(self._file(key, partition))

    def write_asset(
        self, key: dg.AssetKey, frame: pd.DataFrame, partition: str | None = None
    ) -> None:
        """Store a value where a run would, outside a run (seeding history computed by the
        pure code, e.g. weights fitted before a deployment's first evening)."""
        self._write(frame, self._file(key, partition))

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
            self._write(obj, self._file(key, None))
            return
        if len(keys) == 1:
            self._write(obj, self._file(key, keys[0]))
            return
        expr = partition_expr(context.definition_metadata or {}, key)
        # One Arrow conversion for the whole range, then a slice per partition (rows keep
        # their order within a partition): converting each partition's frame on its own
        # cost more than writing it.
        labels = np.asarray(partition_labels(obj, expr).to_numpy(), dtype=str)
        order = np.argsort(labels, kind="stable")
        table = _table(obj.iloc[order])
        sorted_labels = labels[order]
        starts = np.searchsorted(sorted_labels, keys, side="left")
        ends = np.searchsorted(sorted_labels, keys, side="right")
        # The slices share the range's buffers: cached, any one of them keeps the whole
        # range in memory, so only a range well within the cache's bytes is kept. Each
        # counts as its share of the rows (a slice's own nbytes is not free to compute).
        keep = table.nbytes <= READ_CACHE_BYTES // 4 and keepable(table.schema)
        per_row = table.nbytes / max(table.num_rows, 1) if keep else 0.0
        for partition, start, end in zip(keys, starts, ends, strict=True):
            self._write(
                table.slice(start, end - start),
                self._file(key, partition),
                kept_bytes=int(per_row * (end - start)) + 1 if keep else 0,
            )

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        key = context.asset_key
        keys = list(context.asset_partition_keys) if context.has_asset_partitions else []
        recalled = self._recall(context, keys)
        if recalled is not None:
            return recalled
        if not context.has_asset_partitions:
            return self._read(self._file(key, None))
        paths = [self._file(key, k) for k in keys]
        existing = self._existing(paths)
        if len(keys) == 1 and not existing:
            raise FileNotFoundError(
                f"{key.to_user_string()} partition {keys[0]} has not been materialized"
            )
        if len(existing) < len(paths):
            context.log.info(
                f"{key.to_user_string()}: loading {len(existing)} of {len(paths)} mapped "
                "partitions (the rest are not materialized yet)"
            )
        tables = self._read_tables(existing)
        tables = [t for t in tables if t.num_rows] or tables[:1]
        if not tables:
            raise FileNotFoundError(f"{key.to_user_string()}: no materialized partitions to load")
        # One conversion to pandas for all partitions, not one per file. A partition whose
        # string column is all null stored Arrow's null type; ``promote_options`` unifies it
        # with the other partitions' string type (pandas 3's ``str`` dtype, as one file
        # reads back, where concatenating frames used to give ``object``).
        return _frame(pa.concat_tables(tables, promote_options="default"))


def _table(frame: pd.DataFrame) -> pa.Table:
    """``frame`` as Arrow, without its index (as ``DataFrame.to_parquet(index=False)``)."""
    return pa.Table.from_pandas(frame, preserve_index=False)


def _frame(table: pa.Table) -> pd.DataFrame:
    """A stored table back as the frame that was written (as ``pandas.read_parquet``)."""
    return table.to_pandas()
