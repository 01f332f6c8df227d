"""Asset checks over an asset's value that record a result for every partition checked.

Why not a plain ``@dg.asset_check``: in a single-run backfill Dagster plans a check for
every partition of the range, but an ``AssetCheckResult`` only names a partition when the
run has exactly one. The range's result then lands on no partition, every planned
partition ends as "Skipped" in the UI, and the Partitions tab shows a checked range as
never checked. :func:`frame_check` evaluates the rule once over the run's value, as
before, and records that verdict on each partition the run covered, each against that
partition's own materialization. When the range fails, the rule runs again on each
partition's rows, so the UI shows which partitions failed; a failure no single
partition shows by itself (a cross-partition rule such as staleness) fails them all.
A passing range's figures (rows, counts of each problem: all zero) are logged once for the
run; each partition's result carries the run's size, and a failing one its own figures.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC
from typing import Any

import dagster as dg
import pandas as pd
import sqlalchemy as sa
from dagster._core.events import (
    DagsterEvent,
    DagsterEventBatchMetadata,
    DagsterEventType,
    generate_event_batch_id,
)

from investor_mimic.core.quality import Report
from investor_mimic.defs.event_log import batches_check_results
from investor_mimic.defs.io_manager import partition_expr, partition_labels
from investor_mimic.defs.metadata import figures_line

CheckFn = Callable[[pd.DataFrame], dg.AssetCheckResult]
CheckEvent = dg.AssetCheckResult | dg.Output[None] | dg.AssetCheckEvaluation | DagsterEvent


def frame_check(
    asset: dg.AssetsDefinition,
    *,
    description: str,
    name: str | None = None,
    blocking: bool = True,
    with_universe: bool = False,
) -> Callable[[Callable[..., dg.AssetCheckResult]], dg.AssetChecksDefinition]:
    """``@dg.asset_check`` for ``fn(frame) -> AssetCheckResult`` over ``asset``'s value,
    partitioned like the asset, with one recorded result per partition of the run.
    ``with_universe``: ``fn(frame, universe)`` also gets the security master (the
    ``universe`` asset), for rules that depend on who was listed when.

    Blocking by default: a failure stops downstream assets in the same run, so bad
    data cannot flow on towards factors and trade proposals.
    """

    def decorate(fn: Callable[..., dg.AssetCheckResult]) -> dg.AssetChecksDefinition:
        check_name = name or fn.__name__

        def evaluate(
            context: dg.AssetCheckExecutionContext, value: pd.DataFrame, rule: CheckFn
        ) -> Iterator[CheckEvent]:
            result = rule(value)
            if not context.has_partition_key_range:
                yield result
                return
            # What an AssetCheckResult adds for us: the check's (valueless) output.
            [output] = context.op_def.output_defs
            yield dg.Output(None, output_name=output.name)
            key = dg.AssetCheckKey(asset.key, check_name)
            yield from per_partition(context, key, asset, blocking, result, rule, value)

        spec: dict[str, Any] = {
            "asset": asset,
            "name": check_name,
            "description": description,
            "blocking": blocking,
            "partitions_def": asset.partitions_def,
        }
        if with_universe:

            @dg.asset_check(**spec, additional_ins={"universe": dg.AssetIn("universe")})  # type: ignore[arg-type]
            def _check_listed(
                context: dg.AssetCheckExecutionContext, value: pd.DataFrame, universe: pd.DataFrame
            ) -> Iterator[CheckEvent]:
                yield from evaluate(context, value, lambda frame: fn(frame, universe))

            return _check_listed

        @dg.asset_check(**spec)  # type: ignore[arg-type]  # a generator of results is fine
        def _check(
            context: dg.AssetCheckExecutionContext, value: pd.DataFrame
        ) -> Iterator[CheckEvent]:
            yield from evaluate(context, value, fn)

        return _check

    return decorate


def per_partition(
    context: dg.AssetCheckExecutionContext,
    key: dg.AssetCheckKey,
    asset: dg.AssetsDefinition,
    blocking: bool,
    result: dg.AssetCheckResult,
    fn: CheckFn,
    value: pd.DataFrame,
) -> Iterator[dg.AssetCheckEvaluation | DagsterEvent]:
    """One evaluation per partition of the run (see the module docstring)."""
    partitions = list(context.partition_keys)
    verdicts = dict.fromkeys(partitions, result)
    if not result.passed and len(partitions) > 1:
        own = _by_partition(fn, value, asset, partitions)
        if any(not r.passed for r in own.values()):
            verdicts = own
    targets = _target_materializations(context.instance, asset.key, partitions)
    shared = {"partitions_in_run": len(partitions)}
    if result.passed and len(partitions) > 1:
        # the run's figures go to its log once, not onto each partition (see for_partitions)
        figures = figures_line(result.metadata)
        context.log.info(
            f"check {key.name} on {asset.key.to_user_string()} passed over the run's "
            f"{len(partitions)} partitions" + (f": {figures}" if figures else "")
        )
    evaluations = [
        dg.AssetCheckEvaluation(
            asset_key=key.asset_key,
            check_name=key.name,
            passed=verdicts[partition].passed,
            metadata=shared
            if verdicts[partition].passed and len(partitions) > 1
            else {**verdicts[partition].metadata, **shared},
            target_materialization_data=targets.get(partition),
            severity=verdicts[partition].severity,
            description=verdicts[partition].description,
            blocking=blocking,
            partition=partition,
        )
        for partition in partitions
    ]
    if all(e.passed for e in evaluations) and batches_check_results(context.instance):
        yield from _logged_as_one_batch(context, evaluations)
    else:  # failures as plain evaluations, so that Dagster blocks downstream on them
        yield from evaluations


def _logged_as_one_batch(
    context: dg.AssetCheckExecutionContext, evaluations: Sequence[dg.AssetCheckEvaluation]
) -> Iterator[DagsterEvent]:
    """Passing ``evaluations`` logged as one event batch, as Dagster logs a range's
    materializations: with ``DAGSTER_EVENT_BATCH_SIZE`` set, the event log stores them in one
    write (:mod:`investor_mimic.defs.event_log`) instead of one per partition, which was
    the largest part of a long range's bookkeeping. Yielding the logged event hands it
    to the step unchanged. Failures never take this path, nor an event log that takes
    only asset events in a batch (PostgreSQL's; see :func:`per_partition`)."""
    step = context.op_execution_context._step_execution_context
    batch, last = generate_event_batch_id(), len(evaluations) - 1
    for i, evaluation in enumerate(evaluations):
        yield DagsterEvent.from_step(
            DagsterEventType.ASSET_CHECK_EVALUATION,
            step_context=step,
            event_specific_data=evaluation,
            message=f"Asset check '{evaluation.check_name}' on "
            f"'{evaluation.asset_key.to_user_string()}' passed."
            + (f" Description: '{evaluation.description}'" if evaluation.description else ""),
            batch_metadata=DagsterEventBatchMetadata(batch, i == last),
        )


def _by_partition(
    fn: CheckFn, value: pd.DataFrame, asset: dg.AssetsDefinition, partitions: Sequence[str]
) -> dict[str, dg.AssetCheckResult]:
    """``fn`` over each partition's rows, split as the IO manager splits a range."""
    expr = partition_expr(asset.metadata_by_key[asset.key], asset.key)
    labels = partition_labels(value, expr).to_numpy()
    groups = {str(k): part for k, part in value.groupby(labels, sort=False)}
    empty = value.iloc[0:0]
    return {p: fn(groups.get(p, empty).reset_index(drop=True)) for p in partitions}


def _target_materializations(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partitions: Sequence[str]
) -> dict[str, Any]:
    """Each partition's latest materialization: the UI shows a check result as current
    only while it targets that partition's latest materialization."""
    ids = instance.get_latest_storage_id_by_partition(
        asset_key, dg.DagsterEventType.ASSET_MATERIALIZATION, set(partitions)
    )
    return _fetch_targets(instance, asset_key, ids) if ids else {}


def _fetch_targets(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, ids: Mapping[str, int]
) -> dict[str, Any]:
    """The (storage id, run, time) of the materializations ``ids`` names, by partition.

    From the event table's own columns, not through ``fetch_materializations``, which
    deserialises every partition's whole event (0.25 s of the daily sources' year, for
    three assets, more than their checks' rules). The time column holds the event's
    timestamp as a UTC datetime: the same instant to the microsecond."""
    from dagster._core.definitions.asset_checks.asset_check_evaluation import (
        AssetCheckEvaluationTargetMaterializationData,
    )
    from dagster._core.storage.event_log.schema import SqlEventLogStorageTable as events
    from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage

    storage = instance.event_log_storage
    if not isinstance(storage, SqlEventLogStorage):  # no event table to read
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, storage_ids=list(ids.values())),
            limit=len(ids),
        ).records
        rows = [(r.storage_id, r.run_id, r.timestamp, r.partition_key) for r in records]
    else:
        query = sa.select(
            events.c.id, events.c.run_id, events.c.timestamp, events.c.partition
        ).where(events.c.id.in_(list(ids.values())))
        with storage.index_connection() as conn:
            rows = [
                (id_, run_id, at.replace(tzinfo=UTC).timestamp(), partition)
                for id_, run_id, at, partition in conn.execute(query)
            ]
    return {
        partition: AssetCheckEvaluationTargetMaterializationData(
            storage_id=storage_id, run_id=run_id, timestamp=timestamp
        )
        for storage_id, run_id, timestamp, partition in rows
        if partition is not None
    }


def quality_check(
    asset: dg.AssetsDefinition,
    name: str,
    rule: Callable[..., Report],
    description: str,
    *,
    blocking: bool = True,
    with_universe: bool = False,
) -> dg.AssetChecksDefinition:
    """A :mod:`investor_mimic.core.quality` rule as a (blocking) :func:`frame_check`
    (``rule(frame, universe)`` when ``with_universe``)."""

    def _rule(frame: pd.DataFrame, *universe: pd.DataFrame) -> dg.AssetCheckResult:
        report = rule(frame, *universe)
        metadata: dict[str, Any] = {k: v for k, v in report.metadata.items() if v is not None}
        if report.problems:
            metadata["problems"] = dg.MetadataValue.md(
                "\n".join(f"- {p}" for p in report.problems[:20])
            )
        return dg.AssetCheckResult(
            passed=report.passed,
            severity=dg.AssetCheckSeverity.ERROR,
            description="; ".join(report.problems[:3]) or "ok",
            metadata=metadata,
        )

    return frame_check(
        asset, name=name, description=description, blocking=blocking, with_universe=with_universe
    )(_rule)
