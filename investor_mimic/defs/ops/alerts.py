"""Alerts through the configured channels: failed runs, failed asset checks, a daily summary.

Routing is by severity and topic in settings (:mod:`investor_mimic.approval.notify`):
run failures and blocking (ERROR) check failures are ``critical`` alerts (Slack in real
time, email, SMS through an apprise ``critical`` URL); WARN-severity check failures are
``warning``; the daily summary is ``summary`` (email by default). A channel that fails is
retried and logged; a sensor never fails because a channel did.
"""

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg

from investor_mimic.approval.notices import FailedCheck, Summary, checks_failed, daily_summary
from investor_mimic.approval.notices import run_failed as run_failed_notice
from investor_mimic.approval.notify import notifier_from_settings
from investor_mimic.approval.store import ApprovalStore, utcnow
from investor_mimic.broker.factory import make_broker
from investor_mimic.broker.models import BrokerError
from investor_mimic.defs.resources import WarehouseResource
from investor_mimic.settings import get_settings


@dg.run_failure_sensor(
    name="run_failure_alerts",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Sends a critical alert through the configured channels for every failed run.",
)
def run_failure_alerts(context: dg.RunFailureSensorContext) -> None:
    run = context.dagster_run
    message = context.failure_event.message or "no message"
    notice = run_failed_notice(
        run.job_name, run.run_id, message, partition=run.tags.get("dagster/partition")
    )
    context.log.info(f"{notice.title}: {notice.text}")
    notifier_from_settings(get_settings()).send(notice)


FINISHED = [
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
]


def finished_runs(
    instance: dg.DagsterInstance, after: datetime | None, *, limit: int = 200
) -> list[Any]:
    """Runs that finished (or changed) after ``after``, oldest first.

    Why runs and not a scan of the event log by storage id: the default SQLite instance
    keeps one event database per run, whose storage ids are not comparable across runs
    (Dagster refuses such a cursor); run update times are.
    """
    return list(
        instance.get_run_records(
            filters=dg.RunsFilter(updated_after=after, statuses=FINISHED),
            order_by="update_timestamp",
            ascending=True,
            limit=limit,
        )
    )


def failed_checks(instance: dg.DagsterInstance, run_ids: list[str]) -> list[FailedCheck]:
    """The failed asset check evaluations of these runs."""
    out = []
    for run_id in run_ids:
        for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
            event = entry.dagster_event
            if event is None:
                continue
            e: Any = event.event_specific_data
            if e.passed:
                continue
            out.append(
                FailedCheck(
                    asset=e.asset_key.to_user_string(),
                    check=e.check_name,
                    partition=e.partition,
                    severity=e.severity.value,
                    description=e.description,
                    run_id=run_id,
                )
            )
    return out


@dg.sensor(
    name="check_failure_alerts",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts on failed asset checks of finished runs: critical for blocking "
    "(ERROR) ones, warning for WARN ones, one notice per severity per tick.",
)
def check_failure_alerts(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    # cursor: the last update time seen, and the runs seen at exactly that time
    state = json.loads(context.cursor) if context.cursor else {}
    after = (
        datetime.fromisoformat(state["after"])
        if state.get("after")
        else datetime.now(UTC) - timedelta(days=1)
    )
    seen = set(state.get("seen", []))
    runs = [
        r
        for r in finished_runs(context.instance, after - timedelta(microseconds=1))
        if r.dagster_run.run_id not in seen
    ]
    if not runs:
        return dg.SkipReason("no newly finished runs")
    last = runs[-1].update_timestamp
    at_last = [r.dagster_run.run_id for r in runs if r.update_timestamp == last]
    context.update_cursor(
        json.dumps(
            {"after": last.isoformat(), "seen": at_last + (list(seen) if last == after else [])}
        )
    )
    failed = failed_checks(context.instance, [r.dagster_run.run_id for r in runs])
    if not failed:
        return dg.SkipReason(f"{len(runs)} finished run(s), no failed check")
    notifier = notifier_from_settings(get_settings())
    said = []
    for group in (
        [f for f in failed if f.severity == "ERROR"],
        [f for f in failed if f.severity != "ERROR"],
    ):
        if group:
            notice = checks_failed(group)
            context.log.warning(f"{notice.title}: {notice.text}")
            deliveries = notifier.send(notice)
            sent = ", ".join(d.channel for d in deliveries if d.ok) or "log only"
            said.append(f"{notice.title} → {sent}")
    return dg.SkipReason("; ".join(said))


def build_summary(instance: dg.DagsterInstance, warehouse_url: str, day: date) -> Summary:
    """Equity and P&L from the latest ``portfolio`` materialization when there is one,
    else from the broker; positions from the broker; requests from the warehouse."""
    settings = get_settings()
    equity = cash = daily_pnl = unrealized = None
    positions: list[tuple[str, float, float]] = []
    broker_name = broker_error = None
    try:
        broker = make_broker(settings)
        broker_name = broker.name
        account = broker.account()
        held = broker.positions()
        equity, cash = account.equity, account.cash
        positions = [(p.ticker, p.qty, p.market_value) for p in held]
        unrealized = sum(p.market_value - p.qty * p.avg_entry_price for p in held)
    except BrokerError as exc:
        broker_error = exc.reason
    latest = instance.fetch_materializations(dg.AssetKey("portfolio"), limit=1).records
    if latest and latest[0].asset_materialization is not None:
        meta = latest[0].asset_materialization.metadata
        for key in ("equity", "cash", "daily_pnl"):
            if key in meta:
                value = float(meta[key].value)  # type: ignore[arg-type]
                if key == "equity":
                    equity = value
                elif key == "cash":
                    cash = value
                else:
                    daily_pnl = value
    store = ApprovalStore(warehouse_url)
    try:
        pending = store.list_requests("pending")
        recent = store.list_requests(["executed", "failed"], limit=20)
        executed = [r for r in recent if r.updated_at >= utcnow() - timedelta(days=1)]
    finally:
        store.dispose()
    since = datetime.now(UTC) - timedelta(days=1)
    failed = failed_checks(instance, [r.dagster_run.run_id for r in finished_runs(instance, since)])
    return Summary(
        day=day,
        equity=equity,
        cash=cash,
        daily_pnl=daily_pnl,
        unrealized_pnl=unrealized,
        positions=positions,
        pending=pending,
        executed_today=executed,
        failed_checks=failed,
        broker=broker_name,
        broker_error=broker_error,
    )


@dg.op(description="Build the daily summary and send it through the 'summary' route.")
def send_daily_summary(context: dg.OpExecutionContext, warehouse: WarehouseResource) -> None:
    summary = build_summary(context.instance, warehouse.url, date.today())
    notice = daily_summary(summary, get_settings().public_url)
    context.log.info(notice.text)
    deliveries = notifier_from_settings(get_settings()).send(notice)
    context.log.info(
        "summary sent via " + (", ".join(d.channel for d in deliveries if d.ok) or "log only")
    )


@dg.job(description="Equity, P&L, positions, pending approvals and failed checks, sent once a day.")
def daily_summary_job() -> None:
    send_daily_summary()


daily_summary_schedule = dg.ScheduleDefinition(
    name="daily_summary_schedule",
    job=daily_summary_job,
    cron_schedule="30 17 * * 1-5",
    execution_timezone="America/New_York",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="The daily summary after the close (17:30 ET, weekdays).",
)

alert_defs = dg.Definitions(
    jobs=[daily_summary_job],
    schedules=[daily_summary_schedule],
    sensors=[run_failure_alerts, check_failure_alerts],
)
