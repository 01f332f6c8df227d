"""Blocking checks on ``trade_proposals`` — one per risk limit, the frame contract, and
"no proposal on stale or unchecked inputs" — and the gate approvals go through.

Each limit check rebuilds the book from the stored ``trade_proposals`` and ``portfolio``
partitions and runs the limit function of :mod:`investor_mimic.portfolio.limits` on it,
so a proposal that reaches the warehouse by any path is judged by the same rule that
built it. :func:`proposal_approvable` is what the approval sensor asks before creating a
request: a proposal is approvable only when every check of its latest materialization
passed in that same run.
"""

from collections.abc import Iterable
from datetime import date
from typing import Any

import dagster as dg
import pandas as pd

from investor_mimic.core import frames, quality
from investor_mimic.defs.partitions import trading_day_partitions
from investor_mimic.defs.resources import TradingResource
from investor_mimic.defs.trading.assets import TRADE_PROPOSALS, trade_proposals
from investor_mimic.portfolio.book import book_from_frames
from investor_mimic.portfolio.limits import LIMITS

INPUTS_CHECK = "inputs_fresh_and_checked"
SCHEMA_CHECK = "schema"


def _limit_check(name: str) -> dg.AssetChecksDefinition:
    doc = (LIMITS[name].__doc__ or "").strip()

    @dg.asset_check(
        asset=trade_proposals,
        name=name,
        blocking=True,
        partitions_def=trading_day_partitions,
        additional_ins={"portfolio": dg.AssetIn()},
        description=doc or f"The {name} limit holds for the book after the orders.",
    )
    def _check(
        trade_proposals: pd.DataFrame, portfolio: pd.DataFrame, trading: TradingResource
    ) -> dg.AssetCheckResult:
        result = LIMITS[name](book_from_frames(trade_proposals, portfolio), trading.rules())
        return dg.AssetCheckResult(
            passed=result.passed,
            severity=dg.AssetCheckSeverity.ERROR,
            description=result.detail,
            metadata={
                "value": result.value,
                "limit": result.limit,
                "offenders": ", ".join(result.offenders) or "none",
            },
        )

    return _check


@dg.asset_check(
    asset=trade_proposals,
    name=SCHEMA_CHECK,
    blocking=True,
    partitions_def=trading_day_partitions,
    description="The frames.TRADE_PROPOSALS contract: columns and dtypes, one order per "
    "ticker, sides buy or sell, positive shares and prices.",
)
def proposals_schema(trade_proposals: pd.DataFrame) -> dg.AssetCheckResult:
    spec = frames.TRADE_PROPOSALS
    reports = [
        quality.schema(trade_proposals, spec),
        quality.duplicate_keys(trade_proposals, spec.key),
        quality.ranges(trade_proposals, spec),
    ]
    problems = [p for r in reports for p in r.problems]
    return dg.AssetCheckResult(
        passed=not problems,
        description="; ".join(problems[:3]) or "ok",
        metadata={"rows": len(trade_proposals), "problems": len(problems)},
    )


@dg.asset_check(
    asset=trade_proposals,
    name=INPUTS_CHECK,
    blocking=True,
    partitions_def=trading_day_partitions,
    description="The day had a fresh composite score (its orders go to the next open) and "
    "no blocking check of composite_score, factor_panel or prices failed for it.",
)
def inputs_fresh_and_checked(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    meta = _latest_metadata(context.instance, context.partition_key)
    refused = meta.get("refused")
    reason = str(refused.value) if refused is not None else ""
    return dg.AssetCheckResult(
        passed=not reason, description=reason or "ok", metadata={"refused": reason or "no"}
    )


def _latest_record(instance: dg.DagsterInstance, partition: str) -> Any:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(TRADE_PROPOSALS, asset_partitions=[partition]), limit=1
    ).records
    return records[0] if records else None


def _latest_metadata(instance: dg.DagsterInstance, partition: str) -> dict[str, Any]:
    record = _latest_record(instance, partition)
    if record is None or record.asset_materialization is None:
        return {}
    return dict(record.asset_materialization.metadata)


