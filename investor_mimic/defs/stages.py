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
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import dagster as dg
import pandas as pd
from dagster._core.execution.api import execute_run
from dagster._core.execution.execution_result import ExecutionResult
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.remote_representation.code_location import InProcessCodeLocation
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._utils.interrupts import capture_interrupts, check_captured_interrupt

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
    ) -> StageRun:
        """Create a run of ``job`` from the code location and execute it here; a
        partitioned job runs once over ``partition_range`` (first, last) or on the one
        ``partition_key``."""
        start = time.perf_counter()
        remote_job = self.location.get_repository(self.repository_name).get_full_job(job)
        recon = self.location.get_reconstructable_job(self.repository_name, job)
        job_def = recon.get_definition()
        run_tags = {**job_def.run_tags, **self.tags, **(tags or {})}
        if partition_range is not None:
            run_tags |= range_tags(*partition_range)
        if partition_key is not None:
            run_tags[PARTITION_NAME_TAG] = partition_key
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
        try:
            result = execute_run(recon, run, self.instance)
        except BaseException:  # an interrupt outside Dagster's own handling: no run left open
            latest = self.instance.get_run_by_id(run.run_id)
            if latest is not None and not latest.is_finished:
                self.instance.report_run_failed(latest, "interrupted before it finished")
            raise
        return StageRun(
            job=job,
            run_id=run.run_id,
            success=result.success,
            seconds=time.perf_counter() - start,
            materializations=[_materialized(e) for e in result.get_asset_materialization_events()],
            checks=[
                Checked(e.asset_key.to_user_string(), e.check_name, e.partition, e.passed)
                for e in result.get_asset_check_evaluations()
            ],
            failure=None if result.success else _failure(result),
        )


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


def _failure(result: ExecutionResult) -> str:
    """What a user needs from a failed run: the first failed step's own message."""
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        if data.user_failure_data is not None and data.user_failure_data.description:
            return f"{event.step_key}: {data.user_failure_data.description}"
        if data.error is not None:
            error = data.error
            if (error.cls_name or "").startswith("Dagster") and error.cause is not None:
                error = error.cause  # the step's own exception, not Dagster's wrapper
            return f"{event.step_key}: {error.message.strip()}"
    return next((e.message or "" for e in result.all_events if e.is_failure), "failed")


def stored_value(asset: str, settings: Settings | None = None) -> pd.DataFrame:
    """An unpartitioned asset's stored value, as the runs left it."""
    from investor_mimic.defs.resources import asset_io_manager

    io = asset_io_manager(settings or get_settings())
    return io.read_asset(dg.AssetKey(asset))
