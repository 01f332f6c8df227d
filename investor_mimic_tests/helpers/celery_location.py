"""A small partitioned job on the Celery executor (dagster-celery), for the scale-out test.

Why a module of its own: Celery workers import the job by this module path, in their own
processes. Four independent assets per partition give each run steps the two workers
can share; each step sleeps briefly so one worker cannot drain the queue alone.
"""

import time

import dagster as dg
from dagster_celery import celery_executor

LEGS = ("leg_a", "leg_b", "leg_c", "leg_d")
days = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-01")


def _leg(name: str) -> dg.AssetsDefinition:
    @dg.asset(name=name, partitions_def=days)
    def leg(context: dg.AssetExecutionContext) -> int:
        time.sleep(0.5)
        return int(context.partition_key.replace("-", ""))

    return leg


assets = [_leg(name) for name in LEGS]
defs = dg.Definitions(
    assets=assets,
    jobs=[dg.define_asset_job("fanout", selection=list(LEGS), executor_def=celery_executor)],
)


def fanout_job() -> dg.JobDefinition:
    """The job as :func:`dagster.reconstructable` needs it (a module-level function)."""
    return defs.resolve_job_def("fanout")
