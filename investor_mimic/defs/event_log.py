"""The local instance's event log: Dagster's SQLite event log, with batches written at once.

Why: a single-run backfill over five years of trading days stores one event per partition
for every materialization, planned materialization and check result — about 14 per
trading day for the daily sources. Dagster's :class:`SqliteEventLogStorage` opens a new
SQLAlchemy engine and a new SQLite connection for every write, and writes a batch of
events (``store_event_batch``, used when ``DAGSTER_EVENT_BATCH_SIZE`` is set) one event,
one transaction at a time; only PostgreSQL's storage writes a batch at once. Measured on
this project's demo, that bookkeeping, not our code, was most of the daily sources' time.

:class:`BatchingSqliteEventLogStorage` changes how it writes, never what: the rows are
Dagster's own (each event goes through :meth:`SqliteEventLogStorage.store_event`),

* a batch is written in one transaction per database (the run's shard and the index), so
  it lands whole or not at all — Dagster then stores the batch again event by event;
* within a batch, the asset's row in the asset keys table (its latest materialization)
  is updated once per run of events of one type on one asset, not once per partition:
  the earlier updates would be overwritten in the same transaction;
* connections are pooled per database for the few most recent runs instead of opened
  and closed per event. Other processes (the UI's webserver and daemon) keep reading and
  writing the same files: SQLite's locking is per transaction, not per connection;
* an event's row is inserted through one prepared statement, not an insert built with
  its values (SQLAlchemy then builds, cache-keys and looks up each one);
* a check's rows are written with the event serialised once: Dagster serialises a planned
  check again for each of its partitions' rows (1,258 times per check on the demo's five
  years) and each check result again for its row, after serialising it for the event
  table; and a check result updates its row with one prepared statement instead of a
  statement built, cache-keyed and compiled per result.

It is configured as ``event_log_storage`` in the ``dagster.yaml`` that
:mod:`investor_mimic.defs.instance` writes for a SQLite home, at the directory Dagster's
default uses, so an existing home keeps its history.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from functools import partial
from typing import Any

from dagster import AssetCheckEvaluation, EventLogEntry
from dagster._core.errors import DagsterInvariantViolationError
from dagster._core.events import (
    ASSET_CHECK_EVENTS,
    ASSET_EVENTS,
    EVENT_TYPE_TO_PIPELINE_RUN_STATUS,
    AssetCheckEvaluationPlanned,
)
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.schema import (
    AssetCheckExecutionsTable,
    SqlEventLogStorageTable,
)
from dagster._core.storage.sqlite import create_db_conn_string
from dagster._core.storage.sqlite_storage import SqliteStorageConfig
from dagster._serdes import ConfigurableClassData, serialize_value
from sqlalchemy import and_, bindparam, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

#: Dagster hands a storage up to this many events at once (a range's materializations,
#: its planned events) when the variable is set; unset, it never batches.
BATCH_SIZE_VARIABLE = "DAGSTER_EVENT_BATCH_SIZE"
DEFAULT_BATCH_SIZE = 1000
#: Dagster's SQLite busy timeout (seconds), as its own storage sets it.
BUSY_TIMEOUT_SECONDS = 30
#: How many databases keep a pooled connection: the index and the latest runs' shards.
OPEN_DATABASES = 8


class BatchingSqliteEventLogStorage(SqliteEventLogStorage):
    """:class:`SqliteEventLogStorage` that writes a batch in one transaction per database
    and reuses connections (see the module docstring)."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        #: the connections of the batch being written, by shard, and its thread
        self._batch: dict[str, Connection] = {}
        self._batch_thread: int | None = None
        self._batch_stack: ExitStack | None = None
        self._schema: set[tuple[str, str]] = set()  # tables and columns known to exist
        #: ids of the batch's events whose asset-row update the next event overwrites
        self._superseded: set[int] = set()
        #: the event last serialised for the event table, and its JSON (per thread)
        self._serialised = threading.local()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: SqliteStorageConfig
    ) -> BatchingSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = create_engine(
                create_db_conn_string(self._base_dir, shard),
                poolclass=QueuePool,
                pool_size=1,
                max_overflow=4,
                connect_args={"timeout": BUSY_TIMEOUT_SECONDS},
            )
            event.listen(engine, "connect", _synchronous_normal)
            if shard not in self._initialized_dbs:
                _wal(engine)
                self._initdb(engine)
                self._initialized_dbs.add(shard)
        self._engines[shard] = engine  # most recent last
        while len(self._engines) > OPEN_DATABASES:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        if self._batch_thread == threading.get_ident():
            if shard not in self._batch:
                assert self._batch_stack is not None
                conn = self._batch_stack.enter_context(self._engine(shard).connect())
                self._batch_stack.enter_context(conn.begin())
                self._batch[shard] = conn
            yield self._batch[shard]
            return
        with self._db_lock, self._engine(shard).connect() as conn, conn.begin():
            yield conn

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """Store ``events`` with Dagster's :meth:`store_event`, in one transaction per
        database: all of them, or (on an error) none."""
        with self._db_lock, ExitStack() as stack:
            self._batch_stack, self._batch_thread = stack, threading.get_ident()
            self._superseded = _superseded_asset_rows(events)
            try:
                for event in events:
                    self.store_event(event)
            finally:
                self._batch, self._batch_thread, self._batch_stack = {}, None, None
                self._superseded = set()

    def store_event(self, event: EventLogEntry) -> None:
        """Dagster's :meth:`SqliteEventLogStorage.store_event`, with the event's row
        inserted through one prepared statement (:data:`_EVENT_INSERT`) instead of an
        insert built with the row's values, cache-keyed and looked up for every event:
        the same rows in the same databases (the run's shard; the index for asset, check
        and run-status events)."""
        row = self._event_to_row(event)
        kind = event.dagster_event_type
        with self.run_connection(event.run_id) as conn:
            conn.execute(_EVENT_INSERT, row)
        if kind in ASSET_EVENTS:
            with self.index_transaction() as conn:
                event_id = _insert_event(conn, row)
                self._store_asset_event_tags(conn, [event], [event_id])
                self._store_asset_event(conn, event, event_id)
        if kind in ASSET_CHECK_EVENTS:
            with self.index_connection() as conn:
                event_id = _insert_event(conn, row)
            self.store_asset_check_event(event, event_id)
        if kind in EVENT_TYPE_TO_PIPELINE_RUN_STATUS:
            with self.index_connection() as conn:
                conn.execute(_EVENT_INSERT, row)

    def _store_asset_event(self, conn: Connection, event: EventLogEntry, event_id: int) -> None:
        """Dagster's update of the asset's row in the asset keys table, skipped for an
        event whose next one in the batch updates the same columns of the same row (see
        :func:`_superseded_asset_rows`)."""
        if self._batch_thread == threading.get_ident() and id(event) in self._superseded:
            return
        super()._store_asset_event(conn, event, event_id)

    def _event_to_row(self, event: EventLogEntry) -> dict[str, Any]:
        row = super()._event_to_row(event)
        self._serialised.last = (event, row["event"])
        return row

    def _serialise(self, event: EventLogEntry) -> str:
        """``serialize_value(event)``, reusing the event table's JSON of the same event."""
        last = getattr(self._serialised, "last", None)
        if last is not None and last[0] is event:
            return str(last[1])
        return serialize_value(event)

    def _update_asset_check_evaluation(self, event: EventLogEntry, event_id: int | None) -> None:
        """Dagster's update of the row its planned event made (an insert when there is
        none), through :data:`_RESULT_UPDATE`."""
        dagster_event = event.dagster_event
        assert dagster_event is not None
        evaluation = dagster_event.event_specific_data
        assert isinstance(evaluation, AssetCheckEvaluation)
        target = evaluation.target_materialization_data
        values = {
            "execution_status": (
                AssetCheckExecutionRecordStatus.SUCCEEDED.value
                if evaluation.passed
                else AssetCheckExecutionRecordStatus.FAILED.value
            ),
            "evaluation_event": self._serialise(event),
            "evaluation_event_timestamp": self._event_insert_timestamp(event),
            "evaluation_event_storage_id": event_id,
            "materialization_event_storage_id": target.storage_id if target else None,
            "partition": evaluation.partition,
        }
        key = {
            "key_asset_key": evaluation.asset_key.to_string(),
            "key_check_name": evaluation.check_name,
            "key_run_id": event.run_id,
            "key_partition": evaluation.partition,
        }
        update = _RESULT_UPDATE[evaluation.partition is None]
        with self.index_connection() as conn:
            updated = conn.execute(update, {**values, **key}).rowcount
            if updated == 0:  # no planned row (Dagster: step launchers without plans)
                row = {k.removeprefix("key_"): v for k, v in key.items()} | values
                updated = conn.execute(AssetCheckExecutionsTable.insert(), row).rowcount
        if updated > 1:
            raise DagsterInvariantViolationError(
                f"Updated {updated} rows for asset check evaluation "
                f"{evaluation.asset_check_key} as a result of duplicate AssetCheckPlanned events."
            )

    def _store_asset_check_evaluation_planned(
        self, event: EventLogEntry, event_id: int | None
    ) -> None:
        """Dagster's rows for a planned check, one per planned partition, with the event
        serialised once for all of them (Dagster serialises the same event again for
        every row) and inserted in one ``executemany``."""
        dagster_event = event.dagster_event
        assert dagster_event is not None
        planned = dagster_event.event_specific_data
        assert isinstance(planned, AssetCheckEvaluationPlanned)
        subset = planned.partitions_subset
        keys: list[str | None] = list(subset.get_partition_keys()) if subset else [None]
        row = {
            "asset_key": planned.asset_key.to_string(),
            "check_name": planned.check_name,
            "run_id": event.run_id,
            "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
            "evaluation_event": self._serialise(event),
            "evaluation_event_timestamp": self._event_insert_timestamp(event),
            "evaluation_event_storage_id": event_id,
        }
        with self.index_connection() as conn:
            rows = [{**row, "partition": key} for key in keys]
            conn.execute(AssetCheckExecutionsTable.insert(), rows)

    def has_table(self, table_name: str) -> bool:
        """Dagster asks before every check result whether the checks table exists, with a
        new engine each time."""
        return self._present(("table", table_name), partial(super().has_table, table_name))

    def _has_asset_key_col_on_connection(self, conn: Connection, column_name: str) -> bool:
        """Dagster reflects the asset keys table's columns for every asset event."""
        probe = partial(super()._has_asset_key_col_on_connection, conn, column_name)
        return self._present(("asset_keys column", column_name), probe)

    def _present(self, what: tuple[str, str], probe: Callable[[], bool]) -> bool:
        """``probe()``, remembered once true: a table or column, once there, stays
        (Dagster's migrations only add)."""
        if what not in self._schema:
            if not probe():
                return False
            self._schema.add(what)
        return True

    def _dispose_engines(self) -> None:
        while self._engines:
            _, engine = self._engines.popitem()
            engine.dispose()

    def wipe(self) -> None:
        self._dispose_engines()  # wipe deletes the run shards' files
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()


