"""Approval wiring: proposals become requests; approved requests run ``execute_trades``.

- ``approval_requests_sensor`` watches ``trade_proposals`` materializations and creates one
  pending request per proposal (the logic is :mod:`investor_mimic.approval.store`), then
  notifies through the log with the exact command to approve. It only takes proposals
  whose run **succeeded with every ERROR-severity check on trade_proposals passing**: a
  blocking check that failed after the materialization was written must never reach a
  person as something to approve. Of several new partitions (a backfill), only the
  newest day is proposed; older days are history, not trades.
- ``approval_notifications_sensor`` turns the audit log's transitions (created, approved,
  rejected, expired, executed, failed) into notifications through the configured channels
  (:mod:`investor_mimic.approval.notify`: email with signed approve/reject links, Slack,
  apprise URLs). Whoever made the change — the web app, the CLI, the expiry, this
  job — the same notice goes out once; a failing channel is retried and logged, and
  never holds the sensor back.
- ``execute_approved_requests_sensor`` launches the op job ``execute_trades`` once per
  approved request (``run_key`` = request id). While the kill switch is on it launches
  nothing and says why in its skip reason (visible on the sensor's page).
"""

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import dagster as dg
import pandas as pd

from investor_mimic.approval.notices import for_transition
from investor_mimic.approval.notify import notifier_from_settings
from investor_mimic.approval.report import approval_notice
from investor_mimic.approval.states import default_expiry
from investor_mimic.approval.store import (
    ApprovalStore,
    CheckRow,
    ProposalError,
    UnknownRequestError,
    utcnow,
)
from investor_mimic.defs.approval.jobs import ExecuteConfig, execute_trades
from investor_mimic.defs.resources import WarehouseResource
from investor_mimic.settings import get_settings

PROPOSALS = dg.AssetKey("trade_proposals")
FINISHED = {
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
}


def _check_results(instance: dg.DagsterInstance, run_id: str, partition: str | None) -> list[Any]:
    """The evaluations of checks on trade_proposals (this partition) in ``run_id``."""
    found = []
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        event = entry.dagster_event
        if event is None:
            continue
        evaluation: Any = event.event_specific_data
        if evaluation.asset_key != PROPOSALS or evaluation.partition not in (None, partition):
            continue
        found.append(evaluation)
    return found


def _failed_checks(instance: dg.DagsterInstance, run_id: str, partition: str | None) -> list[str]:
    """Names of ERROR-severity checks on trade_proposals that failed in ``run_id``."""
    failed = [
        e.check_name
        for e in _check_results(instance, run_id, partition)
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]
    return sorted(set(failed))


def _gate(instance: dg.DagsterInstance, run_id: str, partition: str | None) -> str | None:
    """None when the proposal may be put to a person; else why not ("wait" = not yet)."""
    run = instance.get_run_by_id(run_id)
    if run is None:
        return f"run {run_id} is unknown"
    if run.status not in FINISHED:
        return "wait"
    if run.status != dg.DagsterRunStatus.SUCCESS:
        return f"its run {run_id[:8]} ended {run.status.value}"
    failed = _failed_checks(instance, run_id, partition)
    if failed:
        return f"check(s) failed: {', '.join(failed)}"
    return None


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Creates one approval request per new trade_proposals materialization "
    "(only from successful runs whose checks passed) and logs the approve command.",
)
def approval_requests_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource
) -> dg.SkipReason:
    after = int(context.cursor) if context.cursor else None
    records: Sequence[Any] = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=PROPOSALS, after_storage_id=after),
        limit=200,
        ascending=True,
    ).records
    # stop at the first proposal whose run is still going: its checks may yet fail
    ready = []
    for record in records:
        partition = record.asset_materialization.partition if record.asset_materialization else None
        if _gate(context.instance, record.run_id, partition) == "wait":
            break
        ready.append(record)
    if not ready:
        return dg.SkipReason("no new trade_proposals materializations")
    cursor = str(ready[-1].storage_id)

    store = ApprovalStore(warehouse.url)
    latest_known = max((r.proposal_date for r in store.list_requests(limit=1)), default=None)
    newest: dict[str, Any] = {}
    for record in ready:  # the latest materialization of each partition
        partition = record.asset_materialization.partition if record.asset_materialization else None
        if partition is not None:
            newest[partition] = record
    notes: list[str] = []
    if newest:
        partition = max(newest)
        record = newest[partition]
        day = date.fromisoformat(partition)
        older = sorted(set(newest) - {partition})
        if older:
            notes.append(f"{len(older)} older day(s) not proposed ({older[0]}..{older[-1]})")
        blocked = _gate(context.instance, record.run_id, partition)
        if blocked:
            notes.append(f"proposal {partition} not put to approval: {blocked}")
            context.log.warning(notes[-1])
        elif latest_known is not None and day < latest_known:
            notes.append(f"proposal {partition} is older than the last request ({latest_known})")
        else:
            notes.append(_create(context, store, day, partition, record))
    store.dispose()
    context.update_cursor(cursor)
    return dg.SkipReason("; ".join(notes) or "nothing to propose")


