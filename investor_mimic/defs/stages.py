"""The one stage runner: the project's jobs run from Python as runs of the UI's code location.

The demo, the benchmarks (and the backtest) run the graph stage by stage from a Python
process. ``JobDefinition.execute_in_process`` would do, but its runs carry no
code-location origin: the UI's Overview timeline leaves them out and "Re-execute" warns
that the job "may be a different version". :class:`StageRunner` instead loads the module
the UI loads (``investor_mimic.definitions``, under the location name that
``dagster dev -m investor_mimic.definitions`` and ``workspace.yaml`` give it) as an
in-process code location, creates each run from that location's job — origin and job
snapshot included, as the UI's "Materialize" would — and executes it in this process
with ``execute_run``: no daemon, no subprocess, the same speed as before.

Single-run backfills (one run over a range of partitions) are asked for with
``partition_range=(first, last)``; the tags that say so are Dagster's own constants and
live only here (:func:`range_tags`).
"""

import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import dagster as dg
import pandas as pd
from dagster._core.events import RunFailureReason
from dagster._core.execution.api import execute_run_iterator
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.remote_representation.code_location import InProcessCodeLocation
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._utils.interrupts import capture_interrupts, check_captured_interrupt

from investor_mimic.core.progress import Progress
from investor_mimic.settings import Settings, get_settings

#: The module holding the one Definitions object, and the code location's name for it
#: in ``dagster dev -m`` and workspace.yaml (Dagster names a module location after it).
DEFINITIONS_MODULE = "investor_mimic.definitions"
LOCATION_NAME = DEFINITIONS_MODULE


