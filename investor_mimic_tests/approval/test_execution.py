"""Executing approved requests: exactly once, reconciled by client_order_id, refusals recorded.

Two brokers: a minimal in-memory one built on the Broker protocol (state, no mocks), and
Alpaca itself — the real alpaca-py TradingClient against the loopback fake.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from investor_mimic.approval.execution import ExecutionIncomplete, Executor
from investor_mimic.approval.store import ApprovalStore, RequestRow
from investor_mimic.broker.alpaca import AlpacaBroker
from investor_mimic.broker.base import Broker
from investor_mimic.broker.models import (
    BrokerError,
    InsufficientBuyingPowerError,
    MarketClosedError,
    Order,
    OrderOutcomeUnknownError,
    OrderRequest,
    RateLimitedError,
)
from investor_mimic_tests.helpers.alpaca_fake import ORDERS, FakeAlpaca, Fault
from investor_mimic_tests.helpers.approval import AFTER_OPEN, BEFORE_OPEN, new_request
from investor_mimic_tests.helpers.brokers import MemoryBroker, Scripted

PRICES = {"AAA": 10.0, "BBB": 50.0, "CCC": 20.0}
KEY, SECRET = "AKEXECKEY5550001", "execSecret-zyxwvutsrq"


@pytest.fixture()
def store(tmp_path: Path) -> ApprovalStore:
    return ApprovalStore(f"sqlite:///{tmp_path / 'warehouse.db'}")


@pytest.fixture()
def fake() -> Iterator[FakeAlpaca]:
    with FakeAlpaca(KEY, SECRET, prices=PRICES, cash=10_000.0) as server:
        server.positions["CCC"] = {"qty": 5.0, "avg": 18.0}
        yield server


def memory() -> MemoryBroker:
    broker = MemoryBroker(prices=PRICES, cash=10_000.0, now=BEFORE_OPEN)
    broker.held["CCC"] = 5.0
    return broker


def alpaca(fake: FakeAlpaca) -> AlpacaBroker:
    return AlpacaBroker(SecretStr(KEY), SecretStr(SECRET), url=fake.url, timeout=0.5)


def approved(store: ApprovalStore, **kw: object) -> RequestRow:
    req = new_request(store)
    assert store.approve(req.id, actor="alice", channel="cli", market_now=BEFORE_OPEN, **kw).won  # type: ignore[arg-type]
    return req


def executor(
    store: ApprovalStore, broker: Broker, waits: list[float] | None = None, **kw: object
) -> Executor:
    sink = waits if waits is not None else []
    return Executor(store, broker, actor="test", channel="test", sleep=sink.append, **kw)  # type: ignore[arg-type]


def assert_consistent(req: RequestRow, broker_orders: dict[str, Order]) -> None:
    """Every sent order in the warehouse is the broker's order, and vice versa, once."""
    sent = {o.client_order_id: o for o in req.orders if o.broker_order_id}
    assert set(sent) == set(broker_orders)
    for coid, row in sent.items():
        assert row.broker_order_id == broker_orders[coid].broker_order_id
        assert row.filled_qty == broker_orders[coid].filled_qty
    by_order: dict[str, float] = {}
    for f in req.fills:
        by_order[f.client_order_id] = by_order.get(f.client_order_id, 0.0) + f.qty
    assert by_order == {c: o.filled_qty for c, o in broker_orders.items() if o.filled_qty}


def test_an_approved_request_executes_sells_first_and_records_orders_fills_positions(
    store: ApprovalStore,
) -> None:
    broker = memory()
    req = approved(store)
    result = executor(store, broker).execute(req.id)
    assert result.ok, result.message
    got = store.get(req.id)
    assert got.status == "executed" and got.broker == "memory"
    assert [o.ticker for o in broker.orders.values()] == ["CCC", "AAA", "BBB"]
    assert all(o.status == "filled" for o in got.orders)
    assert_consistent(got, broker.orders)
    assert {(f.ticker, f.qty, f.price) for f in got.fills} == {
        ("CCC", 5.0, 20.0),
        ("AAA", 10.0, 10.0),
        ("BBB", 4.0, 50.0),
    }
    positions = store.positions(req.id).set_index("ticker")["qty"].to_dict()
    assert positions == {"AAA": 10.0, "BBB": 4.0}
    actions = store.audit_log(req.id)["action"].tolist()
    assert actions[:3] == ["create", "approve", "claim"]
    assert actions.count("order_accepted") == 3 and actions[-1] == "executed"
    # running it again sends nothing
    again = executor(store, broker).execute(req.id)
    assert again.outcome == "refused" and len(broker.orders) == 3


