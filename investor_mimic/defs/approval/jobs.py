"""``execute_trades``: the op job that executes one approved request on the broker.

The op only wires: the broker comes from settings (:func:`make_broker`, the same one the
CLI uses), the rules live in :class:`investor_mimic.approval.execution.Executor`. Run
outcomes a person must act on (kill switch, expiry, refusal, an unreachable broker) fail
the run with the reason; "someone else is already executing it" succeeds quietly.
"""

import dagster as dg

from investor_mimic.approval.execution import ExecutionIncomplete, Executor
from investor_mimic.approval.report import fills_table, orders_table
from investor_mimic.approval.store import ApprovalStore
from investor_mimic.broker.factory import make_broker
from investor_mimic.broker.models import BrokerError
from investor_mimic.defs.resources import WarehouseResource
from investor_mimic.settings import get_settings


class ExecuteConfig(dg.Config):
    request_id: str
    resume: bool = False  # take over a request a dead run left "executing"


@dg.op(
    out=dg.Out(dg.Nothing),
    description="Send an approved request's orders (looked up by client_order_id first), "
    "record orders, fills and positions in the warehouse.",
)
def execute_request(
    context: dg.OpExecutionContext, config: ExecuteConfig, warehouse: WarehouseResource
) -> dg.Output[None]:
    settings = get_settings()
    store = ApprovalStore(warehouse.url)
    try:
        req = store.get(config.request_id)
        killed = store.kill_switch(setting=settings.kill_switch)
        if killed.enabled and req.status == "approved":
            raise dg.Failure(
                description=f"{killed.describe()}: request {req.id} not executed (still approved; "
                f"run `investor-mimic approvals execute {req.id}` once the switch is off)"
            )
        try:
            broker = make_broker(settings)
        except BrokerError as exc:
            raise dg.Failure(description=f"no broker: {exc.reason}") from None
        executor = Executor(
            store,
            broker,
            actor=f"run {context.run_id[:8]}",
            channel="dagster",
            kill_switch_setting=settings.kill_switch,
            log=context.log.info,
        )
        try:
            result = executor.execute(config.request_id, resume=config.resume)
        except (ExecutionIncomplete, BrokerError) as exc:
            raise dg.Failure(
                description=f"{exc}; resume with `investor-mimic approvals execute "
                f"{config.request_id}`"
            ) from None
        current = result.request.status if result.request is not None else None
        if result.outcome == "refused" and current in ("executing", "executed"):
            context.log.info(f"{result.message}: nothing to do here")
            return dg.Output(None, metadata={"request": req.id, "status": current})
        if not result.ok:
            raise dg.Failure(description=result.message)
        done = result.request
        assert done is not None
        filled = sum((f.qty * f.price for f in done.fills), 0.0)  # 0.0: no fills before the open
        return dg.Output(
            None,
            metadata={
                "request": done.id,
                "status": done.status,
                "broker": broker.name,
                "orders_sent": sum(o.broker_order_id is not None for o in done.orders),
                "fills": len(done.fills),
                "filled_value": dg.MetadataValue.float(round(filled, 2)),
                "orders": dg.MetadataValue.md(f"```\n{orders_table(done)}\n```"),
                "fill_list": dg.MetadataValue.md(f"```\n{fills_table(done)}\n```"),
            },
        )
    finally:
        store.dispose()


@dg.job(
    description="Execute one approved request (launched by execute_approved_requests_sensor, "
    "run key = request id)."
)
def execute_trades() -> None:
    execute_request()