def range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make one run cover the partitions ``first``..``last``."""
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}


def quiet_logs(level: str = "WARNING") -> dict[str, object]:
    """Run config for the console logger (Dagster prints every event at DEBUG)."""
    return {"loggers": {"console": {"config": {"log_level": level}}}}


@dataclass(frozen=True)
class Materialized:
    """One asset materialization of a run (one per partition in a range run)."""

    asset: str
    partition: str | None
    rows: int | None
    #: the numeric metadata under ``metrics/`` (the backtest's headline metrics)
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Checked:
    """One asset check evaluation of a run (one per partition for partitioned checks)."""

    asset: str
    check: str
    partition: str | None
    passed: bool


@dataclass
class StageRun:
    """What one run did, as plain values (callers outside ``defs/`` import no Dagster)."""

    job: str
    run_id: str
    success: bool
    seconds: float
    materializations: list[Materialized] = field(default_factory=list)
    checks: list[Checked] = field(default_factory=list)
    failure: str | None = None


class StageRunner:
    """Runs jobs of the project's code location in this process, one run per call.

    ``tags`` go on every run (e.g. ``source: demo``). Use as a context manager, or call
    :meth:`close`.
    """

    def __init__(
        self,
        instance: dg.DagsterInstance,
        tags: Mapping[str, str] | None = None,
        log_level: str = "WARNING",
    ) -> None:
        self.instance = instance
        self.tags = dict(tags or {})
        self.run_config = quiet_logs(log_level)
        origin = InProcessCodeLocationOrigin(
            LoadableTargetOrigin(
                executable_path=sys.executable,
                module_name=DEFINITIONS_MODULE,
                working_directory=os.getcwd(),
            ),
            location_name=LOCATION_NAME,
        )
        self.location: InProcessCodeLocation = origin.create_location(instance)
        [self.repository_name] = self.location.get_repositories()

    def __enter__(self) -> "StageRunner":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.location.cleanup()

    def run(
        self,
        job: str,
        *,
        partition_range: tuple[str, str] | None = None,
        partition_key: str | None = None,
        tags: Mapping[str, str] | None = None,
        progress: Progress | None = None,
    ) -> StageRun:
        """Create a run of ``job`` from the code location and execute it here; a
        partitioned job runs once over ``partition_range`` (first, last) or on the one
        ``partition_key``.

        ``progress`` counts the run's results as they are stored: one per asset
        materialization and check evaluation (per partition in a range run), of the total
        Dagster planned for the run. An interrupt (Ctrl-C, SIGTERM) at any moment of the
        run, inside a step or between steps, ends it failed and raises
        ``KeyboardInterrupt`` here (never an ordinary stage failure).
        """
        start = time.perf_counter()
        remote_job = self.location.get_repository(self.repository_name).get_full_job(job)
        recon = self.location.get_reconstructable_job(self.repository_name, job)
        job_def = recon.get_definition()
        run_tags = {**job_def.run_tags, **self.tags, **(tags or {})}
        if partition_range is not None:
            run_tags |= range_tags(*partition_range)
        if partition_key is not None:
            run_tags[PARTITION_NAME_TAG] = partition_key
        with _signals_seen() as interrupted:
            with capture_interrupts():  # Ctrl-C/SIGTERM wait until the run's record is whole
                run = self.instance.create_run_for_job(
                    job_def,
                    run_config=self.run_config,
                    tags=run_tags,
                    remote_job_origin=remote_job.get_remote_origin(),
                    job_code_origin=remote_job.get_python_origin(),
                )
                if check_captured_interrupt():
                    self.instance.report_run_failed(run, "interrupted before it started")
                    raise KeyboardInterrupt
            events: list[dg.DagsterEvent] = []
            try:
                if progress is not None:
                    progress.set_total(planned_results(self.instance, run.run_id))
                for event in execute_run_iterator(recon, run, self.instance):
                    events.append(event)
                    if progress is not None and _is_result(event):
                        progress.advance()
            except BaseException:  # an interrupt outside Dagster's own handling
                self._fail_if_open(run.run_id, "interrupted before it finished")
                raise
            if interrupted() or _was_interrupted(events):
                self._fail_if_open(run.run_id, "interrupted")
                raise KeyboardInterrupt
        final = self.instance.get_run_by_id(run.run_id)
        success = final is not None and final.status == dg.DagsterRunStatus.SUCCESS
        return StageRun(
            job=job,
            run_id=run.run_id,
            success=success,
            seconds=time.perf_counter() - start,
            materializations=[_materialized(e) for e in events if e.is_step_materialization],
            checks=[
                Checked(
                    e.asset_check_evaluation_data.asset_key.to_user_string(),
                    e.asset_check_evaluation_data.check_name,
                    e.asset_check_evaluation_data.partition,
                    e.asset_check_evaluation_data.passed,
                )
                for e in events
                if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
            ],
            failure=None if success else _failure(events),
        )

    def _fail_if_open(self, run_id: str, why: str) -> None:
        latest = self.instance.get_run_by_id(run_id)
        if latest is not None and not latest.is_finished:
            self.instance.report_run_failed(latest, why)


_INTERRUPTS = {int(signal.SIGINT), int(signal.SIGTERM)}


@contextmanager
def _signals_seen() -> Iterator[Callable[[], bool]]:
    """Yields ``interrupted()``: whether SIGINT or SIGTERM arrived inside the block.

    Why not a handler of our own: during a run Dagster installs its own SIGINT/SIGTERM
    handlers, which only set a flag between steps and reset it on the way out, so a
    signal that lands between steps can be swallowed (the run then ends "successful" or
    fails like any failed stage). Python's wakeup fd records every signal that reaches a
    Python handler, whoever's handler it is. Outside the main thread: never interrupted.
    """
    try:
        reader, writer = socket.socketpair()
    except OSError:
        yield lambda: False
        return
    reader.setblocking(False)
    writer.setblocking(False)
    try:
        previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    except ValueError:  # not the main thread
        reader.close()
        writer.close()
        yield lambda: False
        return
    seen: set[int] = set()

    def interrupted() -> bool:
        try:
            while data := reader.recv(512):
                seen.update(data)
        except BlockingIOError:
            pass
        return bool(seen & _INTERRUPTS)

    try:
        yield interrupted
    finally:
        signal.set_wakeup_fd(previous)
        reader.close()
        writer.close()


def planned_results(instance: dg.DagsterInstance, run_id: str) -> int:
    """Materializations and check evaluations Dagster planned for a run, counting each
    partition of a range (what :class:`Progress` counts to)."""
    planned = instance.get_records_for_run(
        run_id,
        of_type={
            dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
            dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED,
        },
        limit=1_000_000,
    ).records
    total = 0
    for record in planned:
        data = record.event_log_entry.get_dagster_event().event_specific_data
        subset = getattr(data, "partitions_subset", None)
        total += len(subset) if subset is not None else 1
    return total


def _is_result(event: dg.DagsterEvent) -> bool:
    return event.is_step_materialization or (
        event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    )


def _was_interrupted(events: Sequence[dg.DagsterEvent]) -> bool:
    """Dagster's own record of an interrupt: a step stopped by one, or the run failed as
    an unexpected termination."""
    for event in events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            if error is not None and error.cls_name in (
                "DagsterExecutionInterruptedError",
                "KeyboardInterrupt",
            ):
                return True
        if event.is_job_failure:
            data = event.job_failure_data
            if data is not None and data.failure_reason == RunFailureReason.UNEXPECTED_TERMINATION:
                return True
    return False


def _materialized(event: dg.DagsterEvent) -> Materialized:
    mat = event.step_materialization_data.materialization
    rows = mat.metadata.get("dagster/row_count")
    metrics = {
        key.removeprefix("metrics/"): float(value.value)
        for key, value in mat.metadata.items()
        if key.startswith("metrics/")
        and isinstance(value, (dg.FloatMetadataValue, dg.IntMetadataValue))
        and value.value is not None
    }
    return Materialized(
        mat.asset_key.to_user_string(),
        mat.partition,
        int(rows.value) if rows is not None else None,  # type: ignore[arg-type]
        metrics,
    )


def _failure(events: Sequence[dg.DagsterEvent]) -> str:
    """What a user needs from a failed run: the first failed step's own message."""
    for event in (e for e in events if e.is_step_failure):
        data = event.step_failure_data
        if data.user_failure_data is not None and data.user_failure_data.description:
            return f"{event.step_key}: {data.user_failure_data.description}"
        if data.error is not None:
            error = data.error
            if (error.cls_name or "").startswith("Dagster") and error.cause is not None:
                error = error.cause  # the step's own exception, not Dagster's wrapper
            return f"{event.step_key}: {error.message.strip()}"
    return next((e.message or "" for e in events if e.is_failure), "failed")


def stored_value(asset: str, settings: Settings | None = None) -> pd.DataFrame:
    """An unpartitioned asset's stored value, as the runs left it."""
    from investor_mimic.defs.resources import asset_io_manager

    io = asset_io_manager(settings or get_settings())
    return io.read_asset(dg.AssetKey(asset))