#: The insert of an event's row, its values bound at execution (see ``store_event``).
_EVENT_INSERT = SqlEventLogStorageTable.insert()


def _insert_event(conn: Connection, row: dict[str, Any]) -> int:
    """Insert an event's row; its storage id."""
    key = conn.execute(_EVENT_INSERT, row).inserted_primary_key
    if key is None or key[0] is None:
        raise DagsterInvariantViolationError("Cannot store asset event tags for null event id.")
    return int(key[0])


def _superseded_asset_rows(events: Sequence[EventLogEntry]) -> set[int]:
    """The ids of the events of a batch whose update of their asset's row the next event
    overwrites: the next event is of the same type on the same asset.

    Why: Dagster keeps one row per asset (its latest materialization, run and time) and
    updates it for every materialization and planned materialization, trying an insert
    that fails first; a range run stores one of each per partition, and all but the last
    of a run of them are overwritten within the same transaction, where nobody can see
    them. Events of other types in between keep the updates on either side.
    """
    keys = [
        (e.dagster_event.asset_key, e.dagster_event.event_type_value)
        if e.dagster_event is not None and e.dagster_event.asset_key is not None
        else None
        for e in events
    ]
    return {
        id(event)
        for event, key, following in zip(events, keys, keys[1:], strict=False)
        if key is not None and key == following
    }


