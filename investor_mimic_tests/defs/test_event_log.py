"""The local instance's event log writes Dagster's own rows, a batch at once or not at all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml
from dagster._core.storage.event_log import EventLogRecord, SqliteEventLogStorage
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, AssetKeyTable
from dagster._serdes import deserialize_value

from investor_mimic.defs.event_log import BatchingSqliteEventLogStorage
from investor_mimic.defs.instance import prepare_home
from investor_mimic.defs.stages import quiet_logs, range_tags

days = dg.DailyPartitionsDefinition("2024-01-01", end_date="2024-01-11")


class _Null(dg.IOManager):
    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        pass

    def load_input(self, context: dg.InputContext) -> None:
        return None


@dg.asset(partitions_def=days, backfill_policy=dg.BackfillPolicy.single_run())
def daily() -> None:
    return None


@dg.asset_check(asset=daily, partitions_def=days)
def daily_ok() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


@dg.asset_check(asset=daily, partitions_def=days)
def daily_each(context) -> Iterator[dg.Output[None] | dg.AssetCheckEvaluation]:
    """One result per partition of the run, as the project's frame checks record them
    (``context`` unannotated: Dagster refuses this module's string annotations there)."""
    [output] = context.op_def.output_defs
    yield dg.Output(None, output_name=output.name)
    for partition in context.partition_keys:
        yield dg.AssetCheckEvaluation(
            asset_key=daily.key, check_name="daily_each", passed=True, partition=partition
        )


def _instance(home: Path) -> dg.DagsterInstance:
    prepare_home(home, postgres=False)
    return dg.DagsterInstance.from_config(str(home))


def _run_range(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [daily, daily_ok, daily_each],
        instance=instance,
        resources={"io_manager": _Null()},
        tags=range_tags("2024-01-01", "2024-01-10"),
        run_config=quiet_logs(),
    )


def _materialized(instance: dg.DagsterInstance) -> set[str]:
    return instance.get_materialized_partitions(daily.key)


def _check_rows(instance: dg.DagsterInstance) -> list[tuple[object, ...]]:
    """The checks' execution rows, less what differs between two runs (ids, run, times):
    check, partition, status, and the stored event's type and partition."""
    storage = instance.event_log_storage
    assert isinstance(storage, SqliteEventLogStorage)
    table = AssetCheckExecutionsTable
    with storage.index_connection() as conn:
        rows = conn.execute(
            sa.select(
                table.c.check_name,
                table.c.partition,
                table.c.execution_status,
                table.c.evaluation_event,
                table.c.evaluation_event_storage_id,
            )
        ).all()
    out = []
    for name, partition, status, stored, storage_id in rows:
        event = deserialize_value(stored, dg.EventLogEntry)
        assert event.dagster_event is not None and storage_id is not None
        kind = event.dagster_event.event_type_value
        out.append((name, partition or "", status, kind, event.dagster_event.partition or ""))
    return sorted(out)


def _asset_row(instance: dg.DagsterInstance, run_id: str) -> tuple[object, ...]:
    """The asset's row in the asset keys table, in terms that hold across two runs: the
    latest materialization's partition and run, the last run, and the time's presence."""
    storage = instance.event_log_storage
    assert isinstance(storage, SqliteEventLogStorage)
    table = AssetKeyTable
    with storage.index_connection() as conn:
        [(last, last_run, stamp)] = conn.execute(
            sa.select(
                table.c.last_materialization,
                table.c.last_run_id,
                table.c.last_materialization_timestamp,
            ).where(table.c.asset_key == daily.key.to_string())
        ).all()
    record = deserialize_value(last, EventLogRecord)
    latest = record.event_log_entry
    assert latest.dagster_event is not None
    materialized = instance.fetch_materializations(daily.key, limit=1).records[0]
    return (
        latest.dagster_event.partition,
        latest.run_id == run_id,
        last_run == run_id,
        record.storage_id == materialized.storage_id,
        stamp is not None,
    )


def test_a_sqlite_home_uses_it_where_dagster_keeps_the_event_log(tmp_path: Path) -> None:
    home = prepare_home(tmp_path / "home", postgres=False)
    config = yaml.safe_load((home / "dagster.yaml").read_text())["event_log_storage"]
    assert config["config"]["base_dir"] == f"{home}/history/runs/"  # Dagster's default place
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.event_log_storage) is BatchingSqliteEventLogStorage
    pg = yaml.safe_load((prepare_home(tmp_path / "pg", postgres=True) / "dagster.yaml").read_text())
    assert "event_log_storage" not in pg and "postgres" in pg["storage"]


