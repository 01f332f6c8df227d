"""The Parquet IO manager splits range outputs per partition and loads any window back."""

from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from investor_mimic.defs import io_manager
from investor_mimic.defs.io_manager import PartitionedParquetIOManager
from investor_mimic.defs.stages import range_tags
from investor_mimic_tests.helpers.daily_assets import daily, days, total


def _run(
    tmp_path: Path, selection: list[dg.AssetsDefinition], **tags: str
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [daily, total],
        selection=selection,
        resources={"io_manager": PartitionedParquetIOManager(base_path=str(tmp_path))},
        tags=tags,
    )


def test_range_output_is_split_into_one_file_per_partition(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        [daily],
        **range_tags("2024-01-02", "2024-01-05"),
    )
    assert result.success
    files = sorted(p.name for p in (tmp_path / "daily").iterdir())
    assert files == [f"2024-01-0{d}.parquet" for d in range(2, 6)]
    assert pd.read_parquet(tmp_path / "daily" / "2024-01-04.parquet")["value"].tolist() == [4]


def test_unpartitioned_downstream_loads_only_materialized_partitions(tmp_path: Path) -> None:
    _run(
        tmp_path,
        [daily],
        **range_tags("2024-01-03", "2024-01-06"),
    )
    result = _run(tmp_path, [total])
    out = result.output_for_node("total")
    assert out["n"].tolist() == [4]
    assert out["sum"].tolist() == [3 + 4 + 5 + 6]


def test_range_output_without_partition_expr_is_an_error(tmp_path: Path) -> None:
    @dg.asset(partitions_def=days, backfill_policy=dg.BackfillPolicy.single_run())
    def undated() -> pd.DataFrame:
        return pd.DataFrame({"x": [1]})

    with pytest.raises(Exception, match="partition_expr"):
        dg.materialize(
            [undated],
            resources={"io_manager": PartitionedParquetIOManager(base_path=str(tmp_path))},
            tags=range_tags("2024-01-02", "2024-01-03"),
        )


def test_partition_labels_follow_dagsters_multi_partition_key_order() -> None:
    from investor_mimic.defs.io_manager import partition_labels

    frame = pd.DataFrame(
        {
            "period": pd.to_datetime(["2023-03-31", "2023-06-30"]),
            "cik": ["0000000001", "0000000002"],
        }
    )
    labels = partition_labels(frame, {"quarter": "period", "filer": "cik"}).tolist()
    expected = [
        str(dg.MultiPartitionKey({"quarter": "2023-03-31", "filer": "0000000001"})),
        str(dg.MultiPartitionKey({"quarter": "2023-06-30", "filer": "0000000002"})),
    ]
    assert labels == expected
    assert partition_labels(frame, "period").tolist() == ["2023-03-31", "2023-06-30"]


quarters = dg.StaticPartitionsDefinition(["2023-03-31", "2023-06-30"])
filers = dg.StaticPartitionsDefinition(["A", "B"])
grid = dg.MultiPartitionsDefinition({"quarter": quarters, "filer": filers})


@dg.asset(
    partitions_def=grid,
    backfill_policy=dg.BackfillPolicy.single_run(),
    metadata={"partition_expr": {"quarter": "period", "filer": "who"}},
)
def holdings(context: dg.AssetExecutionContext) -> pd.DataFrame:
    rows = []
    for key in context.partition_keys:
        dims = grid.get_partition_key_from_str(key).keys_by_dimension
        if dims["filer"] == "A":  # filer B files nothing: its partitions are empty files
            rows.append({"period": pd.Timestamp(dims["quarter"]), "who": "A", "n": 1})
    return pd.DataFrame(rows)


def test_multi_dimensional_range_is_split_per_partition(tmp_path: Path) -> None:
    result = dg.materialize(
        [holdings],
        resources={"io_manager": PartitionedParquetIOManager(base_path=str(tmp_path))},
        tags=range_tags("A|2023-03-31", "B|2023-06-30"),
    )
    assert result.success
    files = sorted(p.name for p in (tmp_path / "holdings").iterdir())
    assert files == [
        "A__2023-03-31.parquet",
        "A__2023-06-30.parquet",
        "B__2023-03-31.parquet",
        "B__2023-06-30.parquet",
    ]
    assert len(pd.read_parquet(tmp_path / "holdings" / "A__2023-06-30.parquet")) == 1
    assert pd.read_parquet(tmp_path / "holdings" / "B__2023-06-30.parquet").empty


@dg.asset_check(asset=daily, partitions_def=days, blocking=True)
def daily_has_rows(daily: pd.DataFrame) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=len(daily) > 0, metadata={"rows": len(daily)})


def test_a_check_in_the_same_run_gets_the_output_without_rereading_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_reads(*args: object, **kwargs: object) -> pa.Table:
        raise AssertionError("partition files were re-read")

    monkeypatch.setattr(io_manager, "_read_table", no_reads)
    result = dg.materialize(
        [daily, daily_has_rows],
        resources={"io_manager": PartitionedParquetIOManager(base_path=str(tmp_path))},
        tags=range_tags("2024-01-02", "2024-01-05"),
    )
    assert result.success
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.passed and evaluation.metadata["rows"].value == 4


@pytest.fixture
def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> io_manager._ReadCache:
    """An empty read cache from now on (as in a process that wrote none of the files)."""
    cache = io_manager._ReadCache(io_manager.READ_CACHE_BYTES)
    monkeypatch.setattr(io_manager, "_READ_CACHE", cache)
    return cache