def _result_update(partitioned: bool) -> Any:
    """The update of a check result's row, keyed as Dagster keys it: asset, check, run and
    partition (``IS NULL`` for an unpartitioned check), with bound values."""
    table = AssetCheckExecutionsTable
    partition = (
        table.c.partition == bindparam("key_partition")
        if partitioned
        else table.c.partition.is_(None)
    )
    return (
        table.update()
        .where(
            and_(
                table.c.asset_key == bindparam("key_asset_key"),
                table.c.check_name == bindparam("key_check_name"),
                table.c.run_id == bindparam("key_run_id"),
                partition,
            )
        )
        .values(
            {
                name: bindparam(name)
                for name in (
                    "execution_status",
                    "evaluation_event",
                    "evaluation_event_timestamp",
                    "evaluation_event_storage_id",
                    "materialization_event_storage_id",
                    "partition",
                )
            }
        )
    )


#: by "the result has no partition": built once, so SQLAlchemy compiles each once
_RESULT_UPDATE = {False: _result_update(True), True: _result_update(False)}


def batch_writes() -> None:
    """Turn on Dagster's event batching in this process unless the environment chose a
    size (staging and production set 100 in their env files). Called where the code
    location loads (:mod:`investor_mimic.definitions`), so it holds in every process that
    executes runs: the demo, the benchmarks, and run workers started by the UI's daemon.
    Measured on the demo world with this storage: 1000 batches a range's events into one
    transaction; unset, each is written alone."""
    os.environ.setdefault(BATCH_SIZE_VARIABLE, str(DEFAULT_BATCH_SIZE))