def _create(
    context: dg.SensorEvaluationContext,
    store: ApprovalStore,
    day: date,
    partition: str,
    record: Any,
) -> str:
    repo = context.repository_def
    if repo is None:
        raise dg.DagsterInvariantViolationError("the approval sensor needs its repository")
    frame = repo.load_asset_value(PROPOSALS, partition_key=partition, instance=context.instance)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"trade_proposals {partition} loaded as {type(frame).__name__}")
    if len(frame) == 0:
        context.log.info(f"proposal {partition}: no orders, nothing to approve")
        return f"proposal {partition} has no orders"
    try:
        req, created = store.create_request(
            day,
            frame,
            source=f"trade_proposals/{partition}@{record.storage_id}",
            expires_at=default_expiry(day, get_settings().approval_expiry),
            actor="approval_requests_sensor",
            channel="dagster",
            checks=[
                CheckRow(
                    e.check_name,
                    bool(e.passed),
                    None if e.passed else f"{e.severity.value.lower()}: {e.description or ''}",
                )
                for e in _check_results(context.instance, record.run_id, partition)
            ],
        )
    except ProposalError as exc:
        context.log.error(f"proposal {partition} refused: {exc}")
        return f"proposal {partition} refused: {exc}"
    if created:
        context.log.info(approval_notice(req))
    return f"request {req.id} {'created' if created else 'already existed'} for {partition}"


@dg.sensor(
    job=execute_trades,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Launches execute_trades once per approved request (run key = request id); "
    "launches nothing while the kill switch is on.",
)
def execute_approved_requests_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource
) -> dg.SensorResult | dg.SkipReason:
    store = ApprovalStore(warehouse.url)
    try:
        approved = store.list_requests("approved")
        killed = store.kill_switch(setting=get_settings().kill_switch)
    finally:
        store.dispose()
    if killed.enabled:
        held = f"; {len(approved)} approved request(s) held" if approved else ""
        return dg.SkipReason(f"{killed.describe()}{held}")
    if not approved:
        return dg.SkipReason("no approved requests waiting")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=req.id,
                run_config=dg.RunConfig(ops={"execute_request": ExecuteConfig(request_id=req.id)}),
                tags={"approval_request": req.id},
            )
            for req in approved
        ]
    )


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Notifies the configured channels (email with signed approve/reject links, "
    "Slack, apprise URLs) of every request created, decided, expired, executed or failed.",
)
def approval_notifications_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource
) -> dg.SkipReason:
    settings = get_settings()
    store = ApprovalStore(warehouse.url)
    try:
        # first evaluation: announce the last day's transitions, not the whole history
        after = (
            int(context.cursor)
            if context.cursor
            else store.last_audit_id(before=utcnow() - timedelta(days=1))
        )
        rows = store.audit_after(after, limit=50)
        if not rows:
            return dg.SkipReason("no new approval transitions")
        notifier = notifier_from_settings(settings, store)
        said: list[str] = []
        for row in rows:
            if row.request_id is None:
                continue
            try:
                req = store.get(row.request_id)
            except UnknownRequestError:
                continue
            if row.action == "create" and req.status != "pending":
                continue  # decided before it could be announced: its links would not work
            notice = for_transition(row, req, settings.public_url)
            if notice is None:
                continue
            context.log.info(f"{notice.title}: {notice.text}")
            deliveries = notifier.send(notice)
            failed = [d.channel for d in deliveries if not d.ok]
            sent = [d.channel for d in deliveries if d.ok]
            said.append(
                f"{notice.title} → {', '.join(sent) or 'log only'}"
                + (f" (failed: {', '.join(failed)})" if failed else "")
            )
        context.update_cursor(str(rows[-1].id))
        return dg.SkipReason("; ".join(said) or "nothing to announce")
    finally:
        store.dispose()


approval_defs = dg.Definitions(
    jobs=[execute_trades],
    sensors=[
        approval_requests_sensor,
        execute_approved_requests_sensor,
        approval_notifications_sensor,
    ],
)