def test_approve_only_sends_only_those(store: ApprovalStore) -> None:
    broker = memory()
    req = approved(store, only=["BBB"])
    assert executor(store, broker).execute(req.id).ok
    assert [o.ticker for o in broker.orders.values()] == ["BBB"]
    assert {o.ticker: o.status for o in store.get(req.id).orders} == {
        "CCC": "dropped",
        "AAA": "dropped",
        "BBB": "filled",
    }


@pytest.mark.parametrize("state", ["pending", "rejected", "expired"])
def test_unapproved_rejected_and_expired_requests_never_reach_the_broker(
    store: ApprovalStore, fake: FakeAlpaca, state: str
) -> None:
    req = new_request(store)
    if state == "rejected":
        store.reject(req.id, actor="bob", channel="cli")
    if state == "expired":
        assert not store.approve(req.id, actor="a", channel="cli", market_now=AFTER_OPEN).won
    assert store.get(req.id).status == state
    for broker in (memory(), alpaca(fake)):
        result = executor(store, broker).execute(req.id, resume=True)
        assert result.outcome == "refused" and state in result.message
    assert fake.seen == []  # not even a clock read
    assert store.get(req.id).status == state


def test_an_approved_request_past_its_open_expires_without_an_order(
    store: ApprovalStore, fake: FakeAlpaca
) -> None:
    req = approved(store)
    fake.now = AFTER_OPEN.replace(tzinfo=fake.now.tzinfo)
    result = executor(store, alpaca(fake)).execute(req.id)
    assert result.outcome == "expired" and store.get(req.id).status == "expired"
    assert fake.calls("POST", ORDERS) == [] and fake.accepted == []


@pytest.mark.parametrize("how", ["flag", "setting"])
def test_the_kill_switch_stops_execution_before_any_broker_call(
    store: ApprovalStore, fake: FakeAlpaca, how: str
) -> None:
    req = approved(store)
    if how == "flag":
        store.set_kill_switch(True, actor="ops", channel="cli", reason="incident")
    result = executor(store, alpaca(fake), kill_switch_setting=how == "setting").execute(req.id)
    assert result.outcome == "held" and "kill switch ON" in result.message
    assert fake.seen == []
    assert store.get(req.id).status == "approved"  # held, not lost
    if how == "flag":
        store.set_kill_switch(False, actor="ops", channel="cli")
        assert executor(store, alpaca(fake)).execute(req.id).ok
        assert len(fake.accepted) == 3


def test_flipping_the_kill_switch_mid_way_stops_the_rest_and_resume_finishes_once(
    store: ApprovalStore,
) -> None:
    broker = memory()
    req = approved(store)

    def flip_after_first_send(msg: str) -> None:
        if msg.startswith("sent") and not store.kill_switch().enabled:
            store.set_kill_switch(True, actor="ops", channel="cli")

    halted = executor(store, broker, log=flip_after_first_send).execute(req.id)
    assert halted.outcome == "halted" and len(broker.orders) == 1
    assert store.get(req.id).status == "executing"
    assert executor(store, broker).execute(req.id, resume=True).outcome == "held"
    store.set_kill_switch(False, actor="ops", channel="cli")
    plain = executor(store, broker).execute(req.id)  # not resumed explicitly: refused
    assert plain.outcome == "refused" and "resume" in plain.message
    assert executor(store, broker).execute(req.id, resume=True).ok
    assert len(broker.orders) == 3
    assert_consistent(store.get(req.id), broker.orders)