@pytest.mark.parametrize("batch_size", ["0", "1000"])
def test_a_range_run_stores_what_dagsters_own_storage_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_size: str
) -> None:
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", batch_size)
    with _instance(tmp_path / "ours") as ours:
        result = _run_range(ours)
        assert result.success
        stored = [e.dagster_event_type for e in ours.all_logs(result.run_id)]
        our_checks = _check_rows(ours)
        our_asset_row = _asset_row(ours, result.run_id)
        assert _materialized(ours) == set(days.get_partition_keys())
        # a second process (here: a second instance on the same files) reads it all
        with dg.DagsterInstance.from_config(str(tmp_path / "ours")) as reader:
            assert _materialized(reader) == set(days.get_partition_keys())
    stock_home = tmp_path / "stock"  # Dagster's default SQLite storage
    stock_home.mkdir()
    (stock_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.from_config(str(stock_home)) as stock:
        assert type(stock.event_log_storage) is not BatchingSqliteEventLogStorage
        reference = _run_range(stock)
        expected = [e.dagster_event_type for e in stock.all_logs(reference.run_id)]
        stock_checks = _check_rows(stock)
        stock_asset_row = _asset_row(stock, reference.run_id)
    assert sorted(map(str, stored)) == sorted(map(str, expected))
    assert our_checks == stock_checks
    assert our_asset_row == stock_asset_row == ("2024-01-10", True, True, True, True)
    each = [row for row in our_checks if row[0] == "daily_each"]
    assert [row[1] for row in each] == days.get_partition_keys()  # every day of the range
    assert {row[2:4] for row in each} == {("SUCCEEDED", "ASSET_CHECK_EVALUATION")}


def test_a_batch_lands_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with _instance(tmp_path / "home") as instance:
        result = _run_range(instance)
        events = [
            e
            for e in instance.all_logs(result.run_id)
            if e.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
        ]
        storage = instance.event_log_storage
        assert isinstance(storage, BatchingSqliteEventLogStorage)
        before = len(instance.all_logs(result.run_id))
        real = BatchingSqliteEventLogStorage.store_event
        calls = []

        def fail_third(self: BatchingSqliteEventLogStorage, event: dg.EventLogEntry) -> None:
            calls.append(event)
            if len(calls) == 3:
                raise RuntimeError("disk full")
            real(self, event)

        monkeypatch.setattr(BatchingSqliteEventLogStorage, "store_event", fail_third)
        with pytest.raises(RuntimeError, match="disk full"):
            storage.store_event_batch(events[:5])
        assert len(instance.all_logs(result.run_id)) == before  # the first two rolled back
        monkeypatch.setattr(BatchingSqliteEventLogStorage, "store_event", real)
        storage.store_event_batch(events[:5])
        assert len(instance.all_logs(result.run_id)) == before + 5
        # connections are pooled, yet wiping deletes the files and writing starts afresh
        instance.wipe()
        assert not _materialized(instance)
        assert _run_range(instance).success
        assert _materialized(instance) == set(days.get_partition_keys())


def test_a_new_run_shard_is_the_database_dagster_creates(tmp_path: Path) -> None:
    """Same tables, WAL and alembic stamp as Dagster's own storage makes (ours switches to
    WAL before the tables, Dagster after)."""
    import sqlite3

    def shape(db: Path) -> tuple[object, ...]:
        with sqlite3.connect(db) as conn:
            return (
                conn.execute("PRAGMA journal_mode").fetchone(),
                conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall(),
                conn.execute("SELECT version_num FROM alembic_version").fetchall(),
            )

    ours = BatchingSqliteEventLogStorage(str(tmp_path / "ours"))
    theirs = SqliteEventLogStorage(str(tmp_path / "theirs"))
    with ours.run_connection("run"), theirs.run_connection("run"):
        pass
    assert shape(tmp_path / "ours" / "run.db") == shape(tmp_path / "theirs" / "run.db")
    assert shape(tmp_path / "ours" / "run.db")[0] == ("wal",)