def check_outcomes(
    instance: dg.DagsterInstance, keys: list[dg.AssetCheckKey], partition: str
) -> dict[dg.AssetCheckKey, str]:
    """The latest outcome of each check for one partition: ``passed``, ``failed``,
    ``did not complete`` (planned, never evaluated) or ``never run``.

    Why not just the partition's record: a run over a range of partitions (a single-run
    backfill) evaluates a check once for the whole range; Dagster then leaves each
    partition's record "planned" and stores the one evaluation without a partition, so
    the outcome is looked up among that run's evaluation events.
    """
    from dagster._core.event_api import PartitionKeyFilter
    from dagster._core.storage.asset_check_execution_record import (
        AssetCheckExecutionRecordStatus as Status,
    )

    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        keys, partition_filter=PartitionKeyFilter(key=partition)
    )
    by_run: dict[str, dict[dg.AssetCheckKey, bool]] = {}
    out: dict[dg.AssetCheckKey, str] = {}
    for key in keys:
        record = latest.get(key)
        if record is None:
            out[key] = "never run"
            continue
        if record.status != Status.PLANNED:
            out[key] = "passed" if record.status == Status.SUCCEEDED else "failed"
            continue
        if record.run_id not in by_run:
            events = instance.get_records_for_run(
                run_id=record.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
            ).records
            data = [e.event_log_entry.get_dagster_event().event_specific_data for e in events]
            by_run[record.run_id] = {
                d.asset_check_key: d.passed for d in data if isinstance(d, dg.AssetCheckEvaluation)
            }
        passed = by_run[record.run_id].get(key)
        out[key] = "did not complete" if passed is None else ("passed" if passed else "failed")
    return out


def blocking_check_keys(assets: Iterable[dg.AssetKey]) -> list[dg.AssetCheckKey]:
    """The blocking checks defined on ``assets`` in the project's definitions."""
    from investor_mimic.defs.factors.assets import factor_defs
    from investor_mimic.defs.scoring.assets import scoring_defs
    from investor_mimic.defs.sources.assets import source_defs

    wanted = set(assets)
    keys = []
    for defs in (source_defs, factor_defs, scoring_defs):
        for check_def in defs.asset_checks or []:
            for spec in check_def.check_specs:
                if spec.asset_key in wanted and spec.blocking:
                    keys.append(spec.key)
    return keys


TRADE_PROPOSAL_CHECKS = [
    *(_limit_check(name) for name in LIMITS),
    proposals_schema,
    inputs_fresh_and_checked,
]
CHECK_NAMES = tuple(spec.name for c in TRADE_PROPOSAL_CHECKS for spec in c.check_specs)


def proposal_approvable(instance: dg.DagsterInstance, day: date | str) -> tuple[bool, list[str]]:
    """Whether the latest ``trade_proposals`` of ``day`` may become an approval request,
    and if not, why: it must exist, hold orders, and every one of its checks must have
    passed in the run that materialized it."""
    from dagster._core.event_api import PartitionKeyFilter

    partition = day.isoformat() if isinstance(day, date) else day
    record = _latest_record(instance, partition)
    if record is None or record.asset_materialization is None:
        return False, [f"no trade_proposals for {partition}"]
    reasons = []
    meta = record.asset_materialization.metadata
    if "refused" in meta:
        reasons.append(f"refused: {meta['refused'].value}")
    rows = meta.get("dagster/row_count")
    if rows is not None and int(rows.value) == 0:
        reasons.append("no orders")
    keys = [dg.AssetCheckKey(TRADE_PROPOSALS, name) for name in CHECK_NAMES]
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        keys, partition_filter=PartitionKeyFilter(key=partition)
    )
    outcomes = check_outcomes(instance, keys, partition)
    for key in keys:
        check_record = latest.get(key)
        if check_record is None or check_record.run_id != record.run_id:
            reasons.append(f"check {key.name} did not run with this proposal")
        elif outcomes[key] != "passed":
            reasons.append(f"check {key.name} {outcomes[key]}")
    return not reasons, reasons