def test_an_unknown_outcome_is_looked_up_not_resent(store: ApprovalStore) -> None:
    broker = memory()
    broker.script("submit", Scripted(OrderOutcomeUnknownError("timed out"), accept_first=True))
    req = approved(store)
    assert executor(store, broker).execute(req.id).ok
    assert broker.calls.count("submit") == 3  # one per order: the first was never resent
    assert len(broker.orders) == 3
    assert_consistent(store.get(req.id), broker.orders)


def test_a_rate_limit_waits_for_retry_after_then_asks_before_resending(
    store: ApprovalStore,
) -> None:
    broker = memory()
    broker.script("submit", Scripted(RateLimitedError("429", retry_after=7.0)))
    waits: list[float] = []
    req = approved(store)
    assert executor(store, broker, waits).execute(req.id).ok
    assert waits == [7.0]
    first_order_calls = broker.calls[broker.calls.index("clock") + 1 :][:4]
    assert first_order_calls == ["get_order", "submit", "get_order", "submit"]
    assert len(broker.orders) == 3


def test_when_the_broker_stays_unreachable_nothing_is_resent_blindly_and_resume_finishes(
    store: ApprovalStore,
) -> None:
    broker = memory()
    broker.script("submit", *[Scripted(OrderOutcomeUnknownError("502")) for _ in range(3)])
    req = approved(store)
    with pytest.raises(ExecutionIncomplete):
        executor(store, broker, max_attempts=3).execute(req.id)
    calls = broker.calls[broker.calls.index("clock") + 1 :]
    # every resend is preceded by a lookup; and one final lookup before giving up
    assert calls == [
        "get_order",
        "submit",
        "get_order",
        "submit",
        "get_order",
        "submit",
        "get_order",
    ]
    got = store.get(req.id)
    assert got.status == "executing" and got.order(0).status == "submitting"
    assert executor(store, broker).execute(req.id, resume=True).ok
    assert len(broker.orders) == 3
    assert_consistent(store.get(req.id), broker.orders)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (MarketClosedError("market is closed"), "market is closed"),
        (InsufficientBuyingPowerError("insufficient buying power"), "insufficient buying power"),
        (BrokerError("asset ZZZ is not tradable"), "not tradable"),
    ],
)
def test_a_refusal_fails_the_request_with_the_reason_and_nothing_half_recorded(
    store: ApprovalStore, error: BrokerError, kind: str
) -> None:
    broker = memory()
    broker.script("submit", None, Scripted(error))  # the sell goes through, the first buy not
    req = approved(store)
    result = executor(store, broker).execute(req.id)
    assert result.outcome == "failed" and kind in result.message
    got = store.get(req.id)
    assert got.status == "failed" and kind in (got.reason or "")
    statuses = [(o.ticker, o.status) for o in got.orders]
    assert statuses == [("CCC", "filled"), ("AAA", "refused"), ("BBB", "not_sent")]
    assert kind in (got.order(1).error or "")
    assert_consistent(got, broker.orders)
    last = store.audit_log(req.id).iloc[-1]
    assert (last["action"], last["from_state"], last["to_state"]) == (
        "failed",
        "executing",
        "failed",
    )


def test_partial_fills_are_recorded_as_increments_once(store: ApprovalStore) -> None:
    req = approved(store)
    store.claim(req.id, actor="t", channel="t", market_now=BEFORE_OPEN, broker="b")
    row = store.get(req.id).order(1)

    def seen(filled: float, avg: float | None) -> Order:
        return Order(
            row.client_order_id,
            "b-1",
            "AAA",
            "buy",
            10,
            filled,
            avg,
            "partially_filled",
            BEFORE_OPEN,
        )

    store.record_order(req.id, 1, seen(0, None), actor="t", channel="t")
    store.record_order(req.id, 1, seen(4, 10.0), actor="t", channel="t")
    store.record_order(req.id, 1, seen(4, 10.0), actor="t", channel="t")  # same state: nothing new
    store.record_order(req.id, 1, seen(10, 11.0), actor="t", channel="t")
    fills = [(f.qty, round(f.price, 6), f.cum_qty) for f in store.get(req.id).fills]
    assert fills == [(4.0, 10.0, 4.0), (6.0, round((110 - 40) / 6, 6), 10.0)]