def _counting_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the IO manager reads from disk from now on."""
    reads: list[str] = []
    read = io_manager._read_table

    def counted(path: str, fs: object = None) -> pa.Table:
        reads.append(Path(path).name)
        return read(path)

    monkeypatch.setattr(io_manager, "_read_table", counted)
    return reads


def test_a_later_run_in_the_writing_process_reads_none_of_its_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_cache: io_manager._ReadCache
) -> None:
    _run(tmp_path, [daily], **range_tags("2024-01-02", "2024-01-04"))
    _run(tmp_path, [daily], **range_tags("2024-01-05", "2024-01-05"))  # one-partition write
    reads = _counting_reads(monkeypatch)
    loaded = _run(tmp_path, [total]).output_for_node("total")
    assert reads == []
    on_disk = pd.concat(pd.read_parquet(p) for p in sorted((tmp_path / "daily").glob("*")))
    assert loaded["sum"].tolist() == [int(on_disk["value"].sum())] == [2 + 3 + 4 + 5]


def test_a_range_too_big_for_the_cache_is_written_but_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_cache: io_manager._ReadCache
) -> None:
    monkeypatch.setattr(io_manager, "READ_CACHE_BYTES", 4)  # a quarter of it: 1 byte
    _run(tmp_path, [daily], **range_tags("2024-01-02", "2024-01-04"))
    assert len(fresh_cache._tables) == 0
    reads = _counting_reads(monkeypatch)
    assert _run(tmp_path, [total]).output_for_node("total")["sum"].tolist() == [2 + 3 + 4]
    assert len(reads) == 3


def test_a_kept_table_equals_what_parquet_gives_back(
    tmp_path: Path, fresh_cache: io_manager._ReadCache
) -> None:
    """The write-through cache is only right while Parquet round-trips the Arrow table
    exactly: every dtype the assets store, nulls, and a partition whose strings are all
    null (Arrow's null type when written alone)."""
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-02", "2024-01-02", "2024-01-03"]),
            "ticker": pd.array(["AAA", None, "CCC"], dtype="str"),
            "note": [None, None, "x"],
            "close": [1.5, float("nan"), 3.25],
            "volume": pd.array([10, None, 30], dtype="Int64"),
            "shares": [1, 2, 3],
            "flag": [True, False, True],
            "sector": pd.Categorical(["a", "b", "a"]),
            "filed": pd.to_datetime(["2024-01-01", None, "2024-01-03"], utc=True),
        }
    )
    manager = PartitionedParquetIOManager(base_path=str(tmp_path))
    for i, part in enumerate((frame, frame.iloc[:2], frame.iloc[2:])):
        path = str(tmp_path / f"{i}.parquet")
        manager._write(part.drop(columns="sector"), path)
        kept = fresh_cache._tables[path][1]
        assert kept.equals(io_manager._read_table(path), check_metadata=True), part.dtypes
        assert kept.to_pandas().equals(pd.read_parquet(path))
        # what Parquet changes is not kept: a categorical's strings, seconds timestamps
        for changed in (part, part.assign(date=part["date"].astype("datetime64[s]"))):
            manager._write(changed, path)
            assert path not in fresh_cache._tables
            assert not pa.Table.from_pandas(changed).equals(io_manager._read_table(path))


def test_a_later_run_reuses_files_read_before_until_they_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(tmp_path, [daily], **range_tags("2024-01-02", "2024-01-04"))
    monkeypatch.setattr(io_manager, "_READ_CACHE", io_manager._ReadCache(2**20))  # new process
    reads = _counting_reads(monkeypatch)
    first = _run(tmp_path, [total]).output_for_node("total")
    assert len(reads) == 3 and first["sum"].tolist() == [2 + 3 + 4]
    assert _run(tmp_path, [total]).output_for_node("total").equals(first)
    assert len(reads) == 3  # the second run read no file

    # another writer replaces a partition (same size, as fast as it can): read again
    path = tmp_path / "daily" / "2024-01-03.parquet"
    frame = pd.read_parquet(path)
    frame["value"] = 30
    frame.to_parquet(tmp_path / "new.parquet", index=False)
    (tmp_path / "new.parquet").rename(path)
    assert _run(tmp_path, [total]).output_for_node("total")["sum"].tolist() == [2 + 30 + 4]
    assert reads[3:] == ["2024-01-03.parquet"]

    # this process rewrites one: what it wrote loads, without a read
    _run(tmp_path, [daily], **range_tags("2024-01-04", "2024-01-04"))
    assert _run(tmp_path, [total]).output_for_node("total")["sum"].tolist() == [2 + 30 + 4]
    assert reads[4:] == []


def test_the_read_cache_keeps_no_more_than_its_bytes(tmp_path: Path) -> None:
    table = pa.table({"x": list(range(1000))})
    paths = []
    for i in range(3):
        pq.write_table(table, tmp_path / f"{i}.parquet")
        paths.append(str(tmp_path / f"{i}.parquet"))
    cache = io_manager._ReadCache(max_bytes=2 * pq.read_table(paths[0]).nbytes)
    for path in paths:
        stamp = cache.stamp(path)
        assert stamp is not None and cache.read(path, stamp).equals(table)
    assert sorted(cache._tables) == paths[1:]  # the least recently used went first
    assert cache.stamp(str(tmp_path / "missing.parquet")) is None