def batches_check_results(instance: Any) -> bool:
    """Whether ``instance``'s event log takes check results in a batch (this storage does;
    Dagster's PostgreSQL storage accepts only asset events in one)."""
    return isinstance(instance.event_log_storage, BatchingSqliteEventLogStorage)


def storage_config(home: str | os.PathLike[str]) -> dict[str, Any]:
    """``event_log_storage`` of a SQLite ``dagster.yaml`` in ``home``: this storage, in the
    directory Dagster's default SQLite storage uses."""
    return {
        "module": __name__,
        "class": BatchingSqliteEventLogStorage.__name__,
        "config": {"base_dir": os.path.join(os.fspath(home), "history", "runs", "")},
    }


def _wal(engine: Engine) -> None:
    """Put a database in WAL mode before Dagster creates its tables.

    Why: Dagster's ``_initdb`` creates a new run's shard in SQLite's default rollback
    journal, where each of its commits (the tables, the alembic stamp) waits for the
    disk, and switches to WAL only after. Every shard ends in WAL either way, and every
    event stored in it is committed under WAL with ``synchronous=NORMAL``; switching
    first gives the empty tables that same commit, which on a busy disk saved about
    0.2 s of waiting per run. Already in WAL (the index, an existing shard): no change.
    """
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")


def _synchronous_normal(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")