# ------------------------------------------------ through the real alpaca-py client
def test_faults_at_alpaca_still_give_exactly_one_order_each(
    store: ApprovalStore, fake: FakeAlpaca
) -> None:
    fake.fault("POST", ORDERS, Fault(status=500, accept=True))  # CCC: accepted, answered 500
    fake.fault("POST", ORDERS, Fault(accept=True, delay=1.5))  # AAA: accepted, answer too late
    fake.fault("POST", ORDERS, Fault(status=429, headers={"Retry-After": "1"}))  # BBB: slow down
    fake.fault("GET", "/v2/positions", Fault(status=503))  # a read fault on the way
    waits: list[float] = []
    req = approved(store)
    result = executor(store, alpaca(fake), waits).execute(req.id)
    assert result.ok, result.message
    assert sorted(o["symbol"] for o in fake.accepted) == ["AAA", "BBB", "CCC"]
    assert len(fake.calls("POST", ORDERS)) == 4  # CCC 1, AAA 1, BBB 2 (after Retry-After)
    assert 1.0 in waits
    broker = alpaca(fake)
    at_broker = {o.client_order_id: broker.get_order(o.client_order_id) for o in req.orders}
    got = store.get(req.id)
    assert_consistent(got, {k: v for k, v in at_broker.items() if v is not None})
    assert got.status == "executed"


def test_a_duplicate_answer_means_the_order_is_there(
    store: ApprovalStore, fake: FakeAlpaca
) -> None:
    req = approved(store, only=["AAA"])
    row = store.get(req.id).order(1)
    # a previous run's order reached the broker, but the first lookup answers 404 (stale)
    alpaca(fake).submit(OrderRequest(row.client_order_id, "AAA", "buy", row.shares))
    fake.fault(
        "GET",
        "/v2/orders:by_client_order_id",
        Fault(status=404, body={"message": "order not found"}),
    )
    assert executor(store, alpaca(fake)).execute(req.id).ok
    assert len(fake.accepted) == 1
    assert len(fake.calls("POST", ORDERS)) == 2  # the earlier run's, and the one answered 422
    assert store.get(req.id).order(1).broker_order_id == fake.accepted[0]["id"]


def test_alpaca_refusals_fail_the_request(store: ApprovalStore, fake: FakeAlpaca) -> None:
    fake.cash = 150.0  # the CCC sale brings 100 → 250; AAA costs 100; BBB (200) is too much
    req = approved(store)
    result = executor(store, alpaca(fake)).execute(req.id)
    assert result.outcome == "failed" and "insufficient buying power" in result.message
    got = store.get(req.id)
    assert [o.status for o in got.orders] == ["filled", "filled", "refused"]
    assert len(fake.accepted) == 2


def test_orders_accepted_now_fill_at_the_open_and_sync_records_it_once(
    store: ApprovalStore, fake: FakeAlpaca
) -> None:
    fake.fill = False
    req = approved(store)
    ex = executor(store, alpaca(fake))
    assert ex.execute(req.id).ok
    got = store.get(req.id)
    assert [o.status for o in got.orders] == ["new", "new", "new"] and got.fills == ()
    fake.fill_open_orders()
    ex.sync(req.id)
    ex.sync(req.id)
    got = store.get(req.id)
    assert [o.status for o in got.orders] == ["filled"] * 3 and len(got.fills) == 3
    assert store.positions(req.id).set_index("ticker")["qty"].to_dict() == {"AAA": 10.0, "BBB": 4.0}


def test_clock_is_market_time(fake: FakeAlpaca) -> None:
    assert alpaca(fake).clock().timestamp == datetime(2024, 12, 31, 17, 0)
