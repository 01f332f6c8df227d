"""A frame check records its verdict on every partition a run covered, never "Skipped".

Judged by what the UI reads: the instance's per-partition check records (status, and
whether each targets the partition's latest materialization), after real runs through
the project's Parquet IO manager.
"""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from investor_mimic.defs.checks import frame_check
from investor_mimic.defs.io_manager import PartitionedParquetIOManager
from investor_mimic.defs.stages import range_tags

days = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-01")
#: Days whose rows the asset writes negative; the check requires positive values.
BAD_DAYS: set[str] = set()


@dg.asset(
    partitions_def=days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    metadata={"partition_expr": "date"},
)
def daily(context: dg.AssetExecutionContext) -> pd.DataFrame:
    keys = context.partition_keys
    return pd.DataFrame(
        {
            "date": pd.to_datetime(keys),
            "x": [-1.0 if k in BAD_DAYS else 1.0 for k in keys],
        }
    )


@frame_check(daily, description="x > 0 on every row")
def positive(frame: pd.DataFrame) -> dg.AssetCheckResult:
    bad = int((frame["x"] <= 0).sum())
    return dg.AssetCheckResult(passed=bad == 0, metadata={"bad_rows": bad})


@frame_check(daily, description="at most 3 rows in a run", blocking=False)
def small(frame: pd.DataFrame) -> dg.AssetCheckResult:
    """A rule over the whole run: no single partition breaks it by itself."""
    return dg.AssetCheckResult(passed=len(frame) <= 3)


@dg.asset
def unpartitioned() -> pd.DataFrame:
    return pd.DataFrame({"x": [1.0]})


@frame_check(unpartitioned, description="x > 0")
def unpartitioned_positive(frame: pd.DataFrame) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=bool((frame["x"] > 0).all()))


POSITIVE = dg.AssetCheckKey(daily.key, "positive")
SMALL = dg.AssetCheckKey(daily.key, "small")


@pytest.fixture()
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        yield instance


def run(
    tmp_path: Path, instance: dg.DagsterInstance, *parts: object, **kwargs: object
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        list(parts),
        instance=instance,
        resources={"io_manager": PartitionedParquetIOManager(base_path=str(tmp_path / "a"))},
        raise_on_error=False,
        **kwargs,  # type: ignore[arg-type]
    )


def statuses(instance: dg.DagsterInstance, key: dg.AssetCheckKey) -> dict[str, tuple[str, bool]]:
    """partition -> (latest execution status, whether it targets the latest materialization)."""
    return {
        str(info.partition_key): (info.latest_execution_status.value, info.is_current)
        for info in instance.event_log_storage.get_asset_check_partition_info([key])
    }


def test_a_range_run_records_the_check_on_every_partition_it_covered(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    BAD_DAYS.clear()
    result = run(tmp_path, instance, daily, positive, tags=range_tags("2024-01-02", "2024-01-05"))

    assert result.success
    evaluations = [e for e in result.get_asset_check_evaluations() if e.check_name == "positive"]
    assert sorted(e.partition for e in evaluations) == [
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
        "2024-01-05",
    ]
    assert all(e.passed and e.target_materialization_data for e in evaluations)
    assert statuses(instance, POSITIVE) == {
        day: ("SUCCEEDED", True) for day in ("2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05")
    }
    # each targets its partition's materialization exactly as Dagster's records give it
    records = {
        r.partition_key: r for r in instance.fetch_materializations(daily.key, limit=10).records
    }
    for e in evaluations:
        target, record = e.target_materialization_data, records[e.partition]
        assert target is not None
        assert (target.storage_id, target.run_id) == (record.storage_id, record.run_id)
        assert target.timestamp == pytest.approx(record.timestamp, abs=1e-6)


def test_a_failing_range_marks_the_partitions_that_fail_and_blocks_downstream(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    BAD_DAYS.clear()
    BAD_DAYS.add("2024-01-03")
    try:
        result = run(
            tmp_path, instance, daily, positive, tags=range_tags("2024-01-02", "2024-01-04")
        )
    finally:
        BAD_DAYS.clear()

    assert not result.success  # blocking: the step fails
    assert statuses(instance, POSITIVE) == {
        "2024-01-02": ("SUCCEEDED", True),
        "2024-01-03": ("FAILED", True),
        "2024-01-04": ("SUCCEEDED", True),
    }
    [failed] = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert failed.metadata["bad_rows"].value == 1  # its own rows, not the range's


def test_a_failure_no_single_partition_shows_fails_every_partition_of_the_run(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    BAD_DAYS.clear()
    result = run(tmp_path, instance, daily, small, tags=range_tags("2024-01-02", "2024-01-06"))

    assert result.success  # not blocking
    assert {s for s, _ in statuses(instance, SMALL).values()} == {"FAILED"}
    assert len(statuses(instance, SMALL)) == 5


def test_single_partition_and_unpartitioned_runs_record_one_result(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    BAD_DAYS.clear()
    one = run(tmp_path, instance, daily, positive, partition_key="2024-01-08")
    plain = run(tmp_path, instance, unpartitioned, unpartitioned_positive)

    assert one.success and plain.success
    assert [(e.partition, e.passed) for e in one.get_asset_check_evaluations()] == [
        ("2024-01-08", True)
    ]
    assert [(e.partition, e.passed) for e in plain.get_asset_check_evaluations()] == [(None, True)]


def test_a_later_materialization_makes_the_partitions_result_stale(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """Each result targets its own partition's materialization, as Dagster's would."""
    BAD_DAYS.clear()
    run(tmp_path, instance, daily, positive, tags=range_tags("2024-01-02", "2024-01-03"))
    run(tmp_path, instance, daily, partition_key="2024-01-03")  # the asset alone, no check

    assert statuses(instance, POSITIVE) == {
        "2024-01-02": ("SUCCEEDED", True),
        "2024-01-03": ("SUCCEEDED", False),
    }
