"""The approval sensors and the execute_trades job on a real (ephemeral) Dagster instance.

``trade_proposals`` is a stand-in asset here (the real one comes with the trading
assets): same name, same trading-day partitions, same columns, stored through the
project's IO manager, with a blocking and a non-blocking check a test can make fail.
The sensors are called directly with a built context, as the daemon would call them.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from investor_mimic.approval.store import ApprovalStore
from investor_mimic.defs.approval.jobs import execute_trades
from investor_mimic.defs.approval.sensors import (
    approval_requests_sensor,
    execute_approved_requests_sensor,
)
from investor_mimic.defs.partitions import trading_day_partitions
from investor_mimic.defs.resources import WarehouseResource, build_resources
from investor_mimic.settings import get_settings
from investor_mimic_tests.helpers.alpaca_fake import ORDERS, FakeAlpaca
from investor_mimic_tests.helpers.approval import BEFORE_OPEN, DAY, proposal
from investor_mimic_tests.helpers.dagster import Sandbox, make_sandbox, use_settings

KEY, SECRET = "AKSENSORKEY77aa99", "sensorSecret-ppqqrrsstt"
PRICES = {"AAA": 10.0, "BBB": 50.0, "CCC": 20.0}
FRAMES: dict[str, pd.DataFrame] = {}  # partition → what the stand-in asset returns
BROKEN: dict[str, bool] = {"blocking": False, "warning_level_error": False}


@dg.asset(
    name="trade_proposals",
    partitions_def=trading_day_partitions,
    metadata={"partition_expr": "date"},
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def stand_in_proposals(context: dg.AssetExecutionContext) -> pd.DataFrame:
    return pd.concat([FRAMES[k] for k in context.partition_keys], ignore_index=True)


@dg.asset_check(asset="trade_proposals", blocking=True)
def max_position_pct() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=not BROKEN["blocking"])


@dg.asset_check(asset="trade_proposals")
def score_not_stale() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=not BROKEN["warning_level_error"])


@dataclass
class World:
    box: Sandbox
    defs: dg.Definitions
    store: ApprovalStore

    def propose(self, *days: date) -> dg.ExecuteInProcessResult:
        for d in days:
            FRAMES[d.isoformat()] = proposal(d)
        tags = None
        if len(days) > 1:
            tags = {
                "dagster/asset_partition_range_start": days[0].isoformat(),
                "dagster/asset_partition_range_end": days[-1].isoformat(),
            }
        return dg.materialize(
            [stand_in_proposals, max_position_pct, score_not_stale],
            partition_key=days[0].isoformat() if len(days) == 1 else None,
            tags=tags,
            resources=build_resources(),
            instance=self.box.instance,
            raise_on_error=False,
        )

    def tick(self, cursor: str | None = None) -> tuple[Any, str | None]:
        context = dg.build_sensor_context(
            instance=self.box.instance,
            cursor=cursor,
            repository_def=self.defs.get_repository_def(),
            resources={"warehouse": WarehouseResource(url=get_settings().resolved_warehouse_url)},
        )
        result = approval_requests_sensor(context)
        return result, context.cursor

    def executions(self) -> Any:
        context = dg.build_sensor_context(
            instance=self.box.instance,
            resources={"warehouse": WarehouseResource(url=get_settings().resolved_warehouse_url)},
        )
        return execute_approved_requests_sensor(context)


@pytest.fixture()
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    box = make_sandbox(request, copy=False)
    FRAMES.clear()
    BROKEN.update(blocking=False, warning_level_error=False)
    defs = dg.Definitions(
        assets=[stand_in_proposals],
        asset_checks=[max_position_pct, score_not_stale],
        resources=build_resources(),
    )
    store = ApprovalStore(get_settings().resolved_warehouse_url)
    yield World(box, defs, store)
    store.dispose()


def test_a_new_proposal_becomes_one_pending_request_and_is_announced(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert world.propose(DAY).success
    capsys.readouterr()
    result, cursor = world.tick()
    logged = capsys.readouterr().err
    [req] = world.store.list_requests()
    assert req.status == "pending" and req.proposal_date == DAY
    assert [(o.ticker, o.side, o.shares) for o in req.orders] == [
        ("CCC", "sell", 5.0),
        ("AAA", "buy", 10.0),
        ("BBB", "buy", 4.0),
    ]
    assert f"request {req.id} created" in result.skip_message
    # the proposal's check results travel with the request (shown on the approval page)
    checks = {c.name: c.passed for c in world.store.checks(req.id)}
    assert checks == {"max_position_pct": True, "score_not_stale": True}
    assert f"Approval requested: {req.id}" in logged
    assert f"investor-mimic approvals approve {req.id}" in logged
    # the next tick sees nothing new and creates nothing
    again, _ = world.tick(cursor)
    assert "no new" in again.skip_message and len(world.store.list_requests()) == 1
    # a re-materialized proposal supersedes the pending one
    assert world.propose(DAY).success
    world.tick(cursor)
    statuses = sorted(r.status for r in world.store.list_requests())
    assert statuses == ["expired", "pending"]


@pytest.mark.parametrize("which", ["blocking", "warning_level_error"])
def test_a_proposal_whose_check_failed_is_never_put_to_approval(world: World, which: str) -> None:
    BROKEN[which] = True
    world.propose(DAY)
    result, _ = world.tick()
    assert "not put to approval" in result.skip_message
    assert world.store.list_requests() == []


def test_a_backfill_proposes_only_its_newest_day(world: World) -> None:
    days = [date(2024, 12, 27), date(2024, 12, 30), DAY]
    assert world.propose(*days).success
    result, _ = world.tick()
    [req] = world.store.list_requests()
    assert req.proposal_date == DAY and "2 older day(s) not proposed" in result.skip_message


def test_approved_requests_launch_execute_trades_once_each_unless_the_kill_switch_is_on(
    world: World,
) -> None:
    world.propose(DAY)
    world.tick()
    assert "no approved" in world.executions().skip_message
    [req] = world.store.list_requests()
    world.store.approve(req.id, actor="alice", channel="cli", market_now=BEFORE_OPEN)
    [run] = world.executions().run_requests
    assert run.run_key == req.id and run.tags["approval_request"] == req.id
    world.store.set_kill_switch(True, actor="ops", channel="cli", reason="broker incident")
    held = world.executions()
    assert (
        "kill switch ON" in held.skip_message and "1 approved request(s) held" in held.skip_message
    )


def _scan(world: World, run_ids: list[str], secrets: tuple[str, ...]) -> list[str]:
    """Every place a key could leak: the event log of the runs, and every warehouse table."""
    from dagster._serdes import serialize_value

    found = []
    for run_id in run_ids:
        for entry in world.box.instance.all_logs(run_id):
            text = serialize_value(entry)
            found += [f"event log of {run_id}" for s in secrets if s in text]
    warehouse = world.box.warehouse()
    import sqlalchemy as sa

    for table in sa.inspect(warehouse.engine).get_table_names():
        dump = warehouse.read(f"SELECT * FROM {table}").to_csv()
        found += [f"table {table}" for s in secrets if s in dump]
    return found


def test_execute_trades_runs_the_request_on_alpaca_and_no_key_leaks(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeAlpaca(KEY, SECRET, prices=PRICES, cash=10_000.0) as fake:
        fake.positions["CCC"] = {"qty": 5.0, "avg": 18.0}
        use_settings(monkeypatch, broker="alpaca", alpaca_trading_url=fake.url)
        monkeypatch.setenv("ALPACA_API_KEY", KEY)
        monkeypatch.setenv("ALPACA_SECRET_KEY", SECRET)
        get_settings.cache_clear()
        world.propose(DAY)
        world.tick()
        [req] = world.store.list_requests()
        world.store.approve(req.id, actor="alice", channel="cli", market_now=BEFORE_OPEN)
        [run_request] = world.executions().run_requests
        result = execute_trades.execute_in_process(
            run_config=run_request.run_config,
            resources=build_resources(),
            instance=world.box.instance,
            tags=run_request.tags,
        )
        assert result.success
        assert len(fake.accepted) == 3 and len(fake.calls("POST", ORDERS)) == 3
        done = world.store.get(req.id)
        assert done.status == "executed" and len(done.fills) == 3
        [out] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_OUTPUT]
        meta = out.event_specific_data.metadata  # type: ignore[union-attr]
        assert meta["fills"].value == 3 and meta["status"].value == "executed"
        # a second launch for the same request (e.g. a re-executed run) sends nothing
        again = execute_trades.execute_in_process(
            run_config=run_request.run_config,
            resources=build_resources(),
            instance=world.box.instance,
        )
        assert again.success and len(fake.accepted) == 3
        # the key values appear nowhere: event logs, metadata, warehouse, stdout/stderr
        runs = [r.run_id for r in world.box.instance.get_runs()]
        assert _scan(world, runs, (KEY, SECRET)) == []
        out_err = capsys.readouterr()
        assert KEY not in out_err.out + out_err.err and SECRET not in out_err.out + out_err.err


def test_execute_trades_fails_visibly_when_the_kill_switch_holds_the_request(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeAlpaca(KEY, SECRET, prices=PRICES) as fake:
        use_settings(monkeypatch, broker="alpaca", alpaca_trading_url=fake.url)
        monkeypatch.setenv("ALPACA_API_KEY", KEY)
        monkeypatch.setenv("ALPACA_SECRET_KEY", SECRET)
        get_settings.cache_clear()
        world.propose(DAY)
        world.tick()
        [req] = world.store.list_requests()
        world.store.approve(req.id, actor="alice", channel="cli", market_now=BEFORE_OPEN)
        world.store.set_kill_switch(True, actor="ops", channel="cli")
        result = execute_trades.execute_in_process(
            run_config={"ops": {"execute_request": {"config": {"request_id": req.id}}}},
            resources=build_resources(),
            instance=world.box.instance,
            raise_on_error=False,
        )
        assert not result.success
        [failure] = result.get_step_failure_events()
        assert "kill switch ON" in (failure.step_failure_data.user_failure_data.description or "")  # type: ignore[union-attr]
        assert fake.seen == [] and world.store.get(req.id).status == "approved"
