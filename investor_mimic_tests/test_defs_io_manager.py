"""The Parquet IO manager splits range outputs per partition and loads any window back."""

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from investor_mimic.defs.io_manager import PartitionedParquetIOManager

days = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-11")


@dg.asset(
    partitions_def=days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    metadata={"partition_expr": "date"},
)
def daily(context: dg.AssetExecutionContext) -> pd.DataFrame:
    window = context.partition_time_window
    dates = pd.date_range(window.start.date(), window.end.date(), inclusive="left")
    return pd.DataFrame({"date": dates, "value": [d.day for d in dates]})


@dg.asset(ins={"daily": dg.AssetIn(partition_mapping=dg.AllPartitionMapping())})
def total(daily: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"n": [len(daily)], "sum": [int(daily["value"].sum())]})


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
        **{
            "dagster/asset_partition_range_start": "2024-01-02",
            "dagster/asset_partition_range_end": "2024-01-05",
        },
    )
    assert result.success
    files = sorted(p.name for p in (tmp_path / "daily").iterdir())
    assert files == [f"2024-01-0{d}.parquet" for d in range(2, 6)]
    assert pd.read_parquet(tmp_path / "daily" / "2024-01-04.parquet")["value"].tolist() == [4]


def test_unpartitioned_downstream_loads_only_materialized_partitions(tmp_path: Path) -> None:
    _run(
        tmp_path,
        [daily],
        **{
            "dagster/asset_partition_range_start": "2024-01-03",
            "dagster/asset_partition_range_end": "2024-01-06",
        },
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
            tags={
                "dagster/asset_partition_range_start": "2024-01-02",
                "dagster/asset_partition_range_end": "2024-01-03",
            },
        )
